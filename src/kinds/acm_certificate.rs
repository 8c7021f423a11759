//! AcmCertificate: a public certificate for a custom domain, validated through DNS (a
//! Route53Record writes its validation records). The first step of a custom domain on an ECS
//! Express service: AWS documents it as steps outside Express Mode.

use super::apprunner_custom_domain::DOMAIN;
use super::definition::KindDef;
use crate::schema::*;

/// The AWS actions its calls need (checked against the controller's policy).
pub const ACTIONS: &[&str] = &[
    "acm:ListCertificates",
    "acm:DescribeCertificate",
    "acm:ListTagsForCertificate",
    "acm:RequestCertificate",
    "acm:AddTagsToCertificate",
    "acm:RemoveTagsFromCertificate",
    "acm:DeleteCertificate",
];

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![req("domain", string(DOMAIN)), opt("tags", tags())],
        outputs: vec!["arn", "validationRecords"],
        retain_by_default: false,
        name_rule: super::definition::GENERIC_NAME,
        check: super::definition::no_extra_checks,
        actions: ACTIONS,
        terraform: None,
    }
}

// ---- adapter ----
//
// One ListCertificates a pass finds the certificate by domain (ownership by tags, kept by ARN).
// It is described only while it is not issued (its validation records and status move then);
// an issued certificate is described once.

use super::tagging::{acm_tag_list, acm_tags};
use super::values::client_token;
use crate::aws::aws;
use crate::model::ResourceKey;
use crate::model::tags::{Tagged, owns, tag_view};
use crate::model::{Adapter, Cx, Desired, Drift, Fix, ObjectState, Observed, ReconcileError};
use aws_sdk_acm::types::{CertificateStatus, ValidationMethod};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

/// The spec an AcmCertificate's adapter reads.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcmCertificateSpec {
    pub domain: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

pub struct AcmCertificateAdapter;

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
async fn described(cx: &Cx<'_>, arn: &str, listed_status: &str) -> Result<(String, Json), ReconcileError> {
    let key = format!("acm#{arn}");
    if listed_status == "ISSUED"
        && let Some((status, records)) = cx.cache.details.lock().unwrap().get(&key).filter(|(s, _)| s == "ISSUED")
    {
        return Ok((status.clone(), records.clone()));
    }
    let out =
        cx.clients.acm.describe_certificate().certificate_arn(arn).send().await.map_err(aws("DescribeCertificate"))?;
    let Some(c) = out.certificate() else { return Ok((listed_status.to_string(), json!([]))) };
    let status = c.status().map_or(listed_status, |s| s.as_str()).to_string();
    let records: Vec<Json> = c
        .domain_validation_options()
        .iter()
        .filter_map(|o| o.resource_record())
        .map(|r| json!({ "name": r.name(), "type": r.r#type().as_str(), "value": r.value() }))
        .collect();
    let records = Json::from(records);
    cx.cache.details.lock().unwrap().insert(key, (status.clone(), records.clone()));
    Ok((status, records))
}

#[async_trait::async_trait]
impl Adapter for AcmCertificateAdapter {
    async fn observe(
        &self,
        cx: &Cx<'_>,
        wanted: &[Desired],
    ) -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError> {
        let mut summaries = Vec::new();
        let mut pages = cx
            .clients
            .acm
            .list_certificates()
            .set_certificate_statuses(Some(STATUSES.to_vec()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            summaries.extend(page.map_err(aws("ListCertificates"))?.certificate_summary_list().to_vec());
        }
        let mut out = BTreeMap::new();
        for d in wanted {
            let spec: AcmCertificateSpec = d.spec_as()?;
            // Steward's own certificate of the domain, else another one (reported, never touched).
            let mut found: Option<(String, String, BTreeMap<String, String>)> = None;
            for s in summaries.iter().filter(|s| s.domain_name().is_some_and(|n| n.eq_ignore_ascii_case(&spec.domain)))
            {
                let arn = s.certificate_arn().unwrap_or_default().to_string();
                let tags = acm_tags(cx, &arn).await?;
                let status = s.status().map(|s| s.as_str().to_string()).unwrap_or_default();
                let mine = owns(&tags, &d.key);
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
            let mut outputs = BTreeMap::new();
            // What attaches the certificate waits for it to be issued (AWS refuses a pending one).
            if status == "ISSUED" {
                outputs.insert("arn".to_string(), arn.clone());
            }
            if records.as_array().is_some_and(|r| !r.is_empty()) {
                outputs.insert("validationRecords".to_string(), records.to_string());
            }
            let config = json!({ "domain": spec.domain.to_ascii_lowercase(), "tags": tag_view(&tags) });
            let owned = owns(&tags, &d.key);
            out.insert(
                d.key.clone(),
                Observed { id: arn, owned, state, config, outputs, extra: json!({ "status": status }) },
            );
        }
        Ok(out)
    }

    fn desired_view(&self, d: &Desired) -> Result<Json, ReconcileError> {
        let spec: AcmCertificateSpec = d.spec_as()?;
        Ok(json!({ "domain": spec.domain.to_ascii_lowercase(), "tags": tag_view(&d.tags) }))
    }

    fn fix_for(&self, field: &str) -> Fix {
        // A certificate's domain is fixed at its request.
        if field == "domain" { Fix::Replace } else { Fix::InPlace }
    }

    /// The validation records are what a pending certificate waits for: their Route53Record
    /// may be written then.
    fn ready_for_dependents(&self, o: &Observed) -> bool {
        o.state == ObjectState::Ready || o.extra["status"] == "PENDING_VALIDATION"
    }

    async fn create(&self, cx: &Cx<'_>, d: &Desired) -> Result<Json, ReconcileError> {
        let spec: AcmCertificateSpec = d.spec_as()?;
        // The token makes a retried request (an answer lost) return the same certificate; ACM
        // takes at most 32 characters.
        let token = client_token(d);
        let request = cx
            .clients
            .acm
            .request_certificate()
            .domain_name(&spec.domain)
            .validation_method(ValidationMethod::Dns)
            .idempotency_token(token)
            .set_tags(Some(acm_tag_list(&d.tags)?));
        cx.may_mutate().await?;
        request.send().await.map_err(aws("RequestCertificate"))?;
        Ok(Json::Null)
    }

    async fn update(
        &self,
        _cx: &Cx<'_>,
        _d: &Desired,
        _o: &Observed,
        _drift: &[Drift],
    ) -> Result<Json, ReconcileError> {
        // Only tags change in place, and the engine sets those; the domain is a replacement.
        Ok(Json::Null)
    }

    async fn delete(&self, cx: &Cx<'_>, o: &Observed) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        cx.clients.acm.delete_certificate().certificate_arn(&o.id).send().await.map_err(aws("DeleteCertificate"))?;
        Ok(())
    }

    fn tagged<'a>(&self, o: &'a Observed) -> Option<Tagged<'a>> {
        Some(Tagged::Acm(&o.id))
    }
}
