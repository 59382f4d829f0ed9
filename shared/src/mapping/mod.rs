//! Pure translations between commercetools and Peoplevox shapes, driven by configuration.

pub mod field_limits;
pub mod order;
pub mod pack_split;
pub mod pack_units;
pub mod routing;
pub mod sales_order_csv;
pub mod text;

pub use order::map_order;
pub use pack_units::SkuMap;
pub use sales_order_csv::{SalesOrderLayout, SalesOrderTables};
