//! One module per flow. A flow takes its ports and an input and returns an outcome per record;
//! the Lambdas, the local runner and the tests all call the same flow code.

pub mod activity;
pub mod batch;
pub mod item_catalog;
pub mod nightly_reconcile;
pub mod order_export;
pub mod order_status;
pub mod settle;
pub mod shipment_confirmed;
pub mod stock_delta;
