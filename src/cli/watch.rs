//! `apply --wait` and `status --watch`: a live view until every resource is ready. One line per
//! resource with a spinner on a terminal; plain lines (on change only) otherwise.

use super::Ctx;
use crate::duration::parse_duration;
use crate::status::Phase;
use anyhow::{Result, anyhow};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const SETTLED: [&str; 4] = ["Ready", "Deleted", "Retained", "Paused"];

pub async fn watch(ctx: &Ctx, stacks: &[String], target: Option<&str>, timeout: &str) -> Result<ExitCode> {
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
        let resources = ctx.store.resources(Some(stacks)).await?;
        let statuses = ctx.store.statuses(stacks).await?;
        let mut blocking = Vec::new();
        for r in &resources {
            let key = &r.manifest.key;
            if only.as_ref().is_some_and(|(k, n)| key.kind != *k || n.as_ref().is_some_and(|n| n != &key.name)) {
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
            let text = format!("{phase:<10} {}", detail.chars().take(90).collect::<String>());
            let settled = SETTLED.contains(&phase.as_str()) && current;
            if !settled {
                blocking.push(format!("{} ({phase})", key.short()));
            }
            let name = format!("{} [{}]", key.short(), key.stack);
            let entry = lines.entry(name.clone()).or_insert_with(|| {
                let bar = if tty { bars.add(ProgressBar::new_spinner()) } else { ProgressBar::hidden() };
                bar.set_style(style.clone());
                bar.set_prefix(name.clone());
                (bar, String::new())
            });
            if entry.1 != text {
                if !tty {
                    println!("{name}  {text}");
                }
                entry.1 = text.clone();
                entry.0.set_message(text);
            }
            if settled {
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
