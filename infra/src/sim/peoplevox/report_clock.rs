//! Report times as the simulated tenant writes them: the wall clock of the dialect's zone
//! (`report_time_zone`), single-quoted and day first, with no zone. "Despatch summary" shows
//! minutes (`'03/07/2017 06:03'`), "Return summary" seconds (`'14/06/2018 16:55:07'`):
//! zynksoftware/Zynk-Workflow `Peoplevox-Despatch-XML.md` and `Peoplevox-Return-XML.md`.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use time::OffsetDateTime;

/// The tenant's clock face.
#[derive(Debug, Clone)]
pub struct ReportClock {
    zone: TimeZone,
}

impl ReportClock {
    /// The clock of an IANA zone name; UTC for a name the database lacks.
    pub fn of(zone: &str) -> Self {
        Self {
            zone: TimeZone::get(zone).unwrap_or(TimeZone::UTC),
        }
    }

    /// `'26/11/2026 10:52'`.
    pub fn minutes(&self, at: OffsetDateTime) -> String {
        self.render(at, false)
    }

    /// `'26/11/2026 10:52:21'`.
    pub fn seconds(&self, at: OffsetDateTime) -> String {
        self.render(at, true)
    }

    fn render(&self, at: OffsetDateTime, seconds: bool) -> String {
        let stamp = Timestamp::from_second(at.unix_timestamp()).unwrap_or(Timestamp::UNIX_EPOCH);
        let t = self.zone.to_datetime(stamp);
        let clock = if seconds {
            format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
        } else {
            format!("{:02}:{:02}", t.hour(), t.minute())
        };
        format!("'{:02}/{:02}/{:04} {clock}'", t.day(), t.month(), t.year())
    }
}

impl Default for ReportClock {
    fn default() -> Self {
        Self::of("UTC")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_are_quoted_day_first_in_the_zone() {
        let utc = ReportClock::of("UTC");
        assert_eq!(
            utc.seconds(datetime!(2026-11-26 11:52:21.9 +01:00)),
            "'26/11/2026 10:52:21'"
        );
        assert_eq!(
            utc.minutes(datetime!(2026-01-02 3:04:05 UTC)),
            "'02/01/2026 03:04'"
        );
        let london = ReportClock::of("Europe/London");
        assert_eq!(
            london.minutes(datetime!(2026-07-01 23:30 UTC)),
            "'02/07/2026 00:30'"
        );
        assert_eq!(
            london.minutes(datetime!(2026-12-01 23:30 UTC)),
            "'01/12/2026 23:30'"
        );
        // Both instants of the repeated hour show the same face.
        assert_eq!(
            london.minutes(datetime!(2026-10-25 0:30 UTC)),
            london.minutes(datetime!(2026-10-25 1:30 UTC))
        );
        assert_eq!(
            ReportClock::of("Nowhere/Else").minutes(OffsetDateTime::UNIX_EPOCH),
            "'01/01/1970 00:00'"
        );
    }
}
