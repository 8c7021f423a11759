//! steward-emulator: App Runner and ElastiCache on loopback, for steward's tests and demo.
//! Point the AWS SDK at it with `AWS_ENDPOINT_URL_APPRUNNER` and `AWS_ENDPOINT_URL_ELASTICACHE`.

use anyhow::Result;
use clap::Parser;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use steward_emulator::{dns, faults, model, server, service_events};

#[derive(Parser)]
#[command(name = "steward-emulator", version, about = "Local AWS App Runner and ElastiCache emulator")]
struct Args {
    /// Port to listen on
    #[arg(long, env = "STEWARD_EMULATOR_PORT", default_value_t = 4580)]
    port: u16,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// How long creating, modifying and deleting last, in milliseconds (0: instant)
    #[arg(long, env = "STEWARD_EMULATOR_TRANSITION_MS", default_value_t = 300)]
    transition_ms: u64,
    /// The account id in ARNs
    #[arg(long, default_value = "123456789012")]
    account_id: String,
    /// botocore's data folder with the service models (default: asked of python3)
    #[arg(long, env = "BOTOCORE_DATA")]
    botocore_data: Option<PathBuf>,
    /// Put App Runner's own events (service and operation status changes) on EventBridge, at
    /// AWS_ENDPOINT_URL_EVENTBRIDGE or AWS_ENDPOINT_URL
    #[arg(long, env = "STEWARD_EMULATOR_SERVICE_EVENTS")]
    service_events: bool,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let data = model::botocore_data_dir(args.botocore_data)?;
    let mut state = server::State::new(Duration::from_millis(args.transition_ms));
    state.service_events = args.service_events;
    let emu = Arc::new(server::Emulator {
        apprunner_model: model::Model::load(&data, "apprunner", "2020-05-15")?,
        elasticache_model: model::Model::load(&data, "elasticache", "2015-02-02")?,
        ecs_model: model::Model::load(&data, "ecs", "2014-11-13")?,
        account: args.account_id,
        state: Mutex::new(state),
        faults: Mutex::new(faults::Faults::default()),
    });
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    let route53 = dns::route53_endpoint();
    eprintln!(
        "steward-emulator listening on http://{} (transitions {} ms; custom domains validated through Route 53 at {})",
        listener.local_addr()?,
        args.transition_ms,
        route53.as_deref().unwrap_or("(none: set AWS_ENDPOINT_URL_ROUTE_53)")
    );
    tokio::spawn(dns::validator(emu.clone(), route53));
    tokio::spawn(service_events::publisher(emu.clone()));
    loop {
        let (stream, _) = listener.accept().await?;
        let emu = emu.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| server::handle(emu.clone(), req));
            // A connection error (including an injected drop) ends only this connection.
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
