//! EcsExpressService: a web service on ECS Express Mode (the web tier AWS sells to new accounts
//! since App Runner closed to them): image, port, env, size, scaling, network and roles. ECS
//! makes the load balancer, listener, target group, security group and scaling around it.

use super::definition::KindDef;
use crate::schema::*;
use serde_json::Value as Json;

/// The AWS actions its calls need (checked against the controller's policy).
pub const ACTIONS: &[&str] = &[
    "ecs:DescribeClusters",
    "ecs:DescribeExpressGatewayService",
    "ecs:DescribeServiceRevisions",
    "ecs:DescribeServiceDeployments",
    "ecs:CreateExpressGatewayService",
    "ecs:UpdateExpressGatewayService",
    "ecs:DeleteExpressGatewayService",
    "ecs:TagResource",
    "ecs:UntagResource",
];

pub fn definition() -> KindDef {
    let scaling = Shape::Struct(vec![
        req("min", int(0, 1000)),
        req("max", int(1, 1000)),
        opt("metric", Shape::Enum(&["AVERAGE_CPU", "AVERAGE_MEMORY", "REQUEST_COUNT_PER_TARGET"])),
        opt("target", int(1, 100_000)),
    ]);
    let network = Shape::Struct(vec![req("subnets", selectors("subnet-")), opt("securityGroups", selectors("sg-"))]);
    let logs = Shape::Struct(vec![req("group", any_string()), req("streamPrefix", any_string())]);
    KindDef {
        fields: vec![
            opt("cluster", any_string()),
            req("image", any_string()),
            opt("port", int(1, 65535)),
            opt("command", list(any_string(), 1, 64)),
            opt("env", env()),
            opt("secrets", dict(ENV_NAME, any_string(), 100)),
            opt("cpu", int(256, 4096)),
            opt("memory", int(512, 30720)),
            opt("healthCheckPath", any_string()),
            opt("scaling", scaling),
            req("network", network),
            req("executionRole", arn()),
            req("infrastructureRole", arn()),
            opt("taskRole", arn()),
            opt("logs", logs),
            opt("tags", tags()),
        ],
        outputs: vec!["arn", "endpoint", "cluster", "loadBalancer", "listener", "targetGroup", "securityGroup"],
        retain_by_default: false,
        name_rule: super::ecs_service::NAME,
        check,
        actions: ACTIONS,
        terraform: None,
        field_table: None,
    }
}

fn check(spec: &Json, c: &mut Checker) {
    let cpu = spec.get("cpu").and_then(Json::as_i64).unwrap_or(DEFAULT_CPU);
    let memory = spec.get("memory").and_then(Json::as_i64).unwrap_or(DEFAULT_MEMORY);
    match super::ecs_service::fargate_memory(cpu) {
        None => c.error_at("cpu", format!("expected a Fargate cpu value (256, 512, 1024, 2048, 4096), got {cpu}")),
        Some(allowed) if !allowed.contains(&memory) => c.error_at(
            "memory",
            format!("expected {} to {} for Fargate cpu {cpu}, got {memory}", allowed[0], allowed[allowed.len() - 1]),
        ),
        _ => {}
    }
    let (min, max) = (spec.pointer("/scaling/min"), spec.pointer("/scaling/max"));
    if let (Some(min), Some(max)) = (min.and_then(Json::as_i64), max.and_then(Json::as_i64))
        && min > max
    {
        c.error_at("scaling.min", format!("expected at most scaling.max ({max}), got {min}"));
    }
    if let (Some(env), Some(secrets)) =
        (spec.get("env").and_then(Json::as_object), spec.get("secrets").and_then(Json::as_object))
    {
        for name in env.keys().filter(|k| secrets.contains_key(*k)) {
            c.error_at(&format!("secrets.{name}"), "expected a name not also set in env");
        }
    }
}

// ---- adapter ----
//
// Express services have no List call: a service's ARN follows from its cluster's ARN and its
// name, and one DescribeExpressGatewayService (with its tags) tells everything a steady pass
// needs. The service revision (which objects ECS made for it) and the deployment (did the canary
// finish, or was it rolled back) are read when they change, and kept by ARN.

use super::tagging::{ecs_tag_list, tag_map};
use crate::aws::aws;
use crate::model::ResourceKey;
use crate::model::tags::{Tagged, owns, tag_view};
use crate::model::{Adapter, Cx, Desired, Drift, Fix, ObjectState, Observed, ReconcileError};
use aws_sdk_ecs::types::{
    EcsExpressGatewayService, ExpressGatewayContainer, ExpressGatewayScalingTarget,
    ExpressGatewayServiceAwsLogsConfiguration, ExpressGatewayServiceConfiguration, ExpressGatewayServiceInclude,
    ExpressGatewayServiceNetworkConfiguration, ExpressGatewayServiceScalingMetric, KeyValuePair, Secret, Tag,
};
use serde_json::json;
use std::collections::BTreeMap;

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

/// The spec an EcsExpressService's adapter reads.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EcsExpressServiceSpec {
    /// The cluster's name or ARN (a reference, resolved); ECS's `default` when left out.
    #[serde(default = "default_cluster")]
    pub cluster: String,
    pub image: String,
    #[serde(default = "port_80")]
    pub port: i32,
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Environment variables from secrets: name → ARN (never the value).
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    #[serde(default = "default_cpu")]
    pub cpu: i64,
    #[serde(default = "default_memory")]
    pub memory: i64,
    pub health_check_path: Option<String>,
    pub scaling: Option<ScalingSpec>,
    pub network: NetworkSpec,
    pub execution_role: String,
    pub infrastructure_role: String,
    pub task_role: Option<String>,
    pub logs: Option<LogsSpec>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalingSpec {
    pub min: i32,
    pub max: i32,
    pub metric: Option<String>,
    pub target: Option<i32>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkSpec {
    pub subnets: Vec<String>,
    #[serde(default)]
    pub security_groups: Vec<String>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogsSpec {
    pub group: String,
    pub stream_prefix: String,
}

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

pub struct EcsExpressServiceAdapter;

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
    cx.cache.details.lock().unwrap().insert(key, (arn.clone(), Json::Null));
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
        cx.cache.details.lock().unwrap().insert(deployment.to_string(), (status.clone(), Json::Null));
    }
    Ok(status)
}

/// A configuration in the shape of `desired_view`, without the groups ECS added itself.
fn view_of(c: &ExpressGatewayServiceConfiguration, managed: &Managed) -> Json {
    let container = c.primary_container();
    let env: BTreeMap<&str, &str> = container
        .map(|p| {
            p.environment().iter().map(|e| (e.name().unwrap_or_default(), e.value().unwrap_or_default())).collect()
        })
        .unwrap_or_default();
    let secrets: BTreeMap<&str, &str> =
        container.map(|p| p.secrets().iter().map(|s| (s.name(), s.value_from())).collect()).unwrap_or_default();
    let network = c.network_configuration();
    let mut groups: Vec<&str> =
        network.map(|n| n.security_groups().iter().map(String::as_str).collect()).unwrap_or_default();
    groups.retain(|g| !managed.security_groups.iter().any(|m| m == g));
    let mut view = json!({
        "image": container.map(|p| p.image()),
        "port": container.and_then(|p| p.container_port()).unwrap_or(80),
        "env": env,
        "secrets": secrets,
        "cpu": c.cpu(),
        "memory": c.memory(),
        "network": { "subnets": network.map(|n| n.subnets()), "securityGroups": groups },
        "executionRole": c.execution_role_arn(),
    });
    if let Some(command) = container.map(|p| p.command()).filter(|c| !c.is_empty()) {
        view["command"] = json!(command);
    }
    if let Some(path) = c.health_check_path() {
        view["healthCheckPath"] = json!(path);
    }
    if let Some(s) = c.scaling_target() {
        view["scaling"] = json!({
            "min": s.min_task_count(), "max": s.max_task_count(),
            "metric": s.auto_scaling_metric().map(|m| m.as_str()), "target": s.auto_scaling_target_value(),
        });
    }
    if let Some(role) = c.task_role_arn() {
        view["taskRole"] = json!(role);
    }
    if let Some(logs) = container.and_then(|p| p.aws_logs_configuration()) {
        view["logs"] = json!({ "group": logs.log_group(), "streamPrefix": logs.log_stream_prefix() });
    }
    view
}

/// Optional settings the spec leaves to AWS are AWS's: dropped from the observed view (a
/// default scaling target or log group is not drift).
fn without_unset(mut view: Json, desired: &Json) -> Json {
    for key in ["command", "healthCheckPath", "scaling", "taskRole", "logs"] {
        if desired.get(key).is_none()
            && let Some(map) = view.as_object_mut()
        {
            map.remove(key);
        }
    }
    if let Some(scaling) = view.get_mut("scaling").and_then(Json::as_object_mut) {
        for key in ["metric", "target"] {
            if desired.pointer(&format!("/scaling/{key}")).is_none() {
                scaling.remove(key);
            }
        }
    }
    view
}

/// The desired view of a spec, with the resource's tags.
fn view_of_spec(spec: &EcsExpressServiceSpec, tags: &BTreeMap<String, String>) -> Json {
    let mut view = json!({
        "status": "ACTIVE",
        "cluster": last_segment(&spec.cluster),
        "image": spec.image,
        "port": spec.port,
        "env": spec.env,
        "secrets": spec.secrets,
        "cpu": spec.cpu.to_string(),
        "memory": spec.memory.to_string(),
        "network": { "subnets": spec.network.subnets, "securityGroups": spec.network.security_groups },
        "executionRole": spec.execution_role,
        "expressManaged": true,
        "tags": tag_view(tags),
    });
    if let Some(command) = &spec.command {
        view["command"] = json!(command);
    }
    if let Some(path) = &spec.health_check_path {
        view["healthCheckPath"] = json!(path);
    }
    if let Some(s) = &spec.scaling {
        let mut scaling = json!({ "min": s.min, "max": s.max });
        if let Some(metric) = &s.metric {
            scaling["metric"] = json!(metric);
        }
        if let Some(target) = s.target {
            scaling["target"] = json!(target);
        }
        view["scaling"] = scaling;
    }
    if let Some(role) = &spec.task_role {
        view["taskRole"] = json!(role);
    }
    if let Some(l) = &spec.logs {
        view["logs"] = json!({ "group": l.group, "streamPrefix": l.stream_prefix });
    }
    view
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

fn build_error(e: impl std::fmt::Display) -> ReconcileError {
    ReconcileError::invalid_spec("build request", e)
}

#[async_trait::async_trait]
impl Adapter for EcsExpressServiceAdapter {
    async fn observe(
        &self,
        cx: &Cx<'_>,
        wanted: &[Desired],
    ) -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError> {
        let mut out = BTreeMap::new();
        for d in wanted {
            let spec: EcsExpressServiceSpec = d.spec_as()?;
            let wanted_arn = service_arn(&cluster_arn(cx, &spec.cluster).await?, &d.key.name);
            // The service steward made may be in another cluster than the spec now names (its
            // ARN is in the memo): found there, it differs in `cluster`, a replacement.
            let made = d.memo.get("serviceArn").and_then(Json::as_str).filter(|a| *a != wanted_arn);
            let mut found = None;
            for arn in std::iter::once(wanted_arn.as_str()).chain(made) {
                if let Some(service) = describe(cx, arn).await? {
                    found = Some((arn.to_string(), service));
                    break;
                }
            }
            let Some((arn, service)) = found else { continue };
            let status = service.status().and_then(|s| s.status_code()).map_or("ACTIVE", |s| s.as_str()).to_string();
            let cluster = service.cluster().unwrap_or_default().to_string();
            let mut tags = tag_map(service.tags().iter().map(|t| (t.key(), t.value())));
            let express = tags.remove(EXPRESS_TAG).is_some_and(|v| v == "true");
            // During a canary the newest configuration is last: it is what the service is
            // becoming, so it is what is compared.
            let newest = service.active_configurations().last();
            let revision = newest.and_then(|c| c.service_revision_arn()).unwrap_or_default();
            let managed = if revision.is_empty() { Managed::default() } else { managed(cx, revision).await? };
            let deployment = service.current_deployment().unwrap_or_default().to_string();
            let deployed = deployment_status(cx, &deployment).await?;
            let mut config = newest.map(|c| view_of(c, &managed)).unwrap_or_else(|| json!({}));
            config = without_unset(config, &view_of_spec(&spec, &d.tags));
            config["status"] = json!(status);
            config["cluster"] = json!(last_segment(&cluster));
            config["expressManaged"] = json!(express);
            config["tags"] = tag_view(&tags);
            let state = if status == "DRAINING" {
                ObjectState::Busy("DRAINING".into())
            } else if DEPLOYING.contains(&deployed.as_str()) {
                ObjectState::Busy("DEPLOYING".into())
            } else if deployed == "ROLLBACK_FAILED" {
                ObjectState::Failed("DEPLOYMENT_ROLLBACK_FAILED".into())
            } else {
                ObjectState::Ready
            };
            let extra = match deployed.as_str() {
                "ROLLBACK_SUCCESSFUL" => {
                    json!({ "failedOperation": { "id": deployment, "type": "DEPLOYMENT", "status": deployed } })
                }
                _ => Json::Null,
            };
            let endpoint =
                if managed.endpoint.is_empty() { String::new() } else { format!("https://{}", managed.endpoint) };
            let outputs = BTreeMap::from([
                ("arn".to_string(), arn.clone()),
                ("endpoint".to_string(), endpoint),
                ("cluster".to_string(), cluster.clone()),
                ("loadBalancer".to_string(), managed.load_balancer.clone()),
                ("listener".to_string(), managed.listener.clone()),
                ("targetGroup".to_string(), managed.target_group.clone()),
                ("securityGroup".to_string(), managed.security_groups.first().cloned().unwrap_or_default()),
            ]);
            let owned = owns(&tags, &d.key);
            out.insert(d.key.clone(), Observed { id: arn, owned, state, config, outputs, extra });
        }
        Ok(out)
    }

    fn desired_view(&self, d: &Desired) -> Result<Json, ReconcileError> {
        Ok(view_of_spec(&d.spec_as()?, &d.tags))
    }

    fn fix_for(&self, field: &str) -> Fix {
        // A service stays in the cluster it was made in.
        if field == "cluster" { Fix::Replace } else { Fix::InPlace }
    }

    fn set_fields(&self) -> &'static [&'static str] {
        &["subnets", "securityGroups"]
    }

    async fn create(&self, cx: &Cx<'_>, d: &Desired) -> Result<Json, ReconcileError> {
        let spec: EcsExpressServiceSpec = d.spec_as()?;
        let request = cx
            .clients
            .ecs
            .create_express_gateway_service()
            .service_name(&d.key.name)
            .cluster(&spec.cluster)
            .execution_role_arn(&spec.execution_role)
            .infrastructure_role_arn(&spec.infrastructure_role)
            .set_task_role_arn(spec.task_role.clone())
            .primary_container(container_of(&spec)?)
            .network_configuration(network_of(&spec))
            .cpu(spec.cpu.to_string())
            .memory(spec.memory.to_string())
            .set_health_check_path(spec.health_check_path.clone())
            .set_scaling_target(scaling_of(&spec))
            .set_tags(Some(ecs_tag_list(&d.tags)));
        cx.may_mutate().await?;
        let made = request.send().await.map_err(aws("CreateExpressGatewayService"))?;
        // Kept, so that the service is still found if the spec moves it to another cluster.
        let arn = made.service().and_then(|s| s.service_arn()).unwrap_or_default();
        Ok(json!({ "serviceArn": arn }))
    }

    async fn update(&self, cx: &Cx<'_>, d: &Desired, o: &Observed, drift: &[Drift]) -> Result<Json, ReconcileError> {
        if drift.iter().any(|f| f.field == "cluster") {
            // The engine decided to replace it: deleted now, made in its new cluster once gone.
            return self.delete(cx, o).await.map(|()| Json::Null);
        }
        if drift.iter().any(|f| f.field == "expressManaged") {
            // Without its tag ECS no longer treats the service as Express: it is put back.
            cx.may_mutate().await?;
            let tag = Tag::builder().key(EXPRESS_TAG).value("true").build();
            cx.clients.ecs.tag_resource().resource_arn(&o.id).tags(tag).send().await.map_err(aws("TagResource"))?;
        }
        if drift.iter().all(|f| f.field == "expressManaged") {
            return Ok(Json::Null);
        }
        let spec: EcsExpressServiceSpec = d.spec_as()?;
        let request = cx
            .clients
            .ecs
            .update_express_gateway_service()
            .service_arn(&o.id)
            .execution_role_arn(&spec.execution_role)
            .set_task_role_arn(spec.task_role.clone())
            .primary_container(container_of(&spec)?)
            .network_configuration(network_of(&spec))
            .cpu(spec.cpu.to_string())
            .memory(spec.memory.to_string())
            .set_health_check_path(spec.health_check_path.clone())
            .set_scaling_target(scaling_of(&spec));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("UpdateExpressGatewayService"))?;
        Ok(Json::Null)
    }

    async fn delete(&self, cx: &Cx<'_>, o: &Observed) -> Result<(), ReconcileError> {
        if o.config["status"] == "DRAINING" {
            return Ok(());
        }
        cx.may_mutate().await?;
        let request = cx.clients.ecs.delete_express_gateway_service().service_arn(&o.id);
        request.send().await.map_err(aws("DeleteExpressGatewayService"))?;
        Ok(())
    }

    fn tagged<'a>(&self, o: &'a Observed) -> Option<Tagged<'a>> {
        Some(Tagged::Ecs(&o.id))
    }
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

    #[test]
    fn settings_left_to_aws_are_not_compared() {
        let observed = json!({ "image": "x", "scaling": { "min": 1, "max": 20, "metric": "AVERAGE_CPU", "target": 60 },
            "logs": { "group": "/aws/ecs/x", "streamPrefix": "ecs" }, "healthCheckPath": "/ping" });
        let desired = json!({ "image": "x", "scaling": { "min": 1, "max": 4 } });
        assert_eq!(without_unset(observed, &desired), json!({ "image": "x", "scaling": { "min": 1, "max": 20 } }));
    }
}
