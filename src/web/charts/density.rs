//! Kernel density curves of a score's distribution, one curve per year (the usual picture of
//! regional convergence: peaks moving, widening or splitting).
//!
//! Gaussian kernel; bandwidth by Silverman's rule of thumb as R's `bw.nrd0` computes it
//! (Silverman 1986, *Density Estimation*, eq. 3.31: 0.9 · min(σ, IQR/1.34) · n^−1/5).
//!
//! Owns: the KDE evaluated for display and the curve layout. Must not: decide which years.

use std::f64::consts::PI;
use std::fmt::Write;

use super::axis;
use super::legend;
use super::palette;
use super::scale::{LinearScale, extent, format_tick, tick_step};
use super::svg::{self, Frame, escape_xml, num};

/// One curve: the raw values (e.g. the 31 provinces' scores of one year).
#[derive(Debug, Clone, PartialEq)]
pub struct DensitySeries {
    pub name: String,
    pub values: Vec<f64>,
}

/// A density chart.
pub struct DensitySpec<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub desc: &'a str,
    pub series: &'a [DensitySeries],
    pub width: f64,
    pub height: f64,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// Fixed bandwidth for every curve; `None` = Silverman per curve.
    pub bandwidth: Option<f64>,
    pub no_data_label: &'a str,
}

/// Points per curve.
const GRID_POINTS: usize = 128;

fn finite(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Silverman's rule as R's `bw.nrd0`; `None` for fewer than 2 finite values.
pub fn silverman(values: &[f64]) -> Option<f64> {
    let v = finite(values);
    let n = v.len();
    if n < 2 {
        return None;
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let q = |p: f64| {
        let h = (n - 1) as f64 * p;
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        v[lo] + (h - lo as f64) * (v[hi] - v[lo])
    };
    let iqr = q(0.75) - q(0.25);
    let mut lo = sd.min(iqr / 1.34);
    // bw.nrd0's fallbacks when the spread is zero.
    if lo == 0.0 {
        lo = if sd > 0.0 {
            sd
        } else if v[0] != 0.0 {
            v[0].abs()
        } else {
            1.0
        };
    }
    Some(0.9 * lo * (n as f64).powf(-0.2))
}

/// Gaussian kernel density of `values` with bandwidth `h` at each of `xs`.
pub fn kde(values: &[f64], h: f64, xs: &[f64]) -> Vec<f64> {
    let v = finite(values);
    if v.is_empty() || !h.is_finite() || h <= 0.0 {
        return vec![0.0; xs.len()];
    }
    let norm = 1.0 / (v.len() as f64 * h * (2.0 * PI).sqrt());
    xs.iter()
        .map(|x| {
            norm * v
                .iter()
                .map(|xi| (-0.5 * ((x - xi) / h).powi(2)).exp())
                .sum::<f64>()
        })
        .collect()
}

/// Renders the chart: one `path.curve` per series with at least 2 finite values.
pub fn render(spec: &DensitySpec<'_>) -> String {
    let items = legend::series_items(spec.series.iter().map(|s| s.name.as_str()));
    let legend_h = legend::row_height(&items, spec.width - 20.0) + 8.0;
    let height = spec.height + legend_h;
    let (mut out, _) = svg::open(&Frame {
        id: spec.id,
        width: spec.width,
        height,
        title: spec.title,
        desc: spec.desc,
        class: "nqp-chart nqp-density",
        interactive: false,
    });
    let curves: Vec<(usize, f64)> = spec
        .series
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let h = spec
                .bandwidth
                .filter(|h| *h > 0.0)
                .or_else(|| silverman(&s.values))?;
            (finite(&s.values).len() >= 2).then_some((i, h))
        })
        .collect();
    let all = extent(spec.series.iter().flat_map(|s| s.values.iter().copied()));
    let (Some((lo, hi)), false) = (all, curves.is_empty()) else {
        svg::empty_message(&mut out, spec.width, height, spec.no_data_label);
        return svg::close(out);
    };
    let hmax = curves.iter().map(|c| c.1).fold(0.0, f64::max);
    let (a, b) = (lo - 3.0 * hmax, hi + 3.0 * hmax);
    let xs: Vec<f64> = (0..GRID_POINTS)
        .map(|k| a + (b - a) * k as f64 / (GRID_POINTS - 1) as f64)
        .collect();
    let ys: Vec<(usize, Vec<f64>)> = curves
        .iter()
        .map(|&(i, h)| (i, kde(&spec.series[i].values, h, &xs)))
        .collect();
    let ymax = ys
        .iter()
        .flat_map(|(_, y)| y.iter().copied())
        .fold(0.0, f64::max);
    let left = 52.0 + if spec.y_label.is_empty() { 0.0 } else { 16.0 };
    let bottom = spec.height - if spec.x_label.is_empty() { 28.0 } else { 44.0 };
    let x = LinearScale::new((a, b), (left, spec.width - 16.0));
    let y = LinearScale::new((0.0, ymax), (bottom, 10.0)).nice(4);
    let ystep = tick_step(0.0, y.domain().1, 4);
    let yt: Vec<(f64, String)> = y
        .ticks(4)
        .into_iter()
        .map(|t| (t, format_tick(t, ystep)))
        .collect();
    let xstep = tick_step(a, b, 6);
    let xt: Vec<(f64, String)> = x
        .ticks(6)
        .into_iter()
        .map(|t| (t, format_tick(t, xstep)))
        .collect();
    axis::y_axis(&mut out, &y, left, spec.width - 16.0, &yt);
    axis::y_title(&mut out, 14.0, (10.0 + bottom) / 2.0, spec.y_label);
    axis::x_axis(&mut out, &x, bottom, &xt);
    if !spec.x_label.is_empty() {
        svg::text(
            &mut out,
            (left + spec.width - 16.0) / 2.0,
            bottom + 38.0,
            "middle",
            " class=\"axis-title\"",
            spec.x_label,
        );
    }
    out.push_str("<g class=\"series\" fill=\"none\">");
    for (i, ys) in &ys {
        let d: String = xs
            .iter()
            .zip(ys)
            .enumerate()
            .map(|(k, (xv, yv))| {
                format!(
                    "{}{},{}",
                    if k == 0 { "M" } else { "L" },
                    num(x.map(*xv)),
                    num(y.map(*yv))
                )
            })
            .collect();
        let dash = palette::dash(*i);
        let dash_attr = if dash.is_empty() {
            String::new()
        } else {
            format!(" stroke-dasharray=\"{dash}\"")
        };
        let _ = write!(
            out,
            "<path class=\"curve\" d=\"{d}\" stroke=\"{}\" stroke-width=\"2\"{dash_attr}><title>{}</title></path>",
            palette::categorical(*i),
            escape_xml(&spec.series[*i].name)
        );
    }
    out.push_str("</g>");
    legend::row(&mut out, 10.0, spec.height + 4.0, spec.width - 20.0, &items);
    svg::close(out)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{check_xml, count};
    use super::*;

    #[test]
    fn silverman_matches_r_bw_nrd0() {
        let x: Vec<f64> = (1..=10).map(f64::from).collect();
        // R: bw.nrd0(1:10) = 1.719286
        assert!((silverman(&x).unwrap() - 1.719_286_404_692_283).abs() < 1e-12);
        // Zero spread falls back to |x1|: 0.9 · 1 · 4^−0.2.
        assert!((silverman(&[1.0; 4]).unwrap() - 0.682_072_454_929_679_2).abs() < 1e-12);
        assert_eq!(silverman(&[1.0]), None);
    }

    #[test]
    fn kde_is_a_normalised_gaussian_mixture() {
        let y = kde(&[0.0], 1.0, &[0.0, 1.0]);
        assert!((y[0] - 0.398_942_280_401_432_7).abs() < 1e-15);
        assert!((y[1] - 0.241_970_724_519_143_37).abs() < 1e-15);
        let xs: Vec<f64> = (0..=2000).map(|i| -10.0 + 0.01 * f64::from(i)).collect();
        let area: f64 = kde(&[-1.0, 0.5, 2.0], 0.7, &xs).iter().sum::<f64>() * 0.01;
        assert!((area - 1.0).abs() < 1e-6, "{area}");
    }

    #[test]
    fn one_curve_per_usable_series() {
        let series = [
            DensitySeries {
                name: "2012".into(),
                values: vec![0.1, 0.2, 0.25, 0.4],
            },
            DensitySeries {
                name: "2023 <b>".into(),
                values: vec![0.3, 0.5, 0.55, 0.9],
            },
            DensitySeries {
                name: "1 value".into(),
                values: vec![0.5],
            },
        ];
        let svg = render(&DensitySpec {
            id: "d",
            title: "Distribution",
            desc: "Kernel density",
            series: &series,
            width: 600.0,
            height: 300.0,
            x_label: "Score",
            y_label: "Density",
            bandwidth: None,
            no_data_label: "no data",
        });
        check_xml(&svg).unwrap();
        assert_eq!(count(&svg, "path.curve"), 2);
        assert!(svg.contains("<title>2023 &lt;b&gt;</title>"));
        assert_eq!(count(&svg, "g.legend line"), 3);
    }
}
