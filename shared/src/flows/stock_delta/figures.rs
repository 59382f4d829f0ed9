//! Steps 2–3 of a batch: the ledger rows, what each pair needs, the Peoplevox re-reads (one
//! report call per site and 100 items), and the new figures recorded in the ledger.

use std::collections::BTreeMap;

use futures::StreamExt;

use super::ledger::{self, Figure, Versioned};
use super::message::{Group, Key};
use super::plan::{Plan, decide};
use super::{Fate, STORE_CONCURRENCY, StockDelta, StockReport};
use crate::store::now_epoch_ms;

impl StockDelta {
    /// Loads the ledger rows and decides what each pair needs.
    pub(super) async fn plan(
        &self,
        groups: &BTreeMap<Key, Group>,
        fates: &mut BTreeMap<Key, Fate>,
    ) -> BTreeMap<Key, Plan> {
        let loaded =
            ledger::load_all(self.parts.state.clone(), groups.keys().cloned().collect()).await;
        let mut plans = BTreeMap::new();
        for (key, row) in loaded {
            match row {
                Ok(current) => {
                    if let Some(group) = groups.get(&key) {
                        plans.insert(key, decide(group, current));
                    }
                }
                Err(e) => {
                    fates.insert(key, Fate::Retry(format!("stock ledger: {e}")));
                }
            }
        }
        plans
    }

    /// Reads the figures that are needed, records new figures in the ledger, and returns the
    /// figure to apply per pair (plus the pairs that are stale).
    pub(super) async fn figures(
        &self,
        plans: BTreeMap<Key, Plan>,
        fates: &mut BTreeMap<Key, Fate>,
        report: &mut StockReport,
    ) -> (BTreeMap<Key, Versioned>, Vec<Key>) {
        let mut to_read: BTreeMap<String, Vec<(String, Option<Versioned>, bool)>> = BTreeMap::new();
        let mut to_record = Vec::new();
        let mut ready = BTreeMap::new();
        let mut stale = Vec::new();
        for (key, plan) in plans {
            match plan {
                Plan::Stale => stale.push(key),
                Plan::Read(current, absent_ok) => to_read
                    .entry(key.site.clone())
                    .or_default()
                    .push((key.item.clone(), current, absent_ok)),
                Plan::Apply {
                    figure,
                    current,
                    record: true,
                } => to_record.push((key, current, figure)),
                Plan::Apply {
                    current: Some(current),
                    ..
                } => {
                    ready.insert(key, current);
                }
                Plan::Apply { current: None, .. } => {}
            }
        }
        for (site, wanted) in to_read {
            let items: Vec<String> = wanted.iter().map(|(item, ..)| item.clone()).collect();
            let read_at = now_epoch_ms();
            report.rereads += items.len();
            match self.parts.pvx.read_availability(&site, &items).await {
                Ok(found) => {
                    for (item, current, absent_ok) in wanted {
                        let key = Key {
                            site: site.clone(),
                            item,
                        };
                        match found.get(&key.item) {
                            Some(available) => to_record.push((
                                key,
                                current,
                                Figure {
                                    available: *available,
                                    at_ms: read_at,
                                    source: "reread".into(),
                                },
                            )),
                            None if absent_ok => {
                                // A hint about an item the site does not hold (or a code
                                // read wrongly): nothing to change.
                                report.absent += 1;
                                fates.insert(key, Fate::Done);
                            }
                            None => {
                                let reason = format!(
                                    "unknown SKU: Peoplevox reports no item `{}` at site `{site}`",
                                    key.item
                                );
                                fates.insert(key, Fate::DeadLetter(reason));
                            }
                        }
                    }
                }
                Err(e) => {
                    let reason = format!("reading availability at `{site}` from Peoplevox: {e}");
                    for (item, ..) in wanted {
                        let key = Key {
                            site: site.clone(),
                            item,
                        };
                        fates.insert(key, Fate::Retry(reason.clone()));
                    }
                }
            }
        }
        let state = self.parts.state.clone();
        let recorded: Vec<_> = futures::stream::iter(to_record)
            .map(|(key, current, figure)| {
                let state = state.clone();
                async move {
                    let row = ledger::record(state.as_ref(), &key, current, figure).await;
                    (key, row)
                }
            })
            .buffered(STORE_CONCURRENCY)
            .collect()
            .await;
        for (key, row) in recorded {
            match row {
                Ok(row) => {
                    ready.insert(key, row);
                }
                Err(e) => {
                    fates.insert(key, Fate::Retry(format!("stock ledger: {e}")));
                }
            }
        }
        (ready, stale)
    }
}
