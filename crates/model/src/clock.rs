//! The process's wall clock, with an override so that the time of day, the weekday and
//! the season a test or a demo runs in can be chosen.
//!
//! `ORDERSTREAM_CLOCK=2026-11-27T19:00:00+01:00` starts the clock at that instant; it then
//! advances in real time. Everything that reads "now" for orders (live timestamps, the
//! load curve of the moment, `--to`'s default, the future-timestamp check, latencies)
//! reads it here, so producer and consumer agree. Token lifetimes towards Google keep the
//! real clock.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The variable that moves the clock.
pub const CLOCK_ENV: &str = "ORDERSTREAM_CLOCK";

static OFFSET_MICROS: OnceLock<i64> = OnceLock::new();

/// Reads [`CLOCK_ENV`] once; fails with the value when it is not an RFC 3339 instant.
pub fn init_from_env() -> Result<(), String> {
    let offset = match std::env::var(CLOCK_ENV) {
        Ok(value) if !value.trim().is_empty() => {
            let start = chrono::DateTime::parse_from_rfc3339(value.trim()).map_err(|e| {
                format!("{CLOCK_ENV}={value:?}: {e}; expected an RFC 3339 instant, e.g. 2026-11-27T19:00:00+01:00")
            })?;
            start.timestamp_micros() - system_micros()
        }
        _ => 0,
    };
    let _ = OFFSET_MICROS.set(offset);
    Ok(())
}

fn system_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// Microseconds since the Unix epoch, on the (possibly moved) clock.
pub fn now_micros() -> i64 {
    system_micros() + OFFSET_MICROS.get().copied().unwrap_or(0)
}

/// Milliseconds since the Unix epoch, on the (possibly moved) clock.
pub fn now_millis() -> i64 {
    now_micros().div_euclid(1000)
}
