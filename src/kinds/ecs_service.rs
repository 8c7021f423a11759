//! EcsService: an ECS Fargate service together with the task definition it runs.

use super::KindDef;
use super::apprunner_service::join;
use crate::manifest::schema::*;
use serde_json::Value as Json;

pub const NAME: StrRule = StrRule {
    expected: "a name of 1 to 255 letters, digits, '-' or '_'",
    check: |s| (1..=255).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)),
};

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

fn fargate_memory(cpu: i64) -> Option<Vec<i64>> {
    let (_, from, to, step) = FARGATE_SIZES.iter().find(|s| s.0 == cpu)?;
    // 256 cpu allows 512, 1024, 2048 (not 1536): the one irregular row.
    let mut values: Vec<i64> = (*from..=*to).step_by(*step as usize).collect();
    if cpu == 256 {
        values.retain(|m| *m != 1536);
    }
    Some(values)
}

pub fn definition() -> KindDef {
    let logs =
        Shape::Struct(vec![req("group", any_string()), opt("region", any_string()), req("streamPrefix", any_string())]);
    let container = Shape::Struct(vec![
        req("name", string(NAME)),
        req("image", any_string()),
        opt("cpu", int(0, 16384)),
        opt("memory", int(6, 122880)),
        opt("user", any_string()),
        opt("essential", Shape::Bool),
        opt("privileged", Shape::Bool),
        opt("command", list(any_string(), 1, 64)),
        opt("env", env()),
        opt("secrets", dict(ENV_NAME, any_string(), 100)),
        opt("logs", logs),
    ]);
    let task = Shape::Struct(vec![
        req("family", string(NAME)),
        req("cpu", int(256, 16384)),
        req("memory", int(512, 122880)),
        opt(
            "runtimePlatform",
            Shape::Struct(vec![
                opt("os", Shape::Enum(&["LINUX"])),
                opt("cpuArchitecture", Shape::Enum(&["X86_64", "ARM64"])),
            ]),
        ),
        opt("executionRole", arn()),
        opt("taskRole", arn()),
        req("containers", list(container, 1, 10)),
    ]);
    let network = Shape::Struct(vec![
        req("subnets", selectors("subnet-")),
        req("securityGroups", selectors("sg-")),
        opt("assignPublicIp", Shape::Bool),
    ]);
    KindDef {
        fields: vec![
            req("cluster", any_string()),
            opt("desiredCount", int(0, 1000)),
            opt("launchType", Shape::Enum(&["FARGATE"])),
            opt("platformVersion", any_string()),
            opt("propagateTags", Shape::Enum(&["TASK_DEFINITION", "SERVICE", "NONE"])),
            req("network", network),
            req("taskDefinition", task),
            opt("tags", tags()),
        ],
        outputs: &["arn", "taskDefinitionArn"],
        retain_by_default: false,
        name_rule: NAME,
        check,
    }
}

fn check(spec: &Json, c: &mut Checker) {
    let cpu = spec.pointer("/taskDefinition/cpu").and_then(Json::as_i64);
    let memory = spec.pointer("/taskDefinition/memory").and_then(Json::as_i64);
    if let (Some(cpu), Some(memory)) = (cpu, memory) {
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
    }
    let containers = spec.pointer("/taskDefinition/containers").and_then(Json::as_array).cloned().unwrap_or_default();
    let mut names = std::collections::HashSet::new();
    let mut container_cpu = 0;
    for (i, container) in containers.iter().enumerate() {
        if let Some(name) = container.get("name").and_then(Json::as_str)
            && !names.insert(name.to_string())
        {
            c.error_at(
                &format!("taskDefinition.containers[{i}].name"),
                format!("expected a unique container name, {name:?} is used twice"),
            );
        }
        container_cpu += container.get("cpu").and_then(Json::as_i64).unwrap_or(0);
        if let (Some(m), Some(task)) = (container.get("memory").and_then(Json::as_i64), memory)
            && m > task
        {
            c.error_at(
                &format!("taskDefinition.containers[{i}].memory"),
                format!("expected at most the task memory ({task}), got {m}"),
            );
        }
        if let Some(env) = container.get("env").and_then(Json::as_object)
            && let Some(secrets) = container.get("secrets").and_then(Json::as_object)
        {
            for name in env.keys().filter(|k| secrets.contains_key(*k)) {
                c.error_at(
                    &format!("taskDefinition.containers[{i}].secrets.{name}"),
                    "expected a name not also set in env",
                );
            }
        }
    }
    if let Some(cpu) = cpu
        && container_cpu > cpu
    {
        c.error_at(
            "taskDefinition.containers",
            format!("expected container cpu to sum to at most the task cpu ({cpu}), got {container_cpu}"),
        );
    }
    if spec.get("launchType").and_then(Json::as_str).unwrap_or("FARGATE") == "FARGATE"
        && spec.pointer("/taskDefinition/executionRole").is_none()
        && containers.iter().any(|c| c.get("logs").is_some() || c.get("secrets").is_some())
    {
        c.error_at("taskDefinition.executionRole", "required when containers use awslogs or secrets on Fargate");
    }
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
