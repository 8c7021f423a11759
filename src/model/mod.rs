//! The contract every layer shares, and nothing else: resource keys and kinds, the `Adapter`
//! trait and what crosses it (desired, observed, drift, fix, errors), ownership tags, field paths
//! and fingerprints, and the time types (durations, crons, heal windows). A leaf: it imports
//! nothing of steward's, so every other module may depend on it and it on none of them.
//!
//! Files here import one another directly (`super::key::Kind`), never through this index.

pub mod adapter;
pub mod cache;
pub mod clients;
pub mod clock;
pub mod duration;
pub mod error;
pub mod guard;
pub mod hash;
pub mod heal_window;
pub mod key;
pub mod paths;
pub mod policy;
pub mod tags;

pub use adapter::{Adapter, COMMON_FIELDS, Cx, Desired, Drift, FailedOperation, Fix, ObjectState, Observed};
pub use cache::Cache;
pub use error::{AsyncFailure, AwsError, ErrorClass, ReconcileError};
pub use key::{Kind, ResourceKey};
pub use tags::{TAG_KIND, TAG_NAME, TAG_STACK, Tagged};
