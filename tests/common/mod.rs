//! Test harness: real processes over loopback. A moto server per test binary (free port, stopped
//! when the binary exits), one moto account per test for isolation, and the real `steward` binary.
#![allow(dead_code)]

pub mod browser;
pub mod drift;
pub mod live;
pub mod tfstate;

use std::io::BufRead;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const REGION: &str = "eu-west-1";

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `program` under a small shell watchdog that kills it when this test process exits,
/// however it exits, so no server outlives its tests.
pub fn spawn_with_watchdog(program: &str, args: &[String], log: &Path) {
    let me = std::process::id();
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script = format!(
        "{program} {} >'{}' 2>&1 & child=$!; trap 'kill $child 2>/dev/null' EXIT; \
         while kill -0 {me} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 0.5; done",
        quoted.join(" "),
        log.display()
    );
    let mut child = Command::new("sh").arg("-c").arg(script).stdin(Stdio::null()).spawn().expect("starting a server");
    // Reap the watchdog when it ends so it leaves no zombie behind.
    std::thread::spawn(move || child.wait());
}

/// Waits until `url` answers HTTP at all.
pub fn wait_for_http(url: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = url.trim_start_matches("http://");
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not start listening on {url} within 60 s");
}

/// The moto server shared by the tests of this binary.
pub fn moto_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("steward-test-moto-{port}.log"));
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        // MOTO_ECS_SERVICE_RUNNING: without it moto keeps every ECS service at runningCount 0.
        // MOTO_IAM_LOAD_MANAGED_POLICIES: without it AWS's managed policies (arn:aws:iam::aws:…)
        // do not exist, and attaching one fails with NoSuchEntity.
        // bootstrap/moto-server.py serves one request at a time (see there why).
        let server = repo_path("bootstrap/moto-server.py");
        spawn_with_watchdog(
            &format!(
                "env MOTO_ECS_SERVICE_RUNNING=1 MOTO_IAM_LOAD_MANAGED_POLICIES=true {python} {}",
                server.display()
            ),
            &["127.0.0.1".into(), port.to_string()],
            &log,
        );
        let url = format!("http://127.0.0.1:{port}");
        wait_for_http(&url, "moto");
        url
    })
}

/// Credentials for a fresh moto account, obtained the ordinary way (sts:AssumeRole), so that each
/// test sees only its own resources.
pub struct Account {
    pub id: String,
    pub access_key: String,
    pub secret_key: String,
    pub session_token: String,
}

static NEXT_ACCOUNT: AtomicU32 = AtomicU32::new(1);

pub fn new_account() -> Account {
    account(&format!("{:06}{:06}", std::process::id() % 1_000_000, NEXT_ACCOUNT.fetch_add(1, Ordering::SeqCst)))
}

/// Credentials for moto account `id` (the demo's is 123456789012).
pub fn account(id: &str) -> Account {
    let id = id.to_string();
    let url = moto_url().to_string();
    let role = format!("arn:aws:iam::{id}:role/steward-test");
    let creds = runtime().block_on(async move {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(url)
            .credentials_provider(aws_sdk_sts::config::Credentials::new("test", "test", None, None, "test"))
            .load()
            .await;
        let out = aws_sdk_sts::Client::new(&config)
            .assume_role()
            .role_arn(role)
            .role_session_name("test")
            .send()
            .await
            .expect("sts:AssumeRole on moto");
        out.credentials.expect("credentials")
    });
    Account {
        id,
        access_key: creds.access_key_id,
        secret_key: creds.secret_access_key,
        session_token: creds.session_token,
    }
}

pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap())
}

/// One test's world: its own moto account, a table, and a way to run `steward` in it.
pub struct World {
    pub account: Account,
    pub table: String,
    pub dir: tempfile::TempDir,
    /// App Runner and ElastiCache, when the test needs them.
    pub emulator: Option<EmulatorProcess>,
}

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

impl World {
    pub fn new() -> Self {
        World::in_account(new_account())
    }

    pub fn in_account(account: Account) -> Self {
        World { account, table: "steward".into(), dir: tempfile::tempdir().unwrap(), emulator: None }
    }

    /// A `steward` command with only the standard AWS configuration pointing it at moto.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_steward"));
        cmd.args(args);
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("AWS_") || k.starts_with("STEWARD_")) {
            cmd.env_remove(k);
        }
        cmd.env("AWS_ENDPOINT_URL", moto_url())
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", &self.account.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.account.secret_key)
            .env("AWS_SESSION_TOKEN", &self.account.session_token)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("STEWARD_TABLE", &self.table)
            .stdin(Stdio::null());
        if let Some(e) = &self.emulator {
            // The emulator answers ECS Express Mode and passes the rest of ECS on to moto.
            cmd.env("AWS_ENDPOINT_URL_APPRUNNER", &e.url)
                .env("AWS_ENDPOINT_URL_ELASTICACHE", &e.url)
                .env("AWS_ENDPOINT_URL_ECS", &e.url);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run(self.command(args).output().expect("running steward"))
    }

    /// Runs and insists on exit 0.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(run.code(), 0, "steward {args:?} failed:\n{}\n{}", run.stdout(), run.stderr());
        run.stdout()
    }

    /// An SDK configuration with this test's moto account, for out-of-band changes.
    pub fn sdk(&self) -> aws_config::SdkConfig {
        runtime().block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(REGION))
                .endpoint_url(moto_url())
                .credentials_provider(aws_sdk_sts::config::Credentials::new(
                    self.account.access_key.clone(),
                    self.account.secret_key.clone(),
                    Some(self.account.session_token.clone()),
                    None,
                    "test",
                ))
                .load(),
        )
    }

    pub fn bootstrap_and_apply_seed(&self) {
        self.ok(&["bootstrap"]);
        self.ok(&["apply", "-f", repo_path("desired-state/mentor-match").to_str().unwrap()]);
    }

    pub fn get_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["get", "-o", "json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    /// A copy of the Mentor Match desired state that a test may change.
    pub fn seed_copy(&self) -> PathBuf {
        self.copy_of("desired-state/mentor-match")
    }

    /// A copy of a folder of the repository (links followed) that a test may change, in the
    /// test's directory under the folder's own name.
    pub fn copy_of(&self, folder: &str) -> PathBuf {
        let from = repo_path(folder);
        let to = self.dir.path().join(from.file_name().unwrap());
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(&from).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
        to
    }

    /// An executable script in the test's directory (used as $EDITOR).
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\nset -e\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
}

pub fn replace_in(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// botocore's data folder, found once (the emulator reads the service models from it).
pub fn botocore_data() -> &'static str {
    static DIR: OnceLock<String> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import botocore, os; print(os.path.join(os.path.dirname(botocore.__file__), 'data'))"])
            .output()
            .expect("python3 with botocore");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    })
}

/// A server process of a test (the emulator, a fault proxy) on a loopback port, killed when the
/// test ends.
pub struct LoopbackServer {
    child: std::process::Child,
    pub url: String,
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `command` (told to listen on port 0, so the kernel picks a free port for it alone) and
/// reads the address it announces on stderr ("… listening on http://ADDR …"). A port chosen here
/// and bound later could be taken meanwhile by another test's server, and two tests would then share
/// one emulator.
fn start_server(command: &mut Command, what: &str) -> LoopbackServer {
    let mut child =
        command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("starting {what}: {e}"));
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| announced_url(&line, "listening on http://"))
        .unwrap_or_else(|| panic!("{what} ended before it announced its address"));
    // Keep reading what it writes later, so that it never blocks on (or fails at) a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    LoopbackServer { child, url }
}

/// `http://ADDR` from a line holding `marker` followed by ADDR (the marker ends in `http://`).
fn announced_url(line: &str, marker: &str) -> Option<String> {
    let rest = &line[line.find(marker)? + marker.len()..];
    let addr: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':').collect();
    Some(format!("http://{}", addr.trim_end_matches(':')))
}

pub type EmulatorProcess = LoopbackServer;

/// A binary of the emulator crate (`steward-emulator`, `steward-fault-proxy`), built beside steward
/// by `cargo test --workspace`.
pub fn emulator_crate_binary(name: &str) -> PathBuf {
    let steward = PathBuf::from(env!("CARGO_BIN_EXE_steward"));
    let path = steward.with_file_name(name);
    assert!(path.exists(), "{} is missing: run the tests with `cargo test --workspace`", path.display());
    path
}

pub fn emulator_binary() -> PathBuf {
    emulator_crate_binary("steward-emulator")
}

pub fn start_emulator(transition_ms: u64) -> EmulatorProcess {
    let mut command = Command::new(emulator_binary());
    command.args(["--port", "0", "--transition-ms", &transition_ms.to_string()]);
    command.args(["--botocore-data", botocore_data()]);
    // Custom domains validate through the DNS records in moto's Route 53; subnet groups learn
    // their subnets' VPCs from moto's EC2.
    command.env("AWS_ENDPOINT_URL", moto_url());
    start_server(&mut command, "steward-emulator")
}

/// A steward-fault-proxy in front of moto (and the emulator for its two services).
pub struct FaultProxy(LoopbackServer);

pub fn start_fault_proxy(emulator_url: &str) -> FaultProxy {
    let mut command = Command::new(emulator_crate_binary("steward-fault-proxy"));
    command.args(["--port", "0", "--upstream", moto_url()]);
    command.args(["--route", &format!("apprunner={emulator_url}"), "--route", &format!("elasticache={emulator_url}")]);
    command.args(["--route", &format!("ecs={emulator_url}")]);
    FaultProxy(start_server(&mut command, "steward-fault-proxy"))
}

impl FaultProxy {
    pub fn url(&self) -> &str {
        &self.0.url
    }

    pub fn add_fault(&self, rule: serde_json::Value) {
        let answer = http("POST", &format!("{}/_fault-proxy/faults", self.url()), &rule.to_string());
        assert!(answer.get("added").is_some(), "fault rule refused: {answer}");
    }

    pub fn clear_faults(&self) {
        http("DELETE", &format!("{}/_fault-proxy/faults", self.url()), "");
    }

    /// The call log: every call with its arrival and answer times (epoch ms) and fault.
    pub fn calls(&self) -> serde_json::Value {
        http("GET", &format!("{}/_fault-proxy/calls", self.url()), "")
    }

    pub fn stats(&self) -> serde_json::Value {
        http("GET", &format!("{}/_fault-proxy/stats", self.url()), "")
    }

    /// Every AWS endpoint variable pointed at the proxy.
    pub fn endpoint_env(&self) -> Vec<(&'static str, &str)> {
        ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_APPRUNNER", "AWS_ENDPOINT_URL_ELASTICACHE", "AWS_ENDPOINT_URL_ECS"]
            .into_iter()
            .map(|k| (k, self.url()))
            .collect()
    }
}

/// A minimal HTTP/1.1 call on loopback (the emulator's admin API), without an HTTP client crate.
pub fn http(method: &str, url: &str, body: &str) -> serde_json::Value {
    let payload = http_text(method, url, body).unwrap_or_else(|| panic!("cannot connect to {url}"));
    serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null)
}

/// The body of a minimal HTTP/1.1 call on loopback, or None when nothing listens there.
pub fn http_text(method: &str, url: &str, body: &str) -> Option<String> {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    Some(response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

/// A `steward run` process of a test, killed (SIGKILL) when dropped.
pub struct Daemon {
    pub child: std::process::Child,
    pub http: String,
    pub log: PathBuf,
}

impl World {
    /// Starts `steward run` with short leases and its output in a log file.
    pub fn daemon(&self, name: &str, extra: &[&str]) -> Daemon {
        self.daemon_with_env(name, extra, &[])
    }

    /// `daemon`, with environment variables set on top (for example endpoints through the fault proxy).
    pub fn daemon_with_env(&self, name: &str, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        let log = self.dir.path().join(format!("{name}.log"));
        // Port 0: the daemon binds a port of its own and logs it (see `start_server` for why).
        let mut args = vec!["run", "--http-addr", "127.0.0.1:0", "--replica-id", name, "--poll-interval", "500ms"];
        args.extend_from_slice(extra);
        let child = self
            .command(&args)
            .envs(env.iter().copied())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
            .spawn()
            .expect("starting steward run");
        let mut daemon = Daemon { child, http: String::new(), log };
        daemon.http = daemon.announced_http();
        daemon
    }
}

impl Daemon {
    /// The address the daemon logs once its HTTP endpoints listen.
    fn announced_http(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(url) = log.lines().find_map(|line| announced_url(line, "HTTP on http://")) {
                return url;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("steward run ended ({status}) before it listened: {}", self.log.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("steward run did not log its HTTP address within 60 s: {}", self.log.display());
    }

    pub fn get(&self, path: &str) -> serde_json::Value {
        http("GET", &format!("{}{path}", self.http), "")
    }

    /// Stacks this replica holds leases on.
    pub fn owned(&self) -> Vec<String> {
        let status = self.get("/status");
        status["stacks"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s["stack"].as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }

    /// The /metrics text (empty when the process does not answer).
    fn metrics(&self) -> String {
        http_text("GET", &format!("{}/metrics", self.http), "").unwrap_or_default()
    }

    /// AWS calls of one service and operation this process made.
    pub fn calls(&self, service: &str, operation: &str) -> u64 {
        let labels = format!("service=\"{service}\",operation=\"{operation}\"");
        self.metrics()
            .lines()
            .filter(|l| l.starts_with("steward_aws_calls_total{") && l.contains(&labels))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    /// Mutating AWS calls this process made (steward's own DynamoDB and log writes excluded).
    pub fn mutating_calls(&self) -> u64 {
        self.metrics()
            .lines()
            .filter(|l| l.starts_with("steward_aws_calls_total{"))
            .filter(|l| !l.contains("service=\"DynamoDB\"") && !l.contains("service=\"CloudWatch Logs\""))
            .filter(|l| !["Describe", "List", "Get"].iter().any(|p| l.contains(&format!("operation=\"{p}"))))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    /// The JSON event lines written so far.
    pub fn events(&self) -> Vec<serde_json::Value> {
        live::events(&std::fs::read_to_string(&self.log).unwrap_or_default())
    }

    pub fn signal(&self, signal: &str) {
        Command::new("kill").args([&format!("-{signal}"), &self.child.id().to_string()]).status().unwrap();
    }

    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it holds, or fails the test after `within` (generous bounds only).
pub fn eventually(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out after {within:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `./bootstrap/break TARGET`, as a person with the world's AWS environment (its account, moto and
/// emulator) runs it.
pub fn break_stack(world: &World, target: &str) -> Run {
    let mut command = Command::new(repo_path("bootstrap/break"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("AWS_")) {
        command.env_remove(k);
    }
    command.envs(world.command(&[]).get_envs().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))));
    Run(command.arg(target).output().expect("running bootstrap/break"))
}

/// Every target of `./bootstrap/break`, and the resource whose drift `diff --live` reports for
/// it on a demo whose web tier is `web` (`AppRunnerService/mmweb` or `EcsExpressService/mmweb`).
/// Redis comes last: while it is missing, what refers to its address waits and is not compared.
pub fn break_targets(web: &str) -> [(&'static str, String); 5] {
    [
        ("worker", "EcsService/mentor-match-worker".into()),
        ("endpoint", "VpcEndpoint/logs".into()),
        ("env", web.into()),
        ("password", "CacheUser/redisadmin".into()),
        ("redis", "CacheCluster/mentor-match-redis".into()),
    ]
}

/// Runs every target of `./bootstrap/break` on a converged demo stack, one after another: each
/// exits 0, and `diff --live` then reports drift on the target's resource.
pub fn every_break_is_reported(live: &live::Live, web: &str) {
    for (target, resource) in break_targets(web) {
        let run = break_stack(&live.world, target);
        assert_eq!(run.code(), 0, "break {target}:\n{}\n{}", run.stdout(), run.stderr());
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (code, fields) = drift::reported(live);
            if code == 2 && fields.iter().any(|f| f.starts_with(&format!("{resource} "))) {
                break;
            }
            assert!(Instant::now() < deadline, "break {target}: diff --live (exit {code}) says {fields:?}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}
