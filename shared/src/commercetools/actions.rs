//! Typed order update actions, serialised exactly as `POST /orders/{id}` expects them
//! ([R] `types/order/updates/*.raml`).

use serde::Serialize;

use super::types::{Address, Reference};

/// The export mark (`updateSyncInfo` on the OrderExport channel, stamped now) an order lacks:
/// `None` when it carries it already. `number` is the Peoplevox sales order number. The export
/// flow writes it after Peoplevox took the order; the status flow writes it when Peoplevox turns
/// out to have an order whose mark was lost.
pub fn export_mark(
    order: &super::types::Order,
    channel_id: &str,
    number: Option<String>,
) -> Option<OrderUpdateAction> {
    order.sync_info_for(channel_id).is_none().then(|| {
        let synced_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .ok();
        OrderUpdateAction::UpdateSyncInfo {
            channel: reference_by_id("channel", channel_id),
            external_id: number,
            synced_at,
        }
    })
}

/// The export marks of an order split over several addresses, one per part's number (or the
/// one mark of an unsplit order): none when it carries a mark already. They go in one update,
/// so an order holds all its marks or none, and a mark means every part is in Peoplevox.
pub fn export_marks(
    order: &super::types::Order,
    channel_id: &str,
    numbers: &[String],
) -> Vec<OrderUpdateAction> {
    if numbers.is_empty() {
        return export_mark(order, channel_id, None).into_iter().collect();
    }
    numbers
        .iter()
        .filter_map(|n| export_mark(order, channel_id, Some(n.clone())))
        .collect()
}

/// A reference by id to a resource of this type (`{"typeId":…,"id":…}`).
pub fn reference_by_id(type_id: &str, id: &str) -> Reference {
    Reference {
        type_id: type_id.to_owned(),
        id: Some(id.to_owned()),
        key: None,
    }
}

/// A reference by key to a resource of this type (`{"typeId":…,"key":…}`).
pub fn reference_by_key(type_id: &str, key: &str) -> Reference {
    Reference {
        type_id: type_id.to_owned(),
        id: None,
        key: Some(key.to_owned()),
    }
}

/// One order update action.
///
/// Some are relative (`addDelivery`, `addParcelToDelivery`, `addReturnInfo`, and `updateSyncInfo`,
/// which appends): sending one twice applies it twice, so they must be decided from the current
/// order, never resent blindly after a conflict.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum OrderUpdateAction {
    /// Records that the order was synced with a channel (role OrderExport or OrderImport).
    #[serde(rename_all = "camelCase")]
    UpdateSyncInfo {
        /// The channel.
        channel: Reference,
        /// The id of the order in the other system.
        #[serde(skip_serializing_if = "Option::is_none")]
        external_id: Option<String>,
        /// ISO 8601 time of the sync; the API uses now when absent.
        #[serde(skip_serializing_if = "Option::is_none")]
        synced_at: Option<String>,
    },
    /// Sets a custom field of the order; `None` removes it.
    #[serde(rename_all = "camelCase")]
    SetCustomField {
        /// The field name.
        name: String,
        /// The value; absent removes the field.
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<serde_json::Value>,
    },
    /// Changes `shipmentState`.
    #[serde(rename_all = "camelCase")]
    ChangeShipmentState {
        /// The new state.
        shipment_state: ShipmentState,
    },
    /// Changes `orderState`.
    #[serde(rename_all = "camelCase")]
    ChangeOrderState {
        /// The new state.
        order_state: OrderState,
    },
    /// Adds a delivery, optionally with parcels.
    #[serde(rename_all = "camelCase")]
    AddDelivery {
        /// Unique within the order; use a deterministic key (e.g. the despatch id).
        #[serde(skip_serializing_if = "Option::is_none")]
        delivery_key: Option<String>,
        /// Required in Multiple shipping mode.
        #[serde(skip_serializing_if = "Option::is_none")]
        shipping_key: Option<String>,
        /// Line item ids (not SKUs) and quantities.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        items: Vec<DeliveryItem>,
        /// Where it goes, if not the order's shipping address (boxed: it is large).
        #[serde(skip_serializing_if = "Option::is_none")]
        address: Option<Box<Address>>,
        /// The parcels.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        parcels: Vec<ParcelDraft>,
        /// Custom fields draft (`{type, fields}`).
        #[serde(skip_serializing_if = "Option::is_none")]
        custom: Option<serde_json::Value>,
    },
    /// Adds a parcel to an existing delivery.
    #[serde(rename_all = "camelCase")]
    AddParcelToDelivery {
        /// Which delivery.
        #[serde(flatten)]
        delivery: DeliverySelector,
        /// The parcel's key.
        #[serde(skip_serializing_if = "Option::is_none")]
        parcel_key: Option<String>,
        /// Size and weight.
        #[serde(skip_serializing_if = "Option::is_none")]
        measurements: Option<ParcelMeasurements>,
        /// Carrier and tracking number.
        #[serde(skip_serializing_if = "Option::is_none")]
        tracking_data: Option<TrackingData>,
        /// What is in the parcel.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        items: Vec<DeliveryItem>,
    },
    /// Sets (or, with `None`, removes) the tracking data of a parcel.
    #[serde(rename_all = "camelCase")]
    SetParcelTrackingData {
        /// Which parcel.
        #[serde(flatten)]
        parcel: ParcelSelector,
        /// The tracking data; absent removes it.
        #[serde(skip_serializing_if = "Option::is_none")]
        tracking_data: Option<TrackingData>,
    },
    /// Records a return.
    #[serde(rename_all = "camelCase")]
    AddReturnInfo {
        /// The returned items.
        items: Vec<ReturnItemDraft>,
        /// The return's tracking id.
        #[serde(skip_serializing_if = "Option::is_none")]
        return_tracking_id: Option<String>,
        /// ISO 8601 time of the return.
        #[serde(skip_serializing_if = "Option::is_none")]
        return_date: Option<String>,
    },
    /// Moves one return item to another return shipment state (an `Advised` item the
    /// warehouse received becomes `Returned`). Source: commercetools' generated SDKs,
    /// `OrderSetReturnShipmentStateAction {returnItemId, shipmentState}`.
    #[serde(rename_all = "camelCase")]
    SetReturnShipmentState {
        /// The return item's id.
        return_item_id: String,
        /// Its new state.
        shipment_state: ReturnShipmentState,
    },
    /// Sets the order's custom Type and its fields at once (the order had none).
    #[serde(rename_all = "camelCase")]
    SetCustomType {
        /// The Type (by key).
        #[serde(rename = "type")]
        type_ref: Reference,
        /// Its fields.
        fields: serde_json::Map<String, serde_json::Value>,
    },
    /// Moves the order to a custom workflow State.
    #[serde(rename_all = "camelCase")]
    TransitionState {
        /// The target State (`typeId` `state`, by id or key).
        state: Reference,
        /// Skips the transition check.
        #[serde(skip_serializing_if = "Option::is_none")]
        force: Option<bool>,
    },
}

impl OrderUpdateAction {
    /// The action's name as the API spells it, for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Self::UpdateSyncInfo { .. } => "updateSyncInfo",
            Self::SetCustomField { .. } => "setCustomField",
            Self::ChangeShipmentState { .. } => "changeShipmentState",
            Self::ChangeOrderState { .. } => "changeOrderState",
            Self::AddDelivery { .. } => "addDelivery",
            Self::AddParcelToDelivery { .. } => "addParcelToDelivery",
            Self::SetParcelTrackingData { .. } => "setParcelTrackingData",
            Self::AddReturnInfo { .. } => "addReturnInfo",
            Self::SetReturnShipmentState { .. } => "setReturnShipmentState",
            Self::SetCustomType { .. } => "setCustomType",
            Self::TransitionState { .. } => "transitionState",
        }
    }
}

/// `orderState` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum OrderState {
    /// Open.
    Open,
    /// Confirmed.
    Confirmed,
    /// Complete.
    Complete,
    /// Cancelled (two l).
    Cancelled,
}

impl OrderState {
    /// The value as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Confirmed => "Confirmed",
            Self::Complete => "Complete",
            Self::Cancelled => "Cancelled",
        }
    }
}

/// `shipmentState` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum ShipmentState {
    /// Shipped.
    Shipped,
    /// Delivered.
    Delivered,
    /// Ready.
    Ready,
    /// Pending.
    Pending,
    /// Delayed.
    Delayed,
    /// Partially shipped.
    Partial,
    /// Backorder.
    Backorder,
    /// Canceled (one l, unlike `orderState`).
    Canceled,
}

impl ShipmentState {
    /// The value as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shipped => "Shipped",
            Self::Delivered => "Delivered",
            Self::Ready => "Ready",
            Self::Pending => "Pending",
            Self::Delayed => "Delayed",
            Self::Partial => "Partial",
            Self::Backorder => "Backorder",
            Self::Canceled => "Canceled",
        }
    }
}

/// The delivery an action targets: `deliveryId` or `deliveryKey`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum DeliverySelector {
    /// By id.
    #[serde(rename = "deliveryId")]
    Id(String),
    /// By key.
    #[serde(rename = "deliveryKey")]
    Key(String),
}

/// The parcel an action targets: `parcelId` or `parcelKey`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ParcelSelector {
    /// By id.
    #[serde(rename = "parcelId")]
    Id(String),
    /// By key.
    #[serde(rename = "parcelKey")]
    Key(String),
}

/// A quantity of one line item (`id` is the line item id, not the SKU).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryItem {
    /// The line item id.
    pub id: String,
    /// How many.
    pub quantity: i64,
}

/// A parcel in `addDelivery`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ParcelDraft {
    /// The parcel's key, unique within the order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Size and weight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measurements: Option<ParcelMeasurements>,
    /// Carrier and tracking number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_data: Option<TrackingData>,
    /// What is in the parcel.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<DeliveryItem>,
}

/// Parcel size and weight; every field is optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ParcelMeasurements {
    /// Height in mm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height_in_millimeter: Option<i64>,
    /// Length in mm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length_in_millimeter: Option<i64>,
    /// Width in mm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width_in_millimeter: Option<i64>,
    /// Weight in g.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_in_gram: Option<i64>,
}

/// Tracking of a parcel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TrackingData {
    /// The carrier's tracking number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_id: Option<String>,
    /// The carrier, e.g. `DPD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    /// Who provided the data, e.g. `Peoplevox`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The provider's transaction id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_transaction: Option<String>,
    /// A return parcel; always sent, as in the API's examples.
    pub is_return: bool,
}

/// One returned item in `addReturnInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnItemDraft {
    /// How many.
    pub quantity: i64,
    /// The line item id.
    pub line_item_id: String,
    /// The return's shipment state.
    pub shipment_state: ReturnShipmentState,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `shipmentState` of a returned item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum ReturnShipmentState {
    /// Announced, not yet received.
    Advised,
    /// Received.
    Returned,
    /// Received and back in stock.
    BackInStock,
    /// Received and not sellable.
    Unusable,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(actions: &[OrderUpdateAction]) -> String {
        serde_json::to_string(actions).unwrap()
    }

    #[test]
    fn update_sync_info_exact_json() {
        let action = OrderUpdateAction::UpdateSyncInfo {
            channel: reference_by_id("channel", "ch-1"),
            external_id: Some("PVX-10001".into()),
            synced_at: Some("2026-08-30T09:00:00.000Z".into()),
        };
        assert_eq!(
            json(&[action]),
            r#"[{"action":"updateSyncInfo","channel":{"typeId":"channel","id":"ch-1"},"externalId":"PVX-10001","syncedAt":"2026-08-30T09:00:00.000Z"}]"#
        );
    }

    #[test]
    fn add_delivery_and_shipment_state_exact_json() {
        let items = vec![DeliveryItem {
            id: "<li-id>".into(),
            quantity: 2,
        }];
        let actions = [
            OrderUpdateAction::AddDelivery {
                delivery_key: Some("pvx-despatch-778899".into()),
                shipping_key: None,
                items: items.clone(),
                address: None,
                parcels: vec![ParcelDraft {
                    key: Some("pvx-parcel-1".into()),
                    measurements: Some(ParcelMeasurements {
                        weight_in_gram: Some(1200),
                        ..Default::default()
                    }),
                    tracking_data: Some(TrackingData {
                        tracking_id: Some("15501234567890".into()),
                        carrier: Some("DPD".into()),
                        provider: Some("Peoplevox".into()),
                        provider_transaction: Some("778899".into()),
                        is_return: false,
                    }),
                    items,
                }],
                custom: None,
            },
            OrderUpdateAction::ChangeShipmentState {
                shipment_state: ShipmentState::Shipped,
            },
        ];
        // The example of the API reference (OrderAddDeliveryAction.json), byte for byte.
        assert_eq!(
            json(&actions),
            concat!(
                r#"[{"action":"addDelivery","deliveryKey":"pvx-despatch-778899","#,
                r#""items":[{"id":"<li-id>","quantity":2}],"#,
                r#""parcels":[{"key":"pvx-parcel-1","measurements":{"weightInGram":1200},"#,
                r#""trackingData":{"trackingId":"15501234567890","carrier":"DPD","provider":"Peoplevox","#,
                r#""providerTransaction":"778899","isReturn":false},"#,
                r#""items":[{"id":"<li-id>","quantity":2}]}]},"#,
                r#"{"action":"changeShipmentState","shipmentState":"Shipped"}]"#
            )
        );
    }

    #[test]
    fn selectors_flatten_to_id_or_key() {
        let add = OrderUpdateAction::AddParcelToDelivery {
            delivery: DeliverySelector::Key("d-1".into()),
            parcel_key: Some("p-2".into()),
            measurements: None,
            tracking_data: None,
            items: vec![],
        };
        let track = OrderUpdateAction::SetParcelTrackingData {
            parcel: ParcelSelector::Id("p-id".into()),
            tracking_data: None,
        };
        assert_eq!(
            json(&[add, track]),
            r#"[{"action":"addParcelToDelivery","deliveryKey":"d-1","parcelKey":"p-2"},{"action":"setParcelTrackingData","parcelId":"p-id"}]"#
        );
    }

    #[test]
    fn other_actions_json() {
        let actions = [
            OrderUpdateAction::SetCustomField {
                name: "pvxStatus".into(),
                value: Some(serde_json::json!("Picked")),
            },
            OrderUpdateAction::SetCustomField {
                name: "old".into(),
                value: None,
            },
            OrderUpdateAction::ChangeOrderState {
                order_state: OrderState::Cancelled,
            },
            OrderUpdateAction::AddReturnInfo {
                items: vec![ReturnItemDraft {
                    quantity: 1,
                    line_item_id: "li".into(),
                    shipment_state: ReturnShipmentState::Returned,
                    comment: None,
                }],
                return_tracking_id: None,
                return_date: None,
            },
            OrderUpdateAction::TransitionState {
                state: reference_by_key("state", "picked"),
                force: None,
            },
        ];
        assert_eq!(
            json(&actions),
            concat!(
                r#"[{"action":"setCustomField","name":"pvxStatus","value":"Picked"},"#,
                r#"{"action":"setCustomField","name":"old"},"#,
                r#"{"action":"changeOrderState","orderState":"Cancelled"},"#,
                r#"{"action":"addReturnInfo","items":[{"quantity":1,"lineItemId":"li","shipmentState":"Returned"}]},"#,
                r#"{"action":"transitionState","state":{"typeId":"state","key":"picked"}}]"#
            )
        );
    }
}
