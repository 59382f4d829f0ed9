//! Brings Peoplevox's subscriptions to the desired set, idempotently, by way of the records.
//!
//! SubscribeEvent is a write that must never be repeated blindly (a repeat subscribes twice,
//! and Peoplevox cannot list subscriptions to find out). So each subscribe is bracketed:
//!
//! 1. an *intent* is recorded first (the record without an id, conditional on the version
//!    read, so two runs cannot both send it);
//! 2. SubscribeEvent is sent;
//! 3. the id is recorded; only then are replaced subscriptions unsubscribed (their ids stay in
//!    the record's `retired` list until Peoplevox confirms, so a crash never loses one).
//!
//! A refused subscribe (Peoplevox said no, or the request never left) restores the record as
//! it was. A subscribe whose answer was lost, or a crash between 2 and 3, leaves the intent:
//! every later run reports it as `unknown` and sends nothing for it, rather than subscribing
//! again and again, until a person has checked Peoplevox and runs with `forget_unknown`.
//! UnsubscribeEvent is safe to repeat (an unknown id answers `False`), so removals need no
//! intent: the record goes once Peoplevox confirms.

use std::collections::BTreeMap;

use secrecy::SecretString;

use crate::store::{Condition, StateStore, StoreError, now_epoch_ms};

use super::callback::redact_token;
use super::desired::DesiredSubscription;
use super::record::{RECORD_PK, Stored, SubscriptionRecord, load_all};
use super::report::{Action, SubscriptionLine, SubscriptionReport};
use super::subscriber::{EventSubscriber, SubscribeRequest, may_have_subscribed};

/// How to apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Read the records and report; send nothing to Peoplevox and write nothing.
    pub dry_run: bool,
    /// A person has checked Peoplevox for the subscriptions reported `unknown` (and removed
    /// any it holds): drop those intents, and subscribe anew where still wanted.
    pub forget_unknown: bool,
}

/// Subscribes what `desired` has and the records lack or record differently, keeps what is
/// recorded alike, and unsubscribes what is recorded but no longer desired. `token` goes into
/// the callback URLs sent, never into the records or the report. An `Err` means the records
/// could not be read and nothing was done; a store failure later stops the run with a
/// `failed` line.
pub async fn apply(
    pvx: &dyn EventSubscriber,
    state: &dyn StateStore,
    desired: &[DesiredSubscription],
    token: &SecretString,
    options: ApplyOptions,
) -> Result<SubscriptionReport, StoreError> {
    let mut recorded: BTreeMap<String, Stored> = load_all(state)
        .await?
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect();
    let mut run = Run {
        pvx,
        state,
        options,
        report: SubscriptionReport::new(options.dry_run),
    };
    for want in desired {
        let stored = recorded.remove(&want.name);
        let step = run.ensure(want, token, stored).await;
        if !run.push(step) {
            return Ok(run.report);
        }
    }
    for stored in recorded.into_values() {
        let step = run.remove(stored).await;
        if !run.push(step) {
            break;
        }
    }
    Ok(run.report)
}

/// Unsubscribes every recorded subscription and drops its record (intents only with
/// `forget_unknown`). `Err`: the records could not be read.
pub async fn unsubscribe_all(
    pvx: &dyn EventSubscriber,
    state: &dyn StateStore,
    options: ApplyOptions,
) -> Result<SubscriptionReport, StoreError> {
    let mut run = Run {
        pvx,
        state,
        options,
        report: SubscriptionReport::new(options.dry_run),
    };
    for stored in load_all(state).await? {
        let step = run.remove(stored).await;
        if !run.push(step) {
            break;
        }
    }
    Ok(run.report)
}

/// A line, or (`Err`) a failed line after which the run stops: the store failed, and going on
/// would only leave more subscriptions unrecorded.
type Step = Result<SubscriptionLine, SubscriptionLine>;

struct Run<'a> {
    pvx: &'a dyn EventSubscriber,
    state: &'a dyn StateStore,
    options: ApplyOptions,
    report: SubscriptionReport,
}

impl Run<'_> {
    /// Adds the step's line; false when the run must stop.
    fn push(&mut self, step: Step) -> bool {
        let go_on = step.is_ok();
        self.report.lines.push(step.unwrap_or_else(|line| line));
        go_on
    }

    /// One desired subscription against its record.
    async fn ensure(
        &mut self,
        want: &DesiredSubscription,
        token: &SecretString,
        stored: Option<Stored>,
    ) -> Step {
        let fingerprint = want.callback.fingerprint(
            want.operation.name(),
            want.spec.event_type,
            &want.filter,
            want.encode_parameter_data,
            token,
        );
        match stored {
            Some(s) if s.record.id.is_none() && !self.options.forget_unknown => {
                Ok(unknown_line(&s))
            }
            Some(s) if s.record.id.is_some() && s.record.fingerprint == fingerprint => {
                self.keep(s).await
            }
            other => self.subscribe(want, token, fingerprint, other).await,
        }
    }

    /// Recorded alike: nothing to send, but leftovers of an interrupted replacement go.
    async fn keep(&mut self, s: Stored) -> Step {
        let mut line = line_of(Action::Kept, &s.name, &s.record);
        if s.record.retired.is_empty() {
            return Ok(line);
        }
        if self.options.dry_run {
            line.note = Some(format!(
                "would unsubscribe leftover ids {}",
                join(&s.record.retired)
            ));
            return Ok(line);
        }
        let (done, failed) = self.unsubscribe(&s.record.retired).await;
        line.unsubscribed = done;
        if !line.unsubscribed.is_empty() {
            let record = SubscriptionRecord {
                retired: failed.iter().map(|(id, _)| *id).collect(),
                ..s.record.clone()
            };
            self.write(&s.name, &record, Condition::Version(s.version), &line)
                .await?;
        }
        line.note = failure_note(&failed);
        Ok(line)
    }

    /// Subscribes `want`: new, replacing `prev`, or after a forgotten intent.
    async fn subscribe(
        &mut self,
        want: &DesiredSubscription,
        token: &SecretString,
        fingerprint: String,
        prev: Option<Stored>,
    ) -> Step {
        let replacing = prev.as_ref().is_some_and(|p| p.record.id.is_some());
        let action = if replacing {
            Action::Replaced
        } else {
            Action::Created
        };
        let retired: Vec<i64> = prev.as_ref().map(|p| p.record.ids()).unwrap_or_default();
        let mut intent = SubscriptionRecord {
            event_type: want.spec.event_type.to_string(),
            site: want.site.clone(),
            operation: Some(want.operation.name().to_string()),
            filter: want.filter.clone(),
            encode_parameter_data: want.encode_parameter_data,
            method: want.callback.method().to_string(),
            url: want.callback.redacted(),
            post_params: want.callback.post_params().map(str::to_string),
            fingerprint,
            id: None,
            at_ms: now_epoch_ms(),
            retired,
        };
        let mut line = line_of(action, &want.name, &intent);
        if prev.as_ref().is_some_and(|p| p.record.id.is_none()) {
            line.note = Some(
                "an earlier subscribe with an unknown outcome was forgotten: if Peoplevox holds it, remove it there"
                    .into(),
            );
        }
        if self.options.dry_run {
            line.id = prev.as_ref().and_then(|p| p.record.id);
            return Ok(line);
        }
        let cond = prev
            .as_ref()
            .map_or(Condition::NotExists, |p| Condition::Version(p.version));
        let version = self.write(&want.name, &intent, cond, &line).await?;
        self.report.subscribe_calls += 1;
        let request = want.callback.request(token);
        let sent = self
            .pvx
            .subscribe(&SubscribeRequest {
                operation: want.operation,
                event_type: want.spec.event_type,
                filter: &want.filter,
                callback: &request,
                encode_parameter_data: want.encode_parameter_data,
            })
            .await;
        if let Err(e) = &sent {
            // Operators look for this in the logs; Peoplevox's text may quote the URL sent.
            tracing::warn!(
                subscription = %want.name,
                operation = want.operation.name(),
                callback = %want.callback.redacted(),
                error = %redact_token(&e.to_string(), token),
                "Peoplevox subscription failed"
            );
        }
        let id = match sent {
            Ok(id) => id,
            Err(e) if may_have_subscribed(&e) => {
                let mut line = unknown_line(&Stored {
                    name: want.name.clone(),
                    record: intent,
                    version,
                });
                line.note = Some(format!(
                    "the answer to {} was lost ({}): Peoplevox may hold this subscription. Check in Peoplevox (remove it there if it exists), then run again with --forget-unknown",
                    want.operation.name(),
                    redact_token(&e.to_string(), token)
                ));
                return Ok(line);
            }
            Err(e) => {
                // Refused or never sent: nothing exists in Peoplevox, so the record goes back
                // to what it was.
                let mut failed = line.clone();
                failed.action = Action::Failed;
                failed.id = prev.as_ref().and_then(|p| p.record.id);
                failed.note = Some(format!(
                    "Peoplevox refused the subscription: {}",
                    redact_token(&e.to_string(), token)
                ));
                match &prev {
                    Some(p) => {
                        self.write(&want.name, &p.record, Condition::Version(version), &failed)
                            .await?;
                    }
                    None => self.delete(&want.name, &failed).await?,
                }
                return Ok(failed);
            }
        };
        intent.id = Some(id);
        intent.at_ms = now_epoch_ms();
        line.id = Some(id);
        let version = self
            .write(&want.name, &intent, Condition::Version(version), &line)
            .await
            .map_err(|mut failed| {
                // The one place an id can be lost: say it, so that a person can remove it.
                failed.note = Some(format!(
                    "subscribed as id {id} but could not record it ({}); the record shows an unknown outcome: unsubscribe id {id} in Peoplevox, then run again with --forget-unknown",
                    failed.note.unwrap_or_default()
                ));
                failed
            })?;
        if intent.retired.is_empty() {
            return Ok(line);
        }
        let (done, failed) = self.unsubscribe(&intent.retired).await;
        line.unsubscribed = done;
        line.note = failure_note(&failed);
        if !line.unsubscribed.is_empty() {
            intent.retired = failed.iter().map(|(id, _)| *id).collect();
            self.write(&want.name, &intent, Condition::Version(version), &line)
                .await?;
        }
        Ok(line)
    }

    /// Unsubscribes a recorded subscription (and its leftovers) and drops the record.
    async fn remove(&mut self, s: Stored) -> Step {
        if s.record.id.is_none() && !self.options.forget_unknown {
            return Ok(unknown_line(&s));
        }
        let mut line = line_of(Action::Removed, &s.name, &s.record);
        if s.record.id.is_none() {
            line.note = Some(
                "forgot a subscribe with an unknown outcome: if Peoplevox holds it, remove it there"
                    .into(),
            );
        }
        let ids = s.record.ids();
        if self.options.dry_run {
            return Ok(line);
        }
        let (done, failed) = self.unsubscribe(&ids).await;
        line.unsubscribed = done;
        if !failed.is_empty() {
            // The record stays whole: unsubscribing again next run is harmless.
            line.action = Action::Failed;
            line.note = failure_note(&failed);
            return Ok(line);
        }
        self.delete(&s.name, &line).await?;
        Ok(line)
    }

    /// Unsubscribes each id; the ids done (Peoplevox removed it, or no longer had it) and the
    /// ones that failed, with why.
    async fn unsubscribe(&mut self, ids: &[i64]) -> (Vec<i64>, Vec<(i64, String)>) {
        let (mut done, mut failed) = (Vec::new(), Vec::new());
        for &id in ids {
            self.report.unsubscribe_calls += 1;
            match self.pvx.unsubscribe(id).await {
                Ok(_) => done.push(id),
                Err(e) => failed.push((id, e.to_string())),
            }
        }
        (done, failed)
    }

    /// Writes a record; a failure becomes `line` as a failed line that stops the run.
    async fn write(
        &self,
        name: &str,
        record: &SubscriptionRecord,
        cond: Condition,
        line: &SubscriptionLine,
    ) -> Result<u64, SubscriptionLine> {
        let written = match record.to_json() {
            Ok(data) => self.state.put(RECORD_PK, name, &data, cond, None).await,
            Err(e) => Err(e),
        };
        written.map_err(|e| store_failure(line, &e))
    }

    async fn delete(&self, name: &str, line: &SubscriptionLine) -> Result<(), SubscriptionLine> {
        self.state
            .delete(RECORD_PK, name)
            .await
            .map_err(|e| store_failure(line, &e))
    }
}

fn store_failure(line: &SubscriptionLine, e: &StoreError) -> SubscriptionLine {
    let mut failed = line.clone();
    failed.action = Action::Failed;
    failed.note = Some(match e {
        StoreError::ConditionFailed => {
            "the record changed meanwhile (another run?); run again".to_string()
        }
        other => format!("state store: {other}"),
    });
    failed
}

fn line_of(action: Action, name: &str, record: &SubscriptionRecord) -> SubscriptionLine {
    SubscriptionLine {
        action,
        name: name.to_string(),
        event_type: record.event_type.clone(),
        site: record.site.clone(),
        method: record.method.clone(),
        url: record.url.clone(),
        id: record.id,
        unsubscribed: Vec::new(),
        note: None,
    }
}

fn unknown_line(s: &Stored) -> SubscriptionLine {
    let mut line = line_of(Action::Unknown, &s.name, &s.record);
    let when =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(s.record.at_ms) * 1_000_000)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| s.record.at_ms.to_string());
    line.note = Some(format!(
        "a subscribe sent at {when} has no recorded answer, so Peoplevox may or may not hold it; nothing is sent until a person checks in Peoplevox (removing it there if it exists) and runs again with --forget-unknown"
    ));
    line
}

fn failure_note(failed: &[(i64, String)]) -> Option<String> {
    (!failed.is_empty()).then(|| {
        let parts: Vec<String> = failed
            .iter()
            .map(|(id, e)| format!("unsubscribing id {id} failed: {e}"))
            .collect();
        format!("{}; run again to retry", parts.join("; "))
    })
}

fn join(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
