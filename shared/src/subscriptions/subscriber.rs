//! The two Peoplevox operations subscriptions need, as a port, so that the apply logic (and
//! what it does when an answer is lost) is tested without a server.

use async_trait::async_trait;
use secrecy::ExposeSecret;

use crate::peoplevox::envelope::SubscribeFields;
use crate::peoplevox::{Operation, PvxClient, PvxError};

use super::callback::CallbackRequest;

/// One subscribe, as sent.
pub struct SubscribeRequest<'a> {
    /// SubscribeEvent, SubscribePostEvent or SubscribeEventWithSitesFilters.
    pub operation: Operation,
    /// Peoplevox event type.
    pub event_type: &'a str,
    /// `filter`, or the `sitesFilter` of SubscribeEventWithSitesFilters.
    pub filter: &'a str,
    /// The callback (POST when it has `post_params`).
    pub callback: &'a CallbackRequest,
    /// `encodeParameterData`, where the tenant's WSDL declares it.
    pub encode_parameter_data: Option<bool>,
}

/// Subscribe and UnsubscribeEvent.
#[async_trait]
pub trait EventSubscriber: Send + Sync {
    /// Registers a callback and returns its id. Never repeated by the implementation once it
    /// may have reached Peoplevox.
    async fn subscribe(&self, request: &SubscribeRequest<'_>) -> Result<i64, PvxError>;

    /// Removes a subscription; `false` when Peoplevox did not have it.
    async fn unsubscribe(&self, id: i64) -> Result<bool, PvxError>;
}

#[async_trait]
impl EventSubscriber for PvxClient {
    async fn subscribe(&self, request: &SubscribeRequest<'_>) -> Result<i64, PvxError> {
        let fields = SubscribeFields {
            event_type: request.event_type,
            filter: request.filter,
            url: request.callback.url.expose_secret(),
            post_params: request.callback.post_params.as_deref(),
            encode_parameter_data: request.encode_parameter_data,
        };
        PvxClient::subscribe(self, request.operation, &fields).await
    }

    async fn unsubscribe(&self, id: i64) -> Result<bool, PvxError> {
        self.unsubscribe_event(id).await
    }
}

/// Whether a failed subscribe may nevertheless have created the subscription: its answer was
/// lost ([`PvxError::OutcomeUnknown`]), or Peoplevox answered success with a `Detail` that is
/// not an id ([`PvxError::Decode`] after the call). Anything else was refused or never sent.
pub fn may_have_subscribed(error: &PvxError) -> bool {
    error.is_outcome_unknown() || matches!(error, PvxError::Decode { .. })
}
