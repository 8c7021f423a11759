//! Stack leases in DynamoDB, so that several replicas share stacks and a stack always has exactly
//! one owner.
//!
//! - The lease item (`STACK#s` / `LEASE`) names the holder and carries a fencing token, incremented
//!   at every acquisition. Status writes are conditional on the token; mutating AWS calls are
//!   preceded by a local check that the lease is still held with margin.
//! - A replica keeps all its leases alive with one write: its heartbeat item (`REPLICAS` / id),
//!   whose version it increments every lease round. Renewing each lease instead cost one write per
//!   stack per round: 100 calls a second at 500 stacks.
//! - No decision compares wall clocks of two machines, so skewed clocks cannot make two owners.
//!   A replica counts its leases valid from the moment it sent its last heartbeat, on its own
//!   monotonic clock. Another replica takes a lease over only after it has seen the holder's
//!   heartbeat version unchanged for a whole lease duration on *its* monotonic clock (as
//!   Kubernetes' leader election does), and only in a transaction that also marks the holder
//!   evicted if its version is still that one.
//! - An evicted replica's next heartbeat fails on that mark, so a heartbeat that was delayed past
//!   a takeover cannot extend leases that were taken: the replica drops every lease and starts
//!   again under a fresh registration.

use crate::model::guard::{Guard, LeaseLost};
use crate::store::{LEASE_SK, REPLICAS_PK, stack_pk};
use anyhow::{Result, anyhow};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct LeaseConfig {
    pub duration: Duration,
    pub renew_every: Duration,
    /// For tests of skewed clocks: added to this replica's wall clock.
    pub clock_offset_ms: i64,
}

/// A lease this replica holds.
#[derive(Debug, Clone, Copy)]
pub struct Held {
    pub token: u64,
}

/// What a heartbeat found.
pub struct Beat {
    /// Replicas alive, this one included (for fair shares).
    pub replicas: usize,
    /// Leases dropped because another replica evicted this one (its heartbeat had stood still).
    pub dropped: Vec<String>,
}

/// Another replica's heartbeat as this replica last saw it change (`None`: no heartbeat item).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Seen {
    version: Option<u64>,
    since: Instant,
}

pub struct Leases {
    db: Client,
    table: String,
    pub replica: String,
    pub config: LeaseConfig,
    held: Mutex<BTreeMap<String, Held>>,
    /// Local monotonic time until which this replica's leases are safely its own (the last
    /// heartbeat's send time, plus the duration, minus a margin).
    alive_until: Mutex<Option<Instant>>,
    /// Other replicas' heartbeats, by replica id.
    seen: Mutex<BTreeMap<String, Seen>>,
    /// When each held stack's last pass ended (RFC 3339): the heartbeat carries it to `status`,
    /// so that a steady pass writes nothing of its own.
    passes: Mutex<BTreeMap<String, String>>,
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A number attribute of an item, 0 when absent.
fn number(item: Option<&HashMap<String, AttributeValue>>, name: &str) -> u64 {
    item.and_then(|a| a.get(name)).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn db_error(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> anyhow::Error {
    anyhow!("{what}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e))
}

impl Leases {
    pub fn new(db: Client, table: &str, replica: &str, config: LeaseConfig) -> Arc<Self> {
        Arc::new(Leases {
            db,
            table: table.into(),
            replica: replica.into(),
            config,
            held: Mutex::default(),
            alive_until: Mutex::default(),
            seen: Mutex::default(),
            passes: Mutex::default(),
        })
    }

    /// Notes that a pass of `stack` ended at `at`; the next heartbeat publishes it.
    pub fn record_pass(&self, stack: &str, at: &str) {
        self.passes.lock().unwrap().insert(stack.to_string(), at.to_string());
    }

    /// The last pass of each held stack, as the heartbeat item's `passes` map.
    fn passes_attribute(&self) -> AttributeValue {
        let held = self.held.lock().unwrap();
        let passes = self.passes.lock().unwrap();
        AttributeValue::M(
            passes.iter().filter(|(stack, _)| held.contains_key(*stack)).map(|(k, v)| (k.clone(), s(v))).collect(),
        )
    }

    /// This replica's wall clock in epoch milliseconds (with the test offset).
    pub fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis() + self.config.clock_offset_ms
    }

    fn margin(&self) -> Duration {
        // Stop mutating well before the lease could lapse for others.
        self.config.duration / 5
    }

    fn alive(&self) -> bool {
        self.alive_until.lock().unwrap().is_some_and(|t| t > Instant::now())
    }

    pub fn held(&self) -> BTreeMap<String, Held> {
        self.held.lock().unwrap().clone()
    }

    pub fn holds(&self, stack: &str) -> bool {
        self.alive() && self.held.lock().unwrap().contains_key(stack)
    }

    fn lease_key(&self, stack: &str) -> [(String, AttributeValue); 2] {
        [("pk".into(), s(&stack_pk(stack))), ("sk".into(), s(LEASE_SK))]
    }

    /// Takes the lease of `stack` if it is free (never taken or released), already ours, or held by
    /// a replica whose heartbeat has not changed for a whole lease duration. Returns the token.
    pub async fn acquire(&self, stack: &str) -> Result<Option<u64>> {
        if !self.alive() {
            return Ok(None);
        }
        let mut update = self.db.update_item().table_name(&self.table);
        for (k, v) in self.lease_key(stack) {
            update = update.key(k, v);
        }
        let out = update
            .update_expression(
                "SET holder = :me, expiresAt = :exp, fencingToken = if_not_exists(fencingToken, :zero) + :one, \
                 version = if_not_exists(version, :zero) + :one",
            )
            .condition_expression("attribute_not_exists(holder) OR holder = :me")
            .expression_attribute_values(":me", s(&self.replica))
            .expression_attribute_values(":exp", n(self.now_ms() + self.config.duration.as_millis() as i64))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match out {
            Ok(out) => Ok(Some(self.took(stack, number(out.attributes(), "fencingToken")))),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                let current = match e.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(c)) => c.item().cloned(),
                    _ => None,
                };
                let holder = current.as_ref().and_then(|i| i.get("holder")).and_then(|v| v.as_s().ok()).cloned();
                let token = number(current.as_ref(), "fencingToken");
                match holder {
                    Some(holder) => self.take_over(stack, &holder, token).await,
                    None => Ok(None),
                }
            }
            Err(e) => Err(db_error(&format!("acquiring the lease of {stack}"), e)),
        }
    }

    /// Takes a lease from a holder whose heartbeat stood still for a lease duration: one
    /// transaction marks the holder evicted (if its heartbeat is still the one seen) and moves
    /// the lease (if it is still the holder's, with the token seen).
    async fn take_over(&self, stack: &str, holder: &str, token: u64) -> Result<Option<u64>> {
        let stale = {
            let mut seen = self.seen.lock().unwrap();
            let entry = *seen.entry(holder.to_string()).or_insert(Seen { version: None, since: Instant::now() });
            (entry.since.elapsed() >= self.config.duration).then_some(entry.version)
        };
        let Some(version) = stale else { return Ok(None) };
        let replica_key = || [("pk".to_string(), s(REPLICAS_PK)), ("sk".to_string(), s(holder))];
        let evict = match version {
            Some(v) => Update::builder()
                .table_name(&self.table)
                .set_key(Some(replica_key().into_iter().collect()))
                .update_expression("SET evictedBy = :me")
                .condition_expression("version = :seen")
                .expression_attribute_values(":seen", n(v as i64))
                .expression_attribute_values(":me", s(&self.replica))
                .build()
                .map(|u| TransactWriteItem::builder().update(u).build()),
            None => ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(replica_key().into_iter().collect()))
                .condition_expression("attribute_not_exists(version)")
                .build()
                .map(|c| TransactWriteItem::builder().condition_check(c).build()),
        }?;
        let take = Update::builder()
            .table_name(&self.table)
            .set_key(Some(self.lease_key(stack).into_iter().collect()))
            .update_expression(
                "SET holder = :me, expiresAt = :exp, fencingToken = fencingToken + :one, version = version + :one",
            )
            .condition_expression("holder = :holder AND fencingToken = :token")
            .expression_attribute_values(":me", s(&self.replica))
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":token", n(token as i64))
            .expression_attribute_values(":exp", n(self.now_ms() + self.config.duration.as_millis() as i64))
            .expression_attribute_values(":one", n(1))
            .build()?;
        let result = self
            .db
            .transact_write_items()
            .transact_items(evict)
            .transact_items(TransactWriteItem::builder().update(take).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Some(self.took(stack, token + 1))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::is_transaction_canceled_exception) =>
            {
                Ok(None)
            }
            Err(e) => Err(db_error(&format!("taking over the lease of {stack} from {holder}"), e)),
        }
    }

    fn took(&self, stack: &str, token: u64) -> u64 {
        self.held.lock().unwrap().insert(stack.to_string(), Held { token });
        token
    }

    /// An update of the lease item that succeeds only while this replica holds it with `token`.
    fn update_while_held(
        &self,
        stack: &str,
        token: u64,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        let mut update = self.db.update_item().table_name(&self.table);
        for (k, v) in self.lease_key(stack) {
            update = update.key(k, v);
        }
        update
            .condition_expression("holder = :me AND fencingToken = :token")
            .expression_attribute_values(":me", s(&self.replica))
            .expression_attribute_values(":token", n(token as i64))
    }

    /// Gives a lease up at once, so another replica can take it without waiting.
    pub async fn release(&self, stack: &str) -> Result<()> {
        let Some(held) = self.held.lock().unwrap().remove(stack) else { return Ok(()) };
        let result = self
            .update_while_held(stack, held.token)
            .update_expression("SET expiresAt = :past, version = version + :one REMOVE holder")
            .expression_attribute_values(":past", n(0))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            Err(e) => Err(db_error(&format!("releasing the lease of {stack}"), e)),
        }
    }

    /// Renews every lease this replica holds with one write to its heartbeat item, then reads
    /// the others' heartbeats. While heartbeats fail, no lease is held (`holds` is false); once
    /// one succeeds, the leases are valid again unless another replica evicted this one.
    pub async fn heartbeat(&self) -> Result<Beat> {
        let mut dropped = Vec::new();
        let started = Instant::now();
        let beat = |registering: bool| {
            let update = self
                .db
                .update_item()
                .table_name(&self.table)
                .key("pk", s(REPLICAS_PK))
                .key("sk", s(&self.replica))
                .expression_attribute_values(":exp", n(self.now_ms() + self.config.duration.as_millis() as i64))
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":passes", self.passes_attribute())
                .expression_attribute_values(":now", n(self.now_ms()));
            if registering {
                update.update_expression(
                    "SET expiresAt = :exp, version = if_not_exists(version, :zero) + :one, passes = :passes, \
                     beatAt = :now REMOVE evictedBy",
                )
            } else {
                update
                    .update_expression(
                        "SET expiresAt = :exp, version = if_not_exists(version, :zero) + :one, passes = :passes, \
                         beatAt = :now",
                    )
                    .condition_expression("attribute_not_exists(evictedBy)")
            }
        };
        match beat(false).send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                // Evicted: another replica took leases of ours. Nothing is ours until this replica
                // has registered again; then every lease it had is dropped.
                *self.alive_until.lock().unwrap() = None;
                beat(true).send().await.map_err(|e| db_error("registering this replica again", e))?;
                dropped = std::mem::take(&mut *self.held.lock().unwrap()).into_keys().collect();
            }
            Err(e) => return Err(db_error("renewing this replica's heartbeat", e)),
        }
        *self.alive_until.lock().unwrap() = Some(started + self.config.duration - self.margin());

        let mut replicas = Vec::new();
        let mut pages = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(REPLICAS_PK))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| db_error("listing replicas", e))?;
            for item in page.items() {
                let id = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                replicas.push((id, item.contains_key("version").then(|| number(Some(item), "version"))));
            }
        }
        // Another replica is alive while its heartbeat keeps changing, by this replica's clock.
        let mut seen = self.seen.lock().unwrap();
        let now = Instant::now();
        let mut listed = Vec::new();
        for (id, version) in replicas {
            if id == self.replica {
                continue;
            }
            let entry = seen.entry(id.clone()).or_insert(Seen { version, since: now });
            if entry.version != version {
                *entry = Seen { version, since: now };
            }
            listed.push(id);
        }
        for (id, entry) in seen.iter_mut() {
            if !listed.contains(id) && entry.version.is_some() {
                *entry = Seen { version: None, since: now };
            }
        }
        let others = seen.values().filter(|e| e.version.is_some() && e.since.elapsed() < self.config.duration).count();
        Ok(Beat { replicas: 1 + others, dropped })
    }

    /// Removes this replica from the registry (on shutdown, after its leases were released).
    pub async fn leave(&self) {
        let _ = self
            .db
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(REPLICAS_PK))
            .key("sk", s(&self.replica))
            .send()
            .await;
    }
}

/// The engine's guard in the daemon: mutate only stacks whose lease is held with margin; write
/// status only under the current fencing token.
pub struct LeaseGuard(pub Arc<Leases>);

#[async_trait]
impl Guard for LeaseGuard {
    async fn check(&self, stack: &str) -> Result<(), LeaseLost> {
        if self.0.holds(stack) { Ok(()) } else { Err(LeaseLost { stack: stack.to_string() }) }
    }

    fn fence(&self, stack: &str) -> Option<u64> {
        // Tokens start at 1: without the lease, no status write can match.
        Some(self.0.held().get(stack).map_or(0, |h| h.token))
    }
}
