//! A Terraform state (format 4) of the live Mentor Match stack, in the attribute layout the
//! Terraform AWS provider writes, as the seed's Terraform would have left it: the VPC in
//! `module.vpc` (count instances), the certificate validation records by `count`, the hosted
//! zone as a data source, the Redis password in plain text (as Terraform keeps it) and marked
//! sensitive. Made from the live objects, so that its ids are this test's.
#![allow(dead_code)]

use super::live::Live;
use serde_json::{Value as Json, json};

fn resource(module: Option<&str>, mode: &str, kind: &str, name: &str, instances: Vec<Json>) -> Json {
    let mut r = json!({ "mode": mode, "type": kind, "name": name,
        "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]", "instances": instances });
    if let Some(m) = module {
        r["module"] = json!(m);
    }
    r
}

fn instance(attributes: Json) -> Json {
    json!({ "schema_version": 0, "attributes": attributes, "sensitive_attributes": [] })
}

fn indexed(index: usize, attributes: Json) -> Json {
    json!({ "index_key": index, "schema_version": 0, "attributes": attributes, "sensitive_attributes": [] })
}

fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> Json {
    tags.iter()
        .map(|t| (t.key().unwrap().to_string(), json!(t.value().unwrap())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The state, and the Redis password it holds (the test checks it goes nowhere).
pub fn of_live_stack(live: &Live) -> (Json, String) {
    let mut resources = network(live);
    resources.extend(endpoints(live));
    let (cache, password) = redis(live);
    resources.extend(cache);
    resources.extend(web(live));
    resources.extend(worker(live));
    resources.push(log_group(live));
    let state = json!({ "version": 4, "terraform_version": "1.9.8", "serial": 7,
        "lineage": "00000000-0000-0000-0000-000000000000", "outputs": {}, "resources": resources, "check_results": null });
    (state, password)
}

fn network(live: &Live) -> Vec<Json> {
    let ec2 = live.ec2();
    let vpc = live
        .block(ec2.describe_vpcs().send())
        .unwrap()
        .vpcs
        .unwrap()
        .into_iter()
        .find(|v| v.tags().iter().any(|t| t.value() == Some("mentor-match-vpc")));
    let vpc = vpc.unwrap();
    let vpc_id = vpc.vpc_id().unwrap();
    let filter = aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(vpc_id).build();
    let subnets = live.block(ec2.describe_subnets().filters(filter.clone()).send()).unwrap().subnets.unwrap();
    let groups =
        live.block(ec2.describe_security_groups().filters(filter.clone()).send()).unwrap().security_groups.unwrap();
    let tables = live.block(ec2.describe_route_tables().filters(filter).send()).unwrap().route_tables.unwrap();
    let module = Some("module.vpc");
    vec![
        resource(module, "managed", "aws_vpc", "this", vec![indexed(0, json!({ "id": vpc_id, "tags": ec2_tags(vpc.tags()) }))]),
        resource(
            module,
            "managed",
            "aws_subnet",
            "intra",
            subnets
                .iter()
                .enumerate()
                .map(|(i, s)| indexed(i, json!({ "id": s.subnet_id(), "vpc_id": vpc_id, "tags": ec2_tags(s.tags()) })))
                .collect(),
        ),
        resource(
            module,
            "managed",
            "aws_route_table",
            "intra",
            tables
                .iter()
                .enumerate()
                .map(|(i, t)| indexed(i, json!({ "id": t.route_table_id(), "vpc_id": vpc_id, "tags": ec2_tags(t.tags()) })))
                .collect(),
        ),
        resource(
            None,
            "managed",
            "aws_security_group",
            "sg",
            groups
                .iter()
                .enumerate()
                .map(|(i, g)| indexed(i, json!({ "id": g.group_id(), "name": g.group_name(), "vpc_id": vpc_id, "tags": ec2_tags(g.tags()) })))
                .collect(),
        ),
    ]
}

fn endpoints(live: &Live) -> Vec<Json> {
    let ec2 = live.ec2();
    let found = live.block(ec2.describe_vpc_endpoints().send()).unwrap().vpc_endpoints.unwrap();
    found
        .iter()
        .map(|e| {
            let name = e.service_name().unwrap().rsplit(".amazonaws.com").last().unwrap().replace(['.', '-'], "_");
            resource(
                None,
                "managed",
                "aws_vpc_endpoint",
                &name,
                vec![instance(json!({
                    "id": e.vpc_endpoint_id(), "vpc_id": e.vpc_id(), "service_name": e.service_name(),
                    "vpc_endpoint_type": e.vpc_endpoint_type().unwrap().as_str(),
                    "private_dns_enabled": e.private_dns_enabled(), "subnet_ids": e.subnet_ids(),
                    "security_group_ids": e.groups().iter().map(|g| g.group_id().unwrap()).collect::<Vec<_>>(),
                    "route_table_ids": e.route_table_ids(), "policy": e.policy_document(), "auto_accept": true,
                    "tags": ec2_tags(e.tags()), "tags_all": ec2_tags(e.tags()),
                }))],
            )
        })
        .collect()
}

fn elasticache_tags(live: &Live, arn: &str) -> Json {
    let out = live.block(live.elasticache().list_tags_for_resource().resource_name(arn).send()).unwrap();
    out.tag_list()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), json!(t.value().unwrap())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn redis(live: &Live) -> (Vec<Json>, String) {
    let cache = live.elasticache();
    let group = live.block(cache.describe_cache_subnet_groups().send()).unwrap().cache_subnet_groups.unwrap().remove(0);
    let cluster = live
        .block(cache.describe_cache_clusters().show_cache_node_info(true).send())
        .unwrap()
        .cache_clusters
        .unwrap()
        .remove(0);
    let user = live
        .block(cache.describe_users().send())
        .unwrap()
        .users
        .unwrap()
        .into_iter()
        .find(|u| u.user_id() != Some("default"))
        .unwrap();
    let parameter = live
        .block(live.ssm().get_parameter().name("/mentor-match/redis/password/admin").with_decryption(true).send())
        .unwrap()
        .parameter
        .unwrap();
    let password = parameter.value.unwrap();
    let node = cluster.cache_nodes()[0].endpoint().unwrap();
    let sensitive = |attribute: &str| json!([[{ "type": "get_attr", "value": attribute }]]);
    let resources = vec![
        resource(
            None,
            "managed",
            "aws_elasticache_subnet_group",
            "redis",
            vec![instance(json!({
                "name": group.cache_subnet_group_name(), "description": group.cache_subnet_group_description(),
                "subnet_ids": group.subnets().iter().map(|s| s.subnet_identifier().unwrap()).collect::<Vec<_>>(),
                "arn": group.arn(), "tags": elasticache_tags(live, group.arn().unwrap()),
            }))],
        ),
        resource(
            None,
            "managed",
            "aws_elasticache_cluster",
            "redis",
            vec![instance(json!({
                "cluster_id": cluster.cache_cluster_id(), "engine": cluster.engine(), "engine_version": "6.2",
                "engine_version_actual": cluster.engine_version(), "node_type": cluster.cache_node_type(),
                "num_cache_nodes": cluster.num_cache_nodes(), "port": node.port(),
                "parameter_group_name": cluster.cache_parameter_group().unwrap().cache_parameter_group_name(),
                "subnet_group_name": cluster.cache_subnet_group_name(),
                "security_group_ids": cluster.security_groups().iter().map(|g| g.security_group_id().unwrap()).collect::<Vec<_>>(),
                "cache_nodes": [{ "address": node.address(), "port": node.port(), "id": "0001" }],
                "arn": cluster.arn(), "tags": elasticache_tags(live, cluster.arn().unwrap()),
            }))],
        ),
        resource(
            None,
            "managed",
            "aws_elasticache_user",
            "admin",
            vec![json!({ "schema_version": 0, "attributes": {
            "user_id": user.user_id(), "user_name": user.user_name(), "engine": "REDIS", "access_string": user.access_string(),
            "passwords": [password], "arn": user.arn(), "tags": elasticache_tags(live, user.arn().unwrap()),
        }, "sensitive_attributes": sensitive("passwords") })],
        ),
        resource(
            None,
            "managed",
            "aws_ssm_parameter",
            "redis_admin_password",
            vec![json!({ "schema_version": 0, "attributes": {
            "name": parameter.name, "type": "SecureString", "value": password, "insecure_value": null,
        }, "sensitive_attributes": sensitive("value") })],
        ),
        resource(
            None,
            "managed",
            "random_password",
            "redis_admin_password",
            vec![json!({ "schema_version": 3,
            "attributes": { "length": 16, "result": password, "special": false }, "sensitive_attributes": sensitive("result") })],
        ),
    ];
    (resources, password)
}

fn apprunner_tags(live: &Live, arn: &str) -> Json {
    let out = live.block(live.apprunner().list_tags_for_resource().resource_arn(arn).send()).unwrap();
    out.tags()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), json!(t.value().unwrap())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn web(live: &Live) -> Vec<Json> {
    let apprunner = live.apprunner();
    let connector = live.block(apprunner.list_vpc_connectors().send()).unwrap().vpc_connectors.remove(0);
    let services = live.block(apprunner.list_services().send()).unwrap().service_summary_list;
    let arn = services[0].service_arn().unwrap().to_string();
    let service = live.block(apprunner.describe_service().service_arn(&arn).send()).unwrap().service.unwrap();
    let source = service.source_configuration().unwrap();
    let image = source.image_repository().unwrap();
    let config = image.image_configuration().unwrap();
    let instance_config = service.instance_configuration().unwrap();
    let egress = service.network_configuration().unwrap().egress_configuration().unwrap();
    let domains = live.block(apprunner.describe_custom_domains().service_arn(&arn).send()).unwrap();
    let domain = &domains.custom_domains()[0];
    let records: Vec<Json> = domain
        .certificate_validation_records()
        .iter()
        .map(|r| json!({ "name": r.name(), "type": r.r#type(), "value": r.value(), "status": "SUCCESS" }))
        .collect();
    let zone = live.network["hostedZoneId"].as_str().unwrap();
    let module = Some("module.web");
    vec![
        resource(module, "managed", "aws_apprunner_vpc_connector", "connector", vec![instance(json!({
            "vpc_connector_name": connector.vpc_connector_name(), "arn": connector.vpc_connector_arn(),
            "subnets": connector.subnets(), "security_groups": connector.security_groups(),
            "tags": apprunner_tags(live, connector.vpc_connector_arn().unwrap()),
        }))]),
        resource(module, "managed", "aws_apprunner_service", "mmweb", vec![instance(json!({
            "service_name": service.service_name(), "arn": arn, "service_url": service.service_url(), "status": "RUNNING",
            "source_configuration": [{
                "auto_deployments_enabled": source.auto_deployments_enabled(),
                "authentication_configuration": [{ "access_role_arn": source.authentication_configuration().unwrap().access_role_arn(), "connection_arn": "" }],
                "code_repository": [],
                "image_repository": [{
                    "image_identifier": image.image_identifier(), "image_repository_type": image.image_repository_type().as_str(),
                    "image_configuration": [{ "port": config.port(), "runtime_environment_variables": config.runtime_environment_variables(),
                        "runtime_environment_secrets": {}, "start_command": "" }] }] }],
            "instance_configuration": [{ "cpu": instance_config.cpu(), "memory": instance_config.memory(),
                "instance_role_arn": instance_config.instance_role_arn() }],
            "network_configuration": [{ "egress_configuration": [{ "egress_type": "VPC", "vpc_connector_arn": egress.vpc_connector_arn() }],
                "ingress_configuration": [{ "is_publicly_accessible": true }] }],
            "health_check_configuration": [{ "protocol": "TCP", "path": "/", "interval": 5, "timeout": 2,
                "healthy_threshold": 1, "unhealthy_threshold": 5 }],
            "tags": apprunner_tags(live, &arn),
        }))]),
        resource(module, "managed", "aws_apprunner_custom_domain_association", "mmweb", vec![instance(json!({
            "id": format!("{},{arn}", domain.domain_name()), "domain_name": domain.domain_name(), "service_arn": arn,
            "enable_www_subdomain": domain.enable_www_subdomain(), "dns_target": domains.dns_target(),
            "certificate_validation_records": records, "status": "active",
        }))]),
        resource(module, "data", "aws_route53_zone", "hosting", vec![instance(json!({ "zone_id": zone, "name": "mentor-match.example.com" }))]),
        resource(
            module,
            "managed",
            "aws_route53_record",
            "apprunner_web_certificate_validation",
            records
                .iter()
                .enumerate()
                .map(|(i, r)| indexed(i, json!({ "zone_id": zone, "name": r["name"], "type": r["type"], "ttl": 300, "records": [r["value"]] })))
                .collect(),
        ),
    ]
}

fn worker(live: &Live) -> Vec<Json> {
    let ecs = live.ecs();
    let (service, _) = live.worker();
    let cluster_arn = service.cluster_arn().unwrap();
    let cluster = live
        .block(ecs.describe_clusters().clusters(cluster_arn).include(aws_sdk_ecs::types::ClusterField::Settings).send())
        .unwrap()
        .clusters
        .unwrap()
        .remove(0);
    let td = live
        .block(ecs.describe_task_definition().task_definition(service.task_definition().unwrap()).send())
        .unwrap()
        .task_definition
        .unwrap();
    let containers: Vec<Json> = td
        .container_definitions()
        .iter()
        .map(|c| {
            let log = c.log_configuration().unwrap();
            json!({ "name": c.name(), "image": c.image(), "cpu": c.cpu(), "memory": c.memory(), "user": c.user(),
                "essential": c.essential(), "privileged": c.privileged(), "mountPoints": [], "portMappings": [], "volumesFrom": [],
                "environment": c.environment().iter().map(|e| json!({ "name": e.name(), "value": e.value() })).collect::<Vec<_>>(),
                "logConfiguration": { "logDriver": "awslogs", "options": log.options() } })
        })
        .collect();
    let platform = td.runtime_platform().unwrap();
    let network = service.network_configuration().unwrap().awsvpc_configuration().unwrap();
    let tags = |tags: &[aws_sdk_ecs::types::Tag]| -> Json {
        tags.iter()
            .map(|t| (t.key().unwrap().to_string(), json!(t.value().unwrap())))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let service_tags = live
        .block(ecs.list_tags_for_resource().resource_arn(service.service_arn().unwrap()).send())
        .unwrap()
        .tags
        .unwrap_or_default();
    let cluster_tags =
        live.block(ecs.list_tags_for_resource().resource_arn(cluster_arn).send()).unwrap().tags.unwrap_or_default();
    vec![
        resource(
            None,
            "managed",
            "aws_ecs_cluster",
            "celery",
            vec![instance(json!({
                "name": cluster.cluster_name(), "arn": cluster_arn,
                "setting": cluster.settings().iter().map(|s| json!({ "name": s.name().unwrap().as_str(), "value": s.value() })).collect::<Vec<_>>(),
                "tags": tags(&cluster_tags),
            }))],
        ),
        resource(
            None,
            "managed",
            "aws_ecs_task_definition",
            "celery_worker",
            vec![instance(json!({
                "family": td.family(), "arn": td.task_definition_arn(), "revision": td.revision(), "cpu": td.cpu(), "memory": td.memory(),
                "execution_role_arn": td.execution_role_arn(), "task_role_arn": td.task_role_arn(), "network_mode": "awsvpc",
                "requires_compatibilities": ["FARGATE"],
                "runtime_platform": [{ "operating_system_family": platform.operating_system_family().unwrap().as_str(),
                    "cpu_architecture": platform.cpu_architecture().unwrap().as_str() }],
                "container_definitions": Json::from(containers).to_string(),
            }))],
        ),
        resource(
            None,
            "managed",
            "aws_ecs_service",
            "worker",
            vec![instance(json!({
                "name": service.service_name(), "cluster": cluster_arn, "task_definition": service.task_definition(),
                "desired_count": service.desired_count(), "launch_type": service.launch_type().unwrap().as_str(),
                "platform_version": service.platform_version(), "propagate_tags": service.propagate_tags().unwrap().as_str(),
                "enable_execute_command": false, "scheduling_strategy": "REPLICA",
                "network_configuration": [{ "subnets": network.subnets(), "security_groups": network.security_groups(),
                    "assign_public_ip": false }],
                "load_balancer": [], "service_registries": [], "capacity_provider_strategy": [],
                "tags": tags(&service_tags),
            }))],
        ),
    ]
}

/// The seed's `aws_cloudwatch_log_group.ecs_logs`, as the provider writes it (0 and "" for unset).
fn log_group(live: &Live) -> Json {
    let name = "/ecs/mmweb-celery/worker";
    let groups = live.block(live.logs().describe_log_groups().log_group_name_prefix(name).send()).unwrap();
    let group = groups.log_groups()[0].clone();
    let arn = group.arn().unwrap().trim_end_matches(":*").to_string();
    let tags =
        live.block(live.logs().list_tags_for_resource().resource_arn(&arn).send()).unwrap().tags.unwrap_or_default();
    resource(
        None,
        "managed",
        "aws_cloudwatch_log_group",
        "ecs_logs",
        vec![instance(json!({
            "id": name, "name": name, "name_prefix": "", "arn": arn, "retention_in_days": group.retention_in_days().unwrap_or(0),
            "kms_key_id": "", "log_group_class": "STANDARD", "skip_destroy": false, "tags": tags, "tags_all": tags,
        }))],
    )
}
