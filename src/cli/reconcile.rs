//! `reconcile`, `status` and `diff --live`: the controller's work on demand.

use super::context::{Ctx, Output, parse_target};
use super::read::print_table;
use crate::daemon::lease::{LeaseConfig, LeaseGuard, Leases};
use crate::engine::backoff::BackoffPolicy;
use crate::engine::events::Events;
use crate::engine::{Engine, PassOptions, PlanEntry};
use crate::model::duration::parse_duration_secs;
use crate::model::guard::{Guard, NoGuard};
use crate::status::{ConditionType, Phase};
use anyhow::{Result, anyhow, bail};
use serde_json::json;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(super) fn engine(ctx: &Ctx, guard: Arc<dyn Guard>) -> Engine {
    Engine::new(ctx.store.clone(), ctx.aws.clone(), Events::default(), BackoffPolicy::default(), guard)
}

/// The leases `reconcile` holds while it changes AWS objects, renewed in the background.
struct Held {
    leases: Arc<Leases>,
    stacks: Vec<String>,
    renewing: tokio::task::JoinHandle<()>,
}

/// How long a one-shot reconcile's leases last without renewal (a killed run's stacks are free
/// again after this, or at once for the next run on the same host).
const CLI_LEASE: LeaseConfig =
    LeaseConfig { duration: Duration::from_secs(15), renew_every: Duration::from_secs(5), clock_offset_ms: 0 };

/// Takes the lease of every stack the run changes, as a controller replica does, so that a
/// reconcile beside a running controller never races it. A holder that is alive is not waited
/// for: the run is refused, naming it. One whose heartbeat stopped is taken over after a lease
/// duration. The replica id is stable per host, so a run killed midway is followed at once.
async fn take_leases(ctx: &Ctx, table: &str, stacks: &[String]) -> Result<Held> {
    let replica = format!("reconcile@{}", super::context::host_name());
    let leases = Leases::new(ctx.aws.dynamodb(), table, &replica, CLI_LEASE);
    leases.heartbeat().await?;
    let renewing = {
        let leases = leases.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(CLI_LEASE.renew_every).await;
                if let Err(e) = leases.heartbeat().await {
                    tracing::warn!(error = %e, "renewing the reconcile's leases failed");
                }
            }
        })
    };
    let mut held = Held { leases: leases.clone(), stacks: Vec::new(), renewing };
    for stack in stacks {
        let deadline = Instant::now() + CLI_LEASE.duration + Duration::from_secs(3);
        let mut told = false;
        loop {
            if leases.acquire(stack).await?.is_some() {
                held.stacks.push(stack.clone());
                break;
            }
            let controller = ctx.store.controllers(std::slice::from_ref(stack)).await?.remove(stack);
            let holder = controller.as_ref().and_then(|c| c.holder.clone()).unwrap_or_else(|| "another replica".into());
            if controller.as_ref().is_some_and(|c| c.alive) || Instant::now() >= deadline {
                held.release().await;
                bail!(
                    "stack {stack} is held by controller {holder}, which reconciles it; let it, stop it, or run \
                     reconcile --force to act beside it (two writers may then race)"
                );
            }
            if !told {
                eprintln!(
                    "waiting up to {} s for the lease of stack {stack}: its holder {holder} stopped",
                    CLI_LEASE.duration.as_secs()
                );
                told = true;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            leases.heartbeat().await?;
        }
    }
    Ok(held)
}

impl Held {
    async fn release(self) {
        self.renewing.abort();
        for stack in &self.stacks {
            if let Err(e) = self.leases.release(stack).await {
                tracing::warn!(stack = %stack, error = %e, "releasing a lease failed; it lapses by itself");
            }
        }
        self.leases.leave().await;
    }
}

pub(super) fn options(ctx: &Ctx, target: Option<&str>) -> Result<PassOptions> {
    let only = match target {
        Some(t) => {
            let (kind, name) = parse_target(t)?;
            Some((kind, name.ok_or_else(|| anyhow!("expected KIND/NAME, got {t:?}"))?))
        }
        None => None,
    };
    Ok(PassOptions { stacks: ctx.stack.as_ref().map(|s| vec![s.clone()]), only, ..PassOptions::default() })
}

/// `passes`: run exactly that many passes; None: until converged or the timeout. Holds the
/// leases of the stacks it changes (`force`: without them).
pub async fn reconcile(
    ctx: &Ctx,
    table: &str,
    target: Option<&str>,
    passes: Option<u32>,
    timeout: &str,
    force: bool,
) -> Result<ExitCode> {
    let timeout = parse_duration_secs(timeout)
        .ok_or_else(|| anyhow!("--timeout: expected a duration like 90s or 10m, got {timeout:?}"))?;
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let mut options = options(ctx, target)?;
    let touched = match &options.stacks {
        Some(stacks) => stacks.clone(),
        None => ctx.store.stacks().await?,
    };
    // The passes walk exactly the stacks whose leases were taken: a stack first applied while
    // this runs is left to its own reconcile or the controller (and the list is read once).
    options.stacks = Some(touched.clone());
    let held = match force {
        true => None,
        false => Some(take_leases(ctx, table, &touched).await?),
    };
    let guard: Arc<dyn Guard> = match &held {
        Some(h) => Arc::new(LeaseGuard(h.leases.clone())),
        None => Arc::new(NoGuard),
    };
    let result = passes_until(ctx, &engine(ctx, guard), &options, passes, timeout, deadline).await;
    if let Some(held) = held {
        held.release().await;
    }
    result
}

async fn passes_until(
    ctx: &Ctx,
    engine: &Engine,
    options: &PassOptions,
    passes: Option<u32>,
    timeout: u64,
    deadline: Instant,
) -> Result<ExitCode> {
    let mut done = 0;
    // The stacks passed whole (`reconcile` names them all: those whose leases it took).
    let whole_stacks: &[String] = match &options.only {
        Some(_) => &[],
        None => options.stacks.as_deref().unwrap_or_default(),
    };
    loop {
        let report = engine.pass(options).await?;
        done += 1;
        let at = crate::store::now();
        for stack in whole_stacks {
            ctx.store.record_pass(stack, &at).await?;
        }
        match passes {
            Some(n) if done >= n => return Ok(ExitCode::SUCCESS),
            Some(_) => continue,
            None if report.converged => {
                if report.deferred > 0 {
                    eprintln!(
                        "note: {} resource(s) drifted outside their heal window; healed when it opens (steward status says when)",
                        report.deferred
                    );
                }
                return Ok(ExitCode::SUCCESS);
            }
            None => {}
        }
        if Instant::now() >= deadline {
            let statuses = ctx.store.statuses(&ctx.store.stacks().await?).await?;
            let blocking: Vec<String> = statuses
                .iter()
                .filter(|(_, s)| !s.phase.is_settled())
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
    let controllers = ctx.store.controllers(&stacks).await?;
    // A resource was last observed by the later of its last status write and its stack's last
    // pass (a pass that changes nothing writes no status).
    let observed = |r: &crate::store::StoredResource, s: &crate::status::Status| -> Option<String> {
        let written = Some(s.last_observed_at.clone()).filter(|t| !t.is_empty());
        if s.phase == Phase::Pending {
            return written;
        }
        let pass = controllers.get(&r.manifest.key.stack).and_then(|c| c.last_pass_at.clone());
        written.max(pass)
    };
    let rows: Vec<_> = resources
        .iter()
        .filter(|r| {
            kind.is_none_or(|k| r.manifest.key.kind == k) && name.as_ref().is_none_or(|n| &r.manifest.key.name == n)
        })
        // Deleted resources stay listed until they are gone from AWS, or when asked for by name.
        .filter(|r| {
            !r.deleted || name.is_some() || statuses.get(&r.manifest.key).is_some_and(|s| s.phase != Phase::Deleted)
        })
        .map(|r| (r, statuses.get(&r.manifest.key).cloned().unwrap_or_default()))
        .collect();
    if ctx.output != Output::Table {
        let items: Vec<_> = rows
            .iter()
            .map(|(r, s)| json!({ "stack": r.manifest.key.stack, "kind": r.manifest.key.kind.as_str(), "name": r.manifest.key.name, "version": r.version, "paused": r.paused, "deleted": r.deleted, "lastObservedAt": observed(r, s), "controller": controllers.get(&r.manifest.key.stack), "status": s }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(ExitCode::SUCCESS);
    }
    for (stack, c) in &controllers {
        println!("{}", controller_line(stack, c));
    }
    println!();
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
        let yes = |c: ConditionType| if s.condition(c) { "yes" } else { "no" }.to_string();
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
            if s.phase == Phase::Pending { "(not reconciled yet)".into() } else { s.phase.to_string() },
            yes(ConditionType::Ready),
            yes(ConditionType::Synced),
            drift.join(","),
            s.consecutive_failures.to_string(),
            s.next_attempt_at.clone().unwrap_or_default(),
            observed(r, &s).as_deref().map(ago).unwrap_or_default(),
            message.chars().take(100).collect(),
        ]);
    }
    print_table(&table);
    Ok(ExitCode::SUCCESS)
}

/// How long ago an RFC 3339 time was, the way kubectl shows ages: `8s ago`, `3m ago`, `2h ago`.
pub fn ago(at: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(at) else { return at.to_string() };
    let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds().max(0);
    match secs {
        0..120 => format!("{secs}s ago"),
        120..7200 => format!("{}m ago", secs / 60),
        7200..172_800 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

/// One line per stack above the table: who runs it and when it last looked.
fn controller_line(stack: &str, c: &crate::store::Controller) -> String {
    let pass = c.last_pass_at.as_deref().map_or("no pass recorded".to_string(), |t| format!("last pass {}", ago(t)));
    format!("{}; {pass}", holder_line(stack, c))
}

/// Who holds a stack's lease, and whether that controller is alive.
pub fn holder_line(stack: &str, c: &crate::store::Controller) -> String {
    match (&c.holder, c.alive) {
        (Some(holder), true) => format!("stack {stack}: held by controller {holder}"),
        (Some(holder), false) => format!(
            "stack {stack}: lease held by {holder}, whose heartbeat has stopped (another replica takes it over after the lease duration)"
        ),
        (None, _) => format!("stack {stack}: no controller holds it (start `steward run`)"),
    }
}

/// `diff --live`: the pass's decisions, without acting. Exit 0 only when every resource in scope
/// is observed, settled and in sync; 2 when anything differs or has not converged; 1 when AWS
/// could not be read.
pub async fn diff_live(ctx: &Ctx, target: Option<&str>) -> Result<ExitCode> {
    let mut options = options(ctx, target)?;
    options.plan_only = true;
    let report = engine(ctx, Arc::new(NoGuard)).pass(&options).await?;
    let errors: Vec<&PlanEntry> = report.plan.iter().filter(|p| p.verdict == "error").collect();
    let differing = report.plan.iter().filter(|p| p.differs).count();
    if ctx.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&report.plan)?);
    } else {
        for p in report.plan.iter().filter(|p| p.differs || !p.drift.is_empty()) {
            print_plan_entry(p);
        }
        if differing == 0 {
            println!("no drift: AWS matches the desired state ({} resources in sync)", report.plan.len());
        } else {
            println!("{}", plan_summary(&report.plan));
        }
    }
    if let Some(first) = errors.first() {
        eprintln!(
            "error: could not read {} resource(s) from AWS, so the plan is incomplete; first: {}/{}: {}",
            errors.len(),
            first.kind,
            first.name,
            first.reason
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::from(if differing > 0 { 2 } else { 0 }))
}

fn print_plan_entry(p: &PlanEntry) {
    let mark = match p.verdict.as_str() {
        _ if p.paused => "‖",
        "create" | "adopt" => "+",
        "delete" => "-",
        "update" | "report" => "~",
        "replace" => "-/+",
        "in-sync" | "keep" => " ",
        _ => "!",
    };
    let verdict = if p.paused { format!("paused, would {}", p.verdict) } else { p.verdict.clone() };
    let reason = if p.reason.is_empty() || p.reason == "paused" { String::new() } else { format!(": {}", p.reason) };
    println!("{mark} {}/{} [stack {}] {verdict}{reason}", p.kind, p.name, p.stack);
    for d in &p.drift {
        println!("    {}: {} → {} ({})", d.field, d.actual, d.desired, d.action);
    }
}

/// `2 to update, 1 waiting, 1 blocked (16 resources)`.
fn plan_summary(plan: &[PlanEntry]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for p in plan.iter().filter(|p| p.differs) {
        let word = match p.verdict.as_str() {
            _ if p.paused => "paused with changes".to_string(),
            v @ ("create" | "adopt" | "update" | "replace" | "delete") => format!("to {v}"),
            "report" => "drifted (reported only)".into(),
            "wait" => "waiting".into(),
            other => other.to_string(),
        };
        match counts.iter_mut().find(|(w, _)| *w == word) {
            Some((_, n)) => *n += 1,
            None => counts.push((word, 1)),
        }
    }
    let parts: Vec<String> = counts.iter().map(|(w, n)| format!("{n} {w}")).collect();
    format!("{} ({} resources)", parts.join(", "), plan.len())
}
