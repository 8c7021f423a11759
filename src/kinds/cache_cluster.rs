//! CacheCluster: an ElastiCache Redis (or Valkey) cluster.

use super::KindDef;
use crate::manifest::schema::*;
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
        outputs: &["address", "port", "arn"],
        retain_by_default: true,
        name_rule: CLUSTER_ID,
        check,
    }
}

fn check(spec: &Json, c: &mut Checker) {
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
