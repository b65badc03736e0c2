//! A message a warehouse sink could not write as an order, or a run of offsets gone from
//! the topic, held until the batch's transaction or statement records it.

use super::driver::RawMessage;
use super::gaps::Gap;

/// A dead letter waiting for its batch.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// The partition.
    pub partition: i32,
    /// The message's offset (a gap's first).
    pub offset: i64,
    /// Why: the field and value at fault, or the gap's range.
    pub reason: String,
    /// The message as it was (none for a gap).
    pub payload: Option<Vec<u8>>,
}

impl Rejected {
    /// An invalid message, kept whole.
    pub fn message(partition: i32, offset: i64, reason: String, message: RawMessage<'_>) -> Self {
        Rejected { partition, offset, reason, payload: message.payload.map(<[u8]>::to_vec) }
    }

    /// A valid order that the sink's table cannot hold (e.g. an id past its integer
    /// type), kept as the order's JSON.
    pub fn order(partition: i32, offset: i64, reason: String, order: &crate::order::Order) -> Self {
        let mut payload = Vec::new();
        crate::order::write_json(order, &mut payload);
        Rejected { partition, offset, reason, payload: Some(payload) }
    }

    /// Records that were gone before they could be read.
    pub fn gap(gap: &Gap) -> Self {
        Rejected {
            partition: gap.partition,
            offset: gap.first_offset,
            reason: format!(
                "gap: offsets {}..={} ({} records) were gone before they could be read ({:?})",
                gap.first_offset, gap.last_offset, gap.missing, gap.reason
            ),
            payload: None,
        }
    }
}
