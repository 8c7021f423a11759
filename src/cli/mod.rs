//! The `steward` command line: verbs that call the library and print. Exit codes: 0 success,
//! 1 error, 2 "there are changes" for `diff` (the convention of `terraform plan -detailed-exitcode`).

mod accept;
mod apply;
mod context;
mod edit;
mod errors;
mod express;
mod import;
mod read;
mod reconcile;
mod run;
mod watch;
mod write;

pub use context::{Ctx, Output, Written, parse_target};
pub use run::RunArgs;

use crate::model::Kind;
use crate::store::{DEFAULT_TABLE, Store};
use anyhow::{Result, bail};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "steward", version, about = "Keeps an AWS stack the way its owners said it should be", after_help = kinds_help())]
pub struct Cli {
    /// Stack to act on (default: every stack, or the one a KIND/NAME belongs to)
    #[arg(long, global = true, env = "STEWARD_STACK")]
    pub stack: Option<String>,
    /// DynamoDB table holding the desired state
    #[arg(long, global = true, env = "STEWARD_TABLE", default_value = DEFAULT_TABLE)]
    pub table: String,
    /// AWS region (default: the SDK's configuration chain)
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Output format
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// On an error, also print the underlying AWS error
    #[arg(short = 'v', long = "verbose", global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create the DynamoDB table (idempotent; waits until it is active)
    #[command(after_help = "Examples:\n  steward bootstrap\n  steward --table steward-staging bootstrap")]
    Bootstrap,
    /// Validate manifests offline; prints every error and exits 1 if there is any
    #[command(
        after_help = "Examples:\n  steward validate -f desired-state/mentor-match\n  steward validate -f web.yaml worker.yaml"
    )]
    Validate {
        /// Manifest files or folders of them
        #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
        files: Vec<PathBuf>,
    },
    /// Write manifests as the desired state (all or nothing)
    #[command(
        after_help = "Examples:\n  steward apply -f desired-state/mentor-match -m \"scale the worker\"\n  steward apply -f worker.yaml --dry-run\n  steward apply -f desired-state/mentor-match --prune --wait -o json"
    )]
    Apply {
        /// Manifest files or folders of them
        #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        /// Show what would change without writing
        #[arg(long)]
        dry_run: bool,
        /// Delete stored resources of the files' stacks that the files no longer contain
        #[arg(long)]
        prune: bool,
        /// A note recorded in history with every version this apply writes
        #[arg(short, long)]
        message: Option<String>,
        /// Then wait until a running controller has made every resource of these stacks ready
        #[arg(long)]
        wait: bool,
        /// How long --wait waits (like 90s, 10m)
        #[arg(long, default_value = "30m")]
        timeout: String,
    },
    /// List resources of the desired state
    #[command(
        after_help = "Examples:\n  steward get\n  steward get svc/mentor-match-worker -o yaml\n  steward get stacks"
    )]
    Get {
        /// KIND or KIND/NAME
        target: Option<String>,
    },
    /// Edit one resource's desired state in $EDITOR
    #[command(
        after_help = "Examples:\n  steward edit EcsService/mentor-match-worker\n  EDITOR=nano steward edit cc/mentor-match-redis -m \"bigger node\""
    )]
    Edit {
        /// KIND/NAME
        target: String,
        /// A note recorded in history with the new version
        #[arg(short, long)]
        message: Option<String>,
    },
    /// Compare manifests with the stored desired state, or (--live) the desired state with the
    /// real AWS objects (exit 0 no change, 2 changes or drift, 1 error)
    #[command(
        after_help = "Examples:\n  steward diff -f desired-state/mentor-match\n  steward diff --live\n  steward diff --live CacheCluster/mentor-match-redis -o json"
    )]
    Diff {
        /// Manifest files or folders of them, compared with the stored desired state
        #[arg(short = 'f', long = "filename", num_args = 1.., required_unless_present = "live", conflicts_with = "live")]
        files: Vec<PathBuf>,
        /// Compare with the real objects in AWS, field by field, like `terraform plan`
        #[arg(long)]
        live: bool,
        /// With --live: only this KIND/NAME
        target: Option<String>,
    },
    /// Run a reconcile pass now: observe, diff and heal (repeat until converged with --wait)
    #[command(
        after_help = "Takes the lease of each stack it changes; refused while a running controller holds one.\n\nExamples:\n  steward reconcile\n  steward reconcile --wait --timeout 5m --log-format text\n  steward reconcile EcsService/mentor-match-worker"
    )]
    Reconcile {
        /// Only this KIND/NAME (its dependencies are observed for their outputs)
        target: Option<String>,
        /// Repeat passes until every resource is ready, or the timeout passes (exit 1 then)
        #[arg(long)]
        wait: bool,
        /// How long --wait waits (like 90s, 10m)
        #[arg(long, default_value = "10m")]
        timeout: String,
        /// Run this many passes back to back in one process (caches carry over, as in the daemon)
        #[arg(long, default_value_t = 1, conflicts_with = "wait")]
        passes: u32,
        /// Event lines as JSON (for machines) or text (for people)
        #[arg(long, value_enum, env = "STEWARD_LOG_FORMAT", default_value_t = crate::telemetry::LogFormat::Json)]
        log_format: crate::telemetry::LogFormat,
        /// Act without the stack's lease, even while a controller holds it (two writers may race)
        #[arg(long)]
        force: bool,
    },
    /// What the controller last saw: one row per resource (conditions, drift, backoff)
    #[command(
        after_help = "Examples:\n  steward status\n  steward status cc/mentor-match-redis -o json\n  steward status --watch --timeout 10m"
    )]
    Status {
        /// KIND or KIND/NAME
        target: Option<String>,
        /// Keep watching until interrupted, printing each change as it happens (like kubectl get -w)
        #[arg(long)]
        watch: bool,
        /// Stop --watch after this long (like 90s, 10m); without it, --watch runs until Ctrl-C
        #[arg(long, requires = "watch")]
        timeout: Option<String>,
    },
    /// The long-running controller: leases, resync schedule, fast edits, HTTP, drift alerts
    Run(Box<RunArgs>),
    /// Exit 0 if a local `steward run` answers /healthz (the container health check)
    #[command(after_help = "Example:\n  steward healthcheck --http-addr 127.0.0.1:8080")]
    Healthcheck {
        /// Where `steward run` serves HTTP
        #[arg(long, env = "STEWARD_HTTP_ADDR", default_value = "127.0.0.1:8080")]
        http_addr: String,
    },
    /// Show every version of a resource
    #[command(
        after_help = "Examples:\n  steward history EcsService/mentor-match-worker\n  steward history svc/mentor-match-worker -o json"
    )]
    History {
        /// KIND/NAME
        target: String,
    },
    /// Write an earlier version of a resource as its new version
    #[command(
        after_help = "Examples:\n  steward rollback EcsService/mentor-match-worker\n  steward rollback svc/mentor-match-worker --to 3 -m \"back to one worker\""
    )]
    Rollback {
        /// KIND/NAME
        target: String,
        /// The version to restore (default: the one before the current version, like `kubectl rollout undo`)
        #[arg(long = "to")]
        to: Option<u64>,
        /// A note recorded in history with the new version
        #[arg(short, long)]
        message: Option<String>,
    },
    /// Make the live values of a drifted resource its desired state (a change made on purpose)
    #[command(
        after_help = "Refused for secrets, for fields that come from a ${…} reference, and when nothing drifted.\n\nExamples:\n  steward accept EcsService/mentor-match-worker -m \"scaled up during the incident\"\n  steward accept ars/mmweb --field image.env.FLASK_ENV --dry-run"
    )]
    Accept {
        /// KIND/NAME
        target: String,
        /// Only these drifted fields (as `diff --live` prints them); default: all
        #[arg(long = "field")]
        fields: Vec<String>,
        /// A note recorded in history with the new version
        #[arg(short, long)]
        message: Option<String>,
        /// Show what would be written, and write nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Consent once to replacing an object for the drift only a new object can fix (its data is lost)
    #[command(
        after_help = "Example:\n  steward diff --live CacheCluster/mentor-match-redis   # blocked: only a new object can fix this\n  steward approve CacheCluster/mentor-match-redis"
    )]
    Approve {
        /// KIND/NAME
        target: String,
    },
    /// Stop reconciling a resource, or a whole stack with --stack
    #[command(
        after_help = "Examples:\n  steward pause CacheCluster/mentor-match-redis\n  steward --stack mentor-match pause"
    )]
    Pause {
        /// KIND/NAME (omit with --stack to pause the stack)
        target: Option<String>,
    },
    /// Reconcile a paused resource or stack again
    #[command(
        after_help = "Examples:\n  steward resume CacheCluster/mentor-match-redis\n  steward --stack mentor-match resume"
    )]
    Resume {
        /// KIND/NAME (omit with --stack to resume the stack)
        target: Option<String>,
    },
    /// Remove a resource from the desired state (its deletionPolicy decides what happens in AWS)
    #[command(after_help = "Example:\n  steward delete VpcEndpoint/mentor-match-ecs-telemetry -m \"not needed\"")]
    Delete {
        /// KIND/NAME
        target: String,
        /// A note recorded in history with the deletion
        #[arg(short, long)]
        message: Option<String>,
    },
    /// Write the ECS Express Mode manifests that replace an AppRunnerService (and its custom
    /// domain), and print the steps of the move
    #[command(
        after_help = "Examples:\n  steward express-from AppRunnerService/mmweb --execution-role arn:aws:iam::123456789012:role/mmweb-express-exec --infrastructure-role arn:aws:iam::123456789012:role/mmweb-express-infrastructure -f express.yaml"
    )]
    ExpressFrom {
        /// AppRunnerService/NAME
        target: String,
        /// The role the Express service's tasks pull the image and write logs with
        #[arg(long)]
        execution_role: String,
        /// The role ECS makes the load balancer, security groups and scaling with
        #[arg(long)]
        infrastructure_role: String,
        /// Write the manifests to this file (default: standard output, steps on standard error)
        #[arg(short = 'f', long = "filename")]
        file: Option<PathBuf>,
    },
    /// Write manifests (adopt: true) for a stack that already exists: from a Terraform state, or
    /// from the objects of a VPC in the account
    #[command(
        after_help = "Secrets are never written: a cache user names its SSM parameter, and a resource with a secret in plain text is skipped with the reason.\n\nExamples:\n  steward --stack mentor-match import terraform terraform.tfstate\n  terraform show -json > state.json && steward --stack mentor-match import terraform state.json --dry-run\n  steward --stack mentor-match import aws --vpc mentor-match-vpc --password-parameter redisadmin=/mentor-match/redis/password/admin"
    )]
    Import {
        #[command(subcommand)]
        from: import::From,
    },
    /// Serve the web console: stacks, the dependency graph, drift as it happens and who did it,
    /// history with diffs, and actions (with your own AWS credentials)
    #[command(
        after_help = "Prints the console's URL; only that URL opens it (it carries a session token).\n\nExamples:\n  steward ui\n  steward ui --addr 127.0.0.1:8765 --open"
    )]
    Ui {
        /// Address to listen on (port 0: a free port). Loopback unless you name another address.
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: std::net::SocketAddr,
        /// Also answer to this host name (the Host header), e.g. behind an SSH tunnel
        #[arg(long = "allow-host")]
        allow_host: Vec<String>,
        /// Open the console in the default browser
        #[arg(long)]
        open: bool,
    },
}

fn kinds_help() -> String {
    let names: Vec<String> = Kind::ALL.iter().map(|k| format!("{k} ({})", k.short_name())).collect();
    format!(
        "KIND is one of: {}. Any letter case and plurals are accepted (ecsservices).\n\nExamples:\n  steward status\n  steward get svc/mentor-match-worker -o yaml\n  steward diff --live\n  steward rollback EcsService/mentor-match-worker",
        names.join(", ")
    )
}

pub async fn aws_config(region: Option<String>) -> aws_config::SdkConfig {
    // The user agent names steward (`app/steward`): its own calls are told apart in CloudTrail.
    let app = aws_config::AppName::new("steward").expect("a valid app name");
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).app_name(app);
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r));
    }
    loader.load().await
}

pub async fn run(cli: Cli) -> ExitCode {
    if !matches!(cli.command, Command::Run(_)) {
        // `steward get | head -1`: a closed stdout ends the command quietly, as it does `ls`.
        // Not for the daemon, whose sockets must never raise SIGPIPE.
        errors::quiet_on_closed_pipe();
    }
    let verbose = cli.verbose || std::env::var("STEWARD_LOG").is_ok_and(|v| v.contains("debug"));
    let table = cli.table.clone();
    match dispatch(cli).await {
        Ok(code) => code,
        Err(e) => {
            let full = format!("{e:#}");
            match errors::explain(&e, &table) {
                Some(hint) if verbose => eprintln!("error: {hint}\n  caused by: {full}"),
                Some(hint) => eprintln!("error: {hint} (details with -v)"),
                None => eprintln!("error: {full}"),
            }
            ExitCode::from(1)
        }
    }
}

/// The verbs that load no AWS configuration at all: they read files, or a local port.
fn offline(cli: &Cli) -> Option<Result<ExitCode>> {
    match &cli.command {
        Command::Healthcheck { http_addr } => Some(Ok(healthcheck(http_addr))),
        Command::Import { from: import::From::Terraform { file, vpc, options } } => {
            let fallbacks = import::Fallbacks { region: cli.region.as_deref(), vpc: vpc.as_deref() };
            Some(import::terraform(file, cli.stack.as_deref(), fallbacks, options))
        }
        Command::Validate { files } => Some(Ok(apply::validate(files, cli.stack.as_deref()))),
        _ => None,
    }
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    if let Some(done) = offline(&cli) {
        return done;
    }
    let config = aws_config(cli.region.clone()).await;
    let no_region = config.region().is_none();
    // Without a region every call fails; the failure says so (`errors::explain`).
    online(cli, config).await.map_err(|e| if no_region { e.context(errors::Setup::NoRegion) } else { e })
}

async fn online(cli: Cli, config: aws_config::SdkConfig) -> Result<ExitCode> {
    let aws = crate::aws::Aws::new(config.clone());
    let ctx = Ctx {
        store: std::sync::Arc::new(Store::new(aws.dynamodb(), &cli.table)),
        aws,
        stack: cli.stack.clone(),
        output: cli.output,
        sts: aws_sdk_sts::Client::new(&config),
    };
    let table = cli.table.clone();
    let cli = Cli { table: table.clone(), ..cli };
    // A --stack that names no stack is a typo, except where it creates one.
    let creates = matches!(
        cli.command,
        Command::Apply { .. }
            | Command::Diff { live: false, .. }
            | Command::Bootstrap
            | Command::Run(_)
            | Command::Import { .. }
    );
    if let (Some(stack), false) = (&ctx.stack, creates) {
        let stacks = ctx.store.stacks().await?;
        if !stacks.contains(stack) {
            let known = if stacks.is_empty() {
                "there are none yet".to_string()
            } else {
                format!("stacks: {}", stacks.join(", "))
            };
            bail!("no stack named {stack:?} in table {table} ({known})");
        }
    }
    match cli.command {
        Command::Validate { .. }
        | Command::Healthcheck { .. }
        | Command::Import { from: import::From::Terraform { .. } } => {
            unreachable!("handled above")
        }
        Command::Bootstrap => {
            let created = ctx.store.bootstrap().await?;
            println!("table {} {}", ctx.store.table(), if created { "created" } else { "already exists" });
            Ok(ExitCode::SUCCESS)
        }
        Command::Apply { files, dry_run, prune, message, wait, timeout } => {
            let code = apply::apply(&ctx, &files, dry_run, prune, message).await?;
            if !wait || dry_run || code != ExitCode::SUCCESS {
                return Ok(code);
            }
            let manifests = crate::manifest::load_paths(&files, ctx.stack.as_deref())?;
            let stacks: std::collections::BTreeSet<String> = manifests.iter().map(|m| m.key.stack.clone()).collect();
            watch::wait_ready(&ctx, &stacks.into_iter().collect::<Vec<_>>(), None, &timeout).await
        }
        Command::Diff { live: true, target, .. } => reconcile::diff_live(&ctx, target.as_deref()).await,
        Command::Diff { files, .. } => apply::diff(&ctx, &files).await,
        Command::Reconcile { target, wait, timeout, passes, log_format, force } => {
            crate::telemetry::init(log_format);
            let passes = if wait { None } else { Some(passes) };
            reconcile::reconcile(&ctx, &cli.table, target.as_deref(), passes, &timeout, force).await
        }
        Command::Status { target, watch: true, timeout } => {
            let stacks = match &ctx.stack {
                Some(s) => vec![s.clone()],
                None => ctx.store.stacks().await?,
            };
            watch::follow(&ctx, &stacks, target.as_deref(), timeout.as_deref()).await
        }
        Command::Status { target, .. } => reconcile::status(&ctx, target.as_deref()).await,
        Command::Run(args) => run::run(&ctx, *args, &cli.table).await,
        Command::Get { target } => read::get(&ctx, target.as_deref()).await,
        Command::History { target } => read::history(&ctx, &target).await,
        Command::Edit { target, message } => edit::edit(&ctx, &target, message).await,
        Command::Rollback { target, to, message } => write::rollback(&ctx, &target, to, message).await,
        Command::Accept { target, fields, message, dry_run } => {
            accept::accept(&ctx, &target, &fields, message, dry_run).await
        }
        Command::Approve { target } => accept::approve(&ctx, &target).await,
        Command::Pause { target } => write::pause(&ctx, target.as_deref(), true).await,
        Command::Resume { target } => write::pause(&ctx, target.as_deref(), false).await,
        Command::Delete { target, message } => write::delete(&ctx, &target, message).await,
        Command::ExpressFrom { target, execution_role, infrastructure_role, file } => {
            let roles = crate::convert::ExpressRoles { execution: execution_role, infrastructure: infrastructure_role };
            express::express_from(&ctx, &target, &roles, file.as_deref()).await
        }
        Command::Import { from: import::From::Aws { vpc, password_parameters, options } } => {
            import::aws(&ctx, &vpc, &password_parameters, options).await
        }
        Command::Ui { addr, allow_host, open } => {
            let caller = ctx.actor().await?;
            crate::ui::serve(ctx.store.clone(), ctx.aws.clone(), caller, addr, &allow_host, open).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// GET /healthz on loopback with a 3 s limit; distroless images have no curl.
fn healthcheck(addr: &str) -> ExitCode {
    use std::io::{Read, Write};
    let addr = addr.replace("0.0.0.0", "127.0.0.1");
    let answer = (|| -> std::io::Result<String> {
        let target = addr.parse().map_err(std::io::Error::other)?;
        let mut stream = std::net::TcpStream::connect_timeout(&target, std::time::Duration::from_secs(3))?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(3)))?;
        write!(stream, "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
        let mut text = String::new();
        stream.read_to_string(&mut text)?;
        Ok(text)
    })();
    match answer {
        Ok(text) if text.starts_with("HTTP/1.1 200") => ExitCode::SUCCESS,
        Ok(text) => {
            eprintln!("unhealthy: {}", text.lines().next().unwrap_or_default());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("unhealthy: {addr}: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(parse_target("cachecluster/redis").unwrap(), (Kind::CacheCluster, Some("redis".into())));
        assert_eq!(parse_target("EcsService").unwrap(), (Kind::EcsService, None));
        assert!(parse_target("Bucket/x").unwrap_err().to_string().starts_with("unknown kind \"Bucket\""));
        assert!(parse_target("EcsService/").is_err());
    }
}
