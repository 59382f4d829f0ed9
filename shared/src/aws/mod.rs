//! AWS adapters: DynamoDB and SQS implementations of the ports, Secrets Manager loading, the
//! S3 configuration store ([`config_store`]), and
//! provisioning helpers for tests against an emulator and for local tooling.
//!
//! Table layouts (names are Powertools' where Powertools defines them):
//! - idempotency: pk `id` (S); `status`, `expiration` (N, s, TTL), `in_progress_expiration`
//!   (N, ms), `data`, `validation`;
//! - state: pk `pk` (S) + sk `sk` (S); `data` (S), `version` (N), `expiration` (N, s, TTL);
//! - audit: pk `pk` (S) = entity, sk `sk` (S) = zero-padded `at_ms` + `#` + uuid; `entry` (S,
//!   JSON), `expiration` (N, s, TTL).
//!
//! Expiry is checked in every read and condition: TTL deletion can lag by days.

mod attr;
mod audit;
pub mod config_store;
mod error;
mod idempotency;
pub mod provision;
mod queue;
pub mod secrets;
mod state;
mod unprocessed;

pub use audit::DynamoAuditLog;
pub use idempotency::DynamoIdempotencyStore;
pub use queue::SqsQueue;
pub use state::DynamoStateStore;

// The SDK crates, so that binaries and tests build clients with the very versions used here.
pub use aws_config;
pub use aws_sdk_dynamodb;
pub use aws_sdk_s3;
pub use aws_sdk_secretsmanager;
pub use aws_sdk_sqs;
