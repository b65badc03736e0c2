//! `orderstream sheets`: the Google Sheets sink as a process of its own.

use std::time::Duration;

use anyhow::Context;

use super::DataMissing;
use crate::cli::{SheetsArgs, SheetsCommandArgs};
use crate::sheets::run_sheets;
use crate::shutdown::Shutdown;
use crate::stats::{ProgressReporter, Stats};

/// Appends to the sheet until a signal or `--idle-exit`.
pub fn execute(args: &SheetsCommandArgs, progress: Duration) -> anyhow::Result<()> {
    let shutdown = Shutdown::on_signals().context("installing signal handlers")?;
    let catalogue = args.catalogue.catalogue()?;
    // The command is the sink: `--sheets` is implied (the prototype's spreadsheet
    // unless another one is named).
    let sheets = SheetsArgs { sheets: true, ..args.sheets.clone() };
    let config = sheets.config(&args.group.group).context("the Sheets sink is configured")?;
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
    let result = run_sheets(&config, &source, &stats, &shutdown, None, None);
    drop(reporter);
    let report = result?;
    if report.lost > 0 {
        return Err(DataMissing(format!(
            "{} records were gone from the topic before the Sheets sink could read them (see the ERROR lines above); the sheet misses them",
            report.lost
        ))
        .into());
    }
    Ok(())
}
