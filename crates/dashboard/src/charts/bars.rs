//! Gross value per category, region, channel or payment method as horizontal bars,
//! largest first: each row has its name and figures on a line of their own above its
//! bar, so labels never overlap at any width and no slot stands empty.

use std::collections::BTreeMap;

use super::format;
use super::svg::{self, Anchor, Svg, MUTED, PALETTE};
use crate::analytics::TotalsReport;
use crate::html::esc;
use crate::lang::Lang;

const ROW: f64 = 40.0;
const BAR: f64 = 12.0;

/// What a bar chart shows.
pub(crate) struct BarChart<'a> {
    /// Its name (`data-chart`).
    pub(crate) name: &'a str,
    /// Its heading.
    pub(crate) title: &'a str,
    /// Gross value per code (region code, category, channel, payment).
    pub(crate) values: &'a BTreeMap<&'static str, TotalsReport>,
    /// The codes in the order of the stacked charts' colours.
    pub(crate) colour_order: &'a [&'static str],
    /// The filter a click on a bar sets (`region`, `category`), if any.
    pub(crate) filter_by: Option<&'a str>,
    /// Width in px.
    pub(crate) width: f64,
    /// The language of its text.
    pub(crate) lang: Lang,
}

/// Draws bars of gross value per code, each named by its label; a bar's colour is that
/// of its code's place in `colour_order` (the same as in the stacked charts).
pub(crate) fn draw(chart: &BarChart<'_>) -> String {
    let BarChart { name, title, values, colour_order, filter_by, width, lang } = *chart;
    let words = lang.words();
    let mut rows: Vec<(&str, &TotalsReport)> = values.iter().map(|(k, v)| (*k, v)).collect();
    rows.sort_by(|a, b| b.1.gross_value_grosz.cmp(&a.1.gross_value_grosz).then(a.0.cmp(b.0)));
    let all: i64 = rows.iter().map(|(_, v)| v.gross_value_grosz).sum();
    let top = 44.0;
    let height = top + ROW * rows.len().max(1) as f64 + 4.0;
    let mut svg = Svg::new(name, width, height, title);
    svg.text("title", 8.0, 18.0, Anchor::Start, 14.0, "#111", title);
    let orders: u64 = rows.iter().map(|(_, v)| v.orders).sum();
    svg.text(
        "subtitle",
        8.0,
        36.0,
        Anchor::Start,
        11.0,
        MUTED,
        &format!(
            "{} {} {}",
            format::zl_compact(all as f64 / 100.0),
            words.share_in,
            lang.orders(orders, &format::count(orders))
        ),
    );
    if all <= 0 {
        svg.empty(width, top + 24.0, words.no_orders_chart);
        return svg.finish();
    }
    let (left, right) = (8.0, width - 8.0);
    let max = rows.iter().map(|(_, v)| v.gross_value_grosz).max().unwrap_or(1).max(1) as f64;
    for (i, (code, v)) in rows.iter().enumerate() {
        let key = lang.label(code);
        let y = top + ROW * i as f64;
        let share = v.gross_value_grosz as f64 / all as f64 * 100.0;
        let figures = format!(
            "{} · {} · {}",
            format::zl_compact(v.gross_value),
            lang.orders(v.orders, &format::count(v.orders)),
            format!("{share:.1} %").replace('.', ",")
        );
        let figures_width = svg::text_width(&figures, 11.0);
        let name_room = (right - left - figures_width - 12.0).max(24.0);
        svg.text("bar-label", left, y + 12.0, Anchor::Start, 12.0, "#111", &svg::fit(key, name_room, 12.0));
        svg.text("bar-value", right, y + 12.0, Anchor::End, 11.0, MUTED, &figures);
        let tooltip = format!(
            "{key}: {} {}, {} {}, {}, {} {}",
            format::zl_exact(v.gross_value_grosz),
            words.gross,
            format::zl_exact(v.net_value_grosz),
            words.net,
            lang.orders(v.orders, &format::count(v.orders)),
            format::count(v.units),
            words.units
        );
        let length = (v.gross_value_grosz.max(0) as f64 / max * (right - left)).max(1.0);
        // A click on the bar filters the page by its code (the page's script reads it).
        let click =
            filter_by.map(|d| format!(r#" data-filter="{d}" data-value="{}" cursor="pointer""#, esc(code)));
        let click = click.as_deref().unwrap_or("");
        svg.rect(left, y + 18.0, right - left, BAR, "#f1f5f9", click, &tooltip);
        let colour = colour_order.iter().position(|k| k == code).unwrap_or(i);
        svg.rect(left, y + 18.0, length, BAR, PALETTE[colour % PALETTE.len()], click, &tooltip);
    }
    svg.finish()
}
