//! Step 4: Peoplevox returns → `addReturnInfo`, once per Peoplevox return.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use serde_json::json;

use super::report::StatusReport;
use super::returns::{self, PvxReturn, ReturnPlan};
use super::{ATTEMPTS, CONCURRENCY, OrderStatus};
use crate::commercetools::Decision;
use crate::commercetools::types::Order;
use crate::flows::batch::{RecordOutcome, failed_write};
use crate::flows::order_export::unknown_numbers;

use super::read::ReturnEvent;

impl OrderStatus {
    /// Records the returns the batch's events point at.
    pub(super) async fn record_returns(&self, events: Vec<ReturnEvent>, report: &mut StatusReport) {
        let numbers: Vec<String> = events
            .iter()
            .filter_map(|(_, order, _)| order.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let codes: Vec<String> = events
            .iter()
            .filter(|(_, order, _)| order.is_none())
            .filter_map(|(_, _, code)| code.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let report_name = &self.parts.rules.returns.report;
        let found = match returns::read(&self.parts.pvx, report_name, &numbers, &codes).await {
            Ok(found) => found,
            Err(e) => {
                let reason = format!("reading returns from Peoplevox: {e}");
                for (id, _, _) in &events {
                    report.records.set(id, RecordOutcome::Retry(reason.clone()));
                }
                return;
            }
        };
        // Each event must see its return in the report; a report that lags is retried.
        let mut wanted: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, order, code) in &events {
            let matching: Vec<&PvxReturn> = found
                .values()
                .filter(|r| {
                    code.as_ref().is_none_or(|c| &r.code == c)
                        && order.as_ref().is_none_or(|o| &r.order_number == o)
                })
                .collect();
            match matching.first() {
                Some(r) => wanted
                    .entry(r.order_number.clone())
                    .or_default()
                    .push(id.clone()),
                None => report.records.set(
                    id,
                    RecordOutcome::Retry(format!(
                        "return {} of order {} is not in Peoplevox's \"{report_name}\" yet",
                        code.as_deref().unwrap_or("?"),
                        order.as_deref().unwrap_or("?")
                    )),
                ),
            }
        }
        let order_numbers: Vec<String> = wanted.keys().cloned().collect();
        let orders: BTreeMap<String, Order> = match self
            .parts
            .ct
            .orders_by_peoplevox_number(&order_numbers, &self.parts.export_channel_id)
            .await
        {
            Ok(list) => list,
            Err(e) => {
                let reason = format!("reading orders from commercetools: {e}");
                for id in wanted.values().flatten() {
                    report.records.set(id, RecordOutcome::Retry(reason.clone()));
                }
                return;
            }
        };
        // The plan compares what Peoplevox received with what the order shows received, so it
        // needs every return of the order: those of each part of a split order, and those of a
        // number only a return code pointed at. The numbers the first read did not cover are
        // read now.
        let export = self.parts.export_channel_id.as_str();
        let read_by_number: BTreeSet<&str> = numbers.iter().map(String::as_str).collect();
        let more: Vec<String> = orders
            .values()
            .flat_map(|o| o.peoplevox_numbers(export))
            .filter(|n| !read_by_number.contains(n))
            .map(str::to_string)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut found = found;
        if !more.is_empty() {
            match returns::read(&self.parts.pvx, report_name, &more, &[]).await {
                Ok(rest) => found.extend(rest),
                Err(e) => {
                    let reason = format!("reading returns from Peoplevox: {e}");
                    for id in wanted.values().flatten() {
                        report.records.set(id, RecordOutcome::Retry(reason.clone()));
                    }
                    return;
                }
            }
        }
        // One unit of work per commercetools order, whichever of its numbers the events named:
        // two parts planned apart would each see the other's units as received.
        let mut by_order: BTreeMap<String, (Order, Vec<String>, BTreeSet<String>)> =
            BTreeMap::new();
        for (number, ids) in wanted {
            match orders.get(&number) {
                Some(order) => {
                    let entry = by_order.entry(order.id.clone()).or_insert_with(|| {
                        let numbers = order
                            .peoplevox_numbers(export)
                            .into_iter()
                            .map(str::to_string)
                            .collect();
                        (order.clone(), Vec::new(), numbers)
                    });
                    entry.1.extend(ids);
                    entry.2.insert(number);
                }
                None => {
                    let outcome = unknown_numbers(
                        &self.not_ours(),
                        std::slice::from_ref(&number),
                        |n| {
                            format!(
                                "unknown order number `{n}` (return): commercetools has no such order"
                            )
                        },
                    )
                    .await
                    .remove(&number)
                    .unwrap_or_else(|| {
                        RecordOutcome::DeadLetter(format!("unknown order number `{number}`"))
                    });
                    if outcome == RecordOutcome::Done {
                        report.not_ours += ids.len();
                    }
                    for id in &ids {
                        report.records.set(id, outcome.clone());
                    }
                }
            }
        }
        let work: Vec<(Order, Vec<PvxReturn>, Vec<String>)> = by_order
            .into_values()
            .map(|(order, ids, numbers)| {
                let mine: Vec<PvxReturn> = found
                    .values()
                    .filter(|r| numbers.contains(&r.order_number))
                    .cloned()
                    .collect();
                (order, mine, ids)
            })
            .collect();
        let done: Vec<_> = futures::stream::iter(work)
            .map(|(order, mine, ids)| async move {
                let result = self.record_for(&order, &mine).await;
                (order, mine, ids, result)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (order, mine, ids, result) in done {
            let codes: Vec<&str> = mine.iter().map(|r| r.code.as_str()).collect();
            let (outcome, audit, reason, detail) = match result {
                Ok(plan) => {
                    report.returns_recorded += plan.recorded.len();
                    report.returns_unchanged += mine.len() - plan.recorded.len();
                    let reason = (!plan.unmatched.is_empty()).then(|| plan.unmatched.join("; "));
                    let audit = if plan.recorded.is_empty() {
                        "unchanged"
                    } else {
                        "return-recorded"
                    };
                    let detail = json!({ "returns": codes, "recorded": plan.recorded });
                    (RecordOutcome::Done, audit, reason, detail)
                }
                Err(outcome) => {
                    let detail = json!({ "returns": codes });
                    let reason = outcome.reason().map(str::to_string);
                    (outcome.clone(), outcome.audit_name(), reason, detail)
                }
            };
            for id in &ids {
                report.records.set(id, outcome.clone());
            }
            self.audit(&order.id, audit, reason, detail).await;
        }
    }

    /// Plans on the order as it is now and writes with its version. What the call recorded is
    /// read off the order, not off the decisions: the returns the plan books on the order as
    /// given and no longer books on the order as left (every part of a long update, and a
    /// write whose answer was lost, included).
    async fn record_for(
        &self,
        order: &Order,
        mine: &[PvxReturn],
    ) -> Result<ReturnPlan, RecordOutcome> {
        let refs: Vec<&PvxReturn> = mine.iter().collect();
        let state = self.parts.rules.returns.shipment_state;
        let plan = |o: &Order| returns::plan(o, &refs, &self.sku_map, state);
        let outcome = self
            .parts
            .ct
            .update_order_from(&order.id, Some(order.clone()), ATTEMPTS, |current| {
                Decision::Update(plan(current).actions)
            })
            .await;
        match outcome {
            Ok(done) => {
                let before = plan(order);
                let left = plan(&done.order);
                Ok(ReturnPlan {
                    recorded: before
                        .recorded
                        .into_iter()
                        .filter(|code| !left.recorded.contains(code))
                        .collect(),
                    ..left
                })
            }
            Err(e) => Err(failed_write(&e, "the return")),
        }
    }
}
