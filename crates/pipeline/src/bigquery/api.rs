//! The BigQuery v2 REST calls the sink makes: datasets and tables created when missing,
//! query jobs with named parameters under job ids we choose, Google's backoff on 429 and
//! 5xx, and errors that say what to do.

use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};
use tracing::{debug, warn};

use super::{BigQueryConfig, BigQueryError};
use crate::google::{AuthError, ServiceAccountKey, TokenSource};
use crate::shutdown::Shutdown;

/// The scope of the access token: read and write BigQuery.
pub(super) const SCOPE: &str = "https://www.googleapis.com/auth/bigquery";

/// Characters left as they are in a path segment; everything else is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// One failed attempt.
#[derive(Debug)]
pub(super) enum Failure {
    /// Retrying may work (429, 5xx, `rateLimitExceeded`, `backendError`, a timeout, the
    /// network); the request may have taken effect without an answer saying so.
    Transient { reason: String },
    /// Retrying will not help.
    Permanent(BigQueryError),
}

/// How a query job ended.
#[derive(Debug)]
pub(super) enum JobEnd {
    /// Done without error, with the rows a DML statement changed (when BigQuery says).
    Done { affected: Option<u64> },
    /// Done with an error that a new job may not have (`backendError`, a transaction
    /// aborted by a concurrent one, ...).
    Retry(String),
    /// Done with an error of the statement itself, with BigQuery's message.
    Failed { reason: String, message: String },
}

/// A signed-in client of one project's BigQuery.
pub(super) struct BigQueryClient {
    agent: ureq::Agent,
    /// `None` against an emulator that wants no sign-in (only with --bigquery-api-url).
    tokens: Option<TokenSource>,
    /// `https://bigquery.googleapis.com/bigquery/v2/projects/<project>`.
    base: String,
    project: String,
    location: Option<String>,
    retry_for: Duration,
    backoff_base: Duration,
    shutdown: Shutdown,
}

impl BigQueryClient {
    /// Reads the key file and prepares the client; no request is made yet.
    pub(super) fn new(config: &BigQueryConfig, shutdown: Shutdown) -> Result<Self, BigQueryError> {
        let agent = crate::http::agent(config.request_timeout);
        let tokens = match &config.creds {
            Some(path) => Some(TokenSource::new(ServiceAccountKey::load(path)?, SCOPE, agent.clone())),
            None => None,
        };
        Ok(BigQueryClient {
            base: format!(
                "{}/bigquery/v2/projects/{}",
                config.api_url.trim_end_matches('/'),
                utf8_percent_encode(&config.project, SEGMENT)
            ),
            agent,
            tokens,
            project: config.project.clone(),
            location: config.location.clone(),
            retry_for: config.retry_for,
            backoff_base: Duration::from_millis(500),
            shutdown,
        })
    }

    /// Who the requests are made as (for messages).
    pub(super) fn account(&self) -> String {
        self.tokens.as_ref().map_or_else(|| "no sign-in (emulator)".into(), |t| t.client_email().to_string())
    }

    fn token(&mut self) -> Result<Option<String>, Failure> {
        let Some(tokens) = self.tokens.as_mut() else { return Ok(None) };
        tokens.token().map(Some).map_err(|e| match e {
            AuthError::Rejected { .. } => Failure::Permanent(BigQueryError::Auth(e)),
            AuthError::Unavailable { .. } => Failure::Transient { reason: e.to_string() },
        })
    }

    /// One attempt of a request with a JSON body.
    fn attempt(
        &mut self,
        what: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, Failure> {
        let text = body.map(Value::to_string);
        self.attempt_raw(what, method, path, text.as_deref().map(str::as_bytes))
    }

    /// One attempt of a request whose JSON body is written already.
    fn attempt_raw(
        &mut self,
        what: &str,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.base);
        let token = self.token()?;
        let request = match method {
            "GET" => self.agent.get(&url).force_send_body(),
            "DELETE" => self.agent.delete(&url).force_send_body(),
            _ => self.agent.post(&url),
        };
        let request = match &token {
            Some(token) => request.header("authorization", &format!("Bearer {token}")),
            None => request,
        };
        let sent = match body {
            Some(body) => request.header("content-type", "application/json").send(body),
            None => request.send_empty(),
        };
        let mut response = sent.map_err(|e| Failure::Transient { reason: format!("{what}: {e}") })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_string()
            .map_err(|e| Failure::Transient { reason: format!("{what}: reading the answer: {e}") })?;
        if (200..300).contains(&status) {
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&text)
                .map_err(|e| Failure::Transient { reason: format!("{what}: unexpected answer ({e})") });
        }
        Err(self.refusal(what, status, &text))
    }

    /// What an answer other than 2xx means. BigQuery names the cause in `reason`, and
    /// its quota errors come as 403 as well as 429.
    fn refusal(&mut self, what: &str, status: u16, text: &str) -> Failure {
        let (reason, message) = error_of(text);
        let what = what.to_string();
        let transient =
            || Failure::Transient { reason: format!("{what}: HTTP {status} {reason}: {message}") };
        match (status, reason.as_str()) {
            (401, _) => {
                if let Some(tokens) = self.tokens.as_mut() {
                    tokens.invalidate();
                }
                transient()
            }
            (_, "rateLimitExceeded" | "jobRateLimitExceeded") | (429, _) => transient(),
            (_, "backendError" | "internalError") | (408 | 500..=599, _) => transient(),
            // The emulator, when busy, sometimes reads a request body as empty.
            (400, "invalid") if message == "EOF" => transient(),
            // The emulator says a job id it has with 400 "is already created".
            (409, _) | (_, "duplicate") | (400, _)
                if status == 409 || message.contains("already created") =>
            {
                Failure::Permanent(BigQueryError::Exists { what, message })
            }
            (403, "accessNotConfigured" | "SERVICE_DISABLED") => {
                Failure::Permanent(BigQueryError::NotEnabled { project: self.project.clone(), message })
            }
            (403, "quotaExceeded" | "billingNotEnabled" | "billingTierLimitExceeded") => {
                Failure::Permanent(BigQueryError::Quota { what, message })
            }
            (403, _) => Failure::Permanent(BigQueryError::Forbidden {
                what,
                account: self.account(),
                project: self.project.clone(),
                message,
            }),
            (404, _) => Failure::Permanent(BigQueryError::NotFound { what, message }),
            _ => Failure::Permanent(BigQueryError::Api { what, status, reason, message }),
        }
    }

    /// Runs `call` until it succeeds, fails for good or --bigquery-retry-for is spent,
    /// backing off exponentially with jitter between attempts (Google's advice for 429
    /// and 5xx). Only for requests that may be sent twice: reads, creations that answer
    /// 409 the second time, and job inserts under one job id.
    fn retrying<T>(
        &mut self,
        what: &str,
        mut call: impl FnMut(&mut Self) -> Result<T, Failure>,
    ) -> Result<T, BigQueryError> {
        let started = Instant::now();
        let mut pause = self.backoff_base;
        loop {
            match call(self) {
                Ok(value) => return Ok(value),
                Err(Failure::Permanent(error)) => return Err(error),
                Err(Failure::Transient { reason, .. }) => {
                    let jitter =
                        Duration::from_millis(rand::random::<u64>() % (pause.as_millis() as u64 / 2 + 1));
                    let wait = pause + jitter;
                    if started.elapsed() + wait > self.retry_for {
                        return Err(BigQueryError::Unavailable { what: what.to_string(), reason });
                    }
                    warn!(%reason, retry_in = ?wait, "BigQuery: {what} failed; trying again");
                    if !self.shutdown.sleep_until(Instant::now() + wait) {
                        return Err(BigQueryError::Unavailable {
                            what: what.to_string(),
                            reason: format!("{reason}; stopped while retrying"),
                        });
                    }
                    pause = (pause * 2).min(Duration::from_secs(32));
                }
            }
        }
    }

    /// Creates the dataset unless it exists.
    pub(super) fn ensure_dataset(&mut self, dataset: &str) -> Result<(), BigQueryError> {
        let path = format!("/datasets/{}", utf8_percent_encode(dataset, SEGMENT));
        let what = format!("dataset {}.{dataset}", self.project);
        match self
            .retrying(&format!("reading {what}"), |c| c.attempt("reading the dataset", "GET", &path, None))
        {
            Ok(_) => return Ok(()),
            Err(BigQueryError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        let mut body = json!({"datasetReference": {"projectId": self.project, "datasetId": dataset}});
        if let Some(location) = &self.location {
            body["location"] = json!(location);
        }
        match self.retrying(&format!("creating {what}"), |c| {
            c.attempt("creating the dataset", "POST", "/datasets", Some(&body))
        }) {
            Ok(_) => {
                tracing::info!(dataset = %format!("{}.{dataset}", self.project), "BigQuery dataset created");
                Ok(())
            }
            // Made meanwhile (by another member, or by an attempt whose answer was lost).
            Err(BigQueryError::Exists { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The table's resource, or `None` when there is no such table.
    pub(super) fn table(&mut self, dataset: &str, table: &str) -> Result<Option<Value>, BigQueryError> {
        let path = format!(
            "/datasets/{}/tables/{}",
            utf8_percent_encode(dataset, SEGMENT),
            utf8_percent_encode(table, SEGMENT)
        );
        match self.retrying(&format!("reading table {dataset}.{table}"), |c| {
            c.attempt("reading the table", "GET", &path, None)
        }) {
            Ok(value) => Ok(Some(value)),
            Err(BigQueryError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a table from its resource; one made meanwhile counts as made.
    pub(super) fn create_table(&mut self, dataset: &str, resource: &Value) -> Result<(), BigQueryError> {
        let path = format!("/datasets/{}/tables", utf8_percent_encode(dataset, SEGMENT));
        let name = resource["tableReference"]["tableId"].as_str().unwrap_or_default().to_string();
        match self.retrying(&format!("creating table {dataset}.{name}"), |c| {
            c.attempt("creating the table", "POST", &path, Some(resource))
        }) {
            Ok(_) => {
                tracing::info!(table = %format!("{}.{dataset}.{name}", self.project), "BigQuery table created");
                Ok(())
            }
            Err(BigQueryError::Exists { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Runs a GoogleSQL query job under `job_id` and waits for its end. The job id makes
    /// the insert safe to retry: when an earlier attempt may have been applied, BigQuery
    /// answers 409 for the id it already has, and that job is the one waited for.
    pub(super) fn run_job(&mut self, job_id: &str, query: &str, what: &str) -> Result<JobEnd, BigQueryError> {
        let mut reference = json!({"projectId": self.project, "jobId": job_id});
        if let Some(location) = &self.location {
            reference["location"] = json!(location);
        }
        let body = format!(
            r#"{{"jobReference":{reference},"configuration":{{"query":{{"query":{},"useLegacySql":false}}}}}}"#,
            Value::from(query)
        );
        let inserted = self.retrying(what, |c| c.attempt_raw(what, "POST", "/jobs", Some(body.as_bytes())));
        // Where BigQuery runs the job (a region unless --bigquery-location said): a job
        // outside the US and EU multi-regions is found only with its location.
        let location = match inserted {
            Ok(job) if job_done(&job) => return Ok(Self::job_end(&job)),
            Ok(job) => job["jobReference"]["location"].as_str().map(str::to_string),
            Err(BigQueryError::Exists { .. }) => {
                debug!(job_id, "the job exists already (an earlier attempt landed)");
                None
            }
            Err(e) => return Err(e),
        };
        self.wait_job(job_id, location.or_else(|| self.location.clone()), what)
    }

    /// Polls a job until it is done.
    fn wait_job(
        &mut self,
        job_id: &str,
        location: Option<String>,
        what: &str,
    ) -> Result<JobEnd, BigQueryError> {
        let query =
            location.map(|l| format!("?location={}", utf8_percent_encode(&l, SEGMENT))).unwrap_or_default();
        let path = format!("/jobs/{}{query}", utf8_percent_encode(job_id, SEGMENT));
        let mut pause = Duration::from_millis(20);
        loop {
            let job = self.retrying(what, |c| c.attempt(what, "GET", &path, None))?;
            if job_done(&job) {
                return Ok(Self::job_end(&job));
            }
            if !self.shutdown.sleep_until(Instant::now() + pause) {
                return Err(BigQueryError::Unavailable {
                    what: what.to_string(),
                    reason: format!("stopped while job {job_id} was running"),
                });
            }
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    /// A done job's outcome.
    fn job_end(job: &Value) -> JobEnd {
        if let Some(error) = job["status"].get("errorResult").filter(|e| !e.is_null()) {
            let reason = error["reason"].as_str().unwrap_or_default().to_string();
            let message = error["message"].as_str().unwrap_or_default().to_string();
            let transient = matches!(
                reason.as_str(),
                "backendError"
                    | "internalError"
                    | "rateLimitExceeded"
                    | "jobRateLimitExceeded"
                    | "jobInternalError"
            ) || message.contains("aborted due to concurrent update");
            // The emulator calls every failure jobInternalError, SQL it cannot run too.
            let transient = transient && !message.starts_with("failed to analyze");
            return if transient {
                JobEnd::Retry(format!("{reason}: {message}"))
            } else {
                JobEnd::Failed { reason, message }
            };
        }
        let affected = job["statistics"]["query"]["numDmlAffectedRows"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .or_else(|| job["statistics"]["query"]["numDmlAffectedRows"].as_u64());
        JobEnd::Done { affected }
    }

    /// Waits `pause` before another try; false when a shutdown was asked for first.
    pub(super) fn pause(&self, pause: Duration) -> bool {
        self.shutdown.sleep_until(Instant::now() + pause)
    }
}

fn job_done(job: &Value) -> bool {
    job["status"]["state"].as_str() == Some("DONE")
}

/// BigQuery's `reason` and `message` from an error body (its text when not JSON).
fn error_of(text: &str) -> (String, String) {
    let parsed: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let error = &parsed["error"];
    let first = &error["errors"][0];
    let reason = first["reason"]
        .as_str()
        .or_else(|| error["details"][0]["reason"].as_str())
        .or_else(|| error["status"].as_str())
        .unwrap_or_default()
        .to_string();
    let message =
        error["message"].as_str().map_or_else(|| text.trim().chars().take(500).collect(), str::to_string);
    (reason, message)
}

#[cfg(test)]
mod tests {
    use super::error_of;

    #[test]
    fn the_reason_is_read_from_either_error_shape() {
        let classic = r#"{"error":{"code":403,"message":"Exceeded rate limits","errors":[{"reason":"rateLimitExceeded","message":"x"}],"status":"PERMISSION_DENIED"}}"#;
        assert_eq!(error_of(classic), ("rateLimitExceeded".into(), "Exceeded rate limits".into()));
        let disabled = r#"{"error":{"code":403,"message":"BigQuery API has not been used","status":"PERMISSION_DENIED","details":[{"reason":"SERVICE_DISABLED"}]}}"#;
        assert_eq!(error_of(disabled).0, "SERVICE_DISABLED");
        assert_eq!(error_of("upstream timeout").1, "upstream timeout");
    }
}
