//! Ownership: the tags every object steward creates carries, and where an object's tags live.

use super::key::ResourceKey;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// The tags every object steward creates carries; their presence is what "owned" means.
pub const TAG_STACK: &str = "steward:stack";
pub const TAG_KIND: &str = "steward:kind";
pub const TAG_NAME: &str = "steward:name";

/// The ownership tags of a resource.
pub fn ownership_tags(key: &ResourceKey) -> BTreeMap<String, String> {
    [(TAG_STACK, key.stack.clone()), (TAG_KIND, key.kind.to_string()), (TAG_NAME, key.name.clone())]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// Whether a tag set carries the ownership tags of this resource.
pub fn owns(tags: &BTreeMap<String, String>, key: &ResourceKey) -> bool {
    tags.get(TAG_STACK) == Some(&key.stack)
        && tags.get(TAG_KIND).map(String::as_str) == Some(key.kind.as_str())
        && tags.get(TAG_NAME) == Some(&key.name)
}

/// The steward resource an object's tags (as JSON) say it belongs to: `Kind/name of stack S`.
pub fn owner_named(tags: &Json) -> Option<String> {
    let get = |key: &str| tags.get(key).and_then(Json::as_str);
    Some(format!("{}/{} of stack {}", get(TAG_KIND)?, get(TAG_NAME)?, get(TAG_STACK)?))
}

/// Tags as compared in a diff: AWS's own `aws:` tags are not ours to manage.
pub fn tag_view(tags: &BTreeMap<String, String>) -> Json {
    Json::Object(
        tags.iter().filter(|(k, _)| !k.starts_with("aws:")).map(|(k, v)| (k.clone(), Json::from(v.clone()))).collect(),
    )
}

/// Whether a diff path is under `tags`.
pub fn is_tag_field(field: &str) -> bool {
    field == "tags" || field.starts_with("tags.")
}

/// Where an object's tags live: its id or ARN, by the service that tags it.
pub enum Tagged<'a> {
    Ec2(&'a str),
    ElastiCache(&'a str),
    AppRunner(&'a str),
    Ecs(&'a str),
    Acm(&'a str),
    LoadBalancing(&'a str),
    /// A CloudWatch Logs log group, by ARN (without the `:*` of its streams).
    Logs(&'a str),
    /// An SQS queue, by URL.
    Sqs(&'a str),
    /// An IAM role, by name.
    IamRole(&'a str),
    /// An IAM managed policy, by ARN.
    IamPolicy(&'a str),
    /// An ECR repository, by ARN.
    Ecr(&'a str),
}
