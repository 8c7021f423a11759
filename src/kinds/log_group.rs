//! LogGroup: a CloudWatch Logs log group, its retention and its KMS key.

use super::tagging::logs_tags;
use super::typed::{Declared, Seen, Typed, TypedKind, Want};
use crate::aws::aws;
use crate::model::tags::{Tagged, owns};
use crate::model::{Cx, Drift, ObjectState, ReconcileError, ResourceKey};
use crate::schema::{Checker, StrRule};
use aws_sdk_cloudwatchlogs::types::LogGroup as LogGroupDescription;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

/// The retention periods CloudWatch Logs accepts (PutRetentionPolicy).
const RETENTION_DAYS: &[i64] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const LOG_GROUP_NAME: StrRule = StrRule {
    expected: "a log group name of 1 to 512 letters, digits and _-/.#",
    check: |s| (1..=512).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-/.#".contains(c)),
};

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogGroupSpec {
    /// The log group's name in CloudWatch Logs.
    #[field(shape = string(LOG_GROUP_NAME), create_only, tf = "name")]
    pub log_group_name: String,
    /// Days events are kept (AWS keeps them for ever when no retention is set).
    #[field(shape = int(1, 3653), tf = "retention_in_days")]
    pub retention_in_days: Option<i64>,
    /// The KMS key that encrypts the group's events.
    #[field(shape = arn(), tf = "kms_key_id")]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroupOutputs {
    /// the group's ARN
    #[field(tf = "arn")]
    pub arn: String,
    /// its name, for an awslogs configuration
    #[field(tf = "name")]
    pub log_group_name: String,
}

pub struct LogGroup;
pub static ADAPTER: Typed<LogGroup> = Typed::new(LogGroup);

#[async_trait::async_trait]
impl TypedKind for LogGroup {
    type Spec = LogGroupSpec;
    type Outputs = LogGroupOutputs;
    type Memo = ();
    const NAME_RULE: StrRule = super::GENERIC_NAME;
    const RETAIN_BY_DEFAULT: bool = false;
    const TERRAFORM: Option<(&'static str, &'static str)> = Some(("aws_cloudwatch_log_group", "name"));
    const ACTIONS: &'static [&'static str] = &[
        "logs:DescribeLogGroups",
        "logs:ListTagsForResource",
        "logs:CreateLogGroup",
        "logs:PutRetentionPolicy",
        "logs:AssociateKmsKey",
        "logs:DeleteLogGroup",
        "logs:TagResource",
        "logs:UntagResource",
    ];

    fn check(spec: &Json, checker: &mut Checker) {
        if let Some(days) = spec.get("retentionInDays").and_then(Json::as_i64).filter(|d| !RETENTION_DAYS.contains(d)) {
            let allowed: Vec<String> = RETENTION_DAYS.iter().map(i64::to_string).collect();
            checker.error_at("retentionInDays", format!("expected one of {}, got {days}", allowed.join(", ")));
        }
    }

    async fn observe(
        &self,
        cx: &Cx<'_>,
        wanted: &[Want<'_, Self>],
    ) -> Result<Vec<(ResourceKey, Seen<Self>)>, ReconcileError> {
        let names: Vec<&str> = wanted.iter().map(|w| w.spec.log_group_name.as_str()).collect();
        let Some(first) = names.first() else { return Ok(Vec::new()) };
        // One listing for every group of the pass: the names' common prefix, every page.
        let common =
            |p: String, n: &&str| p.chars().zip(n.chars()).take_while(|(a, b)| a == b).map(|(a, _)| a).collect();
        let groups = list(cx, Some(names.iter().fold(first.to_string(), common))).await?;
        let mut out = Vec::new();
        for want in wanted {
            let Some(g) = groups.iter().find(|g| g.log_group_name() == Some(want.spec.log_group_name.as_str())) else {
                continue;
            };
            let mut seen = seen_of(cx, g).await?;
            seen.owned = owns(&seen.config.tags, want.key());
            out.push((want.key().clone(), seen));
        }
        Ok(out)
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        let name = &want.spec.log_group_name;
        let request =
            cx.clients.logs.create_log_group().log_group_name(name).set_kms_key_id(want.spec.kms_key_id.clone());
        // A retry after a crash finds the group made: it is ours (the tags came with it).
        match request
            .set_tags(Some(want.tags().clone().into_iter().collect()))
            .send()
            .await
            .map_err(aws("CreateLogGroup"))
        {
            Err(e) if !e.is_code(&["ResourceAlreadyExistsException"]) => return Err(e.into()),
            _ => {}
        }
        if let Some(days) = want.spec.retention_in_days {
            put_retention(cx, name, days).await?;
        }
        Ok(())
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        want: &Want<'_, Self>,
        _seen: &Seen<Self>,
        drift: &[Drift],
    ) -> Result<(), ReconcileError> {
        let name = &want.spec.log_group_name;
        for d in drift {
            cx.may_mutate().await?;
            match (d.field.as_str(), &want.spec) {
                ("retentionInDays", LogGroupSpec { retention_in_days: Some(days), .. }) => {
                    put_retention(cx, name, *days).await?
                }
                ("kmsKeyId", LogGroupSpec { kms_key_id: Some(key), .. }) => {
                    let request = cx.clients.logs.associate_kms_key().log_group_name(name).kms_key_id(key);
                    request.send().await.map_err(aws("AssociateKmsKey"))?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        let request = cx.clients.logs.delete_log_group().log_group_name(&seen.config.log_group_name);
        match request.send().await.map_err(aws("DeleteLogGroup")) {
            Err(e) if !e.is_code(&["ResourceNotFoundException"]) => Err(e.into()),
            _ => Ok(()),
        }
    }

    fn tagged(id: &str) -> Tagged<'_> {
        Tagged::Logs(id)
    }

    /// The groups the imported stack writes to (an awslogs configuration names them).
    async fn discover(
        &self,
        cx: &Cx<'_>,
        mentioned: &BTreeSet<String>,
    ) -> Result<Vec<(String, Seen<Self>)>, ReconcileError> {
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

/// A group as AWS has it, with its tags (unowned until compared with a resource's key).
async fn seen_of(cx: &Cx<'_>, g: &LogGroupDescription) -> Result<Seen<LogGroup>, ReconcileError> {
    // Newer answers carry the ARN without the `:*` of the group's streams; older ones only with it.
    let arn = g
        .log_group_arn()
        .map(str::to_string)
        .unwrap_or_else(|| g.arn().unwrap_or_default().trim_end_matches(":*").to_string());
    let name = g.log_group_name().unwrap_or_default().to_string();
    let config = LogGroupSpec {
        log_group_name: name.clone(),
        retention_in_days: g.retention_in_days().map(i64::from),
        kms_key_id: g.kms_key_id().map(str::to_string),
        tags: logs_tags(cx, &arn).await?,
    };
    let outputs = LogGroupOutputs { arn: arn.clone(), log_group_name: name };
    Ok(Seen { id: arn, owned: false, state: ObjectState::Ready, config, outputs })
}

async fn put_retention(cx: &Cx<'_>, name: &str, days: i64) -> Result<(), ReconcileError> {
    let days = i32::try_from(days).map_err(|e| ReconcileError::invalid_spec("PutRetentionPolicy", e))?;
    let request = cx.clients.logs.put_retention_policy().log_group_name(name).retention_in_days(days);
    request.send().await.map_err(aws("PutRetentionPolicy"))?;
    Ok(())
}
