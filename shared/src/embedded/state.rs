//! [`StateStore`] on the embedded store: versioned items with conditional writes and expiry.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use crate::store::{Condition, Item, StateStore, StoreError, next_version, now_epoch_s};

use super::sqlite::{EmbeddedStore, backend, to_i64, to_u64};

fn item_from_row(data: String, version: i64, expiration: Option<i64>) -> Result<Item, StoreError> {
    Ok(Item {
        data,
        version: to_u64(version, "state version")?,
        expires_at: expiration,
    })
}

#[async_trait]
impl StateStore for EmbeddedStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let now = now_epoch_s();
        // Live: no expiration, or not yet past it (the DynamoDB adapter's `expiration >= :now`).
        let row = self.read(|c| {
            c.query_row(
                "SELECT data, version, expiration FROM state
                 WHERE pk = ?1 AND sk = ?2 AND (expiration IS NULL OR expiration >= ?3)",
                params![pk, sk, now],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(backend)
        })?;
        row.map(|(d, v, e)| item_from_row(d, v, e)).transpose()
    }

    async fn put(
        &self,
        pk: &str,
        sk: &str,
        data: &str,
        cond: Condition,
        expires_at: Option<i64>,
    ) -> Result<u64, StoreError> {
        let now = now_epoch_s();
        self.write(|tx| {
            let current: Option<(i64, Option<i64>)> = tx
                .query_row(
                    "SELECT version, expiration FROM state WHERE pk = ?1 AND sk = ?2",
                    params![pk, sk],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(backend)?;
            // An expired item is treated exactly like a missing one, as the DynamoDB adapter's
            // condition expressions do: its version restarts at 1.
            let live_version = match current {
                Some((v, exp)) if exp.is_none_or(|e| e >= now) => Some(to_u64(v, "state version")?),
                _ => None,
            };
            let holds = match cond {
                Condition::Always => true,
                Condition::NotExists => live_version.is_none(),
                Condition::Version(want) => live_version == Some(want),
            };
            if !holds {
                return Err(StoreError::ConditionFailed);
            }
            let next = next_version(live_version)?;
            tx.execute(
                "INSERT INTO state (pk, sk, data, version, expiration) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (pk, sk) DO UPDATE SET
                     data = excluded.data, version = excluded.version, expiration = excluded.expiration",
                params![pk, sk, data, to_i64(next, "state version")?, expires_at],
            )
            .map_err(backend)?;
            Ok(next)
        })
    }

    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM state WHERE pk = ?1 AND sk = ?2",
                params![pk, sk],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    async fn query(&self, pk: &str, limit: usize) -> Result<Vec<(String, Item)>, StoreError> {
        let now = now_epoch_s();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.read(|c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT sk, data, version, expiration FROM state
                     WHERE pk = ?1 AND (expiration IS NULL OR expiration >= ?2)
                     ORDER BY sk LIMIT ?3",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![pk, now, limit], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                    ))
                })
                .map_err(backend)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend)
        })?;
        rows.into_iter()
            .map(|(sk, d, v, e)| Ok((sk, item_from_row(d, v, e)?)))
            .collect()
    }
}
