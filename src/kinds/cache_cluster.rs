//! CacheCluster: an ElastiCache Redis (or Valkey) cluster.

use super::tagging::{elasticache_tag_list, elasticache_tags};
use super::typed::prelude::*;
use super::values::status_text;
use crate::schema::Checker;
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

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CacheClusterSpec {
    #[field(shape = Shape::Enum(&["redis", "valkey"]), create_only, doc = "The engine: redis (valkey is refused, see above).")]
    pub engine: String,
    /// Its major.minor version: raised in place, lowered only by a new cluster.
    #[field(shape = Shape::Enum(ENGINE_VERSIONS))]
    pub engine_version: String,
    #[field(shape = string(NODE_TYPE), doc = "Its nodes' type.")]
    pub node_type: String,
    #[serde(default = "one_node")]
    #[field(shape = int(1, 1), doc = "How many nodes (one: a Redis cluster of more is a replication group).")]
    pub num_cache_nodes: i32,
    #[serde(default = "redis_port")]
    #[field(shape = int(1024, 65535), create_only, doc = "The port it listens on (6379 unless the spec says).")]
    pub port: i32,
    #[field(shape = any_string(), doc = "Its parameter group (a default one matches the engine version).")]
    pub parameter_group: Option<String>,
    /// Its subnet group (ElastiCache keeps the names in lower case and finds them in any case).
    #[serde(deserialize_with = "super::values::lower_case")]
    #[field(shape = any_string(), create_only)]
    pub subnet_group: String,
    #[field(shape = selectors("sg-"), set, doc = "Its security groups.")]
    pub security_groups: Option<Vec<String>>,
}

fn one_node() -> i32 {
    1
}

fn redis_port() -> i32 {
    6379
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct CacheClusterOutputs {
    #[field(doc = "the node's address, once it has one")]
    pub address: Option<String>,
    #[field(doc = "the port it listens on, with the address")]
    pub port: Option<String>,
    #[field(doc = "the cluster's ARN")]
    pub arn: String,
}

pub struct CacheCluster;
pub static ADAPTER: Typed<CacheCluster> = Typed::new(CacheCluster);

#[async_trait::async_trait]
impl TypedKind for CacheCluster {
    type Spec = CacheClusterSpec;
    type View = Self::Spec;
    type Outputs = CacheClusterOutputs;
    type Memo = ();
    type Facts = ();
    const NAME_RULE: StrRule = CLUSTER_ID;
    const RETAIN_BY_DEFAULT: bool = true;
    const TAGGED: TagsAt = Some(|arn| Tagged::ElastiCache(arn));
    const REPLACED_BY_DELETING: bool = true;
    const TAGS_BY: Option<&'static str> = Some("arn");
    const ACTIONS: &'static [&'static str] = crate::actions!("elasticache": DescribeCacheClusters,
        ListTagsForResource, CreateCacheCluster, ModifyCacheCluster, DeleteCacheCluster, AddTagsToResource,
        RemoveTagsFromResource);

    fn check(spec: &CacheClusterSpec, c: &mut Checker) {
        // CreateCacheCluster takes memcached or redis only: Valkey runs as a replication group.
        if spec.engine == "valkey" {
            c.error_at(
                "engine",
                "valkey is not available for a CacheCluster (CreateCacheCluster takes memcached or redis; \
                 ElastiCache runs Valkey only as a replication group or serverless cache): use engine: redis",
            );
        }
        // A default parameter group must match the engine's major version (default.redis6.x).
        let (version, group) = (&spec.engine_version, spec.parameter_group.as_deref().unwrap_or_default());
        if let Some(family) = group.strip_prefix("default.")
            && !family.contains(version.split('.').next().unwrap_or_default())
        {
            let message = format!("expected a parameter group for engine version {version}, got {group:?}");
            c.error_at("parameterGroup", message);
        }
    }

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let listing = cx.clients.elasticache.describe_cache_clusters().show_cache_node_info(true);
        let clusters: Result<Vec<_>, _> = listing.into_paginator().items().send().collect().await;
        let clusters = clusters.map_err(aws("DescribeCacheClusters"))?;
        let mut out = Vec::new();
        for want in wanted {
            let Some(c) = clusters.iter().find(|c| c.cache_cluster_id() == Some(&want.key().name)) else { continue };
            let status = status_text(c.cache_cluster_status().unwrap_or_default());
            let state = match status.as_str() {
                "available" => ObjectState::Ready,
                "deleted" => continue,
                "create-failed" | "incompatible-network" | "restore-failed" | "incompatible-parameters" => {
                    ObjectState::Failed(status.clone())
                }
                other => ObjectState::Busy(other.to_string()),
            };
            let arn = c.arn().unwrap_or_default().to_string();
            let created = c.cache_cluster_create_time().map(|t| t.to_string()).unwrap_or_default();
            let tags =
                if status == "deleting" { BTreeMap::new() } else { elasticache_tags(cx, &arn, &created).await? };
            let endpoint = c.cache_nodes().first().and_then(|n| n.endpoint());
            let port = endpoint.and_then(|e| e.port()).unwrap_or(6379);
            let config = CacheClusterSpec {
                engine: c.engine().unwrap_or_default().into(),
                // "6.2.6" → "6.2": manifests name major.minor, AWS reports the patch level it runs.
                engine_version: c.engine_version().unwrap_or_default().split('.').take(2).collect::<Vec<_>>().join("."),
                node_type: c.cache_node_type().unwrap_or_default().into(),
                num_cache_nodes: c.num_cache_nodes().unwrap_or_default(),
                port,
                parameter_group: c.cache_parameter_group().and_then(|p| p.cache_parameter_group_name()).map(Into::into),
                subnet_group: c.cache_subnet_group_name().unwrap_or_default().into(),
                security_groups: Some(
                    c.security_groups().iter().filter_map(|g| g.security_group_id().map(Into::into)).collect(),
                ),
            };
            let address = endpoint.and_then(|e| e.address()).map(str::to_string);
            let outputs = CacheClusterOutputs { port: address.as_ref().map(|_| port.to_string()), address, arn };
            let seen = Seen::new(want.key().name.clone(), state, config, tags, outputs);
            out.push((want.key().clone(), seen));
        }
        Ok(out)
    }

    /// A deleting cluster has no tags left but still blocks its name: wait for it to go, then create again.
    fn owned_anyway(seen: &Seen<Self>) -> bool {
        seen.state == ObjectState::Busy("deleting".into())
    }

    /// ModifyCacheCluster raises an engine version but never lowers it: a desired version below
    /// the live one (someone upgraded out of band, or the spec went back) needs a new cluster.
    fn replaced_by_change(field: &str, desired: &Json, actual: &Json) -> bool {
        let version = |v: &Json| -> Vec<u32> {
            v.as_str().unwrap_or_default().split('.').map(|p| p.parse().unwrap_or(0)).collect()
        };
        field == "engineVersion" && version(desired) < version(actual)
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        let spec = want.spec.clone();
        let request = cx.clients.elasticache.create_cache_cluster().cache_cluster_id(&want.key().name);
        let request = request.engine(spec.engine).engine_version(spec.engine_version).cache_node_type(spec.node_type);
        let request = request.num_cache_nodes(spec.num_cache_nodes).port(spec.port);
        let request = request.set_cache_parameter_group_name(spec.parameter_group);
        let request = request.cache_subnet_group_name(spec.subnet_group);
        let request = request.set_security_group_ids(Some(spec.security_groups.unwrap_or_default()));
        cx.may_mutate().await?;
        request
            .set_tags(Some(elasticache_tag_list(&want.desired.tags)))
            .send()
            .await
            .map_err(aws("CreateCacheCluster"))?;
        Ok(())
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, drift: &[Drift]) -> Memo<Self> {
        let spec = want.spec.clone();
        let touches = |f: &str| drift.iter().any(|x| x.field == f || x.field.starts_with(&format!("{f}[")));
        let request = cx.clients.elasticache.modify_cache_cluster().cache_cluster_id(&seen.id).apply_immediately(true);
        let request = request.set_cache_node_type(Some(spec.node_type).filter(|_| touches("nodeType")));
        let request = request.set_engine_version(Some(spec.engine_version).filter(|_| touches("engineVersion")));
        let request = request.set_security_group_ids(spec.security_groups.filter(|_| touches("securityGroups")));
        let request =
            request.set_cache_parameter_group_name(spec.parameter_group.filter(|_| touches("parameterGroup")));
        let request = request.set_num_cache_nodes(Some(spec.num_cache_nodes).filter(|_| touches("numCacheNodes")));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("ModifyCacheCluster"))?;
        Ok(())
    }

    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        let request = cx.clients.elasticache.delete_cache_cluster().cache_cluster_id(&seen.id);
        request.send().await.map_err(aws("DeleteCacheCluster"))?;
        Ok(())
    }
}
