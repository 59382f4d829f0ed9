//! commercetools resource shapes, as far as ctpvx reads them.
//!
//! Every field that real payloads may omit is optional and unknown fields are ignored, so that a
//! project with extra fields, custom types or new API additions still parses.

use serde::{Deserialize, Serialize};

pub use super::lines::{
    CustomLineItem, DiscountOnTotalPrice, DiscountedLineItemPrice,
    DiscountedLineItemPriceForQuantity, DiscountedPrice, ItemShippingDetails, ItemShippingTarget,
    LineItem, Price, Shipping, Variant,
};
pub use super::money::{MAX_FRACTION_DIGITS, Money};

/// A reference to another resource (`{typeId, id}` or `{typeId, key}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    /// e.g. `channel`, `store`, `shipping-method`.
    #[serde(default)]
    pub type_id: String,
    /// The resource id, when referenced by id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The resource key, when referenced by key (stores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// A postal address (BaseAddress).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// ISO 3166-1 alpha-2; required by commercetools.
    #[serde(default)]
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_street_info: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apartment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "pOBox")]
    pub po_box: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_address_info: Option<String>,
}

/// Shipping of an order: the order's own in Single shipping mode, one per `shipping[]` entry in
/// Multiple mode ([R] `types/cart/ShippingInfo.raml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ShippingInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method_name: Option<String>,
    /// The shipping price before shipping discounts (CentPrecisionMoney).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
    /// The price after shipping discounts, when a discount applies
    /// ([R] `ShippingInfo.raml`: `discountedPrice?: DiscountedLineItemPrice`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discounted_price: Option<DiscountedLineItemPrice>,
    /// Not read; kept as it came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method: Option<serde_json::Value>,
    /// Deliveries already recorded (read by later flows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<serde_json::Value>,
}

/// Custom fields: a type reference and free-form values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CustomFields {
    #[serde(default, rename = "type")]
    pub type_ref: Reference,
    #[serde(default)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// One `returnInfo` entry: what came back, under which tracking id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_tracking_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_date: Option<String>,
    #[serde(default)]
    pub items: Vec<ReturnItem>,
}

/// One returned item (line items only carry `lineItemId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnItem {
    /// Its id, which `setReturnShipmentState` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_item_id: Option<String>,
    #[serde(default)]
    pub quantity: i64,
    /// `Advised` (announced, e.g. by a returns portal), `Returned`, `BackInStock`,
    /// `Unusable`; kept as text so that a value we do not know still reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment_state: Option<String>,
}

/// One `syncInfo` entry: the order was synced to/from the channel with this external id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncInfo {
    pub channel: Reference,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_at: Option<String>,
}

/// The total price of an order, tax portions ignored.
pub type TotalPrice = Money;

/// A commercetools order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: String,
    /// Always present on a real Order; a relay's copy without it is re-read before updates.
    #[serde(default)]
    pub version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<Reference>,
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    /// Custom line items: fees, gift wrap, services, discounts ([R] `CustomLineItem.raml`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_line_items: Vec<CustomLineItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_price: Option<Money>,
    /// The discount on the order's total, not included in the lines' prices
    /// ([R] `Order.raml`, `DiscountOnTotalPrice.raml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_on_total_price: Option<DiscountOnTotalPrice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_info: Option<ShippingInfo>,
    /// `Single` (the default) or `Multiple` ([R] `types/cart/ShippingMode.raml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_mode: Option<String>,
    /// The shippings of `Multiple` mode, each with its key, address and shipping info
    /// ([R] `Order.raml`, `types/cart/Shipping.raml`); empty in Single mode.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shipping: Vec<Shipping>,
    /// Further addresses that line items' `shippingDetails.targets` send units to, by `key`
    /// ([R] `Order.raml`: "Additional shipping addresses of the Order as specified by LineItems
    /// using the `shippingDetails` field").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item_shipping_addresses: Vec<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<CustomFields>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_info: Vec<SyncInfo>,
    /// The custom workflow State, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Reference>,
    /// Returns recorded on the order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub return_info: Vec<ReturnInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_at: Option<String>,
}

impl Order {
    /// The `syncInfo` entry for a channel id, if the order was synced with it.
    pub fn sync_info_for(&self, channel_id: &str) -> Option<&SyncInfo> {
        self.sync_info
            .iter()
            .find(|s| s.channel.id.as_deref() == Some(channel_id))
    }

    /// Every Peoplevox number of the order: the `externalId`s of its export marks on the
    /// OrderExport channel (one per part of an order split over several addresses, in part
    /// order), else its `orderNumber`.
    pub fn peoplevox_numbers(&self, export_channel_id: &str) -> Vec<&str> {
        let marks: Vec<&str> = self
            .sync_info
            .iter()
            .filter(|s| s.channel.id.as_deref() == Some(export_channel_id))
            .filter_map(|s| s.external_id.as_deref())
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if !marks.is_empty() {
            return marks;
        }
        self.order_number
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .into_iter()
            .collect()
    }

    /// Whether the order is in `Multiple` shipping mode ([R] `cart/ShippingMode.raml`): its
    /// addresses are in `shipping[]`, and a delivery needs the `shippingKey` of one.
    pub fn is_multiple_shipping(&self) -> bool {
        self.shipping_mode
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("Multiple"))
    }

    /// Every delivery of the order: in `shippingInfo` (Single mode) and in each
    /// `shipping[].shippingInfo` (Multiple mode, [R] `cart/Shipping.raml`).
    pub fn deliveries(&self) -> impl Iterator<Item = &serde_json::Value> {
        let single = self.shipping_info.iter();
        let multiple = self
            .shipping
            .iter()
            .filter_map(|s| s.shipping_info.as_ref());
        single.chain(multiple).flat_map(|info| &info.deliveries)
    }
}

/// A channel (warehouse, order export target, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    pub id: String,
    #[serde(default)]
    pub version: i64,
    pub key: String,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// The role of a channel ([R] `ChannelRoleEnum.raml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChannelRole {
    /// A warehouse that supplies inventory.
    InventorySupply,
    /// A channel that distributes products (prices).
    ProductDistribution,
    /// A target of order exports; allowed in `updateSyncInfo`.
    OrderExport,
    /// A source of order imports; allowed in `updateSyncInfo`.
    OrderImport,
    /// The primary channel.
    Primary,
}

impl ChannelRole {
    /// The role as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InventorySupply => "InventorySupply",
            Self::ProductDistribution => "ProductDistribution",
            Self::OrderExport => "OrderExport",
            Self::OrderImport => "OrderImport",
            Self::Primary => "Primary",
        }
    }
}

/// An inventory entry: the stock of one SKU in one supply channel (or in none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct InventoryEntry {
    /// The entry id.
    pub id: String,
    /// The version, for optimistic concurrency.
    pub version: i64,
    /// The user-defined key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The SKU.
    pub sku: String,
    /// The warehouse channel; none for channel-less stock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply_channel: Option<Reference>,
    /// Overall stock: available plus reserved.
    #[serde(default)]
    pub quantity_on_stock: i64,
    /// Stock minus reservations.
    #[serde(default)]
    pub available_quantity: i64,
    /// Days until restock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restockable_in_days: Option<i64>,
    /// When new stock is expected (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_delivery: Option<String>,
    /// Creation time (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last change (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_at: Option<String>,
}
