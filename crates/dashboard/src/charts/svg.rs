//! Writes the SVG of a chart: a document that scales to its card (a `viewBox` and 100 %
//! width), text that says what it is (classes the page and its tests find), and
//! `<title>` tooltips with the exact figures.

use std::fmt::Write;

use crate::html::esc;

/// Colours of the series, in order (readable on white, told apart by most readers).
pub(crate) const PALETTE: [&str; 10] = [
    "#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#0891b2", "#db2777", "#65a30d", "#9a3412",
    "#475569",
];

/// Muted text and grid lines.
pub(crate) const MUTED: &str = "#667085";
const GRID: &str = "#e5e7eb";

/// Average width of a character of sans-serif text, in units of its size: enough to
/// keep labels apart without measuring them.
const CHAR_WIDTH: f64 = 0.6;

/// The estimated width of `text` at `size` px.
pub(crate) fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * CHAR_WIDTH
}

/// `text` cut to fit `width` px at `size`, with an ellipsis when cut.
pub(crate) fn fit(text: &str, width: f64, size: f64) -> String {
    let max = (width / (size * CHAR_WIDTH)).floor().max(1.0) as usize;
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// An SVG document being written.
pub(crate) struct Svg {
    out: String,
}

/// How text is anchored at its point.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn as_str(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

impl Svg {
    /// A `width` x `height` document titled `title` (read out by screen readers).
    pub(crate) fn new(chart: &str, width: f64, height: f64, title: &str) -> Svg {
        let mut out = String::with_capacity(16 * 1024);
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" data-chart="{chart}" viewBox="0 0 {width:.0} {height:.0}" width="100%" preserveAspectRatio="xMinYMin meet" role="img" aria-label="{}" font-family="system-ui,-apple-system,'Segoe UI',sans-serif" font-size="12">"#,
            esc(title)
        );
        Svg { out }
    }

    /// Text at (`x`, `y`) with `class` (for tests and styling), `size` px and `fill`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn text(
        &mut self,
        class: &str,
        x: f64,
        y: f64,
        anchor: Anchor,
        size: f64,
        fill: &str,
        text: &str,
    ) {
        let _ = write!(
            self.out,
            r#"<text class="{class}" x="{x:.1}" y="{y:.1}" text-anchor="{}" font-size="{size}" fill="{fill}">{}</text>"#,
            anchor.as_str(),
            esc(text)
        );
    }

    /// A filled rectangle with a tooltip; `extra` adds attributes (opacity, stroke).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, extra: &str, tooltip: &str) {
        let _ = write!(
            self.out,
            r#"<rect x="{x:.2}" y="{y:.2}" width="{:.2}" height="{:.2}" fill="{fill}"{extra}><title>{}</title></rect>"#,
            w.max(0.0),
            h.max(0.0),
            esc(tooltip)
        );
    }

    /// A thin horizontal grid line.
    pub(crate) fn grid(&mut self, x1: f64, x2: f64, y: f64) {
        let _ =
            write!(self.out, r#"<line x1="{x1:.1}" x2="{x2:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{GRID}"/>"#);
    }

    /// A short vertical tick mark.
    pub(crate) fn tick(&mut self, x: f64, y: f64) {
        let _ = write!(
            self.out,
            r#"<line x1="{x:.1}" x2="{x:.1}" y1="{y:.1}" y2="{:.1}" stroke="{MUTED}"/>"#,
            y + 4.0
        );
    }

    /// Markup written as it is (the caller escapes its text).
    pub(crate) fn raw(&mut self, markup: &str) {
        self.out.push_str(markup);
    }

    /// A message in the middle of an empty chart.
    pub(crate) fn empty(&mut self, width: f64, y: f64, text: &str) {
        self.text("empty", width / 2.0, y, Anchor::Middle, 13.0, MUTED, text);
    }

    /// Closes the document.
    pub(crate) fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}
