//! What the HTTP endpoints read of a running controller.

use super::aws_events::EventCounts;
use super::cloudwatch::ShipperStats;
use super::lease::{LeaseConfig, Leases};
use super::metrics::Metrics;
use super::queue::WorkQueue;
use crate::engine::PassReport;
use crate::store::Store;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Instant;

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
    pub shipper: Option<Arc<ShipperStats>>,
    pub lease_config: LeaseConfig,
    /// The process's AWS calls, for /metrics.
    pub calls: crate::aws::CallCounter,
    /// AWS events read from the events queue, by what became of them.
    pub event_counts: Arc<EventCounts>,
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

    pub fn shipper_stat(&self, f: impl Fn(&ShipperStats) -> u64) -> u64 {
        self.shipper.as_deref().map_or(0, f)
    }
}
