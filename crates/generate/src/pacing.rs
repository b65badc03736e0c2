//! How fast orders are emitted: a fixed rate, as fast as possible, or the prototype's
//! random pauses.

use std::str::FromStr;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::order::EventTime;
use crate::shutdown::Shutdown;

/// The slowest fixed rate: one order in about 11 days.
pub const MIN_RATE: f64 = 1e-6;
/// The fastest fixed rate; beyond it, use `max`.
pub const MAX_RATE: f64 = 1e9;

/// Emission rate, from `--rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// No pause at all.
    Max,
    /// This many orders per second, on a fixed schedule (no drift).
    PerSecond(f64),
    /// The prototype's pacing: 1-7 s between orders in peak hours (9-12, 17-20), else 7-10 s.
    Prototype,
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "max" => Ok(Rate::Max),
            "prototype" => Ok(Rate::Prototype),
            _ => match s.parse::<f64>() {
                Ok(r) if (MIN_RATE..=MAX_RATE).contains(&r) => Ok(Rate::PerSecond(r)),
                _ => Err(format!(
                    "invalid rate {s:?}: expected orders per second ({MIN_RATE} to {MAX_RATE}), `max` or `prototype`"
                )),
            },
        }
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rate::Max => f.write_str("max"),
            Rate::Prototype => f.write_str("prototype"),
            Rate::PerSecond(r) => write!(f, "{r}/s"),
        }
    }
}

/// Sleeps between orders so that the stream follows its [`Rate`].
#[derive(Debug)]
pub struct Pacer {
    rate: Rate,
    start: Instant,
    emitted: u64,
    next_at: Instant,
    rng: SmallRng,
}

impl Pacer {
    /// A pacer whose schedule starts now.
    pub fn new(rate: Rate) -> Self {
        let now = Instant::now();
        Pacer { rate, start: now, emitted: 0, next_at: now, rng: SmallRng::from_os_rng() }
    }

    /// Waits until the next order is due. Returns false if shutdown was asked meanwhile.
    pub fn wait(&mut self, shutdown: &Shutdown) -> bool {
        let due = match self.rate {
            Rate::Max => return !shutdown.requested(),
            Rate::PerSecond(r) => {
                // Saturates: a due time past what Instant holds is "never" (until a stop).
                let offset = Duration::try_from_secs_f64(self.emitted as f64 / r).unwrap_or(Duration::MAX);
                self.start
                    .checked_add(offset)
                    .unwrap_or_else(|| Instant::now() + Duration::from_secs(1 << 40))
            }
            Rate::Prototype => {
                let due = self.next_at;
                let hour = polish_hour_now();
                let peak = (9..12).contains(&hour) || (17..20).contains(&hour);
                let pause =
                    if peak { self.rng.random_range(1.0..7.0) } else { self.rng.random_range(7.0..10.0) };
                self.next_at = due.max(Instant::now()) + Duration::from_secs_f64(pause);
                due
            }
        };
        self.emitted += 1;
        shutdown.sleep_until(due)
    }
}

fn polish_hour_now() -> u32 {
    let micros = crate::clock::now_micros();
    let t = EventTime::in_poland(micros);
    let local_secs = micros / 1_000_000 + i64::from(t.offset_secs);
    (local_secs.rem_euclid(86_400) / 3600) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_with_clear_errors() {
        assert_eq!("max".parse::<Rate>(), Ok(Rate::Max));
        assert_eq!("2.5".parse::<Rate>(), Ok(Rate::PerSecond(2.5)));
        let err = "fast".parse::<Rate>().unwrap_err();
        assert!(err.contains("\"fast\""), "{err}");
        assert!("0".parse::<Rate>().is_err());
        assert!("-3".parse::<Rate>().is_err());
    }
}
