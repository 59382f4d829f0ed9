//! [`Queue`] on the embedded store: SQS semantics (visibility timeout, receive count, redrive).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{
    MAX_RECEIVE_BATCH, Queue, QueueDepth, QueueMessage, StoreError, delay_seconds, now_epoch_ms,
    visibility_seconds,
};

use super::sqlite::{EmbeddedStore, backend, to_i64, to_u64};

/// How a queue is declared: its redrive policy, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueSpec {
    /// Where messages go after too many receives; `None` keeps them forever.
    pub dead_letter: Option<DeadLetter>,
}

/// A redrive policy: the dead-letter queue and the receive count that sends a message there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Name of the dead-letter queue (declared along with the source queue).
    pub queue: String,
    /// Receives allowed before the message moves (SQS `maxReceiveCount`, 1..=1000; clamped).
    pub max_receive_count: u32,
}

impl EmbeddedStore {
    /// Declares a queue and, if it has one, its dead-letter queue. Declaring again replaces the
    /// redrive policy and keeps the messages, like `SetQueueAttributes`.
    pub fn declare_queue(&self, name: &str, spec: QueueSpec) -> Result<(), StoreError> {
        self.write(|tx| {
            let (dlq, max) = match &spec.dead_letter {
                Some(d) => {
                    tx.execute(
                        "INSERT OR IGNORE INTO queues (name) VALUES (?1)",
                        params![d.queue],
                    )
                    .map_err(backend)?;
                    (
                        Some(d.queue.as_str()),
                        Some(d.max_receive_count.clamp(1, 1000)),
                    )
                }
                None => (None, None),
            };
            tx.execute(
                "INSERT INTO queues (name, dead_letter, max_receive_count) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET
                     dead_letter = excluded.dead_letter,
                     max_receive_count = excluded.max_receive_count",
                params![name, dlq, max],
            )
            .map_err(backend)?;
            Ok(())
        })
    }
}

/// The redrive policy of a declared queue; `NotFound` if it was never declared.
fn redrive(conn: &Connection, queue: &str) -> Result<Option<(String, u32)>, StoreError> {
    let row: Option<(Option<String>, Option<i64>)> = conn
        .query_row(
            "SELECT dead_letter, max_receive_count FROM queues WHERE name = ?1",
            params![queue],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(backend)?;
    match row {
        None => Err(StoreError::NotFound(format!("queue {queue}"))),
        Some((Some(dlq), Some(max))) => {
            let max = u32::try_from(max).map_err(|_| {
                StoreError::Corrupt(format!("queue {queue}: max receive count {max}"))
            })?;
            Ok(Some((dlq, max)))
        }
        Some(_) => Ok(None),
    }
}

fn parse_attributes(id: &str, json: &str) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("attributes of message {id}: {e}")))
}

#[async_trait]
impl Queue for EmbeddedStore {
    async fn send_delayed(
        &self,
        queue: &str,
        body: &str,
        attributes: &BTreeMap<String, String>,
        delay: Duration,
    ) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let attributes = serde_json::to_string(attributes)
            .map_err(|e| StoreError::Backend(format!("attributes not serialisable: {e}")))?;
        let visible_at = now_epoch_ms() + i64::from(delay_seconds(delay)) * 1000;
        self.write(|tx| {
            redrive(tx, queue)?;
            tx.execute(
                "INSERT INTO messages (queue, id, body, attributes, visible_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![queue, id, body, attributes, visible_at],
            )
            .map_err(backend)?;
            Ok(())
        })?;
        Ok(id)
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<QueueMessage>, StoreError> {
        let max = max.min(MAX_RECEIVE_BATCH);
        let now = now_epoch_ms();
        let hidden_until = now + i64::from(visibility_seconds(visibility)) * 1000;
        self.write(|tx| {
            let policy = redrive(tx, queue)?;
            let mut out = Vec::with_capacity(max);
            // One index walk (queue, visible_at_ms, seq) for the whole batch: the earliest
            // visible first, in send order among equals. Ordering by `seq` alone, one message
            // at a time, made SQLite sort the whole visible backlog for every message handed
            // out: the soak's backlog of 50,000 slowed every worker to a crawl.
            let limit = i64::try_from(max).unwrap_or(i64::MAX);
            let ready: Vec<(i64, String, String, String, i64)> = {
                let mut statement = tx
                    .prepare_cached(
                        "SELECT seq, id, body, attributes, receive_count FROM messages
                         WHERE queue = ?1 AND visible_at_ms <= ?2
                         ORDER BY visible_at_ms, seq LIMIT ?3",
                    )
                    .map_err(backend)?;
                let rows = statement
                    .query_map(params![queue, now, limit], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })
                    .map_err(backend)?;
                rows.collect::<Result<_, _>>().map_err(backend)?
            };
            for (seq, id, body, attributes, count) in ready {
                let count = to_u64(count, "receive count")?;
                // As SQS does: the move happens when a receive would hand out a message that
                // has used up its receives. Body, attributes, id and count travel with it.
                if let Some((dlq, max_receives)) = &policy
                    && count >= u64::from(*max_receives)
                {
                    tx.execute(
                        "UPDATE messages SET queue = ?2, visible_at_ms = ?3, receipt = NULL
                         WHERE seq = ?1",
                        params![seq, dlq, now],
                    )
                    .map_err(backend)?;
                    continue;
                }
                let receipt = uuid::Uuid::new_v4().to_string();
                let count = count + 1;
                tx.execute(
                    "UPDATE messages SET receive_count = ?2, visible_at_ms = ?3, receipt = ?4
                     WHERE seq = ?1",
                    params![seq, to_i64(count, "receive count")?, hidden_until, receipt],
                )
                .map_err(backend)?;
                out.push(QueueMessage {
                    attributes: parse_attributes(&id, &attributes)?,
                    id,
                    receipt,
                    body,
                    receive_count: u32::try_from(count).unwrap_or(u32::MAX),
                });
            }
            Ok(out)
        })
    }

    async fn delete(&self, queue: &str, receipt: &str) -> Result<(), StoreError> {
        // Only the latest receipt deletes: a stale one (the message was received again since)
        // succeeds without effect, which AWS documents as allowed for SQS.
        self.write(|tx| {
            redrive(tx, queue)?;
            tx.execute(
                "DELETE FROM messages WHERE queue = ?1 AND receipt = ?2",
                params![queue, receipt],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    async fn release_after(
        &self,
        queue: &str,
        receipt: &str,
        delay: Duration,
    ) -> Result<(), StoreError> {
        let now = now_epoch_ms();
        // Whole seconds as SQS takes them, so both adapters hold a retry equally long.
        let visible_at = now + i64::from(visibility_seconds(delay)) * 1000;
        self.write(|tx| {
            redrive(tx, queue)?;
            // Only the latest receipt of a message still in flight: a receive overwrites the
            // receipt, and a message whose timeout ran out is visible already (SQS answers
            // both with an error rather than touching a message someone else may hold).
            let changed = tx
                .execute(
                    "UPDATE messages SET visible_at_ms = ?4
                     WHERE queue = ?1 AND receipt = ?2 AND visible_at_ms > ?3",
                    params![queue, receipt, now, visible_at],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!(
                    "no message in flight on {queue} under this receipt"
                )));
            }
            Ok(())
        })
    }

    async fn depth(&self, queue: &str) -> Result<QueueDepth, StoreError> {
        let now = now_epoch_ms();
        self.read(|conn| {
            redrive(conn, queue)?;
            let (visible, in_flight): (i64, i64) = conn
                .query_row(
                    "SELECT COALESCE(SUM(visible_at_ms <= ?2), 0), COALESCE(SUM(visible_at_ms > ?2), 0)
                     FROM messages WHERE queue = ?1",
                    params![queue, now],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(backend)?;
            Ok(QueueDepth {
                visible: to_u64(visible, "queue depth")?,
                in_flight: to_u64(in_flight, "queue depth")?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_rounds_up_to_whole_seconds() {
        assert_eq!(visibility_seconds(Duration::ZERO), 0);
        assert_eq!(visibility_seconds(Duration::from_millis(1)), 1);
        assert_eq!(visibility_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(visibility_seconds(Duration::from_secs(30)), 30);
        assert_eq!(visibility_seconds(Duration::from_secs(86_400)), 43_200);
    }

    #[tokio::test]
    async fn a_message_past_its_receives_moves_to_the_dead_letter_queue() {
        let store = EmbeddedStore::in_memory().unwrap();
        let spec = QueueSpec {
            dead_letter: Some(DeadLetter {
                queue: "q-dlq".into(),
                max_receive_count: 1,
            }),
        };
        store.declare_queue("q", spec.clone()).unwrap();
        store.declare_queue("q", spec).unwrap();
        let attrs = BTreeMap::from([("reason".to_owned(), "x".to_owned())]);
        let id = store.send("q", "body", &attrs).await.unwrap();
        let first = store.receive("q", 10, Duration::ZERO).await.unwrap();
        assert_eq!(first.len(), 1);
        assert!(
            store
                .receive("q", 10, Duration::ZERO)
                .await
                .unwrap()
                .is_empty()
        );
        let dead = store
            .receive("q-dlq", 10, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(
            (dead[0].id.as_str(), dead[0].body.as_str()),
            (id.as_str(), "body")
        );
        assert_eq!(dead[0].attributes, attrs);
        assert_eq!(
            store.depth("q-dlq").await.unwrap(),
            QueueDepth {
                visible: 0,
                in_flight: 1
            }
        );
    }

    /// What the contract cannot check because moto is laxer than SQS: a stale receipt, or a
    /// message visible again, is not released.
    #[tokio::test]
    async fn release_needs_the_latest_receipt_of_a_message_in_flight() {
        let store = EmbeddedStore::in_memory().unwrap();
        store.declare_queue("q", QueueSpec::default()).unwrap();
        store.send("q", "b", &BTreeMap::new()).await.unwrap();
        let first = store.receive("q", 1, Duration::ZERO).await.unwrap();
        // Visibility 0: visible again at once, so no longer in flight.
        let err = store.release("q", &first[0].receipt).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
        let second = store
            .receive("q", 1, Duration::from_secs(30))
            .await
            .unwrap();
        let err = store.release("q", &first[0].receipt).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
        assert_eq!(store.depth("q").await.unwrap().in_flight, 1);
        store.release("q", &second[0].receipt).await.unwrap();
        let err = store.release("q", &second[0].receipt).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
        assert_eq!(store.depth("q").await.unwrap().visible, 1);
    }

    #[tokio::test]
    async fn an_undeclared_queue_is_not_found() {
        let store = EmbeddedStore::in_memory().unwrap();
        let err = store.send("nope", "b", &BTreeMap::new()).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    }
}
