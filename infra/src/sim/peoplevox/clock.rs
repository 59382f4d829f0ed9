//! The simulator's clock: real UTC time unless a test pins it, so that despatch dates and
//! callback timestamps can be asserted exactly (Peoplevox reports render dates to the
//! second, which a running clock makes flaky).

use anyhow::Context as _;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use super::PvxSim;

/// Real time, or a pinned instant that only moves when told to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimClock {
    pinned: Option<OffsetDateTime>,
}

impl SimClock {
    /// "Now", in UTC.
    pub fn now(&self) -> OffsetDateTime {
        self.pinned
            .unwrap_or_else(OffsetDateTime::now_utc)
            .to_offset(UtcOffset::UTC)
    }

    /// Pins the clock at `at` (`None` returns it to real time).
    pub fn pin(&mut self, at: Option<OffsetDateTime>) {
        self.pinned = at;
    }

    /// Moves a pinned clock forward (a running clock needs no help); a step past the end
    /// of time is ignored rather than panicking.
    pub fn advance(&mut self, by: Duration) {
        if let Some(at) = &mut self.pinned
            && let Some(next) = at.checked_add(by)
        {
            *at = next;
        }
    }
}

impl PvxSim {
    /// Pins the simulator's clock at `at` (despatch dates, callback timestamps); `None`
    /// returns it to real time.
    pub fn set_clock(&self, at: Option<OffsetDateTime>) {
        self.data().clock.pin(at);
    }

    /// Pins the clock at an RFC 3339 instant, e.g. `2026-11-26T10:52:21Z` (for callers
    /// without the `time` crate).
    pub fn pin_clock(&self, rfc3339: &str) -> anyhow::Result<()> {
        let at = OffsetDateTime::parse(rfc3339, &Rfc3339)
            .with_context(|| format!("'{rfc3339}' is not an RFC 3339 instant"))?;
        self.set_clock(Some(at));
        Ok(())
    }

    /// Moves a pinned clock forward; no effect on real time.
    pub fn advance_clock(&self, by: std::time::Duration) {
        let by = Duration::try_from(by).unwrap_or(Duration::MAX);
        self.data().clock.advance(by);
    }

    /// The simulator's "now", in UTC.
    pub fn now(&self) -> OffsetDateTime {
        self.data().clock.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_pinned_clock_moves_only_when_told_and_reads_utc() {
        let mut clock = SimClock::default();
        clock.pin(Some(datetime!(2026-11-26 11:52:21 +01:00)));
        assert_eq!(clock.now(), datetime!(2026-11-26 10:52:21 UTC));
        clock.advance(Duration::seconds(9));
        assert_eq!(clock.now(), datetime!(2026-11-26 10:52:30 UTC));
        clock.pin(None);
        clock.advance(Duration::days(400));
        assert_eq!(
            clock,
            SimClock::default(),
            "advancing real time pins nothing"
        );
        assert_eq!(clock.now().offset(), UtcOffset::UTC);
    }
}
