//! Shipment invariants, read from the two simulated systems: one delivery per despatch, and
//! every tracking number Peoplevox knows on a commercetools parcel.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::testbed::Testbed;

/// What the two systems say about despatches.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShipmentCheck {
    /// Despatches in Peoplevox.
    pub despatches: usize,
    /// Deliveries in commercetools that came from a despatch (key `pvx-…`).
    pub deliveries: usize,
    /// Deliveries beyond the first for one despatch.
    pub duplicate_deliveries: usize,
    /// Despatches without a delivery.
    pub despatches_without_delivery: usize,
    /// Tracking numbers Peoplevox has that no commercetools parcel carries.
    pub missing_tracking: usize,
    /// Tracking numbers on more than one parcel.
    pub duplicate_tracking: usize,
}

/// Compares Peoplevox's despatches with commercetools' deliveries.
pub fn check(bed: &Testbed) -> ShipmentCheck {
    let mut per_key: BTreeMap<String, usize> = BTreeMap::new();
    let mut tracking_seen: BTreeMap<String, usize> = BTreeMap::new();
    for order in bed.ct.orders() {
        // Read as commercetools holds it: Single mode in `shippingInfo`, Multiple mode in each
        // `shipping[].shippingInfo` ([R] `cart/Shipping.raml`).
        let Some(json) = bed.ct.order_json(&order.id) else {
            continue;
        };
        let single = json["shippingInfo"]["deliveries"].as_array().cloned();
        let multiple = json["shipping"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["shippingInfo"]["deliveries"].as_array().cloned());
        for delivery in single.into_iter().chain(multiple).flatten() {
            let Some(key) = delivery.get("key").and_then(Value::as_str) else {
                continue;
            };
            *per_key.entry(key.to_string()).or_insert(0) += 1;
            for parcel in delivery["parcels"].as_array().into_iter().flatten() {
                if let Some(id) = parcel["trackingData"]["trackingId"].as_str() {
                    *tracking_seen.entry(id.to_string()).or_insert(0) += 1;
                }
            }
        }
    }
    // Another sales channel's despatches (its orders are not in commercetools) are not ours.
    let ours: BTreeSet<String> = bed
        .ct
        .orders()
        .into_iter()
        .filter_map(|o| o.order_number)
        .collect();
    let despatches: Vec<_> = bed
        .pvx
        .despatches()
        .into_iter()
        .filter(|d| ours.contains(&d.order_number))
        .collect();
    let known: BTreeSet<String> = despatches
        .iter()
        .map(|d| ctpvx_shared::flows::shipment_confirmed::deliveries::delivery_key(&d.number))
        .collect();
    let mut check = ShipmentCheck {
        despatches: despatches.len(),
        deliveries: per_key.values().sum(),
        duplicate_deliveries: per_key.values().map(|n| n.saturating_sub(1)).sum(),
        duplicate_tracking: tracking_seen.values().map(|n| n.saturating_sub(1)).sum(),
        ..ShipmentCheck::default()
    };
    check.despatches_without_delivery = known.iter().filter(|k| !per_key.contains_key(*k)).count();
    for despatch in &despatches {
        for package in &despatch.packages {
            if let Some(tracking) = &package.tracking
                && !tracking_seen.contains_key(tracking)
            {
                check.missing_tracking += 1;
            }
        }
    }
    check
}
