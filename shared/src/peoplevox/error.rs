//! Errors of the Peoplevox client, classified so that a caller knows whether to retry.

use crate::store::StoreError;

/// A failed Peoplevox call.
///
/// Messages never carry passwords, session ids or CSV contents: they end up in logs and
/// dead-letter reasons.
#[derive(Debug, thiserror::Error)]
pub enum PvxError {
    /// The TCP/TLS connection could not be made: the request provably never reached Peoplevox.
    #[error("could not connect to Peoplevox: {0}")]
    Connect(String),
    /// No answer within the request timeout.
    #[error("Peoplevox did not answer within {timeout_ms} ms")]
    Timeout {
        /// The configured request timeout.
        timeout_ms: u64,
    },
    /// The connection broke while the request or the answer was in flight.
    #[error("transport error talking to Peoplevox: {0}")]
    Transport(String),
    /// An HTTP status other than 200 that is not a SOAP fault (HTML error pages, 429, ...).
    #[error("Peoplevox answered HTTP {status}: {summary}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// A short, content-free summary of the body (an HTML title, say).
        summary: String,
    },
    /// The service answered with a SOAP fault (malformed request, server exception).
    #[error("SOAP fault from Peoplevox ({code}): {message}")]
    SoapFault {
        /// `faultcode`, e.g. `soap:Client`.
        code: String,
        /// `faultstring`.
        message: String,
    },
    /// The operation answered `ResponseId` -1 with this `Detail`.
    #[error("Peoplevox {operation} failed: {detail}")]
    Api {
        /// The SOAP operation, e.g. `GetData`.
        operation: &'static str,
        /// The error text Peoplevox gave in `Detail`.
        detail: String,
    },
    /// Authenticate was refused (wrong client id, user name or password).
    #[error("Peoplevox authentication failed: {0}")]
    Auth(String),
    /// The session stayed invalid or expired even after re-authenticating once.
    #[error("Peoplevox session rejected after re-authenticating: {0}")]
    Session(String),
    /// The answer could not be understood (not XML, HTML page, missing elements, bad CSV).
    #[error("could not decode the Peoplevox answer to {operation}: {reason}")]
    Decode {
        /// The SOAP operation.
        operation: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A request could not be built (a value holds a character XML cannot carry, say).
    #[error("could not build the Peoplevox request: {0}")]
    Encode(String),
    /// A write was sent but its answer was lost (timeout, 5xx, broken connection, garbled
    /// answer): Peoplevox may or may not have applied it. Read back before sending it again.
    #[error("outcome of Peoplevox {operation} is unknown (it may have been applied): {cause}")]
    OutcomeUnknown {
        /// The write operation, e.g. `SaveData`.
        operation: &'static str,
        /// What happened to the answer.
        cause: Box<PvxError>,
    },
    /// The shared session or request-budget store failed.
    #[error("Peoplevox client state store failed: {0}")]
    Store(#[from] StoreError),
    /// The client settings are unusable.
    #[error("invalid Peoplevox client settings: {0}")]
    Config(String),
    /// The invocation's time ran out: the request (or its next attempt) was not sent, since
    /// it could not have been answered before the deadline ([`crate::deadline`]). A later
    /// invocation may succeed; the client itself never retries it.
    #[error("the invocation's time ran out before Peoplevox {operation} could be sent{}", after(.last))]
    Deadline {
        /// The operation, e.g. `GetReportData`.
        operation: &'static str,
        /// The failure of the attempt before, when the deadline ended the retries.
        last: Option<String>,
    },
}

fn after(last: &Option<String>) -> String {
    last.as_ref()
        .map(|l| format!(" (the attempt before failed: {l})"))
        .unwrap_or_default()
}

impl PvxError {
    /// Whether sending the same request again later may succeed without risk.
    ///
    /// Transport failures, timeouts, HTTP 5xx and 429 are retryable, and so is a deadline
    /// (in a later invocation: the client never retries it itself). SOAP faults, API errors,
    /// authentication and decode errors are permanent. [`PvxError::OutcomeUnknown`] is *not*
    /// retryable as such: the write may have happened, so the caller must first read back
    /// (see [`PvxError::is_outcome_unknown`]).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Connect(_)
            | Self::Timeout { .. }
            | Self::Transport(_)
            | Self::Deadline { .. } => true,
            Self::Http { status, .. } => *status >= 500 || self.is_rate_limited(),
            // A session that keeps being refused is a server-side hiccup; a later attempt
            // re-authenticates from scratch.
            Self::Session(_) => true,
            Self::Store(e) => e.is_retryable(),
            Self::SoapFault { .. }
            | Self::Api { .. }
            | Self::Auth(_)
            | Self::Decode { .. }
            | Self::Encode(_)
            | Self::OutcomeUnknown { .. }
            | Self::Config(_) => false,
        }
    }

    /// Whether the invocation's time ran out before the request was sent.
    pub fn is_deadline(&self) -> bool {
        matches!(self, Self::Deadline { .. })
    }

    /// Whether this is a write whose outcome is unknown: check before re-sending.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. })
    }

    /// Whether Peoplevox refused the request for the request budget (HTTP 429): someone
    /// else sharing the tenant's budget (another process, the merchant's other integrations)
    /// used it up, so a retry within the same window is refused again.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Self::Http { status: 429, .. })
    }

    /// Whether the request provably never reached Peoplevox, or was refused before any
    /// processing (429), so that even a write may be sent again.
    pub(crate) fn is_unsent(&self) -> bool {
        match self {
            Self::Connect(_) => true,
            Self::Http { .. } => self.is_rate_limited(),
            _ => false,
        }
    }

    /// Turns an ambiguous failure of a write into [`PvxError::OutcomeUnknown`]; failures that
    /// prove nothing was applied (connect errors, refusals, faults) stay as they are.
    pub(crate) fn for_write(self, operation: &'static str) -> Self {
        match self {
            Self::Timeout { .. } | Self::Transport(_) | Self::Decode { .. } => {
                Self::OutcomeUnknown {
                    operation,
                    cause: Box::new(self),
                }
            }
            Self::Http { status, .. } if status >= 500 => Self::OutcomeUnknown {
                operation,
                cause: Box::new(self),
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert!(PvxError::Connect("refused".into()).is_retryable());
        assert!(PvxError::Timeout { timeout_ms: 10 }.is_retryable());
        let http = |status| PvxError::Http {
            status,
            summary: String::new(),
        };
        assert!(http(500).is_retryable());
        assert!(http(503).is_retryable());
        assert!(http(429).is_retryable());
        assert!(!http(400).is_retryable());
        assert!(!http(404).is_retryable());
        let fault = PvxError::SoapFault {
            code: "soap:Client".into(),
            message: "bad".into(),
        };
        assert!(!fault.is_retryable());
        let api = PvxError::Api {
            operation: "GetData",
            detail: "nope".into(),
        };
        assert!(!api.is_retryable());
        let decode = PvxError::Decode {
            operation: "GetData",
            reason: "html".into(),
        };
        assert!(!decode.is_retryable());
        assert!(!PvxError::Auth("wrong".into()).is_retryable());
    }

    #[test]
    fn writes_turn_ambiguous_failures_into_outcome_unknown() {
        let timeout = PvxError::Timeout { timeout_ms: 10 }.for_write("SaveData");
        assert!(timeout.is_outcome_unknown());
        assert!(!timeout.is_retryable());
        let server = PvxError::Http {
            status: 500,
            summary: String::new(),
        }
        .for_write("SaveData");
        assert!(server.is_outcome_unknown());
        let connect = PvxError::Connect("refused".into()).for_write("SaveData");
        assert!(!connect.is_outcome_unknown());
        assert!(connect.is_unsent());
        let fault = PvxError::SoapFault {
            code: "soap:Client".into(),
            message: "bad".into(),
        }
        .for_write("SaveData");
        assert!(!fault.is_outcome_unknown());
    }
}
