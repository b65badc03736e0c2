//! `orderstream run`: generator, producer, Kafka and the CSV sink in one process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use tracing::{info, warn};

use super::DataMissing;
use crate::cli::{RunArgs, SecurityArgs};
use crate::kafka::admin::ensure_topic;
use crate::kafka::consumer::{consume, ConsumeReport, ConsumerConfig};
use crate::kafka::embedded::EmbeddedKafka;
use crate::kafka::link::RunLink;
use crate::kafka::observer::PipelineObserver;
use crate::kafka::producer::{produce, ProduceReport, ProducerConfig};
use crate::kafka::source::GroupSource;
use crate::kafka::Cluster;
use crate::progress::ProgressReporter;
use crate::sheets::SheetsReport;
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// Runs the whole pipeline. With `--count`, returns once every order is durable; else
/// on Ctrl-C, after the orders already produced are written too.
pub fn execute(args: &RunArgs, progress: Duration) -> anyhow::Result<()> {
    let shutdown = Shutdown::on_signals().context("installing signal handlers")?;
    let topic = args.topic.topic.clone();
    let orders = args.generator.source()?;
    let catalogue = orders.generator.model.catalogue();
    let format = args.topic.format.format(&shutdown)?;
    let (postgres, bigquery) =
        (args.postgres.config(&args.group.group)?, args.bigquery.config(&args.group.group)?);
    // An embedded broker lives until the end of this function.
    let (embedded, brokers, source) = start_broker(args)?;

    let started = Instant::now();
    let stats = Stats::new();
    shutdown.report_on_exit(&stats);
    let reporter = ProgressReporter::start(stats.clone(), progress);
    let http = super::start_http(&args.http, catalogue, &stats, Some(args.sink.csv_dir.as_path()))?;
    let consumer_config = ConsumerConfig {
        source,
        live: http.as_ref().map(|(state, _)| state.clone() as Arc<dyn PipelineObserver>),
        ..super::csv_consumer(&brokers, &args.topic, &args.group, &args.sink, catalogue, &format)
    };
    // The embedded broker drops what it cannot keep: hold the producer to the sinks.
    let link = if embedded.is_some() { RunLink::with_flow_window() } else { RunLink::default() };
    // The consumer is not stopped by the signal directly: it first drains what the
    // producer delivered (an embedded broker's data would die with the process).
    let abort_consumer = Shutdown::new();
    let consumer = {
        let (stats, link, abort, shutdown) =
            (stats.clone(), link.member("csv"), abort_consumer.clone(), shutdown.clone());
        std::thread::Builder::new().name("consumer".into()).spawn(move || {
            let result = consume(&consumer_config, &stats, &abort, Some(&link));
            if result.is_err() {
                shutdown.request();
            }
            result
        })?
    };
    // The sinks with groups of their own stop with the consumer, once every produced
    // order is in them.
    let side_source = GroupSource {
        embedded_run: embedded.as_ref().map(|kafka| kafka.source().to_string()),
        ..super::group_source(
            &brokers,
            &args.topic,
            None,
            (args.sink.session_timeout, &args.group),
            catalogue,
            &format,
        )
    };
    let sheets = super::start_sheets(
        args.sheets.config(&args.group.group),
        side_source.clone(),
        &stats,
        &abort_consumer,
        Some(link.clone()),
    )?;
    let postgres =
        super::start_postgres(postgres, side_source.clone(), (&stats, &abort_consumer), Some(link.clone()))?;
    let bigquery =
        super::start_bigquery(bigquery, side_source, (&stats, &abort_consumer), Some(link.clone()))?;
    super::show_side_sinks(http.as_ref(), [sheets.is_some(), postgres.is_some(), bigquery.is_some()]);
    let producer_config = ProducerConfig {
        brokers,
        topic: topic.clone(),
        source: orders,
        connect_timeout: args.topic.connect_timeout,
        flow: link.flow().cloned(),
        delivery_timeout: args.producer.delivery_timeout,
        format,
    };
    wait_for_the_group(&link, &shutdown, &consumer);
    let produced = produce(&producer_config, &stats, &shutdown);
    match &produced {
        Ok(report) => {
            info!(
                orders = report.delivered,
                sheets = sheets.is_some(),
                postgres = postgres.is_some(),
                bigquery = bigquery.is_some(),
                "waiting until every delivered order is durable in the CSV files (and in the other sinks)"
            );
            link.stop_at(report.last_offsets.clone());
        }
        Err(_) => abort_consumer.request(),
    }
    let consumed = consumer.join().map_err(|_| anyhow!("the consumer thread panicked"))?;
    if consumed.is_err() {
        abort_consumer.request();
    }
    let in_sheet = super::join_sheets(sheets);
    let in_table = super::join_side_sink(postgres, "PostgreSQL sink");
    let in_warehouse = super::join_side_sink(bigquery, "BigQuery sink");
    drop(reporter);
    let consumed = consumed.context("consumer")?;
    let produced = produced.context("producer")?;
    let embedded_run = embedded.is_some();
    drop(embedded);
    if produced.failed > 0 {
        bail!(
            "{} of {} orders could not be delivered (see the errors above)",
            produced.failed,
            produced.produced
        );
    }
    let (in_sheet, in_table, in_warehouse) = (in_sheet?, in_table?, in_warehouse?);
    let lost = consumed.lost
        + in_sheet.as_ref().map_or(0, |r| r.lost)
        + in_table.as_ref().map_or(0, |r| r.lost)
        + in_warehouse.as_ref().map_or(0, |r| r.lost);
    log_finished(args, started, &produced, &consumed, in_sheet.as_ref());
    // Orders only: dead letters stay in each sink's own dead-letter place. An id the
    // table had already is in it.
    let sinks: Vec<(&str, u64)> = [
        in_sheet.as_ref().map(|r| ("the sheet", r.orders)),
        in_table.as_ref().map(|r| ("the PostgreSQL table", r.rows + r.duplicate_ids)),
        in_warehouse.as_ref().map(|r| ("the BigQuery table", r.rows + r.duplicate_ids)),
    ]
    .into_iter()
    .flatten()
    .collect();
    check_complete(&produced, &consumed, &sinks, lost, embedded_run)?;
    if let Some((_, server)) = http.as_ref().filter(|_| !shutdown.requested()) {
        // The orders are all in; keep the API up for the user until Ctrl-C.
        info!(url = %format!("http://{}/", server.local_addr()), "still serving the HTTP API; Ctrl-C to stop");
        while shutdown.sleep_until(Instant::now() + Duration::from_secs(3600)) {}
    }
    Ok(())
}

/// The broker of the run: the cluster of `--brokers` (with the topic made if missing),
/// or an embedded one with a source name of its own for the checkpoints.
fn start_broker(args: &RunArgs) -> anyhow::Result<(Option<EmbeddedKafka>, Cluster, Option<String>)> {
    let topic = &args.topic.topic;
    Ok(match &args.brokers {
        Some(brokers) => {
            let cluster = args.security.cluster(brokers)?;
            ensure_topic(
                &cluster,
                topic,
                args.producer.partitions,
                args.producer.replication_factor,
                args.topic.connect_timeout,
            )?;
            (None, cluster, None)
        }
        None => {
            if args.security != SecurityArgs::default() {
                anyhow::bail!("the Kafka security settings and --kafka-option apply to a cluster given with --brokers, not to the embedded broker");
            }
            let kafka = EmbeddedKafka::start(topic, args.producer.partitions)?;
            let (brokers, source) = (Cluster::new(kafka.bootstrap_servers()), kafka.source().to_string());
            (Some(kafka), brokers, Some(source))
        }
    })
}

/// Producing before the groups have formed would make the first orders wait: waits (up
/// to a minute) until every sink holds its partitions, and at most [`SIDE_SINK_WAIT`]
/// for the others once the CSV consumer does.
fn wait_for_the_group<T>(link: &RunLink, shutdown: &Shutdown, consumer: &std::thread::JoinHandle<T>) {
    let group_wait = Instant::now() + Duration::from_secs(60);
    let mut side_wait = None;
    while !link.wait_assigned(Duration::from_millis(200)) && !shutdown.requested() && !consumer.is_finished()
    {
        // The CSV files are the run's record; a sink that cannot reach its service (and
        // so has no partitions yet) gets a while longer, then finds its orders waiting
        // in the topic, held there by the flow window on the embedded broker.
        if !link.waiting_for().contains(&"csv") {
            let until = *side_wait.get_or_insert_with(|| Instant::now() + SIDE_SINK_WAIT);
            if Instant::now() > until {
                warn!(sinks = ?link.waiting_for(), wait = ?SIDE_SINK_WAIT, "these sinks have no partitions yet; producing anyway (their orders wait in the topic)");
                break;
            }
        }
        if Instant::now() > group_wait {
            warn!(sinks = ?link.waiting_for(), "these sinks have no partitions after 60 s; producing anyway");
            break;
        }
    }
}

/// How long the producer waits for the other sinks once the CSV consumer holds its
/// partitions.
const SIDE_SINK_WAIT: Duration = Duration::from_secs(10);

/// The run's last words: totals, rate and where the output went.
fn log_finished(
    args: &RunArgs,
    started: Instant,
    produced: &ProduceReport,
    consumed: &ConsumeReport,
    in_sheet: Option<&SheetsReport>,
) {
    let dir = args.sink.csv_dir.canonicalize().unwrap_or_else(|_| args.sink.csv_dir.clone());
    let secs = started.elapsed().as_secs_f64();
    info!(
        produced = produced.delivered,
        written = consumed.written,
        seconds = format!("{secs:.2}"),
        end_to_end_rate = format!("{:.0} orders/s", consumed.written as f64 / secs),
        dead_letters = consumed.dead_lettered,
        csv_dir = %dir.display(),
        // Named only when the Sheets sink ran.
        sheet = in_sheet.map(|r| format!("{} orders in https://docs.google.com/spreadsheets/d/{} ({} write requests)", r.orders, r.spreadsheet, r.requests)),
        "pipeline finished"
    );
}

/// Fails with [`DataMissing`] when any order of this run is not in the output: records
/// gone before they were read, or (on the embedded broker, whose topic holds only this
/// run's orders) fewer orders written and dead-lettered than delivered, or fewer in a
/// sink (`sinks`: its name and orders) than in the files.
fn check_complete(
    produced: &ProduceReport,
    consumed: &ConsumeReport,
    sinks: &[(&str, u64)],
    lost: u64,
    embedded: bool,
) -> Result<(), DataMissing> {
    if lost > 0 {
        return Err(DataMissing(format!(
            "{lost} records were gone from the topic before they could be read (see the gap records in the dead-letter file)"
        )));
    }
    let accounted = consumed.written + consumed.dead_lettered;
    if embedded && accounted < produced.delivered {
        return Err(DataMissing(format!(
            "{} orders were delivered but only {} are in the CSV files and {} in the dead letters: {} are missing from the files",
            produced.delivered,
            consumed.written,
            consumed.dead_lettered,
            produced.delivered - accounted
        )));
    }
    if let Some((sink, rows)) = sinks.iter().find(|(_, rows)| embedded && *rows < consumed.written) {
        return Err(DataMissing(format!(
            "{} orders are in the CSV files but only {rows} in {sink}: {} are missing from {sink}",
            consumed.written,
            consumed.written - rows
        )));
    }
    Ok(())
}
