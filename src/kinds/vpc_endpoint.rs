//! VpcEndpoint: an EC2 VPC endpoint, Interface (subnets, security groups, private DNS) or Gateway
//! (route tables).
//!
//! Found by its ownership tags, one listing a pass for every endpoint of the pass's VPCs and
//! stacks. An endpoint with this resource's identity (same VPC and service) but not its tags is
//! reported unowned: steward must not create a second one beside it (AWS would refuse its private
//! DNS name).

use super::tagging::{ec2_tag_list, tag_map};
use super::typed::prelude::*;
use super::values::{client_token, status_text};
use crate::model::policy::{canonical_policy, policy_as_compared};
use crate::model::tags::owns;
use crate::model::{ResourceKey, TAG_STACK};
use crate::schema::Checker;
use aws_sdk_ec2::types::{Filter, ResourceType, TagSpecification, VpcEndpoint as Endpoint, VpcEndpointType};

/// Short service names (`ecr.api`, `s3`); the region-qualified name is built from the Stack's region.
pub const SERVICE: StrRule = StrRule {
    expected: "a service name such as ecr.api, logs or s3",
    check: |s| {
        (1..=64).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c))
    },
};

const POLICY: StrRule = StrRule {
    expected: "an IAM policy document in JSON (an object with a Statement)",
    check: |s| canonical_policy(s).is_some(),
};

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VpcEndpointSpec {
    /// The short service name (`logs`, `ecr.api`, `s3`); the region's full name is made from it.
    #[field(shape = string(SERVICE), create_only)]
    pub service: String,
    #[field(shape = Shape::Enum(&["Interface", "Gateway"]), create_only, doc = "Interface or Gateway.")]
    pub r#type: String,
    #[field(shape = selectors("subnet-"), set, filled, doc = "An Interface endpoint's subnets (required for one).")]
    pub subnets: Option<Vec<String>>,
    /// An Interface endpoint's security groups (none unless the spec names them).
    #[field(shape = selectors("sg-"), set, filled)]
    pub security_groups: Option<Vec<String>>,
    #[field(filled, doc = "An Interface endpoint's private DNS name (on unless the spec says).")]
    pub private_dns: Option<bool>,
    #[field(shape = selectors("rtb-"), set, filled, doc = "A Gateway endpoint's route tables (required for one).")]
    pub route_tables: Option<Vec<String>>,
    /// Its policy, a JSON document compared as a document: AWS's full-access policy unless the
    /// spec names one, and watched all the same (a Deny-all on the S3 gateway stops image pulls).
    #[field(shape = Shape::Str { rule: POLICY, max_len: 20_480 }, filled)]
    pub policy: Option<String>,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct VpcEndpointOutputs {
    #[field(doc = "the endpoint's id")]
    pub id: String,
}

pub struct VpcEndpoint;
pub static ADAPTER: Typed<VpcEndpoint> = Typed::new(VpcEndpoint);

#[async_trait::async_trait]
impl TypedKind for VpcEndpoint {
    type Spec = VpcEndpointSpec;
    type View = Self::Spec;
    type Outputs = VpcEndpointOutputs;
    type Memo = ();
    type Facts = ();
    const TAGGED: TagsAt = Some(|id| Tagged::Ec2(id));
    const REPLACED_BY_DELETING: bool = true;
    const ACTIONS: &'static [&'static str] = crate::actions!("ec2": DescribeVpcEndpoints, CreateVpcEndpoint,
        ModifyVpcEndpoint, DeleteVpcEndpoints, CreateTags, DeleteTags);

    fn check(spec: &VpcEndpointSpec, c: &mut Checker) {
        if spec.r#type == "Interface" {
            if spec.subnets.is_none() {
                c.error_at("subnets", "required for an Interface endpoint");
            }
            if spec.route_tables.is_some() {
                c.error_at("routeTables", "only a Gateway endpoint takes route tables");
            }
        } else {
            if spec.route_tables.is_none() {
                c.error_at("routeTables", "required for a Gateway endpoint");
            }
            let interface_only = [
                ("subnets", spec.subnets.is_some()),
                ("securityGroups", spec.security_groups.is_some()),
                ("privateDns", spec.private_dns.is_some()),
            ];
            for (field, _) in interface_only.iter().filter(|(_, given)| *given) {
                c.error_at(field, "only an Interface endpoint takes this field");
            }
        }
    }

    fn compared(spec: VpcEndpointSpec, _desired: &Desired) -> VpcEndpointSpec {
        let interface = spec.r#type == "Interface";
        VpcEndpointSpec {
            subnets: interface.then(|| spec.subnets.clone().unwrap_or_default()),
            security_groups: interface.then(|| spec.security_groups.clone().unwrap_or_default()),
            private_dns: interface.then(|| spec.private_dns.unwrap_or(true)),
            route_tables: (!interface).then(|| spec.route_tables.clone().unwrap_or_default()),
            policy: Some(policy_as_compared(spec.policy.as_deref().unwrap_or(DEFAULT_POLICY))),
            ..spec
        }
    }

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let vpcs: BTreeSet<&str> = wanted.iter().map(|w| w.desired.vpc_id.as_str()).collect();
        let stacks: BTreeSet<&str> = wanted.iter().map(|w| w.key().stack.as_str()).collect();
        let filter = |name: &str, values: &BTreeSet<&str>| {
            Filter::builder().name(name).set_values(Some(values.iter().map(|v| v.to_string()).collect())).build()
        };
        let request = cx.clients.ec2.describe_vpc_endpoints().filters(filter("vpc-id", &vpcs));
        let found = list(request.filters(filter(&format!("tag:{TAG_STACK}"), &stacks))).await?;
        let mut out: Vec<(ResourceKey, Seen<Self>)> = Vec::new();
        for e in &found {
            let tags = tag_map(e.tags().iter().map(|t| (t.key(), t.value())));
            if let Some(want) = wanted.iter().find(|w| owns(&tags, w.key())) {
                out.extend(seen_of(e, &cx.clients.region).map(|seen| (want.key().clone(), seen)));
            }
        }
        // Looked up by identity only for endpoints not found by tag.
        let found_by_tag: BTreeSet<ResourceKey> = out.iter().map(|(k, _)| k.clone()).collect();
        for want in wanted.iter().filter(|w| !found_by_tag.contains(w.key())) {
            let request = cx.clients.ec2.describe_vpc_endpoints();
            let request = request.filters(Filter::builder().name("vpc-id").values(&want.desired.vpc_id).build());
            let service = full_service_name(&want.desired.region, &want.spec.service);
            let listed = list(request.filters(Filter::builder().name("service-name").values(service).build())).await?;
            let claimed = |id: &str| out.iter().any(|(k, seen)| k.stack == want.key().stack && seen.id == id);
            let candidate = listed.iter().filter_map(|e| seen_of(e, &cx.clients.region)).find(|seen| {
                // Endpoints that another resource of this stack owns are not this one's. One that
                // another stack keeps has this one's identity all the same: it is reported with
                // its owner, whether or not that stack is in this pass.
                let theirs = wanted.iter().any(|w| w.key().stack == want.key().stack && owns(&seen.tags, w.key()));
                !claimed(&seen.id) && !theirs
            });
            out.extend(candidate.map(|seen| (want.key().clone(), seen)));
        }
        Ok(out)
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        let (spec, desired) = (want.spec.clone(), want.desired);
        let interface = spec.r#type == "Interface";
        let tags = TagSpecification::builder()
            .resource_type(ResourceType::VpcEndpoint)
            .set_tags(Some(ec2_tag_list(&desired.tags)));
        let request = cx.clients.ec2.create_vpc_endpoint().vpc_id(&desired.vpc_id);
        let request = request.service_name(full_service_name(&desired.region, &spec.service));
        let request =
            request.vpc_endpoint_type(if interface { VpcEndpointType::Interface } else { VpcEndpointType::Gateway });
        let request = request.client_token(client_token(desired)).set_policy_document(spec.policy);
        let request =
            request.tag_specifications(tags.build()).set_route_table_ids(spec.route_tables.filter(|_| !interface));
        let request = request.set_subnet_ids(interface.then(|| spec.subnets.unwrap_or_default()));
        let request = request.set_security_group_ids(interface.then(|| spec.security_groups.unwrap_or_default()));
        let request = request.set_private_dns_enabled(interface.then(|| spec.private_dns.unwrap_or(true)));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("CreateVpcEndpoint"))?;
        Ok(())
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, drift: &[Drift]) -> Memo<Self> {
        let need = Self::compared(want.spec.clone(), want.desired);
        let have = &seen.config;
        // What to add and what to remove, to go from what AWS has to what is wanted.
        let moves = |have: &Option<Vec<String>>, need: &Option<Vec<String>>| {
            let (have, need) = (have.clone().unwrap_or_default(), need.clone().unwrap_or_default());
            let add: Vec<String> = need.iter().filter(|n| !have.contains(n)).cloned().collect();
            let remove: Vec<String> = have.iter().filter(|h| !need.contains(h)).cloned().collect();
            (Some(add).filter(|a| !a.is_empty()), Some(remove).filter(|r| !r.is_empty()))
        };
        let touches = |field: &str| drift.iter().any(|x| x.field == field || x.field.starts_with(&format!("{field}[")));
        let request = cx.clients.ec2.modify_vpc_endpoint().vpc_endpoint_id(&seen.id);
        let request = if ["subnets", "securityGroups", "routeTables", "privateDns"].iter().any(|f| touches(f)) {
            let ((add_subnets, remove_subnets), (add_groups, remove_groups), (add_tables, remove_tables)) = (
                moves(&have.subnets, &need.subnets),
                moves(&have.security_groups, &need.security_groups),
                moves(&have.route_tables, &need.route_tables),
            );
            let request = request.set_add_subnet_ids(add_subnets).set_remove_subnet_ids(remove_subnets);
            let request = request.set_add_security_group_ids(add_groups).set_remove_security_group_ids(remove_groups);
            let request = request.set_add_route_table_ids(add_tables).set_remove_route_table_ids(remove_tables);
            request.set_private_dns_enabled(need.private_dns.filter(|_| touches("privateDns")))
        } else if touches("policy") {
            request
        } else {
            return Ok(());
        };
        // The default is sent as a document rather than ResetPolicy: same effect on AWS, and moto
        // ignores ResetPolicy.
        let request = request.set_policy_document(need.policy.filter(|_| touches("policy")));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("ModifyVpcEndpoint"))?;
        Ok(())
    }

    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        let request = cx.clients.ec2.delete_vpc_endpoints().vpc_endpoint_ids(&seen.id);
        request.send().await.map_err(aws("DeleteVpcEndpoints"))?;
        Ok(())
    }
}

fn full_service_name(region: &str, service: &str) -> String {
    format!("com.amazonaws.{region}.{service}")
}

/// Every endpoint a listing finds, every page.
async fn list(
    request: aws_sdk_ec2::operation::describe_vpc_endpoints::builders::DescribeVpcEndpointsFluentBuilder,
) -> Result<Vec<Endpoint>, ReconcileError> {
    let mut found = Vec::new();
    let mut pages = request.into_paginator().send();
    while let Some(page) = pages.next().await {
        found.extend(page.map_err(aws("DescribeVpcEndpoints"))?.vpc_endpoints().iter().cloned());
    }
    Ok(found)
}

/// An endpoint as EC2 has it, in the compared form; None once it is going or gone.
fn seen_of(e: &Endpoint, region: &str) -> Option<Seen<VpcEndpoint>> {
    let state = phase_of(e.state().map(|s| s.as_str()).unwrap_or_default())?;
    let service = e.service_name().unwrap_or_default();
    let interface = e.vpc_endpoint_type() == Some(&VpcEndpointType::Interface);
    let groups: Vec<String> = e.groups().iter().filter_map(|g| g.group_id().map(str::to_string)).collect();
    let config = VpcEndpointSpec {
        service: service.strip_prefix(&format!("com.amazonaws.{region}.")).unwrap_or(service).to_string(),
        r#type: e.vpc_endpoint_type().map(|t| t.as_str()).unwrap_or_default().to_string(),
        subnets: interface.then(|| e.subnet_ids().to_vec()),
        security_groups: interface.then_some(groups),
        private_dns: interface.then(|| e.private_dns_enabled().unwrap_or(false)),
        route_tables: (!interface).then(|| e.route_table_ids().to_vec()),
        policy: e.policy_document().map(policy_as_compared),
    };
    let tags = tag_map(e.tags().iter().map(|t| (t.key(), t.value())));
    let id = e.vpc_endpoint_id().unwrap_or_default().to_string();
    Some(Seen::new(id.clone(), state, config, tags, VpcEndpointOutputs { id }))
}

fn phase_of(state: &str) -> Option<ObjectState> {
    // EC2 answers in lower case where the SDK's enum expects capitals: compare as text.
    match status_text(state).as_str() {
        "available" => Some(ObjectState::Ready),
        "deleted" | "deleting" => None,
        "failed" | "rejected" | "expired" => Some(ObjectState::Failed(state.to_string())),
        other => Some(ObjectState::Busy(other.to_string())),
    }
}

/// The policy AWS gives an endpoint created without one (and what a spec without `policy` wants).
const DEFAULT_POLICY: &str =
    r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;

#[cfg(test)]
mod policy_tests {
    use super::*;
    use crate::model::policy::canonical_policy;

    #[test]
    fn equivalent_policies_are_one_and_a_deny_is_not_the_default() {
        let spelled = r#"{"Statement": {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["*"], "Resource": "*"},
                          "Version": "2008-10-17"}"#;
        assert_eq!(canonical_policy(spelled), canonical_policy(DEFAULT_POLICY));
        let deny =
            r#"{"Version":"2008-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#;
        assert_ne!(canonical_policy(deny), canonical_policy(DEFAULT_POLICY));
    }
}
