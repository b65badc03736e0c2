//! The JSON API: summaries, time series, the ticker and a day's CSV export, with 4xx JSON
//! errors that name the bad parameter ([`ApiError`]).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use std::collections::HashMap;

pub(crate) use super::error::ApiError;
use super::state::LiveState;
use super::view::{Params, View};
use crate::analytics::{Filter, TotalsReport};
use crate::order::{write_json, EventTime};

/// The `w` parameter of a chart: its width in px, as wide as the card it fills.
pub(super) fn chart_width(params: &Params) -> Result<u32, ApiError> {
    match params.get("w") {
        None => Ok(super::charts::DEFAULT_WIDTH),
        Some(w) => w.parse::<u32>().ok().filter(|w| (240..=4000).contains(w)).ok_or_else(|| {
            ApiError::bad("w", format!("invalid chart width {w:?}: expected a number of px from 240 to 4000"))
        }),
    }
}

/// `GET /api/summary`.
pub(super) async fn summary(
    State(state): State<Arc<LiveState>>,
    params: Params,
) -> Result<Response, ApiError> {
    let view = View::parse(&state, &params, &["top"])?;
    let filter = view.filter;
    let top = match params.get("top") {
        None => 10,
        Some(t) => t.parse::<usize>().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
            ApiError::bad("top", format!("invalid top {t:?}: expected a number from 1 to 1000"))
        })?,
    };
    let mut analytics = state.analytics();
    let summary = analytics.summary(&filter, top);
    let previous = previous_period(&mut analytics, &filter);
    let year_ago = year_earlier(&mut analytics, &filter);
    let (from_ms, to_ms) = analytics.covered(&filter);
    let newest_ms = analytics.newest_ms();
    drop(analytics);
    Ok(Json(Compared { summary, previous, year_ago, from_ms, to_ms, newest_ms }).into_response())
}

/// A summary with the totals of the period before it.
#[derive(Debug, Serialize)]
struct Compared {
    #[serde(flatten)]
    summary: crate::analytics::Summary,
    /// The same span just before, when the selection has a start.
    previous: Option<Previous>,
    /// The same span a year earlier, when the selection has a start and that year
    /// holds orders.
    year_ago: Option<Previous>,
    /// The event time the figures cover (ms; whole windows of the resolution that
    /// answers), when bounded.
    from_ms: Option<i64>,
    /// Its end (exclusive).
    to_ms: Option<i64>,
    /// The event time of the newest order read ("data up to").
    newest_ms: Option<i64>,
}

/// The totals of the period just before the selection, of the same length.
#[derive(Debug, Serialize)]
pub(super) struct Previous {
    /// Its start (ms since the Unix epoch).
    pub(super) from_ms: i64,
    /// Its end (exclusive).
    pub(super) to_ms: i64,
    /// Its totals.
    #[serde(flatten)]
    pub(super) totals: TotalsReport,
}

/// `filter` up to now at most: a period that is still running (today, this month) is
/// compared to date, the same elapsed length before it, not with a whole period.
fn to_date(filter: &Filter) -> Filter {
    let now = crate::clock::now_millis().saturating_add(1);
    Filter { to_ms: Some(filter.to_ms.map_or(now, |t| t.min(now))), ..*filter }
}

/// The totals of `before`, reported with the span they cover; `None` when the kept
/// history does not reach back to its start (a comparison with half a period would
/// mislead more than none).
fn compared(analytics: &crate::analytics::Analytics, before: &Filter) -> Option<Previous> {
    let (Some(from_ms), Some(to_ms)) = analytics.covered(before) else { return None };
    if analytics.oldest_ms().is_none_or(|oldest| oldest > from_ms) || to_ms <= from_ms {
        return None;
    }
    Some(Previous { from_ms, to_ms, totals: analytics.total(before).report() })
}

/// The totals of the period before `filter`'s, of the same length (to date), as Looker
/// Studio's comparison range gives them.
pub(super) fn previous_period(
    analytics: &mut crate::analytics::Analytics,
    filter: &Filter,
) -> Option<Previous> {
    let before = analytics.previous_period(&to_date(filter))?;
    compared(analytics, &before)
}

/// The totals of the same span a year earlier on the Polish calendar (the same dates and
/// hours, to date; in whole days where only days are kept that far back, the last one
/// left out rather than a day added), when that year's history reaches its start: the
/// scorecards' year-on-year comparison.
pub(super) fn year_earlier(analytics: &mut crate::analytics::Analytics, filter: &Filter) -> Option<Previous> {
    // The span the figures cover (whole windows), so both sides count the same hours.
    let (from, to) = analytics.covered(&to_date(filter));
    let (from, to) = (from?, to?);
    let back = |ms: i64| {
        let t = super::charts::format::local(ms);
        t.checked_sub_months(chrono::Months::new(12)).map(super::charts::time_axis::from_local)
    };
    let mut before = Filter { from_ms: Some(back(from)?), to_ms: Some(back(to)?), ..*filter };
    let width = analytics.resolution(&before).nominal_ms();
    if let (Some(f), Some(t)) = analytics.covered(&before) {
        if (t - f) - (to - from) >= width / 2 {
            before.to_ms = Some(t - width);
        }
    }
    compared(analytics, &before).filter(|p| p.totals.orders > 0)
}

/// One point of a time series.
#[derive(Debug, Serialize)]
pub(super) struct Point {
    /// Window start, ms since the Unix epoch.
    pub start_ms: i64,
    /// Window start in Polish time.
    pub start: String,
    /// Its sums.
    #[serde(flatten)]
    pub totals: TotalsReport,
}

/// `GET /api/series`.
pub(super) async fn series(
    State(state): State<Arc<LiveState>>,
    params: Params,
) -> Result<Response, ApiError> {
    let filter = View::parse(&state, &params, &[])?.filter;
    let points: Vec<Point> = state
        .analytics()
        .series(&filter)
        .into_iter()
        .map(|(start_ms, totals)| Point { start_ms, start: iso(start_ms), totals: totals.report() })
        .collect();
    Ok(Json(points).into_response())
}

/// `GET /api/ticker`: the latest orders, newest first, as JSON lines would show them.
pub(super) async fn ticker(State(state): State<Arc<LiveState>>) -> Response {
    let mut body = Vec::from(&b"["[..]);
    for (i, order) in state.analytics().ticker().rev().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        write_json(order, &mut body);
    }
    body.push(b']');
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `GET /api/export?day=YYYY-MM-DD`: that day's CSV rows (all partition files merged
/// under one header).
pub(super) async fn export(
    State(state): State<Arc<LiveState>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    if let Some(key) = params.keys().find(|k| k.as_str() != "day") {
        return Err(ApiError::bad(key, format!("unknown parameter {key:?}")));
    }
    let day =
        params.get("day").ok_or_else(|| ApiError::bad("day", "missing parameter day (YYYY-MM-DD)".into()))?;
    let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| ApiError::bad("day", format!("invalid day {day:?}: expected YYYY-MM-DD")))?;
    let dir = state
        .csv_dir
        .clone()
        .ok_or_else(|| ApiError::not_found("this process writes no CSV files".into()))?;
    let internal = ApiError::internal;
    let files = tokio::task::spawn_blocking(move || crate::sink::day_files(&dir, date))
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(|e| internal(e.to_string()))?
        .ok_or_else(|| ApiError::not_found(format!("no orders for {date}")))?;
    // Read on a blocking thread and streamed: memory stays flat whatever the day's size.
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    tokio::task::spawn_blocking(move || {
        if let Err(e) = files.send(|chunk| tx.blocking_send(Ok(chunk)).is_ok()) {
            let _ = tx.blocking_send(Err(e));
        }
    });
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let body = axum::body::Body::from_stream(chunks);
    let disposition = format!("attachment; filename=\"orders_{date}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// Unknown paths.
pub(super) async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no such path {}", uri.path()))
}

/// An instant in Polish time, ISO 8601 with its offset.
pub(crate) fn iso(ms: i64) -> String {
    let mut out = Vec::new();
    EventTime::in_poland(ms * 1000).write_iso8601(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}
