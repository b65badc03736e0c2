//! `orderstream bigquery`: the BigQuery sink as a process of its own.

use std::time::Duration;

use anyhow::Context;

use super::SinkProcess;
use crate::bigquery::run_bigquery;
use crate::cli::BigQueryArgs;

/// Writes the topic into the BigQuery table until idle exit or a signal.
pub fn execute(args: &BigQueryArgs, progress: Duration) -> anyhow::Result<()> {
    let config = args
        .bigquery
        .config(&args.member.group.group)?
        .context("orderstream bigquery needs --bigquery-project (or ORDERSTREAM_BIGQUERY_PROJECT)")?;
    let process = SinkProcess { member: &args.member, progress };
    process.run(
        "BigQuery sink",
        "see orderstream_dead_letters; the table misses them",
        |source, stats, shutdown| Ok(run_bigquery(&config, source, stats, shutdown, None, None)?.lost),
    )
}
