//! One tumbling window of event time: the sums of its orders broken down by every
//! dimension, per (region, category) cell, so that any region and category filter can be
//! answered exactly from the same data.

use super::totals::Totals;
use crate::generate::catalogue::{Category, IN_STORE_DEVICE, ONLINE_DEVICES, PAYMENT_METHODS, REGIONS};
use crate::order::Order;

/// Devices in index order: the online ones, then the store.
pub const DEVICES: [&str; 3] = [ONLINE_DEVICES[0], ONLINE_DEVICES[1], IN_STORE_DEVICE];
/// Channels in index order.
pub const CHANNELS: [&str; 2] = ["online", "in_store"];

/// Where an order falls in every breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    /// Index into [`REGIONS`].
    pub region: usize,
    /// Index into the active categories.
    pub category: usize,
    /// Index into the region's stores.
    pub store: usize,
    /// Index into the category's products.
    pub product: usize,
    /// Index into the category's brands.
    pub brand: usize,
    /// Index into [`CHANNELS`].
    pub channel: usize,
    /// Index into [`DEVICES`].
    pub device: usize,
    /// Index into [`PAYMENT_METHODS`].
    pub payment: usize,
    /// Whether the customer bought before.
    pub repeat: bool,
}

impl Keys {
    /// The keys of a decoded order; `None` if it names something outside the catalogue
    /// (the decoder never lets such an order through).
    pub fn of(order: &Order, categories: &[Category], repeat: bool) -> Option<Keys> {
        // Decoded and generated orders point into the catalogue, so comparing addresses
        // usually settles it; the text comparison covers any other order.
        let position = |list: &[&str], value: &str| {
            list.iter()
                .position(|v| std::ptr::eq(v.as_ptr(), value.as_ptr()) && v.len() == value.len())
                .or_else(|| list.iter().position(|v| *v == value))
        };
        let names = |i: usize| REGIONS[i].name;
        let region = (0..REGIONS.len())
            .find(|i| std::ptr::eq(names(*i), order.region))
            .or_else(|| REGIONS.iter().position(|r| r.name == order.region))?;
        let category = (0..categories.len())
            .find(|i| std::ptr::eq(categories[*i].name, order.kategoria_produktu))
            .or_else(|| categories.iter().position(|c| c.name == order.kategoria_produktu))?;
        Some(Keys {
            region,
            category,
            store: REGIONS[region]
                .stores
                .iter()
                .position(|s| std::ptr::eq(s.city, order.store_id))
                .or_else(|| REGIONS[region].stores.iter().position(|s| s.city == order.store_id))?,
            product: position(categories[category].products, order.nazwa_produktu)?,
            brand: position(categories[category].brands, order.marka)?,
            channel: position(&CHANNELS, order.sales_channel)?,
            device: position(&DEVICES, order.device_type)?,
            payment: position(PAYMENT_METHODS, order.payment_method)?,
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
    pub payments: [Totals; 5],
    /// New, then repeat customers.
    pub customers: [Totals; 2],
}

/// One window: cells indexed by `region * categories + category`, made on first use.
#[derive(Debug, Clone)]
pub struct Window {
    /// Cells, `None` until an order lands in them.
    pub cells: Vec<Option<Box<Cell>>>,
    /// Late orders that still updated this window (within the allowed lateness).
    pub late_updates: u64,
}

impl Window {
    /// An empty window for a catalogue of `categories` categories.
    pub fn new(categories: usize) -> Window {
        Window { cells: vec![None; REGIONS.len() * categories], late_updates: 0 }
    }

    /// Adds an order at `keys`.
    pub fn add(&mut self, order: &Order, keys: &Keys, categories: &[Category]) {
        let slot = &mut self.cells[keys.region * categories.len() + keys.category];
        let cell = slot.get_or_insert_with(|| {
            let category = &categories[keys.category];
            Box::new(Cell {
                totals: Totals::default(),
                stores: vec![Totals::default(); REGIONS[keys.region].stores.len()],
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
