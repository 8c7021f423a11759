//! Rollback: the spec of an earlier version becomes a new version (history is never rewritten).

use super::stack_context;
use crate::manifest::{Manifest, Source, validate_set};
use crate::store::{Change, Store, StoreError, StoredResource};
use anyhow::{Result, anyhow, bail};

/// What a rollback writes, or that nothing needs writing.
#[derive(Debug, Clone)]
pub struct RollbackPlan {
    /// The version whose spec comes back.
    pub to: u64,
    /// The current version it was prepared from (the commit fails if it moved on).
    pub from: u64,
    /// None: the resource already has that spec.
    pub change: Option<Change>,
}

/// Prepares a rollback of `current` to version `to` (None: the last earlier version that has a
/// spec), checked as any manifest is against the rest of its stack.
pub async fn prepare(
    store: &Store,
    current: &StoredResource,
    to: Option<u64>,
    message: Option<String>,
) -> Result<RollbackPlan> {
    let key = &current.manifest.key;
    let history = store.history(key).await?;
    let to = match to {
        Some(v) => v,
        None => {
            history.iter().rev().find(|e| e.version < current.version && !e.deleted).map(|e| e.version).ok_or_else(
                || anyhow!("{key} has no earlier version to go back to (it is at version {})", current.version),
            )?
        }
    };
    let entry = history.iter().find(|e| e.version == to).ok_or_else(|| {
        anyhow!("{key} has no version {to}; versions are 1 to {}", history.last().map_or(0, |e| e.version))
    })?;
    if entry.deleted {
        bail!("version {to} of {key} records its deletion; pick a version that has a spec");
    }
    if !current.deleted && current.manifest.spec == entry.spec {
        return Ok(RollbackPlan { to, from: current.version, change: None });
    }
    let restored = Manifest {
        spec: entry.spec.clone(),
        source: Source { file: format!("{key} version {to}"), line: 0 },
        key: key.clone(),
    };
    validate_set(std::slice::from_ref(&restored), &stack_context(store, &key.stack, key).await?)?;
    let change = Change {
        key: key.clone(),
        base_version: Some(current.version),
        spec: entry.spec.clone(),
        deleted: false,
        op: "rollback",
        message: Some(message.unwrap_or_else(|| format!("rollback to version {to}"))),
    };
    Ok(RollbackPlan { to, from: current.version, change: Some(change) })
}

impl RollbackPlan {
    /// Writes the new version; Conflict if someone changed the resource since it was prepared.
    pub async fn commit(&self, store: &Store, actor: &str) -> Result<(), StoreError> {
        match &self.change {
            Some(change) => store.commit(std::slice::from_ref(change), actor).await,
            None => Ok(()),
        }
    }
}
