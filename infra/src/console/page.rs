//! What every page shares: the header (where the data comes from, read-only or not, the
//! token its forms carry), rendering a template into a response, and times as people read them.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::Console;
use crate::operator::timestamp;

/// The frame of every page.
pub struct Chrome {
    /// The page's title and the navigation entry it highlights.
    pub title: &'static str,
    /// The store path or `AWS`.
    pub label: String,
    /// Actions are off.
    pub read_only: bool,
    /// The token for the page's forms.
    pub csrf: String,
    /// A one-line result of the last action, shown on top.
    pub notice: Option<String>,
}

impl Chrome {
    /// The frame of page `title`.
    pub fn new(console: &Console, title: &'static str) -> Self {
        Self {
            title,
            label: console.label.clone(),
            read_only: console.read_only,
            csrf: console.csrf.clone(),
            notice: None,
        }
    }

    /// The navigation: (path, label, current).
    pub fn nav(&self) -> Vec<(&'static str, &'static str, bool)> {
        [
            ("/", "Overview"),
            ("/orders", "Orders"),
            ("/held", "Held orders"),
            ("/dead-letters", "Dead letters"),
            ("/stock", "Stock"),
        ]
        .into_iter()
        .map(|(path, label)| (path, label, label == self.title))
        .collect()
    }
}

/// The page, or an error page naming what failed.
pub fn render(page: impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => failure(format!("rendering the page: {e}")),
    }
}

/// The page of something that could not be read.
#[derive(Template)]
#[template(
    source = "<!doctype html><title>ctpvx console: error</title><h1>Something could not be read</h1><p>{{ what }}</p><p><a href=\"/\">Overview</a></p>",
    ext = "html"
)]
struct Failure<'a> {
    what: &'a str,
}

/// A failure as a page (a store or queue that cannot be read), never a panic.
pub fn failure(what: String) -> Response {
    tracing::warn!(error = %what, "console page failed");
    let page = Failure { what: &what }
        .render()
        .unwrap_or_else(|_| "Something could not be read".into());
    (StatusCode::INTERNAL_SERVER_ERROR, Html(page)).into_response()
}

/// An instant as RFC 3339.
pub fn at(at_ms: i64) -> String {
    timestamp(at_ms)
}

/// How long ago, roughly: `40 s`, `12 min`, `3 h 5 min`, `2 d 4 h`.
pub fn age(at_ms: i64, now_ms: i64) -> String {
    let s = (now_ms - at_ms).max(0) / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::{age, failure};

    #[tokio::test]
    async fn a_failure_page_escapes_what_it_names() {
        let page = failure("queue <orders-dlq> & \"x\"".into());
        assert_eq!(page.status(), 500);
        let body = axum::body::to_bytes(page.into_body(), 10_000)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains("queue &#60;orders-dlq&#62; &#38;"), "{body}");
        assert!(!body.contains("<orders-dlq>"), "{body}");
    }

    #[test]
    fn ages_read_as_people_say_them() {
        assert_eq!(age(0, 40_000), "40 s");
        assert_eq!(age(0, 12 * 60_000), "12 min");
        assert_eq!(age(0, 3 * 3_600_000 + 5 * 60_000), "3 h 5 min");
        assert_eq!(age(0, 2 * 86_400_000 + 4 * 3_600_000), "2 d 4 h");
        assert_eq!(age(10, 0), "0 s");
    }
}
