//! From what the store holds and what AWS showed to the decision's inputs: the field diff, what
//! was applied, the policies, holds and the heal window. Pure: the throttling hold and the time
//! come in as arguments.

use super::decide::{self, ClosedWindow, Decision, Facts, Hold, Policy, Resolution};
use crate::manifest::Manifest;
use crate::model::ResourceKey;
use crate::model::clock::{parse_time, rfc3339};
use crate::model::heal_window::HealWindow;
use crate::model::paths::{changes_with_sets, fingerprint, left_to_aws};
use crate::model::{Adapter, Desired, Drift, Observed};
use crate::status::{Phase, Status};
use crate::store::StoredResource;
use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};
use std::time::Duration;

/// One resource on its way through a pass.
pub struct Item<'a> {
    pub r: &'a StoredResource,
    /// Resolved for this pass, with the kind's desired view of it.
    pub desired: Option<(Desired, Json)>,
    pub resolution: Resolution,
    pub prev: Status,
    /// The resource or its stack is paused.
    pub paused: bool,
    /// The heal window that applies (the resource's own, else its stack's).
    pub window: Option<HealWindow>,
    /// Its resync, its own or its stack's, in seconds (a terminal error waits this long).
    pub resync_secs: u64,
    /// Removed: the live resources whose last applied configuration still names its object.
    pub named_by: Vec<ResourceKey>,
}

/// The field diff between the desired view and the observed configuration. Only the fields the
/// desired view names are managed: a field the spec leaves out keeps whatever AWS has, as
/// Terraform does with optional computed attributes (see `left_to_aws`).
pub fn diff(adapter: &dyn Adapter, view: &Json, exact_tags: bool, observed: &Observed) -> Vec<Drift> {
    let mut managed: Json = match (&observed.config, view) {
        (Json::Object(actual), Json::Object(wanted)) => Json::Object(
            actual
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), left_to_aws(v.clone(), wanted.get(k)?, adapter.set_fields()))))
                .collect(),
        ),
        (actual, _) => actual.clone(),
    };
    // Tag policy merge: keys others added (cost allocation, backup tooling) are theirs.
    if !exact_tags
        && let (Some(Json::Object(have)), Some(Json::Object(want))) = (managed.get_mut("tags"), view.get("tags"))
    {
        have.retain(|k, _| want.contains_key(k));
    }
    changes_with_sets("", &managed, view, adapter.set_fields())
        .into_iter()
        .map(|c| Drift {
            fix: adapter.fix_for_change(
                &c.path,
                c.new.as_ref().unwrap_or(&Json::Null),
                c.old.as_ref().unwrap_or(&Json::Null),
            ),
            critical: adapter.critical(
                &c.path,
                c.new.as_ref().unwrap_or(&Json::Null),
                c.old.as_ref().unwrap_or(&Json::Null),
            ),
            desired: c.new.unwrap_or(Json::Null),
            actual: c.old.unwrap_or(Json::Null),
            field: c.path,
        })
        .collect()
}

/// The desired view as recorded for "last applied": secret fields only as fingerprints.
pub fn applied_view(adapter: &dyn Adapter, view: &Json) -> Json {
    let mut view = view.clone();
    if let Json::Object(fields) = &mut view {
        for (field, value) in fields.iter_mut() {
            if adapter.sensitive(field) {
                *value = json!(fingerprint(value));
            }
        }
    }
    view
}

/// A value as events, statuses and plans show it: a secret only as `(sensitive)`.
pub fn shown(adapter: &dyn Adapter, field: &str, value: &Json) -> Json {
    if adapter.sensitive(field) { json!("(sensitive)") } else { value.clone() }
}

pub fn policy_of(m: &Manifest) -> Policy {
    let flag = |f: &str| m.spec.get(f).and_then(Json::as_bool) == Some(true);
    Policy {
        enforce: m.management_policy() == "enforce",
        retain: m.deletion_policy() == "Retain",
        adopt: flag("adopt"),
        allow_replacement: flag("allowReplacement"),
    }
}

/// The window as the decision sees it: None when there is none or it is open now.
pub fn closed_window(window: Option<&HealWindow>, now: DateTime<Utc>) -> Option<ClosedWindow> {
    let w = window.filter(|w| !w.is_open(now))?;
    let opens_at = w.next_open(now).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    Some(ClosedWindow {
        window: w.describe(),
        opens_at: opens_at.unwrap_or_else(|| "never".into()),
        missing_waits: w.missing_waits,
        changes_wait: w.changes_wait,
        critical_waits: w.critical_waits,
    })
}

/// The consent `steward approve` gives for replacing this resource's object for this drift.
pub fn replacement_consent(prev: &Status, decision: &Decision, observed: Option<&Observed>) -> Option<String> {
    let creates = prev.memo.get("creates").and_then(Json::as_u64).unwrap_or(0);
    observed.and_then(|o| decide::replacement_fingerprint(decision, &format!("{} #{creates}", o.id)))
}

/// The decision for one resource. `throttled`: how much longer its service's calls are held.
pub fn decision(
    adapter: &dyn Adapter,
    item: &Item,
    observed: Option<&Observed>,
    throttled: Option<Duration>,
    now: DateTime<Utc>,
) -> Decision {
    let drift = match (&item.desired, observed, &item.resolution) {
        (Some((d, view)), Some(o), Resolution::Resolved { .. }) if o.owned && !item.r.deleted => {
            diff(adapter, view, d.exact_tags, o)
        }
        _ => Vec::new(),
    };
    let backoff = item
        .prev
        .next_attempt_at
        .as_deref()
        .filter(|t| parse_time(t).is_some_and(|t| t > now))
        .map(|t| Hold::Backoff { until: t.to_string() });
    let throttled = throttled.map(|d| Hold::Throttled { remaining_ms: d.as_millis() as u64 });
    let current = item.desired.as_ref().map(|(_, view)| applied_view(adapter, view));
    let prev = &item.prev;
    let ignored: Vec<String> = item.r.manifest.spec["ignoreChanges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect();
    let facts = Facts {
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
        closed_window: closed_window(item.window.as_ref(), now),
        named_by: &item.named_by,
    };
    let decision = decide::decide(&facts);
    // A person approved replacing the object for exactly this drift (`steward approve`).
    let consent = replacement_consent(&item.prev, &decision, observed);
    let approved = consent.is_some() && consent == item.r.approved_replacement;
    match approved {
        true => decide::decide(&Facts { policy: Policy { allow_replacement: true, ..facts.policy }, ..facts }),
        false => decision,
    }
}

/// When the decision's heal window opens, if it holds drift.
pub fn window_opens(decision: &Decision) -> Option<DateTime<Utc>> {
    match decision.verdict.unpaused() {
        decide::Verdict::Wait(decide::WaitReason::Held { hold: Hold::Window(w), .. }) => parse_time(&w.opens_at),
        _ => None,
    }
}

/// A status for this pass: all conditions reset, computed from desired-state `version`, observed `now`.
pub fn observed_status(prev: &Status, version: u64, now: DateTime<Utc>) -> Status {
    let mut status = Status::fresh(prev);
    status.observed_generation = version;
    status.last_observed_at = rfc3339(now);
    status
}
