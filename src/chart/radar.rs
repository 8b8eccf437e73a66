//! Radar (spider) chart of n ≥ 3 dimension scores against reference series (e.g. the national
//! mean).
//!
//! Owns: radar layout. A series with a missing value draws markers only (a polygon through a
//! guessed value would misstate the shape). Must not: normalise scores.

use std::f64::consts::{FRAC_PI_2, TAU};
use std::fmt::Write;

use super::NamedValues;
use super::legend;
use super::palette;
use super::scale::{LinearScale, extent, format_tick, tick_step};
use super::svg::{self, ChartHead, FONT, GRID, escape_xml, num, text};

/// A radar chart.
pub struct RadarSpec<'a> {
    pub head: ChartHead<'a>,
    /// Axis labels, clockwise from the top.
    pub axes: &'a [String],
    /// One polygon each: a value per axis, in axis order.
    pub series: &'a [NamedValues],
    /// Value at the rim; `None` uses a nice maximum of the data. The centre is 0.
    pub max: Option<f64>,
    /// Width of the SVG (the plot is square; the legend adds height).
    pub size: f64,
    pub decimals: usize,
}

/// Line height of axis labels, px.
const LINE: f64 = FONT * 1.2;

/// Splits a label wider than `max_w` at the space nearest its middle; labels without spaces
/// (Chinese) stay on one line.
fn wrap(label: &str, max_w: f64) -> Vec<&str> {
    if svg::text_width(label, FONT) <= max_w {
        return vec![label];
    }
    let mid = label.len() / 2;
    match label
        .match_indices(' ')
        .map(|(i, _)| i)
        .min_by_key(|i| i.abs_diff(mid))
    {
        Some(i) => vec![&label[..i], &label[i + 1..]],
        None => vec![label],
    }
}

/// Renders the chart; fewer than 3 axes gives an SVG saying `no_data_label`.
pub fn render(spec: &RadarSpec<'_>) -> String {
    let items = legend::series_items(spec.series.iter().map(|s| s.name.as_str()));
    let n = spec.axes.len();
    let angle = |i: usize| -FRAC_PI_2 + TAU * i as f64 / n.max(1) as f64;
    let labels: Vec<Vec<&str>> = spec
        .axes
        .iter()
        .map(|a| wrap(a, spec.size * 0.22))
        .collect();
    let widest = |i: usize| {
        labels[i]
            .iter()
            .map(|l| svg::text_width(l, FONT))
            .fold(0.0, f64::max)
    };
    // The largest radius at which every axis label still fits horizontally: a label sticks out
    // beyond its vertex by its full width (left/right anchored) or half of it (centred).
    let half = spec.size / 2.0 - 6.0;
    let radius = (0..n)
        .fold(half - 24.0, |r, i| {
            let c = angle(i).cos().abs();
            let out = if c > 0.3 {
                widest(i) + 8.0
            } else {
                widest(i) / 2.0
            };
            if c > 1e-9 { r.min((half - out) / c) } else { r }
        })
        .max(20.0);
    // Axis 0 points up; the lowest vertex decides how far the plot reaches down (a triangle
    // only reaches r/2 below the centre), so the SVG is only as tall as the figure needs.
    let reach_down = (0..n).map(|i| angle(i).sin()).fold(0.0, f64::max);
    let lines_up = labels.first().map_or(1, Vec::len) as f64;
    let lines_down = (0..n)
        .filter(|i| angle(*i).sin() > 0.3)
        .map(|i| labels[i].len())
        .max()
        .unwrap_or(1) as f64;
    let (cx, cy) = (spec.size / 2.0, LINE * lines_up + 12.0 + radius);
    let plot_h = cy + radius * reach_down + LINE * lines_down + 16.0;
    let legend_h = legend::row_height(&items, spec.size - 20.0);
    let height = plot_h + legend_h + 4.0;
    let frame = spec.head.frame("nqp-chart nqp-radar", (spec.size, height));
    if n < 3 {
        return frame.empty();
    }
    let (mut out, _) = frame.open();
    let data_max = extent(
        spec.series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied()),
    )
    .map_or(1.0, |(_, b)| b);
    let max = spec
        .max
        .filter(|m| m.is_finite() && *m > 0.0)
        .unwrap_or_else(|| {
            LinearScale::new((0.0, data_max.max(f64::MIN_POSITIVE)), (0.0, 1.0))
                .nice(4)
                .domain()
                .1
        });
    let r = LinearScale::new((0.0, max), (0.0, radius));
    let at = |i: usize, v: f64| {
        let rr = r.map(v.clamp(0.0, max));
        (cx + rr * angle(i).cos(), cy + rr * angle(i).sin())
    };
    let polygon = |v: f64| svg::points_attr((0..n).map(|i| at(i, v)));
    // Grid: rings at round values, spokes, labels.
    let step = tick_step(0.0, max, 4);
    out.push_str("<g class=\"grid\" fill=\"none\">");
    let rings: Vec<f64> = r.ticks(4).into_iter().filter(|t| *t > 0.0).collect();
    for t in &rings {
        let _ = write!(
            out,
            "<polygon points=\"{}\" stroke=\"{GRID}\" stroke-width=\"1\"/>",
            polygon(*t)
        );
    }
    for i in 0..n {
        let (x, y) = at(i, max);
        let _ = write!(
            out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#bbb\" stroke-width=\"1\"/>",
            num(cx),
            num(cy),
            num(x),
            num(y)
        );
    }
    out.push_str("</g><g class=\"ticks\" fill=\"#555\">");
    // Ring values beside the upward spoke; the rim value is left out, the axis label is there.
    for t in rings.iter().filter(|t| **t < max) {
        text(
            &mut out,
            cx + 4.0,
            cy - r.map(*t) + 11.0,
            "start",
            " font-size=\"10\"",
            &format_tick(*t, step),
        );
    }
    out.push_str("</g><g class=\"axis-labels\">");
    for (i, lines) in labels.iter().enumerate() {
        let (x, y) = at(i, max);
        let (dx, dy) = (angle(i).cos(), angle(i).sin());
        let anchor = if dx > 0.3 {
            "start"
        } else if dx < -0.3 {
            "end"
        } else {
            "middle"
        };
        // First baseline: below the vertex for lower axes, above it for upper ones, centred
        // on it for the sides.
        let k = lines.len() as f64;
        let tx = x + dx * 8.0;
        let ty = if dy > 0.3 {
            y + 8.0 + FONT
        } else if dy < -0.3 {
            y - 8.0 - LINE * (k - 1.0)
        } else {
            y + FONT * 0.35 - LINE * (k - 1.0) / 2.0
        };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\">",
            num(tx),
            num(ty)
        );
        for (j, line) in lines.iter().enumerate() {
            let _ = write!(
                out,
                "<tspan x=\"{}\" dy=\"{}\">{}</tspan>",
                num(tx),
                if j == 0 { 0.0 } else { LINE },
                escape_xml(line)
            );
        }
        out.push_str("</text>");
    }
    out.push_str("</g><g class=\"series\">");
    for (si, s) in spec.series.iter().enumerate() {
        let color = palette::categorical(si);
        let complete =
            s.values.len() == n && s.values.iter().all(|v| v.is_some_and(f64::is_finite));
        if complete {
            let pts = s
                .values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| at(i, v)));
            let _ = write!(
                out,
                "<polygon class=\"area\" points=\"{}\" fill=\"{color}\" fill-opacity=\"0.15\" stroke=\"{color}\" stroke-width=\"2\"{}/>",
                svg::points_attr(pts),
                svg::dash_attr(palette::dash(si))
            );
        }
        for (i, v) in s.values.iter().enumerate().take(n) {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                let (x, y) = at(i, v);
                let _ = write!(
                    out,
                    "<circle class=\"point\" cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{color}\"><title>{}</title></circle>",
                    num(x),
                    num(y),
                    escape_xml(&format!(
                        "{} – {}: {v:.prec$}",
                        s.name,
                        spec.axes[i],
                        prec = spec.decimals
                    ))
                );
            }
        }
    }
    out.push_str("</g>");
    legend::row(&mut out, 10.0, plot_h, spec.size - 20.0, &items);
    svg::close(out)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{check_xml, count};
    use super::*;

    fn render_with(series: &[NamedValues], axes: &[String]) -> String {
        render(&RadarSpec {
            head: ChartHead {
                id: "r",
                title: "Profile",
                desc: "Three dimensions",
                no_data_label: "no data",
            },
            axes,
            series,
            max: Some(1.0),
            size: 360.0,
            decimals: 2,
        })
    }

    fn axes() -> Vec<String> {
        vec!["Laborers".into(), "Tools".into(), "<Objects>".into()]
    }

    #[test]
    fn one_polygon_per_complete_series() {
        let series = [
            NamedValues {
                name: "Guangdong".into(),
                values: vec![Some(1.0), Some(0.5), Some(0.25)],
            },
            NamedValues {
                name: "Mean".into(),
                values: vec![Some(0.4), None, Some(0.4)],
            },
        ];
        let svg = render_with(&series, &axes());
        check_xml(&svg).unwrap();
        assert_eq!(count(&svg, "polygon.area"), 1);
        assert_eq!(count(&svg, "circle.point"), 5);
        assert!(svg.contains("Guangdong – &lt;Objects&gt;: 0.25"));
        // Value 1.0 on the upward axis sits at the rim straight above the centre.
        let p = &svg[svg.find("class=\"area\" points=\"").unwrap() + 21..];
        let first = p[..p.find(' ').unwrap()].split_once(',').unwrap();
        assert_eq!(first.0, "180");
        assert_eq!(count(&svg, "g.grid polygon"), 5);
    }

    #[test]
    fn long_labels_wrap_at_a_middle_space_and_keep_the_radar_large() {
        assert_eq!(wrap("Objects of labor", 60.0), ["Objects", "of labor"]);
        assert_eq!(wrap("Tools", 60.0), ["Tools"]);
        assert_eq!(
            wrap("劳动资料劳动资料劳动资料", 60.0),
            ["劳动资料劳动资料劳动资料"]
        );
        let axes: Vec<String> = vec![
            "Laborers".into(),
            "Means of labor".into(),
            "Objects of labor".into(),
        ];
        let series = [NamedValues {
            name: "A".into(),
            values: vec![Some(1.0), Some(1.0), Some(1.0)],
        }];
        let svg = render_with(&series, &axes);
        check_xml(&svg).unwrap();
        assert_eq!(count(&svg, "g.axis-labels tspan"), 5);
        // Radius = distance of the rim vertex of axis 0 from the centre (x = 180).
        let p = &svg[svg.find("class=\"area\" points=\"").unwrap() + 21..];
        let pts: Vec<(f64, f64)> = p[..p.find('"').unwrap()]
            .split(' ')
            .map(|xy| {
                let (x, y) = xy.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        let r = (pts[1].0 - 180.0) / (TAU / 3.0 - FRAC_PI_2).cos();
        assert!(r > 100.0, "radius {r}");
        // The right-hand label ends inside the SVG.
        let right = pts[1].0 + 8.0 + svg::text_width("Means of", FONT);
        assert!(right <= 360.0, "{right}");
    }

    #[test]
    fn fewer_than_three_axes_is_an_empty_chart() {
        let svg = render_with(&[], &axes()[..2]);
        check_xml(&svg).unwrap();
        assert!(svg.contains(">no data</text>"));
        assert_eq!(count(&svg, "polygon"), 0);
    }
}
