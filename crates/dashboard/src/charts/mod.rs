//! The dashboard's charts, written as SVG on the server: no script library and no CDN, so
//! the page works offline and without JavaScript.
//!
//! They are our own SVG rather than a plotting crate's because what makes them readable
//! is text placement and markup a plotting backend does not give: a `viewBox` that
//! scales to the card, `<title>` tooltips with exact figures, Polish time ticks and
//! money, labels laid out so that they cannot overlap, and classes the browser tests
//! measure.

mod bars;
pub(crate) mod format;
mod map;
mod stacked;
mod svg;
pub(crate) mod time_axis;

use std::collections::BTreeMap;

use crate::analytics::{Analytics, Choice, Split, Summary, Totals, TotalsReport};
use crate::lang::Lang;
use crate::order::Region;
use crate::view::{Grain, View};

pub(crate) use format::zl_exact;
use time_axis::Step;

/// The charts, by the name in `/chart/{name}.svg`, in the order of their headings in
/// [`Words::charts`](crate::lang::Words).
pub(crate) const CHARTS: [&str; 8] =
    ["volume", "value", "value-region", "category", "region", "channel", "payment", "map"];

/// Width of a chart when the page has not said how wide its card is.
pub(super) const DEFAULT_WIDTH: u32 = 640;

/// Which figure a time chart sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Measure {
    /// Orders.
    Orders,
    /// Gross value, in złoty.
    Gross,
}

impl Measure {
    fn of(self, t: &Totals) -> f64 {
        match self {
            Measure::Orders => t.orders as f64,
            Measure::Gross => t.gross as f64 / 100.0,
        }
    }

    /// A rounded axis label.
    fn axis(self, v: f64) -> String {
        match self {
            Measure::Orders => format::compact(v),
            Measure::Gross => format::zl_compact(v),
        }
    }

    /// The exact figure, for a tooltip.
    fn exact(self, v: f64, lang: Lang) -> String {
        match self {
            Measure::Orders => {
                let n = v.round() as u64;
                lang.orders(n, &format::count(n))
            }
            Measure::Gross => zl_exact((v * 100.0).round() as i64),
        }
    }
}

impl Grain {
    /// The chart step of this grain.
    fn step(self) -> Step {
        match self {
            Grain::Hour => Step::Minutes(60),
            Grain::Day => Step::Days(1),
            Grain::Week => Step::Days(7),
            Grain::Month => Step::Months(1),
        }
    }
}

/// The SVG of chart `name` over `view`, `width` px wide; `None` if there is no such
/// chart. The bar charts and the map read `summary` when the caller already has the
/// view's (for the map, with every store ranked). When the
/// stream is `idle`, only a column that reaches past now is unfinished (the last column
/// of a finished backfill is final); else every column the watermark has not passed.
pub(super) fn render(
    analytics: &mut Analytics,
    name: &str,
    view: &View,
    width: u32,
    summary: Option<&Summary>,
    idle: bool,
) -> Option<String> {
    let width = f64::from(width.clamp(240, 4000));
    let (filter, lang) = (&view.filter, view.lang);
    let title = lang.words().charts[CHARTS.iter().position(|n| *n == name)?];
    let categories: Vec<&'static str> = analytics.categories().iter().map(|c| c.name).collect();
    // Regions are shown by their names; the record and the API keep the codes, which
    // the click-to-filter marks carry.
    let regions: Vec<&'static str> = Region::ALL.iter().map(|r| lang.region(*r)).collect();
    let region_codes: Vec<&'static str> = Region::ALL.iter().map(|r| r.as_str()).collect();
    let (category_codes, region_marks) = (categories.clone(), region_codes.clone());
    let over_time = |analytics: &mut Analytics, by: Split, measure: Measure, keys: Vec<&'static str>| {
        let watermark = analytics.watermark_ms();
        let unfinished_after = if idle { Some(crate::clock::now_millis()) } else { watermark };
        let points = analytics
            .split_series(filter, by)
            .into_iter()
            .map(|(start, split)| (start, split.iter().map(|t| measure.of(t)).collect()))
            .collect();
        let (dimension, codes) = match by {
            Split::Category => ("category", category_codes.clone()),
            Split::Region => ("region", region_marks.clone()),
        };
        stacked::draw(&stacked::TimeChart {
            name,
            title,
            keys,
            filter_by: (dimension, codes),
            points,
            window_ms: analytics.resolution(filter).nominal_ms(),
            from: filter.from_ms,
            to: filter.to_ms,
            watermark,
            unfinished_after,
            measure,
            width,
            grain: view.grain.map(Grain::step),
            lang,
        })
    };
    Some(match name {
        "volume" => over_time(analytics, Split::Category, Measure::Orders, categories),
        "value" => over_time(analytics, Split::Category, Measure::Gross, categories),
        "value-region" => over_time(analytics, Split::Region, Measure::Gross, regions),
        // Every store: the caller's summary holds them all (the page asks for every
        // one), else one is made here.
        "map" => match summary {
            Some(summary) => map::draw(name, title, &summary.top_stores, width, lang),
            None => map::draw(name, title, &analytics.summary(filter, 1000).top_stores, width, lang),
        },
        _ => {
            let computed;
            let summary = match summary {
                Some(summary) => summary,
                None => {
                    computed = analytics.summary(filter, 0);
                    &computed
                }
            };
            // Regions and categories left out of the filter are left out of their bars
            // (a zero would read as "no sales").
            let chosen = |values: &BTreeMap<&'static str, TotalsReport>, codes: &[&str], choice: Choice| {
                values
                    .iter()
                    .filter(|(code, _)| {
                        codes.iter().position(|c| c == *code).is_some_and(|i| choice.keeps(i))
                    })
                    .map(|(code, v)| (*code, v.clone()))
                    .collect::<BTreeMap<_, _>>()
            };
            let (values, order, filter_by) = match name {
                "category" => (
                    chosen(&summary.by_category, &categories, filter.categories),
                    categories,
                    Some("category"),
                ),
                "region" => {
                    (chosen(&summary.by_region, &region_codes, filter.regions), region_codes, Some("region"))
                }
                "channel" => (summary.by_channel.clone(), summary.by_channel.keys().copied().collect(), None),
                _ => (summary.by_payment.clone(), summary.by_payment.keys().copied().collect(), None),
            };
            bars::draw(&bars::BarChart {
                name,
                title,
                values: &values,
                colour_order: &order,
                filter_by,
                width,
                lang,
            })
        }
    })
}
