//! Connection settings of the Peoplevox client.

use std::time::Duration;

use secrecy::SecretString;

use super::report_time::ReportZone;

/// Where and as whom the Peoplevox client connects, and the request budget it must respect.
#[derive(Debug, Clone)]
pub struct PvxSettings {
    /// Full URL of the integration service, e.g.
    /// `https://wms.peoplevox.net/<clientId>/resources/integrationservicev4.asmx`.
    pub endpoint: String,
    /// The tenant's client id (also the budget and session key).
    pub client_id: String,
    /// Integration user name.
    pub username: String,
    /// Integration user password (sent base64-encoded); never printed.
    pub password: SecretString,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Retries after the first attempt for transport errors and 5xx on read operations.
    pub max_retries: u32,
    /// How long a session is reused before re-authenticating (Peoplevox idles out at ~30 min).
    pub session_ttl: Duration,
    /// At most this many requests ...
    pub budget_requests: u32,
    /// ... in any window of this length, across every process of the deployment.
    pub budget_window: Duration,
    /// The tenant's zone: report times are wall-clock times in it (`peoplevox.time_zone`).
    pub report_zone: ReportZone,
    /// Pages one paged read follows before it fails (`peoplevox.max_pages_per_read`).
    pub max_pages_per_read: u32,
}
