//! Stock invariants: every commercetools entry of a managed (sku, channel) at its target, and
//! no unit sold that Peoplevox could not allocate.

use std::collections::BTreeMap;

use ctpvx_shared::domain::sellable;
use ctpvx_shared::mapping::SkuMap;

use crate::testbed::Testbed;

/// One entry off its target.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    /// Peoplevox site.
    pub site: String,
    /// commercetools SKU.
    pub sku: String,
    /// What the formula gives.
    pub target: i64,
    /// What commercetools holds (`None`: no entry).
    pub actual: Option<i64>,
}

/// Peoplevox units of unexported, uncancelled commercetools orders per (channel id, item).
/// Summed from the simulator's own records, independently of the flow's `pending` module, so
/// that a mistake there cannot vouch for itself (the pack table is configuration, shared).
fn pending(bed: &Testbed, skus: &SkuMap) -> BTreeMap<(String, String), i64> {
    let mut pending = BTreeMap::new();
    for order in bed.ct.orders() {
        if order.sync_info_for(&bed.export_channel_id).is_some()
            || order.order_state.as_deref() == Some("Cancelled")
        {
            continue;
        }
        for line in &order.line_items {
            let (Some(sku), Some(channel)) = (
                line.variant.sku.as_deref(),
                line.supply_channel.as_ref().and_then(|c| c.id.as_deref()),
            ) else {
                continue;
            };
            let (item, factor) = skus.item_of(sku);
            *pending
                .entry((channel.to_string(), item.to_string()))
                .or_insert(0) += line.quantity * i64::from(factor);
        }
    }
    pending
}

/// Entries whose `quantityOnStock` differs from available − pending − buffer, for every item
/// Peoplevox holds at a configured site. Meaningful once the queues have drained.
pub fn mismatches(bed: &Testbed) -> Vec<Mismatch> {
    let skus = SkuMap::new(&bed.config.orders.units_of_measure);
    let pending = pending(bed, &skus);
    let mut out = Vec::new();
    for (site, item, stock) in bed.pvx.stock_positions() {
        let Some(channel) = bed.site_channels.get(&site) else {
            continue;
        };
        let buffer = i64::from(bed.config.stock.buffer(&site));
        let pending_units = pending
            .get(&(channel.clone(), item.clone()))
            .copied()
            .unwrap_or(0);
        for (sku, factor) in skus.skus_of(&item) {
            let target = sellable(stock.available, pending_units, buffer, factor);
            let actual = bed
                .ct
                .inventory_entry(&sku, Some(channel))
                .map(|e| e.quantity_on_stock);
            if actual != Some(target) {
                out.push(Mismatch {
                    site: site.clone(),
                    sku,
                    target,
                    actual,
                });
            }
        }
    }
    out
}

/// Units sold in commercetools that Peoplevox could not allocate.
pub fn oversold_units(bed: &Testbed) -> i64 {
    bed.pvx.shortfall_total()
}
