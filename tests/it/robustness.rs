//! Robustness: the audit, rank statistics and Sobol estimators against independent references
//! (`tests/fixtures/robustness/make_reference.py`: pandas, scipy, pymcdm, SALib), the fast
//! engine against `method::compute`, and the `nqp robustness` / `nqp compute --treat` contracts.

use std::collections::BTreeMap;
use std::path::Path;

use nqp::analysis::robustness::{
    self, Mode, Robustness, RobustnessOptions, Space, kendall_tau_b, sobol_indices, spearman, ws,
};
use nqp::method::treat::{kurtosis, skewness, treat};
use nqp::method::weights::pearson;
use nqp::method::{MethodSpec, Normalise, Treat, WeightScheme, compute};
use nqp::service::{self, bundled};
use serde_json::Value;

use crate::cli::{bundled_args, nqp_exits_2, nqp_ok, stderr};
use crate::helpers::fixture;

fn reference() -> Value {
    let text = std::fs::read_to_string(fixture("robustness/reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// |got − want| ≤ 1e-9 · max(1, |want|).
fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn vector(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(num).collect()
}

fn bundled_report(mode: Mode, spec: &MethodSpec) -> Robustness {
    let ds = bundled::dataset().unwrap();
    let options = RobustnessOptions {
        mode,
        draws: 20,
        ..RobustnessOptions::default()
    };
    service::robustness::robustness(&ds.panel, &ds.framework, spec, &options).unwrap()
}

#[test]
fn audit_matches_pandas_on_the_bundled_panel() {
    let r = reference();
    let audit = &r["audit"];
    let report = bundled_report(Mode::Exhaustive, &MethodSpec::default());
    let want_ids: Vec<&str> = audit["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let got_ids: Vec<&str> = report.stats.iter().map(|s| s.indicator.as_str()).collect();
    assert_eq!(got_ids, want_ids);
    for s in &report.stats {
        let w = &audit["stats"][&s.indicator];
        assert_eq!(s.n as u64, w["n"].as_u64().unwrap());
        close(s.mean.unwrap(), num(&w["mean"]), "mean");
        close(s.sd.unwrap(), num(&w["sd"]), "sd");
        close(s.min.unwrap(), num(&w["min"]), "min");
        close(s.max.unwrap(), num(&w["max"]), "max");
        close(s.skewness.unwrap(), num(&w["skewness"]), &s.indicator);
        close(s.kurtosis.unwrap(), num(&w["kurtosis"]), &s.indicator);
        assert_eq!(
            s.outlier,
            num(&w["skewness"]).abs() > 2.0 && num(&w["kurtosis"]) > 3.5
        );
    }
    // The bundled data has at least one outlying indicator (invention_grants_per_10k: G1 4.2,
    // G2 20.7).
    assert!(report.stats.iter().any(|s| s.outlier));
    let pairs: BTreeMap<(String, String), &robustness::CorrelationRow> = report
        .correlations
        .iter()
        .map(|c| ((c.a.clone(), c.b.clone()), c))
        .collect();
    let want_pairs = audit["correlations"].as_array().unwrap();
    assert_eq!(want_pairs.len(), 19 * 18 / 2);
    for w in want_pairs {
        let key = (
            w["a"].as_str().unwrap().to_owned(),
            w["b"].as_str().unwrap().to_owned(),
        );
        let got = pairs[&key];
        close(got.pearson.unwrap(), num(&w["pearson"]), "pearson");
        close(got.spearman.unwrap(), num(&w["spearman"]), "spearman");
    }
    // The default framework has no same-dimension pair beyond the thresholds: its strongest
    // same-dimension correlations in the pandas reference are 0.87 and −0.39 (docs/validation.md).
    assert_eq!(report.flags.len(), 0);
    // Each indicator also with its dimension score and with the overall score.
    assert_eq!(report.correlations.len(), 19 * 18 / 2 + 2 * 19);
    for flag in &report.flags {
        let p = pairs[&(flag.a.clone(), flag.b.clone())].pearson.unwrap();
        assert_eq!(flag.pearson, p);
        let want = if p > 0.9 {
            robustness::FlagKind::Collinear
        } else {
            robustness::FlagKind::Negative
        };
        assert!(!(-0.4..=0.9).contains(&p) && flag.kind == want, "{flag:?}");
    }
    for a in &report.alpha {
        close(
            a.alpha.unwrap(),
            num(&audit["alpha"][&a.scope]),
            &format!("alpha {}", a.scope),
        );
    }
    assert_eq!(
        report.alpha.iter().map(|a| a.k).collect::<Vec<_>>(),
        vec![6, 7, 6, 19]
    );
}

#[test]
fn rank_statistics_match_scipy_and_pymcdm() {
    let r = reference();
    for case in r["vectors"]["cases"].as_array().unwrap() {
        let x = vector(&case["x"]);
        let y = vector(&case["y"]);
        close(skewness(&x).unwrap(), num(&case["skewness"]), "G1");
        close(kurtosis(&x).unwrap(), num(&case["kurtosis"]), "G2");
        let (px, py): (Vec<f64>, Vec<f64>) = x
            .iter()
            .zip(&y)
            .filter(|(a, b)| !a.is_nan() && !b.is_nan())
            .map(|(a, b)| (*a, *b))
            .unzip();
        close(pearson(&x, &y).unwrap(), num(&case["pearson"]), "pearson");
        close(
            spearman(&px, &py).unwrap(),
            num(&case["spearman"]),
            "spearman",
        );
        let rx = vector(&case["rank_x"]);
        let ry = vector(&case["rank_y"]);
        close(
            kendall_tau_b(&rx, &ry).unwrap(),
            num(&case["kendall_tau_b"]),
            "kendall",
        );
        close(ws(&rx, &ry).unwrap(), num(&case["ws"]), "ws");
    }
}

#[test]
fn sobol_estimators_match_salib() {
    let r = reference();
    let s = &r["sobol"];
    let f_ab: Vec<Vec<f64>> = s["f_ab"].as_array().unwrap().iter().map(vector).collect();
    let got = sobol_indices(&vector(&s["f_a"]), &vector(&s["f_b"]), &f_ab);
    for (i, g) in got.iter().enumerate() {
        close(g.first_order, num(&s["first_order"][i]), "first order");
        close(g.total_order, num(&s["total_order"][i]), "total order");
    }
}

#[test]
fn winsorisation_hand_case_matches_pandas_moments() {
    let r = reference();
    let w = &r["vectors"]["winsor"];
    let mut x: Vec<f64> = (1..=19).map(f64::from).collect();
    x.push(100.0);
    let t = treat(&x, 5);
    close(
        t.report.skewness_before.unwrap(),
        num(&w["skewness"]),
        "G1 before",
    );
    close(
        t.report.kurtosis_before.unwrap(),
        num(&w["kurtosis"]),
        "G2 before",
    );
    close(
        t.report.skewness_after.unwrap(),
        num(&w["skewness_after"]),
        "G1 after",
    );
    assert_eq!((t.report.points, t.values[19]), (1, 19.0));
}

/// The fast engine (one prepared panel, cached stages) ranks exactly like `compute` for every
/// combination, and the exhaustive uncertainty is the nearest-rank statistics of those ranks.
#[test]
fn exhaustive_mode_agrees_with_compute_for_every_combination() {
    let ds = bundled::dataset().unwrap();
    let space = Space {
        normalise: vec![Normalise::MinmaxPanel, Normalise::Zscore],
        weights: vec![WeightScheme::EntropyYear, WeightScheme::Critic],
        aggregate: nqp::method::Aggregate::ALL.to_vec(),
        treat: Treat::ALL.to_vec(),
    };
    let options = RobustnessOptions {
        space,
        mode: Mode::Exhaustive,
        ..RobustnessOptions::default()
    };
    let nominal = MethodSpec::default();
    let report =
        service::robustness::robustness(&ds.panel, &ds.framework, &nominal, &options).unwrap();
    // zscore excludes entropy-year (2 treatments × 3 aggregations) and critic/geometric (2).
    assert_eq!(report.excluded.len(), 8);
    let methods: Vec<String> = {
        let mut m: Vec<String> = report.ranks.iter().map(|r| r.method.clone()).collect();
        m.dedup();
        m
    };
    assert_eq!(methods.len(), 24 - 8);
    let mut by_method: BTreeMap<(String, String, i32), u32> = BTreeMap::new();
    for r in &report.ranks {
        by_method.insert((r.method.clone(), r.region.clone(), r.year), r.rank);
    }
    for m in &methods {
        let parts: Vec<&str> = m.split('/').collect();
        let spec = MethodSpec {
            normalise: parts[0].parse().unwrap(),
            weights: parts[1].parse().unwrap(),
            aggregate: parts[2].parse().unwrap(),
            treat: parts[3].parse().unwrap(),
            ..MethodSpec::default()
        };
        let result = service::compute_index(&ds.panel, &ds.framework, &spec).unwrap();
        let s = &result.scores;
        let region = s.column("region").unwrap().str().unwrap();
        let year = s.column("year").unwrap().i32().unwrap();
        let rank = s.column("rank").unwrap().u32().unwrap();
        for i in 0..s.height() {
            let key = (
                m.clone(),
                region.get(i).unwrap().to_owned(),
                year.get(i).unwrap(),
            );
            assert_eq!(by_method.get(&key).copied(), rank.get(i), "{key:?}");
        }
    }
    for u in &report.uncertainty {
        let mut ranks: Vec<u32> = methods
            .iter()
            .filter_map(|m| {
                by_method
                    .get(&(m.clone(), u.region.clone(), u.year))
                    .copied()
            })
            .collect();
        ranks.sort_unstable();
        // K = 16: 5 % → ⌈0.8⌉ = 1st, 50 % → 8th, 95 % → ⌈15.2⌉ = 16th smallest.
        assert_eq!(ranks.len(), 16);
        assert_eq!(
            (u.p05_rank, u.median_rank, u.p95_rank),
            (ranks[0], ranks[7], ranks[15])
        );
    }
    // Comparison: every valid alternative but the nominal method, every year.
    assert_eq!(report.comparison.len(), 16 * 7);
    assert!(report.comparison.iter().all(|c| c.method != report.nominal));
}

#[test]
fn decomposition_adds_up_to_the_score_change() {
    let ds = bundled::dataset().unwrap();
    let nominal = MethodSpec::default();
    let report = bundled_report(Mode::Exhaustive, &nominal);
    let result = compute(
        &ds.framework.derive(&ds.panel).unwrap(),
        &ds.framework.indicator_specs(),
        &nominal,
    )
    .unwrap();
    let s = &result.scores;
    let region = s.column("region").unwrap().str().unwrap();
    let year = s.column("year").unwrap().i32().unwrap();
    let score = s.column("score").unwrap().f64().unwrap();
    let mut scores = BTreeMap::new();
    for i in 0..s.height() {
        if let Some(v) = score.get(i) {
            scores.insert((region.get(i).unwrap().to_owned(), year.get(i).unwrap()), v);
        }
    }
    let mut sums: BTreeMap<(String, i32, i32), f64> = BTreeMap::new();
    for d in &report.decomposition {
        *sums
            .entry((d.region.clone(), d.year_from, d.year_to))
            .or_default() += d.contribution;
    }
    // 31 regions × (6 consecutive pairs + first → last), all scored in every year.
    assert_eq!(sums.len(), 31 * 7);
    for ((r, a, b), total) in &sums {
        let change = scores[&(r.clone(), *b)] - scores[&(r.clone(), *a)];
        assert!(
            (total - change).abs() < 1e-9,
            "{r} {a}→{b}: {total} vs {change}"
        );
    }
}

fn header(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().next().unwrap_or_default().to_owned()
}

const HEADERS: [(&str, &str); 10] = [
    (
        "audit_stats",
        "indicator,dimension,n,mean,sd,min,max,skewness,kurtosis,outlier",
    ),
    ("audit_correlations", "a,b,pearson,spearman"),
    ("audit_flags", "kind,a,b,pearson"),
    ("audit_alpha", "scope,k,alpha"),
    (
        "treatment",
        "indicator,method,points,skewness_before,kurtosis_before,skewness_after,kurtosis_after",
    ),
    (
        "uncertainty",
        "region,year,nominal_rank,median_rank,p05_rank,p95_rank,mean_abs_shift",
    ),
    ("sensitivity", "input,first_order,total_order,n"),
    (
        "comparison",
        "year,method,spearman,kendall_tau_b,ws,max_rank_shift,mean_abs_rank_shift",
    ),
    ("ranks_by_method", "region,year,method,rank"),
    (
        "decomposition",
        "region,year_from,year_to,indicator,dimension,contribution",
    ),
];

#[test]
fn cli_writes_the_contract_files() {
    let dir = tempfile::tempdir().unwrap();
    let mc = dir.path().join("mc");
    let run = nqp_ok(&bundled_args(
        "robustness",
        &[
            "--treat",
            "winsorise",
            "--draws",
            "30",
            "--seed",
            "7",
            "--out-dir",
            mc.to_str().unwrap(),
        ],
    ));
    for (name, want) in HEADERS {
        assert_eq!(header(&mc.join(format!("{name}.csv"))), want, "{name}");
    }
    let sensitivity = std::fs::read_to_string(mc.join("sensitivity.csv")).unwrap();
    let inputs: Vec<&str> = sensitivity
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        inputs,
        ["normalise", "weights", "aggregate", "treat", "noise"]
    );
    assert!(sensitivity.lines().skip(1).all(|l| l.ends_with(",30")));
    // The nominal method treats: the outlying indicators are listed, each changed.
    let treatment = std::fs::read_to_string(mc.join("treatment.csv")).unwrap();
    assert!(
        treatment.contains("invention_grants_per_10k,"),
        "{treatment}"
    );
    // 72 valid combinations; the nominal one is left out of the comparison.
    let comparison = std::fs::read_to_string(mc.join("comparison.csv")).unwrap();
    assert_eq!(comparison.lines().count() - 1, 71 * 7);
    assert!(!comparison.contains(",minmax-panel/entropy-panel/sum/winsorise,"));
    assert!(comparison.contains(",minmax-panel/entropy-panel/sum/none,"));
    let notes = stderr(&run);
    assert_eq!(notes.matches("excluded zscore/").count(), 18, "{notes}");

    // Exhaustive: no sensitivity file, and the same bytes on a second run.
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        nqp_ok(&bundled_args(
            "robustness",
            &["--mode", "exhaustive", "--out-dir", out.to_str().unwrap()],
        ));
    }
    assert!(!a.join("sensitivity.csv").exists());
    for (name, _) in HEADERS.iter().filter(|(n, _)| *n != "sensitivity") {
        let file = format!("{name}.csv");
        assert_eq!(
            std::fs::read(a.join(&file)).unwrap(),
            std::fs::read(b.join(&file)).unwrap(),
            "{file}"
        );
    }
    // Every method ranks every region-year that the nominal method ranks.
    let ranks = std::fs::read_to_string(a.join("ranks_by_method.csv")).unwrap();
    let ranked = std::fs::read_to_string(a.join("uncertainty.csv")).unwrap();
    assert_eq!(ranks.lines().count() - 1, 72 * (ranked.lines().count() - 1));
}

#[test]
fn bad_robustness_input_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--space-weights", "entropy-panel,magic"],
            "unknown weights 'magic'",
        ),
        (
            &["--space-normalise", "minmax"],
            "unknown normalisation 'minmax'",
        ),
        (&["--draws", "0"], "draws must be between 1 and"),
        (&["--noise", "1"], "noise ε must be at least 0 and below 1"),
        (
            &[
                "--space-normalise",
                "zscore",
                "--space-weights",
                "entropy-panel,entropy-year",
            ],
            "no valid combination",
        ),
    ];
    for (extra, want) in cases {
        let mut args = bundled_args("robustness", extra);
        args.extend_from_slice(&["--out-dir", out]);
        nqp_exits_2(&args, want);
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn compute_accepts_treat_and_changes_only_the_treated_method() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.csv");
    let default = dir.path().join("default.csv");
    let treated = dir.path().join("treated.csv");
    for (out, extra) in [
        (&plain, &["--treat", "none"][..]),
        (&default, &[][..]),
        (
            &treated,
            &["--treat", "winsorise", "--treat-max-points", "3"][..],
        ),
    ] {
        let mut args = bundled_args("compute", extra);
        args.extend_from_slice(&["--out", out.to_str().unwrap()]);
        nqp_ok(&args);
    }
    assert_eq!(
        std::fs::read(&plain).unwrap(),
        std::fs::read(&default).unwrap()
    );
    assert_ne!(
        std::fs::read(&plain).unwrap(),
        std::fs::read(&treated).unwrap()
    );
    nqp_exits_2(
        &bundled_args(
            "compute",
            &["--treat", "clip", "--out", plain.to_str().unwrap()],
        ),
        "unknown treatment 'clip'",
    );
}

/// The exhaustive report of the web test dataset under the default method.
fn web_report() -> Robustness {
    let ds = crate::helpers::web_dataset();
    let options = RobustnessOptions {
        mode: Mode::Exhaustive,
        ..RobustnessOptions::default()
    };
    service::robustness::robustness(&ds.panel, &ds.framework, &MethodSpec::default(), &options)
        .unwrap()
}

/// The page shows the same report as the service (exhaustive: exact), in both languages, and
/// every table downloads as CSV and JSON with the page's parameters; bad parameters are 4xx.
#[tokio::test(flavor = "multi_thread")]
async fn robustness_page_renders_the_report_and_downloads_every_table() {
    use axum::http::StatusCode;
    let app = crate::helpers::TestApp::new();
    let report = web_report();
    for (lang, heading) in [("zh", "稳健性检验"), ("en", "Robustness")] {
        let res = app
            .get(&format!("/analysis/robustness?mode=exhaustive&lang={lang}"))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(res.select_texts("h1"), vec![heading]);
        assert_eq!(res.count("#audit tbody tr"), report.stats.len());
        assert_eq!(
            res.count("#audit tbody tr.flagged"),
            report.stats.iter().filter(|s| s.outlier).count()
        );
        assert_eq!(res.count("#alpha tbody tr"), 4);
        let latest = report.uncertainty.iter().map(|u| u.year).max().unwrap();
        assert_eq!(
            res.count("svg.nqp-interval g.interval"),
            report
                .uncertainty
                .iter()
                .filter(|u| u.year == latest)
                .count()
        );
        assert_eq!(
            res.count("#comparison tbody tr"),
            report
                .comparison
                .iter()
                .filter(|c| c.year == latest)
                .count()
        );
        assert_eq!(res.count("#downloads a"), 20);
    }
    let csv = app
        .get("/analysis/robustness/uncertainty.csv?mode=exhaustive")
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let want = service::frame_to_csv(&service::robustness::table(&report, "uncertainty").unwrap())
        .unwrap();
    assert_eq!(csv.body.as_bytes(), want.as_slice());
    let json = app
        .get("/analysis/robustness/comparison.json?mode=exhaustive")
        .await;
    let rows: Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), report.comparison.len());
    for bad in [
        "/analysis/robustness?draws=0",
        "/analysis/robustness?noise=1",
        "/analysis/robustness?mode=fast",
        "/analysis/robustness/nothing.csv",
    ] {
        let res = app.get(bad).await;
        assert!(res.status.is_client_error(), "{bad}: {}", res.status);
    }
}

/// Scores of `spec` on the bundled panel by (region, year), from `method::compute`.
fn bundled_scores(spec: &MethodSpec) -> BTreeMap<(String, i32), f64> {
    let ds = bundled::dataset().unwrap();
    let result = compute(
        &ds.framework.derive(&ds.panel).unwrap(),
        &ds.framework.indicator_specs(),
        spec,
    )
    .unwrap();
    let s = &result.scores;
    let region = s.column("region").unwrap().str().unwrap();
    let year = s.column("year").unwrap().i32().unwrap();
    let score = s.column("score").unwrap().f64().unwrap();
    (0..s.height())
        .filter_map(|i| {
            let v = score.get(i)?;
            Some(((region.get(i)?.to_owned(), year.get(i)?), v))
        })
        .collect()
}

/// The body with HTML's escaped apostrophes and ampersands read back (pages escape messages).
fn unescaped(res: &crate::helpers::Response) -> String {
    res.body
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn json(res: &crate::helpers::Response) -> Value {
    serde_json::from_str(&res.body).unwrap_or_else(|e| panic!("{e}: {}", res.body))
}

/// Equal indicator weights with dimension weights equal to the indicator counts are equal
/// weights: the sandbox reproduces `--weights equal` to 1e-12 in every year, over the API and
/// on the page (no-JS form round trip: the form's fields are the URL).
#[tokio::test(flavor = "multi_thread")]
async fn sandbox_with_equal_weights_reproduces_the_equal_scheme() {
    use axum::http::StatusCode;
    let ds = bundled::dataset().unwrap();
    let app = crate::helpers::TestApp::with_dataset(ds.clone());
    let equal = bundled_scores(&MethodSpec {
        weights: WeightScheme::Equal,
        ..MethodSpec::default()
    });
    let nominal = bundled_scores(&MethodSpec::default());
    let specs = ds.framework.indicator_specs();
    let mut query = String::new();
    for d in nqp::types::Dimension::ALL {
        let n = specs.iter().filter(|s| s.dimension == d).count();
        query.push_str(&format!("&d.{}={n}", d.as_str()));
    }
    for s in &specs {
        query.push_str(&format!("&w.{}=1", s.id));
    }
    let years: Vec<i32> = equal.keys().map(|(_, y)| *y).collect();
    let (first, last) = (*years.iter().min().unwrap(), *years.iter().max().unwrap());
    for year in [first, last] {
        let res = app
            .get(&format!("/api/v1/sandbox?lang=en&year={year}{query}"))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let view = json(&res);
        let rows = view["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 31);
        for r in rows {
            let key = (r["region"].as_str().unwrap().to_owned(), year);
            let got = num(&r["score"]);
            assert!(
                (got - equal[&key]).abs() <= 1e-12,
                "{key:?}: {got} vs {}",
                equal[&key]
            );
            assert!((num(&r["nominal_score"]) - nominal[&key]).abs() <= 1e-12);
            let shift = r["nominal_rank"].as_i64().unwrap() - r["rank"].as_i64().unwrap();
            assert_eq!(r["shift"].as_i64().unwrap(), shift);
        }
        for w in view["indicators"].as_array().unwrap() {
            close(
                num(&w["effective"]),
                1.0 / specs.len() as f64,
                "effective weight",
            );
        }
    }
    // The page: the same scores in the table, ranked, and the weights back in the form.
    let page = app.get(&format!("/sandbox?lang=en{query}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.count("#sandbox-table tbody tr"), 31);
    assert_eq!(page.count("#sandbox-map svg"), 1);
    let ranks = page.select_texts("#sandbox-table tbody tr td:first-child");
    assert_eq!(ranks.first().map(String::as_str), Some("1"));
    let top = page.select_attrs("#sandbox-table tbody tr", "data-region")[0].clone();
    let best = equal
        .iter()
        .filter(|((_, y), _)| *y == last)
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap();
    assert_eq!(top, best.0.0);
    let score_cell = page.select_texts("#sandbox-table tbody tr td:nth-child(3)")[0].clone();
    assert_eq!(score_cell, format!("{:.2}", best.1));
    let values = page.select_attrs("input[name^='w.']", "value");
    assert_eq!(values.len(), specs.len());
    assert!(values.iter().all(|v| v == "1"), "{values:?}");
    // Downloads carry the weights: the JSON view lists them, the weights table is a CSV.
    let file = app
        .get(&format!("/sandbox?lang=en{query}&format=json"))
        .await;
    assert_eq!(file.status, StatusCode::OK);
    let doc = json(&file);
    assert_eq!(
        doc["view"]["indicators"].as_array().unwrap().len(),
        specs.len()
    );
    assert!(doc["metadata"]["dataset"]["version"].is_string());
    let csv = app
        .get(&format!("/sandbox?lang=en{query}&format=csv&table=weights"))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(
        csv.body.lines().next(),
        Some("indicator,name,dimension,nominal,input,effective")
    );
    assert_eq!(csv.body.lines().count(), 1 + specs.len());
    let csv = app
        .get(&format!("/sandbox?lang=en{query}&format=csv"))
        .await;
    assert_eq!(
        csv.body.lines().next(),
        Some("region,name,score,rank,nominal_score,nominal_rank,shift,laborers,tools,objects")
    );
    assert_eq!(csv.body.lines().count(), 1 + 31);
}

/// A sandbox download says which weights its scores used: the metadata of the JSON and the
/// Parquet files records the reader's weights, the XLSX `weights` sheet lists them (not the
/// nominal method's), and the `Link` header points to the view's JSON, not to the nominal
/// `metadata.json`.
#[tokio::test(flavor = "multi_thread")]
async fn sandbox_downloads_record_the_readers_weights() {
    use axum::http::StatusCode;
    use calamine::{DataType, Reader};
    let ds = bundled::dataset().unwrap();
    let app = crate::helpers::TestApp::with_dataset(ds.clone());
    let specs = ds.framework.indicator_specs();
    // Everything on the first indicator of the laborers dimension.
    let only = specs
        .iter()
        .find(|s| s.dimension == nqp::types::Dimension::Laborers)
        .unwrap();
    let mut query = "&d.laborers=1&d.tools=0&d.objects=0".to_owned();
    for s in &specs {
        let w = if s.id == only.id { "1" } else { "0" };
        query.push_str(&format!("&w.{}={w}", s.id));
    }
    let view = json(&app.get(&format!("/api/v1/sandbox?lang=en{query}")).await);
    let effective = |doc: &Value, id: &str| -> f64 {
        num(doc["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["indicator"] == id)
            .map(|w| &w["effective"])
            .unwrap())
    };
    assert_eq!(effective(&view, only.id.as_str()), 1.0);

    let file = json(
        &app.get(&format!("/sandbox?lang=en{query}&format=json"))
            .await,
    );
    let manual = &file["metadata"]["manual_weights"];
    assert_eq!(manual["year"], view["year"]);
    assert_eq!(manual["replaces"], view["nominal"]);
    for s in &specs {
        let want = if s.id == only.id { 1.0 } else { 0.0 };
        assert_eq!(effective(manual, s.id.as_str()), want, "{}", s.id);
    }
    // The nominal download's metadata has no such field.
    let v = &ds.version[..12];
    let nominal = json(
        &app.get(&format!("/download/{}/{v}/metadata.json", ds.id))
            .await,
    );
    assert!(nominal.get("manual_weights").is_none());

    let csv = app
        .get(&format!("/sandbox?lang=en{query}&format=csv"))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let link = csv.header("link");
    assert!(link.starts_with("</sandbox?"), "{link}");
    assert!(
        link.contains("format=json") && link.contains(&format!("w.{}=1", only.id)),
        "{link}"
    );
    assert!(!link.contains("format=csv"), "{link}");

    let xlsx = app
        .get(&format!("/sandbox?lang=en{query}&format=xlsx"))
        .await;
    assert_eq!(xlsx.status, StatusCode::OK);
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx.bytes.clone())).unwrap();
    let sheet = book.worksheet_range("weights").unwrap();
    let mut rows = sheet.rows();
    let head: Vec<String> = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
    let (id_col, eff_col) = (
        head.iter().position(|h| h == "indicator").unwrap(),
        head.iter().position(|h| h == "effective").unwrap(),
    );
    let sheet_weights: BTreeMap<String, f64> = rows
        .map(|r| (r[id_col].to_string(), r[eff_col].as_f64().unwrap()))
        .collect();
    let meta = book.worksheet_range("metadata").unwrap();
    let key = "manual_weights.indicators[0].effective";
    assert!(
        meta.rows().any(|r| r[0] == key),
        "the metadata sheet records the weights"
    );
    assert_eq!(sheet_weights.len(), specs.len());
    for s in &specs {
        let want = if s.id == only.id { 1.0 } else { 0.0 };
        assert_eq!(sheet_weights[s.id.as_str()], want, "{}", s.id);
    }

    let parquet = app
        .get(&format!("/sandbox?lang=en{query}&format=parquet"))
        .await;
    assert_eq!(parquet.status, StatusCode::OK);
    let needle = "\"manual_weights\"";
    assert!(
        parquet
            .bytes
            .windows(needle.len())
            .any(|w| w == needle.as_bytes()),
        "the Parquet key-value metadata records the weights"
    );
}

/// Without weights the sandbox is the nominal method: every shift 0, every score the nominal.
#[tokio::test(flavor = "multi_thread")]
async fn sandbox_defaults_to_the_nominal_weights() {
    let app = crate::helpers::TestApp::with_dataset(bundled::dataset().unwrap());
    let view = json(&app.get("/api/v1/sandbox").await);
    for r in view["rows"].as_array().unwrap() {
        assert_eq!(r["shift"].as_i64(), Some(0), "{r}");
        // The weights are rebuilt as D_d · v_j / Σ v_k: equal up to rounding.
        assert!((num(&r["score"]) - num(&r["nominal_score"])).abs() <= 1e-12);
    }
    let total: f64 = view["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| num(&w["effective"]))
        .sum();
    close(total, 1.0, "weights sum to 1");
    // Doubling the tools dimension moves its share from t to 2t / (1 + t).
    let t = num(&view["dimensions"][1]["nominal"]);
    let doubled = json(
        &app.get(&format!("/api/v1/sandbox?d.tools={}", 2.0 * t))
            .await,
    );
    close(
        num(&doubled["dimensions"][1]["effective"]),
        2.0 * t / (1.0 + t),
        "tools share",
    );
}

/// Weights that cannot be used are a 400 naming the parameter, in the reader's language.
#[tokio::test(flavor = "multi_thread")]
async fn sandbox_rejects_bad_weights_in_the_readers_language() {
    use axum::http::StatusCode;
    let app = crate::helpers::TestApp::new();
    let ds = crate::helpers::web_dataset();
    let id = ds.framework.indicator_specs()[0].id.to_string();
    let zero_all = "d.laborers=0&d.tools=0&d.objects=0";
    let cases = [
        (
            format!("w.{id}=-1"),
            "is not a finite number ≥ 0",
            "不是大于或等于 0 的有限数",
        ),
        (
            format!("w.{id}=NaN"),
            "is not a finite number ≥ 0",
            "不是大于或等于 0 的有限数",
        ),
        (
            format!("w.{id}=inf"),
            "is not a finite number ≥ 0",
            "不是大于或等于 0 的有限数",
        ),
        (
            format!("w.{id}=1&w.{id}=2"),
            "given more than once",
            "只能给一次",
        ),
        (
            "w.nothing=1".to_owned(),
            "scores no indicator 'nothing'",
            "没有参与计算的指标 nothing",
        ),
        (
            "d.capital=1".to_owned(),
            "there is no dimension 'capital'",
            "没有名为 capital 的维度",
        ),
        (
            zero_all.to_owned(),
            "every effective weight is zero",
            "所有有效权重均为 0",
        ),
    ];
    for (query, en, zh) in &cases {
        for (lang, want) in [("en", en), ("zh", zh)] {
            for path in ["/sandbox", "/api/v1/sandbox"] {
                let res = app.get(&format!("{path}?lang={lang}&{query}")).await;
                assert_eq!(res.status, StatusCode::BAD_REQUEST, "{path} {query}");
                assert!(
                    unescaped(&res).contains(*want),
                    "{path}?{query} ({lang}): {}",
                    res.body
                );
            }
        }
    }
    let long = "1".repeat(40);
    let res = app.get(&format!("/api/v1/sandbox?w.{id}={long}")).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
}

/// The waterfall's contributions are the rows of `decomposition.csv` of `nqp robustness`,
/// add up to the score change exactly under the default method, and leave a residual that the
/// page reports under the geometric mean.
#[tokio::test(flavor = "multi_thread")]
async fn waterfall_matches_the_cli_decomposition_and_reports_the_residual() {
    use axum::http::StatusCode;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    nqp_ok(&bundled_args(
        "robustness",
        &["--mode", "exhaustive", "--out-dir", out],
    ));
    let text = std::fs::read_to_string(dir.path().join("decomposition.csv")).unwrap();
    let mut cli: BTreeMap<String, f64> = BTreeMap::new();
    let (region, from, to) = ("CN-GD", 2013, 2019);
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[0] == region && f[1] == from.to_string() && f[2] == to.to_string() {
            cli.insert(f[3].to_owned(), f[5].parse().unwrap());
        }
    }
    assert!(!cli.is_empty() && !cli.contains_key("residual"));
    let nominal = bundled_scores(&MethodSpec::default());
    let change = nominal[&(region.to_owned(), to)] - nominal[&(region.to_owned(), from)];

    let app = crate::helpers::TestApp::with_dataset(bundled::dataset().unwrap());
    let view = json(
        &app.get(&format!("/api/v1/regions/{region}/change?lang=en"))
            .await,
    );
    assert_eq!(
        (view["year_from"].as_i64(), view["year_to"].as_i64()),
        (Some(2013), Some(2019))
    );
    assert_eq!(view["exact"], Value::Bool(true));
    let rows = view["indicators"].as_array().unwrap();
    assert_eq!(rows.len(), cli.len());
    let mut total = 0.0;
    for r in rows {
        let c = num(&r["contribution"]);
        close(c, cli[r["id"].as_str().unwrap()], "contribution");
        total += c;
    }
    assert!((total - change).abs() < 1e-9, "{total} vs {change}");
    let dims: f64 = view["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| num(&d["contribution"]))
        .sum();
    assert!((dims - change).abs() < 1e-9);

    for (lang, exact_text) in [("en", "Exact:"), ("zh", "精确分解")] {
        let page = app.get(&format!("/regions/{region}?lang={lang}")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(page.count("#change svg.nqp-waterfall"), 2);
        assert_eq!(page.count("#change-dimensions tbody tr"), 3);
        assert_eq!(page.count("#change-indicators tbody tr"), cli.len());
        assert!(page.select_texts("#change-exactness")[0].starts_with(exact_text));
        // start + 3 dimensions + end; start + indicators + end.
        assert_eq!(page.count("svg.nqp-waterfall g.step"), 5 + cli.len() + 2);
    }
    // Another pair through the no-JS form's parameters, and its download.
    let page = app
        .get(&format!("/regions/{region}?lang=en&from=2016&to=2018"))
        .await;
    assert_eq!(
        page.select_texts("#change-title"),
        vec!["What drove the change 2016 → 2018"]
    );
    let csv = app
        .get(&format!(
            "/regions/{region}/change?from=2016&to=2018&table=dimensions&format=csv"
        ))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(
        csv.body.lines().next(),
        Some("id,name,dimension,contribution")
    );
    assert_eq!(csv.body.lines().count(), 4);

    // Geometric mean: approximate, and the residual closes the gap.
    let geo = bundled_scores(&MethodSpec {
        aggregate: nqp::method::Aggregate::Geometric,
        ..MethodSpec::default()
    });
    let view = json(
        &app.get(&format!(
            "/api/v1/regions/{region}/change?aggregate=geometric"
        ))
        .await,
    );
    assert_eq!(view["exact"], Value::Bool(false));
    let sum: f64 = view["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| num(&r["contribution"]))
        .sum();
    let change = geo[&(region.to_owned(), to)] - geo[&(region.to_owned(), from)];
    let residual = num(&view["residual"]);
    assert!(residual.abs() > 1e-6, "{residual}");
    assert!((sum + residual - change).abs() < 1e-9);
    let page = app
        .get(&format!("/regions/{region}?lang=en&aggregate=geometric"))
        .await;
    let text = &page.select_texts("#change-exactness")[0];
    assert!(
        text.starts_with("Approximate") && text.contains(&format!("{residual:+.3}")),
        "{text}"
    );
    for bad in ["from=1999", "to=abc"] {
        let res = app.get(&format!("/regions/{region}?{bad}")).await;
        assert!(res.status.is_client_error(), "{bad}: {}", res.status);
    }
}

/// The JSON API serves every part of the report the page shows, and bad robustness input over
/// HTTP is a 4xx with a clear message, on the page and in the API.
#[tokio::test(flavor = "multi_thread")]
async fn robustness_api_serves_every_part_and_rejects_bad_input() {
    use axum::http::StatusCode;
    let app = crate::helpers::TestApp::new();
    let report = web_report();
    for (part, key, want) in [
        ("audit", "stats", report.stats.len()),
        ("treatment", "treatment", report.treatment.len()),
        ("uncertainty", "uncertainty", report.uncertainty.len()),
        ("sensitivity", "sensitivity", 0),
        ("comparison", "comparison", report.comparison.len()),
        ("decomposition", "decomposition", report.decomposition.len()),
    ] {
        let res = app
            .get(&format!("/api/v1/robustness/{part}?mode=exhaustive"))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{part}: {}", res.body);
        let v = json(&res);
        assert_eq!(v[key].as_array().unwrap().len(), want, "{part}");
        assert_eq!(v["nominal"], "minmax-panel/entropy-panel/sum/none");
    }
    let v = json(
        &app.get("/api/v1/robustness/uncertainty?mode=exhaustive")
            .await,
    );
    assert_eq!(
        v["uncertainty"],
        serde_json::to_value(&report.uncertainty).unwrap()
    );
    let v = json(&app.get("/api/v1/robustness/sensitivity?draws=8").await);
    assert_eq!(v["sensitivity"].as_array().unwrap().len(), 5);
    assert_eq!(v["estimator"], robustness::ESTIMATOR);

    let cases = [
        (
            "space_weights=entropy-panel,magic",
            400,
            "unknown weights 'magic'",
        ),
        (
            "space_normalise=minmax",
            400,
            "unknown normalisation 'minmax'",
        ),
        ("space_aggregate=median", 400, "space_aggregate"),
        ("draws=0", 400, "not a whole number from 1 to 2000"),
        ("draws=2001", 400, "not a whole number from 1 to 2000"),
        ("noise=1", 400, "is not a number in [0, 1)"),
        ("noise=-0.1", 400, "is not a number in [0, 1)"),
        ("mode=fast", 400, "unknown mode 'fast'"),
        (
            "space_normalise=zscore&space_weights=entropy-panel,entropy-year",
            422,
            "no valid combination",
        ),
    ];
    for (query, status, want) in cases {
        for path in ["/analysis/robustness", "/api/v1/robustness/audit"] {
            let res = app.get(&format!("{path}?lang=en&{query}")).await;
            assert_eq!(res.status.as_u16(), status, "{path}?{query}: {}", res.body);
            assert!(
                unescaped(&res).contains(want),
                "{path}?{query}: {}",
                res.body
            );
        }
    }
    let res = app.get("/api/v1/robustness/nothing").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let doc = json(&app.get("/api/openapi.json").await);
    for path in [
        "/api/v1/robustness/{part}",
        "/api/v1/sandbox",
        "/api/v1/regions/{code}/change",
    ] {
        assert!(
            doc["paths"][path]["get"].is_object(),
            "{path} in the OpenAPI document"
        );
    }
}
