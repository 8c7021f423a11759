//! AWS misbehaving: `steward run` talks to moto and the emulator only through the fault proxy,
//! which fails 30 % of all calls (throttling with each service's own code, internal errors, dropped
//! connections) and slows some of the rest, for the whole run. The stack is still created from
//! nothing and healed after out-of-band damage, with no duplicate object, every failure reported,
//! and no hot loop.

mod common;

use common::live::{Live, named};
use common::{eventually, start_fault_proxy};
use serde_json::json;
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

/// The bounds on steward's call rate through the faults (measured: 5 to 8 calls/s on average, 18 to
/// 22 in the busiest second): a pass at most every 2 s while not converged, the SDK's 3 attempts
/// per call at most, one change-counter read per poll. A hot loop would be far above them.
const MAX_CALLS_PER_SECOND: f64 = 25.0;
const MAX_CALLS_IN_ONE_SECOND: u64 = 80;

/// The services steward calls through the proxy.
const SERVICES: [&str; 6] = ["ec2", "ecs", "elasticache", "apprunner", "ssm", "dynamodb"];

#[test]
fn with_30_percent_of_calls_failing_the_stack_is_created_and_healed_without_duplicates() {
    let live = Live::prepared();
    live.apply_with_resync("10s");

    let proxy = start_fault_proxy(live.emulator_url());
    // One internal error on the first call to each service, so that every service sees a fault
    // whatever the draws (SSM is called a few times a minute: 30 % can miss all of them).
    for service in SERVICES {
        proxy.add_fault(json!({ "service": service, "fault": "internal", "count": 1 }));
    }
    proxy.add_fault(json!({ "rate": 0.3, "fault": ["throttle", "internal", "drop"] }));
    proxy.add_fault(json!({ "rate": 0.1, "fault": "slow", "delayMs": 300 }));
    let daemon = live.world.daemon_with_env("faulty", &[], &proxy.endpoint_env());

    eventually("the stack is created through the faults", 8 * MINUTE, || live.is_converged());
    live.assert_no_duplicates();

    // Out-of-band damage across three services; healed through the same faults.
    let ec2 = live.ec2();
    let endpoints = live.block(ec2.describe_vpc_endpoints().send()).unwrap();
    let ecr_api = endpoints
        .vpc_endpoints()
        .iter()
        .find(|e| e.tags().iter().any(|t| t.key() == Some("steward:name") && t.value() == Some("ecr-api")))
        .and_then(|e| e.vpc_endpoint_id())
        .unwrap()
        .to_string();
    live.block(ec2.delete_vpc_endpoints().vpc_endpoint_ids(&ecr_api).send()).unwrap();
    live.block(
        live.ecs().update_service().cluster("celery-workers").service("mentor-match-worker").desired_count(0).send(),
    )
    .unwrap();
    live.block(live.elasticache().delete_cache_cluster().cache_cluster_id("mentor-match-redis").send()).unwrap();
    eventually("the damage is healed through the faults", 8 * MINUTE, || {
        live.worker().0.desired_count() == 1
            && live
                .block(live.elasticache().describe_cache_clusters().send())
                .is_ok_and(|out| out.cache_clusters().iter().any(|c| c.cache_cluster_status() == Some("available")))
            && live.is_converged()
    });
    live.assert_no_duplicates();

    // The faults happened, all three kinds, on every service steward uses.
    let stats = proxy.stats();
    println!("fault proxy: {stats:#}");
    for fault in ["throttle", "internal", "drop", "slow"] {
        assert!(stats["byFault"][fault].as_u64().unwrap_or(0) > 0, "no {fault} fault injected: {stats}");
    }
    for service in SERVICES {
        let injected: u64 = stats["byOperation"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(op, _)| op.starts_with(&format!("{service}:")))
            .map(|(_, v)| v["injected"].as_u64().unwrap_or(0))
            .sum();
        assert!(injected > 0, "no fault reached {service}");
    }

    // One failure certain to outlast the SDK's three attempts, with an error code: the random
    // ones above may all have been dropped connections, which carry none.
    proxy.clear_faults();
    proxy.add_fault(json!({ "service": "ecs", "operation": "DescribeServices", "fault": "internal", "count": 3 }));
    eventually("the coded failure is a reconcile_failed event", MINUTE, || {
        named(&daemon.events(), "reconcile_failed").iter().any(|e| e["errorCode"] == "ServerException")
    });

    // Every failure that outlasted the SDK's own retries is a reconcile_failed event with its
    // backoff (or, for steward's own DynamoDB writes, a pass_failed event with its retry delay).
    let events = daemon.events();
    let failed = named(&events, "reconcile_failed");
    let failed_calls = |which: &dyn Fn(&str, &str) -> bool| -> u64 {
        let mut total = 0;
        for pass in named(&events, "pass_completed") {
            for (service, ops) in pass["awsCallsFailed"].as_object().into_iter().flatten() {
                for (op, n) in ops.as_object().into_iter().flatten() {
                    total += if which(service, op) { n.as_u64().unwrap_or(0) } else { 0 };
                }
            }
        }
        total
    };
    let resource_failures = failed_calls(&|s, _| s != "DynamoDB" && s != "CloudWatch Logs");
    // The password probe answers ParameterNotFound before the parameter exists: expected, not a fault.
    let probes = failed_calls(&|s, op| s == "SSM" && op == "GetParameter");
    println!(
        "{} reconcile_failed events; {resource_failures} resource calls failed after the SDK's retries \
         ({probes} of them the password probe)",
        failed.len()
    );
    assert!(
        failed.len() as u64 + probes >= resource_failures,
        "resource calls failed without a reconcile_failed event each"
    );
    assert!(!failed.is_empty(), "30 % failures but no reconcile_failed event");
    for event in &failed {
        assert!(event["backoffMs"].as_u64().is_some_and(|ms| ms > 0), "no backoff: {event}");
        assert!(event["attempt"].as_u64().is_some_and(|n| n >= 1), "no attempt count: {event}");
        assert!(event["nextAttemptAt"].is_string() && event["errorClass"].is_string(), "{event}");
        assert!(event["operation"].is_string() && event["message"].is_string(), "{event}");
    }
    let injected_codes = [
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "ServerException",
        "InternalServiceErrorException",
    ];
    assert!(
        failed.iter().any(|e| e["errorCode"].as_str().is_some_and(|c| injected_codes.contains(&c))),
        "no injected error code reached a reconcile_failed event"
    );
    for event in named(&events, "pass_failed") {
        assert!(event["backoffMs"].as_u64().is_some_and(|ms| ms > 0), "{event}");
    }

    // No hot loop: the call rate over the whole run stays under the stated bound.
    let rate = stats["calls"].as_f64().unwrap() / stats["seconds"].as_f64().unwrap().max(1.0);
    println!("call rate through the faults: {rate:.1}/s (peak second: {})", stats["peakPerSecond"]);
    assert!(rate < MAX_CALLS_PER_SECOND, "{rate:.1} calls/s through the faults: a hot loop? {stats}");
    let peak = stats["peakPerSecond"].as_u64().unwrap();
    assert!(peak < MAX_CALLS_IN_ONE_SECOND, "{peak} calls in one second: a hot loop? {stats}");
}
