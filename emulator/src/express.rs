//! ECS Express Mode at the ECS endpoint: Create/Describe/Update/DeleteExpressGatewayService, the
//! service revisions and deployments they make, and tags on Express services. Every other ECS
//! call is passed on to moto (`server.rs`), so one `AWS_ENDPOINT_URL_ECS` reaches both.
//!
//! The objects Express makes around a service (the shared load balancer, its HTTPS listener and
//! certificate, the service's target group, listener rule and security group) are real objects in
//! moto, made by `express_infra.rs`. This file is the service's own state machine and has no I/O.
//!
//! How AWS behaves, and where this follows it (QUIRKS.md has each with its source and test):
//! - a deployment is a canary with a bake time: the new configuration is listed beside the old
//!   one in `activeConfigurations` until it finishes (here: two transitions), then replaces it;
//!   a failed canary is rolled back (`ROLLBACK_SUCCESSFUL`) and the old configuration stays;
//! - the security group Express makes for the service is added to the service's own
//!   `networkConfiguration.securityGroups` (terraform-provider-aws#47437, #47595);
//! - a deleted service is DRAINING, then INACTIVE, and can still be described;
//! - the service carries the tag `AmazonECSManaged: true`, by which ECS knows it as Express;
//! - default cpu and memory: the developer guide's 1024 / 2048, not the model's 256 / 512.

use crate::api::{ApiError, Call, OpResult, epoch, hex, shuffle, text};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub const TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113.";
/// The tag by which ECS knows a service as an Express service.
pub const MANAGED_TAG: &str = "AmazonECSManaged";

/// Operations this module answers; other ECS operations go to moto, except tag calls on an
/// Express service's ARN.
pub const OPERATIONS: [&str; 6] = [
    "CreateExpressGatewayService",
    "DescribeExpressGatewayService",
    "UpdateExpressGatewayService",
    "DeleteExpressGatewayService",
    "DescribeServiceRevisions",
    "DescribeServiceDeployments",
];

/// Fargate's cpu units and the memory (MiB) each allows.
const FARGATE: &[(u32, &[u32])] = &[
    (256, &[512, 1024, 2048]),
    (512, &[1024, 2048, 3072, 4096]),
    (1024, &[2048, 3072, 4096, 5120, 6144, 7168, 8192]),
    (2048, &[4096, 5120, 6144, 7168, 8192, 9216, 10240, 11264, 12288, 13312, 14336, 15360, 16384]),
    (4096, &[8192, 9216, 10240, 11264, 12288, 13312, 14336, 15360, 16384, 20480, 24576, 28672, 30720]),
];

/// The objects Express made in moto for one service.
#[derive(Clone, Debug, Default)]
pub struct Infra {
    pub load_balancer: String,
    pub load_balancer_dns: String,
    pub load_balancer_security_group: String,
    pub listener: String,
    pub certificate: String,
    pub target_group: String,
    pub rule: String,
    pub service_security_group: String,
    pub subnets: Vec<String>,
    pub endpoint: String,
    pub port: i64,
    pub health_check_path: String,
}

/// What a create needs from moto before the service can exist.
pub struct CreatePlan {
    pub name: String,
    pub cluster: String,
    pub config: Json,
    pub infrastructure_role: String,
    pub tags: Vec<(String, String)>,
}

struct Service {
    arn: String,
    cluster_arn: String,
    name: String,
    infrastructure_role: String,
    /// The configuration in effect and its revision.
    config: Json,
    revision: String,
    created: f64,
    updated: f64,
    status: &'static str,
    draining_until: Option<Instant>,
    tags: Vec<(String, String)>,
    current_deployment: String,
    infra: Infra,
    /// Who made it: its tasks are registered with its target group in that caller's account.
    caller: Option<String>,
    /// When its first deployment finished: its tasks pass the load balancer's health checks a
    /// little later (`take_registrations`). None once they are registered.
    first_served_at: Option<Instant>,
}

struct Deployment {
    arn: String,
    service: String,
    status: &'static str,
    reason: Option<String>,
    until: Instant,
    created: f64,
    finished: Option<f64>,
    source: Option<String>,
    target: String,
    target_config: Json,
    fails: bool,
}

#[derive(Default)]
pub struct Express {
    services: BTreeMap<String, Service>,
    revisions: BTreeMap<String, (String, Json, f64)>,
    deployments: BTreeMap<String, Deployment>,
    /// Names whose next deployment fails its canary (admin API).
    fail_next: Vec<String>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("InvalidParameterException", message)
}

fn not_found(arn: &str) -> ApiError {
    ApiError::new("ServiceNotFoundException", format!("Service not found: {arn}"))
}

/// The account and region of an ECS ARN (`arn:aws:ecs:REGION:ACCOUNT:...`).
fn arn_parts(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.split(':');
    let (_, _, _, region, account) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    Some((region, account))
}

/// The name of a cluster given by name or ARN.
pub fn cluster_name(cluster: &str) -> &str {
    cluster.rsplit('/').next().unwrap_or(cluster)
}

fn tags_of(input: &Json) -> Vec<(String, String)> {
    input
        .get("tags")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|t| (text(t, "key").unwrap_or_default().to_string(), text(t, "value").unwrap_or_default().to_string()))
        .collect()
}

fn tag_list(tags: &[(String, String)]) -> Json {
    json!(tags.iter().map(|(k, v)| json!({ "key": k, "value": v })).collect::<Vec<_>>())
}

/// The members of a configuration a request may set, in the model's names.
const CONFIG_MEMBERS: [&str; 8] = [
    "executionRoleArn",
    "taskRoleArn",
    "cpu",
    "memory",
    "networkConfiguration",
    "healthCheckPath",
    "primaryContainer",
    "scalingTarget",
];

/// A request's configuration over `base` (each member given replaces the whole member), with
/// AWS's defaults where neither sets one, checked as AWS checks it.
fn configuration(input: &Json, base: Option<&Json>, name: &str) -> Result<Json, ApiError> {
    let mut config = base.cloned().unwrap_or_else(|| {
        json!({
            "cpu": "1024",
            "memory": "2048",
            "healthCheckPath": "/ping",
            "scalingTarget": {
                "minTaskCount": 1, "maxTaskCount": 20,
                "autoScalingMetric": "AVERAGE_CPU", "autoScalingTargetValue": 60,
            },
        })
    });
    for member in CONFIG_MEMBERS {
        if let Some(value) = input.get(member) {
            config[member] = value.clone();
        }
    }
    let container = &mut config["primaryContainer"];
    if container.get("containerPort").is_none() {
        container["containerPort"] = json!(80);
    }
    if container.get("awsLogsConfiguration").is_none() {
        container["awsLogsConfiguration"] = json!({ "logGroup": format!("/aws/ecs/{name}"), "logStreamPrefix": "ecs" });
    }
    let number = |key: &str| config.get(key).and_then(Json::as_str).and_then(|s| s.parse::<u32>().ok());
    let (cpu, memory) = (number("cpu"), number("memory"));
    match (cpu, memory) {
        (Some(cpu), Some(memory)) => match FARGATE.iter().find(|(c, _)| *c == cpu) {
            None => return Err(invalid(format!("Invalid 'cpu' setting for task: {cpu}"))),
            Some((_, allowed)) if !allowed.contains(&memory) => {
                return Err(invalid(format!("Invalid 'memory' setting for task: {memory} with cpu {cpu}")));
            }
            _ => {}
        },
        _ => return Err(invalid("cpu and memory must be numbers of units and MiB")),
    }
    let subnets = config.pointer("/networkConfiguration/subnets").and_then(Json::as_array).map_or(0, Vec::len);
    if subnets == 0 {
        return Err(invalid("networkConfiguration.subnets: the emulator has no default VPC; name the subnets"));
    }
    let scaling = &config["scalingTarget"];
    let (min, max) = (scaling["minTaskCount"].as_i64().unwrap_or(1), scaling["maxTaskCount"].as_i64().unwrap_or(20));
    if min < 0 || max < 1 || min > max {
        return Err(invalid(format!("scalingTarget: minTaskCount {min} must be at most maxTaskCount {max}")));
    }
    Ok(config)
}

impl Express {
    /// Makes the next deployment of the service of that name fail its canary (rolled back).
    pub fn fail_next(&mut self, name: &str) {
        self.fail_next.push(name.to_string());
    }

    fn take_failure(&mut self, name: &str) -> bool {
        let at = self.fail_next.iter().position(|n| n == name);
        at.map(|i| self.fail_next.remove(i)).is_some()
    }

    /// Services whose tasks have passed the load balancer's health checks by `now` (`health_check`
    /// after the first deployment finished), to be registered with their target group once each,
    /// with the caller whose account holds it. Until then the target group has no healthy target.
    pub fn take_registrations(&mut self, now: Instant, health_check: Duration) -> Vec<(Infra, Option<String>)> {
        let due = |s: &Service| s.status == "ACTIVE" && s.first_served_at.is_some_and(|t| t + health_check <= now);
        self.services
            .values_mut()
            .filter(|s| due(s))
            .map(|s| {
                s.first_served_at = None;
                (s.infra.clone(), s.caller.clone())
            })
            .collect()
    }

    pub fn knows(&self, arn: &str) -> bool {
        self.services.contains_key(arn)
    }

    /// The service ARNs of a region's Express services of this account and cluster by name, and
    /// whether one is ACTIVE or DRAINING (a name that cannot be taken again yet).
    fn live(&self, cluster: &str, name: &str, account: &str) -> bool {
        self.services.values().any(|s| {
            s.name == name
                && cluster_name(&s.cluster_arn) == cluster_name(cluster)
                && arn_parts(&s.arn).map(|(_, a)| a) == Some(account)
                && s.status != "INACTIVE"
        })
    }

    /// Moves deployments and deletions along: a deployment bakes for two transitions.
    pub fn settle(&mut self, now: Instant) {
        for d in self.deployments.values_mut().filter(|d| d.status == "IN_PROGRESS" && d.until <= now) {
            let Some(service) = self.services.get_mut(&d.service) else { continue };
            d.finished = Some(epoch());
            if d.fails {
                d.status = if d.source.is_some() { "ROLLBACK_SUCCESSFUL" } else { "ROLLBACK_FAILED" };
                d.reason = Some("Deployment failed: the canary's 4xx and 5xx rate alarm went into ALARM".into());
            } else {
                d.status = "SUCCESSFUL";
                service.config = d.target_config.clone();
                service.revision = d.target.clone();
                // The tasks of a new service start; the load balancer checks their health.
                if d.source.is_none() {
                    service.first_served_at = Some(d.until);
                }
            }
        }
        for s in self.services.values_mut() {
            if s.status == "DRAINING" && s.draining_until.is_some_and(|t| t <= now) {
                s.status = "INACTIVE";
            }
        }
    }

    /// Checks a create before its objects are made in moto.
    pub fn plan_create(&self, input: &Json, account: &str) -> Result<CreatePlan, ApiError> {
        let name = text(input, "serviceName").map(str::to_string).unwrap_or_else(|| format!("express-{}", hex(8)));
        let cluster = text(input, "cluster").unwrap_or("default").to_string();
        if self.live(&cluster, &name, account) {
            return Err(invalid("Creation of service was not idempotent."));
        }
        let config = configuration(input, None, &name)?;
        let infrastructure_role = text(input, "infrastructureRoleArn").unwrap_or_default().to_string();
        let mut tags = tags_of(input);
        tags.retain(|(k, _)| k != MANAGED_TAG);
        tags.push((MANAGED_TAG.into(), "true".into()));
        Ok(CreatePlan { name, cluster, config, infrastructure_role, tags })
    }

    /// The service, once moto holds its objects.
    pub fn create(&mut self, plan: CreatePlan, cluster_arn: &str, infra: Infra, call: &Call) -> OpResult {
        let (_, account) = arn_parts(cluster_arn).ok_or_else(|| invalid("bad cluster ARN"))?;
        let cluster = cluster_name(cluster_arn);
        let arn = format!("arn:aws:ecs:{}:{account}:service/{cluster}/{}", call.region, plan.name);
        let now = epoch();
        let mut service = Service {
            arn: arn.clone(),
            cluster_arn: cluster_arn.to_string(),
            name: plan.name.clone(),
            infrastructure_role: plan.infrastructure_role,
            config: plan.config.clone(),
            revision: String::new(),
            created: now,
            updated: now,
            status: "ACTIVE",
            draining_until: None,
            tags: plan.tags,
            current_deployment: String::new(),
            infra,
            caller: call.caller.clone(),
            first_served_at: None,
        };
        let fails = self.take_failure(&plan.name);
        let revision = self.new_revision(&arn, &plan.config);
        service.revision = revision.clone();
        self.services.insert(arn.clone(), service);
        self.deploy(&arn, None, revision, plan.config, fails, call);
        Ok(json!({ "service": self.render(&arn, false)? }))
    }

    fn new_revision(&mut self, service_arn: &str, config: &Json) -> String {
        let arn = format!("{}/{}", service_arn.replacen(":service/", ":service-revision/", 1), rand::random::<u64>());
        self.revisions.insert(arn.clone(), (service_arn.to_string(), config.clone(), epoch()));
        arn
    }

    fn deploy(&mut self, arn: &str, source: Option<String>, target: String, config: Json, fails: bool, call: &Call) {
        let Some(service) = self.services.get_mut(arn) else { return };
        let id = format!("{}/{}", service.arn.replacen(":service/", ":service-deployment/", 1), hex(20));
        // A deployment still baking is stopped by the next one, as ECS does.
        if let Some(old) = self.deployments.get_mut(&service.current_deployment)
            && old.status == "IN_PROGRESS"
        {
            old.status = "STOPPED";
            old.reason = Some("Stopped by a newer deployment".into());
            old.finished = Some(epoch());
        }
        service.current_deployment = id.clone();
        service.updated = epoch();
        self.deployments.insert(
            id.clone(),
            Deployment {
                arn: id,
                service: arn.to_string(),
                status: "IN_PROGRESS",
                reason: None,
                until: call.now + call.transition * 2,
                created: epoch(),
                finished: None,
                source,
                target,
                target_config: config,
                fails,
            },
        );
    }

    fn service(&self, input: &Json) -> Result<&Service, ApiError> {
        let arn = text(input, "serviceArn").unwrap_or_default();
        self.services.get(arn).ok_or_else(|| not_found(arn))
    }

    pub fn describe(&self, input: &Json) -> OpResult {
        let arn = text(input, "serviceArn").unwrap_or_default();
        if !self.services.contains_key(arn) {
            return Err(ApiError::new("ResourceNotFoundException", format!("Service not found: {arn}")));
        }
        let tags = input.get("include").and_then(Json::as_array).is_some_and(|i| i.iter().any(|v| v == "TAGS"));
        Ok(json!({ "service": self.render(arn, tags)? }))
    }

    pub fn update(&mut self, input: &Json, call: &Call) -> OpResult {
        let service = self.service(input)?;
        if service.status != "ACTIVE" {
            return Err(ApiError::new("ServiceNotActiveException", "Service was not ACTIVE."));
        }
        // Over the newest configuration asked for, whether or not it finished deploying.
        let base = self
            .deployments
            .get(&service.current_deployment)
            .filter(|d| d.status == "IN_PROGRESS")
            .map_or(&service.config, |d| &d.target_config)
            .clone();
        let config = configuration(input, Some(&base), &service.name)?;
        let (arn, source, name) = (service.arn.clone(), service.revision.clone(), service.name.clone());
        let fails = self.take_failure(&name);
        let revision = self.new_revision(&arn, &config);
        self.deploy(&arn, Some(source), revision.clone(), config.clone(), fails, call);
        let service = &self.services[&arn];
        let mut target = self.configuration_json(service, &config, &revision);
        target["createdAt"] = json!(epoch());
        Ok(json!({ "service": {
            "serviceArn": arn, "cluster": service.cluster_arn, "serviceName": service.name,
            "status": { "statusCode": service.status },
            "targetConfiguration": target,
            "createdAt": service.created, "updatedAt": service.updated,
        }}))
    }

    /// Starts draining; the objects to take out of moto are returned (the shared load balancer
    /// and its listener stay).
    pub fn delete(&mut self, input: &Json, call: &Call) -> Result<(Json, Infra), ApiError> {
        let arn = self.service(input)?.arn.clone();
        let service = self.services.get_mut(&arn).expect("found above");
        if service.status != "ACTIVE" {
            return Err(ApiError::new("ServiceNotActiveException", "Service was not ACTIVE."));
        }
        service.status = "DRAINING";
        service.draining_until = Some(call.now + call.transition);
        service.updated = epoch();
        let infra = service.infra.clone();
        Ok((json!({ "service": self.render(&arn, false)? }), infra))
    }

    /// TagResource, UntagResource and ListTagsForResource on an Express service.
    pub fn tags(&mut self, operation: &str, input: &Json) -> OpResult {
        let arn = text(input, "resourceArn").unwrap_or_default();
        let service = self.services.get_mut(arn).ok_or_else(|| not_found(arn))?;
        match operation {
            "TagResource" => {
                for (k, v) in tags_of(input) {
                    service.tags.retain(|(key, _)| *key != k);
                    service.tags.push((k, v));
                }
                Ok(json!({}))
            }
            "UntagResource" => {
                let keys: Vec<&str> = input
                    .get("tagKeys")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Json::as_str)
                    .collect();
                service.tags.retain(|(k, _)| !keys.contains(&k.as_str()));
                Ok(json!({}))
            }
            _ => Ok(json!({ "tags": tag_list(&service.tags) })),
        }
    }

    pub fn describe_revisions(&self, input: &Json) -> OpResult {
        let mut found = Vec::new();
        let mut failures = Vec::new();
        for arn in input.get("serviceRevisionArns").and_then(Json::as_array).into_iter().flatten() {
            let arn = arn.as_str().unwrap_or_default();
            match self.revisions.get(arn).and_then(|(s, c, at)| Some((self.services.get(s)?, c, at))) {
                Some((service, config, at)) => found.push(revision_json(arn, service, config, *at)),
                None => failures.push(json!({ "arn": arn, "reason": "MISSING" })),
            }
        }
        Ok(json!({ "serviceRevisions": found, "failures": failures }))
    }

    pub fn describe_deployments(&self, input: &Json) -> OpResult {
        let mut found = Vec::new();
        let mut failures = Vec::new();
        for arn in input.get("serviceDeploymentArns").and_then(Json::as_array).into_iter().flatten() {
            let arn = arn.as_str().unwrap_or_default();
            let Some((d, service)) = self.deployments.get(arn).and_then(|d| Some((d, self.services.get(&d.service)?)))
            else {
                failures.push(json!({ "arn": arn, "reason": "MISSING" }));
                continue;
            };
            let mut out = json!({
                "serviceDeploymentArn": d.arn, "serviceArn": d.service, "clusterArn": service.cluster_arn,
                "createdAt": d.created, "startedAt": d.created, "updatedAt": d.finished.unwrap_or(d.created),
                "status": d.status,
                "targetServiceRevision": { "arn": d.target, "requestedTaskCount": 1, "runningTaskCount": 1, "pendingTaskCount": 0 },
                "sourceServiceRevisions": d.source.iter().map(|s| json!({ "arn": s, "requestedTaskCount": 1, "runningTaskCount": 1, "pendingTaskCount": 0 })).collect::<Vec<_>>(),
            });
            if let Some(reason) = &d.reason {
                out["statusReason"] = json!(reason);
            }
            if let Some(at) = d.finished {
                out["finishedAt"] = json!(at);
            }
            if d.status.starts_with("ROLLBACK") {
                out["rollback"] =
                    json!({ "reason": d.reason, "startedAt": d.finished, "serviceRevisionArn": d.source });
            }
            found.push(out);
        }
        Ok(json!({ "serviceDeployments": found, "failures": failures }))
    }

    /// The configuration members and the revision's ingress path, as Describe shows them.
    fn configuration_json(&self, service: &Service, config: &Json, revision: &str) -> Json {
        let mut shown = config.clone();
        // The security group Express made for the service is listed among the service's own.
        if let Some(groups) = shown.pointer_mut("/networkConfiguration/securityGroups").and_then(Json::as_array_mut) {
            groups.push(json!(service.infra.service_security_group));
        } else {
            shown["networkConfiguration"]["securityGroups"] = json!([service.infra.service_security_group]);
        }
        shuffle(&mut shown["networkConfiguration"]["securityGroups"]);
        shuffle(&mut shown["networkConfiguration"]["subnets"]);
        if let Some(env) = shown.pointer_mut("/primaryContainer/environment") {
            shuffle(env);
        }
        shown["serviceRevisionArn"] = json!(revision);
        shown["ingressPaths"] = json!([{ "accessType": "PUBLIC", "endpoint": service.infra.endpoint }]);
        shown
    }

    fn render(&self, arn: &str, with_tags: bool) -> OpResult {
        let service = self.services.get(arn).ok_or_else(|| not_found(arn))?;
        let created = self.revisions.get(&service.revision).map_or(service.created, |r| r.2);
        let mut active = vec![self.configuration_json(service, &service.config, &service.revision)];
        active[0]["createdAt"] = json!(created);
        if let Some(d) = self.deployments.get(&service.current_deployment).filter(|d| d.status == "IN_PROGRESS")
            && d.source.is_some()
        {
            // Canary: the new revision serves beside the old one until it has baked.
            let mut next = self.configuration_json(service, &d.target_config, &d.target);
            next["createdAt"] = json!(d.created);
            active.push(next);
        }
        let mut out = json!({
            "cluster": service.cluster_arn,
            "serviceName": service.name,
            "serviceArn": service.arn,
            "infrastructureRoleArn": service.infrastructure_role,
            "status": { "statusCode": service.status },
            "currentDeployment": service.current_deployment,
            "activeConfigurations": if service.status == "INACTIVE" { json!([]) } else { json!(active) },
            "createdAt": service.created,
            "updatedAt": service.updated,
        });
        if with_tags {
            out["tags"] = tag_list(&service.tags);
        }
        Ok(out)
    }
}

fn revision_json(arn: &str, service: &Service, config: &Json, at: f64) -> Json {
    let infra = &service.infra;
    let (region, account) = arn_parts(&service.arn).unwrap_or_default();
    let sg_arn = |id: &str| format!("arn:aws:ec2:{region}:{account}:security-group/{id}");
    let active = |arn: &str| json!({ "arn": arn, "status": "ACTIVE", "updatedAt": at });
    let port = config.pointer("/primaryContainer/containerPort").and_then(Json::as_i64).unwrap_or(80);
    let path = config.get("healthCheckPath").and_then(Json::as_str).unwrap_or("/ping");
    json!({
        "serviceRevisionArn": arn,
        "serviceArn": service.arn,
        "clusterArn": service.cluster_arn,
        "launchType": "FARGATE",
        "createdAt": at,
        "ecsManagedResources": {
            "ingressPaths": [{
                "accessType": "PUBLIC",
                "endpoint": infra.endpoint,
                "loadBalancer": {
                    "arn": infra.load_balancer, "status": "ACTIVE", "updatedAt": at, "scheme": "internet-facing",
                    "subnetIds": infra.subnets, "securityGroupIds": [infra.load_balancer_security_group],
                },
                "loadBalancerSecurityGroups": [active(&sg_arn(&infra.load_balancer_security_group))],
                "certificate": { "arn": infra.certificate, "status": "ACTIVE", "updatedAt": at, "domainName": infra.endpoint },
                "listener": active(&infra.listener),
                "rule": active(&infra.rule),
                "targetGroups": [{
                    "arn": infra.target_group, "status": "ACTIVE", "updatedAt": at,
                    "healthCheckPath": path, "healthCheckPort": port, "port": port,
                }],
            }],
            "serviceSecurityGroups": [active(&sg_arn(&infra.service_security_group))],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(transition_ms: u64) -> Call {
        Call {
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            caller: None,
            now: Instant::now(),
            transition: Duration::from_millis(transition_ms),
            subnet_vpcs: None,
        }
    }

    fn infra() -> Infra {
        Infra {
            service_security_group: "sg-managed".into(),
            endpoint: "web-1.ecs.eu-west-1.on.aws".into(),
            ..Infra::default()
        }
    }

    fn created(express: &mut Express, name: &str) -> String {
        let input = json!({
            "serviceName": name, "executionRoleArn": "arn:aws:iam::1:role/e", "infrastructureRoleArn": "arn:aws:iam::1:role/i",
            "primaryContainer": { "image": "nginx", "containerPort": 8000 },
            "networkConfiguration": { "subnets": ["subnet-1"], "securityGroups": ["sg-own"] },
        });
        let plan = express.plan_create(&input, "123456789012").unwrap();
        let out =
            express.create(plan, "arn:aws:ecs:eu-west-1:123456789012:cluster/default", infra(), &call(0)).unwrap();
        out["service"]["serviceArn"].as_str().unwrap().to_string()
    }

    #[test]
    fn the_managed_security_group_is_listed_with_the_services_own() {
        let mut express = Express::default();
        let arn = created(&mut express, "web");
        let out = express.describe(&json!({ "serviceArn": arn })).unwrap();
        let mut groups: Vec<&str> = out["service"]["activeConfigurations"][0]["networkConfiguration"]["securityGroups"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Json::as_str)
            .collect();
        groups.sort();
        assert_eq!(groups, ["sg-managed", "sg-own"]);
        assert_eq!(out["service"]["activeConfigurations"][0]["cpu"], "1024", "the developer guide's default");
    }

    #[test]
    fn an_update_bakes_beside_the_old_configuration_and_a_failed_canary_is_rolled_back() {
        let mut express = Express::default();
        let arn = created(&mut express, "web");
        express.settle(Instant::now());
        express.fail_next("web");
        let out = express.update(&json!({ "serviceArn": arn, "cpu": "2048", "memory": "4096" }), &call(50)).unwrap();
        assert_eq!(out["service"]["targetConfiguration"]["cpu"], "2048");
        let during = express.describe(&json!({ "serviceArn": arn })).unwrap();
        assert_eq!(during["service"]["activeConfigurations"].as_array().unwrap().len(), 2);
        express.settle(Instant::now() + Duration::from_millis(200));
        let after = express.describe(&json!({ "serviceArn": arn })).unwrap();
        assert_eq!(after["service"]["activeConfigurations"].as_array().unwrap().len(), 1);
        assert_eq!(after["service"]["activeConfigurations"][0]["cpu"], "1024", "rolled back");
        let deployment = after["service"]["currentDeployment"].clone();
        let d = express.describe_deployments(&json!({ "serviceDeploymentArns": [deployment] })).unwrap();
        assert_eq!(d["serviceDeployments"][0]["status"], "ROLLBACK_SUCCESSFUL");
    }

    #[test]
    fn a_deleted_service_drains_then_is_inactive_and_its_name_is_free_again() {
        let mut express = Express::default();
        let arn = created(&mut express, "web");
        express.delete(&json!({ "serviceArn": arn }), &call(10)).unwrap();
        let input = json!({ "serviceName": "web", "executionRoleArn": "e", "infrastructureRoleArn": "i",
            "primaryContainer": { "image": "nginx" }, "networkConfiguration": { "subnets": ["subnet-1"] } });
        assert!(express.plan_create(&input, "123456789012").is_err(), "a DRAINING name is taken");
        express.settle(Instant::now() + Duration::from_millis(50));
        let out = express.describe(&json!({ "serviceArn": arn })).unwrap();
        assert_eq!(out["service"]["status"]["statusCode"], "INACTIVE");
        assert!(express.plan_create(&input, "123456789012").is_ok());
    }

    #[test]
    fn cpu_and_memory_are_checked_as_fargate_does() {
        let input = json!({ "cpu": "256", "memory": "4096", "primaryContainer": { "image": "x" },
            "networkConfiguration": { "subnets": ["s"] } });
        assert!(configuration(&input, None, "web").is_err());
        let ok = json!({ "cpu": "512", "memory": "1024", "primaryContainer": { "image": "x" },
            "networkConfiguration": { "subnets": ["s"] } });
        assert_eq!(configuration(&ok, None, "web").unwrap()["primaryContainer"]["containerPort"], 80);
    }
}
