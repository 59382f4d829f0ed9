//! SaveData: CSV against the tenant's template, upsert (or delete) per record, and one
//! `IntegrationStatusResponse` per record, so that one bad record never sinks its neighbours.

use std::collections::BTreeMap;

use super::cancellation::STATUS_CANCELLED;
use super::config::{ITEM_TYPES, PvxSimConfig, SALES_ORDER_ITEMS, SALES_ORDERS, SimTemplate};
use super::dialect::{SaveReferences, SaveStatuses};
use super::on_hold::ON_HOLD_FIELD;
use super::order_status::STATUS_FIELD;
use super::soap::{Answer, Status};
use super::state::{Data, SimItemType, SimOrderItem, SimSalesOrder};

/// Longest SalesOrderNumber Peoplevox takes (Zynk: string(30)).
const MAX_ORDER_NUMBER: usize = 30;
/// Status values an import may set (Zynk), plus the ones reports show.
const IMPORT_STATUSES: &[&str] = &["New", "Despatched", "Closed", STATUS_CANCELLED];

type Row = BTreeMap<String, String>;

/// Runs one SaveData request.
pub fn save_data(
    data: &mut Data,
    config: &PvxSimConfig,
    template_name: &str,
    csv_data: &str,
    action: i64,
) -> Answer {
    let Some(template) = config.template(template_name) else {
        return Answer::error(format!("Template '{template_name}' does not exist"));
    };
    if !(0..=2).contains(&action) {
        return Answer::error(format!("Invalid action {action}"));
    }
    let rows = match read_rows(template, csv_data) {
        Ok(rows) => rows,
        Err(message) => return Answer::error(message),
    };
    let delete = action == 2;
    let items = template.name.eq_ignore_ascii_case(SALES_ORDER_ITEMS);
    let mut statuses = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let (key, result) = if template.name.eq_ignore_ascii_case(SALES_ORDERS) {
            save_order(data, config, row, delete)
        } else if items {
            // Action 1 is "do not allocate" (melvin-hamilton-digital `Client.php`).
            save_order_item(data, row, delete, action == 0)
        } else if template.name.eq_ignore_ascii_case(ITEM_TYPES) {
            save_item_type(data, template, row, delete)
        } else {
            return Answer::error(format!(
                "Template '{}' cannot be imported by the simulator",
                template.name
            ));
        };
        if let Err(message) = &result {
            errors.push(format!("Record {} ({key}): {message}", i + 1));
        }
        let reference = match config.dialect.save_references {
            SaveReferences::OrderNumber => key,
            SaveReferences::RowKey if items => field(row, "ItemCode").to_string(),
            SaveReferences::RowKey => key,
            SaveReferences::RecordNumber => (i + 1).to_string(),
        };
        statuses.push(Status {
            reference,
            success: result.is_ok(),
        });
    }
    answer(statuses, errors, config.dialect.save_statuses)
}

/// The answer to a SaveData whose records fared as `statuses` say, in the dialect's way.
fn answer(statuses: Vec<Status>, errors: Vec<String>, listed: SaveStatuses) -> Answer {
    let saved = statuses.iter().filter(|s| s.success).count() as i64;
    let failed = !errors.is_empty();
    let (statuses, failed) = match listed {
        SaveStatuses::EveryRecord => (Some(statuses), failed),
        SaveStatuses::FailuresOnly => (
            Some(statuses.into_iter().filter(|s| !s.success).collect()),
            failed,
        ),
        // Nothing says which record failed, or that one did: only the count is short.
        SaveStatuses::CountOnly => (None, false),
    };
    Answer {
        response_id: if failed { -1 } else { 0 },
        total_count: saved,
        detail: failed.then(|| errors.join("; ")),
        statuses,
    }
}

/// Parses CsvData with its header row; every column must belong to the template.
fn read_rows(template: &SimTemplate, csv_data: &str) -> Result<Vec<Row>, String> {
    // Legacy clients prefix the CSV with a line break.
    let text = csv_data.trim_start_matches(['\r', '\n']);
    if text.trim().is_empty() {
        return Err("No data to import".into());
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("Invalid CSV data: {e}"))?
        .clone();
    let mut columns = Vec::with_capacity(headers.len());
    for header in headers.iter().map(str::trim) {
        let canonical = template.canonical(header).ok_or_else(|| {
            format!(
                "Column '{header}' is not a field of template '{}'",
                template.name
            )
        })?;
        if columns.contains(&canonical) {
            return Err(format!("Column '{header}' appears twice"));
        }
        columns.push(canonical);
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("Invalid CSV data at record {}: {e}", i + 1))?;
        rows.push(
            columns
                .iter()
                .zip(record.iter())
                .map(|(c, v)| ((*c).to_string(), v.to_string()))
                .collect(),
        );
    }
    Ok(rows)
}

fn field<'a>(row: &'a Row, name: &str) -> &'a str {
    row.get(name).map(|v| v.trim()).unwrap_or_default()
}

fn save_order(
    data: &mut Data,
    config: &PvxSimConfig,
    row: &Row,
    delete: bool,
) -> (String, Result<(), String>) {
    let number = field(row, "SalesOrderNumber").to_string();
    let result = (|| {
        if number.is_empty() {
            return Err("SalesOrderNumber is required".to_string());
        }
        if number.chars().count() > MAX_ORDER_NUMBER {
            return Err(format!(
                "SalesOrderNumber is longer than {MAX_ORDER_NUMBER} characters"
            ));
        }
        if delete {
            return match data.orders.remove(&number) {
                Some(_) => {
                    data.release_order(&number);
                    Ok(())
                }
                None => Err(format!("Sales order '{number}' does not exist")),
            };
        }
        let status = match field(row, STATUS_FIELD) {
            "" => None,
            status => Some(
                IMPORT_STATUSES
                    .iter()
                    .copied()
                    .find(|s| s.eq_ignore_ascii_case(status))
                    .ok_or_else(|| format!("Status '{status}' is not valid"))?,
            ),
        };
        // A row of nothing but the number and a status changes an order's status; it does
        // not import the order again (what the duplicate-order check counts).
        let status_only = data.orders.contains_key(&number)
            && row
                .keys()
                .all(|k| k == "SalesOrderNumber" || k == STATUS_FIELD);
        if data.orders.contains_key(&number) {
            update_order(data, &number, row, status)?;
        } else {
            let mut fields = row.clone();
            if let Some(status) = status {
                fields.insert(STATUS_FIELD.to_string(), status.to_string());
            }
            let site = match field(row, "Site") {
                "" => config.default_site.clone(),
                site => site.to_string(),
            };
            data.orders.insert(
                number.clone(),
                SimSalesOrder {
                    number: number.clone(),
                    site,
                    fields,
                    items: Vec::new(),
                },
            );
        }
        if !status_only {
            *data.header_imports.entry(number.clone()).or_default() += 1;
        }
        Ok(())
    })();
    (number, result)
}

/// Re-imports the header of an order the warehouse holds. A status change goes through
/// [`Data::set_order_status`] so subscribers hear of it like of any other; `Cancelled` is
/// a cancellation, refused (and the whole row left unmerged) once the warehouse started on
/// the order. A blank or unchanged status (compared case-insensitively) keeps the current
/// one, so cancelling a cancelled order succeeds and changes no status, stock or event (the
/// row's other fields are merged as in any re-import).
fn update_order(
    data: &mut Data,
    number: &str,
    row: &Row,
    status: Option<&str>,
) -> Result<(), String> {
    let current = data
        .orders
        .get(number)
        .and_then(|o| o.fields.get(STATUS_FIELD))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let status = status.filter(|s| !s.eq_ignore_ascii_case(&current));
    let cancel = status == Some(STATUS_CANCELLED);
    if cancel && let Err(message) = data.check_cancellable(number) {
        data.cancellations_refused += 1;
        return Err(message);
    }
    let order = data
        .orders
        .get_mut(number)
        .ok_or_else(|| format!("Sales order '{number}' does not exist"))?;
    // A blank hold flag keeps the order's (as a blank status keeps its status): an importer
    // that does not set it must not release a hold.
    order.fields.extend(
        row.iter()
            .filter(|(k, v)| {
                k.as_str() != STATUS_FIELD && !(k.as_str() == ON_HOLD_FIELD && v.trim().is_empty())
            })
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    let site = field(row, "Site");
    if !site.is_empty() {
        order.site = site.to_string();
    }
    match status {
        Some(_) if cancel => {
            data.cancel_order(number);
        }
        Some(status) => {
            data.set_order_status(number, status);
        }
        None => {}
    }
    Ok(())
}

fn save_order_item(
    data: &mut Data,
    row: &Row,
    delete: bool,
    allocate: bool,
) -> (String, Result<(), String>) {
    let number = field(row, "SalesOrderNumber").to_string();
    let result = (|| {
        if number.is_empty() {
            return Err("SalesOrderNumber is required".to_string());
        }
        let code = field(row, "ItemCode");
        let line = match field(row, "Line") {
            "" => code,
            line => line,
        }
        .to_string();
        if !data.orders.contains_key(&number) {
            return Err(format!("Sales order '{number}' does not exist"));
        }
        if delete {
            let order = data.orders.get_mut(&number).ok_or("vanished")?;
            let before = order.items.len();
            order.items.retain(|i| i.line != line);
            return if order.items.len() < before {
                data.release_line(&number, &line);
                Ok(())
            } else {
                Err(format!("Line '{line}' does not exist"))
            };
        }
        if code.is_empty() {
            return Err("ItemCode is required".to_string());
        }
        if !data.item_types.contains_key(code) {
            return Err(format!("Item code '{code}' does not exist"));
        }
        let quantity = field(row, "QuantityOrdered");
        if !quantity.parse::<f64>().is_ok_and(|q| q > 0.0) {
            return Err(format!(
                "QuantityOrdered '{quantity}' is not a positive number"
            ));
        }
        let item = SimOrderItem {
            line: line.clone(),
            item_code: code.to_string(),
            quantity: quantity.to_string(),
            fields: row.clone(),
        };
        let order = data.orders.get_mut(&number).ok_or("vanished")?;
        let site = order.site.clone();
        // Re-importing edits a line; lines are never removed by an upsert (Zynk).
        match order.items.iter_mut().find(|i| i.line == line) {
            Some(existing) => {
                existing.item_code = item.item_code;
                existing.quantity = item.quantity;
                existing.fields.extend(item.fields);
            }
            None => order.items.push(item),
        }
        // The warehouse allocates a line when it first sees it; allocate_line skips lines
        // that already hold an allocation, so a re-import never allocates twice.
        if allocate {
            data.allocate_line(&number, &line, &site, code, quantity);
        }
        Ok(())
    })();
    (number, result)
}

fn save_item_type(
    data: &mut Data,
    template: &SimTemplate,
    row: &Row,
    delete: bool,
) -> (String, Result<(), String>) {
    let code = field(row, "ItemCode").to_string();
    let result = (|| {
        if code.is_empty() {
            return Err("ItemCode is required".to_string());
        }
        if delete {
            return match data.item_types.remove(&code) {
                Some(_) => Ok(()),
                None => Err(format!("Item code '{code}' does not exist")),
            };
        }
        let has_barcode_field = template.fields.iter().any(|f| f.canonical == "Barcode");
        let existing_barcode = data
            .item_types
            .get(&code)
            .is_some_and(|i| !field(&i.fields, "Barcode").is_empty());
        if has_barcode_field && field(row, "Barcode").is_empty() && !existing_barcode {
            return Err("Barcode is required".to_string());
        }
        let item = data
            .item_types
            .entry(code.clone())
            .or_insert_with(|| SimItemType {
                code: code.clone(),
                fields: BTreeMap::new(),
            });
        item.fields
            .extend(row.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(())
    })();
    (code, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(lines: &[&str]) -> String {
        lines.join("\r\n")
    }

    /// Saves headers A and B, then item rows of which two are refused, in `dialect`; returns
    /// the items answer and the data.
    fn save_with_a_refused_line(dialect: super::super::Dialect) -> (Answer, Data) {
        let config = PvxSimConfig {
            dialect,
            ..PvxSimConfig::default()
        };
        let mut data = Data::default();
        data.item_types.insert(
            "SKU-1".into(),
            SimItemType {
                code: "SKU-1".into(),
                fields: BTreeMap::new(),
            },
        );
        let orders = save_data(
            &mut data,
            &config,
            "Sales orders",
            &csv(&["SalesOrderNumber,Email", "A,a@x", ",b@x", "B,c@x"]),
            0,
        );
        assert_eq!(orders.total_count, 2);
        let items = save_data(
            &mut data,
            &config,
            "Sales order items",
            &csv(&[
                "SalesOrderNumber,ItemCode,QuantityOrdered,Line",
                "A,SKU-1,1,1",
                "A,NOPE,1,2",
                "C,SKU-1,1,1",
                "B,SKU-1,2,1",
            ]),
            0,
        );
        assert_eq!(items.total_count, 2);
        (items, data)
    }

    fn named(answer: &Answer) -> Vec<(&str, bool)> {
        answer
            .statuses
            .iter()
            .flatten()
            .map(|s| (s.reference.as_str(), s.success))
            .collect()
    }

    #[test]
    fn statuses_are_per_record_named_as_the_dialect_names_them() {
        use super::super::dialect::{BARE, STRICT, WSDL_2017};
        let (answer, data) = save_with_a_refused_line(WSDL_2017);
        assert_eq!(answer.response_id, -1);
        assert_eq!(
            named(&answer),
            vec![("A", true), ("A", false), ("C", false), ("B", true)]
        );
        assert_eq!(data.orders["A"].items.len(), 1);
        assert_eq!(data.header_imports["A"], 1);
        // An item row named by its item code, which rows of several orders carry.
        let (answer, _) = save_with_a_refused_line(STRICT);
        assert_eq!(
            named(&answer),
            vec![
                ("SKU-1", true),
                ("NOPE", false),
                ("SKU-1", false),
                ("SKU-1", true)
            ]
        );
        // Record numbers, failures only.
        let numbered = super::super::Dialect {
            save_references: SaveReferences::RecordNumber,
            save_statuses: SaveStatuses::FailuresOnly,
            ..STRICT
        };
        let (answer, _) = save_with_a_refused_line(numbered);
        assert_eq!(
            (answer.response_id, named(&answer)),
            (-1, vec![("2", false), ("3", false)])
        );
        assert!(
            answer
                .detail
                .unwrap()
                .contains("Record 2 (A): Item code 'NOPE'")
        );
        // A count only: nothing says two records were refused but TotalCount.
        let (answer, _) = save_with_a_refused_line(BARE);
        assert_eq!((answer.response_id, answer.statuses.is_none()), (0, true));
        assert!(answer.detail.is_none());
    }

    #[test]
    fn new_lines_allocate_at_the_order_site_unless_told_not_to() {
        let config = PvxSimConfig::default();
        let mut data = Data::default();
        data.item_types.insert(
            "SKU-1".into(),
            SimItemType {
                code: "SKU-1".into(),
                fields: BTreeMap::new(),
            },
        );
        data.set_stock("UK", "SKU-1", 4, 4);
        let header = csv(&["SalesOrderNumber,Site", "A,UK", "B,UK"]);
        save_data(&mut data, &config, "Sales orders", &header, 0);
        let lines = |order: &str| {
            csv(&[
                "SalesOrderNumber,ItemCode,QuantityOrdered,Line",
                &format!("{order},SKU-1,3,1"),
            ])
        };
        save_data(&mut data, &config, "Sales order items", &lines("A"), 1);
        assert_eq!(data.allocated_for("A"), 0, "Action 1 does not allocate");
        save_data(&mut data, &config, "Sales order items", &lines("B"), 0);
        save_data(&mut data, &config, "Sales order items", &lines("B"), 0);
        assert_eq!(data.allocated_for("B"), 3);
        assert_eq!(data.position("UK", "SKU-1").available, 1);
        save_data(&mut data, &config, "Sales order items", &lines("A"), 0);
        assert_eq!(data.allocated_for("A"), 1);
        assert_eq!(data.shortfalls[&("UK".to_string(), "SKU-1".to_string())], 2);

        let delete = csv(&["SalesOrderNumber", "B"]);
        save_data(&mut data, &config, "Sales orders", &delete, 2);
        assert_eq!(
            data.position("UK", "SKU-1").available,
            3,
            "a deleted order frees stock"
        );
    }

    #[test]
    fn unknown_columns_reject_the_whole_call() {
        let config = PvxSimConfig::default();
        let mut data = Data::default();
        let answer = save_data(
            &mut data,
            &config,
            "Sales orders",
            &csv(&["SalesOrderNumber,Bogus", "A,x"]),
            0,
        );
        assert_eq!(answer.response_id, -1);
        assert!(answer.statuses.is_none());
        assert!(answer.detail.unwrap().contains("Column 'Bogus'"));
        assert!(data.orders.is_empty());
    }

    /// Orders A (New) and B, each holding 1 unit of SKU-1 at UK; events taken.
    fn two_orders() -> Data {
        let config = PvxSimConfig::default();
        let mut data = Data::default();
        data.item_types.insert(
            "SKU-1".into(),
            SimItemType {
                code: "SKU-1".into(),
                fields: BTreeMap::new(),
            },
        );
        data.set_stock("UK", "SKU-1", 4, 4);
        let header = csv(&["SalesOrderNumber,Site,Status", "A,UK,new", "B,UK,"]);
        save_data(&mut data, &config, "Sales orders", &header, 0);
        let lines = csv(&[
            "SalesOrderNumber,ItemCode,QuantityOrdered,Line",
            "A,SKU-1,1,1",
            "B,SKU-1,1,1",
        ]);
        save_data(&mut data, &config, "Sales order items", &lines, 0);
        data.take_events();
        data
    }

    #[test]
    fn a_cancellation_before_picking_frees_the_stock_and_is_announced() {
        let config = PvxSimConfig::default();
        let mut data = two_orders();
        assert_eq!(data.orders["A"].fields[STATUS_FIELD], "New", "canonical");
        let cancel = csv(&[
            "SalesOrderNumber,Status,Email",
            "A,CANCELLED,a@x",
            "B,Cancelled,b@x",
        ]);
        let answer = save_data(&mut data, &config, "Sales orders", &cancel, 0);
        assert_eq!((answer.response_id, answer.total_count), (0, 2));
        for order in ["A", "B"] {
            assert_eq!(data.orders[order].fields[STATUS_FIELD], STATUS_CANCELLED);
            assert_eq!(data.allocated_for(order), 0);
        }
        assert_eq!(data.orders["A"].fields["Email"], "a@x");
        assert_eq!(data.position("UK", "SKU-1").available, 4);
        assert_eq!(
            data.take_event_types(),
            vec![
                "SalesOrderStatusChanges",
                "AvailabilityChanges",
                "SalesOrderStatusChanges",
                "AvailabilityChanges"
            ]
        );

        let again = csv(&["SalesOrderNumber,Status", "A,cancelled"]);
        let answer = save_data(&mut data, &config, "Sales orders", &again, 0);
        assert_eq!((answer.response_id, answer.total_count), (0, 1));
        assert!(data.take_events().is_empty(), "nothing changed");
        assert_eq!(data.cancellations_refused, 0);
    }

    #[test]
    fn a_cancellation_after_picking_started_fails_that_record_only() {
        let config = PvxSimConfig::default();
        let mut data = two_orders();
        data.set_order_status("B", "Picking");
        data.take_events();
        let cancel = csv(&[
            "SalesOrderNumber,Status,Email",
            "A,Cancelled,a@x",
            "B,Cancelled,b@x",
        ]);
        let answer = save_data(&mut data, &config, "Sales orders", &cancel, 0);
        assert_eq!((answer.response_id, answer.total_count), (-1, 1));
        let statuses = answer.statuses.unwrap();
        assert_eq!(
            statuses
                .iter()
                .map(|s| (s.reference.as_str(), s.success))
                .collect::<Vec<_>>(),
            vec![("A", true), ("B", false)]
        );
        let detail = answer.detail.unwrap();
        assert!(
            detail.contains(
                "Record 2 (B): Sales order 'B' cannot be cancelled: its status is 'Picking'"
            ),
            "{detail}"
        );
        assert_eq!(data.orders["B"].fields[STATUS_FIELD], "Picking");
        assert!(
            !data.orders["B"].fields.contains_key("Email"),
            "row not merged"
        );
        assert_eq!(data.allocated_for("B"), 1);
        assert_eq!(data.cancellations_refused, 1);
    }

    #[test]
    fn other_status_changes_are_announced_and_blank_keeps_the_status() {
        let config = PvxSimConfig::default();
        let mut data = two_orders();
        let rows = csv(&["SalesOrderNumber,Status", "A,Closed", "B,", "A,closed"]);
        let answer = save_data(&mut data, &config, "Sales orders", &rows, 0);
        assert_eq!(answer.total_count, 3);
        assert_eq!(data.orders["A"].fields[STATUS_FIELD], "Closed");
        assert_eq!(
            data.orders["B"]
                .fields
                .get(STATUS_FIELD)
                .map(String::as_str),
            Some("")
        );
        assert_eq!(data.take_event_types(), vec!["SalesOrderStatusChanges"]);
        assert_eq!(
            data.allocated_for("A"),
            1,
            "only a cancellation frees stock"
        );
        assert_eq!(
            data.header_imports["A"], 1,
            "status changes are not imports"
        );
    }
}
