//! Units that commercetools has sold but Peoplevox has not allocated yet: lines of orders
//! without the export mark (not yet in Peoplevox, or held), per supply channel and Peoplevox
//! item. Subtracting them is what stops the storefront re-selling stock that an order in
//! flight already took.
//!
//! commercetools is asked (one query per 500 SKUs) rather than a copy kept here, so that an
//! order placed a moment ago counts even before its message reached the order flow.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::commercetools::CtClient;
use crate::flows::order_export::left_alone;
use crate::mapping::SkuMap;
use crate::store::StateStore;

/// Pending Peoplevox units per (supply channel id, item code).
pub(super) type Pending = BTreeMap<(String, String), i64>;

/// Reads the unexported orders holding any of `skus` and sums their lines; an imported order
/// the export leaves alone (`orders.export_imported` false, remembered in `state`) never goes
/// to Peoplevox and takes no stock there.
pub(super) async fn pending_units(
    ct: &CtClient,
    state: &dyn StateStore,
    export_channel_id: &str,
    sku_map: &SkuMap,
    skus: &[String],
    days: u32,
) -> Result<Pending, String> {
    if skus.is_empty() {
        return Ok(Pending::new());
    }
    let since = OffsetDateTime::now_utc() - time::Duration::days(i64::from(days));
    let since = since
        .format(&Rfc3339)
        .map_err(|e| format!("formatting a date: {e}"))?;
    let orders = ct
        .query_unexported_orders(export_channel_id, skus, &since)
        .await
        .map_err(|e| format!("reading unexported orders from commercetools: {e}"))?;
    let ids: Vec<String> = orders.iter().map(|o| o.id.clone()).collect();
    let alone = if ids.is_empty() {
        Default::default()
    } else {
        left_alone(state, &ids)
            .await
            .map_err(|e| format!("reading the links of unexported orders: {e}"))?
    };
    let mut pending = Pending::new();
    for order in orders.iter().filter(|o| !alone.contains(&o.id)) {
        for line in &order.line_items {
            let (Some(sku), Some(channel)) = (
                line.variant.sku.as_deref(),
                line.supply_channel.as_ref().and_then(|c| c.id.as_deref()),
            ) else {
                // A line without a supply channel draws on channel-less stock, which ctpvx
                // does not manage.
                continue;
            };
            let (item, factor) = sku_map.item_of(sku);
            *pending
                .entry((channel.to_string(), item.to_string()))
                .or_insert(0) += line.quantity.max(0) * i64::from(factor);
        }
    }
    Ok(pending)
}
