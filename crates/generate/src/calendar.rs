//! The Polish retail calendar: public holidays (fixed and movable), trading Sundays and
//! the days that shape electronics sales, such as Black Friday.
//!
//! Stores are closed on public holidays and on Sundays other than the trading Sundays
//! the Sunday-trading law allows; on Holy Saturday they close early. Online shops never
//! close.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// What kind of day a date is for a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// Monday to Friday, not a holiday.
    Weekday,
    /// A Saturday that is neither a holiday nor Holy Saturday.
    Saturday,
    /// Holy Saturday: stores close early.
    HolySaturday,
    /// A Sunday on which stores may open.
    TradingSunday,
    /// Any other Sunday: stores closed.
    Sunday,
    /// A public holiday: stores closed.
    Holiday,
}

/// Easter Sunday of `year` (Gregorian computus, the anonymous algorithm).
pub fn easter(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    ymd(year, month as u32, day as u32)
}

/// Black Friday: the day after the fourth Thursday of November.
pub fn black_friday(year: i32) -> NaiveDate {
    let first = ymd(year, 11, 1);
    let to_thursday = (Weekday::Thu.num_days_from_monday() + 7 - first.weekday().num_days_from_monday()) % 7;
    first + Duration::days(i64::from(to_thursday) + 21 + 1)
}

/// True on Polish public holidays (days off work), Christmas Eve included since 2025.
pub fn is_public_holiday(date: NaiveDate) -> bool {
    let (m, d) = (date.month(), date.day());
    let fixed = matches!(
        (m, d),
        (1, 1) | (1, 6) | (5, 1) | (5, 3) | (8, 15) | (11, 1) | (11, 11) | (12, 25) | (12, 26)
    ) || (m == 12 && d == 24 && date.year() >= 2025);
    if fixed {
        return true;
    }
    let easter = easter(date.year());
    let days = (date - easter).num_days();
    // Easter Sunday, Easter Monday, Pentecost Sunday, Corpus Christi.
    matches!(days, 0 | 1 | 49 | 60)
}

/// True on the Sundays stores may open: the last Sunday of January, April, June and
/// August, Palm Sunday, and the Sundays before Christmas (two until 2024, three since).
/// A last Sunday that is a holiday gives way to the Sunday before it.
pub fn is_trading_sunday(date: NaiveDate) -> bool {
    if date.weekday() != Weekday::Sun || is_public_holiday(date) {
        return false;
    }
    let year = date.year();
    if date == easter(year) - Duration::days(7) {
        return true;
    }
    if matches!(date.month(), 1 | 4 | 6 | 8) && date == last_open_sunday(year, date.month()) {
        return true;
    }
    let christmas_sundays = if year >= 2025 { 3 } else { 2 };
    let christmas = ymd(year, 12, 25);
    date < christmas && (christmas - date).num_days() <= 7 * christmas_sundays
}

/// The day kind of `date` for in-store trading.
pub fn day_kind(date: NaiveDate) -> DayKind {
    if is_public_holiday(date) {
        return DayKind::Holiday;
    }
    match date.weekday() {
        Weekday::Sun if is_trading_sunday(date) => DayKind::TradingSunday,
        Weekday::Sun => DayKind::Sunday,
        Weekday::Sat if date == easter(date.year()) - Duration::days(1) => DayKind::HolySaturday,
        Weekday::Sat => DayKind::Saturday,
        _ => DayKind::Weekday,
    }
}

fn last_open_sunday(year: i32, month: u32) -> NaiveDate {
    let next_month = if month == 12 { ymd(year + 1, 1, 1) } else { ymd(year, month + 1, 1) };
    let last_day = next_month - Duration::days(1);
    let back = last_day.weekday().num_days_from_sunday();
    let sunday = last_day - Duration::days(i64::from(back));
    if is_public_holiday(sunday) {
        sunday - Duration::days(7)
    } else {
        sunday
    }
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn easter_matches_known_dates() {
        for (year, want) in
            [(2024, "2024-03-31"), (2025, "2025-04-20"), (2026, "2026-04-05"), (2027, "2027-03-28")]
        {
            assert_eq!(easter(year), date(want), "{year}");
        }
    }

    #[test]
    fn movable_and_fixed_holidays_of_2026() {
        for d in [
            "2026-01-01",
            "2026-01-06",
            "2026-04-05",
            "2026-04-06",
            "2026-05-01",
            "2026-05-03",
            "2026-05-24",
            "2026-06-04",
            "2026-08-15",
            "2026-11-01",
            "2026-11-11",
            "2026-12-24",
            "2026-12-25",
            "2026-12-26",
        ] {
            assert!(is_public_holiday(date(d)), "{d}");
        }
        assert!(!is_public_holiday(date("2026-04-07")));
        assert!(!is_public_holiday(date("2026-06-05")));
        assert!(!is_public_holiday(date("2024-12-24")), "Christmas Eve became a holiday in 2025");
    }

    #[test]
    fn trading_sundays_of_2026() {
        let all: Vec<NaiveDate> = (0..365)
            .map(|i| date("2026-01-01") + Duration::days(i))
            .filter(|d| is_trading_sunday(*d))
            .collect();
        let want: Vec<NaiveDate> = [
            "2026-01-25",
            "2026-03-29",
            "2026-04-26",
            "2026-06-28",
            "2026-08-30",
            "2026-12-06",
            "2026-12-13",
            "2026-12-20",
        ]
        .iter()
        .map(|d| date(d))
        .collect();
        assert_eq!(all, want);
    }

    #[test]
    fn day_kinds_and_black_friday() {
        assert_eq!(black_friday(2026), date("2026-11-27"));
        assert_eq!(black_friday(2025), date("2025-11-28"));
        assert_eq!(day_kind(date("2026-04-04")), DayKind::HolySaturday);
        assert_eq!(day_kind(date("2026-04-06")), DayKind::Holiday);
        assert_eq!(day_kind(date("2026-11-29")), DayKind::Sunday);
        assert_eq!(day_kind(date("2026-12-13")), DayKind::TradingSunday);
        assert_eq!(day_kind(date("2026-11-28")), DayKind::Saturday);
        assert_eq!(day_kind(date("2026-11-26")), DayKind::Weekday);
    }
}
