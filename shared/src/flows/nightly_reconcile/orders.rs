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
//!
//! After an outage the orders are tens of thousands, so, as in the status sweep, a
//! commercetools page (500, by id, counted from the run's start so that every invocation reads
//! the same period) is a unit of work: its links are read in one batch, its messages sent in
//! batches, then the checkpoint names its last order id. A page redone after a crash sends its
//! messages again, which the export flow finds done.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::run::{self, Versioned};
use super::statuses::period;
use super::{NightlyReconcile, ReconcileError, StageEnd, Work};
use crate::commercetools::types::Order;
use crate::domain::HoldReason;
use crate::flows::order_export::{OrderLink, load_links, requeue_message};
use crate::queues::ORDERS_QUEUE;
use crate::store::Outgoing;

pub(super) fn iso(at: OffsetDateTime) -> Result<String, ReconcileError> {
    at.format(&Rfc3339)
        .map_err(|e| ReconcileError::Invalid(format!("formatting a date: {e}")))
}

/// Whether the sweep leaves an order to someone else, given its link; counts the ones held
/// for items.
fn left_to_others(link: Option<&OrderLink>, held_for_items: &mut usize) -> bool {
    match link {
        Some(OrderLink::Held {
            reason: HoldReason::UnknownSkus { .. },
            ..
        }) => {
            *held_for_items += 1;
            true
        }
        // An import the export leaves alone by configuration (audited when it came).
        Some(OrderLink::Held {
            reason: HoldReason::ImportNotExported,
            ..
        }) => true,
        _ => false,
    }
}

impl NightlyReconcile {
    /// Re-queues the unexported orders of the period, a commercetools page at a time, until
    /// the last page or the budget is spent.
    pub(super) async fn sweep_orders(
        &self,
        current: &mut Versioned,
        work: &mut Work<'_>,
    ) -> Result<StageEnd, ReconcileError> {
        let (after, before) = period(current.state.report.started_at_ms, &self.parts.rules)?;
        let sweep = super::Paged::Orders {
            after: &after,
            before: &before,
        };
        self.page_by_page(sweep, current, work).await
    }

    /// One commercetools page: links read, orders re-queued, checkpoint. Returns whether it
    /// was the last.
    pub(super) async fn order_page(
        &self,
        current: &mut Versioned,
        after: &str,
        before: &str,
        work: &Work<'_>,
    ) -> Result<bool, ReconcileError> {
        let (orders, last) = self
            .parts
            .ct
            .unexported_orders_page(
                &self.parts.export_channel_id,
                after,
                before,
                current.state.cursor.last_key.as_deref(),
            )
            .await?;
        let ids: Vec<String> = orders.iter().map(|o| o.id.clone()).collect();
        let links = load_links(self.parts.state.as_ref(), &ids).await?;
        let largest = self.parts.rules.largest;
        let sweep = &mut current.state.report.orders;
        sweep.pages += 1;
        sweep.unexported += orders.len();
        let requeued: Vec<&Order> = orders
            .iter()
            .zip(&links)
            .filter(|(_, link)| !left_to_others(link.as_ref(), &mut sweep.held_for_items))
            .map(|(order, _)| order)
            .collect();
        let names: Vec<String> = requeued
            .iter()
            .map(|o| o.order_number.clone().unwrap_or_else(|| o.id.clone()))
            .collect();
        for name in &names {
            work.observer.requeued("order", name);
        }
        super::report::add_examples(&mut sweep.examples, names.into_iter(), largest);
        sweep.requeued += requeued.len();
        if !current.state.dry_run {
            let ids: Vec<&str> = requeued.iter().map(|o| o.id.as_str()).collect();
            self.requeue_orders(&ids).await?;
        }
        // Only after the page's messages are sent: a crash before this redoes the page.
        let cursor = &mut current.state.cursor;
        cursor.page += 1;
        if let Some(order) = orders.last() {
            cursor.last_key = Some(order.id.clone());
        }
        run::save(self.parts.state.as_ref(), current).await?;
        Ok(last)
    }

    /// Sends the orders back to the orders queue in as few calls as the queue allows (10 a
    /// SendMessageBatch on SQS). A message not sent fails the page, which is redone.
    async fn requeue_orders(&self, order_ids: &[&str]) -> Result<(), ReconcileError> {
        if order_ids.is_empty() {
            return Ok(());
        }
        let bodies: Vec<String> = order_ids.iter().map(|id| requeue_message(id)).collect();
        let attributes = BTreeMap::new();
        let messages: Vec<Outgoing<'_>> = bodies
            .iter()
            .map(|body| Outgoing {
                body,
                attributes: &attributes,
                delay: std::time::Duration::ZERO,
            })
            .collect();
        let sent = self.parts.queue.send_many(ORDERS_QUEUE, &messages).await;
        match sent.into_iter().find_map(Result::err) {
            Some(e) => Err(ReconcileError::Queue(e)),
            None => Ok(()),
        }
    }
}
