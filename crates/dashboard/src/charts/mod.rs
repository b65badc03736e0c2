//! The dashboard's charts, written as SVG on the server: no script library and no CDN, so
//! the page works offline and without JavaScript.
//!
//! They are our own SVG rather than a plotting crate's because what makes them readable
//! is text placement and markup a plotting backend does not give: a `viewBox` that
//! scales to the card, `<title>` tooltips with exact figures, Polish time ticks and
//! money, labels laid out so that they cannot overlap, and classes the browser tests
//! measure.

mod bars;
mod format;
mod stacked;
mod svg;
mod time_axis;

use crate::analytics::{Analytics, Filter, Split, Summary, Totals};
use crate::order::Region;

pub(crate) use format::zl_exact;

/// The charts, by the name in `/chart/{name}.svg`, with their headings.
pub(super) const CHARTS: [(&str, &str); 7] = [
    ("volume", "Orders over time by category"),
    ("value", "Gross value over time by category"),
    ("value-region", "Gross value over time by region"),
    ("category", "Gross value by category"),
    ("region", "Gross value by region"),
    ("channel", "Gross value by sales channel"),
    ("payment", "Gross value by payment method"),
];

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
    fn exact(self, v: f64) -> String {
        match self {
            Measure::Orders => format!("{} orders", format::count(v.round() as u64)),
            Measure::Gross => zl_exact((v * 100.0).round() as i64),
        }
    }
}

/// The SVG of chart `name` over `filter`, `width` px wide; `None` if there is no such
/// chart. The bar charts read `summary` when the caller already has the filter's.
pub(super) fn render(
    analytics: &mut Analytics,
    name: &str,
    filter: &Filter,
    width: u32,
    summary: Option<&Summary>,
) -> Option<String> {
    let width = f64::from(width.clamp(240, 4000));
    let title = CHARTS.iter().find(|(n, _)| *n == name)?.1;
    let categories: Vec<&'static str> = analytics.categories().iter().map(|c| c.name).collect();
    // Regions are shown by their Polish names; the record and the API keep the codes.
    let regions: Vec<&'static str> = Region::ALL.iter().map(|r| r.polish_name()).collect();
    let over_time = |analytics: &mut Analytics, by: Split, measure: Measure, keys: Vec<&'static str>| {
        let watermark = analytics.watermark_ms();
        let points = analytics
            .split_series(filter, by)
            .into_iter()
            .map(|(start, split)| (start, split.iter().map(|t| measure.of(t)).collect()))
            .collect();
        stacked::draw(&stacked::TimeChart {
            name,
            title,
            keys,
            points,
            window_ms: analytics.resolution(filter).nominal_ms(),
            from: filter.from_ms,
            to: filter.to_ms,
            watermark,
            measure,
            width,
        })
    };
    Some(match name {
        "volume" => over_time(analytics, Split::Category, Measure::Orders, categories),
        "value" => over_time(analytics, Split::Category, Measure::Gross, categories),
        "value-region" => over_time(analytics, Split::Region, Measure::Gross, regions),
        _ => {
            let computed;
            let summary = match summary {
                Some(summary) => summary,
                None => {
                    computed = analytics.summary(filter, 0);
                    &computed
                }
            };
            let (values, label, order): (_, fn(&'static str) -> &'static str, _) = match name {
                "category" => (&summary.by_category, same, categories),
                "region" => (&summary.by_region, region_name, regions),
                "channel" => (&summary.by_channel, same, summary.by_channel.keys().copied().collect()),
                _ => (&summary.by_payment, same, summary.by_payment.keys().copied().collect()),
            };
            bars::draw(name, title, values, label, &order, width)
        }
    })
}

/// The Polish name of a region code, for people; other text as it is.
fn region_name(code: &'static str) -> &'static str {
    Region::parse(code).map_or(code, Region::polish_name)
}

/// A key shown as it is.
fn same(key: &'static str) -> &'static str {
    key
}
