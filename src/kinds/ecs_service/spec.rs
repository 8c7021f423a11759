//! The spec an EcsService's adapter reads: the service, its network and its task definition.

use std::collections::BTreeMap;

/// The spec an EcsService's adapter reads.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EcsServiceSpec {
    /// The cluster's name or ARN (a reference, resolved).
    pub cluster: String,
    #[serde(default = "one_task")]
    pub desired_count: i32,
    pub launch_type: Option<String>,
    pub platform_version: Option<String>,
    pub propagate_tags: Option<String>,
    #[serde(default)]
    pub enable_execute_command: bool,
    pub network: NetworkSpec,
    pub task_definition: TaskSpec,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkSpec {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    #[serde(default)]
    pub assign_public_ip: bool,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskSpec {
    pub family: String,
    pub cpu: i64,
    pub memory: i64,
    pub runtime_platform: Option<PlatformSpec>,
    pub execution_role: Option<String>,
    pub task_role: Option<String>,
    pub containers: Vec<ContainerSpec>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlatformSpec {
    #[serde(default = "linux")]
    pub os: String,
    #[serde(default = "x86")]
    pub cpu_architecture: String,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub cpu: Option<i64>,
    pub memory: Option<i64>,
    pub user: Option<String>,
    #[serde(default = "yes")]
    pub essential: bool,
    #[serde(default)]
    pub privileged: bool,
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Environment variables from secrets: name → ARN (never the value).
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    pub logs: Option<LogsSpec>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogsSpec {
    pub group: String,
    pub region: Option<String>,
    pub stream_prefix: String,
}

fn one_task() -> i32 {
    1
}

fn linux() -> String {
    "LINUX".into()
}

fn x86() -> String {
    "X86_64".into()
}

fn yes() -> bool {
    true
}
