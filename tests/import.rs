//! `steward import`: a stack that exists without steward (made by hand, or by Terraform) comes
//! under steward with one import, one apply and one pass that writes only ownership.

mod common;

use common::live::{Live, events};
use serde_json::Value;
use std::collections::BTreeSet;

/// Removes every trace of steward from the live objects (ownership tags, the `_steward` marks of
/// the DNS records), so that the stack is as a person made it by hand, and gives the world a new,
/// empty table.
fn as_made_by_hand(live: &mut Live) {
    let keys = ["steward:stack", "steward:kind", "steward:name"];
    let ec2 = live.ec2();
    let endpoints = live.block(ec2.describe_vpc_endpoints().send()).unwrap();
    for e in endpoints.vpc_endpoints() {
        let tags = keys.map(|k| aws_sdk_ec2::types::Tag::builder().key(k).build());
        live.block(ec2.delete_tags().resources(e.vpc_endpoint_id().unwrap()).set_tags(Some(tags.to_vec())).send())
            .unwrap();
    }
    let cache = live.elasticache();
    let mut arns: Vec<String> = Vec::new();
    let clusters = live.block(cache.describe_cache_clusters().send()).unwrap();
    arns.extend(clusters.cache_clusters().iter().filter_map(|c| c.arn().map(String::from)));
    let groups = live.block(cache.describe_cache_subnet_groups().send()).unwrap();
    arns.extend(groups.cache_subnet_groups().iter().filter_map(|g| g.arn().map(String::from)));
    let users = live.block(cache.describe_users().send()).unwrap();
    arns.extend(
        users.users().iter().filter(|u| u.user_id() != Some("default")).filter_map(|u| u.arn().map(String::from)),
    );
    for arn in arns {
        live.block(
            cache
                .remove_tags_from_resource()
                .resource_name(&arn)
                .set_tag_keys(Some(keys.map(String::from).to_vec()))
                .send(),
        )
        .unwrap();
    }
    let apprunner = live.apprunner();
    let mut arns: Vec<String> = Vec::new();
    let connectors = live.block(apprunner.list_vpc_connectors().send()).unwrap();
    arns.extend(connectors.vpc_connectors().iter().filter_map(|v| v.vpc_connector_arn().map(String::from)));
    let services = live.block(apprunner.list_services().send()).unwrap();
    arns.extend(services.service_summary_list().iter().filter_map(|s| s.service_arn().map(String::from)));
    for arn in arns {
        live.block(
            apprunner.untag_resource().resource_arn(&arn).set_tag_keys(Some(keys.map(String::from).to_vec())).send(),
        )
        .unwrap();
    }
    let ecs = live.ecs();
    let (service, _) = live.worker();
    let task_definition = service.task_definition().unwrap().to_string();
    for arn in [service.cluster_arn().unwrap(), service.service_arn().unwrap(), task_definition.as_str()] {
        live.block(ecs.untag_resource().resource_arn(arn).set_tag_keys(Some(keys.map(String::from).to_vec())).send())
            .unwrap();
    }
    let logs = live.logs();
    let groups = live.block(logs.describe_log_groups().send()).unwrap();
    for group in groups.log_groups() {
        let arn = group.arn().unwrap().trim_end_matches(":*");
        let keys = keys.map(String::from).to_vec();
        live.block(logs.untag_resource().resource_arn(arn).set_tag_keys(Some(keys)).send()).unwrap();
    }
    delete_marks(live);
    live.world.table = "made-by-hand".into();
    live.world.ok(&["bootstrap"]);
}

/// Deletes the `_steward.<name>` TXT records steward writes beside each of its records.
fn delete_marks(live: &Live) {
    use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch};
    let route53 = aws_sdk_route53::Client::new(&live.sdk);
    let zone = live.network["hostedZoneId"].as_str().unwrap();
    let sets = live.block(route53.list_resource_record_sets().hosted_zone_id(zone).send()).unwrap();
    let marks: Vec<Change> = sets
        .resource_record_sets()
        .iter()
        .filter(|r| r.name().starts_with("_steward."))
        .map(|r| Change::builder().action(ChangeAction::Delete).resource_record_set(r.clone()).build().unwrap())
        .collect();
    assert!(!marks.is_empty(), "steward's records carry marks");
    let batch = ChangeBatch::builder().set_changes(Some(marks)).build().unwrap();
    live.block(route53.change_resource_record_sets().hosted_zone_id(zone).change_batch(batch).send()).unwrap();
}

/// The operations of a pass that changed something in AWS.
fn mutating_operations(pass: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    // The store's own calls (DynamoDB) are not changes to the stack.
    for (service, operations) in pass["awsCalls"].as_object().into_iter().flatten().filter(|(s, _)| *s != "DynamoDB") {
        for operation in operations.as_object().into_iter().flatten().map(|(o, _)| o) {
            let reads = ["Describe", "List", "Get"].iter().any(|p| operation.starts_with(p));
            if !reads {
                out.insert(format!("{service}:{operation}"));
            }
        }
    }
    out
}

/// Apply, then the passes of the adoption (one per level of the dependency graph: a resource
/// waits until what it refers to is adopted) write only ownership; then a pass with nothing to do
/// and `diff --live` exit 0.
fn adopt_and_check(live: &Live, dir: &std::path::Path, adopted_resources: usize) {
    live.world.ok(&["apply", "-f", dir.to_str().unwrap(), "-m", "imported"]);
    let adoption = live.converge();
    let passes: Vec<&Value> = adoption.iter().filter(|e| e["event"] == "pass_completed").collect();
    let mutating: BTreeSet<String> = passes.iter().flat_map(|p| mutating_operations(p)).collect();
    let ownership: BTreeSet<String> = [
        "EC2:CreateTags",
        "ElastiCache:AddTagsToResource",
        "AppRunner:TagResource",
        "ECS:TagResource",
        "Route 53:ChangeResourceRecordSets",
        "CloudWatch Logs:TagResource",
    ]
    .map(String::from)
    .into();
    assert!(mutating.is_subset(&ownership), "the adoption changed more than ownership: {mutating:?}\n{adoption:#?}");
    let adopted = adoption.iter().filter(|e| e["event"] == "resource_adopted").count();
    assert_eq!(adopted, adopted_resources, "every imported resource with tags or marks is adopted: {adoption:#?}");
    let changes: Vec<&Value> = adoption
        .iter()
        .filter(|e| {
            ["drift_detected", "change_started", "resource_created"].contains(&e["event"].as_str().unwrap_or_default())
        })
        .collect();
    assert!(changes.is_empty(), "the adoption found drift or made a change: {changes:#?}");
    let after = events(&live.world.ok(&["reconcile"]));
    let pass = after.iter().find(|e| e["event"] == "pass_completed").unwrap();
    assert_eq!(pass["mutatingCalls"], 0, "{after:#?}");
    let (code, plan) = live.plan();
    assert_eq!(code, 0, "diff --live after the import: {plan:#?}");
}

fn read(dir: &std::path::Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn a_stack_made_by_hand_comes_under_steward_with_one_import_and_only_ownership_written() {
    let mut live = Live::start();
    as_made_by_hand(&mut live);
    let dir = live.world.dir.path().join("imported");
    let run = live.world.run(&[
        "--stack",
        "mentor-match",
        "import",
        "aws",
        "--vpc",
        "mentor-match-vpc",
        "--password-parameter",
        "redisadmin=/mentor-match/redis/password/admin",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    let summary = run.stdout();
    assert!(summary.contains("wrote 18 resource(s)"), "{summary}");
    // References where the seed's Terraform had interpolations.
    let redis = "redis://${CacheCluster/mentor-match-redis.address}:${CacheCluster/mentor-match-redis.port}/0";
    let (web, worker) = (read(&dir, "web.yaml"), read(&dir, "worker.yaml"));
    assert!(web.contains(redis) && worker.contains(redis), "{web}\n{worker}");
    assert!(worker.contains("https://${AppRunnerService/mmweb.serviceUrl}"), "{worker}");
    assert!(web.contains("${AppRunnerVpcConnector/mm-vpc-connector.arn}"), "{web}");
    assert!(web.contains("${AppRunnerCustomDomain/mmweb-domain.validationRecords}"), "{web}");
    assert!(web.contains("${AppRunnerCustomDomain/mmweb-domain.dnsTarget}"), "{web}");
    assert!(read(&dir, "redis.yaml").contains("${CacheSubnetGroup/mentor-match-redis-subnets.name}"));
    assert!(worker.contains("${EcsCluster/celery-workers.arn}"), "{worker}");
    // Selectors by Name, the shared tags lifted, adopt on each.
    let endpoints = read(&dir, "endpoints.yaml");
    assert!(
        endpoints.contains("Name: mentor-match-vpc-intra-eu-west-1a") && endpoints.contains("Name: allow_vpce"),
        "{endpoints}"
    );
    let stack = read(&dir, "stack.yaml");
    assert!(stack.contains("Project: mentor-match") && stack.contains("Name: mentor-match-vpc"), "{stack}");
    assert_eq!(
        [endpoints.as_str(), &web, &worker, &read(&dir, "redis.yaml")]
            .iter()
            .map(|t| t.matches("\n  adopt: true").count())
            .sum::<usize>(),
        18
    );
    // A second import does not overwrite what the first wrote.
    let again = live.world.run(&[
        "--stack",
        "mentor-match",
        "import",
        "aws",
        "--vpc",
        "mentor-match-vpc",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(again.code(), 1, "{}", again.stdout());
    assert!(again.stderr().contains("already exist") && again.stderr().contains("--force"), "{}", again.stderr());
    // 17 of 18: a custom domain carries no tags; it is steward's through its service.
    adopt_and_check(&live, &dir, 17);
    // The password was taken over, not rotated: the parameter is still at its first version.
    let parameter = live
        .block(live.ssm().get_parameter().name("/mentor-match/redis/password/admin").send())
        .unwrap()
        .parameter
        .unwrap();
    assert_eq!(parameter.version, 1);
}

#[test]
fn a_terraform_state_of_the_stack_comes_under_steward_with_no_secret_written_anywhere() {
    let mut live = Live::start();
    as_made_by_hand(&mut live);
    let (state, password) = common::tfstate::of_live_stack(&live);
    let file = live.world.dir.path().join("terraform.tfstate");
    std::fs::write(&file, serde_json::to_string_pretty(&state).unwrap()).unwrap();
    let dir = live.world.dir.path().join("from-terraform");
    let args =
        ["--stack", "mentor-match", "import", "terraform", file.to_str().unwrap(), "--dir", dir.to_str().unwrap()];
    let dry = live.world.run(&[&args[..], &["--dry-run"]].concat());
    assert_eq!(dry.code(), 0, "{}\n{}", dry.stdout(), dry.stderr());
    assert!(!dir.exists(), "--dry-run wrote {}", dir.display());
    let run = live.world.run(&args);
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    let summary = run.stdout();
    // The seed's Terraform has no record for the service's own name: 17 resources, not 18.
    assert!(summary.contains("wrote 17 resource(s)"), "{summary}");
    assert!(
        summary.contains("data.aws_route53_zone.hosting") && summary.contains("random_password.redis_admin_password"),
        "{summary}"
    );
    assert!(summary.contains("terraform state rm"), "{summary}");
    let redis = "redis://${CacheCluster/mentor-match-redis.address}:${CacheCluster/mentor-match-redis.port}/0";
    let (web, worker) = (read(&dir, "web.yaml"), read(&dir, "worker.yaml"));
    assert!(web.contains(redis) && worker.contains(redis), "{web}\n{worker}");
    assert!(worker.contains("https://${AppRunnerService/mmweb.serviceUrl}"), "{worker}");
    assert!(read(&dir, "redis.yaml").contains("passwordParameter: /mentor-match/redis/password/admin"));
    adopt_and_check(&live, &dir, 16);
    // The password Terraform kept in plain text is nowhere steward wrote or said anything.
    let files: String =
        std::fs::read_dir(&dir).unwrap().map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap()).collect();
    let store =
        live.world.ok(&["get", "-o", "yaml"]) + &live.world.ok(&["history", "CacheUser/redisadmin", "-o", "json"]);
    for (what, text) in
        [("the manifests", files), ("the summary", summary), ("stderr", run.stderr()), ("the store", store)]
    {
        assert!(!text.contains(&password), "the password is in {what}");
    }
}
