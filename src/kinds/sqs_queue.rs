//! SqsQueue: an SQS queue (standard or FIFO), its timing, size, dead-letter and encryption settings.

use super::tagging::sqs_tags;
use super::typed::prelude::*;
use crate::aws::names::queue_named;
use aws_sdk_sqs::types::QueueAttributeName as A;

const QUEUE_NAME: StrRule = StrRule {
    expected: "a queue name of 1 to 80 letters, digits, '-' or '_' (a FIFO queue's ends in .fifo)",
    check: |s| (1..=80).contains(&s.len()) && s.trim_end_matches(".fifo").chars().all(name_char("-_")),
};

#[derive(Declared, Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SqsQueueSpec {
    #[field(shape = string(QUEUE_NAME), create_only, tf = "name", doc = "Its name (a FIFO queue's ends in .fifo).")]
    pub queue_name: String,
    #[field(shape = int(0, 43_200), tf = "visibility_timeout_seconds", aws_default = 30,
        doc = "Seconds a received message stays invisible to other consumers.")]
    pub visibility_timeout: Option<i64>,
    #[field(shape = int(60, 1_209_600), tf = "message_retention_seconds", aws_default = 345_600,
        doc = "Seconds a message is kept.")]
    pub message_retention_period: Option<i64>,
    #[field(shape = int(0, 900), tf = "delay_seconds", aws_default = 0, doc = "Seconds each new message is delayed.")]
    pub delay_seconds: Option<i64>,
    #[field(shape = int(1024, 1_048_576), tf = "max_message_size", doc = "The largest message accepted, in bytes.")]
    pub maximum_message_size: Option<i64>,
    #[field(shape = int(0, 20), tf = "receive_wait_time_seconds", aws_default = 0, doc = "Seconds a receive waits.")]
    pub receive_message_wait_time_seconds: Option<i64>,
    #[field(tf = "redrive_policy", doc = "The dead-letter queue (ARN or reference), and after how many receives.")]
    pub redrive_policy: Option<RedrivePolicy>,
    #[field(create_only, tf = "fifo_queue", aws_default = false, doc = "A FIFO queue (its name ends in .fifo).")]
    pub fifo_queue: Option<bool>,
    #[field(tf = "kms_master_key_id", doc = "The KMS key (id, alias or ARN) for server-side encryption.")]
    pub kms_master_key_id: Option<String>,
}

#[derive(Declared, Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedrivePolicy {
    #[field(shape = arn())]
    pub dead_letter_target_arn: String,
    #[field(shape = int(1, 1000))]
    pub max_receive_count: i64,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsQueueOutputs {
    #[field(tf = "url", doc = "the queue's URL, which clients send to")]
    pub url: String,
    #[field(tf = "arn", doc = "the queue's ARN, for policies and redrive")]
    pub arn: String,
}

/// SQS's answer for a queue that does not exist (its JSON and its query protocol's code).
const GONE: &[&str] = &["AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"];
pub struct SqsQueue;
pub static ADAPTER: Typed<SqsQueue> = Typed::new(SqsQueue);

#[async_trait::async_trait]
impl TypedKind for SqsQueue {
    type Spec = SqsQueueSpec;
    type View = Self::Spec;
    type Outputs = SqsQueueOutputs;
    type Memo = KnownId;
    type Facts = ();
    const TERRAFORM: Option<(&'static str, &'static str)> = Some(("aws_sqs_queue", "name"));
    const TAGGED: TagsAt = Some(|id| Tagged::Sqs(id));
    const ACTIONS: &'static [&'static str] = crate::actions!("sqs": GetQueueUrl, GetQueueAttributes, ListQueueTags,
        CreateQueue, SetQueueAttributes, DeleteQueue, TagQueue, UntagQueue);

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let mut out = Vec::new();
        for want in wanted {
            // A steady pass reads the attributes by the URL kept in the memo: one call a queue.
            let known = want.memo.known_id.clone();
            let url = if known.is_some() { known } else { url_of(cx, &want.spec.queue_name).await? };
            out.extend(seen_of(cx, url).await?.map(|seen| (want.key().clone(), seen)));
        }
        Ok(out)
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        cx.may_mutate().await?;
        let mut attributes: std::collections::HashMap<A, _> = to_attributes(&want.spec, NOT_ATTRIBUTES, None);
        // SQS makes a FIFO queue only when asked, and only under a name ending in `.fifo`.
        attributes.extend(want.spec.queue_name.ends_with(".fifo").then(|| (A::FifoQueue, "true".into())));
        // CreateQueue with the same attributes returns the queue made before a crash.
        let request = cx.clients.sqs.create_queue().queue_name(&want.spec.queue_name).set_attributes(Some(attributes));
        let made = request.set_tags(Some(want.tags())).send().await.map_err(aws("CreateQueue"))?;
        Ok(KnownId { known_id: made.queue_url })
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, drift: &[Drift]) -> Memo<Self> {
        cx.may_mutate().await?;
        let attributes = to_attributes(&want.spec, NOT_ATTRIBUTES, Some(drift));
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

    /// The queues the imported stack names, by URL or by ARN (a redrive policy's dead-letter queue).
    async fn discover(&self, cx: &Cx<'_>, mentioned: &BTreeSet<String>) -> Discovery<Self> {
        let mut out = Vec::new();
        for name in mentioned.iter().filter_map(|s| queue_named(s)).collect::<BTreeSet<_>>() {
            out.extend(seen_of(cx, url_of(cx, name).await?).await?.map(|seen| (name.to_string(), seen)));
        }
        Ok(out)
    }
}

async fn url_of(cx: &Cx<'_>, name: &str) -> Result<Option<String>, ReconcileError> {
    let found = cx.clients.sqs.get_queue_url().queue_name(name).send().await;
    Ok(unless(found.map_err(aws("GetQueueUrl")), GONE)?.and_then(|f| f.queue_url))
}

/// The spec's field that is not a queue attribute (FifoQueue is one, but create-only: never in an update).
const NOT_ATTRIBUTES: &[&str] = &["queueName"];

/// A queue as SQS has it, or None when it is gone.
async fn seen_of(cx: &Cx<'_>, url: Option<String>) -> Result<Option<Seen<SqsQueue>>, ReconcileError> {
    let Some(url) = url.as_deref() else { return Ok(None) };
    let read = cx.clients.sqs.get_queue_attributes().queue_url(url).attribute_names(A::All).send().await;
    let Some(read) = unless(read.map_err(aws("GetQueueAttributes")), GONE)? else { return Ok(None) };
    let attributes = read.attributes.unwrap_or_default();
    let outputs = SqsQueueOutputs { url: url.into(), arn: attributes.get(&A::QueueArn).cloned().unwrap_or_default() };
    let queue_name = url.rsplit('/').next().unwrap_or_default();
    let known = serde_json::json!({ "queueName": queue_name, "fifoQueue": false });
    // Attributes that do not read leave every field differing, so the diff shows what is wanted.
    let config = from_attributes(known, NOT_ATTRIBUTES, |name| attributes.get(&A::from(name)))
        .unwrap_or_else(|| SqsQueueSpec { queue_name: queue_name.into(), ..Default::default() });
    Ok(Some(Seen::new(url.into(), ObjectState::Ready, config, sqs_tags(cx, url).await?, outputs)))
}
