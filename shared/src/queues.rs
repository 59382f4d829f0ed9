//! The queues of a deployment by logical name. template.yaml gives each its URL (the Lambdas
//! read them from the environment); the embedded store declares them under these names.

use std::time::Duration;

use crate::flows::settle::RetryPolicy;

/// Receives of one copy of a message in which a flow tries to finish it; on the last, a retry
/// is re-queued with a delay or, after [`FLOW_REQUEUES`] copies, parked with its reason.
pub const FLOW_ATTEMPTS: u32 = 5;

/// Receives kept between a flow's last attempt and the queue's redrive count, for workers that
/// die mid-batch (timeouts, out of memory): the redrive policy, which parks a message without a
/// reason, then only acts after that many crashes in a row on one message.
pub const CRASH_RECEIVES: u32 = 3;

/// Fresh copies of a failing message before it is parked. A copy's attempts wait 5 s, 25 s,
/// 2 min and 10 min between them ([`FIRST_RETRY_DELAY`], [`MAX_RETRY_DELAY`]), about 12.6
/// minutes; five copies and delays of 1, 2, 4 and 8 minutes between them ride out an outage
/// of about an hour and a quarter before anything waits for an operator.
pub const FLOW_REQUEUES: u32 = 4;

/// Delay of a message's first re-queued copy.
pub const FIRST_REQUEUE_DELAY: Duration = Duration::from_secs(60);

/// How long a record retried after its first receive waits; most retries are transient (an
/// expired session, a 5xx, a lock held by a duplicate's worker) and succeed at once.
pub const FIRST_RETRY_DELAY: Duration = Duration::from_secs(5);

/// The longest wait between two receives of one copy: the last attempts are for outages.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(600);

/// commercetools order messages, from the webhook and the commercetools SQS subscription.
pub const ORDERS_QUEUE: &str = "orders";
/// Dead-letter queue of [`ORDERS_QUEUE`].
pub const ORDERS_DLQ: &str = "orders-dlq";
/// Receives before an order message is moved to the dead-letter queue by the redrive policy
/// (template.yaml `maxReceiveCount`): the flow's attempts plus [`CRASH_RECEIVES`].
pub const ORDERS_MAX_RECEIVE_COUNT: u32 = FLOW_ATTEMPTS + CRASH_RECEIVES;

/// Peoplevox stock events (from the webhook) and rechecks (from order export, confirmations).
pub const STOCK_QUEUE: &str = "stock";
/// Dead-letter queue of [`STOCK_QUEUE`].
pub const STOCK_DLQ: &str = "stock-dlq";
/// Receives before a stock message is moved to the dead-letter queue by the redrive policy
/// (template.yaml `maxReceiveCount`): the flow's attempts plus [`CRASH_RECEIVES`].
pub const STOCK_MAX_RECEIVE_COUNT: u32 = FLOW_ATTEMPTS + CRASH_RECEIVES;

/// Peoplevox despatch and tracking events (from the webhook), keyed by despatch number.
pub const SHIPMENTS_QUEUE: &str = "shipments";
/// Dead-letter queue of [`SHIPMENTS_QUEUE`].
pub const SHIPMENTS_DLQ: &str = "shipments-dlq";
/// Receives before a shipment message is moved to the dead-letter queue by the redrive policy
/// (template.yaml `maxReceiveCount`): the flow's attempts plus [`CRASH_RECEIVES`].
pub const SHIPMENTS_MAX_RECEIVE_COUNT: u32 = FLOW_ATTEMPTS + CRASH_RECEIVES;

/// Order status: Peoplevox status and return events (from the webhook) and commercetools
/// `OrderStateChanged` messages (the webhook, or a commercetools SQS subscription).
pub const STATUS_QUEUE: &str = "status";
/// Dead-letter queue of [`STATUS_QUEUE`].
pub const STATUS_DLQ: &str = "status-dlq";
/// Receives before a status message is moved to the dead-letter queue by the redrive policy
/// (template.yaml `maxReceiveCount`): the flow's attempts plus [`CRASH_RECEIVES`].
pub const STATUS_MAX_RECEIVE_COUNT: u32 = FLOW_ATTEMPTS + CRASH_RECEIVES;

/// Nightly reconciliation: the messages that continue a run in a follow-up invocation (a
/// checkpointed run that ran out of time in one Lambda).
pub const RECONCILE_QUEUE: &str = "reconcile";
/// Dead-letter queue of [`RECONCILE_QUEUE`].
pub const RECONCILE_DLQ: &str = "reconcile-dlq";
/// Receives before a continuation is dead-lettered (template.yaml `maxReceiveCount`): each
/// receive after the first means an invocation died without handing the run on.
pub const RECONCILE_MAX_RECEIVE_COUNT: u32 = 3;

/// The Timeout of the `order-created` function (template.yaml), sized so that one full
/// attempt of every request on its path fits with the default client settings: a budget
/// window (15 s) and a Peoplevox read (60 s), another window and SaveData (75 s), the
/// commercetools reads and export marks (30 s), the flow's own writes
/// ([`crate::invocation::WORK_MARGIN`], 2 s) and the settle reserve
/// ([`crate::invocation::SETTLE_RESERVE`], 5 s): 187 s, plus a cold start's reads. A slower
/// path (retries, a cold start's template reads) is cut at the deadline and its records are
/// retried with the flow's backoff.
pub const ORDERS_FUNCTION_TIMEOUT: Duration = Duration::from_secs(200);

/// The Timeout of the `stock-delta`, `shipment-confirmed` and `order-status` functions
/// (template.yaml), sized as [`ORDERS_FUNCTION_TIMEOUT`]: a budget window (15 s), one
/// Peoplevox read (60 s), a commercetools read and write (20 s), the flow's own writes (2 s)
/// and the settle reserve (5 s): 102 s, plus a cold start's reads.
pub const EVENT_FUNCTION_TIMEOUT: Duration = Duration::from_secs(120);

/// The Timeout of the `nightly-reconcile` function: Lambda's longest. A run hands itself on
/// `reconcile.stop_before_deadline_s` before it.
pub const RECONCILE_FUNCTION_TIMEOUT: Duration = Duration::from_secs(900);

/// The Timeout of the function that reads `queue` (template.yaml): a batch's time, from its
/// receive to its deadline. The local workers run batches under it too.
pub fn function_timeout(queue: &str) -> Duration {
    match queue {
        ORDERS_QUEUE => ORDERS_FUNCTION_TIMEOUT,
        RECONCILE_QUEUE => RECONCILE_FUNCTION_TIMEOUT,
        _ => EVENT_FUNCTION_TIMEOUT,
    }
}

/// Every queue of a deployment with its dead-letter queue and its redrive count, in the order
/// operators read them.
pub const QUEUE_PAIRS: [(&str, &str, u32); 5] = [
    (ORDERS_QUEUE, ORDERS_DLQ, ORDERS_MAX_RECEIVE_COUNT),
    (STOCK_QUEUE, STOCK_DLQ, STOCK_MAX_RECEIVE_COUNT),
    (SHIPMENTS_QUEUE, SHIPMENTS_DLQ, SHIPMENTS_MAX_RECEIVE_COUNT),
    (STATUS_QUEUE, STATUS_DLQ, STATUS_MAX_RECEIVE_COUNT),
    (RECONCILE_QUEUE, RECONCILE_DLQ, RECONCILE_MAX_RECEIVE_COUNT),
];

/// How the flow reading `queue` (a name not listed: `<queue>-dlq`, as the orders queue) hands on what it cannot finish now. The flow queues try each
/// copy [`FLOW_ATTEMPTS`] times and re-queue it [`FLOW_REQUEUES`] times. A reconcile
/// continuation is tried on every receive up to its redrive count and never re-queued: the run
/// keeps its checkpoint, and the next schedule tick starts afresh.
pub fn retry_policy(queue: &str) -> RetryPolicy {
    let (dlq, max_receive_count) = QUEUE_PAIRS
        .iter()
        .find(|(source, _, _)| *source == queue)
        .map_or(
            (format!("{queue}-dlq"), ORDERS_MAX_RECEIVE_COUNT),
            |(_, dlq, count)| (dlq.to_string(), *count),
        );
    let continuation = queue == RECONCILE_QUEUE;
    RetryPolicy {
        queue: queue.to_string(),
        dead_letter_queue: dlq,
        attempts: if continuation {
            max_receive_count
        } else {
            FLOW_ATTEMPTS
        },
        requeues: if continuation { 0 } else { FLOW_REQUEUES },
        first_requeue_delay: FIRST_REQUEUE_DELAY,
        first_retry_delay: FIRST_RETRY_DELAY,
        max_retry_delay: MAX_RETRY_DELAY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flow_gives_up_before_its_queue_redrives() {
        for (queue, dlq, max_receive_count) in QUEUE_PAIRS {
            let policy = retry_policy(queue);
            assert_eq!(policy.dead_letter_queue, dlq);
            assert!(policy.attempts <= max_receive_count, "{queue}");
            if queue != RECONCILE_QUEUE {
                assert_eq!(
                    max_receive_count - policy.attempts,
                    CRASH_RECEIVES,
                    "{queue}"
                );
                assert_eq!(policy.requeues, FLOW_REQUEUES);
            }
        }
        assert_eq!(retry_policy(RECONCILE_QUEUE).requeues, 0);
    }
}
