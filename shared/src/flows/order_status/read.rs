//! Step 1: what each status-queue record is. Pure: a record is a Peoplevox status, a return,
//! a commercetools cancellation (our normalised message, or the Platform Message a
//! commercetools SQS subscription delivers as it is), something to acknowledge, or garbage for
//! the dead-letter queue with the reason. No input panics.

use std::collections::BTreeMap;

use super::StatusEvent;
use crate::commercetools::message::{self, Parsed};
use crate::domain::StatusMessage;
use crate::flows::batch::{InputRecord, RecordOutcome};

/// A returns event: its record, and the order and/or return code it names.
pub(super) type ReturnEvent = (String, Option<String>, Option<String>);

/// The records of a batch, sorted by what they ask for.
#[derive(Debug, Default)]
pub(super) struct Read {
    /// Peoplevox status events by order number.
    pub statuses: BTreeMap<String, Vec<StatusEvent>>,
    /// Returns events.
    pub returns: Vec<ReturnEvent>,
    /// commercetools cancellations: order id → its records.
    pub cancels: BTreeMap<String, Vec<String>>,
    /// Records that end here (acknowledged or dead-lettered).
    pub ended: Vec<(String, RecordOutcome)>,
}

/// Sorts the records; a commercetools Message must belong to `project_key`.
pub(super) fn read(records: &[InputRecord], project_key: &str) -> Read {
    let mut read = Read::default();
    for record in records {
        let id = record.id.clone();
        match serde_json::from_str::<StatusMessage>(&record.body) {
            Ok(StatusMessage::PeoplevoxStatus {
                order,
                status,
                on_hold,
                modified,
                received_at_ms,
                ..
            }) => read
                .statuses
                .entry(order.trim().to_string())
                .or_default()
                .push(StatusEvent {
                    record_id: id,
                    status,
                    on_hold,
                    modified,
                    received_at_ms,
                    read_from_peoplevox: false,
                    hold_read_at_ms: None,
                }),
            Ok(StatusMessage::PeoplevoxReturn {
                order, return_code, ..
            }) => read.returns.push((id, order, return_code)),
            Ok(StatusMessage::CommercetoolsOrderState {
                order_id,
                order_state,
                ..
            }) => read.cancellation(id, order_id, &order_state),
            Err(e) => match message::parse_for_project(record.body.as_bytes(), project_key) {
                Ok(Parsed::OrderStateChanged(change)) => {
                    read.cancellation(id, change.order_id, &change.order_state)
                }
                Ok(Parsed::Ignored(_)) => read.ended.push((id, RecordOutcome::Done)),
                // Not JSON at all (truncated, or nested past the parser's limit): that is the
                // reason, not what the status message's reading stumbled on first.
                Err(
                    refused @ (message::MessageError::NotJson(_)
                    | message::MessageError::ForeignProject { .. }),
                ) => read.ended.push((
                    id,
                    RecordOutcome::DeadLetter(format!("not a valid status message: {refused}")),
                )),
                Ok(Parsed::OrderCreated(_)) | Err(_) => read.ended.push((
                    id,
                    RecordOutcome::DeadLetter(format!("not a valid status message: {e}")),
                )),
            },
        }
    }
    read
}

impl Read {
    /// Only a cancellation is the status flow's; other state changes are acknowledged.
    fn cancellation(&mut self, record: String, order_id: String, state: &str) {
        if state == "Cancelled" {
            self.cancels.entry(order_id).or_default().push(record);
        } else {
            self.ended.push((record, RecordOutcome::Done));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(records: &[InputRecord]) -> Read {
        read(records, "shop")
    }

    #[test]
    fn a_cancellation_of_another_project_is_dead_lettered_naming_it() {
        let foreign = CT.replace("\"id\":\"m\"", "\"id\":\"m\",\"projectKey\":\"other\"");
        let ours = CT.replace("\"id\":\"m\"", "\"id\":\"m\",\"projectKey\":\"shop\"");
        let read = read_all(&[record("1", &foreign), record("2", &ours)]);
        assert_eq!(read.cancels["o-1"], ["2"]);
        assert!(
            matches!(&read.ended[..], [(id, RecordOutcome::DeadLetter(r))] if id == "1" && r.contains("project `other`")),
            "{:?}",
            read.ended
        );
    }

    fn record(id: &str, body: &str) -> InputRecord {
        InputRecord {
            id: id.into(),
            body: body.into(),
            receive_count: 1,
            requeues: 0,
            receipt: None,
        }
    }

    const STATUS: &str = r#"{"kind":"peoplevox-status","id":"e","order":" N1 ","status":"Picking","receivedAtMs":1}"#;
    const RETURN: &str =
        r#"{"kind":"peoplevox-return","id":"e","returnCode":"RET-1","receivedAtMs":1}"#;
    const CT: &str = r#"{"notificationType":"Message","id":"m","resource":{"typeId":"order","id":"o-1"},"type":"OrderStateChanged","orderState":"Cancelled"}"#;

    #[test]
    fn each_kind_goes_where_it_belongs() {
        let confirmed = CT.replace("\"Cancelled\"", "\"Confirmed\"");
        let records = [
            record("1", STATUS),
            record("2", RETURN),
            record("3", CT),
            record("4", &confirmed),
            record("5", "{}"),
        ];
        let read = read_all(&records);
        assert_eq!(read.statuses["N1"][0].status(), "Picking");
        assert_eq!(read.returns[0].2.as_deref(), Some("RET-1"));
        assert_eq!(read.cancels["o-1"], ["3"]);
        assert_eq!(read.ended[0], ("4".to_string(), RecordOutcome::Done));
        assert!(
            matches!(&read.ended[1], (id, RecordOutcome::DeadLetter(r)) if id == "5" && r.contains("not a valid status message"))
        );
    }

    #[test]
    fn a_body_nested_past_the_parser_limit_is_dead_lettered_as_not_json() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let read = read_all(&[record("1", &deep)]);
        assert!(
            matches!(&read.ended[..], [(_, RecordOutcome::DeadLetter(r))] if r.contains("not valid JSON: recursion limit exceeded")),
            "{:?}",
            read.ended
        );
    }

    /// Every prefix of every valid body, and hostile bodies, end in a record outcome or a
    /// kind: none panics, none is lost.
    #[test]
    fn no_input_panics_and_none_is_lost() {
        let mut bodies: Vec<String> = Vec::new();
        for valid in [STATUS, RETURN, CT] {
            for end in 0..=valid.len() {
                if valid.is_char_boundary(end) {
                    bodies.push(valid[..end].to_string());
                }
            }
        }
        bodies.extend(
            [
                "null",
                "[]",
                "\"x\"",
                "{\"kind\":null}",
                "{\"kind\":\"peoplevox-status\",\"order\":1}",
                "{\"notificationType\":\"Message\",\"type\":\"OrderStateChanged\",\"resource\":[]}",
                &"[".repeat(10_000),
                "\u{0}\u{feff}",
            ]
            .map(String::from),
        );
        let records: Vec<InputRecord> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| record(&i.to_string(), b))
            .collect();
        let read = read_all(&records);
        let sorted = read.statuses.values().map(Vec::len).sum::<usize>()
            + read.returns.len()
            + read.cancels.values().map(Vec::len).sum::<usize>()
            + read.ended.len();
        assert_eq!(sorted, records.len());
        // Only the three whole bodies are anything but garbage.
        assert_eq!(sorted - read.ended.len(), 3);
    }
}
