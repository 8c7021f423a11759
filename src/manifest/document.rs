//! A manifest as steward holds it: the validated resource, where it came from, and the errors
//! that name a file, a line and a field path.

use crate::model::ResourceKey;
use serde_json::{Value as Json, json};
use std::fmt;

pub const API_VERSION: &str = "steward/v1";
/// Larger files are refused before parsing: a manifest set is a few kilobytes.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// A spec must fit comfortably in one DynamoDB item (400 KB) beside its metadata.
pub const MAX_SPEC_BYTES: usize = 64 * 1024;

/// Where a manifest came from: a file and line, or the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub file: String,
    pub line: usize,
}

/// One validated resource of desired state.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub key: ResourceKey,
    /// The normalized spec, including the common fields (managementPolicy, deletionPolicy, adopt).
    pub spec: Json,
    pub source: Source,
}

impl Manifest {
    pub fn management_policy(&self) -> &str {
        self.spec.get("managementPolicy").and_then(Json::as_str).unwrap_or("enforce")
    }

    pub fn deletion_policy(&self) -> &str {
        let default = if crate::kinds::definition(self.key.kind).retain_by_default { "Retain" } else { "Delete" };
        self.spec.get("deletionPolicy").and_then(Json::as_str).unwrap_or(default)
    }

    /// The manifest as a document, the way `get -o yaml` prints it and `edit` shows it.
    pub fn to_document(&self) -> Json {
        json!({
            "apiVersion": API_VERSION,
            "kind": self.key.kind.as_str(),
            "metadata": { "name": self.key.name, "stack": self.key.stack },
            "spec": self.spec,
        })
    }
}

/// A validation problem, printed as `file:line: Kind/name: spec.path: what was expected`.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestError {
    pub file: String,
    pub line: usize,
    pub resource: Option<String>,
    pub path: String,
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(r) = &self.resource {
            write!(f, "{r}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every error found, in file order; the CLI prints them all and writes nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationErrors(pub Vec<ManifestError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}; nothing was written", self.listing())
    }
}

impl ValidationErrors {
    /// Every error, one per line, and their count (for commands that never write).
    pub fn listing(&self) -> String {
        let mut out: String = self.0.iter().map(|e| format!("{e}\n")).collect();
        out.push_str(&format!("{} error(s)", self.0.len()));
        out
    }
}

impl std::error::Error for ValidationErrors {}
