//! Waiting for queues to drain, over any pipeline that has them: the in-process stack and the
//! stack of function binaries ([`crate::stack`]) alike, so that the scenarios and the soak run
//! over either.

use std::time::{Duration, Instant};

use async_trait::async_trait;

use ctpvx_shared::store::{Queue, QueueDepth};

/// Bounds of the pause between two looks at the queues while waiting for them to drain.
const DRAIN_POLL_MIN: Duration = Duration::from_millis(50);
const DRAIN_POLL_MAX: Duration = Duration::from_secs(1);

/// A pipeline whose queues can be watched.
#[async_trait]
pub trait Drains: Sync {
    /// Its queues, by logical name.
    fn queues(&self) -> &dyn Queue;

    /// Depth of a queue.
    async fn depth(&self, queue: &str) -> QueueDepth {
        self.queues().depth(queue).await.unwrap_or_default()
    }

    /// Waits until every one of `queues` is empty at the same time (nothing visible, nothing in
    /// flight or delayed), or `limit` passes; returns whether they drained.
    async fn wait_queues_drained(&self, queues: &[&str], limit: Duration) -> bool {
        wait_drained(self.queues(), queues, limit).await
    }
}

/// [`Drains::wait_queues_drained`] over `queue`.
pub async fn wait_drained(queue: &dyn Queue, queues: &[&str], limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if all_empty(queue, queues).await {
            return true;
        }
        // A depth read of moto's SQS walks the whole queue (100,000 messages in the soak's
        // stock burst), so a long wait asks less often: it notices the drain within 5 % of
        // the time it has waited, and within 1 s.
        let pause = (start.elapsed() / 20).clamp(DRAIN_POLL_MIN, DRAIN_POLL_MAX);
        tokio::time::sleep(pause).await;
    }
    false
}

/// Whether every one of `queues` is empty; stops at the first that is not.
async fn all_empty(queue: &dyn Queue, queues: &[&str]) -> bool {
    for name in queues {
        let d = queue.depth(name).await.unwrap_or_default();
        if d.visible > 0 || d.in_flight > 0 {
            return false;
        }
    }
    true
}
