//! The structured events: one JSON line each on stdout (through tracing-subscriber's JSON layer),
//! the alert feed that the daemon also ships to CloudWatch Logs. Field names are stable and
//! documented in the README.

use crate::manifest::ResourceKey;
use serde_json::{Value as Json, json};
use std::sync::{Arc, Mutex};

/// Where events go besides the tracing output: the daemon adds CloudWatch Logs here.
pub type Sink = Arc<dyn Fn(&Json) + Send + Sync>;

#[derive(Clone, Default)]
pub struct Events {
    sinks: Arc<Mutex<Vec<Sink>>>,
}

impl Events {
    pub fn add_sink(&self, sink: Sink) {
        self.sinks.lock().unwrap().push(sink);
    }

    /// Emits one event: `event` is its name, `fields` the rest (stack, kind, name, …).
    pub fn emit(&self, event: &str, mut fields: Json) {
        fields["event"] = json!(event);
        // The telemetry formatter prints the payload as the line itself, fields at the top level.
        tracing::info!(target: "steward::events", payload = %fields);
        for sink in self.sinks.lock().unwrap().iter() {
            sink(&fields);
        }
    }

    pub fn resource(&self, event: &str, key: &ResourceKey, extra: Json) {
        let mut fields = json!({ "stack": key.stack, "kind": key.kind.as_str(), "name": key.name });
        if let Json::Object(m) = extra {
            for (k, v) in m {
                fields[k] = v;
            }
        }
        self.emit(event, fields);
    }
}
