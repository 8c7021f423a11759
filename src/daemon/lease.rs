//! Stack leases in DynamoDB, so that several replicas share stacks and a stack always has exactly
//! one owner. The lease item (`STACK#s` / `LEASE`) holds the holder, a fencing token incremented at
//! every acquisition, a version incremented at every write, and an expiry (epoch ms, for people).
//! Status writes are conditional on the token; mutating AWS calls are preceded by a local check
//! that the lease is still held with margin.
//!
//! No decision compares wall clocks of two machines, so skewed clocks cannot make two owners: the
//! holder counts its lease from the moment it sent its last renewal, on its own monotonic clock;
//! another replica takes a held lease over only after it has seen the same version unchanged for
//! a whole lease duration on *its* monotonic clock (as Kubernetes' leader election does).

use crate::aws::AwsError;
use crate::engine::Guard;
use crate::store::{LEASE_SK, stack_pk};
use anyhow::{Result, anyhow};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
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
    /// Local monotonic time until which the lease is safely ours (expiry minus a margin).
    pub valid_until: Instant,
}

/// Another replica's lease as this replica last saw it change.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Seen {
    token: u64,
    version: u64,
    since: Instant,
}

pub struct Leases {
    db: Client,
    table: String,
    pub replica: String,
    pub config: LeaseConfig,
    held: Mutex<BTreeMap<String, Held>>,
    seen: Mutex<BTreeMap<String, Seen>>,
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

impl Leases {
    pub fn new(db: Client, table: &str, replica: &str, config: LeaseConfig) -> Arc<Self> {
        Arc::new(Leases {
            db,
            table: table.into(),
            replica: replica.into(),
            config,
            held: Mutex::default(),
            seen: Mutex::default(),
        })
    }

    /// This replica's wall clock in epoch milliseconds (with the test offset).
    pub fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis() + self.config.clock_offset_ms
    }

    fn margin(&self) -> Duration {
        // Stop mutating well before the lease could lapse for others.
        self.config.duration / 5
    }

    pub fn held(&self) -> BTreeMap<String, Held> {
        self.held.lock().unwrap().clone()
    }

    pub fn holds(&self, stack: &str) -> bool {
        self.held.lock().unwrap().get(stack).is_some_and(|h| h.valid_until > Instant::now())
    }

    /// Takes the lease of `stack` if it is free (never taken or released), already ours, or held by
    /// a replica that has not renewed it for a whole lease duration. Returns the token.
    pub async fn acquire(&self, stack: &str) -> Result<Option<u64>> {
        let started = Instant::now();
        let now = self.now_ms();
        let stale = self.seen.lock().unwrap().get(stack).copied().filter(|s| s.since.elapsed() >= self.config.duration);
        let mut condition = "attribute_not_exists(holder) OR holder = :me".to_string();
        let mut update = self
            .db
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&stack_pk(stack)))
            .key("sk", s(LEASE_SK))
            .update_expression(
                "SET holder = :me, expiresAt = :exp, fencingToken = if_not_exists(fencingToken, :zero) + :one, \
                 version = if_not_exists(version, :zero) + :one",
            )
            .expression_attribute_values(":me", s(&self.replica))
            .expression_attribute_values(":exp", n(now + self.config.duration.as_millis() as i64))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if let Some(seen) = stale {
            condition.push_str(" OR (fencingToken = :seenToken AND version = :seenVersion)");
            update = update
                .expression_attribute_values(":seenToken", n(seen.token as i64))
                .expression_attribute_values(":seenVersion", n(seen.version as i64));
        }
        match update.condition_expression(condition).send().await {
            Ok(out) => {
                let token = number(out.attributes(), "fencingToken");
                let valid_until = started + self.config.duration - self.margin();
                self.held.lock().unwrap().insert(stack.to_string(), Held { token, valid_until });
                self.seen.lock().unwrap().remove(stack);
                Ok(Some(token))
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                // Held by another replica: note when its lease last changed, by our own clock.
                let current = match e.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(c)) => c.item().cloned(),
                    _ => None,
                };
                let (token, version) = (number(current.as_ref(), "fencingToken"), number(current.as_ref(), "version"));
                let mut seen = self.seen.lock().unwrap();
                let unchanged = seen.get(stack).is_some_and(|s| s.token == token && s.version == version);
                if !unchanged {
                    seen.insert(stack.to_string(), Seen { token, version, since: Instant::now() });
                }
                Ok(None)
            }
            Err(e) => {
                Err(anyhow!("acquiring the lease of {stack}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))
            }
        }
    }

    /// An update of the lease item that succeeds only while this replica holds it with `token`.
    fn update_while_held(
        &self,
        stack: &str,
        token: u64,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.db
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&stack_pk(stack)))
            .key("sk", s(LEASE_SK))
            .condition_expression("holder = :me AND fencingToken = :token")
            .expression_attribute_values(":me", s(&self.replica))
            .expression_attribute_values(":token", n(token as i64))
    }

    /// Extends a held lease. A failed condition means another replica took it: it is dropped.
    pub async fn renew(&self, stack: &str) -> Result<bool> {
        let Some(held) = self.held.lock().unwrap().get(stack).copied() else { return Ok(false) };
        let started = Instant::now();
        let now = self.now_ms();
        let out = self
            .update_while_held(stack, held.token)
            .update_expression("SET expiresAt = :exp, version = version + :one")
            .expression_attribute_values(":exp", n(now + self.config.duration.as_millis() as i64))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        match out {
            Ok(_) => {
                let valid_until = started + self.config.duration - self.margin();
                self.held.lock().unwrap().insert(stack.to_string(), Held { token: held.token, valid_until });
                Ok(true)
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                self.held.lock().unwrap().remove(stack);
                Ok(false)
            }
            Err(e) => {
                Err(anyhow!("renewing the lease of {stack}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))
            }
        }
    }

    /// Gives a lease up at once (expiry in the past), so another replica can take it without waiting.
    pub async fn release(&self, stack: &str) -> Result<()> {
        let Some(held) = self.held.lock().unwrap().remove(stack) else { return Ok(()) };
        let result = self
            .update_while_held(stack, held.token)
            .update_expression("SET expiresAt = :past REMOVE holder")
            .expression_attribute_values(":past", n(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            Err(e) => {
                Err(anyhow!("releasing the lease of {stack}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))
            }
        }
    }

    /// Forgets leases whose local validity ran out (renewals failed for too long).
    pub fn drop_lapsed(&self) -> Vec<String> {
        let now = Instant::now();
        let mut held = self.held.lock().unwrap();
        let lapsed: Vec<String> = held.iter().filter(|(_, h)| h.valid_until <= now).map(|(k, _)| k.clone()).collect();
        for stack in &lapsed {
            held.remove(stack);
        }
        lapsed
    }

    /// Announces this replica (for fair shares) and returns how many replicas are alive.
    pub async fn heartbeat(&self) -> Result<usize> {
        let now = self.now_ms();
        let expires = now + self.config.duration.as_millis() as i64;
        self.db
            .put_item()
            .table_name(&self.table)
            .item("pk", s("REPLICAS"))
            .item("sk", s(&self.replica))
            .item("expiresAt", n(expires))
            .send()
            .await
            .map_err(|e| anyhow!("announcing this replica: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .filter_expression("expiresAt > :now")
            .expression_attribute_values(":pk", s("REPLICAS"))
            .expression_attribute_values(":now", n(now))
            .send()
            .await
            .map_err(|e| anyhow!("listing replicas: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        Ok(out.items().len().max(1))
    }

    /// Removes this replica from the registry (on shutdown).
    pub async fn leave(&self) {
        let _ = self
            .db
            .delete_item()
            .table_name(&self.table)
            .key("pk", s("REPLICAS"))
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
    async fn check(&self, stack: &str) -> Result<(), AwsError> {
        if self.0.holds(stack) {
            Ok(())
        } else {
            Err(AwsError {
                operation: "lease check".into(),
                code: Some("LeaseLost".into()),
                message: format!("this replica no longer holds the lease of stack {stack}"),
                class: crate::aws::ErrorClass::Transient,
            })
        }
    }

    fn fence(&self, stack: &str) -> Option<u64> {
        // Tokens start at 1: without the lease, no status write can match.
        Some(self.0.held().get(stack).map_or(0, |h| h.token))
    }
}
