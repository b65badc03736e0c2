//! A figure over time as stacked columns, one colour per category or region: a time axis
//! in Polish time, gaps left empty, and the current, unfinished column drawn pale and
//! said to be unfinished instead of looking like a drop in sales.

use std::collections::BTreeMap;

use super::format;
use super::svg::{self, Anchor, Svg, MUTED, PALETTE};
use super::time_axis::{self, Step};
use super::Measure;
use crate::html::esc;
use crate::lang::Lang;

/// What a stacked time chart shows.
#[derive(Debug)]
pub(crate) struct TimeChart<'a> {
    /// Its name (`data-chart`).
    pub(crate) name: &'a str,
    /// Its heading.
    pub(crate) title: &'a str,
    /// The series, in stacking order (bottom first), by their labels.
    pub(crate) keys: Vec<&'a str>,
    /// The filter a click on a legend entry sets (`region`, `category`), and the code
    /// of each key.
    pub(crate) filter_by: (&'a str, Vec<&'a str>),
    /// Window start (ms) and a value per key, oldest first.
    pub(crate) points: Vec<(i64, Vec<f64>)>,
    /// The width of the windows (ms); a column is never narrower.
    pub(crate) window_ms: i64,
    /// The span asked for (ms), if bounded.
    pub(crate) from: Option<i64>,
    /// The end of the span asked for (exclusive).
    pub(crate) to: Option<i64>,
    /// Event time reached by every partition: where the axis ends when the span has no
    /// end.
    pub(crate) watermark: Option<i64>,
    /// Columns ending after this are unfinished: the watermark while orders arrive, now
    /// once the stream is idle.
    pub(crate) unfinished_after: Option<i64>,
    /// How the values read.
    pub(crate) measure: Measure,
    /// Width in px.
    pub(crate) width: f64,
    /// The columns asked for; `None` fits them to the span.
    pub(crate) grain: Option<Step>,
    /// The language of its text.
    pub(crate) lang: Lang,
}

const PLOT_HEIGHT: f64 = 190.0;
const LEGEND_ROW: f64 = 18.0;

/// Draws the chart.
pub(crate) fn draw(chart: &TimeChart<'_>) -> String {
    let width = chart.width;
    let (lang, words) = (chart.lang, chart.lang.words());
    let (Some(first), Some(last)) = (chart.points.first(), chart.points.last()) else {
        let mut svg = Svg::new(chart.name, width, 120.0, chart.title);
        heading(&mut svg, chart.title, &[]);
        svg.empty(width, 80.0, words.no_orders_chart);
        return svg.finish();
    };
    let from = chart.from.unwrap_or(first.0);
    let to = chart.to.or(chart.watermark).unwrap_or(last.0).max(last.0 + 1).max(from + 1);
    let step = columns_for(chart, to - from);
    let mut columns: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for (start, values) in &chart.points {
        let column = columns.entry(step.floor(*start)).or_insert_with(|| vec![0.0; chart.keys.len()]);
        for (sum, v) in column.iter_mut().zip(values) {
            *sum += v;
        }
    }
    let y_max = columns.values().map(|c| c.iter().sum::<f64>()).fold(0.0, f64::max);
    let (y_ticks, y_top) = value_ticks(y_max);
    let y_labels: Vec<String> = y_ticks.iter().map(|t| chart.measure.axis(*t)).collect();
    let left = y_labels.iter().map(|l| svg::text_width(l, 11.0)).fold(0.0, f64::max) + 14.0;
    // Room for half a time label past the last tick.
    let right = width - 22.0;
    let plot_width = (right - left).max(40.0);
    let start = step.floor(from);
    let end = step.next(step.floor((to - 1).max(*columns.keys().last().expect("points are not empty"))));
    let x = |ms: i64| left + (ms - start) as f64 / (end - start).max(1) as f64 * plot_width;

    let unfinished = chart.unfinished_after.and_then(|w| columns.keys().copied().find(|s| step.next(*s) > w));
    let span = format!("{} – {}", format::instant(start), format::instant(end));
    let columns_note = format!("{} {} · {}", words.column_per, step.describe(lang), words.polish_time);
    // On a narrow card the span and the column width take a line each.
    let subtitle = if svg::text_width(&span, 11.0) + svg::text_width(&columns_note, 11.0) + 30.0 < width {
        vec![format!("{span} · {columns_note}")]
    } else {
        vec![span, columns_note]
    };

    // Legend: the keys, wrapped, then the unfinished column's swatch.
    let mut legend: Vec<(f64, f64, String, &str, String)> = Vec::new();
    let (mut lx, mut ly) = (left, 40.0 + 16.0 * subtitle.len() as f64);
    // A click on a key's entry filters the page by it (the page's script reads it).
    let (dimension, codes) = &chart.filter_by;
    let mut items: Vec<(String, &str, String)> = chart
        .keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let click = codes.get(i).map(|code| {
                format!(r#" data-filter="{dimension}" data-value="{}" cursor="pointer""#, esc(code))
            });
            (k.to_string(), PALETTE[i % PALETTE.len()], click.unwrap_or_default())
        })
        .collect();
    if unfinished.is_some() {
        items.push((
            format!("{} ({})", words.unfinished, step.describe(lang)),
            "#94a3b8",
            r#" fill-opacity="0.45""#.to_string(),
        ));
    }
    for (label, colour, extra) in items {
        let w = 16.0 + svg::text_width(&label, 11.0) + 14.0;
        if lx + w > right && lx > left {
            lx = left;
            ly += LEGEND_ROW;
        }
        legend.push((lx, ly, label, colour, extra));
        lx += w;
    }
    let top = ly + 16.0;
    let bottom = top + PLOT_HEIGHT;
    let height = bottom + 30.0;

    let mut svg = Svg::new(chart.name, width, height, chart.title);
    heading(&mut svg, chart.title, &subtitle);
    for (lx, ly, label, colour, extra) in &legend {
        svg.rect(*lx, ly - 9.0, 10.0, 10.0, colour, extra, label);
        svg.text("legend", lx + 14.0, *ly, Anchor::Start, 11.0, "#111", label);
    }

    let y = |v: f64| bottom - v / y_top * PLOT_HEIGHT;
    for (tick, label) in y_ticks.iter().zip(&y_labels) {
        svg.grid(left, right, y(*tick));
        svg.text("y-tick", left - 6.0, y(*tick) + 4.0, Anchor::End, 11.0, MUTED, label);
    }

    for (&column_start, values) in &columns {
        let (x0, x1) = (x(column_start), x(step.next(column_start)));
        let bar = ((x1 - x0) * 0.82).max(1.0);
        let total: f64 = values.iter().sum();
        let open = unfinished == Some(column_start);
        let when = span_label(step, column_start);
        let extra = if open { r#" fill-opacity="0.45""# } else { "" };
        let mut base = 0.0;
        for (i, v) in values.iter().enumerate().filter(|(_, v)| **v > 0.0) {
            let tooltip = format!(
                "{when}{}\n{}: {}\n{}: {}",
                if open { format!(" ({})", words.unfinished) } else { String::new() },
                chart.keys[i],
                chart.measure.exact(*v, lang),
                words.all,
                chart.measure.exact(total, lang)
            );
            svg.rect(
                x0 + (x1 - x0 - bar) / 2.0,
                y(base + v),
                bar,
                y(base) - y(base + v),
                PALETTE[i % PALETTE.len()],
                extra,
                &tooltip,
            );
            base += v;
        }
    }

    // The time axis: as many ticks as fit their labels.
    svg.grid(left, right, bottom);
    for (at, label) in time_axis::ticks(start, end, plot_width, svg::text_width("0", 11.0)) {
        let tx = x(at);
        svg.tick(tx, bottom);
        svg.text("x-tick", tx, bottom + 17.0, Anchor::Middle, 11.0, MUTED, &label);
    }
    svg.finish()
}

/// The columns: the grain asked for when the windows are that fine and it leaves a
/// column at least 1 px wide; else whole hours, days, weeks or months, the finest that
/// leaves columns of 5 px (a month by days, not by the half-days that made a comb); a
/// span of up to half a day by minutes.
fn columns_for(chart: &TimeChart<'_>, span_ms: i64) -> Step {
    let plot = (chart.width - 100.0).max(8.0);
    if let Some(step) = chart.grain {
        if step.nominal_ms() >= chart.window_ms && (span_ms / step.nominal_ms()) as f64 <= plot {
            return step;
        }
    }
    let most = (plot / 5.0) as usize;
    if span_ms <= 12 * 3_600_000 {
        return Step::fitting(chart.window_ms, span_ms, most);
    }
    [Step::Minutes(60), Step::Days(1), Step::Days(7), Step::Months(1)]
        .into_iter()
        .find(|s| s.nominal_ms() >= chart.window_ms && span_ms / s.nominal_ms() < most as i64)
        .unwrap_or_else(|| Step::fitting(chart.window_ms, span_ms, most))
}

fn heading(svg: &mut Svg, title: &str, subtitle: &[String]) {
    svg.text("title", 8.0, 18.0, Anchor::Start, 14.0, "#111", title);
    for (i, line) in subtitle.iter().enumerate() {
        svg.text("subtitle", 8.0, 36.0 + 15.0 * i as f64, Anchor::Start, 11.0, MUTED, line);
    }
}

/// A column's time span for its tooltip: `30 lis 2026 14:00–14:10`, `30 lis 2026`.
fn span_label(step: Step, start: i64) -> String {
    let t = format::local(start);
    match step {
        Step::Minutes(_) | Step::Hours(_) => {
            format!("{}–{}", format::instant(start), format::hour_minute(format::local(step.next(start))))
        }
        Step::Days(1) => format!("{} {}", format::day_month(t), chrono::Datelike::year(&t)),
        Step::Days(_) => format!("{} – {}", format::instant(start), format::instant(step.next(start))),
        Step::Months(1) => format::month_year(t),
        Step::Months(_) => {
            format!("{} – {}", format::month_year(t), format::month_year(format::local(step.next(start) - 1)))
        }
    }
}

/// Round ticks from 0 covering `max` (about five), and the axis top.
pub(crate) fn value_ticks(max: f64) -> (Vec<f64>, f64) {
    if max <= 0.0 {
        return (vec![0.0, 1.0], 1.0);
    }
    let raw = max / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let count = (max / step).ceil() as usize;
    let ticks: Vec<f64> = (0..=count).map(|i| i as f64 * step).collect();
    let top = ticks.last().copied().unwrap_or(1.0).max(step);
    (ticks, top)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    /// A chart of orders in Laptopy and Audio by hour, 640 px wide, in English.
    fn time_chart(points: Vec<(i64, Vec<f64>)>, watermark: Option<i64>) -> TimeChart<'static> {
        TimeChart {
            name: "volume",
            title: "Orders",
            keys: vec!["Laptopy", "Audio"],
            filter_by: ("category", vec!["Laptopy", "Audio"]),
            points,
            window_ms: HOUR,
            from: None,
            to: None,
            watermark,
            unfinished_after: watermark,
            measure: Measure::Orders,
            width: 640.0,
            grain: None,
            lang: Lang::En,
        }
    }

    fn chart(points: Vec<(i64, Vec<f64>)>, watermark: i64) -> String {
        draw(&time_chart(points, Some(watermark)))
    }

    /// The tooltips of the drawn columns.
    fn tooltips(svg: &str) -> Vec<&str> {
        svg.split("<title>")
            .skip(1)
            .filter_map(|t| t.split("</title>").next())
            .filter(|t| t.contains("all:"))
            .collect()
    }

    #[test]
    fn hours_without_orders_stay_empty_and_the_current_hour_is_marked_unfinished() {
        // 30 November 2026 10:00 to 16:00 in Poland, with nothing from 12:00 to 14:00.
        let ten =
            chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00+01:00").unwrap().timestamp_millis();
        let points = [0, 1, 4, 5].iter().map(|h| (ten + h * HOUR, vec![3.0, 2.0])).collect();
        let svg = chart(points, ten + 5 * HOUR + HOUR / 2);
        let shown = tooltips(&svg);
        assert_eq!(shown.len(), 8, "two segments for each of four hours: {shown:?}");
        for hour in ["10:00–11:00", "11:00–12:00", "14:00–15:00", "15:00–16:00"] {
            assert!(shown.iter().any(|t| t.contains(hour)), "{hour} missing: {shown:?}");
        }
        assert!(!shown.iter().any(|t| t.contains("12:00–13:00") || t.contains("13:00–14:00")), "{shown:?}");
        let open: Vec<&&str> = shown.iter().filter(|t| t.contains("unfinished")).collect();
        assert_eq!(open.len(), 2, "{shown:?}");
        assert!(open.iter().all(|t| t.contains("15:00–16:00") && t.contains("all: 5 orders")), "{open:?}");
        assert!(svg.contains("unfinished (1 hour)"), "the legend explains the pale column");
        assert!(svg.contains(r#"data-filter="category" data-value="Audio""#), "a legend entry filters");
        for tick in ["10:00", "12:00", "14:00", "16:00"] {
            assert!(svg.contains(&format!(">{tick}</text>")), "tick {tick}");
        }
    }

    #[test]
    fn columns_are_whole_hours_days_weeks_or_months_as_the_span_and_the_grain_ask() {
        let day = 24 * HOUR;
        let columns = |span: i64, width: f64, grain: Option<Step>| {
            let chart = TimeChart {
                window_ms: 60_000,
                from: Some(0),
                to: Some(span),
                width,
                grain,
                ..time_chart(vec![(0, vec![1.0, 1.0])], None)
            };
            columns_for(&chart, span)
        };
        assert_eq!(columns(30 * day, 1400.0, None), Step::Days(1), "a month by days, not half-days");
        assert_eq!(columns(7 * day, 1400.0, None), Step::Minutes(60), "a week by hours on a desktop");
        assert_eq!(columns(7 * day, 390.0, None), Step::Days(1), "a week by days on a phone");
        assert_eq!(columns(365 * day, 1400.0, None), Step::Days(7));
        assert_eq!(columns(3 * HOUR, 1400.0, None), Step::Minutes(1));
        assert_eq!(columns(30 * day, 1400.0, Some(Step::Days(7))), Step::Days(7), "the grain asked for");
        assert_eq!(columns(365 * day, 390.0, Some(Step::Minutes(60))), Step::Days(7), "too fine: fitted");
    }

    #[test]
    fn once_the_stream_is_idle_a_past_last_column_is_final() {
        let ten =
            chrono::DateTime::parse_from_rfc3339("2026-10-30T10:00:00+01:00").unwrap().timestamp_millis();
        let points: Vec<(i64, Vec<f64>)> = (0..5).map(|h| (ten + h * HOUR, vec![3.0, 2.0])).collect();
        let settled = draw(&TimeChart {
            unfinished_after: Some(ten + 40 * 24 * HOUR),
            ..time_chart(points, Some(ten + 4 * HOUR + HOUR / 2))
        });
        assert!(!settled.contains("unfinished"), "{settled}");
    }

    #[test]
    fn an_empty_selection_says_so() {
        assert!(chart(Vec::new(), 0).contains("No orders in this selection yet"));
    }

    #[test]
    fn value_ticks_are_round_and_cover_the_maximum() {
        assert_eq!(value_ticks(35_000_000.0).0, [0.0, 1e7, 2e7, 3e7, 4e7]);
        assert_eq!(value_ticks(9.0).0, [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(value_ticks(0.0).1, 1.0);
    }
}
