//! steward-fault-proxy: a loopback proxy in front of moto and the emulator that injects AWS-shaped
//! faults (throttling, internal errors, latency, dropped connections) at a given rate, per service
//! and operation. Point the AWS SDK at it with `AWS_ENDPOINT_URL`.

use anyhow::{Context, Result};
use clap::Parser;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::sync::Arc;
use steward_emulator::proxy::Proxy;

#[derive(Parser)]
#[command(name = "steward-fault-proxy", version, about = "Fault-injecting proxy for AWS endpoints on loopback")]
struct Args {
    /// Port to listen on
    #[arg(long, default_value_t = 4590)]
    port: u16,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Where calls go unless a route says otherwise (moto), e.g. http://127.0.0.1:5000
    #[arg(long)]
    upstream: String,
    /// SERVICE=URL: calls signed for SERVICE go to URL (e.g. apprunner=http://127.0.0.1:4580)
    #[arg(long = "route", value_parser = parse_route)]
    routes: Vec<(String, String)>,
    /// A fault rule as JSON (see /_fault-proxy/faults), e.g. '{"rate": 0.3, "fault": ["throttle", "drop"]}'
    #[arg(long = "fault")]
    faults: Vec<String>,
    /// Put a CloudTrail event of each successful write on the upstream's EventBridge
    #[arg(long)]
    trail: bool,
}

fn parse_route(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected SERVICE=URL, got {s:?}"))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let proxy = Arc::new(Proxy::new(args.upstream, args.routes.into_iter().collect::<BTreeMap<_, _>>()));
    proxy.trail.enabled.store(args.trail, std::sync::atomic::Ordering::Relaxed);
    for rule in &args.faults {
        let spec = serde_json::from_str(rule).with_context(|| format!("--fault {rule}: not JSON"))?;
        proxy.faults.lock().unwrap().add(&spec).map_err(|e| anyhow::anyhow!("--fault {rule}: {e}"))?;
    }
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    eprintln!("steward-fault-proxy listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let proxy = proxy.clone();
                async move { proxy.handle(req).await }
            });
            // A connection error (including an injected drop) ends only this connection.
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
