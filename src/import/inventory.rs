//! What a reader found (`Inventory`), and the facts both readers and the shaping share: which
//! tags are never imported, which values are secrets, names and regions.

use super::error::Skip;
use crate::model::Kind;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

/// One object found, as a steward spec with raw ids and literal values.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub kind: Kind,
    /// The manifest name (the AWS name where the kind is known by it).
    pub name: String,
    pub spec: Json,
    /// What other resources may refer to, as the kind's outputs report it (`address`, `arn`…).
    pub outputs: BTreeMap<String, String>,
    /// Where it came from: a Terraform address or an AWS id, for the summary.
    pub origin: String,
}

/// A VPC, subnet, security group or route table: what a selector can name.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkObject {
    pub id: String,
    /// Its `Name` tag.
    pub name: Option<String>,
}

/// Something not imported, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub origin: String,
    pub reason: Skip,
}

/// What a reader found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inventory {
    pub found: Vec<Found>,
    pub vpc: Option<NetworkObject>,
    /// The VPC's subnets, security groups and route tables that the reader knows of.
    pub network: Vec<NetworkObject>,
    pub skipped: Vec<Skipped>,
    /// What an imported object has that steward does not manage (it is left as it is).
    pub unmanaged: Vec<String>,
    pub region: Option<String>,
}

impl Inventory {
    pub fn skip(&mut self, origin: impl Into<String>, reason: impl Into<Skip>) {
        self.skipped.push(Skipped { origin: origin.into(), reason: reason.into() });
    }
}

/// Every item of a paginated SDK list call, all pages read, or the error named by the call.
macro_rules! every_item {
    ($call:expr, $what:expr) => {
        $call
            .into_paginator()
            .items()
            .send()
            .collect::<std::result::Result<Vec<_>, _>>()
            .await
            .map_err($crate::import::error::call($what))
    };
}
pub(crate) use every_item;

/// Tag keys that are never imported: steward's own ownership tags and AWS's reserved ones.
pub fn is_reserved_tag(key: &str) -> bool {
    key.starts_with("steward:") || key.starts_with("aws:")
}

/// An environment variable whose value must not be written into a manifest: its name says it is
/// a secret, or it is a URL with a password in it.
pub fn looks_secret(name: &str, value: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let named = ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "PRIVATE_KEY", "API_KEY", "ACCESS_KEY", "CREDENTIAL"]
        .iter()
        .any(|w| upper.contains(w));
    let url_with_password =
        value.split_once("://").and_then(|(_, rest)| rest.split(['/', '?']).next()).is_some_and(|authority| {
            authority.contains('@') && authority.split('@').next().is_some_and(|u| u.contains(':'))
        });
    named || url_with_password
}

/// The region in an ARN (`arn:aws:service:REGION:…`).
pub fn region_of_arn(arn: &str) -> Option<String> {
    let region = arn.split(':').nth(3)?;
    (!region.is_empty()).then(|| region.to_string())
}

/// A manifest name from an AWS name: lower case, `_` and `.` as `-`, other characters dropped.
pub fn manifest_name(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.trim_end_matches('.').chars() {
        match c {
            'a'..='z' | '0'..='9' | '-' => out.push(c),
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            '_' | '.' | '/' | ' ' => out.push('-'),
            _ => {}
        }
    }
    let trimmed = out.trim_matches('-').to_string();
    if trimmed.is_empty() { "imported".into() } else { trimmed }
}

pub type Tags = BTreeMap<String, String>;

/// The owner of an object steward already keeps (its ownership tags), if any.
fn owner(tags: &Tags) -> Option<String> {
    crate::model::tags::owner_named(&json!(tags))
}

/// The tags a manifest declares: not steward's, not AWS's.
fn declared(tags: &Tags) -> Tags {
    tags.iter().filter(|(k, _)| !is_reserved_tag(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Adds `found` unless a steward stack already keeps the object.
pub fn add(inv: &mut Inventory, found: Found, tags: &Tags) {
    match owner(tags) {
        Some(owner) => inv.skip(found.origin, Skip::AlreadyKept(owner)),
        None => inv.found.push(found),
    }
}

pub fn with_tags(mut spec: Json, tags: &Tags) -> Json {
    let tags = declared(tags);
    if !tags.is_empty() {
        spec["tags"] = json!(tags);
    }
    spec
}

pub fn sorted<S: AsRef<str>>(items: &[S]) -> Vec<String> {
    let mut out: Vec<String> = items.iter().map(|s| s.as_ref().to_string()).collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_told_by_name_or_by_a_password_in_a_url() {
        assert!(looks_secret("DB_PASSWORD", "x"));
        assert!(looks_secret("JWT_SECRET_KEY", "x"));
        assert!(looks_secret("DATABASE_URL", "postgres://app:hunter2@db:5432/app"));
        assert!(!looks_secret("REDIS_URL", "redis://mentor-match-redis.abc.cache.amazonaws.com:6379/0"));
        assert!(!looks_secret("SERVICE_URL", "https://user@example.com/x"));
        assert!(!looks_secret("FLASK_ENV", "development"));
    }

    #[test]
    fn manifest_names_are_lower_case_with_hyphens() {
        assert_eq!(manifest_name("ecr.api"), "ecr-api");
        assert_eq!(manifest_name("Mentor_Match Redis"), "mentor-match-redis");
        assert_eq!(manifest_name("mmweb.example.com."), "mmweb-example-com");
        assert_eq!(manifest_name("***"), "imported");
    }
}
