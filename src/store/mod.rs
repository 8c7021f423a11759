//! The desired-state store in DynamoDB: one table, versioned resources, immutable history, per-stack
//! generations and a table-wide change counter, all written together in one transaction.
//!
//! Layout (partition key `pk`, sort key `sk`):
//! - `STACK#<stack>` / `RES#<Kind>#<name>`: the current spec, version, who/when/message, paused, deleted.
//! - `STACK#<stack>` / `HIST#<Kind>#<name>#<version, 10 digits>`: one immutable item per version.
//! - `STACK#<stack>` / `STATUS#<Kind>#<name>`: what the controller observed (written by the controller).
//! - `STACK#<stack>` / `META`: the stack's generation (bumped by every change) and its paused flag.
//! - `GLOBAL` / `CHANGES`: a counter every change bumps and the set of stack names, so one read tells
//!   a controller whether anything changed anywhere.
//! - `EVENTS#<stack>[#<Kind>#<name>]` / `<time>#…`: the drift timeline (timeline.rs), expired by TTL.
//!
//! No item ever holds a secret: specs name SSM parameters, never their values.

mod call_error;
mod items;
mod records;
mod timeline;

pub use call_error::{CallFailure, StoreCallError};
pub use records::{Change, HistoryEntry, StoredResource, stack_pk};
use records::{hist_prefix, res_sk};
pub use timeline::{TTL_ATTRIBUTE, TimelineEntry, retention_days};

use crate::manifest::{Manifest, Source};
use crate::model::Kind;
use crate::model::ResourceKey;
use crate::model::guard::Guard;
use crate::status::Status;
use anyhow::{Result, anyhow};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    TransactWriteItem, Update,
};
use items::{Item, aws_error, n, s};
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub const DEFAULT_TABLE: &str = "steward";
/// DynamoDB's limit on the items of one TransactWriteItems call.
pub const MAX_TRANSACTION_ITEMS: usize = 100;
const GLOBAL_PK: &str = "GLOBAL";
const CHANGES_SK: &str = "CHANGES";
/// The sort key of a stack's lease item (see `daemon::lease`).
pub const LEASE_SK: &str = "LEASE";
/// The sort key of the time of a stack's last pass by `steward reconcile`.
const PASS_SK: &str = "PASS";
/// The partition of the controller replicas' heartbeat items (see daemon/lease.rs).
pub const REPLICAS_PK: &str = "REPLICAS";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{key} was changed by {by} at {at} (now version {version}); re-read it and try again")]
    Conflict { key: String, by: String, at: String, version: u64 },
    #[error(
        "this change writes {items} DynamoDB items, more than one transaction holds ({MAX_TRANSACTION_ITEMS}: 2 per changed resource, 1 per stack, 1 for the change counter); apply fewer resources at a time so that each apply stays all-or-nothing"
    )]
    TooLarge { items: usize },
    #[error("{0}")]
    Other(#[from] anyhow::Error),
}

/// How many items a set of changes writes in its transaction: the rule `apply` is held to.
pub fn transaction_items(changes: &[Change]) -> usize {
    let stacks: BTreeSet<&str> = changes.iter().map(|c| c.key.stack.as_str()).collect();
    2 * changes.len() + stacks.len() + 1
}

pub struct Store {
    db: Client,
    table: String,
}

impl Store {
    pub fn new(db: Client, table: &str) -> Self {
        Store { db, table: table.to_string() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table if it does not exist and waits until it is active. Returns true if created.
    pub async fn bootstrap(&self) -> Result<bool> {
        let key = |name: &str, key_type| KeySchemaElement::builder().attribute_name(name).key_type(key_type).build();
        let attr = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
        };
        let created = match self
            .db
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .send()
            .await
        {
            Ok(_) => true,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => false,
            Err(e) => return Err(aws_error("creating the table", e)),
        };
        for _ in 0..120 {
            let out = self.db.describe_table().table_name(&self.table).send().await;
            let status = out.map_err(|e| aws_error("describing the table", e))?.table.and_then(|t| t.table_status);
            if status == Some(TableStatus::Active) {
                self.enable_ttl().await?;
                return Ok(created);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Err(anyhow!("table {} did not become ACTIVE within 2 minutes", self.table))
    }

    /// Turns on the table's time to live on `expiresAt` (the timeline's entries), once.
    async fn enable_ttl(&self) -> Result<()> {
        let out = self.db.describe_time_to_live().table_name(&self.table).send().await;
        let ttl = out.map_err(|e| aws_error("reading the table's time to live", e))?.time_to_live_description;
        let on = ttl.and_then(|t| t.time_to_live_status).is_some_and(|s| {
            matches!(
                s,
                aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled
                    | aws_sdk_dynamodb::types::TimeToLiveStatus::Enabling
            )
        });
        if !on {
            let spec = aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()?;
            self.db
                .update_time_to_live()
                .table_name(&self.table)
                .time_to_live_specification(spec)
                .send()
                .await
                .map_err(|e| aws_error("turning on the table's time to live", e))?;
        }
        Ok(())
    }

    /// Every stack that has ever had a change, from the change counter item.
    pub async fn stacks(&self) -> Result<Vec<String>> {
        let item = self.get_item(GLOBAL_PK, CHANGES_SK).await?;
        let mut stacks: Vec<String> =
            item.as_ref().and_then(|i| i.get("stacks")).and_then(|v| v.as_ss().ok()).cloned().unwrap_or_default();
        stacks.sort();
        Ok(stacks)
    }

    /// The table-wide change counter: it moves whenever any desired state changes.
    pub async fn change_counter(&self) -> Result<u64> {
        Ok(self.get_item(GLOBAL_PK, CHANGES_SK).await?.map(|i| Item(i).u64("counter")).unwrap_or(0))
    }

    /// Asks the replica holding `stack` for a pass (an AWS event arrived at another replica):
    /// the stack's nudge count and the change counter move, which the holder's fast path reads.
    pub async fn nudge(&self, stack: &str, actors: &[(ResourceKey, Json)]) -> Result<()> {
        // Who made each change goes along (one attribute per resource, the latest event's), so
        // that the holder's alert names them too.
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(&stack_pk(stack)))
            .key("sk", s("META"))
            .expression_attribute_values(":one", n(1));
        let mut sets = Vec::new();
        for (i, (key, actor)) in actors.iter().enumerate() {
            update = update
                .expression_attribute_names(format!("#a{i}"), format!("{ACTOR_PREFIX}{}#{}", key.kind, key.name))
                .expression_attribute_values(format!(":a{i}"), s(&json!({ "actor": actor, "at": at }).to_string()));
            sets.push(format!("#a{i} = :a{i}"));
        }
        let expression = match sets.is_empty() {
            true => "ADD nudges :one".to_string(),
            false => format!("SET {} ADD nudges :one", sets.join(", ")),
        };
        let update = update.update_expression(expression).build()?;
        let tx =
            vec![TransactWriteItem::builder().update(update).build(), self.counter_bump(&BTreeSet::from([stack]))?];
        self.db
            .transact_write_items()
            .set_transact_items(Some(tx))
            .send()
            .await
            .map_err(|e| aws_error("nudging the stack's holder", e))?;
        Ok(())
    }

    /// A stack's META item: its generation, whether it is paused as a whole, and its nudge
    /// count (AWS events another replica received).
    pub async fn stack_meta(&self, stack: &str) -> Result<StackMeta> {
        let item = self.get_item(&stack_pk(stack), "META").await?.map(Item);
        Ok(item.map_or(StackMeta::default(), |i| {
            let actors =
                i.0.iter()
                    .filter_map(|(name, value)| {
                        let (kind, name) = name.strip_prefix(ACTOR_PREFIX)?.split_once('#')?;
                        let noted: Json = serde_json::from_str(value.as_s().ok()?).ok()?;
                        let at = chrono::DateTime::parse_from_rfc3339(noted["at"].as_str()?).ok()?.to_utc();
                        Some((ResourceKey::new(stack, Kind::parse(kind)?, name), noted["actor"].clone(), at))
                    })
                    .collect();
            StackMeta { generation: i.u64("generation"), paused: i.bool("paused"), nudges: i.u64("nudges"), actors }
        }))
    }

    async fn get_item(&self, pk: &str, sk: &str) -> Result<Option<std::collections::HashMap<String, AttributeValue>>> {
        let out = self
            .db
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("reading from the store", e))?;
        Ok(out.item)
    }

    /// All items of a stack whose sort key matches `condition` (on `:v`), across pages.
    async fn query_stack(&self, stack: &str, condition: &str, value: &str) -> Result<Vec<Item>> {
        self.query_items(&stack_pk(stack), Some((condition, value))).await
    }

    /// All items of a partition (whose sort key matches `condition` on `:v`, if given), across pages.
    async fn query_items(&self, pk: &str, condition: Option<(&str, &str)>) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .db
                .query()
                .table_name(&self.table)
                .key_condition_expression(match condition {
                    Some((c, _)) => format!("pk = :pk AND {c}"),
                    None => "pk = :pk".to_string(),
                })
                .expression_attribute_values(":pk", s(pk));
            if let Some((_, value)) = condition {
                query = query.expression_attribute_values(":v", s(value));
            }
            let out = query
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| aws_error("querying the store", e))?;
            items.extend(out.items.unwrap_or_default().into_iter().map(Item));
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// All items of a stack whose sort key starts with `prefix`.
    async fn query_prefix(&self, stack: &str, prefix: &str) -> Result<Vec<Item>> {
        self.query_stack(stack, "begins_with(sk, :v)", prefix).await
    }

    /// Current resources of the given stacks (all stacks when None), deleted ones included.
    pub async fn resources(&self, stacks: Option<&[String]>) -> Result<Vec<StoredResource>> {
        let stacks = match stacks {
            Some(s) => s.to_vec(),
            None => self.stacks().await?,
        };
        let mut out = Vec::new();
        for stack in stacks {
            for item in self.query_prefix(&stack, "RES#").await? {
                out.push(item.resource()?);
            }
        }
        out.sort_by(|a, b| a.manifest.key.cmp(&b.manifest.key));
        Ok(out)
    }

    pub async fn resource(&self, key: &ResourceKey) -> Result<Option<StoredResource>> {
        match self.get_item(&stack_pk(&key.stack), &res_sk(key.kind, &key.name)).await? {
            Some(item) => Ok(Some(Item(item).resource()?)),
            None => Ok(None),
        }
    }

    /// Every version of a resource, oldest first.
    pub async fn history(&self, key: &ResourceKey) -> Result<Vec<HistoryEntry>> {
        let items = self.query_prefix(&key.stack, &hist_prefix(key.kind, &key.name)).await?;
        items.into_iter().map(|i| i.history()).collect()
    }

    /// Writes all changes in one transaction, or none of them. Concurrent writers to the same stack
    /// are serialized by the stack generation; a change whose resource moved on fails with Conflict.
    pub async fn commit(&self, changes: &[Change], actor: &str) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let items = transaction_items(changes);
        if items > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::TooLarge { items });
        }
        let stacks: BTreeSet<&str> = changes.iter().map(|c| c.key.stack.as_str()).collect();
        // Another writer may bump a stack's generation between our read and our write; that alone is
        // no conflict for us, so read the generations again and retry.
        for _ in 0..8 {
            let mut generations = BTreeMap::new();
            for stack in &stacks {
                generations.insert(*stack, self.stack_meta(stack).await?.generation);
            }
            let now = now();
            let mut tx = Vec::new();
            for c in changes {
                tx.push(items::resource_update(&self.table, c, generations[c.key.stack.as_str()] + 1, actor, &now)?);
                tx.push(items::history_put(&self.table, c, actor, &now)?);
            }
            for (stack, generation) in &generations {
                tx.push(items::generation_bump(&self.table, stack, *generation, None)?);
            }
            tx.push(self.counter_bump(&stacks)?);
            match self.db.transact_write_items().set_transact_items(Some(tx)).send().await {
                Ok(_) => return Ok(()),
                Err(e) => {
                    let failed = cancelled_indexes(&e).ok_or_else(|| aws_error("writing to the store", e))?;
                    // Items 0..2n are the changes (resource, history); the rest are the counters.
                    if let Some(index) = failed.iter().find(|i| **i < 2 * changes.len()) {
                        return Err(self.conflict(&changes[index / 2].key).await);
                    }
                }
            }
        }
        Err(busy())
    }

    async fn conflict(&self, key: &ResourceKey) -> StoreError {
        match self.resource(key).await {
            Ok(Some(r)) => {
                StoreError::Conflict { key: key.short(), by: r.updated_by, at: r.updated_at, version: r.version }
            }
            Ok(None) => {
                StoreError::Other(anyhow!("{} was removed from the store concurrently; try again", key.short()))
            }
            Err(e) => StoreError::Other(e),
        }
    }

    fn counter_bump(&self, stacks: &BTreeSet<&str>) -> Result<TransactWriteItem> {
        let names: Vec<String> = stacks.iter().map(|s| s.to_string()).collect();
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(GLOBAL_PK))
            .key("sk", s(CHANGES_SK))
            .update_expression("ADD #counter :one, stacks :stacks")
            .expression_attribute_names("#counter", "counter")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":stacks", AttributeValue::Ss(names))
            .build()?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Records a consent to replace one resource's object for the drift whose fingerprint is
    /// given; the stack's generation moves, so a running controller acts on it at once.
    pub async fn approve_replacement(
        &self,
        key: &ResourceKey,
        fingerprint: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        for _ in 0..8 {
            let generation = self.stack_meta(&key.stack).await?.generation;
            let mark = items::approval_update(&self.table, key, fingerprint, generation + 1, actor, &now())?;
            if self.commit_marks(&key.stack, vec![mark], generation, None).await? {
                self.note_mark(key, "replacement_approved", actor).await;
                return Ok(());
            }
        }
        Err(busy())
    }

    /// Writes marks people set (pause, approval) with the stack's generation bump and the change
    /// counter, so a running controller acts on them at once. False: the generation moved
    /// meanwhile (another writer), to be read again and retried.
    async fn commit_marks(
        &self,
        stack: &str,
        mut tx: Vec<TransactWriteItem>,
        generation: u64,
        stack_paused: Option<bool>,
    ) -> Result<bool, StoreError> {
        tx.push(items::generation_bump(&self.table, stack, generation, stack_paused)?);
        tx.push(self.counter_bump(&BTreeSet::from([stack]))?);
        match self.db.transact_write_items().set_transact_items(Some(tx)).send().await {
            Ok(_) => Ok(true),
            Err(e) => cancelled_indexes(&e).map(|_| false).ok_or_else(|| aws_error("writing to the store", e).into()),
        }
    }

    /// Pauses or resumes one resource (`Some(key)`) or a whole stack (`None`). Returns false when
    /// it already was in that state.
    pub async fn set_paused(
        &self,
        stack: &str,
        key: Option<&ResourceKey>,
        paused: bool,
        actor: &str,
    ) -> Result<bool, StoreError> {
        for _ in 0..8 {
            let StackMeta { generation, paused: stack_paused, .. } = self.stack_meta(stack).await?;
            let current = match key {
                Some(k) => {
                    self.resource(k)
                        .await?
                        .filter(|r| !r.deleted)
                        .ok_or_else(|| anyhow!("{} is not in stack {stack:?}", k.short()))?
                        .paused
                }
                None => stack_paused,
            };
            if current == paused {
                return Ok(false);
            }
            let marks = match key {
                Some(k) => vec![items::pause_update(&self.table, k, paused, generation + 1, actor, &now())?],
                None => Vec::new(),
            };
            let stack_flag = if key.is_none() { Some(paused) } else { None };
            if self.commit_marks(stack, marks, generation, stack_flag).await? {
                let target = key.cloned().unwrap_or_else(|| ResourceKey::new(stack, Kind::Stack, stack));
                self.note_mark(&target, if paused { "paused" } else { "resumed" }, actor).await;
                return Ok(true);
            }
        }
        Err(busy())
    }
}

impl Store {
    /// Appends events about one resource to its timeline and its stack's (store/timeline.rs).
    pub async fn append_timeline(&self, key: &ResourceKey, events: &[Json]) -> Result<()> {
        timeline::append(&self.db, &self.table, key, events).await
    }

    /// The newest `limit` entries of one resource's timeline, newest first.
    pub async fn timeline(&self, key: &ResourceKey, limit: i32) -> Result<Vec<TimelineEntry>> {
        timeline::newest(&self.db, &self.table, &timeline::resource_partition(key), limit).await
    }

    /// The newest `limit` entries of a whole stack's timeline, newest first.
    pub async fn stack_timeline(&self, stack: &str, limit: i32) -> Result<Vec<TimelineEntry>> {
        timeline::newest(&self.db, &self.table, &timeline::stack_partition(stack), limit).await
    }

    /// A person's mark (`paused`, `resumed`, `replacement_approved`) on the timeline, with who set
    /// it. The mark itself is already written; a timeline that cannot be written is logged.
    async fn note_mark(&self, key: &ResourceKey, event: &str, actor: &str) {
        let entry = timeline::mark(key, event, actor);
        if let Err(e) = self.append_timeline(key, &[entry]).await {
            tracing::warn!(resource = %key, error = %e, "the timeline misses a {event} mark");
        }
    }
}

/// A stack's META item (see `Store::stack_meta`).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StackMeta {
    pub generation: u64,
    pub paused: bool,
    pub nudges: u64,
    /// The actor of the latest event another replica received for each resource, and when it
    /// was noted.
    pub actors: Vec<(ResourceKey, Json, chrono::DateTime<chrono::Utc>)>,
}

/// META attributes `actor#Kind#name`: who made the latest change an event reported.
const ACTOR_PREFIX: &str = "actor#";

/// Many writers moved the stack's generation while this one tried to write.
fn busy() -> StoreError {
    StoreError::Other(anyhow!("the store stayed busy with concurrent changes; try again"))
}

/// Everything a pass reads of one stack, from one Query.
#[derive(Debug, Default)]
pub struct StackSnapshot {
    pub generation: u64,
    pub paused: bool,
    pub resources: Vec<StoredResource>,
    pub statuses: BTreeMap<ResourceKey, Status>,
}

impl Store {
    /// One Query for a stack's META, RES# and STATUS# items: their sort keys are exactly the ones
    /// from "META" on (HIST# and LEASE sort before it).
    pub async fn snapshot(&self, stack: &str) -> Result<StackSnapshot> {
        let mut snapshot = StackSnapshot::default();
        for item in self.query_stack(stack, "sk >= :v", "META").await? {
            let sk = item.str("sk");
            if sk == "META" {
                snapshot.generation = item.u64("generation");
                snapshot.paused = item.bool("paused");
            } else if sk.starts_with("RES#") {
                snapshot.resources.push(item.resource()?);
            } else if let Some((key, status)) = status_of(stack, &item) {
                snapshot.statuses.insert(key, status);
            }
        }
        Ok(snapshot)
    }

    /// The controller's status of every resource of the given stacks.
    pub async fn statuses(&self, stacks: &[String]) -> Result<BTreeMap<ResourceKey, Status>> {
        let mut out = BTreeMap::new();
        for stack in stacks {
            out.extend(self.query_prefix(stack, "STATUS#").await?.iter().filter_map(|item| status_of(stack, item)));
        }
        Ok(out)
    }

    /// Writes a resource's status. With a fencing token, the write happens only while the stack's
    /// lease still carries that token, so a paused former owner can never overwrite a new owner.
    pub async fn put_status(&self, key: &ResourceKey, status: &Status, guard: &dyn Guard) -> Result<()> {
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .item("pk", s(&stack_pk(&key.stack)))
            .item("sk", s(&format!("STATUS#{}#{}", key.kind, key.name)))
            .item("status", s(&serde_json::to_string(status)?))
            .item("updatedAt", s(&now()));
        match guard.fence(&key.stack) {
            None => {
                let put = put.build()?;
                self.db
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(put.item))
                    .send()
                    .await
                    .map_err(|e| aws_error("writing a status", e))?;
            }
            Some(token) => {
                let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
                    .table_name(&self.table)
                    .key("pk", s(&stack_pk(&key.stack)))
                    .key("sk", s(LEASE_SK))
                    .condition_expression("fencingToken = :token")
                    .expression_attribute_values(":token", n(token))
                    .build()?;
                self.db
                    .transact_write_items()
                    .transact_items(TransactWriteItem::builder().condition_check(check).build())
                    .transact_items(TransactWriteItem::builder().put(put.build()?).build())
                    .send()
                    .await
                    .map_err(|e| match cancelled_indexes(&e) {
                        Some(_) => anyhow!("lost the lease of stack {}: status not written", key.stack),
                        None => aws_error("writing a status", e),
                    })?;
            }
        }
        Ok(())
    }
}

/// A `STATUS#Kind#name` item as a key and status (None for any other item).
fn status_of(stack: &str, item: &Item) -> Option<(ResourceKey, Status)> {
    let sk = item.str("sk");
    let (kind, name) = sk.strip_prefix("STATUS#")?.split_once('#')?;
    let status = serde_json::from_str(&item.str("status")).unwrap_or_default();
    Some((ResourceKey::new(stack, Kind::parse(kind)?, name), status))
}

/// The indexes of the transaction items whose condition failed, if the transaction was cancelled.
fn cancelled_indexes(e: &SdkError<TransactWriteItemsError>) -> Option<Vec<usize>> {
    let TransactWriteItemsError::TransactionCanceledException(t) = e.as_service_error()? else { return None };
    let reasons = t.cancellation_reasons();
    Some(
        reasons
            .iter()
            .enumerate()
            .filter(|(_, r)| r.code().is_some_and(|c| c == "ConditionalCheckFailed"))
            .map(|(i, _)| i)
            .collect(),
    )
}

/// Who runs a stack, as `status` shows it: the lease holder, whether its heartbeat is current,
/// and when its last pass of the stack ended (carried by the heartbeat, see daemon/lease.rs).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Controller {
    pub holder: Option<String>,
    /// The holder's heartbeat has not expired (by this machine's clock: for people, not for leases).
    pub alive: bool,
    pub heartbeat_at: Option<String>,
    pub last_pass_at: Option<String>,
}

impl Store {
    /// Notes a whole-stack pass made outside the controller (`steward reconcile`), for `status`.
    pub async fn record_pass(&self, stack: &str, at: &str) -> Result<()> {
        self.db
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&stack_pk(stack)))
            .item("sk", s(PASS_SK))
            .item("at", s(at))
            .send()
            .await
            .map_err(|e| aws_error("recording the pass", e))?;
        Ok(())
    }

    /// The controller of each stack: one read of its lease item, and one query of the replicas.
    pub async fn controllers(&self, stacks: &[String]) -> Result<BTreeMap<String, Controller>> {
        let mut replicas = BTreeMap::new();
        for Item(item) in self.query_items(REPLICAS_PK, None).await? {
            let id = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            replicas.insert(id, item);
        }
        let millis = |item: &std::collections::HashMap<String, AttributeValue>, name: &str| {
            item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<i64>().ok())
        };
        let mut out = BTreeMap::new();
        for stack in stacks {
            let cli_pass = self.get_item(&stack_pk(stack), PASS_SK).await?;
            let cli_pass = cli_pass.as_ref().and_then(|i| i.get("at")).and_then(|v| v.as_s().ok()).cloned();
            let lease = self.get_item(&stack_pk(stack), LEASE_SK).await?;
            let holder = lease.as_ref().and_then(|i| i.get("holder")).and_then(|v| v.as_s().ok()).cloned();
            let beat = holder.as_ref().and_then(|h| replicas.get(h));
            let controller = Controller {
                alive: beat
                    .and_then(|b| millis(b, "expiresAt"))
                    .is_some_and(|t| t > chrono::Utc::now().timestamp_millis()),
                heartbeat_at: beat
                    .and_then(|b| millis(b, "beatAt"))
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                // RFC 3339 UTC times of one format compare as strings.
                last_pass_at: beat
                    .and_then(|b| b.get("passes"))
                    .and_then(|v| v.as_m().ok())
                    .and_then(|m| m.get(stack))
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .max(cli_pass),
                holder,
            };
            out.insert(stack.clone(), controller);
        }
        Ok(out)
    }
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl StoredResource {
    fn from_parts(key: ResourceKey, spec: Json) -> Manifest {
        Manifest { key, spec, source: Source { file: "(store)".into(), line: 0 } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(stack: &str, name: &str) -> Change {
        Change {
            key: ResourceKey::new(stack, Kind::EcsCluster, name),
            base_version: None,
            spec: serde_json::json!({}),
            deleted: false,
            op: "create",
            message: None,
        }
    }

    #[test]
    fn transaction_size_rule() {
        let one_stack: Vec<Change> = (0..49).map(|i| change("a", &format!("c{i}"))).collect();
        assert_eq!(transaction_items(&one_stack), 100);
        let mut two_stacks = one_stack.clone();
        two_stacks[0].key.stack = "b".into();
        assert_eq!(transaction_items(&two_stacks), 101);
    }
}
