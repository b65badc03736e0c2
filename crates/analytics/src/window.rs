//! One tumbling window of event time: the sums of its orders broken down by every
//! dimension, per (region, category) cell, so that any region and category filter can be
//! answered exactly from the same data.

use super::totals::Totals;
use crate::order::{Category, Order, Payment, Region};

/// Where an order falls in every breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    /// Index into [`Region::ALL`].
    pub region: usize,
    /// Index into the active categories.
    pub category: usize,
    /// Index into the region's stores.
    pub store: usize,
    /// Index into the category's products.
    pub product: usize,
    /// Index into the category's brands.
    pub brand: usize,
    /// Index into [`Channel::ALL`](crate::order::Channel::ALL).
    pub channel: usize,
    /// Index into [`Device::ALL`](crate::order::Device::ALL).
    pub device: usize,
    /// Index into [`Payment::ALL`](crate::order::Payment::ALL).
    pub payment: usize,
    /// Whether the customer bought before.
    pub repeat: bool,
}

impl Keys {
    /// The keys of an order; `None` if its category is not one of `categories` (an
    /// order checked against another catalogue) or its text is not in that category.
    pub fn of(order: &Order, categories: &[Category], repeat: bool) -> Option<Keys> {
        // Orders point into the catalogue, so comparing addresses usually settles it; the
        // text comparison covers an equal copy.
        let position = |list: &[&str], value: &str| {
            list.iter()
                .position(|v| std::ptr::eq(v.as_ptr(), value.as_ptr()) && v.len() == value.len())
                .or_else(|| list.iter().position(|v| *v == value))
        };
        let category = order.kategoria_produktu;
        let known = categories
            .get(category.index)
            .filter(|c| std::ptr::eq(*c, category) || c.name == category.name)?;
        Some(Keys {
            region: order.region.index(),
            category: category.index,
            store: order.region.stores().iter().position(|s| s.id == order.store_id)?,
            product: position(known.products, order.nazwa_produktu)?,
            brand: position(known.brands, order.marka)?,
            channel: order.sales_channel.index(),
            device: order.device_type.index(),
            payment: order.payment_method.index(),
            repeat,
        })
    }
}

/// The breakdowns of one (region, category) cell of a window.
#[derive(Debug, Clone)]
pub struct Cell {
    /// All orders of the cell.
    pub totals: Totals,
    /// Per store of the region.
    pub stores: Vec<Totals>,
    /// Per product of the category.
    pub products: Vec<Totals>,
    /// Per brand of the category.
    pub brands: Vec<Totals>,
    /// Per channel.
    pub channels: [Totals; 2],
    /// Per device.
    pub devices: [Totals; 3],
    /// Per payment method.
    pub payments: [Totals; Payment::ALL.len()],
    /// New, then repeat customers.
    pub customers: [Totals; 2],
}

/// One window: cells indexed by `region * categories + category`, made on first use.
#[derive(Debug, Clone)]
pub struct Window {
    /// Cells, `None` until an order lands in them.
    pub cells: Vec<Option<Box<Cell>>>,
}

impl Window {
    /// An empty window for a catalogue of `categories` categories.
    pub fn new(categories: usize) -> Window {
        Window { cells: vec![None; Region::ALL.len() * categories] }
    }

    /// Adds an order at `keys`.
    pub fn add(&mut self, order: &Order, keys: &Keys, categories: &[Category]) {
        let slot = &mut self.cells[keys.region * categories.len() + keys.category];
        let cell = slot.get_or_insert_with(|| {
            let category = &categories[keys.category];
            Box::new(Cell {
                totals: Totals::default(),
                stores: vec![Totals::default(); Region::ALL[keys.region].stores().len()],
                products: vec![Totals::default(); category.products.len()],
                brands: vec![Totals::default(); category.brands.len()],
                channels: Default::default(),
                devices: Default::default(),
                payments: Default::default(),
                customers: Default::default(),
            })
        });
        cell.totals.add(order);
        cell.stores[keys.store].add(order);
        cell.products[keys.product].add(order);
        cell.brands[keys.brand].add(order);
        cell.channels[keys.channel].add(order);
        cell.devices[keys.device].add(order);
        cell.payments[keys.payment].add(order);
        cell.customers[usize::from(keys.repeat)].add(order);
    }
}
