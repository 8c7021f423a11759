//! CacheSubnetGroup: an ElastiCache subnet group, the subnets a cache cluster's nodes live in.

use super::tagging::{elasticache_tag_list, elasticache_tags};
use super::typed::prelude::*;
use aws_sdk_elasticache::types::CacheSubnetGroup as Group;

pub const NAME: StrRule = StrRule {
    expected: "a subnet group name of 1 to 255 lowercase letters, digits or hyphens",
    check: |s| {
        (1..=255).contains(&s.len()) && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    },
};

const DESCRIPTION: StrRule = StrRule { expected: "at most 255 characters", check: |s| s.len() <= 255 };

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CacheSubnetGroupSpec {
    /// What the group is for ("Managed by steward" unless the spec says).
    #[serde(default = "managed_by_steward")]
    #[field(shape = string(DESCRIPTION), tf = "description")]
    pub description: String,
    #[field(shape = selectors("subnet-"), set, tf = "subnet_ids", doc = "Its subnets (ids, selectors or references).")]
    pub subnets: Vec<String>,
}

fn managed_by_steward() -> String {
    "Managed by steward".into()
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct CacheSubnetGroupOutputs {
    #[field(tf = "name", doc = "the group's name, which a cache cluster names")]
    pub name: String,
    #[field(tf = "arn", doc = "the group's ARN")]
    pub arn: String,
}

pub struct CacheSubnetGroup;
pub static ADAPTER: Typed<CacheSubnetGroup> = Typed::new(CacheSubnetGroup);

#[async_trait::async_trait]
impl TypedKind for CacheSubnetGroup {
    type Spec = CacheSubnetGroupSpec;
    type View = Self::Spec;
    type Outputs = CacheSubnetGroupOutputs;
    type Memo = ();
    type Facts = ();
    const NAME_RULE: StrRule = NAME;
    const TERRAFORM: Option<(&'static str, &'static str)> = Some(("aws_elasticache_subnet_group", "name"));
    const TAGGED: TagsAt = Some(|arn| Tagged::ElastiCache(arn));
    const TAGS_BY: Option<&'static str> = Some("arn");
    const ACTIONS: &'static [&'static str] = crate::actions!("elasticache":
        DescribeCacheSubnetGroups, ListTagsForResource, CreateCacheSubnetGroup, ModifyCacheSubnetGroup,
        DeleteCacheSubnetGroup, AddTagsToResource, RemoveTagsFromResource);

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        // One listing for every group of the pass, every page.
        let listing = cx.clients.elasticache.describe_cache_subnet_groups().into_paginator().items().send();
        let groups: Vec<Group> = listing.collect::<Result<_, _>>().await.map_err(aws("DescribeCacheSubnetGroups"))?;
        let mut out = Vec::new();
        for want in wanted {
            if let Some(g) = groups.iter().find(|g| g.cache_subnet_group_name() == Some(&want.key().name)) {
                out.push((want.key().clone(), seen_of(cx, g).await?));
            }
        }
        Ok(out)
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        cx.may_mutate().await?;
        let request = cx.clients.elasticache.create_cache_subnet_group().cache_subnet_group_name(&want.key().name);
        let request = request.cache_subnet_group_description(&want.spec.description);
        let request = request.set_subnet_ids(Some(want.spec.subnets.clone()));
        request
            .set_tags(Some(elasticache_tag_list(&want.desired.tags)))
            .send()
            .await
            .map_err(aws("CreateCacheSubnetGroup"))?;
        Ok(())
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, _: &[Drift]) -> Memo<Self> {
        cx.may_mutate().await?;
        let request = cx.clients.elasticache.modify_cache_subnet_group().cache_subnet_group_name(&seen.outputs.name);
        let request = request.cache_subnet_group_description(&want.spec.description);
        request.set_subnet_ids(Some(want.spec.subnets.clone())).send().await.map_err(aws("ModifyCacheSubnetGroup"))?;
        Ok(())
    }

    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        let request = cx.clients.elasticache.delete_cache_subnet_group().cache_subnet_group_name(&seen.outputs.name);
        request.send().await.map_err(aws("DeleteCacheSubnetGroup"))?;
        Ok(())
    }
}

/// A group as ElastiCache has it, with its tags.
async fn seen_of(cx: &Cx<'_>, g: &Group) -> Result<Seen<CacheSubnetGroup>, ReconcileError> {
    let (name, arn) = (g.cache_subnet_group_name().unwrap_or_default(), g.arn().unwrap_or_default());
    let config = CacheSubnetGroupSpec {
        description: g.cache_subnet_group_description().unwrap_or_default().to_string(),
        subnets: g.subnets().iter().filter_map(|s| s.subnet_identifier().map(str::to_string)).collect(),
    };
    let tags = elasticache_tags(cx, arn, g.vpc_id().unwrap_or_default()).await?;
    let outputs = CacheSubnetGroupOutputs { name: name.into(), arn: arn.into() };
    Ok(Seen::new(name.into(), ObjectState::Ready, config, tags, outputs))
}
