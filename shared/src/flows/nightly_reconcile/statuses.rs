//! The status sweep: Peoplevox tells us of an order's status only through callbacks, and a
//! lost callback is never sent again, so an order the warehouse cancelled (or despatched,
//! closed, ...) could stay behind in commercetools for ever. And a commercetools cancellation
//! may never have reached Peoplevox (its export was in flight when the cancellation was
//! handled). The sweep compares the two:
//!
//! - the orders of the order sweep's period (`order_days`, less `order_grace_s`, counted from
//!   the run's start so that every invocation of a run reads the same period) that carry the
//!   export mark or are cancelled are read from commercetools a page (500) at a time, by id;
//! - those that could still change ([`worth_asking`]) are looked up in Peoplevox, 100 numbers
//!   a GetData request on `status.cancel.template`, through the request budget;
//! - each order's repair is decided by [`repair`]: the lost status callback, or the
//!   commercetools cancellation, goes to the status queue exactly as the lost message would
//!   have, and the status flow applies it under its own rules (forward only, cancellations
//!   only before picking, duplicates unchanged);
//! - the page's despatched orders' returns are read from the return report, and each one the
//!   order does not record goes to the status queue as its Returns callback would have
//!   ([`lost_returns`]).
//!
//! A commercetools page is a unit of work: its messages are sent, then the checkpoint names
//! its last order id. A page redone after a crash sends its messages again, which the status
//! flow finds done.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::lost_returns;
use super::orders::iso;
use super::run::Versioned;
use super::{NightlyReconcile, ReconcileError, StageEnd, Work};
use crate::commercetools::types::Order;
use crate::config::{ReconcileRules, StatusRules};
use crate::domain::StatusMessage;
use crate::domain::status::{Move, Stage as Warehouse, compare, stage_of_shipment_state};
use crate::flows::order_export::load_link;
use crate::flows::order_status::plan::{applied_stage, warehouse_stage};
use crate::flows::order_status::pvx_orders::{self, PvxOrder};
use crate::flows::order_status::{self, fields};
use crate::peoplevox::PvxError;
use crate::peoplevox::search::MAX_VALUES_PER_CLAUSE;
use crate::queues::STATUS_QUEUE;
use crate::setup::{FIELD_PVX_EXCEPTION, FIELD_PVX_STATUS};
use crate::store::now_epoch_ms;

/// What an order needs, given what Peoplevox says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Repair {
    /// Nothing: both sides agree, or the status flow would change nothing with it.
    Nothing,
    /// A status callback was lost: this status goes to the status queue.
    Status(String),
    /// A commercetools cancellation is not shown in Peoplevox, or its outcome is not on the
    /// order: the cancellation goes to the status queue.
    Cancel,
    /// The order is exported but Peoplevox has no sales order of its number.
    NotInPeoplevox,
    /// Peoplevox reports a status nobody mapped: the status flow would only audit it.
    Unmapped,
}

fn cancelled_in_commercetools(order: &Order) -> bool {
    order.order_state.as_deref() == Some("Cancelled")
}

/// Whether asking Peoplevox about the order could lead to a repair; the others cost no
/// request. `marked`: the order carries the export mark.
pub(super) fn worth_asking(order: &Order, marked: bool, rules: &StatusRules) -> bool {
    if cancelled_in_commercetools(order) {
        // An exception waits on a person; a cancellation the order shows as the warehouse's
        // too (Canceled, pvxStatus) is done on both sides.
        let exception =
            fields::current_text(order, FIELD_PVX_EXCEPTION).is_some_and(|e| !e.trim().is_empty());
        return !exception && warehouse_stage(order, rules) != Some(Warehouse::Cancelled);
    }
    // A closed or cancelled order does not move in the warehouse any more: no status could
    // take it further. Unmarked orders are the order sweep's.
    marked && applied_stage(order, rules) < Some(Warehouse::Closed)
}

/// The repair of one order: `peoplevox` is its status there (trimmed), `None` when Peoplevox
/// has no sales order of its number; `hold`, its hold flag there (`None`: not read);
/// `remembered`, the status its mark keeps when the order's own custom Type cannot show
/// `pvxStatus`.
pub(super) fn repair(
    order: &Order,
    marked: bool,
    peoplevox: Option<&str>,
    hold: Option<bool>,
    remembered: Option<&str>,
    rules: &StatusRules,
) -> Repair {
    if !worth_asking(order, marked, rules) {
        return Repair::Nothing;
    }
    let Some(status) = peoplevox else {
        // Unmarked and not in Peoplevox: cancelled before its export, commercetools' alone.
        return if marked {
            Repair::NotInPeoplevox
        } else {
            Repair::Nothing
        };
    };
    if cancelled_in_commercetools(order) {
        // Peoplevox has the order and the order does not show the cancellation as the
        // warehouse's: the status flow reads Peoplevox's status again and cancels there (or
        // records an exception for a person), or, cancelled there already, shows it (and
        // marks an order whose mark was lost).
        return Repair::Cancel;
    }
    if status.is_empty() {
        return Repair::Nothing;
    }
    let Some(mapping) = rules.resolve(status) else {
        return Repair::Unmapped;
    };
    // A hold the order shows that Peoplevox released (or one it does not show), before goods
    // left: the status goes back with Peoplevox's flag and the status flow lifts (or shows)
    // it. Not when the on-hold state is also a stage's own (Backorder): it would read a real
    // backorder as a hold.
    let held_shown = order.shipment_state.as_deref() == Some(rules.on_hold_shipment_state.as_str());
    let hold_is_no_stage =
        stage_of_shipment_state(Some(rules.on_hold_shipment_state.as_str())).is_none();
    if hold_is_no_stage
        && hold.is_some_and(|held| held != held_shown)
        && mapping.stage < Warehouse::PartiallyDespatched
        && applied_stage(order, rules) < Some(Warehouse::PartiallyDespatched)
    {
        return Repair::Status(status.to_string());
    }
    let shown = fields::current_text(order, FIELD_PVX_STATUS)
        .or(remembered)
        .is_some_and(|s| s.trim().eq_ignore_ascii_case(status));
    if shown {
        return Repair::Nothing;
    }
    // Only a status that takes the order further is re-queued: a status the order shows in
    // another name (Picked for Packed, Shipped from the shipment flow for Despatched) or is
    // past already would change nothing, and would be re-queued every night.
    let remembered = remembered.and_then(|s| rules.resolve(s)).map(|m| m.stage);
    match compare(applied_stage(order, rules).max(remembered), mapping.stage) {
        Move::Forward => Repair::Status(status.to_string()),
        Move::Same | Move::Backward | Move::AfterCancel => Repair::Nothing,
    }
}

/// The period of a run: `(created after, created before)`, ISO 8601; the order sweep's too.
pub(super) fn period(
    started_at_ms: i64,
    rules: &ReconcileRules,
) -> Result<(String, String), ReconcileError> {
    let start = OffsetDateTime::from_unix_timestamp_nanos(i128::from(started_at_ms) * 1_000_000)
        .map_err(|e| ReconcileError::Invalid(format!("the run's start: {e}")))?;
    let grace = i64::try_from(rules.order_grace_s).unwrap_or(i64::MAX);
    Ok((
        iso(start - time::Duration::days(i64::from(rules.order_days)))?,
        iso(start - time::Duration::seconds(grace))?,
    ))
}

/// A message for the status queue, with the order number and kind the observer is told.
struct Requeue {
    number: String,
    kind: &'static str,
    message: StatusMessage,
}

impl NightlyReconcile {
    /// Compares the period's exported and cancelled orders with Peoplevox, a commercetools
    /// page at a time, re-queueing what was lost.
    pub(super) async fn sweep_statuses(
        &self,
        current: &mut Versioned,
        work: &mut Work<'_>,
    ) -> Result<StageEnd, ReconcileError> {
        let (after, before) = period(current.state.report.started_at_ms, &self.parts.rules)?;
        let sweep = super::Paged::Statuses {
            after: &after,
            before: &before,
        };
        self.page_by_page(sweep, current, work).await
    }

    /// One commercetools page: look up, decide, re-queue, checkpoint. Returns whether it was
    /// the last.
    pub(super) async fn status_page(
        &self,
        current: &mut Versioned,
        after: &str,
        before: &str,
        work: &Work<'_>,
    ) -> Result<bool, ReconcileError> {
        let export = &self.parts.export_channel_id;
        let rules = &self.parts.status;
        let (orders, last) = self
            .parts
            .ct
            .exported_or_cancelled_orders_page(
                export,
                after,
                before,
                current.state.cursor.last_key.as_deref(),
            )
            .await?;
        // Peoplevox knows orders by number only: each part's of an order split over several
        // addresses (its marks); an unmarked order's as its link records them (a derived or
        // split number), else its own.
        let mut linked: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for order in &orders {
            if order.sync_info_for(export).is_none()
                && worth_asking(order, false, rules)
                && let Some(link) = load_link(self.parts.state.as_ref(), &order.id).await?
            {
                linked.insert(order.id.clone(), link.numbers());
            }
        }
        let asked: Vec<(&Order, bool, Vec<&str>)> = orders
            .iter()
            .filter_map(|order| {
                let marked = order.sync_info_for(export).is_some();
                let numbers = match linked.get(&order.id) {
                    Some(numbers) if !marked && !numbers.is_empty() => {
                        numbers.iter().map(String::as_str).collect()
                    }
                    _ => order.peoplevox_numbers(export),
                };
                (!numbers.is_empty() && worth_asking(order, marked, rules))
                    .then_some((order, marked, numbers))
            })
            .collect();
        let mut numbers: Vec<&str> = asked.iter().flat_map(|(_, _, n)| n.clone()).collect();
        numbers.sort_unstable();
        numbers.dedup();
        let (in_peoplevox, requests) = self.peoplevox_statuses(&numbers).await?;
        // Despatched orders: their returns, whose one callback may have been lost.
        let despatched: Vec<(&Order, &str)> = orders
            .iter()
            .filter(|o| o.sync_info_for(export).is_some() && lost_returns::despatched(o))
            .flat_map(|o| o.peoplevox_numbers(export).into_iter().map(move |n| (o, n)))
            .collect();
        let mut despatched_numbers: Vec<String> =
            despatched.iter().map(|(_, n)| (*n).to_string()).collect();
        despatched_numbers.sort_unstable();
        despatched_numbers.dedup();
        let returned =
            lost_returns::read(&self.parts.pvx, &rules.returns.report, &despatched_numbers).await?;
        let return_requests =
            u32::try_from(despatched_numbers.len().div_ceil(MAX_VALUES_PER_CLAUSE))
                .unwrap_or(u32::MAX);

        let run = current.state.id.clone();
        let largest = self.parts.rules.largest;
        let sweep = &mut current.state.report.statuses;
        sweep.pages += 1;
        sweep.orders += orders.len();
        sweep.checked += asked.len();
        sweep.requests += requests + return_requests;
        // Orders that cannot show `pvxStatus` (the merchant's own Type): their marks keep it.
        let unshown: Vec<&str> = asked
            .iter()
            .filter(|(o, ..)| fields::current_text(o, FIELD_PVX_STATUS).is_none())
            .map(|(o, ..)| o.id.as_str())
            .collect();
        let marks: BTreeMap<&str, Option<String>> = unshown
            .iter()
            .copied()
            .zip(
                order_status::mark::load_many(self.parts.state.as_ref(), &unshown)
                    .await?
                    .into_iter()
                    .map(|m| m.status),
            )
            .collect();
        let mut requeues = Vec::new();
        for (order, marked, numbers) in asked {
            // A split order re-queues its status under its first part's number: the status
            // flow reads every part again.
            let number = numbers[0];
            let status = status_of(&numbers, &in_peoplevox, rules);
            let remembered = marks.get(order.id.as_str()).and_then(Option::as_deref);
            let hold = hold_of(&numbers, &in_peoplevox);
            match repair(order, marked, status.as_deref(), hold, remembered, rules) {
                Repair::Nothing => {}
                Repair::Unmapped => sweep.unmapped += 1,
                Repair::NotInPeoplevox => {
                    sweep.not_in_peoplevox += 1;
                    super::report::add_examples(
                        &mut sweep.not_in_peoplevox_examples,
                        std::iter::once(number.to_string()),
                        largest,
                    );
                }
                Repair::Status(status) => {
                    sweep.statuses_requeued += 1;
                    requeues.push(Requeue {
                        number: number.to_string(),
                        kind: "status",
                        // What the lost callback would have carried; the id names the run, so
                        // the audit trail tells a re-queued status from a callback.
                        message: StatusMessage::PeoplevoxStatus {
                            id: format!("reconcile-{run}-{number}"),
                            order: number.to_string(),
                            status: Some(status),
                            modified: None,
                            // The hold flag Peoplevox shows now, read with the status: the
                            // status flow need not read it again (`None`: the template has
                            // no hold field).
                            on_hold: hold_of(&numbers, &in_peoplevox),
                            received_at_ms: now_epoch_ms(),
                        },
                    });
                }
                Repair::Cancel => {
                    sweep.cancellations_requeued += 1;
                    // What commercetools' OrderStateChanged subscription would have carried.
                    requeues.push(Requeue {
                        number: number.to_string(),
                        kind: "cancellation",
                        message: StatusMessage::CommercetoolsOrderState {
                            message_id: None,
                            order_id: order.id.clone(),
                            order_number: Some(number.to_string()),
                            order_state: "Cancelled".into(),
                            old_order_state: None,
                        },
                    });
                }
            }
        }
        let mut by_order: BTreeMap<&str, (&Order, Vec<&str>)> = BTreeMap::new();
        for (order, number) in despatched {
            by_order
                .entry(order.id.as_str())
                .or_insert_with(|| (order, Vec::new()))
                .1
                .push(number);
        }
        for (order, numbers) in by_order.into_values() {
            for (number, code) in
                lost_returns::missing(order, &numbers, &returned, &self.parts.skus)
            {
                sweep.returns_requeued += 1;
                // What the lost Returns callback would have carried.
                requeues.push(Requeue {
                    number: number.to_string(),
                    kind: "return",
                    message: StatusMessage::PeoplevoxReturn {
                        id: format!("reconcile-{run}-{code}"),
                        order: Some(number.to_string()),
                        return_code: Some(code),
                        received_at_ms: now_epoch_ms(),
                    },
                });
            }
        }
        super::report::add_examples(
            &mut sweep.examples,
            requeues.iter().map(|r| r.number.clone()),
            largest,
        );
        for requeue in &requeues {
            work.observer.requeued(requeue.kind, &requeue.number);
            if current.state.dry_run {
                continue;
            }
            self.parts
                .queue
                .send(STATUS_QUEUE, &requeue.message.to_json(), &BTreeMap::new())
                .await
                .map_err(ReconcileError::Queue)?;
        }
        // Only after the page's messages are sent: a crash before this redoes the page.
        let cursor = &mut current.state.cursor;
        cursor.page += 1;
        if let Some(order) = orders.last() {
            cursor.last_key = Some(order.id.clone());
        }
        super::run::save(self.parts.state.as_ref(), current).await?;
        Ok(last)
    }

    /// The statuses Peoplevox shows for these order numbers (the status flow's own reader,
    /// [`pvx_orders`]), and the requests it took.
    async fn peoplevox_statuses(
        &self,
        numbers: &[&str],
    ) -> Result<(BTreeMap<String, PvxOrder>, u32), PvxError> {
        let read = pvx_orders::read(&self.parts.pvx, &self.parts.status, numbers).await?;
        Ok((read.orders, read.requests))
    }
}

/// Whether an order with these numbers is on hold in Peoplevox: held when any part is, released
/// when every part says so; `None` when a part's flag is unknown (no hold field).
fn hold_of(numbers: &[&str], found: &BTreeMap<String, PvxOrder>) -> Option<bool> {
    let flags: Vec<Option<bool>> = numbers
        .iter()
        .map(|n| found.get(*n).and_then(|o| o.on_hold))
        .collect();
    if flags.contains(&Some(true)) {
        Some(true)
    } else if flags.iter().all(|f| *f == Some(false)) && !flags.is_empty() {
        Some(false)
    } else {
        None
    }
}

/// Peoplevox's status of an order with these numbers: its one sales order's, or, split over
/// several addresses, the status its parts give it together; `None` when Peoplevox has none
/// of them.
fn status_of(
    numbers: &[&str],
    found: &BTreeMap<String, PvxOrder>,
    rules: &StatusRules,
) -> Option<String> {
    if let [number] = numbers {
        return found.get(*number).map(|o| o.status.clone());
    }
    let parts: Vec<(String, Option<PvxOrder>)> = numbers
        .iter()
        .map(|n| (n.to_string(), found.get(*n).cloned()))
        .collect();
    if parts.iter().all(|(_, o)| o.is_none()) {
        return None;
    }
    Some(
        order_status::parts::order_status(&parts, rules)
            .map(|(name, _, _)| name)
            // No part's status is mapped: the first part's, which the status flow audits.
            .unwrap_or_else(|| {
                parts
                    .iter()
                    .find_map(|(_, o)| o.as_ref().map(|o| o.status.clone()))
                    .unwrap_or_default()
            }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::nightly_reconcile::run::Stage;

    /// An order as the sweep reads it: `fields` are its custom fields (our Type).
    fn order(order_state: &str, shipment: &str, fields: serde_json::Value) -> Order {
        serde_json::from_value(serde_json::json!({
            "id": "o", "version": 3, "orderNumber": "N1",
            "orderState": order_state, "shipmentState": shipment,
            "custom": {"type": {"typeId": "type", "id": "t"}, "fields": fields},
        }))
        .unwrap()
    }

    fn decide(o: &Order, marked: bool, peoplevox: Option<&str>) -> Repair {
        repair(o, marked, peoplevox, None, None, &StatusRules::default())
    }

    /// Issue 22 item 10 (first bullet): an order whose own Type cannot show `pvxStatus` is
    /// compared with the status its mark keeps, so it is not re-queued every night.
    #[test]
    fn a_status_kept_in_the_mark_counts_as_shown() {
        let foreign = order("Confirmed", "Ready", serde_json::json!({}));
        let rules = StatusRules::default();
        for peoplevox in ["Packed", "Picking"] {
            assert_eq!(
                repair(
                    &foreign,
                    true,
                    Some(peoplevox),
                    None,
                    Some("Packed"),
                    &rules
                ),
                Repair::Nothing,
                "{peoplevox}"
            );
        }
        assert_eq!(
            repair(
                &foreign,
                true,
                Some("Despatched"),
                None,
                Some("Packed"),
                &rules
            ),
            Repair::Status("Despatched".into())
        );
    }

    /// Found in review (issue 22 item 5): an order left showing the on-hold state after
    /// Peoplevox released it (a lost or stale callback) is repaired by the sweep, at the same
    /// status; an order Peoplevox still holds is left as it is.
    #[test]
    fn a_hold_left_after_its_release_is_requeued() {
        let held = order(
            "Open",
            "Delayed",
            serde_json::json!({"pvxStatus": "Picking"}),
        );
        let rules = StatusRules::default();
        assert_eq!(
            repair(&held, true, Some("Picking"), Some(false), None, &rules),
            Repair::Status("Picking".into())
        );
        assert_eq!(
            repair(&held, true, Some("Picking"), Some(true), None, &rules),
            Repair::Nothing
        );
        assert_eq!(
            repair(&held, true, Some("Picking"), None, None, &rules),
            Repair::Nothing
        );
    }

    #[test]
    fn a_status_that_takes_the_order_further_is_requeued() {
        let open = order("Open", "Ready", serde_json::json!({"pvxStatus": "New"}));
        assert_eq!(
            decide(&open, true, Some("Cancelled")),
            Repair::Status("Cancelled".into())
        );
        assert_eq!(
            decide(&open, true, Some("Picking")),
            Repair::Status("Picking".into())
        );
        // Nothing applied yet: the first status is forward.
        let fresh = order("Open", "Pending", serde_json::json!({}));
        assert_eq!(
            decide(&fresh, true, Some("New")),
            Repair::Status("New".into())
        );
    }

    #[test]
    fn a_status_the_order_shows_or_is_past_is_left_alone() {
        let picking = order(
            "Confirmed",
            "Ready",
            serde_json::json!({"pvxStatus": "Picking"}),
        );
        // The same, in another case; behind it; nothing reported yet.
        assert_eq!(decide(&picking, true, Some("picking")), Repair::Nothing);
        assert_eq!(decide(&picking, true, Some("New")), Repair::Nothing);
        assert_eq!(decide(&picking, true, Some("")), Repair::Nothing);
        // Shipped by the shipment flow before the Despatched callback (lost) arrived.
        let shipped = order(
            "Open",
            "Shipped",
            serde_json::json!({"pvxStatus": "Packed"}),
        );
        assert_eq!(decide(&shipped, true, Some("Despatched")), Repair::Nothing);
        assert_eq!(
            decide(&shipped, true, Some("Closed")),
            Repair::Status("Closed".into())
        );
        assert_eq!(decide(&picking, true, Some("Teleported")), Repair::Unmapped);
        // Exported without Peoplevox having it: for a person.
        assert_eq!(decide(&picking, true, None), Repair::NotInPeoplevox);
        // Unmarked orders that are not cancelled are the order sweep's.
        assert_eq!(decide(&picking, false, Some("Despatched")), Repair::Nothing);
    }

    #[test]
    fn closed_and_cancelled_orders_cost_no_request() {
        let rules = StatusRules::default();
        let closed = order(
            "Complete",
            "Shipped",
            serde_json::json!({"pvxStatus": "Closed"}),
        );
        let cancelled_by_warehouse = order(
            "Cancelled",
            "Canceled",
            serde_json::json!({"pvxStatus": "Cancelled"}),
        );
        let exception = order(
            "Cancelled",
            "Ready",
            serde_json::json!({"pvxException": "picking started"}),
        );
        for o in [&closed, &cancelled_by_warehouse, &exception] {
            assert!(!worth_asking(o, true, &rules), "{o:?}");
            assert_eq!(decide(o, true, Some("New")), Repair::Nothing, "{o:?}");
        }
        // Peoplevox knows orders by number only: an order with neither a number nor an
        // export mark is not asked about (the sweep asks by `peoplevox_numbers`).
        let mut unnumbered = order("Open", "Ready", serde_json::json!({}));
        unnumbered.order_number = None;
        assert!(unnumbered.peoplevox_numbers("ch-export").is_empty());
    }

    #[test]
    fn a_split_order_shows_the_status_its_parts_give_it_together() {
        let rules = StatusRules::default();
        let part = |status: &str| PvxOrder {
            status: status.into(),
            on_hold: None,
        };
        let found: BTreeMap<String, PvxOrder> = [
            ("N-1".to_string(), part("Despatched")),
            ("N-2".to_string(), part("Picking")),
            ("M".to_string(), part("Packed")),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            status_of(&["N-1", "N-2"], &found, &rules).as_deref(),
            Some("Partially despatched")
        );
        assert_eq!(status_of(&["M"], &found, &rules).as_deref(), Some("Packed"));
        assert_eq!(status_of(&["X-1", "X-2"], &found, &rules), None);
        assert_eq!(
            status_of(&["N-2", "X-2"], &found, &rules).as_deref(),
            Some("Picking")
        );
    }

    #[test]
    fn a_commercetools_cancellation_peoplevox_does_not_show_is_requeued() {
        let cancelled = order(
            "Cancelled",
            "Ready",
            serde_json::json!({"pvxStatus": "New"}),
        );
        assert_eq!(decide(&cancelled, true, Some("New")), Repair::Cancel);
        // Even at a status picking has passed: the status flow records the exception.
        assert_eq!(decide(&cancelled, true, Some("Picking")), Repair::Cancel);
        // Cancelled in Peoplevox but not shown on the order as the warehouse's.
        assert_eq!(decide(&cancelled, true, Some("Cancelled")), Repair::Cancel);
        assert_eq!(decide(&cancelled, true, None), Repair::NotInPeoplevox);
        // Without the mark: only when Peoplevox has it (the export landed after all).
        assert_eq!(decide(&cancelled, false, Some("New")), Repair::Cancel);
        assert_eq!(decide(&cancelled, false, None), Repair::Nothing);
    }

    #[test]
    fn the_period_counts_from_the_runs_start() {
        let rules = ReconcileRules {
            order_days: 2,
            order_grace_s: 60,
            ..ReconcileRules::default()
        };
        // 2026-11-30T02:00:00Z
        let (after, before) = period(1_796_004_000_000, &rules).unwrap();
        assert_eq!(after, "2026-11-28T02:00:00Z");
        assert_eq!(before, "2026-11-30T01:59:00Z");
    }

    #[test]
    fn the_stage_is_named_statuses() {
        assert_eq!(Stage::Statuses.to_string(), "statuses");
        assert_eq!(
            serde_json::to_value(Stage::Statuses).unwrap(),
            serde_json::json!({"stage": "statuses"})
        );
    }

    /// Issue 22 item 5: the sweep re-queues a status with the hold flag Peoplevox shows.
    #[test]
    fn the_hold_flag_goes_with_a_requeued_status() {
        let shown = |status: &str, on_hold: Option<bool>| PvxOrder {
            status: status.into(),
            on_hold,
        };
        let found = BTreeMap::from([
            ("A".to_string(), shown("Picking", Some(true))),
            ("B".to_string(), shown("Picking", Some(false))),
            ("C".to_string(), shown("Picking", None)),
        ]);
        assert_eq!(hold_of(&["A"], &found), Some(true));
        assert_eq!(hold_of(&["B"], &found), Some(false));
        assert_eq!(hold_of(&["C"], &found), None);
        assert_eq!(
            hold_of(&["A", "B"], &found),
            Some(true),
            "a held part holds the order"
        );
        assert_eq!(hold_of(&["B", "C"], &found), None);
        assert_eq!(hold_of(&["Z"], &found), None);
    }
}
