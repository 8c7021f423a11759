//! LogGroup: a CloudWatch Logs log group, its retention and its KMS key.

use super::tagging::logs_tags;
use super::typed::prelude::*;
use super::values::common_prefix;
use aws_sdk_cloudwatchlogs::types::LogGroup as LogGroupDescription;

/// The retention periods CloudWatch Logs accepts (PutRetentionPolicy).
const RETENTION_DAYS: &[i64] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const LOG_GROUP_NAME: StrRule = StrRule {
    expected: "a log group name of 1 to 512 letters, digits and _-/.#",
    check: |s| (1..=512).contains(&s.len()) && s.chars().all(name_char("_-/.#")),
};

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogGroupSpec {
    #[field(shape = string(LOG_GROUP_NAME), create_only, tf = "name", doc = "The log group's name in CloudWatch Logs.")]
    pub log_group_name: String,
    #[field(shape = Shape::IntIn(RETENTION_DAYS), tf = "retention_in_days",
        doc = "Days events are kept (AWS keeps them for ever when no retention is set).")]
    pub retention_in_days: Option<i64>,
    #[field(shape = arn(), tf = "kms_key_id", doc = "The KMS key that encrypts the group's events.")]
    pub kms_key_id: Option<String>,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroupOutputs {
    #[field(tf = "arn", doc = "the group's ARN")]
    pub arn: String,
    #[field(tf = "name", doc = "its name, for an awslogs configuration")]
    pub log_group_name: String,
}

pub struct LogGroup;
pub static ADAPTER: Typed<LogGroup> = Typed::new(LogGroup);

#[async_trait::async_trait]
impl TypedKind for LogGroup {
    type Spec = LogGroupSpec;
    type View = Self::Spec;
    type Outputs = LogGroupOutputs;
    type Memo = ();
    type Facts = ();
    const TERRAFORM: Option<(&'static str, &'static str)> = Some(("aws_cloudwatch_log_group", "name"));
    const TAGGED: TagsAt = Some(|id| Tagged::Logs(id));
    const ACTIONS: &'static [&'static str] = crate::actions!("logs":
        DescribeLogGroups, ListTagsForResource,
        CreateLogGroup, PutRetentionPolicy, AssociateKmsKey, DeleteLogGroup, TagResource, UntagResource);

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        // One listing for every group of the pass: the names' common prefix, every page.
        let Some(prefix) = common_prefix(wanted.iter().map(|w| w.spec.log_group_name.as_str())) else {
            return Ok(Vec::new());
        };
        let groups = list(cx, Some(prefix)).await?;
        let mut out = Vec::new();
        for want in wanted {
            if let Some(g) = groups.iter().find(|g| g.log_group_name() == Some(&want.spec.log_group_name)) {
                out.push((want.key().clone(), seen_of(cx, g).await?));
            }
        }
        Ok(out)
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        cx.may_mutate().await?;
        let name = &want.spec.log_group_name;
        let request = cx.clients.logs.create_log_group().log_group_name(name).set_tags(Some(want.tags()));
        let made = request.set_kms_key_id(want.spec.kms_key_id.clone()).send().await.map_err(aws("CreateLogGroup"));
        // A retry after a crash finds the group made: it is ours (the tags came with it).
        unless(made, &["ResourceAlreadyExistsException"])?;
        if let Some(days) = want.spec.retention_in_days {
            put_retention(cx, name, days).await?;
        }
        Ok(())
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, _: &Seen<Self>, drift: &[Drift]) -> Memo<Self> {
        let (name, changed) = (&want.spec.log_group_name, |field| drift.iter().any(|d| d.field == field));
        cx.may_mutate().await?;
        if let Some(days) = want.spec.retention_in_days.filter(|_| changed("retentionInDays")) {
            put_retention(cx, name, days).await?;
        }
        if let Some(key) = want.spec.kms_key_id.as_ref().filter(|_| changed("kmsKeyId")) {
            let request = cx.clients.logs.associate_kms_key().log_group_name(name).kms_key_id(key);
            request.send().await.map_err(aws("AssociateKmsKey"))?;
        }
        Ok(())
    }

    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        let request = cx.clients.logs.delete_log_group().log_group_name(&seen.config.log_group_name);
        unless(request.send().await.map_err(aws("DeleteLogGroup")), &["ResourceNotFoundException"]).map(drop)
    }

    /// The groups the imported stack writes to (an awslogs configuration names them).
    async fn discover(&self, cx: &Cx<'_>, mentioned: &BTreeSet<String>) -> Discovery<Self> {
        let mut out = Vec::new();
        for g in list(cx, None).await?.iter().filter(|g| g.log_group_name().is_some_and(|n| mentioned.contains(n))) {
            out.push((g.log_group_name().unwrap_or_default().to_string(), seen_of(cx, g).await?));
        }
        Ok(out)
    }
}

/// Every log group under `prefix` (all of them without one), every page.
async fn list(cx: &Cx<'_>, prefix: Option<String>) -> Result<Vec<LogGroupDescription>, ReconcileError> {
    let listing =
        cx.clients.logs.describe_log_groups().set_log_group_name_prefix(prefix).into_paginator().items().send();
    Ok(listing.collect::<Result<_, _>>().await.map_err(aws("DescribeLogGroups"))?)
}

/// A group as AWS has it, with its tags.
async fn seen_of(cx: &Cx<'_>, g: &LogGroupDescription) -> Result<Seen<LogGroup>, ReconcileError> {
    // Newer answers carry the ARN without the `:*` of the group's streams; older ones only with it.
    let arn = g.log_group_arn().or(g.arn()).unwrap_or_default().trim_end_matches(":*").to_string();
    let name = g.log_group_name().unwrap_or_default().to_string();
    let config = LogGroupSpec {
        log_group_name: name.clone(),
        retention_in_days: g.retention_in_days().map(i64::from),
        kms_key_id: g.kms_key_id().map(str::to_string),
    };
    let (outputs, tags) = (LogGroupOutputs { arn: arn.clone(), log_group_name: name }, logs_tags(cx, &arn).await?);
    Ok(Seen::new(arn, ObjectState::Ready, config, tags, outputs))
}

async fn put_retention(cx: &Cx<'_>, name: &str, days: i64) -> Result<(), ReconcileError> {
    let days = i32::try_from(days).map_err(|e| ReconcileError::invalid_spec("PutRetentionPolicy", e))?;
    let request = cx.clients.logs.put_retention_policy().log_group_name(name).retention_in_days(days);
    request.send().await.map_err(aws("PutRetentionPolicy"))?;
    Ok(())
}
