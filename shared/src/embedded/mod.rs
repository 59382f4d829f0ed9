//! Embedded adapter: every port on one SQLite file, for a local run and fast tests.
//!
//! One [`EmbeddedStore`] implements [`StateStore`](crate::store::StateStore),
//! [`IdempotencyStore`](crate::store::IdempotencyStore), [`AuditLog`](crate::store::AuditLog) and
//! [`Queue`](crate::store::Queue). It follows DynamoDB's and SQS's semantics (conditional writes,
//! expiry checked in code, visibility timeout, redrive to a dead-letter queue); the contract suite
//! `tests/contract_stores.rs` holds both adapters to the same behaviour.
//!
//! Behind the `embedded` feature: the local CLI and the tests enable it; the Lambdas do not,
//! so SQLite is not compiled into them. The rules both adapters share (visibility and version
//! arithmetic, audit expiry) live in [`crate::store`].

mod audit;
mod idempotency;
mod queue;
mod sqlite;
mod state;

pub use queue::{DeadLetter, QueueSpec};
pub use sqlite::{EmbeddedOptions, EmbeddedStore};

// Kept here too for callers that configure the embedded store's retention.
pub use crate::store::DEFAULT_AUDIT_RETENTION;
