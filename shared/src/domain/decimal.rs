//! Exact decimal amounts for money: an integer count of `10^-scale` units. No floating point
//! ever touches a price; every operation that could overflow says so instead of wrapping.

use std::fmt;

/// The largest scale a [`Decimal`] takes: 10^38 is the largest power of ten an `i128` holds.
pub const MAX_SCALE: u32 = 38;

/// `units × 10^-scale`, exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    units: i128,
    scale: u32,
}

/// An operation whose result an `i128` cannot hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("amount out of range")]
pub struct Overflow;

fn pow10(exp: u32) -> Result<i128, Overflow> {
    10i128.checked_pow(exp).ok_or(Overflow)
}

impl Decimal {
    /// `units × 10^-scale`; a scale above [`MAX_SCALE`] is refused.
    pub fn new(units: i128, scale: u32) -> Result<Self, Overflow> {
        if scale > MAX_SCALE {
            return Err(Overflow);
        }
        Ok(Self { units, scale })
    }

    /// Zero at this scale.
    pub fn zero(scale: u32) -> Self {
        Self {
            units: 0,
            scale: scale.min(MAX_SCALE),
        }
    }

    /// The count of `10^-scale` units.
    pub fn units(self) -> i128 {
        self.units
    }

    /// Digits after the decimal point.
    pub fn scale(self) -> u32 {
        self.scale
    }

    /// The same amount with at least `scale` digits (never fewer than it has).
    pub fn rescaled_up(self, scale: u32) -> Result<Self, Overflow> {
        if scale <= self.scale {
            return Ok(self);
        }
        let units = self
            .units
            .checked_mul(pow10(scale - self.scale)?)
            .ok_or(Overflow)?;
        Self::new(units, scale)
    }

    /// The exact sum.
    pub fn checked_add(self, other: Self) -> Result<Self, Overflow> {
        let scale = self.scale.max(other.scale);
        let (a, b) = (self.rescaled_up(scale)?, other.rescaled_up(scale)?);
        Self::new(a.units.checked_add(b.units).ok_or(Overflow)?, scale)
    }

    /// The exact product with a whole number.
    pub fn checked_mul(self, factor: i128) -> Result<Self, Overflow> {
        Self::new(self.units.checked_mul(factor).ok_or(Overflow)?, self.scale)
    }

    /// `self ÷ divisor` at `scale` digits, rounded half to even (commercetools' default
    /// rounding, [R] `types/cart/RoundingMode.raml`). `scale` is at least the amount's own.
    pub fn div_round_half_even(self, divisor: i128, scale: u32) -> Result<Self, Overflow> {
        if divisor == 0 {
            return Err(Overflow);
        }
        let numerator = self.rescaled_up(scale)?.units;
        let quotient = numerator.checked_div(divisor).ok_or(Overflow)?;
        let remainder = numerator.checked_rem(divisor).ok_or(Overflow)?;
        let twice = remainder.unsigned_abs().checked_mul(2).ok_or(Overflow)?;
        let half = twice.cmp(&divisor.unsigned_abs());
        let away = match half {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => quotient % 2 != 0,
            std::cmp::Ordering::Less => false,
        };
        let sign = if (numerator < 0) != (divisor < 0) {
            -1
        } else {
            1
        };
        let units = if away && remainder != 0 {
            quotient.checked_add(sign).ok_or(Overflow)?
        } else {
            quotient
        };
        Self::new(units, scale.max(self.scale))
    }

    /// The amount written with its scale's digits, trailing zeros dropped down to
    /// `min_scale` digits (`34.0000` with 2 → `34.00`; `0.0123500` with 2 → `0.01235`).
    pub fn to_string_trimmed(self, min_scale: u32) -> String {
        let mut d = self;
        while d.scale > min_scale && d.units % 10 == 0 {
            d.units /= 10;
            d.scale -= 1;
        }
        d.to_string()
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let digits = self.units.unsigned_abs().to_string();
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (major, minor) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{major}.{minor}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(units: i128, scale: u32) -> Decimal {
        Decimal::new(units, scale).unwrap()
    }

    #[test]
    fn writes_every_digit_of_its_scale() {
        assert_eq!(d(1250, 2).to_string(), "12.50");
        assert_eq!(d(-5, 20).to_string(), "-0.00000000000000000005");
        assert_eq!(d(7, 0).to_string(), "7");
        assert_eq!(d(339_999, 4).to_string(), "33.9999");
    }

    #[test]
    fn trims_trailing_zeros_down_to_the_currency_digits() {
        assert_eq!(d(340_000, 4).to_string_trimmed(2), "34.00");
        assert_eq!(d(123_500, 7).to_string_trimmed(2), "0.01235");
        assert_eq!(d(100, 2).to_string_trimmed(0), "1");
        assert_eq!(d(-1_230, 3).to_string_trimmed(2), "-1.23");
    }

    #[test]
    fn divides_rounding_half_to_even() {
        // 12.35 over 1000 units at 7 digits: exact.
        assert_eq!(
            d(1235, 2).div_round_half_even(1000, 7).unwrap(),
            d(123_500, 7)
        );
        // 0.05 / 2 = 0.025 → 0.02 (even), 0.15 / 2 = 0.075 → 0.08 (even).
        assert_eq!(d(5, 2).div_round_half_even(2, 2).unwrap(), d(2, 2));
        assert_eq!(d(15, 2).div_round_half_even(2, 2).unwrap(), d(8, 2));
        assert_eq!(d(-15, 2).div_round_half_even(2, 2).unwrap(), d(-8, 2));
        // 10.00 / 3 = 3.333… → 3.33; 20.00 / 3 = 6.666… → 6.67.
        assert_eq!(d(1000, 2).div_round_half_even(3, 2).unwrap(), d(333, 2));
        assert_eq!(d(2000, 2).div_round_half_even(3, 2).unwrap(), d(667, 2));
        assert!(d(1, 2).div_round_half_even(0, 2).is_err());
    }

    #[test]
    fn adds_and_multiplies_exactly_or_says_overflow() {
        assert_eq!(d(1, 2).checked_add(d(5, 4)).unwrap(), d(105, 4));
        assert_eq!(d(339_999, 4).checked_mul(3).unwrap(), d(1_019_997, 4));
        assert_eq!(d(i128::MAX, 0).checked_add(d(1, 0)), Err(Overflow));
        assert_eq!(d(1, 0).rescaled_up(39), Err(Overflow));
        assert!(Decimal::new(1, 39).is_err());
    }
}
