//! The names of the daily CSV files (`orders_YYYY-MM-DD.csv`, as docs/design.md, "CSV files", describes), in one place for
//! the sink that writes them and for the readers (export, analytics rebuild).

use chrono::NaiveDate;

/// The file of `day`: `orders_YYYY-MM-DD.csv`, or `orders_YYYY-MM-DD.pN.csv` for
/// partition `N` in the partitioned layout.
pub fn day_file_name(day: NaiveDate, partition: Option<i32>) -> String {
    match partition {
        None => format!("orders_{}.csv", day.format("%Y-%m-%d")),
        Some(p) => format!("orders_{}.p{p}.csv", day.format("%Y-%m-%d")),
    }
}

/// True if `name` is a file of `day` in either layout.
pub fn is_day_file(name: &str, day: NaiveDate) -> bool {
    let prefix = format!("orders_{}", day.format("%Y-%m-%d"));
    name.strip_prefix(&prefix).is_some_and(|rest| {
        rest == ".csv"
            || rest
                .strip_prefix(".p")
                .and_then(|r| r.strip_suffix(".csv"))
                .is_some_and(|n| n.parse::<u32>().is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_both_layouts_are_recognised_and_nothing_else() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        for name in [day_file_name(day, None), day_file_name(day, Some(3))] {
            assert!(is_day_file(&name, day), "{name}");
        }
        assert_eq!(day_file_name(day, Some(3)), "orders_2026-11-26.p3.csv");
        for other in ["orders_2026-11-26.px.csv", "orders_2026-11-27.csv", "orders_2026-11-26.csv.bak"] {
            assert!(!is_day_file(other, day), "{other}");
        }
    }
}
