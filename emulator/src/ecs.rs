//! ECS at the emulator's endpoint (awsJson 1.1): the Express Mode operations, and the service
//! revisions, deployments and tags of Express services, are answered here (`express.rs`);
//! every other ECS call is passed on, untouched, to moto at `AWS_ENDPOINT_URL_ECS` or
//! `AWS_ENDPOINT_URL` of the emulator's own environment.

use crate::api::{ApiError, Call, OpResult, Reply, text};
use crate::express::{Infra, OPERATIONS};
use crate::express_infra::Moto;
use crate::state::Emulator;
use crate::upstream::endpoint_from_env;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::{Value as Json, json};
use std::time::Instant;

const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const TAG_OPERATIONS: [&str; 3] = ["TagResource", "UntagResource", "ListTagsForResource"];

/// Who called, where: what every ECS call here needs.
pub struct EcsCall {
    pub operation: String,
    pub region: String,
    pub caller: Option<String>,
}

/// Answers one ECS call, or passes it on to moto.
pub async fn handle(emu: &Emulator, call: EcsCall, parts: hyper::http::request::Parts, body: Bytes) -> Reply {
    let input: Json = if body.is_empty() { json!({}) } else { serde_json::from_slice(&body).unwrap_or(json!({})) };
    let ours = OPERATIONS.contains(&call.operation.as_str())
        || (TAG_OPERATIONS.contains(&call.operation.as_str()) && {
            let state = emu.state.lock().unwrap();
            let arn = text(&input, "resourceArn").unwrap_or_default();
            state.express.get(&call.region).is_some_and(|e| e.knows(arn))
        });
    if !ours {
        return forward(parts, body).await;
    }
    settle(emu, &call.region).await;
    let model = &emu.ecs_model;
    if let Some(problem) = model.input_shape(&call.operation).and_then(|s| model.validate(s, &input, "")) {
        return error(ApiError::new("InvalidParameterException", problem));
    }
    match answer(emu, &call, &input).await {
        Ok(output) => {
            if let Some(shape) = model.output_shape(&call.operation) {
                model.check_json(shape, &output);
            }
            reply(StatusCode::OK, output.to_string(), None)
        }
        Err(e) => error(e),
    }
}

async fn answer(emu: &Emulator, call: &EcsCall, input: &Json) -> OpResult {
    let now = Instant::now();
    let moto = || {
        endpoint_from_env("ECS").map(|endpoint| Moto { endpoint, caller: call.caller.as_deref(), region: &call.region })
    };
    let sync_call = |transition| Call {
        region: call.region.clone(),
        account: emu.account.clone(),
        caller: call.caller.clone(),
        now,
        transition,
        subnet_vpcs: None,
    };
    match call.operation.as_str() {
        "CreateExpressGatewayService" => {
            let moto = moto().ok_or_else(|| ApiError::new("ServerException", "no moto endpoint configured"))?;
            let cluster = text(input, "cluster").unwrap_or("default");
            let cluster_arn = moto.cluster_arn(cluster).await?;
            let account = cluster_arn.split(':').nth(4).unwrap_or_default().to_string();
            let plan = {
                let mut state = emu.state.lock().unwrap();
                state.express.entry(call.region.clone()).or_default().plan_create(input, &account)?
            };
            let subnets: Vec<&str> = plan
                .config
                .pointer("/networkConfiguration/subnets")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(Json::as_str)
                .collect();
            let vpcs = crate::network::subnet_vpcs(&call.region, call.caller.as_deref(), &subnets).await;
            let vpc = vpcs.as_ref().and_then(|v| subnets.iter().find_map(|s| v.get(*s))).cloned().ok_or_else(|| {
                ApiError::new("InvalidParameterException", format!("The subnets {subnets:?} were not found"))
            })?;
            let infra = moto.provision(&plan, &vpc).await?;
            let mut state = emu.state.lock().unwrap();
            let transition = state.transition;
            state.express.entry(call.region.clone()).or_default().create(
                plan,
                &cluster_arn,
                infra,
                &sync_call(transition),
            )
        }
        "DeleteExpressGatewayService" => {
            let (output, infra): (Json, Infra) = {
                let mut state = emu.state.lock().unwrap();
                let transition = state.transition;
                state.express.entry(call.region.clone()).or_default().delete(input, &sync_call(transition))?
            };
            if let Some(moto) = moto() {
                moto.deprovision(&infra).await;
            }
            Ok(output)
        }
        operation => {
            let mut state = emu.state.lock().unwrap();
            let transition = state.transition;
            let express = state.express.entry(call.region.clone()).or_default();
            match operation {
                "DescribeExpressGatewayService" => express.describe(input),
                "UpdateExpressGatewayService" => express.update(input, &sync_call(transition)),
                "DescribeServiceRevisions" => express.describe_revisions(input),
                "DescribeServiceDeployments" => express.describe_deployments(input),
                tags => express.tags(tags, input),
            }
        }
    }
}

/// Moves the region's deployments and deletions along before a call is answered, and registers
/// the tasks of services whose first deployment finished with their target groups
/// (`Express::take_registrations`): until then the load balancer has no healthy target for them.
async fn settle(emu: &Emulator, region: &str) {
    let ready = {
        let mut state = emu.state.lock().unwrap();
        let health_check = state.health_check;
        let express = state.express.entry(region.to_string()).or_default();
        express.settle(Instant::now());
        express.take_registrations(Instant::now(), health_check)
    };
    let Some(endpoint) = endpoint_from_env("ECS") else { return };
    for (infra, caller) in ready {
        let moto = Moto { endpoint: endpoint.clone(), caller: caller.as_deref(), region };
        moto.register_targets(&infra).await;
    }
}

/// The call as moto answers it (its status, headers and body).
async fn forward(parts: hyper::http::request::Parts, body: Bytes) -> Reply {
    let Some(upstream) = endpoint_from_env("ECS") else {
        return error(ApiError::new("ServerException", "no moto endpoint configured for the rest of ECS"));
    };
    match crate::proxy::forward(&upstream, parts, body).await {
        Ok(reply) => reply,
        Err(e) => {
            reply(StatusCode::BAD_GATEWAY, json!({ "__type": "ServerException", "message": e }).to_string(), None)
        }
    }
}

fn error(e: ApiError) -> Reply {
    let status = if e.shape == "ServerException" { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::BAD_REQUEST };
    let body = json!({ "__type": e.shape, "message": e.message }).to_string();
    reply(status, body, Some(&e.shape))
}

fn reply(status: StatusCode, body: String, error_type: Option<&str>) -> Reply {
    let mut builder = Response::builder().status(status).header("content-type", CONTENT_TYPE);
    if let Some(t) = error_type {
        builder = builder.header("x-amzn-errortype", t);
    }
    builder.body(Full::new(Bytes::from(body))).expect("a valid response")
}
