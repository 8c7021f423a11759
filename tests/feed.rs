//! The alert feed means what it says: what people asked for is a change (`change_started`,
//! `change_applied`), what moved behind steward's back is drift (`drift_detected`, with a cause),
//! once per occurrence. Real processes, real SDK.

mod common;

use common::live::{Live, named};
use common::{replace_in, repo_path};
use serde_json::{Value, json};

const WORKER: &str = "EcsService/mentor-match-worker";

fn worker_events<'a>(events: &'a [Value], event: &str) -> Vec<&'a Value> {
    named(events, event).into_iter().filter(|e| e["name"] == "mentor-match-worker").collect()
}

/// After a desired-state change: change events for the worker, and no drift at all.
fn assert_a_change(events: &[Value], from: i64, to: i64, how: &str) {
    assert!(named(events, "drift_detected").is_empty(), "{how}: drift in {:?}", named(events, "drift_detected"));
    let started = worker_events(events, "change_started");
    assert_eq!(started.len(), 1, "{how}: {events:?}");
    assert_eq!(started[0]["fields"], json!([{ "field": "desiredCount", "from": from, "to": to }]), "{how}");
    assert!(started[0]["version"].as_u64().unwrap() > 1 && started[0]["author"].is_string(), "{how}");
    assert_eq!(worker_events(events, "change_applied").len(), 1, "{how}: {events:?}");
}

#[test]
fn apply_edit_rollback_and_resume_are_changes_not_drift() {
    let live = Live::start();
    let dir = live.world.seed_copy();
    replace_in(&dir.join("worker.yaml"), "desiredCount: 1", "desiredCount: 2");
    live.world.ok(&["apply", "-f", dir.to_str().unwrap(), "-m", "scale up"]);
    let events = live.converge();
    assert_a_change(&events, 1, 2, "apply");
    assert_eq!(worker_events(&events, "change_started")[0]["message"], "scale up");
    assert_eq!(live.worker().0.desired_count(), 2);

    let editor = live.world.script("editor", "sed -i 's/desiredCount: 2/desiredCount: 3/' \"$1\"");
    let out = live.world.command(&["edit", WORKER]).env("EDITOR", &editor).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_a_change(&live.converge(), 2, 3, "edit");

    live.world.ok(&["rollback", WORKER, "--to", "1"]);
    assert_a_change(&live.converge(), 3, 1, "rollback");

    live.world.ok(&["pause", WORKER]);
    replace_in(&dir.join("worker.yaml"), "desiredCount: 2", "desiredCount: 4");
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    let paused = live.converge();
    assert!(worker_events(&paused, "change_started").is_empty(), "nothing starts while paused");
    live.world.ok(&["resume", WORKER]);
    assert_a_change(&live.converge(), 1, 4, "resume");
    assert_eq!(live.worker().0.desired_count(), 4);
}

#[test]
fn a_deleted_redis_cluster_is_one_drift_with_cause_deleted_then_corrected() {
    let live = Live::start();
    let old = live.output("CacheCluster/mentor-match-redis", "address");
    live.block(live.elasticache().delete_cache_cluster().cache_cluster_id("mentor-match-redis").send()).unwrap();
    let events = live.converge();
    let drift = named(&events, "drift_detected");
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(
        (drift[0]["name"].as_str(), drift[0]["field"].as_str(), drift[0]["cause"].as_str()),
        (Some("mentor-match-redis"), Some("(existence)"), Some("deleted"))
    );
    assert_eq!(drift[0]["action"], "correcting");
    let corrected = named(&events, "drift_corrected");
    assert!(corrected.iter().any(|e| e["name"] == "mentor-match-redis" && e["recreated"] == true), "{corrected:?}");
    // The new address flows on as changes the recreation caused, not as drift.
    let address = live.output("CacheCluster/mentor-match-redis", "address");
    assert_ne!(address, old);
    assert_eq!(live.web_env()["REDIS_URL"], format!("redis://{address}:6379/0"));
    assert_eq!(live.worker().1["REDIS_URL"], format!("redis://{address}:6379/0"));
    let web = named(&events, "change_started").into_iter().find(|e| e["name"] == "mmweb").expect("web change");
    assert_eq!(web["fields"][0]["field"], "image.env.REDIS_URL");
}

#[test]
fn each_password_rotation_is_one_drift_and_no_event_or_diff_holds_a_password() {
    let live = Live::start();
    let ssm = live.ssm();
    let name = "/mentor-match/redis/password/admin";
    let mut passwords = Vec::new();
    let mut printed = String::new();
    let mut drift = Vec::new();
    for value in ["RotatedByHandAaaaaaaaaaaaaaaaaaa1", "RotatedByHandBbbbbbbbbbbbbbbbbbbb2"] {
        passwords.push(value.to_string());
        live.block(
            ssm.put_parameter()
                .name(name)
                .value(value)
                .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                .overwrite(true)
                .send(),
        )
        .unwrap();
        printed += &live.world.run(&["diff", "--live", "-o", "json"]).stdout();
        let events = live.converge();
        printed += &events.iter().map(Value::to_string).collect::<String>();
        drift.extend(named(&events, "drift_detected").into_iter().filter(|e| e["field"] == "password").cloned());
    }
    assert_eq!(drift.len(), 2, "{drift:?}");
    assert!(drift[0]["actual"].as_str().unwrap().contains("version 2"), "{drift:?}");
    assert!(drift[1]["actual"].as_str().unwrap().contains("version 3"), "{drift:?}");
    for password in &passwords {
        assert!(!printed.contains(password.as_str()), "a password was printed");
    }
}

#[test]
fn a_subnet_removed_from_an_endpoint_is_one_drift_naming_it() {
    let live = Live::start();
    let logs = live.output("VpcEndpoint/logs", "id");
    let subnet = live.subnet('b');
    live.block(live.ec2().modify_vpc_endpoint().vpc_endpoint_id(&logs).remove_subnet_ids(&subnet).send()).unwrap();
    let events = live.converge();
    let drift = named(&events, "drift_detected");
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(drift[0]["field"], "subnets");
    assert_eq!(drift[0]["removed"], json!([subnet]));
    assert_eq!(drift[0]["added"], json!([]));
    assert_eq!(drift[0]["cause"], "modified");
    let healed = live.block(live.ec2().describe_vpc_endpoints().vpc_endpoint_ids(&logs).send()).unwrap();
    assert_eq!(healed.vpc_endpoints()[0].subnet_ids().len(), 3);
}

/// The one filter shape the template uses, `{ $.key = "value" }`, evaluated as CloudWatch Logs
/// does (moto does not evaluate JSON filter patterns).
fn matches(pattern: &str, line: &Value) -> bool {
    let inner = pattern.trim().trim_start_matches('{').trim_end_matches('}').trim();
    let (key, value) = inner.split_once('=').expect("a `$.key = value` pattern");
    let key = key.trim().strip_prefix("$.").expect("a $. selector");
    line.get(key).and_then(Value::as_str) == Some(value.trim().trim_matches('"'))
}

#[test]
fn the_drift_alarm_filter_matches_drift_and_not_changes() {
    let template = std::fs::read_to_string(repo_path("bootstrap/controller.yaml")).unwrap();
    let pattern = template
        .lines()
        .find_map(|l| l.trim().strip_prefix("FilterPattern:"))
        .map(|p| p.trim().trim_matches('\''))
        .expect("a metric filter");
    let drift = json!({ "event": "drift_detected", "stack": "s", "kind": "CacheCluster", "cause": "deleted" });
    assert!(matches(pattern, &drift), "{pattern}");
    for event in ["change_started", "change_applied", "drift_corrected", "resource_created"] {
        assert!(!matches(pattern, &json!({ "event": event, "stack": "s" })), "{pattern} matches {event}");
    }
}

#[test]
fn a_replacement_steward_makes_is_a_change_and_never_a_deletion_alert() {
    let live = Live::start();
    let old = live.output("VpcEndpoint/logs", "id");
    let dir = live.world.seed_copy();
    replace_in(&dir.join("endpoints.yaml"), "  service: logs\n", "  service: monitoring\n  allowReplacement: true\n");
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    let events = live.converge();
    assert!(named(&events, "drift_detected").is_empty(), "{:?}", named(&events, "drift_detected"));
    let started: Vec<&Value> = named(&events, "change_started").into_iter().filter(|e| e["name"] == "logs").collect();
    assert_eq!(started[0]["fields"][0]["field"], "service", "{started:?}");
    assert_ne!(live.output("VpcEndpoint/logs", "id"), old);
    let endpoints = live.block(live.ec2().describe_vpc_endpoints().send()).unwrap();
    let live_ones: Vec<_> =
        endpoints.vpc_endpoints().iter().filter(|e| e.state().is_some_and(|s| s.as_str() != "deleted")).collect();
    assert_eq!(live_ones.len(), 7);
    assert!(live_ones.iter().any(|e| e.service_name() == Some("com.amazonaws.eu-west-1.monitoring")));
}
