//! Why an import stops, and why it leaves an object out: typed, so that the CLI words each case
//! itself (and a report can name a reason) without reading any text back.

use crate::model::{Kind, ReconcileError};
use std::fmt;

/// What an import's readers return.
pub type Result<T> = std::result::Result<T, ImportError>;

/// Why an import cannot go on: nothing is written.
#[derive(Debug)]
pub enum ImportError {
    /// The state file is not JSON (where reading stopped; the text is never quoted: it holds secrets).
    NotJson { file: String, line: usize, column: usize },
    /// A raw state in a format other than 4.
    StateFormat { file: String, version: u64 },
    /// Neither a raw state nor `terraform show -json` output.
    NotAState { file: String },
    /// `--vpc` names no VPC of the region.
    NoSuchVpc { vpc: String, region: String },
    /// `--vpc` names several VPCs by their Name tag.
    AmbiguousVpc { vpc: String, region: String, count: usize },
    /// `--password-parameter` names a cache user that is not there.
    NoSuchCacheUser { user: String, region: String },
    /// `--password-parameter` names an SSM parameter that is not there.
    NoSuchParameter { user: String, parameter: String, region: String },
    /// An AWS call failed (the SDK's error is the source, for the CLI's hints).
    Call { operation: &'static str, source: Box<dyn std::error::Error + Send + Sync> },
    /// A kind could not read the objects the stack names.
    Discover(ReconcileError),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ImportError::NotJson { file, line, column } => write!(
                f,
                "{file}: not JSON (line {line}, column {column}); expected a Terraform state or `terraform show -json` output"
            ),
            ImportError::StateFormat { file, version } => write!(
                f,
                "{file}: .version: state format {version}; expected 4 (Terraform 0.12 or later): run `terraform state pull` with a current Terraform first"
            ),
            ImportError::NotAState { file } => write!(
                f,
                "{file}: .version: missing; expected a Terraform state (format 4) or `terraform show -json` output"
            ),
            ImportError::NoSuchVpc { vpc, region } => {
                write!(f, "--vpc {vpc}: no such VPC in {region}; give its id (vpc-…) or its Name tag")
            }
            ImportError::AmbiguousVpc { vpc, region, count } => {
                write!(f, "--vpc {vpc}: {count} VPCs have that Name in {region}; give the id (vpc-…)")
            }
            ImportError::NoSuchCacheUser { user, region } => {
                write!(f, "--password-parameter {user}=…: no cache user {user} in {region}")
            }
            ImportError::NoSuchParameter { user, parameter, region } => {
                write!(f, "--password-parameter {user}={parameter}: no such SSM parameter in {region}")
            }
            ImportError::Call { operation, .. } => f.write_str(operation),
            ImportError::Discover(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ImportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ImportError::Call { source, .. } => Some(source.as_ref()),
            ImportError::Discover(e) => Some(e),
            _ => None,
        }
    }
}

/// `map_err(call("ec2:DescribeVpcs"))`: a failed AWS call of an import, named.
pub fn call<E: std::error::Error + Send + Sync + 'static>(operation: &'static str) -> impl FnOnce(E) -> ImportError {
    move |e| ImportError::Call { operation, source: Box::new(e) }
}

/// Why one object of a state or an account is not kept (the import's summary names it).
#[derive(Debug, Clone, PartialEq)]
pub enum Skip {
    /// A Terraform data source.
    DataSource,
    /// A tainted instance, which Terraform will replace.
    Tainted,
    /// A deposed instance (`deposed (<key>)`), which Terraform is replacing.
    Replaced(String),
    /// A resource type no kind keeps.
    NotAKind(String),
    /// The attribute its identity comes from is missing.
    Missing(&'static str),
    /// The provider marked an attribute steward needs sensitive.
    Sensitive(String),
    /// Something of the object steward does not keep, said as what it is.
    Unkept(Unkept),
    /// An environment variable that looks like a secret (`container` where it is a container's).
    SecretInEnvironment { container: Option<String>, variable: String, move_to: &'static str },
    /// A DNS record of a type steward does not keep.
    RecordType(String),
    /// A task definition without a task-level size.
    NoTaskSize(&'static str),
    /// Already kept by steward, as this resource.
    AlreadyKept(String),
    /// A cache user whose password's parameter `--password-parameter` does not name.
    NoPasswordParameterGiven(String),
    /// What the schema refuses, by field.
    Inexpressible { kind: Kind, problems: Vec<String> },
}

/// Shapes of objects steward does not keep, each with a fixed explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unkept {
    ReplicationGroupMember,
    NoPasswordParameterInState,
    BuildsFromCode,
    AliasRecord,
    TaskDefinitionNotInState,
    ContainersNotJson,
    NotAwsvpc,
    UnusedParameter,
    UnusedTaskDefinition,
    DomainOutsideZones,
    /// A part of another object (a role's policy attachment) whose object is not imported.
    PartWithoutItsObject,
}

impl fmt::Display for Unkept {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Unkept::ReplicationGroupMember => "a member of a replication group, which steward does not keep",
            Unkept::NoPasswordParameterInState => {
                "no aws_ssm_parameter in the state holds its password: put the password in an SSM SecureString, add it to the state, and import again"
            }
            Unkept::BuildsFromCode => "it builds from a code repository; steward keeps image-based services",
            Unkept::AliasRecord => "an alias record, which steward does not keep",
            Unkept::TaskDefinitionNotInState => "its aws_ecs_task_definition is not in this state",
            Unkept::ContainersNotJson => "its task definition's container_definitions is not JSON",
            Unkept::NotAwsvpc => "no awsvpc network configuration (steward keeps Fargate-style services)",
            Unkept::UnusedParameter => "aws_ssm_parameter is kept only as a cache user's password parameter",
            Unkept::UnusedTaskDefinition => {
                "aws_ecs_task_definition is kept only as the task definition of an imported aws_ecs_service"
            }
            Unkept::DomainOutsideZones => "no hosted zone of this account holds it: its DNS records are kept elsewhere",
            Unkept::PartWithoutItsObject => {
                "a part of an object this import does not write (a role, repository, security group or route table): it is kept with that object"
            }
        })
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Skip::DataSource => f.write_str("a data source: read by Terraform, owned by someone else"),
            Skip::Tainted => f.write_str("tainted: Terraform will replace it; import after `terraform apply`"),
            Skip::Replaced(status) => write!(f, "{status}: an old object Terraform is replacing"),
            Skip::NotAKind(resource_type) => write!(f, "{resource_type} is not a kind steward keeps"),
            Skip::Missing(attribute) => write!(f, "no {attribute}"),
            Skip::Sensitive(attribute) => {
                write!(f, "its `{attribute}` is marked sensitive in the state; write this resource by hand")
            }
            Skip::Unkept(what) => what.fmt(f),
            Skip::SecretInEnvironment { container, variable, move_to } => {
                if let Some(container) = container {
                    write!(f, "container {container}: ")?;
                }
                write!(f, "environment variable {variable} looks like a secret: move it to {move_to} and import again")
            }
            Skip::RecordType(record_type) => write!(f, "a {record_type} record; steward keeps A, AAAA, CNAME and TXT"),
            Skip::NoTaskSize(what) => {
                write!(f, "its task definition has no task-level {what} (steward keeps Fargate task sizes)")
            }
            Skip::AlreadyKept(owner) => write!(f, "already kept by steward as {owner}"),
            Skip::NoPasswordParameterGiven(user) => write!(
                f,
                "a cache user: name its password's SSM parameter with --password-parameter {user}=/path/to/parameter to import it"
            ),
            Skip::Inexpressible { kind, problems } => {
                write!(f, "steward cannot express it as a {kind}: {}", problems.join("; "))
            }
        }
    }
}

impl From<Unkept> for Skip {
    fn from(what: Unkept) -> Skip {
        Skip::Unkept(what)
    }
}
