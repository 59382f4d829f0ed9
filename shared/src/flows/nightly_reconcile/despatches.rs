//! The despatch sweep: every Peoplevox despatch since the last run (the watermark, less an
//! overlap for a report that lags) that has no commercetools delivery goes to the shipments
//! queue as a `recheck`; the shipment flow books it exactly once, like a callback.
//!
//! "Despatch summary" has one row per item of a despatch. It is read page by page, filtered
//! by `[Despatch date] >= DateTime(…)` and ordered by date and despatch number, so the rows
//! of a despatch stay together and a despatch cut by a page boundary is looked at once (the
//! cursor keeps the last despatch of the previous page). Report dates carry no zone: the
//! clause's literal is written, and the rows' dates read, in the tenant's zone
//! (`peoplevox.time_zone`); the overlap covers a zone that is off. A tenant that ignores the
//! search clause sends every despatch: the rows before the period are dropped here.
//!
//! A despatch the watermark has passed is not read here again: a tracking number Peoplevox
//! gets later still, whose callback is lost, is the sweep of late tracking's
//! ([`super::tracking`]).

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::run::{Stage, Versioned};
use super::tracking_candidates::untracked;
use super::{NightlyReconcile, ReconcileError, StageEnd, Work};
use crate::domain::ShipmentMessage;
use crate::flows::shipment_confirmed::deliveries::delivery_key;
use crate::peoplevox::ReportQuery;
use crate::peoplevox::report::{Columns, ReportRows};
use crate::queues::SHIPMENTS_QUEUE;
use crate::store::{Condition, now_epoch_ms};

/// Where the last completed sweep started, epoch ms.
const WATERMARK: (&str, &str) = ("reconcile-watermark", "despatches");

/// The "Despatch summary" columns the sweep reads, all required (the date filters the rows).
pub const SWEEP_COLUMNS: Columns = Columns {
    required: &["Despatch number", "Salesorder number", "Despatch date"],
    read: &[],
};

/// The instant of epoch ms (whole seconds).
pub(super) fn instant(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl NightlyReconcile {
    /// Re-queues the despatches of the period that have no delivery, a page at a time.
    pub(super) async fn sweep_despatches(
        &self,
        current: &mut Versioned,
        work: &mut Work<'_>,
    ) -> Result<StageEnd, ReconcileError> {
        let state = self.parts.state.as_ref();
        if current.state.cursor.page <= 1 && current.state.report.despatches.from_ms == 0 {
            let watermark = state
                .get(WATERMARK.0, WATERMARK.1)
                .await?
                .and_then(|item| item.data.parse::<i64>().ok());
            let overlap = i64::try_from(self.parts.rules.despatch_overlap_s * 1000).unwrap_or(0);
            let first_run =
                now_epoch_ms() - i64::from(self.parts.rules.despatch_days) * 24 * 3_600_000;
            current.state.report.despatches.from_ms = watermark.map_or(first_run, |w| w - overlap);
        }
        work.observer.stage(&Stage::Despatches, 0, None);
        loop {
            if work.exhausted() {
                return Ok(StageEnd::OutOfTime);
            }
            let last = self.despatch_page(current, work).await?;
            work.units += 1;
            let cursor = &current.state.cursor;
            work.observer
                .progress(&Stage::Despatches, u64::from(cursor.page - 1), None);
            if last {
                break;
            }
        }
        if !current.state.dry_run {
            let at = current.state.report.started_at_ms.to_string();
            state
                .put(WATERMARK.0, WATERMARK.1, &at, Condition::Always, None)
                .await?;
        }
        Ok(StageEnd::Done)
    }

    /// One page of the report; returns whether it was the last.
    async fn despatch_page(
        &self,
        current: &mut Versioned,
        work: &Work<'_>,
    ) -> Result<bool, ReconcileError> {
        let n = current.state.cursor.page.max(1);
        let from = instant(current.state.report.despatches.from_ms);
        let zone = self.parts.pvx.report_zone();
        let report = &self.parts.shipments.summary_report;
        let query = ReportQuery {
            template: report.clone(),
            page_no: n,
            items_per_page: self.parts.rules.page_size,
            search_clause: format!("[Despatch date] >= {}", zone.date_literal(from)),
            order_by: "[Despatch date] asc, [Despatch number] asc".into(),
            columns: SWEEP_COLUMNS.request(),
            ..ReportQuery::default()
        };
        let page = self.parts.pvx.get_report_data(&query).await?;
        let mut rows = ReportRows::from_table(report, SWEEP_COLUMNS, &page.table)?;
        let previous = current.state.cursor.last_key.clone();
        let last_key = rows
            .rows()
            .last()
            .map(|row| row.get("Despatch number").to_string())
            .filter(|d| !d.is_empty())
            .or(previous.clone());
        // Report times have whole minutes on some tenants: compare from the minute. A date
        // that does not read is kept (a recheck of a booked despatch changes nothing).
        let since = from - time::Duration::seconds(i64::from(from.second()));
        rows.retain(|row| {
            zone.parse(row.get("Despatch date"))
                .is_none_or(|at| at >= since)
        });
        let mut despatches: Vec<(String, String)> = Vec::new();
        for row in rows.rows() {
            let (despatch, order) = (row.get("Despatch number"), row.get("Salesorder number"));
            if despatch.is_empty()
                || previous.as_deref() == Some(despatch)
                || despatches.last().is_some_and(|(d, _)| d == despatch)
            {
                continue;
            }
            despatches.push((despatch.to_string(), order.to_string()));
        }
        let rows_done = current.state.cursor.rows_done + page.table.rows.len() as i64;
        let last = page.table.rows.is_empty() || rows_done >= page.total;
        self.recheck_undelivered(current, despatches, work).await?;
        let cursor = &mut current.state.cursor;
        cursor.page = n + 1;
        cursor.rows_done = rows_done;
        cursor.total_rows = Some(page.total);
        cursor.last_key = last_key;
        current.state.report.despatches.pages += 1;
        super::run::save(self.parts.state.as_ref(), current).await?;
        Ok(last)
    }

    /// Looks the despatches' orders up (100 numbers a query) and re-queues each despatch
    /// whose order lacks its delivery, or has it with a parcel that has no tracking number.
    async fn recheck_undelivered(
        &self,
        current: &mut Versioned,
        despatches: Vec<(String, String)>,
        work: &Work<'_>,
    ) -> Result<(), ReconcileError> {
        let mut numbers: Vec<String> = despatches.iter().map(|(_, o)| o.clone()).collect();
        numbers.sort();
        numbers.dedup();
        numbers.retain(|n| !n.is_empty());
        let orders = self
            .parts
            .ct
            .orders_by_peoplevox_number(&numbers, &self.parts.export_channel_id)
            .await?;
        let sweep = &mut current.state.report.despatches;
        let largest = self.parts.rules.largest;
        let mut to_send: BTreeMap<String, String> = BTreeMap::new();
        for (despatch, number) in despatches {
            sweep.despatches += 1;
            let Some(order) = orders.get(&number) else {
                // Peoplevox also holds orders of other sales channels: not ours to book.
                sweep.unknown_orders += 1;
                continue;
            };
            let key = delivery_key(&despatch);
            let delivery = order
                .deliveries()
                .find(|d| d.get("key").and_then(|k| k.as_str()) == Some(key.as_str()));
            if let Some(delivery) = delivery {
                sweep.delivered += 1;
                if !untracked(delivery) {
                    continue;
                }
                sweep.untracked += 1;
            } else {
                sweep.requeued += 1;
            }
            super::report::add_examples(
                &mut sweep.examples,
                std::iter::once(despatch.clone()),
                largest,
            );
            to_send.insert(despatch, number);
        }
        for (despatch, number) in to_send {
            work.observer.requeued("despatch", &despatch);
            if current.state.dry_run {
                continue;
            }
            let message = ShipmentMessage {
                id: format!("reconcile-{}", uuid::Uuid::new_v4()),
                event: "recheck".into(),
                despatch,
                order: Some(number),
                tracking: None,
                package: None,
                carrier: None,
                service: None,
                service_code: None,
                received_at_ms: now_epoch_ms(),
            };
            self.parts
                .queue
                .send(SHIPMENTS_QUEUE, &message.to_json(), &BTreeMap::new())
                .await
                .map_err(ReconcileError::Queue)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{OffsetDateTime, instant};

    #[test]
    fn instants_are_whole_seconds() {
        assert_eq!(
            instant(1_796_004_309_999),
            time::macros::datetime!(2026-11-30 02:05:09 UTC)
        );
        assert_eq!(instant(0), OffsetDateTime::UNIX_EPOCH);
    }
}
