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

/// The `sitesFilter` of SubscribeEventWithSitesFilters, read strictly: exactly
/// `Site.Reference = "<site>"` (finerylondon/peep_conn 0b05be4: `'Site.Reference =
/// "PrimarySite"'`), the value a C#-style string literal in which `\"` and `\\` stand for
/// `"` and `\`. Returns the site; anything else is refused with the reason (no evidence shows
/// another form being accepted).
pub fn parse_sites_filter(text: &str) -> Result<String, String> {
    let refuse = || format!("Invalid sites filter '{text}': expected Site.Reference = \"<site>\"");
    let rest = text
        .trim()
        .strip_prefix("Site.Reference")
        .ok_or_else(refuse)?;
    let rest = rest.trim_start().strip_prefix('=').ok_or_else(refuse)?;
    let literal = rest.trim().strip_prefix('"').ok_or_else(refuse)?;
    let mut site = String::new();
    let mut chars = literal.chars();
    loop {
        match chars.next() {
            None => return Err(refuse()),
            Some('\\') => match chars.next() {
                Some(c @ ('"' | '\\')) => site.push(c),
                _ => return Err(refuse()),
            },
            Some('"') => break,
            Some(c) => site.push(c),
        }
    }
    if chars.as_str().trim().is_empty() && !site.is_empty() {
        Ok(site)
    } else {
        Err(refuse())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_filters_are_read_strictly_with_escapes() {
        assert_eq!(
            parse_sites_filter(r#"Site.Reference = "UK-DC""#).unwrap(),
            "UK-DC"
        );
        assert_eq!(
            parse_sites_filter(r#"Site.Reference="A\" OR Site.Reference = \"B\\""#).unwrap(),
            r#"A" OR Site.Reference = "B\"#
        );
        for bad in [
            r#"site == "UK-DC""#,
            r#"Site.Reference == "UK-DC""#,
            r#"Site.Reference = "A" OR Site.Reference = "B""#,
            r#"Site.Reference = UK"#,
            r#"Site.Reference = "A"#,
            r#"Site.Reference = """#,
            "",
        ] {
            assert!(parse_sites_filter(bad).is_err(), "{bad}");
        }
    }

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
