//! A Terraform state read into an inventory (pure): the raw state file (format version 4, as
//! Terraform 0.12 and later and OpenTofu write it) or the output of `terraform show -json`.
//! Resources in modules and `count` / `for_each` instances are read like any other; data
//! sources, tainted and deposed instances are skipped with a note. Attributes are taken by name,
//! so nothing else of the state (passwords, parameter values) is ever copied out of it.

use super::declared;
use super::error::{ImportError, Skip, Unkept};
use super::fields::{engine_version, health_check, is_full_access, size, strip_nulls, task_spec};
use super::inventory::{Found, Inventory, NetworkObject, looks_secret, manifest_name, region_of_arn};
use super::terraform_folds::{fold_parts, is_part, nested_blocks, network_object};
use super::terraform_instance::{Instance, first, tags_of};
use crate::model::Kind;
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};

/// Reads `text` (the contents of `file`). The error names the file and what was expected; it
/// never quotes the state, which holds secrets.
pub fn read(text: &str, file: &str) -> Result<Inventory, ImportError> {
    let file = file.to_string();
    let state: Json = serde_json::from_str(text).map_err(|e| ImportError::NotJson {
        file: file.clone(),
        line: e.line(),
        column: e.column(),
    })?;
    let instances = if state.get("values").is_some() || state.get("format_version").is_some() {
        show_json_instances(&state)
    } else {
        match state.get("version").and_then(Json::as_u64) {
            Some(4) => raw_instances(&state),
            Some(version) => return Err(ImportError::StateFormat { file, version }),
            None => return Err(ImportError::NotAState { file }),
        }
    };
    Ok(inventory(instances))
}

/// The raw state: `resources[].instances[]`, module and index in the address.
fn raw_instances(state: &Json) -> Vec<Instance> {
    let mut out = Vec::new();
    for r in state["resources"].as_array().into_iter().flatten() {
        let (kind, name) = (r["type"].as_str().unwrap_or_default(), r["name"].as_str().unwrap_or_default());
        let data = r["mode"] == "data";
        let mut base = format!("{}{kind}.{name}", if data { "data." } else { "" });
        if let Some(module) = r["module"].as_str() {
            base = format!("{module}.{base}");
        }
        for i in r["instances"].as_array().into_iter().flatten() {
            let address = match &i["index_key"] {
                Json::Null => base.clone(),
                Json::String(k) => format!("{base}[\"{k}\"]"),
                k => format!("{base}[{k}]"),
            };
            let status = match (i["status"].as_str(), i.get("deposed")) {
                (_, Some(key)) => Some(format!("deposed ({})", key.as_str().unwrap_or_default())),
                (Some(s), _) => Some(s.to_string()),
                _ => None,
            };
            let sensitive = i["sensitive_attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|path| {
                    // Terraform 1.x: a list of path steps; later: {"value": {…}} forms as well.
                    let step =
                        path.as_array().and_then(|p| p.first()).or_else(|| path.get("path").and_then(|p| p.get(0)));
                    step.and_then(|s| s["value"].as_str()).map(String::from)
                })
                .collect();
            out.push(Instance {
                address,
                kind: kind.into(),
                data,
                status,
                attributes: i["attributes"].clone(),
                sensitive,
            });
        }
    }
    out
}

/// `terraform show -json`: `values.root_module` and its `child_modules`, recursively.
fn show_json_instances(state: &Json) -> Vec<Instance> {
    fn walk(module: &Json, out: &mut Vec<Instance>) {
        for r in module["resources"].as_array().into_iter().flatten() {
            let sensitive = r["sensitive_values"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, v)| **v == json!(true))
                .map(|(k, _)| k.clone())
                .collect();
            let status = match (r["tainted"].as_bool(), r["deposed_key"].as_str()) {
                (_, Some(key)) => Some(format!("deposed ({key})")),
                (Some(true), _) => Some("tainted".into()),
                _ => None,
            };
            out.push(Instance {
                address: r["address"].as_str().unwrap_or_default().into(),
                kind: r["type"].as_str().unwrap_or_default().into(),
                data: r["mode"] == "data",
                status,
                attributes: r["values"].clone(),
                sensitive,
            });
        }
        for child in module["child_modules"].as_array().into_iter().flatten() {
            walk(child, out);
        }
    }
    let mut out = Vec::new();
    walk(&state["values"]["root_module"], &mut out);
    out
}

/// The types steward keeps, the network objects selectors name, and the rest skipped.
fn inventory(instances: Vec<Instance>) -> Inventory {
    let mut inv = Inventory::default();
    // Hosted zone names by id, from zones Terraform manages or only reads (a data source): a
    // record names its zone as a person would write it.
    let zones: BTreeMap<String, String> = instances
        .iter()
        .filter(|i| i.kind == "aws_route53_zone")
        .filter_map(|z| Some((z.str("zone_id")?.to_string(), z.str("name")?.trim_end_matches('.').to_string())))
        .collect();
    let (live, not): (Vec<Instance>, Vec<Instance>) =
        instances.into_iter().partition(|i| !i.data && i.status.is_none());
    for i in not {
        let reason = match (&i.status, i.data) {
            (_, true) => Skip::DataSource,
            (Some(s), _) if s == "tainted" => Skip::Tainted,
            (Some(s), _) => Skip::Replaced(s.clone()),
            _ => unreachable!("partitioned"),
        };
        inv.skip(i.address, reason);
    }
    let task_definitions: BTreeMap<String, &Instance> = live
        .iter()
        .filter(|i| i.kind == "aws_ecs_task_definition")
        .flat_map(|i| {
            let arn = i.str("arn").unwrap_or_default().to_string();
            let family_revision = arn.rsplit('/').next().unwrap_or_default().to_string();
            [(arn, i), (family_revision, i)]
        })
        .collect();
    let parameters: Vec<&Instance> = live.iter().filter(|i| i.kind == "aws_ssm_parameter").collect();
    let mut used_parameters: BTreeSet<String> = BTreeSet::new();
    let mut used_task_definitions: BTreeSet<String> = BTreeSet::new();
    for i in &live {
        let made = match i.kind.as_str() {
            "aws_vpc" | "aws_subnet" | "aws_security_group" | "aws_route_table" => {
                let object =
                    NetworkObject { id: i.str("id").unwrap_or_default().into(), name: i.tags().get("Name").cloned() };
                match i.kind.as_str() {
                    "aws_vpc" => inv.vpc = Some(object),
                    _ => inv.network.push(object),
                }
                // Kept as its kind where the state holds what it needs; selected otherwise.
                let terraform_name = i.address.rsplit('.').next().unwrap_or_default();
                match network_object(i, terraform_name.split('[').next().unwrap_or_default()) {
                    Some(found) => Ok(found),
                    None => continue,
                }
            }
            "aws_ssm_parameter" | "aws_ecs_task_definition" => continue,
            // Parts of another object, folded into it once every object is read.
            kind if is_part(kind) => continue,
            "aws_vpc_endpoint" => vpc_endpoint(i),
            "aws_elasticache_cluster" => cache_cluster(i),
            "aws_elasticache_user" => cache_user(i, &parameters, &mut used_parameters),
            "aws_apprunner_vpc_connector" => vpc_connector(i),
            "aws_apprunner_service" => apprunner_service(i, &mut inv.unmanaged),
            "aws_apprunner_custom_domain_association" => custom_domain(i),
            "aws_route53_record" => route53_record(i, &zones),
            "aws_ecs_cluster" => ecs_cluster(i),
            "aws_ecs_service" => ecs_service(i, &task_definitions, &mut used_task_definitions, &mut inv.unmanaged),
            other => declared_kind(i).unwrap_or_else(|| Err(Skip::NotAKind(other.into()))),
        };
        match made {
            Ok(found) => {
                if inv.region.is_none() {
                    inv.region = found
                        .outputs
                        .values()
                        .find_map(|v| region_of_arn(v))
                        .or_else(|| region_of_arn(i.str("arn").unwrap_or_default()));
                }
                inv.found.push(found);
            }
            Err(reason) => inv.skip(i.address.clone(), reason),
        }
    }
    fold_parts(&mut inv, &live);
    for p in parameters.iter().filter(|p| !used_parameters.contains(&p.address)) {
        inv.skip(p.address.clone(), Unkept::UnusedParameter);
    }
    for t in live.iter().filter(|i| i.kind == "aws_ecs_task_definition" && !used_task_definitions.contains(&i.address))
    {
        inv.skip(t.address.clone(), Unkept::UnusedTaskDefinition);
    }
    if inv.vpc.is_none() {
        // No aws_vpc in the state: the VPC its objects name (by id).
        let id = live.iter().find_map(|i| i.str("vpc_id")).map(String::from);
        inv.vpc = id.map(|id| NetworkObject { id, name: None });
    }
    if inv.region.is_none() {
        inv.region =
            live.iter().find_map(|i| i.str("service_name").and_then(|s| s.split('.').nth(2)).map(String::from));
    }
    inv
}

/// An instance of a kind in the declared shape, read by its declaration's Terraform names.
fn declared_kind(i: &Instance) -> Option<Result<Found, Skip>> {
    let (kind, definition) = Kind::ALL.into_iter().find_map(|kind| {
        let definition = crate::kinds::definition(kind);
        definition.terraform.as_ref().is_some_and(|t| t.resource_type == i.kind).then_some((kind, definition))
    })?;
    let name_attribute = definition.terraform.as_ref()?.name_attribute;
    let Some(name) = i.str(name_attribute) else {
        return Some(Err(Skip::Missing(name_attribute)));
    };
    let mut spec = with_tags(declared::from_terraform(&(definition.declaration)(), &i.attributes), i.tags());
    nested_blocks(kind, i, &mut spec);
    let outputs = declared::outputs_from_terraform(&(definition.output_declaration)(), &i.attributes);
    Some(Ok(Found { outputs, ..found(kind, name, spec, i) }))
}

fn found(kind: Kind, name: &str, spec: Json, i: &Instance) -> Found {
    Found { kind, name: manifest_name(name), spec, outputs: BTreeMap::new(), origin: i.address.clone() }
}

fn with_tags(mut spec: Json, tags: BTreeMap<String, String>) -> Json {
    if !tags.is_empty() {
        spec["tags"] = json!(tags);
    }
    spec
}

fn vpc_endpoint(i: &Instance) -> Result<Found, Skip> {
    let service_name = i.str("service_name").ok_or(Skip::Missing("service_name"))?;
    // com.amazonaws.eu-west-1.ecr.api → ecr.api
    let service = service_name.splitn(4, '.').nth(3).unwrap_or(service_name);
    let kind = i.str("vpc_endpoint_type").unwrap_or("Gateway");
    let mut spec = json!({ "service": service, "type": kind });
    if kind == "Interface" {
        spec["privateDns"] = json!(i.attributes["private_dns_enabled"].as_bool().unwrap_or(false));
        spec["subnets"] = json!(i.strings("subnet_ids"));
        spec["securityGroups"] = json!(i.strings("security_group_ids"));
    } else {
        spec["routeTables"] = json!(i.strings("route_table_ids"));
    }
    if let Some(policy) = i.str("policy").filter(|p| !is_full_access(p)) {
        spec["policy"] = json!(policy);
    }
    Ok(found(Kind::VpcEndpoint, service, with_tags(spec, i.tags()), i))
}

fn cache_cluster(i: &Instance) -> Result<Found, Skip> {
    let id = i.str("cluster_id").ok_or(Skip::Missing("cluster_id"))?;
    if i.str("replication_group_id").is_some() {
        return Err(Unkept::ReplicationGroupMember.into());
    }
    let node = first(&i.attributes["cache_nodes"]);
    let spec = json!({
        "engine": i.str("engine").unwrap_or("redis"),
        "engineVersion": engine_version(i.str("engine_version").or(i.str("engine_version_actual")).unwrap_or_default()),
        "nodeType": i.str("node_type").unwrap_or_default(),
        "numCacheNodes": i.attributes["num_cache_nodes"].as_i64().unwrap_or(1),
        "port": i.attributes["port"].as_i64().unwrap_or(6379),
        "parameterGroup": i.str("parameter_group_name"),
        "subnetGroup": i.str("subnet_group_name").unwrap_or("default"),
        "securityGroups": i.strings("security_group_ids"),
    });
    let mut f = found(Kind::CacheCluster, id, with_tags(strip_nulls(spec), i.tags()), i);
    f.name = id.to_string();
    if let Some(address) = node["address"].as_str().or(i.str("cluster_address")) {
        f.outputs.insert("address".into(), address.into());
    }
    f.outputs.insert("port".into(), i.attributes["port"].as_i64().unwrap_or(6379).to_string());
    if let Some(arn) = i.str("arn") {
        f.outputs.insert("arn".into(), arn.into());
    }
    Ok(f)
}

/// The user's password parameter is the `aws_ssm_parameter` whose value is one of its passwords:
/// compared here in memory, never kept. No rotation follows: steward takes over the parameter's
/// current version when it adopts the user.
fn cache_user(i: &Instance, parameters: &[&Instance], used: &mut BTreeSet<String>) -> Result<Found, Skip> {
    let id = i.str("user_id").ok_or(Skip::Missing("user_id"))?;
    let mut passwords: Vec<&str> =
        i.attributes["passwords"].as_array().into_iter().flatten().filter_map(Json::as_str).collect();
    let mode = first(&i.attributes["authentication_mode"]);
    passwords.extend(mode["passwords"].as_array().into_iter().flatten().filter_map(Json::as_str));
    let parameter = parameters.iter().find(|p| p.str("value").is_some_and(|v| passwords.contains(&v)));
    let Some(parameter) = parameter else {
        return Err(Unkept::NoPasswordParameterInState.into());
    };
    used.insert(parameter.address.clone());
    let spec = json!({
        "userName": i.str("user_name").unwrap_or(id),
        "engine": i.str("engine").unwrap_or("redis").to_ascii_lowercase(),
        "accessString": i.str("access_string").unwrap_or_default(),
        "passwordParameter": parameter.str("name").unwrap_or_default(),
    });
    let mut f = found(Kind::CacheUser, id, with_tags(spec, i.tags()), i);
    f.name = id.to_string();
    Ok(f)
}

fn vpc_connector(i: &Instance) -> Result<Found, Skip> {
    let name = i.str("vpc_connector_name").ok_or(Skip::Missing("vpc_connector_name"))?;
    let spec = json!({ "subnets": i.strings("subnets"), "securityGroups": i.strings("security_groups") });
    let mut f = found(Kind::AppRunnerVpcConnector, name, with_tags(spec, i.tags()), i);
    f.name = name.to_string();
    if let Some(arn) = i.str("arn") {
        f.outputs.insert("arn".into(), arn.into());
    }
    Ok(f)
}

fn apprunner_service(i: &Instance, unmanaged: &mut Vec<String>) -> Result<Found, Skip> {
    let name = i.str("service_name").ok_or(Skip::Missing("service_name"))?;
    let source = i.block("source_configuration");
    let image = first(&source["image_repository"]);
    if image.is_null() {
        return Err(Unkept::BuildsFromCode.into());
    }
    let config = first(&image["image_configuration"]);
    let env: BTreeMap<String, String> = tags_of(&config["runtime_environment_variables"]);
    if let Some((key, _)) = env.iter().find(|(k, v)| looks_secret(k, v)) {
        let move_to = "runtime_environment_secrets (SSM or Secrets Manager)";
        return Err(Skip::SecretInEnvironment { container: None, variable: key.clone(), move_to });
    }
    if config["runtime_environment_secrets"].as_object().is_some_and(|m| !m.is_empty()) {
        unmanaged.push(format!(
            "{}: runtime_environment_secrets (steward does not manage them; they stay as they are)",
            i.address
        ));
    }
    let instance = i.block("instance_configuration");
    let mut spec = json!({
        "image": strip_nulls(json!({
            "identifier": image["image_identifier"],
            "repositoryType": image["image_repository_type"],
            "port": config["port"].as_str().and_then(|p| p.parse::<i64>().ok()).unwrap_or(8080),
            "startCommand": config["start_command"].as_str().filter(|s| !s.is_empty()),
            "env": env,
        })),
        "autoDeploy": source["auto_deployments_enabled"].as_bool().unwrap_or(false),
        "accessRole": first(&source["authentication_configuration"])["access_role_arn"].as_str().filter(|s| !s.is_empty()),
        "instance": strip_nulls(json!({
            "cpu": size(instance["cpu"].as_str(), 1024),
            "memory": size(instance["memory"].as_str(), 2048),
            "instanceRole": instance["instance_role_arn"].as_str().filter(|s| !s.is_empty()),
        })),
    });
    let health = i.block("health_check_configuration");
    if !health.is_null() {
        let protocol = health["protocol"].as_str().unwrap_or("TCP");
        let numbers = ["interval", "timeout", "healthy_threshold", "unhealthy_threshold"].map(|k| health[k].as_i64());
        spec["healthCheck"] = health_check(protocol, health["path"].as_str(), numbers);
    }
    let egress = first(&i.block("network_configuration")["egress_configuration"]);
    if egress["egress_type"] == "VPC" {
        spec["network"] = json!({ "egress": "VPC", "vpcConnector": egress["vpc_connector_arn"] });
    }
    if i.str("auto_scaling_configuration_arn").is_some_and(|a| !a.contains("/DefaultConfiguration/")) {
        unmanaged.push(format!(
            "{}: auto_scaling_configuration_arn (steward does not manage it; it stays as it is)",
            i.address
        ));
    }
    let mut f = found(Kind::AppRunnerService, name, with_tags(strip_nulls(spec), i.tags()), i);
    f.name = name.to_string();
    for (output, attribute) in [("arn", "arn"), ("serviceUrl", "service_url")] {
        if let Some(v) = i.str(attribute) {
            f.outputs.insert(output.into(), v.into());
        }
    }
    Ok(f)
}

fn custom_domain(i: &Instance) -> Result<Found, Skip> {
    let domain = i.str("domain_name").ok_or(Skip::Missing("domain_name"))?;
    let service = i.str("service_arn").ok_or(Skip::Missing("service_arn"))?;
    let spec = json!({ "service": service, "domain": domain, "enableWww": i.attributes["enable_www_subdomain"].as_bool().unwrap_or(false) });
    let service_name = service.split('/').nth(1).unwrap_or(domain);
    let mut f = found(Kind::AppRunnerCustomDomain, &format!("{service_name}-domain"), spec, i);
    if let Some(target) = i.str("dns_target") {
        f.outputs.insert("dnsTarget".into(), target.into());
    }
    let records: Vec<Json> = i.attributes["certificate_validation_records"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| json!({ "name": r["name"], "type": r["type"], "value": r["value"] }))
        .collect();
    if !records.is_empty() {
        f.outputs.insert("validationRecords".into(), Json::from(records).to_string());
    }
    Ok(f)
}

fn route53_record(i: &Instance, zones: &BTreeMap<String, String>) -> Result<Found, Skip> {
    let name = i.str("name").ok_or(Skip::Missing("name"))?;
    let kind = i.str("type").unwrap_or("CNAME");
    if first(&i.attributes["alias"]).is_object() {
        return Err(Unkept::AliasRecord.into());
    }
    if !["A", "AAAA", "CNAME", "TXT"].contains(&kind) {
        return Err(Skip::RecordType(kind.into()));
    }
    let zone_id = i.str("zone_id").unwrap_or_default();
    let zone = zones.get(zone_id).cloned().unwrap_or_else(|| zone_id.to_string());
    let spec = json!({ "zone": zone, "name": name.trim_end_matches('.'), "type": kind, "ttl": i.attributes["ttl"].as_i64().unwrap_or(300), "values": i.strings("records") });
    Ok(found(
        Kind::Route53Record,
        &format!("{}-{}", name.split('.').next().unwrap_or(name), kind.to_ascii_lowercase()),
        spec,
        i,
    ))
}

fn ecs_cluster(i: &Instance) -> Result<Found, Skip> {
    let name = i.str("name").ok_or(Skip::Missing("name"))?;
    let insights = i.attributes["setting"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == "containerInsights")
        .and_then(|s| s["value"].as_str())
        .unwrap_or("disabled");
    let spec = json!({ "containerInsights": insights });
    let mut f = found(Kind::EcsCluster, name, with_tags(spec, i.tags()), i);
    f.name = name.to_string();
    if let Some(arn) = i.str("arn") {
        f.outputs.insert("arn".into(), arn.into());
    }
    Ok(f)
}

fn ecs_service(
    i: &Instance,
    task_definitions: &BTreeMap<String, &Instance>,
    used: &mut BTreeSet<String>,
    unmanaged: &mut Vec<String>,
) -> Result<Found, Skip> {
    let name = i.str("name").ok_or(Skip::Missing("name"))?;
    let td_ref = i.str("task_definition").ok_or(Skip::Missing("task_definition"))?;
    let td = task_definitions
        .get(td_ref)
        .or_else(|| task_definitions.get(td_ref.rsplit('/').next().unwrap_or_default()))
        .ok_or(Unkept::TaskDefinitionNotInState)?;
    td.readable("container_definitions")?;
    let network = i.block("network_configuration");
    if network.is_null() {
        return Err(Unkept::NotAwsvpc.into());
    }
    let platform = first(&td.attributes["runtime_platform"]);
    let platform = platform
        .get("operating_system_family")
        .filter(|v| !v.is_null())
        .map(|os| json!({ "os": os, "cpuArchitecture": platform["cpu_architecture"] }));
    let containers = serde_json::from_str::<Json>(td.str("container_definitions").unwrap_or("[]"))
        .map_err(|_| Unkept::ContainersNotJson)?;
    let (task, notes) = task_spec(
        td.str("family").unwrap_or(name),
        (td.str("cpu"), td.str("memory")),
        (td.str("execution_role_arn"), td.str("task_role_arn")),
        platform,
        &containers,
    )?;
    unmanaged.extend(notes.into_iter().map(|n| format!("{}: {n}", i.address)));
    used.insert(td.address.clone());
    for (attribute, what) in [
        ("load_balancer", "load balancers"),
        ("service_registries", "service registries"),
        ("capacity_provider_strategy", "capacity providers"),
    ] {
        if i.attributes[attribute].as_array().is_some_and(|a| !a.is_empty()) {
            unmanaged.push(format!("{}: {what} (steward does not manage them; they stay as they are)", i.address));
        }
    }
    let spec = json!({
        "cluster": i.str("cluster").unwrap_or_default(),
        "desiredCount": i.attributes["desired_count"].as_i64().unwrap_or(1),
        "launchType": i.str("launch_type"),
        "platformVersion": i.str("platform_version"),
        "propagateTags": i.str("propagate_tags"),
        "enableExecuteCommand": i.attributes["enable_execute_command"].as_bool().unwrap_or(false),
        "network": {
            "subnets": sorted(&network["subnets"]),
            "securityGroups": sorted(&network["security_groups"]),
            "assignPublicIp": network["assign_public_ip"].as_bool().unwrap_or(false),
        },
        "taskDefinition": task,
    });
    let mut f = found(Kind::EcsService, name, with_tags(strip_nulls(spec), i.tags()), i);
    f.name = name.to_string();
    Ok(f)
}

fn sorted(list: &Json) -> Vec<String> {
    let mut out: Vec<String> =
        list.as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)).collect();
    out.sort();
    out
}

#[cfg(test)]
#[path = "terraform_tests.rs"]
mod tests;
