//! EcsExpressService: a web service on ECS Express Mode (the web tier AWS sells to new accounts
//! since App Runner closed to them): image, port, env, size, scaling, network and roles. ECS
//! makes the load balancer, listener, target group, security group and scaling around it.
//!
//! Express services have no List call: a service's ARN follows from its cluster's ARN and its
//! name, and one DescribeExpressGatewayService (with its tags) tells everything a steady pass
//! needs. The service revision (which objects ECS made for it) and the deployment (did the canary
//! finish, or was it rolled back) are read when they change, and kept by ARN.

use super::tagging::{ecs_tag_list, tag_map};
use super::typed::prelude::*;
use crate::schema::Checker;
use aws_sdk_ecs::types::{
    EcsExpressGatewayService, ExpressGatewayContainer, ExpressGatewayScalingTarget,
    ExpressGatewayServiceAwsLogsConfiguration, ExpressGatewayServiceConfiguration, ExpressGatewayServiceInclude,
    ExpressGatewayServiceNetworkConfiguration, ExpressGatewayServiceScalingMetric, KeyValuePair, Secret, Tag,
};

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EcsExpressServiceSpec {
    /// The cluster's name or ARN (a reference, resolved); ECS's `default` when left out. A
    /// service stays in the cluster it was made in.
    #[serde(default = "default_cluster")]
    #[field(create_only)]
    pub cluster: String,
    /// The container image.
    pub image: String,
    /// The port the container listens on (80 unless the spec says).
    #[serde(default = "port_80")]
    #[field(shape = int(1, 65535))]
    pub port: i32,
    /// The container's command.
    #[field(shape = list(any_string(), 1, 64))]
    pub command: Option<Vec<String>>,
    /// Environment variables.
    #[serde(default)]
    #[field(shape = env())]
    pub env: BTreeMap<String, String>,
    /// Environment variables from secrets: name → ARN (never the value).
    #[serde(default)]
    #[field(shape = dict(ENV_NAME, any_string(), 100))]
    pub secrets: BTreeMap<String, String>,
    /// Fargate CPU units (1024 unless the spec says: steward always sends both sizes, so the
    /// service never depends on which default AWS applies).
    #[serde(default = "default_cpu")]
    #[field(shape = int(256, 4096))]
    pub cpu: i64,
    /// Memory in MiB, a size Fargate allows for the CPU (2048 unless the spec says).
    #[serde(default = "default_memory")]
    #[field(shape = int(512, 30720))]
    pub memory: i64,
    /// The load balancer's health check path.
    pub health_check_path: Option<String>,
    /// Task counts, and the metric and target auto scaling follows.
    pub scaling: Option<Scaling>,
    /// Its subnets and security groups (sets; the group ECS adds is not compared).
    pub network: Network,
    /// The role ECS pulls the image and writes logs with.
    #[field(shape = arn())]
    pub execution_role: String,
    /// The role ECS makes the load balancer and scaling with (given when the service is made).
    #[field(shape = arn())]
    pub infrastructure_role: String,
    /// The role the application runs as.
    #[field(shape = arn())]
    pub task_role: Option<String>,
    /// Where its logs go.
    pub logs: Option<Logs>,
}

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scaling {
    #[field(shape = int(0, 1000))]
    pub min: i32,
    #[field(shape = int(1, 1000))]
    pub max: i32,
    /// Left out, AWS's is kept (never drift).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[field(shape = Shape::Enum(&["AVERAGE_CPU", "AVERAGE_MEMORY", "REQUEST_COUNT_PER_TARGET"]))]
    pub metric: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[field(shape = int(1, 100_000))]
    pub target: Option<i32>,
}

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Network {
    #[field(shape = selectors("subnet-"))]
    pub subnets: Vec<String>,
    #[serde(default)]
    #[field(shape = selectors("sg-"))]
    pub security_groups: Vec<String>,
}

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Logs {
    pub group: String,
    pub stream_prefix: String,
}

/// A service as the diff compares it: the spec's settings as ECS keeps them (sizes as text, the
/// cluster by name), and its status and Express tag.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpressView {
    image: Option<String>,
    port: i32,
    env: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
    cpu: Option<String>,
    memory: Option<String>,
    network: Network,
    execution_role: Option<String>,
    command: Option<Vec<String>>,
    health_check_path: Option<String>,
    scaling: Option<Scaling>,
    task_role: Option<String>,
    logs: Option<Logs>,
    /// `ACTIVE`; `DRAINING` while it is deleted.
    status: String,
    cluster: String,
    /// The tag `AmazonECSManaged: true`, without which ECS no longer manages it as Express.
    express_managed: bool,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpressOutputs {
    #[field(doc = "the service's ARN")]
    pub arn: String,
    #[field(doc = "its HTTPS address")]
    pub endpoint: String,
    #[field(doc = "its cluster's ARN")]
    pub cluster: String,
    #[field(doc = "the load balancer ECS made")]
    pub load_balancer: String,
    #[field(doc = "its HTTPS listener, for a ListenerRule")]
    pub listener: String,
    #[field(doc = "its target group")]
    pub target_group: String,
    #[field(doc = "the security group ECS made for it")]
    pub security_group: String,
}

/// The ARN of the service steward made, so that it is still found if the spec moves it to
/// another cluster.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MadeAt {
    #[serde(skip_serializing_if = "Option::is_none")]
    service_arn: Option<String>,
}

/// What a pass learns beside the configuration.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// A deployment whose canary failed and was rolled back.
    rolled_back: Option<FailedOperation>,
}

pub struct EcsExpressService;
pub static ADAPTER: Typed<EcsExpressService> = Typed::new(EcsExpressService);

/// The tag by which ECS knows a service as an Express service; without it ECS stops managing
/// the service as Express (developer guide, "Updating Resources Outside of Express Mode").
pub const EXPRESS_TAG: &str = "AmazonECSManaged";

/// Sent when the spec leaves cpu and memory out. The API model documents 256 / 512 and the
/// developer guide 1024 / 2048: steward always sends both, so the service never depends on
/// which default AWS applies.
const DEFAULT_CPU: i64 = 1024;
const DEFAULT_MEMORY: i64 = 2048;

/// Deployment states in which the canary is still going (or being undone).
const DEPLOYING: [&str; 5] = ["PENDING", "IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED"];

fn default_cluster() -> String {
    "default".into()
}

fn port_80() -> i32 {
    80
}

fn default_cpu() -> i64 {
    DEFAULT_CPU
}

fn default_memory() -> i64 {
    DEFAULT_MEMORY
}

impl From<EcsExpressServiceSpec> for ExpressView {
    fn from(spec: EcsExpressServiceSpec) -> Self {
        ExpressView {
            image: Some(spec.image),
            port: spec.port,
            env: spec.env,
            secrets: spec.secrets,
            cpu: Some(spec.cpu.to_string()),
            memory: Some(spec.memory.to_string()),
            network: spec.network,
            execution_role: Some(spec.execution_role),
            command: spec.command,
            health_check_path: spec.health_check_path,
            scaling: spec.scaling,
            task_role: spec.task_role,
            logs: spec.logs,
            status: "ACTIVE".into(),
            cluster: last_segment(&spec.cluster).to_string(),
            express_managed: true,
        }
    }
}

#[async_trait::async_trait]
impl TypedKind for EcsExpressService {
    type Spec = EcsExpressServiceSpec;
    type View = ExpressView;
    type Outputs = ExpressOutputs;
    type Memo = MadeAt;
    type Facts = Deployment;
    const NAME_RULE: StrRule = super::ecs_service::NAME;
    const TAGGED: TagsAt = Some(|arn| Tagged::Ecs(arn));
    /// A cluster change makes the service anew in its new cluster.
    const REPLACED_BY_DELETING: bool = true;
    const SETS: &'static [&'static str] = &["subnets", "securityGroups"];
    const ACTIONS: &'static [&'static str] = crate::actions!("ecs": DescribeClusters, DescribeExpressGatewayService,
        DescribeServiceRevisions, DescribeServiceDeployments, CreateExpressGatewayService,
        UpdateExpressGatewayService, DeleteExpressGatewayService, TagResource, UntagResource);

    fn check(spec: &EcsExpressServiceSpec, c: &mut Checker) {
        let (cpu, memory) = (spec.cpu, spec.memory);
        match super::ecs_service::fargate_memory(cpu) {
            None => c.error_at("cpu", format!("expected a Fargate cpu value (256, 512, 1024, 2048, 4096), got {cpu}")),
            Some(allowed) if !allowed.contains(&memory) => c.error_at(
                "memory",
                format!(
                    "expected {} to {} for Fargate cpu {cpu}, got {memory}",
                    allowed[0],
                    allowed[allowed.len() - 1]
                ),
            ),
            _ => {}
        }
        if let Some(Scaling { min, max, .. }) = spec.scaling
            && min > max
        {
            c.error_at("scaling.min", format!("expected at most scaling.max ({max}), got {min}"));
        }
        for name in spec.env.keys().filter(|k| spec.secrets.contains_key(*k)) {
            c.error_at(&format!("secrets.{name}"), "expected a name not also set in env");
        }
    }

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let mut out = Vec::new();
        for want in wanted {
            let wanted_arn = service_arn(&cluster_arn(cx, &want.spec.cluster).await?, &want.key().name);
            // The service steward made may be in another cluster than the spec now names (its
            // ARN is in the memo): found there, it differs in `cluster`, a replacement.
            let made = want.memo.service_arn.as_deref().filter(|a| *a != wanted_arn);
            let mut found = None;
            for arn in std::iter::once(wanted_arn.as_str()).chain(made) {
                if let Some(service) = describe(cx, arn).await? {
                    found = Some((arn.to_string(), service));
                    break;
                }
            }
            let Some((arn, service)) = found else { continue };
            out.push((want.key().clone(), seen(cx, want, arn, &service).await?));
        }
        Ok(out)
    }

    fn failed_operation(seen: &Seen<Self>) -> Option<FailedOperation> {
        seen.facts.rolled_back.clone()
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        let spec = &want.spec;
        let request = cx.clients.ecs.create_express_gateway_service().service_name(&want.key().name);
        let request = request.cluster(&spec.cluster).infrastructure_role_arn(&spec.infrastructure_role);
        let request = request.execution_role_arn(&spec.execution_role).set_task_role_arn(spec.task_role.clone());
        let request = request.primary_container(container_of(spec)?).network_configuration(network_of(spec));
        let request = request.cpu(spec.cpu.to_string()).memory(spec.memory.to_string());
        let request =
            request.set_health_check_path(spec.health_check_path.clone()).set_scaling_target(scaling_of(spec));
        let request = request.set_tags(Some(ecs_tag_list(&want.desired.tags)));
        cx.may_mutate().await?;
        let made = request.send().await.map_err(aws("CreateExpressGatewayService"))?;
        let arn = made.service().and_then(|s| s.service_arn()).unwrap_or_default();
        Ok(MadeAt { service_arn: Some(arn.to_string()) })
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, drift: &[Drift]) -> Memo<Self> {
        if drift.iter().any(|f| f.field == "expressManaged") {
            // Without its tag ECS no longer treats the service as Express: it is put back.
            let tag = Tag::builder().key(EXPRESS_TAG).value("true").build();
            cx.may_mutate().await?;
            cx.clients.ecs.tag_resource().resource_arn(&seen.id).tags(tag).send().await.map_err(aws("TagResource"))?;
        }
        if drift.iter().all(|f| f.field == "expressManaged") {
            return Ok(MadeAt::default());
        }
        let spec = &want.spec;
        let request = cx.clients.ecs.update_express_gateway_service().service_arn(&seen.id);
        let request = request.execution_role_arn(&spec.execution_role).set_task_role_arn(spec.task_role.clone());
        let request = request.primary_container(container_of(spec)?).network_configuration(network_of(spec));
        let request = request.cpu(spec.cpu.to_string()).memory(spec.memory.to_string());
        let request =
            request.set_health_check_path(spec.health_check_path.clone()).set_scaling_target(scaling_of(spec));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("UpdateExpressGatewayService"))?;
        Ok(MadeAt::default())
    }

    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        if seen.config.status == "DRAINING" {
            return Ok(());
        }
        let request = cx.clients.ecs.delete_express_gateway_service().service_arn(&seen.id);
        cx.may_mutate().await?;
        request.send().await.map_err(aws("DeleteExpressGatewayService"))?;
        Ok(())
    }
}

/// The service as found: its newest configuration (during a canary, what it is becoming), the
/// objects ECS made for that revision, and how its deployment went.
async fn seen(
    cx: &Cx<'_>,
    want: &Want<'_, EcsExpressService>,
    arn: String,
    service: &EcsExpressGatewayService,
) -> Result<Seen<EcsExpressService>, ReconcileError> {
    let status = service.status().and_then(|s| s.status_code()).map_or("ACTIVE", |s| s.as_str()).to_string();
    let cluster = service.cluster().unwrap_or_default().to_string();
    let mut tags = tag_map(service.tags().iter().map(|t| (t.key(), t.value())));
    let express_managed = tags.remove(EXPRESS_TAG).is_some_and(|v| v == "true");
    let newest = service.active_configurations().last();
    let revision = newest.and_then(|c| c.service_revision_arn()).unwrap_or_default();
    let managed = if revision.is_empty() { Managed::default() } else { managed(cx, revision).await? };
    let deployment = service.current_deployment().unwrap_or_default().to_string();
    let deployed = deployment_status(cx, &deployment).await?;
    let config = view_of(newest, &managed, &want.spec, status.clone(), last_segment(&cluster), express_managed);
    let state = if status == "DRAINING" {
        ObjectState::Busy("DRAINING".into())
    } else if DEPLOYING.contains(&deployed.as_str()) {
        ObjectState::Busy("DEPLOYING".into())
    } else if deployed == "ROLLBACK_FAILED" {
        ObjectState::Failed("DEPLOYMENT_ROLLBACK_FAILED".into())
    } else {
        ObjectState::Ready
    };
    let rolled_back = (deployed == "ROLLBACK_SUCCESSFUL").then(|| FailedOperation {
        id: deployment,
        r#type: "DEPLOYMENT".into(),
        status: deployed,
    });
    let endpoint = if managed.endpoint.is_empty() { String::new() } else { format!("https://{}", managed.endpoint) };
    let outputs = ExpressOutputs {
        arn: arn.clone(),
        endpoint,
        cluster,
        security_group: managed.security_groups.first().cloned().unwrap_or_default(),
        load_balancer: managed.load_balancer,
        listener: managed.listener,
        target_group: managed.target_group,
    };
    Ok(Seen { id: arn, state, config, tags, facts: Deployment { rolled_back }, outputs })
}

/// A configuration as the diff compares it, without the group ECS added itself; settings the
/// spec leaves to AWS (a scaling metric, a log group) are left out.
fn view_of(
    c: Option<&ExpressGatewayServiceConfiguration>,
    managed: &Managed,
    spec: &EcsExpressServiceSpec,
    status: String,
    cluster: &str,
    express_managed: bool,
) -> ExpressView {
    let container = c.and_then(|c| c.primary_container());
    let env = container
        .map(|p| p.environment().iter().map(|e| (e.name().unwrap_or_default(), e.value().unwrap_or_default())));
    let secrets = container.map(|p| p.secrets().iter().map(|s| (s.name(), s.value_from())));
    let text = |(k, v): (&str, &str)| (k.to_string(), v.to_string());
    let network = c.and_then(|c| c.network_configuration());
    let groups = network.map(|n| n.security_groups().iter().filter(|g| !managed.security_groups.contains(g)));
    let scaling = c.and_then(|c| c.scaling_target()).map(|s| Scaling {
        min: s.min_task_count().unwrap_or_default(),
        max: s.max_task_count().unwrap_or_default(),
        metric: s
            .auto_scaling_metric()
            .map(|m| m.as_str().to_string())
            .filter(|_| spec.scaling.as_ref().is_some_and(|s| s.metric.is_some())),
        target: s.auto_scaling_target_value().filter(|_| spec.scaling.as_ref().is_some_and(|s| s.target.is_some())),
    });
    let logs = container.and_then(|p| p.aws_logs_configuration());
    ExpressView {
        image: container.map(|p| p.image().to_string()),
        port: container.and_then(|p| p.container_port()).unwrap_or(80),
        env: env.map(|e| e.map(text).collect()).unwrap_or_default(),
        secrets: secrets.map(|s| s.map(text).collect()).unwrap_or_default(),
        cpu: c.and_then(|c| c.cpu()).map(str::to_string),
        memory: c.and_then(|c| c.memory()).map(str::to_string),
        network: Network {
            subnets: network.map(|n| n.subnets().to_vec()).unwrap_or_default(),
            security_groups: groups.map(|g| g.cloned().collect()).unwrap_or_default(),
        },
        execution_role: c.and_then(|c| c.execution_role_arn()).map(str::to_string),
        command: container.map(|p| p.command().to_vec()).filter(|c| !c.is_empty()),
        health_check_path: c.and_then(|c| c.health_check_path()).map(str::to_string),
        scaling,
        task_role: c.and_then(|c| c.task_role_arn()).map(str::to_string),
        logs: logs.map(|l| Logs { group: l.log_group().to_string(), stream_prefix: l.log_stream_prefix().to_string() }),
        status,
        cluster: cluster.to_string(),
        express_managed,
    }
}

/// The objects ECS made for one service revision (kept by revision ARN: they do not change).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Managed {
    endpoint: String,
    security_groups: Vec<String>,
    load_balancer: String,
    listener: String,
    target_group: String,
}

/// What ends an ARN (`…:security-group/sg-1` → `sg-1`, `…:cluster/default` → `default`); a
/// name is itself.
fn last_segment(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The service's ARN: `arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME`, from its cluster's.
fn service_arn(cluster_arn: &str, name: &str) -> String {
    let cluster = last_segment(cluster_arn);
    let prefix = cluster_arn.split(":cluster/").next().unwrap_or(cluster_arn);
    format!("{prefix}:service/{cluster}/{name}")
}

/// A cluster's ARN: given, or asked of ECS once (an ARN never changes). DescribeClusters names
/// a missing cluster's ARN among its failures, which is all an ARN needs.
async fn cluster_arn(cx: &Cx<'_>, cluster: &str) -> Result<String, ReconcileError> {
    if cluster.starts_with("arn:") {
        return Ok(cluster.to_string());
    }
    let key = format!("ecs-cluster-arn#{}#{cluster}", cx.clients.region);
    if let Some((arn, _)) = cx.cache.details.lock().unwrap().get(&key) {
        return Ok(arn.clone());
    }
    let out = cx.clients.ecs.describe_clusters().clusters(cluster).send().await.map_err(aws("DescribeClusters"))?;
    let found = out.clusters().iter().find_map(|c| c.cluster_arn());
    let arn = found.or_else(|| out.failures().iter().find_map(|f| f.arn())).unwrap_or_default().to_string();
    if arn.is_empty() {
        return Err(ReconcileError::invalid_spec("DescribeClusters", format!("no ARN for the cluster {cluster:?}")));
    }
    cx.cache.details.lock().unwrap().insert(key, (arn.clone(), Default::default()));
    Ok(arn)
}

/// The service at `arn`, unless there is none or it is INACTIVE (gone).
async fn describe(cx: &Cx<'_>, arn: &str) -> Result<Option<EcsExpressGatewayService>, ReconcileError> {
    let request = cx.clients.ecs.describe_express_gateway_service().service_arn(arn);
    let described = request.include(ExpressGatewayServiceInclude::Tags).send().await;
    let service = match described {
        Ok(o) => o.service,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception() || e.is_cluster_not_found_exception()) =>
        {
            None
        }
        Err(e) => return Err(aws("DescribeExpressGatewayService")(e).into()),
    };
    Ok(service.filter(|s| s.status().and_then(|s| s.status_code()).map(|c| c.as_str()) != Some("INACTIVE")))
}

/// What ECS made for a revision, read once per revision.
async fn managed(cx: &Cx<'_>, revision: &str) -> Result<Managed, ReconcileError> {
    if let Some((_, kept)) = cx.cache.details.lock().unwrap().get(revision)
        && let Ok(m) = serde_json::from_value(kept.clone())
    {
        return Ok(m);
    }
    let out = cx
        .clients
        .ecs
        .describe_service_revisions()
        .service_revision_arns(revision)
        .send()
        .await
        .map_err(aws("DescribeServiceRevisions"))?;
    let Some(resources) = out.service_revisions().first().and_then(|r| r.ecs_managed_resources()) else {
        return Ok(Managed::default());
    };
    let path = resources.ingress_paths().first();
    let managed = Managed {
        endpoint: path.map(|p| p.endpoint().to_string()).unwrap_or_default(),
        security_groups: resources
            .service_security_groups()
            .iter()
            .filter_map(|g| g.arn())
            .map(|a| last_segment(a).to_string())
            .collect(),
        load_balancer: path.and_then(|p| p.load_balancer()).and_then(|l| l.arn()).unwrap_or_default().into(),
        listener: path.and_then(|p| p.listener()).and_then(|l| l.arn()).unwrap_or_default().into(),
        target_group: path.and_then(|p| p.target_groups().first()).and_then(|t| t.arn()).unwrap_or_default().into(),
    };
    let kept = serde_json::to_value(&managed).unwrap_or_default();
    cx.cache.details.lock().unwrap().insert(revision.to_string(), (String::new(), kept));
    Ok(managed)
}

/// A deployment's status; kept once it is final (a final deployment does not change).
async fn deployment_status(cx: &Cx<'_>, deployment: &str) -> Result<String, ReconcileError> {
    if deployment.is_empty() {
        return Ok("SUCCESSFUL".into());
    }
    if let Some((status, _)) = cx.cache.details.lock().unwrap().get(deployment) {
        return Ok(status.clone());
    }
    let out = cx
        .clients
        .ecs
        .describe_service_deployments()
        .service_deployment_arns(deployment)
        .send()
        .await
        .map_err(aws("DescribeServiceDeployments"))?;
    let status = out
        .service_deployments()
        .first()
        .and_then(|d| d.status())
        .map_or("SUCCESSFUL".to_string(), |s| s.as_str().to_string());
    if !DEPLOYING.contains(&status.as_str()) {
        cx.cache.details.lock().unwrap().insert(deployment.to_string(), (status.clone(), Default::default()));
    }
    Ok(status)
}

fn container_of(spec: &EcsExpressServiceSpec) -> Result<ExpressGatewayContainer, ReconcileError> {
    let env = spec.env.iter().map(|(k, v)| KeyValuePair::builder().name(k).value(v).build());
    let secrets: Result<Vec<Secret>, _> =
        spec.secrets.iter().map(|(k, v)| Secret::builder().name(k).value_from(v).build()).collect();
    let logs = match &spec.logs {
        Some(l) => Some(
            ExpressGatewayServiceAwsLogsConfiguration::builder()
                .log_group(&l.group)
                .log_stream_prefix(&l.stream_prefix)
                .build()
                .map_err(build_error)?,
        ),
        None => None,
    };
    ExpressGatewayContainer::builder()
        .image(&spec.image)
        .container_port(spec.port)
        .set_command(spec.command.clone())
        .set_environment(Some(env.collect()))
        .set_secrets(Some(secrets.map_err(build_error)?))
        .set_aws_logs_configuration(logs)
        .build()
        .map_err(build_error)
}

fn network_of(spec: &EcsExpressServiceSpec) -> ExpressGatewayServiceNetworkConfiguration {
    ExpressGatewayServiceNetworkConfiguration::builder()
        .set_subnets(Some(spec.network.subnets.clone()))
        .set_security_groups(Some(spec.network.security_groups.clone()))
        .build()
}

fn scaling_of(spec: &EcsExpressServiceSpec) -> Option<ExpressGatewayScalingTarget> {
    let s = spec.scaling.as_ref()?;
    Some(
        ExpressGatewayScalingTarget::builder()
            .min_task_count(s.min)
            .max_task_count(s.max)
            .set_auto_scaling_metric(s.metric.as_deref().map(ExpressGatewayServiceScalingMetric::from))
            .set_auto_scaling_target_value(s.target)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_arn_follows_from_its_clusters() {
        assert_eq!(
            service_arn("arn:aws:ecs:eu-west-1:123456789012:cluster/default", "mmweb"),
            "arn:aws:ecs:eu-west-1:123456789012:service/default/mmweb"
        );
    }
}
