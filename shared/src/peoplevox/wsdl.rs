//! The tenant's service description, read from its live WSDL (`<endpoint>?WSDL`): which
//! operations its port types offer and the element sequence of each operation's request.
//!
//! Why at run time: live tenants publish operations the 2017 WSDL copy lacks
//! (finerylondon/peep_conn `lib/peep_conn/subscription.rb` calls
//! `SubscribeEventWithSitesFilters` from commit 0b05be4 to its HEAD; no public WSDL shows it),
//! and `encodeParameterData` is sent by melvin-hamilton-digital/peoplevox-api
//! `src/Api/Client.php` and Patchworks (DanielJ7744/Fabric-Laravel
//! `app/Http/Services/Webhook/PeoplevoxService.php`) but is absent from the 2017 copy. So
//! `ctpvx subscribe` and `check-config` ask the tenant rather than guess. A WSDL that cannot be
//! read leaves the 2017 operations assumed ([`ServiceDescription::assumed_2017`]), which
//! `check-config` reports.

use std::collections::{BTreeMap, BTreeSet};

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// WSDL 1.1 namespace.
const WSDL_NS: &str = "http://schemas.xmlsoap.org/wsdl/";
/// XML Schema namespace.
const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";

/// SubscribeEvent: a GET callback.
pub const SUBSCRIBE_EVENT: &str = "SubscribeEvent";
/// SubscribePostEvent: a POST callback.
pub const SUBSCRIBE_POST_EVENT: &str = "SubscribePostEvent";
/// SubscribeEventWithSitesFilters: a GET callback for the sites a `sitesFilter` names
/// (peep_conn 0b05be4: elements `eventType`, `sitesFilter`, `callbackUrl`).
pub const SUBSCRIBE_EVENT_WITH_SITES_FILTERS: &str = "SubscribeEventWithSitesFilters";
/// The element that asks Peoplevox to encode substituted values.
pub const ENCODE_PARAMETER_DATA: &str = "encodeParameterData";

/// Where a description came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Read from the tenant's `?WSDL`.
    Live,
    /// The WSDL could not be read (why); the 2017 operations are assumed.
    Assumed(String),
}

/// The operations of a tenant and the request elements of each, in sequence order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDescription {
    operations: BTreeSet<String>,
    requests: BTreeMap<String, Vec<String>>,
    /// Where it came from.
    pub origin: Origin,
}

impl ServiceDescription {
    /// The 2017 WSDL as committed in rjudin/opendespatch
    /// (`OpenDespatch.WindowsApp/Web References/PvxApi/integrationservicev4.wsdl`): eight
    /// operations, no sites filter, no `encodeParameterData`.
    pub fn assumed_2017(why: impl Into<String>) -> Self {
        let requests: BTreeMap<String, Vec<String>> = [
            ("Authenticate", &["clientId", "username", "password"][..]),
            ("GetData", &["getRequest"]),
            ("GetReportData", &["getReportRequest"]),
            ("GetSaveTemplate", &["templateName"]),
            ("SaveData", &["saveRequest"]),
            (SUBSCRIBE_EVENT, &["eventType", "filter", "callbackUrl"]),
            (
                SUBSCRIBE_POST_EVENT,
                &["eventType", "filter", "postUrl", "postParams"],
            ),
            ("UnsubscribeEvent", &["subscriptionId"]),
        ]
        .into_iter()
        .map(|(op, elements)| {
            (
                op.to_string(),
                elements.iter().map(|e| (*e).to_string()).collect(),
            )
        })
        .collect();
        Self {
            operations: requests.keys().cloned().collect(),
            requests,
            origin: Origin::Assumed(why.into()),
        }
    }

    /// A live description from its operations and their request sequences (for tests and
    /// tools that know the tenant).
    pub fn from_requests(requests: &[(&str, &[&str])]) -> Self {
        let requests: BTreeMap<String, Vec<String>> = requests
            .iter()
            .map(|(op, elements)| {
                (
                    (*op).to_string(),
                    elements.iter().map(|e| (*e).to_string()).collect(),
                )
            })
            .collect();
        Self {
            operations: requests.keys().cloned().collect(),
            requests,
            origin: Origin::Live,
        }
    }

    /// The tenant the strictest evidence supports: the 2017 operations, each subscribe with
    /// `encodeParameterData` last (melvin-hamilton-digital `Client.php`), and
    /// `SubscribeEventWithSitesFilters` (peep_conn 0b05be4). For tests.
    pub fn with_sites_filters() -> Self {
        Self::from_requests(&[
            ("Authenticate", &["clientId", "username", "password"]),
            ("GetData", &["getRequest"]),
            ("GetReportData", &["getReportRequest"]),
            ("GetSaveTemplate", &["templateName"]),
            ("SaveData", &["saveRequest"]),
            (
                SUBSCRIBE_EVENT,
                &["eventType", "filter", "callbackUrl", ENCODE_PARAMETER_DATA],
            ),
            (
                SUBSCRIBE_POST_EVENT,
                &[
                    "eventType",
                    "filter",
                    "postUrl",
                    "postParams",
                    ENCODE_PARAMETER_DATA,
                ],
            ),
            (
                SUBSCRIBE_EVENT_WITH_SITES_FILTERS,
                &[
                    "eventType",
                    "sitesFilter",
                    "callbackUrl",
                    ENCODE_PARAMETER_DATA,
                ],
            ),
            ("UnsubscribeEvent", &["subscriptionId"]),
        ])
    }

    /// Reads a WSDL 1.1 document; `Err` says why it is not one.
    pub fn parse(xml: &str) -> Result<Self, String> {
        let found = Scan::run(xml)?;
        if found.operations.is_empty() {
            return Err("the WSDL names no operation (no wsdl:portType)".into());
        }
        let mut requests = BTreeMap::new();
        for op in &found.operations {
            // The request element: the part of the operation's input message that names one
            // (the SOAP messages do; the HttpGet ones have typed parts), else the element of
            // the operation's own name (document/literal wrapped).
            let element = found
                .inputs
                .get(op)
                .into_iter()
                .flatten()
                .find_map(|m| found.message_elements.get(m))
                .unwrap_or(op);
            if let Some(sequence) = found.elements.get(element) {
                requests.insert(op.clone(), sequence.clone());
            }
        }
        Ok(Self {
            operations: found.operations,
            requests,
            origin: Origin::Live,
        })
    }

    /// Whether the tenant offers this operation.
    pub fn has(&self, operation: &str) -> bool {
        self.operations.contains(operation)
    }

    /// Every operation, sorted.
    pub fn operations(&self) -> impl Iterator<Item = &str> {
        self.operations.iter().map(String::as_str)
    }

    /// The request elements of an operation, in sequence order (`None`: unknown operation or
    /// a request the WSDL does not describe).
    pub fn elements(&self, operation: &str) -> Option<&[String]> {
        self.requests.get(operation).map(Vec::as_slice)
    }

    /// Whether the operation's request declares this element.
    pub fn declares(&self, operation: &str, element: &str) -> bool {
        self.elements(operation)
            .is_some_and(|e| e.iter().any(|x| x == element))
    }

    /// The sites-filter subscribe operation, when the tenant has it.
    pub fn sites_filter_operation(&self) -> Option<&'static str> {
        self.has(SUBSCRIBE_EVENT_WITH_SITES_FILTERS)
            .then_some(SUBSCRIBE_EVENT_WITH_SITES_FILTERS)
    }
}

/// What one pass over the document collects.
#[derive(Default)]
struct Scan {
    /// Operation names of every port type.
    operations: BTreeSet<String>,
    /// Operation → its input messages (one per port type).
    inputs: BTreeMap<String, Vec<String>>,
    /// Message → the element its part names.
    message_elements: BTreeMap<String, String>,
    /// Top-level schema element → the names of its sequence's elements.
    elements: BTreeMap<String, Vec<String>>,
}

/// One open element: its namespace, local name and `name` attribute.
struct Open {
    ns: Option<String>,
    local: String,
    name: Option<String>,
}

impl Scan {
    fn run(xml: &str) -> Result<Self, String> {
        let mut reader = NsReader::from_str(xml.trim_start_matches('\u{feff}'));
        let mut scan = Self::default();
        let mut stack: Vec<Open> = Vec::new();
        loop {
            let (ns, event) = reader
                .read_resolved_event()
                .map_err(|e| format!("the WSDL is not XML: {e}"))?;
            let ns = match ns {
                ResolveResult::Bound(ns) => Some(ns.0.to_string()),
                _ => None,
            };
            match event {
                Event::Start(start) => {
                    let open = Self::open(ns, &start)?;
                    scan.see(&stack, &open, &start)?;
                    stack.push(open);
                }
                Event::Empty(start) => {
                    let open = Self::open(ns, &start)?;
                    scan.see(&stack, &open, &start)?;
                }
                Event::End(_) => {
                    stack.pop();
                }
                Event::DocType(_) => return Err("the WSDL has a DTD".into()),
                Event::Eof => break,
                _ => {}
            }
        }
        Ok(scan)
    }

    fn open(ns: Option<String>, start: &BytesStart<'_>) -> Result<Open, String> {
        Ok(Open {
            ns,
            local: start.local_name().as_ref().to_string(),
            name: attribute(start, "name")?,
        })
    }

    /// Records what an element means, given the elements it is in.
    fn see(&mut self, stack: &[Open], open: &Open, start: &BytesStart<'_>) -> Result<(), String> {
        let is = |o: &Open, ns: &str, local: &str| o.ns.as_deref() == Some(ns) && o.local == local;
        let parent = stack.last();
        let grandparent = stack.len().checked_sub(2).map(|i| &stack[i]);
        // portType/operation[name]
        if is(open, WSDL_NS, "operation")
            && parent.is_some_and(|p| is(p, WSDL_NS, "portType"))
            && let Some(name) = &open.name
        {
            self.operations.insert(name.clone());
        }
        // portType/operation[name]/input[message]
        if is(open, WSDL_NS, "input")
            && parent.is_some_and(|p| is(p, WSDL_NS, "operation"))
            && grandparent.is_some_and(|g| is(g, WSDL_NS, "portType"))
            && let (Some(op), Some(message)) = (
                parent.and_then(|p| p.name.clone()),
                attribute(start, "message")?,
            )
        {
            self.inputs
                .entry(op)
                .or_default()
                .push(local_part(&message).to_string());
        }
        // message[name]/part[element]
        if is(open, WSDL_NS, "part")
            && parent.is_some_and(|p| is(p, WSDL_NS, "message"))
            && let (Some(message), Some(element)) = (
                parent.and_then(|p| p.name.clone()),
                attribute(start, "element")?,
            )
        {
            self.message_elements
                .entry(message)
                .or_insert_with(|| local_part(&element).to_string());
        }
        // schema/element[name]/complexType/sequence/element[name]
        let n = stack.len();
        if is(open, XSD_NS, "element")
            && n >= 4
            && is(&stack[n - 1], XSD_NS, "sequence")
            && is(&stack[n - 2], XSD_NS, "complexType")
            && is(&stack[n - 3], XSD_NS, "element")
            && is(&stack[n - 4], XSD_NS, "schema")
            && let (Some(request), Some(name)) = (&stack[n - 3].name, &open.name)
        {
            self.elements
                .entry(request.clone())
                .or_default()
                .push(name.clone());
        }
        Ok(())
    }
}

/// An attribute's unescaped value.
fn attribute(start: &BytesStart<'_>, name: &str) -> Result<Option<String>, String> {
    match start.try_get_attribute(name) {
        Ok(Some(a)) => a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map(|v| Some(v.into_owned()))
            .map_err(|e| format!("attribute `{name}`: {e}")),
        Ok(None) => Ok(None),
        Err(e) => Err(format!("attribute `{name}`: {e}")),
    }
}

/// `tns:Name` → `Name`.
fn local_part(qualified: &str) -> &str {
    qualified.rsplit(':').next().unwrap_or(qualified)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WSDL as ASMX writes one, with the sites-filter operation and `encodeParameterData`.
    const LIVE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions xmlns:tns="http://www.peoplevox.net/" xmlns:s="http://www.w3.org/2001/XMLSchema" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" targetNamespace="http://www.peoplevox.net/">
  <wsdl:types>
    <s:schema elementFormDefault="qualified" targetNamespace="http://www.peoplevox.net/">
      <s:element name="SubscribeEventWithSitesFilters">
        <s:complexType><s:sequence>
          <s:element minOccurs="1" maxOccurs="1" name="eventType" type="tns:SubscriptionEventTypes" />
          <s:element minOccurs="0" maxOccurs="1" name="sitesFilter" type="s:string" />
          <s:element minOccurs="0" maxOccurs="1" name="callbackUrl" type="s:string" />
          <s:element minOccurs="1" maxOccurs="1" name="encodeParameterData" nillable="true" type="s:boolean" />
        </s:sequence></s:complexType>
      </s:element>
      <s:element name="Wrapped"><s:complexType><s:sequence><s:element name="x" type="s:string"/></s:sequence></s:complexType></s:element>
      <s:complexType name="GetRequest"><s:sequence><s:element name="TemplateName" type="s:string"/></s:sequence></s:complexType>
    </s:schema>
  </wsdl:types>
  <wsdl:message name="SubscribeEventWithSitesFiltersSoapIn"><wsdl:part name="parameters" element="tns:SubscribeEventWithSitesFilters" /></wsdl:message>
  <wsdl:message name="SubscribeEventWithSitesFiltersHttpGetIn"><wsdl:part name="eventType" type="s:string" /></wsdl:message>
  <wsdl:portType name="IntegrationServiceV4Soap">
    <wsdl:operation name="SubscribeEventWithSitesFilters">
      <wsdl:input message="tns:SubscribeEventWithSitesFiltersSoapIn" />
    </wsdl:operation>
    <wsdl:operation name="Wrapped"><wsdl:input message="tns:Nothing" /></wsdl:operation>
  </wsdl:portType>
  <wsdl:portType name="IntegrationServiceV4HttpGet">
    <wsdl:operation name="SubscribeEventWithSitesFilters">
      <wsdl:input message="tns:SubscribeEventWithSitesFiltersHttpGetIn" />
    </wsdl:operation>
  </wsdl:portType>
</wsdl:definitions>"#;

    #[test]
    fn operations_and_request_sequences_are_read() {
        let d = ServiceDescription::parse(LIVE).unwrap();
        assert_eq!(d.origin, Origin::Live);
        assert_eq!(
            d.operations().collect::<Vec<_>>(),
            ["SubscribeEventWithSitesFilters", "Wrapped"]
        );
        assert_eq!(
            d.elements(SUBSCRIBE_EVENT_WITH_SITES_FILTERS).unwrap(),
            [
                "eventType",
                "sitesFilter",
                "callbackUrl",
                "encodeParameterData"
            ]
        );
        assert!(d.declares(SUBSCRIBE_EVENT_WITH_SITES_FILTERS, ENCODE_PARAMETER_DATA));
        assert_eq!(d.elements("Wrapped").unwrap(), ["x"]);
        assert_eq!(
            d.sites_filter_operation(),
            Some(SUBSCRIBE_EVENT_WITH_SITES_FILTERS)
        );
        assert!(!d.has(SUBSCRIBE_EVENT));
    }

    #[test]
    fn the_2017_assumption_has_eight_operations_and_no_sites_filter() {
        let d = ServiceDescription::assumed_2017("no answer");
        assert_eq!(d.operations().count(), 8);
        assert_eq!(d.sites_filter_operation(), None);
        assert!(!d.declares(SUBSCRIBE_EVENT, ENCODE_PARAMETER_DATA));
        assert_eq!(
            d.elements(SUBSCRIBE_POST_EVENT).unwrap(),
            ["eventType", "filter", "postUrl", "postParams"]
        );
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert!(ServiceDescription::parse("<html><body>Runtime Error</body></html>").is_err());
        assert!(ServiceDescription::parse("<a><b></a>").is_err());
        assert!(ServiceDescription::parse("not xml at all <").is_err());
    }

    /// The 2017 copy, when the shared reference is next to the repository (never copied in:
    /// CI runs on a clean clone, where this test skips).
    #[test]
    fn the_2017_reference_reads_as_assumed() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/reference/peoplevox/integrationservicev4.wsdl"
        );
        let Ok(xml) = std::fs::read_to_string(path) else {
            eprintln!("skipped: {path} is not there");
            return;
        };
        let live = ServiceDescription::parse(&xml).unwrap();
        let assumed = ServiceDescription::assumed_2017("");
        assert_eq!(
            live.operations().collect::<Vec<_>>(),
            assumed.operations().collect::<Vec<_>>()
        );
        for op in assumed.operations() {
            assert_eq!(live.elements(op), assumed.elements(op), "{op}");
        }
    }
}
