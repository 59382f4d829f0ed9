//! After orders reach Peoplevox, the stock of their items is rechecked: Peoplevox has just
//! allocated them (its `Available` dropped), and a figure obtained between the allocation and
//! the export mark counts them twice, in `Available` and as unallocated orders (low, never
//! oversold: `stock_delta/targets.rs`). Only a figure obtained after the marks settles that,
//! so the recheck asks the stock flow for one not older than now (after the marks): it reuses
//! the ledger's figure when that is new enough (a callback that came after the export) and
//! otherwise reads Peoplevox, one report call per site and 100 items for a whole stock batch.
//! One recheck message per site covers a whole export batch.

use std::collections::{BTreeMap, BTreeSet};

use crate::commercetools::types::Order;
use crate::domain::{SalesOrder, StockMessage};
use crate::queues::STOCK_QUEUE;
use crate::store::{Queue, now_epoch_ms};

/// Sends the rechecks for these exported sales orders of `order`s; a failed send is logged,
/// not fatal (the next stock event for the item, or the nightly reconciliation, corrects the
/// figure). Only line items count: an exported custom line item (a fee, a service) is no
/// stock the storefront sells.
pub(super) async fn send(queue: &dyn Queue, exported: &[(&SalesOrder, &Order)]) {
    let mut by_site: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (sales_order, order) in exported {
        let items = sales_order
            .lines
            .iter()
            .filter(|l| order.line_items.iter().any(|li| li.id == l.ct_line_item_id))
            .map(|l| l.item_code.as_str().to_string());
        by_site
            .entry(sales_order.site.as_str())
            .or_default()
            .extend(items);
    }
    // A cancellation goes to Peoplevox as a status-only order, without lines: nothing to
    // recheck there (Peoplevox calls back when it frees the stock), and a recheck that names
    // no items is refused by the stock flow.
    // Called once the batch's marks are written: a figure from now on knows the allocations.
    let exported_at_ms = now_epoch_ms();
    for (site, items) in by_site.into_iter().filter(|(_, items)| !items.is_empty()) {
        let message = StockMessage::Recheck {
            id: uuid::Uuid::new_v4().to_string(),
            site: site.to_string(),
            items: items.into_iter().collect(),
            reread: true,
            source: "order-export".into(),
            not_before_ms: exported_at_ms,
        };
        if let Err(e) = queue
            .send(STOCK_QUEUE, &message.to_json(), &BTreeMap::new())
            .await
        {
            tracing::warn!(site, error = %e, "stock recheck after export not sent");
        }
    }
}
