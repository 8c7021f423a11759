//! Who changed what: the actors of recent AWS events (CloudTrail records delivered through
//! EventBridge and SQS, see `daemon/aws_events.rs`), by the resource they touched, so that a
//! `drift_detected` found shortly after names who made the change.

use crate::model::ResourceKey;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long after its event an actor is still taken for the author of a drift found by a pass.
const RECENT: Duration = Duration::from_secs(600);

#[derive(Default)]
pub struct Actors(Mutex<HashMap<ResourceKey, (Instant, Json)>>);

impl Actors {
    pub fn note(&self, key: &ResourceKey, actor: Json) {
        self.note_aged(key, actor, Duration::ZERO);
    }

    /// An actor another replica noted `age` ago (handed over with a nudge through the store).
    /// A later note of the same resource is kept over an earlier one.
    pub fn note_aged(&self, key: &ResourceKey, actor: Json, age: Duration) {
        let Some(at) = Instant::now().checked_sub(age).filter(|_| age < RECENT) else { return };
        let mut known = self.0.lock().unwrap();
        known.retain(|_, (at, _)| at.elapsed() < RECENT);
        if known.get(key).is_none_or(|(earlier, _)| *earlier <= at) {
            known.insert(key.clone(), (at, actor));
        }
    }

    /// The actor of the latest event on `key`, if it arrived recently.
    pub fn recent(&self, key: &ResourceKey) -> Option<Json> {
        let known = self.0.lock().unwrap();
        known.get(key).filter(|(at, _)| at.elapsed() < RECENT).map(|(_, actor)| actor.clone())
    }
}
