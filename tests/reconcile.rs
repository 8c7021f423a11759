//! Self-healing: the Mentor Match stack applied and reconciled, broken out of band the way a
//! person would break it, then healed by reconcile passes. Real processes, real SDK.

mod common;

use common::live::{Live, calls, events, named};

use common::replace_in;
use serde_json::{Value, json};

fn fields(events: &[Value], event: &str) -> Vec<String> {
    named(events, event)
        .iter()
        .map(|e| {
            format!(
                "{}/{} {}",
                e["kind"].as_str().unwrap(),
                e["name"].as_str().unwrap(),
                e["field"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn the_stack_is_created_from_nothing_and_a_converged_pass_changes_nothing() {
    let live = Live::prepared();
    // Looking a missing object up (the password parameter, before steward made it) is an
    // answer, not a failed call.
    for pass in named(&live.converge(), "pass_completed") {
        assert!(pass["awsCallsFailed"].get("SSM").is_none(), "{pass}");
    }
    let status: Value = serde_json::from_str(&live.world.ok(&["status", "-o", "json"])).unwrap();
    for item in status.as_array().unwrap() {
        assert_eq!(item["status"]["phase"], "Ready", "{item}");
    }
    let address = live.output("CacheCluster/mentor-match-redis", "address");
    assert!(address.starts_with("mentor-match-redis.") && address.ends_with(".euw1.cache.amazonaws.com"), "{address}");
    assert_eq!(live.web_env()["REDIS_URL"], format!("redis://{address}:6379/0"));
    let (worker, env) = live.worker();
    assert_eq!(worker.desired_count(), 1);
    assert_eq!(env["SERVICE_URL"], format!("https://{}", live.output("AppRunnerService/mmweb", "serviceUrl")));
    assert_eq!(env["REDIS_URL"], format!("redis://{address}:6379/0"));

    // Every object carries the ownership tags.
    let endpoints = live.block(live.ec2().describe_vpc_endpoints().send()).unwrap();
    assert_eq!(endpoints.vpc_endpoints().len(), 7);
    for e in endpoints.vpc_endpoints() {
        assert!(e.tags().iter().any(|t| t.key() == Some("steward:stack") && t.value() == Some("mentor-match")));
    }

    // A second pass over a converged stack makes no mutating call; in one process (as the daemon
    // runs) unchanged services and task definitions come from the cache.
    let events = events(&live.world.ok(&["reconcile", "--passes", "5"]));
    let pass = named(&events, "pass_completed")[1];
    assert_eq!(pass["mutatingCalls"], 0, "{pass}");
    assert_eq!(pass["ready"], 19);
    // A steady pass stays at 13 calls, the store's one Query included, with every field watched
    // (tests/drift_table.rs): 11 to the stack's services, and the log group's DescribeLogGroups.
    for pass in &named(&events, "pass_completed")[1..] {
        let total: u64 = pass["awsCalls"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|ops| ops.as_object().unwrap().values())
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert!(total <= 13, "{total} calls in a steady pass: {}", pass["awsCalls"]);
    }
    let second = &events[events.iter().position(|e| e["event"] == "pass_completed").unwrap() + 1..];
    for (service, ops) in calls(second).as_object().unwrap() {
        for op in ops.as_object().unwrap().keys() {
            assert!(
                service == "DynamoDB" || ["Describe", "List", "Get"].iter().any(|p| op.starts_with(p)),
                "{service}:{op} in a converged pass"
            );
        }
    }
    // One list/describe per kind: no per-resource describes of endpoints, clusters or services.
    let c = calls(second);
    assert_eq!(c["EC2"]["DescribeVpcEndpoints"], 1);
    assert_eq!(c["ElastiCache"]["DescribeCacheClusters"], 1);
    assert_eq!(c["AppRunner"]["ListServices"], 1);
    assert!(c["AppRunner"].get("DescribeService").is_none(), "unchanged services are not described again: {c}");
    assert!(c["ECS"].get("DescribeTaskDefinition").is_none(), "task definitions are cached by ARN: {c}");
    assert!(c["ElastiCache"].get("ListTagsForResource").is_none(), "tags are cached: {c}");
    assert_eq!(live.world.run(&["diff", "--live"]).code(), 0);
}

#[test]
fn a_deleted_redis_cluster_is_recreated_and_its_new_address_flows_to_web_and_worker() {
    let live = Live::start();
    let old_address = live.output("CacheCluster/mentor-match-redis", "address");
    let (_, old_env) = live.worker();
    let old_td = live.worker().0.task_definition().unwrap().to_string();
    live.block(live.elasticache().delete_cache_cluster().cache_cluster_id("mentor-match-redis").send()).unwrap();
    let events = live.converge();
    assert_eq!(fields(&events, "resource_created"), vec!["CacheCluster/mentor-match-redis "]);
    let new_address = live.output("CacheCluster/mentor-match-redis", "address");
    assert_ne!(new_address, old_address);
    assert_eq!(live.web_env()["REDIS_URL"], format!("redis://{new_address}:6379/0"));
    let (worker, env) = live.worker();
    assert_eq!(env["REDIS_URL"], format!("redis://{new_address}:6379/0"));
    assert_ne!(env["REDIS_URL"], old_env["REDIS_URL"]);
    assert_ne!(worker.task_definition().unwrap(), old_td, "a new task definition revision");
    // App Runner is updated before the worker (graph order): changes the new address caused.
    let changes: Vec<String> = named(&events, "change_started")
        .iter()
        .map(|e| format!("{}/{} {}", e["kind"].as_str().unwrap(), e["name"].as_str().unwrap(), e["fields"][0]["field"]))
        .collect();
    let web = changes.iter().position(|f| f.starts_with("AppRunnerService/mmweb \"image.env.REDIS_URL")).unwrap();
    let worker = changes
        .iter()
        .position(|f| f.starts_with("EcsService/mentor-match-worker \"taskDefinition.containers[0].env.REDIS_URL"))
        .unwrap();
    assert!(web < worker, "{changes:?}");
}

#[test]
fn node_type_endpoint_and_worker_drift_are_healed() {
    let live = Live::start();
    let ec = live.elasticache();
    live.resize_redis("cache.t4g.small");
    // An interface endpoint: one deleted, one losing its security group and a subnet.
    let ec2 = live.ec2();
    let endpoints = live.block(ec2.describe_vpc_endpoints().send()).unwrap();
    let by_name = |name: &str| {
        endpoints
            .vpc_endpoints()
            .iter()
            .find(|e| e.tags().iter().any(|t| t.key() == Some("steward:name") && t.value() == Some(name)))
            .unwrap()
            .vpc_endpoint_id()
            .unwrap()
            .to_string()
    };
    let (ecr_api, logs) = (by_name("ecr-api"), by_name("logs"));
    live.block(ec2.delete_vpc_endpoints().vpc_endpoint_ids(&ecr_api).send()).unwrap();
    live.block(
        ec2.modify_vpc_endpoint()
            .vpc_endpoint_id(&logs)
            .remove_security_group_ids(live.security_group("allow_vpce"))
            .remove_subnet_ids(live.subnet('b'))
            .send(),
    )
    .unwrap();
    // The worker: scaled to zero, and pointed at a task definition with another environment.
    let ecs = live.ecs();
    live.block(ecs.update_service().cluster("celery-workers").service("mentor-match-worker").desired_count(0).send())
        .unwrap();
    let other = live
        .block(
            ecs.register_task_definition()
                .family("mentor-match-worker")
                .container_definitions(
                    aws_sdk_ecs::types::ContainerDefinition::builder()
                        .name("worker")
                        .image("busybox")
                        .memory(512)
                        .environment(
                            aws_sdk_ecs::types::KeyValuePair::builder().name("FLASK_ENV").value("production").build(),
                        )
                        .build(),
                )
                .send(),
        )
        .unwrap();
    let other_arn = other.task_definition().unwrap().task_definition_arn().unwrap().to_string();
    live.block(
        ecs.update_service()
            .cluster("celery-workers")
            .service("mentor-match-worker")
            .task_definition(&other_arn)
            .send(),
    )
    .unwrap();

    let plan = live.world.run(&["diff", "--live"]);
    assert_eq!(plan.code(), 2, "{}", plan.stdout());
    assert!(plan.stdout().contains("+ VpcEndpoint/ecr-api [stack mentor-match] create"), "{}", plan.stdout());
    assert!(plan.stdout().contains("    nodeType: \"cache.t4g.small\" → \"cache.t4g.micro\""), "{}", plan.stdout());

    let events = live.converge();
    let drift = fields(&events, "drift_detected");
    for expected in [
        "CacheCluster/mentor-match-redis nodeType",
        "VpcEndpoint/logs securityGroups",
        "EcsService/mentor-match-worker desiredCount",
    ] {
        assert!(drift.iter().any(|d| d == expected), "{expected} not in {drift:?}");
    }
    assert!(fields(&events, "resource_created").contains(&"VpcEndpoint/ecr-api ".to_string()));
    assert!(fields(&events, "drift_corrected").iter().any(|f| f == "CacheCluster/mentor-match-redis nodeType"));

    let cluster = live.block(ec.describe_cache_clusters().cache_cluster_id("mentor-match-redis").send()).unwrap();
    assert_eq!(cluster.cache_clusters()[0].cache_node_type(), Some("cache.t4g.micro"));
    let healed = live.block(ec2.describe_vpc_endpoints().vpc_endpoint_ids(&logs).send()).unwrap();
    let e = &healed.vpc_endpoints()[0];
    assert_eq!(e.subnet_ids().len(), 3);
    assert!(e.groups().iter().any(|g| g.group_id() == Some(live.security_group("allow_vpce").as_str())));
    let (worker, env) = live.worker();
    assert_eq!(worker.desired_count(), 1);
    assert_ne!(worker.task_definition(), Some(other_arn.as_str()));
    assert_eq!(env["FLASK_ENV"], "development");
    assert!(env.contains_key("REDIS_URL"));
}

#[test]
fn app_runner_env_pause_and_deletion_are_healed() {
    let live = Live::start();
    let ar = live.apprunner();
    let arn = live.output("AppRunnerService/mmweb", "arn");
    let changed = live.change_web_env();
    assert_eq!(changed["Service"]["Status"], "OPERATION_IN_PROGRESS", "{changed}");
    live.converge();
    let env = live.web_env();
    assert_eq!(env["FLASK_ENV"], "development");
    assert_eq!(env["FLASK_APP"], "app:create_app()");

    live.block(ar.pause_service().service_arn(&arn).send()).unwrap();
    let events = live.converge();
    assert!(fields(&events, "drift_detected").contains(&"AppRunnerService/mmweb status".to_string()), "{events:?}");
    let service = live.block(ar.describe_service().service_arn(&arn).send()).unwrap();
    assert_eq!(service.service().unwrap().status().as_str(), "RUNNING");

    // A connector in use cannot be deleted, on AWS as here (emulator/QUIRKS.md); its replacement
    // under a new name is tests/quirks.rs's.
    let connector = live.output("AppRunnerVpcConnector/mm-vpc-connector", "arn");
    let refused = live.block(ar.delete_vpc_connector().vpc_connector_arn(&connector).send()).unwrap_err();
    assert!(refused.as_service_error().is_some_and(|e| e.is_invalid_request_exception()), "{refused:?}");

    // The service itself goes: it is recreated, with a new URL that the worker picks up.
    live.block(ar.delete_service().service_arn(&arn).send()).unwrap();
    let events = live.converge();
    assert!(fields(&events, "resource_created").contains(&"AppRunnerService/mmweb ".to_string()));
    let url = live.output("AppRunnerService/mmweb", "serviceUrl");
    assert_eq!(live.worker().1["SERVICE_URL"], format!("https://{url}"));
}

#[test]
fn a_disassociated_custom_domain_is_associated_again() {
    let live = Live::start();
    let ar = live.apprunner();
    let arn = live.output("AppRunnerService/mmweb", "arn");
    assert!(!live.output("AppRunnerCustomDomain/mmweb-domain", "dnsTarget").is_empty());
    let records: Value =
        serde_json::from_str(&live.output("AppRunnerCustomDomain/mmweb-domain", "validationRecords")).unwrap();
    assert_eq!(records[0]["type"], "CNAME");
    live.block(ar.disassociate_custom_domain().service_arn(&arn).domain_name("mmweb.mentor-match.example.com").send())
        .unwrap();
    let events = live.converge();
    assert!(
        fields(&events, "resource_created").contains(&"AppRunnerCustomDomain/mmweb-domain ".to_string()),
        "{events:?}"
    );
    let domains = live.block(ar.describe_custom_domains().service_arn(&arn).send()).unwrap();
    // In lower case, as AWS answers (the model's enum says ACTIVE).
    assert_eq!(domains.custom_domains()[0].status().as_str(), "active");
}

#[test]
fn a_deleted_password_parameter_gets_a_new_password_set_on_the_user() {
    let live = Live::start();
    let ssm = live.ssm();
    let name = "/mentor-match/redis/password/admin";
    let first = live
        .block(ssm.get_parameter().name(name).with_decryption(true).send())
        .unwrap()
        .parameter
        .unwrap()
        .value
        .unwrap();
    assert_eq!(first.len(), 16);
    let check = |password: &str| {
        live.admin(
            "POST",
            "/_emulator/elasticache/password-check",
            &json!({"region": "eu-west-1", "userId": "redisadmin", "password": password}).to_string(),
        )["matches"]
            .clone()
    };
    assert_eq!(check(&first), true);
    live.block(ssm.delete_parameter().name(name).send()).unwrap();
    let events = live.converge();
    let drift = named(&events, "drift_detected");
    let password = drift.iter().find(|e| e["field"] == "password").expect("password drift");
    // Facts about the parameter, never the value.
    assert_eq!(password["desired"], "set from the parameter's current version");
    assert_eq!(password["actual"], "the parameter is missing");
    let second = live.block(ssm.get_parameter().name(name).with_decryption(true).send()).unwrap().parameter.unwrap();
    assert_eq!(second.r#type().unwrap().as_str(), "SecureString");
    let second = second.value.unwrap();
    assert_ne!(second, first);
    assert_eq!(check(&second), true);
    assert_eq!(check(&first), false);
    // The password is nowhere in what steward printed or stored: not in any DynamoDB item.
    let db = aws_sdk_dynamodb::Client::new(&live.sdk);
    let items = live.block(db.scan().table_name("steward").send()).unwrap();
    assert!(items.count() > 18);
    let dump = format!("{:?}", items.items());
    assert!(!dump.contains(&second) && !dump.contains(&first), "a password is in the table");
    let stored = live.world.ok(&["status", "-o", "json"]) + &live.world.ok(&["get", "-o", "json"]);
    let printed = events.iter().map(Value::to_string).collect::<String>();
    for text in [stored, printed] {
        assert!(!text.contains(&second) && !text.contains(&first));
    }
}

#[test]
fn desired_state_edits_are_carried_out() {
    let live = Live::start();
    let dir = live.world.seed_copy();
    replace_in(&dir.join("redis.yaml"), "nodeType: cache.t4g.micro", "nodeType: cache.t4g.small");
    replace_in(&dir.join("web.yaml"), "FLASK_ENV: development", "FLASK_ENV: staging");
    replace_in(&dir.join("worker.yaml"), "desiredCount: 1", "desiredCount: 2");
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    live.converge();
    let cluster =
        live.block(live.elasticache().describe_cache_clusters().cache_cluster_id("mentor-match-redis").send()).unwrap();
    assert_eq!(cluster.cache_clusters()[0].cache_node_type(), Some("cache.t4g.small"));
    assert_eq!(live.web_env()["FLASK_ENV"], "staging");
    assert_eq!(live.worker().0.desired_count(), 2);
    assert_eq!(live.status("CacheCluster/mentor-match-redis")["observedGeneration"], 2);
}

#[test]
fn removed_resources_are_deleted_or_retained_by_policy() {
    let live = Live::start();
    // The records refer to the domain: they go first, and leave the zone with their marks.
    live.world.ok(&["delete", "Route53Record/mmweb-cname"]);
    live.world.ok(&["delete", "Route53Record/mmweb-certificate-validation"]);
    live.world.ok(&["delete", "AppRunnerCustomDomain/mmweb-domain"]);
    live.world.ok(&["delete", "CacheUser/redisadmin"]);
    let events = live.converge();
    let route53 = aws_sdk_route53::Client::new(&live.sdk);
    let zone = live.network["hostedZoneId"].as_str().unwrap();
    let sets = live.block(route53.list_resource_record_sets().hosted_zone_id(zone).send()).unwrap();
    let left: Vec<&str> = sets.resource_record_sets().iter().map(|s| s.r#type().as_str()).collect();
    assert_eq!(left, ["NS", "SOA"], "only the zone's own records are left");
    assert!(
        fields(&events, "resource_deleted").contains(&"AppRunnerCustomDomain/mmweb-domain ".to_string()),
        "{events:?}"
    );
    let arn = live.output("AppRunnerService/mmweb", "arn");
    let domains = live.block(live.apprunner().describe_custom_domains().service_arn(arn).send()).unwrap();
    assert!(domains.custom_domains().is_empty());
    assert_eq!(live.status("AppRunnerCustomDomain/mmweb-domain")["phase"], "Deleted");
    // CacheUser defaults to Retain: the user stays in AWS and the status says so.
    let users = live.block(live.elasticache().describe_users().user_id("redisadmin").send()).unwrap();
    assert_eq!(users.users().len(), 1);
    let status: Value =
        serde_json::from_str(&live.world.ok(&["status", "CacheUser/redisadmin", "-o", "json"])).unwrap();
    assert_eq!(status[0]["status"]["phase"], "Retained");
    assert!(status[0]["status"]["conditions"].to_string().contains("deletionPolicy Retain"));
}

#[test]
fn observe_policy_reports_and_paused_resources_are_left_alone() {
    let live = Live::start();
    let dir = live.world.seed_copy();
    replace_in(
        &dir.join("redis.yaml"),
        "  deletionPolicy: Retain\n---",
        "  deletionPolicy: Retain\n  managementPolicy: observe\n---",
    );
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    live.world.ok(&["pause", "EcsService/mentor-match-worker"]);
    let ec = live.elasticache();
    live.resize_redis("cache.t4g.small");
    live.block(
        live.ecs().update_service().cluster("celery-workers").service("mentor-match-worker").desired_count(0).send(),
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let events: Vec<Value> = (0..3).flat_map(|_| live.pass()).collect();
    let reported = named(&events, "drift_detected");
    assert!(reported.iter().any(|e| e["field"] == "nodeType" && e["action"] == "reported"), "{reported:?}");
    for pass in named(&events, "pass_completed") {
        assert_eq!(pass["mutatingCalls"], 0, "{pass}");
    }
    let cluster = live.block(ec.describe_cache_clusters().cache_cluster_id("mentor-match-redis").send()).unwrap();
    assert_eq!(cluster.cache_clusters()[0].cache_node_type(), Some("cache.t4g.small"));
    assert_eq!(live.worker().0.desired_count(), 0);
    assert_eq!(live.status("EcsService/mentor-match-worker")["phase"], "Paused");
    assert_eq!(live.status("CacheCluster/mentor-match-redis")["phase"], "Drifted");
    live.world.ok(&["resume", "EcsService/mentor-match-worker"]);
    live.pass();
    live.pass();
    assert_eq!(live.worker().0.desired_count(), 1);
}

#[test]
fn throttling_backs_off_without_a_hot_loop_and_then_converges() {
    let live = Live::start();
    live.block(live.elasticache().delete_cache_cluster().cache_cluster_id("mentor-match-redis").send()).unwrap();
    live.admin("POST", "/_emulator/faults", r#"{"service":"elasticache","fault":"throttle","count":20}"#);
    live.admin("DELETE", "/_emulator/requests", "");
    let events = live.converge();
    let failures = named(&events, "reconcile_failed");
    assert!(!failures.is_empty());
    assert!(failures.iter().all(|f| f["errorClass"] == "throttling"), "{failures:?}");
    // Backoff grows per resource: attempts count up and carry a next attempt time.
    let attempts: Vec<u64> =
        failures.iter().filter(|f| f["name"] == "mentor-match-redis").map(|f| f["attempt"].as_u64().unwrap()).collect();
    assert!(attempts.windows(2).all(|w| w[1] == w[0] + 1), "{attempts:?}");
    assert!(failures.iter().all(|f| f["nextAttemptAt"].is_string() && f["backoffMs"].as_u64().unwrap() > 0));
    // No hot loop: the SDK retries each call three times, so twenty injected faults are used up
    // within a handful of passes, and ElastiCache sees far fewer calls than the passes could make.
    let served = live.admin("GET", "/_emulator/requests", "");
    let elasticache_calls: u64 = served
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("elasticache:"))
        .map(|(_, v)| v.as_u64().unwrap())
        .sum();
    let passes = named(&events, "pass_completed").len() as u64;
    assert!(elasticache_calls <= 20 + 6 * passes, "{elasticache_calls} calls in {passes} passes");
    assert_eq!(live.status("CacheCluster/mentor-match-redis")["phase"], "Ready");
}

#[test]
fn an_object_with_the_right_name_but_no_ownership_tags_is_never_touched() {
    let live = Live::start();
    // Someone else's cluster of the name a new manifest wants.
    let ec = live.elasticache();
    live.block(
        ec.create_cache_cluster()
            .cache_cluster_id("other-redis")
            .engine("redis")
            // The spec's version: a newer one could only be undone by a replacement.
            .engine_version("6.2")
            .cache_node_type("cache.t4g.medium")
            .num_cache_nodes(1)
            .cache_subnet_group_name("mentor-match-redis-subnets")
            .send(),
    )
    .unwrap();
    let dir = live.world.seed_copy();
    let redis = std::fs::read_to_string(dir.join("redis.yaml")).unwrap();
    let other = redis
        .split("\n---\n")
        .find(|d| d.contains("kind: CacheCluster"))
        .unwrap()
        .replace("name: mentor-match-redis\n", "name: other-redis\n");
    std::fs::write(dir.join("other.yaml"), other).unwrap();
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    let events: Vec<Value> = (0..3).flat_map(|_| live.pass()).collect();
    let status = live.status("CacheCluster/other-redis");
    assert_eq!(status["phase"], "NotOwned", "{status}");
    assert!(status["conditions"].to_string().contains("set adopt: true"));
    assert!(named(&events, "drift_detected").iter().all(|e| e["name"] != "other-redis"));
    let cluster = live.block(ec.describe_cache_clusters().cache_cluster_id("other-redis").send()).unwrap();
    assert_eq!(cluster.cache_clusters()[0].cache_node_type(), Some("cache.t4g.medium"));
    // Removing it from the desired state never deletes what steward does not own.
    let edited = std::fs::read_to_string(dir.join("other.yaml"))
        .unwrap()
        .replace("deletionPolicy: Retain", "deletionPolicy: Delete");
    std::fs::write(dir.join("other.yaml"), edited).unwrap();
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    live.world.ok(&["delete", "CacheCluster/other-redis"]);
    live.pass();
    assert_eq!(
        live.block(ec.describe_cache_clusters().cache_cluster_id("other-redis").send()).unwrap().cache_clusters().len(),
        1
    );
    // adopt: true takes it over once, then it is reconciled like any other.
    let adopted = std::fs::read_to_string(dir.join("other.yaml"))
        .unwrap()
        .replace("  deletionPolicy: Delete", "  deletionPolicy: Retain\n  adopt: true");
    std::fs::write(dir.join("other.yaml"), adopted).unwrap();
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    let events = live.converge();
    assert!(!named(&events, "resource_adopted").is_empty(), "{events:?}");
    let cluster = live.block(ec.describe_cache_clusters().cache_cluster_id("other-redis").send()).unwrap();
    assert_eq!(cluster.cache_clusters()[0].cache_node_type(), Some("cache.t4g.micro"));
}

#[test]
fn reconcile_prints_one_json_event_per_line_with_stable_fields() {
    let live = Live::start();
    live.block(
        live.ecs().update_service().cluster("celery-workers").service("mentor-match-worker").desired_count(3).send(),
    )
    .unwrap();
    let out = live.world.ok(&["reconcile"]);
    for line in out.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
        assert!(v["timestamp"].is_string() && v["level"].is_string(), "{line}");
    }
    let events = events(&out);
    let drift = named(&events, "drift_detected")[0];
    for field in ["stack", "kind", "name", "field", "desired", "actual", "action"] {
        assert!(drift.get(field).is_some(), "{field} missing in {drift}");
    }
    assert_eq!(
        (drift["desired"].clone(), drift["actual"].clone(), drift["action"].clone()),
        (json!(1), json!(3), json!("correcting"))
    );
    let pass = named(&events, "pass_completed")[0];
    for field in ["resources", "drifted", "corrected", "failed", "awsCalls", "durationMs"] {
        assert!(pass.get(field).is_some(), "{field} missing in {pass}");
    }
}

/// A stack that keeps its own network starts from an empty account: its selector finds nothing
/// until its Vpc exists, the Vpc alone goes ahead meanwhile, and the rest follows into it.
#[test]
fn a_stack_that_keeps_its_network_is_made_from_nothing() {
    let world = common::World::new();
    world.ok(&["bootstrap"]);
    let folder = world.dir.path().join("own-network");
    std::fs::create_dir_all(&folder).unwrap();
    let manifests = r#"
apiVersion: steward/v1
kind: Stack
metadata: { name: own-network }
spec:
  region: eu-west-1
  vpc: { byTag: { Name: own-network-vpc } }
---
apiVersion: steward/v1
kind: Vpc
metadata: { name: main, stack: own-network }
spec:
  cidrBlock: 10.20.0.0/16
  enableDnsHostnames: true
  tags: { Name: own-network-vpc }
---
apiVersion: steward/v1
kind: Subnet
metadata: { name: intra-a, stack: own-network }
spec: { cidrBlock: 10.20.1.0/24, availabilityZone: eu-west-1a }
---
apiVersion: steward/v1
kind: RouteTable
metadata: { name: intra, stack: own-network }
spec:
  associations: [{ subnetId: "${Subnet/intra-a.id}" }]
"#;
    std::fs::write(folder.join("network.yaml"), manifests).unwrap();
    world.ok(&["apply", "-f", folder.to_str().unwrap()]);
    world.ok(&["reconcile", "--wait", "--timeout", "120s"]);
    let status: Value = serde_json::from_str(&world.ok(&["status", "-o", "json"])).unwrap();
    let output = |target: &str, name: &str| {
        let item = status
            .as_array()
            .unwrap()
            .iter()
            .find(|i| format!("{}/{}", i["kind"], i["name"]).replace('"', "") == target);
        let item = item.unwrap_or_else(|| panic!("{target} in {status}"));
        assert_eq!(item["status"]["phase"], "Ready", "{item}");
        item["status"]["outputs"][name].as_str().unwrap().to_string()
    };
    let vpc = output("Vpc/main", "id");
    assert_eq!(output("Stack/own-network", "vpcId"), vpc);
    let ec2 = aws_sdk_ec2::Client::new(&world.sdk());
    let subnets = common::runtime().block_on(ec2.describe_subnets().subnet_ids(output("Subnet/intra-a", "id")).send());
    assert_eq!(subnets.unwrap().subnets()[0].vpc_id(), Some(vpc.as_str()));
    let table = output("RouteTable/intra", "id");
    let tables = common::runtime().block_on(ec2.describe_route_tables().route_table_ids(&table).send()).unwrap();
    let associated: Vec<_> = tables.route_tables()[0].associations().iter().filter_map(|a| a.subnet_id()).collect();
    assert_eq!(associated, [output("Subnet/intra-a", "id")]);
    assert_ne!(output("Vpc/main", "mainRouteTable"), table, "the main table stays AWS's");
    assert!(output("Vpc/main", "defaultSecurityGroup").starts_with("sg-"));
}

/// The seed with the drift table's network, access and registry objects beside it (33
/// resources): a steady pass's calls by operation, printed for BENCHMARKS.md and bounded.
#[test]
fn a_steady_pass_over_the_seed_with_network_access_and_registry_kinds_stays_small() {
    let live = Live::prepared();
    for fixture in ["security_groups", "subnets", "network", "iam"] {
        let path = common::repo_path(&format!("tests/fixtures/{fixture}.yaml"));
        live.world.ok(&["apply", "-f", path.to_str().unwrap()]);
    }
    live.converge();
    let events = events(&live.world.ok(&["reconcile", "--passes", "3"]));
    let steady = named(&events, "pass_completed")[2];
    assert_eq!(steady["mutatingCalls"], 0, "{steady}");
    let mut by_operation = Vec::new();
    for (service, ops) in steady["awsCalls"].as_object().unwrap() {
        for (op, n) in ops.as_object().unwrap() {
            by_operation.push((format!("{service}:{op}"), n.as_u64().unwrap()));
        }
    }
    let total: u64 = by_operation.iter().map(|(_, n)| n).sum();
    println!("steady pass: {total} calls: {by_operation:?}");
    // One call per EC2 kind for the pass, the Vpc's two attribute reads and two for its outputs,
    // the repository's listing and its two policies, and IAM's reads of one role and one policy.
    assert!(total <= 32, "{total} calls: {by_operation:?}");
}
