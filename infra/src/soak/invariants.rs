//! The invariant checker: reads the two simulated systems (and the queues' books) after the
//! soak drained and reconciled, and counts every broken promise. Every count must be 0.

use serde::Serialize;
use serde_json::Value;

use crate::checks;
use crate::status_scenario::{self, StatusWork};
use crate::testbed::Testbed;

use super::tally::Tally;

/// Broken promises, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Invariants {
    /// Orders imported into Peoplevox more than once (extra imports).
    pub duplicate_peoplevox_orders: usize,
    /// Orders placed in commercetools that never reached Peoplevox with an export mark.
    pub orders_never_exported: usize,
    /// Deliveries beyond one per despatch.
    pub duplicate_deliveries: usize,
    /// Peoplevox despatches with no commercetools delivery.
    pub despatches_without_delivery: usize,
    /// Tracking numbers on more than one parcel.
    pub duplicate_tracking_numbers: usize,
    /// Despatched packages whose tracking number never reached commercetools.
    pub missing_tracking_numbers: usize,
    /// commercetools inventory entries not at their target (Peoplevox available, less
    /// unallocated orders and the buffer).
    pub stock_entries_off_target: usize,
    /// Units sold beyond what Peoplevox had.
    pub oversold_units: i64,
    /// Order state moves in commercetools that went backwards.
    pub backwards_status_moves: usize,
    /// Cancellations, exceptions and short picks that do not show on the other side.
    pub outcomes_not_shown: usize,
    /// Returns recorded twice or not at all.
    pub returns_wrong: usize,
    /// Queue messages neither applied nor parked by a flow with a reason.
    pub events_unaccounted: usize,
    /// Peoplevox requests over the request budget.
    pub budget_violations: u64,
    /// Despatches without their delivery (parked) whose units split exactly over the order's
    /// open lines, packs included.
    pub despatches_parked_with_a_pack_split: usize,
    /// Orders with announced (`Advised`) return items of units Peoplevox received, not shown
    /// received.
    pub advised_items_not_receipted: usize,
    /// Orders Peoplevox released that commercetools still shows in the on-hold state.
    pub holds_left_after_release: usize,
}

impl Invariants {
    /// Every count as (name, value), in order.
    pub fn rows(&self) -> Vec<(String, i64)> {
        let Ok(Value::Object(map)) = serde_json::to_value(self) else {
            return Vec::new();
        };
        map.into_iter()
            .map(|(k, v)| (k, v.as_i64().unwrap_or(i64::MAX)))
            .collect()
    }

    /// Whether every count is 0.
    pub fn hold(&self) -> bool {
        self.rows().iter().all(|(_, v)| *v == 0)
    }
}

/// What the checker reads besides the simulators.
pub struct Observed<'a> {
    /// Orders the storefront placed (commercetools JSON).
    pub placed: &'a [Value],
    /// What the warehouse did before despatch.
    pub work: &'a StatusWork,
    /// The queues' books.
    pub tally: Tally,
}

/// Counts every broken promise.
pub fn check(bed: &Testbed, seen: &Observed<'_>) -> Invariants {
    let channel = &bed.export_channel_id;
    let mut out = Invariants::default();
    for order in seen.placed {
        let id = order["id"].as_str().unwrap_or_default();
        let number = order["orderNumber"].as_str().unwrap_or_default();
        let imports = bed.pvx.header_imports(number) as usize;
        out.duplicate_peoplevox_orders += imports.saturating_sub(1);
        let marked = bed
            .ct
            .order(id)
            .is_some_and(|o| o.sync_info_for(channel).is_some());
        if !(marked && imports >= 1) {
            out.orders_never_exported += 1;
        }
    }
    let shipments = checks::shipments::check(bed);
    out.duplicate_deliveries = shipments.duplicate_deliveries;
    out.despatches_without_delivery = shipments.despatches_without_delivery;
    out.duplicate_tracking_numbers = shipments.duplicate_tracking;
    out.missing_tracking_numbers = shipments.missing_tracking;
    out.stock_entries_off_target = checks::stock::mismatches(bed).len();
    out.oversold_units = checks::stock::oversold_units(bed);
    let status = checks::status::check(bed);
    out.backwards_status_moves = status.backwards_moves.len();
    out.returns_wrong = status.duplicate_returns + status.missing_returns;
    let shown = status_scenario::shown(bed, seen.work);
    out.outcomes_not_shown = shown.conflicts_unrecorded
        + shown.cancellations_not_pushed
        + shown.cancellations_not_shown
        + shown.short_picks_not_shown
        + shown.cancellations_after_despatch_applied;
    out.events_unaccounted = seen.tally.unsettled;
    out.budget_violations = bed.pvx.budget_violations();
    let hard = checks::hard_cases::check(bed);
    out.despatches_parked_with_a_pack_split = hard.despatches_parked_with_a_pack_split.len();
    out.advised_items_not_receipted = hard.advised_items_not_receipted.len();
    out.holds_left_after_release = hard.holds_left_after_release.len();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_count_above_zero_breaks_the_invariants() {
        assert!(Invariants::default().hold());
        let broken = Invariants {
            oversold_units: 1,
            ..Invariants::default()
        };
        assert!(!broken.hold());
        let rows = broken.rows();
        assert_eq!(rows.len(), 16);
        assert!(rows.contains(&("oversold_units".to_string(), 1)));
    }
}
