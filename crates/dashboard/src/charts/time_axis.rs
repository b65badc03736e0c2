//! Time in Polish wall-clock units: the steps that bars and axis ticks are cut by
//! (minutes to years), aligned on Polish hours, midnights, Mondays and months, and the
//! tick labels a reader expects for each (`14:00`, `30 lis`, `sty 2027`).

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use chrono_tz::Europe::Warsaw;

use super::format;
use crate::lang::Lang;

/// A step of Polish wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Minutes, at most 60 (Poland's offsets are whole hours, so these are fixed).
    Minutes(u32),
    /// Hours of the Polish day (2, 3, 6, 12 hours start at Polish midnight).
    Hours(u32),
    /// Polish days; 7 days start on Monday.
    Days(u32),
    /// Calendar months; 3, 6 and 12 start in January.
    Months(u32),
}

/// Every step, finest first.
const LADDER: [Step; 19] = [
    Step::Minutes(1),
    Step::Minutes(2),
    Step::Minutes(5),
    Step::Minutes(10),
    Step::Minutes(15),
    Step::Minutes(30),
    Step::Minutes(60),
    Step::Hours(2),
    Step::Hours(3),
    Step::Hours(6),
    Step::Hours(12),
    Step::Days(1),
    Step::Days(2),
    Step::Days(7),
    Step::Months(1),
    Step::Months(2),
    Step::Months(3),
    Step::Months(6),
    Step::Months(12),
];

const MINUTE: i64 = 60_000;

impl Step {
    /// Its usual length in ms.
    pub(crate) fn nominal_ms(self) -> i64 {
        match self {
            Step::Minutes(n) => i64::from(n) * MINUTE,
            Step::Hours(n) => i64::from(n) * 60 * MINUTE,
            Step::Days(n) => i64::from(n) * 24 * 60 * MINUTE,
            Step::Months(n) => i64::from(n) * 30 * 24 * 60 * MINUTE,
        }
    }

    /// The finest step at least `min_ms` long that cuts `span_ms` into at most `max`
    /// pieces.
    pub(crate) fn fitting(min_ms: i64, span_ms: i64, max: usize) -> Step {
        let max = max.max(1) as i64;
        LADDER
            .iter()
            .copied()
            .find(|s| s.nominal_ms() >= min_ms && span_ms / s.nominal_ms() < max)
            .unwrap_or(Step::Months(12))
    }

    /// The start of the step holding `ms`.
    pub(crate) fn floor(self, ms: i64) -> i64 {
        if let Step::Minutes(n) = self {
            let width = i64::from(n) * MINUTE;
            return ms.div_euclid(width) * width;
        }
        let t = format::local(ms);
        let date = t.date();
        let start = match self {
            Step::Minutes(_) => unreachable!("handled above"),
            Step::Hours(n) => date.and_hms_opt(t.hour() - t.hour() % n, 0, 0),
            Step::Days(7) => {
                (date - Duration::days(i64::from(date.weekday().num_days_from_monday()))).and_hms_opt(0, 0, 0)
            }
            Step::Days(n) => {
                let days = i64::from(date.num_days_from_ce());
                (date - Duration::days(days.rem_euclid(i64::from(n)))).and_hms_opt(0, 0, 0)
            }
            Step::Months(n) => {
                let month0 = date.month0() - date.month0() % n;
                NaiveDate::from_ymd_opt(date.year(), month0 + 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0))
            }
        };
        start.map_or(ms, from_local)
    }

    /// The start of the step after the one starting at `start`.
    pub(crate) fn next(self, start: i64) -> i64 {
        let next = match self {
            Step::Minutes(n) => return start.saturating_add(i64::from(n) * MINUTE),
            Step::Hours(n) => Some(format::local(start) + Duration::hours(i64::from(n))),
            Step::Days(n) => Some(format::local(start) + Duration::days(i64::from(n))),
            Step::Months(n) => format::local(start).checked_add_months(chrono::Months::new(n)),
        };
        // A step never ends before it starts, even on the night the clocks go back.
        next.map_or(i64::MAX, from_local).max(start.saturating_add(MINUTE))
    }

    /// The length of a step in words, for a chart's subtitle (`1 h`, `10 min`, `1 day`).
    pub(crate) fn describe(self, lang: Lang) -> String {
        let w = &lang.words().steps;
        match self {
            Step::Minutes(60) => format!("1 {}", w.hour),
            Step::Minutes(n) => format!("{n} {}", w.minutes),
            Step::Hours(n) => format!("{n} {}", w.hours),
            Step::Days(1) => format!("1 {}", w.day),
            Step::Days(7) => format!("1 {}", w.week),
            Step::Days(n) => format!("{n} {}", w.days),
            Step::Months(1) => format!("1 {}", w.month),
            Step::Months(n) => format!("{n} {}", w.months),
        }
    }
}

/// Ticks between `from` and `to` (ms), as many as fit `room` px with labels of
/// `char_px` per character a little apart, each with its label. A label names the day
/// or the year again where it changes.
pub(crate) fn ticks(from: i64, to: i64, room: f64, char_px: f64) -> Vec<(i64, String)> {
    let span = (to - from).max(1);
    let step = LADDER
        .iter()
        .copied()
        .find(|s| {
            // The usual width of the kind's labels: `30 lis` also stands at midnight
            // among times, which are mostly five characters.
            let chars = match s {
                Step::Minutes(_) | Step::Hours(_) => 5.5,
                Step::Days(_) => 6.0,
                Step::Months(_) => 8.0,
            };
            (span / s.nominal_ms() + 1) as f64 * (chars * char_px + 10.0) <= room
        })
        .unwrap_or(Step::Months(12));
    let max = (room / 20.0) as usize;
    let mut at = step.floor(from);
    if at < from {
        at = step.next(at);
    }
    let mut ticks = Vec::new();
    let mut previous: Option<NaiveDateTime> = None;
    while at <= to && ticks.len() <= max {
        let t = format::local(at);
        let label = match step {
            Step::Minutes(_) | Step::Hours(_) => {
                let new_day = previous.is_none_or(|p| p.date() != t.date());
                if new_day && t.hour() == 0 && t.minute() == 0 {
                    format::day_month(t)
                } else {
                    format::hour_minute(t)
                }
            }
            Step::Days(_) => {
                if previous.is_some_and(|p| p.year() != t.year()) {
                    format!("{} {}", format::day_month(t), t.year())
                } else {
                    format::day_month(t)
                }
            }
            Step::Months(_) => {
                if previous.is_none() || t.month() == 1 {
                    format::month_year(t)
                } else {
                    format::month(t).to_string()
                }
            }
        };
        ticks.push((at, label));
        previous = Some(t);
        at = step.next(at);
    }
    ticks
}

/// The instant of a Polish wall-clock time; one that the clocks skip (spring) is taken
/// an hour later, one they pass twice (autumn) the first time.
/// The instant of a Polish wall-clock time (the first, when the clocks go back; the
/// hour after, in the hour skipped when they go forward).
pub(crate) fn from_local(t: NaiveDateTime) -> i64 {
    match Warsaw.from_local_datetime(&t) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.timestamp_millis(),
        LocalResult::None => from_local(t + Duration::hours(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis()
    }

    #[test]
    fn steps_follow_the_polish_calendar() {
        let t = ms("2026-11-30T14:37:12+01:00");
        assert_eq!(Step::Minutes(15).floor(t), ms("2026-11-30T14:30:00+01:00"));
        assert_eq!(Step::Hours(6).floor(t), ms("2026-11-30T12:00:00+01:00"));
        assert_eq!(Step::Days(1).floor(t), ms("2026-11-30T00:00:00+01:00"));
        // 30 November 2026 is a Monday.
        assert_eq!(Step::Days(7).floor(ms("2026-12-03T10:00:00+01:00")), ms("2026-11-30T00:00:00+01:00"));
        assert_eq!(Step::Months(3).floor(t), ms("2026-10-01T00:00:00+02:00"));
        // The day the clocks go back is 25 hours long.
        let day = ms("2026-10-25T00:00:00+02:00");
        assert_eq!(Step::Days(1).next(day) - day, 25 * 3_600_000);
        assert_eq!(Step::Months(1).next(ms("2026-12-01T00:00:00+01:00")), ms("2027-01-01T00:00:00+01:00"));
    }

    #[test]
    fn ticks_read_as_times_days_or_months_by_span() {
        let from = ms("2026-11-30T10:00:00+01:00");
        let labels = |from: i64, to: i64, room: f64| -> Vec<String> {
            ticks(from, to, room, 6.6).into_iter().map(|t| t.1).collect()
        };
        let hours = labels(from, from + 6 * 3_600_000, 480.0);
        assert_eq!(hours, ["10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00"]);
        let across_midnight = labels(from + 12 * 3_600_000, from + 18 * 3_600_000, 240.0);
        assert_eq!(across_midnight, ["22:00", "1 gru", "02:00", "04:00"]);
        let days = labels(ms("2026-11-01T00:00:00+01:00"), ms("2026-11-29T00:00:00+01:00"), 300.0);
        assert_eq!(days, ["2 lis", "9 lis", "16 lis", "23 lis"]);
        let months = labels(ms("2026-01-01T00:00:00+01:00"), ms("2027-03-01T00:00:00+01:00"), 400.0);
        assert_eq!(months, ["sty 2026", "kwi", "lip", "paź", "sty 2027"]);
    }
}
