//! The records GetData exports (sales orders, their lines, item types), read in place under
//! the tenant's field names. A clause that pins a record's key (the order number, the item
//! code) with equalities is answered by looking those records up, so that a check of 100
//! item codes among 100,000 item types reads 100 of them.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::clause::Clause;
use super::config::{ITEM_TYPES, SALES_ORDER_ITEMS, SALES_ORDERS, SimTemplate};
use super::row::Row;
use super::state::{Data, SimSalesOrder};

/// A template the simulator can export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exported {
    /// "Sales orders": one record per order.
    SalesOrders,
    /// "Sales order items": one record per order line.
    SalesOrderItems,
    /// "Item types": one record per item type.
    ItemTypes,
}

/// The tenant's field names of a template, each with its canonical name.
#[derive(Debug)]
pub struct Names<'t> {
    canonical: BTreeMap<&'t str, &'t str>,
    template: &'t SimTemplate,
}

/// One record, borrowed from the warehouse state.
#[derive(Debug, Clone, Copy)]
pub struct TemplateRow<'a> {
    names: &'a Names<'a>,
    fields: &'a BTreeMap<String, String>,
    /// Canonical fields the record holds outside `fields` (its number, its code, …); they win
    /// over a field of the same name.
    own: [Option<(&'static str, &'a str)>; 3],
}

impl Exported {
    /// What `template` exports; `None` for a template the simulator cannot export.
    pub fn of(template: &SimTemplate) -> Option<Self> {
        [
            (SALES_ORDERS, Self::SalesOrders),
            (SALES_ORDER_ITEMS, Self::SalesOrderItems),
            (ITEM_TYPES, Self::ItemTypes),
        ]
        .into_iter()
        .find(|(name, _)| template.name.eq_ignore_ascii_case(name))
        .map(|(_, exported)| exported)
    }

    /// The canonical field that keys the records in the warehouse state.
    fn key(self) -> &'static str {
        match self {
            Self::SalesOrders | Self::SalesOrderItems => "SalesOrderNumber",
            Self::ItemTypes => "ItemCode",
        }
    }
}

impl<'t> Names<'t> {
    /// The names of `template` (a name given twice means its last field, as in a CSV row).
    pub fn of(template: &'t SimTemplate) -> Self {
        Self {
            canonical: template
                .fields
                .iter()
                .map(|f| (f.name.as_str(), f.canonical.as_str()))
                .collect(),
            template,
        }
    }

    /// The tenant's name of a canonical field, when that name means this field.
    fn name_of(&self, canonical: &str) -> Option<&'t str> {
        let field = self
            .template
            .fields
            .iter()
            .find(|f| f.canonical == canonical)?;
        (self.canonical.get(field.name.as_str()) == Some(&canonical)).then_some(field.name.as_str())
    }
}

impl Row for TemplateRow<'_> {
    /// A template field the record does not hold reads as empty, as in an exported CSV.
    fn get(&self, column: &str) -> Option<Cow<'_, str>> {
        let canonical = *self.names.canonical.get(column)?;
        let value = self
            .own
            .iter()
            .flatten()
            .find(|(name, _)| *name == canonical)
            .map(|(_, value)| *value)
            .or_else(|| self.fields.get(canonical).map(String::as_str))
            .unwrap_or_default();
        Some(Cow::Borrowed(value))
    }
}

/// The records of a template that match `clause`, in the order GetData exports them (by
/// order number, then line; by item code).
pub fn matching_records<'a>(
    data: &'a Data,
    exported: Exported,
    names: &'a Names<'a>,
    clause: &'a Clause,
) -> Box<dyn Iterator<Item = TemplateRow<'a>> + 'a> {
    let keys = names
        .name_of(exported.key())
        .and_then(|name| clause.pinned_values(name));
    let row = move |fields, own| TemplateRow { names, fields, own };
    let records: Box<dyn Iterator<Item = TemplateRow<'a>> + 'a> = match exported {
        Exported::SalesOrders => Box::new(orders(data, keys).map(move |o| {
            let own = [
                Some(("SalesOrderNumber", o.number.as_str())),
                Some(("Site", o.site.as_str())),
                None,
            ];
            row(&o.fields, own)
        })),
        Exported::SalesOrderItems => Box::new(orders(data, keys).flat_map(move |o| {
            o.items.iter().map(move |i| {
                let own = [
                    Some(("SalesOrderNumber", o.number.as_str())),
                    Some(("ItemCode", i.item_code.as_str())),
                    Some(("QuantityOrdered", i.quantity.as_str())),
                ];
                row(&i.fields, own)
            })
        })),
        Exported::ItemTypes => {
            let items: Box<dyn Iterator<Item = _>> = match keys {
                Some(codes) => Box::new(codes.into_iter().filter_map(|c| data.item_types.get(c))),
                None => Box::new(data.item_types.values()),
            };
            Box::new(
                items.map(move |i| {
                    row(&i.fields, [Some(("ItemCode", i.code.as_str())), None, None])
                }),
            )
        }
    };
    Box::new(records.filter(move |r| clause.matches(r)))
}

/// The orders with these numbers (every order for `None`), by number.
fn orders<'a>(
    data: &'a Data,
    numbers: Option<BTreeSet<&'a str>>,
) -> Box<dyn Iterator<Item = &'a SimSalesOrder> + 'a> {
    match numbers {
        Some(numbers) => Box::new(numbers.into_iter().filter_map(|n| data.orders.get(n))),
        None => Box::new(data.orders.values()),
    }
}
