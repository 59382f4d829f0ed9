//! What a DynamoDB batch call leaves unprocessed (throttling) is asked again after a backoff.

use backon::BackoffBuilder;

use crate::store::StoreError;

/// The pauses between rounds of one batch call (the project's retry policy).
pub(super) struct Rounds(backon::ExponentialBackoff);

impl Rounds {
    pub(super) fn new() -> Self {
        Self(crate::retry::backoff(8).build())
    }

    /// Waits before the next round for `left` unprocessed elements; `Err` naming `what` once
    /// the retries are spent.
    pub(super) async fn pause(&mut self, what: &str, left: usize) -> Result<(), StoreError> {
        let Some(delay) = self.0.next() else {
            return Err(StoreError::Backend(format!(
                "{what}: {left} still unprocessed after retries"
            )));
        };
        tokio::time::sleep(delay).await;
        Ok(())
    }
}
