//! The page's controls: the period (presets and a from/to date picker), the chart
//! columns, the region and category multi-selects, the exports and the language; and
//! the line that says how far the data reaches, with a link onto the newest data when
//! the period holds none of it. A plain form, so a view is a link to share.

use std::fmt::Write;

use crate::charts::format;
use crate::html::esc;
use crate::order::{Category, Region};
use crate::period;
use crate::view::{Grain, Params, View};

/// The controls' HTML.
pub(super) fn render(
    view: &View,
    params: &Params,
    categories: &[Category],
    newest_ms: Option<i64>,
    covered: (Option<i64>, Option<i64>),
    has_orders: bool,
    live: bool,
) -> String {
    let lang = view.lang;
    let words = lang.words();
    let option = |value: &str, label: &str, selected: bool| {
        format!(
            "<option value=\"{}\"{}>{}</option>",
            esc(value),
            if selected { " selected" } else { "" },
            esc(label)
        )
    };
    // No range and no from/to: everything kept.
    let custom = view.range.is_none() && (params.get("from").is_some() || params.get("to").is_some());
    let chosen = view.range.as_deref().unwrap_or(if custom { "" } else { "all" });
    let mut ranges: String =
        period::PRESETS.iter().map(|p| option(p, &period::label(lang, p), *p == chosen)).collect();
    if !chosen.is_empty() && !period::PRESETS.contains(&chosen) {
        // A range typed into the address (`?range=2h`) is applied, and shown as chosen.
        ranges.push_str(&option(chosen, &period::label(lang, chosen), true));
    }
    ranges.push_str(&option("", words.custom_range, custom));
    // The date picker shows the days of a custom span; a preset's span is written out.
    let day = |key: &str, end: bool| {
        let ms = crate::view::parse_time(params.get(key)?, end).ok()?;
        Some(format::local(if end { ms - 1 } else { ms }).date().to_string())
    };
    let (from_day, to_day) = if custom { (day("from", false), day("to", true)) } else { (None, None) };
    let grains: String = std::iter::once(option("", words.grain_auto, view.grain.is_none()))
        .chain(
            Grain::ALL
                .iter()
                .zip(words.steps.grains)
                .map(|((grain, value), label)| option(value, label, view.grain == Some(*grain))),
        )
        .collect();
    let regions = Region::ALL.iter().map(|r| {
        (r.as_str(), lang.region(*r), view.filter.regions.is_any() || view.filter.regions.keeps(r.index()))
    });
    let regions =
        pick("region", words.region, words.all_regions, regions.collect(), view.filter.regions.is_any());
    let category_list = categories
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name, c.name, view.filter.categories.is_any() || view.filter.categories.keeps(i)));
    let category_pick = pick(
        "category",
        words.category,
        words.all_categories,
        category_list.collect(),
        view.filter.categories.is_any(),
    );
    let lang_field = match lang {
        crate::lang::Lang::Pl => String::new(),
        crate::lang::Lang::En => "<input type=\"hidden\" name=\"lang\" value=\"en\">".into(),
    };
    let keep_static = if live { "" } else { "<input type=\"hidden\" name=\"static\" value=\"1\">" };
    let clear = match lang {
        crate::lang::Lang::Pl => "/".to_string(),
        crate::lang::Lang::En => "/?lang=en".to_string(),
    };
    let other_lang = {
        let rest = params.to_query(&["lang"]);
        let sep = if rest.is_empty() { "" } else { "&" };
        match lang {
            crate::lang::Lang::Pl => format!("/?{rest}{sep}lang=en"),
            crate::lang::Lang::En => format!("/?{rest}"),
        }
    };
    let query = params.to_query(&["static"]);
    let status = if live { words.server_rendered } else { words.static_view };
    format!(
        r#"<form id="filters" method="get" action="/">
<label>{range_label} <select name="range" id="range">{ranges}</select></label>
<label>{from_label} <input type="date" name="from" id="from" value="{from}"></label>
<label>{to_label} <input type="date" name="to" id="to" value="{to}"></label>
<label>{grain_label} <select name="g" id="grain">{grains}</select></label>
{regions}{category_pick}{lang_field}{keep_static}
<button type="submit">{apply}</button> <a href="{clear}" id="clear">{clear_label}</a>
</form>
<div class="line">{span}<span id="newest" class="muted">{newest}</span>{jump}
<span id="status" class="muted">{status}</span> <span class="muted" id="zone">{zone}</span></div>
<div class="line"><span class="muted">{export}:</span> <a id="export-orders" href="/api/orders.csv?{q}">{export_orders}</a> · <a id="export-xlsx" href="/api/view.xlsx?{q}">{export_xlsx}</a> · <a id="orders-list" href="/orders?{q}">{export_list}</a> · <a id="other-lang" href="{other_lang}">{other_lang_label}</a></div>"#,
        range_label = words.range,
        from_label = words.from,
        to_label = words.to,
        grain_label = words.grain,
        from = from_day.unwrap_or_default(),
        to = to_day.unwrap_or_default(),
        apply = words.apply,
        clear_label = words.clear,
        span = span_text(covered, custom),
        newest = newest_text(newest_ms, words),
        jump = if has_orders {
            String::new()
        } else {
            jump_link(view, params, newest_ms, covered, words.jump_latest)
        },
        zone = words.zone,
        export = words.export,
        export_orders = words.export_orders,
        export_xlsx = words.export_xlsx,
        export_list = words.export_list,
        q = esc(&query),
        other_lang = esc(&other_lang),
        other_lang_label = words.other_language,
    )
}

/// A multi-select as checkboxes in a drop-down: works without a script, and sends one
/// `key=value` per choice.
fn pick(key: &str, label: &str, all: &str, values: Vec<(&str, &str, bool)>, any: bool) -> String {
    let chosen: Vec<&str> = values.iter().filter(|v| v.2).map(|v| v.1).collect();
    let summary = if any || chosen.len() == values.len() {
        all.to_string()
    } else if chosen.len() <= 2 {
        chosen.join(", ")
    } else {
        format!("{} (+{})", chosen[0], chosen.len() - 1)
    };
    let mut html = format!(
        "<details class=\"pick\" id=\"pick-{key}\"><summary>{}: <span>{}</span></summary><div class=\"choices\">",
        esc(label),
        esc(&summary)
    );
    for (value, name, checked) in &values {
        let _ = write!(
            html,
            "<label><input type=\"checkbox\" name=\"{key}\" value=\"{}\"{}> {}</label>",
            esc(value),
            if *checked && !any { " checked" } else { "" },
            esc(name)
        );
    }
    html.push_str("</div></details>\n");
    html
}

/// The span a preset covers, written out (`1 gru 2026 00:00 – 7 gru 2026 23:00 · `).
fn span_text(covered: (Option<i64>, Option<i64>), custom: bool) -> String {
    match covered {
        (Some(from), Some(to)) if !custom => {
            format!("<span id=\"span\">{} – {}</span> · ", format::instant(from), format::instant(to))
        }
        _ => String::new(),
    }
}

/// "data up to 7 gru 2026 22:41:03".
fn newest_text(newest_ms: Option<i64>, words: &crate::lang::Words) -> String {
    match newest_ms {
        Some(ms) => format!("{} {}", words.data_up_to, format::instant_seconds(ms)),
        None => words.no_data.to_string(),
    }
}

/// A link that moves the period onto the newest data, when the period (which holds no
/// orders) has a span and the newest order lies outside it.
fn jump_link(
    view: &View,
    params: &Params,
    newest_ms: Option<i64>,
    covered: (Option<i64>, Option<i64>),
    label: &str,
) -> String {
    let (Some(newest), (Some(from), Some(to))) = (newest_ms, (view.filter.from_ms, view.filter.to_ms)) else {
        return String::new();
    };
    let reaches = covered.0.unwrap_or(from) <= newest && newest < covered.1.unwrap_or(to);
    if reaches {
        return String::new();
    }
    let mut query = params.to_query(&["range", "from", "to"]);
    for (key, value) in period::ending_at(from, to, newest) {
        if !query.is_empty() {
            query.push('&');
        }
        let _ = write!(query, "{key}={value}");
    }
    format!(" <a id=\"jump\" href=\"/?{}\">{}</a>", esc(&query), esc(label))
}
