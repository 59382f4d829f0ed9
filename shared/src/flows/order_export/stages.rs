//! Steps 1–6 of the order export: read, claim, link check, fetch, map, item check.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;

use super::cancelled::is_cancelled;
use super::finish::tally;
use super::link::{self, OrderLink};
use super::{BatchReport, Finish, OrderExport, Work};
use crate::commercetools::message::{self, Parsed};
use crate::commercetools::types::Order;
use crate::domain::{HoldReason, SalesOrder, SalesOrderNumber};
use crate::flows::batch::{InputRecord, RecordOutcome};
use crate::idempotency::Claim;
use crate::mapping::map_order;
use crate::mapping::order::number;

/// Concurrent store and API calls per batch.
pub(super) const CONCURRENCY: usize = 16;

impl OrderExport {
    /// Step 1: one [`Work`] per distinct order; unreadable records are dead-lettered.
    pub(super) fn read_records(
        &self,
        records: &[InputRecord],
        report: &mut BatchReport,
    ) -> Vec<Work> {
        let mut by_order: BTreeMap<String, usize> = BTreeMap::new();
        let mut work: Vec<Work> = Vec::new();
        for record in records {
            match message::parse_for_project(record.body.as_bytes(), self.ct.project_key()) {
                // The message only names the order: it is read from commercetools (step 4).
                Ok(Parsed::OrderCreated(event)) => match by_order.get(&event.order_id) {
                    Some(&i) => {
                        let w = &mut work[i];
                        w.message_ids.push(record.id.clone());
                        w.imported |= event.is_import();
                    }
                    None => {
                        by_order.insert(event.order_id.clone(), work.len());
                        let imported = event.is_import();
                        work.push(Work {
                            order_id: event.order_id,
                            message_ids: vec![record.id.clone()],
                            recovering: false,
                            order: None,
                            sales_orders: Vec::new(),
                            in_peoplevox: BTreeSet::new(),
                            was_held: false,
                            imported,
                            sent_numbers: Vec::new(),
                            cancellation: None,
                        });
                    }
                },
                Ok(Parsed::OrderStateChanged(change)) => {
                    // Cancellations are the status flow's: its queue is where the
                    // OrderStateChanged subscription belongs (README, "Deploy").
                    tracing::warn!(message_id = %record.id, order_id = %change.order_id, "OrderStateChanged on the orders queue: ignored; subscribe it to the status queue");
                    report.ignored += 1;
                    report.records.set(&record.id, RecordOutcome::Done);
                }
                Ok(Parsed::Ignored(kind)) => {
                    tracing::info!(message_id = %record.id, kind, "ignored notification");
                    report.ignored += 1;
                    report.records.set(&record.id, RecordOutcome::Done);
                }
                Err(e) => report
                    .records
                    .set(&record.id, RecordOutcome::DeadLetter(e.to_string())),
            }
        }
        work
    }

    /// Step 2: take each order's idempotency claim until the deadline.
    pub(super) async fn claim(
        &self,
        work: Vec<Work>,
        deadline_ms: i64,
        report: &mut BatchReport,
    ) -> Vec<Work> {
        let claims: Vec<_> = futures::stream::iter(work)
            .map(|w| async move {
                let claim = self.idempotency.claim(&w.order_id, deadline_ms).await;
                (w, claim)
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let mut kept = Vec::new();
        for (mut w, claim) in claims {
            // Only counted, not written: the claim is not ours to complete or release.
            match claim {
                Ok(Claim::Acquired { recovering }) => {
                    w.recovering = recovering;
                    kept.push(w);
                }
                Ok(Claim::AlreadyCompleted(_)) => tally(report, &w, &Finish::Duplicate),
                Ok(Claim::InProgressElsewhere) => {
                    // The other worker finishes it; SQS brings these records back.
                    let reason = "order is being exported by another worker".to_string();
                    tally(report, &w, &Finish::Retry(reason));
                }
                Err(e) => tally(report, &w, &Finish::Retry(e.to_string())),
            }
        }
        kept
    }

    /// Step 3: an order already exported is a duplicate; one left `Sending` is recovering; an
    /// imported order is left alone while `orders.export_imported` is false (remembered, so
    /// that a re-queue of it is left alone too).
    pub(super) async fn check_links(&self, work: Vec<Work>, report: &mut BatchReport) -> Vec<Work> {
        let links: Vec<_> = futures::stream::iter(work)
            .map(|w| async move {
                let l = link::load(self.state.as_ref(), &w.order_id).await;
                (w, l)
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let (mut kept, mut done) = (Vec::new(), Vec::new());
        let skip_imports = !self.rules.export_imported;
        for (mut w, l) in links {
            // An import is left alone unless a previous attempt has (maybe) sent it already.
            let import = w.imported
                || matches!(
                    &l,
                    Ok(Some(OrderLink::Held {
                        reason: HoldReason::ImportNotExported,
                        ..
                    }))
                );
            let unsent = matches!(&l, Ok(None | Some(OrderLink::Held { .. })));
            if skip_imports && import && unsent {
                done.push((w, Finish::Ignored(HoldReason::ImportNotExported)));
                continue;
            }
            match l {
                Ok(Some(OrderLink::Exported { .. })) => done.push((w, Finish::Duplicate)),
                Ok(Some(link @ OrderLink::Sending { .. })) => {
                    w.recovering = true;
                    w.sent_numbers = link.numbers();
                    kept.push(w);
                }
                // Peoplevox refused a record of it: what it took (a header, other parts) is
                // there, so this attempt looks before it sends, like a recovering one.
                Ok(Some(
                    link @ OrderLink::Held {
                        reason: HoldReason::RejectedByPeoplevox { .. },
                        ..
                    },
                )) => {
                    w.was_held = true;
                    w.recovering = true;
                    w.sent_numbers = link.numbers();
                    kept.push(w);
                }
                Ok(Some(OrderLink::Held { .. })) => {
                    w.was_held = true;
                    kept.push(w);
                }
                Ok(None) => kept.push(w),
                Err(e) => done.push((w, Finish::Retry(e.to_string()))),
            }
        }
        self.finish_all(done, report).await;
        kept
    }

    /// Step 4: read every order of the batch from commercetools by id (a few queries, not a
    /// request per order), and use what was read, never a payload. An id commercetools does not
    /// know is parked with the reason. An order marked exported in commercetools is a duplicate
    /// even if this store forgot it; one cancelled before its export never reaches Peoplevox.
    pub(super) async fn load_orders(&self, work: Vec<Work>, report: &mut BatchReport) -> Vec<Work> {
        if work.is_empty() {
            return work;
        }
        let ids: Vec<String> = work.iter().map(|w| w.order_id.clone()).collect();
        let mut fetched = match self.ct.orders_by_id(&ids).await {
            Ok(fetched) => fetched,
            Err(e) => {
                let reason = format!("reading the orders from commercetools: {e}");
                self.retry_all(work, &reason, report).await;
                return Vec::new();
            }
        };
        let (mut kept, mut done, mut marked) = (Vec::new(), Vec::new(), Vec::new());
        for mut w in work {
            match fetched.remove(&w.order_id) {
                Some(Ok(order)) if order.sync_info_for(&self.export_channel_id).is_some() => {
                    marked.push((w, order));
                }
                // A previous attempt may have sent it: its link must stop saying `Sending`
                // (the status flow's cancellation waits on that) and keep its numbers, so that
                // the cancellation asks Peoplevox for them.
                Some(Ok(order)) if is_cancelled(&order) && w.recovering && !w.was_held => {
                    let number = w.sent_numbers.first().cloned();
                    done.push((
                        w,
                        Finish::Held {
                            number,
                            reason: HoldReason::CancelledWhileSending,
                        },
                    ));
                }
                Some(Ok(order)) if is_cancelled(&order) => done.push((w, Finish::Cancelled)),
                Some(Ok(order)) => {
                    w.order = Some(order);
                    kept.push(w);
                }
                Some(Err(problem)) => {
                    let reason = format!(
                        "order {} cannot be read from commercetools: {problem}",
                        w.order_id
                    );
                    done.push((w, Finish::DeadLetter(reason)));
                }
                None => {
                    let reason = format!("order {} does not exist in commercetools", w.order_id);
                    done.push((w, Finish::DeadLetter(reason)));
                }
            }
        }
        done.extend(self.marked_already(marked).await);
        self.finish_all(done, report).await;
        kept
    }

    /// Orders marked exported by an earlier attempt are duplicates. One cancelled since was
    /// cancelled while that attempt was in flight (it died before it could say so): its
    /// cancellation goes to Peoplevox now.
    async fn marked_already(&self, marked: Vec<(Work, Order)>) -> Vec<(Work, Finish)> {
        futures::stream::iter(marked)
            .map(|(mut w, order)| async move {
                if !is_cancelled(&order) {
                    return (w, Finish::Duplicate);
                }
                match self.push_cancellation(&order).await {
                    Ok(note) => {
                        w.cancellation = Some(note);
                        (w, Finish::Duplicate)
                    }
                    Err(reason) => (w, Finish::Retry(reason)),
                }
            })
            .buffered(CONCURRENCY)
            .collect()
            .await
    }

    /// Every order of `work` goes back to the queue with the reason.
    async fn retry_all(&self, work: Vec<Work>, reason: &str, report: &mut BatchReport) {
        let done = work
            .into_iter()
            .map(|w| (w, Finish::Retry(reason.to_string())))
            .collect();
        self.finish_all(done, report).await;
    }

    /// Step 5: map; orders that cannot be mapped are held with the reason. Values the tenant's
    /// template has no field for are noted, not sent.
    pub(super) async fn map_orders(&self, work: Vec<Work>, report: &mut BatchReport) -> Vec<Work> {
        let (mut kept, mut done) = (Vec::new(), Vec::new());
        for mut w in work {
            // Step 4 gave every remaining order its Order; None cannot reach here.
            let Some(order) = w.order.as_ref() else {
                done.push((w, Finish::Retry("order was not loaded".into())));
                continue;
            };
            match map_order(order, &self.rules) {
                Ok(mut parts) => match keep_sent_numbers(&mut parts, &w.sent_numbers) {
                    Ok(()) => {
                        for sales_order in &mut parts {
                            self.layout.fit(sales_order);
                        }
                        w.sales_orders = parts;
                        kept.push(w);
                    }
                    Err(reason) => {
                        let number = w.sent_numbers.first().cloned();
                        done.push((w, Finish::Held { number, reason }));
                    }
                },
                Err(reason) => {
                    let number = number::choose(order, &self.rules.numbering)
                        .map(|c| c.number.to_string())
                        .ok()
                        .or_else(|| order.order_number.clone());
                    done.push((w, Finish::Held { number, reason }));
                }
            }
        }
        self.finish_all(done, report).await;
        kept
    }

    /// Step 6: hold orders whose items Peoplevox does not know.
    pub(super) async fn hold_unknown_items(
        &self,
        work: Vec<Work>,
        report: &mut BatchReport,
    ) -> Vec<Work> {
        let codes: BTreeSet<String> = work
            .iter()
            .flat_map(|w| &w.sales_orders)
            .flat_map(|so| so.lines.iter().map(|l| l.item_code.to_string()))
            .collect();
        let unknown = match self.items.unknown_among(&self.pvx, &codes, false).await {
            Ok(unknown) => unknown,
            Err(e) => {
                let reason = format!("checking items in Peoplevox: {e}");
                self.retry_all(work, &reason, report).await;
                return Vec::new();
            }
        };
        let (mut kept, mut done) = (Vec::new(), Vec::new());
        for w in work {
            let missing: Vec<String> = w
                .sales_orders
                .iter()
                .flat_map(|so| &so.lines)
                .map(|l| l.item_code.to_string())
                .filter(|code| unknown.contains(code))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if missing.is_empty() {
                kept.push(w);
            } else {
                let number = w.first_number();
                done.push((
                    w,
                    Finish::Held {
                        number,
                        reason: HoldReason::UnknownSkus { skus: missing },
                    },
                ));
            }
        }
        self.finish_all(done, report).await;
        kept
    }
}

/// A retry of an order a previous attempt sent (link `Sending`) goes out under the numbers it
/// was sent under, part by part, even if the numbering configuration changed since: a second
/// number would be a second Peoplevox order. An order that now maps to another number of parts
/// than were sent is held for a person: pairing old numbers with new parts could ship units
/// twice.
fn keep_sent_numbers(parts: &mut [SalesOrder], sent: &[String]) -> Result<(), HoldReason> {
    if !sent.is_empty() && sent.len() != parts.len() {
        return Err(HoldReason::invalid(format!(
            "sent to Peoplevox earlier as {} sales order(s) ({}), it now maps to {}: a person \
             must check what Peoplevox holds",
            sent.len(),
            sent.join(", "),
            parts.len()
        )));
    }
    for (sales_order, sent) in parts.iter_mut().zip(sent) {
        if sent == sales_order.number.as_str() {
            continue;
        }
        let Ok(number) = SalesOrderNumber::parse(sent) else {
            continue;
        };
        sales_order.notes.push(format!(
            "sent as {number} by an earlier attempt; kept instead of {}",
            sales_order.number
        ));
        for (name, value) in &mut sales_order.fields {
            if name == "SalesOrderNumber" {
                *value = number.to_string();
            }
        }
        sales_order.number = number;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sales_order(number: &str) -> SalesOrder {
        SalesOrder {
            number: SalesOrderNumber::parse(number).unwrap(),
            ct_order_id: "o".into(),
            site: "S".into(),
            fields: vec![("SalesOrderNumber".into(), number.into())],
            custom_fields: Vec::new(),
            lines: Vec::new(),
            notes: Vec::new(),
            shipping_key: None,
        }
    }

    #[test]
    fn a_retry_keeps_the_number_an_earlier_attempt_sent() {
        let mut so = [sales_order("NEW-PREFIX-1")];
        keep_sent_numbers(&mut so, &["CT-1".to_string()]).unwrap();
        let so = &so[0];
        assert_eq!(so.number.as_str(), "CT-1");
        assert_eq!(so.field("SalesOrderNumber"), Some("CT-1"));
        assert!(
            so.notes[0].contains("kept instead of NEW-PREFIX-1"),
            "{:?}",
            so.notes
        );
        let mut same = [sales_order("CT-1")];
        keep_sent_numbers(&mut same, &["CT-1".to_string()]).unwrap();
        assert!(same[0].notes.is_empty());
        keep_sent_numbers(&mut same, &[]).unwrap();
        assert_eq!(same[0].number.as_str(), "CT-1");
        let mut parts = [sales_order("N-1"), sales_order("N-2")];
        keep_sent_numbers(&mut parts, &["N-1".to_string(), "OLD-2".to_string()]).unwrap();
        assert_eq!(
            (parts[0].number.as_str(), parts[1].number.as_str()),
            ("N-1", "OLD-2")
        );
        // Sent as one, now two parts (or the reverse): a person decides.
        let e = keep_sent_numbers(&mut parts, &["N".to_string()]).unwrap_err();
        assert!(
            e.to_string().contains("earlier as 1 sales order(s) (N)"),
            "{e}"
        );
    }
}
