//! Order ids that stay unique across producer restarts and across concurrent producers.
//!
//! An id is a 63-bit number, like a Snowflake id:
//!
//! ```text
//! | 41 bits: ms since 2025-01-01 UTC | 10 bits: producer instance | 12 bits: sequence |
//! ```
//!
//! A restart starts at a later millisecond, so it cannot reuse an earlier run's ids; two
//! producers running at once differ in the instance part (give each its own `--instance`;
//! by default a random one is drawn and logged). Up to 4096 ids fit in one millisecond;
//! past that the allocator borrows the next millisecond instead of blocking, which is
//! safe while the average rate stays below 4 million ids per second.

/// Start of the id clock: 2025-01-01T00:00:00Z in ms since the Unix epoch.
pub const ID_EPOCH_MS: i64 = 1_735_689_600_000;
/// Number of distinct producer instances.
pub const INSTANCES: u16 = 1024;
const SEQUENCE_BITS: u32 = 12;
const INSTANCE_BITS: u32 = 10;
const MAX_SEQUENCE: u64 = (1 << SEQUENCE_BITS) - 1;

/// Hands out increasing ids for one producer instance.
#[derive(Debug, Clone)]
pub struct IdAllocator {
    instance: u64,
    last_ms: u64,
    sequence: u64,
}

impl IdAllocator {
    /// An allocator for `instance` (taken modulo [`INSTANCES`]).
    pub fn new(instance: u16) -> Self {
        IdAllocator { instance: u64::from(instance % INSTANCES), last_ms: 0, sequence: 0 }
    }

    /// The next id for an order created at `unix_ms`. Never repeats, never decreases,
    /// even if the wall clock steps back.
    pub fn next(&mut self, unix_ms: i64) -> u64 {
        let ms = (unix_ms - ID_EPOCH_MS).max(0) as u64;
        if ms > self.last_ms {
            self.last_ms = ms;
            self.sequence = 0;
        } else if self.sequence < MAX_SEQUENCE {
            self.sequence += 1;
        } else {
            self.last_ms += 1;
            self.sequence = 0;
        }
        (self.last_ms << (INSTANCE_BITS + SEQUENCE_BITS)) | (self.instance << SEQUENCE_BITS) | self.sequence
    }
}

/// The instance part of an id, e.g. to tell which producer made an order.
#[cfg(test)]
pub fn instance_of(id: u64) -> u16 {
    ((id >> SEQUENCE_BITS) & u64::from(INSTANCES - 1)) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_increase_within_a_millisecond_and_across_a_burst() {
        let mut ids = IdAllocator::new(3);
        let now = ID_EPOCH_MS + 1_000;
        let all: Vec<u64> = (0..10_000).map(|_| ids.next(now)).collect();
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert!(all.iter().all(|id| instance_of(*id) == 3));
    }

    #[test]
    fn a_restart_later_and_another_instance_never_collide() {
        let mut first = IdAllocator::new(1);
        let mut other = IdAllocator::new(2);
        let t = ID_EPOCH_MS + 5_000;
        let mut seen = HashSet::new();
        for i in 0..5_000 {
            assert!(seen.insert(first.next(t + i / 1000)));
            assert!(seen.insert(other.next(t + i / 1000)));
        }
        // A restart of instance 1 one millisecond after its last id.
        let mut restarted = IdAllocator::new(1);
        for _ in 0..5_000 {
            assert!(seen.insert(restarted.next(t + 6)));
        }
    }

    #[test]
    fn clock_stepping_back_does_not_repeat() {
        let mut ids = IdAllocator::new(0);
        let a = ids.next(ID_EPOCH_MS + 10_000);
        let b = ids.next(ID_EPOCH_MS + 9_000);
        assert!(b > a);
    }
}
