//! Where an order's units go. One Peoplevox sales order has one shipping address, so an order
//! whose units go to several addresses becomes one sales order per address (a *part*), or is
//! held naming how, as `orders.split_destinations` says; it is never flattened onto one of them.
//!
//! [R] = commercetools/commercetools-api-reference, `api-specs/api/types/`:
//! - `cart/ShippingMode.raml`: `Single` (default) or `Multiple`; in Multiple mode the addresses
//!   are in `shipping[]` (`cart/Shipping.raml`: `shippingKey`, `shippingAddress`, `shippingInfo`),
//!   and `order/updates/OrderAddDeliveryAction.raml` needs the `shippingKey` of a delivery;
//! - `order/Order.raml`, `itemShippingAddresses?`, and `cart/ItemShippingDetails.raml` /
//!   `ItemShippingTarget.raml`: a line's `shippingDetails.targets` send `quantity` units to the
//!   address with `addressKey` (also in Single mode); `shippingMethodKey` is "Required when the
//!   Cart has `Multiple` ShippingMode".
//!
//! The split is a pure function of the order, so every flow that needs it (the export, the
//! shipment flow booking a part's despatch) computes the same parts.

use std::collections::BTreeMap;

use crate::commercetools::types::{Address, ItemShippingDetails, Order, ShippingInfo};
use crate::domain::HoldReason;

/// One address the order ships to, and what goes there.
#[derive(Debug, Clone, PartialEq)]
pub struct Destination<'a> {
    /// The `shippingKey` of a Multiple-mode shipping: `addDelivery` needs it.
    pub shipping_key: Option<&'a str>,
    /// How a person names it: the shipping key, the address key, or `shippingAddress`.
    pub label: String,
    /// Where it goes.
    pub address: &'a Address,
    /// Shipping method and price: the shipping's own (Multiple), else the order's.
    pub shipping_info: Option<&'a ShippingInfo>,
    /// Whether the shipping price is charged on this part (Multiple: each shipping its own;
    /// Single: the first part only, so that it is charged once).
    pub charges_shipping: bool,
    /// Units per line item id going here (lines with none are absent).
    pub line_units: BTreeMap<&'a str, i64>,
    /// Units per custom line item id going here.
    pub custom_units: BTreeMap<&'a str, i64>,
}

/// Whether two addresses are the same place (their keys and ids aside).
pub fn same_place(a: &Address, b: &Address) -> bool {
    let unkeyed = |a: &Address| Address {
        key: None,
        ..a.clone()
    };
    unkeyed(a) == unkeyed(b)
}

/// A line (or custom line) as the split sees it.
struct Line<'a> {
    kind: &'static str,
    id: &'a str,
    quantity: i64,
    details: Option<&'a ItemShippingDetails>,
    custom: bool,
}

fn lines(order: &Order) -> Vec<Line<'_>> {
    let items = order.line_items.iter().map(|li| Line {
        kind: "line item",
        id: li.id.as_str(),
        quantity: li.quantity,
        details: li.shipping_details.as_ref(),
        custom: false,
    });
    let custom = order.custom_line_items.iter().map(|c| Line {
        kind: "custom line item",
        id: c.id.as_str(),
        quantity: c.quantity,
        details: c.shipping_details.as_ref(),
        custom: true,
    });
    items.chain(custom).collect()
}

/// The destinations of `order`, in a stable order (Multiple: `shipping[]`'s; Single: the
/// order's address first, then `itemShippingAddresses`'), each with at least one line item
/// unit. `Err` names what cannot be split: a target naming an address or shipping the order
/// lacks, targets for more units than the line has, a Multiple-mode line without targets
/// when there are several shippings.
pub fn destinations(order: &Order) -> Result<Vec<Destination<'_>>, HoldReason> {
    let mut found = if order.is_multiple_shipping() {
        multiple(order)?
    } else {
        single(order)?
    };
    // Custom lines of a destination without line items go with the first that has some: a fee
    // alone is no parcel.
    let (mut kept, dropped): (Vec<_>, Vec<_>) = found
        .drain(..)
        .partition(|d: &Destination<'_>| !d.line_units.is_empty());
    if kept.is_empty() {
        // Nothing to pick at all: the mapping says so (only custom lines, or no lines).
        return Ok(dropped.into_iter().take(1).collect());
    }
    for d in dropped {
        for (id, units) in d.custom_units {
            *kept[0].custom_units.entry(id).or_insert(0) += units;
        }
    }
    if !kept.iter().any(|d| d.charges_shipping) {
        kept[0].charges_shipping = true;
    }
    Ok(kept)
}

fn multiple(order: &Order) -> Result<Vec<Destination<'_>>, HoldReason> {
    if order.shipping.is_empty() {
        return Err(HoldReason::invalid(
            "shippingMode Multiple, but shipping[] is empty: no address to ship to",
        ));
    }
    let mut dests = Vec::with_capacity(order.shipping.len());
    for (i, s) in order.shipping.iter().enumerate() {
        let address = s.shipping_address.as_ref().ok_or_else(|| {
            HoldReason::invalid(format!(
                "shippingMode Multiple: shipping[{i}] (`{}`) has no shippingAddress",
                s.shipping_key
            ))
        })?;
        dests.push(Destination {
            shipping_key: Some(s.shipping_key.as_str()),
            label: format!("shipping `{}`", s.shipping_key),
            address,
            shipping_info: s.shipping_info.as_ref(),
            charges_shipping: true,
            line_units: BTreeMap::new(),
            custom_units: BTreeMap::new(),
        });
    }
    for line in lines(order) {
        check_quantity(&line)?;
        let targets = line.details.map(|d| d.targets.as_slice()).unwrap_or(&[]);
        let mut sent = 0;
        for t in targets.iter().filter(|t| t.quantity > 0) {
            // The shipping named by the target, else the one whose address has its key.
            let index = t
                .shipping_method_key
                .as_deref()
                .and_then(|k| order.shipping.iter().position(|s| s.shipping_key == k))
                .or_else(|| {
                    order.shipping.iter().position(|s| {
                        s.shipping_address.as_ref().and_then(|a| a.key.as_deref())
                            == Some(t.address_key.as_str())
                    })
                })
                .ok_or_else(|| {
                    HoldReason::invalid(format!(
                        "shippingMode Multiple: {} {} sends {} unit(s) to shipping `{}` / address \
                         `{}`, which the order's shipping[] lacks",
                        line.kind,
                        line.id,
                        t.quantity,
                        t.shipping_method_key.as_deref().unwrap_or(""),
                        t.address_key
                    ))
                })?;
            add(&mut dests[index], &line, t.quantity);
            sent = checked_sum(&line, sent, t.quantity)?;
        }
        let rest = line.quantity - sent;
        check_not_over(&line, sent)?;
        if rest > 0 {
            if dests.len() > 1 {
                return Err(HoldReason::invalid(format!(
                    "shippingMode Multiple: {} {} names a shipping for {sent} of its {} unit(s); \
                     with {} shippings the rest has nowhere to go",
                    line.kind,
                    line.id,
                    line.quantity,
                    dests.len()
                )));
            }
            add(&mut dests[0], &line, rest);
        }
    }
    Ok(dests)
}

fn single(order: &Order) -> Result<Vec<Destination<'_>>, HoldReason> {
    let main = order
        .shipping_address
        .as_ref()
        .ok_or_else(|| HoldReason::invalid("order has no shippingAddress"))?;
    let mut dests = vec![Destination {
        shipping_key: None,
        label: "shippingAddress".into(),
        address: main,
        shipping_info: order.shipping_info.as_ref(),
        charges_shipping: true,
        line_units: BTreeMap::new(),
        custom_units: BTreeMap::new(),
    }];
    for line in lines(order) {
        check_quantity(&line)?;
        let targets = line.details.map(|d| d.targets.as_slice()).unwrap_or(&[]);
        let mut sent = 0;
        for t in targets.iter().filter(|t| t.quantity > 0) {
            let address = order
                .item_shipping_addresses
                .iter()
                .find(|a| a.key.as_deref() == Some(t.address_key.as_str()))
                .ok_or_else(|| {
                    HoldReason::invalid(format!(
                        "{} {} sends {} unit(s) to `{}`, which itemShippingAddresses lacks",
                        line.kind, line.id, t.quantity, t.address_key
                    ))
                })?;
            let index = match dests.iter().position(|d| same_place(d.address, address)) {
                Some(i) => i,
                None => {
                    dests.push(Destination {
                        shipping_key: None,
                        label: format!("itemShippingAddresses `{}`", t.address_key),
                        address,
                        shipping_info: order.shipping_info.as_ref(),
                        charges_shipping: false,
                        line_units: BTreeMap::new(),
                        custom_units: BTreeMap::new(),
                    });
                    dests.len() - 1
                }
            };
            add(&mut dests[index], &line, t.quantity);
            sent = checked_sum(&line, sent, t.quantity)?;
        }
        check_not_over(&line, sent)?;
        // Units no target names go to the order's own address.
        if line.quantity > sent {
            add(&mut dests[0], &line, line.quantity - sent);
        }
    }
    Ok(dests)
}

fn add<'a>(d: &mut Destination<'a>, line: &Line<'a>, units: i64) {
    let map = if line.custom {
        &mut d.custom_units
    } else {
        &mut d.line_units
    };
    *map.entry(line.id).or_insert(0) += units;
}

/// `sent + more` units of a line, refusing a sum past the integer range.
fn checked_sum(line: &Line<'_>, sent: i64, more: i64) -> Result<i64, HoldReason> {
    sent.checked_add(more).ok_or_else(|| {
        HoldReason::invalid(format!(
            "{} {}: its shipping targets add up past any quantity",
            line.kind, line.id
        ))
    })
}

/// A line must have units to send anywhere: a quantity of 0 or less is refused, not dropped.
fn check_quantity(line: &Line<'_>) -> Result<(), HoldReason> {
    if line.quantity <= 0 {
        return Err(HoldReason::invalid(format!(
            "{} {}: quantity {} is not a positive whole number",
            line.kind, line.id, line.quantity
        )));
    }
    Ok(())
}

fn check_not_over(line: &Line<'_>, sent: i64) -> Result<(), HoldReason> {
    if sent > line.quantity {
        return Err(HoldReason::invalid(format!(
            "{} {} sends {sent} unit(s) to its shipping targets but has only {}",
            line.kind, line.id, line.quantity
        )));
    }
    Ok(())
}

/// Why an order with several destinations is held when `orders.split_destinations` is
/// `"hold"`: the mode and what goes where.
pub fn hold_reason(order: &Order, dests: &[Destination<'_>]) -> HoldReason {
    let spread: Vec<String> = dests
        .iter()
        .map(|d| {
            let units: i64 = d.line_units.values().sum();
            format!("{} unit(s) to {}", units, d.label)
        })
        .collect();
    let mode = if order.is_multiple_shipping() {
        "shippingMode Multiple"
    } else {
        "line items ship to several addresses (itemShippingAddresses)"
    };
    HoldReason::invalid(format!(
        "{mode}: {}; orders.split_destinations = \"hold\" keeps such orders for a person \
         (\"split\" sends one Peoplevox order per address)",
        spread.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The units of `line_id` each destination takes, in destination order.
    fn shares(dests: &[Destination<'_>], line_id: &str) -> Vec<i64> {
        dests
            .iter()
            .map(|d| d.line_units.get(line_id).copied().unwrap_or(0))
            .collect()
    }

    fn order(json: serde_json::Value) -> Order {
        serde_json::from_value(json).unwrap()
    }

    fn multiple_order() -> Order {
        order(json!({
            "id": "o", "version": 1, "shippingMode": "Multiple",
            "shipping": [
                {"shippingKey": "home", "shippingAddress": {"key": "home", "country": "GB", "city": "Leeds", "streetName": "A St"},
                 "shippingInfo": {"shippingMethodName": "Standard"}},
                {"shippingKey": "office", "shippingAddress": {"key": "office", "country": "GB", "city": "York", "streetName": "B Rd"},
                 "shippingInfo": {"shippingMethodName": "Next Day"}}
            ],
            "lineItems": [
                {"id": "li-1", "quantity": 3, "variant": {"sku": "A"},
                 "shippingDetails": {"valid": true, "targets": [
                     {"addressKey": "home", "quantity": 1, "shippingMethodKey": "home"},
                     {"addressKey": "office", "quantity": 2, "shippingMethodKey": "office"}]}},
                {"id": "li-2", "quantity": 1, "variant": {"sku": "B"},
                 "shippingDetails": {"valid": true, "targets": [{"addressKey": "office", "quantity": 1}]}}
            ]
        }))
    }

    #[test]
    fn multiple_mode_is_one_destination_per_shipping_with_its_units() {
        let o = multiple_order();
        let d = destinations(&o).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].shipping_key, Some("home"));
        assert_eq!(d[1].shipping_key, Some("office"));
        assert_eq!(shares(&d, "li-1"), [1, 2]);
        // The target without a shipping key finds its shipping by the address key.
        assert_eq!(shares(&d, "li-2"), [0, 1]);
        assert!(d.iter().all(|d| d.charges_shipping));
        assert_eq!(
            d[1].shipping_info.unwrap().shipping_method_name.as_deref(),
            Some("Next Day")
        );
        // A custom line without targets, with several shippings, has nowhere to go.
        let with_fee = order({
            let mut j = serde_json::to_value(&o).unwrap();
            j["customLineItems"] = json!([{"id": "c-1", "quantity": 1}]);
            j
        });
        let e = destinations(&with_fee).unwrap_err().to_string();
        assert!(e.contains("custom line item c-1"), "{e}");
    }

    #[test]
    fn a_target_that_names_no_shipping_or_too_many_units_is_held_naming_it() {
        let mut j = serde_json::to_value(multiple_order()).unwrap();
        j["lineItems"][1]["shippingDetails"]["targets"][0]["addressKey"] = "moon".into();
        let e = destinations(&order(j.clone())).unwrap_err().to_string();
        assert!(e.contains("li-2") && e.contains("`moon`"), "{e}");
        j["lineItems"][1]["shippingDetails"]["targets"][0]["addressKey"] = "office".into();
        j["lineItems"][1]["shippingDetails"]["targets"][0]["quantity"] = 5.into();
        let e = destinations(&order(j)).unwrap_err().to_string();
        assert!(e.contains("sends 5 unit(s)") && e.contains("only 1"), "{e}");
    }

    #[test]
    fn single_mode_sends_untargeted_units_to_the_order_address_and_targets_elsewhere() {
        let main = json!({"country": "GB", "city": "Leeds", "streetName": "A St"});
        let mut same = main.clone();
        same["key"] = "main".into();
        let o = order(json!({
            "id": "o", "version": 1, "shippingMode": "Single", "shippingAddress": main,
            "itemShippingAddresses": [same, {"key": "gran", "country": "GB", "city": "York", "streetName": "B Rd"}],
            "lineItems": [
                {"id": "li-1", "quantity": 3, "variant": {"sku": "S"},
                 "shippingDetails": {"valid": true, "targets": [{"addressKey": "gran", "quantity": 2}, {"addressKey": "main", "quantity": 1}]}},
                {"id": "li-2", "quantity": 2, "variant": {"sku": "T"}}
            ]
        }));
        let d = destinations(&o).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].label, "shippingAddress");
        assert_eq!(d[1].label, "itemShippingAddresses `gran`");
        assert_eq!(shares(&d, "li-1"), [1, 2]);
        assert_eq!(shares(&d, "li-2"), [2, 0]);
        assert_eq!(
            (d[0].charges_shipping, d[1].charges_shipping),
            (true, false)
        );
        let held = hold_reason(&o, &d).to_string();
        assert!(
            held.starts_with("line items ship to several addresses (itemShippingAddresses): 3 unit(s) to shippingAddress, 2 unit(s) to itemShippingAddresses `gran`"),
            "{held}"
        );
    }

    #[test]
    fn a_single_address_order_is_one_destination_and_everything_goes_there() {
        let o = order(json!({
            "id": "o", "version": 1,
            "shippingAddress": {"country": "GB", "city": "Leeds", "streetName": "A St"},
            "lineItems": [{"id": "li-1", "quantity": 3, "variant": {"sku": "S"}}],
            "customLineItems": [{"id": "c-1", "quantity": 1}]
        }));
        let d = destinations(&o).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(shares(&d, "li-1"), [3]);
        assert_eq!(d[0].custom_units["c-1"], 1);
        let nowhere = order(json!({"id": "o", "version": 1, "lineItems": []}));
        assert_eq!(
            destinations(&nowhere).unwrap_err().to_string(),
            "order has no shippingAddress"
        );
    }
}
