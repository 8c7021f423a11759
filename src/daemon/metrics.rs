//! Counters for /metrics (Prometheus text) and CloudWatch Embedded Metric Format lines, fed by
//! the engine's events.

use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Label pairs of a series, in order.
pub type Labels = Vec<(String, String)>;

/// Every series /metrics serves: name, Prometheus type, help text. A counter with no sample
/// yet is shown at 0, so that `rate()` works from the first scrape.
pub const CATALOGUE: &[(&str, &str, &str)] = &[
    ("steward_passes_total", "counter", "Passes completed, by stack."),
    ("steward_pass_errors_total", "counter", "Passes that failed on steward's own store calls, by stack."),
    ("steward_drift_detected_total", "counter", "Drift found (changes made behind steward's back), by stack and kind."),
    (
        "steward_critical_drift_detected_total",
        "counter",
        "Security-relevant drift found (severity critical: healed at once), by stack and kind.",
    ),
    ("steward_drift_corrected_total", "counter", "Drift seen healed, by stack and kind."),
    ("steward_changes_applied_total", "counter", "Desired-state changes seen carried out, by stack and kind."),
    ("steward_reconcile_errors_total", "counter", "Failed actions (reconcile_failed events), by stack and kind."),
    ("steward_aws_calls_total", "counter", "AWS API attempts, retries included, by service and operation."),
    ("steward_aws_calls_failed_total", "counter", "AWS calls that still failed after the SDK's retries."),
    (
        "steward_events_total",
        "counter",
        "AWS events read from the events queue, by result: mapped, own (steward's calls), unmapped, unparseable.",
    ),
    ("steward_log_events_shipped_total", "counter", "Events shipped to CloudWatch Logs."),
    ("steward_log_events_dropped_total", "counter", "Events dropped before reaching CloudWatch Logs."),
    ("steward_log_batches_failed_total", "counter", "PutLogEvents batches that failed."),
    ("steward_pass_duration_seconds", "histogram", "Duration of passes."),
    (
        "steward_resources",
        "gauge",
        "Resources of each held stack by state at its last pass (ready, drifted, failed, waiting, busy).",
    ),
    ("steward_queue_depth", "gauge", "Stacks waiting for a pass."),
    ("steward_leases_held", "gauge", "Stack leases this replica holds."),
    ("steward_passes_in_flight", "gauge", "Passes running now."),
];

/// Upper bounds (seconds) of the pass-duration histogram's buckets.
const DURATION_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Default)]
struct Histogram {
    /// Cumulative counts, one per bucket of `DURATION_BUCKETS`.
    buckets: [u64; 10],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(String, Labels), f64>>,
    /// Per (stack, kind) counts of the pass in progress, for the EMF line at its end.
    pass: Mutex<BTreeMap<(String, String), [u64; 4]>>,
    durations: Mutex<Histogram>,
}

impl Metrics {
    pub fn add(&self, name: &str, labels: &[(&str, &str)], value: f64) {
        let labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        *self.counters.lock().unwrap().entry((name.to_string(), labels)).or_insert(0.0) += value;
    }

    /// Records one pass's duration in the histogram.
    pub fn observe_pass(&self, seconds: f64) {
        let mut h = self.durations.lock().unwrap();
        for (i, bound) in DURATION_BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// Counts what an engine event says.
    pub fn observe(&self, event: &Json) {
        let text = |k: &str| event.get(k).and_then(Json::as_str).unwrap_or_default().to_string();
        let (stack, kind) = (text("stack"), text("kind"));
        if text("event") == "change_applied" {
            // Intended changes are counted apart: drift counters and alarms see drift only.
            self.add("steward_changes_applied_total", &[("stack", &stack), ("kind", &kind)], 1.0);
        }
        let slot = match text("event").as_str() {
            "drift_detected" => Some(0),
            "drift_corrected" => Some(1),
            "reconcile_failed" => Some(2),
            _ => None,
        };
        if let Some(i) = slot {
            let name =
                ["steward_drift_detected_total", "steward_drift_corrected_total", "steward_reconcile_errors_total"][i];
            self.add(name, &[("stack", &stack), ("kind", &kind)], 1.0);
            self.pass.lock().unwrap().entry((stack.clone(), kind.clone())).or_default()[i] += 1;
        }
        if text("event") == "drift_detected" && text("severity") == "critical" {
            self.add("steward_critical_drift_detected_total", &[("stack", &stack), ("kind", &kind)], 1.0);
            self.pass.lock().unwrap().entry((stack, kind)).or_default()[3] += 1;
        }
    }

    /// EMF lines for a finished pass of `stack`: CloudWatch turns them into metrics in namespace
    /// Steward with dimensions Stack and Kind, with no CloudWatch API call.
    pub fn emf_lines(&self, stack: &str, duration_ms: u64) -> Vec<Json> {
        let counts: Vec<((String, String), [u64; 4])> = {
            let mut pass = self.pass.lock().unwrap();
            let mine: Vec<(String, String)> = pass.keys().filter(|(s, _)| s == stack).cloned().collect();
            mine.into_iter().filter_map(|k| pass.remove(&k).map(|v| (k, v))).collect()
        };
        let timestamp = chrono::Utc::now().timestamp_millis();
        let line = |kind: &str, values: [u64; 4], duration: Option<u64>| {
            let mut metrics = vec![
                json!({ "Name": "DriftDetected", "Unit": "Count" }),
                json!({ "Name": "DriftCorrected", "Unit": "Count" }),
                json!({ "Name": "ReconcileErrors", "Unit": "Count" }),
                json!({ "Name": "CriticalDrift", "Unit": "Count" }),
            ];
            let mut line = json!({
                "Stack": stack, "Kind": kind,
                "DriftDetected": values[0], "DriftCorrected": values[1], "ReconcileErrors": values[2],
                "CriticalDrift": values[3],
            });
            if let Some(ms) = duration {
                metrics.push(json!({ "Name": "ReconcileDurationMs", "Unit": "Milliseconds" }));
                line["ReconcileDurationMs"] = json!(ms);
            }
            line["_aws"] = json!({ "Timestamp": timestamp, "CloudWatchMetrics": [{ "Namespace": "Steward", "Dimensions": [["Stack", "Kind"]], "Metrics": metrics }] });
            line
        };
        let mut lines: Vec<Json> = counts.into_iter().map(|((_, kind), v)| line(&kind, v, None)).collect();
        lines.push(line("All", [0; 4], Some(duration_ms)));
        lines
    }

    /// Prometheus text of every series in `CATALOGUE`: this registry's counters and histogram,
    /// counters kept elsewhere (`external`, like the AWS call counts), and `gauges`.
    pub fn render(&self, external: &[(&str, Labels, f64)], gauges: &[(&str, Labels, f64)]) -> String {
        let counters = self.counters.lock().unwrap();
        let mut samples: BTreeMap<&str, Vec<(Labels, f64)>> = BTreeMap::new();
        for ((name, labels), value) in counters.iter() {
            samples.entry(name.as_str()).or_default().push((labels.clone(), *value));
        }
        for (name, labels, value) in external.iter().chain(gauges) {
            samples.entry(name).or_default().push((labels.clone(), *value));
        }
        let mut out = String::new();
        for (name, kind, help) in CATALOGUE {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            if *kind == "histogram" {
                let h = self.durations.lock().unwrap();
                for (bound, count) in DURATION_BUCKETS.iter().zip(h.buckets) {
                    out.push_str(&format!("{name}_bucket{{le=\"{bound}\"}} {count}\n"));
                }
                out.push_str(&format!(
                    "{name}_bucket{{le=\"+Inf\"}} {}\n{name}_sum {}\n{name}_count {}\n",
                    h.count, h.sum, h.count
                ));
                continue;
            }
            match samples.get(name) {
                Some(series) => {
                    for (labels, value) in series {
                        out.push_str(&format!("{name}{} {value}\n", label_text(labels)));
                    }
                }
                None if *kind == "counter" => out.push_str(&format!("{name} 0\n")),
                None => {}
            }
        }
        out
    }
}

fn label_text(labels: &Labels) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> =
        labels.iter().map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))).collect();
    format!("{{{}}}", pairs.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_become_counters_and_emf_lines() {
        let m = Metrics::default();
        m.observe(&json!({"event": "drift_detected", "stack": "s", "kind": "CacheCluster"}));
        m.observe(&json!({"event": "drift_detected", "stack": "s", "kind": "CacheCluster"}));
        m.observe(&json!({"event": "drift_detected", "stack": "s", "kind": "SecurityGroup", "severity": "critical"}));
        m.observe(&json!({"event": "change_started", "stack": "s", "kind": "EcsService"}));
        m.observe(&json!({"event": "change_applied", "stack": "s", "kind": "EcsService"}));
        let calls = vec![(
            "steward_aws_calls_total",
            vec![("service".into(), "EC2".into()), ("operation".into(), "DescribeVpcEndpoints".into())],
            1.0,
        )];
        m.observe_pass(0.2);
        m.observe_pass(3.0);
        let text = m.render(&calls, &[("steward_queue_depth", vec![], 0.0)]);
        assert!(text.contains("steward_drift_detected_total{stack=\"s\",kind=\"CacheCluster\"} 2\n"), "{text}");
        assert!(text.contains("steward_changes_applied_total{stack=\"s\",kind=\"EcsService\"} 1\n"), "{text}");
        let critical = "steward_critical_drift_detected_total{stack=\"s\",kind=\"SecurityGroup\"} 1\n";
        assert!(
            text.contains(critical)
                && !text.contains("critical_drift_detected_total{stack=\"s\",kind=\"CacheCluster\"")
        );
        assert!(!text.contains("steward_drift_detected_total{stack=\"s\",kind=\"EcsService\"}"), "{text}");
        assert!(text.contains("steward_aws_calls_total{service=\"EC2\",operation=\"DescribeVpcEndpoints\"} 1\n"));
        assert!(text.contains("# TYPE steward_queue_depth gauge\nsteward_queue_depth 0\n"), "{text}");
        // Every series has its help and type; counters without samples start at zero.
        for (name, kind, _) in CATALOGUE {
            assert!(text.contains(&format!("# HELP {name} ")) && text.contains(&format!("# TYPE {name} {kind}\n")));
        }
        assert!(text.contains("\nsteward_passes_total 0\n"), "{text}");
        assert!(text.contains("steward_pass_duration_seconds_bucket{le=\"0.25\"} 1\n"), "{text}");
        assert!(text.contains("steward_pass_duration_seconds_bucket{le=\"+Inf\"} 2\n"), "{text}");
        assert!(text.contains("steward_pass_duration_seconds_count 2\n"), "{text}");
        let lines = m.emf_lines("s", 12);
        assert_eq!(lines[0]["DriftDetected"], 2);
        assert_eq!((lines[0]["CriticalDrift"].as_u64(), lines[1]["CriticalDrift"].as_u64()), (Some(0), Some(1)));
        assert_eq!(lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Steward");
        assert_eq!(lines[2]["ReconcileDurationMs"], 12);
        assert!(m.emf_lines("s", 1)[0]["DriftDetected"] == 0, "counts reset per pass");
    }
}
