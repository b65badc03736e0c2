//! Gross value per category, region, channel or payment method as horizontal bars,
//! largest first: each row has its name and figures on a line of their own above its
//! bar, so labels never overlap at any width and no slot stands empty.

use std::collections::BTreeMap;

use super::format;
use super::svg::{self, Anchor, Svg, MUTED, PALETTE};
use crate::analytics::TotalsReport;

const ROW: f64 = 40.0;
const BAR: f64 = 12.0;

/// Draws bars of gross value per key of `values`, `width` px wide, each named by
/// `label(key)`; a bar's colour is that of its label's place in `colour_order` (the same
/// as in the stacked charts).
pub(crate) fn draw(
    name: &str,
    title: &str,
    values: &BTreeMap<&'static str, TotalsReport>,
    label: fn(&'static str) -> &'static str,
    colour_order: &[&str],
    width: f64,
) -> String {
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
        &format!("{} in {} orders", format::zl_compact(all as f64 / 100.0), format::count(orders)),
    );
    if all <= 0 {
        svg.empty(width, top + 24.0, "No orders in this selection yet");
        return svg.finish();
    }
    let (left, right) = (8.0, width - 8.0);
    let max = rows.iter().map(|(_, v)| v.gross_value_grosz).max().unwrap_or(1).max(1) as f64;
    for (i, (code, v)) in rows.iter().enumerate() {
        let key = label(code);
        let y = top + ROW * i as f64;
        let share = v.gross_value_grosz as f64 / all as f64 * 100.0;
        let figures = format!(
            "{} · {} orders · {}",
            format::zl_compact(v.gross_value),
            format::count(v.orders),
            format!("{share:.1} %").replace('.', ",")
        );
        let figures_width = svg::text_width(&figures, 11.0);
        let name_room = (right - left - figures_width - 12.0).max(24.0);
        svg.text("bar-label", left, y + 12.0, Anchor::Start, 12.0, "#111", &svg::fit(key, name_room, 12.0));
        svg.text("bar-value", right, y + 12.0, Anchor::End, 11.0, MUTED, &figures);
        let tooltip = format!(
            "{key}: {} gross, {} net, {} orders, {} units",
            format::zl_exact(v.gross_value_grosz),
            format::zl_exact(v.net_value_grosz),
            format::count(v.orders),
            format::count(v.units)
        );
        let length = (v.gross_value_grosz.max(0) as f64 / max * (right - left)).max(1.0);
        svg.rect(left, y + 18.0, right - left, BAR, "#f1f5f9", "", &tooltip);
        let colour = colour_order.iter().position(|k| *k == key).unwrap_or(i);
        svg.rect(left, y + 18.0, length, BAR, PALETTE[colour % PALETTE.len()], "", &tooltip);
    }
    svg.finish()
}
