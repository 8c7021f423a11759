//! EcsService: an ECS Fargate service together with the task definition it runs. The two are
//! one resource: a task definition is immutable, so any difference in it registers a new
//! revision (its contents are kept by ARN, task.rs) that the service is then pointed at, always
//! by full ARN.

mod spec;
mod task;

pub use spec::{
    ContainerSpec, EcsServiceSpec, LogsSpec, NAME, NetworkSpec, PlatformSpec, ServiceView, TaskSpec, TaskView,
};

use super::apprunner_service::join;
use super::tagging::{ecs_tag_list, tag_map};
use super::typed::prelude::*;
use super::values::{client_token, status_text};
use crate::schema::Checker;
use aws_sdk_ecs::types::{AssignPublicIp, AwsVpcConfiguration, LaunchType, NetworkConfiguration, PropagateTags};
use aws_sdk_ecs::types::{Service, ServiceField};

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

/// A task definition's cross-field rules: its size is one Fargate offers, its containers'
/// names are unique and their sizes fit in it, and it has a role to read logs and secrets with.
fn check_task(task: &TaskSpec, c: &mut Checker) {
    let (cpu, memory) = (task.cpu, task.memory);
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
    let mut names = BTreeSet::new();
    for (i, container) in task.containers.iter().enumerate() {
        let at = format!("taskDefinition.containers[{i}]");
        if !names.insert(container.name.as_str()) {
            let name = &container.name;
            c.error_at(&format!("{at}.name"), format!("expected a unique container name, {name:?} is used twice"));
        }
        if let Some(m) = container.memory.filter(|m| *m > memory) {
            c.error_at(&format!("{at}.memory"), format!("expected at most the task memory ({memory}), got {m}"));
        }
        for name in container.env.keys().filter(|k| container.secrets.contains_key(*k)) {
            c.error_at(&format!("{at}.secrets.{name}"), "expected a name not also set in env");
        }
    }
    let container_cpu: i64 = task.containers.iter().filter_map(|c| c.cpu).sum();
    if container_cpu > cpu {
        c.error_at(
            "taskDefinition.containers",
            format!("expected container cpu to sum to at most the task cpu ({cpu}), got {container_cpu}"),
        );
    }
    // Fargate (the only launch type) pulls logs' and secrets' access through the execution role.
    let needs_role = task.containers.iter().any(|c| c.logs.is_some() || !c.secrets.is_empty());
    if task.execution_role.is_none() && needs_role {
        c.error_at("taskDefinition.executionRole", "required when containers use awslogs or secrets on Fargate");
    }
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceOutputs {
    #[field(doc = "the service's ARN")]
    pub arn: String,
    #[field(doc = "the task definition revision it runs")]
    pub task_definition_arn: String,
}

/// The revision steward last registered or pointed the service at: reused while it matches.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    #[serde(skip_serializing_if = "Option::is_none")]
    task_definition_arn: Option<String>,
}

/// The cluster the service was found in: later calls address it there.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct InCluster {
    cluster: String,
}

pub struct EcsService;
pub static ADAPTER: Typed<EcsService> = Typed::new(EcsService);

#[async_trait::async_trait]
impl TypedKind for EcsService {
    type Spec = EcsServiceSpec;
    type View = ServiceView;
    type Outputs = ServiceOutputs;
    type Memo = Revision;
    type Facts = InCluster;
    const NAME_RULE: StrRule = NAME;
    const TAGGED: TagsAt = Some(|arn| Tagged::Ecs(arn));
    const SETS: &'static [&'static str] = &["subnets", "securityGroups"];
    const ACTIONS: &'static [&'static str] = crate::actions!("ecs": DescribeServices, DescribeTaskDefinition,
        ListTaskDefinitions, RegisterTaskDefinition, CreateService, UpdateService, DeleteService,
        DeregisterTaskDefinition, TagResource, UntagResource);

    fn check(spec: &EcsServiceSpec, c: &mut Checker) {
        check_task(&spec.task_definition, c);
    }

    /// A container's log region is the stack's unless the spec says.
    fn compared(mut spec: EcsServiceSpec, desired: &Desired) -> EcsServiceSpec {
        for logs in spec.task_definition.containers.iter_mut().filter_map(|c| c.logs.as_mut()) {
            logs.region.get_or_insert_with(|| desired.region.clone());
        }
        spec
    }

    /// DescribeServices per cluster, ten services a call, with their tags; each task definition
    /// from the cache kept by ARN.
    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let clusters: BTreeSet<&str> = wanted.iter().map(|w| w.spec.cluster.as_str()).collect();
        let mut out = Vec::new();
        for cluster in clusters {
            let in_cluster: Vec<&Want<Self>> = wanted.iter().filter(|w| w.spec.cluster == cluster).collect();
            for chunk in in_cluster.chunks(10) {
                let names = chunk.iter().map(|w| w.key().name.clone()).collect();
                let request = cx.clients.ecs.describe_services().cluster(cluster).set_services(Some(names));
                let described = request.include(ServiceField::Tags).send().await.map_err(aws("DescribeServices"))?;
                for service in described.services() {
                    let Some(want) = chunk.iter().find(|w| service.service_name() == Some(w.key().name.as_str()))
                    else {
                        continue;
                    };
                    if let Some(seen) = seen(cx, cluster, service).await? {
                        out.push((want.key().clone(), seen));
                    }
                }
            }
        }
        Ok(out)
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        let arn = matching_task_definition(cx, want).await?;
        let spec = &want.spec;
        let propagate = spec.propagate_tags.as_deref().map(PropagateTags::from);
        let request = cx.clients.ecs.create_service().cluster(&spec.cluster).service_name(&want.key().name);
        let request = request.task_definition(&arn).desired_count(spec.desired_count).launch_type(LaunchType::Fargate);
        let request = request.platform_version(spec.platform_version.as_deref().unwrap_or("LATEST"));
        let request = request.network_configuration(network_config(spec)?).set_propagate_tags(propagate);
        let request = request.enable_execute_command(spec.enable_execute_command);
        let request = request.client_token(client_token(want.desired)).set_tags(Some(ecs_tag_list(&want.desired.tags)));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("CreateService"))?;
        Ok(Revision { task_definition_arn: Some(arn) })
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, drift: &[Drift]) -> Memo<Self> {
        // The revision is sent only when it must change: a desiredCount fix must not redeploy
        // (and AWS refuses a deregistered revision, so re-sending the current one can fail).
        let arn = match drift.iter().any(|x| x.field.starts_with("taskDefinition")) {
            true => Some(matching_task_definition(cx, want).await?),
            false => None,
        };
        let spec = &want.spec;
        let request = cx.clients.ecs.update_service().cluster(&seen.facts.cluster).service(&want.key().name);
        let request = request.set_task_definition(arn.clone()).desired_count(spec.desired_count);
        let mut request = request.network_configuration(network_config(spec)?);
        // Each of these is sent only when it drifted: a platform version starts a new deployment.
        let touched = |f: &str| drift.iter().any(|x| x.field == f);
        if touched("platformVersion") {
            request = request.set_platform_version(spec.platform_version.clone());
        }
        if touched("enableExecuteCommand") {
            request = request.enable_execute_command(spec.enable_execute_command);
        }
        if touched("propagateTags") {
            request = request.set_propagate_tags(spec.propagate_tags.as_deref().map(PropagateTags::from));
        }
        cx.may_mutate().await?;
        request.send().await.map_err(aws("UpdateService"))?;
        if let Some(arn) = &arn {
            task::retire_old_revisions(cx, want.key(), &spec.task_definition.family, arn).await?;
        }
        Ok(Revision { task_definition_arn: arn })
    }

    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        let request = cx.clients.ecs.delete_service().cluster(&seen.facts.cluster).service(&seen.id).force(true);
        cx.may_mutate().await?;
        request.send().await.map_err(aws("DeleteService"))?;
        Ok(())
    }
}

/// A revision matching the spec: the one last used while it matches, or a new one.
async fn matching_task_definition(cx: &Cx<'_>, want: &Want<'_, EcsService>) -> Result<String, ReconcileError> {
    let task = EcsService::compared(want.spec.clone(), want.desired).task_definition;
    task::matching(cx, &task, want.memo.task_definition_arn.as_deref(), &want.desired.tags).await
}

/// A service as found (None once it is INACTIVE: deleted), with the task definition it runs.
async fn seen(cx: &Cx<'_>, cluster: &str, s: &Service) -> Result<Option<Seen<EcsService>>, ReconcileError> {
    let state = match status_text(s.status().unwrap_or_default()).as_str() {
        "active" => ObjectState::Ready,
        "inactive" => return Ok(None),
        other => ObjectState::Busy(other.to_ascii_uppercase()),
    };
    let task_definition_arn = s.task_definition().unwrap_or_default().to_string();
    let task_definition = task::described(cx, &task_definition_arn).await?;
    let vpc = s.network_configuration().and_then(|n| n.awsvpc_configuration());
    let config = ServiceView {
        desired_count: s.desired_count(),
        network: NetworkSpec {
            subnets: vpc.map(|v| v.subnets().to_vec()).unwrap_or_default(),
            security_groups: vpc.map(|v| v.security_groups().to_vec()).unwrap_or_default(),
            assign_public_ip: vpc.and_then(|v| v.assign_public_ip()) == Some(&AssignPublicIp::Enabled),
        },
        task_definition,
        platform_version: s.platform_version().map(str::to_string),
        enable_execute_command: s.enable_execute_command(),
        propagate_tags: s.propagate_tags().map(|p| p.as_str().to_string()),
    };
    let arn = s.service_arn().unwrap_or_default().to_string();
    let tags = tag_map(s.tags().iter().map(|t| (t.key(), t.value())));
    let outputs = ServiceOutputs { arn: arn.clone(), task_definition_arn };
    let facts = InCluster { cluster: cluster.to_string() };
    Ok(Some(Seen { id: arn, state, config, tags, facts, outputs }))
}

fn network_config(spec: &EcsServiceSpec) -> Result<NetworkConfiguration, ReconcileError> {
    let n = &spec.network;
    let public = if n.assign_public_ip { AssignPublicIp::Enabled } else { AssignPublicIp::Disabled };
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(n.subnets.clone()))
        .set_security_groups(Some(n.security_groups.clone()))
        .assign_public_ip(public)
        .build()
        .map_err(build_error)?;
    Ok(NetworkConfiguration::builder().awsvpc_configuration(vpc).build())
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
