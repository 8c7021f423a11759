//! AppRunnerCustomDomain: a custom domain associated with an App Runner service.

use super::definition::{GENERIC_NAME, KindDef};
use crate::schema::*;

pub const DOMAIN: StrRule = StrRule {
    expected: "a domain name such as app.example.com",
    check: |s| {
        (3..=255).contains(&s.len())
            && s.contains('.')
            && s.split('.').all(|l| {
                (1..=63).contains(&l.len())
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            })
    },
};

/// The AWS actions its calls need (checked against the controller's policy).
pub const ACTIONS: &[&str] =
    &["apprunner:DescribeCustomDomains", "apprunner:AssociateCustomDomain", "apprunner:DisassociateCustomDomain"];

pub fn definition() -> KindDef {
    KindDef {
        fields: vec![req("service", any_string()), req("domain", string(DOMAIN)), opt("enableWww", Shape::Bool)],
        outputs: vec!["dnsTarget", "validationRecords"],
        retain_by_default: false,
        name_rule: GENERIC_NAME,
        check: super::definition::no_extra_checks,
        actions: ACTIONS,
        terraform: None,
        field_table: None,
    }
}

// ---- adapter ----
//
// Custom domain associations carry no tags: they belong to a service, and steward reaches them
// only through services it owns (the reference makes the domain wait until the service is ready).

use super::values::status_text;
use crate::aws::aws;
use crate::model::ResourceKey;
use crate::model::{Adapter, Cx, Desired, Drift, Fix, ObjectState, Observed, ReconcileError};
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};

/// A custom domain's outputs: its DNS target, and its certificate validation records as JSON.
/// The records appear a little after the association: until then that output is missing, and
/// what refers to it waits. `steward import` writes references to these same values.
pub fn domain_outputs(dns_target: &str, domain: &aws_sdk_apprunner::types::CustomDomain) -> BTreeMap<String, String> {
    let records: Vec<Json> = domain
        .certificate_validation_records()
        .iter()
        .map(|r| json!({ "name": r.name(), "type": r.r#type(), "value": r.value() }))
        .collect();
    let mut outputs = BTreeMap::from([("dnsTarget".to_string(), dns_target.to_string())]);
    if !records.is_empty() {
        outputs.insert("validationRecords".to_string(), Json::from(records).to_string());
    }
    outputs
}

pub struct CustomDomainAdapter;

/// The spec an AppRunnerCustomDomain's adapter reads.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomDomainSpec {
    /// The service's ARN (a reference, resolved).
    pub service: String,
    pub domain: String,
    #[serde(default)]
    pub enable_www: bool,
}

#[async_trait::async_trait]
impl Adapter for CustomDomainAdapter {
    async fn observe(
        &self,
        cx: &Cx<'_>,
        wanted: &[Desired],
    ) -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError> {
        let specs: Vec<(&Desired, CustomDomainSpec)> =
            wanted.iter().map(|d| Ok((d, d.spec_as()?))).collect::<Result<_, ReconcileError>>()?;
        let services: BTreeSet<&str> = specs.iter().map(|(_, s)| s.service.as_str()).collect();
        let mut out = BTreeMap::new();
        for service in services {
            let mut pages = cx.clients.apprunner.describe_custom_domains().service_arn(service).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = match page {
                    Ok(p) => p,
                    Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => break,
                    Err(e) => return Err(aws("DescribeCustomDomains")(e).into()),
                };
                for domain in page.custom_domains() {
                    let Some((d, _)) =
                        specs.iter().find(|(_, s)| s.service == service && s.domain == domain.domain_name())
                    else {
                        continue;
                    };
                    // AWS answers in lower case (`active`), its model in upper case: compare as text.
                    let status = status_text(domain.status().as_str());
                    let phase = match status.as_str() {
                        "active" => ObjectState::Ready,
                        "deleting" => continue,
                        "create_failed" | "delete_failed" => ObjectState::Failed(status.clone()),
                        "pending_certificate_dns_validation" => {
                            ObjectState::Busy("waiting for the certificate validation DNS records".into())
                        }
                        other => ObjectState::Busy(other.to_string()),
                    };
                    let outputs = domain_outputs(page.dns_target(), domain);
                    let config = json!({ "enableWww": domain.enable_www_subdomain() });
                    out.insert(
                        d.key.clone(),
                        Observed {
                            id: domain.domain_name().to_string(),
                            owned: true,
                            state: phase,
                            config,
                            outputs,
                            extra: json!({ "service": service, "status": status }),
                        },
                    );
                }
            }
        }
        Ok(out)
    }

    fn desired_view(&self, d: &Desired) -> Result<Json, ReconcileError> {
        Ok(json!({ "enableWww": d.spec_as::<CustomDomainSpec>()?.enable_www }))
    }

    fn fix_for(&self, _field: &str) -> Fix {
        Fix::Replace
    }

    /// A domain waiting for its validation records lets the Route53Record that writes them go ahead.
    fn ready_for_dependents(&self, o: &Observed) -> bool {
        o.state == ObjectState::Ready || o.extra["status"] == "pending_certificate_dns_validation"
    }

    async fn create(&self, cx: &Cx<'_>, d: &Desired) -> Result<Json, ReconcileError> {
        let spec: CustomDomainSpec = d.spec_as()?;
        cx.may_mutate().await?;
        cx.clients
            .apprunner
            .associate_custom_domain()
            .service_arn(spec.service)
            .domain_name(spec.domain)
            .enable_www_subdomain(spec.enable_www)
            .send()
            .await
            .map_err(aws("AssociateCustomDomain"))?;
        Ok(Json::Null)
    }

    async fn update(&self, cx: &Cx<'_>, _d: &Desired, o: &Observed, _drift: &[Drift]) -> Result<Json, ReconcileError> {
        // Only a new association changes enableWww: disassociate now, associate next pass.
        self.delete(cx, o).await.map(|()| Json::Null)
    }

    async fn delete(&self, cx: &Cx<'_>, o: &Observed) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        cx.clients
            .apprunner
            .disassociate_custom_domain()
            .service_arn(o.extra_str("service"))
            .domain_name(&o.id)
            .send()
            .await
            .map_err(aws("DisassociateCustomDomain"))?;
        Ok(())
    }

    async fn adopt(&self, _cx: &Cx<'_>, _d: &Desired, _o: &Observed) -> Result<(), ReconcileError> {
        Ok(())
    }
}
