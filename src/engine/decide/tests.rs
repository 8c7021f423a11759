//! The decision table: one row per situation.

use super::*;
use crate::model::Kind;
use std::collections::BTreeMap;

const ENFORCE: Policy = Policy { enforce: true, retain: false, adopt: false, allow_replacement: false };
const OBSERVE: Policy = Policy { enforce: false, ..ENFORCE };

fn object(owned: bool, state: ObjectState) -> Observed {
    Observed {
        id: "obj-1".into(),
        owned,
        state,
        config: json!({}),
        outputs: BTreeMap::new(),
        extra: json!(null),
        failed_operation: None,
    }
}

fn drift(field: &str, fix: Fix) -> Drift {
    Drift { field: field.into(), desired: json!(2), actual: json!(1), fix, critical: false }
}

fn key(name: &str) -> ResourceKey {
    ResourceKey::new("s", Kind::CacheCluster, name)
}

fn resolved() -> Resolution {
    Resolution::Resolved { settling: vec![] }
}

fn facts(observed: Option<&Observed>) -> Facts<'_> {
    Facts {
        removed: false,
        paused: false,
        policy: ENFORCE,
        resolution: resolved(),
        observed,
        drift: vec![],
        hold: None,
        applied: None,
        current: None,
        version_moved: false,
        existed: false,
        ignored: &[],
        closed_window: None,
        named_by: &[],
    }
}

fn paused(f: Facts<'_>) -> Facts<'_> {
    Facts { paused: true, ..f }
}

fn held(then: Verdict) -> Verdict {
    Verdict::Wait(WaitReason::Held { hold: Hold::Backoff { until: "T".into() }, then: Box::new(then) })
}

/// One row: the facts, the verdict, whether `diff --live` counts it as a difference.
fn row(name: &str, f: Facts, verdict: Verdict, differs: bool) {
    let d = decide(&f);
    assert_eq!(d.verdict, verdict, "row {name:?}");
    assert_eq!(d.verdict.differs(), differs, "row {name:?}: differs");
}

#[test]
fn the_decision_table() {
    let ready = object(true, ObjectState::Ready);
    let busy = object(true, ObjectState::Busy("modifying".into()));
    let deleting = object(true, ObjectState::Busy("deleting".into()));
    let failed = object(true, ObjectState::Failed("create-failed".into()));
    let foreign = object(false, ObjectState::Ready);
    let kept_by_another = Observed {
        config: json!({ "tags": { "steward:stack": "other", "steward:kind": "CacheCluster", "steward:name": "redis" } }),
        ..object(false, ObjectState::Ready)
    };
    let update = || vec![drift("desiredCount", Fix::InPlace)];
    let immutable = || vec![drift("engine", Fix::Replace)];

    // Present in the desired state.
    row("in sync", facts(Some(&ready)), Verdict::InSync, false);
    row("missing", facts(None), Verdict::Create, true);
    row("drift", Facts { drift: update(), ..facts(Some(&ready)) }, Verdict::Update, true);
    row(
        "immutable drift",
        Facts { drift: immutable(), ..facts(Some(&ready)) },
        Verdict::Blocked(BlockReason::Immutable),
        true,
    );
    row(
        "immutable drift, replacement allowed",
        Facts { drift: immutable(), policy: Policy { allow_replacement: true, ..ENFORCE }, ..facts(Some(&ready)) },
        Verdict::Replace,
        true,
    );
    row(
        "mixed drift updates what it can",
        Facts { drift: [update(), immutable()].concat(), ..facts(Some(&ready)) },
        Verdict::Update,
        true,
    );
    row("busy", facts(Some(&busy)), Verdict::Wait(WaitReason::Busy("modifying".into())), true);
    row("deleting behind our back", facts(Some(&deleting)), Verdict::Wait(WaitReason::Busy("deleting".into())), true);
    row("failed", facts(Some(&failed)), Verdict::Recreate("create-failed".into()), true);
    row(
        "failed, observe",
        Facts { policy: OBSERVE, ..facts(Some(&failed)) },
        Verdict::Blocked(BlockReason::Failed("create-failed".into())),
        true,
    );
    row(
        "failed, backoff",
        Facts { hold: Some(Hold::Backoff { until: "T".into() }), ..facts(Some(&failed)) },
        held(Verdict::Recreate("create-failed".into())),
        true,
    );
    row("failed, removed", Facts { removed: true, ..facts(Some(&failed)) }, Verdict::Delete, true);
    row(
        "not owned",
        facts(Some(&foreign)),
        Verdict::Blocked(BlockReason::NotOwned { id: "obj-1".into(), owner: None }),
        true,
    );
    row(
        "not owned, adopt",
        Facts { policy: Policy { adopt: true, ..ENFORCE }, ..facts(Some(&foreign)) },
        Verdict::Adopt,
        true,
    );
    let theirs = BlockReason::NotOwned { id: "obj-1".into(), owner: Some("CacheCluster/redis of stack other".into()) };
    row("kept by another resource", facts(Some(&kept_by_another)), Verdict::Blocked(theirs.clone()), true);
    row(
        "kept by another resource, adopt: never taken from its owner",
        Facts { policy: Policy { adopt: true, ..ENFORCE }, ..facts(Some(&kept_by_another)) },
        Verdict::Blocked(theirs),
        true,
    );
    row(
        "not owned, adopt but observe-only",
        Facts { policy: Policy { adopt: true, ..OBSERVE }, ..facts(Some(&foreign)) },
        Verdict::Blocked(BlockReason::NotOwned { id: "obj-1".into(), owner: None }),
        true,
    );

    // Observe-only reports and never acts.
    row("observe, in sync", Facts { policy: OBSERVE, ..facts(Some(&ready)) }, Verdict::InSync, false);
    row("observe, drift", Facts { policy: OBSERVE, drift: update(), ..facts(Some(&ready)) }, Verdict::Report, true);
    row("observe, missing", Facts { policy: OBSERVE, ..facts(None) }, Verdict::Report, true);

    // References and selectors.
    let waiting = Resolution::WaitingFor(vec![key("dep")]);
    row(
        "dependency missing",
        Facts { resolution: waiting, ..facts(None) },
        Verdict::Wait(WaitReason::Dependencies(vec![key("dep")])),
        true,
    );
    let outputs = Resolution::WaitingForOutputs(vec!["CacheCluster/dep.address".into()]);
    row(
        "outputs unknown",
        Facts { resolution: outputs, ..facts(None) },
        Verdict::Wait(WaitReason::Outputs(vec!["CacheCluster/dep.address".into()])),
        true,
    );
    let settling = Resolution::Resolved { settling: vec![key("dep")] };
    row(
        "dependency busy, object missing: not created yet",
        Facts { resolution: settling.clone(), ..facts(None) },
        Verdict::Wait(WaitReason::Dependencies(vec![key("dep")])),
        true,
    );
    row(
        "dependency busy, object drifted: still compared and fixed",
        Facts { resolution: settling.clone(), drift: update(), ..facts(Some(&ready)) },
        Verdict::Update,
        true,
    );
    row(
        "dependency busy, object changed in the desired state: the change waits for it",
        Facts { resolution: settling, drift: update(), version_moved: true, ..facts(Some(&ready)) },
        Verdict::Wait(WaitReason::Dependencies(vec![key("dep")])),
        true,
    );
    let none = Resolution::NothingSelected("no subnet matches {Name: intra-a}".into());
    row(
        "selector matches nothing",
        Facts { resolution: none, ..facts(Some(&ready)) },
        Verdict::Blocked(BlockReason::NothingSelected("no subnet matches {Name: intra-a}".into())),
        true,
    );
    let two = Resolution::Ambiguous("2 VPCs match".into());
    row(
        "selector ambiguous",
        Facts { resolution: two, ..facts(None) },
        Verdict::Blocked(BlockReason::Ambiguous("2 VPCs match".into())),
        true,
    );

    // Removed from the desired state.
    let removed = |o| Facts { removed: true, ..facts(o) };
    row("removed, gone", removed(None), Verdict::Keep(KeepReason::Gone), false);
    row("removed, present", removed(Some(&ready)), Verdict::Delete, true);
    let record = [key("cname")];
    row(
        "removed, a live record still points at it: deleted after the record moved",
        Facts { named_by: &record, ..removed(Some(&ready)) },
        Verdict::Wait(WaitReason::NamedBy(vec![key("cname")])),
        true,
    );
    row("removed, busy", removed(Some(&busy)), Verdict::Wait(WaitReason::Busy("modifying".into())), true);
    row("removed, failed object", removed(Some(&failed)), Verdict::Delete, true);
    row(
        "removed, Retain",
        Facts { policy: Policy { retain: true, ..ENFORCE }, ..removed(Some(&ready)) },
        Verdict::Keep(KeepReason::RetainPolicy),
        false,
    );
    row("removed, not owned", removed(Some(&foreign)), Verdict::Keep(KeepReason::NotOwned), false);
    row(
        "removed, observe",
        Facts { policy: OBSERVE, ..removed(Some(&ready)) },
        Verdict::Keep(KeepReason::ObserveOnly),
        false,
    );

    // Paused: what would happen is shown; paused alone is not a difference.
    row("paused, in sync", paused(facts(Some(&ready))), Verdict::Paused(Box::new(Verdict::InSync)), false);
    row(
        "paused, drift",
        paused(Facts { drift: update(), ..facts(Some(&ready)) }),
        Verdict::Paused(Box::new(Verdict::Update)),
        true,
    );
    row("paused, missing", paused(facts(None)), Verdict::Paused(Box::new(Verdict::Create)), true);
    row(
        "paused, removed and gone",
        paused(removed(None)),
        Verdict::Paused(Box::new(Verdict::Keep(KeepReason::Gone))),
        false,
    );

    // Backoff and throttling hold actions only.
    let backoff = Some(Hold::Backoff { until: "T".into() });
    row("backoff, missing", Facts { hold: backoff.clone(), ..facts(None) }, held(Verdict::Create), true);
    row(
        "backoff, drift",
        Facts { hold: backoff.clone(), drift: update(), ..facts(Some(&ready)) },
        held(Verdict::Update),
        true,
    );
    row("backoff, removed", Facts { hold: backoff.clone(), ..removed(Some(&ready)) }, held(Verdict::Delete), true);
    row("backoff, in sync", Facts { hold: backoff.clone(), ..facts(Some(&ready)) }, Verdict::InSync, false);
    row(
        "backoff, busy",
        Facts { hold: backoff.clone(), ..facts(Some(&busy)) },
        Verdict::Wait(WaitReason::Busy("modifying".into())),
        true,
    );
    row(
        "backoff, observe drift",
        Facts { hold: backoff.clone(), policy: OBSERVE, drift: update(), ..facts(Some(&ready)) },
        Verdict::Report,
        true,
    );
    row(
        "paused wins over backoff",
        Facts { hold: backoff, paused: true, drift: update(), ..facts(Some(&ready)) },
        Verdict::Paused(Box::new(Verdict::Update)),
        true,
    );
    let throttled = Some(Hold::Throttled { remaining_ms: 500 });
    let d = decide(&Facts { hold: throttled, ..facts(None) });
    assert!(matches!(d.verdict, Verdict::Wait(WaitReason::Held { hold: Hold::Throttled { .. }, .. })));
}

#[test]
fn ignored_fields_are_shown_and_never_drift() {
    let ready = object(true, ObjectState::Ready);
    let patterns = ["desiredCount".to_string(), "image.env.DD_*".into(), "tags.*".into()];
    assert!(ignores(&patterns, "desiredCount"));
    assert!(ignores(&patterns, "image.env.DD_API_KEY") && !ignores(&patterns, "image.env.REDIS_URL"));
    assert!(ignores(&patterns, "tags.CostCenter") && !ignores(&patterns, "tags"));
    assert!(ignores(&["taskDefinition.containers".into()], "taskDefinition.containers[0].cpu"));
    assert!(!ignores(&["taskDefinition.containers".into()], "taskDefinition.containersX"));
    let only_ignored = vec![drift("desiredCount", Fix::InPlace), drift("tags.Team", Fix::InPlace)];
    let d = decide(&Facts { drift: only_ignored, ignored: &patterns, ..facts(Some(&ready)) });
    assert_eq!(d.verdict, Verdict::InSync);
    assert!(!d.verdict.differs());
    assert!(d.drift.iter().all(|f| f.action == FieldAction::Ignored));
    assert!(d.fixable().is_empty());
    let mixed = vec![drift("desiredCount", Fix::InPlace), drift("nodeType", Fix::InPlace)];
    let d = decide(&Facts { drift: mixed, ignored: &patterns, ..facts(Some(&ready)) });
    assert_eq!(d.verdict, Verdict::Update);
    assert_eq!(d.fixable().iter().map(|x| x.field.as_str()).collect::<Vec<_>>(), ["nodeType"]);
}

#[test]
fn changes_are_told_apart_from_drift() {
    let ready = object(true, ObjectState::Ready);
    let applied = json!({ "desiredCount": 1, "env": { "A": "x" }, "containers": [{ "cpu": 256 }] });
    // desiredCount was edited (1 → 2 in the desired state); env.A moved in AWS only.
    let current = json!({ "desiredCount": 2, "env": { "A": "x" }, "containers": [{ "cpu": 256 }] });
    let both = vec![drift("desiredCount", Fix::InPlace), drift("env.A", Fix::InPlace)];
    let f = Facts { drift: both, applied: Some(&applied), current: Some(&current), ..facts(Some(&ready)) };
    let changes: Vec<bool> = decide(&f).drift.iter().map(|d| d.change).collect();
    assert_eq!(changes, [true, false]);
    assert_eq!(value_at(&applied, "containers[0].cpu"), Some(&json!(256)));
    assert_eq!(value_at(&applied, "env.B"), None);
    // Nothing recorded as applied: the version tells.
    let f = Facts { drift: vec![drift("desiredCount", Fix::InPlace)], version_moved: true, ..facts(Some(&ready)) };
    assert!(decide(&f).drift[0].change);
    // An object steward applied that is gone is drift, healed by creating it again.
    let d = decide(&Facts { existed: true, ..facts(None) });
    assert_eq!(d.verdict, Verdict::Create);
    assert_eq!((d.drift[0].drift.field.as_str(), d.drift[0].change), (EXISTENCE, false));
    assert!(decide(&facts(None)).drift.is_empty(), "a first creation is no drift");
    assert_ne!(fingerprint(&json!("stale: version 4")), fingerprint(&json!("stale: version 5")));
}

#[test]
fn each_field_says_what_happens_to_it() {
    let ready = object(true, ObjectState::Ready);
    let both = vec![drift("desiredCount", Fix::InPlace), drift("engine", Fix::Replace)];
    let d = decide(&Facts { drift: both.clone(), ..facts(Some(&ready)) });
    let actions: Vec<FieldAction> = d.drift.iter().map(|f| f.action).collect();
    assert_eq!(actions, [FieldAction::Update, FieldAction::Immutable]);
    assert_eq!(d.fixable(), vec![both[0].clone()], "only what an update can fix is sent");
    let d = decide(&Facts { drift: both.clone(), policy: OBSERVE, ..facts(Some(&ready)) });
    assert!(d.drift.iter().all(|f| f.action == FieldAction::Report));
    assert!(d.fixable().is_empty());
    let d = decide(&Facts { policy: OBSERVE, ..facts(None) });
    assert_eq!(d.drift[0].drift.field, EXISTENCE);
    // A paused resource still lists its drift.
    let d = decide(&Facts { drift: both, paused: true, ..facts(Some(&ready)) });
    assert_eq!(d.drift.len(), 2);
    assert_eq!(d.verdict.word(), "update");
    assert_eq!(d.verdict.reason(), "paused");
    assert!(d.compared);
    let busy = object(true, ObjectState::Busy("modifying".into()));
    assert!(!decide(&facts(Some(&busy))).compared, "a busy object is not compared: no premature correction");
}

#[test]
fn outside_the_heal_window_drift_waits_and_changes_do_not() {
    let ready = object(true, ObjectState::Ready);
    let closed = |missing_waits, changes_wait| {
        let (window, opens_at) = ("Mon 08:00-09:00 UTC".into(), "T".into());
        Some(ClosedWindow { window, opens_at, missing_waits, changes_wait, critical_waits: false })
    };
    let window_held = |w: &Option<ClosedWindow>, then: Verdict| {
        Verdict::Wait(WaitReason::Held { hold: Hold::Window(w.clone().unwrap()), then: Box::new(then) })
    };
    let w = closed(false, false);
    let applied = json!({ "desiredCount": 1, "env": { "A": "x" } });
    let current = json!({ "desiredCount": 2, "env": { "A": "x" } });
    let with = |drift: Vec<Drift>, window: Option<ClosedWindow>| Facts {
        drift,
        applied: Some(&applied),
        current: Some(&current),
        closed_window: window,
        ..facts(Some(&ready))
    };
    // Drift only: alerted as deferred, held until the window opens.
    let d = decide(&with(vec![drift("env.A", Fix::InPlace)], w.clone()));
    assert_eq!(d.verdict, window_held(&w, Verdict::Update));
    assert_eq!(d.drift[0].action, FieldAction::Deferred);
    assert!(d.verdict.differs() && d.fixable().is_empty());
    assert!(d.verdict.reason().contains("held until it opens at T"), "{}", d.verdict.reason());
    // A change beside drift: the change is applied now, the drift waits.
    let d = decide(&with(vec![drift("desiredCount", Fix::InPlace), drift("env.A", Fix::InPlace)], w.clone()));
    assert_eq!(d.verdict, Verdict::Update);
    assert_eq!(d.fixable().iter().map(|x| x.field.as_str()).collect::<Vec<_>>(), ["desiredCount"]);
    // changes: window holds the change too.
    let held_too = closed(false, true);
    let d = decide(&with(vec![drift("desiredCount", Fix::InPlace)], held_too.clone()));
    assert_eq!(d.verdict, window_held(&held_too, Verdict::Update));
    // Replacement drift waits as a replacement.
    let replaceable = Facts {
        policy: Policy { allow_replacement: true, ..ENFORCE },
        ..with(vec![drift("engine", Fix::Replace)], w.clone())
    };
    assert_eq!(decide(&replaceable).verdict, window_held(&w, Verdict::Replace));
    // A deleted object is made again at once, unless missing: window.
    let gone = Facts { existed: true, closed_window: w.clone(), ..facts(None) };
    assert_eq!(decide(&gone).verdict, Verdict::Create);
    let waits = closed(true, false);
    let d = decide(&Facts { existed: true, closed_window: waits.clone(), ..facts(None) });
    assert_eq!(d.verdict, window_held(&waits, Verdict::Create));
    assert_eq!(d.drift[0].action, FieldAction::Deferred);
    // A first creation and a deletion are changes: held only under changes: window.
    assert_eq!(decide(&Facts { closed_window: w.clone(), ..facts(None) }).verdict, Verdict::Create);
    let removed = Facts { removed: true, closed_window: held_too.clone(), ..facts(Some(&ready)) };
    assert_eq!(decide(&removed).verdict, window_held(&held_too, Verdict::Delete));
    // Observe-only and ignored fields are not touched by the window.
    let observe = Facts { policy: OBSERVE, ..with(vec![drift("env.A", Fix::InPlace)], w.clone()) };
    assert_eq!(decide(&observe).verdict, Verdict::Report);
    // A backoff and a pause still come first.
    let paused = Facts { paused: true, ..with(vec![drift("env.A", Fix::InPlace)], w.clone()) };
    assert_eq!(decide(&paused).verdict.word(), "wait");
}

#[test]
fn critical_drift_is_healed_at_once_while_the_window_is_shut_unless_the_spec_says_window() {
    let ready = object(true, ObjectState::Ready);
    let closed = |critical_waits| {
        let (window, opens_at) = ("Mon 08:00-09:00 UTC".into(), "T".into());
        Some(ClosedWindow { window, opens_at, missing_waits: false, changes_wait: false, critical_waits })
    };
    let opened = Drift { critical: true, ..drift("ingress", Fix::InPlace) };
    let with = |drift: Vec<Drift>, window| Facts { drift, closed_window: window, ..facts(Some(&ready)) };
    // A rule that opens the group is closed now; other drift beside it waits for the window.
    let d = decide(&with(vec![opened.clone(), drift("description", Fix::InPlace)], closed(false)));
    assert_eq!(d.verdict, Verdict::Update);
    assert_eq!(d.fixable().iter().map(|x| x.field.as_str()).collect::<Vec<_>>(), ["ingress"]);
    assert_eq!(d.drift[1].action, FieldAction::Deferred);
    // critical: window: it waits like any drift.
    let w = closed(true);
    let d = decide(&with(vec![opened], w.clone()));
    let held = Verdict::Wait(WaitReason::Held { hold: Hold::Window(w.unwrap()), then: Box::new(Verdict::Update) });
    assert_eq!(d.verdict, held);
}
