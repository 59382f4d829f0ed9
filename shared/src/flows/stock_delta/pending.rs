//! Units that commercetools has sold but Peoplevox had not allocated when a stock figure was
//! true: lines of orders without the export mark (not yet in Peoplevox, or held), and lines of
//! orders whose mark is younger than the figure (Peoplevox allocated them after the figure, so
//! it does not count them). Subtracting them is what stops the storefront re-selling stock
//! that an order in flight already took.
//!
//! commercetools is asked (one query per 500 SKUs) rather than a copy kept here, so that an
//! order placed a moment ago counts even before its message reached the order flow. The mark's
//! `syncedAt` is stamped by the export after Peoplevox answered the import
//! ([`crate::commercetools::actions::export_mark`]), so a mark never looks older than the
//! allocation it stands for.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::commercetools::CtClient;
use crate::commercetools::types::Order;
use crate::flows::order_export::left_alone;
use crate::mapping::SkuMap;
use crate::store::StateStore;

/// Units of one order on one (supply channel, item), with when the order was marked exported
/// (epoch ms, rounded up; `None`: not marked, or at a time that cannot be read).
#[derive(Debug, Clone, Copy)]
struct Units {
    marked_at_ms: Option<i64>,
    units: i64,
}

/// The order lines that may still be unallocated, per (supply channel id, item code).
#[derive(Debug, Default)]
pub(super) struct Pending(BTreeMap<(String, String), Vec<Units>>);

impl Pending {
    /// Units on `channel` of `item` that Peoplevox had not allocated at `figure_at_ms`: orders
    /// not marked, or marked after the figure.
    pub(super) fn units(&self, channel: &str, item: &str, figure_at_ms: i64) -> i64 {
        self.0
            .get(&(channel.to_string(), item.to_string()))
            .into_iter()
            .flatten()
            .filter(|u| u.marked_at_ms.is_none_or(|at| at > figure_at_ms))
            .map(|u| u.units)
            .sum()
    }
}

/// Reads the orders holding any of `skus` that Peoplevox may not have allocated at
/// `oldest_figure_ms` (see [`Pending::units`] for a later figure), and sums their lines. An
/// imported order the export leaves alone (`orders.export_imported` false, remembered in
/// `state`) never goes to Peoplevox and takes no stock there.
pub(super) async fn pending_units(
    ct: &CtClient,
    state: &dyn StateStore,
    export_channel_id: &str,
    sku_map: &SkuMap,
    skus: &[String],
    days: u32,
    oldest_figure_ms: i64,
) -> Result<Pending, String> {
    if skus.is_empty() {
        return Ok(Pending::default());
    }
    let since = OffsetDateTime::now_utc() - time::Duration::days(i64::from(days));
    let since = since
        .format(&Rfc3339)
        .map_err(|e| format!("formatting a date: {e}"))?;
    let marked_after = OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(oldest_figure_ms).saturating_mul(1_000_000),
    )
    .ok()
    .and_then(|at| at.format(&Rfc3339).ok());
    let orders = ct
        .query_unexported_orders(export_channel_id, skus, &since, marked_after.as_deref())
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
    let mut pending = Pending::default();
    for order in orders.iter().filter(|o| !alone.contains(&o.id)) {
        let marked_at_ms = marked_at_ms(order, export_channel_id);
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
            pending
                .0
                .entry((channel.to_string(), item.to_string()))
                .or_default()
                .push(Units {
                    marked_at_ms,
                    units: line.quantity.max(0) * i64::from(factor),
                });
        }
    }
    Ok(pending)
}

/// When the order got its export mark, rounded up to the millisecond; an unreadable stamp
/// reads as no mark, so the order counts for every figure (low, never oversold).
fn marked_at_ms(order: &Order, export_channel_id: &str) -> Option<i64> {
    let stamp = order
        .sync_info_for(export_channel_id)?
        .synced_at
        .as_deref()?;
    let nanos = OffsetDateTime::parse(stamp, &Rfc3339)
        .ok()?
        .unix_timestamp_nanos();
    i64::try_from(nanos.div_euclid(1_000_000) + i128::from(nanos.rem_euclid(1_000_000) > 0)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(lines: &[(Option<i64>, i64)]) -> Pending {
        let units = lines
            .iter()
            .map(|&(marked_at_ms, units)| Units {
                marked_at_ms,
                units,
            })
            .collect();
        Pending(BTreeMap::from([(
            ("ch".to_string(), "A".to_string()),
            units,
        )]))
    }

    #[test]
    fn an_order_marked_after_the_figure_is_still_pending_for_it() {
        let p = pending(&[(None, 1), (Some(100), 10), (Some(200), 100)]);
        assert_eq!(p.units("ch", "A", 50), 111);
        assert_eq!(
            p.units("ch", "A", 100),
            101,
            "marked at the figure's time: allocated"
        );
        assert_eq!(p.units("ch", "A", 150), 101);
        assert_eq!(
            p.units("ch", "A", 250),
            1,
            "only the unmarked order is left"
        );
        assert_eq!(p.units("ch", "B", 0), 0);
    }

    #[test]
    fn mark_times_round_up_and_an_unreadable_one_counts_as_no_mark() {
        let order = |synced_at: &str| -> Order {
            serde_json::from_value(serde_json::json!({
                "id": "o",
                "syncInfo": [{"channel": {"typeId": "channel", "id": "exp"}, "syncedAt": synced_at}]
            }))
            .unwrap()
        };
        assert_eq!(
            marked_at_ms(&order("1970-01-01T00:00:01.000Z"), "exp"),
            Some(1_000)
        );
        assert_eq!(
            marked_at_ms(&order("1970-01-01T00:00:01.000000001Z"), "exp"),
            Some(1_001)
        );
        assert_eq!(marked_at_ms(&order("yesterday"), "exp"), None);
        assert_eq!(marked_at_ms(&order("1970-01-01T00:00:01Z"), "other"), None);
    }
}
