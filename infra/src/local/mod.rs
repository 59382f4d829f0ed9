//! The local runner: the webhook ingress on an HTTP server and the queue workers, on the
//! embedded store, wired exactly as the Lambdas are (same flow code, same settle rules).

pub mod drain;
pub mod lambda_limits;
pub mod runtime_api;
pub mod server;
pub mod stack;
pub mod worker;

pub use stack::{LocalStack, StackOptions};
