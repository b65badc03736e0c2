//! Event time with its UTC offset, and the fast ISO 8601 formatting the hot path needs.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Europe::Warsaw;

const MICROS_PER_SEC: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SEC;

/// An instant plus the UTC offset it is shown in, e.g. `2026-11-26T09:15:02.345+01:00`.
///
/// Kept as integers so that formatting needs no time-zone lookup and orders stay `Copy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventTime {
    /// Microseconds since the Unix epoch, UTC.
    pub utc_micros: i64,
    /// Offset of the local time from UTC, in seconds.
    pub offset_secs: i32,
}

impl EventTime {
    /// The instant `utc_micros` in Polish local time (the stores' time zone).
    pub fn in_poland(utc_micros: i64) -> Self {
        let secs = utc_micros.div_euclid(MICROS_PER_SEC);
        let offset_secs = DateTime::from_timestamp(secs, 0)
            .map(|utc| Warsaw.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc())
            .unwrap_or(0);
        EventTime { utc_micros, offset_secs }
    }

    /// The instant (ms since the Unix epoch) at which `date` begins in Poland: day
    /// windows and daily totals start there, whatever the DST offset that day.
    pub fn polish_midnight_millis(date: NaiveDate) -> i64 {
        let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        Warsaw
            .from_local_datetime(&midnight)
            .earliest()
            .map_or_else(|| midnight.and_utc().timestamp_millis(), |t| t.timestamp_millis())
    }

    /// Milliseconds since the Unix epoch, UTC.
    pub fn utc_millis(&self) -> i64 {
        self.utc_micros.div_euclid(1000)
    }

    /// The calendar day in the order's own offset: it picks the daily CSV file.
    pub fn local_date(&self) -> NaiveDate {
        let (y, m, d) = civil_from_days(self.local_micros().div_euclid(MICROS_PER_DAY));
        NaiveDate::from_ymd_opt(y as i32, m, d).unwrap_or(NaiveDate::MIN)
    }

    fn local_micros(&self) -> i64 {
        self.utc_micros + i64::from(self.offset_secs) * MICROS_PER_SEC
    }

    /// Parses ISO 8601 with an offset; a naive time (the prototype wrote those) is taken
    /// as Polish local time.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Ok(EventTime {
                utc_micros: t.timestamp_micros(),
                offset_secs: t.offset().local_minus_utc(),
            });
        }
        let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
            .map_err(|_| "not an ISO 8601 date-time".to_string())?;
        let local = Warsaw
            .from_local_datetime(&naive)
            .earliest()
            .ok_or_else(|| "local time does not exist in Poland (DST gap)".to_string())?;
        Ok(EventTime {
            utc_micros: local.timestamp_micros(),
            offset_secs: local.offset().fix().local_minus_utc(),
        })
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.mmm+HH:MM` (microseconds when they are not whole ms).
    pub fn write_iso8601(&self, out: &mut Vec<u8>) {
        let local = self.local_micros();
        let (y, m, d) = civil_from_days(local.div_euclid(MICROS_PER_DAY));
        let in_day = local.rem_euclid(MICROS_PER_DAY);
        let secs = in_day / MICROS_PER_SEC;
        let frac = in_day % MICROS_PER_SEC;
        push_digits(out, y.rem_euclid(10_000) as u32, 4);
        out.push(b'-');
        push_digits(out, m, 2);
        out.push(b'-');
        push_digits(out, d, 2);
        out.push(b'T');
        push_digits(out, (secs / 3600) as u32, 2);
        out.push(b':');
        push_digits(out, (secs / 60 % 60) as u32, 2);
        out.push(b':');
        push_digits(out, (secs % 60) as u32, 2);
        out.push(b'.');
        if frac % 1000 == 0 {
            push_digits(out, (frac / 1000) as u32, 3);
        } else {
            push_digits(out, frac as u32, 6);
        }
        let off = self.offset_secs;
        out.push(if off < 0 { b'-' } else { b'+' });
        let off = off.unsigned_abs() / 60;
        push_digits(out, off / 60, 2);
        out.push(b':');
        push_digits(out, off % 60, 2);
    }
}

impl std::fmt::Display for EventTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut buf = Vec::with_capacity(32);
        self.write_iso8601(&mut buf);
        f.write_str(&String::from_utf8_lossy(&buf))
    }
}

fn push_digits(out: &mut Vec<u8>, mut value: u32, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for slot in out[start..].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`), so formatting needs no calendar library call.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A point in time as users write it (`--from`, `--to`, the API's `from`/`to`): a Polish
/// calendar day or an RFC 3339 instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeArg {
    /// A whole day in Polish time.
    Day(NaiveDate),
    /// An instant, µs since the Unix epoch.
    Instant(i64),
}

impl std::str::FromStr for TimeArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(TimeArg::Day(day));
        }
        DateTime::parse_from_rfc3339(s).map(|t| TimeArg::Instant(t.timestamp_micros())).map_err(|_| {
            format!("invalid time {s:?}: expected a day (2026-03-31) or an RFC 3339 instant (2026-03-31T18:00:00+02:00)")
        })
    }
}

impl TimeArg {
    /// The first instant (µs): the day's local midnight, or the instant itself.
    pub fn start_micros(self) -> i64 {
        match self {
            TimeArg::Day(day) => polish_midnight(day),
            TimeArg::Instant(t) => t,
        }
    }

    /// The end (exclusive, µs): the next day's local midnight, or the instant itself.
    pub fn end_micros(self) -> i64 {
        match self {
            TimeArg::Day(day) => polish_midnight(day.succ_opt().unwrap_or(day)),
            TimeArg::Instant(t) => t,
        }
    }
}

fn polish_midnight(day: NaiveDate) -> i64 {
    use chrono::TimeZone;
    Warsaw
        .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map(|t| t.timestamp_micros())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(t: EventTime) -> String {
        t.to_string()
    }

    #[test]
    fn winter_and_summer_offsets_in_poland() {
        // 2026-01-15T12:00:00Z and 2026-07-15T12:00:00Z
        assert_eq!(text(EventTime::in_poland(1_768_478_400_000_000)), "2026-01-15T13:00:00.000+01:00");
        assert_eq!(text(EventTime::in_poland(1_784_116_800_000_000)), "2026-07-15T14:00:00.000+02:00");
    }

    #[test]
    fn naive_prototype_timestamps_are_polish_local_time() {
        let t = EventTime::parse("2026-07-15T14:00:00.123456").unwrap();
        assert_eq!(t.offset_secs, 7200);
        assert_eq!(text(t), "2026-07-15T14:00:00.123456+02:00");
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(EventTime::parse("yesterday").is_err());
    }

    proptest! {
        #[test]
        fn format_parse_round_trip(micros in -2_000_000_000_000_000i64..4_000_000_000_000_000i64,
                                   offset_min in -14 * 60i32..14 * 60) {
            let t = EventTime { utc_micros: micros, offset_secs: offset_min * 60 };
            let back = EventTime::parse(&text(t)).unwrap();
            prop_assert_eq!(back, t);
        }

        #[test]
        fn local_date_matches_chrono(micros in 0i64..4_000_000_000_000_000i64) {
            let t = EventTime::in_poland(micros);
            let chrono_day = DateTime::from_timestamp_micros(micros).unwrap().with_timezone(&Warsaw).date_naive();
            prop_assert_eq!(t.local_date(), chrono_day);
        }
    }
}
