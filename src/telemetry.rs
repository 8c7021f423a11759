//! Output: every tracing event as one line, JSON by default (what CloudWatch Logs and metric
//! filters read) or readable text for people at a terminal. Events of `steward::events` carry a
//! JSON payload that becomes the line's top-level fields.

use serde_json::{Map, Value as Json, json};
use std::fmt;
use tracing::field::{Field, Visit};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

struct Fields(Map<String, Json>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        let value = if field.name() == "payload" {
            serde_json::from_str(&text).unwrap_or(Json::String(text))
        } else {
            Json::String(text)
        };
        self.0.insert(field.name().to_string(), value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), json!(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), json!(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), json!(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), json!(value));
    }
}

pub struct Format {
    format: LogFormat,
    /// Text mode on a terminal, without `NO_COLOR`: the leading word of a line is coloured.
    colour: bool,
    /// Text mode: the last pass summary printed per stack, so that a pass that changed nothing
    /// prints nothing.
    last_pass: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
}

impl<S, N> FormatEvent<S, N> for Format
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields(Map::new());
        event.record(&mut fields);
        let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let level = event.metadata().level().to_string();
        let mut line = Map::new();
        line.insert("timestamp".into(), json!(timestamp));
        line.insert("level".into(), json!(level));
        match fields.0.remove("payload") {
            Some(Json::Object(payload)) => line.extend(payload),
            _ => {
                line.insert("target".into(), json!(event.metadata().target()));
                line.extend(fields.0);
            }
        }
        match self.format {
            LogFormat::Json => writeln!(writer, "{}", Json::Object(line)),
            LogFormat::Text if line.get("event") == Some(&json!("pass_completed")) => {
                let (state, summary) = pass_summary(&line);
                let stacks = line.get("stacks").map(Json::to_string).unwrap_or_default();
                let mut last = self.last_pass.lock().unwrap();
                if last.get(&stacks) == Some(&state) {
                    return Ok(());
                }
                last.insert(stacks, state);
                let time = line.get("timestamp").and_then(Json::as_str).and_then(|t| t.get(11..19)).unwrap_or_default();
                let number = |k: &str| line.get(k).and_then(Json::as_u64).unwrap_or(0);
                // The pass in which every resource became ready says so.
                let word =
                    if number("resources") > 0 && number("ready") == number("resources") { "ready" } else { "pass" };
                writeln!(writer, "{time} {}{summary}", self.paint(&format!("{word:<8}")))
            }
            LogFormat::Text => {
                let text = text_line(&line);
                match text.split_once(' ').and_then(|(time, rest)| rest.split_once(' ').map(|(w, r)| (time, w, r))) {
                    Some((time, word, rest)) => writeln!(writer, "{time} {} {rest}", self.paint(word)),
                    None => writeln!(writer, "{text}"),
                }
            }
        }
    }
}

impl Format {
    /// The leading word of a text line, in the colour of what it says (ANSI, only on a terminal).
    fn paint(&self, word: &str) -> String {
        if !self.colour {
            return word.to_string();
        }
        let code = match word.trim() {
            "drift" | "ERROR" => "31",
            "healed" | "ready" | "applied" | "created" => "32",
            "WARN" | "state" => "33",
            "change" => "36",
            "pass" => "2",
            _ => return word.to_string(),
        };
        format!("\x1b[{code}m{word}\x1b[0m")
    }
}

/// A pass in one short line, and the part of it that decides whether it is worth printing
/// (the counts, not the calls or the time, which move every pass):
/// `mentor-match  18/18 ready, 0 drifted, 14 calls, 230 ms`.
fn pass_summary(line: &Map<String, Json>) -> (String, String) {
    let number = |k: &str| line.get(k).and_then(Json::as_u64).unwrap_or(0);
    let stacks: Vec<&str> =
        line.get("stacks").and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str).collect();
    let calls: u64 = line
        .get("awsCalls")
        .and_then(Json::as_object)
        .into_iter()
        .flat_map(|services| services.values())
        .filter_map(Json::as_object)
        .flat_map(|ops| ops.values())
        .filter_map(Json::as_u64)
        .sum();
    let mut counts = format!("{}/{} ready, {} drifted", number("ready"), number("resources"), number("drifted"));
    for (k, label) in [("busy", "busy"), ("waiting", "waiting"), ("failed", "failed")] {
        if number(k) > 0 {
            counts.push_str(&format!(", {} {label}", number(k)));
        }
    }
    let summary = format!("{}  {counts}, {calls} calls, {} ms", stacks.join(","), number("durationMs"));
    (counts, summary)
}

/// `12:00:01 drift_detected mentor-match CacheCluster/mentor-match-redis field=… desired=…`
fn text_line(line: &Map<String, Json>) -> String {
    let time = line.get("timestamp").and_then(Json::as_str).map(|t| t.get(11..19).unwrap_or(t)).unwrap_or_default();
    let show = |v: &Json| match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(readable) = feed_line(line, &show) {
        return format!("{time} {readable}");
    }
    let mut out = format!("{time} ");
    let skip = ["timestamp", "level", "event", "stack", "kind", "name", "target", "message"];
    if let Some(event) = line.get("event") {
        out.push_str(&format!("{:<16}", show(event)));
        if let (Some(stack), Some(kind), Some(name)) = (line.get("stack"), line.get("kind"), line.get("name")) {
            out.push_str(&format!(" {}  {}/{}", show(stack), show(kind), show(name)));
        }
    } else {
        out.push_str(&format!("{:<5} {}", show(&line["level"]), line.get("message").map(show).unwrap_or_default()));
    }
    for (k, v) in line.iter().filter(|(k, _)| !skip.contains(&k.as_str())) {
        out.push_str(&format!("  {k}={}", show(v)));
    }
    out
}

/// The alert feed's events as one sentence each:
/// `drift   mentor-match  CacheCluster/mentor-match-redis  deleted → recreating` and
/// `change  mentor-match  EcsService/mentor-match-worker  desiredCount 1 → 2  (v7 by alice: "scale up")`.
fn feed_line(line: &Map<String, Json>, show: &dyn Fn(&Json) -> String) -> Option<String> {
    let text = |k: &str| line.get(k).map(show).unwrap_or_default();
    let target = format!("{}  {}/{}", text("stack"), text("kind"), text("name"));
    // Who made a drift, when an AWS event named them.
    let by = match line.get("actor").and_then(|a| a.get("principal")).and_then(Json::as_str) {
        Some(principal) => format!("  by {principal}"),
        None => String::new(),
    };
    let what = match line.get("event")?.as_str()? {
        "drift_detected" if text("field") == "(existence)" && text("cause") == "deleted" => {
            let then =
                if text("action") == "deferred" { "made again when the heal window opens" } else { "recreating" };
            format!("drift   {target}  deleted → {then}{by}")
        }
        "drift_detected" => {
            // A set's members added and removed out of band; an empty side is not printed.
            let members = |k: &str| line.get(k).filter(|v| v.as_array().is_none_or(|a| !a.is_empty()));
            let sets: Vec<String> = ["added", "removed"]
                .into_iter()
                .filter_map(|k| members(k).map(|v| format!("{k} {}", show(v))))
                .collect();
            let sets = if sets.is_empty() { String::new() } else { format!("  {}", sets.join(", ")) };
            let critical = if text("severity") == "critical" { "CRITICAL " } else { "" };
            format!(
                "drift   {target}  {critical}{} {} → {} ({}){sets}{by}",
                text("field"),
                text("actual"),
                text("desired"),
                text("action")
            )
        }
        "drift_corrected" if line.get("recreated") == Some(&Json::Bool(true)) => format!("healed  {target}  recreated"),
        "drift_corrected" => format!("healed  {target}  {} = {}", text("field"), text("value")),
        "change_started" => {
            let fields: Vec<String> = line
                .get("fields")?
                .as_array()?
                .iter()
                .map(|f| format!("{} {} → {}", show(&f["field"]), show(&f["from"]), show(&f["to"])))
                .collect();
            let what =
                if line.get("create") == Some(&Json::Bool(true)) { "create".to_string() } else { fields.join(", ") };
            let message = match line.get("message") {
                Some(Json::String(m)) => format!(": {m:?}"),
                _ => String::new(),
            };
            format!("change  {target}  {what}  (v{} by {}{message})", text("version"), text("author"))
        }
        "change_applied" => format!("applied {target}  v{}", text("version")),
        "resource_created" => format!("created {target}  from v{}", text("version")),
        "state_changed" => {
            // The message often starts with the state itself: only what it adds is shown.
            let why = match text("message") {
                m if m.is_empty() || m.starts_with(&text("to")) => String::new(),
                m => format!("  ({m})"),
            };
            format!("state   {target}  {} → {}{why}", text("from"), text("to"))
        }
        _ => return None,
    };
    Some(what)
}

/// Installs the formatter on stdout. `RUST_LOG` filters as usual (default: info). Text on a
/// terminal is coloured unless `NO_COLOR` is set (no-color.org).
pub fn init(format: LogFormat) {
    use std::io::IsTerminal;
    let colour = format == LogFormat::Text
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,aws=warn,hyper=warn,tokio_cron_scheduler=warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .event_format(Format { format, colour, last_pass: Default::default() })
        .with_writer(std::io::stdout)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line(value: Json) -> String {
        let Json::Object(map) = value else { unreachable!() };
        text_line(&map)
    }

    #[test]
    fn a_pass_is_one_short_line_printed_when_its_counts_change() {
        let pass = json!({ "event": "pass_completed", "stacks": ["mentor-match"], "resources": 18, "ready": 17,
            "drifted": 0, "busy": 1, "durationMs": 230, "awsCalls": { "EC2": { "DescribeVpcEndpoints": 1 }, "ECS": { "DescribeServices": 2 } } });
        let Json::Object(map) = pass else { unreachable!() };
        let (state, summary) = pass_summary(&map);
        assert_eq!(summary, "mentor-match  17/18 ready, 0 drifted, 1 busy, 3 calls, 230 ms");
        assert_eq!(state, "17/18 ready, 0 drifted, 1 busy");
    }

    #[test]
    fn feed_events_read_as_sentences() {
        let base = json!({ "timestamp": "2026-12-01T12:00:01Z", "stack": "mentor-match" });
        let with = |extra: Json| {
            let mut v = base.clone();
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            line(v)
        };
        assert_eq!(
            with(json!({ "event": "drift_detected", "kind": "CacheCluster", "name": "mentor-match-redis",
                "field": "(existence)", "cause": "deleted", "desired": "present", "actual": "absent", "action": "correcting" })),
            "12:00:01 drift   mentor-match  CacheCluster/mentor-match-redis  deleted → recreating"
        );
        assert_eq!(
            with(json!({ "event": "change_started", "kind": "EcsService", "name": "mentor-match-worker", "version": 7,
                "author": "alice", "message": "scale up", "create": false,
                "fields": [{ "field": "desiredCount", "from": 1, "to": 2 }] })),
            "12:00:01 change  mentor-match  EcsService/mentor-match-worker  desiredCount 1 → 2  (v7 by alice: \"scale up\")"
        );
        assert_eq!(
            with(json!({ "event": "drift_detected", "kind": "EcsService", "name": "w", "field": "desiredCount",
                "desired": 1, "actual": 0, "action": "correcting", "cause": "modified" })),
            "12:00:01 drift   mentor-match  EcsService/w  desiredCount 0 → 1 (correcting)"
        );
        assert_eq!(
            with(json!({ "event": "state_changed", "kind": "CacheCluster", "name": "r", "from": "pending",
                "to": "creating", "phase": "Busy", "message": "creating: waiting for AWS to finish" })),
            "12:00:01 state   mentor-match  CacheCluster/r  pending → creating"
        );
        assert_eq!(
            with(json!({ "event": "state_changed", "kind": "EcsService", "name": "w", "from": "waiting",
                "to": "creating", "phase": "Creating", "message": "create requested" })),
            "12:00:01 state   mentor-match  EcsService/w  waiting → creating  (create requested)"
        );
        let paint = |colour| Format { format: LogFormat::Text, colour, last_pass: Default::default() };
        assert_eq!(paint(true).paint("drift"), "\x1b[31mdrift\x1b[0m");
        assert_eq!(paint(false).paint("drift"), "drift");
        assert_eq!(
            with(json!({ "event": "resource_created", "kind": "EcsCluster", "name": "c", "version": 1 })),
            "12:00:01 created mentor-match  EcsCluster/c  from v1"
        );
        // A set's drift line names only the sides that have members.
        assert_eq!(
            with(json!({ "event": "drift_detected", "kind": "EcsService", "name": "w", "field": "securityGroups",
                "desired": ["sg-1"], "actual": [], "action": "correcting", "cause": "modified",
                "added": [], "removed": ["sg-1"] })),
            "12:00:01 drift   mentor-match  EcsService/w  securityGroups [] → [\"sg-1\"] (correcting)  removed [\"sg-1\"]"
        );
        // Critical drift says so.
        assert_eq!(
            with(json!({ "event": "drift_detected", "kind": "SecurityGroup", "name": "g", "field": "ingress",
                "desired": [], "actual": ["r"], "action": "correcting", "cause": "modified",
                "added": ["r"], "removed": [], "severity": "critical" })),
            "12:00:01 drift   mentor-match  SecurityGroup/g  CRITICAL ingress [\"r\"] → [] (correcting)  added [\"r\"]"
        );
        // Other events keep the generic key=value form.
        assert!(
            with(json!({ "event": "resource_deleted", "kind": "EcsCluster", "name": "c", "version": 1 }))
                .contains("version=1")
        );
    }
}
