//! Step 3: commercetools cancellations. Cancellation is the one fact both systems may start:
//! before export it is commercetools' alone; after export it goes to Peoplevox while nothing is
//! picked; once picking started it is an exception for a person (never applied either way).

use std::collections::BTreeMap;

use futures::StreamExt;
use serde_json::json;

use super::cancel::{self, Pushed};
use super::plan::{self, Reported, Verdict};
use super::report::StatusReport;
use super::{ATTEMPTS, CONCURRENCY, OrderStatus, fields};
use crate::commercetools::actions::export_marks;
use crate::commercetools::types::Order;
use crate::commercetools::{CtError, Decision};
use crate::config::OrderRules;
use crate::config::StatusMapping;
use crate::domain::status::{Cancellation, Stage, cancellation, stage_name};
use crate::flows::batch::RecordOutcome;
use crate::flows::order_export::{OrderLink, load_link};
use crate::mapping::map_order;
use crate::setup::FIELD_PVX_EXCEPTION;

/// How one cancellation ended.
enum Ended {
    /// Not exported: commercetools' alone.
    Local,
    /// Cancelled in Peoplevox now, and the order shows it.
    Pushed,
    /// Peoplevox had it cancelled already.
    Already,
    /// Not applied: a person must decide.
    Exception(String),
    Retry(String),
    Failed(String),
}

impl OrderStatus {
    /// Handles the cancellations of a batch (order id → its records).
    pub(super) async fn apply_cancellations(
        &self,
        by_order: BTreeMap<String, Vec<String>>,
        report: &mut StatusReport,
    ) {
        let ended: Vec<(String, Vec<String>, Ended, Option<Stage>)> =
            futures::stream::iter(by_order)
                .map(|(order_id, records)| async move {
                    let (ended, stage) = self.cancel_one(&order_id).await;
                    (order_id, records, ended, stage)
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
        for (order_id, records, ended, stage) in ended {
            let (outcome, audit, reason) = match ended {
                Ended::Local => {
                    report.cancellations_local += 1;
                    (RecordOutcome::Done, "cancelled-before-export", None)
                }
                Ended::Pushed => {
                    report.cancellations_pushed += 1;
                    report.updates += 1;
                    (RecordOutcome::Done, "cancelled-in-peoplevox", None)
                }
                Ended::Already => {
                    report.unchanged += 1;
                    (RecordOutcome::Done, "unchanged", None)
                }
                Ended::Exception(reason) => {
                    report.conflicts += 1;
                    (RecordOutcome::Done, "conflict", Some(reason))
                }
                Ended::Retry(reason) => {
                    (RecordOutcome::Retry(reason.clone()), "retry", Some(reason))
                }
                Ended::Failed(reason) => (
                    RecordOutcome::DeadLetter(reason.clone()),
                    "rejected",
                    Some(reason),
                ),
            };
            for id in &records {
                report.records.set(id, outcome.clone());
            }
            let detail = json!({
                "event": "commercetools cancellation",
                "warehouseStage": stage.map(stage_name),
            });
            self.audit(&order_id, audit, reason, detail).await;
        }
    }

    async fn cancel_one(&self, order_id: &str) -> (Ended, Option<Stage>) {
        let rules = &self.parts.rules;
        let order = match self.parts.ct.get_order(order_id).await {
            Ok(order) => order,
            Err(CtError::NotFound { .. }) => {
                return (
                    Ended::Failed(format!("order {order_id} does not exist in commercetools")),
                    None,
                );
            }
            Err(e) => return (Ended::Retry(format!("reading the order: {e}")), None),
        };
        let marked = order.sync_info_for(&self.parts.export_channel_id).is_some();
        let stage = plan::warehouse_stage(&order, rules);
        // Every Peoplevox number of the order: its marks' (each part of a split order), or,
        // unmarked, the numbers the export would have sent it under.
        let numbers: Vec<String> = if marked {
            order
                .peoplevox_numbers(&self.parts.export_channel_id)
                .into_iter()
                .map(str::to_string)
                .collect()
        } else {
            let link = match self.unless_in_flight(&order.id).await {
                Ok(link) => link,
                Err(reason) => return (Ended::Retry(reason), stage),
            };
            match link {
                // The numbers an attempt sent it under (or would have), as recorded.
                Some(link) if !link.numbers().is_empty() => link.numbers(),
                _ => expected_numbers(&order, &self.parts.orders),
            }
        };
        // Peoplevox has an order that lacks its export mark: whatever the outcome, the mark.
        let mut found_unmarked = false;
        let decided = match cancellation(marked, stage) {
            // No export mark does not prove Peoplevox never got the order: an export whose
            // mark was lost (or is still being written) has left it there. Peoplevox is asked;
            // only an order it does not have is commercetools' alone.
            Cancellation::LocalOnly if numbers.is_empty() => Ok(Cancellation::LocalOnly),
            Cancellation::LocalOnly => {
                match cancel::any_found(&self.parts.pvx, rules, &numbers).await {
                    Ok(false) => Ok(Cancellation::LocalOnly),
                    Ok(true) => {
                        found_unmarked = true;
                        Ok(Cancellation::PushToPeoplevox)
                    }
                    Err(e) if e.is_retryable() || e.is_outcome_unknown() => {
                        Err(Ended::Retry(format!("asking Peoplevox for the order: {e}")))
                    }
                    Err(e) => Err(Ended::Exception(format!(
                        "asking Peoplevox for the order failed: {e}"
                    ))),
                }
            }
            other => Ok(other),
        };
        let ended = match decided {
            Err(ended) => ended,
            Ok(Cancellation::LocalOnly) => Ended::Local,
            Ok(Cancellation::AlreadyCancelled) => Ended::Already,
            Ok(Cancellation::Exception(reason)) => Ended::Exception(reason),
            Ok(Cancellation::PushToPeoplevox) if !rules.cancel.push_to_peoplevox => Ended::Exception(
                "cancelled in commercetools after export, and status.cancel.push_to_peoplevox is off: cancel it in Peoplevox by hand".into(),
            ),
            Ok(Cancellation::PushToPeoplevox) => {
                match cancel::push(&self.parts.pvx, rules, &numbers).await {
                    Ok(Pushed::Cancelled) => Ended::Pushed,
                    Ok(Pushed::AlreadyCancelled) => Ended::Already,
                    Ok(Pushed::Exception(reason)) => Ended::Exception(reason),
                    Ok(Pushed::NotInPeoplevox) => Ended::Exception(format!(
                        "Peoplevox has no sales order `{}` to cancel",
                        numbers.join("`, `")
                    )),
                    // A cancellation whose answer was lost may have landed: the retry reads
                    // Peoplevox's status first and finds it cancelled, or pushes again.
                    Err(e) if e.is_retryable() || e.is_outcome_unknown() => {
                        Ended::Retry(format!("cancelling in Peoplevox: {e}"))
                    }
                    Err(e) => Ended::Exception(format!("cancelling in Peoplevox failed: {e}")),
                }
            }
        };
        // The order shows the outcome: Canceled and the Peoplevox status, or the exception.
        let shown = match &ended {
            Ended::Pushed | Ended::Already => self.show_cancelled(&order, &numbers).await,
            Ended::Exception(reason) => {
                let mark = if found_unmarked { &numbers[..] } else { &[] };
                self.show_exception(&order, reason, mark).await
            }
            _ => Ok(()),
        };
        match shown {
            Ok(()) => (ended, stage),
            Err(reason) => (Ended::Retry(reason), stage),
        }
    }

    /// The link of an unmarked order, unless its export is in flight. An export that read the
    /// order before it was cancelled may be sending it now (its claim is held) or may have sent
    /// it (link `Sending`) without the mark that shows it yet: Peoplevox lacking the order then
    /// proves nothing, so the cancellation waits (retried) for the export, which marks the order
    /// and, finding it cancelled, cancels it in Peoplevox itself. Read after the order: an export
    /// that claims the order later reads it cancelled and never sends it.
    async fn unless_in_flight(&self, order_id: &str) -> Result<Option<OrderLink>, String> {
        let in_flight = |what: &str| {
            format!(
                "order {order_id} is being exported ({what}): the cancellation waits for its mark"
            )
        };
        match self.parts.export_claims.in_progress(order_id).await {
            Ok(false) => {}
            Ok(true) => return Err(in_flight("an export holds it")),
            Err(e) => return Err(format!("reading the order's export claim: {e}")),
        }
        match load_link(self.parts.state.as_ref(), order_id).await {
            Ok(Some(OrderLink::Sending { .. })) => Err(in_flight("sent, not yet marked")),
            Ok(link) => Ok(link),
            Err(e) => Err(format!("reading the order's link: {e}")),
        }
    }

    /// Applies Peoplevox's cancelled status to the order (shipmentState Canceled, pvxStatus),
    /// compared with what the warehouse had reached — the order's own Cancelled state is
    /// commercetools', not the warehouse's.
    async fn show_cancelled(&self, order: &Order, numbers: &[String]) -> Result<(), String> {
        let rules = &self.parts.rules;
        let name = rules.cancel.value.clone();
        let mapping = rules.resolve(&name).unwrap_or(StatusMapping {
            stage: Stage::Cancelled,
            order_state: None,
            shipment_state: None,
            state: None,
            short_pick: false,
        });
        let reported = Reported {
            name: &name,
            mapping: &mapping,
            on_hold: None,
            shorts: &[],
        };
        let ours = &self.parts.order_type;
        let export = &self.parts.export_channel_id;
        self.parts
            .ct
            .update_order_from(&order.id, Some(order.clone()), ATTEMPTS, |current| {
                // Peoplevox has the order (it just cancelled it or had): an export whose mark
                // was lost gets its mark now, so that no sweep exports it again.
                let mut actions = export_marks(current, export, numbers);
                let applied = plan::warehouse_stage(current, rules);
                if let Verdict::Apply { actions: shown, .. } =
                    plan::plan(current, applied, true, &reported, rules, ours)
                {
                    actions.extend(shown);
                }
                if actions.is_empty() {
                    Decision::Done
                } else {
                    Decision::Update(actions)
                }
            })
            .await
            .map(|_| ())
            .map_err(|e| format!("showing the cancellation on the order: {e}"))
    }

    /// Writes the exception on the order for customer service (when the order carries our Type
    /// or none); `mark`: the numbers of an order Peoplevox has whose export mark was lost, so it
    /// gets it too (or no sweep would ever mark it: the export flow leaves cancelled orders
    /// alone).
    async fn show_exception(
        &self,
        order: &Order,
        reason: &str,
        mark: &[String],
    ) -> Result<(), String> {
        let ours = &self.parts.order_type;
        let export = &self.parts.export_channel_id;
        self.parts
            .ct
            .update_order_from(&order.id, Some(order.clone()), ATTEMPTS, |current| {
                let mut actions = Vec::new();
                if !mark.is_empty() {
                    actions.extend(export_marks(current, export, mark));
                }
                actions.extend(
                    fields::set(current, ours, &[(FIELD_PVX_EXCEPTION, reason.into())])
                        .unwrap_or_default(),
                );
                if actions.is_empty() {
                    Decision::Done
                } else {
                    Decision::Update(actions)
                }
            })
            .await
            .map(|_| ())
            .map_err(|e| format!("recording the exception on the order: {e}"))
    }
}

/// The Peoplevox numbers an unmarked order without a link would have been exported under: its
/// parts' as the export maps it (a derived or split number included), else its `orderNumber`.
fn expected_numbers(order: &Order, rules: &OrderRules) -> Vec<String> {
    match map_order(order, rules) {
        Ok(parts) => parts.iter().map(|so| so.number.to_string()).collect(),
        Err(_) => order.order_number.iter().cloned().collect(),
    }
}
