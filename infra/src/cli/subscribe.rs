//! `ctpvx subscribe` and `ctpvx unsubscribe`: the Peoplevox event subscriptions of the
//! configuration, applied idempotently ([`ctpvx_shared::subscriptions`]), their ids recorded in
//! the deployment's state store (the store file of `ctpvx serve`, or `--aws`). Prints one line
//! per subscription; the callback token never appears, in the output or in the store.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use ctpvx_shared::app::pvx_settings;
use ctpvx_shared::config::{Config, Secrets};
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::peoplevox::PvxClient;
use ctpvx_shared::peoplevox::wsdl::{ENCODE_PARAMETER_DATA, Origin, ServiceDescription};
use ctpvx_shared::store::StateStore;
use ctpvx_shared::subscriptions::{self, ApplyOptions, SubscriptionReport};

use crate::cli::backend::{Backend, BackendArgs};
use crate::cli::hints::{ConfigArg, secrets_from_env};
use crate::cli::{init_logs, render_report};

/// Arguments of `ctpvx subscribe`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    /// Base URL of the webhook API Peoplevox calls back (the API Gateway stage URL);
    /// overrides subscriptions.public_url.
    #[arg(long)]
    public_url: Option<String>,
    /// Only read the records and report what would be created, replaced or removed.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON instead of one line per subscription.
    #[arg(long)]
    json: bool,
    /// You have checked Peoplevox for the subscriptions reported `unknown` (a subscribe whose
    /// answer was lost) and removed any it holds: forget them, and subscribe anew.
    #[arg(long)]
    forget_unknown: bool,
    /// Subscribe even when the tenant's WSDL cannot be read, assuming the 2017 one (no sites
    /// filter, values raw). Without it such a run changes nothing: a WSDL that failed to load
    /// must not replace subscriptions made from the real one.
    #[arg(long)]
    assume_2017: bool,
    #[command(flatten)]
    backend: BackendArgs,
}

/// Arguments of `ctpvx unsubscribe`.
#[derive(Debug, clap::Args)]
pub struct UnsubscribeArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Only read the records and report what would be removed.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON instead of one line per subscription.
    #[arg(long)]
    json: bool,
    /// Also drop the records of subscribes whose outcome is unknown (after checking Peoplevox).
    #[arg(long)]
    forget_unknown: bool,
    #[command(flatten)]
    backend: BackendArgs,
}

/// Subscribes what the configuration asks for. Exit 0 when every subscription is created,
/// kept, replaced or removed as asked; 1 when one failed or has an unknown outcome.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logs("warn");
    let config = args.config.load()?;
    // Checked before anything is read or sent.
    subscriptions::desired(
        &config,
        args.public_url.as_deref(),
        &ServiceDescription::assumed_2017(""),
    )
    .map_err(anyhow::Error::msg)?;
    let target = if args.dry_run && !args.backend.aws && !args.backend.store.exists() {
        // Nothing recorded yet, and a dry run must not leave a new store file behind.
        Target {
            state: EmbeddedStore::in_memory()?,
            secrets: secrets_from_env()?,
            label: format!("{} (not created yet)", args.backend.store.display()),
        }
    } else {
        Target::open(&args.backend.open(true).await?).await?
    };
    let pvx = target.peoplevox(&config)?;
    // The tenant's live WSDL decides the operations and elements (read once, one request).
    let wsdl = pvx.service_description().await;
    eprintln!("{}", describe(&wsdl));
    if let Origin::Assumed(why) = &wsdl.origin
        && !args.dry_run
        && !args.assume_2017
    {
        anyhow::bail!(
            "the tenant's WSDL could not be read ({why}); nothing was changed. Run again, or pass \
             --assume-2017 to subscribe as the 2017 WSDL describes (one site-less stock \
             subscription, raw values), replacing subscriptions made from the real one"
        );
    }
    let desired = subscriptions::desired(&config, args.public_url.as_deref(), &wsdl)
        .map_err(anyhow::Error::msg)?;
    let options = ApplyOptions {
        dry_run: args.dry_run,
        forget_unknown: args.forget_unknown,
    };
    let token = &target.secrets.hooks.pvx_callback_token;
    let report = subscriptions::apply(&pvx, target.state.as_ref(), &desired, token, options)
        .await
        .with_context(|| format!("reading the subscription records in {}", target.label))?;
    finish(&report, args.json, &target.label)
}

/// Unsubscribes every recorded subscription. Exit codes as `subscribe`.
pub async fn run_unsubscribe(args: UnsubscribeArgs) -> anyhow::Result<ExitCode> {
    init_logs("warn");
    let config = args.config.load()?;
    let target = Target::open(&args.backend.open(false).await?).await?;
    let pvx = target.peoplevox(&config)?;
    let options = ApplyOptions {
        dry_run: args.dry_run,
        forget_unknown: args.forget_unknown,
    };
    let report = subscriptions::unsubscribe_all(&pvx, target.state.as_ref(), options)
        .await
        .with_context(|| format!("reading the subscription records in {}", target.label))?;
    finish(&report, args.json, &target.label)
}

/// Where the records are, and the secrets.
struct Target {
    state: Arc<dyn StateStore>,
    secrets: Secrets,
    label: String,
}

impl Target {
    async fn open(backend: &Backend) -> anyhow::Result<Self> {
        Ok(Self {
            state: backend.stores.state.clone(),
            secrets: backend.secrets().await?,
            label: backend.label.clone(),
        })
    }

    /// The Peoplevox client, sharing the deployment's session and request budget through the
    /// state store.
    fn peoplevox(&self, config: &Config) -> anyhow::Result<PvxClient> {
        Ok(PvxClient::new(
            pvx_settings(config, &self.secrets),
            self.state.clone(),
        )?)
    }
}

/// One line on what the tenant's WSDL offers the subscriptions.
fn describe(wsdl: &ServiceDescription) -> String {
    let origin = match &wsdl.origin {
        Origin::Live => "Peoplevox WSDL read".to_string(),
        Origin::Assumed(why) => format!("Peoplevox WSDL not read ({why}); assuming the 2017 one"),
    };
    format!(
        "{origin}: SubscribeEventWithSitesFilters {}, {ENCODE_PARAMETER_DATA} {}",
        if wsdl.sites_filter_operation().is_some() {
            "offered (site-bound stock subscriptions)"
        } else {
            "absent (one site-less stock subscription, its callbacks re-read at every site)"
        },
        if wsdl.declares("SubscribeEvent", ENCODE_PARAMETER_DATA) {
            "declared"
        } else {
            "not declared (values arrive raw)"
        }
    )
}

fn finish(report: &SubscriptionReport, json: bool, label: &str) -> anyhow::Result<ExitCode> {
    print!("{}", render_report(report, json)?);
    if report.lines.is_empty() {
        eprintln!("nothing to do: no subscription wanted or recorded ({label})");
    }
    Ok(exit_code(report))
}

fn exit_code(report: &SubscriptionReport) -> ExitCode {
    if report.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctpvx_shared::subscriptions::{Action, SubscriptionLine};

    #[test]
    fn lines_and_json_carry_the_same_outcome_and_unknown_fails() {
        let mut report = SubscriptionReport::new(false);
        report.lines.push(SubscriptionLine {
            action: Action::Kept,
            name: "status".into(),
            event_type: "SalesOrderStatusChanges".into(),
            site: None,
            method: "GET".into(),
            url: "https://h.example/webhooks/peoplevox/<token>/status?order={SalesOrderNumber}"
                .into(),
            id: Some(4),
            unsubscribed: Vec::new(),
            note: None,
        });
        assert_eq!(
            render_report(&report, false).unwrap(),
            "kept SalesOrderStatusChanges (id 4): https://h.example/webhooks/peoplevox/<token>/status?order={SalesOrderNumber}\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render_report(&report, true).unwrap()).unwrap();
        assert_eq!(json["lines"][0]["action"], "kept");
        assert_eq!(exit_code(&report), ExitCode::SUCCESS);
        report.lines[0].action = Action::Unknown;
        assert_eq!(exit_code(&report), ExitCode::from(1));
    }
}
