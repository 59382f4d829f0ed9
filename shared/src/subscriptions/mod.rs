//! `ctpvx subscribe` / `ctpvx unsubscribe`: the Peoplevox event subscriptions the sync needs.
//! The set is derived from the configuration and the tenant's live WSDL ([`desired()`],
//! pure), each event's parameters from [`events`], each with a callback URL the webhook
//! accepts ([`callback`]); [`apply()`] brings Peoplevox to it idempotently and
//! [`unsubscribe_all`] removes everything recorded. Peoplevox cannot list subscriptions, so
//! their ids live in the state store ([`record`]), with the callback token redacted: the store
//! never holds the secret.

pub mod apply;
pub mod callback;
pub mod desired;
pub mod events;
pub mod record;
pub mod report;
pub mod subscriber;

#[cfg(test)]
mod webhook_tests;

pub use apply::{ApplyOptions, apply, unsubscribe_all};
pub use callback::{Callback, CallbackRequest, REDACTED_TOKEN};
pub use desired::{DesiredSubscription, desired, desired_from, sites_filter};
pub use events::{
    AVAILABILITY_CHANGES, DESPATCH_PACKAGE_DESPATCHED, DESPATCH_PACKAGE_TRACKING_NUMBER_RECEIVED,
    EventSpec, INCREMENTAL_CHANGES, RETURNS, SALES_ORDER_STATUS_CHANGES, TRACKING_NUMBER_RECEIVED,
};
pub use record::{RECORD_PK, SubscriptionRecord};
pub use report::{Action, SubscriptionLine, SubscriptionReport};
pub use subscriber::{EventSubscriber, SubscribeRequest};
