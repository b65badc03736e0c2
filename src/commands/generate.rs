//! `orderstream generate`: JSON lines on stdout.

use std::io::{self, Write};
use std::time::Duration;

use anyhow::Context;
use tracing::info;

use crate::cli::GenerateArgs;
use crate::generate::pacing::{Pacer, Rate};
use crate::generate::Generator;
use crate::order::write_json;
use crate::shutdown::Shutdown;
use crate::stats::{ProgressReporter, Stats};

/// Writes orders to stdout until the count, Ctrl-C or a closed pipe.
pub fn execute(args: &GenerateArgs, progress: Duration) -> anyhow::Result<()> {
    let shutdown = Shutdown::on_signals().context("installing signal handlers")?;
    let stats = Stats::new();
    let reporter = ProgressReporter::start(stats.clone(), progress);
    let rate = args.generator.rate();
    let mut generator = Generator::new(&args.generator.generator());
    info!(rate = %rate, count = ?args.generator.count, instance = generator.instance(), "generating orders to stdout");

    let mut pacer = Pacer::new(rate);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut buf = Vec::with_capacity(128 * 1024);
    let mut emitted = 0u64;
    let flush_each = rate != Rate::Max;
    let result = (|| -> io::Result<()> {
        while args.generator.count.is_none_or(|c| emitted < c) && pacer.wait(&shutdown) {
            write_json(&generator.next_order(), &mut buf);
            buf.push(b'\n');
            emitted += 1;
            if flush_each || buf.len() >= 64 * 1024 {
                out.write_all(&buf)?;
                buf.clear();
                if flush_each {
                    out.flush()?;
                }
                stats.delivered.store(emitted, std::sync::atomic::Ordering::Relaxed);
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
