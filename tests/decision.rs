//! One decision per resource: `diff --live` says what `reconcile` does, exits 0 only when AWS
//! matches and has settled, orders work by the reference graph across kinds, and never touches
//! what steward does not own. Real processes, real SDK.

mod common;

use common::live::{Live, events, named};
use common::{eventually, replace_in};
use serde_json::{Value, json};
use std::time::Duration;

const STACK: &str = "mentor-match";

fn entry<'a>(entries: &'a [Value], target: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| format!("{}/{}", e["kind"].as_str().unwrap(), e["name"].as_str().unwrap()) == target)
        .unwrap_or_else(|| panic!("{target} not in the plan: {entries:?}"))
}

fn set_transition(live: &Live, ms: u64) {
    live.admin("POST", "/_emulator/config", &json!({ "transitionMs": ms }).to_string());
}

fn redis_status(live: &Live) -> String {
    let out = live.block(live.elasticache().describe_cache_clusters().cache_cluster_id("mentor-match-redis").send());
    out.map(|o| o.cache_clusters()[0].cache_cluster_status().unwrap_or_default().to_string()).unwrap_or_default()
}

#[test]
fn diff_live_is_no_all_clear_while_redis_is_modifying_and_still_shows_other_drift() {
    let live = Live::start();
    assert_eq!(live.plan().0, 0, "a converged stack plans nothing");
    // App Runner env drift, settled, then Redis held in `modifying` at the same moment.
    let arn = live.output("AppRunnerService/mmweb", "arn");
    live.change_web_env();
    eventually("the App Runner change to settle", Duration::from_secs(30), || {
        let service = live.block(live.apprunner().describe_service().service_arn(&arn).send()).unwrap();
        service.service().unwrap().status().as_str() == "RUNNING"
    });
    set_transition(&live, 600_000);
    live.resize_redis("cache.t4g.small");
    assert_eq!(redis_status(&live), "modifying");

    let (code, entries) = live.plan();
    assert_eq!(code, 2, "{entries:?}");
    let redis = entry(&entries, "CacheCluster/mentor-match-redis");
    assert_eq!(redis["verdict"], "wait", "{redis}");
    assert!(redis["reason"].as_str().unwrap().contains("modifying"), "{redis}");
    // Its dependents that exist are still compared: the web service's env drift is not hidden.
    let web = entry(&entries, "AppRunnerService/mmweb");
    assert_eq!(web["verdict"], "update", "{web}");
    assert!(web["drift"].as_array().unwrap().iter().any(|d| d["field"] == "image.env.FLASK_ENV"), "{web}");
    let text = live.world.run(&["diff", "--live"]);
    assert_eq!(text.code(), 2);
    assert!(
        text.stdout().contains("! CacheCluster/mentor-match-redis [stack mentor-match] wait: modifying"),
        "{}",
        text.stdout()
    );
    assert!(!text.stdout().contains("no drift"), "{}", text.stdout());

    // reconcile acts on the same verdicts: web is healed while Redis is still busy.
    let events = live.pass();
    assert!(
        named(&events, "drift_detected").iter().any(|e| e["name"] == "mmweb" && e["field"] == "image.env.FLASK_ENV")
    );
    assert_eq!(live.status("CacheCluster/mentor-match-redis")["phase"], "Busy");
}

#[test]
fn diff_live_is_no_all_clear_while_a_deleted_redis_cluster_is_deleting() {
    let live = Live::start();
    set_transition(&live, 600_000);
    live.block(live.elasticache().delete_cache_cluster().cache_cluster_id("mentor-match-redis").send()).unwrap();
    assert_eq!(redis_status(&live), "deleting");
    let (code, entries) = live.plan();
    assert_eq!(code, 2);
    let redis = entry(&entries, "CacheCluster/mentor-match-redis");
    assert_eq!(redis["verdict"], "wait", "{redis}");
    assert!(redis["reason"].as_str().unwrap().contains("deleting"), "{redis}");
    assert_eq!(redis["differs"], true);
}

#[test]
fn selectors_that_match_nothing_block_the_plan_and_raise_one_event() {
    let live = Live::start();
    let vpc = live.network["vpc"].as_str().unwrap().to_string();
    let retag = |id: &str, name: &str| {
        let tag = aws_sdk_ec2::types::Tag::builder().key("Name").value(name).build();
        live.block(live.ec2().create_tags().resources(id).tags(tag).send()).unwrap();
    };
    retag(&vpc, "renamed-in-the-console");
    let (code, entries) = live.plan();
    assert_eq!(code, 2, "{entries:?}");
    let stack = entry(&entries, "Stack/mentor-match");
    assert_eq!(stack["verdict"], "blocked", "{stack}");
    assert!(stack["reason"].as_str().unwrap().contains("no VPC with tags Name=mentor-match-vpc"), "{stack}");
    let endpoint = entry(&entries, "VpcEndpoint/logs");
    assert_eq!(endpoint["verdict"], "wait");
    assert_eq!(endpoint["waitingFor"], json!(["Stack/mentor-match"]));

    // The pass says so once, not on every pass.
    let events: Vec<Value> = (0..3).flat_map(|_| live.pass()).collect();
    let blocked = named(&events, "resource_blocked");
    assert_eq!(blocked.len(), 1, "{blocked:?}");
    assert_eq!(blocked[0]["kind"], "Stack");
    assert_eq!(blocked[0]["reason"], "NothingSelected");
    assert_eq!(live.status("Stack/mentor-match")["phase"], "Blocked");
    retag(&vpc, "mentor-match-vpc");

    // A renamed subnet blocks the resources that select it.
    let subnet = live.subnet('a');
    retag(&subnet, "renamed-subnet");
    let (code, entries) = live.plan();
    assert_eq!(code, 2);
    let endpoint = entry(&entries, "VpcEndpoint/ecr-api");
    assert_eq!(endpoint["verdict"], "blocked", "{endpoint}");
    assert!(endpoint["reason"].as_str().unwrap().contains("mentor-match-vpc-intra-eu-west-1a"), "{endpoint}");
    retag(&subnet, "mentor-match-vpc-intra-eu-west-1a");
    live.converge();
    assert_eq!(live.plan().0, 0);
}

#[test]
fn paused_alone_is_no_difference_and_a_paused_resource_shows_its_drift() {
    let live = Live::start();
    live.world.ok(&["pause", "--stack", STACK]);
    let (code, entries) = live.plan();
    assert_eq!(code, 0, "{entries:?}");
    assert!(entries.iter().all(|e| e["paused"] == true && e["verdict"] == "in-sync"), "{entries:?}");
    let text = live.world.run(&["diff", "--live"]);
    assert!(text.stdout().contains("no drift"), "{}", text.stdout());

    live.block(
        live.ecs().update_service().cluster("celery-workers").service("mentor-match-worker").desired_count(0).send(),
    )
    .unwrap();
    let (code, entries) = live.plan();
    assert_eq!(code, 2);
    let worker = entry(&entries, "EcsService/mentor-match-worker");
    assert_eq!((worker["verdict"].as_str(), worker["paused"].as_bool()), (Some("update"), Some(true)), "{worker}");
    assert_eq!(worker["drift"][0]["field"], "desiredCount");
    let text = live.world.run(&["diff", "--live"]);
    assert!(
        text.stdout().contains("‖ EcsService/mentor-match-worker [stack mentor-match] paused, would update"),
        "{}",
        text.stdout()
    );
    // A paused stack is left alone by reconcile.
    let events = live.pass();
    assert_eq!(named(&events, "pass_completed")[0]["mutatingCalls"], 0);
    assert_eq!(live.worker().0.desired_count(), 0);
    assert_eq!(live.status("EcsService/mentor-match-worker")["phase"], "Paused");
    live.world.ok(&["resume", "--stack", STACK]);
    live.converge();
    assert_eq!(live.worker().0.desired_count(), 1);
    assert_eq!(live.plan().0, 0);
}

#[test]
fn an_observed_object_that_is_missing_is_a_difference_reported_once() {
    let live = Live::start();
    let dir = live.world.seed_copy();
    std::fs::write(
        dir.join("observed.yaml"),
        "apiVersion: steward/v1\nkind: EcsCluster\nmetadata:\n  name: batch-jobs\n  stack: mentor-match\n\
         spec:\n  managementPolicy: observe\n",
    )
    .unwrap();
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    let (code, entries) = live.plan();
    assert_eq!(code, 2, "{entries:?}");
    let observed = entry(&entries, "EcsCluster/batch-jobs");
    assert_eq!(observed["verdict"], "report", "{observed}");
    assert_eq!(observed["drift"][0]["field"], "(existence)");
    let events = events(&live.world.ok(&["reconcile", "--passes", "5"]));
    let drift: Vec<&Value> =
        named(&events, "drift_detected").into_iter().filter(|e| e["name"] == "batch-jobs").collect();
    assert_eq!(drift.len(), 1, "one event per occurrence: {drift:?}");
    assert_eq!(drift[0]["action"], "reported");
    let clusters = live.block(live.ecs().describe_clusters().clusters("batch-jobs").send()).unwrap();
    assert!(clusters.clusters().iter().all(|c| c.status() != Some("ACTIVE")), "observe-only never creates");
}

#[test]
fn a_reference_to_a_kind_observed_later_converges_in_graph_order() {
    let live = Live::start();
    let dir = live.world.seed_copy();
    // VpcEndpoint comes before EcsCluster in Kind::ALL; the endpoint's tag references the cluster.
    std::fs::write(
        dir.join("late.yaml"),
        "apiVersion: steward/v1\nkind: EcsCluster\nmetadata:\n  name: c\n  stack: mentor-match\nspec: {}\n---\n\
         apiVersion: steward/v1\nkind: VpcEndpoint\nmetadata:\n  name: sqs\n  stack: mentor-match\nspec:\n  \
         service: sqs\n  type: Interface\n  privateDns: false\n  subnets: [{ byTag: { Name: mentor-match-vpc-intra-eu-west-1a } }]\n  \
         securityGroups: [{ byTag: { Name: allow_vpce } }]\n  tags: { Cluster: \"${EcsCluster/c.arn}\" }\n",
    )
    .unwrap();
    live.world.ok(&["validate", "-f", dir.to_str().unwrap()]);
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    live.converge();
    assert_eq!(live.status("VpcEndpoint/sqs")["phase"], "Ready");
    let cluster = live.output("EcsCluster/c", "arn");
    let id = live.output("VpcEndpoint/sqs", "id");
    let found = live.block(live.ec2().describe_vpc_endpoints().vpc_endpoint_ids(&id).send()).unwrap();
    let tags = found.vpc_endpoints()[0].tags();
    assert!(tags.iter().any(|t| t.key() == Some("Cluster") && t.value() == Some(cluster.as_str())), "{tags:?}");
    assert_eq!(live.plan().0, 0);
}

#[test]
fn an_endpoint_that_lost_its_ownership_tag_is_blocked_not_duplicated_and_can_be_adopted() {
    let live = Live::start();
    let logs = live.output("VpcEndpoint/logs", "id");
    let name_tag = aws_sdk_ec2::types::Tag::builder().key("steward:name").build();
    live.block(live.ec2().delete_tags().resources(&logs).tags(name_tag).send()).unwrap();

    let (code, entries) = live.plan();
    assert_eq!(code, 2);
    let entry = entry(&entries, "VpcEndpoint/logs");
    assert_eq!(entry["verdict"], "blocked", "{entry}");
    let reason = entry["reason"].as_str().unwrap();
    assert!(reason.contains(&logs) && reason.contains("adopt: true"), "{reason}");
    let events = live.pass();
    assert!(named(&events, "resource_created").is_empty(), "no second endpoint: {events:?}");
    assert_eq!(named(&events, "resource_blocked")[0]["reason"], "NotOwned");
    assert_eq!(live.status("VpcEndpoint/logs")["phase"], "NotOwned");
    let count = || live.block(live.ec2().describe_vpc_endpoints().send()).unwrap().vpc_endpoints().len();
    assert_eq!(count(), 7);

    // adopt: true takes it over again.
    let dir = live.world.seed_copy();
    replace_in(&dir.join("endpoints.yaml"), "  service: logs\n", "  service: logs\n  adopt: true\n");
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    let events = live.converge();
    assert_eq!(named(&events, "resource_adopted")[0]["id"], logs.as_str());
    assert_eq!(count(), 7);
    assert_eq!(live.output("VpcEndpoint/logs", "id"), logs);
    assert_eq!(live.plan().0, 0);
}

#[test]
fn the_daemon_never_modifies_a_cluster_whose_ownership_tag_was_removed() {
    let live = Live::start();
    live.apply_with_resync("10s");
    let daemon = live.world.daemon("owner", &[]);
    eventually("the daemon's first pass", Duration::from_secs(60), || {
        !named(&daemon.events(), "pass_completed").is_empty()
    });
    // The daemon has the cluster's tags cached; now they lose steward:name and the node type drifts.
    let arn = live.output("CacheCluster/mentor-match-redis", "arn");
    live.block(live.elasticache().remove_tags_from_resource().resource_name(&arn).tag_keys("steward:name").send())
        .unwrap();
    live.resize_redis("cache.t4g.small");
    live.admin("DELETE", "/_emulator/requests", "");
    eventually("the cluster to be reported not owned", Duration::from_secs(90), || {
        live.status("CacheCluster/mentor-match-redis")["phase"] == "NotOwned"
    });
    // Another resync later it is still untouched.
    let passes = named(&daemon.events(), "pass_completed").len();
    eventually("another pass", Duration::from_secs(60), || named(&daemon.events(), "pass_completed").len() > passes);
    let served = live.admin("GET", "/_emulator/requests", "");
    assert!(served.get("elasticache:ModifyCacheCluster").is_none(), "{served}");
    let cluster =
        live.block(live.elasticache().describe_cache_clusters().cache_cluster_id("mentor-match-redis").send());
    assert_eq!(cluster.unwrap().cache_clusters()[0].cache_node_type(), Some("cache.t4g.small"));
    let events = daemon.events();
    let blocked = named(&events, "resource_blocked");
    assert!(blocked.iter().any(|e| e["name"] == "mentor-match-redis" && e["reason"] == "NotOwned"), "{blocked:?}");
    let lost: Vec<&Value> =
        named(&events, "drift_detected").into_iter().filter(|e| e["cause"] == "ownership_lost").collect();
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!((lost[0]["name"].as_str(), lost[0]["action"].as_str()), (Some("mentor-match-redis"), Some("blocked")));
}

/// Two stacks in one VPC both want an S3 gateway endpoint on the same route tables: AWS allows
/// one route per prefix list in a route table, so the second cannot have its own. The object is
/// not "unowned": diff --live, the event and the status name the stack and resource that keep it.
#[test]
fn an_object_another_stack_keeps_is_reported_with_its_owner_and_never_adopted() {
    let live = Live::start();
    let dir = live.world.dir.path().join("other");
    std::fs::create_dir_all(&dir).unwrap();
    let manifests = r#"
apiVersion: steward/v1
kind: Stack
metadata: { name: other }
spec:
  region: eu-west-1
  vpc: { byTag: { Name: mentor-match-vpc } }
---
apiVersion: steward/v1
kind: VpcEndpoint
metadata: { name: s3-gateway, stack: other }
spec:
  service: s3
  type: Gateway
  routeTables:
    - { byTag: { Name: mentor-match-vpc-intra-eu-west-1a } }
    - { byTag: { Name: mentor-match-vpc-intra-eu-west-1b } }
    - { byTag: { Name: mentor-match-vpc-intra-eu-west-1c } }
  adopt: true
"#;
    std::fs::write(dir.join("other.yaml"), manifests).unwrap();
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    let owner = "VpcEndpoint/s3 of stack mentor-match";
    let (code, plan) = live.plan();
    assert_eq!(code, 2);
    let verdict = entry(&plan, "VpcEndpoint/s3-gateway");
    assert_eq!(verdict["verdict"], "blocked", "{verdict}");
    assert!(verdict["reason"].as_str().unwrap().contains(owner), "{verdict}");
    let pass = events(&live.world.ok(&["--stack", "other", "reconcile"]));
    let blocked = named(&pass, "resource_blocked");
    assert!(
        blocked.iter().any(|e| e["name"] == "s3-gateway" && e["message"].as_str().unwrap().contains(owner)),
        "{pass:#?}"
    );
    assert_eq!(named(&pass, "resource_adopted").len(), 0, "adopt: true never takes another stack's object");
    let status: Value =
        serde_json::from_str(&live.world.ok(&["--stack", "other", "status", "VpcEndpoint/s3-gateway", "-o", "json"]))
            .unwrap();
    assert_eq!(status[0]["status"]["phase"], "NotOwned");
    assert!(status[0]["status"].to_string().contains(owner), "{status}");
    // mentor-match's own endpoint is untouched and still its own.
    assert_eq!(live.status("VpcEndpoint/s3")["phase"], "Ready");
}
