//! Short picks: how a short pick surfaces in Peoplevox is UNCONFIRMED, so once an order is
//! reported despatched (or a status says "short"), what Peoplevox despatched is compared with
//! what was ordered. One paged "Despatch summary" read per 100 orders of a batch.

use std::collections::BTreeMap;

use super::plan::ShortLine;
use crate::commercetools::types::Order;
use crate::mapping::SkuMap;
use crate::mapping::pack_split::{self, Open};
use crate::peoplevox::report::{Columns, KeyFilter, KeyedRead, read_keyed};
use crate::peoplevox::{PvxClient, PvxError};

/// The "Despatch summary" columns the short-pick check reads.
pub const SUMMARY_COLUMNS: Columns = Columns {
    required: &["Salesorder number", "Item code", "No of items"],
    read: &[],
};

/// Units despatched per order number and Peoplevox item code.
pub type Despatched = BTreeMap<String, BTreeMap<String, i64>>;

/// Reads the despatched units of these orders (every page, only their rows).
pub async fn despatched(
    pvx: &PvxClient,
    report: &str,
    order_numbers: &[String],
) -> Result<Despatched, PvxError> {
    let read = KeyedRead {
        report,
        columns: SUMMARY_COLUMNS,
        filters: vec![KeyFilter {
            column: "Salesorder number",
            values: order_numbers,
        }],
        also: None,
        order_by: "",
    };
    let mut found: Despatched = BTreeMap::new();
    for row in read_keyed(pvx, &read).await?.rows() {
        let (order, item, units) = (
            row.get("Salesorder number"),
            row.get("Item code"),
            row.get("No of items"),
        );
        if order.is_empty() || item.is_empty() {
            continue;
        }
        let units: i64 = units.split('.').next().unwrap_or("").parse().map_err(|_| {
            PvxError::Decode {
                operation: "GetReportData",
                reason: format!(
                    "{report}: `No of items` of {item} on order {order} is `{units}`, not a whole number"
                ),
            }
        })?;
        *found
            .entry(order.to_string())
            .or_default()
            .entry(item.to_string())
            .or_default() += units;
    }
    Ok(found)
}

/// The order's lines that Peoplevox did not despatch in full. An item's despatched units are
/// split over its SKUs' lines (packs) as the shipment flow splits them ([`pack_split`]): as many
/// as split exactly, packs first.
pub fn short_lines(
    order: &Order,
    despatched: Option<&BTreeMap<String, i64>>,
    skus: &SkuMap,
) -> Vec<ShortLine> {
    let despatched = despatched.cloned().unwrap_or_default();
    // Per Peoplevox item, its lines in order: (index in the order, SKU, quantity, factor).
    let mut by_item: BTreeMap<&str, Vec<(usize, &str, i64, u32)>> = BTreeMap::new();
    for (i, line) in order.line_items.iter().enumerate() {
        let Some(sku) = line.variant.sku.as_deref() else {
            continue;
        };
        let (item, factor) = skus.item_of(sku);
        by_item
            .entry(item)
            .or_default()
            .push((i, sku, line.quantity, factor.max(1)));
    }
    let mut covered = vec![0_i64; order.line_items.len()];
    for (item, lines) in &by_item {
        let opens: Vec<Open> = lines
            .iter()
            .map(|(_, _, quantity, factor)| Open {
                units: *quantity,
                factor: *factor,
            })
            .collect();
        let units = despatched.get(*item).copied().unwrap_or(0);
        let (takes, _) = pack_split::most(units, &opens);
        for ((i, ..), take) in lines.iter().zip(takes) {
            covered[*i] = take;
        }
    }
    let mut shorts: Vec<ShortLine> = Vec::new();
    for (line, covered) in order.line_items.iter().zip(covered) {
        let Some(sku) = line.variant.sku.as_deref() else {
            continue;
        };
        if covered < line.quantity {
            match shorts.iter_mut().find(|s| s.sku == sku) {
                Some(s) => {
                    s.ordered += line.quantity;
                    s.despatched += covered;
                }
                None => shorts.push(ShortLine {
                    sku: sku.to_string(),
                    ordered: line.quantity,
                    despatched: covered,
                }),
            }
        }
    }
    shorts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UnitOfMeasure;

    fn order() -> Order {
        serde_json::from_value(serde_json::json!({
            "id": "o", "version": 1,
            "lineItems": [
                {"id": "l1", "variant": {"sku": "A"}, "quantity": 3},
                {"id": "l2", "variant": {"sku": "B-2PK"}, "quantity": 2},
                {"id": "l3", "variant": {"sku": "C"}, "quantity": 1}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn names_each_short_line_in_commercetools_units() {
        let skus = SkuMap::new(&BTreeMap::from([(
            "B-2PK".to_string(),
            UnitOfMeasure {
                item_code: Some("B".into()),
                factor: 2,
            },
        )]));
        let despatched = BTreeMap::from([("A".to_string(), 2), ("B".to_string(), 4)]);
        let shorts = short_lines(&order(), Some(&despatched), &skus);
        assert_eq!(
            shorts,
            [
                ShortLine {
                    sku: "A".into(),
                    ordered: 3,
                    despatched: 2
                },
                ShortLine {
                    sku: "C".into(),
                    ordered: 1,
                    despatched: 0
                }
            ]
        );
        let all = BTreeMap::from([
            ("A".to_string(), 3),
            ("B".to_string(), 4),
            ("C".to_string(), 1),
        ]);
        assert!(short_lines(&order(), Some(&all), &skus).is_empty());
    }

    /// Issue 22 item 1: `SOCK` ×2 and `SOCK-3PK` ×1, and the warehouse despatched only the
    /// pack's 3 units. Line order would give the singles 2 and name the pack short; the pack
    /// took them, and the singles are short.
    #[test]
    fn a_despatched_pack_is_not_taken_for_singles() {
        let skus = crate::mapping::pack_units::sock_packs();
        let order: Order = serde_json::from_value(serde_json::json!({
            "id": "o", "version": 1,
            "lineItems": [
                {"id": "l1", "variant": {"sku": "SOCK"}, "quantity": 2},
                {"id": "l2", "variant": {"sku": "SOCK-3PK"}, "quantity": 1}
            ]
        }))
        .unwrap();
        let despatched = BTreeMap::from([("SOCK".to_string(), 3)]);
        assert_eq!(
            short_lines(&order, Some(&despatched), &skus),
            [ShortLine {
                sku: "SOCK".into(),
                ordered: 2,
                despatched: 0
            }]
        );
    }
}
