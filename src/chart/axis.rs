//! Axes and grid lines drawn from a `LinearScale`.
//!
//! Owns: tick marks, tick labels, grid lines and axis titles. Must not: choose domains.

use std::fmt::Write;

use super::scale::LinearScale;
use super::svg::{FONT, GRID, INK, line, num, text};

/// The left margin of a plot: room for tick labels, and for the rotated title when there is one.
pub fn left_margin(y_title: &str) -> f64 {
    52.0 + if y_title.is_empty() { 0.0 } else { 16.0 }
}

/// Vertical grid lines at the ticks of `x`, from `top` to `bottom`, behind horizontal bars.
pub fn x_grid(out: &mut String, x: &LinearScale, ticks: &[(f64, String)], top: f64, bottom: f64) {
    out.push_str("<g class=\"grid\">");
    for (t, _) in ticks {
        let p = x.map(*t);
        line(out, (p, p), (top, bottom), GRID);
    }
    out.push_str("</g>");
}

/// A horizontal axis title centred at `x_mid` on the baseline `y`; nothing when empty.
pub fn x_title(out: &mut String, x_mid: f64, y: f64, title: &str) {
    if !title.is_empty() {
        text(out, x_mid, y, "middle", " class=\"axis-title\"", title);
    }
}

/// A left y axis at `x` with horizontal grid lines to `x_end`; `labels` pairs tick value and
/// text. Returns nothing: the caller reserved the margin.
pub fn y_axis(out: &mut String, y: &LinearScale, x: f64, x_end: f64, labels: &[(f64, String)]) {
    out.push_str("<g class=\"axis y\">");
    for (v, label) in labels {
        let py = y.map(*v);
        line(out, (x, x_end), (py, py), GRID);
        text(out, x - 6.0, py + FONT * 0.35, "end", "", label);
    }
    out.push_str("</g>");
}

/// A bottom x axis at `y` with tick marks and labels under them.
pub fn x_axis(out: &mut String, x: &LinearScale, y: f64, labels: &[(f64, String)]) {
    let (r0, r1) = x.range();
    out.push_str("<g class=\"axis x\">");
    line(out, (r0.min(r1), r0.max(r1)), (y, y), INK);
    for (v, label) in labels {
        let px = x.map(*v);
        line(out, (px, px), (y, y + 4.0), INK);
        text(out, px, y + 4.0 + FONT, "middle", "", label);
    }
    out.push_str("</g>");
}

/// A vertical axis title rotated along the left edge, centred on the plot height.
pub fn y_title(out: &mut String, x: f64, y_mid: f64, title: &str) {
    if title.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<g transform=\"translate({},{}) rotate(-90)\">",
        num(x),
        num(y_mid)
    );
    text(out, 0.0, 0.0, "middle", " class=\"axis-title\"", title);
    out.push_str("</g>");
}
