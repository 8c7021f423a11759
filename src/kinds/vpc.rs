//! Vpc: the stack's network. Retained by default (everything in it would go with it), and never
//! the account's default VPC, which stays AWS's. A VPC has no name EC2 keeps unique, so one
//! DescribeVpcs a pass finds the pass's VPCs by their ownership tags, or, for adoption, by `Name`.
//! Its DNS settings are two DescribeVpcAttribute calls each (EC2 has no batch read for them).

use super::ec2::{CIDR, claimant, in_use};
use super::tagging::{ec2_tag_list, tag_map};
use super::typed::prelude::*;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType, TagSpecification, VpcAttributeName};

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VpcSpec {
    /// Its addresses (`10.0.0.0/16`).
    #[field(shape = string(CIDR), create_only, tf = "cidr_block")]
    pub cidr_block: String,
    /// Whether the Amazon-provided DNS server answers in it (on, as AWS makes a VPC).
    #[serde(default = "on")]
    #[field(tf = "enable_dns_support")]
    pub enable_dns_support: bool,
    /// Whether its instances get public DNS names (off, as AWS makes a VPC; interface endpoints
    /// with private DNS need it on).
    #[serde(default)]
    #[field(tf = "enable_dns_hostnames")]
    pub enable_dns_hostnames: bool,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VpcOutputs {
    #[field(tf = "id", doc = "the VPC's id")]
    pub id: String,
    #[field(tf = "default_security_group_id", doc = "the group EC2 made with it (AWS's, never kept)")]
    pub default_security_group: String,
    #[field(tf = "main_route_table_id", doc = "the route table its subnets use unless associated")]
    pub main_route_table: String,
}

pub struct Vpc;
pub static ADAPTER: Typed<Vpc> = Typed::new(Vpc);

#[async_trait::async_trait]
impl TypedKind for Vpc {
    type Spec = VpcSpec;
    type View = Self::Spec;
    type Outputs = VpcOutputs;
    type Memo = ();
    type Facts = ();
    const RETAIN_BY_DEFAULT: bool = true;
    const TAGGED: TagsAt = Some(|id| Tagged::Ec2(id));
    const REPLACED_BY_DELETING: bool = true;
    const ACTIONS: &'static [&'static str] = crate::actions!("ec2": DescribeVpcs, DescribeVpcAttribute,
        DescribeSecurityGroups, DescribeRouteTables, CreateVpc, ModifyVpcAttribute, DeleteVpc,
        DescribeNetworkInterfaces, CreateTags, DeleteTags);

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let cidrs: Vec<String> = wanted.iter().map(|w| w.spec.cidr_block.clone()).collect();
        let request =
            cx.clients.ec2.describe_vpcs().filters(Filter::builder().name("cidr").set_values(Some(cidrs)).build());
        let vpcs: Result<Vec<_>, _> = request.into_paginator().items().send().collect().await;
        let mut found = Vec::new();
        for v in vpcs.map_err(aws("DescribeVpcs"))? {
            let tags = tag_map(v.tags().iter().map(|t| (t.key(), t.value())));
            // The default VPC is AWS's: it is never adopted, whatever it is tagged.
            let Some(want) = claimant(&tags, wanted).filter(|_| !v.is_default().unwrap_or(false)) else { continue };
            let id = v.vpc_id().unwrap_or_default().to_string();
            let state = match v.state().map(|s| s.as_str()) {
                Some("pending") => ObjectState::Busy("pending".into()),
                _ => ObjectState::Ready,
            };
            let config = VpcSpec {
                cidr_block: v.cidr_block().unwrap_or_default().to_string(),
                enable_dns_support: attribute(cx, &id, VpcAttributeName::EnableDnsSupport).await?,
                enable_dns_hostnames: attribute(cx, &id, VpcAttributeName::EnableDnsHostnames).await?,
            };
            found.push((want.key().clone(), id, state, config, tags));
        }
        let ids: Vec<String> = found.iter().map(|(_, id, ..)| id.clone()).collect();
        let (groups, mains) = if ids.is_empty() { Default::default() } else { defaults(cx, ids).await? };
        let out = found.into_iter().map(|(key, id, state, config, tags)| {
            let outputs = VpcOutputs {
                id: id.clone(),
                default_security_group: groups.get(&id).cloned().unwrap_or_default(),
                main_route_table: mains.get(&id).cloned().unwrap_or_default(),
            };
            (key, Seen::new(id, state, config, tags, outputs))
        });
        Ok(out.collect())
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        let tags = TagSpecification::builder().resource_type(ResourceType::Vpc);
        let request = cx.clients.ec2.create_vpc().cidr_block(&want.spec.cidr_block);
        let request = request.tag_specifications(tags.set_tags(Some(ec2_tag_list(&want.desired.tags))).build());
        cx.may_mutate().await?;
        // Made before a crash, it is found by its tags next pass, and its DNS settings follow.
        let made = request.send().await.map_err(aws("CreateVpc"))?;
        let id = made.vpc().and_then(|v| v.vpc_id()).unwrap_or_default();
        set_dns(
            cx,
            id,
            &want.spec,
            &VpcSpec { enable_dns_hostnames: false, enable_dns_support: true, ..want.spec.clone() },
        )
        .await
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, _: &[Drift]) -> Memo<Self> {
        set_dns(cx, &seen.id, &want.spec, &seen.config).await
    }

    /// A VPC with anything still in it waits, and says what.
    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        let deleted = cx.clients.ec2.delete_vpc().vpc_id(&seen.id).send().await;
        match unless(deleted.map_err(aws("DeleteVpc")), &["InvalidVpcID.NotFound"]) {
            Err(e) if e.code() == Some("DependencyViolation") => {
                Err(in_use(cx, "DeleteVpc", "vpc-id", &seen.id).await?.into())
            }
            other => other.map(drop),
        }
    }
}

/// One of a VPC's DNS settings (EC2 answers one attribute a call).
async fn attribute(cx: &Cx<'_>, id: &str, name: VpcAttributeName) -> Result<bool, ReconcileError> {
    let request = cx.clients.ec2.describe_vpc_attribute().vpc_id(id).attribute(name.clone());
    let read = request.send().await.map_err(aws("DescribeVpcAttribute"))?;
    let value = match name {
        VpcAttributeName::EnableDnsHostnames => read.enable_dns_hostnames(),
        _ => read.enable_dns_support(),
    };
    Ok(value.and_then(|v| v.value()).unwrap_or(false))
}

/// The default security group and main route table of each VPC: two calls for the whole pass.
async fn defaults(
    cx: &Cx<'_>,
    ids: Vec<String>,
) -> Result<(BTreeMap<String, String>, BTreeMap<String, String>), ReconcileError> {
    let in_vpcs = Filter::builder().name("vpc-id").set_values(Some(ids)).build();
    let request = cx.clients.ec2.describe_security_groups().filters(in_vpcs.clone());
    let request = request.filters(Filter::builder().name("group-name").values("default").build());
    let groups: Result<Vec<_>, _> = request.into_paginator().items().send().collect().await;
    let groups = groups.map_err(aws("DescribeSecurityGroups"))?.into_iter();
    let groups = groups.map(|g| (g.vpc_id().unwrap_or_default().into(), g.group_id().unwrap_or_default().into()));
    let request = cx.clients.ec2.describe_route_tables().filters(in_vpcs);
    let request = request.filters(Filter::builder().name("association.main").values("true").build());
    let tables: Result<Vec<_>, _> = request.into_paginator().items().send().collect().await;
    let tables = tables.map_err(aws("DescribeRouteTables"))?.into_iter();
    let mains = tables.map(|t| (t.vpc_id().unwrap_or_default().into(), t.route_table_id().unwrap_or_default().into()));
    Ok((groups.collect(), mains.collect()))
}

/// Sets each DNS setting that differs (EC2 takes one a call; setting a value it has is a no-op).
async fn set_dns(cx: &Cx<'_>, id: &str, want: &VpcSpec, have: &VpcSpec) -> Result<(), ReconcileError> {
    let on = |value: bool| AttributeBooleanValue::builder().value(value).build();
    // Hostnames need DNS support: support is turned on first and off last.
    if want.enable_dns_support && !have.enable_dns_support {
        let request = cx.clients.ec2.modify_vpc_attribute().vpc_id(id).enable_dns_support(on(true));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("ModifyVpcAttribute"))?;
    }
    if want.enable_dns_hostnames != have.enable_dns_hostnames {
        let request = cx.clients.ec2.modify_vpc_attribute().vpc_id(id);
        let request = request.enable_dns_hostnames(on(want.enable_dns_hostnames));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("ModifyVpcAttribute"))?;
    }
    if !want.enable_dns_support && have.enable_dns_support {
        let request = cx.clients.ec2.modify_vpc_attribute().vpc_id(id).enable_dns_support(on(false));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("ModifyVpcAttribute"))?;
    }
    Ok(())
}

fn on() -> bool {
    true
}
