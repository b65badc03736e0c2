//! Repeat buyers: a bounded pool of earlier customer ids.

use rand::Rng;
use uuid::Uuid;

/// Share of orders placed by a returning customer (40%: repeat buyers, a fixed share of the built-in scenario).
pub const REPEAT_SHARE: f64 = 0.4;
/// Default number of remembered customers; 16 bytes each.
pub const DEFAULT_POOL_SIZE: usize = 100_000;

/// Remembers at most `capacity` customers, so memory stays flat on endless runs; once
/// full, a new customer replaces a random remembered one.
#[derive(Debug, Clone)]
pub struct CustomerPool {
    ids: Vec<Uuid>,
    capacity: usize,
}

impl CustomerPool {
    /// An empty pool holding at most `capacity` ids (at least one).
    pub fn new(capacity: usize) -> Self {
        CustomerPool { ids: Vec::new(), capacity: capacity.max(1) }
    }

    /// The buyer of the next order: 40% an earlier one (once there is one), else new.
    pub fn next(&mut self, rng: &mut impl Rng) -> Uuid {
        if !self.ids.is_empty() && rng.random_bool(REPEAT_SHARE) {
            return self.ids[rng.random_range(0..self.ids.len())];
        }
        let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
        if self.ids.len() < self.capacity {
            self.ids.push(id);
        } else {
            let slot = rng.random_range(0..self.capacity);
            self.ids[slot] = id;
        }
        id
    }

    /// How many customers are remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True before the first order.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::SmallRng, SeedableRng};
    use std::collections::HashSet;

    #[test]
    fn about_forty_percent_repeat_and_memory_is_bounded() {
        let mut rng = SmallRng::seed_from_u64(7);
        let mut pool = CustomerPool::new(1_000);
        let mut seen = HashSet::new();
        let n = 100_000;
        let repeats = (0..n).filter(|_| !seen.insert(pool.next(&mut rng))).count();
        let share = repeats as f64 / n as f64;
        // Binomial sd at n=100k is 0.0015; allow 5 sd.
        assert!((share - REPEAT_SHARE).abs() < 0.008, "repeat share {share}");
        assert_eq!(pool.len(), 1_000);
    }
}
