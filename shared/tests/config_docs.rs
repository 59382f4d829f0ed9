//! docs/configuration.md cannot drift from the configuration it documents.
//!
//! The keys the types accept are traced from their `Deserialize` impls with serde-reflection
//! (every struct's field names, as serde spells them, `Option`s, maps and arrays of tables),
//! starting at `Config`. Map keys the merchant chooses (a SKU, a site, a carrier, a status)
//! become `<…>` placeholders and arrays of tables `[]`, the notation of the document's key
//! column. Then:
//!
//! - every key of infra/config/ctpvx.example.toml is a key of the types, appears in the
//!   document, and the example validates;
//! - every key documented is a key of the types, and every key of the types is documented,
//!   with the type the types give it and, for an enum, each of its values;
//! - a key documented as `required` is one whose absence the types refuse, and no other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ctpvx_shared::commercetools::actions::{OrderState, ReturnShipmentState, ShipmentState};
use ctpvx_shared::config::{
    Config, CustomLineItems, MissingNumber, OtherOrders, SplitDestinations, TooLongNumber,
    WeightUnit,
};
use ctpvx_shared::domain::status::Stage;
use serde::Deserialize;
use serde_reflection::{ContainerFormat, Format, Registry, Tracer, TracerConfig};

/// The document, relative to shared/.
const DOC: &str = "../docs/configuration.md";
/// The worked example, relative to shared/.
const EXAMPLE: &str = "../infra/config/ctpvx.example.toml";
/// A map key the merchant chooses, as the test writes it; the document names it (`<SKU>`).
const ANY: &str = "<>";

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `webhook.max_message_bytes` is a retired key, read as `serde::de::IgnoredAny`, which
/// serde-reflection cannot trace. Registering `WebhookConfig` first with this shape lets the
/// trace of `Config` go past it. Its fields must be the real struct's, in its order, or the
/// trace fails with "Incompatible formats": update this mirror when `WebhookConfig` changes.
#[derive(Deserialize)]
#[serde(rename = "WebhookConfig")]
#[allow(dead_code)]
struct WebhookConfigShape {
    max_body_bytes: usize,
    max_message_bytes: Option<()>,
}

/// Every container the configuration is made of, by serde name, starting at `Config`.
fn traced_registry() -> Registry {
    let mut tracer = Tracer::new(TracerConfig::default());
    let fail = |what: &str, e: serde_reflection::Error| -> ! {
        panic!(
            "serde-reflection cannot trace {what}: {e}\n{}",
            e.explanation()
        )
    };
    tracer
        .trace_simple_type::<WebhookConfigShape>()
        .unwrap_or_else(|e| fail("WebhookConfigShape", e));
    // An enum inside a struct is traced one variant at a time; traced on its own, all of them.
    // A new enum in the configuration makes `registry()` fail naming it: add it here.
    macro_rules! trace_enums {
        ($($t:ty),* $(,)?) => {$(
            tracer
                .trace_simple_type::<$t>()
                .unwrap_or_else(|e| fail(stringify!($t), e));
        )*};
    }
    trace_enums!(
        CustomLineItems,
        MissingNumber,
        TooLongNumber,
        SplitDestinations,
        OtherOrders,
        WeightUnit,
        Stage,
        OrderState,
        ShipmentState,
        ReturnShipmentState,
    );
    tracer
        .trace_simple_type::<Config>()
        .unwrap_or_else(|e| fail("Config", e));
    tracer
        .registry()
        .unwrap_or_else(|e| fail("every type of Config", e))
}

/// What a leaf key of the types holds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Leaf {
    /// As the document's type column writes it.
    ty: &'static str,
    /// The values of an enum, as serde spells them.
    values: Vec<String>,
}

fn leaf(ty: &'static str) -> Leaf {
    Leaf {
        ty,
        values: Vec::new(),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A struct's fields by serde name, or `None` if `format` is not a struct.
fn struct_fields<'r>(
    registry: &'r Registry,
    format: &Format,
) -> Option<&'r [serde_reflection::Named<Format>]> {
    match format {
        Format::TypeName(name) => match registry.get(name) {
            Some(ContainerFormat::Struct(fields)) => Some(fields),
            _ => None,
        },
        Format::Option(inner) => struct_fields(registry, inner),
        _ => None,
    }
}

/// The leaf of a format that holds no struct.
fn leaf_of(registry: &Registry, format: &Format, path: &str) -> Leaf {
    match format {
        Format::Str => leaf("string"),
        Format::Bool => leaf("boolean"),
        Format::U8 | Format::U16 | Format::U32 | Format::U64 | Format::I32 | Format::I64 => {
            leaf("integer")
        }
        // The retired key read as `IgnoredAny` (see `WebhookConfigShape`): any value.
        Format::Unit => leaf("any"),
        Format::Option(inner) => leaf_of(registry, inner, path),
        Format::Seq(inner) if matches!(**inner, Format::Str) => leaf("array of strings"),
        Format::TypeName(name) => match registry.get(name) {
            Some(ContainerFormat::Enum(variants)) => Leaf {
                ty: "string",
                values: variants.values().map(|v| v.name.clone()).collect(),
            },
            other => panic!("{path}: no document type for container {name}: {other:?}"),
        },
        other => panic!("{path}: no document type for {other:?}"),
    }
}

/// Every leaf key under `format` at `path`: struct fields by name, map keys as [`ANY`],
/// arrays of tables as `[]`.
fn type_keys(registry: &Registry, format: &Format, path: &str, out: &mut BTreeMap<String, Leaf>) {
    if let Some(fields) = struct_fields(registry, format) {
        for field in fields {
            type_keys(registry, &field.value, &join(path, &field.name), out);
        }
        return;
    }
    match format {
        Format::Option(inner) => type_keys(registry, inner, path, out),
        Format::Map { value, .. } => type_keys(registry, value, &join(path, ANY), out),
        Format::Seq(inner) if struct_fields(registry, inner).is_some() => {
            type_keys(registry, inner, &format!("{path}[]"), out)
        }
        _ => {
            out.insert(path.to_string(), leaf_of(registry, format, path));
        }
    }
}

/// The leaf keys of a TOML value read as `format`, in the same notation (the value has been
/// validated by `Config::from_toml`, whose types refuse unknown keys).
fn example_keys(
    registry: &Registry,
    format: &Format,
    value: &toml::Value,
    path: &str,
    out: &mut BTreeSet<String>,
) {
    if let Some(fields) = struct_fields(registry, format) {
        for (key, value) in value.as_table().into_iter().flatten() {
            if let Some(field) = fields.iter().find(|f| f.name == *key) {
                example_keys(registry, &field.value, value, &join(path, key), out);
            }
        }
        return;
    }
    match (format, value) {
        (Format::Option(inner), _) => example_keys(registry, inner, value, path, out),
        (Format::Map { value: inner, .. }, toml::Value::Table(table)) => {
            for value in table.values() {
                example_keys(registry, inner, value, &join(path, ANY), out);
            }
        }
        (Format::Seq(inner), toml::Value::Array(items))
            if struct_fields(registry, inner).is_some() =>
        {
            for item in items {
                example_keys(registry, inner, item, &format!("{path}[]"), out);
            }
        }
        _ => {
            out.insert(path.to_string());
        }
    }
}

/// A key path with every `<…>` placeholder written [`ANY`].
fn normalised(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        match rest[start..].find('>') {
            Some(end) => {
                out.push_str(ANY);
                rest = &rest[start + end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// One row of a `| key | type | default | meaning |` table.
#[derive(Debug)]
struct Row {
    /// The key as written, placeholders named.
    key: String,
    /// The key in the test's notation.
    path: String,
    ty: String,
    default: String,
    meaning: String,
    line: usize,
}

/// The cells of a Markdown table row (an escaped `\|` stays in its cell).
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cell)),
            c => cell.push(c),
        }
    }
    cells.push(cell);
    cells.iter().map(|c| c.trim().to_string()).collect()
}

/// Every row of every key table in the document.
fn documented_rows(doc: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for (n, line) in doc.lines().enumerate() {
        let line_no = n + 1;
        if !line.trim_start().starts_with('|') {
            in_table = false;
            continue;
        }
        let cells = cells(line);
        if cells == ["key", "type", "default", "meaning"] {
            in_table = true;
            continue;
        }
        if !in_table
            || cells
                .iter()
                .all(|c| c.chars().all(|ch| matches!(ch, '-' | ':')))
        {
            continue;
        }
        assert_eq!(
            cells.len(),
            4,
            "{DOC}:{line_no}: a key table row needs 4 cells, found {}: {line}",
            cells.len()
        );
        let key = cells[0]
            .strip_prefix('`')
            .and_then(|k| k.strip_suffix('`'))
            .filter(|k| !k.contains('`'))
            .unwrap_or_else(|| {
                panic!("{DOC}:{line_no}: the key cell must be one `dotted.path`: {line}")
            })
            .to_string();
        rows.push(Row {
            path: normalised(&key),
            key,
            ty: cells[1].clone(),
            default: cells[2].clone(),
            meaning: cells[3].clone(),
            line: line_no,
        });
    }
    rows
}

/// Everything the test needs, read once per test.
struct Fixture {
    registry: Registry,
    types: BTreeMap<String, Leaf>,
    rows: Vec<Row>,
    example: toml::Table,
}

fn fixture() -> Fixture {
    let registry = traced_registry();
    let mut types = BTreeMap::new();
    type_keys(
        &registry,
        &Format::TypeName("Config".into()),
        "",
        &mut types,
    );
    let rows = documented_rows(&read(DOC));
    let example: toml::Table = read(EXAMPLE)
        .parse()
        .unwrap_or_else(|e| panic!("{EXAMPLE} is not TOML: {e}"));
    Fixture {
        registry,
        types,
        rows,
        example,
    }
}

fn list(keys: &[String]) -> String {
    keys.iter().map(|k| format!("\n  {k}")).collect()
}

#[test]
fn the_traced_types_are_the_configuration() {
    let f = fixture();
    // A trace that went wrong would make the other tests vacuous.
    for key in [
        "commercetools.auth_url",
        "orders.routing[].site",
        "orders.units_of_measure.<>.factor",
        "peoplevox.field_names.<>.<>",
        "stock.sites.<>.channel",
        "status.map.<>.stage",
        "subscriptions.parameters.<>.<>",
        "webhook.max_message_bytes",
        "reconcile.largest",
    ] {
        assert!(
            f.types.contains_key(key),
            "the trace lacks {key}: {:?}",
            f.types.keys()
        );
    }
    assert!(f.types.len() > 50, "only {} keys traced", f.types.len());
}

#[test]
fn every_example_key_is_documented_and_known_to_the_types() {
    let f = fixture();
    Config::from_toml(&read(EXAMPLE))
        .unwrap_or_else(|e| panic!("{EXAMPLE} does not validate: {e}"));
    let mut keys = BTreeSet::new();
    example_keys(
        &f.registry,
        &Format::TypeName("Config".into()),
        &toml::Value::Table(f.example.clone()),
        "",
        &mut keys,
    );
    let documented: BTreeSet<&str> = f.rows.iter().map(|r| r.path.as_str()).collect();
    let missing: Vec<String> = keys
        .iter()
        .filter(|k| !documented.contains(k.as_str()))
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "keys of {EXAMPLE} missing from the key column of {DOC} (`{ANY}` stands for any <NAME>):{}",
        list(&missing)
    );
    assert!(
        keys.len() > 40,
        "only {} keys read from {EXAMPLE}",
        keys.len()
    );
}

#[test]
fn every_documented_key_is_a_key_of_the_types_and_the_other_way_round() {
    let f = fixture();
    let mut seen = BTreeMap::new();
    let duplicated: Vec<String> = f
        .rows
        .iter()
        .filter_map(|r| {
            seen.insert(r.path.as_str(), r.line)
                .map(|first| format!("{} (lines {first} and {})", r.key, r.line))
        })
        .collect();
    assert!(
        duplicated.is_empty(),
        "keys documented twice in {DOC}:{}",
        list(&duplicated)
    );
    let unknown: Vec<String> = f
        .rows
        .iter()
        .filter(|r| !f.types.contains_key(&r.path))
        .map(|r| format!("{} ({DOC}:{})", r.key, r.line))
        .collect();
    assert!(
        unknown.is_empty(),
        "keys documented in {DOC} that the configuration types do not accept:{}",
        list(&unknown)
    );
    let undocumented: Vec<String> = f
        .types
        .keys()
        .filter(|k| !seen.contains_key(k.as_str()))
        .cloned()
        .collect();
    assert!(
        undocumented.is_empty(),
        "keys the configuration types accept that {DOC} does not document (`{ANY}` stands for any <NAME>):{}",
        list(&undocumented)
    );
}

#[test]
fn every_documented_key_has_its_type_and_every_value_of_an_enum() {
    let f = fixture();
    let mut problems = Vec::new();
    for row in &f.rows {
        let Some(leaf) = f.types.get(&row.path) else {
            continue; // reported by the test above
        };
        let at = format!("{} ({DOC}:{})", row.key, row.line);
        if row.ty != leaf.ty {
            problems.push(format!(
                "{at}: type `{}`, the types say `{}`",
                row.ty, leaf.ty
            ));
        }
        if row.default.is_empty() || row.meaning.is_empty() {
            problems.push(format!("{at}: empty default or meaning"));
        }
        for value in &leaf.values {
            if !row.meaning.contains(&format!("\"{value}\"")) {
                problems.push(format!(
                    "{at}: the meaning does not name the value \"{value}\""
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{DOC} disagrees with the types:{}",
        list(&problems)
    );
}

/// Removes the key `segments` names wherever it occurs in `value` (in every entry of a map,
/// every table of an array); whether anything was removed.
fn remove_key(value: &mut toml::Value, segments: &[&str]) -> bool {
    let toml::Value::Table(table) = value else {
        return false;
    };
    match segments {
        [] => false,
        [last] if *last == ANY => {
            let had = !table.is_empty();
            table.clear();
            had
        }
        [last] => table.remove(*last).is_some(),
        [first, rest @ ..] => {
            let children: Vec<&mut toml::Value> = if *first == ANY {
                table.iter_mut().map(|(_, v)| v).collect()
            } else if let Some(name) = first.strip_suffix("[]") {
                match table.get_mut(name) {
                    Some(toml::Value::Array(items)) => items.iter_mut().collect(),
                    _ => Vec::new(),
                }
            } else {
                table.get_mut(*first).into_iter().collect()
            };
            let mut removed = false;
            for child in children {
                removed |= remove_key(child, rest);
            }
            removed
        }
    }
}

/// Splits a path in the test's notation into segments, `routing[]` staying one.
fn segments(path: &str) -> Vec<&str> {
    path.split('.').collect()
}

#[test]
fn required_keys_are_the_ones_the_types_require() {
    let f = fixture();
    let mut problems = Vec::new();
    for row in &f.rows {
        let required = row.default == "required";
        let mut example = toml::Value::Table(f.example.clone());
        if !remove_key(&mut example, &segments(&row.path)) {
            if required {
                problems.push(format!(
                    "{} ({DOC}:{}) is documented as required but is not in {EXAMPLE}, so this test cannot check it",
                    row.key, row.line
                ));
            }
            continue;
        }
        let text = toml::to_string(&example).unwrap_or_else(|e| panic!("{e}"));
        let field = row.path.rsplit('.').next().unwrap_or_default();
        let refused = match Config::from_toml(&text) {
            Ok(_) => false,
            Err(e) => e.to_string().contains(&format!("missing field `{field}`")),
        };
        if required != refused {
            problems.push(format!(
                "{} ({DOC}:{}): default `{}`, but the example {} without it",
                row.key,
                row.line,
                row.default,
                if refused { "is refused" } else { "still loads" }
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "the default column of {DOC} is wrong:{}",
        list(&problems)
    );
}
