//! Charts draw the analysis results, never a second estimate: the density chart of the
//! dynamics page is the `kernel` table, which is also the `kernel.csv` download.

use std::collections::BTreeMap;

use axum::http::StatusCode;

use crate::helpers::TestApp;

/// `M x,y L x,y …` → the points of an SVG path.
fn path_points(d: &str) -> Vec<(f64, f64)> {
    d.split(['M', 'L'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (x, y) = p.split_once(',').expect("x,y");
            (x.parse().expect("x"), y.parse().expect("y"))
        })
        .collect()
}

/// The least-squares line v ≈ a + b·u and the largest distance of a point from it.
fn affine_fit(pairs: &[(f64, f64)]) -> (f64, f64, f64) {
    let n = pairs.len() as f64;
    let mu = pairs.iter().map(|p| p.0).sum::<f64>() / n;
    let mv = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    let suu: f64 = pairs.iter().map(|p| (p.0 - mu).powi(2)).sum();
    let suv: f64 = pairs.iter().map(|p| (p.0 - mu) * (p.1 - mv)).sum();
    let b = suv / suu;
    let a = mv - b * mu;
    let worst = pairs
        .iter()
        .map(|p| (p.1 - a - b * p.0).abs())
        .fold(0.0, f64::max);
    (a, b, worst)
}

#[tokio::test(flavor = "multi_thread")]
async fn density_chart_points_are_the_kernel_csv_rows() {
    let app = TestApp::new();
    for measure in ["score", "tools"] {
        let page = app
            .get(&format!("/analysis/dynamics?lang=en&measure={measure}"))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let chart = "svg[aria-labelledby='kernel-chart-title'] path.curve";
        let years = page.select_texts(&format!("{chart} > title"));
        let paths = page.select_attrs(chart, "d");
        assert_eq!(years, ["2020", "2021", "2022"], "{measure}");

        let csv = app
            .get(&format!(
                "/analysis/dynamics.csv?table=kernel&measure={measure}"
            ))
            .await;
        assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
        let mut lines = csv.body.lines();
        assert_eq!(lines.next(), Some("year,measure,x,density"));
        let mut rows: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for line in lines {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f[1], measure, "{line}");
            rows.entry(f[0].to_owned())
                .or_default()
                .push((f[2].parse().unwrap(), f[3].parse().unwrap()));
        }
        assert_eq!(
            rows.keys().collect::<Vec<_>>(),
            years.iter().collect::<Vec<_>>()
        );

        // Same grid and same densities: every plotted point is the image of its CSV row under
        // the chart's one linear x scale and one linear y scale (pixels rounded to 0.1).
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for (year, d) in years.iter().zip(&paths) {
            let points = path_points(d);
            let want = &rows[year];
            assert_eq!(points.len(), want.len(), "{measure} {year}");
            for (p, w) in points.iter().zip(want) {
                xs.push((w.0, p.0));
                ys.push((w.1, p.1));
            }
        }
        let (_, bx, worst_x) = affine_fit(&xs);
        let (_, by, worst_y) = affine_fit(&ys);
        assert!(bx > 0.0 && by < 0.0, "{measure}: x grows right, density up");
        assert!(worst_x <= 0.1, "{measure}: x off the grid by {worst_x} px");
        assert!(worst_y <= 0.1, "{measure}: density off by {worst_y} px");
    }
}
