//! `steward run`: the long-running controller. Leases decide which stacks this replica owns; a
//! deduplicating work queue runs stack passes (observation is batched per kind, so the unit of
//! work is a stack) with bounded concurrency; tokio-cron-scheduler drives the periodic resync;
//! a fast path polls one change counter and reconciles edited stacks within seconds.

pub mod aws_events;
pub mod cloudwatch;
pub mod http;
pub mod lease;
pub mod metrics;
pub mod queue;
pub mod shared;
pub mod timers;

pub mod config;
pub mod tasks;

pub use config::Config;
pub use queue::{Batch, Need, WorkQueue};
pub use shared::Shared;
use tasks::{Parts, TAGS_KEPT_WITH_EVENTS, spawn_lease_loop, spawn_watch, spawn_workers, start_events};
use timers::{Resync, Wakeups};

use crate::aws::Aws;
use crate::engine::Engine;
use crate::engine::events::Events;
use crate::store::Store;
use anyhow::Result;
use lease::{LeaseGuard, Leases};
use metrics::Metrics;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_cron_scheduler::JobScheduler;

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

    let parts = Parts {
        leases: leases.clone(),
        store: store.clone(),
        queue: queue.clone(),
        resync: resync.clone(),
        wakeups: wakeups.clone(),
        shared: shared.clone(),
        metrics: metrics.clone(),
        engine: engine.clone(),
        stopping: stopping.clone(),
        tags_kept_for: config.events_queue.as_ref().map(|_| TAGS_KEPT_WITH_EVENTS),
    };
    let events_task = start_events(&aws, &parts, &config).await;
    let lease_task = spawn_lease_loop(parts.clone(), config.clone());
    let watch_task = spawn_watch(parts.clone(), config.poll_interval);
    let permits = Arc::new(Semaphore::new(config.concurrency));
    let stack_slots = Arc::new(Semaphore::new(config.max_stacks_in_flight));
    let worker_task = spawn_workers(parts, permits.clone(), stack_slots, config.emf);

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
    use crate::engine::backoff::BackoffPolicy;
    use lease::LeaseConfig;

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
