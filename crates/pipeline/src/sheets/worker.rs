//! The Kafka side of the Sheets sink: a member of its own consumer group that sends
//! batches to the sheet and commits offsets only once the sheet has them (with, in rows
//! mode, where they went as the commit's metadata).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{debug, info};

use super::aggregates::AggregateWriter;
use super::api::{SheetsClient, SheetsError};
use super::raw::{Flushed, Mark, RawWriter};
use super::{SheetsConfig, SheetsMode};
use crate::kafka::driver::{Assigned, Commit, GroupSink, Moment, Record, Resume};
use crate::kafka::flow::SinkSlot;
use crate::kafka::gaps::Gap;
use crate::kafka::link::RunLink;
use crate::kafka::source::{GroupSource, SinkRun};
use crate::order::Order;
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// What a Sheets run did.
#[derive(Debug, Clone, Default)]
pub struct SheetsReport {
    /// The spreadsheet written.
    pub spreadsheet: String,
    /// Orders sent to the sheet.
    pub orders: u64,
    /// Write requests sent.
    pub requests: u64,
    /// Records that were gone from the topic before the sink read them.
    pub lost: u64,
}

/// How long the last batch may take to send once the process is asked to stop.
const FINAL_FLUSH_LIMIT: Duration = Duration::from_secs(30);

enum Writer {
    Rows(RawWriter),
    Aggregates(AggregateWriter),
}

impl Writer {
    fn spreadsheet(&self) -> &str {
        match self {
            Writer::Rows(w) => w.spreadsheet(),
            Writer::Aggregates(w) => w.spreadsheet(),
        }
    }

    fn oldest(&self) -> Option<Instant> {
        match self {
            Writer::Rows(w) => w.oldest(),
            Writer::Aggregates(w) => w.oldest(),
        }
    }

    /// Takes an order; true when the batch is full.
    fn push(&mut self, partition: i32, offset: i64, order: &Order, stats: &Stats) -> bool {
        match self {
            Writer::Rows(w) => w.push(partition, offset, order, stats),
            Writer::Aggregates(w) => w.push(partition, offset, order),
        }
    }

    fn skip(&mut self, partition: i32, offset: i64) {
        match self {
            Writer::Rows(w) => w.skip(partition, offset),
            Writer::Aggregates(w) => w.skip(partition, offset),
        }
    }

    fn flush(&mut self, client: &mut SheetsClient, stats: &Stats) -> Result<Flushed, SheetsError> {
        match self {
            Writer::Rows(w) => w.flush(client, stats),
            Writer::Aggregates(w) => w.flush(client, stats),
        }
    }
}

/// Consumes the topic into the sheet until shutdown, idle exit or the [`RunLink`]'s stop.
/// Errors that need the user (key, sharing, a full workbook) end it; Google being slow
/// or down only delays it. `flow` is this sink's place in the producer's flow window
/// (registered by the caller before the producer starts).
pub fn run_sheets(
    config: &SheetsConfig,
    source: &GroupSource,
    stats: &Arc<Stats>,
    shutdown: &Shutdown,
    link: Option<&RunLink>,
    flow: Option<SinkSlot>,
) -> anyhow::Result<SheetsReport> {
    let client = SheetsClient::new(config, stats.clone())?;
    let aborted = client.abort.clone();
    // A stop asked while Google is being waited for: give the wait a time limit.
    let watchdog = {
        let (shutdown, aborted) = (shutdown.clone(), aborted.clone());
        std::thread::Builder::new().name("sheets-watchdog".into()).spawn(move || {
            while !shutdown.requested() && !aborted.requested() {
                std::thread::sleep(Duration::from_millis(100));
            }
            if aborted.sleep_until(Instant::now() + FINAL_FLUSH_LIMIT) {
                aborted.request();
            }
        })?
    };
    let result = sheets_loop(config, source, stats, shutdown, link, flow, client);
    aborted.request();
    let _ = watchdog.join();
    result
}

fn sheets_loop(
    config: &SheetsConfig,
    source: &GroupSource,
    stats: &Arc<Stats>,
    shutdown: &Shutdown,
    link: Option<&RunLink>,
    flow: Option<SinkSlot>,
    mut client: SheetsClient,
) -> anyhow::Result<SheetsReport> {
    client.sign_in()?;
    let writer = match config.mode {
        SheetsMode::Rows => Writer::Rows(RawWriter::open(&mut client, config)?),
        SheetsMode::Aggregates => Writer::Aggregates(AggregateWriter::open(&mut client, config)?),
    };
    let spreadsheet = writer.spreadsheet().to_string();
    info!(topic = %source.topic, group = %config.group, spreadsheet, mode = ?config.mode,
        "Sheets sink consuming; orders go to https://docs.google.com/spreadsheets/d/{spreadsheet}");
    let member = SheetsMember {
        client,
        writer,
        stats: stats.clone(),
        flush_interval: config.flush_interval,
        full: false,
        report: SheetsReport { spreadsheet, ..Default::default() },
    };
    // Google may keep a batch waiting for minutes (quota, backoff): that is not a
    // dead member.
    let run = SinkRun { name: "sheets", group: &config.group, topic_ids: false, link: link.cloned(), flow };
    let (member_report, member) = source.run(run, member, stats, shutdown)?;
    let report = SheetsReport { lost: member_report.lost, ..member.report };
    info!(orders = report.orders, requests = report.requests, spreadsheet = %report.spreadsheet, "Sheets sink finished");
    Ok(report)
}

/// The Sheets sink as the group driver runs it.
struct SheetsMember {
    client: SheetsClient,
    writer: Writer,
    stats: Arc<Stats>,
    flush_interval: Duration,
    /// The batch reached its size limit.
    full: bool,
    report: SheetsReport,
}

impl GroupSink for SheetsMember {
    type Error = SheetsError;

    /// The Sheets sink resumes at the group's commit, which Kafka drops with a deleted
    /// topic: the topic id adds nothing.
    fn assign(
        &mut self,
        _topic_id: Option<&str>,
        partitions: &[Assigned],
    ) -> Result<Vec<(i32, Resume)>, SheetsError> {
        if let Writer::Rows(w) = &mut self.writer {
            // Rows of a crashed or stopped owner may be in the sheet past its commit:
            // the commits' marks say where to look.
            let marks: Vec<Mark> = partitions.iter().filter_map(|a| Mark::decode(&a.metadata)).collect();
            w.recover(&mut self.client, &marks)?;
        }
        // The aggregates' progress tab filters any partition's orders; both modes resume
        // at the group's commit.
        info!(partitions = ?partitions.iter().map(|a| a.partition).collect::<Vec<_>>(), "Sheets partitions assigned");
        Ok(partitions.iter().map(|a| (a.partition, Resume::Committed)).collect())
    }

    fn revoke(&mut self, partitions: &[i32]) -> Result<Vec<Commit>, SheetsError> {
        match &mut self.writer {
            Writer::Rows(w) => {
                w.revoke(partitions);
                // The revoked rows are gone from the batch: it may take more again.
                self.full = w.full();
                info!(?partitions, "Sheets partitions revoked; their waiting rows go to the next owner");
                Ok(Vec::new())
            }
            // Their orders are in the totals already: write them out now.
            Writer::Aggregates(_) => self.flush(),
        }
    }

    fn take(&mut self, partition: i32, offset: i64, record: Record<'_>) -> Result<bool, SheetsError> {
        match record {
            Record::Order(order) => self.full |= self.writer.push(partition, offset, &order, &self.stats),
            // The CSV sink dead-letters it; the sheet only has orders.
            Record::Invalid { .. } => self.writer.skip(partition, offset),
        }
        Ok(true)
    }

    fn gap(&mut self, _: &Gap) -> Result<(), SheetsError> {
        // Logged and counted by the driver; the sheet has no place for it.
        Ok(())
    }

    fn pending(&self) -> bool {
        self.writer.oldest().is_some()
    }

    fn full(&self) -> bool {
        self.full
    }

    fn due(&mut self, moment: Moment) -> bool {
        self.full
            || moment.stopping
            // Caught up with a producer that has finished, or that waits for us.
            || (moment.queue_empty && moment.producer_waits)
            || (self.writer.oldest().is_some_and(|t| moment.now.saturating_duration_since(t) >= self.flush_interval)
                && self.client.write_ready_at() <= Instant::now())
    }

    fn flush(&mut self) -> Result<Vec<Commit>, SheetsError> {
        let before = Stats::get(&self.stats.sheets_write_requests);
        let flushed = self.writer.flush(&mut self.client, &self.stats)?;
        self.full = false;
        self.report.requests += Stats::get(&self.stats.sheets_write_requests) - before;
        self.report.orders += flushed.rows;
        if flushed.rows > 0 {
            debug!(rows = flushed.rows, mark = ?flushed.mark, in_window = self.client.writes_in_window(), "batch in the sheet");
        }
        let metadata = flushed.mark.as_ref().map(Mark::encode).unwrap_or_default();
        Ok(flushed
            .offsets
            .iter()
            .map(|(&partition, &next)| Commit { partition, next, metadata: metadata.clone() })
            .collect())
    }

    fn poll_wait(&self) -> Duration {
        Duration::from_millis(5)
    }

    fn commit_interval(&self) -> Duration {
        // The commit is the Sheets sink's progress: each batch, synchronously.
        Duration::ZERO
    }
}
