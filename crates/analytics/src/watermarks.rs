//! Event-time progress per source partition, so that a replay does not make orders late.
//!
//! Each partition of the topic is ordered in itself, but partitions are read at their
//! own pace: a reader from the earliest offset may be days ahead in one partition and
//! at the start of another. The watermark is therefore the minimum of the partitions'
//! latest event times, over the partitions that are not idle (Flink's model): an
//! assigned partition that has sent nothing yet holds it back, and one that has sent
//! nothing for the idle timeout (processing time) stops holding it back. It never goes
//! backwards.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One partition's progress.
#[derive(Debug, Clone, Copy)]
struct Mark {
    /// The latest event time seen (ms), `None` before its first order.
    latest_ms: Option<i64>,
    /// When it last sent an order, or was assigned.
    last_data: Instant,
}

/// The watermark of a set of partitions.
#[derive(Debug, Clone)]
pub struct Watermarks {
    marks: BTreeMap<i32, Mark>,
    idle: Duration,
    current_ms: Option<i64>,
}

impl Watermarks {
    /// No partitions yet; a partition silent for `idle` stops holding the watermark.
    pub fn new(idle: Duration) -> Watermarks {
        Watermarks { marks: BTreeMap::new(), idle, current_ms: None }
    }

    /// The partitions now read: new ones hold the watermark until their first order or
    /// until they have been idle for the timeout; ones no longer held stop counting.
    pub fn assign(&mut self, partitions: &[i32]) {
        let now = Instant::now();
        self.marks.retain(|p, _| partitions.contains(p));
        for &p in partitions {
            self.marks.entry(p).or_insert(Mark { latest_ms: None, last_data: now });
        }
    }

    /// An order of `partition` at event time `event_ms`; returns the watermark after it.
    pub fn observe(&mut self, partition: i32, event_ms: i64) -> Option<i64> {
        let now = Instant::now();
        let mark = self.marks.entry(partition).or_insert(Mark { latest_ms: None, last_data: now });
        mark.latest_ms = Some(mark.latest_ms.map_or(event_ms, |t| t.max(event_ms)));
        mark.last_data = now;
        self.advance(now)
    }

    /// The watermark as last computed, without looking at the clock.
    pub fn latest(&self) -> Option<i64> {
        self.current_ms
    }

    /// The watermark (ms): no order at or before it is expected any more.
    pub fn current(&mut self) -> Option<i64> {
        self.advance(Instant::now())
    }

    fn advance(&mut self, now: Instant) -> Option<i64> {
        // The minimum over active partitions; an active one with no order yet holds
        // everything back. With none active, the latest event of any partition.
        let mut active = false;
        let mut held = false;
        let mut slowest = i64::MAX;
        let mut latest: Option<i64> = None;
        for mark in self.marks.values() {
            latest = latest.max(mark.latest_ms);
            if now.duration_since(mark.last_data) < self.idle {
                active = true;
                match mark.latest_ms {
                    Some(t) => slowest = slowest.min(t),
                    None => held = true,
                }
            }
        }
        let candidate = match (active, held) {
            (true, true) => None,
            (true, false) => Some(slowest),
            (false, _) => latest,
        };
        if let Some(t) = candidate {
            self.current_ms = Some(self.current_ms.map_or(t, |w| w.max(t)));
        }
        self.current_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slowest_active_partition_sets_the_watermark() {
        let mut marks = Watermarks::new(Duration::from_secs(60));
        marks.assign(&[0, 1]);
        assert_eq!(marks.observe(0, 5_000), None, "partition 1 has sent nothing yet");
        assert_eq!(marks.observe(0, 9_000), None);
        assert_eq!(marks.observe(1, 1_000), Some(1_000));
        assert_eq!(marks.observe(1, 4_000), Some(4_000));
        assert_eq!(marks.observe(1, 2_000), Some(4_000), "an older order does not move it back");
    }

    #[test]
    fn an_idle_partition_stops_holding_it_back() {
        let mut marks = Watermarks::new(Duration::ZERO);
        marks.assign(&[0, 1]);
        // With no idle allowance every partition is idle at once: the latest event wins.
        assert_eq!(marks.observe(0, 7_000), Some(7_000));
        assert_eq!(marks.current(), Some(7_000));
    }

    #[test]
    fn a_revoked_partition_no_longer_counts() {
        let mut marks = Watermarks::new(Duration::from_secs(60));
        marks.assign(&[0, 1]);
        marks.observe(0, 8_000);
        assert_eq!(marks.current(), None);
        marks.assign(&[0]);
        assert_eq!(marks.current(), Some(8_000));
    }
}
