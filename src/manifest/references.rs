//! `${Kind/name.output}` references between resources of one stack: finding them, checking them,
//! ordering resources by them, and substituting observed outputs.

use super::document::{Manifest, ManifestError};
use crate::model::Kind;
use crate::model::ResourceKey;
use serde_json::Value as Json;
use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Where the reference sits, relative to the spec (`image.env.REDIS_URL`).
    pub path: String,
    pub kind: Kind,
    pub name: String,
    pub output: String,
}

/// Every reference in a spec, or (path, message) for each malformed one.
pub fn find(spec: &Json) -> Vec<Result<Reference, (String, String)>> {
    let mut found = Vec::new();
    walk(spec, &mut Vec::new(), &mut |path, s| {
        if !s.contains("${") {
            return;
        }
        // Paths are only spelled out for strings that hold references: most hold none.
        let path = spell(path);
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                found.push(Err((path.clone(), "expected `}` to close the reference `${…`".to_string())));
                return;
            };
            found.push(
                parse(&after[..end])
                    .map(|(kind, name, output)| Reference { path: path.clone(), kind, name, output })
                    .map_err(|m| (path.clone(), m)),
            );
            rest = &after[end + 1..];
        }
    });
    found
}

fn parse(inner: &str) -> Result<(Kind, String, String), String> {
    let bad = || format!("expected a reference like ${{Kind/name.output}}, got {:?}", format!("${{{inner}}}"));
    let (kind, rest) = inner.split_once('/').ok_or_else(bad)?;
    let (name, output) = rest.split_once('.').ok_or_else(bad)?;
    let kind = Kind::parse(kind).ok_or_else(|| format!("unknown kind {kind:?} in reference ${{{inner}}}"))?;
    if name.is_empty() || output.is_empty() {
        return Err(bad());
    }
    Ok((kind, name.to_string(), output.to_string()))
}

/// One step of a path inside a spec: a field name or a list index.
enum Step<'a> {
    Field(&'a str),
    Index(usize),
}

/// `image.env.REDIS_URL`, `subnets[0]`.
fn spell(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Field(k) if out.is_empty() => out.push_str(k),
            Step::Field(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Visits every string in a value with its path.
fn walk<'a>(value: &'a Json, path: &mut Vec<Step<'a>>, visit: &mut impl FnMut(&[Step], &str)) {
    match value {
        Json::String(s) => visit(path, s),
        Json::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(Step::Index(i));
                walk(v, path, visit);
                path.pop();
            }
        }
        Json::Object(map) => {
            for (k, v) in map {
                path.push(Step::Field(k));
                walk(v, path, visit);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Well-formed references of a manifest (malformed ones were rejected at parse time).
pub fn of(manifest: &Manifest) -> Vec<Reference> {
    find(&manifest.spec).into_iter().filter_map(Result::ok).collect()
}

/// The resources a manifest depends on (its stack's Stack is implicit and not listed).
pub fn dependencies(manifest: &Manifest) -> BTreeSet<ResourceKey> {
    of(manifest).into_iter().map(|r| ResourceKey::new(&manifest.key.stack, r.kind, &r.name)).collect()
}

fn output_exists(target: &Manifest, output: &str) -> bool {
    if target.key.kind == Kind::Stack
        && let Some(param) = output.strip_prefix("params.")
    {
        return target.spec.get("params").and_then(|p| p.get(param)).is_some();
    }
    crate::kinds::definition(target.key.kind).outputs.contains(&output)
}

/// Checks that every reference of `manifests` names an existing resource and output of the same
/// stack in `all`, and that the references of `all` form no cycle.
pub fn check(manifests: &[Manifest], all: &BTreeMap<ResourceKey, &Manifest>) -> Vec<ManifestError> {
    let mut errors = Vec::new();
    for m in manifests {
        for r in of(m) {
            let target = ResourceKey::new(&m.key.stack, r.kind, &r.name);
            let message = match all.get(&target) {
                None => {
                    Some(format!("references {}/{}, which is not defined in stack {:?}", r.kind, r.name, m.key.stack))
                }
                Some(t) if !output_exists(t, &r.output) => {
                    let mut outputs: Vec<String> =
                        crate::kinds::definition(r.kind).outputs.iter().map(|s| s.to_string()).collect();
                    if r.kind == Kind::Stack {
                        outputs.push("params.<name>".into());
                    }
                    Some(format!(
                        "{}/{} has no output {:?}; expected one of {}",
                        r.kind,
                        r.name,
                        r.output,
                        outputs.join(", ")
                    ))
                }
                Some(_) if target == m.key => Some("a resource cannot reference itself".into()),
                Some(_) => None,
            };
            if let Some(message) = message {
                errors.push(ManifestError {
                    file: m.source.file.clone(),
                    line: m.source.line,
                    resource: Some(m.key.short()),
                    path: format!("spec.{}", r.path),
                    message,
                });
            }
        }
    }
    let cycles = find_cycles(all.values().copied());
    for cycle in cycles {
        // Report a cycle once, on a member that is part of the set being validated if possible.
        let at =
            cycle.iter().find_map(|k| manifests.iter().find(|m| &m.key == k)).or_else(|| all.get(&cycle[0]).copied());
        if let Some(m) = at {
            let mut names: Vec<String> = cycle.iter().map(ResourceKey::short).collect();
            names.push(cycle[0].short());
            errors.push(ManifestError {
                file: m.source.file.clone(),
                line: m.source.line,
                resource: Some(m.key.short()),
                path: String::new(),
                message: format!("reference cycle: {}", names.join(" -> ")),
            });
        }
    }
    errors
}

/// Resources in an order where every resource comes after the ones it references (Stacks first),
/// level by level, each level in key order. Resources caught in a cycle come last, in key order.
pub fn topological_order<M: Borrow<Manifest>>(manifests: &[M]) -> Vec<ResourceKey> {
    topological_levels(manifests).into_iter().flatten().collect()
}

/// The reference graph in levels: each resource's dependencies are all in earlier levels (a
/// stack's resources depend on its Stack), so a level can be observed and acted on as one batch.
/// Resources caught in a cycle (validation refuses them) make up a last level, in key order.
pub fn topological_levels<M: Borrow<Manifest>>(manifests: &[M]) -> Vec<Vec<ResourceKey>> {
    let keys: BTreeSet<&ResourceKey> = manifests.iter().map(|m| &m.borrow().key).collect();
    // Kahn's algorithm: how many unplaced dependencies each resource has, and who waits on whom.
    let mut waiting_on: BTreeMap<ResourceKey, usize> = BTreeMap::new();
    let mut dependents: BTreeMap<ResourceKey, Vec<ResourceKey>> = BTreeMap::new();
    for m in manifests {
        let m = m.borrow();
        let mut deps: BTreeSet<ResourceKey> =
            dependencies(m).into_iter().filter(|d| keys.contains(d) && d != &m.key).collect();
        let stack = ResourceKey::new(&m.key.stack, Kind::Stack, &m.key.stack);
        if m.key != stack && keys.contains(&stack) {
            deps.insert(stack);
        }
        waiting_on.insert(m.key.clone(), deps.len());
        for d in deps {
            dependents.entry(d).or_default().push(m.key.clone());
        }
    }
    let mut levels = Vec::new();
    let mut level: Vec<ResourceKey> = waiting_on.iter().filter(|(_, n)| **n == 0).map(|(k, _)| k.clone()).collect();
    while !level.is_empty() {
        let mut next = Vec::new();
        for k in &level {
            waiting_on.remove(k);
            for d in dependents.get(k).into_iter().flatten() {
                if let Some(n) = waiting_on.get_mut(d) {
                    *n -= 1;
                    if *n == 0 {
                        next.push(d.clone());
                    }
                }
            }
        }
        levels.push(std::mem::take(&mut level));
        next.sort();
        level = next;
    }
    if !waiting_on.is_empty() {
        levels.push(waiting_on.into_keys().collect());
    }
    levels
}

fn find_cycles<'a>(manifests: impl Iterator<Item = &'a Manifest>) -> Vec<Vec<ResourceKey>> {
    let graph: BTreeMap<ResourceKey, BTreeSet<ResourceKey>> =
        manifests.map(|m| (m.key.clone(), dependencies(m))).collect();
    let mut state: BTreeMap<&ResourceKey, u8> = BTreeMap::new(); // 1 = on the path, 2 = done
    let mut cycles = Vec::new();
    for start in graph.keys() {
        let mut path: Vec<&ResourceKey> = Vec::new();
        visit(start, &graph, &mut state, &mut path, &mut cycles);
    }
    cycles
}

fn visit<'a>(
    node: &'a ResourceKey,
    graph: &'a BTreeMap<ResourceKey, BTreeSet<ResourceKey>>,
    state: &mut BTreeMap<&'a ResourceKey, u8>,
    path: &mut Vec<&'a ResourceKey>,
    cycles: &mut Vec<Vec<ResourceKey>>,
) {
    match state.get(node) {
        Some(2) => return,
        Some(1) => {
            let from = path.iter().position(|k| *k == node).unwrap_or(0);
            cycles.push(path[from..].iter().map(|k| (*k).clone()).collect());
            return;
        }
        _ => {}
    }
    state.insert(node, 1);
    path.push(node);
    for dep in graph.get(node).into_iter().flatten() {
        if let Some((key, _)) = graph.get_key_value(dep) {
            visit(key, graph, state, path, cycles);
        }
    }
    path.pop();
    state.insert(node, 2);
}

/// Replaces every reference in `spec` with the value `lookup` gives for (kind, name, output);
/// returns the unresolved references instead when any is missing (the resource waits).
pub fn substitute(spec: &Json, lookup: &dyn Fn(Kind, &str, &str) -> Option<String>) -> Result<Json, Vec<Reference>> {
    let mut missing = Vec::new();
    let resolved = substitute_value(spec, &mut |s| {
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').unwrap_or(after.len());
            match parse(&after[..end]) {
                Ok((kind, name, output)) => match lookup(kind, &name, &output) {
                    Some(v) => out.push_str(&v),
                    None => missing.push(Reference { path: String::new(), kind, name, output }),
                },
                Err(_) => out.push_str(&rest[start..start + 2 + end]),
            }
            rest = after.get(end + 1..).unwrap_or("");
        }
        out.push_str(rest);
        out
    });
    if missing.is_empty() { Ok(resolved) } else { Err(missing) }
}

fn substitute_value(value: &Json, f: &mut impl FnMut(&str) -> String) -> Json {
    match value {
        Json::String(s) if s.contains("${") => Json::String(f(s)),
        Json::Array(items) => Json::Array(items.iter().map(|v| substitute_value(v, f)).collect()),
        Json::Object(map) => Json::Object(map.iter().map(|(k, v)| (k.clone(), substitute_value(v, f))).collect()),
        other => other.clone(),
    }
}
