//! The kind author's contract: what a kind's adapter (in `kinds/`) gives the engine, and what the
//! engine hands it. Nothing here decides anything; see `decide.rs`.

use super::ReconcileError;
use crate::aws::Clients;
use crate::guard::Guard;
use crate::manifest::ResourceKey;
use crate::manifest::diff::changes_with_sets;
use async_trait::async_trait;
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Instant;

/// The tags every object steward creates carries; their presence is what "owned" means.
pub const TAG_STACK: &str = "steward:stack";
pub const TAG_KIND: &str = "steward:kind";
pub const TAG_NAME: &str = "steward:name";

/// What one resource should be, with references and selectors resolved for this pass.
#[derive(Debug, Clone)]
pub struct Desired {
    pub key: ResourceKey,
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

impl Desired {
    pub fn ownership_tags(&self) -> BTreeMap<String, String> {
        [(TAG_STACK, self.key.stack.clone()), (TAG_KIND, self.key.kind.to_string()), (TAG_NAME, self.key.name.clone())]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }
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

/// AWS accepted a call, and the operation failed later: a failed object state, or (App Runner)
/// an update rolled back. Counted once towards the resource's backoff.
#[derive(Debug, Clone, PartialEq)]
pub struct AsyncFailure {
    /// Tells one failure from the next: the object id and state, or the operation id.
    pub mark: String,
    /// What failed: `creation`, `deletion`, or the operation's type (`UPDATE_SERVICE`).
    pub operation: String,
    /// AWS's word for it (CREATE_FAILED, ROLLBACK_SUCCEEDED, incompatible-network).
    pub status: String,
    pub message: String,
}

impl Observed {
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
        let op = self.extra.get("failedOperation")?;
        let text = |k: &str| op.get(k).and_then(Json::as_str).unwrap_or_default().to_string();
        Some(AsyncFailure {
            mark: text("id"),
            operation: text("type"),
            status: text("status"),
            message: format!(
                "AWS rolled back {} ({}): the object runs its previous configuration",
                text("type"),
                text("status")
            ),
        })
    }
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

/// Facts kept across passes to save calls: tags by ARN (most APIs do not return them with the
/// object; they expire, since ownership rests on them), detailed descriptions by ARN and update
/// time, task definitions by ARN (their contents are immutable, but a revision can be
/// deregistered, so they are read again as often as tags).
/// Tags and when they were fetched.
type KeptTags = (Instant, BTreeMap<String, String>);

#[derive(Default)]
pub struct Cache {
    tags: Mutex<HashMap<String, KeptTags>>,
    pub details: Mutex<HashMap<String, (String, Json)>>,
    pub task_definitions: Mutex<HashMap<String, (Instant, Json)>>,
}

impl Cache {
    /// The tags kept under `key`, if they were fetched at or after `fresh_since`.
    pub fn tags(&self, key: &str, fresh_since: Instant) -> Option<BTreeMap<String, String>> {
        let kept = self.tags.lock().unwrap();
        kept.get(key).filter(|(at, _)| *at >= fresh_since).map(|(_, tags)| tags.clone())
    }

    /// The last tags kept under `key`, however old (for an object that refuses tag calls while
    /// it is in transition, and so is only waited on this pass).
    pub fn last_tags(&self, key: &str) -> Option<BTreeMap<String, String>> {
        self.tags.lock().unwrap().get(key).map(|(_, tags)| tags.clone())
    }

    pub fn keep_tags(&self, key: String, tags: BTreeMap<String, String>) {
        self.tags.lock().unwrap().insert(key, (Instant::now(), tags));
    }

    /// Forgets the tags of every key that starts with `prefix` (after steward changed them).
    pub fn forget_tags(&self, prefix: &str) {
        self.tags.lock().unwrap().retain(|k, _| !k.starts_with(prefix));
    }

    /// Drops what no pass may use any more, so the map does not grow with objects long gone.
    pub fn expire_tags(&self, older_than: Instant) {
        self.tags.lock().unwrap().retain(|_, (at, _)| *at >= older_than);
    }
}

/// Everything a kind must know about AWS. Pure functions (`desired_view`, `fix_for`) decide the
/// diff; the async ones observe and act.
#[async_trait]
pub trait Adapter: Send + Sync {
    /// All objects for `wanted` (resources of this kind in one region, desired or being deleted),
    /// batched: one list/describe call per page, details only where the listing lacks them. An
    /// object that has the resource's identity but not its ownership tags is returned unowned,
    /// so that steward never creates a duplicate beside it.
    async fn observe(&self, cx: &Cx<'_>, wanted: &[Desired])
    -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError>;
    /// The desired configuration in the shape of `Observed::config`.
    fn desired_view(&self, desired: &Desired) -> Json;
    /// How a differing field (a path in the view, like `nodeType` or `env.REDIS_URL`) is fixed.
    fn fix_for(&self, field: &str) -> Fix;

    /// How this particular difference is fixed, where the values matter (an engine version can
    /// be raised in place but lowered only by a replacement). By default, by field.
    fn fix_for_change(&self, field: &str, _desired: &Json, _actual: &Json) -> Fix {
        self.fix_for(field)
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
    /// Puts the ownership tags on an object found by name (`adopt: true`).
    async fn adopt(&self, cx: &Cx<'_>, desired: &Desired, observed: &Observed) -> Result<(), ReconcileError>;
    /// Where the object's tags live; None for kinds without tags.
    fn tagged<'a>(&self, _observed: &'a Observed) -> Option<crate::kinds::Tagged<'a>> {
        None
    }
}

/// Whether a diff path is under `tags`.
pub fn is_tag_field(field: &str) -> bool {
    field == "tags" || field.starts_with("tags.")
}

/// Lists that are sets wherever they appear in a view (ids, DNS record values): one drift per field,
/// members added and removed, never a drift per position.
pub const SET_FIELDS: &[&str] = &["subnets", "securityGroups", "routeTables", "values"];

/// The field diff between the desired view and the observed configuration. Only the top-level
/// fields the desired view names are managed (a field the spec leaves out keeps whatever AWS
/// has, as Terraform does with optional computed attributes).
pub fn diff(adapter: &dyn Adapter, desired: &Desired, observed: &Observed) -> Vec<Drift> {
    let view = adapter.desired_view(desired);
    let mut managed: Json = match (&observed.config, &view) {
        (Json::Object(actual), Json::Object(wanted)) => Json::Object(
            actual.iter().filter(|(k, _)| wanted.contains_key(*k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
        ),
        (actual, _) => actual.clone(),
    };
    // Tag policy merge: keys others added (cost allocation, backup tooling) are theirs.
    if !desired.exact_tags
        && let (Some(Json::Object(have)), Some(Json::Object(want))) = (managed.get_mut("tags"), view.get("tags"))
    {
        have.retain(|k, _| want.contains_key(k));
    }
    changes_with_sets("", &managed, &view, SET_FIELDS)
        .into_iter()
        .map(|c| Drift {
            fix: adapter.fix_for_change(
                &c.path,
                c.new.as_ref().unwrap_or(&Json::Null),
                c.old.as_ref().unwrap_or(&Json::Null),
            ),
            desired: c.new.unwrap_or(Json::Null),
            actual: c.old.unwrap_or(Json::Null),
            field: c.path,
        })
        .collect()
}
