//! What the store holds, as steward reads it: stored resources, history entries, changes to
//! write, and the keys of their items.

use crate::manifest::Manifest;
use crate::model::{Kind, ResourceKey};
use serde_json::Value as Json;

/// A resource as stored: its manifest and the bookkeeping around it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResource {
    pub manifest: Manifest,
    pub version: u64,
    /// The stack generation at this resource's last change (the controller's fast path reads it).
    pub generation: u64,
    pub deleted: bool,
    pub paused: bool,
    /// A one-time consent to replace the object (`steward approve`): the fingerprint of the
    /// drift it was given for (see `decide::replacement_fingerprint`).
    pub approved_replacement: Option<String>,
    pub updated_by: String,
    pub updated_at: String,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub version: u64,
    pub spec: Json,
    pub op: String,
    pub by: String,
    pub at: String,
    pub message: Option<String>,
    pub deleted: bool,
}

/// One resource to write. `base_version` is the version the change was computed from (None: the
/// resource must not exist yet); the write fails if someone else changed it in between.
#[derive(Debug, Clone)]
pub struct Change {
    pub key: ResourceKey,
    pub base_version: Option<u64>,
    pub spec: Json,
    pub deleted: bool,
    pub op: &'static str,
    pub message: Option<String>,
}

pub fn res_sk(kind: Kind, name: &str) -> String {
    format!("RES#{kind}#{name}")
}

pub fn hist_prefix(kind: Kind, name: &str) -> String {
    format!("HIST#{kind}#{name}#")
}

pub fn stack_pk(stack: &str) -> String {
    format!("STACK#{stack}")
}
