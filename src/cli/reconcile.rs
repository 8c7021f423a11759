//! `reconcile`, `status` and `diff --live`: the controller's work on demand.

use super::read::print_table;
use super::{Ctx, Output, parse_target};
use crate::engine::backoff::BackoffPolicy;
use crate::engine::events::Events;
use crate::engine::{Engine, NoGuard, PassOptions};
use crate::kinds::stack::parse_duration_secs;
use anyhow::{Result, anyhow};
use serde_json::json;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn engine(ctx: &Ctx) -> Engine {
    Engine::new(ctx.store.clone(), ctx.aws.clone(), Events::default(), BackoffPolicy::default(), Arc::new(NoGuard))
}

fn options(ctx: &Ctx, target: Option<&str>) -> Result<PassOptions> {
    let only = match target {
        Some(t) => {
            let (kind, name) = parse_target(t)?;
            Some((kind, name.ok_or_else(|| anyhow!("expected KIND/NAME, got {t:?}"))?))
        }
        None => None,
    };
    Ok(PassOptions { stacks: ctx.stack.as_ref().map(|s| vec![s.clone()]), only, plan_only: false })
}

/// `passes`: run exactly that many passes; None: until converged or the timeout.
pub async fn reconcile(ctx: &Ctx, target: Option<&str>, passes: Option<u32>, timeout: &str) -> Result<ExitCode> {
    let timeout = parse_duration_secs(timeout)
        .ok_or_else(|| anyhow!("--timeout: expected a duration like 90s or 10m, got {timeout:?}"))?;
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let engine = engine(ctx);
    let options = options(ctx, target)?;
    let mut done = 0;
    loop {
        let report = engine.pass(&options).await?;
        done += 1;
        match passes {
            Some(n) if done >= n => return Ok(ExitCode::SUCCESS),
            Some(_) => continue,
            None if report.converged => return Ok(ExitCode::SUCCESS),
            None => {}
        }
        if Instant::now() >= deadline {
            let statuses = ctx.store.statuses(&ctx.store.stacks().await?).await?;
            let blocking: Vec<String> = statuses
                .iter()
                .filter(|(_, s)| !["Ready", "Deleted", "Retained", "Paused"].contains(&s.phase.as_str()))
                .map(|(k, s)| format!("{} ({})", k.short(), s.phase))
                .collect();
            eprintln!("error: not converged after {timeout} s; still blocking: {}", blocking.join(", "));
            return Ok(ExitCode::from(1));
        }
        // Transitional states requeue on a short fixed delay.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub async fn status(ctx: &Ctx, target: Option<&str>) -> Result<ExitCode> {
    let (kind, name) = match target {
        Some(t) => parse_target(t).map(|(k, n)| (Some(k), n))?,
        None => (None, None),
    };
    let stacks = match &ctx.stack {
        Some(s) => vec![s.clone()],
        None => ctx.store.stacks().await?,
    };
    let resources = ctx.store.resources(Some(&stacks)).await?;
    let statuses = ctx.store.statuses(&stacks).await?;
    let rows: Vec<_> = resources
        .iter()
        .filter(|r| {
            kind.is_none_or(|k| r.manifest.key.kind == k) && name.as_ref().is_none_or(|n| &r.manifest.key.name == n)
        })
        // Deleted resources stay listed until they are gone from AWS, or when asked for by name.
        .filter(|r| !r.deleted || name.is_some() || statuses.get(&r.manifest.key).is_some_and(|s| s.phase != "Deleted"))
        .map(|r| (r, statuses.get(&r.manifest.key).cloned().unwrap_or_default()))
        .collect();
    if ctx.output != Output::Table {
        let items: Vec<_> = rows
            .iter()
            .map(|(r, s)| json!({ "stack": r.manifest.key.stack, "kind": r.manifest.key.kind.as_str(), "name": r.manifest.key.name, "version": r.version, "paused": r.paused, "deleted": r.deleted, "status": s }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = vec![
        [
            "STACK",
            "KIND",
            "NAME",
            "PHASE",
            "READY",
            "SYNCED",
            "DRIFT",
            "FAILURES",
            "NEXT ATTEMPT",
            "OBSERVED",
            "MESSAGE",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (r, s) in rows {
        let yes = |c: &str| if s.condition(c) { "yes" } else { "no" }.to_string();
        let message = s
            .conditions
            .iter()
            .filter(|c| c.status && !c.message.is_empty())
            .map(|c| c.message.clone())
            .next()
            .or(s.last_error.clone())
            .unwrap_or_default();
        let drift: Vec<&str> = s.last_drift.iter().map(|d| d.field.as_str()).collect();
        table.push(vec![
            r.manifest.key.stack.clone(),
            r.manifest.key.kind.to_string(),
            r.manifest.key.name.clone(),
            if s.phase.is_empty() { "(not reconciled yet)".into() } else { s.phase.clone() },
            yes("Ready"),
            yes("Synced"),
            drift.join(","),
            s.consecutive_failures.to_string(),
            s.next_attempt_at.clone().unwrap_or_default(),
            s.last_observed_at.get(11..19).unwrap_or_default().to_string(),
            message.chars().take(100).collect(),
        ]);
    }
    print_table(&table);
    Ok(ExitCode::SUCCESS)
}

pub async fn diff_live(ctx: &Ctx, target: Option<&str>) -> Result<ExitCode> {
    let mut options = options(ctx, target)?;
    options.plan_only = true;
    let report = engine(ctx).pass(&options).await?;
    let mut changes = 0;
    if ctx.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&report.plan)?);
        changes = report.plan.iter().filter(|p| !["none", "wait"].contains(&p.action.as_str())).count();
    } else {
        for p in &report.plan {
            let mark = match p.action.as_str() {
                "create" => "+",
                "delete" => "-",
                "update" | "report" => "~",
                "replace" => "-/+",
                "none" => continue,
                _ => "!",
            };
            if !["wait"].contains(&p.action.as_str()) {
                changes += 1;
            }
            let reason = if p.reason.is_empty() { String::new() } else { format!(": {}", p.reason) };
            println!("{mark} {}/{} [stack {}] {}{reason}", p.kind, p.name, p.stack, p.action);
            for d in &p.drift {
                println!("    {}: {} → {}", d.field, d.actual, d.desired);
            }
        }
        if changes == 0 {
            println!("no drift: AWS matches the desired state");
        }
    }
    Ok(ExitCode::from(if changes > 0 { 2 } else { 0 }))
}
