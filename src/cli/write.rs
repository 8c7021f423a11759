//! `rollback`, `pause`/`resume` and `delete`: changes to one resource or stack.

use super::context::{Ctx, Written, stack_context};
use crate::manifest::references;
use crate::store::Change;
use anyhow::{Result, anyhow, bail};
use serde_json::json;
use std::process::ExitCode;

pub async fn rollback(ctx: &Ctx, target: &str, to: Option<u64>, message: Option<String>) -> Result<ExitCode> {
    let current = ctx.find_any(target).await?;
    let key = current.manifest.key.clone();
    let plan = crate::ops::rollback::prepare(&ctx.store, &current, to, message).await?;
    let to = plan.to;
    let (line, fields) = match &plan.change {
        None => (
            format!("{key} already has the spec of version {to}; nothing written"),
            json!({ "action": "unchanged", "toVersion": to, "version": current.version }),
        ),
        Some(_) => {
            plan.commit(&ctx.store, &ctx.actor().await?).await?;
            let now = current.version + 1;
            (
                format!("{key} rolled back to the spec of version {to} (now version {now})"),
                json!({ "action": "rolled-back", "toVersion": to, "version": now }),
            )
        }
    };
    ctx.print_written(&[Written { key, line, fields }])?;
    Ok(ExitCode::SUCCESS)
}

pub async fn pause(ctx: &Ctx, target: Option<&str>, paused: bool) -> Result<ExitCode> {
    let verb = if paused { "paused" } else { "resumed" };
    let actor = ctx.actor().await?;
    match target {
        Some(t) => {
            let r = ctx.find(t).await?;
            let key = r.manifest.key;
            let changed = ctx.store.set_paused(&key.stack, Some(&key), paused, &actor).await?;
            println!("{key} {}", if changed { verb.to_string() } else { format!("was already {verb}") });
        }
        None => {
            let stack =
                ctx.stack.as_deref().ok_or_else(|| anyhow!("name a resource (KIND/NAME) or a stack (--stack S)"))?;
            if !ctx.store.stacks().await?.iter().any(|s| s == stack) {
                bail!("stack {stack:?} not found");
            }
            let changed = ctx.store.set_paused(stack, None, paused, &actor).await?;
            println!("stack {stack} {}", if changed { verb.to_string() } else { format!("was already {verb}") });
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn delete(ctx: &Ctx, target: &str, message: Option<String>) -> Result<ExitCode> {
    let r = ctx.find(target).await?;
    let key = r.manifest.key.clone();
    let dependents: Vec<String> = stack_context(ctx, &key.stack, &key)
        .await?
        .iter()
        .filter(|m| references::dependencies(m).contains(&key))
        .map(|m| m.key.short())
        .collect();
    if !dependents.is_empty() {
        bail!("{key} is referenced by {}; change or delete those first", dependents.join(", "));
    }
    let policy = r.manifest.deletion_policy().to_string();
    let change = Change {
        key: key.clone(),
        base_version: Some(r.version),
        spec: r.manifest.spec,
        deleted: true,
        op: "delete",
        message,
    };
    ctx.store.commit(&[change], &ctx.actor().await?).await?;
    let effect = if policy == "Delete" {
        "the controller will delete it in AWS"
    } else {
        "the controller will leave it in AWS (deletionPolicy Retain)"
    };
    let line = format!("{key} deleted from the desired state; {effect}");
    let fields = json!({ "action": "deleted", "deletionPolicy": policy, "version": r.version + 1 });
    ctx.print_written(&[Written { key, line, fields }])?;
    Ok(ExitCode::SUCCESS)
}
