//! What the status queue carries: Peoplevox status changes and returns (callbacks, hints) and
//! commercetools order-state changes (the subscription), normalised by the webhook so that the
//! `order-status` flow reads one shape.

use serde::{Deserialize, Serialize};

/// The status callback events a Peoplevox callback path may name, and their Peoplevox event.
pub const STATUS_EVENTS: [(&str, &str); 2] = [
    ("status", "SalesOrderStatusChanges"),
    ("returns", "Returns"),
];

/// One status-queue message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StatusMessage {
    /// Peoplevox: an order's status (or its on-hold flag) changed. Only the order number is
    /// sure to come: what a callback leaves out, the flow reads from Peoplevox.
    #[serde(rename_all = "camelCase")]
    PeoplevoxStatus {
        /// Our id of the event.
        id: String,
        /// `{SalesOrderNumber}`.
        order: String,
        /// The status name as Peoplevox spells it (`{SalesOrderStatu.Name}` by default), when
        /// the callback carried one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<String>,
        /// `{LastModificationTime}`, as sent (kept for the audit trail).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        modified: Option<String>,
        /// The on-hold flag, when the tenant's subscription carries one (no public source
        /// shows its placeholder: UNCONFIRMED, configured per tenant).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_hold: Option<bool>,
        /// When the webhook took it.
        received_at_ms: i64,
    },
    /// Peoplevox: a return was booked in. A hint: the flow reads the return report.
    #[serde(rename_all = "camelCase")]
    PeoplevoxReturn {
        /// Our id of the event.
        id: String,
        /// The sales order number, when the callback carries it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order: Option<String>,
        /// The return code, when the callback carries it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        return_code: Option<String>,
        /// When the webhook took it.
        received_at_ms: i64,
    },
    /// commercetools: an order's `orderState` changed (`OrderStateChanged`).
    #[serde(rename_all = "camelCase")]
    CommercetoolsOrderState {
        /// The commercetools message id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        /// The order id.
        order_id: String,
        /// The order number, when the message carries it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order_number: Option<String>,
        /// The new `orderState`.
        order_state: String,
        /// The previous one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        old_order_state: Option<String>,
    },
}

impl StatusMessage {
    /// The message as the queue body.
    pub fn to_json(&self) -> String {
        // A derived Serialize of strings and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_a_kind_tag() {
        let m = StatusMessage::PeoplevoxStatus {
            id: "e1".into(),
            order: "10001".into(),
            status: Some("Picking".into()),
            modified: None,
            on_hold: Some(true),
            received_at_ms: 5,
        };
        let json = m.to_json();
        assert!(json.contains(r#""kind":"peoplevox-status""#), "{json}");
        assert!(json.contains(r#""onHold":true"#), "{json}");
        assert_eq!(serde_json::from_str::<StatusMessage>(&json).unwrap(), m);
        // A callback that carried only the order number.
        let bare: StatusMessage = serde_json::from_str(
            r#"{"kind":"peoplevox-status","id":"e","order":"N1","receivedAtMs":1}"#,
        )
        .unwrap();
        assert!(matches!(
            bare,
            StatusMessage::PeoplevoxStatus {
                status: None,
                on_hold: None,
                ..
            }
        ));
        let e = serde_json::from_str::<StatusMessage>(r#"{"kind":"teleport"}"#).unwrap_err();
        assert!(e.to_string().contains("teleport"), "{e}");
    }
}
