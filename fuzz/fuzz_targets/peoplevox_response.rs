//! Peoplevox answers and the CSV they carry.
//!
//! Input: the body of an HTTP answer from `integrationservicev4.asmx`, as the client reads it
//! (lossy UTF-8): a SOAP envelope with an `<Op>Response`, a SOAP fault, an HTML error page, or
//! anything else. The same bytes also go, as they are, to the CSV table parser (`Detail` holds
//! CSV) and, as a CSV value, into a `SaveData` request envelope.
//!
//! Checks, besides "never panics":
//! - a table read from CSV writes back (`to_csv`) to CSV that reads as the same table;
//! - the request envelope writer either refuses a value (only for characters XML 1.0 cannot
//!   carry) or writes XML from which the value reads back unchanged (no injection, no loss).

#![no_main]

use ctpvx_shared::domain::despatch::parse_report_date;
use ctpvx_shared::peoplevox::envelope::{self, Credentials};
use ctpvx_shared::peoplevox::{CsvTable, Operation, SaveAction, response};
use libfuzzer_sys::fuzz_target;
use quick_xml::Reader;
use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::Event;

const OPERATIONS: [Operation; 8] = [
    Operation::Authenticate,
    Operation::GetData,
    Operation::GetReportData,
    Operation::GetSaveTemplate,
    Operation::SaveData,
    Operation::SubscribeEvent,
    Operation::SubscribePostEvent,
    Operation::UnsubscribeEvent,
];

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);

    // The answer parser, for the operations the body names (the others stop at the element
    // name check), and always for GetReportData.
    for op in OPERATIONS {
        if op != Operation::GetReportData && !body.contains(op.name()) {
            continue;
        }
        if let Ok(answer) = response::parse(op, &body) {
            let _ = answer.is_session_error();
            let _ = format!("{answer:?}");
            // What GetData / GetReportData do with Detail.
            if let Ok(table) = CsvTable::parse(&answer.detail) {
                check_table(&table);
            }
        }
    }
    let _ = response::parse_fault(&body);
    let _ = response::summarize(&body);

    // The CSV parser on the raw bytes.
    if let Ok(table) = CsvTable::parse(&body) {
        check_table(&table);
    }

    // The request writer, with the bytes as CSV data.
    check_envelope(&body);
});

/// A parsed table survives `to_csv` and a second parse; its cells go through the report
/// date parser (despatch reports carry dates as text).
fn check_table(table: &CsvTable) {
    for row in &table.rows {
        assert_eq!(row.len(), table.headers.len(), "ragged row");
        for cell in row {
            let _ = parse_report_date(cell);
        }
    }
    // The empty table (empty text) has no CSV form; nothing writes one back. A first header
    // that starts with a byte order mark (quoted, or after blanks that header trimming removed)
    // loses it when an unquoted write is read again: the CSV reader drops a BOM that starts
    // the text. That is the reader's rule, not a loss in the table code.
    if table.headers.is_empty() || table.headers[0].starts_with('\u{feff}') {
        return;
    }
    let csv = table.to_csv();
    let again = CsvTable::parse(&csv).expect("to_csv output parses");
    assert_eq!(
        &again, table,
        "CSV round trip changed the table; csv={csv:?}"
    );
}

/// XML 1.0 cannot carry these, not even as character references.
fn xml_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

fn check_envelope(csv: &str) {
    let creds = Credentials {
        client_id: "acme",
        session_id: "S-1",
    };
    match envelope::save_data(creds, "Sales orders", csv, SaveAction::Upsert) {
        Ok(env) => {
            assert!(
                !csv.chars().any(xml_forbidden),
                "a forbidden character was written"
            );
            let read = element_text(&env.body, "CsvData").expect("the envelope is well-formed XML");
            assert_eq!(read, csv, "CsvData does not read back as written");
        }
        Err(e) => assert!(
            csv.chars().any(xml_forbidden),
            "refused a value XML can carry: {e}"
        ),
    }
}

/// The text of the first element named `name`, as a conforming XML reader sees it.
fn element_text(xml: &str, name: &str) -> Result<String, String> {
    let mut reader = Reader::from_str(xml);
    let mut depth_in: Option<usize> = None;
    let mut depth = 0usize;
    let mut text = String::new();
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(s) => {
                depth += 1;
                if depth_in.is_none() && s.local_name().as_ref() == name {
                    depth_in = Some(depth);
                }
            }
            Event::End(_) => {
                if depth_in == Some(depth) {
                    return Ok(text);
                }
                depth = depth.checked_sub(1).ok_or("unbalanced")?;
            }
            Event::Empty(s) => {
                if depth_in.is_none() && s.local_name().as_ref() == name {
                    return Ok(String::new());
                }
            }
            Event::Text(t) if depth_in.is_some() => {
                text.push_str(&t.xml10_content());
            }
            Event::CData(d) if depth_in.is_some() => {
                text.push_str(&d.xml10_content());
            }
            Event::GeneralRef(r) if depth_in.is_some() => {
                match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => text.push(c),
                    None => text.push_str(resolve_xml_entity(&r).ok_or("unknown entity")?),
                }
            }
            Event::Eof => return Err(format!("no <{name}>")),
            _ => {}
        }
    }
}
