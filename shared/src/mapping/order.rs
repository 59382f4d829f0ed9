//! A commercetools order → its Peoplevox sales order (one per address it ships to), or the
//! reason it cannot be exported yet.
//!
//! Pure: SKU existence in Peoplevox is checked by the flow; everything else that decides whether
//! Peoplevox can allocate the order (number, destination, lines, prices, address, site,
//! service) is decided here. Every field is fitted to its Peoplevox length
//! ([`super::field_limits`]); what had to be cut or left out is said in [`SalesOrder::notes`].

mod address;
pub mod destinations;
mod lines;
pub mod number;
mod price;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use self::address::{Which, address_fields};
use self::destinations::Destination;
use super::field_limits::{self, cut, length, limit};
use super::routing::route;
use super::text::{clean_text, join_parts};
use crate::commercetools::types::{Address, Order, ShippingInfo};
use crate::config::{CustomLineItems, OrderRules, SplitDestinations};
use crate::domain::{Decimal, HoldReason, SalesOrder};

/// Separator of several values sent in one Peoplevox field (a delivery note and a gift
/// message both mapped to Notes).
const JOIN: &str = " | ";

/// Maps an order with the configured rules: one sales order per address the order ships to
/// (one, unless its lines send units to several, see [`destinations`]), in a stable order.
pub fn map_order(order: &Order, rules: &OrderRules) -> Result<Vec<SalesOrder>, HoldReason> {
    let dests = destinations::destinations(order)?;
    if dests.len() > 1 && rules.split_destinations == SplitDestinations::Hold {
        return Err(destinations::hold_reason(order, &dests));
    }
    let digits = price::currency_digits(order);
    let mut parts = Vec::with_capacity(dests.len());
    for (index, dest) in dests.iter().enumerate() {
        let part = Part {
            index,
            count: dests.len(),
            dest,
        };
        parts.push(map_part(order, rules, &part, digits)?);
    }
    if dests.len() > 1 {
        split_totals(order, rules, &dests, &mut parts, digits).map_err(HoldReason::invalid)?;
    }
    // Last: an order with another problem says that one, not "waiting for a number".
    let chosen = number::choose(order, &rules.numbering)?;
    let numbers = number::part_numbers(order, &chosen, parts.len(), &rules.numbering)
        .map_err(|e| HoldReason::invalid(format!("numbering the order's parts: {e}")))?;
    let mut sales_orders = Vec::with_capacity(parts.len());
    for (draft, (number, note)) in parts.into_iter().zip(numbers) {
        let mut notes: Vec<String> = chosen.note.iter().cloned().collect();
        notes.extend(note);
        notes.extend(draft.notes);
        let mut fields = vec![("SalesOrderNumber".to_string(), number.to_string())];
        fields.extend(draft.fields);
        let sales_order = SalesOrder {
            number,
            ct_order_id: order.id.clone(),
            site: draft.site,
            fields,
            custom_fields: draft.custom_fields,
            lines: draft.lines,
            notes,
            shipping_key: draft.shipping_key,
        };
        field_limits::check(&sales_order)?;
        sales_orders.push(sales_order);
    }
    Ok(sales_orders)
}

/// TotalSale and Discount of each part of a split order: its lines (and exported custom lines)
/// and its shipping, less its share of the order-level discount, so that the parts' totals add
/// up to what the customer pays for what is sent.
fn split_totals(
    order: &Order,
    rules: &OrderRules,
    dests: &[Destination<'_>],
    parts: &mut [Draft],
    digits: u32,
) -> Result<(), String> {
    let with_custom = rules.custom_line_items == CustomLineItems::Export;
    let totals: Vec<(Decimal, Decimal)> = dests
        .iter()
        .map(|d| price::part_totals(order, d, with_custom, digits))
        .collect::<Result<_, _>>()?;
    let lines: Vec<Decimal> = totals.iter().map(|(lines, _)| *lines).collect();
    let shares = price::discount_shares(order, &lines, digits)?;
    for (i, (draft, (lines, shipping))) in parts.iter_mut().zip(totals).enumerate() {
        let share = shares.as_ref().map(|s| s[i]);
        let mut total = lines
            .checked_add(shipping)
            .map_err(|_| "a part's total is out of range".to_string())?;
        if let Some(share) = share {
            total = total
                .checked_add(
                    share
                        .checked_mul(-1)
                        .map_err(|_| "a discount is out of range")?,
                )
                .map_err(|_| "a part's total is out of range".to_string())?;
            draft
                .fields
                .push(("Discount".into(), share.to_string_trimmed(digits)));
        }
        draft
            .fields
            .push(("TotalSale".into(), total.to_string_trimmed(digits)));
    }
    Ok(())
}

/// A part's sales order before the order's number is chosen.
struct Draft {
    site: String,
    fields: Vec<(String, String)>,
    custom_fields: Vec<(String, String)>,
    lines: Vec<crate::domain::SalesOrderLine>,
    notes: Vec<String>,
    shipping_key: Option<String>,
}

/// Which part of the order a sales order is.
struct Part<'d, 'a> {
    index: usize,
    count: usize,
    dest: &'d Destination<'a>,
}

/// The sales order of one destination, without its number.
fn map_part(
    order: &Order,
    rules: &OrderRules,
    part: &Part<'_, '_>,
    digits: u32,
) -> Result<Draft, HoldReason> {
    let dest = part.dest;
    let mut notes = Vec::new();
    if part.count > 1 {
        let units: i64 = dest.line_units.values().sum();
        notes.push(format!(
            "part {} of {}: {units} unit(s) to {}",
            part.index + 1,
            part.count,
            dest.label
        ));
    }
    let shipping = dest.address;
    let ct_name = if part.count > 1 {
        dest.label.as_str()
    } else {
        "shippingAddress"
    };
    check_address(ct_name, shipping)?;
    let site = route(order, Some(shipping), rules)?;
    let lines = lines::map_lines(
        order,
        rules,
        digits,
        Some(dest),
        part.index == 0,
        &mut notes,
    )?;
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
        &format!("{ct_name} first and last name"),
        &mut notes,
    );
    put("Customer", customer(&email, &contact, &mut notes));
    // The commercetools id lets a warehouse user find the order in commercetools.
    put("CustomerPurchaseOrderReferenceNumber", order.id.clone());
    let shipping_which = Which {
        ct_name,
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
    let shipping_cost = if dest.charges_shipping {
        money(price::shipping_cost(dest.shipping_info, digits))?
    } else {
        // Charged on the order's first part.
        Some(price::zero(digits))
    };
    if let Some(cost) = shipping_cost {
        put("ShippingCost", cost);
    }
    put("Email", email);
    put("ContactName", contact);
    // A split order's parts get their TotalSale and Discount once every part is known.
    if part.count == 1 {
        if let Some(total) = &order.total_price {
            let total = price::amount(total, digits, "totalPrice").map_err(HoldReason::invalid)?;
            put("TotalSale", total);
        }
        if let Some(discount) = money(price::order_discount(order, digits))? {
            put("Discount", discount);
        }
    }
    if let Some(created) = order.created_at.as_deref().and_then(import_date) {
        put("CreatedDate", created);
    }
    put("ServiceType", service_type(dest.shipping_info, rules)?);
    let channel_name = order.store.as_ref().and_then(|s| s.key.clone());
    let channel_name =
        clean_text(&channel_name.unwrap_or_else(|| rules.default_channel_name.clone()));
    put(
        "ChannelName",
        fit("ChannelName", channel_name, "the store key", &mut notes),
    );
    put("Site", site.clone());

    let custom_fields = custom_fields(order, shipping, rules, &mut notes);
    Ok(Draft {
        site,
        fields,
        custom_fields,
        lines,
        notes,
        shipping_key: dest.shipping_key.map(str::to_string),
    })
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

fn service_type(info: Option<&ShippingInfo>, rules: &OrderRules) -> Result<String, HoldReason> {
    let method = info.and_then(|s| s.shipping_method_name.as_deref());
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
