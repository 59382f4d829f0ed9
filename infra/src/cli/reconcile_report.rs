//! The drift report as an operator reads it: a table on the terminal, and the `--report`
//! file as CSV (every row, for a spreadsheet) or Markdown (the summary and every row, for a
//! ticket). The format follows the file's extension.

use std::fmt::Write as _;

use anyhow::{Context, bail};
use ctpvx_shared::flows::nightly_reconcile::DriftReport;

use super::reconcile_watch::Collected;

/// The report file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.csv`
    Csv,
    /// `.md`
    Markdown,
}

impl Format {
    /// The format a file name asks for.
    pub fn of(path: &std::path::Path) -> anyhow::Result<Self> {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => Ok(Self::Csv),
            Some(e) if e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("markdown") => {
                Ok(Self::Markdown)
            }
            _ => bail!("--report {}: name a .csv or .md file", path.display()),
        }
    }
}

/// The summary table printed after a run.
pub fn table(report: &DriftReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", report.summary());
    let _ = writeln!(
        out,
        "{:<16} {:>7} {:>9} {:>9} {:>11} {:>8} {:>8} {:>7} {:>9} {:>9}",
        "site",
        "pages",
        "entries",
        "drift",
        "units off",
        "updated",
        "left",
        "failed",
        "pvx only",
        "ct only"
    );
    for (site, s) in &report.stock {
        let _ = writeln!(
            out,
            "{:<16} {:>7} {:>9} {:>9} {:>11} {:>8} {:>8} {:>7} {:>9} {:>9}",
            site,
            s.pages,
            s.entries,
            s.differences,
            s.units_off,
            s.updated,
            s.remaining(),
            s.failed,
            s.only_in_peoplevox,
            s.only_in_commercetools
        );
    }
    let _ = writeln!(
        out,
        "orders: {} unexported, {} re-queued, {} held for unknown items",
        report.orders.unexported, report.orders.requeued, report.orders.held_for_items
    );
    let _ = writeln!(
        out,
        "despatches: {} read, {} delivered, {} re-queued, {} re-read for tracking, {} of unknown orders",
        report.despatches.despatches,
        report.despatches.delivered,
        report.despatches.requeued,
        report.despatches.untracked,
        report.despatches.unknown_orders
    );
    let t = &report.tracking;
    let _ = writeln!(
        out,
        "late tracking: {} orders, {} deliveries without tracking ({} left to the despatch sweep, {} unnamed), {} re-read in Peoplevox, {} re-queued, {} unchanged, {} not in Peoplevox",
        t.orders,
        t.untracked,
        t.left_to_despatch_sweep,
        t.unnamed,
        t.checked,
        t.requeued,
        t.unchanged,
        t.not_in_peoplevox
    );
    let _ = writeln!(
        out,
        "statuses: {} orders, {} checked in Peoplevox, {} statuses re-queued, {} cancellations re-queued, {} returns re-queued, {} not in Peoplevox, {} unmapped",
        report.statuses.orders,
        report.statuses.checked,
        report.statuses.statuses_requeued,
        report.statuses.cancellations_requeued,
        report.statuses.returns_requeued,
        report.statuses.not_in_peoplevox,
        report.statuses.unmapped
    );
    for reason in &report.failures {
        let _ = writeln!(out, "failed: {reason}");
    }
    out
}

const HEADER: [&str; 10] = [
    "kind",
    "site",
    "item",
    "sku",
    "commercetools",
    "target",
    "delta",
    "available",
    "pending",
    "resolution",
];

/// Every row: differences first (largest first), then one-sided items and re-queues.
fn rows(collected: &Collected) -> Vec<[String; 10]> {
    let mut differences: Vec<_> = collected.differences.iter().collect();
    differences.sort_by(|a, b| {
        b.delta
            .abs()
            .cmp(&a.delta.abs())
            .then_with(|| a.difference.site.cmp(&b.difference.site))
            .then_with(|| a.difference.sku.cmp(&b.difference.sku))
    });
    let mut out: Vec<[String; 10]> = differences
        .into_iter()
        .map(|d| {
            let x = &d.difference;
            [
                "difference".into(),
                x.site.clone(),
                x.item.clone(),
                x.sku.clone(),
                x.current.to_string(),
                x.target.to_string(),
                d.delta.to_string(),
                x.available.to_string(),
                x.pending.to_string(),
                d.resolution.clone(),
            ]
        })
        .collect();
    for note in &collected.notes {
        let (item, sku) = if note.kind == "only-in-commercetools" {
            (String::new(), note.id.clone())
        } else {
            (note.id.clone(), String::new())
        };
        out.push([
            note.kind.clone(),
            note.site.clone(),
            item,
            sku,
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    out
}

/// The report file's content.
pub fn render(
    report: &DriftReport,
    collected: &Collected,
    format: Format,
) -> anyhow::Result<String> {
    match format {
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(HEADER)?;
            for row in rows(collected) {
                writer.write_record(&row)?;
            }
            let bytes = writer.into_inner().context("writing CSV")?;
            Ok(String::from_utf8(bytes)?)
        }
        Format::Markdown => {
            let mut out = String::new();
            let _ = writeln!(out, "# ctpvx reconcile {}\n", report.run);
            let _ = writeln!(out, "{}\n", report.summary());
            let _ = writeln!(out, "```\n{}```\n", table(report));
            let _ = writeln!(out, "| {} |", HEADER.join(" | "));
            let _ = writeln!(out, "|{}", "---|".repeat(HEADER.len()));
            for row in rows(collected) {
                let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::reconcile_watch::Note;
    use ctpvx_shared::flows::nightly_reconcile::report::Drift;
    use ctpvx_shared::flows::stock_delta::{Difference, Resolution};

    fn collected() -> Collected {
        let difference = |sku: &str, current, target| {
            Drift::new(
                &Difference {
                    site: "UK-DC".into(),
                    item: sku.into(),
                    sku: sku.into(),
                    current,
                    target,
                    available: target,
                    pending: 0,
                },
                Resolution::Updated,
            )
        };
        Collected {
            differences: vec![difference("A", 1, 2), difference("B|x", 9, 1)],
            notes: vec![Note {
                kind: "only-in-commercetools".into(),
                site: "UK-DC".into(),
                id: "Z".into(),
            }],
        }
    }

    #[test]
    fn csv_has_every_row_largest_first() {
        let csv = render(&DriftReport::default(), &collected(), Format::Csv).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], HEADER.join(","));
        assert_eq!(lines[1], "difference,UK-DC,B|x,B|x,9,1,-8,1,0,updated");
        assert_eq!(lines[2], "difference,UK-DC,A,A,1,2,1,2,0,updated");
        assert_eq!(lines[3], "only-in-commercetools,UK-DC,,Z,,,,,,");
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn markdown_escapes_pipes_and_keeps_every_row() {
        let md = render(&DriftReport::default(), &collected(), Format::Markdown).unwrap();
        assert!(
            md.contains("| difference | UK-DC | B\\|x | B\\|x | 9 | 1 | -8 |"),
            "{md}"
        );
        assert_eq!(md.matches("\n| difference").count(), 2);
        assert!(md.contains("| only-in-commercetools | UK-DC |  | Z |"));
    }

    #[test]
    fn the_extension_picks_the_format() {
        use std::path::Path;
        assert_eq!(Format::of(Path::new("r.CSV")).unwrap(), Format::Csv);
        assert_eq!(Format::of(Path::new("r.md")).unwrap(), Format::Markdown);
        assert!(Format::of(Path::new("r.txt")).is_err());
    }
}
