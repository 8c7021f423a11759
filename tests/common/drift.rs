//! The drift table's runner: one out-of-band change at a time on one converged stack; `diff --live`
//! must report exactly the case's fields (and nothing else anywhere), and one `reconcile` pass
//! must heal them.

use super::live::Live;
use std::time::{Duration, Instant};

/// One out-of-band change: the resource, the fields `diff --live` must report for it, the change.
#[derive(Clone, Copy)]
pub struct Case {
    pub target: &'static str,
    pub fields: &'static [&'static str],
    pub change: fn(&Live),
}

/// `diff --live`: its exit code and every `KIND/NAME field` it reports, sorted (`(missing)` for
/// an object it would create, `field (critical)` for critical drift).
pub fn reported(live: &Live) -> (i32, Vec<String>) {
    let (code, plan) = live.plan();
    let mut fields: Vec<String> = plan
        .iter()
        .flat_map(|e| {
            let target = format!("{}/{}", e["kind"].as_str().unwrap(), e["name"].as_str().unwrap());
            let missing = e["verdict"].as_str().is_some_and(|v| v.contains("create"));
            let drift: Vec<String> = e["drift"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| {
                    let critical = if d["severity"] == "critical" { " (critical)" } else { "" };
                    format!("{target} {}{critical}", d["field"].as_str().unwrap())
                })
                .collect();
            if missing { vec![format!("{target} (missing)")] } else { drift }
        })
        .collect();
    fields.sort();
    (code, fields)
}

/// Waits (generously) until `diff --live` says what is expected; panics with what it last said.
pub fn wait_for_report(live: &Live, what: &str, code: i32, fields: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let seen = reported(live);
        if seen == (code, fields.to_vec()) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: diff --live still says {seen:?}, expected {:?}", (code, fields));
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Runs the cases one after another. `follow_on`: resources whose heal gives a dependent new
/// work of its own; after their one pass, passes go on until converged.
pub fn run_cases(live: &Live, cases: &[Case], follow_on: &[(&str, &str)]) {
    wait_for_report(live, "the converged stack", 0, &[]);
    for case in cases {
        let mut expected: Vec<String> = case.fields.iter().map(|f| format!("{} {f}", case.target)).collect();
        expected.sort();
        let what = expected.join(", ");
        (case.change)(live);
        wait_for_report(live, &format!("{what} after the out-of-band change"), 2, &expected);
        live.world.ok(&["reconcile"]);
        if follow_on.iter().any(|(healed, _)| *healed == case.target) {
            live.converge();
        }
        wait_for_report(live, &format!("{what} after one reconcile pass"), 0, &[]);
    }
}
