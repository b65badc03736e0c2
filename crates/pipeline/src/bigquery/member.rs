//! The BigQuery sink as the group driver runs it: batches of orders written as
//! idempotent statements, the Kafka offsets committed only after them.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::info;

use super::api::BigQueryClient;
use super::literals::Dead;
use super::write::{write, Target};
use super::{schema, BigQueryConfig, BigQueryError, BigQueryReport};
use crate::kafka::driver::{Assigned, Commit, GroupSink, Moment, Record, Resume};
use crate::kafka::gaps::Gap;
use crate::kafka::rejected::Rejected;
use crate::order::Order;
use crate::shutdown::Shutdown;
use crate::stats::Stats;

pub(super) struct BigQueryMember {
    client: BigQueryClient,
    project: String,
    dataset: String,
    table: String,
    topic: String,
    rows: Vec<Order>,
    first_row_at: Option<Instant>,
    dead: Vec<Rejected>,
    /// Next offset per partition once the batch is written.
    next: BTreeMap<i32, i64>,
    flush_interval: Duration,
    batch_rows: usize,
    retry_for: Duration,
    stats: Arc<Stats>,
    report: BigQueryReport,
    started: Option<Instant>,
}

impl BigQueryMember {
    /// Signs in and makes the dataset, tables and views that are missing.
    pub(super) fn connect(
        config: &BigQueryConfig,
        topic: &str,
        stats: Arc<Stats>,
        shutdown: Shutdown,
    ) -> Result<Self, BigQueryError> {
        let mut client = BigQueryClient::new(config, shutdown)?;
        schema::create(&mut client, &config.project, &config.dataset, &config.table)?;
        Ok(BigQueryMember {
            client,
            project: config.project.clone(),
            dataset: config.dataset.clone(),
            table: config.table.clone(),
            topic: topic.to_string(),
            rows: Vec::with_capacity(config.batch_rows.min(1 << 20)),
            first_row_at: None,
            dead: Vec::new(),
            next: BTreeMap::new(),
            flush_interval: config.flush_interval,
            batch_rows: config.batch_rows,
            retry_for: config.retry_for,
            stats,
            report: BigQueryReport::default(),
            started: None,
        })
    }

    /// `project.dataset.table`.
    pub(super) fn table_path(&self) -> String {
        format!("{}.{}.{}", self.project, self.dataset, self.table)
    }

    /// Who writes (for the log).
    pub(super) fn account(&self) -> String {
        self.client.account()
    }

    pub(super) fn report(&self) -> BigQueryReport {
        self.report.clone()
    }
}

impl GroupSink for BigQueryMember {
    type Error = BigQueryError;

    /// Partitions resume at the group's commit, which follows each written batch; rows
    /// written after the last commit are read again and skipped by their ids.
    fn assign(
        &mut self,
        _topic_id: Option<&str>,
        partitions: &[Assigned],
    ) -> Result<Vec<(i32, Resume)>, BigQueryError> {
        let starts: Vec<(i32, Resume)> =
            partitions.iter().map(|a| (a.partition, Resume::Committed)).collect();
        info!(partitions = ?partitions.iter().map(|a| (a.partition, a.committed)).collect::<Vec<_>>(),
            table = %self.table_path(), "BigQuery partitions assigned; resuming at the group's commits");
        Ok(starts)
    }

    fn revoke(&mut self, partitions: &[i32]) -> Result<Vec<Commit>, BigQueryError> {
        let commits = self.flush()?;
        info!(?partitions, "BigQuery partitions revoked after their batch was committed");
        Ok(commits)
    }

    fn take(&mut self, partition: i32, offset: i64, record: Record<'_>) -> Result<bool, BigQueryError> {
        match record {
            Record::Order(order) if i64::try_from(order.id).is_err() => {
                let reason = format!("id: {} is past the largest INT64 (9223372036854775807)", order.id);
                self.dead.push(Rejected::order(partition, offset, reason, &order));
                self.first_row_at.get_or_insert_with(Instant::now);
            }
            Record::Order(order) => {
                self.rows.push(order);
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

    fn gap(&mut self, gap: &Gap) -> Result<(), BigQueryError> {
        self.dead.push(Rejected::gap(gap));
        self.next.insert(gap.partition, gap.last_offset + 1);
        // Written with the next batch, even when no message follows it.
        self.first_row_at.get_or_insert_with(Instant::now);
        Ok(())
    }

    fn pending(&self) -> bool {
        !self.next.is_empty()
    }

    fn full(&self) -> bool {
        self.rows.len() >= self.batch_rows
    }

    fn due(&mut self, moment: Moment) -> bool {
        self.full()
            || moment.stopping
            || (moment.queue_empty && moment.producer_waits)
            || self
                .first_row_at
                .is_some_and(|t| moment.now.saturating_duration_since(t) >= self.flush_interval)
    }

    /// Writes the batch (dead letters, then orders); its offsets go to Kafka after.
    fn flush(&mut self) -> Result<Vec<Commit>, BigQueryError> {
        if self.next.is_empty() {
            return Ok(Vec::new());
        }
        // The same order twice in one batch goes in once (a statement's id check sees
        // only rows committed before it).
        let mut seen = HashSet::with_capacity(self.rows.len());
        let rows: Vec<&Order> = self.rows.iter().filter(|order| seen.insert(order.id)).collect();
        let dead: Vec<Dead<'_>> = self
            .dead
            .iter()
            .map(|d| (d.partition, d.offset, d.reason.as_str(), d.payload.as_deref()))
            .collect();
        let target = Target { dataset: &self.dataset, table: &self.table, topic: &self.topic };
        let written = write(&mut self.client, &target, &rows, &dead, self.retry_for)?;
        let sent = self.rows.len() as u64;
        let dead = self.dead.len() as u64;
        if written.inserted < sent {
            info!(skipped = sent - written.inserted, "orders whose id the table had already (written before a crash or a rebalance, or twice in the topic) were not inserted again");
        }
        self.report.rows += written.inserted;
        self.report.duplicate_ids += sent - written.inserted;
        self.report.dead_letters += dead;
        self.report.jobs += written.jobs;
        self.report.encoding += written.encoding;
        Stats::add(&self.stats.bigquery_written, written.inserted);
        Stats::add(&self.stats.dead_lettered, dead);
        if let Some(started) = self.started {
            self.report.busy = started.elapsed();
        }
        self.rows.clear();
        self.dead.clear();
        self.first_row_at = None;
        let table = self.table_path();
        Ok(std::mem::take(&mut self.next)
            .into_iter()
            .map(|(partition, next)| Commit { partition, next, metadata: format!("bigquery:{table}") })
            .collect())
    }

    fn poll_wait(&self) -> Duration {
        Duration::from_millis(5)
    }

    fn commit_interval(&self) -> Duration {
        // The commit is where a restart resumes: soon after each batch.
        Duration::from_millis(200)
    }
}
