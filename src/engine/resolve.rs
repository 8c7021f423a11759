//! Reference and selector resolution: a stored resource becomes this pass's `Desired`, or the
//! reason it cannot yet (which the decision turns into wait or blocked).

use super::decide::Resolution;
use super::known::Known;
use super::lookup::LookupError;
use super::runtime::Engine;
use super::walk::Loaded;
use crate::kinds::stack::TagPolicy;
use crate::manifest::references::{self, substitute};
use crate::model::{Desired, Kind, ReconcileError, ResourceKey};
use crate::store::StoredResource;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// Errors saying a network id steward passed does not exist (any longer).
pub(super) const UNKNOWN_NETWORK_IDS: &[&str] = &[
    "InvalidSubnet",
    "InvalidSubnetID.NotFound",
    "InvalidGroup.NotFound",
    "InvalidSecurityGroupID.NotFound",
    "InvalidRouteTableId.NotFound",
    "InvalidRouteTableID.NotFound",
    "InvalidVpcID.NotFound",
];

pub(super) enum Unresolved {
    /// Not resolvable this pass, for the decision to judge.
    Not(Resolution),
    /// An AWS call made to resolve a selector failed.
    Failed(ReconcileError),
}

impl From<LookupError> for Unresolved {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::Missing(m) => Unresolved::Not(Resolution::NothingSelected(m)),
            LookupError::Ambiguous(m) => Unresolved::Not(Resolution::Ambiguous(m)),
            LookupError::Aws(e) => Unresolved::Failed(e.into()),
        }
    }
}

impl Engine {
    /// Builds the desired object for this pass: references substituted with observed outputs,
    /// selectors resolved to ids, tags merged. Also returns the dependencies that exist but are
    /// not ready yet (`Resolution::Resolved { settling }`).
    pub(super) async fn resolve(
        &self,
        r: &StoredResource,
        loaded: &Loaded,
        known: &mut Known,
    ) -> Result<(Desired, Vec<ResourceKey>), Unresolved> {
        let key = &r.manifest.key;
        let stack_key = ResourceKey::new(&key.stack, Kind::Stack, &key.stack);
        let Some(stack_spec) = loaded.typed_stack_spec(&key.stack) else {
            return Err(Unresolved::Not(Resolution::WaitingFor(vec![stack_key])));
        };
        let stack_spec = stack_spec
            .map_err(|e| Unresolved::Failed(ReconcileError::invalid_spec("read spec", format!("{stack_key}: {e}"))))?;
        let region = stack_spec.region.clone();
        let clients = self.aws.region(&region);
        if key.kind == Kind::Stack {
            let vpc = match known.vpcs.get(&key.stack) {
                Some(v) => v.clone(),
                None => {
                    let found = self.lookups.vpc(&clients, &stack_spec.vpc, known.lookup_pass).await?;
                    known.vpcs.insert(key.stack.clone(), found.clone());
                    found
                }
            };
            let desired = Desired {
                key: key.clone(),
                spec: r.manifest.spec.clone(),
                tags: BTreeMap::new(),
                region,
                vpc_id: vpc,
                version: r.version,
                memo: Json::Null,
                exact_tags: false,
            };
            return Ok((desired, Vec::new()));
        }
        let mut settling = Vec::new();
        if !r.deleted {
            let mut waiting = Vec::new();
            for dep in references::dependencies(&r.manifest).into_iter().filter(|d| d.kind != Kind::Stack) {
                if known.ready.contains(&dep) {
                    continue;
                }
                if known.present.contains(&dep) { settling.push(dep) } else { waiting.push(dep) }
            }
            if !waiting.is_empty() {
                return Err(Unresolved::Not(Resolution::WaitingFor(waiting)));
            }
        }
        let vpc = vpc_of(key, known).ok_or(Unresolved::Not(Resolution::WaitingFor(vec![stack_key])))?;
        let params = &stack_spec.params;
        let outputs = &known.outputs;
        let lookup = |kind: Kind, name: &str, output: &str| -> Option<String> {
            if kind == Kind::Stack {
                return match output.strip_prefix("params.") {
                    Some(p) => params.get(p).cloned(),
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
                let names = missing.iter().map(|m| format!("{}/{}.{}", m.kind, m.name, m.output)).collect();
                return Err(Unresolved::Not(Resolution::WaitingForOutputs(names)));
            }
        };
        // A removed resource's selectors are resolved when they still can be (its kind reads
        // them as ids); it is found by name either way.
        let spec = match r.deleted {
            true => self.lookups.resolve(&clients, &vpc, &spec, known.lookup_pass).await.unwrap_or(spec),
            false => self.lookups.resolve(&clients, &vpc, &spec, known.lookup_pass).await?,
        };
        // The stack's default tags, and the resource's own over them.
        let mut tags = stack_spec.default_tags.clone();
        for (k, v) in spec.get("tags").and_then(Json::as_object).into_iter().flatten() {
            tags.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
        }
        let exact_tags = stack_spec.tag_policy == TagPolicy::Exact;
        let mut desired = Desired {
            key: key.clone(),
            spec,
            tags,
            region,
            vpc_id: vpc,
            version: r.version,
            memo: Json::Null,
            exact_tags,
        };
        desired.tags.extend(desired.ownership_tags());
        Ok((desired, settling))
    }
}

/// The VPC a resource goes in: its stack's. The stack's own Vpc is what the stack's selector
/// finds once it exists, so it alone goes ahead while the stack has none yet.
fn vpc_of(key: &ResourceKey, known: &Known) -> Option<String> {
    match known.vpcs.get(&key.stack) {
        Some(vpc) => Some(vpc.clone()),
        None => (key.kind == Kind::Vpc).then(String::new),
    }
}
