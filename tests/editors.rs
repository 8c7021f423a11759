//! Concurrent editors: eight processes edit the same resource a hundred times in all. Every
//! accepted edit is in history, no update is lost, and every refused one got a clear conflict.

mod common;

use common::{World, repo_path};
use std::sync::Arc;

#[test]
fn eight_concurrent_editors_lose_no_update() {
    let world = Arc::new(World::new());
    world.ok(&["bootstrap"]);
    world.ok(&["apply", "-f", repo_path("desired-state/mentor-match").to_str().unwrap()]);
    let workers: Vec<_> = (0..8u32)
        .map(|w| {
            let world = world.clone();
            std::thread::spawn(move || {
                let mut accepted = Vec::new();
                let mut refused = 0;
                for i in 0..13u32 {
                    if w * 13 + i >= 100 {
                        break;
                    }
                    // Each attempt writes a value no other attempt writes, and never the seed's 1.
                    let value = 2 + w * 100 + i;
                    let editor = world.script(
                        &format!("editor-{w}-{i}"),
                        &format!("sed -i 's/desiredCount: [0-9]*/desiredCount: {value}/' \"$1\""),
                    );
                    let out = world
                        .command(&["edit", "EcsService/mentor-match-worker", "-m", &format!("editor {w} attempt {i}")])
                        .env("EDITOR", &editor)
                        .output()
                        .unwrap();
                    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
                    if out.status.success() {
                        assert!(
                            String::from_utf8_lossy(&out.stdout).contains("edited (now version"),
                            "{value}: {}",
                            String::from_utf8_lossy(&out.stdout)
                        );
                        accepted.push(value);
                    } else {
                        assert!(
                            stderr.contains("was changed by arn:aws:sts::")
                                && stderr.contains("your edit was not applied"),
                            "unclear refusal: {stderr}"
                        );
                        refused += 1;
                    }
                }
                (accepted, refused)
            })
        })
        .collect();
    let mut accepted = Vec::new();
    let mut refused = 0;
    for w in workers {
        let (a, r) = w.join().unwrap();
        accepted.extend(a);
        refused += r;
    }
    assert_eq!(accepted.len() + refused, 100);
    assert!(!accepted.is_empty());
    let history: serde_json::Value =
        serde_json::from_str(&world.ok(&["history", "EcsService/mentor-match-worker", "-o", "json"])).unwrap();
    let history = history.as_array().unwrap();
    let summary: Vec<String> =
        history.iter().map(|h| format!("v{} {} {}", h["version"], h["spec"]["desiredCount"], h["message"])).collect();
    assert_eq!(
        history.len(),
        1 + accepted.len(),
        "every accepted edit is one version: {summary:?} accepted {accepted:?}"
    );
    let mut in_history: Vec<u64> = history[1..].iter().map(|h| h["spec"]["desiredCount"].as_u64().unwrap()).collect();
    let versions: Vec<u64> = history.iter().map(|h| h["version"].as_u64().unwrap()).collect();
    assert_eq!(versions, (1..=history.len() as u64).collect::<Vec<_>>(), "versions have no gap");
    in_history.sort();
    let mut expected: Vec<u64> = accepted.iter().map(|v| u64::from(*v)).collect();
    expected.sort();
    assert_eq!(in_history, expected, "history holds exactly the accepted edits");
    // The current spec is the last accepted edit.
    let current = world.get_json(&["EcsService/mentor-match-worker"]);
    assert_eq!(current[0]["spec"]["desiredCount"], history.last().unwrap()["spec"]["desiredCount"]);
}
