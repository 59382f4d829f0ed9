//! Errors of the commercetools client, mapped from the API's error responses
//! (`{statusCode, message, errors:[{code, message, …}]}`, [R] `types/error/ErrorResponse.raml`).

use std::time::Duration;

use serde::Deserialize;

/// What went wrong talking to commercetools.
///
/// [`CtError::is_retryable`] says whether the same request may be sent again as is;
/// [`CtError::outcome_unknown`] says whether a write may have been applied although it failed, so
/// that the caller must re-read before deciding again.
#[derive(Debug, thiserror::Error)]
pub enum CtError {
    /// 404: the resource does not exist (or is not visible with these scopes).
    #[error("commercetools: not found: {message}")]
    NotFound {
        /// The API's message.
        message: String,
    },
    /// 409: the version sent is not the current one.
    #[error("commercetools: concurrent modification (current version {current_version:?})")]
    ConcurrentModification {
        /// The version the resource has now, when the API says so.
        current_version: Option<i64>,
    },
    /// 400: the request was rejected; `codes` holds every error code (InvalidOperation,
    /// DuplicateField, InvalidField, ReferencedResourceNotFound, …).
    #[error("commercetools rejected the request ({}): {message}", .codes.join(", "))]
    BadRequest {
        /// The error codes, in the order the API gave them.
        codes: Vec<String>,
        /// The API's message.
        message: String,
    },
    /// 401: bad client credentials (`invalid_client`) or a bad token (`invalid_token`).
    #[error("commercetools: unauthorized ({code}): {message}")]
    Unauthorized {
        /// The OAuth error code, e.g. `invalid_client`.
        code: String,
        /// The API's message.
        message: String,
    },
    /// 403: the token lacks a scope (`insufficient_scope`).
    #[error("commercetools: forbidden ({code}): {message}")]
    Forbidden {
        /// The error code, e.g. `insufficient_scope`.
        code: String,
        /// The API's message.
        message: String,
    },
    /// 502, 503 or 504: overloaded or in maintenance; the request was not applied.
    #[error("commercetools unavailable (HTTP {status}): {message}")]
    Unavailable {
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` the server sent, if any.
        retry_after: Option<Duration>,
        /// The API's message.
        message: String,
    },
    /// 500 (or another 5xx): an internal error.
    #[error("commercetools server error (HTTP {status}): {message}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// The API's message.
        message: String,
        /// True for a write: commercetools may have applied it anyway.
        outcome_unknown: bool,
    },
    /// 429: too many requests.
    #[error("commercetools rate limit (retry after {retry_after:?})")]
    RateLimited {
        /// The `Retry-After` the server sent, if any.
        retry_after: Option<Duration>,
    },
    /// The request or the response did not make it (connect error, timeout, broken body).
    #[error("commercetools transport error{}: {message}", if *.timeout { " (timeout)" } else { "" })]
    Transport {
        /// What the HTTP stack said.
        message: String,
        /// True when the request timed out.
        timeout: bool,
        /// True for a write that may have reached the server.
        outcome_unknown: bool,
    },
    /// A success response that does not have the expected shape.
    #[error("commercetools response could not be decoded: {message}")]
    Decode {
        /// What the JSON parser said (quoted values redacted).
        message: String,
    },
    /// Any other status (e.g. 413, 414).
    #[error("commercetools answered HTTP {status} ({}): {message}", .codes.join(", "))]
    Unexpected {
        /// The HTTP status.
        status: u16,
        /// The error codes, if the body had any.
        codes: Vec<String>,
        /// The API's message.
        message: String,
    },
    /// The client could not be built from its settings.
    #[error("commercetools client configuration: {0}")]
    Config(String),
    /// The invocation's time ran out: the request (or its next attempt) was not sent, since it
    /// could not have been answered before the deadline ([`crate::deadline`]). A later
    /// invocation may succeed; the client itself never retries it.
    #[error("the invocation's time ran out before the commercetools request could be sent{}", after(.last))]
    Deadline {
        /// The failure of the attempt before, when the deadline ended the retries.
        last: Option<String>,
    },
}

fn after(last: &Option<String>) -> String {
    last.as_ref()
        .map(|l| format!(" (the attempt before failed: {l})"))
        .unwrap_or_default()
}

impl CtError {
    /// True when sending the very same request again is safe and may succeed: 429, 502, 503, 504,
    /// and 500s and transport errors whose outcome is known (reads, or writes that never left),
    /// and a deadline (in a later invocation: the client never retries it itself).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Unavailable { .. } | Self::Deadline { .. } => true,
            Self::Server {
                outcome_unknown, ..
            }
            | Self::Transport {
                outcome_unknown, ..
            } => !outcome_unknown,
            _ => false,
        }
    }

    /// True when a write failed in a way that does not tell whether it was applied: re-read the
    /// resource before deciding what to send.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            Self::Server {
                outcome_unknown: true,
                ..
            } | Self::Transport {
                outcome_unknown: true,
                ..
            }
        )
    }

    /// True when the invocation's time ran out before the request was sent.
    pub fn is_deadline(&self) -> bool {
        matches!(self, Self::Deadline { .. })
    }

    /// The wait the server asked for, on 429 and 503.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } | Self::Unavailable { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// True when the request was rejected with this error code (e.g. `DuplicateField`).
    pub fn has_code(&self, code: &str) -> bool {
        match self {
            Self::BadRequest { codes, .. } | Self::Unexpected { codes, .. } => {
                codes.iter().any(|c| c == code)
            }
            Self::Unauthorized { code: c, .. } | Self::Forbidden { code: c, .. } => c == code,
            Self::ConcurrentModification { .. } => code == "ConcurrentModification",
            Self::NotFound { .. } => code == "ResourceNotFound",
            _ => false,
        }
    }

    /// Maps an error response. `is_write` marks requests that change data, so that a 500 is
    /// reported as possibly applied.
    pub(crate) fn from_response(
        status: u16,
        retry_after: Option<Duration>,
        body: &[u8],
        is_write: bool,
    ) -> Self {
        let parsed = serde_json::from_slice::<ErrorResponse>(body).ok();
        let (message, errors, oauth_error) = match parsed {
            Some(r) => (
                r.message.unwrap_or_default(),
                r.errors,
                r.error.unwrap_or_default(),
            ),
            // Load balancers answer 502/504 with HTML; its text is of no use and is not kept.
            None => (
                format!("HTTP {status} without a JSON error body"),
                Vec::new(),
                String::new(),
            ),
        };
        let codes: Vec<String> = errors.iter().map(|e| e.code.clone()).collect();
        let first_code = codes.first().cloned().unwrap_or(oauth_error);
        match status {
            400 => Self::BadRequest { codes, message },
            401 => Self::Unauthorized {
                code: first_code,
                message,
            },
            403 => Self::Forbidden {
                code: first_code,
                message,
            },
            404 => Self::NotFound { message },
            409 => Self::ConcurrentModification {
                current_version: errors.iter().find_map(|e| e.current_version),
            },
            429 => Self::RateLimited { retry_after },
            502..=504 => Self::Unavailable {
                status,
                retry_after,
                message,
            },
            500..=599 => Self::Server {
                status,
                message,
                outcome_unknown: is_write,
            },
            _ => Self::Unexpected {
                status,
                codes,
                message,
            },
        }
    }

    /// Maps an error of the HTTP stack. A write that failed to connect never reached the server,
    /// so its outcome is known; any other failure of a write may have happened after the server
    /// applied it.
    pub(crate) fn from_transport(err: reqwest::Error, is_write: bool) -> Self {
        let timeout = err.is_timeout();
        let outcome_unknown = is_write && !err.is_connect();
        // Without the URL: a query predicate may carry customer data.
        let err = err.without_url();
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::Transport {
            message,
            timeout,
            outcome_unknown,
        }
    }

    /// Maps a JSON error of a success body, without the values it quotes.
    pub(crate) fn decode(err: &serde_json::Error) -> Self {
        Self::Decode {
            message: redact_quoted(&err.to_string()),
        }
    }
}

/// Replaces every `"…"` in a parser message: serde quotes the offending value, which may be an
/// email or an address line.
fn redact_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for c in text.chars() {
        if c == '"' {
            if inside {
                out.push_str("…\"");
            } else {
                out.push('"');
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

/// The error body of the API and of the auth service.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorResponse {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorObject>,
    /// The OAuth error code, set by the auth service.
    #[serde(default)]
    error: Option<String>,
}

/// One entry of `errors`; the extra fields depend on the code.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorObject {
    #[serde(default)]
    code: String,
    #[serde(default)]
    current_version: Option<i64>,
}

/// Parses `Retry-After` given in seconds; the HTTP-date form is not used by commercetools.
pub(crate) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_carries_the_current_version() {
        let body = br#"{"statusCode":409,"message":"Object 1 has a different version than expected. Expected: 5 - Actual: 6.","errors":[{"code":"ConcurrentModification","message":"x","currentVersion":6}]}"#;
        let err = CtError::from_response(409, None, body, true);
        assert!(matches!(
            err,
            CtError::ConcurrentModification {
                current_version: Some(6)
            }
        ));
        assert!(!err.is_retryable());
    }

    #[test]
    fn bad_request_keeps_every_code() {
        let body = br#"{"statusCode":400,"message":"m","errors":[{"code":"DuplicateField","field":"key"},{"code":"InvalidField"}]}"#;
        let err = CtError::from_response(400, None, body, true);
        assert!(err.has_code("DuplicateField") && err.has_code("InvalidField"));
    }

    #[test]
    fn auth_errors_take_the_oauth_code() {
        let body = br#"{"statusCode":401,"message":"invalid_token","errors":[{"code":"invalid_token","message":"invalid_token"}],"error":"invalid_token"}"#;
        let err = CtError::from_response(401, None, body, false);
        assert!(err.has_code("invalid_token"));
        let err = CtError::from_response(403, None, br#"{"error":"insufficient_scope"}"#, false);
        assert!(matches!(err, CtError::Forbidden { code, .. } if code == "insufficient_scope"));
    }

    #[test]
    fn a_500_is_retried_only_for_reads() {
        assert!(CtError::from_response(500, None, b"{}", false).is_retryable());
        let write = CtError::from_response(500, None, b"{}", true);
        assert!(!write.is_retryable());
        assert!(write.outcome_unknown());
    }

    #[test]
    fn overload_is_retryable_and_keeps_retry_after() {
        let err = CtError::from_response(503, Some(Duration::from_secs(2)), b"<html>", true);
        assert!(err.is_retryable());
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
        assert!(CtError::from_response(429, None, b"", true).is_retryable());
        assert!(CtError::from_response(502, None, b"", true).is_retryable());
        assert!(CtError::from_response(504, None, b"", true).is_retryable());
        assert!(!CtError::from_response(404, None, b"", false).is_retryable());
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(parse_retry_after(Some(" 3 ")), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(None), None);
    }

    #[test]
    fn decode_errors_do_not_quote_values() {
        let err = serde_json::from_str::<i64>(r#""jane@example.com""#).unwrap_err();
        let text = CtError::decode(&err).to_string();
        assert!(!text.contains("jane"), "{text}");
    }
}
