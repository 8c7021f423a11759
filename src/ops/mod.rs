//! What people do to the desired state besides applying files: roll back to a version, accept
//! drift, approve a replacement. The command line and the console both call these, so that a
//! change made from either is checked, recorded and refused the same way. Each operation is
//! prepared first (what would change, for a dry run or a confirmation page), then committed
//! with the caller's ARN.

pub mod accept;
pub mod rollback;

use crate::aws::Aws;
use crate::engine::backoff::BackoffPolicy;
use crate::engine::events::Events;
use crate::engine::{Engine, PassOptions, PlanEntry};
use crate::manifest::Manifest;
use crate::model::ResourceKey;
use crate::model::guard::NoGuard;
use crate::store::Store;
use anyhow::{Result, anyhow, bail};
use std::sync::Arc;

/// The caller's ARN (sts:GetCallerIdentity), recorded with every change.
pub async fn caller(sts: &aws_sdk_sts::Client) -> Result<String> {
    let out = sts.get_caller_identity().send().await.map_err(|e| {
        anyhow!("cannot tell who you are (sts:GetCallerIdentity): {}", aws_sdk_sts::error::DisplayErrorContext(e))
    })?;
    out.arn.ok_or_else(|| anyhow!("sts:GetCallerIdentity returned no ARN"))
}

/// The stored resources of one stack other than `except`, as manifests to validate a change
/// against.
pub async fn stack_context(store: &Store, stack: &str, except: &ResourceKey) -> Result<Vec<Manifest>> {
    let stored = store.resources(Some(&[stack.to_string()])).await?;
    Ok(stored.into_iter().filter(|r| !r.deleted && &r.manifest.key != except).map(|r| r.manifest).collect())
}

/// One resource's plan entry: the same observation and decision as `diff --live KIND/NAME`.
pub async fn plan_of(store: &Arc<Store>, aws: &Aws, key: &ResourceKey) -> Result<PlanEntry> {
    let engine =
        Engine::new(store.clone(), aws.clone(), Events::default(), BackoffPolicy::default(), Arc::new(NoGuard));
    let options = PassOptions {
        stacks: Some(vec![key.stack.clone()]),
        only: Some((key.kind, key.name.clone())),
        plan_only: true,
        ..PassOptions::default()
    };
    let report = engine.pass(&options).await?;
    let Some(entry) = report.plan.into_iter().find(|p| p.kind == key.kind.to_string() && p.name == key.name) else {
        bail!("{key} was not observed; run steward diff --live {key} to see why");
    };
    if entry.verdict == "error" {
        bail!("{key} could not be read from AWS: {}", entry.reason);
    }
    Ok(entry)
}
