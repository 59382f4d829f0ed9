//! A Peoplevox sales order as ctpvx sends it: header fields by standard field name, and lines.

use super::ids::{Quantity, SalesOrderNumber, Sku};

/// One line of a sales order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesOrderLine {
    /// 1-based line number, stable for a given order (the upsert key of the line).
    pub line: u32,
    /// Peoplevox item code (after unit-of-measure mapping).
    pub item_code: Sku,
    /// Units to pick (after unit-of-measure factors).
    pub quantity: Quantity,
    /// Price per Peoplevox unit, as a decimal string, if known.
    pub sale_price: Option<String>,
    /// The commercetools line item (or custom line item) this came from.
    pub ct_line_item_id: String,
}

/// A sales order ready for the "Sales orders" and "Sales order items" templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesOrder {
    /// The upsert key in Peoplevox.
    pub number: SalesOrderNumber,
    /// The commercetools order id.
    pub ct_order_id: String,
    /// Peoplevox site the order is routed to.
    pub site: String,
    /// Header values by standard field name (tenant renames are applied when writing CSV).
    pub fields: Vec<(String, String)>,
    /// Header values for tenant-specific fields, by the tenant's field name.
    pub custom_fields: Vec<(String, String)>,
    /// Lines, in commercetools order (line items, then exported custom line items).
    pub lines: Vec<SalesOrderLine>,
    /// What a person should know about how the order was mapped: a derived number, custom
    /// lines left out, values cut or not sent. Written to the export's audit entry.
    pub notes: Vec<String>,
    /// The `shippingKey` of the Multiple-mode shipping this part of the order goes with (its
    /// deliveries need it).
    pub shipping_key: Option<String>,
}

impl SalesOrder {
    /// The value of a standard header field, if set.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}
