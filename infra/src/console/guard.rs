//! What every request passes before a page sees it: the Host check on loopback (against DNS
//! rebinding), the Origin check and `--read-only` on actions, and the headers that keep pages
//! out of frames, caches and referrers. The CSRF token is checked where the action's form is
//! read ([`form`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The form field that carries the token.
pub const CSRF_FIELD: &str = "csrf";

/// A token for this console process: 244 random bits from the operating system (UUID v4s).
pub fn csrf_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The request checks of one console.
pub struct Guard {
    listen: SocketAddr,
    read_only: bool,
}

impl Guard {
    /// Checks for a console listening on `listen`.
    pub fn new(listen: SocketAddr, read_only: bool) -> Self {
        Self { listen, read_only }
    }

    /// The Host values the console answers to: loopback names, and, when it listens beyond
    /// loopback, any IP address (never a DNS name, which a rebinding attack controls), always
    /// with its own port.
    fn host_allowed(&self, host: &str) -> bool {
        let port = self.listen.port();
        if [
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ]
        .iter()
        .any(|h| h.eq_ignore_ascii_case(host))
        {
            return true;
        }
        !self.listen.ip().is_loopback()
            && host
                .parse::<SocketAddr>()
                .is_ok_and(|addr| addr.port() == port)
    }
}

/// A plain-text refusal.
fn refuse(status: StatusCode, why: String) -> Response {
    (status, why).into_response()
}

/// The middleware.
pub async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !guard.host_allowed(&host) {
        let port = guard.listen.port();
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            if guard.listen.ip().is_loopback() {
                format!("this console answers only to http://127.0.0.1:{port}/ (or localhost)")
            } else {
                format!(
                    "this console answers only to an IP address (http://ADDRESS:{port}/), never to a host name, which DNS rebinding could point at it"
                )
            },
        );
    }
    // A browser names a request another site's page made (a link, an image, a form): a page
    // read receives messages, so even that is refused.
    if request
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return refuse(
            StatusCode::FORBIDDEN,
            "the console does not answer other sites' pages".into(),
        );
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        if guard.read_only {
            return refuse(
                StatusCode::FORBIDDEN,
                "the console runs with --read-only: actions are off".into(),
            );
        }
        if let Some(origin) = request.headers().get(header::ORIGIN) {
            let expected = format!("http://{host}");
            if origin.to_str().ok() != Some(expected.as_str()) {
                return refuse(
                    StatusCode::FORBIDDEN,
                    "an action must come from the console's own pages".into(),
                );
            }
        }
    }
    let mut response = next.run(request).await;
    secure(response.headers_mut());
    response
}

/// No script, no frames, no caching of pages that show orders, no referrer to other sites.
fn secure(headers: &mut HeaderMap) {
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        // `same-origin`, not `no-referrer`: with no referrer policy at all a browser sends `Origin: null`
        // on the console's own form posts, which the Origin check must then refuse.
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// An action refused, and why (as a plain-text answer).
#[derive(Debug)]
pub struct Refused(pub StatusCode, pub String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        refuse(self.0, self.1)
    }
}

/// An action's form fields, in order (a field may repeat: `id`), once its CSRF token is the
/// console's.
pub fn form(csrf: &str, body: &str) -> Result<Vec<(String, String)>, Refused> {
    let fields: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let given = fields
        .iter()
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if !same(given.as_bytes(), csrf.as_bytes()) {
        return Err(Refused(
            StatusCode::FORBIDDEN,
            "the form's token is missing or stale: reload the page and try again".into(),
        ));
    }
    Ok(fields)
}

/// The first value of `name`.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Every value of `name`.
pub fn fields<'a>(fields: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Equality in time that does not depend on where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_console_answers_only_to_loopback_names() {
        let guard = Guard::new("127.0.0.1:8090".parse().unwrap(), false);
        assert!(guard.host_allowed("127.0.0.1:8090"));
        assert!(guard.host_allowed("localhost:8090"));
        assert!(!guard.host_allowed("evil.example:8090"));
        assert!(!guard.host_allowed("127.0.0.1:9999"));
        assert!(!guard.host_allowed(""));
        let exposed = Guard::new("0.0.0.0:8090".parse().unwrap(), false);
        assert!(exposed.host_allowed("10.0.0.5:8090"));
        assert!(!exposed.host_allowed("rebound.example:8090"));
        assert!(!exposed.host_allowed("10.0.0.5:80"));
    }

    #[test]
    fn an_action_needs_the_token() {
        assert!(form("t0k", "csrf=t0k&id=a&id=b").is_ok());
        assert!(form("t0k", "csrf=t0x&id=a").is_err());
        assert!(form("t0k", "id=a").is_err());
        let f = form("t0k", "csrf=t0k&id=a&id=b").unwrap();
        assert_eq!(fields(&f, "id"), ["a", "b"]);
    }
}
