//! New or repeat customer, in bounded memory.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use uuid::Uuid;

/// Customer ids are random UUIDs, so eight of their bytes are already a good hash; this
/// skips SipHash on the consumer's hot path.
#[derive(Debug, Default)]
pub(super) struct UuidHasher(u64);

impl Hasher for UuidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(29) ^ u64::from_le_bytes(word);
        }
    }
}

type UuidSet = HashSet<Uuid, BuildHasherDefault<UuidHasher>>;

/// Remembers recent customers in two generations of at most `capacity` ids each: when
/// the current one is full, the older one is dropped. A customer unseen for that long
/// counts as new again; memory stays below about 2 x capacity x 40 bytes.
#[derive(Debug)]
pub struct SeenCustomers {
    current: UuidSet,
    previous: UuidSet,
    capacity: usize,
}

impl SeenCustomers {
    /// An empty memory of `capacity` ids per generation.
    pub fn new(capacity: usize) -> Self {
        SeenCustomers { current: UuidSet::default(), previous: UuidSet::default(), capacity: capacity.max(1) }
    }

    /// Records `id`; true if it was seen before.
    pub fn visit(&mut self, id: Uuid) -> bool {
        if self.current.contains(&id) {
            return true;
        }
        let seen = self.previous.contains(&id);
        if self.current.len() >= self.capacity {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(id);
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_recognised_and_memory_is_bounded() {
        let mut seen = SeenCustomers::new(100);
        let ids: Vec<Uuid> = (0..1000u128).map(Uuid::from_u128).collect();
        assert!(!seen.visit(ids[0]));
        assert!(seen.visit(ids[0]));
        for id in &ids[1..] {
            seen.visit(*id);
        }
        assert!(seen.current.len() <= 100 && seen.previous.len() <= 100);
        assert!(seen.visit(ids[999]));
        assert!(!seen.visit(ids[1]), "forgotten long ago");
    }
}
