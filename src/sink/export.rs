//! Reading a day back: every CSV file of that day in a directory, merged under one
//! header, for the dashboard's export.

use std::io;
use std::path::Path;

use chrono::NaiveDate;

/// The rows of `day` from the daily file or the per-partition files in `dir`, with one
/// header; `None` when there is no file for the day. A line still being written is left
/// out.
pub fn read_day(dir: &Path, day: NaiveDate) -> io::Result<Option<Vec<u8>>> {
    let prefix = format!("orders_{}", day.format("%Y-%m-%d"));
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.strip_prefix(&prefix).is_some_and(|rest| {
                rest == ".csv"
                    || rest
                        .strip_prefix(".p")
                        .and_then(|r| r.strip_suffix(".csv"))
                        .is_some_and(|n| n.parse::<u32>().is_ok())
            })
        })
        .collect();
    if files.is_empty() {
        return Ok(None);
    }
    files.sort();
    let mut out = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let data = std::fs::read(file)?;
        let complete = data.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
        let body = &data[..complete];
        let header_end = body.iter().position(|b| *b == b'\n').map_or(body.len(), |p| p + 1);
        out.extend_from_slice(if i == 0 { body } else { &body[header_end..] });
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_files_merge_under_one_header_without_torn_lines() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("orders_2026-11-26.p0.csv"), "h\na\n").unwrap();
        std::fs::write(dir.path().join("orders_2026-11-26.p1.csv"), "h\nb\nc,tor").unwrap();
        std::fs::write(dir.path().join("orders_2026-11-25.csv"), "h\nz\n").unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        assert_eq!(read_day(dir.path(), day).unwrap().unwrap(), b"h\na\nb\n");
        assert!(read_day(dir.path(), day.succ_opt().unwrap()).unwrap().is_none());
    }
}
