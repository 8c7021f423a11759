//! `accept` and `approve`: the drift policy verbs (src/ops/accept.rs), printed.

use super::context::{Ctx, Written};
use crate::ops::accept;
use anyhow::Result;
use serde_json::json;
use std::process::ExitCode;

pub async fn approve(ctx: &Ctx, target: &str) -> Result<ExitCode> {
    let current = ctx.find(target).await?;
    let key = current.manifest.key.clone();
    let plan = accept::prepare_approval(&ctx.store, &ctx.aws, &current).await?;
    ctx.store.approve_replacement(&key, &plan.consent, &ctx.actor().await?).await?;
    let line = format!(
        "{key}: replacement approved for {}; the controller deletes the object and makes it again (its data is lost)",
        plan.fields.join(", ")
    );
    let fields = json!({ "action": "approved", "fields": plan.fields });
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
    let plan = accept::prepare(&ctx.store, &ctx.aws, &current, fields, message).await?;
    if !dry_run {
        plan.commit(&ctx.store, &ctx.actor().await?).await?;
    }
    let names: Vec<&str> = plan.chosen.iter().map(|d| d.field.as_str()).collect();
    let mut line = match dry_run {
        true => format!("{key} would accept the live value of {} (dry run)", names.join(", ")),
        false => format!("{key} accepted the live value of {} (now version {})", names.join(", "), current.version + 1),
    };
    for d in &plan.chosen {
        line.push_str(&format!("\n    {}: {} → {}", d.field, d.desired, d.actual));
    }
    let version = if dry_run { current.version } else { current.version + 1 };
    let fields = json!({ "action": "accepted", "dryRun": dry_run, "version": version, "changes": plan.changes(), "driftActor": plan.drift_actor });
    ctx.print_written(&[Written { key, line, fields }])?;
    Ok(ExitCode::SUCCESS)
}
