//! Rows mode: one sheet row per order, appended in batches, never twice.
//!
//! Rows wait in memory until the batch is full (the request size limit) or old enough
//! (the flush interval) and the write quota has room. A batch whose append failed in a
//! way that may still have landed (a timeout, a 5xx) is looked for in the sheet before
//! it is sent again. The tab rolls over to `<tab>_2`, `<tab>_3`, ... before its grid
//! would pass the cell limit.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use serde_json::Value;
use tracing::{info, warn};

use super::api::{a1, Appended, Failure, SheetsClient, SheetsError, Tab};
use super::quota::Backoff;
use super::rows::{push_order_row, AppendBody};
use super::SheetsConfig;
use crate::order::{Order, CSV_HEADER};
use crate::stats::Stats;

/// Columns of a row.
const COLUMNS: u64 = CSV_HEADER.len() as u64;

/// Where a partition's last appended rows are: the Kafka commit's metadata.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mark {
    /// The tab.
    pub tab: String,
    /// The last row of the append.
    pub row: u64,
}

impl Mark {
    /// The mark as commit metadata.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A mark from commit metadata; `None` for anything else.
    pub fn decode(metadata: &str) -> Option<Self> {
        serde_json::from_str(metadata).ok()
    }
}

#[derive(Debug)]
struct PendingRow {
    partition: i32,
    id: u64,
    end: usize,
}

/// A batch that made it into the sheet.
#[derive(Debug, Default)]
pub struct Flushed {
    /// Next offset per partition now covered by the sheet.
    pub offsets: BTreeMap<i32, i64>,
    /// Where the rows went (None if the batch held only skipped orders).
    pub mark: Option<Mark>,
    /// Orders appended.
    pub rows: u64,
}

/// The rows-mode writer of one spreadsheet tab (and its rollovers).
pub struct RawWriter {
    spreadsheet: String,
    base_tab: String,
    tab: Tab,
    /// Last filled row of the current tab, when known.
    known_end: Option<u64>,
    max_body: usize,
    max_cells_per_tab: u64,
    /// Rows waiting, their bytes back to back.
    arena: Vec<u8>,
    pending: Vec<PendingRow>,
    /// Next offset per partition taken into the batch (rows or skips).
    offsets: BTreeMap<i32, i64>,
    since: Option<Instant>,
    /// Ids already in the sheet past the committed offsets (found after a takeover).
    in_sheet: HashSet<u64>,
    row: Vec<u8>,
    longest_row: usize,
}

/// The title of the `n`th tab of a series: `Data`, `Data_2`, `Data_3`, ...
fn series_title(base: &str, n: u32) -> String {
    if n <= 1 {
        base.to_string()
    } else {
        format!("{base}_{n}")
    }
}

/// The place of `title` in the series of `base` (1 for the base itself).
fn series_number(base: &str, title: &str) -> Option<u32> {
    if title == base {
        return Some(1);
    }
    title.strip_prefix(base)?.strip_prefix('_')?.parse().ok().filter(|n| *n >= 2)
}

impl RawWriter {
    /// Opens the spreadsheet and the newest tab of the series (creating the first one),
    /// and checks its header.
    pub fn open(client: &mut SheetsClient, config: &SheetsConfig) -> Result<Self, SheetsError> {
        let (spreadsheet, tabs) = client.resolve(&config.target)?;
        let newest = tabs
            .iter()
            .filter_map(|t| series_number(&config.tab, &t.title).map(|n| (n, t)))
            .max_by_key(|(n, _)| *n)
            .map(|(_, t)| t.clone());
        let tab = match newest {
            Some(tab) => tab,
            None => {
                info!(spreadsheet, tab = %config.tab, "creating the tab");
                client.add_tab(&spreadsheet, &config.tab, 1, COLUMNS)?
            }
        };
        let mut writer = RawWriter {
            spreadsheet,
            base_tab: config.tab.clone(),
            tab,
            known_end: None,
            max_body: config.max_request_bytes.max(4096),
            max_cells_per_tab: config.max_cells_per_tab,
            arena: Vec::with_capacity(config.max_request_bytes),
            pending: Vec::new(),
            offsets: BTreeMap::new(),
            since: None,
            in_sheet: HashSet::new(),
            row: Vec::with_capacity(512),
            longest_row: 0,
        };
        writer.check_header(client)?;
        info!(spreadsheet = %writer.spreadsheet, tab = %writer.tab.title, grid_rows = writer.tab.rows,
            "appending order rows to the sheet");
        Ok(writer)
    }

    /// The spreadsheet id.
    pub fn spreadsheet(&self) -> &str {
        &self.spreadsheet
    }

    fn check_header(&mut self, client: &mut SheetsClient) -> Result<(), SheetsError> {
        let first = client.get_values(&self.spreadsheet, &a1(&self.tab.title, "A1:O1"), false)?;
        match first.first() {
            None => {
                // Set in place rather than appended: two writers starting on one empty
                // tab both write the same row 1, instead of two header rows.
                self.fit_empty_tab(client)?;
                let header = vec![serde_json::json!(CSV_HEADER)];
                client.set_values(&self.spreadsheet, &[(a1(&self.tab.title, "A1:O1"), header)])?;
                self.known_end = Some(1);
            }
            Some(row) if row.iter().map(|v| v.as_str().unwrap_or_default()).eq(CSV_HEADER) => {}
            Some(row) => {
                return Err(SheetsError::ForeignTab {
                    spreadsheet: self.spreadsheet.clone(),
                    tab: self.tab.title.clone(),
                    found: Value::Array(row.clone()).to_string(),
                })
            }
        }
        Ok(())
    }

    /// Every cell of the grid counts against the workbook's limit, filled or not: an empty
    /// tab made by hand (26 columns) is cut to the header's 15, which leaves room for 42%
    /// more rows. Only columns: another writer may be appending rows already.
    fn fit_empty_tab(&mut self, client: &mut SheetsClient) -> Result<(), SheetsError> {
        if self.tab.columns <= COLUMNS {
            return Ok(());
        }
        let whole = format!("'{}'", self.tab.title.replace('\'', "''"));
        if !client.get_values(&self.spreadsheet, &whole, false)?.is_empty() {
            return Ok(());
        }
        client.set_columns(&self.spreadsheet, self.tab.sheet_id, COLUMNS)?;
        info!(tab = %self.tab.title, from = self.tab.columns, to = COLUMNS,
            "cut the empty tab's columns to the header's (every grid cell counts against the 10-million-cell limit)");
        self.tab.columns = COLUMNS;
        Ok(())
    }

    /// Queues an order; true when the batch is full and should be sent now.
    pub fn push(&mut self, partition: i32, offset: i64, order: &Order, stats: &Stats) -> bool {
        self.offsets.insert(partition, offset + 1);
        self.since.get_or_insert_with(Instant::now);
        if !self.in_sheet.is_empty() && self.in_sheet.remove(&order.id) {
            Stats::add(&stats.sheets_duplicates_skipped, 1);
            return false;
        }
        self.row.clear();
        push_order_row(order, &mut self.row);
        self.arena.extend_from_slice(&self.row);
        self.longest_row = self.longest_row.max(self.row.len());
        self.pending.push(PendingRow { partition, id: order.id, end: self.arena.len() });
        self.full()
    }

    /// Passes over a message that is not an order (the CSV sink dead-letters it).
    pub fn skip(&mut self, partition: i32, offset: i64) {
        self.offsets.insert(partition, offset + 1);
        self.since.get_or_insert_with(Instant::now);
    }

    /// True once the next row might not fit in a request.
    pub fn full(&self) -> bool {
        // Body overhead: brackets and a comma per row; the next row may be as long as
        // the longest so far.
        self.arena.len() + self.pending.len() + 2 * self.longest_row + 16 >= self.max_body
    }

    /// When the oldest waiting row was taken.
    pub fn oldest(&self) -> Option<Instant> {
        self.since
    }

    /// Forgets the waiting rows of revoked partitions: their next owner reads them again
    /// from the last commit.
    pub fn revoke(&mut self, partitions: &[i32]) {
        for p in partitions {
            self.offsets.remove(p);
        }
        if self.pending.iter().any(|r| partitions.contains(&r.partition)) {
            let mut arena = Vec::with_capacity(self.arena.capacity());
            let mut kept = Vec::with_capacity(self.pending.len());
            let mut start = 0;
            for row in self.pending.drain(..) {
                if !partitions.contains(&row.partition) {
                    arena.extend_from_slice(&self.arena[start..row.end]);
                    kept.push(PendingRow { end: arena.len(), ..row });
                }
                start = row.end;
            }
            (self.arena, self.pending) = (arena, kept);
        }
        if self.offsets.is_empty() {
            self.since = None;
        }
    }

    /// After a takeover: the orders appended after the partitions' last commits (below
    /// their marks, in their tabs and any later tab of the series) are not appended again.
    pub fn recover(&mut self, client: &mut SheetsClient, marks: &[Mark]) -> Result<(), SheetsError> {
        let Some(earliest) = marks.iter().min_by_key(|m| (series_number(&self.base_tab, &m.tab), m.row))
        else {
            return Ok(());
        };
        let first = series_number(&self.base_tab, &earliest.tab).unwrap_or(1);
        let current = series_number(&self.base_tab, &self.tab.title).unwrap_or(1);
        let mut found = 0;
        for n in first..=current {
            let title = series_title(&self.base_tab, n);
            let after = if n == first { earliest.row } else { 1 };
            let (ids, last) = self.ids_after(client, &title, after)?;
            found += ids.len();
            self.in_sheet.extend(ids);
            if n == current {
                self.known_end = Some(last.max(self.known_end.unwrap_or(0)));
            }
        }
        if found > 0 {
            info!(rows = found, after = ?earliest, "rows appended before the last commit found in the sheet; they are not appended again");
        }
        Ok(())
    }

    /// The ids of `tab`'s rows after row `after`, and the last filled row.
    fn ids_after(
        &mut self,
        client: &mut SheetsClient,
        tab: &str,
        after: u64,
    ) -> Result<(Vec<u64>, u64), SheetsError> {
        let rows = client.get_values(&self.spreadsheet, &a1(tab, &format!("A{}:A", after + 1)), false)?;
        let ids =
            rows.iter().filter_map(|r| r.first()?.as_str()?.trim_start_matches('\'').parse().ok()).collect();
        Ok((ids, after + rows.len() as u64))
    }

    /// Appends the waiting rows, retrying until they are in the sheet exactly once.
    pub fn flush(&mut self, client: &mut SheetsClient, stats: &Stats) -> Result<Flushed, SheetsError> {
        if self.pending.is_empty() {
            self.since = None;
            let offsets = std::mem::take(&mut self.offsets);
            return Ok(Flushed { offsets, mark: None, rows: 0 });
        }
        let rows = self.pending.len() as u64;
        self.roll_over_if_needed(client, rows)?;
        let body = self.body();
        let mut backoff = Backoff::new(client.backoff_base());
        let appended = loop {
            let range = a1(&self.tab.title, "A1:O1");
            match client.append_once(&self.spreadsheet, &range, &body) {
                Ok(appended) => break appended,
                Err(Failure::Permanent(e)) => return Err(e),
                Err(Failure::Transient { reason, maybe_applied }) => {
                    client.back_off(&mut backoff, "appending rows", &reason)?;
                    if maybe_applied {
                        if let Some(appended) = self.find_batch(client)? {
                            info!(rows, at = ?appended, "the failed append had landed; not sending it again");
                            break appended;
                        }
                    }
                }
            }
        };
        self.tab.rows += rows;
        self.known_end = Some(appended.last_row);
        self.arena.clear();
        self.pending.clear();
        self.since = None;
        Stats::add(&stats.sheets_written, rows);
        Ok(Flushed {
            offsets: std::mem::take(&mut self.offsets),
            mark: Some(Mark { tab: self.tab.title.clone(), row: appended.last_row }),
            rows,
        })
    }

    /// Looks for the waiting batch in the sheet, after the last known row.
    fn find_batch(&mut self, client: &mut SheetsClient) -> Result<Option<Appended>, SheetsError> {
        let after = self.known_end.unwrap_or(0);
        let title = self.tab.title.clone();
        let (ids, last) = self.ids_after(client, &title, after)?;
        let (first_id, last_id) = (self.pending[0].id, self.pending[self.pending.len() - 1].id);
        let Some(at) = ids.iter().position(|id| *id == first_id) else {
            self.known_end = Some(last);
            return Ok(None);
        };
        let n = self.pending.len();
        if ids.get(at + n - 1) != Some(&last_id) {
            warn!(first_id, "only part of a batch found in the sheet; an append is all or nothing, so this is another writer's copy");
        }
        let first_row = after + at as u64 + 1;
        Ok(Some(Appended { first_row, last_row: first_row + n as u64 - 1 }))
    }

    fn body(&self) -> Vec<u8> {
        let mut body = AppendBody::new();
        let mut start = 0;
        for row in &self.pending {
            body.push(&self.arena[start..row.end]);
            start = row.end;
        }
        body.finish()
    }

    /// Starts the next tab of the series if this batch would take the current one past
    /// the cell limit.
    fn roll_over_if_needed(&mut self, client: &mut SheetsClient, rows: u64) -> Result<(), SheetsError> {
        let columns = self.tab.columns.max(COLUMNS);
        let cells_after = (self.tab.rows + rows + 1) * columns;
        // A tab with nothing but its header takes the batch however big it is.
        if cells_after <= self.max_cells_per_tab || self.known_end.is_some_and(|end| end <= 1) {
            return Ok(());
        }
        let next = series_number(&self.base_tab, &self.tab.title).unwrap_or(1) + 1;
        let title = series_title(&self.base_tab, next);
        let tab = client.add_tab(&self.spreadsheet, &title, 1, COLUMNS)?;
        info!(full = %self.tab.title, cells = self.tab.rows * columns, limit = self.max_cells_per_tab, next = %title,
            "tab reached its cell limit; rows go to the next tab from now on");
        self.tab = tab;
        self.known_end = None;
        self.check_header(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_series_names_round_trip() {
        assert_eq!(series_title("Data", 1), "Data");
        assert_eq!(series_title("Data", 3), "Data_3");
        assert_eq!(series_number("Data", "Data"), Some(1));
        assert_eq!(series_number("Data", "Data_12"), Some(12));
        assert_eq!(series_number("Data", "Data_1"), None);
        assert_eq!(series_number("Data", "Dataset"), None);
        assert_eq!(series_number("Data", "Other"), None);
    }

    #[test]
    fn marks_travel_as_commit_metadata() {
        let mark = Mark { tab: "Data_2".into(), row: 501 };
        assert_eq!(Mark::decode(&mark.encode()), Some(mark));
        assert_eq!(Mark::decode(""), None);
    }
}
