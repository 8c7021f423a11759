//! Tags on AWS, by service: reading them (cached, since ownership rests on them) and setting
//! them (tag drift and adoption go through `retag`, never through a kind's update).

use crate::model::tags::Tagged;
use crate::model::{Cx, ReconcileError};
use std::collections::BTreeMap;

/// Reads a `(key, value)` tag list into a map.
pub(crate) fn tag_map<'a>(pairs: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>) -> BTreeMap<String, String> {
    pairs.map(|(k, v)| (k.unwrap_or_default().to_string(), v.unwrap_or_default().to_string())).collect()
}

/// Tags from the cache (if fetched since `cx.tags_fresh_since`), or from `fetch` (one ListTagsForResource call), remembered under `key`.
pub(crate) async fn cached_tags(
    cx: &Cx<'_>,
    key: String,
    fetch: impl std::future::Future<Output = Result<BTreeMap<String, String>, ReconcileError>>,
) -> Result<BTreeMap<String, String>, ReconcileError> {
    if let Some(tags) = cx.cache.tags(&key, cx.tags_fresh_since) {
        return Ok(tags);
    }
    let tags = fetch.await?;
    cx.cache.keep_tags(key, tags.clone());
    Ok(tags)
}

/// Tags read for an object that may be in transition, when AWS can refuse tag calls
/// (QUIRKS.md): a transient refusal gives the last tags kept under `key` and `true` (unknown),
/// so that the busy object is only waited on in this pass. Other errors, and any error for an
/// object not in transition, are returned.
pub(crate) fn tags_or_last_known(
    cx: &Cx<'_>,
    read: Result<BTreeMap<String, String>, ReconcileError>,
    key: &str,
    in_transition: bool,
) -> Result<(BTreeMap<String, String>, bool), ReconcileError> {
    match read {
        Ok(tags) => Ok((tags, false)),
        Err(e) if in_transition && e.class() == crate::aws::ErrorClass::Transient => {
            Ok((cx.cache.last_tags(key).unwrap_or_default(), true))
        }
        Err(e) => Err(e),
    }
}

/// The cache key of an ElastiCache resource's tags.
pub(crate) fn elasticache_tag_key(arn: &str, incarnation: &str) -> String {
    format!("{arn}#{incarnation}")
}

/// Tags of an ElastiCache resource. `incarnation` tells objects of the same ARN apart (a
/// cluster's create time); tags steward changes itself are written through the cache.
pub(crate) async fn elasticache_tags(
    cx: &Cx<'_>,
    arn: &str,
    incarnation: &str,
) -> Result<BTreeMap<String, String>, ReconcileError> {
    cached_tags(cx, elasticache_tag_key(arn, incarnation), async {
        let request = cx.clients.elasticache.list_tags_for_resource().resource_name(arn);
        let out = request.send().await.map_err(crate::aws::aws("ListTagsForResource"))?;
        Ok(tag_map(out.tag_list().iter().map(|t| (t.key(), t.value()))))
    })
    .await
}

pub(crate) fn ec2_tag_list(tags: &BTreeMap<String, String>) -> Vec<aws_sdk_ec2::types::Tag> {
    tags.iter().map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build()).collect()
}

pub(crate) fn elasticache_tag_list(tags: &BTreeMap<String, String>) -> Vec<aws_sdk_elasticache::types::Tag> {
    tags.iter().map(|(k, v)| aws_sdk_elasticache::types::Tag::builder().key(k).value(v).build()).collect()
}

/// Tags of an App Runner resource (its ARN is unique per incarnation).
pub(crate) async fn apprunner_tags(cx: &Cx<'_>, arn: &str) -> Result<BTreeMap<String, String>, ReconcileError> {
    cached_tags(cx, arn.to_string(), async {
        let request = cx.clients.apprunner.list_tags_for_resource().resource_arn(arn);
        let out = request.send().await.map_err(crate::aws::aws("ListTagsForResource"))?;
        Ok(tag_map(out.tags().iter().map(|t| (t.key(), t.value()))))
    })
    .await
}

pub(crate) fn apprunner_tag_list(tags: &BTreeMap<String, String>) -> Vec<aws_sdk_apprunner::types::Tag> {
    tags.iter().map(|(k, v)| aws_sdk_apprunner::types::Tag::builder().key(k).value(v).build()).collect()
}

/// Tags of an ACM certificate.
pub(crate) async fn acm_tags(cx: &Cx<'_>, arn: &str) -> Result<BTreeMap<String, String>, ReconcileError> {
    cached_tags(cx, arn.to_string(), async {
        let request = cx.clients.acm.list_tags_for_certificate().certificate_arn(arn);
        let out = request.send().await.map_err(crate::aws::aws("ListTagsForCertificate"))?;
        Ok(tag_map(out.tags().iter().map(|t| (Some(t.key()), t.value()))))
    })
    .await
}

pub(crate) fn acm_tag_list(tags: &BTreeMap<String, String>) -> Result<Vec<aws_sdk_acm::types::Tag>, ReconcileError> {
    let build = |(k, v): (&String, &String)| aws_sdk_acm::types::Tag::builder().key(k).value(v).build();
    tags.iter().map(build).collect::<Result<_, _>>().map_err(|e| ReconcileError::invalid_spec("tags", e))
}

/// Tags of Elastic Load Balancing objects (listener rules), one DescribeTags for those not
/// kept, by ARN.
pub(crate) async fn load_balancing_tags(
    cx: &Cx<'_>,
    arns: &[String],
) -> Result<BTreeMap<String, BTreeMap<String, String>>, ReconcileError> {
    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    for arn in arns {
        match cx.cache.tags(arn, cx.tags_fresh_since) {
            Some(tags) => {
                out.insert(arn.clone(), tags);
            }
            None => missing.push(arn.clone()),
        }
    }
    // DescribeTags takes at most 20 ARNs.
    for chunk in missing.chunks(20) {
        let request = cx.clients.elbv2.describe_tags().set_resource_arns(Some(chunk.to_vec()));
        let described = request.send().await.map_err(crate::aws::aws("DescribeTags"))?;
        for d in described.tag_descriptions() {
            let arn = d.resource_arn().unwrap_or_default().to_string();
            let tags = tag_map(d.tags().iter().map(|t| (t.key(), t.value())));
            cx.cache.keep_tags(arn.clone(), tags.clone());
            out.insert(arn, tags);
        }
    }
    Ok(out)
}

pub(crate) fn load_balancing_tag_list(
    tags: &BTreeMap<String, String>,
) -> Vec<aws_sdk_elasticloadbalancingv2::types::Tag> {
    tags.iter().map(|(k, v)| aws_sdk_elasticloadbalancingv2::types::Tag::builder().key(k).value(v).build()).collect()
}

/// Tags of a log group (by its ARN without `:*`).
pub(crate) async fn logs_tags(cx: &Cx<'_>, arn: &str) -> Result<BTreeMap<String, String>, ReconcileError> {
    cached_tags(cx, arn.to_string(), async {
        let request = cx.clients.logs.list_tags_for_resource().resource_arn(arn);
        let out = request.send().await.map_err(crate::aws::aws("ListTagsForResource"))?;
        Ok(out.tags().cloned().unwrap_or_default().into_iter().collect())
    })
    .await
}

/// Tags of an SQS queue (by URL).
pub(crate) async fn sqs_tags(cx: &Cx<'_>, url: &str) -> Result<BTreeMap<String, String>, ReconcileError> {
    cached_tags(cx, url.to_string(), async {
        let out =
            cx.clients.sqs.list_queue_tags().queue_url(url).send().await.map_err(crate::aws::aws("ListQueueTags"))?;
        Ok(out.tags().cloned().unwrap_or_default().into_iter().collect())
    })
    .await
}

pub(crate) fn ecs_tag_list(tags: &BTreeMap<String, String>) -> Vec<aws_sdk_ecs::types::Tag> {
    tags.iter().map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build()).collect()
}

/// Sets the tags `set` on an object and removes the keys `remove` (the engine calls it for drift
/// under `tags`, instead of the kind's update). Cached tags of the object are dropped.
pub async fn retag(
    cx: &Cx<'_>,
    target: Tagged<'_>,
    set: &BTreeMap<String, String>,
    remove: &[String],
) -> Result<(), ReconcileError> {
    use crate::aws::aws;
    let keys = || Some(remove.to_vec());
    cx.may_mutate().await?;
    match target {
        Tagged::Ec2(id) => {
            let request = cx.clients.ec2.create_tags().resources(id).set_tags(Some(ec2_tag_list(set)));
            request.send().await.map_err(aws("CreateTags"))?;
            if !remove.is_empty() {
                cx.may_mutate().await?;
                let gone = remove.iter().map(|k| aws_sdk_ec2::types::Tag::builder().key(k).build());
                let request = cx.clients.ec2.delete_tags().resources(id).set_tags(Some(gone.collect()));
                request.send().await.map_err(aws("DeleteTags"))?;
            }
        }
        Tagged::ElastiCache(arn) => {
            let request = cx.clients.elasticache.add_tags_to_resource().resource_name(arn);
            request.set_tags(Some(elasticache_tag_list(set))).send().await.map_err(aws("AddTagsToResource"))?;
            if !remove.is_empty() {
                cx.may_mutate().await?;
                let request =
                    cx.clients.elasticache.remove_tags_from_resource().resource_name(arn).set_tag_keys(keys());
                request.send().await.map_err(aws("RemoveTagsFromResource"))?;
            }
            cx.cache.forget_tags(&format!("{arn}#"));
        }
        Tagged::AppRunner(arn) => {
            let request = cx.clients.apprunner.tag_resource().resource_arn(arn);
            request.set_tags(Some(apprunner_tag_list(set))).send().await.map_err(aws("TagResource"))?;
            if !remove.is_empty() {
                cx.may_mutate().await?;
                let request = cx.clients.apprunner.untag_resource().resource_arn(arn).set_tag_keys(keys());
                request.send().await.map_err(aws("UntagResource"))?;
            }
            cx.cache.forget_tags(arn);
        }
        Tagged::Ecs(arn) => {
            let request = cx.clients.ecs.tag_resource().resource_arn(arn).set_tags(Some(ecs_tag_list(set)));
            request.send().await.map_err(aws("TagResource"))?;
            if !remove.is_empty() {
                cx.may_mutate().await?;
                let request = cx.clients.ecs.untag_resource().resource_arn(arn).set_tag_keys(keys());
                request.send().await.map_err(aws("UntagResource"))?;
            }
        }
        Tagged::Acm(arn) => {
            let request = cx.clients.acm.add_tags_to_certificate().certificate_arn(arn);
            request.set_tags(Some(acm_tag_list(set)?)).send().await.map_err(aws("AddTagsToCertificate"))?;
            if !remove.is_empty() {
                cx.may_mutate().await?;
                let gone: Result<Vec<_>, _> =
                    remove.iter().map(|k| aws_sdk_acm::types::Tag::builder().key(k).build()).collect();
                let gone = gone.map_err(|e| ReconcileError::invalid_spec("tags", e))?;
                let request = cx.clients.acm.remove_tags_from_certificate().certificate_arn(arn).set_tags(Some(gone));
                request.send().await.map_err(aws("RemoveTagsFromCertificate"))?;
            }
            cx.cache.forget_tags(arn);
        }
        Tagged::LoadBalancing(arn) => {
            let request = cx.clients.elbv2.add_tags().resource_arns(arn);
            request.set_tags(Some(load_balancing_tag_list(set))).send().await.map_err(aws("AddTags"))?;
            if !remove.is_empty() {
                cx.may_mutate().await?;
                let request = cx.clients.elbv2.remove_tags().resource_arns(arn).set_tag_keys(keys());
                request.send().await.map_err(aws("RemoveTags"))?;
            }
            cx.cache.forget_tags(arn);
        }
        Tagged::Logs(arn) => {
            let request =
                cx.clients.logs.tag_resource().resource_arn(arn).set_tags(Some(set.clone().into_iter().collect()));
            request.send().await.map_err(aws("TagResource"))?;
            if !remove.is_empty() {
                cx.may_mutate().await?;
                let request = cx.clients.logs.untag_resource().resource_arn(arn).set_tag_keys(keys());
                request.send().await.map_err(aws("UntagResource"))?;
            }
            cx.cache.forget_tags(arn);
        }
        Tagged::Sqs(url) => {
            let request = cx.clients.sqs.tag_queue().queue_url(url).set_tags(Some(set.clone().into_iter().collect()));
            request.send().await.map_err(aws("TagQueue"))?;
            if !remove.is_empty() {
                cx.may_mutate().await?;
                let request = cx.clients.sqs.untag_queue().queue_url(url).set_tag_keys(keys());
                request.send().await.map_err(aws("UntagQueue"))?;
            }
            cx.cache.forget_tags(url);
        }
        Tagged::IamRole(_) | Tagged::IamPolicy(_) => super::iam::retag(cx, target, set, remove).await?,
        Tagged::Ecr(arn) => ecr_retag(cx, arn, set, remove).await?,
    }
    Ok(())
}

pub(crate) fn ecr_tag_list(tags: &BTreeMap<String, String>) -> Result<Vec<aws_sdk_ecr::types::Tag>, ReconcileError> {
    let tags = tags.iter().map(|(k, v)| aws_sdk_ecr::types::Tag::builder().key(k).value(v).build());
    tags.collect::<Result<_, _>>().map_err(super::typed::build_error)
}

/// Sets and removes tags on a repository (`retag` for ECR's objects).
async fn ecr_retag(
    cx: &Cx<'_>,
    arn: &str,
    set: &BTreeMap<String, String>,
    remove: &[String],
) -> Result<(), ReconcileError> {
    let request = cx.clients.ecr.tag_resource().resource_arn(arn).set_tags(Some(ecr_tag_list(set)?));
    request.send().await.map_err(crate::aws::aws("TagResource"))?;
    if !remove.is_empty() {
        cx.may_mutate().await?;
        let request = cx.clients.ecr.untag_resource().resource_arn(arn).set_tag_keys(Some(remove.to_vec()));
        request.send().await.map_err(crate::aws::aws("UntagResource"))?;
    }
    cx.cache.forget_tags(arn);
    Ok(())
}
