//! The order-side choices of `[orders]` that are more than a value: what becomes of custom line
//! items, and how an order whose `orderNumber` is missing or too long gets its Peoplevox number.

use serde::Deserialize;

use super::ConfigError;
use super::file::OrderRules;
use crate::domain::Sku;
use crate::domain::ids::SALES_ORDER_NUMBER_MAX;

/// Longest item code the standard "Sales order items" template takes (Zynk
/// `Peoplevox-Sales-Order-XML.md`: `ItemCode string(50)`).
pub const ITEM_CODE_MAX: usize = 50;

/// The number of hex digits of a derived order number (96 bits of SHA-256), fewer only when a
/// long prefix leaves less room under Peoplevox's 30 characters.
pub const DERIVED_HEX_DIGITS: usize = 24;

/// Shortest hash part a prefix may leave: 64 bits keep collisions out of reach.
const MIN_HEX_DIGITS: usize = 16;

/// What the export does with custom line items (fees, gift wrap, services, vouchers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CustomLineItems {
    /// Not sent; each left-out line is named in the export's audit entry.
    #[default]
    LeaveOut,
    /// Sent as lines under a configured item code (which Peoplevox must know, like any item).
    Export,
}

/// What the export does with an order whose units go to several addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SplitDestinations {
    /// One Peoplevox sales order per address, numbered `<number>-1`, `-2`, …; their despatches
    /// become deliveries of the one commercetools order (with the shipping's `shippingKey` in
    /// Multiple mode).
    #[default]
    Split,
    /// Held for a person, with a reason naming the mode and what goes where.
    Hold,
}

/// What becomes of a Peoplevox callback for a sales order that is not ours: commercetools has
/// no order of its number and no export of ours used it (another sales channel shares the
/// tenant). The nightly status sweep is the net for our own orders, so skipping loses nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum OtherOrders {
    /// Acknowledged, audited on the number's trail (`pvx-order#<number>`) and counted: no
    /// dead-letter alarm.
    #[default]
    Skip,
    /// Parked in the dead-letter queue with the reason, for a person.
    Park,
}

/// What happens to an order without `orderNumber`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MissingNumber {
    /// Held, and re-read by every held-order sweep until commercetools has a number.
    #[default]
    Wait,
    /// Exported under a number derived from the order id.
    Derive,
}

/// What happens to an order whose `orderNumber` does not fit Peoplevox (over 30 characters,
/// or with control characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TooLongNumber {
    /// Exported under a number derived from the order id.
    #[default]
    Derive,
    /// Held until a person acts.
    Hold,
}

/// `[orders.numbering]`: the Peoplevox number of orders whose own number cannot be used.
/// A derived number is `prefix` + the first hex digits of SHA-256(order id), at most 30
/// characters; the export records it as the order's syncInfo `externalId`, where callbacks
/// find it again.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderNumbering {
    /// Orders without `orderNumber`.
    #[serde(default)]
    pub missing: MissingNumber,
    /// Orders whose `orderNumber` does not fit.
    #[serde(default)]
    pub too_long: TooLongNumber,
    /// Start of every derived number.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// With `missing = "wait"`: for how many days after it was placed the held-order sweep
    /// re-reads an order waiting for its number (then it is left to a person, and audited).
    #[serde(default = "default_wait_days")]
    pub wait_days: u32,
}

impl Default for OrderNumbering {
    fn default() -> Self {
        Self {
            missing: MissingNumber::default(),
            too_long: TooLongNumber::default(),
            prefix: default_prefix(),
            wait_days: default_wait_days(),
        }
    }
}

fn default_wait_days() -> u32 {
    7
}

fn default_prefix() -> String {
    "CT-".into()
}

impl OrderNumbering {
    /// Hex digits of a derived number under this prefix.
    pub fn hex_digits(&self) -> usize {
        DERIVED_HEX_DIGITS.min(SALES_ORDER_NUMBER_MAX.saturating_sub(self.prefix.chars().count()))
    }
}

impl OrderRules {
    /// The item code a custom line item with `slug` is exported under: its own from
    /// `custom_line_item_codes`, else `custom_line_item_code`; `None` when custom line items
    /// are left out or no code applies.
    pub fn custom_line_code(&self, slug: &str) -> Option<&str> {
        if self.custom_line_items != CustomLineItems::Export {
            return None;
        }
        self.custom_line_item_codes
            .get(slug)
            .or(self.custom_line_item_code.as_ref())
            .map(String::as_str)
    }
}

/// Checks the order-side keys this module adds, naming the key at fault.
pub(super) fn validate(o: &OrderRules) -> Result<(), ConfigError> {
    let prefix = &o.numbering.prefix;
    if prefix.chars().any(char::is_control) || prefix.trim() != prefix {
        return Err(ConfigError::invalid(
            "orders.numbering.prefix",
            "must not hold control characters or start or end with a space",
        ));
    }
    let room = SALES_ORDER_NUMBER_MAX - MIN_HEX_DIGITS;
    if prefix.chars().count() > room {
        return Err(ConfigError::invalid(
            "orders.numbering.prefix",
            format!(
                "must be at most {room} characters (a derived number is at most {SALES_ORDER_NUMBER_MAX})"
            ),
        ));
    }
    let item_code = |key: String, code: &str| -> Result<(), ConfigError> {
        let code = Sku::parse(code).map_err(|e| ConfigError::invalid(&key, e))?;
        if code.as_str().chars().count() > ITEM_CODE_MAX {
            return Err(ConfigError::invalid(
                &key,
                format!("is longer than the {ITEM_CODE_MAX} characters of Peoplevox's ItemCode"),
            ));
        }
        Ok(())
    };
    if let Some(code) = &o.custom_line_item_code {
        item_code("orders.custom_line_item_code".into(), code)?;
    }
    for (slug, code) in &o.custom_line_item_codes {
        item_code(format!("orders.custom_line_item_codes.\"{slug}\""), code)?;
    }
    if o.custom_line_items == CustomLineItems::Export
        && o.custom_line_item_code.is_none()
        && o.custom_line_item_codes.is_empty()
    {
        return Err(ConfigError::invalid(
            "orders.custom_line_item_code",
            "is needed when orders.custom_line_items = \"export\" (or map slugs in orders.custom_line_item_codes)",
        ));
    }
    if o.delivery_note_max_chars == Some(0) {
        return Err(ConfigError::invalid(
            "orders.delivery_note_max_chars",
            "must be at least 1 (leave it out to never cut)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, MINIMAL_TOML as MINIMAL};

    #[test]
    fn order_keys_have_their_defaults() {
        let o = Config::from_toml(MINIMAL).unwrap().orders;
        assert_eq!(o.custom_line_items, CustomLineItems::LeaveOut);
        assert!(o.export_imported);
        assert_eq!(o.numbering, OrderNumbering::default());
        assert_eq!(
            (
                o.numbering.missing,
                o.numbering.too_long,
                o.numbering.prefix.as_str()
            ),
            (MissingNumber::Wait, TooLongNumber::Derive, "CT-")
        );
        assert_eq!(o.delivery_note_field, "Notes");
        assert_eq!(o.delivery_note_max_chars, None);
    }

    #[test]
    fn order_keys_are_read_and_checked_by_name() {
        let c = Config::from_toml(&format!(
            "{MINIMAL}\n[orders]\ncustom_line_items = \"export\"\ncustom_line_item_code = \"FEE\"\nexport_imported = false\n[orders.numbering]\nmissing = \"derive\"\ntoo_long = \"hold\"\nprefix = \"SHOP-\"\n[orders.custom_line_item_codes]\n\"gift-wrap\" = \"WRAP\"\n"
        ))
        .unwrap();
        let o = c.orders;
        assert_eq!(o.custom_line_items, CustomLineItems::Export);
        assert!(!o.export_imported);
        assert_eq!(o.numbering.hex_digits(), 24);
        assert_eq!(o.custom_line_item_codes["gift-wrap"], "WRAP");
        for (extra, key) in [
            (
                "custom_line_items = \"export\"",
                "orders.custom_line_item_code",
            ),
            (
                "custom_line_item_code = \"\"",
                "orders.custom_line_item_code",
            ),
            (
                &format!("custom_line_item_code = \"{}\"", "X".repeat(51)),
                "orders.custom_line_item_code",
            ),
            (
                "delivery_note_max_chars = 0",
                "orders.delivery_note_max_chars",
            ),
            (
                "numbering.prefix = \"WAY-TOO-LONG-PREFIX\"",
                "orders.numbering.prefix",
            ),
            ("numbering.prefix = \" X\"", "orders.numbering.prefix"),
        ] {
            let e = Config::from_toml(&format!("{MINIMAL}\n[orders]\n{extra}\n")).unwrap_err();
            assert!(e.to_string().contains(key), "{extra}: {e}");
        }
        let e = Config::from_toml(&format!(
            "{MINIMAL}\n[orders.numbering]\nmissing = \"guess\"\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
    }
}
