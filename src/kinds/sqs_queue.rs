//! SqsQueue: an SQS queue (standard or FIFO), its timing, size, dead-letter and encryption settings.

use super::tagging::sqs_tags;
use super::typed::{Declared, Seen, Typed, TypedKind, Want};
use crate::aws::aws;
use crate::model::tags::{Tagged, owns};
use crate::model::{Cx, Drift, ObjectState, ReconcileError, ResourceKey};
use crate::schema::StrRule;
use aws_sdk_sqs::types::QueueAttributeName as A;
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const QUEUE_NAME: StrRule = StrRule {
    expected: "a queue name of 1 to 80 letters, digits, '-' or '_' (a FIFO queue's ends in .fifo)",
    check: |s| {
        let base = s.strip_suffix(".fifo").unwrap_or(s);
        s.len() <= 80 && !base.is_empty() && base.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    },
};

#[derive(Declared, Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SqsQueueSpec {
    /// The queue's name in SQS (a FIFO queue's ends in .fifo).
    #[field(shape = string(QUEUE_NAME), create_only, tf = "name")]
    pub queue_name: String,
    /// Seconds a received message stays invisible to other consumers.
    #[field(shape = int(0, 43_200), tf = "visibility_timeout_seconds", aws_default = 30)]
    pub visibility_timeout: Option<i64>,
    /// Seconds a message is kept.
    #[field(shape = int(60, 1_209_600), tf = "message_retention_seconds", aws_default = 345_600)]
    pub message_retention_period: Option<i64>,
    /// Seconds each new message is delayed.
    #[field(shape = int(0, 900), tf = "delay_seconds", aws_default = 0)]
    pub delay_seconds: Option<i64>,
    /// The largest message accepted, in bytes.
    #[field(shape = int(1024, 1_048_576), tf = "max_message_size")]
    pub maximum_message_size: Option<i64>,
    /// Seconds a receive waits for a message (long polling).
    #[field(shape = int(0, 20), tf = "receive_wait_time_seconds", aws_default = 0)]
    pub receive_message_wait_time_seconds: Option<i64>,
    /// The dead-letter queue (an ARN or a reference) and after how many receives a message goes there.
    #[field(shape = Shape::Struct(vec![req("deadLetterTargetArn", arn()), req("maxReceiveCount", int(1, 1000))]), tf = "redrive_policy")]
    pub redrive_policy: Option<RedrivePolicy>,
    /// A FIFO queue (its name ends in .fifo).
    #[field(create_only, tf = "fifo_queue", aws_default = false)]
    pub fifo_queue: Option<bool>,
    /// The KMS key (id, alias or ARN) for server-side encryption.
    #[field(tf = "kms_master_key_id")]
    pub kms_master_key_id: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedrivePolicy {
    pub dead_letter_target_arn: String,
    pub max_receive_count: i64,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsQueueOutputs {
    /// the queue's URL, which clients send to
    #[field(tf = "url")]
    pub url: String,
    /// the queue's ARN, for policies and redrive
    #[field(tf = "arn")]
    pub arn: String,
}

/// The queue's URL, kept so that a steady pass reads its attributes at once.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsQueueMemo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
}

/// The spec's fields and the queue attributes that hold them (SQS gives each as a string).
const ATTRIBUTES: [(&str, A); 8] = [
    ("visibilityTimeout", A::VisibilityTimeout),
    ("messageRetentionPeriod", A::MessageRetentionPeriod),
    ("delaySeconds", A::DelaySeconds),
    ("maximumMessageSize", A::MaximumMessageSize),
    ("receiveMessageWaitTimeSeconds", A::ReceiveMessageWaitTimeSeconds),
    ("redrivePolicy", A::RedrivePolicy),
    ("fifoQueue", A::FifoQueue),
    ("kmsMasterKeyId", A::KmsMasterKeyId),
];
const GONE: &[&str] = &["AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"];

pub struct SqsQueue;
pub static ADAPTER: Typed<SqsQueue> = Typed::new(SqsQueue);

#[async_trait::async_trait]
impl TypedKind for SqsQueue {
    type Spec = SqsQueueSpec;
    type Outputs = SqsQueueOutputs;
    type Memo = SqsQueueMemo;
    const NAME_RULE: StrRule = super::GENERIC_NAME;
    const RETAIN_BY_DEFAULT: bool = false;
    const TERRAFORM: Option<(&'static str, &'static str)> = Some(("aws_sqs_queue", "name"));
    const ACTIONS: &'static [&'static str] = &[
        "sqs:GetQueueUrl",
        "sqs:ListQueues",
        "sqs:GetQueueAttributes",
        "sqs:ListQueueTags",
        "sqs:CreateQueue",
        "sqs:SetQueueAttributes",
        "sqs:DeleteQueue",
        "sqs:TagQueue",
        "sqs:UntagQueue",
    ];

    async fn observe(
        &self,
        cx: &Cx<'_>,
        wanted: &[Want<'_, Self>],
    ) -> Result<Vec<(ResourceKey, Seen<Self>)>, ReconcileError> {
        let mut out = Vec::new();
        for want in wanted {
            // A steady pass reads the attributes by the URL kept in the memo: one call a queue.
            let url = match &want.memo.queue_url {
                Some(url) => url.clone(),
                None => match cx.clients.sqs.get_queue_url().queue_name(&want.spec.queue_name).send().await {
                    Ok(found) => found.queue_url().unwrap_or_default().to_string(),
                    Err(e) => match aws("GetQueueUrl")(e) {
                        e if e.is_code(GONE) => continue,
                        e => return Err(e.into()),
                    },
                },
            };
            if let Some(mut seen) = seen_of(cx, &url).await? {
                seen.owned = owns(&seen.config.tags, want.key());
                out.push((want.key().clone(), seen));
            }
        }
        Ok(out)
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Result<SqsQueueMemo, ReconcileError> {
        cx.may_mutate().await?;
        let mut attributes = attributes_of(&want.spec, None);
        // SQS makes a FIFO queue only when asked, and only under a name ending in `.fifo`.
        if want.spec.queue_name.ends_with(".fifo") {
            attributes.insert(A::FifoQueue, "true".into());
        }
        // CreateQueue with the same attributes returns the queue made before a crash.
        let request = cx.clients.sqs.create_queue().queue_name(&want.spec.queue_name).set_attributes(Some(attributes));
        let made = request.set_tags(Some(want.tags().clone().into_iter().collect())).send().await;
        Ok(SqsQueueMemo { queue_url: made.map_err(aws("CreateQueue"))?.queue_url().map(str::to_string) })
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        want: &Want<'_, Self>,
        seen: &Seen<Self>,
        drift: &[Drift],
    ) -> Result<SqsQueueMemo, ReconcileError> {
        cx.may_mutate().await?;
        let attributes = attributes_of(&want.spec, Some(drift));
        let request = cx.clients.sqs.set_queue_attributes().queue_url(&seen.id).set_attributes(Some(attributes));
        request.send().await.map_err(aws("SetQueueAttributes"))?;
        Ok(Self::adopted_memo(seen))
    }

    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        match cx.clients.sqs.delete_queue().queue_url(&seen.id).send().await.map_err(aws("DeleteQueue")) {
            Err(e) if !e.is_code(GONE) => Err(e.into()),
            _ => Ok(()),
        }
    }

    fn tagged(id: &str) -> Tagged<'_> {
        Tagged::Sqs(id)
    }

    fn adopted_memo(seen: &Seen<Self>) -> SqsQueueMemo {
        SqsQueueMemo { queue_url: Some(seen.id.clone()) }
    }

    /// The queues the imported stack names (by URL or name), and their dead-letter queues.
    async fn discover(
        &self,
        cx: &Cx<'_>,
        mentioned: &BTreeSet<String>,
    ) -> Result<Vec<(String, Seen<Self>)>, ReconcileError> {
        let listing = cx.clients.sqs.list_queues().into_paginator().send().collect::<Result<Vec<_>, _>>().await;
        let urls: Vec<String> =
            listing.map_err(aws("ListQueues"))?.iter().flat_map(|p| p.queue_urls()).cloned().collect();
        let last = |s: &str, sep: char| s.rsplit(sep).next().unwrap_or_default().to_string();
        let mut wanted: Vec<&String> =
            urls.iter().filter(|u| mentioned.contains(*u) || mentioned.contains(&last(u, '/'))).collect();
        let mut out: Vec<(String, Seen<Self>)> = Vec::new();
        while let Some(url) = wanted.pop() {
            let Some(seen) = seen_of(cx, url).await?.filter(|_| !out.iter().any(|(_, s)| &s.id == url)) else {
                continue;
            };
            let dlq = seen.config.redrive_policy.as_ref().map(|p| last(&p.dead_letter_target_arn, ':'));
            wanted.extend(urls.iter().filter(|u| dlq.as_ref() == Some(&last(u, '/'))));
            out.push((last(url, '/'), seen));
        }
        Ok(out)
    }
}

/// A queue as SQS has it (unowned until compared with a resource's key), or None when it is gone.
async fn seen_of(cx: &Cx<'_>, url: &str) -> Result<Option<Seen<SqsQueue>>, ReconcileError> {
    let read = cx.clients.sqs.get_queue_attributes().queue_url(url).attribute_names(A::All).send().await;
    let attributes = match read.map_err(aws("GetQueueAttributes")) {
        Ok(read) => read.attributes().cloned().unwrap_or_default(),
        Err(e) if e.is_code(GONE) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let name = url.rsplit('/').next().unwrap_or_default();
    let config = spec_of(name, &attributes, sqs_tags(cx, url).await?);
    let outputs = SqsQueueOutputs { url: url.into(), arn: attributes.get(&A::QueueArn).cloned().unwrap_or_default() };
    Ok(Some(Seen { owned: false, state: ObjectState::Ready, config, outputs, id: url.into() }))
}

/// The attributes a spec sets (only the drifted fields', when `drift` is given), as SQS takes them.
fn attributes_of(spec: &SqsQueueSpec, drift: Option<&[Drift]>) -> HashMap<A, String> {
    let view = serde_json::to_value(spec).unwrap_or_default();
    let drifted = |field: &str| drift.is_none_or(|d| d.iter().any(|x| x.field.split('.').next() == Some(field)));
    let text = |v: &Json| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let set = ATTRIBUTES.iter().filter(|(field, _)| *field != "fifoQueue" && drifted(field) && !view[field].is_null());
    set.map(|(field, attribute)| (attribute.clone(), text(&view[field]))).collect()
}

/// What SQS has, in the spec's form: each attribute read as JSON where it is (numbers, the
/// redrive policy, whose count may be a string), else as text (a key alias).
fn spec_of(queue_name: &str, attributes: &HashMap<A, String>, tags: BTreeMap<String, String>) -> SqsQueueSpec {
    let mut view =
        Map::from_iter([("queueName".into(), Json::from(queue_name)), ("fifoQueue".into(), Json::Bool(false))]);
    for (field, attribute) in &ATTRIBUTES {
        let Some(text) = attributes.get(attribute) else { continue };
        view.insert(field.to_string(), serde_json::from_str(text).unwrap_or_else(|_| Json::from(text.as_str())));
    }
    if let Some(count) = view.get_mut("redrivePolicy").and_then(|p| p.get_mut("maxReceiveCount")) {
        *count = count.as_str().and_then(|c| c.parse::<i64>().ok()).map_or_else(|| count.clone(), Json::from);
    }
    view.insert("tags".into(), serde_json::to_value(tags).unwrap_or_default());
    // Attributes that do not read leave every field differing, so the diff shows what is wanted.
    serde_json::from_value(Json::Object(view))
        .unwrap_or_else(|_| SqsQueueSpec { queue_name: queue_name.into(), ..Default::default() })
}
