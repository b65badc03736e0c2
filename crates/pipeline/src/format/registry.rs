//! A client of the Confluent Schema Registry API (Confluent's own, hosted ones, and
//! compatible servers such as Apicurio's `/apis/ccompat/v6`): register the order schema,
//! fetch writer schemas by id, each id once per process.
//!
//! A registry that cannot be reached (refused, timed out, 5xx, 429) is retried with
//! backoff for `retry_for`, each attempt logged; a refusal (401, 403, 409, 422) is not
//! retried. No crate client fits: the maintained ones are async and pull a second HTTP
//! stack, so this uses the project's ureq, as the Sheets sink does.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;
use tracing::{info, warn};

use super::avro::Plan;
use crate::shutdown::Shutdown;

/// Where the registry is and how to sign in.
#[derive(Clone)]
pub struct RegistryConfig {
    /// Base URL, e.g. `https://psrc-x.europe-west3.gcp.confluent.cloud` or
    /// `http://127.0.0.1:8081/apis/ccompat/v6`.
    pub url: String,
    /// Basic-auth user (an API key on hosted registries).
    pub user: Option<String>,
    /// Its password (the API secret), read from a file or the environment.
    pub password: Option<String>,
    /// How long an unreachable registry is retried before the command gives up.
    pub retry_for: Duration,
    /// Time limit of one request.
    pub request_timeout: Duration,
    /// A stop ends the retries at once.
    pub abort: Shutdown,
}

impl std::fmt::Debug for RegistryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryConfig")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("retry_for", &self.retry_for)
            .finish_non_exhaustive()
    }
}

/// Why the registry did not give what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RegistryError {
    /// Not reachable, or only failing transiently, for the whole retry time.
    #[error("schema registry {url} did not answer usefully for {waited:?} while {what}: {reason}")]
    Unreachable {
        /// The registry.
        url: String,
        /// What was asked.
        what: String,
        /// How long it was retried.
        waited: Duration,
        /// The last failure.
        reason: String,
    },
    /// The subject refuses the schema as incompatible with its earlier versions.
    #[error(
        "schema registry refused the schema for subject {subject} as incompatible (HTTP 409): {message}"
    )]
    Incompatible {
        /// The subject.
        subject: String,
        /// The registry's own words.
        message: String,
    },
    /// The registry has no schema with this id.
    #[error("schema id {id} is not in the schema registry ({message})")]
    UnknownId {
        /// The id from the message.
        id: u32,
        /// The registry's own words.
        message: String,
    },
    /// The schema of this id does not describe an order.
    #[error("schema id {id} cannot be read as an order: {reason}")]
    NotAnOrder {
        /// The id.
        id: u32,
        /// Why.
        reason: String,
    },
    /// Refused for another reason: credentials, permissions, a bad request.
    #[error("schema registry refused {what} (HTTP {status}): {message}{hint}")]
    Refused {
        /// What was asked.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The registry's own words.
        message: String,
        /// What to do about it.
        hint: &'static str,
    },
}

impl RegistryError {
    /// True when the message, not the registry, is at fault: it goes to the dead letters.
    pub fn blames_the_message(&self) -> bool {
        matches!(self, RegistryError::UnknownId { .. } | RegistryError::NotAnOrder { .. })
    }
}

/// The registry's error body.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error_code: i64,
    #[serde(default)]
    message: String,
}

/// One registry, shared by every client of the process.
pub struct Registry {
    config: RegistryConfig,
    agent: ureq::Agent,
    plans: RwLock<HashMap<u32, Result<Arc<Plan>, RegistryError>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("config", &self.config).finish_non_exhaustive()
    }
}

/// The answer of a request: status and body.
type Answer = (u16, String);

impl Registry {
    /// A client; nothing is asked yet.
    pub fn new(config: RegistryConfig) -> Self {
        let agent = crate::http::agent(config.request_timeout);
        // Credentials written into the URL sign in like --schema-registry-user and its
        // password, and never reach a log line or an error with it.
        let parts = orderstream_runtime::userinfo::split(&config.url);
        Registry {
            config: RegistryConfig {
                url: parts.url.trim_end_matches('/').to_string(),
                user: config.user.or(parts.user),
                password: config.password.or(parts.password),
                ..config
            },
            agent,
            plans: RwLock::default(),
        }
    }

    /// The registry's base URL.
    pub fn url(&self) -> &str {
        &self.config.url
    }

    /// Registers `schema` under `subject` (or finds it there) and returns its id.
    pub fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        #[derive(Deserialize)]
        struct Registered {
            id: u32,
        }
        let what = format!("registering the order schema under subject {subject}");
        let path = format!("/subjects/{}/versions", utf8_percent_encode(subject, NON_ALPHANUMERIC));
        let body = serde_json::json!({ "schema": schema }).to_string();
        let (status, text) = self.call(&what, &path, Some(&body))?;
        match status {
            200 => serde_json::from_str::<Registered>(&text)
                .map(|r| r.id)
                .map_err(|e| self.odd(&what, &e, &text)),
            409 => Err(RegistryError::Incompatible {
                subject: subject.to_string(),
                message: error_body(&text).message,
            }),
            _ => Err(self.refused(&what, status, &text)),
        }
    }

    /// Knows writer schema `id` without asking the registry: for a schema kept from an
    /// earlier fetch, or read from a file (benchmarks, replaying a topic dump offline).
    pub fn preload(&self, id: u32, schema: &str) -> Result<(), RegistryError> {
        let plan =
            Plan::compile(schema).map(Arc::new).map_err(|reason| RegistryError::NotAnOrder { id, reason })?;
        self.plans.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id, Ok(plan));
        Ok(())
    }

    /// How to read messages written with schema `id`: fetched once, then cached (as is
    /// an id the registry does not know or that is not an order).
    pub(crate) fn plan(&self, id: u32) -> Result<Arc<Plan>, RegistryError> {
        if let Some(known) = self.plans.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&id) {
            return known.clone();
        }
        let fetched = self.fetch(id);
        if matches!(&fetched, Err(e) if !e.blames_the_message()) {
            return fetched; // the registry's trouble: ask again next time
        }
        match &fetched {
            Ok(_) => info!(id, registry = %self.config.url, "fetched writer schema"),
            Err(error) => warn!(id, %error, "messages of this schema id go to the dead letters"),
        }
        self.plans.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id, fetched.clone());
        fetched
    }

    fn fetch(&self, id: u32) -> Result<Arc<Plan>, RegistryError> {
        #[derive(Deserialize)]
        struct Fetched {
            schema: String,
            #[serde(default, rename = "schemaType")]
            schema_type: Option<String>,
        }
        let what = format!("fetching schema id {id}");
        let (status, text) = self.call(&what, &format!("/schemas/ids/{id}"), None)?;
        match status {
            200 => {
                let fetched: Fetched = serde_json::from_str(&text).map_err(|e| self.odd(&what, &e, &text))?;
                if let Some(kind) = fetched.schema_type.filter(|k| k != "AVRO") {
                    return Err(RegistryError::NotAnOrder {
                        id,
                        reason: format!("a {kind} schema, not Avro"),
                    });
                }
                Plan::compile(&fetched.schema)
                    .map(Arc::new)
                    .map_err(|reason| RegistryError::NotAnOrder { id, reason })
            }
            404 => Err(RegistryError::UnknownId { id, message: error_body(&text).message }),
            _ => Err(self.refused(&what, status, &text)),
        }
    }

    /// One request (a GET, or a POST of `body`), retried while the registry is
    /// unreachable or failing transiently.
    fn call(&self, what: &str, path: &str, body: Option<&str>) -> Result<Answer, RegistryError> {
        let url = format!("{}{path}", self.config.url);
        let started = Instant::now();
        let mut pause = Duration::from_millis(200);
        for attempt in 1.. {
            let reason = match self.send(&url, body) {
                Ok((status, text)) if status != 429 && status < 500 => return Ok((status, text)),
                Ok((status, text)) => format!("HTTP {status}: {}", error_body(&text).message),
                Err(e) => e.to_string(),
            };
            if started.elapsed() + pause > self.config.retry_for {
                return Err(RegistryError::Unreachable {
                    url: self.config.url.clone(),
                    what: what.to_string(),
                    waited: started.elapsed(),
                    reason,
                });
            }
            warn!(registry = %self.config.url, attempt, %reason, retry_in = ?pause, "schema registry not answering; {what}");
            if !self.config.abort.sleep_until(Instant::now() + pause) {
                return Err(RegistryError::Unreachable {
                    url: self.config.url.clone(),
                    what: what.to_string(),
                    waited: started.elapsed(),
                    reason: format!("{reason}; stopped while retrying"),
                });
            }
            pause = (pause * 2).min(Duration::from_secs(5));
        }
        unreachable!("the retry loop returns")
    }

    fn send(&self, url: &str, body: Option<&str>) -> Result<Answer, ureq::Error> {
        let auth = self.config.user.as_ref().map(|user| {
            use base64::Engine as _;
            let pair = format!("{user}:{}", self.config.password.as_deref().unwrap_or(""));
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
        });
        let accept = "application/vnd.schemaregistry.v1+json, application/json";
        let mut response = match body {
            None => {
                let request = self.agent.get(url).header("accept", accept);
                match &auth {
                    Some(auth) => request.header("authorization", auth).call()?,
                    None => request.call()?,
                }
            }
            Some(body) => {
                let request = self
                    .agent
                    .post(url)
                    .header("accept", accept)
                    .header("content-type", "application/vnd.schemaregistry.v1+json");
                match &auth {
                    Some(auth) => request.header("authorization", auth).send(body)?,
                    None => request.send(body)?,
                }
            }
        };
        let status = response.status().as_u16();
        let text = response.body_mut().with_config().limit(16 << 20).read_to_string()?;
        Ok((status, text))
    }

    fn refused(&self, what: &str, status: u16, text: &str) -> RegistryError {
        let body = error_body(text);
        let hint = match status {
            401 => "; check --schema-registry-user and the password file",
            403 => "; the user may not do this on this subject",
            404 if body.error_code == 404 || text.contains("<html") => {
                "; is --schema-registry the API's base URL (e.g. .../apis/ccompat/v6 on Apicurio)?"
            }
            422 => "; the registry finds the schema invalid",
            _ => "",
        };
        let message = if body.message.is_empty() { text.chars().take(300).collect() } else { body.message };
        RegistryError::Refused { what: what.to_string(), status, message, hint }
    }

    fn odd(&self, what: &str, error: &serde_json::Error, text: &str) -> RegistryError {
        RegistryError::Refused {
            what: what.to_string(),
            status: 200,
            message: format!(
                "an answer that is not the Schema Registry API's ({error}): {}",
                text.chars().take(200).collect::<String>()
            ),
            hint: "; is --schema-registry the API's base URL?",
        }
    }
}

fn error_body(text: &str) -> ErrorBody {
    serde_json::from_str(text)
        .unwrap_or_else(|_| ErrorBody { error_code: 0, message: text.chars().take(300).collect() })
}
