//! The generic reconcile engine. It knows no AWS service by name; each kind's adapter (in
//! `kinds/`) owns the AWS specifics behind the `Adapter` trait, in the spirit of ACK's resource
//! manager. Where to look:
//! - `adapter.rs`: the contract a kind implements (observe, desired view, create/update/delete);
//! - `decide.rs`: the one pure decision per resource, shared by `reconcile`, `run` and `diff --live`;
//! - `pass.rs`: a pass over the reference graph, carrying verdicts out, status and events;
//! - `resolve.rs`: references and selectors for one resource; `lookup.rs`: the selector cache;
//! - `error.rs`: why an action did not happen; `backoff.rs`, `events.rs`; `actors.rs`: who
//!   made recent changes, from AWS events.

pub mod actors;
pub mod adapter;
pub mod backoff;
pub mod decide;
pub mod error;
pub mod events;
pub mod lookup;
pub mod pass;
mod resolve;

pub use adapter::{
    Adapter, Cache, Cx, Desired, Drift, Fix, ObjectState, Observed, TAG_KIND, TAG_NAME, TAG_STACK, diff, is_tag_field,
};
pub use error::ReconcileError;
pub use pass::{PassOptions, PassReport, PlanEntry};

use crate::aws::Aws;
use crate::guard::Guard;
use crate::store::Store;
use backoff::BackoffPolicy;
use events::Events;
use lookup::Lookups;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub struct Engine {
    pub store: Arc<Store>,
    pub aws: Aws,
    pub events: Events,
    pub backoff: BackoffPolicy,
    pub guard: Arc<dyn Guard>,
    /// Who made recent changes, from AWS events (empty without an events queue).
    pub actors: Arc<actors::Actors>,
    cache: Cache,
    /// `byTag` selector results, kept across passes (see `lookup.rs`).
    lookups: Lookups,
    /// Services that throttled us, and until when all calls to them wait.
    throttled: Mutex<HashMap<&'static str, Instant>>,
    /// When each resource was last observed by this process (a resource's `resync` counts from
    /// it; after a restart or a takeover everything is due).
    observed_at: Mutex<HashMap<crate::manifest::ResourceKey, chrono::DateTime<chrono::Utc>>>,
}

impl Engine {
    pub fn new(store: Arc<Store>, aws: Aws, events: Events, backoff: BackoffPolicy, guard: Arc<dyn Guard>) -> Self {
        Engine {
            store,
            aws,
            events,
            backoff,
            guard,
            actors: Arc::default(),
            cache: Cache::default(),
            lookups: Lookups::default(),
            throttled: Mutex::default(),
            observed_at: Mutex::default(),
        }
    }
}
