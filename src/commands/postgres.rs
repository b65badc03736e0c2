//! `orderstream postgres`: the PostgreSQL sink as a process of its own.

use std::time::Duration;

use anyhow::Context;

use super::SinkProcess;
use crate::cli::PostgresArgs;
use crate::postgres::run_postgres;

/// Writes the topic into the table until idle exit or a signal.
pub fn execute(args: &PostgresArgs, progress: Duration) -> anyhow::Result<()> {
    let config = args
        .postgres
        .config(&args.member.group.group)?
        .context("orderstream postgres needs --postgres-url (or ORDERSTREAM_POSTGRES_URL)")?;
    let process = SinkProcess { member: &args.member, progress };
    process.run(
        "PostgreSQL sink",
        "see orderstream_dead_letters; the table misses them",
        |source, stats, shutdown| Ok(run_postgres(&config, source, stats, shutdown, None, None)?.lost),
    )
}
