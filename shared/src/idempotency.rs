//! The Powertools idempotency protocol, over the [`IdempotencyStore`] port.
//!
//! One record per key: INPROGRESS while a worker holds it (until `in_progress_expiration`, the
//! holder's deadline), COMPLETED with the stored result afterwards (until `expiration`). A
//! failed attempt deletes its record so that a retry can run. Expiry is checked in code, never
//! left to TTL deletion. Keys are `<function>#<md5(key)>`, as Powertools builds them.

use std::sync::Arc;
use std::time::Duration;

use md5::{Digest, Md5};

use crate::store::{
    IdempotencyRecord, IdempotencyStatus, IdempotencyStore, PutInProgress, StoreError,
    now_epoch_ms, now_epoch_s,
};

/// What the caller may do with a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller holds the key. `recovering` is true when a previous holder ran out of time
    /// (crashed or timed out) while INPROGRESS: its side effects may or may not have happened.
    Acquired {
        /// A previous attempt may have done part of the work.
        recovering: bool,
    },
    /// The work is already done; its stored result.
    AlreadyCompleted(Option<String>),
    /// Another worker holds the key and is still within its time (Powertools'
    /// `IdempotencyAlreadyInProgressError`): retry later.
    InProgressElsewhere,
}

/// Idempotency failures, named as Powertools names them.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    /// The store failed.
    #[error("idempotency store: {0}")]
    Store(#[from] StoreError),
    /// The record changed between the conditional put and its check, twice in a row.
    #[error("idempotency record for {0} is in an inconsistent state")]
    InconsistentState(String),
}

/// The protocol for one function.
#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn IdempotencyStore>,
    function: String,
    expires_after: Duration,
}

/// Attempts of the put-and-check cycle before giving up (Powertools MAX_RETRIES = 2).
const MAX_ATTEMPTS: usize = 3;

impl Idempotency {
    /// The protocol for `function`, keeping COMPLETED records for `expires_after`.
    pub fn new(store: Arc<dyn IdempotencyStore>, function: &str, expires_after: Duration) -> Self {
        Self {
            store,
            function: function.to_string(),
            expires_after,
        }
    }

    /// The stored record id of a business key.
    pub fn record_id(&self, key: &str) -> String {
        format!(
            "{}#{}",
            self.function,
            hex::encode(Md5::digest(key.as_bytes()))
        )
    }

    /// Tries to take `key` until `deadline_ms` (epoch ms: the holder's own time limit).
    pub async fn claim(&self, key: &str, deadline_ms: i64) -> Result<Claim, IdempotencyError> {
        let id = self.record_id(key);
        for _ in 0..MAX_ATTEMPTS {
            let (now_s, now_ms) = (now_epoch_s(), now_epoch_ms());
            let record = IdempotencyRecord {
                id: id.clone(),
                status: IdempotencyStatus::InProgress,
                expiration: now_s + self.expires_after.as_secs() as i64,
                in_progress_expiration: Some(deadline_ms),
                data: None,
                validation: None,
            };
            match self.store.put_in_progress(&record, now_s, now_ms).await? {
                PutInProgress::Acquired { previous } => {
                    let recovering = previous.is_some_and(|p| {
                        p.status == IdempotencyStatus::InProgress && p.expiration >= now_s
                    });
                    return Ok(Claim::Acquired { recovering });
                }
                PutInProgress::Exists(existing) => {
                    if existing.expiration < now_s {
                        // Expired between the condition and now: put again.
                        continue;
                    }
                    match existing.status {
                        IdempotencyStatus::Completed => {
                            return Ok(Claim::AlreadyCompleted(existing.data));
                        }
                        IdempotencyStatus::InProgress => {
                            if existing.in_progress_expiration.is_some_and(|t| t < now_ms) {
                                continue;
                            }
                            return Ok(Claim::InProgressElsewhere);
                        }
                    }
                }
            }
        }
        Err(IdempotencyError::InconsistentState(id))
    }

    /// Whether a worker holds `key` now (INPROGRESS within its holder's time). Read only: what
    /// another flow asks before it acts on something this one may be changing.
    pub async fn in_progress(&self, key: &str) -> Result<bool, IdempotencyError> {
        let record = self.store.get(&self.record_id(key)).await?;
        let (now_s, now_ms) = (now_epoch_s(), now_epoch_ms());
        Ok(record.is_some_and(|r| {
            r.status == IdempotencyStatus::InProgress
                && r.expiration >= now_s
                && r.in_progress_expiration.is_none_or(|t| t >= now_ms)
        }))
    }

    /// Records success with its result.
    pub async fn complete(&self, key: &str, result: &str) -> Result<(), IdempotencyError> {
        let expiration = now_epoch_s() + self.expires_after.as_secs() as i64;
        Ok(self
            .store
            .save_success(&self.record_id(key), result, expiration)
            .await?)
    }

    /// Gives the key up after a failure, so that a retry can run.
    pub async fn release(&self, key: &str) -> Result<(), IdempotencyError> {
        Ok(self.store.delete(&self.record_id(key)).await?)
    }
}
