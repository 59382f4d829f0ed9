//! An SQS batch in a Lambda: the event's records handed to a flow
//! ([`crate::invocation::process_batch`]: built at first use, under the invocation's
//! deadline), poisonous ones parked in the dead-letter queue with their reason, the retryable
//! ones reported as batch item failures so that only they come back (or, on their last
//! attempt, re-queued with a delay: see [`crate::flows::settle`]). Every queue-fed function
//! does exactly this.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};

use crate::flows::batch::{BatchFlow, InputRecord, REQUEUES_ATTRIBUTE, requeues_of};
use crate::flows::settle::{RetryPolicy, settle};
use crate::invocation::{LazyFlow, Processed, process_batch};
use crate::metrics::batch_metrics;
use crate::peoplevox::PvxClient;
use crate::store::{AuditLog, Queue};

/// The Peoplevox client of the flow built last, whose requests the batch metrics count. A flow
/// rebuilt for a new configuration version builds new clients and sets them here.
#[derive(Clone, Default)]
pub struct PvxMeter(Arc<std::sync::Mutex<Option<Arc<PvxClient>>>>);

impl PvxMeter {
    /// Counts `client`'s requests from now on.
    pub fn set(&self, client: Arc<PvxClient>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(client);
        }
    }

    /// Requests made so far by the client counted now (0 before the first build).
    pub fn requests(&self) -> u64 {
        self.0
            .lock()
            .ok()
            .and_then(|slot| slot.as_ref().map(|c| c.requests_made()))
            .unwrap_or(0)
    }
}

/// The records of an SQS event.
pub fn records(event: SqsEvent) -> Vec<InputRecord> {
    event
        .records
        .into_iter()
        .map(|m| InputRecord {
            id: m.message_id.unwrap_or_default(),
            receive_count: m
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1),
            requeues: requeues_of(
                m.message_attributes
                    .get(REQUEUES_ATTRIBUTE)
                    .and_then(|a| a.string_value.as_deref()),
            ),
            body: m.body.unwrap_or_default(),
            receipt: m.receipt_handle,
        })
        .collect()
}

/// The deadline of a Lambda invocation, epoch ms (none given: no limit).
pub fn deadline_ms<T>(event: &LambdaEvent<T>) -> i64 {
    i64::try_from(event.context.deadline).unwrap_or(i64::MAX)
}

/// Runs one batch through `flow` (built first if it is not yet) and settles it; returns what
/// the flow made of it and the answer for Lambda. The report's summary is logged as JSON, and
/// the batch's metrics (records, failures, the Peoplevox requests `pvx` counted meanwhile) go to
/// stdout as an EMF line. `deadline_ms` is the invocation's end (epoch ms).
pub async fn handle<F: BatchFlow>(
    flow: &LazyFlow<F>,
    queue: &dyn Queue,
    audit: &dyn AuditLog,
    retry: &RetryPolicy,
    event: SqsEvent,
    deadline_ms: i64,
    pvx: Option<&PvxMeter>,
) -> (Processed<F::Report>, SqsBatchResponse) {
    let records = records(event);
    let requests_before = pvx.map_or(0, PvxMeter::requests);
    let processed = process_batch(flow, &records, deadline_ms).await;
    let failed = settle(
        queue,
        audit,
        flow.name(),
        retry,
        &records,
        &processed.outcomes,
    )
    .await;
    // Counts only: reports hold no personal data.
    let summary = serde_json::to_string(&processed.report).unwrap_or_default();
    // Which configuration version the batch ran under, for an operator who just pushed one.
    let configuration = flow.built_from().await.unwrap_or_default();
    tracing::info!(flow = flow.name(), %configuration, %summary, "batch done");
    // A rebuild during the batch swaps the client: its requests then count from 0.
    let requests = pvx.map_or(0, |p| {
        let after = p.requests();
        if after >= requests_before {
            after - requests_before
        } else {
            after
        }
    });
    // A Lambda handles one batch at a time, so the client's counter moved for this batch only.
    println!(
        "{}",
        batch_metrics(flow.name(), records.len(), processed.failures(), requests)
    );
    let mut response = SqsBatchResponse::default();
    response.set_failures(failed);
    (processed, response)
}

/// Serves a queue-fed flow until the runtime stops: every invocation is one batch, handled by
/// [`handle`]; `pvx` counts the flow's Peoplevox requests for the metrics.
pub async fn serve<F: BatchFlow>(
    flow: LazyFlow<F>,
    queue: Arc<dyn Queue>,
    audit: Arc<dyn AuditLog>,
    retry: RetryPolicy,
    pvx: Option<PvxMeter>,
) -> Result<(), Error> {
    let flow = Arc::new(flow);
    let retry = Arc::new(retry);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (flow, queue, audit, pvx, retry) = (
            flow.clone(),
            queue.clone(),
            audit.clone(),
            pvx.clone(),
            retry.clone(),
        );
        async move {
            let deadline_ms = deadline_ms(&event);
            let (_, response) = handle(
                flow.as_ref(),
                queue.as_ref(),
                audit.as_ref(),
                &retry,
                event.payload,
                deadline_ms,
                pvx.as_ref(),
            )
            .await;
            Ok::<_, Error>(response)
        }
    }))
    .await
}
