//! Sending parked messages back to their source queue, one at a time: send, then the audit
//! entry, then delete from the dead-letter queue, so that a message leaves the dead-letter
//! queue only once its copy is on the source queue. Nothing is lost if the command dies: a
//! crash between send and delete leaves the message in both queues, it reappears in the
//! dead-letter queue when its hold runs out, and a later redrive delivers it a second time. A
//! duplicate delivery is what every flow already tolerates (SQS delivers at least once): claims,
//! order links, deterministic delivery keys and ledgers make the second one change nothing.

use ctpvx_shared::store::{AuditEntry, AuditLog, Queue, now_epoch_ms};

use super::held::{Held, NotReleased, release};
use super::{DlqError, Parked, QueuePair};

/// The `flow` of the audit entries a redrive writes.
pub const AUDIT_FLOW: &str = "operator";
/// Their outcome.
pub const AUDIT_OUTCOME: &str = "redriven";

/// What to redrive.
#[derive(Debug, Clone)]
pub struct RedriveOptions {
    /// Only these messages (dead-letter or source ids); every parked message when empty.
    pub ids: Vec<String>,
    /// Read and report, send nothing.
    pub dry_run: bool,
    /// Messages read at most.
    pub limit: usize,
}

/// A message sent back (or, in a dry run, that would be).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Redriven {
    /// Its id in the dead-letter queue.
    pub message_id: String,
    /// Its id on the source queue before it was parked.
    pub source_message_id: String,
    /// The flow that parked it.
    pub flow: Option<String>,
    /// Its new id on the source queue; `None` in a dry run.
    pub new_message_id: Option<String>,
}

/// The step of a redrive that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RedriveStep {
    /// Sending to the source queue: the message stays parked.
    Send,
    /// Appending the audit entry: the message was sent back.
    Audit,
    /// Deleting from the dead-letter queue: the message is in both queues.
    Delete,
}

/// A message whose redrive went wrong, and what that means.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RedriveFailure {
    /// Its id in the dead-letter queue.
    pub message_id: String,
    /// The step that failed.
    pub step: RedriveStep,
    /// The store's error.
    pub error: String,
    /// Where the message is now.
    pub consequence: String,
}

/// What a redrive did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RedriveReport {
    /// The queues.
    pub pair: QueuePair,
    /// Nothing was sent.
    pub dry_run: bool,
    /// Sent back (or would be).
    pub redriven: Vec<Redriven>,
    /// What went wrong, per message and step.
    pub failed: Vec<RedriveFailure>,
    /// Ids asked for that are not parked (among the messages read).
    pub not_found: Vec<String>,
    /// Messages read and left parked: not asked for, not sent, or not deleted.
    pub left: usize,
    /// Whether the read stopped at its limit (more may be parked).
    pub limit_reached: bool,
    /// Messages whose release failed: they reappear when their hold runs out.
    pub not_released: Vec<NotReleased>,
    /// The messages asked for, as read (bodies included: never printed, for a caller that
    /// describes them, such as the console's preview).
    #[serde(skip)]
    pub chosen: Vec<Parked>,
}

impl RedriveReport {
    /// Every message asked for was found and sent back, audited and deleted.
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.not_found.is_empty()
    }
}

/// Sends the parked messages of `pair` (or those `options.ids` names) back to the source
/// queue without ctpvx's `ctpvx-*` attributes, audits each as `message#<source id>`
/// `redriven`, and deletes each from the dead-letter queue once it was sent. Everything read
/// and not deleted is released.
pub async fn redrive(
    queue: &dyn Queue,
    audit: &dyn AuditLog,
    pair: QueuePair,
    options: &RedriveOptions,
) -> Result<RedriveReport, DlqError> {
    // A source queue that cannot be reached fails here, before anything is taken out of
    // the dead-letter queue.
    queue
        .depth(pair.source)
        .await
        .map_err(|source| DlqError::Queue {
            what: "checking",
            queue: pair.source.to_string(),
            source,
        })?;
    let held = Held::collect(queue, pair.dlq, options.limit).await?;
    let limit_reached = held.limit_reached;
    let not_found: Vec<String> = options
        .ids
        .iter()
        .filter(|id| !held.messages.iter().any(|m| m.is(id)))
        .cloned()
        .collect();
    let (chosen, mut keep): (Vec<Parked>, Vec<Parked>) = held
        .messages
        .into_iter()
        .partition(|m| options.ids.is_empty() || options.ids.iter().any(|id| m.is(id)));

    let mut redriven = Vec::new();
    let mut failed = Vec::new();
    let read = chosen.clone();
    for m in chosen {
        if options.dry_run {
            redriven.push(redriven_entry(&m, None));
            keep.push(m);
            continue;
        }
        let new_id = match queue
            .send(pair.source, &m.body, &m.resend_attributes())
            .await
        {
            Ok(id) => id,
            Err(e) => {
                failed.push(failure(
                    &m,
                    RedriveStep::Send,
                    &e,
                    format!("still in {}; nothing was sent", pair.dlq),
                ));
                keep.push(m);
                continue;
            }
        };
        redriven.push(redriven_entry(&m, Some(new_id.clone())));
        if let Err(e) = audit.append(&audit_entry(&m, &pair, &new_id)).await {
            failed.push(failure(
                &m,
                RedriveStep::Audit,
                &e,
                format!(
                    "sent back to {} as {new_id}, without an audit entry",
                    pair.source
                ),
            ));
        }
        if let Err(e) = queue.delete(pair.dlq, &m.receipt).await {
            failed.push(failure(
                &m,
                RedriveStep::Delete,
                &e,
                format!(
                    "sent back to {} as {new_id} and still in {}: redriving it again delivers \
                     it twice, which every flow tolerates",
                    pair.source, pair.dlq
                ),
            ));
            keep.push(m);
        }
    }
    let not_released = release(queue, pair.dlq, &keep).await;
    Ok(RedriveReport {
        pair,
        dry_run: options.dry_run,
        redriven,
        failed,
        not_found,
        left: keep.len(),
        limit_reached,
        not_released,
        chosen: read,
    })
}

fn redriven_entry(m: &Parked, new_message_id: Option<String>) -> Redriven {
    Redriven {
        message_id: m.message_id.clone(),
        source_message_id: m.source_message_id.clone(),
        flow: m.flow.clone(),
        new_message_id,
    }
}

fn failure(
    m: &Parked,
    step: RedriveStep,
    e: &ctpvx_shared::store::StoreError,
    consequence: String,
) -> RedriveFailure {
    tracing::warn!(message_id = %m.message_id, ?step, error = %e, "redrive step failed");
    RedriveFailure {
        message_id: m.message_id.clone(),
        step,
        error: e.to_string(),
        consequence,
    }
}

/// `message#<source id>` `redriven`: ids only, never the body.
fn audit_entry(m: &Parked, pair: &QueuePair, new_message_id: &str) -> AuditEntry {
    AuditEntry {
        entity: m.audit_entity(),
        at_ms: now_epoch_ms(),
        flow: AUDIT_FLOW.to_string(),
        outcome: AUDIT_OUTCOME.to_string(),
        reason: None,
        detail: serde_json::json!({
            "from": pair.dlq,
            "to": pair.source,
            "dead_letter_message_id": m.message_id,
            "new_message_id": new_message_id,
            "parked_by": m.flow,
        }),
    }
}
