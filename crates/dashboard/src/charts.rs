//! The dashboard's charts, drawn as SVG on the server by `plotters`: no script library
//! and no CDN, so the page works offline and without JavaScript.

use std::collections::BTreeMap;

use plotters::prelude::*;

use crate::analytics::{Totals, TotalsReport};

const WIDTH: u32 = 620;
const HEIGHT: u32 = 280;
const BAR: RGBColor = RGBColor(37, 99, 235);
const LINE: RGBColor = RGBColor(22, 163, 74);

/// Which figure a time-series chart plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Measure {
    /// Orders per window.
    Orders,
    /// Gross value per window, PLN.
    Gross,
}

impl Measure {
    fn of(self, t: &Totals) -> f64 {
        match self {
            Measure::Orders => t.orders as f64,
            Measure::Gross => t.gross as f64 / 100.0,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Measure::Orders => "Orders per minute",
            Measure::Gross => "Gross value per minute (PLN)",
        }
    }
}

/// A line over time of `measure` per window; x is minutes before the latest window.
pub(super) fn series(points: &[(i64, Totals)], measure: Measure, window_ms: i64) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let last = points.last().map_or(0, |(s, _)| *s);
        let xs: Vec<(f64, f64)> =
            points.iter().map(|(s, t)| ((s - last) as f64 / window_ms as f64, measure.of(t))).collect();
        let x_min = xs.first().map_or(-60.0, |(x, _)| x.min(-1.0));
        let y_max = xs.iter().map(|(_, y)| *y).fold(1.0f64, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(&root)
            .caption(measure.title(), ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(70)
            .build_cartesian_2d(x_min..0.5, 0.0..y_max)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("windows before the latest")
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(xs.iter().copied(), LINE.stroke_width(2)))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(xs.iter().map(|(x, y)| Circle::new((*x, *y), 2, LINE.filled())))
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Bars of gross value per key, each labelled with its value and order count.
pub(super) fn bars(title: &str, values: &BTreeMap<&'static str, TotalsReport>) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let entries: Vec<(&str, &TotalsReport)> = values.iter().map(|(k, v)| (*k, v)).collect();
        let n = entries.len().max(1);
        let y_max = entries.iter().map(|(_, v)| v.gross_value).fold(1.0f64, f64::max) * 1.2;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(80)
            .build_cartesian_2d((0..n).into_segmented(), 0.0..y_max)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) => entries.get(*i).map_or(String::new(), |(k, _)| k.to_string()),
                _ => String::new(),
            })
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .style(BAR.filled())
                    .margin(12)
                    .data(entries.iter().enumerate().map(|(i, (_, v))| (i, v.gross_value))),
            )
            .map_err(|e| e.to_string())?;
        // Exact figures on the bars: the value in PLN and the number of orders.
        chart
            .draw_series(entries.iter().enumerate().map(|(i, (_, v))| {
                Text::new(
                    format!("{:.2} PLN / {} orders", v.gross_value, v.orders),
                    (SegmentValue::Exact(i), v.gross_value + y_max * 0.02),
                    ("sans-serif", 10),
                )
            }))
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}
