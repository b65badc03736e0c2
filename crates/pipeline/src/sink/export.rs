//! Reading a day back: every CSV file of that day in a directory, merged under one
//! header, for the dashboard's export. It is sent in chunks, so a day of any size costs
//! the same memory.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::order::is_day_file;

/// Bytes read and sent at a time.
const CHUNK: usize = 256 << 10;

/// A day's files and the part of each to send: from the start (the first file) or after
/// its header (the others) to its last complete line when the export began, so that a
/// line still being written is left out.
#[derive(Debug)]
pub struct DayFiles {
    parts: Vec<(PathBuf, u64, u64)>,
}

/// The files of `day` in `dir` (the daily file or the per-partition files); `None` when
/// there is none.
pub fn day_files(dir: &Path, day: NaiveDate) -> io::Result<Option<DayFiles>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|name| is_day_file(name, day)))
        .collect();
    if files.is_empty() {
        return Ok(None);
    }
    files.sort();
    let mut parts = Vec::with_capacity(files.len());
    for (i, path) in files.into_iter().enumerate() {
        let mut file = File::open(&path)?;
        let end = last_line_end(&mut file)?;
        let start = if i == 0 { 0 } else { first_line_end(&mut file)?.min(end) };
        parts.push((path, start, end));
    }
    Ok(Some(DayFiles { parts }))
}

/// The offset just after the last newline (0 if there is none).
fn last_line_end(file: &mut File) -> io::Result<u64> {
    let mut end = file.seek(SeekFrom::End(0))?;
    let mut block = vec![0u8; 64 << 10];
    while end > 0 {
        let from = end.saturating_sub(block.len() as u64);
        let len = (end - from) as usize;
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut block[..len])?;
        if let Some(p) = block[..len].iter().rposition(|b| *b == b'\n') {
            return Ok(from + p as u64 + 1);
        }
        end = from;
    }
    Ok(0)
}

/// The offset just after the first newline (the end of the header).
fn first_line_end(file: &mut File) -> io::Result<u64> {
    file.seek(SeekFrom::Start(0))?;
    let mut block = vec![0u8; 4096];
    let mut at = 0u64;
    loop {
        let n = file.read(&mut block)?;
        if n == 0 {
            return Ok(at);
        }
        if let Some(p) = block[..n].iter().position(|b| *b == b'\n') {
            return Ok(at + p as u64 + 1);
        }
        at += n as u64;
    }
}

impl DayFiles {
    /// Hands the day's bytes to `send` in chunks of at most `chunk` bytes, stopping early
    /// when it returns false (the client went away).
    pub fn send_in(&self, chunk: usize, mut send: impl FnMut(Vec<u8>) -> bool) -> io::Result<()> {
        for (path, start, end) in &self.parts {
            let mut file = File::open(path)?;
            file.seek(SeekFrom::Start(*start))?;
            let mut left = end - start;
            while left > 0 {
                let mut buf = vec![0u8; chunk.min(left as usize)];
                file.read_exact(&mut buf)?;
                left -= buf.len() as u64;
                if !send(buf) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// The day as one CSV stream under one header, read as it is consumed (for a reader
    /// that picks rows out of it).
    pub fn reader(&self) -> io::Result<Box<dyn Read + Send>> {
        let mut chained: Box<dyn Read + Send> = Box::new(io::empty());
        for (path, start, end) in &self.parts {
            let mut file = File::open(path)?;
            file.seek(SeekFrom::Start(*start))?;
            chained = Box::new(chained.chain(io::BufReader::with_capacity(CHUNK, file).take(end - start)));
        }
        Ok(chained)
    }

    /// As [`DayFiles::send_in`], in 256 KiB chunks.
    pub fn send(&self, send: impl FnMut(Vec<u8>) -> bool) -> io::Result<()> {
        self.send_in(CHUNK, send)
    }
}

/// The days that have files in `dir`, oldest first.
pub fn days(dir: &Path) -> io::Result<Vec<NaiveDate>> {
    let mut days: Vec<NaiveDate> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let day = NaiveDate::parse_from_str(name.strip_prefix("orders_")?.get(..10)?, "%Y-%m-%d").ok()?;
            is_day_file(&name, day).then_some(day)
        })
        .collect();
    days.sort_unstable();
    days.dedup();
    Ok(days)
}

/// The whole day in memory (for tests and small days).
pub fn read_day(dir: &Path, day: NaiveDate) -> io::Result<Option<Vec<u8>>> {
    let Some(files) = day_files(dir, day)? else { return Ok(None) };
    let mut out = Vec::new();
    files.send(|chunk| {
        out.extend_from_slice(&chunk);
        true
    })?;
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
        let mut merged = String::new();
        day_files(dir.path(), day).unwrap().unwrap().reader().unwrap().read_to_string(&mut merged).unwrap();
        assert_eq!(merged, "h\na\nb\n");
        assert_eq!(days(dir.path()).unwrap(), [day.pred_opt().unwrap(), day]);
    }

    #[test]
    fn any_chunk_size_sends_the_same_bytes_and_a_gone_client_stops_it() {
        let dir = tempfile::tempdir().unwrap();
        let long: String = (0..20_000).map(|i| format!("row{i},x\n")).collect();
        std::fs::write(dir.path().join("orders_2026-11-26.p0.csv"), format!("header\n{long}")).unwrap();
        std::fs::write(dir.path().join("orders_2026-11-26.p1.csv"), format!("header\n{long}tail")).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let files = day_files(dir.path(), day).unwrap().unwrap();
        let expected = format!("header\n{long}{long}");
        for chunk in [1, 7, 4096, 1 << 20] {
            let mut out = Vec::new();
            files
                .send_in(chunk, |c| {
                    assert!(c.len() <= chunk);
                    out.extend_from_slice(&c);
                    true
                })
                .unwrap();
            assert_eq!(out, expected.as_bytes(), "chunk {chunk}");
        }
        let mut calls = 0;
        files
            .send_in(10, |_| {
                calls += 1;
                calls < 3
            })
            .unwrap();
        assert_eq!(calls, 3);
    }
}
