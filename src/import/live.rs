//! The objects of one VPC in the live account read into an inventory (`steward import aws`):
//! its endpoints, the ElastiCache clusters in its subnet groups, the App Runner services that
//! reach it through a VPC connector with their custom domains and DNS records, and the ECS
//! services in its subnets. Every list is read to its last page.

use super::declared;
use super::error::{ImportError, Result, Skip, Unkept, call};
use super::fields::{engine_version, health_check, is_full_access, size, strip_nulls};
use super::inventory::{
    Found, Inventory, NetworkObject, Tags, add, every_item, looks_secret, manifest_name, sorted, with_tags,
};
use crate::kinds::apprunner_custom_domain::domain_outputs;
use crate::model::Kind;
use crate::model::clients::Clients;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// Reads what is in `vpc` (an id, or a Name tag). `password_parameters` names each cache user's
/// SSM parameter (user id → parameter name): a user has no link to its password on AWS.
pub async fn read(c: &Clients, vpc: &str, password_parameters: &BTreeMap<String, String>) -> Result<Inventory> {
    let mut inv = Inventory { region: Some(c.region.clone()), ..Inventory::default() };
    let (vpc_id, vpc_name) = find_vpc(c, vpc).await?;
    inv.vpc = Some(NetworkObject { id: vpc_id.clone(), name: vpc_name });
    let subnets = network(c, &vpc_id, &mut inv).await?;
    endpoints(c, &vpc_id, &mut inv).await?;
    elasticache(c, &vpc_id, password_parameters, &mut inv).await?;
    apprunner(c, &subnets, &mut inv).await?;
    super::live_ecs::read(c, &subnets, &mut inv).await?;
    named_by_the_stack(c, &mut inv).await?;
    Ok(inv)
}

/// Objects outside the VPC that the objects found so far name (the log group a task writes to,
/// the queue in a service's environment), found by their kinds (`Adapter::discover`), until a
/// round finds nothing new (a queue's dead-letter queue is named by the queue).
async fn named_by_the_stack(c: &Clients, inv: &mut Inventory) -> Result<()> {
    let cache = crate::model::Cache::default();
    let guard = crate::model::guard::NoGuard;
    let now = std::time::Instant::now();
    let cx = crate::model::Cx { clients: c, cache: &cache, guard: &guard, stack: String::new(), tags_fresh_since: now };
    let mut known: BTreeSet<String> = inv.found.iter().map(|f| f.origin.clone()).collect();
    loop {
        let mut mentioned = BTreeSet::new();
        inv.found.iter().for_each(|f| crate::model::paths::strings_in(&f.spec, &mut mentioned));
        let before = known.len();
        for kind in Kind::ALL {
            for d in crate::kinds::adapter(kind).discover(&cx, &mentioned).await.map_err(ImportError::Discover)? {
                if !known.insert(d.id.clone()) {
                    continue;
                }
                let spec = declared::as_imported(&(crate::kinds::definition(kind).declaration)(), &d.spec);
                let (name, spec) = (manifest_name(&d.name), with_tags(spec, &d.tags));
                add(inv, Found { kind, name, spec, outputs: d.outputs, origin: d.id }, &d.tags);
            }
        }
        if known.len() == before {
            return Ok(());
        }
    }
}

fn vpc_filter(vpc_id: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(vpc_id).build()
}

fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> Tags {
    tags.iter().filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string()))).collect()
}

async fn find_vpc(c: &Clients, vpc: &str) -> Result<(String, Option<String>)> {
    let request = c.ec2.describe_vpcs();
    let request = match vpc.starts_with("vpc-") {
        true => request.vpc_ids(vpc),
        false => request.filters(aws_sdk_ec2::types::Filter::builder().name("tag:Name").values(vpc).build()),
    };
    let vpcs = request.send().await.map_err(call("ec2:DescribeVpcs"))?.vpcs.unwrap_or_default();
    match vpcs.as_slice() {
        [v] => Ok((v.vpc_id().unwrap_or_default().to_string(), ec2_tags(v.tags()).get("Name").cloned())),
        [] => Err(ImportError::NoSuchVpc { vpc: vpc.into(), region: c.region.clone() }),
        _ => Err(ImportError::AmbiguousVpc { vpc: vpc.into(), region: c.region.clone(), count: vpcs.len() }),
    }
}

/// The VPC's subnets, security groups and route tables (for selectors); returns the subnet ids.
async fn network(c: &Clients, vpc_id: &str, inv: &mut Inventory) -> Result<BTreeSet<String>> {
    let subnets: Vec<_> = every_item!(c.ec2.describe_subnets().filters(vpc_filter(vpc_id)), "ec2:DescribeSubnets")?;
    let groups: Vec<_> =
        every_item!(c.ec2.describe_security_groups().filters(vpc_filter(vpc_id)), "ec2:DescribeSecurityGroups")?;
    let tables: Vec<_> =
        every_item!(c.ec2.describe_route_tables().filters(vpc_filter(vpc_id)), "ec2:DescribeRouteTables")?;
    let object = |id: Option<&str>, tags: &[aws_sdk_ec2::types::Tag]| NetworkObject {
        id: id.unwrap_or_default().to_string(),
        name: ec2_tags(tags).get("Name").cloned(),
    };
    inv.network.extend(subnets.iter().map(|s| object(s.subnet_id(), s.tags())));
    inv.network.extend(groups.iter().map(|g| object(g.group_id(), g.tags())));
    inv.network.extend(tables.iter().map(|t| object(t.route_table_id(), t.tags())));
    Ok(subnets.iter().filter_map(|s| s.subnet_id().map(String::from)).collect())
}

async fn endpoints(c: &Clients, vpc_id: &str, inv: &mut Inventory) -> Result<()> {
    let endpoints: Vec<_> =
        every_item!(c.ec2.describe_vpc_endpoints().filters(vpc_filter(vpc_id)), "ec2:DescribeVpcEndpoints")?;
    for e in endpoints {
        let state = e.state().map(|s| s.as_str().to_ascii_lowercase()).unwrap_or_default();
        if matches!(state.as_str(), "deleting" | "deleted" | "failed" | "rejected") {
            continue;
        }
        let id = e.vpc_endpoint_id().unwrap_or_default();
        let service_name = e.service_name().unwrap_or_default();
        let service = service_name.splitn(4, '.').nth(3).unwrap_or(service_name);
        let kind = e.vpc_endpoint_type().map(|t| t.as_str()).unwrap_or("Gateway");
        let mut spec = json!({ "service": service, "type": kind });
        if kind == "Interface" {
            spec["privateDns"] = json!(e.private_dns_enabled().unwrap_or(false));
            spec["subnets"] = json!(sorted(e.subnet_ids()));
            spec["securityGroups"] = json!(sorted(&e.groups().iter().filter_map(|g| g.group_id()).collect::<Vec<_>>()));
        } else {
            spec["routeTables"] = json!(sorted(e.route_table_ids()));
        }
        if let Some(policy) = e.policy_document().filter(|p| !is_full_access(p)) {
            spec["policy"] = json!(policy);
        }
        let tags = ec2_tags(e.tags());
        let found = Found {
            kind: Kind::VpcEndpoint,
            name: manifest_name(service),
            spec: with_tags(spec, &tags),
            outputs: BTreeMap::new(),
            origin: id.into(),
        };
        add(inv, found, &tags);
    }
    Ok(())
}

async fn elasticache_tags(c: &Clients, arn: &str) -> Result<Tags> {
    let out = c
        .elasticache
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .map_err(call("elasticache:ListTagsForResource"))?;
    Ok(out.tag_list().iter().filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string()))).collect())
}

async fn elasticache(
    c: &Clients,
    vpc_id: &str,
    password_parameters: &BTreeMap<String, String>,
    inv: &mut Inventory,
) -> Result<()> {
    let groups: Vec<_> =
        every_item!(c.elasticache.describe_cache_subnet_groups(), "elasticache:DescribeCacheSubnetGroups")?;
    let mut in_vpc = BTreeSet::new();
    for g in groups.iter().filter(|g| g.vpc_id() == Some(vpc_id)) {
        let name = g.cache_subnet_group_name().unwrap_or_default();
        in_vpc.insert(name.to_string());
        let tags = match g.arn() {
            Some(arn) => elasticache_tags(c, arn).await?,
            None => Tags::new(),
        };
        let mut spec =
            json!({ "subnets": sorted(&g.subnets().iter().filter_map(|s| s.subnet_identifier()).collect::<Vec<_>>()) });
        if let Some(d) = g.cache_subnet_group_description() {
            spec["description"] = json!(d);
        }
        let outputs = BTreeMap::from([("name".to_string(), name.to_string())]);
        add(
            inv,
            Found {
                kind: Kind::CacheSubnetGroup,
                name: name.into(),
                spec: with_tags(spec, &tags),
                outputs,
                origin: name.into(),
            },
            &tags,
        );
    }
    let clusters: Vec<_> = every_item!(
        c.elasticache.describe_cache_clusters().show_cache_node_info(true),
        "elasticache:DescribeCacheClusters"
    )?;
    for cl in clusters.iter().filter(|cl| cl.cache_subnet_group_name().is_some_and(|g| in_vpc.contains(g))) {
        let id = cl.cache_cluster_id().unwrap_or_default();
        if cl.replication_group_id().is_some() {
            inv.skip(id, Unkept::ReplicationGroupMember);
            continue;
        }
        let endpoint = cl.cache_nodes().first().and_then(|n| n.endpoint());
        let port = endpoint.and_then(|e| e.port()).unwrap_or(6379);
        let spec = strip_nulls(json!({
            "engine": cl.engine(), "engineVersion": cl.engine_version().map(engine_version), "nodeType": cl.cache_node_type(),
            "numCacheNodes": cl.num_cache_nodes().unwrap_or(1), "port": port,
            "parameterGroup": cl.cache_parameter_group().and_then(|p| p.cache_parameter_group_name()),
            "subnetGroup": cl.cache_subnet_group_name(),
            "securityGroups": sorted(&cl.security_groups().iter().filter_map(|g| g.security_group_id()).collect::<Vec<_>>()),
        }));
        let tags = match cl.arn() {
            Some(arn) => elasticache_tags(c, arn).await?,
            None => Tags::new(),
        };
        let mut outputs = BTreeMap::from([("port".to_string(), port.to_string())]);
        if let Some(address) = endpoint.and_then(|e| e.address()) {
            outputs.insert("address".into(), address.into());
        }
        add(
            inv,
            Found {
                kind: Kind::CacheCluster,
                name: id.into(),
                spec: with_tags(spec, &tags),
                outputs,
                origin: id.into(),
            },
            &tags,
        );
    }
    cache_users(c, password_parameters, inv).await
}

/// Users named with `--password-parameter` whose parameter exists; the others are listed.
async fn cache_users(c: &Clients, password_parameters: &BTreeMap<String, String>, inv: &mut Inventory) -> Result<()> {
    let users: Vec<_> = every_item!(c.elasticache.describe_users(), "elasticache:DescribeUsers")?;
    if let Some(id) = password_parameters.keys().find(|id| !users.iter().any(|u| u.user_id() == Some(id.as_str()))) {
        return Err(ImportError::NoSuchCacheUser { user: id.clone(), region: c.region.clone() });
    }
    for u in users.iter().filter(|u| u.user_id() != Some("default")) {
        let id = u.user_id().unwrap_or_default();
        let Some(parameter) = password_parameters.get(id) else {
            inv.skip(id, Skip::NoPasswordParameterGiven(id.into()));
            continue;
        };
        let found = c.ssm.get_parameters().names(parameter).send().await.map_err(call("ssm:GetParameters"))?;
        if found.parameters().is_empty() {
            let (user, parameter, region) = (id.into(), parameter.clone(), c.region.clone());
            return Err(ImportError::NoSuchParameter { user, parameter, region });
        }
        let tags = match u.arn() {
            Some(arn) => elasticache_tags(c, arn).await?,
            None => Tags::new(),
        };
        let spec = json!({
            "userName": u.user_name(), "engine": u.engine().unwrap_or("redis").to_ascii_lowercase(),
            "accessString": u.access_string(), "passwordParameter": parameter,
        });
        add(
            inv,
            Found {
                kind: Kind::CacheUser,
                name: id.into(),
                spec: with_tags(spec, &tags),
                outputs: BTreeMap::new(),
                origin: id.into(),
            },
            &tags,
        );
    }
    Ok(())
}

async fn apprunner_tags(c: &Clients, arn: &str) -> Result<Tags> {
    let out = c
        .apprunner
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(call("apprunner:ListTagsForResource"))?;
    Ok(out.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string()))).collect())
}

/// Connectors into the VPC's subnets, the services that use them, their custom domains and the
/// domains' DNS records.
async fn apprunner(c: &Clients, subnets: &BTreeSet<String>, inv: &mut Inventory) -> Result<()> {
    let mut connectors = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .apprunner
            .list_vpc_connectors()
            .set_next_token(token)
            .send()
            .await
            .map_err(call("apprunner:ListVpcConnectors"))?;
        connectors.extend(page.vpc_connectors().iter().cloned());
        token = page.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    let mut ours = BTreeSet::new();
    for v in connectors.iter().filter(|v| v.status().map(|s| s.as_str()) == Some("ACTIVE")) {
        if !v.subnets().iter().any(|s| subnets.contains(s)) {
            continue;
        }
        let (name, arn) = (v.vpc_connector_name().unwrap_or_default(), v.vpc_connector_arn().unwrap_or_default());
        ours.insert(arn.to_string());
        let tags = apprunner_tags(c, arn).await?;
        let spec = json!({ "subnets": sorted(v.subnets()), "securityGroups": sorted(v.security_groups()) });
        let outputs = BTreeMap::from([("arn".to_string(), arn.to_string())]);
        add(
            inv,
            Found {
                kind: Kind::AppRunnerVpcConnector,
                name: name.into(),
                spec: with_tags(spec, &tags),
                outputs,
                origin: arn.into(),
            },
            &tags,
        );
    }
    let mut summaries: Vec<String> = Vec::new();
    let mut token = None;
    loop {
        let page =
            c.apprunner.list_services().set_next_token(token).send().await.map_err(call("apprunner:ListServices"))?;
        summaries.extend(page.service_summary_list().iter().filter_map(|s| s.service_arn().map(String::from)));
        token = page.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    for arn in summaries {
        let service =
            c.apprunner.describe_service().service_arn(&arn).send().await.map_err(call("apprunner:DescribeService"))?;
        let Some(s) = service.service() else { continue };
        let egress = s.network_configuration().and_then(|n| n.egress_configuration());
        if !egress.and_then(|e| e.vpc_connector_arn()).is_some_and(|a| ours.contains(a)) {
            continue;
        }
        let tags = apprunner_tags(c, &arn).await?;
        match apprunner_service(s, &mut inv.unmanaged) {
            Ok(found) => add(inv, Found { spec: with_tags(found.spec, &tags), ..found }, &tags),
            Err(reason) => inv.skip(arn.clone(), reason),
        }
        custom_domains(c, &arn, inv).await?;
    }
    Ok(())
}

fn apprunner_service(
    s: &aws_sdk_apprunner::types::Service,
    unmanaged: &mut Vec<String>,
) -> std::result::Result<Found, Skip> {
    let arn = s.service_arn();
    let source = s.source_configuration();
    let Some(image) = source.and_then(|src| src.image_repository()) else {
        return Err(Unkept::BuildsFromCode.into());
    };
    let config = image.image_configuration();
    let env: Tags = config
        .and_then(|c| c.runtime_environment_variables())
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if let Some((key, _)) = env.iter().find(|(k, v)| looks_secret(k, v)) {
        let move_to = "the service's secrets (SSM or Secrets Manager)";
        return Err(Skip::SecretInEnvironment { container: None, variable: key.clone(), move_to });
    }
    if config.and_then(|c| c.runtime_environment_secrets()).is_some_and(|m| !m.is_empty()) {
        unmanaged
            .push(format!("{arn}: runtime environment secrets (steward does not manage them; they stay as they are)"));
    }
    let instance = s.instance_configuration();
    let mut spec = strip_nulls(json!({
        "image": {
            "identifier": image.image_identifier(),
            "repositoryType": image.image_repository_type().as_str(),
            "port": config.and_then(|c| c.port()).and_then(|p| p.parse::<i64>().ok()).unwrap_or(8080),
            "startCommand": config.and_then(|c| c.start_command()),
            "env": env,
        },
        "autoDeploy": source.and_then(|src| src.auto_deployments_enabled()).unwrap_or(false),
        "accessRole": source.and_then(|src| src.authentication_configuration()).and_then(|a| a.access_role_arn()),
        "instance": {
            "cpu": size(instance.and_then(|i| i.cpu()), 1024),
            "memory": size(instance.and_then(|i| i.memory()), 2048),
            "instanceRole": instance.and_then(|i| i.instance_role_arn()),
        },
    }));
    if let Some(h) = s.health_check_configuration() {
        let protocol = h.protocol().map(|p| p.as_str()).unwrap_or("TCP");
        let numbers =
            [h.interval(), h.timeout(), h.healthy_threshold(), h.unhealthy_threshold()].map(|n| n.map(i64::from));
        spec["healthCheck"] = health_check(protocol, h.path(), numbers);
    }
    if let Some(e) = s
        .network_configuration()
        .and_then(|n| n.egress_configuration())
        .filter(|e| e.egress_type().map(|t| t.as_str()) == Some("VPC"))
    {
        spec["network"] = json!({ "egress": "VPC", "vpcConnector": e.vpc_connector_arn() });
    }
    let outputs = BTreeMap::from([
        ("arn".to_string(), arn.to_string()),
        ("serviceUrl".to_string(), s.service_url().unwrap_or_default().to_string()),
    ]);
    Ok(Found { kind: Kind::AppRunnerService, name: s.service_name().to_string(), spec, outputs, origin: arn.into() })
}

async fn custom_domains(c: &Clients, service_arn: &str, inv: &mut Inventory) -> Result<()> {
    let service_name = service_arn.split('/').nth(1).unwrap_or_default();
    let mut pages = c.apprunner.describe_custom_domains().service_arn(service_arn).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(call("apprunner:DescribeCustomDomains"))?;
        for d in page.custom_domains() {
            let domain = d.domain_name();
            // The outputs the kind reports, so that references made to them resolve.
            let outputs = domain_outputs(page.dns_target(), d);
            let spec = json!({ "service": service_arn, "domain": domain, "enableWww": d.enable_www_subdomain() });
            let name = manifest_name(&format!("{service_name}-domain"));
            inv.found.push(Found { kind: Kind::AppRunnerCustomDomain, name, spec, outputs, origin: domain.into() });
            let mut wanted: BTreeSet<String> =
                d.certificate_validation_records().iter().filter_map(|r| r.name()).map(bare).collect();
            wanted.insert(bare(domain));
            dns_records(c, domain, &wanted, inv).await?;
        }
    }
    Ok(())
}

fn bare(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The records named `wanted` in the hosted zone that holds `domain` (the longest zone name that
/// is a suffix of it).
async fn dns_records(c: &Clients, domain: &str, wanted: &BTreeSet<String>, inv: &mut Inventory) -> Result<()> {
    let mut zones = Vec::new();
    let mut marker = None;
    loop {
        let page =
            c.route53.list_hosted_zones().set_marker(marker).send().await.map_err(call("route53:ListHostedZones"))?;
        zones.extend(page.hosted_zones().iter().map(|z| (z.id().to_string(), bare(z.name()))));
        marker = page.next_marker().filter(|_| page.is_truncated()).map(String::from);
        if marker.is_none() {
            break;
        }
    }
    let domain = bare(domain);
    let zone = zones
        .iter()
        .filter(|(_, name)| domain == *name || domain.ends_with(&format!(".{name}")))
        .max_by_key(|(_, name)| name.len());
    let Some((zone_id, zone_name)) = zone else {
        inv.skip(domain, Unkept::DomainOutsideZones);
        return Ok(());
    };
    let (mut start, mut start_type) = (None, None);
    loop {
        let page = c
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .set_start_record_name(start)
            .set_start_record_type(start_type)
            .send()
            .await
            .map_err(call("route53:ListResourceRecordSets"))?;
        for r in page.resource_record_sets() {
            let name = bare(r.name());
            if !wanted.contains(&name) || r.alias_target().is_some() {
                continue;
            }
            let kind = r.r#type().as_str();
            let spec = json!({
                "zone": zone_name, "name": name, "type": kind, "ttl": r.ttl().unwrap_or(300),
                "values": r.resource_records().iter().map(|v| v.value().trim_end_matches('.').to_string()).collect::<Vec<_>>(),
            });
            let record_name =
                manifest_name(&format!("{}-{}", name.split('.').next().unwrap_or_default(), kind.to_ascii_lowercase()));
            inv.found.push(Found {
                kind: Kind::Route53Record,
                name: record_name,
                spec,
                outputs: BTreeMap::new(),
                origin: format!("{name} {kind}"),
            });
        }
        if !page.is_truncated() {
            break;
        }
        start = page.next_record_name().map(String::from);
        start_type = page.next_record_type().cloned();
    }
    Ok(())
}
