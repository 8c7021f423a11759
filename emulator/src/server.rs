//! HTTP front: protocol detection (awsJson1_0 for App Runner, awsQuery for ElastiCache), fault
//! injection, the request log, and the admin API under `/_emulator/`.

pub use crate::api::{ApiError, Call, OpResult, Reply, epoch, hex, json_reply, shuffle, text};
pub use crate::state::{Emulator, State};

use crate::admin;
use crate::api::{request_id, respond};
use crate::faults::Fault;
use crate::model::escape;
use crate::{ecs, express, network};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::{Request, StatusCode};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
