//! The engine and what it keeps across passes: clients, the store, caches of tags and selector
//! results, services that throttled it, and when each resource was last observed.

use super::actors::Actors;
use super::backoff::BackoffPolicy;
use super::events::Events;
use super::lookup::Lookups;
use crate::aws::{Aws, Clients};
use crate::model::guard::Guard;
use crate::model::{Cache, Cx, Kind, ReconcileError, ResourceKey};
use crate::store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Engine {
    pub store: Arc<Store>,
    pub aws: Aws,
    pub events: Events,
    pub backoff: BackoffPolicy,
    pub guard: Arc<dyn Guard>,
    /// Who made recent changes, from AWS events (empty without an events queue).
    pub actors: Arc<Actors>,
    pub(super) cache: Cache,
    /// `byTag` selector results, kept across passes (see `lookup.rs`).
    pub(super) lookups: Lookups,
    /// Services that throttled us, and until when all calls to them wait.
    throttled: Mutex<HashMap<&'static str, Instant>>,
    /// When each resource was last observed by this process (a resource's `resync` counts from
    /// it; after a restart or a takeover everything is due).
    pub(super) observed_at: Mutex<HashMap<ResourceKey, chrono::DateTime<chrono::Utc>>>,
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

    /// How much longer calls to this kind's service are held after throttling, if they are.
    pub(super) fn throttle_wait(&self, kind: Kind) -> Option<Duration> {
        let until = *self.throttled.lock().unwrap().get(kind.service())?;
        until.checked_duration_since(Instant::now())
    }

    /// AWS throttled a call of this kind: its service's calls wait for one backoff base.
    pub(super) fn note_throttling(&self, kind: Kind, e: &ReconcileError) {
        if e.is_aws_throttling() {
            let hold = self.backoff.base;
            self.throttled.lock().unwrap().insert(kind.service(), Instant::now() + hold);
        }
    }

    pub(super) fn cx<'a>(&'a self, clients: &'a Clients, stack: String, tags_fresh_since: Instant) -> Cx<'a> {
        Cx { clients, cache: &self.cache, guard: self.guard.as_ref(), stack, tags_fresh_since }
    }
}
