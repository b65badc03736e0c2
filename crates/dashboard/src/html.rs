//! Escaping text for the HTML page, its error pages and the SVG charts.

/// Escapes text for element content and quoted attributes.
pub(crate) fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
