//! Conversions between store records and DynamoDB items.

use super::call_error::StoreCallError;
use super::records::{Change, HistoryEntry, StoredResource, hist_prefix, res_sk, stack_pk};
use crate::model::Kind;
use crate::model::ResourceKey;
use anyhow::{Context, Result, anyhow};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use std::collections::HashMap;

/// A failed DynamoDB call of the store, typed (`StoreCallError`), as an `anyhow` error.
pub fn aws_error<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    what: &str,
    e: aws_sdk_dynamodb::error::SdkError<E>,
) -> anyhow::Error {
    StoreCallError::new(what, e).into()
}

pub fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

pub fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Typed reads from a raw item; a missing attribute reads as empty, zero or false.
pub struct Item(pub HashMap<String, AttributeValue>);

impl Item {
    pub fn str(&self, name: &str) -> String {
        self.0.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
    }

    fn opt_str(&self, name: &str) -> Option<String> {
        self.0.get(name).and_then(|v| v.as_s().ok()).cloned()
    }

    pub fn u64(&self, name: &str) -> u64 {
        self.0.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    pub fn bool(&self, name: &str) -> bool {
        self.0.get(name).and_then(|v| v.as_bool().ok()).copied().unwrap_or(false)
    }

    fn key(&self) -> Result<ResourceKey> {
        let kind = self.str("kind");
        let kind = Kind::parse(&kind).ok_or_else(|| anyhow!("store item has unknown kind {kind:?}"))?;
        Ok(ResourceKey::new(&self.str("stack"), kind, &self.str("name")))
    }

    fn spec(&self) -> Result<serde_json::Value> {
        serde_json::from_str(&self.str("spec"))
            .with_context(|| format!("store item {} holds an unreadable spec", self.str("sk")))
    }

    pub fn resource(self) -> Result<StoredResource> {
        Ok(StoredResource {
            manifest: StoredResource::from_parts(self.key()?, self.spec()?),
            version: self.u64("version"),
            generation: self.u64("generation"),
            deleted: self.bool("deleted"),
            paused: self.bool("paused"),
            approved_replacement: self.opt_str("approvedReplacement"),
            updated_by: self.str("updatedBy"),
            updated_at: self.str("updatedAt"),
            message: self.opt_str("message"),
        })
    }

    pub fn history(self) -> Result<HistoryEntry> {
        Ok(HistoryEntry {
            version: self.u64("version"),
            spec: self.spec()?,
            op: self.str("op"),
            by: self.str("by"),
            at: self.str("at"),
            message: self.opt_str("message"),
            deleted: self.bool("deleted"),
        })
    }
}

/// The new current version of a resource, conditional on the version the change was based on.
pub fn resource_update(table: &str, c: &Change, generation: u64, actor: &str, now: &str) -> Result<TransactWriteItem> {
    let version = c.base_version.map_or(1, |v| v + 1);
    let mut update = Update::builder()
        .table_name(table)
        .key("pk", s(&stack_pk(&c.key.stack)))
        .key("sk", s(&res_sk(c.key.kind, &c.key.name)))
        .expression_attribute_names("#spec", "spec")
        .expression_attribute_names("#name", "name")
        .expression_attribute_values(":stack", s(&c.key.stack))
        .expression_attribute_values(":kind", s(c.key.kind.as_str()))
        .expression_attribute_values(":name", s(&c.key.name))
        .expression_attribute_values(":spec", s(&c.spec.to_string()))
        .expression_attribute_values(":version", n(version))
        .expression_attribute_values(":generation", n(generation))
        .expression_attribute_values(":by", s(actor))
        .expression_attribute_values(":at", s(now))
        .expression_attribute_values(":deleted", AttributeValue::Bool(c.deleted));
    let set = "SET stack = :stack, kind = :kind, #name = :name, #spec = :spec, version = :version, \
               generation = :generation, updatedBy = :by, updatedAt = :at, deleted = :deleted";
    update = match &c.message {
        Some(m) => {
            update.update_expression(format!("{set}, message = :message")).expression_attribute_values(":message", s(m))
        }
        None => update.update_expression(format!("{set} REMOVE message")),
    };
    update = match c.base_version {
        None => update.condition_expression("attribute_not_exists(pk)"),
        Some(v) => update.condition_expression("version = :base").expression_attribute_values(":base", n(v)),
    };
    Ok(TransactWriteItem::builder().update(update.build()?).build())
}

/// The immutable history item of the new version; it can never be overwritten.
pub fn history_put(table: &str, c: &Change, actor: &str, now: &str) -> Result<TransactWriteItem> {
    let version = c.base_version.map_or(1, |v| v + 1);
    let mut put = Put::builder()
        .table_name(table)
        .item("pk", s(&stack_pk(&c.key.stack)))
        .item("sk", s(&format!("{}{version:010}", hist_prefix(c.key.kind, &c.key.name))))
        .item("version", n(version))
        .item("spec", s(&c.spec.to_string()))
        .item("op", s(c.op))
        .item("by", s(actor))
        .item("at", s(now))
        .item("deleted", AttributeValue::Bool(c.deleted))
        .condition_expression("attribute_not_exists(pk)");
    if let Some(m) = &c.message {
        put = put.item("message", s(m));
    }
    Ok(TransactWriteItem::builder().put(put.build()?).build())
}

/// Moves a stack's generation from `current` to `current + 1` (and sets its paused flag if given).
pub fn generation_bump(table: &str, stack: &str, current: u64, paused: Option<bool>) -> Result<TransactWriteItem> {
    let mut update = Update::builder()
        .table_name(table)
        .key("pk", s(&stack_pk(stack)))
        .key("sk", s("META"))
        .expression_attribute_values(":next", n(current + 1));
    let set = "SET generation = :next";
    update = match paused {
        Some(p) => update
            .update_expression(format!("{set}, paused = :paused"))
            .expression_attribute_values(":paused", AttributeValue::Bool(p)),
        None => update.update_expression(set),
    };
    update = if current == 0 {
        update.condition_expression("attribute_not_exists(generation)")
    } else {
        update.condition_expression("generation = :current").expression_attribute_values(":current", n(current))
    };
    Ok(TransactWriteItem::builder().update(update.build()?).build())
}

/// A consent to replace the object for the drift with this fingerprint (`steward approve`).
pub fn approval_update(
    table: &str,
    key: &ResourceKey,
    fingerprint: &str,
    generation: u64,
    actor: &str,
    now: &str,
) -> Result<TransactWriteItem> {
    marked_by(table, key, ("approvedReplacement", s(fingerprint)), ("approvedBy", "approvedAt"), generation, actor, now)
}

pub fn pause_update(
    table: &str,
    key: &ResourceKey,
    paused: bool,
    generation: u64,
    actor: &str,
    now: &str,
) -> Result<TransactWriteItem> {
    marked_by(table, key, ("paused", AttributeValue::Bool(paused)), ("pausedBy", "pausedAt"), generation, actor, now)
}

/// Sets one attribute of an existing resource item, with who set it and when, and the stack
/// generation it was set at (the controller's fast path reads it).
fn marked_by(
    table: &str,
    key: &ResourceKey,
    (name, value): (&str, AttributeValue),
    (by, at): (&str, &str),
    generation: u64,
    actor: &str,
    now: &str,
) -> Result<TransactWriteItem> {
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(&stack_pk(&key.stack)))
        .key("sk", s(&res_sk(key.kind, &key.name)))
        .update_expression("SET #value = :value, #by = :by, #at = :at, generation = :generation")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_names("#value", name)
        .expression_attribute_names("#by", by)
        .expression_attribute_names("#at", at)
        .expression_attribute_values(":value", value)
        .expression_attribute_values(":by", s(actor))
        .expression_attribute_values(":at", s(now))
        .expression_attribute_values(":generation", n(generation))
        .build()?;
    Ok(TransactWriteItem::builder().update(update).build())
}
