//! `orderstream consume`: a consumer-group member writing the daily CSV files.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::DataMissing;
use crate::cli::ConsumeArgs;
use crate::kafka::consumer::{consume, ConsumerConfig};
use crate::kafka::observer::PipelineObserver;
use crate::progress::ProgressReporter;
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// Consumes until a signal or `--idle-exit`.
pub fn execute(args: &ConsumeArgs, progress: Duration) -> anyhow::Result<()> {
    let shutdown = Shutdown::on_signals().context("installing signal handlers")?;
    let catalogue = args.catalogue.catalogue()?;
    let stats = Stats::new();
    shutdown.report_on_exit(&stats);
    let reporter = ProgressReporter::start(stats.clone(), progress);
    let http = super::start_http(&args.http, catalogue, &stats, Some(args.sink.csv_dir.as_path()))?;
    let kafka = &args.kafka;
    let cluster = kafka.cluster()?;
    let format = kafka.topic.format.format(&shutdown)?;
    let config = ConsumerConfig {
        idle_exit: args.idle_exit,
        join_timeout: args.join_timeout,
        live: http.as_ref().map(|(state, _)| state.clone() as Arc<dyn PipelineObserver>),
        ..super::csv_consumer(&cluster, &kafka.topic, &args.group, &args.sink, catalogue, &format)
    };
    // The sinks with groups of their own read the same topic the same way.
    let source = super::group_source(
        &cluster,
        &kafka.topic,
        args.idle_exit,
        (args.sink.session_timeout, &args.group),
        catalogue,
        &format,
    );
    let sheets =
        super::start_sheets(args.sheets.config(&args.group.group), source.clone(), &stats, &shutdown, None)?;
    let postgres = super::start_postgres(
        args.postgres.config(&args.group.group)?,
        source.clone(),
        (&stats, &shutdown),
        None,
    )?;
    let bigquery =
        super::start_bigquery(args.bigquery.config(&args.group.group)?, source, (&stats, &shutdown), None)?;
    super::show_side_sinks(http.as_ref(), [sheets.is_some(), postgres.is_some(), bigquery.is_some()]);
    let result = consume(&config, &stats, &shutdown, None);
    if result.is_err() {
        shutdown.request();
    }
    let sheets = super::join_sheets(sheets);
    let in_table = super::join_side_sink(postgres, "PostgreSQL sink");
    let in_warehouse = super::join_side_sink(bigquery, "BigQuery sink");
    drop(reporter);
    let report = result?;
    let in_sheet = sheets?;
    let in_table = in_table?;
    let in_warehouse = in_warehouse?;
    // Each sink reads on its own, so each names its own gaps and where it recorded them.
    let gaps: Vec<String> = [
        (report.lost, format!("the CSV files ({})", args.sink.csv_dir.join("dead_letters*.jsonl").display())),
        (in_sheet.map_or(0, |r| r.lost), "the sheet (logged only: a sheet has no place for them)".into()),
        (in_table.map_or(0, |r| r.lost), "the PostgreSQL table (rows of orderstream_dead_letters whose reason starts with gap:)".into()),
        (
            in_warehouse.map_or(0, |r| r.lost),
            "the BigQuery table (rows of the dataset's orderstream_dead_letters whose reason starts with gap:)".into(),
        ),
    ]
    .into_iter()
    .filter(|(lost, _)| *lost > 0)
    .map(|(lost, sink)| format!("{lost} missing from {sink}"))
    .collect();
    if !gaps.is_empty() {
        return Err(DataMissing(format!(
            "records were gone from the topic before they could be read: {}",
            gaps.join("; ")
        ))
        .into());
    }
    Ok(())
}
