//! Orders split over several addresses ([`crate::mapping::order::destinations`]): each part
//! is a Peoplevox sales order of its own, with its own status, while commercetools has one
//! order. So a status of one part is a hint: every part's status is read from Peoplevox, and
//! the order is shown at the least advanced part that is not cancelled (all cancelled: the
//! order is cancelled), or at "partially despatched" once some part has left and another has
//! not; a hold of any part holds the order.

use std::collections::BTreeMap;

use super::OrderStatus;
use super::pvx_orders::{self, PvxOrder};
use super::report::StatusReport;
use super::statuses::Chosen;
use crate::commercetools::types::Order;
use crate::config::{StatusMapping, StatusRules};
use crate::domain::status::Stage;
use crate::flows::batch::RecordOutcome;

/// The status the order shows given each part's, and its hold flag; `None` when no part's
/// status is mapped. A part Peoplevox did not return, or whose status is not mapped, is not
/// known to have left: the order then shows at most "partially despatched", never Despatched or
/// Closed while a part may still be in the warehouse.
pub fn order_status(
    parts: &[(String, Option<PvxOrder>)],
    rules: &StatusRules,
) -> Option<(String, StatusMapping, Option<bool>)> {
    let mapped: Vec<(&str, StatusMapping)> = parts
        .iter()
        .filter_map(|(_, o)| o.as_ref())
        .filter_map(|o| rules.resolve(&o.status).map(|m| (o.status.as_str(), m)))
        .collect();
    let all_known = mapped.len() == parts.len();
    let live: Vec<&(&str, StatusMapping)> = mapped
        .iter()
        .filter(|(_, m)| m.stage != Stage::Cancelled)
        .collect();
    let partial = rules
        .map
        .iter()
        .chain(crate::config::default_statuses())
        .find(|(_, m)| m.stage == Stage::PartiallyDespatched);
    let (name, mapping) = match live.iter().min_by_key(|(_, m)| m.stage) {
        // Every known part cancelled: the order is, once every part is known.
        None if all_known => mapped.first().map(|(n, m)| (n.to_string(), m.clone()))?,
        None => return None,
        Some((name, least)) => {
            let some_left = live
                .iter()
                .any(|(_, m)| m.stage >= Stage::PartiallyDespatched);
            let behind = least.stage < Stage::PartiallyDespatched;
            let unknown_may_be_behind = !all_known && least.stage > Stage::PartiallyDespatched;
            match partial {
                Some((partial_name, partial_mapping))
                    if (some_left && behind) || unknown_may_be_behind =>
                {
                    (partial_name.clone(), partial_mapping.clone())
                }
                // No "partially despatched" mapping: an unknown part keeps the order where
                // nothing can have left.
                None if unknown_may_be_behind => return None,
                _ => (name.to_string(), least.clone()),
            }
        }
    };
    let holds: Vec<Option<bool>> = parts
        .iter()
        .map(|(_, o)| o.as_ref().and_then(|o| o.on_hold))
        .collect();
    let on_hold = if holds.contains(&Some(true)) {
        Some(true)
    } else if holds.iter().all(|h| *h == Some(false)) {
        Some(false)
    } else {
        None
    };
    Some((name, mapping, on_hold))
}

impl OrderStatus {
    /// One entry per order: the entries of a split order's parts become one, at the status
    /// its parts give it together (read from Peoplevox); the others are covered by it.
    pub(super) async fn merge_parts(
        &self,
        chosen: Vec<(Order, Chosen)>,
        report: &mut StatusReport,
    ) -> Vec<(Order, Chosen)> {
        let export = self.parts.export_channel_id.as_str();
        let mut merged: Vec<(Order, Chosen)> = Vec::with_capacity(chosen.len());
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        for (order, c) in chosen {
            match index.get(&order.id) {
                Some(_) => {
                    // Another part's event of the same order: the merged entry, which reads
                    // every part from Peoplevox, covers it.
                    report.unchanged += 1;
                    report.records.set(&c.event.record_id, RecordOutcome::Done);
                }
                None => {
                    index.insert(order.id.clone(), merged.len());
                    merged.push((order, c));
                }
            }
        }
        let split: Vec<String> = merged
            .iter()
            .map(|(o, _)| o.peoplevox_numbers(export))
            .filter(|numbers| numbers.len() > 1)
            .flatten()
            .map(str::to_string)
            .collect();
        if split.is_empty() {
            return merged;
        }
        let read = match pvx_orders::read(&self.parts.pvx, &self.parts.rules, &split).await {
            Ok(read) => read,
            Err(e) => {
                let reason = format!("reading the statuses of a split order's parts: {e}");
                merged.retain(|(o, c)| {
                    let is_split = o.peoplevox_numbers(export).len() > 1;
                    if is_split {
                        report
                            .records
                            .set(&c.event.record_id, RecordOutcome::Retry(reason.clone()));
                    }
                    !is_split
                });
                return merged;
            }
        };
        for (order, c) in &mut merged {
            let numbers = order.peoplevox_numbers(export);
            if numbers.len() < 2 {
                continue;
            }
            let parts: Vec<(String, Option<PvxOrder>)> = numbers
                .iter()
                .map(|n| (n.to_string(), read.orders.get(*n).cloned()))
                .collect();
            c.parts = parts
                .iter()
                .map(|(n, o)| {
                    let status = o
                        .as_ref()
                        .map_or("(not in Peoplevox)", |o| o.status.as_str());
                    format!("{n}: {status}")
                })
                .collect();
            if let Some((name, mapping, on_hold)) = order_status(&parts, &self.parts.rules) {
                c.event.status = Some(name);
                if let Some(flag) = on_hold {
                    // Peoplevox's flag as read now: newer than any callback's.
                    c.hold = Some(super::mark::HoldMark {
                        on_hold: flag,
                        modified_ms: None,
                        received_ms: crate::store::now_epoch_ms(),
                    });
                }
                c.event.read_from_peoplevox = true;
                c.mapping = mapping;
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(status: &str, on_hold: Option<bool>) -> (String, Option<PvxOrder>) {
        (
            "N".into(),
            Some(PvxOrder {
                status: status.into(),
                on_hold,
            }),
        )
    }

    fn shown(parts: &[(String, Option<PvxOrder>)]) -> (String, Option<bool>) {
        let (name, _, hold) = order_status(parts, &StatusRules::default()).unwrap();
        (name, hold)
    }

    #[test]
    fn the_order_shows_its_least_advanced_live_part() {
        assert_eq!(
            shown(&[part("Packed", None), part("Picking", None)]).0,
            "Picking"
        );
        // A cancelled part does not hold the others back; all cancelled is cancelled.
        assert_eq!(
            shown(&[part("Cancelled", None), part("Despatched", None)]).0,
            "Despatched"
        );
        assert_eq!(
            shown(&[part("Cancelled", None), part("Cancelled", None)]).0,
            "Cancelled"
        );
        // One part gone, one still in the warehouse: partially despatched.
        assert_eq!(
            shown(&[part("Despatched", None), part("Picking", None)]).0,
            "Partially despatched"
        );
        assert_eq!(
            shown(&[part("Despatched", None), part("Closed", None)]).0,
            "Despatched"
        );
    }

    #[test]
    fn a_part_not_known_to_have_left_keeps_the_order_from_despatched() {
        let missing = ("N-2".to_string(), None);
        assert_eq!(
            shown(&[part("Closed", None), missing.clone()]).0,
            "Partially despatched"
        );
        assert_eq!(
            shown(&[part("Despatched", None), part("Awaiting stock", None)]).0,
            "Partially despatched"
        );
        // Behind anyway: the least advanced known part.
        assert_eq!(
            shown(&[part("Picking", None), missing.clone()]).0,
            "Picking"
        );
        // A cancelled part and one Peoplevox did not return: not yet cancelled.
        assert!(
            order_status(&[part("Cancelled", None), missing], &StatusRules::default()).is_none()
        );
    }

    #[test]
    fn a_hold_of_any_part_holds_the_order() {
        assert_eq!(
            shown(&[part("New", Some(false)), part("New", Some(true))]).1,
            Some(true)
        );
        assert_eq!(
            shown(&[part("New", Some(false)), part("New", Some(false))]).1,
            Some(false)
        );
        assert_eq!(
            shown(&[part("New", Some(false)), part("New", None)]).1,
            None
        );
        assert!(order_status(&[("N".into(), None)], &StatusRules::default()).is_none());
    }
}
