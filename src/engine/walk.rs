//! What a pass walks: the stacks' stored state (one query per stack), in the levels of the
//! reference graph, and, with one resource asked for, the scope it needs.

use super::report::PassOptions;
use crate::manifest::references;
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
}

/// One DynamoDB Query per stack: its resources, statuses and paused flag.
pub async fn load(store: &Store, options: &PassOptions) -> Result<Loaded> {
    let stacks = match &options.stacks {
        Some(s) => s.clone(),
        None => store.stacks().await?,
    };
    let mut loaded = Loaded { stacks, stored: Vec::new(), paused_stacks: BTreeSet::new(), previous: BTreeMap::new() };
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
    Ok(loaded)
}

/// The resource asked for (all resources when none was).
pub fn wanted(options: &PassOptions, r: &StoredResource) -> bool {
    match &options.only {
        Some((kind, name)) => r.manifest.key.kind == *kind && &r.manifest.key.name == name,
        None => true,
    }
}

/// A stack's own spec.
pub fn stack_spec_of<'a>(loaded: &'a Loaded, stack: &str) -> Option<&'a Json> {
    let key = ResourceKey::new(stack, Kind::Stack, stack);
    loaded.stored.iter().find(|r| r.manifest.key == key).map(|r| &r.manifest.spec)
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
