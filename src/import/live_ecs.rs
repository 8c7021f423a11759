//! The ECS part of `import aws`: the services whose tasks run in the VPC's subnets, their task
//! definitions, and the clusters they run in.

use super::error::{Result, call};
use super::fields::{strip_nulls, task_spec};
use super::inventory::{Found, Inventory, Tags, add, every_item, sorted, with_tags};
use crate::model::Kind;
use crate::model::clients::Clients;
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};

/// The ECS services whose tasks run in the VPC's subnets, and their clusters.
pub async fn read(c: &Clients, subnets: &BTreeSet<String>, inv: &mut Inventory) -> Result<()> {
    let clusters: Vec<String> = every_item!(c.ecs.list_clusters(), "ecs:ListClusters")?;
    for chunk in clusters.chunks(100) {
        let described = c
            .ecs
            .describe_clusters()
            .set_clusters(Some(chunk.to_vec()))
            .include(aws_sdk_ecs::types::ClusterField::Tags)
            .include(aws_sdk_ecs::types::ClusterField::Settings)
            .send()
            .await
            .map_err(call("ecs:DescribeClusters"))?;
        for cluster in described.clusters() {
            let arn = cluster.cluster_arn().unwrap_or_default();
            let services = ecs_services(c, arn, subnets, inv).await?;
            if services == 0 {
                continue;
            }
            let insights = cluster
                .settings()
                .iter()
                .find(|s| s.name().map(|n| n.as_str()) == Some("containerInsights"))
                .and_then(|s| s.value())
                .unwrap_or("disabled");
            let tags: Tags =
                cluster.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string()))).collect();
            let name = cluster.cluster_name().unwrap_or_default();
            let spec = with_tags(json!({ "containerInsights": insights }), &tags);
            let outputs = BTreeMap::from([("arn".to_string(), arn.to_string())]);
            add(inv, Found { kind: Kind::EcsCluster, name: name.into(), spec, outputs, origin: arn.into() }, &tags);
        }
    }
    Ok(())
}

/// Adds the cluster's services in `subnets`; returns how many there were.
async fn ecs_services(c: &Clients, cluster: &str, subnets: &BTreeSet<String>, inv: &mut Inventory) -> Result<usize> {
    let arns: Vec<String> = every_item!(c.ecs.list_services().cluster(cluster), "ecs:ListServices")?;
    let mut count = 0;
    for chunk in arns.chunks(10) {
        let described = c
            .ecs
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()))
            .include(aws_sdk_ecs::types::ServiceField::Tags)
            .send()
            .await
            .map_err(call("ecs:DescribeServices"))?;
        for s in described.services().iter().filter(|s| s.status() == Some("ACTIVE")) {
            let Some(network) = s.network_configuration().and_then(|n| n.awsvpc_configuration()) else { continue };
            if !network.subnets().iter().any(|id| subnets.contains(id)) {
                continue;
            }
            count += 1;
            let origin = s.service_arn().unwrap_or_default().to_string();
            let td_arn = s.task_definition().unwrap_or_default();
            let td = c
                .ecs
                .describe_task_definition()
                .task_definition(td_arn)
                .send()
                .await
                .map_err(call("ecs:DescribeTaskDefinition"))?;
            let Some(td) = td.task_definition() else { continue };
            let platform = td.runtime_platform().map(|p| {
                json!({ "os": p.operating_system_family().map(|o| o.as_str()), "cpuArchitecture": p.cpu_architecture().map(|a| a.as_str()) })
            });
            let containers: Vec<Json> = td.container_definitions().iter().map(container_json).collect();
            let task = task_spec(
                td.family().unwrap_or_default(),
                (td.cpu(), td.memory()),
                (td.execution_role_arn(), td.task_role_arn()),
                platform,
                &Json::from(containers),
            );
            let (task, notes) = match task {
                Ok(t) => t,
                Err(reason) => {
                    inv.skip(origin, reason);
                    continue;
                }
            };
            inv.unmanaged.extend(notes.into_iter().map(|n| format!("{origin}: {n}")));
            for (present, what) in [
                (!s.load_balancers().is_empty(), "load balancers"),
                (!s.service_registries().is_empty(), "service registries"),
                (!s.capacity_provider_strategy().is_empty(), "capacity providers"),
            ] {
                if present {
                    inv.unmanaged
                        .push(format!("{origin}: {what} (steward does not manage them; they stay as they are)"));
                }
            }
            let tags: Tags =
                s.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string()))).collect();
            let spec = strip_nulls(json!({
                "cluster": cluster,
                "desiredCount": s.desired_count(),
                "launchType": s.launch_type().map(|l| l.as_str()),
                "platformVersion": s.platform_version(),
                "propagateTags": s.propagate_tags().map(|p| p.as_str()),
                "enableExecuteCommand": s.enable_execute_command(),
                "network": {
                    "subnets": sorted(network.subnets()),
                    "securityGroups": sorted(network.security_groups()),
                    "assignPublicIp": network.assign_public_ip().map(|a| a.as_str()) == Some("ENABLED"),
                },
                "taskDefinition": task,
            }));
            let name = s.service_name().unwrap_or_default();
            add(
                inv,
                Found {
                    kind: Kind::EcsService,
                    name: name.into(),
                    spec: with_tags(spec, &tags),
                    outputs: BTreeMap::new(),
                    origin,
                },
                &tags,
            );
        }
    }
    Ok(count)
}

/// A container definition as the JSON ECS documents (and Terraform keeps), for `task_spec`.
fn container_json(c: &aws_sdk_ecs::types::ContainerDefinition) -> Json {
    let log = c.log_configuration().map(|l| json!({ "logDriver": l.log_driver().as_str(), "options": l.options() }));
    json!({
        "name": c.name(), "image": c.image(), "cpu": c.cpu(), "memory": c.memory(), "user": c.user(),
        "essential": c.essential(), "privileged": c.privileged(), "command": c.command(),
        "environment": c.environment().iter().map(|e| json!({ "name": e.name(), "value": e.value() })).collect::<Vec<_>>(),
        "secrets": c.secrets().iter().map(|s| json!({ "name": s.name(), "valueFrom": s.value_from() })).collect::<Vec<_>>(),
        "logConfiguration": log,
        // Only whether these are set: steward does not manage them, the summary names them.
        "portMappings": present(!c.port_mappings().is_empty()), "healthCheck": present(c.health_check().is_some()),
        "mountPoints": present(!c.mount_points().is_empty()), "volumesFrom": present(!c.volumes_from().is_empty()),
        "dependsOn": present(!c.depends_on().is_empty()), "entryPoint": present(!c.entry_point().is_empty()),
        "workingDirectory": c.working_directory(),
    })
}

fn present(set: bool) -> Json {
    if set { Json::Bool(true) } else { Json::Null }
}
