//! `/api/panel.csv?chart=NAME`: the figures behind one chart of a view, as CSV: per
//! code for the bar charts, per store for the map, per window and key for the charts
//! over time. Money in złoty with a decimal point, as in the order files.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::analytics::{Split, Totals, TotalsReport};
use crate::error::ApiError;
use crate::order::Region;
use crate::state::LiveState;
use crate::view::{Params, View};

/// `GET /api/panel.csv`.
pub(crate) async fn panel_csv(
    State(state): State<Arc<LiveState>>,
    params: Params,
) -> Result<Response, ApiError> {
    let view = View::parse(&state, &params, &["chart"])?;
    let chart =
        params.get("chart").ok_or_else(|| ApiError::bad("chart", "missing parameter chart".into()))?;
    let lang = view.lang;
    let analytics = state.analytics();
    let mut out = String::new();
    let money = |grosz: i64| {
        format!("{}{}.{:02}", if grosz < 0 { "-" } else { "" }, grosz.abs() / 100, grosz.abs() % 100)
    };
    let line = |out: &mut String, first: &[&str], t: &TotalsReport| {
        let quoted: Vec<String> = first.iter().map(|f| quote(f)).collect();
        let _ = writeln!(
            out,
            "{},{},{},{},{}",
            quoted.join(","),
            t.orders,
            t.units,
            money(t.gross_value_grosz),
            money(t.net_value_grosz)
        );
    };
    match chart {
        "category" | "region" | "channel" | "payment" => {
            let summary = analytics.summary(&view.filter, 0);
            let values = match chart {
                "category" => &summary.by_category,
                "region" => &summary.by_region,
                "channel" => &summary.by_channel,
                _ => &summary.by_payment,
            };
            out.push_str("code,label,orders,units,gross_pln,net_pln\n");
            for (code, t) in values {
                line(&mut out, &[code, lang.label(code)], t);
            }
        }
        "map" => {
            out.push_str("store_id,city,voivodeship,region,orders,units,gross_pln,net_pln\n");
            for r in analytics.summary(&view.filter, 1000).top_stores {
                let store = Region::ALL.iter().flat_map(|r| r.stores()).find(|s| s.id == r.name);
                let (city, voivodeship) = store.map_or(("", ""), |s| (s.city, s.voivodeship));
                line(&mut out, &[r.name, city, voivodeship, r.group], &r.totals);
            }
        }
        "volume" | "value" | "value-region" => {
            let (by, keys): (Split, Vec<&str>) = if chart == "value-region" {
                (Split::Region, Region::ALL.iter().map(|r| r.as_str()).collect())
            } else {
                (Split::Category, analytics.categories().iter().map(|c| c.name).collect())
            };
            out.push_str("window_start,key,orders,units,gross_pln,net_pln\n");
            for (start, split) in analytics.split_series(&view.filter, by) {
                let when = crate::api::iso(start);
                for (key, t) in keys.iter().zip(&split).filter(|(_, t)| t.orders > 0) {
                    line(&mut out, &[&when, key], &Totals::report(t));
                }
            }
        }
        other => {
            return Err(ApiError::bad(
                "chart",
                format!("no chart {other:?}; the charts are {:?}", crate::charts::CHARTS),
            ))
        }
    }
    drop(analytics);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"orderstream-{chart}.csv\"")),
        ],
        out,
    )
        .into_response())
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}
