//! Numbers, money and dates written the Polish way, as a Polish retailer's report reads
//! them: a space between thousands, a decimal comma, `tys.`, `mln` and `mld`, and the
//! months' short Polish names.

use chrono::{Datelike, NaiveDateTime, TimeZone, Timelike};
use chrono_tz::Europe::Warsaw;

/// The thousands separator: a space that never breaks a number over two lines.
const THIN: char = '\u{a0}';

const MONTHS: [&str; 12] =
    ["sty", "lut", "mar", "kwi", "maj", "cze", "lip", "sie", "wrz", "paź", "lis", "gru"];

/// `2896` as `2 896`.
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(THIN);
        }
        out.push(c);
    }
    out
}

/// An exact amount: `88 138 037,42 zł`.
pub(crate) fn zl_exact(grosz: i64) -> String {
    let sign = if grosz < 0 { "-" } else { "" };
    let abs = grosz.unsigned_abs();
    format!("{sign}{},{:02} zł", count(abs / 100), abs % 100)
}

/// A figure rounded for an axis or a label: `950`, `12,3 tys.`, `1,2 mln`, `2,5 mld`.
pub(crate) fn compact(value: f64) -> String {
    let abs = value.abs();
    let (scaled, unit) = if abs >= 1e9 {
        (value / 1e9, " mld")
    } else if abs >= 1e6 {
        (value / 1e6, " mln")
    } else if abs >= 1e4 {
        (value / 1e3, " tys.")
    } else {
        (value, "")
    };
    let text = if unit.is_empty() && abs >= 1000.0 {
        count(value.round() as u64)
    } else if scaled.abs() >= 100.0 || (scaled - scaled.round()).abs() < 0.05 {
        format!("{scaled:.0}")
    } else {
        format!("{scaled:.1}").replace('.', ",")
    };
    format!("{text}{unit}")
}

/// A rounded amount in złoty: `1,2 mln zł`.
pub(crate) fn zl_compact(zl: f64) -> String {
    format!("{} zł", compact(zl))
}

/// The Polish wall-clock time of `ms` (ms since the Unix epoch).
pub(crate) fn local(ms: i64) -> NaiveDateTime {
    Warsaw.timestamp_millis_opt(ms).single().map_or_else(
        || chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().naive_utc(),
        |t| t.naive_local(),
    )
}

/// `30 lis`.
pub(crate) fn day_month(t: NaiveDateTime) -> String {
    format!("{} {}", t.day(), MONTHS[t.month0() as usize])
}

/// `lis 2026`.
pub(crate) fn month_year(t: NaiveDateTime) -> String {
    format!("{} {}", MONTHS[t.month0() as usize], t.year())
}

/// `lis`.
pub(crate) fn month(t: NaiveDateTime) -> &'static str {
    MONTHS[t.month0() as usize]
}

/// `14:05`.
pub(crate) fn hour_minute(t: NaiveDateTime) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// An instant in full: `30 lis 2026 14:05`.
pub(crate) fn instant(ms: i64) -> String {
    let t = local(ms);
    format!("{} {} {}", day_month(t), t.year(), hour_minute(t))
}

/// An instant to the second: `30 lis 2026 14:05:09`.
pub(crate) fn instant_seconds(ms: i64) -> String {
    let t = local(ms);
    format!("{} {} {}:{:02}", day_month(t), t.year(), hour_minute(t), t.second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_counts_read_the_polish_way() {
        assert_eq!(count(2896), "2\u{a0}896");
        assert_eq!(count(88_138_037), "88\u{a0}138\u{a0}037");
        assert_eq!(zl_exact(8_813_803_742), "88\u{a0}138\u{a0}037,42 zł");
        assert_eq!(zl_exact(-5), "-0,05 zł");
        assert_eq!(zl_compact(1_234_567.0), "1,2 mln zł");
        assert_eq!(zl_compact(35_000_000.0), "35 mln zł");
        assert_eq!(compact(12_345.0), "12,3 tys.");
        assert_eq!(compact(2_500.0), "2\u{a0}500");
        assert_eq!(compact(950.0), "950");
        assert_eq!(compact(0.5), "0,5");
        assert_eq!(compact(2.5e9), "2,5 mld");
    }

    #[test]
    fn instants_are_shown_in_polish_time_across_daylight_saving() {
        // 2026-03-29 01:30 UTC is 03:30 in Poland (summer time began at 01:00 UTC).
        assert_eq!(instant(1_774_747_800_000), "29 mar 2026 03:30");
        // 2026-11-30 23:30 UTC is already 1 December in Poland.
        assert_eq!(instant(1_796_081_400_000), "1 gru 2026 00:30");
        assert_eq!(month_year(local(1_796_081_400_000)), "gru 2026");
    }
}
