//! Which of an order's deliveries the sweep of late tracking re-reads in Peoplevox, decided
//! from the order alone (no I/O): our deliveries (key `pvx-<despatch>`) of the period that
//! have a parcel without a tracking number, or no parcel at all.
//!
//! A delivery whose every parcel is tracked is taken as complete: looking for a package
//! Peoplevox added to it later would mean re-reading every despatch of the period every night,
//! where what comes late, in practice, is the carrier's tracking number.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::commercetools::types::Order;
use crate::flows::shipment_confirmed::deliveries::delivery_key;
use crate::setup::{FIELD_DESPATCH_NUMBER, FIELD_DESPATCHED_AT};

/// Where the sweep looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Window {
    /// Deliveries despatched before this (epoch ms) are left alone: Peoplevox is not expected
    /// to learn anything more of them.
    pub since_ms: i64,
    /// Where this run's despatch sweep began, when it ran: it re-queued every untracked
    /// delivery despatched from then on, so a second message would only repeat its own.
    pub swept_from_ms: Option<i64>,
}

/// What the sweep makes of one delivery that lacks tracking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Candidate {
    /// To be re-read in Peoplevox: this despatch number.
    Open(String),
    /// Despatched inside this run's despatch sweep window: that sweep re-queued it.
    LeftToDespatchSweep,
    /// Its despatch number cannot be told from it (see [`despatch_number`]).
    Unnamed,
}

/// The order's deliveries of the window that lack tracking, in the order's order.
pub(super) fn candidates(order: &Order, window: &Window) -> Vec<Candidate> {
    order
        .deliveries()
        .filter(|d| ours(d) && untracked(d))
        .filter(|d| despatched_ms(d).is_none_or(|at| at >= window.since_ms))
        .map(|d| {
            let swept = window
                .swept_from_ms
                .zip(field_ms(d, FIELD_DESPATCHED_AT))
                .is_some_and(|(from, at)| at >= from);
            if swept {
                return Candidate::LeftToDespatchSweep;
            }
            despatch_number(d).map_or(Candidate::Unnamed, Candidate::Open)
        })
        .collect()
}

/// Whether a delivery lacks tracking: it has no parcel (its packages may come later), or a
/// parcel without a tracking number. The despatch sweep and this stage ask the same question.
pub(super) fn untracked(delivery: &Value) -> bool {
    let parcels = parcels(delivery);
    parcels.is_empty()
        || parcels.iter().any(|p| {
            p["trackingData"]["trackingId"]
                .as_str()
                .is_none_or(|t| t.trim().is_empty())
        })
}

fn parcels(delivery: &Value) -> &[Value] {
    delivery["parcels"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A delivery the shipment flow made (merchant-made ones are not Peoplevox's to complete).
fn ours(delivery: &Value) -> bool {
    delivery["key"]
        .as_str()
        .is_some_and(|k| k.starts_with("pvx-"))
}

/// The despatch number of one of our deliveries: its `despatchNumber` field, else its key
/// without the `pvx-` prefix. Either must give the delivery's key back; a key does not when
/// the number had characters a key cannot hold or was cut at 256 characters, and then only
/// the field tells it.
fn despatch_number(delivery: &Value) -> Option<String> {
    let key = delivery["key"].as_str()?;
    let field = delivery["custom"]["fields"][FIELD_DESPATCH_NUMBER]
        .as_str()
        .map(str::trim)
        .filter(|n| !n.is_empty() && delivery_key(n) == key);
    if let Some(number) = field {
        return Some(number.to_string());
    }
    let stripped = key.strip_prefix("pvx-")?;
    (!stripped.is_empty() && key.len() < 256 && delivery_key(stripped) == key)
        .then(|| stripped.to_string())
}

/// When the delivery's despatch left (its `despatchedAt` field), else when it was booked.
fn despatched_ms(delivery: &Value) -> Option<i64> {
    field_ms(delivery, FIELD_DESPATCHED_AT).or_else(|| epoch_ms(&delivery["createdAt"]))
}

fn field_ms(delivery: &Value, field: &str) -> Option<i64> {
    epoch_ms(&delivery["custom"]["fields"][field])
}

fn epoch_ms(value: &Value) -> Option<i64> {
    let at = OffsetDateTime::parse(value.as_str()?, &Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DAY_MS: i64 = 24 * 3_600_000;
    /// 2026-11-30T00:00:00Z.
    const NOW: i64 = 1_796_000_000_000 - 1_796_000_000_000 % DAY_MS;

    fn iso(ms: i64) -> String {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap()
            .format(&Rfc3339)
            .unwrap()
    }

    fn order(deliveries: Value) -> Order {
        serde_json::from_value(json!({
            "id": "o", "version": 1, "orderNumber": "N1",
            "shippingInfo": {"shippingMethodName": "Standard", "deliveries": deliveries},
        }))
        .unwrap()
    }

    fn delivery(key: &str, despatched: i64, tracking: &[Option<&str>]) -> Value {
        let parcels: Vec<Value> = tracking
            .iter()
            .map(|t| match t {
                Some(t) => json!({"trackingData": {"trackingId": t}}),
                None => json!({"key": format!("{key}-1")}),
            })
            .collect();
        json!({
            "id": key, "key": key, "createdAt": iso(despatched + 60_000), "items": [],
            "parcels": parcels,
            "custom": {"type": {"typeId": "type", "id": "t"},
                       "fields": {"despatchedAt": iso(despatched)}},
        })
    }

    fn window(swept_from_ms: Option<i64>) -> Window {
        Window {
            since_ms: NOW - 14 * DAY_MS,
            swept_from_ms,
        }
    }

    #[test]
    fn only_our_deliveries_of_the_window_that_lack_tracking_are_candidates() {
        let o = order(json!([
            delivery("pvx-D1", NOW - 3 * DAY_MS, &[None]),
            delivery("pvx-D2", NOW - 3 * DAY_MS, &[Some("T2")]),
            delivery("pvx-D3", NOW - 3 * DAY_MS, &[Some("T3"), None]),
            delivery("pvx-D4", NOW - 3 * DAY_MS, &[]),
            delivery("pvx-D5", NOW - 20 * DAY_MS, &[None]),
            delivery("by-hand", NOW - DAY_MS, &[None]),
        ]));
        assert_eq!(
            candidates(&o, &window(None)),
            [
                Candidate::Open("D1".into()),
                Candidate::Open("D3".into()),
                Candidate::Open("D4".into())
            ]
        );
    }

    #[test]
    fn a_delivery_the_despatch_sweep_looked_at_is_left_to_it() {
        let o = order(json!([
            delivery("pvx-D1", NOW - DAY_MS, &[None]),
            delivery("pvx-D2", NOW - 3 * DAY_MS, &[None]),
        ]));
        assert_eq!(
            candidates(&o, &window(Some(NOW - 2 * DAY_MS))),
            [Candidate::LeftToDespatchSweep, Candidate::Open("D2".into())]
        );
        // Without its despatch time, a recent booking is no proof the sweep saw it.
        let mut booked = delivery("pvx-D3", NOW - DAY_MS, &[None]);
        booked["custom"] = Value::Null;
        assert_eq!(
            candidates(&order(json!([booked])), &window(Some(NOW - 2 * DAY_MS))),
            [Candidate::Open("D3".into())]
        );
    }

    #[test]
    fn the_despatch_number_comes_from_the_field_or_a_key_that_gives_it_back() {
        let mut renamed = delivery("pvx-DSP_1_2", NOW, &[None]);
        assert_eq!(despatch_number(&renamed).as_deref(), Some("DSP_1_2"));
        renamed["custom"]["fields"]["despatchNumber"] = json!("DSP 1/2");
        assert_eq!(despatch_number(&renamed).as_deref(), Some("DSP 1/2"));
        // A field that does not give the key back is not this delivery's number.
        renamed["custom"]["fields"]["despatchNumber"] = json!("OTHER");
        assert_eq!(despatch_number(&renamed).as_deref(), Some("DSP_1_2"));
        let long = format!("pvx-{}", "x".repeat(252));
        assert_eq!(despatch_number(&delivery(&long, NOW, &[None])), None);
        assert_eq!(despatch_number(&delivery("pvx-", NOW, &[None])), None);
        let o = order(json!([delivery(&long, NOW, &[None])]));
        assert_eq!(candidates(&o, &window(None)), [Candidate::Unnamed]);
    }

    #[test]
    fn odd_deliveries_do_not_fail_the_sweep() {
        let o = order(json!([
            {"key": "pvx-D1", "parcels": "none", "createdAt": 7},
            {"key": 5},
            {"key": "pvx-D2", "parcels": [{"trackingData": {"trackingId": " "}}],
             "createdAt": "yesterday"},
        ]));
        assert_eq!(
            candidates(&o, &window(None)),
            [Candidate::Open("D1".into()), Candidate::Open("D2".into())]
        );
    }

    #[test]
    fn a_delivery_is_untracked_when_a_parcel_lacks_its_tracking_number() {
        let parcels = |p: Value| json!({ "key": "pvx-D1", "parcels": p });
        assert!(!untracked(&parcels(json!([
            {"trackingData": {"trackingId": "T1"}}, {"trackingData": {"trackingId": "T2"}}
        ]))));
        assert!(untracked(&parcels(json!([
            {"trackingData": {"trackingId": "T1"}}, {"key": "pvx-D1-2"}
        ]))));
        assert!(untracked(&parcels(
            json!([{"trackingData": {"trackingId": " "}}])
        )));
        // Found in review: a delivery without parcels lacks tracking too; the despatch sweep
        // left it to the next night.
        assert!(untracked(&parcels(json!([]))));
    }
}
