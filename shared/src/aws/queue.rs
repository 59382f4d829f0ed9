//! [`Queue`] on SQS: logical queue names mapped to queue URLs.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::operation::change_message_visibility::ChangeMessageVisibilityError;
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, ChangeMessageVisibilityBatchRequestEntry,
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};

use crate::store::{
    MAX_RECEIVE_BATCH, Outgoing, Queue, QueueDepth, QueueMessage, StoreError, delay_seconds,
    visibility_seconds,
};

use super::error::sdk_error;

/// Long-poll just long enough to avoid SQS's empty answers from a sampled subset of servers,
/// short enough that an idle local loop stays responsive.
const WAIT_TIME_S: i32 = 1;

/// SQS queues addressed by logical name (e.g. `orders`); the redrive policy lives on the queue.
///
/// SQS limits what the embedded queue accepts: at most 10 attributes per message, no empty
/// attribute values, bodies up to 256 KiB; a message breaking them fails with `Backend`.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    urls: BTreeMap<String, String>,
}

impl SqsQueue {
    /// Queues by logical name → queue URL, using `client`.
    pub fn new(client: Client, queue_urls: BTreeMap<String, String>) -> Self {
        Self {
            client,
            urls: queue_urls,
        }
    }

    /// Queues by logical name → queue URL, with a client built from `config`.
    pub fn from_conf(config: &aws_config::SdkConfig, queue_urls: BTreeMap<String, String>) -> Self {
        Self::new(Client::new(config), queue_urls)
    }

    /// Whether this queue has a URL.
    pub fn knows(&self, queue: &str) -> bool {
        self.urls.contains_key(queue)
    }

    fn url(&self, queue: &str) -> Result<&str, StoreError> {
        self.urls
            .get(queue)
            .map(String::as_str)
            .ok_or_else(|| StoreError::NotFound(format!("queue {queue} (no URL configured)")))
    }
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, StoreError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| StoreError::Backend(format!("message attribute: {e}")))
}

fn to_message(m: &aws_sdk_sqs::types::Message) -> Result<QueueMessage, StoreError> {
    let id = m
        .message_id()
        .ok_or_else(|| StoreError::Corrupt("received message without id".into()))?
        .to_owned();
    let receipt = m
        .receipt_handle()
        .ok_or_else(|| StoreError::Corrupt(format!("message {id} without receipt handle")))?
        .to_owned();
    let receive_count = m
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .ok_or_else(|| {
            StoreError::Corrupt(format!("message {id} without ApproximateReceiveCount"))
        })?;
    let receive_count = receive_count.parse().map_err(|_| {
        StoreError::Corrupt(format!("message {id}: receive count {receive_count:?}"))
    })?;
    // String and Number attributes both carry a string value; binary ones are not ours.
    let attributes = m
        .message_attributes()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.string_value()?.to_owned())))
        .collect();
    Ok(QueueMessage {
        body: m.body().unwrap_or_default().to_owned(),
        id,
        receipt,
        receive_count,
        attributes,
    })
}

/// Whether SQS refused a visibility change because the receipt holds no message in flight: a
/// deleted message or an unknown receipt (`ReceiptHandleIsInvalid`), a message visible again
/// (`MessageNotInflight`, or SQS's unmodelled `InvalidParameterValue` "Message does not exist
/// or is not available for visibility timeout change"). The same codes come back from a single
/// call's error and from a batch call's refused entry.
fn means_not_in_flight(code: Option<&str>, message: Option<&str>) -> bool {
    match code {
        Some(
            "ReceiptHandleIsInvalid"
            | "MessageNotInflight"
            | "AWS.SimpleQueueService.MessageNotInflight",
        ) => true,
        Some("InvalidParameterValue") => {
            message.is_some_and(|m| m.contains("not available for visibility timeout change"))
        }
        _ => false,
    }
}

fn not_in_flight<R>(e: &SdkError<ChangeMessageVisibilityError, R>) -> bool {
    means_not_in_flight(e.code(), e.message())
}

fn entry_not_in_flight(f: &BatchResultErrorEntry) -> bool {
    means_not_in_flight(Some(f.code()), f.message())
}

impl SqsQueue {
    /// One ChangeMessageVisibilityBatch of at most 10 entries, the first at index `first`; the
    /// entries SQS refused, by index.
    async fn release_batch(
        &self,
        queue: &str,
        first: usize,
        releases: &[(String, Duration)],
    ) -> Result<Vec<(usize, StoreError)>, StoreError> {
        let entries = releases
            .iter()
            .enumerate()
            .map(|(i, (receipt, delay))| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id((first + i).to_string())
                    .receipt_handle(receipt)
                    .visibility_timeout(visibility_seconds(*delay))
                    .build()
                    .map_err(|e| StoreError::Backend(format!("sqs release_many: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .change_message_visibility_batch()
            .queue_url(self.url(queue)?)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| sdk_error("sqs release_many", e))?;
        Ok(refused(
            out.failed(),
            first,
            "sqs release_many",
            entry_not_in_flight,
        ))
    }

    /// One DeleteMessageBatch of at most 10 receipts, the first at index `first`; the entries
    /// SQS refused, by index.
    async fn delete_batch(
        &self,
        queue: &str,
        first: usize,
        receipts: &[String],
    ) -> Result<Vec<(usize, StoreError)>, StoreError> {
        let entries = receipts
            .iter()
            .enumerate()
            .map(|(i, receipt)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id((first + i).to_string())
                    .receipt_handle(receipt)
                    .build()
                    .map_err(|e| StoreError::Backend(format!("sqs delete_many: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .delete_message_batch()
            .queue_url(self.url(queue)?)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| sdk_error("sqs delete_many", e))?;
        Ok(refused(out.failed(), first, "sqs delete_many", |_| false))
    }
}

impl SqsQueue {
    /// One SendMessageBatch of at most 10 messages; each one's id or why it was refused.
    async fn send_batch(
        &self,
        queue: &str,
        messages: &[Outgoing<'_>],
    ) -> Vec<Result<String, StoreError>> {
        let entries = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(m.body);
                if !m.delay.is_zero() {
                    entry = entry.delay_seconds(delay_seconds(m.delay));
                }
                for (k, v) in m.attributes {
                    entry = entry.message_attributes(k, string_attribute(v)?);
                }
                entry
                    .build()
                    .map_err(|e| StoreError::Backend(format!("sqs send_many: {e}")))
            })
            .collect::<Result<Vec<_>, _>>();
        let out = match entries {
            Ok(entries) => match self.url(queue) {
                Ok(url) => self
                    .client
                    .send_message_batch()
                    .queue_url(url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| sdk_error("sqs send_many", e)),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let out = match out {
            Ok(out) => out,
            Err(e) => return messages.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut sent: Vec<Result<String, StoreError>> = messages
            .iter()
            .map(|_| {
                Err(StoreError::Backend(
                    "sqs send_many: the answer does not mention this message".into(),
                ))
            })
            .collect();
        for ok in out.successful() {
            if let Some(slot) = ok.id().parse::<usize>().ok().and_then(|i| sent.get_mut(i)) {
                *slot = Ok(ok.message_id().to_string());
            }
        }
        for (i, e) in refused(out.failed(), 0, "sqs send_many", |_| false) {
            if let Some(slot) = sent.get_mut(i) {
                *slot = Err(e);
            }
        }
        sent
    }
}

/// Bytes of one SendMessageBatch at most (bodies and attributes, as SQS counts them): well under
/// its size limit (256 KiB for a whole batch on older queues).
const MAX_SEND_BATCH_BYTES: usize = 200 * 1024;

/// A batch call's refused entries as (index, why); an entry `not_found` says holds no message
/// is `NotFound`, any other refusal `Backend`. Entry ids are the items' indexes.
fn refused(
    failed: &[BatchResultErrorEntry],
    first: usize,
    op: &str,
    not_found: fn(&BatchResultErrorEntry) -> bool,
) -> Vec<(usize, StoreError)> {
    failed
        .iter()
        .map(|f| {
            let index = f.id().parse().unwrap_or(first);
            let why = format!("{op}: {} {}", f.code(), f.message().unwrap_or(""));
            let error = if not_found(f) {
                StoreError::NotFound(why)
            } else {
                StoreError::Backend(why)
            };
            (index, error)
        })
        .collect()
}

/// Calls `call` on each run of at most 10 items (SQS's batch size) with the index of its first
/// item, one run after another, and gathers the refused items by index; every item of a run
/// whose call failed as a whole counts as refused with that error.
async fn in_batches<'a, T, F, Fut>(items: &'a [T], call: F) -> Vec<(usize, StoreError)>
where
    F: Fn(usize, &'a [T]) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<(usize, StoreError)>, StoreError>>,
{
    let mut failed = Vec::new();
    for (chunk_no, chunk) in items.chunks(MAX_RECEIVE_BATCH).enumerate() {
        let first = chunk_no * MAX_RECEIVE_BATCH;
        match call(first, chunk).await {
            Ok(refused) => failed.extend(refused),
            Err(e) => failed.extend((first..first + chunk.len()).map(|i| (i, e.clone()))),
        }
    }
    failed
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send_delayed(
        &self,
        queue: &str,
        body: &str,
        attributes: &BTreeMap<String, String>,
        delay: Duration,
    ) -> Result<String, StoreError> {
        let mut req = self
            .client
            .send_message()
            .queue_url(self.url(queue)?)
            .message_body(body);
        if !delay.is_zero() {
            req = req.delay_seconds(delay_seconds(delay));
        }
        for (k, v) in attributes {
            req = req.message_attributes(k, string_attribute(v)?);
        }
        let out = req.send().await.map_err(|e| sdk_error("sqs send", e))?;
        out.message_id()
            .map(str::to_owned)
            .ok_or_else(|| StoreError::Backend("sqs send: no MessageId in the answer".into()))
    }

    async fn send_many(
        &self,
        queue: &str,
        messages: &[Outgoing<'_>],
    ) -> Vec<Result<String, StoreError>> {
        let mut sent = Vec::with_capacity(messages.len());
        let mut start = 0;
        while start < messages.len() {
            // Up to 10 messages, and only as many as fit the payload limit (at least one).
            let size = |m: &Outgoing<'_>| {
                m.body.len()
                    + m.attributes
                        .iter()
                        .map(|(k, v)| k.len() + v.len() + "String".len())
                        .sum::<usize>()
            };
            let mut end = start + 1;
            let mut bytes = size(&messages[start]);
            while end < messages.len()
                && end - start < MAX_RECEIVE_BATCH
                && bytes + size(&messages[end]) <= MAX_SEND_BATCH_BYTES
            {
                bytes += size(&messages[end]);
                end += 1;
            }
            sent.extend(self.send_batch(queue, &messages[start..end]).await);
            start = end;
        }
        sent
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<QueueMessage>, StoreError> {
        let url = self.url(queue)?;
        let max = max.min(MAX_RECEIVE_BATCH);
        if max == 0 {
            return Ok(Vec::new());
        }
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(i32::try_from(max).unwrap_or(10))
            .visibility_timeout(visibility_seconds(visibility))
            .wait_time_seconds(WAIT_TIME_S)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| sdk_error("sqs receive", e))?;
        out.messages().iter().map(to_message).collect()
    }

    async fn delete(&self, queue: &str, receipt: &str) -> Result<(), StoreError> {
        self.client
            .delete_message()
            .queue_url(self.url(queue)?)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| sdk_error("sqs delete", e))?;
        Ok(())
    }

    async fn delete_many(&self, queue: &str, receipts: &[String]) -> Vec<(usize, StoreError)> {
        in_batches(receipts, |first, chunk| {
            self.delete_batch(queue, first, chunk)
        })
        .await
    }

    async fn release_after(
        &self,
        queue: &str,
        receipt: &str,
        delay: Duration,
    ) -> Result<(), StoreError> {
        let out = self
            .client
            .change_message_visibility()
            .queue_url(self.url(queue)?)
            .receipt_handle(receipt)
            .visibility_timeout(visibility_seconds(delay))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if not_in_flight(&e) => Err(StoreError::NotFound(format!(
                "sqs release: no message in flight on {queue} under this receipt ({})",
                e.message().unwrap_or("refused")
            ))),
            Err(e) => Err(sdk_error("sqs release", e)),
        }
    }

    async fn release_many_after(
        &self,
        queue: &str,
        releases: &[(String, Duration)],
    ) -> Vec<(usize, StoreError)> {
        in_batches(releases, |first, chunk| {
            self.release_batch(queue, first, chunk)
        })
        .await
    }

    async fn depth(&self, queue: &str) -> Result<QueueDepth, StoreError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(self.url(queue)?)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| sdk_error("sqs depth", e))?;
        let count = |name: QueueAttributeName| -> Result<u64, StoreError> {
            let raw = out
                .attributes()
                .and_then(|a| a.get(&name))
                .ok_or_else(|| StoreError::Corrupt(format!("queue {queue}: no {name}")))?;
            raw.parse()
                .map_err(|_| StoreError::Corrupt(format!("queue {queue}: {name} = {raw:?}")))
        };
        Ok(QueueDepth {
            visible: count(QueueAttributeName::ApproximateNumberOfMessages)?,
            // Delayed messages count as in flight, as the embedded queue counts them: both
            // are on their way and not yet receivable.
            in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)?
                + count(QueueAttributeName::ApproximateNumberOfMessagesDelayed)?,
        })
    }
}
