//! CacheCluster: an ElastiCache Redis (or Valkey) cluster.

use super::definition::KindDef;
use crate::schema::*;
use serde_json::Value as Json;

/// Engine versions ElastiCache offers for Redis OSS and Valkey (major.minor).
pub const ENGINE_VERSIONS: &[&str] = &["6.0", "6.2", "7.0", "7.1", "7.2", "8.0", "8.1"];

/// ElastiCache cluster ids: 1–40 lowercase letters, digits and hyphens, starting with a letter,
/// no trailing or doubled hyphen.
pub const CLUSTER_ID: StrRule = StrRule {
    expected: "a cluster id of 1 to 40 lowercase letters, digits or hyphens, starting with a letter, no '--' and no trailing '-'",
    check: |s| {
        (1..=40).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.ends_with('-')
            && !s.contains("--")
    },
};

pub const NODE_TYPE: StrRule = StrRule {
    expected: "a node type such as cache.t4g.micro",
    check: |s| {
        let parts: Vec<&str> = s.split('.').collect();
        parts.len() == 3
            && parts[0] == "cache"
            && parts[1..]
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
    },
};

/// The AWS actions its calls need (checked against the controller's policy).
pub const ACTIONS: &[&str] = &[
    "elasticache:DescribeCacheClusters",
    "elasticache:ListTagsForResource",
    "elasticache:CreateCacheCluster",
    "elasticache:ModifyCacheCluster",
    "elasticache:DeleteCacheCluster",
    "elasticache:AddTagsToResource",
    "elasticache:RemoveTagsFromResource",
];

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![
            req("engine", Shape::Enum(&["redis", "valkey"])),
            req("engineVersion", Shape::Enum(ENGINE_VERSIONS)),
            req("nodeType", string(NODE_TYPE)),
            opt("numCacheNodes", int(1, 1)),
            opt("port", int(1024, 65535)),
            opt("parameterGroup", any_string()),
            req("subnetGroup", any_string()),
            opt("securityGroups", selectors("sg-")),
            opt("tags", tags()),
        ],
        outputs: vec!["address", "port", "arn"],
        retain_by_default: true,
        name_rule: CLUSTER_ID,
        check,
        actions: ACTIONS,
        terraform: None,
    }
}

fn check(spec: &Json, c: &mut Checker) {
    // CreateCacheCluster takes memcached or redis only: Valkey runs as a replication group.
    if spec.get("engine").and_then(Json::as_str) == Some("valkey") {
        c.error_at(
            "engine",
            "valkey is not available for a CacheCluster (CreateCacheCluster takes memcached or redis; \
             ElastiCache runs Valkey only as a replication group or serverless cache): use engine: redis",
        );
    }
    let version = spec.get("engineVersion").and_then(Json::as_str).unwrap_or_default();
    if let Some(group) = spec.get("parameterGroup").and_then(Json::as_str) {
        // A default parameter group must match the engine's major version (default.redis6.x).
        if let Some(family) = group.strip_prefix("default.") {
            let major = version.split('.').next().unwrap_or_default();
            if !family.contains(major) {
                c.error_at(
                    "parameterGroup",
                    format!("expected a parameter group for engine version {version}, got {group:?}"),
                );
            }
        }
    }
}

// ---- adapter ----

use super::tagging::{elasticache_tag_list, elasticache_tags};
use super::values::{sorted_strings, status_text};
use crate::aws::aws;
use crate::model::ResourceKey;
use crate::model::tags::{Tagged, owns, tag_view};
use crate::model::{Adapter, Cx, Desired, Drift, Fix, ObjectState, Observed, ReconcileError};
use serde_json::json;
use std::collections::BTreeMap;

pub struct CacheClusterAdapter;

/// The spec a CacheCluster's adapter reads (the schema above says what is valid).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CacheClusterSpec {
    pub engine: String,
    pub engine_version: String,
    pub node_type: String,
    #[serde(default = "one_node")]
    pub num_cache_nodes: i32,
    #[serde(default = "redis_port")]
    pub port: i32,
    pub parameter_group: Option<String>,
    pub subnet_group: String,
    pub security_groups: Option<Vec<String>>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

fn one_node() -> i32 {
    1
}

fn redis_port() -> i32 {
    6379
}

/// "6.2.6" → "6.2": manifests name major.minor, AWS reports the patch level it runs.
fn major_minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

#[async_trait::async_trait]
impl Adapter for CacheClusterAdapter {
    async fn observe(
        &self,
        cx: &Cx<'_>,
        wanted: &[Desired],
    ) -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError> {
        let mut clusters = Vec::new();
        let mut pages =
            cx.clients.elasticache.describe_cache_clusters().show_cache_node_info(true).into_paginator().send();
        while let Some(page) = pages.next().await {
            clusters.extend(page.map_err(aws("DescribeCacheClusters"))?.cache_clusters().to_vec());
        }
        let mut out = BTreeMap::new();
        for d in wanted {
            let Some(c) = clusters.iter().find(|c| c.cache_cluster_id() == Some(d.key.name.as_str())) else { continue };
            let status = status_text(c.cache_cluster_status().unwrap_or_default());
            let phase = match status.as_str() {
                "available" => ObjectState::Ready,
                "deleted" => continue,
                "create-failed" | "incompatible-network" | "restore-failed" | "incompatible-parameters" => {
                    ObjectState::Failed(status.clone())
                }
                other => ObjectState::Busy(other.to_string()),
            };
            let arn = c.arn().unwrap_or_default();
            let created = c.cache_cluster_create_time().map(|t| t.to_string()).unwrap_or_default();
            let tags = if status == "deleting" { BTreeMap::new() } else { elasticache_tags(cx, arn, &created).await? };
            let groups: Vec<String> =
                c.security_groups().iter().filter_map(|g| g.security_group_id().map(str::to_string)).collect();
            let endpoint = c.cache_nodes().first().and_then(|n| n.endpoint());
            let port = endpoint.and_then(|e| e.port()).unwrap_or(6379);
            let config = json!({
                "engine": c.engine(),
                "engineVersion": major_minor(c.engine_version().unwrap_or_default()),
                "nodeType": c.cache_node_type(),
                "numCacheNodes": c.num_cache_nodes(),
                "port": port,
                "parameterGroup": c.cache_parameter_group().and_then(|p| p.cache_parameter_group_name()),
                "subnetGroup": c.cache_subnet_group_name(),
                "securityGroups": sorted_strings(&groups),
            });
            let mut config = config;
            config["tags"] = tag_view(&tags);
            let mut outputs = BTreeMap::from([("arn".to_string(), arn.to_string())]);
            if let Some(address) = endpoint.and_then(|e| e.address()) {
                outputs.insert("address".into(), address.to_string());
                outputs.insert("port".into(), port.to_string());
            }
            // A deleting cluster still blocks its name: wait for it to go, then create again.
            let owned = status == "deleting" || owns(&tags, &d.key);
            out.insert(
                d.key.clone(),
                Observed { id: d.key.name.clone(), owned, state: phase, config, outputs, extra: json!({ "arn": arn }) },
            );
        }
        Ok(out)
    }

    fn set_fields(&self) -> &'static [&'static str] {
        &["securityGroups"]
    }

    fn desired_view(&self, d: &Desired) -> Result<Json, ReconcileError> {
        let spec: CacheClusterSpec = d.spec_as()?;
        let mut view = json!({
            "tags": tag_view(&d.tags),
            "engine": spec.engine,
            "engineVersion": spec.engine_version,
            "nodeType": spec.node_type,
            "numCacheNodes": spec.num_cache_nodes,
            "port": spec.port,
            // ElastiCache keeps subnet group names in lower case and finds them in any case.
            "subnetGroup": spec.subnet_group.to_ascii_lowercase(),
        });
        if let Some(group) = spec.parameter_group {
            view["parameterGroup"] = json!(group);
        }
        if let Some(groups) = &spec.security_groups {
            view["securityGroups"] = sorted_strings(groups);
        }
        Ok(view)
    }

    fn fix_for(&self, field: &str) -> Fix {
        match field {
            "engine" | "port" | "subnetGroup" => Fix::Replace,
            _ => Fix::InPlace,
        }
    }

    /// ModifyCacheCluster raises an engine version but never lowers it: a desired version below
    /// the live one (someone upgraded out of band, or the spec went back) needs a new cluster.
    fn fix_for_change(&self, field: &str, desired: &Json, actual: &Json) -> Fix {
        let version = |v: &Json| -> Vec<u32> {
            v.as_str().unwrap_or_default().split('.').map(|p| p.parse().unwrap_or(0)).collect()
        };
        if field == "engineVersion" && version(desired) < version(actual) {
            return Fix::Replace;
        }
        self.fix_for(field)
    }

    async fn create(&self, cx: &Cx<'_>, d: &Desired) -> Result<Json, ReconcileError> {
        let spec: CacheClusterSpec = d.spec_as()?;
        cx.may_mutate().await?;
        cx.clients
            .elasticache
            .create_cache_cluster()
            .cache_cluster_id(&d.key.name)
            .engine(spec.engine)
            .engine_version(spec.engine_version)
            .cache_node_type(spec.node_type)
            .num_cache_nodes(spec.num_cache_nodes)
            .port(spec.port)
            .set_cache_parameter_group_name(spec.parameter_group)
            .cache_subnet_group_name(spec.subnet_group)
            .set_security_group_ids(Some(spec.security_groups.unwrap_or_default()))
            .set_tags(Some(elasticache_tag_list(&d.tags)))
            .send()
            .await
            .map_err(aws("CreateCacheCluster"))?;
        Ok(Json::Null)
    }

    async fn update(&self, cx: &Cx<'_>, d: &Desired, o: &Observed, drift: &[Drift]) -> Result<Json, ReconcileError> {
        if drift.iter().any(|x| x.fix == Fix::Replace) {
            return self.delete(cx, o).await.map(|()| Json::Null);
        }
        let spec: CacheClusterSpec = d.spec_as()?;
        let touches = |f: &str| drift.iter().any(|x| x.field == f || x.field.starts_with(&format!("{f}[")));
        let mut request =
            cx.clients.elasticache.modify_cache_cluster().cache_cluster_id(&d.key.name).apply_immediately(true);
        if touches("nodeType") {
            request = request.cache_node_type(spec.node_type);
        }
        if touches("engineVersion") {
            request = request.engine_version(spec.engine_version);
        }
        if touches("securityGroups") {
            request = request.set_security_group_ids(spec.security_groups);
        }
        if touches("parameterGroup") {
            request = request.set_cache_parameter_group_name(spec.parameter_group);
        }
        if touches("numCacheNodes") {
            request = request.num_cache_nodes(spec.num_cache_nodes);
        }
        cx.may_mutate().await?;
        request.send().await.map_err(aws("ModifyCacheCluster"))?;
        Ok(Json::Null)
    }

    async fn delete(&self, cx: &Cx<'_>, o: &Observed) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        cx.clients
            .elasticache
            .delete_cache_cluster()
            .cache_cluster_id(&o.id)
            .send()
            .await
            .map_err(aws("DeleteCacheCluster"))?;
        Ok(())
    }

    fn tagged<'a>(&self, o: &'a Observed) -> Option<Tagged<'a>> {
        Some(Tagged::ElastiCache(o.extra_str("arn")))
    }
}
