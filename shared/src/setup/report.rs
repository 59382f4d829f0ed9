//! What setup did (or, in a dry run, would do) to each channel and Type: one line per item for
//! people, and JSON for scripts.

use std::fmt;

use serde::Serialize;

/// The kind of resource an item is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Resource {
    /// A channel.
    Channel,
    /// A custom Type.
    Type,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Channel => "channel",
            Self::Type => "type",
        })
    }
}

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "change", rename_all = "snake_case")]
pub enum Outcome {
    /// It did not exist and was created.
    Created,
    /// It existed and gained what it lacked, e.g. `roles OrderExport`, `fields despatchedAt`.
    Updated(String),
    /// It already had everything.
    Unchanged,
    /// It exists in a shape setup cannot fix without deleting; left alone.
    Conflict(String),
}

/// One channel or Type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetupItem {
    /// Channel or Type.
    pub resource: Resource,
    /// Its key.
    pub key: String,
    /// What it is meant to be: the roles of a channel, `resource: fields` of a Type.
    pub detail: String,
    /// What happened; in JSON, `outcome` and (for an update or a conflict) `change` sit next to
    /// `key`, so that scripts filter on one level.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The items in the order they were applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetupReport {
    /// True when nothing was written: the outcomes are what would happen.
    pub dry_run: bool,
    /// One per desired channel and Type.
    pub items: Vec<SetupItem>,
}

impl SetupReport {
    /// True when something was (or, in a dry run, would be) created or updated.
    pub fn changed(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i.outcome, Outcome::Created | Outcome::Updated(_)))
    }

    /// The items left in conflict.
    pub fn conflicts(&self) -> impl Iterator<Item = &SetupItem> {
        self.items
            .iter()
            .filter(|i| matches!(i.outcome, Outcome::Conflict(_)))
    }

    /// One line per item, e.g. `created channel pvx-uk-dc (InventorySupply)`,
    /// `added fields despatchedAt to type ctpvx-delivery`, `unchanged type ctpvx-order`; a dry
    /// run says `would create …`, `would add …`.
    pub fn lines(&self) -> Vec<String> {
        self.items.iter().map(|i| self.line(i)).collect()
    }

    fn line(&self, item: &SetupItem) -> String {
        let SetupItem {
            resource,
            key,
            detail,
            outcome,
        } = item;
        let (create, add) = if self.dry_run {
            ("would create", "would add")
        } else {
            ("created", "added")
        };
        match outcome {
            Outcome::Created => format!("{create} {resource} {key} ({detail})"),
            Outcome::Updated(what) => format!("{add} {what} to {resource} {key}"),
            Outcome::Unchanged => format!("unchanged {resource} {key}"),
            Outcome::Conflict(why) => {
                format!("conflict on {resource} {key}: {why} (left as it is; fix it by hand)")
            }
        }
    }
}

impl fmt::Display for SetupReport {
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

    fn item(resource: Resource, key: &str, detail: &str, outcome: Outcome) -> SetupItem {
        SetupItem {
            resource,
            key: key.into(),
            detail: detail.into(),
            outcome,
        }
    }

    #[test]
    fn lines_read_as_sentences() {
        let mut report = SetupReport {
            dry_run: false,
            items: vec![
                item(
                    Resource::Channel,
                    "pvx-uk-dc",
                    "InventorySupply",
                    Outcome::Created,
                ),
                item(
                    Resource::Type,
                    "ctpvx-delivery",
                    "order-delivery: despatchedAt",
                    Outcome::Updated("fields despatchedAt".into()),
                ),
                item(Resource::Type, "ctpvx-order", "order", Outcome::Unchanged),
            ],
        };
        assert_eq!(
            report.lines(),
            [
                "created channel pvx-uk-dc (InventorySupply)",
                "added fields despatchedAt to type ctpvx-delivery",
                "unchanged type ctpvx-order",
            ]
        );
        assert!(report.changed());
        report.dry_run = true;
        assert_eq!(
            report.lines()[0],
            "would create channel pvx-uk-dc (InventorySupply)"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["items"][1]["outcome"], "updated");
        assert_eq!(json["items"][1]["change"], "fields despatchedAt");
        report.items.retain(|i| i.outcome == Outcome::Unchanged);
        assert!(!report.changed());
    }
}
