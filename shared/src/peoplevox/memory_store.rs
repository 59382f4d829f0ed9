//! A tiny in-memory [`StateStore`] for this module's unit tests (conditional writes and
//! expiry as the real adapters do them).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::store::{Condition, Item, StateStore, StoreError, now_epoch_s};

/// State held in a mutex-guarded map.
#[derive(Default)]
pub(crate) struct MemoryStore {
    items: Mutex<BTreeMap<(String, String), Item>>,
    /// How long the answer of the next put is held back after its write has landed.
    slow_put: Mutex<Option<Duration>>,
}

impl MemoryStore {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Holds back the answer of the next put by `delay` (its write lands at once), as a store
    /// under load answers late.
    pub(crate) fn answer_next_put_late(&self, delay: Duration) {
        // A poisoned lock still holds a usable value: the setting must not be lost.
        *self.slow_put.lock().unwrap_or_else(|e| e.into_inner()) = Some(delay);
    }

    fn live(item: &Item) -> bool {
        item.expires_at.is_none_or(|at| at > now_epoch_s())
    }
}

#[async_trait]
impl StateStore for MemoryStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let items = self
            .items
            .lock()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(items
            .get(&(pk.to_string(), sk.to_string()))
            .filter(|i| Self::live(i))
            .cloned())
    }

    async fn put(
        &self,
        pk: &str,
        sk: &str,
        data: &str,
        cond: Condition,
        expires_at: Option<i64>,
    ) -> Result<u64, StoreError> {
        // The write, in a block of its own: the map's lock must be gone before any await.
        let version = {
            let mut items = self
                .items
                .lock()
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            let key = (pk.to_string(), sk.to_string());
            let current = items.get(&key).filter(|i| Self::live(i));
            let ok = match cond {
                Condition::Always => true,
                Condition::NotExists => current.is_none(),
                Condition::Version(v) => current.is_some_and(|i| i.version == v),
            };
            if !ok {
                return Err(StoreError::ConditionFailed);
            }
            let version = current.map_or(1, |i| i.version + 1);
            items.insert(
                key,
                Item {
                    data: data.to_string(),
                    version,
                    expires_at,
                },
            );
            version
        };
        let late = self
            .slow_put
            .lock()
            .map_err(|e| StoreError::Backend(e.to_string()))?
            .take();
        if let Some(delay) = late {
            tokio::time::sleep(delay).await;
        }
        Ok(version)
    }

    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        let mut items = self
            .items
            .lock()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        items.remove(&(pk.to_string(), sk.to_string()));
        Ok(())
    }

    async fn query(&self, pk: &str, limit: usize) -> Result<Vec<(String, Item)>, StoreError> {
        let items = self
            .items
            .lock()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(items
            .iter()
            .filter(|((p, _), i)| p == pk && Self::live(i))
            .take(limit)
            .map(|((_, s), i)| (s.clone(), i.clone()))
            .collect())
    }
}
