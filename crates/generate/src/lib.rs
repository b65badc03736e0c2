//! The order generator, the first stage of the data path.
//!
//! Makes realistic electronics orders. What is bought, where and when follows a
//! scenario's load curve ([`load`]): the hour of the day, the weekday, store opening
//! hours and Polish holidays ([`calendar`]), seasons and promotions ([`scenario`]).
//! Arrivals form a Poisson process at the curve's rate ([`Generator::next_arrival`]);
//! [`source`] turns them into a live or a backfilled stream. The prototype's defects are
//! fixed: ids are unique across runs and producers ([`ids`]), timestamps carry their UTC
//! offset, the repeat-customer pool is bounded ([`customers`]).
//!
//! With a seed, the random content is the same on every run; [`Generator::order_at`]
//! takes the time explicitly and so gives fully reproducible orders, and a backfill with
//! a seed is byte-for-byte reproducible.

// The crates below this one, under the names the modules use.
use orderstream_model::{self as order, clock};
use orderstream_runtime::{shutdown, stats};

pub mod calendar;
pub mod customers;
pub mod ids;
pub mod load;
pub mod mix;
pub mod pacing;
pub mod scenario;
pub mod source;

#[cfg(test)]
mod realism_tests;
#[cfg(test)]
mod scenario_tests;

use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::order::{gross_value, EventTime, Order};
use crate::order::{Channel, Region};
use customers::CustomerPool;
use ids::IdAllocator;
use load::{HourPlan, LoadModel, IN_STORE};

/// The catalogue of the built-in scenario: the order record's categories with the lowest prices its
/// promotions allow. Compiled once, on first use.
pub fn builtin_catalogue() -> order::Catalogue {
    static BUILTIN: std::sync::OnceLock<order::Catalogue> = std::sync::OnceLock::new();
    *BUILTIN.get_or_init(|| LoadModel::builtin().catalogue())
}

const MICROS_PER_HOUR: i64 = 3_600_000_000;
/// A Poisson process that finds no demand for this long has none at all.
const MAX_EMPTY_HOURS: u32 = 2 * 366 * 24;

/// Settings of one generator.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    /// Seed of the random content; `None` draws one from the OS.
    pub seed: Option<u64>,
    /// Producer instance part of the ids (0-1023); `None` draws one.
    pub instance: Option<u16>,
    /// How many earlier customers are remembered for repeat purchases.
    pub customer_pool: usize,
    /// The load curve and catalogue (a compiled scenario).
    pub model: Arc<LoadModel>,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            seed: None,
            instance: None,
            customer_pool: customers::DEFAULT_POOL_SIZE,
            model: Arc::new(LoadModel::builtin()),
        }
    }
}

/// An endless source of orders.
#[derive(Debug, Clone)]
pub struct Generator {
    rng: SmallRng,
    ids: IdAllocator,
    instance: u16,
    customers: CustomerPool,
    model: Arc<LoadModel>,
    plan: HourPlan,
}

impl Generator {
    /// A generator with the given settings.
    pub fn new(config: &GeneratorConfig) -> Self {
        let rng = match config.seed {
            Some(seed) => SmallRng::seed_from_u64(seed),
            None => SmallRng::from_os_rng(),
        };
        // The instance is drawn from the OS, never from the seeded stream: two producers
        // started with the same seed must still get different ids.
        let instance =
            config.instance.unwrap_or_else(|| SmallRng::from_os_rng().random_range(0..ids::INSTANCES));
        Generator {
            rng,
            ids: IdAllocator::new(instance),
            instance,
            customers: CustomerPool::new(config.customer_pool),
            plan: config.model.plan(0),
            model: config.model.clone(),
        }
    }

    /// The instance part of this generator's ids.
    pub fn instance(&self) -> u16 {
        self.instance
    }

    /// The load model in use.
    pub fn model(&self) -> &LoadModel {
        &self.model
    }

    /// The next order, stamped with the current wall-clock time.
    pub fn next_order(&mut self) -> Order {
        self.order_at(clock::now_micros())
    }

    /// The next arrival of the Poisson process after `after` (µs since the Unix epoch,
    /// fractional): exponential gaps at the hour's rate, restarted at each hour boundary
    /// (the process is memoryless). `None` if no hour for two years expects an order.
    pub fn next_arrival(&mut self, after: f64) -> Option<f64> {
        let mut t = after;
        let mut empty_hours = 0;
        loop {
            let hour = (t.floor() as i64).div_euclid(MICROS_PER_HOUR);
            self.plan_hour(hour);
            let end = ((hour + 1) * MICROS_PER_HOUR) as f64;
            if self.plan.rate_per_sec > 0.0 {
                let gap = -(1.0 - self.rng.random::<f64>()).ln() / self.plan.rate_per_sec * 1e6;
                if t + gap < end {
                    return Some(t + gap);
                }
            } else {
                empty_hours += 1;
                if empty_hours > MAX_EMPTY_HOURS {
                    return None;
                }
            }
            t = end;
        }
    }

    /// The next order, stamped with `utc_micros`; what it is follows the load curve at
    /// that time (e.g. no in-store order while stores are closed).
    ///
    /// ```
    /// use orderstream_generate::{Generator, GeneratorConfig};
    /// let config = GeneratorConfig { seed: Some(7), instance: Some(1), ..Default::default() };
    /// let (mut a, mut b) = (Generator::new(&config), Generator::new(&config));
    /// let t = 1_795_000_000_000_000; // microseconds since the Unix epoch
    /// assert_eq!(a.order_at(t), b.order_at(t));
    /// ```
    pub fn order_at(&mut self, utc_micros: i64) -> Order {
        self.plan_hour(utc_micros.div_euclid(MICROS_PER_HOUR));
        let timestamp = EventTime { utc_micros, offset_secs: self.plan.offset_secs };
        let id = self.ids.next(timestamp.utc_millis());
        let cell = self.plan.pick(self.rng.random());
        let category = &self.model.categories()[usize::from(cell.category)];
        let rng = &mut self.rng;

        let mix = self.model.mix();

        let region = Region::ALL[usize::from(cell.region)];
        let store = &region.stores()[mix.store(region, rng.random())];
        let in_store = usize::from(cell.channel) == IN_STORE;
        let sales_channel = if in_store { Channel::InStore } else { Channel::Online };
        let device_type = match sales_channel.devices() {
            [only] => *only,
            devices => devices[rng.random_range(0..devices.len())],
        };
        let customer_id = self.customers.next(rng);
        let (product, marka, list_price) = if category.items.is_empty() {
            // A category in the prototype's form: name, brand and price drawn uniformly.
            (
                category.products[rng.random_range(0..category.products.len())],
                category.brands[rng.random_range(0..category.brands.len())],
                rng.random_range(category.min_price_grosz..=category.max_price_grosz),
            )
        } else {
            let item = &category.items[mix.product(category.index, rng.random())];
            (item.name, item.brand, item.price_grosz)
        };
        let ilosc = mix.quantity(category.index, rng.random());
        let cena_netto = load::discounted(list_price, cell.discount);
        let wartosc_brutto = gross_value(cena_netto, ilosc);
        let payment_method = mix.payment(sales_channel, wartosc_brutto, rng.random());
        let sprzedawca = in_store.then(|| store.salespeople[rng.random_range(0..store.salespeople.len())]);

        Order {
            id,
            timestamp,
            store_id: store.id,
            region,
            sales_channel,
            device_type,
            customer_id,
            payment_method,
            nazwa_produktu: product,
            marka,
            kategoria_produktu: category,
            ilosc,
            cena_netto,
            wartosc_brutto,
            sprzedawca,
        }
    }

    fn plan_hour(&mut self, hour: i64) {
        if self.plan.hour != hour {
            self.plan = self.model.plan(hour);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{decode_json, write_json};
    use proptest::prelude::*;

    fn seeded(seed: u64) -> Generator {
        Generator::new(&GeneratorConfig { seed: Some(seed), instance: Some(5), ..Default::default() })
    }

    const T0: i64 = 1_795_000_000_000_000;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Every generated order passes the consumer's full validation, survives the JSON
        /// round trip unchanged, and keeps the invariants the decoder does not need to see.
        #[test]
        fn generated_orders_are_valid_and_round_trip(seed in any::<u64>(), start in 0i64..4_000_000_000_000_000) {
            let mut g = seeded(seed);
            let mut buf = Vec::new();
            for i in 0..200 {
                let order = g.order_at(start + i * 997_000);
                buf.clear();
                write_json(&order, &mut buf);
                let back = decode_json(&buf, &g.model().catalogue()).map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&buf))))?;
                prop_assert_eq!(back, order);
                prop_assert_eq!(order.wartosc_brutto, (order.cena_netto * i64::from(order.ilosc) * 123 + 50) / 100);
                prop_assert_eq!(order.sprzedawca.is_some(), order.sales_channel == Channel::InStore);
            }
        }

        #[test]
        fn same_seed_same_orders(seed in any::<u64>()) {
            let (mut a, mut b) = (seeded(seed), seeded(seed));
            for i in 0..100 {
                prop_assert_eq!(a.order_at(T0 + i), b.order_at(T0 + i));
            }
        }
    }

    #[test]
    fn different_instances_never_share_ids() {
        let mut a =
            Generator::new(&GeneratorConfig { seed: Some(1), instance: Some(1), ..Default::default() });
        let mut b =
            Generator::new(&GeneratorConfig { seed: Some(1), instance: Some(2), ..Default::default() });
        let mut seen = std::collections::HashSet::new();
        for i in 0..20_000 {
            assert!(seen.insert(a.order_at(T0 + i).id));
            assert!(seen.insert(b.order_at(T0 + i).id));
        }
    }
}
