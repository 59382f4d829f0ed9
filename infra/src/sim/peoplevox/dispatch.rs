//! From a SOAP request body to an answer: envelope checks, the session check, and the
//! operations the dialect's WSDL offers (the eight of 2017, and SubscribeEventWithSitesFilters
//! where the dialect has it).

use base64::Engine as _;

use super::Shared;
use super::filter::parse_sites_filter;
use super::query::{self, Paging};
use super::save;
use super::soap::{self, Answer, Element, PVX_NS};
use super::state::{SessionCheck, SimSubscription};
use super::wsdl;

/// Event types of the 2017 WSDL plus the newer ones (melvin-hamilton-digital `Client.php`).
pub const EVENT_TYPES: &[&str] = &[
    "AvailabilityChanges",
    "SalesOrderStatusChanges",
    "GoodsReceived",
    "TrackingNumberReceived",
    "IncrementalChanges",
    "Returns",
    "DespatchPackageTrackingNumberReceived",
    "OnDespatchOrderReceived",
    "DespatchPackageDespatched",
];

/// Detail of a request with an unknown session id.
pub const INVALID_SESSION: &str = "System : Security - Invalid Session";
/// Detail of a request with an expired session id.
pub const SESSION_EXPIRED: &str = "System : Security - Session Expired";

/// What goes back over HTTP.
#[derive(Debug)]
pub enum Reply {
    /// HTTP 200 with an IntegrationResponse.
    Answer(Answer),
    /// HTTP 500 with a SOAP fault (`faultcode`, `faultstring`).
    Fault(&'static str, String),
}

/// Handles one request for `op` (already taken from the SOAPAction header).
pub fn dispatch(sim: &Shared, op: &str, body: &str) -> Reply {
    let request = match soap::parse_request(body) {
        Ok(r) => r,
        Err(e) => {
            return Reply::Fault(
                "soap:Client",
                format!(
                    "Server was unable to read request. ---> There is an error in XML document. ---> {e}"
                ),
            );
        }
    };
    let element = &request.operation;
    if element.name != op || element.ns.as_deref() != Some(PVX_NS) {
        return Reply::Fault(
            "soap:Client",
            format!(
                "Server was unable to read request. ---> <{} xmlns='{}'> was not expected.",
                element.name,
                element.ns.as_deref().unwrap_or_default()
            ),
        );
    }
    let mut data = sim.data.lock().unwrap_or_else(|e| e.into_inner());
    if op != "Authenticate" {
        let check = match &request.session_id {
            Some(id) => data.use_session(id, sim.config.session_idle),
            None => SessionCheck::Invalid,
        };
        match check {
            SessionCheck::Valid => {}
            SessionCheck::Invalid => return Reply::Answer(Answer::error(INVALID_SESSION)),
            SessionCheck::Expired => return Reply::Answer(Answer::error(SESSION_EXPIRED)),
        }
    }
    let result = match op {
        "Authenticate" => Ok(authenticate(sim, &mut data, element)),
        "GetSaveTemplate" => Ok(get_save_template(sim, element)),
        "GetData" => request_of(element, "getRequest").and_then(|r| {
            Ok(query::get_data(
                &data,
                &sim.config,
                r.param("TemplateName").unwrap_or_default(),
                paging(r)?,
                r.param("SearchClause").unwrap_or_default(),
            ))
        }),
        "GetReportData" => request_of(element, "getReportRequest").and_then(|r| {
            Ok(query::get_report_data(
                &data,
                &sim.config,
                r.param("TemplateName").unwrap_or_default(),
                paging(r)?,
                r.param("SearchClause").unwrap_or_default(),
                r.param("FilterClause").unwrap_or_default(),
                r.param("OrderBy").unwrap_or_default(),
                r.param("Columns").unwrap_or_default(),
            ))
        }),
        "SaveData" => request_of(element, "saveRequest").and_then(|r| {
            Ok(save::save_data(
                &mut data,
                &sim.config,
                r.param("TemplateName").unwrap_or_default(),
                r.param("CsvData").unwrap_or_default(),
                int(r, "Action")?,
            ))
        }),
        "SubscribeEvent" | "SubscribePostEvent" => {
            let post = op == "SubscribePostEvent";
            event_type(sim, element).map(|event| {
                let url = if post { "postUrl" } else { "callbackUrl" };
                let id = data.add_subscription(SimSubscription {
                    id: 0,
                    event_type: event,
                    filter: element.param("filter").unwrap_or_default().to_string(),
                    url: element.param(url).unwrap_or_default().to_string(),
                    post_params: post
                        .then(|| element.param("postParams").unwrap_or_default().to_string()),
                    sites: None,
                    encode: encode_parameter_data(sim, element),
                });
                Answer::ok(1, id.to_string())
            })
        }
        "SubscribeEventWithSitesFilters" => event_type(sim, element).map(|event| {
            match parse_sites_filter(element.param("sitesFilter").unwrap_or_default()) {
                Ok(site) => {
                    let id = data.add_subscription(SimSubscription {
                        id: 0,
                        event_type: event,
                        filter: String::new(),
                        url: element.param("callbackUrl").unwrap_or_default().to_string(),
                        post_params: None,
                        sites: Some(site),
                        encode: encode_parameter_data(sim, element),
                    });
                    Answer::ok(1, id.to_string())
                }
                Err(message) => Answer::error(message),
            }
        }),
        "UnsubscribeEvent" => int(element, "subscriptionId").map(|id| {
            let removed = data.subscriptions.remove(&id).is_some();
            Answer::ok(i64::from(removed), if removed { "True" } else { "False" })
        }),
        other => Err(Reply::Fault(
            "soap:Client",
            format!("Server did not recognize the value of HTTP Header SOAPAction: {other}."),
        )),
    };
    // SaveData may have allocated stock; its callbacks leave before the lock is released.
    sim.fire_events(&mut data);
    match result {
        Ok(answer) => Reply::Answer(answer),
        Err(fault) => fault,
    }
}

fn authenticate(sim: &Shared, data: &mut super::state::Data, element: &Element) -> Answer {
    let config = &sim.config;
    let client_ok = element
        .param("clientId")
        .is_some_and(|c| c.eq_ignore_ascii_case(&config.client_id));
    let user_ok = element.param("username") == Some(config.username.as_str());
    // The password travels base64-encoded; a plain one does not decode to the right bytes.
    let password_ok = element
        .param("password")
        .and_then(|p| {
            base64::engine::general_purpose::STANDARD
                .decode(p.trim())
                .ok()
        })
        .is_some_and(|p| p == config.password.as_bytes());
    if client_ok && user_ok && password_ok {
        let session = data.open_session();
        Answer::ok(1, format!("{},{session}", config.client_id))
    } else {
        Answer::error("System : Security - Invalid client id, username or password")
    }
}

fn get_save_template(sim: &Shared, element: &Element) -> Answer {
    let name = element.param("templateName").unwrap_or_default();
    match sim.config.template(name) {
        Some(template) => Answer::ok(1, template.header().join(",")),
        None => Answer::error(format!("Template '{name}' does not exist")),
    }
}

/// A required complex parameter: .NET passes null when it is missing, and the service then
/// fails with a server-side fault.
fn request_of<'a>(element: &'a Element, name: &str) -> Result<&'a Element, Reply> {
    element.child(PVX_NS, name).ok_or_else(|| {
        Reply::Fault(
            "soap:Server",
            "Server was unable to process request. ---> Object reference not set to an instance of an object.".into(),
        )
    })
}

fn paging(request: &Element) -> Result<Paging, Reply> {
    Ok(Paging {
        page_no: int(request, "PageNo")?,
        items_per_page: int(request, "ItemsPerPage")?,
    })
}

/// An `int` parameter: absent is 0 (XmlSerializer's default), malformed is a fault.
fn int(element: &Element, name: &str) -> Result<i64, Reply> {
    match element.param(name) {
        None => Ok(0),
        Some(text) => text.trim().parse::<i32>().map(i64::from).map_err(|_| {
            Reply::Fault(
                "soap:Client",
                "Server was unable to read request. ---> There is an error in XML document. ---> Input string was not in a correct format.".into(),
            )
        }),
    }
}

/// `encodeParameterData`: read only where the dialect's WSDL declares it (XmlSerializer skips
/// an element it does not know); `true` asks for encoded values, `false` or nil for raw ones.
fn encode_parameter_data(sim: &Shared, element: &Element) -> bool {
    sim.config.dialect.encode_parameter_data
        && element
            .param("encodeParameterData")
            .is_some_and(|v| v.trim() == "true" || v.trim() == "1")
}

/// The `eventType` enum of the dialect's WSDL, validated like XmlSerializer does.
fn event_type(sim: &Shared, element: &Element) -> Result<String, Reply> {
    let value = element.param("eventType").unwrap_or_default().trim();
    if wsdl::event_types(&sim.config.dialect).contains(&value) {
        Ok(value.to_string())
    } else {
        Err(Reply::Fault(
            "soap:Client",
            format!(
                "Server was unable to read request. ---> There is an error in XML document. ---> Instance validation error: '{value}' is not a valid value for SubscriptionEventTypes."
            ),
        ))
    }
}
