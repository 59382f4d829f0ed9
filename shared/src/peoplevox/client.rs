//! The Peoplevox integration-service client: typed operations over SOAP, with the shared
//! session, the shared request budget and retries that never repeat a write blindly.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use backon::Retryable;
use secrecy::{ExposeSecret, SecretString};

use super::budget::RequestBudget;
use super::csv_table::CsvTable;
use super::envelope::{self, Credentials, Envelope, Operation, SubscribeFields};
use super::error::PvxError;
use super::response::{self, IntegrationResponse};
use super::session::SessionCache;
use super::settings::PvxSettings;
use super::transport::Transport;
use super::types::{DataPage, ReportQuery, SaveAction, SaveOutcome};
use super::wsdl::ServiceDescription;
use crate::deadline;
use crate::retry::backoff;
use crate::store::StateStore;

/// A client of one Peoplevox tenant. Cheap to clone; clones share the HTTP client, the
/// session and the request counter.
#[derive(Clone, Debug)]
pub struct PvxClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: PvxSettings,
    transport: Transport,
    session: SessionCache,
    /// The tenant's service description, read once per process.
    wsdl: tokio::sync::OnceCell<Arc<ServiceDescription>>,
}

impl PvxClient {
    /// Builds the client; `state` holds the session and the request budget shared by every
    /// process of the deployment.
    pub fn new(settings: PvxSettings, state: Arc<dyn StateStore>) -> Result<Self, PvxError> {
        Self::with_budget_reserve(settings, state, 0)
    }

    /// A client that takes a budget slot only while more than `reserve` are free: for long
    /// background reads that must not starve the live flows (see
    /// [`RequestBudget::with_reserve`]).
    pub fn with_budget_reserve(
        settings: PvxSettings,
        state: Arc<dyn StateStore>,
        reserve: u32,
    ) -> Result<Self, PvxError> {
        reqwest::Url::parse(&settings.endpoint)
            .map_err(|e| PvxError::Config(format!("endpoint is not a URL: {e}")))?;
        if settings.client_id.trim().is_empty() || settings.username.trim().is_empty() {
            return Err(PvxError::Config(
                "client_id and username are required".into(),
            ));
        }
        if settings.max_pages_per_read == 0 {
            return Err(PvxError::Config(
                "max_pages_per_read must be at least 1".into(),
            ));
        }
        if settings.request_timeout.is_zero() {
            return Err(PvxError::Config(
                "request_timeout must be greater than zero".into(),
            ));
        }
        let budget = Arc::new(
            RequestBudget::new(
                state.clone(),
                &settings.client_id,
                settings.budget_requests,
                settings.budget_window,
                settings.request_timeout,
            )?
            .with_reserve(reserve),
        );
        let transport = Transport::new(&settings.endpoint, settings.request_timeout, budget)?;
        let session = SessionCache::new(state, &settings.client_id, settings.session_ttl);
        Ok(Self {
            inner: Arc::new(Inner {
                settings,
                transport,
                session,
                wsdl: tokio::sync::OnceCell::new(),
            }),
        })
    }

    /// HTTP requests this client has sent (Authenticate and every retry included).
    pub fn requests_made(&self) -> u64 {
        self.inner.transport.requests_made()
    }

    /// The tenant's zone, in which report times are written and read.
    pub fn report_zone(&self) -> &super::ReportZone {
        &self.inner.settings.report_zone
    }

    /// Pages one paged read follows before it fails.
    pub fn max_pages_per_read(&self) -> u32 {
        self.inner.settings.max_pages_per_read
    }

    /// The field names of a save template (GetSaveTemplate), in the tenant's order.
    pub async fn get_save_template(&self, template: &str) -> Result<Vec<String>, PvxError> {
        let op = Operation::GetSaveTemplate;
        let started = Instant::now();
        let resp = self
            .call(op, |c| envelope::get_save_template(c, template))
            .await?;
        let resp = ok_or_api(op, resp)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(resp.detail.as_bytes());
        let fields = match reader.records().next() {
            Some(record) => record
                .map_err(|e| decode(op, format!("template header is not CSV: {e}")))?
                .iter()
                .map(|f| f.trim().to_string())
                .collect(),
            None => Vec::new(),
        };
        tracing::info!(
            operation = op.name(),
            template,
            fields = fields.len(),
            elapsed_ms = elapsed_ms(started),
            "Peoplevox save template read"
        );
        Ok(fields)
    }

    /// Imports `table` into `template` (SaveData) and returns the per-record statuses.
    ///
    /// Never retried after the request may have reached Peoplevox: a timeout, a 5xx or a
    /// garbled answer is [`PvxError::OutcomeUnknown`]; read back before sending again. An
    /// empty table sends nothing.
    pub async fn save_data(
        &self,
        template: &str,
        table: &CsvTable,
        action: SaveAction,
    ) -> Result<SaveOutcome, PvxError> {
        let op = Operation::SaveData;
        if table.rows.is_empty() {
            return Ok(SaveOutcome::default());
        }
        if let Some(i) = table
            .rows
            .iter()
            .position(|r| r.len() != table.headers.len())
        {
            return Err(PvxError::Encode(format!(
                "row {i} has a different number of fields than the {} headers",
                table.headers.len()
            )));
        }
        let csv = table.to_csv();
        let started = Instant::now();
        let resp = self
            .call(op, |c| envelope::save_data(c, template, &csv, action))
            .await?;
        let statuses = resp.statuses.clone().unwrap_or_default();
        let outcome = if resp.is_ok() {
            SaveOutcome {
                saved: resp.total_count,
                statuses,
                error_detail: None,
            }
        } else if !statuses.is_empty() {
            // Some records failed: the statuses say which; the rest were saved.
            SaveOutcome {
                saved: resp.total_count,
                statuses,
                error_detail: Some(resp.detail),
            }
        } else {
            return Err(PvxError::Api {
                operation: op.name(),
                detail: resp.detail,
            });
        };
        tracing::info!(
            operation = op.name(),
            template,
            rows = table.rows.len(),
            saved = outcome.saved,
            failed = outcome.statuses.iter().filter(|s| !s.success).count(),
            elapsed_ms = elapsed_ms(started),
            "Peoplevox data saved"
        );
        Ok(outcome)
    }

    /// One page of an integration template (GetData). `page_no` is 1-based;
    /// `items_per_page` 0 means everything; an empty `search_clause` matches every record.
    pub async fn get_data(
        &self,
        template: &str,
        page_no: u32,
        items_per_page: u32,
        search_clause: &str,
    ) -> Result<DataPage, PvxError> {
        let op = Operation::GetData;
        let started = Instant::now();
        let resp = self
            .call(op, |c| {
                envelope::get_data(c, template, page_no, items_per_page, search_clause)
            })
            .await?;
        let page = data_page(op, resp)?;
        tracing::info!(
            operation = op.name(),
            template,
            page_no,
            rows = page.table.rows.len(),
            total = page.total,
            elapsed_ms = elapsed_ms(started),
            "Peoplevox data read"
        );
        Ok(page)
    }

    /// One page of a report (GetReportData).
    pub async fn get_report_data(&self, query: &ReportQuery) -> Result<DataPage, PvxError> {
        let op = Operation::GetReportData;
        let started = Instant::now();
        let resp = self
            .call(op, |c| envelope::get_report_data(c, query))
            .await?;
        let page = data_page(op, resp)?;
        tracing::info!(
            operation = op.name(),
            template = query.template.as_str(),
            page_no = query.page_no,
            rows = page.table.rows.len(),
            total = page.total,
            elapsed_ms = elapsed_ms(started),
            "Peoplevox report read"
        );
        Ok(page)
    }

    /// The tenant's service description, read from `<endpoint>?WSDL` on first use and kept
    /// for the life of the process. Never fails: a WSDL that cannot be fetched or read leaves
    /// the 2017 operations assumed, with the reason in [`ServiceDescription::origin`].
    pub async fn service_description(&self) -> Arc<ServiceDescription> {
        self.inner
            .wsdl
            .get_or_init(|| async {
                // Retried only when refused for the budget: a tenant without a WSDL (or one
                // that fails to serve it) is answered by assuming the 2017 one, not by waiting.
                let fetch = || self.inner.transport.get_wsdl();
                let read = match fetch
                    .retry(backoff(self.inner.settings.max_retries))
                    .when(PvxError::is_rate_limited)
                    .adjust(|e: &PvxError, delay| self.retry_delay(e, delay?))
                    .notify(|e, delay| {
                        tracing::warn!(error = %e, delay_ms = delay.as_millis() as u64, "retrying the Peoplevox WSDL");
                    })
                    .await
                {
                    Ok(xml) => ServiceDescription::parse(&xml),
                    Err(e) => Err(e.to_string()),
                };
                let description = read.unwrap_or_else(|why| {
                    tracing::warn!(reason = %why, "Peoplevox WSDL not read; assuming the 2017 operations");
                    ServiceDescription::assumed_2017(why)
                });
                Arc::new(description)
            })
            .await
            .clone()
    }

    /// Registers a callback with `operation` (SubscribeEvent, SubscribePostEvent or
    /// SubscribeEventWithSitesFilters), its elements in the tenant's WSDL order, and returns
    /// the subscription id. Not retried once sent (a repeat would subscribe twice).
    pub async fn subscribe(
        &self,
        operation: Operation,
        fields: &SubscribeFields<'_>,
    ) -> Result<i64, PvxError> {
        let wsdl = self.service_description().await;
        // A request the WSDL does not describe is sent in the 2017 order, where there is one.
        let assumed = ServiceDescription::assumed_2017("");
        let sequence = wsdl
            .elements(operation.name())
            .or_else(|| assumed.elements(operation.name()))
            .map(<[String]>::to_vec)
            .ok_or_else(|| {
                PvxError::Encode(format!(
                    "the tenant's WSDL has no operation {}",
                    operation.name()
                ))
            })?;
        let resp = self
            .call(operation, |c| {
                envelope::subscribe(c, operation, &sequence, fields)
            })
            .await?;
        subscription_id(operation, resp, fields.event_type)
    }

    /// Registers a GET callback with SubscribeEvent, values raw (no `encodeParameterData`),
    /// and returns the subscription id. Not retried once sent.
    pub async fn subscribe_event(
        &self,
        event_type: &str,
        filter: &str,
        callback_url: &str,
    ) -> Result<i64, PvxError> {
        let fields = SubscribeFields {
            event_type,
            filter,
            url: callback_url,
            post_params: None,
            encode_parameter_data: None,
        };
        self.subscribe(Operation::SubscribeEvent, &fields).await
    }

    /// Registers a POST callback with SubscribePostEvent, values raw, and returns the
    /// subscription id. Not retried once sent.
    pub async fn subscribe_post_event(
        &self,
        event_type: &str,
        filter: &str,
        post_url: &str,
        post_params: &str,
    ) -> Result<i64, PvxError> {
        let fields = SubscribeFields {
            event_type,
            filter,
            url: post_url,
            post_params: Some(post_params),
            encode_parameter_data: None,
        };
        self.subscribe(Operation::SubscribePostEvent, &fields).await
    }

    /// Removes a subscription; `true` when Peoplevox answered `True`.
    pub async fn unsubscribe_event(&self, subscription_id: i64) -> Result<bool, PvxError> {
        let op = Operation::UnsubscribeEvent;
        let resp = self
            .call(op, |c| envelope::unsubscribe_event(c, subscription_id))
            .await?;
        let resp = ok_or_api(op, resp)?;
        let removed = resp.detail.trim().eq_ignore_ascii_case("true");
        tracing::info!(
            operation = op.name(),
            subscription_id,
            removed,
            "Peoplevox unsubscribed"
        );
        Ok(removed)
    }

    /// Opens a session (Authenticate) and returns its id.
    async fn authenticate(&self) -> Result<SecretString, PvxError> {
        let op = Operation::Authenticate;
        let settings = &self.inner.settings;
        let started = Instant::now();
        let env = envelope::authenticate(
            &settings.client_id,
            &settings.username,
            settings.password.expose_secret(),
        )?;
        let body = self.send(&env).await?;
        let resp = response::parse(op, &body)?;
        if !resp.is_ok() {
            return Err(PvxError::Auth(resp.detail));
        }
        // Detail is "<ClientId>,<SessionId>".
        let session = resp
            .detail
            .split_once(',')
            .map(|(_, s)| s.trim())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| decode(op, "Detail is not \"<ClientId>,<SessionId>\"".into()))?;
        tracing::info!(
            operation = op.name(),
            elapsed_ms = elapsed_ms(started),
            "Peoplevox session opened"
        );
        Ok(SecretString::from(session.to_string()))
    }

    /// Runs an operation under the shared session; when Peoplevox refuses the session, opens
    /// a new one once and repeats the call once (the refused call changed nothing).
    async fn call<B>(&self, op: Operation, build: B) -> Result<IntegrationResponse, PvxError>
    where
        B: Fn(Credentials<'_>) -> Result<Envelope, PvxError>,
    {
        let session = self.inner.session.get(|| self.authenticate()).await?;
        let resp = self.call_with(op, &session, &build).await?;
        if !resp.is_session_error() {
            return Ok(resp);
        }
        tracing::warn!(
            operation = op.name(),
            "Peoplevox refused the session, re-authenticating"
        );
        let fresh = self
            .inner
            .session
            .renew(&session, || self.authenticate())
            .await?;
        let resp = self.call_with(op, &fresh, &build).await?;
        if resp.is_session_error() {
            return Err(PvxError::Session(resp.detail));
        }
        Ok(resp)
    }

    async fn call_with<B>(
        &self,
        op: Operation,
        session: &SecretString,
        build: &B,
    ) -> Result<IntegrationResponse, PvxError>
    where
        B: Fn(Credentials<'_>) -> Result<Envelope, PvxError>,
    {
        let env = build(Credentials {
            client_id: &self.inner.settings.client_id,
            session_id: session.expose_secret(),
        })?;
        let body = self.send(&env).await?;
        let parsed = response::parse(op, &body);
        if op.is_write() {
            // A 200 we cannot read may still have been applied.
            parsed.map_err(|e| e.for_write(op.name()))
        } else {
            parsed
        }
    }

    /// The wait before a retry, or none when the retry could not be answered before the
    /// invocation's deadline. After a 429 the backoff is lengthened by a whole budget window:
    /// the budget that refused it (shared with whoever else calls the tenant) frees up only as
    /// the window moves, and the backoff's jitter keeps refused callers from returning at once.
    /// How a tenant answers over its limit is UNCONFIRMED (docs/peoplevox-assumptions.md).
    fn retry_delay(&self, e: &PvxError, delay: Duration) -> Option<Duration> {
        let delay = if e.is_rate_limited() {
            delay + self.inner.settings.budget_window
        } else {
            delay
        };
        deadline::leaves_time_after(delay, self.inner.settings.request_timeout).then_some(delay)
    }

    /// Sends with retries: reads on any retryable failure; writes only when the request
    /// provably was not processed. A retry that could not be answered before the invocation's
    /// deadline is not made: the error is then [`PvxError::Deadline`], naming the failure
    /// before it.
    async fn send(&self, env: &Envelope) -> Result<String, PvxError> {
        let op = env.operation;
        let attempt = || self.inner.transport.post(env);
        let notify = |e: &PvxError, delay: Duration| {
            tracing::warn!(
                operation = op.name(),
                error = %e,
                delay_ms = delay.as_millis() as u64,
                "retrying Peoplevox request"
            );
        };
        let out_of_time = AtomicBool::new(false);
        let in_time = |e: &PvxError, delay: Option<Duration>| {
            let delay = self.retry_delay(e, delay?);
            if delay.is_none() {
                out_of_time.store(true, Ordering::Relaxed);
            }
            delay
        };
        let policy = backoff(self.inner.settings.max_retries);
        let result = if op.is_write() {
            attempt
                .retry(policy)
                .when(PvxError::is_unsent)
                .adjust(in_time)
                .notify(notify)
                .await
                .map_err(|e| e.for_write(op.name()))
        } else {
            attempt
                .retry(policy)
                .when(|e| e.is_retryable() && !e.is_deadline())
                .adjust(in_time)
                .notify(notify)
                .await
        };
        result.map_err(|e| {
            if out_of_time.load(Ordering::Relaxed) {
                PvxError::Deadline {
                    operation: op.name(),
                    last: Some(e.to_string()),
                }
            } else {
                e
            }
        })
    }
}

fn ok_or_api(op: Operation, resp: IntegrationResponse) -> Result<IntegrationResponse, PvxError> {
    if resp.is_ok() {
        Ok(resp)
    } else {
        Err(PvxError::Api {
            operation: op.name(),
            detail: resp.detail,
        })
    }
}

fn data_page(op: Operation, resp: IntegrationResponse) -> Result<DataPage, PvxError> {
    let resp = ok_or_api(op, resp)?;
    let table = CsvTable::parse(&resp.detail).map_err(|e| decode(op, e.to_string()))?;
    Ok(DataPage {
        total: resp.total_count,
        table,
    })
}

fn subscription_id(
    op: Operation,
    resp: IntegrationResponse,
    event_type: &str,
) -> Result<i64, PvxError> {
    let resp = ok_or_api(op, resp)?;
    let id = resp
        .detail
        .trim()
        .parse::<i64>()
        .map_err(|_| decode(op, "Detail is not a subscription id".into()))?;
    tracing::info!(
        operation = op.name(),
        event_type,
        subscription_id = id,
        "Peoplevox subscribed"
    );
    Ok(id)
}

fn decode(op: Operation, reason: String) -> PvxError {
    PvxError::Decode {
        operation: op.name(),
        reason,
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    started.elapsed().as_millis() as u64
}
