//! Crash safety: steward is killed with SIGKILL at random moments while it creates the stack from
//! nothing, and restarted each time. In the end the stack converges with no duplicate object
//! (counted by ownership tags) and no history or status item lost or corrupted.
//! `STEWARD_CRASH_KILLS` sets the number of kills (CI: 8; the full run: 100).

mod common;

use common::live::Live;
use std::process::Stdio;
use std::time::Duration;

#[test]
fn killed_at_random_moments_while_creating_it_converges_without_duplicates() {
    let kills: u32 = std::env::var("STEWARD_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    let live = Live::prepared();
    for _ in 0..kills {
        let mut child = live
            .world
            .command(&["reconcile", "--wait", "--timeout", "60s"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rand::random_range(20..1200)));
        let _ = child.kill();
        let _ = child.wait();
    }
    live.converge();
    assert!(live.is_converged());

    // No duplicates, counted by ownership tags.
    let endpoints = live.block(live.ec2().describe_vpc_endpoints().send()).unwrap();
    let owned = |tags: &[aws_sdk_ec2::types::Tag]| tags.iter().any(|t| t.key() == Some("steward:stack"));
    let live_endpoints = endpoints
        .vpc_endpoints()
        .iter()
        .filter(|e| owned(e.tags()) && !e.state().is_some_and(|s| s.as_str().eq_ignore_ascii_case("deleted")))
        .count();
    assert_eq!(live_endpoints, 7);
    assert_eq!(
        live.block(live.ecs().list_services().cluster("celery-workers").send()).unwrap().service_arns().len(),
        1
    );
    assert_eq!(live.block(live.ecs().list_clusters().send()).unwrap().cluster_arns().len(), 1);
    assert_eq!(live.block(live.apprunner().list_services().send()).unwrap().service_summary_list().len(), 1);
    let connectors = live.block(live.apprunner().list_vpc_connectors().send()).unwrap();
    assert_eq!(
        connectors.vpc_connectors().iter().filter(|c| c.status().is_some_and(|s| s.as_str() == "ACTIVE")).count(),
        1
    );
    let clusters = live.block(live.elasticache().describe_cache_clusters().send()).unwrap();
    assert_eq!(clusters.cache_clusters().len(), 1);

    // History and status items are intact: every resource has version 1 and a readable status.
    let statuses: serde_json::Value = serde_json::from_str(&live.world.ok(&["status", "-o", "json"])).unwrap();
    assert_eq!(statuses.as_array().unwrap().len(), 16);
    for item in statuses.as_array().unwrap() {
        assert_eq!(item["status"]["phase"], "Ready", "{item}");
        let target = format!("{}/{}", item["kind"].as_str().unwrap(), item["name"].as_str().unwrap());
        let history: serde_json::Value =
            serde_json::from_str(&live.world.ok(&["history", &target, "-o", "json"])).unwrap();
        assert_eq!(history.as_array().unwrap().len(), 1, "{target}");
    }
}
