//! Reading Peoplevox answers: `<Op>Response/<Op>Result` (an IntegrationResponse), SOAP
//! faults, and the HTML pages that sometimes come back instead.
//!
//! Elements are matched by local name, so any prefix or namespace declaration style works.

use quick_xml::Reader;
use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::Event;

use super::envelope::Operation;
use super::error::PvxError;
use super::types::RecordStatus;

/// An IntegrationResponse, the shape of every operation's result.
#[derive(Clone, PartialEq, Eq)]
pub struct IntegrationResponse {
    /// 0 on success, -1 on failure.
    pub response_id: i64,
    /// Matching rows (GetData/GetReportData), saved records (SaveData), 1 (Authenticate).
    pub total_count: i64,
    /// CSV, a header line, an id, `True`, or the error text; empty when absent or nil.
    pub detail: String,
    /// Per-record results (SaveData); `None` when absent or nil.
    pub statuses: Option<Vec<RecordStatus>>,
}

// Detail holds CSV (personal data) or a session id: print only its size.
impl std::fmt::Debug for IntegrationResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntegrationResponse")
            .field("response_id", &self.response_id)
            .field("total_count", &self.total_count)
            .field("detail_bytes", &self.detail.len())
            .field("statuses", &self.statuses.as_ref().map(Vec::len))
            .finish()
    }
}

impl IntegrationResponse {
    /// `ResponseId` is 0.
    pub fn is_ok(&self) -> bool {
        self.response_id == 0
    }

    /// A failure because the session is unknown or expired: `System : Security - Invalid
    /// Session` / `System : Security - Session Expired`, matched loosely because the exact
    /// wording is only known from third-party clients.
    pub fn is_session_error(&self) -> bool {
        if self.is_ok() {
            return false;
        }
        let detail = self.detail.to_ascii_lowercase();
        detail.contains("session") && (detail.contains("invalid") || detail.contains("expired"))
    }
}

/// Parses the body of an HTTP 200 answer to `op`.
pub fn parse(op: Operation, body: &str) -> Result<IntegrationResponse, PvxError> {
    let decode = |reason: String| PvxError::Decode {
        operation: op.name(),
        reason,
    };
    if looks_like_html(body) {
        return Err(decode(format!(
            "got an HTML page instead of SOAP ({})",
            summarize(body)
        )));
    }
    let root = parse_tree(body).map_err(|e| decode(format!("not well-formed XML: {e}")))?;
    if root.name != "Envelope" {
        return Err(decode(format!(
            "expected a SOAP Envelope, got <{}>",
            root.name
        )));
    }
    let payload = root
        .child("Body")
        .and_then(|b| b.children.first())
        .ok_or_else(|| decode("the SOAP Body is empty".into()))?;
    if payload.name == "Fault" {
        return Err(fault_error(payload));
    }
    let response_name = format!("{}Response", op.name());
    if payload.name != response_name {
        return Err(decode(format!(
            "expected <{response_name}>, got <{}>",
            payload.name
        )));
    }
    let result_name = format!("{}Result", op.name());
    let result = payload
        .child(&result_name)
        .filter(|r| !r.nil)
        .ok_or_else(|| decode(format!("<{result_name}> is missing")))?;
    let int = |name: &str| -> Result<i64, PvxError> {
        let node = result
            .child(name)
            .ok_or_else(|| decode(format!("<{name}> is missing")))?;
        node.text
            .trim()
            .parse::<i64>()
            .map_err(|_| decode(format!("<{name}> is not an integer")))
    };
    let response_id = int("ResponseId")?;
    let total_count = int("TotalCount")?;
    let detail = result
        .child("Detail")
        .filter(|d| !d.nil)
        .map(|d| d.text.clone())
        .unwrap_or_default();
    let statuses = result.child("Statuses").filter(|s| !s.nil).map(|s| {
        s.children
            .iter()
            .filter(|c| c.name == "IntegrationStatusResponse" && !c.nil)
            .map(|c| RecordStatus {
                reference: c
                    .child("Reference")
                    .map(|r| r.text.clone())
                    .unwrap_or_default(),
                // Anything but an explicit Success counts as a failure: never assume a write.
                success: c
                    .child("Status")
                    .is_some_and(|s| s.text.trim().eq_ignore_ascii_case("Success")),
            })
            .collect()
    });
    Ok(IntegrationResponse {
        response_id,
        total_count,
        detail,
        statuses,
    })
}

/// The SOAP fault in a (usually HTTP 500) body, if the body is one.
pub fn parse_fault(body: &str) -> Option<PvxError> {
    if looks_like_html(body) {
        return None;
    }
    let root = parse_tree(body).ok()?;
    if root.name != "Envelope" {
        return None;
    }
    let payload = root.child("Body")?.children.first()?;
    (payload.name == "Fault").then(|| fault_error(payload))
}

/// A short description of a non-SOAP body that is safe to log: an HTML page's title, or
/// just its size (bodies may echo data).
pub fn summarize(body: &str) -> String {
    if let Some(title) = html_title(body) {
        let title: String = title.split_whitespace().collect::<Vec<_>>().join(" ");
        let title: String = title.chars().take(120).collect();
        return format!("HTML page titled \"{title}\"");
    }
    if looks_like_html(body) {
        return format!("HTML page of {} bytes", body.len());
    }
    format!("body of {} bytes", body.len())
}

fn fault_error(fault: &Node) -> PvxError {
    // SOAP 1.1: faultcode/faultstring; SOAP 1.2: Code/Value and Reason/Text.
    let code = fault
        .child("faultcode")
        .map(|c| c.text.trim().to_string())
        .or_else(|| {
            fault
                .child("Code")
                .and_then(|c| c.child("Value"))
                .map(|v| v.text.trim().to_string())
        })
        .unwrap_or_default();
    let message = fault
        .child("faultstring")
        .map(|s| s.text.trim().to_string())
        .or_else(|| {
            fault
                .child("Reason")
                .and_then(|r| r.child("Text"))
                .map(|t| t.text.trim().to_string())
        })
        .unwrap_or_default();
    let message: String = message.chars().take(500).collect();
    PvxError::SoapFault { code, message }
}

fn looks_like_html(body: &str) -> bool {
    let head: String = body
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .take(14)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

fn html_title(body: &str) -> Option<&str> {
    let lower = body.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower.get(start..)?.find("</title>")?;
    body.get(start..end)
}

/// A minimal element tree: local name, concatenated unescaped text, children, `xsi:nil`.
#[derive(Debug, Default)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
    nil: bool,
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }
}

fn parse_tree(body: &str) -> Result<Node, String> {
    let mut reader = Reader::from_str(body.trim_start_matches('\u{feff}'));
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(start) => {
                if root.is_some() {
                    return Err("content after the root element".into());
                }
                stack.push(start_node(&start)?);
            }
            Event::Empty(start) => {
                if root.is_some() {
                    return Err("content after the root element".into());
                }
                let node = start_node(&start)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::End(_) => {
                let node = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(text) => {
                if let Some(node) = stack.last_mut() {
                    // XML end-of-line normalisation, as any conforming parser does.
                    node.text.push_str(&text.xml10_content());
                } else if !text.trim().is_empty() {
                    return Err("text outside the root element".into());
                }
            }
            Event::CData(data) => {
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&data.xml10_content());
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => resolve_xml_entity(&reference)
                        .ok_or_else(|| format!("unknown entity &{};", &*reference))?
                        .to_string(),
                };
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err("unexpected end of document".into());
    }
    root.ok_or_else(|| "no root element".into())
}

fn start_node(start: &quick_xml::events::BytesStart<'_>) -> Result<Node, String> {
    let mut nil = false;
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        if attr.key.local_name().as_ref() == "nil" && attr.value.trim() == "true" {
            nil = true;
        }
    }
    Ok(Node {
        name: start.local_name().as_ref().to_string(),
        nil,
        ..Node::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(op: &str, result: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body><{op}Response xmlns="http://www.peoplevox.net/"><{op}Result>{result}</{op}Result></{op}Response></soap:Body></soap:Envelope>"#
        )
    }

    #[test]
    fn parses_an_integration_response_with_escaped_csv() {
        let body = wrap(
            "GetData",
            "<ResponseId>0</ResponseId><TotalCount>2</TotalCount><Detail>ItemCode,Name&#13;\nA&amp;B,&quot;x, &lt;y&gt;&quot;\r\n</Detail>",
        );
        let r = parse(Operation::GetData, &body).unwrap();
        assert!(r.is_ok());
        assert_eq!(r.total_count, 2);
        // &#13; survives; a raw CRLF is normalised to LF.
        assert_eq!(r.detail, "ItemCode,Name\r\nA&B,\"x, <y>\"\n");
        assert_eq!(r.statuses, None);
    }

    #[test]
    fn parses_statuses_under_any_prefix() {
        let body = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><p:SaveDataResponse xmlns:p="http://www.peoplevox.net/"><p:SaveDataResult><p:ResponseId>-1</p:ResponseId><p:TotalCount>1</p:TotalCount><p:Detail>Line 2 failed</p:Detail><p:Statuses><p:IntegrationStatusResponse><p:Reference>SO-1</p:Reference><p:Status>Success</p:Status></p:IntegrationStatusResponse><p:IntegrationStatusResponse><p:Reference>SO-2</p:Reference><p:Status>Error</p:Status></p:IntegrationStatusResponse></p:Statuses></p:SaveDataResult></p:SaveDataResponse></s:Body></s:Envelope>"#;
        let r = parse(Operation::SaveData, body).unwrap();
        assert_eq!(r.response_id, -1);
        assert_eq!(
            r.statuses.unwrap(),
            vec![
                RecordStatus {
                    reference: "SO-1".into(),
                    success: true
                },
                RecordStatus {
                    reference: "SO-2".into(),
                    success: false
                },
            ]
        );
    }

    #[test]
    fn nil_and_empty_elements() {
        let body = wrap(
            "GetReportData",
            r#"<ResponseId>0</ResponseId><TotalCount>0</TotalCount><Detail /><Statuses xsi:nil="true" />"#,
        );
        let r = parse(Operation::GetReportData, &body).unwrap();
        assert_eq!(r.detail, "");
        assert_eq!(r.statuses, None);
    }

    #[test]
    fn session_errors_are_recognised() {
        for detail in [
            "System : Security - Invalid Session",
            "System : Security - Session Expired",
            "session EXPIRED",
        ] {
            let body = wrap(
                "GetData",
                &format!(
                    "<ResponseId>-1</ResponseId><TotalCount>0</TotalCount><Detail>{detail}</Detail>"
                ),
            );
            assert!(
                parse(Operation::GetData, &body).unwrap().is_session_error(),
                "{detail}"
            );
        }
        let body = wrap(
            "GetData",
            "<ResponseId>-1</ResponseId><TotalCount>0</TotalCount><Detail>Invalid search clause</Detail>",
        );
        assert!(!parse(Operation::GetData, &body).unwrap().is_session_error());
    }

    #[test]
    fn soap_fault_becomes_an_error_with_its_faultstring() {
        let body = r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>Server was unable to read request. ---&gt; There is an error in XML document (1, 40).</faultstring><detail /></soap:Fault></soap:Body></soap:Envelope>"#;
        match parse(Operation::GetData, body).unwrap_err() {
            PvxError::SoapFault { code, message } => {
                assert_eq!(code, "soap:Client");
                assert!(
                    message.starts_with("Server was unable to read request. --->"),
                    "{message}"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            parse_fault(body),
            Some(PvxError::SoapFault { .. })
        ));
    }

    #[test]
    fn html_and_garbage_are_clear_decode_errors() {
        let html = "<!DOCTYPE html><html><head><title>Runtime Error</title></head><body>boom</body></html>";
        let err = parse(Operation::GetData, html).unwrap_err();
        assert!(matches!(err, PvxError::Decode { .. }));
        assert!(
            err.to_string()
                .contains("HTML page titled \"Runtime Error\""),
            "{err}"
        );
        assert!(parse_fault(html).is_none());

        let err = parse(Operation::GetData, "Service Unavailable").unwrap_err();
        assert!(err.to_string().contains("not well-formed XML"), "{err}");

        let err = parse(Operation::GetData, "<a><b></a>").unwrap_err();
        assert!(matches!(err, PvxError::Decode { .. }), "{err}");

        let wrong_op = wrap(
            "GetData",
            "<ResponseId>0</ResponseId><TotalCount>0</TotalCount>",
        );
        let err = parse(Operation::SaveData, &wrong_op).unwrap_err();
        assert!(
            err.to_string().contains("expected <SaveDataResponse>"),
            "{err}"
        );

        let missing = wrap("GetData", "<TotalCount>0</TotalCount>");
        let err = parse(Operation::GetData, &missing).unwrap_err();
        assert!(err.to_string().contains("<ResponseId> is missing"), "{err}");
    }
}
