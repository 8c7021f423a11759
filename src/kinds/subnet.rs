//! Subnet: a subnet of the stack's VPC. Retained by default (what runs in it would lose its
//! network). One DescribeSubnets a pass finds every subnet of the pass's VPCs by CIDR block, the
//! identity EC2 keeps unique in a VPC, so that one steward does not own is reported, not doubled.

use super::ec2::{CIDR, in_use};
use super::tagging::{ec2_tag_list, tag_map};
use super::typed::prelude::*;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType, TagSpecification};

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubnetSpec {
    /// Its addresses, inside the VPC's.
    #[field(shape = string(CIDR), create_only, tf = "cidr_block")]
    pub cidr_block: String,
    /// Its zone (`eu-west-1a`).
    #[field(create_only, tf = "availability_zone")]
    pub availability_zone: String,
    /// Whether instances started in it get a public address (off unless the spec says: a
    /// subnet kept isolated on purpose stays so).
    #[serde(default)]
    #[field(tf = "map_public_ip_on_launch")]
    pub map_public_ip_on_launch: bool,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct SubnetOutputs {
    #[field(tf = "id", doc = "the subnet's id")]
    pub id: String,
    #[field(tf = "arn", doc = "its ARN")]
    pub arn: String,
}

pub struct Subnet;
pub static ADAPTER: Typed<Subnet> = Typed::new(Subnet);

#[async_trait::async_trait]
impl TypedKind for Subnet {
    type Spec = SubnetSpec;
    type View = Self::Spec;
    type Outputs = SubnetOutputs;
    type Memo = ();
    type Facts = ();
    const RETAIN_BY_DEFAULT: bool = true;
    const TAGGED: TagsAt = Some(|id| Tagged::Ec2(id));
    const REPLACED_BY_DELETING: bool = true;
    const ACTIONS: &'static [&'static str] = crate::actions!("ec2": DescribeSubnets, CreateSubnet,
        ModifySubnetAttribute, DeleteSubnet, DescribeNetworkInterfaces, CreateTags, DeleteTags);

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let vpcs: BTreeSet<String> = wanted.iter().map(|w| w.desired.vpc_id.clone()).collect();
        let request = cx.clients.ec2.describe_subnets();
        let request =
            request.filters(Filter::builder().name("vpc-id").set_values(Some(vpcs.into_iter().collect())).build());
        let subnets: Result<Vec<_>, _> = request.into_paginator().items().send().collect().await;
        let mut out = Vec::new();
        for s in subnets.map_err(aws("DescribeSubnets"))? {
            let found =
                |w: &&Want<Self>| s.vpc_id() == Some(&w.desired.vpc_id) && s.cidr_block() == Some(&w.spec.cidr_block);
            let Some(want) = wanted.iter().find(found) else { continue };
            let config = SubnetSpec {
                cidr_block: s.cidr_block().unwrap_or_default().to_string(),
                availability_zone: s.availability_zone().unwrap_or_default().to_string(),
                map_public_ip_on_launch: s.map_public_ip_on_launch().unwrap_or(false),
            };
            let state = match s.state().map(|s| s.as_str()) {
                Some("pending") => ObjectState::Busy("pending".into()),
                _ => ObjectState::Ready,
            };
            let id = s.subnet_id().unwrap_or_default().to_string();
            let tags = tag_map(s.tags().iter().map(|t| (t.key(), t.value())));
            let outputs = SubnetOutputs { id: id.clone(), arn: s.subnet_arn().unwrap_or_default().to_string() };
            out.push((want.key().clone(), Seen::new(id, state, config, tags, outputs)));
        }
        Ok(out)
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        let tags = TagSpecification::builder().resource_type(ResourceType::Subnet);
        let request = cx.clients.ec2.create_subnet().vpc_id(&want.desired.vpc_id).cidr_block(&want.spec.cidr_block);
        let request = request.availability_zone(&want.spec.availability_zone);
        let request = request.tag_specifications(tags.set_tags(Some(ec2_tag_list(&want.desired.tags))).build());
        cx.may_mutate().await?;
        // Made before a crash, it is found by its CIDR and tags next pass (a second try is a
        // conflict EC2 refuses, not a duplicate).
        let made = unless(request.send().await.map_err(aws("CreateSubnet")), &["InvalidSubnet.Conflict"])?;
        match made.and_then(|m| m.subnet().and_then(|s| s.subnet_id()).map(str::to_string)) {
            Some(id) if want.spec.map_public_ip_on_launch => set_public(cx, &id, true).await,
            _ => Ok(()),
        }
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, _: &[Drift]) -> Memo<Self> {
        set_public(cx, &seen.id, want.spec.map_public_ip_on_launch).await
    }

    /// A subnet something still uses waits, and says what uses it.
    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        let deleted = cx.clients.ec2.delete_subnet().subnet_id(&seen.id).send().await;
        match unless(deleted.map_err(aws("DeleteSubnet")), &["InvalidSubnetID.NotFound"]) {
            Err(e) if e.code() == Some("DependencyViolation") => {
                Err(in_use(cx, "DeleteSubnet", "subnet-id", &seen.id).await?.into())
            }
            other => other.map(drop),
        }
    }
}

async fn set_public(cx: &Cx<'_>, id: &str, public: bool) -> Result<(), ReconcileError> {
    let value = AttributeBooleanValue::builder().value(public).build();
    let request = cx.clients.ec2.modify_subnet_attribute().subnet_id(id).map_public_ip_on_launch(value);
    cx.may_mutate().await?;
    request.send().await.map_err(aws("ModifySubnetAttribute"))?;
    Ok(())
}
