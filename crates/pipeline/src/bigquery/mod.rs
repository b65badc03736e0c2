//! The BigQuery sink: every order exactly once in a day-partitioned table, for Looker
//! Studio's native BigQuery connector, when a workbook's 10 million cells are too few.
//!
//! A member of its own consumer group (`<group>.bigquery`), run by the one group driver.
//!
//! # Exactly once
//!
//! Every write is a single `INSERT ... SELECT` statement, which BigQuery applies
//! atomically (all its rows or none), and which skips the orders whose id the table
//! holds already, looking only at the days the statement's orders fall on (the table is
//! partitioned by day, so that costs the reading of those days' ids). Dead letters are
//! written the same way, keyed by topic, partition and offset. Running a statement twice
//! therefore changes nothing, and the Kafka offsets of a batch are committed only after
//! all its statements are done:
//!
//! - a crash or `kill -9` after a batch and before its commit: the next owner reads the
//!   batch again, and its statements insert nothing;
//! - a job whose answer was lost: it is sent again under the same job id, which BigQuery
//!   refuses as a duplicate (409) and the sink then waits for the first job; a job that
//!   failed on BigQuery's side is sent again under a new id;
//! - a rebalance: the revoked partitions' batch is written and committed before they go.
//!
//! Nothing here relies on `tabledata.insertAll`'s best-effort `insertId`. Rows travel as
//! typed literals in the statement (see [`literals`]), cut below BigQuery's 1 MB of
//! query text per statement.

mod api;
mod literals;
mod member;
mod schema;
mod write;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tracing::info;

use crate::google::{AuthError, CredsError};
use crate::kafka::flow::SinkSlot;
use crate::kafka::link::RunLink;
use crate::kafka::source::{GroupSource, SinkRun};
use crate::shutdown::Shutdown;
use crate::stats::Stats;

pub use literals::order_statements;
pub use schema::valid_name;

/// Google's BigQuery API.
pub const DEFAULT_BIGQUERY_API: &str = "https://bigquery.googleapis.com";

/// Settings of the BigQuery sink.
#[derive(Debug, Clone)]
pub struct BigQueryConfig {
    /// The Google Cloud project that holds the dataset and runs the jobs.
    pub project: String,
    /// The dataset (created when missing).
    pub dataset: String,
    /// The orders table (created when missing).
    pub table: String,
    /// Where a new dataset is made (e.g. `EU`); BigQuery's default (US) when `None`.
    pub location: Option<String>,
    /// The service-account key; `None` only against an emulator (--bigquery-api-url).
    pub creds: Option<PathBuf>,
    /// `https://bigquery.googleapis.com`, or an emulator.
    pub api_url: String,
    /// The sink's consumer group.
    pub group: String,
    /// A batch is written at most this long after its first row.
    pub flush_interval: Duration,
    /// A batch is written when it has this many rows (in statements of at most about
    /// 3,000 orders each).
    pub batch_rows: usize,
    /// How long 429s, 5xx and an unreachable API are retried before the sink stops.
    pub retry_for: Duration,
    /// How long one HTTP request may take.
    pub request_timeout: Duration,
}

/// Why the BigQuery sink stopped; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BigQueryError {
    /// The key file is missing or broken.
    #[error(transparent)]
    Creds(#[from] CredsError),
    /// The token endpoint refused the key.
    #[error(transparent)]
    Auth(AuthError),
    /// The project has the BigQuery API switched off.
    #[error("the BigQuery API is not enabled in project {project} ({message}); enable it at https://console.cloud.google.com/apis/library/bigquery.googleapis.com?project={project} and start again")]
    NotEnabled {
        /// The project.
        project: String,
        /// Google's message.
        message: String,
    },
    /// 403: no permission.
    #[error("{what}: permission denied for {account} (HTTP 403: {message}); grant it the roles BigQuery Data Editor and BigQuery Job User in project {project}")]
    Forbidden {
        /// What was being done.
        what: String,
        /// The service account.
        account: String,
        /// The project.
        project: String,
        /// Google's message.
        message: String,
    },
    /// A quota that waiting a little does not restore, or billing.
    #[error("{what}: {message}; raise the quota or enable billing in the project, then start again (nothing was committed past the last batch)")]
    Quota {
        /// What was being done.
        what: String,
        /// Google's message.
        message: String,
    },
    /// 404.
    #[error(
        "{what}: not found (HTTP 404: {message}); check --bigquery-project and that the account can see it"
    )]
    NotFound {
        /// What was being done.
        what: String,
        /// Google's message.
        message: String,
    },
    /// 409 where the sink did not expect one.
    #[error("{what}: already exists ({message})")]
    Exists {
        /// What was being done.
        what: String,
        /// Google's message.
        message: String,
    },
    /// The table exists with other columns.
    #[error("table {table} exists with other columns ({found}); point --bigquery-table at a new table or one orderstream made")]
    ForeignTable {
        /// The table.
        table: String,
        /// Its columns.
        found: String,
    },
    /// A statement failed for good (a bug, or a table changed under the sink).
    #[error("{what}: BigQuery refused the job ({reason}: {message})")]
    Job {
        /// What was being done.
        what: String,
        /// BigQuery's reason.
        reason: String,
        /// BigQuery's message.
        message: String,
    },
    /// Any other refusal.
    #[error("{what}: HTTP {status} {reason}: {message}")]
    Api {
        /// What was being done.
        what: String,
        /// The HTTP status.
        status: u16,
        /// BigQuery's reason.
        reason: String,
        /// BigQuery's message.
        message: String,
    },
    /// 429, 5xx or no connection for the whole of --bigquery-retry-for.
    #[error("{what}: BigQuery unavailable for the whole retry time (--bigquery-retry-for): {reason}; nothing past the last committed batch is marked done, and a restart carries on from there")]
    Unavailable {
        /// What was being done.
        what: String,
        /// The last error.
        reason: String,
    },
}

/// What a BigQuery sink run did.
#[derive(Debug, Clone, Default)]
pub struct BigQueryReport {
    /// Rows inserted.
    pub rows: u64,
    /// Orders whose id was in the table already (written before a crash, or twice in
    /// the topic).
    pub duplicate_ids: u64,
    /// Messages written to `orderstream_dead_letters`.
    pub dead_letters: u64,
    /// Records gone from the topic before they were read.
    pub lost: u64,
    /// Query jobs run for batches.
    pub jobs: u64,
    /// From the first row taken to the last batch committed.
    pub busy: Duration,
    /// Time spent encoding job requests (the client's own cost).
    pub encoding: Duration,
}

/// Runs the sink until idle exit, a stop or an error; in `run`, until `link` says every
/// produced order is in, holding the producer to the sink through `flow`.
pub fn run_bigquery(
    config: &BigQueryConfig,
    source: &GroupSource,
    stats: &Arc<Stats>,
    shutdown: &Shutdown,
    link: Option<&RunLink>,
    flow: Option<SinkSlot>,
) -> anyhow::Result<BigQueryReport> {
    let member = member::BigQueryMember::connect(config, &source.topic, stats.clone(), shutdown.clone())?;
    info!(topic = %source.topic, group = %config.group, table = %member.table_path(), account = %member.account(),
        "BigQuery sink consuming; orders go to the table, rejects to orderstream_dead_letters");
    let run = SinkRun { name: "bigquery", group: &config.group, topic_ids: false, link: link.cloned(), flow };
    let (member_report, member) = source.run(run, member, stats, shutdown)?;
    let report = BigQueryReport { lost: member_report.lost, ..member.report() };
    let rate = report.rows as f64 / report.busy.as_secs_f64().max(1e-3);
    let encoding_ns = report.encoding.as_nanos() as f64 / report.rows.max(1) as f64;
    info!(rows = report.rows, duplicate_ids = report.duplicate_ids, dead_letters = report.dead_letters,
        jobs = report.jobs, table = %member.table_path(), rows_per_second = format!("{rate:.0}"),
        encoding_ns_per_row = format!("{encoding_ns:.0}"), "BigQuery sink finished");
    Ok(report)
}
