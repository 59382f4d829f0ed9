//! A commercetools order → a Peoplevox sales order, or the reason it cannot be one yet.
//!
//! Pure: SKU existence in Peoplevox is checked by the flow; everything else that decides whether
//! Peoplevox can allocate the order (lines, quantities, address, site, service) is checked here.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use super::routing::route;
use super::text::{clean_text, join_parts};
use crate::commercetools::types::{Address, Order};
use crate::config::OrderRules;
use crate::domain::{HoldReason, Quantity, SalesOrder, SalesOrderLine, SalesOrderNumber, Sku};

/// Peoplevox field length of address lines.
const ADDRESS_LINE_MAX: usize = 100;
/// Peoplevox field length of Email.
const EMAIL_MAX: usize = 500;

/// Maps an order with the configured rules.
pub fn map_order(order: &Order, rules: &OrderRules) -> Result<SalesOrder, HoldReason> {
    let number = order
        .order_number
        .as_deref()
        .ok_or_else(|| HoldReason::invalid("order has no orderNumber"))
        .and_then(|n| SalesOrderNumber::parse(n).map_err(HoldReason::invalid))?;
    let site = route(order, rules)?;
    let lines = map_lines(order, rules)?;
    let shipping = order
        .shipping_address
        .as_ref()
        .ok_or_else(|| HoldReason::invalid("order has no shippingAddress"))?;
    check_address("shippingAddress", shipping)?;
    let billing = order.billing_address.as_ref().unwrap_or(shipping);

    let mut fields: Vec<(String, String)> = Vec::with_capacity(32);
    let mut put = |name: &str, value: String| {
        if !value.is_empty() {
            fields.push((name.to_string(), value));
        }
    };
    put("SalesOrderNumber", number.to_string());
    let email = order
        .customer_email
        .as_deref()
        .map(clean_text)
        .unwrap_or_default();
    if email.chars().count() > EMAIL_MAX {
        return Err(HoldReason::invalid(format!(
            "customerEmail is longer than {EMAIL_MAX} characters"
        )));
    }
    let contact = join_parts(
        [
            shipping.first_name.as_deref(),
            shipping.last_name.as_deref(),
        ],
        " ",
    );
    put(
        "Customer",
        if email.is_empty() {
            contact.clone()
        } else {
            email.clone()
        },
    );
    // The commercetools id lets a warehouse user find the order in commercetools.
    put("CustomerPurchaseOrderReferenceNumber", order.id.clone());
    for (prefix, address) in [("ShippingAddress", shipping), ("InvoiceAddress", billing)] {
        for (suffix, value) in address_fields(address)? {
            put(&format!("{prefix}{suffix}"), value);
        }
    }
    put(
        "IsPartialShipment",
        rules.allow_partial_shipment.to_string(),
    );
    if let Some(cost) = order.shipping_info.as_ref().and_then(|s| s.price.as_ref()) {
        put("ShippingCost", cost.to_decimal_string());
    }
    put("Email", email);
    put("ContactName", contact);
    if let Some(total) = &order.total_price {
        put("TotalSale", total.to_decimal_string());
    }
    if let Some(created) = order.created_at.as_deref().and_then(import_date) {
        put("CreatedDate", created);
    }
    put("ServiceType", service_type(order, rules)?);
    let channel_name = order.store.as_ref().and_then(|s| s.key.clone());
    put(
        "ChannelName",
        clean_text(&channel_name.unwrap_or_else(|| rules.default_channel_name.clone())),
    );
    put("Site", site.clone());

    let custom_fields = custom_fields(order, rules);
    Ok(SalesOrder {
        number,
        ct_order_id: order.id.clone(),
        site,
        fields,
        custom_fields,
        lines,
    })
}

fn map_lines(order: &Order, rules: &OrderRules) -> Result<Vec<SalesOrderLine>, HoldReason> {
    if order.line_items.is_empty() {
        return Err(HoldReason::invalid("order has no line items"));
    }
    let mut lines = Vec::with_capacity(order.line_items.len());
    for (index, item) in order.line_items.iter().enumerate() {
        let sku = item
            .variant
            .sku
            .as_deref()
            .ok_or_else(|| HoldReason::invalid(format!("line item {} has no SKU", item.id)))?;
        let ct_sku = Sku::parse(sku)
            .map_err(|e| HoldReason::invalid(format!("line item {}: {e}", item.id)))?;
        let quantity = Quantity::new(item.quantity)
            .map_err(|e| HoldReason::invalid(format!("line item {} ({sku}): {e}", item.id)))?;
        let uom = rules.units_of_measure.get(ct_sku.as_str());
        let (item_code, factor) = match uom {
            Some(u) => {
                let code = u.item_code.as_deref().unwrap_or(sku);
                let code = Sku::parse(code)
                    .map_err(|e| HoldReason::invalid(format!("units_of_measure for {sku}: {e}")))?;
                (code, u.factor)
            }
            None => (ct_sku, 1),
        };
        let quantity = quantity
            .times(factor)
            .map_err(|e| HoldReason::invalid(format!("line item {} ({sku}): {e}", item.id)))?;
        let sale_price = item.price.as_ref().map(|p| {
            let mut unit = p.value.clone();
            // A pack's price spreads over its units, rounded to the currency's minor unit.
            unit.cent_amount = (unit.cent_amount as f64 / f64::from(factor)).round() as i64;
            unit.to_decimal_string()
        });
        lines.push(SalesOrderLine {
            line: (index + 1) as u32,
            item_code,
            quantity,
            sale_price,
            ct_line_item_id: item.id.clone(),
        });
    }
    Ok(lines)
}

fn check_address(which: &str, a: &Address) -> Result<(), HoldReason> {
    if a.country.trim().len() != 2 {
        return Err(HoldReason::invalid(format!(
            "{which}.country `{}` is not an ISO 3166-1 alpha-2 code",
            a.country
        )));
    }
    if a.street_name.as_deref().is_none_or(|s| s.trim().is_empty())
        && a.po_box.as_deref().is_none_or(|s| s.trim().is_empty())
    {
        return Err(HoldReason::invalid(format!(
            "{which} has neither streetName nor pOBox"
        )));
    }
    if a.city.as_deref().is_none_or(|s| s.trim().is_empty()) {
        return Err(HoldReason::invalid(format!("{which}.city is missing")));
    }
    Ok(())
}

/// Line1..Reference of one address, cleaned and length-checked.
fn address_fields(a: &Address) -> Result<Vec<(&'static str, String)>, HoldReason> {
    let line1 = match join_parts([a.street_number.as_deref(), a.street_name.as_deref()], " ") {
        s if s.is_empty() => join_parts(
            [a.po_box.as_deref().map(|_| "PO Box"), a.po_box.as_deref()],
            " ",
        ),
        s => s,
    };
    let line2 = join_parts(
        [
            a.company.as_deref(),
            a.apartment.as_deref(),
            a.building.as_deref(),
            a.additional_street_info.as_deref(),
        ],
        ", ",
    );
    let region = join_parts([a.region.as_deref().or(a.state.as_deref())], "");
    let fields = vec![
        ("Line1", line1),
        ("Line2", line2),
        ("City", join_parts([a.city.as_deref()], "")),
        ("Region", region),
        ("Postcode", join_parts([a.postal_code.as_deref()], "")),
        ("Country", a.country.trim().to_ascii_uppercase()),
        ("Reference", join_parts([a.key.as_deref()], "")),
    ];
    for (name, value) in &fields {
        if value.chars().count() > ADDRESS_LINE_MAX {
            return Err(HoldReason::invalid(format!(
                "address {name} is longer than {ADDRESS_LINE_MAX} characters"
            )));
        }
    }
    Ok(fields)
}

fn service_type(order: &Order, rules: &OrderRules) -> Result<String, HoldReason> {
    let method = order
        .shipping_info
        .as_ref()
        .and_then(|s| s.shipping_method_name.as_deref());
    method
        .and_then(|m| rules.shipping_methods.get(m))
        .or(rules.default_service_type.as_ref())
        .cloned()
        .ok_or_else(|| {
            HoldReason::invalid(format!(
                "shipping method `{}` has no Peoplevox service type and no default_service_type is set",
                method.unwrap_or("(none)")
            ))
        })
}

fn custom_fields(order: &Order, rules: &OrderRules) -> Vec<(String, String)> {
    let Some(custom) = &order.custom else {
        return Vec::new();
    };
    rules
        .custom_fields
        .iter()
        .filter_map(|(ct_name, pvx_field)| {
            let value = match custom.fields.get(ct_name)? {
                serde_json::Value::String(s) => clean_text(s),
                serde_json::Value::Null => return None,
                other => clean_text(&other.to_string()),
            };
            (!value.is_empty()).then(|| (pvx_field.clone(), value))
        })
        .collect()
}

/// commercetools `createdAt` (RFC 3339) → Peoplevox import format `yyyy-MM-dd HH:mm:ss` (UTC).
fn import_date(created_at: &str) -> Option<String> {
    let at = time::OffsetDateTime::parse(created_at, &Rfc3339).ok()?;
    at.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .ok()
}

#[cfg(test)]
mod tests;
