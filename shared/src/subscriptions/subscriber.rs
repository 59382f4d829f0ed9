//! The two Peoplevox operations subscriptions need, as a port, so that the apply logic (and
//! what it does when an answer is lost) is tested without a server.

use async_trait::async_trait;
use secrecy::ExposeSecret;

use crate::peoplevox::{PvxClient, PvxError};

use super::callback::CallbackRequest;

/// SubscribeEvent / SubscribePostEvent and UnsubscribeEvent.
#[async_trait]
pub trait EventSubscriber: Send + Sync {
    /// Registers a callback (POST when the request has `post_params`) and returns its id.
    /// Never repeated by the implementation once it may have reached Peoplevox.
    async fn subscribe(
        &self,
        event_type: &str,
        filter: &str,
        request: &CallbackRequest,
    ) -> Result<i64, PvxError>;

    /// Removes a subscription; `false` when Peoplevox did not have it.
    async fn unsubscribe(&self, id: i64) -> Result<bool, PvxError>;
}

#[async_trait]
impl EventSubscriber for PvxClient {
    async fn subscribe(
        &self,
        event_type: &str,
        filter: &str,
        request: &CallbackRequest,
    ) -> Result<i64, PvxError> {
        let url = request.url.expose_secret();
        match &request.post_params {
            Some(params) => {
                self.subscribe_post_event(event_type, filter, url, params)
                    .await
            }
            None => self.subscribe_event(event_type, filter, url).await,
        }
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
