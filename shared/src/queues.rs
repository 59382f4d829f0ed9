//! The queues of a deployment by logical name. template.yaml gives each its URL (the Lambdas
//! read them from the environment); the embedded store declares them under these names.

/// commercetools order messages, from the webhook and the commercetools SQS subscription.
pub const ORDERS_QUEUE: &str = "orders";
/// Dead-letter queue of [`ORDERS_QUEUE`].
pub const ORDERS_DLQ: &str = "orders-dlq";
/// Receives before an order message is dead-lettered (template.yaml `maxReceiveCount`).
pub const ORDERS_MAX_RECEIVE_COUNT: u32 = 5;

/// Peoplevox stock events (from the webhook) and rechecks (from order export, confirmations).
pub const STOCK_QUEUE: &str = "stock";
/// Dead-letter queue of [`STOCK_QUEUE`].
pub const STOCK_DLQ: &str = "stock-dlq";
/// Receives before a stock message is dead-lettered (template.yaml `maxReceiveCount`).
pub const STOCK_MAX_RECEIVE_COUNT: u32 = 5;

/// Peoplevox despatch and tracking events (from the webhook), keyed by despatch number.
pub const SHIPMENTS_QUEUE: &str = "shipments";
/// Dead-letter queue of [`SHIPMENTS_QUEUE`].
pub const SHIPMENTS_DLQ: &str = "shipments-dlq";
/// Receives before a shipment message is dead-lettered (template.yaml `maxReceiveCount`).
pub const SHIPMENTS_MAX_RECEIVE_COUNT: u32 = 5;

/// Order status: Peoplevox status and return events (from the webhook) and commercetools
/// `OrderStateChanged` messages (the webhook, or a commercetools SQS subscription).
pub const STATUS_QUEUE: &str = "status";
/// Dead-letter queue of [`STATUS_QUEUE`].
pub const STATUS_DLQ: &str = "status-dlq";
/// Receives before a status message is dead-lettered (template.yaml `maxReceiveCount`).
pub const STATUS_MAX_RECEIVE_COUNT: u32 = 5;

/// Nightly reconciliation: the messages that continue a run in a follow-up invocation (a
/// checkpointed run that ran out of time in one Lambda).
pub const RECONCILE_QUEUE: &str = "reconcile";
/// Dead-letter queue of [`RECONCILE_QUEUE`].
pub const RECONCILE_DLQ: &str = "reconcile-dlq";
/// Receives before a continuation is dead-lettered (template.yaml `maxReceiveCount`): each
/// receive after the first means an invocation died without handing the run on.
pub const RECONCILE_MAX_RECEIVE_COUNT: u32 = 3;

/// Every queue of a deployment with its dead-letter queue and its redrive count, in the order
/// operators read them.
pub const QUEUE_PAIRS: [(&str, &str, u32); 5] = [
    (ORDERS_QUEUE, ORDERS_DLQ, ORDERS_MAX_RECEIVE_COUNT),
    (STOCK_QUEUE, STOCK_DLQ, STOCK_MAX_RECEIVE_COUNT),
    (SHIPMENTS_QUEUE, SHIPMENTS_DLQ, SHIPMENTS_MAX_RECEIVE_COUNT),
    (STATUS_QUEUE, STATUS_DLQ, STATUS_MAX_RECEIVE_COUNT),
    (RECONCILE_QUEUE, RECONCILE_DLQ, RECONCILE_MAX_RECEIVE_COUNT),
];

/// The redrive count of a source queue (that of the orders queue for a name not listed).
pub fn max_receive_count(queue: &str) -> u32 {
    QUEUE_PAIRS
        .iter()
        .find(|(source, _, _)| *source == queue)
        .map_or(ORDERS_MAX_RECEIVE_COUNT, |(_, _, count)| *count)
}
