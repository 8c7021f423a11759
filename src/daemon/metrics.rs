//! Counters for /metrics (Prometheus text) and CloudWatch Embedded Metric Format lines, fed by
//! the engine's events.

use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Label pairs of a series, in order.
pub type Labels = Vec<(String, String)>;

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(String, Labels), f64>>,
    /// Per (stack, kind) counts of the pass in progress, for the EMF line at its end.
    pass: Mutex<BTreeMap<(String, String), [u64; 3]>>,
}

impl Metrics {
    pub fn add(&self, name: &str, labels: &[(&str, &str)], value: f64) {
        let labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        *self.counters.lock().unwrap().entry((name.to_string(), labels)).or_insert(0.0) += value;
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
            self.pass.lock().unwrap().entry((stack, kind)).or_default()[i] += 1;
        }
    }

    /// EMF lines for a finished pass of `stack`: CloudWatch turns them into metrics in namespace
    /// Steward with dimensions Stack and Kind, with no CloudWatch API call.
    pub fn emf_lines(&self, stack: &str, duration_ms: u64) -> Vec<Json> {
        let counts: Vec<((String, String), [u64; 3])> = {
            let mut pass = self.pass.lock().unwrap();
            let mine: Vec<(String, String)> = pass.keys().filter(|(s, _)| s == stack).cloned().collect();
            mine.into_iter().filter_map(|k| pass.remove(&k).map(|v| (k, v))).collect()
        };
        let timestamp = chrono::Utc::now().timestamp_millis();
        let line = |kind: &str, values: [u64; 3], duration: Option<u64>| {
            let mut metrics = vec![
                json!({ "Name": "DriftDetected", "Unit": "Count" }),
                json!({ "Name": "DriftCorrected", "Unit": "Count" }),
                json!({ "Name": "ReconcileErrors", "Unit": "Count" }),
            ];
            let mut line = json!({
                "Stack": stack, "Kind": kind,
                "DriftDetected": values[0], "DriftCorrected": values[1], "ReconcileErrors": values[2],
            });
            if let Some(ms) = duration {
                metrics.push(json!({ "Name": "ReconcileDurationMs", "Unit": "Milliseconds" }));
                line["ReconcileDurationMs"] = json!(ms);
            }
            line["_aws"] = json!({ "Timestamp": timestamp, "CloudWatchMetrics": [{ "Namespace": "Steward", "Dimensions": [["Stack", "Kind"]], "Metrics": metrics }] });
            line
        };
        let mut lines: Vec<Json> = counts.into_iter().map(|((_, kind), v)| line(&kind, v, None)).collect();
        lines.push(line("All", [0, 0, 0], Some(duration_ms)));
        lines
    }

    /// Prometheus text: this registry's counters, counters kept elsewhere (`external`, like the
    /// AWS call counts), and `gauges`.
    pub fn render(&self, external: &[(&str, Labels, f64)], gauges: &[(&str, Labels, f64)]) -> String {
        let mut out = String::new();
        let mut last = String::new();
        let counters = self.counters.lock().unwrap();
        let all = counters
            .iter()
            .map(|((n, l), v)| (n.as_str(), l.clone(), *v, "counter"))
            .chain(external.iter().map(|(n, l, v)| (*n, l.clone(), *v, "counter")))
            .chain(gauges.iter().map(|(n, l, v)| (*n, l.clone(), *v, "gauge")));
        for (name, labels, value, kind) in all {
            if name != last {
                out.push_str(&format!("# TYPE {name} {kind}\n"));
                last = name.to_string();
            }
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect();
            let labels = if labels.is_empty() { String::new() } else { format!("{{{}}}", labels.join(",")) };
            out.push_str(&format!("{name}{labels} {value}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_become_counters_and_emf_lines() {
        let m = Metrics::default();
        m.observe(&json!({"event": "drift_detected", "stack": "s", "kind": "CacheCluster"}));
        m.observe(&json!({"event": "drift_detected", "stack": "s", "kind": "CacheCluster"}));
        m.observe(&json!({"event": "change_started", "stack": "s", "kind": "EcsService"}));
        m.observe(&json!({"event": "change_applied", "stack": "s", "kind": "EcsService"}));
        let calls = vec![(
            "steward_aws_calls_total",
            vec![("service".into(), "EC2".into()), ("operation".into(), "DescribeVpcEndpoints".into())],
            1.0,
        )];
        let text = m.render(&calls, &[("steward_queue_depth", vec![], 0.0)]);
        assert!(text.contains("steward_drift_detected_total{stack=\"s\",kind=\"CacheCluster\"} 2\n"), "{text}");
        assert!(text.contains("steward_changes_applied_total{stack=\"s\",kind=\"EcsService\"} 1\n"), "{text}");
        assert!(!text.contains("steward_drift_detected_total{stack=\"s\",kind=\"EcsService\"}"), "{text}");
        assert!(text.contains("steward_aws_calls_total{service=\"EC2\",operation=\"DescribeVpcEndpoints\"} 1\n"));
        assert!(text.contains("# TYPE steward_queue_depth gauge\nsteward_queue_depth 0\n"));
        let lines = m.emf_lines("s", 12);
        assert_eq!(lines[0]["DriftDetected"], 2);
        assert_eq!(lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Steward");
        assert_eq!(lines[1]["ReconcileDurationMs"], 12);
        assert!(m.emf_lines("s", 1)[0]["DriftDetected"] == 0, "counts reset per pass");
    }
}
