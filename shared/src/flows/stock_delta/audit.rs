//! The audit trail of stock: one entry per commercetools entry a batch looked at (entity
//! `stock#<sku>#<site>`), saying what it was, what it became and why. No personal data: SKUs,
//! sites and quantities only.

use std::collections::BTreeMap;

use serde_json::json;

use super::FLOW;
use super::apply::{Applied, NotApplied};
use super::message::{Group, Key};
use crate::store::{AuditEntry, AuditLog, now_epoch_ms};

/// The audit entity of a SKU at a site: every entry a batch made about it.
pub fn sku_entity(sku: &str, site: &str) -> String {
    format!("stock#{sku}#{site}")
}

/// The audit entity of a site: its movements (entries that changed or failed to change
/// commercetools), so that a location's log reads without knowing its SKUs.
pub fn site_entity(site: &str) -> String {
    format!("stock-site#{site}")
}

/// The facts behind one entry's target, and what became of it.
#[derive(Debug, Clone)]
pub(super) struct EntryAudit {
    pub(super) sku: String,
    pub(super) channel_id: String,
    pub(super) available: i64,
    pub(super) pending: i64,
    pub(super) buffer: i64,
    pub(super) factor: u32,
    pub(super) target: i64,
    pub(super) figure_at_ms: i64,
    pub(super) figure_source: String,
    pub(super) sources: Vec<String>,
    pub(super) result: Option<Result<Applied, NotApplied>>,
}

fn entry(key: &Key, facts: &EntryAudit, at_ms: i64) -> AuditEntry {
    let (outcome, reason, old, new) = match &facts.result {
        Some(Ok(Applied::Unchanged { quantity })) => {
            ("unchanged", None, Some(*quantity), *quantity)
        }
        Some(Ok(Applied::Written { old, new })) => ("written", None, Some(*old), *new),
        Some(Ok(Applied::Created { new })) => ("created", None, None, *new),
        Some(Err(NotApplied::Retry(r))) => ("retry", Some(r.clone()), None, facts.target),
        Some(Err(NotApplied::Refused(r))) => ("refused", Some(r.clone()), None, facts.target),
        None => ("skipped", None, None, facts.target),
    };
    AuditEntry {
        entity: sku_entity(&facts.sku, &key.site),
        at_ms,
        flow: FLOW.into(),
        outcome: outcome.into(),
        reason,
        detail: json!({
            "site": key.site,
            "item": key.item,
            "sku": facts.sku,
            "channel": facts.channel_id,
            "old": old,
            "new": new,
            "delta": old.map(|o| new - o),
            "available": facts.available,
            "pending": facts.pending,
            "buffer": facts.buffer,
            "factor": facts.factor,
            "figureAtMs": facts.figure_at_ms,
            "figureSource": facts.figure_source,
            "events": facts.sources,
        }),
    }
}

/// Appends the batch's entries; a failed append is logged (the write already happened).
pub(super) async fn write(
    audit: &dyn AuditLog,
    applied: &[(Key, EntryAudit)],
    stale: &[Key],
    groups: &BTreeMap<Key, Group>,
) {
    let now = now_epoch_ms();
    let mut entries: Vec<AuditEntry> = Vec::with_capacity(applied.len() * 2);
    for (key, facts) in applied {
        let e = entry(key, facts, now);
        // Movements also go to the site's log; "unchanged" would only bury them there.
        if e.outcome != "unchanged" {
            entries.push(AuditEntry {
                entity: site_entity(&key.site),
                ..e.clone()
            });
        }
        entries.push(e);
    }
    entries.extend(stale.iter().map(|key| AuditEntry {
        entity: sku_entity(&key.item, &key.site),
        at_ms: now,
        flow: FLOW.into(),
        outcome: "stale".into(),
        reason: Some("every event is older than the figure already applied".into()),
        detail: json!({
            "site": key.site,
            "item": key.item,
            "sku": key.item,
            "events": groups.get(key).map(|g| g.sources.clone()).unwrap_or_default(),
        }),
    }));
    for (i, err) in audit.append_many(&entries).await {
        let entity = entries.get(i).map_or("?", |e| e.entity.as_str());
        tracing::error!(%entity, error = %err, "stock audit append failed");
    }
}
