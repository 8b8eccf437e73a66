//! Stacked bars over categories (years) for a decomposition, e.g. the Dagum Gini split into
//! within-group, between-group and transvariation contributions.
//!
//! Positive parts stack upwards from 0 and negative parts downwards (d3's "diverging" offset),
//! so a negative contribution is never hidden inside a positive stack.
//!
//! Owns: stacked-bar layout. Must not: compute the decomposition.

use std::fmt::Write;

use super::NamedValues;
use super::axis;
use super::legend::{self, LegendItem, Swatch};
use super::palette;
use super::scale::LinearScale;
use super::svg::{self, ChartHead, FONT, escape_xml, num, text};

/// A stacked bar chart.
pub struct StackedSpec<'a> {
    pub head: ChartHead<'a>,
    /// x categories, e.g. years as text.
    pub categories: &'a [String],
    /// Layers bottom to top, a value per category each (missing: drawn as nothing).
    pub layers: &'a [NamedValues],
    /// Width and height of the plot area plus axes; the legend row adds to the height.
    pub size: (f64, f64),
    pub y_label: &'a str,
    pub decimals: usize,
}

/// Renders the chart: one `rect.segment` per non-zero finite value.
pub fn render(spec: &StackedSpec<'_>) -> String {
    let items: Vec<LegendItem> = spec
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| LegendItem {
            label: l.name.clone(),
            swatch: Swatch::Fill(palette::categorical(i).into()),
        })
        .collect();
    let legend = legend::RowBelow::new(items, spec.size);
    let (width, plot_height) = spec.size;
    let nc = spec.categories.len();
    let value =
        |l: &NamedValues, c: usize| l.values.get(c).copied().flatten().filter(|v| v.is_finite());
    // Stack extents per category.
    let sums: Vec<(f64, f64)> = (0..nc)
        .map(|c| {
            spec.layers
                .iter()
                .filter_map(|l| value(l, c))
                .fold((0.0, 0.0), |(neg, pos), v| {
                    if v < 0.0 {
                        (neg + v, pos)
                    } else {
                        (neg, pos + v)
                    }
                })
        })
        .collect();
    let frame = spec.head.frame("nqp-chart nqp-stacked", legend.figure());
    if nc == 0 || sums.iter().all(|s| *s == (0.0, 0.0)) {
        return frame.empty();
    }
    let (mut out, _) = frame.open();
    let lo = sums.iter().map(|s| s.0).fold(0.0, f64::min);
    let hi = sums.iter().map(|s| s.1).fold(0.0, f64::max);
    let left = axis::left_margin(spec.y_label);
    let bottom = plot_height - 28.0;
    let y = LinearScale::new((lo, hi), (bottom, 10.0)).nice(5);
    let ticks = y.labelled_ticks(5);
    axis::y_axis(&mut out, &y, left, width - 10.0, &ticks);
    axis::y_title(&mut out, 14.0, (10.0 + bottom) / 2.0, spec.y_label);
    let band = (width - 10.0 - left) / nc as f64;
    let bar_w = (band * 0.7).min(60.0);
    let _ = write!(
        out,
        "<line class=\"zero\" x1=\"{}\" x2=\"{}\" y1=\"{z}\" y2=\"{z}\" stroke=\"{}\" stroke-width=\"1\"/>",
        num(left),
        num(width - 10.0),
        svg::INK,
        z = num(y.map(0.0))
    );
    out.push_str("<g class=\"bars\">");
    for (c, cat) in spec.categories.iter().enumerate() {
        let cx = left + band * (c as f64 + 0.5);
        let (mut neg, mut pos) = (0.0, 0.0);
        for (li, l) in spec.layers.iter().enumerate() {
            let Some(v) = value(l, c).filter(|v| *v != 0.0) else {
                continue;
            };
            let (a, b) = if v > 0.0 {
                pos += v;
                (pos - v, pos)
            } else {
                neg += v;
                (neg, neg - v)
            };
            let _ = write!(
                out,
                "<rect class=\"segment\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"0.5\"><title>{}</title></rect>",
                num(cx - bar_w / 2.0),
                num(y.map(b)),
                num(bar_w),
                num((y.map(a) - y.map(b)).max(0.5)),
                palette::categorical(li),
                escape_xml(&format!(
                    "{} {cat}: {v:.prec$}",
                    l.name,
                    prec = spec.decimals
                ))
            );
        }
        // Category label; thinned when the labels would collide.
        let every = ((svg::text_width(cat, FONT) + 6.0) / band).ceil().max(1.0) as usize;
        if c % every == 0 {
            text(&mut out, cx, bottom + 4.0 + FONT, "middle", "", cat);
        }
    }
    out.push_str("</g>");
    legend.draw(&mut out);
    svg::close(out)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{check_xml, count};
    use super::*;

    #[test]
    fn one_segment_per_nonzero_value_and_negatives_go_down() {
        let categories: Vec<String> = vec!["2021".into(), "2022".into(), "2023".into()];
        let layers = [
            NamedValues {
                name: "within".into(),
                values: vec![Some(0.1), Some(0.1), None],
            },
            NamedValues {
                name: "between <G>".into(),
                values: vec![Some(0.2), Some(0.0), Some(0.3)],
            },
            NamedValues {
                name: "trans".into(),
                values: vec![Some(-0.05), Some(0.05), Some(0.05)],
            },
        ];
        let svg = render(&StackedSpec {
            head: ChartHead {
                id: "st",
                title: "Dagum",
                desc: "Decomposition",
                no_data_label: "no data",
            },
            categories: &categories,
            layers: &layers,
            size: (500.0, 260.0),
            y_label: "Contribution",
            decimals: 2,
        });
        check_xml(&svg).unwrap();
        assert_eq!(count(&svg, "rect.segment"), 7);
        assert!(svg.contains("<title>between &lt;G&gt; 2023: 0.30</title>"));
        assert_eq!(count(&svg, "g.legend rect"), 3);
        // The negative segment starts at the zero line and goes down.
        let zero_line = &svg[svg.find("class=\"zero\"").unwrap()..];
        let zy: f64 = {
            let s = &zero_line[zero_line.find("y1=\"").unwrap() + 4..];
            s[..s.find('"').unwrap()].parse().unwrap()
        };
        let neg = &svg[..svg.find("trans 2021").unwrap()];
        let neg = &neg[neg.rfind("<rect").unwrap()..];
        let y: f64 = {
            let s = &neg[neg.find(" y=\"").unwrap() + 4..];
            s[..s.find('"').unwrap()].parse().unwrap()
        };
        assert!((y - zy).abs() < 0.11, "{y} vs {zy}");
    }
}
