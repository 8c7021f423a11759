//! A kind for tests only: no AWS behind it. Its calls are recorded, and each fails with the
//! error it was given, so the engine's stages can be driven in-process (`record_table.rs`).

use crate::model::{Adapter, Cx, Desired, Drift, Fix, Observed, ReconcileError, ResourceKey};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct FakeKind {
    /// Every mutating call's error, if it should fail.
    pub fails_with: Option<ReconcileError>,
    pub calls: Mutex<Vec<&'static str>>,
}

impl FakeKind {
    fn call(&self, name: &'static str) -> Result<(), ReconcileError> {
        self.calls.lock().unwrap().push(name);
        match &self.fails_with {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    pub fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Adapter for FakeKind {
    async fn observe(
        &self,
        _cx: &Cx<'_>,
        _wanted: &[Desired],
    ) -> Result<BTreeMap<ResourceKey, Observed>, ReconcileError> {
        Ok(BTreeMap::new())
    }

    /// The spec itself is the view.
    fn desired_view(&self, desired: &Desired) -> Result<Json, ReconcileError> {
        Ok(desired.spec.clone())
    }

    /// `engine` needs a new object; everything else is fixed in place.
    fn fix_for(&self, field: &str) -> Fix {
        if field == "engine" { Fix::Replace } else { Fix::InPlace }
    }

    fn sensitive(&self, field: &str) -> bool {
        field == "password"
    }

    async fn create(&self, _cx: &Cx<'_>, _desired: &Desired) -> Result<Json, ReconcileError> {
        self.call("create").map(|()| Json::Null)
    }

    async fn update(&self, _cx: &Cx<'_>, _d: &Desired, _o: &Observed, drift: &[Drift]) -> Result<Json, ReconcileError> {
        let replaces = drift.iter().any(|d| d.fix == Fix::Replace);
        self.call(if replaces { "replace" } else { "update" }).map(|()| Json::Null)
    }

    async fn delete(&self, _cx: &Cx<'_>, _observed: &Observed) -> Result<(), ReconcileError> {
        self.call("delete")
    }

    async fn adopt(&self, _cx: &Cx<'_>, _desired: &Desired, _observed: &Observed) -> Result<(), ReconcileError> {
        self.call("adopt")
    }
}
