//! Event shapes in and out: the EventBridge schedule (start a run) or an SQS batch of
//! continuation messages (resume it; partial batch response).

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use ctpvx_shared::aws::SqsQueue;
use ctpvx_shared::deadline;
use ctpvx_shared::flows::nightly_reconcile::metrics::drift_metrics;
use ctpvx_shared::flows::nightly_reconcile::{NightlyReconcile, RunOptions};
use ctpvx_shared::invocation::{LazyFlow, flow_deadline};
use ctpvx_shared::lambda_init::RECONCILE_QUEUE;
use ctpvx_shared::lambda_sqs::{self, PvxMeter};
use ctpvx_shared::queues;
use ctpvx_shared::store::AuditLog;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{Value, json};

/// Built once at init (the flow at its first invocation).
pub struct Deps {
    pub flow: LazyFlow<NightlyReconcile>,
    /// Counts the flow's Peoplevox requests for the batch metrics.
    pub pvx: PvxMeter,
    pub queue: Arc<SqsQueue>,
    pub audit: Arc<dyn AuditLog>,
}

/// Dispatches on the event's shape.
pub async fn handle(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let deadline_ms = lambda_sqs::deadline_ms(&event);
    if event.payload.get("Records").is_some() {
        let sqs: SqsEvent = serde_json::from_value(event.payload)?;
        let retry = queues::retry_policy(RECONCILE_QUEUE);
        let (report, response) = lambda_sqs::handle(
            &deps.flow,
            deps.queue.as_ref(),
            deps.audit.as_ref(),
            &retry,
            sqs,
            deadline_ms,
            Some(&deps.pvx),
        )
        .await;
        for finished in &report.report.reports {
            // EMF: CloudWatch turns this stdout line into the dashboard's drift metrics.
            println!("{}", drift_metrics(finished));
        }
        return Ok(serde_json::to_value(response)?);
    }
    let options = schedule_options(&event.payload);
    // A start that fails (the flow cannot be built yet, say) is an error: EventBridge retries
    // it, and the retry resumes the same run (its id is the schedule's time).
    let run = deadline::scope(flow_deadline(deadline_ms), async {
        let flow = deps.flow.get().await?;
        let run = flow.start(&options).await?;
        flow.hand_on(deps.queue.as_ref(), &run.id).await?;
        Ok::<_, Error>(run)
    })
    .await?;
    tracing::info!(run = %run.id, dry_run = run.dry_run, stages = run.stages.len(), "reconcile started");
    Ok(json!({ "run": run.id, "stages": run.stages.len() }))
}

/// The run a scheduled event asks for. Its id is `nightly-<event time>`, the same for
/// EventBridge's retries of one schedule tick. The rule's input may set `detail` to
/// `{"dryRun": true, "sites": ["UK-DC"], "skipStock": false, "skipOrders": false,
/// "skipDespatches": false, "skipStatuses": false}`.
fn schedule_options(event: &Value) -> RunOptions {
    let detail = &event["detail"];
    let flag = |name: &str| detail[name].as_bool().unwrap_or(false);
    RunOptions {
        id: event["time"]
            .as_str()
            .map(|time| format!("nightly-{time}"))
            .or_else(|| event["id"].as_str().map(|id| format!("event-{id}"))),
        dry_run: flag("dryRun"),
        sites: detail["sites"].as_array().map(|sites| {
            sites
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        }),
        skip_stock: flag("skipStock"),
        skip_orders: flag("skipOrders"),
        skip_despatches: flag("skipDespatches"),
        skip_statuses: flag("skipStatuses"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_tick_names_its_run_by_its_time() {
        let event: Value = serde_json::from_str(
            r#"{"version":"0","id":"e1","detail-type":"Scheduled Event","source":"aws.events",
                "account":"1","time":"2026-11-30T02:00:00Z","region":"eu-west-1",
                "resources":[],"detail":{}}"#,
        )
        .unwrap();
        let options = schedule_options(&event);
        assert_eq!(options.id.as_deref(), Some("nightly-2026-11-30T02:00:00Z"));
        assert!(!options.dry_run && options.sites.is_none());
        assert!(!options.skip_statuses);
        let manual = json!({"time": "t", "detail": {"dryRun": true, "sites": ["UK-DC"], "skipStatuses": true}});
        let options = schedule_options(&manual);
        assert!(options.dry_run && options.skip_statuses);
        assert_eq!(options.sites, Some(vec!["UK-DC".to_string()]));
    }
}
