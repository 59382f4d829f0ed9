//! What an order's lines carry: line items and custom line items, their prices and discounts,
//! the addresses their units ship to, and the shippings of `Multiple` shipping mode.
//!
//! [R] = commercetools/commercetools-api-reference, `api-specs/api/types/cart/`: `LineItem.raml`,
//! `CustomLineItem.raml`, `DiscountedLineItemPriceForQuantity.raml`,
//! `DiscountedLineItemPrice.raml`, `ItemShippingDetails.raml`, `ItemShippingTarget.raml`,
//! `Shipping.raml`, `DiscountOnTotalPrice.raml`; `types/common/Price.raml`, `DiscountedPrice.raml`.
//!
//! Fields the mapping does not read are either absent here (unknown fields are ignored) or kept
//! as raw JSON, so that an unexpected shape there (a `name` given as a plain string, say) never
//! refuses an order.

use serde::{Deserialize, Serialize};

use super::money::Money;
use super::types::{Address, Reference, ShippingInfo};

/// A product variant as embedded in a line item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Variant {
    /// Not read; kept as it came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<serde_json::Value>,
    /// Optional in commercetools ([R] `types/product/ProductVariant.raml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
}

/// The price of a line item: its value and, when a product discount applies, the discounted
/// value ([R] `Price.raml`, `DiscountedPrice.raml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Price {
    /// The price per unit (TypedMoney: may be high precision).
    pub value: Money,
    /// "Set if a ProductDiscount applies."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discounted: Option<DiscountedPrice>,
}

/// A product-discounted price (the discount reference is not read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscountedPrice {
    /// The discounted price per unit (TypedMoney).
    pub value: Money,
}

/// The price of one unit after cart discounts (the included portions are not read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscountedLineItemPrice {
    /// "Discounted price of a single quantity" (TypedMoney).
    pub value: Money,
}

/// How many units of a line have this discounted price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscountedLineItemPriceForQuantity {
    /// Units at this price.
    pub quantity: i64,
    /// The price of each of them.
    pub discounted_price: DiscountedLineItemPrice,
}

/// Where the units of a line go ([R] `ItemShippingDetails.raml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ItemShippingDetails {
    /// Units per address.
    #[serde(default)]
    pub targets: Vec<ItemShippingTarget>,
    /// Whether the targets' quantities add up to the line's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid: Option<bool>,
}

/// Units of a line sent to one address ([R] `ItemShippingTarget.raml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ItemShippingTarget {
    /// "Key of the address in the Cart `itemShippingAddresses`."
    #[serde(default)]
    pub address_key: String,
    /// Units going there.
    #[serde(default)]
    pub quantity: i64,
    /// "Required when the Cart has `Multiple` ShippingMode."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method_key: Option<String>,
}

/// One order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// A LocalizedString (`{"en": "T-shirt"}`); not read by the mapping, so any shape is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<serde_json::Value>,
    #[serde(default)]
    pub variant: Variant,
    pub quantity: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    /// `price` (or the discounted price) times `quantity`, after product and line discounts,
    /// before discounts on the order's total (CentPrecisionMoney, [R] `LineItem.raml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_price: Option<Money>,
    /// Cart discounts spread per unit: `quantity` units at each discounted price.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discounted_price_per_quantity: Vec<DiscountedLineItemPriceForQuantity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply_channel: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution_channel: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_mode: Option<String>,
    /// Where the units go, when not all to the order's shipping address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_details: Option<ItemShippingDetails>,
}

/// A custom line item: a fee, gift wrap, a service, a voucher (negative money); no product and
/// no SKU ([R] `CustomLineItem.raml`). Every field is optional here: ctpvx only reports or
/// re-codes these lines, so an odd one must not refuse the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CustomLineItem {
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// A LocalizedString, kept as it came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<serde_json::Value>,
    /// `[a-zA-Z0-9_-]{2,256}`: what the merchant calls this kind of line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// The price per unit (TypedMoney; may be negative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub money: Option<Money>,
    /// `money` times `quantity`, after discounts (CentPrecisionMoney).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_price: Option<Money>,
    /// Defaults to 1, as in commercetools.
    #[serde(default = "one")]
    pub quantity: i64,
    /// Cart discounts spread per unit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discounted_price_per_quantity: Vec<DiscountedLineItemPriceForQuantity>,
    /// Where the units go, when not all to the order's shipping address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_details: Option<ItemShippingDetails>,
}

fn one() -> i64 {
    1
}

impl CustomLineItem {
    /// A name to show a person: the English name, else any, else the slug, else the id.
    pub fn label(&self) -> String {
        let name = match &self.name {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Object(map)) => map
                .get("en")
                .or_else(|| map.values().next())
                .and_then(|v| v.as_str())
                .map(str::to_string),
            _ => None,
        };
        name.filter(|n| !n.trim().is_empty())
            .or_else(|| self.slug.clone())
            .unwrap_or_else(|| self.id.clone())
    }
}

/// One shipping of a `Multiple` shipping mode order ([R] `Shipping.raml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Shipping {
    /// "User-defined unique identifier of the Shipping in a Cart with `Multiple` ShippingMode."
    #[serde(default)]
    pub shipping_key: String,
    /// Its shipping method, price and deliveries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_info: Option<ShippingInfo>,
    /// Where it goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
}

/// The discount on an order's total price ([R] `DiscountOnTotalPrice.raml`); the portions and
/// the net and gross amounts are not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DiscountOnTotalPrice {
    /// "Money value of the discount on the total price of the Cart or Order" (TypedMoney).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discounted_amount: Option<Money>,
}
