//! The PostgreSQL sink as the group driver runs it: batches of orders, each written in
//! one transaction per connection with its partitions' next offsets, one batch written
//! while the next is read.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::config::SslMode;
use postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;
use tracing::{debug, info, warn};

use super::write::{write_with_retry, Link, Part, Target, Written};
use super::{schema, PostgresConfig, PostgresError, PostgresReport};
use crate::kafka::driver::{Assigned, Commit, GroupSink, Moment, Record};
use crate::kafka::gaps::Gap;
use crate::kafka::rejected::Rejected;
use crate::order::Order;
use crate::shutdown::Shutdown;
use crate::stats::Stats;

pub(super) struct PostgresMember {
    server: String,
    /// The connections; away while they write a batch.
    writer: Option<Writer>,
    /// The batch being written while the next one is read, and its next offsets.
    in_flight: Option<InFlight>,
    table: String,
    topic: String,
    topic_id: Option<String>,
    /// The batch, with each order's partition.
    rows: Vec<(i32, Order)>,
    first_row_at: Option<Instant>,
    dead: Vec<Rejected>,
    /// Next offset per partition once the batch is written.
    next: BTreeMap<i32, i64>,
    /// Next offset per held partition as the table has it (`None`: no row yet).
    stored: BTreeMap<i32, Option<i64>>,
    flush_interval: Duration,
    batch_rows: usize,
    stats: Arc<Stats>,
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
        let clients = (0..config.connections.max(1))
            .map(|_| open(&settings, tls.as_ref(), &server, &config.table, config.retry_for, &shutdown))
            .collect::<Result<Vec<_>, _>>()?;
        let writer = Writer {
            clients,
            settings,
            tls,
            server: server.clone(),
            table: config.table.clone(),
            topic: topic.to_string(),
            retry_for: config.retry_for,
            shutdown,
        };
        Ok(PostgresMember {
            server,
            writer: Some(writer),
            in_flight: None,
            table: config.table.clone(),
            topic: topic.to_string(),
            topic_id: None,
            rows: Vec::with_capacity(config.batch_rows.min(1 << 20)),
            first_row_at: None,
            dead: Vec::new(),
            next: BTreeMap::new(),
            stored: BTreeMap::new(),
            flush_interval: config.flush_interval,
            batch_rows: config.batch_rows,
            stats,
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

    /// Hands the batch to the writer and goes on reading: one batch is written while the
    /// next is read. The partitions' offsets in the table are taken to be what this
    /// batch writes (if it fails, the sink stops).
    fn send(&mut self) -> Result<(), PostgresError> {
        let mut writer = self.writer.take().expect("the writer is home when nothing is in flight");
        let batch = Batch {
            offsets: self
                .next
                .iter()
                .map(|(&p, &next)| (p, next, self.stored.get(&p).copied().flatten()))
                .collect(),
            rows: std::mem::take(&mut self.rows),
            dead: std::mem::take(&mut self.dead),
            topic_id: self.topic_id.clone(),
        };
        for (&partition, &next) in &self.next {
            self.stored.insert(partition, Some(next));
        }
        let next = std::mem::take(&mut self.next);
        self.first_row_at = None;
        let handle = std::thread::Builder::new()
            .name("postgres-writer".into())
            .spawn(move || {
                let result = writer.write(&batch);
                (writer, result)
            })
            .map_err(|e| PostgresError::Unavailable {
                url: self.server.clone(),
                reason: format!("starting a writer thread: {e}"),
            })?;
        self.in_flight = Some(InFlight { writing: handle, next });
        Ok(())
    }

    /// Waits for the batch in flight, if any; returns what may be committed to Kafka.
    fn settle(&mut self) -> Result<Vec<Commit>, PostgresError> {
        let Some(InFlight { writing, next }) = self.in_flight.take() else { return Ok(Vec::new()) };
        let (writer, result) = writing.join().map_err(|_| PostgresError::Unavailable {
            url: self.server.clone(),
            reason: "the writer thread panicked".into(),
        })?;
        self.writer = Some(writer);
        let totals = result?;
        if totals.duplicates > 0 {
            warn!(duplicates = totals.duplicates, "orders whose id the table had already (the same order twice in the topic) were not inserted again");
        }
        self.report.rows += totals.rows;
        self.report.duplicate_ids += totals.duplicates;
        self.report.dead_letters += totals.dead;
        Stats::add(&self.stats.written, totals.rows);
        Stats::add(&self.stats.dead_lettered, totals.dead);
        debug!(rows = totals.rows, dead = totals.dead, "batch committed");
        if let Some(started) = self.started {
            self.report.busy = started.elapsed();
        }
        Ok(next
            .into_iter()
            .map(|(partition, next)| Commit { partition, next, metadata: format!("postgres:{}", self.table) })
            .collect())
    }
}

/// A batch being written, and the next offsets it makes durable.
struct InFlight {
    writing: std::thread::JoinHandle<(Writer, Result<Totals, PostgresError>)>,
    next: BTreeMap<i32, i64>,
}

/// A batch as the writer takes it.
struct Batch {
    /// (partition, next offset, the offset the table had).
    offsets: Vec<(i32, i64, Option<i64>)>,
    rows: Vec<(i32, Order)>,
    dead: Vec<Rejected>,
    topic_id: Option<String>,
}

/// What a batch added.
#[derive(Default)]
struct Totals {
    rows: u64,
    duplicates: u64,
    dead: u64,
}

/// The connections and what they need to connect again.
struct Writer {
    clients: Vec<Client>,
    settings: postgres::Config,
    tls: Option<MakeRustlsConnect>,
    server: String,
    table: String,
    topic: String,
    retry_for: Duration,
    shutdown: Shutdown,
}

impl Writer {
    /// Writes `batch`: each connection commits its share of the partitions, rows and
    /// offsets in one transaction, all at once (one server process per connection, so
    /// the server's cores share the work). A lost connection is opened again and its
    /// share retried; the conditional offset update tells a retry whether the first try
    /// landed.
    fn write(&mut self, batch: &Batch) -> Result<Totals, PostgresError> {
        let workers = self.clients.len();
        let share = |w: usize| -> Part<'_> {
            let mine = |p: i32| p.rem_euclid(workers as i32) as usize == w;
            Part {
                offsets: batch.offsets.iter().filter(|(p, _, _)| mine(*p)).copied().collect(),
                rows: batch.rows.iter().filter(|(p, _)| mine(*p)).map(|(_, order)| order).collect(),
                dead: batch.dead.iter().filter(|d| mine(d.partition)).collect(),
            }
        };
        let parts: Vec<Part<'_>> = (0..workers).map(share).collect();
        let target = Target { table: &self.table, topic: &self.topic, topic_id: batch.topic_id.as_deref() };
        let link = Link {
            settings: &self.settings,
            tls: self.tls.as_ref(),
            server: &self.server,
            retry_for: self.retry_for,
            shutdown: &self.shutdown,
        };
        let server = &self.server;
        let results: Vec<Result<Written, PostgresError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .clients
                .iter_mut()
                .zip(&parts)
                .filter(|(_, part)| !part.offsets.is_empty())
                .map(|(client, part)| scope.spawn(|| write_with_retry(client, &link, &target, part)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(PostgresError::Unavailable {
                            url: server.clone(),
                            reason: "a writer thread panicked".into(),
                        })
                    })
                })
                .collect()
        });
        let mut totals = Totals::default();
        for result in results {
            if let Written::Done { rows, duplicate_ids, dead_letters } = result? {
                totals.rows += rows;
                totals.duplicates += duplicate_ids;
                totals.dead += dead_letters;
            }
        }
        Ok(totals)
    }
}

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

/// Connects and makes the tables, retrying a server that is down for `retry_for`.
pub(super) fn open(
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
        // The connections are needed here; a batch in flight is finished first.
        self.settle()?;
        self.topic_id = topic_id.map(str::to_string);
        let mut starts = Vec::with_capacity(partitions.len());
        for assigned in partitions {
            let partition = assigned.partition;
            let client = &mut self.writer.as_mut().expect("settled above").clients[0];
            let row = client
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
        // Everything durable before the partitions go: what was read and what is in flight.
        let mut commits = self.flush()?;
        commits.extend(self.settle()?);
        for partition in partitions {
            self.stored.remove(partition);
        }
        info!(?partitions, "PostgreSQL partitions revoked after their batch was committed");
        Ok(commits)
    }

    fn take(&mut self, partition: i32, offset: i64, record: Record<'_>) -> Result<bool, PostgresError> {
        match record {
            Record::Order(order) => {
                self.rows.push((partition, order));
                let now = *self.first_row_at.get_or_insert_with(Instant::now);
                self.started.get_or_insert(now);
            }
            Record::Invalid { reason, message } => {
                self.dead.push(Rejected::message(partition, offset, reason, message));
                self.first_row_at.get_or_insert_with(Instant::now);
            }
        }
        self.next.insert(partition, offset + 1);
        Ok(true)
    }

    fn gap(&mut self, gap: &Gap) -> Result<(), PostgresError> {
        self.dead.push(Rejected::gap(gap));
        self.next.insert(gap.partition, gap.last_offset + 1);
        Ok(())
    }

    fn pending(&self) -> bool {
        !self.next.is_empty() || self.in_flight.is_some()
    }

    fn due(&mut self, moment: Moment) -> bool {
        self.rows.len() >= self.batch_rows
            || moment.stopping
            // A finished batch in flight: settle it (and send what was read meanwhile).
            || self.in_flight.as_ref().is_some_and(|f| f.writing.is_finished())
            || (moment.queue_empty && moment.producer_waits)
            || self.first_row_at.is_some_and(|t| t.elapsed() >= self.flush_interval)
    }

    /// Finishes the batch in flight (its commits are returned) and sends the one read
    /// since, which the next flush (or the revoke at the end) finishes.
    fn flush(&mut self) -> Result<Vec<Commit>, PostgresError> {
        let done = self.settle()?;
        if !self.next.is_empty() {
            self.send()?;
        }
        Ok(done)
    }

    fn poll_wait(&self) -> Duration {
        Duration::from_millis(5)
    }

    fn commit_interval(&self) -> Duration {
        // The table holds the progress; Kafka's commit is for lag tools.
        Duration::from_secs(1)
    }
}
