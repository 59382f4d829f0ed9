//! The auth service (`POST /oauth/token`, client credentials) and the bearer check of API calls.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::errors::{ApiError, ApiResult};
use super::state::SimState;

/// `POST /oauth/token`: checks the Basic credentials and issues a bearer token.
pub(crate) async fn token(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    issue(&state, &headers, form.ok().map(|Form(f)| f)).unwrap_or_else(IntoResponse::into_response)
}

fn issue(
    state: &SimState,
    headers: &HeaderMap,
    form: Option<HashMap<String, String>>,
) -> ApiResult<Response> {
    let (id, secret) = basic_credentials(headers).ok_or_else(ApiError::invalid_client)?;
    if id != state.config.client_id || secret != state.config.client_secret {
        return Err(ApiError::invalid_client());
    }
    let form = form.unwrap_or_default();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return Err(ApiError::unsupported_grant_type());
    }
    let scope = form
        .get("scope")
        .filter(|s| !s.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| format!("manage_project:{}", state.config.project_key));
    let access_token = state.issue_token(scope.clone());
    Ok(axum::Json(json!({
        "access_token": access_token,
        "expires_in": state.config.token_ttl.as_secs(),
        "scope": scope,
        "token_type": "Bearer",
    }))
    .into_response())
}

/// The `(id, secret)` of an `Authorization: Basic …` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// Checks the bearer token of an API call to `/{project}/{resource}/…`: it must be known and
/// unexpired (401 `invalid_token`), and carry a scope for this project and resource (403).
pub(crate) fn authorize(
    state: &SimState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> ApiResult<()> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(ApiError::invalid_token)?;
    let scope = state
        .token_scope(token.trim())
        .ok_or_else(ApiError::invalid_token)?;
    let mut segments = path.trim_start_matches('/').split('/');
    let project = segments.next().unwrap_or_default();
    let resource = segments.next().unwrap_or_default();
    let accepted = accepted_scopes(resource, method);
    let granted = |name: &str| {
        scope
            .split_whitespace()
            .any(|s| s == format!("{name}:{project}"))
    };
    if granted("manage_project") || accepted.iter().any(|name| granted(name)) {
        return Ok(());
    }
    let needed = accepted.first().copied().unwrap_or("manage_project");
    Err(ApiError::insufficient_scope(&format!("{needed}:{project}")))
}

/// The scopes that allow this call, besides `manage_project` (manage first).
fn accepted_scopes(resource: &str, method: &Method) -> Vec<&'static str> {
    let read = *method == Method::GET;
    match (resource, read) {
        ("orders", true) => vec!["manage_orders", "view_orders"],
        ("orders", false) => vec!["manage_orders"],
        ("channels", true) => vec!["manage_channels", "view_channels"],
        ("channels", false) => vec!["manage_channels"],
        // Inventory has no scope of its own ([R] resources/inventory.raml).
        ("inventory", true) => vec!["manage_products", "view_products"],
        ("inventory", false) => vec!["manage_products"],
        ("types", true) => vec!["manage_types", "view_types"],
        ("types", false) => vec!["manage_types"],
        ("states", true) => vec!["manage_states", "view_states"],
        ("states", false) => vec!["manage_states"],
        _ => Vec::new(),
    }
}
