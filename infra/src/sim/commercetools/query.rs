//! Query endpoints (`GET /{resource}?where=…&sort=…&limit=…&offset=…&withTotal=…`), answered
//! with a PagedQueryResult.
//!
//! A query reads only where its matches can be: the range of ids its `id` comparisons allow
//! (resources are kept by id), or the ids a resource's index gives for the values it pins.
//! Sorted by id (or not sorted, which is id order too) and without a total, it stops as
//! soon as its page is full, so that walking a large collection page by page with
//! `id > "<last id>"` costs each page what it skips and returns.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::errors::{ApiError, ApiResult};
use super::predicate::{IdRange, Predicate};
use super::sort::Sort;

/// The API's paging limits.
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 500;
const MAX_OFFSET: usize = 10_000;
/// Predicates longer than this fail with 414 ("keep query predicates under roughly 10,000
/// characters", [SJ] `InventoryEntryQueryBuilder.java`), so that clients must chunk long lists.
const MAX_PREDICATE_CHARS: usize = 10_000;

/// A query's parameters, checked.
#[derive(Debug)]
pub(crate) struct PagedQuery {
    predicates: Vec<Predicate>,
    sorts: Vec<Sort>,
    limit: usize,
    offset: usize,
    with_total: bool,
}

/// The order in which a query reads its matches.
enum Walk {
    /// Id order (ascending when true): already the answer's order.
    ById(bool),
    /// Any order; the matches are sorted afterwards.
    Sorted,
}

impl PagedQuery {
    /// Checks the request's parameters. `where` may be repeated (the API ANDs them); only
    /// `fields` may be filtered and sorted on.
    pub(crate) fn parse(params: &[(String, String)], fields: &[&str]) -> ApiResult<Self> {
        let invalid = |message: String| ApiError::bad_request("InvalidInput", message);
        let mut query = Self {
            predicates: Vec::new(),
            sorts: Vec::new(),
            limit: DEFAULT_LIMIT,
            offset: 0,
            with_total: true,
        };
        for (name, value) in params {
            match name.as_str() {
                "where" => {
                    let length = value.chars().count();
                    if length > MAX_PREDICATE_CHARS {
                        return Err(ApiError::uri_too_long(length, MAX_PREDICATE_CHARS));
                    }
                    query.predicates.push(
                        Predicate::parse(value, fields)
                            .map_err(|e| invalid(format!("Malformed parameter: where: {e}")))?,
                    );
                }
                "sort" => query.sorts.push(
                    Sort::parse(value, fields)
                        .map_err(|e| invalid(format!("Malformed parameter: sort: {e}")))?,
                ),
                "limit" => {
                    query.limit = value
                        .parse()
                        .ok()
                        .filter(|l| (1..=MAX_LIMIT).contains(l))
                        .ok_or_else(|| {
                            invalid(format!(
                                "Malformed parameter: limit: must be 1..={MAX_LIMIT}"
                            ))
                        })?;
                }
                "offset" => {
                    query.offset =
                        value
                            .parse()
                            .ok()
                            .filter(|o| *o <= MAX_OFFSET)
                            .ok_or_else(|| {
                                invalid(format!(
                                    "Malformed parameter: offset: must be 0..={MAX_OFFSET}"
                                ))
                            })?;
                }
                "withTotal" => query.with_total = value != "false",
                // Reference expansion would need every referenced resource; refused, not faked.
                "expand" => return Err(invalid("expand is not supported by the simulator".into())),
                _ => {}
            }
        }
        Ok(query)
    }

    /// The `where` predicates, for a resource's index to narrow the query with.
    pub(crate) fn predicates(&self) -> &[Predicate] {
        &self.predicates
    }

    /// The PagedQueryResult over `resources` (keyed by their `id`). `candidates`, when given,
    /// are the ids of the only resources that can match (from an index).
    pub(crate) fn answer(
        &self,
        resources: &BTreeMap<String, Value>,
        candidates: Option<BTreeSet<&str>>,
    ) -> Value {
        let range = self
            .predicates
            .iter()
            .map(Predicate::id_range)
            .fold(IdRange::ALL, IdRange::intersect);
        let in_range: Box<dyn DoubleEndedIterator<Item = &Value>> = if range.is_empty() {
            Box::new(std::iter::empty())
        } else {
            match &candidates {
                Some(ids) => Box::new(
                    ids.range::<str, _>(range.bounds())
                        .filter_map(|id| resources.get(*id)),
                ),
                None => Box::new(resources.range::<str, _>(range.bounds()).map(|(_, r)| r)),
            }
        };
        let matching = in_range.filter(|r| self.predicates.iter().all(|p| p.matches(r)));
        let (results, total) = match self.walk() {
            Walk::ById(true) => self.page(matching),
            Walk::ById(false) => self.page(matching.rev()),
            Walk::Sorted => {
                let mut all: Vec<&Value> = matching.collect();
                all.sort_by(|a, b| {
                    self.sorts
                        .iter()
                        .map(|s| s.cmp(a, b))
                        .find(|o| o.is_ne())
                        .unwrap_or(std::cmp::Ordering::Equal)
                });
                self.page(all.into_iter())
            }
        };
        let mut page = json!({"limit": self.limit, "offset": self.offset,
                              "count": results.len(), "results": results});
        if self.with_total {
            page["total"] = total.into();
        }
        page
    }

    /// Ids are unique, so a query sorted by id first is in id order, and so is an unsorted
    /// one (resources are kept by id).
    fn walk(&self) -> Walk {
        match self.sorts.first() {
            None => Walk::ById(true),
            Some(sort) => match sort.by_id() {
                Some(descending) => Walk::ById(!descending),
                None => Walk::Sorted,
            },
        }
    }

    /// The page of `matching` (in the answer's order) and how many matched; without
    /// `withTotal` the count stops, and so does the reading, once the page is full.
    fn page<'a>(&self, matching: impl Iterator<Item = &'a Value>) -> (Vec<Value>, usize) {
        let end = self.offset.saturating_add(self.limit);
        let mut results = Vec::new();
        let mut total = 0;
        for resource in matching {
            if total >= self.offset && total < end {
                results.push(resource.clone());
            }
            total += 1;
            if !self.with_total && total >= end {
                break;
            }
        }
        (results, total)
    }
}

/// Answers a query over `resources` (keyed by id) with the request's parameters, testing
/// every resource the id range allows (see [`PagedQuery`]).
#[cfg(test)]
pub(crate) fn paged_query(
    resources: &BTreeMap<String, Value>,
    params: &[(String, String)],
    fields: &[&str],
) -> ApiResult<Value> {
    Ok(PagedQuery::parse(params, fields)?.answer(resources, None))
}
