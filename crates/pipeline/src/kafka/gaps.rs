//! Gaps: offsets a reader expected that the broker no longer has (deleted by retention
//! or `kafka-delete-records` before they were read, or skipped by an offset reset).
//!
//! Every reader of the topic tracks the next offset it expects per partition from its
//! stored position on. A message past it means the records between are gone: the gap is
//! logged as an ERROR, counted in `orderstream_records_lost_total{sink,reason}`, and (by
//! the CSV sink) written to the dead-letter file, and the reader carries on. A partition
//! without a stored position starts wherever the broker's log starts: nothing was
//! promised there, so its first message is never a gap.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use serde::Serialize;
use tracing::error;

use crate::stats::Stats;

pub use crate::stats::GapReason;

/// A range of missing offsets of one partition, as recorded in `dead_letters.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    /// Always `"gap"`, telling the record from a dead-lettered message.
    pub kind: &'static str,
    /// Which reader found it: `csv`, `sheets` or `dashboard`.
    pub sink: &'static str,
    /// Source topic.
    pub topic: String,
    /// Source partition.
    pub partition: i32,
    /// First missing offset.
    pub first_offset: i64,
    /// Last missing offset.
    pub last_offset: i64,
    /// How many offsets are missing.
    pub missing: u64,
    /// Why.
    pub reason: GapReason,
}

/// The next offset each partition's reader expects; see the module doc.
#[derive(Debug, Default)]
pub struct GapDetector {
    expected: BTreeMap<i32, i64>,
}

impl GapDetector {
    /// Starts tracking `partition` at its stored position; `None` (no stored position)
    /// tracks it from its first message on.
    pub fn assigned(&mut self, partition: i32, stored: Option<i64>) {
        match stored {
            Some(offset) => self.expected.insert(partition, offset),
            None => self.expected.remove(&partition),
        };
    }

    /// The next offset expected of `partition`, if known.
    pub fn expected(&self, partition: i32) -> Option<i64> {
        self.expected.get(&partition).copied()
    }

    /// Stops tracking `partition` (revoked).
    pub fn revoked(&mut self, partition: i32) {
        self.expected.remove(&partition);
    }

    /// Takes the message at `offset`; returns the missing range before it, if any.
    /// Earlier offsets (redeliveries) neither move the expectation back nor count.
    pub fn observe(&mut self, partition: i32, offset: i64) -> Option<(i64, i64)> {
        let next = self.expected.entry(partition).or_insert(offset);
        let missing = (offset > *next).then(|| (*next, offset - 1));
        *next = (*next).max(offset + 1);
        missing
    }
}

/// Describes and reports a gap: an ERROR log line and the lost-records counter. The
/// reason comes from the partition's log start (one metadata request; gaps are rare).
pub fn report<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    stats: &Stats,
    sink: &'static str,
    topic: &str,
    partition: i32,
    (first_offset, last_offset): (i64, i64),
) -> Gap {
    let reason = match consumer.fetch_watermarks(topic, partition, Duration::from_secs(5)) {
        Ok((low, _)) if low > first_offset => GapReason::Deleted,
        _ => GapReason::Skipped,
    };
    let missing = (last_offset - first_offset + 1) as u64;
    stats.lost.add(sink, reason, missing);
    error!(
        sink,
        topic,
        partition,
        first_offset,
        last_offset,
        missing,
        reason = reason.as_str(),
        "records were gone before this reader got them: {missing} orders are missing from the {sink} output"
    );
    Gap { kind: "gap", sink, topic: topic.to_string(), partition, first_offset, last_offset, missing, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jump_past_the_stored_position_is_a_gap_and_redeliveries_are_not() {
        let mut gaps = GapDetector::default();
        gaps.assigned(0, Some(100));
        assert_eq!(gaps.observe(0, 100), None);
        assert_eq!(gaps.observe(0, 150), Some((101, 149)));
        assert_eq!(gaps.observe(0, 120), None, "a redelivery");
        assert_eq!(gaps.observe(0, 151), None);
        // No stored position: wherever the log starts is fine.
        gaps.assigned(1, None);
        assert_eq!(gaps.observe(1, 5_000), None);
        assert_eq!(gaps.observe(1, 5_002), Some((5_001, 5_001)));
        // A stored position ahead of the first message (e.g. rows already written).
        gaps.assigned(2, Some(10));
        assert_eq!(gaps.observe(2, 3), None);
        assert_eq!(gaps.observe(2, 10), None);
        gaps.revoked(2);
        assert_eq!(gaps.observe(2, 40), None, "untracked again after a revocation");
    }
}
