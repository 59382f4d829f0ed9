//! Shipments: the message on the shipments queue. A callback is only a hint that a despatch
//! changed; the flow reads the despatch itself from Peoplevox. Pure, no I/O.

use serde::{Deserialize, Serialize};

/// One message on the shipments queue, about one Peoplevox despatch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShipmentMessage {
    /// Event id given at receipt.
    pub id: String,
    /// What Peoplevox said: `tracking` (TrackingNumberReceived), `package-tracking`
    /// (DespatchPackageTrackingNumberReceived), `package-despatched` (DespatchPackageDespatched)
    /// or `recheck` (an operator or the reconciliation).
    pub event: String,
    /// Peoplevox despatch number.
    pub despatch: String,
    /// The sales order number, when the callback carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// The tracking number the callback carried (the flow trusts the report's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<String>,
    /// The package number, for package events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// `{Carrier.Number}` of TrackingNumberReceived (peep_conn `subscription.rb`): used where
    /// the despatch report names no carrier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    /// `{ServiceType.Name}`: used where the despatch report names no service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// `{ServiceType.Code}`: the service where neither the report nor `{ServiceType.Name}`
    /// names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_code: Option<String>,
    /// When the webhook received it, epoch ms.
    pub received_at_ms: i64,
}

impl ShipmentMessage {
    /// The message as JSON (serialising this type cannot fail).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The events a despatch callback path may name, with the Peoplevox event type each stands for.
pub const SHIPMENT_EVENTS: [(&str, &str); 3] = [
    ("tracking", "TrackingNumberReceived"),
    ("package-tracking", "DespatchPackageTrackingNumberReceived"),
    ("package-despatched", "DespatchPackageDespatched"),
];
