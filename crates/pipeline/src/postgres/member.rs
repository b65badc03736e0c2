//! The PostgreSQL sink as the group driver runs it: batches of orders, each written in
//! one transaction per connection with its partitions' next offsets, one batch written
//! while the next is read.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::Client;
use tracing::{debug, info, warn};

use super::connect::{permanent, reason, Endpoint};
use super::write::{write_with_retry, Part, Target, Written};
use super::{PostgresConfig, PostgresError, PostgresReport};
use crate::kafka::driver::{Assigned, Commit, GroupSink, Moment, Record, Resume};
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
    /// A batch failed for good: nothing more is written (the offsets the member holds
    /// are no longer the table's), and the sink stops.
    broken: bool,
}

impl PostgresMember {
    /// Connects (retrying for `retry_for`) and makes the tables.
    pub(super) fn connect(
        config: &PostgresConfig,
        topic: &str,
        stats: Arc<Stats>,
        shutdown: Shutdown,
    ) -> Result<Self, PostgresError> {
        let endpoint = Endpoint::new(config, shutdown)?;
        let server = endpoint.server.clone();
        info!(server = %server, table = %config.table, "connecting to PostgreSQL and checking the tables");
        let clients = (0..config.connections.max(1))
            .map(|_| endpoint.open(config.retry_for))
            .collect::<Result<Vec<_>, _>>()?;
        let writer = Writer { clients, endpoint, topic: topic.to_string(), retry_for: config.retry_for };
        Ok(PostgresMember {
            server,
            writer: Some(writer),
            in_flight: None,
            table: config.table.clone(),
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
            broken: false,
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
        let totals = result.inspect_err(|_| self.broken = true)?;
        if totals.duplicates > 0 {
            warn!(duplicates = totals.duplicates, "orders whose id the table had already (the same order twice in the topic) were not inserted again");
        }
        self.report.rows += totals.rows;
        self.report.duplicate_ids += totals.duplicates;
        self.report.dead_letters += totals.dead;
        Stats::add(&self.stats.postgres_written, totals.rows);
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
    endpoint: Endpoint,
    topic: String,
    retry_for: Duration,
}

impl Writer {
    /// The table's next offset and topic identity for each of `partitions` that has a
    /// row, reconnecting (as a batch write does) while the server is away.
    fn stored_offsets(
        &mut self,
        partitions: &[i32],
    ) -> Result<BTreeMap<i32, (i64, Option<String>)>, PostgresError> {
        let started = Instant::now();
        loop {
            let read = self.clients[0].query(
                "SELECT partition, next_offset, topic_id FROM orderstream_offsets
                 WHERE target = $1 AND topic = $2 AND partition = ANY($3)",
                &[&self.endpoint.resolved().key, &self.topic, &partitions],
            );
            let error = match read {
                Ok(rows) => {
                    return Ok(rows.iter().map(|row| (row.get(0), (row.get(1), row.get(2)))).collect())
                }
                Err(error) => error,
            };
            let why = reason(&error);
            let endpoint = &self.endpoint;
            if permanent(&error) || started.elapsed() >= self.retry_for || endpoint.shutdown.requested() {
                return Err(PostgresError::Unavailable { url: endpoint.server.clone(), reason: why });
            }
            warn!(server = %endpoint.server, error = %why, "reading the table's offsets failed; reconnecting and trying again");
            let left = self.retry_for.saturating_sub(started.elapsed());
            self.clients[0] = endpoint.open(left)?;
        }
    }

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
        let target = Target {
            table: self.endpoint.resolved(),
            topic: &self.topic,
            topic_id: batch.topic_id.as_deref(),
        };
        let (endpoint, retry_for) = (&self.endpoint, self.retry_for);
        let server = &self.endpoint.server;
        let results: Vec<Result<Written, PostgresError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .clients
                .iter_mut()
                .zip(&parts)
                .filter(|(_, part)| !part.offsets.is_empty())
                .map(|(client, part)| {
                    scope.spawn(|| write_with_retry(client, endpoint, retry_for, &target, part))
                })
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

/// Whether offsets recorded under topic identity `was` hold for the topic read now as
/// `now`. An embedded broker's topic is new every run: offsets of any other identity,
/// or of none, are an older topic's. Offsets recorded with no id (a cluster that tracks
/// none) hold for a cluster's topic.
fn same_topic(was: Option<&str>, now: Option<&str>) -> bool {
    let embedded = |id: &str| id.starts_with(crate::kafka::EMBEDDED_SOURCE_PREFIX);
    match (was, now) {
        (Some(was), Some(now)) => was == now,
        (None, Some(now)) => !embedded(now),
        (Some(was), None) => !embedded(was),
        (None, None) => true,
    }
}

impl GroupSink for PostgresMember {
    type Error = PostgresError;

    /// Partitions resume where the table's offsets say, if they were written for this
    /// topic; with no row yet (a new table) or offsets of another topic of this name, at
    /// the start of the partition, never at another sink's commit.
    fn assign(
        &mut self,
        topic_id: Option<&str>,
        partitions: &[Assigned],
    ) -> Result<Vec<(i32, Resume)>, PostgresError> {
        // The connections are needed here; a batch in flight is finished first.
        self.settle()?;
        self.topic_id = topic_id.map(str::to_string);
        let numbers: Vec<i32> = partitions.iter().map(|a| a.partition).collect();
        let rows = self.writer.as_mut().expect("settled above").stored_offsets(&numbers)?;
        let mut starts = Vec::with_capacity(partitions.len());
        for partition in numbers {
            let stored = rows.get(&partition).cloned();
            let start = match &stored {
                Some((next, was)) if same_topic(was.as_deref(), topic_id) => Resume::At(*next),
                Some((next, was)) => {
                    warn!(partition, was = was.as_deref().unwrap_or("none"), now = topic_id.unwrap_or("none"), retired_offset = next,
                        "the table's offsets belong to another topic of this name (deleted and made again, or an earlier run's embedded broker); reading this one from its start");
                    Resume::Earliest
                }
                None => Resume::Earliest,
            };
            self.stored.insert(partition, stored.map(|(next, _)| next));
            starts.push((partition, start));
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
        if self.broken {
            info!(
                ?partitions,
                "PostgreSQL partitions revoked; what was not written is read again by their next owner"
            );
        } else {
            info!(?partitions, "PostgreSQL partitions revoked after their last batch was committed");
        }
        Ok(commits)
    }

    fn take(&mut self, partition: i32, offset: i64, record: Record<'_>) -> Result<bool, PostgresError> {
        match record {
            Record::Order(order) if i64::try_from(order.id).is_err() => {
                let reason = format!("id: {} is past the largest bigint (9223372036854775807)", order.id);
                self.dead.push(Rejected::order(partition, offset, reason, &order));
                self.first_row_at.get_or_insert_with(Instant::now);
            }
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
        // Written with the next batch, even when no message follows it.
        self.first_row_at.get_or_insert_with(Instant::now);
        Ok(())
    }

    fn pending(&self) -> bool {
        !self.next.is_empty() || self.in_flight.is_some()
    }

    fn full(&self) -> bool {
        self.rows.len() >= self.batch_rows
    }

    fn due(&mut self, moment: Moment) -> bool {
        self.full()
            || moment.stopping
            // A finished batch in flight: settle it (and send what was read meanwhile).
            || self.in_flight.as_ref().is_some_and(|f| f.writing.is_finished())
            || (moment.queue_empty && moment.producer_waits)
            || self.first_row_at.is_some_and(|t| moment.now.saturating_duration_since(t) >= self.flush_interval)
    }

    /// Finishes the batch in flight (its commits are returned) and sends the one read
    /// since, which the next flush (or the revoke at the end) finishes.
    fn flush(&mut self) -> Result<Vec<Commit>, PostgresError> {
        if self.broken {
            return Ok(Vec::new());
        }
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
