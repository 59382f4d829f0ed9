//! A state store that hides the shared Peoplevox session: `check-config` must send
//! Authenticate itself (a cached session would prove nothing about the password), yet share
//! the deployment's request budget, which lives in the same store.

use std::sync::Arc;

use async_trait::async_trait;

use crate::peoplevox::session::SESSION_PK;
use crate::store::{Condition, Item, StateStore, StoreError};

/// Everything but the session item goes to the inner store; the session is never read from
/// it nor written to it, so the deployment's session is left alone.
pub struct SessionBypass(pub Arc<dyn StateStore>);

#[async_trait]
impl StateStore for SessionBypass {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        if pk == SESSION_PK {
            return Ok(None);
        }
        self.0.get(pk, sk).await
    }

    async fn put(
        &self,
        pk: &str,
        sk: &str,
        data: &str,
        cond: Condition,
        expires_at: Option<i64>,
    ) -> Result<u64, StoreError> {
        if pk == SESSION_PK {
            // The client keeps its session in memory as well; that is all the check needs.
            return Ok(1);
        }
        self.0.put(pk, sk, data, cond, expires_at).await
    }

    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        if pk == SESSION_PK {
            return Ok(());
        }
        self.0.delete(pk, sk).await
    }

    async fn query(&self, pk: &str, limit: usize) -> Result<Vec<(String, Item)>, StoreError> {
        if pk == SESSION_PK {
            return Ok(Vec::new());
        }
        self.0.query(pk, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::EmbeddedStore;

    #[tokio::test]
    async fn the_session_is_hidden_and_the_rest_shared() {
        let inner = EmbeddedStore::in_memory().unwrap();
        inner
            .put(
                SESSION_PK,
                "c1",
                "{\"session_id\":\"S\"}",
                Condition::Always,
                None,
            )
            .await
            .unwrap();
        let store = SessionBypass(inner.clone());
        assert_eq!(store.get(SESSION_PK, "c1").await.unwrap(), None);
        store
            .put(SESSION_PK, "c1", "new", Condition::NotExists, None)
            .await
            .unwrap();
        assert_eq!(
            inner.get(SESSION_PK, "c1").await.unwrap().unwrap().data,
            "{\"session_id\":\"S\"}"
        );
        store
            .put("pvx-budget", "c1", "[]", Condition::NotExists, None)
            .await
            .unwrap();
        assert!(inner.get("pvx-budget", "c1").await.unwrap().is_some());
    }
}
