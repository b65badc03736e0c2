//! Flow control between the producer and the sinks of `run` on the embedded broker.
//!
//! The embedded broker (librdkafka's mock cluster) keeps at most 5 MB of batches per
//! partition and silently drops the oldest beyond that. A producer that runs ahead of
//! the consumers would therefore lose orders. The window bounds what is in flight or in
//! the broker but not yet durable in every sink, well under that limit, so nothing is
//! ever dropped: the producer waits for the slowest sink instead.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::shutdown::Shutdown;

/// Uncompressed payload bytes the window admits: under the mock broker's 5 MB per
/// partition even if every order went to one partition and compression gained nothing.
pub const WINDOW_BYTES: usize = 3 << 20;
/// The most orders in the window, whatever their size.
const WINDOW_MAX_ORDERS: usize = 100_000;

/// One sink's durable position: the next offset per partition that it holds durably.
type Position = BTreeMap<i32, i64>;

/// How far the producer may be ahead of the slowest registered sink.
#[derive(Debug, Default)]
pub struct FlowWindow {
    /// Next offset per partition that the broker has acknowledged.
    delivered: Mutex<Position>,
    /// Each registered sink's position; `None` once it ended (it no longer holds the
    /// producer back).
    sinks: Mutex<Vec<Option<Position>>>,
    /// Largest payload seen, to turn [`WINDOW_BYTES`] into a number of orders.
    max_payload: AtomicUsize,
    /// True while the producer waits for the sinks: a batching sink should flush.
    waiting: AtomicBool,
}

/// A sink's handle on the window; dropping it releases the producer from this sink.
#[derive(Debug)]
pub struct SinkSlot {
    window: Arc<FlowWindow>,
    index: usize,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FlowWindow {
    /// Registers a sink that the producer must not outrun, until the slot is dropped.
    pub fn register(self: &Arc<Self>) -> SinkSlot {
        let mut sinks = locked(&self.sinks);
        sinks.push(Some(Position::new()));
        SinkSlot { window: self.clone(), index: sinks.len() - 1 }
    }

    /// Records a delivery acknowledged at `offset`.
    pub fn delivered(&self, partition: i32, offset: i64) {
        let mut delivered = locked(&self.delivered);
        let next = delivered.entry(partition).or_insert(0);
        *next = (*next).max(offset + 1);
    }

    /// Notes the size of a payload about to be sent.
    pub fn payload(&self, bytes: usize) {
        self.max_payload.fetch_max(bytes, Ordering::Relaxed);
    }

    /// The most orders the window admits with the payloads seen so far.
    pub fn capacity(&self) -> usize {
        let largest = self.max_payload.load(Ordering::Relaxed).max(1);
        (WINDOW_BYTES / largest).clamp(64, WINDOW_MAX_ORDERS)
    }

    /// Orders acknowledged by the broker but not yet durable in the slowest sink.
    pub fn in_broker(&self) -> u64 {
        let delivered = locked(&self.delivered).clone();
        let sinks = locked(&self.sinks);
        let mut behind = 0u64;
        for (partition, next) in delivered {
            let slowest = sinks
                .iter()
                .flatten()
                .map(|position| position.get(&partition).copied().unwrap_or(0))
                .min()
                .unwrap_or(next);
            behind += (next - slowest).max(0) as u64;
        }
        behind
    }

    /// How many more orders may be sent now, given the orders not yet acknowledged
    /// (`in_flight`, asked again after each wait); waits, while telling the sinks so,
    /// until there is room for at least one. `None` when a stop is asked meanwhile.
    pub fn admit(&self, in_flight: impl Fn() -> u64, shutdown: &Shutdown) -> Option<usize> {
        loop {
            let used = in_flight() + self.in_broker();
            let capacity = self.capacity() as u64;
            if used < capacity {
                self.waiting.store(false, Ordering::Relaxed);
                return Some((capacity - used) as usize);
            }
            self.waiting.store(true, Ordering::Relaxed);
            if shutdown.requested() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// True while the producer waits for the sinks.
    pub fn producer_waiting(&self) -> bool {
        self.waiting.load(Ordering::Relaxed)
    }
}

impl SinkSlot {
    /// Records that the sink holds everything below these offsets durably.
    pub fn durable(&self, offsets: impl IntoIterator<Item = (i32, i64)>) {
        let mut sinks = locked(&self.window.sinks);
        if let Some(Some(position)) = sinks.get_mut(self.index) {
            for (partition, next) in offsets {
                let entry = position.entry(partition).or_insert(0);
                *entry = (*entry).max(next);
            }
        }
    }
}

impl Drop for SinkSlot {
    fn drop(&mut self) {
        if let Some(slot) = locked(&self.window.sinks).get_mut(self.index) {
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_producer_waits_for_the_slowest_sink_and_not_for_an_ended_one() {
        let window = Arc::new(FlowWindow::default());
        window.payload(WINDOW_BYTES / 100);
        assert_eq!(window.capacity(), 100);
        let (fast, slow) = (window.register(), window.register());
        for offset in 0..60 {
            window.delivered((offset % 2) as i32, offset / 2);
        }
        let shutdown = Shutdown::new();
        assert_eq!(window.admit(|| 10, &shutdown), Some(30), "60 in the broker, 10 in flight");
        fast.durable([(0, 30), (1, 30)]);
        slow.durable([(0, 10)]);
        assert_eq!(window.in_broker(), 20 + 30, "the slow sink holds partition 1 back entirely");
        // Full: the wait ends only with a stop...
        shutdown.request();
        assert_eq!(window.admit(|| 50, &shutdown), None);
        assert!(window.producer_waiting());
        // ...or when the slow sink ends.
        drop(slow);
        assert_eq!(window.admit(|| 0, &Shutdown::new()), Some(100));
        assert!(!window.producer_waiting());
    }

    #[test]
    fn large_payloads_shrink_the_window_within_bounds() {
        let window = FlowWindow::default();
        assert_eq!(window.capacity(), WINDOW_MAX_ORDERS);
        window.payload(400);
        assert_eq!(window.capacity(), WINDOW_BYTES / 400);
        window.payload(1 << 30);
        assert_eq!(window.capacity(), 64);
    }
}
