//! A finished run's figures as CloudWatch metrics (one EMF line, see [`crate::metrics`]):
//! template.yaml's dashboard and drift alarms read them.

use super::FLOW;
use super::report::DriftReport;
use crate::metrics::emf_line;

/// The drift figures of a finished run.
pub fn drift_metrics(report: &DriftReport) -> String {
    let count = |n: usize| n as f64;
    let seconds = report
        .finished_at_ms
        .map_or(0.0, |end| (end - report.started_at_ms) as f64 / 1000.0);
    emf_line(
        FLOW,
        &[
            (
                "ReconcileDriftBefore",
                count(report.drift_before()),
                "Count",
            ),
            ("ReconcileUpdated", count(report.updated()), "Count"),
            ("ReconcileDriftAfter", count(report.remaining()), "Count"),
            ("ReconcileFailed", count(report.failed()), "Count"),
            (
                "ReconcileOrdersRequeued",
                count(report.orders.requeued),
                "Count",
            ),
            (
                "ReconcileDespatchesRequeued",
                count(report.despatches.requeued),
                "Count",
            ),
            (
                "ReconcileTrackingRequeued",
                count(report.tracking.requeued),
                "Count",
            ),
            (
                "ReconcileStatusesRequeued",
                count(report.statuses.requeued()),
                "Count",
            ),
            ("ReconcileSeconds", seconds, "Seconds"),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn drift_metrics_carry_the_report() {
        let report = DriftReport {
            started_at_ms: 1_000,
            finished_at_ms: Some(61_000),
            ..DriftReport::default()
        };
        let v: Value = serde_json::from_str(&drift_metrics(&report)).unwrap();
        assert_eq!(v["ReconcileSeconds"], 60.0);
        assert_eq!(v["ReconcileDriftAfter"], 0.0);
        assert_eq!(v["Flow"], FLOW);
    }
}
