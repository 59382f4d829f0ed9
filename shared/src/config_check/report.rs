//! The outcome of `ctpvx check-config`: one line per check (`ok`, `warn`, `FAIL`, `skip`),
//! each problem with its fix, and JSON for scripts. No line ever carries a secret.

use std::fmt;

use serde::Serialize;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// As the flows need it.
    Ok,
    /// Works, but worth a look (a site with no stock rows, say).
    Warn,
    /// The flows would fail or refuse to start.
    Fail,
    /// Not run, because what it needs failed (named in the detail).
    Skip,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Fail => "FAIL",
            Self::Skip => "skip",
        }
    }
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked, e.g. `commercetools token`, `channel pvx-uk-dc`.
    pub name: String,
    /// The outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do about a warning or failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    /// A passing check.
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Ok, detail, None)
    }
    /// A warning with its fix.
    pub fn warn(name: impl Into<String>, detail: impl Into<String>, fix: &str) -> Self {
        Self::new(name, Status::Warn, detail, Some(fix))
    }
    /// A failure with its fix.
    pub fn fail(name: impl Into<String>, detail: impl Into<String>, fix: &str) -> Self {
        Self::new(name, Status::Fail, detail, Some(fix))
    }
    /// A check not run, and why.
    pub fn skip(name: impl Into<String>, why: impl Into<String>) -> Self {
        Self::new(name, Status::Skip, why, None)
    }

    fn new(
        name: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
        fix: Option<&str>,
    ) -> Self {
        Self {
            name: name.into(),
            status,
            detail: detail.into(),
            fix: fix.filter(|f| !f.is_empty()).map(str::to_string),
        }
    }
}

/// Every check, in the order run, and what they cost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// One per check.
    pub checks: Vec<Check>,
    /// Peoplevox requests sent (Authenticate included).
    pub peoplevox_requests: u64,
    /// commercetools requests sent (the token included).
    pub commercetools_requests: u64,
}

impl CheckReport {
    /// True when no check failed (warnings and skips allowed): exit 0.
    pub fn passed(&self) -> bool {
        self.count(Status::Fail) == 0
    }

    /// How many checks came out `status`.
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// One line per check, e.g. `ok   commercetools token: …` or
    /// `FAIL channel pvx-uk-dc: does not exist — run `ctpvx setup``.
    pub fn lines(&self) -> Vec<String> {
        self.checks
            .iter()
            .map(|c| {
                let fix = c
                    .fix
                    .as_ref()
                    .map(|f| format!(" — {f}"))
                    .unwrap_or_default();
                format!("{:<4} {}: {}{fix}", c.status.label(), c.name, c.detail)
            })
            .collect()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in self.lines() {
            writeln!(f, "{line}")?;
        }
        writeln!(
            f,
            "{} ok, {} warnings, {} failed, {} skipped ({} Peoplevox and {} commercetools requests)",
            self.count(Status::Ok),
            self.count(Status::Warn),
            self.count(Status::Fail),
            self.count(Status::Skip),
            self.peoplevox_requests,
            self.commercetools_requests
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_show_status_name_detail_and_fix() {
        let report = CheckReport {
            checks: vec![
                Check::ok("commercetools token", "granted manage_project:shop"),
                Check::fail("channel pvx-uk-dc", "does not exist", "run `ctpvx setup`"),
                Check::warn("site EU-DC", "no rows", ""),
            ],
            peoplevox_requests: 3,
            commercetools_requests: 2,
        };
        assert_eq!(
            report.lines(),
            [
                "ok   commercetools token: granted manage_project:shop",
                "FAIL channel pvx-uk-dc: does not exist — run `ctpvx setup`",
                "warn site EU-DC: no rows",
            ]
        );
        assert!(!report.passed());
        assert!(report.to_string().ends_with(
            "1 ok, 1 warnings, 1 failed, 0 skipped (3 Peoplevox and 2 commercetools requests)\n"
        ));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["checks"][1]["status"], "fail");
        assert!(json["checks"][0].get("fix").is_none());
    }
}
