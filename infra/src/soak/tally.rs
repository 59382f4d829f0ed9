//! A queue that keeps the books: every message sent to a source queue and every one deleted
//! from it, by id, whatever the backend underneath (the embedded store or SQS). After the
//! soak drains, a message sent and never deleted was neither applied nor parked by a flow
//! with its reason: it is still queued, or SQS moved it to a dead-letter queue on its own.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use ctpvx_shared::queues::QUEUE_PAIRS;
use ctpvx_shared::store::{Outgoing, Queue, QueueDepth, QueueMessage, StoreError};

#[derive(Debug, Default)]
struct Books {
    /// Every message id sent to a source queue → that queue.
    sent: HashMap<String, String>,
    deleted: HashSet<String>,
    /// Receipt handle → message id, for the deletes (which name the receipt).
    receipts: HashMap<String, String>,
}

/// The decorator.
pub struct TallyQueue {
    inner: Arc<dyn Queue>,
    books: Mutex<Books>,
}

/// The books of the source queues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Distinct messages sent to a source queue (webhooks, hints, re-queues, redrives).
    pub sent: usize,
    /// Of those, deleted after a flow applied them or parked them with a reason.
    pub settled: usize,
    /// Sent and never deleted.
    pub unsettled: usize,
}

fn is_source(queue: &str) -> bool {
    QUEUE_PAIRS.iter().any(|(source, _, _)| *source == queue)
}

impl TallyQueue {
    /// Keeps the books of `inner`'s source queues.
    pub fn new(inner: Arc<dyn Queue>) -> Self {
        Self {
            inner,
            books: Mutex::new(Books::default()),
        }
    }

    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The books now.
    pub fn tally(&self) -> Tally {
        let books = self.books();
        let settled = books
            .sent
            .keys()
            .filter(|id| books.deleted.contains(*id))
            .count();
        Tally {
            sent: books.sent.len(),
            settled,
            unsettled: books.sent.len() - settled,
        }
    }

    /// Messages sent and never deleted, per source queue.
    pub fn unsettled_by_queue(&self) -> BTreeMap<String, usize> {
        let books = self.books();
        let mut out = BTreeMap::new();
        for (id, queue) in &books.sent {
            if books.deleted.contains(id) {
                continue;
            }
            *out.entry(queue.to_string()).or_default() += 1;
        }
        out
    }

    /// Up to `limit` ids sent and never deleted, for the report.
    pub fn unsettled_examples(&self, limit: usize) -> Vec<String> {
        let books = self.books();
        let mut ids: Vec<String> = books
            .sent
            .keys()
            .filter(|id| !books.deleted.contains(*id))
            .cloned()
            .collect();
        ids.sort();
        ids.truncate(limit);
        ids
    }
}

#[async_trait]
impl Queue for TallyQueue {
    async fn send_delayed(
        &self,
        queue: &str,
        body: &str,
        attributes: &BTreeMap<String, String>,
        delay: Duration,
    ) -> Result<String, StoreError> {
        let id = self
            .inner
            .send_delayed(queue, body, attributes, delay)
            .await?;
        if is_source(queue) {
            self.books().sent.insert(id.clone(), queue.to_string());
        }
        Ok(id)
    }

    async fn send_many(
        &self,
        queue: &str,
        messages: &[Outgoing<'_>],
    ) -> Vec<Result<String, StoreError>> {
        let sent = self.inner.send_many(queue, messages).await;
        if is_source(queue) {
            let mut books = self.books();
            for id in sent.iter().flatten() {
                books.sent.insert(id.clone(), queue.to_string());
            }
        }
        sent
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<QueueMessage>, StoreError> {
        let messages = self.inner.receive(queue, max, visibility).await?;
        if is_source(queue) {
            let mut books = self.books();
            for m in &messages {
                books.receipts.insert(m.receipt.clone(), m.id.clone());
            }
        }
        Ok(messages)
    }

    async fn delete(&self, queue: &str, receipt: &str) -> Result<(), StoreError> {
        self.inner.delete(queue, receipt).await?;
        if is_source(queue) {
            let mut books = self.books();
            if let Some(id) = books.receipts.remove(receipt) {
                books.deleted.insert(id);
            }
        }
        Ok(())
    }

    async fn delete_many(&self, queue: &str, receipts: &[String]) -> Vec<(usize, StoreError)> {
        let failed = self.inner.delete_many(queue, receipts).await;
        if is_source(queue) {
            let refused: std::collections::BTreeSet<usize> =
                failed.iter().map(|(i, _)| *i).collect();
            let mut books = self.books();
            for (i, receipt) in receipts.iter().enumerate() {
                if !refused.contains(&i)
                    && let Some(id) = books.receipts.remove(receipt)
                {
                    books.deleted.insert(id);
                }
            }
        }
        failed
    }

    async fn release_after(
        &self,
        queue: &str,
        receipt: &str,
        delay: Duration,
    ) -> Result<(), StoreError> {
        self.inner.release_after(queue, receipt, delay).await
    }

    async fn release_many_after(
        &self,
        queue: &str,
        releases: &[(String, Duration)],
    ) -> Vec<(usize, StoreError)> {
        self.inner.release_many_after(queue, releases).await
    }

    async fn depth(&self, queue: &str) -> Result<QueueDepth, StoreError> {
        self.inner.depth(queue).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctpvx_shared::embedded::EmbeddedStore;
    use ctpvx_shared::queues::STOCK_QUEUE;

    #[tokio::test]
    async fn a_message_is_settled_only_once_deleted() {
        let store = EmbeddedStore::in_memory().unwrap();
        crate::local::stack::declare_queues(&store).unwrap();
        let tally = TallyQueue::new(store);
        let attrs = BTreeMap::new();
        tally.send(STOCK_QUEUE, "a", &attrs).await.unwrap();
        tally.send(STOCK_QUEUE, "b", &attrs).await.unwrap();
        let got = tally
            .receive(STOCK_QUEUE, 10, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(got.len(), 2);
        tally.delete(STOCK_QUEUE, &got[0].receipt).await.unwrap();
        assert_eq!(
            tally.tally(),
            Tally {
                sent: 2,
                settled: 1,
                unsettled: 1
            }
        );
        assert_eq!(tally.unsettled_examples(5), vec![got[1].id.clone()]);
        assert_eq!(
            tally.unsettled_by_queue(),
            BTreeMap::from([(STOCK_QUEUE.to_string(), 1)])
        );
    }
}
