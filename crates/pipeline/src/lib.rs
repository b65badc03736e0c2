//! The pipeline: Apache Kafka transport and the sinks it feeds.
//!
//! - [`bigquery`]: the BigQuery sink (one transaction per batch, offsets in the dataset).
//! - [`format`]: JSON or Avro on the topic (Confluent wire format, Schema Registry).
//! - [`kafka`]: the producer, the one consumer-group driver every sink plugs into
//!   ([`kafka::driver`]), gap detection, the flow window of the embedded broker, topic
//!   admin, the dashboard's reader.
//! - [`google`]: service-account sign-in for the Sheets and BigQuery sinks.
//! - [`postgres`]: the PostgreSQL sink (COPY batches, offsets in the same transaction).
//! - [`sink`]: the exactly-once daily CSV files (checkpoints, crash recovery, dead
//!   letters).
//! - [`sheets`]: the Google Sheets sink (service-account sign-in, quota-aware batches, no
//!   lost or repeated rows, rollover, per-minute aggregates).

pub mod bigquery;
pub mod format;
pub mod google;
mod http;
pub mod kafka;
pub mod postgres;
pub mod sheets;
pub mod sink;

// The crates below this one, under the names the modules use.
use orderstream_generate as generate;
use orderstream_model::{self as order, clock};
use orderstream_runtime::{shutdown, stats};
