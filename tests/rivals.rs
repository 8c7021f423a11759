//! Rivals: three `steward run` replicas on one table, their clocks skewed by -45 s, 0 and +45 s
//! (the hidden `--clock-offset-ms` flag), each reaching AWS through its own fault proxy so that
//! every call it makes is in a call log with the proxy's (the machine's one) clock. The owner is
//! paused past its lease (SIGSTOP/SIGCONT), then made unable to renew (a forced expiry), then
//! killed, each time with out-of-band damage to heal. In the end the stack is converged with no
//! duplicate object, and the call logs prove there were never two mutators at once: ordered by
//! time, mutating calls never overlap across replicas and their fencing tokens never go back.

mod common;

use common::live::Live;
use common::{Daemon, FaultProxy, eventually, start_fault_proxy};
use serde_json::{Value, json};
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

struct Rival {
    name: &'static str,
    daemon: Daemon,
    proxy: FaultProxy,
}

fn rival(live: &Live, name: &'static str, clock_offset_ms: i64) -> Rival {
    let proxy = start_fault_proxy(live.emulator_url());
    let offset = clock_offset_ms.to_string();
    let args = ["--lease-duration", "4s", "--lease-renew", "1s", "--clock-offset-ms", &offset];
    let daemon = live.world.daemon_with_env(name, &args, &proxy.endpoint_env());
    Rival { name, daemon, proxy }
}

/// The index of the one replica that owns the stack, once there is exactly one.
/// The one replica that owns the stack, among those not in `except` (a paused replica is never
/// asked: it would not answer).
fn owner(rivals: &[Rival], except: &[usize]) -> usize {
    let mut found = None;
    eventually("exactly one replica owns the stack", MINUTE, || {
        let owners: Vec<usize> = (0..rivals.len())
            .filter(|i| !except.contains(i) && rivals[*i].daemon.owned() == ["mentor-match"])
            .collect();
        found = owners.first().copied().filter(|_| owners.len() == 1);
        found.is_some()
    });
    found.unwrap()
}

fn scale_worker_to_zero(live: &Live) {
    let ecs = live.ecs();
    live.block(ecs.update_service().cluster("celery-workers").service("mentor-match-worker").desired_count(0).send())
        .unwrap();
}

fn healed(live: &Live) -> bool {
    live.worker().0.desired_count() == 1 && live.is_converged()
}

/// One mutating AWS call as the proxy saw it, with the fencing token its replica held then.
#[derive(Debug)]
struct Mutation {
    replica: &'static str,
    #[allow(dead_code)] // shown in failure messages
    operation: String,
    arrived: u64,
    answered: u64,
    token: u64,
}

/// `(epoch ms, fencing token)` of each lease this replica acquired, from its own log.
fn acquisitions(rival: &Rival) -> Vec<(u64, u64)> {
    std::fs::read_to_string(&rival.daemon.log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "lease acquired")
        .map(|l| {
            let at = chrono::DateTime::parse_from_rfc3339(l["timestamp"].as_str().unwrap()).unwrap();
            (at.timestamp_millis() as u64, l["fencing_token"].as_u64().unwrap())
        })
        .collect()
}

fn mutations(rival: &Rival) -> Vec<Mutation> {
    let acquired = acquisitions(rival);
    let calls = rival.proxy.calls();
    calls
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !["dynamodb", "logs"].contains(&c["service"].as_str().unwrap_or_default()))
        .filter(|c| {
            let op = c["operation"].as_str().unwrap_or_default();
            !["Describe", "List", "Get"].iter().any(|p| op.starts_with(p))
        })
        .map(|c| {
            let arrived = c["arrivedMs"].as_u64().unwrap();
            // The lease is logged as acquired after DynamoDB confirmed it, before any call under it.
            let token = acquired.iter().filter(|(at, _)| *at <= arrived).map(|(_, t)| *t).next_back();
            Mutation {
                replica: rival.name,
                operation: c["operation"].as_str().unwrap().to_string(),
                arrived,
                answered: c["answeredMs"].as_u64().unwrap(),
                token: token.unwrap_or_else(|| panic!("{} mutated before holding any lease: {c}", rival.name)),
            }
        })
        .collect()
}

#[test]
fn three_replicas_with_skewed_clocks_pauses_and_forced_expiries_never_mutate_together() {
    let live = Live::prepared();
    live.apply_with_resync("10s");
    let rivals = [rival(&live, "a", -45_000), rival(&live, "b", 0), rival(&live, "c", 45_000)];
    let first = owner(&rivals, &[]);
    eventually("the stack converges", 3 * MINUTE, || live.is_converged());

    // 1. The owner is paused past its lease; another replica heals new damage; the owner wakes.
    rivals[first].daemon.signal("STOP");
    scale_worker_to_zero(&live);
    let second = owner(&rivals, &[first]);
    eventually("the damage is healed by the new owner", 2 * MINUTE, || healed(&live));
    rivals[first].daemon.signal("CONT");
    std::thread::sleep(Duration::from_secs(3));

    // 2. The owner can no longer renew (its DynamoDB writes fail): its lease is forced to expire.
    let current = owner(&rivals, &[]);
    rivals[current]
        .proxy
        .add_fault(json!({ "service": "dynamodb", "operation": "UpdateItem", "fault": "internal", "rate": 1.0 }));
    let third = owner(&rivals, &[current]);
    scale_worker_to_zero(&live);
    eventually("the damage is healed after the forced expiry", 2 * MINUTE, || healed(&live));
    rivals[current].proxy.clear_faults();

    // 3. The owner is killed. Which survivor takes over is chance; when one replica has not owned
    // the stack yet, the other survivor is paused until it has, so that the hand-overs reach all
    // three replicas on every run.
    let mut rivals = rivals;
    let last = owner(&rivals, &[]);
    let fresh = (0..rivals.len()).find(|i| ![first, second, third, last].contains(i));
    let held = fresh.and_then(|fresh| (0..rivals.len()).find(|&i| i != last && i != fresh));
    if let Some(held) = held {
        rivals[held].daemon.signal("STOP");
    }
    rivals[last].daemon.signal("KILL");
    rivals[last].daemon.wait_exit(Duration::from_secs(10));
    scale_worker_to_zero(&live);
    owner(&rivals, &[Some(last), held].into_iter().flatten().collect::<Vec<_>>());
    eventually("the damage is healed after the kill", 2 * MINUTE, || healed(&live));
    if let Some(held) = held {
        rivals[held].daemon.signal("CONT");
    }
    live.assert_no_duplicates();
    println!(
        "owners: {} then {} then {} then {}",
        rivals[first].name, rivals[second].name, rivals[third].name, rivals[last].name
    );

    // The proof, from the call logs: ordered by arrival, mutating calls of different replicas never
    // overlap, and the fencing token under which they were made never goes back.
    let mut all: Vec<Mutation> = rivals.iter().flat_map(mutations).collect();
    all.sort_by_key(|m| (m.arrived, m.answered));
    let replicas: std::collections::BTreeSet<&str> = all.iter().map(|m| m.replica).collect();
    assert!(replicas.len() >= 3, "hand-overs did not reach three replicas: {replicas:?}");
    for pair in all.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        assert!(
            after.token >= before.token,
            "a call under an older fencing token came later: {before:?} then {after:?}"
        );
        if before.replica != after.replica {
            assert!(after.token > before.token, "two replicas under one token: {before:?} {after:?}");
            assert!(after.arrived >= before.answered, "two replicas mutating at once: {before:?} {after:?}");
        }
    }
    let mut by_token: std::collections::BTreeMap<u64, &str> = std::collections::BTreeMap::new();
    for m in &all {
        assert_eq!(*by_token.entry(m.token).or_insert(m.replica), m.replica, "token {} used by two replicas", m.token);
    }
    println!("{} mutating calls under fencing tokens {:?}", all.len(), by_token);
}
