//! `/orders`: the orders behind a view's figures as a page a person reads, a hundred at a
//! time, oldest first, picked from the daily CSV files like the CSV export. The page's
//! "orders" link opens it for the view on screen.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::orders::{pick_rows, Rows};
use crate::error::ApiError;
use crate::html::esc;
use crate::lang::Lang;
use crate::order::CSV_HEADER;
use crate::state::LiveState;
use crate::view::{Params, View};

/// Orders on a page.
const PER_PAGE: usize = 100;

/// The columns shown, by their names in the files, with their headings.
const COLUMNS: [(&str, &str, &str); 9] = [
    ("timestamp", "czas", "time"),
    ("store_id", "sklep", "store"),
    ("region", "region", "region"),
    ("sales_channel", "kanał", "channel"),
    ("payment_method", "płatność", "payment"),
    ("nazwa_produktu", "produkt", "product"),
    ("kategoria_produktu", "kategoria", "category"),
    ("ilosc", "szt.", "units"),
    ("wartosc_brutto", "brutto (zł)", "gross (zł)"),
];

/// `GET /orders?<view>&page=N`.
pub(crate) async fn orders_page(State(state): State<Arc<LiveState>>, params: Params) -> Response {
    match list(&state, &params).await {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(error) => error.page(),
    }
}

async fn list(state: &LiveState, params: &Params) -> Result<String, ApiError> {
    let view = View::parse(state, params, &["page"])?;
    let page = match params.get("page") {
        None => 1,
        Some(p) => p.parse::<usize>().ok().filter(|p| (1..=100_000).contains(p)).ok_or_else(|| {
            ApiError::bad("page", format!("invalid page {p:?}: expected a number from 1 to 100000"))
        })?,
    };
    let (dir, rows) = Rows::of(state, &view)?;
    let skip = (page - 1) * PER_PAGE;
    // One more than a page, to know whether a next one exists.
    let picked = tokio::task::spawn_blocking(move || {
        let mut seen = 0;
        let mut kept: Vec<csv::StringRecord> = Vec::with_capacity(PER_PAGE + 1);
        pick_rows(&dir, &rows, |record| {
            seen += 1;
            if seen > skip {
                kept.push(csv::StringRecord::from_byte_record_lossy(record.clone()));
            }
            Ok(kept.len() <= PER_PAGE)
        })
        .map(|()| kept)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(|e| ApiError::internal(format!("cannot read the CSV files: {e}")))?;
    Ok(render(&view, params, page, &picked))
}

fn render(view: &View, params: &Params, page: usize, records: &[csv::StringRecord]) -> String {
    let lang = view.lang;
    let pl = lang == Lang::Pl;
    let index = |name: &str| CSV_HEADER.iter().position(|h| *h == name).unwrap_or_default();
    let mut rows = String::new();
    for record in records.iter().take(PER_PAGE) {
        rows.push_str("<tr>");
        for (name, _, _) in COLUMNS {
            let value = record.get(index(name)).unwrap_or_default();
            let shown = match name {
                "timestamp" => value.get(..19).unwrap_or(value).replace('T', " "),
                "region" | "sales_channel" | "payment_method" => lang.label_of(value).to_string(),
                "wartosc_brutto" => value.replace('.', ","),
                _ => value.to_string(),
            };
            let class = if matches!(name, "ilosc" | "wartosc_brutto") { " class=\"num\"" } else { "" };
            let _ = write!(rows, "<td{class}>{}</td>", esc(&shown));
        }
        rows.push_str("</tr>\n");
    }
    let headings: String =
        COLUMNS.iter().map(|(_, p, e)| format!("<th>{}</th>", if pl { p } else { e })).collect();
    let query = params.to_query(&["page"]);
    let link = |page: usize, label: &str| {
        format!(
            "<a href=\"/orders?{}{}page={page}\">{label}</a>",
            esc(&query),
            if query.is_empty() { "" } else { "&amp;" }
        )
    };
    let mut nav = Vec::new();
    if page > 1 {
        nav.push(link(page - 1, if pl { "← poprzednie" } else { "← previous" }));
    }
    if records.len() > PER_PAGE {
        nav.push(link(page + 1, if pl { "następne →" } else { "next →" }));
    }
    let first = (page - 1) * PER_PAGE + 1;
    let shown = if records.is_empty() {
        (if pl { "brak zamówień" } else { "no orders" }).to_string()
    } else {
        format!("{first}–{}", first + records.len().min(PER_PAGE) - 1)
    };
    format!(
        r#"<!doctype html>
<html lang="{code}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>orderstream · {title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:1rem}}table{{border-collapse:collapse;font-size:.85rem}}td,th{{padding:.15rem .4rem;border-bottom:1px solid #eee;text-align:left}}.num{{text-align:right;white-space:nowrap}}td:first-child{{white-space:nowrap}}.wrap{{overflow-x:auto}}</style>
</head><body>
<h1>{title} <span id="shown">{shown}</span></h1>
<p><a href="/?{back}">{back_label}</a> · <a href="/api/orders.csv?{back}">CSV</a> · {nav}</p>
<div class="wrap"><table id="orders"><thead><tr>{headings}</tr></thead><tbody>
{rows}</tbody></table></div>
<p>{nav}</p>
</body></html>
"#,
        code = lang.code(),
        title = if pl { "Zamówienia" } else { "Orders" },
        back = esc(&query),
        back_label = if pl { "← pulpit" } else { "← dashboard" },
        nav = nav.join(" · "),
    )
}
