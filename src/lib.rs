//! orderstream: a real-time sales pipeline for an electronics retailer.
//!
//! Orders are generated, sent to Apache Kafka (topic `zamowienia_elektronika`, key =
//! store), consumed by a consumer group and written exactly once to daily CSV files.
//!
//! # Layout
//!
//! The modules follow the data path:
//!
//! - [`generate`]: the order generator: catalogue, Polish retail calendar, scenarios and
//!   the load curve, Poisson arrivals, live and backfill timing, ids, repeat customers.
//! - [`analytics`]: event-time windows with a watermark and late-data policy, and the
//!   breakdowns the dashboard and the API show.
//! - [`order`]: the order record (the compatibility contract), its JSON and CSV codecs
//!   and its validation.
//! - [`kafka`]: producer, consumer-group member, topic admin, embedded broker.
//! - [`sink`]: the exactly-once daily CSV sink (checkpoints, crash recovery, dead letters).
//! - [`sheets`]: the Google Sheets sink (service-account sign-in, quota-aware batches,
//!   no lost or repeated rows, rollover, per-minute aggregates).
//! - [`dashboard`]: the HTTP server of a running pipeline: JSON API, live events,
//!   Prometheus metrics, health checks.
//! - [`stats`]: counters and progress lines; [`shutdown`]: SIGINT/SIGTERM handling;
//!   [`clock`]: the wall clock (with a test override).
//! - [`cli`] and [`commands`]: the command line, one module per subcommand; `main.rs`
//!   only parses and dispatches.

pub mod analytics;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod dashboard;
pub mod generate;
pub mod kafka;
pub mod order;
pub mod sheets;
pub mod shutdown;
pub mod sink;
pub mod stats;
