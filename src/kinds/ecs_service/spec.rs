//! An EcsService's declaration: the service, its network and the task definition it runs, and
//! the view the diff compares (the task definition with its status).

use crate::kinds::typed::Declared;
use crate::schema::{StrRule, name_char};
use std::collections::BTreeMap;

/// A service's, a family's and a container's name.
pub const NAME: StrRule = StrRule {
    expected: "a name of 1 to 255 letters, digits, '-' or '_'",
    check: |s| (1..=255).contains(&s.len()) && s.chars().all(name_char("-_")),
};

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EcsServiceSpec {
    /// The cluster's name or ARN (a reference, resolved): where the service is looked for and made.
    pub cluster: String,
    /// How many tasks run (1 unless the spec says).
    #[serde(default = "one_task")]
    #[field(shape = int(0, 1000))]
    pub desired_count: i32,
    /// Only FARGATE.
    #[field(shape = Shape::Enum(&["FARGATE"]))]
    pub launch_type: Option<String>,
    /// The Fargate platform version (AWS's LATEST when left out).
    pub platform_version: Option<String>,
    /// Whose tags its tasks carry.
    #[field(shape = Shape::Enum(&["TASK_DEFINITION", "SERVICE", "NONE"]))]
    pub propagate_tags: Option<String>,
    /// A shell into its tasks (off unless the spec says).
    #[serde(default)]
    pub enable_execute_command: bool,
    /// Its subnets and security groups (sets), and whether tasks get a public IP.
    pub network: NetworkSpec,
    /// The task definition it runs: a difference registers a new revision.
    pub task_definition: TaskSpec,
}

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkSpec {
    #[field(shape = selectors("subnet-"))]
    pub subnets: Vec<String>,
    #[field(shape = selectors("sg-"))]
    pub security_groups: Vec<String>,
    #[serde(default)]
    pub assign_public_ip: bool,
}

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskSpec {
    #[field(shape = string(NAME))]
    pub family: String,
    #[field(shape = int(256, 16384))]
    pub cpu: i64,
    #[field(shape = int(512, 122880))]
    pub memory: i64,
    pub runtime_platform: Option<PlatformSpec>,
    #[field(shape = arn())]
    pub execution_role: Option<String>,
    #[field(shape = arn())]
    pub task_role: Option<String>,
    #[field(shape = list(ContainerSpec::shape(), 1, 10))]
    pub containers: Vec<ContainerSpec>,
}

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlatformSpec {
    #[serde(default = "linux")]
    #[field(shape = Shape::Enum(&["LINUX"]))]
    pub os: String,
    #[serde(default = "x86")]
    #[field(shape = Shape::Enum(&["X86_64", "ARM64"]))]
    pub cpu_architecture: String,
}

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerSpec {
    #[field(shape = string(NAME))]
    pub name: String,
    pub image: String,
    #[field(shape = int(0, 16384))]
    pub cpu: Option<i64>,
    #[field(shape = int(6, 122880))]
    pub memory: Option<i64>,
    pub user: Option<String>,
    #[serde(default = "yes")]
    pub essential: bool,
    #[serde(default)]
    pub privileged: bool,
    #[field(shape = list(any_string(), 1, 64))]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    #[field(shape = env())]
    pub env: BTreeMap<String, String>,
    /// Environment variables from secrets: name → ARN (never the value).
    #[serde(default)]
    #[field(shape = dict(ENV_NAME, any_string(), 100))]
    pub secrets: BTreeMap<String, String>,
    pub logs: Option<LogsSpec>,
}

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogsSpec {
    pub group: String,
    /// The stack's region unless the spec says.
    pub region: Option<String>,
    pub stream_prefix: String,
}

/// A service as the diff compares it: what the spec manages (not its cluster, which it stays
/// in), and the task definition with its status.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceView {
    pub desired_count: i32,
    pub network: NetworkSpec,
    pub task_definition: TaskView,
    pub platform_version: Option<String>,
    pub enable_execute_command: bool,
    pub propagate_tags: Option<String>,
}

/// A task definition as the diff compares it.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskView {
    /// ACTIVE: a deregistered (INACTIVE) revision is drift, since AWS refuses to deploy it again.
    pub status: String,
    #[serde(flatten)]
    pub task: TaskSpec,
}

impl From<EcsServiceSpec> for ServiceView {
    fn from(spec: EcsServiceSpec) -> Self {
        ServiceView {
            desired_count: spec.desired_count,
            network: spec.network,
            task_definition: TaskView { status: "ACTIVE".into(), task: spec.task_definition },
            platform_version: spec.platform_version,
            enable_execute_command: spec.enable_execute_command,
            propagate_tags: spec.propagate_tags,
        }
    }
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
