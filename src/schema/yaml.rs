//! YAML text → a tree of nodes that remember their line numbers.
//!
//! We read parser events ourselves (saphyr-parser, the pure-Rust YAML 1.2 parser under serde-saphyr)
//! instead of deserializing with serde, because validation must report *every* error with its line
//! and field path, and must reject what serde would silently accept: duplicate keys, aliases
//! (billion-laughs style expansion) and non-string keys.

use saphyr_parser::{Event, Parser, ScalarStyle};

/// Deepest nesting we accept; a manifest never needs more and a hostile one must not blow the stack.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: usize,
    pub value: Value,
}

impl Node {
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A problem found while reading YAML, before any schema applies.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

/// Parses every document of a YAML stream. Empty documents (e.g. a trailing `---`) are dropped.
pub fn parse_documents(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let mut builder = Builder::default();
    for item in Parser::new_from_str(text) {
        let (event, span) =
            item.map_err(|e| SyntaxError { line: e.marker().line(), message: format!("invalid YAML: {}", e.info()) })?;
        builder.on_event(event, span.start.line())?;
    }
    Ok(builder.documents)
}

enum Frame {
    Seq { line: usize, items: Vec<Node> },
    Map { line: usize, entries: Vec<(Key, Node)>, pending_key: Option<Key> },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    documents: Vec<Node>,
}

impl Builder {
    fn on_event(&mut self, event: Event<'_>, line: usize) -> Result<(), SyntaxError> {
        let fail = |message: String| Err(SyntaxError { line, message });
        match event {
            Event::Alias(_) => fail("YAML aliases (*name) are not allowed in manifests".into()),
            Event::Scalar(text, style, anchor, _tag) => {
                if anchor != 0 {
                    return fail("YAML anchors (&name) are not allowed in manifests".into());
                }
                self.push(Node { line, value: resolve_scalar(&text, style) })
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) if anchor != 0 => {
                fail("YAML anchors (&name) are not allowed in manifests".into())
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                fail(format!("nesting deeper than {MAX_DEPTH} levels"))
            }
            Event::SequenceStart(..) => {
                self.stack.push(Frame::Seq { line, items: Vec::new() });
                Ok(())
            }
            Event::MappingStart(..) => {
                self.stack.push(Frame::Map { line, entries: Vec::new(), pending_key: None });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop() {
                    Some(Frame::Seq { line, items }) => Node { line, value: Value::Seq(items) },
                    Some(Frame::Map { line, entries, .. }) => Node { line, value: Value::Map(entries) },
                    None => return fail("unbalanced YAML structure".into()),
                };
                self.push(node)
            }
            _ => Ok(()),
        }
    }

    fn push(&mut self, node: Node) -> Result<(), SyntaxError> {
        match self.stack.last_mut() {
            None => {
                if node.value != Value::Null {
                    self.documents.push(node);
                }
                Ok(())
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                Ok(())
            }
            Some(Frame::Map { entries, pending_key, .. }) => match pending_key.take() {
                Some(key) => {
                    entries.push((key, node));
                    Ok(())
                }
                None => {
                    let name = match node.value {
                        Value::Str(s) => s,
                        Value::Int(i) => i.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => {
                            return Err(SyntaxError {
                                line: node.line,
                                message: format!("mapping keys must be strings, found {}", node.type_name()),
                            });
                        }
                    };
                    if entries.iter().any(|(k, _)| k.name == name) {
                        return Err(SyntaxError { line: node.line, message: format!("duplicate key `{name}`") });
                    }
                    *pending_key = Some(Key { name, line: node.line });
                    Ok(())
                }
            },
        }
    }
}

/// YAML 1.2 core schema resolution for plain scalars; quoted and block scalars are always strings.
fn resolve_scalar(text: &str, style: ScalarStyle) -> Value {
    if style != ScalarStyle::Plain {
        return Value::Str(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(i);
    }
    let looks_numeric = text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        && text.bytes().any(|b| b.is_ascii_digit());
    if looks_numeric {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Int(i);
        }
        if let Ok(f) = text.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(text.to_string())
}

/// Emits JSON values as block-style YAML, quoting every string that a YAML reader could take for
/// something else. Used by `get -o yaml` and `edit`; `parse_documents` reads it back unchanged.
pub fn to_yaml(value: &serde_json::Value) -> String {
    let mut out = String::new();
    emit(value, 0, &mut out, true);
    out
}

fn emit(value: &serde_json::Value, indent: usize, out: &mut String, at_line_start: bool) {
    use serde_json::Value as J;
    let pad = "  ".repeat(indent);
    match value {
        J::Object(map) if !map.is_empty() => {
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 || !at_line_start {
                    out.push_str(&pad);
                }
                out.push_str(&scalar_string(k));
                out.push(':');
                emit_child(v, indent + 1, out);
            }
        }
        J::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                if i > 0 || !at_line_start {
                    out.push_str(&pad);
                }
                out.push_str("- ");
                match v {
                    J::Object(m) if !m.is_empty() => emit(v, indent + 1, out, true),
                    J::Array(a) if !a.is_empty() => {
                        out.push('\n');
                        emit(v, indent + 1, out, false)
                    }
                    _ => {
                        out.push_str(&inline_scalar(v));
                        out.push('\n');
                    }
                }
            }
        }
        _ => {
            out.push_str(&inline_scalar(value));
            out.push('\n');
        }
    }
}

fn emit_child(value: &serde_json::Value, indent: usize, out: &mut String) {
    use serde_json::Value as J;
    match value {
        J::Object(m) if !m.is_empty() => {
            out.push('\n');
            emit(value, indent, out, false);
        }
        J::Array(a) if !a.is_empty() => {
            out.push('\n');
            // Lists sit at their parent key's indentation, as kubectl prints them.
            emit(value, indent - 1, out, false);
        }
        _ => {
            out.push(' ');
            out.push_str(&inline_scalar(value));
            out.push('\n');
        }
    }
}

fn inline_scalar(value: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match value {
        J::Null => "null".into(),
        J::Bool(b) => b.to_string(),
        J::Number(n) => n.to_string(),
        J::String(s) => scalar_string(s),
        J::Object(_) => "{}".into(),
        J::Array(_) => "[]".into(),
    }
}

fn scalar_string(s: &str) -> String {
    let plain_safe = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-./@()+=,".contains(c))
        && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '_')
        && resolve_scalar(s, ScalarStyle::Plain) == Value::Str(s.to_string());
    if plain_safe { s.to_string() } else { serde_json::Value::String(s.to_string()).to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_resolve_like_yaml_core_schema() {
        let docs = parse_documents("a: 1\nb: \"1\"\nc: true\nd: ~\ne: 6.2\nf: hello\n").unwrap();
        let doc = &docs[0];
        assert_eq!(doc.get("a").unwrap().value, Value::Int(1));
        assert_eq!(doc.get("b").unwrap().value, Value::Str("1".into()));
        assert_eq!(doc.get("c").unwrap().value, Value::Bool(true));
        assert_eq!(doc.get("d").unwrap().value, Value::Null);
        assert_eq!(doc.get("e").unwrap().value, Value::Float(6.2));
        assert_eq!(doc.get("f").unwrap().line, 6);
    }

    #[test]
    fn several_documents_and_empty_ones() {
        let docs = parse_documents("---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].line, 5);
    }

    #[test]
    fn duplicate_keys_are_rejected_with_their_line() {
        let err = parse_documents("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err, SyntaxError { line: 3, message: "duplicate key `a`".into() });
    }

    #[test]
    fn aliases_and_anchors_are_rejected() {
        let err = parse_documents("a: &x 1\nb: *x\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("anchors"));
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let err = parse_documents("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
        assert!(err.line >= 2);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(100) + &"]".repeat(100);
        assert!(parse_documents(&text).unwrap_err().message.contains("nesting"));
    }

    #[test]
    fn emitted_yaml_reads_back_to_the_same_value() {
        let value = serde_json::json!({
            "apiVersion": "steward/v1",
            "spec": {
                "engineVersion": "6.2", "port": 6379, "flag": false, "empty": [], "none": {},
                "env": {"FLASK_APP": "app:create_app()", "N": "1", "T": "true", "Q": "it's \"quoted\""},
                "groups": [{"byTag": {"Name": "allow_redis"}}, "sg-123"],
                "nested": [["a", "b"], []],
                "ref": "${CacheCluster/x.address}"
            }
        });
        let text = to_yaml(&value);
        let docs = parse_documents(&text).unwrap();
        assert_eq!(node_to_json(&docs[0]), value, "{text}");
    }

    fn node_to_json(node: &Node) -> serde_json::Value {
        use serde_json::Value as J;
        match &node.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => J::from(*f),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(node_to_json).collect()),
            Value::Map(entries) => J::Object(entries.iter().map(|(k, v)| (k.name.clone(), node_to_json(v))).collect()),
        }
    }
}
