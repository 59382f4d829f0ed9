//! Step 6 of a batch: the ledger marked synced, the audit trail, the confirming re-reads.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;

use super::apply::Applied;
use super::audit::{self, EntryAudit};
use super::ledger::{self, Marked, Versioned};
use super::message::{Group, Key};
use super::{Fate, STORE_CONCURRENCY, StockDelta, StockReport, confirm};

/// Rounds of re-applying pairs that concurrent workers touched, before the batch gives up on
/// them (and SQS delivers them again).
const CATCH_UP_ROUNDS: usize = 4;

impl StockDelta {
    /// Marks the ledger (catching up with concurrent workers), writes the audit trail,
    /// schedules confirmations.
    pub(super) async fn finish(
        &self,
        groups: &BTreeMap<Key, Group>,
        figures: &BTreeMap<Key, Versioned>,
        mut audits: Vec<(Key, EntryAudit)>,
        stale: &[Key],
        fates: &mut BTreeMap<Key, Fate>,
        report: &mut StockReport,
    ) {
        let mut round: BTreeMap<Key, Versioned> = figures
            .iter()
            .filter(|(key, _)| !fates.contains_key(*key))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut from = 0;
        for _ in 0..CATCH_UP_ROUNDS {
            let superseded = self.mark(&round, &audits[from..], fates).await;
            if superseded.is_empty() {
                round.clear();
                break;
            }
            // Another worker touched these pairs while we wrote: apply the newest figure with
            // fresh facts again, so the last write of a pair is always the newest.
            report.conflicts += superseded.len();
            round = self.reload(superseded, fates).await;
            from = audits.len();
            let again = self.apply_all(groups, &round, fates, report).await;
            audits.extend(again);
            round.retain(|key, _| !fates.contains_key(key));
        }
        for key in round.keys() {
            fates.insert(
                key.clone(),
                Fate::Retry("the pair kept changing under concurrent workers".into()),
            );
        }
        audit::write(self.parts.audit.as_ref(), &audits, stale, groups).await;
        if let Some(queue) = &self.parts.queue {
            let trusted: Vec<&Key> = figures
                .iter()
                .filter(|(key, row)| {
                    row.row.figure.source == super::message::AVAILABILITY
                        && groups.get(*key).is_some_and(|g| g.reported.is_some())
                        && !fates.contains_key(*key)
                })
                .map(|(key, _)| key)
                .collect();
            let delay = Duration::from_secs(self.parts.rules.confirm_after_s);
            report.confirms_scheduled += confirm::schedule(queue.as_ref(), &trusted, delay).await;
        }
        for key in groups.keys() {
            fates.entry(key.clone()).or_insert(Fate::Done);
        }
    }

    /// Marks every pair of `round` synced; returns the pairs another worker touched meanwhile.
    async fn mark(
        &self,
        round: &BTreeMap<Key, Versioned>,
        audits: &[(Key, EntryAudit)],
        fates: &mut BTreeMap<Key, Fate>,
    ) -> Vec<Key> {
        let mut written: BTreeMap<&Key, BTreeMap<String, i64>> = BTreeMap::new();
        for (key, facts) in audits {
            if let Some(Ok(applied)) = &facts.result {
                let quantity = match applied {
                    Applied::Unchanged { quantity } => *quantity,
                    Applied::Written { new, .. } | Applied::Created { new } => *new,
                };
                written
                    .entry(key)
                    .or_default()
                    .insert(facts.sku.clone(), quantity);
            }
        }
        // Owned items: a stream over borrowed ones is not `Send` enough for the Lambda future.
        let marks: Vec<(Key, Versioned, BTreeMap<String, i64>)> = round
            .iter()
            .filter(|(key, _)| !fates.contains_key(*key))
            .map(|(key, row)| {
                let written = written.get(key).cloned().unwrap_or_default();
                (key.clone(), row.clone(), written)
            })
            .collect();
        let state = self.parts.state.clone();
        let marked: Vec<_> = futures::stream::iter(marks)
            .map(|(key, row, written)| {
                let state = state.clone();
                async move {
                    let result = ledger::mark_synced(state.as_ref(), &key, &row, &written).await;
                    (key, result)
                }
            })
            .buffered(STORE_CONCURRENCY)
            .collect()
            .await;
        let mut superseded = Vec::new();
        for (key, result) in marked {
            match result {
                Ok(Marked::Synced) => {}
                Ok(Marked::Superseded) => superseded.push(key),
                Err(e) => {
                    fates.insert(key, Fate::Retry(format!("stock ledger: {e}")));
                }
            }
        }
        superseded
    }

    /// The current ledger rows of these pairs.
    async fn reload(
        &self,
        keys: Vec<Key>,
        fates: &mut BTreeMap<Key, Fate>,
    ) -> BTreeMap<Key, Versioned> {
        let loaded = ledger::load_all(self.parts.state.clone(), keys).await;
        let mut rows = BTreeMap::new();
        for (key, row) in loaded {
            match row {
                Ok(Some(row)) => {
                    rows.insert(key, row);
                }
                Ok(None) => {}
                Err(e) => {
                    fates.insert(key, Fate::Retry(format!("stock ledger: {e}")));
                }
            }
        }
        rows
    }
}
