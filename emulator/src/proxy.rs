//! The fault proxy: a loopback HTTP proxy in front of moto and the emulator that injects faults into
//! any AWS service's calls, the way that service would answer them (throttling and internal errors
//! with the service's own codes and protocol, latency, dropped connections).
//!
//! The product is pointed at it with the standard `AWS_ENDPOINT_URL` variable only. Each request is
//! routed by the service name in its SigV4 credential scope (`Credential=AKID/date/region/ecs/...`)
//! to that service's upstream, or to the default upstream.
//!
//! Test hooks, under `/_fault-proxy/`:
//! - `POST /_fault-proxy/faults` (a rule, see `faults.rs`), `DELETE /_fault-proxy/faults`;
//! - `GET /_fault-proxy/stats`: calls and injected faults by `service:Operation`, by fault, the
//!   busiest second; `DELETE` starts the counts (and the call log) again.
//! - `GET /_fault-proxy/calls`: the call log, one entry per call in arrival order: service,
//!   operation, when it arrived and when it was answered (epoch ms), and the fault, if any.
//! - `POST /_fault-proxy/trail` `{"enabled": true}`: CloudTrail events of the calls on moto's
//!   EventBridge (see `trail.rs`); `GET` tells how many were published.

use crate::faults::{Fault, Faults};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONNECTION, CONTENT_LENGTH, HeaderValue, TRANSFER_ENCODING};
use hyper::{HeaderMap, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub type Reply = Response<Full<Bytes>>;

pub struct Proxy {
    /// Where a service without a route goes (moto).
    pub upstream: String,
    /// Upstreams by SigV4 signing name (`apprunner` and `elasticache` go to the emulator).
    pub routes: BTreeMap<String, String>,
    pub faults: Mutex<Faults>,
    pub trail: crate::trail::Trail,
    stats: Mutex<Stats>,
}

#[derive(Default)]
struct Stats {
    started: Option<Instant>,
    calls: u64,
    upstream_errors: u64,
    by_operation: BTreeMap<String, (u64, u64)>,
    /// Calls in each whole second since `started`, to find the busiest one.
    per_second: BTreeMap<u64, u64>,
    log: Vec<Json>,
}

/// The most calls the log keeps (the counts go on).
const LOG_LIMIT: usize = 200_000;

fn epoch_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// How a service frames its answers, which decides how an injected error must look.
enum Protocol {
    /// awsJson 1.0/1.1 (DynamoDB, ECS, SSM, Logs, App Runner): the request's content type.
    Json(String),
    /// EC2's own query dialect: `<Response><Errors><Error>`.
    Ec2,
    /// awsQuery (ElastiCache, STS, CloudFormation): `<ErrorResponse><Error>`.
    Query,
}

impl Proxy {
    pub fn new(upstream: String, routes: BTreeMap<String, String>) -> Self {
        Proxy { upstream, routes, faults: Mutex::default(), trail: Default::default(), stats: Mutex::default() }
    }

    /// The handler. An `Err` makes hyper drop the connection without an answer (an injected fault).
    pub async fn handle(&self, req: Request<hyper::body::Incoming>) -> Result<Reply, std::io::Error> {
        let (parts, body) = req.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let path = parts.uri.path().to_string();
        if path.starts_with("/_fault-proxy/") {
            return Ok(self.admin(parts.method.as_str(), &path, &body));
        }
        let service = signing_service(&parts.headers).unwrap_or_else(|| "unknown".into());
        let operation = match rest_operation(parts.method.as_str(), &path) {
            Some(op) => op.to_string(),
            None => operation(&parts.headers, &body),
        };
        let fault = self.faults.lock().unwrap().next(&service, &operation);
        let arrived = epoch_ms();
        self.count(&service, &operation, fault.is_some());
        let reply = match fault {
            Some(Fault::Drop) => Err(std::io::Error::other("injected connection drop")),
            Some(Fault::Lost) => {
                // The upstream carries the call out; its answer is thrown away.
                let upstream = self.routes.get(&service).unwrap_or(&self.upstream);
                let _ = forward(upstream, parts, body).await;
                Err(std::io::Error::other("injected loss of the answer"))
            }
            Some(fault @ (Fault::Throttle | Fault::Internal)) => {
                Ok(error_reply(&service, &protocol(&service, &parts.headers), fault))
            }
            // App Runner's own refusal: the emulator gives it; the proxy passes the call on.
            Some(Fault::Slow(_) | Fault::IamPropagation) | None => {
                if let Some(Fault::Slow(ms)) = fault {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                let upstream = self.routes.get(&service).unwrap_or(&self.upstream);
                let (headers, region) = (parts.headers.clone(), signing_region(&parts.headers));
                match forward(upstream, parts, body.clone()).await {
                    Ok(reply) => {
                        if reply.status().is_success() {
                            let key = access_key(&headers);
                            let call = crate::trail::Call {
                                service: &service,
                                operation: &operation,
                                region: region.as_deref().unwrap_or("us-east-1"),
                                access_key: key.as_deref(),
                                headers: &headers,
                                path: &path,
                                body: &body,
                            };
                            self.trail.record(&self.upstream, call).await;
                        }
                        Ok(reply)
                    }
                    Err(e) => {
                        self.stats.lock().unwrap().upstream_errors += 1;
                        let mut reply = Response::new(Full::new(Bytes::from(format!("upstream {upstream}: {e}"))));
                        *reply.status_mut() = StatusCode::BAD_GATEWAY;
                        Ok(reply)
                    }
                }
            }
        };
        let mut stats = self.stats.lock().unwrap();
        if stats.log.len() < LOG_LIMIT {
            stats.log.push(json!({
                "service": service, "operation": operation, "arrivedMs": arrived, "answeredMs": epoch_ms(),
                "status": reply.as_ref().map(|r| r.status().as_u16()).ok(), "fault": fault.map(Fault::name),
            }));
        }
        reply
    }

    fn count(&self, service: &str, operation: &str, injected: bool) {
        let mut stats = self.stats.lock().unwrap();
        let started = *stats.started.get_or_insert_with(Instant::now);
        stats.calls += 1;
        *stats.per_second.entry(started.elapsed().as_secs()).or_insert(0) += 1;
        let entry = stats.by_operation.entry(format!("{service}:{operation}")).or_insert((0, 0));
        entry.0 += 1;
        entry.1 += u64::from(injected);
    }

    fn stats_json(&self) -> Json {
        let stats = self.stats.lock().unwrap();
        let faults = self.faults.lock().unwrap();
        let by_operation: BTreeMap<&String, Json> = stats
            .by_operation
            .iter()
            .map(|(op, (calls, injected))| (op, json!({ "calls": calls, "injected": injected })))
            .collect();
        json!({
            "calls": stats.calls,
            "injected": faults.injected,
            "byFault": faults.injected_by_fault,
            "upstreamErrors": stats.upstream_errors,
            "seconds": stats.started.map(|s| s.elapsed().as_secs_f64()).unwrap_or(0.0),
            "peakPerSecond": stats.per_second.values().max().copied().unwrap_or(0),
            "byOperation": by_operation,
        })
    }

    fn admin(&self, method: &str, path: &str, body: &[u8]) -> Reply {
        let input: Json = serde_json::from_slice(body).unwrap_or(json!({}));
        let (status, answer) = match (method, path.trim_end_matches('/')) {
            ("POST", "/_fault-proxy/faults") => match self.faults.lock().unwrap().add(&input) {
                Ok(()) => (StatusCode::OK, json!({ "added": input })),
                Err(e) => (StatusCode::BAD_REQUEST, json!({ "error": e })),
            },
            ("DELETE", "/_fault-proxy/faults") => {
                self.faults.lock().unwrap().clear();
                (StatusCode::OK, json!({ "cleared": true }))
            }
            ("GET", "/_fault-proxy/stats") => (StatusCode::OK, self.stats_json()),
            ("POST", "/_fault-proxy/trail") => {
                let on = input.get("enabled").and_then(Json::as_bool).unwrap_or(true);
                self.trail.enabled.store(on, std::sync::atomic::Ordering::Relaxed);
                (StatusCode::OK, json!({ "enabled": on }))
            }
            ("GET", "/_fault-proxy/trail") => {
                let count = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
                (
                    StatusCode::OK,
                    json!({ "published": count(&self.trail.published), "failed": count(&self.trail.failed) }),
                )
            }
            ("GET", "/_fault-proxy/calls") => (StatusCode::OK, Json::Array(self.stats.lock().unwrap().log.clone())),
            ("DELETE", "/_fault-proxy/stats") => {
                *self.stats.lock().unwrap() = Stats::default();
                let mut faults = self.faults.lock().unwrap();
                faults.injected = 0;
                faults.injected_by_fault.clear();
                (StatusCode::OK, json!({ "cleared": true }))
            }
            _ => (StatusCode::NOT_FOUND, json!({ "error": format!("no endpoint {method} {path}") })),
        };
        let mut reply = Response::new(Full::new(Bytes::from(answer.to_string())));
        *reply.status_mut() = status;
        reply.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
        reply
    }
}

/// The signing name in a SigV4 `Authorization` header: `Credential=AKID/20261126/eu-west-1/ecs/aws4_request`.
fn signing_service(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let credential = auth.split("Credential=").nth(1)?;
    credential.split('/').nth(3).map(str::to_string)
}

/// The region and the access key of a SigV4 credential scope.
fn signing_region(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    auth.split("Credential=").nth(1)?.split('/').nth(2).map(str::to_string)
}

fn access_key(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    auth.split("Credential=").nth(1)?.split('/').next().map(str::to_string)
}

/// `X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListServices` or the form's `Action=`.
/// The operations of REST services (Route 53) steward calls, named from the method and path, so
/// that reads are told from writes in the call log.
fn rest_operation(method: &str, path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/2013-04-01/")?;
    Some(match (method, rest.split('/').collect::<Vec<_>>().as_slice()) {
        ("GET", ["hostedzonesbyname"]) => "ListHostedZonesByName",
        ("GET", ["hostedzone"]) => "ListHostedZones",
        ("GET", ["hostedzone", _]) => "GetHostedZone",
        ("GET", ["hostedzone", _, "rrset"]) => "ListResourceRecordSets",
        ("POST", ["hostedzone", _, "rrset"] | ["hostedzone", _, "rrset", ""]) => "ChangeResourceRecordSets",
        ("POST", ["hostedzone"]) => "CreateHostedZone",
        _ => return None,
    })
}

fn operation(headers: &HeaderMap, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    let form: BTreeMap<String, String> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    form.get("Action").cloned().unwrap_or_else(|| "unknown".into())
}

fn protocol(service: &str, headers: &HeaderMap) -> Protocol {
    if headers.contains_key("x-amz-target") {
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
        Protocol::Json(content_type.unwrap_or("application/x-amz-json-1.1").to_string())
    } else if service == "ec2" {
        Protocol::Ec2
    } else {
        Protocol::Query
    }
}

/// The error code and HTTP status a service uses for throttling or for its own internal failure.
fn error_code(service: &str, protocol: &Protocol, fault: Fault) -> (&'static str, u16) {
    match (fault, protocol) {
        (Fault::Throttle, Protocol::Ec2) => ("RequestLimitExceeded", 503),
        (Fault::Throttle, Protocol::Query) => ("Throttling", 400),
        (Fault::Throttle, Protocol::Json(_)) => ("ThrottlingException", 400),
        (_, Protocol::Ec2) => ("InternalError", 500),
        (_, Protocol::Query) => ("InternalFailure", 500),
        (_, Protocol::Json(_)) => match service {
            "dynamodb" | "ssm" => ("InternalServerError", 500),
            "ecs" => ("ServerException", 500),
            "logs" => ("ServiceUnavailableException", 503),
            "apprunner" => ("InternalServiceErrorException", 500),
            _ => ("InternalFailure", 500),
        },
    }
}

fn error_reply(service: &str, protocol: &Protocol, fault: Fault) -> Reply {
    let (code, status) = error_code(service, protocol, fault);
    let message = if fault == Fault::Throttle { "Rate exceeded" } else { "Injected internal error" };
    let request_id = format!("{:032x}", rand::random::<u128>());
    let (content_type, body) = match protocol {
        Protocol::Json(content_type) => {
            (content_type.clone(), json!({ "__type": code, "message": message }).to_string())
        }
        Protocol::Ec2 => (
            "text/xml".to_string(),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
            ),
        ),
        Protocol::Query => {
            let kind = if status >= 500 { "Receiver" } else { "Sender" };
            (
                "text/xml".to_string(),
                format!(
                    "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
                ),
            )
        }
    };
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", content_type)
        .header("x-amzn-requestid", request_id)
        .header("x-amzn-errortype", code)
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

/// Sends the request on to `upstream` (a fresh loopback connection each time) and returns its answer.
pub async fn forward(upstream: &str, parts: hyper::http::request::Parts, body: Bytes) -> Result<Reply, String> {
    let authority = upstream.trim_start_matches("http://").trim_end_matches('/');
    let stream = tokio::net::TcpStream::connect(authority).await.map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let mut request =
        Request::builder().method(parts.method).uri(parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    for (name, value) in without_framing(&parts.headers) {
        request = request.header(name, value);
    }
    let request = request.header(CONTENT_LENGTH, body.len()).body(Full::new(body)).map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    let mut reply = Response::builder().status(parts.status);
    for (name, value) in without_framing(&parts.headers) {
        reply = reply.header(name, value);
    }
    reply.header(CONTENT_LENGTH, body.len()).body(Full::new(body)).map_err(|e| e.to_string())
}

/// Headers minus those about the message's framing, which the proxy sets itself.
fn without_framing(headers: &HeaderMap) -> impl Iterator<Item = (&hyper::header::HeaderName, &HeaderValue)> {
    headers.iter().filter(|(name, _)| ![CONTENT_LENGTH, TRANSFER_ENCODING, CONNECTION].contains(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (hyper::header::HeaderName::from_static(k), v.parse().unwrap())).collect()
    }

    #[test]
    fn calls_are_named_by_signing_service_and_operation() {
        let json = headers(&[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261126/eu-west-1/ecs/aws4_request, Signature=x"),
            ("x-amz-target", "AmazonEC2ContainerServiceV20141113.ListServices"),
        ]);
        assert_eq!(signing_service(&json).as_deref(), Some("ecs"));
        assert_eq!(operation(&json, b"{}"), "ListServices");
        let query =
            headers(&[("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261126/eu-west-1/ec2/aws4_request")]);
        assert_eq!(operation(&query, b"Action=DescribeVpcEndpoints&Version=2016-11-15"), "DescribeVpcEndpoints");
        assert_eq!(rest_operation("GET", "/2013-04-01/hostedzone/Z1/rrset"), Some("ListResourceRecordSets"));
        assert_eq!(rest_operation("POST", "/2013-04-01/hostedzone/Z1/rrset/"), Some("ChangeResourceRecordSets"));
        assert_eq!(rest_operation("GET", "/2013-04-01/hostedzonesbyname"), Some("ListHostedZonesByName"));
    }

    #[test]
    fn each_protocol_gets_its_own_throttling_code() {
        let json = Protocol::Json("application/x-amz-json-1.0".into());
        assert_eq!(error_code("dynamodb", &json, Fault::Throttle), ("ThrottlingException", 400));
        assert_eq!(error_code("ec2", &Protocol::Ec2, Fault::Throttle), ("RequestLimitExceeded", 503));
        assert_eq!(error_code("elasticache", &Protocol::Query, Fault::Throttle), ("Throttling", 400));
        assert_eq!(error_code("ecs", &json, Fault::Internal), ("ServerException", 500));
    }
}
