//! What every service of the emulator shares: the error and result of an operation, what it
//! knows about the call, the HTTP reply, and small value helpers. A leaf: it uses no other module.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::Value as Json;
use std::collections::BTreeMap;
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

pub fn respond(status: StatusCode, content_type: &str, body: String, error_type: Option<&str>) -> Reply {
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

pub fn request_id() -> String {
    let r: u128 = rand::random();
    let h = format!("{r:032x}");
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}
