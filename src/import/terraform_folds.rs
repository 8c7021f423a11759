//! Kinds a Terraform state spreads over several resources, assembled into one spec: a role and
//! its policy attachments and inline policies, a repository and its policies, a security group
//! and its separate rules, a route table and its associations and routes; and the network kinds
//! read from Terraform's names for their attributes.

use super::error::Unkept;
use super::fields::strip_nulls;
use super::inventory::{Found, Inventory, manifest_name};
use super::terraform_instance::Instance;
use crate::model::Kind;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

/// What a declared kind keeps in a nested block Terraform writes as a list: a role's inline
/// policies, a repository's scanning and encryption.
pub(super) fn nested_blocks(kind: Kind, i: &Instance, spec: &mut Json) {
    match kind {
        Kind::IamRole => {
            let blocks = i.attributes["inline_policy"].as_array().cloned().unwrap_or_default();
            let inline: serde_json::Map<String, Json> = blocks
                .iter()
                .filter_map(|b| Some((b["name"].as_str()?.to_string(), json!(b["policy"].as_str()?))))
                .filter(|(name, _)| !name.is_empty())
                .collect();
            if !inline.is_empty() {
                spec["inlinePolicies"] = Json::Object(inline);
            }
        }
        Kind::EcrRepository => {
            if i.block("image_scanning_configuration")["scan_on_push"] == json!(true) {
                spec["scanOnPush"] = json!(true);
            }
            let encryption = i.block("encryption_configuration");
            if encryption["encryption_type"] == "KMS" {
                let kms = json!({ "encryptionType": "KMS", "kmsKey": encryption["kms_key"] });
                spec["encryption"] = strip_nulls(kms);
            }
        }
        _ => {}
    }
}

/// Folds every part of the state into its object (`fold`, `fold_network`); a part whose object
/// is not imported is skipped, saying so.
pub(super) fn fold_parts(inv: &mut Inventory, live: &[Instance]) {
    for part in live.iter().filter(|i| is_part(&i.kind)) {
        let folded = match NETWORK_PARTS.contains(&part.kind.as_str()) {
            true => fold_network(&mut inv.found, part),
            false => fold(&mut inv.found, part),
        };
        if !folded {
            inv.skip(part.address.clone(), Unkept::PartWithoutItsObject);
        }
    }
    settle_egress(&mut inv.found);
}

/// Folds a part into the object it belongs to, found by name: a policy attachment or an inline
/// policy into its role, a lifecycle or repository policy into its repository. False when that
/// object is not imported.
fn fold(found: &mut [Found], part: &Instance) -> bool {
    let (kind, owner, field, name_field) = match part.kind.as_str() {
        "aws_iam_role_policy_attachment" => (Kind::IamRole, "role", "managedPolicyArns", "roleName"),
        "aws_iam_role_policy" => (Kind::IamRole, "role", "inlinePolicies", "roleName"),
        "aws_ecr_lifecycle_policy" => (Kind::EcrRepository, "repository", "lifecyclePolicy", "repositoryName"),
        _ => (Kind::EcrRepository, "repository", "repositoryPolicy", "repositoryName"),
    };
    let Some(owner) = part.str(owner) else { return false };
    let Some(object) = found.iter_mut().find(|f| f.kind == kind && f.spec[name_field] == owner) else {
        return false;
    };
    match field {
        "managedPolicyArns" => {
            let arn = part.str("policy_arn").unwrap_or_default();
            let arns = object.spec["managedPolicyArns"].as_array().cloned().unwrap_or_default();
            let mut arns: Vec<Json> = arns.into_iter().chain([json!(arn)]).collect();
            arns.sort_by_key(Json::to_string);
            arns.dedup();
            object.spec["managedPolicyArns"] = Json::Array(arns);
        }
        "inlinePolicies" => {
            let name = part.str("name").unwrap_or_default().to_string();
            if !object.spec["inlinePolicies"].is_object() {
                object.spec["inlinePolicies"] = json!({});
            }
            object.spec["inlinePolicies"][name] = json!(part.str("policy").unwrap_or_default());
        }
        _ => object.spec[field] = json!(part.str("policy").unwrap_or_default()),
    }
    true
}

/// A VPC, subnet, security group or route table as the kind that keeps it, named by its `Name`
/// tag (or its Terraform name); None for a resource that is not one of them or lacks what the
/// kind needs. Its `id` is an output, so what names it becomes a reference.
pub(super) fn network_object(i: &Instance, terraform_name: &str) -> Option<Found> {
    let a = &i.attributes;
    let (kind, spec) = match i.kind.as_str() {
        "aws_vpc" => (
            Kind::Vpc,
            json!({ "cidrBlock": i.str("cidr_block")?, "enableDnsSupport": a["enable_dns_support"],
                    "enableDnsHostnames": a["enable_dns_hostnames"] }),
        ),
        "aws_subnet" => (
            Kind::Subnet,
            json!({ "cidrBlock": i.str("cidr_block")?, "availabilityZone": i.str("availability_zone")?,
                    "mapPublicIpOnLaunch": a["map_public_ip_on_launch"] }),
        ),
        // Rules or routes the state does not hold are unknown, not none: named, not kept.
        "aws_security_group" if !a["ingress"].is_array() || !a["egress"].is_array() => return None,
        "aws_route_table" if !a["route"].is_array() => return None,
        "aws_security_group" => {
            let (ingress, egress) = (rules_of_blocks(&a["ingress"], i), rules_of_blocks(&a["egress"], i));
            (
                Kind::SecurityGroup,
                json!({ "groupName": i.str("name")?, "description": a["description"], "ingress": ingress,
                        "egress": egress }),
            )
        }
        "aws_route_table" => {
            let routes: Vec<Json> = a["route"].as_array().into_iter().flatten().filter_map(route_of_block).collect();
            (Kind::RouteTable, json!({ "routes": routes, "associations": [] }))
        }
        _ => return None,
    };
    let mut spec = strip_nulls(spec);
    if !i.tags().is_empty() {
        spec["tags"] = json!(i.tags());
    }
    let name = manifest_name(i.tags().get("Name").map_or(terraform_name, String::as_str));
    let outputs = BTreeMap::from([("id".to_string(), i.str("id")?.to_string())]);
    Some(Found { kind, name, spec, outputs, origin: i.address.clone() })
}

/// The parts of a role or a repository (folded by `fold`).
const PARTS: [&str; 4] =
    ["aws_iam_role_policy_attachment", "aws_iam_role_policy", "aws_ecr_lifecycle_policy", "aws_ecr_repository_policy"];

/// The parts of a security group or a route table (folded by `fold_network`).
const NETWORK_PARTS: [&str; 5] = [
    "aws_security_group_rule",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
    "aws_route_table_association",
    "aws_route",
];

/// Whether a resource is a part of another object, read once every object is (`fold_parts`).
pub(super) fn is_part(kind: &str) -> bool {
    PARTS.contains(&kind) || NETWORK_PARTS.contains(&kind)
}

/// Folds a separate rule into its group, an association or a route into its table (found by
/// id). False when that object is not imported.
fn fold_network(found: &mut [Found], part: &Instance) -> bool {
    let owner = part.str("security_group_id").or(part.str("route_table_id")).unwrap_or_default();
    let Some(object) = found.iter_mut().find(|f| f.outputs.get("id").is_some_and(|id| id == owner)) else {
        return false;
    };
    let (field, items) = match part.kind.as_str() {
        "aws_security_group_rule" => {
            let side = if part.str("type") == Some("egress") { "egress" } else { "ingress" };
            let mut block = part.attributes.clone();
            block["security_groups"] = json!([part.str("source_security_group_id")]);
            (side, rules_of_blocks(&json!([block]), part))
        }
        "aws_vpc_security_group_ingress_rule" | "aws_vpc_security_group_egress_rule" => {
            let side = if part.kind.ends_with("egress_rule") { "egress" } else { "ingress" };
            let a = &part.attributes;
            let rule = strip_nulls(json!({ "ipProtocol": protocol(&a["ip_protocol"]), "fromPort": a["from_port"],
                "toPort": a["to_port"], "cidrIpv4": a["cidr_ipv4"], "cidrIpv6": a["cidr_ipv6"],
                "referencedGroupId": a["referenced_security_group_id"], "description": a["description"] }));
            (side, vec![without_ports_for_all(rule)])
        }
        "aws_route_table_association" => ("associations", vec![json!({ "subnetId": part.str("subnet_id") })]),
        _ => ("routes", route_of_block(&part.attributes).into_iter().collect()),
    };
    let mut all: Vec<Json> = object.spec[field].as_array().cloned().unwrap_or_default();
    all.extend(items.into_iter().filter(|i| !i.is_null() && i.as_object().is_some_and(|o| !o.is_empty())));
    all.sort_by_key(Json::to_string);
    all.dedup();
    object.spec[field] = Json::Array(all);
    true
}

/// A group's egress as the kind keeps it: left out (AWS's allow-all) when it is just that.
fn settle_egress(found: &mut [Found]) {
    let allow_all = [json!([{ "ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0" }]), json!([])];
    for f in found.iter_mut().filter(|f| f.kind == Kind::SecurityGroup) {
        if let Some(spec) = f.spec.as_object_mut()
            && spec.get("egress").is_some_and(|e| allow_all.contains(e))
        {
            spec.remove("egress");
        }
    }
}

/// Terraform's rule blocks (a protocol, ports, and lists of sources) as one rule per source.
fn rules_of_blocks(blocks: &Json, group: &Instance) -> Vec<Json> {
    let mut rules = Vec::new();
    for b in blocks.as_array().into_iter().flatten() {
        let base = json!({ "ipProtocol": protocol(&b["protocol"]), "fromPort": b["from_port"], "toPort": b["to_port"],
                           "description": b["description"] });
        let list = |key: &str| b[key].as_array().cloned().unwrap_or_default();
        let mut sources: Vec<(&str, Json)> = Vec::new();
        sources.extend(list("cidr_blocks").into_iter().map(|c| ("cidrIpv4", c)));
        sources.extend(list("ipv6_cidr_blocks").into_iter().map(|c| ("cidrIpv6", c)));
        sources.extend(list("security_groups").into_iter().map(|g| ("referencedGroupId", g)));
        if b["self"] == json!(true) {
            sources.push(("referencedGroupId", json!(group.str("id").or(group.str("security_group_id")))));
        }
        for (key, source) in sources.into_iter().filter(|(_, s)| s.as_str().is_some_and(|s| !s.is_empty())) {
            let mut rule = base.clone();
            rule[key] = source;
            rules.push(without_ports_for_all(strip_nulls(rule)));
        }
    }
    rules.sort_by_key(Json::to_string);
    rules
}

/// Terraform's protocol spellings (`6`, `all`) as EC2 names them.
fn protocol(value: &Json) -> Json {
    json!(match value.as_str().unwrap_or("-1") {
        "6" => "tcp",
        "17" => "udp",
        "1" => "icmp",
        "58" => "icmpv6",
        "all" | "-1" => "-1",
        other => other,
    })
}

fn without_ports_for_all(mut rule: Json) -> Json {
    if let Some(map) = rule.as_object_mut() {
        if map.get("ipProtocol") == Some(&json!("-1")) {
            map.remove("fromPort");
            map.remove("toPort");
        }
        if map.get("description").is_some_and(|d| d == "") {
            map.remove("description");
        }
    }
    rule
}

/// A route block or `aws_route` as the kind keeps it; None for the local route and an
/// endpoint's routes (its VpcEndpoint's).
fn route_of_block(b: &Json) -> Option<Json> {
    let text = |key: &str| b[key].as_str().filter(|s| !s.is_empty()).map(str::to_string);
    let gateway = text("gateway_id");
    if gateway.as_deref().is_some_and(|g| g == "local" || g.starts_with("vpce-")) || text("vpc_endpoint_id").is_some() {
        return None;
    }
    let route = json!({
        "destinationCidrBlock": text("cidr_block").or(text("destination_cidr_block")),
        "destinationIpv6CidrBlock": text("ipv6_cidr_block").or(text("destination_ipv6_cidr_block")),
        "destinationPrefixListId": text("destination_prefix_list_id"),
        "gatewayId": gateway,
        "natGatewayId": text("nat_gateway_id"),
        "egressOnlyInternetGatewayId": text("egress_only_gateway_id"),
        "transitGatewayId": text("transit_gateway_id"),
        "vpcPeeringConnectionId": text("vpc_peering_connection_id"),
        "networkInterfaceId": text("network_interface_id"),
    });
    Some(strip_nulls(route))
}
