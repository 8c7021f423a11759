//! EcsService: an ECS Fargate service together with the task definition it runs.

mod spec;

pub use spec::{ContainerSpec, EcsServiceSpec, LogsSpec, NetworkSpec, PlatformSpec, TaskSpec};

use super::apprunner_service::join;
use super::definition::KindDef;
use crate::schema::*;
use serde_json::Value as Json;

pub const NAME: StrRule = StrRule {
    expected: "a name of 1 to 255 letters, digits, '-' or '_'",
    check: |s| (1..=255).contains(&s.len()) && s.chars().all(name_char("-_")),
};

/// Fargate task sizes: cpu units → allowed memory (MiB) as (from, to, step).
pub const FARGATE_SIZES: &[(i64, i64, i64, i64)] = &[
    (256, 512, 2048, 512),
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

pub(crate) fn fargate_memory(cpu: i64) -> Option<Vec<i64>> {
    let (_, from, to, step) = FARGATE_SIZES.iter().find(|s| s.0 == cpu)?;
    // 256 cpu allows 512, 1024, 2048 (not 1536): the one irregular row.
    let mut values: Vec<i64> = (*from..=*to).step_by(*step as usize).collect();
    if cpu == 256 {
        values.retain(|m| *m != 1536);
    }
    Some(values)
}

/// The AWS actions its calls need (checked against the controller's policy).
pub const ACTIONS: &[&str] = &[
    "ecs:DescribeServices",
    "ecs:DescribeTaskDefinition",
    "ecs:ListTaskDefinitions",
    "ecs:RegisterTaskDefinition",
    "ecs:CreateService",
    "ecs:UpdateService",
    "ecs:DeleteService",
    "ecs:DeregisterTaskDefinition",
    "ecs:TagResource",
    "ecs:UntagResource",
];

pub fn definition() -> KindDef {
    let logs =
        Shape::Struct(vec![req("group", any_string()), opt("region", any_string()), req("streamPrefix", any_string())]);
    let container = Shape::Struct(vec![
        req("name", string(NAME)),
        req("image", any_string()),
        opt("cpu", int(0, 16384)),
        opt("memory", int(6, 122880)),
        opt("user", any_string()),
        opt("essential", Shape::Bool),
        opt("privileged", Shape::Bool),
        opt("command", list(any_string(), 1, 64)),
        opt("env", env()),
        opt("secrets", dict(ENV_NAME, any_string(), 100)),
        opt("logs", logs),
    ]);
    let task = Shape::Struct(vec![
        req("family", string(NAME)),
        req("cpu", int(256, 16384)),
        req("memory", int(512, 122880)),
        opt(
            "runtimePlatform",
            Shape::Struct(vec![
                opt("os", Shape::Enum(&["LINUX"])),
                opt("cpuArchitecture", Shape::Enum(&["X86_64", "ARM64"])),
            ]),
        ),
        opt("executionRole", arn()),
        opt("taskRole", arn()),
        req("containers", list(container, 1, 10)),
    ]);
    let network = Shape::Struct(vec![
        req("subnets", selectors("subnet-")),
        req("securityGroups", selectors("sg-")),
        opt("assignPublicIp", Shape::Bool),
    ]);
    KindDef {
        fields: vec![
            req("cluster", any_string()),
            opt("desiredCount", int(0, 1000)),
            opt("launchType", Shape::Enum(&["FARGATE"])),
            opt("platformVersion", any_string()),
            opt("propagateTags", Shape::Enum(&["TASK_DEFINITION", "SERVICE", "NONE"])),
            opt("enableExecuteCommand", Shape::Bool),
            req("network", network),
            req("taskDefinition", task),
            opt("tags", tags()),
        ],
        outputs: vec!["arn", "taskDefinitionArn"],
        retain_by_default: false,
        name_rule: NAME,
        check,
        actions: ACTIONS,
        terraform: None,
        field_table: None,
    }
}

fn check(spec: &Json, c: &mut Checker) {
    let cpu = spec.pointer("/taskDefinition/cpu").and_then(Json::as_i64);
    let memory = spec.pointer("/taskDefinition/memory").and_then(Json::as_i64);
    if let (Some(cpu), Some(memory)) = (cpu, memory) {
        match fargate_memory(cpu) {
            None => c.error_at(
                "taskDefinition.cpu",
                format!("expected a Fargate cpu value (256, 512, 1024, 2048, 4096, 8192, 16384), got {cpu}"),
            ),
            Some(allowed) if !allowed.contains(&memory) => {
                let shown = if allowed.len() > 8 {
                    format!("{} to {} in steps of {}", allowed[0], allowed[allowed.len() - 1], allowed[1] - allowed[0])
                } else {
                    join(&allowed)
                };
                c.error_at("taskDefinition.memory", format!("expected {shown} for Fargate cpu {cpu}, got {memory}"));
            }
            _ => {}
        }
    }
    let containers = spec.pointer("/taskDefinition/containers").and_then(Json::as_array).cloned().unwrap_or_default();
    let mut names = std::collections::HashSet::new();
    let mut container_cpu = 0;
    for (i, container) in containers.iter().enumerate() {
        if let Some(name) = container.get("name").and_then(Json::as_str)
            && !names.insert(name.to_string())
        {
            c.error_at(
                &format!("taskDefinition.containers[{i}].name"),
                format!("expected a unique container name, {name:?} is used twice"),
            );
        }
        container_cpu += container.get("cpu").and_then(Json::as_i64).unwrap_or(0);
        if let (Some(m), Some(task)) = (container.get("memory").and_then(Json::as_i64), memory)
            && m > task
        {
            c.error_at(
                &format!("taskDefinition.containers[{i}].memory"),
                format!("expected at most the task memory ({task}), got {m}"),
            );
        }
        if let Some(env) = container.get("env").and_then(Json::as_object)
            && let Some(secrets) = container.get("secrets").and_then(Json::as_object)
        {
            for name in env.keys().filter(|k| secrets.contains_key(*k)) {
                c.error_at(
                    &format!("taskDefinition.containers[{i}].secrets.{name}"),
                    "expected a name not also set in env",
                );
            }
        }
    }
    if let Some(cpu) = cpu
        && container_cpu > cpu
    {
        c.error_at(
            "taskDefinition.containers",
            format!("expected container cpu to sum to at most the task cpu ({cpu}), got {container_cpu}"),
        );
    }
    if spec.get("launchType").and_then(Json::as_str).unwrap_or("FARGATE") == "FARGATE"
        && spec.pointer("/taskDefinition/executionRole").is_none()
        && containers.iter().any(|c| c.get("logs").is_some() || c.get("secrets").is_some())
    {
        c.error_at("taskDefinition.executionRole", "required when containers use awslogs or secrets on Fargate");
    }
}

// ---- adapter ----
//
// A service and the task definition it runs are one resource. Task definitions are immutable:
// their contents are cached by ARN, and any difference registers a new revision that the
// service is then pointed at (always by full ARN).

use super::tagging::{ecs_tag_list, tag_map};
use super::values::{client_token, sorted_strings, status_text};
use crate::aws::{AwsError, aws};
use crate::model::ResourceKey;
use crate::model::tags::{Tagged, owns, tag_view};
use crate::model::{Adapter, Cx, Desired, Drift, ObjectState, Observed, ReconcileError};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, CpuArchitecture, KeyValuePair, LaunchType,
    LogConfiguration, LogDriver, NetworkConfiguration, NetworkMode, OsFamily, PropagateTags, RuntimePlatform, Secret,
    ServiceField, TaskDefinition,
};
use serde_json::{Map, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

pub struct EcsServiceAdapter;

/// Fields that are maps people fill freely: compared whole, never projected.
const WHOLE_MAPS: [&str; 3] = ["env", "secrets", "tags"];

/// Keeps only the parts of `actual` that `wanted` names (recursively), so that attributes the
/// spec leaves to AWS are not drift; free-form maps are kept whole.
fn project(actual: &Json, wanted: &Json) -> Json {
    match (actual, wanted) {
        (Json::Object(a), Json::Object(w)) => Json::Object(
            a.iter()
                .filter(|(k, _)| w.contains_key(*k))
                .map(|(k, v)| (k.clone(), if WHOLE_MAPS.contains(&k.as_str()) { v.clone() } else { project(v, &w[k]) }))
                .collect(),
        ),
        (Json::Array(a), Json::Array(w)) => Json::Array(
            a.iter().enumerate().map(|(i, v)| w.get(i).map_or_else(|| v.clone(), |wi| project(v, wi))).collect(),
        ),
        (a, _) => a.clone(),
    }
}

fn task_view(td: &TaskDefinition) -> Json {
    let containers: Vec<Json> = td
        .container_definitions()
        .iter()
        .map(|c| {
            let env: Map<String, Json> = c.environment().iter().map(|kv| (kv.name().unwrap_or_default().to_string(), json!(kv.value().unwrap_or_default()))).collect();
            let secrets: Map<String, Json> = c.secrets().iter().map(|s| (s.name().to_string(), json!(s.value_from()))).collect();
            let mut view = json!({
                "name": c.name(), "image": c.image(), "cpu": c.cpu(), "memory": c.memory(), "user": c.user(),
                "essential": c.essential().unwrap_or(true), "privileged": c.privileged().unwrap_or(false),
                "command": c.command(), "env": env, "secrets": secrets,
            });
            if let Some(log) = c.log_configuration() {
                let option = |k: &str| log.options().and_then(|o| o.get(k)).cloned();
                view["logs"] = json!({ "group": option("awslogs-group"), "region": option("awslogs-region"), "streamPrefix": option("awslogs-stream-prefix") });
            }
            view
        })
        .collect();
    let platform = td.runtime_platform();
    json!({
        "status": td.status().map(|s| s.as_str()),
        "family": td.family(),
        "cpu": td.cpu().map(|c| c.parse::<i64>().map(Json::from).unwrap_or(json!(c))),
        "memory": td.memory().map(|m| m.parse::<i64>().map(Json::from).unwrap_or(json!(m))),
        "runtimePlatform": { "os": platform.and_then(|p| p.operating_system_family()).map(|o| o.as_str()), "cpuArchitecture": platform.and_then(|p| p.cpu_architecture()).map(|a| a.as_str()) },
        "executionRole": td.execution_role_arn(),
        "taskRole": td.task_role_arn(),
        "containers": containers,
    })
}

/// The task definition as the spec wants it, with the defaults AWS would report.
fn desired_task(spec: &EcsServiceSpec, region: &str) -> Json {
    let t = &spec.task_definition;
    // A deregistered (INACTIVE) revision is drift: AWS refuses to deploy it again.
    let mut view = json!({ "status": "ACTIVE", "family": t.family, "cpu": t.cpu, "memory": t.memory });
    if let Some(p) = &t.runtime_platform {
        view["runtimePlatform"] = json!({ "os": p.os, "cpuArchitecture": p.cpu_architecture });
    }
    if let Some(role) = &t.execution_role {
        view["executionRole"] = json!(role);
    }
    if let Some(role) = &t.task_role {
        view["taskRole"] = json!(role);
    }
    let containers: Vec<Json> = t
        .containers
        .iter()
        .map(|c| {
            let mut view = json!({
                "name": c.name, "image": c.image, "essential": c.essential, "privileged": c.privileged,
                "env": c.env, "secrets": c.secrets,
            });
            let optional = [
                ("cpu", c.cpu.map(Json::from)),
                ("memory", c.memory.map(Json::from)),
                ("user", c.user.clone().map(Json::from)),
                ("command", c.command.clone().map(Json::from)),
            ];
            for (k, v) in optional {
                if let Some(v) = v {
                    view[k] = v;
                }
            }
            if let Some(l) = &c.logs {
                let log_region = l.region.as_deref().unwrap_or(region);
                view["logs"] = json!({ "group": l.group, "region": log_region, "streamPrefix": l.stream_prefix });
            }
            view
        })
        .collect();
    view["containers"] = Json::from(containers);
    view
}

fn network_view(spec: &EcsServiceSpec) -> Json {
    let n = &spec.network;
    json!({ "subnets": sorted_strings(&n.subnets), "securityGroups": sorted_strings(&n.security_groups), "assignPublicIp": n.assign_public_ip })
}

fn network_config(spec: &EcsServiceSpec) -> Result<NetworkConfiguration, ReconcileError> {
    let n = &spec.network;
    let public = if n.assign_public_ip { AssignPublicIp::Enabled } else { AssignPublicIp::Disabled };
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(n.subnets.clone()))
        .set_security_groups(Some(n.security_groups.clone()))
        .assign_public_ip(public)
        .build()
        .map_err(|e| ReconcileError::invalid_spec("build request", e))?;
    Ok(NetworkConfiguration::builder().awsvpc_configuration(vpc).build())
}

/// The task definition of a service, from the cache (while as fresh as tags must be) or one
/// DescribeTaskDefinition call.
async fn task_definition(cx: &Cx<'_>, arn: &str) -> Result<Json, ReconcileError> {
    if let Some((at, view)) = cx.cache.task_definitions.lock().unwrap().get(arn)
        && *at >= cx.tags_fresh_since
    {
        return Ok(view.clone());
    }
    let out = cx
        .clients
        .ecs
        .describe_task_definition()
        .task_definition(arn)
        .send()
        .await
        .map_err(aws("DescribeTaskDefinition"))?;
    let view = out.task_definition().map(task_view).unwrap_or(Json::Null);
    cx.cache.task_definitions.lock().unwrap().insert(arn.to_string(), (Instant::now(), view.clone()));
    Ok(view)
}

async fn register(cx: &Cx<'_>, d: &Desired) -> Result<String, ReconcileError> {
    let spec: EcsServiceSpec = d.spec_as()?;
    let t = &spec.task_definition;
    let invalid = |e: aws_sdk_ecs::error::BuildError| ReconcileError::invalid_spec("build request", e);
    let mut containers = Vec::new();
    for c in &t.containers {
        let env: Vec<KeyValuePair> =
            c.env.iter().map(|(k, v)| KeyValuePair::builder().name(k).value(v).build()).collect();
        let mut secrets = Vec::new();
        for (k, v) in &c.secrets {
            secrets.push(Secret::builder().name(k).value_from(v).build().map_err(invalid)?);
        }
        let logs = match &c.logs {
            Some(l) => Some(
                LogConfiguration::builder()
                    .log_driver(LogDriver::Awslogs)
                    .options("awslogs-group", &l.group)
                    .options("awslogs-region", l.region.as_deref().unwrap_or(&d.region))
                    .options("awslogs-stream-prefix", &l.stream_prefix)
                    .build()
                    .map_err(invalid)?,
            ),
            None => None,
        };
        containers.push(
            ContainerDefinition::builder()
                .name(&c.name)
                .image(&c.image)
                .set_cpu(c.cpu.map(|v| v as i32))
                .set_memory(c.memory.map(|v| v as i32))
                .set_user(c.user.clone())
                .essential(c.essential)
                .privileged(c.privileged)
                .set_command(c.command.clone())
                .set_environment(Some(env))
                .set_secrets(if secrets.is_empty() { None } else { Some(secrets) })
                .set_log_configuration(logs)
                .build(),
        );
    }
    let platform = t.runtime_platform.as_ref().map(|p| {
        RuntimePlatform::builder()
            .operating_system_family(OsFamily::from(p.os.as_str()))
            .cpu_architecture(CpuArchitecture::from(p.cpu_architecture.as_str()))
            .build()
    });
    cx.may_mutate().await?;
    let out = cx
        .clients
        .ecs
        .register_task_definition()
        .family(&t.family)
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu(t.cpu.to_string())
        .memory(t.memory.to_string())
        .set_runtime_platform(platform)
        .set_execution_role_arn(t.execution_role.clone())
        .set_task_role_arn(t.task_role.clone())
        .set_container_definitions(Some(containers))
        .set_tags(Some(ecs_tag_list(&d.tags)))
        .send()
        .await
        .map_err(aws("RegisterTaskDefinition"))?;
    let td = out
        .task_definition()
        .ok_or_else(|| AwsError::unexpected("RegisterTaskDefinition", "no task definition returned"))?;
    let arn = td.task_definition_arn().unwrap_or_default().to_string();
    cx.cache.task_definitions.lock().unwrap().insert(arn.clone(), (Instant::now(), task_view(td)));
    Ok(arn)
}

/// A task definition revision whose contents match the spec: the one last registered if it still
/// matches, or a new revision.
async fn matching_task_definition(cx: &Cx<'_>, d: &Desired) -> Result<String, ReconcileError> {
    let wanted = desired_task(&d.spec_as()?, &d.region);
    if let Some(last) = d.memo.get("taskDefinitionArn").and_then(Json::as_str)
        && project(&task_definition(cx, last).await?, &wanted) == wanted
    {
        return Ok(last.to_string());
    }
    register(cx, d).await
}

/// Deregisters the revisions of the family that steward registered for this service, except
/// `current`, so that revisions do not pile up with every heal. Revisions registered by others
/// (no ownership tags for this resource) are left alone. A revision still in use by running tasks
/// keeps running: deregistering only stops new deployments of it.
async fn retire_old_revisions(cx: &Cx<'_>, d: &Desired, current: &str) -> Result<(), ReconcileError> {
    let family = d.spec_as::<EcsServiceSpec>()?.task_definition.family;
    let family = family.as_str();
    let mut arns = Vec::new();
    let mut pages = cx
        .clients
        .ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        arns.extend(page.map_err(aws("ListTaskDefinitions"))?.task_definition_arns().to_vec());
    }
    // The family prefix also matches longer family names: compare the family exactly.
    let of_family =
        |arn: &str| arn.rsplit_once('/').and_then(|(_, r)| r.rsplit_once(':')).is_some_and(|(f, _)| f == family);
    for arn in arns.iter().filter(|a| a.as_str() != current && of_family(a)) {
        let described = cx
            .clients
            .ecs
            .describe_task_definition()
            .task_definition(arn)
            .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(aws("DescribeTaskDefinition"))?;
        if !owns(&tag_map(described.tags().iter().map(|t| (t.key(), t.value()))), &d.key) {
            continue;
        }
        cx.may_mutate().await?;
        cx.clients
            .ecs
            .deregister_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(aws("DeregisterTaskDefinition"))?;
        cx.cache.task_definitions.lock().unwrap().remove(arn);
    }
    Ok(())
}

#[async_trait::async_trait]
impl Adapter for EcsServiceAdapter {
    async fn observe(
        &self,
        cx: &Cx<'_>,
        wanted: &[Desired],
    ) -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError> {
        let specs: Vec<(&Desired, EcsServiceSpec)> =
            wanted.iter().map(|d| Ok((d, d.spec_as()?))).collect::<Result<_, ReconcileError>>()?;
        let clusters: BTreeSet<&str> = specs.iter().map(|(_, s)| s.cluster.as_str()).collect();
        let mut out = BTreeMap::new();
        for cluster in clusters {
            let in_cluster: Vec<&(&Desired, EcsServiceSpec)> =
                specs.iter().filter(|(_, s)| s.cluster == cluster).collect();
            for chunk in in_cluster.chunks(10) {
                let described = cx
                    .clients
                    .ecs
                    .describe_services()
                    .cluster(cluster)
                    .set_services(Some(chunk.iter().map(|(d, _)| d.key.name.clone()).collect()))
                    .include(ServiceField::Tags)
                    .send()
                    .await
                    .map_err(aws("DescribeServices"))?;
                for s in described.services() {
                    let Some((d, spec)) = chunk.iter().find(|(d, _)| s.service_name() == Some(d.key.name.as_str()))
                    else {
                        continue;
                    };
                    let status = status_text(s.status().unwrap_or_default());
                    let phase = match status.as_str() {
                        "active" => ObjectState::Ready,
                        "inactive" => continue,
                        other => ObjectState::Busy(other.to_ascii_uppercase()),
                    };
                    let tags = tag_map(s.tags().iter().map(|t| (t.key(), t.value())));
                    let td_arn = s.task_definition().unwrap_or_default().to_string();
                    let td = if td_arn.is_empty() { Json::Null } else { task_definition(cx, &td_arn).await? };
                    let vpc = s.network_configuration().and_then(|n| n.awsvpc_configuration());
                    let groups: Vec<String> = vpc.map(|v| v.security_groups().to_vec()).unwrap_or_default();
                    let config = json!({
                        "desiredCount": s.desired_count(),
                        "network": {
                            "subnets": sorted_strings(vpc.map(|v| v.subnets()).unwrap_or_default()),
                            "securityGroups": sorted_strings(&groups),
                            "assignPublicIp": vpc.and_then(|v| v.assign_public_ip()).is_some_and(|a| a.as_str() == "ENABLED"),
                        },
                        "taskDefinition": project(&td, &desired_task(spec, &d.region)),
                        "tags": tag_view(&tags),
                        "platformVersion": s.platform_version(),
                        "enableExecuteCommand": s.enable_execute_command(),
                        "propagateTags": s.propagate_tags().map(|p| p.as_str()),
                    });
                    let arn = s.service_arn().unwrap_or_default().to_string();
                    let outputs = BTreeMap::from([
                        ("arn".to_string(), arn.clone()),
                        ("taskDefinitionArn".to_string(), td_arn.clone()),
                    ]);
                    out.insert(
                        d.key.clone(),
                        Observed {
                            id: arn,
                            owned: owns(&tags, &d.key),
                            state: phase,
                            config,
                            outputs,
                            extra: json!({ "cluster": cluster, "taskDefinition": td_arn }),
                            failed_operation: None,
                        },
                    );
                }
            }
        }
        Ok(out)
    }

    fn set_fields(&self) -> &'static [&'static str] {
        &["securityGroups", "subnets"]
    }

    fn desired_view(&self, d: &Desired) -> Result<Json, ReconcileError> {
        let spec: EcsServiceSpec = d.spec_as()?;
        let mut view = json!({
            "desiredCount": spec.desired_count,
            "network": network_view(&spec),
            "taskDefinition": desired_task(&spec, &d.region),
            "tags": tag_view(&d.tags),
            // A shell into the worker's tasks is off unless the spec turns it on.
            "enableExecuteCommand": spec.enable_execute_command,
        });
        // Managed only where the spec names them (AWS picks a default otherwise).
        for (field, value) in [("platformVersion", &spec.platform_version), ("propagateTags", &spec.propagate_tags)] {
            if let Some(value) = value {
                view[field] = json!(value);
            }
        }
        Ok(view)
    }

    fn fix_for(&self, _field: &str) -> crate::model::Fix {
        crate::model::Fix::InPlace
    }

    async fn create(&self, cx: &Cx<'_>, d: &Desired) -> Result<Json, ReconcileError> {
        let td = matching_task_definition(cx, d).await?;
        let spec: EcsServiceSpec = d.spec_as()?;
        let propagate = spec.propagate_tags.as_deref().map(PropagateTags::from);
        let request = cx
            .clients
            .ecs
            .create_service()
            .cluster(&spec.cluster)
            .service_name(&d.key.name)
            .task_definition(&td)
            .desired_count(spec.desired_count)
            .launch_type(LaunchType::Fargate)
            .platform_version(spec.platform_version.as_deref().unwrap_or("LATEST"))
            .network_configuration(network_config(&spec)?)
            .set_propagate_tags(propagate)
            .enable_execute_command(spec.enable_execute_command)
            .client_token(client_token(d))
            .set_tags(Some(ecs_tag_list(&d.tags)));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("CreateService"))?;
        Ok(json!({ "taskDefinitionArn": td }))
    }

    async fn update(&self, cx: &Cx<'_>, d: &Desired, o: &Observed, drift: &[Drift]) -> Result<Json, ReconcileError> {
        // The revision is sent only when it must change: a desiredCount fix must not redeploy
        // (and AWS refuses a deregistered revision, so re-sending the current one can fail).
        let td = match drift.iter().any(|x| x.field.starts_with("taskDefinition")) {
            true => Some(matching_task_definition(cx, d).await?),
            false => None,
        };
        let spec: EcsServiceSpec = d.spec_as()?;
        let request = cx
            .clients
            .ecs
            .update_service()
            .cluster(o.extra_str("cluster"))
            .service(&d.key.name)
            .set_task_definition(td.clone())
            .desired_count(spec.desired_count)
            .network_configuration(network_config(&spec)?);
        // A platform version is sent only when it drifted: on AWS it starts a new deployment.
        let touched = |f: &str| drift.iter().any(|x| x.field == f);
        let request = match touched("platformVersion") {
            true => request.set_platform_version(spec.platform_version.clone()),
            false => request,
        };
        let request = match touched("enableExecuteCommand") {
            true => request.enable_execute_command(spec.enable_execute_command),
            false => request,
        };
        let request = match touched("propagateTags") {
            true => request.set_propagate_tags(spec.propagate_tags.as_deref().map(PropagateTags::from)),
            false => request,
        };
        cx.may_mutate().await?;
        request.send().await.map_err(aws("UpdateService"))?;
        match td {
            Some(arn) => {
                retire_old_revisions(cx, d, &arn).await?;
                Ok(json!({ "taskDefinitionArn": arn }))
            }
            None => Ok(Json::Null),
        }
    }

    async fn delete(&self, cx: &Cx<'_>, o: &Observed) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        cx.clients
            .ecs
            .delete_service()
            .cluster(o.extra_str("cluster"))
            .service(&o.id)
            .force(true)
            .send()
            .await
            .map_err(aws("DeleteService"))?;
        Ok(())
    }

    fn tagged<'a>(&self, o: &'a Observed) -> Option<Tagged<'a>> {
        Some(Tagged::Ecs(&o.id))
    }
}

#[cfg(test)]
mod adapter_tests {
    use super::*;

    #[test]
    fn projection_keeps_what_the_spec_names_and_whole_maps() {
        let actual = json!({"a": 1, "b": {"c": 2, "d": 3}, "env": {"X": "1", "Y": "2"}, "list": [{"n": 1, "m": 2}]});
        let wanted = json!({"b": {"c": 0}, "env": {"X": "1"}, "list": [{"n": 0}]});
        assert_eq!(project(&actual, &wanted), json!({"b": {"c": 2}, "env": {"X": "1", "Y": "2"}, "list": [{"n": 1}]}));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fargate_sizes() {
        assert_eq!(fargate_memory(256).unwrap(), vec![512, 1024, 2048]);
        assert!(fargate_memory(512).unwrap().contains(&4096));
        assert!(fargate_memory(300).is_none());
    }
}
