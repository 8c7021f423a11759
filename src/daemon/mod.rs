//! `steward run`: the long-running controller. Leases decide which stacks this replica owns; a
//! deduplicating work queue runs stack passes (observation is batched per kind, so the unit of
//! work is a stack) with bounded concurrency; tokio-cron-scheduler drives the periodic resync;
//! a fast path polls one change counter and reconciles edited stacks within seconds.

pub mod aws_events;
pub mod cloudwatch;
pub mod http;
pub mod lease;
pub mod metrics;

use crate::aws::Aws;
use crate::engine::backoff::BackoffPolicy;
use crate::engine::events::Events;
use crate::engine::events::PassFailed;
use crate::engine::{Engine, PassOptions, PassReport};
use crate::model::Kind;
use crate::model::ResourceKey;
use crate::model::duration::parse_duration;
use crate::store::Store;
use anyhow::{Result, bail};
use lease::{LeaseConfig, LeaseGuard, Leases};
use metrics::Metrics;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};
use tokio_cron_scheduler::{Job, JobScheduler};

/// How soon a stack whose pass failed on steward's own store calls is tried again.
const PASS_RETRY: Duration = Duration::from_secs(5);

/// The most stacks one pass takes from the queue. Each pass lists every kind once for all its
/// stacks, so stacks due together cost one listing, not one each; the cap bounds a pass's memory.
const MAX_STACKS_PER_PASS: usize = 50;

#[derive(Debug, Clone)]
pub struct Config {
    pub stacks: Option<Vec<String>>,
    pub poll_interval: Duration,
    pub concurrency: usize,
    /// The most stacks in all running passes together: what bounds the daemon's memory, since a
    /// pass holds its stacks' specs, statuses and observations (see `MAX_STACKS_PER_PASS`).
    pub max_stacks_in_flight: usize,
    pub lease: LeaseConfig,
    pub http_addr: SocketAddr,
    pub log_group: Option<String>,
    pub log_stream: Option<String>,
    pub shutdown_timeout: Duration,
    pub replica_id: String,
    pub backoff: BackoffPolicy,
    pub emf: bool,
    /// The SQS queue EventBridge delivers AWS events to (`--events-queue`), if any.
    pub events_queue: Option<String>,
    /// How long each receive from it waits (`--events-wait`, seconds).
    pub events_wait: u64,
}

impl Config {
    /// Refuses settings that cannot work, with the flag's name.
    pub fn check(&self) -> Result<()> {
        if self.concurrency == 0 {
            bail!("--concurrency: expected at least 1");
        }
        if self.max_stacks_in_flight == 0 {
            bail!("--max-stacks-in-flight: expected at least 1");
        }
        if self.lease.renew_every * 2 > self.lease.duration {
            bail!(
                "--lease-renew ({:?}) must be at most half of --lease-duration ({:?}) so a lease is renewed well before it expires",
                self.lease.renew_every,
                self.lease.duration
            );
        }
        if self.poll_interval < Duration::from_millis(100) {
            bail!("--poll-interval: expected at least 100ms");
        }
        if self.backoff.base > self.backoff.cap {
            bail!("--backoff-base must not exceed --backoff-cap");
        }
        Ok(())
    }
}

/// A queue of stacks to pass, each at most once, never two passes of one stack at a time.
#[derive(Default)]
pub struct WorkQueue {
    inner: Mutex<QueueState>,
    notify: Notify,
}

/// What a stack is queued for: a full pass (a change, an AWS event, a new lease) or a timer's
/// pass of what is due (`PassOptions::due_only`). A full request wins over a timer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Full,
    Due,
}

#[derive(Default)]
struct QueueState {
    queue: VecDeque<String>,
    queued: HashMap<String, Need>,
    running: HashSet<String>,
    rerun: HashMap<String, Need>,
    closed: bool,
}

fn merge(need: &mut Need, more: Need) {
    if more == Need::Full {
        *need = Need::Full;
    }
}

/// Stacks to pass together, and which of them only for what is due.
#[derive(Debug, PartialEq)]
pub struct Batch {
    pub stacks: Vec<String>,
    pub due_only: BTreeSet<String>,
}

impl WorkQueue {
    /// Queues a full pass of the stack.
    pub fn push(&self, stack: &str) {
        self.push_for(stack, Need::Full);
    }

    pub fn push_for(&self, stack: &str, need: Need) {
        let mut s = self.inner.lock().unwrap();
        if s.closed {
            return;
        }
        if s.running.contains(stack) {
            merge(s.rerun.entry(stack.to_string()).or_insert(need), need);
        } else if let Some(queued) = s.queued.get_mut(stack) {
            merge(queued, need);
        } else {
            s.queued.insert(stack.to_string(), need);
            s.queue.push_back(stack.to_string());
            self.notify.notify_one();
        }
    }

    pub fn push_after(self: &Arc<Self>, stack: String, delay: Duration, need: Need) {
        let queue = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            queue.push_for(&stack, need);
        });
    }

    /// The next stacks to pass, at most `max` and at least one (all marked running), or None once
    /// closed. Stacks that are due together are passed together: one listing per kind serves them all.
    pub async fn pop_batch(&self, max: usize) -> Option<Batch> {
        loop {
            {
                let mut s = self.inner.lock().unwrap();
                if s.closed {
                    return None;
                }
                if !s.queue.is_empty() {
                    let n = s.queue.len().min(max.max(1));
                    let stacks: Vec<String> = s.queue.drain(..n).collect();
                    let mut due_only = BTreeSet::new();
                    for stack in &stacks {
                        if s.queued.remove(stack) == Some(Need::Due) {
                            due_only.insert(stack.clone());
                        }
                        s.running.insert(stack.clone());
                    }
                    return Some(Batch { stacks, due_only });
                }
            }
            self.notify.notified().await;
        }
    }

    /// Marks a pass finished; a stack pushed while it ran is queued again.
    pub fn done(&self, stack: &str) {
        let rerun = {
            let mut s = self.inner.lock().unwrap();
            s.running.remove(stack);
            s.rerun.remove(stack)
        };
        if let Some(need) = rerun {
            self.push_for(stack, need);
        }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().unwrap().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn close(&self) {
        self.inner.lock().unwrap().closed = true;
        self.notify.notify_waiters();
    }
}

/// State the HTTP endpoints read.
pub struct Shared {
    pub leases: Arc<Leases>,
    pub metrics: Arc<Metrics>,
    pub store: Arc<Store>,
    pub queue: Arc<WorkQueue>,
    /// Each owned stack's last pass: when, and its report (shared by the stacks of one batch).
    pub last_pass: Mutex<BTreeMap<String, (String, Arc<PassReport>)>>,
    pub in_flight: AtomicUsize,
    pub lease_loop_ok_at: Mutex<Option<Instant>>,
    pub shipper: Option<Arc<cloudwatch::ShipperStats>>,
    pub lease_config: LeaseConfig,
    /// The process's AWS calls, for /metrics.
    pub calls: crate::aws::CallCounter,
    /// AWS events read from the events queue, by what became of them.
    pub event_counts: Arc<aws_events::EventCounts>,
}

impl Shared {
    /// Ready: the lease loop works, and every owned stack had a pass recently (a standby with
    /// no stack is ready too: it can take over).
    pub fn readiness(&self) -> (bool, String) {
        let healthy = self.lease_loop_ok_at.lock().unwrap().is_some_and(|t| t.elapsed() < self.lease_config.duration);
        if !healthy {
            return (false, "lease loop has not succeeded recently".into());
        }
        let held = self.leases.held();
        if held.is_empty() {
            return (true, "standby: no stack owned".into());
        }
        let passes = self.last_pass.lock().unwrap();
        let missing: Vec<&String> = held.keys().filter(|s| !passes.contains_key(*s)).collect();
        if missing.is_empty() {
            (true, format!("leader of {} stack(s)", held.len()))
        } else {
            (false, format!("no pass yet for {}", missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")))
        }
    }

    pub fn shipper_stat(&self, f: impl Fn(&cloudwatch::ShipperStats) -> u64) -> u64 {
        self.shipper.as_deref().map_or(0, f)
    }
}

/// Periodic resyncs: one job per distinct `resync` setting, pushing every owned stack that has it.
/// Stacks that resync together are passed together (see `MAX_STACKS_PER_PASS`), so a resync of
/// many stacks costs one listing per kind, not one per stack.
struct Resync {
    scheduler: JobScheduler,
    groups: Mutex<HashMap<String, ResyncGroup>>,
}

struct ResyncGroup {
    job: uuid::Uuid,
    stacks: Arc<Mutex<BTreeSet<String>>>,
}

impl Resync {
    /// (Re)schedules a stack's resync from its Stack spec (`resync`: a duration or cron).
    async fn schedule(&self, stack: &str, setting: &str, queue: Arc<WorkQueue>) -> Result<()> {
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

    async fn unschedule(&self, stack: &str) {
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
struct Wakeups {
    at: Mutex<HashMap<String, chrono::DateTime<chrono::Utc>>>,
}

impl Wakeups {
    fn schedule(self: &Arc<Self>, stack: &str, at: chrono::DateTime<chrono::Utc>, queue: &Arc<WorkQueue>) {
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

async fn resync_setting(store: &Store, stack: &str) -> String {
    let key = ResourceKey::new(stack, Kind::Stack, stack);
    let spec = store.resource(&key).await.ok().flatten().map(|r| r.manifest.spec);
    spec.and_then(|s| s.get("resync").and_then(|v| v.as_str()).map(str::to_string)).unwrap_or_else(|| "60s".into())
}

pub async fn run(config: Config, aws: Aws, store: Arc<Store>, table: &str) -> Result<()> {
    config.check()?;
    let leases = Leases::new(aws.dynamodb(), table, &config.replica_id, config.lease);
    let events = Events::default();
    let metrics = Arc::new(Metrics::default());
    {
        let metrics = metrics.clone();
        events.add_sink(Arc::new(move |e| metrics.observe(e)));
    }
    let mut shipper_task = None;
    let mut shipper_stats = None;
    if let Some(group) = &config.log_group {
        let stream = config.log_stream.clone().unwrap_or_else(|| config.replica_id.clone());
        let client = aws_sdk_cloudwatchlogs::Client::from_conf(
            aws_sdk_cloudwatchlogs::config::Builder::from(aws.base()).interceptor(aws.calls.clone()).build(),
        );
        let (shipper, task) = cloudwatch::Shipper::start(client, group.clone(), stream);
        shipper_stats = Some(shipper.stats.clone());
        events.add_sink(Arc::new(move |e| shipper.send(e)));
        shipper_task = Some(task);
    }
    let guard = Arc::new(LeaseGuard(leases.clone()));
    let engine = Arc::new(Engine::new(store.clone(), aws.clone(), events.clone(), config.backoff, guard));
    let queue = Arc::new(WorkQueue::default());
    let shared = Arc::new(Shared {
        leases: leases.clone(),
        metrics: metrics.clone(),
        store: store.clone(),
        queue: queue.clone(),
        last_pass: Mutex::default(),
        in_flight: AtomicUsize::new(0),
        lease_loop_ok_at: Mutex::new(None),
        shipper: shipper_stats,
        lease_config: config.lease,
        calls: aws.calls.clone(),
        event_counts: Arc::default(),
    });
    http::serve(config.http_addr, shared.clone()).await?;
    let scheduler = JobScheduler::new().await?;
    scheduler.start().await?;
    let resync = Arc::new(Resync { scheduler, groups: Mutex::default() });
    let wakeups = Arc::new(Wakeups::default());
    let stopping = Arc::new(AtomicBool::new(false));
    tracing::info!(replica = %config.replica_id, "steward run: starting");

    // AWS events: a pass as soon as someone changes a managed object.
    let events_task = match &config.events_queue {
        Some(url) => {
            let own_arn = aws.sts().get_caller_identity().send().await.ok().and_then(|o| o.arn);
            let listener = aws_events::Listener {
                sqs: aws.sqs(),
                queue_url: url.clone(),
                store: store.clone(),
                leases: leases.clone(),
                work: queue.clone(),
                actors: engine.actors.clone(),
                counts: shared.event_counts.clone(),
                own_arn,
                wait_seconds: config.events_wait,
            };
            tracing::info!(queue = %url, "reading AWS events: drift is seen as it happens");
            Some(tokio::spawn(listener.run()))
        }
        None => None,
    };

    // Leases: renew, take a fair share, give up extras.
    let lease_task = {
        let (leases, store, queue, resync, shared, stopping, config) = (
            leases.clone(),
            store.clone(),
            queue.clone(),
            resync.clone(),
            shared.clone(),
            stopping.clone(),
            config.clone(),
        );
        tokio::spawn(async move {
            while !stopping.load(Ordering::Relaxed) {
                match lease_round(&leases, &store, &queue, &resync, &config).await {
                    Ok(()) => *shared.lease_loop_ok_at.lock().unwrap() = Some(Instant::now()),
                    Err(e) => tracing::warn!(error = %e, "lease round failed"),
                }
                tokio::time::sleep(config.lease.renew_every).await;
            }
        })
    };

    // Fast path: one read per poll tells whether anything changed anywhere.
    let watch_task = {
        let (leases, store, queue, resync, stopping, poll, actors) = (
            leases.clone(),
            store.clone(),
            queue.clone(),
            resync.clone(),
            stopping.clone(),
            config.poll_interval,
            engine.actors.clone(),
        );
        tokio::spawn(async move {
            let mut counter = None;
            let mut stamps: HashMap<String, (u64, u64)> = HashMap::new();
            // (generation, nudges): a desired-state change, or an event another replica received.
            while !stopping.load(Ordering::Relaxed) {
                match store.change_counter().await {
                    Ok(now) if Some(now) != counter => {
                        counter = Some(now);
                        for stack in leases.held().keys() {
                            let Ok(meta) = store.stack_meta(stack).await else { continue };
                            let stamp = (meta.generation, meta.nudges);
                            let before = stamps.insert(stack.clone(), stamp);
                            if before == Some(stamp) {
                                continue;
                            }
                            // Who made the changes another replica was told of, for the alerts.
                            for (key, actor, at) in meta.actors {
                                let age = (chrono::Utc::now() - at).to_std().unwrap_or_default();
                                actors.note_aged(&key, actor, age);
                            }
                            queue.push(stack);
                            if before.map(|(generation, _)| generation) != Some(stamp.0) {
                                let setting = resync_setting(&store, stack).await;
                                if let Err(e) = resync.schedule(stack, &setting, queue.clone()).await {
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
    };

    // Workers: a bounded number of stack passes at once, and of stacks in them.
    let permits = Arc::new(Semaphore::new(config.concurrency));
    let stack_slots = Arc::new(Semaphore::new(config.max_stacks_in_flight));
    let worker_task = {
        let (queue, permits, stack_slots, engine, leases, shared, metrics, emf, wakeups) = (
            queue.clone(),
            permits.clone(),
            stack_slots.clone(),
            engine.clone(),
            leases.clone(),
            shared.clone(),
            metrics.clone(),
            config.emf,
            wakeups.clone(),
        );
        tokio::spawn(async move {
            // A free slot first, then the batch: while all passes run, due stacks pile up and the
            // next pass takes them together.
            while let Ok(permit) = permits.clone().acquire_owned().await {
                // Room for one stack at least, then the batch takes what is free. Only this loop
                // takes slots, so the room it saw is still there when it takes them.
                let Ok(slot) = stack_slots.acquire().await else { break };
                drop(slot);
                let room = stack_slots.available_permits().min(MAX_STACKS_PER_PASS);
                let Some(batch) = queue.pop_batch(room).await else { break };
                let Ok(slots) = stack_slots.clone().acquire_many_owned(batch.stacks.len() as u32).await else { break };
                let (queue, engine, leases, shared, metrics, wakeups) =
                    (queue.clone(), engine.clone(), leases.clone(), shared.clone(), metrics.clone(), wakeups.clone());
                tokio::spawn(async move {
                    let (_permit, _slots) = (permit, slots);
                    let held: Vec<String> = batch.stacks.iter().filter(|s| leases.holds(s)).cloned().collect();
                    if !held.is_empty() {
                        shared.in_flight.fetch_add(1, Ordering::Relaxed);
                        let options = PassOptions {
                            stacks: Some(held.clone()),
                            due_only: batch.due_only.clone(),
                            ..PassOptions::default()
                        };
                        match engine.pass(&options).await {
                            Ok(report) => {
                                metrics.observe_pass(report.duration_ms as f64 / 1000.0);
                                let report = Arc::new(report);
                                let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                                for stack in &held {
                                    if emf {
                                        for line in metrics.emf_lines(stack, report.duration_ms) {
                                            tracing::info!(target: "steward::metrics", payload = %line);
                                        }
                                    }
                                    metrics.add("steward_passes_total", &[("stack", stack)], 1.0);
                                    if report.unsettled.contains(stack) {
                                        // Transitional states and backoffs: look again soon.
                                        queue.push_after(stack.clone(), Duration::from_secs(2), Need::Due);
                                    }
                                    if let Some(at) = report.wake_at.get(stack) {
                                        wakeups.schedule(stack, *at, &queue);
                                    }
                                    leases.record_pass(stack, &at);
                                    shared
                                        .last_pass
                                        .lock()
                                        .unwrap()
                                        .insert(stack.clone(), (at.clone(), Arc::clone(&report)));
                                }
                            }
                            Err(e) => {
                                // steward's own store calls failed (the AWS resources' failures are
                                // reconcile_failed events inside the pass): try the stacks again later.
                                for stack in &held {
                                    engine.events.pass_failed(&PassFailed {
                                        stack: stack.clone(),
                                        message: format!("{e:#}"),
                                        backoff_ms: PASS_RETRY.as_millis() as u64,
                                    });
                                    metrics.add("steward_pass_errors_total", &[("stack", stack)], 1.0);
                                    queue.push_after(stack.clone(), PASS_RETRY, Need::Full);
                                }
                            }
                        }
                        shared.in_flight.fetch_sub(1, Ordering::Relaxed);
                    }
                    for stack in &batch.stacks {
                        queue.done(stack);
                    }
                });
            }
        })
    };

    wait_for_signal().await;
    tracing::info!("shutting down: no new work, waiting for passes in flight");
    stopping.store(true, Ordering::Relaxed);
    queue.close();
    let deadline = tokio::time::Instant::now() + config.shutdown_timeout;
    let drained = tokio::time::timeout_at(deadline, permits.acquire_many(config.concurrency as u32)).await.is_ok();
    if !drained {
        tracing::warn!("passes still running after the shutdown timeout; releasing leases anyway");
    }
    lease_task.abort();
    watch_task.abort();
    worker_task.abort();
    if let Some(task) = events_task {
        task.abort();
    }
    for stack in leases.held().keys() {
        if let Err(e) = leases.release(stack).await {
            tracing::warn!(error = %e, "releasing a lease failed");
        }
    }
    leases.leave().await;
    drop(engine);
    drop(events);
    if let Some(task) = shipper_task {
        // The shipper ends when its sender is dropped with the engine's event sinks.
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    tracing::info!("steward run: stopped");
    Ok(())
}

/// One round of lease work: the heartbeat (which renews what is held), take free stacks up to a fair
/// share (ceil(stacks / live replicas)), and give one extra back when holding more than that.
async fn lease_round(
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

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_queue_deduplicates_and_never_runs_a_stack_twice_at_once() {
        let batch = |stacks: &[&str], due: &[&str]| {
            Some(Batch {
                stacks: stacks.iter().map(|s| s.to_string()).collect(),
                due_only: due.iter().map(|s| s.to_string()).collect(),
            })
        };
        let q = WorkQueue::default();
        q.push("a");
        q.push("a");
        q.push_for("b", Need::Due);
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop_batch(1).await, batch(&["a"], &[]));
        q.push_for("a", Need::Due); // while a runs: remembered, not queued
        assert_eq!(q.len(), 1);
        q.push_for("c", Need::Due);
        q.push("c"); // a full pass wins over a timer's
        assert_eq!(q.pop_batch(8).await, batch(&["b", "c"], &["b"]));
        q.done("a");
        assert_eq!(q.pop_batch(8).await, batch(&["a"], &["a"]));
        q.close();
        assert_eq!(q.pop_batch(8).await, None);
    }

    #[test]
    fn bad_configuration_is_refused_with_the_flag_name() {
        let config = Config {
            stacks: None,
            poll_interval: Duration::from_secs(2),
            concurrency: 8,
            max_stacks_in_flight: 100,
            lease: LeaseConfig {
                duration: Duration::from_secs(15),
                renew_every: Duration::from_secs(10),
                clock_offset_ms: 0,
            },
            http_addr: "127.0.0.1:0".parse().unwrap(),
            log_group: None,
            log_stream: None,
            shutdown_timeout: Duration::from_secs(20),
            replica_id: "r".into(),
            backoff: BackoffPolicy::default(),
            emf: true,
            events_queue: None,
            events_wait: 20,
        };
        assert!(config.check().unwrap_err().to_string().starts_with("--lease-renew"));
        let ok =
            Config { lease: LeaseConfig { renew_every: Duration::from_secs(5), ..config.lease }, ..config.clone() };
        assert!(ok.check().is_ok());
        assert!(Config { concurrency: 0, ..ok.clone() }.check().unwrap_err().to_string().starts_with("--concurrency"));
        let none_in_flight = Config { max_stacks_in_flight: 0, ..ok }.check().unwrap_err().to_string();
        assert!(none_in_flight.starts_with("--max-stacks-in-flight"), "{none_in_flight}");
    }
}
