//! Drift policy. Accept: a change someone made on purpose in AWS becomes the desired state; the
//! live values of the drifted fields (all, or the ones named) are written as a new version, with
//! history saying it was accepted drift, by whom, and who made the drift where an AWS event named
//! them. Approve: a one-time consent to replace an object for the drift that only a new object
//! can fix (a replacement loses a cache's data, so it waits for a person).

use super::{plan_of, stack_context};
use crate::aws::Aws;
use crate::engine::decide::FieldAction;
use crate::manifest::{Manifest, Source, parse_manifests, validate_set};
use crate::model::paths::{value_at, value_at_mut};
use crate::schema::yaml::to_yaml;
use crate::status::{DriftCause, DriftRecord};
use crate::store::{Change, Store, StoreError, StoredResource};
use anyhow::{Result, bail};
use serde_json::{Value as Json, json};
use std::sync::Arc;

/// What accepting writes: the chosen drifted fields and the new spec.
#[derive(Debug, Clone)]
pub struct AcceptPlan {
    pub chosen: Vec<DriftRecord<FieldAction>>,
    /// Who made the drift, where an AWS event named them.
    pub drift_actor: Option<String>,
    pub change: Change,
}

/// Prepares accepting the drift of `fields` (none: every drifted field) of `current`.
pub async fn prepare(
    store: &Arc<Store>,
    aws: &Aws,
    current: &StoredResource,
    fields: &[String],
    message: Option<String>,
) -> Result<AcceptPlan> {
    let key = current.manifest.key.clone();
    let entry = plan_of(store, aws, &key).await?;
    let drifted: Vec<_> = entry
        .drift
        .into_iter()
        .filter(|d| ![DriftCause::Change, DriftCause::Deleted, DriftCause::Missing].contains(&d.cause))
        .collect();
    if drifted.is_empty() {
        bail!("{key} is not drifted: AWS matches its desired state, so there is nothing to accept");
    }
    if let Some(f) = fields.iter().find(|f| !drifted.iter().any(|d| &d.field == *f)) {
        let list: Vec<&str> = drifted.iter().map(|d| d.field.as_str()).collect();
        bail!("{key}: {f} is not drifted; drifted fields: {}", list.join(", "));
    }
    let chosen: Vec<_> = drifted.into_iter().filter(|d| fields.is_empty() || fields.contains(&d.field)).collect();
    let adapter = crate::kinds::adapter(key.kind);
    let mut spec = current.manifest.spec.clone();
    for d in &chosen {
        let first = d.field.split(['.', '[']).next().unwrap_or_default();
        if adapter.secret_fields().contains(&first) || d.actual == json!("(sensitive)") {
            bail!("{key}: {} is a secret; it cannot be accepted (steward heals it)", d.field);
        }
        set_from_live(&mut spec, &d.field, &d.actual).map_err(|why| anyhow::anyhow!("{key}: {why}"))?;
    }
    // The new spec is checked as any manifest is (a view-only field is no spec field).
    let accepted = Manifest { key: key.clone(), spec: spec.clone(), source: Source { file: String::new(), line: 0 } };
    let text = to_yaml(&accepted.to_document());
    let parsed = parse_manifests(&text, &format!("{key} with the accepted values"), Some(&key.stack))?;
    validate_set(&parsed, &stack_context(store, &key.stack, &key).await?)?;
    let names: Vec<&str> = chosen.iter().map(|d| d.field.as_str()).collect();
    let drift_actor =
        chosen.iter().find_map(|d| d.actor.as_ref()).and_then(|a| a["principal"].as_str().map(str::to_string));
    let note = match &drift_actor {
        Some(who) => format!("accepted drift of {} (made by {who})", names.join(", ")),
        None => format!("accepted drift of {}", names.join(", ")),
    };
    let message = Some(match message {
        Some(m) => format!("{m} ({note})"),
        None => note,
    });
    let change = Change { key, base_version: Some(current.version), spec, deleted: false, op: "accept", message };
    Ok(AcceptPlan { chosen, drift_actor, change })
}

impl AcceptPlan {
    pub async fn commit(&self, store: &Store, actor: &str) -> Result<(), StoreError> {
        store.commit(std::slice::from_ref(&self.change), actor).await
    }

    /// The chosen fields: path, desired (from) and live (to) value.
    pub fn changes(&self) -> Vec<Json> {
        self.chosen.iter().map(|d| json!({ "path": d.field, "from": d.desired, "to": d.actual })).collect()
    }
}

/// What approving consents to: replacing the object for exactly this drift.
#[derive(Debug, Clone)]
pub struct ApprovePlan {
    /// The fields only a new object can fix.
    pub fields: Vec<String>,
    pub consent: String,
}

pub async fn prepare_approval(store: &Arc<Store>, aws: &Aws, current: &StoredResource) -> Result<ApprovePlan> {
    let key = &current.manifest.key;
    let entry = plan_of(store, aws, key).await?;
    let Some(consent) = entry.replacement_consent.clone() else {
        bail!("{key} has no drift that only a new object can fix; nothing to approve");
    };
    let fields = entry.drift.iter().filter(|d| d.action == FieldAction::Immutable).map(|d| d.field.clone()).collect();
    Ok(ApprovePlan { fields, consent })
}

/// Writes the live `value` at the diff path `field` of the spec (absent: removes it). Refused
/// where the spec does not hold the field as a plain value: a `${…}` reference (named), or a
/// value that is not written in the spec the way AWS shows it (selectors, computed fields).
fn set_from_live(spec: &mut Json, field: &str, value: &Json) -> Result<(), String> {
    let (parent_path, last) = match field.rsplit_once('.') {
        Some((p, l)) => (Some(p), l),
        None => (None, field),
    };
    if let Some(existing) = value_at(spec, field) {
        let text = existing.to_string();
        if text.contains("${") {
            let reference = text.split("${").nth(1).and_then(|r| r.split('}').next()).unwrap_or_default();
            return Err(format!("{field} comes from the reference ${{{reference}}}; change {reference} instead"));
        }
        if existing.is_array() || existing.is_object() {
            return Err(format!("{field} is written as selectors or a block in the spec; edit it (steward edit)"));
        }
    }
    let parent = match parent_path {
        Some(p) => value_at_mut(spec, p),
        None => Some(&mut *spec),
    };
    let Some(Json::Object(map)) = parent else {
        return Err(format!("{field} is not a field of the spec; edit the spec instead (steward edit)"));
    };
    if last.contains('[') {
        return Err(format!("{field} is an item of a list; edit the spec instead (steward edit)"));
    }
    match value {
        Json::Null => {
            map.remove(last);
        }
        v => {
            map.insert(last.to_string(), v.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_values_replace_plain_spec_values_and_references_are_refused() {
        let mut spec = json!({ "desiredCount": 1, "image": { "env": { "A": "x", "R": "${CacheCluster/r.address}" } }, "groups": ["sg-1"] });
        set_from_live(&mut spec, "desiredCount", &json!(3)).unwrap();
        set_from_live(&mut spec, "image.env.NEW", &json!("y")).unwrap();
        set_from_live(&mut spec, "image.env.A", &Json::Null).unwrap();
        assert_eq!(spec["desiredCount"], 3);
        assert_eq!(spec["image"]["env"], json!({ "NEW": "y", "R": "${CacheCluster/r.address}" }));
        let why = set_from_live(&mut spec, "image.env.R", &json!("other")).unwrap_err();
        assert!(why.contains("${CacheCluster/r.address}"), "{why}");
        assert!(set_from_live(&mut spec, "groups", &json!(["sg-2"])).is_err());
        assert!(set_from_live(&mut spec, "status", &json!("x")).is_ok(), "a top-level field");
        assert!(set_from_live(&mut spec, "nosuch.field", &json!(1)).is_err());
    }
}
