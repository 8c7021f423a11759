//! App Runner (one region): services with their operations, VPC connectors, custom domains and
//! tags. Service calls made while an operation is in progress fail with InvalidStateException,
//! as App Runner's API reference says.

mod connectors;
mod domains;

use crate::api::{ApiError, Call, OpResult, epoch, hex, shuffle, text};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::time::Instant;

/// App Runner's instance sizes: cpu units → allowed memory (MB).
const SIZES: &[(u32, &[u32])] = &[
    (256, &[512, 1024]),
    (512, &[1024]),
    (1024, &[2048, 3072, 4096]),
    (2048, &[4096, 6144]),
    (4096, &[8192, 10240, 12288]),
];

/// How long a deleted service still answers DescribeService and ListServices with `Status:
/// DELETED` (QUIRKS.md: Terraform's provider reads that status as "not found").
const DELETED_SHOWN_FOR: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Default)]
pub struct AppRunner {
    services: BTreeMap<String, Service>,
    /// Deleted services, still shown as DELETED until their time is up.
    deleted: Vec<(Instant, Service)>,
    connectors: BTreeMap<String, Connector>,
    tags: BTreeMap<String, Vec<(String, String)>>,
    /// Operations to fail asynchronously (admin API): (operation, service name or domain).
    fail_next: Vec<(String, String)>,
}

/// A change App Runner tells EventBridge about (see `service_events.rs`): the event's
/// detail-type and detail, and the service's ARN.
pub struct Told {
    pub detail_type: &'static str,
    pub detail: Json,
    pub arn: String,
}

struct Service {
    /// Changes not yet told to EventBridge.
    told: Vec<Told>,
    json: Json,
    status: &'static str,
    until: Option<Instant>,
    next: &'static str,
    operations: Vec<Json>,
    domains: BTreeMap<String, Domain>,
    /// The operation in progress fails when it ends: the status it ends with instead, and the
    /// configuration an update rolls back to.
    failing: Option<Failing>,
}

struct Failing {
    operation_status: &'static str,
    rollback_to: Option<Json>,
}

struct Domain {
    www: bool,
    records: Vec<Json>,
    created: Instant,
    deleting_until: Option<Instant>,
    /// When its validation records were found in DNS (see dns.rs); None: not (or no longer).
    validated_at: Option<Instant>,
    /// A certificate renewal was asked for: the records are looked up again.
    renewal_due: bool,
    /// Who associated it: its records are looked up in that caller's account.
    caller: Option<String>,
    /// Its creation failed (admin API): `create_failed` once created.
    failed: bool,
}

/// A custom domain whose validation records the DNS validator should look up.
pub struct PendingValidation {
    pub service_arn: String,
    pub domain: String,
    pub caller: Option<String>,
    /// (name, value) of each CNAME, lower case without the trailing dot.
    pub records: Vec<(String, String)>,
}

struct Connector {
    json: Json,
}

impl Connector {
    fn render(&self) -> Json {
        let mut shown = self.json.clone();
        shuffle(&mut shown["Subnets"]);
        shuffle(&mut shown["SecurityGroups"]);
        shown
    }
}

fn lower_alnum(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len).map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char).collect()
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("InvalidRequestException", message)
}

fn not_found(what: &str) -> ApiError {
    ApiError::new("ResourceNotFoundException", format!("{what} not found"))
}

fn invalid_state(message: impl Into<String>) -> ApiError {
    ApiError::new("InvalidStateException", message)
}

/// `"1 vCPU"` / `"1024"` → 1024; `"2 GB"` / `"2048"` → 2048.
fn units(value: &str, per_unit: f64) -> Option<u32> {
    let v = value.trim();
    if let Ok(n) = v.parse::<u32>() {
        return Some(n);
    }
    let number: f64 = v.split_whitespace().next()?.parse().ok()?;
    Some((number * per_unit).round() as u32)
}

fn tags_of(input: &Json) -> Vec<(String, String)> {
    input
        .get("Tags")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|t| (text(t, "Key").unwrap_or_default().to_string(), text(t, "Value").unwrap_or_default().to_string()))
        .collect()
}

/// Pages by `MaxResults` and an opaque `NextToken` (the last key shown).
fn page<T>(items: Vec<(String, T)>, input: &Json, default: usize) -> (Vec<T>, Option<String>) {
    let max = input.get("MaxResults").and_then(Json::as_u64).map_or(default, |m| m as usize);
    let after = text(input, "NextToken");
    let rest: Vec<(String, T)> = items.into_iter().filter(|(k, _)| after.is_none_or(|t| k.as_str() > t)).collect();
    let more = rest.len() > max;
    let shown: Vec<(String, T)> = rest.into_iter().take(max).collect();
    let token = if more { shown.last().map(|(k, _)| k.clone()) } else { None };
    (shown.into_iter().map(|(_, v)| v).collect(), token)
}

fn with_token(mut out: Json, token: Option<String>) -> Json {
    if let Some(t) = token {
        out["NextToken"] = json!(t);
    }
    out
}

impl AppRunner {
    /// Ends the transitions that are due (a call does this first; so does the service-event
    /// publisher, so that an operation's end is told when it happens).
    pub fn tick(&mut self, now: Instant) {
        self.settle(now);
    }

    /// The changes to tell EventBridge since the last time.
    pub fn take_told(&mut self) -> Vec<Told> {
        let live = self.services.values_mut();
        live.chain(self.deleted.iter_mut().map(|(_, s)| s)).flat_map(|s| std::mem::take(&mut s.told)).collect()
    }

    fn settle(&mut self, now: Instant) {
        let due = |until: Option<Instant>| until.is_some_and(|u| u <= now);
        self.deleted.retain(|(shown_until, _)| *shown_until > now);
        let deleted: Vec<String> = self
            .services
            .iter()
            .filter(|(_, s)| s.next == "DELETED" && s.failing.is_none() && due(s.until))
            .map(|(k, _)| k.clone())
            .collect();
        for name in deleted {
            if let Some(mut s) = self.services.remove(&name) {
                self.tags.remove(s.json["ServiceArn"].as_str().unwrap_or_default());
                s.finish("DELETED", "SUCCEEDED");
                s.domains.clear();
                self.deleted.push((now + DELETED_SHOWN_FOR, s));
            }
        }
        for s in self.services.values_mut() {
            if due(s.until) {
                match s.failing.take() {
                    None => s.finish(s.next, "SUCCEEDED"),
                    Some(Failing { operation_status, rollback_to: Some(old) }) => {
                        s.json = old;
                        s.finish("RUNNING", operation_status);
                    }
                    Some(Failing { operation_status, rollback_to: None }) => {
                        let failed = if s.next == "DELETED" { "DELETE_FAILED" } else { "CREATE_FAILED" };
                        s.finish(failed, operation_status);
                    }
                }
            }
            s.domains.retain(|_, d| !due(d.deleting_until));
        }
    }

    /// Makes the next `operation` on the service (or custom domain) named `name` fail
    /// asynchronously, as AWS can: CreateService ends CREATE_FAILED, UpdateService is rolled
    /// back (RUNNING with the old configuration, operation ROLLBACK_SUCCEEDED), DeleteService ends
    /// DELETE_FAILED, AssociateCustomDomain ends create_failed.
    pub fn fail_next(&mut self, operation: &str, name: &str) -> Result<(), String> {
        const FAILABLE: [&str; 4] = ["CreateService", "UpdateService", "DeleteService", "AssociateCustomDomain"];
        if !FAILABLE.contains(&operation) {
            return Err(format!("App Runner operations that can fail: {}", FAILABLE.join(", ")));
        }
        self.fail_next.push((operation.to_string(), name.to_string()));
        Ok(())
    }

    /// Whether this call was told to fail (consumes the order).
    fn take_failure(&mut self, operation: &str, name: &str) -> bool {
        let at = self.fail_next.iter().position(|(op, n)| op == operation && n == name);
        at.map(|i| self.fail_next.remove(i)).is_some()
    }

    pub fn call(&mut self, operation: &str, input: &Json, call: &Call) -> OpResult {
        self.settle(call.now);
        match operation {
            "CreateService" => self.create_service(input, call),
            "DescribeService" => Ok(json!({ "Service": self.service_or_deleted(input)?.render() })),
            "UpdateService" => self.update_service(input, call),
            "DeleteService" => {
                let name = self.service(input)?.json["ServiceName"].as_str().unwrap_or_default().to_string();
                let failing = self.take_failure("DeleteService", &name);
                let from = ["RUNNING", "PAUSED", "CREATE_FAILED", "DELETE_FAILED"];
                let out = self.transition(input, call, &from, "DELETED", "DELETE_SERVICE")?;
                if failing {
                    self.service_mut(input)?.failing = Some(Failing { operation_status: "FAILED", rollback_to: None });
                }
                Ok(out)
            }
            "PauseService" => self.transition(input, call, &["RUNNING"], "PAUSED", "PAUSE_SERVICE"),
            "ResumeService" => self.transition(input, call, &["PAUSED"], "RUNNING", "RESUME_SERVICE"),
            "StartDeployment" => {
                // The model gives StartDeployment no InvalidStateException: a busy or paused
                // service refuses it as an invalid request.
                let out = self
                    .transition(input, call, &["RUNNING"], "RUNNING", "START_DEPLOYMENT")
                    .map_err(|e| invalid(e.message))?;
                Ok(json!({ "OperationId": out["OperationId"] }))
            }
            "ListServices" => self.list_services(input),
            "ListOperations" => {
                let s = self.service_or_deleted(input)?;
                let items: Vec<(String, Json)> =
                    s.operations.iter().rev().enumerate().map(|(i, o)| (format!("{i:08}"), o.clone())).collect();
                let (ops, token) = page(items, input, 20);
                Ok(with_token(json!({ "OperationSummaryList": ops }), token))
            }
            "CreateVpcConnector" => self.create_connector(input, call),
            "DescribeVpcConnector" => {
                let c = self.connector(text(input, "VpcConnectorArn").unwrap_or_default())?;
                Ok(json!({ "VpcConnector": c.render() }))
            }
            "ListVpcConnectors" => {
                let items: Vec<(String, Json)> = self.connectors.iter().map(|(k, c)| (k.clone(), c.render())).collect();
                let (list, token) = page(items, input, 20);
                Ok(with_token(json!({ "VpcConnectors": list }), token))
            }
            "DeleteVpcConnector" => self.delete_connector(input),
            "AssociateCustomDomain" => self.associate(input, call),
            "DescribeCustomDomains" => self.describe_domains(input, call),
            "DisassociateCustomDomain" => self.disassociate(input, call),
            "TagResource" => {
                let arn = text(input, "ResourceArn").unwrap_or_default();
                let new = tags_of(input);
                let list = self.tag_list(arn)?;
                for (k, v) in new {
                    match list.iter_mut().find(|(key, _)| *key == k) {
                        Some(t) => t.1 = v,
                        None => list.push((k, v)),
                    }
                }
                Ok(json!({}))
            }
            "UntagResource" => {
                let keys: Vec<String> = input
                    .get("TagKeys")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect();
                self.tag_list(text(input, "ResourceArn").unwrap_or_default())?.retain(|(k, _)| !keys.contains(k));
                Ok(json!({}))
            }
            "ListTagsForResource" => {
                let list = self.tag_list(text(input, "ResourceArn").unwrap_or_default())?;
                Ok(json!({ "Tags": list.iter().map(|(k, v)| json!({ "Key": k, "Value": v })).collect::<Vec<_>>() }))
            }
            other => {
                Err(ApiError::new("UnknownOperationException", format!("The emulator does not implement {other}.")))
            }
        }
    }

    fn tag_list(&mut self, arn: &str) -> Result<&mut Vec<(String, String)>, ApiError> {
        let exists = self.services.values().any(|s| s.json["ServiceArn"] == arn)
            || self.connectors.values().any(|c| c.json["VpcConnectorArn"] == arn && c.json["Status"] == "ACTIVE");
        if !exists {
            return Err(not_found(&format!("Resource {arn}")));
        }
        // AWS: tag calls on a service in an operation can fail this way (QUIRKS.md).
        if self.services.values().any(|s| s.json["ServiceArn"] == arn && s.status == "OPERATION_IN_PROGRESS") {
            return Err(invalid_state(format!("The service {arn} is in an operation; try again later.")));
        }
        Ok(self.tags.entry(arn.to_string()).or_default())
    }

    fn service(&self, input: &Json) -> Result<&Service, ApiError> {
        let arn = text(input, "ServiceArn").unwrap_or_default();
        self.services.values().find(|s| s.json["ServiceArn"] == arn).ok_or_else(|| not_found(&format!("Service {arn}")))
    }

    /// A service, or a deleted one still shown as DELETED.
    fn service_or_deleted(&self, input: &Json) -> Result<&Service, ApiError> {
        let arn = text(input, "ServiceArn").unwrap_or_default();
        self.service(input)
            .or_else(|e| self.deleted.iter().map(|(_, s)| s).find(|s| s.json["ServiceArn"] == arn).ok_or(e))
    }

    fn service_mut(&mut self, input: &Json) -> Result<&mut Service, ApiError> {
        let arn = text(input, "ServiceArn").unwrap_or_default();
        self.services
            .values_mut()
            .find(|s| s.json["ServiceArn"] == arn)
            .ok_or_else(|| not_found(&format!("Service {arn}")))
    }

    fn connector(&self, arn: &str) -> Result<&Connector, ApiError> {
        self.connectors
            .values()
            .find(|c| c.json["VpcConnectorArn"] == arn)
            .ok_or_else(|| not_found(&format!("VPC connector {arn}")))
    }

    /// Checks and normalizes the configuration members a service is created or updated with.
    fn configuration(&self, input: &Json, base: Option<&Json>) -> Result<Json, ApiError> {
        let mut cfg = base.cloned().unwrap_or_else(|| {
            json!({
                "InstanceConfiguration": { "Cpu": "1024", "Memory": "2048" },
                "HealthCheckConfiguration": { "Protocol": "TCP", "Path": "/", "Interval": 5, "Timeout": 2, "HealthyThreshold": 1, "UnhealthyThreshold": 5 },
                "NetworkConfiguration": { "EgressConfiguration": { "EgressType": "DEFAULT" }, "IngressConfiguration": { "IsPubliclyAccessible": true }, "IpAddressType": "IPV4" },
                "ObservabilityConfiguration": { "ObservabilityEnabled": false },
            })
        });
        if let Some(source) = input.get("SourceConfiguration") {
            if source.get("ImageRepository").is_none() && source.get("CodeRepository").is_none() {
                return Err(invalid("SourceConfiguration needs an ImageRepository or a CodeRepository."));
            }
            let private_ecr =
                source.pointer("/ImageRepository/ImageRepositoryType").and_then(Json::as_str) == Some("ECR");
            if private_ecr && source.pointer("/AuthenticationConfiguration/AccessRoleArn").is_none() {
                return Err(invalid("An access role ARN is required for a private ECR image repository."));
            }
            cfg["SourceConfiguration"] = source.clone();
        }
        if let Some(instance) = input.get("InstanceConfiguration") {
            let cpu = text(instance, "Cpu").map_or(Some(1024), |c| units(c, 1024.0));
            let memory = text(instance, "Memory").map_or(Some(2048), |m| units(m, 1024.0));
            let (Some(cpu), Some(memory)) = (cpu, memory) else { return Err(invalid("Invalid Cpu or Memory value.")) };
            if !SIZES.iter().any(|(c, m)| *c == cpu && m.contains(&memory)) {
                return Err(invalid(format!("Cpu {cpu} with Memory {memory} is not a supported combination.")));
            }
            let mut shown = json!({ "Cpu": cpu.to_string(), "Memory": memory.to_string() });
            if let Some(role) = text(instance, "InstanceRoleArn") {
                shown["InstanceRoleArn"] = json!(role);
            }
            cfg["InstanceConfiguration"] = shown;
        }
        if let Some(health) = input.get("HealthCheckConfiguration") {
            let mut merged = json!({ "Protocol": "TCP", "Path": "/", "Interval": 5, "Timeout": 2, "HealthyThreshold": 1, "UnhealthyThreshold": 5 });
            for (k, v) in health.as_object().into_iter().flatten() {
                merged[k] = v.clone();
            }
            cfg["HealthCheckConfiguration"] = merged;
        }
        if let Some(network) = input.get("NetworkConfiguration") {
            let egress = network.pointer("/EgressConfiguration/EgressType").and_then(Json::as_str).unwrap_or("DEFAULT");
            let connector = network.pointer("/EgressConfiguration/VpcConnectorArn").and_then(Json::as_str);
            match (egress, connector) {
                ("VPC", None) => return Err(invalid("A VpcConnectorArn is required when EgressType is VPC.")),
                ("DEFAULT", Some(_)) => return Err(invalid("VpcConnectorArn is only allowed when EgressType is VPC.")),
                (_, Some(arn))
                    if !self
                        .connectors
                        .values()
                        .any(|c| c.json["VpcConnectorArn"] == arn && c.json["Status"] == "ACTIVE") =>
                {
                    return Err(invalid(format!("VPC connector {arn} does not exist or is not active.")));
                }
                _ => {}
            }
            let mut shown = json!({ "EgressConfiguration": { "EgressType": egress }, "IngressConfiguration": { "IsPubliclyAccessible": network.pointer("/IngressConfiguration/IsPubliclyAccessible").and_then(Json::as_bool).unwrap_or(true) }, "IpAddressType": text(network, "IpAddressType").unwrap_or("IPV4") });
            if let Some(arn) = connector {
                shown["EgressConfiguration"]["VpcConnectorArn"] = json!(arn);
            }
            cfg["NetworkConfiguration"] = shown;
        }
        if let Some(o) = input.get("ObservabilityConfiguration") {
            cfg["ObservabilityConfiguration"] = o.clone();
        }
        Ok(cfg)
    }

    fn create_service(&mut self, input: &Json, call: &Call) -> OpResult {
        let name = text(input, "ServiceName").unwrap_or_default().to_string();
        if self.services.contains_key(&name) {
            return Err(invalid(format!("Service with the provided name already exists: {name}")));
        }
        let cfg = self.configuration(input, None)?;
        let id = hex(32);
        let arn = format!("arn:aws:apprunner:{}:{}:service/{name}/{id}", call.region, call.account);
        let now = epoch();
        let mut json = json!({
            "ServiceName": name, "ServiceId": id, "ServiceArn": arn,
            "ServiceUrl": format!("{}.{}.awsapprunner.com", lower_alnum(10), call.region),
            "CreatedAt": now, "UpdatedAt": now,
            "AutoScalingConfigurationSummary": {
                "AutoScalingConfigurationArn": format!("arn:aws:apprunner:{}:{}:autoscalingconfiguration/DefaultConfiguration/1/00000000000000000000000000000001", call.region, call.account),
                "AutoScalingConfigurationName": "DefaultConfiguration", "AutoScalingConfigurationRevision": 1,
                "Status": "ACTIVE", "CreatedAt": now, "HasAssociatedService": true, "IsDefault": true,
            },
        });
        for (k, v) in cfg.as_object().into_iter().flatten() {
            json[k] = v.clone();
        }
        self.tags.insert(arn, tags_of(input));
        let mut service = Service {
            told: Vec::new(),
            json,
            status: "OPERATION_IN_PROGRESS",
            until: None,
            next: "RUNNING",
            operations: Vec::new(),
            domains: BTreeMap::new(),
            failing: None,
        };
        let op = service.start(call, "RUNNING", "CREATE_SERVICE");
        if self.take_failure("CreateService", &name) {
            service.failing = Some(Failing { operation_status: "FAILED", rollback_to: None });
        }
        let shown = service.render();
        self.services.insert(name, service);
        Ok(json!({ "Service": shown, "OperationId": op }))
    }

    fn update_service(&mut self, input: &Json, call: &Call) -> OpResult {
        let current = self.service(input)?;
        if current.status != "RUNNING" {
            return Err(invalid_state(format!("You can't update a service in {} state.", current.status)));
        }
        let base = current.json.clone();
        let name = base["ServiceName"].as_str().unwrap_or_default().to_string();
        let cfg = self.configuration(input, Some(&base))?;
        let failing = self.take_failure("UpdateService", &name);
        let service = self.service_mut(input)?;
        for (k, v) in cfg.as_object().into_iter().flatten() {
            service.json[k] = v.clone();
        }
        let op = service.start(call, "RUNNING", "UPDATE_SERVICE");
        if failing {
            service.failing = Some(Failing { operation_status: "ROLLBACK_SUCCEEDED", rollback_to: Some(base) });
        }
        Ok(json!({ "Service": service.render(), "OperationId": op }))
    }

    /// Starts an operation that is allowed only in `from` states and ends in `to`.
    fn transition(&mut self, input: &Json, call: &Call, from: &[&str], to: &'static str, kind: &str) -> OpResult {
        let service = self.service_mut(input)?;
        if !from.contains(&service.status) {
            return Err(invalid_state(format!(
                "The service is in {} state; {kind} needs {}.",
                service.status,
                from.join(" or ")
            )));
        }
        let op = service.start(call, to, kind);
        Ok(json!({ "Service": service.render(), "OperationId": op }))
    }

    fn list_services(&self, input: &Json) -> OpResult {
        let deleted =
            self.deleted.iter().map(|(_, s)| (format!("{}~{}", s.json["ServiceName"], s.json["ServiceId"]), s));
        let items: Vec<(String, Json)> = self
            .services
            .iter()
            .map(|(k, s)| (k.clone(), s))
            .chain(deleted)
            .map(|(k, s)| {
                let r = s.render();
                let summary = json!({
                    "ServiceName": r["ServiceName"], "ServiceId": r["ServiceId"], "ServiceArn": r["ServiceArn"],
                    "ServiceUrl": r["ServiceUrl"], "CreatedAt": r["CreatedAt"], "UpdatedAt": r["UpdatedAt"], "Status": r["Status"],
                });
                (k, summary)
            })
            .collect();
        let mut items = items;
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let (list, token) = page(items, input, 20);
        Ok(with_token(json!({ "ServiceSummaryList": list }), token))
    }
}

impl Service {
    /// Begins an operation: the service is busy until the transition delay has passed.
    fn start(&mut self, call: &Call, to: &'static str, kind: &str) -> String {
        let id = format!("{}-{}-{}-{}-{}", hex(8), hex(4), hex(4), hex(4), hex(12));
        self.tell_status("OPERATION_IN_PROGRESS");
        self.status = "OPERATION_IN_PROGRESS";
        self.next = to;
        self.until = Some(call.now + call.transition);
        let now = epoch();
        self.json["UpdatedAt"] = json!(now);
        self.operations.push(json!({
            "Id": id, "Type": kind, "Status": "IN_PROGRESS", "TargetArn": self.json["ServiceArn"], "StartedAt": now, "UpdatedAt": now,
        }));
        id
    }

    /// Ends the operation in progress: the service's new status and the operation's.
    fn finish(&mut self, status: &'static str, operation_status: &str) {
        let kind = self.operations.iter().rev().find(|o| o["Status"] == "IN_PROGRESS").map(|o| o["Type"].clone());
        if let Some(kind) = kind.as_ref().and_then(Json::as_str) {
            self.tell_operation(kind, operation_status);
        }
        self.tell_status(status);
        self.status = status;
        self.until = None;
        self.json["UpdatedAt"] = json!(epoch());
        for op in self.operations.iter_mut().filter(|o| o["Status"] == "IN_PROGRESS") {
            op["Status"] = json!(operation_status);
            op["EndedAt"] = json!(epoch());
            op["UpdatedAt"] = json!(epoch());
        }
    }

    /// "AppRunner Service Status Change", when the status moves.
    fn tell_status(&mut self, to: &'static str) {
        if self.status == to {
            return;
        }
        let severity = if to.ends_with("FAILED") { "ERROR" } else { "INFO" };
        let detail = json!({
            "previousServiceStatus": self.status, "currentServiceStatus": to,
            "serviceName": self.json["ServiceName"], "serviceId": self.json["ServiceId"],
            "message": format!("Service status is set to {to}."), "severity": severity,
        });
        self.tell("AppRunner Service Status Change", detail);
    }

    /// "AppRunner Service Operation Status Change" when an operation ends: `operationStatus` is
    /// the operation and its outcome (`UpdateServiceCompletedSuccessfully`, `DeploymentFailed`).
    fn tell_operation(&mut self, kind: &str, operation_status: &str) {
        let operation = match kind {
            "START_DEPLOYMENT" => "Deployment".to_string(),
            other => other.split('_').map(|w| w[..1].to_string() + &w[1..].to_lowercase()).collect(),
        };
        let failed = operation_status != "SUCCEEDED";
        let detail = json!({
            "operationStatus": format!("{operation}{}", if failed { "Failed" } else { "CompletedSuccessfully" }),
            "serviceName": self.json["ServiceName"], "serviceId": self.json["ServiceId"],
            "message": format!("{operation} {}.", if failed { "failed" } else { "completed successfully" }),
            "severity": if failed { "ERROR" } else { "INFO" },
        });
        self.tell("AppRunner Service Operation Status Change", detail);
    }

    fn tell(&mut self, detail_type: &'static str, detail: Json) {
        let arn = self.json["ServiceArn"].as_str().unwrap_or_default().to_string();
        self.told.push(Told { detail_type, detail, arn });
    }

    fn render(&self) -> Json {
        let mut shown = self.json.clone();
        shown["Status"] = json!(self.status);
        if let Some(image) = shown.pointer_mut("/SourceConfiguration/ImageRepository/ImageConfiguration") {
            for key in ["RuntimeEnvironmentVariables", "RuntimeEnvironmentSecrets"] {
                if let Some(values) = image.get_mut(key) {
                    shuffle(values);
                }
            }
        }
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn status_moves_and_ended_operations_are_told_as_app_runner_tells_eventbridge() {
        let mut apprunner = AppRunner::default();
        let call = Call {
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            caller: None,
            now: Instant::now(),
            transition: Duration::ZERO,
            subnet_vpcs: None,
        };
        let input = json!({ "ServiceName": "mmweb", "SourceConfiguration": { "ImageRepository": {
            "ImageIdentifier": "public.ecr.aws/x/y:latest", "ImageRepositoryType": "ECR_PUBLIC" } } });
        apprunner.call("CreateService", &input, &call).unwrap();
        apprunner.tick(Instant::now());
        let told = apprunner.take_told();
        let kinds: Vec<(&str, &Json)> = told.iter().map(|t| (t.detail_type, &t.detail)).collect();
        assert_eq!(kinds.len(), 2, "the operation's end, then the status move");
        assert_eq!(kinds[0].0, "AppRunner Service Operation Status Change");
        assert_eq!(kinds[0].1["operationStatus"], "CreateServiceCompletedSuccessfully");
        assert_eq!(kinds[1].0, "AppRunner Service Status Change");
        assert_eq!(
            (kinds[1].1["previousServiceStatus"].as_str(), kinds[1].1["currentServiceStatus"].as_str()),
            (Some("OPERATION_IN_PROGRESS"), Some("RUNNING"))
        );
        assert!(told.iter().all(|t| t.arn.starts_with("arn:aws:apprunner:eu-west-1:123456789012:service/mmweb/")));
        assert!(apprunner.take_told().is_empty(), "each change is told once");
    }
}
