//! Sales orders → the CSV of the "Sales orders" and "Sales order items" templates.
//!
//! The CSV header is the tenant's template header exactly as GetSaveTemplate returns it (field
//! names can be renamed per tenant), so the layout is built from that header plus the
//! configured renames, and checked once at start.

use crate::config::PeoplevoxConfig;
use crate::domain::SalesOrder;
use crate::peoplevox::csv_table::CsvTable;

/// Standard "Sales orders" header of a tenant that renamed nothing.
pub const DEFAULT_SALES_ORDER_FIELDS: &[&str] = &[
    "SalesOrderNumber",
    "Customer",
    "CustomerPurchaseOrderReferenceNumber",
    "ShippingAddressLine1",
    "ShippingAddressLine2",
    "ShippingAddressCity",
    "ShippingAddressRegion",
    "ShippingAddressPostcode",
    "ShippingAddressCountry",
    "ShippingAddressReference",
    "InvoiceAddressLine1",
    "InvoiceAddressLine2",
    "InvoiceAddressCity",
    "InvoiceAddressRegion",
    "InvoiceAddressPostcode",
    "InvoiceAddressCountry",
    "InvoiceAddressReference",
    "IsPartialShipment",
    "Status",
    "RequestedDeliveryDate",
    "ShippingCost",
    "Email",
    "ContactName",
    "TotalSale",
    "Discount",
    "TaxPaid",
    "CreatedDate",
    "PaymentMethod",
    "ServiceType",
    "ChannelName",
    "Site",
    "Notes",
];

/// Standard "Sales order items" header.
pub const DEFAULT_SALES_ORDER_ITEM_FIELDS: &[&str] = &[
    "SalesOrderNumber",
    "ItemCode",
    "QuantityOrdered",
    "RequestedDeliveryDate",
    "Line",
    "Sequence",
    "SalePrice",
];

/// Fields without which Peoplevox cannot allocate and ship an order.
const REQUIRED_ORDER_FIELDS: &[&str] = &[
    "SalesOrderNumber",
    "ShippingAddressLine1",
    "ShippingAddressCity",
    "ShippingAddressCountry",
    "ServiceType",
];
const REQUIRED_ITEM_FIELDS: &[&str] = &["SalesOrderNumber", "ItemCode", "QuantityOrdered", "Line"];

/// Where each value goes in the tenant's two templates.
#[derive(Debug, Clone)]
pub struct SalesOrderLayout {
    orders_header: Vec<String>,
    items_header: Vec<String>,
    /// (standard name, column) for every standard field the tenant's header has.
    order_columns: Vec<(String, usize)>,
    item_columns: ItemColumns,
    /// Standard fields ctpvx can fill that this tenant's template does not have.
    pub unused_fields: Vec<String>,
}

#[derive(Debug, Clone)]
struct ItemColumns {
    number: usize,
    item_code: usize,
    quantity: usize,
    line: usize,
    sequence: Option<usize>,
    sale_price: Option<usize>,
}

/// The CSV of one SaveData pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesOrderTables {
    /// "Sales orders" rows, one per order.
    pub orders: CsvTable,
    /// "Sales order items" rows, one per line.
    pub items: CsvTable,
}

fn column_of(header: &[String], name: &str) -> Option<usize> {
    header.iter().position(|h| h == name)
}

impl SalesOrderLayout {
    /// The layout of a tenant that uses the standard headers (no network needed).
    pub fn standard(config: &PeoplevoxConfig, custom_fields: &[String]) -> Result<Self, String> {
        let rename = |template: &str, f: &&str| config.field_name(template, f).to_string();
        let mut orders: Vec<String> = DEFAULT_SALES_ORDER_FIELDS
            .iter()
            .map(|f| rename(&config.templates.sales_orders, f))
            .collect();
        for custom in custom_fields {
            if !orders.contains(custom) {
                orders.push(custom.clone());
            }
        }
        let items = DEFAULT_SALES_ORDER_ITEM_FIELDS
            .iter()
            .map(|f| rename(&config.templates.sales_order_items, f))
            .collect();
        Self::from_headers(config, orders, items, custom_fields)
    }

    /// Builds the layout from the tenant's headers (from GetSaveTemplate) and checks that every
    /// required field and every configured custom field is there.
    pub fn from_headers(
        config: &PeoplevoxConfig,
        orders_header: Vec<String>,
        items_header: Vec<String>,
        custom_fields: &[String],
    ) -> Result<Self, String> {
        let orders_template = &config.templates.sales_orders;
        let items_template = &config.templates.sales_order_items;
        let mut order_columns = Vec::new();
        let mut unused_fields = Vec::new();
        for standard in DEFAULT_SALES_ORDER_FIELDS {
            let name = config.field_name(orders_template, standard);
            match column_of(&orders_header, name) {
                Some(col) => order_columns.push((standard.to_string(), col)),
                None if REQUIRED_ORDER_FIELDS.contains(standard) => {
                    return Err(format!(
                        "Peoplevox template \"{orders_template}\" has no field `{name}` (standard `{standard}`); \
                         set peoplevox.field_names.\"{orders_template}\".{standard} to the tenant's name"
                    ));
                }
                None => unused_fields.push(standard.to_string()),
            }
        }
        for custom in custom_fields {
            if column_of(&orders_header, custom).is_none() {
                return Err(format!(
                    "Peoplevox template \"{orders_template}\" has no field `{custom}` named in orders.custom_fields"
                ));
            }
        }
        let item_col = |standard: &str| {
            let name = config.field_name(items_template, standard);
            column_of(&items_header, name)
        };
        for standard in REQUIRED_ITEM_FIELDS {
            if item_col(standard).is_none() {
                return Err(format!(
                    "Peoplevox template \"{items_template}\" has no field `{}` (standard `{standard}`)",
                    config.field_name(items_template, standard)
                ));
            }
        }
        let required = |s: &str| item_col(s).unwrap_or_default();
        let item_columns = ItemColumns {
            number: required("SalesOrderNumber"),
            item_code: required("ItemCode"),
            quantity: required("QuantityOrdered"),
            line: required("Line"),
            sequence: item_col("Sequence"),
            sale_price: item_col("SalePrice"),
        };
        Ok(Self {
            orders_header,
            items_header,
            order_columns,
            item_columns,
            unused_fields,
        })
    }

    /// Whether the tenant's "Sales orders" header has this field (a tenant field name).
    pub fn has_order_field(&self, name: &str) -> bool {
        column_of(&self.orders_header, name).is_some()
    }

    /// Leaves out the tenant fields of `order` that this tenant's template lacks (the delivery
    /// note's default field, `Notes`, is not in the standard template: Zynk
    /// `Peoplevox-Sales-Order-XML.md`), each with a note, so that nothing is dropped untraced.
    pub fn fit(&self, order: &mut SalesOrder) {
        let (kept, missing): (Vec<_>, Vec<_>) = std::mem::take(&mut order.custom_fields)
            .into_iter()
            .partition(|(name, _)| self.has_order_field(name));
        order.custom_fields = kept;
        for (name, value) in missing {
            order.notes.push(format!(
                "{name} ({} characters) not sent: the tenant's \"Sales orders\" template has no \
                 field `{name}`",
                value.chars().count()
            ));
        }
    }

    /// Writes the two tables for a batch of orders.
    pub fn tables(&self, orders: &[SalesOrder]) -> SalesOrderTables {
        let mut header_table = CsvTable::new(self.orders_header.clone());
        let mut items_table = CsvTable::new(self.items_header.clone());
        for order in orders {
            let mut row = vec![String::new(); self.orders_header.len()];
            for (standard, col) in &self.order_columns {
                if let Some(value) = order.field(standard) {
                    row[*col] = value.to_string();
                }
            }
            for (name, value) in &order.custom_fields {
                if let Some(col) = column_of(&self.orders_header, name) {
                    row[col] = value.clone();
                }
            }
            header_table.rows.push(row);
            for line in &order.lines {
                let c = &self.item_columns;
                let mut row = vec![String::new(); self.items_header.len()];
                row[c.number] = order.number.to_string();
                row[c.item_code] = line.item_code.to_string();
                row[c.quantity] = line.quantity.get().to_string();
                row[c.line] = line.line.to_string();
                if let Some(col) = c.sequence {
                    row[col] = line.line.to_string();
                }
                if let (Some(col), Some(price)) = (c.sale_price, &line.sale_price) {
                    row[col] = price.clone();
                }
                items_table.rows.push(row);
            }
        }
        SalesOrderTables {
            orders: header_table,
            items: items_table,
        }
    }
}
