//! HTTP front: protocol detection (awsJson1_0 for App Runner, awsQuery for ElastiCache), fault
//! injection, the request log, and the admin API under `/_emulator/`.

use crate::admin;
use crate::faults::{Fault, Faults};
use crate::model::{Model, escape};
use crate::{apprunner, ecs, elasticache, express, network};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub type Reply = Response<Full<Bytes>>;

/// An error as a service answers it: the model's error shape (or a wire code) and a message.
#[derive(Debug)]
pub struct ApiError {
    pub shape: String,
    pub message: String,
}

impl ApiError {
    pub fn new(shape: &str, message: impl Into<String>) -> Self {
        ApiError { shape: shape.to_string(), message: message.into() }
    }
}

pub type OpResult = Result<Json, ApiError>;

/// A string member of an operation's input.
pub fn text<'a>(input: &'a Json, key: &str) -> Option<&'a str> {
    input.get(key).and_then(Json::as_str)
}

/// Puts a list (or a map's entries) in a random order: AWS answers do not keep the order of the
/// request's security groups, subnets or environment variables (QUIRKS.md).
pub fn shuffle(value: &mut Json) {
    use rand::seq::SliceRandom;
    match value {
        Json::Array(items) => items.shuffle(&mut rand::rng()),
        Json::Object(map) => {
            let mut entries: Vec<(String, Json)> = std::mem::take(map).into_iter().collect();
            entries.shuffle(&mut rand::rng());
            map.extend(entries);
        }
        _ => {}
    }
}

/// Now, in seconds since the epoch with milliseconds: how the JSON services write timestamps.
pub fn epoch() -> f64 {
    let now = chrono::Utc::now();
    now.timestamp() as f64 + f64::from(now.timestamp_subsec_millis()) / 1000.0
}

/// `len` random lower-case hex digits (ids in ARNs and names).
pub fn hex(len: usize) -> String {
    (0..len).map(|_| format!("{:x}", rand::random_range(0..16u8))).collect()
}

/// What an operation needs to know about the call: where, who, when, and how slow the world is.
pub struct Call {
    pub region: String,
    pub account: String,
    /// The caller's access key id (from the signature), to act in its account elsewhere (the
    /// DNS validator reads that account's Route 53). None for admin calls.
    pub caller: Option<String>,
    pub now: Instant,
    pub transition: Duration,
    /// The VPC of each subnet the call names, as EC2 (moto) reported it; None when no EC2
    /// endpoint is configured (the emulator then makes the VPC up from the subnet ids).
    pub subnet_vpcs: Option<BTreeMap<String, String>>,
}

pub struct Emulator {
    pub apprunner_model: Model,
    pub elasticache_model: Model,
    pub ecs_model: Model,
    pub account: String,
    pub state: Mutex<State>,
    pub faults: Mutex<Faults>,
}

pub struct State {
    pub transition: Duration,
    pub apprunner: BTreeMap<String, apprunner::AppRunner>,
    pub elasticache: BTreeMap<String, elasticache::ElastiCache>,
    /// How long a new Express service's tasks take to pass the load balancer's health checks.
    pub health_check: Duration,
    /// ECS Express Mode services, by region.
    pub express: BTreeMap<String, express::Express>,
    /// Calls served, by "service:Operation", for tests and benchmarks to cross-check.
    pub requests: BTreeMap<String, u64>,
    /// App Runner's own events are put on EventBridge (`--service-events`, admin API).
    pub service_events: bool,
    /// The access key of the latest call: the account service events are put in.
    pub last_caller: Option<String>,
}

impl State {
    pub fn new(transition: Duration) -> Self {
        State {
            transition,
            apprunner: BTreeMap::new(),
            elasticache: BTreeMap::new(),
            express: BTreeMap::new(),
            health_check: transition * 2,
            requests: BTreeMap::new(),
            service_events: false,
            last_caller: None,
        }
    }
}

/// The handler. An `Err` makes hyper drop the connection without an answer (an injected fault).
pub async fn handle(emu: Arc<Emulator>, req: Request<hyper::body::Incoming>) -> Result<Reply, std::io::Error> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let method = parts.method.clone();
    let headers = parts.headers.clone();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if path.starts_with("/_emulator/") {
        return Ok(admin::handle(&emu, &method, &path, &body));
    }
    let region = region_of(&headers).unwrap_or_else(|| "us-east-1".into());
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(operation) = target.as_deref().and_then(|t| t.strip_prefix(express::TARGET_PREFIX)) {
        let caller = access_key_of(&headers);
        {
            let mut state = emu.state.lock().unwrap();
            state.requests.entry(format!("ecs:{operation}")).and_modify(|n| *n += 1).or_insert(1);
        }
        let call = ecs::EcsCall { operation: operation.to_string(), region, caller };
        return Ok(ecs::handle(&emu, call, parts, body).await);
    }
    let request = match target {
        Some(t) => Incoming::Json { operation: t.strip_prefix("AppRunner.").unwrap_or(&t).to_string(), body },
        None => {
            let params: BTreeMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
            Incoming::Query { operation: params.get("Action").cloned().unwrap_or_default(), params }
        }
    };
    let (service, operation) = match &request {
        Incoming::Json { operation, .. } => ("apprunner", operation.clone()),
        Incoming::Query { operation, .. } => ("elasticache", operation.clone()),
    };
    let caller = access_key_of(&headers);
    {
        let mut state = emu.state.lock().unwrap();
        state.requests.entry(format!("{service}:{operation}")).and_modify(|n| *n += 1).or_insert(1);
        if caller.is_some() {
            state.last_caller = caller.clone();
        }
    }
    // Subnet groups check their subnets' VPCs, which EC2 (moto) knows.
    let subnet_vpcs = match &request {
        Incoming::Query { operation, params } if operation.ends_with("CacheSubnetGroup") => {
            let subnets: Vec<&str> =
                params.iter().filter(|(k, _)| k.starts_with("SubnetIds.")).map(|(_, v)| v.as_str()).collect();
            network::subnet_vpcs(&region, caller.as_deref(), &subnets).await
        }
        _ => None,
    };
    let fault = emu.faults.lock().unwrap().next(service, &operation);
    match fault {
        Some(Fault::Drop) => return Err(std::io::Error::other("injected connection drop")),
        Some(Fault::Lost) => {
            // Executed, then the answer is lost: the caller must find its own object later.
            let _ = dispatch(&emu, request, region, caller, subnet_vpcs);
            return Err(std::io::Error::other("injected loss of the answer"));
        }
        Some(Fault::IamPropagation) => {
            let message = "Error in assuming instance role arn:aws:iam::123456789012:role/mmweb-exec";
            return Ok(error_reply(&emu, &request, ApiError::new("InvalidRequestException", message), 400));
        }
        Some(Fault::Slow(ms)) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Some(Fault::Throttle) => {
            let shape = if service == "apprunner" { "ThrottlingException" } else { "Throttling" };
            return Ok(error_reply(&emu, &request, ApiError::new(shape, "Rate exceeded"), 400));
        }
        Some(Fault::Internal) => {
            let shape = if service == "apprunner" { "InternalServiceErrorException" } else { "InternalFailure" };
            return Ok(error_reply(
                &emu,
                &request,
                ApiError::new(shape, "We encountered an internal error. Please try again."),
                500,
            ));
        }
        None => {}
    }
    Ok(dispatch(&emu, request, region, caller, subnet_vpcs))
}

enum Incoming {
    Json { operation: String, body: Bytes },
    Query { operation: String, params: BTreeMap<String, String> },
}

fn dispatch(
    emu: &Emulator,
    request: Incoming,
    region: String,
    caller: Option<String>,
    subnet_vpcs: Option<BTreeMap<String, String>>,
) -> Reply {
    let call = |transition| Call {
        region: region.clone(),
        account: emu.account.clone(),
        caller: caller.clone(),
        now: Instant::now(),
        transition,
        subnet_vpcs: subnet_vpcs.clone(),
    };
    match &request {
        Incoming::Json { operation, body } => {
            let model = &emu.apprunner_model;
            if !model.has_operation(operation) {
                let err = ApiError::new("UnknownOperationException", format!("Unknown operation {operation}"));
                return error_reply(emu, &request, err, 400);
            }
            let input: Json = if body.is_empty() {
                json!({})
            } else {
                match serde_json::from_slice(body) {
                    Ok(v) => v,
                    Err(e) => {
                        return error_reply(emu, &request, ApiError::new("SerializationException", e.to_string()), 400);
                    }
                }
            };
            if let Some(problem) = model.input_shape(operation).and_then(|s| model.validate(s, &input, "")) {
                return error_reply(emu, &request, ApiError::new("InvalidRequestException", problem), 400);
            }
            let result = {
                let mut state = emu.state.lock().unwrap();
                let call = call(state.transition);
                state.apprunner.entry(region.clone()).or_default().call(operation, &input, &call)
            };
            match result {
                Ok(output) => {
                    if let Some(shape) = model.output_shape(operation) {
                        model.check_json(shape, &output);
                    }
                    respond(StatusCode::OK, "application/x-amz-json-1.0", output.to_string(), None)
                }
                Err(e) => error_reply(emu, &request, e, 400),
            }
        }
        Incoming::Query { operation, params } => {
            let model = &emu.elasticache_model;
            if !model.has_operation(operation) {
                let err = ApiError::new(
                    "InvalidAction",
                    format!("The action {operation} is not valid for this web service."),
                );
                return error_reply(emu, &request, err, 400);
            }
            let input = model.input_shape(operation).map(|s| model.parse_query(s, params)).unwrap_or_else(|| json!({}));
            if let Some(problem) = model.input_shape(operation).and_then(|s| model.validate(s, &input, "")) {
                return error_reply(emu, &request, ApiError::new("InvalidParameterValueException", problem), 400);
            }
            let result = {
                let mut state = emu.state.lock().unwrap();
                let call = call(state.transition);
                state.elasticache.entry(region.clone()).or_default().call(operation, &input, &call)
            };
            match result {
                Ok(output) => {
                    let ns = model.metadata.get("xmlNamespace").and_then(Json::as_str).unwrap_or_default();
                    let mut xml = format!("<{operation}Response xmlns=\"{ns}\">");
                    if let (Some(shape), Some(wrapper)) =
                        (model.output_shape(operation), model.result_wrapper(operation))
                    {
                        model.to_xml(shape, &output, wrapper, &mut xml);
                    }
                    xml.push_str(&format!(
                        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{operation}Response>",
                        request_id()
                    ));
                    respond(StatusCode::OK, "text/xml", xml, None)
                }
                Err(e) => error_reply(emu, &request, e, 400),
            }
        }
    }
}

fn error_reply(emu: &Emulator, request: &Incoming, err: ApiError, default_status: u16) -> Reply {
    match request {
        Incoming::Json { .. } => {
            let status = if err.shape == "InternalServiceErrorException" { 500 } else { default_status };
            let body = json!({ "__type": err.shape, "Message": err.message }).to_string();
            respond(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                "application/x-amz-json-1.0",
                body,
                Some(&err.shape),
            )
        }
        Incoming::Query { .. } => {
            let (code, status) = match err.shape.as_str() {
                "Throttling" => ("Throttling".to_string(), 400),
                "InternalFailure" => ("InternalFailure".to_string(), 500),
                "InvalidAction" => ("InvalidAction".to_string(), 400),
                shape => emu.elasticache_model.error_code(shape),
            };
            let kind = if status >= 500 { "Receiver" } else { "Sender" };
            let ns = emu.elasticache_model.metadata.get("xmlNamespace").and_then(Json::as_str).unwrap_or_default();
            let xml = format!(
                "<ErrorResponse xmlns=\"{ns}\"><Error><Type>{kind}</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
                escape(&err.message),
                request_id()
            );
            respond(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), "text/xml", xml, None)
        }
    }
}

fn respond(status: StatusCode, content_type: &str, body: String, error_type: Option<&str>) -> Reply {
    let mut builder = Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-requestid", request_id());
    if let Some(t) = error_type {
        builder = builder.header("x-amzn-errortype", t);
    }
    builder.body(Full::new(Bytes::from(body))).expect("a valid response")
}

pub fn json_reply(status: StatusCode, body: &Json) -> Reply {
    respond(status, "application/json", body.to_string(), None)
}

fn request_id() -> String {
    let r: u128 = rand::random();
    let h = format!("{r:032x}");
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// The region of a SigV4-signed request: `Credential=AKID/20261126/eu-west-1/elasticache/aws4_request`.
fn access_key_of(headers: &hyper::HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let credential = auth.split("Credential=").nth(1)?;
    credential.split('/').next().map(str::to_string)
}

fn region_of(headers: &hyper::HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let credential = auth.split("Credential=").nth(1)?;
    credential.split('/').nth(2).map(str::to_string)
}
