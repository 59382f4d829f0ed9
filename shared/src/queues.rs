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
