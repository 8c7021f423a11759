//! Drift policy verbs. `accept`: a change someone made on purpose in AWS becomes the desired
//! state; the live values of the drifted fields (all, or the ones named) are written as a new
//! version, with history saying it was accepted drift, by whom, and who made the drift where an
//! AWS event named them. `approve`: a one-time consent to replace an object for the drift that
//! only a new object can fix (a replacement loses a cache's data, so it waits for a person).

use super::context::{Ctx, Written, stack_context};
use super::reconcile::{engine, options};
use crate::engine::decide::FieldAction;
use crate::manifest::{Manifest, Source, parse_manifests, validate_set};
use crate::model::guard::NoGuard;
use crate::model::paths::{value_at, value_at_mut};
use crate::schema::yaml::to_yaml;
use crate::status::DriftCause;
use crate::store::Change;
use anyhow::{Result, bail};
use serde_json::{Value as Json, json};
use std::process::ExitCode;
use std::sync::Arc;

/// The plan entry of one resource: the same observation and decision as `diff --live KIND/NAME`.
async fn plan_of(ctx: &Ctx, key: &crate::model::ResourceKey) -> Result<crate::engine::PlanEntry> {
    let mut opts = options(ctx, Some(&format!("{}/{}", key.kind, key.name)))?;
    opts.stacks = Some(vec![key.stack.clone()]);
    opts.plan_only = true;
    let report = engine(ctx, Arc::new(NoGuard)).pass(&opts).await?;
    let Some(entry) = report.plan.into_iter().find(|p| p.kind == key.kind.to_string() && p.name == key.name) else {
        bail!("{key} was not observed; run steward diff --live {key} to see why");
    };
    if entry.verdict == "error" {
        bail!("{key} could not be read from AWS: {}", entry.reason);
    }
    Ok(entry)
}

pub async fn approve(ctx: &Ctx, target: &str) -> Result<ExitCode> {
    let current = ctx.find(target).await?;
    let key = current.manifest.key.clone();
    let entry = plan_of(ctx, &key).await?;
    let immutable: Vec<_> = entry.drift.iter().filter(|d| d.action == FieldAction::Immutable).collect();
    let Some(consent) = &entry.replacement_consent else {
        bail!("{key} has no drift that only a new object can fix; nothing to approve");
    };
    ctx.store.approve_replacement(&key, consent, &ctx.actor().await?).await?;
    let names: Vec<&str> = immutable.iter().map(|d| d.field.as_str()).collect();
    let line = format!(
        "{key}: replacement approved for {}; the controller deletes the object and makes it again (its data is lost)",
        names.join(", ")
    );
    let fields = json!({ "action": "approved", "fields": names });
    ctx.print_written(&[Written { key, line, fields }])?;
    Ok(ExitCode::SUCCESS)
}

pub async fn accept(
    ctx: &Ctx,
    target: &str,
    fields: &[String],
    message: Option<String>,
    dry_run: bool,
) -> Result<ExitCode> {
    let current = ctx.find(target).await?;
    let key = current.manifest.key.clone();
    let entry = plan_of(ctx, &key).await?;
    let drifted: Vec<_> = entry
        .drift
        .iter()
        .filter(|d| ![DriftCause::Change, DriftCause::Deleted, DriftCause::Missing].contains(&d.cause))
        .collect();
    if drifted.is_empty() {
        bail!("{key} is not drifted: AWS matches its desired state, so there is nothing to accept");
    }
    let chosen: Vec<_> = match fields {
        [] => drifted.clone(),
        named => {
            let unknown: Vec<&String> = named.iter().filter(|f| !drifted.iter().any(|d| &d.field == *f)).collect();
            if let Some(f) = unknown.first() {
                let list: Vec<&str> = drifted.iter().map(|d| d.field.as_str()).collect();
                bail!("{key}: {f} is not drifted; drifted fields: {}", list.join(", "));
            }
            drifted.iter().filter(|d| named.contains(&d.field)).cloned().collect()
        }
    };
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
    validate_set(&parsed, &stack_context(ctx, &key.stack, &key).await?)?;
    let names: Vec<&str> = chosen.iter().map(|d| d.field.as_str()).collect();
    let actor = chosen.iter().find_map(|d| d.actor.as_ref()).and_then(|a| a["principal"].as_str().map(str::to_string));
    let note = match &actor {
        Some(who) => format!("accepted drift of {} (made by {who})", names.join(", ")),
        None => format!("accepted drift of {}", names.join(", ")),
    };
    let message = Some(match message {
        Some(m) => format!("{m} ({note})"),
        None => note,
    });
    if !dry_run {
        let change = Change {
            key: key.clone(),
            base_version: Some(current.version),
            spec,
            deleted: false,
            op: "accept",
            message,
        };
        ctx.store.commit(&[change], &ctx.actor().await?).await?;
    }
    let changes: Vec<Json> =
        chosen.iter().map(|d| json!({ "path": d.field, "from": d.desired, "to": d.actual })).collect();
    let mut line = match dry_run {
        true => format!("{key} would accept the live value of {} (dry run)", names.join(", ")),
        false => format!("{key} accepted the live value of {} (now version {})", names.join(", "), current.version + 1),
    };
    for d in &chosen {
        line.push_str(&format!("\n    {}: {} → {}", d.field, d.desired, d.actual));
    }
    let version = if dry_run { current.version } else { current.version + 1 };
    let fields =
        json!({ "action": "accepted", "dryRun": dry_run, "version": version, "changes": changes, "driftActor": actor });
    ctx.print_written(&[Written { key, line, fields }])?;
    Ok(ExitCode::SUCCESS)
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
