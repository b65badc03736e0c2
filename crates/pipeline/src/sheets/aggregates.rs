//! Aggregates mode: one row per (minute, region, category) with orders, units, net and
//! gross value, updated in place when late orders arrive. A day is at most 36,000 rows
//! whatever the order rate, which keeps large volumes inside the workbook's cell limit.
//!
//! Every write sets cells at known positions, in one `values.batchUpdate` together with
//! the offsets it includes (in a hidden progress tab). Sending it twice changes nothing,
//! and after a restart the orders below those offsets are not counted again.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use serde_json::{json, Value};
use tracing::info;

use super::api::{a1, SheetsClient, SheetsError, Tab};
use super::raw::Flushed;
use super::SheetsConfig;
use crate::order::{Grosz, Order};
use crate::stats::Stats;

/// The aggregates header.
pub const AGGREGATE_HEADER: [&str; 7] =
    ["minute", "region", "kategoria_produktu", "orders", "units", "net_value", "gross_value"];
const COLUMNS: u64 = AGGREGATE_HEADER.len() as u64;
/// Rows read back at start to keep updating recent minutes in place.
const RECOVERED_ROWS: u64 = 5000;
/// Rows kept in memory for in-place updates (about three days of minutes).
const KEPT_ROWS: u64 = 100_000;
/// Rows added to the grid at a time.
const GROW_BY: u64 = 2000;
/// Bytes a changed row adds to a request (a range and seven values).
const BYTES_PER_ROW: usize = 160;

/// The (minute, region, category) of a row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    minute: String,
    region: String,
    category: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Totals {
    orders: u64,
    units: u64,
    net: Grosz,
    gross: Grosz,
}

#[derive(Debug, Clone)]
struct Cell {
    tab: usize,
    row: u64,
    totals: Totals,
}

/// The aggregates writer of one spreadsheet.
pub struct AggregateWriter {
    spreadsheet: String,
    progress_tab: String,
    /// The data tabs of the series, oldest first; rows go to the last one.
    tabs: Vec<Tab>,
    /// Rows used in the last tab (header included).
    rows_used: u64,
    cells: HashMap<Key, Cell>,
    dirty: HashSet<Key>,
    /// Rows counted in memory that the sheet does not have yet.
    new_rows: u64,
    /// Next offset per partition counted in the sheet.
    progress: BTreeMap<i32, i64>,
    /// Next offset per partition counted in memory.
    taken: BTreeMap<i32, i64>,
    orders_pending: u64,
    since: Option<Instant>,
    max_cells_per_tab: u64,
    max_dirty: usize,
}

fn money(grosz: Grosz) -> Value {
    json!((grosz as f64) / 100.0)
}

/// The local minute of an order, as Sheets reads a date-time: `2026-11-26 14:05`.
fn minute_of(order: &Order) -> String {
    let mut text = Vec::with_capacity(32);
    order.timestamp.write_iso8601(&mut text);
    let mut minute = String::from_utf8_lossy(&text[..16.min(text.len())]).into_owned();
    minute.replace_range(10..11, " ");
    minute
}

fn parse_grosz(value: &Value) -> Grosz {
    match value {
        Value::Number(n) => (n.as_f64().unwrap_or(0.0) * 100.0).round() as Grosz,
        Value::String(s) => {
            (s.replace([',', ' '], "").parse::<f64>().unwrap_or(0.0) * 100.0).round() as Grosz
        }
        _ => 0,
    }
}

fn parse_count(value: &Value) -> u64 {
    match value {
        // Sheets keeps every number as a double: 3 comes back as 3.0.
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0).round() as u64)).unwrap_or(0),
        Value::String(s) => s.replace([',', ' '], "").parse::<f64>().map_or(0, |f| f.max(0.0).round() as u64),
        _ => 0,
    }
}

impl AggregateWriter {
    /// Opens the spreadsheet, creates the tabs that are missing, and reads back the
    /// progress and the recent rows.
    pub fn open(client: &mut SheetsClient, config: &SheetsConfig) -> Result<Self, SheetsError> {
        let (spreadsheet, existing) = client.resolve(&config.target)?;
        let progress_tab = format!("{}_orderstream", config.tab);
        let mut writer = AggregateWriter {
            spreadsheet,
            progress_tab,
            tabs: Vec::new(),
            rows_used: 1,
            cells: HashMap::new(),
            dirty: HashSet::new(),
            new_rows: 0,
            progress: BTreeMap::new(),
            taken: BTreeMap::new(),
            orders_pending: 0,
            since: None,
            max_cells_per_tab: config.max_cells_per_tab,
            max_dirty: (config.max_request_bytes / BYTES_PER_ROW).max(100),
        };
        if !existing.iter().any(|t| t.title == writer.progress_tab) {
            let tab = client.add_tab(&writer.spreadsheet, &writer.progress_tab, 100, 3)?;
            info!(tab = %tab.title, "created the progress tab (hide it if you like; do not edit it)");
        }
        let progress = client.get_values(&writer.spreadsheet, &a1(&writer.progress_tab, "A1:C"), true)?;
        let mut current = config.tab.clone();
        for row in &progress {
            match (row.first().and_then(Value::as_str), row.get(1), row.get(2)) {
                (Some("tab"), Some(Value::String(t)), _) => current = t.clone(),
                (Some("rows"), Some(n), _) => writer.rows_used = parse_count(n).max(1),
                (Some("partition"), Some(p), Some(o)) => {
                    writer.progress.insert(parse_count(p) as i32, parse_count(o) as i64);
                }
                _ => {}
            }
        }
        // The series up to the current tab, in order.
        let mut n = 1;
        loop {
            let title = if n == 1 { config.tab.clone() } else { format!("{}_{n}", config.tab) };
            let tab = match existing.iter().find(|t| t.title == title) {
                Some(tab) => tab.clone(),
                None if title == current || writer.tabs.is_empty() => {
                    info!(tab = %title, "creating the aggregates tab");
                    client.add_tab(&writer.spreadsheet, &title, GROW_BY, COLUMNS)?
                }
                None => break,
            };
            writer.tabs.push(tab);
            if title == current {
                break;
            }
            n += 1;
        }
        writer.taken = writer.progress.clone();
        writer.recover_rows(client)?;
        info!(spreadsheet = %writer.spreadsheet, tab = %writer.tabs.last().map(|t| t.title.as_str()).unwrap_or(""),
            rows = writer.rows_used, resume = ?writer.progress, "keeping per-minute totals in the sheet");
        Ok(writer)
    }

    /// The spreadsheet id.
    pub fn spreadsheet(&self) -> &str {
        &self.spreadsheet
    }

    fn recover_rows(&mut self, client: &mut SheetsClient) -> Result<(), SheetsError> {
        let last = self.tabs.len() - 1;
        let from = self.rows_used.saturating_sub(RECOVERED_ROWS).max(2);
        if self.rows_used < 2 {
            return Ok(());
        }
        let range = a1(&self.tabs[last].title, &format!("A{from}:G{}", self.rows_used));
        let rows = client.get_values(&self.spreadsheet, &range, false)?;
        for (i, row) in rows.iter().enumerate() {
            let text = |c: usize| row.get(c).and_then(Value::as_str).unwrap_or_default().to_string();
            // Sheets shows a date-time it parsed with seconds; the key has none.
            let minute: String = text(0).chars().take(16).collect();
            let key = Key { minute, region: text(1), category: text(2) };
            let totals = Totals {
                orders: parse_count(row.get(3).unwrap_or(&Value::Null)),
                units: parse_count(row.get(4).unwrap_or(&Value::Null)),
                net: parse_grosz(row.get(5).unwrap_or(&Value::Null)),
                gross: parse_grosz(row.get(6).unwrap_or(&Value::Null)),
            };
            self.cells.insert(key, Cell { tab: last, row: from + i as u64, totals });
        }
        Ok(())
    }

    /// When the oldest uncounted order was taken.
    pub fn oldest(&self) -> Option<Instant> {
        self.since
    }

    /// Counts an order unless the sheet already has it; true when a write is due.
    pub fn push(&mut self, partition: i32, offset: i64, order: &Order) -> bool {
        if self.progress.get(&partition).is_some_and(|next| offset < *next) {
            return false;
        }
        self.taken.insert(partition, offset + 1);
        self.since.get_or_insert_with(Instant::now);
        let key = Key {
            minute: minute_of(order),
            region: order.region.to_string(),
            category: order.kategoria_produktu.name.to_string(),
        };
        let tab = self.tabs.len() - 1;
        let next_row = self.rows_used + self.new_rows + 1;
        let cell = match self.cells.entry(key.clone()) {
            Entry::Occupied(cell) => cell.into_mut(),
            Entry::Vacant(slot) => {
                // A new row goes after the last one, in the current tab.
                self.new_rows += 1;
                slot.insert(Cell { tab, row: next_row, totals: Totals::default() })
            }
        };
        cell.totals.orders += 1;
        cell.totals.units += u64::from(order.ilosc);
        cell.totals.net += order.cena_netto * Grosz::from(order.ilosc);
        cell.totals.gross += order.wartosc_brutto;
        self.dirty.insert(key);
        self.orders_pending += 1;
        self.dirty.len() >= self.max_dirty
    }

    /// Passes over a message that is not an order.
    pub fn skip(&mut self, partition: i32, offset: i64) {
        if self.progress.get(&partition).is_none_or(|next| offset >= *next) {
            self.taken.insert(partition, offset + 1);
            self.since.get_or_insert_with(Instant::now);
        }
    }

    /// Writes the changed rows and the progress in one request.
    pub fn flush(&mut self, client: &mut SheetsClient, stats: &Stats) -> Result<Flushed, SheetsError> {
        if self.since.is_none() {
            return Ok(Flushed::default());
        }
        self.roll_over_if_needed(client)?;
        let new_rows = self.new_rows;
        let last = self.tabs.len() - 1;
        let needed = self.rows_used + new_rows;
        if needed > self.tabs[last].rows {
            let grow = (needed - self.tabs[last].rows).max(GROW_BY);
            client.grow_tab(&self.spreadsheet, self.tabs[last].sheet_id, grow)?;
            self.tabs[last].rows += grow;
        }
        let mut data: Vec<(String, Vec<Value>)> = Vec::with_capacity(self.dirty.len() + 2);
        if self.rows_used == 1 {
            data.push((a1(&self.tabs[last].title, "A1:G1"), vec![json!(AGGREGATE_HEADER)]));
        }
        let mut dirty: Vec<Key> = std::mem::take(&mut self.dirty).into_iter().collect();
        dirty.sort_by_key(|k| (self.cells[k].tab, self.cells[k].row));
        for key in &dirty {
            let cell = &self.cells[key];
            let t = cell.totals;
            data.push((
                a1(&self.tabs[cell.tab].title, &format!("A{row}:G{row}", row = cell.row)),
                vec![json!([
                    key.minute,
                    key.region,
                    key.category,
                    t.orders,
                    t.units,
                    money(t.net),
                    money(t.gross)
                ])],
            ));
        }
        let rows_used = self.rows_used + new_rows;
        let mut progress = vec![json!(["tab", self.tabs[last].title, ""]), json!(["rows", rows_used, ""])];
        progress.extend(self.taken.iter().map(|(p, o)| json!(["partition", p, o])));
        data.push((a1(&self.progress_tab, &format!("A1:C{}", progress.len())), progress));
        client.set_values(&self.spreadsheet, &data)?;
        self.rows_used = rows_used;
        self.new_rows = 0;
        self.progress = self.taken.clone();
        self.forget_old_rows();
        let orders = std::mem::take(&mut self.orders_pending);
        Stats::add(&stats.sheets_written, orders);
        self.since = None;
        Ok(Flushed { offsets: self.taken.clone(), mark: None, rows: orders })
    }

    /// Moves the rows not yet in the sheet to a new tab if they would take the current
    /// one past the cell limit.
    fn roll_over_if_needed(&mut self, client: &mut SheetsClient) -> Result<(), SheetsError> {
        let fits = (self.rows_used + self.new_rows) * COLUMNS <= self.max_cells_per_tab;
        if self.new_rows == 0 || fits || self.rows_used == 1 {
            return Ok(());
        }
        let base = self.tabs[0].title.clone();
        let title = format!("{base}_{}", self.tabs.len() + 1);
        let tab = client.add_tab(&self.spreadsheet, &title, GROW_BY, COLUMNS)?;
        info!(full = %self.tabs[self.tabs.len() - 1].title, next = %title, "aggregates tab reached its cell limit; new minutes go to the next tab");
        self.tabs.push(tab);
        let index = self.tabs.len() - 1;
        let old_used = self.rows_used;
        self.rows_used = 1;
        for cell in self.cells.values_mut() {
            if cell.tab == index - 1 && cell.row > old_used {
                (cell.tab, cell.row) = (index, cell.row - old_used + 1);
            }
        }
        Ok(())
    }

    /// Keeps memory bounded: rows far behind the end are not updated in place any more
    /// (an order that late gets a row of its own, which a report sums with the first).
    fn forget_old_rows(&mut self) {
        if self.cells.len() <= KEPT_ROWS as usize {
            return;
        }
        let last = self.tabs.len() - 1;
        let horizon = self.rows_used.saturating_sub(KEPT_ROWS);
        self.cells.retain(|_, cell| cell.tab == last && cell.row > horizon);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::EventTime;

    #[test]
    fn minutes_are_local_and_sheets_friendly() {
        let mut order = crate::generate::Generator::new(&crate::generate::GeneratorConfig {
            seed: Some(1),
            ..Default::default()
        })
        .order_at(0);
        order.timestamp = EventTime::parse("2026-11-26T14:05:59.999+01:00").unwrap();
        assert_eq!(minute_of(&order), "2026-11-26 14:05");
    }

    #[test]
    fn sheet_numbers_read_back_in_either_rendering() {
        assert_eq!(parse_grosz(&json!(1234.56)), 123456);
        assert_eq!(parse_grosz(&json!("1,234.56")), 123456);
        assert_eq!(parse_count(&json!("12")), 12);
        assert_eq!(parse_count(&json!(7)), 7);
        assert_eq!(parse_count(&json!(3242.0)), 3242);
    }
}
