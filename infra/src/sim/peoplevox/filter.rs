//! Subscription filters of stock events. Peoplevox takes a clause on the event entity, e.g.
//! `site == "PrimarySite"` (peep_conn `subscription.rb`); the simulator understands only the
//! site tests, and reports anything else as unparsed instead of guessing.

/// Identifiers that name the site of a stock event (compared case-insensitively).
const SITE_IDENTIFIERS: &[&str] = &["site", "Site.Reference", "SiteReference"];

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteFilter {
    /// The empty filter: every site.
    Any,
    /// One site reference.
    Site(String),
}

impl SiteFilter {
    /// Parses `""`, `site == "X"`, `Site.Reference = "X"`, ...; `None` for anything else.
    pub fn parse(filter: &str) -> Option<Self> {
        let filter = filter.trim();
        if filter.is_empty() {
            return Some(Self::Any);
        }
        let op = filter.find('=')?;
        let identifier = filter[..op].trim();
        if !SITE_IDENTIFIERS
            .iter()
            .any(|i| i.eq_ignore_ascii_case(identifier))
        {
            return None;
        }
        let rest = &filter[op + 1..];
        let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
        let value = rest.strip_prefix('"')?.strip_suffix('"')?;
        (!value.contains('"')).then(|| Self::Site(value.to_string()))
    }

    /// Whether an event at `site` passes.
    pub fn matches(&self, site: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Site(s) => s == site,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_tests_parse() {
        let site = SiteFilter::Site("UK-DC".into());
        assert!(site.matches("UK-DC") && !site.matches("uk-dc"));
        let uk = Some(site);
        assert_eq!(SiteFilter::parse(r#"site == "UK-DC""#), uk);
        assert_eq!(SiteFilter::parse(r#" Site.Reference="UK-DC" "#), uk);
        assert_eq!(SiteFilter::parse(r#"SITEREFERENCE = "UK-DC""#), uk);
        assert_eq!(SiteFilter::parse("  "), Some(SiteFilter::Any));
    }

    #[test]
    fn anything_else_is_unparsed() {
        for f in [
            r#"site != "UK-DC""#,
            r#"site === "UK-DC""#,
            r#"ItemCode == "A""#,
            "site == UK-DC",
            r#"site == "A" OR site == "B""#,
            r#"site.Equals("UK-DC")"#,
        ] {
            assert_eq!(SiteFilter::parse(f), None, "{f}");
        }
    }
}
