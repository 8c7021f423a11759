//! Runs the boto3 conformance script (tests/conformance.py) against a real emulator process.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn boto3_round_trips_every_operation_and_responses_match_the_model() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut emulator = Command::new(env!("CARGO_BIN_EXE_steward-emulator"))
        .args(["--port", &port.to_string(), "--transition-ms", "20"])
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_ROUTE_53")
        .env_remove("AWS_ENDPOINT_URL_EC2")
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the emulator did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance.py");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python).arg(script).arg(format!("http://127.0.0.1:{port}")).output().unwrap();
    emulator.kill().unwrap();
    emulator.wait().unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["violations"], 0);
    assert_eq!(summary["operations"], 38, "every operation the emulator serves is exercised");
}
