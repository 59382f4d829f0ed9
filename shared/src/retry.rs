//! The retry policy shared by the API clients: exponential backoff with jitter.

use std::time::Duration;

use backon::ExponentialBuilder;

/// Exponential backoff from 100 ms, doubling up to 5 s, with jitter, for `max_retries` retries.
pub fn backoff(max_retries: u32) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(5))
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(max_retries as usize)
}
