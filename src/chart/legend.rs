//! Legends shared by the charts: colour swatches, hatched "no data", and line/marker keys.
//!
//! Owns: legend layout (vertical list or wrapped row). Must not: decide colours.

use std::fmt::Write;

use super::svg::{FONT, dash_attr, escape_xml, num, text, text_width};

/// What a legend entry shows beside its label.
#[derive(Debug, Clone, PartialEq)]
pub enum Swatch {
    /// A filled square.
    Fill(String),
    /// A square filled with a `<pattern>` (the id within the SVG).
    Pattern(String),
    /// A short line with a dash pattern ("" = solid) and a dot.
    Line { color: String, dash: String },
}

/// One legend entry.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendItem {
    pub label: String,
    pub swatch: Swatch,
}

const SW: f64 = 14.0;
const ROW: f64 = 18.0;

fn swatch(out: &mut String, x: f64, y: f64, s: &Swatch) {
    let square = |out: &mut String, fill: String| {
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{SW}\" height=\"{SW}\" fill=\"{fill}\" stroke=\"#666\" stroke-width=\"0.5\"/>",
            num(x),
            num(y),
        );
    };
    match s {
        Swatch::Fill(c) => square(out, escape_xml(c)),
        Swatch::Pattern(id) => square(out, format!("url(#{})", escape_xml(id))),
        Swatch::Line { color, dash } => {
            let dash_attr = dash_attr(dash);
            let _ = write!(
                out,
                "<line x1=\"{}\" x2=\"{}\" y1=\"{m}\" y2=\"{m}\" stroke=\"{c}\" stroke-width=\"2\"{dash_attr}/>\
                 <circle cx=\"{}\" cy=\"{m}\" r=\"3\" fill=\"{c}\"/>",
                num(x - 4.0),
                num(x + SW + 4.0),
                num(x + SW / 2.0),
                m = num(y + SW / 2.0),
                c = escape_xml(color)
            );
        }
    }
}

/// One line swatch per series, in the categorical colours and dashes the series are drawn with.
pub fn series_items<'a>(names: impl Iterator<Item = &'a str>) -> Vec<LegendItem> {
    names
        .enumerate()
        .map(|(i, name)| LegendItem {
            label: name.to_owned(),
            swatch: Swatch::Line {
                color: super::palette::categorical(i).into(),
                dash: super::palette::dash(i).into(),
            },
        })
        .collect()
}

/// A vertical legend with an optional title at (x, y); returns its (width, height).
pub fn vertical(out: &mut String, x: f64, y: f64, title: &str, items: &[LegendItem]) -> (f64, f64) {
    out.push_str("<g class=\"legend\">");
    let mut cy = y;
    let mut w: f64 = 0.0;
    if !title.is_empty() {
        text(out, x, cy + FONT, "start", " font-weight=\"bold\"", title);
        w = text_width(title, FONT);
        cy += ROW + 2.0;
    }
    for item in items {
        swatch(out, x, cy, &item.swatch);
        text(out, x + SW + 8.0, cy + SW - 3.0, "start", "", &item.label);
        w = w.max(SW + 8.0 + text_width(&item.label, FONT));
        cy += ROW;
    }
    out.push_str("</g>");
    (w, cy - y)
}

/// A plot with its series named in a legend row under it (the line, density and stacked charts):
/// the row wraps at the plot's width less the margins, and the figure grows by its height.
pub struct RowBelow {
    /// `None`: no row (a line chart of one series needs no legend).
    items: Option<Vec<LegendItem>>,
    plot: (f64, f64),
    row_height: f64,
}

impl RowBelow {
    /// `items` in a row under a plot of `(width, height)`.
    pub fn new(items: Vec<LegendItem>, plot: (f64, f64)) -> RowBelow {
        let row_height = row_height(&items, plot.0 - 20.0) + 8.0;
        RowBelow {
            items: Some(items),
            plot,
            row_height,
        }
    }

    /// A plot of `(width, height)` with no legend row.
    pub fn none(plot: (f64, f64)) -> RowBelow {
        RowBelow {
            items: None,
            plot,
            row_height: 0.0,
        }
    }

    /// The figure's size: the plot and the row under it.
    pub fn figure(&self) -> (f64, f64) {
        (self.plot.0, self.plot.1 + self.row_height)
    }

    /// Draws the row under the plot.
    pub fn draw(&self, out: &mut String) {
        if let Some(items) = &self.items {
            row(out, 10.0, self.plot.1 + 4.0, self.plot.0 - 20.0, items);
        }
    }
}

/// The height a row legend of `items` needs when wrapped at `max_width`.
pub fn row_height(items: &[LegendItem], max_width: f64) -> f64 {
    row_layout(items, 0.0, max_width).1
}

fn row_layout(items: &[LegendItem], x: f64, max_width: f64) -> (Vec<(f64, f64)>, f64) {
    let mut pos = Vec::with_capacity(items.len());
    let (mut cx, mut cy) = (x, 0.0);
    for item in items {
        let w = SW + 6.0 + text_width(&item.label, FONT) + 16.0;
        if cx > x && cx + w > x + max_width {
            cx = x;
            cy += ROW;
        }
        pos.push((cx, cy));
        cx += w;
    }
    let h = if items.is_empty() { 0.0 } else { cy + ROW };
    (pos, h)
}

/// A legend laid out in rows, wrapping at `max_width`; returns its height.
pub fn row(out: &mut String, x: f64, y: f64, max_width: f64, items: &[LegendItem]) -> f64 {
    let (pos, h) = row_layout(items, x, max_width);
    out.push_str("<g class=\"legend\">");
    for (item, (px, py)) in items.iter().zip(pos) {
        swatch(out, px + 4.0, y + py, &item.swatch);
        text(
            out,
            px + 4.0 + SW + 6.0,
            y + py + SW - 3.0,
            "start",
            "",
            &item.label,
        );
    }
    out.push_str("</g>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(label: &str) -> LegendItem {
        LegendItem {
            label: label.to_string(),
            swatch: Swatch::Fill("#ffffcc".into()),
        }
    }

    #[test]
    fn vertical_legend_has_one_row_per_item_and_escapes() {
        let mut out = String::new();
        let (_, h) = vertical(&mut out, 0.0, 0.0, "T<", &[item("a&b"), item("c")]);
        assert_eq!(out.matches("<rect").count(), 2);
        assert!(out.contains("a&amp;b") && out.contains("T&lt;"));
        assert_eq!(h, ROW + 2.0 + 2.0 * ROW);
    }

    #[test]
    fn row_legend_wraps() {
        let items: Vec<LegendItem> = (0..6).map(|i| item(&format!("series {i}"))).collect();
        assert_eq!(row_height(&items, 10_000.0), ROW);
        assert!(row_height(&items, 200.0) > ROW);
        assert_eq!(row_height(&[], 100.0), 0.0);
    }
}
