//! What a pass walks: the stacks' stored state (one query per stack), in the levels of the
//! reference graph, and, with one resource asked for, the scope it needs.

use super::report::PassOptions;
use crate::kinds::stack::StackSpec;
use crate::manifest::references;
use crate::model::adapter::kind_spec;
use crate::model::{Kind, ResourceKey};
use crate::status::Status;
use crate::store::{Store, StoredResource};
use anyhow::Result;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The stacks' desired state and last statuses, as one pass reads them.
pub struct Loaded {
    pub stacks: Vec<String>,
    pub stored: Vec<StoredResource>,
    pub paused_stacks: BTreeSet<String>,
    pub previous: BTreeMap<ResourceKey, Status>,
    /// Each stack's Stack resource (its place in `stored`), and its spec read once for the pass
    /// (or why it cannot be read): every resource of the stack needs them.
    stacks_at: HashMap<String, (usize, Result<StackSpec, String>)>,
}

impl Loaded {
    /// A stack's Stack resource.
    pub fn stack(&self, stack: &str) -> Option<&StoredResource> {
        self.stacks_at.get(stack).map(|(at, _)| &self.stored[*at])
    }

    /// A stack's own spec as stored (with its `resync` and `healWindow`).
    pub fn stack_spec(&self, stack: &str) -> Option<&Json> {
        self.stack(stack).map(|r| &r.manifest.spec)
    }

    /// A stack's spec as resolution reads it, or why it cannot be read.
    pub fn typed_stack_spec(&self, stack: &str) -> Option<Result<&StackSpec, &str>> {
        self.stacks_at.get(stack).map(|(_, spec)| spec.as_ref().map_err(String::as_str))
    }
}

/// One DynamoDB Query per stack: its resources, statuses and paused flag.
pub async fn load(store: &Store, options: &PassOptions) -> Result<Loaded> {
    let stacks = match &options.stacks {
        Some(s) => s.clone(),
        None => store.stacks().await?,
    };
    let mut loaded = Loaded {
        stacks,
        stored: Vec::new(),
        paused_stacks: BTreeSet::new(),
        previous: BTreeMap::new(),
        stacks_at: HashMap::new(),
    };
    for stack in &loaded.stacks {
        let snapshot = store.snapshot(stack).await?;
        if snapshot.paused {
            loaded.paused_stacks.insert(stack.clone());
        }
        loaded.stored.extend(snapshot.resources);
        loaded.previous.extend(snapshot.statuses);
    }
    loaded.stored.sort_by(|a, b| a.manifest.key.cmp(&b.manifest.key));
    loaded.stored.retain(|r| r.manifest.key.kind != Kind::Stack || !r.deleted);
    let is_stack =
        |r: &StoredResource| r.manifest.key.kind == Kind::Stack && r.manifest.key.name == r.manifest.key.stack;
    for (at, r) in loaded.stored.iter().enumerate().filter(|(_, r)| is_stack(r)) {
        let spec = kind_spec(&r.manifest.spec).map_err(|e| e.to_string());
        loaded.stacks_at.insert(r.manifest.key.stack.clone(), (at, spec));
    }
    Ok(loaded)
}

/// The resource asked for (all resources when none was).
pub fn wanted(options: &PassOptions, r: &StoredResource) -> bool {
    match &options.only {
        Some((kind, name)) => r.manifest.key.kind == *kind && &r.manifest.key.name == name,
        None => true,
    }
}

/// With one resource asked for, only it and what it references (transitively) are observed.
pub fn scope_of(options: &PassOptions, loaded: &Loaded) -> Option<BTreeSet<ResourceKey>> {
    options.only.as_ref()?;
    let stored = &loaded.stored;
    let live: Vec<_> = stored.iter().filter(|r| !r.deleted).map(|r| &r.manifest).collect();
    let mut scope: BTreeSet<ResourceKey> =
        stored.iter().filter(|r| wanted(options, r)).map(|r| r.manifest.key.clone()).collect();
    let mut frontier: Vec<ResourceKey> = scope.iter().cloned().collect();
    while let Some(key) = frontier.pop() {
        let Some(m) = live.iter().find(|m| m.key == key) else { continue };
        for dep in references::dependencies(m) {
            if scope.insert(dep.clone()) {
                frontier.push(dep);
            }
        }
    }
    Some(scope)
}

/// The reference graph in levels, then what was removed from the desired state, dependents
/// before what they depend on (in reverse kind order).
pub fn levels(stored: &[StoredResource]) -> Vec<Vec<&StoredResource>> {
    let live: Vec<_> = stored.iter().filter(|r| !r.deleted).map(|r| &r.manifest).collect();
    let by_key: HashMap<&ResourceKey, &StoredResource> = stored.iter().map(|r| (&r.manifest.key, r)).collect();
    let mut levels: Vec<Vec<&StoredResource>> = references::topological_levels(&live)
        .iter()
        .map(|level| level.iter().filter_map(|k| by_key.get(k).copied()).collect())
        .collect();
    let mut removed: Vec<&StoredResource> = stored.iter().filter(|r| r.deleted).collect();
    removed.sort_by_key(|r| std::cmp::Reverse(Kind::ALL.iter().position(|k| *k == r.manifest.key.kind)));
    levels.push(removed);
    levels
}

/// The live resources of `key`'s stack whose last applied configuration names one of the
/// object's outputs (an ARN, a URL, a DNS name: values long enough not to match by chance). A
/// removed object is deleted only once none does, so that a record switched away from it, or a
/// service given a new URL, has been changed first. A value that a live resource also outputs
/// (an App Runner domain's DNS target is its service's URL) names that one, not this one.
pub fn named_by(loaded: &Loaded, key: &ResourceKey) -> Vec<ResourceKey> {
    let Some(outputs) = loaded.previous.get(key).map(|s| &s.outputs) else { return Vec::new() };
    let live: Vec<&StoredResource> = loaded
        .stored
        .iter()
        .filter(|r| !r.deleted && r.manifest.key.stack == key.stack && r.manifest.key != *key)
        .collect();
    let bare = |v: &String| v.trim_start_matches("https://").to_string();
    let theirs: BTreeSet<String> = live
        .iter()
        .filter_map(|r| loaded.previous.get(&r.manifest.key))
        .flat_map(|s| s.outputs.values().map(bare))
        .collect();
    let names: Vec<String> = outputs.values().map(bare).filter(|v| v.len() >= 12 && !theirs.contains(v)).collect();
    if names.is_empty() {
        return Vec::new();
    }
    live.into_iter()
        .filter(|r| {
            let applied = loaded.previous.get(&r.manifest.key).and_then(|s| s.applied.as_ref());
            applied.is_some_and(|a| mentions(&a.view, &names))
        })
        .map(|r| r.manifest.key.clone())
        .collect()
}

/// Whether any string in `value` contains one of `names`.
fn mentions(value: &Json, names: &[String]) -> bool {
    match value {
        Json::String(s) => names.iter().any(|n| s.contains(n.as_str())),
        Json::Array(items) => items.iter().any(|v| mentions(v, names)),
        Json::Object(map) => map.values().any(|v| mentions(v, names)),
        _ => false,
    }
}
