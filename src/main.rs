//! The `orderstream` binary: parses the command line and runs a stage.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

fn main() {
    let cli = orderstream::cli::Cli::parse_args();
    let filter = EnvFilter::try_from_env("ORDERSTREAM_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
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
