//! Dead-letter queues for an operator: what is parked, why, and sending it back.
//!
//! SQS has no way to look at a message without receiving it, so every command here first
//! receives what the dead-letter queue holds, hiding each message for a while ([`hold_for`]) so
//! that it is seen once, and at the end releases what it did not delete (visible again at
//! once). A command that dies midway leaves its messages hidden until that time runs out:
//! nothing is lost, they only reappear late. Each read counts as a receive in the message's
//! receive count, which is all a listing changes.
//!
//! A message parked by a flow (`settle`) carries its reason, flow and source message id as
//! `ctpvx-*` attributes and has an audit entry `message#<source id>`; one moved by the queue's
//! redrive policy (`maxReceiveCount`) has none of them, and its id is the source message's.

mod held;
mod mask;
mod redrive;
mod render;
mod summary;

use std::collections::BTreeMap;
use std::time::Duration;

use ctpvx_shared::flows::batch::REASON_ATTRIBUTE;
use ctpvx_shared::queues::QUEUE_PAIRS;
use ctpvx_shared::store::{AuditEntry, AuditLog, Queue, QueueMessage, StoreError};

pub use held::NotReleased;
pub use mask::masked;
pub use redrive::{
    AUDIT_FLOW, RedriveFailure, RedriveOptions, RedriveReport, RedriveStep, Redriven, redrive,
};
pub use render::{list_json, list_lines, redrive_json, redrive_lines, show_json, show_lines};
pub use summary::{printable, summarize};

/// The attribute `settle` names the flow with.
pub const FLOW_ATTRIBUTE: &str = "ctpvx-flow";
/// The attribute `settle` names the source queue's message with.
pub const SOURCE_ID_ATTRIBUTE: &str = "ctpvx-source-message-id";
/// Attributes with this prefix are ctpvx's notes on a parked message; a redrive drops them.
pub const ATTRIBUTE_PREFIX: &str = "ctpvx-";
/// Messages a command looks at unless told otherwise.
pub const DEFAULT_LIMIT: usize = 1000;
/// Audit entries shown per message.
const AUDIT_LIMIT: usize = 100;

/// How long a command hides the messages it reads: long enough to read and send back `limit`
/// messages at 10 a second (two minutes at least), so that none reappears, and is read twice,
/// before the command is done with it.
pub fn hold_for(limit: usize) -> Duration {
    let limit = u64::try_from(limit).unwrap_or(u64::MAX);
    Duration::from_millis(limit.saturating_mul(100)).max(Duration::from_secs(120))
}

/// A source queue, its dead-letter queue and the receives its redrive policy allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct QueuePair {
    /// The queue the flow reads (`orders`).
    pub source: &'static str,
    /// Its dead-letter queue (`orders-dlq`).
    pub dlq: &'static str,
    /// The source queue's `maxReceiveCount`.
    pub max_receive_count: u32,
}

/// Every pair, as `shared::queues` names them.
pub fn pairs() -> [QueuePair; QUEUE_PAIRS.len()] {
    QUEUE_PAIRS.map(|(source, dlq, max_receive_count)| QueuePair {
        source,
        dlq,
        max_receive_count,
    })
}

/// A queue name that is neither a source queue nor a dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown queue `{name}`; the queues are: {}", valid_names())]
pub struct UnknownQueue {
    /// The name given.
    pub name: String,
}

/// `orders (orders-dlq), stock (stock-dlq), …`.
pub fn valid_names() -> String {
    pairs()
        .iter()
        .map(|p| format!("{} ({})", p.source, p.dlq))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The pair named by its source queue (`orders`) or its dead-letter queue (`orders-dlq`).
pub fn resolve(name: &str) -> Result<QueuePair, UnknownQueue> {
    pairs()
        .into_iter()
        .find(|p| p.source == name || p.dlq == name)
        .ok_or_else(|| UnknownQueue {
            name: name.to_string(),
        })
}

/// What stopped a command.
#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    /// A queue could not be read (what was received by then has been released).
    #[error("{what} {queue}: {source}")]
    Queue {
        /// What was being done.
        what: &'static str,
        /// The queue.
        queue: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The audit log could not be read.
    #[error("reading the audit log of {entity}: {source}")]
    Audit {
        /// The entity read.
        entity: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
}

/// One message parked in a dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    /// Its id in the dead-letter queue.
    pub message_id: String,
    /// The id it had on the source queue: the `ctpvx-source-message-id` attribute, or, for a
    /// message moved by the redrive policy (which keeps ids), its own id.
    pub source_message_id: String,
    /// The flow that parked it, when one did.
    pub flow: Option<String>,
    /// The queue's receive count, this read included (a redrive-policy move keeps the count of
    /// the source queue; every listing adds one).
    pub receive_count: u32,
    /// Why it was parked, when a flow said so.
    pub reason: Option<String>,
    /// Every message attribute.
    pub attributes: BTreeMap<String, String>,
    /// The body, as sent: may hold personal data, printed only by `show`.
    pub body: String,
    /// The receipt of this read.
    receipt: String,
}

impl Parked {
    fn from_message(m: QueueMessage) -> Self {
        let source_message_id = m
            .attributes
            .get(SOURCE_ID_ATTRIBUTE)
            .cloned()
            .unwrap_or_else(|| m.id.clone());
        Self {
            source_message_id,
            flow: m.attributes.get(FLOW_ATTRIBUTE).cloned(),
            reason: m.attributes.get(REASON_ATTRIBUTE).cloned(),
            receive_count: m.receive_count,
            message_id: m.id,
            attributes: m.attributes,
            body: m.body,
            receipt: m.receipt,
        }
    }

    /// The reason, or what the absence of one means.
    pub fn why(&self, pair: &QueuePair) -> String {
        match &self.reason {
            Some(reason) => reason.clone(),
            None => format!(
                "no reason recorded: moved by the redrive policy after {} receives",
                pair.max_receive_count
            ),
        }
    }

    /// Whether `id` names this message: its id here or its source queue id.
    pub fn is(&self, id: &str) -> bool {
        self.message_id == id || self.source_message_id == id
    }

    /// The audit entity of its history.
    pub fn audit_entity(&self) -> String {
        format!("message#{}", self.source_message_id)
    }

    /// The attributes to send it back with: all but ctpvx's notes (a flow that parks it again
    /// writes fresh ones).
    pub fn resend_attributes(&self) -> BTreeMap<String, String> {
        self.attributes
            .iter()
            .filter(|(k, _)| !k.starts_with(ATTRIBUTE_PREFIX))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The listing's view: ids, flow, count, reason and a summary of the body, never the body.
    pub fn entry(&self, pair: &QueuePair) -> ListEntry {
        ListEntry {
            message_id: self.message_id.clone(),
            source_message_id: self.source_message_id.clone(),
            flow: self.flow.clone(),
            receive_count: self.receive_count,
            reason: self.reason.clone(),
            why: self.why(pair),
            summary: summarize(&self.body),
        }
    }
}

/// One line of `ctpvx dlq list`, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListEntry {
    /// Id in the dead-letter queue.
    pub message_id: String,
    /// Id on the source queue.
    pub source_message_id: String,
    /// The flow that parked it.
    pub flow: Option<String>,
    /// The queue's receive count, this read included.
    pub receive_count: u32,
    /// The recorded reason, if any.
    pub reason: Option<String>,
    /// The reason, or why there is none.
    pub why: String,
    /// Kind and ids of the body (see [`summarize`]).
    pub summary: String,
}

/// Messages other commands hold, or that are still visible after a read stopped at its limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Unseen {
    /// Visible messages not read (the limit was reached, or they arrived meanwhile).
    pub visible: u64,
    /// Messages in flight under someone else's receive: another operator's command, or one
    /// that died (they reappear when its hold runs out). Approximate on SQS.
    pub in_flight_elsewhere: u64,
}

/// What `list` found.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The queues.
    pub pair: QueuePair,
    /// The parked messages, in the order read.
    pub messages: Vec<Parked>,
    /// Whether the read stopped at its limit.
    pub limit_reached: bool,
    /// What was not read; `None` when the queue's depth could not be read.
    pub unseen: Option<Unseen>,
    /// Messages whose release failed: they reappear when their hold runs out.
    pub not_released: Vec<NotReleased>,
}

/// Reads up to `limit` parked messages of `pair`'s dead-letter queue and releases them.
pub async fn list(queue: &dyn Queue, pair: QueuePair, limit: usize) -> Result<Listing, DlqError> {
    let held = held::Held::collect(queue, pair.dlq, limit).await?;
    let limit_reached = held.limit_reached;
    let unseen = held.unseen(queue).await;
    let messages = held.messages.clone();
    let not_released = held.release_all(queue).await;
    Ok(Listing {
        pair,
        messages,
        limit_reached,
        unseen,
        not_released,
    })
}

/// One parked message in full, with its history.
#[derive(Debug, Clone)]
pub struct Shown {
    /// The queues.
    pub pair: QueuePair,
    /// The message, body included.
    pub message: Parked,
    /// The entries of `message#<source id>`, oldest first.
    pub audit: Vec<AuditEntry>,
    /// Messages whose release failed.
    pub not_released: Vec<NotReleased>,
}

/// What `show` found: the message, or how many were looked at without finding it.
#[derive(Debug, Clone)]
pub enum ShowOutcome {
    /// The message.
    Found(Box<Shown>),
    /// Not among the messages read.
    NotFound {
        /// How many were read.
        looked_at: usize,
        /// Whether the read stopped at its limit (it may be further back).
        limit_reached: bool,
        /// Messages whose release failed.
        not_released: Vec<NotReleased>,
    },
}

/// Finds the message `id` (its dead-letter id or its source id) among up to `limit` parked
/// messages, releases every message read, and reads its audit entries.
pub async fn show(
    queue: &dyn Queue,
    audit: &dyn AuditLog,
    pair: QueuePair,
    id: &str,
    limit: usize,
) -> Result<ShowOutcome, DlqError> {
    let held = held::Held::collect(queue, pair.dlq, limit).await?;
    let found = held.messages.iter().find(|m| m.is(id)).cloned();
    let (looked_at, limit_reached) = (held.messages.len(), held.limit_reached);
    let not_released = held.release_all(queue).await;
    let Some(message) = found else {
        return Ok(ShowOutcome::NotFound {
            looked_at,
            limit_reached,
            not_released,
        });
    };
    let entity = message.audit_entity();
    let entries = audit
        .list(&entity, AUDIT_LIMIT)
        .await
        .map_err(|source| DlqError::Audit { entity, source })?;
    Ok(ShowOutcome::Found(Box::new(Shown {
        pair,
        message,
        audit: entries,
        not_released,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_named_by_its_source_or_its_dead_letter_queue() {
        assert_eq!(resolve("orders").unwrap(), resolve("orders-dlq").unwrap());
        assert_eq!(resolve("reconcile-dlq").unwrap().max_receive_count, 3);
        let e = resolve("order").unwrap_err().to_string();
        assert!(
            e.contains("orders (orders-dlq)") && e.contains("stock (stock-dlq)"),
            "{e}"
        );
    }

    #[test]
    fn the_hold_outlasts_the_work() {
        assert_eq!(hold_for(10), Duration::from_secs(120));
        assert_eq!(hold_for(10_000), Duration::from_secs(1000));
    }
}
