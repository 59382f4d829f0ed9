//! An SQS event source mapping, as Lambda runs it: up to `MaximumConcurrency` pollers each
//! gather a batch (up to `BatchSize`, waiting at most `MaximumBatchingWindowInSeconds` once a
//! first message is in), invoke the function with the SQS event, and then, with
//! `ReportBatchItemFailures`, delete every record the answer does not list; after an error, a
//! kill at the deadline or an answer naming an unknown record, nothing is deleted and the
//! batch comes back after the queue's visibility timeout (moto's redrive policy parks a
//! message received `maxReceiveCount` times). The pollers keep the books of what they
//! received and deleted, by message id, for the soak's accounting.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use ctpvx_shared::aws::aws_sdk_sqs;
use ctpvx_shared::aws::aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName,
};

use super::functions::SqsSource;
use super::instance::Outcome;
use super::intrinsics::REGION;
use super::pool::Pool;

/// SQS hands out at most 10 messages per receive.
const RECEIVE_MAX: usize = 10;
/// How long an empty poller long-polls before looking again.
const LONG_POLL_S: i32 = 1;

/// Received and deleted message ids, per queue URL.
#[derive(Debug, Default)]
pub struct Books {
    received: Mutex<HashMap<String, String>>,
    deleted: Mutex<HashSet<String>>,
}

/// The books of the source queues at a moment.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BooksFigures {
    /// Distinct messages received.
    pub received: usize,
    /// Of those, deleted after the function's answer.
    pub deleted: usize,
    /// Received and never deleted, per queue URL.
    pub unsettled_by_queue: BTreeMap<String, usize>,
    /// Up to 5 of those ids.
    pub unsettled_examples: Vec<String>,
}

impl Books {
    fn received(&self, queue_url: &str, ids: impl Iterator<Item = String>) {
        let mut received = self.received.lock().unwrap_or_else(|e| e.into_inner());
        for id in ids {
            received.insert(id, queue_url.to_string());
        }
    }

    fn deleted(&self, ids: impl Iterator<Item = String>) {
        self.deleted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(ids);
    }

    /// The books now.
    pub fn figures(&self) -> BooksFigures {
        let received = self.received.lock().unwrap_or_else(|e| e.into_inner());
        let deleted = self.deleted.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = BooksFigures {
            received: received.len(),
            ..BooksFigures::default()
        };
        let mut examples = Vec::new();
        for (id, queue) in received.iter() {
            if deleted.contains(id) {
                out.deleted += 1;
            } else {
                *out.unsettled_by_queue.entry(queue.clone()).or_default() += 1;
                examples.push(id.clone());
            }
        }
        examples.sort();
        examples.truncate(5);
        out.unsettled_examples = examples;
        out
    }
}

/// One event source mapping's pollers.
pub struct Mapping {
    /// The queue and the mapping's settings.
    pub source: SqsSource,
    /// The batching window, scaled.
    pub window: Duration,
}

/// Starts the mapping's pollers (MaximumConcurrency, else the function's reserved
/// concurrency, else 2); they stop when `stop` is set.
pub fn start(
    mapping: Mapping,
    pool: Arc<Pool>,
    sqs: aws_sdk_sqs::Client,
    books: Arc<Books>,
    stop: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let pollers = mapping
        .source
        .max_concurrency
        .or(pool.spec.reserved)
        .unwrap_or(2)
        .max(1);
    let mapping = Arc::new(mapping);
    (0..pollers)
        .map(|_| {
            let (mapping, pool, sqs, books, stop) = (
                mapping.clone(),
                pool.clone(),
                sqs.clone(),
                books.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let batch = gather(&mapping, &sqs, &stop).await;
                    if batch.is_empty() {
                        continue;
                    }
                    books.received(
                        &mapping.source.queue_url,
                        batch.iter().filter_map(|m| m.message_id.clone()),
                    );
                    let outcome = pool
                        .invoke(&event(&mapping.source, &batch).to_string())
                        .await;
                    let done = settled(&mapping.source, &batch, &outcome);
                    delete(&sqs, &mapping.source.queue_url, &done, &books).await;
                }
            })
        })
        .collect()
}

/// One batch: up to BatchSize messages, within the batching window of the first.
async fn gather(mapping: &Mapping, sqs: &aws_sdk_sqs::Client, stop: &AtomicBool) -> Vec<Message> {
    let mut batch: Vec<Message> = Vec::new();
    let mut window_end: Option<Instant> = None;
    let size = mapping.source.batch_size.max(1);
    while batch.len() < size && !stop.load(Ordering::Relaxed) {
        let wait = match window_end {
            None => LONG_POLL_S,
            Some(end) if Instant::now() >= end => break,
            Some(_) => 0,
        };
        let received = sqs
            .receive_message()
            .queue_url(&mapping.source.queue_url)
            .max_number_of_messages((size - batch.len()).min(RECEIVE_MAX) as i32)
            .wait_time_seconds(wait)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(queue = %mapping.source.queue_url, error = %e, "receive failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
                Vec::new()
            }
        };
        if messages.is_empty() {
            if window_end.is_some() {
                // A queue with nothing more: wait out the window in short steps.
                tokio::time::sleep(Duration::from_millis(50)).await;
            } else if batch.is_empty() {
                return batch;
            }
        }
        batch.extend(messages);
        if !batch.is_empty() && window_end.is_none() {
            if mapping.window.is_zero() {
                break;
            }
            window_end = Some(Instant::now() + mapping.window);
        }
    }
    batch
}

/// The SQS event Lambda hands the function for `batch`.
fn event(source: &SqsSource, batch: &[Message]) -> Value {
    let records: Vec<Value> = batch
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, Value> = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_string(), Value::from(v.as_str())))
                        .collect()
                })
                .unwrap_or_default();
            let message_attributes: serde_json::Map<String, Value> = m
                .message_attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                json!({
                                    "stringValue": v.string_value(),
                                    "dataType": v.data_type(),
                                    "stringListValues": [],
                                    "binaryListValues": [],
                                }),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body().unwrap_or_default(),
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": m.md5_of_body().unwrap_or_default(),
                "eventSource": "aws:sqs",
                "eventSourceARN": source.queue_arn,
                "awsRegion": REGION,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The receipt handles to delete after `outcome`: with ReportBatchItemFailures every record
/// not listed, without it all of them on success; none after a failure or an answer Lambda
/// would reject (a listed id that is not in the batch fails the whole batch).
fn settled(source: &SqsSource, batch: &[Message], outcome: &Outcome) -> Vec<(String, String)> {
    let Outcome::Response(body) = outcome else {
        return Vec::new();
    };
    let all = || {
        batch
            .iter()
            .filter_map(|m| Some((m.message_id.clone()?, m.receipt_handle.clone()?)))
            .collect::<Vec<_>>()
    };
    if !source.report_failures {
        return all();
    }
    let answer: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let failures: Vec<Option<&str>> = answer["batchItemFailures"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| f["itemIdentifier"].as_str())
        .collect();
    let ids: HashSet<&str> = batch.iter().filter_map(|m| m.message_id()).collect();
    if failures
        .iter()
        .any(|f| !f.is_some_and(|id| ids.contains(id)))
    {
        return Vec::new();
    }
    let failed: HashSet<&str> = failures.into_iter().flatten().collect();
    all()
        .into_iter()
        .filter(|(id, _)| !failed.contains(id.as_str()))
        .collect()
}

/// Deletes the settled records, 10 per call, and notes the ones SQS deleted.
async fn delete(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    done: &[(String, String)],
    books: &Books,
) {
    for chunk in done.chunks(RECEIVE_MAX) {
        let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, (_, receipt))| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(receipt)
                    .build()
                    .ok()
            })
            .collect();
        match sqs
            .delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) => {
                let refused: HashSet<String> =
                    out.failed().iter().map(|f| f.id().to_string()).collect();
                books.deleted(
                    chunk
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !refused.contains(&i.to_string()))
                        .map(|(_, (id, _))| id.clone()),
                );
            }
            Err(e) => tracing::warn!(queue = %queue_url, error = %e, "delete failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str) -> Message {
        Message::builder()
            .message_id(id)
            .receipt_handle(format!("r-{id}"))
            .body("{}")
            .build()
    }

    fn source(report_failures: bool) -> SqsSource {
        SqsSource {
            queue_url: "http://q".into(),
            queue_arn: "arn:q".into(),
            batch_size: 10,
            window: Duration::ZERO,
            report_failures,
            max_concurrency: None,
        }
    }

    #[test]
    fn only_the_records_not_reported_are_deleted() {
        let batch = [message("a"), message("b"), message("c")];
        let answer =
            Outcome::Response(json!({"batchItemFailures": [{"itemIdentifier": "b"}]}).to_string());
        let done: Vec<String> = settled(&source(true), &batch, &answer)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(done, ["a", "c"]);
        // An empty answer: every record succeeded.
        assert_eq!(
            settled(&source(true), &batch, &Outcome::Response("null".into())).len(),
            3
        );
        // An unknown id fails the whole batch; so do errors and kills.
        let unknown =
            Outcome::Response(json!({"batchItemFailures": [{"itemIdentifier": "z"}]}).to_string());
        assert!(settled(&source(true), &batch, &unknown).is_empty());
        assert!(settled(&source(true), &batch, &Outcome::TimedOut).is_empty());
        assert!(settled(&source(false), &batch, &Outcome::Error("x".into())).is_empty());
        assert_eq!(settled(&source(false), &batch, &answer).len(), 3);
    }
}
