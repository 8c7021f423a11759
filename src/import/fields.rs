//! Conversions both readers share (pure): a task definition's containers as an EcsService's
//! `taskDefinition`, the default endpoint policy, and null-free specs.

use super::error::Skip;
use super::inventory::looks_secret;
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;

/// Container settings steward does not manage: an import says so rather than drop them unseen.
const UNMANAGED_CONTAINER_FIELDS: &[&str] = &[
    "portMappings",
    "healthCheck",
    "mountPoints",
    "volumesFrom",
    "dependsOn",
    "entryPoint",
    "workingDirectory",
    "ulimits",
    "linuxParameters",
    "readonlyRootFilesystem",
    "dockerLabels",
    "links",
    "firelensConfiguration",
    "repositoryCredentials",
];

/// The `taskDefinition` of an EcsService spec from a task definition's fields and its container
/// definitions (as ECS returns them, the same JSON Terraform keeps). Returns what steward does
/// not manage beside it. Refuses a container with a secret in plain text in its environment.
pub fn task_spec(
    family: &str,
    (cpu, memory): (Option<&str>, Option<&str>),
    (execution_role, task_role): (Option<&str>, Option<&str>),
    platform: Option<Json>,
    containers: &Json,
) -> Result<(Json, Vec<String>), Skip> {
    let number =
        |v: Option<&str>, what: &'static str| v.and_then(|s| s.parse::<i64>().ok()).ok_or(Skip::NoTaskSize(what));
    let mut notes = Vec::new();
    let mut specs = Vec::new();
    for c in containers.as_array().into_iter().flatten() {
        let name = c["name"].as_str().unwrap_or_default();
        let mut env = BTreeMap::new();
        for e in c["environment"].as_array().into_iter().flatten() {
            let (Some(k), Some(v)) = (e["name"].as_str(), e["value"].as_str()) else { continue };
            if looks_secret(k, v) {
                let (container, variable) = (Some(name.to_string()), k.to_string());
                let move_to = "`secrets` (SSM or Secrets Manager)";
                return Err(Skip::SecretInEnvironment { container, variable, move_to });
            }
            env.insert(k.to_string(), v.to_string());
        }
        let secrets: BTreeMap<String, String> = c["secrets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| Some((s["name"].as_str()?.to_string(), s["valueFrom"].as_str()?.to_string())))
            .collect();
        let logs = match c["logConfiguration"]["logDriver"].as_str() {
            Some("awslogs") => {
                let o = &c["logConfiguration"]["options"];
                Some(strip_nulls(json!({
                    "group": o["awslogs-group"], "region": o["awslogs-region"], "streamPrefix": o["awslogs-stream-prefix"],
                })))
            }
            Some(other) => {
                notes.push(format!("container {name}: log driver {other} (steward keeps awslogs; it stays as it is)"));
                None
            }
            None => None,
        };
        for field in UNMANAGED_CONTAINER_FIELDS {
            if c.get(*field).is_some_and(|v| !v.is_null() && v != &json!([]) && v != &json!({})) {
                notes.push(format!("container {name}: {field} (steward does not manage it; it stays as it is)"));
            }
        }
        let mut spec = json!({
            "name": name, "image": c["image"], "cpu": c["cpu"].as_i64().filter(|n| *n > 0),
            "memory": c["memory"].as_i64(), "user": c["user"],
            "essential": c["essential"].as_bool().unwrap_or(true), "privileged": c["privileged"].as_bool().unwrap_or(false),
            "command": c["command"].as_array().filter(|a| !a.is_empty()), "logs": logs,
        });
        if !env.is_empty() {
            spec["env"] = json!(env);
        }
        if !secrets.is_empty() {
            spec["secrets"] = json!(secrets);
        }
        // Left out where they are ECS's defaults.
        let spec = drop_where(strip_nulls(spec), &[("essential", json!(true)), ("privileged", json!(false))]);
        specs.push(spec);
    }
    let task = strip_nulls(json!({
        "family": family,
        "cpu": number(cpu, "cpu")?,
        "memory": number(memory, "memory")?,
        "runtimePlatform": platform,
        "executionRole": execution_role,
        "taskRole": task_role,
        "containers": specs,
    }));
    Ok((task, notes))
}

fn drop_where(mut value: Json, defaults: &[(&str, Json)]) -> Json {
    if let Some(map) = value.as_object_mut() {
        for (key, default) in defaults {
            if map.get(*key) == Some(default) {
                map.remove(*key);
            }
        }
    }
    value
}

/// The policy AWS gives an endpoint that has none: anyone, any action, any resource.
pub fn is_full_access(policy: &str) -> bool {
    let Ok(p) = serde_json::from_str::<Json>(policy) else { return false };
    let statements = p["Statement"].as_array().cloned().unwrap_or_default();
    statements.len() == 1 && {
        let s = &statements[0];
        s["Effect"] == "Allow"
            && s["Action"] == "*"
            && s["Resource"] == "*"
            && (s["Principal"] == "*" || s["Principal"] == json!({ "AWS": "*" }))
    }
}

/// A health check as the spec writes it: a path only for HTTP (TCP checks have none).
pub fn health_check(protocol: &str, path: Option<&str>, numbers: [Option<i64>; 4]) -> Json {
    let [interval, timeout, healthy, unhealthy] = numbers;
    let mut check = strip_nulls(json!({
        "protocol": protocol, "interval": interval, "timeout": timeout,
        "healthyThreshold": healthy, "unhealthyThreshold": unhealthy,
    }));
    if protocol == "HTTP" {
        check["path"] = json!(path.unwrap_or("/"));
    }
    check
}

/// An engine version as a spec names it: from 6 on, AWS takes `major.minor` and reports the
/// patch it runs (6.2.6); earlier versions are named in full.
pub fn engine_version(version: &str) -> String {
    let parts: Vec<&str> = version.split('.').collect();
    match parts.first().and_then(|m| m.parse::<u32>().ok()) {
        Some(major) if major >= 6 && parts.len() > 2 => format!("{}.{}", parts[0], parts[1]),
        _ => version.to_string(),
    }
}

/// App Runner sizes as AWS and Terraform give them ("1024", "1 vCPU", "2 GB") in steward's units
/// (CPU units, MiB).
pub fn size(value: Option<&str>, default: i64) -> i64 {
    let text = value.unwrap_or_default().to_ascii_lowercase();
    let number: f64 = text.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(default as f64);
    match text.contains("vcpu") || text.contains("gb") {
        true => (number * 1024.0) as i64,
        false => number as i64,
    }
}

/// Drops null members of objects (fields the source does not set), recursively.
pub fn strip_nulls(value: Json) -> Json {
    match value {
        Json::Object(map) => Json::Object(
            map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip_nulls(v))).collect::<Map<_, _>>(),
        ),
        Json::Array(items) => Json::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_become_the_spec_with_defaults_left_out_and_secrets_refused() {
        let containers = json!([{
            "name": "worker", "image": "repo/worker:1", "cpu": 256, "memory": 512, "user": "nobody",
            "essential": true, "privileged": false, "environment": [{ "name": "FLASK_ENV", "value": "development" }],
            "logConfiguration": { "logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/w", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "worker" } },
            "portMappings": [{ "containerPort": 80 }], "mountPoints": [], "volumesFrom": []
        }]);
        let (task, notes) =
            task_spec("w", (Some("256"), Some("512")), (Some("arn:r"), None), None, &containers).unwrap();
        assert_eq!(
            task,
            json!({ "family": "w", "cpu": 256, "memory": 512, "executionRole": "arn:r", "containers": [{
                "name": "worker", "image": "repo/worker:1", "cpu": 256, "memory": 512, "user": "nobody",
                "logs": { "group": "/ecs/w", "region": "eu-west-1", "streamPrefix": "worker" },
                "env": { "FLASK_ENV": "development" } }] })
        );
        assert_eq!(notes, vec!["container worker: portMappings (steward does not manage it; it stays as it is)"]);
        let secret =
            json!([{ "name": "api", "image": "x", "environment": [{ "name": "DB_PASSWORD", "value": "hunter2" }] }]);
        let refused = task_spec("w", (Some("256"), Some("512")), (None, None), None, &secret).unwrap_err().to_string();
        assert!(refused.contains("DB_PASSWORD") && !refused.contains("hunter2"), "{refused}");
    }

    #[test]
    fn only_the_allow_everything_policy_is_the_default() {
        assert!(is_full_access(r#"{"Statement":[{"Action":"*","Effect":"Allow","Principal":"*","Resource":"*"}]}"#));
        assert!(!is_full_access(
            r#"{"Statement":[{"Action":"s3:GetObject","Effect":"Allow","Principal":"*","Resource":"*"}]}"#
        ));
    }
}
