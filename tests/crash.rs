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

    live.assert_no_duplicates();

    // History and status items are intact: every resource has version 1 and a readable status.
    let statuses: serde_json::Value = serde_json::from_str(&live.world.ok(&["status", "-o", "json"])).unwrap();
    assert_eq!(statuses.as_array().unwrap().len(), 19);
    for item in statuses.as_array().unwrap() {
        assert_eq!(item["status"]["phase"], "Ready", "{item}");
        let target = format!("{}/{}", item["kind"].as_str().unwrap(), item["name"].as_str().unwrap());
        let history: serde_json::Value =
            serde_json::from_str(&live.world.ok(&["history", &target, "-o", "json"])).unwrap();
        assert_eq!(history.as_array().unwrap().len(), 1, "{target}");
    }
}
