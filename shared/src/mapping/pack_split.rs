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

/// Takes tried before a search gives up (every candidate take of every line counts): an order
/// has a handful of lines per item, so a real split takes a few dozen; the bound keeps a
/// pathological one (huge quantities that never split) from taking the batch's time.
const MAX_STEPS: usize = 100_000;

/// How many of its own units each line takes so that the takes times their factors make
/// exactly `units`, no line over its open units; packs are filled before smaller units. `None`
/// when no such split exists (or the search gave up).
pub fn exact(units: i64, lines: &[Open]) -> Option<Vec<i64>> {
    exact_within(units, lines, &mut 0)
}

/// [`exact`], counting its tries into `steps` (shared by the searches of one [`most`]).
fn exact_within(units: i64, lines: &[Open], steps: &mut usize) -> Option<Vec<i64>> {
    if units < 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..lines.len()).collect();
    // Stable: among equal factors, the order's own line order.
    order.sort_by_key(|&i| std::cmp::Reverse(lines[i].factor.max(1)));
    // What the lines from each position of the search order on can hold at most, and the
    // greatest common divisor of their factors (what they take is always a multiple of it).
    let mut room = vec![0_i64; order.len() + 1];
    let mut divisor = vec![0_i64; order.len() + 1];
    for pos in (0..order.len()).rev() {
        let line = lines[order[pos]];
        let factor = i64::from(line.factor.max(1));
        room[pos] = room[pos + 1].saturating_add(line.units.max(0).saturating_mul(factor));
        divisor[pos] = if line.units > 0 {
            gcd(divisor[pos + 1], factor)
        } else {
            divisor[pos + 1]
        };
    }
    let mut search = Search {
        lines,
        order: &order,
        room: &room,
        divisor: &divisor,
        takes: vec![0; lines.len()],
        failed: HashSet::new(),
        steps: *steps,
    };
    let found = search.fill(0, units);
    *steps = search.steps;
    found.then_some(search.takes)
}

/// The Peoplevox units the lines can take at most (saturating: absurd quantities never
/// overflow).
pub fn capacity(lines: &[Open]) -> i64 {
    lines.iter().fold(0_i64, |sum, l| {
        sum.saturating_add(l.units.max(0).saturating_mul(i64::from(l.factor.max(1))))
    })
}

/// The split of as many of `units` as the lines can take exactly, and the units left over:
/// what a despatch or a return covered when its units do not split exactly (more units than
/// the lines have open, or a remainder no pack fits).
pub fn most(units: i64, lines: &[Open]) -> (Vec<i64>, i64) {
    let start = units.clamp(0, capacity(lines));
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
    let mut steps = 0;
    for covered in (floor.max(0)..=start).rev() {
        if let Some(takes) = exact_within(covered, lines, &mut steps) {
            return (takes, units - covered);
        }
    }
    (vec![0; lines.len()], units)
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

struct Search<'a> {
    lines: &'a [Open],
    order: &'a [usize],
    /// What the lines from each position on can hold at most.
    room: &'a [i64],
    /// The greatest common divisor of their factors (0: they can take nothing).
    divisor: &'a [i64],
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
        if pos == self.order.len()
            || left > self.room[pos]
            || self.divisor[pos] == 0
            || left % self.divisor[pos] != 0
            || self.steps >= MAX_STEPS
            || self.failed.contains(&(pos, left))
        {
            return false;
        }
        let line = self.lines[self.order[pos]];
        let factor = i64::from(line.factor.max(1));
        let most = line.units.max(0).min(left / factor);
        for take in (0..=most).rev() {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                break;
            }
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

    #[test]
    fn huge_quantities_end_quickly_and_never_overflow() {
        // Three 2-pack lines of 10,000 and an odd number of units: no split, found fast.
        let lines = [open(10_000, 2), open(10_000, 2), open(10_000, 2)];
        let started = std::time::Instant::now();
        assert_eq!(exact(30_001, &lines), None);
        assert_eq!(most(30_001, &lines).1, 1);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        // Absurd quantities saturate instead of overflowing.
        let absurd = [open(i64::MAX, u32::MAX), open(i64::MAX, 1)];
        assert_eq!(most(5, &absurd), (vec![0, 5], 0));
    }
}
