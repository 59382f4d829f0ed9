//! The pure core of the shipment flow: given a commercetools order as it is now and the
//! Peoplevox despatches of it, the update actions that make each despatch exactly one delivery
//! with a parcel per package and the right tracking, and move the shipment state forward.
//! Whatever is already there is left alone, so deciding again on the same facts plans nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::parcels::{self, Placed};
use crate::commercetools::OrderUpdateAction;
use crate::commercetools::actions::{
    DeliveryItem, DeliverySelector, ParcelDraft, ParcelMeasurements, ParcelSelector, ShipmentState,
    TrackingData,
};
use crate::commercetools::types::Order;
use crate::config::ShipmentRules;
use crate::domain::Despatch;
use crate::domain::despatch::key_from;
use crate::setup::{
    FIELD_DESPATCH_NUMBER, FIELD_DESPATCHED_AT, FIELD_PVX_CARRIER, FIELD_PVX_SERVICE,
};

/// Peoplevox item and factor of a commercetools SKU (packs ship as `factor` units).
pub(super) type ItemOf<'a> = &'a dyn Fn(&str) -> (String, u32);

/// The delivery key of a despatch.
pub fn delivery_key(despatch: &str) -> String {
    key_from("pvx", &[despatch])
}

/// The parcel key of a package.
pub fn parcel_key(despatch: &str, package: &str) -> String {
    key_from("pvx", &[despatch, package])
}

/// What the order already holds: delivered quantity per line item, delivery keys.
#[derive(Debug, Default)]
struct Existing {
    delivered: BTreeMap<String, i64>,
    deliveries: BTreeSet<String>,
}

fn existing(order: &Order) -> Existing {
    let mut found = Existing::default();
    let deliveries = order
        .shipping_info
        .as_ref()
        .map(|s| s.deliveries.as_slice())
        .unwrap_or_default();
    for delivery in deliveries {
        if let Some(key) = delivery.get("key").and_then(Value::as_str) {
            found.deliveries.insert(key.to_string());
        }
        for item in delivery["items"].as_array().into_iter().flatten() {
            if let (Some(id), Some(q)) = (item["id"].as_str(), item["quantity"].as_i64()) {
                *found.delivered.entry(id.to_string()).or_insert(0) += q;
            }
        }
    }
    found
}

/// The actions for `despatches` of `order`, or why the despatch cannot be booked (an item the
/// order does not have, more units than it has left).
pub(super) fn plan(
    order: &Order,
    despatches: &[&Despatch],
    rules: &ShipmentRules,
    item_of: ItemOf<'_>,
) -> Result<Vec<OrderUpdateAction>, String> {
    let mut have = existing(order);
    let mut actions = Vec::new();
    for despatch in despatches {
        let key = delivery_key(&despatch.number);
        let (carrier, provider) = rules.carrier(&despatch.carrier);
        let tracking = |package: &crate::domain::Package| {
            package.tracking.as_ref().map(|id| TrackingData {
                tracking_id: Some(id.clone()),
                carrier: Some(carrier.clone()),
                provider: Some(provider.clone()),
                provider_transaction: Some(despatch.number.clone()),
                is_return: false,
            })
        };
        if have.deliveries.contains(&key) {
            // The delivery exists: packages and tracking that came later are added to it,
            // each package matched to its parcel (see `parcels.rs`).
            let existing = parcels::of_delivery(order, &key);
            let placed = parcels::place(&despatch.number, &despatch.packages, &existing);
            for (package, placed) in despatch.packages.iter().zip(placed) {
                match placed {
                    Placed::New(pkey) => actions.push(OrderUpdateAction::AddParcelToDelivery {
                        delivery: DeliverySelector::Key(key.clone()),
                        parcel_key: Some(pkey),
                        measurements: measurements(package),
                        tracking_data: tracking(package),
                        items: Vec::new(),
                    }),
                    Placed::Existing {
                        key: pkey,
                        tracking: known,
                    } if package.tracking.is_some() && known != package.tracking => {
                        actions.push(OrderUpdateAction::SetParcelTrackingData {
                            parcel: ParcelSelector::Key(pkey),
                            tracking_data: tracking(package),
                        });
                    }
                    Placed::Existing { .. } | Placed::Keyless => {}
                }
            }
            continue;
        }
        let items = assign(order, despatch, &mut have.delivered, item_of)?;
        let placed = parcels::place(&despatch.number, &despatch.packages, &[]);
        let parcels = despatch
            .packages
            .iter()
            .zip(placed)
            .map(|(package, placed)| ParcelDraft {
                key: match placed {
                    Placed::New(pkey) | Placed::Existing { key: pkey, .. } => Some(pkey),
                    Placed::Keyless => None,
                },
                measurements: measurements(package),
                tracking_data: tracking(package),
                items: Vec::new(),
            })
            .collect();
        let custom = rules.delivery_type.as_ref().map(|type_key| {
            let mut fields = serde_json::Map::new();
            fields.insert(FIELD_DESPATCH_NUMBER.into(), despatch.number.clone().into());
            fields.insert(FIELD_PVX_CARRIER.into(), despatch.carrier.clone().into());
            fields.insert(FIELD_PVX_SERVICE.into(), despatch.service.clone().into());
            let rfc3339 = &time::format_description::well_known::Rfc3339;
            if let Some(at) = despatch.despatched_at.and_then(|t| t.format(rfc3339).ok()) {
                fields.insert(FIELD_DESPATCHED_AT.into(), at.into());
            }
            json!({"type": {"typeId": "type", "key": type_key}, "fields": fields})
        });
        have.deliveries.insert(key.clone());
        actions.push(OrderUpdateAction::AddDelivery {
            delivery_key: Some(key),
            shipping_key: None,
            items,
            address: None,
            parcels,
            custom,
        });
    }
    if let Some(state) = next_shipment_state(order, &have.delivered) {
        actions.push(OrderUpdateAction::ChangeShipmentState {
            shipment_state: state,
        });
    }
    Ok(actions)
}

fn measurements(package: &crate::domain::Package) -> Option<ParcelMeasurements> {
    package.weight_g.map(|g| ParcelMeasurements {
        weight_in_gram: Some(g),
        ..ParcelMeasurements::default()
    })
}

/// Spreads the despatched units over the order's line items of each item (split lines and
/// packs included), in line order, never beyond what a line has left to deliver.
fn assign(
    order: &Order,
    despatch: &Despatch,
    delivered: &mut BTreeMap<String, i64>,
    item_of: ItemOf<'_>,
) -> Result<Vec<DeliveryItem>, String> {
    let mut items: Vec<DeliveryItem> = Vec::new();
    for (item, units) in &despatch.lines {
        let mut left = *units;
        let mut matched = false;
        for line in &order.line_items {
            let Some(sku) = line.variant.sku.as_deref() else {
                continue;
            };
            let (line_item, factor) = item_of(sku);
            if &line_item != item {
                continue;
            }
            matched = true;
            let factor = i64::from(factor.max(1));
            let open = line.quantity - delivered.get(&line.id).copied().unwrap_or(0);
            let take = open.min(left / factor);
            if take > 0 {
                left -= take * factor;
                *delivered.entry(line.id.clone()).or_insert(0) += take;
                match items.iter_mut().find(|i| i.id == line.id) {
                    Some(existing) => existing.quantity += take,
                    None => items.push(DeliveryItem {
                        id: line.id.clone(),
                        quantity: take,
                    }),
                }
            }
        }
        if !matched {
            return Err(format!(
                "despatch {} ships item `{item}`, which order {} does not contain",
                despatch.number, despatch.order_number
            ));
        }
        if left > 0 {
            return Err(format!(
                "despatch {} ships {left} more unit(s) of `{item}` than order {} has left to deliver",
                despatch.number, despatch.order_number
            ));
        }
    }
    Ok(items)
}

/// Partial or Shipped from the delivered quantities, only ever forward, and never over a state
/// commercetools reached on its own (Delivered) or a cancellation.
fn next_shipment_state(order: &Order, delivered: &BTreeMap<String, i64>) -> Option<ShipmentState> {
    let rank = crate::domain::status::shipment_state_rank;
    let current = order.shipment_state.as_deref().unwrap_or("Pending");
    let any = order
        .line_items
        .iter()
        .any(|l| delivered.get(&l.id).copied().unwrap_or(0) > 0);
    let all = order
        .line_items
        .iter()
        .all(|l| delivered.get(&l.id).copied().unwrap_or(0) >= l.quantity);
    let (target, name) = match (any, all) {
        (_, true) if !order.line_items.is_empty() => (ShipmentState::Shipped, "Shipped"),
        (true, false) => (ShipmentState::Partial, "Partial"),
        _ => return None,
    };
    (rank(name) > rank(current)).then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Package;

    fn order(lines: &[(&str, &str, i64)], deliveries: Value, state: &str) -> Order {
        let items: Vec<Value> = lines
            .iter()
            .map(|(id, sku, q)| json!({"id": id, "variant": {"sku": sku}, "quantity": q}))
            .collect();
        serde_json::from_value(json!({
            "id": "o-1", "version": 3, "orderNumber": "N1", "lineItems": items,
            "shipmentState": state,
            "shippingInfo": {"shippingMethodName": "Standard", "deliveries": deliveries},
        }))
        .unwrap()
    }

    fn despatch(number: &str, lines: &[(&str, i64)], tracking: &[Option<&str>]) -> Despatch {
        Despatch {
            number: number.into(),
            order_number: "N1".into(),
            carrier: "Royal Mail".into(),
            service: "Tracked 24".into(),
            despatched_at: None,
            lines: lines.iter().map(|(i, u)| (i.to_string(), *u)).collect(),
            packages: tracking
                .iter()
                .enumerate()
                .map(|(n, t)| Package {
                    number: (n + 1).to_string(),
                    tracking: t.map(str::to_string),
                    weight_g: Some(500),
                })
                .collect(),
        }
    }

    fn packs(sku: &str) -> (String, u32) {
        match sku {
            "SOCK-3PK" => ("SOCK".into(), 3),
            other => (other.into(), 1),
        }
    }

    fn names(actions: &[OrderUpdateAction]) -> Vec<&'static str> {
        actions.iter().map(OrderUpdateAction::name).collect()
    }

    #[test]
    fn a_full_despatch_is_one_delivery_with_parcels_and_shipped() {
        let o = order(&[("l1", "A", 2), ("l2", "B", 1)], json!([]), "Pending");
        let d = despatch("D1", &[("A", 2), ("B", 1)], &[Some("T1"), Some("T2")]);
        let actions = plan(&o, &[&d], &ShipmentRules::default(), &packs).unwrap();
        assert_eq!(names(&actions), ["addDelivery", "changeShipmentState"]);
        let json = serde_json::to_value(&actions).unwrap();
        assert_eq!(json[0]["deliveryKey"], "pvx-D1");
        assert_eq!(
            json[0]["items"],
            json!([{"id": "l1", "quantity": 2}, {"id": "l2", "quantity": 1}])
        );
        assert_eq!(json[0]["parcels"][1]["key"], "pvx-D1-2");
        assert_eq!(json[0]["parcels"][1]["trackingData"]["trackingId"], "T2");
        assert_eq!(json[0]["parcels"][0]["measurements"]["weightInGram"], 500);
        assert_eq!(json[1]["shipmentState"], "Shipped");
    }

    #[test]
    fn planning_again_on_the_booked_order_plans_nothing() {
        let delivered = json!([{"id": "d", "key": "pvx-D1", "items": [{"id": "l1", "quantity": 2}],
            "parcels": [{"id": "p", "key": "pvx-D1-1", "trackingData": {"trackingId": "T1"}}]}]);
        let o = order(&[("l1", "A", 2)], delivered, "Shipped");
        let d = despatch("D1", &[("A", 2)], &[Some("T1")]);
        assert!(
            plan(&o, &[&d], &ShipmentRules::default(), &packs)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_split_order_goes_partial_then_shipped() {
        let first = despatch("D1", &[("A", 1)], &[None]);
        let o = order(&[("l1", "A", 2), ("l2", "B", 1)], json!([]), "Pending");
        let actions = plan(&o, &[&first], &ShipmentRules::default(), &packs).unwrap();
        let json = serde_json::to_value(&actions).unwrap();
        assert_eq!(json[1]["shipmentState"], "Partial");
        let delivered =
            json!([{"key": "pvx-D1", "items": [{"id": "l1", "quantity": 1}], "parcels": []}]);
        let o = order(&[("l1", "A", 2), ("l2", "B", 1)], delivered, "Partial");
        let second = despatch("D2", &[("A", 1), ("B", 1)], &[Some("T9")]);
        let actions = plan(&o, &[&first, &second], &ShipmentRules::default(), &packs).unwrap();
        let json = serde_json::to_value(&actions).unwrap();
        assert_eq!(
            names(&actions),
            ["addParcelToDelivery", "addDelivery", "changeShipmentState"]
        );
        assert_eq!(
            json[1]["items"],
            json!([{"id": "l1", "quantity": 1}, {"id": "l2", "quantity": 1}])
        );
        assert_eq!(json[2]["shipmentState"], "Shipped");
    }

    #[test]
    fn tracking_that_comes_later_lands_on_the_existing_parcel() {
        let delivered = json!([{"key": "pvx-D1", "items": [{"id": "l1", "quantity": 1}],
            "parcels": [{"key": "pvx-D1-1"}]}]);
        let o = order(&[("l1", "A", 1)], delivered, "Shipped");
        let d = despatch("D1", &[("A", 1)], &[Some("LATE-1")]);
        let actions = plan(&o, &[&d], &ShipmentRules::default(), &packs).unwrap();
        let json = serde_json::to_value(&actions).unwrap();
        assert_eq!(names(&actions), ["setParcelTrackingData"]);
        assert_eq!(json[0]["parcelKey"], "pvx-D1-1");
        assert_eq!(json[0]["trackingData"]["trackingId"], "LATE-1");
    }

    #[test]
    fn packs_split_lines_and_refusals() {
        let o = order(
            &[("l1", "SOCK-3PK", 2), ("l2", "SOCK", 1)],
            json!([]),
            "Pending",
        );
        let d = despatch("D1", &[("SOCK", 7)], &[None]);
        let json =
            serde_json::to_value(plan(&o, &[&d], &ShipmentRules::default(), &packs).unwrap())
                .unwrap();
        assert_eq!(
            json[0]["items"],
            json!([{"id": "l1", "quantity": 2}, {"id": "l2", "quantity": 1}])
        );
        let unknown = despatch("D2", &[("HAT", 1)], &[None]);
        let e = plan(&o, &[&unknown], &ShipmentRules::default(), &packs).unwrap_err();
        assert!(e.contains("`HAT`") && e.contains("does not contain"), "{e}");
        let over = despatch("D3", &[("SOCK", 8)], &[None]);
        let e = plan(&o, &[&over], &ShipmentRules::default(), &packs).unwrap_err();
        assert!(e.contains("1 more unit"), "{e}");
    }

    #[test]
    fn carriers_map_through_configuration_and_states_never_go_back() {
        let mut rules = ShipmentRules::default();
        rules.carriers.insert(
            "Royal Mail".into(),
            crate::config::CarrierMapping {
                carrier: "royal-mail".into(),
                provider: Some("RM".into()),
            },
        );
        let o = order(&[("l1", "A", 2)], json!([]), "Delivered");
        let d = despatch("D1", &[("A", 1)], &[Some("T")]);
        let actions = plan(&o, &[&d], &rules, &packs).unwrap();
        let json = serde_json::to_value(&actions).unwrap();
        assert_eq!(
            names(&actions),
            ["addDelivery"],
            "Delivered is not moved back to Partial"
        );
        assert_eq!(
            json[0]["parcels"][0]["trackingData"]["carrier"],
            "royal-mail"
        );
        assert_eq!(json[0]["parcels"][0]["trackingData"]["provider"], "RM");
    }
}
