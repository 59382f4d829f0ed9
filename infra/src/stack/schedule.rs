//! The EventBridge schedules of the template: the "Scheduled Event" each tick hands its
//! function, fired on demand (`ctpvx stack` and the soak trigger them), and `rate(…)`
//! schedules also on their own, their period divided by the stack's time scale. `cron(…)`
//! schedules fire only on demand: a night compressed is still hours of waiting.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::intrinsics::{ACCOUNT, REGION};

/// The period of a `rate(N unit)` expression; `None` for a `cron(…)` one.
pub fn rate(expression: &str) -> anyhow::Result<Option<Duration>> {
    if expression.starts_with("cron(") {
        return Ok(None);
    }
    let inner = expression
        .strip_prefix("rate(")
        .and_then(|s| s.strip_suffix(')'))
        .with_context(|| format!("not a schedule expression: {expression}"))?;
    let (count, unit) = inner
        .trim()
        .split_once(' ')
        .with_context(|| format!("not a rate: {expression}"))?;
    let count: u64 = count
        .parse()
        .with_context(|| format!("rate count in {expression}"))?;
    let seconds = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        other => bail!("unknown rate unit {other} in {expression}"),
    };
    Ok(Some(Duration::from_secs(count * seconds)))
}

/// The event EventBridge hands the function for the tick at `time` (RFC 3339, whole seconds)
/// of the rule `rule`.
pub fn scheduled_event(rule: &str, time: &str) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": time,
        "region": REGION,
        "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}")],
        "detail": {},
    })
}

/// `now` as EventBridge writes a tick's time: `2026-11-30T02:00:00Z`.
pub fn tick_time(now: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    now.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_crons() {
        assert_eq!(
            rate("rate(15 minutes)").unwrap(),
            Some(Duration::from_secs(900))
        );
        assert_eq!(
            rate("rate(1 hour)").unwrap(),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(rate("cron(0 2 * * ? *)").unwrap(), None);
        assert!(rate("every day").is_err());
        let event = scheduled_event("r", "2026-11-30T02:00:00Z");
        assert_eq!(event["detail-type"], "Scheduled Event");
        assert_eq!(
            tick_time(time::macros::datetime!(2026-11-30 02:00:00.5 UTC)),
            "2026-11-30T02:00:00Z"
        );
    }
}
