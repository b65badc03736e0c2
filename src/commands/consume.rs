//! `orderstream consume`: a consumer-group member writing the daily CSV files.

use std::time::Duration;

use anyhow::Context;

use super::DataMissing;
use crate::cli::ConsumeArgs;
use crate::kafka::consumer::{consume, ConsumerConfig};
use crate::sheets::worker::SheetsSource;
use crate::shutdown::Shutdown;
use crate::stats::{ProgressReporter, Stats};

/// Consumes until a signal or `--idle-exit`.
pub fn execute(args: &ConsumeArgs, progress: Duration) -> anyhow::Result<()> {
    let shutdown = Shutdown::on_signals().context("installing signal handlers")?;
    crate::cli::load_model(args.scenario.as_deref())?;
    let stats = Stats::new();
    shutdown.report_on_exit(&stats);
    let reporter = ProgressReporter::start(stats.clone(), progress);
    let http = super::start_http(&args.http, &stats, Some(args.sink.csv_dir.as_path()))?;
    let config = ConsumerConfig {
        brokers: args.brokers.clone(),
        topic: args.topic.topic.clone(),
        group: args.group.clone(),
        csv_dir: args.sink.csv_dir.clone(),
        layout: args.sink.csv_layout,
        idle_exit: args.idle_exit,
        join_timeout: args.join_timeout,
        sync_interval: args.sink.sync_interval,
        session_timeout: args.sink.session_timeout,
        connect_timeout: args.topic.connect_timeout,
        dead_letter_topic: !args.sink.no_dlq_topic,
        max_future: args.topic.max_future,
        source: None,
        live: http.as_ref().map(|(state, _)| state.clone()),
    };
    let sheets = super::start_sheets(
        args.sheets.config(&args.group),
        SheetsSource {
            brokers: args.brokers.clone(),
            topic: args.topic.topic.clone(),
            idle_exit: args.idle_exit,
            session_timeout: args.sink.session_timeout,
            max_future: args.topic.max_future,
        },
        &stats,
        &shutdown,
        None,
    )?;
    let result = consume(&config, &stats, &shutdown, None);
    if result.is_err() {
        shutdown.request();
    }
    let sheets = super::join_sheets(sheets);
    drop(reporter);
    let report = result?;
    let in_sheet = sheets?;
    let lost = report.lost + in_sheet.map_or(0, |r| r.lost);
    if lost > 0 {
        return Err(DataMissing(format!(
            "{lost} records were gone from the topic before they could be read (see the gap records in {}); the output misses them",
            args.sink.csv_dir.join("dead_letters*.jsonl").display()
        ))
        .into());
    }
    Ok(())
}
