//! Multi-series line chart over years (score trends, rank trends with an inverted axis).
//!
//! Owns: line layout; a missing year breaks the line (no interpolation is drawn), every present
//! point gets a marker with a tooltip. Must not: fill gaps or rank.

use std::fmt::Write;

use super::axis;
use super::legend;
use super::palette;
use super::scale::{LinearScale, extent, tick_step};
use super::svg::{self, ChartHead, escape_xml, num};

/// One line: (year, value) points; `None` breaks the line.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(i32, Option<f64>)>,
    /// Drawn thicker (e.g. the region of the profile against peers).
    pub emphasis: bool,
}

/// A line chart.
pub struct LineSpec<'a> {
    pub head: ChartHead<'a>,
    pub series: &'a [Series],
    /// Width and height of the plot area plus axes; the legend row adds to the height.
    pub size: (f64, f64),
    pub y_label: &'a str,
    /// Smaller values on top (ranks: 1 is best).
    pub invert_y: bool,
    /// Only integer ticks and no "nice" widening below 1 (ranks).
    pub integer_y: bool,
    /// Fixed y domain (e.g. (0, 1) for scores); `None` fits the data.
    pub y_domain: Option<(f64, f64)>,
    /// Decimals of values in tooltips.
    pub decimals: usize,
}

const TOP: f64 = 10.0;
const RIGHT: f64 = 16.0;

/// Year ticks: every year when there are few, otherwise a round step.
pub(crate) fn year_ticks(y0: i32, y1: i32) -> Vec<(f64, String)> {
    let span = (y1 - y0).max(0);
    let step = if span <= 12 {
        1
    } else {
        (tick_step(0.0, f64::from(span), 8).round() as i32).max(1)
    };
    let first = y0 + (step - y0.rem_euclid(step)) % step;
    (first..=y1)
        .step_by(step as usize)
        .map(|y| (f64::from(y), y.to_string()))
        .collect()
}

/// Renders the chart.
pub fn render(spec: &LineSpec<'_>) -> String {
    let legend = if spec.series.len() > 1 {
        let items = legend::series_items(spec.series.iter().map(|s| s.name.as_str()));
        legend::RowBelow::new(items, spec.size)
    } else {
        legend::RowBelow::none(spec.size)
    };
    let (width, plot_height) = spec.size;
    let frame = spec.head.frame("nqp-chart nqp-line", legend.figure());
    let years = extent(
        spec.series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| f64::from(p.0))),
    );
    let values = extent(
        spec.series
            .iter()
            .flat_map(|s| s.points.iter().filter_map(|p| p.1)),
    );
    let (Some((ya, yb)), Some((va, vb))) = (years, values) else {
        return frame.empty();
    };
    let (mut out, _) = frame.open();
    let left = axis::left_margin(spec.y_label);
    let bottom = plot_height - 28.0;
    let x = LinearScale::new((ya, yb), (left + 8.0, width - RIGHT - 8.0));
    let (lo, hi) = spec.y_domain.unwrap_or((va, vb));
    let range = if spec.invert_y {
        (TOP, bottom)
    } else {
        (bottom, TOP)
    };
    let (y, ticks) = if spec.integer_y {
        // Ranks start at 1: an inverted rank axis never shows 0.
        let lo = if spec.invert_y {
            lo.floor().max(1.0)
        } else {
            lo.floor()
        };
        let hi = hi.ceil();
        let y = LinearScale::new((lo, hi.max(lo + 1.0)), range);
        let step = tick_step(lo, hi, 5).max(1.0).round();
        let mut t: Vec<f64> = y
            .ticks(5)
            .into_iter()
            .filter(|v| v.fract() == 0.0 && v % step == 0.0)
            .collect();
        if t.first() != Some(&lo) {
            t.insert(0, lo);
        }
        (
            y,
            t.into_iter()
                .map(|v| (v, format!("{v:.0}")))
                .collect::<Vec<_>>(),
        )
    } else {
        let mut y = LinearScale::new((lo, hi), range);
        if spec.y_domain.is_none() {
            y = y.nice(5);
        }
        (y, y.labelled_ticks(5))
    };
    axis::y_axis(&mut out, &y, left, width - RIGHT, &ticks);
    axis::y_title(&mut out, 14.0, (TOP + bottom) / 2.0, spec.y_label);
    axis::x_axis(&mut out, &x, bottom, &year_ticks(ya as i32, yb as i32));
    out.push_str("<g class=\"series\" fill=\"none\">");
    for (i, s) in spec.series.iter().enumerate() {
        let color = palette::categorical(i);
        let mut pts = s.points.clone();
        pts.sort_by_key(|p| p.0);
        // One path; "M" restarts after a missing (`None`) point so the gap is visible as a
        // break. Years simply absent from `points` are not gaps (e.g. data every five years).
        let mut d = String::new();
        let mut drawing = false;
        for &(year, v) in &pts {
            match v.filter(|v| v.is_finite()) {
                Some(v) => {
                    let cont = drawing;
                    let _ = write!(
                        d,
                        "{}{},{}",
                        if cont { "L" } else { "M" },
                        num(x.map(f64::from(year))),
                        num(y.map(v))
                    );
                    drawing = true;
                }
                None => drawing = false,
            }
        }
        let _ = write!(
            out,
            "<g class=\"line\"><path d=\"{d}\" stroke=\"{color}\" stroke-width=\"{}\"{}/>",
            if s.emphasis { 3 } else { 2 },
            svg::dash_attr(palette::dash(i))
        );
        for &(year, v) in &pts {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                let _ = write!(
                    out,
                    "<circle class=\"point\" cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{color}\"><title>{}</title></circle>",
                    num(x.map(f64::from(year))),
                    num(y.map(v)),
                    escape_xml(&format!(
                        "{} {year}: {v:.prec$}",
                        s.name,
                        prec = spec.decimals
                    ))
                );
            }
        }
        out.push_str("</g>");
    }
    out.push_str("</g>");
    legend.draw(&mut out);
    svg::close(out)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{check_xml, count, texts};
    use super::*;

    fn spec<'a>(series: &'a [Series], invert: bool) -> LineSpec<'a> {
        LineSpec {
            head: ChartHead {
                id: "l",
                title: "Trend",
                desc: "Score by year",
                no_data_label: "no data",
            },
            series,
            size: (600.0, 300.0),
            y_label: "Score",
            invert_y: invert,
            integer_y: invert,
            y_domain: None,
            decimals: 2,
        }
    }

    #[test]
    fn missing_years_break_the_line() {
        let s = [
            Series {
                name: "A<&>".into(),
                points: vec![
                    (2020, Some(0.1)),
                    (2021, Some(0.2)),
                    (2022, None),
                    (2023, Some(0.4)),
                ],
                emphasis: true,
            },
            Series {
                name: "B".into(),
                points: vec![(2020, Some(0.3)), (2023, Some(0.5))],
                emphasis: false,
            },
        ];
        let svg = render(&spec(&s, false));
        check_xml(&svg).unwrap();
        assert_eq!(count(&svg, "circle.point"), 5);
        assert_eq!(count(&svg, "g.line > path"), 2);
        let d: Vec<&str> = svg
            .match_indices("<path d=\"")
            .map(|(i, _)| &svg[i + 9..])
            .collect();
        // Series A: M, L, then a new M after the gap; series B's absent years are no gap.
        assert_eq!(d[0][..d[0].find('"').unwrap()].matches('M').count(), 2);
        assert_eq!(d[0][..d[0].find('"').unwrap()].matches('L').count(), 1);
        assert_eq!(d[1][..d[1].find('"').unwrap()].matches('M').count(), 1);
        assert_eq!(d[1][..d[1].find('"').unwrap()].matches('L').count(), 1);
        assert!(svg.contains("<title>A&lt;&amp;&gt; 2021: 0.20</title>"));
        assert_eq!(count(&svg, "g.legend line"), 2);
        assert_eq!(
            texts(&svg, "g.axis.x text"),
            ["2020", "2021", "2022", "2023"]
        );
    }

    #[test]
    fn rank_axis_is_inverted_with_integer_ticks() {
        let s = [Series {
            name: "A".into(),
            points: vec![(2020, Some(1.0)), (2021, Some(31.0))],
            emphasis: false,
        }];
        let svg = render(&spec(&s, true));
        check_xml(&svg).unwrap();
        let cy = |year: &str| -> f64 {
            let i = svg.find(&format!("A {year}:")).unwrap();
            let s = &svg[..i];
            let c = &s[s.rfind("cy=\"").unwrap() + 4..];
            c[..c.find('"').unwrap()].parse().unwrap()
        };
        // Rank 1 is drawn above rank 31.
        assert!(cy("2020") < cy("2021"));
        let ticks = texts(&svg, "g.axis.y text");
        assert_eq!(ticks.first().map(String::as_str), Some("1"));
        assert!(ticks.iter().all(|t| t.parse::<u32>().is_ok()), "{ticks:?}");
    }

    #[test]
    fn year_ticks_thin_out_long_ranges() {
        assert_eq!(year_ticks(2020, 2022).len(), 3);
        let long = year_ticks(1990, 2023);
        assert!(long.len() <= 9, "{long:?}");
        assert_eq!(long[0].1, "1990");
        let empty = render(&spec(&[], false));
        assert_eq!(texts(&empty, "text.empty"), ["no data"]);
    }
}
