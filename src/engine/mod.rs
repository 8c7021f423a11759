//! The generic reconcile engine. It knows no AWS service by name; each kind's adapter (in
//! `kinds/`) owns the AWS specifics behind `model::Adapter`. A pass runs in stages, one file
//! each (docs/architecture.md walks through one pass):
//! - `schedule.rs`: what is due (pure);
//! - `resolve.rs`: references and selectors → this pass's `Desired` (`lookup.rs`: the selector cache);
//! - `facts.rs`: store and observation → the decision's inputs (pure);
//! - `decide.rs`: the one verdict per resource, shared by `reconcile`, `run` and `diff --live` (pure);
//! - `act.rs`: the adapter calls a verdict asks for, and nothing else;
//! - `record.rs`: previous status + decision + what the act did → new status and events (pure);
//! - `failure.rs`: an error → backoff or terminal (pure);
//! - `walk.rs`: what a pass reads and in which order; `pass.rs`: wires the stages; `report.rs`: what a pass reports; `known.rs`: what it learned so far.
//!
//! Files here import one another directly, never through this index.

pub mod act;
pub mod actors;
pub mod backoff;
pub mod decide;
pub mod events;
pub mod facts;
pub mod failure;
pub mod known;
pub mod lookup;
pub mod pass;
pub mod record;
pub mod report;
mod resolve;
pub mod runtime;
pub mod schedule;
pub mod walk;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod record_table;

pub use report::{PassOptions, PassReport, PlanEntry};
pub use runtime::Engine;
