//! What a predicate says about where its matches can be, so that a query can look them up
//! (in an index, or in a range of ids) instead of testing every resource. Both are
//! supersets: the query still tests each resource it looks up.

use std::collections::BTreeSet;
use std::ops::Bound;

use super::lexer::Op;
use super::parser::{Expr, Literal};
use super::{Predicate, is_date_field};

/// The ids a match can have: a range in id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdRange<'e> {
    /// The lowest id.
    pub(crate) lower: Bound<&'e str>,
    /// The highest id.
    pub(crate) upper: Bound<&'e str>,
}

impl Predicate {
    /// The strings some value of `path` (dotted, e.g. `supplyChannel.id`) must equal in a
    /// matching resource, when the predicate pins it with `=` or `in` (under `and`s and
    /// nestings, or under an `or` whose every term pins it); `None` when it does not. Date
    /// fields are never pinned: two texts can be one instant.
    pub(crate) fn pinned_strings(&self, path: &str) -> Option<BTreeSet<&str>> {
        pinned(&self.expr, path)
    }

    /// Pins of several paths of which every match satisfies at least one: `(index into
    /// paths, strings)` for each, as `orderNumber in (…) or syncInfo(… externalId in (…))`
    /// gives; `None` when some match could satisfy none.
    pub(crate) fn pinned_any(&self, paths: &[&str]) -> Option<Vec<(usize, BTreeSet<&str>)>> {
        pinned_any(&self.expr, paths)
    }

    /// The range of `id` the predicate allows, from `id` comparisons (`>`, `>=`, `<`, `<=`,
    /// `=`) joined by `and` at its top level; every id when there are none.
    pub(crate) fn id_range(&self) -> IdRange<'_> {
        let mut range = IdRange::ALL;
        narrow_ids(&self.expr, &mut range);
        range
    }
}

/// The strings `path` must equal under every one of `predicates` (the API ANDs repeated
/// `where`s); `None` when none pins it.
pub(crate) fn pinned_by_all<'p>(
    predicates: &'p [Predicate],
    path: &str,
) -> Option<BTreeSet<&'p str>> {
    predicates
        .iter()
        .filter_map(|p| p.pinned_strings(path))
        .reduce(|a, b| a.intersection(&b).copied().collect())
}

fn pinned_any<'e>(expr: &'e Expr, paths: &[&str]) -> Option<Vec<(usize, BTreeSet<&'e str>)>> {
    let one = paths
        .iter()
        .enumerate()
        .find_map(|(i, path)| pinned(expr, path).map(|set| vec![(i, set)]));
    if one.is_some() {
        return one;
    }
    match expr {
        // Every term must pin one of the paths: a term that pins none could match anything.
        Expr::Or(items) => items
            .iter()
            .map(|e| pinned_any(e, paths))
            .collect::<Option<Vec<_>>>()
            .map(|pins| pins.concat()),
        // A match satisfies every term: any term's pins bound it.
        Expr::And(items) => items.iter().find_map(|e| pinned_any(e, paths)),
        _ => None,
    }
}

fn pinned<'e>(expr: &'e Expr, path: &str) -> Option<BTreeSet<&'e str>> {
    match expr {
        Expr::Compare {
            field,
            op: Op::Eq,
            value: Literal::Str(value),
        } if field == path && !is_date_field(field) => Some(BTreeSet::from([value.as_str()])),
        Expr::In {
            field,
            values,
            negated: false,
        } if field == path && !is_date_field(field) => values.strings().map(Iterator::collect),
        Expr::Nested { field, inner } => path
            .strip_prefix(field.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
            .and_then(|rest| pinned(inner, rest)),
        Expr::And(items) => items
            .iter()
            .filter_map(|e| pinned(e, path))
            .reduce(|a, b| a.intersection(&b).copied().collect()),
        Expr::Or(items) => items
            .iter()
            .map(|e| pinned(e, path))
            .reduce(|a, b| Some(a?.union(&b?).copied().collect()))
            .flatten(),
        _ => None,
    }
}

fn narrow_ids<'e>(expr: &'e Expr, range: &mut IdRange<'e>) {
    match expr {
        Expr::And(items) => items.iter().for_each(|e| narrow_ids(e, range)),
        Expr::Compare {
            field,
            op,
            value: Literal::Str(id),
        } if field == "id" => {
            let id = id.as_str();
            let (lower, upper) = match op {
                Op::Gt => (Bound::Excluded(id), Bound::Unbounded),
                Op::Ge => (Bound::Included(id), Bound::Unbounded),
                Op::Lt => (Bound::Unbounded, Bound::Excluded(id)),
                Op::Le => (Bound::Unbounded, Bound::Included(id)),
                Op::Eq => (Bound::Included(id), Bound::Included(id)),
                Op::Ne => return,
            };
            *range = range.intersect(IdRange { lower, upper });
        }
        _ => {}
    }
}

impl<'e> IdRange<'e> {
    /// Every id.
    pub(crate) const ALL: Self = Self {
        lower: Bound::Unbounded,
        upper: Bound::Unbounded,
    };

    /// The ids in both ranges.
    pub(crate) fn intersect(self, other: Self) -> Self {
        Self {
            lower: tighter(self.lower, other.lower, true),
            upper: tighter(self.upper, other.upper, false),
        }
    }

    /// True when no id can be in the range (a map's `range` would panic on some of these).
    pub(crate) fn is_empty(&self) -> bool {
        match (self.lower, self.upper) {
            (
                Bound::Included(lo) | Bound::Excluded(lo),
                Bound::Included(hi) | Bound::Excluded(hi),
            ) => {
                lo > hi
                    || (lo == hi
                        && !matches!(
                            (self.lower, self.upper),
                            (Bound::Included(_), Bound::Included(_))
                        ))
            }
            _ => false,
        }
    }

    /// The range as `range` takes it.
    pub(crate) fn bounds(&self) -> (Bound<&'e str>, Bound<&'e str>) {
        (self.lower, self.upper)
    }
}

/// The tighter of two lower bounds (`lower`) or of two upper bounds.
fn tighter<'e>(a: Bound<&'e str>, b: Bound<&'e str>, lower: bool) -> Bound<&'e str> {
    match (a, b) {
        (Bound::Unbounded, x) | (x, Bound::Unbounded) => x,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y))
            if x != y =>
        {
            if (x > y) == lower {
                a
            } else {
                b
            }
        }
        // The same id: excluding it is tighter.
        (Bound::Excluded(_), _) => a,
        _ => b,
    }
}
