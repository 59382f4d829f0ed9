//! The SQLite file behind the embedded store: opening, pragmas, schema, locking.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::store::{DEFAULT_AUDIT_RETENTION, StoreError};

/// Bumped whenever [`SCHEMA`] changes in a way an existing file cannot take as is.
const SCHEMA_VERSION: i64 = 1;

/// Every table of the embedded store. `IF NOT EXISTS` makes opening an existing file a no-op.
const SCHEMA: &str = r"
CREATE TABLE IF NOT EXISTS state (
    pk         TEXT    NOT NULL,
    sk         TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    expiration INTEGER,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS idempotency (
    id                     TEXT    NOT NULL PRIMARY KEY,
    status                 TEXT    NOT NULL,
    expiration             INTEGER NOT NULL,
    in_progress_expiration INTEGER,
    data                   TEXT,
    validation             TEXT
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS audit (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    entity     TEXT    NOT NULL,
    at_ms      INTEGER NOT NULL,
    entry      TEXT    NOT NULL,
    expiration INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_entity ON audit (entity, at_ms, seq);

CREATE TABLE IF NOT EXISTS queues (
    name              TEXT NOT NULL PRIMARY KEY,
    dead_letter       TEXT,
    max_receive_count INTEGER
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS messages (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    queue         TEXT    NOT NULL,
    id            TEXT    NOT NULL UNIQUE,
    body          TEXT    NOT NULL,
    attributes    TEXT    NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    visible_at_ms INTEGER NOT NULL,
    receipt       TEXT
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (queue, visible_at_ms, seq);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_receipt ON messages (receipt);
";

/// Tunables of the embedded store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedOptions {
    /// How long an audit entry is kept after it happened.
    pub audit_retention: Duration,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self {
            audit_retention: DEFAULT_AUDIT_RETENTION,
        }
    }
}

/// All four ports on one SQLite database; share it as `Arc<EmbeddedStore>` across tasks.
#[derive(Debug)]
pub struct EmbeddedStore {
    // A plain mutex, never held across an await: every operation is one short transaction.
    conn: Mutex<Connection>,
    pub(super) options: EmbeddedOptions,
}

impl EmbeddedStore {
    /// Opens (or creates) the store file at `path`, with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Arc<Self>, StoreError> {
        Self::open_with(path, EmbeddedOptions::default())
    }

    /// Opens (or creates) the store file at `path`.
    pub fn open_with(
        path: impl AsRef<Path>,
        options: EmbeddedOptions,
    ) -> Result<Arc<Self>, StoreError> {
        let path = path.as_ref();
        // A fresh checkout has no `.ctpvx/` yet; a local run should not fail on that.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Backend(format!("create {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path)
            .map_err(|e| StoreError::Backend(format!("open {}: {e}", path.display())))?;
        // WAL keeps readers (an operator CLI on the same file) from blocking the runner;
        // NORMAL sync is durable across process crashes, which is what a local run needs.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(backend)?;
        Self::init(conn, options)
    }

    /// A store that lives in memory only (tests, throwaway runs).
    pub fn in_memory() -> Result<Arc<Self>, StoreError> {
        let conn = Connection::open_in_memory().map_err(backend)?;
        Self::init(conn, EmbeddedOptions::default())
    }

    fn init(conn: Connection, options: EmbeddedOptions) -> Result<Arc<Self>, StoreError> {
        // Another process may hold the write lock for a moment; wait rather than fail.
        conn.busy_timeout(Duration::from_secs(5)).map_err(backend)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(backend)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Corrupt(format!(
                "store file has schema version {version}, this build knows {SCHEMA_VERSION}"
            )));
        }
        conn.execute_batch(SCHEMA).map_err(backend)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(backend)?;
        Ok(Arc::new(Self {
            conn: Mutex::new(conn),
            options,
        }))
    }

    /// Runs `f` in one IMMEDIATE transaction (the write lock is taken up front, so a
    /// read-check-write sequence inside `f` is atomic) and commits it if `f` succeeds.
    pub(super) fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // A poisoned lock means a panic mid-operation; its transaction rolled back on drop,
        // so the connection is still consistent and can be used.
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let out = f(&tx)?;
        tx.commit().map_err(backend)?;
        Ok(out)
    }

    /// Runs a read-only `f` on the connection.
    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }
}

/// Maps a SQLite error: unreadable column values are corrupt data, anything else a backend fault.
pub(super) fn backend(e: rusqlite::Error) -> StoreError {
    use rusqlite::Error as E;
    match e {
        E::FromSqlConversionFailure(..)
        | E::IntegralValueOutOfRange(..)
        | E::InvalidColumnType(..) => StoreError::Corrupt(e.to_string()),
        other => StoreError::Backend(other.to_string()),
    }
}

/// Converts a stored version or count, which SQLite holds as a signed integer.
pub(super) fn to_u64(v: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative {what}: {v}")))
}

/// Converts a version or count for storage.
pub(super) fn to_i64(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Backend(format!("{what} out of range: {v}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopening_a_file_keeps_the_schema_and_version() {
        let path =
            std::env::temp_dir().join(format!("ctpvx-sqlite-{}.sqlite3", uuid::Uuid::new_v4()));
        drop(EmbeddedStore::open(&path).unwrap());
        let store = EmbeddedStore::open(&path).unwrap();
        let (mode, version): (String, i64) = store
            .read(|c| {
                let mode = c
                    .pragma_query_value(None, "journal_mode", |r| r.get(0))
                    .map_err(backend)?;
                let version = c
                    .pragma_query_value(None, "user_version", |r| r.get(0))
                    .map_err(backend)?;
                Ok((mode, version))
            })
            .unwrap();
        assert_eq!(mode.to_lowercase(), "wal");
        assert_eq!(version, SCHEMA_VERSION);
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
