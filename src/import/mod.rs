//! `steward import`: manifests a person would have written, made from what already exists (a
//! Terraform state, or the objects of one VPC in the live account). A reader turns its source
//! into an `Inventory` of raw specs (ids and literal values); `shape` turns that into manifests
//! with references, `byTag` selectors, the stack's shared tags and no AWS defaults.
//!
//! Secrets never enter an inventory: readers take only the attributes they name, and the ones
//! that hold secrets (a cache user's passwords, a parameter's value) are compared in memory to
//! link a user to its parameter and then dropped.

pub mod declared;
pub mod error;
pub mod fields;
pub mod inventory;
pub mod live;
pub mod live_ecs;
pub mod shape;
pub mod terraform;
mod terraform_folds;
mod terraform_instance;

pub use error::{ImportError, Skip, Unkept};
pub use inventory::{Found, Inventory, NetworkObject, Skipped};
