//! Injected faults: per service and operation (or `*`), for the next N calls or a fraction of calls.
//! Shared by the emulator (its own two services) and the fault proxy (every service behind it).

use serde_json::Value as Json;
use std::collections::BTreeMap;

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
    /// Carry the call out, then close the connection without answering: the change is made and
    /// the caller never hears of it.
    Lost,
    /// App Runner's answer while a new role has not propagated through IAM yet:
    /// `InvalidRequestException: Error in assuming instance role …`, HTTP 400.
    IamPropagation,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::Throttle => "throttle",
            Fault::Internal => "internal",
            Fault::Slow(_) => "slow",
            Fault::Drop => "drop",
            Fault::Lost => "lost",
            Fault::IamPropagation => "iam-propagation",
        }
    }

    fn parse(name: Option<&str>, spec: &Json) -> Result<Fault, String> {
        match name {
            Some("throttle") => Ok(Fault::Throttle),
            Some("internal") => Ok(Fault::Internal),
            Some("drop") => Ok(Fault::Drop),
            Some("lost") => Ok(Fault::Lost),
            Some("iam-propagation") => Ok(Fault::IamPropagation),
            Some("slow") => Ok(Fault::Slow(spec.get("delayMs").and_then(Json::as_u64).unwrap_or(1000))),
            other => {
                Err(format!("fault must be throttle, internal, slow, drop, lost or iam-propagation, got {other:?}"))
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Rule {
    service: String,
    operation: String,
    /// One of these, picked at random each time the rule fires.
    faults: Vec<Fault>,
    /// Calls still to fail; None for a rate rule.
    remaining: Option<u64>,
    rate: f64,
}

#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Rule>,
    pub injected: u64,
    /// Faults injected, by fault name.
    pub injected_by_fault: BTreeMap<&'static str, u64>,
}

impl Faults {
    /// Adds a rule from the admin API's JSON:
    /// `{"service": "elasticache", "operation": "*", "fault": "throttle", "count": 20}` or `"rate": 0.3`;
    /// `"fault"` may be a list (`["throttle", "internal", "drop"]`), one picked at random each time;
    /// `"slow"` takes `"delayMs"`.
    pub fn add(&mut self, spec: &Json) -> Result<(), String> {
        let text = |k: &str| spec.get(k).and_then(Json::as_str).map(str::to_string);
        let service = text("service").unwrap_or_else(|| "*".into());
        let operation = text("operation").unwrap_or_else(|| "*".into());
        let faults = match spec.get("fault") {
            Some(Json::Array(names)) if !names.is_empty() => {
                names.iter().map(|n| Fault::parse(n.as_str(), spec)).collect::<Result<Vec<_>, _>>()?
            }
            other => vec![Fault::parse(other.and_then(Json::as_str), spec)?],
        };
        let count = spec.get("count").and_then(Json::as_u64);
        let rate = spec.get("rate").and_then(Json::as_f64);
        match (count, rate) {
            (Some(n), None) => self.rules.push(Rule { service, operation, faults, remaining: Some(n), rate: 1.0 }),
            (None, Some(r)) if (0.0..=1.0).contains(&r) => {
                self.rules.push(Rule { service, operation, faults, remaining: None, rate: r })
            }
            _ => return Err("give either count (calls) or rate (0 to 1)".into()),
        }
        Ok(())
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The fault for this call: the matching rules are tried in the order they were added, and
    /// the first that fires picks it.
    pub fn next(&mut self, service: &str, operation: &str) -> Option<Fault> {
        let fault = self
            .rules
            .iter_mut()
            .filter(|r| {
                (r.service == "*" || r.service == service)
                    && (r.operation == "*" || r.operation == operation)
                    && r.remaining != Some(0)
            })
            .find_map(|rule| {
                let fires = match &mut rule.remaining {
                    Some(n) => {
                        *n -= 1;
                        true
                    }
                    None => rand::random::<f64>() < rule.rate,
                };
                fires.then(|| rule.faults[rand::random_range(0..rule.faults.len())])
            })?;
        self.injected += 1;
        *self.injected_by_fault.entry(fault.name()).or_insert(0) += 1;
        Some(fault)
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
        assert!(f.add(&json!({"fault": ["drop", "explode"], "rate": 0.5})).is_err());
    }

    #[test]
    fn later_rules_apply_when_earlier_ones_do_not_fire_and_lists_pick_among_faults() {
        let mut f = Faults::default();
        f.add(&json!({"fault": "drop", "rate": 0.0})).unwrap();
        f.add(&json!({"fault": ["throttle", "internal"], "count": 200})).unwrap();
        let picked: Vec<_> = (0..200).map(|_| f.next("ecs", "ListServices").unwrap()).collect();
        assert!(picked.contains(&Fault::Throttle) && picked.contains(&Fault::Internal));
        assert!(!picked.contains(&Fault::Drop));
        assert_eq!(f.next("ecs", "ListServices"), None);
        assert_eq!(f.injected_by_fault.values().sum::<u64>(), 200);
    }
}
