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
