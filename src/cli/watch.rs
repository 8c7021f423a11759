//! `apply --wait` (a live view until every resource is ready: a spinner per resource on a
//! terminal, plain lines on change otherwise) and `status --watch` (changes as they happen).

use super::context::Ctx;
use crate::model::duration::parse_duration;
use crate::status::Phase;
use anyhow::{Result, anyhow};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const SETTLED: [&str; 4] = ["Ready", "Deleted", "Retained", "Paused"];

/// One resource as the live views show it.
struct Row {
    name: String,
    text: String,
    settled: bool,
    blocking: String,
}

/// The resources in view and their state as last recorded.
async fn rows(ctx: &Ctx, stacks: &[String], only: Option<&(crate::model::Kind, Option<String>)>) -> Result<Vec<Row>> {
    let resources = ctx.store.resources(Some(stacks)).await?;
    let statuses = ctx.store.statuses(stacks).await?;
    let mut rows = Vec::new();
    for r in &resources {
        let key = &r.manifest.key;
        if only.is_some_and(|(k, n)| key.kind != *k || n.as_ref().is_some_and(|n| n != &key.name)) {
            continue;
        }
        let status = statuses.get(key).cloned().unwrap_or_default();
        if r.deleted && status.phase == Phase::Deleted {
            continue;
        }
        // A status older than the desired version is not an answer yet.
        let current = status.observed_generation >= r.version;
        let phase = if !current { Phase::Pending } else { status.phase };
        let detail = status
            .conditions
            .iter()
            .find(|c| c.status && !c.message.is_empty())
            .map(|c| c.message.clone())
            .or(status.last_error.clone())
            .unwrap_or_default();
        rows.push(Row {
            name: format!("{} [{}]", key.short(), key.stack),
            text: format!("{phase:<10} {}", detail.chars().take(90).collect::<String>()),
            settled: SETTLED.contains(&phase.as_str()) && current,
            blocking: format!("{} ({phase})", key.short()),
        });
    }
    Ok(rows)
}

/// `apply --wait`: until every resource is ready (exit 0) or the timeout passes (exit 1).
pub async fn wait_ready(ctx: &Ctx, stacks: &[String], target: Option<&str>, timeout: &str) -> Result<ExitCode> {
    let limit = parse_duration(timeout)
        .ok_or_else(|| anyhow!("--timeout: expected a duration like 90s or 10m, got {timeout:?}"))?;
    let deadline = Instant::now() + limit;
    let only = target.map(super::parse_target).transpose()?;
    let tty = std::io::stdout().is_terminal();
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{spinner} {prefix:<48} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let mut lines: BTreeMap<String, (ProgressBar, String)> = BTreeMap::new();
    loop {
        let mut blocking = Vec::new();
        for row in rows(ctx, stacks, only.as_ref()).await? {
            if !row.settled {
                blocking.push(row.blocking);
            }
            let entry = lines.entry(row.name.clone()).or_insert_with(|| {
                let bar = if tty { bars.add(ProgressBar::new_spinner()) } else { ProgressBar::hidden() };
                bar.set_style(style.clone());
                bar.set_prefix(row.name.clone());
                (bar, String::new())
            });
            if entry.1 != row.text {
                if !tty {
                    println!("{}  {}", row.name, row.text);
                }
                entry.1 = row.text.clone();
                entry.0.set_message(row.text);
            }
            if row.settled {
                entry.0.finish();
            } else {
                entry.0.tick();
            }
        }
        if blocking.is_empty() {
            println!("all resources ready");
            return Ok(ExitCode::SUCCESS);
        }
        if Instant::now() >= deadline {
            eprintln!("error: not ready after {timeout}: {}", blocking.join(", "));
            return Ok(ExitCode::from(1));
        }
        tokio::time::sleep(Duration::from_millis(if tty { 250 } else { 1000 })).await;
    }
}

/// `status --watch`: like `kubectl get -w`, every resource once, then one line per change (with
/// the time), until interrupted or, with `--timeout`, until that time has passed (exit 0).
pub async fn follow(ctx: &Ctx, stacks: &[String], target: Option<&str>, timeout: Option<&str>) -> Result<ExitCode> {
    let limit = match timeout {
        Some(t) => Some(
            parse_duration(t).ok_or_else(|| anyhow!("--timeout: expected a duration like 90s or 10m, got {t:?}"))?,
        ),
        None => None,
    };
    let deadline = limit.map(|l| Instant::now() + l);
    let only = target.map(super::parse_target).transpose()?;
    let mut shown: BTreeMap<String, String> = BTreeMap::new();
    let mut controllers: BTreeMap<String, String> = BTreeMap::new();
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        let at = chrono::Local::now().format("%H:%M:%S");
        for (stack, c) in ctx.store.controllers(stacks).await? {
            // Printed when who holds the stack changes (the pass time moves every pass).
            let line = super::reconcile::holder_line(&stack, &c);
            if controllers.get(&stack) != Some(&line) {
                println!("{at}  {line}");
                controllers.insert(stack, line);
            }
        }
        let rows = rows(ctx, stacks, only.as_ref()).await?;
        let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
        for row in rows {
            if shown.get(&row.name) != Some(&row.text) {
                println!("{at}  {:<48} {}", row.name, row.text);
                shown.insert(row.name, row.text);
            }
        }
        for gone in shown.keys().filter(|n| !names.contains(n)).cloned().collect::<Vec<_>>() {
            println!("{at}  {gone:<48} (gone)");
            shown.remove(&gone);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::select! {
            _ = &mut interrupted => return Ok(ExitCode::SUCCESS),
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
