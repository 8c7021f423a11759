//! An EcsService's task definitions: read by ARN (their contents never change, but a revision can
//! be deregistered, so they are read again as often as tags), registered when the spec's differs,
//! and retired once the service runs a newer one.

use super::spec::{ContainerSpec, LogsSpec, PlatformSpec, TaskSpec, TaskView};
use crate::aws::AwsError;
use crate::kinds::tagging::{ecs_tag_list, tag_map};
use crate::kinds::typed::prelude::*;
use crate::model::ResourceKey;
use crate::model::paths::left_to_aws;
use crate::model::tags::owns;
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, CpuArchitecture, KeyValuePair, LogConfiguration, LogDriver, NetworkMode,
    OsFamily, RuntimePlatform, Secret, TaskDefinition, TaskDefinitionField, TaskDefinitionStatus,
};
use std::time::Instant;

/// An answer without the task definition asked for: AWS's to explain, tried again.
const NO_TASK_DEFINITION: &str = "no task definition returned";

/// A revision as the diff compares it.
fn view_of(td: &TaskDefinition) -> TaskView {
    let containers = td.container_definitions().iter().map(|c| {
        let env = c.environment().iter().map(|kv| (kv.name().unwrap_or_default(), kv.value().unwrap_or_default()));
        let logs = c.log_configuration().map(|log| {
            let option = |k: &str| log.options().and_then(|o| o.get(k)).cloned();
            let stream_prefix = option("awslogs-stream-prefix").unwrap_or_default();
            LogsSpec {
                group: option("awslogs-group").unwrap_or_default(),
                region: option("awslogs-region"),
                stream_prefix,
            }
        });
        ContainerSpec {
            name: c.name().unwrap_or_default().to_string(),
            image: c.image().unwrap_or_default().to_string(),
            cpu: Some(c.cpu().into()),
            memory: c.memory().map(i64::from),
            user: c.user().map(str::to_string),
            essential: c.essential().unwrap_or(true),
            privileged: c.privileged().unwrap_or(false),
            command: Some(c.command().to_vec()),
            env: env.map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            secrets: c.secrets().iter().map(|s| (s.name().to_string(), s.value_from().to_string())).collect(),
            logs,
        }
    });
    let platform = td.runtime_platform().map(|p| PlatformSpec {
        os: p.operating_system_family().map(|o| o.as_str().to_string()).unwrap_or_default(),
        cpu_architecture: p.cpu_architecture().map(|a| a.as_str().to_string()).unwrap_or_default(),
    });
    let number = |text: Option<&str>| text.and_then(|t| t.parse().ok()).unwrap_or_default();
    let task = TaskSpec {
        family: td.family().unwrap_or_default().to_string(),
        cpu: number(td.cpu()),
        memory: number(td.memory()),
        runtime_platform: platform,
        execution_role: td.execution_role_arn().map(str::to_string),
        task_role: td.task_role_arn().map(str::to_string),
        containers: containers.collect(),
    };
    TaskView { status: td.status().map_or("ACTIVE", |s| s.as_str()).to_string(), task }
}

/// The revision at `arn`, from the cache (while as fresh as tags must be) or one
/// DescribeTaskDefinition call.
pub async fn described(cx: &Cx<'_>, arn: &str) -> Result<TaskView, ReconcileError> {
    let kept = cx.cache.task_definitions.lock().unwrap().get(arn).cloned();
    if let Some((at, view)) = kept
        && at >= cx.tags_fresh_since
        && let Ok(view) = serde_json::from_value(view)
    {
        return Ok(view);
    }
    let request = cx.clients.ecs.describe_task_definition().task_definition(arn);
    let out = request.send().await.map_err(aws("DescribeTaskDefinition"))?;
    let td = out.task_definition().ok_or_else(|| AwsError::unexpected("DescribeTaskDefinition", NO_TASK_DEFINITION))?;
    Ok(keep(cx, arn, td))
}

fn keep(cx: &Cx<'_>, arn: &str, td: &TaskDefinition) -> TaskView {
    let view = view_of(td);
    let kept = serde_json::to_value(&view).unwrap_or_default();
    cx.cache.task_definitions.lock().unwrap().insert(arn.to_string(), (Instant::now(), kept));
    view
}

/// A revision whose contents match `task` (as the spec is compared, its log regions filled):
/// `last`, the one last registered, if it still matches as the diff compares them, or a new
/// revision carrying `tags`.
pub async fn matching(
    cx: &Cx<'_>,
    task: &TaskSpec,
    last: Option<&str>,
    tags: &BTreeMap<String, String>,
) -> Result<String, ReconcileError> {
    if let Some(last) = last {
        let wanted = serde_json::to_value(TaskView { status: "ACTIVE".into(), task: task.clone() });
        let found = serde_json::to_value(described(cx, last).await?);
        if let (Ok(wanted), Ok(found)) = (wanted, found)
            && left_to_aws(found, &wanted, &[]) == wanted
        {
            return Ok(last.to_string());
        }
    }
    register(cx, task, tags).await
}

async fn register(cx: &Cx<'_>, t: &TaskSpec, tags: &BTreeMap<String, String>) -> Result<String, ReconcileError> {
    let mut containers = Vec::new();
    for c in &t.containers {
        let env = c.env.iter().map(|(k, v)| KeyValuePair::builder().name(k).value(v).build());
        let secrets = c.secrets.iter().map(|(k, v)| Secret::builder().name(k).value_from(v).build());
        let secrets = secrets.collect::<Result<Vec<_>, _>>().map_err(build_error)?;
        let logs = match &c.logs {
            Some(l) => Some(
                LogConfiguration::builder()
                    .log_driver(LogDriver::Awslogs)
                    .options("awslogs-group", &l.group)
                    .options("awslogs-region", l.region.as_deref().unwrap_or_default())
                    .options("awslogs-stream-prefix", &l.stream_prefix)
                    .build()
                    .map_err(build_error)?,
            ),
            None => None,
        };
        let container = ContainerDefinition::builder().name(&c.name).image(&c.image);
        let container = container.set_cpu(c.cpu.map(|v| v as i32)).set_memory(c.memory.map(|v| v as i32));
        let container = container.set_user(c.user.clone()).essential(c.essential).privileged(c.privileged);
        let container = container.set_command(c.command.clone()).set_environment(Some(env.collect()));
        let container = container.set_secrets((!secrets.is_empty()).then_some(secrets));
        containers.push(container.set_log_configuration(logs).build());
    }
    let platform = t.runtime_platform.as_ref().map(|p| {
        let os = OsFamily::from(p.os.as_str());
        RuntimePlatform::builder()
            .operating_system_family(os)
            .cpu_architecture(CpuArchitecture::from(p.cpu_architecture.as_str()))
            .build()
    });
    let request = cx.clients.ecs.register_task_definition().family(&t.family);
    let request = request.requires_compatibilities(Compatibility::Fargate).network_mode(NetworkMode::Awsvpc);
    let request = request.cpu(t.cpu.to_string()).memory(t.memory.to_string()).set_runtime_platform(platform);
    let request = request.set_execution_role_arn(t.execution_role.clone()).set_task_role_arn(t.task_role.clone());
    let request = request.set_container_definitions(Some(containers)).set_tags(Some(ecs_tag_list(tags)));
    cx.may_mutate().await?;
    let out = request.send().await.map_err(aws("RegisterTaskDefinition"))?;
    let td = out.task_definition().ok_or_else(|| AwsError::unexpected("RegisterTaskDefinition", NO_TASK_DEFINITION))?;
    let arn = td.task_definition_arn().unwrap_or_default().to_string();
    keep(cx, &arn, td);
    Ok(arn)
}

/// Deregisters the revisions of the family that steward registered for this service, except
/// `current`, so that revisions do not pile up with every heal. Revisions registered by others
/// (no ownership tags for this resource) are left alone. A revision still in use by running tasks
/// keeps running: deregistering only stops new deployments of it.
pub async fn retire_old_revisions(
    cx: &Cx<'_>,
    key: &ResourceKey,
    family: &str,
    current: &str,
) -> Result<(), ReconcileError> {
    let mut arns = Vec::new();
    let request = cx.clients.ecs.list_task_definitions().family_prefix(family);
    let mut pages = request.status(TaskDefinitionStatus::Active).into_paginator().send();
    while let Some(page) = pages.next().await {
        arns.extend(page.map_err(aws("ListTaskDefinitions"))?.task_definition_arns().to_vec());
    }
    // The family prefix also matches longer family names: compare the family exactly.
    let of_family =
        |arn: &str| arn.rsplit_once('/').and_then(|(_, r)| r.rsplit_once(':')).is_some_and(|(f, _)| f == family);
    for arn in arns.iter().filter(|a| a.as_str() != current && of_family(a)) {
        let request = cx.clients.ecs.describe_task_definition().task_definition(arn);
        let described =
            request.include(TaskDefinitionField::Tags).send().await.map_err(aws("DescribeTaskDefinition"))?;
        if !owns(&tag_map(described.tags().iter().map(|t| (t.key(), t.value()))), key) {
            continue;
        }
        cx.may_mutate().await?;
        let request = cx.clients.ecs.deregister_task_definition().task_definition(arn);
        request.send().await.map_err(aws("DeregisterTaskDefinition"))?;
        cx.cache.task_definitions.lock().unwrap().remove(arn);
    }
    Ok(())
}
