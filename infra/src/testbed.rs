//! Both simulators on loopback, a configuration pointing at them, and the secrets they accept:
//! the test bed of the demo, the benchmarks and the end-to-end tests.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use ctpvx_shared::commercetools::CtClient;
use ctpvx_shared::commercetools::types::ChannelRole;
use ctpvx_shared::config::{Config, Secrets, SubscriptionRules};
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::peoplevox::PvxClient;
use ctpvx_shared::store::StateStore;
use ctpvx_shared::subscriptions::{self, ApplyOptions, SubscriptionReport};

use crate::sim::commercetools::{CtSim, CtSimConfig};
use crate::sim::peoplevox::{
    DESPATCH_PACKAGE_TEMPLATE_FIELDS, DESPATCH_PACKAGES, Dialect, PvxSim, PvxSimConfig,
};

/// Webhook token of the test bed (long enough for the production check).
pub const DEMO_WEBHOOK_TOKEN: &str = "demo-webhook-token-0123456789-abcdefghijklmnop";
/// Peoplevox callback token of the test bed (a URL path segment).
pub const DEMO_CALLBACK_TOKEN: &str = "demo-pvx-callback-token-0123456789-abcdefghij";
/// Key of the OrderExport channel the test bed creates.
pub const EXPORT_CHANNEL: &str = "peoplevox-export";
/// Supply channel id of the UK warehouse in generated orders.
pub const UK_CHANNEL: &str = "ch-uk-dc";
/// Peoplevox sites of the test bed and the keys of their InventorySupply channels.
pub const STOCK_SITES: [(&str, &str); 3] = [
    ("UK-DC", "pvx-uk-dc"),
    ("EU-DC", "pvx-eu-dc"),
    ("PrimarySite", "pvx-primary"),
];

/// How to set the test bed up.
#[derive(Debug, Clone)]
pub struct TestbedOptions {
    /// Peoplevox budget: requests ...
    pub budget_requests: u32,
    /// ... per window (both the simulator's enforcement and the client's limiter).
    pub budget_window: Duration,
    /// Item codes Peoplevox knows from the start.
    pub items: Vec<String>,
    /// `stock.safety_buffer`.
    pub safety_buffer: u32,
    /// `stock.confirm_after_s` (0: no confirming re-reads).
    pub confirm_after_s: u64,
    /// How the simulated Peoplevox tenant answers where the evidence is thin.
    pub dialect: Dialect,
    /// Peoplevox sites and the keys of their InventorySupply channels; the last one is
    /// `orders.default_site` and the IncrementalChanges site.
    pub sites: Vec<(&'static str, &'static str)>,
    /// `subscriptions.public_url`, when the webhook server's address is known in advance.
    pub public_url: Option<String>,
    /// Create the custom Types in commercetools as `ctpvx setup` would (off: left to the
    /// user's own `ctpvx setup`, as in `ctpvx sim`).
    pub setup_commercetools: bool,
}

impl Default for TestbedOptions {
    fn default() -> Self {
        Self {
            budget_requests: 15,
            budget_window: Duration::from_secs(15),
            items: Vec::new(),
            safety_buffer: 0,
            confirm_after_s: 0,
            dialect: Dialect::default(),
            sites: STOCK_SITES.to_vec(),
            public_url: None,
            setup_commercetools: true,
        }
    }
}

/// The running simulators and a matching configuration.
pub struct Testbed {
    /// commercetools simulator.
    pub ct: CtSim,
    /// Peoplevox simulator.
    pub pvx: PvxSim,
    /// Configuration pointing at both.
    pub config: Config,
    /// The same configuration as TOML text (for a `ctpvx` process of its own).
    pub config_text: String,
    /// Secrets both accept.
    pub secrets: Secrets,
    /// Id of the OrderExport channel ([`EXPORT_CHANNEL`]).
    pub export_channel_id: String,
    /// Peoplevox site → id of its InventorySupply channel ([`STOCK_SITES`]).
    pub site_channels: BTreeMap<String, String>,
}

impl Testbed {
    /// Starts both simulators and builds the configuration.
    pub async fn start(options: TestbedOptions) -> anyhow::Result<Self> {
        let ct = CtSim::start(CtSimConfig::default())
            .await
            .context("starting the commercetools simulator")?;
        let pvx_config = PvxSimConfig {
            budget_requests: options.budget_requests,
            budget_window: options.budget_window,
            dialect: options.dialect.clone(),
            ..PvxSimConfig::default()
        };
        let pvx = PvxSim::start(pvx_config)
            .await
            .context("starting the Peoplevox simulator")?;
        for item in &options.items {
            pvx.add_item_type(item);
        }
        let export_channel_id = ct
            .ensure_channel(EXPORT_CHANNEL, &[ChannelRole::OrderExport])?
            .id;
        let mut site_channels = BTreeMap::new();
        for &(site, key) in &options.sites {
            let channel = ct.ensure_channel(key, &[ChannelRole::InventorySupply])?;
            site_channels.insert(site.to_string(), channel.id);
        }
        // The merchant's orders carry their own Type; ctpvx's order fields are added to it.
        ct.create_type_with_id(
            crate::scenario::merchant_order_type(),
            crate::scenario::MERCHANT_ORDER_TYPE_ID,
        )?;
        let config_text = config_toml(&ct, &pvx, &options);
        let config = Config::from_toml(&config_text)?;
        // What `ctpvx setup` creates in a real project (custom types for deliveries and
        // orders), created the same way.
        if options.setup_commercetools {
            let client = CtClient::new(ct.settings())?;
            ctpvx_shared::setup::apply(&client, &config, false)
                .await
                .context("setting up the commercetools simulator")?;
        }
        let secrets = Secrets::from_map(
            &secret_values(&ct, &pvx)
                .into_iter()
                .map(|(k, v)| (k.to_string(), secrecy::SecretString::from(v)))
                .collect(),
        )?;
        Ok(Self {
            ct,
            pvx,
            config,
            config_text,
            secrets,
            export_channel_id,
            site_channels,
        })
    }
}

impl Testbed {
    /// Scenario order `i` of 1 to 3 lines from `catalog`, each line supplied from the channel
    /// of its store's site (`uk` → UK-DC, `eu` → EU-DC), as routing expects.
    pub fn order(&self, i: usize, catalog: &[String]) -> serde_json::Value {
        let channel = |store: &str| {
            let site = if store == "uk" { "UK-DC" } else { "EU-DC" };
            self.site_channels.get(site).cloned().unwrap_or_default()
        };
        crate::scenario::order_from(i, 1 + i % 3, catalog, channel)
    }

    /// The secrets both simulators accept, by their key in the deployment's secrets
    /// (`ct_client_secret`, `pvx_password`, `webhook_token`, `pvx_callback_token`).
    pub fn secret_values(&self) -> [(&'static str, String); 4] {
        secret_values(&self.ct, &self.pvx)
    }

    /// [`Testbed::secret_values`] as a map, as a stack's secrets are given.
    pub fn secret_map(&self) -> BTreeMap<String, String> {
        self.secret_values()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    /// The secrets as the environment variables a `ctpvx` process reads.
    pub fn secret_env(&self) -> Vec<(&'static str, String)> {
        use ctpvx_shared::config::{
            ENV_CT_CLIENT_SECRET, ENV_PVX_CALLBACK_TOKEN, ENV_PVX_PASSWORD, ENV_WEBHOOK_TOKEN,
        };
        vec![
            (ENV_CT_CLIENT_SECRET, self.ct.config().client_secret.clone()),
            (ENV_PVX_PASSWORD, self.pvx.config().password.clone()),
            (ENV_WEBHOOK_TOKEN, DEMO_WEBHOOK_TOKEN.to_string()),
            (ENV_PVX_CALLBACK_TOKEN, DEMO_CALLBACK_TOKEN.to_string()),
        ]
    }

    /// Subscribes what the test bed's configuration asks for, with `ctpvx subscribe`'s code:
    /// AvailabilityChanges at every site, IncrementalChanges at `PrimarySite`, the despatch,
    /// status and returns events, calling back to `public_url` (the local webhook server) and
    /// recorded in `state`. Fails unless every subscription was made.
    pub async fn subscribe(
        &self,
        pvx: &PvxClient,
        state: &dyn StateStore,
        public_url: &str,
    ) -> anyhow::Result<SubscriptionReport> {
        // As `ctpvx subscribe` does: the tenant's live WSDL decides the operations.
        let wsdl = pvx.service_description().await;
        let desired = subscriptions::desired(&self.config, Some(public_url), &wsdl)
            .map_err(anyhow::Error::msg)?;
        let token = &self.secrets.hooks.pvx_callback_token;
        let report =
            subscriptions::apply(pvx, state, &desired, token, ApplyOptions::default()).await?;
        if !report.succeeded() {
            bail!("subscribing failed:\n{report}");
        }
        Ok(report)
    }
}

/// Subscribes what `rules` ask for at `sites`, calling back to `base` with `token`, through
/// `ctpvx subscribe`'s code with records in a store of its own (so that each call adds its
/// subscriptions and removes none); returns the ids.
pub async fn subscribe_rules(
    pvx: &PvxClient,
    base: &str,
    token: &str,
    rules: &SubscriptionRules,
    sites: &[String],
) -> anyhow::Result<Vec<i64>> {
    ctpvx_shared::config::check_public_url(base).map_err(anyhow::Error::msg)?;
    let wsdl = pvx.service_description().await;
    let desired = subscriptions::desired_from(rules, sites, base, &wsdl);
    let records = EmbeddedStore::in_memory()?;
    let token = secrecy::SecretString::from(token.to_string());
    let report = subscriptions::apply(
        pvx,
        records.as_ref(),
        &desired,
        &token,
        ApplyOptions::default(),
    )
    .await?;
    if !report.succeeded() {
        bail!("subscribing failed:\n{report}");
    }
    Ok(report.ids())
}

/// Subscription rules with every event switched off, to switch on one family.
pub fn no_subscriptions() -> SubscriptionRules {
    SubscriptionRules {
        shipments: false,
        status: false,
        returns: false,
        ..SubscriptionRules::default()
    }
}

fn secret_values(ct: &CtSim, pvx: &PvxSim) -> [(&'static str, String); 4] {
    [
        ("ct_client_secret", ct.config().client_secret.clone()),
        ("pvx_password", pvx.config().password.clone()),
        ("webhook_token", DEMO_WEBHOOK_TOKEN.to_string()),
        ("pvx_callback_token", DEMO_CALLBACK_TOKEN.to_string()),
    ]
}

fn config_toml(ct: &CtSim, pvx: &PvxSim, options: &TestbedOptions) -> String {
    format!(
        r#"
[commercetools]
auth_url = "{auth}"
api_url = "{api}"
project_key = "{project}"
client_id = "{client}"
order_export_channel = "{EXPORT_CHANNEL}"
timeout_ms = 5000
max_retries = 4

[peoplevox]
endpoint = "{endpoint}"
client_id = "{pvx_client}"
username = "{pvx_user}"
timeout_ms = 5000
max_retries = 4
budget_requests = {budget}
budget_window_ms = {window}
# The tenant's zone: the simulated tenant's report times are its dialect's wall clock.
time_zone = "{zone}"

{packages}
[orders]
default_site = "{default_site}"
default_service_type = "STANDARD"

[[orders.routing]]
store = "uk"
site = "UK-DC"

[[orders.routing]]
store = "eu"
site = "EU-DC"

[orders.shipping_methods]
"Next Day" = "NEXTDAY"
"Standard" = "STANDARD"

[orders.units_of_measure."SOCK-3PK"]
item_code = "SOCK"
factor = 3

[orders.custom_fields]
giftMessage = "Notes"

[status]
order_type = "{order_type}"

[stock]
safety_buffer = {buffer}
confirm_after_s = {confirm}
{sites}
[subscriptions]
incremental_sites = ["{default_site}"]
{public_url}"#,
        auth = ct.auth_url(),
        api = ct.api_url(),
        project = ct.config().project_key,
        client = ct.config().client_id,
        endpoint = pvx.endpoint(),
        pvx_client = pvx.config().client_id,
        pvx_user = pvx.config().username,
        budget = options.budget_requests,
        window = options.budget_window.as_millis(),
        buffer = options.safety_buffer,
        confirm = options.confirm_after_s,
        order_type = crate::scenario::MERCHANT_ORDER_TYPE,
        zone = options.dialect.report_time_zone,
        packages = packages_toml(),
        default_site = options
            .sites
            .last()
            .map_or("PrimarySite", |(site, _)| *site),
        sites = options
            .sites
            .iter()
            .map(|(site, key)| format!("\n[stock.sites.\"{site}\"]\nchannel = \"{key}\"\n"))
            .collect::<String>(),
        // Without it, the public URL is the local webhook server's, known once it listens.
        public_url = options
            .public_url
            .as_ref()
            .map(|url| format!("public_url = \"{url}\"\n"))
            .unwrap_or_default(),
    )
}

/// `[shipments.packages]` naming the simulated tenant's "Despatch packages" template fields
/// (which are not the connector's defaults). Set in every dialect: where the tenant has no
/// such template the connector finds that out itself.
fn packages_toml() -> String {
    let name = |canonical: &str| {
        DESPATCH_PACKAGE_TEMPLATE_FIELDS
            .iter()
            .find(|(c, _)| *c == canonical)
            .map_or(canonical.to_string(), |(_, n)| (*n).to_string())
    };
    format!(
        "[shipments.packages]\ntemplate = \"{DESPATCH_PACKAGES}\"\ndespatch_number_field = \"{}\"\npackage_number_field = \"{}\"\ntracking_number_field = \"{}\"\nweight_field = \"{}\"\nweight_unit = \"kg\"\n",
        name("DespatchNumber"),
        name("PackageNumber"),
        name("TrackingNumber"),
        name("Weight"),
    )
}
