//! A commercetools address → the seven address fields of a Peoplevox sales order, each within
//! its length (Zynk `Peoplevox-Sales-Order-XML.md`: every address field `string(100)`).
//!
//! The street goes in Line1 and the other parts (company, department, flat, building, extra
//! street line, PO box) in Line2, as long as they fit. When they do not, the parts are spread
//! over both lines, whole, the ones a courier needs first (flat, building, extra street line),
//! and only what still has no room is cut, the company name first, with an audit note. An
//! address is held only when what the carrier cannot do without (street, city, postcode,
//! country) does not fit, naming the field. The billing address never holds an order: what
//! does not fit there is cut and noted.

use crate::commercetools::types::Address;
use crate::domain::HoldReason;
use crate::mapping::field_limits::{cut, length, limit};
use crate::mapping::text::{flatten, join_parts};

/// Separator of parts sharing a line.
const SEP: &str = ", ";
/// A part cut shorter than this says nothing useful: it is left out instead.
const MIN_CUT: usize = 4;

/// One piece of the street lines.
#[derive(Debug, Clone)]
struct Part {
    /// The commercetools field(s), for notes.
    name: &'static str,
    /// Position in the written address (company first, PO box last).
    rank: u8,
    text: String,
}

/// Which address, and whether the carrier depends on it.
pub(super) struct Which<'a> {
    /// `shippingAddress` or `billingAddress`.
    pub ct_name: &'a str,
    /// `ShippingAddress` or `InvoiceAddress`.
    pub prefix: &'a str,
    /// The shipping address: its carrier fields hold the order when they cannot fit.
    pub carrier: bool,
}

fn part(name: &'static str, rank: u8, text: Option<&str>) -> Option<Part> {
    let text = flatten(text.unwrap_or_default());
    (!text.is_empty()).then_some(Part { name, rank, text })
}

fn line_text(parts: &[Part]) -> String {
    let mut sorted: Vec<&Part> = parts.iter().collect();
    sorted.sort_by_key(|p| p.rank);
    join_parts(sorted.iter().map(|p| Some(p.text.as_str())), SEP)
}

fn fits(parts: &[Part], extra: &Part, max: usize) -> bool {
    let mut with = parts.to_vec();
    with.push(extra.clone());
    length(&line_text(&with)) <= max
}

/// Characters left on a line for one more part.
fn room(parts: &[Part], max: usize) -> usize {
    let used = length(&line_text(parts));
    let sep = if parts.is_empty() { 0 } else { SEP.len() };
    max.saturating_sub(used + sep)
}

/// The street: number and name, or the PO box when there is no street.
fn street(a: &Address) -> (Option<Part>, bool) {
    let street = join_parts([a.street_number.as_deref(), a.street_name.as_deref()], " ");
    if !street.is_empty() {
        return (part("streetNumber + streetName", 4, Some(&street)), false);
    }
    let po_box = a.po_box.as_deref().map(flatten).unwrap_or_default();
    if po_box.is_empty() {
        return (None, false);
    }
    (part("pOBox", 4, Some(&format!("PO Box {po_box}"))), true)
}

/// Line1 and Line2: the street in Line1, the rest spread as described in the module comment.
fn street_lines(
    a: &Address,
    which: &Which<'_>,
    notes: &mut Vec<String>,
) -> Result<(String, String), HoldReason> {
    let line1_field = format!("{}Line1", which.prefix);
    let line2_field = format!("{}Line2", which.prefix);
    let (max1, max2) = (
        limit(&line1_field).unwrap_or(100),
        limit(&line2_field).unwrap_or(100),
    );
    let (street, po_box_used) = street(a);
    let mut line1: Vec<Part> = Vec::new();
    if let Some(mut street) = street {
        if length(&street.text) > max1 {
            if which.carrier {
                return Err(HoldReason::invalid(format!(
                    "{} street ({}) is longer than {max1} characters, the most {line1_field} takes",
                    which.ct_name, street.name
                )));
            }
            notes.push(format!(
                "{}.{} cut to {max1} of {} characters to fit {line1_field}",
                which.ct_name,
                street.name,
                length(&street.text)
            ));
            street.text = cut(&street.text, max1);
        }
        line1.push(street);
    }
    // Placement order: what a courier needs at the door first, the company name last.
    let others: Vec<Part> = [
        part("apartment", 2, a.apartment.as_deref()),
        part("building", 3, a.building.as_deref()),
        part(
            "additionalStreetInfo",
            5,
            a.additional_street_info.as_deref(),
        ),
        a.po_box
            .as_deref()
            .filter(|_| !po_box_used)
            .and_then(|p| part("pOBox", 6, Some(&format!("PO Box {}", flatten(p))))),
        part("department", 1, a.department.as_deref()),
        part("company", 0, a.company.as_deref()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if length(&line_text(&others)) <= max2 {
        return Ok((line_text(&line1), line_text(&others)));
    }
    let mut line2: Vec<Part> = Vec::new();
    let mut left: Vec<Part> = Vec::new();
    for p in others {
        if fits(&line2, &p, max2) {
            line2.push(p);
        } else if fits(&line1, &p, max1) {
            line1.push(p);
        } else {
            left.push(p);
        }
    }
    // What has no room: cut into the line with the most room left, company name first.
    left.sort_by_key(|p| p.rank);
    for mut p in left {
        let (room1, room2) = (room(&line1, max1), room(&line2, max2));
        let (line, field, room) = if room2 >= room1 {
            (&mut line2, &line2_field, room2)
        } else {
            (&mut line1, &line1_field, room1)
        };
        let was = length(&p.text);
        if room < MIN_CUT {
            notes.push(format!(
                "{}.{} ({was} characters) left out: no room in {line1_field} or {line2_field}",
                which.ct_name, p.name
            ));
            continue;
        }
        notes.push(format!(
            "{}.{} cut to {room} of {was} characters to fit {field}",
            which.ct_name, p.name
        ));
        p.text = cut(&p.text, room);
        line.push(p);
    }
    Ok((line_text(&line1), line_text(&line2)))
}

/// Line1..Reference of one address, each within its length.
pub(super) fn address_fields(
    a: &Address,
    which: &Which<'_>,
    notes: &mut Vec<String>,
) -> Result<Vec<(String, String)>, HoldReason> {
    let (line1, line2) = street_lines(a, which, notes)?;
    let region = join_parts([a.region.as_deref().or(a.state.as_deref())], "");
    // (suffix, commercetools field, value, needed by the carrier)
    let rest = [
        ("City", "city", join_parts([a.city.as_deref()], ""), true),
        ("Region", "region", region, false),
        (
            "Postcode",
            "postalCode",
            join_parts([a.postal_code.as_deref()], ""),
            true,
        ),
        (
            "Country",
            "country",
            a.country.trim().to_ascii_uppercase(),
            true,
        ),
        (
            "Reference",
            "key",
            join_parts([a.key.as_deref()], ""),
            false,
        ),
    ];
    let mut fields = vec![
        (format!("{}Line1", which.prefix), line1),
        (format!("{}Line2", which.prefix), line2),
    ];
    for (suffix, ct_field, value, needed) in rest {
        let field = format!("{}{suffix}", which.prefix);
        let max = limit(&field).unwrap_or(100);
        let value = if length(&value) <= max {
            value
        } else if needed && which.carrier {
            return Err(HoldReason::invalid(format!(
                "{}.{ct_field} is longer than {max} characters, the most {field} takes",
                which.ct_name
            )));
        } else {
            notes.push(format!(
                "{}.{ct_field} cut to {max} of {} characters to fit {field}",
                which.ct_name,
                length(&value)
            ));
            cut(&value, max)
        };
        fields.push((field, value));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPING: Which<'static> = Which {
        ct_name: "shippingAddress",
        prefix: "ShippingAddress",
        carrier: true,
    };
    const BILLING: Which<'static> = Which {
        ct_name: "billingAddress",
        prefix: "InvoiceAddress",
        carrier: false,
    };

    fn value<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    fn uk_office() -> Address {
        Address {
            company: Some("Hargreaves Lansdown Asset Management & Pension Services Ltd".into()),
            department: Some("Accounts Payable".into()),
            apartment: Some("Suite 4.02".into()),
            building: Some("One College Square South, Anchor Road".into()),
            street_number: Some("1".into()),
            street_name: Some("College Square South".into()),
            additional_street_info: Some("Harbourside".into()),
            city: Some("Bristol".into()),
            postal_code: Some("BS1 5HL".into()),
            country: "GB".into(),
            ..Address::default()
        }
    }

    #[test]
    fn short_parts_stay_as_before_street_in_line1_the_rest_in_line2() {
        let a = Address {
            street_number: Some("1".into()),
            street_name: Some("High St".into()),
            apartment: Some("Flat 2".into()),
            company: Some("ACME".into()),
            city: Some("London".into()),
            country: "gb".into(),
            ..Address::default()
        };
        let mut notes = Vec::new();
        let f = address_fields(&a, &SHIPPING, &mut notes).unwrap();
        assert_eq!(value(&f, "ShippingAddressLine1"), "1 High St");
        assert_eq!(value(&f, "ShippingAddressLine2"), "ACME, Flat 2");
        assert_eq!(value(&f, "ShippingAddressCountry"), "GB");
        assert!(notes.is_empty());
    }

    #[test]
    fn a_long_uk_business_address_is_spread_over_both_lines_whole() {
        let mut notes = Vec::new();
        let f = address_fields(&uk_office(), &SHIPPING, &mut notes).unwrap();
        let (l1, l2) = (
            value(&f, "ShippingAddressLine1"),
            value(&f, "ShippingAddressLine2"),
        );
        assert!(l1.contains("1 College Square South"), "{l1}");
        for part in [
            "Suite 4.02",
            "One College Square South, Anchor Road",
            "Harbourside",
            "Accounts Payable",
            "Hargreaves Lansdown Asset Management & Pension Services Ltd",
        ] {
            assert!(
                l1.contains(part) || l2.contains(part),
                "{part}: {l1} | {l2}"
            );
        }
        assert!(l1.chars().count() <= 100 && l2.chars().count() <= 100);
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn what_has_no_room_is_cut_company_first_with_a_note() {
        let mut a = uk_office();
        a.company = Some("C".repeat(90));
        a.building = Some("B".repeat(60));
        let mut notes = Vec::new();
        let f = address_fields(&a, &SHIPPING, &mut notes).unwrap();
        let l2 = value(&f, "ShippingAddressLine2");
        assert!(l2.contains(&"B".repeat(60)), "{l2}");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("shippingAddress.company cut to"),
            "{notes:?}"
        );
        for (k, v) in &f {
            assert!(v.chars().count() <= 100, "{k}: {v}");
        }
    }

    #[test]
    fn carrier_fields_hold_by_name_and_billing_never_holds() {
        let mut a = uk_office();
        a.street_name = Some("S".repeat(120));
        let e = address_fields(&a, &SHIPPING, &mut Vec::new()).unwrap_err();
        assert!(
            e.to_string().contains("longer than 100")
                && e.to_string().contains("ShippingAddressLine1"),
            "{e}"
        );
        let mut notes = Vec::new();
        let f = address_fields(&a, &BILLING, &mut notes).unwrap();
        assert_eq!(value(&f, "InvoiceAddressLine1").chars().count(), 100);
        assert!(
            notes[0].starts_with("billingAddress.streetNumber + streetName cut"),
            "{notes:?}"
        );

        let mut a = uk_office();
        a.postal_code = Some("P".repeat(101));
        let e = address_fields(&a, &SHIPPING, &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("ShippingAddressPostcode"), "{e}");
        let mut a = uk_office();
        a.region = Some("R".repeat(101));
        let mut notes = Vec::new();
        address_fields(&a, &SHIPPING, &mut notes).unwrap();
        assert!(notes[0].contains("ShippingAddressRegion"), "{notes:?}");
    }

    #[test]
    fn a_po_box_is_the_street_when_there_is_none_and_a_part_when_there_is() {
        let a = Address {
            po_box: Some("2471".into()),
            city: Some("Leeds".into()),
            country: "GB".into(),
            ..Address::default()
        };
        let f = address_fields(&a, &SHIPPING, &mut Vec::new()).unwrap();
        assert_eq!(value(&f, "ShippingAddressLine1"), "PO Box 2471");
        let mut both = a.clone();
        both.street_name = Some("Example Street".into());
        let f = address_fields(&both, &SHIPPING, &mut Vec::new()).unwrap();
        assert_eq!(value(&f, "ShippingAddressLine1"), "Example Street");
        assert_eq!(value(&f, "ShippingAddressLine2"), "PO Box 2471");
    }
}
