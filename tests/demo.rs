//! The demo's own scripts do what the README says they do, with nothing but the demo's defaults.
//! This binary has its own moto server, so its first test can use the demo's account.

mod common;

use common::eventually;
use common::live::{Live, named};
use std::time::Duration;

/// The README's `./bootstrap/break worker`, from a second terminal where nothing is exported:
/// the break goes through the demo's fault proxy (PROXY_PORT), so it is an AWS event, seen
/// within seconds, and its drift line names the person.
#[test]
fn break_with_only_the_demo_defaults_is_seen_through_the_events_and_names_the_person() {
    let live =
        Live::prepared_in(common::World::in_account(common::account("123456789012")), "desired-state/mentor-match");
    let (daemon, proxy, _queue) = live.daemon_with_events();
    eventually("the stack converges", Duration::from_secs(180), || live.is_converged());
    let port = proxy.url().rsplit(':').next().unwrap().to_string();
    let mut command = std::process::Command::new(common::repo_path("bootstrap/break"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("AWS_")) {
        command.env_remove(k);
    }
    let out = command.arg("worker").env("PROXY_PORT", &port).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The stack's resync is 10 minutes: only the event can find this drift within the bound.
    let person = "arn:aws:sts::123456789012:assumed-role/oncall/demo-person";
    eventually("the break is seen and names the person", Duration::from_secs(60), || {
        named(&daemon.events(), "drift_detected")
            .iter()
            .any(|e| e["kind"] == "EcsService" && e["actor"]["principal"] == person)
    });
}

/// The README's `./bootstrap/break` works on the App Runner demo: every target breaks what it
/// names and `diff --live` reports each (the Express demo's are in tests/express.rs).
#[test]
fn every_break_target_works_on_the_app_runner_stack() {
    let live = Live::start();
    common::every_break_is_reported(&live, "AppRunnerService/mmweb");
}
