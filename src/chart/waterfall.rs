//! Horizontal waterfall: a start total, one floating bar per step from the running total, and
//! an end total — "what drove the change".
//!
//! Owns: waterfall layout. Must not: compute the steps (the caller passes them in order).

use std::fmt::Write;

use super::axis;
use super::palette::OKABE_ITO;
use super::scale::{LinearScale, extent};
use super::svg::{self, ChartHead, FONT, escape_xml, text, text_width};

/// One row: a total (drawn from 0) or a step (drawn from the running total).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub label: String,
    pub value: f64,
    /// The value as the page formats it (a step carries its sign, so colour is not the only cue).
    pub display: String,
    pub total: bool,
}

pub struct WaterfallSpec<'a> {
    pub head: ChartHead<'a>,
    pub steps: &'a [Step],
    pub width: f64,
}

const ROW: f64 = 20.0;
const BAR: f64 = 13.0;
const TOP: f64 = 6.0;

/// Renders the chart; no steps give a small SVG saying `no_data_label`.
pub fn render(spec: &WaterfallSpec<'_>) -> String {
    let n = spec.steps.len();
    let height = TOP + ROW * n.max(1) as f64 + 24.0;
    let frame = spec
        .head
        .frame("nqp-chart nqp-waterfall", (spec.width, height));
    if n == 0 {
        return frame.empty();
    }
    let (mut out, _) = frame.open();
    // Running totals: each step spans [before, after].
    let mut spans = Vec::with_capacity(n);
    let mut run = 0.0;
    for s in spec.steps {
        let (a, b) = if s.total {
            run = s.value;
            (0.0, s.value)
        } else {
            let a = run;
            run += s.value;
            (a, run)
        };
        spans.push((a, b));
    }
    let label_w =
        svg::widest(spec.steps.iter().map(|s| s.label.as_str())).min(spec.width * 0.4) + 10.0;
    let value_w = svg::widest(spec.steps.iter().map(|s| s.display.as_str())) + 10.0;
    let (x0, x1) = (label_w, (spec.width - value_w).max(label_w + 20.0));
    // The axis spans the running totals, not 0: a change of a few points next to a score of 40
    // would otherwise be a sliver. Totals are drawn from the axis' start (its ticks say where).
    let ends = spans
        .iter()
        .zip(spec.steps)
        .flat_map(|((a, b), s)| if s.total { vec![*b] } else { vec![*a, *b] })
        .filter(|v| v.is_finite());
    let (lo, hi) = extent(ends).unwrap_or((0.0, 1.0));
    let pad = ((hi - lo) * 0.05).max(1e-9);
    let x = LinearScale::new((lo - pad, hi + pad), (x0, x1)).nice(5);
    let d0 = x.domain().0;
    let ticks = x.labelled_ticks(5);
    let bottom = TOP + ROW * n as f64;
    axis::x_grid(&mut out, &x, &ticks, TOP, bottom);
    out.push_str("<g class=\"steps\">");
    for (i, (s, (a, b))) in spec.steps.iter().zip(&spans).enumerate() {
        let y = TOP + ROW * i as f64;
        let (fill, class) = if s.total {
            ("#7f7f7f", "total")
        } else if s.value >= 0.0 {
            (OKABE_ITO[0], "up")
        } else {
            (OKABE_ITO[1], "down")
        };
        let _ = write!(
            out,
            "<g class=\"step {class}\"><title>{}</title>",
            escape_xml(&format!("{}: {}", s.label, s.display))
        );
        let baseline = y + ROW / 2.0 + FONT * 0.35;
        text(
            &mut out,
            x0 - 6.0,
            baseline,
            "end",
            "",
            &fit(&s.label, x0 - 8.0),
        );
        if a.is_finite() && b.is_finite() {
            let a = if s.total { d0 } else { *a };
            let (l, r) = (x.map(a.min(*b)), x.map(a.max(*b)));
            svg::hbar(&mut out, "", (l, r), (y, ROW, BAR), fill);
        }
        text(&mut out, spec.width - 4.0, baseline, "end", "", &s.display);
        out.push_str("</g>");
    }
    out.push_str("</g>");
    axis::x_axis(&mut out, &x, bottom, &ticks);
    svg::close(out)
}

/// `label` cut to about `width` px with an ellipsis (the full text is in the row's title and
/// in the page's data table).
fn fit(label: &str, width: f64) -> String {
    if text_width(label, FONT) <= width {
        return label.to_owned();
    }
    let mut out = String::new();
    for c in label.chars() {
        out.push(c);
        if text_width(&out, FONT) > width - text_width("…", FONT) {
            out.pop();
            break;
        }
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::check_xml;
    use super::*;

    #[test]
    fn steps_float_from_the_running_total() {
        let step = |label: &str, value: f64, total: bool| Step {
            label: label.into(),
            value,
            display: format!("{value:+.1}"),
            total,
        };
        let steps = [
            step("2013", 10.0, true),
            step("a <&>", 5.0, false),
            step("b", -3.0, false),
            step("2019", 12.0, true),
        ];
        let svg = render(&WaterfallSpec {
            head: ChartHead {
                id: "w",
                title: "What drove the change",
                desc: "d",
                no_data_label: "no data",
            },
            steps: &steps,
            width: 400.0,
        });
        check_xml(&svg).unwrap();
        assert_eq!(svg.matches("<rect").count(), 4);
        assert_eq!(svg.matches("class=\"step up\"").count(), 1);
        assert_eq!(svg.matches("class=\"step down\"").count(), 1);
        assert!(svg.contains("a &lt;&amp;&gt;"));
        assert_eq!(fit("short", 200.0), "short");
        let cut = fit(&"long label ".repeat(20), 100.0);
        assert!(
            cut.ends_with('…') && text_width(&cut, FONT) <= 100.0,
            "{cut}"
        );
        let empty = render(&WaterfallSpec {
            head: ChartHead {
                id: "w",
                title: "t",
                desc: "d",
                no_data_label: "no data",
            },
            steps: &[],
            width: 400.0,
        });
        assert!(empty.contains("no data"));
    }
}
