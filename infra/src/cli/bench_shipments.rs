//! `ctpvx bench` shipment figure: commercetools requests per despatch, counted on the
//! commercetools simulator while the shipment flow books 200 despatches (one tracking callback
//! each) in batches as SQS hands them over; then again with a tenth of the updates meeting a
//! concurrent writer (409), and with every callback delivered a second time.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use ctpvx_infra::scenario;
use ctpvx_infra::sim::peoplevox::{DespatchPlan, PackagePlan};
use ctpvx_infra::testbed::{Testbed, TestbedOptions};
use ctpvx_shared::app::{self, Stores};
use ctpvx_shared::domain::ShipmentMessage;
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::flows::batch::InputRecord;
use ctpvx_shared::flows::shipment_confirmed::ShipmentReport;
use ctpvx_shared::store::StateStore;

/// Despatches per run.
const DESPATCHES: usize = 200;

/// The figures of the three runs.
pub async fn run() -> anyhow::Result<serde_json::Value> {
    let mut runs = Vec::new();
    for (conflicts, duplicates) in [(0, false), (DESPATCHES / 10, false), (0, true)] {
        runs.push(one(conflicts, duplicates).await?);
    }
    Ok(runs.into())
}

async fn one(conflicts: usize, duplicates: bool) -> anyhow::Result<serde_json::Value> {
    let catalog = scenario::catalog(20);
    let bed = Testbed::start(TestbedOptions {
        budget_requests: 15,
        budget_window: Duration::from_millis(200),
        items: catalog.clone(),
        ..TestbedOptions::default()
    })
    .await?;
    let store = EmbeddedStore::in_memory()?;
    let state: Arc<dyn StateStore> = store.clone();
    let stores = Stores {
        state: state.clone(),
        idempotency: store.clone(),
        audit: store.clone(),
    };
    let (ct, pvx) = app::clients(&bed.config, &bed.secrets, state)?;
    let export = app::order_export(&bed.config, &stores, ct.clone(), pvx.clone()).await?;
    let mut records = Vec::new();
    for i in 0..DESPATCHES {
        let order = scenario::order(i, 2, &catalog);
        bed.ct.insert_order_json(order.clone())?;
        records.push(InputRecord {
            id: format!("o-{i}"),
            body: scenario::platform_message(&order, &format!("m-{i}")),
            receive_count: 1,
            requeues: 0,
            receipt: None,
        });
    }
    for chunk in records.chunks(100) {
        export.export_batch(chunk, i64::MAX).await;
    }
    let mut messages = Vec::new();
    for order in bed.pvx.sales_orders() {
        let d = bed.pvx.despatch(
            &order.number,
            DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("T")]),
        )?;
        messages.push(d.number);
    }
    let shipments = app::shipment_confirmed(&bed.config, &stores, ct, pvx).await?;
    let announce = |round: &str| -> Vec<InputRecord> {
        messages
            .iter()
            .map(|n| InputRecord {
                id: format!("{round}-{n}"),
                body: ShipmentMessage {
                    id: format!("{round}-{n}"),
                    event: "tracking".into(),
                    despatch: n.clone(),
                    order: None,
                    tracking: None,
                    package: None,
                    carrier: None,
                    service: None,
                    service_code: None,
                    received_at_ms: 0,
                }
                .to_json(),
                receive_count: 1,
                requeues: 0,
                receipt: None,
            })
            .collect()
    };
    bed.ct.reset_counters();
    bed.ct.bump_version_before_next_update(conflicts as u32);
    let mut totals = ShipmentReport::default();
    let mut rounds = vec![announce("a")];
    if duplicates {
        rounds.push(announce("b"));
    }
    for round in rounds {
        for chunk in round.chunks(100) {
            totals.absorb(&shipments.run_batch(chunk).await);
        }
    }
    let requests = bed.ct.request_count();
    let check = ctpvx_infra::checks::shipments::check(&bed);
    Ok(json!({
        "despatches": messages.len(),
        "callbacks_per_despatch": if duplicates { 2 } else { 1 },
        "conflicts_injected": conflicts,
        "commercetools_requests": requests,
        "commercetools_requests_per_despatch": requests as f64 / messages.len() as f64,
        "deliveries_added": totals.deliveries_added,
        "conflicts_met": totals.conflicts,
        "duplicate_deliveries": check.duplicate_deliveries,
        "despatches_without_delivery": check.despatches_without_delivery,
        "peoplevox_requests_for_despatch_reads": bed.pvx.requests_by_operation().get("GetReportData").copied().unwrap_or(0),
    }))
}
