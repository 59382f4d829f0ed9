//! The benchmark report: one row per figure with its target and how far it is from it (a gap is
//! reported, never asserted), rendered as a table for people and kept in the JSON, with the
//! machine it was measured on.

use comfy_table::{Table, presets};
use serde_json::{Value, json};

/// What a figure is compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// At most this much.
    AtMost(f64),
    /// At least this much.
    AtLeast(f64),
    /// No target: reported for information.
    None,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What is measured.
    pub figure: String,
    /// The measurement (`None`: not measured, see `detail`).
    pub measured: Option<f64>,
    /// Its unit, as printed after numbers.
    pub unit: &'static str,
    /// Context printed after the measurement (or why it is missing).
    pub detail: String,
    /// The target.
    pub target: Target,
}

impl Row {
    /// A measured figure.
    pub fn new(figure: impl Into<String>, measured: Option<f64>, unit: &'static str) -> Self {
        Self {
            figure: figure.into(),
            measured,
            unit,
            detail: String::new(),
            target: Target::None,
        }
    }

    /// With a target.
    pub fn target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    /// With context.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// Whether the target is met (`None`: no target, or nothing measured).
    pub fn met(&self) -> Option<bool> {
        let m = self.measured?;
        match self.target {
            Target::AtMost(t) => Some(m <= t),
            Target::AtLeast(t) => Some(m >= t),
            Target::None => None,
        }
    }

    /// The gap to the target, in words: how much headroom, or by how much it is missed.
    pub fn verdict(&self) -> String {
        let Some(m) = self.measured else {
            return "not measured".into();
        };
        let (t, over) = match self.target {
            Target::AtMost(t) => (t, m - t),
            Target::AtLeast(t) => (t, t - m),
            Target::None => return "—".into(),
        };
        let pct = if t == 0.0 {
            0.0
        } else {
            over.abs() / t * 100.0
        };
        if over <= 0.0 {
            format!("met, {pct:.0}% headroom")
        } else {
            format!("MISSED by {} ({pct:.0}%)", self.amount(over))
        }
    }

    /// The measurement as printed.
    pub fn measured_text(&self) -> String {
        let value = match self.measured {
            Some(m) => self.amount(m),
            None => String::new(),
        };
        match (value.is_empty(), self.detail.is_empty()) {
            (_, true) => value,
            (true, false) => self.detail.clone(),
            (false, false) => format!("{value} ({})", self.detail),
        }
    }

    /// The target as printed.
    pub fn target_text(&self) -> String {
        match self.target {
            Target::AtMost(t) => format!("≤ {}", self.amount(t)),
            Target::AtLeast(t) => format!("≥ {}", self.amount(t)),
            Target::None => "—".into(),
        }
    }

    /// A number in the row's unit.
    fn amount(&self, v: f64) -> String {
        if self.unit.is_empty() {
            number(v)
        } else {
            format!("{} {}", number(v), self.unit)
        }
    }

    /// The row in the JSON report.
    pub fn to_json(&self) -> Value {
        let (kind, value) = match self.target {
            Target::AtMost(t) => ("at_most", Some(t)),
            Target::AtLeast(t) => ("at_least", Some(t)),
            Target::None => ("none", None),
        };
        json!({
            "figure": self.figure,
            "measured": self.measured,
            "unit": self.unit,
            "detail": self.detail,
            "target": {"kind": kind, "value": value},
            "met": self.met(),
            "verdict": self.verdict(),
        })
    }
}

/// A number as people read it: thousands separated, few decimals.
pub fn number(v: f64) -> String {
    let decimals = match v.abs() {
        a if a >= 100.0 => 0,
        a if a >= 10.0 => 1,
        a if a >= 1.0 => 2,
        _ => 3,
    };
    let text = format!("{:.*}", decimals, v.abs());
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), ""), |(i, f)| (i, f));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if v < 0.0 { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// The table of `rows`, headed by the machine.
pub fn render(rows: &[Row], machine: &Value) -> String {
    let mut table = Table::new();
    table.load_style(presets::ASCII_MARKDOWN).set_header([
        "figure",
        "measured",
        "target",
        "gap / verdict",
    ]);
    for row in rows {
        table.add_row([
            row.figure.clone(),
            row.measured_text(),
            row.target_text(),
            row.verdict(),
        ]);
    }
    format!(
        "ctpvx bench — {} ({} cores), load {} at start, {}\n\n{table}\n",
        machine["cpu"].as_str().unwrap_or("unknown CPU"),
        machine["cores"],
        machine["load_average"].as_str().unwrap_or("?"),
        machine["date"].as_str().unwrap_or("?"),
    )
}

/// The machine the figures were measured on.
pub fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, name)| name.trim().to_string());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .ok();
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "load_average": load,
        "arch": std::env::consts::ARCH,
        "os": std::env::consts::OS,
        "date": date,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_report_the_gap_both_ways() {
        let fast = Row::new("p99", Some(40.0), "ms").target(Target::AtMost(100.0));
        assert_eq!(fast.met(), Some(true));
        assert_eq!(fast.verdict(), "met, 60% headroom");
        let slow = Row::new("p99", Some(150.0), "ms").target(Target::AtMost(100.0));
        assert_eq!(slow.met(), Some(false));
        assert_eq!(slow.verdict(), "MISSED by 50.0 ms (50%)");
        let short = Row::new("orders/h", Some(80_000.0), "").target(Target::AtLeast(100_000.0));
        assert_eq!(short.verdict(), "MISSED by 20,000 (20%)");
        let plenty = Row::new("orders/h", Some(179_089.0), "").target(Target::AtLeast(100_000.0));
        assert_eq!(plenty.verdict(), "met, 79% headroom");
        let exact = Row::new("x", Some(1.0), "ms").target(Target::AtMost(1.0));
        assert_eq!(exact.met(), Some(true));
        let info = Row::new("events/s", Some(5.0), "/s");
        assert_eq!((info.met(), info.verdict()), (None, "—".to_string()));
        let missing = Row::new("size", None, "MB")
            .target(Target::AtMost(10.0))
            .detail("skipped: no moto");
        assert_eq!(missing.met(), None);
        assert_eq!(missing.verdict(), "not measured");
        assert_eq!(missing.measured_text(), "skipped: no moto");
    }

    #[test]
    fn numbers_are_grouped_and_rounded() {
        assert_eq!(number(179_089.4), "179,089");
        assert_eq!(number(1_234_567.0), "1,234,567");
        assert_eq!(number(999.0), "999");
        assert_eq!(number(21.34), "21.3");
        assert_eq!(number(1.016), "1.02");
        assert_eq!(number(0.1234), "0.123");
        assert_eq!(number(-2500.0), "-2,500");
    }

    #[test]
    fn the_table_has_one_line_per_row_under_the_machine() {
        let rows = [
            Row::new("CPU per event, stock-delta", Some(111.0), "µs")
                .target(Target::AtMost(1000.0))
                .detail("6,121 events/s"),
            Row::new("binary size, webhooks", Some(12.5), "MB").target(Target::AtMost(10.0)),
        ];
        let machine = json!({"cpu": "AMD EPYC", "cores": 2, "load_average": "1.0 1.0 1.0", "date": "2026-11-30T00:00:00Z"});
        let text = render(&rows, &machine);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("ctpvx bench — AMD EPYC (2 cores)"),
            "{text}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("figure") && l.contains("gap / verdict"))
        );
        let stock = lines
            .iter()
            .find(|l| l.contains("stock-delta"))
            .expect("stock row");
        assert!(stock.contains("111 µs (6,121 events/s)") && stock.contains("≤ 1,000 µs"));
        assert!(stock.contains("met, 89% headroom"));
        let size = lines
            .iter()
            .find(|l| l.contains("webhooks"))
            .expect("size row");
        assert!(size.contains("MISSED by 2.50 MB (25%)"), "{size}");
        let json = rows[1].to_json();
        assert_eq!(json["met"], json!(false));
        assert_eq!(json["target"], json!({"kind": "at_most", "value": 10.0}));
    }
}
