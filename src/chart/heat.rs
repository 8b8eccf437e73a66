//! Heat table, e.g. a Markov transition-probability matrix: an SVG grid of cells coloured by
//! value with the value printed in each cell (colour is never the only carrier).
//!
//! Owns: grid layout. Must not: compute the matrix.

use std::fmt::Write;

use super::palette;
use super::svg::{self, ChartHead, FONT, escape_xml, num, text, text_width};

/// A heat table.
pub struct HeatSpec<'a> {
    pub head: ChartHead<'a>,
    /// Row labels (e.g. class at t).
    pub row_labels: &'a [String],
    /// Column labels (e.g. class at t + 1).
    pub col_labels: &'a [String],
    /// `values[row][col]`; missing cells are hatched.
    pub values: &'a [Vec<Option<f64>>],
    /// Heading over the row labels (e.g. "t \\ t+1").
    pub corner_label: &'a str,
    pub decimals: usize,
    /// Value range of the colour ramp; `None` = (0, 1), right for probabilities.
    pub domain: Option<(f64, f64)>,
}

const CELL_H: f64 = 32.0;

/// Renders the table: one `rect.cell` per row × column.
pub fn render(spec: &HeatSpec<'_>) -> String {
    let label_w = svg::widest(
        spec.row_labels
            .iter()
            .map(String::as_str)
            .chain([spec.corner_label]),
    ) + 14.0;
    let cell_w = spec
        .col_labels
        .iter()
        .map(|l| text_width(l, FONT) + 12.0)
        .fold(56.0, f64::max);
    let (nr, nc) = (spec.row_labels.len(), spec.col_labels.len());
    let width = label_w + cell_w * nc as f64 + 4.0;
    let height = CELL_H * (nr + 1) as f64 + 4.0;
    let frame = spec.head.frame("nqp-chart nqp-heat", (width, height));
    if nr == 0 || nc == 0 {
        return frame.empty();
    }
    let (mut out, id) = frame.open();
    let hatch = format!("{id}-nodata");
    svg::no_data_pattern(&mut out, &hatch);
    let (lo, hi) = spec
        .domain
        .filter(|(a, b)| a.is_finite() && b.is_finite() && a < b)
        .unwrap_or((0.0, 1.0));
    text(
        &mut out,
        label_w - 8.0,
        CELL_H * 0.6,
        "end",
        " font-weight=\"bold\"",
        spec.corner_label,
    );
    for (c, l) in spec.col_labels.iter().enumerate() {
        text(
            &mut out,
            label_w + cell_w * (c as f64 + 0.5),
            CELL_H * 0.6,
            "middle",
            " font-weight=\"bold\"",
            l,
        );
    }
    out.push_str("<g class=\"cells\">");
    for (r, rl) in spec.row_labels.iter().enumerate() {
        let y = CELL_H * (r + 1) as f64;
        text(
            &mut out,
            label_w - 8.0,
            y + CELL_H / 2.0 + FONT * 0.35,
            "end",
            " font-weight=\"bold\"",
            rl,
        );
        for (c, cl) in spec.col_labels.iter().enumerate() {
            let x = label_w + cell_w * c as f64;
            let v = spec
                .values
                .get(r)
                .and_then(|row| row.get(c))
                .copied()
                .flatten()
                .filter(|v| v.is_finite());
            let (fill, label) = match v {
                Some(v) => (
                    palette::sequential((v - lo) / (hi - lo)),
                    format!("{v:.prec$}", prec = spec.decimals),
                ),
                None => (
                    format!("url(#{hatch})"),
                    spec.head.no_data_label.to_string(),
                ),
            };
            let _ = write!(
                out,
                "<g><title>{}</title><rect class=\"cell\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" stroke=\"#fff\" stroke-width=\"1\"/>",
                escape_xml(&format!("{rl} → {cl}: {label}")),
                num(x),
                num(y),
                num(cell_w),
                num(CELL_H)
            );
            if v.is_some() {
                let ink = palette::text_on(&fill);
                text(
                    &mut out,
                    x + cell_w / 2.0,
                    y + CELL_H / 2.0 + FONT * 0.35,
                    "middle",
                    &format!(" fill=\"{ink}\""),
                    &label,
                );
            }
            out.push_str("</g>");
        }
    }
    out.push_str("</g>");
    svg::close(out)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{check_xml, count, texts};
    use super::*;

    #[test]
    fn one_cell_per_entry_with_values_and_hatch() {
        let labels: Vec<String> = vec!["low".into(), "mid".into(), "high & <top>".into()];
        let values = vec![
            vec![Some(0.9), Some(0.1), Some(0.0)],
            vec![Some(0.2), Some(0.7), Some(0.1)],
            vec![None, Some(0.05), Some(0.95)],
        ];
        let svg = render(&HeatSpec {
            head: ChartHead {
                id: "h",
                title: "Markov",
                desc: "Transitions",
                no_data_label: "–",
            },
            row_labels: &labels,
            col_labels: &labels,
            values: &values,
            corner_label: "t \\ t+1",
            decimals: 2,
            domain: None,
        });
        check_xml(&svg).unwrap();
        assert_eq!(count(&svg, "rect.cell"), 9);
        assert_eq!(svg.matches("fill=\"url(#h-nodata)\"").count(), 1);
        let cell_texts = texts(&svg, "g.cells > g > text");
        assert_eq!(cell_texts.len(), 8);
        assert_eq!(cell_texts[0], "0.90");
        // Dark cells get white numbers, light cells black ones.
        assert!(svg.contains("fill=\"#ffffff\">0.95</text>"));
        assert!(svg.contains("fill=\"#000000\">0.05</text>"));
        assert!(svg.contains("<title>high &amp; &lt;top&gt; → low: –</title>"));
    }
}
