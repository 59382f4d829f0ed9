//! What a status callback left out, read from Peoplevox. The only public client that
//! subscribes SalesOrderStatusChanges registers `{SalesOrderNumber}`,
//! `{LastModificationTime}` and `{SalesOrderStatu.Name}` (finerylondon/peep_conn
//! `lib/peep_conn/subscription.rb`), and no public source shows a hold placeholder, so a
//! callback may carry no status (a tenant that fills none) and, unless the tenant configured
//! one, no hold flag. Those orders' status and hold flag are read through the "Sales orders"
//! template ([`pvx_orders`]), one request per 100 orders, before the batch is planned. A
//! status read this way is Peoplevox's latest, so a hold that was lifted again, or a stage
//! passed meanwhile, is not shown: the flow shows what the warehouse shows now.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;

use super::report::StatusReport;
use super::{OrderStatus, StatusEvent, pvx_orders};
use crate::flows::batch::RecordOutcome;

/// The status Peoplevox gives an order on import when none is set (Zynk
/// `Peoplevox-Sales-Order-XML.md`): what an empty status field means.
const DEFAULT_STATUS: &str = "New";

impl OrderStatus {
    /// Fills in the status and hold flag the events of `by_order` lack. An order whose status
    /// cannot be read is retried (its events leave `by_order`); a hold flag that cannot be read
    /// is left unknown.
    pub(super) async fn fill(
        &self,
        by_order: &mut BTreeMap<String, Vec<StatusEvent>>,
        report: &mut StatusReport,
    ) {
        let read_holds = !self.no_hold_field.load(Ordering::Relaxed);
        let needs_status: BTreeSet<String> = by_order
            .iter()
            .filter(|(_, events)| events.iter().any(|e| e.status.is_none()))
            .map(|(n, _)| n.clone())
            .collect();
        let needs_hold: BTreeSet<String> = by_order
            .iter()
            .filter(|(_, events)| read_holds && events.iter().all(|e| e.on_hold.is_none()))
            .map(|(n, _)| n.clone())
            .collect();
        let wanted: Vec<&String> = needs_status.union(&needs_hold).collect();
        if wanted.is_empty() {
            return;
        }
        let read_at_ms = crate::store::now_epoch_ms();
        let read = match pvx_orders::read(&self.parts.pvx, &self.parts.rules, &wanted).await {
            Ok(read) => read,
            Err(e) => {
                let reason = format!("reading order statuses from Peoplevox: {e}");
                for number in &needs_status {
                    self.park(
                        by_order,
                        number,
                        report,
                        RecordOutcome::Retry(reason.clone()),
                    );
                }
                tracing::warn!(error = %e, "hold flags not read from Peoplevox");
                return;
            }
        };
        if !read.hold_field && !read.orders.is_empty() {
            self.no_hold_field.store(true, Ordering::Relaxed);
            tracing::warn!(
                template = %self.parts.rules.cancel.template,
                field = %self.parts.rules.cancel.hold_field,
                "the status template has no hold field: holds show only where the status callbacks carry them (subscriptions.parameters.status.onhold)"
            );
        }
        for number in needs_status.union(&needs_hold) {
            let Some(found) = read.orders.get(number) else {
                if needs_status.contains(number) {
                    let reason = format!(
                        "Peoplevox has no sales order `{number}` to read its status from (yet)"
                    );
                    self.park(by_order, number, report, RecordOutcome::Retry(reason));
                }
                continue;
            };
            let Some(events) = by_order.get_mut(number) else {
                continue;
            };
            let status = if found.status.is_empty() {
                DEFAULT_STATUS
            } else {
                found.status.as_str()
            };
            let hold = needs_hold
                .contains(number)
                .then_some(found.on_hold)
                .flatten();
            for event in events.iter_mut() {
                let mut read_here = false;
                if event.status.is_none() {
                    event.status = Some(status.to_string());
                    read_here = true;
                }
                if hold.is_some() {
                    event.on_hold = hold;
                    event.hold_read_at_ms = Some(read_at_ms);
                    read_here = true;
                }
                if read_here {
                    event.read_from_peoplevox = true;
                    report.read_from_peoplevox += 1;
                }
            }
        }
    }

    /// Ends an order's events that lack a status with `outcome`; the others stay.
    fn park(
        &self,
        by_order: &mut BTreeMap<String, Vec<StatusEvent>>,
        number: &str,
        report: &mut StatusReport,
        outcome: RecordOutcome,
    ) {
        if let Some(events) = by_order.get_mut(number) {
            events.retain(|e| {
                if e.status.is_some() {
                    return true;
                }
                report.records.set(&e.record_id, outcome.clone());
                false
            });
            if events.is_empty() {
                by_order.remove(number);
            }
        }
    }
}
