//! [`AuditLog`] on DynamoDB: one item per entry, keyed by entity and time.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;

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

/// The sort key: the time first, zero-padded so that string order is time order; the uuid
/// keeps two entries of the same millisecond apart.
fn sort_key(at_ms: i64) -> String {
    format!("{:020}#{}", at_ms.max(0), uuid::Uuid::new_v4())
}

#[async_trait]
impl AuditLog for DynamoAuditLog {
    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let json = serde_json::to_string(entry)
            .map_err(|e| StoreError::Backend(format!("audit entry not serialisable: {e}")))?;
        let expiration = audit_expiration(entry.at_ms, self.retention);
        let item = Attrs::from([
            ("pk".to_owned(), s(&entry.entity)),
            ("sk".to_owned(), s(sort_key(entry.at_ms))),
            ("entry".to_owned(), s(json)),
            ("expiration".to_owned(), n(expiration)),
        ]);
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
                .scan_index_forward(true)
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
