//! The structured events: one JSON line each on stdout (through tracing-subscriber's JSON layer),
//! the alert feed that the daemon also ships to CloudWatch Logs. Names and fields are a contract
//! (docs/alerts.md): each event is one variant here, and its JSON is fixed by a golden test.

use crate::model::{ErrorClass, ResourceKey};
use crate::status::{DriftAction, DriftCause, Phase, Severity};
use serde::Serialize;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Where events go besides the tracing output: the daemon adds CloudWatch Logs here.
pub type Sink = Arc<dyn Fn(&Json) + Send + Sync>;

/// Counts of AWS calls by service and operation.
pub type CallCounts = BTreeMap<String, BTreeMap<String, u64>>;

/// One field of a `change_started` event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangedField {
    pub field: String,
    pub from: Json,
    pub to: Json,
}

/// An event about one resource; the feed adds `stack`, `kind` and `name` before its fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all_fields = "camelCase")]
pub enum ResourceEvent {
    DriftDetected {
        field: String,
        desired: Json,
        actual: Json,
        action: DriftAction,
        cause: DriftCause,
        /// For a set of ids: the members that appeared and went.
        #[serde(skip_serializing_if = "Option::is_none")]
        added: Option<Vec<Json>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        removed: Option<Vec<Json>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        actor: Option<Json>,
        /// `critical` for security-relevant drift, else `normal`.
        severity: Severity,
    },
    /// `drift_detected` for an object that lost its ownership tags (`cause: ownership_lost`).
    OwnershipLost {
        actor: Option<Json>,
    },
    DriftCorrected {
        field: String,
        value: Json,
        /// A deleted object was made again.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        recreated: bool,
    },
    ChangeStarted {
        version: u64,
        author: String,
        message: Option<String>,
        create: bool,
        fields: Vec<ChangedField>,
    },
    ChangeApplied {
        version: u64,
        fields: Vec<String>,
    },
    ResourceCreated {
        version: u64,
    },
    ResourceDeleted {
        deletion_policy: String,
    },
    ResourceAdopted {
        id: String,
    },
    ResourceRecreating {
        state: String,
    },
    ResourceBlocked {
        reason: String,
        message: String,
    },
    StateChanged {
        from: String,
        to: String,
        phase: Phase,
        message: String,
    },
    ReconcileFailed {
        operation: String,
        error_code: Option<String>,
        error_class: ErrorClass,
        message: String,
        attempt: u32,
        backoff_ms: u64,
        next_attempt_at: Option<String>,
    },
}

impl ResourceEvent {
    /// The event's name in the feed.
    pub fn name(&self) -> &'static str {
        match self {
            ResourceEvent::DriftDetected { .. } | ResourceEvent::OwnershipLost { .. } => "drift_detected",
            ResourceEvent::DriftCorrected { .. } => "drift_corrected",
            ResourceEvent::ChangeStarted { .. } => "change_started",
            ResourceEvent::ChangeApplied { .. } => "change_applied",
            ResourceEvent::ResourceCreated { .. } => "resource_created",
            ResourceEvent::ResourceDeleted { .. } => "resource_deleted",
            ResourceEvent::ResourceAdopted { .. } => "resource_adopted",
            ResourceEvent::ResourceRecreating { .. } => "resource_recreating",
            ResourceEvent::ResourceBlocked { .. } => "resource_blocked",
            ResourceEvent::StateChanged { .. } => "state_changed",
            ResourceEvent::ReconcileFailed { .. } => "reconcile_failed",
        }
    }

    /// Kept on the drift timeline the console shows (store/timeline.rs): all but the state
    /// changes, which the status already says.
    pub fn on_timeline(&self) -> bool {
        !matches!(self, ResourceEvent::StateChanged { .. })
    }

    /// The event's own fields, in the feed's order.
    pub fn fields(&self) -> Json {
        if let ResourceEvent::OwnershipLost { actor } = self {
            return json!({
                "field": "(ownership)", "desired": "owned", "actual": "not owned",
                "cause": DriftCause::OwnershipLost, "action": DriftAction::Blocked, "actor": actor,
                "severity": Severity::Normal,
            });
        }
        // Externally tagged: the one entry's value holds the fields.
        match serde_json::to_value(self) {
            Ok(Json::Object(tagged)) => tagged.into_iter().next().map(|(_, v)| v).unwrap_or_default(),
            _ => json!({}),
        }
    }

    /// The whole line's payload: stack, kind and name, the fields, then the name.
    pub fn payload(&self, key: &ResourceKey) -> Json {
        let mut fields = json!({ "stack": key.stack, "kind": key.kind.as_str(), "name": key.name });
        if let Json::Object(own) = self.fields() {
            for (k, v) in own {
                fields[k] = v;
            }
        }
        fields["event"] = json!(self.name());
        fields
    }
}

/// The counts of one pass (`pass_completed`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PassCompleted {
    pub stacks: Vec<String>,
    pub resources: usize,
    pub not_due: usize,
    pub ready: usize,
    pub drifted: usize,
    pub deferred: usize,
    pub corrected: usize,
    pub failed: usize,
    pub waiting: usize,
    pub busy: usize,
    pub aws_calls: CallCounts,
    pub aws_calls_failed: CallCounts,
    pub mutating_calls: u64,
    pub duration_ms: u64,
}

/// steward's own store calls failed (`steward run`): the stack is tried again after `backoff_ms`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PassFailed {
    pub stack: String,
    pub message: String,
    pub backoff_ms: u64,
}

#[derive(Clone, Default)]
pub struct Events {
    sinks: Arc<Mutex<Vec<Sink>>>,
}

impl Events {
    pub fn add_sink(&self, sink: Sink) {
        self.sinks.lock().unwrap().push(sink);
    }

    fn emit_payload(&self, payload: Json) {
        // The telemetry formatter prints the payload as the line itself, fields at the top level.
        tracing::info!(target: "steward::events", payload = %payload);
        for sink in self.sinks.lock().unwrap().iter() {
            sink(&payload);
        }
    }

    /// One event about a resource.
    pub fn resource(&self, key: &ResourceKey, event: &ResourceEvent) {
        self.emit_payload(event.payload(key));
    }

    pub fn pass_completed(&self, event: &PassCompleted) {
        self.emit_payload(with_name(event, "pass_completed"));
    }

    pub fn pass_failed(&self, event: &PassFailed) {
        self.emit_payload(with_name(event, "pass_failed"));
    }
}

fn with_name(event: &impl Serialize, name: &str) -> Json {
    let mut payload = serde_json::to_value(event).unwrap_or_default();
    payload["event"] = json!(name);
    payload
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    /// Each event's line as the feed has always written it (docs/alerts.md): names, fields and
    /// their order.
    #[test]
    fn every_event_keeps_its_json_shape() {
        let key = ResourceKey::new("s", Kind::CacheCluster, "redis");
        let line = |e: ResourceEvent| e.payload(&key).to_string();
        let head = r#"{"stack":"s","kind":"CacheCluster","name":"redis","#;
        let cases = [
            (
                ResourceEvent::DriftDetected {
                    field: "securityGroups".into(),
                    desired: json!(["sg-1"]),
                    actual: json!(["sg-1", "sg-2"]),
                    action: DriftAction::Correcting,
                    cause: DriftCause::Modified,
                    added: Some(vec![json!("sg-2")]),
                    removed: Some(vec![]),
                    actor: Some(json!({"principal": "p"})),
                    severity: Severity::Critical,
                },
                r#""field":"securityGroups","desired":["sg-1"],"actual":["sg-1","sg-2"],"action":"correcting","cause":"modified","added":["sg-2"],"removed":[],"actor":{"principal":"p"},"severity":"critical","event":"drift_detected"}"#,
            ),
            (
                ResourceEvent::DriftDetected {
                    field: "nodeType".into(),
                    desired: json!("a"),
                    actual: json!("b"),
                    action: DriftAction::ReportedImmutable,
                    cause: DriftCause::Modified,
                    added: None,
                    removed: None,
                    actor: None,
                    severity: Severity::Normal,
                },
                r#""field":"nodeType","desired":"a","actual":"b","action":"reported (immutable: set allowReplacement to replace the object)","cause":"modified","severity":"normal","event":"drift_detected"}"#,
            ),
            (
                ResourceEvent::OwnershipLost { actor: None },
                r#""field":"(ownership)","desired":"owned","actual":"not owned","cause":"ownership_lost","action":"blocked","actor":null,"severity":"normal","event":"drift_detected"}"#,
            ),
            (
                ResourceEvent::DriftCorrected { field: "size".into(), value: json!(2), recreated: false },
                r#""field":"size","value":2,"event":"drift_corrected"}"#,
            ),
            (
                ResourceEvent::DriftCorrected { field: "(existence)".into(), value: json!("present"), recreated: true },
                r#""field":"(existence)","value":"present","recreated":true,"event":"drift_corrected"}"#,
            ),
            (
                ResourceEvent::ChangeStarted {
                    version: 2,
                    author: "dev".into(),
                    message: None,
                    create: false,
                    fields: vec![ChangedField { field: "size".into(), from: json!(1), to: json!(2) }],
                },
                r#""version":2,"author":"dev","message":null,"create":false,"fields":[{"field":"size","from":1,"to":2}],"event":"change_started"}"#,
            ),
            (
                ResourceEvent::ChangeApplied { version: 2, fields: vec!["size".into()] },
                r#""version":2,"fields":["size"],"event":"change_applied"}"#,
            ),
            (ResourceEvent::ResourceCreated { version: 2 }, r#""version":2,"event":"resource_created"}"#),
            (
                ResourceEvent::ResourceDeleted { deletion_policy: "Delete".into() },
                r#""deletionPolicy":"Delete","event":"resource_deleted"}"#,
            ),
            (ResourceEvent::ResourceAdopted { id: "redis".into() }, r#""id":"redis","event":"resource_adopted"}"#),
            (
                ResourceEvent::ResourceRecreating { state: "create-failed".into() },
                r#""state":"create-failed","event":"resource_recreating"}"#,
            ),
            (
                ResourceEvent::ResourceBlocked { reason: "NotOwned".into(), message: "m".into() },
                r#""reason":"NotOwned","message":"m","event":"resource_blocked"}"#,
            ),
            (
                ResourceEvent::StateChanged {
                    from: "pending".into(),
                    to: "ready".into(),
                    phase: Phase::Ready,
                    message: String::new(),
                },
                r#""from":"pending","to":"ready","phase":"Ready","message":"","event":"state_changed"}"#,
            ),
            (
                ResourceEvent::ReconcileFailed {
                    operation: "CreateCacheCluster".into(),
                    error_code: Some("InternalFailure".into()),
                    error_class: ErrorClass::Transient,
                    message: "m".into(),
                    attempt: 1,
                    backoff_ms: 250,
                    next_attempt_at: Some("2026-12-05T10:00:00.250Z".into()),
                },
                r#""operation":"CreateCacheCluster","errorCode":"InternalFailure","errorClass":"transient","message":"m","attempt":1,"backoffMs":250,"nextAttemptAt":"2026-12-05T10:00:00.250Z","event":"reconcile_failed"}"#,
            ),
        ];
        for (event, rest) in cases {
            assert_eq!(line(event), format!("{head}{rest}"));
        }
        let completed = PassCompleted {
            stacks: vec!["s".into()],
            resources: 3,
            not_due: 1,
            ready: 2,
            drifted: 1,
            deferred: 0,
            corrected: 1,
            failed: 0,
            waiting: 0,
            busy: 0,
            aws_calls: BTreeMap::from([("ECS".into(), BTreeMap::from([("DescribeServices".into(), 1)]))]),
            aws_calls_failed: BTreeMap::new(),
            mutating_calls: 0,
            duration_ms: 12,
        };
        assert_eq!(
            with_name(&completed, "pass_completed").to_string(),
            r#"{"stacks":["s"],"resources":3,"notDue":1,"ready":2,"drifted":1,"deferred":0,"corrected":1,"failed":0,"waiting":0,"busy":0,"awsCalls":{"ECS":{"DescribeServices":1}},"awsCallsFailed":{},"mutatingCalls":0,"durationMs":12,"event":"pass_completed"}"#
        );
        let failed = PassFailed { stack: "s".into(), message: "m".into(), backoff_ms: 5000 };
        assert_eq!(
            with_name(&failed, "pass_failed").to_string(),
            r#"{"stack":"s","message":"m","backoffMs":5000,"event":"pass_failed"}"#
        );
    }
}
