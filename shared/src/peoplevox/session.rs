//! The Peoplevox session, shared by every Lambda of the deployment: cached in memory and in
//! the state store (pk `pvx-session`, sk = client id), renewed once when Peoplevox reports it
//! invalid or expired.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::error::PvxError;
use crate::store::{Condition, StateStore, StoreError, now_epoch_ms};

/// Partition key of the session item.
pub const SESSION_PK: &str = "pvx-session";

/// The stored form (DynamoDB keeps it encrypted at rest; it is never logged).
#[derive(Serialize, Deserialize)]
struct Stored {
    session_id: String,
    expires_at_ms: i64,
}

#[derive(Clone)]
struct Cached {
    id: SecretString,
    expires_at_ms: i64,
}

/// A session id cache in front of Authenticate.
pub struct SessionCache {
    store: Arc<dyn StateStore>,
    client_id: String,
    ttl_ms: i64,
    // Held across Authenticate so that one process opens at most one session at a time.
    current: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCache")
            .field("client_id", &self.client_id)
            .field("ttl_ms", &self.ttl_ms)
            .finish()
    }
}

impl SessionCache {
    /// A cache for `client_id` whose sessions are reused for `ttl`.
    pub fn new(store: Arc<dyn StateStore>, client_id: &str, ttl: Duration) -> Self {
        Self {
            store,
            client_id: client_id.to_string(),
            ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 4),
            current: Mutex::new(None),
        }
    }

    /// The current session: from memory, else from the store, else a new one from
    /// `authenticate`.
    pub async fn get<F, Fut>(&self, authenticate: F) -> Result<SecretString, PvxError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<SecretString, PvxError>>,
    {
        let mut current = self.current.lock().await;
        if let Some(cached) = current
            .as_ref()
            .filter(|c| c.expires_at_ms > now_epoch_ms())
        {
            return Ok(cached.id.clone());
        }
        let fresh = self.load_or_authenticate(None, authenticate).await?;
        *current = Some(fresh.clone());
        Ok(fresh.id)
    }

    /// A session other than `stale`, which Peoplevox has just refused. Another task or
    /// Lambda may already have replaced it; otherwise `authenticate` opens a new one.
    pub async fn renew<F, Fut>(
        &self,
        stale: &SecretString,
        authenticate: F,
    ) -> Result<SecretString, PvxError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<SecretString, PvxError>>,
    {
        let mut current = self.current.lock().await;
        if let Some(cached) = current.as_ref().filter(|c| {
            c.expires_at_ms > now_epoch_ms() && c.id.expose_secret() != stale.expose_secret()
        }) {
            return Ok(cached.id.clone());
        }
        *current = None;
        let fresh = self
            .load_or_authenticate(Some(stale.expose_secret()), authenticate)
            .await?;
        *current = Some(fresh.clone());
        Ok(fresh.id)
    }

    async fn load_or_authenticate<F, Fut>(
        &self,
        stale: Option<&str>,
        authenticate: F,
    ) -> Result<Cached, PvxError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<SecretString, PvxError>>,
    {
        // A store failure must not stop the integration: fall back to a private session.
        let item = match self.store.get(SESSION_PK, &self.client_id).await {
            Ok(item) => item,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the shared Peoplevox session");
                None
            }
        };
        let now = now_epoch_ms();
        if let Some(item) = &item {
            match serde_json::from_str::<Stored>(&item.data) {
                Ok(stored)
                    if stored.expires_at_ms > now && Some(stored.session_id.as_str()) != stale =>
                {
                    return Ok(Cached {
                        id: SecretString::from(stored.session_id),
                        expires_at_ms: stored.expires_at_ms,
                    });
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "unreadable shared Peoplevox session"),
            }
        }

        let id = authenticate().await?;
        let expires_at_ms = now_epoch_ms() + self.ttl_ms;
        let data = serde_json::to_string(&Stored {
            session_id: id.expose_secret().to_string(),
            expires_at_ms,
        })
        .map_err(|e| PvxError::Store(StoreError::Corrupt(e.to_string())))?;
        let cond = match &item {
            Some(item) => Condition::Version(item.version),
            None => Condition::NotExists,
        };
        match self
            .store
            .put(
                SESSION_PK,
                &self.client_id,
                &data,
                cond,
                Some(expires_at_ms / 1000),
            )
            .await
        {
            Ok(_) => {}
            // Someone else stored a session meanwhile; ours is valid as well, so keep using it
            // here and let the others use theirs.
            Err(StoreError::ConditionFailed) => {
                tracing::debug!("another process renewed the Peoplevox session concurrently");
            }
            Err(e) => tracing::warn!(error = %e, "could not share the Peoplevox session"),
        }
        Ok(Cached { id, expires_at_ms })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::peoplevox::memory_store::MemoryStore;

    fn counting_auth(
        counter: &AtomicU32,
    ) -> impl FnOnce() -> std::future::Ready<Result<SecretString, PvxError>> + '_ {
        move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            std::future::ready(Ok(SecretString::from(format!("S{n}"))))
        }
    }

    #[tokio::test]
    async fn one_session_is_shared_through_the_store() {
        let store: Arc<dyn StateStore> = MemoryStore::new();
        let auths = AtomicU32::new(0);
        let a = SessionCache::new(store.clone(), "acme", Duration::from_secs(60));
        let b = SessionCache::new(store.clone(), "acme", Duration::from_secs(60));
        let s1 = a.get(counting_auth(&auths)).await.unwrap();
        let s2 = b.get(counting_auth(&auths)).await.unwrap();
        let s3 = a.get(counting_auth(&auths)).await.unwrap();
        assert_eq!(auths.load(Ordering::SeqCst), 1);
        assert_eq!(s1.expose_secret(), "S1");
        assert_eq!(s2.expose_secret(), "S1");
        assert_eq!(s3.expose_secret(), "S1");
    }

    #[tokio::test]
    async fn renew_replaces_a_stale_session_once_for_everyone() {
        let store: Arc<dyn StateStore> = MemoryStore::new();
        let auths = AtomicU32::new(0);
        let a = SessionCache::new(store.clone(), "acme", Duration::from_secs(60));
        let b = SessionCache::new(store.clone(), "acme", Duration::from_secs(60));
        let stale = a.get(counting_auth(&auths)).await.unwrap();
        let _ = b.get(counting_auth(&auths)).await.unwrap();
        let fresh_a = a.renew(&stale, counting_auth(&auths)).await.unwrap();
        // b also saw the stale session fail: it picks up a's new one without authenticating.
        let fresh_b = b.renew(&stale, counting_auth(&auths)).await.unwrap();
        assert_eq!(auths.load(Ordering::SeqCst), 2);
        assert_eq!(fresh_a.expose_secret(), "S2");
        assert_eq!(fresh_b.expose_secret(), "S2");
        // A second renewal of the same stale id within a is served from memory.
        let again = a.renew(&stale, counting_auth(&auths)).await.unwrap();
        assert_eq!(again.expose_secret(), "S2");
        assert_eq!(auths.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_expired_ttl_authenticates_again() {
        let store: Arc<dyn StateStore> = MemoryStore::new();
        let auths = AtomicU32::new(0);
        let cache = SessionCache::new(store, "acme", Duration::ZERO);
        cache.get(counting_auth(&auths)).await.unwrap();
        cache.get(counting_auth(&auths)).await.unwrap();
        assert_eq!(auths.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn authentication_errors_propagate_and_nothing_is_cached() {
        let store: Arc<dyn StateStore> = MemoryStore::new();
        let cache = SessionCache::new(store.clone(), "acme", Duration::from_secs(60));
        let err = cache
            .get(|| std::future::ready(Err(PvxError::Auth("wrong password".into()))))
            .await
            .unwrap_err();
        assert!(matches!(err, PvxError::Auth(_)));
        assert!(store.get(SESSION_PK, "acme").await.unwrap().is_none());
    }
}
