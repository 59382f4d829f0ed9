//! Brings a project to the desired state: reads each channel and Type by key, creates what is
//! missing and adds what an existing one lacks. Nothing is removed, and an item that already
//! has everything costs one read and no write, so a second run only reads.

use std::future::Future;

use crate::commercetools::types_api::TypeDraft;
use crate::commercetools::{CtClient, CtError};
use crate::config::Config;

use super::desired::{DesiredChannel, desired};
use super::diff::{conflicts, missing_fields, missing_roles};
use super::report::{Outcome, Resource, SetupItem, SetupReport};

/// Attempts per item: someone else may change or create the same resource in between.
const ATTEMPTS: u32 = 3;

/// Applies the desired state of `config`; with `dry_run`, only reads and reports what it would
/// do. Stops at the first API error, after which a re-run picks up where this one stopped.
pub async fn apply(ct: &CtClient, config: &Config, dry_run: bool) -> Result<SetupReport, CtError> {
    let desired = desired(config);
    let mut items = Vec::new();
    for channel in &desired.channels {
        items.push(again_on_race(|| ensure_channel(ct, channel, dry_run)).await?);
    }
    for draft in &desired.types {
        items.push(again_on_race(|| ensure_type(ct, draft, dry_run)).await?);
    }
    Ok(SetupReport { dry_run, items })
}

/// Runs one item's read-and-write again when another writer got in between (a 409, a key just
/// taken) or a write's outcome is unknown: each run starts with a fresh read, so the retry sees
/// the other writer's result instead of failing on it.
async fn again_on_race<F, Fut>(mut step: F) -> Result<SetupItem, CtError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<SetupItem, CtError>>,
{
    let mut attempt = 1;
    loop {
        match step().await {
            Err(err)
                if attempt < ATTEMPTS
                    && (err.has_code("ConcurrentModification")
                        || err.has_code("DuplicateField")
                        || err.outcome_unknown()) =>
            {
                tracing::info!(error = %err, attempt, "setup step raced another writer; re-reading");
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// One channel: created with its roles, or given the roles it lacks.
async fn ensure_channel(
    ct: &CtClient,
    want: &DesiredChannel,
    dry_run: bool,
) -> Result<SetupItem, CtError> {
    let roles: Vec<&str> = want.roles.iter().map(|r| r.as_str()).collect();
    let item = |outcome| SetupItem {
        resource: Resource::Channel,
        key: want.key.clone(),
        detail: roles.join(", "),
        outcome,
    };
    let Some(channel) = ct.get_channel_by_key(&want.key).await? else {
        if !dry_run {
            ct.create_channel(&want.key, &want.roles).await?;
        }
        return Ok(item(Outcome::Created));
    };
    let missing = missing_roles(&channel.roles, &want.roles);
    if missing.is_empty() {
        return Ok(item(Outcome::Unchanged));
    }
    if !dry_run {
        ct.add_channel_roles(&channel.id, channel.version, &missing)
            .await?;
    }
    let names: Vec<&str> = missing.iter().map(|r| r.as_str()).collect();
    Ok(item(Outcome::Updated(format!(
        "roles {}",
        names.join(", ")
    ))))
}

/// One Type: created with every field, or given the fields it lacks; left alone on a conflict.
async fn ensure_type(ct: &CtClient, want: &TypeDraft, dry_run: bool) -> Result<SetupItem, CtError> {
    let fields: Vec<&str> = want
        .field_definitions
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    let item = |outcome| SetupItem {
        resource: Resource::Type,
        key: want.key.clone(),
        detail: format!(
            "{}: {}",
            want.resource_type_ids.join(", "),
            fields.join(", ")
        ),
        outcome,
    };
    let Some(existing) = ct.get_type_by_key(&want.key).await? else {
        if !dry_run {
            ct.create_type(want).await?;
        }
        return Ok(item(Outcome::Created));
    };
    let found = conflicts(&existing, want);
    if !found.is_empty() {
        return Ok(item(Outcome::Conflict(found.join("; "))));
    }
    let missing = missing_fields(&existing, want);
    if missing.is_empty() {
        return Ok(item(Outcome::Unchanged));
    }
    if !dry_run {
        ct.add_field_definitions(&existing.id, existing.version, &missing)
            .await?;
    }
    let names: Vec<&str> = missing.iter().map(|f| f.name.as_str()).collect();
    Ok(item(Outcome::Updated(format!(
        "fields {}",
        names.join(", ")
    ))))
}
