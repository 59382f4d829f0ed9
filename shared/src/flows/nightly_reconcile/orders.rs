//! The order sweep: commercetools orders of the last `order_days` (older than
//! `order_grace_s`, so that orders on their way are left alone), not cancelled, without the
//! export mark, go back to the orders queue. Their OrderCreated may have been lost, or their
//! export interrupted; the export flow's claim, order link and mark make each export happen
//! exactly once however often an order is re-queued.
//!
//! Orders held for items Peoplevox does not know are left to the held-order sweep, which
//! re-queues them once the items exist; imports the export leaves alone
//! (`orders.export_imported` false) stay alone. Other held orders are re-queued: a person may have
//! fixed them (an address, a rule), and the export flow holds them again if not.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::run::{Stage, Versioned};
use super::{NightlyReconcile, ReconcileError, StageEnd, Work};
use crate::domain::HoldReason;
use crate::flows::order_export::{OrderLink, load_link, requeue_message};
use crate::queues::ORDERS_QUEUE;

pub(super) fn iso(at: OffsetDateTime) -> Result<String, ReconcileError> {
    at.format(&Rfc3339)
        .map_err(|e| ReconcileError::Invalid(format!("formatting a date: {e}")))
}

impl NightlyReconcile {
    /// Re-queues the unexported orders of the period (one unit).
    pub(super) async fn sweep_orders(
        &self,
        current: &mut Versioned,
        work: &mut Work<'_>,
    ) -> Result<StageEnd, ReconcileError> {
        work.observer.stage(&Stage::Orders, 0, Some(1));
        let rules = &self.parts.rules;
        let now = OffsetDateTime::now_utc();
        let after = iso(now - time::Duration::days(i64::from(rules.order_days)))?;
        let grace = i64::try_from(rules.order_grace_s).unwrap_or(i64::MAX);
        let before = iso(now - time::Duration::seconds(grace))?;
        let orders = self
            .parts
            .ct
            .unexported_orders_between(&self.parts.export_channel_id, &after, &before)
            .await?;
        let dry_run = current.state.dry_run;
        let sweep = &mut current.state.report.orders;
        for order in &orders {
            sweep.unexported += 1;
            let link = load_link(self.parts.state.as_ref(), &order.id).await?;
            match link {
                Some(OrderLink::Held {
                    reason: HoldReason::UnknownSkus { .. },
                    ..
                }) => {
                    sweep.held_for_items += 1;
                    continue;
                }
                // An import the export leaves alone by configuration (audited when it came).
                Some(OrderLink::Held {
                    reason: HoldReason::ImportNotExported,
                    ..
                }) => continue,
                _ => {}
            }
            let name = order
                .order_number
                .clone()
                .unwrap_or_else(|| order.id.clone());
            work.observer.requeued("order", &name);
            super::report::add_examples(&mut sweep.examples, std::iter::once(name), rules.largest);
            if !dry_run {
                self.parts
                    .queue
                    .send(ORDERS_QUEUE, &requeue_message(&order.id), &BTreeMap::new())
                    .await
                    .map_err(ReconcileError::Queue)?;
            }
            sweep.requeued += 1;
        }
        work.units += 1;
        work.observer.progress(&Stage::Orders, 1, Some(1));
        Ok(StageEnd::Done)
    }
}
