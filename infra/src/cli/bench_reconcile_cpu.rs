//! `ctpvx bench` CPU of the nightly reconciliation per item-site pair: the stock stages run to
//! the end on a thread and runtime of their own, the simulators answering at once and the
//! Peoplevox budget lifted, so that the figure is the comparison's own cost. The time and
//! memory at 300,000 pairs under the real budget are [`crate::cli::bench_reconcile`]'s.

use std::sync::Arc;

use ctpvx_infra::testbed::STOCK_SITES;
use ctpvx_shared::app;
use ctpvx_shared::commercetools::CtClient;
use ctpvx_shared::config::Config;
use ctpvx_shared::flows::nightly_reconcile::{Quiet, RunOptions};
use ctpvx_shared::store::Queue;

use crate::cli::bench_cpu;
use crate::cli::bench_flows::{stores_of, unbound_bed};
use crate::cli::bench_reconcile::{PAGE, seed};

/// Every tenth entry is off its target, as in the full-scale run.
const DRIFT_EVERY: usize = 10;

/// Reconciles `items` items at each of the 3 sites; returns the figures.
pub async fn run(items: usize) -> anyhow::Result<serde_json::Value> {
    let (bed, store) = unbound_bed(Vec::new()).await?;
    let drifted = seed(&bed, items, DRIFT_EVERY)?;
    let config = Config::from_toml(&format!(
        "{}\n[reconcile]\nbudget_reserve = 0\npage_size = {PAGE}\n",
        bed.config_text
    ))?;
    let secrets = bed.secrets.clone();
    let state = store.clone();
    let options = RunOptions {
        skip_orders: true,
        skip_despatches: true,
        skip_statuses: true,
        ..RunOptions::default()
    };
    let timed = bench_cpu::on_own_thread(
        move || async move {
            let ct = Arc::new(CtClient::new(app::ct_settings(&config, &secrets))?);
            let queue: Arc<dyn Queue> = state.clone();
            Ok(app::nightly_reconcile(&config, &secrets, &stores_of(&state), ct, queue).await?)
        },
        move |flow| async move { Ok(flow.run_to_end(&options, &Quiet).await?) },
    )
    .await?;
    let pairs = items * STOCK_SITES.len();
    let report = &timed.value;
    let mut value = timed.per_event(pairs);
    value["flow"] = "nightly-reconcile".into();
    value["unit"] = "item-site pair".into();
    value["items_per_site"] = items.into();
    value["drifted_entries"] = drifted.into();
    value["drift_before"] = report.drift_before().into();
    value["updated"] = report.updated().into();
    value["failed"] = report.failed().into();
    value["commercetools_requests"] = bed.ct.request_count().into();
    value["peoplevox_requests"] = bed.pvx.request_count().into();
    Ok(value)
}
