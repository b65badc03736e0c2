//! The Sheets (v4) and Drive (v3) REST calls the sink makes, behind our own quota
//! limiter, with Google's backoff and errors that say what to do.

use std::sync::Arc;
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};
use tracing::warn;

use super::quota::{Backoff, SlidingWindow};
use super::SheetsConfig;
use crate::google::{AuthError, CredsError, ServiceAccountKey, TokenSource};
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// Errors of the Sheets sink that retrying does not fix; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SheetsError {
    /// The broker refused the sink's consumer (see [`crate::kafka::refusal`]).
    #[error("{0}")]
    Kafka(String),
    /// The key file is missing or broken.
    #[error(transparent)]
    Creds(#[from] CredsError),
    /// The token endpoint refused the key.
    #[error(transparent)]
    Auth(AuthError),
    /// 403: the account may not open the spreadsheet (or the API is off).
    #[error("{what}: permission denied for {client_email} (HTTP 403: {message}); share the spreadsheet with {client_email} as Editor (and check that the Sheets and Drive APIs are enabled in the account's project)")]
    Forbidden {
        /// What was being accessed.
        what: String,
        /// The service account.
        client_email: String,
        /// Google's message.
        message: String,
    },
    /// 404: no such spreadsheet (or not visible to the account).
    #[error("{what}: not found (HTTP 404: {message}); check --spreadsheet-id (the part of the sheet's URL after /d/) and share the spreadsheet with {client_email} as Editor")]
    NotFound {
        /// What was being accessed.
        what: String,
        /// The service account.
        client_email: String,
        /// Google's message.
        message: String,
    },
    /// Drive lists no spreadsheet of that name for the account.
    #[error("no spreadsheet named {name:?} is shared with {client_email}; share it with {client_email} as Editor, or pass --spreadsheet-id")]
    NoSuchName {
        /// The name looked up.
        name: String,
        /// The service account.
        client_email: String,
    },
    /// The workbook reached Google's 10 million cells.
    #[error("spreadsheet {spreadsheet} is full ({message}); move or delete old tabs, or use --sheets-mode aggregates")]
    WorkbookFull {
        /// The spreadsheet id.
        spreadsheet: String,
        /// Google's message.
        message: String,
    },
    /// The tab holds something other than our rows.
    #[error("tab {tab:?} of spreadsheet {spreadsheet} does not start with the orderstream header (row 1: {found}); point --sheet-tab at an empty tab or one orderstream wrote")]
    ForeignTab {
        /// The spreadsheet id.
        spreadsheet: String,
        /// The tab.
        tab: String,
        /// What row 1 holds.
        found: String,
    },
    /// Any other refusal.
    #[error("{what}: HTTP {status}: {message}")]
    Api {
        /// What was being done.
        what: String,
        /// The HTTP status.
        status: u16,
        /// Google's message.
        message: String,
    },
    /// The process is stopping and the request was abandoned.
    #[error("stopped before Google answered")]
    Stopped,
}

/// One failed attempt.
#[derive(Debug)]
pub enum Failure {
    /// Retrying may work (429, 5xx, timeout, network). `maybe_applied`: the request may
    /// have taken effect although no answer said so.
    Transient {
        /// What went wrong.
        reason: String,
        /// Whether the request may have been applied.
        maybe_applied: bool,
    },
    /// Retrying will not help.
    Permanent(SheetsError),
}

/// Which quota a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    /// Read requests per minute per user.
    Read,
    /// Write requests per minute per user.
    Write,
}

/// A tab's properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tab {
    /// The numeric id (for batchUpdate requests).
    pub sheet_id: i64,
    /// The title, as in A1 ranges.
    pub title: String,
    /// Rows in the grid (filled or not): they count against the cell limit.
    pub rows: u64,
    /// Columns in the grid.
    pub columns: u64,
}

/// What an append changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Row (1-based) of the first appended row.
    pub first_row: u64,
    /// Row of the last appended row.
    pub last_row: u64,
}

/// Characters left as they are in a path segment; everything else is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `'Tab'!range` with the quoting A1 notation needs for any tab name.
pub fn a1(tab: &str, range: &str) -> String {
    format!("'{}'!{range}", tab.replace('\'', "''"))
}

/// The last row of an A1 range such as `'Data'!A2:O501` (501).
pub fn last_row_of(range: &str) -> Option<u64> {
    let cells = range.rsplit('!').next()?;
    let last = cells.rsplit(':').next()?;
    last.trim_start_matches(|c: char| c.is_ascii_alphabetic()).parse().ok()
}

/// The first row of an A1 range such as `'Data'!A2:O501` (2).
pub fn first_row_of(range: &str) -> Option<u64> {
    let cells = range.rsplit('!').next()?;
    let first = cells.split(':').next()?;
    first.trim_start_matches(|c: char| c.is_ascii_alphabetic()).parse().ok()
}

/// A signed-in client of one spreadsheet's APIs.
pub struct SheetsClient {
    agent: ureq::Agent,
    tokens: TokenSource,
    sheets_api: String,
    drive_api: String,
    writes: SlidingWindow,
    reads: SlidingWindow,
    backoff_base: Duration,
    stats: Arc<Stats>,
    /// Set to abandon waits and retries (the process is stopping and out of time).
    pub abort: Shutdown,
}

impl SheetsClient {
    /// Reads the key file and prepares the client; no request is made yet.
    pub fn new(config: &SheetsConfig, stats: Arc<Stats>) -> Result<Self, SheetsError> {
        let key = ServiceAccountKey::load(&config.creds)?;
        let agent = crate::http::agent(config.request_timeout);
        Ok(SheetsClient {
            tokens: TokenSource::new(key, super::SCOPES, agent.clone()),
            agent,
            sheets_api: config.sheets_api.trim_end_matches('/').to_string(),
            drive_api: config.drive_api.trim_end_matches('/').to_string(),
            writes: SlidingWindow::new(config.max_writes_per_window, config.quota_window),
            reads: SlidingWindow::new(config.max_reads_per_window, config.quota_window),
            backoff_base: config.backoff_base,
            stats,
            abort: Shutdown::new(),
        })
    }

    /// The service account's e-mail (for messages).
    pub fn client_email(&self) -> &str {
        self.tokens.client_email()
    }

    /// The first step of the retry backoff.
    pub fn backoff_base(&self) -> Duration {
        self.backoff_base
    }

    /// Write requests sent in the current quota window.
    pub fn writes_in_window(&mut self) -> usize {
        self.writes.in_window(Instant::now())
    }

    /// When the write quota lets the next write go.
    pub fn write_ready_at(&mut self) -> Instant {
        self.writes.ready_at(Instant::now())
    }

    /// Signs in now, so that a bad key fails at start rather than at the first batch.
    pub fn sign_in(&mut self) -> Result<(), SheetsError> {
        self.retrying("signing in", |client| client.token().map(|_| ()))
    }

    fn token(&mut self) -> Result<String, Failure> {
        self.tokens.token().map_err(|e| match e {
            AuthError::Rejected { .. } => Failure::Permanent(SheetsError::Auth(e)),
            AuthError::Unavailable { .. } => {
                Failure::Transient { reason: e.to_string(), maybe_applied: false }
            }
        })
    }

    fn spreadsheet_url(&self, spreadsheet: &str) -> String {
        format!("{}/v4/spreadsheets/{}", self.sheets_api, utf8_percent_encode(spreadsheet, SEGMENT))
    }

    fn values_url(&self, spreadsheet: &str, range: &str) -> String {
        format!("{}/values/{}", self.spreadsheet_url(spreadsheet), utf8_percent_encode(range, SEGMENT))
    }

    /// One attempt of a request, after waiting for its quota.
    pub fn attempt(
        &mut self,
        quota: Quota,
        what: &str,
        method: &str,
        url: &str,
        body: Option<&[u8]>,
    ) -> Result<Value, Failure> {
        let token = self.take_quota(quota)?;
        let auth = format!("Bearer {token}");
        let sent = match (method, body) {
            ("GET", _) => self.agent.get(url).header("authorization", &auth).call(),
            (_, body) => self
                .agent
                .post(url)
                .header("authorization", &auth)
                .header("content-type", "application/json")
                .send(body.unwrap_or(b"{}")),
        };
        let mut response = sent.map_err(|e| {
            // Refused connections never reached Google; anything else might have.
            let maybe_applied = !matches!(&e, ureq::Error::ConnectionFailed | ureq::Error::HostNotFound)
                && !matches!(&e, ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused);
            Failure::Transient { reason: format!("{what}: {e}"), maybe_applied }
        })?;
        let status = response.status().as_u16();
        let text = response.body_mut().with_config().limit(256 << 20).read_to_string().map_err(|e| {
            Failure::Transient { reason: format!("{what}: reading the answer: {e}"), maybe_applied: true }
        })?;
        if status == 200 {
            return serde_json::from_str(&text).map_err(|e| Failure::Transient {
                reason: format!("{what}: unexpected answer ({e})"),
                maybe_applied: true,
            });
        }
        Err(self.refusal(what, status, &text))
    }

    /// Waits for a slot of `quota`, takes it and counts the request; returns the access
    /// token to send. The token is fetched only after the wait: one fetched before a
    /// long quota wait could expire during it.
    fn take_quota(&mut self, quota: Quota) -> Result<String, Failure> {
        let ready = self.limiter(quota).ready_at(Instant::now());
        if !self.abort.sleep_until(ready) {
            return Err(Failure::Permanent(SheetsError::Stopped));
        }
        let token = self.token()?;
        self.limiter(quota).record(Instant::now());
        Stats::add(
            match quota {
                Quota::Read => &self.stats.sheets_read_requests,
                Quota::Write => &self.stats.sheets_write_requests,
            },
            1,
        );
        Ok(token)
    }

    fn limiter(&mut self, quota: Quota) -> &mut SlidingWindow {
        match quota {
            Quota::Read => &mut self.reads,
            Quota::Write => &mut self.writes,
        }
    }

    /// What an answer other than 200 means: worth another try (a stale token, the
    /// quota, Google's own trouble) or final (no access, no such sheet, a bad request).
    fn refusal(&mut self, what: &str, status: u16, text: &str) -> Failure {
        let message = google_message(text);
        let client_email = self.client_email().to_string();
        let what = what.to_string();
        match status {
            401 => {
                self.tokens.invalidate();
                Failure::Transient { reason: format!("{what}: HTTP 401 {message}"), maybe_applied: false }
            }
            429 => {
                Stats::add(&self.stats.sheets_throttled, 1);
                Failure::Transient { reason: format!("{what}: HTTP 429 {message}"), maybe_applied: false }
            }
            408 | 500..=599 => {
                Failure::Transient { reason: format!("{what}: HTTP {status} {message}"), maybe_applied: true }
            }
            403 => Failure::Permanent(SheetsError::Forbidden { what, client_email, message }),
            404 => Failure::Permanent(SheetsError::NotFound { what, client_email, message }),
            _ => Failure::Permanent(SheetsError::Api { what, status, message }),
        }
    }

    /// Runs `call` until it succeeds or fails for good, backing off between attempts.
    /// Only for requests that may safely be sent twice.
    pub fn retrying<T>(
        &mut self,
        what: &str,
        mut call: impl FnMut(&mut Self) -> Result<T, Failure>,
    ) -> Result<T, SheetsError> {
        let mut backoff = Backoff::new(self.backoff_base);
        loop {
            match call(self) {
                Ok(value) => return Ok(value),
                Err(Failure::Permanent(e)) => return Err(e),
                Err(Failure::Transient { reason, .. }) => self.back_off(&mut backoff, what, &reason)?,
            }
        }
    }

    /// Waits before a retry, logging why; fails if the client is aborted meanwhile.
    pub fn back_off(&mut self, backoff: &mut Backoff, what: &str, reason: &str) -> Result<(), SheetsError> {
        let delay = backoff.next_delay();
        Stats::add(&self.stats.sheets_retries, 1);
        warn!(retry = backoff.attempts(), in_ms = delay.as_millis() as u64, %reason, "{what} failed; retrying");
        if self.abort.sleep_until(Instant::now() + delay) {
            Ok(())
        } else {
            Err(SheetsError::Stopped)
        }
    }

    /// The id of the target spreadsheet, looked up by name if need be, and checked to
    /// be open to the account (so that a 403 or 404 shows at start).
    pub fn resolve(&mut self, target: &super::Target) -> Result<(String, Vec<Tab>), SheetsError> {
        let id = match target {
            super::Target::Id(id) => id.clone(),
            super::Target::Name(name) => self.find_by_name(name)?,
        };
        let tabs = self.tabs(&id)?;
        Ok((id, tabs))
    }

    /// Finds a spreadsheet by name among the files the account can see (Drive files.list).
    pub fn find_by_name(&mut self, name: &str) -> Result<String, SheetsError> {
        let query = format!(
            "name = '{}' and mimeType = 'application/vnd.google-apps.spreadsheet' and trashed = false",
            name.replace('\\', "\\\\").replace('\'', "\\'")
        );
        let url = format!(
            "{}/drive/v3/files?q={}&fields=files(id%2Cname%2CmodifiedTime)&orderBy=modifiedTime%20desc&supportsAllDrives=true&includeItemsFromAllDrives=true&pageSize=10",
            self.drive_api,
            utf8_percent_encode(&query, SEGMENT)
        );
        let what = format!("looking up spreadsheet {name:?} in Drive");
        let answer = self.retrying(&what, |c| c.attempt(Quota::Read, &what, "GET", &url, None))?;
        let files = answer["files"].as_array().cloned().unwrap_or_default();
        let first = files.first().and_then(|f| f["id"].as_str()).map(str::to_string);
        if files.len() > 1 {
            warn!(
                name,
                count = files.len(),
                "several spreadsheets have this name; using the most recently modified"
            );
        }
        first.ok_or_else(|| SheetsError::NoSuchName {
            name: name.to_string(),
            client_email: self.client_email().to_string(),
        })
    }

    /// The tabs of a spreadsheet (spreadsheets.get, properties only).
    pub fn tabs(&mut self, spreadsheet: &str) -> Result<Vec<Tab>, SheetsError> {
        let url = format!(
            "{}?fields=sheets.properties(sheetId%2Ctitle%2CgridProperties(rowCount%2CcolumnCount))",
            self.spreadsheet_url(spreadsheet)
        );
        let what = format!("opening spreadsheet {spreadsheet}");
        let answer = self.retrying(&what, |c| c.attempt(Quota::Read, &what, "GET", &url, None))?;
        Ok(answer["sheets"]
            .as_array()
            .map(|s| s.iter().map(|s| tab_of(&s["properties"])).collect())
            .unwrap_or_default())
    }

    /// Adds a tab of `rows` x `columns` (batchUpdate addSheet); an existing tab of that
    /// title (a retry, or another writer) is returned as it is.
    pub fn add_tab(
        &mut self,
        spreadsheet: &str,
        title: &str,
        rows: u64,
        columns: u64,
    ) -> Result<Tab, SheetsError> {
        let url = format!("{}:batchUpdate", self.spreadsheet_url(spreadsheet));
        let body = json!({"requests": [{"addSheet": {"properties": {
            "title": title, "gridProperties": {"rowCount": rows, "columnCount": columns}}}}]})
        .to_string();
        let what = format!("adding tab {title:?} to spreadsheet {spreadsheet}");
        match self.retrying(&what, |c| c.attempt(Quota::Write, &what, "POST", &url, Some(body.as_bytes()))) {
            Ok(answer) => Ok(tab_of(&answer["replies"][0]["addSheet"]["properties"])),
            Err(SheetsError::Api { status: 400, message, .. }) if message.contains("already exists") => self
                .tabs(spreadsheet)?
                .into_iter()
                .find(|t| t.title == title)
                .ok_or(SheetsError::Api { what, status: 400, message }),
            Err(e) => Err(e),
        }
    }

    /// Sets the number of columns of a tab's grid (batchUpdate updateSheetProperties).
    pub fn set_columns(&mut self, spreadsheet: &str, sheet_id: i64, columns: u64) -> Result<(), SheetsError> {
        let url = format!("{}:batchUpdate", self.spreadsheet_url(spreadsheet));
        let body = json!({"requests": [{"updateSheetProperties": {
            "properties": {"sheetId": sheet_id, "gridProperties": {"columnCount": columns}},
            "fields": "gridProperties.columnCount"}}]})
        .to_string();
        let what = format!("resizing a tab of spreadsheet {spreadsheet}");
        self.retrying(&what, |c| c.attempt(Quota::Write, &what, "POST", &url, Some(body.as_bytes())))
            .map(|_| ())
    }

    /// Adds `rows` empty rows at the end of a tab's grid (batchUpdate appendDimension).
    pub fn grow_tab(&mut self, spreadsheet: &str, sheet_id: i64, rows: u64) -> Result<(), SheetsError> {
        let url = format!("{}:batchUpdate", self.spreadsheet_url(spreadsheet));
        let body = json!({"requests": [{"appendDimension": {"sheetId": sheet_id, "dimension": "ROWS", "length": rows}}]})
            .to_string();
        let what = format!("adding {rows} rows to a tab of spreadsheet {spreadsheet}");
        self.retrying(&what, |c| c.attempt(Quota::Write, &what, "POST", &url, Some(body.as_bytes())))
            .map_err(|e| full_workbook(e, spreadsheet))
            .map(|_| ())
    }

    /// The values of a range (values.get), as the sheet shows them (FORMATTED_VALUE) or
    /// as stored (UNFORMATTED_VALUE); empty trailing rows and cells are left out.
    pub fn get_values(
        &mut self,
        spreadsheet: &str,
        range: &str,
        unformatted: bool,
    ) -> Result<Vec<Vec<Value>>, SheetsError> {
        let render = if unformatted { "UNFORMATTED_VALUE" } else { "FORMATTED_VALUE" };
        let url =
            format!("{}?valueRenderOption={render}&majorDimension=ROWS", self.values_url(spreadsheet, range));
        let what = format!("reading {range} of spreadsheet {spreadsheet}");
        let answer = self.retrying(&what, |c| c.attempt(Quota::Read, &what, "GET", &url, None))?;
        Ok(answer["values"]
            .as_array()
            .map(|rows| rows.iter().map(|r| r.as_array().cloned().unwrap_or_default()).collect())
            .unwrap_or_default())
    }

    /// One attempt to append rows after the table of `range` (values.append,
    /// USER_ENTERED, INSERT_ROWS); `body` is `{"values": [...]}`. Not retried here: an
    /// append is not idempotent, see [`super::raw`].
    pub fn append_once(&mut self, spreadsheet: &str, range: &str, body: &[u8]) -> Result<Appended, Failure> {
        let url = format!(
            "{}:append?valueInputOption=USER_ENTERED&insertDataOption=INSERT_ROWS&includeValuesInResponse=false",
            self.values_url(spreadsheet, range)
        );
        let what = format!("appending to {range} of spreadsheet {spreadsheet}");
        let answer = self.attempt(Quota::Write, &what, "POST", &url, Some(body)).map_err(|f| match f {
            Failure::Permanent(e) => Failure::Permanent(full_workbook(e, spreadsheet)),
            other => other,
        })?;
        let updated = answer["updates"]["updatedRange"].as_str().unwrap_or_default();
        match (first_row_of(updated), last_row_of(updated)) {
            (Some(first_row), Some(last_row)) => Ok(Appended { first_row, last_row }),
            _ => Err(Failure::Transient {
                reason: format!("{what}: no updatedRange in the answer: {answer}"),
                maybe_applied: true,
            }),
        }
    }

    /// Sets the cells of several ranges in one request (values.batchUpdate,
    /// USER_ENTERED): the same request sent twice gives the same sheet, so it is retried.
    pub fn set_values(
        &mut self,
        spreadsheet: &str,
        data: &[(String, Vec<Value>)],
    ) -> Result<(), SheetsError> {
        let url = format!("{}/values:batchUpdate", self.spreadsheet_url(spreadsheet));
        let data: Vec<Value> = data
            .iter()
            .map(|(range, rows)| json!({"range": range, "majorDimension": "ROWS", "values": rows}))
            .collect();
        let body = json!({"valueInputOption": "USER_ENTERED", "data": data}).to_string();
        let what = format!("updating {} ranges of spreadsheet {spreadsheet}", data.len());
        self.retrying(&what, |c| c.attempt(Quota::Write, &what, "POST", &url, Some(body.as_bytes())))
            .map_err(|e| full_workbook(e, spreadsheet))
            .map(|_| ())
    }
}

fn tab_of(properties: &Value) -> Tab {
    Tab {
        sheet_id: properties["sheetId"].as_i64().unwrap_or(0),
        title: properties["title"].as_str().unwrap_or_default().to_string(),
        rows: properties["gridProperties"]["rowCount"].as_u64().unwrap_or(0),
        columns: properties["gridProperties"]["columnCount"].as_u64().unwrap_or(0),
    }
}

/// Google's cell-limit refusal, told apart from other 400s.
fn full_workbook(error: SheetsError, spreadsheet: &str) -> SheetsError {
    match error {
        SheetsError::Api { status: 400, message, .. } if message.contains("above the limit") => {
            SheetsError::WorkbookFull { spreadsheet: spreadsheet.to_string(), message }
        }
        other => other,
    }
}

/// The `error.message` of a Google error body, or the body itself.
fn google_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            let status = v["error"]["status"].as_str().map(|s| format!("{s}: ")).unwrap_or_default();
            v["error"]["message"].as_str().map(|m| format!("{status}{m}"))
        })
        .unwrap_or_else(|| body.trim().chars().take(300).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a1_ranges_quote_any_tab_and_give_their_rows_back() {
        assert_eq!(a1("Data", "A1:O1"), "'Data'!A1:O1");
        assert_eq!(a1("Kasia's", "A:A"), "'Kasia''s'!A:A");
        assert_eq!(last_row_of("'Data_2'!A2:O501"), Some(501));
        assert_eq!(first_row_of("Data!A2:O501"), Some(2));
        assert_eq!(last_row_of("Data!A7"), Some(7));
        assert_eq!(last_row_of("Data"), None);
    }

    #[test]
    fn google_errors_show_their_status_and_message() {
        let body = r#"{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}"#;
        assert_eq!(google_message(body), "PERMISSION_DENIED: The caller does not have permission");
        assert_eq!(google_message("plain text"), "plain text");
    }
}
