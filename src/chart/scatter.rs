//! Moran scatter plot: standardised value z (x) against its spatial lag Wz (y), quadrant lines
//! through the origin, the regression line through the origin whose slope is global Moran's I
//! (Anselin 1996, "The Moran scatterplot as an ESDA tool").
//!
//! Owns: scatter layout. Must not: compute z, Wz or I (the analysis module does).

use std::fmt::Write;

use super::axis;
use super::scale::LinearScale;
use super::svg::{self, ChartHead, escape_xml, num, text};

/// One region.
#[derive(Debug, Clone, PartialEq)]
pub struct MoranPoint {
    pub code: String,
    pub label: String,
    /// Standardised value.
    pub z: f64,
    /// Spatial lag of z.
    pub lag: f64,
    pub href: Option<String>,
}

/// A Moran scatter plot.
pub struct MoranSpec<'a> {
    pub head: ChartHead<'a>,
    pub points: &'a [MoranPoint],
    /// Slope of the line drawn through the origin; `None` draws no line.
    pub moran_i: Option<f64>,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// Quadrant names in the order high-high, low-high, low-low, high-low.
    pub quadrant_labels: [&'a str; 4],
    /// Width and height of the (square) SVG.
    pub size: f64,
}

/// Quadrant index 0 = HH, 1 = LH, 2 = LL, 3 = HL (zero counts as high).
pub fn quadrant(z: f64, lag: f64) -> usize {
    match (z >= 0.0, lag >= 0.0) {
        (true, true) => 0,
        (false, true) => 1,
        (false, false) => 2,
        (true, false) => 3,
    }
}

/// Okabe–Ito colours (see `palette`) of the quadrants: HH vermillion, LH sky blue, LL blue, HL orange.
pub const QUADRANT_COLORS: [&str; 4] = ["#D55E00", "#56B4E9", "#0072B2", "#E69F00"];

/// Renders the plot: one `circle.point` per finite point, linked when it has an `href`.
pub fn render(spec: &MoranSpec<'_>) -> String {
    let pts: Vec<&MoranPoint> = spec
        .points
        .iter()
        .filter(|p| p.z.is_finite() && p.lag.is_finite())
        .collect();
    let interactive = pts.iter().any(|p| p.href.is_some());
    let frame = spec
        .head
        .frame("nqp-chart nqp-scatter", (spec.size, spec.size))
        .linked(interactive);
    if pts.is_empty() {
        return frame.empty();
    }
    let (mut out, _) = frame.open();
    // Symmetric, equal axes: the quadrants are the same size and the slope reads as I.
    let m = pts
        .iter()
        .map(|p| p.z.abs().max(p.lag.abs()))
        .fold(0.0, f64::max)
        .max(0.5);
    let left = axis::left_margin(spec.y_label);
    let bottom = spec.size - if spec.x_label.is_empty() { 28.0 } else { 44.0 };
    let plot = (spec.size - 12.0 - left).min(bottom - 12.0);
    let x = LinearScale::new((-m, m), (left, left + plot)).nice(6);
    let dom = x.domain();
    let x = LinearScale::new(dom, (left, left + plot));
    let y = LinearScale::new(dom, (bottom, bottom - plot));
    let ticks = x.labelled_ticks(6);
    axis::y_axis(&mut out, &y, left, left + plot, &ticks);
    axis::y_title(&mut out, 14.0, bottom - plot / 2.0, spec.y_label);
    axis::x_axis(&mut out, &x, bottom, &ticks);
    axis::x_title(&mut out, left + plot / 2.0, bottom + 38.0, spec.x_label);
    let (x0, y0) = (x.map(0.0), y.map(0.0));
    let _ = write!(
        out,
        "<g class=\"quadrants\" stroke=\"#555\" stroke-width=\"1\"><line x1=\"{}\" x2=\"{}\" y1=\"{y0}\" y2=\"{y0}\"/>\
         <line x1=\"{x0}\" x2=\"{x0}\" y1=\"{}\" y2=\"{}\"/></g>",
        num(left),
        num(left + plot),
        num(bottom),
        num(bottom - plot),
        x0 = num(x0),
        y0 = num(y0)
    );
    let corners = [
        (left + plot - 4.0, bottom - plot + 14.0, "end"),
        (left + 4.0, bottom - plot + 14.0, "start"),
        (left + 4.0, bottom - 6.0, "start"),
        (left + plot - 4.0, bottom - 6.0, "end"),
    ];
    out.push_str("<g class=\"quadrant-labels\" fill=\"#555\">");
    for (label, (cx, cy, anchor)) in spec.quadrant_labels.iter().zip(corners) {
        text(&mut out, cx, cy, anchor, "", label);
    }
    out.push_str("</g>");
    if let Some(i) = spec.moran_i.filter(|i| i.is_finite()) {
        // Clip y = I·x to the square.
        let xe = if i.abs() > 1.0 {
            dom.1 / i.abs()
        } else {
            dom.1
        };
        let _ = write!(
            out,
            "<line class=\"fit\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#000\" stroke-width=\"1.5\" stroke-dasharray=\"6 3\"/>",
            num(x.map(-xe)),
            num(y.map(-xe * i)),
            num(x.map(xe)),
            num(y.map(xe * i))
        );
    }
    out.push_str("<g class=\"points\">");
    for p in pts {
        let q = quadrant(p.z, p.lag);
        let tip = format!(
            "{}: z = {:.2}, Wz = {:.2} ({})",
            p.label, p.z, p.lag, spec.quadrant_labels[q]
        );
        match &p.href {
            Some(h) => {
                let _ = write!(
                    out,
                    "<a href=\"{}\" data-code=\"{}\">",
                    escape_xml(h),
                    escape_xml(&p.code)
                );
            }
            None => {
                let _ = write!(out, "<g data-code=\"{}\">", escape_xml(&p.code));
            }
        }
        let _ = write!(
            out,
            "<title>{}</title><circle class=\"point\" cx=\"{}\" cy=\"{}\" r=\"4.5\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"1\"/>",
            escape_xml(&tip),
            num(x.map(p.z)),
            num(y.map(p.lag)),
            QUADRANT_COLORS[q]
        );
        out.push_str(if p.href.is_some() { "</a>" } else { "</g>" });
    }
    out.push_str("</g>");
    svg::close(out)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{check_xml, count, texts};
    use super::*;

    #[test]
    fn quadrants() {
        assert_eq!(quadrant(1.0, 1.0), 0);
        assert_eq!(quadrant(-1.0, 1.0), 1);
        assert_eq!(quadrant(-1.0, -1.0), 2);
        assert_eq!(quadrant(1.0, -1.0), 3);
    }

    #[test]
    fn points_are_linked_and_the_fit_line_has_slope_i() {
        let pts: Vec<MoranPoint> = [
            (1.5, 1.0),
            (-1.0, -0.5),
            (-0.5, 0.8),
            (0.7, -0.2),
            (f64::NAN, 0.0),
        ]
        .iter()
        .enumerate()
        .map(|(i, &(z, lag))| MoranPoint {
            code: format!("C{i}"),
            label: format!("R{i} & <x>"),
            z,
            lag,
            href: Some(format!("/regions/C{i}")),
        })
        .collect();
        let svg = render(&MoranSpec {
            head: ChartHead {
                id: "s",
                title: "Moran",
                desc: "Scatter",
                no_data_label: "no data",
            },
            points: &pts,
            moran_i: Some(0.5),
            x_label: "z",
            y_label: "Wz",
            quadrant_labels: ["HH", "LH", "LL", "HL"],
            size: 400.0,
        });
        check_xml(&svg).unwrap();
        assert_eq!(count(&svg, "a[href] circle.point"), 4);
        assert_eq!(
            texts(&svg, "g.quadrant-labels text"),
            ["HH", "LH", "LL", "HL"]
        );
        assert!(svg.contains("R0 &amp; &lt;x&gt;: z = 1.50, Wz = 1.00 (HH)"));
        let fit = &svg[svg.find("class=\"fit\"").unwrap()..];
        let attr = |name: &str| -> f64 {
            let s = &fit[fit.find(&format!(" {name}=\"")).unwrap() + name.len() + 3..];
            s[..s.find('"').unwrap()].parse().unwrap()
        };
        // Equal axes: on screen the slope is −I (y grows downwards).
        let slope = (attr("y2") - attr("y1")) / (attr("x2") - attr("x1"));
        assert!((slope + 0.5).abs() < 0.01, "{slope}");
    }
}
