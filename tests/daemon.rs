//! `steward run`: fast path, resync, CloudWatch Logs, leases between replicas, shutdown.

mod common;

use common::live::{Live, named};
use common::{World, eventually, replace_in};
use serde_json::Value;
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

fn worker_count(live: &Live) -> i32 {
    live.worker().0.desired_count()
}

#[test]
fn edits_go_through_the_fast_path_and_drift_is_healed_by_the_resync() {
    let live = Live::prepared();
    let dir = live.apply_with_resync("10m");
    let log_group = "steward-test-alerts";
    let daemon =
        live.world.daemon("a", &["--cloudwatch-log-group", log_group, "--lease-duration", "6s", "--lease-renew", "2s"]);
    eventually("the stack converges", 3 * MINUTE, || live.is_converged());

    // /metrics as Prometheus users expect it.
    let metrics = common::http_text("GET", &format!("{}/metrics", daemon.http), "").unwrap();
    for expected in [
        "# HELP steward_passes_total ",
        "# TYPE steward_drift_detected_total counter\nsteward_drift_detected_total 0\n",
        "# TYPE steward_pass_duration_seconds histogram\n",
        "steward_pass_duration_seconds_bucket{le=\"+Inf\"} ",
        "steward_resources{stack=\"mentor-match\",state=\"ready\"} 19\n",
        "steward_resources{stack=\"mentor-match\",state=\"drifted\"} 0\n",
        "# TYPE steward_log_events_shipped_total counter\n",
    ] {
        assert!(metrics.contains(expected), "{expected:?} not in:\n{metrics}");
    }

    // A one-shot reconcile beside the controller would race it: refused, naming the holder.
    let refused = live.world.run(&["reconcile"]);
    assert_eq!(refused.code(), 1);
    let said = refused.stderr();
    assert!(said.contains("held by controller a") && said.contains("--force") && said.lines().count() == 1, "{said}");
    assert_eq!(live.world.run(&["reconcile", "--force"]).code(), 0, "--force acts beside it");

    // An edit is applied by the daemon long before the 10-minute resync could do it.
    replace_in(&dir.join("worker.yaml"), "desiredCount: 1", "desiredCount: 2");
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    eventually("the edit is carried out", MINUTE, || worker_count(&live) == 2);

    // Out-of-band drift waits for the resync: with a 10 s resync it is healed.
    replace_in(&dir.join("stack.yaml"), "resync: 10m", "resync: 10s");
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    live.block(
        live.ecs().update_service().cluster("celery-workers").service("mentor-match-worker").desired_count(0).send(),
    )
    .unwrap();
    eventually("the drift is healed", MINUTE, || worker_count(&live) == 2);

    // The drift alert reached stdout and the CloudWatch log group, with the documented fields.
    let stdout = daemon.events();
    let alert = named(&stdout, "drift_detected")
        .into_iter()
        .find(|e| e["field"] == "desiredCount" && e["actual"] == 0)
        .cloned()
        .expect("drift on stdout");
    assert_eq!(
        (alert["desired"].clone(), alert["actual"].clone(), alert["action"].clone()),
        (Value::from(2), Value::from(0), Value::from("correcting"))
    );
    let logs = aws_sdk_cloudwatchlogs::Client::new(&live.sdk);
    let mut shipped = Vec::new();
    eventually("events reach CloudWatch Logs", MINUTE, || {
        let out = live.block(logs.filter_log_events().log_group_name(log_group).send()).unwrap();
        shipped = out
            .events()
            .iter()
            .filter_map(|e| serde_json::from_str::<Value>(e.message().unwrap_or_default()).ok())
            .collect();
        shipped.iter().any(|e| e["event"] == "drift_detected" && e["field"] == "desiredCount" && e["actual"] == 0)
    });
    for field in ["stack", "kind", "name", "field", "desired", "actual", "action"] {
        assert!(shipped.iter().any(|e| e["event"] == "drift_detected" && e.get(field).is_some()), "{field}");
    }
    // EMF lines for CloudWatch metrics.
    let text = std::fs::read_to_string(&daemon.log).unwrap();
    assert!(
        text.lines().any(|l| l.contains("\"Namespace\":\"Steward\"") && l.contains("\"DriftDetected\"")),
        "no EMF line"
    );
    // The Redis password is in neither.
    let ssm = live.ssm();
    let password = live
        .block(ssm.get_parameter().name("/mentor-match/redis/password/admin").with_decryption(true).send())
        .unwrap()
        .parameter
        .unwrap()
        .value
        .unwrap();
    assert!(!text.contains(&password));
    assert!(!shipped.iter().any(|e| e.to_string().contains(&password)));
    let readyz = common::http("GET", &format!("{}/readyz", daemon.http), "");
    assert!(readyz.is_null(), "readyz answers text");

    // `status` names the controller and says when each resource was last observed: the time of
    // the last pass, which the heartbeat carries, moves on while steady passes write no status.
    let worker = || -> Value {
        let all: Value =
            serde_json::from_str(&live.world.ok(&["status", "EcsService/mentor-match-worker", "-o", "json"])).unwrap();
        all[0].clone()
    };
    let first = worker();
    assert_eq!(
        (first["controller"]["holder"].as_str(), first["controller"]["alive"].as_bool()),
        (Some("a"), Some(true))
    );
    eventually("passes are seen without status writes", MINUTE, || {
        let now = worker();
        let (observed, written) =
            (now["lastObservedAt"].as_str().unwrap_or_default(), now["status"]["lastObservedAt"].as_str().unwrap());
        let seconds = |t: &str| chrono::DateTime::parse_from_rfc3339(t).map(|t| t.timestamp()).unwrap_or(0);
        seconds(observed) - seconds(written) > 15
    });
    let table = live.world.ok(&["status"]);
    assert!(table.contains("stack mentor-match: held by controller a; last pass"), "{table}");
    let watched = live.world.ok(&["status", "--watch", "--timeout", "3s"]);
    assert!(watched.contains("stack mentor-match: held by controller a"), "{watched}");
    assert!(
        watched.contains("EcsService/mentor-match-worker [mentor-match]") && watched.contains("Ready"),
        "{watched}"
    );
}

/// N small stacks (a Stack and an ECS cluster each), applied.
fn small_stacks(world: &World, names: &[String]) {
    world.ok(&["bootstrap"]);
    let mut text = String::new();
    for name in names {
        text.push_str(&format!(
            "apiVersion: steward/v1\nkind: Stack\nmetadata: {{name: {name}}}\nspec:\n  region: eu-west-1\n  vpc: {{byTag: {{Name: mentor-match-vpc}}}}\n  resync: 10s\n---\napiVersion: steward/v1\nkind: EcsCluster\nmetadata: {{name: {name}-workers, stack: {name}}}\nspec: {{containerInsights: enabled}}\n---\n"
        ));
    }
    let file = world.dir.path().join("stacks.yaml");
    std::fs::write(&file, text).unwrap();
    world.ok(&["apply", "-f", file.to_str().unwrap()]);
}

fn network(world: &World) {
    let out = std::process::Command::new("python3")
        .arg(common::repo_path("bootstrap/local-network.py"))
        .envs(world.command(&[]).get_envs().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))))
        .env("AWS_DEFAULT_REGION", common::REGION)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn replicas_share_stacks_and_take_over_when_one_stops() {
    let world = World::new();
    network(&world);
    let names: Vec<String> = (1..=6).map(|i| format!("stack{i}")).collect();
    small_stacks(&world, &names);
    let leases = ["--lease-duration", "4s", "--lease-renew", "1s"];
    // a ends up with all six stacks but may have only two in its passes at once.
    let a = world.daemon("a", &[&leases[..], &["--max-stacks-in-flight", "2"]].concat());
    let mut b = world.daemon("b", &leases);
    eventually("both replicas own some stacks", MINUTE, || {
        let (oa, ob) = (a.owned(), b.owned());
        !oa.is_empty() && !ob.is_empty() && oa.len() + ob.len() == 6 && oa.iter().all(|s| !ob.contains(s))
    });
    // SIGTERM releases the leases: the other replica takes over without waiting for expiry,
    // and the stopped one exits 0.
    b.signal("TERM");
    let status = b.wait_exit(Duration::from_secs(30)).expect("steward run exits after SIGTERM");
    assert!(status.success());
    eventually("one replica owns all six", MINUTE, || a.owned().len() == 6);
    let ecs = aws_sdk_ecs::Client::new(&world.sdk());
    eventually("every stack converged", MINUTE, || {
        let out = common::runtime().block_on(ecs.list_clusters().send()).unwrap();
        out.cluster_arns().len() == 6
    });
    // Holding six stacks costs one heartbeat write per lease round (every second here), not one
    // write per stack.
    let before = a.calls("DynamoDB", "UpdateItem");
    assert!(before > 0, "the lease writes are counted in /metrics");
    std::thread::sleep(Duration::from_secs(5));
    let writes = a.calls("DynamoDB", "UpdateItem") - before;
    assert!(writes <= 8, "{writes} lease writes in 5 s for six stacks");
    for pass in named(&a.events(), "pass_completed") {
        assert!(pass["stacks"].as_array().unwrap().len() <= 2, "a pass over more stacks than may be in flight: {pass}");
    }
}

#[test]
fn sigterm_hands_over_at_once_not_after_the_lease_expires() {
    let world = World::new();
    network(&world);
    small_stacks(&world, &["solo".to_string()]);
    // A 60 s lease: a takeover within a few seconds can only come from the release.
    let leases = ["--lease-duration", "60s", "--lease-renew", "2s"];
    let mut a = world.daemon("a", &leases);
    eventually("a owns the stack", MINUTE, || a.owned() == ["solo"]);
    let b = world.daemon("b", &leases);
    std::thread::sleep(Duration::from_secs(3));
    assert!(b.owned().is_empty(), "b must not take a held lease");
    let stopped = std::time::Instant::now();
    a.signal("TERM");
    assert!(a.wait_exit(Duration::from_secs(30)).unwrap().success());
    eventually("b takes over", Duration::from_secs(40), || b.owned() == ["solo"]);
    assert!(stopped.elapsed() < Duration::from_secs(40), "took over after {:?}", stopped.elapsed());
}

#[test]
fn two_daemons_on_one_stack_never_mutate_together_and_a_killed_owner_is_replaced() {
    let live = Live::prepared();
    let leases = ["--lease-duration", "4s", "--lease-renew", "1s"];
    let mut a = live.world.daemon("a", &leases);
    let mut b = live.world.daemon("b", &leases);
    eventually("one replica owns the stack", MINUTE, || a.owned().len() + b.owned().len() == 1);
    let (owner, standby) = if a.owned().is_empty() { (&mut b, &mut a) } else { (&mut a, &mut b) };
    // Kill the owner in the middle of creating the stack.
    eventually("the owner starts creating", MINUTE, || !named(&owner.events(), "resource_created").is_empty());
    assert_eq!(standby.mutating_calls(), 0, "the standby made mutating calls while the owner held the lease");
    owner.signal("KILL");
    owner.wait_exit(Duration::from_secs(10));
    eventually("the standby takes over", MINUTE, || standby.owned() == ["mentor-match"]);
    eventually("the stack converges", 3 * MINUTE, || live.is_converged());
    live.assert_no_duplicates();
}

#[test]
fn a_paused_owner_wakes_up_to_a_lost_lease_and_changes_nothing() {
    let live = Live::prepared();
    let leases = ["--lease-duration", "4s", "--lease-renew", "1s"];
    let a = live.world.daemon("a", &leases);
    eventually("a owns the stack", MINUTE, || a.owned() == ["mentor-match"]);
    eventually("the stack converges", 3 * MINUTE, || live.is_converged());
    let b = live.world.daemon("b", &leases);
    let before = a.mutating_calls();
    // Freeze the owner past its lease, and give the stack work to do meanwhile.
    a.signal("STOP");
    live.block(
        live.ecs().update_service().cluster("celery-workers").service("mentor-match-worker").desired_count(0).send(),
    )
    .unwrap();
    eventually("b takes over", MINUTE, || b.owned() == ["mentor-match"]);
    eventually("b heals the drift", MINUTE, || live.worker().0.desired_count() == 1);
    a.signal("CONT");
    std::thread::sleep(Duration::from_secs(5));
    // The woken owner found its lease gone: no mutating call, no lease, b still the owner.
    assert_eq!(a.mutating_calls(), before, "the paused owner mutated after waking up");
    assert!(a.owned().is_empty());
    assert_eq!(b.owned(), ["mentor-match"]);
    let lease = live
        .block(
            aws_sdk_dynamodb::Client::new(&live.sdk)
                .get_item()
                .table_name("steward")
                .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("STACK#mentor-match".into()))
                .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("LEASE".into()))
                .send(),
        )
        .unwrap();
    let item = lease.item().unwrap();
    assert_eq!(item["holder"].as_s().unwrap(), "b");
    assert!(item["fencingToken"].as_n().unwrap().parse::<u64>().unwrap() >= 2);
}
