//! SqsQueue: an SQS queue (standard or FIFO), its timing, size, dead-letter and encryption settings.

use super::tagging::sqs_tags;
use super::typed::prelude::*;
use aws_sdk_sqs::types::QueueAttributeName as A;
use serde_json::{Value as Json, json};
use std::collections::HashMap;

const QUEUE_NAME: StrRule = StrRule {
    expected: "a queue name of 1 to 80 letters, digits, '-' or '_' (a FIFO queue's ends in .fifo)",
    check: |s| {
        (1..=80).contains(&s.len())
            && s.trim_end_matches(".fifo").chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
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
    /// Its tags (the stack's `defaultTags` and the ownership tags are added).
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

/// SQS's answer for a queue that does not exist (its JSON and its query protocol's code).
const GONE: &[&str] = &["AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"];
pub struct SqsQueue;
pub static ADAPTER: Typed<SqsQueue> = Typed::new(SqsQueue);

#[async_trait::async_trait]
impl TypedKind for SqsQueue {
    type Spec = SqsQueueSpec;
    type Outputs = SqsQueueOutputs;
    type Memo = KnownId;
    const TERRAFORM: Option<(&'static str, &'static str)> = Some(("aws_sqs_queue", "name"));
    const TAGGED: for<'a> fn(&'a str) -> Tagged<'a> = |id| Tagged::Sqs(id);
    const ACTIONS: &'static [&'static str] = crate::actions!("sqs":
        GetQueueUrl, GetQueueAttributes, ListQueueTags,
        CreateQueue, SetQueueAttributes, DeleteQueue, TagQueue, UntagQueue);

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let mut out = Vec::new();
        for want in wanted {
            // A steady pass reads the attributes by the URL kept in the memo: one call a queue.
            let url = match &want.memo.known_id {
                Some(url) => Some(url.clone()),
                None => url_of(cx, &want.spec.queue_name).await?,
            };
            out.extend(seen_of(cx, url).await?.map(|seen| (want.key().clone(), seen)));
        }
        Ok(out)
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        cx.may_mutate().await?;
        let mut attributes = attributes_of(&want.spec, None);
        // SQS makes a FIFO queue only when asked, and only under a name ending in `.fifo`.
        attributes.extend(want.spec.queue_name.ends_with(".fifo").then(|| (A::FifoQueue, "true".into())));
        // CreateQueue with the same attributes returns the queue made before a crash.
        let request = cx.clients.sqs.create_queue().queue_name(&want.spec.queue_name).set_attributes(Some(attributes));
        let made = request.set_tags(Some(want.tags())).send().await.map_err(aws("CreateQueue"))?;
        Ok(KnownId { known_id: made.queue_url })
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, drift: &[Drift]) -> Memo<Self> {
        cx.may_mutate().await?;
        let attributes = attributes_of(&want.spec, Some(drift));
        let request = cx.clients.sqs.set_queue_attributes().queue_url(&seen.id).set_attributes(Some(attributes));
        request.send().await.map_err(aws("SetQueueAttributes"))?;
        Ok(Self::adopted_memo(seen))
    }

    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        unless(cx.clients.sqs.delete_queue().queue_url(&seen.id).send().await.map_err(aws("DeleteQueue")), GONE)
            .map(drop)
    }

    fn adopted_memo(seen: &Seen<Self>) -> KnownId {
        KnownId { known_id: Some(seen.id.clone()) }
    }

    /// The queues the imported stack names by URL (`…/<account>/<name>`), and their dead-letter queues.
    async fn discover(&self, cx: &Cx<'_>, mentioned: &BTreeSet<String>) -> Discovery<Self> {
        let account =
            |url: &str| url.rsplit('/').nth(1).is_some_and(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
        let mut urls: Vec<String> = mentioned.iter().filter(|s| s.starts_with("http") && account(s)).cloned().collect();
        let mut out: Vec<(String, Seen<Self>)> = Vec::new();
        while let Some(url) = urls.pop() {
            let Some(seen) = seen_of(cx, Some(url)).await?.filter(|q| out.iter().all(|(_, s)| s.id != q.id)) else {
                continue;
            };
            if let Some(dlq) = &seen.config.redrive_policy {
                urls.extend(url_of(cx, dlq.dead_letter_target_arn.rsplit(':').next().unwrap_or_default()).await?);
            }
            out.push((seen.config.queue_name.clone(), seen));
        }
        Ok(out)
    }
}

async fn url_of(cx: &Cx<'_>, name: &str) -> Result<Option<String>, ReconcileError> {
    let found = cx.clients.sqs.get_queue_url().queue_name(name).send().await;
    Ok(unless(found.map_err(aws("GetQueueUrl")), GONE)?.and_then(|f| f.queue_url))
}

/// A queue as SQS has it, or None when it is gone.
async fn seen_of(cx: &Cx<'_>, url: Option<String>) -> Result<Option<Seen<SqsQueue>>, ReconcileError> {
    let Some(url) = url.as_deref() else { return Ok(None) };
    let read = cx.clients.sqs.get_queue_attributes().queue_url(url).attribute_names(A::All).send().await;
    let Some(read) = unless(read.map_err(aws("GetQueueAttributes")), GONE)? else { return Ok(None) };
    let attributes = read.attributes.unwrap_or_default();
    let outputs = SqsQueueOutputs { url: url.into(), arn: attributes.get(&A::QueueArn).cloned().unwrap_or_default() };
    let config = spec_of(url.rsplit('/').next().unwrap_or_default(), attributes, sqs_tags(cx, url).await?);
    Ok(Some(Seen { state: ObjectState::Ready, config, outputs, id: url.into() }))
}

/// The spec's fields that are not queue attributes (FifoQueue is one, but CreateQueue's only).
const NOT_ATTRIBUTES: [&str; 3] = ["queueName", "tags", "fifoQueue"];

/// The attributes a spec sets (only the drifted fields', when `drift` is given), as SQS takes them.
fn attributes_of(spec: &SqsQueueSpec, drift: Option<&[Drift]>) -> HashMap<A, String> {
    to_attributes(spec, &NOT_ATTRIBUTES, drift).into_iter().map(|(k, v)| (A::from(k.as_str()), v)).collect()
}

/// What SQS has, in the spec's form (a count in the redrive policy may be a string).
fn spec_of(queue_name: &str, attributes: HashMap<A, String>, tags: BTreeMap<String, String>) -> SqsQueueSpec {
    let fifo = attributes.get(&A::FifoQueue).is_some_and(|v| v == "true");
    let mut view = json!({ "queueName": queue_name, "fifoQueue": fifo, "tags": tags });
    from_attributes::<SqsQueueSpec>(&mut view, &NOT_ATTRIBUTES, |name| attributes.get(&A::from(name)));
    if let Some(count) = view.pointer_mut("/redrivePolicy/maxReceiveCount") {
        *count = count.as_str().and_then(|c| c.parse::<i64>().ok()).map_or_else(|| count.clone(), Json::from);
    }
    // Attributes that do not read leave every field differing, so the diff shows what is wanted.
    serde_json::from_value(view)
        .unwrap_or_else(|_| SqsQueueSpec { queue_name: queue_name.into(), ..Default::default() })
}
