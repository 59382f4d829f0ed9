//! The error responses of commercetools, in their real shapes
//! (`{statusCode, message, errors:[{code, message, …}]}`; the auth service adds `error`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// An error answer of the simulated API.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    status: StatusCode,
    body: Value,
    retry_after: Option<u32>,
    /// The `WWW-Authenticate` scheme of a 401.
    challenge: Option<&'static str>,
}

/// Result of a simulated API operation.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A response with one error object; `extra` fields are added to that object.
    fn one(status: StatusCode, code: &str, message: String, extra: Map<String, Value>) -> Self {
        let mut error = Map::new();
        error.insert("code".into(), code.into());
        error.insert("message".into(), message.clone().into());
        error.extend(extra);
        Self {
            status,
            body: json!({"statusCode": status.as_u16(), "message": message, "errors": [error]}),
            retry_after: None,
            challenge: None,
        }
    }

    /// 400 with this code, e.g. `InvalidInput`, `InvalidOperation`.
    pub(crate) fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::one(StatusCode::BAD_REQUEST, code, message.into(), Map::new())
    }

    /// 400 `InvalidJsonInput`, as for a body that does not match the draft type.
    pub(crate) fn invalid_json(detail: impl Into<String>) -> Self {
        let mut extra = Map::new();
        extra.insert("detailedErrorMessage".into(), detail.into().into());
        Self::one(
            StatusCode::BAD_REQUEST,
            "InvalidJsonInput",
            "Request body does not contain valid JSON.".into(),
            extra,
        )
    }

    /// 400 `DuplicateField`.
    pub(crate) fn duplicate_field(field: &str, value: &Value) -> Self {
        let mut extra = Map::new();
        extra.insert("field".into(), field.into());
        extra.insert("duplicateValue".into(), value.clone());
        Self::one(
            StatusCode::BAD_REQUEST,
            "DuplicateField",
            format!("A duplicate value '{value}' exists for field '{field}'."),
            extra,
        )
    }

    /// 400 `ReferencedResourceNotFound`.
    pub(crate) fn referenced_not_found(type_id: &str, reference: &Value) -> Self {
        let mut extra = Map::new();
        extra.insert("typeId".into(), type_id.into());
        for field in ["id", "key"] {
            if let Some(v) = reference.get(field) {
                extra.insert(field.into(), v.clone());
            }
        }
        let what = reference
            .get("id")
            .map(|id| format!("ID '{}'", id.as_str().unwrap_or_default()))
            .or_else(|| {
                reference
                    .get("key")
                    .map(|k| format!("key '{}'", k.as_str().unwrap_or_default()))
            })
            .unwrap_or_default();
        Self::one(
            StatusCode::BAD_REQUEST,
            "ReferencedResourceNotFound",
            format!("The referenced object of type '{type_id}' with {what} was not found."),
            extra,
        )
    }

    /// 414 for a query predicate over the length the API is known to fail at.
    /// UNCONFIRMED: the body of the real answer (it may come from a load balancer, without JSON).
    pub(crate) fn uri_too_long(length: usize, max: usize) -> Self {
        Self::one(
            StatusCode::URI_TOO_LONG,
            "InvalidInput",
            format!("The query predicate has {length} characters; at most {max} are simulated."),
            Map::new(),
        )
    }

    /// 404 `ResourceNotFound` for an id.
    pub(crate) fn not_found_id(id: &str) -> Self {
        Self::one(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("The Resource with ID '{id}' was not found."),
            Map::new(),
        )
    }

    /// 404 `ResourceNotFound` for a key or an order number.
    pub(crate) fn not_found_key(key: &str) -> Self {
        Self::one(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("The Resource with key '{key}' was not found."),
            Map::new(),
        )
    }

    /// 404 for a path the API does not have.
    pub(crate) fn no_route() -> Self {
        Self::one(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            "The resource you are looking for could not be found.".into(),
            Map::new(),
        )
    }

    /// 409 `ConcurrentModification` with `currentVersion`.
    pub(crate) fn conflict(id: &str, expected: i64, actual: i64) -> Self {
        let mut extra = Map::new();
        extra.insert("currentVersion".into(), actual.into());
        Self::one(
            StatusCode::CONFLICT,
            "ConcurrentModification",
            format!(
                "Object {id} has a different version than expected. Expected: {expected} - Actual: {actual}."
            ),
            extra,
        )
    }

    /// An OAuth error: the API error shape plus `error` (and `error_description`).
    fn oauth(status: StatusCode, code: &str, message: &str, describe: bool) -> Self {
        let mut err = Self::one(status, code, message.into(), Map::new());
        if let Value::Object(body) = &mut err.body {
            body.insert("error".into(), code.into());
            if describe {
                body.insert("error_description".into(), message.into());
            }
        }
        err
    }

    /// 401 of the auth service for a wrong client id or secret.
    pub(crate) fn invalid_client() -> Self {
        let mut err = Self::oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Please provide valid client credentials using HTTP Basic Authentication.",
            true,
        );
        err.challenge = Some("Basic");
        err
    }

    /// 400 of the auth service for a grant type other than client credentials.
    pub(crate) fn unsupported_grant_type() -> Self {
        Self::oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only the client_credentials grant type is simulated.",
            true,
        )
    }

    /// 401 of the API for a missing, unknown or expired token.
    pub(crate) fn invalid_token() -> Self {
        let mut err = Self::oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "invalid_token",
            false,
        );
        err.challenge = Some("Bearer");
        err
    }

    /// 403 of the API for a token without the needed scope.
    pub(crate) fn insufficient_scope(needed: &str) -> Self {
        let message =
            format!("Insufficient scope. One of the following scopes is missing: {needed}");
        Self::oauth(StatusCode::FORBIDDEN, "insufficient_scope", &message, true)
    }

    /// 500 `General`: commercetools' error code for an unexpected server error (HTTP API
    /// reference, "Errors": `GeneralError`).
    pub(crate) fn general() -> Self {
        Self::one(
            StatusCode::INTERNAL_SERVER_ERROR,
            "General",
            "Write applied, answer lost (simulated).".into(),
            Map::new(),
        )
    }

    /// 503 `OverCapacity`, the injected server error.
    pub(crate) fn over_capacity() -> Self {
        Self::one(
            StatusCode::SERVICE_UNAVAILABLE,
            "OverCapacity",
            "The service is temporarily over capacity (simulated).".into(),
            Map::new(),
        )
    }

    /// 429 with `Retry-After: 1`. The core API documents no 429; it is simulated defensively.
    pub(crate) fn too_many_requests() -> Self {
        let mut err = Self::one(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests (simulated).".into(),
            Map::new(),
        );
        err.retry_after = Some(1);
        err
    }

    /// The error code, for assertions in the simulator's own tests.
    #[cfg(test)]
    pub(crate) fn code(&self) -> &str {
        self.body["errors"][0]["code"].as_str().unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(scheme) = self.challenge {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
        }
        response
    }
}
