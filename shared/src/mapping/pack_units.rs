//! Which commercetools SKUs sell a Peoplevox item, and how many Peoplevox units each one
//! takes: the item itself (factor 1) and every pack configured in `orders.units_of_measure`.

use std::collections::BTreeMap;

use crate::config::UnitOfMeasure;

/// Peoplevox item code → the commercetools SKUs that draw on it, with their factors; and back.
#[derive(Debug, Clone, Default)]
pub struct SkuMap {
    packs: BTreeMap<String, Vec<(String, u32)>>,
    factors: BTreeMap<String, (String, u32)>,
}

impl SkuMap {
    pub fn new(units: &BTreeMap<String, UnitOfMeasure>) -> Self {
        let mut map = Self::default();
        for (sku, uom) in units {
            let item = uom.item_code.clone().unwrap_or_else(|| sku.clone());
            map.packs
                .entry(item.clone())
                .or_default()
                .push((sku.clone(), uom.factor));
            map.factors.insert(sku.clone(), (item, uom.factor));
        }
        map
    }

    /// The SKUs selling `item`, each with its factor; the item's own code comes first.
    pub fn skus_of(&self, item: &str) -> Vec<(String, u32)> {
        let mut skus = vec![(item.to_string(), 1)];
        if let Some(packs) = self.packs.get(item) {
            skus.extend(packs.iter().filter(|(sku, _)| sku != item).cloned());
        }
        // A pack configured under the item's own code replaces the factor-1 default.
        if let Some((_, factor)) = self.factors.get(item) {
            skus[0].1 = *factor;
        }
        skus
    }

    /// The Peoplevox item and factor behind a commercetools SKU.
    pub fn item_of<'a>(&'a self, sku: &'a str) -> (&'a str, u32) {
        match self.factors.get(sku) {
            Some((item, factor)) => (item, *factor),
            None => (sku, 1),
        }
    }
}

/// `SOCK-3PK`, three `SOCK` units: the pack of the tests' examples.
#[cfg(test)]
pub(crate) fn sock_packs() -> SkuMap {
    SkuMap::new(&BTreeMap::from([(
        "SOCK-3PK".to_string(),
        UnitOfMeasure {
            item_code: Some("SOCK".into()),
            factor: 3,
        },
    )]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_share_their_item() {
        let units = BTreeMap::from([(
            "SOCK-3PK".to_string(),
            UnitOfMeasure {
                item_code: Some("SOCK".into()),
                factor: 3,
            },
        )]);
        let map = SkuMap::new(&units);
        assert_eq!(
            map.skus_of("SOCK"),
            vec![("SOCK".to_string(), 1), ("SOCK-3PK".to_string(), 3)]
        );
        assert_eq!(map.item_of("SOCK-3PK"), ("SOCK", 3));
        assert_eq!(map.item_of("HAT"), ("HAT", 1));
        assert_eq!(map.skus_of("HAT"), vec![("HAT".to_string(), 1)]);
    }
}
