//! The one decision per resource. From what is wanted, what AWS has and the policies in force, a
//! pure function picks one verdict; `reconcile` and `run` carry it out, `diff --live` prints it.
//! Nothing here calls AWS, so every row of the table is a unit test.

use super::adapter::{Drift, Fix, ObjectState, Observed};
use crate::manifest::ResourceKey;
use serde_json::{Value as Json, json};

/// How far the resource's references and selectors got this pass.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// Everything resolved. `settling`: dependencies that exist but are not ready yet (busy): an
    /// existing object is still compared, a missing one is not created until they are ready.
    Resolved { settling: Vec<ResourceKey> },
    /// Dependencies that do not exist (yet), are not owned, or could not be observed.
    WaitingFor(Vec<ResourceKey>),
    /// Referenced outputs that are not known yet (`Kind/name.output`).
    WaitingForOutputs(Vec<String>),
    /// A `byTag` selector matches nothing (someone renamed or retagged the network?).
    NothingSelected(String),
    /// A selector matches more than one object.
    Ambiguous(String),
}

/// The resource's policies, from its spec.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// `managementPolicy: enforce` (false: observe, report only).
    pub enforce: bool,
    /// `deletionPolicy: Retain`.
    pub retain: bool,
    /// `adopt: true`.
    pub adopt: bool,
    /// `allowReplacement: true`.
    pub allow_replacement: bool,
}

/// Why a due action may not run now.
#[derive(Debug, Clone, PartialEq)]
pub enum Hold {
    /// The last attempt failed; the next one is due at this time (RFC 3339).
    Backoff { until: String },
    /// The service throttled us; its calls are held this much longer.
    Throttled { remaining_ms: u64 },
    /// Outside the heal window: drift is healed once it opens.
    Window(ClosedWindow),
}

/// A heal window (`healWindow`) that is closed now.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedWindow {
    /// The window in words (`Mon,Tue 08:00-18:00 Europe/Berlin`).
    pub window: String,
    /// When it opens next (RFC 3339).
    pub opens_at: String,
    /// `missing: window`: a deleted object is made again only inside the window.
    pub missing_waits: bool,
    /// `changes: window`: desired-state changes are applied only inside the window.
    pub changes_wait: bool,
}

/// Everything the decision depends on.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// Removed from the desired state (its deletion policy applies).
    pub removed: bool,
    /// The resource or its stack is paused.
    pub paused: bool,
    pub policy: Policy,
    pub resolution: Resolution,
    pub observed: Option<&'a Observed>,
    /// The field diff of the observed object against the desired view (empty when not compared).
    pub drift: Vec<Drift>,
    pub hold: Option<Hold>,
    /// What steward last applied (`applied_view` at the last apply or clean observation).
    pub applied: Option<&'a Json>,
    /// `applied_view` of the desired state now.
    pub current: Option<&'a Json>,
    /// The desired-state version moved since the last pass (used when nothing was recorded as applied).
    pub version_moved: bool,
    /// The object existed before (steward applied it): its absence is drift (`cause: deleted`).
    pub existed: bool,
    /// The spec's `ignoreChanges`: differences there are neither drift nor fixed.
    pub ignored: &'a [String],
    /// The heal window that applies, when it is closed now.
    pub closed_window: Option<ClosedWindow>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum KeepReason {
    /// Removed from the desired state, and the object is already gone.
    Gone,
    RetainPolicy,
    NotOwned,
    ObserveOnly,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WaitReason {
    /// AWS is busy with the object (its state).
    Busy(String),
    Dependencies(Vec<ResourceKey>),
    Outputs(Vec<String>),
    /// A due action held by backoff or throttling; `then` is what runs once the hold is over.
    Held {
        hold: Hold,
        then: Box<Verdict>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum BlockReason {
    /// An object with this identity exists without ownership tags (its id).
    NotOwned(String),
    /// The object is in a failed state (its state).
    Failed(String),
    NothingSelected(String),
    Ambiguous(String),
    /// Only immutable fields differ, and `allowReplacement` is not set.
    Immutable,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    InSync,
    Create,
    Adopt,
    /// Update in place (the fields whose action is `Update`).
    Update,
    /// At least one field needs a new object, and replacement is allowed.
    Replace,
    /// The object failed on AWS (its state): it is deleted, and made again next pass.
    Recreate(String),
    Delete,
    Keep(KeepReason),
    Wait(WaitReason),
    Blocked(BlockReason),
    /// `managementPolicy: observe`: the drift (or the missing object) is reported, not fixed.
    Report,
    /// Paused by a person: this is what would happen otherwise.
    Paused(Box<Verdict>),
}

/// What happens to one differing field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldAction {
    Update,
    Replace,
    /// Needs a new object; `allowReplacement` is not set.
    Immutable,
    Report,
    /// Listed in `ignoreChanges`: shown, not drift, never fixed.
    Ignored,
    /// Would be fixed, but the heal window is closed: fixed once it opens.
    Deferred,
}

impl FieldAction {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldAction::Update => "update",
            FieldAction::Replace => "replace",
            FieldAction::Immutable => "immutable (set allowReplacement to replace the object)",
            FieldAction::Report => "report",
            FieldAction::Ignored => "ignored (ignoreChanges)",
            FieldAction::Deferred => "deferred (heal window)",
        }
    }
}

/// One segment of an `ignoreChanges` path against one of a field path: `*` is any segment, a
/// trailing `*` a prefix (`DD_*`), and `containers` covers `containers[0]`.
pub fn segment_matches(pattern: &str, segment: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => segment.starts_with(prefix),
        None => segment == pattern || segment.strip_prefix(pattern).is_some_and(|rest| rest.starts_with('[')),
    }
}

/// Whether `field` (a diff path) is under one of the `ignoreChanges` paths.
pub fn ignores(patterns: &[String], field: &str) -> bool {
    let segments: Vec<&str> = field.split('.').collect();
    patterns.iter().any(|p| {
        let wanted: Vec<&str> = p.split('.').collect();
        wanted.len() <= segments.len() && wanted.iter().zip(&segments).all(|(w, s)| segment_matches(w, s))
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldDrift {
    pub drift: Drift,
    pub action: FieldAction,
    /// The desired state changed here since steward last applied it: a change, not drift.
    pub change: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub verdict: Verdict,
    /// Every difference found, with what happens to it.
    pub drift: Vec<FieldDrift>,
    /// The object was compared field by field (it exists, is owned and ready): an empty `drift`
    /// then means every field matches, and earlier drift was corrected.
    pub compared: bool,
}

/// The drift field that stands for "the object does not exist" under observe-only.
pub const EXISTENCE: &str = "(existence)";

pub fn decide(facts: &Facts) -> Decision {
    let (verdict, drift) = base(facts);
    let compared = !facts.removed
        && matches!(facts.resolution, Resolution::Resolved { .. })
        && facts.observed.is_some_and(|o| o.owned && o.state == ObjectState::Ready);
    let verdict = if facts.paused {
        Verdict::Paused(Box::new(verdict))
    } else {
        match (&facts.hold, verdict.mutates()) {
            (Some(hold), true) => Verdict::Wait(WaitReason::Held { hold: hold.clone(), then: Box::new(verdict) }),
            _ => verdict,
        }
    };
    Decision { verdict, drift, compared }
}

/// The verdict as if nothing were paused or held.
fn base(f: &Facts) -> (Verdict, Vec<FieldDrift>) {
    let p = f.policy;
    if f.removed {
        let verdict = match f.observed {
            None => Verdict::Keep(KeepReason::Gone),
            Some(_) if p.retain => Verdict::Keep(KeepReason::RetainPolicy),
            Some(o) if !o.owned => Verdict::Keep(KeepReason::NotOwned),
            Some(_) if !p.enforce => Verdict::Keep(KeepReason::ObserveOnly),
            Some(Observed { state: ObjectState::Busy(state), .. }) => Verdict::Wait(WaitReason::Busy(state.clone())),
            Some(_) => Verdict::Delete,
        };
        return (hold_change(f, verdict), Vec::new());
    }
    let settling = match &f.resolution {
        Resolution::Resolved { settling } => settling,
        Resolution::WaitingFor(deps) => return (Verdict::Wait(WaitReason::Dependencies(deps.clone())), vec![]),
        Resolution::WaitingForOutputs(o) => return (Verdict::Wait(WaitReason::Outputs(o.clone())), vec![]),
        Resolution::NothingSelected(m) => return (Verdict::Blocked(BlockReason::NothingSelected(m.clone())), vec![]),
        Resolution::Ambiguous(m) => return (Verdict::Blocked(BlockReason::Ambiguous(m.clone())), vec![]),
    };
    let Some(o) = f.observed else {
        let missing =
            Drift { field: EXISTENCE.into(), desired: json!("present"), actual: json!("absent"), fix: Fix::InPlace };
        if !p.enforce {
            return (Verdict::Report, vec![FieldDrift { drift: missing, action: FieldAction::Report, change: false }]);
        }
        // Gone after steward applied it: drift (cause deleted), healed by creating it again
        // (outside the heal window only under `missing: window`).
        let action = match f.closed_window.as_ref().is_some_and(|w| w.missing_waits) {
            true => FieldAction::Deferred,
            false => FieldAction::Update,
        };
        let gone = match f.existed {
            true => vec![FieldDrift { drift: missing, action, change: false }],
            false => vec![],
        };
        if !settling.is_empty() {
            return (Verdict::Wait(WaitReason::Dependencies(settling.clone())), gone);
        }
        return match f.existed {
            true => (hold_missing(f, Verdict::Create), gone),
            false => (hold_change(f, Verdict::Create), gone),
        };
    };
    if !o.owned {
        if p.adopt && p.enforce {
            return (hold_change(f, Verdict::Adopt), vec![]);
        }
        return (Verdict::Blocked(BlockReason::NotOwned(o.id.clone())), vec![]);
    }
    match &o.state {
        ObjectState::Busy(state) => return (Verdict::Wait(WaitReason::Busy(state.clone())), vec![]),
        // A failed object is of no use: it is made again (backoff spaces the attempts). Under
        // observe it is reported for a person.
        ObjectState::Failed(state) if p.enforce => return (hold_missing(f, Verdict::Recreate(state.clone())), vec![]),
        ObjectState::Failed(state) => return (Verdict::Blocked(BlockReason::Failed(state.clone())), vec![]),
        ObjectState::Ready => {}
    }
    let drift: Vec<FieldDrift> = f
        .drift
        .iter()
        .map(|d| {
            let action = match d.fix {
                _ if ignores(f.ignored, &d.field) => FieldAction::Ignored,
                _ if !p.enforce => FieldAction::Report,
                Fix::InPlace => FieldAction::Update,
                Fix::Replace if p.allow_replacement => FieldAction::Replace,
                Fix::Replace => FieldAction::Immutable,
            };
            let change = p.enforce && is_change(f.applied, f.current, f.version_moved, &d.field);
            // Outside the heal window drift waits; changes wait only under `changes: window`.
            let waits = f.closed_window.as_ref().is_some_and(|w| !change || w.changes_wait);
            let action = match action {
                FieldAction::Update | FieldAction::Replace if waits => FieldAction::Deferred,
                action => action,
            };
            FieldDrift { drift: d.clone(), action, change }
        })
        .collect();
    let has = |a: FieldAction| drift.iter().any(|d| d.action == a);
    let verdict = if drift.iter().all(|d| d.action == FieldAction::Ignored) {
        Verdict::InSync
    } else if !p.enforce {
        Verdict::Report
    } else if has(FieldAction::Replace) {
        Verdict::Replace
    } else if has(FieldAction::Update) {
        Verdict::Update
    } else if let (true, Some(window)) = (has(FieldAction::Deferred), &f.closed_window) {
        let replace = drift.iter().any(|d| d.action == FieldAction::Deferred && d.drift.fix == Fix::Replace);
        let then = if replace { Verdict::Replace } else { Verdict::Update };
        Verdict::Wait(WaitReason::Held { hold: Hold::Window(window.clone()), then: Box::new(then) })
    } else {
        Verdict::Blocked(BlockReason::Immutable)
    };
    (verdict, drift)
}

/// A desired-state change (create, adopt, delete) outside the heal window: held only under
/// `changes: window`.
fn hold_change(f: &Facts, verdict: Verdict) -> Verdict {
    hold_for_window(f.closed_window.as_ref().filter(|w| w.changes_wait), verdict)
}

/// Making a deleted or failed object again outside the heal window: held only under
/// `missing: window`.
fn hold_missing(f: &Facts, verdict: Verdict) -> Verdict {
    hold_for_window(f.closed_window.as_ref().filter(|w| w.missing_waits), verdict)
}

fn hold_for_window(window: Option<&ClosedWindow>, verdict: Verdict) -> Verdict {
    match window {
        Some(w) if verdict.mutates() => {
            Verdict::Wait(WaitReason::Held { hold: Hold::Window(w.clone()), then: Box::new(verdict) })
        }
        _ => verdict,
    }
}

/// Whether a difference on `field` is a change: the desired state moved away from what steward
/// last applied. Otherwise the live object moved: drift. Without a record of what was applied
/// (statuses from before it was kept), a moved desired-state version counts as a change.
pub fn is_change(applied: Option<&Json>, current: Option<&Json>, version_moved: bool, field: &str) -> bool {
    match (applied, current) {
        (Some(applied), Some(current)) => value_at(applied, field) != value_at(current, field),
        _ => version_moved,
    }
}

/// What a replacement consent (`steward approve`) is given for: this object (its id, and how
/// many objects steward has made for the resource, since a new one may reuse the id) and the
/// fields only a new object can fix, with their live values as fingerprints. The consent stops
/// matching once the drift changes or the object has been replaced.
pub fn replacement_fingerprint(decision: &Decision, object: &str) -> Option<String> {
    let immutable: Vec<Json> = decision
        .drift
        .iter()
        .filter(|d| d.action == FieldAction::Immutable)
        .map(|d| json!([d.drift.field, fingerprint(&d.drift.actual)]))
        .collect();
    (!immutable.is_empty()).then(|| fingerprint(&json!([object, immutable])))
}

/// One step of a diff path: a map key or a list index.
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The steps of a diff path (`taskDefinition.containers[0].cpu`); None if an index is no number.
pub fn steps(path: &str) -> Option<Vec<Step<'_>>> {
    let mut out = Vec::new();
    for segment in path.split('.') {
        let (key, indexes) = segment.split_once('[').map_or((segment, ""), |(k, rest)| (k, rest));
        if !key.is_empty() {
            out.push(Step::Key(key));
        }
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            out.push(Step::Index(index.trim_end_matches(']').parse().ok()?));
        }
    }
    Some(out)
}

/// The value at a diff path (`image.env.REDIS_URL`, `taskDefinition.containers[0].cpu`).
pub fn value_at<'a>(view: &'a Json, path: &str) -> Option<&'a Json> {
    steps(path)?.into_iter().try_fold(view, |at, step| match step {
        Step::Key(k) => at.get(k),
        Step::Index(i) => at.get(i),
    })
}

/// `value_at`, to change the value.
pub fn value_at_mut<'a>(view: &'a mut Json, path: &str) -> Option<&'a mut Json> {
    steps(path)?.into_iter().try_fold(view, |at, step| match step {
        Step::Key(k) => at.get_mut(k),
        Step::Index(i) => at.get_mut(i),
    })
}

/// A short fingerprint of a value (FNV-1a): events and statuses compare values without holding them.
pub fn fingerprint(value: &Json) -> String {
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in value.to_string().bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    format!("{hash:016x}")
}

impl Verdict {
    /// Whether carrying it out calls a mutating AWS operation.
    pub fn mutates(&self) -> bool {
        matches!(
            self,
            Verdict::Create
                | Verdict::Adopt
                | Verdict::Update
                | Verdict::Replace
                | Verdict::Recreate(_)
                | Verdict::Delete
        )
    }

    /// Whether AWS differs from the desired state or has not converged: `diff --live` exits 2.
    /// In sync, already gone and kept objects are settled; paused alone is not a difference.
    pub fn differs(&self) -> bool {
        match self {
            Verdict::InSync | Verdict::Keep(_) => false,
            Verdict::Paused(inner) => inner.differs(),
            _ => true,
        }
    }

    /// The verdict's word in `diff --live` (a contract: see the README). Paused shows what it holds.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::InSync => "in-sync",
            Verdict::Create => "create",
            Verdict::Adopt => "adopt",
            Verdict::Update => "update",
            Verdict::Replace | Verdict::Recreate(_) => "replace",
            Verdict::Delete => "delete",
            Verdict::Keep(_) => "keep",
            Verdict::Wait(_) => "wait",
            Verdict::Blocked(_) => "blocked",
            Verdict::Report => "report",
            Verdict::Paused(inner) => inner.word(),
        }
    }

    /// The verdict itself, under any pause.
    pub fn unpaused(&self) -> &Verdict {
        match self {
            Verdict::Paused(inner) => inner,
            other => other,
        }
    }

    /// One line for people: why this verdict.
    pub fn reason(&self) -> String {
        let keys = |ks: &[ResourceKey]| ks.iter().map(ResourceKey::short).collect::<Vec<_>>().join(", ");
        match self {
            Verdict::InSync => String::new(),
            Verdict::Create => "does not exist".into(),
            Verdict::Adopt => "exists without ownership tags; adopt: true".into(),
            Verdict::Update | Verdict::Replace => String::new(),
            Verdict::Recreate(state) => format!("the object is {state}: it is deleted and made again"),
            Verdict::Delete => "removed from the desired state (deletionPolicy Delete)".into(),
            Verdict::Keep(KeepReason::Gone) => "removed from the desired state; already gone".into(),
            Verdict::Keep(KeepReason::RetainPolicy) => {
                "removed from the desired state; kept (deletionPolicy Retain)".into()
            }
            Verdict::Keep(KeepReason::NotOwned) => "removed from the desired state; kept (not owned by steward)".into(),
            Verdict::Keep(KeepReason::ObserveOnly) => {
                "removed from the desired state; kept (managementPolicy observe)".into()
            }
            Verdict::Wait(WaitReason::Busy(state)) => format!("{state}: waiting for AWS to finish"),
            Verdict::Wait(WaitReason::Dependencies(deps)) => format!("waiting for {} to be ready", keys(deps)),
            Verdict::Wait(WaitReason::Outputs(outputs)) => format!("waiting for outputs {}", outputs.join(", ")),
            Verdict::Wait(WaitReason::Held { hold, then }) => {
                let held = match hold {
                    Hold::Backoff { until } => format!("after a failure, retried at {until}"),
                    Hold::Throttled { remaining_ms } => format!("calls held {remaining_ms} ms after throttling"),
                    Hold::Window(w) => {
                        format!("outside the heal window ({}): held until it opens at {}", w.window, w.opens_at)
                    }
                };
                format!("{} {held}", then.word())
            }
            Verdict::Blocked(BlockReason::NotOwned(id)) => crate::status::not_owned_message(id),
            Verdict::Blocked(BlockReason::Failed(state)) => {
                format!("the object is {state} (managementPolicy observe: a person must replace it)")
            }
            Verdict::Blocked(BlockReason::NothingSelected(m)) | Verdict::Blocked(BlockReason::Ambiguous(m)) => {
                m.clone()
            }
            Verdict::Blocked(BlockReason::Immutable) => {
                "only a new object can fix this: steward approve replaces it once, allowReplacement: true always".into()
            }
            Verdict::Report => "managementPolicy observe: reported, not fixed".into(),
            Verdict::Paused(inner) => match inner.reason() {
                r if r.is_empty() => "paused".into(),
                r => format!("paused; {r}"),
            },
        }
    }

    /// What it waits for, for the plan's `waitingFor`.
    pub fn waiting_for(&self) -> Vec<ResourceKey> {
        match self.unpaused() {
            Verdict::Wait(WaitReason::Dependencies(deps)) => deps.clone(),
            _ => Vec::new(),
        }
    }
}

impl Decision {
    /// The fields an update or replacement fixes.
    pub fn fixable(&self) -> Vec<Drift> {
        self.drift
            .iter()
            .filter(|d| matches!(d.action, FieldAction::Update | FieldAction::Replace))
            .map(|d| d.drift.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Kind;
    use std::collections::BTreeMap;

    const ENFORCE: Policy = Policy { enforce: true, retain: false, adopt: false, allow_replacement: false };
    const OBSERVE: Policy = Policy { enforce: false, ..ENFORCE };

    fn object(owned: bool, state: ObjectState) -> Observed {
        Observed { id: "obj-1".into(), owned, state, config: json!({}), outputs: BTreeMap::new(), extra: json!(null) }
    }

    fn drift(field: &str, fix: Fix) -> Drift {
        Drift { field: field.into(), desired: json!(2), actual: json!(1), fix }
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
        row(
            "deleting behind our back",
            facts(Some(&deleting)),
            Verdict::Wait(WaitReason::Busy("deleting".into())),
            true,
        );
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
        row("not owned", facts(Some(&foreign)), Verdict::Blocked(BlockReason::NotOwned("obj-1".into())), true);
        row(
            "not owned, adopt",
            Facts { policy: Policy { adopt: true, ..ENFORCE }, ..facts(Some(&foreign)) },
            Verdict::Adopt,
            true,
        );
        row(
            "not owned, adopt but observe-only",
            Facts { policy: Policy { adopt: true, ..OBSERVE }, ..facts(Some(&foreign)) },
            Verdict::Blocked(BlockReason::NotOwned("obj-1".into())),
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
            Facts { resolution: settling, drift: update(), ..facts(Some(&ready)) },
            Verdict::Update,
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
            Some(ClosedWindow {
                window: "Mon 08:00-09:00 UTC".into(),
                opens_at: "T".into(),
                missing_waits,
                changes_wait,
            })
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
}
