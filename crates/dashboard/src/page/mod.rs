//! The dashboard page `/`: rendered on the server with the current figures and charts (so
//! it works without JavaScript and offline), then kept live by a small script that listens
//! to `/api/live` and refreshes the figures, tables and charts. `?static=1` leaves the live
//! stream out, for screenshots and printing.

mod controls;

use std::fmt::Write;

use super::api::Previous;
use super::charts::format;
use super::html::esc;
use super::lang::{Lang, Words};
use super::state::LiveState;
use super::view::{Params, View};
use crate::analytics::{Ranked, Summary, TotalsReport};
use crate::order::Region;
use crate::stats::Stats;

fn pln(grosz: i64) -> String {
    super::charts::zl_exact(grosz)
}

/// A ranked table; `group` names each row's group (a category, or a region's label).
fn table(
    id: &str,
    title: &str,
    columns: [&str; 4],
    rows: &[Ranked],
    group: impl Fn(&'static str) -> &'static str,
) -> String {
    let head: String = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("<th{}>{}</th>", if i >= 2 { " class=\"num\"" } else { "" }, esc(c)))
        .collect();
    let mut html = format!(
        "<section class=\"card\"><h2>{}</h2><table id=\"{id}\"><thead><tr>{head}</tr></thead><tbody>",
        esc(title)
    );
    for r in rows {
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=\"muted\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(r.name),
            esc(group(r.group)),
            format::count(r.totals.orders),
            pln(r.totals.gross_value_grosz)
        );
    }
    html.push_str("</tbody></table></section>");
    html
}

/// The page for `view`; `params` is the page's own query, kept by its links, charts and
/// API calls.
pub(super) fn render(state: &LiveState, view: &View, params: &Params, live: bool) -> String {
    let lang = view.lang;
    let words = lang.words();
    let idle = state.is_idle();
    let mut analytics = state.analytics();
    // Every product and store: the map reads them all, the tables show the first ten.
    let summary: Summary = analytics.summary(&view.filter, 1000);
    let previous = super::api::previous_period(&mut analytics, &view.filter);
    let year_ago = super::api::year_earlier(&mut analytics, &view.filter);
    let categories = analytics.categories();
    let newest = analytics.newest_ms();
    let covered = analytics.covered(&view.filter);
    let ticker = ticker_rows(&analytics, view);
    let view_query = params.to_query(&["static"]);
    let sep = if view_query.is_empty() { "" } else { "&amp;" };
    // Drawn for a desktop card and for a phone; the stylesheet shows the one that fits
    // until the script has fetched them at the card's own width.
    let charts: String = super::charts::CHARTS
        .iter()
        .filter_map(|name| {
            let mut svgs = String::new();
            for (width, class) in [(super::charts::DEFAULT_WIDTH, "wide"), (360, "narrow")] {
                let svg = super::charts::render(&mut analytics, name, view, width, Some(&summary), idle)?;
                let _ = write!(svgs, "<div class=\"{class}\">{svg}</div>");
            }
            Some(format!(
                "<figure class=\"card chart\" data-chart=\"{name}\"><div class=\"plot\">{svgs}</div>\
                 <a class=\"panel-csv\" href=\"/api/panel.csv?chart={name}{sep}{}\">CSV</a></figure>\n",
                esc(&view_query),
            ))
        })
        .collect();
    drop(analytics);
    let query = params.to_query(&["static"]);
    let q = esc(&query);
    let region_label = move |code: &'static str| Region::parse(code).map_or(code, |r| lang.region(r));
    format!(
        r#"<!doctype html>
<html lang="{lang_code}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · {subtitle}</title>
<style>{STYLE}</style>
</head>
<body data-query="{q}" data-live="{live}">
<header><h1>{title} <span class="muted">{subtitle}</span></h1>
{controls}
</header>
<section class="kpis">
{kpis}
</section>
<section class="grid">
{charts}</section>
<section class="grid">
{top_products}{top_stores}
<section class="card"><h2>{ticker} <span class="muted">{ticker_note}</span></h2><table id="ticker"><tbody>{ticker_rows}</tbody></table></section>
<section class="card"><h2>{health_title}</h2><table id="health"><tbody>
{health}
</tbody></table></section>
</section>
<script>const WORDS = {words_json};
{SCRIPT}</script>
</body>
</html>
"#,
        lang_code = lang.code(),
        title = words.title,
        subtitle = words.subtitle,
        controls =
            controls::render(view, params, categories, newest, covered, summary.total.orders > 0, live),
        kpis = kpis(&summary, previous.as_ref(), year_ago.as_ref(), words),
        top_products = table(
            "top-products",
            words.top_products,
            [words.col_product, words.category, words.kpi_orders, words.kpi_gross],
            &summary.top_products[..summary.top_products.len().min(10)],
            |c| c
        ),
        top_stores = table(
            "top-stores",
            words.top_stores,
            [words.col_store, words.region, words.kpi_orders, words.kpi_gross],
            &summary.top_stores[..summary.top_stores.len().min(10)],
            region_label
        ),
        ticker = words.ticker,
        ticker_rows = ticker,
        ticker_note = words.ticker_note,
        health_title = words.health,
        health = health_rows(state, words),
        words_json = script_words(lang),
    )
}

/// The newest ten orders of the selection as table rows, as the script writes them from
/// the live events (so a static page has them too).
fn ticker_rows(analytics: &crate::analytics::Analytics, view: &View) -> String {
    let categories = analytics.categories();
    let chosen = |o: &&crate::order::Order| {
        view.filter.regions.keeps(o.region.index())
            && view.filter.categories.keeps(
                categories.iter().position(|c| c.name == o.kategoria_produktu.name).unwrap_or(usize::MAX),
            )
    };
    analytics
        .ticker()
        .rev()
        .filter(chosen)
        .take(10)
        .map(|o| {
            let t = format::local(o.timestamp.utc_millis());
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                t.format("%H:%M:%S"),
                esc(o.store_id),
                esc(o.nazwa_produktu),
                pln(o.wartosc_brutto)
            )
        })
        .collect()
}

/// The words and labels the script writes, as a JSON object.
fn script_words(lang: Lang) -> String {
    let w = lang.words();
    let labels: serde_json::Map<String, serde_json::Value> = Region::ALL
        .iter()
        .map(|r| r.as_str())
        .chain(crate::order::Channel::ALL.iter().map(|c| c.as_str()))
        .chain(crate::order::Device::ALL.iter().map(|d| d.as_str()))
        .chain(crate::order::Payment::ALL.iter().map(|p| p.as_str()))
        .map(|code| (code.to_string(), lang.label(code).into()))
        .collect();
    serde_json::json!({
        "lang": lang.code(),
        "live": w.live,
        "reconnecting": w.reconnecting,
        "refreshFailed": w.refresh_failed,
        "noPrevious": w.no_previous,
        "vsPrevious": w.vs_previous,
        "vsYearAgo": w.vs_year_ago,
        "perSecond": w.per_second,
        "yes": w.yes,
        "no": w.no,
        "noData": w.no_data,
        "dataUpTo": w.data_up_to,
        "labels": labels,
    })
    .to_string()
    // Inside a <script>, `</` would end it.
    .replace("</", "<\\/")
}

/// The headline figures of the selection, each with its change against the period of
/// the same length before it, and against the same period a year earlier where that
/// year holds orders.
fn kpis(
    summary: &Summary,
    previous: Option<&Previous>,
    year_ago: Option<&Previous>,
    words: &Words,
) -> String {
    let card = |id: &str, label: &str, value: String, deltas: [String; 2]| {
        format!(
            "<div class=\"kpi\"><div class=\"label\">{label}</div><div class=\"value\" id=\"{id}\">{value}</div>\
             <div class=\"delta\" id=\"{id}-delta\">{}</div><div class=\"delta\" id=\"{id}-yoy\">{}</div></div>",
            deltas[0], deltas[1]
        )
    };
    // One figure read from the selection's totals and from both comparisons' alike.
    let kpi = |id: &str, label: &str, value: String, figure: fn(&TotalsReport) -> f64| {
        let now = figure(&summary.total);
        let previous = delta(now, previous.map(|p| figure(&p.totals)), words, words.vs_previous);
        let yoy = year_ago.map(|y| delta(now, Some(figure(&y.totals)), words, words.vs_year_ago));
        card(id, label, value, [previous, yoy.unwrap_or_default()])
    };
    let total = &summary.total;
    [
        kpi("k-orders", words.kpi_orders, format::count(total.orders), |t| t.orders as f64),
        kpi("k-gross", words.kpi_gross, pln(total.gross_value_grosz), |t| t.gross_value),
        kpi("k-net", words.kpi_net, pln(total.net_value_grosz), |t| t.net_value),
        kpi("k-units", words.kpi_units, format::count(total.units), |t| t.units as f64),
        kpi("k-aov", words.kpi_aov, pln((total.avg_order_value * 100.0).round() as i64), |t| {
            t.avg_order_value
        }),
        card(
            "k-repeat",
            words.kpi_repeat,
            format::count(summary.repeat_customers.orders),
            ["&nbsp;".into(), String::new()],
        ),
    ]
    .concat()
}

/// `▲ 12,3 % vs previous period` (`against` says what with), or why there is no
/// comparison.
fn delta(now: f64, then: Option<f64>, words: &Words, against: &str) -> String {
    match then {
        None => "&nbsp;".into(),
        Some(then) if then <= 0.0 => words.no_previous.into(),
        Some(then) => {
            let change = (now - then) / then * 100.0;
            let (arrow, class) = if change >= 0.05 {
                ("▲", "up")
            } else if change <= -0.05 {
                ("▼", "down")
            } else {
                ("=", "flat")
            };
            format!(
                "<span class=\"{class}\">{arrow} {} %</span> {against}",
                format!("{:.1}", change.abs()).replace('.', ",")
            )
        }
    }
}

/// The pipeline's counters as table rows, the sinks that run and no others; the live
/// events update them by id.
fn health_rows(state: &LiveState, words: &Words) -> String {
    let stats = &state.stats;
    let when = |ms: Option<i64>| ms.map_or_else(|| "-".to_string(), format::instant_seconds);
    let newest = state.analytics().newest_ms();
    let mut rows: Vec<(String, String, String)> = vec![
        ("h-written".into(), words.h_written.into(), format::count(Stats::get(&stats.written))),
        ("h-rate".into(), words.h_rate.into(), "-".into()),
        ("h-durable".into(), words.h_durable.into(), when(state.last_durable_ms())),
        ("h-newest".into(), words.h_newest.into(), when(newest)),
    ];
    for (i, sink) in state.side_sinks().into_iter().enumerate() {
        rows.push((
            format!("h-sink-{i}"),
            format!("{}: {}", sink.name(), words.h_written_sink),
            format::count(sink.written(stats)),
        ));
    }
    rows.extend([
        ("h-consumed".into(), words.h_consumed.into(), format::count(Stats::get(&stats.consumed))),
        ("h-dead".into(), words.h_dead.into(), format::count(Stats::get(&stats.dead_lettered))),
        ("h-late".into(), words.h_late.into(), format::count(Stats::get(&stats.late))),
        ("h-lag".into(), words.h_lag.into(), format::count(state.total_lag().max(0) as u64)),
        ("h-ready".into(), words.h_ready.into(), if state.is_ready() { words.yes } else { words.no }.into()),
        ("h-screen".into(), words.h_screen.into(), "-".into()),
    ]);
    rows.iter()
        .map(|(id, label, value)| {
            format!("<tr><td>{}</td><td class=\"num\" id=\"{id}\">{}</td></tr>\n", esc(label), esc(value))
        })
        .collect()
}

const STYLE: &str = include_str!("style.css");

const SCRIPT: &str = include_str!("script.js");
