//! One reconcile pass: read the stacks' desired state, walk the reference graph level by level
//! (one observe call per kind and region in each level), decide every resource (`decide.rs`) and
//! carry the verdict out, or (plan) only report it.

use super::adapter::{Adapter, Cx, Desired, Observed, diff};
use super::decide::{self, BlockReason, Decision, EXISTENCE, FieldAction, Hold, KeepReason, Policy, Resolution};
use super::decide::{Verdict, WaitReason};
use super::resolve::Unresolved;
use super::{Engine, ReconcileError};
use crate::aws::{CallCounter, ErrorClass};
use crate::heal_window::HealWindow;
use crate::kinds::{self, Kind};
use crate::manifest::references;
use crate::manifest::{Manifest, ResourceKey};
use crate::status::{Applied, DriftRecord, PendingChange, Phase, Status};
use crate::store::StoredResource;
use anyhow::Result;
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

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
}

/// What a plan-only pass decided for one resource (`diff --live`, a contract in the README).
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
    pub drift: Vec<DriftRecord>,
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
pub(super) enum Outcome {
    Ready,
    Busy,
    Waiting,
    Failed,
    Drifted,
    /// Drift held for the heal window: drifted, but nothing to look at before the window opens.
    Deferred,
    Skipped,
}

pub(super) struct PassState {
    pub outputs: BTreeMap<ResourceKey, BTreeMap<String, String>>,
    /// Observed this pass, owned and ready: dependents may be created.
    pub ready: BTreeSet<ResourceKey>,
    /// Observed this pass and owned, ready or not: dependents that exist are still compared.
    pub present: BTreeSet<ResourceKey>,
    pub report: PassReport,
    pub vpcs: BTreeMap<String, String>,
    pub plan_only: bool,
    /// This pass's number for the selector cache (what it fetched itself is never re-fetched).
    pub lookup_pass: u64,
    pub started: Instant,
    /// Cached tags older than this are fetched again (one resync of the stacks passed).
    pub tags_fresh_since: Instant,
}

impl PassState {
    fn count(&mut self, stack: &str, outcome: Outcome) {
        self.report.resources += 1;
        if matches!(outcome, Outcome::Busy | Outcome::Waiting | Outcome::Failed | Outcome::Drifted) {
            self.report.unsettled.insert(stack.to_string());
        }
        if outcome == Outcome::Deferred {
            self.report.deferred += 1;
        }
        let state = match outcome {
            Outcome::Ready => Some((&mut self.report.ready, "ready")),
            Outcome::Busy => Some((&mut self.report.busy, "busy")),
            Outcome::Waiting => Some((&mut self.report.waiting, "waiting")),
            Outcome::Failed => Some((&mut self.report.failed, "failed")),
            Outcome::Drifted | Outcome::Deferred => Some((&mut self.report.drifted, "drifted")),
            Outcome::Skipped => None,
        };
        if let Some((total, state)) = state {
            *total += 1;
            *self.report.by_stack.entry(stack.to_string()).or_default().entry(state).or_default() += 1;
        }
    }

    /// Something is due in `stack` at `at`: the earliest such time is the stack's wake-up.
    fn wake(&mut self, stack: &str, at: chrono::DateTime<chrono::Utc>) {
        let wake = self.report.wake_at.entry(stack.to_string()).or_insert(at);
        *wake = (*wake).min(at);
    }

    /// A settled resource that is not due: what it was last time stands, for its dependents and
    /// for the counts.
    fn leave_alone(&mut self, r: &StoredResource, prev: &Status) {
        let key = &r.manifest.key;
        self.report.not_due += 1;
        let exists = !r.deleted && prev.condition("Ready");
        if exists {
            self.present.insert(key.clone());
            if prev.phase == Phase::Ready || prev.phase == Phase::Deferred {
                self.ready.insert(key.clone());
            }
        }
        let outcome = match prev.phase {
            Phase::Ready => Outcome::Ready,
            Phase::Deferred => Outcome::Deferred,
            _ => Outcome::Skipped,
        };
        self.count(&key.stack, outcome);
    }

    /// What dependents may rely on: an owned object that exists (and is ready) this pass.
    fn note_observed(&mut self, key: &ResourceKey, observed: Option<&Observed>, removed: bool) {
        let Some(o) = observed else { return };
        self.outputs.insert(key.clone(), o.outputs.clone());
        if o.owned && !removed {
            self.present.insert(key.clone());
            if key.kind.adapter().ready_for_dependents(o) {
                self.ready.insert(key.clone());
            }
        }
    }
}

/// One resource on its way through a pass.
struct Item<'a> {
    r: &'a StoredResource,
    desired: Option<Desired>,
    resolution: Resolution,
    prev: Status,
    paused: bool,
    /// The heal window that applies (the resource's own, else its stack's).
    window: Option<HealWindow>,
}

/// Errors saying a network id steward passed does not exist (any longer).
const UNKNOWN_NETWORK_IDS: &[&str] = &[
    "InvalidSubnet",
    "InvalidSubnetID.NotFound",
    "InvalidGroup.NotFound",
    "InvalidSecurityGroupID.NotFound",
    "InvalidRouteTableId.NotFound",
    "InvalidRouteTableID.NotFound",
    "InvalidVpcID.NotFound",
];

/// How long a tag kept for ownership may be used at most, whatever the resync.
const TAG_CACHE_LIMIT: Duration = Duration::from_secs(3600);

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A status for this pass: all conditions reset, computed from desired-state `version`, observed now.
fn observed_status(prev: &Status, version: u64) -> Status {
    let mut status = Status::fresh(prev);
    status.observed_generation = version;
    status.last_observed_at = now_rfc3339();
    status
}

fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&chrono::Utc))
}

/// A stack's resync interval in seconds (a cron resync counts as the default, 60 s).
fn resync_secs(stack_spec: &Json) -> u64 {
    stack_spec.get("resync").and_then(Json::as_str).and_then(crate::duration::parse_duration_secs).unwrap_or(60)
}

/// A resource's resync: its own `resync`, else its stack's, else 60 s. True when it is its own.
fn resync_setting<'a>(spec: &'a Json, stack_spec: Option<&'a Json>) -> (&'a str, bool) {
    match spec.get("resync").and_then(Json::as_str) {
        Some(own) => (own, true),
        None => (stack_spec.and_then(|s| s.get("resync")).and_then(Json::as_str).unwrap_or("60s"), false),
    }
}

/// Whether a resource whose last observation was at `last` is due at `now`. A resource on its
/// stack's resync may be early by a fifth of it (the resync timer has jitter); one with its own
/// resync has its own wake-up, so a second of slack is enough.
fn is_due(setting: (&str, bool), last: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> bool {
    let Some(next) = crate::duration::next_due(setting.0, last) else { return true };
    let slack = match setting.1 {
        true => chrono::Duration::seconds(1),
        false => (next - last) / 5,
    };
    next <= now + slack
}

/// A resource with nothing in progress: a timer's pass may leave it alone until it is due.
/// (A paused one is always looked at: what it is, its dependents learn only from a look.)
fn is_quiet(r: &StoredResource, prev: &Status) -> bool {
    [Phase::Ready, Phase::Deleted, Phase::Retained, Phase::Deferred].contains(&prev.phase)
        && prev.next_attempt_at.is_none()
        && prev.observed_generation == r.version
}

/// What a timer's pass does with a resource: whether it may leave it alone, and when the
/// resource's own `resync` (if it has one) is next due. `last`: its last observation.
fn timing(
    r: &StoredResource,
    prev: &Status,
    resync: (&str, bool),
    window: Option<&HealWindow>,
    last: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> (bool, Option<chrono::DateTime<chrono::Utc>>) {
    // Deferred drift is due once its window has opened.
    let window_opened = prev.phase == Phase::Deferred && window.is_none_or(|w| w.is_open(now));
    let not_due = is_quiet(r, prev) && !window_opened && last.is_some_and(|t| !is_due(resync, t, now));
    let observed = if not_due { last } else { Some(now) };
    let next = observed.filter(|_| resync.1).and_then(|t| crate::duration::next_due(resync.0, t));
    (not_due, next)
}

fn policy_of(m: &Manifest) -> Policy {
    let flag = |f: &str| m.spec.get(f).and_then(Json::as_bool) == Some(true);
    Policy {
        enforce: m.management_policy() == "enforce",
        retain: m.deletion_policy() == "Retain",
        adopt: flag("adopt"),
        allow_replacement: flag("allowReplacement"),
    }
}

impl Engine {
    /// One reconcile pass over the given stacks.
    pub async fn pass(&self, options: &PassOptions) -> Result<PassReport> {
        let calls = CallCounter::default();
        calls.scope(self.pass_counted(options, &calls)).await
    }

    /// The pass, with `calls` counting the AWS calls made in it.
    async fn pass_counted(&self, options: &PassOptions, calls: &CallCounter) -> Result<PassReport> {
        let started = Instant::now();
        let stacks = match &options.stacks {
            Some(s) => s.clone(),
            None => self.store.stacks().await?,
        };
        // One DynamoDB Query per stack: its resources, statuses and paused flag.
        let mut stored = Vec::new();
        let mut paused_stacks = BTreeSet::new();
        let mut previous = BTreeMap::new();
        for stack in &stacks {
            let snapshot = self.store.snapshot(stack).await?;
            if snapshot.paused {
                paused_stacks.insert(stack.clone());
            }
            stored.extend(snapshot.resources);
            previous.extend(snapshot.statuses);
        }
        stored.sort_by(|a, b| a.manifest.key.cmp(&b.manifest.key));
        stored.retain(|r| r.manifest.key.kind != Kind::Stack || !r.deleted);
        let resync = stored
            .iter()
            .filter(|r| r.manifest.key.kind == Kind::Stack)
            .map(|r| resync_secs(&r.manifest.spec))
            .min()
            .unwrap_or(60);
        // Ownership is never older than one resync: a removed ownership tag is noticed in the next.
        let tag_ttl = Duration::from_secs(resync) * 9 / 10;
        self.cache.expire_tags(started.checked_sub(TAG_CACHE_LIMIT).unwrap_or(started));
        let mut pass = PassState {
            lookup_pass: self.lookups.begin_pass().await,
            outputs: BTreeMap::new(),
            ready: BTreeSet::new(),
            present: BTreeSet::new(),
            report: PassReport::default(),
            vpcs: BTreeMap::new(),
            plan_only: options.plan_only,
            started,
            tags_fresh_since: started.checked_sub(tag_ttl).unwrap_or(started),
        };
        for (key, status) in &previous {
            pass.outputs.insert(key.clone(), status.outputs.clone());
        }
        let wanted = |r: &StoredResource| match &options.only {
            Some((kind, name)) => r.manifest.key.kind == *kind && &r.manifest.key.name == name,
            None => true,
        };
        let live: Vec<&Manifest> = stored.iter().filter(|r| !r.deleted).map(|r| &r.manifest).collect();
        // With one resource asked for, only it and what it references (transitively) are observed.
        let scope: Option<BTreeSet<ResourceKey>> = options.only.as_ref().map(|_| {
            let mut scope: BTreeSet<ResourceKey> =
                stored.iter().filter(|r| wanted(r)).map(|r| r.manifest.key.clone()).collect();
            let mut frontier: Vec<ResourceKey> = scope.iter().cloned().collect();
            while let Some(key) = frontier.pop() {
                let Some(m) = live.iter().find(|m| m.key == key) else { continue };
                for dep in references::dependencies(m) {
                    if scope.insert(dep.clone()) {
                        frontier.push(dep);
                    }
                }
            }
            scope
        });
        let in_scope = |r: &StoredResource| {
            r.manifest.key.kind == Kind::Stack || scope.as_ref().is_none_or(|s| s.contains(&r.manifest.key))
        };
        // The reference graph in levels, then what was removed from the desired state, dependents
        // before what they depend on (in reverse kind order).
        let by_key: HashMap<&ResourceKey, &StoredResource> = stored.iter().map(|r| (&r.manifest.key, r)).collect();
        let mut levels: Vec<Vec<&StoredResource>> = references::topological_levels(&live)
            .iter()
            .map(|level| level.iter().filter_map(|k| by_key.get(k).copied()).collect())
            .collect();
        let stack_specs: HashMap<&str, &Json> = stored
            .iter()
            .filter(|r| r.manifest.key.kind == Kind::Stack)
            .map(|r| (r.manifest.key.stack.as_str(), &r.manifest.spec))
            .collect();
        let now = chrono::Utc::now();
        let mut removed: Vec<&StoredResource> = stored.iter().filter(|r| r.deleted).collect();
        removed.sort_by_key(|r| std::cmp::Reverse(Kind::ALL.iter().position(|k| *k == r.manifest.key.kind)));
        levels.push(removed);

        for level in levels {
            let mut kinds_in_level: Vec<Kind> =
                Kind::ALL.into_iter().filter(|k| level.iter().any(|r| r.manifest.key.kind == *k)).collect();
            if level.iter().any(|r| r.deleted) {
                kinds_in_level.reverse();
            }
            for kind in kinds_in_level {
                let of_kind: Vec<&StoredResource> =
                    level.iter().copied().filter(|r| r.manifest.key.kind == kind && in_scope(r)).collect();
                let mut by_region: BTreeMap<String, Vec<Item>> = BTreeMap::new();
                for r in of_kind {
                    let key = &r.manifest.key;
                    let target = wanted(r) || kind == Kind::Stack;
                    let prev = previous.get(key).cloned().unwrap_or_default();
                    let paused = r.paused || paused_stacks.contains(&key.stack);
                    let stack_spec = stack_specs.get(key.stack.as_str()).copied();
                    let resync = resync_setting(&r.manifest.spec, stack_spec);
                    let window = (kind != Kind::Stack)
                        .then(|| crate::heal_window::effective(&r.manifest.spec, stack_spec))
                        .flatten();
                    let last = self.observed_at.lock().unwrap().get(key).copied();
                    let (may_skip, own_resync_due) = timing(r, &prev, resync, window.as_ref(), last, now);
                    // A resource's own resync wakes its stack when it is next due.
                    if let Some(next) = own_resync_due {
                        pass.wake(&key.stack, next);
                    }
                    if may_skip && kind != Kind::Stack && options.due_only.contains(&key.stack) {
                        pass.leave_alone(r, &prev);
                        continue;
                    }
                    match self.resolve(r, &stored, &mut pass).await {
                        Ok((mut desired, settling)) => {
                            desired.memo = prev.memo.clone();
                            let resolution = Resolution::Resolved { settling };
                            let item = Item { r, desired: Some(desired.clone()), resolution, prev, paused, window };
                            by_region.entry(desired.region.clone()).or_default().push(item);
                        }
                        Err(_) if !target => {}
                        Err(Unresolved::Not(resolution)) => {
                            let item = Item { r, desired: None, resolution, prev, paused, window };
                            self.settle(kinds::adapter(kind), None, &item, None, &mut pass).await?;
                        }
                        Err(Unresolved::Failed(e)) => self.observe_failed(r, &prev, &e, &mut pass).await?,
                    }
                }
                for (region, items) in by_region {
                    self.observe_and_settle(kind, &region, items, &wanted, &mut pass).await?;
                }
            }
        }
        let report = &mut pass.report;
        report.calls = calls.by_service();
        report.failed_calls = calls.failures_by_service();
        // Changes to AWS objects; steward's own writes (status in DynamoDB, its log events in
        // CloudWatch Logs) are not counted.
        report.mutating_calls = report
            .calls
            .iter()
            .filter(|(service, _)| !["DynamoDB", "CloudWatch Logs"].contains(&service.as_str()))
            .flat_map(|(_, ops)| ops.iter())
            .filter(|(op, _)| crate::aws::is_mutating(op))
            .map(|(_, n)| n)
            .sum();
        report.duration_ms = started.elapsed().as_millis() as u64;
        report.converged = report.unsettled.is_empty();
        if options.plan_only {
            return Ok(pass.report);
        }
        self.events.emit(
            "pass_completed",
            json!({
                "stacks": stacks, "resources": report.resources, "notDue": report.not_due, "ready": report.ready,
                "drifted": report.drifted, "deferred": report.deferred,
                "corrected": report.corrected, "failed": report.failed, "waiting": report.waiting, "busy": report.busy,
                "awsCalls": report.calls, "awsCallsFailed": report.failed_calls, "mutatingCalls": report.mutating_calls,
                "durationMs": report.duration_ms,
            }),
        );
        Ok(pass.report)
    }

    /// One observe call for the resolved resources of a kind in a region, then each one settled.
    async fn observe_and_settle(
        &self,
        kind: Kind,
        region: &str,
        items: Vec<Item<'_>>,
        wanted: &(dyn Fn(&StoredResource) -> bool + Sync),
        pass: &mut PassState,
    ) -> Result<()> {
        let adapter = kinds::adapter(kind);
        let clients = self.aws.region(region);
        let stack = items.first().map(|i| i.r.manifest.key.stack.clone()).unwrap_or_default();
        let cx = self.cx(&clients, stack, pass.tags_fresh_since);
        let desired: Vec<Desired> = items.iter().filter_map(|i| i.desired.clone()).collect();
        let observed = match self.throttle_wait(kind) {
            Some(remaining) => Err(ReconcileError::Throttled { service: kind.service(), remaining }),
            None => adapter.observe(&cx, &desired).await,
        };
        if let Err(e) = &observed {
            self.note_throttling(kind, e);
        }
        for item in items {
            let key = &item.r.manifest.key;
            let found = observed.as_ref().ok().and_then(|obs| obs.get(key));
            if !wanted(item.r) && kind != Kind::Stack {
                // Observed only for its outputs (a dependency of the one resource asked for).
                pass.note_observed(key, found, item.r.deleted);
                continue;
            }
            match &observed {
                Ok(_) => {
                    let cx = self.cx(&clients, key.stack.clone(), pass.tags_fresh_since);
                    self.settle(adapter, Some(&cx), &item, found, pass).await?
                }
                Err(e) => self.observe_failed(item.r, &item.prev, e, pass).await?,
            }
        }
        Ok(())
    }

    fn cx<'a>(&'a self, clients: &'a crate::aws::Clients, stack: String, tags_fresh_since: Instant) -> Cx<'a> {
        Cx { clients, cache: &self.cache, guard: self.guard.as_ref(), stack, tags_fresh_since }
    }

    /// The facts the decision needs for one resource.
    fn decision(&self, adapter: &dyn Adapter, item: &Item, observed: Option<&Observed>) -> Decision {
        let drift = match (&item.desired, observed, &item.resolution) {
            (Some(d), Some(o), Resolution::Resolved { .. }) if o.owned && !item.r.deleted => diff(adapter, d, o),
            _ => Vec::new(),
        };
        let backoff = item
            .prev
            .next_attempt_at
            .as_deref()
            .filter(|t| parse_time(t).is_some_and(|t| t > chrono::Utc::now()))
            .map(|t| Hold::Backoff { until: t.to_string() });
        let throttled = self
            .throttle_wait(item.r.manifest.key.kind)
            .map(|d| Hold::Throttled { remaining_ms: d.as_millis() as u64 });
        let current = item.desired.as_ref().map(|d| applied_view(adapter, d));
        let prev = &item.prev;
        let ignored: Vec<String> = item.r.manifest.spec["ignoreChanges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect();
        let facts = decide::Facts {
            removed: item.r.deleted,
            paused: item.paused,
            policy: policy_of(&item.r.manifest),
            resolution: item.resolution.clone(),
            observed,
            drift,
            hold: backoff.or(throttled),
            applied: prev.applied.as_ref().map(|a| &a.view),
            current: current.as_ref(),
            version_moved: prev.observed_generation != 0 && prev.observed_generation < item.r.version,
            existed: prev.applied.is_some() && ![Phase::Pending, Phase::Deleted, Phase::Retained].contains(&prev.phase),
            ignored: &ignored,
            closed_window: closed_window(item.window.as_ref(), chrono::Utc::now()),
        };
        let decision = decide::decide(&facts);
        // A person approved replacing the object for exactly this drift (`steward approve`).
        let consent = replacement_consent(item, &decision, observed);
        let approved = consent.is_some() && consent == item.r.approved_replacement;
        match approved {
            true => decide::decide(&decide::Facts {
                policy: decide::Policy { allow_replacement: true, ..facts.policy },
                ..facts
            }),
            false => decision,
        }
    }

    /// Decides one resource and carries the verdict out (or, in a plan, records it).
    async fn settle(
        &self,
        adapter: &dyn Adapter,
        cx: Option<&Cx<'_>>,
        item: &Item<'_>,
        observed: Option<&Observed>,
        pass: &mut PassState,
    ) -> Result<()> {
        let key = &item.r.manifest.key;
        pass.note_observed(key, observed, item.r.deleted);
        let mut decision = self.decision(adapter, item, observed);
        if pass.plan_only {
            let mut entry = plan_entry(adapter, key, &decision);
            entry.replacement_consent = replacement_consent(item, &decision, observed);
            pass.report.plan.push(entry);
            return Ok(());
        }
        // Before changing an object, its ownership is read again unless it was read in this pass.
        let rechecked;
        let mut observed = observed;
        if let (Some(cx), Some(d), true) = (
            cx,
            &item.desired,
            matches!(decision.verdict, Verdict::Update | Verdict::Replace | Verdict::Recreate(_) | Verdict::Delete),
        ) {
            let fresh = self.cx(cx.clients, cx.stack.clone(), pass.started);
            match adapter.observe(&fresh, std::slice::from_ref(d)).await {
                Ok(mut found) => {
                    rechecked = found.remove(key);
                    observed = rechecked.as_ref();
                    pass.note_observed(key, observed, item.r.deleted);
                    decision = self.decision(adapter, item, observed);
                }
                Err(e) => return self.observe_failed(item.r, &item.prev, &e, pass).await,
            }
        }
        let outcome = self.carry_out(adapter, cx, item, observed, &decision).await?;
        self.observed_at.lock().unwrap().insert(key.clone(), chrono::Utc::now());
        if let Verdict::Wait(WaitReason::Held { hold: Hold::Window(w), .. }) = decision.verdict.unpaused()
            && let Some(opens) = parse_time(&w.opens_at)
        {
            pass.wake(&key.stack, opens);
        }
        pass.count(&key.stack, outcome);
        if decision.compared && !matches!(decision.verdict, Verdict::Paused(_)) {
            pass.report.corrected += corrected_fields(&item.prev, &decision).len();
        }
        Ok(())
    }

    /// Executes a decision: the AWS call it asks for, the status and the events.
    async fn carry_out(
        &self,
        adapter: &dyn Adapter,
        cx: Option<&Cx<'_>>,
        item: &Item<'_>,
        observed: Option<&Observed>,
        decision: &Decision,
    ) -> Result<Outcome> {
        let (r, prev) = (item.r, &item.prev);
        let key = &r.manifest.key;
        let mut status = observed_status(prev, r.version);
        if let Some(o) = observed {
            status.outputs = o.outputs.clone();
        }
        let desired = item.desired.as_ref();
        if !matches!(decision.verdict, Verdict::Paused(_)) {
            self.record_drift(adapter, key, prev, decision, &mut status);
        }
        let applied_now = desired.map(|d| Applied { version: r.version, view: applied_view(adapter, d) });
        // An operation AWS accepted failed later: the failure is counted once towards the
        // backoff, and the verdict (make it again, delete again, update again) runs after it.
        if decision.verdict.mutates()
            && let Some(failure) = observed.and_then(Observed::async_failure)
            && prev.counted_failure.as_deref() != Some(failure.mark.as_str())
        {
            status.counted_failure = Some(failure.mark.clone());
            return self.fail(r, status, prev, &ReconcileError::AsyncFailure(failure)).await;
        }
        let outcome = match &decision.verdict {
            Verdict::Paused(_) => {
                status.last_drift = drift_records(adapter, decision, |_| "paused".into());
                status.phase = Phase::Paused;
                status.set("Paused", true, "Paused", "paused by a person: steward resume to reconcile it again");
                Outcome::Skipped
            }
            Verdict::InSync => {
                // Retiring deletes: never for an observe-only resource.
                if let (Some(cx), Some(o), true) = (cx, observed, r.manifest.management_policy() == "enforce")
                    && let Err(e) = adapter.retire_superseded(cx, o).await
                {
                    return self.fail(r, status, prev, &e).await;
                }
                status.applied = applied_now;
                status.phase = Phase::Ready;
                status.set("Ready", true, "Available", "");
                match ignored_fields(decision) {
                    f if f.is_empty() => status.set("Synced", true, "InSync", ""),
                    f => status.set("Synced", true, "InSync", format!("differs where ignoreChanges says to: {f}")),
                }
                status.clear_failures();
                Outcome::Ready
            }
            Verdict::Keep(KeepReason::Gone) => {
                if ![Phase::Deleted, Phase::Retained, Phase::Pending].contains(&prev.phase) {
                    let policy = r.manifest.deletion_policy();
                    self.events.resource("resource_deleted", key, json!({ "deletionPolicy": policy }));
                }
                status.phase = if prev.phase == Phase::Retained { Phase::Retained } else { Phase::Deleted };
                status.set("Synced", true, "Deleted", "removed from the desired state; the AWS object is gone");
                Outcome::Skipped
            }
            Verdict::Keep(_) => {
                status.phase = Phase::Retained;
                status.set(
                    "Synced",
                    true,
                    "Retained",
                    decision.verdict.reason().replace("kept", "the AWS object is kept"),
                );
                Outcome::Skipped
            }
            Verdict::Create
            | Verdict::Adopt
            | Verdict::Update
            | Verdict::Replace
            | Verdict::Recreate(_)
            | Verdict::Delete => {
                let (Some(cx), Some(desired)) = (cx, desired) else {
                    unreachable!("an action is only decided for a resolved, observed resource")
                };
                if matches!(decision.verdict, Verdict::Create | Verdict::Update | Verdict::Replace) {
                    self.start_change(adapter, item, decision, &mut status);
                }
                let done = match &decision.verdict {
                    Verdict::Create => adapter.create(cx, desired).await.map(Some),
                    Verdict::Adopt => {
                        adapter.adopt(cx, desired, observed.expect("adopt needs an object")).await.map(|()| None)
                    }
                    Verdict::Delete | Verdict::Recreate(_) => {
                        adapter.delete(cx, observed.expect("delete needs an object")).await.map(|()| None)
                    }
                    Verdict::Update => {
                        let o = observed.expect("update needs an object");
                        update_in_parts(adapter, cx, desired, o, decision.fixable()).await
                    }
                    _ => adapter
                        .update(cx, desired, observed.expect("update needs an object"), &decision.fixable())
                        .await
                        .map(Some),
                };
                match done {
                    Ok(memo) => {
                        match decision.verdict {
                            Verdict::Create | Verdict::Update => status.applied = applied_now,
                            // The object is being replaced: its absence next pass is steward's
                            // own doing, not a deletion behind its back.
                            Verdict::Replace | Verdict::Recreate(_) => status.applied = None,
                            _ => {}
                        }
                        self.acted(key, r.version, &decision.verdict, memo, &mut status, observed);
                        status.call_accepted();
                        if matches!(decision.verdict, Verdict::Update | Verdict::Replace) {
                            Outcome::Drifted
                        } else {
                            Outcome::Busy
                        }
                    }
                    Err(e) => return self.fail(r, status, prev, &e).await,
                }
            }
            Verdict::Wait(WaitReason::Busy(state)) => {
                if r.deleted {
                    status.phase = Phase::Deleting;
                    status.set("Ready", false, "Busy", format!("waiting for {state} to finish before deleting"));
                } else {
                    status.phase = Phase::Busy;
                    status.set("Ready", false, "Busy", format!("{state}: waiting for AWS to finish"));
                }
                Outcome::Busy
            }
            Verdict::Wait(WaitReason::Dependencies(_) | WaitReason::Outputs(_)) => {
                status.phase = Phase::Waiting;
                status.set("WaitingForDependency", true, "WaitingForDependency", decision.verdict.reason());
                Outcome::Waiting
            }
            Verdict::Wait(WaitReason::Held { hold: Hold::Backoff { .. }, .. }) => {
                // The last attempt failed; its error and backoff stay as they were.
                status.phase = prev.phase;
                if let Some(c) = prev.conditions.iter().find(|c| c.kind == "Terminal" && c.status) {
                    status.set("Terminal", true, &c.reason.clone(), c.message.clone());
                }
                status.set("Synced", false, "Error", prev.last_error.clone().unwrap_or_default());
                Outcome::Failed
            }
            Verdict::Wait(WaitReason::Held { hold: Hold::Window(_), .. }) => {
                // Found and alerted (`action: deferred`); healed once the window opens.
                status.phase = Phase::Deferred;
                match observed {
                    Some(_) => status.set("Ready", true, "Available", ""),
                    None => status.set("Ready", false, "Missing", "the object does not exist"),
                }
                let reason = decision.verdict.reason();
                status.set("Drifted", true, "Deferred", format!("{}: {reason}", drifted_fields(decision)));
                status.set("Synced", false, "Deferred", reason);
                Outcome::Deferred
            }
            Verdict::Wait(WaitReason::Held { hold: Hold::Throttled { .. }, .. }) => {
                status.phase = Phase::Waiting;
                status.set("Ready", false, "Throttled", decision.verdict.reason());
                Outcome::Busy
            }
            Verdict::Blocked(BlockReason::Immutable) => {
                status.phase = Phase::Drifted;
                status.set("Ready", true, "Available", "");
                status.set("Synced", false, "CannotFix", drifted_fields(decision));
                Outcome::Drifted
            }
            Verdict::Blocked(reason) => {
                let (phase, code) = match reason {
                    BlockReason::NotOwned(_) => (Phase::NotOwned, "NotOwned"),
                    BlockReason::Failed(_) => (Phase::Failed, "Failed"),
                    BlockReason::NothingSelected(_) => (Phase::Blocked, "NothingSelected"),
                    BlockReason::Ambiguous(_) | BlockReason::Immutable => (Phase::Blocked, "Ambiguous"),
                };
                let message = decision.verdict.reason();
                let already = prev.phase == phase
                    && prev
                        .conditions
                        .iter()
                        .any(|c| c.kind == "Terminal" && c.status && c.reason == code && c.message == message);
                if !already {
                    self.events.resource("resource_blocked", key, json!({ "reason": code, "message": message }));
                    // An object steward applied lost its ownership tags behind its back: drift.
                    if matches!(reason, BlockReason::NotOwned(_)) && prev.applied.is_some() {
                        self.events.resource(
                            "drift_detected",
                            key,
                            json!({
                                "field": "(ownership)", "desired": "owned", "actual": "not owned",
                                "cause": "ownership_lost", "action": "blocked", "actor": self.actors.recent(key),
                            }),
                        );
                    }
                }
                status.phase = phase;
                status.set("Terminal", true, code, message);
                Outcome::Failed
            }
            Verdict::Report => {
                status.phase = Phase::Drifted;
                if decision.drift.iter().any(|d| d.drift.field == EXISTENCE) {
                    status.set(
                        "Drifted",
                        true,
                        "NotFound",
                        "the object does not exist (managementPolicy observe: not created)",
                    );
                } else {
                    status.set("Ready", true, "Available", "");
                    status.set("Synced", false, "Observe", drifted_fields(decision));
                }
                Outcome::Drifted
            }
        };
        self.save(key, prev, status).await?;
        Ok(outcome)
    }

    /// The status and event after a successful action.
    fn acted(
        &self,
        key: &ResourceKey,
        version: u64,
        verdict: &Verdict,
        memo: Option<Json>,
        status: &mut Status,
        observed: Option<&Observed>,
    ) {
        if let Some(memo) = &memo {
            status.memo = merge_memo(&status.memo, memo);
        }
        match verdict {
            Verdict::Create => {
                let creates = status.memo.get("creates").and_then(Json::as_u64).unwrap_or(0) + 1;
                status.memo["creates"] = json!(creates);
                self.events.resource("resource_created", key, json!({ "version": version }));
                status.phase = Phase::Creating;
                status.set("Ready", false, "Creating", "create requested");
            }
            Verdict::Adopt => {
                let id = observed.map(|o| o.id.clone()).unwrap_or_default();
                self.events.resource("resource_adopted", key, json!({ "id": id }));
                status.phase = Phase::Adopting;
                status.set("Ready", false, "Adopted", "ownership tags added; reconciled from the next pass");
            }
            Verdict::Delete => {
                status.phase = Phase::Deleting;
                status.set("Ready", false, "Deleting", "deletion requested (deletionPolicy Delete)");
            }
            Verdict::Recreate(state) => {
                self.events.resource("resource_recreating", key, json!({ "state": state }));
                status.phase = Phase::Deleting;
                status.set("Ready", false, "Recreating", format!("{state}: deleted, to be made again"));
            }
            _ => {
                status.phase = Phase::Updating;
                status.set("Ready", true, "Available", "");
                let fields = status.last_drift.iter().map(|d| d.field.clone()).collect::<Vec<_>>().join(", ");
                status.set("Synced", false, "Updating", fields);
            }
        }
    }

    /// Drift events (once per field and value; changes are not drift), corrections, finished
    /// changes, and the status's drift record.
    fn record_drift(
        &self,
        adapter: &dyn Adapter,
        key: &ResourceKey,
        prev: &Status,
        decision: &Decision,
        status: &mut Status,
    ) {
        if !decision.compared && decision.drift.is_empty() {
            // Not compared this pass (busy, waiting, blocked): what was recorded stands.
            return;
        }
        for field in corrected_fields(prev, decision).into_iter().filter(|_| decision.compared) {
            let old = prev.last_drift.iter().find(|d| d.field == field).expect("a corrected field was recorded");
            let mut fields = json!({ "field": old.field, "value": old.desired });
            if old.field == EXISTENCE {
                fields = json!({ "field": old.field, "value": old.desired, "recreated": true });
            }
            self.events.resource("drift_corrected", key, fields);
        }
        if let (Some(pending), true) = (&prev.pending_change, decision.compared) {
            let open = decision.drift.iter().any(|d| d.change && pending.fields.contains(&d.drift.field));
            if !open {
                self.events.resource(
                    "change_applied",
                    key,
                    json!({ "version": pending.version, "fields": pending.fields }),
                );
                status.pending_change = None;
            }
        }
        let mut records = drift_records(adapter, decision, event_action);
        for record in records.iter_mut().filter(|r| r.cause != "change") {
            let earlier =
                prev.last_drift.iter().find(|p| p.field == record.field && p.fingerprint == record.fingerprint);
            // Drift is attributed to whoever an AWS event says touched the object; an occurrence
            // keeps the actor it was first attributed to.
            record.actor = earlier.and_then(|p| p.actor.clone()).or_else(|| self.actors.recent(key));
            if earlier.is_some() || record.action == "ignored" {
                continue;
            }
            let mut fields = json!({
                "field": record.field, "desired": record.desired, "actual": record.actual,
                "action": record.action, "cause": record.cause,
            });
            if let (Some(want), Some(have)) = (record.desired.as_array(), record.actual.as_array()) {
                fields["added"] = json!(have.iter().filter(|v| !want.contains(v)).collect::<Vec<_>>());
                fields["removed"] = json!(want.iter().filter(|v| !have.contains(v)).collect::<Vec<_>>());
            }
            if let Some(actor) = &record.actor {
                fields["actor"] = actor.clone();
                status.last_drift_actor = Some(actor.clone());
            }
            self.events.resource("drift_detected", key, fields);
        }
        if records.iter().any(|r| r.action != "ignored") {
            status.set("Drifted", true, "Drift", drifted_fields(decision));
        }
        status.last_drift = records;
    }

    /// `change_started`, once per desired-state version and set of fields steward carries out.
    fn start_change(&self, adapter: &dyn Adapter, item: &Item<'_>, decision: &Decision, status: &mut Status) {
        let r = item.r;
        let created = decision.verdict == Verdict::Create && decision.drift.is_empty();
        let changed: Vec<&decide::FieldDrift> = decision.drift.iter().filter(|d| d.change).collect();
        if changed.is_empty() && !created {
            return;
        }
        let fields: Vec<String> =
            if created { vec![EXISTENCE.to_string()] } else { changed.iter().map(|d| d.drift.field.clone()).collect() };
        let pending = PendingChange { version: r.version, fields: fields.clone() };
        if item.prev.pending_change.as_ref() == Some(&pending) {
            return;
        }
        let show = |field: &str, v: &Json| if adapter.sensitive(field) { json!("(sensitive)") } else { v.clone() };
        let details: Vec<Json> = changed
            .iter()
            .map(|d| json!({ "field": d.drift.field, "from": show(&d.drift.field, &d.drift.actual), "to": show(&d.drift.field, &d.drift.desired) }))
            .collect();
        self.events.resource(
            "change_started",
            &r.manifest.key,
            json!({
                "version": r.version, "author": r.updated_by, "message": r.message,
                "create": created, "fields": details,
            }),
        );
        status.pending_change = Some(pending);
    }

    /// An observation or selector lookup failed: a real pass backs off; a plan says so.
    async fn observe_failed(
        &self,
        r: &StoredResource,
        prev: &Status,
        e: &ReconcileError,
        pass: &mut PassState,
    ) -> Result<()> {
        let key = &r.manifest.key;
        if pass.plan_only {
            pass.report.plan.push(PlanEntry {
                stack: key.stack.clone(),
                kind: key.kind.to_string(),
                name: key.name.clone(),
                verdict: "error".into(),
                paused: false,
                differs: true,
                reason: format!("cannot read AWS: {e}"),
                waiting_for: Vec::new(),
                drift: Vec::new(),
                replacement_consent: None,
            });
            return Ok(());
        }
        let outcome = self.fail(r, observed_status(prev, r.version), prev, e).await?;
        pass.count(&key.stack, outcome);
        Ok(())
    }

    /// Records a failed action: backoff grows, the error is classified, an event is emitted.
    async fn fail(&self, r: &StoredResource, mut status: Status, prev: &Status, e: &ReconcileError) -> Result<Outcome> {
        let key = &r.manifest.key;
        self.note_throttling(key.kind, e);
        if e.is_code(UNKNOWN_NETWORK_IDS) {
            // A subnet, security group, route table or VPC that a selector resolved to is gone.
            self.lookups.forget().await;
        }
        let attempt = prev.consecutive_failures + 1;
        let delay = match e.class() {
            ErrorClass::Terminal => Duration::from_secs(self.resync_of(r).await),
            _ => self.backoff.delay(attempt),
        };
        let next = chrono::Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
        status.consecutive_failures = attempt;
        status.next_attempt_at = Some(next.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        status.last_error = Some(e.to_string());
        status.phase = if e.class() == ErrorClass::Terminal { Phase::Terminal } else { Phase::Failed };
        if e.class() == ErrorClass::Terminal {
            status.set("Terminal", true, e.code().unwrap_or("Error"), e.to_string());
        }
        status.set("Synced", false, "Error", e.to_string());
        self.events.resource(
            "reconcile_failed",
            key,
            json!({
                "operation": e.operation(), "errorCode": e.code(), "errorClass": e.class(), "message": e.message(),
                "attempt": attempt, "backoffMs": delay.as_millis() as u64, "nextAttemptAt": status.next_attempt_at,
            }),
        );
        self.save(key, prev, status).await?;
        Ok(Outcome::Failed)
    }

    async fn resync_of(&self, r: &StoredResource) -> u64 {
        let stack = ResourceKey::new(&r.manifest.key.stack, Kind::Stack, &r.manifest.key.stack);
        let spec = self.store.resource(&stack).await.ok().flatten().map(|s| s.manifest.spec);
        spec.map_or(60, |s| resync_secs(&s))
    }

    /// Writes the status unless only the observation time changed: a steady pass writes nothing
    /// (`status` learns the time of the last pass from the controller's heartbeat).
    async fn save(&self, key: &ResourceKey, prev: &Status, status: Status) -> Result<()> {
        let (from, to) = (prev.state_word(), status.state_word());
        if from != to {
            let message = status.conditions.iter().find(|c| c.kind == "Ready" && !c.message.is_empty());
            let message = message.map(|c| c.message.clone()).unwrap_or_default();
            self.events.resource(
                "state_changed",
                key,
                json!({ "from": from, "to": to, "phase": status.phase, "message": message }),
            );
        }
        if !status.same_as(prev) {
            self.store.put_status(key, &status, self.guard.as_ref()).await?;
        }
        Ok(())
    }

    fn throttle_wait(&self, kind: Kind) -> Option<Duration> {
        let until = *self.throttled.lock().unwrap().get(kind.service())?;
        until.checked_duration_since(Instant::now())
    }

    fn note_throttling(&self, kind: Kind, e: &ReconcileError) {
        if e.is_aws_throttling() {
            let hold = self.backoff.base;
            self.throttled.lock().unwrap().insert(kind.service(), Instant::now() + hold);
        }
    }
}

/// An in-place update: tag drift through the kind's `retag`, the other fields through `update`.
async fn update_in_parts(
    adapter: &dyn Adapter,
    cx: &Cx<'_>,
    desired: &Desired,
    observed: &Observed,
    fixable: Vec<super::Drift>,
) -> Result<Option<Json>, ReconcileError> {
    let (tags, other): (Vec<_>, Vec<_>) = fixable.into_iter().partition(|d| super::is_tag_field(&d.field));
    if !tags.is_empty() {
        // Only under tagPolicy exact are keys steward did not declare removed.
        let remove: Vec<String> = match desired.exact_tags {
            true => observed.config["tags"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k.clone())
                .filter(|k| !desired.tags.contains_key(k))
                .collect(),
            false => Vec::new(),
        };
        if let Some(target) = adapter.tagged(observed) {
            kinds::retag(cx, target, &desired.tags, &remove).await?;
        }
    }
    if other.is_empty() {
        return Ok(None);
    }
    adapter.update(cx, desired, observed, &other).await.map(Some)
}

/// The action word of a field in `drift_detected` events (a contract in the README).
fn event_action(action: FieldAction) -> String {
    match action {
        FieldAction::Ignored => "ignored".into(),
        FieldAction::Deferred => "deferred".into(),
        FieldAction::Update | FieldAction::Replace => "correcting".into(),
        FieldAction::Report => "reported".into(),
        FieldAction::Immutable => "reported (immutable: set allowReplacement to replace the object)".into(),
    }
}

/// The decision's drift as status and plan records, secrets shown as `(sensitive)`.
fn drift_records(
    adapter: &dyn Adapter,
    decision: &Decision,
    action: impl Fn(FieldAction) -> String,
) -> Vec<DriftRecord> {
    let show = |field: &str, v: &Json| if adapter.sensitive(field) { json!("(sensitive)") } else { v.clone() };
    decision
        .drift
        .iter()
        .map(|f| DriftRecord {
            field: f.drift.field.clone(),
            desired: show(&f.drift.field, &f.drift.desired),
            actual: show(&f.drift.field, &f.drift.actual),
            action: action(f.action),
            cause: match (f.change, f.drift.field.as_str()) {
                (true, _) => "change".into(),
                (false, EXISTENCE) if f.action != FieldAction::Report => "deleted".into(),
                (false, EXISTENCE) => "missing".into(),
                (false, _) => "modified".into(),
            },
            fingerprint: decide::fingerprint(&f.drift.actual),
            actor: None,
        })
        .collect()
}

/// Drift fields that were being corrected last pass and no longer differ (finished changes are
/// `change_applied`, not corrections).
fn corrected_fields(prev: &Status, decision: &Decision) -> Vec<String> {
    prev.last_drift
        .iter()
        .filter(|old| old.action == "correcting" && old.cause != "change")
        .filter(|old| !decision.drift.iter().any(|d| d.drift.field == old.field))
        .map(|old| old.field.clone())
        .collect()
}

fn drifted_fields(decision: &Decision) -> String {
    let fields = decision.drift.iter().filter(|d| d.action != FieldAction::Ignored);
    fields.map(|d| d.drift.field.as_str()).collect::<Vec<_>>().join(", ")
}

/// The fields that differ but are listed in `ignoreChanges`.
fn ignored_fields(decision: &Decision) -> String {
    let fields = decision.drift.iter().filter(|d| d.action == FieldAction::Ignored);
    fields.map(|d| d.drift.field.as_str()).collect::<Vec<_>>().join(", ")
}

/// The window as the decision sees it: None when there is none or it is open now.
fn closed_window(window: Option<&HealWindow>, now: chrono::DateTime<chrono::Utc>) -> Option<decide::ClosedWindow> {
    let w = window.filter(|w| !w.is_open(now))?;
    let opens_at = w.next_open(now).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    Some(decide::ClosedWindow {
        window: w.describe(),
        opens_at: opens_at.unwrap_or_else(|| "never".into()),
        missing_waits: w.missing_waits,
        changes_wait: w.changes_wait,
    })
}

/// The consent `steward approve` gives for replacing this resource's object for this drift.
fn replacement_consent(item: &Item, decision: &Decision, observed: Option<&Observed>) -> Option<String> {
    let creates = item.prev.memo.get("creates").and_then(Json::as_u64).unwrap_or(0);
    observed.and_then(|o| decide::replacement_fingerprint(decision, &format!("{} #{creates}", o.id)))
}

fn plan_entry(adapter: &dyn Adapter, key: &ResourceKey, decision: &Decision) -> PlanEntry {
    let verdict = &decision.verdict;
    PlanEntry {
        replacement_consent: None,
        stack: key.stack.clone(),
        kind: key.kind.to_string(),
        name: key.name.clone(),
        verdict: verdict.word().into(),
        paused: matches!(verdict, Verdict::Paused(_)),
        differs: verdict.differs(),
        reason: verdict.reason(),
        waiting_for: verdict.waiting_for().iter().map(ResourceKey::short).collect(),
        drift: drift_records(adapter, decision, |a| a.as_str().into()),
    }
}

/// The desired view as recorded for "last applied": secret fields only as fingerprints.
fn applied_view(adapter: &dyn Adapter, desired: &Desired) -> Json {
    let mut view = adapter.desired_view(desired);
    if let Json::Object(fields) = &mut view {
        for (field, value) in fields.iter_mut() {
            if adapter.sensitive(field) {
                *value = json!(decide::fingerprint(value));
            }
        }
    }
    view
}

/// The previous memo with the fields an adapter returned laid over it.
fn merge_memo(previous: &Json, new: &Json) -> Json {
    let mut merged = if previous.is_object() { previous.clone() } else { json!({}) };
    for (k, v) in new.as_object().into_iter().flatten() {
        merged[k] = v.clone();
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Source;

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn resource(version: u64) -> StoredResource {
        StoredResource {
            manifest: Manifest {
                key: ResourceKey::new("s", Kind::EcsService, "w"),
                spec: json!({}),
                source: Source { file: "f.yaml".into(), line: 1 },
            },
            version,
            generation: 1,
            deleted: false,
            paused: false,
            approved_replacement: None,
            updated_by: "t".into(),
            updated_at: "t".into(),
            message: None,
        }
    }

    fn status(phase: Phase) -> Status {
        Status { phase, observed_generation: 1, ..Status::default() }
    }

    #[test]
    fn a_timers_pass_leaves_alone_only_settled_resources_that_are_not_due() {
        let r = resource(1);
        let now = at("2026-12-01T10:00:30Z");
        let last = Some(at("2026-12-01T10:00:25Z"));
        let own = ("10s", true);
        let stack = ("60s", false);
        // Its own 10 s resync: not due 5 s after the last look, due again at 10:00:35.
        assert_eq!(timing(&r, &status(Phase::Ready), own, None, last, now), (true, Some(at("2026-12-01T10:00:35Z"))));
        assert!(!timing(&r, &status(Phase::Ready), own, None, Some(at("2026-12-01T10:00:19Z")), now).0);
        // The stack's resync has jitter: a fifth of it early still counts as due.
        assert!(!timing(&r, &status(Phase::Ready), stack, None, Some(at("2026-12-01T09:59:40Z")), now).0);
        assert!(timing(&r, &status(Phase::Ready), stack, None, Some(at("2026-12-01T09:59:55Z")), now).0);
        assert_eq!(timing(&r, &status(Phase::Ready), stack, None, last, now).1, None, "no wake-up of its own");
        // Never looked at by this process, busy, failed, paused or behind its desired version: looked at.
        assert!(!timing(&r, &status(Phase::Ready), own, None, None, now).0);
        for phase in [Phase::Busy, Phase::Failed, Phase::Paused, Phase::Waiting, Phase::Drifted] {
            assert!(!timing(&r, &status(phase), own, None, last, now).0, "{phase}");
        }
        let backing_off = Status { next_attempt_at: Some("2026-12-01T10:01:00Z".into()), ..status(Phase::Ready) };
        assert!(!timing(&r, &backing_off, own, None, last, now).0);
        assert!(!timing(&resource(2), &status(Phase::Ready), own, None, last, now).0);
        // Deferred drift waits while its window is shut and is due once it opens.
        let shut = HealWindow::from_spec(&json!({"start": "11:00", "end": "12:00"})).unwrap();
        let open = HealWindow::from_spec(&json!({"start": "10:00", "end": "11:00"})).unwrap();
        assert!(timing(&r, &status(Phase::Deferred), own, Some(&shut), last, now).0);
        assert!(!timing(&r, &status(Phase::Deferred), own, Some(&open), last, now).0);
    }
}
