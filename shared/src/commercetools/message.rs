//! Parsing of what can announce a new order: a commercetools `OrderCreated` (or
//! `OrderCreatedFromRecurringOrder`, or `OrderImported`) Message in the Platform format, the same
//! Message wrapped in a CloudEvent (CloudEvents 1.0: the Message is the `data`), or a bare Order
//! (as a merchant's own relay may post it).
//!
//! The flows and the webhook read an announcement as a pointer ([`parse_for_project`],
//! [`parse_pointer`]): it names an order, and the order is then read from commercetools by id.
//! An order a payload carries is never read there: whoever holds the webhook token could
//! otherwise make the warehouse ship an invented order, and edits made after creation would be
//! lost. Only [`parse`] reads the embedded order, for `ctpvx map-order` and the tests.
//!
//! [R] = commercetools/commercetools-api-reference, `api-specs/api/types/`:
//! `message/OrderCreatedMessage.raml`, `message/OrderImportedMessage.raml` (both carry
//! `order: Order`), `subscription/PayloadNotIncluded.raml`, `subscription/DeliveryPayload.raml`
//! (`resource: Reference`, whose `typeId` names the resource of a `ResourceCreated` notification).

use serde::Deserialize;

use super::types::Order;

/// The wire format an order announcement arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageFormat {
    /// A commercetools Message payload (`notificationType: "Message"`).
    Platform,
    /// A CloudEvents 1.0 envelope around a Message payload.
    CloudEvents,
    /// An Order resource as it is.
    BareOrder,
}

/// A new order to export: its id, and the order itself when the payload carried it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderCreated {
    /// Format it arrived in.
    pub format: MessageFormat,
    /// The commercetools message id (absent for a bare order).
    pub message_id: Option<String>,
    /// The order id.
    pub order_id: String,
    /// The order number, when known without the order.
    pub order_number: Option<String>,
    /// The full order, read by [`parse`] only (never by the flows, which fetch it by id), unless
    /// commercetools left it out (`payloadNotIncluded`) or the embedded one is empty or has no
    /// id.
    pub order: Option<Order>,
    /// The Message type (`OrderCreated`, `OrderImported`, …); `None` for a bare order.
    pub message_type: Option<String>,
    /// The Message's `projectKey`, when it names one.
    pub project_key: Option<String>,
}

impl OrderCreated {
    /// Whether an order import announced it (`orders.export_imported` decides its fate).
    pub fn is_import(&self) -> bool {
        self.message_type.as_deref() == Some(ORDER_IMPORTED)
    }

    /// The announcement as the orders queue carries it: a Platform Message that names the order
    /// and keeps what the flow reads besides the id (the Message's id, type and project), without
    /// the order ([R] `PayloadNotIncluded.raml`), so that the worker reads it by id.
    pub fn pointer(&self, reason: &str) -> String {
        pointer_message(
            &self.order_id,
            self.message_type.as_deref().unwrap_or(ORDER_CREATED),
            self.message_id.as_deref(),
            self.project_key.as_deref(),
            reason,
        )
    }
}

/// A Platform Message that announces order `order_id` by reference only: `payloadNotIncluded`
/// instead of the order ([R] `PayloadNotIncluded.raml`: `reason`, `payloadType`). Without a
/// message id it gets a fresh one.
pub fn pointer_message(
    order_id: &str,
    message_type: &str,
    message_id: Option<&str>,
    project_key: Option<&str>,
    reason: &str,
) -> String {
    let id = message_id.map_or_else(|| format!("ctpvx-{}", uuid::Uuid::new_v4()), str::to_string);
    let mut message = serde_json::json!({
        "notificationType": "Message",
        "id": id,
        "type": message_type,
        "resource": { "typeId": "order", "id": order_id },
        "payloadNotIncluded": { "reason": reason, "payloadType": message_type }
    });
    if let Some(project) = project_key {
        message["projectKey"] = project.into();
    }
    message.to_string()
}

/// An `OrderStateChanged` message ([R] `OrderStateChangedMessage.raml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderStateChanged {
    /// The commercetools message id.
    pub message_id: Option<String>,
    /// The order id.
    pub order_id: String,
    /// The order number, when the message carries it.
    pub order_number: Option<String>,
    /// The new `orderState`.
    pub order_state: String,
    /// The previous `orderState`.
    pub old_order_state: Option<String>,
}

/// What a body turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// An order to export.
    OrderCreated(Box<OrderCreated>),
    /// An order's `orderState` changed (a cancellation is what the status flow acts on).
    OrderStateChanged(OrderStateChanged),
    /// A valid notification this flow has nothing to do with (for example the `ResourceCreated`
    /// test notification commercetools sends when a subscription is created). Carries its type.
    Ignored(String),
}

/// A body that is not a usable order announcement; the message names the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Not JSON at all.
    #[error("body is not valid JSON: {0}")]
    NotJson(String),
    /// JSON, but not of a known shape.
    #[error(
        "not a commercetools order message: expected a Message (notificationType), a CloudEvent \
         (specversion) or an Order (id, version, lineItems); {0}"
    )]
    UnknownShape(String),
    /// A Message of another commercetools project (a subscription of another project can
    /// reach a queue whose policy admits commercetools).
    #[error("message of commercetools project `{got}`; this deployment serves `{expected}`")]
    ForeignProject {
        /// The message's `projectKey`.
        got: String,
        /// The configured project key.
        expected: String,
    },
    /// A known shape with a missing or wrongly typed field.
    #[error("invalid {format} payload: {problem}")]
    Invalid {
        /// Which shape was being read.
        format: &'static str,
        /// What is wrong, naming the field.
        problem: String,
    },
}

/// Longest order id read: commercetools ids are UUIDs; a longer "id" is not one, and could not
/// go into a query predicate with others.
const MAX_ID_CHARS: usize = 256;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceRef {
    #[serde(default)]
    type_id: String,
    #[serde(default)]
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlatformMessage {
    notification_type: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    project_key: Option<String>,
    #[serde(rename = "type", default)]
    message_type: Option<String>,
    #[serde(default)]
    resource: Option<ResourceRef>,
    #[serde(default)]
    resource_user_provided_identifiers: Option<UserProvidedIdentifiers>,
    #[serde(default)]
    order: Option<serde_json::Value>,
    #[serde(default)]
    resource_type_id: Option<String>,
    #[serde(default)]
    order_state: Option<String>,
    #[serde(default)]
    old_order_state: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserProvidedIdentifiers {
    #[serde(default)]
    order_number: Option<String>,
}

/// The Message type of an imported order.
pub const ORDER_IMPORTED: &str = "OrderImported";

/// The Message type of a new order.
const ORDER_CREATED: &str = "OrderCreated";

/// Message types that announce an order to fulfil ([R] `resources/orders.raml`: a cart, a quote
/// and a recurring order create orders; an import imports one).
const ORDER_CREATED_TYPES: [&str; 3] = [
    ORDER_CREATED,
    "OrderCreatedFromRecurringOrder",
    ORDER_IMPORTED,
];

/// Whether the order a payload carries is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Embedded {
    /// Read and checked against the Message (`ctpvx map-order`, tests).
    Read,
    /// Never read: the announcement is a pointer to the order's id.
    Ignored,
}

/// Parses a body, embedded order included (`ctpvx map-order` and tests; the flows use
/// [`parse_for_project`]).
pub fn parse(body: &[u8]) -> Result<Parsed, MessageError> {
    parse_value(read_json(body)?, Embedded::Read)
}

/// Parses a webhook body as a pointer: an order announcement names its order, and whatever
/// order it carries is not read ([`OrderCreated::order`] is `None`).
pub fn parse_pointer(body: &[u8]) -> Result<Parsed, MessageError> {
    parse_value(read_json(body)?, Embedded::Ignored)
}

/// Parses a queue body, as a pointer ([`parse_pointer`]), that must belong to `project_key`: a
/// Message (or the CloudEvent around one) naming another project is refused. A bare order names
/// no project; it only arrives through the authenticated webhook, which queues it as a pointer.
pub fn parse_for_project(body: &[u8], project_key: &str) -> Result<Parsed, MessageError> {
    let value = read_json(body)?;
    let message = value.get("data").unwrap_or(&value);
    if let Some(got) = message
        .get("projectKey")
        .and_then(serde_json::Value::as_str)
        && got != project_key
    {
        return Err(MessageError::ForeignProject {
            got: got.chars().take(64).collect(),
            expected: project_key.to_string(),
        });
    }
    parse_value(value, Embedded::Ignored)
}

fn read_json(body: &[u8]) -> Result<serde_json::Value, MessageError> {
    serde_json::from_slice(body).map_err(|e| MessageError::NotJson(e.to_string()))
}

fn parse_value(value: serde_json::Value, embedded: Embedded) -> Result<Parsed, MessageError> {
    let object = value
        .as_object()
        .ok_or_else(|| MessageError::UnknownShape("the body is not a JSON object".into()))?;
    if object.contains_key("specversion") {
        let data = object
            .get("data")
            .cloned()
            .ok_or_else(|| MessageError::Invalid {
                format: "CloudEvents",
                problem: "missing field `data`".into(),
            })?;
        return parse_platform(data, MessageFormat::CloudEvents, embedded);
    }
    if object.contains_key("notificationType") {
        return parse_platform(value, MessageFormat::Platform, embedded);
    }
    if ORDER_KEYS.iter().any(|k| object.contains_key(*k)) {
        let invalid = |problem: String| MessageError::Invalid {
            format: "Order",
            problem,
        };
        let id = value
            .get("id")
            .and_then(serde_json::Value::as_str)
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| invalid("an Order needs `id` (a non-empty string)".into()))?;
        let order_id = checked_id(id).map_err(|problem| invalid(format!("id {problem}")))?;
        let order = match embedded {
            Embedded::Read => Some(parse_order(value, "Order")?),
            // Only the id is taken from a bare order: it points at the order to read.
            Embedded::Ignored => None,
        };
        return Ok(Parsed::OrderCreated(Box::new(OrderCreated {
            format: MessageFormat::BareOrder,
            message_id: None,
            order_id,
            order_number: order.as_ref().and_then(|o| o.order_number.clone()),
            order,
            message_type: None,
            project_key: None,
        })));
    }
    Err(MessageError::UnknownShape(
        "none of notificationType, specversion, lineItems, customLineItems is present".into(),
    ))
}

fn parse_platform(
    value: serde_json::Value,
    format: MessageFormat,
    embedded: Embedded,
) -> Result<Parsed, MessageError> {
    let label = match format {
        MessageFormat::CloudEvents => "CloudEvents data",
        _ => "Message",
    };
    let message: PlatformMessage =
        serde_json::from_value(value).map_err(|e| MessageError::Invalid {
            format: label,
            problem: e.to_string(),
        })?;
    if message.notification_type != "Message" {
        // The resource's type is `resource.typeId` ([R] `DeliveryPayload.raml`).
        let kind = message
            .resource
            .as_ref()
            .map(|r| r.type_id.trim())
            .filter(|t| !t.is_empty())
            .or(message.resource_type_id.as_deref());
        return Ok(Parsed::Ignored(match kind {
            Some(kind) => format!("{} {kind}", message.notification_type),
            None => message.notification_type,
        }));
    }
    let message_type = message.message_type.clone().unwrap_or_default();
    if message_type == ORDER_STATE_CHANGED {
        return order_state_changed(message, label);
    }
    if !ORDER_CREATED_TYPES.contains(&message_type.as_str()) {
        return Ok(Parsed::Ignored(message_type));
    }
    let resource = message.resource.ok_or_else(|| MessageError::Invalid {
        format: label,
        problem: "missing field `resource`".into(),
    })?;
    if resource.type_id != "order" {
        return Err(MessageError::Invalid {
            format: label,
            problem: format!(
                "resource.typeId is `{}`, expected `order`",
                resource.type_id
            ),
        });
    }
    let order_id = checked_id(&resource.id).map_err(|problem| MessageError::Invalid {
        format: label,
        problem: format!("resource.id: {problem}"),
    })?;
    // The worker reads the order by id whatever the payload holds; `payloadNotIncluded` only
    // says why it is missing. An embedded order is read for `ctpvx map-order` alone, and one
    // that is empty (`"order": {}`) or has no id counts as missing.
    let order = match message.order {
        Some(order) if embedded == Embedded::Read && has_id(&order) => {
            Some(parse_order(order, "Message order")?)
        }
        _ => None,
    };
    if let Some(order) = &order
        && order.id != resource.id
    {
        return Err(MessageError::Invalid {
            format: label,
            problem: format!(
                "order.id `{}` differs from resource.id `{}`",
                order.id, resource.id
            ),
        });
    }
    let order_number = message
        .resource_user_provided_identifiers
        .and_then(|ids| ids.order_number)
        .or_else(|| order.as_ref().and_then(|o| o.order_number.clone()));
    Ok(Parsed::OrderCreated(Box::new(OrderCreated {
        format,
        message_id: message.id,
        order_id,
        order_number,
        order,
        message_type: Some(message_type),
        project_key: message.project_key,
    })))
}

/// An order id as read: trimmed, not empty, at most [`MAX_ID_CHARS`] characters.
fn checked_id(id: &str) -> Result<String, String> {
    let id = id.trim();
    if id.is_empty() {
        return Err("is empty".into());
    }
    if id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control) {
        return Err(format!(
            "is not a commercetools id (more than {MAX_ID_CHARS} characters, or control \
             characters)"
        ));
    }
    Ok(id.to_string())
}

/// Keys that make a body without `notificationType` or `specversion` an Order.
const ORDER_KEYS: [&str; 3] = ["lineItems", "customLineItems", "orderNumber"];

/// Whether an order value has a usable `id`.
fn has_id(order: &serde_json::Value) -> bool {
    order
        .get("id")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|id| !id.trim().is_empty())
}

/// The message type of an `orderState` change.
const ORDER_STATE_CHANGED: &str = "OrderStateChanged";

fn order_state_changed(
    message: PlatformMessage,
    label: &'static str,
) -> Result<Parsed, MessageError> {
    let invalid = |problem: &str| MessageError::Invalid {
        format: label,
        problem: problem.to_string(),
    };
    let resource = message
        .resource
        .ok_or_else(|| invalid("missing field `resource`"))?;
    if resource.type_id != "order" || resource.id.trim().is_empty() {
        return Err(invalid("resource must be an order with an id"));
    }
    let order_state = message
        .order_state
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid("missing field `orderState`"))?;
    Ok(Parsed::OrderStateChanged(OrderStateChanged {
        message_id: message.id,
        order_id: resource.id,
        order_number: message
            .resource_user_provided_identifiers
            .and_then(|ids| ids.order_number),
        order_state,
        old_order_state: message.old_order_state,
    }))
}

fn parse_order(value: serde_json::Value, format: &'static str) -> Result<Order, MessageError> {
    serde_json::from_value(value).map_err(|e| MessageError::Invalid {
        format,
        problem: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str = r#"{"id":"o-1","version":3,"orderNumber":"10001","lineItems":[{"id":"li-1","variant":{"sku":"TEE"},"quantity":2,"unknownField":true}],"somethingNew":{"a":1}}"#;

    #[test]
    fn a_message_of_another_project_is_refused_naming_both() {
        let message = format!(
            r#"{{"notificationType":"Message","projectKey":"other","id":"m-1","resource":{{"typeId":"order","id":"o-1"}},"type":"OrderCreated","order":{ORDER}}}"#
        );
        let cloud_event = format!(
            r#"{{"specversion":"1.0","id":"e","type":"com.commercetools.order.message.OrderCreated","source":"/other/orders","data":{message}}}"#
        );
        for body in [&message, &cloud_event] {
            let err = parse_for_project(body.as_bytes(), "shop").unwrap_err();
            assert_eq!(
                err.to_string(),
                "message of commercetools project `other`; this deployment serves `shop`"
            );
            assert!(parse_for_project(body.as_bytes(), "other").is_ok());
        }
        // A bare order names no project.
        assert!(parse_for_project(ORDER.as_bytes(), "shop").is_ok());
    }

    /// Issue 21 item 4: the flows read an announcement as a pointer. The order it carries is
    /// never read (not even an unreadable one refuses the message); a bare order is its id; the
    /// pointer queued for it names the order, keeps type, id and project, carries no order.
    #[test]
    fn the_flows_read_an_announcement_as_a_pointer_to_its_order() {
        let broken = r#"{"id":"o-1","lineItems":[{"id":"l","quantity":"two"}]}"#;
        let message = format!(
            r#"{{"notificationType":"Message","projectKey":"shop","id":"m-1","resource":{{"typeId":"order","id":"o-1"}},"type":"OrderImported","order":{broken}}}"#
        );
        assert!(
            parse(message.as_bytes()).is_err(),
            "read, the order is refused"
        );
        for body in [message.as_str(), ORDER] {
            let Parsed::OrderCreated(event) = parse_for_project(body.as_bytes(), "shop").unwrap()
            else {
                panic!("not read as an order: {body}")
            };
            assert_eq!(
                (event.order_id.as_str(), event.order.is_none()),
                ("o-1", true)
            );
        }
        let Parsed::OrderCreated(event) = parse_pointer(message.as_bytes()).unwrap() else {
            panic!("not read as an order")
        };
        let pointer = event.pointer("why");
        let value: serde_json::Value = serde_json::from_str(&pointer).unwrap();
        assert_eq!(value["resource"]["id"], "o-1");
        assert_eq!(value["payloadNotIncluded"]["reason"], "why");
        assert!(value.get("order").is_none());
        let Parsed::OrderCreated(back) = parse_for_project(pointer.as_bytes(), "shop").unwrap()
        else {
            panic!("the pointer does not read back")
        };
        assert_eq!(
            (back.message_id.as_deref(), back.is_import()),
            (Some("m-1"), true)
        );
        assert!(parse_for_project(pointer.as_bytes(), "other").is_err());
        let long = message.replace(
            "\"id\":\"o-1\"}",
            &format!("\"id\":\"{}\"}}", "x".repeat(300)),
        );
        let e = parse_for_project(long.as_bytes(), "shop").unwrap_err();
        assert!(e.to_string().contains("not a commercetools id"), "{e}");
    }

    #[test]
    fn platform_message_with_order() {
        let body = format!(
            r#"{{"notificationType":"Message","projectKey":"p","id":"m-1","version":1,"sequenceNumber":1,"resource":{{"typeId":"order","id":"o-1"}},"resourceVersion":1,"type":"OrderCreated","order":{ORDER}}}"#
        );
        let Parsed::OrderCreated(event) = parse(body.as_bytes()).unwrap() else {
            panic!("ignored")
        };
        assert_eq!(event.format, MessageFormat::Platform);
        assert_eq!(event.message_id.as_deref(), Some("m-1"));
        assert_eq!(event.order_number.as_deref(), Some("10001"));
        assert_eq!(event.order.unwrap().line_items[0].quantity, 2);
    }

    #[test]
    fn cloud_event_without_payload() {
        let body = r#"{"specversion":"1.0","id":"m-2","type":"com.commercetools.order.message.OrderCreated","source":"/p/orders","subject":"o-9","data":{"notificationType":"Message","id":"m-2","resource":{"typeId":"order","id":"o-9"},"resourceUserProvidedIdentifiers":{"orderNumber":"N9"},"type":"OrderCreated","payloadNotIncluded":{"reason":"Payload too large.","payloadType":"OrderCreated"}}}"#;
        let Parsed::OrderCreated(event) = parse(body.as_bytes()).unwrap() else {
            panic!("ignored")
        };
        assert_eq!(event.format, MessageFormat::CloudEvents);
        assert_eq!(event.order_id, "o-9");
        assert_eq!(event.order_number.as_deref(), Some("N9"));
        assert!(event.order.is_none());
    }

    #[test]
    fn bare_order() {
        let Parsed::OrderCreated(event) = parse(ORDER.as_bytes()).unwrap() else {
            panic!("ignored")
        };
        assert_eq!(event.format, MessageFormat::BareOrder);
        assert_eq!(event.order_id, "o-1");
    }

    #[test]
    fn subscription_test_notification_is_ignored() {
        let body = r#"{"notificationType":"ResourceCreated","projectKey":"p","resource":{"typeId":"subscription","id":"s"},"resourceTypeId":"subscription","version":1}"#;
        assert!(matches!(
            parse(body.as_bytes()).unwrap(),
            Parsed::Ignored(_)
        ));
    }

    #[test]
    fn other_message_types_are_ignored() {
        let body = r#"{"notificationType":"Message","id":"m","resource":{"typeId":"order","id":"o"},"type":"OrderPaymentStateChanged"}"#;
        assert_eq!(
            parse(body.as_bytes()).unwrap(),
            Parsed::Ignored("OrderPaymentStateChanged".into())
        );
    }

    #[test]
    fn order_state_changes_are_read() {
        let body = r#"{"notificationType":"Message","id":"m","resource":{"typeId":"order","id":"o"},"resourceUserProvidedIdentifiers":{"orderNumber":"N1"},"type":"OrderStateChanged","orderState":"Cancelled","oldOrderState":"Open"}"#;
        let Parsed::OrderStateChanged(change) = parse(body.as_bytes()).unwrap() else {
            panic!("not read as a state change")
        };
        assert_eq!(change.order_id, "o");
        assert_eq!(change.order_number.as_deref(), Some("N1"));
        assert_eq!(change.order_state, "Cancelled");
        assert_eq!(change.old_order_state.as_deref(), Some("Open"));
        let e = parse(br#"{"notificationType":"Message","resource":{"typeId":"order","id":"o"},"type":"OrderStateChanged"}"#).unwrap_err();
        assert!(e.to_string().contains("orderState"), "{e}");
    }

    #[test]
    fn bad_inputs_name_the_problem() {
        let e = parse(b"{not json").unwrap_err();
        assert!(matches!(e, MessageError::NotJson(_)));
        let e = parse(b"[1,2]").unwrap_err();
        assert!(e.to_string().contains("not a JSON object"), "{e}");
        let e = parse(br#"{"notificationType":"Message","type":"OrderCreated"}"#).unwrap_err();
        assert!(e.to_string().contains("resource"), "{e}");
        let e = parse(br#"{"id":"o","lineItems":[{"id":"l","quantity":"two"}],"version":1}"#)
            .unwrap_err();
        assert!(
            e.to_string().contains("quantity") || e.to_string().contains("invalid type"),
            "{e}"
        );
        let e = parse(br#"{"notificationType":"Message","type":"OrderCreated","resource":{"typeId":"order","id":"a"},"order":{"id":"b","version":1,"lineItems":[]}}"#).unwrap_err();
        assert!(e.to_string().contains("differs"), "{e}");
    }

    #[test]
    fn an_order_imported_message_announces_its_order() {
        // [R] message/OrderImportedMessage.raml: `type: OrderImported`, `order: Order`.
        let body = format!(
            r#"{{"notificationType":"Message","projectKey":"p","id":"m-7","version":1,"sequenceNumber":1,"resource":{{"typeId":"order","id":"o-1"}},"resourceVersion":1,"type":"OrderImported","order":{ORDER}}}"#
        );
        let Parsed::OrderCreated(event) = parse(body.as_bytes()).unwrap() else {
            panic!("not read as an order")
        };
        assert!(event.is_import());
        assert_eq!(event.message_type.as_deref(), Some("OrderImported"));
        assert_eq!(event.order.unwrap().id, "o-1");
        let created = body.replace("OrderImported", "OrderCreated");
        let Parsed::OrderCreated(event) = parse(created.as_bytes()).unwrap() else {
            panic!("not read as an order")
        };
        assert!(!event.is_import());
    }

    #[test]
    fn an_empty_embedded_order_is_fetched_by_id() {
        for order in [
            r#"{}"#,
            r#"{"version":3,"lineItems":[]}"#,
            r#"{"id":""}"#,
            "null",
        ] {
            let body = format!(
                r#"{{"notificationType":"Message","id":"m","resource":{{"typeId":"order","id":"o-5"}},"type":"OrderCreated","order":{order}}}"#
            );
            let Parsed::OrderCreated(event) = parse(body.as_bytes()).unwrap() else {
                panic!("not read as an order: {order}")
            };
            assert_eq!(
                (event.order_id.as_str(), event.order.is_none()),
                ("o-5", true)
            );
        }
    }

    #[test]
    fn ignored_notifications_are_labelled_by_resource_type_id() {
        let body = r#"{"notificationType":"ResourceCreated","projectKey":"p","resource":{"typeId":"order","id":"o"},"version":1,"modifiedAt":"2026-01-01T00:00:00Z"}"#;
        assert_eq!(
            parse(body.as_bytes()).unwrap(),
            Parsed::Ignored("ResourceCreated order".into())
        );
        let bare = r#"{"notificationType":"ResourceDeleted"}"#;
        assert_eq!(
            parse(bare.as_bytes()).unwrap(),
            Parsed::Ignored("ResourceDeleted".into())
        );
    }

    #[test]
    fn an_order_without_id_says_what_is_missing() {
        let e = parse(br#"{"version":1,"lineItems":[]}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid Order payload: an Order needs `id` (a non-empty string)"
        );
        let e = parse(br#"{"customLineItems":[],"id":""}"#).unwrap_err();
        assert!(e.to_string().contains("needs `id`"), "{e}");
    }

    #[test]
    fn fields_the_mapping_does_not_use_never_refuse_an_order() {
        // A plain-string name, a shipping price without currencyCode, an odd variant id, no
        // version.
        let body = br#"{"id":"o","lineItems":[{"id":"l","name":"T-shirt","variant":{"id":"v-1","sku":"S"},"quantity":1}],"shippingInfo":{"shippingMethodName":"Std","price":{"centAmount":499,"fractionDigits":2},"shippingMethod":{"typeId":"shipping-method","id":7}},"customLineItems":[{"id":"c","name":"Gift wrap","slug":"gift-wrap","money":{"centAmount":300}}]}"#;
        let Parsed::OrderCreated(event) = parse(body).unwrap() else {
            panic!("not read as an order")
        };
        let order = event.order.unwrap();
        assert_eq!(order.custom_line_items[0].quantity, 1);
        assert_eq!(
            order
                .shipping_info
                .unwrap()
                .price
                .unwrap()
                .to_decimal_string(),
            "4.99"
        );
    }

    /// Found by the `commercetools_message` fuzz target: a money amount with more fraction
    /// digits than `to_decimal_string` can pad to made the order mapping panic.
    #[test]
    fn absurd_fraction_digits_are_refused_when_read() {
        let body = br#"{"id":"o-fuzz","version":1,"orderNumber":"D-0","ste":{"s":2},"lineItems":[{"id":"li","prod":{},"variant":{"d":1,"sku":"S1"},"quantity":1,"pr":{"eId":"c"}}],"shippingAddress":{"f":"Ja","streetName":"SaAA","city":"Lodon","country":"GB","":"0"},"shippingInfo":{"price":{"typ":"ce","currencyCode":"BP","centAmount":249,"fractionDigits":94444}}}"#;
        let e = parse(body).unwrap_err();
        assert!(matches!(e, MessageError::Invalid { .. }), "{e:?}");
        assert!(
            e.to_string().contains("fractionDigits 94444 is over 20"),
            "{e}"
        );

        let at_limit = ORDER.replace(
            r#""lineItems""#,
            r#""totalPrice":{"currencyCode":"EUR","centAmount":-5,"fractionDigits":20},"lineItems""#,
        );
        let Parsed::OrderCreated(event) = parse(at_limit.as_bytes()).unwrap() else {
            panic!("ignored")
        };
        let total = event.order.unwrap().total_price.unwrap();
        assert_eq!(total.to_decimal_string(), "-0.00000000000000000005");
    }
}
