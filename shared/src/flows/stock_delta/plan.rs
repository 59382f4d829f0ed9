//! What a (site, item) pair needs, given what the batch says about it and the ledger row:
//! nothing (stale), a figure read from Peoplevox, or a figure to apply.

use super::ledger::{Figure, Versioned};
use super::message::Group;

/// How a pair goes forward after the ledger was consulted.
pub(super) enum Plan {
    /// Nothing newer than what is applied.
    Stale,
    /// Needs a figure from Peoplevox; `true`: a hint asked, so an item Peoplevox does not
    /// report at the site is nothing to do rather than an unknown SKU.
    Read(Option<Versioned>, bool),
    /// Apply this figure; `record` when it is new to the ledger.
    Apply {
        figure: Figure,
        current: Option<Versioned>,
        record: bool,
    },
}

/// What a pair needs, given the batch's events and the ledger row.
pub(super) fn decide(group: &Group, current: Option<Versioned>) -> Plan {
    let ledger_at = current.as_ref().map(|v| v.row.figure.at_ms);
    let reported = group
        .reported
        .as_ref()
        .filter(|r| ledger_at.is_none_or(|at| r.at_ms > at));
    let best_at = reported.map(|r| r.at_ms).or(ledger_at);
    // A recheck of a pair never applied has nothing to correct, and reading Peoplevox for it
    // would spend the request budget that order export needs.
    let recheck_after = group.recheck_after_ms.filter(|_| current.is_some());
    if let Some(after) = group.fresh_after_ms.max(recheck_after)
        && best_at.is_none_or(|at| at < after)
    {
        return Plan::Read(current, group.absent_ok);
    }
    if let Some(r) = reported {
        return Plan::Apply {
            figure: Figure {
                available: r.available,
                at_ms: r.at_ms,
                source: r.source.into(),
            },
            current,
            record: true,
        };
    }
    match current {
        Some(v) if group.recheck || !v.row.synced() => Plan::Apply {
            figure: v.row.figure.clone(),
            current: Some(v),
            record: false,
        },
        // Nothing newer than what commercetools reflects (or a recheck of a pair never
        // applied, see above).
        _ => Plan::Stale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::stock_delta::ledger::LedgerRow;
    use crate::flows::stock_delta::message::Reported;

    fn ledger(at_ms: i64, synced: bool) -> Option<Versioned> {
        Some(Versioned {
            row: LedgerRow {
                figure: Figure {
                    available: 5,
                    at_ms,
                    source: "availability".into(),
                },
                synced_at_ms: synced.then_some(at_ms),
                written: Default::default(),
            },
            version: 1,
        })
    }

    fn reported(at_ms: i64) -> Group {
        Group {
            reported: Some(Reported {
                available: 9,
                at_ms,
                event_id: "e".into(),
                source: crate::flows::stock_delta::message::AVAILABILITY,
            }),
            ..Group::default()
        }
    }

    fn kind(plan: &Plan) -> &'static str {
        match plan {
            Plan::Stale => "stale",
            Plan::Read(..) => "read",
            Plan::Apply { record: true, .. } => "apply-new",
            Plan::Apply { record: false, .. } => "apply-ledger",
        }
    }

    #[test]
    fn newer_figures_apply_older_ones_are_stale() {
        assert_eq!(kind(&decide(&reported(20), ledger(10, true))), "apply-new");
        assert_eq!(kind(&decide(&reported(10), ledger(10, true))), "stale");
        assert_eq!(kind(&decide(&reported(5), ledger(10, true))), "stale");
        assert_eq!(kind(&decide(&reported(5), None)), "apply-new");
    }

    #[test]
    fn an_unsynced_ledger_is_applied_again() {
        assert_eq!(
            kind(&decide(&reported(5), ledger(10, false))),
            "apply-ledger"
        );
    }

    #[test]
    fn hints_need_a_figure_obtained_after_them() {
        let hint = |after| Group {
            fresh_after_ms: Some(after),
            ..Group::default()
        };
        assert_eq!(kind(&decide(&hint(15), ledger(10, true))), "read");
        assert_eq!(kind(&decide(&hint(15), None)), "read");
        assert_eq!(kind(&decide(&hint(10), ledger(10, true))), "stale");
        let mut both = reported(20);
        both.fresh_after_ms = Some(15);
        assert_eq!(kind(&decide(&both, ledger(10, true))), "apply-new");
    }

    #[test]
    fn a_reread_recheck_needs_a_figure_from_after_its_time_for_known_pairs_only() {
        let recheck = |after| Group {
            recheck_after_ms: Some(after),
            absent_ok: true,
            ..Group::default()
        };
        assert_eq!(kind(&decide(&recheck(15), ledger(10, true))), "read");
        assert_eq!(
            kind(&decide(&recheck(10), ledger(10, true))),
            "stale",
            "the ledger's figure is from the recheck's time: reused, not read again"
        );
        assert_eq!(
            kind(&decide(&recheck(10), ledger(10, false))),
            "apply-ledger"
        );
        assert_eq!(kind(&decide(&recheck(15), None)), "stale");
        let mut newer = reported(20);
        newer.recheck_after_ms = Some(15);
        assert_eq!(kind(&decide(&newer, ledger(10, true))), "apply-new");
    }

    #[test]
    fn rechecks_use_the_ledger_and_never_read_for_unknown_pairs() {
        let recheck = Group {
            recheck: true,
            ..Group::default()
        };
        assert_eq!(kind(&decide(&recheck, ledger(10, true))), "apply-ledger");
        assert_eq!(kind(&decide(&recheck, None)), "stale");
    }
}
