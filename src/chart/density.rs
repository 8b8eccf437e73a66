//! Kernel density curves of a score's distribution, one curve per year (the usual picture of
//! regional convergence: peaks moving, widening or splitting).
//!
//! Owns: the curve layout. Must not: estimate densities — it draws the curves
//! `analysis::dynamics::kernel_density` computed (the `kernel` table, which is also the
//! `kernel.csv` download), so the chart and the download cannot disagree.

use std::fmt::Write;

use super::axis;
use super::legend;
use super::palette;
use super::scale::{LinearScale, extent};
use super::svg::{self, ChartHead, escape_xml};

/// One curve: the density at each grid point `x` (e.g. one year's kernel rows).
#[derive(Debug, Clone, PartialEq)]
pub struct DensityCurve {
    pub name: String,
    pub x: Vec<f64>,
    pub density: Vec<f64>,
}

/// A density chart.
pub struct DensitySpec<'a> {
    pub head: ChartHead<'a>,
    /// One curve per year, drawn in order (the palette's colour by position).
    pub curves: &'a [DensityCurve],
    /// Width and height of the plot area plus axes; the legend row adds to the height.
    pub size: (f64, f64),
    /// What `x` measures (the score or indicator the kernel was estimated on).
    pub x_label: &'a str,
    pub y_label: &'a str,
}

/// Renders the chart: one `path.curve` per series with at least 2 finite values.
pub fn render(spec: &DensitySpec<'_>) -> String {
    let items = legend::series_items(spec.curves.iter().map(|c| c.name.as_str()));
    let legend = legend::RowBelow::new(items, spec.size);
    let (width, plot_height) = spec.size;
    // A curve needs two finite points to be a line.
    let curves: Vec<(usize, &DensityCurve)> = spec
        .curves
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.x.iter()
                .zip(&c.density)
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .count()
                >= 2
        })
        .collect();
    let all = extent(curves.iter().flat_map(|(_, c)| c.x.iter().copied()));
    let frame = spec.head.frame("nqp-chart nqp-density", legend.figure());
    let (Some((a, b)), false) = (all, curves.is_empty()) else {
        return frame.empty();
    };
    let (mut out, _) = frame.open();
    let ymax = curves
        .iter()
        .flat_map(|(_, c)| c.density.iter().copied())
        .filter(|y| y.is_finite())
        .fold(0.0, f64::max);
    let left = axis::left_margin(spec.y_label);
    let bottom = plot_height - if spec.x_label.is_empty() { 28.0 } else { 44.0 };
    let x = LinearScale::new((a, b), (left, width - 16.0));
    let y = LinearScale::new((0.0, ymax), (bottom, 10.0)).nice(4);
    axis::y_axis(&mut out, &y, left, width - 16.0, &y.labelled_ticks(4));
    axis::y_title(&mut out, 14.0, (10.0 + bottom) / 2.0, spec.y_label);
    axis::x_axis(&mut out, &x, bottom, &x.labelled_ticks(6));
    axis::x_title(
        &mut out,
        (left + width - 16.0) / 2.0,
        bottom + 38.0,
        spec.x_label,
    );
    out.push_str("<g class=\"series\" fill=\"none\">");
    for &(i, c) in &curves {
        let d = svg::path_d(
            c.x.iter()
                .zip(&c.density)
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|(xv, yv)| (x.map(*xv), y.map(*yv))),
        );
        let _ = write!(
            out,
            "<path class=\"curve\" d=\"{d}\" stroke=\"{}\" stroke-width=\"2\"{}><title>{}</title></path>",
            palette::categorical(i),
            svg::dash_attr(palette::dash(i)),
            escape_xml(&c.name)
        );
    }
    out.push_str("</g>");
    legend.draw(&mut out);
    svg::close(out)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{check_xml, count};
    use super::*;

    fn curve(name: &str, x: &[f64], density: &[f64]) -> DensityCurve {
        DensityCurve {
            name: name.into(),
            x: x.to_vec(),
            density: density.to_vec(),
        }
    }

    /// The 600 × 300 chart of `curves` with the axis titles `(x, y)`.
    fn chart(curves: &[DensityCurve], (x_label, y_label): (&str, &str)) -> String {
        render(&DensitySpec {
            head: ChartHead {
                id: "d",
                title: "Distribution",
                desc: "Kernel density",
                no_data_label: "no data",
            },
            curves,
            size: (600.0, 300.0),
            x_label,
            y_label,
        })
    }

    #[test]
    fn one_curve_per_usable_series_through_the_given_points() {
        let curves = [
            curve("2012", &[0.0, 0.5, 1.0], &[0.0, 2.0, 1.0]),
            curve("2023 <b>", &[0.5, 1.5, 2.0], &[1.0, 0.5, f64::NAN]),
            curve("1 point", &[0.5], &[1.0]),
        ];
        let svg = chart(&curves, ("Score", "Density"));
        check_xml(&svg).unwrap();
        assert_eq!(count(&svg, "path.curve"), 2);
        assert!(svg.contains("<title>2023 &lt;b&gt;</title>"));
        assert_eq!(count(&svg, "g.legend line"), 3);
        // The first curve is drawn through its 3 points, the second through its 2 finite ones:
        // x = 0 sits at the left edge (68 = 52 + 16 for the y title), the peak density 2 at the
        // top of the nice(4) y axis [0, 2] (y = 10).
        let d = |n: usize| {
            let from = svg.match_indices("class=\"curve\" d=\"").nth(n).unwrap().0 + 17;
            svg[from..from + svg[from..].find('"').unwrap()].to_owned()
        };
        assert_eq!(d(0).matches(['M', 'L']).count(), 3);
        assert!(d(0).starts_with("M68,"), "{}", d(0));
        assert!(d(0).contains(",10L"), "{}", d(0));
        assert_eq!(d(1).matches(['M', 'L']).count(), 2);
    }

    #[test]
    fn no_usable_curve_says_so() {
        let svg = chart(&[curve("x", &[1.0], &[1.0])], ("", ""));
        check_xml(&svg).unwrap();
        assert_eq!(count(&svg, "path.curve"), 0);
        assert!(svg.contains("no data"));
    }
}
