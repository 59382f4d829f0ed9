//! `ctpvx console`: the operator's screens in a browser, served on loopback from the same
//! stores and queues the CLI reads, with the same operator code behind them. Server-rendered
//! HTML (askama templates under `infra/templates/console/`), no script: every page works with
//! forms and links alone.
//!
//! Safety: the console adds no endpoint to a deployment (it runs on the operator's machine with
//! the operator's credentials, as `--aws` does); it listens on loopback unless told otherwise;
//! on loopback it answers only requests addressed to loopback (a page elsewhere cannot reach it
//! through DNS rebinding); every action is a POST carrying this process's CSRF token and an
//! Origin (when the browser sends one) of the console itself; `--read-only` refuses them all.
//! No page shows a secret, and message bodies are shown with personal data masked.

mod dead_letters;
mod guard;
mod held;
mod orders;
mod overview;
mod page;
mod stock;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use ctpvx_shared::app::Stores;
use ctpvx_shared::peoplevox::RequestBudget;
use ctpvx_shared::store::Queue;

pub use guard::csrf_token;

/// What the console reads and acts on.
pub struct Console {
    /// State store, idempotency store and audit log.
    pub stores: Stores,
    /// The queues by logical name.
    pub queue: Arc<dyn Queue>,
    /// What it is, for the page header: the store path or `AWS`.
    pub label: String,
    /// Actions refused.
    pub read_only: bool,
    /// The Peoplevox sites whose stock the stock page offers (from the configuration).
    pub sites: Vec<String>,
    /// The deployment's Peoplevox budget, to show its use (needs the configuration).
    pub budget: Option<RequestBudget>,
    /// Where an order opens in the commercetools Merchant Center: a URL with `{id}` for the
    /// order id (see [`merchant_center_order_url`]).
    pub merchant_center: Option<String>,
    /// The token every action must carry.
    pub csrf: String,
}

/// The Merchant Center's order page for a project: its host is the API host with `mc.` for
/// `api.` (the Merchant Center's URL per Region: docs.commercetools.com, "Merchant Center has
/// changed its URL", e.g. mc.europe-west1.gcp.commercetools.com), its path
/// `/<project-key>/orders/<id>` (a route of the Merchant Center in commercetools'
/// merchant-center-application-kit, packages/application-shell/src/components/
/// application-page-title/application-page-title.spec.tsx). `None` when the API URL is not a
/// commercetools Region's (a simulator, a proxy): `--merchant-center` then says it.
pub fn merchant_center_order_url(api_url: &str, project_key: &str) -> Option<String> {
    let url = reqwest::Url::parse(api_url).ok()?;
    let host = url.host_str()?;
    let region = host.strip_prefix("api.")?;
    region
        .ends_with(".commercetools.com")
        .then(|| format!("https://mc.{region}/{project_key}/orders/{{id}}"))
}

/// The console's routes.
pub fn router(console: Console, listen: SocketAddr) -> Router {
    let console = Arc::new(console);
    Router::new()
        .route("/", get(overview::page))
        .route("/orders", get(orders::page))
        .route("/held", get(held::page))
        .route("/held/retry", post(held::retry))
        .route("/dead-letters", get(dead_letters::page))
        .route("/dead-letters/preview", post(dead_letters::preview))
        .route("/dead-letters/redrive", post(dead_letters::redrive))
        .route("/stock", get(stock::page))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(guard::Guard::new(listen, console.read_only)),
            guard::check,
        ))
        .with_state(console)
}

/// Serves the console on `listener` until `shutdown` completes.
pub async fn serve(
    console: Console,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listen = listener.local_addr()?;
    axum::serve(listener, router(console, listen))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::merchant_center_order_url;

    #[test]
    fn the_merchant_center_is_the_api_regions() {
        assert_eq!(
            merchant_center_order_url("https://api.europe-west1.gcp.commercetools.com", "shop")
                .as_deref(),
            Some("https://mc.europe-west1.gcp.commercetools.com/shop/orders/{id}")
        );
        assert_eq!(
            merchant_center_order_url("http://127.0.0.1:4000", "shop"),
            None
        );
    }
}
