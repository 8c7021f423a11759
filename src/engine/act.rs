//! The act stage: the adapter calls a verdict asks for, and nothing else (no status, no event).

use super::decide::{Decision, Verdict};
use crate::kinds::retag;
use crate::model::tags::{is_tag_field, ownership_tags};
use crate::model::{Adapter, Cx, Desired, Drift, Observed, ReconcileError};
use serde_json::Value as Json;

/// What the act stage did.
#[derive(Debug, Clone)]
pub enum Acted {
    /// The verdict calls for no AWS change (or its failure was already known: see `record`).
    Nothing,
    /// AWS accepted the call(s); the kind may have returned facts for the memo.
    Done(Option<Json>),
    Failed(ReconcileError),
}

/// Carries out the verdict's AWS calls. `retire`: whether an in-sync object's superseded
/// leftovers may be deleted (never for an observe-only resource).
pub async fn act(
    adapter: &dyn Adapter,
    cx: &Cx<'_>,
    decision: &Decision,
    desired: &Desired,
    observed: Option<&Observed>,
    retire: bool,
) -> Acted {
    let done = match (&decision.verdict, observed) {
        (Verdict::InSync, Some(o)) if retire => adapter.retire_superseded(cx, o).await.map(|()| None),
        (Verdict::Create, _) => adapter.create(cx, desired).await.map(Some),
        (Verdict::Adopt, Some(o)) => adopt(adapter, cx, desired, o).await.map(|()| adapter.adopted_memo(o)),
        (Verdict::Delete | Verdict::Recreate(_), Some(o)) => adapter.delete(cx, o).await.map(|()| None),
        (Verdict::Update, Some(o)) => update_in_parts(adapter, cx, desired, o, decision.fixable()).await,
        (Verdict::Replace, Some(o)) => adapter.update(cx, desired, o, &decision.fixable()).await.map(Some),
        _ => return Acted::Nothing,
    };
    match done {
        Ok(memo) => Acted::Done(memo),
        Err(e) => Acted::Failed(e),
    }
}

/// Adoption puts the ownership tags where the kind keeps its tags; a kind without AWS tags
/// marks ownership its own way.
async fn adopt(adapter: &dyn Adapter, cx: &Cx<'_>, desired: &Desired, o: &Observed) -> Result<(), ReconcileError> {
    match adapter.tagged(o) {
        Some(target) => retag(cx, target, &ownership_tags(&desired.key), &[]).await,
        None => adapter.adopt(cx, desired, o).await,
    }
}

/// An in-place update: tag drift through `retag`, the other fields through the kind's `update`.
async fn update_in_parts(
    adapter: &dyn Adapter,
    cx: &Cx<'_>,
    desired: &Desired,
    observed: &Observed,
    fixable: Vec<Drift>,
) -> Result<Option<Json>, ReconcileError> {
    let (tags, other): (Vec<_>, Vec<_>) = fixable.into_iter().partition(|d| is_tag_field(&d.field));
    if !tags.is_empty() {
        // Only under tagPolicy exact are keys steward did not declare removed.
        let remove: Vec<String> = match desired.exact_tags {
            true => observed.config["tags"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k.clone())
                .filter(|k| !desired.tags.contains_key(k))
                .collect(),
            false => Vec::new(),
        };
        if let Some(target) = adapter.tagged(observed) {
            retag(cx, target, &desired.tags, &remove).await?;
        }
    }
    if other.is_empty() {
        return Ok(None);
    }
    adapter.update(cx, desired, observed, &other).await.map(Some)
}
