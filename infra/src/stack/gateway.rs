//! The HTTP API on a local port: each request matched against the routes the template declares
//! (`HttpApi` events: method and path, `{name}` segments and a greedy `{name+}`), turned into
//! an API Gateway HTTP API payload format 2.0 event, handed to the route's function, and the
//! function's answer (`statusCode`, `headers`, `cookies`, `body`, `isBase64Encoded`) turned back
//! into the HTTP response. No route: 404; a function error, crash or failed init: 500; a
//! function killed at its deadline: 503 — as API Gateway answers.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};

use super::instance::Outcome;
use super::intrinsics::ACCOUNT;
use super::pool::Pool;

/// API Gateway's payload limit.
const BODY_LIMIT: usize = 10 * 1024 * 1024;

/// One route of the API.
pub struct Route {
    /// `POST`, or `ANY`.
    pub method: String,
    /// `/webhooks/peoplevox/{token}/{event}`.
    pub path: String,
    /// The function behind it.
    pub pool: Arc<Pool>,
}

impl Route {
    /// `POST /webhooks/…`: the event's `routeKey`.
    fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The path parameters when `method` and `path` match this route.
    fn matches(&self, method: &str, path: &str) -> Option<Map<String, Value>> {
        if self.method != "ANY" && self.method != method {
            return None;
        }
        let mut parameters = Map::new();
        let mut actual = path.trim_start_matches('/').split('/');
        let mut declared = self.path.trim_start_matches('/').split('/').peekable();
        while let Some(segment) = declared.next() {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
                let rest: Vec<&str> = actual.by_ref().collect();
                if rest.is_empty() || declared.peek().is_some() {
                    return None;
                }
                parameters.insert(name.into(), rest.join("/").into());
                return Some(parameters);
            }
            let got = actual.next()?;
            match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) if !got.is_empty() => {
                    let decoded = percent_decode(got);
                    parameters.insert(name.into(), decoded.into());
                }
                Some(_) => return None,
                None if segment == got => {}
                None => return None,
            }
        }
        actual.next().is_none().then_some(parameters)
    }
}

fn percent_decode(segment: &str) -> String {
    form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| segment.to_string())
}

/// The API's routes and its id.
struct Api {
    id: String,
    routes: Vec<Route>,
}

/// The HTTP API, serving.
pub struct Gateway {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Gateway {
    /// Serves `routes` on `listen` (port 0: any free port) as the API `api_id`.
    pub async fn start(
        api_id: &str,
        routes: Vec<Route>,
        listen: SocketAddr,
    ) -> anyhow::Result<Self> {
        let api = Arc::new(Api {
            id: api_id.to_string(),
            routes,
        });
        let app = Router::new().fallback(handle).with_state(api);
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        });
        Ok(Self { url, task })
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(api): State<Arc<Api>>, request: Request<Body>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let method = parts.method.as_str().to_string();
    let Some((route, parameters)) = api
        .routes
        .iter()
        .find_map(|r| r.matches(&method, &path).map(|p| (r, p)))
    else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let source = parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "127.0.0.1".into());
    let event = event(
        &api.id,
        route,
        parameters,
        &parts.method,
        &parts.uri,
        &parts.headers,
        &body,
        &source,
    );
    // The invocation runs to its end even when the caller hangs up, as behind API Gateway: a
    // dropped request must not take the instance (and its cold start) with it.
    let (pool, payload) = (route.pool.clone(), event.to_string());
    let outcome = tokio::spawn(async move { pool.invoke(&payload).await })
        .await
        .unwrap_or_else(|e| Outcome::Crashed(e.to_string()));
    match outcome {
        Outcome::Response(answer) => response(&answer),
        Outcome::TimedOut => message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
        Outcome::Error(_) | Outcome::Crashed(_) | Outcome::InitFailed(_) => {
            message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    }
}

/// API Gateway's own answers: `{"message": …}`.
fn message(status: StatusCode, text: &str) -> Response<Body> {
    let mut response = Response::new(Body::from(json!({ "message": text }).to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The payload format 2.0 event of a request.
#[allow(clippy::too_many_arguments)]
fn event(
    api_id: &str,
    route: &Route,
    parameters: Map<String, Value>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    source_ip: &str,
) -> Value {
    // Repeated headers are joined with commas; cookies travel apart.
    let mut joined: Map<String, Value> = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == axum::http::header::COOKIE {
            cookies.extend(value.split(';').map(|c| Value::from(c.trim())));
            continue;
        }
        match joined.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                joined.insert(name.as_str().to_string(), value.into());
            }
        }
    }
    let raw_query = uri.query().unwrap_or_default();
    let mut query: Map<String, Value> = Map::new();
    for (k, v) in form_urlencoded::parse(raw_query.as_bytes()) {
        match query.get_mut(k.as_ref()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k.into_owned(), v.into_owned().into());
            }
        }
    }
    let (body, encoded) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (BASE64.encode(body), true),
    };
    let now = time::OffsetDateTime::now_utc();
    let request_id = uuid::Uuid::new_v4().to_string();
    let user_agent = joined.get("user-agent").cloned().unwrap_or_default();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.key(),
        "rawPath": uri.path(),
        "rawQueryString": raw_query,
        "headers": joined,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": api_id,
            "domainName": format!("{api_id}.execute-api.localhost"),
            "domainPrefix": api_id,
            "http": {
                "method": method.as_str(),
                "path": uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": user_agent,
            },
            "requestId": request_id,
            "routeKey": route.key(),
            "stage": "$default",
            "time": now.format(&time::format_description::well_known::Rfc2822).unwrap_or_default(),
            "timeEpoch": now.unix_timestamp() * 1000 + i64::from(now.millisecond()),
        },
        "isBase64Encoded": encoded,
    });
    if !body.is_empty() {
        event["body"] = body.into();
    }
    if !cookies.is_empty() {
        event["cookies"] = cookies.into();
    }
    if !query.is_empty() {
        event["queryStringParameters"] = query.into();
    }
    if !parameters.is_empty() {
        event["pathParameters"] = parameters.into();
    }
    event
}

/// The HTTP response of a function's answer (format 2.0: a response object, or any other JSON
/// as a 200 body).
fn response(answer: &str) -> Response<Body> {
    let value: Value = serde_json::from_str(answer).unwrap_or(Value::Null);
    let Some(status) = value["statusCode"].as_u64() else {
        let mut plain = Response::new(Body::from(answer.to_string()));
        plain.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return plain;
    };
    let text = value["body"].as_str().unwrap_or_default();
    let body = if value["isBase64Encoded"].as_bool() == Some(true) {
        BASE64.decode(text).unwrap_or_default()
    } else {
        text.as_bytes().to_vec()
    };
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = StatusCode::from_u16(u16::try_from(status).unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    let single = value["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k, v.clone()));
    let multi = value["multiValueHeaders"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(k, vs)| {
            vs.as_array()
                .into_iter()
                .flatten()
                .map(move |v| (k, v.clone()))
        });
    for (name, value) in single.chain(multi) {
        let text = match value {
            Value::String(s) => s,
            other => other.to_string(),
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(text),
        ) {
            headers.append(name, value);
        }
    }
    for cookie in value["cookies"].as_array().into_iter().flatten() {
        if let Some(Ok(value)) = cookie.as_str().map(HeaderValue::try_from) {
            headers.append(axum::http::header::SET_COOKIE, value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(declared: &str, method: &str, path: &str) -> Option<Value> {
        let route = RouteShape {
            method: "POST",
            path: declared,
        };
        route.matches(method, path).map(Value::Object)
    }

    /// The matching rules without a function behind the route.
    struct RouteShape<'a> {
        method: &'a str,
        path: &'a str,
    }

    impl RouteShape<'_> {
        fn matches(&self, method: &str, path: &str) -> Option<Map<String, Value>> {
            let spec = crate::stack::functions::FunctionSpec {
                id: "F".into(),
                name: "f".into(),
                binary: "webhooks".into(),
                timeout: std::time::Duration::from_secs(1),
                memory_mb: 128,
                reserved: None,
                environment: Default::default(),
                logging: Value::Null,
                events: Vec::new(),
            };
            let launch = crate::stack::instance::Launch {
                exe: "/nonexistent".into(),
                env: Vec::new(),
                function_arn: "arn".into(),
                log: None,
                metrics: Default::default(),
                init_limit: std::time::Duration::from_secs(1),
            };
            let route = Route {
                method: self.method.into(),
                path: self.path.into(),
                pool: Arc::new(Pool::new(
                    spec,
                    launch,
                    std::time::Duration::from_secs(1),
                    1,
                )),
            };
            route.matches(method, path)
        }
    }

    #[test]
    fn routes_match_their_method_and_path_and_capture_parameters() {
        let declared = "/webhooks/peoplevox/{token}/{event}";
        assert_eq!(
            matches(declared, "POST", "/webhooks/peoplevox/t%20k/availability"),
            Some(json!({"token": "t k", "event": "availability"}))
        );
        assert_eq!(matches(declared, "GET", "/webhooks/peoplevox/t/a"), None);
        assert_eq!(matches(declared, "POST", "/webhooks/peoplevox/t"), None);
        assert_eq!(matches(declared, "POST", "/webhooks/peoplevox/t/a/b"), None);
        assert_eq!(
            matches("/files/{path+}", "POST", "/files/a/b"),
            Some(json!({"path": "a/b"}))
        );
        assert_eq!(matches("/a", "POST", "/a"), Some(json!({})));
    }

    #[test]
    fn an_answer_becomes_the_response() {
        let answer = json!({"statusCode": 202, "headers": {"content-type": "application/json"}, "body": "{\"ok\":true}", "isBase64Encoded": false});
        let out = response(&answer.to_string());
        assert_eq!(out.status(), StatusCode::ACCEPTED);
        assert_eq!(out.headers()["content-type"], "application/json");
        let plain = response("{\"a\":1}");
        assert_eq!(plain.status(), StatusCode::OK);
    }
}
