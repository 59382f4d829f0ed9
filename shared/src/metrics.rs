//! Metrics as CloudWatch reads them from a Lambda's log: one line in the Embedded Metric
//! Format (EMF) per batch or run, turned into metrics without a PutMetricData call or its IAM
//! right. Namespace `ctpvx`, dimension `Flow`; template.yaml's dashboard and alarms read them.

use serde_json::{Map, Value, json};

use crate::store::now_epoch_ms;

/// The metrics namespace of every ctpvx metric.
pub const NAMESPACE: &str = "ctpvx";

/// An EMF line with `metrics` (name, value, unit) under `flow`.
pub fn emf_line(flow: &str, metrics: &[(&str, f64, &str)]) -> String {
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|(name, _, unit)| json!({ "Name": name, "Unit": unit }))
        .collect();
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": now_epoch_ms(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Flow"]],
                "Metrics": definitions,
            }],
        }),
    );
    line.insert("Flow".into(), flow.into());
    for (name, value, _) in metrics {
        line.insert((*name).to_string(), json!(value));
    }
    Value::Object(line).to_string()
}

/// What a queue batch did: records handled, records that failed (retried or parked), and the
/// Peoplevox requests it made (the budget's use, per flow).
pub fn batch_metrics(flow: &str, events: usize, failed: usize, peoplevox_requests: u64) -> String {
    emf_line(
        flow,
        &[
            ("Events", events as f64, "Count"),
            ("Failed", failed as f64, "Count"),
            ("PeoplevoxRequests", peoplevox_requests as f64, "Count"),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_declares_every_metric_it_carries() {
        let line = batch_metrics("stock-delta", 100, 2, 3);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["Flow"], "stock-delta");
        assert_eq!(
            (v["Events"].as_f64(), v["Failed"].as_f64()),
            (Some(100.0), Some(2.0))
        );
        assert_eq!(v["PeoplevoxRequests"], 3.0);
        let declared = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], NAMESPACE);
        let names: Vec<&str> = declared["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Events", "Failed", "PeoplevoxRequests"]);
        assert_eq!(declared["Dimensions"][0][0], "Flow");
    }
}
