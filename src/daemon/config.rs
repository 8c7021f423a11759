//! How `steward run` is configured (its flags), and the checks on them.

use super::lease::LeaseConfig;
use crate::engine::backoff::BackoffPolicy;
use anyhow::{Result, bail};
use std::net::SocketAddr;
use std::time::Duration;

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
