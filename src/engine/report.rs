//! What a pass reports: its options, the counts by outcome, the AWS calls it made, and (for a
//! plan) the verdict of each resource (`diff --live`, a contract in docs/cli.md).

use super::decide::FieldAction;
use crate::model::Kind;
use crate::status::{DriftRecord, Phase};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default)]
pub struct PassOptions {
    /// Stacks to reconcile (all stacks in the table when None).
    pub stacks: Option<Vec<String>>,
    /// Only this resource (its dependencies are still observed for their outputs).
    pub only: Option<(Kind, String)>,
    /// Observe and decide only: no AWS change, no status write, no event (`steward diff --live`).
    pub plan_only: bool,
    /// Stacks of which only the resources that are due are observed (a timer's pass: the resync,
    /// a resource's own `resync`, a heal window opening). Settled resources observed less than
    /// their resync ago are left alone and keep their status; others are passed in full.
    pub due_only: BTreeSet<String>,
    /// How long a timer's pass (of the `due_only` stacks) trusts the tags it read, instead of one
    /// resync: set by a daemon that hears AWS events, where a tag change arrives as an event and
    /// asks for a full pass, which reads them again. Ownership before a change is always fresh.
    pub tags_kept_for: Option<std::time::Duration>,
}

impl PassOptions {
    /// Since when cached tags (and task definitions) hold for an observe of `stacks`: one resync
    /// (`one_resync`); with tags kept longer, that long in a timer's pass, and not at all in a
    /// full pass (an event asked for it: the tags it names may have just changed).
    pub(super) fn tags_fresh_since<'s>(
        &self,
        started: std::time::Instant,
        one_resync: std::time::Instant,
        mut stacks: impl Iterator<Item = &'s str>,
    ) -> std::time::Instant {
        match self.tags_kept_for {
            Some(kept) if stacks.all(|s| self.due_only.contains(s)) => started.checked_sub(kept).unwrap_or(started),
            Some(_) => started,
            None => one_resync,
        }
    }
}

/// What a plan-only pass decided for one resource (`diff --live`, a contract in docs/cli.md).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanEntry {
    pub stack: String,
    pub kind: String,
    pub name: String,
    /// in-sync, create, adopt, update, replace, delete, keep, wait, blocked, report, or error
    /// (AWS could not be read: the command exits 1).
    pub verdict: String,
    /// Paused: `verdict` is what would happen once resumed.
    pub paused: bool,
    /// AWS differs from the desired state or has not converged (exit code 2).
    pub differs: bool,
    pub reason: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting_for: Vec<String>,
    pub drift: Vec<DriftRecord<FieldAction>>,
    /// What `steward approve` records to consent to replacing the object for this drift.
    #[serde(skip)]
    pub replacement_consent: Option<String>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PassReport {
    pub resources: usize,
    pub ready: usize,
    pub drifted: usize,
    pub corrected: usize,
    pub failed: usize,
    pub waiting: usize,
    pub busy: usize,
    pub mutating_calls: u64,
    pub calls: BTreeMap<String, BTreeMap<String, u64>>,
    /// Calls that failed after the SDK's own retries: each is a `reconcile_failed` event (or,
    /// for steward's own DynamoDB writes, a failed pass).
    pub failed_calls: BTreeMap<String, BTreeMap<String, u64>>,
    pub duration_ms: u64,
    /// Every resource Ready (or deleted/retained/paused as asked) with nothing left to do.
    pub converged: bool,
    /// Stacks with a resource that is not settled yet (busy, waiting, failed or drifted).
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub unsettled: BTreeSet<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<PlanEntry>,
    /// The outcomes by stack (`ready`, `drifted`, `failed`, `waiting`, `busy`), for /metrics.
    #[serde(skip)]
    pub by_stack: BTreeMap<String, BTreeMap<&'static str, usize>>,
    /// Settled resources left alone in a `due_only` pass (counted by their status).
    pub not_due: usize,
    /// Drifted resources whose heal waits for their heal window (counted in `drifted` too).
    pub deferred: usize,
    /// When each stack has something due next that the stack's own resync would not come to in
    /// time: a resource's shorter `resync`, a heal window opening on deferred drift.
    #[serde(skip)]
    pub wake_at: BTreeMap<String, chrono::DateTime<chrono::Utc>>,
}

/// What one resource's reconcile came to, for the pass report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ready,
    Busy,
    Waiting,
    Failed,
    Drifted,
    /// Drift held for the heal window: drifted, but nothing to look at before the window opens.
    Deferred,
    Skipped,
}

impl Outcome {
    /// A settled resource left alone counts as what it was last time.
    pub fn of_settled(phase: Phase) -> Outcome {
        match phase {
            Phase::Ready => Outcome::Ready,
            Phase::Deferred => Outcome::Deferred,
            _ => Outcome::Skipped,
        }
    }
}

impl PassReport {
    /// Counts one resource's outcome.
    pub fn count(&mut self, stack: &str, outcome: Outcome) {
        self.resources += 1;
        if matches!(outcome, Outcome::Busy | Outcome::Waiting | Outcome::Failed | Outcome::Drifted) {
            self.unsettled.insert(stack.to_string());
        }
        if outcome == Outcome::Deferred {
            self.deferred += 1;
        }
        let state = match outcome {
            Outcome::Ready => Some((&mut self.ready, "ready")),
            Outcome::Busy => Some((&mut self.busy, "busy")),
            Outcome::Waiting => Some((&mut self.waiting, "waiting")),
            Outcome::Failed => Some((&mut self.failed, "failed")),
            Outcome::Drifted | Outcome::Deferred => Some((&mut self.drifted, "drifted")),
            Outcome::Skipped => None,
        };
        if let Some((total, state)) = state {
            *total += 1;
            *self.by_stack.entry(stack.to_string()).or_default().entry(state).or_default() += 1;
        }
    }

    /// Something is due in `stack` at `at`: the earliest such time is the stack's wake-up.
    pub fn wake(&mut self, stack: &str, at: chrono::DateTime<chrono::Utc>) {
        let wake = self.wake_at.entry(stack.to_string()).or_insert(at);
        *wake = (*wake).min(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn tags_are_kept_one_resync_or_longer_in_a_timer_s_pass_when_events_read_them_again() {
        let started = Instant::now() + Duration::from_secs(7200);
        let one_resync = started - Duration::from_secs(54);
        let due = PassOptions { due_only: ["a".to_string()].into(), ..PassOptions::default() };
        let with_events = PassOptions { tags_kept_for: Some(Duration::from_secs(1800)), ..due.clone() };
        let rows = [
            ("no events, timer's pass", &due, vec!["a"], one_resync),
            ("no events, full pass", &due, vec!["b"], one_resync),
            ("events, timer's pass", &with_events, vec!["a"], started - Duration::from_secs(1800)),
            ("events, a full pass among them", &with_events, vec!["a", "b"], started),
        ];
        for (what, options, stacks, expected) in rows {
            assert_eq!(options.tags_fresh_since(started, one_resync, stacks.into_iter()), expected, "{what}");
        }
    }
}
