//! The integration tests: one binary, one module per area, sharing the harness in
//! [`common`] (temp dirs, unique topic and group names, the broker under test, the
//! binary with a clean environment).
//!
//! Two tiers. Without `ORDERSTREAM_TEST_BROKERS`, the tests that a broker-free machine
//! can run use an in-process librdkafka mock cluster (`cargo test`, no Java); the ones
//! that need Apache Kafka itself (retention, delete-records, broker restarts, millions of
//! orders) are `#[ignore]`d with the reason. `scripts/test` starts a real broker and runs
//! every test, the ignored ones included.

// A test binary exports nothing: `pub` in the harness only means "shared by the modules".
#![allow(unreachable_pub)]

mod common;

mod avro;
mod bigquery;
mod calendar_generator;
mod cli;
mod cluster_faults;
mod config_file;
mod crash_and_broker_restart;
mod dashboard_browser;
mod dashboard_command;
mod dashboard_replay;
mod dashboard_views;
mod embedded;
mod generate_cli;
mod http_access;
mod http_api;
mod http_limits;
mod kafka_pipeline;
mod nothing_lost;
mod ops_files;
mod postgres;
mod postgres_faults;
mod rebalance;
mod secure_kafka;
mod sheets_sink;
