//! Embedded adapter: every port on one SQLite file, for a local run and fast tests.
//!
//! One [`EmbeddedStore`] implements [`StateStore`](crate::store::StateStore),
//! [`IdempotencyStore`](crate::store::IdempotencyStore), [`AuditLog`](crate::store::AuditLog) and
//! [`Queue`](crate::store::Queue). It follows DynamoDB's and SQS's semantics (conditional writes,
//! expiry checked in code, visibility timeout, redrive to a dead-letter queue); the contract suite
//! `tests/contract_stores.rs` holds both adapters to the same behaviour.

mod audit;
mod idempotency;
mod queue;
mod sqlite;
mod state;

pub use audit::DEFAULT_AUDIT_RETENTION;
pub use queue::{DeadLetter, QueueSpec};
pub use sqlite::{EmbeddedOptions, EmbeddedStore};

// Shared with the AWS adapters, so both sides round and expire the same way.
#[cfg_attr(not(feature = "aws"), allow(unused_imports))]
pub(crate) use audit::audit_expiration;
#[cfg_attr(not(feature = "aws"), allow(unused_imports))]
pub(crate) use queue::{MAX_RECEIVE_BATCH, visibility_seconds};
#[cfg_attr(not(feature = "aws"), allow(unused_imports))]
pub(crate) use state::next_version;
