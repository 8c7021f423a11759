//! Certificate validation through DNS, as App Runner does it: a custom domain stays
//! `pending_certificate_dns_validation` until every one of its validation CNAMEs is published.
//! The emulator looks them up in Route 53 where the standard `AWS_ENDPOINT_URL_ROUTE_53` or
//! `AWS_ENDPOINT_URL` variable of its own environment points (moto serves Route 53), so whoever
//! starts it beside moto needs nothing else. Without either variable no record is ever found and
//! domains wait, as they would on AWS with no DNS records.

use crate::state::Emulator;
use crate::upstream::{elements, endpoint_from_env, get};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the validator looks at waiting domains.
const EVERY: Duration = Duration::from_millis(200);

/// The Route 53 endpoint from the environment, as the AWS SDKs read it.
pub fn route53_endpoint() -> Option<String> {
    endpoint_from_env("ROUTE_53")
}

/// Runs for ever: finds the domains waiting for validation (or with a renewal due), looks their
/// records up, and tells App Runner's state what it found.
pub async fn validator(emu: Arc<Emulator>, endpoint: Option<String>) {
    loop {
        tokio::time::sleep(EVERY).await;
        let pending: Vec<(String, Vec<crate::apprunner::PendingValidation>)> = {
            let state = emu.state.lock().unwrap();
            let transition = state.transition;
            state
                .apprunner
                .iter()
                .map(|(region, ar)| (region.clone(), ar.pending_validations(Instant::now(), transition)))
                .filter(|(_, p)| !p.is_empty())
                .collect()
        };
        if pending.is_empty() {
            continue;
        }
        let Some(endpoint) = &endpoint else { continue };
        // One look at DNS per account serves its waiting domains; an unreachable Route 53
        // decides nothing.
        let mut published: BTreeMap<Option<String>, BTreeSet<(String, String)>> = BTreeMap::new();
        let mut callers: Vec<Option<String>> = Vec::new();
        for (_, domains) in &pending {
            for d in domains {
                callers.push(d.caller.clone());
            }
        }
        for caller in callers {
            if !published.contains_key(&caller)
                && let Ok(found) = cnames(endpoint, caller.as_deref()).await
            {
                published.insert(caller, found);
            }
        }
        let mut state = emu.state.lock().unwrap();
        for (region, domains) in pending {
            let Some(ar) = state.apprunner.get_mut(&region) else { continue };
            for d in domains {
                let Some(records) = published.get(&d.caller) else { continue };
                let found = d.records.iter().all(|r| records.contains(r));
                ar.validation_result(&d.service_arn, &d.domain, found, Instant::now());
            }
        }
    }
}

/// Every CNAME of every hosted zone of the caller's account, as (name, value) in lower case
/// without the trailing dot. Both lists are read to their last page: a zone of more than 300
/// record sets, and an account of more than 100 zones, are ordinary on AWS.
pub async fn cnames(endpoint: &str, caller: Option<&str>) -> Result<BTreeSet<(String, String)>, String> {
    let mut out = BTreeSet::new();
    for id in hosted_zones(endpoint, caller).await? {
        let mut next: Option<(String, String)> = None;
        loop {
            let mut path = format!("/2013-04-01/hostedzone/{id}/rrset?maxitems=300");
            if let Some((name, kind)) = &next {
                path.push_str(&format!("&name={}&type={kind}", query_value(name)));
            }
            let sets = get(endpoint, caller, "route53", "us-east-1", &path).await?;
            for set in elements(&sets, "ResourceRecordSet") {
                if elements(set, "Type").first() != Some(&"CNAME") {
                    continue;
                }
                let Some(name) = elements(set, "Name").first().map(|n| bare(n)) else { continue };
                for value in elements(set, "Value") {
                    out.insert((name.clone(), bare(value)));
                }
            }
            let (names, kinds) = (elements(&sets, "NextRecordName"), elements(&sets, "NextRecordType"));
            match (truncated(&sets), names.first(), kinds.first()) {
                (true, Some(name), Some(kind)) => next = Some((name.to_string(), kind.to_string())),
                _ => break,
            }
        }
    }
    Ok(out)
}

/// The ids of every hosted zone of the caller's account, page by page (`marker`).
async fn hosted_zones(endpoint: &str, caller: Option<&str>) -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut path = "/2013-04-01/hostedzone?maxitems=100".to_string();
        if let Some(m) = &marker {
            path.push_str(&format!("&marker={}", query_value(m)));
        }
        let zones = get(endpoint, caller, "route53", "us-east-1", &path).await?;
        for zone in elements(&zones, "HostedZone") {
            if let Some(id) = elements(zone, "Id").first() {
                ids.push(id.trim_start_matches("/hostedzone/").to_string());
            }
        }
        let markers = elements(&zones, "NextMarker");
        match (truncated(&zones), markers.first()) {
            (true, Some(m)) => marker = Some(m.to_string()),
            _ => return Ok(ids),
        }
    }
}

/// Whether a Route 53 list answer has more pages (its top-level `IsTruncated`).
fn truncated(xml: &str) -> bool {
    elements(xml, "IsTruncated").first().is_some_and(|t| t.trim() == "true")
}

/// A query-string value: letters, digits and `-_.~` as they are, every other byte escaped.
fn query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn bare(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_compared_bare() {
        assert_eq!(bare("X.Example.COM."), "x.example.com");
    }

    #[test]
    fn pages_are_told_by_is_truncated_and_names_are_escaped() {
        assert!(truncated(
            "<ListResourceRecordSetsResponse><IsTruncated>true</IsTruncated></ListResourceRecordSetsResponse>"
        ));
        assert!(!truncated("<ListHostedZonesResponse><IsTruncated>false</IsTruncated></ListHostedZonesResponse>"));
        assert_eq!(query_value("_a1b.mmweb.example.com."), "_a1b.mmweb.example.com.");
        assert_eq!(query_value("*.x y"), "%2A.x%20y");
    }
}
