//! AppRunnerCustomDomain: a custom domain associated with an App Runner service.
//!
//! Custom domain associations carry no tags: they belong to a service, and steward reaches them
//! only through services it owns (the reference makes the domain wait until the service is ready).

use super::typed::prelude::*;
use super::values::{ValidationRecord, status_text, validation_records_output};
use aws_sdk_apprunner::types::CustomDomain as Association;

pub const DOMAIN: StrRule = StrRule {
    expected: "a domain name such as app.example.com",
    check: |s| {
        (3..=255).contains(&s.len())
            && s.contains('.')
            && s.split('.').all(|l| {
                (1..=63).contains(&l.len()) && l.chars().all(name_char("-")) && !l.starts_with('-') && !l.ends_with('-')
            })
    },
};

/// A custom domain's outputs: its DNS target, and its certificate validation records as JSON.
/// The records appear a little after the association: until then that output is missing, and
/// what refers to it waits. `steward import` writes references to these same values.
pub fn domain_outputs(dns_target: &str, domain: &Association) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::from([("dnsTarget".to_string(), dns_target.to_string())]);
    outputs.extend(validation_records(domain).map(|records| ("validationRecords".to_string(), records)));
    outputs
}

fn validation_records(domain: &Association) -> Option<String> {
    let records = domain.certificate_validation_records().iter();
    let records: Vec<ValidationRecord> = records
        .map(|r| ValidationRecord {
            name: r.name().unwrap_or_default().into(),
            r#type: r.r#type().map(str::to_string),
            value: r.value().unwrap_or_default().into(),
        })
        .collect();
    validation_records_output(&records)
}

#[derive(Declared, Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomDomainSpec {
    #[field(shape = any_string(), create_only, doc = "The service's ARN (a reference).")]
    pub service: String,
    #[field(shape = string(DOMAIN), create_only, doc = "The domain.")]
    pub domain: String,
    /// Whether www.<domain> is associated too (only a new association changes it).
    #[serde(default)]
    #[field(create_only)]
    pub enable_www: bool,
}

#[derive(Declared, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomDomainOutputs {
    #[field(doc = "the name the domain's CNAME points at")]
    pub dns_target: String,
    #[field(doc = "the certificate's validation records, once App Runner has them")]
    pub validation_records: Option<String>,
}

pub struct CustomDomain;
pub static ADAPTER: Typed<CustomDomain> = Typed::new(CustomDomain);

#[async_trait::async_trait]
impl TypedKind for CustomDomain {
    type Spec = CustomDomainSpec;
    type View = Self::Spec;
    type Outputs = CustomDomainOutputs;
    type Memo = ();
    type Facts = ();
    const TAGGED: TagsAt = None;
    const ACTIONS: &'static [&'static str] =
        crate::actions!("apprunner": DescribeCustomDomains, AssociateCustomDomain, DisassociateCustomDomain);

    async fn observe(&self, cx: &Cx<'_>, wanted: &[Want<'_, Self>]) -> Observation<Self> {
        let services: BTreeSet<&str> = wanted.iter().map(|w| w.spec.service.as_str()).collect();
        let mut out = Vec::new();
        for service in services {
            let mut pages = cx.clients.apprunner.describe_custom_domains().service_arn(service).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = match page {
                    Ok(p) => p,
                    Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => break,
                    Err(e) => return Err(aws("DescribeCustomDomains")(e).into()),
                };
                for domain in page.custom_domains() {
                    let mine = |w: &&Want<Self>| w.spec.service == service && w.spec.domain == domain.domain_name();
                    let Some(want) = wanted.iter().find(mine) else { continue };
                    // AWS answers in lower case (`active`), its model in upper case: compare as text.
                    let state = match status_text(domain.status().as_str()).as_str() {
                        "active" => ObjectState::Ready,
                        "deleting" => continue,
                        failed @ ("create_failed" | "delete_failed") => ObjectState::Failed(failed.into()),
                        "pending_certificate_dns_validation" => ObjectState::Busy(WAITING_FOR_RECORDS.into()),
                        other => ObjectState::Busy(other.to_string()),
                    };
                    let config = CustomDomainSpec {
                        service: service.into(),
                        domain: domain.domain_name().into(),
                        enable_www: domain.enable_www_subdomain(),
                    };
                    let outputs = CustomDomainOutputs {
                        dns_target: page.dns_target().into(),
                        validation_records: validation_records(domain),
                    };
                    let id = domain.domain_name().to_string();
                    out.push((want.key().clone(), Seen::new(id, state, config, BTreeMap::new(), outputs)));
                }
            }
        }
        Ok(out)
    }

    /// A domain waiting for its validation records lets the Route53Record that writes them go ahead.
    fn ready_for_dependents(seen: &Seen<Self>) -> bool {
        seen.state == ObjectState::Ready || seen.state == ObjectState::Busy(WAITING_FOR_RECORDS.into())
    }

    async fn create(&self, cx: &Cx<'_>, want: &Want<'_, Self>) -> Memo<Self> {
        cx.may_mutate().await?;
        let request = cx.clients.apprunner.associate_custom_domain().service_arn(&want.spec.service);
        let request = request.domain_name(&want.spec.domain).enable_www_subdomain(want.spec.enable_www);
        request.send().await.map_err(aws("AssociateCustomDomain"))?;
        Ok(())
    }

    /// Only a new association changes enableWww: disassociate now, associate next pass.
    async fn update(&self, cx: &Cx<'_>, _: &Want<'_, Self>, seen: &Seen<Self>, _: &[Drift]) -> Memo<Self> {
        self.delete(cx, seen).await
    }

    async fn delete(&self, cx: &Cx<'_>, seen: &Seen<Self>) -> Result<(), ReconcileError> {
        cx.may_mutate().await?;
        let request = cx.clients.apprunner.disassociate_custom_domain().service_arn(&seen.config.service);
        request.domain_name(&seen.id).send().await.map_err(aws("DisassociateCustomDomain"))?;
        Ok(())
    }
}

const WAITING_FOR_RECORDS: &str = "waiting for the certificate validation DNS records";
