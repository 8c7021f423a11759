//! The record stage and the failure policy as a table: each row a situation (a verdict and how
//! its act went, or a hold), each assertion the phase, conditions, events, calls and backoff it
//! leads to. A fake kind stands in for AWS, so the table runs in `cargo test --lib`.

use super::act::{Acted, act};
use super::backoff::BackoffPolicy;
use super::decide::{self, ClosedWindow, Facts, Hold, Policy, Resolution};
use super::fake::FakeKind;
use super::record::{Clock, Record, record, unseen_async_failure};
use crate::aws::Aws;
use crate::manifest::{Manifest, Source};
use crate::model::guard::NoGuard;
use crate::model::{
    AwsError, Cache, Cx, Desired, Drift, ErrorClass, FailedOperation, Fix, Kind, ObjectState, Observed, ReconcileError,
    ResourceKey,
};
use crate::status::ConditionType as C;
use crate::status::{Applied, DriftAction, DriftCause, DriftRecord, PendingChange, Phase, Status};
use crate::store::StoredResource;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::time::Instant;

fn key() -> ResourceKey {
    ResourceKey::new("s", Kind::CacheCluster, "redis")
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z").unwrap().to_utc()
}

const ENFORCE: Policy = Policy { enforce: true, retain: false, adopt: false, allow_replacement: false };

/// One situation. Defaults: an owned, ready object whose spec is `{size: 2}` and matches.
struct Case {
    name: &'static str,
    policy: Policy,
    removed: bool,
    paused: bool,
    resolution: Resolution,
    /// None: the object does not exist.
    observed: Option<Observed>,
    /// Fields of the live object that differ from the spec (field, actual).
    live: Vec<(&'static str, Json)>,
    prev: Status,
    hold: Option<Hold>,
    window: Option<ClosedWindow>,
    fails_with: Option<ReconcileError>,
    /// The desired state moved here since it was applied (a change, not drift).
    changed: bool,
}

/// What it must lead to.
struct Expect {
    phase: Phase,
    /// Conditions that are true, with their reason.
    conditions: &'static [(C, &'static str)],
    /// Event names in order, `state_changed` left out.
    events: &'static [&'static str],
    calls: &'static [&'static str],
    /// Failures in a row afterwards, and whether a next attempt is scheduled.
    failures: u32,
    backoff: bool,
}

fn object(owned: bool, state: ObjectState) -> Observed {
    Observed {
        id: "redis".into(),
        owned,
        state,
        config: json!({ "size": 2, "engine": "redis" }),
        outputs: BTreeMap::from([("address".to_string(), "redis.local".to_string())]),
        extra: json!({}),
        failed_operation: None,
    }
}

fn ready_status() -> Status {
    let mut s = Status::fresh(&Status::default());
    s.phase = Phase::Ready;
    s.observed_generation = 1;
    s.set(C::Ready, true, "Available", "");
    s.set(C::Synced, true, "InSync", "");
    s.applied = Some(Applied { version: 1, view: json!({ "size": 2, "engine": "redis" }) });
    s
}

fn case(name: &'static str) -> Case {
    Case {
        name,
        policy: ENFORCE,
        removed: false,
        paused: false,
        resolution: Resolution::Resolved { settling: vec![] },
        observed: Some(object(true, ObjectState::Ready)),
        live: vec![],
        prev: ready_status(),
        hold: None,
        window: None,
        fails_with: None,
        changed: false,
    }
}

fn aws_error(class: ErrorClass, code: &str) -> ReconcileError {
    AwsError { operation: "Call".into(), code: Some(code.into()), message: "no".into(), class }.into()
}

fn expect(phase: Phase, conditions: &'static [(C, &'static str)], events: &'static [&'static str]) -> Expect {
    Expect { phase, conditions, events, calls: &[], failures: 0, backoff: false }
}

impl Expect {
    fn calls(self, calls: &'static [&'static str]) -> Self {
        Expect { calls, ..self }
    }
    fn failed(self, failures: u32) -> Self {
        Expect { failures, backoff: true, ..self }
    }
}

fn window(missing_waits: bool) -> ClosedWindow {
    ClosedWindow {
        window: "Mon 08:00-18:00 UTC".into(),
        opens_at: "2026-12-07T08:00:00Z".into(),
        missing_waits,
        changes_wait: false,
        critical_waits: false,
    }
}

fn resource(removed: bool) -> StoredResource {
    StoredResource {
        manifest: Manifest {
            key: key(),
            spec: json!({ "size": 2, "engine": "redis" }),
            source: Source { file: "f.yaml".into(), line: 1 },
        },
        version: 2,
        generation: 2,
        deleted: removed,
        paused: false,
        approved_replacement: None,
        updated_by: "dev".into(),
        updated_at: "t".into(),
        message: Some("bigger".into()),
    }
}

fn rows() -> Vec<(Case, Expect)> {
    let drifted = |c: Case| Case { live: vec![("size", json!(1))], ..c };
    let failed_prev = || Status {
        phase: Phase::Failed,
        consecutive_failures: 2,
        next_attempt_at: Some("2026-12-05T10:05:00.000Z".into()),
        last_error: Some("Call: InternalFailure: no".into()),
        ..ready_status()
    };
    let correcting = || Status {
        last_drift: vec![DriftRecord {
            field: "size".into(),
            desired: json!(2),
            actual: json!(1),
            action: DriftAction::Correcting,
            cause: DriftCause::Modified,
            fingerprint: "x".into(),
            actor: None,
            severity: Default::default(),
        }],
        ..ready_status()
    };
    let blocked_before = || {
        let mut s = ready_status();
        s.phase = Phase::NotOwned;
        s.set(C::Terminal, true, "NotOwned", crate::status::not_owned_message("redis", None));
        s
    };
    let new_resource = || Status::default();
    let rolled_back = || {
        let mut o = object(true, ObjectState::Ready);
        o.failed_operation = Some(FailedOperation {
            id: "op-1".into(),
            r#type: "UPDATE_SERVICE".into(),
            status: "ROLLBACK_SUCCEEDED".into(),
        });
        o
    };
    use Phase as P;
    vec![
        (case("in sync"), expect(P::Ready, &[(C::Ready, "Available"), (C::Synced, "InSync")], &[])),
        (
            Case { observed: None, prev: new_resource(), ..case("a new resource is created") },
            expect(P::Creating, &[], &["change_started", "resource_created"]).calls(&["create"]),
        ),
        (
            Case {
                observed: None,
                prev: new_resource(),
                fails_with: Some(aws_error(ErrorClass::Transient, "InternalFailure")),
                ..case("create fails: transient")
            },
            expect(P::Failed, &[], &["change_started", "reconcile_failed"]).calls(&["create"]).failed(1),
        ),
        (
            Case {
                observed: None,
                prev: new_resource(),
                fails_with: Some(aws_error(ErrorClass::Throttling, "Throttling")),
                ..case("create fails: throttled")
            },
            expect(P::Failed, &[], &["change_started", "reconcile_failed"]).calls(&["create"]).failed(1),
        ),
        (
            Case {
                observed: None,
                prev: new_resource(),
                fails_with: Some(aws_error(ErrorClass::Terminal, "InvalidParameterValue")),
                ..case("create fails: terminal")
            },
            expect(P::Terminal, &[(C::Terminal, "InvalidParameterValue")], &["change_started", "reconcile_failed"])
                .calls(&["create"])
                .failed(1),
        ),
        (
            Case {
                observed: None,
                fails_with: Some(ReconcileError::from(crate::model::guard::LeaseLost { stack: "s".into() })),
                ..case("the lease is lost before the call")
            },
            expect(P::Failed, &[], &["drift_detected", "reconcile_failed"]).calls(&["create"]).failed(1),
        ),
        (
            Case { observed: None, ..case("deleted behind steward's back: made again") },
            expect(P::Creating, &[(C::Drifted, "Drift")], &["drift_detected", "resource_created"]).calls(&["create"]),
        ),
        (
            drifted(case("drift is corrected in place")),
            expect(P::Updating, &[(C::Ready, "Available"), (C::Drifted, "Drift")], &["drift_detected"])
                .calls(&["update"]),
        ),
        (
            drifted(Case {
                fails_with: Some(aws_error(ErrorClass::Transient, "InvalidStateException")),
                ..case("the update fails")
            }),
            expect(P::Failed, &[(C::Drifted, "Drift")], &["drift_detected", "reconcile_failed"])
                .calls(&["update"])
                .failed(1),
        ),
        (
            drifted(Case {
                fails_with: Some(aws_error(ErrorClass::Terminal, "AccessDenied")),
                ..case("the update is refused")
            }),
            expect(
                P::Terminal,
                &[(C::Drifted, "Drift"), (C::Terminal, "AccessDenied")],
                &["drift_detected", "reconcile_failed"],
            )
            .calls(&["update"])
            .failed(1),
        ),
        (
            drifted(Case { changed: true, ..case("a desired-state change is carried out, not alerted") }),
            expect(P::Updating, &[(C::Ready, "Available"), (C::Drifted, "Drift")], &["change_started"])
                .calls(&["update"]),
        ),
        (
            Case {
                live: vec![("engine", json!("memcached"))],
                policy: Policy { allow_replacement: true, ..ENFORCE },
                ..case("replacement allowed")
            },
            expect(P::Updating, &[(C::Ready, "Available"), (C::Drifted, "Drift")], &["drift_detected"])
                .calls(&["replace"]),
        ),
        (
            Case { live: vec![("engine", json!("memcached"))], ..case("immutable drift without allowReplacement") },
            expect(P::Drifted, &[(C::Ready, "Available"), (C::Drifted, "Drift")], &["drift_detected"]),
        ),
        (
            drifted(Case { policy: Policy { enforce: false, ..ENFORCE }, ..case("observe-only drift is reported") }),
            expect(P::Drifted, &[(C::Ready, "Available"), (C::Drifted, "Drift")], &["drift_detected"]),
        ),
        (
            Case {
                observed: None,
                prev: new_resource(),
                policy: Policy { enforce: false, ..ENFORCE },
                ..case("observe-only and missing")
            },
            expect(P::Drifted, &[(C::Drifted, "NotFound")], &["drift_detected"]),
        ),
        (drifted(Case { paused: true, ..case("paused with drift") }), expect(P::Paused, &[(C::Paused, "Paused")], &[])),
        (
            Case { paused: true, observed: None, ..case("paused and gone") },
            expect(P::Paused, &[(C::Paused, "Paused")], &[]),
        ),
        (
            Case {
                observed: Some(object(false, ObjectState::Ready)),
                prev: new_resource(),
                ..case("an object steward does not own")
            },
            expect(P::NotOwned, &[(C::Terminal, "NotOwned")], &["resource_blocked"]),
        ),
        (
            Case {
                observed: Some(object(false, ObjectState::Ready)),
                prev: blocked_before(),
                ..case("still not owned: no new alert")
            },
            expect(P::NotOwned, &[(C::Terminal, "NotOwned")], &[]),
        ),
        (
            Case {
                observed: Some(object(false, ObjectState::Ready)),
                ..case("ownership lost after steward applied it")
            },
            expect(P::NotOwned, &[(C::Terminal, "NotOwned")], &["resource_blocked", "drift_detected"]),
        ),
        (
            Case {
                observed: Some(object(false, ObjectState::Ready)),
                prev: new_resource(),
                policy: Policy { adopt: true, ..ENFORCE },
                ..case("adopt")
            },
            expect(P::Adopting, &[], &["resource_adopted"]).calls(&["adopt"]),
        ),
        (
            Case {
                observed: Some(object(false, ObjectState::Ready)),
                prev: new_resource(),
                policy: Policy { adopt: true, ..ENFORCE },
                fails_with: Some(aws_error(ErrorClass::Transient, "InternalFailure")),
                ..case("adopt fails")
            },
            expect(P::Failed, &[], &["reconcile_failed"]).calls(&["adopt"]).failed(1),
        ),
        (
            Case { observed: Some(object(true, ObjectState::Busy("modifying".into()))), ..case("AWS is busy") },
            expect(P::Busy, &[], &[]),
        ),
        (
            Case {
                resolution: Resolution::WaitingFor(vec![ResourceKey::new("s", Kind::CacheSubnetGroup, "g")]),
                ..case("waiting for a dependency")
            },
            expect(P::Waiting, &[(C::WaitingForDependency, "WaitingForDependency")], &[]),
        ),
        (
            Case {
                resolution: Resolution::WaitingForOutputs(vec!["CacheCluster/x.address".into()]),
                ..case("waiting for an output")
            },
            expect(P::Waiting, &[(C::WaitingForDependency, "WaitingForDependency")], &[]),
        ),
        (
            Case {
                resolution: Resolution::NothingSelected("no subnet matches".into()),
                ..case("a selector matches nothing")
            },
            expect(P::Blocked, &[(C::Terminal, "NothingSelected")], &["resource_blocked"]),
        ),
        (
            Case { resolution: Resolution::Ambiguous("two subnets match".into()), ..case("a selector matches two") },
            expect(P::Blocked, &[(C::Terminal, "Ambiguous")], &["resource_blocked"]),
        ),
        (
            drifted(Case {
                prev: failed_prev(),
                hold: Some(Hold::Backoff { until: "2026-12-05T10:05:00.000Z".into() }),
                ..case("backing off: the fix waits")
            }),
            Expect { failures: 2, backoff: true, ..expect(P::Failed, &[(C::Drifted, "Drift")], &["drift_detected"]) },
        ),
        (
            drifted(Case { hold: Some(Hold::Throttled { remaining_ms: 1500 }), ..case("throttled: the fix waits") }),
            expect(P::Waiting, &[(C::Drifted, "Drift")], &["drift_detected"]),
        ),
        (
            drifted(Case { window: Some(window(false)), ..case("heal window shut: drift is deferred") }),
            expect(P::Deferred, &[(C::Ready, "Available"), (C::Drifted, "Deferred")], &["drift_detected"]),
        ),
        (
            Case {
                observed: None,
                window: Some(window(false)),
                ..case("heal window shut: a deleted object is made at once")
            },
            expect(P::Creating, &[(C::Drifted, "Drift")], &["drift_detected", "resource_created"]).calls(&["create"]),
        ),
        (
            Case { observed: None, window: Some(window(true)), ..case("heal window shut, missing: window") },
            expect(P::Deferred, &[(C::Drifted, "Deferred")], &["drift_detected"]),
        ),
        (Case { removed: true, ..case("removed: deleted") }, expect(P::Deleting, &[], &[]).calls(&["delete"])),
        (
            Case {
                removed: true,
                fails_with: Some(aws_error(ErrorClass::Transient, "InvalidStateException")),
                ..case("removed: the delete fails")
            },
            expect(P::Failed, &[], &["reconcile_failed"]).calls(&["delete"]).failed(1),
        ),
        (
            Case { removed: true, policy: Policy { retain: true, ..ENFORCE }, ..case("removed: retained") },
            expect(P::Retained, &[(C::Synced, "Retained")], &[]),
        ),
        (
            Case {
                removed: true,
                policy: Policy { enforce: false, ..ENFORCE },
                ..case("removed: observe-only keeps it")
            },
            expect(P::Retained, &[(C::Synced, "Retained")], &[]),
        ),
        (
            Case { removed: true, observed: None, ..case("removed and gone") },
            expect(P::Deleted, &[(C::Synced, "Deleted")], &["resource_deleted"]),
        ),
        (
            Case {
                observed: Some(object(true, ObjectState::Failed("create-failed".into()))),
                ..case("a failed object: the failure counts once")
            },
            expect(P::Failed, &[], &["reconcile_failed"]).failed(1),
        ),
        (
            Case {
                observed: Some(object(true, ObjectState::Failed("create-failed".into()))),
                prev: Status {
                    counted_failure: Some("redis create-failed".into()),
                    consecutive_failures: 1,
                    ..ready_status()
                },
                ..case("a failed object already counted: made again")
            },
            Expect { failures: 1, ..expect(P::Deleting, &[], &["resource_recreating"]).calls(&["delete"]) },
        ),
        (
            Case {
                observed: Some(object(true, ObjectState::Failed("create-failed".into()))),
                policy: Policy { enforce: false, ..ENFORCE },
                ..case("a failed object under observe")
            },
            expect(P::Failed, &[(C::Terminal, "Failed")], &["resource_blocked"]),
        ),
        (
            drifted(Case {
                observed: Some(rolled_back()),
                ..case("a rolled-back update counts once, then is retried")
            }),
            expect(P::Failed, &[(C::Drifted, "Drift")], &["drift_detected", "reconcile_failed"]).failed(1),
        ),
        (
            Case { prev: correcting(), ..case("drift observed fixed") },
            expect(P::Ready, &[(C::Ready, "Available")], &["drift_corrected"]),
        ),
        (
            Case {
                prev: Status {
                    pending_change: Some(PendingChange { version: 2, fields: vec!["size".into()] }),
                    ..ready_status()
                },
                ..case("a change observed done")
            },
            expect(P::Ready, &[(C::Ready, "Available")], &["change_applied"]),
        ),
    ]
}

/// Runs one row through decide, act (against the fake kind) and record.
async fn run(c: Case) -> (super::record::Recorded, Vec<&'static str>) {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .build();
    let clients = Aws::new(sdk).region("us-east-1");
    let cache = Cache::default();
    let cx =
        Cx { clients: &clients, cache: &cache, guard: &NoGuard, stack: "s".into(), tags_fresh_since: Instant::now() };
    let fake = FakeKind { fails_with: c.fails_with.clone(), ..FakeKind::default() };
    let r = resource(c.removed);
    let desired = Desired {
        key: key(),
        spec: r.manifest.spec.clone(),
        tags: BTreeMap::new(),
        region: "us-east-1".into(),
        vpc_id: "vpc-1".into(),
        version: r.version,
        memo: Json::Null,
        exact_tags: false,
    };
    let mut observed = c.observed.clone();
    if let Some(o) = &mut observed {
        for (field, actual) in &c.live {
            o.config[*field] = actual.clone();
        }
    }
    let drift: Vec<Drift> = match (&observed, c.removed) {
        (Some(o), false) if o.owned => c
            .live
            .iter()
            .map(|(f, actual)| Drift {
                field: f.to_string(),
                desired: desired.spec[*f].clone(),
                actual: actual.clone(),
                fix: fake_fix(f),
                critical: false,
            })
            .collect(),
        _ => vec![],
    };
    let applied = match c.changed {
        true => json!({ "size": 1, "engine": "redis" }),
        false => json!({ "size": 2, "engine": "redis" }),
    };
    let current = desired.spec.clone();
    let prev_applied = c.prev.applied.as_ref().map(|_| &applied);
    let facts = Facts {
        removed: c.removed,
        paused: c.paused,
        policy: c.policy,
        resolution: c.resolution.clone(),
        observed: observed.as_ref(),
        drift,
        hold: c.hold.clone(),
        applied: prev_applied,
        current: Some(&current),
        version_moved: false,
        existed: c.prev.applied.is_some() && ![Phase::Pending, Phase::Deleted, Phase::Retained].contains(&c.prev.phase),
        ignored: &[],
        closed_window: c.window.clone(),
        named_by: &[],
    };
    let decision = decide::decide(&facts);
    let acted = match (unseen_async_failure(&decision, observed.as_ref(), &c.prev), &c.resolution) {
        (Some(f), _) => Acted::Failed(ReconcileError::AsyncFailure(f)),
        (None, Resolution::Resolved { .. }) => act(&fake, &cx, &decision, &desired, observed.as_ref(), true).await,
        _ => Acted::Nothing,
    };
    let clock = Clock { now: now(), backoff: BackoffPolicy::default(), resync_secs: 300, draw: 0.5 };
    let recorded = record(Record {
        adapter: &fake,
        r: &r,
        prev: &c.prev,
        decision: &decision,
        observed: observed.as_ref(),
        applied_now: Some(current.clone()),
        actor: None,
        acted,
        clock,
    });
    (recorded, fake.calls())
}

fn fake_fix(field: &str) -> Fix {
    use crate::model::Adapter;
    FakeKind::default().fix_for(field)
}

#[tokio::test]
async fn each_situation_leads_to_its_phase_conditions_events_and_backoff() {
    let rows = rows();
    assert!(rows.len() >= 30, "the table has {} rows", rows.len());
    let mut failures = Vec::new();
    for (c, want) in rows {
        let name = c.name;
        let (got, calls) = run(c).await;
        let events: Vec<&str> = got.events.iter().map(|e| e.name()).filter(|n| *n != "state_changed").collect();
        let conditions: Vec<(C, String)> =
            got.status.conditions.iter().filter(|c| c.status).map(|c| (c.kind, c.reason.clone())).collect();
        let mut problems = Vec::new();
        if got.status.phase != want.phase {
            problems.push(format!("phase {} (wanted {})", got.status.phase, want.phase));
        }
        for (kind, reason) in want.conditions {
            if !conditions.iter().any(|(k, r)| k == kind && r == reason) {
                problems.push(format!("no {kind:?} condition with reason {reason} in {conditions:?}"));
            }
        }
        if events != want.events {
            problems.push(format!("events {events:?} (wanted {:?})", want.events));
        }
        if calls != want.calls {
            problems.push(format!("calls {calls:?} (wanted {:?})", want.calls));
        }
        if got.status.consecutive_failures != want.failures || got.status.next_attempt_at.is_some() != want.backoff {
            problems.push(format!(
                "failures {} next attempt {:?} (wanted {} and {})",
                got.status.consecutive_failures, got.status.next_attempt_at, want.failures, want.backoff
            ));
        }
        if !problems.is_empty() {
            failures.push(format!("{name}: {}", problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[tokio::test]
async fn a_terminal_error_waits_for_the_resources_own_resync_and_a_transient_one_backs_off() {
    let terminal = Case {
        observed: None,
        prev: Status::default(),
        fails_with: Some(aws_error(ErrorClass::Terminal, "AccessDenied")),
        ..case("t")
    };
    let (got, _) = run(terminal).await;
    assert_eq!(got.status.next_attempt_at.as_deref(), Some("2026-12-05T10:05:00.000Z"), "now + its 300 s resync");
    let transient = Case {
        observed: None,
        prev: Status { consecutive_failures: 2, ..Status::default() },
        fails_with: Some(aws_error(ErrorClass::Transient, "InternalFailure")),
        ..case("t")
    };
    let (got, _) = run(transient).await;
    // Third failure in a row: ceiling 8 s, half of it with a draw of 0.5.
    assert_eq!(got.status.next_attempt_at.as_deref(), Some("2026-12-05T10:00:04.000Z"));
    assert_eq!(got.status.consecutive_failures, 3);
}

#[tokio::test]
async fn a_secret_is_never_in_an_event_or_a_status() {
    let mut c = case("a drifted password");
    c.observed.as_mut().unwrap().config["password"] = json!("hunter2");
    c.live = vec![("password", json!("hunter2"))];
    let (got, _) = run(c).await;
    let text = format!("{:?}{}", got.events, serde_json::to_string(&got.status).unwrap());
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("(sensitive)"));
}
