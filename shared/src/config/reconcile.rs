//! The `[reconcile]` section: what the nightly reconciliation sweeps, how far back, and how
//! much of the Peoplevox request budget it may take.

use serde::Deserialize;

use super::ConfigError;

/// How the nightly reconciliation runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileRules {
    /// Reconcile stock: every item at every site of `[stock.sites]`.
    #[serde(default = "default_true")]
    pub stock: bool,
    /// Re-queue commercetools orders that never reached Peoplevox.
    #[serde(default = "default_true")]
    pub orders: bool,
    /// Re-queue Peoplevox despatches that never became a commercetools delivery.
    #[serde(default = "default_true")]
    pub despatches: bool,
    /// Compare the Peoplevox status of the exported orders of the last `order_days` with
    /// commercetools, and re-queue the status callbacks and commercetools cancellations that
    /// never arrived.
    #[serde(default = "default_true")]
    pub statuses: bool,
    /// Orders created this many days back are swept (for lost exports and lost statuses).
    #[serde(default = "default_order_days")]
    pub order_days: u32,
    /// ... unless younger than this many seconds: those are still on their way.
    #[serde(default = "default_order_grace_s")]
    pub order_grace_s: u64,
    /// The first run reads despatches this many days back; later runs from the last run's
    /// start (the watermark).
    #[serde(default = "default_despatch_days")]
    pub despatch_days: u32,
    /// Despatches are re-read this long before the watermark, for reports that lag.
    #[serde(default = "default_despatch_overlap_s")]
    pub despatch_overlap_s: u64,
    /// Every run (with `despatches`) re-reads from Peoplevox the despatches of this many days
    /// back whose delivery still has a parcel without a tracking number (or no parcel), and
    /// re-queues those Peoplevox now shows more of: a tracking number or package it got days
    /// after the despatch, whose callback was lost. 0 turns this off.
    #[serde(default = "default_tracking_days")]
    pub tracking_days: u32,
    /// Rows per Peoplevox report page (Peoplevox serves at most 1,000).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Slots of the Peoplevox request budget the reconciliation leaves to the live flows, so
    /// that a night's full read never stops order export; default: a fifth of the budget
    /// (3 of 15).
    #[serde(default)]
    pub budget_reserve: Option<u32>,
    /// Concurrent id ranges when reading a supply channel's commercetools inventory.
    #[serde(default = "default_scan_partitions")]
    pub scan_partitions: usize,
    /// Peoplevox pages read ahead of the one being compared.
    #[serde(default = "default_read_ahead")]
    pub read_ahead: usize,
    /// A Lambda stops taking new work this many seconds before its time runs out, writes
    /// its checkpoint and hands the run on.
    #[serde(default = "default_stop_before_deadline_s")]
    pub stop_before_deadline_s: u64,
    /// The drift report keeps this many of the largest differences per site.
    #[serde(default = "default_largest")]
    pub largest: usize,
}

impl Default for ReconcileRules {
    fn default() -> Self {
        // Deserializing an empty table applies every field default in one place.
        toml::from_str("").unwrap_or_else(|_| unreachable!("empty reconcile rules always parse"))
    }
}

fn default_true() -> bool {
    true
}
fn default_order_days() -> u32 {
    7
}
fn default_order_grace_s() -> u64 {
    900
}
fn default_despatch_days() -> u32 {
    7
}
fn default_despatch_overlap_s() -> u64 {
    3600
}
fn default_tracking_days() -> u32 {
    // Carriers' tracking numbers come within days of the despatch; two weeks covers a slow
    // carrier or a weekend backlog without re-reading untracked despatches for ever.
    14
}
fn default_page_size() -> u32 {
    1000
}
fn default_scan_partitions() -> usize {
    8
}
fn default_read_ahead() -> usize {
    2
}
fn default_stop_before_deadline_s() -> u64 {
    60
}
fn default_largest() -> usize {
    20
}

impl ReconcileRules {
    /// The budget slots left to the live flows, out of `budget_requests`.
    pub fn budget_reserve(&self, budget_requests: u32) -> u32 {
        self.budget_reserve.unwrap_or(budget_requests / 5)
    }

    /// Checks what the types cannot; `budget_requests` is the Peoplevox budget.
    pub(super) fn validate(&self, budget_requests: u32) -> Result<(), ConfigError> {
        if !(1..=1000).contains(&self.page_size) {
            return Err(ConfigError::invalid(
                "reconcile.page_size",
                "must be 1..=1000 (Peoplevox serves at most 1,000 rows a page)",
            ));
        }
        if self.budget_reserve(budget_requests) >= budget_requests {
            return Err(ConfigError::invalid(
                "reconcile.budget_reserve",
                format!(
                    "must be less than peoplevox.budget_requests ({budget_requests}), or the reconciliation never gets a request"
                ),
            ));
        }
        for (field, value) in [
            ("reconcile.order_days", self.order_days as usize),
            ("reconcile.despatch_days", self.despatch_days as usize),
            ("reconcile.scan_partitions", self.scan_partitions),
            ("reconcile.read_ahead", self.read_ahead),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(field, "must be at least 1"));
            }
        }
        if self.scan_partitions > 16 {
            return Err(ConfigError::invalid(
                "reconcile.scan_partitions",
                "must be at most 16 (one per leading hex digit of an id)",
            ));
        }
        if self.stop_before_deadline_s > 600 {
            return Err(ConfigError::invalid(
                "reconcile.stop_before_deadline_s",
                "must be at most 600 (a Lambda runs at most 900 s)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    use crate::config::MINIMAL_TOML as MINIMAL;

    fn with(extra: &str) -> Result<Config, String> {
        Config::from_toml(&format!("{MINIMAL}\n[reconcile]\n{extra}\n")).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_leave_a_fifth_of_the_budget_to_the_live_flows() {
        let c = with("").unwrap();
        assert_eq!(c.reconcile.budget_reserve(15), 3);
        assert_eq!(c.reconcile.budget_reserve(4), 0);
        assert_eq!((c.reconcile.page_size, c.reconcile.order_days), (1000, 7));
        assert!(c.reconcile.stock && c.reconcile.orders && c.reconcile.despatches);
        assert!(c.reconcile.statuses);
        assert!(!with("statuses = false").unwrap().reconcile.statuses);
        assert_eq!(c.reconcile.tracking_days, 14);
        assert_eq!(
            with("tracking_days = 0").unwrap().reconcile.tracking_days,
            0
        );
    }

    #[test]
    fn bad_values_name_their_field() {
        for (extra, field) in [
            ("page_size = 1001", "reconcile.page_size"),
            ("page_size = 0", "reconcile.page_size"),
            ("budget_reserve = 15", "reconcile.budget_reserve"),
            ("scan_partitions = 17", "reconcile.scan_partitions"),
            ("read_ahead = 0", "reconcile.read_ahead"),
            (
                "stop_before_deadline_s = 601",
                "reconcile.stop_before_deadline_s",
            ),
            ("order_dayz = 3", "order_dayz"),
        ] {
            let e = with(extra).unwrap_err();
            assert!(e.contains(field), "{extra}: {e}");
        }
        assert_eq!(
            with("budget_reserve = 14")
                .unwrap()
                .reconcile
                .budget_reserve(15),
            14
        );
    }
}
