//! `/api/orders.csv`: the rows of the daily CSV files that a view's figures sum, picked
//! on a blocking thread and streamed in chunks.

use std::io;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;

use crate::analytics::Choice;
use crate::charts::format;
use crate::error::ApiError;
use crate::order::{Region, CSV_HEADER};
use crate::state::LiveState;
use crate::view::{Params, View};

/// Bytes gathered before a chunk of the CSV export is sent.
const CHUNK: usize = 256 << 10;

/// Which rows of the files the CSV export keeps: the span the figures cover (whole
/// windows), and the regions and categories chosen.
#[derive(Debug, Clone)]
pub(crate) struct Rows {
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    regions: Choice,
    /// The names of the categories kept; `None`: all.
    categories: Option<Vec<&'static str>>,
}

impl Rows {
    /// The rows behind `view`'s figures, and the directory of the files that hold them.
    pub(crate) fn of(state: &LiveState, view: &View) -> Result<(std::path::PathBuf, Rows), ApiError> {
        let dir = state
            .csv_dir
            .clone()
            .ok_or_else(|| ApiError::not_found("this process writes no CSV files to export from".into()))?;
        let analytics = state.analytics();
        let (from_ms, to_ms) = analytics.covered(&view.filter);
        let categories = (!view.filter.categories.is_any()).then(|| {
            let all = analytics.categories();
            all.iter()
                .enumerate()
                .filter(|(i, _)| view.filter.categories.keeps(*i))
                .map(|(_, c)| c.name)
                .collect()
        });
        Ok((dir, Rows { from_ms, to_ms, regions: view.filter.regions, categories }))
    }

    fn keeps_day(&self, day: NaiveDate) -> bool {
        self.from_ms.is_none_or(|f| day >= format::local(f).date())
            && self.to_ms.is_none_or(|t| day <= format::local(t - 1).date())
    }
}

/// `GET /api/orders.csv`.
pub(crate) async fn orders_csv(
    State(state): State<Arc<LiveState>>,
    params: Params,
) -> Result<Response, ApiError> {
    let view = View::parse(&state, &params, &[])?;
    let (dir, rows) = Rows::of(&state, &view)?;
    let (from_ms, to_ms) = (rows.from_ms, rows.to_ms);
    let name = match (from_ms, to_ms) {
        (Some(f), Some(t)) => {
            format!("orders_{}_{}.csv", format::local(f).date(), format::local(t - 1).date())
        }
        _ => "orders.csv".to_string(),
    };
    // Read on a blocking thread and streamed: memory stays flat whatever the period.
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Vec<u8>>>(4);
    tokio::task::spawn_blocking(move || {
        if let Err(e) = write_orders(&dir, &rows, |chunk| tx.blocking_send(Ok(chunk)).is_ok()) {
            tracing::warn!(error = %e, "the orders export stopped");
            let _ = tx.blocking_send(Err(e));
        }
    });
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        axum::body::Body::from_stream(chunks),
    )
        .into_response())
}

/// A writer that hands what it is given on in chunks of [`CHUNK`]; once the receiver
/// is gone, writing fails with `BrokenPipe`.
struct Chunks<F: FnMut(Vec<u8>) -> bool> {
    buf: Vec<u8>,
    send: F,
}

impl<F: FnMut(Vec<u8>) -> bool> io::Write for Chunks<F> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() && !(self.send)(std::mem::take(&mut self.buf)) {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"));
        }
        Ok(())
    }
}

/// Writes the header and the kept rows of every day file in `dir` to `send`, in chunks;
/// stops early when `send` returns false (the client went away).
fn write_orders(dir: &std::path::Path, rows: &Rows, send: impl FnMut(Vec<u8>) -> bool) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(Chunks { buf: Vec::with_capacity(CHUNK + 4096), send });
    let written = out.write_record(CSV_HEADER).map_err(csv_error).and_then(|()| {
        pick_rows(dir, rows, |record| out.write_byte_record(record).map(|()| true).map_err(csv_error))
    });
    match written.and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        result => result,
    }
}

/// A CSV error as the I/O error it is, or as invalid data.
fn csv_error(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, format!("{other:?}")),
    }
}

/// Hands each kept row of the day files in `dir` (in the files' column order, which is
/// [`CSV_HEADER`]'s) to `each`, oldest day first, until it returns false.
pub(crate) fn pick_rows(
    dir: &std::path::Path,
    rows: &Rows,
    mut each: impl FnMut(&csv::ByteRecord) -> io::Result<bool>,
) -> io::Result<()> {
    for day in crate::sink::days(dir)?.into_iter().filter(|d| rows.keeps_day(*d)) {
        let Some(files) = crate::sink::day_files(dir, day)? else { continue };
        let mut reader = csv::ReaderBuilder::new().from_reader(files.reader()?);
        let header = reader.byte_headers().map_err(csv_error)?.clone();
        if header.iter().ne(CSV_HEADER.iter().map(|h| h.as_bytes())) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the CSV files of {day} do not have the columns {}", CSV_HEADER.join(",")),
            ));
        }
        let column = |name: &str| CSV_HEADER.iter().position(|h| *h == name).unwrap_or_default();
        let (time, region, category) = (column("timestamp"), column("region"), column("kategoria_produktu"));
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record).map_err(csv_error)? {
            let field = |i: usize| std::str::from_utf8(record.get(i).unwrap_or_default()).unwrap_or_default();
            let ms = chrono::DateTime::parse_from_rfc3339(field(time))
                .map_err(|e| {
                    let line = record.position().map_or(0, csv::Position::line);
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the CSV files of {day}, line {line}: timestamp {:?}: {e}", field(time)),
                    )
                })?
                .timestamp_millis();
            let keep = rows.from_ms.is_none_or(|f| ms >= f)
                && rows.to_ms.is_none_or(|t| ms < t)
                && Region::parse(field(region)).is_some_and(|r| rows.regions.keeps(r.index()))
                && rows.categories.as_ref().is_none_or(|c| c.contains(&field(category)));
            if keep && !each(&record)? {
                return Ok(());
            }
        }
    }
    Ok(())
}
