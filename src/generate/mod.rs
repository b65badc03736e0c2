//! Stage 1: the order generator.
//!
//! Makes realistic electronics orders with the prototype's distributions (see SPEC), and
//! fixes its defects: ids are unique across runs and producers ([`ids`]), timestamps carry
//! their UTC offset, the repeat-customer pool is bounded ([`customers`]).
//!
//! With a seed, the random content of the stream (everything but `id` and `timestamp`,
//! which come from the clock) is the same on every run; [`Generator::order_at`] takes the
//! time explicitly and so gives fully reproducible orders.

pub mod catalogue;
pub mod customers;
pub mod ids;
pub mod pacing;

use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::order::{gross_value, EventTime, Order};
use catalogue::{Category, IN_STORE_DEVICE, ONLINE_DEVICES, PAYMENT_METHODS, REGIONS};
use customers::CustomerPool;
use ids::IdAllocator;

/// Settings of one generator.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    /// Seed of the random content; `None` draws one from the OS.
    pub seed: Option<u64>,
    /// Producer instance part of the ids (0-1023); `None` draws one.
    pub instance: Option<u16>,
    /// How many earlier customers are remembered for repeat purchases.
    pub customer_pool: usize,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig { seed: None, instance: None, customer_pool: customers::DEFAULT_POOL_SIZE }
    }
}

/// An endless source of orders.
#[derive(Debug, Clone)]
pub struct Generator {
    rng: SmallRng,
    ids: IdAllocator,
    instance: u16,
    customers: CustomerPool,
    products: Vec<(&'static str, &'static Category)>,
    offset_cache: OffsetCache,
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
            products: catalogue::product_pairs(),
            offset_cache: OffsetCache::default(),
        }
    }

    /// The instance part of this generator's ids.
    pub fn instance(&self) -> u16 {
        self.instance
    }

    /// The next order, stamped with the current wall-clock time.
    pub fn next_order(&mut self) -> Order {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0);
        self.order_at(now)
    }

    /// The next order, stamped with `utc_micros`.
    ///
    /// ```
    /// use orderstream::generate::{Generator, GeneratorConfig};
    /// let config = GeneratorConfig { seed: Some(7), instance: Some(1), ..Default::default() };
    /// let (mut a, mut b) = (Generator::new(&config), Generator::new(&config));
    /// let t = 1_795_000_000_000_000; // microseconds since the Unix epoch
    /// assert_eq!(a.order_at(t), b.order_at(t));
    /// ```
    pub fn order_at(&mut self, utc_micros: i64) -> Order {
        let timestamp = self.offset_cache.event_time(utc_micros);
        let id = self.ids.next(timestamp.utc_millis());
        let rng = &mut self.rng;

        let region = &REGIONS[rng.random_range(0..REGIONS.len())];
        let store = &region.stores[rng.random_range(0..region.stores.len())];
        let in_store = rng.random_bool(0.5);
        let (sales_channel, device_type) = if in_store {
            ("in_store", IN_STORE_DEVICE)
        } else {
            ("online", ONLINE_DEVICES[rng.random_range(0..ONLINE_DEVICES.len())])
        };
        let customer_id = self.customers.next(rng);
        let payment_method = PAYMENT_METHODS[rng.random_range(0..PAYMENT_METHODS.len())];
        let (product, category) = self.products[rng.random_range(0..self.products.len())];
        let marka = category.brands[rng.random_range(0..category.brands.len())];
        let ilosc = rng.random_range(1..=4u8);
        let cena_netto = rng.random_range(category.min_price_grosz..=category.max_price_grosz);
        let sprzedawca = in_store.then(|| store.salespeople[rng.random_range(0..store.salespeople.len())]);

        Order {
            id,
            timestamp,
            store_id: store.city,
            region: region.name,
            sales_channel,
            device_type,
            customer_id,
            payment_method,
            nazwa_produktu: product,
            marka,
            kategoria_produktu: category.name,
            ilosc,
            cena_netto,
            wartosc_brutto: gross_value(cena_netto, ilosc),
            sprzedawca,
        }
    }
}

/// Polish UTC offsets only change on whole UTC hours, so one lookup per hour is enough.
#[derive(Debug, Clone, Default)]
struct OffsetCache {
    hour: i64,
    offset_secs: i32,
    valid: bool,
}

impl OffsetCache {
    fn event_time(&mut self, utc_micros: i64) -> EventTime {
        let hour = utc_micros.div_euclid(3_600_000_000);
        if !self.valid || hour != self.hour {
            *self =
                OffsetCache { hour, offset_secs: EventTime::in_poland(utc_micros).offset_secs, valid: true };
        }
        EventTime { utc_micros, offset_secs: self.offset_secs }
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
                let back = decode_json(&buf).map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&buf))))?;
                prop_assert_eq!(back, order);
                prop_assert_eq!(order.wartosc_brutto, (order.cena_netto * i64::from(order.ilosc) * 123 + 50) / 100);
                prop_assert_eq!(order.sprzedawca.is_some(), order.sales_channel == "in_store");
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
    fn prototype_distributions_hold() {
        let mut g = seeded(42);
        let n = 60_000;
        let orders: Vec<Order> = (0..n).map(|i| g.order_at(T0 + i * 1000)).collect();
        let share =
            |pred: &dyn Fn(&Order) -> bool| orders.iter().filter(|o| pred(o)).count() as f64 / n as f64;
        // Binomial sd at n=60k is at most 0.002; tolerances are 5 sd.
        assert!((share(&|o| o.sales_channel == "online") - 0.5).abs() < 0.01);
        assert!((share(&|o| o.region == "Central") - 0.2).abs() < 0.01);
        assert!((share(&|o| o.store_id == "Warszawa") - 0.2).abs() < 0.01);
        assert!((share(&|o| o.kategoria_produktu == "Akcesoria") - 5.0 / 21.0).abs() < 0.01);
        assert!((share(&|o| o.payment_method == "blik") - 0.2).abs() < 0.01);
        assert!((share(&|o| o.ilosc == 4) - 0.25).abs() < 0.01);
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
