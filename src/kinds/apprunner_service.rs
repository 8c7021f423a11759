//! AppRunnerService: the web tier (ECR image, port, env, cpu/memory, roles, health check, egress).
//!
//! ListServices carries no configuration, so a service is described in detail only when its
//! UpdatedAt moved since the last pass (cached by ARN); its status comes from the listing.

use super::tagging::{apprunner_tag_list, apprunner_tags, tags_or_last_known};
use super::typed::prelude::*;
use super::values::status_text;
use crate::schema::Checker;
use aws_sdk_apprunner::types::{
    AuthenticationConfiguration, EgressConfiguration, EgressType, HealthCheckConfiguration, HealthCheckProtocol,
    ImageConfiguration, ImageRepository, ImageRepositoryType, InstanceConfiguration, NetworkConfiguration, Service,
    ServiceSummary, SourceConfiguration,
};
use std::collections::HashMap;

pub const NAME: StrRule = StrRule {
    expected: "a service name of 4 to 40 letters, digits, '-' or '_', starting with a letter or digit",
    check: |s| {
        (4..=40).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars().all(name_char("-_"))
    },
};

/// App Runner's instance sizes: vCPU units and the memory (MB) each allows.
pub const CPU_MEMORY: &[(i64, &[i64])] = &[
    (256, &[512, 1024]),
    (512, &[1024]),
    (1024, &[2048, 3072, 4096]),
    (2048, &[4096, 6144]),
    (4096, &[8192, 10240, 12288]),
];

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppRunnerServiceSpec {
    /// The image: `identifier`, `repositoryType` (ECR unless the spec says), `port` (8080),
    /// `startCommand`, `env`.
    pub image: ImageSpec,
    /// Whether a new image in the repository is deployed at once (off unless the spec says).
    #[serde(default)]
    pub auto_deploy: bool,
    /// The role App Runner pulls a private ECR image with.
    #[field(shape = arn())]
    pub access_role: Option<String>,
    /// Its size (`cpu`, `memory`: a pair App Runner offers) and the role it runs as.
    pub instance: InstanceSpec,
    /// Its health check: `protocol` (TCP unless the spec says), `path`, and the four numbers
    /// (App Runner's defaults where left out).
    pub health_check: Option<HealthCheckSpec>,
    /// Its egress: DEFAULT (the internet) or VPC through a `vpcConnector`.
    pub network: Option<NetworkSpec>,
}

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageSpec {
    pub identifier: String,
    #[serde(default = "ecr")]
    #[field(shape = Shape::Enum(&["ECR", "ECR_PUBLIC"]))]
    pub repository_type: String,
    #[serde(default = "port_8080")]
    #[field(shape = int(1, 65535))]
    pub port: i64,
    pub start_command: Option<String>,
    #[serde(default)]
    #[field(shape = env())]
    pub env: BTreeMap<String, String>,
}

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceSpec {
    #[field(shape = int(256, 4096))]
    pub cpu: i64,
    #[field(shape = int(512, 12288))]
    pub memory: i64,
    #[field(shape = arn())]
    pub instance_role: Option<String>,
}

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheckSpec {
    #[serde(default = "tcp")]
    #[field(shape = Shape::Enum(&["TCP", "HTTP"]))]
    pub protocol: String,
    /// `/` unless the spec says (only with HTTP).
    #[field(filled)]
    pub path: Option<String>,
    #[field(shape = int(1, 20))]
    pub interval: Option<i64>,
    #[field(shape = int(1, 20))]
    pub timeout: Option<i64>,
    #[field(shape = int(1, 20))]
    pub healthy_threshold: Option<i64>,
    #[field(shape = int(1, 20))]
    pub unhealthy_threshold: Option<i64>,
}

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkSpec {
    #[field(shape = Shape::Enum(&["DEFAULT", "VPC"]))]
    pub egress: String,
    pub vpc_connector: Option<String>,
}

/// A service as the diff compares it: its settings as App Runner keeps them (numbers as text,
/// the health check's defaults filled), and its status. A start command, instance role or VPC
/// connector AWS has and the spec does not name is drift.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceView {
    image: ImageView,
    auto_deploy: bool,
    instance: InstanceView,
    network: NetworkView,
    access_role: Option<String>,
    health_check: Option<HealthView>,
    /// `RUNNING`; a paused service is resumed.
    status: String,
}

#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageView {
    identifier: Option<String>,
    repository_type: Option<String>,
    port: String,
    env: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_command: Option<String>,
}

#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct InstanceView {
    cpu: Option<String>,
    memory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    instance_role: Option<String>,
}

#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct NetworkView {
    egress: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpc_connector: Option<String>,
}

#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct HealthView {
    protocol: String,
    path: String,
    interval: i64,
    timeout: i64,
    healthy_threshold: i64,
    unhealthy_threshold: i64,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRunnerServiceOutputs {
    #[field(doc = "the service's ARN")]
    pub arn: String,
    #[field(doc = "its default domain, for a CNAME")]
    pub service_url: String,
}

/// What a pass learns beside the configuration.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceFacts {
    /// An update App Runner rolled back.
    rolled_back: Option<FailedOperation>,
    /// A service in an operation refused its tags: its last known ones stand in this pass.
    tags_unknown: bool,
}

pub struct AppRunnerService;
pub static ADAPTER: Typed<AppRunnerService> = Typed::new(AppRunnerService);

/// App Runner's health check numbers where the spec leaves them out.
const HEALTH_DEFAULTS: [i64; 4] = [5, 2, 1, 5];

fn ecr() -> String {
    "ECR".into()
}

fn port_8080() -> i64 {
    8080
}

fn tcp() -> String {
    "TCP".into()
}

impl HealthCheckSpec {
    /// Interval, timeout and the two thresholds, each its own or App Runner's default.
    fn numbers(&self) -> [i64; 4] {
        let given = [self.interval, self.timeout, self.healthy_threshold, self.unhealthy_threshold];
        let mut out = HEALTH_DEFAULTS;
        for (value, own) in out.iter_mut().zip(given) {
            *value = own.unwrap_or(*value);
        }
        out
    }
}

impl From<AppRunnerServiceSpec> for ServiceView {
    fn from(spec: AppRunnerServiceSpec) -> Self {
        let image = spec.image;
        let network = spec.network;
        ServiceView {
            image: ImageView {
                identifier: Some(image.identifier),
                repository_type: Some(image.repository_type),
                port: image.port.to_string(),
                env: image.env,
                start_command: image.start_command,
            },
            auto_deploy: spec.auto_deploy,
            instance: InstanceView {
                cpu: Some(spec.instance.cpu.to_string()),
                memory: Some(spec.instance.memory.to_string()),
                instance_role: spec.instance.instance_role,
            },
            network: NetworkView {
                egress: network.as_ref().map_or("DEFAULT".into(), |n| n.egress.clone()),
                vpc_connector: network.and_then(|n| n.vpc_connector),
            },
            access_role: spec.access_role,
            health_check: spec.health_check.map(|h| {
                let [interval, timeout, healthy_threshold, unhealthy_threshold] = h.numbers();
                HealthView {
                    protocol: h.protocol,
                    path: h.path.unwrap_or_else(|| "/".into()),
                    interval,
                    timeout,
                    healthy_threshold,
                    unhealthy_threshold,
                }
            }),
            status: "RUNNING".into(),
        }
    }
}

#[async_trait::async_trait]
impl TypedKind for AppRunnerService {
    type Spec = AppRunnerServiceSpec;
    type View = ServiceView;
    type Outputs = AppRunnerServiceOutputs;
    type Memo = ();
    type Facts = ServiceFacts;
    const NAME_RULE: StrRule = NAME;
    const TAGGED: TagsAt = Some(|arn| Tagged::AppRunner(arn));
    const ACTIONS: &'static [&'static str] = crate::actions!("apprunner": ListServices, DescribeService,
        ListOperations, ListTagsForResource, CreateService, UpdateService, ResumeService, DeleteService,
        TagResource, UntagResource);

    fn check(spec: &AppRunnerServiceSpec, c: &mut Checker) {
        let (cpu, memory) = (spec.instance.cpu, spec.instance.memory);
        match CPU_MEMORY.iter().find(|(c, _)| *c == cpu) {
            None => c.error_at("instance.cpu", format!("expected one of 256, 512, 1024, 2048, 4096, got {cpu}")),
            Some((_, allowed)) if !allowed.contains(&memory) => {
                c.error_at("instance.memory", format!("expected one of {} for cpu {cpu}, got {memory}", join(allowed)))
            }
            _ => {}
        }
        for name in spec.image.env.keys().filter(|k| k.starts_with("AWSAPPRUNNER")) {
            let message = "expected a name not starting with AWSAPPRUNNER (reserved by App Runner)";
            c.error_at(&format!("image.env.{name}"), message);
        }
        let egress = spec.network.as_ref().map(|n| n.egress.as_str());
        let connector = spec.network.as_ref().is_some_and(|n| n.vpc_connector.is_some());
        if egress == Some("VPC") && !connector {
            c.error_at("network.vpcConnector", "required when network.egress is VPC");
        }
        if egress == Some("DEFAULT") && connector {
            c.error_at("network.vpcConnector", "only allowed when network.egress is VPC");
        }
        if spec.image.repository_type == "ECR" && spec.access_role.is_none() {
            c.error_at("accessRole", "required for a private ECR image (the role App Runner pulls it with)");
        }
        if let Some(HealthCheckSpec { path: Some(_), protocol, .. }) = &spec.health_check
            && protocol != "HTTP"
        {
            c.error_at("healthCheck.path", "only used with protocol HTTP");
        }
    }

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let summaries: Result<Vec<_>, _> = cx.clients.apprunner.list_services().into_paginator().send().collect().await;
        let summaries = summaries.map_err(aws("ListServices"))?;
        let mut out = Vec::new();
        for want in wanted {
            let name = want.key().name.as_str();
            let summary = summaries.iter().flat_map(|page| page.service_summary_list()).find(|s| {
                s.service_name() == Some(name) && s.status().is_none_or(|s| status_text(s.as_str()) != "deleted")
            });
            let Some(summary) = summary else { continue };
            if let Some(seen) = seen(cx, summary).await? {
                out.push((want.key().clone(), seen));
            }
        }
        Ok(out)
    }

    fn owned_anyway(seen: &Seen<Self>) -> bool {
        seen.facts.tags_unknown
    }

    fn failed_operation(seen: &Seen<Self>) -> Option<FailedOperation> {
        seen.facts.rolled_back.clone()
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        let spec = &want.spec;
        let request = cx.clients.apprunner.create_service().service_name(&want.key().name);
        let request = request.source_configuration(source_of(spec)?).instance_configuration(instance_of(spec));
        let request = request.network_configuration(network_of(spec)).set_health_check_configuration(health_of(spec));
        let request = request.set_tags(Some(apprunner_tag_list(&want.desired.tags)));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("CreateService"))?;
        Ok(())
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, _: &[Drift]) -> Memo<Self> {
        if seen.config.status == "PAUSED" {
            // A paused service takes no update: resume first, the rest follows next pass.
            cx.may_mutate().await?;
            cx.clients.apprunner.resume_service().service_arn(&seen.id).send().await.map_err(aws("ResumeService"))?;
            return Ok(());
        }
        let spec = &want.spec;
        let request = cx.clients.apprunner.update_service().service_arn(&seen.id);
        let request = request.source_configuration(source_of(spec)?).instance_configuration(instance_of(spec));
        let request = request.network_configuration(network_of(spec)).set_health_check_configuration(health_of(spec));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("UpdateService"))?;
        Ok(())
    }

    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        cx.clients.apprunner.delete_service().service_arn(&seen.id).send().await.map_err(aws("DeleteService"))?;
        Ok(())
    }
}

/// A listed service as found: described only when it changed since the last pass (the
/// description and the failed operation are kept by ARN and UpdatedAt). None when it went
/// between the listing and the description.
async fn seen(cx: &Cx<'_>, summary: &ServiceSummary) -> Result<Option<Seen<AppRunnerService>>, ReconcileError> {
    let arn = summary.service_arn().unwrap_or_default().to_string();
    let status = status_text(summary.status().map(|s| s.as_str()).unwrap_or_default());
    let updated = summary.updated_at().map(|t| t.to_string()).unwrap_or_default();
    let cached = cx.cache.details.lock().unwrap().get(&arn).filter(|(at, _)| *at == updated).map(|(_, v)| v.clone());
    let described = match cached.and_then(|kept| serde_json::from_value::<Described>(kept).ok()) {
        Some(described) => described,
        None => {
            let out = cx.clients.apprunner.describe_service().service_arn(&arn).send().await;
            let Some(service) = out.map_err(aws("DescribeService"))?.service else { return Ok(None) };
            let rolled_back = if status == "running" { failed_operation(cx, &arn).await? } else { None };
            let described = Described { view: view_of(&service), rolled_back };
            let kept = serde_json::to_value(&described).unwrap_or_default();
            cx.cache.details.lock().unwrap().insert(arn.clone(), (updated, kept));
            described
        }
    };
    let mut config = described.view;
    config.status = status.to_ascii_uppercase();
    let state = match status.as_str() {
        "running" | "paused" => ObjectState::Ready,
        "create_failed" | "delete_failed" => ObjectState::Failed(status.to_ascii_uppercase()),
        other => ObjectState::Busy(other.to_ascii_uppercase()),
    };
    // Tag calls can fail with InvalidStateException while the service is in an operation
    // (QUIRKS.md): it is busy, so this pass waits on it with its last known tags.
    let read = apprunner_tags(cx, &arn).await;
    let (tags, tags_unknown) = tags_or_last_known(cx, read, &arn, status != "running")?;
    let outputs = AppRunnerServiceOutputs {
        arn: arn.clone(),
        service_url: summary.service_url().unwrap_or_default().to_string(),
    };
    let facts = ServiceFacts { rolled_back: described.rolled_back, tags_unknown };
    Ok(Some(Seen { id: arn, state, config, tags, facts, outputs }))
}

/// A described service, kept until it changes.
#[derive(serde::Deserialize, serde::Serialize)]
struct Described {
    view: ServiceView,
    rolled_back: Option<FailedOperation>,
}

/// The parts of a described service steward manages, as the diff compares them.
fn view_of(s: &Service) -> ServiceView {
    let source = s.source_configuration();
    let repo = source.and_then(|c| c.image_repository());
    let image = repo.and_then(|r| r.image_configuration());
    let env = image.and_then(|c| c.runtime_environment_variables());
    let instance = s.instance_configuration();
    let egress = s.network_configuration().and_then(|n| n.egress_configuration());
    let access_role = source.and_then(|c| c.authentication_configuration()).and_then(|a| a.access_role_arn());
    ServiceView {
        image: ImageView {
            identifier: repo.map(|r| r.image_identifier().to_string()),
            repository_type: repo.map(|r| r.image_repository_type().as_str().to_string()),
            port: image.and_then(|c| c.port()).unwrap_or("8080").to_string(),
            env: env.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default(),
            start_command: image.and_then(|c| c.start_command()).map(str::to_string),
        },
        auto_deploy: source.and_then(|c| c.auto_deployments_enabled()).unwrap_or(false),
        instance: InstanceView {
            cpu: instance.and_then(|i| i.cpu()).map(str::to_string),
            memory: instance.and_then(|i| i.memory()).map(str::to_string),
            instance_role: instance.and_then(|i| i.instance_role_arn()).map(str::to_string),
        },
        network: NetworkView {
            egress: egress.and_then(|e| e.egress_type()).map_or("DEFAULT", |t| t.as_str()).to_string(),
            vpc_connector: egress.and_then(|e| e.vpc_connector_arn()).map(str::to_string),
        },
        access_role: access_role.map(str::to_string),
        health_check: s.health_check_configuration().map(|h| HealthView {
            protocol: h.protocol().map_or("TCP", |p| p.as_str()).to_string(),
            path: h.path().unwrap_or("/").to_string(),
            interval: h.interval().unwrap_or(5).into(),
            timeout: h.timeout().unwrap_or(2).into(),
            healthy_threshold: h.healthy_threshold().unwrap_or(1).into(),
            unhealthy_threshold: h.unhealthy_threshold().unwrap_or(5).into(),
        }),
        status: String::new(),
    }
}

fn source_of(spec: &AppRunnerServiceSpec) -> Result<SourceConfiguration, ReconcileError> {
    let image = &spec.image;
    let env: HashMap<String, String> = image.env.clone().into_iter().collect();
    let config = ImageConfiguration::builder()
        .port(image.port.to_string())
        .set_runtime_environment_variables(Some(env))
        .set_start_command(image.start_command.clone())
        .build();
    let repo = ImageRepository::builder()
        .image_identifier(&image.identifier)
        .image_repository_type(ImageRepositoryType::from(image.repository_type.as_str()))
        .image_configuration(config)
        .build()
        .map_err(build_error)?;
    let auth = spec.access_role.as_ref().map(|r| AuthenticationConfiguration::builder().access_role_arn(r).build());
    Ok(SourceConfiguration::builder()
        .image_repository(repo)
        .auto_deployments_enabled(spec.auto_deploy)
        .set_authentication_configuration(auth)
        .build())
}

fn instance_of(spec: &AppRunnerServiceSpec) -> InstanceConfiguration {
    let i = &spec.instance;
    InstanceConfiguration::builder()
        .cpu(i.cpu.to_string())
        .memory(i.memory.to_string())
        .set_instance_role_arn(i.instance_role.clone())
        .build()
}

fn network_of(spec: &AppRunnerServiceSpec) -> NetworkConfiguration {
    let n = spec.network.as_ref();
    let egress = n.map_or("DEFAULT", |n| n.egress.as_str());
    let connector = n.and_then(|n| n.vpc_connector.clone());
    NetworkConfiguration::builder()
        .egress_configuration(
            EgressConfiguration::builder()
                .egress_type(EgressType::from(egress))
                .set_vpc_connector_arn(connector)
                .build(),
        )
        .build()
}

fn health_of(spec: &AppRunnerServiceSpec) -> Option<HealthCheckConfiguration> {
    let h = spec.health_check.as_ref()?;
    let [interval, timeout, healthy, unhealthy] = h.numbers().map(|n| n as i32);
    Some(
        HealthCheckConfiguration::builder()
            .protocol(HealthCheckProtocol::from(h.protocol.as_str()))
            .path(h.path.as_deref().unwrap_or("/"))
            .interval(interval)
            .timeout(timeout)
            .healthy_threshold(healthy)
            .unhealthy_threshold(unhealthy)
            .build(),
    )
}

/// The service's latest operation when it failed: an update App Runner rolled back leaves the
/// service RUNNING with its previous configuration and the operation ROLLBACK_SUCCEEDED
/// (QUIRKS.md). Read only when the service changed (its view is cached by `UpdatedAt`).
async fn failed_operation(cx: &Cx<'_>, arn: &str) -> Result<Option<FailedOperation>, ReconcileError> {
    let listed = cx
        .clients
        .apprunner
        .list_operations()
        .service_arn(arn)
        .max_results(1)
        .send()
        .await
        .map_err(aws("ListOperations"))?;
    let Some(op) = listed.operation_summary_list().first() else { return Ok(None) };
    let status = op.status().map(|s| s.as_str().to_ascii_uppercase()).unwrap_or_default();
    if !["FAILED", "ROLLBACK_SUCCEEDED", "ROLLBACK_FAILED", "ROLLBACK_IN_PROGRESS"].contains(&status.as_str()) {
        return Ok(None);
    }
    Ok(Some(FailedOperation {
        id: op.id().unwrap_or_default().to_string(),
        r#type: op.r#type().map(|t| t.as_str().to_ascii_uppercase()).unwrap_or_default(),
        status,
    }))
}

pub fn join(values: &[i64]) -> String {
    values.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}
