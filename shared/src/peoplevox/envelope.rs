//! SOAP 1.1 request envelopes of the Peoplevox integration service, written with quick-xml so
//! that every value is XML-escaped by the writer (CSV included).

use std::io;

use base64::Engine as _;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::error::PvxError;
use super::types::{ReportQuery, SaveAction};

/// Target namespace of the service (WSDL).
pub const PVX_NS: &str = "http://www.peoplevox.net/";
/// SOAP 1.1 envelope namespace.
pub const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The Content-Type of every request.
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// The eight operations of the 2017 `integrationservicev4.asmx`, and the sites-filter subscribe
/// live tenants publish (see [`super::wsdl`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Opens a session.
    Authenticate,
    /// Exports an integration template.
    GetData,
    /// Exports a report.
    GetReportData,
    /// Returns a template's field names.
    GetSaveTemplate,
    /// Imports CSV into a template.
    SaveData,
    /// Registers a GET callback.
    SubscribeEvent,
    /// Registers a POST callback.
    SubscribePostEvent,
    /// Registers a GET callback for the sites a `sitesFilter` names (peep_conn 0b05be4).
    SubscribeEventWithSitesFilters,
    /// Removes a callback.
    UnsubscribeEvent,
}

impl Operation {
    /// The operation name, as in the WSDL.
    pub fn name(self) -> &'static str {
        match self {
            Self::Authenticate => "Authenticate",
            Self::GetData => "GetData",
            Self::GetReportData => "GetReportData",
            Self::GetSaveTemplate => "GetSaveTemplate",
            Self::SaveData => "SaveData",
            Self::SubscribeEvent => "SubscribeEvent",
            Self::SubscribePostEvent => "SubscribePostEvent",
            Self::SubscribeEventWithSitesFilters => "SubscribeEventWithSitesFilters",
            Self::UnsubscribeEvent => "UnsubscribeEvent",
        }
    }

    /// The value of the `SOAPAction` header, quoted as SOAP 1.1 (§6.1.1) and .NET send it.
    pub fn soap_action(self) -> String {
        format!("\"{PVX_NS}{}\"", self.name())
    }

    /// Whether a repeat of this call could apply a change twice (so it is never retried
    /// blindly). Unsubscribing twice is harmless, so it counts as a read.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Self::SaveData
                | Self::SubscribeEvent
                | Self::SubscribePostEvent
                | Self::SubscribeEventWithSitesFilters
        )
    }
}

/// The `UserSessionCredentials` header sent on every call but Authenticate.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    /// The tenant's client id.
    pub client_id: &'a str,
    /// The session id from Authenticate.
    pub session_id: &'a str,
}

/// A request ready to POST.
#[derive(Clone)]
pub struct Envelope {
    /// Which operation it calls.
    pub operation: Operation,
    /// The XML document.
    pub body: String,
}

// Deliberately no Debug on the body: it carries the session id, the password or CSV.
impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope")
            .field("operation", &self.operation)
            .field("bytes", &self.body.len())
            .finish()
    }
}

/// `Authenticate`; the password is base64-encoded here, as the service requires.
pub fn authenticate(client_id: &str, username: &str, password: &str) -> Result<Envelope, PvxError> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(password.as_bytes());
    build(Operation::Authenticate, None, |w| {
        text(w, "clientId", client_id)?;
        text(w, "username", username)?;
        text(w, "password", &encoded)
    })
}

/// `GetData` with a `getRequest`.
pub fn get_data(
    creds: Credentials<'_>,
    template: &str,
    page_no: u32,
    items_per_page: u32,
    search_clause: &str,
) -> Result<Envelope, PvxError> {
    build(Operation::GetData, Some(creds), |w| {
        parent(w, "getRequest", |w| {
            get_request_fields(w, template, page_no, items_per_page, search_clause)
        })
    })
}

/// `GetReportData` with a `getReportRequest` (GetRequest plus filter, order and columns).
pub fn get_report_data(creds: Credentials<'_>, query: &ReportQuery) -> Result<Envelope, PvxError> {
    build(Operation::GetReportData, Some(creds), |w| {
        parent(w, "getReportRequest", |w| {
            get_request_fields(
                w,
                &query.template,
                query.page_no,
                query.items_per_page,
                &query.search_clause,
            )?;
            text(w, "FilterClause", &query.filter_clause)?;
            text(w, "OrderBy", &query.order_by)?;
            text(w, "Columns", &query.columns)
        })
    })
}

/// `GetSaveTemplate`.
pub fn get_save_template(creds: Credentials<'_>, template: &str) -> Result<Envelope, PvxError> {
    build(Operation::GetSaveTemplate, Some(creds), |w| {
        text(w, "templateName", template)
    })
}

/// `SaveData` with a `saveRequest`; `csv` goes into `CsvData` escaped by the writer.
pub fn save_data(
    creds: Credentials<'_>,
    template: &str,
    csv: &str,
    action: SaveAction,
) -> Result<Envelope, PvxError> {
    build(Operation::SaveData, Some(creds), |w| {
        parent(w, "saveRequest", |w| {
            text(w, "TemplateName", template)?;
            text(w, "CsvData", csv)?;
            text(w, "Action", &action.code().to_string())
        })
    })
}

/// A subscribe request's elements, as values by element name: [`subscribe`] writes those the
/// tenant's WSDL declares, in its order.
#[derive(Debug, Clone, Copy)]
pub struct SubscribeFields<'a> {
    /// `eventType`.
    pub event_type: &'a str,
    /// `filter` (SubscribeEvent, SubscribePostEvent) or `sitesFilter`
    /// (SubscribeEventWithSitesFilters).
    pub filter: &'a str,
    /// `callbackUrl` (GET) or `postUrl` (POST), placeholders included.
    pub url: &'a str,
    /// `postParams` (POST only).
    pub post_params: Option<&'a str>,
    /// `encodeParameterData`, sent only where the WSDL declares it.
    pub encode_parameter_data: Option<bool>,
}

impl SubscribeFields<'_> {
    /// The value of one element of `operation`'s request, if this request has one.
    fn value(&self, operation: Operation, element: &str) -> Option<String> {
        let post = operation == Operation::SubscribePostEvent;
        let sites = operation == Operation::SubscribeEventWithSitesFilters;
        match element {
            "eventType" => Some(self.event_type.to_string()),
            "filter" if !sites => Some(self.filter.to_string()),
            "sitesFilter" if sites => Some(self.filter.to_string()),
            "callbackUrl" if !post => Some(self.url.to_string()),
            "postUrl" if post => Some(self.url.to_string()),
            "postParams" if post => self.post_params.map(str::to_string),
            "encodeParameterData" => self.encode_parameter_data.map(|b| b.to_string()),
            _ => None,
        }
    }
}

/// A subscribe operation (`SubscribeEvent`, `SubscribePostEvent`,
/// `SubscribeEventWithSitesFilters`) with the elements of `sequence` (the tenant's WSDL order)
/// this request has a value for. A value the sequence cannot carry (a sites filter, or
/// `encodeParameterData`, on a tenant without that element) is an error, never dropped.
pub fn subscribe(
    creds: Credentials<'_>,
    operation: Operation,
    sequence: &[String],
    fields: &SubscribeFields<'_>,
) -> Result<Envelope, PvxError> {
    let required = [
        "eventType",
        match operation {
            Operation::SubscribePostEvent => "postUrl",
            _ => "callbackUrl",
        },
    ];
    let mut must_carry: Vec<&str> = required.to_vec();
    if operation == Operation::SubscribeEventWithSitesFilters {
        must_carry.push("sitesFilter");
    } else if !fields.filter.is_empty() {
        must_carry.push("filter");
    }
    if fields.encode_parameter_data.is_some() {
        must_carry.push("encodeParameterData");
    }
    if operation == Operation::SubscribePostEvent {
        must_carry.push("postParams");
    }
    if let Some(missing) = must_carry
        .iter()
        .find(|e| !sequence.iter().any(|s| s == *e))
    {
        return Err(PvxError::Encode(format!(
            "the tenant's WSDL declares no `{missing}` on {}",
            operation.name()
        )));
    }
    build(operation, Some(creds), |w| {
        for element in sequence {
            if let Some(value) = fields.value(operation, element) {
                text(w, element, &value)?;
            }
        }
        Ok(())
    })
}

/// `UnsubscribeEvent`.
pub fn unsubscribe_event(
    creds: Credentials<'_>,
    subscription_id: i64,
) -> Result<Envelope, PvxError> {
    build(Operation::UnsubscribeEvent, Some(creds), |w| {
        text(w, "subscriptionId", &subscription_id.to_string())
    })
}

type XmlWriter = Writer<Vec<u8>>;

fn build(
    operation: Operation,
    creds: Option<Credentials<'_>>,
    body: impl FnOnce(&mut XmlWriter) -> io::Result<()>,
) -> Result<Envelope, PvxError> {
    let mut w = Writer::new(Vec::new());
    write_envelope(&mut w, operation, creds, body).map_err(|e| PvxError::Encode(e.to_string()))?;
    let body = String::from_utf8(w.into_inner()).map_err(|e| PvxError::Encode(e.to_string()))?;
    Ok(Envelope { operation, body })
}

fn write_envelope(
    w: &mut XmlWriter,
    operation: Operation,
    creds: Option<Credentials<'_>>,
    body: impl FnOnce(&mut XmlWriter) -> io::Result<()>,
) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    w.write_event(Event::Start(
        BytesStart::new("soap:Envelope").with_attributes([("xmlns:soap", SOAP_ENV_NS)]),
    ))?;
    if let Some(creds) = creds {
        parent(w, "soap:Header", |w| {
            w.write_event(Event::Start(
                BytesStart::new("UserSessionCredentials").with_attributes([("xmlns", PVX_NS)]),
            ))?;
            // UserId is a required nillable int; the service keys on SessionId, and the known
            // clients send 0.
            text(w, "UserId", "0")?;
            text(w, "ClientId", creds.client_id)?;
            text(w, "SessionId", creds.session_id)?;
            w.write_event(Event::End(BytesEnd::new("UserSessionCredentials")))
        })?;
    }
    parent(w, "soap:Body", |w| {
        w.write_event(Event::Start(
            BytesStart::new(operation.name()).with_attributes([("xmlns", PVX_NS)]),
        ))?;
        body(w)?;
        w.write_event(Event::End(BytesEnd::new(operation.name())))
    })?;
    w.write_event(Event::End(BytesEnd::new("soap:Envelope")))
}

fn get_request_fields(
    w: &mut XmlWriter,
    template: &str,
    page_no: u32,
    items_per_page: u32,
    search_clause: &str,
) -> io::Result<()> {
    text(w, "TemplateName", template)?;
    text(w, "PageNo", &page_no.to_string())?;
    text(w, "ItemsPerPage", &items_per_page.to_string())?;
    text(w, "SearchClause", search_clause)
}

fn parent(
    w: &mut XmlWriter,
    name: &str,
    inner: impl FnOnce(&mut XmlWriter) -> io::Result<()>,
) -> io::Result<()> {
    w.create_element(name).write_inner_content(inner)?;
    Ok(())
}

/// One element with text content. The writer escapes `&`, `<`, `>`, quotes and `\r` (as
/// `&#13;`, so that XML end-of-line normalisation cannot turn CRLF inside a value into LF).
fn text(w: &mut XmlWriter, name: &str, value: &str) -> io::Result<()> {
    check_xml_chars(name, value)?;
    w.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

/// XML 1.0 cannot carry most control characters, not even as character references; the
/// service would answer with a fault, so refuse early with a message that names the field
/// but not the value (values can be personal data).
fn check_xml_chars(name: &str, value: &str) -> io::Result<()> {
    let bad = value.chars().find(|&c| {
        matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
    });
    match bad {
        Some(c) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{name} contains the character U+{:04X}, which XML 1.0 cannot carry",
                c as u32
            ),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREDS: Credentials<'static> = Credentials {
        client_id: "acme",
        session_id: "S-123",
    };

    #[test]
    fn authenticate_snapshot() {
        let env = authenticate("acme", "integration", "p&ss<wörd>").unwrap();
        assert_eq!(env.operation, Operation::Authenticate);
        assert_eq!(
            env.body,
            concat!(
                r#"<?xml version="1.0" encoding="utf-8"?>"#,
                r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">"#,
                r#"<soap:Body><Authenticate xmlns="http://www.peoplevox.net/">"#,
                r#"<clientId>acme</clientId><username>integration</username>"#,
                r#"<password>cCZzczx3w7ZyZD4=</password>"#,
                r#"</Authenticate></soap:Body></soap:Envelope>"#
            )
        );
    }

    #[test]
    fn save_data_snapshot_escapes_csv() {
        let csv = "SalesOrderNumber,Notes\r\nA&1,\"say \"\"hi\"\" <now>, ok\r\nbye\"\r\n";
        let env = save_data(CREDS, "Sales orders", csv, SaveAction::Upsert).unwrap();
        assert_eq!(
            env.body,
            concat!(
                r#"<?xml version="1.0" encoding="utf-8"?>"#,
                r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">"#,
                r#"<soap:Header><UserSessionCredentials xmlns="http://www.peoplevox.net/">"#,
                r#"<UserId>0</UserId><ClientId>acme</ClientId><SessionId>S-123</SessionId>"#,
                r#"</UserSessionCredentials></soap:Header>"#,
                r#"<soap:Body><SaveData xmlns="http://www.peoplevox.net/"><saveRequest>"#,
                r#"<TemplateName>Sales orders</TemplateName>"#,
                "<CsvData>SalesOrderNumber,Notes&#13;\nA&amp;1,&quot;say &quot;&quot;hi&quot;&quot; ",
                "&lt;now&gt;, ok&#13;\nbye&quot;&#13;\n</CsvData>",
                r#"<Action>0</Action></saveRequest></SaveData></soap:Body></soap:Envelope>"#
            )
        );
    }

    #[test]
    fn get_report_data_snapshot() {
        let query = ReportQuery {
            template: "Item inventory summary".into(),
            page_no: 1,
            items_per_page: 500,
            search_clause: String::new(),
            filter_clause: r#"([Site reference].Equals("PrimarySite"))"#.into(),
            order_by: "[Item code] asc".into(),
            columns: "[Item code],[Available]".into(),
        };
        let env = get_report_data(CREDS, &query).unwrap();
        assert!(env.body.contains(concat!(
            r#"<GetReportData xmlns="http://www.peoplevox.net/"><getReportRequest>"#,
            r#"<TemplateName>Item inventory summary</TemplateName><PageNo>1</PageNo>"#,
            r#"<ItemsPerPage>500</ItemsPerPage><SearchClause></SearchClause>"#,
            r#"<FilterClause>([Site reference].Equals(&quot;PrimarySite&quot;))</FilterClause>"#,
            r#"<OrderBy>[Item code] asc</OrderBy><Columns>[Item code],[Available]</Columns>"#,
            r#"</getReportRequest></GetReportData>"#
        )));
    }

    #[test]
    fn other_operations_have_their_wsdl_elements() {
        let env = get_data(CREDS, "Item types", 2, 100, "").unwrap();
        assert!(env.body.contains("<GetData xmlns=\"http://www.peoplevox.net/\"><getRequest><TemplateName>Item types</TemplateName><PageNo>2</PageNo><ItemsPerPage>100</ItemsPerPage><SearchClause></SearchClause></getRequest></GetData>"));
        let env = get_save_template(CREDS, "Sales orders").unwrap();
        assert!(
            env.body
                .contains("<templateName>Sales orders</templateName>")
        );
        let seq = |e: &[&str]| e.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let get = SubscribeFields {
            event_type: "AvailabilityChanges",
            filter: "",
            url: "https://x/cb?a={ItemCode}&b=1",
            post_params: None,
            encode_parameter_data: None,
        };
        let env = subscribe(
            CREDS,
            Operation::SubscribeEvent,
            &seq(&["eventType", "filter", "callbackUrl"]),
            &get,
        )
        .unwrap();
        assert!(env.body.contains("<eventType>AvailabilityChanges</eventType><filter></filter><callbackUrl>https://x/cb?a={ItemCode}&amp;b=1</callbackUrl>"));
        let post = SubscribeFields {
            event_type: "Returns",
            url: "https://x/p",
            post_params: Some("k={Reference}"),
            ..get
        };
        let env = subscribe(
            CREDS,
            Operation::SubscribePostEvent,
            &seq(&["eventType", "filter", "postUrl", "postParams"]),
            &post,
        )
        .unwrap();
        assert!(
            env.body
                .contains("<postUrl>https://x/p</postUrl><postParams>k={Reference}</postParams>")
        );
        let env = unsubscribe_event(CREDS, 42).unwrap();
        assert!(env.body.contains("<subscriptionId>42</subscriptionId>"));
        assert_eq!(
            Operation::SaveData.soap_action(),
            "\"http://www.peoplevox.net/SaveData\""
        );
    }

    #[test]
    fn subscribe_follows_the_tenants_sequence_and_never_drops_a_value() {
        let seq = |e: &[&str]| e.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let fields = SubscribeFields {
            event_type: "AvailabilityChanges",
            filter: r#"Site.Reference = "UK \"DC\"""#,
            url: "https://x/cb?item={ItemCode}",
            post_params: None,
            encode_parameter_data: Some(true),
        };
        let live = seq(&[
            "eventType",
            "sitesFilter",
            "callbackUrl",
            "encodeParameterData",
        ]);
        let env = subscribe(
            CREDS,
            Operation::SubscribeEventWithSitesFilters,
            &live,
            &fields,
        )
        .unwrap();
        assert!(env.body.contains(concat!(
            r#"<SubscribeEventWithSitesFilters xmlns="http://www.peoplevox.net/">"#,
            "<eventType>AvailabilityChanges</eventType>",
            r#"<sitesFilter>Site.Reference = &quot;UK \&quot;DC\&quot;&quot;</sitesFilter>"#,
            "<callbackUrl>https://x/cb?item={ItemCode}</callbackUrl>",
            "<encodeParameterData>true</encodeParameterData>",
            "</SubscribeEventWithSitesFilters>"
        )));
        assert_eq!(
            Operation::SubscribeEventWithSitesFilters.soap_action(),
            "\"http://www.peoplevox.net/SubscribeEventWithSitesFilters\""
        );
        assert!(Operation::SubscribeEventWithSitesFilters.is_write());
        // The 2017 sequence has neither the sites filter nor encodeParameterData.
        let old = seq(&["eventType", "filter", "callbackUrl"]);
        let e = subscribe(
            CREDS,
            Operation::SubscribeEventWithSitesFilters,
            &old,
            &fields,
        )
        .unwrap_err();
        assert!(e.to_string().contains("sitesFilter"), "{e}");
        let plain = SubscribeFields {
            filter: "",
            ..fields
        };
        let e = subscribe(CREDS, Operation::SubscribeEvent, &old, &plain).unwrap_err();
        assert!(e.to_string().contains("encodeParameterData"), "{e}");
    }

    #[test]
    fn control_characters_are_refused_without_echoing_the_value() {
        let err = save_data(CREDS, "Sales orders", "a\u{1}secret", SaveAction::Upsert).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("CsvData"), "{message}");
        assert!(message.contains("U+0001"), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }
}
