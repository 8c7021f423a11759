//! The move of the converged App Runner stack to ECS Express Mode, as the steps of
//! `steward express-from` carry it out: declared in one apply (the Express service, its domain,
//! the record switched to it, the worker given its URL), rolled back (the record to App Runner),
//! then finished (App Runner, its domain and connector removed). A watcher reads the public name
//! from the Route 53 zone several times a second throughout and checks that what it names serves.

mod common;

use common::live::Live;
use common::{REGION, replace_in};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NAME: &str = "mmweb.mentor-match.example.com";
const SEED_TARGET: &str = r#"values: ["${AppRunnerCustomDomain/mmweb-domain.dnsTarget}"]"#;
const EXPRESS_TARGET: &str = r#"values: ["${ListenerRule/mmweb-domain-route.dnsTarget}"]"#;

/// What the watcher can reach on its own thread.
#[derive(Clone)]
struct Eyes {
    sdk: aws_config::SdkConfig,
    emulator: String,
    zone: String,
    account: String,
    app_runner_target: String,
    app_runner_service: String,
}

/// One look: the name's CNAME value and whether what it names serves now.
#[derive(Clone)]
struct Look {
    value: String,
    serving: bool,
    why: String,
}

impl Eyes {
    /// When the name was read, and the look.
    fn look(&self) -> (Instant, Look) {
        common::runtime().block_on(async {
            let route53 = aws_sdk_route53::Client::new(&self.sdk);
            let sets = route53.list_resource_record_sets().hosted_zone_id(&self.zone).send().await.unwrap();
            let read = Instant::now();
            let value = sets
                .resource_record_sets()
                .iter()
                .find(|s| s.name() == format!("{NAME}.") && s.r#type().as_str() == "CNAME")
                .and_then(|s| s.resource_records().first())
                .map(|r| r.value().trim_end_matches('.').to_string())
                .unwrap_or_default();
            let (serving, why) = if value == self.app_runner_target {
                self.app_runner_serves().await
            } else {
                self.express_serves(&value).await
            };
            (read, Look { value, serving, why })
        })
    }

    async fn app_runner_serves(&self) -> (bool, String) {
        let conf = aws_sdk_apprunner::config::Builder::from(&self.sdk).endpoint_url(&self.emulator).build();
        let client = aws_sdk_apprunner::Client::from_conf(conf);
        match client.describe_service().service_arn(&self.app_runner_service).send().await {
            Ok(out) => {
                let status = out.service().map(|s| s.status().as_str().to_string()).unwrap_or_default();
                (status == "RUNNING", format!("App Runner {status}"))
            }
            Err(e) => (false, format!("App Runner: {e}")),
        }
    }

    /// The Express service behind a load balancer name serves: ACTIVE, its deployment finished,
    /// its target group with a healthy target.
    async fn express_serves(&self, value: &str) -> (bool, String) {
        let elbv2 = aws_sdk_elasticloadbalancingv2::Client::new(&self.sdk);
        let lbs = elbv2.describe_load_balancers().send().await.unwrap();
        if !lbs.load_balancers().iter().any(|l| l.dns_name() == Some(value)) {
            return (false, format!("{value:?} is no load balancer"));
        }
        let conf = aws_sdk_ecs::config::Builder::from(&self.sdk).endpoint_url(&self.emulator).build();
        let ecs = aws_sdk_ecs::Client::from_conf(conf);
        let arn = format!("arn:aws:ecs:{REGION}:{}:service/default/mmweb", self.account);
        let Ok(out) = ecs.describe_express_gateway_service().service_arn(&arn).send().await else {
            return (false, "no Express service".into());
        };
        let service = out.service().unwrap();
        let status = service.status().and_then(|s| s.status_code()).map(|s| s.as_str().to_string()).unwrap_or_default();
        let deployment = service.current_deployment().unwrap_or_default();
        let d = ecs.describe_service_deployments().service_deployment_arns(deployment).send().await.unwrap();
        let deployed = d.service_deployments().first().and_then(|d| d.status()).map(|s| s.as_str().to_string());
        let revision = service.active_configurations()[0].service_revision_arn().unwrap_or_default();
        let r = ecs.describe_service_revisions().service_revision_arns(revision).send().await.unwrap();
        let managed = r.service_revisions()[0].ecs_managed_resources().unwrap();
        let tg = managed.ingress_paths()[0].target_groups()[0].arn().unwrap();
        let health = elbv2.describe_target_health().target_group_arn(tg).send().await.unwrap();
        let healthy = health
            .target_health_descriptions()
            .iter()
            .filter(|t| t.target_health().and_then(|h| h.state()).is_some_and(|s| s.as_str() == "healthy"))
            .count();
        let serving = status == "ACTIVE" && deployed.as_deref() == Some("SUCCESSFUL") && healthy > 0;
        (serving, format!("Express {status}, deployment {deployed:?}, {healthy} healthy target(s)"))
    }
}

/// Every look, with when the name was read.
type Looks = Arc<Mutex<Vec<(Instant, Look)>>>;

/// Looks every 200 ms until stopped; every look is kept.
fn watch(eyes: Eyes, stop: Arc<AtomicBool>) -> (std::thread::JoinHandle<()>, Looks) {
    let looks = Arc::new(Mutex::new(Vec::new()));
    let kept = looks.clone();
    let handle = std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            let look = eyes.look();
            kept.lock().unwrap().push(look);
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    (handle, looks)
}

/// A planned move is changes, never drift: no alert fires for it.
fn no_drift(events: &[serde_json::Value]) {
    let drift = common::live::named(events, "drift_detected");
    assert!(drift.is_empty(), "drift alerts during a planned change: {drift:?}");
}

#[test]
fn the_move_from_app_runner_to_express_never_leaves_the_name_without_a_serving_target() {
    let live = Live::start();
    let app_runner_target = live.output("AppRunnerCustomDomain/mmweb-domain", "dnsTarget");
    assert_eq!(live.cname(NAME), vec![app_runner_target.clone()]);
    let dir = live.world.seed_copy();
    let express = dir.join("express.yaml");
    let account = live.world.account.id.clone();
    let role = |name: &str| format!("arn:aws:iam::{account}:role/{name}");
    let out = live.world.ok(&[
        "express-from",
        "AppRunnerService/mmweb",
        "--execution-role",
        &role("mmweb-express-exec"),
        "--infrastructure-role",
        &role("mmweb-express-infrastructure"),
        "-f",
        express.to_str().unwrap(),
    ]);
    assert!(out.contains("steward edit Route53Record/mmweb-cname"), "{out}");
    assert!(out.contains("steward delete AppRunnerCustomDomain/mmweb-domain"), "{out}");

    let eyes = Eyes {
        sdk: live.sdk.clone(),
        emulator: live.emulator_url().to_string(),
        zone: live.network["hostedZoneId"].as_str().unwrap().to_string(),
        account: account.clone(),
        app_runner_target: app_runner_target.clone(),
        app_runner_service: live.output("AppRunnerService/mmweb", "arn"),
    };
    // New tasks pass the load balancer's health checks 3 s after their deployment: a record
    // switched before that would name a target group with no healthy target.
    live.admin("POST", "/_emulator/config", r#"{"healthCheckMs": 3000}"#);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let (watcher, looks) = watch(eyes.clone(), stop.clone());

    // 1-2. Declared at once: Express and its domain beside App Runner, the record switched to the
    // Express rule, the worker given the Express URL. The switch waits for a serving target.
    replace_in(&dir.join("web.yaml"), SEED_TARGET, EXPRESS_TARGET);
    let worker_url = "SERVICE_URL: https://${AppRunnerService/mmweb.serviceUrl}";
    replace_in(&dir.join("worker.yaml"), worker_url, "SERVICE_URL: ${EcsExpressService/mmweb.endpoint}");
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    no_drift(&live.converge());
    let express_target = live.output("ListenerRule/mmweb-domain-route", "dnsTarget");
    assert_eq!(live.cname(NAME), vec![express_target.clone()], "switched to Express");

    // Rollback: the record back to App Runner, which still runs.
    replace_in(&dir.join("web.yaml"), EXPRESS_TARGET, SEED_TARGET);
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    no_drift(&live.converge());
    assert_eq!(live.cname(NAME), vec![app_runner_target.clone()], "back on App Runner");

    // 3. Forward again, and App Runner, its domain, validation record and connector removed.
    let web = std::fs::read_to_string(common::repo_path("desired-state/mentor-match/web.yaml")).unwrap();
    let cname =
        web.split("---\n").find(|d| d.contains("name: mmweb-cname")).unwrap().replace(SEED_TARGET, EXPRESS_TARGET);
    std::fs::write(dir.join("web.yaml"), cname).unwrap();
    live.world.ok(&["apply", "--prune", "-f", dir.to_str().unwrap()]);
    no_drift(&live.converge());
    stop.store(true, Ordering::SeqCst);
    watcher.join().unwrap();

    assert_eq!(live.cname(NAME), vec![express_target.clone()]);
    let runner = live.block(live.apprunner().list_services().send()).unwrap();
    let running = runner.service_summary_list().iter().filter(|s| s.status().is_some_and(|s| s.as_str() != "DELETED"));
    assert_eq!(running.count(), 0, "App Runner is gone");
    let looks = looks.lock().unwrap();
    let bad: Vec<String> =
        looks.iter().filter(|(_, l)| !l.serving).map(|(_, l)| format!("{} ({})", l.value, l.why)).collect();
    assert!(bad.is_empty(), "the name pointed at something not serving: {bad:?}");
    let seen: std::collections::BTreeSet<&str> = looks.iter().map(|(_, l)| l.value.as_str()).collect();
    assert!(seen.contains(app_runner_target.as_str()) && seen.contains(express_target.as_str()), "{seen:?}");
    // At least once a second throughout.
    let mut last = started;
    for (at, _) in looks.iter() {
        assert!(
            at.duration_since(last) < Duration::from_secs(1),
            "a gap of {:?} between looks",
            at.duration_since(last)
        );
        last = *at;
    }
    assert_eq!(live.world.run(&["diff", "--live"]).code(), 0);
}
