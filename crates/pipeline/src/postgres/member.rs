//! The PostgreSQL sink as the group driver runs it: batches of CSV rows, each written in
//! one transaction with its partitions' next offsets.

use std::collections::BTreeMap;
use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::config::SslMode;
use postgres::{Client, NoTls};
use rdkafka::message::Message;
use tokio_postgres_rustls::MakeRustlsConnect;
use tracing::{debug, info, warn};

use super::{schema, PostgresConfig, PostgresError, PostgresReport};
use crate::kafka::driver::{Assigned, Commit, GroupSink, Moment, Record};
use crate::kafka::gaps::Gap;
use crate::order::write_csv_row;
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// A rejected message waiting for the next transaction.
struct DeadLetter {
    partition: i32,
    offset: i64,
    reason: String,
    payload: Option<Vec<u8>>,
}

pub(super) struct PostgresMember {
    settings: postgres::Config,
    /// TLS, when the URL asks for it (`sslmode=require`).
    tls: Option<MakeRustlsConnect>,
    server: String,
    client: Client,
    table: String,
    topic: String,
    topic_id: Option<String>,
    /// The batch, as CSV rows.
    rows: Vec<u8>,
    row_count: usize,
    first_row_at: Option<Instant>,
    dead: Vec<DeadLetter>,
    /// Next offset per partition once the batch is written.
    next: BTreeMap<i32, i64>,
    /// Next offset per held partition as the table has it (`None`: no row yet).
    stored: BTreeMap<i32, Option<i64>>,
    flush_interval: Duration,
    batch_rows: usize,
    retry_for: Duration,
    stats: Arc<Stats>,
    shutdown: Shutdown,
    report: PostgresReport,
    /// When the first row of the run was taken.
    started: Option<Instant>,
}

impl PostgresMember {
    /// Connects (retrying for `retry_for`) and makes the tables.
    pub(super) fn connect(
        config: &PostgresConfig,
        topic: &str,
        stats: Arc<Stats>,
        shutdown: Shutdown,
    ) -> Result<Self, PostgresError> {
        let mut settings =
            postgres::Config::from_str(&config.url).map_err(|e| PostgresError::Url(e.to_string()))?;
        if let Some(password) = &config.password {
            settings.password(password);
        }
        let tls = match settings.get_ssl_mode() {
            SslMode::Require => Some(tls_connector(config.ca_file.as_deref())?),
            // `prefer` (the default) without verification would be TLS in name only.
            _ => {
                settings.ssl_mode(SslMode::Disable);
                None
            }
        };
        if !schema::valid_table_name(&config.table) {
            return Err(PostgresError::Url(format!(
                "--postgres-table {:?}: expected a plain lower-case name, optionally schema.table",
                config.table
            )));
        }
        let server = describe(&settings);
        let client = open(&settings, tls.as_ref(), &server, &config.table, config.retry_for, &shutdown)?;
        Ok(PostgresMember {
            settings,
            tls,
            server,
            client,
            table: config.table.clone(),
            topic: topic.to_string(),
            topic_id: None,
            rows: Vec::with_capacity(1 << 20),
            row_count: 0,
            first_row_at: None,
            dead: Vec::new(),
            next: BTreeMap::new(),
            stored: BTreeMap::new(),
            flush_interval: config.flush_interval,
            batch_rows: config.batch_rows,
            retry_for: config.retry_for,
            stats,
            shutdown,
            report: PostgresReport::default(),
            started: None,
        })
    }

    pub(super) fn server(&self) -> &str {
        &self.server
    }

    pub(super) fn report(&self) -> PostgresReport {
        self.report.clone()
    }

    /// Writes the batch in one transaction; on a lost connection, reconnects and tries
    /// again (the conditional offset update tells a retry whether the first try landed).
    fn write_batch(&mut self) -> Result<(), PostgresError> {
        let started = Instant::now();
        loop {
            match self.try_write_batch() {
                Ok(outcome) => return outcome,
                Err(error) if started.elapsed() < self.retry_for && !self.shutdown.requested() => {
                    warn!(server = %self.server, %error, "writing the batch failed; reconnecting and trying again");
                    std::thread::sleep(Duration::from_millis(500));
                    let left = self.retry_for.saturating_sub(started.elapsed());
                    self.client = open(
                        &self.settings,
                        self.tls.as_ref(),
                        &self.server,
                        &self.table,
                        left,
                        &self.shutdown,
                    )?;
                }
                Err(error) => {
                    return Err(PostgresError::Unavailable { url: self.server.clone(), reason: error })
                }
            }
        }
    }

    /// One attempt. The outer error is the database's (retried); the inner one ends the
    /// sink.
    fn try_write_batch(&mut self) -> Result<Result<(), PostgresError>, String> {
        self.attempt().map_err(|e| match e.downcast_ref::<postgres::Error>() {
            Some(db) => reason(db),
            None => e.to_string(),
        })
    }

    fn attempt(&mut self) -> Result<Result<(), PostgresError>, Box<dyn std::error::Error + Send + Sync>> {
        let mut tx = self.client.transaction()?;
        // Offsets first: a fenced partition stops the batch before any row is copied.
        for (&partition, &next) in &self.next {
            let expected = self.stored.get(&partition).copied().flatten();
            let updated = match expected {
                Some(expected) => tx.execute(
                    "UPDATE orderstream_offsets SET next_offset = $4, topic_id = $5, updated_at = now()
                     WHERE target = $1 AND topic = $2 AND partition = $3 AND next_offset = $6",
                    &[&self.table, &self.topic, &partition, &next, &self.topic_id, &expected],
                )?,
                None => tx.execute(
                    "INSERT INTO orderstream_offsets (target, topic, partition, next_offset, topic_id)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    &[&self.table, &self.topic, &partition, &next, &self.topic_id],
                )?,
            };
            if updated == 1 {
                continue;
            }
            // Ours already (an earlier try committed before the connection dropped), or
            // another member's.
            let now: Option<i64> = tx
                .query_opt(
                    "SELECT next_offset FROM orderstream_offsets WHERE target = $1 AND topic = $2 AND partition = $3",
                    &[&self.table, &self.topic, &partition],
                )?
                .map(|row| row.get(0));
            drop(tx);
            // The batch's partitions commit together: one at its target means all are.
            if now == Some(next) {
                info!(partition, next, "the batch had landed before the connection dropped");
                return Ok(self.batch_written(0, 0));
            }
            return Ok(Err(PostgresError::Fenced { partition }));
        }
        let mut inserted = 0;
        if self.row_count > 0 {
            let mut copy = tx.copy_in("COPY orderstream_staging FROM STDIN (FORMAT csv)")?;
            copy.write_all(&self.rows)?;
            copy.finish()?;
            inserted = tx.execute(
                &format!(
                    "INSERT INTO {} SELECT * FROM orderstream_staging ON CONFLICT (id) DO NOTHING",
                    self.table
                ),
                &[],
            )?;
        }
        for letter in &self.dead {
            tx.execute(
                "INSERT INTO orderstream_dead_letters (target, topic, partition, \"offset\", reason, payload)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[
                    &self.table,
                    &self.topic,
                    &letter.partition,
                    &letter.offset,
                    &letter.reason,
                    &letter.payload,
                ],
            )?;
        }
        tx.commit()?;
        Ok(self.batch_written(inserted, self.dead.len() as u64))
    }

    fn batch_written(&mut self, inserted: u64, dead: u64) -> Result<(), PostgresError> {
        let duplicates = (self.row_count as u64).saturating_sub(inserted);
        if duplicates > 0 && inserted > 0 {
            warn!(duplicates, "orders whose id the table had already (the same order twice in the topic) were not inserted again");
        }
        self.report.rows += inserted;
        self.report.duplicate_ids += if inserted > 0 { duplicates } else { 0 };
        self.report.dead_letters += dead;
        Stats::add(&self.stats.written, inserted);
        Stats::add(&self.stats.dead_lettered, dead);
        for (&partition, &next) in &self.next {
            self.stored.insert(partition, Some(next));
        }
        debug!(rows = inserted, dead, "batch committed");
        if let Some(started) = self.started {
            self.report.busy = started.elapsed();
        }
        self.rows.clear();
        self.row_count = 0;
        self.first_row_at = None;
        self.dead.clear();
        self.next.clear();
        Ok(())
    }
}

/// The database's own words (postgres::Error's Display is only "db error").
fn reason(error: &postgres::Error) -> String {
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

/// Connects and makes the tables, retrying a server that is down for `retry_for`.
fn open(
    settings: &postgres::Config,
    tls: Option<&MakeRustlsConnect>,
    server: &str,
    table: &str,
    retry_for: Duration,
    shutdown: &Shutdown,
) -> Result<Client, PostgresError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(200);
    loop {
        let connected = match tls {
            Some(tls) => settings.connect(tls.clone()),
            None => settings.connect(NoTls),
        };
        let attempt = connected.and_then(|mut client| schema::create(&mut client, table).map(|()| client));
        match attempt {
            Ok(client) => return Ok(client),
            Err(error) => {
                let refused = error.as_db_error().is_some_and(|db| {
                    // Authentication, permissions, a missing database: retrying cannot help.
                    matches!(&db.code().code()[..2], "28" | "42" | "3D")
                });
                if refused || started.elapsed() + pause > retry_for {
                    return Err(PostgresError::Unavailable {
                        url: server.to_string(),
                        reason: reason(&error),
                    });
                }
                let why = reason(&error);
                warn!(server, error = %why, retry_in = ?pause, "PostgreSQL not reachable; retrying");
                if !shutdown.sleep_until(Instant::now() + pause) {
                    return Err(PostgresError::Unavailable {
                        url: server.to_string(),
                        reason: format!("{why}; stopped while retrying"),
                    });
                }
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}

impl GroupSink for PostgresMember {
    type Error = PostgresError;

    /// Partitions resume where the table's offsets say; with no row yet (a new table),
    /// at the start of the partition, never at another sink's commit.
    fn assign(
        &mut self,
        topic_id: Option<&str>,
        partitions: &[Assigned],
    ) -> Result<Vec<(i32, Option<i64>)>, PostgresError> {
        self.topic_id = topic_id.map(str::to_string);
        let mut starts = Vec::with_capacity(partitions.len());
        for assigned in partitions {
            let partition = assigned.partition;
            let row = self
                .client
                .query_opt(
                    "SELECT next_offset, topic_id FROM orderstream_offsets WHERE target = $1 AND topic = $2 AND partition = $3",
                    &[&self.table, &self.topic, &partition],
                )
                .map_err(|e| PostgresError::Unavailable { url: self.server.clone(), reason: reason(&e) })?;
            let stored = row.map(|row| (row.get::<_, i64>(0), row.get::<_, Option<String>>(1)));
            let start = match (&stored, topic_id) {
                // Offsets of a deleted topic of the same name: start over (ids already in
                // the table are not inserted twice).
                (Some((_, Some(was))), Some(now)) if was != now => {
                    warn!(partition, was, now, "the table's offsets belong to a deleted topic of this name; reading this one from its start");
                    0
                }
                (Some((next, _)), _) => *next,
                (None, _) => 0,
            };
            self.stored.insert(partition, stored.map(|(next, _)| next));
            starts.push((partition, Some(start)));
        }
        info!(partitions = ?starts, table = %self.table, "PostgreSQL partitions assigned; resuming at the table's offsets");
        Ok(starts)
    }

    fn revoke(&mut self, partitions: &[i32]) -> Result<Vec<Commit>, PostgresError> {
        let commits = if self.pending() { self.flush()? } else { Vec::new() };
        for partition in partitions {
            self.stored.remove(partition);
        }
        info!(?partitions, "PostgreSQL partitions revoked after their batch was committed");
        Ok(commits)
    }

    fn take(&mut self, partition: i32, offset: i64, record: Record<'_>) -> Result<bool, PostgresError> {
        match record {
            Record::Order(order) => {
                write_csv_row(&order, &mut self.rows);
                self.row_count += 1;
                let now = *self.first_row_at.get_or_insert_with(Instant::now);
                self.started.get_or_insert(now);
            }
            Record::Invalid { reason, message } => {
                self.dead.push(DeadLetter {
                    partition,
                    offset,
                    reason,
                    payload: message.payload().map(<[u8]>::to_vec),
                });
                self.first_row_at.get_or_insert_with(Instant::now);
            }
        }
        self.next.insert(partition, offset + 1);
        Ok(true)
    }

    fn gap(&mut self, gap: &Gap) -> Result<(), PostgresError> {
        self.dead.push(DeadLetter {
            partition: gap.partition,
            offset: gap.first_offset,
            reason: format!(
                "gap: offsets {}..={} ({} records) were gone before they could be read ({:?})",
                gap.first_offset, gap.last_offset, gap.missing, gap.reason
            ),
            payload: None,
        });
        self.next.insert(gap.partition, gap.last_offset + 1);
        Ok(())
    }

    fn pending(&self) -> bool {
        !self.next.is_empty()
    }

    fn due(&mut self, moment: Moment) -> bool {
        self.row_count >= self.batch_rows
            || moment.stopping
            || (moment.queue_empty && moment.producer_waits)
            || self.first_row_at.is_some_and(|t| t.elapsed() >= self.flush_interval)
    }

    fn flush(&mut self) -> Result<Vec<Commit>, PostgresError> {
        let next = self.next.clone();
        if next.is_empty() {
            return Ok(Vec::new());
        }
        self.write_batch()?;
        Ok(next
            .into_iter()
            .map(|(partition, next)| Commit { partition, next, metadata: format!("postgres:{}", self.table) })
            .collect())
    }

    fn poll_wait(&self) -> Duration {
        Duration::from_millis(5)
    }

    fn commit_interval(&self) -> Duration {
        // The table holds the progress; Kafka's commit is for lag tools.
        Duration::from_secs(1)
    }
}
