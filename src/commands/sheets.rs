//! `orderstream sheets`: the Google Sheets sink as a process of its own.

use std::time::Duration;

use anyhow::Context;

use super::SinkProcess;
use crate::cli::{SheetsArgs, SheetsCommandArgs};
use crate::sheets::run_sheets;

/// Appends to the sheet until a signal or `--idle-exit`.
pub fn execute(args: &SheetsCommandArgs, progress: Duration) -> anyhow::Result<()> {
    // The command is the sink: `--sheets` is implied (the prototype's spreadsheet
    // unless another one is named).
    let sheets = SheetsArgs { sheets: true, ..args.sheets.clone() };
    let config = sheets.config(&args.member.group.group).context("the Sheets sink is configured")?;
    let process = SinkProcess { member: &args.member, progress };
    process.run(
        "Sheets sink",
        "see the ERROR lines above; the sheet misses them",
        |source, stats, shutdown| Ok(run_sheets(&config, source, stats, shutdown, None, None)?.lost),
    )
}
