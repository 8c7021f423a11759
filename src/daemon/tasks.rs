//! The controller's long-running tasks: the lease loop, the fast path that watches the change
//! counter, and the workers that take batches of stacks from the queue and pass them.

use super::aws_events;
use super::config::Config;
use super::lease::Leases;
use super::metrics::Metrics;
use super::queue::{Batch, Need, WorkQueue};
use super::shared::Shared;
use super::timers::{Resync, Wakeups, resync_setting};
use crate::aws::Aws;
use crate::engine::events::PassFailed;
use crate::engine::{Engine, PassOptions};
use crate::store::Store;
use anyhow::Result;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

/// How soon a stack whose pass failed on steward's own store calls is tried again.
const PASS_RETRY: Duration = Duration::from_secs(5);

/// The most stacks one pass takes from the queue. Each pass lists every kind once for all its
/// stacks, so stacks due together cost one listing, not one each; the cap bounds a pass's memory.
const MAX_STACKS_PER_PASS: usize = 50;

/// What the tasks share.
#[derive(Clone)]
pub(super) struct Parts {
    pub leases: Arc<Leases>,
    pub store: Arc<Store>,
    pub queue: Arc<WorkQueue>,
    pub resync: Arc<Resync>,
    pub wakeups: Arc<Wakeups>,
    pub shared: Arc<Shared>,
    pub metrics: Arc<Metrics>,
    pub engine: Arc<Engine>,
    pub stopping: Arc<AtomicBool>,
    /// How long a timer's pass trusts tags it read: with AWS events on, a tag change arrives as
    /// an event and its full pass reads the tags again, so the resync need not (`TAGS_KEPT_WITH_EVENTS`).
    pub tags_kept_for: Option<Duration>,
}

/// With AWS events, tags are read again by the pass an event asks for, before any change, and
/// at least this often (an event lost on the way is made up for within it).
pub(super) const TAGS_KEPT_WITH_EVENTS: Duration = Duration::from_secs(30 * 60);

/// AWS events: a pass as soon as someone changes a managed object (with `--events-queue`).
pub(super) async fn start_events(aws: &Aws, p: &Parts, config: &Config) -> Option<JoinHandle<()>> {
    let url = config.events_queue.as_ref()?;
    let own_arn = aws.sts().get_caller_identity().send().await.ok().and_then(|o| o.arn);
    let listener = aws_events::Listener {
        sqs: aws.sqs(),
        queue_url: url.clone(),
        store: p.store.clone(),
        leases: p.leases.clone(),
        work: p.queue.clone(),
        actors: p.engine.actors.clone(),
        counts: p.shared.event_counts.clone(),
        own_arn,
        wait_seconds: config.events_wait,
    };
    tracing::info!(queue = %url, "reading AWS events: drift is seen as it happens");
    Some(tokio::spawn(listener.run()))
}

/// Leases: renew, take a fair share, give up extras.
pub(super) fn spawn_lease_loop(p: Parts, config: Config) -> JoinHandle<()> {
    tokio::spawn(async move {
        while !p.stopping.load(Ordering::Relaxed) {
            match lease_round(&p.leases, &p.store, &p.queue, &p.resync, &config).await {
                Ok(()) => *p.shared.lease_loop_ok_at.lock().unwrap() = Some(Instant::now()),
                Err(e) => tracing::warn!(error = %e, "lease round failed"),
            }
            tokio::time::sleep(config.lease.renew_every).await;
        }
    })
}

/// Fast path: one read per poll tells whether anything changed anywhere.
pub(super) fn spawn_watch(p: Parts, poll: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut counter = None;
        // (generation, nudges): a desired-state change, or an event another replica received.
        let mut stamps: HashMap<String, (u64, u64)> = HashMap::new();
        while !p.stopping.load(Ordering::Relaxed) {
            match p.store.change_counter().await {
                Ok(now) if Some(now) != counter => {
                    counter = Some(now);
                    for stack in p.leases.held().keys() {
                        let Ok(meta) = p.store.stack_meta(stack).await else { continue };
                        let stamp = (meta.generation, meta.nudges);
                        let before = stamps.insert(stack.clone(), stamp);
                        if before == Some(stamp) {
                            continue;
                        }
                        // Who made the changes another replica was told of, for the alerts.
                        for (key, actor, at) in meta.actors {
                            let age = (chrono::Utc::now() - at).to_std().unwrap_or_default();
                            p.engine.actors.note_aged(&key, actor, age);
                        }
                        p.queue.push(stack);
                        if before.map(|(generation, _)| generation) != Some(stamp.0) {
                            let setting = resync_setting(&p.store, stack).await;
                            if let Err(e) = p.resync.schedule(stack, &setting, p.queue.clone()).await {
                                tracing::warn!(stack = %stack, error = %e, "cannot schedule resync");
                            }
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reading the change counter failed"),
            }
            tokio::time::sleep(poll).await;
        }
    })
}

/// Workers: a bounded number of stack passes at once (`permits`), and of stacks in them
/// (`stack_slots`).
pub(super) fn spawn_workers(
    p: Parts,
    permits: Arc<Semaphore>,
    stack_slots: Arc<Semaphore>,
    emf: bool,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // A free slot first, then the batch: while all passes run, due stacks pile up and the
        // next pass takes them together.
        while let Ok(permit) = permits.clone().acquire_owned().await {
            // Room for one stack at least, then the batch takes what is free. Only this loop
            // takes slots, so the room it saw is still there when it takes them.
            let Ok(slot) = stack_slots.acquire().await else { break };
            drop(slot);
            let room = stack_slots.available_permits().min(MAX_STACKS_PER_PASS);
            let Some(batch) = p.queue.pop_batch(room).await else { break };
            let Ok(slots) = stack_slots.clone().acquire_many_owned(batch.stacks.len() as u32).await else { break };
            tokio::spawn(pass_batch(p.clone(), batch, emf, (permit, slots)));
        }
    })
}

/// One pass over the stacks of a batch that this replica still holds, and what follows from it:
/// metrics, follow-ups for unsettled stacks, wake-ups, the heartbeat's last pass.
async fn pass_batch(p: Parts, batch: Batch, emf: bool, _held: (OwnedSemaphorePermit, OwnedSemaphorePermit)) {
    let held: Vec<String> = batch.stacks.iter().filter(|s| p.leases.holds(s)).cloned().collect();
    if !held.is_empty() {
        p.shared.in_flight.fetch_add(1, Ordering::Relaxed);
        let options = PassOptions {
            stacks: Some(held.clone()),
            due_only: batch.due_only.clone(),
            tags_kept_for: p.tags_kept_for,
            ..PassOptions::default()
        };
        match p.engine.pass(&options).await {
            Ok(report) => {
                p.metrics.observe_pass(report.duration_ms as f64 / 1000.0);
                let report = Arc::new(report);
                let at = crate::model::clock::now_rfc3339();
                for stack in &held {
                    if emf {
                        for line in p.metrics.emf_lines(stack, report.duration_ms) {
                            tracing::info!(target: "steward::metrics", payload = %line);
                        }
                    }
                    p.metrics.add("steward_passes_total", &[("stack", stack)], 1.0);
                    if report.unsettled.contains(stack) {
                        // Transitional states and backoffs: look again soon.
                        p.queue.push_after(stack.clone(), Duration::from_secs(2), Need::Due);
                    }
                    if let Some(at) = report.wake_at.get(stack) {
                        p.wakeups.schedule(stack, *at, &p.queue);
                    }
                    p.leases.record_pass(stack, &at);
                    p.shared.last_pass.lock().unwrap().insert(stack.clone(), (at.clone(), Arc::clone(&report)));
                }
            }
            Err(e) => {
                // steward's own store calls failed (the AWS resources' failures are
                // reconcile_failed events inside the pass): try the stacks again later.
                for stack in &held {
                    p.engine.events.pass_failed(&PassFailed {
                        stack: stack.clone(),
                        message: format!("{e:#}"),
                        backoff_ms: PASS_RETRY.as_millis() as u64,
                    });
                    p.metrics.add("steward_pass_errors_total", &[("stack", stack)], 1.0);
                    p.queue.push_after(stack.clone(), PASS_RETRY, Need::Full);
                }
            }
        }
        p.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
    for stack in &batch.stacks {
        p.queue.done(stack);
    }
}

/// One round of lease work: the heartbeat (which renews what is held), take free stacks up to a fair
/// share (ceil(stacks / live replicas)), and give one extra back when holding more than that.
pub(super) async fn lease_round(
    leases: &Leases,
    store: &Store,
    queue: &Arc<WorkQueue>,
    resync: &Resync,
    config: &Config,
) -> Result<()> {
    // One write keeps every lease of this replica alive (see lease.rs).
    let beat = leases.heartbeat().await?;
    for stack in &beat.dropped {
        tracing::warn!(stack = %stack, "lease lost: this replica was evicted while its heartbeat stood still");
        resync.unschedule(stack).await;
    }
    let mut stacks = store.stacks().await?;
    if let Some(only) = &config.stacks {
        stacks.retain(|s| only.contains(s));
    }
    let share = stacks.len().div_ceil(beat.replicas);
    let held = leases.held();
    if held.len() > share {
        if let Some(extra) = held.keys().next_back() {
            tracing::info!(stack = %extra, share, "handing a stack to another replica");
            resync.unschedule(extra).await;
            leases.release(extra).await?;
        }
        return Ok(());
    }
    // Stacks are queued once the round is over, so that a replica taking many stacks at once
    // passes them in a few batches instead of one by one as each lease comes in.
    let mut acquired = Vec::new();
    let mut outcome = Ok(());
    for stack in stacks.iter().filter(|s| !held.contains_key(*s)) {
        if held.len() + acquired.len() >= share {
            break;
        }
        match leases.acquire(stack).await {
            Ok(Some(token)) => {
                tracing::info!(stack = %stack, fencing_token = token, "lease acquired");
                let setting = resync_setting(store, stack).await;
                acquired.push(stack);
                if let Err(e) = resync.schedule(stack, &setting, queue.clone()).await {
                    outcome = Err(e);
                    break;
                }
            }
            Ok(None) => {}
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    for stack in acquired {
        queue.push(stack);
    }
    outcome
}
