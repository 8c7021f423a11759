//! AWS as it really behaves where its models say otherwise (emulator/QUIRKS.md), and steward
//! coping with it: custom-domain statuses in lower case, validation only through the DNS records
//! steward writes into Route 53, and a certificate renewal that fails once a record is gone.
//! Real processes, real SDK.

mod common;

use common::live::Live;
use std::time::Duration;

const DOMAIN: &str = "mmweb.mentor-match.example.com";

fn domain_status(live: &Live) -> String {
    let arn = live.output("AppRunnerService/mmweb", "arn");
    if arn.is_empty() {
        return String::new();
    }
    let out = live.block(live.apprunner().describe_custom_domains().service_arn(arn).send()).unwrap();
    out.custom_domains().first().map(|d| d.status().as_str().to_string()).unwrap_or_default()
}

fn route53(live: &Live) -> aws_sdk_route53::Client {
    aws_sdk_route53::Client::new(&live.sdk)
}

fn zone(live: &Live) -> String {
    live.network["hostedZoneId"].as_str().unwrap().to_string()
}

/// The record sets of the zone as (name, type, ttl, values).
fn records(live: &Live) -> Vec<(String, String, i64, Vec<String>)> {
    let out = live.block(route53(live).list_resource_record_sets().hosted_zone_id(zone(live)).send()).unwrap();
    out.resource_record_sets()
        .iter()
        .map(|s| {
            let values = s.resource_records().iter().map(|r| r.value().to_string()).collect();
            (s.name().to_string(), s.r#type().as_str().to_string(), s.ttl().unwrap_or(0), values)
        })
        .collect()
}

fn validation_record(live: &Live) -> (String, String) {
    let records: serde_json::Value =
        serde_json::from_str(&live.output("AppRunnerCustomDomain/mmweb-domain", "validationRecords")).unwrap();
    (records[0]["name"].as_str().unwrap().to_string(), records[0]["value"].as_str().unwrap().to_string())
}

#[test]
fn the_custom_domain_turns_active_only_once_steward_has_written_its_validation_records() {
    let live = Live::prepared();
    // Hold the validation records back: everything else converges, the domain waits.
    live.world.ok(&["pause", "Route53Record/mmweb-certificate-validation"]);
    common::eventually("the domain waits for DNS validation", Duration::from_secs(180), || {
        live.pass();
        domain_status(&live) == "pending_certificate_dns_validation"
    });
    for _ in 0..3 {
        live.pass();
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(domain_status(&live), "pending_certificate_dns_validation", "no records, no validation");
    let status = live.status("AppRunnerCustomDomain/mmweb-domain");
    assert_eq!(status["phase"], "Busy", "{status}");
    assert!(status.to_string().contains("waiting for the certificate validation DNS records"), "{status}");
    // The CNAME that people type is written meanwhile (it needs only the DNS target).
    let (name, value) = validation_record(&live);
    assert!(records(&live).iter().any(|r| r.0 == format!("{DOMAIN}.") && r.1 == "CNAME"));
    assert!(!records(&live).iter().any(|r| r.0.eq_ignore_ascii_case(&name)));

    live.world.ok(&["resume", "Route53Record/mmweb-certificate-validation"]);
    live.converge();
    assert_eq!(domain_status(&live), "active");
    let written = records(&live);
    let record = written.iter().find(|r| r.0.eq_ignore_ascii_case(&name)).expect("the validation record");
    assert_eq!((record.1.as_str(), record.2, record.3.clone()), ("CNAME", 300, vec![value.to_ascii_lowercase()]));
    // Each record steward wrote has its ownership mark beside it.
    assert!(written.iter().any(|r| r.0.eq_ignore_ascii_case(&format!("_steward.{name}")) && r.1 == "TXT"));
    assert_eq!(live.world.run(&["diff", "--live"]).code(), 0);
}

#[test]
fn a_deleted_validation_record_is_recreated_and_a_renewal_without_it_fails_until_then() {
    let live = Live::start();
    assert_eq!(domain_status(&live), "active");
    let (name, value) = validation_record(&live);
    live.change_record(aws_sdk_route53::types::ChangeAction::Delete, &name, 300, &value);
    // The certificate renews now: without the record it fails, and the domain waits again.
    live.admin("POST", "/_emulator/apprunner/renew-certificates", "{}");
    common::eventually("the renewal fails", Duration::from_secs(30), || {
        domain_status(&live) == "pending_certificate_dns_validation"
    });
    let (code, plan) = live.plan();
    assert_eq!(code, 2);
    let entry =
        plan.iter().find(|e| e["kind"] == "Route53Record" && e["name"] == "mmweb-certificate-validation").unwrap();
    assert_eq!(entry["verdict"], "create", "{entry}");

    let events = common::live::events(&live.world.ok(&["reconcile", "--wait", "--timeout", "180s"]));
    let drift = common::live::named(&events, "drift_detected");
    assert!(
        drift.iter().any(|e| e["kind"] == "Route53Record" && e["cause"] == "deleted"),
        "a record steward wrote and someone deleted is drift: {drift:?}"
    );
    assert!(records(&live).iter().any(|r| r.0.eq_ignore_ascii_case(&name)), "recreated");
    common::eventually("the domain is active again", Duration::from_secs(30), || domain_status(&live) == "active");
}

#[test]
fn valkey_on_a_cache_cluster_is_refused_with_the_reason() {
    let world = common::World::new();
    let dir = world.seed_copy();
    common::replace_in(
        &dir.join("redis.yaml"),
        "  engine: redis\n  engineVersion: \"6.2\"",
        "  engine: valkey\n  engineVersion: \"7.2\"",
    );
    let run = world.run(&["validate", "-f", dir.to_str().unwrap()]);
    assert_eq!(run.code(), 1, "{}", run.stdout());
    let said = run.stderr();
    assert!(said.contains("redis.yaml") && said.contains("CacheCluster/mentor-match-redis: spec.engine"), "{said}");
    assert!(said.contains("valkey is not available for a CacheCluster"), "{said}");
}

#[test]
fn an_engine_version_upgraded_out_of_band_is_reported_as_needing_replacement_and_never_downgraded() {
    let live = Live::start();
    let upgrade = serde_json::json!({ "service": "elasticache", "region": "eu-west-1", "operation": "ModifyCacheCluster",
        "input": { "CacheClusterId": "mentor-match-redis", "EngineVersion": "7.0",
                   "ApplyImmediately": true } });
    live.admin("POST", "/_emulator/out-of-band", &upgrade.to_string());
    live.admin("DELETE", "/_emulator/requests", "");
    let entry = || {
        let (code, plan) = live.plan();
        (code, plan.into_iter().find(|e| e["kind"] == "CacheCluster").unwrap())
    };
    common::eventually("the upgrade is seen", Duration::from_secs(60), || {
        let (_, e) = entry();
        e["drift"].as_array().is_some_and(|d| d.iter().any(|d| d["field"] == "engineVersion"))
    });
    let (code, e) = entry();
    assert_eq!(code, 2);
    let drift = e["drift"].as_array().unwrap().iter().find(|d| d["field"] == "engineVersion").unwrap().clone();
    assert!(drift["action"].as_str().unwrap().starts_with("immutable"), "{e}");
    let events: Vec<serde_json::Value> = (0..2).flat_map(|_| live.pass()).collect();
    assert!(common::live::named(&events, "reconcile_failed").is_empty(), "no downgrade attempted: {events:?}");
    let served = live.admin("GET", "/_emulator/requests", "");
    assert!(served.get("elasticache:ModifyCacheCluster").is_none(), "{served}");
    assert_eq!(live.status("CacheCluster/mentor-match-redis")["phase"], "Drifted");
}

#[test]
fn an_instance_role_still_propagating_is_retried_as_transient() {
    let live = Live::prepared();
    let fault = serde_json::json!({ "service": "apprunner", "operation": "CreateService", "fault": "iam-propagation", "count": 2 });
    live.admin("POST", "/_emulator/faults", &fault.to_string());
    let events = live.converge();
    let failed: Vec<&serde_json::Value> = common::live::named(&events, "reconcile_failed")
        .into_iter()
        .filter(|e| e["kind"] == "AppRunnerService")
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(
        failed.iter().all(|e| e["errorClass"] == "transient" && e["backoffMs"].as_u64().unwrap() < 60_000),
        "{failed:?}"
    );
    live.assert_no_duplicates();
}

#[test]
fn tag_calls_refused_during_a_transition_do_not_fail_the_pass() {
    let live = Live::start();
    live.admin("POST", "/_emulator/config", r#"{"transitionMs": 5000}"#);
    let modify = serde_json::json!({ "service": "elasticache", "region": "eu-west-1", "operation": "ModifyUser",
        "input": { "UserId": "redisadmin", "AccessString": "on ~* +@read" } });
    live.admin("POST", "/_emulator/out-of-band", &modify.to_string());
    // Fresh processes: no tags are cached, so the pass must ask for them while the user is modifying.
    let events = live.pass();
    let failures: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["event"].as_str().is_some_and(|n| n.ends_with("_failed"))).collect();
    assert!(failures.is_empty(), "{failures:?}");
    let (_, plan) = live.plan();
    let user = plan.iter().find(|e| e["kind"] == "CacheUser").unwrap();
    assert_eq!(user["verdict"], "wait", "{user}");
    live.admin("POST", "/_emulator/config", r#"{"transitionMs": 50}"#);
    std::thread::sleep(Duration::from_secs(5));
    live.converge();
    assert_eq!(live.world.run(&["diff", "--live"]).code(), 0);
}

#[test]
fn answers_lost_after_the_call_took_effect_make_no_duplicates() {
    let live = Live::prepared();
    for operation in ["CreateCacheCluster", "CreateUser", "CreateService", "CreateVpcConnector"] {
        let service =
            if operation == "CreateService" || operation == "CreateVpcConnector" { "apprunner" } else { "elasticache" };
        let fault = serde_json::json!({ "service": service, "operation": operation, "fault": "lost", "count": 1 });
        live.admin("POST", "/_emulator/faults", &fault.to_string());
    }
    live.converge();
    live.assert_no_duplicates();
    let users = live.block(live.elasticache().describe_users().send()).unwrap();
    assert_eq!(users.users().iter().filter(|u| u.user_id() == Some("redisadmin")).count(), 1);
    assert_eq!(live.world.run(&["diff", "--live"]).code(), 0);
}

#[test]
fn a_changed_connector_is_replaced_under_a_new_name_and_the_old_one_goes_once_unused() {
    let live = Live::start();
    let before = live.output("AppRunnerVpcConnector/mm-vpc-connector", "arn");
    let dir = live.world.seed_copy();
    common::replace_in(
        &dir.join("web.yaml"),
        "    - { byTag: { Name: mentor-match-vpc-intra-eu-west-1c } }\n  securityGroups",
        "  securityGroups",
    );
    live.world.ok(&["apply", "-f", dir.to_str().unwrap()]);
    live.converge();
    let connectors = live.block(live.apprunner().list_vpc_connectors().send()).unwrap();
    let active: Vec<(String, String, usize)> = connectors
        .vpc_connectors()
        .iter()
        .filter(|c| c.status().is_some_and(|s| s.as_str() == "ACTIVE"))
        .map(|c| {
            (c.vpc_connector_name().unwrap().to_string(), c.vpc_connector_arn().unwrap().to_string(), c.subnets().len())
        })
        .collect();
    assert_eq!(active.len(), 1, "the superseded connector is deleted: {active:?}");
    assert_eq!((active[0].0.as_str(), active[0].2), ("mm-vpc-connector-r2", 2));
    assert_ne!(active[0].1, before);
    let web = live
        .block(live.apprunner().describe_service().service_arn(live.output("AppRunnerService/mmweb", "arn")).send());
    let egress = web.unwrap().service.unwrap().network_configuration.unwrap().egress_configuration.unwrap();
    assert_eq!(egress.vpc_connector_arn(), Some(active[0].1.as_str()), "the service moved to the new connector");
    assert_eq!(live.world.run(&["diff", "--live"]).code(), 0);
}

fn error_code<T, E: aws_sdk_elasticache::error::ProvideErrorMetadata>(r: Result<T, E>) -> Option<String> {
    r.err().and_then(|e| e.code().map(str::to_string))
}

/// Orders the emulator to fail the next `operation` on `name` asynchronously.
fn fail_next(live: &Live, service: &str, operation: &str, name: &str) {
    let order = serde_json::json!({ "service": service, "region": "eu-west-1", "operation": operation, "name": name });
    live.admin("POST", "/_emulator/fail-next", &order.to_string());
}

fn failures<'a>(events: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    common::live::named(events, "reconcile_failed").into_iter().filter(|e| e["kind"] == kind).collect()
}

#[test]
fn objects_that_fail_after_their_creation_are_reported_then_made_again_with_backoff() {
    let live = Live::prepared();
    fail_next(&live, "apprunner", "CreateService", "mmweb");
    fail_next(&live, "elasticache", "CreateCacheCluster", "mentor-match-redis");
    let mut events = Vec::new();
    common::eventually("both failures are reported", Duration::from_secs(180), || {
        events.extend(live.pass());
        !failures(&events, "AppRunnerService").is_empty() && !failures(&events, "CacheCluster").is_empty()
    });
    let web = failures(&events, "AppRunnerService")[0].clone();
    assert_eq!((web["errorCode"].as_str(), web["errorClass"].as_str()), (Some("CREATE_FAILED"), Some("transient")));
    assert_eq!(web["operation"], "creation", "{web}");
    assert!(web["backoffMs"].as_u64().unwrap() > 0 && web["nextAttemptAt"].is_string(), "{web}");
    let redis = failures(&events, "CacheCluster")[0].clone();
    assert_eq!(redis["errorCode"], "incompatible-network", "{redis}");
    let status = live.status("AppRunnerService/mmweb");
    assert_eq!(status["phase"], "Failed", "{status}");
    assert!(status["lastError"].as_str().unwrap().contains("CREATE_FAILED"), "{status}");
    // diff --live tells what comes next.
    let (code, plan) = live.plan();
    assert_eq!(code, 2);
    let entry = plan.iter().find(|e| e["kind"] == "AppRunnerService").unwrap();
    // Held by the backoff, or (once it is over) about to be made again.
    let verdict = entry["verdict"].as_str().unwrap();
    assert!(
        verdict == "wait" || (verdict == "replace" && entry["reason"].as_str().unwrap().contains("CREATE_FAILED")),
        "{entry}"
    );

    events.extend(live.converge());
    for kind in ["AppRunnerService", "CacheCluster"] {
        let recreated = common::live::named(&events, "resource_recreating").into_iter().filter(|e| e["kind"] == kind);
        assert_eq!(recreated.count(), 1, "{kind} made again once");
        assert_eq!(failures(&events, kind).len(), 1, "{kind}: one failure, reported once");
    }
    live.assert_no_duplicates();
    assert_eq!(live.status("AppRunnerService/mmweb")["consecutiveFailures"], 0);
    assert_eq!(live.world.run(&["diff", "--live"]).code(), 0);
}

#[test]
fn an_update_aws_rolled_back_is_reported_and_retried_after_a_backoff() {
    let live = Live::start();
    live.change_web_env();
    fail_next(&live, "apprunner", "UpdateService", "mmweb");
    live.admin("DELETE", "/_emulator/requests", "");
    let mut events = Vec::new();
    common::eventually("the rollback is reported", Duration::from_secs(120), || {
        events.extend(live.pass());
        !failures(&events, "AppRunnerService").is_empty()
    });
    let failed = failures(&events, "AppRunnerService")[0].clone();
    assert_eq!(
        (failed["operation"].as_str(), failed["errorCode"].as_str()),
        (Some("UPDATE_SERVICE"), Some("ROLLBACK_SUCCEEDED"))
    );
    let status = live.status("AppRunnerService/mmweb");
    assert_eq!(status["phase"], "Failed", "{status}");
    assert_eq!(live.web_env().get("FLASK_ENV").map(String::as_str), Some("production"), "rolled back");
    events.extend(live.converge());
    assert_eq!(failures(&events, "AppRunnerService").len(), 1, "one rollback, one failure");
    let served = live.admin("GET", "/_emulator/requests", "");
    assert_eq!(served["apprunner:UpdateService"], 2, "the update, and one retry after the backoff: {served}");
    assert_eq!(live.web_env().get("FLASK_ENV").map(String::as_str), Some("development"), "healed");
    assert_eq!(live.status("AppRunnerService/mmweb")["phase"], "Ready");
}

#[test]
fn a_service_left_delete_failed_is_deleted_and_made_again_and_its_dependents_follow() {
    let live = Live::start();
    let before = live.output("AppRunnerService/mmweb", "serviceUrl");
    fail_next(&live, "apprunner", "DeleteService", "mmweb");
    let delete = serde_json::json!({ "service": "apprunner", "region": "eu-west-1", "operation": "DeleteService",
        "input": { "ServiceArn": live.output("AppRunnerService/mmweb", "arn") } });
    live.admin("POST", "/_emulator/out-of-band", &delete.to_string());
    let events = live.converge();
    assert_eq!(failures(&events, "AppRunnerService")[0]["errorCode"], "DELETE_FAILED");
    let after = live.output("AppRunnerService/mmweb", "serviceUrl");
    assert_ne!(after, before, "a new service");
    // The old one answers DELETED for a while, as on AWS: it is not taken for the live one.
    let listed = live.block(live.apprunner().list_services().send()).unwrap();
    let statuses: Vec<&str> =
        listed.service_summary_list().iter().filter_map(|s| s.status()).map(|s| s.as_str()).collect();
    assert!(statuses.contains(&"DELETED") && statuses.contains(&"RUNNING"), "{statuses:?}");
    let (_, env) = live.worker();
    assert!(env.values().any(|v| v.contains(&after)), "the worker follows the new URL: {env:?}");
    live.assert_no_duplicates();
    assert_eq!(live.world.run(&["diff", "--live"]).code(), 0);
}

#[test]
fn a_change_applied_immediately_takes_earlier_pending_modifications_along_and_steward_heals_both() {
    let live = Live::start();
    let cluster = || {
        let out =
            live.block(live.elasticache().describe_cache_clusters().cache_cluster_id("mentor-match-redis").send());
        out.unwrap().cache_clusters()[0].clone()
    };
    let desired_type = cluster().cache_node_type().unwrap().to_string();
    let desired_groups: Vec<String> =
        cluster().security_groups().iter().filter_map(|g| g.security_group_id()).map(str::to_string).collect();
    // Someone asks for a resize in the maintenance window, and swaps the security groups.
    let pending = serde_json::json!({ "service": "elasticache", "region": "eu-west-1", "operation": "ModifyCacheCluster",
        "input": { "CacheClusterId": "mentor-match-redis", "CacheNodeType": "cache.t4g.medium", "ApplyImmediately": false } });
    live.admin("POST", "/_emulator/out-of-band", &pending.to_string());
    let groups = serde_json::json!({ "service": "elasticache", "region": "eu-west-1", "operation": "ModifyCacheCluster",
        "input": { "CacheClusterId": "mentor-match-redis", "SecurityGroupIds": [live.security_group("allow_vpce")], "ApplyImmediately": false } });
    live.admin("POST", "/_emulator/out-of-band", &groups.to_string());
    assert_eq!(cluster().cache_node_type(), Some(desired_type.as_str()), "the resize waits");
    // steward's fix of the groups is applied immediately, which applies the resize too; the
    // next passes see the new node type and put it back.
    let events = live.converge();
    let fixed: Vec<&str> =
        common::live::named(&events, "drift_detected").iter().filter_map(|e| e["field"].as_str()).collect();
    assert!(fixed.contains(&"securityGroups") && fixed.contains(&"nodeType"), "{fixed:?}");
    let now = cluster();
    assert_eq!(now.cache_node_type(), Some(desired_type.as_str()));
    let mut groups: Vec<String> =
        now.security_groups().iter().filter_map(|g| g.security_group_id()).map(str::to_string).collect();
    groups.sort();
    let mut desired_groups = desired_groups;
    desired_groups.sort();
    assert_eq!(groups, desired_groups);
    assert_eq!(live.world.run(&["diff", "--live"]).code(), 0);
}

#[test]
fn cache_identifiers_are_found_in_any_case_and_subnet_groups_keep_their_vpc() {
    let live = Live::start();
    let ec = live.elasticache();
    let found = live.block(ec.describe_cache_clusters().cache_cluster_id("Mentor-Match-REDIS").send()).unwrap();
    assert_eq!(found.cache_clusters()[0].cache_cluster_id(), Some("mentor-match-redis"));
    let groups = live.block(ec.describe_cache_subnet_groups().send()).unwrap();
    let group = groups.cache_subnet_groups()[0].clone();
    let name = group.cache_subnet_group_name().unwrap().to_string();
    assert!(live.block(ec.describe_cache_subnet_groups().cache_subnet_group_name(name.to_uppercase()).send()).is_ok());
    let users = live.block(ec.describe_users().user_id("RedisAdmin").send()).unwrap();
    assert_eq!(users.users()[0].user_id(), Some("redisadmin"));

    // A subnet of another VPC is refused; so is dropping the subnet the cluster's node is in.
    let ec2 = live.ec2();
    let vpc = live.block(ec2.create_vpc().cidr_block("10.99.0.0/16").send()).unwrap().vpc.unwrap().vpc_id.unwrap();
    let other = live.block(ec2.create_subnet().vpc_id(&vpc).cidr_block("10.99.1.0/24").send()).unwrap();
    let other = other.subnet.unwrap().subnet_id.unwrap();
    let moved = live.block(ec.modify_cache_subnet_group().cache_subnet_group_name(&name).subnet_ids(&other).send());
    assert_eq!(error_code(moved).as_deref(), Some("InvalidSubnet"));
    let subnets: Vec<String> =
        group.subnets().iter().filter_map(|s| s.subnet_identifier()).map(str::to_string).collect();
    let in_use = live.block(ec.describe_cache_clusters().show_cache_node_info(true).send()).unwrap();
    assert!(!in_use.cache_clusters().is_empty());
    let refused = (0..subnets.len()).any(|skip| {
        let kept: Vec<String> =
            subnets.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, s)| s.clone()).collect();
        let r =
            live.block(ec.modify_cache_subnet_group().cache_subnet_group_name(&name).set_subnet_ids(Some(kept)).send());
        error_code(r).as_deref() == Some("SubnetInUse")
    });
    assert!(refused, "one of the subnets holds the node");
    // steward puts back whatever the accepted calls changed.
    live.converge();
    assert_eq!(live.world.run(&["diff", "--live"]).code(), 0);
}
