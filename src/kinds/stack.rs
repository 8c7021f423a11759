//! Stack: the settings every resource of a stack shares (region, VPC, tags, parameters; its
//! `resync` and `healWindow` are the defaults of its resources).

use super::definition::{GENERIC_NAME, KindDef};
use crate::schema::*;
use serde_json::Value as Json;

pub const REGION: StrRule = StrRule {
    expected: "an AWS region such as eu-west-1",
    check: |s| {
        let parts: Vec<&str> = s.split('-').collect();
        parts.len() >= 3
            && parts[0].len() == 2
            && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
            && parts.last().is_some_and(|p| p.parse::<u8>().is_ok())
    },
};

pub const PARAM_NAME: StrRule = StrRule {
    expected: "a parameter name (letters, digits and _, starting with a letter)",
    check: |s| {
        (1..=64).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    },
};

/// The AWS actions its calls need: none (the network it names is looked up by the engine).
pub const ACTIONS: &[&str] = &[];

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![
            req("region", string(REGION)),
            req("vpc", Shape::Selector { id_prefix: "vpc-" }),
            opt("defaultTags", tags()),
            opt("tagPolicy", Shape::Enum(&["merge", "exact"])),
            opt("params", dict(PARAM_NAME, Shape::Str { rule: ANY_STRING, max_len: 1024 }, 50)),
        ],
        outputs: vec!["vpcId"],
        retain_by_default: false,
        name_rule: GENERIC_NAME,
        check,
        actions: ACTIONS,
        terraform: None,
        field_table: None,
    }
}

fn check(spec: &Json, c: &mut Checker) {
    // Parameters are literal values other manifests reference; they may not reference anything.
    if let Some(params) = spec.get("params").and_then(Json::as_object) {
        for (k, v) in params {
            if v.as_str().is_some_and(|s| s.contains("${")) {
                c.error_at(&format!("params.{k}"), "expected a literal value; parameters cannot hold references");
            }
        }
    }
}

// ---- adapter: a Stack is settings, not an AWS object; observing it means finding its VPC ----

use crate::model::ResourceKey;
use crate::model::{Adapter, Cx, Desired, Drift, Fix, ObjectState, Observed, ReconcileError};
use std::collections::BTreeMap;

/// A Stack's own spec, as resolution reads it (its `resync` and `healWindow` are common fields).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StackSpec {
    pub region: String,
    /// The VPC: an id, or a `{byTag: {…}}` selector resolved in the region.
    pub vpc: Json,
    #[serde(default)]
    pub default_tags: BTreeMap<String, String>,
    #[serde(default)]
    pub tag_policy: TagPolicy,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// Whether tags steward did not declare are left alone (`merge`) or removed (`exact`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagPolicy {
    #[default]
    Merge,
    Exact,
}

pub struct StackAdapter;

#[async_trait::async_trait]
impl Adapter for StackAdapter {
    async fn observe(
        &self,
        _cx: &Cx<'_>,
        wanted: &[Desired],
    ) -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError> {
        // The engine resolved the VPC (one DescribeVpcs per stack) before it got here.
        Ok(wanted
            .iter()
            .map(|d| {
                let observed = Observed {
                    id: d.vpc_id.clone(),
                    owned: true,
                    state: ObjectState::Ready,
                    config: serde_json::json!({}),
                    outputs: BTreeMap::from([("vpcId".to_string(), d.vpc_id.clone())]),
                    extra: Json::Null,
                    failed_operation: None,
                };
                (d.key.clone(), observed)
            })
            .collect())
    }

    fn desired_view(&self, _desired: &Desired) -> Result<Json, ReconcileError> {
        Ok(serde_json::json!({}))
    }

    fn fix_for(&self, _field: &str) -> Fix {
        Fix::InPlace
    }

    async fn create(&self, _cx: &Cx<'_>, _desired: &Desired) -> Result<Json, ReconcileError> {
        Ok(Json::Null)
    }

    async fn update(
        &self,
        _cx: &Cx<'_>,
        _d: &Desired,
        _o: &Observed,
        _drift: &[Drift],
    ) -> Result<Json, ReconcileError> {
        Ok(Json::Null)
    }

    async fn delete(&self, _cx: &Cx<'_>, _observed: &Observed) -> Result<(), ReconcileError> {
        Ok(())
    }

    async fn adopt(&self, _cx: &Cx<'_>, _d: &Desired, _o: &Observed) -> Result<(), ReconcileError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_resync() {
        assert!((REGION.check)("eu-west-1"));
        assert!((REGION.check)("us-gov-west-1"));
        assert!(!(REGION.check)("Europe"));
        assert!((RESYNC.check)("60s"));
        assert!((RESYNC.check)("5m"));
        assert!(!(RESYNC.check)("1s"));
        assert!(!(RESYNC.check)("sometimes"));
        assert!((RESYNC.check)("0 */5 * * * *"));
    }
}
