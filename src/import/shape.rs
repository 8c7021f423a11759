//! From an inventory to the manifests a person would have written (pure): one file per concern,
//! `adopt: true` on each resource, values that equal another resource's output written as
//! references, subnets, security groups and route tables as `byTag` selectors where their Name is
//! unique, the tags every resource shares lifted into the Stack's `defaultTags`, and fields equal
//! to AWS's defaults left out.

use super::error::Skip;
use super::inventory::{Found, Inventory, NetworkObject, Skipped};
use crate::manifest::{API_VERSION, parse_manifests};
use crate::model::Kind;
use crate::schema::yaml::to_yaml;
use serde_json::{Map, Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};

/// What `steward import` writes, and what it says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// File name (`redis.yaml`) and its text, in writing order.
    pub files: Vec<(String, String)>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub resources: usize,
    pub references: usize,
    pub selectors: usize,
    /// Ids written as they are: the object has no Name tag, or its Name is not unique.
    pub ids_kept: usize,
    pub default_tags: BTreeMap<String, String>,
    pub skipped: Vec<Skipped>,
    pub unmanaged: Vec<String>,
}

/// The outputs a reference is made to, longest values first so that a hostname inside a URL is
/// found before anything shorter.
const REFERABLE: &[(Kind, &str)] = &[
    (Kind::CacheCluster, "address"),
    (Kind::CacheSubnetGroup, "name"),
    (Kind::AppRunnerService, "serviceUrl"),
    (Kind::AppRunnerService, "arn"),
    (Kind::AppRunnerVpcConnector, "arn"),
    (Kind::AppRunnerCustomDomain, "dnsTarget"),
    (Kind::EcsCluster, "arn"),
];

/// Values shorter than this are references only when they are the whole value (a name), never
/// inside a longer text, where they could match by chance.
const MIN_EMBEDDED: usize = 12;

/// Fields left out when they equal AWS's default (which is also steward's).
/// Whether a value is AWS's default for its field.
type IsDefault = fn(&Json) -> bool;

fn defaults(kind: Kind) -> &'static [(&'static str, IsDefault)] {
    match kind {
        Kind::VpcEndpoint => &[("privateDns", |v| v == &json!(true))],
        Kind::CacheCluster => &[
            ("numCacheNodes", |v| v == &json!(1)),
            ("port", |v| v == &json!(6379)),
            ("parameterGroup", |v| v.as_str().is_some_and(|s| s.starts_with("default."))),
        ],
        Kind::CacheUser => &[("engine", |v| v == &json!("redis"))],
        Kind::AppRunnerService => &[
            ("autoDeploy", |v| v == &json!(false)),
            ("image.repositoryType", |v| v == &json!("ECR")),
            ("image.port", |v| v == &json!(8080)),
            ("healthCheck", |v| {
                v == &json!({ "protocol": "TCP", "interval": 5, "timeout": 2, "healthyThreshold": 1, "unhealthyThreshold": 5 })
            }),
        ],
        Kind::AppRunnerCustomDomain => &[("enableWww", |v| v == &json!(false))],
        Kind::Route53Record => &[("ttl", |v| v == &json!(300))],
        Kind::EcsCluster => &[("containerInsights", |v| v == &json!("disabled"))],
        Kind::EcsService => &[
            ("desiredCount", |v| v == &json!(1)),
            ("enableExecuteCommand", |v| v == &json!(false)),
            ("propagateTags", |v| v == &json!("NONE")),
            ("network.assignPublicIp", |v| v == &json!(false)),
        ],
        _ => &[],
    }
}

/// The file a kind's manifests go to, and the file's opening comment.
fn concern(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::VpcEndpoint => ("endpoints.yaml", "VPC endpoints"),
        Kind::CacheSubnetGroup | Kind::CacheCluster | Kind::CacheUser => ("redis.yaml", "Redis (ElastiCache)"),
        Kind::AppRunnerVpcConnector | Kind::AppRunnerService | Kind::AppRunnerCustomDomain | Kind::Route53Record => {
            ("web.yaml", "The web tier (App Runner) and its DNS records")
        }
        Kind::Vpc | Kind::Subnet | Kind::RouteTable | Kind::SecurityGroup => {
            ("network.yaml", "The network: VPC, subnets, route tables and security groups")
        }
        Kind::IamRole | Kind::IamPolicy => ("access.yaml", "IAM roles and policies"),
        Kind::EcrRepository => ("registries.yaml", "ECR repositories"),
        _ => ("worker.yaml", "The worker (ECS)"),
    }
}

/// Kinds whose objects carry AWS tags (a Route 53 record and a custom domain do not).
fn tagged(kind: Kind) -> bool {
    !matches!(kind, Kind::Route53Record | Kind::AppRunnerCustomDomain | Kind::Stack)
}

/// The manifests for `inventory` in stack `stack`.
pub fn plan(inventory: Inventory, stack: &str, resync: &str) -> Plan {
    let Inventory { found, vpc, network, skipped, unmanaged, region } = inventory;
    let mut summary = Summary { skipped, unmanaged, ..Summary::default() };
    let mut found = valid_alone(found, stack, &mut summary.skipped);
    found = fold_validation_records(found);
    unique_names(&mut found);
    summary.default_tags = lift_default_tags(&mut found);
    // Network objects the import keeps as kinds are referred to; the others are selected.
    let kept: BTreeSet<String> = found.iter().filter_map(|f| f.outputs.get("id").cloned()).collect();
    let selectable: Vec<NetworkObject> = network.into_iter().filter(|o| !kept.contains(&o.id)).collect();
    for f in &mut found {
        select_by_tag(&mut f.spec, &selectable, &kept, &mut summary);
    }
    summary.references = refer(&mut found);
    break_group_cycles(&mut found);
    for f in &mut found {
        drop_defaults(f);
        f.spec["adopt"] = json!(true);
    }
    summary.resources = found.len();
    let vpc = vpc.map(|v| selector_for(&v, std::slice::from_ref(&v), &mut summary));
    let stack_doc = stack_document(stack, region.as_deref(), vpc, &summary.default_tags, resync);
    Plan { files: files(stack, stack_doc, &found), summary }
}

/// The manifest of one found object, as it will be written.
fn document(stack: &str, f: &Found) -> Json {
    json!({ "apiVersion": API_VERSION, "kind": f.kind.as_str(), "metadata": { "name": f.name, "stack": stack }, "spec": f.spec })
}

/// Drops what steward cannot express (the schema refuses it alone, before any reference is
/// made), saying why.
fn valid_alone(found: Vec<Found>, stack: &str, skipped: &mut Vec<Skipped>) -> Vec<Found> {
    let mut kept = Vec::new();
    for f in found {
        match parse_manifests(&to_yaml(&document(stack, &f)), &f.origin, None) {
            Ok(_) => kept.push(f),
            Err(errors) => {
                let problems = errors
                    .0
                    .iter()
                    .map(|e| format!("{}: {}", e.path, e.message).trim_start_matches(": ").to_string())
                    .collect();
                skipped.push(Skipped { origin: f.origin, reason: Skip::Inexpressible { kind: f.kind, problems } });
            }
        }
    }
    kept
}

/// The certificate validation records of a custom domain become one Route53Record that refers to
/// the domain's `validationRecords`, as they would be written by hand.
fn fold_validation_records(found: Vec<Found>) -> Vec<Found> {
    let domains: Vec<(String, BTreeSet<String>)> = found
        .iter()
        .filter(|f| f.kind == Kind::AppRunnerCustomDomain)
        .filter_map(|f| {
            let records: Vec<Json> = serde_json::from_str(f.outputs.get("validationRecords")?).ok()?;
            let names = records.iter().filter_map(|r| r["name"].as_str()).map(bare).collect();
            Some((f.name.clone(), names))
        })
        .collect();
    let mut out: Vec<Found> = Vec::new();
    for f in found {
        let name = f.spec["name"].as_str().map(bare);
        let domain = domains
            .iter()
            .find(|(_, names)| f.kind == Kind::Route53Record && name.as_ref().is_some_and(|n| names.contains(n)));
        let Some((domain, _)) = domain else {
            out.push(f);
            continue;
        };
        let folded = format!("{domain}-certificate-validation");
        if out.iter().any(|o| o.kind == Kind::Route53Record && o.name == folded) {
            continue;
        }
        let mut spec = json!({
            "zone": f.spec["zone"],
            "certificateValidationRecords": format!("${{AppRunnerCustomDomain/{domain}.validationRecords}}"),
        });
        if let Some(ttl) = f.spec.get("ttl") {
            spec["ttl"] = ttl.clone();
        }
        out.push(Found { kind: Kind::Route53Record, name: folded, spec, outputs: BTreeMap::new(), origin: f.origin });
    }
    out
}

/// A DNS name without its trailing dot, in lower case.
fn bare(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Two objects of one kind with the same name get `-2`, `-3`… (a manifest name is unique per kind).
fn unique_names(found: &mut [Found]) {
    let mut seen: BTreeSet<(Kind, String)> = BTreeSet::new();
    for f in found.iter_mut() {
        let mut name = f.name.clone();
        let mut n = 1;
        while !seen.insert((f.kind, name.clone())) {
            n += 1;
            name = format!("{}-{n}", f.name);
        }
        f.name = name;
    }
}

/// Tags (key and value) on every tagged resource move to the Stack's `defaultTags`.
fn lift_default_tags(found: &mut [Found]) -> BTreeMap<String, String> {
    let tag_maps: Vec<BTreeMap<String, String>> = found
        .iter()
        .filter(|f| tagged(f.kind))
        .map(|f| serde_json::from_value(f.spec.get("tags").cloned().unwrap_or(json!({}))).unwrap_or_default())
        .collect();
    if tag_maps.len() < 2 {
        return BTreeMap::new();
    }
    let shared: BTreeMap<String, String> = tag_maps[0]
        .iter()
        .filter(|(k, v)| tag_maps.iter().all(|m| m.get(*k) == Some(v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for f in found.iter_mut().filter(|f| tagged(f.kind)) {
        if let Some(tags) = f.spec.get_mut("tags").and_then(Json::as_object_mut) {
            tags.retain(|k, _| !shared.contains_key(k));
            if tags.is_empty() {
                f.spec.as_object_mut().map(|s| s.remove("tags"));
            }
        }
    }
    shared
}

/// Network ids in lists become `{byTag: {Name: …}}` where that Name is unique among the VPC's
/// objects of the same type.
fn select_by_tag(value: &mut Json, network: &[NetworkObject], kept: &BTreeSet<String>, summary: &mut Summary) {
    match value {
        Json::Array(items) => {
            for item in items {
                match item.as_str().filter(|s| is_network_id(s) && !kept.contains(*s)) {
                    Some(id) => {
                        let object = network
                            .iter()
                            .find(|o| o.id == id)
                            .cloned()
                            .unwrap_or(NetworkObject { id: id.into(), name: None });
                        *item = selector_for(&object, network, summary);
                    }
                    None => select_by_tag(item, network, kept, summary),
                }
            }
        }
        Json::Object(map) => {
            let values = map.iter_mut().filter(|(k, _)| *k != "tags");
            values.for_each(|(_, v)| select_by_tag(v, network, kept, summary))
        }
        _ => {}
    }
}

fn is_network_id(s: &str) -> bool {
    ["subnet-", "sg-", "rtb-"].iter().any(|p| s.starts_with(p))
}

fn selector_for(object: &NetworkObject, network: &[NetworkObject], summary: &mut Summary) -> Json {
    let prefix = object.id.split('-').next().unwrap_or_default();
    let unique = object.name.as_ref().filter(|name| {
        network.iter().filter(|o| o.id.split('-').next() == Some(prefix) && o.name.as_ref() == Some(name)).count() == 1
    });
    match unique {
        Some(name) => {
            summary.selectors += 1;
            json!({ "byTag": { "Name": name } })
        }
        None => {
            summary.ids_kept += 1;
            json!(object.id)
        }
    }
}

/// A value another resource may be referred to by.
struct Target {
    value: String,
    reference: String,
    /// The producer's port and a reference to it: `host:6379` is written `${…address}:${…port}`.
    port: Option<(String, String)>,
}

/// Writes every value that equals (or, for long values, contains) another resource's output as
/// a reference to it. Returns how many were made.
fn refer(found: &mut [Found]) -> usize {
    let mut targets: Vec<Target> = Vec::new();
    for f in found.iter() {
        // A kind imported by its declaration, or a network kind, names its outputs for
        // references: all are referable.
        let definition = crate::kinds::definition(f.kind);
        let network = matches!(f.kind, Kind::Vpc | Kind::Subnet | Kind::SecurityGroup | Kind::RouteTable);
        let declared: Vec<(Kind, &str)> = match definition.terraform.is_some() || network {
            true => definition.outputs.into_iter().map(|o| (f.kind, o)).collect(),
            false => Vec::new(),
        };
        for (kind, output) in REFERABLE.iter().copied().chain(declared).filter(|(k, _)| *k == f.kind) {
            if let Some(value) = f.outputs.get(output).filter(|v| !v.is_empty()) {
                targets.push(Target {
                    value: value.clone(),
                    reference: format!("${{{kind}/{}.{output}}}", f.name),
                    port: f.outputs.get("port").map(|p| (p.clone(), format!("${{{kind}/{}.port}}", f.name))),
                });
            }
        }
    }
    targets.sort_by_key(|t| std::cmp::Reverse(t.value.len()));
    let mut made = 0;
    for f in found.iter_mut() {
        let own = format!("${{{}/{}.", f.kind, f.name);
        // A custom domain's DNS target is the service's URL too: records name the domain's
        // target, everything else the service's URL.
        let records = f.kind == Kind::Route53Record;
        let mut usable: Vec<&Target> = targets
            .iter()
            .filter(|t| !t.reference.starts_with(&own) && (records || !t.reference.ends_with(".dnsTarget}")))
            .collect();
        if records {
            usable.sort_by_key(|t| (std::cmp::Reverse(t.value.len()), !t.reference.ends_with(".dnsTarget}")));
        }
        made += refer_in(&mut f.spec, &usable, false);
    }
    made
}

/// Groups that allow each other (A's rule names B and B's names A) cannot both refer: the
/// reference that would close a cycle is written as the group's id instead.
fn break_group_cycles(found: &mut [Found]) {
    let reference = |name: &str| format!("${{SecurityGroup/{name}.id}}");
    let ids: BTreeMap<String, String> = found
        .iter()
        .filter(|f| f.kind == Kind::SecurityGroup)
        .filter_map(|f| Some((reference(&f.name), f.outputs.get("id")?.clone())))
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let reaches = |edges: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str| {
        let (mut stack, mut seen) = (vec![from.to_string()], BTreeSet::new());
        while let Some(at) = stack.pop() {
            if at == to {
                return true;
            }
            if seen.insert(at.clone()) {
                stack.extend(edges.get(&at).into_iter().flatten().cloned());
            }
        }
        false
    };
    for f in found.iter_mut().filter(|f| f.kind == Kind::SecurityGroup) {
        let me = reference(&f.name);
        for side in ["ingress", "egress"] {
            for rule in f.spec.get_mut(side).and_then(Json::as_array_mut).into_iter().flatten() {
                let Some(other) = rule.get("referencedGroupId").and_then(Json::as_str).map(str::to_string) else {
                    continue;
                };
                match ids.get(&other) {
                    Some(id) if other == me || reaches(&edges, &other, &me) => rule["referencedGroupId"] = json!(id),
                    Some(_) => drop(edges.entry(me.clone()).or_default().insert(other)),
                    None => {}
                }
            }
        }
    }
}

fn refer_in(value: &mut Json, targets: &[&Target], in_tags: bool) -> usize {
    match value {
        Json::String(s) if !in_tags => {
            let mut made = 0;
            for t in targets {
                if *s == t.value {
                    *s = t.reference.clone();
                    return 1;
                }
                if t.value.len() >= MIN_EMBEDDED && s.contains(t.value.as_str()) {
                    *s = s.replace(t.value.as_str(), &t.reference);
                    made += 1;
                    if let Some((port, port_reference)) = &t.port {
                        let literal = format!("{}:{port}", t.reference);
                        if s.contains(&literal) {
                            *s = s.replace(&literal, &format!("{}:{port_reference}", t.reference));
                            made += 1;
                        }
                    }
                }
            }
            made
        }
        Json::Array(items) => items.iter_mut().map(|i| refer_in(i, targets, in_tags)).sum(),
        Json::Object(map) => map.iter_mut().map(|(k, v)| refer_in(v, targets, in_tags || k == "tags")).sum(),
        _ => 0,
    }
}

fn drop_defaults(f: &mut Found) {
    for (path, is_default) in defaults(f.kind) {
        let (parent, leaf) = match path.rsplit_once('.') {
            Some((parent, leaf)) => (f.spec.pointer_mut(&format!("/{}", parent.replace('.', "/"))), leaf),
            None => (Some(&mut f.spec), *path),
        };
        if let Some(map) = parent.and_then(Json::as_object_mut)
            && map.get(leaf).is_some_and(is_default)
        {
            map.remove(leaf);
        }
    }
}

fn stack_document(
    stack: &str,
    region: Option<&str>,
    vpc: Option<Json>,
    default_tags: &BTreeMap<String, String>,
    resync: &str,
) -> Json {
    let mut spec = Map::new();
    if let Some(region) = region {
        spec.insert("region".into(), json!(region));
    }
    if let Some(vpc) = vpc {
        spec.insert("vpc".into(), vpc);
    }
    if !default_tags.is_empty() {
        spec.insert("defaultTags".into(), json!(default_tags));
    }
    spec.insert("resync".into(), json!(resync));
    json!({ "apiVersion": API_VERSION, "kind": "Stack", "metadata": { "name": stack }, "spec": spec })
}

/// The files, one per concern, each opening with what it holds.
fn files(stack: &str, stack_doc: Json, found: &[Found]) -> Vec<(String, String)> {
    let mut by_file: BTreeMap<&str, (&str, Vec<Json>)> = BTreeMap::new();
    for f in found {
        let (file, what) = concern(f.kind);
        by_file.entry(file).or_insert((what, Vec::new())).1.push(document(stack, f));
    }
    let mut out = vec![(
        "stack.yaml".to_string(),
        format!(
            "# The {stack} stack, imported by `steward import`: its region, VPC, shared tags and resync.\n{}",
            to_yaml(&stack_doc)
        ),
    )];
    for (file, (what, docs)) in by_file {
        let body: Vec<String> = docs.iter().map(to_yaml).collect();
        let text = format!(
            "# {what}, imported by `steward import` (adopt: true: steward tags them, changes nothing else).\n{}",
            body.join("---\n")
        );
        out.push((file.to_string(), text));
    }
    out
}

#[cfg(test)]
#[path = "shape_tests.rs"]
mod tests;
