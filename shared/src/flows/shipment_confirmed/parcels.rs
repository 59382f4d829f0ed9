//! Which commercetools parcel of a delivery each Peoplevox package is. A parcel's key is
//! `pvx-<despatch>-<package>` (deterministic, so a repeated confirmation finds it), but the
//! package names of one despatch can change between two reads: a tenant without a packages
//! template names packages by the ordinal of their tracking number in "Despatch summary", one
//! that has it names them by the template, and a despatch read before its template records
//! exist gets one untracked package. So a package is matched to the delivery's parcels in this
//! order, each parcel taken once:
//! 1. the parcel that carries the package's tracking number (the strongest identity);
//! 2. the parcel of the package's key;
//! 3. a parcel without a tracking number (one made before the tracking number was known);
//! 4. otherwise a new parcel, under the package's key, or `<key>-2`, `<key>-3`, … when that
//!    key is taken by another package's parcel.
//!
//! Tracking that arrives later so lands on the existing parcel, and deciding again on the
//! booked order finds every package in place and plans nothing.

use serde_json::Value;

use crate::commercetools::types::Order;
use crate::domain::Package;

use super::deliveries::parcel_key;

/// A parcel a delivery already has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Parcel {
    /// Its key (a parcel made elsewhere may have none).
    pub key: Option<String>,
    /// Its tracking id.
    pub tracking: Option<String>,
}

/// Where a package goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Placed {
    /// A new parcel with this key.
    New(String),
    /// The delivery's parcel with this key, which now carries `tracking`.
    Existing {
        /// The parcel's key.
        key: String,
        /// Its tracking id as it is.
        tracking: Option<String>,
    },
    /// A parcel without a key already carries the package's tracking number: nothing to do.
    Keyless,
}

/// The parcels of the order's delivery `delivery_key`, in the order's order.
pub(super) fn of_delivery(order: &Order, delivery_key: &str) -> Vec<Parcel> {
    order
        .deliveries()
        .filter(|d| d.get("key").and_then(Value::as_str) == Some(delivery_key))
        .flat_map(|d| d["parcels"].as_array().cloned().unwrap_or_default())
        .map(|p| Parcel {
            key: p.get("key").and_then(Value::as_str).map(str::to_string),
            tracking: p["trackingData"]["trackingId"]
                .as_str()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        })
        .collect()
}

/// Where each of `packages` (of despatch `despatch`) goes, given the delivery's `parcels`;
/// one entry per package, in the packages' order.
pub(super) fn place(despatch: &str, packages: &[Package], parcels: &[Parcel]) -> Vec<Placed> {
    let mut taken = vec![false; parcels.len()];
    let mut placed: Vec<Option<Placed>> = vec![None; packages.len()];
    let existing = |i: usize| match &parcels[i].key {
        Some(key) => Placed::Existing {
            key: key.clone(),
            tracking: parcels[i].tracking.clone(),
        },
        None => Placed::Keyless,
    };
    // 1. By tracking number.
    for (slot, package) in placed.iter_mut().zip(packages) {
        let Some(tracking) = &package.tracking else {
            continue;
        };
        if let Some(i) = (0..parcels.len())
            .find(|&i| !taken[i] && parcels[i].tracking.as_ref() == Some(tracking))
        {
            taken[i] = true;
            *slot = Some(existing(i));
        }
    }
    // 2. By key.
    for (slot, package) in placed.iter_mut().zip(packages) {
        if slot.is_some() {
            continue;
        }
        let key = parcel_key(despatch, &package.number);
        if let Some(i) =
            (0..parcels.len()).find(|&i| !taken[i] && parcels[i].key.as_ref() == Some(&key))
        {
            taken[i] = true;
            *slot = Some(existing(i));
        }
    }
    // 3. An untracked parcel of ours.
    for slot in placed.iter_mut().filter(|s| s.is_none()) {
        if let Some(i) = (0..parcels.len())
            .find(|&i| !taken[i] && parcels[i].key.is_some() && parcels[i].tracking.is_none())
        {
            taken[i] = true;
            *slot = Some(existing(i));
        }
    }
    // 4. New, under a key nobody uses.
    let mut used: Vec<String> = parcels.iter().filter_map(|p| p.key.clone()).collect();
    placed
        .into_iter()
        .zip(packages)
        .map(|(slot, package)| {
            slot.unwrap_or_else(|| {
                let base = parcel_key(despatch, &package.number);
                let key = std::iter::once(base.clone())
                    .chain((2..).map(|n| parcel_key(despatch, &format!("{}-{n}", package.number))))
                    .find(|k| !used.contains(k))
                    .unwrap_or(base);
                used.push(key.clone());
                Placed::New(key)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(number: &str, tracking: Option<&str>) -> Package {
        Package {
            number: number.into(),
            tracking: tracking.map(str::to_string),
            weight_g: None,
        }
    }

    fn parcel(key: &str, tracking: Option<&str>) -> Parcel {
        Parcel {
            key: Some(key.into()),
            tracking: tracking.map(str::to_string),
        }
    }

    fn existing(key: &str, tracking: Option<&str>) -> Placed {
        Placed::Existing {
            key: key.into(),
            tracking: tracking.map(str::to_string),
        }
    }

    #[test]
    fn a_new_delivery_gets_a_parcel_per_package() {
        let packages = [package("1", Some("T1")), package("2", None)];
        assert_eq!(
            place("D1", &packages, &[]),
            [
                Placed::New("pvx-D1-1".into()),
                Placed::New("pvx-D1-2".into())
            ]
        );
        // Names that make the same key still get two parcels.
        let clash = [package("1/2", None), package("1_2", None)];
        assert_eq!(
            place("D1", &clash, &[]),
            [
                Placed::New("pvx-D1-1_2".into()),
                Placed::New("pvx-D1-1_2-2".into())
            ]
        );
    }

    #[test]
    fn late_tracking_lands_on_the_untracked_parcel() {
        // The summary had no tracking number: one untracked parcel.
        let parcels = [parcel("pvx-D1-1", None)];
        // Then the second package's number came first.
        assert_eq!(
            place("D1", &[package("1", Some("LATE-2"))], &parcels),
            [existing("pvx-D1-1", None)]
        );
        // Booked: the parcel carries LATE-2. Then both are known.
        let parcels = [parcel("pvx-D1-1", Some("LATE-2"))];
        let both = [package("1", Some("LATE-1")), package("2", Some("LATE-2"))];
        let placed = place("D1", &both, &parcels);
        assert_eq!(
            placed,
            [
                Placed::New("pvx-D1-1-2".into()),
                existing("pvx-D1-1", Some("LATE-2"))
            ]
        );
        // Booked again: nothing is new.
        let parcels = [
            parcel("pvx-D1-1", Some("LATE-2")),
            parcel("pvx-D1-1-2", Some("LATE-1")),
        ];
        assert_eq!(
            place("D1", &both, &parcels),
            [
                existing("pvx-D1-1-2", Some("LATE-1")),
                existing("pvx-D1-1", Some("LATE-2"))
            ]
        );
    }

    #[test]
    fn a_package_seen_first_in_the_summary_and_then_in_the_template_stays_one_parcel() {
        // Booked from the summary: one parcel per tracking number.
        let parcels = [
            parcel("pvx-D1-1", Some("T-A")),
            parcel("pvx-D1-2", Some("T-B")),
        ];
        // The template names them otherwise, in another order, and adds an untracked one.
        let template = [
            package("PKG-7", Some("T-B")),
            package("PKG-8", Some("T-A")),
            package("PKG-9", None),
        ];
        assert_eq!(
            place("D1", &template, &parcels),
            [
                existing("pvx-D1-2", Some("T-B")),
                existing("pvx-D1-1", Some("T-A")),
                Placed::New("pvx-D1-PKG-9".into())
            ]
        );
        // An untracked summary parcel is the template's untracked package.
        let parcels = [parcel("pvx-D1-1", None)];
        assert_eq!(
            place("D1", &[package("PKG-7", None)], &parcels),
            [existing("pvx-D1-1", None)]
        );
    }

    #[test]
    fn a_tracking_number_on_a_keyless_parcel_is_left_alone() {
        let parcels = [Parcel {
            key: None,
            tracking: Some("T1".into()),
        }];
        assert_eq!(
            place("D1", &[package("1", Some("T1"))], &parcels),
            [Placed::Keyless]
        );
        // A keyless parcel is never claimed for another package.
        assert_eq!(
            place("D1", &[package("1", Some("T2"))], &parcels),
            [Placed::New("pvx-D1-1".into())]
        );
    }
}
