//! Wiring: from configuration, secrets and stores to ready clients and flows. Never per event:
//! a Lambda builds its clients and flow at its first invocation and again only when a new
//! configuration version is taken ([`crate::invocation::LazyFlow::configured`]), since building
//! a flow reads commercetools and Peoplevox (channels, custom types, template headers).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::commercetools::client::CtClient;
use crate::commercetools::settings::CtSettings;
use crate::config::{ApiSecrets, Config};
use crate::flows::nightly_reconcile::{NightlyReconcile, NightlyReconcileParts};
use crate::flows::order_export::{OrderExport, OrderExportParts};
use crate::flows::order_status::{OrderStatus, OrderStatusParts, OrderType};
use crate::flows::shipment_confirmed::{ShipmentConfirmed, ShipmentConfirmedParts};
use crate::flows::stock_delta::{StockDelta, StockDeltaParts};
use crate::idempotency::Idempotency;
use crate::mapping::SalesOrderLayout;
use crate::peoplevox::client::PvxClient;
use crate::peoplevox::settings::PvxSettings;
use crate::store::{AuditLog, Condition, IdempotencyStore, Queue, StateStore, now_epoch_s};

/// How long a COMPLETED order-export record is kept (duplicates arriving later are still
/// caught by the order link and by the order's syncInfo).
const IDEMPOTENCY_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long a tenant's template header is reused before GetSaveTemplate is asked again.
const TEMPLATE_CACHE_S: i64 = 3600;

/// A failure to start, naming what is missing.
#[derive(Debug, thiserror::Error)]
#[error("cannot start: {0}")]
pub struct SetupError(pub String);

/// The stores a deployment uses.
#[derive(Clone)]
pub struct Stores {
    /// State store.
    pub state: Arc<dyn StateStore>,
    /// Idempotency store.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Audit log.
    pub audit: Arc<dyn AuditLog>,
}

/// commercetools client settings from configuration and secrets.
pub fn ct_settings(config: &Config, secrets: &impl AsRef<ApiSecrets>) -> CtSettings {
    let secrets = secrets.as_ref();
    let c = &config.commercetools;
    CtSettings {
        auth_url: c.auth_url.trim_end_matches('/').to_string(),
        api_url: c.api_url.trim_end_matches('/').to_string(),
        project_key: c.project_key.clone(),
        client_id: c.client_id.clone(),
        client_secret: secrets.ct_client_secret.clone(),
        scopes: c.scopes.clone(),
        request_timeout: Duration::from_millis(c.timeout_ms),
        max_retries: c.max_retries,
    }
}

/// Peoplevox client settings from configuration and secrets.
pub fn pvx_settings(config: &Config, secrets: &impl AsRef<ApiSecrets>) -> PvxSettings {
    let secrets = secrets.as_ref();
    let p = &config.peoplevox;
    PvxSettings {
        endpoint: p.endpoint.clone(),
        client_id: p.client_id.clone(),
        username: p.username.clone(),
        password: secrets.pvx_password.clone(),
        request_timeout: Duration::from_millis(p.timeout_ms),
        max_retries: p.max_retries,
        session_ttl: Duration::from_secs(p.session_ttl_s),
        budget_requests: p.budget_requests,
        budget_window: p.budget_window(),
        // Validated with the configuration.
        report_zone: p.report_zone().unwrap_or_default(),
        max_pages_per_read: p.max_pages_per_read,
    }
}

/// Both API clients.
pub fn clients(
    config: &Config,
    secrets: &impl AsRef<ApiSecrets>,
    state: Arc<dyn StateStore>,
) -> Result<(Arc<CtClient>, Arc<PvxClient>), SetupError> {
    let ct = CtClient::new(ct_settings(config, secrets))
        .map_err(|e| SetupError(format!("commercetools client: {e}")))?;
    let pvx = PvxClient::new(pvx_settings(config, secrets), state)
        .map_err(|e| SetupError(format!("Peoplevox client: {e}")))?;
    Ok((Arc::new(ct), Arc::new(pvx)))
}

/// A template's header, from the state store when fresh, else from GetSaveTemplate.
async fn template_header(
    pvx: &PvxClient,
    state: &dyn StateStore,
    template: &str,
) -> Result<Vec<String>, SetupError> {
    if let Ok(Some(item)) = state.get("pvx-template", template).await
        && let Ok(header) = serde_json::from_str::<Vec<String>>(&item.data)
    {
        return Ok(header);
    }
    let header = pvx
        .get_save_template(template)
        .await
        .map_err(|e| SetupError(format!("GetSaveTemplate \"{template}\": {e}")))?;
    if let Ok(data) = serde_json::to_string(&header) {
        let expires = Some(now_epoch_s() + TEMPLATE_CACHE_S);
        if let Err(e) = state
            .put("pvx-template", template, &data, Condition::Always, expires)
            .await
        {
            tracing::warn!(template, error = %e, "template header not cached");
        }
    }
    Ok(header)
}

/// The order export flow, with the tenant's template layout checked and the OrderExport
/// channel resolved.
pub async fn order_export(
    config: &Config,
    stores: &Stores,
    ct: Arc<CtClient>,
    pvx: Arc<PvxClient>,
) -> Result<OrderExport, SetupError> {
    let p = &config.peoplevox;
    let orders_header =
        template_header(&pvx, stores.state.as_ref(), &p.templates.sales_orders).await?;
    let items_header =
        template_header(&pvx, stores.state.as_ref(), &p.templates.sales_order_items).await?;
    let custom: Vec<String> = config.orders.custom_fields.values().cloned().collect();
    let layout = SalesOrderLayout::from_headers(p, orders_header, items_header, &custom)
        .map_err(SetupError)?;
    if !layout.unused_fields.is_empty() {
        tracing::info!(fields = ?layout.unused_fields, "standard fields the tenant's template does not have are left out");
    }
    let channel = channel_with_role(
        &ct,
        &config.commercetools.order_export_channel,
        "OrderExport",
    )
    .await?;
    Ok(OrderExport::new(OrderExportParts {
        ct,
        pvx,
        state: stores.state.clone(),
        audit: stores.audit.clone(),
        idempotency: export_claims(stores),
        rules: config.orders.clone(),
        status: config.status.clone(),
        peoplevox: p.clone(),
        layout,
        export_channel_id: channel,
    }))
}

/// The order export's claims (idempotency records keyed by order id), which the status flow
/// also reads: a cancellation waits while an export of its order is in flight.
fn export_claims(stores: &Stores) -> Idempotency {
    Idempotency::new(
        stores.idempotency.clone(),
        crate::flows::order_export::FLOW,
        IDEMPOTENCY_TTL,
    )
}

/// The id of the channel with this key, which must exist and have `role`.
async fn channel_with_role(ct: &CtClient, key: &str, role: &str) -> Result<String, SetupError> {
    let channel = ct
        .get_channel_by_key(key)
        .await
        .map_err(|e| SetupError(format!("reading channel `{key}`: {e}")))?
        .ok_or_else(|| {
            SetupError(format!(
                "commercetools channel `{key}` (role {role}) does not exist; `ctpvx setup` creates it"
            ))
        })?;
    if !channel.roles.iter().any(|r| r == role) {
        return Err(SetupError(format!(
            "commercetools channel `{key}` lacks the role {role}"
        )));
    }
    Ok(channel.id)
}

/// The stock flow, with every configured site's supply channel resolved. `queue` carries
/// the confirming re-reads; `None` turns them off.
pub async fn stock_delta(
    config: &Config,
    stores: &Stores,
    ct: Arc<CtClient>,
    pvx: Arc<PvxClient>,
    queue: Option<Arc<dyn Queue>>,
) -> Result<StockDelta, SetupError> {
    let mut channels = BTreeMap::new();
    for (site, settings) in &config.stock.sites {
        let id = channel_with_role(&ct, &settings.channel, "InventorySupply").await?;
        channels.insert(site.clone(), id);
    }
    if channels.is_empty() {
        tracing::warn!("no [stock.sites] configured: every stock event will be dead-lettered");
    }
    let export_channel_id = channel_with_role(
        &ct,
        &config.commercetools.order_export_channel,
        "OrderExport",
    )
    .await?;
    Ok(StockDelta::new(StockDeltaParts {
        ct,
        pvx,
        state: stores.state.clone(),
        audit: stores.audit.clone(),
        queue,
        rules: config.stock.clone(),
        units: config.orders.units_of_measure.clone(),
        channels,
        export_channel_id,
    }))
}

/// The shipment flow, with the delivery custom type checked (its fields carry the despatch
/// facts; without it every delivery would be refused, so the function refuses to start).
pub async fn shipment_confirmed(
    config: &Config,
    stores: &Stores,
    ct: Arc<CtClient>,
    pvx: Arc<PvxClient>,
) -> Result<ShipmentConfirmed, SetupError> {
    if let Some(key) = &config.shipments.delivery_type {
        let found = ct
            .get_type_by_key(key)
            .await
            .map_err(|e| SetupError(format!("reading custom type `{key}`: {e}")))?;
        if found.is_none() {
            return Err(SetupError(format!(
                "commercetools custom type `{key}` (deliveries) does not exist; `ctpvx setup` creates it"
            )));
        }
    }
    let export_channel_id = channel_with_role(
        &ct,
        &config.commercetools.order_export_channel,
        "OrderExport",
    )
    .await?;
    // Where a despatch booked over a delivery made by hand is shown (`pvxException`). Booking
    // does not need it: without it the overlap is audited only.
    let key = &config.status.order_type;
    let order_type = ct
        .get_type_by_key(key)
        .await
        .map_err(|e| SetupError(format!("reading custom type `{key}`: {e}")))?
        .map(|found| OrderType {
            key: key.clone(),
            id: found.id,
        });
    if order_type.is_none() {
        tracing::warn!(
            order_type = %key,
            "order custom type missing: overlaps with deliveries made by hand are audited, not shown on orders"
        );
    }
    Ok(ShipmentConfirmed::new(ShipmentConfirmedParts {
        ct,
        pvx,
        audit: stores.audit.clone(),
        rules: config.shipments.clone(),
        orders: config.orders.clone(),
        export_channel_id,
        state: stores.state.clone(),
        order_type,
    }))
}

/// The status flow, with the OrderExport channel and the order custom Type resolved (the Type
/// carries `pvxStatus`; without it no status could be recorded, so the function refuses to
/// start, naming `ctpvx setup`).
pub async fn order_status(
    config: &Config,
    stores: &Stores,
    ct: Arc<CtClient>,
    pvx: Arc<PvxClient>,
) -> Result<OrderStatus, SetupError> {
    let key = &config.status.order_type;
    let order_type = ct
        .get_type_by_key(key)
        .await
        .map_err(|e| SetupError(format!("reading custom type `{key}`: {e}")))?
        .ok_or_else(|| {
            SetupError(format!(
                "commercetools custom type `{key}` (orders) does not exist; `ctpvx setup` creates it"
            ))
        })?;
    let export_channel_id = channel_with_role(
        &ct,
        &config.commercetools.order_export_channel,
        "OrderExport",
    )
    .await?;
    Ok(OrderStatus::new(OrderStatusParts {
        ct,
        pvx,
        audit: stores.audit.clone(),
        rules: config.status.clone(),
        despatch_report: config.shipments.summary_report.clone(),
        orders: config.orders.clone(),
        export_channel_id,
        order_type: OrderType {
            key: key.clone(),
            id: order_type.id,
        },
        state: stores.state.clone(),
        export_claims: export_claims(stores),
    }))
}

/// The nightly reconciliation, with its own Peoplevox client ([`reconcile_peoplevox`]).
/// Its stock work goes through a stock flow built like the `stock-delta` function's (every
/// site's channel resolved), without confirming re-reads (its figures are read, not called
/// back).
pub async fn nightly_reconcile(
    config: &Config,
    secrets: &impl AsRef<ApiSecrets>,
    stores: &Stores,
    ct: Arc<CtClient>,
    queue: Arc<dyn Queue>,
) -> Result<NightlyReconcile, SetupError> {
    let pvx = reconcile_peoplevox(config, secrets, stores)?;
    nightly_reconcile_with(config, stores, ct, pvx, queue).await
}

/// The reconciliation's Peoplevox client: it shares the deployment's session and request
/// budget, but leaves `reconcile.budget_reserve` slots to the live flows and waits behind
/// them. Built without a request.
pub fn reconcile_peoplevox(
    config: &Config,
    secrets: &impl AsRef<ApiSecrets>,
    stores: &Stores,
) -> Result<Arc<PvxClient>, SetupError> {
    let reserve = config
        .reconcile
        .budget_reserve(config.peoplevox.budget_requests);
    let pvx = PvxClient::with_budget_reserve(
        pvx_settings(config, secrets),
        stores.state.clone(),
        reserve,
    )
    .map_err(|e| SetupError(format!("Peoplevox client: {e}")))?;
    Ok(Arc::new(pvx))
}

/// [`nightly_reconcile`] on a Peoplevox client built before ([`reconcile_peoplevox`]).
pub async fn nightly_reconcile_with(
    config: &Config,
    stores: &Stores,
    ct: Arc<CtClient>,
    pvx: Arc<PvxClient>,
    queue: Arc<dyn Queue>,
) -> Result<NightlyReconcile, SetupError> {
    let stock = Arc::new(stock_delta(config, stores, ct.clone(), pvx.clone(), None).await?);
    let export_channel_id = stock.export_channel_id().to_string();
    Ok(NightlyReconcile::new(NightlyReconcileParts {
        ct,
        pvx,
        stock,
        state: stores.state.clone(),
        audit: stores.audit.clone(),
        queue,
        rules: config.reconcile.clone(),
        shipments: config.shipments.clone(),
        status: config.status.clone(),
        export_channel_id,
        skus: crate::mapping::SkuMap::new(&config.orders.units_of_measure),
    }))
}
