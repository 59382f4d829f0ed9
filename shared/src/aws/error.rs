//! Mapping of AWS SDK errors onto [`StoreError`].

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::store::StoreError;

/// Error codes that mean "the table, queue, secret or object does not exist".
const NOT_FOUND_CODES: &[&str] = &[
    "ResourceNotFoundException",
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
    // S3: GetObject of a missing key, and HeadObject (whose answer has no body to name it).
    "NoSuchKey",
    "NotFound",
];

/// Classifies an SDK error: missing resources are `NotFound`, everything else `Backend`.
/// Conditional-check failures are matched by the callers, where the typed variant is at hand.
pub(super) fn sdk_error<E, R>(what: &str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if err.code().is_some_and(|c| NOT_FOUND_CODES.contains(&c)) {
        return StoreError::NotFound(format!("{what}: {}", err.message().unwrap_or("not found")));
    }
    StoreError::Backend(format!("{what}: {}", DisplayErrorContext(&err)))
}
