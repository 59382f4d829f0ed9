//! commercetools money: `CentPrecisionMoney` and `HighPrecisionMoney`, read exactly.
//!
//! [R] = commercetools/commercetools-api-reference, `api-specs/api/types/common/`:
//! - `Money.raml`: `centAmount` (int64) in the currency's smallest unit, `currencyCode`.
//! - `TypedMoney.raml`: adds `type` (`centPrecision` | `highPrecision`) and `fractionDigits`
//!   (at most 20).
//! - `HighPrecisionMoney.raml`: "preciseAmount: Amount in 1 / (10 ^ `fractionDigits`) of a
//!   currency", and its `fractionDigits` is "greater than the default number of fraction digits
//!   for a currency", while `centAmount` stays in the currency's own digits
//!   (`HighPrecisionMoneyDraft.raml`: rounded half even). So a high-precision amount is
//!   `preciseAmount` at `fractionDigits`, never `centAmount` at `fractionDigits`.

use serde::{Deserialize, Serialize};

use crate::domain::Decimal;

/// The `type` of a high-precision amount.
pub const HIGH_PRECISION: &str = "highPrecision";

/// A money amount (`Money`, `CentPrecisionMoney` or `HighPrecisionMoney`).
///
/// Only `centAmount` is required: a `currencyCode` or `type` left out (as some relays and
/// drafts do) never refuses an order that does not need them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    /// `centPrecision` or `highPrecision`; absent on plain `Money`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub money_type: Option<String>,
    /// ISO 4217 code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    /// Amount in the smallest unit of the currency (for high precision: rounded).
    pub cent_amount: i64,
    /// Digits after the decimal point (2 when absent, at most [`MAX_FRACTION_DIGITS`]): the
    /// currency's own for cent precision, those of `preciseAmount` for high precision.
    #[serde(default = "two", deserialize_with = "fraction_digits")]
    pub fraction_digits: u32,
    /// The exact amount of a high-precision price, in `10^-fractionDigits` units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precise_amount: Option<i64>,
}

fn two() -> u32 {
    2
}

/// The most fraction digits a [`Money`] read from JSON may have ([R] `TypedMoney.raml`:
/// `maximum: 20`). A larger value is refused when the amount is read.
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
    /// A cent-precision amount (tests and simulators).
    pub fn cents(cent_amount: i64, currency: &str, fraction_digits: u32) -> Self {
        Self {
            money_type: Some("centPrecision".into()),
            currency_code: Some(currency.into()),
            cent_amount,
            fraction_digits,
            precise_amount: None,
        }
    }

    /// Whether the amount is high precision (`preciseAmount` present or `type` says so).
    pub fn is_high_precision(&self) -> bool {
        self.precise_amount.is_some() || self.money_type.as_deref() == Some(HIGH_PRECISION)
    }

    /// The currency's own fraction digits, when this amount shows them (cent precision).
    pub fn currency_digits(&self) -> Option<u32> {
        (!self.is_high_precision()).then_some(self.fraction_digits)
    }

    /// The exact amount: `preciseAmount` at `fractionDigits` for high precision, else
    /// `centAmount` at `fractionDigits`. A high-precision amount without `preciseAmount` is
    /// refused: its `centAmount` is in digits the amount does not state.
    pub fn exact(&self) -> Result<Decimal, String> {
        let units = match (self.precise_amount, self.is_high_precision()) {
            (Some(precise), _) => precise,
            (None, true) => return Err("is highPrecision but has no preciseAmount".into()),
            (None, false) => self.cent_amount,
        };
        Decimal::new(i128::from(units), self.fraction_digits)
            .map_err(|_| format!("fractionDigits {} is out of range", self.fraction_digits))
    }

    /// The exact amount as a decimal string in major units, e.g. `12.50` (see [`Money::exact`];
    /// the cent amount when the exact one cannot be read).
    pub fn to_decimal_string(&self) -> String {
        match self.exact() {
            Ok(amount) => amount.to_string(),
            Err(_) => Decimal::new(i128::from(self.cent_amount), 0)
                .map(|d| d.to_string())
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(json: &str) -> Money {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_high_precision_amount_is_its_precise_amount() {
        // [R] examples/Common/HighPrecisionMoney.json: 0.0123456 EUR, 1 cent.
        let m = money(
            r#"{"type":"highPrecision","currencyCode":"EUR","centAmount":1,"preciseAmount":123456,"fractionDigits":7}"#,
        );
        assert_eq!(m.to_decimal_string(), "0.0123456");
        assert_eq!(m.currency_digits(), None);
        let euro34 = money(
            r#"{"type":"highPrecision","currencyCode":"EUR","centAmount":3400,"preciseAmount":339999,"fractionDigits":4}"#,
        );
        assert_eq!(euro34.to_decimal_string(), "33.9999");
        let broken = money(r#"{"type":"highPrecision","centAmount":3400,"fractionDigits":4}"#);
        assert!(broken.exact().unwrap_err().contains("preciseAmount"));
    }

    #[test]
    fn a_cent_amount_needs_neither_currency_nor_type() {
        let m = money(r#"{"centAmount":499,"fractionDigits":2}"#);
        assert_eq!(
            (m.to_decimal_string(), m.currency_digits()),
            ("4.99".into(), Some(2))
        );
        let yen = money(
            r#"{"type":"centPrecision","currencyCode":"JPY","centAmount":5,"fractionDigits":0}"#,
        );
        assert_eq!(yen.to_decimal_string(), "5");
    }
}
