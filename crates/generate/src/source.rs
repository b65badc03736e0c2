//! A timed stream of orders: what `generate`, `produce` and `run` read from.
//!
//! Three timings:
//! - **fixed** (`--rate N|max|prototype`): orders stamped with the wall clock, on the
//!   pacer's schedule; their content still follows the load curve of the moment;
//! - **live** (the default for an endless run): Poisson arrivals at the load curve's
//!   rate, each emitted when the wall clock reaches it;
//! - **backfill** (`--from/--to`): Poisson arrivals over a historical range with their
//!   historical timestamps, as fast as possible or N times real time, then stop or (with
//!   `--then-live`) carry on live.

use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::pacing::{Pacer, Rate};
use super::{Generator, GeneratorConfig};
use crate::order::Order;
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// How fast a backfill replays history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// As fast as the consumer of the stream takes it.
    Max,
    /// This many times real time (e.g. 3600: an hour of history per second).
    Times(f64),
}

impl FromStr for Speed {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "max" => Ok(Speed::Max),
            _ => match s.parse::<f64>() {
                Ok(n) if (1e-6..=1e9).contains(&n) => Ok(Speed::Times(n)),
                _ => Err(format!(
                    "invalid speed {s:?}: expected `max` or a factor of real time from 0.000001 to 1000000000, e.g. 3600"
                )),
            },
        }
    }
}

/// When orders happen and when they are emitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Timing {
    /// Wall-clock timestamps on a fixed schedule.
    Fixed(Rate),
    /// Poisson arrivals at the load curve, in real time from now.
    Live,
    /// Poisson arrivals from `from` to `to` (µs since the Unix epoch), emitted at `speed`,
    /// then live if `then_live`.
    Backfill {
        /// Start of the range.
        from: i64,
        /// End of the range (exclusive).
        to: i64,
        /// Replay speed.
        speed: Speed,
        /// Continue live at the end of the range.
        then_live: bool,
    },
}

impl std::fmt::Display for Timing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Timing::Fixed(rate) => write!(f, "fixed rate {rate}"),
            Timing::Live => f.write_str("live, Poisson arrivals at the scenario's load curve"),
            Timing::Backfill { speed, then_live, .. } => {
                let speed = match speed {
                    Speed::Max => "as fast as possible".to_string(),
                    Speed::Times(n) => format!("{n}x real time"),
                };
                write!(f, "backfill {speed}{}", if *then_live { ", then live" } else { "" })
            }
        }
    }
}

/// Settings of an [`OrderSource`].
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// The generator.
    pub generator: GeneratorConfig,
    /// The timing.
    pub timing: Timing,
    /// Stop after this many orders.
    pub count: Option<u64>,
}

/// Orders one at a time, each when it is due.
#[derive(Debug)]
pub struct OrderSource {
    generator: Generator,
    count: Option<u64>,
    emitted: u64,
    clock: Clock,
}

#[derive(Debug)]
enum Clock {
    Fixed(Pacer),
    Calendar { t: f64, end: Option<f64>, pace: Pace, then_live: bool },
}

#[derive(Debug, Clone, Copy)]
enum Pace {
    Max,
    Scaled { factor: f64, wall_start: Instant, event_start: f64 },
    Live,
}

impl OrderSource {
    /// A source whose schedule starts now.
    pub fn new(config: &SourceConfig) -> Self {
        let clock = match config.timing {
            Timing::Fixed(rate) => Clock::Fixed(Pacer::new(rate)),
            Timing::Live => {
                Clock::Calendar { t: now_micros(), end: None, pace: Pace::Live, then_live: false }
            }
            Timing::Backfill { from, to, speed, then_live } => Clock::Calendar {
                t: from as f64,
                end: Some(to as f64),
                pace: match speed {
                    Speed::Max => Pace::Max,
                    Speed::Times(factor) => {
                        Pace::Scaled { factor, wall_start: Instant::now(), event_start: from as f64 }
                    }
                },
                then_live,
            },
        };
        if config.timing == Timing::Live {
            let hour = (now_micros() as i64).div_euclid(3_600_000_000);
            let per_minute = config.generator.model.plan(hour).rate_per_sec * 60.0;
            tracing::info!(
                expected_per_minute = format!("{per_minute:.0}"),
                "live orders follow the load curve of the hour (quiet at night, busy on evenings and \
                 weekends); --base-rate or --rate changes the pace"
            );
        }
        OrderSource { generator: Generator::new(&config.generator), count: config.count, emitted: 0, clock }
    }

    /// The generator behind the stream.
    pub fn generator(&self) -> &Generator {
        &self.generator
    }

    /// The next order once it is due; `None` at the end of the count or the range, on
    /// shutdown, or when the scenario expects no orders at all.
    pub fn next(&mut self, shutdown: &Shutdown, stats: &Stats) -> Option<Order> {
        if self.count.is_some_and(|c| self.emitted >= c) {
            return None;
        }
        let order = match &mut self.clock {
            Clock::Fixed(pacer) => {
                if !pacer.wait(shutdown) {
                    return None;
                }
                self.generator.next_order()
            }
            Clock::Calendar { t, end, pace, then_live } => {
                let next = self.generator.next_arrival(*t)?;
                if end.is_some_and(|end| next >= end) {
                    if !*then_live {
                        return None;
                    }
                    tracing::info!("backfill complete; continuing live");
                    *end = None;
                    *pace = Pace::Live;
                }
                *t = next;
                let due = match *pace {
                    Pace::Max => None,
                    Pace::Scaled { factor, wall_start, event_start } => {
                        Some(after(wall_start, (next - event_start) / factor))
                    }
                    Pace::Live => Some(after(Instant::now(), next - now_micros())),
                };
                let on_time = match due {
                    None => !shutdown.requested(),
                    Some(due) => shutdown.sleep_until(due),
                };
                if !on_time {
                    return None;
                }
                // Whole milliseconds keep the timestamps as compact as the ids.
                let micros = (next / 1000.0).floor() as i64 * 1000;
                stats.generated_up_to_ms.store(micros / 1000, Ordering::Relaxed);
                self.generator.order_at(micros)
            }
        };
        self.emitted += 1;
        Some(order)
    }
}

/// `base` plus `micros` (negative: `base`), saturating far in the future instead of
/// overflowing for absurd rates.
fn after(base: Instant, micros: f64) -> Instant {
    let wait = Duration::try_from_secs_f64((micros / 1e6).max(0.0)).unwrap_or(Duration::MAX);
    base.checked_add(wait).unwrap_or_else(|| base + Duration::from_secs(1 << 40))
}

fn now_micros() -> f64 {
    crate::clock::now_micros() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_parse_with_clear_errors() {
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("3600".parse::<Speed>(), Ok(Speed::Times(3600.0)));
        assert!("0".parse::<Speed>().unwrap_err().contains("\"0\""));
        assert!("fast".parse::<Speed>().is_err());
    }

    #[test]
    fn a_backfill_is_in_time_order_inside_its_range_and_stops() {
        let from = 1_780_000_000_000_000; // 2026-05-28
        let to = from + 6 * 3_600_000_000;
        let config = SourceConfig {
            generator: GeneratorConfig { seed: Some(3), instance: Some(9), ..Default::default() },
            timing: Timing::Backfill { from, to, speed: Speed::Max, then_live: false },
            count: None,
        };
        let (shutdown, stats) = (Shutdown::new(), Stats::new());
        let mut source = OrderSource::new(&config);
        let mut last = from;
        let mut n = 0u64;
        while let Some(order) = source.next(&shutdown, &stats) {
            assert!(order.timestamp.utc_micros >= last && order.timestamp.utc_micros < to);
            last = order.timestamp.utc_micros;
            n += 1;
        }
        // Six night and morning hours of the built-in curve expect a few thousand orders.
        assert!((1_000..200_000).contains(&n), "{n} orders");
    }
}
