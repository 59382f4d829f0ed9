//! Stock invariants: every commercetools entry of a managed (sku, channel) at the quantity the
//! rule in docs/architecture.md ("How stock stays right") gives, and no unit sold that Peoplevox could not allocate.
//!
//! The expected quantity is worked out here from the two simulators' own state and the
//! configuration, by the rule as documented ("How stock stays right"): Peoplevox's available
//! units at the site, less the units of the commercetools orders Peoplevox does not have yet,
//! less the site's safety buffer, in the SKU's units, rounded down, never below 0. Nothing of
//! the stock flow is used (neither its formula nor its pack table nor its pending-order
//! query), so that a mistake there cannot vouch for itself. Which orders Peoplevox has is read
//! from Peoplevox, not from the export marks the connector writes in commercetools.
//!
//! Meaningful once the queues have drained. Orders imported into commercetools that the
//! export leaves alone are not told apart (the scenarios only check out orders).

use std::collections::{BTreeMap, BTreeSet};

use ctpvx_shared::commercetools::types::Order;
use ctpvx_shared::config::UnitOfMeasure;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::sim::peoplevox::SimSalesOrder;
use crate::testbed::Testbed;

/// One entry off its expected quantity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    /// Peoplevox site.
    pub site: String,
    /// commercetools SKU.
    pub sku: String,
    /// What the documented rule gives.
    pub target: i64,
    /// What commercetools holds (`None`: no entry).
    pub actual: Option<i64>,
}

/// Everything the expected quantities depend on, as read from the simulators and the
/// configuration.
#[derive(Debug, Clone, Default)]
pub struct StockWorld {
    /// `(site, item, available)` of every position Peoplevox holds.
    pub available: Vec<(String, String, i64)>,
    /// Site → commercetools supply channel id (the configured sites).
    pub channels: BTreeMap<String, String>,
    /// Site → safety buffer in Peoplevox units.
    pub buffers: BTreeMap<String, i64>,
    /// `orders.units_of_measure`: commercetools SKU → Peoplevox item and units per SKU unit.
    pub units: BTreeMap<String, UnitOfMeasure>,
    /// Every commercetools order.
    pub orders: Vec<Order>,
    /// Ids and numbers of the commercetools orders Peoplevox has a sales order for.
    pub in_peoplevox: BTreeSet<String>,
    /// Orders created at or before this are too old to hold stock (`stock.pending_order_days`).
    pub orders_since: Option<OffsetDateTime>,
}

impl StockWorld {
    /// What the two simulators and the test bed's configuration say now.
    pub fn read(bed: &Testbed) -> Self {
        let config = &bed.config;
        let since = OffsetDateTime::now_utc()
            - time::Duration::days(i64::from(config.stock.pending_order_days));
        Self {
            available: bed
                .pvx
                .stock_positions()
                .into_iter()
                .map(|(site, item, stock)| (site, item, stock.available))
                .collect(),
            channels: bed.site_channels.clone(),
            buffers: bed
                .site_channels
                .keys()
                .map(|site| (site.clone(), i64::from(config.stock.buffer(site))))
                .collect(),
            units: config.orders.units_of_measure.clone(),
            orders: bed.ct.orders(),
            in_peoplevox: peoplevox_references(&bed.pvx.sales_orders()),
            orders_since: Some(since),
        }
    }

    /// The Peoplevox item and units per SKU unit behind a commercetools SKU.
    fn item_of<'a>(&'a self, sku: &'a str) -> (&'a str, i64) {
        match self.units.get(sku) {
            Some(uom) => (
                uom.item_code.as_deref().unwrap_or(sku),
                i64::from(uom.factor),
            ),
            None => (sku, 1),
        }
    }

    /// The SKUs that sell `item`: its own code and every pack of it.
    fn skus_selling<'a>(&'a self, item: &'a str) -> BTreeSet<&'a str> {
        let mut skus: BTreeSet<&str> = self
            .units
            .keys()
            .map(String::as_str)
            .filter(|sku| self.item_of(sku).0 == item)
            .collect();
        skus.insert(item);
        skus
    }

    /// Units per (channel, item) of the orders that hold stock Peoplevox has not allocated:
    /// not cancelled, not too old, and not in Peoplevox.
    fn unallocated(&self) -> BTreeMap<(&str, &str), i64> {
        let mut units = BTreeMap::new();
        for order in &self.orders {
            let in_peoplevox = self.in_peoplevox.contains(&order.id)
                || order
                    .order_number
                    .as_ref()
                    .is_some_and(|n| self.in_peoplevox.contains(n));
            let cancelled = order.order_state.as_deref() == Some("Cancelled");
            let too_old = self.orders_since.is_some_and(|since| {
                order
                    .created_at
                    .as_deref()
                    .and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok())
                    .is_some_and(|at| at <= since)
            });
            if in_peoplevox || cancelled || too_old {
                continue;
            }
            for line in &order.line_items {
                let (Some(sku), Some(channel)) = (
                    line.variant.sku.as_deref(),
                    line.supply_channel.as_ref().and_then(|c| c.id.as_deref()),
                ) else {
                    continue;
                };
                let (item, factor) = self.item_of(sku);
                *units.entry((channel, item)).or_insert(0) += line.quantity.max(0) * factor;
            }
        }
        units
    }

    /// The expected `quantityOnStock` per (site, SKU) of every item Peoplevox holds at a
    /// configured site.
    pub fn expected(&self) -> BTreeMap<(String, String), i64> {
        let unallocated = self.unallocated();
        let mut expected = BTreeMap::new();
        for (site, item, available) in &self.available {
            let Some(channel) = self.channels.get(site) else {
                continue;
            };
            let taken = unallocated
                .get(&(channel.as_str(), item.as_str()))
                .copied()
                .unwrap_or(0);
            let buffer = self.buffers.get(site).copied().unwrap_or(0);
            let free = available - taken - buffer;
            for sku in self.skus_selling(item) {
                let per_unit = self.item_of(sku).1.max(1);
                let quantity = if free > 0 { free / per_unit } else { 0 };
                expected.insert((site.clone(), sku.to_string()), quantity);
            }
        }
        expected
    }
}

/// The commercetools order ids (`CustomerPurchaseOrderReferenceNumber`) and numbers
/// (`SalesOrderNumber`) Peoplevox holds sales orders for.
fn peoplevox_references(sales_orders: &[SimSalesOrder]) -> BTreeSet<String> {
    let mut references = BTreeSet::new();
    for so in sales_orders {
        references.insert(so.number.clone());
        if let Some(id) = so.fields.get("CustomerPurchaseOrderReferenceNumber") {
            references.insert(id.clone());
        }
    }
    references
}

/// The expected quantities that `actual` (SKU at a site → `quantityOnStock`) does not hold.
pub fn compare(
    expected: &BTreeMap<(String, String), i64>,
    actual: impl Fn(&str, &str) -> Option<i64>,
) -> Vec<Mismatch> {
    expected
        .iter()
        .filter_map(|((site, sku), target)| {
            let actual = actual(site, sku);
            (actual != Some(*target)).then(|| Mismatch {
                site: site.clone(),
                sku: sku.clone(),
                target: *target,
                actual,
            })
        })
        .collect()
}

/// Entries whose `quantityOnStock` differs from the documented rule, for every item Peoplevox
/// holds at a configured site.
pub fn mismatches(bed: &Testbed) -> Vec<Mismatch> {
    let world = StockWorld::read(bed);
    compare(&world.expected(), |site, sku| {
        let channel = bed.site_channels.get(site)?;
        bed.ct
            .inventory_entry(sku, Some(channel))
            .map(|e| e.quantity_on_stock)
    })
}

/// Units sold in commercetools that Peoplevox could not allocate.
pub fn oversold_units(bed: &Testbed) -> i64 {
    bed.pvx.shortfall_total()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: &str, state: &str, lines: &[(&str, &str, i64)]) -> Order {
        let lines: Vec<_> = lines
            .iter()
            .enumerate()
            .map(|(n, (sku, channel, quantity))| {
                serde_json::json!({
                    "id": format!("{id}-{n}"), "productId": "p", "quantity": quantity,
                    "variant": {"sku": sku},
                    "supplyChannel": {"typeId": "channel", "id": channel}
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "id": id, "orderNumber": format!("N-{id}"), "orderState": state,
            "createdAt": "2026-01-01T00:00:00.000Z", "lineItems": lines
        }))
        .unwrap()
    }

    /// 20 SOCK at UK (buffer 2), packs of 3; orders: 4 socks and 1 pack not in Peoplevox, 5
    /// socks in Peoplevox (by id), 6 by number, 7 cancelled, 8 at another channel.
    fn world() -> StockWorld {
        StockWorld {
            available: vec![
                ("UK".into(), "SOCK".into(), 20),
                ("XX".into(), "SOCK".into(), 9),
            ],
            channels: BTreeMap::from([("UK".into(), "ch-uk".into())]),
            buffers: BTreeMap::from([("UK".into(), 2)]),
            units: BTreeMap::from([(
                "SOCK-3PK".into(),
                UnitOfMeasure {
                    item_code: Some("SOCK".into()),
                    factor: 3,
                },
            )]),
            orders: vec![
                order(
                    "a",
                    "Open",
                    &[("SOCK", "ch-uk", 4), ("SOCK-3PK", "ch-uk", 1)],
                ),
                order("b", "Open", &[("SOCK", "ch-uk", 5)]),
                order("c", "Confirmed", &[("SOCK", "ch-uk", 6)]),
                order("d", "Cancelled", &[("SOCK", "ch-uk", 7)]),
                order("e", "Open", &[("SOCK", "ch-eu", 8)]),
            ],
            in_peoplevox: BTreeSet::from(["b".into(), "N-c".into()]),
            orders_since: None,
        }
    }

    fn at(expected: &BTreeMap<(String, String), i64>, sku: &str) -> i64 {
        expected[&("UK".to_string(), sku.to_string())]
    }

    #[test]
    fn the_expected_quantity_follows_the_documented_rule() {
        let expected = world().expected();
        // 20 available - (4 + 3) not in Peoplevox - 2 buffer = 11 socks, 3 packs.
        assert_eq!(at(&expected, "SOCK"), 11);
        assert_eq!(at(&expected, "SOCK-3PK"), 3);
        assert_eq!(expected.len(), 2, "an unconfigured site is not checked");
        let mut short = world();
        short.available[0].2 = 8;
        assert_eq!(at(&short.expected(), "SOCK"), 0, "never below 0");
        let mut old = world();
        old.orders_since = OffsetDateTime::parse("2026-06-01T00:00:00Z", &Rfc3339).ok();
        assert_eq!(
            at(&old.expected(), "SOCK"),
            18,
            "orders too old hold nothing"
        );
    }

    #[test]
    fn a_wrong_quantity_in_commercetools_is_a_mismatch() {
        let expected = world().expected();
        let right = |_: &str, sku: &str| Some(if sku == "SOCK" { 11 } else { 3 });
        assert_eq!(compare(&expected, right), vec![]);
        // What a connector that forgot the unexported orders would write.
        let oversold = |_: &str, sku: &str| Some(if sku == "SOCK" { 18 } else { 6 });
        let found = compare(&expected, oversold);
        assert_eq!(
            found,
            vec![
                Mismatch {
                    site: "UK".into(),
                    sku: "SOCK".into(),
                    target: 11,
                    actual: Some(18)
                },
                Mismatch {
                    site: "UK".into(),
                    sku: "SOCK-3PK".into(),
                    target: 3,
                    actual: Some(6)
                },
            ]
        );
        let missing = |_: &str, sku: &str| (sku == "SOCK").then_some(11);
        assert_eq!(
            compare(&expected, missing).len(),
            1,
            "a missing entry counts"
        );
    }

    /// The checker against the simulators: a wrong entry is found, an order placed and not yet
    /// in Peoplevox lowers what is expected.
    #[tokio::test]
    async fn the_checker_finds_a_wrong_entry_in_the_simulators() {
        let bed = Testbed::start(crate::testbed::TestbedOptions::default())
            .await
            .unwrap();
        let uk = bed.site_channels["UK-DC"].clone();
        bed.pvx.set_stock("UK-DC", "HAT", 10, 10);
        bed.ct.insert_inventory("HAT", Some(&uk), 9).unwrap();
        assert_eq!(
            mismatches(&bed),
            vec![Mismatch {
                site: "UK-DC".into(),
                sku: "HAT".into(),
                target: 10,
                actual: Some(9)
            }]
        );
        let entry = bed.ct.inventory_entry("HAT", Some(&uk)).unwrap();
        bed.ct
            .apply_inventory_actions(
                &entry.id,
                vec![serde_json::json!({"action": "addQuantity", "quantity": 1})],
            )
            .unwrap();
        assert_eq!(mismatches(&bed), vec![]);
        let mut order = crate::scenario::order_from(0, 1, &["HAT".to_string()], |_| uk.clone());
        order["inventoryMode"] = "TrackOnly".into();
        order["lineItems"][0]["quantity"] = 4.into();
        bed.ct.place_order(order).unwrap().unwrap();
        assert_eq!(mismatches(&bed), vec![], "10 - 4 = 6 expected, 6 held");
    }
}
