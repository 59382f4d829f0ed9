//! One HTTP exchange with the integration service: take a budget slot, POST the envelope,
//! classify what came back. Retries and sessions live in the client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;

use super::budget::{Permit, RequestBudget};
use super::envelope::{self, Envelope};
use super::error::PvxError;
use super::response;
use crate::deadline;
use crate::store::now_epoch_ms;

/// The HTTP side of the client.
#[derive(Debug)]
pub(crate) struct Transport {
    http: reqwest::Client,
    endpoint: String,
    timeout: Duration,
    budget: Arc<RequestBudget>,
}

impl Transport {
    /// One reqwest client (rustls) with the request timeout.
    pub(crate) fn new(
        endpoint: &str,
        timeout: Duration,
        budget: Arc<RequestBudget>,
    ) -> Result<Self, PvxError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| PvxError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            endpoint: endpoint.to_string(),
            timeout,
            budget,
        })
    }

    /// Requests sent so far by this client (each one took a budget slot).
    pub(crate) fn requests_made(&self) -> u64 {
        self.budget.granted()
    }

    /// POSTs the envelope and returns the body of an HTTP 200 answer.
    pub(crate) async fn post(&self, envelope: &Envelope) -> Result<String, PvxError> {
        let (permit, timeout) = self.permit(envelope.operation.name()).await?;
        let started = Instant::now();
        let sent_at_ms = now_epoch_ms();
        let result = self.exchange(envelope, timeout).await;
        if may_still_arrive(&result) {
            // Given up without an answer, the request may still be on its way: its slot
            // frees one window after the last moment it could land, not after the answer.
            self.budget.abandon(permit, sent_at_ms, timeout).await;
        } else {
            self.budget.release(permit).await;
        }
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(_) => tracing::debug!(
                operation = envelope.operation.name(),
                elapsed_ms,
                "Peoplevox HTTP exchange done"
            ),
            Err(e) => tracing::warn!(
                operation = envelope.operation.name(),
                elapsed_ms,
                error = %e,
                "Peoplevox HTTP exchange failed"
            ),
        }
        result
    }

    /// A budget slot and the timeout that keeps the request inside it: the configured one,
    /// shortened when the grant itself was slow and to what the invocation's deadline leaves
    /// ([`crate::deadline`]). A slot with too little time left is handed back (it still counts
    /// as used) and another is taken; no slot is waited for, and no request started, that
    /// could not finish before the deadline: that is [`PvxError::Deadline`].
    async fn permit(&self, operation: &'static str) -> Result<(Permit, Duration), PvxError> {
        let least = deadline::least(self.timeout);
        let until = deadline::current().map(|d| d.requests_end_ms());
        let out_of_time = || PvxError::Deadline {
            operation,
            last: None,
        };
        loop {
            let permit = self
                .budget
                .acquire(until, least)
                .await?
                .ok_or_else(out_of_time)?;
            let left = permit.time_left();
            if left >= least {
                let timeout = deadline::attempt_timeout(self.timeout).map(|t| t.min(left));
                if let Some(timeout) = timeout {
                    return Ok((permit, timeout));
                }
                // Granted, but too late for the deadline: the slot was not used.
                self.budget.release(permit).await;
                return Err(out_of_time());
            }
            tracing::warn!(
                left_ms = left.as_millis() as u64,
                "Peoplevox budget slot granted too late to use; taking another"
            );
            self.budget.release(permit).await;
        }
    }

    /// GETs `<endpoint>?WSDL` (the service description ASMX publishes) under a budget slot
    /// like any request, and returns the body of an HTTP 200 answer.
    pub(crate) async fn get_wsdl(&self) -> Result<String, PvxError> {
        let (permit, timeout) = self.permit("WSDL").await?;
        let sent_at_ms = now_epoch_ms();
        let result = async {
            let response = self
                .http
                .get(format!("{}?WSDL", self.endpoint))
                .timeout(timeout)
                .send()
                .await
                .map_err(|e| classify(e, timeout))?;
            let status = response.status();
            let bytes = response.bytes().await.map_err(|e| classify(e, timeout))?;
            let body = String::from_utf8_lossy(&bytes).into_owned();
            if status.is_success() {
                Ok(body)
            } else {
                Err(PvxError::Http {
                    status: status.as_u16(),
                    summary: response::summarize(&body),
                })
            }
        }
        .await;
        if may_still_arrive(&result) {
            self.budget.abandon(permit, sent_at_ms, timeout).await;
        } else {
            self.budget.release(permit).await;
        }
        result
    }

    async fn exchange(&self, envelope: &Envelope, timeout: Duration) -> Result<String, PvxError> {
        let response = self
            .http
            .post(&self.endpoint)
            .timeout(timeout)
            .header(CONTENT_TYPE, envelope::CONTENT_TYPE)
            .header("SOAPAction", envelope.operation.soap_action())
            .body(envelope.body.clone())
            .send()
            .await
            .map_err(|e| classify(e, timeout))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| classify(e, timeout))?;
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if status.is_success() {
            return Ok(body);
        }
        // ASMX reports faults as HTTP 500 with a SOAP body: that is an answer, not an outage.
        if let Some(fault) = response::parse_fault(&body) {
            return Err(fault);
        }
        Err(PvxError::Http {
            status: status.as_u16(),
            summary: response::summarize(&body),
        })
    }
}

/// True when the client gave up without an answer after the request may have left: it may
/// still reach Peoplevox later.
fn may_still_arrive(result: &Result<String, PvxError>) -> bool {
    matches!(
        result,
        Err(PvxError::Timeout { .. } | PvxError::Transport(_))
    )
}

/// Sorts a reqwest failure into what the client's retry rules need to know.
fn classify(e: reqwest::Error, timeout: Duration) -> PvxError {
    // Connect first: a connect timeout also reports is_timeout, yet nothing was sent.
    if e.is_connect() {
        PvxError::Connect(error_chain(&e))
    } else if e.is_timeout() {
        PvxError::Timeout {
            timeout_ms: timeout.as_millis() as u64,
        }
    } else {
        PvxError::Transport(error_chain(&e))
    }
}

/// The error and its sources on one line; reqwest errors never include the request body.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
