//! The one decision per resource. From what is wanted, what AWS has and the policies in force, a
//! pure function picks one verdict; `reconcile` and `run` carry it out, `diff --live` prints it.
//! Nothing here calls AWS, so every row of the table is a unit test.

use crate::model::paths::{fingerprint, ignores, value_at};
use crate::model::{Drift, Fix, ObjectState, Observed, ResourceKey};
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
    /// `critical: window`: critical drift too waits for the window (by default it is healed at once).
    pub critical_waits: bool,
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
    /// Live resources whose last applied configuration still names this removed object (a
    /// record still pointing at it, a service still given its URL): it is deleted after them.
    pub named_by: &'a [ResourceKey],
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
    /// A removal waits until these resources no longer name the object.
    NamedBy(Vec<ResourceKey>),
    /// A due action held by backoff or throttling; `then` is what runs once the hold is over.
    Held {
        hold: Hold,
        then: Box<Verdict>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum BlockReason {
    /// An object with this identity exists without this resource's ownership tags: its id, and
    /// the steward resource its tags name when another one keeps it.
    NotOwned {
        id: String,
        owner: Option<String>,
    },
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

impl serde::Serialize for FieldAction {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for FieldAction {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FieldAction {
    /// The action's words in `diff --live` (a contract: docs/cli.md).
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
            Some(_) if !f.named_by.is_empty() => Verdict::Wait(WaitReason::NamedBy(f.named_by.to_vec())),
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
        let (desired, actual) = (json!("present"), json!("absent"));
        let missing = Drift { field: EXISTENCE.into(), desired, actual, fix: Fix::InPlace, critical: false };
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
        // Another steward resource's object is never adopted: that would take it from its owner.
        let owner = crate::model::tags::owner_named(&o.config["tags"]);
        if p.adopt && p.enforce && owner.is_none() {
            return (hold_change(f, Verdict::Adopt), vec![]);
        }
        return (Verdict::Blocked(BlockReason::NotOwned { id: o.id.clone(), owner }), vec![]);
    }
    match &o.state {
        ObjectState::Busy(state) => return (Verdict::Wait(WaitReason::Busy(state.clone())), vec![]),
        // A failed object is of no use: it is made again (backoff spaces the attempts). Under
        // observe it is reported for a person.
        ObjectState::Failed(state) if p.enforce => return (hold_missing(f, Verdict::Recreate(state.clone())), vec![]),
        ObjectState::Failed(state) => return (Verdict::Blocked(BlockReason::Failed(state.clone())), vec![]),
        ObjectState::Ready => {}
    }
    let drift: Vec<FieldDrift> = f.drift.iter().map(|d| field_drift(f, d)).collect();
    // A desired-state change waits until what the resource depends on is ready: a record
    // switched to a new target moves traffic only once that target serves, never merely once it
    // exists. Drift is healed at once (it puts back what was already serving).
    let changes = drift.iter().any(|d| d.change && matches!(d.action, FieldAction::Update | FieldAction::Replace));
    if changes && !settling.is_empty() {
        return (Verdict::Wait(WaitReason::Dependencies(settling.clone())), drift);
    }
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

/// What happens to one differing field of an owned, ready object, and whether it is a change.
fn field_drift(f: &Facts, d: &Drift) -> FieldDrift {
    let p = &f.policy;
    let action = match d.fix {
        _ if ignores(f.ignored, &d.field) => FieldAction::Ignored,
        _ if !p.enforce => FieldAction::Report,
        Fix::InPlace => FieldAction::Update,
        Fix::Replace if p.allow_replacement => FieldAction::Replace,
        Fix::Replace => FieldAction::Immutable,
    };
    let change = p.enforce && is_change(f.applied, f.current, f.version_moved, &d.field);
    // Outside the heal window drift waits; changes wait only under `changes: window`, and
    // critical drift only under `critical: window`.
    let waits =
        f.closed_window.as_ref().is_some_and(|w| (!change || w.changes_wait) && (!d.critical || w.critical_waits));
    let action = match action {
        FieldAction::Update | FieldAction::Replace if waits => FieldAction::Deferred,
        action => action,
    };
    FieldDrift { drift: d.clone(), action, change }
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

    /// The verdict's word in `diff --live` (a contract: docs/cli.md). Paused shows what it holds.
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
            Verdict::Wait(WaitReason::NamedBy(named)) => {
                format!("removed from the desired state; deleted once {} no longer point at it", keys(named))
            }
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
            Verdict::Blocked(BlockReason::NotOwned { id, owner }) => {
                crate::status::not_owned_message(id, owner.as_deref())
            }
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
            Verdict::Wait(WaitReason::Dependencies(deps)) | Verdict::Wait(WaitReason::NamedBy(deps)) => deps.clone(),
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
mod tests;
