//! Reading a dead-letter queue the only way SQS allows, by receiving: the messages read are
//! held (hidden) while a command works on them, so that each is seen once, and released when it
//! is done with them.

use std::collections::BTreeMap;

use ctpvx_shared::store::{Queue, StoreError};

use super::{DlqError, Parked, Unseen, hold_for};

/// SQS hands out at most 10 messages per receive.
const MAX_RECEIVE_BATCH: usize = 10;

/// A message whose release failed: it reappears when its hold runs out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NotReleased {
    /// Its id in the dead-letter queue.
    pub message_id: String,
    /// Why.
    pub error: String,
}

/// The messages a command received from one queue and has not deleted or released yet.
#[derive(Debug)]
pub(super) struct Held {
    /// The queue.
    pub queue: String,
    /// In the order received, each message once.
    pub messages: Vec<Parked>,
    /// Whether reading stopped at the limit rather than at an empty receive.
    pub limit_reached: bool,
}

impl Held {
    /// Receives until the queue answers with nothing or `limit` messages are held. On an
    /// error, what was received so far is released before the error is returned.
    pub async fn collect(queue: &dyn Queue, name: &str, limit: usize) -> Result<Self, DlqError> {
        let hold = hold_for(limit);
        let mut held = Self {
            queue: name.to_string(),
            messages: Vec::new(),
            limit_reached: false,
        };
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        while held.messages.len() < limit {
            let want = (limit - held.messages.len()).min(MAX_RECEIVE_BATCH);
            let batch = match queue.receive(name, want, hold).await {
                Ok(batch) => batch,
                Err(source) => {
                    held.release_all(queue).await;
                    return Err(DlqError::Queue {
                        what: "receiving from",
                        queue: name.to_string(),
                        source,
                    });
                }
            };
            // An empty answer after SQS's long poll means nothing visible is left.
            if batch.is_empty() {
                return Ok(held);
            }
            for message in batch {
                let parked = Parked::from_message(message);
                // SQS delivers at least once: a second copy replaces the first, and its
                // receipt is the one that counts from now on.
                match index.get(&parked.message_id) {
                    Some(&at) => held.messages[at] = parked,
                    None => {
                        index.insert(parked.message_id.clone(), held.messages.len());
                        held.messages.push(parked);
                    }
                }
            }
        }
        held.limit_reached = true;
        Ok(held)
    }

    /// What this read did not see, from the queue's depth (which counts ours as in flight).
    pub async fn unseen(&self, queue: &dyn Queue) -> Option<Unseen> {
        match queue.depth(&self.queue).await {
            Ok(depth) => Some(Unseen {
                visible: depth.visible,
                in_flight_elsewhere: depth
                    .in_flight
                    .saturating_sub(u64::try_from(self.messages.len()).unwrap_or(u64::MAX)),
            }),
            Err(e) => {
                tracing::warn!(queue = %self.queue, error = %e, "queue depth not read");
                None
            }
        }
    }

    /// Makes every held message visible again.
    pub async fn release_all(self, queue: &dyn Queue) -> Vec<NotReleased> {
        release(queue, &self.queue, &self.messages).await
    }
}

/// Makes `messages` visible again; returns those that will only reappear when their hold
/// runs out. One that is no longer held (its hold ran out) needs no release.
pub(super) async fn release(
    queue: &dyn Queue,
    name: &str,
    messages: &[Parked],
) -> Vec<NotReleased> {
    let mut failed = Vec::new();
    for m in messages {
        match queue.release(name, &m.receipt).await {
            Ok(()) | Err(StoreError::NotFound(_)) => {}
            Err(e) => {
                tracing::warn!(queue = name, message_id = %m.message_id, error = %e, "message not released");
                failed.push(NotReleased {
                    message_id: m.message_id.clone(),
                    error: e.to_string(),
                });
            }
        }
    }
    failed
}
