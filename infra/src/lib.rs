//! The local stack of ctpvx: API simulators, the local runner and the `ctpvx` CLI commands.

pub mod aws_emulator;
pub mod checks;
pub mod console;
pub mod local;
pub mod operator;
pub mod reconcile_scenario;
pub mod sandbox;
pub mod scenario;
pub mod shapes_scenario;
pub mod shipment_scenario;
pub mod sim;
pub mod soak;
pub mod stack;
pub mod status_scenario;
pub mod stock_scenario;
pub mod testbed;
