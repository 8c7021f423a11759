//! Certificate validation through DNS, as App Runner does it: a custom domain stays
//! `pending_certificate_dns_validation` until every one of its validation CNAMEs is published.
//! The emulator looks them up in Route 53 where the standard `AWS_ENDPOINT_URL_ROUTE_53` or
//! `AWS_ENDPOINT_URL` variable of its own environment points (moto serves Route 53), so whoever
//! starts it beside moto needs nothing else. Without either variable no record is ever found and
//! domains wait, as they would on AWS with no DNS records.

use crate::server::Emulator;
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
/// without the trailing dot.
pub async fn cnames(endpoint: &str, caller: Option<&str>) -> Result<BTreeSet<(String, String)>, String> {
    let zones = get(endpoint, caller, "route53", "us-east-1", "/2013-04-01/hostedzone?maxitems=100").await?;
    let mut out = BTreeSet::new();
    for zone in elements(&zones, "HostedZone") {
        let Some(id) = elements(zone, "Id").first().copied() else { continue };
        let id = id.trim_start_matches("/hostedzone/");
        let sets =
            get(endpoint, caller, "route53", "us-east-1", &format!("/2013-04-01/hostedzone/{id}/rrset?maxitems=300"))
                .await?;
        for set in elements(&sets, "ResourceRecordSet") {
            if elements(set, "Type").first() != Some(&"CNAME") {
                continue;
            }
            let Some(name) = elements(set, "Name").first().map(|n| bare(n)) else { continue };
            for value in elements(set, "Value") {
                out.insert((name.clone(), bare(value)));
            }
        }
    }
    Ok(out)
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
}
