//! `validate`, `apply` and `diff`: files against the stored desired state.

use super::context::{Ctx, Written};
use crate::manifest::{Manifest, ValidationErrors, load_paths, validate_set};
use crate::model::ResourceKey;
use crate::model::paths::{FieldChange, changes};
use crate::store::{Change, StoredResource};
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Create,
    Configure(Vec<FieldChange>),
    Unchanged,
    Prune,
}

impl Action {
    fn verb(&self) -> &'static str {
        match self {
            Action::Create => "created",
            Action::Configure(_) => "configured",
            Action::Unchanged => "unchanged",
            Action::Prune => "pruned",
        }
    }
}

/// What applying `manifests` over `stored` would do, resource by resource, and the store writes.
pub fn plan(
    manifests: &[Manifest],
    stored: &[StoredResource],
    prune: bool,
    message: &Option<String>,
) -> Vec<(ResourceKey, Action, Option<Change>)> {
    let by_key: BTreeMap<&ResourceKey, &StoredResource> = stored.iter().map(|r| (&r.manifest.key, r)).collect();
    let mut out = Vec::new();
    for m in manifests {
        let change = |op| Change {
            key: m.key.clone(),
            base_version: None,
            spec: m.spec.clone(),
            deleted: false,
            op,
            message: message.clone(),
        };
        match by_key.get(&m.key) {
            None => out.push((m.key.clone(), Action::Create, Some(change("create")))),
            Some(r) if r.deleted => out.push((
                m.key.clone(),
                Action::Create,
                Some(Change { base_version: Some(r.version), ..change("create") }),
            )),
            Some(r) if r.manifest.spec == m.spec => out.push((m.key.clone(), Action::Unchanged, None)),
            Some(r) => {
                let fields = changes("spec", &r.manifest.spec, &m.spec);
                out.push((
                    m.key.clone(),
                    Action::Configure(fields),
                    Some(Change { base_version: Some(r.version), ..change("update") }),
                ));
            }
        }
    }
    if prune {
        let stacks: BTreeSet<&str> = manifests.iter().map(|m| m.key.stack.as_str()).collect();
        let wanted: BTreeSet<&ResourceKey> = manifests.iter().map(|m| &m.key).collect();
        for r in stored.iter().filter(|r| {
            !r.deleted && stacks.contains(r.manifest.key.stack.as_str()) && !wanted.contains(&r.manifest.key)
        }) {
            let change = Change {
                key: r.manifest.key.clone(),
                base_version: Some(r.version),
                spec: r.manifest.spec.clone(),
                deleted: true,
                op: "delete",
                message: message.clone(),
            };
            out.push((r.manifest.key.clone(), Action::Prune, Some(change)));
        }
    }
    out
}

pub fn validate(files: &[PathBuf], stack: Option<&str>) -> ExitCode {
    match load_paths(files, stack).and_then(|ms| validate_set(&ms, &[]).map(|()| ms)) {
        Ok(ms) => {
            println!("{} resource(s) valid", ms.len());
            ExitCode::SUCCESS
        }
        Err(e) => report(&e, false),
    }
}

/// Prints every validation error; `writes`: the command would have written (apply), so it says
/// that nothing was.
fn report(errors: &ValidationErrors, writes: bool) -> ExitCode {
    if writes {
        eprintln!("{errors}")
    } else {
        eprintln!("{}", errors.listing())
    }
    ExitCode::from(1)
}

/// Loads the files, reads the stored state of their stacks and validates the result as a whole.
async fn load_against_store(
    ctx: &Ctx,
    files: &[PathBuf],
    prune: bool,
) -> Result<Result<(Vec<Manifest>, Vec<StoredResource>), ValidationErrors>> {
    let manifests = match load_paths(files, ctx.stack.as_deref()) {
        Ok(m) => m,
        Err(e) => return Ok(Err(e)),
    };
    let stacks: Vec<String> =
        manifests.iter().map(|m| m.key.stack.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let stored = ctx.store.resources(Some(&stacks)).await?;
    let in_files: BTreeSet<&ResourceKey> = manifests.iter().map(|m| &m.key).collect();
    // With --prune, resources missing from the files are going away: nothing may still reference them.
    let context: Vec<Manifest> = if prune {
        Vec::new()
    } else {
        stored
            .iter()
            .filter(|r| !r.deleted && !in_files.contains(&r.manifest.key))
            .map(|r| r.manifest.clone())
            .collect()
    };
    Ok(validate_set(&manifests, &context).map(|()| (manifests, stored)))
}

pub async fn apply(
    ctx: &Ctx,
    files: &[PathBuf],
    dry_run: bool,
    prune: bool,
    message: Option<String>,
) -> Result<ExitCode> {
    let (manifests, stored) = match load_against_store(ctx, files, prune).await? {
        Ok(v) => v,
        Err(e) => return Ok(report(&e, true)),
    };
    let planned = plan(&manifests, &stored, prune, &message);
    let writes: Vec<Change> = planned.iter().filter_map(|(_, _, c)| c.clone()).collect();
    if !dry_run && !writes.is_empty() {
        let actor = ctx.actor().await?;
        ctx.store.commit(&writes, &actor).await?;
    }
    let suffix = if dry_run { " (dry run)" } else { "" };
    let written: Vec<Written> = planned
        .iter()
        .map(|(key, action, _)| {
            let mut line = format!("{}/{} {}{suffix}  [stack {}]", key.kind, key.name, action.verb(), key.stack);
            let fields = match action {
                Action::Configure(fields) => fields.clone(),
                _ => Vec::new(),
            };
            // A dry run shows what it would write, as `diff` does.
            if dry_run {
                for f in &fields {
                    line.push_str(&format!("\n    {f}"));
                }
            }
            let changes: Vec<serde_json::Value> =
                fields.iter().map(|f| serde_json::json!({ "path": f.path, "from": f.old, "to": f.new })).collect();
            let json = serde_json::json!({ "action": action.verb(), "dryRun": dry_run, "changes": changes });
            Written { key: key.clone(), line, fields: json }
        })
        .collect();
    ctx.print_written(&written)?;
    Ok(ExitCode::SUCCESS)
}

pub async fn diff(ctx: &Ctx, files: &[PathBuf]) -> Result<ExitCode> {
    let (manifests, stored) = match load_against_store(ctx, files, false).await? {
        Ok(v) => v,
        Err(e) => return Ok(report(&e, false)),
    };
    let planned = plan(&manifests, &stored, false, &None);
    let mut changed = false;
    for (key, action, _) in &planned {
        match action {
            Action::Unchanged => continue,
            Action::Create => println!("+ {key} [stack {}]: will be created", key.stack),
            Action::Configure(fields) => {
                println!("~ {key} [stack {}]: {} field(s) change", key.stack, fields.len());
                for f in fields {
                    println!("    {f}");
                }
            }
            Action::Prune => println!("- {key} [stack {}]: will be deleted", key.stack),
        }
        changed = true;
    }
    if !changed {
        println!("no changes: the stored desired state matches the files");
    }
    Ok(ExitCode::from(if changed { 2 } else { 0 }))
}
