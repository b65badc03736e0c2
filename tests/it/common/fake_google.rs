//! A local stand-in for Google's OAuth token endpoint, Drive files.list and the Sheets
//! v4 API, checking what the real services check: the JWT's RS256 signature against the
//! service account's public key, its claims, scope and lifetime; bearer tokens and their
//! scopes; sharing (403) and existence (404); A1 ranges; USER_ENTERED parsing; grid
//! limits and the 10-million-cell workbook limit; and the per-minute per-user quotas,
//! answered with Google's 429 body. Faults can be injected to test retries.
//!
//! With `Options::bigquery` set, it is also BigQuery's front door: `/bigquery/v2/...`
//! calls need a token with the BigQuery scope and are passed on to the emulator there,
//! with Google's 429 (`rateLimitExceeded`) and 503 (`backendError`) injected on job
//! inserts, or a job insert applied and its answer lost.
#![allow(dead_code, unreachable_pub)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{json, Value};

const SPREADSHEETS_SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";
const DRIVE_SCOPES: [&str; 3] = [
    "https://www.googleapis.com/auth/drive.readonly",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.file",
];
const BIGQUERY_SCOPE: &str = "https://www.googleapis.com/auth/bigquery";
const KNOWN_SCOPES: [&str; 6] = [
    BIGQUERY_SCOPE,
    SPREADSHEETS_SCOPE,
    "https://www.googleapis.com/auth/spreadsheets.readonly",
    "https://www.googleapis.com/auth/drive.readonly",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.file",
];
const CELL_LIMIT: u64 = 10_000_000;

/// An RSA key pair as PEM (private PKCS#8, public SPKI).
#[derive(Clone)]
pub struct KeyPair {
    pub private_pem: String,
    pub public_pem: String,
}

fn generate(bits: usize) -> KeyPair {
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits).expect("generate an RSA key");
    KeyPair {
        private_pem: private.to_pkcs8_pem(LineEnding::LF).expect("PKCS#8").to_string(),
        public_pem: private.to_public_key().to_public_key_pem(LineEnding::LF).expect("SPKI"),
    }
}

/// The service account's key (generated once per test binary).
pub fn account_key() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| generate(2048))
}

/// A key Google never issued.
pub fn rogue_key() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| generate(1024))
}

/// The service account of the tests.
pub const ACCOUNT: &str = "orderstream-test@orderstream-demo.iam.gserviceaccount.com";

/// Something to go wrong with the next appends (`values.append`).
#[derive(Debug, Clone)]
pub enum Fault {
    /// Let this append through.
    Pass,
    /// Answer this status (429 with the quota body, 5xx with a backend error).
    Status(u16),
    /// Apply the append, then answer only after this long (the client has timed out).
    LandThenStall(Duration),
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub write: bool,
    pub read: bool,
    pub status: u16,
    pub body_bytes: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    /// A date-time USER_ENTERED recognised (kept as its text, shown with seconds).
    DateTime(String),
}

#[derive(Debug, Clone)]
struct Sheet {
    id: i64,
    title: String,
    rows: u64,
    columns: u64,
    cells: Vec<Vec<Cell>>,
}

impl Sheet {
    /// Rows up to the last one with a value.
    fn filled_rows(&self) -> u64 {
        self.cells.iter().rposition(|r| r.iter().any(|c| *c != Cell::Empty)).map_or(0, |i| i as u64 + 1)
    }
}

#[derive(Debug, Clone)]
struct Spreadsheet {
    name: String,
    shared_with: HashSet<String>,
    sheets: Vec<Sheet>,
    next_sheet_id: i64,
}

impl Spreadsheet {
    fn cells(&self) -> u64 {
        self.sheets.iter().map(|s| s.rows * s.columns).sum()
    }
}

/// Settings of the fake.
#[derive(Debug, Clone)]
pub struct Options {
    pub writes_per_window: usize,
    pub reads_per_window: usize,
    pub window: Duration,
    pub token_lifetime_secs: u64,
    /// The BigQuery emulator behind `/bigquery/v2/...`, e.g. `http://127.0.0.1:9050`.
    pub bigquery: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            writes_per_window: 60,
            reads_per_window: 60,
            window: Duration::from_secs(60),
            token_lifetime_secs: 3599,
            bigquery: None,
        }
    }
}

struct State {
    options: Options,
    base: String,
    accounts: HashMap<String, String>,
    tokens: HashMap<String, (String, Vec<String>, Instant)>,
    spreadsheets: HashMap<String, Spreadsheet>,
    faults: VecDeque<Fault>,
    bigquery_faults: VecDeque<Fault>,
    quota: HashMap<(String, bool), VecDeque<Instant>>,
    log: Vec<Logged>,
    tokens_issued: u64,
}

/// The running fake.
pub struct FakeGoogle {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn error(status: u16, message: &str, google_status: &str) -> Response {
    let body = json!({"error": {"code": status, "message": message, "status": google_status}});
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

fn quota_error(write: bool) -> Response {
    let (metric, limit) = if write {
        ("Write requests", "WriteRequestsPerMinutePerUser")
    } else {
        ("Read requests", "ReadRequestsPerMinutePerUser")
    };
    let body = json!({"error": {
        "code": 429,
        "message": format!("Quota exceeded for quota metric '{metric}' and limit '{metric} per minute per user' of service 'sheets.googleapis.com' for consumer 'project_number:123456789'."),
        "status": "RESOURCE_EXHAUSTED",
        "details": [{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RATE_LIMIT_EXCEEDED",
            "domain": "googleapis.com",
            "metadata": {"quota_metric": format!("sheets.googleapis.com/{}", if write {"write_requests"} else {"read_requests"}),
                         "quota_limit": limit, "service": "sheets.googleapis.com", "consumer": "projects/123456789"}
        }]
    }});
    (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
}

fn token_error(error: &str, description: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": error, "error_description": description})))
        .into_response()
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

impl FakeGoogle {
    /// Starts the fake on a free loopback port with the test account registered.
    pub fn start(options: Options) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut accounts = HashMap::new();
        accounts.insert(ACCOUNT.to_string(), account_key().public_pem.clone());
        let state = Arc::new(Mutex::new(State {
            options,
            base: format!("http://{addr}"),
            accounts,
            tokens: HashMap::new(),
            spreadsheets: HashMap::new(),
            faults: VecDeque::new(),
            bigquery_faults: VecDeque::new(),
            quota: HashMap::new(),
            log: Vec::new(),
            tokens_issued: 0,
        }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let state = shared.clone();
                        async move { handle(state, method, uri, headers, body).await }
                    },
                );
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        FakeGoogle { addr, state, stop: Some(stop), thread: Some(thread) }
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Writes a key file for the test account (or signed with `key`) into `dir`.
    pub fn key_file(&self, dir: &Path, key: &KeyPair) -> PathBuf {
        let path = dir.join("creds.json");
        let file = json!({
            "type": "service_account",
            "project_id": "orderstream-demo",
            "private_key_id": "0123456789abcdef",
            "private_key": key.private_pem,
            "client_email": ACCOUNT,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": format!("{}/token", self.url()),
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/orderstream-test",
            "universe_domain": "googleapis.com"
        });
        std::fs::write(&path, serde_json::to_vec_pretty(&file).unwrap()).unwrap();
        path
    }

    /// Adds an empty tab of 1000 x 26 (as the Sheets UI makes them).
    pub fn add_tab_by_hand(&self, spreadsheet: &str, title: &str) {
        let mut state = self.state.lock().unwrap();
        let s = state.spreadsheets.get_mut(spreadsheet).expect("spreadsheet exists");
        let id = s.next_sheet_id;
        s.next_sheet_id += 1;
        s.sheets.push(Sheet { id, title: title.into(), rows: 1000, columns: 26, cells: Vec::new() });
    }

    /// Creates a spreadsheet with one empty tab `Sheet1` (1000 x 26, as Google does);
    /// returns its id.
    pub fn create_spreadsheet(&self, name: &str, shared: bool) -> String {
        let id = format!("1{}", uuid::Uuid::from_u128(rand::random()).simple());
        let mut shared_with = HashSet::new();
        if shared {
            shared_with.insert(ACCOUNT.to_string());
        }
        let sheet = Sheet { id: 0, title: "Sheet1".into(), rows: 1000, columns: 26, cells: Vec::new() };
        self.state.lock().unwrap().spreadsheets.insert(
            id.clone(),
            Spreadsheet { name: name.into(), shared_with, sheets: vec![sheet], next_sheet_id: 1000 },
        );
        id
    }

    /// A tab's rows as the sheet shows them (trailing empty cells left out).
    pub fn rows(&self, spreadsheet: &str, tab: &str) -> Vec<Vec<String>> {
        let state = self.state.lock().unwrap();
        let sheet =
            state.spreadsheets[spreadsheet].sheets.iter().find(|s| s.title == tab).expect("tab exists");
        sheet
            .cells
            .iter()
            .take(sheet.filled_rows() as usize)
            .map(|r| {
                let mut row: Vec<String> = r.iter().map(formatted_text).collect();
                while row.last().is_some_and(String::is_empty) {
                    row.pop();
                }
                row
            })
            .collect()
    }

    /// The titles and grid sizes of a spreadsheet's tabs.
    pub fn tabs(&self, spreadsheet: &str) -> Vec<(String, u64, u64)> {
        let state = self.state.lock().unwrap();
        state.spreadsheets[spreadsheet].sheets.iter().map(|s| (s.title.clone(), s.rows, s.columns)).collect()
    }

    /// Queues faults for the next appends, in order.
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    /// Queues faults for the next BigQuery job inserts, in order.
    pub fn inject_bigquery(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().bigquery_faults.extend(faults);
    }

    /// BigQuery faults not yet used.
    pub fn bigquery_faults_left(&self) -> usize {
        self.state.lock().unwrap().bigquery_faults.len()
    }

    /// Every request so far.
    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    /// Access tokens issued so far.
    pub fn tokens_issued(&self) -> u64 {
        self.state.lock().unwrap().tokens_issued
    }

    /// The most write requests seen in any window of the quota's length.
    pub fn busiest_write_window(&self) -> usize {
        let state = self.state.lock().unwrap();
        let window = state.options.window;
        let writes: Vec<Instant> =
            state.log.iter().filter(|l| l.write && l.status != 429).map(|l| l.at).collect();
        (0..writes.len())
            .map(|i| writes[i..].iter().take_while(|t| t.duration_since(writes[i]) < window).count())
            .max()
            .unwrap_or(0)
    }
}

impl Drop for FakeGoogle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn formatted_text(cell: &Cell) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(t) => t.clone(),
        Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        Cell::DateTime(t) => format!("{t}:00"),
        Cell::Number(n) => {
            if n.fract() == 0.0 && n.abs() < 1e15 {
                format!("{}", *n as i64)
            } else if n.abs() >= 1e15 {
                // Sheets' "General" format for large numbers.
                let exp = n.abs().log10().floor() as i32;
                format!("{:.5}E+{exp}", n / 10f64.powi(exp))
            } else {
                format!("{n}")
            }
        }
    }
}

fn unformatted_value(cell: &Cell) -> Value {
    match cell {
        Cell::Empty => json!(""),
        Cell::Text(t) => json!(t),
        Cell::Bool(b) => json!(b),
        Cell::Number(n) => json!(n),
        // The serial number is what the API gives; the tests need not compute it.
        Cell::DateTime(t) => json!(t),
    }
}

/// What USER_ENTERED makes of a value.
fn user_entered(value: &Value) -> Cell {
    match value {
        Value::Null => Cell::Empty,
        Value::Bool(b) => Cell::Bool(*b),
        Value::Number(n) => Cell::Number(n.as_f64().unwrap_or(0.0)),
        Value::String(s) if s.is_empty() => Cell::Empty,
        Value::String(s) if s.starts_with('\'') => Cell::Text(s[1..].to_string()),
        Value::String(s) if s == "TRUE" || s == "FALSE" => Cell::Bool(s == "TRUE"),
        Value::String(s) => {
            if let Ok(n) = s.parse::<f64>() {
                Cell::Number(n)
            } else if chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").is_ok() {
                Cell::DateTime(s.clone())
            } else {
                Cell::Text(s.clone())
            }
        }
        other => Cell::Text(other.to_string()),
    }
}

/// A parsed A1 range: tab, first column and row, last column and row (None: open).
#[derive(Debug)]
struct Range {
    tab: String,
    col0: u64,
    row0: u64,
    col1: Option<u64>,
    row1: Option<u64>,
}

fn column_number(letters: &str) -> Option<u64> {
    if letters.is_empty() {
        return None;
    }
    letters
        .chars()
        .try_fold(0u64, |n, c| c.is_ascii_uppercase().then(|| n * 26 + (c as u64 - 'A' as u64 + 1)))
}

fn column_letters(mut n: u64) -> String {
    let mut s = Vec::new();
    while n > 0 {
        let r = ((n - 1) % 26) as u8;
        s.push(b'A' + r);
        n = (n - 1) / 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap()
}

fn split_cell(cell: &str) -> (Option<u64>, Option<u64>) {
    let letters: String = cell.chars().take_while(char::is_ascii_alphabetic).collect();
    let digits = &cell[letters.len()..];
    (column_number(&letters), digits.parse().ok())
}

fn parse_range(text: &str) -> Option<Range> {
    let (tab, cells) = match text.rfind('!') {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let tab = if tab.len() >= 2 && tab.starts_with('\'') && tab.ends_with('\'') {
        tab[1..tab.len() - 1].replace("''", "'")
    } else {
        tab.to_string()
    };
    let Some(cells) = cells else {
        return Some(Range { tab, col0: 1, row0: 1, col1: None, row1: None });
    };
    let (start, end) = match cells.split_once(':') {
        Some((a, b)) => (a, Some(b)),
        None => (cells, None),
    };
    let (c0, r0) = split_cell(start);
    let (c1, r1) = match end {
        Some(end) => split_cell(end),
        None => (c0, r0),
    };
    c0?;
    Some(Range {
        tab,
        col0: c0.unwrap_or(1),
        row0: r0.unwrap_or(1),
        col1: c1,
        row1: if end.is_some() { r1 } else { r0 },
    })
}

fn a1_text(tab: &str, col0: u64, row0: u64, col1: u64, row1: u64) -> String {
    format!("'{}'!{}{row0}:{}{row1}", tab.replace('\'', "''"), column_letters(col0), column_letters(col1))
}

async fn handle(
    state: Arc<Mutex<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = percent_encoding::percent_decode_str(uri.path()).decode_utf8_lossy().into_owned();
    if path.starts_with("/bigquery/") {
        return bigquery(state, method, uri, headers, body).await;
    }
    let query: HashMap<String, String> = uri.query().map(url_pairs).unwrap_or_default();
    let started = Instant::now();
    let (response, write, read, stall) = {
        let mut st = state.lock().unwrap();
        let (response, write, read, stall) = route(&mut st, &method, &path, &query, &headers, &body);
        st.log.push(Logged {
            at: started,
            method: method.to_string(),
            path: path.clone(),
            write,
            read,
            status: response.status().as_u16(),
            body_bytes: body.len(),
        });
        (response, write, read, stall)
    };
    let _ = (write, read);
    if let Some(stall) = stall {
        tokio::time::sleep(stall).await;
    }
    response
}

/// A BigQuery call: the bearer token and its scope checked as Google does, a fault for a
/// job insert, then the emulator's own answer.
async fn bigquery(
    state: Arc<Mutex<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let (upstream, fault) = {
        let mut st = state.lock().unwrap();
        let bearer = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let checked = match bearer.and_then(|t| st.tokens.get(t)).cloned() {
            None => Err(error(401, "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.", "UNAUTHENTICATED")),
            Some((_, _, expiry)) if Instant::now() >= expiry => {
                Err(error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED"))
            }
            Some((_, scopes, _)) if !scopes.iter().any(|s| s == BIGQUERY_SCOPE) => {
                Err(error(403, "Request had insufficient authentication scopes.", "PERMISSION_DENIED"))
            }
            Some(_) => Ok(()),
        };
        let is_job_insert = method == Method::POST && uri.path().ends_with("/jobs");
        let fault = if checked.is_ok() && is_job_insert { st.bigquery_faults.pop_front() } else { None };
        let status = match (&checked, &fault) {
            (Err(response), _) => response.status().as_u16(),
            (Ok(()), Some(Fault::Status(status))) => *status,
            _ => 0,
        };
        st.log.push(Logged {
            at: started,
            method: method.to_string(),
            path: uri.path().to_string(),
            write: is_job_insert,
            read: false,
            status,
            body_bytes: body.len(),
        });
        if let Err(response) = checked {
            return response;
        }
        (st.options.bigquery.clone().expect("Options::bigquery names the emulator"), fault)
    };
    match fault {
        Some(Fault::Status(429)) => return bigquery_error(429, "rateLimitExceeded", "Exceeded rate limits: too many api requests per user per method for this user_method. For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas"),
        Some(Fault::Status(status)) => return bigquery_error(status, "backendError", "Error encountered during execution. Retrying may solve the problem."),
        _ => {}
    }
    let url = format!("{upstream}{}", uri.path_and_query().map_or("", |p| p.as_str()));
    let forwarded = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let request = match method.as_str() {
            "GET" => agent.get(&url).force_send_body(),
            "DELETE" => agent.delete(&url).force_send_body(),
            "PATCH" => agent.patch(&url),
            "PUT" => agent.put(&url),
            _ => agent.post(&url),
        };
        let mut response = request.header("content-type", "application/json").send(&body[..])?;
        let status = response.status().as_u16();
        let text = response.body_mut().with_config().limit(1 << 30).read_to_vec()?;
        Ok::<_, ureq::Error>((status, text))
    })
    .await
    .expect("the forwarding task runs");
    let (status, text) = match forwarded {
        Ok(answer) => answer,
        Err(e) => return bigquery_error(502, "backendError", &format!("the emulator did not answer: {e}")),
    };
    if let Some(Fault::LandThenStall(stall)) = fault {
        // Applied, but the client hears nothing in time.
        tokio::time::sleep(stall).await;
        return bigquery_error(503, "backendError", "The service is currently unavailable.");
    }
    let mut response = (StatusCode::from_u16(status).unwrap(), text).into_response();
    response.headers_mut().insert("content-type", "application/json".parse().unwrap());
    response
}

/// BigQuery's error body.
fn bigquery_error(status: u16, reason: &str, message: &str) -> Response {
    let body = json!({"error": {"code": status, "message": message,
        "errors": [{"message": message, "domain": "global", "reason": reason}],
        "status": if status == 429 { "RESOURCE_EXHAUSTED" } else { "UNAVAILABLE" }}});
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

fn url_pairs(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

/// Returns the response, whether it was a write and a read (for the quota log), and a
/// stall before answering.
fn route(
    st: &mut State,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> (Response, bool, bool, Option<Duration>) {
    if path == "/token" && method == Method::POST {
        return (token(st, body), false, false, None);
    }
    // Every API call needs a valid bearer token.
    let bearer =
        headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let Some((email, scopes, expiry)) = bearer.and_then(|t| st.tokens.get(t)).cloned() else {
        return (error(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.", "UNAUTHENTICATED"), false, false, None);
    };
    if Instant::now() >= expiry {
        return (
            error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED"),
            false,
            false,
            None,
        );
    }
    if path == "/drive/v3/files" && method == Method::GET {
        if !scopes.iter().any(|s| DRIVE_SCOPES.contains(&s.as_str())) {
            return (
                error(403, "Request had insufficient authentication scopes.", "PERMISSION_DENIED"),
                false,
                true,
                None,
            );
        }
        return (drive_list(st, &email, query), false, true, None);
    }
    let Some(rest) = path.strip_prefix("/v4/spreadsheets/") else {
        return (error(404, "Method not found.", "NOT_FOUND"), false, false, None);
    };
    if !scopes.iter().any(|s| s == SPREADSHEETS_SCOPE) {
        return (
            error(403, "Request had insufficient authentication scopes.", "PERMISSION_DENIED"),
            false,
            false,
            None,
        );
    }
    let write = method == Method::POST;
    let read = !write;
    // Quota per user and kind, over a sliding window.
    let limit = if write { st.options.writes_per_window } else { st.options.reads_per_window };
    let window = st.options.window;
    let now = Instant::now();
    let sent = st.quota.entry((email.clone(), write)).or_default();
    while sent.front().is_some_and(|t| now.duration_since(*t) >= window) {
        sent.pop_front();
    }
    if sent.len() >= limit {
        return (quota_error(write), write, read, None);
    }
    sent.push_back(now);
    let (id, op) = match rest.find(['/', ':']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let Some(spreadsheet) = st.spreadsheets.get(id) else {
        return (error(404, "Requested entity was not found.", "NOT_FOUND"), write, read, None);
    };
    if !spreadsheet.shared_with.contains(&email) {
        return (error(403, "The caller does not have permission", "PERMISSION_DENIED"), write, read, None);
    }
    if op.ends_with(":append") {
        if let Some(fault) = st.faults.pop_front() {
            match fault {
                Fault::Pass => {}
                Fault::Status(429) => return (quota_error(true), write, read, None),
                Fault::Status(status) => {
                    return (error(status, "Internal error encountered.", "INTERNAL"), write, read, None)
                }
                Fault::LandThenStall(stall) => {
                    let response = spreadsheet_op(st, id, op, method, query, body);
                    return (response, write, read, Some(stall));
                }
            }
        }
    }
    (spreadsheet_op(st, id, op, method, query, body), write, read, None)
}

fn token(st: &mut State, body: &[u8]) -> Response {
    let form = url_pairs(&String::from_utf8_lossy(body));
    if form.get("grant_type").map(String::as_str) != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return token_error("unsupported_grant_type", "Invalid grant_type: ");
    }
    let Some(assertion) = form.get("assertion") else {
        return token_error("invalid_request", "Missing required parameter: assertion");
    };
    let Ok(header) = jsonwebtoken::decode_header(assertion) else {
        return token_error("invalid_grant", "Invalid JWT: Cannot parse");
    };
    if header.alg != jsonwebtoken::Algorithm::RS256 {
        return token_error("invalid_grant", "Invalid JWT: unsupported algorithm");
    }
    // The issuer picks the public key; the claims are read unverified only for that.
    let Ok(unverified) = jsonwebtoken::dangerous::insecure_decode::<Value>(assertion) else {
        return token_error("invalid_grant", "Invalid JWT: Cannot parse claims");
    };
    let iss = unverified.claims["iss"].as_str().unwrap_or_default().to_string();
    let Some(public_pem) = st.accounts.get(&iss) else {
        return token_error("invalid_grant", "Invalid grant: account not found");
    };
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(public_pem.as_bytes()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = match jsonwebtoken::decode::<Value>(assertion, &key, &validation) {
        Ok(data) => data.claims,
        Err(_) => return token_error("invalid_grant", "Invalid JWT Signature."),
    };
    let token_url = format!("{}/token", st.base);
    if claims["aud"].as_str() != Some(token_url.as_str()) {
        return token_error(
            "invalid_grant",
            "Invalid JWT: Token must have the token endpoint as its audience.",
        );
    }
    let (iat, exp, now) =
        (claims["iat"].as_u64().unwrap_or(0), claims["exp"].as_u64().unwrap_or(0), now_secs());
    if exp <= iat || exp - iat > 3600 || exp <= now || iat > now + 300 {
        return token_error("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.");
    }
    let scopes: Vec<String> = claims["scope"]
        .as_str()
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if scopes.is_empty() || scopes.iter().any(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        return token_error("invalid_scope", "Invalid OAuth scope or ID token audience provided.");
    }
    st.tokens_issued += 1;
    let token = format!("ya29.{}", uuid::Uuid::from_u128(rand::random()).simple());
    let lifetime = st.options.token_lifetime_secs;
    st.tokens.insert(token.clone(), (iss, scopes, Instant::now() + Duration::from_secs(lifetime)));
    axum::Json(json!({"access_token": token, "expires_in": lifetime, "token_type": "Bearer"})).into_response()
}

fn drive_list(st: &State, email: &str, query: &HashMap<String, String>) -> Response {
    let Some(q) = query.get("q") else {
        return axum::Json(json!({"files": []})).into_response();
    };
    // name = '...' (with \' escapes), as the client writes it.
    let Some(rest) = q.split("name = '").nth(1) else {
        return error(400, &format!("Invalid Value: q={q}"), "INVALID_ARGUMENT");
    };
    let mut name = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => name.extend(chars.next()),
            '\'' => break,
            c => name.push(c),
        }
    }
    let files: Vec<Value> = st
        .spreadsheets
        .iter()
        .filter(|(_, s)| s.name == name && s.shared_with.contains(email))
        .map(|(id, s)| json!({"id": id, "name": s.name, "modifiedTime": "2026-11-26T00:00:00.000Z"}))
        .collect();
    axum::Json(json!({"files": files})).into_response()
}

fn sheet_properties(sheet: &Sheet, index: usize) -> Value {
    json!({"sheetId": sheet.id, "title": sheet.title, "index": index, "sheetType": "GRID",
           "gridProperties": {"rowCount": sheet.rows, "columnCount": sheet.columns}})
}

fn spreadsheet_op(
    st: &mut State,
    id: &str,
    op: &str,
    method: &Method,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Response {
    let spreadsheet = st.spreadsheets.get_mut(id).expect("checked by the caller");
    match (method.clone(), op) {
        (Method::GET, "") => {
            let sheets: Vec<Value> = spreadsheet
                .sheets
                .iter()
                .enumerate()
                .map(|(i, s)| json!({"properties": sheet_properties(s, i)}))
                .collect();
            axum::Json(json!({"spreadsheetId": id, "sheets": sheets})).into_response()
        }
        (Method::POST, ":batchUpdate") => batch_update(spreadsheet, id, body),
        (Method::POST, "/values:batchUpdate") => values_batch_update(spreadsheet, id, body),
        (Method::GET, op) if op.starts_with("/values/") => {
            values_get(spreadsheet, &op["/values/".len()..], query)
        }
        (Method::POST, op) if op.starts_with("/values/") && op.ends_with(":append") => {
            let range = &op["/values/".len()..op.len() - ":append".len()];
            values_append(spreadsheet, id, range, query, body)
        }
        _ => error(404, "Method not found.", "NOT_FOUND"),
    }
}

fn batch_update(spreadsheet: &mut Spreadsheet, id: &str, body: &[u8]) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT");
    };
    let requests = request["requests"].as_array().cloned().unwrap_or_default();
    // Validated as a whole, then applied: all or nothing.
    let mut next = spreadsheet.clone();
    let mut replies = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        if let Some(add) = r.get("addSheet") {
            let props = &add["properties"];
            let title = props["title"].as_str().unwrap_or("Sheet").to_string();
            if next.sheets.iter().any(|s| s.title == title) {
                return error(400, &format!("Invalid requests[{i}].addSheet: A sheet with the name \"{title}\" already exists. Please enter another name."), "INVALID_ARGUMENT");
            }
            let sheet = Sheet {
                id: next.next_sheet_id,
                title,
                rows: props["gridProperties"]["rowCount"].as_u64().unwrap_or(1000),
                columns: props["gridProperties"]["columnCount"].as_u64().unwrap_or(26),
                cells: Vec::new(),
            };
            next.next_sheet_id += 1;
            replies.push(json!({"addSheet": {"properties": sheet_properties(&sheet, next.sheets.len())}}));
            next.sheets.push(sheet);
        } else if let Some(update) = r.get("updateSheetProperties") {
            let props = &update["properties"];
            let sheet_id = props["sheetId"].as_i64().unwrap_or(-1);
            let fields = update["fields"].as_str().unwrap_or_default();
            if fields.is_empty() {
                return error(400, &format!("Invalid requests[{i}].updateSheetProperties: You must specify at least one field to update."), "INVALID_ARGUMENT");
            }
            let Some(sheet) = next.sheets.iter_mut().find(|s| s.id == sheet_id) else {
                return error(
                    400,
                    &format!("Invalid requests[{i}].updateSheetProperties: No grid with id: {sheet_id}"),
                    "INVALID_ARGUMENT",
                );
            };
            if let Some(rows) =
                props["gridProperties"]["rowCount"].as_u64().filter(|_| fields.contains("rowCount"))
            {
                sheet.rows = rows;
                sheet.cells.truncate(rows as usize);
            }
            if let Some(columns) =
                props["gridProperties"]["columnCount"].as_u64().filter(|_| fields.contains("columnCount"))
            {
                sheet.columns = columns;
                for row in &mut sheet.cells {
                    row.truncate(columns as usize);
                }
            }
            replies.push(json!({}));
        } else if let Some(append) = r.get("appendDimension") {
            let sheet_id = append["sheetId"].as_i64().unwrap_or(-1);
            let length = append["length"].as_u64().unwrap_or(0);
            let Some(sheet) = next.sheets.iter_mut().find(|s| s.id == sheet_id) else {
                return error(
                    400,
                    &format!("Invalid requests[{i}].appendDimension: No grid with id: {sheet_id}"),
                    "INVALID_ARGUMENT",
                );
            };
            match append["dimension"].as_str() {
                Some("ROWS") => sheet.rows += length,
                Some("COLUMNS") => sheet.columns += length,
                _ => {
                    return error(
                        400,
                        &format!("Invalid requests[{i}].appendDimension: dimension"),
                        "INVALID_ARGUMENT",
                    )
                }
            }
            replies.push(json!({}));
        } else {
            return error(
                400,
                &format!("Invalid requests[{i}]: unsupported by the fake"),
                "INVALID_ARGUMENT",
            );
        }
    }
    if next.cells() > CELL_LIMIT {
        return error(400, &format!("Invalid requests: This action would increase the number of cells in the workbook above the limit of {CELL_LIMIT} cells."), "INVALID_ARGUMENT");
    }
    *spreadsheet = next;
    axum::Json(json!({"spreadsheetId": id, "replies": replies})).into_response()
}

fn find_sheet<'a>(
    spreadsheet: &'a mut Spreadsheet,
    range: &str,
) -> Result<(&'a mut Sheet, Range), Box<Response>> {
    let parsed = parse_range(range).ok_or_else(|| {
        Box::new(error(400, &format!("Unable to parse range: {range}"), "INVALID_ARGUMENT"))
    })?;
    let sheet = spreadsheet.sheets.iter_mut().find(|s| s.title == parsed.tab).ok_or_else(|| {
        Box::new(error(400, &format!("Unable to parse range: {range}"), "INVALID_ARGUMENT"))
    })?;
    Ok((sheet, parsed))
}

fn values_get(spreadsheet: &mut Spreadsheet, range: &str, query: &HashMap<String, String>) -> Response {
    let (sheet, r) = match find_sheet(spreadsheet, range) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let unformatted = query.get("valueRenderOption").map(String::as_str) == Some("UNFORMATTED_VALUE");
    let row1 = r.row1.unwrap_or(sheet.rows).min(sheet.rows);
    let col1 = r.col1.unwrap_or(sheet.columns).min(sheet.columns);
    let mut values = Vec::new();
    for row in r.row0..=row1 {
        let cells = sheet.cells.get(row as usize - 1);
        let mut out: Vec<Value> = (r.col0..=col1)
            .map(|c| {
                let cell = cells.and_then(|cs| cs.get(c as usize - 1)).unwrap_or(&Cell::Empty);
                if unformatted {
                    unformatted_value(cell)
                } else {
                    json!(formatted_text(cell))
                }
            })
            .collect();
        while out.last().is_some_and(|v| v == "") {
            out.pop();
        }
        values.push(out);
    }
    while values.last().is_some_and(Vec::is_empty) {
        values.pop();
    }
    let mut answer =
        json!({"range": a1_text(&sheet.title, r.col0, r.row0, col1, row1), "majorDimension": "ROWS"});
    if !values.is_empty() {
        answer["values"] = json!(values);
    }
    axum::Json(answer).into_response()
}

fn set_row(sheet: &mut Sheet, row: u64, col0: u64, values: &[Value]) {
    let index = row as usize - 1;
    if sheet.cells.len() <= index {
        sheet.cells.resize(index + 1, Vec::new());
    }
    let cells = &mut sheet.cells[index];
    let needed = col0 as usize - 1 + values.len();
    if cells.len() < needed {
        cells.resize(needed, Cell::Empty);
    }
    for (i, v) in values.iter().enumerate() {
        cells[col0 as usize - 1 + i] = user_entered(v);
    }
}

fn values_append(
    spreadsheet: &mut Spreadsheet,
    id: &str,
    range: &str,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Response {
    if !matches!(query.get("valueInputOption").map(String::as_str), Some("USER_ENTERED" | "RAW")) {
        return error(400, "'valueInputOption' is required but not specified", "INVALID_ARGUMENT");
    }
    let insert_rows = query.get("insertDataOption").map(String::as_str) == Some("INSERT_ROWS");
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT");
    };
    let rows = request["values"].as_array().cloned().unwrap_or_default();
    let total_before = spreadsheet.cells();
    let (sheet, r) = match find_sheet(spreadsheet, range) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let n = rows.len() as u64;
    let width = rows.iter().map(|r| r.as_array().map_or(0, Vec::len)).max().unwrap_or(0) as u64;
    let last = sheet.filled_rows();
    let new_rows = if insert_rows { sheet.rows + n } else { sheet.rows.max(last + n) };
    let new_columns = sheet.columns.max(r.col0 - 1 + width);
    let after = total_before - sheet.rows * sheet.columns + new_rows * new_columns;
    if after > CELL_LIMIT {
        return error(400, &format!("This action would increase the number of cells in the workbook above the limit of {CELL_LIMIT} cells."), "INVALID_ARGUMENT");
    }
    if insert_rows && (last as usize) < sheet.cells.len() {
        // Rows are inserted after the table: cells below it move down.
        let tail = sheet.cells.split_off(last as usize);
        sheet.cells.extend(std::iter::repeat_n(Vec::new(), n as usize));
        sheet.cells.extend(tail);
    }
    (sheet.rows, sheet.columns) = (new_rows, new_columns);
    for (i, row) in rows.iter().enumerate() {
        set_row(sheet, last + 1 + i as u64, r.col0, row.as_array().map(Vec::as_slice).unwrap_or(&[]));
    }
    let col1 = r.col0 + width.max(1) - 1;
    let mut updates = json!({"spreadsheetId": id, "updatedRange": a1_text(&sheet.title, r.col0, last + 1, col1, last + n),
        "updatedRows": n, "updatedColumns": width, "updatedCells": n * width});
    if n == 0 {
        updates = json!({"spreadsheetId": id});
    }
    let mut answer = json!({"spreadsheetId": id, "updates": updates});
    if last > 0 {
        answer["tableRange"] = json!(a1_text(&sheet.title, r.col0, 1, col1, last));
    }
    axum::Json(answer).into_response()
}

fn values_batch_update(spreadsheet: &mut Spreadsheet, id: &str, body: &[u8]) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT");
    };
    if !matches!(request["valueInputOption"].as_str(), Some("USER_ENTERED" | "RAW")) {
        return error(400, "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED", "INVALID_ARGUMENT");
    }
    let data = request["data"].as_array().cloned().unwrap_or_default();
    let mut next = spreadsheet.clone();
    let mut cells = 0;
    for d in &data {
        let range = d["range"].as_str().unwrap_or_default();
        let (sheet, r) = match find_sheet(&mut next, range) {
            Ok(found) => found,
            Err(response) => return *response,
        };
        let rows = d["values"].as_array().cloned().unwrap_or_default();
        let width = rows.iter().map(|r| r.as_array().map_or(0, Vec::len)).max().unwrap_or(0) as u64;
        let last_row = r.row0 + rows.len() as u64 - 1;
        let last_col = r.col0 + width - 1;
        if last_row > sheet.rows || last_col > sheet.columns {
            return error(
                400,
                &format!(
                    "Range ({range}) exceeds grid limits. Max rows: {}, max columns: {}",
                    sheet.rows, sheet.columns
                ),
                "INVALID_ARGUMENT",
            );
        }
        for (i, row) in rows.iter().enumerate() {
            set_row(sheet, r.row0 + i as u64, r.col0, row.as_array().map(Vec::as_slice).unwrap_or(&[]));
            cells += width;
        }
    }
    *spreadsheet = next;
    axum::Json(json!({"spreadsheetId": id, "totalUpdatedCells": cells})).into_response()
}
