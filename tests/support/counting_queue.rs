//! A queue that counts, per queue, how it is asked to send: one message a call, or many per
//! call (SQS SendMessageBatch, 10 a request). A flow that sends a call a message makes as many
//! round trips, and the more calls it makes, the likelier one hangs into its Timeout.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ctpvx_shared::store::{Outgoing, Queue, QueueDepth, QueueMessage, StoreError};

/// Send calls of one queue (or of all).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendCalls {
    /// Calls that sent one message.
    pub single: usize,
    /// `send_many` calls.
    pub many: usize,
}

/// Sends through `inner`, counting the calls.
pub struct CountingQueue {
    inner: Arc<dyn Queue>,
    calls: Mutex<BTreeMap<String, SendCalls>>,
}

impl CountingQueue {
    /// Counts the sends to `inner`.
    pub fn new(inner: Arc<dyn Queue>) -> Self {
        Self {
            inner,
            calls: Mutex::default(),
        }
    }

    /// The send calls to `queue` so far.
    pub fn calls(&self, queue: &str) -> SendCalls {
        self.lock().get(queue).copied().unwrap_or_default()
    }

    /// The send calls to every queue so far.
    pub fn total(&self) -> SendCalls {
        self.lock()
            .values()
            .fold(SendCalls::default(), |all, c| SendCalls {
                single: all.single + c.single,
                many: all.many + c.many,
            })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, SendCalls>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Queue for CountingQueue {
    async fn send_delayed(
        &self,
        queue: &str,
        body: &str,
        attributes: &BTreeMap<String, String>,
        delay: Duration,
    ) -> Result<String, StoreError> {
        self.lock().entry(queue.to_string()).or_default().single += 1;
        self.inner
            .send_delayed(queue, body, attributes, delay)
            .await
    }
    async fn send_many(
        &self,
        queue: &str,
        messages: &[Outgoing<'_>],
    ) -> Vec<Result<String, StoreError>> {
        self.lock().entry(queue.to_string()).or_default().many += 1;
        self.inner.send_many(queue, messages).await
    }
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<QueueMessage>, StoreError> {
        self.inner.receive(queue, max, visibility).await
    }
    async fn delete(&self, queue: &str, receipt: &str) -> Result<(), StoreError> {
        self.inner.delete(queue, receipt).await
    }
    async fn release_after(
        &self,
        queue: &str,
        receipt: &str,
        delay: Duration,
    ) -> Result<(), StoreError> {
        self.inner.release_after(queue, receipt, delay).await
    }
    async fn depth(&self, queue: &str) -> Result<QueueDepth, StoreError> {
        self.inner.depth(queue).await
    }
}
