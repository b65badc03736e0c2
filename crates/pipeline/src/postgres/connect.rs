//! Reaching the database: the connection settings (libpq's URL and TLS modes, the
//! password, the CA roots), connecting with retries and making the tables ready on every
//! new connection, and telling an outage from a refusal that no retry can mend.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::config::SslMode;
use postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;
use tracing::warn;

use super::schema::{self, Resolved, SchemaError};
use super::{PostgresConfig, PostgresError};
use crate::shutdown::Shutdown;

/// How to reach the database and make its tables ready, for every (re)connection.
pub(super) struct Endpoint {
    settings: postgres::Config,
    tls: Option<MakeRustlsConnect>,
    /// The server as logs show it (no password).
    pub(super) server: String,
    pub(super) table: String,
    /// The table as the first connection resolved it; every later one must agree.
    resolved: std::sync::OnceLock<Resolved>,
    /// Create what is missing; when false, only check what an administrator made.
    manage_schema: bool,
    pub(super) shutdown: Shutdown,
}

/// How long connecting (TCP and the server's first answer) may take unless the URL's
/// `connect_timeout` says otherwise: a server that accepts and never answers would hold
/// the sink without a word.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The database's own words (postgres::Error's Display is only "db error").
pub(super) fn reason(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => {
            let source = std::error::Error::source(error).map(|s| format!(": {s}")).unwrap_or_default();
            format!("{error}{source}")
        }
    }
}

/// The server as logs may show it: user, host, port, database; never the password.
fn describe(settings: &postgres::Config) -> String {
    let host = settings
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_default();
    let port = settings.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        settings.get_user().unwrap_or(""),
        settings.get_dbname().unwrap_or("")
    )
}

/// TLS that verifies the server's certificate and host name against `ca_file` (PEM) or
/// the system's CA bundle: stricter than libpq's `require`, as its `verify-full`.
fn tls_connector(ca_file: Option<&std::path::Path>) -> Result<MakeRustlsConnect, PostgresError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let ca = ca_file.unwrap_or(std::path::Path::new("/etc/ssl/certs/ca-certificates.crt"));
    let bad = |e: &dyn std::fmt::Display| PostgresError::Url(format!("the CA file {}: {e}", ca.display()));
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(ca).map_err(|e| bad(&e))? {
        roots.add(certificate.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
    }
    if roots.is_empty() {
        return Err(bad(&"holds no certificate"));
    }
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| PostgresError::Url(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// Parses a connection URL, taking libpq's TLS modes.
pub(super) fn parse_url(url: &str) -> Result<postgres::Config, postgres::Error> {
    postgres::Config::from_str(&verifying_modes_as_require(url))
}

/// libpq's `verify-ca` and `verify-full`, which the client library does not parse, as
/// the `require` that this sink already verifies as `verify-full` does (the server's
/// certificate against the CAs, and its host name), so that a libpq URL works as it is.
fn verifying_modes_as_require(url: &str) -> String {
    url.replace("sslmode=verify-full", "sslmode=require").replace("sslmode=verify-ca", "sslmode=require")
}

/// Whether a database error says the request itself is wrong (bad data, a constraint,
/// a missing object or privilege, a refused login or TLS), which no retry can mend.
pub(super) fn permanent(error: &postgres::Error) -> bool {
    match error.as_db_error() {
        // 22 data, 23 constraints, 42 syntax and privileges, 28 login, 3D database,
        // 3F schema, P0 an error a trigger raised, 0A a feature the table rules out (ON
        // CONFLICT on a table with INSERT rules); 25006 a read-only server (a replica).
        Some(db) => {
            matches!(&db.code().code()[..2], "22" | "23" | "42" | "28" | "3D" | "3F" | "P0" | "0A")
                || db.code() == &postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION
        }
        None => {
            let text = reason(error);
            ["does not support TLS", "password missing", "invalid configuration", "certificate"]
                .iter()
                .any(|needle| text.contains(needle))
        }
    }
}

impl Endpoint {
    /// The endpoint of `config`: its URL (with libpq's TLS modes), password, TLS roots
    /// and table, checked before anything connects.
    pub(super) fn new(config: &PostgresConfig, shutdown: Shutdown) -> Result<Self, PostgresError> {
        let mut settings = parse_url(&config.url).map_err(|e| PostgresError::Url(e.to_string()))?;
        if let Some(password) = &config.password {
            settings.password(password);
        }
        let tls = match settings.get_ssl_mode() {
            SslMode::Require => Some(tls_connector(config.ca_file.as_deref())?),
            _ if config.ca_file.is_some() => {
                return Err(PostgresError::Url(
                    "--postgres-ca is given, but the URL asks for no verified TLS: add sslmode=verify-full (or require, or verify-ca)".into(),
                ));
            }
            // `prefer` (the default) without verification would be TLS in name only.
            _ => {
                settings.ssl_mode(SslMode::Disable);
                None
            }
        };
        schema::check_table_name(&config.table)
            .map_err(|e| PostgresError::Url(format!("--postgres-table {e}")))?;
        if settings.get_connect_timeout().is_none() {
            // A server that accepts and never answers would hold the sink without a word.
            settings.connect_timeout(CONNECT_TIMEOUT);
        }
        Ok(Endpoint {
            server: describe(&settings),
            settings,
            tls,
            table: config.table.clone(),
            resolved: std::sync::OnceLock::new(),
            manage_schema: config.manage_schema,
            shutdown,
        })
    }

    /// The table as the database resolved it (set by the first [`Endpoint::open`]).
    pub(super) fn resolved(&self) -> &Resolved {
        self.resolved.get().expect("a connection was opened before the table is written")
    }

    /// Connects within the connect timeout, even when the server accepted the TCP
    /// connection and never answers (the driver's own timeout covers only the TCP
    /// connect); `Err` says it did not answer. A connection given up on ends in its own
    /// thread when its socket does.
    fn connect(&self) -> Result<Result<Client, postgres::Error>, String> {
        let limit = self.settings.get_connect_timeout().copied().unwrap_or(CONNECT_TIMEOUT);
        let (settings, tls) = (self.settings.clone(), self.tls.clone());
        let (sender, answer) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("postgres-connect".into())
            .spawn(move || {
                let connected = match tls {
                    Some(tls) => settings.connect(tls),
                    None => settings.connect(NoTls),
                };
                let _ = sender.send(connected);
            })
            .map_err(|e| format!("cannot start a thread to connect: {e}"))?;
        answer.recv_timeout(limit).map_err(|_| {
            format!(
                "the server took the connection but did not answer within {} (connect_timeout in the URL sets this)",
                humantime::format_duration(limit)
            )
        })
    }

    /// Makes the tables ready on a new connection, which must find the table the first
    /// one found.
    fn ready(&self, mut client: Client, retry_for: Duration) -> Result<Client, SchemaError> {
        let resolved =
            schema::prepare(&mut client, &self.table, self.manage_schema, retry_for, &self.shutdown)?;
        let first = self.resolved.get_or_init(|| resolved.clone());
        if *first != resolved {
            return Err(SchemaError::Mismatch(format!(
                "{} now resolves to {}, but the sink has been writing {} (did search_path or the schemas change?)",
                self.table, resolved.key, first.key
            )));
        }
        Ok(client)
    }

    /// Connects and makes the tables ready, retrying a server that is down for
    /// `retry_for`; a refusal, or tables that do not fit, end it at once.
    pub(super) fn open(&self, retry_for: Duration) -> Result<Client, PostgresError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(200);
        let server = self.server.as_str();
        loop {
            let left = retry_for.saturating_sub(started.elapsed());
            let (why, refused) = match self.connect() {
                Err(silent) => (silent, false),
                Ok(connected) => {
                    match connected.map_err(SchemaError::Database).and_then(|client| self.ready(client, left))
                    {
                        Ok(client) => return Ok(client),
                        Err(SchemaError::Mismatch(problems)) => {
                            return Err(PostgresError::Table { table: self.table.clone(), problems });
                        }
                        Err(SchemaError::Locked(why)) => {
                            return Err(PostgresError::Unavailable { url: server.to_string(), reason: why });
                        }
                        Err(SchemaError::Database(error)) => (reason(&error), permanent(&error)),
                    }
                }
            };
            if refused || started.elapsed() + pause > retry_for {
                return Err(PostgresError::Unavailable { url: server.to_string(), reason: why });
            }
            warn!(server, error = %why, retry_in = ?pause, "PostgreSQL not reachable; retrying");
            if !self.shutdown.sleep_until(Instant::now() + pause) {
                return Err(PostgresError::Unavailable {
                    url: server.to_string(),
                    reason: format!("{why}; stopped while retrying"),
                });
            }
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }
}
