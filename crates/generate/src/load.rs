//! The load curve: a scenario compiled into expected orders per second for every
//! (channel, region, category) cell, one plan per hour.
//!
//! All multipliers are constant within a local hour (opening hours and DST changes fall
//! on whole hours), so the generator computes an [`HourPlan`] once per hour and draws
//! each order's cell from it with one uniform number and a binary search.

use chrono::{Datelike, NaiveDate, Timelike};

use super::calendar::{self, DayKind};
use super::mix::{Mix, MixBuilder, MAX_WEIGHT};
use super::scenario::{
    ChannelProfile, DateRange, DateSpec, OpeningHours, Promotion, Scenario, ScenarioError, Season,
};
use crate::order::catalogue::{Catalogue, Category, Channel, Product, Region, PROTOTYPE_CATEGORIES};
use crate::order::EventTime;

/// Index of the online channel in per-channel arrays.
pub const ONLINE: usize = Channel::Online.index();
/// Index of the in-store channel in per-channel arrays.
pub const IN_STORE: usize = Channel::InStore.index();
const MICROS_PER_HOUR: i64 = 3_600_000_000;
/// The deepest discount a promotion may give; the decoder accepts prices down to it in
/// every category, so orders of a scenario that only changes promotions still decode
/// with the built-in catalogue.
pub const MAX_DISCOUNT: f64 = 0.9;

/// A compiled scenario: everything needed to plan any hour.
#[derive(Debug, Clone)]
pub struct LoadModel {
    base_per_minute: f64,
    channels: [Curve; 2],
    opening: [(DayKind, u32, u32); 4],
    regions: Vec<[f64; 2]>,
    seasons: Vec<CompiledSeason>,
    promotions: Vec<CompiledPromotion>,
    categories: &'static [Category],
    category_weights: Vec<f64>,
    mix: Mix,
}

#[derive(Debug, Clone)]
struct Curve {
    share: f64,
    hours: [f64; 24],
    weekdays: [f64; 7],
    holiday: f64,
}

#[derive(Debug, Clone)]
struct CompiledSeason {
    range: DateRange,
    demand: f64,
    mix: Vec<f64>,
}

#[derive(Debug, Clone)]
struct CompiledPromotion {
    range: DateRange,
    categories: Vec<bool>,
    channels: [bool; 2],
    discount: f64,
    uplift: f64,
}

/// One cell of an hour: who buys what, where, and the discount that applies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// [`ONLINE`] or [`IN_STORE`].
    pub channel: u8,
    /// Index into [`Region::ALL`].
    pub region: u8,
    /// Index into the model's categories.
    pub category: u8,
    /// Discount on the net price, 0 when no promotion runs.
    pub discount: f64,
}

/// The plan of one UTC hour.
#[derive(Debug, Clone)]
pub struct HourPlan {
    /// Hours since the Unix epoch (UTC).
    pub hour: i64,
    /// Polish UTC offset in this hour.
    pub offset_secs: i32,
    /// Expected orders per second in this hour, all cells together.
    pub rate_per_sec: f64,
    cells: Vec<Cell>,
    cumulative: Vec<f64>,
}

impl HourPlan {
    /// The cell whose cumulative weight `u` (uniform in 0..1) falls into.
    pub fn pick(&self, u: f64) -> Cell {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let target = u * total;
        let i = self.cumulative.partition_point(|c| *c <= target).min(self.cells.len() - 1);
        self.cells[i]
    }

    /// Expected orders per second of the cells that match `filter`.
    pub fn rate_where(&self, filter: impl Fn(&Cell) -> bool) -> f64 {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        if total == 0.0 {
            return 0.0;
        }
        let mut previous = 0.0;
        let mut matched = 0.0;
        for (cell, cum) in self.cells.iter().zip(&self.cumulative) {
            if filter(cell) {
                matched += cum - previous;
            }
            previous = *cum;
        }
        self.rate_per_sec * matched / total
    }
}

impl LoadModel {
    /// The built-in scenario, compiled.
    pub fn builtin() -> LoadModel {
        LoadModel::compile(&Scenario::builtin(), "<built-in scenario>")
            .unwrap_or_else(|e| panic!("the built-in scenario is invalid: {e}"))
    }

    /// Checks a scenario's values and compiles it; `path` is used in errors.
    pub fn compile(scenario: &Scenario, path: &str) -> Result<LoadModel, ScenarioError> {
        let check = Check { path };
        let base_per_minute = check.positive("base_rate_per_minute", scenario.base_rate_per_minute)?;
        let mut channels = [
            check.curve("online", &scenario.channels.online)?,
            check.curve("in_store", &scenario.channels.in_store)?,
        ];
        let share_sum: f64 = channels.iter().map(|c| c.share).sum();
        channels.iter_mut().for_each(|c| c.share /= share_sum);
        let opening = check.opening_hours(&scenario.opening_hours)?;
        let regions = check.regions(scenario)?;

        let Built { categories, weights: mut category_weights, popularity } =
            build_catalogue(scenario, path)?;
        let mix =
            MixBuilder { path }.build(&categories, &scenario.categories, &popularity, &scenario.payments)?;
        let catalogue = CategoryNames { check, categories: &categories };
        for (name, w) in &scenario.category_weights {
            category_weights[catalogue.index("category_weights", name)?] =
                check.positive(&format!("category_weights.{name}"), *w)?;
        }
        let seasons = catalogue.seasons(&scenario.seasons)?;
        let promotions = catalogue.promotions(&scenario.promotions)?;

        // The decoder accepts a price as low as the deepest discount any scenario may give.
        let categories: &'static [Category] = Box::leak(
            categories
                .iter()
                .map(|c| Category { lowest_price_grosz: discounted(c.min_price_grosz, MAX_DISCOUNT), ..*c })
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        Ok(LoadModel {
            base_per_minute,
            channels,
            opening,
            regions,
            seasons,
            promotions,
            categories,
            category_weights,
            mix,
        })
    }

    /// The draws of store, product, quantity and payment.
    pub fn mix(&self) -> &Mix {
        &self.mix
    }

    /// The catalogue orders of this model come from, and are checked against.
    pub fn catalogue(&self) -> Catalogue {
        Catalogue::new(self.categories)
    }

    /// The categories of [`Self::catalogue`], in index order.
    pub fn categories(&self) -> &'static [Category] {
        self.categories
    }

    /// The base rate in orders per minute.
    pub fn base_rate_per_minute(&self) -> f64 {
        self.base_per_minute
    }

    /// The same model with another base rate (from `--base-rate`).
    pub fn with_base_rate(mut self, per_minute: f64) -> LoadModel {
        self.base_per_minute = per_minute;
        self
    }

    /// The local opening hours of stores on `date`, if they open at all.
    pub fn opening_hours(&self, date: NaiveDate) -> Option<(u32, u32)> {
        let kind = calendar::day_kind(date);
        self.opening.iter().find(|(k, _, _)| *k == kind).map(|(_, open, close)| (*open, *close))
    }

    /// The plan of the UTC hour `hour` (hours since the Unix epoch).
    pub fn plan(&self, hour: i64) -> HourPlan {
        let offset_secs = EventTime::in_poland(hour * MICROS_PER_HOUR).offset_secs;
        let local = chrono::DateTime::from_timestamp(hour * 3600 + i64::from(offset_secs), 0)
            .map(|t| t.naive_utc())
            .unwrap_or_default();
        let (date, local_hour) = (local.date(), local.hour());
        let weekday = date.weekday().num_days_from_monday() as usize;
        let holiday = calendar::is_public_holiday(date);
        let open = self.opening_hours(date).is_some_and(|(o, c)| (o..c).contains(&local_hour));

        let mut channel = [0.0; 2];
        for (c, curve) in self.channels.iter().enumerate() {
            let day = if holiday { curve.holiday } else { 1.0 };
            channel[c] = curve.share * curve.hours[local_hour as usize] * curve.weekdays[weekday] * day;
        }
        if !open {
            channel[IN_STORE] = 0.0;
        }

        let mut demand = 1.0;
        let mut mix = self.category_weights.clone();
        for season in self.seasons.iter().filter(|s| s.range.contains(date)) {
            demand *= season.demand;
            mix.iter_mut().zip(&season.mix).for_each(|(m, s)| *m *= s);
        }
        let mix_sum: f64 = mix.iter().sum();
        if mix_sum > 0.0 {
            mix.iter_mut().for_each(|m| *m /= mix_sum);
        }
        let active: Vec<&CompiledPromotion> =
            self.promotions.iter().filter(|p| p.range.contains(date)).collect();

        let (mut cells, mut cumulative, total) = self.cells(channel, demand, &mix, &active);
        let rate_per_sec = total / 60.0;
        if cells.is_empty() {
            // Nothing is expected this hour, but a fixed-rate run still needs a mix: the
            // scenario's own, without the hour's and the day's multipliers (in stores only
            // while they are open).
            let mut fallback = [self.channels[ONLINE].share, 0.0];
            if open {
                fallback[IN_STORE] = self.channels[IN_STORE].share;
            }
            if mix.iter().sum::<f64>() <= 0.0 {
                mix = vec![1.0; mix.len()];
            }
            (cells, cumulative, _) = self.cells(fallback, 1.0, &mix, &active);
            if cells.is_empty() {
                // Promotions with an uplift of 0 on everything: the plain mix then.
                (cells, cumulative, _) = self.cells(fallback, 1.0, &mix, &[]);
            }
        }
        HourPlan { hour, offset_secs, rate_per_sec, cells, cumulative }
    }

    /// The cells with an expected rate above 0, and their cumulative rates per minute.
    fn cells(
        &self,
        channel: [f64; 2],
        demand: f64,
        mix: &[f64],
        active: &[&CompiledPromotion],
    ) -> (Vec<Cell>, Vec<f64>, f64) {
        let mut cells = Vec::with_capacity(2 * self.regions.len() * mix.len());
        let mut cumulative = Vec::with_capacity(cells.capacity());
        let mut total = 0.0;
        for (c, channel_rate) in channel.iter().enumerate() {
            for (r, region) in self.regions.iter().enumerate() {
                for (k, share) in mix.iter().enumerate() {
                    let mut rate = self.base_per_minute * channel_rate * region[c] * demand * share;
                    let mut discount = 0.0f64;
                    for p in active.iter().filter(|p| p.channels[c] && p.categories[k]) {
                        rate *= p.uplift;
                        discount = discount.max(p.discount);
                    }
                    if rate > 0.0 {
                        total += rate;
                        cells.push(Cell { channel: c as u8, region: r as u8, category: k as u8, discount });
                        cumulative.push(total);
                    }
                }
            }
        }
        (cells, cumulative, total)
    }
}

/// The checks of a scenario's values, each error naming the file, the field and the
/// value.
#[derive(Clone, Copy)]
struct Check<'a> {
    path: &'a str,
}

impl Check<'_> {
    fn invalid(&self, field: &str, value: String, reason: &str) -> ScenarioError {
        ScenarioError::Invalid {
            path: self.path.to_string(),
            field: field.to_string(),
            value,
            reason: reason.to_string(),
        }
    }

    fn positive(&self, field: &str, v: f64) -> Result<f64, ScenarioError> {
        if v.is_finite() && v > 0.0 && v <= MAX_WEIGHT {
            Ok(v)
        } else {
            Err(self.invalid(field, v.to_string(), "must be a number above 0 and at most 1e9"))
        }
    }

    fn non_negative(&self, field: &str, v: f64) -> Result<f64, ScenarioError> {
        if v.is_finite() && (0.0..=MAX_WEIGHT).contains(&v) {
            Ok(v)
        } else {
            Err(self.invalid(field, v.to_string(), "must be a number from 0 to 1e9"))
        }
    }

    fn range(&self, field: &str, from: &str, to: &str) -> Result<DateRange, ScenarioError> {
        let spec = |key: &str, text: &str| {
            DateSpec::parse(text)
                .map_err(|reason| self.invalid(&format!("{field}.{key}"), text.to_string(), &reason))
        };
        Ok(DateRange { from: spec("from", from)?, to: spec("to", to)? })
    }

    /// A channel's hourly and weekly curve.
    fn curve(&self, name: &str, p: &ChannelProfile) -> Result<Curve, ScenarioError> {
        let field = |key: &str| format!("channels.{name}.{key}");
        let hours: [f64; 24] = p.hours.clone().try_into().map_err(|v: Vec<f64>| {
            self.invalid(
                &field("hours"),
                format!("{} values", v.len()),
                "needs 24 values, one per hour from midnight",
            )
        })?;
        let weekdays: [f64; 7] = p.weekdays.clone().try_into().map_err(|v: Vec<f64>| {
            self.invalid(&field("weekdays"), format!("{} values", v.len()), "needs 7 values, Monday first")
        })?;
        for v in hours.iter().chain(&weekdays) {
            self.non_negative(&field("hours/weekdays"), *v)?;
        }
        Ok(Curve {
            share: self.positive(&field("share"), p.share)?,
            hours,
            weekdays,
            holiday: self.non_negative(&field("holiday"), p.holiday)?,
        })
    }

    /// Store opening hours per kind of day.
    fn opening_hours(&self, o: &OpeningHours) -> Result<[(DayKind, u32, u32); 4], ScenarioError> {
        let hours = |kind: &str, h: [u32; 2]| {
            if h[0] < h[1] && h[1] <= 24 {
                Ok((h[0], h[1]))
            } else {
                Err(self.invalid(
                    &format!("opening_hours.{kind}"),
                    format!("{h:?}"),
                    "needs [open, close) with open < close <= 24",
                ))
            }
        };
        let open = |kind: DayKind, name: &str, h: [u32; 2]| hours(name, h).map(|(from, to)| (kind, from, to));
        Ok([
            open(DayKind::Weekday, "weekdays", o.weekdays)?,
            open(DayKind::Saturday, "saturday", o.saturday)?,
            open(DayKind::TradingSunday, "trading_sunday", o.trading_sunday)?,
            open(DayKind::HolySaturday, "holy_saturday", o.holy_saturday)?,
        ])
    }

    /// Each region's share of each channel; each channel's shares sum to 1, so a
    /// region's channel multiplier shifts that channel's orders towards it without
    /// changing the channel's total.
    fn regions(&self, scenario: &Scenario) -> Result<Vec<[f64; 2]>, ScenarioError> {
        for name in scenario.regions.keys() {
            if Region::parse(name).is_none() {
                let known: Vec<&str> = Region::ALL.iter().map(|r| r.as_str()).collect();
                return Err(self.invalid(
                    &format!("regions.{name}"),
                    name.clone(),
                    &format!("unknown region; the regions are {known:?}"),
                ));
            }
        }
        let mut regions = Vec::with_capacity(Region::ALL.len());
        for region in Region::ALL {
            let share = scenario.regions.get(region.as_str()).ok_or_else(|| {
                self.invalid("regions", region.to_string(), "region missing: every region needs a share")
            })?;
            let field = |key: &str| format!("regions.{region}.{key}");
            let s = self.positive(&field("share"), share.share)?;
            regions.push([
                s * self.non_negative(&field("online"), share.online)?,
                s * self.non_negative(&field("in_store"), share.in_store)?,
            ]);
        }
        for channel in Channel::ALL {
            let c = channel.index();
            let sum: f64 = regions.iter().map(|r| r[c]).sum();
            if sum <= 0.0 {
                return Err(self.invalid(
                    "regions",
                    format!("{channel} multipliers"),
                    "at least one region needs a multiplier above 0 for each channel",
                ));
            }
            regions.iter_mut().for_each(|r| r[c] /= sum);
        }
        Ok(regions)
    }
}

/// The checks that name categories of the scenario's catalogue.
struct CategoryNames<'a> {
    check: Check<'a>,
    categories: &'a [Category],
}

impl CategoryNames<'_> {
    fn index(&self, field: &str, name: &str) -> Result<usize, ScenarioError> {
        self.categories.iter().position(|c| c.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.categories.iter().map(|c| c.name).collect();
            // Seasons and promotions left out of a file are the built-in ones, which name
            // the built-in categories: say so when the file replaced the catalogue.
            let hint = if field.starts_with("seasons") || field.starts_with("promotions") {
                "; seasons and promotions a file leaves out are the built-in ones: give your own, \
                 or `seasons = []` and `promotions = []`"
            } else {
                ""
            };
            self.check.invalid(
                field,
                name.to_string(),
                &format!("unknown category; the categories are {known:?}{hint}"),
            )
        })
    }

    fn seasons(&self, seasons: &[Season]) -> Result<Vec<CompiledSeason>, ScenarioError> {
        let check = self.check;
        let mut compiled = Vec::new();
        for (i, s) in seasons.iter().enumerate() {
            let field = format!("seasons[{i}] ({})", s.name);
            let mut mix = vec![1.0; self.categories.len()];
            for (name, m) in &s.categories {
                mix[self.index(&format!("{field}.categories"), name)?] =
                    check.non_negative(&format!("{field}.categories.{name}"), *m)?;
            }
            compiled.push(CompiledSeason {
                range: check.range(&field, &s.from, &s.to)?,
                demand: check.non_negative(&format!("{field}.demand"), s.demand)?,
                mix,
            });
        }
        Ok(compiled)
    }

    /// The promotions.
    fn promotions(&self, promotions: &[Promotion]) -> Result<Vec<CompiledPromotion>, ScenarioError> {
        let check = self.check;
        let mut compiled = Vec::new();
        for (i, p) in promotions.iter().enumerate() {
            let field = format!("promotions[{i}] ({})", p.name);
            if !(0.0..=MAX_DISCOUNT).contains(&p.discount) {
                return Err(check.invalid(
                    &format!("{field}.discount"),
                    p.discount.to_string(),
                    "must be between 0 and 0.9",
                ));
            }
            let mut on = vec![p.categories.is_empty(); self.categories.len()];
            for name in &p.categories {
                on[self.index(&format!("{field}.categories"), name)?] = true;
            }
            let mut channels = [p.channels.is_empty(); 2];
            for name in &p.channels {
                let channel = Channel::parse(name).ok_or_else(|| {
                    check.invalid(
                        &format!("{field}.channels"),
                        name.clone(),
                        "unknown channel; the channels are online and in_store",
                    )
                })?;
                channels[channel.index()] = true;
            }
            compiled.push(CompiledPromotion {
                range: check.range(&field, &p.from, &p.to)?,
                categories: on,
                channels,
                discount: p.discount,
                uplift: check.non_negative(&format!("{field}.uplift"), p.uplift)?,
            });
        }
        Ok(compiled)
    }
}

/// `price` lowered by `discount`, rounded half up to the grosz, and never below 1 grosz:
/// nothing is given away.
pub fn discounted(price: i64, discount: f64) -> i64 {
    if discount <= 0.0 {
        price
    } else {
        ((price as f64 * (1.0 - discount)).round() as i64).max(1)
    }
}

/// The net price in grosz of a shelf price in PLN with 23 % VAT: the one whose gross
/// value for one unit is the shelf price, where one is (for most prices one is; for the
/// rest the nearest).
fn net_of_shelf_price(pln: f64) -> i64 {
    let shelf = (pln * 100.0).round() as i64;
    let near = (shelf as f64 / 1.23).round() as i64;
    [near, near - 1, near + 1]
        .into_iter()
        .find(|n| *n > 0 && crate::order::gross_value(*n, 1) == shelf)
        .unwrap_or(near.max(1))
}

/// The scenario's categories, their demand weights, and each one's product popularity
/// (empty for a category given in the prototype's form). A category named as one of the
/// prototype's also accepts the prototype's names, brands and prices, so that old orders
/// still decode.
/// A name the record can carry as it is into JSON, CSV and a spreadsheet, that reads as
/// what it is: printable letters, digits, single spaces and punctuation.
fn is_plain_name(value: &str) -> bool {
    let allowed = |c: char| {
        c.is_alphanumeric()
            || c == ' '
            || (c.is_ascii_punctuation() && !matches!(c, '"' | '\\' | ',' | ';'))
            || "–—’‘°×²³®™µ½".contains(c)
    };
    (1..=100).contains(&value.chars().count())
        && value.chars().all(allowed)
        && !value.starts_with(['=', '+', '-', '@', ' '])
        && !value.ends_with(' ')
        && !value.contains("  ")
}

/// A scenario's catalogue, as [`build_catalogue`] makes it.
struct Built {
    categories: Vec<Category>,
    /// Demand weight per category.
    weights: Vec<f64>,
    /// Per category, each item's popularity.
    popularity: Vec<Vec<f64>>,
}

fn build_catalogue(scenario: &Scenario, path: &str) -> Result<Built, ScenarioError> {
    let invalid = |field: String, value: String, reason: &str| ScenarioError::Invalid {
        path: path.to_string(),
        field,
        value,
        reason: reason.to_string(),
    };
    let text = |field: String, value: &str| -> Result<&'static str, ScenarioError> {
        if !is_plain_name(value) {
            return Err(invalid(
                field,
                format!("{value:?}"),
                "needs 1-100 letters, digits, spaces and punctuation, without quotes, backslashes, \
                 commas or semicolons, without spaces at either end, not starting with = + - or @ \
                 (a spreadsheet would read a formula)",
            ));
        }
        Ok(Box::leak(value.to_string().into_boxed_str()))
    };
    // Two names that differ only in letter case would look like one product on a chart.
    let distinct = |field: String, names: &[&str]| -> Result<(), ScenarioError> {
        let mut seen = std::collections::HashSet::new();
        match names.iter().find(|n| !seen.insert(n.to_lowercase())) {
            Some(twin) => Err(invalid(field, format!("{twin:?}"), "named twice (letter case aside)")),
            None => Ok(()),
        }
    };
    let list = |field: String, values: &[String]| -> Result<Vec<&'static str>, ScenarioError> {
        if values.is_empty() {
            return Err(invalid(field, "[]".into(), "needs at least one entry"));
        }
        values.iter().map(|v| text(field.clone(), v)).collect()
    };
    if scenario.categories.is_empty() || scenario.categories.len() > 200 {
        return Err(invalid(
            "categories".into(),
            scenario.categories.len().to_string(),
            "needs 1 to 200 categories",
        ));
    }
    let mut categories = Vec::new();
    let mut weights = Vec::new();
    let mut popularity = Vec::new();
    for (i, c) in scenario.categories.iter().enumerate() {
        let field = |key: &str| format!("categories[{i}].{key}");
        let name = text(field("name"), &c.name)?;
        if categories.iter().any(|k: &Category| k.name == name) {
            return Err(invalid(field("name"), c.name.clone(), "duplicate category"));
        }
        let (mut products, mut brands, mut items, mut min, mut max, mut sold) =
            (Vec::new(), Vec::new(), Vec::new(), i64::MAX, 0, Vec::new());
        match (&c.items[..], c.price) {
            ([], Some([lo, hi])) => {
                if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo <= hi && hi < 1e9) {
                    return Err(invalid(
                        field("price"),
                        format!("{:?}", [lo, hi]),
                        "needs [min, max] in PLN with 0 < min <= max",
                    ));
                }
                products = list(field("products"), &c.products)?;
                distinct(field("products"), &products)?;
                brands = list(field("brands"), &c.brands)?;
                distinct(field("brands"), &brands)?;
                (min, max) = ((lo * 100.0).round() as i64, (hi * 100.0).round() as i64);
            }
            ([], None) => {
                return Err(invalid(
                    field("items"),
                    "[]".into(),
                    "needs `items` (each product with brand and shelf price), or `products`, `brands` and a `price` range",
                ))
            }
            (given, price) => {
                if price.is_some() || !c.products.is_empty() || !c.brands.is_empty() {
                    return Err(invalid(
                        field("items"),
                        format!("{} items", given.len()),
                        "give either `items` or `products`, `brands` and `price`, not both",
                    ));
                }
                for (j, item) in given.iter().enumerate() {
                    let at = |key: &str| format!("categories[{i}].items[{j}].{key}");
                    let product = text(at("name"), &item.name)?;
                    if products.iter().any(|p: &&str| p.to_lowercase() == product.to_lowercase()) {
                        return Err(invalid(
                            at("name"),
                            item.name.clone(),
                            "duplicate product in this category (letter case aside)",
                        ));
                    }
                    let brand = text(at("brand"), &item.brand)?;
                    if !(item.shelf_price.is_finite() && item.shelf_price >= 0.02 && item.shelf_price < 1e7) {
                        return Err(invalid(
                            at("shelf_price"),
                            item.shelf_price.to_string(),
                            "needs a price in PLN from 0.02 to 9,999,999",
                        ));
                    }
                    if !(item.popularity.is_finite() && (0.0..=MAX_WEIGHT).contains(&item.popularity)) {
                        return Err(invalid(
                            at("popularity"),
                            item.popularity.to_string(),
                            "must be a number from 0 to 1e9",
                        ));
                    }
                    let price_grosz = net_of_shelf_price(item.shelf_price);
                    (min, max) = (min.min(price_grosz), max.max(price_grosz));
                    products.push(product);
                    if !brands.contains(&brand) {
                        brands.push(brand);
                    }
                    items.push(Product { name: product, brand, price_grosz });
                    sold.push(item.popularity);
                }
                if sold.iter().sum::<f64>() <= 0.0 {
                    return Err(invalid(field("items"), "popularity 0".into(), "at least one product needs a popularity above 0"));
                }
            }
        }
        let weight = c.weight.unwrap_or(products.len() as f64);
        if !(weight.is_finite() && weight > 0.0 && weight <= MAX_WEIGHT) {
            return Err(invalid(
                field("weight"),
                weight.to_string(),
                "must be a number above 0 and at most 1e9",
            ));
        }
        // Only a category of items, whose orders draw from the items, can also accept the
        // prototype's values without selling them.
        let prototype = PROTOTYPE_CATEGORIES.iter().find(|p| p.name == name).filter(|_| !items.is_empty());
        if let Some(old) = prototype {
            let names: Vec<&'static str> =
                old.products.iter().copied().filter(|p| !products.contains(p)).collect();
            products.extend(names);
            let makers: Vec<&'static str> =
                old.brands.iter().copied().filter(|b| !brands.contains(b)).collect();
            brands.extend(makers);
            (min, max) = (min.min(old.min_price_grosz), max.max(old.max_price_grosz));
        }
        categories.push(Category {
            name,
            products: Box::leak(products.into_boxed_slice()),
            brands: Box::leak(brands.into_boxed_slice()),
            items: Box::leak(items.into_boxed_slice()),
            min_price_grosz: min,
            max_price_grosz: max,
            lowest_price_grosz: min,
            index: categories.len(),
        });
        weights.push(weight);
        popularity.push(sold);
    }
    Ok(Built { categories, weights, popularity })
}
