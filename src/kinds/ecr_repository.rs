//! EcrRepository: an ECR repository, its tag mutability, scanning, encryption (fixed at
//! creation), lifecycle policy and repository policy. Retained by default, and never deleted
//! while it holds images. One DescribeRepositories listing a pass finds every repository by
//! name (a named lookup fails whole when one name is missing); tags are cached, and the two
//! policies are read only for repositories whose spec gives them.

use super::iam::POLICY_DOCUMENT;
use super::iam::lets_more_in;
use super::tagging::{cached_tags, ecr_tag_list};
use super::typed::prelude::*;
use crate::model::AwsError;
use crate::model::policy::{canonical_json, policy_as_compared};
use aws_sdk_ecr::types::{EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability};
use serde_json::Value as Json;

const REPOSITORY_NAME: StrRule = StrRule {
    expected: "2 to 256 lowercase letters, digits and ._-/ (namespaces with /)",
    check: |s| {
        (2..=256).contains(&s.len())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c))
    },
};

const LIFECYCLE_POLICY: StrRule = StrRule {
    expected: "an ECR lifecycle policy in JSON (an object with rules)",
    check: |s| serde_json::from_str::<Json>(s).is_ok_and(|d| d.get("rules").is_some_and(Json::is_array)),
};

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EcrRepositorySpec {
    /// Its name in the registry (`mentor-match-web`).
    #[field(shape = string(REPOSITORY_NAME), create_only, tf = "name")]
    pub repository_name: String,
    /// Whether a pushed tag may move to another image (MUTABLE, as AWS makes a repository).
    #[serde(default = "mutable")]
    #[field(shape = Shape::Enum(&["MUTABLE", "IMMUTABLE"]), tf = "image_tag_mutability")]
    pub image_tag_mutability: String,
    /// Whether each pushed image is scanned (off, as AWS makes a repository).
    #[serde(default)]
    pub scan_on_push: bool,
    /// How images are encrypted at rest (AWS's AES256 unless the spec says).
    #[field(create_only)]
    pub encryption: Option<Encryption>,
    /// Which images expire: an ECR lifecycle policy in JSON, compared as a document.
    #[field(shape = string(LIFECYCLE_POLICY))]
    pub lifecycle_policy: Option<String>,
    /// Who else may pull or push: an IAM policy document in JSON.
    #[field(shape = string(POLICY_DOCUMENT))]
    pub repository_policy: Option<String>,
}

/// Encryption at rest: AES256, or KMS with a key (AWS's managed key when none is named).
#[derive(Declared, Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Encryption {
    #[field(shape = Shape::Enum(&["AES256", "KMS"]))]
    pub encryption_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EcrRepositoryOutputs {
    #[field(tf = "repository_url", doc = "where images are pushed and pulled (`<registry>/<name>`)")]
    pub repository_uri: String,
    #[field(tf = "arn", doc = "its ARN")]
    pub arn: String,
}

pub struct EcrRepository;
pub static ADAPTER: Typed<EcrRepository> = Typed::new(EcrRepository);

#[async_trait::async_trait]
impl TypedKind for EcrRepository {
    type Spec = EcrRepositorySpec;
    type View = Self::Spec;
    type Outputs = EcrRepositoryOutputs;
    type Memo = ();
    type Facts = ();
    const RETAIN_BY_DEFAULT: bool = true;
    const TERRAFORM: Option<(&'static str, &'static str)> = Some(("aws_ecr_repository", "name"));
    const TAGGED: TagsAt = Some(|arn| Tagged::Ecr(arn));
    const ACTIONS: &'static [&'static str] = crate::actions!("ecr": DescribeRepositories, ListTagsForResource,
        GetLifecyclePolicy, GetRepositoryPolicy, CreateRepository, PutImageTagMutability,
        PutImageScanningConfiguration, PutLifecyclePolicy, SetRepositoryPolicy, DeleteRepository, TagResource,
        UntagResource);

    /// A repository policy that lets a new principal in, or allows `*`, is critical.
    fn critical(field: &str, desired: &Json, actual: &Json) -> bool {
        field == "repositoryPolicy" && actual.as_str().is_some_and(|actual| lets_more_in(desired.as_str(), actual))
    }

    fn compared(mut spec: EcrRepositorySpec, _desired: &Desired) -> EcrRepositorySpec {
        spec.lifecycle_policy = spec.lifecycle_policy.map(|p| canonical_json(&p).unwrap_or(p));
        spec.repository_policy = spec.repository_policy.map(|p| policy_as_compared(&p));
        spec
    }

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let listing = cx.clients.ecr.describe_repositories().into_paginator().items().send();
        let repositories: Result<Vec<_>, _> = listing.collect().await;
        let mut out = Vec::new();
        for r in repositories.map_err(aws("DescribeRepositories"))? {
            let Some(want) = wanted.iter().find(|w| r.repository_name() == Some(&w.spec.repository_name)) else {
                continue;
            };
            let (name, arn) = (want.spec.repository_name.as_str(), r.repository_arn().unwrap_or_default());
            let encryption = r.encryption_configuration().map(|e| Encryption {
                encryption_type: e.encryption_type().as_str().to_string(),
                kms_key: e.kms_key().map(str::to_string),
            });
            let config = EcrRepositorySpec {
                repository_name: name.to_string(),
                image_tag_mutability: r.image_tag_mutability().map_or("MUTABLE", |m| m.as_str()).to_string(),
                scan_on_push: r.image_scanning_configuration().is_some_and(|s| s.scan_on_push()),
                encryption,
                lifecycle_policy: match want.spec.lifecycle_policy {
                    Some(_) => lifecycle_policy(cx, name).await?,
                    None => None,
                },
                repository_policy: match want.spec.repository_policy {
                    Some(_) => repository_policy(cx, name).await?,
                    None => None,
                },
            };
            let tags = ecr_tags(cx, arn).await?;
            let outputs =
                EcrRepositoryOutputs { repository_uri: r.repository_uri().unwrap_or_default().into(), arn: arn.into() };
            out.push((want.key().clone(), Seen::new(arn.to_string(), ObjectState::Ready, config, tags, outputs)));
        }
        Ok(out)
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        let spec = &want.spec;
        let request = cx.clients.ecr.create_repository().repository_name(&spec.repository_name);
        let request = request.image_tag_mutability(ImageTagMutability::from(spec.image_tag_mutability.as_str()));
        let request = request.image_scanning_configuration(scanning(spec.scan_on_push));
        let request = request.set_encryption_configuration(spec.encryption.as_ref().map(encryption).transpose()?);
        let request = request.set_tags(Some(ecr_tag_list(&want.desired.tags)?));
        cx.may_mutate().await?;
        // Made before a crash, it is found by name next pass, and its policies follow as drift.
        unless(request.send().await.map_err(aws("CreateRepository")), &["RepositoryAlreadyExistsException"])?;
        let none = EcrRepositorySpec { lifecycle_policy: None, repository_policy: None, ..spec.clone() };
        set_policies(cx, spec, &none).await
    }

    async fn update(&self, cx: &Cx<'_>, want: &Want<'_, Self>, seen: &Seen<Self>, _: &[Drift]) -> Memo<Self> {
        let (spec, have, name) = (&want.spec, &seen.config, want.spec.repository_name.as_str());
        if spec.image_tag_mutability != have.image_tag_mutability {
            let request = cx.clients.ecr.put_image_tag_mutability().repository_name(name);
            let request = request.image_tag_mutability(ImageTagMutability::from(spec.image_tag_mutability.as_str()));
            cx.may_mutate().await?;
            request.send().await.map_err(aws("PutImageTagMutability"))?;
        }
        if spec.scan_on_push != have.scan_on_push {
            let request = cx.clients.ecr.put_image_scanning_configuration().repository_name(name);
            cx.may_mutate().await?;
            let request = request.image_scanning_configuration(scanning(spec.scan_on_push));
            request.send().await.map_err(aws("PutImageScanningConfiguration"))?;
        }
        set_policies(cx, spec, have).await
    }

    /// Never while it holds images: it waits, and says so (no `force`).
    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        let name = &seen.config.repository_name;
        cx.may_mutate().await?;
        let deleted = cx.clients.ecr.delete_repository().repository_name(name).send().await;
        match unless(deleted.map_err(aws("DeleteRepository")), &["RepositoryNotFoundException"]) {
            Err(e) if e.is_code(&["RepositoryNotEmptyException"]) => {
                let why = format!("waiting: repository {name} still holds images (delete them to let it go)");
                Err(AwsError::unexpected("DeleteRepository", why).into())
            }
            other => other.map(drop),
        }
    }
}

/// Puts each policy the spec gives and `have` lacks or holds otherwise (documents compared as
/// documents). A policy the spec leaves out is AWS's and is left alone.
async fn set_policies(cx: &Cx<'_>, spec: &EcrRepositorySpec, have: &EcrRepositorySpec) -> Result<(), ReconcileError> {
    let name = &spec.repository_name;
    if let Some(policy) = &spec.lifecycle_policy
        && have.lifecycle_policy != canonical_json(policy)
    {
        let request = cx.clients.ecr.put_lifecycle_policy().repository_name(name).lifecycle_policy_text(policy);
        cx.may_mutate().await?;
        request.send().await.map_err(aws("PutLifecyclePolicy"))?;
    }
    if let Some(policy) = &spec.repository_policy
        && have.repository_policy.as_deref() != Some(&policy_as_compared(policy))
    {
        let request = cx.clients.ecr.set_repository_policy().repository_name(name).policy_text(policy);
        cx.may_mutate().await?;
        request.send().await.map_err(aws("SetRepositoryPolicy"))?;
    }
    Ok(())
}

async fn lifecycle_policy(cx: &Cx<'_>, name: &str) -> Result<Option<String>, ReconcileError> {
    let read = cx.clients.ecr.get_lifecycle_policy().repository_name(name).send().await;
    let read = unless(read.map_err(aws("GetLifecyclePolicy")), &["LifecyclePolicyNotFoundException"])?;
    Ok(read.and_then(|r| r.lifecycle_policy_text).map(|p| canonical_json(&p).unwrap_or(p)))
}

async fn repository_policy(cx: &Cx<'_>, name: &str) -> Result<Option<String>, ReconcileError> {
    let read = cx.clients.ecr.get_repository_policy().repository_name(name).send().await;
    let read = unless(read.map_err(aws("GetRepositoryPolicy")), &["RepositoryPolicyNotFoundException"])?;
    Ok(read.and_then(|r| r.policy_text).map(|p| policy_as_compared(&p)))
}

async fn ecr_tags(cx: &Cx<'_>, arn: &str) -> Result<BTreeMap<String, String>, ReconcileError> {
    cached_tags(cx, arn.to_string(), async {
        let read = cx.clients.ecr.list_tags_for_resource().resource_arn(arn).send().await;
        let tags = read.map_err(aws("ListTagsForResource"))?;
        Ok(tags.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
    })
    .await
}

fn scanning(on_push: bool) -> ImageScanningConfiguration {
    ImageScanningConfiguration::builder().scan_on_push(on_push).build()
}

fn encryption(e: &Encryption) -> Result<EncryptionConfiguration, ReconcileError> {
    let built = EncryptionConfiguration::builder().encryption_type(EncryptionType::from(e.encryption_type.as_str()));
    built.set_kms_key(e.kms_key.clone()).build().map_err(build_error)
}

fn mutable() -> String {
    "MUTABLE".into()
}
