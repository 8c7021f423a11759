//! The daemon's HTTP endpoints: /healthz, /readyz, /status, /metrics.

use super::shared::Shared;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub async fn serve(addr: SocketAddr, shared: Arc<Shared>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("--http-addr {addr}: {e}"))?;
    tracing::info!("HTTP on http://{}: /healthz /readyz /status /metrics", listener.local_addr()?);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let shared = shared.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(shared.clone(), req));
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(())
}

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("valid response")
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    Ok(match req.uri().path() {
        "/healthz" => reply(StatusCode::OK, "text/plain", "ok\n".into()),
        "/readyz" => {
            let (ready, why) = shared.readiness();
            let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
            reply(status, "text/plain", format!("{why}\n"))
        }
        "/status" => {
            let held = shared.leases.held();
            let passes = shared.last_pass.lock().unwrap().clone();
            let stacks: Vec<_> = held
                .iter()
                .map(|(stack, h)| {
                    let pass = passes.get(stack);
                    json!({
                        "stack": stack,
                        "fencingToken": h.token,
                        "lastPassAt": pass.map(|(at, _)| at.clone()),
                        "lastPass": pass.map(|(_, report)| report.as_ref()),
                    })
                })
                .collect();
            let mut resources = Vec::new();
            let names: Vec<String> = held.keys().cloned().collect();
            if let Ok(statuses) = shared.store.statuses(&names).await {
                for (key, status) in statuses {
                    resources.push(
                        json!({ "stack": key.stack, "kind": key.kind.as_str(), "name": key.name, "status": status }),
                    );
                }
            }
            let body = json!({
                "replica": shared.leases.replica,
                "leader": !held.is_empty(),
                "standby": held.is_empty(),
                "queueDepth": shared.queue.len(),
                "stacks": stacks,
                "resources": resources,
            });
            reply(StatusCode::OK, "application/json", serde_json::to_string_pretty(&body).unwrap_or_default())
        }
        "/metrics" => {
            let mut gauges = vec![
                ("steward_queue_depth", vec![], shared.queue.len() as f64),
                ("steward_leases_held", vec![], shared.leases.held().len() as f64),
                ("steward_passes_in_flight", vec![], shared.in_flight.load(Ordering::Relaxed) as f64),
                // Counters kept by the log shipper.
                (
                    "steward_log_events_shipped_total",
                    vec![],
                    shared.shipper_stat(|s| s.shipped.load(Ordering::Relaxed)) as f64,
                ),
                (
                    "steward_log_events_dropped_total",
                    vec![],
                    shared.shipper_stat(|s| s.dropped.load(Ordering::Relaxed)) as f64,
                ),
                (
                    "steward_log_batches_failed_total",
                    vec![],
                    shared.shipper_stat(|s| s.failed_batches.load(Ordering::Relaxed)) as f64,
                ),
            ];
            for (result, n) in shared.event_counts.series() {
                gauges.push(("steward_events_total", vec![("result".to_string(), result.to_string())], n as f64));
            }
            // Resources by state at each held stack's last pass.
            let held = shared.leases.held();
            for (stack, (_, report)) in shared.last_pass.lock().unwrap().iter().filter(|(s, _)| held.contains_key(*s)) {
                let counts = report.by_stack.get(stack);
                for state in ["ready", "drifted", "failed", "waiting", "busy"] {
                    let n = counts.and_then(|c| c.get(state)).copied().unwrap_or(0);
                    let labels = vec![("stack".to_string(), stack.clone()), ("state".to_string(), state.to_string())];
                    gauges.push(("steward_resources", labels, n as f64));
                }
            }
            let series = |name: &'static str, counts: BTreeMap<String, BTreeMap<String, u64>>| {
                counts.into_iter().flat_map(move |(service, ops)| {
                    ops.into_iter().map(move |(op, n)| {
                        (name, vec![("service".to_string(), service.clone()), ("operation".to_string(), op)], n as f64)
                    })
                })
            };
            // Every attempt of the process (leases and log shipping included), and the calls that
            // still failed after the SDK's retries.
            let calls: Vec<_> = series("steward_aws_calls_total", shared.calls.by_service())
                .chain(series("steward_aws_calls_failed_total", shared.calls.failures_by_service()))
                .collect();
            reply(StatusCode::OK, "text/plain; version=0.0.4", shared.metrics.render(&calls, &gauges))
        }
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
    })
}
