//! What the `ctpvx dlq` commands print, as text or JSON. Here rather than in the command so
//! that the tests read exactly what an operator reads (and that a listing never shows a body).

use ctpvx_shared::store::AuditEntry;
use serde_json::{Value, json};

use super::held::NotReleased;
use super::redrive::RedriveReport;
use super::{Listing, Shown, hold_for, printable};

/// `ctpvx dlq list`: a header, one line per message, then notes on what was not seen.
pub fn list_lines(listing: &Listing, limit: usize) -> String {
    let pair = &listing.pair;
    let mut out = format!(
        "{}: {} parked from {}\n",
        pair.dlq,
        messages(listing.messages.len()),
        pair.source
    );
    for m in &listing.messages {
        let e = m.entry(pair);
        out += &format!(
            "{}  source {}  {}  received {}x  {}  | {}\n",
            printable(&e.message_id),
            printable(&e.source_message_id),
            printable(e.flow.as_deref().unwrap_or("-")),
            e.receive_count,
            printable(&e.why),
            e.summary,
        );
    }
    if listing.limit_reached {
        out += &format!("stopped at the limit of {limit}: more may be parked (see --limit)\n");
    }
    if let Some(unseen) = listing.unseen {
        if unseen.visible > 0 {
            out += &format!("{} more visible, not read\n", messages_u64(unseen.visible));
        }
        if unseen.in_flight_elsewhere > 0 {
            out += &format!(
                "{} in flight elsewhere, not listed: another command holds them, or one that \
                 died (they reappear within {} s)\n",
                messages_u64(unseen.in_flight_elsewhere),
                hold_for(limit).as_secs()
            );
        }
    }
    out += &not_released_lines(&listing.not_released, limit);
    out
}

/// `ctpvx dlq list --json`: one document.
pub fn list_json(listing: &Listing) -> Value {
    let pair = &listing.pair;
    json!({
        "queue": pair.source,
        "dead_letter_queue": pair.dlq,
        "count": listing.messages.len(),
        "messages": listing.messages.iter().map(|m| m.entry(pair)).collect::<Vec<_>>(),
        "limit_reached": listing.limit_reached,
        "unseen": listing.unseen,
        "not_released": listing.not_released,
    })
}

/// `ctpvx dlq show`: the message in full, its attributes, its body and its audit entries.
pub fn show_lines(shown: &Shown, limit: usize) -> String {
    let (pair, m) = (&shown.pair, &shown.message);
    let mut out = format!(
        "message      {}\nqueue        {} (parked from {})\nsource id    {}\nflow         {}\n\
         received     {}x\nwhy          {}\nattributes\n",
        printable(&m.message_id),
        pair.dlq,
        pair.source,
        printable(&m.source_message_id),
        printable(m.flow.as_deref().unwrap_or("-")),
        m.receive_count,
        printable(&m.why(pair)),
    );
    if m.attributes.is_empty() {
        out += "  (none)\n";
    }
    for (k, v) in &m.attributes {
        out += &format!("  {} = {}\n", printable(k), printable(v));
    }
    out += &format!("body ({} bytes)\n{}\n", m.body.len(), body_text(&m.body));
    out += &format!("audit        {}\n", printable(&m.audit_entity()));
    if shown.audit.is_empty() {
        out += "  (none)\n";
    }
    for e in &shown.audit {
        out += &format!("  {}\n", audit_line(e));
    }
    out += &not_released_lines(&shown.not_released, limit);
    out
}

/// `ctpvx dlq show --json`.
pub fn show_json(shown: &Shown) -> Value {
    let (pair, m) = (&shown.pair, &shown.message);
    json!({
        "queue": pair.source,
        "dead_letter_queue": pair.dlq,
        "message": m.entry(pair),
        "attributes": m.attributes,
        "body": m.body,
        "audit_entity": m.audit_entity(),
        "audit": shown.audit,
        "not_released": shown.not_released,
    })
}

/// `ctpvx dlq redrive`: the count, each message, and anything that went wrong.
pub fn redrive_lines(report: &RedriveReport, limit: usize) -> String {
    let pair = &report.pair;
    let n = messages(report.redriven.len());
    let mut out = if report.dry_run {
        format!(
            "would redrive {n} from {} to {} (dry run: nothing sent)\n",
            pair.dlq, pair.source
        )
    } else {
        format!(
            "redrove {n} from {} to {} ({} left in {})\n",
            pair.dlq, pair.source, report.left, pair.dlq
        )
    };
    for r in &report.redriven {
        out += &format!(
            "  {} -> {}  {}\n",
            printable(&r.message_id),
            printable(r.new_message_id.as_deref().unwrap_or("(not sent)")),
            printable(r.flow.as_deref().unwrap_or("-")),
        );
    }
    if !report.failed.is_empty() {
        out += &format!("failed ({}):\n", report.failed.len());
    }
    for f in &report.failed {
        out += &format!(
            "  {}: {:?} failed: {}; {}\n",
            printable(&f.message_id),
            f.step,
            printable(&f.error),
            f.consequence
        );
    }
    if !report.not_found.is_empty() {
        let ids: Vec<String> = report.not_found.iter().map(|id| printable(id)).collect();
        out += &format!("not parked in {}: {}\n", pair.dlq, ids.join(", "));
    }
    if report.limit_reached {
        out += &format!("stopped at the limit of {limit}: more may be parked (see --limit)\n");
    }
    out += &not_released_lines(&report.not_released, limit);
    out
}

/// `ctpvx dlq redrive --json`.
pub fn redrive_json(report: &RedriveReport) -> Value {
    json!(report)
}

fn not_released_lines(not_released: &[NotReleased], limit: usize) -> String {
    let mut out = String::new();
    if !not_released.is_empty() {
        out += &format!(
            "{} not released (visible again within {} s):\n",
            messages(not_released.len()),
            hold_for(limit).as_secs()
        );
    }
    for n in not_released {
        out += &format!("  {}: {}\n", printable(&n.message_id), printable(&n.error));
    }
    out
}

fn messages(n: usize) -> String {
    if n == 1 {
        "1 message".into()
    } else {
        format!("{n} messages")
    }
}

fn messages_u64(n: u64) -> String {
    messages(usize::try_from(n).unwrap_or(usize::MAX))
}

/// The body exactly as parked (a reformatted one could hide what made it poison, e.g. a
/// duplicate key), with control characters other than line breaks and tabs escaped.
fn body_text(body: &str) -> String {
    body.split('\n')
        .map(|line| {
            line.split('\t')
                .map(printable)
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `2026-11-26T10:00:00.123Z  order-export  dead-lettered  <reason>  {detail}`.
fn audit_line(e: &AuditEntry) -> String {
    let at = crate::operator::timestamp(e.at_ms);
    let mut line = format!("{at}  {}  {}", printable(&e.flow), printable(&e.outcome));
    if let Some(reason) = &e.reason {
        line += &format!("  {}", printable(reason));
    }
    if !e.detail.is_null() {
        line += &format!("  {}", e.detail);
    }
    line
}
