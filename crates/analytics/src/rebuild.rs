//! Rebuilding the live state after a restart from the daily CSV files, so the dashboard
//! of a restarted consumer does not start blank.

use std::path::Path;

use chrono::{Duration, NaiveDate};

use crate::order::{day_file_name, decode_csv_record, Catalogue, EventTime, Order};

/// What a rebuild read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rebuilt {
    /// Orders fed to the analytics.
    pub orders: u64,
    /// Rows that did not parse (left alone; the files are the record).
    pub unreadable: u64,
    /// Files read.
    pub files: u64,
}

/// Feeds every order in the daily files of the days the retention covers (in the
/// directory's `orders_YYYY-MM-DD.csv` layout) to `record`, oldest day first. Rows are
/// checked against `catalogue`, as the sink checked them.
pub fn from_daily_files(
    dir: &Path,
    catalogue: &Catalogue,
    now_ms: i64,
    retention: std::time::Duration,
    mut record: impl FnMut(&Order),
) -> std::io::Result<Rebuilt> {
    let today = EventTime::in_poland(now_ms * 1000).local_date();
    let days = retention.as_secs().div_ceil(86_400) as i64;
    let mut rebuilt = Rebuilt::default();
    for back in (0..=days).rev() {
        let day: NaiveDate = today - Duration::days(back);
        let path = dir.join(day_file_name(day, None));
        let mut reader = match csv::Reader::from_path(&path) {
            Ok(reader) => reader,
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::NotFound) => {
                continue
            }
            Err(e) => return Err(std::io::Error::other(format!("{}: {e}", path.display()))),
        };
        rebuilt.files += 1;
        let headers =
            reader.headers().map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?.clone();
        for row in reader.records() {
            match row
                .map_err(|e| e.to_string())
                .and_then(|r| decode_csv_record(&r, &headers, catalogue).map_err(|e| e.to_string()))
            {
                Ok(order) => {
                    rebuilt.orders += 1;
                    record(&order);
                }
                Err(_) => rebuilt.unreadable += 1,
            }
        }
    }
    Ok(rebuilt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Generator, GeneratorConfig};
    use crate::order::{write_csv_row, CSV_HEADER};

    #[test]
    fn orders_come_back_from_the_files_of_the_retained_days() {
        let dir = tempfile::tempdir().unwrap();
        let mut g = Generator::new(&GeneratorConfig { seed: Some(4), ..Default::default() });
        let now_ms = 1_790_000_000_000; // 2026-09-21
        let mut written = Vec::new();
        for (days_back, count) in [(0, 30), (1, 20), (5, 10)] {
            let t = (now_ms - days_back * 86_400_000) * 1000;
            let orders: Vec<Order> = (0..count).map(|i| g.order_at(t - i * 1_000_000)).collect();
            let day = orders[0].timestamp.local_date();
            let mut text = format!("{}\n", CSV_HEADER.join(",")).into_bytes();
            orders.iter().for_each(|o| write_csv_row(o, &mut text));
            text.extend_from_slice(b"garbage,row\n");
            std::fs::write(dir.path().join(format!("orders_{}.csv", day.format("%Y-%m-%d"))), text).unwrap();
            if days_back <= 1 {
                written.extend(orders);
            }
        }
        let mut seen = Vec::new();
        let rebuilt = from_daily_files(
            dir.path(),
            &crate::generate::builtin_catalogue(),
            now_ms,
            std::time::Duration::from_secs(26 * 3600),
            |o| seen.push(*o),
        )
        .unwrap();
        assert_eq!(rebuilt, Rebuilt { orders: 50, unreadable: 2, files: 2 });
        seen.sort_by_key(|o| o.id);
        written.sort_by_key(|o| o.id);
        assert_eq!(seen, written);
    }
}
