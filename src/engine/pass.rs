//! One reconcile pass: read the stacks' desired state, walk the reference graph level by level
//! (one observe call per kind and region in each level), and take every resource through the
//! stages: schedule, resolve, facts and decide, act, record. This file only wires them.

use super::act::{Acted, act};
use super::decide::{Decision, Resolution, Verdict};
use super::events::PassCompleted;
use super::facts::{self, Item, applied_view};
use super::known::Known;
use super::record::{self, Clock, Record, Recorded};
use super::report::{Outcome, PassOptions, PassReport, PlanEntry};
use super::resolve::{UNKNOWN_NETWORK_IDS, Unresolved};
use super::runtime::Engine;
use super::schedule::{Resync, timing};
use super::walk::{Loaded, levels, load, named_by, scope_of, wanted};
use crate::aws::{CallCounter, is_mutating};
use crate::kinds;
use crate::model::heal_window;
use crate::model::{Adapter, Cx, Kind, Observed, ReconcileError, ResourceKey};
use crate::store::StoredResource;
use anyhow::Result;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// How long a tag kept for ownership may be used at most, whatever the resync.
const TAG_CACHE_LIMIT: Duration = Duration::from_secs(3600);

/// What stays the same for every resource of one pass.
struct PassState<'a> {
    options: &'a PassOptions,
    loaded: &'a Loaded,
    known: Known,
    report: PassReport,
    started: Instant,
    /// Cached tags older than this are fetched again (one resync of the stacks passed).
    tags_fresh_since: Instant,
    /// With one resource asked for: it and what it references (transitively).
    scope: Option<BTreeSet<ResourceKey>>,
}

impl PassState<'_> {
    fn wanted(&self, r: &StoredResource) -> bool {
        wanted(self.options, r)
    }

    fn in_scope(&self, r: &StoredResource) -> bool {
        r.manifest.key.kind == Kind::Stack || self.scope.as_ref().is_none_or(|s| s.contains(&r.manifest.key))
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
        let loaded = load(&self.store, options).await?;
        let resync = loaded
            .stored
            .iter()
            .filter(|r| r.manifest.key.kind == Kind::Stack)
            .map(|r| Resync::of(None, r.manifest.spec.get("resync").and_then(Json::as_str)).secs())
            .min()
            .unwrap_or(60);
        // Ownership is never older than one resync: a removed ownership tag is noticed in the next.
        let tag_ttl = Duration::from_secs(resync) * 9 / 10;
        self.cache.expire_tags(started.checked_sub(TAG_CACHE_LIMIT).unwrap_or(started));
        let mut pass = PassState {
            options,
            loaded: &loaded,
            known: Known { lookup_pass: self.lookups.begin_pass().await, ..Known::default() },
            report: PassReport::default(),
            started,
            tags_fresh_since: started.checked_sub(tag_ttl).unwrap_or(started),
            scope: None,
        };
        for (key, status) in &loaded.previous {
            pass.known.outputs.insert(key.clone(), status.outputs.clone());
        }
        pass.scope = scope_of(options, &loaded);
        for level in levels(&loaded.stored) {
            let mut kinds_in_level: Vec<Kind> =
                Kind::ALL.into_iter().filter(|k| level.iter().any(|r| r.manifest.key.kind == *k)).collect();
            if level.iter().any(|r| r.deleted) {
                kinds_in_level.reverse();
            }
            for kind in kinds_in_level {
                let of_kind: Vec<&StoredResource> =
                    level.iter().copied().filter(|r| r.manifest.key.kind == kind && pass.in_scope(r)).collect();
                self.pass_kind(kind, of_kind, &mut pass).await?;
            }
        }
        Ok(self.finish(pass.report, &loaded.stacks, options.plan_only, calls, started))
    }

    /// The pass's counts and calls, and its `pass_completed` event (not for a plan).
    fn finish(
        &self,
        mut report: PassReport,
        stacks: &[String],
        plan_only: bool,
        calls: &CallCounter,
        started: Instant,
    ) -> PassReport {
        report.calls = calls.by_service();
        report.failed_calls = calls.failures_by_service();
        // Changes to AWS objects; steward's own writes (status in DynamoDB, its log events in
        // CloudWatch Logs) are not counted.
        report.mutating_calls = report
            .calls
            .iter()
            .filter(|(service, _)| !["DynamoDB", "CloudWatch Logs"].contains(&service.as_str()))
            .flat_map(|(_, ops)| ops.iter())
            .filter(|(op, _)| is_mutating(op))
            .map(|(_, n)| n)
            .sum();
        report.duration_ms = started.elapsed().as_millis() as u64;
        report.converged = report.unsettled.is_empty();
        if !plan_only {
            self.events.pass_completed(&PassCompleted {
                stacks: stacks.to_vec(),
                resources: report.resources,
                not_due: report.not_due,
                ready: report.ready,
                drifted: report.drifted,
                deferred: report.deferred,
                corrected: report.corrected,
                failed: report.failed,
                waiting: report.waiting,
                busy: report.busy,
                aws_calls: report.calls.clone(),
                aws_calls_failed: report.failed_calls.clone(),
                mutating_calls: report.mutating_calls,
                duration_ms: report.duration_ms,
            });
        }
        report
    }

    /// The resources of one kind in one level: scheduled and resolved one by one, then observed
    /// with one call per region and settled.
    async fn pass_kind(&self, kind: Kind, of_kind: Vec<&StoredResource>, pass: &mut PassState<'_>) -> Result<()> {
        let now = chrono::Utc::now();
        let adapter = kinds::adapter(kind);
        let mut by_region: BTreeMap<String, Vec<Item>> = BTreeMap::new();
        for r in of_kind {
            let key = &r.manifest.key;
            let prev = pass.loaded.previous.get(key).cloned().unwrap_or_default();
            let stack_spec = pass.loaded.stack_spec(&key.stack);
            let resync = Resync::of(
                r.manifest.spec.get("resync").and_then(Json::as_str).or(adapter.default_resync()),
                stack_spec.and_then(|s| s.get("resync")).and_then(Json::as_str),
            );
            let window = (kind != Kind::Stack).then(|| heal_window::effective(&r.manifest.spec, stack_spec)).flatten();
            let last = self.observed_at.lock().unwrap().get(key).copied();
            let (may_skip, own_resync_due) = timing(r.version, &prev, resync, window.as_ref(), last, now);
            // A resource's own resync wakes its stack when it is next due.
            if let Some(next) = own_resync_due {
                pass.report.wake(&key.stack, next);
            }
            if may_skip && kind != Kind::Stack && pass.options.due_only.contains(&key.stack) {
                pass.known.note_unobserved(key, r.deleted, &prev);
                pass.report.not_due += 1;
                pass.report.count(&key.stack, Outcome::of_settled(prev.phase));
                continue;
            }
            let paused = r.paused || pass.loaded.paused_stacks.contains(&key.stack);
            let mut item = Item {
                r,
                desired: None,
                // Set below from what resolution found; a failed resolution never reads it.
                resolution: Resolution::WaitingFor(vec![]),
                prev,
                paused,
                window,
                resync_secs: resync.secs(),
                named_by: if r.deleted { named_by(pass.loaded, &r.manifest.key) } else { Vec::new() },
            };
            match self.resolve(r, pass.loaded, &mut pass.known).await {
                Ok((mut desired, settling)) => {
                    desired.memo = item.prev.memo.clone();
                    match adapter.desired_view(&desired) {
                        Ok(view) => {
                            item.resolution = Resolution::Resolved { settling };
                            let region = desired.region.clone();
                            item.desired = Some((desired, view));
                            by_region.entry(region).or_default().push(item);
                        }
                        Err(e) => self.observe_failed(&item, &e, pass).await?,
                    }
                }
                Err(_) if !pass.wanted(r) && kind != Kind::Stack => {}
                Err(Unresolved::Not(resolution)) => {
                    item.resolution = resolution;
                    self.settle(adapter, None, &item, None, pass).await?;
                }
                Err(Unresolved::Failed(e)) => self.observe_failed(&item, &e, pass).await?,
            }
        }
        for (region, items) in by_region {
            self.observe_and_settle(kind, &region, items, pass).await?;
        }
        Ok(())
    }

    /// One observe call for the resolved resources of a kind in a region, then each one settled.
    async fn observe_and_settle(
        &self,
        kind: Kind,
        region: &str,
        items: Vec<Item<'_>>,
        pass: &mut PassState<'_>,
    ) -> Result<()> {
        let adapter = kinds::adapter(kind);
        let clients = self.aws.region(region);
        let (options, started, resync) = (pass.options, pass.started, pass.tags_fresh_since);
        let fresh = |stacks: &[&str]| options.tags_fresh_since(started, resync, stacks.iter().copied());
        let stacks: Vec<&str> = items.iter().map(|i| i.r.manifest.key.stack.as_str()).collect();
        let cx = self.cx(&clients, stacks.first().copied().unwrap_or_default().into(), fresh(&stacks));
        let desired: Vec<_> = items.iter().filter_map(|i| i.desired.as_ref().map(|(d, _)| d.clone())).collect();
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
            if !pass.wanted(item.r) && kind != Kind::Stack {
                // Observed only for its outputs (a dependency of the one resource asked for).
                pass.known.note_observed(adapter, key, found, item.r.deleted);
                continue;
            }
            match &observed {
                Ok(_) => {
                    let cx = self.cx(&clients, key.stack.clone(), fresh(&[&key.stack]));
                    self.settle(adapter, Some(&cx), &item, found, pass).await?
                }
                Err(e) => self.observe_failed(&item, e, pass).await?,
            }
        }
        Ok(())
    }

    /// Decides one resource and carries the verdict out (or, in a plan, records it).
    async fn settle(
        &self,
        adapter: &dyn Adapter,
        cx: Option<&Cx<'_>>,
        item: &Item<'_>,
        observed: Option<&Observed>,
        pass: &mut PassState<'_>,
    ) -> Result<()> {
        let key = &item.r.manifest.key;
        pass.known.note_observed(adapter, key, observed, item.r.deleted);
        let now = chrono::Utc::now();
        let mut decision = facts::decision(adapter, item, observed, self.throttle_wait(key.kind), now);
        if pass.options.plan_only {
            let mut entry = record::plan_entry(adapter, key, &decision);
            entry.replacement_consent = facts::replacement_consent(&item.prev, &decision, observed);
            pass.report.plan.push(entry);
            return Ok(());
        }
        // Before changing an object, its ownership is read again unless it was read in this pass.
        let rechecked;
        let mut observed = observed;
        if let (Some(cx), Some((d, _)), true) = (
            cx,
            &item.desired,
            matches!(decision.verdict, Verdict::Update | Verdict::Replace | Verdict::Recreate(_) | Verdict::Delete),
        ) {
            let fresh = self.cx(cx.clients, cx.stack.clone(), pass.started);
            match adapter.observe(&fresh, std::slice::from_ref(d)).await {
                Ok(mut found) => {
                    rechecked = found.remove(key);
                    observed = rechecked.as_ref();
                    pass.known.note_observed(adapter, key, observed, item.r.deleted);
                    decision = facts::decision(adapter, item, observed, self.throttle_wait(key.kind), now);
                }
                Err(e) => return self.observe_failed(item, &e, pass).await,
            }
        }
        let acted = match (record::unseen_async_failure(&decision, observed, &item.prev), cx, &item.desired) {
            // An operation AWS accepted failed later: the failure is counted once towards the
            // backoff, and the verdict (make it again, delete again, update again) runs after it.
            (Some(failure), _, _) => Acted::Failed(ReconcileError::AsyncFailure(failure)),
            (None, Some(cx), Some((desired, _))) => {
                let retire = item.r.manifest.management_policy() == "enforce";
                act(adapter, cx, &decision, desired, observed, retire).await
            }
            _ => Acted::Nothing,
        };
        if let Acted::Failed(e) = &acted {
            self.after_failure(key.kind, e).await;
        }
        let recorded = record::record(self.record_input(adapter, item, &decision, observed, acted));
        self.save(item, recorded, pass).await?;
        self.observed_at.lock().unwrap().insert(key.clone(), chrono::Utc::now());
        if let Some(opens) = facts::window_opens(&decision) {
            pass.report.wake(&key.stack, opens);
        }
        if decision.compared && !matches!(decision.verdict, Verdict::Paused(_)) {
            pass.report.corrected += record::corrected(&item.prev, &decision).len();
        }
        Ok(())
    }

    fn record_input<'a>(
        &self,
        adapter: &'a dyn Adapter,
        item: &'a Item<'_>,
        decision: &'a Decision,
        observed: Option<&'a Observed>,
        acted: Acted,
    ) -> Record<'a> {
        Record {
            adapter,
            r: item.r,
            prev: &item.prev,
            decision,
            observed,
            applied_now: item.desired.as_ref().map(|(_, view)| applied_view(adapter, view)),
            actor: self.actors.recent(&item.r.manifest.key),
            acted,
            clock: self.clock(item),
        }
    }

    fn clock(&self, item: &Item) -> Clock {
        Clock { now: chrono::Utc::now(), backoff: self.backoff, resync_secs: item.resync_secs, draw: rand::random() }
    }

    /// What a failed call teaches the engine beyond the resource's own backoff.
    async fn after_failure(&self, kind: Kind, e: &ReconcileError) {
        self.note_throttling(kind, e);
        if e.is_code(UNKNOWN_NETWORK_IDS) {
            // A subnet, security group, route table or VPC that a selector resolved to is gone.
            self.lookups.forget().await;
        }
    }

    /// An observation or selector lookup failed: a real pass backs off; a plan says so.
    async fn observe_failed(&self, item: &Item<'_>, e: &ReconcileError, pass: &mut PassState<'_>) -> Result<()> {
        let key = &item.r.manifest.key;
        if pass.options.plan_only {
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
        self.after_failure(key.kind, e).await;
        let recorded = record::record_failure(item.r, &item.prev, &self.clock(item), e);
        self.save(item, recorded, pass).await
    }

    /// Emits the recorded events, writes the status unless only the observation time changed (a
    /// steady pass writes nothing: `status` learns the time of the last pass from the
    /// controller's heartbeat), and counts the outcome.
    async fn save(&self, item: &Item<'_>, recorded: Recorded, pass: &mut PassState<'_>) -> Result<()> {
        let key = &item.r.manifest.key;
        for event in &recorded.events {
            self.events.resource(key, event);
        }
        let kept: Vec<Json> = recorded.events.iter().filter(|e| e.on_timeline()).map(|e| e.payload(key)).collect();
        if let Err(e) = self.store.append_timeline(key, &kept).await {
            tracing::warn!(resource = %key, error = %e, "the timeline misses this pass's events");
        }
        if !recorded.status.same_as(&item.prev) {
            self.store.put_status(key, &recorded.status, self.guard.as_ref()).await?;
        }
        pass.report.count(&key.stack, recorded.outcome);
        Ok(())
    }
}
