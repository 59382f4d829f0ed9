//! Step 3: commercetools cancellations. Cancellation is the one fact both systems may start:
//! before export it is commercetools' alone; after export it goes to Peoplevox while nothing is
//! picked; once picking started it is an exception for a person (never applied either way).

use std::collections::BTreeMap;

use futures::StreamExt;
use serde_json::json;

use super::cancel::{self, Pushed};
use super::plan::{self, Reported, Verdict};
use super::pvx_orders::{self, Orders};
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
use crate::peoplevox::PvxError;
use crate::setup::FIELD_PVX_EXCEPTION;

/// How one cancellation ended.
#[derive(Clone)]
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

/// The exception of an exported order cancelled in commercetools while pushing is off.
const PUSH_OFF: &str = "cancelled in commercetools after export, and status.cancel.push_to_peoplevox is off: cancel it in Peoplevox by hand";

/// A cancellation as far as commercetools and our own state decide it.
enum Prepared {
    /// Decided without Peoplevox.
    Ended(Ended, Option<Stage>),
    /// Peoplevox must be read for these numbers.
    Ask(Box<Asking>),
}

/// A cancellation waiting for Peoplevox's statuses of its sales orders.
struct Asking {
    order: Order,
    stage: Option<Stage>,
    /// Every Peoplevox number of the order.
    numbers: Vec<String>,
    /// The order has no export mark: Peoplevox is asked whether it has it at all.
    unmarked: bool,
}

/// A cancellation decided with Peoplevox's statuses.
struct Decided {
    order: Order,
    stage: Option<Stage>,
    numbers: Vec<String>,
    /// Peoplevox has an order that lacks its export mark: whatever the outcome, the mark.
    found_unmarked: bool,
    step: Step,
}

/// Where a cancellation stands after Peoplevox's statuses were read.
enum Step {
    Ended(Ended),
    /// These numbers are still to cancel in Peoplevox.
    Cancel(Vec<String>),
}

impl OrderStatus {
    /// Handles the cancellations of a batch (order id → its records). Peoplevox is read once for
    /// every order of the batch (100 numbers a request) and the cancellations are saved in one
    /// request: at about one request a second, one read and one save per order would outlast
    /// the function's Timeout for a batch of 100, and cancellations race the pickers.
    pub(super) async fn apply_cancellations(
        &self,
        by_order: BTreeMap<String, Vec<String>>,
        report: &mut StatusReport,
    ) {
        let prepared: Vec<(String, Vec<String>, Prepared)> = futures::stream::iter(by_order)
            .map(|(order_id, records)| async move {
                let prepared = self.prepare(&order_id).await;
                (order_id, records, prepared)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut ended = Vec::new();
        let mut asking = Vec::new();
        for (order_id, records, prepared) in prepared {
            match prepared {
                Prepared::Ended(e, stage) => ended.push((order_id, records, e, stage)),
                Prepared::Ask(a) => asking.push((order_id, records, *a)),
            }
        }
        let decided = self.decide_with_peoplevox(asking).await;
        let decided = self.cancel_in_peoplevox(decided).await;
        let shown: Vec<_> = futures::stream::iter(decided)
            .map(|(order_id, records, d, ended)| async move {
                let ended = self.show(&d, ended).await;
                (order_id, records, ended, d.stage)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        ended.extend(shown);
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

    /// Reads the order and decides what commercetools and our state can tell: not exported
    /// (nothing sent or in flight), already cancelled, picking started; else Peoplevox is asked.
    async fn prepare(&self, order_id: &str) -> Prepared {
        let rules = &self.parts.rules;
        let order = match self.parts.ct.get_order(order_id).await {
            Ok(order) => order,
            Err(CtError::NotFound { .. }) => {
                return Prepared::Ended(
                    Ended::Failed(format!("order {order_id} does not exist in commercetools")),
                    None,
                );
            }
            Err(e) => {
                return Prepared::Ended(Ended::Retry(format!("reading the order: {e}")), None);
            }
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
                Err(reason) => return Prepared::Ended(Ended::Retry(reason), stage),
            };
            match link {
                // The numbers an attempt sent it under (or would have), as recorded.
                Some(link) if !link.numbers().is_empty() => link.numbers(),
                _ => expected_numbers(&order, &self.parts.orders),
            }
        };
        let ended = match cancellation(marked, stage) {
            // No export mark does not prove Peoplevox never got the order: an export whose
            // mark was lost (or is still being written) has left it there. Peoplevox is asked;
            // only an order it does not have is commercetools' alone.
            Cancellation::LocalOnly if numbers.is_empty() => Ended::Local,
            // Nothing will be sent: no need to ask Peoplevox first.
            Cancellation::PushToPeoplevox if !rules.cancel.push_to_peoplevox => {
                Ended::Exception(PUSH_OFF.into())
            }
            Cancellation::LocalOnly | Cancellation::PushToPeoplevox => {
                return Prepared::Ask(Box::new(Asking {
                    order,
                    stage,
                    numbers,
                    unmarked: !marked,
                }));
            }
            Cancellation::AlreadyCancelled => Ended::Already,
            Cancellation::Exception(reason) => Ended::Exception(reason),
        };
        let shown = self.show_outcome(&order, &ended, &[]).await;
        Prepared::Ended(shown, stage)
    }

    /// Reads Peoplevox's statuses of every order's numbers at once and decides each order.
    async fn decide_with_peoplevox(
        &self,
        asking: Vec<(String, Vec<String>, Asking)>,
    ) -> Vec<(String, Vec<String>, Decided)> {
        let rules = &self.parts.rules;
        let numbers: Vec<&str> = asking
            .iter()
            .flat_map(|(_, _, a)| a.numbers.iter().map(String::as_str))
            .collect();
        let shared = if numbers.is_empty() {
            Ok(Orders::default())
        } else {
            pvx_orders::read(&self.parts.pvx, rules, &numbers).await
        };
        // A read refused for good (a bad row, an API error) would make every order of the
        // batch an exception: each order is then read on its own, so that only the order the
        // refusal is about becomes one.
        let refused_for_good = shared
            .as_ref()
            .is_err_and(|e| !(e.is_retryable() || e.is_outcome_unknown()));
        let mut own_reads: Vec<Result<Orders, PvxError>> = Vec::new();
        if refused_for_good && asking.len() > 1 {
            for (_, _, a) in &asking {
                own_reads.push(pvx_orders::read(&self.parts.pvx, rules, &a.numbers).await);
            }
        }
        asking
            .into_iter()
            .enumerate()
            .map(|(i, (order_id, records, a))| {
                let read = own_reads.get(i).unwrap_or(&shared);
                let mut found_unmarked = false;
                let step = match read {
                    Err(e) => Step::Ended(pvx_failed(e, "asking Peoplevox for the order")),
                    Ok(_) if a.unmarked && !a.numbers.iter().any(|n| read_has(read, n)) => {
                        Step::Ended(Ended::Local)
                    }
                    Ok(_) if !rules.cancel.push_to_peoplevox => {
                        found_unmarked = a.unmarked;
                        Step::Ended(Ended::Exception(PUSH_OFF.into()))
                    }
                    Ok(shown) => {
                        found_unmarked = a.unmarked;
                        match cancel::plan(&a.numbers, shown, rules) {
                            cancel::Plan::Cancel(to_cancel) => Step::Cancel(to_cancel),
                            cancel::Plan::Ended(pushed) => {
                                Step::Ended(ended_by(pushed, &a.numbers))
                            }
                        }
                    }
                };
                let decided = Decided {
                    order: a.order,
                    stage: a.stage,
                    numbers: a.numbers,
                    found_unmarked,
                    step,
                };
                (order_id, records, decided)
            })
            .collect()
    }

    /// Saves the cancellations still to send, together, and says how each ended.
    async fn cancel_in_peoplevox(
        &self,
        decided: Vec<(String, Vec<String>, Decided)>,
    ) -> Vec<(String, Vec<String>, Decided, Ended)> {
        let to_save: Vec<Vec<String>> = decided
            .iter()
            .filter_map(|(_, _, d)| match &d.step {
                Step::Cancel(numbers) => Some(numbers.clone()),
                Step::Ended(_) => None,
            })
            .collect();
        let mut saved = cancel::save_all(&self.parts.pvx, &self.parts.rules, &to_save)
            .await
            .into_iter();
        decided
            .into_iter()
            .map(|(order_id, records, d)| {
                let ended = match &d.step {
                    Step::Ended(ended) => ended.clone(),
                    Step::Cancel(_) => match saved.next() {
                        Some(Ok(pushed)) => ended_by(pushed, &d.numbers),
                        // A cancellation whose answer was lost may have landed: the retry
                        // reads Peoplevox's status first and finds it cancelled, or pushes
                        // again.
                        Some(Err(e)) => pvx_failed(&e, "cancelling in Peoplevox"),
                        None => Ended::Retry("the cancellation was not sent".into()),
                    },
                };
                (order_id, records, d, ended)
            })
            .collect()
    }

    /// The order shows how its cancellation ended; a failure to show it retries.
    async fn show(&self, d: &Decided, ended: Ended) -> Ended {
        let mark = if d.found_unmarked {
            &d.numbers[..]
        } else {
            &[]
        };
        self.show_outcome(&d.order, &ended, mark).await
    }

    /// The order shows the outcome: Canceled and the Peoplevox status, or the exception (with
    /// `mark`, the numbers of an order Peoplevox has whose export mark was lost).
    async fn show_outcome(&self, order: &Order, ended: &Ended, mark: &[String]) -> Ended {
        let shown = match ended {
            Ended::Pushed | Ended::Already => {
                let numbers = if mark.is_empty() {
                    order
                        .peoplevox_numbers(&self.parts.export_channel_id)
                        .into_iter()
                        .map(str::to_string)
                        .collect()
                } else {
                    mark.to_vec()
                };
                self.show_cancelled(order, &numbers).await
            }
            Ended::Exception(reason) => self.show_exception(order, reason, mark).await,
            _ => Ok(()),
        };
        match shown {
            Ok(()) => ended.clone(),
            Err(reason) => Ended::Retry(reason),
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
            despatched: false,
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
                // After any exception the order shows already.
                let shown = fields::appended(current, FIELD_PVX_EXCEPTION, &[reason.to_string()]);
                actions.extend(
                    fields::set(current, ours, &[(FIELD_PVX_EXCEPTION, shown.into())])
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

/// Whether the read found the number.
fn read_has(read: &Result<Orders, PvxError>, number: &str) -> bool {
    read.as_ref().is_ok_and(|r| r.orders.contains_key(number))
}

/// How a push's answer ends the cancellation of an order with these numbers.
fn ended_by(pushed: Pushed, numbers: &[String]) -> Ended {
    match pushed {
        Pushed::Cancelled => Ended::Pushed,
        Pushed::AlreadyCancelled => Ended::Already,
        Pushed::Exception(reason) => Ended::Exception(reason),
        Pushed::NotInPeoplevox => Ended::Exception(format!(
            "Peoplevox has no sales order `{}` to cancel",
            numbers.join("`, `")
        )),
    }
}

/// A failed Peoplevox request: retried when it may pass later (or may have landed), else an
/// exception for a person.
fn pvx_failed(e: &PvxError, doing: &str) -> Ended {
    if e.is_retryable() || e.is_outcome_unknown() {
        Ended::Retry(format!("{doing}: {e}"))
    } else {
        Ended::Exception(format!("{doing} failed: {e}"))
    }
}
