//! After orders reach Peoplevox, the stock of their items is rechecked: Peoplevox has just
//! allocated them (its `Available` dropped) while they may still have counted as unallocated
//! a moment ago. One recheck message per site covers a whole batch.

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
    for (site, items) in by_site.into_iter().filter(|(_, items)| !items.is_empty()) {
        let message = StockMessage::Recheck {
            id: uuid::Uuid::new_v4().to_string(),
            site: site.to_string(),
            items: items.into_iter().collect(),
            reread: false,
            source: "order-export".into(),
            not_before_ms: now_epoch_ms(),
        };
        if let Err(e) = queue
            .send(STOCK_QUEUE, &message.to_json(), &BTreeMap::new())
            .await
        {
            tracing::warn!(site, error = %e, "stock recheck after export not sent");
        }
    }
}
