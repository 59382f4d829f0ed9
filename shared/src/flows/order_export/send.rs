//! Steps 7–8 of the order export: check Peoplevox for orders a dead worker may have sent, send
//! the rest in one SaveData per template, and mark the exported orders in commercetools.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;

use super::cancelled::is_cancelled;
use super::link::{self, OrderLink};
use super::refusals::{SentRow, refused_orders};
use super::stages::CONCURRENCY;
use super::{BatchReport, Finish, OrderExport, Work, held};
use crate::commercetools::actions::export_marks;
use crate::commercetools::update_with::Decision;
use crate::domain::{HoldReason, SalesOrder};
use crate::peoplevox::csv_table::CsvTable;
use crate::peoplevox::error::PvxError;
use crate::peoplevox::search::equals_any;
use crate::peoplevox::types::SaveAction;
use crate::store::now_epoch_ms;

/// Order numbers asked for in one GetData call.
const NUMBERS_PER_QUERY: usize = 100;

/// Whether ctpvx made the order's number(s) up: a split order's parts, or a number derived
/// because the order's own was missing or did not fit.
fn made_up(w: &Work) -> bool {
    let own = w.order.as_ref().and_then(|o| o.order_number.as_deref());
    w.sales_orders.len() > 1
        || w.sales_orders
            .iter()
            .any(|so| Some(so.number.as_str()) != own)
}

/// What Peoplevox has of one order number.
#[derive(Debug, Default)]
struct Existing {
    /// Its line numbers.
    lines: BTreeSet<String>,
    /// Whose commercetools order it is: `CustomerPurchaseOrderReferenceNumber`, which the export
    /// writes (`None` when the tenant's template does not show it, or it is empty).
    owner: Option<String>,
}

impl OrderExport {
    /// Step 7a: the numbers of the batch are checked before anything is sent.
    /// - A number the order-number index gives to another commercetools order is held: a part
    ///   or derived number that happens to be another order's would merge two orders.
    /// - A number ctpvx made (a part of a split order, a derived number) is looked up in
    ///   Peoplevox first, and so is every number of an order a failed attempt may have sent:
    ///   a sales order there of another commercetools order holds this one; one of this order
    ///   is not sent again (a re-import could reset an order being picked), only its missing
    ///   lines are.
    pub(super) async fn skip_already_in_peoplevox(
        &self,
        batch: Vec<Work>,
        report: &mut BatchReport,
    ) -> Vec<Work> {
        let all: Vec<String> = batch.iter().flat_map(Work::numbers).collect();
        let owners = match link::owners(self.state.as_ref(), &all).await {
            Ok(owners) => owners,
            Err(e) => {
                let reason = format!("reading the order-number index: {e}");
                self.retry_all_of(batch, &reason, report).await;
                return Vec::new();
            }
        };
        let (mut work, mut done): (Vec<Work>, Vec<(Work, Finish)>) = (Vec::new(), Vec::new());
        for w in batch {
            let taken: Vec<String> = w
                .numbers()
                .into_iter()
                .filter_map(|n| {
                    let owner = owners.get(&n).filter(|o| **o != w.order_id)?;
                    Some(format!("{n} (order {owner})"))
                })
                .collect();
            if taken.is_empty() {
                work.push(w);
            } else {
                let reason = HoldReason::invalid(format!(
                    "Peoplevox number(s) already another commercetools order's: {}",
                    taken.join(", ")
                ));
                done.push((
                    w.clone(),
                    Finish::Held {
                        number: w.first_number(),
                        reason,
                    },
                ));
            }
        }
        self.finish_all(done, report).await;
        let looked_up = |w: &Work| w.recovering || made_up(w);
        let numbers: Vec<String> = work
            .iter()
            .filter(|w| looked_up(w))
            .flat_map(Work::numbers)
            .collect();
        if numbers.is_empty() {
            return work;
        }
        let existing = match self.existing_lines(&numbers).await {
            Ok(existing) => existing,
            Err(e) => {
                let reason = format!("checking Peoplevox for the orders' numbers: {e}");
                let (failed, rest): (Vec<Work>, Vec<Work>) = work.into_iter().partition(looked_up);
                self.retry_all_of(failed, &reason, report).await;
                return rest;
            }
        };
        let (mut kept, mut done) = (Vec::new(), Vec::new());
        for mut w in work {
            let mut foreign = Vec::new();
            let order_id = w.order_id.clone();
            let recovering = w.recovering;
            for so in &mut w.sales_orders {
                let Some(there) = existing.get(so.number.as_str()) else {
                    continue;
                };
                match &there.owner {
                    Some(owner) if *owner != order_id => {
                        foreign.push(format!("{} (order {owner})", so.number));
                    }
                    // Ours, or nothing says whose: a failed attempt's, when one may have sent it.
                    Some(_) => {}
                    None if recovering => {}
                    None => {
                        foreign.push(format!("{} (of an order it does not name)", so.number));
                    }
                }
                if foreign.is_empty() {
                    w.in_peoplevox.insert(so.number.to_string());
                    so.lines
                        .retain(|l| !there.lines.contains(&l.line.to_string()));
                }
            }
            if foreign.is_empty() {
                kept.push(w);
            } else {
                let reason = HoldReason::invalid(format!(
                    "Peoplevox already has sales order(s) {} of another order: not sent over them",
                    foreign.join(", ")
                ));
                let number = w.first_number();
                done.push((w, Finish::Held { number, reason }));
            }
        }
        self.finish_all(done, report).await;
        kept
    }

    /// Every order of `work` goes back to the queue with the reason.
    async fn retry_all_of(&self, work: Vec<Work>, reason: &str, report: &mut BatchReport) {
        let done = work
            .into_iter()
            .map(|w| (w, Finish::Retry(reason.to_string())))
            .collect();
        self.finish_all(done, report).await;
    }

    /// Line numbers and owner of each of these numbers Peoplevox has (an existing order with
    /// no lines has an empty set).
    async fn existing_lines(
        &self,
        numbers: &[String],
    ) -> Result<BTreeMap<String, Existing>, PvxError> {
        let p = &self.peoplevox;
        let t = &p.templates;
        let number_field = p.field_name(&t.sales_orders, "SalesOrderNumber");
        let owner_field = p.field_name(&t.sales_orders, "CustomerPurchaseOrderReferenceNumber");
        let mut found: BTreeMap<String, Existing> = BTreeMap::new();
        for chunk in numbers.chunks(NUMBERS_PER_QUERY) {
            let clause = equals_any(number_field, chunk.iter().map(String::as_str));
            let table = self.pvx.get_data_all(&t.sales_orders, &clause).await?;
            for row in &table.rows {
                if let Some(n) = table.value(row, number_field) {
                    let owner = table
                        .value(row, owner_field)
                        .map(str::trim)
                        .filter(|o| !o.is_empty())
                        .map(str::to_string);
                    found.entry(n.to_string()).or_default().owner = owner;
                }
            }
        }
        if found.is_empty() {
            return Ok(found);
        }
        let item_number = p.field_name(&t.sales_order_items, "SalesOrderNumber");
        let item_line = p.field_name(&t.sales_order_items, "Line");
        let existing: Vec<String> = found.keys().cloned().collect();
        for chunk in existing.chunks(NUMBERS_PER_QUERY) {
            let clause = equals_any(item_number, chunk.iter().map(String::as_str));
            // Every matching row, a page of at most 1000 at a time: 100 orders' lines can
            // outgrow one page.
            let table = self.pvx.get_data_all(&t.sales_order_items, &clause).await?;
            for row in &table.rows {
                if let (Some(n), Some(line)) =
                    (table.value(row, item_number), table.value(row, item_line))
                {
                    found
                        .entry(n.to_string())
                        .or_default()
                        .lines
                        .insert(line.to_string());
                }
            }
        }
        Ok(found)
    }

    /// Step 7b: one "Sales orders" and one "Sales order items" SaveData per chunk of at most
    /// `orders.max_orders_per_call` sales orders (a whole batch, up to 500, in one pair by
    /// default).
    pub(super) async fn send(&self, work: Vec<Work>, report: &mut BatchReport) -> Vec<Work> {
        let max = self.rules.max_orders_per_call;
        let (mut done, to_send): (Vec<Work>, Vec<Work>) =
            work.into_iter().partition(Work::recovered);
        // Recovered orders may still lack lines; they are sent with the items call below.
        let mut sent_headers = Vec::new();
        for chunk in chunks_of_parts(to_send, max) {
            sent_headers.extend(self.send_headers(chunk, report).await);
        }
        let with_items: Vec<Work> = done.drain(..).chain(sent_headers).collect();
        let mut kept = Vec::new();
        for chunk in chunks_of_parts(with_items, max) {
            kept.extend(self.send_items(chunk, report).await);
        }
        kept
    }

    async fn send_headers(&self, chunk: Vec<Work>, report: &mut BatchReport) -> Vec<Work> {
        let writes: Vec<(Work, Result<(), crate::store::StoreError>)> =
            futures::stream::iter(chunk)
                .map(|w| async move {
                    let numbers = w.numbers();
                    let sending = OrderLink::Sending {
                        number: w.first_number().unwrap_or_default(),
                        parts: link::parts_of(&numbers),
                    };
                    let written = link::save(self.state.as_ref(), &w.order_id, &sending).await;
                    (w, written)
                })
                .buffered(CONCURRENCY)
                .collect()
                .await;
        let (mut ready, mut done) = (Vec::new(), Vec::new());
        for (w, written) in writes {
            match written {
                Ok(()) => ready.push(w),
                Err(e) => done.push((w, Finish::Retry(format!("recording the send: {e}")))),
            }
        }
        self.finish_all(done, report).await;
        // Parts a failed attempt already sent keep their header in Peoplevox as it is.
        let mut orders: Vec<SalesOrder> = Vec::new();
        let mut rows: Vec<SentRow> = Vec::new();
        for (i, w) in ready.iter().enumerate() {
            for so in &w.sales_orders {
                if !w.in_peoplevox.contains(so.number.as_str()) {
                    rows.push(SentRow {
                        order: i,
                        keys: vec![so.number.to_string()],
                    });
                    orders.push(so.clone());
                }
            }
        }
        if orders.is_empty() {
            return ready;
        }
        let table = self.layout.tables(&orders).orders;
        let template = &self.peoplevox.templates.sales_orders;
        self.save(template, &table, &rows, ready, report).await
    }

    async fn send_items(&self, chunk: Vec<Work>, report: &mut BatchReport) -> Vec<Work> {
        let mut orders: Vec<SalesOrder> = Vec::new();
        let mut rows: Vec<SentRow> = Vec::new();
        for (i, w) in chunk.iter().enumerate() {
            for so in &w.sales_orders {
                // In the order the table lists them: an order's lines after its header.
                rows.extend(so.lines.iter().map(|l| SentRow {
                    order: i,
                    keys: vec![so.number.to_string(), l.item_code.to_string()],
                }));
                orders.push(so.clone());
            }
        }
        let table = self.layout.tables(&orders).items;
        if table.rows.is_empty() {
            return chunk;
        }
        let template = &self.peoplevox.templates.sales_order_items;
        self.save(template, &table, &rows, chunk, report).await
    }

    /// One SaveData. Orders whose records Peoplevox refused are held; an answer that cannot be
    /// attributed to orders, or a failed call, retries them all (their links say `Sending`, so
    /// the retry asks Peoplevox what it has before sending again).
    async fn save(
        &self,
        template: &str,
        table: &CsvTable,
        rows: &[SentRow],
        work: Vec<Work>,
        report: &mut BatchReport,
    ) -> Vec<Work> {
        let answer = self
            .pvx
            .save_data(template, table, SaveAction::Upsert)
            .await
            .map_err(|e| e.to_string())
            .and_then(|outcome| {
                if let Some(detail) = &outcome.error_detail {
                    tracing::warn!(template, detail = %detail, "Peoplevox refused records");
                }
                let read_back: BTreeSet<usize> = work
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| w.recovering)
                    .map(|(i, _)| i)
                    .collect();
                refused_orders(rows, &outcome, &read_back)
            });
        let refused = match answer {
            Ok(refused) => refused,
            Err(why) => {
                tracing::warn!(template, reason = %why, orders = work.len(), "SaveData chunk failed");
                let reason = format!("Peoplevox SaveData \"{template}\": {why}");
                let done = work
                    .into_iter()
                    .map(|w| (w, Finish::Retry(reason.clone())))
                    .collect();
                self.finish_all(done, report).await;
                return Vec::new();
            }
        };
        let (mut kept, mut done) = (Vec::new(), Vec::new());
        for (i, w) in work.into_iter().enumerate() {
            // One refused part holds the whole order: its parts go (or wait) together.
            if refused.contains(&i) {
                let reason = HoldReason::RejectedByPeoplevox {
                    template: template.to_string(),
                };
                let number = w.first_number();
                done.push((w, Finish::Held { number, reason }));
            } else {
                kept.push(w);
            }
        }
        self.finish_all(done, report).await;
        kept
    }

    /// Step 8: `updateSyncInfo` on the OrderExport channel, decided first on the order as step 4
    /// read it (no read per order when nobody wrote it since), again on the order as it is now
    /// after a conflict. The order as marked is the one checked for a cancellation that came
    /// while it was being exported: a cancellation after the mark sees the mark, and the
    /// status flow sends it to Peoplevox.
    pub(super) async fn mark_exported(&self, work: Vec<Work>, report: &mut BatchReport) {
        let channel_id = self.export_channel_id.clone();
        let done: Vec<(Work, Finish)> = futures::stream::iter(work)
            .map(|mut w| {
                let channel_id = channel_id.clone();
                async move {
                    let numbers = w.numbers();
                    let result = self
                        .ct
                        .update_order_from(&w.order_id, w.order.clone(), 5, |order| {
                            let marks = export_marks(order, &channel_id, &numbers);
                            if marks.is_empty() {
                                Decision::Done
                            } else {
                                Decision::Update(marks)
                            }
                        })
                        .await;
                    let finish = match result {
                        Ok(marked) if is_cancelled(&marked.order) => {
                            match self.push_cancellation(&marked.order).await {
                                Ok(note) => {
                                    w.cancellation = Some(note);
                                    self.record_export(&w, numbers).await
                                }
                                Err(reason) => Finish::Retry(reason),
                            }
                        }
                        Ok(_) => self.record_export(&w, numbers).await,
                        Err(e) => Finish::Retry(format!(
                            "marking the order exported in commercetools: {e}"
                        )),
                    };
                    (w, finish)
                }
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        self.finish_all(done, report).await;
    }

    /// After the mark: the link says `Exported`, the held index forgets the order.
    async fn record_export(&self, w: &Work, numbers: Vec<String>) -> Finish {
        let site = w
            .sales_orders
            .first()
            .map(|so| so.site.clone())
            .unwrap_or_default();
        let number = numbers.first().cloned().unwrap_or_default();
        let exported = OrderLink::Exported {
            number: number.clone(),
            site: site.clone(),
            at_ms: now_epoch_ms(),
            parts: link::parts_of(&numbers),
        };
        if let Err(e) = link::save(self.state.as_ref(), &w.order_id, &exported).await {
            return Finish::Retry(format!("recording the export: {e}"));
        }
        if w.was_held {
            held::forget(self.state.as_ref(), &w.order_id).await;
        }
        Finish::Exported {
            number,
            site,
            recovered: w.recovered(),
        }
    }
}

/// Orders in chunks of at most `max` Peoplevox sales orders (`orders.max_orders_per_call`: each
/// part of a split order is one, since Peoplevox sees records, not commercetools orders). An
/// order's parts always travel together, so an order of more parts than `max` goes alone.
fn chunks_of_parts(work: Vec<Work>, max: usize) -> Vec<Vec<Work>> {
    let mut chunks: Vec<Vec<Work>> = Vec::new();
    let mut parts = 0;
    for w in work {
        let size = w.sales_orders.len().max(1);
        if chunks.is_empty() || parts + size > max.max(1) {
            chunks.push(Vec::new());
            parts = 0;
        }
        parts += size;
        if let Some(chunk) = chunks.last_mut() {
            chunk.push(w);
        }
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SalesOrderNumber;

    /// An order of `parts` sales orders.
    fn order(id: &str, parts: usize) -> Work {
        let sales_orders = (1..=parts)
            .map(|p| SalesOrder {
                number: SalesOrderNumber::parse(&format!("{id}-{p}")).unwrap(),
                ct_order_id: id.into(),
                site: "S".into(),
                fields: Vec::new(),
                custom_fields: Vec::new(),
                lines: Vec::new(),
                notes: Vec::new(),
                shipping_key: None,
            })
            .collect();
        Work {
            order_id: id.into(),
            message_ids: vec![format!("m-{id}")],
            recovering: false,
            order: None,
            sales_orders,
            in_peoplevox: BTreeSet::new(),
            was_held: false,
            imported: false,
            sent_numbers: Vec::new(),
            cancellation: None,
        }
    }

    #[test]
    fn max_orders_per_call_counts_sales_orders_and_keeps_an_orders_parts_together() {
        let work = vec![order("a", 1), order("b", 2), order("c", 1), order("d", 4)];
        let chunks: Vec<Vec<String>> = chunks_of_parts(work, 3)
            .into_iter()
            .map(|c| c.into_iter().map(|w| w.order_id).collect())
            .collect();
        // a + b are 3 sales orders; d's 4 parts go together, alone.
        assert_eq!(chunks, [vec!["a", "b"], vec!["c"], vec!["d"]]);
        assert_eq!(chunks_of_parts(vec![order("a", 1)], 500).len(), 1);
        assert!(chunks_of_parts(Vec::new(), 500).is_empty());
    }
}
