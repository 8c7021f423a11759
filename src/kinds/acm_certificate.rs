//! AcmCertificate: a public certificate for a custom domain, validated through DNS (a
//! Route53Record writes its validation records). The first step of a custom domain on an ECS
//! Express service: AWS documents it as steps outside Express Mode.
//!
//! One ListCertificates a pass finds the certificate by domain (ownership by tags, kept by ARN).
//! It is described only while it is not issued (its validation records and status move then);
//! an issued certificate is described once.

use super::apprunner_custom_domain::DOMAIN;
use super::tagging::{acm_tag_list, acm_tags};
use super::typed::prelude::*;
use super::values::{ValidationRecord, client_token, validation_records_output};
use crate::model::tags::owns;
use aws_sdk_acm::types::{CertificateStatus, ValidationMethod};

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcmCertificateSpec {
    /// The domain it is for (compared in lower case, as DNS names are).
    #[serde(deserialize_with = "super::values::lower_case")]
    #[field(shape = string(DOMAIN), create_only)]
    pub domain: String,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AcmCertificateOutputs {
    /// What attaches the certificate waits for it to be issued (AWS refuses a pending one).
    #[field(doc = "its ARN, once it is issued")]
    pub arn: Option<String>,
    #[field(doc = "the DNS records that validate it, for a Route53Record")]
    pub validation_records: Option<String>,
}

pub struct AcmCertificate;
pub static ADAPTER: Typed<AcmCertificate> = Typed::new(AcmCertificate);

#[async_trait::async_trait]
impl TypedKind for AcmCertificate {
    type Spec = AcmCertificateSpec;
    type View = Self::Spec;
    type Outputs = AcmCertificateOutputs;
    type Memo = ();
    type Facts = ();
    const TAGGED: TagsAt = Some(|arn| Tagged::Acm(arn));
    const ACTIONS: &'static [&'static str] = crate::actions!("acm": ListCertificates, DescribeCertificate,
        ListTagsForCertificate, RequestCertificate, AddTagsToCertificate, RemoveTagsFromCertificate, DeleteCertificate);

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let listing = cx.clients.acm.list_certificates().set_certificate_statuses(Some(STATUSES.to_vec()));
        let summaries: Result<Vec<_>, _> = listing.into_paginator().items().send().collect().await;
        let summaries = summaries.map_err(aws("ListCertificates"))?;
        let mut out = Vec::new();
        for want in wanted {
            // Steward's own certificate of the domain, else another one (reported, never touched).
            let mut found: Option<(String, String, BTreeMap<String, String>)> = None;
            let of_domain =
                summaries.iter().filter(|s| s.domain_name().is_some_and(|n| n.eq_ignore_ascii_case(&want.spec.domain)));
            for s in of_domain {
                let arn = s.certificate_arn().unwrap_or_default().to_string();
                let tags = acm_tags(cx, &arn).await?;
                let status = s.status().map(|s| s.as_str().to_string()).unwrap_or_default();
                let mine = owns(&tags, want.key());
                if mine || found.is_none() {
                    found = Some((arn, status, tags));
                }
                if mine {
                    break;
                }
            }
            let Some((arn, listed, tags)) = found else { continue };
            let (status, records) = described(cx, &arn, &listed).await?;
            let state = match status.as_str() {
                "ISSUED" => ObjectState::Ready,
                "PENDING_VALIDATION" => ObjectState::Busy("waiting for the certificate validation DNS records".into()),
                other => ObjectState::Failed(other.to_string()),
            };
            let outputs = AcmCertificateOutputs {
                arn: (status == "ISSUED").then(|| arn.clone()),
                validation_records: validation_records_output(&records),
            };
            let config = AcmCertificateSpec { domain: want.spec.domain.clone() };
            out.push((want.key().clone(), Seen::new(arn, state, config, tags, outputs)));
        }
        Ok(out)
    }

    /// A pending certificate's validation records are what it waits for: their Route53Record may
    /// be written then.
    fn ready_for_dependents(seen: &Seen<Self>) -> bool {
        matches!(seen.state, ObjectState::Ready | ObjectState::Busy(_))
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        // The token makes a retried request (an answer lost) return the same certificate; ACM
        // takes at most 32 characters.
        let request = cx.clients.acm.request_certificate().domain_name(&want.spec.domain);
        let request = request.validation_method(ValidationMethod::Dns).idempotency_token(client_token(want.desired));
        let request = request.set_tags(Some(acm_tag_list(&want.desired.tags)?));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("RequestCertificate"))?;
        Ok(())
    }

    /// Only tags change in place, and the engine sets those; the domain is a replacement.
    async fn update(&self, _: &Cx<'_>, _: &Want<'_, Self>, _: &Seen<Self>, _: &[Drift]) -> Memo<Self> {
        Ok(())
    }

    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        cx.clients.acm.delete_certificate().certificate_arn(&seen.id).send().await.map_err(aws("DeleteCertificate"))?;
        Ok(())
    }
}

/// Every status ListCertificates can filter on: without the filter AWS lists only some.
const STATUSES: [CertificateStatus; 7] = [
    CertificateStatus::PendingValidation,
    CertificateStatus::Issued,
    CertificateStatus::Inactive,
    CertificateStatus::Expired,
    CertificateStatus::ValidationTimedOut,
    CertificateStatus::Revoked,
    CertificateStatus::Failed,
];

/// A certificate's status and validation records, described (kept once it is issued).
async fn described(
    cx: &Cx<'_>,
    arn: &str,
    listed_status: &str,
) -> Result<(String, Vec<ValidationRecord>), ReconcileError> {
    let key = format!("acm#{arn}");
    let kept = cx.cache.details.lock().unwrap().get(&key).cloned();
    if listed_status == "ISSUED"
        && let Some((status, records)) = kept.filter(|(s, _)| s == "ISSUED")
        && let Ok(records) = serde_json::from_value(records)
    {
        return Ok((status, records));
    }
    let out =
        cx.clients.acm.describe_certificate().certificate_arn(arn).send().await.map_err(aws("DescribeCertificate"))?;
    let Some(c) = out.certificate() else { return Ok((listed_status.to_string(), Vec::new())) };
    let status = c.status().map_or(listed_status, |s| s.as_str()).to_string();
    let records: Vec<ValidationRecord> = c
        .domain_validation_options()
        .iter()
        .filter_map(|o| o.resource_record())
        .map(|r| ValidationRecord {
            name: r.name().into(),
            r#type: Some(r.r#type().as_str().into()),
            value: r.value().into(),
        })
        .collect();
    let kept = serde_json::to_value(&records).unwrap_or_default();
    cx.cache.details.lock().unwrap().insert(key, (status.clone(), kept));
    Ok((status, records))
}
