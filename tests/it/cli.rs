//! The `nqp` binary: the `compute` / `check` contracts (DESIGN §5) and the invariants of the
//! index on the bundled default dataset.

use std::path::Path;
use std::process::{Command, Output};

use nqp::method::MethodSpec;
use nqp::service::{self, bundled, dashboard::ResultTables};
use nqp::types::Dimension;

use crate::helpers::fixture;

pub(crate) fn nqp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nqp"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the nqp binary runs")
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const PANEL: &str = "data/datasets/cn-provinces/panel.csv";
const FRAMEWORK: &str = "data/frameworks/nqp-triad.toml";

fn read_csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    (header, rows)
}

#[test]
fn compute_writes_the_contract_csv_for_the_default_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("indices.csv");
    let weights = dir.path().join("weights.csv");
    let run = nqp(&[
        "compute",
        "--data",
        PANEL,
        "--framework",
        FRAMEWORK,
        "--out",
        out.to_str().unwrap(),
        "--weights-out",
        weights.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let (header, rows) = read_csv_rows(&out);
    assert_eq!(
        header[..7],
        [
            "region", "year", "score", "rank", "laborers", "tools", "objects"
        ]
    );
    assert!(header[7..].iter().all(|h| h.contains('/')), "{header:?}");
    let regions: std::collections::BTreeSet<_> = rows.iter().map(|r| r[0].clone()).collect();
    let years: std::collections::BTreeSet<_> = rows.iter().map(|r| r[1].clone()).collect();
    assert_eq!(regions.len(), 31);
    assert_eq!(rows.len(), 31 * years.len(), "31 regions × every year");
    assert_eq!(years.first().unwrap(), "2013");
    assert_eq!(years.last().unwrap(), "2019");

    let (wh, wrows) = read_csv_rows(&weights);
    assert_eq!(wh, ["indicator", "dimension", "weight"]);
    let total: f64 = wrows.iter().map(|r| r[2].parse::<f64>().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-12, "weights sum to {total}");

    // Run to run, the output is byte-identical.
    let again = dir.path().join("again.csv");
    let run = nqp(&[
        "compute",
        "--data",
        PANEL,
        "--framework",
        FRAMEWORK,
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(run.status.success());
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn default_dataset_invariants_hold() {
    let ds = bundled::dataset().unwrap();
    let result = service::compute_index(&ds.panel, &ds.framework, &MethodSpec::default()).unwrap();
    let tables = ResultTables::from_result(&result).unwrap();
    // Weights sum to 1 and each dimension's weight W_d is the sum of its indicators' weights.
    let total: f64 = tables.weights.iter().map(|w| w.weight).sum();
    assert!((total - 1.0).abs() < 1e-12);
    let w_dim = |d: Dimension| -> f64 {
        tables
            .weights
            .iter()
            .filter(|w| w.dimension == d.as_str())
            .map(|w| w.weight)
            .sum()
    };
    let mut checked = 0;
    for row in &tables.scores {
        if row.indicators_missing > 0 {
            continue; // re-normalised weights: checked in the method tests
        }
        let s = row.score.unwrap();
        let recomposed: f64 = Dimension::ALL
            .iter()
            .map(|&d| w_dim(d) * row.dimension(d).unwrap())
            .sum();
        assert!(
            (s - recomposed).abs() < 1e-9,
            "{} {}: {s} vs {recomposed}",
            row.region,
            row.year
        );
        assert!((0.0..=100.0).contains(&s));
        checked += 1;
    }
    assert!(checked > 150, "most region-years are complete ({checked})");
    // Ranks are a competition ranking within each year.
    for &year in &tables.years {
        let mut scored: Vec<_> = tables
            .scores
            .iter()
            .filter(|r| r.year == year && r.score.is_some())
            .collect();
        scored.sort_by(|a, b| b.score.partial_cmp(&a.score).unwrap());
        for r in &scored {
            let better = scored.iter().filter(|o| o.score > r.score).count() as u32;
            assert_eq!(r.rank, Some(better + 1), "{} {year}", r.region);
        }
    }
}

#[test]
fn compute_writes_json_and_parquet_with_the_method_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.json");
    let run = nqp(&[
        "compute",
        "--data",
        PANEL,
        "--framework",
        FRAMEWORK,
        "--weights",
        "critic",
        "--aggregate",
        "topsis",
        "--out",
        json.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(doc["method"]["weights"], "critic");
    assert_eq!(doc["method"]["aggregate"], "topsis");
    assert_eq!(doc["scores"].as_array().unwrap().len(), 31 * 7);
    assert!(doc["scores"][0]["score"].as_f64().is_some());

    let parquet = dir.path().join("out.parquet");
    let run = nqp(&[
        "compute",
        "--data",
        PANEL,
        "--framework",
        FRAMEWORK,
        "--out",
        parquet.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let bytes = std::fs::read(&parquet).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
}

#[test]
fn compute_works_on_any_long_panel_with_its_own_framework() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scores.csv");
    let run = nqp(&[
        "compute",
        "--data",
        fixture("web/panel.csv").to_str().unwrap(),
        "--framework",
        fixture("web/framework.toml").to_str().unwrap(),
        "--regions",
        "none",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let (header, rows) = read_csv_rows(&out);
    assert_eq!(
        header[..7],
        [
            "region", "year", "score", "rank", "laborers", "tools", "objects"
        ]
    );
    assert!(header.contains(&"laborers/Human capital".to_owned()));
    assert!(rows.iter().any(|r| r[0] == "CN-XZ" && r[1] == "2021"));
}

#[test]
fn bad_input_exits_2_with_a_message_naming_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "compute".into(),
                "--data".into(),
                PANEL.into(),
                "--framework".into(),
                FRAMEWORK.into(),
                "--out".into(),
                dir.path().join("x.txt").display().to_string(),
            ],
            "unknown format",
        ),
        (
            vec![
                "compute".into(),
                "--data".into(),
                fixture("bad/not_numeric.csv").display().to_string(),
                "--framework".into(),
                FRAMEWORK.into(),
                "--out".into(),
                dir.path().join("x.csv").display().to_string(),
            ],
            "not_numeric.csv:",
        ),
        (
            vec![
                "compute".into(),
                "--data".into(),
                PANEL.into(),
                "--framework".into(),
                fixture("framework/invalid_unknown_dimension.toml")
                    .display()
                    .to_string(),
                "--out".into(),
                dir.path().join("x.csv").display().to_string(),
            ],
            "invalid_unknown_dimension.toml",
        ),
        (
            vec![
                "compute".into(),
                "--data".into(),
                "no/such/file.csv".into(),
                "--framework".into(),
                FRAMEWORK.into(),
                "--out".into(),
                dir.path().join("x.csv").display().to_string(),
            ],
            "no/such/file.csv",
        ),
        (
            vec![
                "compute".into(),
                "--data".into(),
                PANEL.into(),
                "--framework".into(),
                FRAMEWORK.into(),
                "--weights".into(),
                "magic".into(),
                "--out".into(),
                dir.path().join("x.csv").display().to_string(),
            ],
            "magic",
        ),
        (
            vec![
                "check".into(),
                fixture("bad/ragged_long.csv").display().to_string(),
            ],
            "ragged_long.csv:",
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = nqp(&args);
        assert!(!run.status.success(), "{args:?} should fail");
        let err = stderr(&run);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert!(
        !dir.path().join("x.csv").exists(),
        "nothing written on failure"
    );
}

#[test]
fn check_reports_layout_encoding_and_regions() {
    let run = nqp(&[
        "check",
        fixture("csv/nbs_export_gbk_crlf.csv").to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("nbs"), "{out}");
    assert!(
        out.to_lowercase().contains("gb18030") || out.to_lowercase().contains("gbk"),
        "{out}"
    );
    assert!(out.contains("cn-provinces"), "{out}");
    assert!(out.trim_end().ends_with("ok"));
    let with_framework = nqp(&["check", PANEL, "--framework", FRAMEWORK]);
    assert!(
        with_framework.status.success(),
        "{}",
        stderr(&with_framework)
    );
    assert!(String::from_utf8_lossy(&with_framework.stdout).contains("19 indicators"));
}

#[test]
fn compute_excludes_a_region_and_records_it_in_the_json_result() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scores.json");
    let run = nqp(&[
        "compute",
        "--data",
        PANEL,
        "--framework",
        FRAMEWORK,
        "--exclude",
        "CN-XZ",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("region CN-XZ excluded"),
        "{}",
        stderr(&run)
    );
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let scores = doc["scores"].as_array().unwrap();
    assert_eq!(scores.len(), 30 * 7);
    assert!(scores.iter().all(|r| r["region"] != "CN-XZ"));
    let notice = doc["notices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["code"] == "region.excluded")
        .expect("the exclusion is recorded");
    assert_eq!(
        notice["message"],
        "region CN-XZ excluded: excluded on the command line (--exclude)"
    );
}
