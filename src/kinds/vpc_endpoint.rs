//! VpcEndpoint: an EC2 VPC endpoint, Interface (subnets, security groups, private DNS) or Gateway
//! (route tables).

use super::definition::{GENERIC_NAME, KindDef};
use crate::model::tags::Tagged;
use crate::schema::*;
use serde_json::Value as Json;

/// Short service names (`ecr.api`, `s3`); the region-qualified name is built from the Stack's region.
pub const SERVICE: StrRule = StrRule {
    expected: "a service name such as ecr.api, logs or s3",
    check: |s| {
        (1..=64).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c))
    },
};

/// The AWS actions its calls need (checked against the controller's policy).
pub const ACTIONS: &[&str] = &[
    "ec2:DescribeVpcEndpoints",
    "ec2:CreateVpcEndpoint",
    "ec2:ModifyVpcEndpoint",
    "ec2:DeleteVpcEndpoints",
    "ec2:CreateTags",
    "ec2:DeleteTags",
];

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![
            req("service", string(SERVICE)),
            req("type", Shape::Enum(&["Interface", "Gateway"])),
            opt("subnets", selectors("subnet-")),
            opt("securityGroups", selectors("sg-")),
            opt("privateDns", Shape::Bool),
            opt("routeTables", selectors("rtb-")),
            opt(
                "policy",
                Shape::Str {
                    rule: StrRule {
                        expected: "an IAM policy document in JSON (an object with a Statement)",
                        check: |s| canonical_policy(s).is_some(),
                    },
                    max_len: 20_480,
                },
            ),
            opt("tags", tags()),
        ],
        outputs: vec!["id"],
        retain_by_default: false,
        name_rule: GENERIC_NAME,
        check,
        actions: ACTIONS,
        terraform: None,
        field_table: None,
    }
}

fn check(spec: &Json, c: &mut Checker) {
    let has = |f: &str| spec.get(f).is_some();
    match spec.get("type").and_then(Json::as_str) {
        Some("Interface") => {
            if !has("subnets") {
                c.error_at("subnets", "required for an Interface endpoint");
            }
            if has("routeTables") {
                c.error_at("routeTables", "only a Gateway endpoint takes route tables");
            }
        }
        Some("Gateway") => {
            if !has("routeTables") {
                c.error_at("routeTables", "required for a Gateway endpoint");
            }
            for f in ["subnets", "securityGroups", "privateDns"] {
                if has(f) {
                    c.error_at(f, "only an Interface endpoint takes this field");
                }
            }
        }
        _ => {}
    }
}

/// The policy AWS gives an endpoint created without one (and what a spec without `policy` wants).
const DEFAULT_POLICY: &str =
    r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;

/// A policy document in one canonical form, so that equivalent spellings are not drift: one
/// compact line, Statement always a list, single actions and resources as lists, lists sorted,
/// `{"AWS": "*"}` as `"*"`. None when it is not a JSON object with a Statement.
pub fn canonical_policy(text: &str) -> Option<String> {
    let mut doc: Json = serde_json::from_str(text).ok()?;
    let statements = match doc.get_mut("Statement")?.take() {
        Json::Array(list) => list,
        one @ Json::Object(_) => vec![one],
        _ => return None,
    };
    let mut canonical: Vec<Json> = statements
        .into_iter()
        .map(|mut s| {
            for key in ["Action", "NotAction", "Resource", "NotResource"] {
                if let Some(v) = s.get_mut(key) {
                    let mut list = match v.take() {
                        Json::Array(list) => list,
                        other => vec![other],
                    };
                    list.sort_by_key(Json::to_string);
                    *v = Json::Array(list);
                }
            }
            if s.get("Principal") == Some(&json!({ "AWS": "*" })) {
                s["Principal"] = json!("*");
            }
            s
        })
        .collect();
    canonical.sort_by_key(Json::to_string);
    doc["Statement"] = Json::Array(canonical);
    let mut sorted = serde_json::Map::new();
    let mut keys: Vec<String> = doc.as_object()?.keys().cloned().collect();
    keys.sort();
    for k in keys {
        sorted.insert(k.clone(), doc[&k].clone());
    }
    Some(Json::Object(sorted).to_string())
}

/// The spec a VpcEndpoint's adapter reads.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VpcEndpointSpec {
    /// The short service name (`logs`, `ecr.api`, `s3`).
    pub service: String,
    #[serde(rename = "type")]
    pub endpoint_type: String,
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default)]
    pub security_groups: Vec<String>,
    #[serde(default = "private_dns_on")]
    pub private_dns: bool,
    #[serde(default)]
    pub route_tables: Vec<String>,
    pub policy: Option<String>,
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
}

fn private_dns_on() -> bool {
    true
}

impl VpcEndpointSpec {
    fn interface(&self) -> bool {
        self.endpoint_type == "Interface"
    }

    /// The policy as compared: the spec's, or the one AWS gives an endpoint without one.
    fn policy(&self) -> String {
        let text = self.policy.as_deref().unwrap_or(DEFAULT_POLICY);
        canonical_policy(text).unwrap_or_else(|| text.to_string())
    }
}

// ---- adapter ----

use super::tagging::tag_map;
use super::values::{client_token, sorted_strings, status_text, strings};
use crate::aws::aws;
use crate::model::ResourceKey;
use crate::model::tags::{owns, tag_view};
use crate::model::{Adapter, Cx, Desired, Drift, Fix, ObjectState, Observed, ReconcileError, TAG_STACK};
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification, VpcEndpointType};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

pub struct VpcEndpointAdapter;

fn full_service_name(region: &str, service: &str) -> String {
    format!("com.amazonaws.{region}.{service}")
}

fn view_of(e: &aws_sdk_ec2::types::VpcEndpoint, region: &str) -> (Json, BTreeMap<String, String>) {
    let tags = tag_map(e.tags().iter().map(|t| (t.key(), t.value())));
    let service = e.service_name().unwrap_or_default();
    let short = service.strip_prefix(&format!("com.amazonaws.{region}.")).unwrap_or(service);
    let mut config = json!({
        "service": short,
        "type": e.vpc_endpoint_type().map(|t| t.as_str()).unwrap_or_default(),
        "tags": tag_view(&tags),
        // A Deny-all on the S3 gateway stops image pulls: the policy is watched even when the
        // spec leaves it to the default.
        "policy": e.policy_document().map(|p| canonical_policy(p).unwrap_or_else(|| p.to_string())),
    });
    let groups: Vec<String> = e.groups().iter().filter_map(|g| g.group_id().map(str::to_string)).collect();
    if config["type"] == "Interface" {
        config["subnets"] = sorted_strings(e.subnet_ids());
        config["securityGroups"] = sorted_strings(&groups);
        config["privateDns"] = json!(e.private_dns_enabled().unwrap_or(false));
    } else {
        config["routeTables"] = sorted_strings(e.route_table_ids());
    }
    (config, tags)
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

fn ec2_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

#[async_trait::async_trait]
impl Adapter for VpcEndpointAdapter {
    async fn observe(
        &self,
        cx: &Cx<'_>,
        wanted: &[Desired],
    ) -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError> {
        let vpcs: BTreeSet<&str> = wanted.iter().map(|d| d.vpc_id.as_str()).collect();
        let stacks: BTreeSet<&str> = wanted.iter().map(|d| d.key.stack.as_str()).collect();
        let filter = |name: &str, values: &BTreeSet<&str>| {
            Filter::builder().name(name).set_values(Some(values.iter().map(|v| v.to_string()).collect())).build()
        };
        let mut found = Vec::new();
        let mut pages = cx
            .clients
            .ec2
            .describe_vpc_endpoints()
            .filters(filter("vpc-id", &vpcs))
            .filters(filter(&format!("tag:{TAG_STACK}"), &stacks))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            found.extend(page.map_err(aws("DescribeVpcEndpoints"))?.vpc_endpoints().to_vec());
        }
        let mut out = BTreeMap::new();
        for e in &found {
            let Some(phase) = phase_of(e.state().map(|s| s.as_str()).unwrap_or_default()) else { continue };
            let (config, tags) = view_of(e, &cx.clients.region);
            if let Some(d) = wanted.iter().find(|d| owns(&tags, &d.key)) {
                let id = e.vpc_endpoint_id().unwrap_or_default().to_string();
                let observed = Observed {
                    id: id.clone(),
                    owned: true,
                    state: phase,
                    config,
                    outputs: BTreeMap::from([("id".into(), id)]),
                    extra: Json::Null,
                };
                out.insert(d.key.clone(), observed);
            }
        }
        // An endpoint without this resource's ownership tags but with its identity (same VPC and
        // service) is reported unowned: steward must not create a second one beside it (AWS would
        // refuse its private DNS name). Looked up only for endpoints not found by tag.
        let missing: Vec<&Desired> = wanted.iter().filter(|d| !out.contains_key(&d.key)).collect();
        for d in missing {
            let service = full_service_name(&d.region, &d.spec_as::<VpcEndpointSpec>()?.service);
            let mut listed = Vec::new();
            let mut pages = cx
                .clients
                .ec2
                .describe_vpc_endpoints()
                .filters(Filter::builder().name("vpc-id").values(&d.vpc_id).build())
                .filters(Filter::builder().name("service-name").values(service).build())
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                listed.extend(page.map_err(aws("DescribeVpcEndpoints"))?.vpc_endpoints().to_vec());
            }
            let claimed =
                |id: &str| out.iter().any(|(k, o): (&ResourceKey, &Observed)| k.stack == d.key.stack && o.id == id);
            let candidate = listed.iter().find(|e| {
                let id = e.vpc_endpoint_id().unwrap_or_default();
                // Endpoints that another resource of this stack owns are not this one's. One that
                // another stack keeps has this one's identity all the same: it is reported with
                // its owner, whether or not that stack is in this pass.
                let tags = tag_map(e.tags().iter().map(|t| (t.key(), t.value())));
                let theirs = wanted.iter().any(|w| w.key.stack == d.key.stack && owns(&tags, &w.key));
                e.state().is_some_and(|s| phase_of(s.as_str()).is_some()) && !claimed(id) && !theirs
            });
            if let Some(e) = candidate {
                let (config, tags) = view_of(e, &cx.clients.region);
                let id = e.vpc_endpoint_id().unwrap_or_default().to_string();
                let phase = phase_of(e.state().map(|s| s.as_str()).unwrap_or_default()).unwrap_or(ObjectState::Ready);
                let observed = Observed {
                    id: id.clone(),
                    owned: owns(&tags, &d.key),
                    state: phase,
                    config,
                    outputs: BTreeMap::from([("id".into(), id)]),
                    extra: Json::Null,
                };
                out.insert(d.key.clone(), observed);
            }
        }
        Ok(out)
    }

    fn set_fields(&self) -> &'static [&'static str] {
        &["routeTables", "securityGroups", "subnets"]
    }

    fn desired_view(&self, d: &Desired) -> Result<Json, ReconcileError> {
        let spec: VpcEndpointSpec = d.spec_as()?;
        let mut view = json!({
            "service": spec.service, "type": spec.endpoint_type, "tags": tag_view(&d.tags), "policy": spec.policy(),
        });
        if spec.interface() {
            view["subnets"] = sorted_strings(&spec.subnets);
            view["securityGroups"] = sorted_strings(&spec.security_groups);
            view["privateDns"] = json!(spec.private_dns);
        } else {
            view["routeTables"] = sorted_strings(&spec.route_tables);
        }
        Ok(view)
    }

    fn fix_for(&self, field: &str) -> Fix {
        if field == "service" || field == "type" { Fix::Replace } else { Fix::InPlace }
    }

    async fn create(&self, cx: &Cx<'_>, d: &Desired) -> Result<Json, ReconcileError> {
        let spec: VpcEndpointSpec = d.spec_as()?;
        cx.may_mutate().await?;
        let interface = spec.interface();
        let mut request = cx
            .clients
            .ec2
            .create_vpc_endpoint()
            .vpc_id(&d.vpc_id)
            .service_name(full_service_name(&d.region, &spec.service))
            .vpc_endpoint_type(if interface { VpcEndpointType::Interface } else { VpcEndpointType::Gateway })
            .client_token(client_token(d))
            .set_policy_document(spec.policy.clone())
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::VpcEndpoint)
                    .set_tags(Some(ec2_tags(&d.tags)))
                    .build(),
            );
        if interface {
            request = request
                .set_subnet_ids(Some(spec.subnets))
                .set_security_group_ids(Some(spec.security_groups))
                .private_dns_enabled(spec.private_dns);
        } else {
            request = request.set_route_table_ids(Some(spec.route_tables));
        }
        request.send().await.map_err(aws("CreateVpcEndpoint"))?;
        Ok(Json::Null)
    }

    async fn update(&self, cx: &Cx<'_>, d: &Desired, o: &Observed, drift: &[Drift]) -> Result<Json, ReconcileError> {
        if drift.iter().any(|x| x.fix == Fix::Replace) {
            // allowReplacement: delete now, the next pass creates the new endpoint.
            return self.delete(cx, o).await.map(|()| Json::Null);
        }
        let spec: VpcEndpointSpec = d.spec_as()?;
        let want = self.desired_view(d)?;
        let diff_list = |field: &str| -> (Vec<String>, Vec<String>) {
            let have: BTreeSet<String> = strings(o.config.get(field)).into_iter().collect();
            let need: BTreeSet<String> = strings(want.get(field)).into_iter().collect();
            (need.difference(&have).cloned().collect(), have.difference(&need).cloned().collect())
        };
        let touches =
            |prefix: &str| drift.iter().any(|x| x.field == prefix || x.field.starts_with(&format!("{prefix}[")));
        if ["subnets", "securityGroups", "routeTables", "privateDns"].iter().any(|f| touches(f)) {
            let (add_subnets, remove_subnets) = diff_list("subnets");
            let (add_groups, remove_groups) = diff_list("securityGroups");
            let (add_tables, remove_tables) = diff_list("routeTables");
            let mut request = cx.clients.ec2.modify_vpc_endpoint().vpc_endpoint_id(&o.id);
            if !add_subnets.is_empty() {
                request = request.set_add_subnet_ids(Some(add_subnets));
            }
            if !remove_subnets.is_empty() {
                request = request.set_remove_subnet_ids(Some(remove_subnets));
            }
            if !add_groups.is_empty() {
                request = request.set_add_security_group_ids(Some(add_groups));
            }
            if !remove_groups.is_empty() {
                request = request.set_remove_security_group_ids(Some(remove_groups));
            }
            if !add_tables.is_empty() {
                request = request.set_add_route_table_ids(Some(add_tables));
            }
            if !remove_tables.is_empty() {
                request = request.set_remove_route_table_ids(Some(remove_tables));
            }
            if touches("privateDns") {
                request = request.private_dns_enabled(spec.private_dns);
            }
            if touches("policy") {
                request = request.policy_document(spec.policy());
            }
            cx.may_mutate().await?;
            request.send().await.map_err(aws("ModifyVpcEndpoint"))?;
        } else if touches("policy") {
            // The default is sent as a document rather than ResetPolicy: same effect on AWS, and
            // moto ignores ResetPolicy.
            cx.may_mutate().await?;
            let request = cx.clients.ec2.modify_vpc_endpoint().vpc_endpoint_id(&o.id).policy_document(spec.policy());
            request.send().await.map_err(aws("ModifyVpcEndpoint"))?;
        }
        Ok(Json::Null)
    }

    async fn delete(&self, cx: &Cx<'_>, o: &Observed) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        cx.clients
            .ec2
            .delete_vpc_endpoints()
            .vpc_endpoint_ids(&o.id)
            .send()
            .await
            .map_err(aws("DeleteVpcEndpoints"))?;
        Ok(())
    }

    fn tagged<'a>(&self, o: &'a Observed) -> Option<Tagged<'a>> {
        Some(Tagged::Ec2(&o.id))
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;

    #[test]
    fn equivalent_policies_are_one_and_a_deny_is_not_the_default() {
        let spelled = r#"{"Statement": {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["*"], "Resource": "*"},
                          "Version": "2008-10-17"}"#;
        assert_eq!(canonical_policy(spelled), canonical_policy(DEFAULT_POLICY));
        let deny =
            r#"{"Version":"2008-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#;
        assert_ne!(canonical_policy(deny), canonical_policy(DEFAULT_POLICY));
        assert_eq!(canonical_policy("[]"), None);
        assert_eq!(canonical_policy(r#"{"Version":"2012-10-17"}"#), None);
    }
}
