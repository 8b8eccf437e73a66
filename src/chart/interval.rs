//! Rank-interval chart (COINr `plot_uncertainty`, the GII's published rank intervals): one row
//! per region with a bar from the 5th to the 95th percentile rank, a tick at the median and a
//! dot at the nominal rank. Rank 1 is at the left.
//!
//! Owns: layout. Must not: compute the percentiles.

use std::fmt::Write;

use super::palette;
use super::svg::{self, ChartHead, FONT, GRID, num, text};
use crate::analysis::robustness::UncertaintyRow;

/// A rank-interval chart: one row per region, in the order given — its name and the rank
/// interval the uncertainty analysis computed (the nominal rank is the dot, the median the tick,
/// the 5th and 95th percentile ranks the ends of the bar).
pub struct IntervalSpec<'a> {
    pub head: ChartHead<'a>,
    pub rows: &'a [(String, &'a UncertaintyRow)],
}

const ROW: f64 = 20.0;
const PLOT_W: f64 = 420.0;

/// Renders the chart, rows in the order given.
pub fn render(spec: &IntervalSpec<'_>) -> String {
    let label_w = svg::widest(spec.rows.iter().map(|(label, _)| label.as_str())).max(40.0) + 12.0;
    let max_rank = spec
        .rows
        .iter()
        .map(|(_, r)| r.p95_rank.max(r.nominal_rank))
        .max()
        .unwrap_or(1)
        .max(2);
    let width = label_w + PLOT_W + 20.0;
    let height = ROW * (spec.rows.len() + 1) as f64 + 8.0;
    let frame = spec.head.frame("nqp-chart nqp-interval", (width, height));
    if spec.rows.is_empty() {
        return frame.empty();
    }
    let (mut out, _) = frame.open();
    let x = |rank: u32| label_w + PLOT_W * f64::from(rank - 1) / f64::from(max_rank - 1);
    for tick in [1, max_rank.div_ceil(2), max_rank] {
        let _ = write!(
            out,
            "<line x1=\"{x}\" x2=\"{x}\" y1=\"{top}\" y2=\"{bottom}\" stroke=\"{GRID}\"/>",
            x = num(x(tick)),
            top = num(ROW * 0.5),
            bottom = num(height - ROW * 0.5)
        );
        text(
            &mut out,
            x(tick),
            height - 2.0,
            "middle",
            "",
            &tick.to_string(),
        );
    }
    for (i, (label, r)) in spec.rows.iter().enumerate() {
        let y = ROW * (i as f64 + 0.5) + 4.0;
        text(&mut out, label_w - 8.0, y + FONT * 0.35, "end", "", label);
        let _ = write!(
            out,
            "<g class=\"interval\"><title>{label}: {nominal} ({p05}–{p95}, median {median})</title>\
             <rect x=\"{x0}\" y=\"{y0}\" width=\"{w}\" height=\"8\" fill=\"{fill}\" opacity=\"0.45\"/>\
             <line x1=\"{xm}\" x2=\"{xm}\" y1=\"{y1}\" y2=\"{y2}\" stroke=\"{ink}\" stroke-width=\"2\"/>\
             <circle cx=\"{xn}\" cy=\"{y}\" r=\"4\" fill=\"{ink}\"/></g>",
            label = svg::escape_xml(label),
            nominal = r.nominal_rank,
            p05 = r.p05_rank,
            p95 = r.p95_rank,
            median = r.median_rank,
            x0 = num(x(r.p05_rank) - 3.0),
            y0 = num(y - 4.0),
            w = num(x(r.p95_rank) - x(r.p05_rank) + 6.0),
            fill = palette::OKABE_ITO[4],
            xm = num(x(r.median_rank)),
            y1 = num(y - 6.0),
            y2 = num(y + 6.0),
            ink = svg::INK,
            xn = num(x(r.nominal_rank)),
            y = num(y),
        );
    }
    svg::close(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_interval_per_row_with_escaped_labels() {
        let interval = UncertaintyRow {
            region: "CN-XX".into(),
            year: 2020,
            nominal_rank: 2,
            median_rank: 3,
            p05_rank: 1,
            p95_rank: 5,
            mean_abs_shift: 1.0,
        };
        let rows = [("A<B".to_owned(), &interval)];
        let svg = render(&IntervalSpec {
            head: ChartHead {
                id: "t",
                title: "t",
                desc: "d",
                no_data_label: "none",
            },
            rows: &rows,
        });
        assert_eq!(svg.matches("class=\"interval\"").count(), 1);
        assert!(svg.contains("A&lt;B"));
    }
}
