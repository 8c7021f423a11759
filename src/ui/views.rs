//! What the pages show, computed from what the store holds (pure, table-tested): phases in the
//! stacks page's buckets, timeline entries as rows with their heal paired, values shortened.

use crate::model::ResourceKey;
use crate::status::Phase;
use crate::store::TimelineEntry;
use serde_json::Value as Json;

/// The stacks page's columns: every phase falls in one.
pub fn bucket(phase: Phase) -> &'static str {
    match phase {
        Phase::Ready | Phase::Deleted | Phase::Retained => "ready",
        Phase::Drifted | Phase::Deferred => "drifted",
        Phase::Failed | Phase::Terminal | Phase::NotOwned | Phase::Blocked => "failed",
        Phase::Paused => "paused",
        Phase::Pending
        | Phase::Waiting
        | Phase::Busy
        | Phase::Creating
        | Phase::Updating
        | Phase::Adopting
        | Phase::Deleting => "waiting",
    }
}

/// Counts per bucket, in the stacks page's order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Counts {
    pub ready: usize,
    pub drifted: usize,
    pub failed: usize,
    pub waiting: usize,
    pub paused: usize,
}

impl Counts {
    pub fn of(phases: impl IntoIterator<Item = Phase>) -> Counts {
        let mut c = Counts::default();
        for phase in phases {
            match bucket(phase) {
                "ready" => c.ready += 1,
                "drifted" => c.drifted += 1,
                "failed" => c.failed += 1,
                "paused" => c.paused += 1,
                _ => c.waiting += 1,
            }
        }
        c
    }
}

/// A JSON value for a table cell: strings without quotes, long values cut.
pub fn short(value: &Json) -> String {
    let text = match value {
        Json::String(s) => s.clone(),
        Json::Null => "(absent)".into(),
        other => other.to_string(),
    };
    const MAX: usize = 160;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// One line of a timeline as the pages show it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimelineRow {
    pub at: String,
    /// `Kind/name` (for the stack's timeline, which names the resource).
    pub resource: String,
    pub kind: String,
    pub name: String,
    pub event: String,
    /// drift, heal, change, failure, block or mark: the row's colour.
    pub class: &'static str,
    pub field: String,
    pub summary: String,
    pub cause: String,
    pub action: String,
    /// Who made the change (an AWS event's principal), or who set a mark.
    pub principal: String,
    pub session: String,
    /// For a drift: when the same field of the same resource was corrected after it.
    pub healed_at: String,
}

fn text(event: &Json, name: &str) -> String {
    match &event[name] {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn row_of(entry: &TimelineEntry) -> TimelineRow {
    let e = &entry.event;
    let event = text(e, "event");
    let (class, summary) = match event.as_str() {
        "drift_detected" => ("drift", format!("{} → {}", short(&e["desired"]), short(&e["actual"]))),
        "drift_corrected" if e["recreated"] == true => ("heal", "made again".to_string()),
        "drift_corrected" => ("heal", format!("set to {}", short(&e["value"]))),
        "change_started" => {
            let fields: Vec<String> = e["fields"].as_array().into_iter().flatten().map(|f| text(f, "field")).collect();
            let what = if fields.is_empty() { String::new() } else { format!(": {}", fields.join(", ")) };
            ("change", format!("version {} by {}{what}", e["version"], text(e, "author")))
        }
        "change_applied" => ("change", format!("version {} applied", e["version"])),
        "resource_created" => ("change", format!("created from version {}", e["version"])),
        "resource_adopted" => ("change", format!("adopted {}", text(e, "id"))),
        "resource_deleted" => ("change", format!("deleted ({})", text(e, "deletionPolicy"))),
        "resource_recreating" => ("failure", format!("made again from state {}", text(e, "state"))),
        "reconcile_failed" => (
            "failure",
            format!(
                "{} failed: {} {} (attempt {})",
                text(e, "operation"),
                text(e, "errorCode"),
                text(e, "message"),
                e["attempt"]
            ),
        ),
        "resource_blocked" => ("block", format!("{}: {}", text(e, "reason"), text(e, "message"))),
        "paused" | "resumed" | "replacement_approved" => ("mark", String::new()),
        _ => ("change", String::new()),
    };
    let actor = &e["actor"];
    let principal = match text(e, "by") {
        by if !by.is_empty() => by,
        _ => text(actor, "principal"),
    };
    TimelineRow {
        at: entry.at.clone(),
        resource: format!("{}/{}", text(e, "kind"), text(e, "name")),
        kind: text(e, "kind"),
        name: text(e, "name"),
        event,
        class,
        field: text(e, "field"),
        summary,
        cause: text(e, "cause"),
        action: text(e, "action"),
        principal,
        session: text(actor, "sessionName"),
        healed_at: String::new(),
    }
}

/// Rows of timeline entries given newest first; each drift is paired with the first correction
/// of the same field of the same resource that came after it.
pub fn timeline_rows(entries: &[TimelineEntry]) -> Vec<TimelineRow> {
    let mut rows: Vec<TimelineRow> = entries.iter().map(row_of).collect();
    for i in 0..rows.len() {
        if rows[i].event != "drift_detected" {
            continue;
        }
        // Newer entries have smaller indexes: the nearest newer correction is the largest one.
        let healed = (0..i).rev().find(|&j| {
            rows[j].event == "drift_corrected" && rows[j].resource == rows[i].resource && rows[j].field == rows[i].field
        });
        if let Some(j) = healed {
            rows[i].healed_at = rows[j].at.clone();
        }
    }
    rows
}

/// The console's address of a resource page.
pub fn resource_href(key: &ResourceKey) -> String {
    format!("/stacks/{}/r/{}/{}", encode(&key.stack), key.kind, encode(&key.name))
}

/// Percent-encodes a path segment (names are plain in practice; this keeps odd ones routable).
pub fn encode(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;
    use serde_json::json;

    fn entry(at: &str, event: Json) -> TimelineEntry {
        TimelineEntry { at: at.into(), event }
    }

    #[test]
    fn a_drift_is_paired_with_the_correction_that_followed_it() {
        let drift = |at: &str, name: &str, field: &str| {
            entry(
                at,
                json!({"event": "drift_detected", "kind": "EcsService", "name": name, "field": field,
                "desired": 1, "actual": 0, "cause": "modified", "action": "correcting",
                "actor": {"principal": "arn:aws:sts::1:assumed-role/oncall/alice", "sessionName": "alice"}}),
            )
        };
        let healed = |at: &str, name: &str, field: &str| {
            entry(
                at,
                json!({"event": "drift_corrected", "kind": "EcsService", "name": name, "field": field, "value": 1}),
            )
        };
        // Newest first.
        let entries = [
            healed("t5", "w", "desiredCount"),
            drift("t4", "w", "desiredCount"),
            healed("t3", "other", "desiredCount"),
            healed("t2", "w", "desiredCount"),
            healed("t2", "w", "image"),
            drift("t1", "w", "desiredCount"),
            drift("t0", "w", "image"),
        ];
        let rows = timeline_rows(&entries);
        let healed_at: Vec<&str> = rows.iter().map(|r| r.healed_at.as_str()).collect();
        assert_eq!(healed_at, ["", "t5", "", "", "", "t2", "t2"]);
        assert_eq!(rows[1].principal, "arn:aws:sts::1:assumed-role/oncall/alice");
        assert_eq!(rows[1].session, "alice");
        assert_eq!(rows[1].summary, "1 → 0");
        assert_eq!((rows[1].class, rows[0].class), ("drift", "heal"));
        assert_eq!(rows[1].resource, "EcsService/w");
    }

    #[test]
    fn marks_name_who_set_them_and_failures_say_what_failed() {
        let rows = timeline_rows(&[
            entry("t1", json!({"event": "paused", "kind": "EcsService", "name": "w", "by": "arn:aws:iam::1:user/dev"})),
            entry(
                "t0",
                json!({"event": "reconcile_failed", "kind": "EcsService", "name": "w", "operation": "UpdateService",
                "errorCode": "Throttling", "message": "slow down", "attempt": 2}),
            ),
        ]);
        assert_eq!((rows[0].class, rows[0].principal.as_str()), ("mark", "arn:aws:iam::1:user/dev"));
        assert_eq!(rows[1].summary, "UpdateService failed: Throttling slow down (attempt 2)");
    }

    #[test]
    fn every_phase_has_a_bucket_and_values_are_cut() {
        let counts =
            Counts::of([Phase::Ready, Phase::Drifted, Phase::NotOwned, Phase::Busy, Phase::Paused, Phase::Retained]);
        assert_eq!(counts, Counts { ready: 2, drifted: 1, failed: 1, waiting: 1, paused: 1 });
        assert_eq!(short(&json!("abc")), "abc");
        assert_eq!(short(&Json::Null), "(absent)");
        assert_eq!(short(&json!("é".repeat(200))).chars().count(), 161);
        assert_eq!(resource_href(&ResourceKey::new("mm", Kind::EcsService, "a b")), "/stacks/mm/r/EcsService/a%20b");
    }
}
