//! Sends one API request: bearer token, retries with backoff, error mapping and request logs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use backon::Retryable;
use reqwest::{Method, Url};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::auth::{Token, TokenSource};
use super::error::{CtError, parse_retry_after};
use super::settings::CtSettings;
use crate::deadline;
use crate::retry::backoff;

/// A `Retry-After` longer than this is not waited for: the error goes back to the caller, whose
/// queue can redeliver later instead of holding a Lambda idle.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The backoff delay, raised to the server's `Retry-After`; `None` (stop) when retries are used up
/// or the server asks for more than [`MAX_RETRY_AFTER`].
pub(crate) fn at_least_retry_after(err: &CtError, delay: Option<Duration>) -> Option<Duration> {
    match err.retry_after() {
        Some(wait) if wait > MAX_RETRY_AFTER => None,
        Some(wait) => delay.map(|d| d.max(wait)),
        None => delay,
    }
}

/// A short name for a transport failure, for logs (reqwest's text carries the URL).
pub(crate) fn transport_kind(err: &reqwest::Error) -> &'static str {
    if err.is_timeout() {
        "timeout"
    } else if err.is_connect() {
        "connect"
    } else {
        "transport"
    }
}

/// The HTTP side of the client, shared by its clones.
pub(crate) struct Http {
    client: reqwest::Client,
    /// Also read by `CtClient::granted_scope`.
    pub(super) auth: TokenSource,
    /// `{api_url}/{project_key}`.
    project_url: Url,
    max_retries: u32,
    /// The configured timeout of one request (cut to the invocation's deadline per attempt).
    request_timeout: Duration,
    requests: Arc<AtomicU64>,
    /// The project this client serves (messages naming another are refused).
    pub(crate) project_key: String,
}

impl Http {
    /// One reqwest client (rustls, request timeout) for the API and the auth service.
    pub(crate) fn new(settings: &CtSettings) -> Result<Self, CtError> {
        let client = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(settings.request_timeout)
            .build()
            .map_err(|e| CtError::Config(format!("HTTP client: {e}")))?;
        let project_url = Url::parse(&format!(
            "{}/{}",
            settings.api_url.trim_end_matches('/'),
            settings.project_key
        ))
        .map_err(|e| CtError::Config(format!("api_url is not a URL: {e}")))?;
        if project_url.cannot_be_a_base() {
            return Err(CtError::Config("api_url cannot be a base URL".into()));
        }
        let requests = Arc::new(AtomicU64::new(0));
        Ok(Self {
            auth: TokenSource::new(client.clone(), settings, requests.clone())?,
            client,
            project_url,
            project_key: settings.project_key.clone(),
            max_retries: settings.max_retries,
            request_timeout: settings.request_timeout,
            requests,
        })
    }

    /// HTTP requests sent so far, token requests and retries included.
    pub(crate) fn requests_made(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// `{api_url}/{project_key}/{segments…}`, each segment percent-encoded.
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.project_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// Sends a request and decodes the JSON answer.
    ///
    /// Reads are retried on 429, 5xx and transport errors; writes (anything but GET) only on 429,
    /// 502, 503, 504 and connect errors, which mean the write was not applied. Each attempt's
    /// timeout is cut to what the invocation's deadline leaves ([`crate::deadline`]); an attempt
    /// or a retry that could not be answered in time is not made: [`CtError::Deadline`].
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<T, CtError> {
        let attempt = AtomicU64::new(0);
        let out_of_time = AtomicBool::new(false);
        let bytes = (|| {
            let n = attempt.fetch_add(1, Ordering::Relaxed) + 1;
            self.attempt(&method, &url, body.as_deref(), n)
        })
        .retry(backoff(self.max_retries))
        .when(|e| e.is_retryable() && !e.is_deadline())
        .adjust(|err, delay| {
            let delay = at_least_retry_after(err, delay)?;
            if deadline::leaves_time_after(delay, self.request_timeout) {
                Some(delay)
            } else {
                out_of_time.store(true, Ordering::Relaxed);
                None
            }
        })
        .notify(|err, delay| {
            tracing::info!(
                method = %method,
                path = url.path(),
                delay_ms = delay.as_millis() as u64,
                error = %err,
                "commercetools request will be retried"
            );
        })
        .await
        .map_err(|e| {
            if out_of_time.load(Ordering::Relaxed) {
                CtError::Deadline {
                    last: Some(e.to_string()),
                }
            } else {
                e
            }
        })?;
        serde_json::from_slice(&bytes).map_err(|e| CtError::decode(&e))
    }

    /// One attempt; a token refused with `invalid_token` (revoked, or expired early) is dropped and
    /// the request sent once more with a new one, which is safe because a 401 applied nothing.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        attempt: u64,
    ) -> Result<Vec<u8>, CtError> {
        let token = self.auth.token(attempt).await?;
        match self.send_once(method, url, body, &token, attempt).await {
            Err(err) if err.has_code("invalid_token") => {
                self.auth.invalidate(token.generation).await;
                let token = self.auth.token(attempt).await?;
                self.send_once(method, url, body, &token, attempt).await
            }
            other => other,
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        token: &Token,
        attempt: u64,
    ) -> Result<Vec<u8>, CtError> {
        let is_write = *method != Method::GET;
        let timeout = deadline::attempt_timeout(self.request_timeout)
            .ok_or(CtError::Deadline { last: None })?;
        let mut request = self
            .client
            .request(method.clone(), url.clone())
            .timeout(timeout)
            .bearer_auth(token.value.expose_secret());
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(
                    method = %method,
                    path = url.path(),
                    duration_ms = started.elapsed().as_millis() as u64,
                    attempt,
                    error = transport_kind(&e),
                    "commercetools request failed"
                );
                return Err(CtError::from_transport(e, is_write));
            }
        };
        let status = response.status().as_u16();
        let retry_after = parse_retry_after(
            response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        let bytes = response
            .bytes()
            .await
            .map_err(|e| CtError::from_transport(e, is_write))?;
        tracing::debug!(
            method = %method,
            path = url.path(),
            status,
            duration_ms = started.elapsed().as_millis() as u64,
            attempt,
            "commercetools request"
        );
        if (200..300).contains(&status) {
            Ok(bytes.to_vec())
        } else {
            Err(CtError::from_response(
                status,
                retry_after,
                &bytes,
                is_write,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_raises_the_backoff() {
        let limited = CtError::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
        };
        assert_eq!(
            at_least_retry_after(&limited, Some(Duration::from_millis(100))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(at_least_retry_after(&limited, None), None);
        let too_long = CtError::RateLimited {
            retry_after: Some(Duration::from_secs(3600)),
        };
        assert_eq!(
            at_least_retry_after(&too_long, Some(Duration::from_secs(1))),
            None
        );
    }

    #[test]
    fn segments_are_percent_encoded() {
        let settings = CtSettings {
            auth_url: "http://auth.test".into(),
            api_url: "http://api.test/".into(),
            project_key: "proj".into(),
            client_id: "id".into(),
            client_secret: "secret".into(),
            scopes: None,
            request_timeout: Duration::from_secs(1),
            max_retries: 0,
        };
        let http = Http::new(&settings).unwrap();
        let url = http.url(&["orders", "order-number=A/1 #2"], &[]);
        assert_eq!(
            url.as_str(),
            "http://api.test/proj/orders/order-number=A%2F1%20%232"
        );
        let url = http.url(&["orders"], &[("where", r#"id > "x""#)]);
        assert_eq!(url.query(), Some("where=id+%3E+%22x%22"));
    }
}
