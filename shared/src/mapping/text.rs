//! Making free text safe for a Peoplevox CSV cell.
//!
//! The CSV writer quotes commas, quotes and line breaks correctly, but Peoplevox's handling of
//! line breaks inside values is unconfirmed, and its exports are opened in spreadsheets, where a
//! cell starting with `=`, `+`, `-` or `@` runs as a formula. So text from shoppers is flattened
//! to one line and such a leading character is neutralised with an apostrophe.

/// Flattens line breaks and tabs to spaces, trims, and neutralises a leading formula character.
pub fn clean_text(value: &str) -> String {
    neutralise(flatten(value))
}

/// Joins the non-empty flattened parts with `sep`; only the start of the whole cell matters
/// to a spreadsheet, so neutralising happens once, on the result.
pub fn join_parts<'a>(parts: impl IntoIterator<Item = Option<&'a str>>, sep: &str) -> String {
    let joined = parts
        .into_iter()
        .flatten()
        .map(flatten)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(sep);
    neutralise(joined)
}

/// Control characters to spaces, runs of spaces to one, trimmed.
pub(crate) fn flatten(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split(' ')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn neutralise(value: String) -> String {
    match value.chars().next() {
        // A phone number such as `+44 20 7946 0000` (digits, spaces and `()./-+` only) cannot
        // call anything in a spreadsheet, and an apostrophe would corrupt it for the carrier.
        Some('+' | '-')
            if value
                .chars()
                .all(|c| c.is_ascii_digit() || " ()./-+".contains(c)) =>
        {
            value
        }
        Some('=' | '+' | '-' | '@') => format!("'{value}"),
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_and_neutralises() {
        assert_eq!(clean_text(" 1 High St\r\nFlat 2\t "), "1 High St Flat 2");
        assert_eq!(clean_text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(clean_text("@cmd"), "'@cmd");
        assert_eq!(clean_text("-5 Main"), "'-5 Main");
        assert_eq!(clean_text("+44 (0)20 7946-0000"), "+44 (0)20 7946-0000");
        assert_eq!(clean_text("+1+cmd|' /C calc'!A0"), "'+1+cmd|' /C calc'!A0");
        assert_eq!(clean_text("-2+3"), "-2+3");
        assert_eq!(
            clean_text("Müller & Söhne, \"Ltd\" <b>"),
            "Müller & Söhne, \"Ltd\" <b>"
        );
    }

    #[test]
    fn joins_non_empty() {
        assert_eq!(
            join_parts([Some("1"), None, Some(" "), Some("High St")], " "),
            "1 High St"
        );
    }
}
