//! The stock ledger: per (site, item), the newest Peoplevox figure applied, when it was
//! obtained, and whether commercetools has been brought in line with it. Writes are
//! conditional on the version read, and a figure never replaces a newer one: that is how a
//! late or reordered event loses.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::message::Key;
use crate::store::{Condition, StateStore, StoreError};

/// State-store partition of ledger rows: `stock#<site>#<item>`.
fn pk(key: &Key) -> String {
    format!("stock#{}#{}", key.site, key.item)
}
const SK: &str = "ledger";

/// A Peoplevox availability figure and when it was true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Figure {
    /// Peoplevox `Available`.
    pub available: i64,
    /// When it was reported (receipt) or read, epoch ms.
    pub at_ms: i64,
    /// `availability` (a callback) or `reread` (read from the report).
    pub source: String,
}

/// One ledger row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerRow {
    /// The newest figure.
    pub figure: Figure,
    /// `figure.at_ms` of the last figure commercetools was brought in line with.
    #[serde(default)]
    pub synced_at_ms: Option<i64>,
    /// The last quantity written per commercetools SKU.
    #[serde(default)]
    pub written: BTreeMap<String, i64>,
}

impl LedgerRow {
    /// Whether commercetools reflects the newest figure.
    pub fn synced(&self) -> bool {
        self.synced_at_ms == Some(self.figure.at_ms)
    }
}

/// A row with the version that guards it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Versioned {
    pub(super) row: LedgerRow,
    pub(super) version: u64,
}

/// The row of a key, if any.
pub(super) async fn load(
    state: &dyn StateStore,
    key: &Key,
) -> Result<Option<Versioned>, StoreError> {
    let item = state.get(&pk(key), SK).await?;
    item.map(|item| versioned(key, item)).transpose()
}

/// The rows of many pairs, in one store call (DynamoDB: one BatchGetItem per 100 pairs).
pub(super) async fn load_all(
    state: Arc<dyn StateStore>,
    keys: Vec<Key>,
) -> Vec<(Key, Result<Option<Versioned>, StoreError>)> {
    let store_keys: Vec<(String, String)> = keys.iter().map(|k| (pk(k), SK.to_owned())).collect();
    match state.get_many(&store_keys).await {
        Ok(items) => keys
            .into_iter()
            .zip(items)
            .map(|(key, item)| {
                let row = item.map(|item| versioned(&key, item)).transpose();
                (key, row)
            })
            .collect(),
        // A failed read fails every pair of the batch, as one failed `load` fails its pair.
        Err(e) => keys.into_iter().map(|key| (key, Err(e.clone()))).collect(),
    }
}

fn versioned(key: &Key, item: crate::store::Item) -> Result<Versioned, StoreError> {
    let row = serde_json::from_str(&item.data)
        .map_err(|e| StoreError::Corrupt(format!("stock ledger {key}: {e}")))?;
    Ok(Versioned {
        row,
        version: item.version,
    })
}

/// The ledger row of an item at a site, for operators and tests.
pub async fn ledger_row(
    state: &dyn StateStore,
    site: &str,
    item: &str,
) -> Result<Option<LedgerRow>, StoreError> {
    let key = Key {
        site: site.into(),
        item: item.into(),
    };
    Ok(load(state, &key).await?.map(|v| v.row))
}

fn condition(current: Option<&Versioned>) -> Condition {
    current.map_or(Condition::NotExists, |v| Condition::Version(v.version))
}

fn encode(row: &LedgerRow) -> Result<String, StoreError> {
    serde_json::to_string(row).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Records `figure` unless the ledger already holds a newer one, and returns the row that is
/// now current (ours, or the newer one another worker wrote).
pub(super) async fn record(
    state: &dyn StateStore,
    key: &Key,
    mut current: Option<Versioned>,
    figure: Figure,
) -> Result<Versioned, StoreError> {
    // A handful of concurrent writers at most; each round trip settles one of them.
    for _ in 0..8 {
        if let Some(v) = &current
            && v.row.figure.at_ms >= figure.at_ms
        {
            return Ok(v.clone());
        }
        let row = LedgerRow {
            figure: figure.clone(),
            synced_at_ms: current.as_ref().and_then(|v| v.row.synced_at_ms),
            written: current
                .as_ref()
                .map(|v| v.row.written.clone())
                .unwrap_or_default(),
        };
        match state
            .put(
                &pk(key),
                SK,
                &encode(&row)?,
                condition(current.as_ref()),
                None,
            )
            .await
        {
            Ok(version) => return Ok(Versioned { row, version }),
            Err(StoreError::ConditionFailed) => current = load(state, key).await?,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Backend(format!(
        "stock ledger {key}: too many concurrent writers"
    )))
}

/// What marking a row synced found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Marked {
    /// The row is marked: nobody touched the pair between our read and our mark, so the
    /// write we made is the last one and reflects the newest figure.
    Synced,
    /// Another worker touched the pair meanwhile (a newer figure, a recheck): our write may
    /// have landed after theirs with older facts, so the pair must be applied again.
    Superseded,
}

/// Marks `current`'s figure as applied to commercetools with these quantities, on condition
/// that the row is still at the version read before the writes.
pub(super) async fn mark_synced(
    state: &dyn StateStore,
    key: &Key,
    current: &Versioned,
    written: &BTreeMap<String, i64>,
) -> Result<Marked, StoreError> {
    let mut row = current.row.clone();
    row.synced_at_ms = Some(row.figure.at_ms);
    row.written
        .extend(written.iter().map(|(k, v)| (k.clone(), *v)));
    match state
        .put(
            &pk(key),
            SK,
            &encode(&row)?,
            Condition::Version(current.version),
            None,
        )
        .await
    {
        Ok(_) => Ok(Marked::Synced),
        Err(StoreError::ConditionFailed) => Ok(Marked::Superseded),
        Err(e) => Err(e),
    }
}
