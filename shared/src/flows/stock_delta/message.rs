//! Reading a batch: each record becomes a stock message about a configured site, or a reason
//! to park it. A site-less hint (an AvailabilityChanges callback of a subscription without a
//! sites filter) stands for every configured site. Messages about the same (site, item) are
//! then grouped, so that a batch writes each commercetools entry at most once however many
//! events it holds.

use std::collections::BTreeMap;

use crate::domain::{Sku, StockMessage};
use crate::flows::batch::InputRecord;

/// A Peoplevox item at a Peoplevox site.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Key {
    pub(super) site: String,
    pub(super) item: String,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {}", self.item, self.site)
    }
}

/// The newest `{Available}` of a key in the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reported {
    pub(super) available: i64,
    pub(super) at_ms: i64,
    pub(super) event_id: String,
    /// Where the figure came from: `availability` (a callback, confirmed later) or
    /// `reconcile` (read from Peoplevox by the nightly reconciliation).
    pub(super) source: &'static str,
}

/// The source of a figure that came in a callback.
pub(super) const AVAILABILITY: &str = "availability";

/// Everything a batch says about one key.
#[derive(Debug, Clone, Default)]
pub(super) struct Group {
    /// Messages that mention the key.
    pub(super) message_ids: Vec<String>,
    /// The newest absolute figure, if any message carried one.
    pub(super) reported: Option<Reported>,
    /// A figure older than this does not answer the batch's hints and movements.
    pub(super) fresh_after_ms: Option<i64>,
    /// A figure older than this does not answer the batch's rechecks (confirmations, exports)
    /// of a pair the ledger knows; a pair never applied has nothing to correct.
    pub(super) recheck_after_ms: Option<i64>,
    /// Unallocated orders changed: recompute even with an unchanged figure.
    pub(super) recheck: bool,
    /// Event ids and kinds, for the audit trail.
    pub(super) sources: Vec<String>,
    /// Available events that arrived not newer than the batch's newest one.
    pub(super) superseded: usize,
    /// A hint ([`StockMessage::Changed`]) asked for this pair: where Peoplevox reports no such
    /// item at the site, there is nothing to do (a site-less hint names every site, and a hint's
    /// item code may have been read wrongly), rather than an unknown SKU to park.
    pub(super) absent_ok: bool,
}

/// A batch, read and grouped.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    pub(super) groups: BTreeMap<Key, Group>,
    /// Records that can never be applied, with the reason.
    pub(super) rejected: BTreeMap<String, String>,
}

/// Parses and groups the records; `sites` are the sites with a supply channel.
pub(super) fn parse(records: &[InputRecord], sites: &[String]) -> Parsed {
    let mut parsed = Parsed::default();
    for record in records {
        let message = match read(&record.body, sites) {
            Ok(message) => message,
            Err(reason) => {
                parsed.rejected.insert(record.id.clone(), reason);
                continue;
            }
        };
        let redelivered = record.receive_count > 1;
        add(&mut parsed.groups, &record.id, message, redelivered, sites);
    }
    parsed
}

fn read(body: &str, sites: &[String]) -> Result<StockMessage, String> {
    let message: StockMessage =
        serde_json::from_str(body).map_err(|e| format!("not a valid stock message: {e}"))?;
    if let Some(site) = message.site()
        && !sites.iter().any(|s| s == site)
    {
        return Err(format!(
            "unknown site `{site}`: no [stock.sites] entry maps it to a commercetools supply channel"
        ));
    }
    let items = message.items();
    if items.is_empty() {
        return Err("a recheck names no items".into());
    }
    for item in items {
        Sku::parse(item).map_err(|e| format!("item code: {e}"))?;
    }
    Ok(message)
}

/// The group of a pair, with the message noted as mentioning it.
fn touch<'a>(
    groups: &'a mut BTreeMap<Key, Group>,
    message_id: &str,
    site: &str,
    item: &str,
) -> &'a mut Group {
    let group = groups
        .entry(Key {
            site: site.to_string(),
            item: item.trim().to_string(),
        })
        .or_default();
    if group.message_ids.last().map(String::as_str) != Some(message_id) {
        group.message_ids.push(message_id.to_string());
    }
    group
}

/// Adds one message to its pairs' groups. A `redelivered` message may be the leftover of a
/// worker that wrote commercetools and then died or gave up while another worker marked a
/// newer figure synced: its pairs are applied again from the ledger's newest figure even when
/// its own figure is stale, so such a write is never the last one.
fn add(
    groups: &mut BTreeMap<Key, Group>,
    message_id: &str,
    message: StockMessage,
    redelivered: bool,
    sites: &[String],
) {
    if redelivered && let Some(site) = message.site() {
        for item in message.items() {
            touch(groups, message_id, site, item).recheck = true;
        }
    }
    match message {
        StockMessage::Changed {
            id,
            site,
            item,
            event,
            received_at_ms,
            ..
        } => {
            // Every configured site when the callback names none.
            let at: Vec<&String> = match &site {
                Some(site) => vec![site],
                None => sites.iter().collect(),
            };
            for site in at {
                let group = touch(groups, message_id, site, &item);
                group.sources.push(format!("{event}-hint:{id}"));
                group.fresh_after_ms = group.fresh_after_ms.max(Some(received_at_ms));
                group.absent_ok = true;
            }
        }
        StockMessage::Available {
            id,
            site,
            item,
            available,
            received_at_ms,
        } => {
            let group = touch(groups, message_id, &site, &item);
            group.sources.push(format!("availability:{id}"));
            let newer = group
                .reported
                .as_ref()
                .is_none_or(|r| received_at_ms > r.at_ms);
            if newer {
                if group.reported.is_some() {
                    group.superseded += 1;
                }
                group.reported = Some(Reported {
                    available,
                    at_ms: received_at_ms,
                    event_id: id,
                    source: AVAILABILITY,
                });
            } else {
                group.superseded += 1;
            }
        }
        StockMessage::Moved {
            id,
            site,
            item,
            received_at_ms,
            ..
        } => {
            let group = touch(groups, message_id, &site, &item);
            group.sources.push(format!("movement:{id}"));
            group.fresh_after_ms = group.fresh_after_ms.max(Some(received_at_ms));
        }
        StockMessage::Recheck {
            id,
            site,
            items,
            reread,
            source,
            not_before_ms,
        } => {
            for item in items {
                let group = touch(groups, message_id, &site, &item);
                group.sources.push(format!("{source}:{id}"));
                if reread {
                    group.recheck_after_ms = group.recheck_after_ms.max(Some(not_before_ms));
                    // A recheck is a question about stock ctpvx applied: an item Peoplevox no
                    // longer reports at the site leaves nothing to do.
                    group.absent_ok = true;
                } else {
                    group.recheck = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, body: String) -> InputRecord {
        InputRecord {
            id: id.into(),
            body,
            receive_count: 1,
            requeues: 0,
            receipt: None,
        }
    }

    fn available(site: &str, item: &str, available: i64, at: i64) -> String {
        StockMessage::Available {
            id: format!("e{at}"),
            site: site.into(),
            item: item.into(),
            available,
            received_at_ms: at,
        }
        .to_json()
    }

    #[test]
    fn newest_figure_wins_within_a_batch_whatever_the_order() {
        let records = vec![
            record("m1", available("S", "A", 7, 30)),
            record("m2", available("S", "A", 9, 10)),
            record("m3", available("S", "A", 8, 20)),
        ];
        let parsed = parse(&records, &["S".to_string()]);
        let group = &parsed.groups[&Key {
            site: "S".into(),
            item: "A".into(),
        }];
        assert_eq!(group.reported.as_ref().unwrap().available, 7);
        assert_eq!(group.message_ids, ["m1", "m2", "m3"]);
        assert_eq!(group.superseded, 2);
    }

    #[test]
    fn a_redelivered_stale_figure_still_rechecks_its_pair() {
        let mut again = record("m1", available("S", "A", 7, 30));
        let first = parse(std::slice::from_ref(&again), &["S".to_string()]);
        again.receive_count = 2;
        let second = parse(&[again], &["S".to_string()]);
        let key = Key {
            site: "S".into(),
            item: "A".into(),
        };
        assert!(!first.groups[&key].recheck);
        assert!(second.groups[&key].recheck);
        assert_eq!(second.groups[&key].message_ids, ["m1"]);
    }

    #[test]
    fn unknown_sites_garbage_and_bad_items_are_rejected_with_reasons() {
        let records = vec![
            record("m1", available("NOPE", "A", 1, 1)),
            record("m2", r#"{"kind":"available","available":"ten"}"#.into()),
            record("m3", available("S", "", 1, 1)),
            record("m4", "not json".into()),
        ];
        let parsed = parse(&records, &["S".to_string()]);
        assert!(parsed.groups.is_empty());
        assert!(parsed.rejected["m1"].contains("unknown site `NOPE`"));
        assert!(parsed.rejected["m2"].contains("not a valid stock message"));
        assert!(parsed.rejected["m3"].contains("SKU is empty"));
        assert!(parsed.rejected["m4"].contains("not a valid stock message"));
    }

    #[test]
    fn a_site_less_hint_asks_every_configured_site_and_tolerates_absence() {
        let hint = StockMessage::Changed {
            id: "h".into(),
            site: None,
            item: "A+B&C/D E%".into(),
            event: "availability".into(),
            why: "no site".into(),
            received_at_ms: 40,
        }
        .to_json();
        let sites = ["S1".to_string(), "S2".to_string()];
        let parsed = parse(&[record("m1", hint)], &sites);
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        let keys: Vec<String> = parsed.groups.keys().map(|k| k.to_string()).collect();
        assert_eq!(keys, ["A+B&C/D E% at S1", "A+B&C/D E% at S2"]);
        for group in parsed.groups.values() {
            assert_eq!(group.fresh_after_ms, Some(40));
            assert!(group.absent_ok && group.reported.is_none());
        }
    }
}
