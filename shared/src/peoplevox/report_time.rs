//! Report times. Peoplevox reports render times as wall-clock text with no zone:
//! `'03/07/2017 06:03'` in "Despatch summary", `'14/06/2018 16:55:07'` in "Return summary"
//! (zynksoftware/Zynk-Workflow `_docs/Peoplevox-Connector/Peoplevox-Despatch-XML.md` and
//! `Peoplevox-Return-XML.md`; CorsetStory/PVXMageConnect `classes/pvx_orders.php` parses
//! `'%d/%m/%Y %H:%i'`). Which zone that clock shows is in no public source (UNCONFIRMED): it is
//! taken as the warehouse's, configured as `peoplevox.time_zone` (an IANA name, default
//! Europe/London), and the same zone writes the `DateTime(…)` literals of search clauses
//! (bedrock `collabs/collabsFulfillmentSweepRecent.js`: `[Despatch date] >= DateTime(…)`).
//!
//! Daylight-saving changes make some wall-clock times ambiguous, and the rule is fixed so that
//! every reader agrees (RFC 5545's and Temporal's "compatible" rule):
//! - a time in the spring gap (01:30 on the last Sunday of March in London, which never shows
//!   on a clock) is read with the offset in force before the gap: 01:30 GMT, i.e. 02:30 BST;
//! - a time in the repeated autumn hour (01:30 on the last Sunday of October, shown twice) is
//!   read as its first occurrence: 01:30 BST, i.e. 00:30 UTC. For a search from a watermark the
//!   earlier instant is the safe one: it reads a little more, never less.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use time::OffsetDateTime;

/// The zone of the default tenant (`peoplevox.time_zone`'s default).
pub const DEFAULT_ZONE: &str = "Europe/London";

/// The tenant's zone: how report wall-clock times become instants, and back.
#[derive(Clone)]
pub struct ReportZone {
    name: String,
    zone: TimeZone,
}

impl fmt::Debug for ReportZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReportZone({})", self.name)
    }
}

impl PartialEq for ReportZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Default for ReportZone {
    /// Europe/London, the default of `peoplevox.time_zone`.
    fn default() -> Self {
        Self::named(DEFAULT_ZONE).unwrap_or_else(|_| Self::utc())
    }
}

impl ReportZone {
    /// The zone of an IANA name (`Europe/London`, `UTC`), from the database bundled into the
    /// binary; an unknown name is an error that says so.
    pub fn named(name: &str) -> Result<Self, String> {
        let name = name.trim();
        let zone = TimeZone::get(name)
            .map_err(|e| format!("`{name}` is not an IANA time zone name ({e})"))?;
        Ok(Self {
            name: name.to_string(),
            zone,
        })
    }

    /// UTC.
    pub fn utc() -> Self {
        Self {
            name: "UTC".into(),
            zone: TimeZone::UTC,
        }
    }

    /// The IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The instant of a report time: single-quoted (or not), day first, with or without
    /// seconds. `None` for text that is not such a time (empty, another format, 31/02).
    pub fn parse(&self, text: &str) -> Option<OffsetDateTime> {
        let civil = parse_wall_clock(text)?;
        let at = self.zone.to_ambiguous_timestamp(civil).compatible().ok()?;
        OffsetDateTime::from_unix_timestamp(at.as_second()).ok()
    }

    /// `DateTime(2026,11,30,02,00,00)`: the wall-clock time of `at` in this zone, as a search
    /// clause literal.
    pub fn date_literal(&self, at: OffsetDateTime) -> String {
        let civil = self.wall_clock(at);
        format!(
            "DateTime({},{:02},{:02},{:02},{:02},{:02})",
            civil.year(),
            civil.month(),
            civil.day(),
            civil.hour(),
            civil.minute(),
            civil.second()
        )
    }

    /// The wall-clock time of `at` in this zone (whole seconds).
    fn wall_clock(&self, at: OffsetDateTime) -> DateTime {
        let at = Timestamp::from_second(at.unix_timestamp()).unwrap_or(Timestamp::UNIX_EPOCH);
        self.zone.to_datetime(at)
    }
}

/// `dd/MM/yyyy HH:mm[:ss]`, the outer single quotes and spaces stripped.
fn parse_wall_clock(text: &str) -> Option<DateTime> {
    let text = text.trim().trim_matches('\'').trim();
    let (date, clock) = text.split_once(' ')?;
    let mut date = date.split('/');
    let (day, month, year) = (date.next()?, date.next()?, date.next()?);
    let mut clock = clock.trim().split(':');
    let (hour, minute, second) = (clock.next()?, clock.next()?, clock.next().unwrap_or("0"));
    if date.next().is_some() || clock.next().is_some() {
        return None;
    }
    let number = |s: &str, digits: std::ops::RangeInclusive<usize>| -> Option<i16> {
        (digits.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    DateTime::new(
        number(year, 4..=4)?,
        i8::try_from(number(month, 1..=2)?).ok()?,
        i8::try_from(number(day, 1..=2)?).ok()?,
        i8::try_from(number(hour, 1..=2)?).ok()?,
        i8::try_from(number(minute, 2..=2)?).ok()?,
        i8::try_from(number(second, 1..=2)?).ok()?,
        0,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn london() -> ReportZone {
        ReportZone::named("Europe/London").unwrap()
    }

    #[test]
    fn report_times_are_quoted_day_first_with_or_without_seconds() {
        let utc = ReportZone::utc();
        assert_eq!(
            utc.parse("'03/07/2017 10:52:21'"),
            Some(datetime!(2017-07-03 10:52:21 UTC))
        );
        assert_eq!(
            utc.parse("'01/07/2017 23:46'"),
            Some(datetime!(2017-07-01 23:46 UTC))
        );
        assert_eq!(
            utc.parse(" 1/7/2017 9:05 "),
            Some(datetime!(2017-07-01 9:05 UTC))
        );
        for bad in [
            "",
            "2017-07-01",
            "'31/02/2017 10:00'",
            "'01/07/2017'",
            "'01/07/17 10:00'",
            "'01/07/2017 10:00:00:00'",
            "'01/07/2017 25:00'",
        ] {
            assert_eq!(utc.parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn summer_and_winter_times_in_london() {
        assert_eq!(
            london().parse("'01/07/2026 10:00'"),
            Some(datetime!(2026-07-01 9:00 UTC)),
            "BST is UTC+1"
        );
        assert_eq!(
            london().parse("'01/12/2026 10:00'"),
            Some(datetime!(2026-12-01 10:00 UTC))
        );
    }

    #[test]
    fn the_spring_gap_reads_with_the_offset_before_it() {
        // 29 March 2026: London's clocks go from 01:00 GMT to 02:00 BST.
        let z = london();
        assert_eq!(
            z.parse("'29/03/2026 00:59'"),
            Some(datetime!(2026-03-29 0:59 UTC))
        );
        assert_eq!(
            z.parse("'29/03/2026 01:30'"),
            Some(datetime!(2026-03-29 1:30 UTC)),
            "never on a clock: 01:30 GMT"
        );
        assert_eq!(
            z.parse("'29/03/2026 02:00'"),
            Some(datetime!(2026-03-29 1:00 UTC))
        );
    }

    #[test]
    fn the_repeated_autumn_hour_reads_as_its_first_occurrence() {
        // 25 October 2026: London's clocks go back from 02:00 BST to 01:00 GMT.
        let z = london();
        assert_eq!(
            z.parse("'25/10/2026 00:30'"),
            Some(datetime!(2026-10-24 23:30 UTC))
        );
        assert_eq!(
            z.parse("'25/10/2026 01:30'"),
            Some(datetime!(2026-10-25 0:30 UTC)),
            "the BST 01:30"
        );
        assert_eq!(
            z.parse("'25/10/2026 02:00'"),
            Some(datetime!(2026-10-25 2:00 UTC))
        );
    }

    #[test]
    fn literals_are_the_wall_clock_of_the_zone() {
        let z = london();
        assert_eq!(
            z.date_literal(datetime!(2026-11-30 02:05:09 UTC)),
            "DateTime(2026,11,30,02,05,09)"
        );
        assert_eq!(
            z.date_literal(datetime!(2026-07-01 23:30 UTC)),
            "DateTime(2026,07,02,00,30,00)"
        );
        // Both instants of the repeated hour write the same literal.
        assert_eq!(
            z.date_literal(datetime!(2026-10-25 0:30 UTC)),
            z.date_literal(datetime!(2026-10-25 1:30 UTC))
        );
        assert_eq!(
            ReportZone::utc().date_literal(OffsetDateTime::UNIX_EPOCH),
            "DateTime(1970,01,01,00,00,00)"
        );
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(ReportZone::default().name(), "Europe/London");
        assert!(ReportZone::named("Australia/Sydney").is_ok());
        let e = ReportZone::named("Mars/Olympus").unwrap_err();
        assert!(e.contains("Mars/Olympus"), "{e}");
    }
}
