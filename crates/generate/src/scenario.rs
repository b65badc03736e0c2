//! Scenario files: the knobs of the load curve and the catalogue, in TOML.
//!
//! A scenario sets the base rate, the hour-of-day and weekday profiles per channel, the
//! opening hours, the region shares, seasons (demand and product-mix changes over date
//! ranges) and promotions (discount and uplift), and may replace the catalogue. The
//! built-in scenario is `scenarios/default.toml`, which doubles as the documented example.
//!
//! Typos fail loudly: every table rejects unknown keys, and the error names the file,
//! the line and the key.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate};
use serde::Deserialize;

use super::calendar;

/// The built-in scenario.
pub const DEFAULT_SCENARIO: &str = include_str!("../../../scenarios/default.toml");

/// A problem with a scenario file.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario file {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// Not valid TOML, or a key that does not belong (the message names line and key).
    #[error("scenario file {path}: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message, with line, column and the offending text.
        message: String,
    },
    /// Valid TOML whose values make no sense.
    #[error("scenario file {path}: {field} = {value}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// Dotted path of the key, e.g. `channels.online.hours`.
        field: String,
        /// The value found.
        value: String,
        /// The rule it breaks.
        reason: String,
    },
}

/// A parsed scenario file. A key or table left out takes the built-in scenario's value
/// (a table that is given replaces the built-in one as a whole, e.g. all promotions).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Orders per minute across the chain when every multiplier is 1.
    #[serde(default = "builtin_base_rate")]
    pub base_rate_per_minute: f64,
    /// Demand profile per sales channel (`online`, `in_store`).
    #[serde(default = "builtin_channels")]
    pub channels: Channels,
    /// When stores are open, as `[opening hour, closing hour]` in local time.
    #[serde(default = "builtin_opening_hours")]
    pub opening_hours: OpeningHours,
    /// Share of demand per region, with optional per-channel multipliers.
    #[serde(default = "builtin_regions")]
    pub regions: BTreeMap<String, RegionShare>,
    /// Date ranges that change demand and the product mix.
    #[serde(default = "builtin_seasons")]
    pub seasons: Vec<Season>,
    /// Date ranges with a discount and an uplift of demand.
    #[serde(default = "builtin_promotions")]
    pub promotions: Vec<Promotion>,
    /// How buyers pay, per channel.
    #[serde(default = "builtin_payments")]
    pub payments: Payments,
    /// The catalogue: categories and the products sold in them.
    #[serde(default = "builtin_categories")]
    pub categories: Vec<CategorySpec>,
    /// Demand weight per category, replacing the one its entry gives.
    #[serde(default)]
    pub category_weights: BTreeMap<String, f64>,
}

/// The payment mix: a share per payment method in each channel, and how instalments
/// follow the order's value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payments {
    /// Share of orders per payment method online (methods left out: 0).
    pub online: BTreeMap<String, f64>,
    /// Share of orders per payment method in stores.
    pub in_store: BTreeMap<String, f64>,
    /// Multipliers of the instalments share by the order's gross value: the first band
    /// whose `below` is above the value applies; the last band has no `below`.
    #[serde(default)]
    pub instalments_by_value: Vec<ValueBand>,
}

/// One band of order values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueBand {
    /// Upper end of the band in PLN gross, exclusive; absent for the last band.
    pub below: Option<f64>,
    /// Multiplier of the share in this band.
    pub factor: f64,
}

/// The two channels.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channels {
    /// Orders placed online: open around the clock.
    #[serde(default = "builtin_online")]
    pub online: ChannelProfile,
    /// Orders placed in a store: only in opening hours.
    #[serde(default = "builtin_in_store")]
    pub in_store: ChannelProfile,
}

/// Demand shape of one channel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelProfile {
    /// Share of the base rate.
    pub share: f64,
    /// 24 multipliers, one per local hour, from midnight.
    pub hours: Vec<f64>,
    /// 7 multipliers, Monday first.
    pub weekdays: Vec<f64>,
    /// Multiplier on public holidays (stores are closed then whatever this says).
    #[serde(default = "one")]
    pub holiday: f64,
}

/// Store opening hours per day kind, `[open, close)` in whole local hours.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    /// Monday to Friday.
    pub weekdays: [u32; 2],
    /// Saturdays.
    pub saturday: [u32; 2],
    /// Trading Sundays.
    pub trading_sunday: [u32; 2],
    /// Holy Saturday (stores close early).
    pub holy_saturday: [u32; 2],
}

/// A region's share of demand.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionShare {
    /// Share of demand.
    pub share: f64,
    /// Extra multiplier on online demand here.
    #[serde(default = "one")]
    pub online: f64,
    /// Extra multiplier on in-store demand here.
    #[serde(default = "one")]
    pub in_store: f64,
}

/// A season: demand and mix changes over a date range, every year or once.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Season {
    /// Shown in logs.
    pub name: String,
    /// First day (see [`DateSpec`]).
    pub from: String,
    /// Last day, inclusive.
    pub to: String,
    /// Multiplier on all demand.
    #[serde(default = "one")]
    pub demand: f64,
    /// Multipliers on the product mix per category (the total stays the same).
    #[serde(default)]
    pub categories: BTreeMap<String, f64>,
}

/// A promotion: a discount on the net price and an uplift of demand.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Promotion {
    /// Shown in logs.
    pub name: String,
    /// First day (see [`DateSpec`]).
    pub from: String,
    /// Last day, inclusive.
    pub to: String,
    /// Categories on promotion (default: all).
    #[serde(default)]
    pub categories: Vec<String>,
    /// Channels of the promotion (default: both).
    #[serde(default)]
    pub channels: Vec<String>,
    /// Discount on the net price, 0 to 0.9.
    #[serde(default)]
    pub discount: f64,
    /// Multiplier on the demand for what is on promotion.
    #[serde(default = "one")]
    pub uplift: f64,
}

/// A category of the catalogue: either `items`, each product with its brand and price,
/// or the prototype's form, `products`, `brands` and a `price` range drawn uniformly.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategorySpec {
    /// `kategoria_produktu`.
    pub name: String,
    /// The products sold, each with its brand, shelf price and popularity.
    #[serde(default)]
    pub items: Vec<ItemSpec>,
    /// `nazwa_produktu` values (the form without `items`).
    #[serde(default)]
    pub products: Vec<String>,
    /// `marka` values (the form without `items`).
    #[serde(default)]
    pub brands: Vec<String>,
    /// Net unit price range in PLN, `[min, max]` (the form without `items`).
    pub price: Option<[f64; 2]>,
    /// Share of demand (default: the number of products).
    pub weight: Option<f64>,
    /// Weights of buying 1, 2, 3 or 4 units (default: each equally likely).
    pub quantity: Option<Vec<f64>>,
}

/// One product of the catalogue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSpec {
    /// `nazwa_produktu`.
    pub name: String,
    /// `marka`.
    pub brand: String,
    /// Regular shelf price in PLN with 23 % VAT, as a shop lists it; the net price of
    /// the record is this divided by 1.23, to the grosz.
    pub shelf_price: f64,
    /// Relative sales weight within the category.
    #[serde(default = "one")]
    pub popularity: f64,
}

fn one() -> f64 {
    1.0
}

static BUILTIN: std::sync::OnceLock<Scenario> = std::sync::OnceLock::new();

fn builtin_base_rate() -> f64 {
    Scenario::builtin().base_rate_per_minute
}
fn builtin_channels() -> Channels {
    Scenario::builtin().channels
}
fn builtin_online() -> ChannelProfile {
    Scenario::builtin().channels.online
}
fn builtin_in_store() -> ChannelProfile {
    Scenario::builtin().channels.in_store
}
fn builtin_opening_hours() -> OpeningHours {
    Scenario::builtin().opening_hours
}
fn builtin_regions() -> BTreeMap<String, RegionShare> {
    Scenario::builtin().regions
}
fn builtin_seasons() -> Vec<Season> {
    Scenario::builtin().seasons
}
fn builtin_promotions() -> Vec<Promotion> {
    Scenario::builtin().promotions
}
fn builtin_payments() -> Payments {
    Scenario::builtin().payments
}
fn builtin_categories() -> Vec<CategorySpec> {
    Scenario::builtin().categories
}

impl Scenario {
    /// The built-in scenario. It spells out every key, so parsing it never asks for a
    /// default (which would come back here).
    pub fn builtin() -> Scenario {
        BUILTIN
            .get_or_init(|| {
                Scenario::parse(DEFAULT_SCENARIO, "<built-in scenario>").unwrap_or_else(|e| {
                    // A test parses the built-in file, so this cannot happen in a release.
                    panic!("the built-in scenario is invalid: {e}")
                })
            })
            .clone()
    }

    /// Reads and parses a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let name = path.display().to_string();
        let text =
            orderstream_runtime::files::read_text_bounded(path, orderstream_runtime::files::SCENARIO_LIMIT)
                .map_err(|error| ScenarioError::Read { path: name.clone(), error })?;
        Scenario::parse(&text, &name)
    }

    /// Parses scenario text; `name` is used in errors. Only syntax and unknown keys are
    /// checked here; the values are checked when the load model is built.
    pub fn parse(text: &str, name: &str) -> Result<Scenario, ScenarioError> {
        toml::from_str(text)
            .map_err(|e| ScenarioError::Syntax { path: name.to_string(), message: e.to_string() })
    }
}

/// A day in a scenario: `YYYY-MM-DD` (that day only), `MM-DD` (every year), or an
/// anchor `easter` / `black-friday`, each optionally followed by `+N` or `-N` days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateSpec {
    /// One fixed date.
    Fixed(NaiveDate),
    /// Month and day, every year.
    Yearly(u32, u32),
    /// Days after Easter Sunday.
    Easter(i64),
    /// Days after Black Friday.
    BlackFriday(i64),
}

impl DateSpec {
    /// Parses the text form; the error says which forms are accepted.
    pub fn parse(text: &str) -> Result<DateSpec, String> {
        let bad = || {
            format!("invalid date {text:?}: expected YYYY-MM-DD, MM-DD, easter[+N|-N] or black-friday[+N|-N]")
        };
        for (anchor, make) in
            [("easter", DateSpec::Easter as fn(i64) -> DateSpec), ("black-friday", DateSpec::BlackFriday)]
        {
            if let Some(rest) = text.strip_prefix(anchor) {
                let days = if rest.is_empty() {
                    0
                } else if let Some(n) = rest.strip_prefix('+') {
                    n.parse::<i64>().map_err(|_| bad())?
                } else if let Some(n) = rest.strip_prefix('-') {
                    -n.parse::<i64>().map_err(|_| bad())?
                } else {
                    return Err(bad());
                };
                if days.abs() > 366 {
                    return Err(bad());
                }
                return Ok(make(days));
            }
        }
        if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Ok(DateSpec::Fixed(date));
        }
        let (m, d) = text.split_once('-').ok_or_else(bad)?;
        let (month, day) = (m.parse::<u32>().map_err(|_| bad())?, d.parse::<u32>().map_err(|_| bad())?);
        // 2024 is a leap year, so 02-29 is accepted.
        NaiveDate::from_ymd_opt(2024, month, day).ok_or_else(bad)?;
        if m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        Ok(DateSpec::Yearly(month, day))
    }

    /// The date this spec names in `year`.
    pub fn in_year(self, year: i32) -> NaiveDate {
        match self {
            DateSpec::Fixed(date) => date,
            DateSpec::Yearly(month, day) => NaiveDate::from_ymd_opt(year, month, day)
                .unwrap_or_else(|| NaiveDate::from_ymd_opt(year, month, 28).unwrap_or(NaiveDate::MIN)),
            DateSpec::Easter(days) => calendar::easter(year) + Duration::days(days),
            DateSpec::BlackFriday(days) => calendar::black_friday(year) + Duration::days(days),
        }
    }
}

/// An inclusive date range from two specs; yearly ranges may wrap the new year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    /// First day.
    pub from: DateSpec,
    /// Last day.
    pub to: DateSpec,
}

impl DateRange {
    /// True if `date` is in the range.
    pub fn contains(&self, date: NaiveDate) -> bool {
        if let (DateSpec::Fixed(a), DateSpec::Fixed(b)) = (self.from, self.to) {
            return (a..=b).contains(&date);
        }
        let year = date.year();
        let (a, b) = (self.from.in_year(year), self.to.in_year(year));
        if a <= b {
            (a..=b).contains(&date)
        } else {
            date >= a || date <= b
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn date_specs_parse_and_resolve() {
        assert_eq!(DateSpec::parse("2026-06-11"), Ok(DateSpec::Fixed(date("2026-06-11"))));
        assert_eq!(DateSpec::parse("12-01"), Ok(DateSpec::Yearly(12, 1)));
        assert_eq!(DateSpec::parse("black-friday+3").unwrap().in_year(2026), date("2026-11-30"));
        assert_eq!(DateSpec::parse("easter-1").unwrap().in_year(2026), date("2026-04-04"));
        for bad in ["13-01", "12-1", "christmas", "easter+x", "2026-02-30", ""] {
            let err = DateSpec::parse(bad).unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn yearly_ranges_wrap_the_new_year() {
        let range = DateRange { from: DateSpec::Yearly(12, 27), to: DateSpec::Yearly(1, 6) };
        assert!(range.contains(date("2026-12-30")));
        assert!(range.contains(date("2027-01-03")));
        assert!(!range.contains(date("2026-12-20")));
        assert!(!range.contains(date("2027-01-07")));
    }

    #[test]
    fn the_builtin_scenario_parses() {
        let s = Scenario::builtin();
        assert!(s.base_rate_per_minute > 0.0);
        assert_eq!(s.channels.online.hours.len(), 24);
    }

    #[test]
    fn a_partial_file_keeps_the_builtin_rest() {
        let s = Scenario::parse(
            "base_rate_per_minute = 60.0\n[channels.online]\nshare = 0.7\nhours = [1.0]\nweekdays = [1.0]\n",
            "p.toml",
        )
        .unwrap();
        assert_eq!(s.base_rate_per_minute, 60.0);
        assert_eq!(s.channels.online.share, 0.7);
        assert_eq!(s.channels.in_store.hours, Scenario::builtin().channels.in_store.hours);
        assert_eq!(s.promotions.len(), Scenario::builtin().promotions.len());
    }

    #[test]
    fn a_typo_names_the_line_and_the_key() {
        let text = DEFAULT_SCENARIO.replacen("share = ", "shar = ", 1);
        let line = text.lines().position(|l| l.starts_with("shar = ")).unwrap() + 1;
        let err = Scenario::parse(&text, "my.toml").unwrap_err().to_string();
        assert!(err.contains("my.toml"), "{err}");
        assert!(err.contains(&format!("line {line}")), "{err}");
        assert!(err.contains("unknown field `shar`"), "{err}");
    }
}
