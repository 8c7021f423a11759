//! The generic reconcile engine: ordering, references, selectors, ownership, policies, backoff,
//! status and events. It knows no AWS service by name; each kind's adapter (in `kinds/`) owns
//! the AWS specifics behind the `Adapter` trait, in the spirit of ACK's resource manager.

pub mod backoff;
pub mod events;
pub mod lookup;
pub mod status;

use crate::aws::{Aws, AwsError, CallCounter, Clients, ErrorClass};
use crate::kinds::{self, Kind};
use crate::manifest::diff::changes;
use crate::manifest::references::{self, substitute};
use crate::manifest::{Manifest, ResourceKey};
use crate::store::{Store, StoredResource};
use anyhow::Result;
use async_trait::async_trait;
use backoff::BackoffPolicy;
use events::Events;
use lookup::{LookupError, Lookups};
use serde_json::{Value as Json, json};
use status::{DriftRecord, Status};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
}

impl Desired {
    pub fn ownership_tags(&self) -> BTreeMap<String, String> {
        [(TAG_STACK, self.key.stack.clone()), (TAG_KIND, self.key.kind.to_string()), (TAG_NAME, self.key.name.clone())]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Ready,
    /// A transitional state (creating, modifying, OPERATION_IN_PROGRESS, pending): wait, not a failure.
    Busy(String),
    /// The object is in a failed state that needs a person (CREATE_FAILED and the like).
    Failed(String),
}

/// One real object as a kind's observe found it.
#[derive(Debug, Clone)]
pub struct Observed {
    /// What later calls address it by (ARN, id or name).
    pub id: String,
    pub owned: bool,
    pub phase: Phase,
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
}

impl Cx<'_> {
    /// Call before every mutating AWS call: the daemon's lease check lives behind it.
    pub async fn may_mutate(&self) -> Result<(), AwsError> {
        self.guard.check(&self.stack).await
    }
}

/// Decides whether this process may change a stack right now (the daemon checks its lease).
#[async_trait]
pub trait Guard: Send + Sync {
    async fn check(&self, stack: &str) -> Result<(), AwsError>;
    /// The fencing token status writes for this stack must be conditional on, if any.
    fn fence(&self, _stack: &str) -> Option<u64> {
        None
    }
}

/// One-shot passes (`steward reconcile`) take no lease.
pub struct NoGuard;

#[async_trait]
impl Guard for NoGuard {
    async fn check(&self, _stack: &str) -> Result<(), AwsError> {
        Ok(())
    }
}

/// Facts kept across passes to save calls: tags by ARN (they rarely change and most APIs do not
/// return them with the object), detailed descriptions by ARN and update time, task definitions
/// by ARN (immutable).
#[derive(Default)]
pub struct Cache {
    pub tags: Mutex<HashMap<String, BTreeMap<String, String>>>,
    pub details: Mutex<HashMap<String, (String, Json)>>,
    pub task_definitions: Mutex<HashMap<String, Json>>,
}

/// Everything a kind must know about AWS. Pure functions (`desired_view`, `fix_for`) decide the
/// diff; the async ones observe and act.
#[async_trait]
pub trait Adapter: Send + Sync {
    /// All objects for `wanted` (resources of this kind in one region, desired or being deleted),
    /// batched: one list/describe call per page, details only where the listing lacks them.
    async fn observe(&self, cx: &Cx<'_>, wanted: &[Desired]) -> Result<BTreeMap<ResourceKey, Observed>, AwsError>;
    /// The desired configuration in the shape of `Observed::config`.
    fn desired_view(&self, desired: &Desired) -> Json;
    /// How a differing field (a path in the view, like `nodeType` or `env.REDIS_URL`) is fixed.
    fn fix_for(&self, field: &str) -> Fix;
    /// Fields whose values are secrets and are shown as `(sensitive)`.
    fn sensitive(&self, _field: &str) -> bool {
        false
    }
    async fn create(&self, cx: &Cx<'_>, desired: &Desired) -> Result<Json, AwsError>;
    async fn update(
        &self,
        cx: &Cx<'_>,
        desired: &Desired,
        observed: &Observed,
        drift: &[Drift],
    ) -> Result<Json, AwsError>;
    async fn delete(&self, cx: &Cx<'_>, observed: &Observed) -> Result<(), AwsError>;
    /// Puts the ownership tags on an object found by name (`adopt: true`).
    async fn adopt(&self, cx: &Cx<'_>, desired: &Desired, observed: &Observed) -> Result<(), AwsError>;
}

/// The field diff between the desired view and the observed configuration. Only the top-level
/// fields the desired view names are managed (a field the spec leaves out keeps whatever AWS
/// has, as Terraform does with optional computed attributes).
pub fn diff(adapter: &dyn Adapter, desired: &Desired, observed: &Observed) -> Vec<Drift> {
    let view = adapter.desired_view(desired);
    let managed: Json = match (&observed.config, &view) {
        (Json::Object(actual), Json::Object(wanted)) => Json::Object(
            actual.iter().filter(|(k, _)| wanted.contains_key(*k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
        ),
        (actual, _) => actual.clone(),
    };
    changes("", &managed, &view)
        .into_iter()
        .map(|c| Drift {
            fix: adapter.fix_for(&c.path),
            desired: c.new.unwrap_or(Json::Null),
            actual: c.old.unwrap_or(Json::Null),
            field: c.path,
        })
        .collect()
}

#[derive(Debug, Clone, Default)]
pub struct PassOptions {
    /// Stacks to reconcile (all stacks in the table when None).
    pub stacks: Option<Vec<String>>,
    /// Only this resource (its dependencies are still observed for their outputs).
    pub only: Option<(Kind, String)>,
    /// Observe and diff only: no AWS change, no status write, no event (`steward diff --live`).
    pub plan_only: bool,
}

/// What a plan-only pass found for one resource.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlanEntry {
    pub stack: String,
    pub kind: String,
    pub name: String,
    /// create, update, replace, delete, none, wait, blocked (not owned, failed, paused).
    pub action: String,
    pub reason: String,
    pub drift: Vec<DriftRecord>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PassReport {
    pub resources: usize,
    pub ready: usize,
    pub drifted: usize,
    pub corrected: usize,
    pub failed: usize,
    pub waiting: usize,
    pub busy: usize,
    pub mutating_calls: u64,
    pub calls: BTreeMap<String, BTreeMap<String, u64>>,
    /// Calls that failed after the SDK's own retries: each is a `reconcile_failed` event (or,
    /// for steward's own DynamoDB writes, a failed pass).
    pub failed_calls: BTreeMap<String, BTreeMap<String, u64>>,
    pub duration_ms: u64,
    /// Every resource Ready (or deleted/retained/paused as asked) with nothing left to do.
    pub converged: bool,
    /// Stacks with a resource that is not settled yet (busy, waiting, failed or drifted).
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub unsettled: BTreeSet<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<PlanEntry>,
}

pub struct Engine {
    pub store: Arc<Store>,
    pub aws: Aws,
    pub events: Events,
    pub backoff: BackoffPolicy,
    pub guard: Arc<dyn Guard>,
    cache: Cache,
    /// `byTag` selector results, kept across passes (see `lookup.rs`).
    lookups: Lookups,
    /// Services that throttled us, and until when all calls to them wait.
    throttled: Mutex<HashMap<&'static str, Instant>>,
}

/// What one resource's reconcile decided, for the pass report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ready,
    Busy,
    Waiting,
    Failed,
    Drifted,
    Skipped,
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&chrono::Utc))
}

impl Engine {
    pub fn new(store: Arc<Store>, aws: Aws, events: Events, backoff: BackoffPolicy, guard: Arc<dyn Guard>) -> Self {
        Engine {
            store,
            aws,
            events,
            backoff,
            guard,
            cache: Cache::default(),
            lookups: Lookups::default(),
            throttled: Mutex::default(),
        }
    }

    /// One reconcile pass over the given stacks: observe every kind in dependency order (one
    /// batch per kind and region), diff, act where allowed, and record status and events.
    pub async fn pass(&self, options: &PassOptions) -> Result<PassReport> {
        let calls = CallCounter::default();
        calls.scope(self.pass_counted(options, &calls)).await
    }

    /// The pass, with `calls` counting the AWS calls made in it.
    async fn pass_counted(&self, options: &PassOptions, calls: &CallCounter) -> Result<PassReport> {
        let started = Instant::now();
        let stacks = match &options.stacks {
            Some(s) => s.clone(),
            None => self.store.stacks().await?,
        };
        // One DynamoDB Query per stack: its resources, statuses and paused flag.
        let mut stored = Vec::new();
        let mut paused_stacks = BTreeSet::new();
        let mut previous = BTreeMap::new();
        for stack in &stacks {
            let snapshot = self.store.snapshot(stack).await?;
            if snapshot.paused {
                paused_stacks.insert(stack.clone());
            }
            stored.extend(snapshot.resources);
            previous.extend(snapshot.statuses);
        }
        stored.sort_by(|a, b| a.manifest.key.cmp(&b.manifest.key));
        stored.retain(|r| r.manifest.key.kind != Kind::Stack || !r.deleted);
        let live: Vec<&Manifest> = stored.iter().filter(|r| !r.deleted).map(|r| &r.manifest).collect();
        let order: Vec<ResourceKey> = references::topological_order(&live);
        let position: HashMap<&ResourceKey, usize> = order.iter().enumerate().map(|(i, k)| (k, i)).collect();
        let lookup_pass = self.lookups.begin_pass().await;

        let mut pass = PassState {
            lookup_pass,
            outputs: BTreeMap::new(),
            ready: BTreeSet::new(),
            report: PassReport::default(),
            vpcs: BTreeMap::new(),
            plan_only: options.plan_only,
        };
        for (key, status) in &previous {
            pass.outputs.insert(key.clone(), status.outputs.clone());
        }
        let wanted = |r: &StoredResource| match &options.only {
            Some((kind, name)) => r.manifest.key.kind == *kind && &r.manifest.key.name == name,
            None => true,
        };
        // With one resource asked for, only it and what it references (transitively) are observed.
        let scope: Option<BTreeSet<ResourceKey>> = options.only.as_ref().map(|_| {
            let mut scope: BTreeSet<ResourceKey> =
                stored.iter().filter(|r| wanted(r)).map(|r| r.manifest.key.clone()).collect();
            let mut frontier: Vec<ResourceKey> = scope.iter().cloned().collect();
            while let Some(key) = frontier.pop() {
                let Some(m) = live.iter().find(|m| m.key == key) else { continue };
                for dep in references::dependencies(m) {
                    if scope.insert(dep.clone()) {
                        frontier.push(dep);
                    }
                }
            }
            scope
        });
        for kind in Kind::ALL {
            let mut of_kind: Vec<&StoredResource> = stored
                .iter()
                .filter(|r| r.manifest.key.kind == kind)
                .filter(|r| kind == Kind::Stack || scope.as_ref().is_none_or(|s| s.contains(&r.manifest.key)))
                .collect();
            of_kind.sort_by_key(|r| position.get(&r.manifest.key).copied().unwrap_or(usize::MAX));
            if of_kind.is_empty() {
                continue;
            }
            // Resolve each resource; those that cannot be resolved yet wait.
            let mut by_region: BTreeMap<String, Vec<(Desired, &StoredResource)>> = BTreeMap::new();
            for r in of_kind {
                let prev = previous.get(&r.manifest.key).cloned().unwrap_or_default();
                let target = wanted(r) || kind == Kind::Stack || options.only.is_none();
                match self.resolve(r, &stored, &mut pass).await {
                    Ok(mut desired) => {
                        desired.memo = prev.memo.clone();
                        by_region.entry(desired.region.clone()).or_default().push((desired, r))
                    }
                    Err(Unresolved::Wait(message)) if target => {
                        self.record_waiting(
                            r,
                            &prev,
                            &message,
                            paused_stacks.contains(&r.manifest.key.stack),
                            &mut pass,
                        )
                        .await?
                    }
                    Err(Unresolved::Terminal(message)) if target => {
                        self.record_terminal(r, &prev, &message, &mut pass).await?
                    }
                    // A lookup call failed: plan shows it as waiting; a real pass backs off.
                    Err(Unresolved::Failed(e)) if target && pass.plan_only => {
                        self.record_waiting(r, &prev, &format!("lookup failed: {e}"), false, &mut pass).await?
                    }
                    Err(Unresolved::Failed(e)) if target => {
                        let outcome = self.record_failure(r, &prev, &e).await?;
                        pass.count(&r.manifest.key.stack, outcome);
                    }
                    Err(_) => {}
                }
            }
            let adapter = kinds::adapter(kind);
            for (region, items) in by_region {
                let clients = self.aws.region(&region);
                let stack = items.first().map(|(d, _)| d.key.stack.clone()).unwrap_or_default();
                let cx = Cx { clients: &clients, cache: &self.cache, guard: self.guard.as_ref(), stack };
                let desired: Vec<Desired> = items.iter().map(|(d, _)| d.clone()).collect();
                let observed = match self.throttle_wait(kind) {
                    Some(until) => Err(AwsError {
                        operation: "observe".into(),
                        code: Some("Throttled".into()),
                        message: format!(
                            "holding calls to {} for {} ms after throttling",
                            service_of(kind),
                            until.as_millis()
                        ),
                        class: ErrorClass::Throttling,
                    }),
                    None => adapter.observe(&cx, &desired).await,
                };
                if let Err(e) = &observed {
                    self.note_throttling(kind, e);
                }
                for (d, r) in items {
                    if !wanted(r) && kind != Kind::Stack {
                        // Observed only for its outputs (dependencies of the one resource asked for).
                        if let Ok(obs) = &observed
                            && let Some(o) = obs.get(&d.key)
                        {
                            pass.outputs.insert(d.key.clone(), o.outputs.clone());
                            if o.phase == Phase::Ready {
                                pass.ready.insert(d.key.clone());
                            }
                        }
                        continue;
                    }
                    let prev = previous.get(&d.key).cloned().unwrap_or_default();
                    let cx = Cx {
                        clients: &clients,
                        cache: &self.cache,
                        guard: self.guard.as_ref(),
                        stack: d.key.stack.clone(),
                    };
                    let paused = r.paused || paused_stacks.contains(&d.key.stack);
                    let outcome = match &observed {
                        Ok(obs) => {
                            self.reconcile_one(adapter, &cx, r, &d, obs.get(&d.key), &prev, paused, &mut pass).await?
                        }
                        Err(e) if pass.plan_only => {
                            let message = e.to_string();
                            self.record_waiting(r, &prev, &format!("cannot observe: {message}"), false, &mut pass)
                                .await?;
                            Outcome::Failed
                        }
                        Err(e) => self.record_failure(r, &prev, e).await?,
                    };
                    pass.count(&r.manifest.key.stack, outcome);
                }
            }
        }
        let report = &mut pass.report;
        report.calls = calls.by_service();
        report.failed_calls = calls.failures_by_service();
        // Changes to AWS objects; steward's own writes (status in DynamoDB, its log events in
        // CloudWatch Logs) are not counted.
        report.mutating_calls = report
            .calls
            .iter()
            .filter(|(service, _)| !["DynamoDB", "CloudWatch Logs"].contains(&service.as_str()))
            .flat_map(|(_, ops)| ops.iter())
            .filter(|(op, _)| crate::aws::is_mutating(op))
            .map(|(_, n)| n)
            .sum();
        report.duration_ms = started.elapsed().as_millis() as u64;
        report.converged = report.unsettled.is_empty();
        if options.plan_only {
            return Ok(pass.report);
        }
        self.events.emit(
            "pass_completed",
            json!({
                "stacks": stacks, "resources": report.resources, "ready": report.ready, "drifted": report.drifted,
                "corrected": report.corrected, "failed": report.failed, "waiting": report.waiting, "busy": report.busy,
                "awsCalls": report.calls, "awsCallsFailed": report.failed_calls, "mutatingCalls": report.mutating_calls,
                "durationMs": report.duration_ms,
            }),
        );
        Ok(pass.report)
    }

    /// Builds the desired object for this pass: references substituted with observed outputs,
    /// selectors resolved to ids, tags merged.
    async fn resolve(
        &self,
        r: &StoredResource,
        stored: &[StoredResource],
        pass: &mut PassState,
    ) -> Result<Desired, Unresolved> {
        let key = &r.manifest.key;
        let stack_key = ResourceKey::new(&key.stack, Kind::Stack, &key.stack);
        let stack = stored
            .iter()
            .find(|s| s.manifest.key == stack_key)
            .ok_or_else(|| Unresolved::Wait(format!("stack {} has no Stack resource", key.stack)))?;
        let region = stack.manifest.spec["region"].as_str().unwrap_or("us-east-1").to_string();
        let clients = self.aws.region(&region);
        if key.kind == Kind::Stack {
            let vpc = match pass.vpcs.get(&key.stack) {
                Some(v) => v.clone(),
                None => {
                    let found = self
                        .lookups
                        .vpc(&clients, &r.manifest.spec["vpc"], pass.lookup_pass)
                        .await
                        .map_err(Unresolved::from)?;
                    pass.vpcs.insert(key.stack.clone(), found.clone());
                    found
                }
            };
            return Ok(Desired {
                key: key.clone(),
                spec: r.manifest.spec.clone(),
                tags: BTreeMap::new(),
                region,
                vpc_id: vpc,
                version: r.version,
                memo: Json::Null,
            });
        }
        if !r.deleted {
            let waiting: Vec<String> = references::dependencies(&r.manifest)
                .into_iter()
                .filter(|d| d.kind != Kind::Stack && !pass.ready.contains(d))
                .map(|d| d.short())
                .collect();
            if !waiting.is_empty() {
                return Err(Unresolved::Wait(format!("waiting for {} to be ready", waiting.join(", "))));
            }
        }
        let vpc = pass
            .vpcs
            .get(&key.stack)
            .cloned()
            .ok_or_else(|| Unresolved::Wait(format!("the VPC of stack {} is not resolved yet", key.stack)))?;
        let params = stack.manifest.spec.get("params").cloned().unwrap_or(json!({}));
        let outputs = &pass.outputs;
        let lookup = |kind: Kind, name: &str, output: &str| -> Option<String> {
            if kind == Kind::Stack {
                return match output.strip_prefix("params.") {
                    Some(p) => params.get(p).and_then(Json::as_str).map(str::to_string),
                    None if output == "vpcId" => Some(vpc.clone()),
                    None => None,
                };
            }
            outputs.get(&ResourceKey::new(&key.stack, kind, name)).and_then(|o| o.get(output)).cloned()
        };
        let spec = match substitute(&r.manifest.spec, &lookup) {
            Ok(spec) => spec,
            // A resource being deleted is found by name; unresolved references do not matter.
            Err(_) if r.deleted => r.manifest.spec.clone(),
            Err(missing) => {
                let names: Vec<String> =
                    missing.iter().map(|m| format!("{}/{}.{}", m.kind, m.name, m.output)).collect();
                return Err(Unresolved::Wait(format!("waiting for outputs {}", names.join(", "))));
            }
        };
        let spec = if r.deleted {
            spec
        } else {
            self.lookups.resolve(&clients, &vpc, &spec, pass.lookup_pass).await.map_err(Unresolved::from)?
        };
        let mut tags: BTreeMap<String, String> = BTreeMap::new();
        for source in [stack.manifest.spec.get("defaultTags"), spec.get("tags")].into_iter().flatten() {
            for (k, v) in source.as_object().into_iter().flatten() {
                tags.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
            }
        }
        let mut desired =
            Desired { key: key.clone(), spec, tags, region, vpc_id: vpc, version: r.version, memo: Json::Null };
        desired.tags.extend(desired.ownership_tags());
        Ok(desired)
    }

    #[allow(clippy::too_many_arguments)]
    async fn reconcile_one(
        &self,
        adapter: &dyn Adapter,
        cx: &Cx<'_>,
        r: &StoredResource,
        desired: &Desired,
        observed: Option<&Observed>,
        prev: &Status,
        paused: bool,
        pass: &mut PassState,
    ) -> Result<Outcome> {
        let key = &desired.key;
        let mut status = Status::fresh(prev);
        status.observed_generation = r.version;
        status.last_observed_at = now_rfc3339();
        if let Some(o) = observed {
            status.outputs = o.outputs.clone();
            pass.outputs.insert(key.clone(), o.outputs.clone());
        }
        let policy = r.manifest.management_policy().to_string();
        let enforce = policy == "enforce";
        if pass.plan_only {
            if !r.deleted && observed.is_some_and(|o| o.owned && o.phase == Phase::Ready) {
                pass.ready.insert(key.clone());
            }
            let entry = self.plan_entry(adapter, r, desired, observed, paused);
            pass.report.plan.push(entry);
            return Ok(Outcome::Skipped);
        }
        let due = prev.next_attempt_at.as_deref().and_then(parse_time).is_none_or(|t| t <= chrono::Utc::now());

        if paused {
            status.phase = "Paused".into();
            status.set("Paused", true, "Paused", "paused by a person: steward resume to reconcile it again");
            if observed.is_some_and(|o| o.phase == Phase::Ready) {
                pass.ready.insert(key.clone());
            }
            self.save(key, prev, status).await?;
            return Ok(Outcome::Skipped);
        }

        // Removed from the desired state: delete or keep, as the deletion policy says.
        if r.deleted {
            let Some(o) = observed else {
                if prev.phase != "Deleted" && prev.phase != "Retained" && !prev.phase.is_empty() {
                    self.events.resource(
                        "resource_deleted",
                        key,
                        json!({ "deletionPolicy": r.manifest.deletion_policy() }),
                    );
                }
                status.phase = if prev.phase == "Retained" { "Retained".into() } else { "Deleted".into() };
                status.set("Synced", true, "Deleted", "removed from the desired state; the AWS object is gone");
                self.save(key, prev, status).await?;
                return Ok(Outcome::Skipped);
            };
            if r.manifest.deletion_policy() == "Retain" || !o.owned || !enforce {
                status.phase = "Retained".into();
                let why = if !o.owned {
                    "not owned by steward"
                } else if !enforce {
                    "managementPolicy observe"
                } else {
                    "deletionPolicy Retain"
                };
                status.set(
                    "Synced",
                    true,
                    "Retained",
                    format!("removed from the desired state; the AWS object is kept ({why})"),
                );
                self.save(key, prev, status).await?;
                return Ok(Outcome::Skipped);
            }
            if let Phase::Busy(state) = &o.phase {
                status.phase = "Deleting".into();
                status.set("Ready", false, "Busy", format!("waiting for {state} to finish before deleting"));
                self.save(key, prev, status).await?;
                return Ok(Outcome::Busy);
            }
            if !due {
                status.phase = "Failed".into();
                self.save(key, prev, status).await?;
                return Ok(Outcome::Failed);
            }
            return match adapter.delete(cx, o).await {
                Ok(()) => {
                    status.phase = "Deleting".into();
                    status.consecutive_failures = 0;
                    status.next_attempt_at = None;
                    status.last_error = None;
                    status.set("Ready", false, "Deleting", "deletion requested (deletionPolicy Delete)");
                    self.save(key, prev, status).await?;
                    Ok(Outcome::Busy)
                }
                Err(e) => self.fail(r, status, prev, &e).await,
            };
        }

        let Some(o) = observed else {
            // Missing: create it (enforce) or report it (observe).
            if !enforce {
                status.phase = "Drifted".into();
                status.set(
                    "Drifted",
                    true,
                    "NotFound",
                    "the object does not exist (managementPolicy observe: not created)",
                );
                self.events.resource(
                    "drift_detected",
                    key,
                    json!({ "field": "(existence)", "desired": "present", "actual": "absent", "action": "reported" }),
                );
                self.save(key, prev, status).await?;
                return Ok(Outcome::Drifted);
            }
            if !due {
                status.phase = "Failed".into();
                self.save(key, prev, status).await?;
                return Ok(Outcome::Failed);
            }
            if let Some(until) = self.throttle_wait(key.kind) {
                status.phase = "Waiting".into();
                status.set(
                    "Ready",
                    false,
                    "Throttled",
                    format!("holding calls for {} ms after throttling", until.as_millis()),
                );
                self.save(key, prev, status).await?;
                return Ok(Outcome::Busy);
            }
            return match adapter.create(cx, desired).await {
                Ok(memo) => {
                    let creates = prev.memo.get("creates").and_then(Json::as_u64).unwrap_or(0) + 1;
                    status.memo = merge_memo(&status.memo, &memo);
                    status.memo["creates"] = json!(creates);
                    self.events.resource("resource_created", key, json!({ "version": r.version }));
                    status.phase = "Creating".into();
                    status.consecutive_failures = 0;
                    status.next_attempt_at = None;
                    status.last_error = None;
                    status.set("Ready", false, "Creating", "create requested");
                    self.save(key, prev, status).await?;
                    Ok(Outcome::Busy)
                }
                Err(e) => self.fail(r, status, prev, &e).await,
            };
        };

        if !o.owned {
            if r.manifest.spec.get("adopt").and_then(Json::as_bool) == Some(true) && enforce {
                return match adapter.adopt(cx, desired, o).await {
                    Ok(()) => {
                        self.events.resource("resource_adopted", key, json!({ "id": o.id }));
                        status.phase = "Adopting".into();
                        status.set("Ready", false, "Adopted", "ownership tags added; reconciled from the next pass");
                        self.save(key, prev, status).await?;
                        Ok(Outcome::Busy)
                    }
                    Err(e) => self.fail(r, status, prev, &e).await,
                };
            }
            status.phase = "NotOwned".into();
            status.set("Terminal", true, "NotOwned", format!("{} exists without steward's ownership tags; it is never modified (set adopt: true to take it over)", o.id));
            self.save(key, prev, status).await?;
            return Ok(Outcome::Failed);
        }

        match &o.phase {
            Phase::Busy(state) => {
                status.phase = "Busy".into();
                status.set("Ready", false, "Busy", format!("{state}: waiting for AWS to finish"));
                status.consecutive_failures = prev.consecutive_failures;
                self.save(key, prev, status).await?;
                return Ok(Outcome::Busy);
            }
            Phase::Failed(state) => {
                status.phase = "Failed".into();
                status.set("Terminal", true, "Failed", format!("the object is {state}; it needs a person"));
                self.save(key, prev, status).await?;
                return Ok(Outcome::Failed);
            }
            Phase::Ready => {}
        }

        let drift = diff(adapter, desired, o);
        let show = |field: &str, v: &Json| if adapter.sensitive(field) { json!("(sensitive)") } else { v.clone() };
        // Fields that drifted last pass and no longer do: corrected.
        for old in &prev.last_drift {
            if !drift.iter().any(|d| d.field == old.field) && old.action == "correcting" {
                self.events.resource("drift_corrected", key, json!({ "field": old.field, "value": old.desired }));
                pass.report.corrected += 1;
            }
        }
        if drift.is_empty() {
            status.last_drift.clear();
            pass.ready.insert(key.clone());
            status.phase = "Ready".into();
            status.set("Ready", true, "Available", "");
            status.set("Synced", true, "InSync", "");
            status.consecutive_failures = 0;
            status.next_attempt_at = None;
            status.last_error = None;
            self.save(key, prev, status).await?;
            return Ok(Outcome::Ready);
        }
        let allow_replace = r.manifest.spec.get("allowReplacement").and_then(Json::as_bool) == Some(true);
        let acting = enforce && due && self.throttle_wait(key.kind).is_none();
        let fixable: Vec<Drift> = drift.iter().filter(|d| d.fix == Fix::InPlace || allow_replace).cloned().collect();
        let mut records = Vec::new();
        for d in &drift {
            let action = if !enforce {
                "reported"
            } else if d.fix == Fix::Replace && !allow_replace {
                "reported (immutable: set allowReplacement to replace the object)"
            } else {
                "correcting"
            };
            let same_as_before =
                prev.last_drift.iter().any(|p| p.field == d.field && p.actual == show(&d.field, &d.actual));
            if !same_as_before {
                self.events.resource(
                    "drift_detected",
                    key,
                    json!({ "field": d.field, "desired": show(&d.field, &d.desired), "actual": show(&d.field, &d.actual), "action": action }),
                );
            }
            records.push(DriftRecord {
                field: d.field.clone(),
                desired: show(&d.field, &d.desired),
                actual: show(&d.field, &d.actual),
                action: action.into(),
            });
        }
        let fields: Vec<&str> = drift.iter().map(|d| d.field.as_str()).collect();
        status.last_drift = records;
        status.set("Drifted", true, "Drift", fields.join(", "));
        // Outputs still flow: a drifted object still has its address.
        pass.ready.insert(key.clone());
        if !acting || fixable.is_empty() {
            status.phase = "Drifted".into();
            status.set("Ready", true, "Available", "");
            status.set("Synced", false, if enforce { "CannotFix" } else { "Observe" }, fields.join(", "));
            self.save(key, prev, status).await?;
            return Ok(Outcome::Drifted);
        }
        match adapter.update(cx, desired, o, &fixable).await {
            Ok(memo) => {
                status.memo = merge_memo(&status.memo, &memo);
                status.phase = "Updating".into();
                status.consecutive_failures = 0;
                status.next_attempt_at = None;
                status.last_error = None;
                status.set("Ready", true, "Available", "");
                status.set("Synced", false, "Updating", fields.join(", "));
                self.save(key, prev, status).await?;
                Ok(Outcome::Drifted)
            }
            Err(e) => self.fail(r, status, prev, &e).await,
        }
    }

    /// What a pass would do for one resource, without doing it.
    fn plan_entry(
        &self,
        adapter: &dyn Adapter,
        r: &StoredResource,
        desired: &Desired,
        observed: Option<&Observed>,
        paused: bool,
    ) -> PlanEntry {
        let key = &r.manifest.key;
        let entry = |action: &str, reason: String, drift: Vec<DriftRecord>| PlanEntry {
            stack: key.stack.clone(),
            kind: key.kind.to_string(),
            name: key.name.clone(),
            action: action.into(),
            reason,
            drift,
        };
        let enforce = r.manifest.management_policy() == "enforce";
        match observed {
            _ if paused => entry("blocked", "paused".into(), vec![]),
            None if r.deleted => entry("none", "removed from the desired state; already gone".into(), vec![]),
            Some(o) if r.deleted => {
                let keep = r.manifest.deletion_policy() == "Retain" || !o.owned || !enforce;
                if keep {
                    entry("none", "removed from the desired state; kept (Retain)".into(), vec![])
                } else {
                    entry("delete", "deletionPolicy Delete".into(), vec![])
                }
            }
            None => entry(if enforce { "create" } else { "none" }, "does not exist".into(), vec![]),
            Some(o) if !o.owned => {
                entry("blocked", format!("{} exists without steward's ownership tags", o.id), vec![])
            }
            Some(o) => match &o.phase {
                Phase::Busy(state) => entry("wait", state.clone(), vec![]),
                Phase::Failed(state) => entry("blocked", state.clone(), vec![]),
                Phase::Ready => {
                    let drift = diff(adapter, desired, o);
                    let show =
                        |field: &str, v: &Json| if adapter.sensitive(field) { json!("(sensitive)") } else { v.clone() };
                    let records: Vec<DriftRecord> = drift
                        .iter()
                        .map(|d| DriftRecord {
                            field: d.field.clone(),
                            desired: show(&d.field, &d.desired),
                            actual: show(&d.field, &d.actual),
                            action: if d.fix == Fix::Replace { "replace".into() } else { "update".into() },
                        })
                        .collect();
                    let action = match (records.is_empty(), enforce, drift.iter().any(|d| d.fix == Fix::Replace)) {
                        (true, _, _) => "none",
                        (false, false, _) => "report",
                        (false, true, true) => "replace",
                        (false, true, false) => "update",
                    };
                    entry(action, String::new(), records)
                }
            },
        }
    }

    /// Records a failed action: backoff grows, the error is classified, an event is emitted.
    async fn fail(&self, r: &StoredResource, mut status: Status, prev: &Status, e: &AwsError) -> Result<Outcome> {
        let key = &r.manifest.key;
        self.note_throttling(key.kind, e);
        if e.is_code(UNKNOWN_NETWORK_IDS) {
            // A subnet, security group, route table or VPC that a selector resolved to is gone.
            self.lookups.forget().await;
        }
        let attempt = prev.consecutive_failures + 1;
        let delay = match e.class {
            ErrorClass::Terminal => Duration::from_secs(self.resync_of(r).await),
            _ => self.backoff.delay(attempt),
        };
        let next = chrono::Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
        status.consecutive_failures = attempt;
        status.next_attempt_at = Some(next.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        status.last_error = Some(e.to_string());
        status.phase = if e.class == ErrorClass::Terminal { "Terminal".into() } else { "Failed".into() };
        if e.class == ErrorClass::Terminal {
            status.set("Terminal", true, e.code.as_deref().unwrap_or("Error"), e.to_string());
        }
        status.set("Synced", false, "Error", e.to_string());
        self.events.resource(
            "reconcile_failed",
            key,
            json!({
                "operation": e.operation, "errorCode": e.code, "errorClass": e.class, "message": e.message,
                "attempt": attempt, "backoffMs": delay.as_millis() as u64, "nextAttemptAt": status.next_attempt_at,
            }),
        );
        self.save(key, prev, status).await?;
        Ok(Outcome::Failed)
    }

    async fn record_failure(&self, r: &StoredResource, prev: &Status, e: &AwsError) -> Result<Outcome> {
        let mut status = Status::fresh(prev);
        status.observed_generation = r.version;
        status.last_observed_at = now_rfc3339();
        self.fail(r, status, prev, e).await
    }

    async fn record_waiting(
        &self,
        r: &StoredResource,
        prev: &Status,
        message: &str,
        paused: bool,
        pass: &mut PassState,
    ) -> Result<()> {
        let key = &r.manifest.key;
        if pass.plan_only {
            pass.report.plan.push(PlanEntry {
                stack: key.stack.clone(),
                kind: key.kind.to_string(),
                name: key.name.clone(),
                action: "wait".into(),
                reason: message.to_string(),
                drift: Vec::new(),
            });
            return Ok(());
        }
        let mut status = Status::fresh(prev);
        status.observed_generation = r.version;
        status.last_observed_at = now_rfc3339();
        if paused || r.paused {
            status.phase = "Paused".into();
            status.set("Paused", true, "Paused", "paused by a person");
            self.save(key, prev, status).await?;
            pass.count(&key.stack, Outcome::Skipped);
            return Ok(());
        }
        status.phase = "Waiting".into();
        status.set("WaitingForDependency", true, "WaitingForDependency", message);
        self.save(key, prev, status).await?;
        pass.count(&key.stack, Outcome::Waiting);
        Ok(())
    }

    async fn record_terminal(
        &self,
        r: &StoredResource,
        prev: &Status,
        message: &str,
        pass: &mut PassState,
    ) -> Result<()> {
        if pass.plan_only {
            return self.record_waiting(r, prev, message, false, pass).await;
        }
        let e = AwsError::terminal("resolve", "Unresolvable", message);
        let outcome = self.record_failure(r, prev, &e).await?;
        pass.count(&r.manifest.key.stack, outcome);
        Ok(())
    }

    async fn resync_of(&self, r: &StoredResource) -> u64 {
        let stack = ResourceKey::new(&r.manifest.key.stack, Kind::Stack, &r.manifest.key.stack);
        let spec = self.store.resource(&stack).await.ok().flatten().map(|s| s.manifest.spec);
        spec.and_then(|s| s.get("resync").and_then(Json::as_str).and_then(kinds::stack::parse_duration_secs))
            .unwrap_or(60)
    }

    /// Writes the status unless only the observation time changed (and that recently).
    async fn save(&self, key: &ResourceKey, prev: &Status, status: Status) -> Result<()> {
        let stale =
            parse_time(&prev.last_observed_at).is_none_or(|t| chrono::Utc::now() - t > chrono::Duration::minutes(5));
        if !status.same_as(prev) || stale {
            self.store.put_status(key, &status, self.guard.as_ref()).await?;
        }
        Ok(())
    }

    fn throttle_wait(&self, kind: Kind) -> Option<Duration> {
        let until = *self.throttled.lock().unwrap().get(service_of(kind))?;
        until.checked_duration_since(Instant::now())
    }

    fn note_throttling(&self, kind: Kind, e: &AwsError) {
        if e.class == ErrorClass::Throttling && e.code.as_deref() != Some("Throttled") {
            let hold = self.backoff.base;
            self.throttled.lock().unwrap().insert(service_of(kind), Instant::now() + hold);
        }
    }
}

/// The previous memo with the fields an adapter returned laid over it.
fn merge_memo(previous: &Json, new: &Json) -> Json {
    let mut merged = if previous.is_object() { previous.clone() } else { json!({}) };
    for (k, v) in new.as_object().into_iter().flatten() {
        merged[k] = v.clone();
    }
    merged
}

/// The AWS service a kind talks to, for the per-service throttling hold.
fn service_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Stack | Kind::VpcEndpoint => "ec2",
        Kind::CacheSubnetGroup | Kind::CacheCluster | Kind::CacheUser => "elasticache",
        Kind::AppRunnerVpcConnector | Kind::AppRunnerService | Kind::AppRunnerCustomDomain => "apprunner",
        Kind::EcsCluster | Kind::EcsService => "ecs",
    }
}

struct PassState {
    outputs: BTreeMap<ResourceKey, BTreeMap<String, String>>,
    ready: BTreeSet<ResourceKey>,
    report: PassReport,
    vpcs: BTreeMap<String, String>,
    plan_only: bool,
    /// This pass's number for the selector cache (what it fetched itself is never re-fetched).
    lookup_pass: u64,
}

impl PassState {
    fn count(&mut self, stack: &str, outcome: Outcome) {
        self.report.resources += 1;
        if matches!(outcome, Outcome::Busy | Outcome::Waiting | Outcome::Failed | Outcome::Drifted) {
            self.report.unsettled.insert(stack.to_string());
        }
        match outcome {
            Outcome::Ready => self.report.ready += 1,
            Outcome::Busy => self.report.busy += 1,
            Outcome::Waiting => self.report.waiting += 1,
            Outcome::Failed => self.report.failed += 1,
            Outcome::Drifted => self.report.drifted += 1,
            Outcome::Skipped => {}
        }
    }
}

/// Errors saying a network id steward passed does not exist (any longer).
const UNKNOWN_NETWORK_IDS: &[&str] = &[
    "InvalidSubnet",
    "InvalidSubnetID.NotFound",
    "InvalidGroup.NotFound",
    "InvalidSecurityGroupID.NotFound",
    "InvalidRouteTableId.NotFound",
    "InvalidRouteTableID.NotFound",
    "InvalidVpcID.NotFound",
];

enum Unresolved {
    Wait(String),
    Terminal(String),
    /// An AWS call made to resolve a selector failed.
    Failed(AwsError),
}

impl From<LookupError> for Unresolved {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::Missing(m) => Unresolved::Wait(m),
            LookupError::Ambiguous(m) => Unresolved::Terminal(m),
            LookupError::Aws(e) => Unresolved::Failed(e),
        }
    }
}
