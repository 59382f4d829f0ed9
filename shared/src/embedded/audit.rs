//! [`AuditLog`] on the embedded store: append-only entries per entity, expiring after retention.

use async_trait::async_trait;
use rusqlite::params;

use crate::store::{AuditEntry, AuditLog, StoreError, audit_expiration, now_epoch_s};

use super::sqlite::{EmbeddedStore, backend};

#[async_trait]
impl AuditLog for EmbeddedStore {
    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let json = serde_json::to_string(entry)
            .map_err(|e| StoreError::Backend(format!("audit entry not serialisable: {e}")))?;
        let expiration = audit_expiration(entry.at_ms, self.options.audit_retention);
        self.write(|tx| {
            tx.execute(
                "INSERT INTO audit (entity, at_ms, entry, expiration) VALUES (?1, ?2, ?3, ?4)",
                params![entry.entity, entry.at_ms, json, expiration],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    async fn list(&self, entity: &str, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.select(entity, limit, false)
    }

    async fn list_recent(&self, entity: &str, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let mut newest_first = self.select(entity, limit, true)?;
        newest_first.reverse();
        Ok(newest_first)
    }
}

impl EmbeddedStore {
    /// At most `limit` live entries of `entity`, oldest first or (`newest`) newest first.
    fn select(
        &self,
        entity: &str,
        limit: usize,
        newest: bool,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let now = now_epoch_s();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<String> = self.read(|c| {
            let mut stmt = c
                .prepare_cached(if newest {
                    "SELECT entry FROM audit WHERE entity = ?1 AND expiration >= ?2
                     ORDER BY at_ms DESC, seq DESC LIMIT ?3"
                } else {
                    "SELECT entry FROM audit WHERE entity = ?1 AND expiration >= ?2
                     ORDER BY at_ms, seq LIMIT ?3"
                })
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![entity, now, limit], |r| r.get(0))
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })?;
        rows.iter()
            .map(|json| {
                serde_json::from_str(json)
                    .map_err(|e| StoreError::Corrupt(format!("audit entry of {entity}: {e}")))
            })
            .collect()
    }
}
