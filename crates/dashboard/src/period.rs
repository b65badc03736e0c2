//! The periods an analyst picks (`range=`): calendar ones (today, last month, this year)
//! and rolling ones (the last 24 hours), all counted back from now on the Polish
//! calendar, as a report's date picker does; and the link that moves a period onto the
//! newest data when the data ends before it.

use chrono::{Datelike, Months, NaiveDate};

use crate::charts::format;
use crate::lang::Lang;
use crate::order::TimeArg;

/// The presets of the period menu, in its order.
pub(crate) const PRESETS: [&str; 14] = [
    "15m",
    "1h",
    "6h",
    "today",
    "yesterday",
    "24h",
    "7d",
    "30d",
    "this-month",
    "last-month",
    "90d",
    "this-year",
    "365d",
    "all",
];

/// What a preset is called in the menu.
pub(crate) fn label(lang: Lang, preset: &str) -> String {
    let pl = lang == Lang::Pl;
    let text = match preset {
        "15m" => ["ostatnie 15 minut", "last 15 minutes"],
        "1h" => ["ostatnia godzina", "last hour"],
        "6h" => ["ostatnie 6 godzin", "last 6 hours"],
        "today" => ["dziś", "today"],
        "yesterday" => ["wczoraj", "yesterday"],
        "24h" => ["ostatnie 24 godziny", "last 24 hours"],
        "7d" => ["ostatnie 7 dni", "last 7 days"],
        "30d" => ["ostatnie 30 dni", "last 30 days"],
        "this-month" => ["bieżący miesiąc", "this month"],
        "last-month" => ["poprzedni miesiąc", "last month"],
        "90d" => ["ostatnie 90 dni", "last 90 days"],
        "this-year" => ["bieżący rok", "this year"],
        "365d" => ["ostatnie 365 dni", "last 365 days"],
        "all" => ["wszystkie zachowane dane", "everything kept"],
        other => return if pl { format!("ostatnie {other}") } else { format!("last {other}") },
    };
    text[usize::from(!pl)].to_string()
}

/// The span (ms since the Unix epoch, `to` exclusive) of `range` at `now_ms`: `None`
/// for `all` (no bound) or a duration that humantime reads (`15m`, `2h`, `7d`), counted
/// back from now. An error names what is accepted.
pub(crate) fn bounds(range: &str, now_ms: i64) -> Result<Option<(i64, i64)>, String> {
    let today = format::local(now_ms).date();
    let day = |d: NaiveDate| TimeArg::Day(d).start_micros() / 1000;
    let month_start = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let span = match range {
        "all" => return Ok(None),
        "today" => (day(today), day(today.succ_opt().unwrap_or(today))),
        "yesterday" => (day(today.pred_opt().unwrap_or(today)), day(today)),
        "this-month" => (day(month_start), day(month_start + Months::new(1))),
        "last-month" => (day(month_start - Months::new(1)), day(month_start)),
        "this-year" => {
            let year = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
            (day(year), day(year + Months::new(12)))
        }
        duration => {
            let span = humantime::parse_duration(duration).map_err(|_| {
                format!(
                    "invalid range {duration:?}: expected one of {} or a duration such as 2h or 14d",
                    PRESETS.join(", ")
                )
            })?;
            let ms = i64::try_from(span.as_millis()).unwrap_or(i64::MAX);
            if ms == 0 {
                return Err(format!("invalid range {duration:?}: a period must last at least a millisecond"));
            }
            // A millisecond past now, so that an order stamped this instant counts.
            (now_ms.saturating_sub(ms), now_ms + 1)
        }
    };
    Ok(Some(span))
}

/// The same length of time as `from..to`, moved to end with the newest order
/// (`newest_ms`): whole Polish days when it spans a day or more, so that the date
/// picker shows it. The pairs are `from` and `to` as the page's query takes them.
pub(crate) fn ending_at(from: i64, to: i64, newest_ms: i64) -> [(&'static str, String); 2] {
    const DAY: i64 = 86_400_000;
    let length = (to - from).max(1);
    if length >= DAY {
        let last = format::local(newest_ms).date();
        let days = (length + DAY / 2) / DAY;
        let first = last - chrono::Duration::days(days - 1);
        [("from", first.to_string()), ("to", last.to_string())]
    } else {
        [("from", (newest_ms + 1 - length).to_string()), ("to", (newest_ms + 1).to_string())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis()
    }

    #[test]
    fn calendar_presets_follow_the_polish_calendar_from_now() {
        let now = ms("2026-12-07T00:30:00+01:00");
        let span = |r: &str| bounds(r, now).unwrap().unwrap();
        assert_eq!(span("today"), (ms("2026-12-07T00:00:00+01:00"), ms("2026-12-08T00:00:00+01:00")));
        assert_eq!(span("yesterday"), (ms("2026-12-06T00:00:00+01:00"), ms("2026-12-07T00:00:00+01:00")));
        assert_eq!(span("this-month"), (ms("2026-12-01T00:00:00+01:00"), ms("2027-01-01T00:00:00+01:00")));
        assert_eq!(span("last-month"), (ms("2026-11-01T00:00:00+01:00"), ms("2026-12-01T00:00:00+01:00")));
        assert_eq!(span("this-year"), (ms("2026-01-01T00:00:00+01:00"), ms("2027-01-01T00:00:00+01:00")));
        assert_eq!(span("24h"), (now - 86_400_000, now + 1));
        assert_eq!(bounds("all", now).unwrap(), None);
        // Across the change to summer time, a day is 23 hours long.
        let spring = ms("2027-03-28T12:00:00+02:00");
        let (from, to) = bounds("today", spring).unwrap().unwrap();
        assert_eq!(to - from, 23 * 3_600_000);
        let error = bounds("fortnight", now).unwrap_err();
        assert!(error.contains("fortnight") && error.contains("last-month"), "{error}");
    }

    #[test]
    fn a_period_moves_onto_the_newest_data() {
        let newest = ms("2026-11-30T18:00:00+01:00");
        let week = bounds("7d", ms("2026-12-07T12:00:00+01:00")).unwrap().unwrap();
        assert_eq!(
            ending_at(week.0, week.1, newest),
            [("from", "2026-11-24".to_string()), ("to", "2026-11-30".to_string())]
        );
        let hour = bounds("1h", ms("2026-12-07T12:00:00+01:00")).unwrap().unwrap();
        let [(_, from), (_, to)] = ending_at(hour.0, hour.1, newest);
        assert_eq!(to.parse::<i64>().unwrap() - from.parse::<i64>().unwrap(), 3_600_001);
    }
}
