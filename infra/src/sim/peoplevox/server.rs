//! The HTTP face of the simulator: the ASMX endpoint path, SOAPAction and Content-Type
//! checks, the request budget and the injected faults, in the order a real server meets them.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::Shared;
use super::dispatch::{self, Reply};
use super::{soap, wsdl};
use crate::sim::faults::Injected;

/// Large SaveData batches must fit.
const MAX_BODY: usize = 32 * 1024 * 1024;

/// The router: one handler for every path, because ASMX paths are case-insensitive.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

async fn handle(
    State(sim): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !uri.path().eq_ignore_ascii_case(&sim.path) {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    if method == Method::GET && uri.query().is_some_and(|q| q.eq_ignore_ascii_case("wsdl")) {
        return service_description(&sim, &headers);
    }
    if method != Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed").into_response();
    }
    sim.requests.fetch_add(1, Ordering::SeqCst);
    let action = headers
        .get("SOAPAction")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim()
        .trim_matches('"')
        .to_string();
    let op = action
        .strip_prefix(soap::PVX_NS)
        .filter(|op| wsdl::offers(&sim.config.dialect, op))
        .map(str::to_string);
    {
        let mut by_op = sim.by_operation.lock().unwrap_or_else(|e| e.into_inner());
        *by_op
            .entry(op.clone().unwrap_or_else(|| "(unknown)".into()))
            .or_default() += 1;
    }
    // The budget counts arrivals, whatever happens to them afterwards.
    if !sim.window.admit() {
        sim.budget_violations.fetch_add(1, Ordering::SeqCst);
        return html(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !content_type.starts_with("text/xml") {
        return html(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type");
    }
    let Some(op) = op else {
        return fault(
            "soap:Client",
            &format!("Server did not recognize the value of HTTP Header SOAPAction: {action}."),
        );
    };
    if op == "SaveData" {
        sim.save_gate.pass().await;
    }
    let injected = sim.faults.before_request().await;
    if injected == Injected::ServerError {
        // Failed before doing anything.
        return html(StatusCode::INTERNAL_SERVER_ERROR, "Runtime Error");
    }
    let reply = match std::str::from_utf8(&body) {
        Ok(text) => dispatch::dispatch(&sim, &op, text),
        Err(_) => Reply::Fault(
            "soap:Client",
            "Server was unable to read request. ---> There is an error in XML document. ---> Invalid character in the given encoding.".into(),
        ),
    };
    if let Injected::Hang(duration) = injected {
        // The work is done, only the answer is late: the client cannot know what happened.
        tokio::time::sleep(duration).await;
    }
    match reply {
        Reply::Answer(answer) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            soap::write_answer(&op, &answer),
        )
            .into_response(),
        Reply::Fault(code, message) => fault(code, &message),
    }
}

/// `GET …?WSDL`: the dialect's service description, as ASMX serves it. It takes a budget
/// slot like any request (whether the real limit counts it is UNCONFIRMED; the client takes
/// one too).
fn service_description(sim: &Shared, headers: &HeaderMap) -> Response {
    sim.requests.fetch_add(1, Ordering::SeqCst);
    {
        let mut by_op = sim.by_operation.lock().unwrap_or_else(|e| e.into_inner());
        *by_op.entry("(wsdl)".into()).or_default() += 1;
    }
    if !sim.window.admit() {
        sim.budget_violations.fetch_add(1, Ordering::SeqCst);
        return html(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    }
    if !sim.config.dialect.serves_wsdl {
        // What ASMX answers once the Documentation protocol is removed from web.config.
        return html(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Request format is unrecognized for URL unexpectedly ending in '/integrationservicev4.asmx'.",
        );
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let endpoint = format!("http://{host}{}", sim.path);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        wsdl::document(&sim.config.dialect, &endpoint),
    )
        .into_response()
}

/// A SOAP fault, HTTP 500, as ASMX sends it.
fn fault(code: &str, message: &str) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        soap::write_fault(code, message),
    )
        .into_response()
}

/// An IIS/ASP.NET-style HTML error page.
fn html(status: StatusCode, title: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html>\r\n<html><head><title>{title}</title></head><body><h1>Server Error in '/' Application.</h1><h2><i>{title}</i></h2></body></html>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}
