//! What the operator commands do to a deployment's queues and stores, as library code: the
//! `ctpvx` subcommands only parse arguments and print, and the tests drive these functions
//! against the embedded store and the AWS adapters.

pub mod dlq;
pub mod order_story;

/// An epoch-ms instant as RFC 3339 (`2026-11-26T10:00:00.123Z`), or the number if it is out of
/// range: how every operator command prints audit times.
pub fn timestamp(at_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| at_ms.to_string())
}
