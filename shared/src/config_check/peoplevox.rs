//! Peoplevox checks: Authenticate, the two save templates (with the tenant's field names, by
//! the same layout check the order worker runs at start), the reports the flows read (a
//! one-row page each, for the columns, and a search no row matches, which shows whether the
//! tenant applies `SearchClause` and `Columns`: the flows are right either way, but a tenant
//! that ignores them costs more pages), the "Despatch packages" template's fields, and every
//! configured stock site in the inventory report. At most [`MAX_REQUESTS`] requests,
//! Authenticate included, so that a check never eats the deployment's budget (15 per 15 s):
//! sites beyond it are reported unchecked.

use crate::config::Config;
use crate::flows::shipment_confirmed::names_a_missing_template;
use crate::mapping::SalesOrderLayout;
use crate::peoplevox::search::quote;
use crate::peoplevox::{DataPage, PvxClient, PvxError, ReportQuery};

use super::columns::{self, ReportColumns};
use super::report::Check;

/// Peoplevox requests one check run may send.
pub const MAX_REQUESTS: u64 = 12;

/// Every Peoplevox check; one failing does not stop the others, except that nothing runs
/// without a session.
pub async fn check(pvx: &PvxClient, config: &Config) -> Vec<Check> {
    let p = &config.peoplevox;
    // The first request opens the session, so it tells whether the credentials work.
    let orders = pvx.get_save_template(&p.templates.sales_orders).await;
    let mut checks = match &orders {
        Err(e) if no_session(e) => {
            return vec![
                session_failure(e),
                Check::skip("Peoplevox templates, reports and sites", "no session"),
            ];
        }
        _ => vec![Check::ok(
            "Peoplevox Authenticate",
            format!("client {}, user {}", p.client_id, p.username),
        )],
    };
    let items = pvx.get_save_template(&p.templates.sales_order_items).await;
    checks.extend(templates(config, &orders, &items));
    for spec in columns::despatch_and_returns(config) {
        checks.extend(report_checks(pvx, &spec).await);
    }
    checks.push(packages_check(pvx, config).await);
    checks.extend(sites(pvx, config).await);
    checks
}

/// Errors that mean no request can succeed: refused credentials, or no Peoplevox at the
/// endpoint. (An `Api` error is Peoplevox answering, so the session worked.)
fn no_session(e: &PvxError) -> bool {
    matches!(
        e,
        PvxError::Auth(_)
            | PvxError::Connect(_)
            | PvxError::Timeout { .. }
            | PvxError::Transport(_)
            | PvxError::Http { .. }
            | PvxError::Config(_)
            | PvxError::Store(_)
    )
}

fn session_failure(e: &PvxError) -> Check {
    match e {
        PvxError::Auth(_) => Check::fail(
            "Peoplevox Authenticate",
            e.to_string(),
            "check peoplevox.client_id, peoplevox.username and the password (CTPVX_PVX_PASSWORD)",
        ),
        _ => Check::fail(
            "Peoplevox endpoint",
            e.to_string(),
            "check peoplevox.endpoint (…/<clientId>/resources/integrationservicev4.asmx)",
        ),
    }
}

/// The layout check the order worker runs at start, and the cancellation status field.
fn templates(
    config: &Config,
    orders: &Result<Vec<String>, PvxError>,
    items: &Result<Vec<String>, PvxError>,
) -> Vec<Check> {
    let p = &config.peoplevox;
    let t = &p.templates;
    let name = format!(
        "Peoplevox templates \"{}\" and \"{}\"",
        t.sales_orders, t.sales_order_items
    );
    let (orders, items) = match (orders, items) {
        (Ok(o), Ok(i)) => (o, i),
        (Err(e), _) | (_, Err(e)) => {
            return vec![Check::fail(
                name,
                format!("could not be read: {e}"),
                &read_fix(e, "check peoplevox.templates"),
            )];
        }
    };
    let custom: Vec<String> = config.orders.custom_fields.values().cloned().collect();
    let mut checks = vec![match SalesOrderLayout::from_headers(
        p,
        orders.clone(),
        items.clone(),
        &custom,
    ) {
        Ok(layout) => Check::ok(
            name,
            format!(
                "every required field present ({} and {} fields; {} standard fields unused)",
                orders.len(),
                items.len(),
                layout.unused_fields.len()
            ),
        ),
        Err(problem) => Check::fail(
            name,
            problem,
            "name the tenant's field under [peoplevox.field_names.\"<template>\"] (or fix orders.custom_fields)",
        ),
    }];
    let cancel = &config.status.cancel;
    if cancel.push_to_peoplevox && cancel.template.eq_ignore_ascii_case(&t.sales_orders) {
        let name = "status.cancel.status_field";
        checks.push(if orders.contains(&cancel.status_field) {
            Check::ok(
                name,
                format!(
                    "`{}` is a field of \"{}\"",
                    cancel.status_field, t.sales_orders
                ),
            )
        } else {
            Check::fail(
                name,
                format!(
                    "`{}` is not a field of \"{}\"",
                    cancel.status_field, t.sales_orders
                ),
                "set it to the tenant's status field, or status.cancel.push_to_peoplevox = false",
            )
        });
    }
    checks
}

/// One row of a report: what costs least and still shows its columns.
async fn one_row(
    pvx: &PvxClient,
    report: &str,
    search: String,
    columns: String,
) -> Result<DataPage, PvxError> {
    pvx.get_report_data(&ReportQuery {
        template: report.to_string(),
        page_no: 1,
        items_per_page: 1,
        search_clause: search,
        columns,
        ..ReportQuery::default()
    })
    .await
}

/// A key value no report holds.
const NO_SUCH_KEY: &str = "ctpvx-check-no-such-key";

/// A report's columns (one row, every column) and what the tenant applies of a request (a
/// search no row matches, asking for the required columns only).
async fn report_checks(pvx: &PvxClient, spec: &ReportColumns) -> Vec<Check> {
    let search = format!("[{}].Equals({})", spec.key, quote(NO_SUCH_KEY));
    let probe = one_row(pvx, &spec.report, search, spec.request()).await;
    let page = one_row(pvx, &spec.report, String::new(), String::new()).await;
    let mut checks = vec![columns_check(spec, &page)];
    if let Ok(page) = &page {
        checks.push(clauses_check(spec, &probe, !page.table.rows.is_empty()));
    }
    checks
}

/// What the probe shows of the tenant's `SearchClause` and `Columns`: information, since the
/// flows filter rows and find columns by name themselves.
fn clauses_check(
    spec: &ReportColumns,
    probe: &Result<DataPage, PvxError>,
    has_rows: bool,
) -> Check {
    let name = format!("Peoplevox report \"{}\" clauses", spec.report);
    let page = match probe {
        Ok(page) => page,
        Err(e) => {
            return Check::warn(
                name,
                format!("a search for `{}` failed: {e}", spec.key),
                &read_fix(e, "check that the report has the column"),
            );
        }
    };
    let mut found = Vec::new();
    if page.table.rows.is_empty() && !has_rows {
        found.push("SearchClause not known yet (the report has no rows)".to_string());
    } else if page.table.rows.is_empty() {
        found.push("applies SearchClause".to_string());
    } else {
        found.push(format!(
            "ignores SearchClause (a search no row matches answered {} rows), so every read pages through the whole report",
            page.total.max(page.table.rows.len() as i64)
        ));
    }
    if !page.table.headers.is_empty() {
        let extra = columns::extra(spec, &page.table.headers);
        if extra.is_empty() {
            found.push("applies Columns".to_string());
        } else {
            found.push(ignored_columns(extra.len()));
        }
    }
    Check::ok(
        name,
        format!(
            "{}; the flows keep only the rows they asked for and find columns by name",
            found.join("; ")
        ),
    )
}

/// The "Despatch packages" template: its fields, or that the tenant has none (then parcels
/// come from the summary's tracking numbers).
async fn packages_check(pvx: &PvxClient, config: &Config) -> Check {
    let p = &config.shipments.packages;
    let template = p.template.trim();
    if template.is_empty() {
        return Check::ok(
            "Peoplevox despatch packages (shipments.packages)",
            "no template configured: one parcel per tracking number of the despatch summary",
        );
    }
    let name = format!("Peoplevox template \"{template}\" (shipments.packages)");
    let fields = match pvx.get_save_template(template).await {
        Ok(fields) => fields,
        Err(e) if names_a_missing_template(&e) => {
            return Check::warn(
                name,
                "not on this tenant: parcels come from the tracking numbers of the despatch summary, without weights",
                "set shipments.packages.template = \"\" to say so, or name the tenant's template",
            );
        }
        Err(e) => {
            return Check::fail(
                name,
                format!("could not be read: {e}"),
                &read_fix(&e, "check shipments.packages.template"),
            );
        }
    };
    let has = |field: &str| {
        fields
            .iter()
            .any(|f| f.trim().eq_ignore_ascii_case(field.trim()))
    };
    let named = |key: &'static str, field: &str| (!has(field)).then(|| format!("{key} `{field}`"));
    let missing: Vec<String> = [
        named("despatch_number_field", &p.despatch_number_field),
        named("package_number_field", &p.package_number_field),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !missing.is_empty() {
        return Check::fail(
            name,
            format!(
                "lacks {} (its fields: {})",
                missing.join(", "),
                fields.join(", ")
            ),
            "set the tenant's field names under [shipments.packages]",
        );
    }
    let optional: Vec<String> = [
        ("tracking_number_field", &p.tracking_number_field),
        ("weight_field", &p.weight_field),
    ]
    .into_iter()
    .filter(|(_, f)| !f.trim().is_empty() && !has(f))
    .map(|(key, f)| format!("{key} `{f}`"))
    .collect();
    if !optional.is_empty() {
        return Check::warn(
            name,
            format!(
                "lacks {} (read when present; its fields: {})",
                optional.join(", "),
                fields.join(", ")
            ),
            "set them under [shipments.packages], or to \"\" if the tenant has none",
        );
    }
    Check::ok(name, "has the fields the shipment flow reads")
}

fn columns_check(spec: &ReportColumns, page: &Result<DataPage, PvxError>) -> Check {
    let name = format!("Peoplevox report \"{}\" ({})", spec.report, spec.source);
    let page = match page {
        Ok(page) => page,
        Err(e) => {
            return Check::fail(
                name,
                format!("could not be read: {e}"),
                &read_fix(e, &format!("check the report name ({})", spec.source)),
            );
        }
    };
    if page.table.headers.is_empty() {
        return Check::warn(
            name,
            "answered without a header (no rows?), so its columns could not be checked",
            "check again once it has rows",
        );
    }
    let (required, read) = columns::lacking(spec, &page.table.headers);
    if !required.is_empty() {
        return Check::fail(
            name,
            format!("lacks the columns {}", required.join(", ")),
            "add them to the report in Peoplevox",
        );
    }
    if !read.is_empty() {
        return Check::warn(
            name,
            format!("lacks the columns {} (read when present)", read.join(", ")),
            "add them to the report in Peoplevox",
        );
    }
    Check::ok(name, "answers with the columns the flows read")
}

/// Each `[stock.sites]` site in "Item inventory summary" (one filtered row each); the first
/// answer also checks the report's columns. A site without rows is a warning: a new site
/// has none until goods arrive, but a misspelt reference has none either.
async fn sites(pvx: &PvxClient, config: &Config) -> Vec<Check> {
    let spec = columns::inventory();
    let mut checks = Vec::new();
    if config.stock.sites.is_empty() {
        checks.push(Check::skip(
            format!("Peoplevox report \"{}\"", spec.report),
            "no [stock.sites] configured",
        ));
        return checks;
    }
    let search = format!("[{}].Equals({})", spec.key, quote(NO_SUCH_KEY));
    let probe = one_row(pvx, &spec.report, search, spec.request()).await;
    for (n, site) in config.stock.sites.keys().enumerate() {
        let name = format!("stock site {site}");
        if pvx.requests_made() >= MAX_REQUESTS {
            checks.push(Check::warn(
                name,
                format!("not checked: this check sends at most {MAX_REQUESTS} Peoplevox requests"),
                "",
            ));
            continue;
        }
        let search = format!("[Site reference].Equals({})", quote(site));
        let page = one_row(pvx, &spec.report, search, spec.request()).await;
        if n == 0 {
            checks.push(columns_check(&spec, &page));
            if let Ok(page) = &page {
                checks.push(clauses_check(&spec, &probe, page.total > 0));
            }
        }
        checks.push(match page {
            Ok(page) if page.total > 0 => Check::ok(
                name,
                format!("{} rows in \"{}\"", page.total, spec.report),
            ),
            Ok(_) => Check::warn(
                name,
                format!("no rows in \"{}\"", spec.report),
                "check the site reference in [stock.sites] (a new site has no rows until goods arrive)",
            ),
            Err(e) => Check::fail(
                name,
                format!("could not be read: {e}"),
                &read_fix(&e, "check the site reference in [stock.sites]"),
            ),
        });
    }
    checks
}

fn ignored_columns(extra: usize) -> String {
    let s = if extra == 1 { "" } else { "s" };
    format!("ignores Columns (answers {extra} column{s} not asked for)")
}

/// The fix for a failed read: `otherwise`, unless Peoplevox was only busy or unreachable.
fn read_fix(e: &PvxError, otherwise: &str) -> String {
    if e.is_retryable() {
        "Peoplevox was busy or unreachable: run the check again".to_string()
    } else {
        otherwise.to_string()
    }
}
