//! What `ctpvx subscribe` / `unsubscribe` did (or, dry, would do): one line per subscription
//! for people, JSON for scripts. URLs are always the redacted ones.

use std::fmt;

use serde::Serialize;

/// What happened to one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Subscribed (it was not recorded).
    Created,
    /// Recorded with the same fingerprint: nothing sent.
    Kept,
    /// Subscribed anew (public URL, token, filter or method changed), the old one removed.
    Replaced,
    /// Unsubscribed (no longer wanted, or `unsubscribe`).
    Removed,
    /// A subscribe whose answer was never recorded: Peoplevox may hold it. Needs a person.
    Unknown,
    /// Peoplevox or the store refused; the note says why.
    Failed,
}

/// One subscription's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionLine {
    /// What happened.
    pub action: Action,
    /// The record name, e.g. `availability#UK-DC`.
    pub name: String,
    /// Peoplevox event type.
    pub event_type: String,
    /// The site of a stock subscription.
    pub site: Option<String>,
    /// `GET` or `POST`.
    pub method: String,
    /// Callback URL, token redacted.
    pub url: String,
    /// The subscription's id after this run (before it, for a removal).
    pub id: Option<i64>,
    /// Ids unsubscribed by this run (the replaced one, leftovers of an earlier replacement).
    pub unsubscribed: Vec<i64>,
    /// Why it failed, or what a person should do.
    pub note: Option<String>,
}

/// Every subscription's outcome, in the order handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionReport {
    /// Nothing was sent or written: the actions are what would happen.
    pub dry_run: bool,
    /// One per subscription.
    pub lines: Vec<SubscriptionLine>,
    /// SubscribeEvent / SubscribePostEvent requests sent.
    pub subscribe_calls: u32,
    /// UnsubscribeEvent requests sent.
    pub unsubscribe_calls: u32,
}

impl SubscriptionReport {
    /// An empty report.
    pub fn new(dry_run: bool) -> Self {
        Self {
            dry_run,
            lines: Vec::new(),
            subscribe_calls: 0,
            unsubscribe_calls: 0,
        }
    }

    /// True when nothing is unknown or failed: what a script may trust (exit 0).
    pub fn succeeded(&self) -> bool {
        !self
            .lines
            .iter()
            .any(|l| matches!(l.action, Action::Unknown | Action::Failed))
    }

    /// The lines with this action.
    pub fn with(&self, action: Action) -> impl Iterator<Item = &SubscriptionLine> {
        self.lines.iter().filter(move |l| l.action == action)
    }

    /// The ids of the subscriptions Peoplevox holds after this run, in order.
    pub fn ids(&self) -> Vec<i64> {
        self.lines
            .iter()
            .filter(|l| matches!(l.action, Action::Created | Action::Kept | Action::Replaced))
            .filter_map(|l| l.id)
            .collect()
    }

    /// One line per subscription, e.g. `created AvailabilityChanges at UK-DC (id 12): https://…`.
    pub fn lines(&self) -> Vec<String> {
        self.lines.iter().map(|l| self.line(l)).collect()
    }

    fn line(&self, l: &SubscriptionLine) -> String {
        let verb = match (l.action, self.dry_run) {
            (Action::Created, false) => "created",
            (Action::Created, true) => "would create",
            (Action::Kept, _) => "kept",
            (Action::Replaced, false) => "replaced",
            (Action::Replaced, true) => "would replace",
            (Action::Removed, false) => "removed",
            (Action::Removed, true) => "would remove",
            (Action::Unknown, _) => "unknown",
            (Action::Failed, _) => "FAILED",
        };
        let site = l
            .site
            .as_ref()
            .map(|s| format!(" at {s}"))
            .unwrap_or_default();
        let mut ids: Vec<String> = l.id.iter().map(|id| format!("id {id}")).collect();
        if !l.unsubscribed.is_empty() {
            let old: Vec<String> = l.unsubscribed.iter().map(i64::to_string).collect();
            ids.push(format!("unsubscribed {}", old.join(", ")));
        }
        let ids = if ids.is_empty() {
            String::new()
        } else {
            format!(" ({})", ids.join("; "))
        };
        let post = if l.method == "POST" { " (POST)" } else { "" };
        let note = l
            .note
            .as_ref()
            .map(|n| format!(" — {n}"))
            .unwrap_or_default();
        format!("{verb} {}{site}{ids}: {}{post}{note}", l.event_type, l.url)
    }
}

impl fmt::Display for SubscriptionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in self.lines() {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(action: Action) -> SubscriptionLine {
        SubscriptionLine {
            action,
            name: "availability#UK-DC".into(),
            event_type: "AvailabilityChanges".into(),
            site: Some("UK-DC".into()),
            method: "GET".into(),
            url: "https://h.example/webhooks/peoplevox/<token>/availability?site=UK-DC".into(),
            id: Some(7),
            unsubscribed: Vec::new(),
            note: None,
        }
    }

    #[test]
    fn lines_name_event_site_ids_and_url() {
        let mut replaced = line(Action::Replaced);
        replaced.unsubscribed = vec![3];
        let mut report = SubscriptionReport::new(false);
        report.lines = vec![line(Action::Created), replaced, line(Action::Kept)];
        assert_eq!(
            report.lines(),
            [
                "created AvailabilityChanges at UK-DC (id 7): https://h.example/webhooks/peoplevox/<token>/availability?site=UK-DC",
                "replaced AvailabilityChanges at UK-DC (id 7; unsubscribed 3): https://h.example/webhooks/peoplevox/<token>/availability?site=UK-DC",
                "kept AvailabilityChanges at UK-DC (id 7): https://h.example/webhooks/peoplevox/<token>/availability?site=UK-DC",
            ]
        );
        assert!(report.succeeded());
        assert_eq!(report.ids(), [7, 7, 7]);
        report.dry_run = true;
        assert!(report.lines()[0].starts_with("would create "));
        let mut unknown = line(Action::Unknown);
        unknown.id = None;
        unknown.note = Some("check in Peoplevox".into());
        report.lines.push(unknown);
        assert!(!report.succeeded());
        assert!(
            report.lines()[3].ends_with(" — check in Peoplevox"),
            "{}",
            report.lines()[3]
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["lines"][3]["action"], "unknown");
    }
}
