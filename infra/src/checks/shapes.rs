//! The shape orders of [`crate::shapes_scenario`], read back from the two simulated systems.
//! Every expectation is computed here from the commercetools order JSON (the API reference's
//! definitions), never by the connector's mapping: the price a customer pays per unit is the
//! line's `totalPrice` ÷ `quantity`; the units of each address come from the lines'
//! `shippingDetails.targets`; Peoplevox's field lengths are Zynk's.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::shapes_scenario::{Shape, ShapeOrder};
use crate::sim::peoplevox::SimSalesOrder;
use crate::testbed::Testbed;

/// What the two systems show of the shape orders.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShapeCheck {
    /// Shape orders placed.
    pub placed: usize,
    /// Those in Peoplevox and marked exported in commercetools.
    pub exported: usize,
    /// Peoplevox sales orders they became (the Multiple-shipping order is two).
    pub sales_orders: usize,
    /// Deliveries booked for them.
    pub deliveries: usize,
    /// What is wrong, one line each; must be empty.
    pub problems: Vec<String>,
}

/// Zynk's lengths of the header fields the checks look at (`Peoplevox-Sales-Order-XML.md`).
const LENGTHS: [(&str, usize); 8] = [
    ("SalesOrderNumber", 30),
    ("Customer", 50),
    ("ChannelName", 50),
    ("ShippingAddressLine1", 100),
    ("ShippingAddressLine2", 100),
    ("ShippingAddressCity", 100),
    ("ContactName", 100),
    ("Email", 500),
];

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// `cents` at 2 digits as Peoplevox gets it.
fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Units per SKU of the lines of `order` going to the shipping (or address) `key`; `None`:
/// every unit of every line.
fn units_to(order: &Value, key: Option<&str>) -> BTreeMap<String, i64> {
    let mut units = BTreeMap::new();
    for line in order["lineItems"].as_array().into_iter().flatten() {
        let sku = text(line, "/variant/sku").to_string();
        let quantity = line["quantity"].as_i64().unwrap_or(0);
        let taken = match key {
            None => quantity,
            Some(key) => line["shippingDetails"]["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| t["shippingMethodKey"] == key || t["addressKey"] == key)
                .map(|t| t["quantity"].as_i64().unwrap_or(0))
                .sum(),
        };
        if taken > 0 {
            *units.entry(sku).or_insert(0) += taken;
        }
    }
    units
}

fn units_of(sales_order: &SimSalesOrder) -> BTreeMap<String, i64> {
    let mut units = BTreeMap::new();
    for item in &sales_order.items {
        *units.entry(item.item_code.clone()).or_insert(0) +=
            item.quantity.trim().parse::<i64>().unwrap_or(0);
    }
    units
}

/// Every delivery of an order and the shipping key it sits under (`None`: `shippingInfo`).
fn deliveries(order: &Value) -> Vec<(Option<String>, Value)> {
    let mut found: Vec<(Option<String>, Value)> = order["shippingInfo"]["deliveries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| (None, d.clone()))
        .collect();
    for shipping in order["shipping"].as_array().into_iter().flatten() {
        let key = shipping["shippingKey"].as_str().map(str::to_string);
        for d in shipping["shippingInfo"]["deliveries"]
            .as_array()
            .into_iter()
            .flatten()
        {
            found.push((key.clone(), d.clone()));
        }
    }
    found
}

/// Checks the shape orders; `export_channel` is the OrderExport channel's id.
pub fn check(bed: &Testbed, shapes: &[ShapeOrder]) -> ShapeCheck {
    let mut check = ShapeCheck {
        placed: shapes.len(),
        ..ShapeCheck::default()
    };
    let all = bed.pvx.sales_orders();
    let despatches = bed.pvx.despatches();
    for shape in shapes {
        let id = text(&shape.order, "/id");
        let Some(order) = bed.ct.order_json(id) else {
            check
                .problems
                .push(format!("{:?}: order {id} is gone", shape.shape));
            continue;
        };
        let mut problem = |what: String| check.problems.push(format!("{:?}: {what}", shape.shape));
        // The ct order id travels as the customer's purchase order reference.
        let mine: Vec<&SimSalesOrder> = all
            .iter()
            .filter(|so| {
                so.fields
                    .get("CustomerPurchaseOrderReferenceNumber")
                    .is_some_and(|r| r == id)
            })
            .collect();
        let numbers: BTreeSet<&str> = mine.iter().map(|so| so.number.as_str()).collect();
        let marks: BTreeSet<&str> = order["syncInfo"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["channel"]["id"] == bed.export_channel_id.as_str())
            .filter_map(|s| s["externalId"].as_str())
            .collect();
        if !mine.is_empty() && marks == numbers {
            check.exported += 1;
        } else {
            problem(format!(
                "Peoplevox has {numbers:?}, the export marks say {marks:?}"
            ));
        }
        check.sales_orders += mine.len();
        for number in &numbers {
            if bed.pvx.header_imports(number) > 1 {
                problem(format!("{number} imported more than once"));
            }
        }
        for so in &mine {
            for (field, max) in LENGTHS {
                let value = so.fields.get(field).map_or("", String::as_str);
                if value.chars().count() > max {
                    problem(format!("{} {field} is longer than {max}", so.number));
                }
            }
        }
        // What was ordered is what Peoplevox has, over all parts.
        let mut sent: BTreeMap<String, i64> = BTreeMap::new();
        for so in &mine {
            for (sku, units) in units_of(so) {
                *sent.entry(sku).or_insert(0) += units;
            }
        }
        let ordered = units_to(&order, None);
        if sent != ordered {
            problem(format!("ordered {ordered:?}, Peoplevox has {sent:?}"));
        }
        let number_of_ct = text(&order, "/orderNumber");
        match shape.shape {
            Shape::Discounted => {
                let Some(so) = mine.first() else { continue };
                for line in order["lineItems"].as_array().into_iter().flatten() {
                    let pays = line["totalPrice"]["centAmount"].as_i64().unwrap_or(0)
                        / line["quantity"].as_i64().unwrap_or(1).max(1);
                    let sku = text(line, "/variant/sku");
                    let sale = so
                        .items
                        .iter()
                        .find(|i| i.item_code == sku)
                        .and_then(|i| i.fields.get("SalePrice"))
                        .map_or("", String::as_str);
                    if sale != money(pays) {
                        problem(format!(
                            "SalePrice of {sku} is `{sale}`, the customer pays {}",
                            money(pays)
                        ));
                    }
                }
                let cost = so.fields.get("ShippingCost").map_or("", String::as_str);
                let discounted = order["shippingInfo"]["discountedPrice"]["value"]["centAmount"]
                    .as_i64()
                    .unwrap_or(-1);
                if cost != money(discounted) {
                    problem(format!(
                        "ShippingCost is `{cost}`, the customer pays {}",
                        money(discounted)
                    ));
                }
            }
            Shape::UuidNumber
                if numbers.contains(number_of_ct)
                    || numbers.iter().any(|n| n.chars().count() > 30) =>
            {
                problem(format!(
                    "the {}-character order number went out as {numbers:?}",
                    number_of_ct.len()
                ));
            }
            Shape::Unnumbered if number_of_ct.is_empty() || !numbers.contains(number_of_ct) => {
                problem(format!(
                    "numbered `{number_of_ct}` later, exported as {numbers:?}"
                ));
            }
            Shape::MultipleShipping => {
                let shippings = order["shipping"].as_array().cloned().unwrap_or_default();
                if mine.len() != shippings.len() {
                    problem(format!(
                        "{} shippings became {} sales orders",
                        shippings.len(),
                        mine.len()
                    ));
                }
                for s in &shippings {
                    let key = text(s, "/shippingKey");
                    let postcode = text(s, "/shippingAddress/postalCode");
                    let part = mine.iter().find(|so| {
                        so.fields
                            .get("ShippingAddressPostcode")
                            .is_some_and(|p| p == postcode)
                    });
                    match part {
                        Some(so) if units_of(so) == units_to(&order, Some(key)) => {}
                        Some(so) => problem(format!(
                            "shipping `{key}` takes {:?}, its sales order {} has {:?}",
                            units_to(&order, Some(key)),
                            so.number,
                            units_of(so)
                        )),
                        None => problem(format!(
                            "no sales order goes to shipping `{key}` ({postcode})"
                        )),
                    }
                }
            }
            _ => {}
        }
        // Each despatch of a part is a delivery in that part's shipping.
        let booked = deliveries(&order);
        check.deliveries += booked.len();
        for despatch in despatches
            .iter()
            .filter(|d| numbers.contains(d.order_number.as_str()))
        {
            let key = format!("pvx-{}", despatch.number);
            let Some((under, _)) = booked.iter().find(|(_, d)| d["key"] == key.as_str()) else {
                continue; // counted by the shipment check
            };
            if shape.shape == Shape::MultipleShipping {
                let postcode = mine
                    .iter()
                    .find(|so| so.number == despatch.order_number)
                    .and_then(|so| so.fields.get("ShippingAddressPostcode"));
                let expected = order["shipping"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|s| Some(&text(s, "/shippingAddress/postalCode").to_string()) == postcode)
                    .and_then(|s| s["shippingKey"].as_str());
                if under.as_deref() != expected {
                    problem(format!(
                        "despatch {} of {} is booked under shipping {under:?}, not {expected:?}",
                        despatch.number, despatch.order_number
                    ));
                }
            }
        }
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn units_follow_the_targets() {
        let order = json!({"lineItems": [
            {"variant": {"sku": "A"}, "quantity": 3, "shippingDetails": {"targets": [
                {"addressKey": "home", "shippingMethodKey": "home", "quantity": 1},
                {"addressKey": "office", "shippingMethodKey": "office", "quantity": 2}]}},
            {"variant": {"sku": "B"}, "quantity": 1}
        ]});
        assert_eq!(
            units_to(&order, None),
            BTreeMap::from([("A".into(), 3), ("B".into(), 1)])
        );
        assert_eq!(
            units_to(&order, Some("office")),
            BTreeMap::from([("A".into(), 2)])
        );
        assert_eq!(money(1800), "18.00");
        assert_eq!(money(5), "0.05");
    }
}
