//! The drift timeline: the events a person reads about a resource (drift found and healed,
//! changes started and applied, failures, blocks, and people's pauses and approvals), kept per
//! resource and per stack so that the console reads either with one Query, and expired by
//! DynamoDB's TTL (`expiresAt`, epoch seconds).
//!
//! Layout: every entry is written twice, under `EVENTS#<stack>#<Kind>#<name>` (one resource's
//! timeline) and under `EVENTS#<stack>` (the stack's), both sorted by time (`<at>#…`).

use super::items::{Item, aws_error, n, s};
use crate::model::ResourceKey;
use anyhow::Result;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use serde_json::{Value as Json, json};
use std::collections::HashMap;

/// How long entries are kept unless the table says otherwise (`STEWARD_TIMELINE_DAYS`).
pub const DEFAULT_RETENTION_DAYS: i64 = 30;
/// The attribute DynamoDB's time to live reads.
pub const TTL_ATTRIBUTE: &str = "expiresAt";
/// DynamoDB's limit on the items of one BatchWriteItem call.
const BATCH: usize = 25;

/// One entry of a timeline: the event's own JSON (as the feed writes it) and its time.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub at: String,
    pub event: Json,
}

pub fn resource_partition(key: &ResourceKey) -> String {
    format!("EVENTS#{}#{}#{}", key.stack, key.kind, key.name)
}

pub fn stack_partition(stack: &str) -> String {
    format!("EVENTS#{stack}")
}

/// The retention in days: `STEWARD_TIMELINE_DAYS` if set to a whole number of at least 1.
pub fn retention_days() -> i64 {
    std::env::var("STEWARD_TIMELINE_DAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|d| *d >= 1)
        .unwrap_or(DEFAULT_RETENTION_DAYS)
}

/// The two items of each event (resource and stack partitions), with their expiry.
fn items_of(key: &ResourceKey, events: &[Json], at: &str, expires: i64) -> Vec<HashMap<String, AttributeValue>> {
    let mut items = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let text = event.to_string();
        let item = |pk: String, sk: String| {
            HashMap::from([
                ("pk".to_string(), s(&pk)),
                ("sk".to_string(), s(&sk)),
                ("at".to_string(), s(at)),
                ("event".to_string(), s(&text)),
                (TTL_ATTRIBUTE.to_string(), n(expires.max(0) as u64)),
            ])
        };
        items.push(item(resource_partition(key), format!("{at}#{i:03}")));
        items.push(item(stack_partition(&key.stack), format!("{at}#{}#{}#{i:03}", key.kind, key.name)));
    }
    items
}

/// A person's mark as a timeline entry: who set it, in the feed's shape.
pub fn mark(key: &ResourceKey, event: &str, actor: &str) -> Json {
    json!({ "stack": key.stack, "kind": key.kind.as_str(), "name": key.name, "by": actor, "event": event })
}

/// Appends events about one resource to its timeline and its stack's. Unprocessed items are sent
/// again a few times; what still fails is an error for the caller to log.
pub async fn append(db: &Client, table: &str, key: &ResourceKey, events: &[Json]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let now = chrono::Utc::now();
    let at = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let expires = (now + chrono::Duration::days(retention_days())).timestamp();
    let requests: Vec<WriteRequest> = items_of(key, events, &at, expires)
        .into_iter()
        .map(|item| {
            PutRequest::builder().set_item(Some(item)).build().map(|p| WriteRequest::builder().put_request(p).build())
        })
        .collect::<Result<_, _>>()?;
    for chunk in requests.chunks(BATCH) {
        let mut pending = chunk.to_vec();
        for attempt in 0..5 {
            let out = db
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(|e| aws_error("writing the timeline", e))?;
            pending = out.unprocessed_items.and_then(|mut u| u.remove(table)).unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
        }
        if !pending.is_empty() {
            anyhow::bail!("{} timeline entries of {key} were not written (the table is throttled)", pending.len());
        }
    }
    Ok(())
}

/// The newest `limit` entries of a partition, one Query, newest first; expired entries DynamoDB
/// has not removed yet are left out.
pub async fn newest(db: &Client, table: &str, pk: &str, limit: i32) -> Result<Vec<TimelineEntry>> {
    let out = db
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", s(pk))
        .scan_index_forward(false)
        .limit(limit)
        .send()
        .await
        .map_err(|e| aws_error("reading the timeline", e))?;
    let now = chrono::Utc::now().timestamp() as u64;
    Ok(out
        .items
        .unwrap_or_default()
        .into_iter()
        .map(Item)
        .filter(|i| i.u64(TTL_ATTRIBUTE) == 0 || i.u64(TTL_ATTRIBUTE) > now)
        .map(|i| TimelineEntry { at: i.str("at"), event: serde_json::from_str(&i.str("event")).unwrap_or_default() })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    #[test]
    fn each_event_goes_to_the_resource_and_the_stack_in_time_order() {
        let key = ResourceKey::new("mm", Kind::EcsService, "worker");
        let events = [json!({"event": "drift_detected"}), json!({"event": "drift_corrected"})];
        let items = items_of(&key, &events, "2026-12-05T10:00:00.000Z", 1_770_000_000);
        let keys: Vec<(String, String)> =
            items.iter().map(|i| (i["pk"].as_s().unwrap().clone(), i["sk"].as_s().unwrap().clone())).collect();
        assert_eq!(
            keys,
            [
                ("EVENTS#mm#EcsService#worker".into(), "2026-12-05T10:00:00.000Z#000".into()),
                ("EVENTS#mm".into(), "2026-12-05T10:00:00.000Z#EcsService#worker#000".into()),
                ("EVENTS#mm#EcsService#worker".into(), "2026-12-05T10:00:00.000Z#001".into()),
                ("EVENTS#mm".into(), "2026-12-05T10:00:00.000Z#EcsService#worker#001".into()),
            ]
        );
        assert_eq!(items[0][TTL_ATTRIBUTE].as_n().unwrap(), "1770000000");
        assert_eq!(items[0]["event"].as_s().unwrap(), r#"{"event":"drift_detected"}"#);
    }
}
