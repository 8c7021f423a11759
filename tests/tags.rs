//! Tags are watched on every kind that has them. Under the default tag policy (`merge`) the keys
//! steward declares are enforced and keys others add are left alone; under `tagPolicy: exact`
//! undeclared keys are drift and are removed. Real processes, real SDK.

mod common;

use common::live::Live;
use common::replace_in;
use std::collections::BTreeMap;

/// One taggable resource of the seed: its `Kind/name`, and what addresses it in AWS.
enum Object {
    Ec2(String),
    ElastiCache(String),
    AppRunner(String),
    Ecs(String),
}

fn objects(live: &Live) -> Vec<(&'static str, Object)> {
    let ec = live.elasticache();
    let user =
        live.block(ec.describe_users().user_id("redisadmin").send()).unwrap().users()[0].arn().unwrap().to_string();
    let group = live.block(ec.describe_cache_subnet_groups().send()).unwrap().cache_subnet_groups()[0]
        .arn()
        .unwrap()
        .to_string();
    vec![
        ("VpcEndpoint/logs", Object::Ec2(live.output("VpcEndpoint/logs", "id"))),
        ("CacheCluster/mentor-match-redis", Object::ElastiCache(live.output("CacheCluster/mentor-match-redis", "arn"))),
        ("CacheUser/redisadmin", Object::ElastiCache(user)),
        ("CacheSubnetGroup/mentor-match-redis-subnets", Object::ElastiCache(group)),
        (
            "AppRunnerVpcConnector/mm-vpc-connector",
            Object::AppRunner(live.output("AppRunnerVpcConnector/mm-vpc-connector", "arn")),
        ),
        ("AppRunnerService/mmweb", Object::AppRunner(live.output("AppRunnerService/mmweb", "arn"))),
        ("EcsCluster/celery-workers", Object::Ecs(live.output("EcsCluster/celery-workers", "arn"))),
        ("EcsService/mentor-match-worker", Object::Ecs(live.output("EcsService/mentor-match-worker", "arn"))),
    ]
}

/// Sets one tag out of band, through the object's own API.
fn set_tag(live: &Live, object: &Object, key: &str, value: &str) {
    match object {
        Object::Ec2(id) => {
            let tag = aws_sdk_ec2::types::Tag::builder().key(key).value(value).build();
            live.block(live.ec2().create_tags().resources(id).tags(tag).send()).unwrap();
        }
        Object::ElastiCache(arn) => {
            let tag = aws_sdk_elasticache::types::Tag::builder().key(key).value(value).build();
            live.block(live.elasticache().add_tags_to_resource().resource_name(arn).tags(tag).send()).unwrap();
        }
        Object::AppRunner(arn) => {
            let tag = aws_sdk_apprunner::types::Tag::builder().key(key).value(value).build();
            live.block(live.apprunner().tag_resource().resource_arn(arn).tags(tag).send()).unwrap();
        }
        Object::Ecs(arn) => {
            let tag = aws_sdk_ecs::types::Tag::builder().key(key).value(value).build();
            live.block(live.ecs().tag_resource().resource_arn(arn).tags(tag).send()).unwrap();
        }
    }
}

fn tags_of(live: &Live, object: &Object) -> BTreeMap<String, String> {
    let pairs: Vec<(Option<String>, Option<String>)> = match object {
        Object::Ec2(id) => {
            let out = live.block(live.ec2().describe_vpc_endpoints().vpc_endpoint_ids(id).send()).unwrap();
            out.vpc_endpoints()[0].tags().iter().map(|t| (t.key.clone(), t.value.clone())).collect()
        }
        Object::ElastiCache(arn) => {
            let out = live.block(live.elasticache().list_tags_for_resource().resource_name(arn).send()).unwrap();
            out.tag_list().iter().map(|t| (t.key.clone(), t.value.clone())).collect()
        }
        Object::AppRunner(arn) => {
            let out = live.block(live.apprunner().list_tags_for_resource().resource_arn(arn).send()).unwrap();
            out.tags().iter().map(|t| (t.key.clone(), t.value.clone())).collect()
        }
        Object::Ecs(arn) => {
            let out = live.block(live.ecs().list_tags_for_resource().resource_arn(arn).send()).unwrap();
            out.tags().iter().map(|t| (t.key.clone(), t.value.clone())).collect()
        }
    };
    pairs.into_iter().map(|(k, v)| (k.unwrap_or_default(), v.unwrap_or_default())).collect()
}

/// The drifted fields `diff --live -o json` reports per resource, and its exit code.
fn drift_by_resource(live: &Live) -> (i32, BTreeMap<String, Vec<String>>) {
    let (code, plan) = live.plan();
    let by = plan
        .iter()
        .map(|e| {
            let fields =
                e["drift"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap().to_string()).collect();
            (format!("{}/{}", e["kind"].as_str().unwrap(), e["name"].as_str().unwrap()), fields)
        })
        .collect();
    (code, by)
}

#[test]
fn declared_tags_are_healed_on_every_kind_and_foreign_tags_are_left_alone_unless_exact() {
    let live = Live::start();
    let objects = objects(&live);
    for (_, object) in &objects {
        set_tag(&live, object, "Project", "someone-else"); // declared in the stack's defaultTags
        set_tag(&live, object, "CostCenter", "42"); // added by other tooling
    }
    let (code, drift) = drift_by_resource(&live);
    assert_eq!(code, 2);
    for (target, _) in &objects {
        assert_eq!(drift[*target], vec!["tags.Project".to_string()], "{target}: {drift:?}");
    }
    live.world.ok(&["reconcile"]);
    for (target, object) in &objects {
        let tags = tags_of(&live, object);
        assert_eq!(tags.get("Project").map(String::as_str), Some("mentor-match"), "{target} healed: {tags:?}");
        assert_eq!(tags.get("CostCenter").map(String::as_str), Some("42"), "{target}: foreign tag kept");
        assert!(tags.contains_key("steward:name"), "{target}: ownership kept");
    }
    live.converge();
    assert_eq!(drift_by_resource(&live).0, 0);

    // tagPolicy: exact makes the foreign key drift, and removes it.
    let dir = live.world.seed_copy();
    replace_in(&dir.join("stack.yaml"), "  resync: 60s\n", "  resync: 60s\n  tagPolicy: exact\n");
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    let (code, drift) = drift_by_resource(&live);
    assert_eq!(code, 2);
    for (target, _) in &objects {
        assert_eq!(drift[*target], vec!["tags.CostCenter".to_string()], "{target}: {drift:?}");
    }
    live.world.ok(&["reconcile"]);
    for (target, object) in &objects {
        let tags = tags_of(&live, object);
        assert!(!tags.contains_key("CostCenter"), "{target}: {tags:?}");
        assert_eq!(tags.get("Project").map(String::as_str), Some("mentor-match"), "{target}");
    }
}
