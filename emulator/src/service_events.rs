//! App Runner's own events, put on EventBridge (moto's, where the standard
//! `AWS_ENDPOINT_URL_EVENTBRIDGE` or `AWS_ENDPOINT_URL` variable points) as AWS sends them:
//! "AppRunner Service Status Change" whenever a service's status moves, and "AppRunner Service
//! Operation Status Change" when an operation ends (QUIRKS.md). Off until `--service-events` or
//! `POST /_emulator/service-events {"enabled": true}`. The events go to the account of the
//! latest caller (each test has its own emulator and account).
//!
//! ElastiCache sends no events of node-based clusters to EventBridge (only of serverless caches;
//! clusters notify through SNS), so none are made for it.

use crate::state::Emulator;
use crate::trail::post_json;
use crate::upstream::endpoint_from_env;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often transitions are ended and what they told is published.
const EVERY: Duration = Duration::from_millis(250);

pub async fn publisher(emu: Arc<Emulator>) {
    loop {
        tokio::time::sleep(EVERY).await;
        let (told, key) = {
            let mut state = emu.state.lock().unwrap();
            let enabled = state.service_events;
            let mut told = Vec::new();
            for (region, apprunner) in state.apprunner.iter_mut() {
                if enabled {
                    apprunner.tick(Instant::now());
                }
                told.extend(apprunner.take_told().into_iter().map(|t| (region.clone(), t)));
            }
            if !enabled {
                continue;
            }
            (told, state.last_caller.clone())
        };
        let (Some(key), Some(endpoint)) = (key, endpoint_from_env("EVENTBRIDGE")) else { continue };
        for (region, t) in told {
            let entry = json!({
                "Source": "aws.apprunner", "DetailType": t.detail_type,
                "Detail": t.detail.to_string(), "Resources": [t.arn],
            });
            let body = json!({ "Entries": [entry] }).to_string();
            if let Err(e) = post_json(&endpoint, &key, "events", &region, "AWSEvents.PutEvents", body).await {
                eprintln!("steward-emulator: putting an App Runner event on EventBridge failed: {e}");
            }
        }
    }
}
