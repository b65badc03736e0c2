//! Orders in Avro binary: the schemas this version writes ([`OrderSchema`]), a writer for
//! them, and a reader for any writer schema a registry hands out that still describes an
//! order (v1, v2, or a later one with fields of its own).
//!
//! apache-avro parses and checks the schemas; the bodies are written and read here, field
//! by field, straight from and into the order's borrowed text, because the crate's
//! `Value` tree allocates for every field of every message. The tests hold both codecs to
//! apache-avro's own reading and writing of the same schemas.

mod binary;
mod plan;
mod write;

pub(crate) use plan::Plan;
pub(crate) use write::write_order;

/// The order schemas this version of orderstream can write, as registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OrderSchema {
    /// The first schema: the fifteen fields of the order record, exact money, a UTC instant plus the
    /// store's offset.
    #[value(name = "1")]
    V1,
    /// v1 plus `discount` (default 0) and `currency` (default PLN): readable by v1
    /// readers and able to read v1 messages (BACKWARD and FORWARD compatible).
    #[value(name = "2")]
    V2,
}

impl OrderSchema {
    /// The schema text, as in `schemas/` of the repository.
    pub fn text(self) -> &'static str {
        match self {
            OrderSchema::V1 => include_str!("../../../../../schemas/order-v1.avsc"),
            OrderSchema::V2 => include_str!("../../../../../schemas/order-v2.avsc"),
        }
    }

    /// Its number, for logs and messages.
    pub fn number(self) -> u8 {
        match self {
            OrderSchema::V1 => 1,
            OrderSchema::V2 => 2,
        }
    }
}

/// The full name of the order record: the subject under RecordNameStrategy.
pub const RECORD_NAME: &str = "pl.orderstream.Order";

#[cfg(test)]
mod tests;
