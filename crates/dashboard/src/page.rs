//! The dashboard page `/`: rendered on the server with the current figures and charts (so
//! it works without JavaScript and offline), then kept live by a small script that listens
//! to `/api/live` and refreshes the figures, tables and charts.

use std::fmt::Write;

use super::state::LiveState;
use crate::analytics::{Filter, Ranked, Summary};
use crate::order::{Category, Region};
use crate::stats::Stats;

/// Time ranges offered by the filter, relative to the latest order.
pub(super) const RANGES: [(&str, &str); 9] = [
    ("15m", "last 15 minutes"),
    ("1h", "last hour"),
    ("6h", "last 6 hours"),
    ("24h", "last 24 hours"),
    ("7d", "last 7 days"),
    ("30d", "last 30 days"),
    ("90d", "last 90 days"),
    ("365d", "last 365 days"),
    ("all", "everything kept"),
];

pub(super) fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn pln(grosz: i64) -> String {
    let sign = if grosz < 0 { "-" } else { "" };
    let g = grosz.abs();
    let zl = (g / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in zl.chars().enumerate() {
        if i > 0 && (zl.len() - i).is_multiple_of(3) {
            grouped.push('\u{202f}');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{:02} PLN", g % 100)
}

fn table(id: &str, title: &str, rows: &[Ranked]) -> String {
    let mut html = format!("<section class=\"card\"><h2>{}</h2><table id=\"{id}\"><tbody>", esc(title));
    for r in rows {
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=\"muted\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(r.name),
            esc(r.group),
            r.totals.orders,
            pln(r.totals.gross_value_grosz)
        );
    }
    html.push_str("</tbody></table></section>");
    html
}

/// The page for `query` (the page's own query string, passed on to the charts and API).
pub(super) fn render(state: &LiveState, filter: &Filter, query: &str, range: &str) -> String {
    let analytics = state.analytics();
    let summary: Summary = analytics.summary(filter, 10);
    let categories = analytics.categories();
    drop(analytics);
    let q = esc(query);
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>orderstream live sales</title>
<style>{STYLE}</style>
</head>
<body data-query="{q}">
<header><h1>orderstream <span class="muted">live sales</span></h1>
{form}
<span id="status" class="muted">server-rendered</span>
<span class="muted">times in Polish time (Europe/Warsaw)</span>
</header>
<section class="kpis">
{kpis}
</section>
<section class="grid">
{charts}
</section>
<section class="grid">
{top_products}{top_stores}
<section class="card"><h2>Live orders <span class="muted">(the newest ten of the selection)</span></h2><table id="ticker"><tbody></tbody></table></section>
<section class="card"><h2>Pipeline health</h2><table id="health"><tbody>
{health}
</tbody></table></section>
</section>
<script>{SCRIPT}</script>
</body>
</html>
"#,
        form = filter_form(filter, categories, range),
        kpis = kpis(&summary),
        charts = charts(&q),
        top_products = table("top-products", "Top products", &summary.top_products),
        top_stores = table("top-stores", "Top stores", &summary.top_stores),
        health = health_rows(state),
    )
}

/// The range, region and category selects, with the current choice selected.
fn filter_form(filter: &Filter, categories: &[Category], range: &str) -> String {
    let option = |value: &str, label: &str, selected: bool| {
        format!(
            "<option value=\"{}\"{}>{}</option>",
            esc(value),
            if selected { " selected" } else { "" },
            esc(label)
        )
    };
    let mut ranges: String = RANGES.iter().map(|(v, l)| option(v, l, *v == range)).collect();
    if !RANGES.iter().any(|(v, _)| *v == range) {
        // A range typed into the address (`?range=2h`) is applied, and shown as chosen.
        ranges.push_str(&option(range, &format!("last {range}"), true));
    }
    let regions: String = std::iter::once(option("", "all regions", filter.region.is_none()))
        .chain(Region::ALL.iter().map(|r| option(r.as_str(), r.as_str(), filter.region == Some(r.index()))))
        .collect();
    let category_options: String = std::iter::once(option("", "all categories", filter.category.is_none()))
        .chain(categories.iter().enumerate().map(|(i, c)| option(c.name, c.name, filter.category == Some(i))))
        .collect();
    format!(
        r#"<form id="filters" method="get" action="/">
<select name="range">{ranges}</select>
<select name="region">{regions}</select>
<select name="category">{category_options}</select>
<button type="submit">Apply</button>
</form>"#
    )
}

/// The headline figures of the selection.
fn kpis(summary: &Summary) -> String {
    let kpi = |id: &str, label: &str, value: String| {
        format!("<div class=\"kpi\"><div class=\"label\">{label}</div><div class=\"value\" id=\"{id}\">{value}</div></div>")
    };
    let total = &summary.total;
    [
        kpi("k-orders", "orders", total.orders.to_string()),
        kpi("k-gross", "gross value", pln(total.gross_value_grosz)),
        kpi("k-net", "net value", pln(total.net_value_grosz)),
        kpi("k-units", "units", total.units.to_string()),
        kpi("k-aov", "average order", format!("{:.2} PLN", total.avg_order_value)),
        kpi("k-repeat", "repeat customers", summary.repeat_customers.orders.to_string()),
    ]
    .concat()
}

/// The SVG charts of the selection (`q` is its escaped query string).
fn charts(q: &str) -> String {
    [
        ("volume", "orders over time"),
        ("value", "gross value over time"),
        ("category", "gross value by category"),
        ("region", "gross value by region"),
        ("channel", "gross value by sales channel"),
        ("payment", "gross value by payment method"),
    ]
    .iter()
    .map(|(name, alt)| {
        format!("<img class=\"chart\" data-chart=\"{name}\" src=\"/chart/{name}.svg?{q}\" alt=\"{alt}\" width=\"620\" height=\"280\">")
    })
    .collect()
}

/// The pipeline's counters as table rows; the live events update them by id.
fn health_rows(state: &LiveState) -> String {
    let stats = &state.stats;
    let lag = state.lags().values().map(|l| l.records.max(0)).sum::<i64>();
    let rows: [(&str, &str, String); 9] = [
        ("h-written", "orders written (CSV)", Stats::get(&stats.written).to_string()),
        ("h-rate", "write rate (10 s average)", "-".into()),
        ("h-sheet", "orders in Google Sheets", Stats::get(&stats.sheets_written).to_string()),
        ("h-consumed", "messages consumed", Stats::get(&stats.consumed).to_string()),
        ("h-dead", "dead letters", Stats::get(&stats.dead_lettered).to_string()),
        ("h-late", "late orders", Stats::get(&stats.late).to_string()),
        ("h-lag", "consumer lag (messages)", lag.to_string()),
        ("h-ready", "ready", state.is_ready().to_string()),
        ("h-screen", "order to screen", "-".into()),
    ];
    rows.iter()
        .map(|(id, label, value)| {
            format!("<tr><td>{label}</td><td class=\"num\" id=\"{id}\">{value}</td></tr>\n")
        })
        .collect()
}

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#111}
header{display:flex;gap:1.5rem;align-items:center;padding:.8rem 1.2rem;background:#fff;border-bottom:1px solid #ddd;flex-wrap:wrap}
h1{font-size:1.3rem;margin:0}h2{font-size:1rem;margin:.2rem 0 .6rem}
.muted{color:#667}.num{text-align:right;font-variant-numeric:tabular-nums}
.kpis{display:flex;gap:1rem;padding:1rem 1.2rem;flex-wrap:wrap}
.kpi{background:#fff;border-radius:8px;padding:.6rem 1rem;min-width:9rem;box-shadow:0 1px 2px #0001}
.kpi .label{font-size:.8rem;color:#667}.kpi .value{font-size:1.4rem;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(640px,1fr));gap:1rem;padding:0 1.2rem 1rem}
.card,.chart{background:#fff;border-radius:8px;box-shadow:0 1px 2px #0001}.card{padding:.6rem 1rem}
.chart{max-width:100%;height:auto}
table{width:100%;border-collapse:collapse;font-size:.85rem}td{padding:.15rem .4rem;border-bottom:1px solid #eee}
";

const SCRIPT: &str = r#"
(() => {
  const query = document.body.dataset.query;
  const $ = (id) => document.getElementById(id);
  const pln = (g) => (g / 100).toLocaleString('en-US', {minimumFractionDigits: 2, maximumFractionDigits: 2}).replace(/,/g, '\u202f') + ' PLN';
  const rows = (id, list, cells) => {
    const body = $(id).tBodies[0];
    body.replaceChildren(...list.map((item) => {
      const tr = document.createElement('tr');
      for (const [text, cls] of cells(item)) {
        const td = document.createElement('td');
        td.textContent = text;
        if (cls) td.className = cls;
        tr.appendChild(td);
      }
      return tr;
    }));
  };
  let busy = false, again = false, screen = [], connected = false, written = [];
  const chosen = new URLSearchParams(query);
  const inSelection = (o) => (!chosen.get('region') || o.region === chosen.get('region'))
    && (!chosen.get('category') || o.kategoria_produktu === chosen.get('category'));
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const s = await (await fetch('/api/summary?' + query)).json();
      if (s.error) { $('status').textContent = s.error; return; }
      $('k-orders').textContent = s.orders;
      $('k-gross').textContent = pln(s.gross_value_grosz);
      $('k-net').textContent = pln(s.net_value_grosz);
      $('k-units').textContent = s.units;
      $('k-aov').textContent = s.avg_order_value.toFixed(2) + ' PLN';
      $('k-repeat').textContent = s.repeat_customers.orders;
      const ranked = (r) => [[r.name], [r.group, 'muted'], [r.orders, 'num'], [pln(r.gross_value_grosz), 'num']];
      rows('top-products', s.top_products, ranked);
      rows('top-stores', s.top_stores, ranked);
      const t = Date.now();
      for (const img of document.querySelectorAll('img[data-chart]')) {
        img.src = '/chart/' + img.dataset.chart + '.svg?' + query + '&t=' + t;
      }
    } catch (e) {
      $('status').textContent = 'refresh failed: ' + e;
    } finally {
      busy = false;
      if (again) { again = false; setTimeout(refresh, 250); }
    }
  }
  const live = new EventSource('/api/live');
  live.addEventListener('open', () => { $('status').textContent = 'live'; });
  live.addEventListener('error', () => { $('status').textContent = 'reconnecting'; });
  live.addEventListener('snapshot', (event) => {
    const snap = JSON.parse(event.data);
    const now = Date.now();
    // The rate over the last ten seconds of snapshots, not between two of them.
    written.push({ at: now, count: snap.written });
    while (written.length > 2 && now - written[1].at >= 10000) written.shift();
    const first = written[0];
    if (now - first.at >= 1000) {
      const rate = (snap.written - first.count) * 1000 / (now - first.at);
      $('h-rate').textContent = Math.max(0, Math.round(rate)) + ' orders/s';
    }
    $('h-written').textContent = snap.written;
    $('h-sheet').textContent = snap.in_sheet;
    $('h-consumed').textContent = snap.consumed;
    $('h-dead').textContent = snap.dead_letters;
    $('h-late').textContent = snap.late;
    $('h-ready').textContent = snap.ready;
    rows('ticker', snap.ticker.filter(inSelection).slice(0, 10), (o) => [[o.timestamp.slice(11, 19)], [o.store_id], [o.nazwa_produktu], [o.wartosc_brutto.toFixed(2) + ' PLN', 'num']]);
    // The first snapshot after connecting may be old news; later ones are pushed
    // because orders arrived, so they measure the order-to-screen delay.
    const fresh = connected;
    connected = true;
    if (fresh && snap.ticker.length) {
      // Order to screen: from the newest order's timestamp to now, on this screen.
      const ms = Date.now() - Date.parse(snap.ticker[0].timestamp);
      screen = screen.concat([ms]).slice(-50);
      const sorted = [...screen].sort((a, b) => a - b);
      $('h-screen').textContent = ms + ' ms (median ' + sorted[Math.floor(sorted.length / 2)] + ' ms)';
      $('h-screen').dataset.samples = screen.join(',');
    }
    $('status').textContent = 'live';
    refresh();
  });
})();
"#;
