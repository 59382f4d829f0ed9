//! Step 2: Peoplevox status events → commercetools order states, per order, forward only.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use serde_json::json;

use super::mark::{self, HoldMark, StatusMark};
use super::plan::{self, Reported, ShortLine, Verdict};
use super::{ATTEMPTS, CONCURRENCY, OrderStatus, StatusEvent, fields, shorts};
use crate::commercetools::types::Order;
use crate::commercetools::{CtError, Decision, OrderUpdateAction};
use crate::config::StatusMapping;
use crate::domain::status::{Stage, stage_name};
use crate::flows::batch::{RecordOutcome, failed_write};
use crate::flows::order_export::orders_not_found;
use crate::setup::FIELD_PVX_EXCEPTION;

use super::report::StatusReport;

/// The event of an order that the batch applies, and what it maps to.
pub(super) struct Chosen {
    pub(super) event: StatusEvent,
    pub(super) mapping: StatusMapping,
    pub(super) shorts: Vec<ShortLine>,
    /// Each part's number and status, for an order split over several addresses.
    pub(super) parts: Vec<String>,
    /// What the state store remembers of the order (its newest hold, a status it cannot show).
    pub(super) mark: StatusMark,
    /// The hold flag to apply and when Peoplevox set it: from the event that carried the
    /// newest flag (not the event whose stage is applied), or from a Peoplevox read; `None`
    /// when no event carried one or it is older than the order's (stale).
    pub(super) hold: Option<HoldMark>,
    /// Peoplevox's despatch report shows goods of the order despatched (read for a reported
    /// cancellation of an order commercetools shows undelivered: its despatch may still be on
    /// the shipments queue).
    pub(super) despatched: bool,
}

/// How one order's update ended.
enum Applied {
    Verdict(Verdict, u32),
    /// Retried or refused, with the reason.
    Failed(RecordOutcome),
}

impl OrderStatus {
    /// Applies the status events of a batch, grouped by order number.
    pub(super) async fn apply_statuses(
        &self,
        by_order: BTreeMap<String, Vec<StatusEvent>>,
        report: &mut StatusReport,
    ) {
        let finish = |report: &mut StatusReport, events: &[StatusEvent], o: RecordOutcome| {
            for e in events {
                report.records.set(&e.record_id, o.clone());
            }
        };
        let mut by_order = by_order;
        self.fill(&mut by_order, report).await;
        if by_order.is_empty() {
            return;
        }
        let numbers: Vec<String> = by_order.keys().cloned().collect();
        let export = &self.parts.export_channel_id;
        let orders: BTreeMap<String, Order> = match self
            .parts
            .ct
            .orders_by_peoplevox_number(&numbers, export)
            .await
        {
            Ok(found) => found,
            Err(e) => {
                let reason = format!("reading orders from commercetools: {e}");
                for events in by_order.values() {
                    finish(report, events, RecordOutcome::Retry(reason.clone()));
                }
                return;
            }
        };

        // Unknown orders and unmapped statuses end here; each order keeps its furthest event.
        let unknown = orders_not_found(&self.not_ours(), by_order.keys(), &orders).await;
        let mut chosen: Vec<(Order, Chosen)> = Vec::new();
        for (number, events) in by_order {
            let Some(order) = orders.get(&number) else {
                let outcome = unknown.get(&number).cloned().unwrap_or_else(|| {
                    RecordOutcome::DeadLetter(format!("unknown order number `{number}`"))
                });
                if outcome == RecordOutcome::Done {
                    report.not_ours += events.len();
                }
                finish(report, &events, outcome);
                continue;
            };
            let mut best: Option<Chosen> = None;
            let mut superseded = Vec::new();
            let mut on_hold = None;
            for event in events {
                let Some(mapping) = self.parts.rules.resolve(event.status()) else {
                    report.unknown_statuses += 1;
                    report.records.set(&event.record_id, RecordOutcome::Done);
                    let reason = format!(
                        "Peoplevox status `{}` is not mapped: nothing changed; map it under [status.map.\"{}\"]",
                        event.status(),
                        event.status()
                    );
                    self.audit(
                        &order.id,
                        "unknown-status",
                        Some(reason),
                        event_detail(&event),
                    )
                    .await;
                    continue;
                };
                if let Some(flag) = event.on_hold
                    && on_hold
                        .as_ref()
                        .is_none_or(|(_, held_by): &(bool, StatusEvent)| newer(&event, held_by))
                {
                    on_hold = Some((flag, event.clone()));
                }
                let further = best.as_ref().is_none_or(|b| {
                    (mapping.stage, event.received_at_ms)
                        >= (b.mapping.stage, b.event.received_at_ms)
                });
                let candidate = Chosen {
                    event,
                    mapping,
                    shorts: Vec::new(),
                    parts: Vec::new(),
                    mark: StatusMark::default(),
                    hold: None,
                    despatched: false,
                };
                if further {
                    if let Some(previous) = best.replace(candidate) {
                        superseded.push(previous.event);
                    }
                } else {
                    superseded.push(candidate.event);
                }
            }
            // Earlier events of the same batch are behind the one applied: done, unchanged.
            for event in superseded {
                report.unchanged += 1;
                report.records.set(&event.record_id, RecordOutcome::Done);
            }
            if let Some(mut best) = best {
                best.hold = on_hold.and_then(|(_, event)| hold_mark(&event));
                chosen.push((order.clone(), best));
            }
        }

        let mut chosen = self.merge_parts(chosen, report).await;
        self.check_shorts(&mut chosen, report).await;
        self.load_marks(&mut chosen, report).await;

        let applied: Vec<(Order, Chosen, Applied)> = futures::stream::iter(chosen)
            .map(|(order, c)| async move {
                let applied = self.apply_one(&order, &c).await;
                (order, c, applied)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (order, c, applied) in applied {
            self.settle_one(&order, &c, applied, report).await;
        }
    }

    /// Reads what Peoplevox despatched for the orders reported despatched (or short) or
    /// cancelled, and names their short lines. An order reported despatched with nothing in the despatch
    /// report yet is retried, so that a lagging report never reads as a pick failure.
    async fn check_shorts(&self, chosen: &mut Vec<(Order, Chosen)>, report: &mut StatusReport) {
        // An order that already shows Despatched (our status, or Shipped from the shipment
        // flow) was compared before: Closed after Despatched costs no Peoplevox request.
        let rules = &self.parts.rules;
        // A cancellation of an order that shows no goods gone and is not cancelled already:
        // Peoplevox may have despatched it (the despatch still on its way), and then it must
        // not apply. Where goods have visibly left, the plan refuses it without a read.
        let cancels = |order: &Order, c: &Chosen| {
            let applied = plan::applied_stage(order, rules);
            c.mapping.stage == Stage::Cancelled
                && applied != Some(Stage::Cancelled)
                && !plan::goods_left(order, applied)
        };
        let wants = |order: &Order, c: &Chosen| {
            c.mapping.short_pick
                || cancels(order, c)
                || (matches!(c.mapping.stage, Stage::Despatched | Stage::Closed)
                    && plan::applied_stage(order, rules) < Some(Stage::Despatched))
        };
        let export = self.parts.export_channel_id.as_str();
        // Every part of a split order: what was ordered is compared with all they despatched.
        let numbers: Vec<String> = chosen
            .iter()
            .filter(|(o, c)| wants(o, c))
            .flat_map(|(o, _)| o.peoplevox_numbers(export))
            .map(String::from)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if numbers.is_empty() {
            return;
        }
        let despatched = match shorts::despatched(
            &self.parts.pvx,
            &self.parts.despatch_report,
            &numbers,
        )
        .await
        {
            Ok(d) => d,
            Err(e) => {
                let reason = format!("reading despatches from Peoplevox: {e}");
                chosen.retain(|(o, c)| {
                    let wanted = wants(o, c);
                    if wanted {
                        report
                            .records
                            .set(&c.event.record_id, RecordOutcome::Retry(reason.clone()));
                    }
                    !wanted
                });
                return;
            }
        };
        chosen.retain_mut(|(order, c)| {
            if !wants(order, c) {
                return true;
            }
            let numbers = order.peoplevox_numbers(export);
            let number = numbers.join(", ");
            let mut all: Option<BTreeMap<String, i64>> = None;
            for n in &numbers {
                for (item, units) in despatched.get(*n).into_iter().flatten() {
                    *all.get_or_insert_with(BTreeMap::new)
                        .entry(item.clone())
                        .or_insert(0) += units;
                }
            }
            let mine = all.as_ref();
            if cancels(order, c) {
                c.despatched = mine.is_some_and(|items| items.values().any(|u| *u > 0));
                return true;
            }
            if mine.is_none() && !c.mapping.short_pick {
                let reason = format!(
                    "Peoplevox reports order {number} `{}` but its despatch report has nothing for it yet",
                    c.event.status()
                );
                report
                    .records
                    .set(&c.event.record_id, RecordOutcome::Retry(reason));
                return false;
            }
            c.shorts = shorts::short_lines(order, mine, &self.sku_map);
            true
        });
    }

    /// Reads the orders' marks, and drops a hold flag older than the one an order shows (a
    /// retried "held" arriving after its "released"): the event's stage still counts.
    async fn load_marks(&self, chosen: &mut Vec<(Order, Chosen)>, report: &mut StatusReport) {
        if chosen.is_empty() {
            return;
        }
        let ids: Vec<&str> = chosen.iter().map(|(o, _)| o.id.as_str()).collect();
        let marks = match mark::load_many(self.parts.state.as_ref(), &ids).await {
            Ok(marks) => marks,
            Err(e) => {
                let reason = format!("reading the orders' status marks: {e}");
                for (_, c) in chosen.drain(..) {
                    report
                        .records
                        .set(&c.event.record_id, RecordOutcome::Retry(reason.clone()));
                }
                return;
            }
        };
        for ((_, c), mark) in chosen.iter_mut().zip(marks) {
            if let (Some(event), Some(shown)) = (c.hold, mark.hold)
                && event.on_hold != shown.on_hold
                && !event.newer_than(&shown)
            {
                c.hold = None;
                report.stale_holds += 1;
            }
            c.mark = mark;
        }
    }

    /// Plans on the order as it is and writes with its version; on a conflict reads again. A
    /// move the merchant's workflow refuses (a 400 on an update with `transitionState`, sent
    /// without `force`) is planned again without it, and the refusal is the update's warning:
    /// the warehouse's fact still lands, the custom State stays as the merchant's rules keep it.
    async fn apply_one(&self, order: &Order, c: &Chosen) -> Applied {
        match self.try_apply(order, c, false).await {
            Err(CtError::BadRequest { message, .. })
                if c.mapping.state.is_some() && !self.parts.rules.force_transitions =>
            {
                let refused = format!(
                    "custom State `{}` not set: the merchant's workflow refused the move ({message}); set status.force_transitions to move it anyway",
                    c.mapping.state.as_deref().unwrap_or_default()
                );
                match self.try_apply(order, c, true).await {
                    Ok(Applied::Verdict(Verdict::Apply { actions, moved, .. }, attempts)) => {
                        Applied::Verdict(
                            Verdict::Apply {
                                actions,
                                moved,
                                warning: Some(refused),
                            },
                            attempts,
                        )
                    }
                    Ok(applied) => applied,
                    Err(e) => Applied::Failed(failed_write(&e, "the status update")),
                }
            }
            Ok(applied) => applied,
            Err(e) => Applied::Failed(failed_write(&e, "the status update")),
        }
    }

    /// One planned write (`without_state`: no `transitionState`).
    async fn try_apply(
        &self,
        order: &Order,
        c: &Chosen,
        without_state: bool,
    ) -> Result<Applied, CtError> {
        let rules = &self.parts.rules;
        let ours = &self.parts.order_type;
        let export = &self.parts.export_channel_id;
        let reported = Reported {
            name: c.event.status(),
            mapping: &c.mapping,
            on_hold: c.hold.map(|h| h.on_hold),
            shorts: &c.shorts,
            despatched: c.despatched,
        };
        let mut verdict = Verdict::Same;
        // Whether the last update sent moved the stage: after a write whose answer was lost,
        // what landed.
        let mut sent_moved = false;
        let done = self
            .parts
            .ct
            .update_order_from(&order.id, Some(order.clone()), ATTEMPTS, |current| {
                let exported = current.sync_info_for(export).is_some();
                // A status the order's own Type could not show is remembered in its mark.
                let remembered = c.mark.status.as_deref().and_then(|s| rules.resolve(s));
                let applied = plan::applied_stage(current, rules).max(remembered.map(|m| m.stage));
                verdict = plan::plan(current, applied, exported, &reported, rules, ours);
                if without_state && let Verdict::Apply { actions, .. } = &mut verdict {
                    actions.retain(|a| !matches!(a, OrderUpdateAction::TransitionState { .. }));
                    if actions.is_empty() {
                        verdict = Verdict::Same;
                    }
                }
                match &verdict {
                    Verdict::Apply { actions, moved, .. } => {
                        sent_moved = *moved;
                        Decision::Update(actions.clone())
                    }
                    // The conflict is shown to customer service on the order itself, after
                    // any exception it shows already.
                    Verdict::Conflict(reason) => {
                        let shown = fields::appended(
                            current,
                            FIELD_PVX_EXCEPTION,
                            std::slice::from_ref(reason),
                        );
                        fields::set(current, ours, &[(FIELD_PVX_EXCEPTION, shown.into())])
                            .map_or(Decision::Done, Decision::Update)
                    }
                    _ => Decision::Done,
                }
            })
            .await?;
        if done.answer_lost && matches!(verdict, Verdict::Same) {
            let warning = "the write's answer was lost; reading the order again found it applied";
            return Ok(Applied::Verdict(
                Verdict::Apply {
                    actions: done.written,
                    moved: sent_moved,
                    warning: Some(warning.into()),
                },
                done.attempts,
            ));
        }
        Ok(Applied::Verdict(verdict, done.attempts))
    }

    /// Counts, sets the record outcome and audits one order's update.
    async fn settle_one(
        &self,
        order: &Order,
        c: &Chosen,
        applied: Applied,
        report: &mut StatusReport,
    ) {
        let mut detail = event_detail(&c.event);
        detail["stage"] = stage_name(c.mapping.stage).into();
        if !c.parts.is_empty() {
            detail["parts"] = c.parts.clone().into();
        }
        if !c.shorts.is_empty() {
            detail["shortLines"] = plan::describe_shorts(&c.shorts).into();
        }
        let unremembered = match &applied {
            Applied::Verdict(verdict, _) => self.remember(order, c, verdict).await.err(),
            Applied::Failed(_) => None,
        };
        let (outcome, audit, reason) = match applied {
            Applied::Verdict(verdict, attempts) => {
                report.version_conflicts += attempts.saturating_sub(1) as usize;
                match verdict {
                    Verdict::Apply {
                        actions,
                        moved,
                        warning,
                    } => {
                        report.updates += 1;
                        if !c.shorts.is_empty() {
                            report.short_picks += 1;
                        }
                        if moved && c.mapping.stage == Stage::Backorder {
                            report.backorders += 1;
                        }
                        if holds_changed(order, c, &actions, &self.parts.rules) {
                            report.holds += 1;
                        }
                        detail["actions"] =
                            actions.iter().map(|a| a.name()).collect::<Vec<_>>().into();
                        let outcome = if !c.shorts.is_empty() {
                            "short-pick"
                        } else if moved && c.mapping.stage == Stage::Backorder {
                            "backorder"
                        } else {
                            "applied"
                        };
                        (RecordOutcome::Done, outcome, warning)
                    }
                    Verdict::Same => {
                        report.unchanged += 1;
                        (RecordOutcome::Done, "unchanged", None)
                    }
                    Verdict::Backward(at) => {
                        report.backwards_ignored += 1;
                        let reason = format!(
                            "late or reordered: the order is at `{}` already; not moved back",
                            stage_name(at)
                        );
                        (RecordOutcome::Done, "ignored-backward", Some(reason))
                    }
                    Verdict::Refused(reason) => {
                        // Not exported yet: the mark may lag the export by a moment; the retry
                        // parks the event with this reason if it never comes.
                        report.refused += 1;
                        (
                            RecordOutcome::Retry(reason.clone()),
                            "refused",
                            Some(reason),
                        )
                    }
                    Verdict::Conflict(reason) => {
                        report.conflicts += 1;
                        (RecordOutcome::Done, "conflict", Some(reason))
                    }
                }
            }
            Applied::Failed(outcome) => {
                let reason = outcome.reason().map(str::to_string);
                (outcome.clone(), outcome.audit_name(), reason)
            }
        };
        // The order is updated but its mark is not: retried, so that the mark is written when
        // the event comes again (it then finds the order done) and a stale hold stays caught.
        let outcome = match (outcome, unremembered) {
            (RecordOutcome::Done, Some(why)) => RecordOutcome::Retry(why),
            (outcome, _) => outcome,
        };
        report.records.set(&c.event.record_id, outcome);
        self.audit(&order.id, audit, reason, detail).await;
    }
}

impl OrderStatus {
    /// Records in the order's mark the hold flag the order now reflects, and a status its
    /// custom Type could not show; `Err` names a write that failed.
    async fn remember(&self, order: &Order, c: &Chosen, verdict: &Verdict) -> Result<(), String> {
        let hold = match verdict {
            Verdict::Apply { .. } | Verdict::Same | Verdict::Backward(_) => c.hold,
            _ => None,
        };
        let cannot_show = |name: &str| {
            let field = [(crate::setup::FIELD_PVX_STATUS, name.into())];
            fields::set(order, &self.parts.order_type, &field).is_err()
        };
        let status = match verdict {
            Verdict::Apply { moved: true, .. } if cannot_show(c.event.status()) => {
                Some(c.event.status())
            }
            _ => None,
        };
        let mut wanted = c.mark.clone();
        if !wanted.absorb(status, hold) {
            return Ok(());
        }
        mark::record(self.parts.state.as_ref(), &order.id, status, hold)
            .await
            .map_err(|e| format!("writing the order's status mark: {e}"))
    }
}

/// The hold flag of an event and when Peoplevox set it.
fn hold_mark(event: &StatusEvent) -> Option<HoldMark> {
    let on_hold = event.on_hold?;
    Some(match event.hold_read_at_ms {
        Some(read_at) => HoldMark {
            on_hold,
            modified_ms: None,
            received_ms: read_at,
        },
        None => HoldMark {
            on_hold,
            modified_ms: modified_ms(event),
            received_ms: event.received_at_ms,
        },
    })
}

/// Whether the update shows a hold, or lifts one: its shipment state goes to, or from, the
/// on-hold state because of the event's hold flag.
fn holds_changed(
    order: &Order,
    c: &Chosen,
    actions: &[crate::commercetools::OrderUpdateAction],
    rules: &crate::config::StatusRules,
) -> bool {
    let held = rules.on_hold_shipment_state;
    let target = actions.iter().find_map(|a| match a {
        crate::commercetools::OrderUpdateAction::ChangeShipmentState { shipment_state } => {
            Some(*shipment_state)
        }
        _ => None,
    });
    match (c.hold.map(|h| h.on_hold), target) {
        (Some(true), Some(state)) => state == held,
        (Some(false), Some(_)) => order.shipment_state.as_deref() == Some(held.as_str()),
        _ => false,
    }
}

fn event_detail(event: &StatusEvent) -> serde_json::Value {
    let mut detail = json!({ "status": event.status() });
    if event.read_from_peoplevox {
        detail["readFromPeoplevox"] = true.into();
    }
    if let Some(on_hold) = event.on_hold {
        detail["onHold"] = on_hold.into();
    }
    if let Some(modified) = &event.modified {
        detail["modified"] = modified.clone().into();
    }
    detail
}

/// Whether `a` is a newer Peoplevox event than `b`: by Peoplevox's modified time when both
/// carry one that reads as a time (callbacks overtake each other, so arrival order is not the
/// warehouse's order), else by arrival. The hold flag of the newest event of a batch wins.
fn newer(a: &StatusEvent, b: &StatusEvent) -> bool {
    match (hold_mark(a), hold_mark(b)) {
        (Some(x), Some(y)) => x.newer_than(&y),
        _ => a.received_at_ms >= b.received_at_ms,
    }
}

/// An event's modified time as an instant, for ordering the events of one order. The format a
/// tenant's callback puts there is UNCONFIRMED (no public source shows it), so both RFC 3339 and
/// Peoplevox's day-first report format are read (as UTC: one tenant's times compare alike);
/// anything else falls back to arrival order in [`newer`].
fn modified_ms(event: &StatusEvent) -> Option<i64> {
    let text = event.modified.as_deref()?.trim();
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .or_else(|| crate::peoplevox::ReportZone::utc().parse(text))?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(on_hold: bool, modified: Option<&str>, received_at_ms: i64) -> StatusEvent {
        StatusEvent {
            record_id: format!("r-{received_at_ms}"),
            status: Some("Picking".into()),
            on_hold: Some(on_hold),
            modified: modified.map(str::to_string),
            received_at_ms,
            read_from_peoplevox: false,
            hold_read_at_ms: None,
        }
    }

    /// Issue 22 item 5: a release modified after the hold but delivered first (callbacks
    /// overtake each other) still wins; without modified times, the later arrival wins.
    #[test]
    fn the_newest_hold_flag_wins_not_the_last_to_arrive() {
        let held = event(true, Some("2026-12-05T10:05:00Z"), 2_000);
        let released = event(false, Some("2026-12-05T10:10:00Z"), 1_000);
        assert!(newer(&released, &held));
        assert!(!newer(&held, &released));
        let day_first_held = event(true, Some("05/12/2026 10:05"), 2_000);
        let day_first_released = event(false, Some("05/12/2026 10:10"), 1_000);
        assert!(newer(&day_first_released, &day_first_held));
        let (a, b) = (event(true, None, 1_000), event(false, None, 2_000));
        assert!(newer(&b, &a));
    }
}
