//! AppRunnerService: the web tier (ECR image, port, env, cpu/memory, roles, health check, egress).

use super::definition::KindDef;
use crate::schema::*;
use serde_json::Value as Json;

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

/// The AWS actions its calls need (checked against the controller's policy).
pub const ACTIONS: &[&str] = &[
    "apprunner:ListServices",
    "apprunner:DescribeService",
    "apprunner:ListOperations",
    "apprunner:ListTagsForResource",
    "apprunner:CreateService",
    "apprunner:UpdateService",
    "apprunner:ResumeService",
    "apprunner:DeleteService",
    "apprunner:TagResource",
    "apprunner:UntagResource",
];

pub fn definition() -> KindDef {
    let image = Shape::Struct(vec![
        req("identifier", any_string()),
        opt("repositoryType", Shape::Enum(&["ECR", "ECR_PUBLIC"])),
        opt("port", int(1, 65535)),
        opt("startCommand", any_string()),
        opt("env", env()),
    ]);
    let instance =
        Shape::Struct(vec![req("cpu", int(256, 4096)), req("memory", int(512, 12288)), opt("instanceRole", arn())]);
    let health_check = Shape::Struct(vec![
        opt("protocol", Shape::Enum(&["TCP", "HTTP"])),
        opt("path", any_string()),
        opt("interval", int(1, 20)),
        opt("timeout", int(1, 20)),
        opt("healthyThreshold", int(1, 20)),
        opt("unhealthyThreshold", int(1, 20)),
    ]);
    let network =
        Shape::Struct(vec![req("egress", Shape::Enum(&["DEFAULT", "VPC"])), opt("vpcConnector", any_string())]);
    KindDef {
        fields: vec![
            req("image", image),
            opt("autoDeploy", Shape::Bool),
            opt("accessRole", arn()),
            req("instance", instance),
            opt("healthCheck", health_check),
            opt("network", network),
            opt("tags", tags()),
        ],
        outputs: vec!["arn", "serviceUrl"],
        retain_by_default: false,
        name_rule: NAME,
        check,
        actions: ACTIONS,
        terraform: None,
        field_table: None,
    }
}

fn check(spec: &Json, c: &mut Checker) {
    let cpu = spec.pointer("/instance/cpu").and_then(Json::as_i64);
    let memory = spec.pointer("/instance/memory").and_then(Json::as_i64);
    if let (Some(cpu), Some(memory)) = (cpu, memory) {
        match CPU_MEMORY.iter().find(|(c, _)| *c == cpu) {
            None => c.error_at("instance.cpu", format!("expected one of 256, 512, 1024, 2048, 4096, got {cpu}")),
            Some((_, allowed)) if !allowed.contains(&memory) => {
                c.error_at("instance.memory", format!("expected one of {} for cpu {cpu}, got {memory}", join(allowed)))
            }
            _ => {}
        }
    }
    if let Some(env) = spec.pointer("/image/env").and_then(Json::as_object) {
        for name in env.keys().filter(|k| k.starts_with("AWSAPPRUNNER")) {
            c.error_at(
                &format!("image.env.{name}"),
                "expected a name not starting with AWSAPPRUNNER (reserved by App Runner)",
            );
        }
    }
    let egress = spec.pointer("/network/egress").and_then(Json::as_str);
    let connector = spec.pointer("/network/vpcConnector").is_some();
    if egress == Some("VPC") && !connector {
        c.error_at("network.vpcConnector", "required when network.egress is VPC");
    }
    if egress == Some("DEFAULT") && connector {
        c.error_at("network.vpcConnector", "only allowed when network.egress is VPC");
    }
    let is_ecr = spec.pointer("/image/repositoryType").and_then(Json::as_str).unwrap_or("ECR") == "ECR";
    if is_ecr && spec.get("accessRole").is_none() {
        c.error_at("accessRole", "required for a private ECR image (the role App Runner pulls it with)");
    }
    let http = spec.pointer("/healthCheck/protocol").and_then(Json::as_str) == Some("HTTP");
    if spec.pointer("/healthCheck/path").is_some() && !http {
        c.error_at("healthCheck.path", "only used with protocol HTTP");
    }
}

pub fn join(values: &[i64]) -> String {
    values.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

// ---- adapter ----
//
// ListServices carries no configuration, so a service is described in detail only when its
// UpdatedAt moved since the last pass (cached by ARN); its status comes from the listing.

use super::tagging::{apprunner_tag_list, apprunner_tags};
use super::values::status_text;
use crate::aws::aws;
use crate::model::ResourceKey;
use crate::model::tags::{Tagged, owns, tag_view};
use crate::model::{Adapter, Cx, Desired, Drift, FailedOperation, Fix, ObjectState, Observed, ReconcileError};
use aws_sdk_apprunner::types::{
    AuthenticationConfiguration, EgressConfiguration, EgressType, HealthCheckConfiguration, HealthCheckProtocol,
    ImageConfiguration, ImageRepository, ImageRepositoryType, InstanceConfiguration, NetworkConfiguration, Service,
    SourceConfiguration,
};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

pub struct AppRunnerServiceAdapter;

const HEALTH_DEFAULTS: [(&str, i64); 4] =
    [("interval", 5), ("timeout", 2), ("healthyThreshold", 1), ("unhealthyThreshold", 5)];

/// The parts of a described service steward manages, in the shape of `desired_view`.
fn view_of(s: &Service) -> Json {
    let source = s.source_configuration();
    let repo = source.and_then(|c| c.image_repository());
    let image_cfg = repo.and_then(|r| r.image_configuration());
    let env: BTreeMap<String, String> = image_cfg
        .and_then(|c| c.runtime_environment_variables())
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let mut image = json!({
        "identifier": repo.map(|r| r.image_identifier()),
        "repositoryType": repo.map(|r| r.image_repository_type().as_str()),
        "port": image_cfg.and_then(|c| c.port()).unwrap_or("8080"),
        "env": env,
    });
    if let Some(cmd) = image_cfg.and_then(|c| c.start_command()) {
        image["startCommand"] = json!(cmd);
    }
    let instance = s.instance_configuration();
    let mut inst = json!({ "cpu": instance.and_then(|i| i.cpu()), "memory": instance.and_then(|i| i.memory()) });
    if let Some(role) = instance.and_then(|i| i.instance_role_arn()) {
        inst["instanceRole"] = json!(role);
    }
    let egress = s.network_configuration().and_then(|n| n.egress_configuration());
    let mut network = json!({ "egress": egress.and_then(|e| e.egress_type()).map_or("DEFAULT", |t| t.as_str()) });
    if let Some(arn) = egress.and_then(|e| e.vpc_connector_arn()) {
        network["vpcConnector"] = json!(arn);
    }
    let mut view = json!({
        "image": image,
        "autoDeploy": source.and_then(|c| c.auto_deployments_enabled()).unwrap_or(false),
        "instance": inst,
        "network": network,
    });
    if let Some(role) = source.and_then(|c| c.authentication_configuration()).and_then(|a| a.access_role_arn()) {
        view["accessRole"] = json!(role);
    }
    if let Some(h) = s.health_check_configuration() {
        view["healthCheck"] = json!({
            "protocol": h.protocol().map_or("TCP", |p| p.as_str()),
            "path": h.path().unwrap_or("/"),
            "interval": h.interval().unwrap_or(5),
            "timeout": h.timeout().unwrap_or(2),
            "healthyThreshold": h.healthy_threshold().unwrap_or(1),
            "unhealthyThreshold": h.unhealthy_threshold().unwrap_or(5),
        });
    }
    view
}

fn build_error(e: impl std::fmt::Display) -> ReconcileError {
    ReconcileError::invalid_spec("build request", e)
}

/// The spec an AppRunnerService's adapter reads.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppRunnerServiceSpec {
    pub image: ImageSpec,
    #[serde(default)]
    pub auto_deploy: bool,
    pub access_role: Option<String>,
    pub instance: InstanceSpec,
    pub health_check: Option<HealthCheckSpec>,
    pub network: Option<NetworkSpec>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageSpec {
    pub identifier: String,
    #[serde(default = "ecr")]
    pub repository_type: String,
    #[serde(default = "port_8080")]
    pub port: i64,
    pub start_command: Option<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceSpec {
    pub cpu: i64,
    pub memory: i64,
    pub instance_role: Option<String>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheckSpec {
    #[serde(default = "tcp")]
    pub protocol: String,
    #[serde(default = "root_path")]
    pub path: String,
    pub interval: Option<i64>,
    pub timeout: Option<i64>,
    pub healthy_threshold: Option<i64>,
    pub unhealthy_threshold: Option<i64>,
}

impl HealthCheckSpec {
    /// The four numbers, each its own or App Runner's default (`HEALTH_DEFAULTS`).
    fn numbers(&self) -> [(&'static str, i64); 4] {
        let given = [self.interval, self.timeout, self.healthy_threshold, self.unhealthy_threshold];
        let mut out = HEALTH_DEFAULTS;
        for ((_, value), own) in out.iter_mut().zip(given) {
            *value = own.unwrap_or(*value);
        }
        out
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkSpec {
    pub egress: String,
    pub vpc_connector: Option<String>,
}

fn ecr() -> String {
    "ECR".into()
}

fn port_8080() -> i64 {
    8080
}

fn tcp() -> String {
    "TCP".into()
}

fn root_path() -> String {
    "/".into()
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
    let [interval, timeout, healthy, unhealthy] = h.numbers().map(|(_, n)| n as i32);
    Some(
        HealthCheckConfiguration::builder()
            .protocol(HealthCheckProtocol::from(h.protocol.as_str()))
            .path(&h.path)
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

#[async_trait::async_trait]
impl Adapter for AppRunnerServiceAdapter {
    async fn observe(
        &self,
        cx: &Cx<'_>,
        wanted: &[Desired],
    ) -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError> {
        let mut summaries = Vec::new();
        let mut pages = cx.clients.apprunner.list_services().into_paginator().send();
        while let Some(page) = pages.next().await {
            summaries.extend(page.map_err(aws("ListServices"))?.service_summary_list().to_vec());
        }
        let mut out = BTreeMap::new();
        for d in wanted {
            let Some(summary) = summaries.iter().find(|s| {
                s.service_name() == Some(d.key.name.as_str())
                    && s.status().is_none_or(|s| status_text(s.as_str()) != "deleted")
            }) else {
                continue;
            };
            let arn = summary.service_arn().unwrap_or_default().to_string();
            let status = status_text(summary.status().map(|s| s.as_str()).unwrap_or_default());
            let updated = summary.updated_at().map(|t| t.to_string()).unwrap_or_default();
            let cached =
                cx.cache.details.lock().unwrap().get(&arn).filter(|(at, _)| *at == updated).map(|(_, v)| v.clone());
            let config = match cached {
                Some(c) => c,
                None => {
                    let described = cx
                        .clients
                        .apprunner
                        .describe_service()
                        .service_arn(&arn)
                        .send()
                        .await
                        .map_err(aws("DescribeService"))?;
                    let Some(service) = described.service() else { continue };
                    let mut view = view_of(service);
                    if status == "running" {
                        view["lastFailedOperation"] = json!(failed_operation(cx, &arn).await?);
                    }
                    cx.cache.details.lock().unwrap().insert(arn.clone(), (updated, view.clone()));
                    view
                }
            };
            let mut config = config;
            let failed = config.as_object_mut().and_then(|m| m.remove("lastFailedOperation"));
            let failed_operation = failed.and_then(|op| serde_json::from_value(op).ok());
            config["status"] = json!(status.to_ascii_uppercase());
            let phase = match status.as_str() {
                "running" | "paused" => ObjectState::Ready,
                "create_failed" | "delete_failed" => ObjectState::Failed(status.to_ascii_uppercase()),
                other => ObjectState::Busy(other.to_ascii_uppercase()),
            };
            // Tag calls can fail with InvalidStateException while the service is in an operation
            // (QUIRKS.md): it is busy, so this pass waits on it with its last known tags.
            let read = apprunner_tags(cx, &arn).await;
            let (tags, tags_unknown) = super::tagging::tags_or_last_known(cx, read, &arn, status != "running")?;
            config["tags"] = tag_view(&tags);
            let outputs = BTreeMap::from([
                ("arn".to_string(), arn.clone()),
                ("serviceUrl".to_string(), summary.service_url().unwrap_or_default().to_string()),
            ]);
            out.insert(
                d.key.clone(),
                Observed {
                    id: arn,
                    owned: tags_unknown || owns(&tags, &d.key),
                    state: phase,
                    config,
                    outputs,
                    extra: Json::Null,
                    failed_operation,
                },
            );
        }
        Ok(out)
    }

    fn desired_view(&self, d: &Desired) -> Result<Json, ReconcileError> {
        let spec: AppRunnerServiceSpec = d.spec_as()?;
        let image = &spec.image;
        let mut img = json!({
            "identifier": image.identifier,
            "repositoryType": image.repository_type,
            "port": image.port.to_string(),
            "env": image.env,
        });
        if let Some(cmd) = &image.start_command {
            img["startCommand"] = json!(cmd);
        }
        let i = &spec.instance;
        let mut instance = json!({ "cpu": i.cpu.to_string(), "memory": i.memory.to_string() });
        if let Some(role) = &i.instance_role {
            instance["instanceRole"] = json!(role);
        }
        let n = spec.network.as_ref();
        let mut network = json!({ "egress": n.map_or("DEFAULT", |n| n.egress.as_str()) });
        if let Some(c) = n.and_then(|n| n.vpc_connector.as_ref()) {
            network["vpcConnector"] = json!(c);
        }
        let mut view = json!({
            "status": "RUNNING",
            "image": img,
            "autoDeploy": spec.auto_deploy,
            "instance": instance,
            "network": network,
        });
        if let Some(role) = &spec.access_role {
            view["accessRole"] = json!(role);
        }
        if let Some(h) = &spec.health_check {
            let mut health = json!({ "protocol": h.protocol, "path": h.path });
            for (k, n) in h.numbers() {
                health[k] = json!(n);
            }
            view["healthCheck"] = health;
        }
        view["tags"] = tag_view(&d.tags);
        Ok(view)
    }

    fn fix_for(&self, _field: &str) -> Fix {
        Fix::InPlace
    }

    async fn create(&self, cx: &Cx<'_>, d: &Desired) -> Result<Json, ReconcileError> {
        let spec: AppRunnerServiceSpec = d.spec_as()?;
        let request = cx
            .clients
            .apprunner
            .create_service()
            .service_name(&d.key.name)
            .source_configuration(source_of(&spec)?)
            .instance_configuration(instance_of(&spec))
            .network_configuration(network_of(&spec))
            .set_health_check_configuration(health_of(&spec))
            .set_tags(Some(apprunner_tag_list(&d.tags)));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("CreateService"))?;
        Ok(Json::Null)
    }

    async fn update(&self, cx: &Cx<'_>, d: &Desired, o: &Observed, drift: &[Drift]) -> Result<Json, ReconcileError> {
        if o.config["status"] == "PAUSED" {
            // A paused service takes no update: resume first, the rest follows next pass.
            cx.may_mutate().await?;
            cx.clients.apprunner.resume_service().service_arn(&o.id).send().await.map_err(aws("ResumeService"))?;
            return Ok(Json::Null);
        }
        let _ = drift;
        let spec: AppRunnerServiceSpec = d.spec_as()?;
        let request = cx
            .clients
            .apprunner
            .update_service()
            .service_arn(&o.id)
            .source_configuration(source_of(&spec)?)
            .instance_configuration(instance_of(&spec))
            .network_configuration(network_of(&spec))
            .set_health_check_configuration(health_of(&spec));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("UpdateService"))?;
        Ok(Json::Null)
    }

    async fn delete(&self, cx: &Cx<'_>, o: &Observed) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        cx.clients.apprunner.delete_service().service_arn(&o.id).send().await.map_err(aws("DeleteService"))?;
        Ok(())
    }

    fn tagged<'a>(&self, o: &'a Observed) -> Option<Tagged<'a>> {
        Some(Tagged::AppRunner(&o.id))
    }
}
