//! The sweep of late tracking. The despatch sweep reads a despatch once, in the first run after
//! it left (its watermark then passes it), so a tracking number or package Peoplevox gets days
//! later, whose callback is lost, would never reach the order: its parcel would stay without
//! tracking for good. Every run therefore also:
//!
//! - reads the exported commercetools orders modified in the last `tracking_days` (a delivery
//!   booked modifies its order), a page (500) at a time by id, the period counted from the
//!   run's start so that every invocation reads the same one;
//! - takes their deliveries of the period that still have a parcel without a tracking number,
//!   or no parcel ([`tracking_candidates`](super::tracking_candidates)), except those this
//!   run's despatch sweep re-queued already;
//! - re-reads those despatches from Peoplevox with the shipment flow's own read ("Despatch
//!   summary" and the packages template, 100 numbers a clause, through the request budget);
//! - re-queues to the shipments queue, a batch a page, only the despatches whose delivery the
//!   shipment flow would now change ([`later_parcels`]): a despatch Peoplevox never tracks is
//!   re-read each night of its period, but never re-queued.
//!
//! Why a paged sweep over commercetools rather than open despatches kept in the state store
//! with a TTL: the orders are the truth of what lacks tracking (a parcel fixed by hand, or by a
//! late callback, drops out by itself), nothing has to be written on the live flow's path, and
//! a store entry lost or expired early cannot hide a parcel.
//!
//! A commercetools page is a unit of work: its messages are sent, then the checkpoint names
//! its last order id. A page redone after a crash re-queues despatches the shipment flow then
//! finds booked.

use std::collections::{BTreeMap, BTreeSet};

use super::despatches::instant;
use super::orders::iso;
use super::run::{self, Stage, Versioned};
use super::tracking_candidates::{Candidate, Window, candidates};
use super::{NightlyReconcile, ReconcileError, StageEnd, Work};
use crate::commercetools::types::Order;
use crate::domain::ShipmentMessage;
use crate::flows::shipment_confirmed::deliveries::later_parcels;
use crate::flows::shipment_confirmed::read_despatches;
use crate::queues::SHIPMENTS_QUEUE;
use crate::store::{Outgoing, now_epoch_ms};

const DAY_MS: i64 = 24 * 3_600_000;

impl NightlyReconcile {
    /// Re-reads the period's untracked deliveries in Peoplevox, a commercetools page at a
    /// time, re-queueing the despatches Peoplevox now shows more of.
    pub(super) async fn sweep_tracking(
        &self,
        current: &mut Versioned,
        work: &mut Work<'_>,
    ) -> Result<StageEnd, ReconcileError> {
        let report = &current.state.report;
        let since_ms = report.started_at_ms - i64::from(self.parts.rules.tracking_days) * DAY_MS;
        // The despatch sweep of this run, when it had one, re-queued every untracked delivery
        // despatched since its start.
        let swept_from_ms = (current.state.stages.contains(&Stage::Despatches)
            && report.despatches.from_ms > 0)
            .then_some(report.despatches.from_ms);
        let window = Window {
            since_ms,
            swept_from_ms,
        };
        let after = iso(instant(since_ms))?;
        let sweep = super::Paged::Tracking {
            after: &after,
            window: &window,
        };
        self.page_by_page(sweep, current, work).await
    }

    /// One commercetools page: candidates, Peoplevox read, re-queue, checkpoint. Returns
    /// whether it was the last.
    pub(super) async fn tracking_page(
        &self,
        current: &mut Versioned,
        after: &str,
        window: &Window,
        work: &Work<'_>,
    ) -> Result<bool, ReconcileError> {
        let (orders, last) = self
            .parts
            .ct
            .exported_orders_modified_page(
                &self.parts.export_channel_id,
                after,
                current.state.cursor.last_key.as_deref(),
            )
            .await?;
        let sweep = &mut current.state.report.tracking;
        sweep.pages += 1;
        sweep.orders += orders.len();
        // Despatch number → the order whose delivery lacks tracking.
        let mut open: BTreeMap<String, &Order> = BTreeMap::new();
        for order in &orders {
            for candidate in candidates(order, window) {
                sweep.untracked += 1;
                match candidate {
                    Candidate::Open(number) => {
                        open.insert(number, order);
                    }
                    Candidate::LeftToDespatchSweep => sweep.left_to_despatch_sweep += 1,
                    Candidate::Unnamed => sweep.unnamed += 1,
                }
            }
        }
        let numbers: Vec<String> = open.keys().cloned().collect();
        let pvx = &self.parts.pvx;
        let before = pvx.requests_made();
        let found = if numbers.is_empty() {
            BTreeMap::new()
        } else {
            read_despatches(pvx, &self.parts.shipments, &self.packages, &numbers).await?
        };
        let requests = pvx.requests_made().saturating_sub(before);
        sweep.requests = sweep
            .requests
            .saturating_add(u32::try_from(requests).unwrap_or(u32::MAX));
        sweep.checked += numbers.len();
        let mut requeued: BTreeSet<(String, String)> = BTreeSet::new();
        for (number, order) in &open {
            let Some(despatch) = found.get(number) else {
                sweep.not_in_peoplevox += 1;
                continue;
            };
            if later_parcels(order, despatch, &self.parts.shipments).is_empty() {
                sweep.unchanged += 1;
                continue;
            }
            requeued.insert((number.clone(), despatch.order_number.clone()));
        }
        sweep.requeued += requeued.len();
        let largest = self.parts.rules.largest;
        super::report::add_examples(
            &mut sweep.examples,
            requeued.iter().map(|(despatch, _)| despatch.clone()),
            largest,
        );
        for (despatch, _) in &requeued {
            work.observer.requeued("tracking", despatch);
        }
        if !current.state.dry_run {
            let run = current.state.id.clone();
            self.requeue_despatches(&run, &requeued).await?;
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

    /// Sends `(despatch, sales order)` pairs to the shipments queue as rechecks, in as few
    /// calls as the queue allows. A message not sent fails the page, which is redone.
    async fn requeue_despatches(
        &self,
        run: &str,
        despatches: &BTreeSet<(String, String)>,
    ) -> Result<(), ReconcileError> {
        if despatches.is_empty() {
            return Ok(());
        }
        let bodies: Vec<String> = despatches
            .iter()
            .map(|(despatch, order)| {
                ShipmentMessage {
                    // Names the run, so the audit trail tells a re-queue from a callback.
                    id: format!("reconcile-{run}-tracking-{despatch}"),
                    event: "recheck".into(),
                    despatch: despatch.clone(),
                    order: Some(order.clone()).filter(|o| !o.is_empty()),
                    tracking: None,
                    package: None,
                    carrier: None,
                    service: None,
                    service_code: None,
                    received_at_ms: now_epoch_ms(),
                }
                .to_json()
            })
            .collect();
        let attributes = BTreeMap::new();
        let messages: Vec<Outgoing<'_>> = bodies
            .iter()
            .map(|body| Outgoing {
                body,
                attributes: &attributes,
                delay: std::time::Duration::ZERO,
            })
            .collect();
        let sent = self.parts.queue.send_many(SHIPMENTS_QUEUE, &messages).await;
        match sent.into_iter().find_map(Result::err) {
            Some(e) => Err(ReconcileError::Queue(e)),
            None => Ok(()),
        }
    }
}
