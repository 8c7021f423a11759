//! What the IAM kinds share: the rules for names, paths and documents, and when a change to a
//! document or a role's policies is critical.

use super::typed::build_error;
use crate::aws::aws;
use crate::model::policy::{canonical_policy, principal_added, wildcard_added};
use crate::model::tags::Tagged;
use crate::model::{Cx, ReconcileError};
use crate::schema::StrRule;
use std::collections::BTreeMap;

/// A policy document, written as JSON text and compared as a document (`model::policy`).
pub const POLICY_DOCUMENT: StrRule = StrRule {
    expected: "an IAM policy document in JSON (an object with a Statement)",
    check: |s| canonical_policy(s).is_some(),
};

/// A role's or a policy's name: 1 to 64 (roles) or 128 (policies) of IAM's characters.
pub const IAM_NAME: StrRule = StrRule {
    expected: "1 to 64 letters, digits or +=,.@_-",
    check: |s| (1..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)),
};

/// An IAM path: `/`, or `/segments/` of IAM's characters.
pub const IAM_PATH: StrRule = StrRule {
    expected: "an IAM path such as / or /service-role/ (starting and ending with /)",
    check: |s| {
        (1..=512).contains(&s.len())
            && s.starts_with('/')
            && s.ends_with('/')
            && s.chars().all(|c| c.is_ascii_graphic())
    },
};

/// The AWS-managed policies that make whoever has them an administrator of some kind.
pub const ADMINISTRATIVE: &[&str] = &["AdministratorAccess", "PowerUserAccess", "IAMFullAccess"];

/// Whether an attached policy (by ARN) is one of AWS's administrative ones.
pub fn administrative(arn: &str) -> bool {
    arn.starts_with("arn:aws")
        && arn.contains(":iam::aws:policy/")
        && ADMINISTRATIVE.iter().any(|p| arn.ends_with(&format!("/{p}")))
}

/// A document that allows nothing: what a policy the spec does not have is compared with.
const NO_DOCUMENT: &str = r#"{"Statement":[]}"#;

/// Whether a document (None: one the spec does not have) newly allows `*` or `service:*`.
pub fn document_widened(desired: Option<&str>, actual: &str) -> bool {
    wildcard_added(desired.unwrap_or(NO_DOCUMENT), actual)
}

/// Whether documents by name (inline policies) gained a wildcard: a new document, or a changed
/// one, that allows `*` or `service:*`.
pub fn documents_widened(desired: &BTreeMap<String, String>, actual: &BTreeMap<String, String>) -> bool {
    actual.iter().any(|(name, doc)| document_widened(desired.get(name).map(String::as_str), doc))
}

/// Whether a trust or resource policy (None: one the spec does not have) lets someone new in,
/// or allows a wildcard.
pub fn lets_more_in(desired: Option<&str>, actual: &str) -> bool {
    let desired = desired.unwrap_or(NO_DOCUMENT);
    principal_added(desired, actual) || wildcard_added(desired, actual)
}

/// The path a role or policy has unless the spec gives one.
pub fn root_path() -> String {
    "/".into()
}

/// Tags as IAM takes them.
pub fn iam_tags(tags: &BTreeMap<String, String>) -> Result<Vec<aws_sdk_iam::types::Tag>, ReconcileError> {
    let tags = tags.iter().map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build());
    tags.collect::<Result<_, _>>().map_err(build_error)
}

/// Sets and removes tags on a role or a policy (`kinds::tagging::retag` for IAM's objects).
pub async fn retag(
    cx: &Cx<'_>,
    target: Tagged<'_>,
    set: &BTreeMap<String, String>,
    remove: &[String],
) -> Result<(), ReconcileError> {
    let keys = Some(remove.to_vec());
    match target {
        Tagged::IamRole(name) => {
            let request = cx.clients.iam.tag_role().role_name(name).set_tags(Some(iam_tags(set)?));
            request.send().await.map_err(aws("TagRole"))?;
            if !remove.is_empty() {
                cx.may_mutate().await?;
                let request = cx.clients.iam.untag_role().role_name(name).set_tag_keys(keys);
                request.send().await.map_err(aws("UntagRole"))?;
            }
        }
        Tagged::IamPolicy(arn) => {
            let request = cx.clients.iam.tag_policy().policy_arn(arn).set_tags(Some(iam_tags(set)?));
            request.send().await.map_err(aws("TagPolicy"))?;
            if !remove.is_empty() {
                cx.may_mutate().await?;
                let request = cx.clients.iam.untag_policy().policy_arn(arn).set_tag_keys(keys);
                request.send().await.map_err(aws("UntagPolicy"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn administrative_policies_are_aws_own_and_named() {
        assert!(administrative("arn:aws:iam::aws:policy/AdministratorAccess"));
        assert!(administrative("arn:aws:iam::aws:policy/job-function/../PowerUserAccess"));
        assert!(!administrative("arn:aws:iam::123456789012:policy/AdministratorAccess"), "a customer's of that name");
        assert!(!administrative("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"));
        assert!((IAM_PATH.check)("/service-role/") && (IAM_PATH.check)("/") && !(IAM_PATH.check)("service-role"));
    }
}
