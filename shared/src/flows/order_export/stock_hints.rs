//! After orders reach Peoplevox, the stock of their items is rechecked: Peoplevox has just
//! allocated them (its `Available` dropped) while they may still have counted as unallocated
//! a moment ago. One recheck message per site covers a whole batch.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::{SalesOrder, StockMessage};
use crate::queues::STOCK_QUEUE;
use crate::store::{Queue, now_epoch_ms};

/// Sends the rechecks for these exported orders; a failed send is logged, not fatal (the next
/// stock event for the item, or the nightly reconciliation, corrects the figure).
pub(super) async fn send(queue: &dyn Queue, exported: &[&SalesOrder]) {
    let mut by_site: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for order in exported {
        by_site
            .entry(order.site.as_str())
            .or_default()
            .extend(order.lines.iter().map(|l| l.item_code.as_str().to_string()));
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
