//! `orderstream bigquery`: the BigQuery sink as a process of its own.

use std::time::Duration;

use anyhow::Context;

use super::DataMissing;
use crate::bigquery::run_bigquery;
use crate::cli::BigQueryArgs;
use crate::shutdown::Shutdown;
use crate::stats::{ProgressReporter, Stats};

/// Writes the topic into the BigQuery table until idle exit or a signal.
pub fn execute(args: &BigQueryArgs, progress: Duration) -> anyhow::Result<()> {
    let shutdown = Shutdown::on_signals().context("installing signal handlers")?;
    let catalogue = args.catalogue.catalogue()?;
    let config = args
        .bigquery
        .config(&args.group.group)?
        .context("orderstream bigquery needs --bigquery-project (or ORDERSTREAM_BIGQUERY_PROJECT)")?;
    let stats = Stats::new();
    shutdown.report_on_exit(&stats);
    let reporter = ProgressReporter::start(stats.clone(), progress);
    let source = super::group_source(
        &args.kafka.cluster()?,
        &args.kafka.topic,
        args.idle_exit,
        (args.session_timeout, &args.group),
        catalogue,
        &args.kafka.topic.format.format(&shutdown)?,
    );
    let result = run_bigquery(&config, &source, &stats, &shutdown);
    drop(reporter);
    let report = result?;
    if report.lost > 0 {
        return Err(DataMissing(format!(
            "{} records were gone from the topic before the BigQuery sink could read them (see orderstream_dead_letters); the table misses them",
            report.lost
        ))
        .into());
    }
    Ok(())
}
