//! The pure core of the shipment flow: given a commercetools order as it is now and the
//! Peoplevox despatches of it, the update actions that make each despatch exactly one delivery
//! with a parcel per package and the right tracking, and move the shipment state forward.
//! Whatever is already there is left alone, so deciding again on the same facts plans nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::hand_made::{self, Delivered, Room};
use super::overlap::OverlapLine;
use super::parcels::{self, Placed};
use crate::commercetools::OrderUpdateAction;
use crate::commercetools::actions::{
    DeliveryItem, DeliverySelector, ParcelDraft, ParcelMeasurements, ParcelSelector, ShipmentState,
    TrackingData,
};
use crate::commercetools::types::{Address, CustomLineItem, Order};
use crate::config::ShipmentRules;
use crate::domain::Despatch;
use crate::domain::despatch::key_from;
use crate::mapping::order::destinations::{destinations, same_place};
use crate::mapping::pack_split::{self, Open};
use crate::setup::{
    FIELD_DESPATCH_NUMBER, FIELD_DESPATCHED_AT, FIELD_PVX_CARRIER, FIELD_PVX_SERVICE,
};

/// Peoplevox item and factor of a commercetools SKU (packs ship as `factor` units).
pub(super) type ItemOf<'a> = &'a (dyn Fn(&str) -> (String, u32) + Sync);

/// The delivery key of a despatch.
pub fn delivery_key(despatch: &str) -> String {
    key_from("pvx", &[despatch])
}

/// The parcel key of a package.
pub fn parcel_key(despatch: &str, package: &str) -> String {
    key_from("pvx", &[despatch, package])
}

/// What the order already holds: delivered units per line item (every delivery's, and ctpvx's
/// own), delivery keys.
#[derive(Debug, Default)]
struct Existing {
    delivered: Delivered,
    deliveries: BTreeSet<String>,
}

fn existing(order: &Order) -> Existing {
    let mut found = Existing::default();
    for delivery in order.deliveries() {
        if let Some(key) = delivery.get("key").and_then(Value::as_str) {
            found.deliveries.insert(key.to_string());
        }
        found.delivered.count(delivery);
    }
    found
}

/// Where the despatches of an order go: the part of the order each despatch's Peoplevox number
/// names when the order was split over several addresses, and how custom line items are coded.
pub(super) struct Lines<'a> {
    /// Peoplevox item and factor of a commercetools SKU.
    pub item_of: ItemOf<'a>,
    /// The item code an exported custom line item goes under (`None`: not exported).
    pub custom_code_of: &'a (dyn Fn(&CustomLineItem) -> Option<String> + Sync),
    /// Id of the OrderExport channel, whose marks carry each part's number.
    pub export_channel_id: &'a str,
}

/// The part of a split order a despatch belongs to: the shipping key its delivery needs
/// (Multiple mode, split or not), the address (Single mode with item addresses) and the units
/// of each line it may take; the default (Single mode, not split) takes every line, with no key.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct PartOfDespatch {
    shipping_key: Option<String>,
    address: Option<Address>,
    line_units: Option<BTreeMap<String, i64>>,
}

/// The part of `order` whose Peoplevox number `number` is: its position among the order's
/// export marks is its position among the order's destinations (see
/// [`crate::mapping::order::destinations`]), both in part order. `Err` when the parts cannot be
/// told any more (the order was edited since its export): a person books such a despatch,
/// rather than the flow guessing a shipping or lines.
pub(super) fn part_of(
    order: &Order,
    export_channel_id: &str,
    number: &str,
) -> Result<PartOfDespatch, String> {
    let numbers = order.peoplevox_numbers(export_channel_id);
    let split = numbers.len() > 1;
    let multiple = order.is_multiple_shipping();
    if !split && !multiple {
        return Ok(PartOfDespatch::default());
    }
    let index = if split {
        numbers.iter().position(|n| *n == number).ok_or_else(|| {
            format!(
                "despatch of {number}, which is none of order {}'s Peoplevox numbers ({})",
                order.id,
                numbers.join(", ")
            )
        })?
    } else {
        0
    };
    let dests = destinations(order)
        .map_err(|e| format!("the parts of order {} cannot be worked out: {e}", order.id))?;
    if dests.len() != numbers.len().max(1) {
        return Err(format!(
            "order {} went to Peoplevox as {} sales order(s) but now maps to {}: it changed \
             since; book despatch of {number} by hand",
            order.id,
            numbers.len(),
            dests.len()
        ));
    }
    let dest = &dests[index];
    let line_units = split.then(|| {
        dest.line_units
            .iter()
            .chain(&dest.custom_units)
            .map(|(id, units)| (id.to_string(), *units))
            .collect()
    });
    Ok(PartOfDespatch {
        shipping_key: dest.shipping_key.map(str::to_string),
        address: (split && !multiple).then(|| dest.address.clone()),
        line_units,
    })
}

/// Units of each line the part's deliveries took so far: in Multiple mode the deliveries in its
/// shipping, in Single mode those addressed to its address (ctpvx addresses a split order's
/// deliveries); `None` for an order that is not split (every delivery counts, see `Existing`).
fn delivered_in_part(order: &Order, part: &PartOfDespatch) -> Option<Delivered> {
    part.line_units.as_ref()?;
    let mut delivered = Delivered::default();
    if let Some(key) = &part.shipping_key {
        let shipping = order.shipping.iter().find(|s| &s.shipping_key == key);
        for d in shipping
            .and_then(|s| s.shipping_info.as_ref())
            .into_iter()
            .flat_map(|i| &i.deliveries)
        {
            delivered.count(d);
        }
    } else if let Some(address) = &part.address {
        for d in order.deliveries() {
            let there = serde_json::from_value::<Address>(d["address"].clone())
                .is_ok_and(|a| same_place(&a, address));
            if there {
                delivered.count(d);
            }
        }
    }
    Some(delivered)
}

/// What [`plan`] made of an order's despatches.
#[derive(Debug, Default)]
pub(super) struct Planned {
    /// The update for the despatches that can be booked.
    pub actions: Vec<OrderUpdateAction>,
    /// Despatch number → why it cannot be booked (an item the order does not have, more units
    /// than it has left): each despatch is planned on its own, so one that cannot be booked
    /// never holds back the others of its order.
    pub refused: BTreeMap<String, String>,
    /// Despatch number → the units of it that deliveries made by hand had delivered already
    /// (booked all the same, see [`hand_made`]), for a person to sort out.
    pub overlaps: BTreeMap<String, Vec<OverlapLine>>,
}

/// As a `Result` reads, for tests of one despatch: the actions when nothing was refused, or
/// the one refusal's reason.
#[cfg(test)]
impl Planned {
    pub fn unwrap(self) -> Vec<OrderUpdateAction> {
        assert!(self.refused.is_empty(), "refused: {:?}", self.refused);
        self.actions
    }

    pub fn unwrap_err(self) -> String {
        assert!(self.actions.is_empty(), "planned: {:?}", self.actions);
        self.refused.into_values().next().expect("a refusal")
    }
}

/// The actions for `despatches` of `order`, and the despatches that cannot be booked.
pub(super) fn plan(
    order: &Order,
    despatches: &[&Despatch],
    rules: &ShipmentRules,
    lines: &Lines<'_>,
) -> Planned {
    let mut have = existing(order);
    let mut actions = Vec::new();
    let mut refused = BTreeMap::new();
    let mut overlaps = BTreeMap::new();
    let mut booked_any = false;
    for despatch in despatches {
        let key = delivery_key(&despatch.number);
        if have.deliveries.contains(&key) {
            booked_any = true;
            actions.extend(later_parcels(order, despatch, rules));
            continue;
        }
        // Units are counted as delivered only when the despatch can be booked whole.
        let mut delivered = have.delivered.clone();
        let assigned =
            part_of(order, lines.export_channel_id, &despatch.order_number).and_then(|part| {
                let assigned = assign(order, despatch, &part, &mut delivered, lines)?;
                Ok((part, assigned))
            });
        let (part, Assigned { items, overlap }) = match assigned {
            Ok(assigned) => assigned,
            Err(reason) => {
                refused.insert(despatch.number.clone(), reason);
                continue;
            }
        };
        have.delivered = delivered;
        if !overlap.is_empty() {
            overlaps.insert(despatch.number.clone(), overlap);
        }
        booked_any = true;
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
                tracking_data: tracking_of(despatch, package, rules),
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
            shipping_key: part.shipping_key,
            items,
            address: part.address.map(Box::new),
            parcels,
            custom,
        });
    }
    // A plan that books nothing changes nothing, the shipment state included. The state counts
    // every delivery, a person's too: the units they delivered have left. An overlap is the
    // units beyond a line's quantity, so counting them once or twice gives the same state; and
    // `next_shipment_state` only ever moves forward.
    if booked_any && let Some(state) = next_shipment_state(order, &have.delivered.all) {
        actions.push(OrderUpdateAction::ChangeShipmentState {
            shipment_state: state,
        });
    }
    Planned {
        actions,
        refused,
        overlaps,
    }
}

/// The actions that bring the existing delivery of `despatch` up to what Peoplevox now shows:
/// a parcel for each package the delivery lacks, and each tracking number a parcel lacks,
/// every package matched to its parcel (see `parcels.rs`). None when the delivery already
/// shows every package and tracking number; the nightly sweep of late tracking asks this to
/// re-queue only the despatches the shipment flow would change.
pub fn later_parcels(
    order: &Order,
    despatch: &Despatch,
    rules: &ShipmentRules,
) -> Vec<OrderUpdateAction> {
    let key = delivery_key(&despatch.number);
    let existing = parcels::of_delivery(order, &key);
    let placed = parcels::place(&despatch.number, &despatch.packages, &existing);
    let mut actions = Vec::new();
    for (package, placed) in despatch.packages.iter().zip(placed) {
        match placed {
            Placed::New(pkey) => actions.push(OrderUpdateAction::AddParcelToDelivery {
                delivery: DeliverySelector::Key(key.clone()),
                parcel_key: Some(pkey),
                measurements: measurements(package),
                tracking_data: tracking_of(despatch, package, rules),
                items: Vec::new(),
            }),
            Placed::Existing {
                key: pkey,
                tracking: known,
            } if package.tracking.is_some() && known != package.tracking => {
                actions.push(OrderUpdateAction::SetParcelTrackingData {
                    parcel: ParcelSelector::Key(pkey),
                    tracking_data: tracking_of(despatch, package, rules),
                });
            }
            Placed::Existing { .. } | Placed::Keyless => {}
        }
    }
    actions
}

/// A package's tracking data, with the despatch's carrier as configured.
fn tracking_of(
    despatch: &Despatch,
    package: &crate::domain::Package,
    rules: &ShipmentRules,
) -> Option<TrackingData> {
    let (carrier, provider) = rules.carrier(&despatch.carrier);
    package.tracking.as_ref().map(|id| TrackingData {
        tracking_id: Some(id.clone()),
        carrier: Some(carrier),
        provider: Some(provider),
        provider_transaction: Some(despatch.number.clone()),
        is_return: false,
    })
}

fn measurements(package: &crate::domain::Package) -> Option<ParcelMeasurements> {
    package.weight_g.map(|g| ParcelMeasurements {
        weight_in_gram: Some(g),
        ..ParcelMeasurements::default()
    })
}

/// A line that may take a despatch's units.
struct Candidate<'a> {
    id: &'a str,
    quantity: i64,
    /// The Peoplevox item it ships as, and how many of its units one of the line's is.
    item: String,
    factor: u32,
    /// What a person knows it by (SKU, or a custom line item's code).
    sku: String,
}

/// What a despatch books: its delivery's items, and the units of them that deliveries made by
/// hand had delivered already.
struct Assigned {
    items: Vec<DeliveryItem>,
    overlap: Vec<OverlapLine>,
}

/// Spreads the despatched units over the order's line items of each item (split lines and
/// packs included), never beyond what a line has left to deliver, counting only ctpvx's own
/// deliveries; over units nobody has delivered first (see [`hand_made::split`]); only over the
/// lines of the despatch's part of a split order; an item no line item has may be an exported
/// custom line item's code.
fn assign(
    order: &Order,
    despatch: &Despatch,
    part: &PartOfDespatch,
    delivered: &mut Delivered,
    lines: &Lines<'_>,
) -> Result<Assigned, String> {
    let in_part = |id: &str| {
        part.line_units
            .as_ref()
            .is_none_or(|units| units.contains_key(id))
    };
    // What the part's deliveries took of each line (a split order's part never takes another
    // part's units).
    let mut in_part_delivered = delivered_in_part(order, part);
    let candidates: Vec<Candidate<'_>> = order
        .line_items
        .iter()
        .filter(|l| in_part(&l.id))
        .filter_map(|l| {
            let sku = l.variant.sku.as_deref()?;
            let (item, factor) = (lines.item_of)(sku);
            Some(Candidate {
                id: &l.id,
                quantity: l.quantity,
                item,
                factor,
                sku: sku.to_string(),
            })
        })
        .chain(
            order
                .custom_line_items
                .iter()
                .filter(|c| in_part(&c.id))
                .filter_map(|c| {
                    let code = (lines.custom_code_of)(c)?;
                    Some(Candidate {
                        id: &c.id,
                        quantity: c.quantity,
                        sku: code.clone(),
                        item: code,
                        factor: 1,
                    })
                }),
        )
        .collect();
    let mut items: Vec<DeliveryItem> = Vec::new();
    let mut overlap: Vec<OverlapLine> = Vec::new();
    for (item, units) in &despatch.lines {
        // The lines of this item (or its packs), each with what it may still take.
        let lines: Vec<(&Candidate<'_>, Room)> = candidates
            .iter()
            .filter(|c| &c.item == item)
            .map(|c| (c, room(c, delivered, part, in_part_delivered.as_ref())))
            .collect();
        if lines.is_empty() {
            return Err(format!(
                "despatch {} ships item `{item}`, which order {} does not contain",
                despatch.number, despatch.order_number
            ));
        }
        if *units < 0 {
            return Err(format!(
                "despatch {} ships {units} unit(s) of `{item}`: not a quantity",
                despatch.number
            ));
        }
        let rooms: Vec<Room> = lines.iter().map(|(_, room)| *room).collect();
        let Some(split) = hand_made::split(*units, &rooms) else {
            // Only ctpvx's own deliveries bound a despatch: deliveries made by hand never
            // make one unbookable.
            let ours: Vec<Open> = rooms.iter().map(|r| r.ours).collect();
            let room = pack_split::capacity(&ours);
            return Err(if *units > room {
                format!(
                    "despatch {} ships {} more unit(s) of `{item}` than order {} has left to deliver",
                    despatch.number,
                    units - room,
                    despatch.order_number
                )
            } else {
                format!(
                    "despatch {} ships {units} unit(s) of `{item}`, which do not split into the packs order {} has left to deliver",
                    despatch.number, despatch.order_number
                )
            });
        };
        for (((line, _), take), over) in lines.iter().zip(split.takes).zip(split.overlap) {
            if take == 0 {
                continue;
            }
            delivered.add(line.id, take);
            if let Some(part_delivered) = in_part_delivered.as_mut() {
                part_delivered.add(line.id, take);
            }
            match items.iter_mut().find(|i| i.id == line.id) {
                Some(existing) => existing.quantity += take,
                None => items.push(DeliveryItem {
                    id: line.id.to_string(),
                    quantity: take,
                }),
            }
            if over > 0 {
                overlap.push(OverlapLine {
                    line_id: line.id.to_string(),
                    sku: line.sku.clone(),
                    units: over,
                });
            }
        }
    }
    Ok(Assigned { items, overlap })
}

/// What line `c` may still take: its quantity less what was delivered, and within a split
/// order's part its share less what the part's deliveries took; each counted over every
/// delivery and over ctpvx's alone.
fn room(
    c: &Candidate<'_>,
    delivered: &Delivered,
    part: &PartOfDespatch,
    in_part_delivered: Option<&Delivered>,
) -> Room {
    let mut all = c.quantity - delivered.all_of(c.id);
    let mut ours = c.quantity - delivered.ours_of(c.id);
    if let (Some(shares), Some(part_delivered)) = (&part.line_units, in_part_delivered) {
        let share = shares.get(c.id).copied().unwrap_or(0);
        all = all.min(share - part_delivered.all_of(c.id));
        ours = ours.min(share - part_delivered.ours_of(c.id));
    }
    let factor = c.factor.max(1);
    Room {
        all: Open {
            units: all.max(0),
            factor,
        },
        ours: Open {
            units: ours.max(0),
            factor,
        },
    }
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

    fn no_custom_codes(_: &CustomLineItem) -> Option<String> {
        None
    }

    const EXPORT: &str = "ch-export";

    /// Packs as the tests' configuration has them, no custom line codes, the export channel.
    const LINES: Lines<'static> = Lines {
        item_of: &packs,
        custom_code_of: &no_custom_codes,
        export_channel_id: EXPORT,
    };

    fn names(actions: &[OrderUpdateAction]) -> Vec<&'static str> {
        actions.iter().map(OrderUpdateAction::name).collect()
    }

    #[test]
    fn a_full_despatch_is_one_delivery_with_parcels_and_shipped() {
        let o = order(&[("l1", "A", 2), ("l2", "B", 1)], json!([]), "Pending");
        let d = despatch("D1", &[("A", 2), ("B", 1)], &[Some("T1"), Some("T2")]);
        let actions = plan(&o, &[&d], &ShipmentRules::default(), &LINES).unwrap();
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
            plan(&o, &[&d], &ShipmentRules::default(), &LINES)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_split_order_goes_partial_then_shipped() {
        let first = despatch("D1", &[("A", 1)], &[None]);
        let o = order(&[("l1", "A", 2), ("l2", "B", 1)], json!([]), "Pending");
        let actions = plan(&o, &[&first], &ShipmentRules::default(), &LINES).unwrap();
        let json = serde_json::to_value(&actions).unwrap();
        assert_eq!(json[1]["shipmentState"], "Partial");
        let delivered =
            json!([{"key": "pvx-D1", "items": [{"id": "l1", "quantity": 1}], "parcels": []}]);
        let o = order(&[("l1", "A", 2), ("l2", "B", 1)], delivered, "Partial");
        let second = despatch("D2", &[("A", 1), ("B", 1)], &[Some("T9")]);
        let actions = plan(&o, &[&first, &second], &ShipmentRules::default(), &LINES).unwrap();
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
        let actions = plan(&o, &[&d], &ShipmentRules::default(), &LINES).unwrap();
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
            serde_json::to_value(plan(&o, &[&d], &ShipmentRules::default(), &LINES).unwrap())
                .unwrap();
        assert_eq!(
            json[0]["items"],
            json!([{"id": "l1", "quantity": 2}, {"id": "l2", "quantity": 1}])
        );
        let unknown = despatch("D2", &[("HAT", 1)], &[None]);
        let e = plan(&o, &[&unknown], &ShipmentRules::default(), &LINES).unwrap_err();
        assert!(e.contains("`HAT`") && e.contains("does not contain"), "{e}");
        let over = despatch("D3", &[("SOCK", 8)], &[None]);
        let e = plan(&o, &[&over], &ShipmentRules::default(), &LINES).unwrap_err();
        assert!(e.contains("1 more unit"), "{e}");
    }

    #[test]
    fn a_despatch_over_a_delivery_made_by_hand_is_booked_and_the_overlap_named() {
        // A person delivered 1 of l1's 2 units and l2's unit by hand (no `pvx-` key); the
        // warehouse then despatches the whole order.
        let by_hand = json!([{"id": "h", "key": "mc-1",
            "items": [{"id": "l1", "quantity": 1}, {"id": "l2", "quantity": 1}], "parcels": []}]);
        let o = order(&[("l1", "A", 2), ("l2", "B", 1)], by_hand, "Partial");
        let d = despatch("D1", &[("A", 2), ("B", 1)], &[Some("T1")]);
        let planned = plan(&o, &[&d], &ShipmentRules::default(), &LINES);
        assert!(planned.refused.is_empty(), "{:?}", planned.refused);
        let json = serde_json::to_value(&planned.actions).unwrap();
        assert_eq!(
            names(&planned.actions),
            ["addDelivery", "changeShipmentState"]
        );
        // The despatch as it left: commercetools does not bound deliveries by the ordered
        // quantities, and the units are what the warehouse shipped.
        assert_eq!(
            json[0]["items"],
            json!([{"id": "l1", "quantity": 2}, {"id": "l2", "quantity": 1}])
        );
        assert_eq!(json[0]["parcels"][0]["trackingData"]["trackingId"], "T1");
        assert_eq!(json[1]["shipmentState"], "Shipped");
        let overlap = &planned.overlaps["D1"];
        let units: Vec<(&str, i64)> = overlap
            .iter()
            .map(|l| (l.line_id.as_str(), l.units))
            .collect();
        assert_eq!(units, [("l1", 1), ("l2", 1)]);
        assert_eq!(overlap[0].sku, "A");
    }

    #[test]
    fn units_nobody_delivered_go_first_and_our_own_over_delivery_is_still_refused() {
        // l1 was delivered by hand, l2 (same SKU) is open: a despatch of 1 unit is l2's,
        // with no overlap.
        let by_hand = json!([{"key": "mc-1", "items": [{"id": "l1", "quantity": 1}]}]);
        let o = order(&[("l1", "A", 1), ("l2", "A", 1)], by_hand, "Partial");
        let d = despatch("D1", &[("A", 1)], &[None]);
        let planned = plan(&o, &[&d], &ShipmentRules::default(), &LINES);
        assert!(planned.overlaps.is_empty(), "{:?}", planned.overlaps);
        let json = serde_json::to_value(&planned.actions).unwrap();
        assert_eq!(json[0]["items"], json!([{"id": "l2", "quantity": 1}]));

        // Our own despatches already delivered l1 and l2: one more unit is one too many, as
        // before, whatever a person delivered.
        let ours = json!([
            {"key": "pvx-D1", "items": [{"id": "l1", "quantity": 1}]},
            {"key": "pvx-D2", "items": [{"id": "l2", "quantity": 1}]},
            {"key": "mc-1", "items": [{"id": "l1", "quantity": 1}]}]);
        let o = order(&[("l1", "A", 1), ("l2", "A", 1)], ours, "Shipped");
        let d = despatch("D3", &[("A", 1)], &[None]);
        let e = plan(&o, &[&d], &ShipmentRules::default(), &LINES).unwrap_err();
        assert!(e.contains("1 more unit(s) of `A`"), "{e}");
    }

    #[test]
    fn a_hand_made_delivery_in_a_split_order_s_part_does_not_refuse_its_despatch() {
        // Part 2 (`office`) had li-2 delivered by hand in its shipping: its despatch of B is
        // booked over it.
        let mut o = split_order();
        o.shipping[1].shipping_info.as_mut().unwrap().deliveries[0]["key"] = json!("mc-1");
        let mut d = despatch("D7", &[("B", 1)], &[Some("T7")]);
        d.order_number = "N1-2".into();
        let planned = plan(&o, &[&d], &ShipmentRules::default(), &LINES);
        assert!(planned.refused.is_empty(), "{:?}", planned.refused);
        let json = serde_json::to_value(&planned.actions).unwrap();
        assert_eq!(json[0]["shippingKey"], "office");
        assert_eq!(json[0]["items"], json!([{"id": "li-2", "quantity": 1}]));
        assert_eq!(planned.overlaps["D7"][0].units, 1);
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
        let actions = plan(&o, &[&d], &rules, &LINES).unwrap();
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

    /// A Multiple-mode order split in two parts, `N1-1` (1 × A to `home`) and `N1-2` (2 × A,
    /// 1 × B to `office`), marked for both; a gift wrap exported under `WRAP`.
    fn split_order() -> Order {
        serde_json::from_value(json!({
            "id": "o-1", "version": 3, "orderNumber": "N1", "shipmentState": "Pending",
            "shippingMode": "Multiple",
            "shipping": [
                {"shippingKey": "home", "shippingAddress": {"key": "home", "country": "GB", "city": "Leeds", "streetName": "A St"},
                 "shippingInfo": {"shippingMethodName": "Standard", "deliveries": []}},
                {"shippingKey": "office", "shippingAddress": {"key": "office", "country": "GB", "city": "York", "streetName": "B Rd"},
                 "shippingInfo": {"shippingMethodName": "Next Day", "deliveries": [
                     {"id": "d-0", "key": "pvx-OLD", "items": [{"id": "li-2", "quantity": 1}], "parcels": []}]}}
            ],
            "lineItems": [
                {"id": "li-1", "quantity": 3, "variant": {"sku": "A"},
                 "shippingDetails": {"valid": true, "targets": [
                     {"addressKey": "home", "quantity": 1, "shippingMethodKey": "home"},
                     {"addressKey": "office", "quantity": 2, "shippingMethodKey": "office"}]}},
                {"id": "li-2", "quantity": 1, "variant": {"sku": "B"},
                 "shippingDetails": {"valid": true, "targets": [{"addressKey": "office", "quantity": 1, "shippingMethodKey": "office"}]}}
            ],
            "customLineItems": [{"id": "c-1", "slug": "gift-wrap", "quantity": 1,
                 "shippingDetails": {"valid": true, "targets": [{"addressKey": "home", "quantity": 1, "shippingMethodKey": "home"}]}}],
            "syncInfo": [
                {"channel": {"typeId": "channel", "id": EXPORT}, "externalId": "N1-1"},
                {"channel": {"typeId": "channel", "id": EXPORT}, "externalId": "N1-2"}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn a_despatch_of_a_split_order_books_its_part_in_its_shipping() {
        let o = split_order();
        let mut d = despatch("D2", &[("A", 2)], &[Some("T2")]);
        d.order_number = "N1-2".into();
        let json =
            serde_json::to_value(plan(&o, &[&d], &ShipmentRules::default(), &LINES).unwrap())
                .unwrap();
        assert_eq!(json[0]["action"], "addDelivery");
        assert_eq!(json[0]["shippingKey"], "office", "{json}");
        assert_eq!(json[0]["items"], json!([{"id": "li-1", "quantity": 2}]));
        assert!(
            json[0].get("address").is_none(),
            "Multiple mode: the shipping has it"
        );
        // li-2 was delivered in `office` already (a delivery under shipping[1]); li-1's 2 of 3
        // make the order Partial, not Shipped.
        assert_eq!(json[1]["shipmentState"], "Partial");

        // Part 1's despatch goes to `home`. Its lines are part 1's only: B is not among them,
        // and 2 units of A are more than its 1, so such despatches are refused rather than
        // booked against another part's units.
        let mut d = despatch("D1", &[("A", 1)], &[None]);
        d.order_number = "N1-1".into();
        let json =
            serde_json::to_value(plan(&o, &[&d], &ShipmentRules::default(), &LINES).unwrap())
                .unwrap();
        assert_eq!(json[0]["shippingKey"], "home");
        let mut other_line = despatch("D9", &[("B", 1)], &[None]);
        other_line.order_number = "N1-1".into();
        let e = plan(&o, &[&other_line], &ShipmentRules::default(), &LINES).unwrap_err();
        assert!(e.contains("ships item `B`"), "{e}");
        let mut too_many = despatch("D8", &[("A", 2)], &[None]);
        too_many.order_number = "N1-1".into();
        let e = plan(&o, &[&too_many], &ShipmentRules::default(), &LINES).unwrap_err();
        assert!(e.contains("1 more unit(s) of `A`"), "{e}");
        // Part 2 has had 1 × B delivered in `office` already: another B is one too many.
        let mut again = despatch("D7", &[("B", 1)], &[None]);
        again.order_number = "N1-2".into();
        let e = plan(&o, &[&again], &ShipmentRules::default(), &LINES).unwrap_err();
        assert!(e.contains("1 more unit(s) of `B`"), "{e}");
    }

    #[test]
    fn a_multiple_mode_order_of_one_shipping_is_delivered_with_its_key() {
        let mut o = split_order();
        o.shipping.truncate(1);
        o.line_items.truncate(1);
        o.line_items[0].shipping_details = None;
        o.custom_line_items.clear();
        o.sync_info.truncate(1);
        o.sync_info[0].external_id = Some("N1".into());
        let d = despatch("D1", &[("A", 3)], &[None]);
        let json =
            serde_json::to_value(plan(&o, &[&d], &ShipmentRules::default(), &LINES).unwrap())
                .unwrap();
        assert_eq!(json[0]["shippingKey"], "home", "{json}");
        assert_eq!(json[0]["items"], json!([{"id": "li-1", "quantity": 3}]));
    }

    #[test]
    fn a_split_order_that_changed_since_its_export_is_left_to_a_person() {
        let mut o = split_order();
        // A third shipping now takes units: the two marks no longer tell the parts.
        o.shipping.push(o.shipping[1].clone());
        o.shipping[2].shipping_key = "third".into();
        o.line_items[1].shipping_details = serde_json::from_value(json!(
            {"valid": true, "targets": [{"addressKey": "x", "quantity": 1, "shippingMethodKey": "third"}]}
        ))
        .unwrap();
        let mut d = despatch("D2", &[("A", 2)], &[None]);
        d.order_number = "N1-2".into();
        let e = plan(&o, &[&d], &ShipmentRules::default(), &LINES).unwrap_err();
        assert!(e.contains("now maps to 3") && e.contains("by hand"), "{e}");
    }

    #[test]
    fn an_exported_custom_line_item_is_delivered_under_its_code() {
        fn wrap(c: &CustomLineItem) -> Option<String> {
            (c.slug.as_deref() == Some("gift-wrap")).then(|| "WRAP".to_string())
        }
        let lines = Lines {
            custom_code_of: &wrap,
            ..LINES
        };
        let o = split_order();
        let mut d = despatch("D1", &[("A", 1), ("WRAP", 1)], &[None]);
        d.order_number = "N1-1".into();
        let json =
            serde_json::to_value(plan(&o, &[&d], &ShipmentRules::default(), &lines).unwrap())
                .unwrap();
        assert_eq!(
            json[0]["items"],
            json!([{"id": "li-1", "quantity": 1}, {"id": "c-1", "quantity": 1}])
        );
        // Without the code the despatch names an item the order does not have.
        let e = plan(&o, &[&d], &ShipmentRules::default(), &LINES).unwrap_err();
        assert!(e.contains("`WRAP`"), "{e}");
    }

    #[test]
    fn a_single_mode_part_sent_to_an_item_address_carries_the_address() {
        let o: Order = serde_json::from_value(json!({
            "id": "o-1", "version": 3, "orderNumber": "N1", "shipmentState": "Pending",
            "shippingAddress": {"country": "GB", "city": "Leeds", "streetName": "A St"},
            "itemShippingAddresses": [{"key": "gran", "country": "GB", "city": "York", "streetName": "B Rd"}],
            "shippingInfo": {"shippingMethodName": "Standard", "deliveries": []},
            "lineItems": [{"id": "li-1", "quantity": 3, "variant": {"sku": "A"},
                "shippingDetails": {"valid": true, "targets": [{"addressKey": "gran", "quantity": 2}]}}],
            "syncInfo": [
                {"channel": {"typeId": "channel", "id": EXPORT}, "externalId": "N1-1"},
                {"channel": {"typeId": "channel", "id": EXPORT}, "externalId": "N1-2"}
            ]
        }))
        .unwrap();
        let mut d = despatch("D2", &[("A", 2)], &[None]);
        d.order_number = "N1-2".into();
        let json =
            serde_json::to_value(plan(&o, &[&d], &ShipmentRules::default(), &LINES).unwrap())
                .unwrap();
        assert!(json[0].get("shippingKey").is_none(), "{json}");
        assert_eq!(json[0]["address"]["city"], "York");
        assert_eq!(json[0]["items"], json!([{"id": "li-1", "quantity": 2}]));
    }
}
