//! Pure types and rules, no I/O. A value of these types is valid: parse, don't validate.

pub mod decimal;
pub mod despatch;
pub mod hold;
pub mod ids;
pub mod sales_order;
pub mod shipment;
pub mod status;
pub mod status_message;
pub mod stock;

pub use decimal::Decimal;
pub use despatch::{Despatch, Package};
pub use hold::HoldReason;
pub use ids::{Quantity, SalesOrderNumber, Sku};
pub use sales_order::{SalesOrder, SalesOrderLine};
pub use shipment::{SHIPMENT_EVENTS, ShipmentMessage};
pub use status_message::{STATUS_EVENTS, StatusMessage};
pub use stock::{StockMessage, StockWrite, plan_write, sellable};
