//! [`IdempotencyStore`] on the embedded store: the Powertools protocol in one transaction.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};

use crate::store::{
    IdempotencyRecord, IdempotencyStatus, IdempotencyStore, PutInProgress, StoreError,
};

use super::sqlite::{EmbeddedStore, backend};

const SELECT: &str = "SELECT id, status, expiration, in_progress_expiration, data, validation
                      FROM idempotency WHERE id = ?1";

type RawRecord = (
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
);

fn raw(r: &Row<'_>) -> rusqlite::Result<RawRecord> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn record(
    (id, status, expiration, in_progress_expiration, data, validation): RawRecord,
) -> Result<IdempotencyRecord, StoreError> {
    let status = IdempotencyStatus::parse(&status).ok_or_else(|| {
        StoreError::Corrupt(format!("idempotency {id}: unknown status {status:?}"))
    })?;
    Ok(IdempotencyRecord {
        id,
        status,
        expiration,
        in_progress_expiration,
        data,
        validation,
    })
}

/// The Powertools put condition: `attribute_not_exists(id) OR expiration < now_s OR
/// (status = INPROGRESS AND attribute_exists(in_progress_expiration) AND in_progress_expiration < now_ms)`.
fn may_replace(old: &IdempotencyRecord, now_s: i64, now_ms: i64) -> bool {
    old.expiration < now_s
        || (old.status == IdempotencyStatus::InProgress
            && old.in_progress_expiration.is_some_and(|ipe| ipe < now_ms))
}

#[async_trait]
impl IdempotencyStore for EmbeddedStore {
    async fn put_in_progress(
        &self,
        new: &IdempotencyRecord,
        now_s: i64,
        now_ms: i64,
    ) -> Result<PutInProgress, StoreError> {
        self.write(|tx| {
            let old = tx
                .query_row(SELECT, params![new.id], raw)
                .optional()
                .map_err(backend)?
                .map(record)
                .transpose()?;
            if let Some(old) = &old
                && !may_replace(old, now_s, now_ms)
            {
                return Ok(PutInProgress::Exists(old.clone()));
            }
            // A whole-item replace, as PutItem does: nothing of the old record survives.
            tx.execute(
                "INSERT OR REPLACE INTO idempotency
                     (id, status, expiration, in_progress_expiration, data, validation)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    new.id,
                    new.status.as_str(),
                    new.expiration,
                    new.in_progress_expiration,
                    new.data,
                    new.validation
                ],
            )
            .map_err(backend)?;
            Ok(PutInProgress::Acquired { previous: old })
        })
    }

    async fn save_success(&self, id: &str, data: &str, expiration: i64) -> Result<(), StoreError> {
        // Unconditional upsert of three attributes, like Powertools' UpdateItem
        // `SET data, expiration, status`: other attributes are kept, a missing record is created.
        self.write(|tx| {
            tx.execute(
                "INSERT INTO idempotency (id, status, expiration, data) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET
                     status = excluded.status, expiration = excluded.expiration, data = excluded.data",
                params![id, IdempotencyStatus::Completed.as_str(), expiration, data],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM idempotency WHERE id = ?1", params![id])
                .map_err(backend)?;
            Ok(())
        })
    }

    async fn get(&self, id: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.read(|c| {
            c.query_row(SELECT, params![id], raw)
                .optional()
                .map_err(backend)
        })?
        .map(record)
        .transpose()
    }
}
