//! Drift policy (issue #19): fields listed in `ignoreChanges` are shown but neither drift nor
//! healed; `steward accept` makes a change someone made on purpose the desired state; drift
//! outside a heal window waits for it; a resource's own `resync` sets its pace.

mod common;

use common::live::{Live, named};
use common::replace_in;
use serde_json::Value;
use std::time::{Duration, Instant};

fn worker_count(live: &Live) -> i32 {
    live.worker().0.desired_count()
}

#[test]
fn an_ignored_field_changed_out_of_band_is_listed_as_ignored_and_left_alone() {
    let live = Live::prepared();
    let dir = live.world.seed_copy();
    replace_in(
        &dir.join("worker.yaml"),
        "  desiredCount: 1\n",
        "  desiredCount: 1\n  ignoreChanges: [desiredCount, tags.*]\n",
    );
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    live.converge();
    // Someone scales the worker by hand (autoscaling would too).
    let ecs = live.ecs();
    live.block(ecs.update_service().cluster("celery-workers").service("mentor-match-worker").desired_count(3).send())
        .unwrap();
    let events: Vec<Value> = (0..3).flat_map(|_| live.pass()).collect();
    assert!(named(&events, "drift_detected").is_empty(), "not drift: {:?}", named(&events, "drift_detected"));
    assert_eq!(events.iter().filter(|e| e["mutatingCalls"].as_u64().unwrap_or(0) > 0).count(), 0, "nothing healed");
    assert_eq!(worker_count(&live), 3);
    let (code, plan) = live.plan();
    assert_eq!(code, 0, "an ignored difference is no difference: {plan:?}");
    let worker = plan.iter().find(|e| e["kind"] == "EcsService").unwrap();
    assert_eq!(worker["verdict"], "in-sync");
    assert_eq!(worker["drift"][0]["field"], "desiredCount", "{worker}");
    assert!(worker["drift"][0]["action"].as_str().unwrap().starts_with("ignored"), "{worker}");
    let text = live.world.run(&["diff", "--live"]).stdout();
    assert!(text.contains("desiredCount") && text.contains("ignored"), "{text}");
    let status = live.status("EcsService/mentor-match-worker");
    assert_eq!(status["phase"], "Ready");
    assert!(status.to_string().contains("differs where ignoreChanges says to: desiredCount"), "{status}");
}

#[test]
fn accepting_a_changed_env_var_makes_it_the_desired_state_and_references_are_refused() {
    let live = Live::start();
    // Someone sets FLASK_ENV by hand, and points REDIS_URL elsewhere.
    let arn = live.output("AppRunnerService/mmweb", "arn");
    let ar = live.apprunner();
    let current = live.block(ar.describe_service().service_arn(&arn).send()).unwrap();
    let mut source = current.service().unwrap().source_configuration().unwrap().clone();
    let mut image = source.image_repository.clone().unwrap();
    let mut config = image.image_configuration.clone().unwrap();
    let mut env = config.runtime_environment_variables.clone().unwrap_or_default();
    env.insert("FLASK_ENV".into(), "production".into());
    env.insert("REDIS_URL".into(), "redis://elsewhere:6379/0".into());
    config.runtime_environment_variables = Some(env);
    image.image_configuration = Some(config);
    source.image_repository = Some(image);
    live.block(ar.update_service().service_arn(&arn).source_configuration(source).send()).unwrap();
    common::eventually("the change is seen", Duration::from_secs(60), || {
        let (_, plan) = live.plan();
        plan.iter().any(|e| e["kind"] == "AppRunnerService" && e["drift"].as_array().is_some_and(|d| d.len() == 2))
    });

    let refused = live.world.run(&["accept", "ars/mmweb"]);
    assert_eq!(refused.code(), 1);
    assert!(
        refused
            .stderr()
            .contains("image.env.REDIS_URL comes from the reference ${CacheCluster/mentor-match-redis.address}"),
        "{}",
        refused.stderr()
    );
    let dry: Value = serde_json::from_str(&live.world.ok(&[
        "accept",
        "ars/mmweb",
        "--field",
        "image.env.FLASK_ENV",
        "--dry-run",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(
        dry[0]["changes"][0],
        serde_json::json!({ "path": "image.env.FLASK_ENV", "from": "development", "to": "production" })
    );
    assert_eq!(live.world.get_json(&["ars/mmweb"])[0]["metadata"]["version"], 1, "a dry run writes nothing");
    let out =
        live.world.ok(&["accept", "ars/mmweb", "--field", "image.env.FLASK_ENV", "-m", "prod settings on purpose"]);
    assert!(out.contains("accepted the live value of image.env.FLASK_ENV (now version 2)"), "{out}");
    let spec = &live.world.get_json(&["ars/mmweb"])[0]["spec"];
    assert_eq!(spec["image"]["env"]["FLASK_ENV"], "production");
    let history: Value = serde_json::from_str(&live.world.ok(&["history", "ars/mmweb", "-o", "json"])).unwrap();
    assert_eq!(history[1]["op"], "accept");
    assert!(
        history[1]["message"]
            .as_str()
            .unwrap()
            .contains("prod settings on purpose (accepted drift of image.env.FLASK_ENV"),
        "{history}"
    );

    // The next passes put REDIS_URL back and leave FLASK_ENV as accepted.
    live.converge();
    let env = live.web_env();
    assert_eq!(env.get("FLASK_ENV").map(String::as_str), Some("production"));
    assert!(!env["REDIS_URL"].contains("elsewhere"));
    assert_eq!(live.world.run(&["diff", "--live"]).code(), 0);
    let nothing = live.world.run(&["accept", "ars/mmweb"]);
    assert_eq!(nothing.code(), 1);
    assert!(nothing.stderr().contains("is not drifted"), "{}", nothing.stderr());
}

#[test]
fn a_replacement_waits_for_approve_and_the_consent_is_for_that_object_only() {
    let live = Live::start();
    let upgrade = serde_json::json!({ "service": "elasticache", "region": "eu-west-1", "operation": "ModifyCacheCluster",
        "input": { "CacheClusterId": "mentor-match-redis", "EngineVersion": "7.0", "ApplyImmediately": true } });
    live.admin("POST", "/_emulator/out-of-band", &upgrade.to_string());
    let redis = || {
        let (_, plan) = live.plan();
        plan.into_iter().find(|e| e["kind"] == "CacheCluster").unwrap()
    };
    common::eventually("the downgrade is seen as needing a new object", Duration::from_secs(60), || {
        redis()["verdict"] == "blocked"
    });
    assert!(redis()["reason"].as_str().unwrap().contains("steward approve"), "{}", redis());
    let before = live.output("CacheCluster/mentor-match-redis", "address");
    // Nothing is replaced without consent.
    let events: Vec<Value> = (0..2).flat_map(|_| live.pass()).collect();
    assert!(named(&events, "resource_created").is_empty());

    let out = live.world.ok(&["approve", "CacheCluster/mentor-match-redis"]);
    assert!(out.contains("replacement approved for engineVersion"), "{out}");
    let events = live.converge();
    let created: Vec<&Value> =
        named(&events, "resource_created").into_iter().filter(|e| e["kind"] == "CacheCluster").collect();
    assert_eq!(created.len(), 1, "replaced once");
    assert_ne!(live.output("CacheCluster/mentor-match-redis", "address"), before, "a new cluster");
    assert_eq!(live.world.run(&["diff", "--live"]).code(), 0);
    // The consent was for that object: the same upgrade on the new one waits again.
    live.admin("POST", "/_emulator/out-of-band", &upgrade.to_string());
    common::eventually("the new cluster's downgrade waits", Duration::from_secs(60), || {
        redis()["verdict"] == "blocked"
    });
    let events: Vec<Value> = (0..2).flat_map(|_| live.pass()).collect();
    assert!(named(&events, "resource_created").is_empty(), "no second replacement without a new consent");
    let nothing = live.world.run(&["approve", "EcsService/mentor-match-worker"]);
    assert_eq!(nothing.code(), 1);
    assert!(nothing.stderr().contains("nothing to approve"), "{}", nothing.stderr());
}

/// Scales the worker by hand, as someone in the console would.
fn scale_worker(live: &Live, count: i32) {
    let ecs = live.ecs();
    let update = ecs.update_service().cluster("celery-workers").service("mentor-match-worker").desired_count(count);
    live.block(update.send()).unwrap();
}

/// The daemon's `drift_detected` events for the worker's desiredCount.
fn worker_drifts(daemon: &common::Daemon) -> Vec<Value> {
    named(&daemon.events(), "drift_detected")
        .into_iter()
        .filter(|e| e["kind"] == "EcsService" && e["field"] == "desiredCount")
        .cloned()
        .collect()
}

#[test]
fn a_resource_with_its_own_10s_resync_in_a_10_minute_stack_is_healed_within_it_and_nothing_else_is_read() {
    let live = Live::prepared();
    let dir = live.apply_with_resync("10m");
    replace_in(&dir.join("worker.yaml"), "  desiredCount: 1\n", "  desiredCount: 1\n  resync: 10s\n");
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    let daemon = live.world.daemon("a", &[]);
    common::eventually("the stack converges", Duration::from_secs(180), || live.is_converged());
    // The passes that follow a change up (2 s apart while something is unsettled) end first.
    std::thread::sleep(Duration::from_secs(5));
    let caches = daemon.calls("ElastiCache", "DescribeCacheClusters");
    let services = daemon.calls("ECS", "DescribeServices");
    assert!(caches > 0 && services > 0, "{caches} {services}");

    scale_worker(&live, 3);
    let changed = Instant::now();
    common::eventually("the worker is healed on its own resync", Duration::from_secs(60), || {
        !worker_drifts(&daemon).is_empty() && worker_count(&live) == 1
    });
    let took = changed.elapsed();
    assert!(took < Duration::from_secs(40), "healed after {took:?}, far sooner than the stack's 10 minutes");
    // Only the worker was due: the cache cluster was not read again in the meantime.
    assert_eq!(daemon.calls("ElastiCache", "DescribeCacheClusters"), caches, "nothing else is read");
    assert!(daemon.calls("ECS", "DescribeServices") >= services + 2);
    let passes = named(&daemon.events(), "pass_completed").into_iter().cloned().collect::<Vec<_>>();
    let timer_pass = passes.iter().rev().find(|p| p["notDue"].as_u64().unwrap_or(0) > 0);
    assert!(timer_pass.is_some_and(|p| p["resources"].as_u64() > p["notDue"].as_u64()), "{passes:?}");
}

#[test]
fn drift_outside_the_heal_window_is_alerted_as_deferred_and_healed_when_the_window_opens() {
    use chrono::Timelike;
    let live = Live::prepared();
    let dir = live.apply_with_resync("10m");
    let daemon = live.world.daemon("a", &[]);
    common::eventually("the stack converges", Duration::from_secs(180), || live.is_converged());
    std::thread::sleep(Duration::from_secs(5));

    // Someone scales the worker; then a window is set that opens a minute from now, written in a
    // time zone half an hour off UTC. The change of desired state brings a pass, which finds the
    // drift; with the resync at 10 minutes only the window's own wake-up can heal it.
    scale_worker(&live, 3);
    let opens = (chrono::Utc::now() + chrono::Duration::seconds(60)).with_nanosecond(0).unwrap();
    let local = opens.with_timezone(&chrono::FixedOffset::east_opt(5 * 3600 + 1800).unwrap());
    let cron = format!("{} {} {} * * *", local.second(), local.minute(), local.hour());
    let window = format!("  healWindow: {{cron: \"{cron}\", duration: 10m, timeZone: Asia/Kolkata}}\n");
    replace_in(&dir.join("worker.yaml"), "  desiredCount: 1\n", &format!("  desiredCount: 1\n{window}"));
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    common::eventually("the drift is alerted as deferred", Duration::from_secs(30), || {
        !worker_drifts(&daemon).is_empty()
    });
    let alert = &worker_drifts(&daemon)[0];
    assert_eq!(alert["action"], "deferred", "{alert}");
    assert_eq!((alert["desired"].as_i64(), alert["actual"].as_i64()), (Some(1), Some(3)));
    assert!(chrono::Utc::now() < opens, "the window opened before the drift was seen; the test ran too slowly");
    assert_eq!(worker_count(&live), 3, "not healed outside the window");
    let status = live.status("EcsService/mentor-match-worker");
    assert_eq!(status["phase"], "Deferred", "{status}");
    let opens_at = opens.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(status.to_string().contains(&format!("held until it opens at {opens_at}")), "{status}");
    let (code, plan) = live.plan();
    assert_eq!(code, 2);
    let worker = plan.iter().find(|e| e["kind"] == "EcsService").unwrap();
    assert_eq!(worker["verdict"], "wait", "{worker}");
    assert!(worker["drift"][0]["action"].as_str().unwrap().starts_with("deferred"), "{worker}");
    let passes_while_deferred = named(&daemon.events(), "pass_completed").len();

    common::eventually("the worker is healed once the window opens", Duration::from_secs(120), || {
        worker_count(&live) == 1
    });
    let healed = chrono::Utc::now();
    assert!(healed >= opens, "healed at {healed}, before the window opened at {opens}");
    common::eventually("the correction is told", Duration::from_secs(30), || {
        named(&daemon.events(), "drift_corrected").iter().any(|e| e["kind"] == "EcsService")
    });
    assert_eq!(worker_drifts(&daemon).len(), 1, "one alert for the occurrence, none when the window opens");
    let events = daemon.events();
    let passes = named(&events, "pass_completed");
    let before_heal = passes.iter().skip(passes_while_deferred).filter(|p| p["mutatingCalls"] == 0).count();
    assert!(before_heal <= 1, "no passes while the window is shut: {passes:?}");
}

#[test]
fn outside_the_heal_window_a_deleted_object_is_made_again_at_once_while_drift_waits() {
    use chrono::Timelike;
    let live = Live::prepared();
    // A stack-wide window that is shut now (an hour a day, six hours from now), with the
    // endpoints left to the default: a deleted object is made again at once.
    let opens = (chrono::Utc::now() + chrono::Duration::hours(6)).with_minute(0).unwrap().with_second(0).unwrap();
    let cron = format!("0 0 {} * * *", opens.hour());
    let dir = live.world.seed_copy();
    replace_in(
        &dir.join("stack.yaml"),
        "  resync: 60s\n",
        &format!("  resync: 60s\n  healWindow: {{cron: \"{cron}\", duration: 1h}}\n"),
    );
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    // Creating the stack is a desired-state change: not held by the window.
    live.converge();
    scale_worker(&live, 3);
    let endpoint = live.output("VpcEndpoint/ecr-api", "id");
    let ec2 = live.ec2();
    live.block(ec2.delete_vpc_endpoints().vpc_endpoint_ids(&endpoint).send()).unwrap();

    let events: Vec<Value> = (0..2).flat_map(|_| live.pass()).collect();
    let drift = |kind: &str| -> Vec<&Value> {
        named(&events, "drift_detected").into_iter().filter(|e| e["kind"] == kind).collect()
    };
    let gone = drift("VpcEndpoint");
    assert_eq!(gone.len(), 1, "{gone:?}");
    assert_eq!((gone[0]["cause"].as_str(), gone[0]["action"].as_str()), (Some("deleted"), Some("correcting")));
    assert!(named(&events, "resource_created").iter().any(|e| e["kind"] == "VpcEndpoint"), "made again at once");
    let scaled = drift("EcsService");
    assert_eq!(scaled.len(), 1, "{scaled:?}");
    assert_eq!(scaled[0]["action"], "deferred");
    assert_eq!(worker_count(&live), 3, "the drift waits for the window");
    let worker = live.status("EcsService/mentor-match-worker");
    assert_eq!(worker["phase"], "Deferred");
    let text = worker.to_string();
    assert!(text.contains(&format!("outside the heal window (cron \\\"{cron}\\\" for 1h UTC)")), "{worker}");
    let opens_at = opens.with_nanosecond(0).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(text.contains(&format!("held until it opens at {opens_at}")), "{worker}");
    // reconcile --wait ends, and says why the drift is still there.
    let run = live.world.run(&["reconcile", "--wait", "--timeout", "120s"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(run.stderr().contains("drifted outside their heal window"), "{}", run.stderr());
}
