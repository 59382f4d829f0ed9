//! Which Peoplevox site an order goes to: the first routing rule whose selectors all match.

use crate::commercetools::types::{Address, Order};
use crate::config::{OrderRules, RoutingRule};
use crate::domain::HoldReason;

fn rule_matches(
    rule: &RoutingRule,
    order: &Order,
    country: Option<&str>,
    channel: Option<&str>,
) -> bool {
    let store = order.store.as_ref().and_then(|s| s.key.as_deref());
    rule.store.as_deref().is_none_or(|want| store == Some(want))
        && rule
            .supply_channel
            .as_deref()
            .is_none_or(|want| channel == Some(want))
        && rule
            .country
            .as_deref()
            .is_none_or(|want| country.is_some_and(|c| c.eq_ignore_ascii_case(want)))
}

/// The site for an order shipping to `destination` (the order's `shippingAddress` when
/// `None`; a part of a split order goes by its own address). All lines must come from one
/// supply channel (or none): an order spanning warehouses cannot be one Peoplevox order, so it
/// is held rather than guessed.
pub fn route(
    order: &Order,
    destination: Option<&Address>,
    rules: &OrderRules,
) -> Result<String, HoldReason> {
    let country = destination
        .or(order.shipping_address.as_ref())
        .map(|a| a.country.as_str());
    let mut channels: Vec<&str> = order
        .line_items
        .iter()
        .filter_map(|li| li.supply_channel.as_ref().and_then(|c| c.id.as_deref()))
        .collect();
    channels.sort_unstable();
    channels.dedup();
    if channels.len() > 1 {
        return Err(HoldReason::invalid(format!(
            "line items come from {} supply channels ({}); one Peoplevox order needs one site",
            channels.len(),
            channels.join(", ")
        )));
    }
    let channel = channels.first().copied();
    rules
        .routing
        .iter()
        .find(|rule| rule_matches(rule, order, country, channel))
        .map(|rule| rule.site.clone())
        .or_else(|| rules.default_site.clone())
        .ok_or_else(|| {
            HoldReason::invalid("no routing rule matches the order and no default_site is set")
        })
}
