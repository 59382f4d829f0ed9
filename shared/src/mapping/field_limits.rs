//! How long each Peoplevox sales order field may be, in one place, and the check every mapped
//! order passes before it is sent.
//!
//! Source: zynksoftware/Zynk-Workflow, `_docs/Peoplevox-Connector/Peoplevox-Sales-Order-XML.md`
//! (the standard "Sales orders" and "Sales order items" templates: `string(N)` per field).
//! `Site` and tenant fields such as `Notes` are not in that table: no length is known for them.

use crate::domain::{HoldReason, SalesOrder};

/// `string(N)` of the "Sales orders" fields (standard names).
pub const SALES_ORDER_LIMITS: &[(&str, usize)] = &[
    ("SalesOrderNumber", 30),
    ("Customer", 50),
    ("CustomerPurchaseOrderReferenceNumber", 50),
    ("ShippingAddressLine1", 100),
    ("ShippingAddressLine2", 100),
    ("ShippingAddressCity", 100),
    ("ShippingAddressRegion", 100),
    ("ShippingAddressPostcode", 100),
    ("ShippingAddressCountry", 100),
    ("ShippingAddressReference", 100),
    ("InvoiceAddressLine1", 100),
    ("InvoiceAddressLine2", 100),
    ("InvoiceAddressCity", 100),
    ("InvoiceAddressRegion", 100),
    ("InvoiceAddressPostcode", 100),
    ("InvoiceAddressCountry", 100),
    ("InvoiceAddressReference", 100),
    ("Status", 50),
    ("RequestedDeliveryDate", 19),
    ("Email", 500),
    ("ContactName", 100),
    ("CreatedDate", 19),
    ("ServiceType", 100),
    ("ChannelName", 50),
];

/// `string(N)` of the "Sales order items" fields (standard names).
pub const SALES_ORDER_ITEM_LIMITS: &[(&str, usize)] = &[
    ("SalesOrderNumber", 30),
    ("ItemCode", 50),
    ("RequestedDeliveryDate", 19),
    ("Line", 16),
];

/// The length limit of a "Sales orders" field, if Peoplevox documents one.
pub fn limit(field: &str) -> Option<usize> {
    find(SALES_ORDER_LIMITS, field)
}

/// The length limit of a "Sales order items" field, if Peoplevox documents one.
pub fn item_limit(field: &str) -> Option<usize> {
    find(SALES_ORDER_ITEM_LIMITS, field)
}

fn find(table: &[(&str, usize)], field: &str) -> Option<usize> {
    table.iter().find(|(f, _)| *f == field).map(|(_, n)| *n)
}

/// Length as Peoplevox counts it: characters.
pub fn length(value: &str) -> usize {
    value.chars().count()
}

/// `value` cut to at most `max` characters, trailing spaces dropped.
pub fn cut(value: &str, max: usize) -> String {
    value
        .chars()
        .take(max)
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// Holds an order any of whose fields is longer than Peoplevox takes, naming the field. The
/// mapping fits every field it knows; this is the guarantee that nothing longer is ever sent.
pub fn check(order: &SalesOrder) -> Result<(), HoldReason> {
    let over = |field: &str, value: &str, max: Option<usize>| {
        max.filter(|max| length(value) > *max).map(|max| {
            HoldReason::invalid(format!(
                "{field} would be {} characters; Peoplevox takes at most {max}",
                length(value)
            ))
        })
    };
    let header = order
        .fields
        .iter()
        .chain(&order.custom_fields)
        .find_map(|(field, value)| over(field, value, limit(field)));
    if let Some(reason) = header {
        return Err(reason);
    }
    for line in &order.lines {
        let fields = [
            ("ItemCode", line.item_code.to_string()),
            ("Line", line.line.to_string()),
        ];
        if let Some(reason) = fields
            .iter()
            .find_map(|(field, value)| over(field, value, item_limit(field)))
        {
            return Err(reason);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Quantity, SalesOrderLine, SalesOrderNumber, Sku};

    fn order(fields: &[(&str, &str)], item_code: &str) -> SalesOrder {
        SalesOrder {
            number: SalesOrderNumber::parse("N1").unwrap(),
            ct_order_id: "o".into(),
            site: "S".into(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            custom_fields: Vec::new(),
            lines: vec![SalesOrderLine {
                line: 1,
                item_code: Sku::parse(item_code).unwrap(),
                quantity: Quantity::new(1).unwrap(),
                sale_price: None,
                ct_line_item_id: "li".into(),
            }],
            notes: Vec::new(),
            shipping_key: None,
        }
    }

    #[test]
    fn every_documented_field_is_checked_by_name() {
        assert!(check(&order(&[("Customer", &"c".repeat(50))], "A")).is_ok());
        let e = check(&order(&[("Customer", &"c".repeat(51))], "A")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Customer would be 51 characters; Peoplevox takes at most 50"
        );
        let e = check(&order(&[("ChannelName", &"c".repeat(51))], "A")).unwrap_err();
        assert!(e.to_string().starts_with("ChannelName"), "{e}");
        let e = check(&order(&[], &"I".repeat(51))).unwrap_err();
        assert!(e.to_string().starts_with("ItemCode would be 51"), "{e}");
        // No length is documented for tenant fields such as Notes.
        assert!(check(&order(&[("Notes", &"n".repeat(5000))], "A")).is_ok());
    }

    #[test]
    fn cuts_count_characters_not_bytes() {
        assert_eq!(cut("Müller GmbH", 6), "Müller");
        assert_eq!(cut("ab cd", 3), "ab");
    }
}
