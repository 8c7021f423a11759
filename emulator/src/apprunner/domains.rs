//! App Runner custom domains: association, the certificate validation records AWS asks for, and
//! their validation once those records are in the account's Route 53 zone (`dns.rs`).

use super::{
    AppRunner, Domain, PendingValidation, Service, invalid, invalid_state, lower_alnum, not_found, page, with_token,
};
use crate::api::{Call, OpResult, hex, text};
use serde_json::{Value as Json, json};
use std::time::Instant;

impl AppRunner {
    /// Domains whose records the DNS validator should look up now: those waiting for
    /// validation (once their records are shown), and active ones with a renewal due.
    pub fn pending_validations(&self, now: Instant, transition: std::time::Duration) -> Vec<PendingValidation> {
        let bare = |v: &Json| v.as_str().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase();
        let mut pending = Vec::new();
        for s in self.services.values() {
            for (name, d) in &s.domains {
                let shown = now.saturating_duration_since(d.created) >= transition;
                let waiting = d.validated_at.is_none() || d.renewal_due;
                if d.deleting_until.is_none() && !d.failed && shown && waiting {
                    pending.push(PendingValidation {
                        service_arn: s.json["ServiceArn"].as_str().unwrap_or_default().to_string(),
                        domain: name.clone(),
                        caller: d.caller.clone(),
                        records: d.records.iter().map(|r| (bare(&r["Name"]), bare(&r["Value"]))).collect(),
                    });
                }
            }
        }
        pending
    }

    /// The validator's finding for one domain: every record was in DNS, or not. A renewal that
    /// finds a record missing fails, and the domain waits for its records again.
    pub fn validation_result(&mut self, service_arn: &str, domain: &str, found: bool, now: Instant) {
        let Some(d) = self
            .services
            .values_mut()
            .find(|s| s.json["ServiceArn"] == service_arn)
            .and_then(|s| s.domains.get_mut(domain))
        else {
            return;
        };
        match (found, d.validated_at) {
            (true, None) => d.validated_at = Some(now),
            (false, Some(_)) => d.validated_at = None,
            _ => {}
        }
        d.renewal_due = false;
    }

    /// Asks for the renewal of every active domain's certificate (admin API).
    pub fn renew_certificates(&mut self) -> usize {
        let mut asked = 0;
        for d in self.services.values_mut().flat_map(|s| s.domains.values_mut()) {
            if d.validated_at.is_some() && d.deleting_until.is_none() {
                d.renewal_due = true;
                asked += 1;
            }
        }
        asked
    }

    pub(super) fn associate(&mut self, input: &Json, call: &Call) -> OpResult {
        let domain = text(input, "DomainName").unwrap_or_default().to_string();
        let www = input.get("EnableWWWSubdomain").and_then(Json::as_bool).unwrap_or(true);
        let failed = self.take_failure("AssociateCustomDomain", &domain);
        let service = self.service_mut(input)?;
        if service.status != "RUNNING" {
            return Err(invalid_state(format!(
                "The service is in {} state; custom domains need RUNNING.",
                service.status
            )));
        }
        if service.domains.get(&domain).is_some_and(|d| d.deleting_until.is_none()) {
            return Err(invalid(format!("Domain {domain} is already associated with the service.")));
        }
        let record = |name: &str| json!({ "Name": format!("_{}.{name}.", hex(32)), "Type": "CNAME", "Value": format!("_{}.{}.acm-validations.aws.", hex(32), lower_alnum(10)) });
        let mut records = vec![record(&domain)];
        if www {
            records.push(record(&format!("www.{domain}")));
        }
        let fresh = Domain {
            www,
            records,
            created: call.now,
            deleting_until: None,
            validated_at: None,
            renewal_due: false,
            caller: call.caller.clone(),
            failed,
        };
        service.domains.insert(domain.clone(), fresh);
        let shown = service.domain_json(&domain, call);
        Ok(
            json!({ "DNSTarget": service.dns_target(), "ServiceArn": service.json["ServiceArn"], "CustomDomain": shown, "VpcDNSTargets": [] }),
        )
    }

    pub(super) fn describe_domains(&self, input: &Json, call: &Call) -> OpResult {
        let service = self.service(input)?;
        let items: Vec<(String, Json)> =
            service.domains.keys().map(|d| (d.clone(), service.domain_json(d, call))).collect();
        let (domains, token) = page(items, input, 5);
        Ok(with_token(
            json!({ "DNSTarget": service.dns_target(), "ServiceArn": service.json["ServiceArn"], "CustomDomains": domains, "VpcDNSTargets": [] }),
            token,
        ))
    }

    pub(super) fn disassociate(&mut self, input: &Json, call: &Call) -> OpResult {
        let domain = text(input, "DomainName").unwrap_or_default().to_string();
        let service = self.service_mut(input)?;
        let d = service
            .domains
            .get_mut(&domain)
            .filter(|d| d.deleting_until.is_none())
            .ok_or_else(|| not_found(&format!("Custom domain {domain}")))?;
        d.deleting_until = Some(call.now + call.transition);
        let shown = service.domain_json(&domain, call);
        Ok(
            json!({ "DNSTarget": service.dns_target(), "ServiceArn": service.json["ServiceArn"], "CustomDomain": shown, "VpcDNSTargets": [] }),
        )
    }
}

impl Service {
    pub(super) fn dns_target(&self) -> Json {
        self.json["ServiceUrl"].clone()
    }

    /// A domain's state, as AWS shows it (in lower case, unlike the model's enum: see QUIRKS.md):
    /// `creating` with no validation records yet for one transition, then
    /// `pending_certificate_dns_validation` until the DNS validator has found every record in
    /// Route 53, then `binding_certificate` for one transition, then `active`.
    pub(super) fn domain_json(&self, name: &str, call: &Call) -> Json {
        let d = &self.domains[name];
        let elapsed = call.now.saturating_duration_since(d.created);
        let (status, record_status, shown) = if d.deleting_until.is_some() {
            ("deleting", "SUCCESS", true)
        } else if d.failed && elapsed >= call.transition {
            ("create_failed", "FAILED", true)
        } else if elapsed < call.transition {
            ("creating", "PENDING_VALIDATION", false)
        } else {
            match d.validated_at {
                None => ("pending_certificate_dns_validation", "PENDING_VALIDATION", true),
                Some(t) if call.now.saturating_duration_since(t) < call.transition => {
                    ("binding_certificate", "SUCCESS", true)
                }
                Some(_) => ("active", "SUCCESS", true),
            }
        };
        let records: Vec<Json> = d
            .records
            .iter()
            .filter(|_| shown)
            .map(|r| {
                let mut r = r.clone();
                r["Status"] = json!(record_status);
                r
            })
            .collect();
        json!({ "DomainName": name, "EnableWWWSubdomain": d.www, "CertificateValidationRecords": records, "Status": status })
    }
}
