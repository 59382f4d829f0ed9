//! What a project needs for ctpvx, derived from the configuration alone (no I/O), so that it can
//! be tested and printed without a project. The key and field names are `pub const`s because
//! the flows that write these custom fields must use the very same names.

use crate::commercetools::types::ChannelRole;
use crate::commercetools::types_api::{FieldDefinitionDraft, TypeDraft, english};
use crate::config::Config;

/// Key of the Type on deliveries that records the Peoplevox despatch (the default of
/// `shipments.delivery_type`).
pub const DELIVERY_TYPE_KEY: &str = "ctpvx-delivery";
/// Key of the Type on orders that records the Peoplevox side of the order.
pub const ORDER_TYPE_KEY: &str = "ctpvx-order";
/// ResourceTypeId of deliveries ([R] `ResourceTypeId.raml`).
pub const DELIVERY_RESOURCE: &str = "order-delivery";
/// ResourceTypeId of orders (and carts).
pub const ORDER_RESOURCE: &str = "order";

/// Delivery field: the Peoplevox despatch number (String).
pub const FIELD_DESPATCH_NUMBER: &str = "despatchNumber";
/// Delivery field: when Peoplevox despatched (DateTime).
pub const FIELD_DESPATCHED_AT: &str = "despatchedAt";
/// Delivery field: the carrier as Peoplevox names it (String).
pub const FIELD_PVX_CARRIER: &str = "pvxCarrier";
/// Delivery field: the Peoplevox service type (String).
pub const FIELD_PVX_SERVICE: &str = "pvxService";
/// Order field: the Peoplevox sales order number (String).
pub const FIELD_PVX_ORDER_NUMBER: &str = "pvxOrderNumber";
/// Order field: the last Peoplevox status seen (String).
pub const FIELD_PVX_STATUS: &str = "pvxStatus";
/// Order field: the items Peoplevox short-picked (String).
pub const FIELD_PVX_SHORT_PICKS: &str = "pvxShortPicks";
/// Order field: the last conflict between the two systems, for a person (String).
pub const FIELD_PVX_EXCEPTION: &str = "pvxException";

/// A channel and the roles it must have (it may have more).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredChannel {
    /// Channel key.
    pub key: String,
    /// Roles it needs.
    pub roles: Vec<ChannelRole>,
}

/// Everything setup makes sure of, in the order it is applied and reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// The OrderExport channel, then one InventorySupply channel per stock site.
    pub channels: Vec<DesiredChannel>,
    /// The custom Types, with every field they must define.
    pub types: Vec<TypeDraft>,
}

/// The desired state for this configuration. A channel named twice (say, the export channel also
/// feeds a site) appears once with both roles.
pub fn desired(config: &Config) -> Desired {
    let mut channels: Vec<DesiredChannel> = Vec::new();
    let mut want = |key: &str, role: ChannelRole| match channels.iter_mut().find(|c| c.key == key) {
        Some(channel) if !channel.roles.contains(&role) => channel.roles.push(role),
        Some(_) => {}
        None => channels.push(DesiredChannel {
            key: key.to_string(),
            roles: vec![role],
        }),
    };
    want(
        &config.commercetools.order_export_channel,
        ChannelRole::OrderExport,
    );
    for site in config.stock.sites.values() {
        want(&site.channel, ChannelRole::InventorySupply);
    }
    let mut types = Vec::new();
    // The shipment flow writes to the Type `shipments.delivery_type` names; none: no fields.
    if let Some(key) = &config.shipments.delivery_type {
        types.push(delivery_type(key));
    }
    types.push(order_type_with_key(&config.status.order_type));
    Desired { channels, types }
}

/// The delivery Type under this key: the despatch facts Peoplevox reports.
pub fn delivery_type(key: &str) -> TypeDraft {
    TypeDraft {
        key: key.to_string(),
        name: english("ctpvx: Peoplevox despatch"),
        resource_type_ids: vec![DELIVERY_RESOURCE.to_string()],
        field_definitions: vec![
            FieldDefinitionDraft::optional(FIELD_DESPATCH_NUMBER, "String", "Despatch number"),
            FieldDefinitionDraft::optional(FIELD_DESPATCHED_AT, "DateTime", "Despatched at"),
            FieldDefinitionDraft::optional(FIELD_PVX_CARRIER, "String", "Peoplevox carrier"),
            FieldDefinitionDraft::optional(FIELD_PVX_SERVICE, "String", "Peoplevox service"),
        ],
    }
}

/// The order Type under its default key.
pub fn order_type() -> TypeDraft {
    order_type_with_key(ORDER_TYPE_KEY)
}

/// The order Type (`status.order_type`): the Peoplevox side of an order. When the key is the
/// merchant's own order Type, setup adds the missing fields to it.
pub fn order_type_with_key(key: &str) -> TypeDraft {
    TypeDraft {
        key: key.to_string(),
        name: english("ctpvx: Peoplevox order"),
        resource_type_ids: vec![ORDER_RESOURCE.to_string()],
        field_definitions: vec![
            FieldDefinitionDraft::optional(FIELD_PVX_ORDER_NUMBER, "String", "Peoplevox order"),
            FieldDefinitionDraft::optional(FIELD_PVX_STATUS, "String", "Peoplevox status"),
            FieldDefinitionDraft::optional(FIELD_PVX_SHORT_PICKS, "String", "Short picks"),
            FieldDefinitionDraft::optional(FIELD_PVX_EXCEPTION, "String", "Peoplevox exception"),
        ],
    }
}
