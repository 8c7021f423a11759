//! A small declarative schema for manifest specs, and the walker that checks a YAML tree against it.
//!
//! The walker never stops at the first problem: it collects every error with its field path and
//! line, and returns the spec as normalized JSON (what the store keeps and the reconciler reads).

pub mod yaml;

use serde_json::{Map, Value as Json};
use yaml::{Node, Value};

/// A string rule: what a valid value looks like, for the error message, and the check itself.
#[derive(Clone, Copy)]
pub struct StrRule {
    pub expected: &'static str,
    pub check: fn(&str) -> bool,
}

/// A name's character test: an ASCII letter or digit, or one of `extra` (`name_char("-_")`).
pub fn name_char(extra: &'static str) -> impl Fn(char) -> bool {
    move |c| c.is_ascii_alphanumeric() || extra.contains(c)
}

pub const ANY_STRING: StrRule = StrRule { expected: "a string", check: |_| true };

#[derive(Clone)]
pub enum Shape {
    /// A string; values holding a `${…}` reference skip the rule (it applies to the resolved value).
    Str {
        rule: StrRule,
        max_len: usize,
    },
    Int {
        min: i64,
        max: i64,
    },
    /// An integer from a fixed set (a log group's retention days).
    IntIn(&'static [i64]),
    Bool,
    Enum(&'static [&'static str]),
    List {
        item: Box<Shape>,
        min: usize,
        max: usize,
    },
    Struct(Vec<Field>),
    /// A mapping with free keys (environment variables, tags).
    Dict {
        key: StrRule,
        value: Box<Shape>,
        max: usize,
    },
    /// An AWS object picked by id (`sg-…`), by `{byTag: {K: V}}`, or by a `${…}` reference.
    Selector {
        id_prefix: &'static str,
    },
}

#[derive(Clone)]
pub struct Field {
    pub name: &'static str,
    pub shape: Shape,
    pub required: bool,
}

pub fn req(name: &'static str, shape: Shape) -> Field {
    Field { name, shape, required: true }
}

pub fn opt(name: &'static str, shape: Shape) -> Field {
    Field { name, shape, required: false }
}

pub fn string(rule: StrRule) -> Shape {
    Shape::Str { rule, max_len: 2048 }
}

pub fn any_string() -> Shape {
    string(ANY_STRING)
}

pub fn int(min: i64, max: i64) -> Shape {
    Shape::Int { min, max }
}

pub fn list(item: Shape, min: usize, max: usize) -> Shape {
    Shape::List { item: Box::new(item), min, max }
}

pub fn selectors(id_prefix: &'static str) -> Shape {
    list(Shape::Selector { id_prefix }, 1, 16)
}

pub fn dict(key: StrRule, value: Shape, max: usize) -> Shape {
    Shape::Dict { key, value: Box::new(value), max }
}

/// One problem in a spec, located by field path (`spec.image.port`) and line.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub line: usize,
    pub path: String,
    pub message: String,
}

/// Collects errors while walking; `line_of` finds the line of a path for checks made on JSON.
pub struct Checker<'a> {
    root: &'a Node,
    root_path: String,
    pub errors: Vec<FieldError>,
}

impl<'a> Checker<'a> {
    pub fn new(root: &'a Node, root_path: &str) -> Self {
        Checker { root, root_path: root_path.to_string(), errors: Vec::new() }
    }

    pub fn error(&mut self, line: usize, path: &str, message: impl Into<String>) {
        self.errors.push(FieldError { line, path: path.to_string(), message: message.into() });
    }

    /// Reports an error at a path relative to the root (`image.port`, `containers[0].cpu`),
    /// using the line of the deepest node of that path that exists.
    pub fn error_at(&mut self, relative: &str, message: impl Into<String>) {
        let line = self.line_of(relative);
        let path = if relative.is_empty() { self.root_path.clone() } else { format!("{}.{relative}", self.root_path) };
        self.error(line, &path, message);
    }

    fn line_of(&self, relative: &str) -> usize {
        let mut node = self.root;
        for part in relative.split('.').filter(|p| !p.is_empty()) {
            let (key, index) = match part.split_once('[') {
                Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
                None => (part, None),
            };
            let Some(next) = node.get(key) else { break };
            node = next;
            if let (Some(i), Value::Seq(items)) = (index, &node.value) {
                match items.get(i) {
                    Some(item) => node = item,
                    None => break,
                }
            }
        }
        node.line
    }

    /// Walks `node` against `shape`; returns the normalized JSON, or None where the value was invalid.
    pub fn walk(&mut self, node: &Node, shape: &Shape, path: &str) -> Option<Json> {
        match (shape, &node.value) {
            (Shape::Str { rule, max_len }, Value::Str(s)) => self.walk_str(node, rule, *max_len, s, path),
            (Shape::Str { rule, .. }, Value::Float(f)) => {
                self.error(node.line, path, format!("expected {} (quote it: \"{f}\"), got a number", rule.expected));
                None
            }
            (Shape::Int { min, max }, Value::Int(i)) => {
                if i < min || i > max {
                    self.error(node.line, path, format!("expected an integer from {min} to {max}, got {i}"));
                    None
                } else {
                    Some(Json::from(*i))
                }
            }
            (Shape::IntIn(values), Value::Int(i)) => {
                if values.contains(i) {
                    Some(Json::from(*i))
                } else {
                    self.error(node.line, path, format!("expected {}, got {i}", describe(shape)));
                    None
                }
            }
            (Shape::Bool, Value::Bool(b)) => Some(Json::Bool(*b)),
            (Shape::Enum(options), Value::Str(s)) => {
                if options.contains(&s.as_str()) {
                    Some(Json::String(s.clone()))
                } else {
                    self.error(node.line, path, format!("expected one of {}, got {}", options.join(", "), quote(s)));
                    None
                }
            }
            (Shape::List { item, min, max }, Value::Seq(items)) => {
                if items.len() < *min || items.len() > *max {
                    self.error(node.line, path, format!("expected {min} to {max} items, got {}", items.len()));
                    return None;
                }
                let values: Vec<Option<Json>> =
                    items.iter().enumerate().map(|(i, n)| self.walk(n, item, &format!("{path}[{i}]"))).collect();
                values.into_iter().collect::<Option<Vec<_>>>().map(Json::Array)
            }
            (Shape::Struct(fields), Value::Map(entries)) => self.walk_struct(node, fields, entries, path),
            (Shape::Dict { key, value, max }, Value::Map(entries)) => {
                if entries.len() > *max {
                    self.error(node.line, path, format!("expected at most {max} entries, got {}", entries.len()));
                    return None;
                }
                let mut out = Map::new();
                let mut ok = true;
                for (k, v) in entries {
                    let child = format!("{path}.{}", k.name);
                    if !(key.check)(&k.name) {
                        self.error(k.line, &child, format!("expected the key to be {}", key.expected));
                        ok = false;
                    } else if let Some(j) = self.walk(v, value, &child) {
                        out.insert(k.name.clone(), j);
                    } else {
                        ok = false;
                    }
                }
                ok.then_some(Json::Object(out))
            }
            (Shape::Selector { id_prefix }, Value::Str(s)) => {
                if s.contains("${") || (s.starts_with(id_prefix) && is_aws_id(s)) {
                    Some(Json::String(s.clone()))
                } else {
                    self.error(
                        node.line,
                        path,
                        format!("expected an id like {id_prefix}0123abcd or {{byTag: {{Name: …}}}}, got {}", quote(s)),
                    );
                    None
                }
            }
            (Shape::Selector { .. }, Value::Map(entries)) => {
                let by_tag = dict(TAG_KEY, string(TAG_VALUE), 8);
                match entries.as_slice() {
                    [(k, v)] if k.name == "byTag" && matches!(&v.value, Value::Map(m) if !m.is_empty()) => {
                        let tags = self.walk(v, &by_tag, &format!("{path}.byTag"))?;
                        Some(serde_json::json!({ "byTag": tags }))
                    }
                    _ => {
                        self.error(node.line, path, "expected {byTag: {Key: value, …}} with at least one tag");
                        None
                    }
                }
            }
            (shape, _) => {
                self.error(node.line, path, format!("expected {}, got {}", describe(shape), node.type_name()));
                None
            }
        }
    }

    fn walk_str(&mut self, node: &Node, rule: &StrRule, max_len: usize, s: &str, path: &str) -> Option<Json> {
        if s.len() > max_len {
            self.error(node.line, path, format!("expected at most {max_len} characters, got {}", s.len()));
            None
        } else if s.contains('\0') || s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            self.error(node.line, path, "expected printable text, found control characters");
            None
        } else if !s.contains("${") && !(rule.check)(s) {
            self.error(node.line, path, format!("expected {}, got {}", rule.expected, quote(s)));
            None
        } else {
            Some(Json::String(s.to_string()))
        }
    }

    fn walk_struct(
        &mut self,
        node: &Node,
        fields: &[Field],
        entries: &[(yaml::Key, Node)],
        path: &str,
    ) -> Option<Json> {
        let mut out = Map::new();
        let mut ok = true;
        for (k, v) in entries {
            let child = format!("{path}.{}", k.name);
            match fields.iter().find(|f| f.name == k.name) {
                None => {
                    let known: Vec<&str> = fields.iter().map(|f| f.name).collect();
                    self.error(k.line, &child, format!("unknown field; expected one of {}", known.join(", ")));
                    ok = false;
                }
                Some(field) => match self.walk(v, &field.shape, &child) {
                    Some(j) => {
                        out.insert(k.name.clone(), j);
                    }
                    None => ok = false,
                },
            }
        }
        for field in fields.iter().filter(|f| f.required) {
            if !entries.iter().any(|(k, _)| k.name == field.name) {
                self.error(
                    node.line,
                    &format!("{path}.{}", field.name),
                    format!("required field missing; expected {}", describe(&field.shape)),
                );
                ok = false;
            }
        }
        ok.then_some(Json::Object(out))
    }
}

pub fn describe(shape: &Shape) -> String {
    match shape {
        Shape::Str { rule, .. } => rule.expected.to_string(),
        Shape::Int { min, max } => format!("an integer from {min} to {max}"),
        Shape::IntIn(values) => {
            format!("one of {}", values.iter().map(i64::to_string).collect::<Vec<_>>().join(", "))
        }
        Shape::Bool => "true or false".into(),
        Shape::Enum(options) => format!("one of {}", options.join(", ")),
        Shape::List { item, .. } => format!("a list of {}", describe(item)),
        Shape::Struct(_) => "a mapping".into(),
        Shape::Dict { .. } => "a mapping of names to values".into(),
        Shape::Selector { id_prefix } => format!("an id like {id_prefix}… or {{byTag: {{…}}}}"),
    }
}

/// Quotes a value for an error message, cut short so a huge value does not flood the terminal.
pub fn quote(s: &str) -> String {
    let short: String = s.chars().take(80).collect();
    let suffix = if short.len() < s.len() { "…" } else { "" };
    format!("{:?}{suffix}", short)
}

fn is_aws_id(s: &str) -> bool {
    let Some((_, hex)) = s.split_once('-') else { return false };
    (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

// Rules shared by several kinds.

pub const TAG_KEY: StrRule = StrRule {
    expected: "a tag key of 1 to 128 characters (letters, digits, spaces and _.:/=+-@) not starting with aws: or steward:",
    check: |s| {
        (1..=128).contains(&s.len())
            && s.chars().all(|c| c.is_alphanumeric() || " _.:/=+-@".contains(c))
            && !s.starts_with("aws:")
            && !s.starts_with("steward:")
    },
};

pub const TAG_VALUE: StrRule = StrRule {
    expected: "a tag value of at most 256 characters (letters, digits, spaces and _.:/=+-@)",
    check: |s| s.len() <= 256 && s.chars().all(|c| c.is_alphanumeric() || " _.:/=+-@".contains(c)),
};

pub fn tags() -> Shape {
    dict(TAG_KEY, string(TAG_VALUE), 40)
}

pub const ENV_NAME: StrRule = StrRule {
    expected: "an environment variable name (letters, digits and _, not starting with a digit)",
    check: |s| {
        !s.is_empty()
            && s.len() <= 256
            && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    },
};

pub fn env() -> Shape {
    dict(ENV_NAME, Shape::Str { rule: ANY_STRING, max_len: 4096 }, 100)
}

pub const ARN: StrRule = StrRule {
    expected: "an ARN (arn:aws:service:region:account:resource)",
    check: |s| {
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && !parts[2].is_empty()
            && parts.iter().all(|p| !p.contains(char::is_whitespace))
            && !parts[5].is_empty()
    },
};

pub fn arn() -> Shape {
    string(ARN)
}

pub const MANAGEMENT_POLICIES: &[&str] = &["enforce", "observe"];
pub const DELETION_POLICIES: &[&str] = &["Delete", "Retain"];

/// A field path as `diff --live` prints it (`image.env.DD_*`, `tags.*`, `containers[0].cpu`),
/// with `*` for one segment or the end of one.
pub const FIELD_PATH: StrRule = StrRule {
    expected: "a field path like desiredCount, image.env.NEW_RELIC_KEY, tags.* or image.env.DD_*",
    check: |s| {
        !s.is_empty()
            && s.split('.')
                .all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || "_-:/*[]".contains(c)))
    },
};

/// `60s`, `5m`, `1h`, or a six-field cron expression (`0 */5 * * * *`).
pub const RESYNC: StrRule = StrRule {
    expected: "a duration from 10s to 24h (like 60s, 5m, 1h) or a 6-field cron expression",
    check: |s| {
        crate::model::duration::parse_duration_secs(s).is_some_and(|d| (10..=86_400).contains(&d))
            || crate::model::duration::parse_cron(s).is_some()
    },
};

const DAYS: StrRule = StrRule {
    expected: "a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun) or a range like Mon-Fri",
    check: |s| crate::model::heal_window::parse_days(s).is_some(),
};

const CLOCK: StrRule = StrRule {
    expected: "a time like 08:00 (00:00 to 24:00)",
    check: |s| crate::model::heal_window::parse_clock(s).is_some(),
};

const TIME_ZONE: StrRule = StrRule {
    expected: "an IANA time zone like Europe/Berlin, America/New_York or UTC",
    check: |s| crate::model::heal_window::parse_time_zone(s).is_some(),
};

const CRON: StrRule = StrRule {
    expected: "a 6-field cron expression that matches (seconds first, like \"0 0 22 * * Sat\")",
    check: |s| crate::model::duration::parse_cron(s).is_some(),
};

const WINDOW_LENGTH: StrRule = StrRule {
    expected: "a duration from 1m to 168h (like 30m, 4h)",
    check: |s| crate::model::duration::parse_duration_secs(s).is_some_and(|d| (60..=7 * 86_400).contains(&d)),
};

/// What else waits for a heal window: `immediate` (the default) or `window`.
pub const WINDOW_HOLDS: &[&str] = &["immediate", "window"];

/// `healWindow`: days with start and end in a time zone, or a cron with a duration (see
/// `heal_window.rs`, which checks how the fields go together).
pub fn heal_window() -> Shape {
    Shape::Struct(vec![
        opt("days", list(string(DAYS), 1, 7)),
        opt("start", string(CLOCK)),
        opt("end", string(CLOCK)),
        opt("timeZone", string(TIME_ZONE)),
        opt("cron", string(CRON)),
        opt("duration", string(WINDOW_LENGTH)),
        opt("missing", Shape::Enum(WINDOW_HOLDS)),
        opt("changes", Shape::Enum(WINDOW_HOLDS)),
        opt("critical", Shape::Enum(WINDOW_HOLDS)),
    ])
}

/// Fields every kind accepts, appended to its own.
pub fn common_fields() -> Vec<Field> {
    vec![
        opt("managementPolicy", Shape::Enum(MANAGEMENT_POLICIES)),
        opt("deletionPolicy", Shape::Enum(DELETION_POLICIES)),
        opt("adopt", Shape::Bool),
        opt("allowReplacement", Shape::Bool),
        opt("ignoreChanges", list(string(FIELD_PATH), 1, 50)),
        opt("resync", string(RESYNC)),
        opt("healWindow", heal_window()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::yaml::parse_documents;

    fn check(text: &str, shape: &Shape) -> (Option<Json>, Vec<FieldError>) {
        let doc = parse_documents(text).unwrap().remove(0);
        let mut c = Checker::new(&doc, "spec");
        let v = c.walk(&doc, shape, "spec");
        (v, c.errors)
    }

    fn shape() -> Shape {
        Shape::Struct(vec![
            req("port", int(1, 65535)),
            opt("name", any_string()),
            opt("groups", selectors("sg-")),
            opt("env", env()),
            opt("mode", Shape::Enum(&["a", "b"])),
        ])
    }

    #[test]
    fn all_errors_are_reported_with_paths_and_lines() {
        let (v, errors) = check("port: 70000\nname: [1]\nmode: c\nextra: 1\n", &shape());
        assert!(v.is_none());
        let got: Vec<(usize, &str, &str)> =
            errors.iter().map(|e| (e.line, e.path.as_str(), e.message.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (1, "spec.port", "expected an integer from 1 to 65535, got 70000"),
                (2, "spec.name", "expected a string, got a list"),
                (3, "spec.mode", "expected one of a, b, got \"c\""),
                (4, "spec.extra", "unknown field; expected one of port, name, groups, env, mode"),
            ]
        );
    }

    #[test]
    fn missing_required_field() {
        let (_, errors) = check("name: x\n", &shape());
        assert_eq!(errors[0].path, "spec.port");
        assert_eq!(errors[0].message, "required field missing; expected an integer from 1 to 65535");
    }

    #[test]
    fn selectors_take_ids_tags_or_references() {
        let (v, errors) = check("port: 1\ngroups: [sg-0123abcd, {byTag: {Name: x}}, \"${A/b.id}\"]\n", &shape());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(v.unwrap()["groups"][1], serde_json::json!({"byTag": {"Name": "x"}}));
        let (_, errors) = check("port: 1\ngroups: [subnet-0123abcd, {byName: x}]\n", &shape());
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].path, "spec.groups[0]");
        assert_eq!(errors[1].message, "expected {byTag: {Key: value, …}} with at least one tag");
    }

    #[test]
    fn env_names_are_checked() {
        let (_, errors) = check("port: 1\nenv: {GOOD_1: x, 1BAD: y}\n", &shape());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "spec.env.1BAD");
    }

    #[test]
    fn unquoted_version_numbers_get_a_hint() {
        let (_, errors) = check("port: 1\nname: 6.2\n", &shape());
        assert_eq!(errors[0].message, "expected a string (quote it: \"6.2\"), got a number");
    }

    #[test]
    fn tag_keys_reserved_for_ownership_are_refused() {
        let (_, errors) = check("t: {\"steward:stack\": x}\n", &Shape::Struct(vec![opt("t", tags())]));
        assert_eq!(errors[0].path, "spec.t.steward:stack");
    }

    #[test]
    fn arns_are_checked() {
        assert!((ARN.check)("arn:aws:iam::123456789012:role/x"));
        assert!(!(ARN.check)("arn:aws:iam:role/x"));
        assert!(!(ARN.check)("role/x"));
    }
}
