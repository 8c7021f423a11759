//! Reading manifests: files and directories, YAML documents, the kind's schema, and the checks
//! across a whole set (names, references, cycles).

use super::document::*;
use super::references;
use crate::model::{Kind, ResourceKey};
use crate::schema::yaml::{self, Node, Value};
use crate::schema::{self, Checker, Shape, quote};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Reads manifests from files and directories (recursively, `*.yaml` / `*.yml`, in name order).
/// `default_stack` fills `metadata.stack` where a manifest leaves it out.
pub fn load_paths(paths: &[PathBuf], default_stack: Option<&str>) -> Result<Vec<Manifest>, ValidationErrors> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        collect_files(path, &mut files, &mut errors);
    }
    let mut manifests = Vec::new();
    for file in files {
        let name = file.display().to_string();
        match read_text(&file) {
            Ok(text) => match parse_manifests(&text, &name, default_stack) {
                Ok(mut m) => manifests.append(&mut m),
                Err(mut e) => errors.append(&mut e.0),
            },
            Err(message) => errors.push(file_error(&name, 0, message)),
        }
    }
    if errors.is_empty() && manifests.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        errors.push(file_error(&shown.join(", "), 0, "expected at least one manifest, found none".into()));
    }
    if errors.is_empty() { Ok(manifests) } else { Err(ValidationErrors(errors)) }
}

fn collect_files(path: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<ManifestError>) {
    let name = path.display().to_string();
    match std::fs::metadata(path) {
        Err(e) => errors.push(file_error(&name, 0, format!("cannot read: {e}"))),
        Ok(meta) if meta.is_dir() => match std::fs::read_dir(path) {
            Err(e) => errors.push(file_error(&name, 0, format!("cannot read directory: {e}"))),
            Ok(entries) => {
                let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                children.sort();
                for child in children {
                    let is_yaml = child.extension().is_some_and(|e| e == "yaml" || e == "yml");
                    if child.is_dir() || is_yaml {
                        collect_files(&child, files, errors);
                    }
                }
            }
        },
        Ok(_) => files.push(path.to_path_buf()),
    }
}

fn read_text(file: &Path) -> Result<String, String> {
    let size = std::fs::metadata(file).map_err(|e| format!("cannot read: {e}"))?.len();
    if size > MAX_FILE_BYTES {
        return Err(format!("file is {size} bytes; expected at most {MAX_FILE_BYTES}"));
    }
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read: {e}"))?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        format!("expected UTF-8 text, found invalid bytes at byte {offset}")
    })
}

fn file_error(file: &str, line: usize, message: String) -> ManifestError {
    ManifestError { file: file.to_string(), line, resource: None, path: String::new(), message }
}

/// Parses and validates every document of one file (schema only; see `validate_set` for the rules
/// that span resources).
pub fn parse_manifests(text: &str, file: &str, default_stack: Option<&str>) -> Result<Vec<Manifest>, ValidationErrors> {
    let documents =
        yaml::parse_documents(text).map_err(|e| ValidationErrors(vec![file_error(file, e.line, e.message)]))?;
    let mut manifests = Vec::new();
    let mut errors = Vec::new();
    for doc in &documents {
        match parse_document(doc, file, default_stack) {
            Ok(m) => manifests.push(m),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() { Ok(manifests) } else { Err(ValidationErrors(errors)) }
}

/// The errors of one document, each located in its file.
struct Errors<'a> {
    file: &'a str,
    list: Vec<ManifestError>,
}

impl Errors<'_> {
    fn at(&mut self, line: usize, resource: Option<String>, path: &str, message: String) {
        self.list.push(ManifestError { file: self.file.to_string(), line, resource, path: path.to_string(), message });
    }

    /// The top level: only the four fields, the API version, and a known kind.
    fn header(&mut self, doc: &Node, entries: &[(yaml::Key, Node)]) -> Option<Kind> {
        for (k, _) in entries {
            if !["apiVersion", "kind", "metadata", "spec"].contains(&k.name.as_str()) {
                self.at(k.line, None, &k.name, "unknown field; expected apiVersion, kind, metadata, spec".into());
            }
        }
        match doc.get("apiVersion") {
            Some(n) if n.as_str() == Some(API_VERSION) => {}
            Some(n) => self.at(n.line, None, "apiVersion", format!("expected {API_VERSION}, got {}", show(n))),
            None => self.at(doc.line, None, "apiVersion", format!("required field missing; expected {API_VERSION}")),
        }
        let Some(n) = doc.get("kind") else {
            self.at(doc.line, None, "kind", "required field missing".into());
            return None;
        };
        let kind = n.as_str().and_then(Kind::parse);
        if kind.is_none() {
            let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            self.at(n.line, None, "kind", format!("expected one of {}, got {}", known.join(", "), show(n)));
        }
        kind
    }

    /// `metadata`: its name, and its stack (or the default one).
    fn metadata(&mut self, doc: &Node, default_stack: Option<&str>) -> (Option<String>, Option<String>) {
        let (mut name, mut stack) = (None, default_stack.map(str::to_string));
        let (meta, line) = match doc.get("metadata") {
            Some(Node { value: Value::Map(meta), line }) => (meta, *line),
            Some(n) => {
                self.at(n.line, None, "metadata", format!("expected a mapping, got {}", n.type_name()));
                return (name, stack);
            }
            None => {
                self.at(doc.line, None, "metadata", "required field missing".into());
                return (name, stack);
            }
        };
        for (k, v) in meta {
            match (k.name.as_str(), v.as_str()) {
                ("name", Some(s)) => name = Some(s.to_string()),
                ("name", None) => {
                    self.at(v.line, None, "metadata.name", format!("expected a string, got {}", v.type_name()))
                }
                ("stack", Some(s)) if (crate::kinds::GENERIC_NAME.check)(s) => stack = Some(s.to_string()),
                ("stack", _) => self.at(
                    v.line,
                    None,
                    "metadata.stack",
                    format!("expected {}, got {}", crate::kinds::GENERIC_NAME.expected, show(v)),
                ),
                _ => {
                    self.at(k.line, None, &format!("metadata.{}", k.name), "unknown field; expected name, stack".into())
                }
            }
        }
        if !meta.iter().any(|(k, _)| k.name == "name") {
            self.at(line, None, "metadata.name", "required field missing".into());
        }
        (name, stack)
    }

    /// `spec`, checked against the kind's schema and rules, as normalized JSON.
    fn spec(&mut self, doc: &Node, kind: Kind, label: &Option<String>) -> Option<Json> {
        let def = crate::kinds::definition(kind);
        let empty = Node { line: doc.line, value: Value::Map(Vec::new()) };
        let spec_node = doc.get("spec").unwrap_or_else(|| {
            self.at(doc.line, label.clone(), "spec", "required field missing".into());
            &empty
        });
        let mut fields = def.fields.clone();
        fields.extend(schema::common_fields());
        let mut checker = Checker::new(spec_node, "spec");
        let spec = checker.walk(spec_node, &Shape::Struct(fields), "spec");
        if let Some(spec) = &spec {
            (def.check)(&as_resolved(spec), &mut checker);
            check_ignored_paths(kind, spec, &mut checker);
            check_heal_window(spec, &mut checker);
            let size = spec.to_string().len();
            if size > MAX_SPEC_BYTES {
                let message = format!("spec is {size} bytes as JSON; expected at most {MAX_SPEC_BYTES}");
                checker.error(spec_node.line, "spec", message);
            }
            for r in references::find(spec) {
                if let Err((path, message)) = r {
                    checker.error_at(&path, message);
                }
            }
        }
        for e in checker.errors {
            self.at(e.line, label.clone(), &e.path, e.message);
        }
        spec
    }
}

fn parse_document(doc: &Node, file: &str, default_stack: Option<&str>) -> Result<Manifest, Vec<ManifestError>> {
    let mut errors = Errors { file, list: Vec::new() };
    let Value::Map(entries) = &doc.value else {
        errors.at(doc.line, None, "", format!("expected a manifest (a mapping), got {}", doc.type_name()));
        return Err(errors.list);
    };
    let kind = errors.header(doc, entries);
    let (name, mut stack) = errors.metadata(doc, default_stack);
    let Some(kind) = kind else { return Err(errors.list) };
    let def = crate::kinds::definition(kind);
    let label = name.as_ref().map(|n| format!("{kind}/{n}"));
    let metadata = doc.get("metadata");
    if let Some(n) = &name
        && !(def.name_rule.check)(n)
    {
        let line = metadata.and_then(|m| m.get("name")).map_or(doc.line, |n| n.line);
        let message = format!("expected {}, got {}", def.name_rule.expected, quote(n));
        errors.at(line, label.clone(), "metadata.name", message);
    }
    if kind == Kind::Stack {
        // A Stack's name is its stack; metadata.stack may repeat it but not contradict it.
        let meta_stack = metadata.and_then(|m| m.get("stack")).and_then(Node::as_str);
        if let (Some(s), Some(n)) = (meta_stack, &name)
            && s != n
        {
            let message = format!("expected the Stack's own name {n:?}, got {s:?}");
            errors.at(doc.line, label.clone(), "metadata.stack", message);
        }
        stack = name.clone();
    } else if stack.is_none() {
        errors.at(doc.line, label.clone(), "metadata.stack", "required (or pass --stack)".into());
    }
    let spec = errors.spec(doc, kind, &label);
    if !errors.list.is_empty() {
        return Err(errors.list);
    }
    Ok(Manifest {
        key: ResourceKey::new(&stack.unwrap_or_default(), kind, &name.unwrap_or_default()),
        spec: spec.unwrap_or(Json::Null),
        source: Source { file: file.to_string(), line: doc.line },
    })
}

/// `ignoreChanges` may name only fields the kind compares (the top-level keys of its desired
/// view, as `diff --live` prints them), and never a secret.
fn check_ignored_paths(kind: Kind, spec: &Json, checker: &mut Checker) {
    let Some(paths) = spec.get("ignoreChanges").and_then(Json::as_array) else { return };
    let adapter = crate::kinds::adapter(kind);
    let desired = crate::model::Desired {
        key: ResourceKey::new("validate", kind, "validate"),
        spec: as_resolved(spec),
        tags: BTreeMap::new(),
        region: String::new(),
        vpc_id: String::new(),
        version: 0,
        memo: Json::Null,
        exact_tags: false,
    };
    // A spec that passed its schema reads as its kind's typed spec once selectors are ids.
    let view = adapter.desired_view(&desired).unwrap_or_default();
    let mut fields: Vec<String> = view.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    if !fields.iter().any(|f| f == "tags") && kind != Kind::Stack {
        fields.push("tags".into());
    }
    for (i, path) in paths.iter().enumerate().filter_map(|(i, p)| p.as_str().map(|p| (i, p))) {
        let first = path.split(['.', '[']).next().unwrap_or_default();
        let at = format!("ignoreChanges[{i}]");
        if adapter.secret_fields().contains(&first) {
            checker.error_at(&at, format!("{first} is a secret: its drift is always healed, never ignored"));
        } else if first == "*" || !fields.iter().any(|f| crate::model::paths::segment_matches(first, f)) {
            checker.error_at(&at, format!("no field {first:?} in a {kind}; expected one of {}", fields.join(", ")));
        }
    }
}

/// The spec as resolution would leave it, for the kind's cross-field checks and a look at its
/// view: each `{byTag: …}` selector an id.
fn as_resolved(spec: &Json) -> Json {
    match spec {
        Json::Object(m) if m.len() == 1 && m.contains_key("byTag") => json!("id-selected-by-tag"),
        Json::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), as_resolved(v))).collect()),
        Json::Array(items) => Json::Array(items.iter().map(as_resolved).collect()),
        other => other.clone(),
    }
}

/// How a `healWindow`'s fields go together (each field's own rule is checked by the schema).
fn check_heal_window(spec: &Json, checker: &mut Checker) {
    let Some(window) = spec.get("healWindow") else { return };
    if let Err(e) = crate::model::heal_window::HealWindow::from_spec(window) {
        let at = if e.field.is_empty() { "healWindow".to_string() } else { format!("healWindow.{}", e.field) };
        checker.error_at(&at, e.message);
    }
}

fn show(node: &Node) -> String {
    match &node.value {
        Value::Str(s) => quote(s),
        _ => node.type_name().to_string(),
    }
}

/// Rules that span resources: duplicates, a Stack for every stack, references that resolve, no
/// cycles. `stored` holds resources already in the store that the new set does not replace.
pub fn validate_set(manifests: &[Manifest], stored: &[Manifest]) -> Result<(), ValidationErrors> {
    let mut errors = Vec::new();
    let mut seen: BTreeMap<&ResourceKey, &Manifest> = BTreeMap::new();
    for m in manifests {
        if let Some(first) = seen.insert(&m.key, m) {
            errors.push(ManifestError {
                file: m.source.file.clone(),
                line: m.source.line,
                resource: Some(m.key.short()),
                path: String::new(),
                message: format!(
                    "defined twice in stack {:?}; first at {}:{}",
                    m.key.stack, first.source.file, first.source.line
                ),
            });
        }
    }
    let mut all: BTreeMap<ResourceKey, &Manifest> = stored.iter().map(|m| (m.key.clone(), m)).collect();
    for m in manifests {
        all.insert(m.key.clone(), m);
    }
    for m in manifests {
        let stack_key = ResourceKey::new(&m.key.stack, Kind::Stack, &m.key.stack);
        if m.key.kind != Kind::Stack && !all.contains_key(&stack_key) {
            errors.push(ManifestError {
                file: m.source.file.clone(),
                line: m.source.line,
                resource: Some(m.key.short()),
                path: "metadata.stack".into(),
                message: format!(
                    "expected a Stack manifest named {:?} (in these files or already applied)",
                    m.key.stack
                ),
            });
        }
    }
    errors.extend(references::check(manifests, &all));
    if errors.is_empty() { Ok(()) } else { Err(ValidationErrors(errors)) }
}
