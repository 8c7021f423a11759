//! What adapters keep across passes to save AWS calls.

use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Instant;

/// Facts kept across passes to save calls: tags by ARN (most APIs do not return them with the
/// object; they expire, since ownership rests on them), detailed descriptions by ARN and update
/// time, task definitions by ARN (their contents are immutable, but a revision can be
/// deregistered, so they are read again as often as tags).
/// Tags and when they were fetched.
type KeptTags = (Instant, BTreeMap<String, String>);

#[derive(Default)]
pub struct Cache {
    tags: Mutex<HashMap<String, KeptTags>>,
    pub details: Mutex<HashMap<String, (String, Json)>>,
    pub task_definitions: Mutex<HashMap<String, (Instant, Json)>>,
    /// Hosted zone ids by zone name: a zone's id never changes; a zone deleted and made again
    /// under the same name is forgotten when its listing fails.
    pub hosted_zones: Mutex<HashMap<String, String>>,
}

impl Cache {
    /// The tags kept under `key`, if they were fetched at or after `fresh_since`.
    pub fn tags(&self, key: &str, fresh_since: Instant) -> Option<BTreeMap<String, String>> {
        let kept = self.tags.lock().unwrap();
        kept.get(key).filter(|(at, _)| *at >= fresh_since).map(|(_, tags)| tags.clone())
    }

    /// The last tags kept under `key`, however old (for an object that refuses tag calls while
    /// it is in transition, and so is only waited on this pass).
    pub fn last_tags(&self, key: &str) -> Option<BTreeMap<String, String>> {
        self.tags.lock().unwrap().get(key).map(|(_, tags)| tags.clone())
    }

    pub fn keep_tags(&self, key: String, tags: BTreeMap<String, String>) {
        self.tags.lock().unwrap().insert(key, (Instant::now(), tags));
    }

    /// Forgets the tags of every key that starts with `prefix` (after steward changed them).
    pub fn forget_tags(&self, prefix: &str) {
        self.tags.lock().unwrap().retain(|k, _| !k.starts_with(prefix));
    }

    /// Drops what no pass may use any more, so the map does not grow with objects long gone.
    pub fn expire_tags(&self, older_than: Instant) {
        self.tags.lock().unwrap().retain(|_, (at, _)| *at >= older_than);
    }
}
