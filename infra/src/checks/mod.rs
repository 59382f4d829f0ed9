//! Invariant checks that compare the two simulated systems directly, never the workers'
//! counters: what the demo, the benchmarks and the tests report.

pub mod hard_cases;
pub mod shapes;
pub mod shipments;
pub mod status;
pub mod stock;
