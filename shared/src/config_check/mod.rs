//! `ctpvx check-config`: a configuration that parses (the file's own validation names the
//! field) can still fail against the live systems. These checks ask them, each on its own
//! line, each independent of the others (a check that cannot run says why, as `skip`):
//!
//! - the secrets are present (never shown);
//! - commercetools: a token, its scopes ([`scopes`] says which and why), and the channels and
//!   custom Types, by `ctpvx setup`'s own dry run;
//! - Peoplevox: Authenticate, the save templates under the tenant's field names (the order
//!   worker's own start-up check), the reports the flows read and their columns, every stock
//!   site in the inventory report — at most [`peoplevox::MAX_REQUESTS`] requests;
//! - the tenant's live WSDL, and what `ctpvx subscribe` will do with it;
//! - with a store, the recorded subscriptions against the configuration.

pub mod columns;
pub mod commercetools;
pub mod peoplevox;
pub mod report;
pub mod scopes;
pub mod session_bypass;
pub mod subscriptions;
pub mod wsdl;

use std::sync::Arc;

use crate::app::{ct_settings, pvx_settings};
use crate::commercetools::CtClient;
use crate::config::{Config, Secrets};
use crate::embedded::EmbeddedStore;
use crate::peoplevox::PvxClient;
use crate::store::StateStore;

pub use report::{Check, CheckReport, Status};
use session_bypass::SessionBypass;

/// What the checks run against.
pub struct CheckInputs<'a> {
    /// The configuration, already parsed and validated.
    pub config: &'a Config,
    /// The secrets, or why they could not be loaded (naming the secret, never a value).
    pub secrets: Result<Secrets, String>,
    /// The deployment's state store: Peoplevox requests count against the budget kept there,
    /// and its subscription records are compared. `None`: a private store, and no
    /// subscription check.
    pub state: Option<Arc<dyn StateStore>>,
}

/// Runs every check. Never fails as a whole: a problem is a `FAIL` line.
pub async fn check_config(inputs: CheckInputs<'_>) -> CheckReport {
    let config = inputs.config;
    let mut report = CheckReport::default();
    report
        .checks
        .push(Check::ok("configuration", summary(config)));
    let secrets = match inputs.secrets {
        Ok(secrets) => {
            report.checks.push(Check::ok(
                "secrets",
                "commercetools client secret, Peoplevox password, webhook and callback tokens present",
            ));
            secrets
        }
        Err(why) => {
            report.checks.push(Check::fail(
                "secrets",
                why,
                "set the CTPVX_* variables, or the keys of the CTPVX_API_SECRET_ARN and CTPVX_WEBHOOK_SECRET_ARN secrets",
            ));
            report.checks.push(Check::skip(
                "commercetools and Peoplevox",
                "no secrets to connect with",
            ));
            return report;
        }
    };
    let ct = CtClient::new(ct_settings(config, &secrets));
    let store = match inputs.state.clone() {
        Some(state) => Ok(state),
        None => EmbeddedStore::in_memory().map(|s| -> Arc<dyn StateStore> { s }),
    };
    let pvx = store.map_err(|e| e.to_string()).and_then(|store| {
        PvxClient::new(
            pvx_settings(config, &secrets),
            Arc::new(SessionBypass(store)),
        )
        .map_err(|e| e.to_string())
    });
    // Independent systems, checked side by side.
    let ct_checks = async {
        match &ct {
            Ok(ct) => commercetools::check(ct, config).await,
            Err(e) => vec![Check::fail(
                "commercetools client",
                e.to_string(),
                "check [commercetools]",
            )],
        }
    };
    let pvx_checks = async {
        match &pvx {
            Ok(pvx) => peoplevox::check(pvx, config).await,
            Err(e) => vec![Check::fail(
                "Peoplevox client",
                e.clone(),
                "check [peoplevox]",
            )],
        }
    };
    let (ct_checks, pvx_checks) = tokio::join!(ct_checks, pvx_checks);
    report.checks.extend(ct_checks);
    report.checks.extend(pvx_checks);
    let service = match &pvx {
        Ok(pvx) => {
            let service = pvx.service_description().await;
            report.checks.extend(wsdl::check(&service, config));
            Some(service)
        }
        Err(_) => None,
    };
    match (&pvx, &inputs.state, &service) {
        (Ok(pvx), Some(state), Some(service)) => report.checks.push(
            subscriptions::check(
                pvx,
                state.as_ref(),
                config,
                &secrets.hooks.pvx_callback_token,
                service,
            )
            .await,
        ),
        _ => report.checks.push(Check::skip(
            "Peoplevox subscriptions",
            "no store given (--store or --aws) to read the records from",
        )),
    }
    report.commercetools_requests = ct.as_ref().map_or(0, CtClient::requests_made);
    report.peoplevox_requests = pvx.as_ref().map_or(0, PvxClient::requests_made);
    report
}

/// What the configuration sets up, in a few words.
fn summary(config: &Config) -> String {
    let s = &config.subscriptions;
    let events: Vec<&str> = [
        (s.shipments, "despatch"),
        (s.status, "status"),
        (s.returns, "returns"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    format!(
        "valid: {} stock site(s) ({} with IncrementalChanges), {} routing rule(s), {} events subscribed, {}",
        config.stock.sites.len(),
        s.incremental_sites.len(),
        config.orders.routing.len(),
        if events.is_empty() {
            "no order".to_string()
        } else {
            events.join(", ")
        },
        if s.post {
            "POST callbacks"
        } else {
            "GET callbacks"
        },
    )
}
