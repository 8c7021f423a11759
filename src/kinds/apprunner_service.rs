//! AppRunnerService: the web tier (ECR image, port, env, cpu/memory, roles, health check, egress).

use super::KindDef;
use crate::manifest::schema::*;
use serde_json::Value as Json;

pub const NAME: StrRule = StrRule {
    expected: "a service name of 4 to 40 letters, digits, '-' or '_', starting with a letter or digit",
    check: |s| {
        (4..=40).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
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
        outputs: &["arn", "serviceUrl"],
        retain_by_default: false,
        name_rule: NAME,
        check,
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
