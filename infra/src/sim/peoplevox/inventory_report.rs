//! The "Item inventory summary" report: one row per stocked (site, item), read in place from
//! the stock map. A clause that pins the site or the item code with equalities (as the
//! connector's reads do) is answered by looking those rows up instead of testing all of them,
//! so that a page costs the rows it can match, not the whole warehouse.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::clause::Clause;
use super::row::Row;
use super::state::{Data, SimStock};

/// Columns of the "Item inventory summary" report.
pub const INVENTORY_COLUMNS: &[&str] = &["Item code", "Available", "On hand", "Site reference"];

const ITEM_CODE: &str = "Item code";
const SITE_REFERENCE: &str = "Site reference";

type Stock = BTreeMap<(String, String), SimStock>;

/// One row of the report, borrowed from the stock map.
#[derive(Debug, Clone, Copy)]
pub struct StockRow<'a> {
    site: &'a str,
    item: &'a str,
    stock: &'a SimStock,
}

impl<'a> StockRow<'a> {
    fn of(((site, item), stock): (&'a (String, String), &'a SimStock)) -> Self {
        Self { site, item, stock }
    }
}

impl Row for StockRow<'_> {
    fn get(&self, column: &str) -> Option<Cow<'_, str>> {
        match column {
            ITEM_CODE => Some(Cow::Borrowed(self.item)),
            "Available" => Some(Cow::Owned(self.stock.available.to_string())),
            "On hand" => Some(Cow::Owned(self.stock.on_hand.to_string())),
            SITE_REFERENCE => Some(Cow::Borrowed(self.site)),
            _ => None,
        }
    }
}

/// The rows that match every clause, by site then item code (the order of the stock map,
/// which is the report's order before `OrderBy`).
pub fn matching_rows<'a>(
    data: &'a Data,
    clauses: &'a [&'a Clause],
) -> impl Iterator<Item = StockRow<'a>> + 'a {
    let stock = &data.stock;
    let matches_all = move |row: &StockRow<'_>| clauses.iter().all(|c| c.matches(row));
    // One of the three reads below; the others are empty. (A chain rather than a boxed
    // iterator: it passes `try_fold` through, which a walk over 100,000 rows feels.)
    let (mut looked_up, mut by_site, mut everything) = (Vec::new(), None, None);
    match (pinned(clauses, SITE_REFERENCE), pinned(clauses, ITEM_CODE)) {
        (sites, Some(items)) => {
            let sites = match sites {
                Some(sites) => sites.into_iter().map(str::to_string).collect(),
                None => sites_of(stock),
            };
            // Sites, then items, each in order: the keys come out in the map's order.
            looked_up = sites
                .iter()
                .flat_map(|site| {
                    items
                        .iter()
                        .map(move |item| (site.clone(), item.to_string()))
                })
                .filter_map(|key| stock.get_key_value(&key))
                .map(StockRow::of)
                .filter(matches_all)
                .collect();
        }
        (Some(sites), None) => {
            by_site = Some(sites.into_iter().flat_map(move |site| {
                // Within a site's rows, the clauses' tests of the site are decided: often
                // nothing is left to test.
                let left: Vec<Clause> = clauses
                    .iter()
                    .map(|c| c.given(SITE_REFERENCE, site))
                    .filter(|c| *c != Clause::All)
                    .collect();
                // `site` + NUL sorts after `site` and before every later site.
                let rows = (site.to_string(), String::new())..(format!("{site}\0"), String::new());
                stock
                    .range(rows)
                    .map(StockRow::of)
                    .filter(move |row| left.iter().all(|c| c.matches(row)))
            }));
        }
        (None, None) => everything = Some(stock.iter().map(StockRow::of).filter(matches_all)),
    }
    looked_up
        .into_iter()
        .chain(by_site.into_iter().flatten())
        .chain(everything.into_iter().flatten())
}

/// The values every clause leaves `column` (`None`: any value).
fn pinned<'c>(clauses: &[&'c Clause], column: &str) -> Option<BTreeSet<&'c str>> {
    clauses
        .iter()
        .filter_map(|c| c.pinned_values(column))
        .reduce(|a, b| a.intersection(&b).copied().collect())
}

/// Every site that holds stock, in order, found with one map lookup per site.
fn sites_of(stock: &Stock) -> Vec<String> {
    let mut sites = Vec::new();
    let mut next = stock.keys().next();
    while let Some((site, _)) = next {
        sites.push(site.clone());
        // `site` + NUL sorts after `site` and before every later site, so this is the first
        // key of the next site.
        next = stock
            .range((format!("{site}\0"), String::new())..)
            .next()
            .map(|(key, _)| key);
    }
    sites
}
