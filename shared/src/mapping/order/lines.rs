//! An order's lines → Peoplevox sales order lines: line items (SKU → item code and pack
//! factor), then custom line items as `orders.custom_line_items` says: left out with a note
//! each, or sent under their configured item code.

use super::destinations::Destination;
use super::price::{custom_sale_price, line_sale_price};
use crate::commercetools::types::{CustomLineItem, Money, Order};
use crate::config::{CustomLineItems, ITEM_CODE_MAX, OrderRules};
use crate::domain::{HoldReason, Quantity, SalesOrderLine, Sku};
use crate::mapping::field_limits::length;

/// The lines of `order` going to `dest` (every unit when `None`), numbered from 1; notes name
/// every custom line left out (on the order's first part only, `first`).
pub(super) fn map_lines(
    order: &Order,
    rules: &OrderRules,
    currency_digits: u32,
    dest: Option<&Destination<'_>>,
    first: bool,
    notes: &mut Vec<String>,
) -> Result<Vec<SalesOrderLine>, HoldReason> {
    let mut lines = Vec::with_capacity(order.line_items.len() + order.custom_line_items.len());
    for item in &order.line_items {
        let units = match dest {
            Some(d) => match d.line_units.get(item.id.as_str()) {
                Some(units) => *units,
                None => continue,
            },
            None => item.quantity,
        };
        let sku = item
            .variant
            .sku
            .as_deref()
            .ok_or_else(|| HoldReason::invalid(format!("line item {} has no SKU", item.id)))?;
        let ct_sku = Sku::parse(sku)
            .map_err(|e| HoldReason::invalid(format!("line item {}: {e}", item.id)))?;
        let quantity = Quantity::new(units)
            .map_err(|e| HoldReason::invalid(format!("line item {} ({sku}): {e}", item.id)))?;
        let (item_code, factor) = match rules.units_of_measure.get(ct_sku.as_str()) {
            Some(u) => {
                let code = u.item_code.as_deref().unwrap_or(sku);
                let code = Sku::parse(code)
                    .map_err(|e| HoldReason::invalid(format!("units_of_measure for {sku}: {e}")))?;
                (code, u.factor)
            }
            None => (ct_sku, 1),
        };
        check_item_code(&item_code, &format!("line item {}", item.id))?;
        let quantity = quantity
            .times(factor)
            .map_err(|e| HoldReason::invalid(format!("line item {} ({sku}): {e}", item.id)))?;
        let sale_price =
            line_sale_price(item, factor, currency_digits).map_err(HoldReason::invalid)?;
        lines.push(SalesOrderLine {
            line: next_line(&lines),
            item_code,
            quantity,
            sale_price,
            ct_line_item_id: item.id.clone(),
        });
    }
    let custom = &order.custom_line_items;
    match rules.custom_line_items {
        CustomLineItems::LeaveOut => {
            if first {
                notes.extend(custom.iter().map(left_out));
            }
        }
        CustomLineItems::Export => {
            for c in custom {
                let units = match dest {
                    Some(d) => match d.custom_units.get(c.id.as_str()) {
                        Some(units) => *units,
                        None => continue,
                    },
                    None => c.quantity,
                };
                let line = custom_line(c, units, rules, currency_digits, next_line(&lines))?;
                lines.push(line);
            }
        }
    }
    if lines.is_empty() {
        if custom.is_empty() {
            return Err(HoldReason::invalid("order has no line items"));
        }
        let names: Vec<String> = custom.iter().map(describe).collect();
        return Err(HoldReason::invalid(format!(
            "order holds only custom line items ({}), which orders.custom_line_items = \
             \"leave-out\" leaves out: nothing for the warehouse to pick",
            names.join("; ")
        )));
    }
    Ok(lines)
}

/// The next 1-based line number: stable, since an order's lines do not change once placed.
fn next_line(lines: &[SalesOrderLine]) -> u32 {
    u32::try_from(lines.len() + 1).unwrap_or(u32::MAX)
}

/// Peoplevox's ItemCode is `string(50)` (Zynk `Peoplevox-Sales-Order-XML.md`).
fn check_item_code(code: &Sku, whose: &str) -> Result<(), HoldReason> {
    if length(code.as_str()) > ITEM_CODE_MAX {
        return Err(HoldReason::invalid(format!(
            "{whose}: ItemCode `{code}` is longer than {ITEM_CODE_MAX} characters, the most \
             Peoplevox's ItemCode takes"
        )));
    }
    Ok(())
}

/// "`gift-wrap` (Gift wrap) ×1, 4.99 GBP".
fn describe(c: &CustomLineItem) -> String {
    let slug = c.slug.as_deref().unwrap_or(c.id.as_str());
    let label = c.label();
    let name = if label == slug {
        String::new()
    } else {
        format!(" ({label})")
    };
    format!("`{slug}`{name} ×{}{}", c.quantity, amount_text(c))
}

fn amount_text(c: &CustomLineItem) -> String {
    let total = c.total_price.as_ref().or(c.money.as_ref());
    let Some(money) = total else {
        return String::new();
    };
    let currency = money
        .currency_code
        .as_deref()
        .map(|code| format!(" {code}"))
        .unwrap_or_default();
    let what = if c.total_price.is_some() { "" } else { " each" };
    format!(", {}{currency}{what}", Money::to_decimal_string(money))
}

fn left_out(c: &CustomLineItem) -> String {
    format!(
        "custom line item {} left out (orders.custom_line_items = \"leave-out\")",
        describe(c)
    )
}

/// A custom line item sent as a line under its configured item code.
fn custom_line(
    c: &CustomLineItem,
    units: i64,
    rules: &OrderRules,
    currency_digits: u32,
    line: u32,
) -> Result<SalesOrderLine, HoldReason> {
    let slug = c.slug.as_deref().unwrap_or_default();
    let code = rules.custom_line_code(slug).ok_or_else(|| {
        HoldReason::invalid(format!(
            "custom line item `{slug}` has no item code: map it in \
                 orders.custom_line_item_codes or set orders.custom_line_item_code"
        ))
    })?;
    let whose = format!("custom line item {} (`{slug}`)", c.id);
    let item_code = Sku::parse(code).map_err(|e| HoldReason::invalid(format!("{whose}: {e}")))?;
    check_item_code(&item_code, &whose)?;
    let quantity =
        Quantity::new(units).map_err(|e| HoldReason::invalid(format!("{whose}: {e}")))?;
    let sale_price = custom_sale_price(c, currency_digits).map_err(HoldReason::invalid)?;
    Ok(SalesOrderLine {
        line,
        item_code,
        quantity,
        sale_price,
        ct_line_item_id: c.id.clone(),
    })
}
