//! ctpvx: keeps a commercetools project and a Peoplevox warehouse in sync.
//!
//! The library holds everything the Lambdas, the local runner and the tests share:
//! - [`domain`]: pure types and rules, no I/O;
//! - [`commercetools`], [`peoplevox`]: typed API clients;
//! - [`mapping`]: pure translations between the two systems, driven by [`config`];
//! - [`store`]: ports (traits), with the `embedded` adapter (SQLite, behind the `embedded`
//!   feature) and the `aws` adapter (behind the `aws` feature);
//! - [`idempotency`]: the Powertools idempotency protocol over the idempotency port;
//! - [`invocation`], [`deadline`]: one queue batch as a Lambda runs it, under its deadline;
//! - [`flows`]: one module per flow; [`webhook`]: the HTTP ingress logic;
//! - [`setup`], [`subscriptions`], `config_check` (with `embedded`): what the operator
//!   commands bring about in, and check against, commercetools and Peoplevox.

pub mod app;
pub mod commercetools;
pub mod config;
pub mod deadline;
// Operator command only (`ctpvx check-config`); without a deployment store it counts its
// Peoplevox requests in a throwaway embedded store, so it comes with that feature.
#[cfg(feature = "embedded")]
pub mod config_check;
pub mod domain;
// SQLite: the local CLI and the tests only. The Lambdas leave it out (binary size).
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod flows;
pub mod idempotency;
pub mod invocation;
pub mod mapping;
pub mod metrics;
pub mod peoplevox;
pub mod queues;
pub mod retry;
pub mod setup;
pub mod store;
pub mod subscriptions;
pub mod webhook;

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "aws")]
pub mod lambda_init;
#[cfg(feature = "aws")]
pub mod lambda_sqs;
