//! One resource instance of a Terraform state, and how its attributes are read: by name, tags
//! without AWS's and steward's own, nested blocks by their first element.

use super::error::Skip;
use super::inventory::is_reserved_tag;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

/// One resource instance of the state.
#[derive(Debug, Clone)]
pub(super) struct Instance {
    pub(super) address: String,
    pub(super) kind: String,
    pub(super) data: bool,
    /// `tainted`, or `deposed` (an object Terraform is replacing).
    pub(super) status: Option<String>,
    pub(super) attributes: Json,
    /// Top-level attributes the provider (or a sensitive variable) marked sensitive.
    pub(super) sensitive: BTreeSet<String>,
}

impl Instance {
    pub(super) fn str(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(Json::as_str).filter(|s| !s.is_empty())
    }
    pub(super) fn strings(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .attributes
            .get(name)
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        out.sort();
        out
    }
    /// The first block of a nested block list (`source_configuration[0]`).
    pub(super) fn block(&self, name: &str) -> Json {
        first(&self.attributes[name])
    }
    pub(super) fn tags(&self) -> BTreeMap<String, String> {
        tags_of(&self.attributes["tags"])
    }
    /// `attribute` when the provider did not mark it sensitive.
    pub(super) fn readable(&self, attribute: &str) -> Result<(), Skip> {
        match self.sensitive.contains(attribute) {
            true => Err(Skip::Sensitive(attribute.into())),
            false => Ok(()),
        }
    }
}

pub(super) fn first(value: &Json) -> Json {
    value.as_array().and_then(|a| a.first()).cloned().unwrap_or(Json::Null)
}

pub(super) fn tags_of(value: &Json) -> BTreeMap<String, String> {
    value
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !is_reserved_tag(k))
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
        .collect()
}
