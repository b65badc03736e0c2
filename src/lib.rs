//! orderstream: a real-time sales pipeline for an electronics retailer.
//!
//! Orders are generated, sent to Apache Kafka (topic `zamowienia_elektronika`, key =
//! store), consumed by a consumer group and written exactly once to daily CSV files and
//! to Google Sheets, while live analytics feed a dashboard and Prometheus metrics.
//!
//! # Layout
//!
//! A Cargo workspace whose crates follow the data path; a crate names only those above
//! it in this list, and the compiler holds it to that:
//!
//! - `orderstream-model` ([`order`], [`clock`]): the order record, the typed catalogue,
//!   the codecs, event time. No Kafka, no I/O.
//! - `orderstream-runtime` ([`stats`], [`progress`], [`shutdown`]): counters, progress lines, signals.
//! - `orderstream-generate` ([`generate`]): catalogue scenarios, the Polish retail
//!   calendar, the load curve, Poisson arrivals, live and backfill timing.
//! - `orderstream-pipeline` ([`format`], [`kafka`], [`sink`], [`sheets`]): JSON or Avro
//!   with a Schema Registry, the producer, the one consumer-group driver and the sinks
//!   behind its trait (CSV files, Google Sheets).
//! - `orderstream-analytics` ([`analytics`]): event-time windows with a watermark and a
//!   late-data policy, and the breakdowns the dashboard shows.
//! - `orderstream-dashboard` ([`dashboard`]): the HTTP server: page, JSON API, live
//!   events, Prometheus metrics, health checks.
//! - `orderstream` (this crate): [`cli`], [`config`] (config files under the flags) and
//!   [`commands`], one module per subcommand; `main.rs` only parses and dispatches.
//!
//! The lower crates are re-exported here under their module names, so the tests and
//! benchmarks of the binary reach the whole pipeline through one path.

pub mod cli;
pub mod commands;
pub mod config;

pub use orderstream_analytics as analytics;
pub use orderstream_dashboard as dashboard;
pub use orderstream_generate as generate;
pub use orderstream_model::{self as order, clock};
pub use orderstream_pipeline::{bigquery, format, kafka, postgres, sheets, sink};
pub use orderstream_runtime::{files, progress, shutdown, stats, userinfo};
