//! The simulator's SOAP 1.1 wire format: reading request envelopes (namespace-resolved, as
//! ASMX's XmlSerializer does) and writing IntegrationResponse answers and faults.

use std::io;

use quick_xml::Writer;
use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// The service namespace.
pub const PVX_NS: &str = "http://www.peoplevox.net/";
/// SOAP 1.1 envelope namespace.
pub const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// An element with its resolved namespace, concatenated text and children.
#[derive(Debug, Default, Clone)]
pub struct Element {
    /// Namespace URI, if bound.
    pub ns: Option<String>,
    /// Local name.
    pub name: String,
    /// Unescaped, EOL-normalised text directly inside the element.
    pub text: String,
    /// Child elements in order.
    pub children: Vec<Element>,
}

impl Element {
    /// The first child with this namespace and local name (case-sensitive, like
    /// XmlSerializer: a child in another namespace or casing is simply not seen).
    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children
            .iter()
            .find(|c| c.name == name && c.ns.as_deref() == Some(ns))
    }

    /// The text of a service-namespace child, if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.child(PVX_NS, name).map(|c| c.text.as_str())
    }
}

/// A parsed request: the session header, if any, and the operation element of the Body.
#[derive(Debug)]
pub struct Request {
    /// `UserSessionCredentials/SessionId`.
    pub session_id: Option<String>,
    /// The first element of the Body.
    pub operation: Element,
}

/// Reads a SOAP 1.1 request; the error text becomes the fault string.
pub fn parse_request(body: &str) -> Result<Request, String> {
    let root = parse_tree(body)?;
    if root.name != "Envelope" || root.ns.as_deref() != Some(SOAP_ENV_NS) {
        return Err(format!(
            "<{} xmlns='{}'> was not expected: expected a SOAP 1.1 Envelope",
            root.name,
            root.ns.as_deref().unwrap_or_default()
        ));
    }
    let session_id = root
        .child(SOAP_ENV_NS, "Header")
        .and_then(|h| h.child(PVX_NS, "UserSessionCredentials"))
        .and_then(|c| c.param("SessionId"))
        .map(str::to_string);
    let operation = root
        .child(SOAP_ENV_NS, "Body")
        .and_then(|b| b.children.first())
        .cloned()
        .ok_or("the SOAP Body is empty")?;
    Ok(Request {
        session_id,
        operation,
    })
}

fn parse_tree(body: &str) -> Result<Element, String> {
    let mut reader = NsReader::from_str(body.trim_start_matches('\u{feff}'));
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(|e| e.to_string())?;
        let ns = match ns {
            ResolveResult::Bound(ns) => Some(ns.0.to_string()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(prefix) => return Err(format!("unknown prefix '{prefix}'")),
        };
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err("content after the root element".into());
            }
            Event::Start(start) => stack.push(Element {
                ns,
                name: start.local_name().as_ref().to_string(),
                ..Element::default()
            }),
            Event::Empty(start) => {
                let element = Element {
                    ns,
                    name: start.local_name().as_ref().to_string(),
                    ..Element::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::End(_) => {
                let element = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::Text(text) => match stack.last_mut() {
                Some(element) => element.text.push_str(&text.xml10_content()),
                None if text.trim().is_empty() => {}
                None => return Err("data at the root level is invalid".into()),
            },
            Event::CData(data) => {
                if let Some(element) = stack.last_mut() {
                    element.text.push_str(&data.xml10_content());
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => resolve_xml_entity(&reference)
                        .ok_or_else(|| format!("reference to undeclared entity '{}'", &*reference))?
                        .to_string(),
                };
                if let Some(element) = stack.last_mut() {
                    element.text.push_str(&resolved);
                }
            }
            Event::DocType(_) => return Err("DTDs are not allowed".into()),
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err("unexpected end of file".into());
    }
    root.ok_or_else(|| "root element is missing".into())
}

/// One `IntegrationStatusResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The record key.
    pub reference: String,
    /// `Success` or `Error`.
    pub success: bool,
}

/// The fields of an IntegrationResponse.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// 0 or -1.
    pub response_id: i64,
    /// See the WSDL.
    pub total_count: i64,
    /// `None` leaves the element out, as .NET does for a null string.
    pub detail: Option<String>,
    /// `None` leaves the element out.
    pub statuses: Option<Vec<Status>>,
}

impl Answer {
    /// `ResponseId` 0 with this detail.
    pub fn ok(total_count: i64, detail: impl Into<String>) -> Self {
        Self {
            response_id: 0,
            total_count,
            detail: Some(detail.into()),
            statuses: None,
        }
    }

    /// `ResponseId` -1 with this error text.
    pub fn error(detail: impl Into<String>) -> Self {
        Self {
            response_id: -1,
            total_count: 0,
            detail: Some(detail.into()),
            statuses: None,
        }
    }
}

/// `<soap:Envelope><soap:Body><OpResponse xmlns=…><OpResult>…` with every value escaped by
/// the writer.
pub fn write_answer(op: &str, answer: &Answer) -> String {
    write_document(|w| {
        let response = format!("{op}Response");
        let result = format!("{op}Result");
        w.write_event(Event::Start(
            BytesStart::new(response.as_str()).with_attributes([("xmlns", PVX_NS)]),
        ))?;
        w.write_event(Event::Start(BytesStart::new(result.as_str())))?;
        text(w, "ResponseId", &answer.response_id.to_string())?;
        text(w, "TotalCount", &answer.total_count.to_string())?;
        if let Some(detail) = &answer.detail {
            text(w, "Detail", detail)?;
        }
        if let Some(statuses) = &answer.statuses {
            w.write_event(Event::Start(BytesStart::new("Statuses")))?;
            for status in statuses {
                w.write_event(Event::Start(BytesStart::new("IntegrationStatusResponse")))?;
                text(w, "Reference", &status.reference)?;
                text(
                    w,
                    "Status",
                    if status.success { "Success" } else { "Error" },
                )?;
                w.write_event(Event::End(BytesEnd::new("IntegrationStatusResponse")))?;
            }
            w.write_event(Event::End(BytesEnd::new("Statuses")))?;
        }
        w.write_event(Event::End(BytesEnd::new(result.as_str())))?;
        w.write_event(Event::End(BytesEnd::new(response.as_str())))
    })
}

/// A SOAP 1.1 fault, as ASMX writes it (sent with HTTP 500).
pub fn write_fault(code: &str, message: &str) -> String {
    write_document(|w| {
        w.write_event(Event::Start(BytesStart::new("soap:Fault")))?;
        text(w, "faultcode", code)?;
        text(w, "faultstring", message)?;
        w.write_event(Event::Empty(BytesStart::new("detail")))?;
        w.write_event(Event::End(BytesEnd::new("soap:Fault")))
    })
}

fn write_document(body: impl FnOnce(&mut Writer<Vec<u8>>) -> io::Result<()>) -> String {
    let mut w = Writer::new(Vec::new());
    let result = (|| -> io::Result<()> {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
        w.write_event(Event::Start(
            BytesStart::new("soap:Envelope").with_attributes([
                ("xmlns:soap", SOAP_ENV_NS),
                ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
                ("xmlns:xsd", "http://www.w3.org/2001/XMLSchema"),
            ]),
        ))?;
        w.write_event(Event::Start(BytesStart::new("soap:Body")))?;
        body(&mut w)?;
        w.write_event(Event::End(BytesEnd::new("soap:Body")))?;
        w.write_event(Event::End(BytesEnd::new("soap:Envelope")))
    })();
    // Writing into a Vec cannot fail; an empty body would surface as a client decode error.
    match result {
        Ok(()) => String::from_utf8(w.into_inner()).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Text content; quick-xml escapes `&<>"'` and `\r` (as `&#13;`, so CRs inside values
/// survive the client's end-of-line normalisation).
fn text(w: &mut Writer<Vec<u8>>, name: &str, value: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_namespaced_requests_with_any_prefix() {
        let body = r#"<?xml version="1.0"?><e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" xmlns:p="http://www.peoplevox.net/"><e:Header><p:UserSessionCredentials><p:UserId>0</p:UserId><p:SessionId>abc</p:SessionId></p:UserSessionCredentials></e:Header><e:Body><p:SaveData><p:saveRequest><p:CsvData>a&amp;b&#13;
c</p:CsvData><Action>2</Action></p:saveRequest></p:SaveData></e:Body></e:Envelope>"#;
        let request = parse_request(body).unwrap();
        assert_eq!(request.session_id.as_deref(), Some("abc"));
        assert_eq!(request.operation.name, "SaveData");
        let save = request.operation.child(PVX_NS, "saveRequest").unwrap();
        assert_eq!(save.param("CsvData"), Some("a&b\r\nc"));
        // Unqualified: XmlSerializer would not see it.
        assert_eq!(save.param("Action"), None);
    }

    #[test]
    fn malformed_xml_is_an_error() {
        assert!(parse_request("<soap:Envelope").is_err());
        assert!(parse_request("not xml").is_err());
        assert!(parse_request("<Envelope/>").is_err());
    }

    #[test]
    fn answers_escape_detail() {
        let xml = write_answer("GetData", &Answer::ok(1, "a&b<c>\r\n"));
        assert!(xml.contains(
            "<GetDataResponse xmlns=\"http://www.peoplevox.net/\"><GetDataResult><ResponseId>0</ResponseId><TotalCount>1</TotalCount><Detail>a&amp;b&lt;c&gt;&#13;\n</Detail></GetDataResult></GetDataResponse>"
        ));
    }
}
