//! The Kafka side of the Sheets sink: a member of its own consumer group that sends
//! batches to the sheet and commits offsets only once the sheet has them (with, in rows
//! mode, where they went as the commit's metadata).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::Message;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tracing::{debug, error, info, warn};

use super::aggregates::AggregateWriter;
use super::api::{SheetsClient, SheetsError};
use super::raw::{Flushed, Mark, RawWriter};
use super::{SheetsConfig, SheetsMode};
use crate::kafka::consumer::caught_up;
use crate::kafka::flow::SinkSlot;
use crate::kafka::gaps::{self, GapDetector};
use crate::kafka::group_member_config;
use crate::kafka::link::RunLink;
use crate::order::{check_event_time, decode_json, Order};
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// Where the Sheets sink reads from.
#[derive(Debug, Clone)]
pub struct SheetsSource {
    /// Bootstrap servers.
    pub brokers: String,
    /// The orders topic.
    pub topic: String,
    /// Exit after this long without a message and with nothing left to send.
    pub idle_exit: Option<Duration>,
    /// How long the group waits for a silent member.
    pub session_timeout: Duration,
    /// Orders further ahead of the clock are skipped (the CSV sink dead-letters them).
    pub max_future: Duration,
}

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

enum Event {
    Assigned(Vec<i32>),
    Revoked(Vec<i32>),
}

struct SheetsContext {
    topic: String,
    events: Mutex<Vec<Event>>,
}

impl SheetsContext {
    fn partitions(&self, tpl: &TopicPartitionList) -> Vec<i32> {
        tpl.elements_for_topic(&self.topic).iter().map(|e| e.partition()).collect()
    }
}

impl ClientContext for SheetsContext {}

impl ConsumerContext for SheetsContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            self.events.lock().unwrap_or_else(|p| p.into_inner()).push(Event::Revoked(self.partitions(tpl)));
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            self.events.lock().unwrap_or_else(|p| p.into_inner()).push(Event::Assigned(self.partitions(tpl)));
        }
    }
}

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
    source: &SheetsSource,
    stats: &Arc<Stats>,
    shutdown: &Shutdown,
    link: Option<&RunLink>,
    flow: Option<SinkSlot>,
) -> anyhow::Result<SheetsReport> {
    let mut client = SheetsClient::new(config, stats.clone())?;
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
    let result = sheets_loop(config, source, stats, shutdown, link, flow, &mut client);
    aborted.request();
    let _ = watchdog.join();
    result
}

fn sheets_loop(
    config: &SheetsConfig,
    source: &SheetsSource,
    stats: &Arc<Stats>,
    shutdown: &Shutdown,
    link: Option<&RunLink>,
    flow: Option<SinkSlot>,
    client: &mut SheetsClient,
) -> anyhow::Result<SheetsReport> {
    client.sign_in()?;
    let mut writer = match config.mode {
        SheetsMode::Rows => Writer::Rows(RawWriter::open(client, config)?),
        SheetsMode::Aggregates => Writer::Aggregates(AggregateWriter::open(client, config)?),
    };
    let spreadsheet = writer.spreadsheet().to_string();
    let context = SheetsContext { topic: source.topic.clone(), events: Mutex::new(Vec::new()) };
    let consumer: BaseConsumer<SheetsContext> =
        group_member_config(&source.brokers, "sheets", &config.group, source.session_timeout)
            // Google may keep a batch waiting for minutes (quota, backoff): that is not a
            // dead member.
            .set("max.poll.interval.ms", "3600000")
            .create_with_context(context)?;
    consumer.subscribe(&[&source.topic])?;
    info!(topic = %source.topic, group = %config.group, spreadsheet, mode = ?config.mode,
        "Sheets sink consuming; orders go to https://docs.google.com/spreadsheets/d/{spreadsheet}");

    let mut run = Loop {
        consumer: &consumer,
        topic: &source.topic,
        stats,
        config,
        report: SheetsReport { spreadsheet, ..Default::default() },
        in_sheet: BTreeMap::new(),
        assigned: Default::default(),
        last_message: Instant::now(),
        flow,
        gaps: GapDetector::default(),
    };
    let result = run.until_done(client, &mut writer, source, shutdown, link);
    let report = run.report;
    crate::kafka::consumer::close(&consumer);
    // As for the CSV consumer: dropping would run librdkafka's unbounded close again.
    std::mem::forget(consumer);
    result?;
    info!(orders = report.orders, requests = report.requests, spreadsheet = %report.spreadsheet, "Sheets sink finished");
    Ok(report)
}

struct Loop<'a> {
    consumer: &'a BaseConsumer<SheetsContext>,
    topic: &'a str,
    stats: &'a Arc<Stats>,
    config: &'a SheetsConfig,
    report: SheetsReport,
    /// Next offset per partition that the sheet holds.
    in_sheet: BTreeMap<i32, i64>,
    /// Partitions held now.
    assigned: std::collections::BTreeSet<i32>,
    last_message: Instant,
    /// The producer's flow window (embedded broker): told what the sheet holds.
    flow: Option<SinkSlot>,
    /// Finds records deleted before this sink read them.
    gaps: GapDetector,
}

impl Loop<'_> {
    fn until_done(
        &mut self,
        client: &mut SheetsClient,
        writer: &mut Writer,
        source: &SheetsSource,
        shutdown: &Shutdown,
        link: Option<&RunLink>,
    ) -> Result<(), SheetsError> {
        loop {
            let message = self.consumer.poll(if writer.oldest().is_some() {
                Duration::from_millis(5)
            } else {
                Duration::from_millis(100)
            });
            self.handle_events(client, writer)?;
            let mut full = false;
            let polled_nothing = message.is_none();
            match message {
                None => {}
                Some(Err(e)) => {
                    if let Some(reason) = crate::kafka::refusal(&e) {
                        return Err(SheetsError::Kafka(reason));
                    }
                    debug!(error = %e, "consumer error (retrying)")
                }
                Some(Ok(m)) => {
                    self.last_message = Instant::now();
                    let (partition, offset) = (m.partition(), m.offset());
                    if let Some(range) = self.gaps.observe(partition, offset) {
                        let gap =
                            gaps::report(self.consumer, self.stats, "sheets", self.topic, partition, range);
                        self.report.lost += gap.missing;
                        if let Some(flow) = &self.flow {
                            flow.durable([(partition, range.1 + 1)]);
                        }
                    }
                    let now = crate::clock::now_micros();
                    let max_future = source.max_future;
                    match m.payload().map(|p| {
                        decode_json(p).and_then(|o| check_event_time(&o, now, max_future).map(|()| o))
                    }) {
                        Some(Ok(order)) => full = writer.push(partition, offset, &order, self.stats),
                        // The CSV sink dead-letters it; the sheet only has orders.
                        _ => writer.skip(partition, offset),
                    }
                }
            }
            let stopping = shutdown.requested();
            let oldest = writer.oldest();
            let due = oldest.is_some_and(|t| {
                // Caught up with a producer that has finished, or that waits for us.
                let producer_waits = link.and_then(RunLink::flow).is_some_and(|f| f.producer_waiting());
                let caught_up = polled_nothing && (link.is_some_and(RunLink::is_set) || producer_waits);
                full || stopping
                    || caught_up
                    || (t.elapsed() >= self.config.flush_interval
                        && client.write_ready_at() <= Instant::now())
            });
            if due {
                self.flush(client, writer)?;
            }
            if stopping {
                info!("shutdown requested; the Sheets sink stops");
                return Ok(());
            }
            if oldest.is_none() || due {
                if link.is_some_and(|l| l.reached(&self.in_sheet)) {
                    info!("every produced order is in the sheet");
                    return Ok(());
                }
                // Idle time counts from the last message or assignment: a slow group join
                // is not idleness.
                let assigned = !self.assigned.is_empty();
                if assigned && source.idle_exit.is_some_and(|idle| self.last_message.elapsed() >= idle) {
                    if caught_up(self.consumer, self.topic, &self.gaps) {
                        info!("no new message and every assigned partition read to its end; the Sheets sink exits");
                        return Ok(());
                    }
                    // Not at the end (a broker away, a fetch stalled): wait another round.
                    self.last_message = Instant::now();
                }
            }
        }
    }

    fn handle_events(&mut self, client: &mut SheetsClient, writer: &mut Writer) -> Result<(), SheetsError> {
        let events =
            std::mem::take(&mut *self.consumer.context().events.lock().unwrap_or_else(|p| p.into_inner()));
        for event in events {
            match event {
                Event::Revoked(partitions) => {
                    match writer {
                        Writer::Rows(w) => w.revoke(&partitions),
                        // Their orders are in the totals already: write them out now.
                        Writer::Aggregates(_) => self.flush(client, writer)?,
                    }
                    for p in &partitions {
                        self.in_sheet.remove(p);
                        self.assigned.remove(p);
                        self.gaps.revoked(*p);
                    }
                    info!(?partitions, "Sheets partitions revoked; their waiting rows go to the next owner");
                }
                Event::Assigned(partitions) => {
                    self.last_message = Instant::now();
                    self.assigned.extend(partitions.iter().copied());
                    let committed = self.committed(&partitions);
                    for p in &partitions {
                        let stored = committed
                            .as_ref()
                            .and_then(|c| c.find_partition(self.topic, *p))
                            .and_then(|e| match e.offset() {
                                Offset::Offset(o) => Some(o),
                                _ => None,
                            });
                        self.gaps.assigned(*p, stored);
                    }
                    match writer {
                        Writer::Rows(w) => {
                            let marks: Vec<Mark> = committed
                                .iter()
                                .flat_map(|c| c.elements())
                                .filter_map(|e| Mark::decode(e.metadata()))
                                .collect();
                            w.recover(client, &marks)?;
                        }
                        // The progress tab's offsets filter any partition's orders.
                        Writer::Aggregates(_) => {}
                    }
                    info!(?partitions, "Sheets partitions assigned");
                }
            }
        }
        Ok(())
    }

    /// The partitions' last commits (offsets, and marks in their metadata).
    fn committed(&self, partitions: &[i32]) -> Option<TopicPartitionList> {
        let mut tpl = TopicPartitionList::new();
        for p in partitions {
            tpl.add_partition(self.topic, *p);
        }
        self.consumer
            .committed_offsets(tpl, Duration::from_secs(10))
            .inspect_err(|e| warn!(error = %e, "cannot read the committed offsets; rows appended before a crash may be appended again"))
            .ok()
    }

    fn flush(&mut self, client: &mut SheetsClient, writer: &mut Writer) -> Result<(), SheetsError> {
        let before = Stats::get(&self.stats.sheets_write_requests);
        let flushed = writer.flush(client, self.stats)?;
        self.report.requests += Stats::get(&self.stats.sheets_write_requests) - before;
        self.report.orders += flushed.rows;
        self.commit(&flushed);
        self.in_sheet.extend(flushed.offsets.iter().map(|(p, o)| (*p, *o)));
        if let Some(flow) = &self.flow {
            flow.durable(flushed.offsets.iter().map(|(p, o)| (*p, *o)));
        }
        // Time spent waiting for Google is not idleness: the topic may have more.
        self.last_message = Instant::now();
        if flushed.rows > 0 {
            debug!(rows = flushed.rows, mark = ?flushed.mark, in_window = client.writes_in_window(), "batch in the sheet");
        }
        Ok(())
    }

    /// Commits what the sheet now holds, with its mark, synchronously: the commit is the
    /// Sheets sink's progress.
    fn commit(&self, flushed: &Flushed) {
        if flushed.offsets.is_empty() {
            return;
        }
        let metadata = flushed.mark.as_ref().map(Mark::encode).unwrap_or_default();
        let mut tpl = TopicPartitionList::new();
        for (&partition, &next) in &flushed.offsets {
            let mut element = tpl.add_partition(self.topic, partition);
            if let Err(e) = element.set_offset(Offset::Offset(next)) {
                warn!(partition, error = %e, "cannot build the commit");
            }
            element.set_metadata(metadata.clone());
        }
        if let Err(e) = self.consumer.commit(&tpl, CommitMode::Sync) {
            // The rows are in the sheet; a takeover finds them there through the last mark.
            error!(error = %e, "committing the Sheets offsets failed");
        }
    }
}
