//! The PostgreSQL sink: every order exactly once in a table, for Looker Studio's
//! PostgreSQL connector and any SQL tool.
//!
//! A member of its own consumer group (`<group>.postgres`), run by the one group driver.
//! Each batch is one transaction: the rows go in with `COPY` (text, the CSV rows the
//! codecs already write) through a staging table, and the next offset of every partition
//! in the batch is written to `orderstream_offsets` in the same transaction. A partition
//! resumes where that table says, so a crash, a kill or a rebalance neither loses nor
//! repeats a row. The offset update is conditional on the value the member read at
//! assignment: a member that lost its partition while it stalled (a "zombie") cannot
//! commit over its successor. Kafka's own group commit follows, for lag tools only.

mod connect;
mod member;
mod schema;
mod write;

use std::sync::Arc;
use std::time::Duration;

use tracing::info;

pub use schema::{check_table_name, valid_table_name};

use crate::kafka::flow::SinkSlot;
use crate::kafka::link::RunLink;
use crate::kafka::source::{GroupSource, SinkRun};
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// Checks a connection URL (libpq's URL or `key=value` form) before anything starts.
pub fn check_url(url: &str) -> Result<(), String> {
    connect::parse_url(url).map(drop).map_err(|e| format!("not a PostgreSQL connection string: {e}"))
}

/// Settings of the PostgreSQL sink.
#[derive(Clone)]
pub struct PostgresConfig {
    /// Connection URL, e.g. `postgres://orders@db.example.com:5432/sales`.
    pub url: String,
    /// The password, when not in the URL (read from a file or the environment).
    pub password: Option<String>,
    /// The sink's consumer group.
    pub group: String,
    /// The orders table (created when missing).
    pub table: String,
    /// A batch is written at most this long after its first row.
    pub flush_interval: Duration,
    /// A batch is written when it has this many rows.
    pub batch_rows: usize,
    /// How long a lost connection is retried before the sink stops.
    pub retry_for: Duration,
    /// Connections writing at once, each its share of the partitions (the server runs
    /// one process per connection).
    pub connections: usize,
    /// CA certificates (PEM) that sign the server's certificate when the URL asks for
    /// TLS (`sslmode=require`); the system's CAs when `None`.
    pub ca_file: Option<std::path::PathBuf>,
    /// Create the tables, index and views when missing; when false, the sink only
    /// checks what an administrator made (a role with INSERT, UPDATE and SELECT).
    pub manage_schema: bool,
}

impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("group", &self.group)
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// Why the PostgreSQL sink stopped.
#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    /// The URL is not one.
    #[error("--postgres-url: {0}")]
    Url(String),
    /// The server could not be reached, or refused us, for the whole retry time.
    #[error("PostgreSQL at {url}: {reason}")]
    Unavailable {
        /// The server (without password).
        url: String,
        /// The last error.
        reason: String,
    },
    /// The table does not fit the rows the sink writes.
    #[error("PostgreSQL table {table} cannot take the orders: {problems}")]
    Table {
        /// The table.
        table: String,
        /// Each problem, with its fix.
        problems: String,
    },
    /// The database refused a batch for a reason no retry can mend (bad data, a
    /// constraint, a privilege).
    #[error(
        "PostgreSQL refused the batch for {table}: {reason}; stopping without retrying (a permanent error)"
    )]
    Refused {
        /// The table.
        table: String,
        /// The database's words.
        reason: String,
    },
    /// Another member wrote this partition after this one was given it.
    #[error("partition {partition}'s offset in the table moved since this member read it: another member wrote it (this member was out of its group, e.g. stalled past its session timeout, or another consumer group writes the same table: offsets are kept per table, so give each group a table of its own); stopping without writing its batch")]
    Fenced {
        /// The partition.
        partition: i32,
    },
}

/// What a PostgreSQL sink run did.
#[derive(Debug, Clone, Default)]
pub struct PostgresReport {
    /// Rows inserted.
    pub rows: u64,
    /// Orders whose id was in the table already (the same order twice in the topic).
    pub duplicate_ids: u64,
    /// Messages written to `orderstream_dead_letters`.
    pub dead_letters: u64,
    /// Records gone from the topic before they were read.
    pub lost: u64,
    /// From the first row taken to the last batch committed.
    pub busy: Duration,
}

/// Runs the sink until idle exit, a stop or an error; in `run`, until `link` says every
/// produced order is in, holding the producer to the sink through `flow`.
pub fn run_postgres(
    config: &PostgresConfig,
    source: &GroupSource,
    stats: &Arc<Stats>,
    shutdown: &Shutdown,
    link: Option<&RunLink>,
    flow: Option<SinkSlot>,
) -> anyhow::Result<PostgresReport> {
    let member = member::PostgresMember::connect(config, &source.topic, stats.clone(), shutdown.clone())?;
    info!(topic = %source.topic, group = %config.group, table = %config.table, server = %member.server(),
        "PostgreSQL sink consuming; orders go to the table, rejects to orderstream_dead_letters");
    let run = SinkRun { name: "postgres", group: &config.group, topic_ids: true, link: link.cloned(), flow };
    let (member_report, member) = source.run(run, member, stats, shutdown)?;
    let report = PostgresReport { lost: member_report.lost, ..member.report() };
    let rate = report.rows as f64 / report.busy.as_secs_f64().max(1e-3);
    info!(rows = report.rows, duplicate_ids = report.duplicate_ids, dead_letters = report.dead_letters,
        table = %config.table, rows_per_second = format!("{rate:.0}"), "PostgreSQL sink finished");
    Ok(report)
}
