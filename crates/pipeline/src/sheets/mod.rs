//! Stage 3b: the Google Sheets sink, the data source of the user's Looker Studio report.
//!
//! It runs beside the CSV sink as its own consumer group (`<group>.sheets` by default), so
//! a slow or unreachable Google never holds up the CSV files: the sheet simply lags, and
//! its lag is the group's Kafka lag.
//!
//! # Layout
//!
//! - [`crate::google`] signs in with the service-account key file.
//! - [`api`] is the Sheets and Drive REST client: quota (sliding window per minute),
//!   retries with Google's exponential backoff, and errors that say what to do.
//! - [`raw`] appends order rows (`values.append`, USER_ENTERED, INSERT_ROWS) in batches
//!   cut by size and time, rolls over to `Data_2`, ... before a tab gets too big, and
//!   never appends a row twice.
//! - [`aggregates`] keeps per-minute totals per region and category, updated in place.
//! - [`worker`] is the Kafka side: the consumer group, offsets committed only after the
//!   rows are in the sheet.
//!
//! # No lost rows, no duplicates
//!
//! An append is not idempotent, and a timeout does not say whether it landed. In raw mode
//! each Kafka commit carries, as its metadata, the tab and last row of the append it
//! covers. Before a batch whose earlier attempt may have landed is sent again, and when a
//! partition is taken over after a crash, the rows below that mark are read back and the
//! orders whose ids are already there are skipped. In aggregate mode every write sets cells
//! at known positions together with the offsets they include (one `values.batchUpdate`),
//! so a retry or a restart rewrites the same values.

pub mod aggregates;
pub mod api;
mod quota;
pub mod raw;
mod rows;
pub mod worker;

use std::path::PathBuf;
use std::time::Duration;

pub use api::{SheetsClient, SheetsError};
pub use worker::{run_sheets, SheetsReport};

/// Google's Sheets API.
pub const DEFAULT_SHEETS_API: &str = "https://sheets.googleapis.com";
/// Google's Drive API (spreadsheet lookup by name).
pub const DEFAULT_DRIVE_API: &str = "https://www.googleapis.com";
/// The scopes the access token asks for: edit spreadsheets, find them by name.
pub const SCOPES: &str =
    "https://www.googleapis.com/auth/spreadsheets https://www.googleapis.com/auth/drive.readonly";

/// The Sheets sink's own consumer group beside the CSV writers' `group`, so that the
/// files never wait for Google.
pub fn sheets_group(group: &str) -> String {
    format!("{group}.sheets")
}

/// What the sink writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SheetsMode {
    /// One row per order, with the order record's header.
    Rows,
    /// Per-minute totals per region and category, updated in place for late orders.
    Aggregates,
}

/// Which spreadsheet to write to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A spreadsheet id (from its URL).
    Id(String),
    /// A spreadsheet name, looked up through Drive among the files shared with the account.
    Name(String),
}

/// Settings of the Sheets sink.
#[derive(Debug, Clone)]
pub struct SheetsConfig {
    /// The service-account key file.
    pub creds: PathBuf,
    /// The spreadsheet.
    pub target: Target,
    /// The tab; rollover tabs get `_2`, `_3`, ... appended.
    pub tab: String,
    /// Rows or aggregates.
    pub mode: SheetsMode,
    /// Base URL of the Sheets API.
    pub sheets_api: String,
    /// Base URL of the Drive API.
    pub drive_api: String,
    /// Longest time a row waits before it is sent.
    pub flush_interval: Duration,
    /// Write requests allowed per quota window (Google: 60 per minute per user).
    pub max_writes_per_window: usize,
    /// Read requests allowed per quota window (Google: 60 per minute per user).
    pub max_reads_per_window: usize,
    /// The quota window (a minute; shorter only in tests).
    pub quota_window: Duration,
    /// Largest request body.
    pub max_request_bytes: usize,
    /// A tab is rolled over before it would pass this many cells.
    pub max_cells_per_tab: u64,
    /// Time limit of one HTTP request.
    pub request_timeout: Duration,
    /// First backoff step (Google's rule: 1 s, doubling, at most 64 s).
    pub backoff_base: Duration,
    /// Consumer group of the sheet writer.
    pub group: String,
}

impl SheetsConfig {
    /// Defaults for everything but the key file and the target.
    pub fn new(creds: PathBuf, target: Target) -> Self {
        SheetsConfig {
            creds,
            target,
            tab: "Data".into(),
            mode: SheetsMode::Rows,
            sheets_api: DEFAULT_SHEETS_API.into(),
            drive_api: DEFAULT_DRIVE_API.into(),
            flush_interval: Duration::from_secs(5),
            max_writes_per_window: 60,
            max_reads_per_window: 60,
            quota_window: Duration::from_secs(60),
            max_request_bytes: 2 << 20,
            max_cells_per_tab: 4_000_000,
            request_timeout: Duration::from_secs(60),
            backoff_base: Duration::from_secs(1),
            group: sheets_group(crate::kafka::DEFAULT_GROUP),
        }
    }
}
