//! The official service models (botocore's JSON, read at start from the installed botocore) drive
//! the wire format: awsQuery form parameters → JSON input, JSON output → awsQuery XML, input
//! validation (required members, enums, lengths, ranges), error codes and HTTP statuses. Every
//! response is checked against its output shape; undeclared members are counted as conformance
//! violations that tests assert to be zero.

use anyhow::{Context, Result, anyhow};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Model {
    pub metadata: Json,
    operations: Map<String, Json>,
    shapes: Map<String, Json>,
    pub violations: AtomicU64,
}

/// Where botocore keeps its `data/` folder: `--botocore-data`, `$BOTOCORE_DATA`, or asked of python3.
pub fn botocore_data_dir(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir);
    }
    let out = std::process::Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .args(["-c", "import botocore, os; print(os.path.join(os.path.dirname(botocore.__file__), 'data'))"])
        .output()
        .context("running python3 to find botocore (install boto3, or pass --botocore-data)")?;
    if !out.status.success() {
        return Err(anyhow!("botocore is not importable: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

impl Model {
    pub fn load(data_dir: &Path, service: &str, version: &str) -> Result<Model> {
        let dir = data_dir.join(service).join(version);
        let plain = dir.join("service-2.json");
        let text = if plain.exists() {
            std::fs::read_to_string(&plain)?
        } else {
            let gz = dir.join("service-2.json.gz");
            let file = std::fs::File::open(&gz).with_context(|| format!("opening {}", gz.display()))?;
            let mut text = String::new();
            flate2::read::GzDecoder::new(file).read_to_string(&mut text)?;
            text
        };
        let mut json: Json = serde_json::from_str(&text).with_context(|| format!("parsing the {service} model"))?;
        let take = |j: &mut Json, k: &str| {
            j.get_mut(k).map(Json::take).and_then(|v| v.as_object().cloned()).unwrap_or_default()
        };
        Ok(Model {
            metadata: json.get("metadata").cloned().unwrap_or_default(),
            operations: take(&mut json, "operations"),
            shapes: take(&mut json, "shapes"),
            violations: AtomicU64::new(0),
        })
    }

    pub fn has_operation(&self, name: &str) -> bool {
        self.operations.contains_key(name)
    }

    pub fn input_shape(&self, op: &str) -> Option<&str> {
        self.operations.get(op)?.pointer("/input/shape")?.as_str()
    }

    pub fn output_shape(&self, op: &str) -> Option<&str> {
        self.operations.get(op)?.pointer("/output/shape")?.as_str()
    }

    pub fn result_wrapper(&self, op: &str) -> Option<&str> {
        self.operations.get(op)?.pointer("/output/resultWrapper")?.as_str()
    }

    fn shape(&self, name: &str) -> &Json {
        self.shapes.get(name).unwrap_or(&Json::Null)
    }

    /// The wire code and HTTP status of an error shape (e.g. CacheClusterNotFoundFault →
    /// CacheClusterNotFound, 404); shapes without an `error` trait use their name and 400.
    pub fn error_code(&self, shape: &str) -> (String, u16) {
        let s = self.shape(shape);
        let code = s.pointer("/error/code").and_then(Json::as_str).unwrap_or(shape).to_string();
        let status = s.pointer("/error/httpStatusCode").and_then(Json::as_u64).unwrap_or(400) as u16;
        (code, status)
    }

    fn member_location<'a>(&self, member_name: &'a str, member: &'a Json) -> &'a str {
        member.get("locationName").and_then(Json::as_str).unwrap_or(member_name)
    }

    // ---- awsQuery input -------------------------------------------------------------------

    /// Turns flat form parameters (`SecurityGroupIds.SecurityGroupId.1=sg-1`) into JSON by shape.
    pub fn parse_query(&self, shape: &str, params: &BTreeMap<String, String>) -> Json {
        self.parse_query_value(shape, "", params).unwrap_or_else(|| Json::Object(Map::new()))
    }

    fn parse_query_value(&self, shape_name: &str, prefix: &str, params: &BTreeMap<String, String>) -> Option<Json> {
        let shape = self.shape(shape_name);
        let join = |p: &str, k: &str| if p.is_empty() { k.to_string() } else { format!("{p}.{k}") };
        match shape.get("type").and_then(Json::as_str).unwrap_or("string") {
            "structure" => {
                let mut out = Map::new();
                for (name, member) in shape.get("members").and_then(Json::as_object).into_iter().flatten() {
                    let target = member.get("shape").and_then(Json::as_str).unwrap_or_default();
                    if let Some(v) =
                        self.parse_query_value(target, &join(prefix, self.member_location(name, member)), params)
                    {
                        out.insert(name.clone(), v);
                    }
                }
                (!out.is_empty() || prefix.is_empty()).then_some(Json::Object(out))
            }
            "list" => {
                if params.get(prefix).is_some_and(String::is_empty) {
                    return Some(Json::Array(Vec::new()));
                }
                let member = shape.get("member").cloned().unwrap_or_default();
                let target = member.get("shape").and_then(Json::as_str).unwrap_or_default();
                let flattened = shape.get("flattened").and_then(Json::as_bool).unwrap_or(false);
                let base =
                    if flattened { prefix.to_string() } else { join(prefix, self.member_location("member", &member)) };
                let mut items = Vec::new();
                for i in 1.. {
                    match self.parse_query_value(target, &format!("{base}.{i}"), params) {
                        Some(v) => items.push(v),
                        None => break,
                    }
                }
                (!items.is_empty()).then_some(Json::Array(items))
            }
            "map" => {
                let mut out = Map::new();
                for i in 1.. {
                    let key = params.get(&format!("{prefix}.entry.{i}.key"));
                    let value = params.get(&format!("{prefix}.entry.{i}.value"));
                    match (key, value) {
                        (Some(k), Some(v)) => out.insert(k.clone(), Json::String(v.clone())),
                        _ => break,
                    };
                }
                (!out.is_empty()).then_some(Json::Object(out))
            }
            kind => {
                let raw = params.get(prefix)?;
                Some(match kind {
                    "integer" | "long" => raw.parse::<i64>().map(Json::from).unwrap_or(Json::String(raw.clone())),
                    "boolean" => match raw.as_str() {
                        "true" => Json::Bool(true),
                        "false" => Json::Bool(false),
                        _ => Json::String(raw.clone()),
                    },
                    _ => Json::String(raw.clone()),
                })
            }
        }
    }

    // ---- input validation -------------------------------------------------------------------

    /// The first problem with an input, phrased as AWS phrases validation errors.
    pub fn validate(&self, shape_name: &str, value: &Json, path: &str) -> Option<String> {
        let shape = self.shape(shape_name);
        let kind = shape.get("type").and_then(Json::as_str).unwrap_or("string");
        let here = if path.is_empty() { "the request".to_string() } else { path.to_string() };
        match (kind, value) {
            ("structure", Json::Object(map)) => {
                for required in shape.get("required").and_then(Json::as_array).into_iter().flatten() {
                    let name = required.as_str().unwrap_or_default();
                    if !map.contains_key(name) {
                        return Some(format!("The parameter {name} must be provided."));
                    }
                }
                let members = shape.get("members").and_then(Json::as_object)?;
                for (name, v) in map {
                    let Some(member) = members.get(name) else {
                        return Some(format!("Unknown parameter {name} in {here}."));
                    };
                    let target = member.get("shape").and_then(Json::as_str).unwrap_or_default();
                    let child = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
                    if let Some(problem) = self.validate(target, v, &child) {
                        return Some(problem);
                    }
                }
                None
            }
            ("list", Json::Array(items)) => {
                let target = shape.pointer("/member/shape").and_then(Json::as_str).unwrap_or_default();
                if let Some(max) = shape.get("max").and_then(Json::as_u64)
                    && items.len() as u64 > max
                {
                    return Some(format!("{here} has more than {max} items."));
                }
                items.iter().enumerate().find_map(|(i, v)| self.validate(target, v, &format!("{here}[{i}]")))
            }
            ("map", Json::Object(map)) => {
                let target = shape.pointer("/value/shape").and_then(Json::as_str).unwrap_or_default();
                map.iter().find_map(|(k, v)| self.validate(target, v, &format!("{here}.{k}")))
            }
            ("string", Json::String(s)) => {
                if let Some(options) = shape.get("enum").and_then(Json::as_array)
                    && !options.iter().any(|o| o.as_str() == Some(s.as_str()))
                {
                    let list: Vec<&str> = options.iter().filter_map(Json::as_str).collect();
                    return Some(format!("Invalid value {s:?} for {here}; expected one of: {}.", list.join(", ")));
                }
                let len = s.chars().count() as u64;
                if shape.get("min").and_then(Json::as_u64).is_some_and(|min| len < min) {
                    return Some(format!("{here} is shorter than its minimum length."));
                }
                if shape.get("max").and_then(Json::as_u64).is_some_and(|max| len > max) {
                    return Some(format!("{here} is longer than its maximum length."));
                }
                None
            }
            ("integer" | "long", Json::Number(n)) => {
                let v = n.as_i64().unwrap_or(0);
                if shape.get("min").and_then(Json::as_i64).is_some_and(|min| v < min)
                    || shape.get("max").and_then(Json::as_i64).is_some_and(|max| v > max)
                {
                    return Some(format!("{here} is out of range."));
                }
                None
            }
            ("boolean", Json::Bool(_)) | ("timestamp", _) | ("blob", _) | ("double" | "float", Json::Number(_)) => None,
            (expected, _) => Some(format!("Invalid type for {here}; expected {expected}.")),
        }
    }

    // ---- output -------------------------------------------------------------------------------

    /// Serializes `value` as the awsQuery XML element `tag` of shape `shape_name`.
    pub fn to_xml(&self, shape_name: &str, value: &Json, tag: &str, out: &mut String) {
        let shape = self.shape(shape_name);
        match (shape.get("type").and_then(Json::as_str).unwrap_or("string"), value) {
            ("structure", Json::Object(map)) => {
                out.push_str(&format!("<{tag}>"));
                let members = shape.get("members").and_then(Json::as_object);
                for (name, v) in map {
                    match members.and_then(|m| m.get(name)) {
                        Some(member) => {
                            let target = member.get("shape").and_then(Json::as_str).unwrap_or_default();
                            self.to_xml(target, v, self.member_location(name, member), out);
                        }
                        None => self.violation(&format!("{shape_name} has no member {name}")),
                    }
                }
                out.push_str(&format!("</{tag}>"));
            }
            ("list", Json::Array(items)) => {
                let member = shape.get("member").cloned().unwrap_or_default();
                let target = member.get("shape").and_then(Json::as_str).unwrap_or_default();
                let item_tag = self.member_location("member", &member).to_string();
                if shape.get("flattened").and_then(Json::as_bool).unwrap_or(false) {
                    items.iter().for_each(|v| self.to_xml(target, v, tag, out));
                } else {
                    out.push_str(&format!("<{tag}>"));
                    items.iter().for_each(|v| self.to_xml(target, v, &item_tag, out));
                    out.push_str(&format!("</{tag}>"));
                }
            }
            ("structure" | "list" | "map", other) => self.violation(&format!("{shape_name} given {other}")),
            (_, Json::Null) => {}
            (_, scalar) => {
                let text = match scalar {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.push_str(&format!("<{tag}>{}</{tag}>", escape(&text)));
            }
        }
    }

    /// Checks a JSON-protocol output against its shape, counting undeclared members.
    pub fn check_json(&self, shape_name: &str, value: &Json) {
        let shape = self.shape(shape_name);
        match (shape.get("type").and_then(Json::as_str).unwrap_or("string"), value) {
            ("structure", Json::Object(map)) => {
                let members = shape.get("members").and_then(Json::as_object);
                for (name, v) in map {
                    match members.and_then(|m| m.get(name)) {
                        Some(member) => {
                            self.check_json(member.get("shape").and_then(Json::as_str).unwrap_or_default(), v)
                        }
                        None => self.violation(&format!("{shape_name} has no member {name}")),
                    }
                }
            }
            ("list", Json::Array(items)) => {
                let target = shape.pointer("/member/shape").and_then(Json::as_str).unwrap_or_default();
                items.iter().for_each(|v| self.check_json(target, v));
            }
            ("map", Json::Object(map)) => {
                let target = shape.pointer("/value/shape").and_then(Json::as_str).unwrap_or_default();
                map.values().for_each(|v| self.check_json(target, v));
            }
            ("string", Json::String(s)) => {
                if let Some(options) = shape.get("enum").and_then(Json::as_array)
                    && !options.iter().any(|o| {
                        let o = o.as_str().unwrap_or_default();
                        o == s || (AWS_CASE_QUIRKS.contains(&shape_name) && o.eq_ignore_ascii_case(s))
                    })
                {
                    self.violation(&format!("{shape_name} has no enum value {s}"));
                }
            }
            ("structure" | "list" | "map", other) => self.violation(&format!("{shape_name} given {other}")),
            _ => {}
        }
    }

    fn violation(&self, what: &str) {
        self.violations.fetch_add(1, Ordering::Relaxed);
        eprintln!("steward-emulator: response does not conform to the model: {what}");
    }
}

/// Enums that AWS answers in another letter case than its model spells them, as the emulator
/// does too (emulator/QUIRKS.md): their values are checked without regard to case.
const AWS_CASE_QUIRKS: [&str; 1] = ["CustomDomainAssociationStatus"];

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}
