//! Calls from the emulator to moto, as the AWS service behind a feature would make them: DNS
//! lookups (Route 53), a subnet's VPC (EC2), the objects ECS Express Mode makes (EC2, ELBv2,
//! ACM, ECS clusters). moto tells accounts apart by the access key in the signature and does not
//! check the signature, so each call is signed with the caller's key and no secret.

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::Value as Json;

/// A service's endpoint from `AWS_ENDPOINT_URL_<SERVICE>` or `AWS_ENDPOINT_URL`.
pub fn endpoint_from_env(service: &str) -> Option<String> {
    [format!("AWS_ENDPOINT_URL_{service}"), "AWS_ENDPOINT_URL".to_string()]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .map(|s| s.trim_end_matches('/').to_string())
}

/// The contents of every `<tag>…</tag>` in `xml` (the answers read here are simple enough that
/// no element nests inside one of the same name).
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

/// The first `<tag>` of `xml`, or an error naming what was missing.
pub(crate) fn first(xml: &str, tag: &str) -> Result<String, String> {
    elements(xml, tag).first().map(|s| s.to_string()).ok_or_else(|| format!("no <{tag}> in the answer: {xml}"))
}

/// Who signs, for which service and region.
#[derive(Clone, Copy)]
pub struct Signer<'a> {
    pub caller: Option<&'a str>,
    pub service: &'a str,
    pub region: &'a str,
}

impl Signer<'_> {
    fn authorization(&self) -> String {
        let key = self.caller.unwrap_or("emulator");
        format!("AWS4-HMAC-SHA256 Credential={key}/20260101/{}/{}/aws4_request", self.region, self.service)
    }
}

/// One request to moto; the answer's body when it succeeded, else its status and body.
async fn send(
    endpoint: &str,
    signer: Signer<'_>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: String,
) -> Result<String, String> {
    let authority = endpoint.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&authority).await.map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", authority)
        .header("authorization", signer.authorization())
        .header("content-length", body.len());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::from(body))).map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    let text = String::from_utf8_lossy(&body).into_owned();
    if !status.is_success() {
        return Err(format!("{} answered {status}: {text}", signer.service));
    }
    Ok(text)
}

/// A GET (Route 53's REST, EC2's query in the URL).
pub(crate) async fn get(
    endpoint: &str,
    caller: Option<&str>,
    service: &str,
    region: &str,
    path: &str,
) -> Result<String, String> {
    send(endpoint, Signer { caller, service, region }, "GET", path, &[], String::new()).await
}

/// An awsQuery (or EC2 query) call: `Action`, `Version` and the parameters, form-encoded.
pub(crate) async fn query(
    endpoint: &str,
    signer: Signer<'_>,
    action: &str,
    version: &str,
    params: &[(String, String)],
) -> Result<String, String> {
    let mut form: Vec<(String, String)> = vec![("Action".into(), action.into()), ("Version".into(), version.into())];
    form.extend(params.iter().cloned());
    let body = serde_urlencoded::to_string(&form).map_err(|e| e.to_string())?;
    let headers = [("content-type", "application/x-www-form-urlencoded; charset=utf-8")];
    send(endpoint, signer, "POST", "/", &headers, body).await
}

/// An awsJson 1.1 call: `target` is `Prefix.Operation`.
pub(crate) async fn json(endpoint: &str, signer: Signer<'_>, target: &str, input: &Json) -> Result<Json, String> {
    let headers = [("content-type", "application/x-amz-json-1.1"), ("x-amz-target", target)];
    let text = send(endpoint, signer, "POST", "/", &headers, input.to_string()).await?;
    serde_json::from_str(&text).map_err(|e| format!("{target}: {e}: {text}"))
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
        assert_eq!(first(xml, "Type").unwrap(), "CNAME");
        assert!(first(xml, "Missing").is_err());
    }
}
