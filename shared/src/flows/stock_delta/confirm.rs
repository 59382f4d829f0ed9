//! Confirming re-reads. Peoplevox's callback order is not documented, and an
//! AvailabilityChanges callback carries no time, so a late callback with an older figure would
//! win until the next movement. For every pair whose figure came from a callback, one delayed
//! recheck per site re-reads the figure from Peoplevox once the dust has settled.

use std::collections::BTreeMap;
use std::time::Duration;

use super::message::Key;
use crate::domain::StockMessage;
use crate::queues::STOCK_QUEUE;
use crate::store::{Queue, now_epoch_ms};

/// Sends the rechecks; returns how many pairs they cover. A failed send is logged: the
/// nightly reconciliation remains the net.
pub(super) async fn schedule(queue: &dyn Queue, keys: &[&Key], delay: Duration) -> usize {
    if delay.is_zero() || keys.is_empty() {
        return 0;
    }
    let mut by_site: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for key in keys {
        by_site.entry(&key.site).or_default().push(key.item.clone());
    }
    let not_before_ms = now_epoch_ms() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
    let mut scheduled = 0;
    for (site, items) in by_site {
        let count = items.len();
        let message = StockMessage::Recheck {
            id: uuid::Uuid::new_v4().to_string(),
            site: site.to_string(),
            items,
            reread: true,
            source: "confirm".into(),
            not_before_ms,
        };
        match queue
            .send_delayed(STOCK_QUEUE, &message.to_json(), &BTreeMap::new(), delay)
            .await
        {
            Ok(_) => scheduled += count,
            Err(e) => tracing::warn!(site, error = %e, "confirming re-read not scheduled"),
        }
    }
    scheduled
}
