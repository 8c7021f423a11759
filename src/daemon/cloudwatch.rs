//! Ships events to CloudWatch Logs for runs outside ECS: a bounded buffer (drops are counted,
//! reconciles never wait), batched PutLogEvents in time order, retried, failures logged and
//! counted, never fatal.

use serde_json::Value as Json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// Counters of the shipper, shown on /metrics.
#[derive(Default)]
pub struct ShipperStats {
    pub shipped: AtomicU64,
    pub dropped: AtomicU64,
    pub failed_batches: AtomicU64,
}

const BUFFER: usize = 10_000;
const MAX_BATCH: usize = 1_000;
const FLUSH_EVERY: Duration = Duration::from_secs(1);

pub struct Shipper {
    tx: mpsc::Sender<(i64, String)>,
    pub stats: Arc<ShipperStats>,
}

impl Shipper {
    /// Starts the background task; `send` never blocks.
    pub fn start(
        client: aws_sdk_cloudwatchlogs::Client,
        group: String,
        stream: String,
    ) -> (Shipper, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(BUFFER);
        let stats = Arc::new(ShipperStats::default());
        let task = tokio::spawn(run(client, group, stream, rx, stats.clone()));
        (Shipper { tx, stats }, task)
    }

    pub fn send(&self, event: &Json) {
        let millis = chrono::Utc::now().timestamp_millis();
        if self.tx.try_send((millis, event.to_string())).is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn run(
    client: aws_sdk_cloudwatchlogs::Client,
    group: String,
    stream: String,
    mut rx: mpsc::Receiver<(i64, String)>,
    stats: Arc<ShipperStats>,
) {
    ensure_stream(&client, &group, &stream).await;
    let mut batch: Vec<(i64, String)> = Vec::new();
    loop {
        let closed = match tokio::time::timeout(FLUSH_EVERY, rx.recv()).await {
            Ok(Some(item)) => {
                batch.push(item);
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(item) => batch.push(item),
                        Err(_) => break,
                    }
                }
                false
            }
            Ok(None) => true,
            Err(_) => false,
        };
        if !batch.is_empty() && (batch.len() >= MAX_BATCH || closed || rx.is_empty()) {
            flush(&client, &group, &stream, std::mem::take(&mut batch), &stats).await;
        }
        if closed {
            return;
        }
    }
}

async fn ensure_stream(client: &aws_sdk_cloudwatchlogs::Client, group: &str, stream: &str) {
    if let Err(e) = client.create_log_group().log_group_name(group).send().await
        && !e.as_service_error().is_some_and(|e| e.is_resource_already_exists_exception())
    {
        tracing::warn!(error = %aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&e), "cannot create log group {group}");
    }
    if let Err(e) = client.create_log_stream().log_group_name(group).log_stream_name(stream).send().await
        && !e.as_service_error().is_some_and(|e| e.is_resource_already_exists_exception())
    {
        tracing::warn!(error = %aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&e), "cannot create log stream {stream}");
    }
}

async fn flush(
    client: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
    mut batch: Vec<(i64, String)>,
    stats: &ShipperStats,
) {
    // PutLogEvents wants events in time order.
    batch.sort_by_key(|(t, _)| *t);
    let events: Vec<_> = batch
        .iter()
        .filter_map(|(t, m)| {
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder().timestamp(*t).message(m).build().ok()
        })
        .collect();
    for attempt in 1..=3u32 {
        match client
            .put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .set_log_events(Some(events.clone()))
            .send()
            .await
        {
            Ok(_) => {
                stats.shipped.fetch_add(events.len() as u64, Ordering::Relaxed);
                return;
            }
            Err(e) => {
                tracing::warn!(attempt, error = %aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&e), "shipping {} events to CloudWatch Logs failed", events.len());
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
        }
    }
    stats.failed_batches.fetch_add(1, Ordering::Relaxed);
    stats.dropped.fetch_add(events.len() as u64, Ordering::Relaxed);
}
