//! OAuth2 client-credentials tokens for the API, cached in memory and shared by concurrent tasks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;

use super::error::{CtError, parse_retry_after};
use super::settings::CtSettings;

/// A bearer token and the generation it belongs to, so that a 401 invalidates only this token
/// and not one that another task has fetched since.
pub(crate) struct Token {
    /// The bearer token; never logged.
    pub(crate) value: SecretString,
    /// Increases with every fetched token.
    pub(crate) generation: u64,
}

struct Cached {
    value: SecretString,
    generation: u64,
    refresh_at: Instant,
    /// The scopes granted with the token, as the auth service listed them.
    scope: Option<String>,
}

/// Fetches tokens from `{auth_url}/oauth/token` and keeps the current one.
pub(crate) struct TokenSource {
    http: reqwest::Client,
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    scopes: Option<String>,
    /// The configured timeout of one request (cut to the invocation's deadline).
    request_timeout: Duration,
    cached: RwLock<Option<Cached>>,
    /// Held while fetching, so that concurrent tasks wait for one refresh instead of each fetching.
    refreshing: Mutex<()>,
    generation: AtomicU64,
    requests: Arc<AtomicU64>,
}

/// The token endpoint's answer (`token_type` is always `Bearer`).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    expires_in: u64,
    /// Space-separated `name:projectKey` scopes granted (what the client may do).
    #[serde(default)]
    scope: Option<String>,
}

/// The longest token validity commercetools grants (7 days).
const MAX_TOKEN_LIFETIME_SECS: u64 = 604_800;

/// How long before expiry a token is replaced: 5 minutes, or 10 % of its lifetime if that is less,
/// so that a request never starts with a token about to lapse.
pub(crate) fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 10).min(Duration::from_secs(300))
}

impl TokenSource {
    /// A token source for these settings; `requests` counts every HTTP request sent.
    pub(crate) fn new(
        http: reqwest::Client,
        settings: &CtSettings,
        requests: Arc<AtomicU64>,
    ) -> Result<Self, CtError> {
        let token_url = Url::parse(&format!(
            "{}/oauth/token",
            settings.auth_url.trim_end_matches('/')
        ))
        .map_err(|e| CtError::Config(format!("auth_url is not a URL: {e}")))?;
        Ok(Self {
            http,
            token_url,
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.clone(),
            scopes: settings.scopes.clone(),
            request_timeout: settings.request_timeout,
            cached: RwLock::new(None),
            refreshing: Mutex::new(()),
            generation: AtomicU64::new(0),
            requests,
        })
    }

    /// The current token, fetching a new one when there is none or it is about to expire.
    /// `attempt` is the caller's attempt number, for the log.
    pub(crate) async fn token(&self, attempt: u64) -> Result<Token, CtError> {
        if let Some(token) = self.fresh().await {
            return Ok(token);
        }
        let _refresh = self.refreshing.lock().await;
        // Another task may have refreshed while this one waited for the lock.
        if let Some(token) = self.fresh().await {
            return Ok(token);
        }
        // The lifetime counts from the request, not the answer: the margin then covers the trip.
        let requested_at = Instant::now();
        let fetched = self.fetch(attempt).await?;
        // Capped at the API's maximum validity, so that a bogus answer cannot overflow the clock.
        let lifetime = Duration::from_secs(fetched.expires_in.min(MAX_TOKEN_LIFETIME_SECS));
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let token = Token {
            value: fetched.access_token.clone(),
            generation,
        };
        *self.cached.write().await = Some(Cached {
            value: fetched.access_token,
            generation,
            refresh_at: requested_at + (lifetime - refresh_margin(lifetime)),
            scope: fetched.scope,
        });
        Ok(token)
    }

    /// The scopes granted to the current token (fetching one if there is none), as the auth
    /// service listed them; `None` when its answer listed none.
    pub(crate) async fn granted_scope(&self) -> Result<Option<String>, CtError> {
        self.token(0).await?;
        Ok(self
            .cached
            .read()
            .await
            .as_ref()
            .and_then(|c| c.scope.clone()))
    }

    /// Drops the token of this generation after the API refused it; a newer one is kept.
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut cached = self.cached.write().await;
        if cached.as_ref().is_some_and(|c| c.generation == generation) {
            *cached = None;
        }
    }

    async fn fresh(&self) -> Option<Token> {
        let cached = self.cached.read().await;
        cached
            .as_ref()
            .filter(|c| Instant::now() < c.refresh_at)
            .map(|c| Token {
                value: c.value.clone(),
                generation: c.generation,
            })
    }

    /// Asks the auth service once; the caller's retry loop covers overload and transport errors
    /// (issuing a token twice is harmless), so that retries do not multiply.
    async fn fetch(&self, attempt: u64) -> Result<TokenResponse, CtError> {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scopes) = self.scopes.as_deref() {
            form.push(("scope", scopes));
        }
        let timeout = crate::deadline::attempt_timeout(self.request_timeout)
            .ok_or(CtError::Deadline { last: None })?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let sent = self
            .http
            .post(self.token_url.clone())
            .timeout(timeout)
            .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
            .form(&form)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(
                    method = "POST",
                    path = "/oauth/token",
                    attempt,
                    error = super::http::transport_kind(&e),
                    "commercetools token request failed"
                );
                return Err(CtError::from_transport(e, false));
            }
        };
        let status = response.status().as_u16();
        let retry_after = parse_retry_after(
            response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        let body = response
            .bytes()
            .await
            .map_err(|e| CtError::from_transport(e, false))?;
        tracing::debug!(
            method = "POST",
            path = "/oauth/token",
            status,
            duration_ms = started.elapsed().as_millis() as u64,
            attempt,
            "commercetools token request"
        );
        if !(200..300).contains(&status) {
            return Err(CtError::from_response(status, retry_after, &body, false));
        }
        serde_json::from_slice(&body).map_err(|e| CtError::decode(&e))
    }
}

impl super::client::CtClient {
    /// The scopes commercetools granted this client's token, space separated, each
    /// `name:projectKey` (e.g. `manage_orders:my-shop view_channels:my-shop`); fetches a token
    /// when there is none. `None` when the token answer lists no scope. What `ctpvx
    /// check-config` compares with the scopes the flows need.
    pub async fn granted_scope(&self) -> Result<Option<String>, CtError> {
        self.http.auth.granted_scope().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_is_five_minutes_for_long_tokens() {
        assert_eq!(
            refresh_margin(Duration::from_secs(172_800)),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn margin_is_a_tenth_for_short_tokens() {
        assert_eq!(
            refresh_margin(Duration::from_secs(600)),
            Duration::from_secs(60)
        );
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }
}
