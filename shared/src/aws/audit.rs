//! [`AuditLog`] on DynamoDB: one item per entry, keyed by entity and time.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

use crate::store::{
    AuditEntry, AuditLog, DEFAULT_AUDIT_RETENTION, StoreError, audit_expiration, now_epoch_s,
};

use super::attr::{Attrs, get_s, n, s};
use super::error::sdk_error;

/// The audit table: pk `pk` = entity, sk `sk` = zero-padded `at_ms` + `#` + uuid, `entry`
/// (JSON), `expiration` (TTL).
#[derive(Debug, Clone)]
pub struct DynamoAuditLog {
    client: Client,
    table: String,
    retention: Duration,
}

impl DynamoAuditLog {
    /// A log on `table`, using `client`, keeping entries for the default 90 days.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            retention: DEFAULT_AUDIT_RETENTION,
        }
    }

    /// A log on `table`, with a client built from `config`.
    pub fn from_conf(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(config), table)
    }

    /// Keeps entries for `retention` after they happened instead of the default.
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }
}

/// BatchWriteItem writes at most this many items per call.
const BATCH_WRITE_MAX: usize = 25;

/// The sort key: the time first, zero-padded so that string order is time order; the uuid
/// keeps two entries of the same millisecond apart.
fn sort_key(at_ms: i64) -> String {
    format!("{:020}#{}", at_ms.max(0), uuid::Uuid::new_v4())
}

impl DynamoAuditLog {
    /// The item of one entry, under a fresh sort key.
    fn item(&self, entry: &AuditEntry) -> Result<Attrs, StoreError> {
        let json = serde_json::to_string(entry)
            .map_err(|e| StoreError::Backend(format!("audit entry not serialisable: {e}")))?;
        let expiration = audit_expiration(entry.at_ms, self.retention);
        Ok(Attrs::from([
            ("pk".to_owned(), s(&entry.entity)),
            ("sk".to_owned(), s(sort_key(entry.at_ms))),
            ("entry".to_owned(), s(json)),
            ("expiration".to_owned(), n(expiration)),
        ]))
    }

    /// One BatchWriteItem of at most [`BATCH_WRITE_MAX`] items, with the items DynamoDB
    /// leaves unprocessed (throttling) written again after a backoff.
    async fn batch_write(&self, items: Vec<Attrs>) -> Result<(), StoreError> {
        let mut pending = items
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(|e| StoreError::Backend(format!("audit append_many: {e}")))?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut rounds = super::unprocessed::Rounds::new();
        while !pending.is_empty() {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, std::mem::take(&mut pending))
                .send()
                .await
                .map_err(|e| sdk_error("audit append_many", e))?;
            pending = out
                .unprocessed_items()
                .and_then(|u| u.get(&self.table))
                .cloned()
                .unwrap_or_default();
            if !pending.is_empty() {
                rounds.pause("audit append_many", pending.len()).await?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl AuditLog for DynamoAuditLog {
    async fn append_many(&self, entries: &[AuditEntry]) -> Vec<(usize, StoreError)> {
        // BatchWriteItem takes no condition. `append` guards against overwriting only for a
        // uuid clash in the sort key; the batch accepts that (122 random bits) for one round
        // trip per 25 entries instead of one per entry.
        let mut failed = Vec::new();
        for (chunk_no, chunk) in entries.chunks(BATCH_WRITE_MAX).enumerate() {
            let first = chunk_no * BATCH_WRITE_MAX;
            let mut items = Vec::with_capacity(chunk.len());
            let mut indices = Vec::with_capacity(chunk.len());
            for (i, entry) in chunk.iter().enumerate() {
                match self.item(entry) {
                    Ok(item) => {
                        items.push(item);
                        indices.push(first + i);
                    }
                    Err(e) => failed.push((first + i, e)),
                }
            }
            if items.is_empty() {
                continue;
            }
            if let Err(e) = self.batch_write(items).await {
                // Which items of the batch landed is not known: report them all, as a
                // failed `append` would.
                failed.extend(indices.into_iter().map(|i| (i, e.clone())));
            }
        }
        failed.sort_by_key(|(i, _)| *i);
        failed
    }

    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let item = self.item(entry)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // Append-only: never overwrite (a uuid clash is the only way to get here).
            .condition_expression("attribute_not_exists(#sk)")
            .expression_attribute_names("#sk", "sk")
            .send()
            .await
            .map_err(|e| sdk_error("audit append", e))?;
        Ok(())
    }

    async fn list(&self, entity: &str, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.query(entity, limit, true).await
    }

    async fn list_recent(&self, entity: &str, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let mut newest_first = self.query(entity, limit, false).await?;
        newest_first.reverse();
        Ok(newest_first)
    }
}

impl DynamoAuditLog {
    /// At most `limit` live entries of `entity`, oldest first (`forward`) or newest first.
    async fn query(
        &self,
        entity: &str,
        limit: usize,
        forward: bool,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let now = now_epoch_s();
        let mut out = Vec::new();
        let mut start: Option<Attrs> = None;
        while out.len() < limit {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                // An entry appended a moment ago must show, as it does in the embedded store.
                .consistent_read(true)
                .key_condition_expression("#pk = :pk")
                .filter_expression("#exp >= :now")
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_names("#exp", "expiration")
                .expression_attribute_values(":pk", s(entity))
                .expression_attribute_values(":now", n(now))
                .scan_index_forward(forward)
                // Pages of what is still wanted (`list_recent(e, 1)` must not read 1 MB), at
                // least 100: DynamoDB counts items before the expiry filter, and expired
                // entries TTL has not removed yet would otherwise cost a round trip each.
                .limit(i32::try_from((limit - out.len()).max(100)).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("audit list", e))?;
            for item in page.items() {
                let json = get_s(item, "entry")?;
                let entry = serde_json::from_str(&json)
                    .map_err(|e| StoreError::Corrupt(format!("audit entry of {entity}: {e}")))?;
                out.push(entry);
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }
}
