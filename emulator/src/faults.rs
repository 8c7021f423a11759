//! Injected faults: per service and operation (or `*`), for the next N calls or a fraction of calls.

use serde_json::Value as Json;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// `ThrottlingException` (App Runner) / `Throttling` (ElastiCache), HTTP 400.
    Throttle,
    /// `InternalServiceErrorException` / `InternalFailure`, HTTP 500.
    Internal,
    /// Answer normally after this many milliseconds.
    Slow(u64),
    /// Close the connection without answering.
    Drop,
}

#[derive(Debug, Clone)]
struct Rule {
    service: String,
    operation: String,
    fault: Fault,
    /// Calls still to fail; None for a rate rule.
    remaining: Option<u64>,
    rate: f64,
}

#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Rule>,
    pub injected: u64,
}

impl Faults {
    /// Adds a rule from the admin API's JSON:
    /// `{"service": "elasticache", "operation": "*", "fault": "throttle", "count": 20}` or `"rate": 0.3`;
    /// `"fault": "slow"` takes `"delayMs"`.
    pub fn add(&mut self, spec: &Json) -> Result<(), String> {
        let text = |k: &str| spec.get(k).and_then(Json::as_str).map(str::to_string);
        let service = text("service").unwrap_or_else(|| "*".into());
        let operation = text("operation").unwrap_or_else(|| "*".into());
        let fault = match text("fault").as_deref() {
            Some("throttle") => Fault::Throttle,
            Some("internal") => Fault::Internal,
            Some("drop") => Fault::Drop,
            Some("slow") => Fault::Slow(spec.get("delayMs").and_then(Json::as_u64).unwrap_or(1000)),
            other => return Err(format!("fault must be throttle, internal, slow or drop, got {other:?}")),
        };
        let count = spec.get("count").and_then(Json::as_u64);
        let rate = spec.get("rate").and_then(Json::as_f64);
        match (count, rate) {
            (Some(n), None) => self.rules.push(Rule { service, operation, fault, remaining: Some(n), rate: 1.0 }),
            (None, Some(r)) if (0.0..=1.0).contains(&r) => {
                self.rules.push(Rule { service, operation, fault, remaining: None, rate: r })
            }
            _ => return Err("give either count (calls) or rate (0 to 1)".into()),
        }
        Ok(())
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The fault for this call, if a rule picks it.
    pub fn next(&mut self, service: &str, operation: &str) -> Option<Fault> {
        let rule = self.rules.iter_mut().find(|r| {
            (r.service == "*" || r.service == service)
                && (r.operation == "*" || r.operation == operation)
                && r.remaining != Some(0)
        })?;
        let fires = match &mut rule.remaining {
            Some(n) => {
                *n -= 1;
                true
            }
            None => rand::random::<f64>() < rule.rate,
        };
        if fires {
            self.injected += 1;
            Some(rule.fault)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn count_rules_fire_exactly_n_times_for_matching_calls() {
        let mut f = Faults::default();
        f.add(&json!({"service": "elasticache", "fault": "throttle", "count": 2})).unwrap();
        assert_eq!(f.next("apprunner", "ListServices"), None);
        assert_eq!(f.next("elasticache", "DescribeCacheClusters"), Some(Fault::Throttle));
        assert_eq!(f.next("elasticache", "CreateUser"), Some(Fault::Throttle));
        assert_eq!(f.next("elasticache", "CreateUser"), None);
        assert_eq!(f.injected, 2);
    }

    #[test]
    fn bad_rules_are_refused() {
        let mut f = Faults::default();
        assert!(f.add(&json!({"fault": "explode", "count": 1})).is_err());
        assert!(f.add(&json!({"fault": "drop"})).is_err());
        assert!(f.add(&json!({"fault": "drop", "rate": 2.0})).is_err());
    }
}
