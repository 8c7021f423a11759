//! What a pass has learned so far, level by level: outputs of what was observed, which objects
//! exist and are ready (dependents wait for them), and each stack's VPC. Resolution reads it.

use crate::model::{Adapter, Observed, ResourceKey};
use crate::status::{ConditionType, Phase, Status};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default)]
pub struct Known {
    pub outputs: BTreeMap<ResourceKey, BTreeMap<String, String>>,
    /// Observed this pass, owned and ready: dependents may be created.
    pub ready: BTreeSet<ResourceKey>,
    /// Observed this pass and owned, ready or not: dependents that exist are still compared.
    pub present: BTreeSet<ResourceKey>,
    /// Each stack's VPC id, once resolved.
    pub vpcs: BTreeMap<String, String>,
    /// This pass's number for the selector cache (what it fetched itself is never re-fetched).
    pub lookup_pass: u64,
}

impl Known {
    /// What dependents may rely on: an owned object that exists (and is ready) this pass.
    pub fn note_observed(
        &mut self,
        adapter: &dyn Adapter,
        key: &ResourceKey,
        observed: Option<&Observed>,
        removed: bool,
    ) {
        let Some(o) = observed else { return };
        self.outputs.insert(key.clone(), o.outputs.clone());
        if o.owned && !removed {
            self.present.insert(key.clone());
            if adapter.ready_for_dependents(o) {
                self.ready.insert(key.clone());
            }
        }
    }

    /// A settled resource a timer's pass left alone: what it was last time stands for its
    /// dependents.
    pub fn note_unobserved(&mut self, key: &ResourceKey, removed: bool, prev: &Status) {
        if !removed && prev.condition(ConditionType::Ready) {
            self.present.insert(key.clone());
            if prev.phase == Phase::Ready || prev.phase == Phase::Deferred {
                self.ready.insert(key.clone());
            }
        }
    }
}
