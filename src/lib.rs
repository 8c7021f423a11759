//! steward: keeps a small AWS stack the way its owners said it should be.
//!
//! Layers, each knowing one thing: `manifest` (parse, validate, references; pure), `kinds` (one file
//! per resource kind), `store` (desired state, history and status in DynamoDB), `cli` (the verbs).

pub mod aws;
pub mod cli;
pub mod daemon;
pub mod duration;
pub mod engine;
pub mod guard;
pub mod heal_window;
pub mod kinds;
pub mod manifest;
pub mod status;
pub mod store;
pub mod telemetry;
