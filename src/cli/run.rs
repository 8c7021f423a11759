//! `steward run`: flags (each with a STEWARD_* variable) → daemon configuration.

use super::context::Ctx;
use crate::daemon::lease::LeaseConfig;
use crate::daemon::{self, Config};
use crate::engine::backoff::BackoffPolicy;
use crate::model::duration::parse_duration;
use crate::telemetry::LogFormat;
use anyhow::{Result, anyhow};
use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// How often the fast path reads the change counter
    #[arg(long, env = "STEWARD_POLL_INTERVAL", default_value = "2s")]
    pub poll_interval: String,
    /// Stack passes running at once
    #[arg(long, env = "STEWARD_CONCURRENCY", default_value_t = 8)]
    pub concurrency: usize,
    /// The most stacks in all running passes together (bounds memory)
    #[arg(long, env = "STEWARD_MAX_STACKS_IN_FLIGHT", default_value_t = 100)]
    pub max_stacks_in_flight: usize,
    /// How long a stack lease lasts without renewal
    #[arg(long, env = "STEWARD_LEASE_DURATION", default_value = "15s")]
    pub lease_duration: String,
    /// How often held leases are renewed (at most half the lease duration)
    #[arg(long, env = "STEWARD_LEASE_RENEW", default_value = "5s")]
    pub lease_renew: String,
    /// Address of /healthz, /readyz, /status and /metrics (loopback by default)
    #[arg(long, env = "STEWARD_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,
    /// Also send events to this CloudWatch Logs group (for runs outside ECS)
    #[arg(long, env = "STEWARD_CLOUDWATCH_LOG_GROUP")]
    pub cloudwatch_log_group: Option<String>,
    /// The log stream in that group (default: the replica id)
    #[arg(long, env = "STEWARD_CLOUDWATCH_LOG_STREAM", requires = "cloudwatch_log_group")]
    pub cloudwatch_log_stream: Option<String>,
    /// Output lines as JSON (for CloudWatch Logs) or text (for people)
    #[arg(long, value_enum, env = "STEWARD_LOG_FORMAT", default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
    /// How long SIGTERM/SIGINT waits for passes in flight before releasing the leases
    #[arg(long, env = "STEWARD_SHUTDOWN_TIMEOUT", default_value = "20s")]
    pub shutdown_timeout: String,
    /// This replica's name in leases (default: host name, process id and a random suffix)
    #[arg(long, env = "STEWARD_REPLICA_ID")]
    pub replica_id: Option<String>,
    /// First retry delay of a failing resource
    #[arg(long, env = "STEWARD_BACKOFF_BASE", default_value = "2s")]
    pub backoff_base: String,
    /// Longest retry delay of a failing resource
    #[arg(long, env = "STEWARD_BACKOFF_CAP", default_value = "5m")]
    pub backoff_cap: String,
    /// An SQS queue that EventBridge delivers AWS events to: out-of-band changes are seen at once
    /// and alerts name who made them (see bootstrap/controller.yaml, EventsQueue)
    #[arg(long, env = "STEWARD_EVENTS_QUEUE")]
    pub events_queue: Option<String>,
    /// Seconds each read of the events queue waits for a message (SQS long polling, 0 to 20;
    /// 0 polls once a second)
    #[arg(long, env = "STEWARD_EVENTS_WAIT", default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=20))]
    pub events_wait: u64,
    /// Tests only: shift this replica's wall clock (skewed-clock tests of the leases)
    #[arg(long, env = "STEWARD_CLOCK_OFFSET_MS", default_value_t = 0, hide = true, allow_hyphen_values = true)]
    pub clock_offset_ms: i64,
}

fn duration(flag: &str, value: &str) -> Result<std::time::Duration> {
    parse_duration(value).ok_or_else(|| anyhow!("--{flag}: expected a duration like 500ms, 2s or 5m, got {value:?}"))
}

pub async fn run(ctx: &Ctx, args: RunArgs, table: &str) -> Result<ExitCode> {
    crate::telemetry::init(args.log_format);
    let host = super::context::host_name();
    let replica_id = args
        .replica_id
        .clone()
        .unwrap_or_else(|| format!("{host}-{}-{:04x}", std::process::id(), rand::random::<u16>()));
    let config = Config {
        stacks: ctx.stack.as_ref().map(|s| s.split(',').map(str::to_string).collect()),
        poll_interval: duration("poll-interval", &args.poll_interval)?,
        concurrency: args.concurrency,
        max_stacks_in_flight: args.max_stacks_in_flight,
        lease: LeaseConfig {
            duration: duration("lease-duration", &args.lease_duration)?,
            renew_every: duration("lease-renew", &args.lease_renew)?,
            clock_offset_ms: args.clock_offset_ms,
        },
        http_addr: args.http_addr,
        log_group: args.cloudwatch_log_group,
        log_stream: args.cloudwatch_log_stream,
        shutdown_timeout: duration("shutdown-timeout", &args.shutdown_timeout)?,
        replica_id,
        backoff: BackoffPolicy {
            base: duration("backoff-base", &args.backoff_base)?,
            factor: 2.0,
            cap: duration("backoff-cap", &args.backoff_cap)?,
        },
        emf: args.log_format == LogFormat::Json,
        events_queue: args.events_queue.clone(),
        events_wait: args.events_wait,
    };
    daemon::run(config, ctx.aws.clone(), ctx.store.clone(), table).await?;
    Ok(ExitCode::SUCCESS)
}
