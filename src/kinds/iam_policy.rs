//! IamPolicy: a customer-managed IAM policy. A changed document is a new default version; with
//! five versions kept (IAM's limit) the oldest one not in use goes first. One ListPolicies a
//! pass finds every policy of the account by name and path; its document and tags are two
//! reads each, so the kind's resync is an hour by default, with events in between.

use super::iam::{IAM_PATH, POLICY_DOCUMENT, iam_tags, root_path};
use super::typed::prelude::*;
use crate::model::AwsError;
use crate::model::policy::{policy_as_compared, wildcard_added};
use aws_sdk_iam::types::PolicyScopeType;
use serde_json::Value as Json;

/// IAM keeps at most this many versions of a policy.
const MOST_VERSIONS: usize = 5;

const POLICY_NAME: StrRule = StrRule {
    expected: "1 to 128 letters, digits or +=,.@_-",
    check: |s| (1..=128).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)),
};

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IamPolicySpec {
    /// Its name in the account.
    #[field(shape = string(POLICY_NAME), create_only, tf = "name")]
    pub policy_name: String,
    /// What it allows: a JSON policy document.
    #[field(shape = string(POLICY_DOCUMENT), tf = "policy")]
    pub policy_document: String,
    /// What it is for (IAM fixes it at creation).
    #[field(create_only, tf = "description")]
    pub description: Option<String>,
    /// Its path (`/` unless the spec says).
    #[serde(default = "root_path")]
    #[field(shape = string(IAM_PATH), create_only, tf = "path")]
    pub path: String,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IamPolicyOutputs {
    #[field(tf = "arn", doc = "the policy's ARN, for a role's managedPolicyArns")]
    pub arn: String,
}

pub struct IamPolicy;
pub static ADAPTER: Typed<IamPolicy> = Typed::new(IamPolicy);

#[async_trait::async_trait]
impl TypedKind for IamPolicy {
    type Spec = IamPolicySpec;
    type View = Self::Spec;
    type Outputs = IamPolicyOutputs;
    type Memo = ();
    type Facts = ();
    const TERRAFORM: Option<(&'static str, &'static str)> = Some(("aws_iam_policy", "name"));
    const TAGGED: TagsAt = Some(|arn| Tagged::IamPolicy(arn));
    const RESYNC: Option<&'static str> = Some("1h");
    const ACTIONS: &'static [&'static str] = crate::actions!("iam": ListPolicies, GetPolicy, GetPolicyVersion,
        CreatePolicy, CreatePolicyVersion, ListPolicyVersions, DeletePolicyVersion, ListEntitiesForPolicy,
        DeletePolicy, TagPolicy, UntagPolicy);

    /// A document that newly allows `*` or `service:*` is critical.
    fn critical(field: &str, desired: &Json, actual: &Json) -> bool {
        let text = |v: &Json| v.as_str().unwrap_or_default().to_string();
        field == "policyDocument" && wildcard_added(&text(desired), &text(actual))
    }

    fn compared(mut spec: IamPolicySpec, _desired: &Desired) -> IamPolicySpec {
        spec.policy_document = policy_as_compared(&spec.policy_document);
        spec
    }

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let listing = cx.clients.iam.list_policies().scope(PolicyScopeType::Local).into_paginator().items().send();
        let policies: Result<Vec<_>, _> = listing.collect().await;
        let mut out = Vec::new();
        for p in policies.map_err(aws("ListPolicies"))? {
            let named =
                |w: &&Want<Self>| p.policy_name() == Some(&w.spec.policy_name) && p.path() == Some(&w.spec.path);
            let Some(want) = wanted.iter().find(named) else { continue };
            let arn = p.arn().unwrap_or_default().to_string();
            // ListPolicies carries neither tags nor the document.
            let policy = cx.clients.iam.get_policy().policy_arn(&arn).send().await.map_err(aws("GetPolicy"))?;
            let Some(policy) = policy.policy else { continue };
            let version = cx.clients.iam.get_policy_version().policy_arn(&arn);
            let version = version.version_id(policy.default_version_id().unwrap_or("v1")).send().await;
            let document = version.map_err(aws("GetPolicyVersion"))?.policy_version.and_then(|v| v.document);
            let config = IamPolicySpec {
                policy_name: want.spec.policy_name.clone(),
                policy_document: policy_as_compared(&document.unwrap_or_default()),
                description: policy.description().map(str::to_string),
                path: want.spec.path.clone(),
            };
            let tags = policy.tags().iter().map(|t| (t.key.clone(), t.value.clone())).collect();
            let outputs = IamPolicyOutputs { arn: arn.clone() };
            out.push((want.key().clone(), Seen::new(arn, ObjectState::Ready, config, tags, outputs)));
        }
        Ok(out)
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        let spec = &want.spec;
        let request = cx.clients.iam.create_policy().policy_name(&spec.policy_name).path(&spec.path);
        let request = request.policy_document(&spec.policy_document).set_description(spec.description.clone());
        let request = request.set_tags(Some(iam_tags(&want.desired.tags)?));
        cx.may_mutate().await?;
        // Made before a crash, it is found by name next pass.
        unless(request.send().await.map_err(aws("CreatePolicy")), &["EntityAlreadyExists"]).map(drop)
    }

    /// A new default version; at IAM's limit, the oldest version not in use goes first.
    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, _: &[Drift]) -> Memo<Self> {
        let versions = cx.clients.iam.list_policy_versions().policy_arn(&seen.id).send().await;
        let versions = versions.map_err(aws("ListPolicyVersions"))?.versions;
        let mut old: Vec<_> = versions.iter().flatten().filter(|v| !v.is_default_version()).collect();
        old.sort_by_key(|v| v.create_date().map(|d| d.secs()));
        if versions.iter().flatten().count() >= MOST_VERSIONS
            && let Some(oldest) = old.first().and_then(|v| v.version_id())
        {
            cx.may_mutate().await?;
            let request = cx.clients.iam.delete_policy_version().policy_arn(&seen.id).version_id(oldest);
            unless(request.send().await.map_err(aws("DeletePolicyVersion")), &["NoSuchEntity"])?;
        }
        let request = cx.clients.iam.create_policy_version().policy_arn(&seen.id);
        let request = request.policy_document(&want.spec.policy_document).set_as_default(true);
        cx.may_mutate().await?;
        request.send().await.map_err(aws("CreatePolicyVersion"))?;
        Ok(())
    }

    /// A policy still attached waits, naming what holds it; its old versions go before it.
    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        let entities = cx.clients.iam.list_entities_for_policy().policy_arn(&seen.id).send().await;
        let entities = entities.map_err(aws("ListEntitiesForPolicy"))?;
        let roles = entities.policy_roles().iter().filter_map(|r| r.role_name()).map(|r| format!("role {r}"));
        let users = entities.policy_users().iter().filter_map(|u| u.user_name()).map(|u| format!("user {u}"));
        let groups = entities.policy_groups().iter().filter_map(|g| g.group_name()).map(|g| format!("group {g}"));
        let holders: Vec<String> = roles.chain(users).chain(groups).collect();
        if !holders.is_empty() {
            let why = format!("waiting: {} is still attached to {}", seen.config.policy_name, holders.join(", "));
            return Err(AwsError::unexpected("DeletePolicy", why).into());
        }
        let versions = cx.clients.iam.list_policy_versions().policy_arn(&seen.id).send().await;
        for version in
            versions.map_err(aws("ListPolicyVersions"))?.versions().iter().filter(|v| !v.is_default_version())
        {
            cx.may_mutate().await?;
            let request = cx.clients.iam.delete_policy_version().policy_arn(&seen.id);
            let deleted = request.set_version_id(version.version_id().map(str::to_string)).send().await;
            unless(deleted.map_err(aws("DeletePolicyVersion")), &["NoSuchEntity"])?;
        }
        cx.may_mutate().await?;
        let deleted = cx.clients.iam.delete_policy().policy_arn(&seen.id).send().await;
        unless(deleted.map_err(aws("DeletePolicy")), &["NoSuchEntity"]).map(drop)
    }
}
