//! Horizontal ranked bar chart: one row per item (label, bar, value), in the order given.
//!
//! Owns: bar layout. Must not: sort or rank (the caller passes rows in display order).

use std::fmt::Write;

use super::axis;
use super::palette;
use super::scale::{LinearScale, extent};
use super::svg::{self, ChartHead, FONT, escape_xml, text};

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct BarDatum {
    pub label: String,
    /// `None` draws no bar and the spec's `no_data_label`.
    pub value: Option<f64>,
    /// The value as the page formats it (shown at the right and in the tooltip).
    pub display: String,
    /// Link of the whole row (e.g. the region's profile).
    pub href: Option<String>,
    /// Drawn in a contrasting colour and a bold label (colour is not the only cue).
    pub highlight: bool,
}

/// A horizontal bar chart.
pub struct BarSpec<'a> {
    pub head: ChartHead<'a>,
    pub data: &'a [BarDatum],
    /// Total width in px; the height follows from the number of rows.
    pub width: f64,
    /// Title under the value axis (may be empty).
    pub value_label: &'a str,
}

const ROW: f64 = 22.0;
const BAR: f64 = 14.0;
const TOP: f64 = 6.0;

/// Renders the chart; an empty `data` gives a small SVG saying `no_data_label`.
pub fn render(spec: &BarSpec<'_>) -> String {
    let n = spec.data.len();
    let axis_h = if spec.value_label.is_empty() {
        24.0
    } else {
        42.0
    };
    let height = TOP + ROW * n.max(1) as f64 + axis_h;
    let interactive = spec.data.iter().any(|d| d.href.is_some());
    let frame = spec
        .head
        .frame("nqp-chart nqp-bar", (spec.width, height))
        .linked(interactive);
    if n == 0 {
        return frame.empty();
    }
    let (mut out, _) = frame.open();
    let label_w =
        svg::widest(spec.data.iter().map(|d| d.label.as_str())).min(spec.width * 0.35) + 10.0;
    let value_w = svg::widest(spec.data.iter().map(|d| match d.value {
        Some(_) => d.display.as_str(),
        None => spec.head.no_data_label,
    })) + 10.0;
    let x0 = label_w;
    let x1 = (spec.width - value_w).max(x0 + 20.0);
    let (lo, hi) = extent(spec.data.iter().filter_map(|d| d.value)).unwrap_or((0.0, 1.0));
    let x = LinearScale::new((lo.min(0.0), hi.max(0.0)), (x0, x1)).nice(5);
    let ticks = x.labelled_ticks(5);
    let plot_bottom = TOP + ROW * n as f64;
    axis::x_grid(&mut out, &x, &ticks, TOP, plot_bottom);
    out.push_str("<g class=\"bars\">");
    let zero = x.map(0.0);
    for (i, d) in spec.data.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let tip = match d.value {
            Some(_) => format!("{}: {}", d.label, d.display),
            None => format!("{}: {}", d.label, spec.head.no_data_label),
        };
        match &d.href {
            Some(h) => {
                let _ = write!(out, "<a href=\"{}\" class=\"row\">", escape_xml(h));
            }
            None => out.push_str("<g class=\"row\">"),
        }
        let _ = write!(out, "<title>{}</title>", escape_xml(&tip));
        let weight = if d.highlight {
            " font-weight=\"bold\""
        } else {
            ""
        };
        text(
            &mut out,
            x0 - 6.0,
            y + ROW / 2.0 + FONT * 0.35,
            "end",
            weight,
            &d.label,
        );
        match d.value {
            Some(v) if v.is_finite() => {
                let (a, b) = (zero.min(x.map(v)), zero.max(x.map(v)));
                let fill = if d.highlight {
                    palette::OKABE_ITO[1]
                } else {
                    palette::OKABE_ITO[0]
                };
                svg::hbar(&mut out, " class=\"bar\"", (a, b), (y, ROW, BAR), fill);
                text(
                    &mut out,
                    spec.width - 4.0,
                    y + ROW / 2.0 + FONT * 0.35,
                    "end",
                    weight,
                    &d.display,
                );
            }
            _ => text(
                &mut out,
                spec.width - 4.0,
                y + ROW / 2.0 + FONT * 0.35,
                "end",
                " fill=\"#666\" font-style=\"italic\"",
                spec.head.no_data_label,
            ),
        }
        out.push_str(if d.href.is_some() { "</a>" } else { "</g>" });
    }
    out.push_str("</g>");
    svg::line(&mut out, (zero, zero), (TOP, plot_bottom), svg::INK);
    axis::x_axis(&mut out, &x, plot_bottom, &ticks);
    axis::x_title(
        &mut out,
        (x0 + x1) / 2.0,
        plot_bottom + 36.0,
        spec.value_label,
    );
    svg::close(out)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{check_xml, count, texts};
    use super::*;

    fn datum(label: &str, value: Option<f64>, highlight: bool) -> BarDatum {
        BarDatum {
            label: label.into(),
            value,
            display: value.map_or(String::new(), |v| format!("{v:.2}")),
            href: Some(format!("/regions/{label}")),
            highlight,
        }
    }

    fn spec(data: &[BarDatum]) -> String {
        render(&BarSpec {
            head: ChartHead {
                id: "b",
                title: "Ranking",
                desc: "Scores by region",
                no_data_label: "no data",
            },
            data,
            width: 500.0,
            value_label: "Score",
        })
    }

    #[test]
    fn one_bar_per_value_and_rows_are_links() {
        let data = [
            datum("Guangdong", Some(0.8), true),
            datum("<script>&", Some(0.4), false),
            datum("Xizang", None, false),
        ];
        let svg = spec(&data);
        check_xml(&svg).unwrap();
        assert_eq!(count(&svg, "rect.bar"), 2);
        assert_eq!(count(&svg, "a.row[href] > title"), 3);
        assert!(svg.contains("&lt;script&gt;&amp;: 0.40"));
        assert!(!svg.contains("<script"));
        assert_eq!(texts(&svg, "a.row > title")[2], "Xizang: no data");
        // Highlight: other colour and bold label.
        assert!(svg.contains("fill=\"#D55E00\""));
        assert_eq!(svg.matches("font-weight=\"bold\"").count(), 2);
        assert!(svg.contains("role=\"group\""));
    }

    #[test]
    fn bar_lengths_are_proportional_from_zero() {
        let data = [datum("a", Some(1.0), false), datum("b", Some(0.5), false)];
        let svg = spec(&data);
        let widths: Vec<f64> = svg
            .match_indices("class=\"bar\"")
            .map(|(i, _)| {
                let s = &svg[i..];
                let w = &s[s.find("width=\"").unwrap() + 7..];
                w[..w.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        assert_eq!(widths.len(), 2);
        assert!((widths[0] / widths[1] - 2.0).abs() < 0.01, "{widths:?}");
    }

    #[test]
    fn negative_values_extend_left_of_zero_and_empty_data_says_no_data() {
        let svg = spec(&[datum("a", Some(-1.0), false), datum("b", Some(1.0), false)]);
        check_xml(&svg).unwrap();
        assert_eq!(count(&svg, "rect.bar"), 2);
        assert!(texts(&svg, "g.axis text").contains(&"-1.0".to_string()));
        let empty = spec(&[]);
        check_xml(&empty).unwrap();
        assert_eq!(texts(&empty, "text.empty"), ["no data"]);
        assert!(empty.contains("role=\"img\""));
    }
}
