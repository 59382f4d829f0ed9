//! Query endpoints (`GET /{resource}?where=…&sort=…&limit=…&offset=…&withTotal=…`), answered
//! with a PagedQueryResult.

use serde_json::{Value, json};

use super::errors::{ApiError, ApiResult};
use super::predicate::Predicate;
use super::sort::Sort;

/// The API's paging limits.
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 500;
const MAX_OFFSET: usize = 10_000;
/// Predicates longer than this fail with 414 ("keep query predicates under roughly 10,000
/// characters", [SJ] `InventoryEntryQueryBuilder.java`), so that clients must chunk long lists.
const MAX_PREDICATE_CHARS: usize = 10_000;

/// Answers a query over `resources` with the request's parameters. `where` may be repeated (the
/// API ANDs them); only `fields` may be filtered and sorted on.
pub(crate) fn paged_query<'a>(
    resources: impl Iterator<Item = &'a Value>,
    params: &[(String, String)],
    fields: &[&str],
) -> ApiResult<Value> {
    let invalid = |message: String| ApiError::bad_request("InvalidInput", message);
    let mut predicates = Vec::new();
    let mut sorts = Vec::new();
    let mut limit = DEFAULT_LIMIT;
    let mut offset = 0;
    let mut with_total = true;
    for (name, value) in params {
        match name.as_str() {
            "where" => {
                let length = value.chars().count();
                if length > MAX_PREDICATE_CHARS {
                    return Err(ApiError::uri_too_long(length, MAX_PREDICATE_CHARS));
                }
                predicates.push(
                    Predicate::parse(value, fields)
                        .map_err(|e| invalid(format!("Malformed parameter: where: {e}")))?,
                );
            }
            "sort" => sorts.push(
                Sort::parse(value, fields)
                    .map_err(|e| invalid(format!("Malformed parameter: sort: {e}")))?,
            ),
            "limit" => {
                limit = value
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
                offset = value
                    .parse()
                    .ok()
                    .filter(|o| *o <= MAX_OFFSET)
                    .ok_or_else(|| {
                        invalid(format!(
                            "Malformed parameter: offset: must be 0..={MAX_OFFSET}"
                        ))
                    })?;
            }
            "withTotal" => with_total = value != "false",
            // Reference expansion would need every referenced resource; refused, not faked.
            "expand" => return Err(invalid("expand is not supported by the simulator".into())),
            _ => {}
        }
    }
    let mut matching: Vec<&Value> = resources
        .filter(|r| predicates.iter().all(|p| p.matches(r)))
        .collect();
    if !sorts.is_empty() {
        matching.sort_by(|a, b| {
            sorts
                .iter()
                .map(|s| s.cmp(a, b))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    }
    let total = matching.len();
    let results: Vec<Value> = matching
        .into_iter()
        .skip(offset)
        .take(limit)
        .cloned()
        .collect();
    let mut page =
        json!({"limit": limit, "offset": offset, "count": results.len(), "results": results});
    if with_total {
        page["total"] = total.into();
    }
    Ok(page)
}
