//! CloudTrail management events for the calls that pass through the fault proxy, put on moto's
//! EventBridge (which delivers them to SQS by rule), as AWS delivers "AWS API Call via CloudTrail"
//! events: moto has no CloudTrail. Off until `POST /_fault-proxy/trail {"enabled": true}` (or the
//! proxy's `--trail` flag).
//!
//! Each successful mutating call of a service steward manages becomes one event in the caller's
//! account. Its `userIdentity` is the caller's, as STS answers `GetCallerIdentity` for its access
//! key (cached), so that whoever made a change is named: field names and shapes follow the
//! CloudTrail record contents reference.

use crate::upstream::{elements, get};
use bytes::Bytes;
use hyper::HeaderMap;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Services whose writes become events (the ones steward manages objects of).
const TRAILED: [&str; 10] = ["ec2", "ecs", "elasticache", "apprunner", "ssm", "route53", "logs", "sqs", "iam", "ecr"];

/// Global services: AWS records their calls in us-east-1 and delivers them to EventBridge there
/// only, whatever region the caller named (CloudTrail user guide, "global service events").
const GLOBAL: [&str; 2] = ["iam", "route53"];

/// The region a call's CloudTrail record is in.
fn event_region<'a>(call: &Call<'a>) -> &'a str {
    if GLOBAL.contains(&call.service) { "us-east-1" } else { call.region }
}

/// Calls CloudTrail records only as data events (off by default), never as management events:
/// messages on a queue and events into a log stream.
const DATA_EVENTS: [&str; 7] = [
    "SendMessage",
    "SendMessageBatch",
    "ReceiveMessage",
    "DeleteMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibility",
    "PutLogEvents",
];

#[derive(Default)]
pub struct Trail {
    pub enabled: AtomicBool,
    pub published: AtomicU64,
    pub failed: AtomicU64,
    /// Access key → the caller's identity (`GetCallerIdentity`'s Arn, Account, UserId).
    identities: Mutex<BTreeMap<String, (String, String, String)>>,
}

/// One call as the proxy saw it.
pub struct Call<'a> {
    pub service: &'a str,
    pub operation: &'a str,
    pub region: &'a str,
    pub access_key: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub path: &'a str,
    pub body: &'a Bytes,
}

/// Reads (Describe*, List*, Get*) leave no management write event.
fn is_read(operation: &str) -> bool {
    ["Describe", "List", "Get", "Query", "Scan", "BatchGet"].iter().any(|p| operation.starts_with(p))
}

impl Trail {
    /// Publishes the event of a call that succeeded, if it is one a trail records.
    pub async fn record(&self, moto: &str, call: Call<'_>) {
        let trailed = TRAILED.contains(&call.service) && !DATA_EVENTS.contains(&call.operation);
        if !self.enabled.load(Ordering::Relaxed) || !trailed || is_read(call.operation) {
            return;
        }
        let Some(key) = call.access_key else { return };
        let Some((arn, account, principal)) = self.identity(moto, key, call.region).await else {
            self.failed.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let detail = detail(&call, key, &arn, &account, &principal);
        let entry = json!({
            "Source": format!("aws.{}", call.service),
            "DetailType": "AWS API Call via CloudTrail",
            "Detail": detail.to_string(),
            "Resources": [],
        });
        let body = json!({ "Entries": [entry] }).to_string();
        match post_json(moto, key, "events", event_region(&call), "AWSEvents.PutEvents", body).await {
            Ok(()) => self.published.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.failed.fetch_add(1, Ordering::Relaxed),
        };
    }

    async fn identity(&self, moto: &str, key: &str, region: &str) -> Option<(String, String, String)> {
        if let Some(known) = self.identities.lock().unwrap().get(key) {
            return Some(known.clone());
        }
        let xml = get(moto, Some(key), "sts", region, "/?Action=GetCallerIdentity&Version=2011-06-15").await.ok()?;
        let one = |tag: &str| elements(&xml, tag).first().map(|s| s.to_string());
        let found = (one("Arn")?, one("Account")?, one("UserId").unwrap_or_default());
        self.identities.lock().unwrap().insert(key.to_string(), found.clone());
        Some(found)
    }
}

/// The CloudTrail record of one call (`detail` of the EventBridge event).
fn detail(call: &Call, key: &str, arn: &str, account: &str, principal: &str) -> Json {
    let header = |name: &str| call.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let mut identity = json!({ "principalId": principal, "arn": arn, "accountId": account, "accessKeyId": key });
    // arn:aws:sts::123456789012:assumed-role/ROLE/SESSION
    match arn.split_once(":assumed-role/").and_then(|(_, rest)| rest.split_once('/')) {
        Some((role, session)) => {
            identity["type"] = json!("AssumedRole");
            identity["sessionContext"] = json!({
                "sessionIssuer": { "type": "Role", "arn": format!("arn:aws:iam::{account}:role/{role}"), "accountId": account, "userName": role },
                "attributes": { "mfaAuthenticated": "false" },
            });
            identity["sessionName"] = json!(session);
        }
        None => identity["type"] = json!(if arn.ends_with(":root") { "Root" } else { "IAMUser" }),
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!({
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": now,
        "eventSource": format!("{}.amazonaws.com", call.service),
        "eventName": call.operation,
        "awsRegion": event_region(call),
        "sourceIPAddress": "127.0.0.1",
        "userAgent": header("user-agent"),
        "requestParameters": request_parameters(call),
        "responseElements": Json::Null,
        "requestID": format!("{:032x}", rand::random::<u128>()),
        "eventID": uuid(),
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management",
    })
}

/// The call's parameters: the JSON body, the form (query protocols, without Action and Version),
/// or for REST calls the path's identifiers.
fn request_parameters(call: &Call) -> Json {
    if let Ok(Json::Object(body)) = serde_json::from_slice::<Json>(call.body) {
        return Json::Object(body);
    }
    let form: BTreeMap<String, String> = serde_urlencoded::from_bytes(call.body).unwrap_or_default();
    if form.contains_key("Action") {
        let params: serde_json::Map<String, Json> = form
            .into_iter()
            .filter(|(k, _)| k != "Action" && k != "Version")
            .map(|(k, v)| (k, Json::String(v)))
            .collect();
        return Json::Object(params);
    }
    // Route 53: /2013-04-01/hostedzone/ZONE/rrset
    let zone = call.path.split("/hostedzone/").nth(1).and_then(|r| r.split('/').next()).unwrap_or_default();
    json!({ "hostedZoneId": zone })
}

fn uuid() -> String {
    let v = rand::random::<u128>();
    let h = format!("{v:032x}");
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

pub(crate) async fn post_json(
    endpoint: &str,
    key: &str,
    service: &str,
    region: &str,
    target: &str,
    body: String,
) -> Result<(), String> {
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::TokioIo;
    let authority = endpoint.trim_start_matches("http://").trim_end_matches('/').to_string();
    let stream = tokio::net::TcpStream::connect(&authority).await.map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let request = hyper::Request::post("/")
        .header("host", authority)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", target)
        .header("authorization", format!("AWS4-HMAC-SHA256 Credential={key}/20260101/{region}/{service}/aws4_request"))
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let ok = response.status().is_success();
    let _ = response.into_body().collect().await;
    if ok { Ok(()) } else { Err("PutEvents failed".into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_becomes_a_cloudtrail_record_naming_the_caller() {
        let headers: HeaderMap = [(hyper::header::USER_AGENT, "aws-cli/2".parse().unwrap())].into_iter().collect();
        let body = Bytes::from_static(
            b"Action=ModifyVpcEndpoint&Version=2016-11-15&VpcEndpointId=vpce-1&RemoveSubnetId.1=subnet-a",
        );
        let call = Call {
            service: "ec2",
            operation: "ModifyVpcEndpoint",
            region: "eu-west-1",
            access_key: Some("AKID"),
            headers: &headers,
            path: "/",
            body: &body,
        };
        let d =
            detail(&call, "AKID", "arn:aws:sts::123456789012:assumed-role/oncall/alice", "123456789012", "AROA:alice");
        assert_eq!(d["eventSource"], "ec2.amazonaws.com");
        assert_eq!(d["eventName"], "ModifyVpcEndpoint");
        assert_eq!(d["userIdentity"]["type"], "AssumedRole");
        assert_eq!(
            d["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"],
            "arn:aws:iam::123456789012:role/oncall"
        );
        assert_eq!(d["requestParameters"], json!({ "VpcEndpointId": "vpce-1", "RemoveSubnetId.1": "subnet-a" }));
        assert_eq!(d["userAgent"], "aws-cli/2");
        assert!(is_read("DescribeVpcEndpoints") && !is_read("ModifyVpcEndpoint"));
        assert_eq!(d["awsRegion"], "eu-west-1");
        let iam = Call { service: "iam", operation: "AttachRolePolicy", ..call };
        assert_eq!(
            detail(&iam, "AKID", "arn:aws:iam::123456789012:user/bob", "123456789012", "AIDA")["awsRegion"],
            "us-east-1"
        );
    }
}
