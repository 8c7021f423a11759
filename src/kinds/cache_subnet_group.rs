//! CacheSubnetGroup: an ElastiCache subnet group.

use super::definition::KindDef;
use crate::schema::*;

pub const NAME: StrRule = StrRule {
    expected: "a subnet group name of 1 to 255 lowercase letters, digits or hyphens",
    check: |s| {
        (1..=255).contains(&s.len()) && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    },
};

/// The AWS actions its calls need (checked against the controller's policy).
pub const ACTIONS: &[&str] = &[
    "elasticache:DescribeCacheSubnetGroups",
    "elasticache:ListTagsForResource",
    "elasticache:CreateCacheSubnetGroup",
    "elasticache:ModifyCacheSubnetGroup",
    "elasticache:DeleteCacheSubnetGroup",
    "elasticache:AddTagsToResource",
    "elasticache:RemoveTagsFromResource",
];

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![
            opt("description", string(StrRule { expected: "at most 255 characters", check: |s| s.len() <= 255 })),
            req("subnets", selectors("subnet-")),
            opt("tags", tags()),
        ],
        outputs: vec!["name"],
        retain_by_default: false,
        name_rule: NAME,
        check: super::definition::no_extra_checks,
        actions: ACTIONS,
        terraform: None,
    }
}

// ---- adapter ----

use super::tagging::{elasticache_tag_list, elasticache_tags};
use super::values::sorted_strings;
use crate::aws::aws;
use crate::model::ResourceKey;
use crate::model::tags::{Tagged, owns, tag_view};
use crate::model::{Adapter, Cx, Desired, Drift, Fix, ObjectState, Observed, ReconcileError};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

pub struct CacheSubnetGroupAdapter;

const DEFAULT_DESCRIPTION: &str = "Managed by steward";

/// The spec a CacheSubnetGroup's adapter reads.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CacheSubnetGroupSpec {
    pub description: Option<String>,
    pub subnets: Vec<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl CacheSubnetGroupSpec {
    fn description(&self) -> &str {
        self.description.as_deref().unwrap_or(DEFAULT_DESCRIPTION)
    }
}

#[async_trait::async_trait]
impl Adapter for CacheSubnetGroupAdapter {
    async fn observe(
        &self,
        cx: &Cx<'_>,
        wanted: &[Desired],
    ) -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError> {
        let mut groups = Vec::new();
        let mut pages = cx.clients.elasticache.describe_cache_subnet_groups().into_paginator().send();
        while let Some(page) = pages.next().await {
            groups.extend(page.map_err(aws("DescribeCacheSubnetGroups"))?.cache_subnet_groups().to_vec());
        }
        let mut out = BTreeMap::new();
        for d in wanted {
            let Some(g) = groups.iter().find(|g| g.cache_subnet_group_name() == Some(d.key.name.as_str())) else {
                continue;
            };
            let arn = g.arn().unwrap_or_default();
            let tags = elasticache_tags(cx, arn, g.vpc_id().unwrap_or_default()).await?;
            let subnets: Vec<String> =
                g.subnets().iter().filter_map(|s| s.subnet_identifier().map(str::to_string)).collect();
            let config = json!({
                "description": g.cache_subnet_group_description(),
                "subnets": sorted_strings(&subnets),
                "tags": tag_view(&tags),
            });
            let outputs = BTreeMap::from([("name".to_string(), d.key.name.clone())]);
            out.insert(
                d.key.clone(),
                Observed {
                    id: d.key.name.clone(),
                    owned: owns(&tags, &d.key),
                    state: ObjectState::Ready,
                    config,
                    outputs,
                    extra: json!({ "arn": arn }),
                },
            );
        }
        Ok(out)
    }

    fn set_fields(&self) -> &'static [&'static str] {
        &["subnets"]
    }

    fn desired_view(&self, d: &Desired) -> Result<Json, ReconcileError> {
        let spec: CacheSubnetGroupSpec = d.spec_as()?;
        Ok(json!({
            "description": spec.description(),
            "subnets": sorted_strings(&spec.subnets),
            "tags": tag_view(&d.tags),
        }))
    }

    fn fix_for(&self, _field: &str) -> Fix {
        Fix::InPlace
    }

    async fn create(&self, cx: &Cx<'_>, d: &Desired) -> Result<Json, ReconcileError> {
        let spec: CacheSubnetGroupSpec = d.spec_as()?;
        cx.may_mutate().await?;
        cx.clients
            .elasticache
            .create_cache_subnet_group()
            .cache_subnet_group_name(&d.key.name)
            .cache_subnet_group_description(spec.description())
            .set_subnet_ids(Some(spec.subnets.clone()))
            .set_tags(Some(elasticache_tag_list(&d.tags)))
            .send()
            .await
            .map_err(aws("CreateCacheSubnetGroup"))?;
        Ok(Json::Null)
    }

    async fn update(&self, cx: &Cx<'_>, d: &Desired, _o: &Observed, _drift: &[Drift]) -> Result<Json, ReconcileError> {
        let spec: CacheSubnetGroupSpec = d.spec_as()?;
        cx.may_mutate().await?;
        cx.clients
            .elasticache
            .modify_cache_subnet_group()
            .cache_subnet_group_name(&d.key.name)
            .cache_subnet_group_description(spec.description())
            .set_subnet_ids(Some(spec.subnets.clone()))
            .send()
            .await
            .map_err(aws("ModifyCacheSubnetGroup"))?;
        Ok(Json::Null)
    }

    async fn delete(&self, cx: &Cx<'_>, o: &Observed) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        cx.clients
            .elasticache
            .delete_cache_subnet_group()
            .cache_subnet_group_name(&o.id)
            .send()
            .await
            .map_err(aws("DeleteCacheSubnetGroup"))?;
        Ok(())
    }

    fn tagged<'a>(&self, o: &'a Observed) -> Option<Tagged<'a>> {
        Some(Tagged::ElastiCache(o.extra_str("arn")))
    }
}
