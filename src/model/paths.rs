//! Field paths (`image.env.REDIS_URL`, `taskDefinition.containers[0].cpu`): the differences
//! between two JSON values (for `diff`, `history` and drift), the value at a path, what an
//! `ignoreChanges` path covers, and fingerprints of values.

use serde_json::Value as Json;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// `spec.image.env.FLASK_ENV`, `spec.subnets[1]`.
    pub path: String,
    /// None when the field is absent on that side.
    pub old: Option<Json>,
    pub new: Option<Json>,
}

impl fmt::Display for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let show = |v: &Option<Json>| v.as_ref().map_or("(absent)".to_string(), |v| v.to_string());
        write!(f, "{}: {} → {}", self.path, show(&self.old), show(&self.new))
    }
}

/// Every leaf that differs. Lists are compared position by position; a list of different length
/// reports the extra or missing items.
pub fn changes(root: &str, old: &Json, new: &Json) -> Vec<FieldChange> {
    changes_with_sets(root, old, new, &[])
}

/// `changes`, where a list under one of the keys `sets` is a set: one change for the whole list
/// when its members differ, whatever their order.
pub fn changes_with_sets(root: &str, old: &Json, new: &Json, sets: &[&str]) -> Vec<FieldChange> {
    let mut out = Vec::new();
    compare(root.to_string(), Some(old), Some(new), sets, &mut out);
    out
}

fn compare(path: String, old: Option<&Json>, new: Option<&Json>, sets: &[&str], out: &mut Vec<FieldChange>) {
    let last_key = path.rsplit('.').next().unwrap_or_default();
    match (old, new) {
        (Some(Json::Object(a)), Some(Json::Object(b))) => {
            for (k, va) in a {
                compare(join(&path, k), Some(va), b.get(k), sets, out);
            }
            for (k, vb) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                compare(join(&path, k), None, Some(vb), sets, out);
            }
        }
        (Some(Json::Array(a)), Some(Json::Array(b))) if sets.contains(&last_key) => {
            let same = a.len() == b.len() && a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x));
            if !same {
                out.push(FieldChange { path, old: old.cloned(), new: new.cloned() });
            }
        }
        (Some(Json::Array(a)), Some(Json::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                compare(format!("{path}[{i}]"), a.get(i), b.get(i), sets, out);
            }
        }
        (a, b) if a != b => out.push(FieldChange { path, old: a.cloned(), new: b.cloned() }),
        _ => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// One line for history listings: the first change and how many more.
pub fn summary(changes: &[FieldChange]) -> String {
    match changes {
        [] => "no spec change".into(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (+{} more)", rest.len()),
    }
}

/// One segment of an `ignoreChanges` path against one of a field path: `*` is any segment, a
/// trailing `*` a prefix (`DD_*`), and `containers` covers `containers[0]`.
pub fn segment_matches(pattern: &str, segment: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => segment.starts_with(prefix),
        None => segment == pattern || segment.strip_prefix(pattern).is_some_and(|rest| rest.starts_with('[')),
    }
}

/// Whether `field` (a diff path) is under one of the `ignoreChanges` paths.
pub fn ignores(patterns: &[String], field: &str) -> bool {
    let segments: Vec<&str> = field.split('.').collect();
    patterns.iter().any(|p| {
        let wanted: Vec<&str> = p.split('.').collect();
        wanted.len() <= segments.len() && wanted.iter().zip(&segments).all(|(w, s)| segment_matches(w, s))
    })
}

/// One step of a diff path: a map key or a list index.
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The steps of a diff path (`taskDefinition.containers[0].cpu`); None if an index is no number.
pub fn steps(path: &str) -> Option<Vec<Step<'_>>> {
    let mut out = Vec::new();
    for segment in path.split('.') {
        let (key, indexes) = segment.split_once('[').map_or((segment, ""), |(k, rest)| (k, rest));
        if !key.is_empty() {
            out.push(Step::Key(key));
        }
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            out.push(Step::Index(index.trim_end_matches(']').parse().ok()?));
        }
    }
    Some(out)
}

/// The value at a diff path (`image.env.REDIS_URL`, `taskDefinition.containers[0].cpu`). Keys
/// may hold dots themselves (a record set named `app.example.com`): at each object the longest
/// key the path goes on with is taken.
pub fn value_at<'a>(view: &'a Json, path: &str) -> Option<&'a Json> {
    let (step, rest) = first_step(view, path)?;
    let next = match step {
        Step::Key(k) => view.get(k)?,
        Step::Index(i) => view.get(i)?,
    };
    if rest.is_empty() { Some(next) } else { value_at(next, rest) }
}

/// `value_at`, to change the value.
pub fn value_at_mut<'a>(view: &'a mut Json, path: &str) -> Option<&'a mut Json> {
    let (step, rest) = first_step(view, path).map(|(s, r)| (s.owned(), r))?;
    let next = match step {
        OwnedStep::Key(k) => view.get_mut(&k)?,
        OwnedStep::Index(i) => view.get_mut(i)?,
    };
    if rest.is_empty() { Some(next) } else { value_at_mut(next, rest) }
}

/// The first step of `path` into `view`, and the path after it.
fn first_step<'p, 'v>(view: &'v Json, path: &'p str) -> Option<(Step<'v>, &'p str)> {
    match view {
        Json::Object(map) => {
            let (key, rest) = map
                .keys()
                .filter_map(|k| {
                    let rest = path.strip_prefix(k.as_str())?;
                    match rest.strip_prefix('.') {
                        Some(after) => Some((k, after)),
                        None if rest.is_empty() || rest.starts_with('[') => Some((k, rest)),
                        None => None,
                    }
                })
                .max_by_key(|(k, _)| k.len())?;
            Some((Step::Key(key), rest))
        }
        Json::Array(_) => {
            let (index, rest) = path.strip_prefix('[')?.split_once(']')?;
            Some((Step::Index(index.parse().ok()?), rest.strip_prefix('.').unwrap_or(rest)))
        }
        _ => None,
    }
}

enum OwnedStep {
    Key(String),
    Index(usize),
}

impl Step<'_> {
    fn owned(&self) -> OwnedStep {
        match self {
            Step::Key(k) => OwnedStep::Key(k.to_string()),
            Step::Index(i) => OwnedStep::Index(*i),
        }
    }
}

/// A short fingerprint of a value (FNV-1a): events and statuses compare values without holding them.
/// Every string inside a JSON value (an event's parameters, an imported spec), in document order.
pub fn strings_in(value: &Json, out: &mut impl Extend<String>) {
    match value {
        Json::String(s) => out.extend([s.clone()]),
        Json::Array(items) => items.iter().for_each(|v| strings_in(v, out)),
        Json::Object(map) => map.values().for_each(|v| strings_in(v, out)),
        _ => {}
    }
}

pub fn fingerprint(value: &Json) -> String {
    super::hash::fnv1a_hex(&value.to_string())
}

/// What AWS has, without what the spec leaves to AWS: below the top level, a member the desired
/// view holds as null (an optional field of a mapping the spec left out) takes no value, in
/// mappings and in the members of lists alike. A key the view does not hold at all is a
/// free-form map's (env, tags), compared whole, and so is a set (`sets`: its members have no
/// position to pair them by).
pub fn left_to_aws(actual: Json, wanted: &Json, sets: &[&str]) -> Json {
    match (actual, wanted) {
        (Json::Object(actual), Json::Object(wanted)) => Json::Object(
            actual
                .into_iter()
                .map(|(k, v)| match wanted.get(&k) {
                    Some(Json::Null) => (k, Json::Null),
                    Some(w) if !sets.contains(&k.as_str()) => (k, left_to_aws(v, w, sets)),
                    _ => (k, v),
                })
                .collect(),
        ),
        (Json::Array(actual), Json::Array(wanted)) => Json::Array(
            actual
                .into_iter()
                .enumerate()
                .map(|(i, v)| match wanted.get(i) {
                    Some(w) => left_to_aws(v, w, sets),
                    None => v,
                })
                .collect(),
        ),
        (actual, _) => actual,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_reach_keys_that_hold_dots() {
        let view = json!({ "records": { "app.example.com": { "values": ["a"] } }, "containers": [{ "cpu": 256 }] });
        assert_eq!(value_at(&view, "records.app.example.com.values"), Some(&json!(["a"])));
        assert_eq!(value_at(&view, "containers[0].cpu"), Some(&json!(256)));
        assert_eq!(value_at(&view, "records.app.example.org.values"), None);
        let mut view = view;
        *value_at_mut(&mut view, "records.app.example.com.values").unwrap() = json!(["b"]);
        assert_eq!(view["records"]["app.example.com"]["values"], json!(["b"]));
    }

    #[test]
    fn reports_changed_added_and_removed_leaves() {
        let old = json!({"nodeType": "cache.t4g.micro", "env": {"A": "1", "B": "2"}, "subnets": ["a", "b"]});
        let new = json!({"nodeType": "cache.t4g.small", "env": {"A": "1", "C": "3"}, "subnets": ["a"]});
        let got: Vec<String> = changes("spec", &old, &new).iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            vec![
                "spec.nodeType: \"cache.t4g.micro\" → \"cache.t4g.small\"",
                "spec.env.B: \"2\" → (absent)",
                "spec.env.C: (absent) → \"3\"",
                "spec.subnets[1]: \"b\" → (absent)",
            ]
        );
    }

    #[test]
    fn equal_values_have_no_changes() {
        let v = json!({"a": [1, {"b": true}]});
        assert!(changes("spec", &v, &v).is_empty());
        assert_eq!(summary(&[]), "no spec change");
    }

    #[test]
    fn what_the_spec_leaves_out_below_the_top_is_aws() {
        let cases = [
            // An optional member the spec left out (null) takes AWS's value: no drift.
            (json!({"cpu": 0, "image": "b"}), json!({"cpu": null, "image": "a"}), json!({"cpu": null, "image": "b"})),
            // A free-form map keeps keys the spec does not name: compared whole.
            (json!({"env": {"A": "1", "B": "2"}}), json!({"env": {"A": "1"}}), json!({"env": {"A": "1", "B": "2"}})),
            // Members of lists, by position; a member the spec does not have is kept.
            (json!([{"cpu": 5}, {"cpu": 6}]), json!([{"cpu": null}]), json!([{"cpu": null}, {"cpu": 6}])),
            // A set's members have no position: compared whole.
            (json!({"ingress": [{"d": "x"}]}), json!({"ingress": [{"d": null}]}), json!({"ingress": [{"d": "x"}]})),
            // A value the spec sets stays whatever AWS has.
            (json!({"logs": {"group": "g"}}), json!({"logs": {"group": "h"}}), json!({"logs": {"group": "g"}})),
        ];
        for (actual, wanted, managed) in cases {
            assert_eq!(left_to_aws(actual.clone(), &wanted, &["ingress"]), managed, "{actual} against {wanted}");
        }
    }
}
