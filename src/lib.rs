//! steward: keeps a small AWS stack the way its owners said it should be.
//!
//! Layers, each knowing one thing, each importing only the ones below it (docs/architecture.md):
//! - `model`: the leaf contract (keys, kinds, the `Adapter` trait, errors, paths, time);
//! - `schema`: the spec language (YAML nodes, the declarative schema and its checker);
//! - `aws`: SDK clients per region, calls counted, errors classified;
//! - `status`: what the controller records per resource;
//! - `kinds`: one file per resource kind (typed spec, schema, adapter) and their registry;
//! - `manifest`: parse, validate, references (pure);
//! - `store`: desired state, history and status in DynamoDB;
//! - `engine`: a pass in stages (schedule, facts, decide, act, record, failure);
//! - `ops`: what people do to the desired state (rollback, accept, approve), for the CLI and the console;
//! - `ui`: the web console (`steward ui`);
//! - `daemon` and `cli`: `steward run` and the verbs; `telemetry`: the log lines.

pub mod aws;
pub mod cli;
pub mod convert;
pub mod daemon;
pub mod engine;
pub mod import;
pub mod kinds;
pub mod manifest;
pub mod model;
pub mod ops;
pub mod schema;
pub mod status;
pub mod store;
pub mod telemetry;
pub mod ui;
