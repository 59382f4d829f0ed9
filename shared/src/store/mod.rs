//! Ports: the storage and queueing the flows need, as traits.
//!
//! Two adapters implement every port: `crate::embedded` (SQLite file, one process; feature
//! `embedded`) and `crate::aws` (DynamoDB, SQS; feature `aws`). One contract suite (`tests/contract_stores.rs`) runs against
//! both, so the embedded store cannot drift from DynamoDB's and SQS's semantics.
//!
//! Time: expiry is always checked in code against the wall clock (epoch seconds for item
//! expiry, epoch milliseconds for idempotency in-progress expiry); TTL deletion is never trusted.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

mod error;
pub use error::StoreError;

/// Seconds since the Unix epoch, from the wall clock.
pub fn now_epoch_s() -> i64 {
    now_epoch_ms() / 1000
}

/// Milliseconds since the Unix epoch, from the wall clock.
pub fn now_epoch_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One item of the state store: opaque data plus the version that guards concurrent writers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The payload, usually JSON written by the caller.
    pub data: String,
    /// Starts at 1 on creation and grows by one on every write.
    pub version: u64,
    /// Epoch seconds after which the item counts as absent; `None` never expires.
    pub expires_at: Option<i64>,
}

/// The condition a state-store write must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Write unconditionally.
    Always,
    /// Write only if no live item exists (an expired item counts as absent).
    NotExists,
    /// Write only if the live item has exactly this version.
    Version(u64),
}

/// Key-value state with conditional writes: order links, ledgers, cursors, sessions, budgets.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The live item at (pk, sk), or `None` when absent or expired.
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError>;
    /// Writes `data` if `cond` holds and returns the new version (previous + 1, or 1).
    /// A failed condition is `Err(StoreError::ConditionFailed)`.
    async fn put(
        &self,
        pk: &str,
        sk: &str,
        data: &str,
        cond: Condition,
        expires_at: Option<i64>,
    ) -> Result<u64, StoreError>;
    /// Removes the item; removing an absent item is not an error.
    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError>;
    /// Live items under `pk`, ordered by `sk` ascending, at most `limit`.
    async fn query(&self, pk: &str, limit: usize) -> Result<Vec<(String, Item)>, StoreError>;
    /// The live items at many (pk, sk) keys, in the order asked (`None` where absent or
    /// expired), each read as [`StateStore::get`] reads it. A store that can read many keys
    /// in one round trip (DynamoDB's BatchGetItem) overrides this loop.
    async fn get_many(&self, keys: &[(String, String)]) -> Result<Vec<Option<Item>>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for (pk, sk) in keys {
            out.push(self.get(pk, sk).await?);
        }
        Ok(out)
    }
}

/// Status of an idempotency record, as Powertools stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdempotencyStatus {
    /// A worker holds the key.
    InProgress,
    /// The work is done; `data` holds its result.
    Completed,
}

impl IdempotencyStatus {
    /// The stored spelling ("INPROGRESS" / "COMPLETED").
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "INPROGRESS",
            Self::Completed => "COMPLETED",
        }
    }
    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "INPROGRESS" => Some(Self::InProgress),
            "COMPLETED" => Some(Self::Completed),
            _ => None,
        }
    }
}

/// A Powertools-compatible idempotency record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Partition key `id`.
    pub id: String,
    /// `status`.
    pub status: IdempotencyStatus,
    /// `expiration`, epoch seconds.
    pub expiration: i64,
    /// `in_progress_expiration`, epoch milliseconds (set while INPROGRESS).
    pub in_progress_expiration: Option<i64>,
    /// `data`: the stored result once COMPLETED.
    pub data: Option<String>,
    /// `validation`: hash of the payload, to catch a key reused with another payload.
    pub validation: Option<String>,
}

/// What a conditional INPROGRESS put found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutInProgress {
    /// The record was written. `previous` is the record it replaced (expired, or an
    /// INPROGRESS whose holder ran out of time), if any.
    Acquired { previous: Option<IdempotencyRecord> },
    /// A live record exists (ALL_OLD on condition failure); nothing was written.
    Exists(IdempotencyRecord),
}

/// The Powertools persistence layer: the state machine lives in `crate::idempotency`.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Conditional put: succeeds when there is no record, the record's `expiration` is before
    /// `now_s`, or it is INPROGRESS with `in_progress_expiration` before `now_ms`.
    async fn put_in_progress(
        &self,
        record: &IdempotencyRecord,
        now_s: i64,
        now_ms: i64,
    ) -> Result<PutInProgress, StoreError>;
    /// Marks the record COMPLETED with its result and a new expiration.
    async fn save_success(&self, id: &str, data: &str, expiration: i64) -> Result<(), StoreError>;
    /// Deletes the record so that a retry can run (used when the work failed).
    async fn delete(&self, id: &str) -> Result<(), StoreError>;
    /// The stored record, expired or not (callers decide).
    async fn get(&self, id: &str) -> Result<Option<IdempotencyRecord>, StoreError>;
}

/// One append-only audit entry, keyed by the entity it is about.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// The entity, e.g. `order#<ct id>` or `stock#<sku>#<site>`.
    pub entity: String,
    /// When it happened, epoch milliseconds.
    pub at_ms: i64,
    /// The flow that wrote it, e.g. `order-export`.
    pub flow: String,
    /// What happened, e.g. `exported`, `held`, `duplicate`, `dead-lettered`.
    pub outcome: String,
    /// Why, for anything that is not a plain success.
    pub reason: Option<String>,
    /// Flow-specific facts (never personal data).
    pub detail: serde_json::Value,
}

/// The audit log: append-only, queryable per entity, entries expire after a retention period.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends one entry.
    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Appends many entries and returns the ones that failed (by index), with why. A store
    /// that can write many entries in one round trip (DynamoDB's BatchWriteItem) overrides
    /// this loop.
    async fn append_many(&self, entries: &[AuditEntry]) -> Vec<(usize, StoreError)> {
        let mut failed = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            if let Err(e) = self.append(entry).await {
                failed.push((i, e));
            }
        }
        failed
    }
    /// The entries of one entity, oldest first, at most `limit`.
    async fn list(&self, entity: &str, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
    /// The newest `limit` entries of one entity, oldest first: a long log's recent end (a
    /// site's movements, a SKU's trail) without reading its 90 days.
    async fn list_recent(&self, entity: &str, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
}

/// A message received from a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// The message id given at send time.
    pub id: String,
    /// The handle that deletes this delivery (changes with every receive).
    pub receipt: String,
    /// The body as sent.
    pub body: String,
    /// How many times the message has been received, this delivery included.
    pub receive_count: u32,
    /// String message attributes (e.g. `reason` on a dead-lettered message).
    pub attributes: BTreeMap<String, String>,
}

/// SQS's longest message delay, 15 minutes.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

/// A delay as SQS takes it: whole seconds, rounded up, at most [`MAX_DELAY`].
pub fn delay_seconds(delay: Duration) -> i32 {
    let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
    // Cannot fail: clamped to 900.
    i32::try_from(secs.min(MAX_DELAY.as_secs())).unwrap_or(900)
}

// The rules below are shared by both adapters, so both round and expire the same way. They
// live here, not in `crate::embedded`, because that module (SQLite) is compiled only with the
// `embedded` feature and the Lambdas, which use the AWS adapters, do without it.

/// SQS hands out at most this many messages per receive.
#[cfg_attr(not(any(feature = "aws", feature = "embedded")), allow(dead_code))]
pub(crate) const MAX_RECEIVE_BATCH: usize = 10;

/// SQS's longest visibility timeout, 12 hours.
const MAX_VISIBILITY_S: u64 = 12 * 3600;

/// The visibility timeout as SQS takes it: whole seconds, rounded up, at most 12 hours.
#[cfg_attr(not(any(feature = "aws", feature = "embedded")), allow(dead_code))]
pub(crate) fn visibility_seconds(visibility: Duration) -> i32 {
    let secs = visibility.as_secs() + u64::from(visibility.subsec_nanos() > 0);
    // Cannot fail: clamped to 43 200.
    i32::try_from(secs.min(MAX_VISIBILITY_S)).unwrap_or(i32::MAX)
}

/// The version a state write produces: 1 for a new (or expired) item, else the live one plus
/// one.
#[cfg_attr(not(any(feature = "aws", feature = "embedded")), allow(dead_code))]
pub(crate) fn next_version(live: Option<u64>) -> Result<u64, StoreError> {
    match live {
        None => Ok(1),
        Some(v) => v
            .checked_add(1)
            .ok_or_else(|| StoreError::Corrupt(format!("state version {v} cannot grow"))),
    }
}

/// How long audit entries are kept by default (both adapters): 90 days.
pub const DEFAULT_AUDIT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

/// The expiration (epoch seconds) of an audit entry written at `at_ms` and kept for
/// `retention`. Counted from the entry's own time, so a replayed old event does not live longer.
#[cfg_attr(not(any(feature = "aws", feature = "embedded")), allow(dead_code))]
pub(crate) fn audit_expiration(at_ms: i64, retention: Duration) -> i64 {
    let retention_s = i64::try_from(retention.as_secs()).unwrap_or(i64::MAX);
    at_ms.div_euclid(1000).saturating_add(retention_s)
}

/// Visible and in-flight message counts of a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueDepth {
    /// Messages ready to be received.
    pub visible: u64,
    /// Messages received and not yet deleted, whose visibility timeout has not run out.
    pub in_flight: u64,
}

/// A message to send with [`Queue::send_many`].
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub body: &'a str,
    pub attributes: &'a BTreeMap<String, String>,
    /// How long it stays invisible first (as [`Queue::send_delayed`]).
    pub delay: Duration,
}

/// A message queue with SQS semantics: at-least-once, visibility timeout, receive count, and a
/// dead-letter queue after the source queue's maximum receive count (its redrive policy).
#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends one message to the named queue and returns its id.
    async fn send(
        &self,
        queue: &str,
        body: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<String, StoreError> {
        self.send_delayed(queue, body, attributes, Duration::ZERO)
            .await
    }
    /// Sends one message that stays invisible for `delay` first (SQS `DelaySeconds`: whole
    /// seconds, rounded up, at most 15 minutes) and returns its id.
    async fn send_delayed(
        &self,
        queue: &str,
        body: &str,
        attributes: &BTreeMap<String, String>,
        delay: Duration,
    ) -> Result<String, StoreError>;
    /// Sends several messages to the named queue, each with its own attributes and delay, and
    /// returns each one's id or why it was not sent, in order. A queue that sends up to 10 per
    /// call (SQS SendMessageBatch) overrides this loop: a flow settling a batch re-queues or
    /// parks its failed records in a few calls, not a call each.
    async fn send_many(
        &self,
        queue: &str,
        messages: &[Outgoing<'_>],
    ) -> Vec<Result<String, StoreError>> {
        let mut sent = Vec::with_capacity(messages.len());
        for m in messages {
            sent.push(
                self.send_delayed(queue, m.body, m.attributes, m.delay)
                    .await,
            );
        }
        sent
    }
    /// Receives up to `max` visible messages (at most 10 per call, as SQS), hiding them for
    /// `visibility`. Messages past the maximum receive count move to the dead-letter queue
    /// instead of being returned.
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<QueueMessage>, StoreError>;
    /// Deletes a received message by its receipt handle.
    async fn delete(&self, queue: &str, receipt: &str) -> Result<(), StoreError>;
    /// Deletes many received messages and returns the receipts (by index) that were not
    /// deleted, with why. A queue that deletes up to 10 per call (SQS DeleteMessageBatch, as
    /// the Lambda event source mapping does) overrides this loop.
    async fn delete_many(&self, queue: &str, receipts: &[String]) -> Vec<(usize, StoreError)> {
        let mut failed = Vec::new();
        for (i, receipt) in receipts.iter().enumerate() {
            if let Err(e) = self.delete(queue, receipt).await {
                failed.push((i, e));
            }
        }
        failed
    }
    /// Makes a received message visible again at once (SQS `ChangeMessageVisibility` to 0), so
    /// that the next receive may hand it out. Nothing else changes: id, body and attributes
    /// stay, and the receive count is not undone (the next receive counts one more).
    ///
    /// `receipt` must be the handle of the message's latest receive, as SQS requires. A
    /// message not in flight under it (deleted, moved, received again since, or visible again
    /// because its visibility timeout ran out or it was released) is `NotFound`: SQS refuses
    /// the change, and the embedded store never releases a message someone else holds. (moto
    /// is laxer: it accepts any receipt the message ever had, in flight or not.)
    async fn release(&self, queue: &str, receipt: &str) -> Result<(), StoreError> {
        self.release_after(queue, receipt, Duration::ZERO).await
    }
    /// As [`Queue::release`], but the message becomes visible only `delay` from now (SQS
    /// `ChangeMessageVisibility`: whole seconds, rounded up, at most 12 hours), whatever the
    /// visibility timeout it was received with: a flow's retry waits its own backoff.
    async fn release_after(
        &self,
        queue: &str,
        receipt: &str,
        delay: Duration,
    ) -> Result<(), StoreError>;
    /// [`Queue::release_after`] for many received messages, each with its own delay; returns
    /// the ones (by index) that were not changed, with why. A queue that changes up to 10 per
    /// call (SQS ChangeMessageVisibilityBatch) overrides this loop.
    async fn release_many_after(
        &self,
        queue: &str,
        releases: &[(String, Duration)],
    ) -> Vec<(usize, StoreError)> {
        let mut failed = Vec::new();
        for (i, (receipt, delay)) in releases.iter().enumerate() {
            if let Err(e) = self.release_after(queue, receipt, *delay).await {
                failed.push((i, e));
            }
        }
        failed
    }
    /// Approximate visible and in-flight counts.
    async fn depth(&self, queue: &str) -> Result<QueueDepth, StoreError>;
}
