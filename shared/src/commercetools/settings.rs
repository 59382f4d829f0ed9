//! Connection settings of the commercetools client.

use std::time::Duration;

use secrecy::SecretString;

/// Where and as whom the commercetools client connects.
#[derive(Debug, Clone)]
pub struct CtSettings {
    /// Auth host, e.g. `https://auth.europe-west1.gcp.commercetools.com` (no trailing slash).
    pub auth_url: String,
    /// API host, e.g. `https://api.europe-west1.gcp.commercetools.com` (no trailing slash).
    pub api_url: String,
    /// The project key, first path segment of every API call.
    pub project_key: String,
    /// API client id.
    pub client_id: String,
    /// API client secret; never printed.
    pub client_secret: SecretString,
    /// Space-separated scopes to request; `None` requests the client's default scopes.
    pub scopes: Option<String>,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Retries after the first attempt for 429/502/503/504 and transport errors.
    pub max_retries: u32,
}
