//! Manifests written from other manifests: the ECS Express Mode web tier that replaces an
//! AppRunnerService (`steward express-from`), and the steps of the move. Pure: it reads the
//! stored desired state (references stay references) and returns manifests and steps.
//!
//! What carries over: the image, port, environment, start command, cpu and memory (raised to the
//! nearest Fargate size), the HTTP health check path, the VPC connector's subnets and security
//! groups, tags, and the custom domain (a certificate, its validation record and a listener
//! rule). What does not: App Runner's roles (they trust App Runner, not ECS), auto deployment.

use crate::manifest::{Manifest, references};
use crate::model::{Kind, ResourceKey};
use serde_json::{Value as Json, json};

/// The roles an Express service needs, which App Runner has no counterpart for.
pub struct ExpressRoles {
    pub execution: String,
    pub infrastructure: String,
}

/// What `express-from` writes and says.
pub struct Conversion {
    /// Manifests (apiVersion, kind, metadata, spec), in apply order.
    pub manifests: Vec<Json>,
    /// Notes on what could not be carried over as it was.
    pub notes: Vec<String>,
    /// The move, one command or edit per step.
    pub steps: Vec<String>,
}

fn find<'a>(all: &'a [Manifest], kind: Kind, name: &str) -> Option<&'a Manifest> {
    all.iter().find(|m| m.key.kind == kind && m.key.name == name)
}

/// Whether `m` refers to `target` (its output `output`, or any).
fn refers(m: &Manifest, target: &ResourceKey, output: Option<&str>) -> bool {
    let of_target = |r: &references::Reference| r.kind == target.kind && r.name == target.name;
    references::of(m).iter().any(|r| of_target(r) && output.is_none_or(|o| r.output == o))
}

/// The smallest Fargate size at least as big as App Runner's (cpu units, memory MiB).
fn fargate_size(cpu: i64, memory: i64) -> (i64, i64) {
    for c in [256, 512, 1024, 2048, 4096] {
        if c < cpu {
            continue;
        }
        if let Some(m) = crate::kinds::ecs_service::fargate_memory(c).and_then(|m| m.into_iter().find(|m| *m >= memory))
        {
            return (c, m);
        }
    }
    (4096, 30720)
}

fn document(kind: Kind, name: &str, stack: &str, spec: Json) -> Json {
    json!({ "apiVersion": "steward/v1", "kind": kind.as_str(), "metadata": { "name": name, "stack": stack }, "spec": spec })
}

/// The Express manifests for `service` (an AppRunnerService of `all`, one stack's desired state).
pub fn express_from(service: &Manifest, all: &[Manifest], roles: &ExpressRoles) -> Result<Conversion, String> {
    if service.key.kind != Kind::AppRunnerService {
        return Err(format!("{} is not an AppRunnerService", service.key));
    }
    let (stack, name) = (service.key.stack.as_str(), service.key.name.as_str());
    let connector = references::of(service)
        .into_iter()
        .find(|r| r.path == "network.vpcConnector" && r.kind == Kind::AppRunnerVpcConnector)
        .and_then(|r| find(all, r.kind, &r.name));
    let Some(connector) = connector else {
        return Err(format!(
            "{}: no VPC connector of this stack in network.vpcConnector; an Express service needs subnets and security groups (write its network by hand)",
            service.key
        ));
    };
    let mut notes = Vec::new();
    let spec = express_spec(&service.spec, connector, roles, &mut notes);
    let mut manifests = vec![document(Kind::EcsExpressService, name, stack, spec)];
    let mut steps = vec![
        "steward apply -f <these files>: the Express service (and its domain) come up beside App Runner".to_string(),
        format!("steward status EcsExpressService/{name}: wait until Ready (its deployment finished)"),
    ];
    let domain = all.iter().find(|m| m.key.kind == Kind::AppRunnerCustomDomain && refers(m, &service.key, Some("arn")));
    if let Some(domain) = domain {
        let (more, switch) = domain_manifests(name, stack, domain, all);
        manifests.extend(more);
        steps.extend(switch);
    }
    steps.extend(removal_steps(service, connector, domain, all));
    Ok(Conversion { manifests, notes, steps })
}

/// The EcsExpressService spec of an AppRunnerService spec, with notes on what changed.
fn express_spec(spec: &Json, connector: &Manifest, roles: &ExpressRoles, notes: &mut Vec<String>) -> Json {
    let image = &spec["image"];
    let mut express = json!({
        "image": image["identifier"],
        "port": image.get("port").cloned().unwrap_or(json!(8080)),
    });
    if let Some(command) = image.get("startCommand").and_then(Json::as_str) {
        // App Runner runs the start command through a shell; ECS takes the words.
        express["command"] = json!(["sh", "-c", command]);
    }
    if let Some(env) = image.get("env").filter(|e| e.as_object().is_some_and(|m| !m.is_empty())) {
        express["env"] = env.clone();
    }
    let (cpu, memory) = (spec.pointer("/instance/cpu"), spec.pointer("/instance/memory"));
    let (cpu, memory) = (cpu.and_then(Json::as_i64).unwrap_or(1024), memory.and_then(Json::as_i64).unwrap_or(2048));
    let (fcpu, fmemory) = fargate_size(cpu, memory);
    if (fcpu, fmemory) != (cpu, memory) {
        notes.push(format!("cpu {cpu} / memory {memory} is no Fargate size: written as {fcpu} / {fmemory}"));
    }
    express["cpu"] = json!(fcpu);
    express["memory"] = json!(fmemory);
    match (spec.pointer("/healthCheck/protocol").and_then(Json::as_str), spec.pointer("/healthCheck/path")) {
        (Some("HTTP"), Some(path)) => express["healthCheckPath"] = path.clone(),
        _ => notes.push("App Runner checks health over TCP here; Express checks an HTTP path (default /ping): set healthCheckPath to one the app answers".into()),
    }
    express["network"] = json!({
        "subnets": connector.spec["subnets"],
        "securityGroups": connector.spec["securityGroups"],
    });
    notes.push(format!(
        "the load balancer goes into the subnets of {}: for an internet-facing one they must be public",
        connector.key
    ));
    express["executionRole"] = json!(roles.execution);
    express["infrastructureRole"] = json!(roles.infrastructure);
    if spec.pointer("/instance/instanceRole").is_some() {
        notes.push(
            "instance.instanceRole trusts App Runner, not ECS tasks: give the service a taskRole if the app calls AWS"
                .into(),
        );
    }
    if let Some(tags) = spec.get("tags") {
        express["tags"] = tags.clone();
    }
    express
}

/// The custom domain on Express (certificate, validation record, listener rule), and the steps
/// that switch the name to it and back.
fn domain_manifests(name: &str, stack: &str, domain: &Manifest, all: &[Manifest]) -> (Vec<Json>, Vec<String>) {
    let host = domain.spec["domain"].clone();
    let target = format!("${{AppRunnerCustomDomain/{}.dnsTarget}}", domain.key.name);
    let record = all.iter().find(|m| m.key.kind == Kind::Route53Record && refers(m, &domain.key, Some("dnsTarget")));
    let zone = record.map(|r| r.spec["zone"].clone()).unwrap_or(json!("<your hosted zone>"));
    let (cert, rule) = (format!("{name}-certificate"), format!("{name}-domain-route"));
    let validation = json!({
        "zone": zone,
        "certificateValidationRecords": format!("${{AcmCertificate/{cert}.validationRecords}}"),
        "ttl": 300,
    });
    let route = json!({
        "listener": format!("${{EcsExpressService/{name}.listener}}"),
        "hosts": [host],
        "targetGroup": format!("${{EcsExpressService/{name}.targetGroup}}"),
        "certificate": format!("${{AcmCertificate/{cert}.arn}}"),
    });
    let manifests = vec![
        document(Kind::AcmCertificate, &cert, stack, json!({ "domain": host })),
        document(Kind::Route53Record, &format!("{name}-express-certificate-validation"), stack, validation),
        document(Kind::ListenerRule, &rule, stack, route),
    ];
    let record = record.map_or("the record of the domain".to_string(), |r| r.key.to_string());
    let steps = vec![
        format!(
            "steward edit {record}: values [\"${{ListenerRule/{rule}.dnsTarget}}\"] (the switch waits until the rule's target group has a healthy target)"
        ),
        format!("to go back while App Runner still exists: steward edit {record}: values [\"{target}\"]"),
    ];
    (manifests, steps)
}

/// The steps after the switch: what used App Runner's URL moves, then App Runner goes.
fn removal_steps(service: &Manifest, connector: &Manifest, domain: Option<&Manifest>, all: &[Manifest]) -> Vec<String> {
    let name = &service.key.name;
    let mut steps: Vec<String> = all
        .iter()
        .filter(|m| m.key.kind != Kind::AppRunnerCustomDomain && refers(m, &service.key, None))
        .map(|m| {
            format!(
                "steward edit {}: point its references to AppRunnerService/{name} at EcsExpressService/{name} (serviceUrl → endpoint)",
                m.key
            )
        })
        .collect();
    let mut removals: Vec<String> = domain.iter().map(|d| d.key.to_string()).collect();
    if let Some(d) = domain {
        let validation =
            all.iter().filter(|m| m.key.kind == Kind::Route53Record && refers(m, &d.key, Some("validationRecords")));
        removals.extend(validation.map(|m| m.key.to_string()));
    }
    removals.push(service.key.to_string());
    removals.push(connector.key.to_string());
    steps.push(format!("steward delete {}: each is deleted once nothing points at it any more", removals.join(" ")));
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse_manifests;

    #[test]
    fn the_seeds_web_tier_becomes_an_express_service_with_its_domain() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/desired-state/mentor-match/web.yaml"))
            .unwrap();
        let all = parse_manifests(&text, "web.yaml", None).unwrap();
        let service = all.iter().find(|m| m.key.kind == Kind::AppRunnerService).unwrap();
        let roles =
            ExpressRoles { execution: "arn:aws:iam::1:role/e".into(), infrastructure: "arn:aws:iam::1:role/i".into() };
        let c = express_from(service, &all, &roles).unwrap();
        let kinds: Vec<&str> = c.manifests.iter().filter_map(|m| m["kind"].as_str()).collect();
        assert_eq!(kinds, ["EcsExpressService", "AcmCertificate", "Route53Record", "ListenerRule"]);
        let web = &c.manifests[0]["spec"];
        assert_eq!(web["port"], 5000);
        assert_eq!((web["cpu"].as_i64(), web["memory"].as_i64()), (Some(1024), Some(2048)));
        assert_eq!(web["env"]["REDIS_URL"], service.spec["image"]["env"]["REDIS_URL"], "references stay references");
        assert_eq!(web["network"]["subnets"].as_array().unwrap().len(), 3, "the connector's subnets");
        assert_eq!(c.manifests[3]["spec"]["hosts"][0], "mmweb.${Stack/mentor-match.params.hostedZone}");
        assert!(c.steps.iter().any(|s| s.contains("steward edit Route53Record/mmweb-cname")), "{:?}", c.steps);
        assert!(c.steps.last().unwrap().contains("AppRunnerService/mmweb"), "{:?}", c.steps);
        assert!(c.notes.iter().any(|n| n.contains("TCP")), "{:?}", c.notes);
        assert_eq!(fargate_size(256, 1024), (256, 1024));
        assert_eq!(fargate_size(4096, 12288), (4096, 12288));
        assert_eq!(fargate_size(2048, 6144), (2048, 6144));
    }
}
