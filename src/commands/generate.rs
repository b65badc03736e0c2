//! `orderstream generate`: JSON lines on stdout.

use std::io::{self, Write};
use std::time::Duration;

use anyhow::Context;
use tracing::info;

use crate::cli::GenerateArgs;
use crate::generate::pacing::Rate;
use crate::generate::source::{OrderSource, Speed, Timing};
use crate::order::write_json;
use crate::progress::ProgressReporter;
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// Writes orders to stdout until the count, Ctrl-C or a closed pipe.
pub fn execute(args: &GenerateArgs, progress: Duration) -> anyhow::Result<()> {
    let shutdown = Shutdown::on_signals().context("installing signal handlers")?;
    let stats = Stats::new();
    let reporter = ProgressReporter::start(stats.clone(), progress);
    let config = args.generator.source()?;
    let mut source = OrderSource::new(&config);
    info!(timing = %config.timing, count = ?config.count, instance = source.generator().instance(), "generating orders to stdout");

    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut buf = Vec::with_capacity(128 * 1024);
    let mut emitted = 0u64;
    // Real-time streams flush every order; bulk ones fill 64 KiB first.
    let flush_each = !matches!(
        config.timing,
        Timing::Fixed(Rate::Max) | Timing::Backfill { speed: Speed::Max, then_live: false, .. }
    );
    let result = (|| -> io::Result<()> {
        while let Some(order) = source.next(&shutdown, &stats) {
            write_json(&order, &mut buf);
            buf.push(b'\n');
            emitted += 1;
            if flush_each || buf.len() >= 64 * 1024 {
                out.write_all(&buf)?;
                buf.clear();
                if flush_each {
                    out.flush()?;
                }
                stats.delivered.inc_by(emitted.saturating_sub(stats.delivered.get()));
            }
        }
        out.write_all(&buf)?;
        out.flush()
    })();
    drop(reporter);
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("writing to stdout"),
        Ok(()) => {
            info!(orders = emitted, "done");
            Ok(())
        }
    }
}
