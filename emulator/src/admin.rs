//! The test hooks, under `/_emulator/` (a path AWS never uses), kept apart from the AWS surface:
//!
//! - `POST /_emulator/reset`: forget every resource, fault rule and logged request.
//! - `POST /_emulator/config` `{"transitionMs": 0}`: how long creating/modifying/deleting last;
//!   `{"healthCheckMs": 3000}`: how long a new Express service's tasks take to turn healthy in
//!   its target group (default two transitions).
//! - `POST /_emulator/faults` (a rule, see `faults.rs`), `DELETE /_emulator/faults`.
//! - `GET /_emulator/requests`: calls served by `service:Operation`; `DELETE` clears the log.
//! - `GET /_emulator/conformance`: responses that did not match the model (should be 0).
//! - `POST /_emulator/out-of-band` `{"service", "region", "operation", "input"}`: runs an API call
//!   the way a console user would, bypassing faults and the request log (delete a cluster, change
//!   a node type, edit a service's environment, pause a service).
//! - `POST /_emulator/apprunner/renew-certificates`: every active custom domain's certificate is
//!   renewed, which looks its validation records up in DNS again; a domain whose records are gone
//!   fails the renewal and waits in `pending_certificate_dns_validation` until they are back.
//! - `POST /_emulator/service-events` `{"enabled": true}`: App Runner's own events go to
//!   EventBridge (see `service_events.rs`).
//! - `POST /_emulator/fail-next` `{"service", "region", "operation", "name"}`: the next such
//!   operation on the service, domain or cluster of that name is accepted and then fails as AWS
//!   fails asynchronously (CREATE_FAILED, a rolled-back update, DELETE_FAILED, create_failed,
//!   incompatible-network), and for `"service": "ecs"` the next deployment of the Express service
//!   of that name fails its canary and is rolled back. See `AppRunner::fail_next`,
//!   `ElastiCache::fail_next`, `Express::fail_next`.
//! - `POST /_emulator/elasticache/password-check` `{"region", "userId", "password"}`: whether the
//!   user has that password, so tests can prove a secret was set without it ever being returned.

use crate::api::{Call, Reply, json_reply};
use crate::state::{Emulator, State};
use hyper::{Method, StatusCode};
use serde_json::{Value as Json, json};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub fn handle(emu: &Emulator, method: &Method, path: &str, body: &[u8]) -> Reply {
    let input: Json = serde_json::from_slice(body).unwrap_or(json!({}));
    let bad = |m: String| json_reply(StatusCode::BAD_REQUEST, &json!({ "error": m }));
    match (method.as_str(), path.trim_end_matches('/')) {
        ("POST", "/_emulator/reset") => {
            let mut state = emu.state.lock().unwrap();
            let service_events = state.service_events;
            *state = State::new(state.transition);
            state.service_events = service_events;
            emu.faults.lock().unwrap().clear();
            json_reply(StatusCode::OK, &json!({ "reset": true }))
        }
        ("POST", "/_emulator/config") => {
            let ms = |key: &str| input.get(key).and_then(Json::as_u64);
            let mut state = emu.state.lock().unwrap();
            match (ms("transitionMs"), ms("healthCheckMs")) {
                (None, None) => bad("expected {\"transitionMs\": <ms>} or {\"healthCheckMs\": <ms>}".into()),
                (transition, health_check) => {
                    if let Some(ms) = transition {
                        state.transition = Duration::from_millis(ms);
                    }
                    if let Some(ms) = health_check {
                        state.health_check = Duration::from_millis(ms);
                    }
                    json_reply(StatusCode::OK, &input)
                }
            }
        }
        ("POST", "/_emulator/service-events") => match input.get("enabled").and_then(Json::as_bool) {
            Some(on) => {
                emu.state.lock().unwrap().service_events = on;
                json_reply(StatusCode::OK, &json!({ "serviceEvents": on }))
            }
            None => bad("expected {\"enabled\": true or false}".into()),
        },
        ("POST", "/_emulator/faults") => match emu.faults.lock().unwrap().add(&input) {
            Ok(()) => json_reply(StatusCode::OK, &json!({ "added": input })),
            Err(e) => bad(e),
        },
        ("DELETE", "/_emulator/faults") => {
            emu.faults.lock().unwrap().clear();
            json_reply(StatusCode::OK, &json!({ "cleared": true }))
        }
        ("GET", "/_emulator/faults") => json_reply(StatusCode::OK, &{
            let faults = emu.faults.lock().unwrap();
            json!({ "injected": faults.injected, "byFault": faults.injected_by_fault })
        }),
        ("GET", "/_emulator/requests") => json_reply(StatusCode::OK, &json!(emu.state.lock().unwrap().requests)),
        ("DELETE", "/_emulator/requests") => {
            emu.state.lock().unwrap().requests.clear();
            json_reply(StatusCode::OK, &json!({ "cleared": true }))
        }
        ("GET", "/_emulator/conformance") => {
            let v = emu.apprunner_model.violations.load(Ordering::Relaxed)
                + emu.elasticache_model.violations.load(Ordering::Relaxed)
                + emu.ecs_model.violations.load(Ordering::Relaxed);
            json_reply(StatusCode::OK, &json!({ "violations": v }))
        }
        ("POST", "/_emulator/out-of-band") => out_of_band(emu, &input),
        ("POST", "/_emulator/fail-next") => fail_next(emu, &input),
        ("POST", "/_emulator/apprunner/renew-certificates") => {
            let mut state = emu.state.lock().unwrap();
            let renewing: usize = state.apprunner.values_mut().map(|ar| ar.renew_certificates()).sum();
            json_reply(StatusCode::OK, &json!({ "renewing": renewing }))
        }
        ("POST", "/_emulator/elasticache/password-check") => {
            let region = input.get("region").and_then(Json::as_str).unwrap_or("us-east-1");
            let user = input.get("userId").and_then(Json::as_str).unwrap_or_default();
            let password = input.get("password").and_then(Json::as_str).unwrap_or_default();
            let mut state = emu.state.lock().unwrap();
            match state.elasticache.entry(region.to_string()).or_default().password_matches(
                user,
                password,
                Instant::now(),
            ) {
                Some(matches) => json_reply(StatusCode::OK, &json!({ "matches": matches })),
                None => json_reply(StatusCode::NOT_FOUND, &json!({ "error": format!("user {user} not found") })),
            }
        }
        _ => json_reply(StatusCode::NOT_FOUND, &json!({ "error": format!("no admin endpoint {method} {path}") })),
    }
}

/// Makes the next call of an operation on a named object fail (asynchronously, as AWS fails it).
fn fail_next(emu: &Emulator, input: &Json) -> Reply {
    let bad = |m: String| json_reply(StatusCode::BAD_REQUEST, &json!({ "error": m }));
    let region = input.get("region").and_then(Json::as_str).unwrap_or("us-east-1").to_string();
    let operation = input.get("operation").and_then(Json::as_str).unwrap_or_default();
    let name = input.get("name").and_then(Json::as_str).unwrap_or_default();
    let mut state = emu.state.lock().unwrap();
    let ordered = match input.get("service").and_then(Json::as_str) {
            Some("apprunner") => state.apprunner.entry(region).or_default().fail_next(operation, name),
            Some("elasticache") => state.elasticache.entry(region).or_default().fail_next(operation, name),
            Some("ecs") if operation == "UpdateExpressGatewayService" || operation == "CreateExpressGatewayService" => {
                state.express.entry(region).or_default().fail_next(name);
                Ok(())
            }
            Some("ecs") => Err("ECS operations that can fail: CreateExpressGatewayService, UpdateExpressGatewayService (the canary is rolled back)".into()),
            other => Err(format!("unknown service {other:?}: apprunner, elasticache or ecs")),
        };
    match ordered {
        Ok(()) => json_reply(StatusCode::OK, &json!({ "failNext": input })),
        Err(e) => bad(e),
    }
}

fn out_of_band(emu: &Emulator, input: &Json) -> Reply {
    let service = input.get("service").and_then(Json::as_str).unwrap_or_default();
    let region = input.get("region").and_then(Json::as_str).unwrap_or("us-east-1").to_string();
    let operation = input.get("operation").and_then(Json::as_str).unwrap_or_default();
    let args = input.get("input").cloned().unwrap_or(json!({}));
    let mut state = emu.state.lock().unwrap();
    let call = Call {
        region: region.clone(),
        account: emu.account.clone(),
        caller: None,
        now: Instant::now(),
        transition: state.transition,
        subnet_vpcs: None,
    };
    let result = match service {
        "apprunner" => state.apprunner.entry(region).or_default().call(operation, &args, &call),
        "elasticache" => state.elasticache.entry(region).or_default().call(operation, &args, &call),
        other => return json_reply(StatusCode::BAD_REQUEST, &json!({ "error": format!("unknown service {other:?}") })),
    };
    match result {
        Ok(out) => json_reply(StatusCode::OK, &out),
        Err(e) => json_reply(StatusCode::BAD_REQUEST, &json!({ "error": e.shape, "message": e.message })),
    }
}
