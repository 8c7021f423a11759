//! The controller's timers: each stack's resync (one job per distinct setting) and the wake-ups
//! a stack asks for between resyncs.

use super::queue::{Need, WorkQueue};
use crate::model::duration::parse_duration;
use crate::model::{Kind, ResourceKey};
use crate::store::Store;
use anyhow::Result;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use tokio_cron_scheduler::{Job, JobScheduler};

/// Periodic resyncs: one job per distinct `resync` setting, pushing every owned stack that has it.
/// Stacks that resync together are passed together (see `daemon::MAX_STACKS_PER_PASS`), so a resync of
/// many stacks costs one listing per kind, not one per stack.
pub struct Resync {
    pub scheduler: JobScheduler,
    pub groups: Mutex<HashMap<String, ResyncGroup>>,
}

pub struct ResyncGroup {
    job: uuid::Uuid,
    stacks: Arc<Mutex<BTreeSet<String>>>,
}

impl Resync {
    /// (Re)schedules a stack's resync from its Stack spec (`resync`: a duration or cron).
    pub async fn schedule(&self, stack: &str, setting: &str, queue: Arc<WorkQueue>) -> Result<()> {
        if self.groups.lock().unwrap().get(setting).is_some_and(|g| g.stacks.lock().unwrap().contains(stack)) {
            return Ok(());
        }
        self.unschedule(stack).await;
        let joined = self.groups.lock().unwrap().get(setting).map(|g| g.stacks.lock().unwrap().insert(stack.into()));
        if joined.is_some() {
            return Ok(());
        }
        let stacks = Arc::new(Mutex::new(BTreeSet::from([stack.to_string()])));
        let members = stacks.clone();
        let run = move |_id, _lock| {
            let (queue, members) = (queue.clone(), members.clone());
            Box::pin(async move {
                let due: Vec<String> = members.lock().unwrap().iter().cloned().collect();
                for stack in due {
                    queue.push_for(&stack, Need::Due);
                }
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        };
        let job = match parse_duration(setting) {
            Some(every) => {
                // Jitter (±10 %) keeps replicas and settings from resyncing in lockstep.
                let jitter = every.mul_f64(0.9 + rand::random::<f64>() * 0.2);
                Job::new_repeated_async(jitter, run)?
            }
            None => Job::new_async(setting, run)?,
        };
        let job = self.scheduler.add(job).await?;
        self.groups.lock().unwrap().insert(setting.to_string(), ResyncGroup { job, stacks });
        Ok(())
    }

    pub async fn unschedule(&self, stack: &str) {
        let emptied = {
            let mut groups = self.groups.lock().unwrap();
            let setting = groups.iter().find(|(_, g)| g.stacks.lock().unwrap().remove(stack)).map(|(s, _)| s.clone());
            setting.filter(|s| groups[s].stacks.lock().unwrap().is_empty()).and_then(|s| groups.remove(&s))
        };
        if let Some(group) = emptied {
            let _ = self.scheduler.remove(&group.job).await;
        }
    }
}

/// Wake-ups for what a stack's resync would come to too late (a resource's shorter `resync`, a
/// heal window opening): one timer per stack, for the earliest time asked.
#[derive(Default)]
pub struct Wakeups {
    at: Mutex<HashMap<String, chrono::DateTime<chrono::Utc>>>,
}

impl Wakeups {
    pub fn schedule(self: &Arc<Self>, stack: &str, at: chrono::DateTime<chrono::Utc>, queue: &Arc<WorkQueue>) {
        let now = chrono::Utc::now();
        {
            let mut pending = self.at.lock().unwrap();
            if pending.get(stack).is_some_and(|t| *t <= at && *t > now) {
                return;
            }
            pending.insert(stack.to_string(), at);
        }
        let (wakeups, queue, stack) = (self.clone(), queue.clone(), stack.to_string());
        tokio::spawn(async move {
            tokio::time::sleep((at - now).to_std().unwrap_or_default()).await;
            // Only the timer for the time still asked for queues the pass.
            let current = {
                let mut pending = wakeups.at.lock().unwrap();
                let current = pending.get(&stack) == Some(&at);
                if current {
                    pending.remove(&stack);
                }
                current
            };
            if current {
                queue.push_for(&stack, Need::Due);
            }
        });
    }
}

pub async fn resync_setting(store: &Store, stack: &str) -> String {
    let key = ResourceKey::new(stack, Kind::Stack, stack);
    let spec = store.resource(&key).await.ok().flatten().map(|r| r.manifest.spec);
    spec.and_then(|s| s.get("resync").and_then(|v| v.as_str()).map(str::to_string)).unwrap_or_else(|| "60s".into())
}
