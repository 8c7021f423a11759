//! The record stage: the previous status, the decision and what the act stage did become the new
//! status and the events to emit. Pure: no I/O, no clock, no randomness (all come in `Record`).

use super::act::Acted;
use super::backoff::BackoffPolicy;
use super::decide::{self, BlockReason, Decision, EXISTENCE, FieldAction, Hold, KeepReason, Verdict, WaitReason};
use super::events::{ChangedField, ResourceEvent};
use super::facts::{observed_status, shown};
use super::failure;
use super::report::{Outcome, PlanEntry};
use crate::model::clock::rfc3339;
use crate::model::{Adapter, AsyncFailure, ErrorClass, Observed, ReconcileError, ResourceKey};
use crate::status::ConditionType as C;
use crate::status::{Applied, DriftAction, DriftCause, DriftRecord, PendingChange, Phase, Severity, Status};
use crate::store::StoredResource;
use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};

/// Everything the record stage reads.
pub struct Record<'a> {
    pub adapter: &'a dyn Adapter,
    pub r: &'a StoredResource,
    pub prev: &'a Status,
    pub decision: &'a Decision,
    pub observed: Option<&'a Observed>,
    /// The applied view of the desired state now (None when it could not be resolved).
    pub applied_now: Option<Json>,
    /// Who an AWS event says touched the object lately.
    pub actor: Option<Json>,
    pub acted: Acted,
    pub clock: Clock,
}

/// The time, and what a failure's backoff is computed from.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: DateTime<Utc>,
    pub backoff: BackoffPolicy,
    /// The resource's resync in seconds (a terminal error waits this long).
    pub resync_secs: u64,
    /// The jitter's draw for a backoff (0 to 1).
    pub draw: f64,
}

/// What the record stage produced.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub status: Status,
    pub events: Vec<ResourceEvent>,
    pub outcome: Outcome,
}

/// The asynchronous failure AWS reports for the object that this resource's backoff has not
/// counted yet, if the verdict would act: the act stage is skipped and the failure recorded.
pub fn unseen_async_failure(decision: &Decision, observed: Option<&Observed>, prev: &Status) -> Option<AsyncFailure> {
    let failure = observed.and_then(Observed::async_failure)?;
    (decision.verdict.mutates() && prev.counted_failure.as_deref() != Some(failure.mark.as_str())).then_some(failure)
}

/// The new status and events for one resource.
pub fn record(input: Record) -> Recorded {
    let (r, prev, decision) = (input.r, input.prev, input.decision);
    let mut status = observed_status(prev, r.version, input.clock.now);
    let mut events = Vec::new();
    if let Some(o) = input.observed {
        status.outputs = o.outputs.clone();
    }
    if !matches!(decision.verdict, Verdict::Paused(_)) {
        record_drift(&input, &mut status, &mut events);
    }
    let outcome = match &input.acted {
        Acted::Failed(e) => {
            match e {
                // Known before acting: nothing was started.
                ReconcileError::AsyncFailure(f) => status.counted_failure = Some(f.mark.clone()),
                // The change was started, and its call failed.
                _ => start_change(&input, &mut status, &mut events),
            }
            fail(prev, &input.clock, &mut status, &mut events, e)
        }
        _ => settle(&input, &mut status, &mut events),
    };
    if let Some(changed) = state_changed(prev, &status) {
        events.push(changed);
    }
    Recorded { status, events, outcome }
}

/// A failure before anything was decided (AWS could not be read, a selector lookup failed).
pub fn record_failure(r: &StoredResource, prev: &Status, clock: &Clock, e: &ReconcileError) -> Recorded {
    let mut status = observed_status(prev, r.version, clock.now);
    let mut events = Vec::new();
    let outcome = fail(prev, clock, &mut status, &mut events, e);
    if let Some(changed) = state_changed(prev, &status) {
        events.push(changed);
    }
    Recorded { status, events, outcome }
}

/// The status and events of a verdict whose act (if any) succeeded.
fn settle(input: &Record, status: &mut Status, events: &mut Vec<ResourceEvent>) -> Outcome {
    let (r, prev, decision) = (input.r, input.prev, input.decision);
    let applied_now = || input.applied_now.clone().map(|view| Applied { version: r.version, view });
    match &decision.verdict {
        Verdict::Paused(_) => {
            status.last_drift = drift_records(input.adapter, decision, |_| DriftAction::Paused);
            status.phase = Phase::Paused;
            status.set(C::Paused, true, "Paused", "paused by a person: steward resume to reconcile it again");
            Outcome::Skipped
        }
        Verdict::InSync => {
            status.applied = applied_now();
            status.phase = Phase::Ready;
            status.set(C::Ready, true, "Available", "");
            match ignored_fields(decision) {
                f if f.is_empty() => status.set(C::Synced, true, "InSync", ""),
                f => status.set(C::Synced, true, "InSync", format!("differs where ignoreChanges says to: {f}")),
            }
            status.clear_failures();
            Outcome::Ready
        }
        Verdict::Keep(KeepReason::Gone) => {
            if ![Phase::Deleted, Phase::Retained, Phase::Pending].contains(&prev.phase) {
                let deletion_policy = r.manifest.deletion_policy().to_string();
                events.push(ResourceEvent::ResourceDeleted { deletion_policy });
            }
            status.phase = if prev.phase == Phase::Retained { Phase::Retained } else { Phase::Deleted };
            status.set(C::Synced, true, "Deleted", "removed from the desired state; the AWS object is gone");
            Outcome::Skipped
        }
        Verdict::Keep(_) => {
            status.phase = Phase::Retained;
            let message = decision.verdict.reason().replace("kept", "the AWS object is kept");
            status.set(C::Synced, true, "Retained", message);
            Outcome::Skipped
        }
        verdict if verdict.mutates() => {
            if matches!(verdict, Verdict::Create | Verdict::Update | Verdict::Replace) {
                start_change(input, status, events);
            }
            match verdict {
                Verdict::Create | Verdict::Update => status.applied = applied_now(),
                // The object is being replaced: its absence next pass is steward's own doing,
                // not a deletion behind its back.
                Verdict::Replace | Verdict::Recreate(_) => status.applied = None,
                _ => {}
            }
            let memo = match &input.acted {
                Acted::Done(memo) => memo.as_ref(),
                _ => None,
            };
            acted(input, verdict, memo, status, events);
            status.call_accepted();
            if matches!(verdict, Verdict::Update | Verdict::Replace) { Outcome::Drifted } else { Outcome::Busy }
        }
        Verdict::Wait(reason) => waiting(input, reason, status),
        Verdict::Blocked(reason) => blocked(input, reason, status, events),
        Verdict::Report => {
            status.phase = Phase::Drifted;
            if decision.drift.iter().any(|d| d.drift.field == EXISTENCE) {
                let message = "the object does not exist (managementPolicy observe: not created)";
                status.set(C::Drifted, true, "NotFound", message);
            } else {
                status.set(C::Ready, true, "Available", "");
                status.set(C::Synced, false, "Observe", drifted_fields(decision));
            }
            Outcome::Drifted
        }
        Verdict::Create
        | Verdict::Adopt
        | Verdict::Update
        | Verdict::Replace
        | Verdict::Recreate(_)
        | Verdict::Delete => {
            unreachable!("mutating verdicts are matched above")
        }
    }
}

fn waiting(input: &Record, reason: &WaitReason, status: &mut Status) -> Outcome {
    let (prev, decision) = (input.prev, input.decision);
    match reason {
        WaitReason::Busy(state) => {
            if input.r.deleted {
                status.phase = Phase::Deleting;
                status.set(C::Ready, false, "Busy", format!("waiting for {state} to finish before deleting"));
            } else {
                status.phase = Phase::Busy;
                status.set(C::Ready, false, "Busy", format!("{state}: waiting for AWS to finish"));
            }
            Outcome::Busy
        }
        WaitReason::Dependencies(_) | WaitReason::Outputs(_) | WaitReason::NamedBy(_) => {
            status.phase = Phase::Waiting;
            status.set(C::WaitingForDependency, true, "WaitingForDependency", decision.verdict.reason());
            Outcome::Waiting
        }
        WaitReason::Held { hold: Hold::Backoff { .. }, .. } => {
            // The last attempt failed; its error and backoff stay as they were.
            status.phase = prev.phase;
            if let Some(c) = prev.true_condition(C::Terminal) {
                status.set(C::Terminal, true, &c.reason.clone(), c.message.clone());
            }
            status.set(C::Synced, false, "Error", prev.last_error.clone().unwrap_or_default());
            Outcome::Failed
        }
        WaitReason::Held { hold: Hold::Window(_), .. } => {
            // Found and alerted (`action: deferred`); healed once the window opens.
            status.phase = Phase::Deferred;
            match input.observed {
                Some(_) => status.set(C::Ready, true, "Available", ""),
                None => status.set(C::Ready, false, "Missing", "the object does not exist"),
            }
            let reason = decision.verdict.reason();
            status.set(C::Drifted, true, "Deferred", format!("{}: {reason}", drifted_fields(decision)));
            status.set(C::Synced, false, "Deferred", reason);
            Outcome::Deferred
        }
        WaitReason::Held { hold: Hold::Throttled { .. }, .. } => {
            status.phase = Phase::Waiting;
            status.set(C::Ready, false, "Throttled", decision.verdict.reason());
            Outcome::Busy
        }
    }
}

fn blocked(input: &Record, reason: &BlockReason, status: &mut Status, events: &mut Vec<ResourceEvent>) -> Outcome {
    let (prev, decision) = (input.prev, input.decision);
    if *reason == BlockReason::Immutable {
        status.phase = Phase::Drifted;
        status.set(C::Ready, true, "Available", "");
        status.set(C::Synced, false, "CannotFix", drifted_fields(decision));
        return Outcome::Drifted;
    }
    let (phase, code) = match reason {
        BlockReason::NotOwned { .. } => (Phase::NotOwned, "NotOwned"),
        BlockReason::Failed(_) => (Phase::Failed, "Failed"),
        BlockReason::NothingSelected(_) => (Phase::Blocked, "NothingSelected"),
        BlockReason::Ambiguous(_) | BlockReason::Immutable => (Phase::Blocked, "Ambiguous"),
    };
    let message = decision.verdict.reason();
    let already = prev.phase == phase
        && prev.true_condition(C::Terminal).is_some_and(|c| c.reason == code && c.message == message);
    if !already {
        events.push(ResourceEvent::ResourceBlocked { reason: code.into(), message: message.clone() });
        // An object steward applied lost its ownership tags behind its back: drift.
        if matches!(reason, BlockReason::NotOwned { .. }) && prev.applied.is_some() {
            events.push(ResourceEvent::OwnershipLost { actor: input.actor.clone() });
        }
    }
    status.phase = phase;
    status.set(C::Terminal, true, code, message);
    Outcome::Failed
}

/// Records a failed action: backoff grows, the error is classified, an event is emitted.
fn fail(
    prev: &Status,
    clock: &Clock,
    status: &mut Status,
    events: &mut Vec<ResourceEvent>,
    e: &ReconcileError,
) -> Outcome {
    let retry =
        failure::retry(e.class(), prev.consecutive_failures, clock.resync_secs, &clock.backoff, clock.draw, clock.now);
    status.consecutive_failures = retry.attempt;
    status.next_attempt_at = Some(rfc3339(retry.at));
    status.last_error = Some(e.to_string());
    status.phase = if retry.terminal { Phase::Terminal } else { Phase::Failed };
    if e.class() == ErrorClass::Terminal {
        status.set(C::Terminal, true, e.code().unwrap_or("Error"), e.to_string());
    }
    status.set(C::Synced, false, "Error", e.to_string());
    events.push(ResourceEvent::ReconcileFailed {
        operation: e.operation().to_string(),
        error_code: e.code().map(str::to_string),
        error_class: e.class(),
        message: e.message(),
        attempt: retry.attempt,
        backoff_ms: retry.delay.as_millis() as u64,
        next_attempt_at: status.next_attempt_at.clone(),
    });
    Outcome::Failed
}

/// The status and event after a successful action.
fn acted(input: &Record, verdict: &Verdict, memo: Option<&Json>, status: &mut Status, events: &mut Vec<ResourceEvent>) {
    if let Some(memo) = memo {
        status.memo = merge_memo(&status.memo, memo);
    }
    match verdict {
        Verdict::Create => {
            let creates = status.memo.get("creates").and_then(Json::as_u64).unwrap_or(0) + 1;
            status.memo["creates"] = json!(creates);
            events.push(ResourceEvent::ResourceCreated { version: input.r.version });
            status.phase = Phase::Creating;
            status.set(C::Ready, false, "Creating", "create requested");
        }
        Verdict::Adopt => {
            let id = input.observed.map(|o| o.id.clone()).unwrap_or_default();
            events.push(ResourceEvent::ResourceAdopted { id });
            status.phase = Phase::Adopting;
            status.set(C::Ready, false, "Adopted", "ownership tags added; reconciled from the next pass");
        }
        Verdict::Delete => {
            status.phase = Phase::Deleting;
            status.set(C::Ready, false, "Deleting", "deletion requested (deletionPolicy Delete)");
        }
        Verdict::Recreate(state) => {
            events.push(ResourceEvent::ResourceRecreating { state: state.clone() });
            status.phase = Phase::Deleting;
            status.set(C::Ready, false, "Recreating", format!("{state}: deleted, to be made again"));
        }
        _ => {
            status.phase = Phase::Updating;
            status.set(C::Ready, true, "Available", "");
            let fields = status.last_drift.iter().map(|d| d.field.clone()).collect::<Vec<_>>().join(", ");
            status.set(C::Synced, false, "Updating", fields);
        }
    }
}

/// `change_started`, once per desired-state version and set of fields steward carries out.
fn start_change(input: &Record, status: &mut Status, events: &mut Vec<ResourceEvent>) {
    let (r, decision) = (input.r, input.decision);
    let verdict = decision.verdict.unpaused();
    if !matches!(verdict, Verdict::Create | Verdict::Update | Verdict::Replace) {
        return;
    }
    let created = *verdict == Verdict::Create && decision.drift.is_empty();
    let changed: Vec<&decide::FieldDrift> = decision.drift.iter().filter(|d| d.change).collect();
    if changed.is_empty() && !created {
        return;
    }
    let fields: Vec<String> =
        if created { vec![EXISTENCE.to_string()] } else { changed.iter().map(|d| d.drift.field.clone()).collect() };
    let pending = PendingChange { version: r.version, fields };
    if input.prev.pending_change.as_ref() == Some(&pending) {
        return;
    }
    let details = changed
        .iter()
        .map(|d| ChangedField {
            field: d.drift.field.clone(),
            from: shown(input.adapter, &d.drift.field, &d.drift.actual),
            to: shown(input.adapter, &d.drift.field, &d.drift.desired),
        })
        .collect();
    events.push(ResourceEvent::ChangeStarted {
        version: r.version,
        author: r.updated_by.clone(),
        message: r.message.clone(),
        create: created,
        fields: details,
    });
    status.pending_change = Some(pending);
}

/// Drift events (once per field and value; changes are not drift), corrections, finished
/// changes, and the status's drift record.
fn record_drift(input: &Record, status: &mut Status, events: &mut Vec<ResourceEvent>) {
    let (prev, decision) = (input.prev, input.decision);
    if !decision.compared && decision.drift.is_empty() {
        // Not compared this pass (busy, waiting, blocked): what was recorded stands.
        return;
    }
    if decision.compared {
        for old in corrected(prev, decision) {
            let recreated = old.field == EXISTENCE;
            events.push(ResourceEvent::DriftCorrected {
                field: old.field.clone(),
                value: old.desired.clone(),
                recreated,
            });
        }
    }
    if let (Some(pending), true) = (&prev.pending_change, decision.compared) {
        let open = decision.drift.iter().any(|d| d.change && pending.fields.contains(&d.drift.field));
        if !open {
            events.push(ResourceEvent::ChangeApplied { version: pending.version, fields: pending.fields.clone() });
            status.pending_change = None;
        }
    }
    let mut records = drift_records(input.adapter, decision, event_action);
    for record in records.iter_mut().filter(|r| r.cause != DriftCause::Change) {
        let earlier = prev.last_drift.iter().find(|p| p.field == record.field && p.fingerprint == record.fingerprint);
        // Drift is attributed to whoever an AWS event says touched the object; an occurrence
        // keeps the actor it was first attributed to.
        record.actor = earlier.and_then(|p| p.actor.clone()).or_else(|| input.actor.clone());
        if earlier.is_some() || record.action == DriftAction::Ignored {
            continue;
        }
        let (added, removed) = match (record.desired.as_array(), record.actual.as_array()) {
            (Some(want), Some(have)) => (
                Some(have.iter().filter(|v| !want.contains(v)).cloned().collect()),
                Some(want.iter().filter(|v| !have.contains(v)).cloned().collect()),
            ),
            _ => (None, None),
        };
        if let Some(actor) = &record.actor {
            status.last_drift_actor = Some(actor.clone());
        }
        events.push(ResourceEvent::DriftDetected {
            field: record.field.clone(),
            desired: record.desired.clone(),
            actual: record.actual.clone(),
            action: record.action,
            cause: record.cause,
            added,
            removed,
            actor: record.actor.clone(),
            severity: record.severity,
        });
    }
    if records.iter().any(|r| r.action != DriftAction::Ignored) {
        status.set(C::Drifted, true, "Drift", drifted_fields(decision));
    }
    status.last_drift = records;
}

/// `state_changed`, when what the resource is doing changed.
fn state_changed(prev: &Status, status: &Status) -> Option<ResourceEvent> {
    let (from, to) = (prev.state_word(), status.state_word());
    if from == to {
        return None;
    }
    let message = status.conditions.iter().find(|c| c.kind == C::Ready && !c.message.is_empty());
    let message = message.map(|c| c.message.clone()).unwrap_or_default();
    Some(ResourceEvent::StateChanged { from, to, phase: status.phase, message })
}

/// The action word of a field in `drift_detected` events and statuses.
fn event_action(action: FieldAction) -> DriftAction {
    match action {
        FieldAction::Ignored => DriftAction::Ignored,
        FieldAction::Deferred => DriftAction::Deferred,
        FieldAction::Update | FieldAction::Replace => DriftAction::Correcting,
        FieldAction::Report => DriftAction::Reported,
        FieldAction::Immutable => DriftAction::ReportedImmutable,
    }
}

/// What a plan (`diff --live`) says of one resource.
pub fn plan_entry(adapter: &dyn Adapter, key: &ResourceKey, decision: &Decision) -> PlanEntry {
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
        drift: drift_records(adapter, decision, |a| a),
    }
}

/// The decision's drift as status and plan records, secrets shown as `(sensitive)`.
pub fn drift_records<A>(
    adapter: &dyn Adapter,
    decision: &Decision,
    action: impl Fn(FieldAction) -> A,
) -> Vec<DriftRecord<A>> {
    decision
        .drift
        .iter()
        .map(|f| DriftRecord {
            field: f.drift.field.clone(),
            desired: shown(adapter, &f.drift.field, &f.drift.desired),
            actual: shown(adapter, &f.drift.field, &f.drift.actual),
            action: action(f.action),
            cause: match (f.change, f.drift.field.as_str()) {
                (true, _) => DriftCause::Change,
                (false, EXISTENCE) if f.action != FieldAction::Report => DriftCause::Deleted,
                (false, EXISTENCE) => DriftCause::Missing,
                (false, _) => DriftCause::Modified,
            },
            fingerprint: crate::model::paths::fingerprint(&f.drift.actual),
            actor: None,
            severity: Severity::of(f.drift.critical),
        })
        .collect()
}

/// Drift fields that were being corrected last pass and no longer differ (finished changes are
/// `change_applied`, not corrections).
pub fn corrected<'a>(prev: &'a Status, decision: &Decision) -> Vec<&'a DriftRecord> {
    prev.last_drift
        .iter()
        .filter(|old| old.action == DriftAction::Correcting && old.cause != DriftCause::Change)
        .filter(|old| !decision.drift.iter().any(|d| d.drift.field == old.field))
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

/// The previous memo with the fields an adapter returned laid over it.
fn merge_memo(previous: &Json, new: &Json) -> Json {
    let mut merged = if previous.is_object() { previous.clone() } else { json!({}) };
    for (k, v) in new.as_object().into_iter().flatten() {
        merged[k] = v.clone();
    }
    merged
}
