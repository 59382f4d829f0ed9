//! Identifiers and quantities that are valid once constructed.

use std::fmt;

/// A Peoplevox sales order number: 1–30 characters, no control characters (Peoplevox field
/// length: string(30)).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct SalesOrderNumber(String);

/// Longest sales order number Peoplevox stores.
pub const SALES_ORDER_NUMBER_MAX: usize = 30;

impl SalesOrderNumber {
    /// Parses an order number, naming the problem.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("order number is empty".into());
        }
        if s.chars().count() > SALES_ORDER_NUMBER_MAX {
            return Err(format!(
                "order number `{s}` is longer than {SALES_ORDER_NUMBER_MAX} characters"
            ));
        }
        if s.chars().any(char::is_control) {
            return Err("order number contains control characters".into());
        }
        Ok(Self(s.to_string()))
    }
    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SalesOrderNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A SKU / Peoplevox item code: non-empty, at most 100 characters, no control characters.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Sku(String);

impl Sku {
    /// Parses a SKU, naming the problem.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("SKU is empty".into());
        }
        if s.chars().count() > 100 {
            return Err(format!("SKU `{s}` is longer than 100 characters"));
        }
        if s.chars().any(char::is_control) {
            return Err("SKU contains control characters".into());
        }
        Ok(Self(s.to_string()))
    }
    /// The SKU as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A positive quantity of units.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Quantity(u32);

impl Quantity {
    /// Parses a positive whole quantity.
    pub fn new(n: i64) -> Result<Self, String> {
        match u32::try_from(n) {
            Ok(q) if q > 0 => Ok(Self(q)),
            _ => Err(format!("quantity {n} is not a positive whole number")),
        }
    }
    /// Multiplies by a unit-of-measure factor, refusing overflow.
    pub fn times(self, factor: u32) -> Result<Self, String> {
        self.0
            .checked_mul(factor)
            .map(Self)
            .ok_or_else(|| format!("quantity {} × factor {factor} overflows", self.0))
    }
    /// The number of units.
    pub fn get(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers() {
        assert!(SalesOrderNumber::parse(" 10001 ").is_ok_and(|n| n.as_str() == "10001"));
        assert!(SalesOrderNumber::parse("").is_err());
        assert!(
            SalesOrderNumber::parse(&"9".repeat(31))
                .unwrap_err()
                .contains("30")
        );
        assert!(SalesOrderNumber::parse("a\nb").is_err());
    }

    #[test]
    fn quantities() {
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(-2).is_err());
        assert_eq!(Quantity::new(3).unwrap().times(6).unwrap().get(), 18);
        assert!(Quantity::new(u32::MAX as i64).unwrap().times(2).is_err());
    }
}
