//! What the customer pays: per Peoplevox unit of a line (SalePrice), for shipping
//! (ShippingCost), and the order-level discount (Discount), exactly.
//!
//! [R] = commercetools/commercetools-api-reference, `api-specs/api/types/`:
//! - `cart/LineItem.raml`, `totalPrice`: "`price` multiplied by `quantity`. If the Line Item is
//!   discounted, the total price is the `discountedPricePerQuantity` multiplied by `quantity`"
//!   (CentPrecisionMoney, after product and line discounts);
//! - `cart/DiscountedLineItemPriceForQuantity.raml`: `quantity` units at `discountedPrice.value`;
//! - `common/DiscountedPrice.raml`: `price.discounted`, "Set if a ProductDiscount applies";
//! - `cart/ShippingInfo.raml`: `discountedPrice?` is the shipping price after discounts;
//! - `order/Order.raml`, `discountOnTotalPrice?`: discounts on the order's total, which no
//!   line's `totalPrice` includes. So lines + shipping − Discount = TotalSale.

use crate::commercetools::types::{CustomLineItem, LineItem, Money, Order, ShippingInfo};
use crate::domain::Decimal;

/// A money amount at the order's currency digits, trailing zeros beyond them dropped.
pub(super) fn amount(money: &Money, currency_digits: u32, field: &str) -> Result<String, String> {
    let exact = money.exact().map_err(|e| format!("{field} {e}"))?;
    Ok(exact.to_string_trimmed(currency_digits))
}

/// The currency's own digits: from the order's total (always cent precision), else from any
/// cent-precision amount of the order, else 2.
pub(super) fn currency_digits(order: &Order) -> u32 {
    let cent = |m: Option<&Money>| m.and_then(Money::currency_digits);
    cent(order.total_price.as_ref())
        .or_else(|| {
            order.line_items.iter().find_map(|li| {
                cent(li.total_price.as_ref()).or(cent(li.price.as_ref().map(|p| &p.value)))
            })
        })
        .unwrap_or(2)
}

/// The shipping the customer pays for `info` (the order's, or a Multiple-mode shipping's):
/// the discounted price when a discount applies (down to 0.00), else the price.
pub(super) fn shipping_cost(
    info: Option<&ShippingInfo>,
    currency_digits: u32,
) -> Result<Option<String>, String> {
    Ok(shipping_exact(info)?.map(|d| d.to_string_trimmed(currency_digits)))
}

fn shipping_exact(info: Option<&ShippingInfo>) -> Result<Option<Decimal>, String> {
    let Some(info) = info else {
        return Ok(None);
    };
    if let Some(discounted) = &info.discounted_price {
        let field = "shippingInfo.discountedPrice.value";
        return discounted
            .value
            .exact()
            .map(Some)
            .map_err(|e| format!("{field} {e}"));
    }
    info.price
        .as_ref()
        .map(|p| p.exact().map_err(|e| format!("shippingInfo.price {e}")))
        .transpose()
}

/// Nothing, at the currency's digits (`0.00`).
pub(super) fn zero(currency_digits: u32) -> String {
    Decimal::zero(currency_digits).to_string()
}

/// What the customer pays for one part of a split order, before the order-level discount:
/// its share of each line's total (the line's total × the part's units ÷ the line's units;
/// custom line items only when they are exported, `with_custom`), and its shipping when it is
/// charged there. Each rounded half even to the currency; `(lines, shipping)`.
pub(super) fn part_totals(
    order: &Order,
    dest: &super::destinations::Destination<'_>,
    with_custom: bool,
    currency_digits: u32,
) -> Result<(Decimal, Decimal), String> {
    let share = |line: LineTotal, units: i64, label: &str| {
        line.total
            .checked_mul(i128::from(units))
            .and_then(|t| t.div_round_half_even(line.units.max(1), currency_digits))
            .map_err(|_| overflow(label))
    };
    let mut lines = Decimal::zero(currency_digits);
    for item in &order.line_items {
        let Some(units) = dest.line_units.get(item.id.as_str()) else {
            continue;
        };
        let label = format!("lineItems[{}]", item.id);
        if let Some(line) = item_total(item, &label)? {
            let part = share(line, *units, &label)?;
            lines = lines.checked_add(part).map_err(|_| overflow(&label))?;
        }
    }
    for item in order.custom_line_items.iter().filter(|_| with_custom) {
        let Some(units) = dest.custom_units.get(item.id.as_str()) else {
            continue;
        };
        let label = format!("customLineItems[{}]", item.id);
        if let Some(line) = custom_total(item, &label)? {
            let part = share(line, *units, &label)?;
            lines = lines.checked_add(part).map_err(|_| overflow(&label))?;
        }
    }
    let shipping = match shipping_exact(dest.shipping_info)? {
        Some(cost) if dest.charges_shipping => cost
            .div_round_half_even(1, currency_digits)
            .map_err(|_| overflow("shippingInfo.price"))?,
        _ => Decimal::zero(currency_digits),
    };
    Ok((lines, shipping))
}

/// The order-level discount spread over the parts in proportion to what their lines cost,
/// each share rounded half even to the currency and the last part taking what rounding left,
/// so that the shares add up to the discount exactly. `None`: the order has none.
pub(super) fn discount_shares(
    order: &Order,
    lines: &[Decimal],
    currency_digits: u32,
) -> Result<Option<Vec<Decimal>>, String> {
    let field = "discountOnTotalPrice.discountedAmount";
    let Some(discount) = order
        .discount_on_total_price
        .as_ref()
        .and_then(|d| d.discounted_amount.as_ref())
    else {
        return Ok(None);
    };
    let discount = discount
        .exact()
        .map_err(|e| format!("{field} {e}"))?
        .div_round_half_even(1, currency_digits)
        .map_err(|_| overflow(field))?;
    let scale = |d: Decimal| d.rescaled_up(currency_digits).map(Decimal::units);
    let weights: Vec<i128> = lines
        .iter()
        .map(|l| scale(*l))
        .collect::<Result<_, _>>()
        .map_err(|_| overflow(field))?;
    let all: i128 = weights.iter().sum();
    let mut shares = Vec::with_capacity(lines.len());
    let mut given = Decimal::zero(currency_digits);
    for (i, weight) in weights.iter().enumerate() {
        let share = if i + 1 == weights.len() {
            discount
                .checked_add(given.checked_mul(-1).map_err(|_| overflow(field))?)
                .map_err(|_| overflow(field))?
        } else if all == 0 {
            Decimal::zero(currency_digits)
        } else {
            discount
                .checked_mul(*weight)
                .and_then(|d| d.div_round_half_even(all, currency_digits))
                .map_err(|_| overflow(field))?
        };
        given = given.checked_add(share).map_err(|_| overflow(field))?;
        shares.push(share);
    }
    Ok(Some(shares))
}

/// The discount on the order's total, which the lines do not include.
pub(super) fn order_discount(
    order: &Order,
    currency_digits: u32,
) -> Result<Option<String>, String> {
    order
        .discount_on_total_price
        .as_ref()
        .and_then(|d| d.discounted_amount.as_ref())
        .map(|m| amount(m, currency_digits, "discountOnTotalPrice.discountedAmount"))
        .transpose()
}

/// What a line costs in all, over how many commercetools units, and the most digits any
/// high-precision amount behind it has.
struct LineTotal {
    total: Decimal,
    units: i128,
    precise_digits: u32,
}

fn exact(money: &Money, field: &str) -> Result<(Decimal, u32), String> {
    let value = money.exact().map_err(|e| format!("{field} {e}"))?;
    let precise = if money.is_high_precision() {
        money.fraction_digits
    } else {
        0
    };
    Ok((value, precise))
}

fn overflow(field: &str) -> String {
    format!("{field} is out of range")
}

/// The total of a line: `totalPrice`; without it, the `discountedPricePerQuantity` units at
/// their prices (any units they leave out at the unit price); else the unit price (product
/// discount first) times the quantity. `None` when the line has no price at all.
fn line_total(
    quantity: i64,
    total_price: Option<&Money>,
    per_quantity: &[(i64, &Money)],
    unit_price: Option<&Money>,
    label: &str,
) -> Result<Option<LineTotal>, String> {
    let field = |name: &str| format!("{label}.{name}");
    if let Some(total) = total_price {
        let (total, precise) = exact(total, &field("totalPrice"))?;
        // totalPrice is cent precision; a high-precision unit price still asks for its digits.
        let unit_digits = match unit_price {
            Some(m) => exact(m, &field("price.value"))?.1,
            None => 0,
        };
        return Ok(Some(LineTotal {
            total,
            units: i128::from(quantity),
            precise_digits: precise.max(unit_digits),
        }));
    }
    let mut total: Option<Decimal> = None;
    let mut covered: i64 = 0;
    let mut precise_digits = 0;
    for (units, price) in per_quantity {
        let name = field("discountedPricePerQuantity.discountedPrice.value");
        let (value, precise) = exact(price, &name)?;
        let part = value
            .checked_mul(i128::from(*units))
            .map_err(|_| overflow(&name))?;
        total = Some(match total {
            Some(t) => t.checked_add(part).map_err(|_| overflow(&name))?,
            None => part,
        });
        covered = covered.saturating_add(*units);
        precise_digits = precise_digits.max(precise);
    }
    let base = unit_price.map(|m| exact(m, &field("price"))).transpose()?;
    let rest = quantity.saturating_sub(covered);
    let (total, units) = match (total, base) {
        (Some(t), Some((price, precise))) if rest > 0 => {
            precise_digits = precise_digits.max(precise);
            let rest_total = price
                .checked_mul(i128::from(rest))
                .map_err(|_| overflow(&field("price")))?;
            let t = t
                .checked_add(rest_total)
                .map_err(|_| overflow(&field("price")))?;
            (t, i128::from(quantity))
        }
        (Some(t), _) => (t, i128::from(covered.max(1))),
        (None, Some((price, precise))) => {
            precise_digits = precise;
            (price, 1)
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(LineTotal {
        total,
        units,
        precise_digits,
    }))
}

/// The total of a line item (see [`line_total`]): its `totalPrice`, else its cart-discounted
/// units, else its (product-discounted) unit price.
fn item_total(item: &LineItem, label: &str) -> Result<Option<LineTotal>, String> {
    let per_quantity: Vec<(i64, &Money)> = item
        .discounted_price_per_quantity
        .iter()
        .map(|d| (d.quantity, &d.discounted_price.value))
        .collect();
    let unit = item.price.as_ref().map(|p| {
        p.discounted
            .as_ref()
            .map_or(&p.value, |discounted| &discounted.value)
    });
    line_total(
        item.quantity,
        item.total_price.as_ref(),
        &per_quantity,
        unit,
        label,
    )
}

/// SalePrice of one Peoplevox unit of a line item: what the customer pays for the line ÷
/// (quantity × pack factor), rounded half even to D digits, D being the currency's digits or
/// those of a high-precision price behind it when more; trailing zeros beyond the currency's
/// digits dropped. So €34.00 for one unit priced 33.9999 goes out as `34.00`, and 1,000
/// screws totalling 12.35 as `0.01235`.
pub(super) fn line_sale_price(
    item: &LineItem,
    factor: u32,
    currency_digits: u32,
) -> Result<Option<String>, String> {
    let label = format!("lineItems[{}]", item.id);
    item_total(item, &label)?
        .map(|t| per_unit(t, i128::from(factor), currency_digits, &label))
        .transpose()
}

/// SalePrice of one unit of a custom line item, the same way (no pack factor).
pub(super) fn custom_sale_price(
    item: &CustomLineItem,
    currency_digits: u32,
) -> Result<Option<String>, String> {
    let label = format!("customLineItems[{}]", item.id);
    custom_total(item, &label)?
        .map(|t| per_unit(t, 1, currency_digits, &label))
        .transpose()
}

/// The total of a custom line item, as [`item_total`] for a line item.
fn custom_total(item: &CustomLineItem, label: &str) -> Result<Option<LineTotal>, String> {
    let per_quantity: Vec<(i64, &Money)> = item
        .discounted_price_per_quantity
        .iter()
        .map(|d| (d.quantity, &d.discounted_price.value))
        .collect();
    line_total(
        item.quantity,
        item.total_price.as_ref(),
        &per_quantity,
        item.money.as_ref(),
        label,
    )
}

fn per_unit(
    t: LineTotal,
    factor: i128,
    currency_digits: u32,
    label: &str,
) -> Result<String, String> {
    let digits = currency_digits.max(t.precise_digits);
    let units = t
        .units
        .checked_mul(factor.max(1))
        .ok_or_else(|| overflow(label))?;
    let unit = t
        .total
        .div_round_half_even(units.max(1), digits)
        .map_err(|_| overflow(label))?;
    Ok(unit.to_string_trimmed(currency_digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(json: serde_json::Value) -> LineItem {
        serde_json::from_value(json).unwrap()
    }

    fn cents(amount: i64) -> serde_json::Value {
        serde_json::json!({"type": "centPrecision", "currencyCode": "EUR", "centAmount": amount, "fractionDigits": 2})
    }

    #[test]
    fn a_high_precision_price_is_read_at_its_own_digits() {
        let li = line(serde_json::json!({
            "id": "li", "quantity": 1, "totalPrice": cents(3400),
            "price": {"value": {"type": "highPrecision", "currencyCode": "EUR", "centAmount": 3400, "preciseAmount": 339_999, "fractionDigits": 4}}
        }));
        assert_eq!(
            line_sale_price(&li, 1, 2).unwrap().as_deref(),
            Some("34.00")
        );
        // Without totalPrice the precise price itself is what one unit costs.
        let mut no_total = li.clone();
        no_total.total_price = None;
        assert_eq!(
            line_sale_price(&no_total, 1, 2).unwrap().as_deref(),
            Some("33.9999")
        );
    }

    #[test]
    fn many_cheap_units_keep_the_digits_their_price_has() {
        let screws = |quantity: i64, precise: i64| {
            line(serde_json::json!({
                "id": "li", "quantity": quantity, "totalPrice": cents(1235),
                "price": {"value": {"type": "highPrecision", "currencyCode": "EUR", "centAmount": 1, "preciseAmount": precise, "fractionDigits": 7}}
            }))
        };
        // 1,000 × 0.0123456 = 12.3456, charged 12.35.
        let per_unit = line_sale_price(&screws(1000, 123_456), 1, 2).unwrap();
        assert_eq!(per_unit.as_deref(), Some("0.01235"));
        // 10,000 × 0.0012346 = 12.346, charged 12.35.
        let per_unit = line_sale_price(&screws(10_000, 12_346), 1, 2).unwrap();
        assert_eq!(per_unit.as_deref(), Some("0.001235"));
    }

    #[test]
    fn discounts_are_in_the_price_per_unit() {
        // Two units at 19.99, one of them cart-discounted to 14.99: 34.98 in all.
        let li = line(serde_json::json!({
            "id": "li", "quantity": 2, "totalPrice": cents(3498),
            "price": {"value": cents(1999)},
            "discountedPricePerQuantity": [
                {"quantity": 1, "discountedPrice": {"value": cents(1499), "includedDiscounts": []}},
                {"quantity": 1, "discountedPrice": {"value": cents(1999), "includedDiscounts": []}}
            ]
        }));
        assert_eq!(
            line_sale_price(&li, 1, 2).unwrap().as_deref(),
            Some("17.49")
        );
        // Without totalPrice: the weighted average of the discounted prices.
        let mut no_total = li.clone();
        no_total.total_price = None;
        assert_eq!(
            line_sale_price(&no_total, 1, 2).unwrap().as_deref(),
            Some("17.49")
        );
        // Only one unit covered: the other at the (product-discounted) price.
        no_total.discounted_price_per_quantity.truncate(1);
        assert_eq!(
            line_sale_price(&no_total, 1, 2).unwrap().as_deref(),
            Some("17.49")
        );
        let product_discount = line(serde_json::json!({
            "id": "li", "quantity": 3,
            "price": {"value": cents(1999), "discounted": {"value": cents(1500), "discount": {"typeId": "product-discount", "id": "d"}}}
        }));
        assert_eq!(
            line_sale_price(&product_discount, 1, 2).unwrap().as_deref(),
            Some("15.00")
        );
        // A pack of 3 at 9.00 is 3.00 a Peoplevox unit; 10.00 over 3 rounds half even.
        let pack = line(
            serde_json::json!({"id": "li", "quantity": 1, "totalPrice": cents(1000), "price": {"value": cents(1000)}}),
        );
        assert_eq!(
            line_sale_price(&pack, 3, 2).unwrap().as_deref(),
            Some("3.33")
        );
    }

    #[test]
    fn a_line_without_any_price_has_no_sale_price() {
        let li = line(serde_json::json!({"id": "li", "quantity": 1}));
        assert_eq!(line_sale_price(&li, 1, 2).unwrap(), None);
        let broken = line(
            serde_json::json!({"id": "li", "quantity": 1, "price": {"value": {"type": "highPrecision", "centAmount": 5, "fractionDigits": 4}}}),
        );
        let e = line_sale_price(&broken, 1, 2).unwrap_err();
        assert!(
            e.contains("lineItems[li].price") && e.contains("preciseAmount"),
            "{e}"
        );
    }
}
