//! What the operator commands do to a deployment's queues and stores, as library code: the
//! `ctpvx` subcommands only parse arguments and print, and the tests drive these functions
//! against the embedded store and the AWS adapters.

pub mod dlq;
