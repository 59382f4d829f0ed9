//! A commercetools order → a Peoplevox sales order, or the reason it cannot be one yet.
//!
//! Pure: SKU existence in Peoplevox is checked by the flow; everything else that decides whether
//! Peoplevox can allocate the order (number, destination, lines, prices, address, site,
//! service) is decided here. Every field is fitted to its Peoplevox length
//! ([`super::field_limits`]); what had to be cut or left out is said in [`SalesOrder::notes`].

mod address;
mod destinations;
mod lines;
pub mod number;
mod price;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use self::address::{Which, address_fields};
use super::field_limits::{self, cut, length, limit};
use super::routing::route;
use super::text::{clean_text, join_parts};
use crate::commercetools::types::{Address, Order};
use crate::config::OrderRules;
use crate::domain::{HoldReason, SalesOrder};

/// Separator of several values sent in one Peoplevox field (a delivery note and a gift
/// message both mapped to Notes).
const JOIN: &str = " | ";

/// Maps an order with the configured rules.
pub fn map_order(order: &Order, rules: &OrderRules) -> Result<SalesOrder, HoldReason> {
    let mut notes = Vec::new();
    let shipping = destinations::single_destination(order)?;
    check_address("shippingAddress", shipping)?;
    let site = route(order, rules)?;
    let digits = price::currency_digits(order);
    let lines = lines::map_lines(order, rules, digits, &mut notes)?;
    let billing = order.billing_address.as_ref().unwrap_or(shipping);

    let mut fields: Vec<(String, String)> = Vec::with_capacity(32);
    let mut put = |name: &str, value: String| {
        if !value.is_empty() {
            fields.push((name.to_string(), value));
        }
    };
    let email = order
        .customer_email
        .as_deref()
        .map(clean_text)
        .unwrap_or_default();
    let email_max = limit("Email").unwrap_or(500);
    if length(&email) > email_max {
        return Err(HoldReason::invalid(format!(
            "customerEmail is longer than {email_max} characters, the most Email takes"
        )));
    }
    let contact = join_parts(
        [
            shipping.first_name.as_deref(),
            shipping.last_name.as_deref(),
        ],
        " ",
    );
    let contact = fit(
        "ContactName",
        contact,
        "shippingAddress first and last name",
        &mut notes,
    );
    put("Customer", customer(&email, &contact, &mut notes));
    // The commercetools id lets a warehouse user find the order in commercetools.
    put("CustomerPurchaseOrderReferenceNumber", order.id.clone());
    let shipping_which = Which {
        ct_name: "shippingAddress",
        prefix: "ShippingAddress",
        carrier: true,
    };
    let billing_which = Which {
        ct_name: if order.billing_address.is_some() {
            "billingAddress"
        } else {
            "shippingAddress (as billing address)"
        },
        prefix: "InvoiceAddress",
        carrier: false,
    };
    for (which, address) in [(shipping_which, shipping), (billing_which, billing)] {
        for (name, value) in address_fields(address, &which, &mut notes)? {
            put(&name, value);
        }
    }
    put(
        "IsPartialShipment",
        rules.allow_partial_shipment.to_string(),
    );
    let money = |r: Result<Option<String>, String>| r.map_err(HoldReason::invalid);
    if let Some(cost) = money(price::shipping_cost(order, digits))? {
        put("ShippingCost", cost);
    }
    put("Email", email);
    put("ContactName", contact);
    if let Some(total) = &order.total_price {
        let total = price::amount(total, digits, "totalPrice").map_err(HoldReason::invalid)?;
        put("TotalSale", total);
    }
    if let Some(discount) = money(price::order_discount(order, digits))? {
        put("Discount", discount);
    }
    if let Some(created) = order.created_at.as_deref().and_then(import_date) {
        put("CreatedDate", created);
    }
    put("ServiceType", service_type(order, rules)?);
    let channel_name = order.store.as_ref().and_then(|s| s.key.clone());
    let channel_name =
        clean_text(&channel_name.unwrap_or_else(|| rules.default_channel_name.clone()));
    put(
        "ChannelName",
        fit("ChannelName", channel_name, "the store key", &mut notes),
    );
    put("Site", site.clone());

    let custom_fields = custom_fields(order, shipping, rules, &mut notes);
    // Last: an order with another problem says that one, not "waiting for a number".
    let chosen = number::choose(order, &rules.numbering)?;
    notes.extend(chosen.note);
    fields.insert(0, ("SalesOrderNumber".into(), chosen.number.to_string()));
    let sales_order = SalesOrder {
        number: chosen.number,
        ct_order_id: order.id.clone(),
        site,
        fields,
        custom_fields,
        lines,
        notes,
    };
    field_limits::check(&sales_order)?;
    Ok(sales_order)
}

/// `value` cut to the field's length, with a note when it was longer.
fn fit(field: &str, value: String, what: &str, notes: &mut Vec<String>) -> String {
    match limit(field) {
        Some(max) if length(&value) > max => {
            notes.push(format!(
                "{field} ({what}) cut to {max} of {} characters",
                length(&value)
            ));
            cut(&value, max)
        }
        _ => value,
    }
}

/// Customer (`string(50)`): the e-mail when it fits, else the contact name.
fn customer(email: &str, contact: &str, notes: &mut Vec<String>) -> String {
    let max = limit("Customer").unwrap_or(50);
    if !email.is_empty() && length(email) <= max {
        return email.to_string();
    }
    let what = if email.is_empty() {
        "the contact name"
    } else {
        "the contact name, as the e-mail is longer than 50 characters"
    };
    fit("Customer", contact.to_string(), what, notes)
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

fn service_type(order: &Order, rules: &OrderRules) -> Result<String, HoldReason> {
    let method = order
        .shipping_info
        .as_ref()
        .and_then(|s| s.shipping_method_name.as_deref());
    let service = method
        .and_then(|m| rules.shipping_methods.get(m))
        .or(rules.default_service_type.as_ref())
        .cloned()
        .ok_or_else(|| {
            HoldReason::invalid(format!(
                "shipping method `{}` has no Peoplevox service type and no default_service_type is set",
                method.unwrap_or("(none)")
            ))
        })?;
    let max = limit("ServiceType").unwrap_or(100);
    if length(&service) > max {
        return Err(HoldReason::invalid(format!(
            "ServiceType `{service}` is longer than {max} characters: fix orders.shipping_methods"
        )));
    }
    Ok(service)
}

/// Tenant fields: the delivery note (`additionalAddressInfo`, whole) and the configured order
/// custom fields, joined per Peoplevox field.
fn custom_fields(
    order: &Order,
    shipping: &Address,
    rules: &OrderRules,
    notes: &mut Vec<String>,
) -> Vec<(String, String)> {
    let mut by_field: Vec<(String, Vec<String>)> = Vec::new();
    let mut add = |field: &str, value: String| match by_field.iter_mut().find(|(f, _)| f == field) {
        Some((_, values)) => values.push(value),
        None => by_field.push((field.to_string(), vec![value])),
    };
    let delivery_note = clean_text(
        shipping
            .additional_address_info
            .as_deref()
            .unwrap_or_default(),
    );
    let note_field = rules.delivery_note_field.trim();
    if !delivery_note.is_empty() {
        if note_field.is_empty() {
            notes.push(format!(
                "shippingAddress.additionalAddressInfo (delivery note, {} characters) not sent: \
                 orders.delivery_note_field is empty",
                length(&delivery_note)
            ));
        } else {
            add(note_field, delivery_note);
        }
    }
    if let Some(custom) = &order.custom {
        for (ct_name, pvx_field) in &rules.custom_fields {
            let value = match custom.fields.get(ct_name) {
                Some(serde_json::Value::String(s)) => clean_text(s),
                None | Some(serde_json::Value::Null) => continue,
                Some(other) => clean_text(&other.to_string()),
            };
            if !value.is_empty() {
                add(pvx_field, value);
            }
        }
    }
    by_field
        .into_iter()
        .map(|(field, values)| {
            let mut value = values.join(JOIN);
            let configured = (field == note_field)
                .then_some(rules.delivery_note_max_chars)
                .flatten();
            if let Some(max) = configured.into_iter().chain(limit(&field)).min()
                && length(&value) > max
            {
                notes.push(format!(
                    "{field} cut to {max} of {} characters",
                    length(&value)
                ));
                value = cut(&value, max);
            }
            (field, value)
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
