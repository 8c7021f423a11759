//! What the controller records per resource: phase, conditions, outputs, last drift, backoff
//! figures. Stored as JSON in the `STATUS#Kind#name` item; it never holds a secret. A leaf module:
//! the store reads and writes it, the engine fills it in.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// The six conditions every status lists (a contract: docs/controller.md#status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConditionType {
    Ready,
    Synced,
    Drifted,
    Paused,
    Terminal,
    WaitingForDependency,
}

impl ConditionType {
    pub const ALL: [ConditionType; 6] = [
        ConditionType::Ready,
        ConditionType::Synced,
        ConditionType::Drifted,
        ConditionType::Paused,
        ConditionType::Terminal,
        ConditionType::WaitingForDependency,
    ];
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub kind: ConditionType,
    pub status: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// What steward does about a drifted field, as `drift_detected` events and statuses say it
/// (a contract: docs/alerts.md). `diff --live` says it in the decision's own words instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DriftAction {
    #[serde(rename = "correcting")]
    Correcting,
    /// Outside the heal window: healed once it opens.
    #[serde(rename = "deferred")]
    Deferred,
    /// `managementPolicy: observe`.
    #[serde(rename = "reported")]
    Reported,
    #[serde(rename = "reported (immutable: set allowReplacement to replace the object)")]
    ReportedImmutable,
    /// Listed in `ignoreChanges`: shown, never drift.
    #[serde(rename = "ignored")]
    Ignored,
    /// The resource is paused.
    #[serde(rename = "paused")]
    Paused,
    /// The object lost its ownership tags: nothing is changed.
    #[serde(rename = "blocked")]
    Blocked,
}

/// Why a field differs (a contract: docs/alerts.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftCause {
    /// Statuses written before causes existed.
    #[default]
    #[serde(rename = "")]
    Unrecorded,
    /// The desired state changed since steward last applied it: not drift.
    Change,
    /// The live object was changed.
    Modified,
    /// An object steward applied is gone.
    Deleted,
    /// An observe-only object does not exist.
    Missing,
    /// The object lost its ownership tags.
    OwnershipLost,
}

impl DriftCause {
    pub fn is_unrecorded(&self) -> bool {
        *self == DriftCause::Unrecorded
    }
}

/// How much a drift matters (a contract: docs/alerts.md): `critical` for security-relevant drift
/// (a rule that opens a group to the world…), which is healed at once even while a heal window
/// is shut.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    #[default]
    Normal,
    Critical,
}

impl Severity {
    pub fn of(critical: bool) -> Self {
        if critical { Severity::Critical } else { Severity::Normal }
    }

    pub fn is_normal(&self) -> bool {
        *self == Severity::Normal
    }
}

/// One differing field: `A` is the action's vocabulary (`DriftAction` in statuses and events,
/// the decision's own in `diff --live`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftRecord<A = DriftAction> {
    pub field: String,
    pub desired: Json,
    pub actual: Json,
    pub action: A,
    /// `change` (the desired state changed since it was last applied) or the cause of a drift.
    #[serde(default, skip_serializing_if = "DriftCause::is_unrecorded")]
    pub cause: DriftCause,
    /// A fingerprint of the actual value (never the value itself): one event per occurrence.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
    /// Who made the change, from an AWS event (principal ARN and type, session, source IP,
    /// user agent, event name, time and id), when one named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Json>,
    #[serde(default, skip_serializing_if = "Severity::is_normal")]
    pub severity: Severity,
}

/// What steward last applied: the desired view at the last successful apply or clean
/// observation (secrets only as fingerprints), and the desired-state version it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    pub version: u64,
    pub view: Json,
}

/// A desired-state change steward started to carry out and has not yet seen done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingChange {
    pub version: u64,
    pub fields: Vec<String>,
}

/// One word for people, the first column of `steward status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Not reconciled yet (statuses written before phases were typed said "").
    #[default]
    #[serde(alias = "")]
    Pending,
    Ready,
    Creating,
    Updating,
    Adopting,
    Deleting,
    Deleted,
    /// Removed from the desired state; the AWS object is kept (Retain, not owned, observe-only).
    Retained,
    /// Waiting for a dependency, its outputs, or a throttling hold.
    Waiting,
    /// AWS is busy with the object (creating, modifying, OPERATION_IN_PROGRESS).
    Busy,
    Paused,
    /// Drift that steward reports but does not fix (observe-only, immutable fields).
    Drifted,
    /// Drift found outside the heal window: reported, healed once the window opens.
    Deferred,
    /// The last action failed; retried after a backoff.
    Failed,
    /// Retrying cannot help (an object in a failed state, a terminal AWS error).
    Terminal,
    /// An object of this name exists without steward's ownership tags.
    NotOwned,
    /// The resource cannot be resolved (a selector matching nothing or more than one object).
    Blocked,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Ready => "Ready",
            Phase::Creating => "Creating",
            Phase::Updating => "Updating",
            Phase::Adopting => "Adopting",
            Phase::Deleting => "Deleting",
            Phase::Deleted => "Deleted",
            Phase::Retained => "Retained",
            Phase::Waiting => "Waiting",
            Phase::Busy => "Busy",
            Phase::Paused => "Paused",
            Phase::Drifted => "Drifted",
            Phase::Deferred => "Deferred",
            Phase::Failed => "Failed",
            Phase::Terminal => "Terminal",
            Phase::NotOwned => "NotOwned",
            Phase::Blocked => "Blocked",
        }
    }

    /// Nothing left to do for it: what `reconcile --wait` accepts as the end.
    pub fn is_settled(self) -> bool {
        matches!(self, Phase::Ready | Phase::Deleted | Phase::Retained | Phase::Paused)
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    #[serde(default)]
    pub phase: Phase,
    pub conditions: Vec<Condition>,
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
    /// The desired-state version this status was computed from.
    #[serde(default)]
    pub observed_generation: u64,
    #[serde(default)]
    pub last_observed_at: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_drift: Vec<DriftRecord>,
    #[serde(default)]
    pub consecutive_failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Who made the last drift, as an AWS event named them (`DriftRecord::actor`); kept after
    /// the drift is healed, until a later drift names someone else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_drift_actor: Option<Json>,
    /// The asynchronous failure (`AsyncFailure::mark`) already counted in `consecutive_failures`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted_failure: Option<String>,
    /// Facts a kind keeps between passes (never secrets): the SSM parameter version a password
    /// was set from, the task definition revision last registered.
    #[serde(default, skip_serializing_if = "Json::is_null")]
    pub memo: Json,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<Applied>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_change: Option<PendingChange>,
}

/// The message every `NotOwned` status and `blocked` verdict carries: whose the object is, when
/// another steward resource keeps it, and what to do.
pub fn not_owned_message(id: &str, owner: Option<&str>) -> String {
    match owner {
        Some(owner) => format!(
            "{id} is kept by steward's {owner} (its ownership tags); it is never modified from here: one object cannot be kept by two resources, so remove one of them or point this one at another object"
        ),
        None => format!(
            "{id} exists without steward's ownership tags; it is never modified (set adopt: true to take it over, or remove it)"
        ),
    }
}

impl Status {
    pub fn condition(&self, kind: ConditionType) -> bool {
        self.conditions.iter().any(|c| c.kind == kind && c.status)
    }

    /// The condition of this type, if it is true.
    pub fn true_condition(&self, kind: ConditionType) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.kind == kind && c.status)
    }

    pub fn set(&mut self, kind: ConditionType, status: bool, reason: &str, message: impl Into<String>) {
        let message = message.into();
        match self.conditions.iter_mut().find(|c| c.kind == kind) {
            Some(c) => {
                c.status = status;
                c.reason = reason.to_string();
                c.message = message;
            }
            None => self.conditions.push(Condition { kind, status, reason: reason.to_string(), message }),
        }
    }

    /// Starts every condition from false, so a status always lists all six.
    pub fn fresh(previous: &Status) -> Status {
        let mut s = Status {
            outputs: previous.outputs.clone(),
            consecutive_failures: previous.consecutive_failures,
            next_attempt_at: previous.next_attempt_at.clone(),
            last_error: previous.last_error.clone(),
            counted_failure: previous.counted_failure.clone(),
            last_drift_actor: previous.last_drift_actor.clone(),
            last_drift: previous.last_drift.clone(),
            memo: previous.memo.clone(),
            applied: previous.applied.clone(),
            pending_change: previous.pending_change.clone(),
            ..Status::default()
        };
        for kind in ConditionType::ALL {
            s.set(kind, false, "", "");
        }
        s
    }

    /// After a successful action or a clean observation: no failure is pending.
    pub fn clear_failures(&mut self) {
        self.consecutive_failures = 0;
        self.next_attempt_at = None;
        self.last_error = None;
        self.counted_failure = None;
    }

    /// What the resource is doing, in one word for people: AWS's own state while it is busy
    /// (`creating`, `OPERATION_IN_PROGRESS`, `PENDING_CERTIFICATE_DNS_VALIDATION`), else the phase.
    pub fn state_word(&self) -> String {
        let busy = self.conditions.iter().find(|c| c.kind == ConditionType::Ready && !c.status && c.reason == "Busy");
        match (self.phase, busy) {
            (Phase::Busy, Some(c)) => c.message.split(':').next().unwrap_or_default().to_string(),
            (phase, _) => phase.to_string().to_lowercase(),
        }
    }

    /// AWS accepted a call. After an asynchronous failure the count stays until the object is
    /// ready and in sync, so that an object failing again and again backs off longer each time.
    pub fn call_accepted(&mut self) {
        match self.counted_failure {
            Some(_) => self.next_attempt_at = None,
            None => self.clear_failures(),
        }
    }

    /// True when nothing but the observation time differs: such a status need not be rewritten.
    pub fn same_as(&self, other: &Status) -> bool {
        let strip = |s: &Status| Status { last_observed_at: String::new(), ..s.clone() };
        strip(self) == strip(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_are_set_and_compared() {
        let mut s = Status::fresh(&Status::default());
        assert_eq!(s.conditions.len(), 6);
        s.set(ConditionType::Ready, true, "Available", "");
        assert!(s.condition(ConditionType::Ready));
        let mut later = s.clone();
        later.last_observed_at = "2026-11-26T00:00:00Z".into();
        assert!(s.same_as(&later));
        later.set(ConditionType::Drifted, true, "Drift", "spec.nodeType");
        assert!(!s.same_as(&later));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["conditions"][0]["type"], "Ready");
        assert_eq!(json["phase"], "Pending");
        let old: Status = serde_json::from_value(serde_json::json!({ "phase": "", "conditions": [] })).unwrap();
        assert_eq!(old.phase, Phase::Pending);
    }
}
