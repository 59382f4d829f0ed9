//! The one error type of every port.

/// A storage or queue failure.
// Clone: a failed batch call is the error of every entry in it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found a different state than required.
    #[error("conditional write failed")]
    ConditionFailed,
    /// The named queue or table does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The backend failed; worth retrying.
    #[error("store backend error: {0}")]
    Backend(String),
    /// Stored data could not be read back.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether a retry may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Backend(_))
    }
}
