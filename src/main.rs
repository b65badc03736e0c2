//! The `orderstream` binary: parses the command line and runs a stage.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

fn main() {
    let cli = orderstream::cli::Cli::parse_args();
    let filter = match log_filter() {
        Ok(filter) => filter,
        Err(err) => {
            eprintln!("orderstream: error: {err}");
            std::process::exit(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    if let Err(err) = orderstream::clock::init_from_env() {
        eprintln!("orderstream: error: {err}");
        std::process::exit(2);
    }
    if let Err(err) = orderstream::commands::execute(cli) {
        eprintln!("orderstream: error: {err:#}");
        std::process::exit(orderstream::commands::exit_code(&err));
    }
}

/// The log filter of `ORDERSTREAM_LOG` (`info` when unset or empty); a filter that does
/// not parse is refused rather than ignored, since it would hide the logs it asked for.
fn log_filter() -> Result<EnvFilter, String> {
    const VAR: &str = "ORDERSTREAM_LOG";
    match std::env::var(VAR) {
        Err(std::env::VarError::NotPresent) => Ok(EnvFilter::new("info")),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{VAR} is not valid UTF-8 text")),
        Ok(text) if text.trim().is_empty() => Ok(EnvFilter::new("info")),
        Ok(text) => EnvFilter::try_new(&text).map_err(|e| {
            let shown: String = text.chars().take(80).collect();
            format!("{VAR}={shown:?} is not a log filter ({e}); e.g. info, debug or info,orderstream_pipeline=debug")
        }),
    }
}
