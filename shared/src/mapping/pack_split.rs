//! How Peoplevox units of one item split over the order lines that draw on it (the item
//! itself and its packs, `orders.units_of_measure`): the one matcher of the shipment, short-pick
//! and return flows.
//!
//! Taking units greedily in line order is wrong: with lines `SOCK`×2 and `SOCK-3PK`×1 and a
//! despatch of 3 SOCK units for the pack, the first line takes 2 and the 1 left fits no line.
//! So the split is searched: larger packs first (line order breaks ties), every line at most
//! its open quantity, and the units must come out exactly.

use std::collections::HashSet;

/// A line that may take units: its own units still open, and the Peoplevox units one of them
/// is (1 for the item itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open {
    pub units: i64,
    pub factor: u32,
}

/// Search steps before [`exact`] gives up: an order has a handful of lines per item, so a real
/// split takes a few dozen; the bound keeps a pathological one from taking the batch's time.
const MAX_STEPS: usize = 100_000;

/// How many of its own units each line takes so that the takes times their factors make
/// exactly `units`, no line over its open units; packs are filled before smaller units. `None`
/// when no such split exists (or the search gave up).
pub fn exact(units: i64, lines: &[Open]) -> Option<Vec<i64>> {
    if units < 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..lines.len()).collect();
    // Stable: among equal factors, the order's own line order.
    order.sort_by_key(|&i| std::cmp::Reverse(lines[i].factor.max(1)));
    let mut search = Search {
        lines,
        order: &order,
        takes: vec![0; lines.len()],
        failed: HashSet::new(),
        steps: 0,
    };
    search.fill(0, units).then_some(search.takes)
}

/// The split of as many of `units` as the lines can take exactly, and the units left over:
/// what a despatch or a return covered when its units do not split exactly (more units than
/// the lines have open, or a remainder no pack fits).
pub fn most(units: i64, lines: &[Open]) -> (Vec<i64>, i64) {
    let capacity: i64 = lines
        .iter()
        .map(|l| l.units.max(0) * i64::from(l.factor.max(1)))
        .sum();
    let start = units.clamp(0, capacity);
    // The largest factor bounds how far below `start` a split must exist (any multiple of the
    // smallest factor up to the capacity does, for a single-factor item); the bound keeps a
    // pathological search short.
    let floor = start.saturating_sub(
        lines
            .iter()
            .map(|l| i64::from(l.factor.max(1)))
            .max()
            .unwrap_or(1)
            .saturating_mul(lines.len() as i64 + 1),
    );
    for covered in (floor..=start).rev() {
        if let Some(takes) = exact(covered, lines) {
            return (takes, units - covered);
        }
    }
    (vec![0; lines.len()], units)
}

struct Search<'a> {
    lines: &'a [Open],
    order: &'a [usize],
    takes: Vec<i64>,
    /// (position in `order`, units left) that cannot be filled.
    failed: HashSet<(usize, i64)>,
    steps: usize,
}

impl Search<'_> {
    /// Fills `left` units from the lines at `pos..` of the search order.
    fn fill(&mut self, pos: usize, left: i64) -> bool {
        if left == 0 {
            return true;
        }
        if pos == self.order.len() || self.steps >= MAX_STEPS || self.failed.contains(&(pos, left))
        {
            return false;
        }
        self.steps += 1;
        let line = self.lines[self.order[pos]];
        let factor = i64::from(line.factor.max(1));
        let most = line.units.max(0).min(left / factor);
        for take in (0..=most).rev() {
            self.takes[self.order[pos]] = take;
            if self.fill(pos + 1, left - take * factor) {
                return true;
            }
        }
        self.takes[self.order[pos]] = 0;
        self.failed.insert((pos, left));
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(units: i64, factor: u32) -> Open {
        Open { units, factor }
    }

    #[test]
    fn a_pack_takes_its_units_though_a_single_line_comes_first() {
        // SOCK ×2, SOCK-3PK ×1: 3 units are the pack, 5 are everything.
        let lines = [open(2, 1), open(1, 3)];
        assert_eq!(exact(3, &lines), Some(vec![0, 1]));
        assert_eq!(exact(5, &lines), Some(vec![2, 1]));
        assert_eq!(exact(2, &lines), Some(vec![2, 0]));
        assert_eq!(exact(6, &lines), None, "more than the lines hold");
    }

    #[test]
    fn a_split_greedy_packs_miss_is_found() {
        // 3-packs ×1 and 2-packs ×2: 4 units are two 2-packs, not a 3-pack and a remainder.
        let lines = [open(1, 3), open(2, 2)];
        assert_eq!(exact(4, &lines), Some(vec![0, 2]));
        assert_eq!(exact(1, &lines), None);
    }

    #[test]
    fn equal_factors_fill_in_line_order() {
        let lines = [open(2, 1), open(2, 1)];
        assert_eq!(exact(3, &lines), Some(vec![2, 1]));
    }

    #[test]
    fn most_covers_what_splits_and_says_what_is_left() {
        let lines = [open(2, 1), open(1, 3)];
        assert_eq!(most(7, &lines), (vec![2, 1], 2));
        // One 3-pack ordered, 2 units despatched: nothing covered.
        assert_eq!(most(2, &[open(1, 3)]), (vec![0], 2));
        assert_eq!(most(0, &lines), (vec![0, 0], 0));
    }
}
