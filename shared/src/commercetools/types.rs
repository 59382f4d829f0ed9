//! commercetools resource shapes, as far as ctpvx reads them.
//!
//! Every field that real payloads may omit is optional and unknown fields are ignored, so that a
//! project with extra fields, custom types or new API additions still parses.

use serde::{Deserialize, Serialize};

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

/// A money amount in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    /// ISO 4217 code.
    pub currency_code: String,
    /// Amount in the smallest unit of the currency.
    pub cent_amount: i64,
    /// Digits after the decimal point (2 when absent, at most [`MAX_FRACTION_DIGITS`]).
    #[serde(default = "two", deserialize_with = "fraction_digits")]
    pub fraction_digits: u32,
}

fn two() -> u32 {
    2
}

/// The most fraction digits a [`Money`] read from JSON may have: more than any currency or
/// high-precision price needs. A larger value is refused when the amount is read, since
/// [`Money::to_decimal_string`] could not write it (and would pad to gigabytes).
pub const MAX_FRACTION_DIGITS: u32 = 20;

fn fraction_digits<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let digits = u32::deserialize(d)?;
    if digits > MAX_FRACTION_DIGITS {
        return Err(serde::de::Error::custom(format_args!(
            "fractionDigits {digits} is over {MAX_FRACTION_DIGITS}"
        )));
    }
    Ok(digits)
}

impl Money {
    /// The amount as a decimal string in major units, e.g. `12.50`.
    pub fn to_decimal_string(&self) -> String {
        let digits = self.fraction_digits as usize;
        if digits == 0 {
            return self.cent_amount.to_string();
        }
        let sign = if self.cent_amount < 0 { "-" } else { "" };
        let abs = self.cent_amount.unsigned_abs().to_string();
        let padded = format!("{abs:0>width$}", width = digits + 1);
        let (major, minor) = padded.split_at(padded.len() - digits);
        format!("{sign}{major}.{minor}")
    }
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

/// A product variant as embedded in a line item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Variant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
}

/// The price of a line item (only the value is read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Price {
    pub value: Money,
}

/// One order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// Localized name, e.g. `{"en": "T-shirt"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    pub variant: Variant,
    pub quantity: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_price: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply_channel: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution_channel: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_mode: Option<String>,
}

/// Shipping of an order in Single shipping mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ShippingInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method: Option<Reference>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_item_id: Option<String>,
    #[serde(default)]
    pub quantity: i64,
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
    /// Custom line items (fees, gift wrap) are not warehouse lines; kept to be reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_line_items: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_price: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_info: Option<ShippingInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_mode: Option<String>,
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
