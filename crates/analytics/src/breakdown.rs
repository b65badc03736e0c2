//! The sums of the selected cells of the windows, per dimension: what a summary is
//! made of, gathered in one pass over the cells.

use std::collections::BTreeMap;

use crate::order::{Category, Channel, Device, Payment, Region};
use crate::totals::{Totals, TotalsReport};
use crate::window::Cell;
use crate::Ranked;

/// Running sums per region, category, channel, device, payment, customer kind, store,
/// product and brand.
pub(crate) struct Breakdown {
    categories: &'static [Category],
    pub(crate) total: Totals,
    by_region: Vec<Totals>,
    by_category: Vec<Totals>,
    by_channel: [Totals; 2],
    by_device: [Totals; 3],
    by_payment: [Totals; Payment::ALL.len()],
    pub(crate) customers: [Totals; 2],
    stores: Vec<Vec<Totals>>,
    products: Vec<Vec<Totals>>,
    brands: BTreeMap<&'static str, Totals>,
}

impl Breakdown {
    /// Empty sums over `categories`.
    pub(crate) fn new(categories: &'static [Category]) -> Breakdown {
        Breakdown {
            categories,
            total: Totals::default(),
            by_region: vec![Totals::default(); Region::ALL.len()],
            by_category: vec![Totals::default(); categories.len()],
            by_channel: Default::default(),
            by_device: Default::default(),
            by_payment: Default::default(),
            customers: Default::default(),
            stores: Region::ALL.iter().map(|r| vec![Totals::default(); r.stores().len()]).collect(),
            products: categories.iter().map(|c| vec![Totals::default(); c.products.len()]).collect(),
            brands: BTreeMap::new(),
        }
    }

    /// Adds the cell of `region` and `category` of one window.
    pub(crate) fn add(&mut self, region: usize, category: usize, cell: &Cell) {
        self.total.merge(&cell.totals);
        self.by_region[region].merge(&cell.totals);
        self.by_category[category].merge(&cell.totals);
        merge_all(&mut self.by_channel, &cell.channels);
        merge_all(&mut self.by_device, &cell.devices);
        merge_all(&mut self.by_payment, &cell.payments);
        merge_all(&mut self.customers, &cell.customers);
        merge_all(&mut self.stores[region], &cell.stores);
        merge_all(&mut self.products[category], &cell.products);
        for (b, totals) in cell.brands.iter().enumerate() {
            self.brands.entry(self.categories[category].brands[b]).or_default().merge(totals);
        }
    }

    /// Per region, by name.
    pub(crate) fn by_region(&self) -> BTreeMap<&'static str, TotalsReport> {
        named(Region::ALL.iter().map(|r| r.as_str()), &self.by_region)
    }

    /// Per category, by name.
    pub(crate) fn by_category(&self) -> BTreeMap<&'static str, TotalsReport> {
        named(self.categories.iter().map(|c| c.name), &self.by_category)
    }

    /// Per channel, by name.
    pub(crate) fn by_channel(&self) -> BTreeMap<&'static str, TotalsReport> {
        named(Channel::ALL.iter().map(|c| c.as_str()), &self.by_channel)
    }

    /// Per device, by name.
    pub(crate) fn by_device(&self) -> BTreeMap<&'static str, TotalsReport> {
        named(Device::ALL.iter().map(|d| d.as_str()), &self.by_device)
    }

    /// Per payment method, by name.
    pub(crate) fn by_payment(&self) -> BTreeMap<&'static str, TotalsReport> {
        named(Payment::ALL.iter().map(|p| p.as_str()), &self.by_payment)
    }

    /// The `top` products by gross value, with their category.
    pub(crate) fn top_products(&self, top: usize) -> Vec<Ranked> {
        let categories = self.categories;
        let entries = self.products.iter().enumerate().flat_map(|(c, list)| {
            list.iter().enumerate().map(move |(p, t)| Ranked {
                name: categories[c].products[p],
                group: categories[c].name,
                totals: t.report(),
            })
        });
        ranked(entries.collect(), top)
    }

    /// The `top` stores by gross value, with their region.
    pub(crate) fn top_stores(&self, top: usize) -> Vec<Ranked> {
        let entries = self.stores.iter().zip(Region::ALL).flat_map(|(list, region)| {
            list.iter().zip(region.stores()).map(|(t, store)| Ranked {
                name: store.id,
                group: region.as_str(),
                totals: t.report(),
            })
        });
        ranked(entries.collect(), top)
    }

    /// The `top` brands by gross value.
    pub(crate) fn top_brands(&self, top: usize) -> Vec<Ranked> {
        let entries = self.brands.iter().map(|(name, t)| Ranked { name, group: "", totals: t.report() });
        ranked(entries.collect(), top)
    }
}

fn merge_all(into: &mut [Totals], from: &[Totals]) {
    into.iter_mut().zip(from).for_each(|(a, b)| a.merge(b));
}

fn named(
    names: impl Iterator<Item = &'static str>,
    totals: &[Totals],
) -> BTreeMap<&'static str, TotalsReport> {
    names.zip(totals).map(|(n, t)| (n, t.report())).collect()
}

/// The entries with orders, by gross value (then name), at most `top`.
fn ranked(mut entries: Vec<Ranked>, top: usize) -> Vec<Ranked> {
    entries.retain(|e| e.totals.orders > 0);
    entries
        .sort_by(|a, b| b.totals.gross_value_grosz.cmp(&a.totals.gross_value_grosz).then(a.name.cmp(b.name)));
    entries.truncate(top);
    entries
}
