//! Flow `shipment-confirmed`: Peoplevox despatches → commercetools deliveries with parcels and
//! tracking, and the shipment state.
//!
//! The story of a batch:
//! 1. Read the records: each names a despatch (callbacks are hints). Garbage goes to the
//!    dead-letter queue with the reason.
//! 2. Read every despatch of the batch from Peoplevox ([`despatches`]): "Despatch summary" and,
//!    where the tenant has it, the "Despatch packages" template, a paged read each per 100
//!    despatches. A despatch Peoplevox does not report (yet) is retried (and, like every
//!    retry, parked with its reason on its last receive). Where the report names no carrier
//!    or service, TrackingNumberReceived's `{Carrier.Number}`, `{ServiceType.Name}` and
//!    `{ServiceType.Code}` do ([`fill_from_callbacks`]).
//! 3. Read the orders by number, one query per 100 numbers. An unknown order is parked.
//! 4. Per order, plan from the order as it is ([`deliveries`]): a delivery per despatch that
//!    has none (deterministic key), parcels and tracking that came later, Partial or Shipped.
//!    Send it all in one update with the version read; on a conflict, re-read and plan again,
//!    so a repeated or concurrent confirmation finds its delivery and sends nothing.
//!    A delivery a person made by hand ([`hand_made`]) never makes a despatch unbookable: the
//!    despatch is booked, and the units both claim are shown on the order (`pvxException`, in
//!    the same update) and audited for a person ([`overlap`]).
//! 5. An audit entry per despatch.

pub mod deliveries;
mod despatches;
mod hand_made;
mod overlap;
mod parcels;
mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::StreamExt;

/// The flow's own despatch read, for the nightly sweep of late tracking: what it finds there
/// is what the flow would book.
pub(crate) use despatches::{PackagesTemplate, read as read_despatches};
pub use despatches::{SUMMARY_COLUMNS, names_a_missing_template};
pub use report::ShipmentReport;

use crate::commercetools::types::Order;
use crate::commercetools::{CtClient, Decision, OrderUpdateAction};
use crate::config::{OrderRules, ShipmentRules};
use crate::deadline;
use crate::domain::{Despatch, ShipmentMessage};
use crate::flows::batch::{InputRecord, RecordOutcome, failed_write};
use crate::flows::order_export::{NotOurs, orders_not_found};
use crate::flows::order_status::OrderType;
use crate::mapping::SkuMap;
use crate::peoplevox::PvxClient;
use crate::store::{AuditEntry, AuditLog, StateStore, now_epoch_ms};
use overlap::Overlaps;

/// Name of the flow in audit entries and dead-letter attributes.
pub const FLOW: &str = "shipment-confirmed";

/// Audit outcome of a despatch booked over units a delivery made by hand already has.
pub const OVERLAP_OUTCOME: &str = "delivered-over-hand-made-delivery";

/// Orders updated at once.
const CONCURRENCY: usize = 8;
/// Reads and decisions per order before a batch gives up on it (SQS delivers it again).
const ATTEMPTS: u32 = 5;

/// What the flow is built from.
pub struct ShipmentConfirmedParts {
    /// commercetools client.
    pub ct: Arc<CtClient>,
    /// Peoplevox client (despatch reads).
    pub pvx: Arc<PvxClient>,
    /// Audit trail.
    pub audit: Arc<dyn AuditLog>,
    /// `[shipments]`.
    pub rules: ShipmentRules,
    /// `[orders]`: packs ship as several Peoplevox units (`units_of_measure`), exported custom
    /// line items under their item codes.
    pub orders: OrderRules,
    /// Id of the OrderExport channel, whose syncInfo `externalId` is the Peoplevox number.
    pub export_channel_id: String,
    /// The state store: its order-number index tells an export in flight from a stranger.
    pub state: Arc<dyn StateStore>,
    /// The order custom Type that carries `pvxException` (`status.order_type`), where the
    /// project has it: a despatch booked over a delivery made by hand is shown there.
    pub order_type: Option<OrderType>,
}

/// The flow.
pub struct ShipmentConfirmed {
    parts: ShipmentConfirmedParts,
    sku_map: SkuMap,
    /// Whether the tenant has the packages template, learnt once.
    packages: despatches::PackagesTemplate,
}

/// Where one order's despatches ended.
enum Booked {
    /// The actions written, the attempts, whether the write's answer was lost (the re-read
    /// found it landed), and the overlaps with deliveries made by hand it booked.
    Applied(Vec<OrderUpdateAction>, u32, bool, Overlaps),
    Unchanged,
    /// Retried or refused, with the reason.
    Failed(RecordOutcome),
}

impl ShipmentConfirmed {
    /// The flow from its parts.
    pub fn new(parts: ShipmentConfirmedParts) -> Self {
        let sku_map = SkuMap::new(&parts.orders.units_of_measure);
        Self {
            parts,
            sku_map,
            packages: despatches::PackagesTemplate::default(),
        }
    }

    /// Handles one batch of shipments-queue records.
    pub async fn run_batch(&self, records: &[InputRecord]) -> ShipmentReport {
        let mut report = ShipmentReport {
            events: records.len(),
            ..ShipmentReport::default()
        };
        // Despatch number → the records about it (and whether any is on its last delivery).
        let mut by_despatch: BTreeMap<String, Vec<&InputRecord>> = BTreeMap::new();
        let mut said: BTreeMap<String, CallbackSaid> = BTreeMap::new();
        for record in records {
            match serde_json::from_str::<ShipmentMessage>(&record.body) {
                Ok(m) if !m.despatch.trim().is_empty() => {
                    let number = m.despatch.trim().to_string();
                    said.entry(number.clone()).or_default().add(&m);
                    by_despatch.entry(number).or_default().push(record);
                }
                Ok(_) => report.records.set(
                    &record.id,
                    RecordOutcome::DeadLetter("shipment message names no despatch".into()),
                ),
                Err(e) => report.records.set(
                    &record.id,
                    RecordOutcome::DeadLetter(format!("not a valid shipment message: {e}")),
                ),
            }
        }
        report.despatches = by_despatch.len();
        let numbers: Vec<String> = by_despatch.keys().cloned().collect();
        let finish = |report: &mut ShipmentReport, number: &str, outcome: RecordOutcome| {
            for record in by_despatch.get(number).into_iter().flatten() {
                report.records.set(&record.id, outcome.clone());
            }
        };
        if numbers.is_empty() {
            return report;
        }
        if deadline::expired() {
            for number in &numbers {
                finish(&mut report, number, unstarted());
            }
            return report;
        }

        let despatches =
            match despatches::read(&self.parts.pvx, &self.parts.rules, &self.packages, &numbers)
                .await
            {
                Ok(mut found) => {
                    fill_from_callbacks(&mut found, &said);
                    found
                }
                Err(e) => {
                    let reason = format!("reading despatches from Peoplevox: {e}");
                    for number in &numbers {
                        finish(&mut report, number, RecordOutcome::Retry(reason.clone()));
                    }
                    return report;
                }
            };
        for number in numbers.iter().filter(|n| !despatches.contains_key(*n)) {
            let reason = format!("despatch {number} is not in Peoplevox's despatch report (yet)");
            finish(&mut report, number, RecordOutcome::Retry(reason));
        }

        let order_numbers: BTreeSet<String> = despatches
            .values()
            .map(|d| d.order_number.clone())
            .collect();
        let wanted: Vec<String> = order_numbers.iter().cloned().collect();
        let orders: BTreeMap<String, Order> = match self
            .parts
            .ct
            .orders_by_peoplevox_number(&wanted, &self.parts.export_channel_id)
            .await
        {
            Ok(orders) => orders,
            Err(e) => {
                let reason = format!("reading orders from commercetools: {e}");
                for number in despatches.keys() {
                    finish(&mut report, number, RecordOutcome::Retry(reason.clone()));
                }
                return report;
            }
        };
        let not_ours = NotOurs {
            state: self.parts.state.as_ref(),
            audit: self.parts.audit.as_ref(),
            flow: FLOW,
            policy: self.parts.orders.other_orders,
        };
        let unknown = orders_not_found(&not_ours, &order_numbers, &orders).await;
        let mut work: Vec<(Order, Vec<Despatch>)> = Vec::new();
        for number in &order_numbers {
            let mine: Vec<Despatch> = despatches
                .values()
                .filter(|d| &d.order_number == number)
                .cloned()
                .collect();
            match (orders.get(number), unknown.get(number)) {
                (Some(order), _) => work.push((order.clone(), mine)),
                (None, outcome) => {
                    for d in &mine {
                        let outcome = outcome.cloned().unwrap_or_else(|| {
                            RecordOutcome::DeadLetter(format!("unknown order number `{number}`"))
                        });
                        if outcome == RecordOutcome::Done {
                            report.not_ours += 1;
                        }
                        finish(&mut report, &d.number, outcome);
                    }
                }
            }
        }

        type Refused = BTreeMap<String, String>;
        let booked: Vec<(Order, Vec<Despatch>, Booked, Refused)> = futures::stream::iter(work)
            .map(|(order, mine)| async move {
                // No order is started once the time has run out.
                let (booked, refused) = if deadline::expired() {
                    (Booked::Failed(unstarted()), BTreeMap::new())
                } else {
                    self.book(&order, &mine).await
                };
                (order, mine, booked, refused)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (order, mine, booked, refused) in booked {
            let (outcome, audit_outcome, reason) = match &booked {
                Booked::Applied(actions, attempts, answer_lost, _) => {
                    report.conflicts += attempts.saturating_sub(1) as usize;
                    for action in actions {
                        match action {
                            OrderUpdateAction::AddDelivery { .. } => report.deliveries_added += 1,
                            OrderUpdateAction::AddParcelToDelivery { .. } => {
                                report.parcels_added += 1
                            }
                            OrderUpdateAction::SetParcelTrackingData { .. } => {
                                report.tracking_set += 1
                            }
                            _ => {}
                        }
                    }
                    let note = answer_lost.then(|| {
                        "the write's answer was lost; reading the order again found it applied"
                            .to_string()
                    });
                    (RecordOutcome::Done, "delivered", note)
                }
                Booked::Unchanged => {
                    report.unchanged += 1;
                    (RecordOutcome::Done, "unchanged", None)
                }
                Booked::Failed(outcome) => (
                    outcome.clone(),
                    outcome.audit_name(),
                    outcome.reason().map(str::to_string),
                ),
            };
            // Nothing happened to an order not started: nothing to audit.
            let started = outcome != unstarted();
            let overlaps = match &booked {
                Booked::Applied(.., overlaps) => overlaps.clone(),
                _ => Overlaps::default(),
            };
            for d in &mine {
                if let Some(why) = refused.get(&d.number) {
                    let parked = RecordOutcome::DeadLetter(why.clone());
                    finish(&mut report, &d.number, parked.clone());
                    self.audit(&order, d, parked.audit_name(), Some(why.clone()), None)
                        .await;
                    continue;
                }
                finish(&mut report, &d.number, outcome.clone());
                if let Some(lines) = overlaps.by_despatch.get(&d.number) {
                    // Booked, and left to a person: the outcome names the overlap.
                    report.hand_made_overlaps += 1;
                    let why = [
                        Some(overlap::describe(&d.number, lines)),
                        overlaps
                            .not_shown
                            .as_ref()
                            .map(|e| format!("pvxException not written: {e}")),
                        reason.clone(),
                    ];
                    let why = why.into_iter().flatten().collect::<Vec<_>>().join("; ");
                    self.audit(&order, d, OVERLAP_OUTCOME, Some(why), Some(lines))
                        .await;
                } else if started {
                    self.audit(&order, d, audit_outcome, reason.clone(), None)
                        .await;
                }
            }
        }
        report
    }

    /// Plans on the order as read and sends the update; on a conflict (or a lost answer) reads
    /// the order again and plans again. Also returns the despatches that cannot be booked
    /// (despatch number → reason), as the last plan found them.
    async fn book(
        &self,
        order: &Order,
        despatches: &[Despatch],
    ) -> (Booked, BTreeMap<String, String>) {
        let refs: Vec<&Despatch> = despatches.iter().collect();
        let item_of = |sku: &str| {
            let (item, factor) = self.sku_map.item_of(sku);
            (item.to_string(), factor)
        };
        let custom_code_of = |c: &crate::commercetools::types::CustomLineItem| {
            let slug = c.slug.as_deref().unwrap_or_default();
            self.parts.orders.custom_line_code(slug).map(str::to_string)
        };
        let lines = deliveries::Lines {
            item_of: &item_of,
            custom_code_of: &custom_code_of,
            export_channel_id: &self.parts.export_channel_id,
        };
        let mut refused = BTreeMap::new();
        // Overlaps with deliveries made by hand, by despatch, as the last plan that sent the
        // despatch's delivery found them; kept only for deliveries that were written.
        let mut overlaps = Overlaps::default();
        let outcome = self
            .parts
            .ct
            .update_order_from(&order.id, Some(order.clone()), ATTEMPTS, |current| {
                let plan = deliveries::plan(current, &refs, &self.parts.rules, &lines);
                refused = plan.refused;
                if plan.actions.is_empty() {
                    return Decision::Done;
                }
                let texts: Vec<String> = plan
                    .overlaps
                    .iter()
                    .map(|(number, lines)| overlap::describe(number, lines))
                    .collect();
                // The exception goes first: a long update is sent in parts of 500 actions,
                // and once a part has added the delivery, the next plans see no overlap.
                let mut actions = Vec::new();
                if !texts.is_empty() {
                    let order_type = self.parts.order_type.as_ref();
                    match overlap::show_on_order(current, order_type, &texts) {
                        Ok(shown) => {
                            overlaps.not_shown = None;
                            actions = shown;
                        }
                        Err(why) => overlaps.not_shown = Some(why),
                    }
                }
                actions.extend(plan.actions);
                overlaps.by_despatch.extend(plan.overlaps);
                Decision::Update(actions)
            })
            .await;
        let booked = match outcome {
            // What was written, every part of a long update and a write whose answer was lost
            // included.
            Ok(done) if !done.written.is_empty() => {
                let overlaps = overlaps.of_written(&done.written);
                Booked::Applied(done.written, done.attempts, done.answer_lost, overlaps)
            }
            Ok(_) => Booked::Unchanged,
            Err(e) => Booked::Failed(failed_write(&e, "the delivery")),
        };
        (booked, refused)
    }

    async fn audit(
        &self,
        order: &Order,
        despatch: &Despatch,
        outcome: &str,
        reason: Option<String>,
        overlap: Option<&[overlap::OverlapLine]>,
    ) {
        let mut detail = serde_json::json!({
            "despatch": despatch.number,
            "deliveryKey": deliveries::delivery_key(&despatch.number),
            "carrier": despatch.carrier,
            "packages": despatch.packages.len(),
            "tracked": despatch.packages.iter().filter(|p| p.tracking.is_some()).count(),
            "lines": despatch.lines.len(),
        });
        if let Some(lines) = overlap {
            detail["overlap"] = serde_json::json!(lines);
        }
        let entry = AuditEntry {
            entity: format!("order#{}", order.id),
            at_ms: now_epoch_ms(),
            flow: FLOW.into(),
            outcome: outcome.into(),
            reason,
            detail,
        };
        if let Err(e) = self.parts.audit.append(&entry).await {
            tracing::error!(order_id = %order.id, error = %e, "audit append failed");
        }
    }
}

/// The outcome of a despatch the batch ran out of time for.
fn unstarted() -> RecordOutcome {
    RecordOutcome::Retry(deadline::UNSTARTED.into())
}

/// What the callbacks of one despatch said of its carrier and service.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct CallbackSaid {
    carrier: Option<String>,
    service: Option<String>,
}

impl CallbackSaid {
    fn add(&mut self, m: &ShipmentMessage) {
        let given = |v: &Option<String>| {
            v.as_ref()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        if self.carrier.is_none() {
            self.carrier = given(&m.carrier);
        }
        if self.service.is_none() {
            self.service = given(&m.service).or_else(|| given(&m.service_code));
        }
    }
}

/// Fills a despatch's carrier and service where the despatch report left them empty, from
/// what its TrackingNumberReceived said (peep_conn registers `{Carrier.Number}`,
/// `{ServiceType.Name}` and `{ServiceType.Code}`). The report wins where it names them.
fn fill_from_callbacks(
    despatches: &mut BTreeMap<String, Despatch>,
    said: &BTreeMap<String, CallbackSaid>,
) {
    for (number, despatch) in despatches.iter_mut() {
        let Some(said) = said.get(number) else {
            continue;
        };
        if despatch.carrier.trim().is_empty()
            && let Some(carrier) = &said.carrier
        {
            despatch.carrier = carrier.clone();
        }
        if despatch.service.trim().is_empty()
            && let Some(service) = &said.service
        {
            despatch.service = service.clone();
        }
    }
}

#[async_trait::async_trait]
impl crate::flows::batch::BatchFlow for ShipmentConfirmed {
    type Report = ShipmentReport;
    fn name(&self) -> &'static str {
        FLOW
    }
    async fn process(&self, records: &[InputRecord], _deadline_ms: i64) -> ShipmentReport {
        self.run_batch(records).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(
        carrier: Option<&str>,
        service: Option<&str>,
        code: Option<&str>,
    ) -> ShipmentMessage {
        ShipmentMessage {
            id: "e".into(),
            event: "tracking".into(),
            despatch: "DSP-1".into(),
            order: Some("SO-1".into()),
            tracking: Some("TRK-1".into()),
            package: None,
            carrier: carrier.map(str::to_string),
            service: service.map(str::to_string),
            service_code: code.map(str::to_string),
            received_at_ms: 1,
        }
    }

    fn despatch(carrier: &str, service: &str) -> Despatch {
        Despatch {
            number: "DSP-1".into(),
            order_number: "SO-1".into(),
            carrier: carrier.into(),
            service: service.into(),
            despatched_at: None,
            lines: vec![("A".into(), 1)],
            packages: vec![crate::domain::Package {
                number: "1".into(),
                tracking: Some("TRK-1".into()),
                weight_g: None,
            }],
        }
    }

    #[test]
    fn tracking_number_received_carrier_reaches_the_delivery_where_the_report_has_none() {
        let mut said = BTreeMap::new();
        said.entry("DSP-1".to_string())
            .or_insert_with(CallbackSaid::default)
            .add(&message(Some("DPD"), None, Some("NEXTDAY")));
        let mut found = BTreeMap::from([("DSP-1".to_string(), despatch("", ""))]);
        fill_from_callbacks(&mut found, &said);
        assert_eq!(found["DSP-1"].carrier, "DPD");
        assert_eq!(found["DSP-1"].service, "NEXTDAY");

        // The delivery's parcel carries it.
        let order: crate::commercetools::types::Order = serde_json::from_value(serde_json::json!({
            "id": "o", "version": 1, "orderNumber": "SO-1",
            "lineItems": [{"id": "li", "variant": {"sku": "A"}, "quantity": 1}],
        }))
        .unwrap();
        let d = &found["DSP-1"];
        let lines = deliveries::Lines {
            item_of: &|sku: &str| (sku.to_string(), 1),
            custom_code_of: &|_| None,
            export_channel_id: "ch-export",
        };
        let actions = deliveries::plan(&order, &[d], &ShipmentRules::default(), &lines).unwrap();
        let json = serde_json::to_value(&actions).unwrap();
        assert_eq!(
            json[0]["parcels"][0]["trackingData"]["carrier"], "DPD",
            "{json}"
        );

        // The report wins where it names one.
        let mut found =
            BTreeMap::from([("DSP-1".to_string(), despatch("Royal Mail", "Tracked 24"))]);
        fill_from_callbacks(&mut found, &said);
        assert_eq!(found["DSP-1"].carrier, "Royal Mail");
        assert_eq!(found["DSP-1"].service, "Tracked 24");
    }
}
