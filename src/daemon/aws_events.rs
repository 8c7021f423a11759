//! Drift the moment it happens: AWS events read from an SQS queue (`steward run --events-queue`).
//! EventBridge delivers them there by rule (see `bootstrap/controller.yaml`): the CloudTrail
//! management events of writes on the objects steward manages ("AWS API Call via CloudTrail")
//! and the services' own events. Each message is mapped to the resources it names (their names,
//! and the ids and ARNs in their outputs), the actor is noted for the drift alert, and the
//! resources' stacks get a pass at once. The periodic resync stays as the backstop.
//!
//! At least once and never stuck: a message is deleted after its pass was queued (or, for a
//! stack another replica holds, after that replica was nudged through the store); one that cannot
//! be read or names nothing steward manages is counted and deleted. Steward's own calls are
//! recognised (its principal, or the `app/steward` user agent) and ignored. While the queue
//! cannot be read, drift is found by polling: one warning, and one line when it is back.

use super::lease::Leases;
use super::queue::WorkQueue;
use crate::engine::actors::Actors;
use crate::model::ResourceKey;
use crate::model::paths::strings_in;
use crate::store::Store;
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Messages by what became of them, for /metrics.
#[derive(Default)]
pub struct EventCounts {
    /// CloudTrail records of someone else's calls on managed objects.
    pub mapped: AtomicU64,
    /// The services' own events about managed objects (App Runner status changes).
    pub service: AtomicU64,
    pub own: AtomicU64,
    pub unmapped: AtomicU64,
    pub unparseable: AtomicU64,
}

impl EventCounts {
    pub fn series(&self) -> Vec<(&'static str, u64)> {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("mapped", n(&self.mapped)),
            ("service", n(&self.service)),
            ("own", n(&self.own)),
            ("unmapped", n(&self.unmapped)),
            ("unparseable", n(&self.unparseable)),
        ]
    }
}

pub struct Listener {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub store: Arc<Store>,
    pub leases: Arc<Leases>,
    pub work: Arc<WorkQueue>,
    pub actors: Arc<Actors>,
    pub counts: Arc<EventCounts>,
    /// steward's own principal (`sts:GetCallerIdentity`), whose events are its own.
    pub own_arn: Option<String>,
    /// Seconds each receive waits for a message (SQS long polling, at most 20). 0: short polls,
    /// one a second (for a local moto, which serves one request at a time).
    pub wait_seconds: u64,
}

/// How long the names and ids of the managed resources are reused before they are read again.
const IDENTITIES_FOR: Duration = Duration::from_secs(15);

/// The resources an event may name, by each string that identifies one.
#[derive(Default)]
struct Identities {
    read_at: Option<Instant>,
    by_token: HashMap<String, Vec<ResourceKey>>,
}

impl Listener {
    pub async fn run(self) {
        let mut identities = Identities::default();
        let mut failing = false;
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(self.wait_seconds.min(20) as i32)
                .send()
                .await;
            let messages = match received {
                Ok(out) => {
                    if std::mem::take(&mut failing) {
                        tracing::info!("the events queue can be read again: drift is seen as it happens");
                    }
                    out.messages.unwrap_or_default()
                }
                Err(e) => {
                    if !std::mem::replace(&mut failing, true) {
                        let e = aws_sdk_sqs::error::DisplayErrorContext(e);
                        tracing::warn!(error = %e, "the events queue cannot be read: drift is found by the resync until it can");
                    }
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
            };
            if messages.is_empty() {
                if self.wait_seconds == 0 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                continue;
            }
            if identities.read_at.is_none_or(|t| t.elapsed() > IDENTITIES_FOR) {
                match self.identities().await {
                    Ok(fresh) => identities = fresh,
                    // Nothing to map them to yet: they come back after their visibility timeout.
                    Err(_) if identities.read_at.is_none() => continue,
                    Err(_) => {}
                }
            }
            let mut stacks: BTreeMap<String, Vec<(ResourceKey, Json)>> = BTreeMap::new();
            for m in &messages {
                match serde_json::from_str::<Json>(m.body().unwrap_or_default()) {
                    Ok(event) if event.get("detail").is_some() && event.get("source").is_some() => {
                        if is_own(&event, self.own_arn.as_deref()) {
                            self.counts.own.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        let keys = resources_named(&event, &identities);
                        if keys.is_empty() {
                            self.counts.unmapped.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        // A service's own event says what happened, not who did it: it asks for a
                        // pass, and leaves the actor a CloudTrail record named as it was.
                        let actor = is_api_call(&event).then(|| actor_of(&event));
                        let count = if actor.is_some() { &self.counts.mapped } else { &self.counts.service };
                        count.fetch_add(1, Ordering::Relaxed);
                        for key in keys {
                            let actors = stacks.entry(key.stack.clone()).or_default();
                            if let Some(actor) = &actor {
                                self.actors.note(&key, actor.clone());
                                actors.push((key, actor.clone()));
                            }
                        }
                    }
                    _ => {
                        self.counts.unparseable.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(
                            message = m.message_id().unwrap_or_default(),
                            "an event that is not an EventBridge event was dropped"
                        );
                    }
                }
            }
            // Events for one stack that arrive together share one pass.
            for (stack, actors) in &stacks {
                if self.leases.holds(stack) {
                    self.work.push(stack);
                } else if let Err(e) = self.store.nudge(stack, actors).await {
                    tracing::warn!(stack = %stack, error = %e, "cannot tell the stack's holder about an event; the resync will see it");
                }
            }
            self.delete(&messages).await;
        }
    }

    async fn delete(&self, messages: &[aws_sdk_sqs::types::Message]) {
        let entries: Vec<_> = messages
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .set_receipt_handle(m.receipt_handle().map(str::to_string))
                    .build()
                    .ok()
            })
            .collect();
        let sent = self.sqs.delete_message_batch().queue_url(&self.queue_url).set_entries(Some(entries)).send().await;
        if let Err(e) = sent {
            // They come back after their visibility timeout; passes are idempotent.
            tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "deleting events from the queue failed");
        }
    }

    /// Every managed resource's name and the ids and ARNs among its outputs.
    async fn identities(&self) -> anyhow::Result<Identities> {
        let resources = self.store.resources(None).await?;
        let stacks: Vec<String> =
            resources.iter().map(|r| r.manifest.key.stack.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        let statuses = self.store.statuses(&stacks).await?;
        let mut by_token: HashMap<String, Vec<ResourceKey>> = HashMap::new();
        for r in resources.iter().filter(|r| !r.deleted) {
            let key = &r.manifest.key;
            let mut tokens = vec![key.name.clone()];
            if let Some(status) = statuses.get(key) {
                tokens.extend(status.outputs.values().filter(|v| looks_like_id(v)).cloned());
            }
            for token in tokens {
                by_token.entry(token).or_default().push(key.clone());
            }
        }
        Ok(Identities { read_at: Some(Instant::now()), by_token })
    }
}

/// Outputs that identify an object (`vpce-…`, ARNs), not values many objects share (a port).
fn looks_like_id(value: &str) -> bool {
    value.len() >= 8 && !value.contains(' ') && value.parse::<f64>().is_err()
}

/// Events caused by steward's own calls: its principal (and session), or its user agent.
pub fn is_own(event: &Json, own_arn: Option<&str>) -> bool {
    let detail = &event["detail"];
    let by_agent = detail["userAgent"].as_str().is_some_and(|ua| ua.contains("app/steward"));
    let by_principal = own_arn.is_some() && detail.pointer("/userIdentity/arn").and_then(Json::as_str) == own_arn;
    by_agent || by_principal
}

/// The resources whose names or ids appear among the event's parameters, answer or resources.
fn resources_named(event: &Json, identities: &Identities) -> Vec<ResourceKey> {
    let mut strings = Vec::new();
    for part in [&event["detail"]["requestParameters"], &event["detail"]["responseElements"], &event["resources"]] {
        strings_in(part, &mut strings);
    }
    // A service event names its object in the detail itself.
    if !is_api_call(event) {
        strings_in(&event["detail"], &mut strings);
    }
    let mut keys: Vec<ResourceKey> =
        strings.iter().filter_map(|s| identities.by_token.get(s.as_str())).flatten().cloned().collect();
    keys.sort();
    keys.dedup();
    keys
}

/// A CloudTrail record of an API call (the other events are the services' own).
fn is_api_call(event: &Json) -> bool {
    event["detail-type"] == "AWS API Call via CloudTrail"
}

/// Who made the change, as the `actor` of a drift alert.
pub fn actor_of(event: &Json) -> Json {
    let d = &event["detail"];
    let arn = d.pointer("/userIdentity/arn").cloned().unwrap_or(Json::Null);
    // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
    let session = arn.as_str().and_then(|a| a.split_once(":assumed-role/")).and_then(|(_, r)| r.split_once('/'));
    let mut actor = json!({
        "principal": arn,
        "type": d.pointer("/userIdentity/type").cloned().unwrap_or_else(|| json!("AWSService")),
        "sourceIPAddress": d["sourceIPAddress"],
        "userAgent": d["userAgent"],
        "eventName": d.get("eventName").cloned().unwrap_or_else(|| event["detail-type"].clone()),
        "eventTime": d.get("eventTime").cloned().unwrap_or_else(|| event["time"].clone()),
        "eventId": d.get("eventID").cloned().unwrap_or_else(|| event["id"].clone()),
    });
    if let Some((_, name)) = session {
        actor["sessionName"] = json!(name);
    }
    if let Some(source) = d.pointer("/userIdentity/sessionContext/sourceIdentity") {
        actor["sourceIdentity"] = source.clone();
    }
    actor
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn event(arn: &str, agent: &str, params: Json) -> Json {
        json!({
            "version": "0", "id": "e1", "detail-type": "AWS API Call via CloudTrail", "source": "aws.ecs",
            "account": "123456789012", "time": "2026-12-01T12:00:00Z", "region": "eu-west-1", "resources": [],
            "detail": {
                "userIdentity": { "type": "AssumedRole", "arn": arn }, "eventTime": "2026-12-01T12:00:00Z",
                "eventName": "UpdateService", "sourceIPAddress": "10.0.0.7", "userAgent": agent,
                "requestParameters": params, "eventID": "abc",
            }
        })
    }

    #[test]
    fn events_map_to_the_resources_they_name_and_steward_knows_its_own() {
        let worker = ResourceKey::new("mentor-match", Kind::EcsService, "mentor-match-worker");
        let endpoint = ResourceKey::new("mentor-match", Kind::VpcEndpoint, "ecr-api");
        let mut identities = Identities::default();
        identities.by_token.insert("mentor-match-worker".into(), vec![worker.clone()]);
        identities.by_token.insert("vpce-0123456789".into(), vec![endpoint.clone()]);
        let person = "arn:aws:sts::123456789012:assumed-role/oncall/alice";
        let e = event(
            person,
            "aws-cli/2",
            json!({ "cluster": "celery-workers", "service": "mentor-match-worker", "desiredCount": 0 }),
        );
        assert_eq!(resources_named(&e, &identities), vec![worker]);
        let e2 = event(person, "aws-cli/2", json!({ "VpcEndpointId": "vpce-0123456789" }));
        assert_eq!(resources_named(&e2, &identities), vec![endpoint]);
        assert!(resources_named(&event(person, "x", json!({ "service": "other" })), &identities).is_empty());

        let actor = actor_of(&e);
        assert_eq!(actor["principal"], person);
        assert_eq!(actor["sessionName"], "alice");
        assert_eq!((actor["eventName"].as_str(), actor["eventId"].as_str()), (Some("UpdateService"), Some("abc")));

        let steward = "arn:aws:sts::123456789012:assumed-role/steward-task/9f1";
        assert!(is_own(&event(steward, "aws-sdk-rust/1", json!({})), Some(steward)));
        assert!(is_own(&event(person, "aws-sdk-rust/1 app/steward", json!({})), Some(steward)));
        assert!(!is_own(&e, Some(steward)));
        assert!(!looks_like_id("6379") && looks_like_id("vpce-0123456789"));
    }
}
