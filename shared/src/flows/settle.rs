//! Settling a batch the way SQS partial batch responses work: done records are deleted,
//! retryable ones come back later, poisonous ones go to the dead-letter queue at once with
//! their reason.
//!
//! A retry waits its own backoff, set on the message (`ChangeMessageVisibility`), not the
//! queue's visibility timeout: that timeout must outlast the longest batch (template.yaml: six
//! minutes and more), and most retries (an expired Peoplevox session, a 5xx, a duplicate
//! being exported by another worker) succeed seconds later. The backoff grows fivefold per
//! receive, so the attempts of one copy still span about 12 minutes for an outage.
//!
//! A record still failing on its last attempt is not left to the queue's redrive policy, which
//! would park it without saying why. While it has re-queues left it goes back to its own queue
//! as a fresh copy after a growing delay (a Peoplevox outage of an hour must not leave
//! cancellations waiting in a dead-letter queue for an operator); then it is parked with its
//! last reason. The flow gives up a few receives before the redrive count
//! ([`crate::queues::CRASH_RECEIVES`]): those are kept for workers that die mid-batch, so
//! that a crash on a message's last attempt still leaves the flow a receive to settle it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::activity::{self, BatchCounts};
use super::batch::{InputRecord, REASON_ATTRIBUTE, REQUEUES_ATTRIBUTE, RecordOutcome};
use crate::store::{AuditEntry, AuditLog, MAX_DELAY, Outgoing, Queue, now_epoch_ms};

/// Where a flow's records go when they cannot be finished now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The source queue (logical name); a re-queued copy goes back here.
    pub queue: String,
    /// Its dead-letter queue (logical name).
    pub dead_letter_queue: String,
    /// Receives of one copy the flow tries; on the last, a retry is re-queued or parked.
    pub attempts: u32,
    /// Fresh copies a record may get before a retry is parked with its reason.
    pub requeues: u32,
    /// Delay of the first copy; each later copy waits twice as long, at most 15 minutes.
    pub first_requeue_delay: Duration,
    /// How long a record retried after its first receive stays hidden; each later receive
    /// waits five times as long, at most [`RetryPolicy::max_retry_delay`].
    pub first_retry_delay: Duration,
    /// The longest retry delay.
    pub max_retry_delay: Duration,
}

impl RetryPolicy {
    /// The delay of the copy that follows `requeues` earlier ones.
    pub fn requeue_delay(&self, requeues: u32) -> Duration {
        let factor = 1u32.checked_shl(requeues.min(16)).unwrap_or(u32::MAX);
        self.first_requeue_delay
            .checked_mul(factor)
            .unwrap_or(MAX_DELAY)
            .min(MAX_DELAY)
    }

    /// How long a record that failed on receive `receive_count` waits before the next.
    pub fn retry_delay(&self, receive_count: u32) -> Duration {
        let factor = 5u32
            .checked_pow(receive_count.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.first_retry_delay
            .checked_mul(factor)
            .unwrap_or(self.max_retry_delay)
            .min(self.max_retry_delay)
    }

    /// The same policy with no retry waiting longer than `visibility`, and the first fresh
    /// copy no longer either: a local worker's visibility timeout is short (its time is
    /// compressed, as the soak's), and a retry never comes back later than it would have
    /// without its own delay.
    pub fn capped_at(mut self, visibility: Duration) -> Self {
        self.max_retry_delay = self.max_retry_delay.min(visibility);
        self.first_retry_delay = self.first_retry_delay.min(self.max_retry_delay);
        self.first_requeue_delay = self.first_requeue_delay.min(visibility);
        self
    }
}

/// What [`settle`] decided for a record that was not done.
enum HandOn {
    Retry(String),
    Requeue(String),
    Park(String),
}

/// Parks the poisonous records (with the reason as an attribute and an audit entry), re-queues
/// or parks the retries on their last attempt, and returns the ids the queue must deliver
/// again: the retryable ones, plus any record that could not be parked or re-queued (so
/// nothing is lost).
pub async fn settle(
    queue: &dyn Queue,
    audit: &dyn AuditLog,
    flow: &str,
    policy: &RetryPolicy,
    records: &[InputRecord],
    outcomes: &BTreeMap<String, RecordOutcome>,
) -> Vec<String> {
    let decided: Vec<(&InputRecord, HandOn)> = records
        .iter()
        .filter_map(|record| Some((record, decide(policy, record, outcomes)?)))
        .collect();
    delay_retries(queue, policy, &decided).await;
    // Re-queues and parks go out in a few batch sends (10 a call on SQS), not a call each: a
    // batch of 100 failed records settled one call at a time is 100 round trips, and the more
    // calls a settle makes, the likelier one hangs into the function's Timeout.
    let mut requeues = Vec::new();
    let mut parks = Vec::new();
    for (record, hand_on) in &decided {
        match hand_on {
            HandOn::Requeue(reason) => requeues.push((*record, reason.as_str())),
            HandOn::Park(reason) => parks.push((*record, reason.as_str())),
            HandOn::Retry(_) => {}
        }
    }
    let requeued: BTreeSet<&str> = send_on(queue, audit, flow, policy, Onward::Requeue, &requeues)
        .await
        .into_iter()
        .collect();
    let parked: BTreeSet<&str> = send_on(queue, audit, flow, policy, Onward::Park, &parks)
        .await
        .into_iter()
        .collect();
    let again: Vec<String> = decided
        .iter()
        .filter(|(record, _)| {
            !requeued.contains(record.id.as_str()) && !parked.contains(record.id.as_str())
        })
        .map(|(record, _)| record.id.clone())
        .collect();
    let counts = BatchCounts {
        events: records.len() as u64,
        retried: again.len() as u64,
        requeued: requeued.len() as u64,
        parked: parked.len() as u64,
    };
    if !records.is_empty() {
        activity::record(audit, flow, now_epoch_ms(), counts).await;
    }
    again
}

/// What happens to `record`; `None` when it is done.
fn decide(
    policy: &RetryPolicy,
    record: &InputRecord,
    outcomes: &BTreeMap<String, RecordOutcome>,
) -> Option<HandOn> {
    let last_attempt = record.receive_count >= policy.attempts;
    Some(match outcomes.get(&record.id) {
        Some(RecordOutcome::Done) => return None,
        Some(RecordOutcome::Retry(reason)) if !last_attempt => HandOn::Retry(reason.clone()),
        Some(RecordOutcome::Retry(reason)) if record.requeues < policy.requeues => {
            HandOn::Requeue(reason.clone())
        }
        Some(RecordOutcome::Retry(reason)) => HandOn::Park(format!(
            "{reason} (given up after {} receives and {} re-queues)",
            record.receive_count, record.requeues
        )),
        Some(RecordOutcome::DeadLetter(reason)) => HandOn::Park(reason.clone()),
        // A record the flow did not report on must not be deleted unseen.
        None => HandOn::Retry("no outcome reported".into()),
    })
}

/// Hides each retried record for its backoff from now, in as few queue calls as the queue
/// allows (10 a call on SQS). Best effort: a record whose change fails (the receipt is stale,
/// the queue refused) comes back after its visibility timeout as it would have anyway.
async fn delay_retries(
    queue: &dyn Queue,
    policy: &RetryPolicy,
    decided: &[(&InputRecord, HandOn)],
) {
    let mut delayed = Vec::new();
    let mut releases = Vec::new();
    for (record, hand_on) in decided {
        let HandOn::Retry(reason) = hand_on else {
            continue;
        };
        let delay = policy.retry_delay(record.receive_count);
        tracing::warn!(message_id = %record.id, receive_count = record.receive_count, delay_s = delay.as_secs(), %reason, "record will be retried");
        if let Some(receipt) = &record.receipt {
            delayed.push(record.id.as_str());
            releases.push((receipt.clone(), delay));
        }
    }
    if releases.is_empty() {
        return;
    }
    for (i, e) in queue.release_many_after(&policy.queue, &releases).await {
        let message_id = delayed.get(i).copied().unwrap_or("?");
        tracing::warn!(%message_id, error = %e, "could not set the retry delay; the record comes back after its visibility timeout");
    }
}

/// Where [`send_on`] hands records on.
#[derive(Clone, Copy)]
enum Onward {
    /// A fresh copy on its own queue, after the policy's delay.
    Requeue,
    /// The dead-letter queue, with the reason.
    Park,
}

/// Sends each record on (one `send_many`), audits the ones sent, and returns their ids (the
/// others stay in their queue and come back).
async fn send_on<'a>(
    queue: &dyn Queue,
    audit: &dyn AuditLog,
    flow: &str,
    policy: &RetryPolicy,
    onward: Onward,
    records: &[(&'a InputRecord, &str)],
) -> Vec<&'a str> {
    if records.is_empty() {
        return Vec::new();
    }
    let (to, outcome) = match onward {
        Onward::Requeue => (&policy.queue, "requeued"),
        Onward::Park => (&policy.dead_letter_queue, "dead-lettered"),
    };
    let attributes: Vec<BTreeMap<String, String>> = records
        .iter()
        .map(|(record, reason)| {
            let own = match onward {
                Onward::Requeue => (
                    REQUEUES_ATTRIBUTE.to_string(),
                    (record.requeues + 1).to_string(),
                ),
                Onward::Park => (REASON_ATTRIBUTE.to_string(), capped(reason)),
            };
            BTreeMap::from([
                own,
                ("ctpvx-flow".to_string(), flow.to_string()),
                ("ctpvx-source-message-id".to_string(), record.id.clone()),
            ])
        })
        .collect();
    let outgoing: Vec<Outgoing<'_>> = records
        .iter()
        .zip(&attributes)
        .map(|((record, _), attributes)| Outgoing {
            body: &record.body,
            attributes,
            delay: match onward {
                Onward::Requeue => policy.requeue_delay(record.requeues),
                Onward::Park => Duration::ZERO,
            },
        })
        .collect();
    let sent = queue.send_many(to, &outgoing).await;
    let mut audits = Vec::new();
    let mut handed_on = Vec::new();
    for (((record, reason), out), sent) in records.iter().zip(&outgoing).zip(sent) {
        match sent {
            Ok(id) => {
                let mut detail = serde_json::json!({ "queue": to });
                if let Onward::Requeue = onward {
                    tracing::warn!(message_id = %record.id, copy = %id, requeues = record.requeues + 1, delay_s = out.delay.as_secs(), %reason, "record re-queued after its attempts ran out");
                    detail["copy"] = id.into();
                    detail["requeues"] = (record.requeues + 1).into();
                    detail["delay_s"] = out.delay.as_secs().into();
                } else {
                    tracing::warn!(message_id = %record.id, %reason, "record dead-lettered");
                }
                audits.push((*record, outcome, *reason, detail));
                handed_on.push(record.id.as_str());
            }
            Err(e) => {
                tracing::error!(message_id = %record.id, error = %e, outcome, "handing the record on failed; it stays in its queue");
            }
        }
    }
    record_audits(audit, flow, audits).await;
    handed_on
}

/// Longest reason carried as a message attribute (the audit entry keeps it whole): a reason
/// quoting a long answer must not push a batch of parks over SQS's size limit.
const MAX_REASON_CHARS: usize = 1_000;

fn capped(reason: &str) -> String {
    match reason.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => format!("{}…", &reason[..cut]),
        None => reason.to_string(),
    }
}

/// Appends the audit entries of what was handed on, in as few calls as the log allows
/// (DynamoDB's BatchWriteItem: 25 a call).
async fn record_audits(
    audit: &dyn AuditLog,
    flow: &str,
    entries: Vec<(&InputRecord, &str, &str, serde_json::Value)>,
) {
    let at_ms = now_epoch_ms();
    let entries: Vec<AuditEntry> = entries
        .into_iter()
        .map(|(record, outcome, reason, detail)| AuditEntry {
            entity: format!("message#{}", record.id),
            at_ms,
            flow: flow.to_string(),
            outcome: outcome.to_string(),
            reason: Some(reason.to_string()),
            detail,
        })
        .collect();
    for (i, e) in audit.append_many(&entries).await {
        let entity = entries.get(i).map_or("?", |e| e.entity.as_str());
        tracing::error!(%entity, error = %e, "audit append failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            queue: "q".into(),
            dead_letter_queue: "q-dlq".into(),
            attempts: 5,
            requeues: 8,
            first_requeue_delay: Duration::from_secs(60),
            first_retry_delay: Duration::from_secs(5),
            max_retry_delay: Duration::from_secs(600),
        }
    }

    #[test]
    fn retry_delays_grow_fivefold_up_to_their_cap() {
        let p = policy();
        let delays: Vec<u64> = (1..=6).map(|n| p.retry_delay(n).as_secs()).collect();
        assert_eq!(delays, vec![5, 25, 125, 600, 600, 600]);
        assert_eq!(p.retry_delay(0).as_secs(), 5);
        assert_eq!(p.retry_delay(u32::MAX).as_secs(), 600);
        let local = p.capped_at(Duration::from_secs(10));
        let delays: Vec<u64> = (1..=3).map(|n| local.retry_delay(n).as_secs()).collect();
        assert_eq!(delays, vec![5, 10, 10]);
        let tiny = policy().capped_at(Duration::from_secs(2));
        assert_eq!(tiny.retry_delay(1).as_secs(), 2);
        // Fresh copies start from the cap and double from there.
        let copies: Vec<u64> = (0..3).map(|n| local.requeue_delay(n).as_secs()).collect();
        assert_eq!(copies, vec![10, 20, 40]);
    }

    #[test]
    fn requeue_delays_double_up_to_fifteen_minutes() {
        let p = policy();
        let delays: Vec<u64> = (0..6).map(|n| p.requeue_delay(n).as_secs()).collect();
        assert_eq!(delays, vec![60, 120, 240, 480, 900, 900]);
        assert_eq!(p.requeue_delay(u32::MAX), MAX_DELAY);
    }
}
