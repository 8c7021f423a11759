//! Certificate validation through DNS, as App Runner does it: a custom domain stays
//! `pending_certificate_dns_validation` until every one of its validation CNAMEs is published.
//! The emulator looks them up in Route 53 where the standard `AWS_ENDPOINT_URL_ROUTE_53` or
//! `AWS_ENDPOINT_URL` variable of its own environment points (moto serves Route 53), so whoever
//! starts it beside moto needs nothing else. Without either variable no record is ever found and
//! domains wait, as they would on AWS with no DNS records.

use crate::server::Emulator;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the validator looks at waiting domains.
const EVERY: Duration = Duration::from_millis(200);

/// The Route 53 endpoint from the environment, as the AWS SDKs read it.
pub fn route53_endpoint() -> Option<String> {
    endpoint_from_env("ROUTE_53")
}

/// A service's endpoint from `AWS_ENDPOINT_URL_<SERVICE>` or `AWS_ENDPOINT_URL`.
pub fn endpoint_from_env(service: &str) -> Option<String> {
    [format!("AWS_ENDPOINT_URL_{service}"), "AWS_ENDPOINT_URL".to_string()]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .map(|s| s.trim_end_matches('/').to_string())
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

/// The contents of every `<tag>…</tag>` in `xml` (Route 53's answers are simple enough that no
/// element nests inside one of the same name).
pub(crate) fn elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        found.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    found
}

/// A GET to moto, signed as `caller` for `service` (moto reads the service from the signature).
pub(crate) async fn get(
    endpoint: &str,
    caller: Option<&str>,
    service: &str,
    region: &str,
    path: &str,
) -> Result<String, String> {
    let authority = endpoint.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&authority).await.map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    // moto tells accounts apart by the access key and does not check the signature.
    let key = caller.unwrap_or("emulator");
    let request = Request::get(path)
        .header("host", authority)
        .header("authorization", format!("AWS4-HMAC-SHA256 Credential={key}/20260101/{region}/{service}/aws4_request"))
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("{service} answered {}", response.status()));
    }
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_read_in_order() {
        let xml = "<A><ResourceRecordSet><Name>x.example.com.</Name><Type>CNAME</Type>\
                   <ResourceRecords><ResourceRecord><Value>y.</Value></ResourceRecord></ResourceRecords>\
                   </ResourceRecordSet><ResourceRecordSet><Name>z.</Name><Type>A</Type></ResourceRecordSet></A>";
        let sets = elements(xml, "ResourceRecordSet");
        assert_eq!(sets.len(), 2);
        assert_eq!(elements(sets[0], "Value"), ["y."]);
        assert_eq!(bare("X.Example.COM."), "x.example.com");
    }
}
