//! Updates without a reload. One watcher per stack that any open page shows polls the store
//! every `POLL` (one Query of the stack's items, one of its timeline's newest entry) and tells
//! every page of that stack when something changed; the pages then fetch themselves again. So
//! the store reads per minute depend on the stacks watched, not on the pages open, and stop when
//! the last page of a stack closes.

use crate::model::hash::fnv1a_hex;
use crate::store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How often a watched stack is read.
pub const POLL: Duration = Duration::from_secs(2);
/// Store reads per poll: the stack's snapshot and its newest timeline entry.
pub const READS_PER_POLL: u32 = 2;

#[derive(Default)]
pub struct Hub {
    watchers: Mutex<HashMap<String, watch::Sender<String>>>,
}

impl Hub {
    /// A receiver of the stack's digest, which changes whenever its desired state, a status or
    /// its timeline does. Starts the stack's watcher if none runs.
    pub fn subscribe(self: &Arc<Self>, store: &Arc<Store>, stack: &str) -> watch::Receiver<String> {
        let mut watchers = self.watchers.lock().unwrap();
        if let Some(sender) = watchers.get(stack) {
            return sender.subscribe();
        }
        let (sender, receiver) = watch::channel(String::new());
        watchers.insert(stack.to_string(), sender.clone());
        tokio::spawn(watch_stack(self.clone(), store.clone(), stack.to_string(), sender));
        receiver
    }
}

async fn watch_stack(hub: Arc<Hub>, store: Arc<Store>, stack: String, sender: watch::Sender<String>) {
    loop {
        {
            // Under the lock, so that a page subscribing now finds either this watcher or none.
            let mut watchers = hub.watchers.lock().unwrap();
            if sender.receiver_count() == 0 {
                watchers.remove(&stack);
                return;
            }
        }
        match digest(&store, &stack).await {
            Ok(d) => {
                sender.send_if_modified(|current| {
                    let changed = *current != d;
                    *current = d;
                    changed
                });
            }
            Err(e) => tracing::warn!(stack = %stack, error = %e, "the console cannot read the stack; trying again"),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// A digest of what the pages of a stack show: generation, resources, statuses (without the
/// observation time, which alone changes nothing shown) and the newest timeline entry.
async fn digest(store: &Store, stack: &str) -> anyhow::Result<String> {
    let snapshot = store.snapshot(stack).await?;
    let newest = store.stack_timeline(stack, 1).await?;
    let mut text = format!("{}|{}", snapshot.generation, snapshot.paused);
    for r in &snapshot.resources {
        text.push_str(&format!("|{}#{}#{}#{}", r.manifest.key, r.version, r.paused, r.deleted));
    }
    for (key, status) in &snapshot.statuses {
        let shown = crate::status::Status { last_observed_at: String::new(), ..status.clone() };
        text.push_str(&format!("|{key}={}", serde_json::to_string(&shown)?));
    }
    if let Some(entry) = newest.first() {
        text.push_str(&format!("|{}#{}", entry.at, entry.event));
    }
    Ok(fnv1a_hex(&text))
}
