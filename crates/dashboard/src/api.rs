//! The JSON API: summaries, time series, the ticker and a day's CSV export, with 4xx JSON
//! errors that name the bad parameter.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::state::LiveState;
use crate::analytics::{Filter, TotalsReport};
use crate::order::Region;
use crate::order::{write_json, EventTime};

/// A client error: status, message and the parameter at fault.
#[derive(Debug, Serialize)]
pub(super) struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    /// What is wrong.
    pub error: String,
    /// The query parameter at fault, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

impl ApiError {
    fn bad(parameter: &str, error: String) -> Self {
        ApiError { status: StatusCode::BAD_REQUEST, error, parameter: Some(parameter.to_string()) }
    }

    /// A 500 with a message.
    pub(super) fn internal(error: String) -> Self {
        ApiError { status: StatusCode::INTERNAL_SERVER_ERROR, error, parameter: None }
    }

    /// A 404 with a message.
    pub(super) fn not_found(error: String) -> Self {
        ApiError { status: StatusCode::NOT_FOUND, error, parameter: None }
    }
}

impl ApiError {
    /// The error as a page a person reads, for the routes a browser opens (the API
    /// answers JSON).
    pub(super) fn page(&self) -> Response {
        let what = self.parameter.as_deref().map(|p| format!(" in <code>{}</code>", super::html::esc(p)));
        let html = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>orderstream: bad request</title></head>\
             <body style=\"font-family:system-ui,sans-serif;margin:2rem\"><h1>That address asks for something the dashboard cannot show{}</h1>\
             <p id=\"error\">{}</p><p><a href=\"/\">Back to the dashboard</a></p></body></html>",
            what.unwrap_or_default(),
            super::html::esc(&self.error)
        );
        (self.status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(&self)).into_response()
    }
}

pub(super) type Params = Query<HashMap<String, String>>;

/// Parses `from`, `to`, `range`, `region`, `category` (and checks that nothing else is
/// given beyond `extra`).
pub(super) fn filter(
    state: &LiveState,
    params: &HashMap<String, String>,
    extra: &[&str],
) -> Result<Filter, ApiError> {
    // An empty value (the "all" choice of a form's select) means no restriction.
    let params: HashMap<&str, &String> =
        params.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.as_str(), v)).collect();
    for key in params.keys().copied() {
        if !["from", "to", "range", "region", "category"].contains(&key) && !extra.contains(&key) {
            return Err(ApiError::bad(key, format!("unknown parameter {key:?}")));
        }
    }
    let time = |key: &str, end: bool| -> Result<Option<i64>, ApiError> {
        params.get(key).map(|text| parse_time(text, end).map_err(|e| ApiError::bad(key, e))).transpose()
    };
    let region = params
        .get("region")
        .map(|name| {
            Region::parse(name).map(Region::index).ok_or_else(|| {
                let known: Vec<&str> = Region::ALL.iter().map(|r| r.as_str()).collect();
                ApiError::bad("region", format!("unknown region {name:?}; the regions are {known:?}"))
            })
        })
        .transpose()?;
    let categories = state.analytics().categories();
    let category = params
        .get("category")
        .map(|name| {
            categories.iter().position(|c| c.name == name.as_str()).ok_or_else(|| {
                let known: Vec<&str> = categories.iter().map(|c| c.name).collect();
                ApiError::bad("category", format!("unknown category {name:?}; the categories are {known:?}"))
            })
        })
        .transpose()?;
    let mut filter = Filter { from_ms: time("from", false)?, to_ms: time("to", true)?, region, category };
    // `range=15m`: the last 15 minutes before the latest order (`all`: no limit).
    if let Some(range) = params.get("range").filter(|r| r.as_str() != "all") {
        let span = humantime::parse_duration(range).map_err(|_| {
            ApiError::bad(
                "range",
                format!("invalid range {range:?}: expected a duration such as 15m, 1h or 24h, or all"),
            )
        })?;
        if let Some(watermark) = state.analytics().range_end_ms() {
            let from = watermark - span.as_millis().min(i64::MAX as u128) as i64;
            filter.from_ms = Some(filter.from_ms.map_or(from, |f| f.max(from)));
        }
    }
    if let (Some(from), Some(to)) = (filter.from_ms, filter.to_ms) {
        if to <= from {
            return Err(ApiError::bad("to", "`to` must be after `from`".into()));
        }
    }
    Ok(filter)
}

/// The `w` parameter of a chart: its width in px, as wide as the card it fills.
pub(super) fn chart_width(params: &HashMap<String, String>) -> Result<u32, ApiError> {
    match params.get("w").filter(|w| !w.is_empty()) {
        None => Ok(super::charts::DEFAULT_WIDTH),
        Some(w) => w.parse::<u32>().ok().filter(|w| (240..=4000).contains(w)).ok_or_else(|| {
            ApiError::bad("w", format!("invalid chart width {w:?}: expected a number of px from 240 to 4000"))
        }),
    }
}

/// A day (Polish time; as `to`, the day included), an RFC 3339 instant, or ms since the
/// Unix epoch.
fn parse_time(text: &str, end: bool) -> Result<i64, String> {
    if let Ok(ms) = text.parse::<i64>() {
        // 1970-01-01 to the end of 9999: beyond, a period and its comparison would
        // overflow, and no order can lie there.
        const LAST_MS: i64 = 253_402_300_799_999;
        return if (0..=LAST_MS).contains(&ms) {
            Ok(ms)
        } else {
            Err(format!(
                "time {text} is out of range: ms since the Unix epoch from 0 to {LAST_MS} (9999-12-31)"
            ))
        };
    }
    match text.parse::<crate::order::TimeArg>() {
        Ok(t) => Ok(if end { t.end_micros() } else { t.start_micros() } / 1000),
        Err(_) => Err(format!(
            "invalid time {text:?}: expected a day (2026-11-26), an RFC 3339 instant or ms since the Unix epoch"
        )),
    }
}

/// `GET /api/summary`.
pub(super) async fn summary(
    State(state): State<Arc<LiveState>>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let filter = filter(&state, &params, &["top"])?;
    let top = match params.get("top") {
        None => 10,
        Some(t) => t.parse::<usize>().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
            ApiError::bad("top", format!("invalid top {t:?}: expected a number from 1 to 1000"))
        })?,
    };
    let mut analytics = state.analytics();
    let summary = analytics.summary(&filter, top);
    let previous = previous_period(&mut analytics, &filter);
    drop(analytics);
    Ok(Json(Compared { summary, previous }).into_response())
}

/// A summary with the totals of the period before it.
#[derive(Debug, Serialize)]
struct Compared {
    #[serde(flatten)]
    summary: crate::analytics::Summary,
    /// The same span just before, when the selection has a start.
    previous: Option<Previous>,
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

/// The totals of the period before `filter`'s, as Looker Studio's comparison range
/// gives them.
pub(super) fn previous_period(
    analytics: &mut crate::analytics::Analytics,
    filter: &Filter,
) -> Option<Previous> {
    let before = analytics.previous_period(filter)?;
    Some(Previous {
        from_ms: before.from_ms?,
        to_ms: before.to_ms?,
        totals: analytics.total(&before).report(),
    })
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
    Query(params): Params,
) -> Result<Response, ApiError> {
    let filter = filter(&state, &params, &[])?;
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
    Query(params): Params,
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

fn iso(ms: i64) -> String {
    let mut out = Vec::new();
    EventTime::in_poland(ms * 1000).write_iso8601(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}
