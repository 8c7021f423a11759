use super::NetworkObject;
use super::*;

fn found(kind: Kind, name: &str, spec: Json, outputs: &[(&str, &str)]) -> Found {
    let outputs = outputs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Found { kind, name: name.into(), spec, outputs, origin: format!("{kind}/{name}") }
}

fn network(id: &str, name: &str) -> NetworkObject {
    NetworkObject { id: id.into(), name: Some(name.into()) }
}

#[test]
fn values_become_references_selectors_and_shared_tags_as_a_person_writes_them() {
    let address = "redis.abc123.0001.euw1.cache.amazonaws.com";
    let url = "abcdefgh.eu-west-1.awsapprunner.com";
    let tags = json!({ "Project": "mm", "Name": "x" });
    let inventory = Inventory {
        found: vec![
            found(
                Kind::CacheCluster,
                "redis",
                json!({ "engine": "redis", "engineVersion": "6.2", "nodeType": "cache.t4g.micro", "numCacheNodes": 1,
                        "port": 6379, "subnetGroup": "subnets", "securityGroups": ["sg-0123abcd"], "tags": tags }),
                &[("address", address), ("port", "6379")],
            ),
            found(
                Kind::CacheSubnetGroup,
                "subnets",
                json!({ "subnets": ["subnet-0a1b2c3d", "subnet-0b1b2c3d"], "tags": { "Project": "mm" } }),
                &[("name", "subnets")],
            ),
            found(
                Kind::AppRunnerService,
                "webapp",
                json!({ "accessRole": "arn:aws:iam::1:role/pull", "image": { "identifier": "i", "port": 8080, "env": { "REDIS_URL": format!("redis://{address}:6379/0") } },
                        "instance": { "cpu": 1024, "memory": 2048 }, "tags": { "Project": "mm" } }),
                &[("serviceUrl", url), ("arn", "arn:aws:apprunner:eu-west-1:1:service/webapp/1")],
            ),
            found(
                Kind::AppRunnerCustomDomain,
                "web-domain",
                json!({ "service": "arn:aws:apprunner:eu-west-1:1:service/webapp/1", "domain": "web.example.com" }),
                &[("dnsTarget", url)],
            ),
            found(
                Kind::Route53Record,
                "web-cname",
                json!({ "zone": "example.com", "name": "web.example.com", "type": "CNAME", "values": [url] }),
                &[],
            ),
        ],
        vpc: Some(network("vpc-1", "main")),
        // Two subnets named alike: neither can be selected by its Name.
        network: vec![
            network("subnet-0a1b2c3d", "intra"),
            network("subnet-0b1b2c3d", "intra"),
            network("sg-0123abcd", "allow_redis"),
        ],
        region: Some("eu-west-1".into()),
        ..Inventory::default()
    };
    let planned = plan(inventory, "mm", "60s");
    let s = &planned.summary;
    assert_eq!((s.resources, s.selectors, s.ids_kept), (5, 2, 2), "{s:?}");
    assert_eq!(s.default_tags, BTreeMap::from([("Project".to_string(), "mm".to_string())]));
    let text: String = planned.files.iter().map(|(_, t)| t.as_str()).collect();
    for expected in [
        "REDIS_URL: \"redis://${CacheCluster/redis.address}:${CacheCluster/redis.port}/0\"",
        "subnetGroup: \"${CacheSubnetGroup/subnets.name}\"",
        "service: \"${AppRunnerService/webapp.arn}\"",
        "- \"${AppRunnerCustomDomain/web-domain.dnsTarget}\"",
        "Name: allow_redis",
        "- subnet-0a1b2c3d",
        "Name: main",
        "region: eu-west-1",
    ] {
        assert!(text.contains(expected), "{expected} missing in:\n{text}");
    }
    // AWS's defaults are left out; every resource is adopted.
    assert!(!text.contains("numCacheNodes") && !text.contains("port: 6379") && !text.contains("port: 8080"), "{text}");
    assert_eq!(text.matches("\n  adopt: true").count(), 5);
    let names: Vec<&str> = planned.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["stack.yaml", "redis.yaml", "web.yaml"]);
}

#[test]
fn what_steward_cannot_express_is_skipped_with_the_schema_s_reason() {
    let inventory = Inventory {
        found: vec![found(Kind::EcsCluster, "c", json!({ "containerInsights": "sometimes" }), &[])],
        ..Inventory::default()
    };
    let planned = plan(inventory, "mm", "60s");
    assert_eq!(planned.summary.resources, 0);
    assert!(
        planned.summary.skipped[0].reason.to_string().contains("spec.containerInsights"),
        "{:?}",
        planned.summary.skipped
    );
}
