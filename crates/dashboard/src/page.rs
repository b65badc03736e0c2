//! The dashboard page `/`: rendered on the server with the current figures and charts (so
//! it works without JavaScript and offline), then kept live by a small script that listens
//! to `/api/live` and refreshes the figures, tables and charts.

use std::fmt::Write;

use super::api::Previous;
use super::html::esc;
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

fn pln(grosz: i64) -> String {
    super::charts::zl_exact(grosz)
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
    let mut analytics = state.analytics();
    let summary: Summary = analytics.summary(filter, 10);
    let previous = super::api::previous_period(&mut analytics, filter);
    let categories = analytics.categories();
    let charts: String = super::charts::CHARTS
        .iter()
        .filter_map(|(name, _)| {
            let svg = super::charts::render(
                &mut analytics,
                name,
                filter,
                super::charts::DEFAULT_WIDTH,
                Some(&summary),
            )?;
            Some(format!("<figure class=\"card chart\" data-chart=\"{name}\">{svg}</figure>\n"))
        })
        .collect();
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
<span class="muted" id="zone">times in Polish time (Europe/Warsaw)</span>
</header>
<section class="kpis">
{kpis}
</section>
<section class="grid">
{charts}</section>
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
        kpis = kpis(&summary, previous.as_ref()),
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
        .chain(
            Region::ALL.iter().map(|r| option(r.as_str(), r.polish_name(), filter.region == Some(r.index()))),
        )
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

/// The headline figures of the selection, each with its change against the period of
/// the same length before it.
fn kpis(summary: &Summary, previous: Option<&Previous>) -> String {
    let total = &summary.total;
    let before = previous.map(|p| &p.totals);
    let kpi = |id: &str, label: &str, value: String, now: f64, then: Option<f64>| {
        format!(
            "<div class=\"kpi\"><div class=\"label\">{label}</div><div class=\"value\" id=\"{id}\">{value}</div>\
             <div class=\"delta\" id=\"{id}-delta\">{}</div></div>",
            delta(now, then)
        )
    };
    [
        kpi(
            "k-orders",
            "orders",
            total.orders.to_string(),
            total.orders as f64,
            before.map(|b| b.orders as f64),
        ),
        kpi(
            "k-gross",
            "gross value",
            pln(total.gross_value_grosz),
            total.gross_value,
            before.map(|b| b.gross_value),
        ),
        kpi("k-net", "net value", pln(total.net_value_grosz), total.net_value, before.map(|b| b.net_value)),
        kpi("k-units", "units", total.units.to_string(), total.units as f64, before.map(|b| b.units as f64)),
        kpi(
            "k-aov",
            "average order",
            pln((total.avg_order_value * 100.0).round() as i64),
            total.avg_order_value,
            before.map(|b| b.avg_order_value),
        ),
        kpi(
            "k-repeat",
            "repeat customers",
            summary.repeat_customers.orders.to_string(),
            summary.repeat_customers.orders as f64,
            None,
        ),
    ]
    .concat()
}

/// `▲ 12,3 % vs previous period`, or why there is no comparison.
fn delta(now: f64, then: Option<f64>) -> String {
    match then {
        None => "&nbsp;".into(),
        Some(then) if then <= 0.0 => "no orders in the previous period".into(),
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
                "<span class=\"{class}\">{arrow} {} %</span> vs previous period",
                format!("{:.1}", change.abs()).replace('.', ",")
            )
        }
    }
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
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,560px),1fr));gap:1rem;padding:0 1.2rem 1rem}
.card{background:#fff;border-radius:8px;box-shadow:0 1px 2px #0001;padding:.6rem 1rem;min-width:0}
figure.chart{margin:0;padding:.4rem}.chart svg{display:block;width:100%;height:auto}
.kpi .delta{font-size:.75rem;color:#667}.up{color:#15803d}.down{color:#b91c1c}
@media (max-width:600px){header,.kpis{padding:.6rem}.grid{padding:0 .6rem .6rem}.kpi{flex:1 1 40%;min-width:0}}
table{width:100%;border-collapse:collapse;font-size:.85rem}td{padding:.15rem .4rem;border-bottom:1px solid #eee;overflow-wrap:anywhere}
td.num{white-space:nowrap;overflow-wrap:normal}.card{overflow-x:auto}
";

const SCRIPT: &str = r#"
(() => {
  const query = document.body.dataset.query;
  const $ = (id) => document.getElementById(id);
  // Money and counts as the server writes them: 88 138 037,42 zł.
  const group = (digits) => digits.replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0');
  const pln = (g) => (g < 0 ? '-' : '') + group(String(Math.floor(Math.abs(g) / 100))) + ',' + String(Math.abs(g) % 100).padStart(2, '0') + ' zł';
  const delta = (now, then) => {
    if (then === undefined) return '\u00a0';
    if (then <= 0) return 'no orders in the previous period';
    const change = (now - then) / then * 100;
    const [arrow, cls] = change >= 0.05 ? ['▲', 'up'] : change <= -0.05 ? ['▼', 'down'] : ['=', 'flat'];
    return `<span class="${cls}">${arrow} ${Math.abs(change).toFixed(1).replace('.', ',')} %</span> vs previous period`;
  };
  // Charts are drawn by the server for the width of their card, so text stays its
  // size on a phone; they are fetched again at most every five seconds.
  let chartsAt = 0, chartTimer = null;
  async function refreshCharts() {
    chartsAt = Date.now();
    await Promise.all([...document.querySelectorAll('figure[data-chart]')].map(async (figure) => {
      const width = Math.max(240, Math.round(figure.clientWidth - 12));
      const response = await fetch('/chart/' + figure.dataset.chart + '.svg?' + query + (query ? '&' : '') + 'w=' + width);
      if (response.ok) {
        figure.innerHTML = await response.text();
        figure.dataset.fitted = width;
      }
    }));
  }
  const chartsSoon = () => {
    if (chartTimer) return;
    chartTimer = setTimeout(() => { chartTimer = null; refreshCharts(); }, Math.max(0, 5000 - (Date.now() - chartsAt)));
  };
  refreshCharts();
  let resized = null;
  window.addEventListener('resize', () => { clearTimeout(resized); resized = setTimeout(refreshCharts, 300); });
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
      $('k-aov').textContent = pln(Math.round(s.avg_order_value * 100));
      const p = s.previous || {};
      $('k-orders-delta').innerHTML = delta(s.orders, p.orders);
      $('k-gross-delta').innerHTML = delta(s.gross_value, p.gross_value);
      $('k-net-delta').innerHTML = delta(s.net_value, p.net_value);
      $('k-units-delta').innerHTML = delta(s.units, p.units);
      $('k-aov-delta').innerHTML = delta(s.avg_order_value, p.avg_order_value);
      $('k-repeat').textContent = s.repeat_customers.orders;
      const ranked = (r) => [[r.name], [r.group, 'muted'], [r.orders, 'num'], [pln(r.gross_value_grosz), 'num']];
      rows('top-products', s.top_products, ranked);
      rows('top-stores', s.top_stores, ranked);
      chartsSoon();
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
    rows('ticker', snap.ticker.filter(inSelection).slice(0, 10), (o) => [[o.timestamp.slice(11, 19)], [o.store_id], [o.nazwa_produktu], [pln(Math.round(o.wartosc_brutto * 100)), 'num']]);
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
