//! What every request goes through before its handler: counting, the 429 switch, injected faults,
//! for API calls the bearer check, and the orders a test staged around the request.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::authorize;
use super::errors::ApiError;
use super::staged::Moment;
use super::state::SimState;
use crate::sim::faults::Injected;

/// The token endpoint, the only path without a bearer token.
pub(crate) const TOKEN_PATH: &str = "/oauth/token";

/// Middleware in front of every route.
pub(crate) async fn gate(
    State(state): State<Arc<SimState>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route = route_label(&method, &path);
    state.count(route.clone());
    if state.take_rate_limit() {
        return ApiError::too_many_requests().into_response();
    }
    match state.faults.before_request().await {
        Injected::Serve => {}
        Injected::ServerError => return ApiError::over_capacity().into_response(),
        // Served after the hang: a client that timed out never learns that a write landed.
        Injected::Hang(hang) => tokio::time::sleep(hang).await,
    }
    if path != TOKEN_PATH
        && let Err(err) = authorize(&state, &method, &path, request.headers())
    {
        return err.into_response();
    }
    state.staged.fire(&state, &route, Moment::BeforeHandling);
    let write = method == Method::POST && path != TOKEN_PATH;
    let response = next.run(request).await;
    state.staged.fire(&state, &route, Moment::BeforeAnswer);
    if write && response.status().is_success() && state.take_lost_answer() {
        return ApiError::general().into_response();
    }
    response
}

/// The route of a request with its variable parts replaced, e.g.
/// `GET /{project}/orders/order-number={n}`.
pub(crate) fn route_label(method: &Method, path: &str) -> String {
    if path == TOKEN_PATH {
        return format!("{method} {TOKEN_PATH}");
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut label = format!("{method} /{{project}}");
    if let Some(resource) = segments.get(1) {
        label.push('/');
        label.push_str(resource);
    }
    if let Some(item) = segments.get(2) {
        label.push_str(if item.starts_with("order-number=") {
            "/order-number={n}"
        } else if item.starts_with("key=") {
            "/key={key}"
        } else {
            "/{id}"
        });
    }
    if segments.len() > 3 {
        label.push_str("/…");
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_hide_ids_and_keys() {
        assert_eq!(
            route_label(&Method::POST, "/oauth/token"),
            "POST /oauth/token"
        );
        assert_eq!(
            route_label(&Method::GET, "/p/orders/order-number=10%201"),
            "GET /{project}/orders/order-number={n}"
        );
        assert_eq!(
            route_label(&Method::POST, "/p/orders/abc"),
            "POST /{project}/orders/{id}"
        );
        assert_eq!(
            route_label(&Method::GET, "/p/channels/key=pvx"),
            "GET /{project}/channels/key={key}"
        );
        assert_eq!(
            route_label(&Method::GET, "/p/orders"),
            "GET /{project}/orders"
        );
    }
}
