//! The kind author's contract: what a kind's adapter (in `kinds/`) gives the engine, and what the
//! engine hands it. Nothing here decides anything: the engine's `decide` stage does.
//!
//! What a kind author must know:
//! - `observe` is batched (one list/describe per page for all wanted resources of the kind in a
//!   region) and never changes anything. An object that has the resource's identity but lacks
//!   its ownership tags is returned with `owned: false`, so that steward never creates a
//!   duplicate beside it and never modifies what it does not own.
//! - `desired_view` and `Observed::config` have the same shape; the engine diffs them. Only the
//!   top-level fields the desired view names are managed (a field the spec leaves out keeps
//!   whatever AWS has). Lists named in `set_fields` are compared as sets.
//! - `fix_for`/`fix_for_change` say how a differing field is fixed. A replacement is the
//!   engine's decision (the verdict `Replace`, under `allowReplacement` or `steward approve`):
//!   `update` is called with the drift it may fix in place, and never deletes or recreates the
//!   object on its own to fix a field.
//! - Every mutating call is preceded by `cx.may_mutate()` (the daemon's lease check) and is
//!   idempotent: creates carry a client token or an identity AWS refuses twice, so a crash at
//!   any point can be retried.
//! - Tags are the engine's: drift under `tags` is fixed through `tagged` (the kind says where its
//!   tags live), not through `update`.
//! - Errors are `ReconcileError`s: AWS's own (classified by code), or `InvalidSpec` where the
//!   spec cannot make a valid request. Never send an empty string where a value is missing.

use super::cache::Cache;
use super::clients::Clients;
use super::error::{AsyncFailure, ReconcileError};
use super::guard::Guard;
use super::key::ResourceKey;
use super::tags::{Tagged, ownership_tags};
use async_trait::async_trait;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::time::Instant;

/// What one resource should be, with references and selectors resolved for this pass.
#[derive(Debug, Clone)]
pub struct Desired {
    pub key: ResourceKey,
    /// The resolved spec, as validated (common fields included); kinds read it through
    /// `spec_as`, into their own typed spec.
    pub spec: Json,
    /// Stack default tags, the spec's tags and the ownership tags.
    pub tags: BTreeMap<String, String>,
    pub region: String,
    pub vpc_id: String,
    pub version: u64,
    /// The previous status's memo (facts the kind keeps between passes).
    pub memo: Json,
    /// The stack's `tagPolicy: exact`: tags steward did not declare are drift and are removed.
    /// By default (`merge`) only the declared keys are compared and enforced.
    pub exact_tags: bool,
}

/// Fields every kind's spec accepts, which the engine reads (policies, timing): a kind's own
/// spec struct never sees them.
pub const COMMON_FIELDS: &[&str] =
    &["managementPolicy", "deletionPolicy", "adopt", "allowReplacement", "ignoreChanges", "resync", "healWindow"];

impl Desired {
    pub fn ownership_tags(&self) -> BTreeMap<String, String> {
        ownership_tags(&self.key)
    }

    /// The kind's own spec (common fields left out), typed. Validation makes this succeed for
    /// every stored spec; an error means a spec the kind cannot turn into a request.
    pub fn spec_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, ReconcileError> {
        self.spec_except(&[])
    }

    /// `spec_as` with the fields `also` left out as well (the tags, which are the engine's).
    pub fn spec_except<T: serde::de::DeserializeOwned>(&self, also: &[&str]) -> Result<T, ReconcileError> {
        kind_spec_except(&self.spec, also).map_err(|e| {
            ReconcileError::invalid_spec("read spec", format!("{}: spec does not fit its kind: {e}", self.key.short()))
        })
    }

    /// A number kept in the memo (`creates`: how many objects steward made for the resource).
    pub fn memo_count(&self, name: &str) -> u64 {
        self.memo.get(name).and_then(Json::as_u64).unwrap_or(0)
    }
}

/// A kind's own spec from a whole spec: the common fields taken out.
pub fn kind_spec<T: serde::de::DeserializeOwned>(spec: &Json) -> Result<T, serde_json::Error> {
    kind_spec_except(spec, &[])
}

/// `kind_spec` with the fields `also` taken out as well (the tags, which are the engine's).
fn kind_spec_except<T: serde::de::DeserializeOwned>(spec: &Json, also: &[&str]) -> Result<T, serde_json::Error> {
    let mut own = spec.clone();
    if let Json::Object(fields) = &mut own {
        fields.retain(|k, _| !COMMON_FIELDS.contains(&k.as_str()) && !also.contains(&k.as_str()));
    }
    serde_json::from_value(own)
}

/// The state AWS reports for an object, as the kind reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectState {
    Ready,
    /// A transitional state (creating, modifying, OPERATION_IN_PROGRESS, pending): wait, not a failure.
    Busy(String),
    /// A failed state (CREATE_FAILED, DELETE_FAILED, incompatible-network): the object is
    /// deleted and made again, after a backoff that grows with each failure.
    Failed(String),
}

/// One real object as a kind's observe found it.
#[derive(Debug, Clone)]
pub struct Observed {
    /// What later calls address it by (ARN, id or name).
    pub id: String,
    /// It carries this resource's ownership tags. An object found by identity alone (same name,
    /// or same VPC and service for an endpoint) is reported with `owned: false`.
    pub owned: bool,
    pub state: ObjectState,
    /// The configuration in the same shape as the kind's `desired_view`, for the field diff.
    pub config: Json,
    pub outputs: BTreeMap<String, String>,
    /// Anything else the kind's update needs (current revision, current task definition…).
    pub extra: Json,
    /// An operation AWS rolled back (an update, a deployment whose canary failed).
    pub failed_operation: Option<FailedOperation>,
}

/// An operation AWS rolled back: the object runs its previous configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FailedOperation {
    pub id: String,
    /// What it was (`UPDATE_SERVICE`, `DEPLOYMENT`).
    pub r#type: String,
    /// How it ended (`ROLLBACK_SUCCEEDED`).
    pub status: String,
}

impl Observed {
    /// A string the kind kept in `extra` (an ARN, a revision).
    pub fn extra_str(&self, name: &str) -> &str {
        self.extra.get(name).and_then(Json::as_str).unwrap_or_default()
    }

    /// The asynchronous failure AWS reports for this object, if any.
    pub fn async_failure(&self) -> Option<AsyncFailure> {
        if let ObjectState::Failed(state) = &self.state {
            let deleting = state.to_ascii_lowercase().contains("delete");
            return Some(AsyncFailure {
                mark: format!("{} {state}", self.id),
                operation: if deleting { "deletion" } else { "creation" }.into(),
                status: state.clone(),
                message: format!("AWS reports the object {state}: it is deleted and made again"),
            });
        }
        let op = self.failed_operation.as_ref()?;
        Some(AsyncFailure {
            mark: op.id.clone(),
            operation: op.r#type.clone(),
            status: op.status.clone(),
            message: format!(
                "AWS rolled back {} ({}): the object runs its previous configuration",
                op.r#type, op.status
            ),
        })
    }
}

/// An object `steward import aws` found for a kind.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// Its AWS name (the manifest's is made from it).
    pub name: String,
    /// The spec an import writes: AWS's defaults and the tags left out.
    pub spec: Json,
    pub tags: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    /// Its id, ARN or URL, for the import's summary.
    pub id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    /// An update call changes it in place.
    InPlace,
    /// Only a new object can change it; done when the spec says `allowReplacement: true`.
    Replace,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    pub field: String,
    pub desired: Json,
    pub actual: Json,
    pub fix: Fix,
    /// Security-relevant (the kind says: a rule opening a group): reported as `severity:
    /// critical`, and healed at once even while a heal window is shut.
    pub critical: bool,
}

/// Per-call context handed to adapters.
pub struct Cx<'a> {
    pub clients: &'a Clients,
    pub cache: &'a Cache,
    pub guard: &'a dyn Guard,
    pub stack: String,
    /// Cached tags fetched before this instant are fetched again (ownership is never older).
    pub tags_fresh_since: Instant,
}

impl Cx<'_> {
    /// Call before every mutating AWS call: the daemon's lease check lives behind it.
    pub async fn may_mutate(&self) -> Result<(), ReconcileError> {
        Ok(self.guard.check(&self.stack).await?)
    }
}

/// Everything a kind must know about AWS (see the module's docs for the contracts). Pure
/// functions (`desired_view`, `fix_for`) decide the diff; the async ones observe and act.
#[async_trait]
pub trait Adapter: Send + Sync {
    /// All objects for `wanted` (resources of this kind in one region, desired or being deleted),
    /// batched: one list/describe call per page, details only where the listing lacks them. An
    /// object that has the resource's identity but not its ownership tags is returned unowned,
    /// so that steward never creates a duplicate beside it.
    async fn observe(&self, cx: &Cx<'_>, wanted: &[Desired])
    -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError>;
    /// The desired configuration in the shape of `Observed::config`. An error means the spec
    /// cannot be read as the kind's typed spec (validation should have refused it).
    fn desired_view(&self, desired: &Desired) -> Result<Json, ReconcileError>;
    /// How a differing field (a path in the view, like `nodeType` or `env.REDIS_URL`) is fixed.
    fn fix_for(&self, field: &str) -> Fix;

    /// How this particular difference is fixed, where the values matter (an engine version can
    /// be raised in place but lowered only by a replacement). By default, by field.
    fn fix_for_change(&self, field: &str, _desired: &Json, _actual: &Json) -> Fix {
        self.fix_for(field)
    }
    /// Lists in the view that are sets (ids, DNS record values): one drift per field, members
    /// added and removed, never a drift per position. Matched against the last segment of a path.
    fn set_fields(&self) -> &'static [&'static str] {
        &[]
    }
    /// Fields whose values are secrets and are shown as `(sensitive)`.
    fn sensitive(&self, _field: &str) -> bool {
        false
    }
    /// Desired-view fields that stand for a secret (never ignored by `ignoreChanges`).
    fn secret_fields(&self) -> &'static [&'static str] {
        &[]
    }
    async fn create(&self, cx: &Cx<'_>, desired: &Desired) -> Result<Json, ReconcileError>;
    /// Fixes `drift` in place (never a `Fix::Replace` field unless the engine decided to
    /// replace: then `drift` holds them and the kind deletes the object for the next pass to
    /// make anew). Returns facts for the memo.
    async fn update(
        &self,
        cx: &Cx<'_>,
        desired: &Desired,
        observed: &Observed,
        drift: &[Drift],
    ) -> Result<Json, ReconcileError>;
    async fn delete(&self, cx: &Cx<'_>, observed: &Observed) -> Result<(), ReconcileError>;

    /// Whether dependents may act on this object's outputs now. Ready objects only, unless the
    /// kind knows a busy state that waits for its dependents (a custom domain waiting for the DNS
    /// records that a Route53Record writes).
    fn ready_for_dependents(&self, observed: &Observed) -> bool {
        observed.state == ObjectState::Ready
    }

    /// Deletes what a replacement left behind once nothing uses it any more (an App Runner VPC
    /// connector replaced under a new name: the old one goes after the service moved). Called
    /// when the resource is in sync; an object still in use is left for a later pass.
    async fn retire_superseded(&self, _cx: &Cx<'_>, _observed: &Observed) -> Result<(), ReconcileError> {
        Ok(())
    }
    /// Where the object's tags live; None for kinds without tags. Adoption (`adopt: true`) and
    /// tag drift go through it.
    fn tagged<'a>(&self, _observed: &'a Observed) -> Option<Tagged<'a>> {
        None
    }
    /// Whether a drift of `field` (from `desired` to `actual`) is security-relevant: critical
    /// drift is said as such and healed first. By default none is.
    fn critical(&self, _field: &str, _desired: &Json, _actual: &Json) -> bool {
        false
    }
    /// The resync of the kind's resources that give none (`1h` where observing is costly, as
    /// IAM's is); None: the stack's.
    fn default_resync(&self) -> Option<&'static str> {
        None
    }
    /// Facts for the memo when the object is adopted, read from what was observed (a cache
    /// user's password parameter version: adopted, it is taken over as it is, not rotated).
    fn adopted_memo(&self, _observed: &Observed) -> Option<Json> {
        None
    }
    /// The objects `steward import aws` takes of this kind: those the other imported objects
    /// name (`mentioned`: every string of their specs), as an import writes them.
    async fn discover(
        &self,
        _cx: &Cx<'_>,
        _mentioned: &std::collections::BTreeSet<String>,
    ) -> Result<Vec<Discovered>, ReconcileError> {
        Ok(Vec::new())
    }
    /// Puts the ownership tags on an object found by name (`adopt: true`). By default through
    /// `tagged`, by the engine; a kind without tags on AWS says how it marks ownership.
    async fn adopt(&self, _cx: &Cx<'_>, desired: &Desired, _observed: &Observed) -> Result<(), ReconcileError> {
        Err(ReconcileError::invalid_spec("adopt", format!("{} cannot be adopted", desired.key.kind)))
    }
}
