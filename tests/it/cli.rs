//! The `nqp` binary: the `compute` / `check` contracts (`docs/architecture.md`) and the
//! invariants of the index on the bundled default dataset. Also the CLI helpers of every test
//! module: run `nqp`, require success or the exit code 2 of bad input.

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

/// Run `nqp` and require success; the run.
pub(crate) fn nqp_ok(args: &[&str]) -> Output {
    let run = nqp(args);
    assert!(run.status.success(), "{args:?}: {}", stderr(&run));
    run
}

/// Run `nqp` and require the exit code of bad input (2) with a message containing `needle`.
pub(crate) fn nqp_exits_2(args: &[&str], needle: &str) {
    let run = nqp(args);
    assert_eq!(run.status.code(), Some(2), "{args:?}: {}", stderr(&run));
    let message = stderr(&run);
    assert!(message.contains(needle), "{args:?}: {message}");
}

/// The bundled dataset's panel and framework.
pub(crate) const PANEL: &str = "data/datasets/cn-provinces/panel.csv";
pub(crate) const FRAMEWORK: &str = "data/frameworks/nqp-triad.toml";

/// `command --data PANEL --framework FRAMEWORK extra…`: a run on the bundled dataset.
pub(crate) fn bundled_args<'a>(command: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![command, "--data", PANEL, "--framework", FRAMEWORK];
    args.extend_from_slice(extra);
    args
}

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
    nqp_ok(&bundled_args(
        "compute",
        &[
            "--out",
            out.to_str().unwrap(),
            "--weights-out",
            weights.to_str().unwrap(),
        ],
    ));
    let (header, rows) = read_csv_rows(&out);
    assert_eq!(
        header[..7],
        [
            "region", "year", "score", "rank", "laborers", "tools", "objects"
        ]
    );
    assert!(header[7..].iter().all(|h| h.contains('/')), "{header:?}");
    // The paper's second view ends the row: the three mechanism levels, then the
    // intelligence-and-digital sub-index.
    assert_eq!(
        header[header.len() - 4..],
        [
            "level/micro",
            "level/meso",
            "level/macro",
            "subindex/ai_digital"
        ]
    );
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
    nqp_ok(&bundled_args(
        "compute",
        &["--out", again.to_str().unwrap()],
    ));
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
        let s = row.scores.score.unwrap();
        let recomposed: f64 = Dimension::ALL
            .iter()
            .map(|&d| w_dim(d) * row.scores.dimension(d).unwrap())
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
            .filter(|r| r.year == year && r.scores.score.is_some())
            .collect();
        scored.sort_by(|a, b| b.scores.score.partial_cmp(&a.scores.score).unwrap());
        for r in &scored {
            let better = scored
                .iter()
                .filter(|o| o.scores.score > r.scores.score)
                .count() as u32;
            assert_eq!(r.rank, Some(better + 1), "{} {year}", r.region);
        }
    }
}

#[test]
fn compute_writes_json_and_parquet_with_the_method_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.json");
    nqp_ok(&bundled_args(
        "compute",
        &[
            "--weights",
            "critic",
            "--aggregate",
            "topsis",
            "--out",
            json.to_str().unwrap(),
        ],
    ));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(doc["method"]["weights"], "critic");
    assert_eq!(doc["method"]["aggregate"], "topsis");
    assert_eq!(doc["scores"].as_array().unwrap().len(), 31 * 7);
    assert!(doc["scores"][0]["score"].as_f64().is_some());

    let parquet = dir.path().join("out.parquet");
    nqp_ok(&bundled_args(
        "compute",
        &["--out", parquet.to_str().unwrap()],
    ));
    let bytes = std::fs::read(&parquet).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
}

#[test]
fn compute_works_on_any_long_panel_with_its_own_framework() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scores.csv");
    nqp_ok(&[
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
    let path = |p: std::path::PathBuf| p.display().to_string();
    let (x_txt, x_csv) = (
        path(dir.path().join("x.txt")),
        path(dir.path().join("x.csv")),
    );
    let not_numeric = path(fixture("bad/not_numeric.csv"));
    let bad_framework = path(fixture("framework/invalid_unknown_dimension.toml"));
    let ragged = path(fixture("bad/ragged_long.csv"));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            bundled_args("compute", &["--out", &x_txt]),
            "unknown format",
        ),
        (
            vec![
                "compute",
                "--data",
                &not_numeric,
                "--framework",
                FRAMEWORK,
                "--out",
                &x_csv,
            ],
            "not_numeric.csv:",
        ),
        (
            vec![
                "compute",
                "--data",
                PANEL,
                "--framework",
                &bad_framework,
                "--out",
                &x_csv,
            ],
            "invalid_unknown_dimension.toml",
        ),
        (
            vec![
                "compute",
                "--data",
                "no/such/file.csv",
                "--framework",
                FRAMEWORK,
                "--out",
                &x_csv,
            ],
            "no/such/file.csv",
        ),
        (
            bundled_args("compute", &["--weights", "magic", "--out", &x_csv]),
            "magic",
        ),
        (vec!["check", &ragged], "ragged_long.csv:"),
    ];
    for (args, needle) in cases {
        nqp_exits_2(&args, needle);
    }
    assert!(
        !dir.path().join("x.csv").exists(),
        "nothing written on failure"
    );
}

#[test]
fn check_reports_layout_encoding_and_regions() {
    let run = nqp_ok(&[
        "check",
        fixture("csv/nbs_export_gbk_crlf.csv").to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("nbs"), "{out}");
    assert!(
        out.to_lowercase().contains("gb18030") || out.to_lowercase().contains("gbk"),
        "{out}"
    );
    assert!(out.contains("cn-provinces"), "{out}");
    assert!(out.trim_end().ends_with("ok"));
    let with_framework = nqp_ok(&["check", PANEL, "--framework", FRAMEWORK]);
    assert!(String::from_utf8_lossy(&with_framework.stdout).contains("19 indicators"));
}

#[test]
fn compute_excludes_a_region_and_records_it_in_the_json_result() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scores.json");
    let run = nqp_ok(&bundled_args(
        "compute",
        &["--exclude", "CN-XZ", "--out", out.to_str().unwrap()],
    ));
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

#[test]
fn check_reads_thesis_spreadsheets_and_takes_a_layout_hint() {
    // Detected by content.
    let xls = fixture("thesis/thesis.xls");
    let run = nqp_ok(&["check", xls.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(
        out.contains("thesis.xls: blocks (spreadsheet), 29 rows, 5 regions, years 2019–2021, indicators: 一般公共预算支出, 地区生产总值"),
        "{out}"
    );
    assert!(out.contains("cn-provinces"), "{out}");
    // The same with the columns named; a hint naming a missing column is exit 2 at its column.
    nqp_ok(&[
        "check",
        xls.to_str().unwrap(),
        "--layout",
        "region=C,indicator=B,years=D:F",
    ]);
    nqp_exits_2(
        &["check", xls.to_str().unwrap(), "--layout", "region=K"],
        "thesis.xls:2:11: the layout hint does not fit the file: region=K: the file has no values in column K (its columns run A–F)",
    );
    nqp_exits_2(
        &[
            "check",
            xls.to_str().unwrap(),
            "--layout",
            "region=C,years=D:G",
        ],
        "column G of the header row is '', not a year",
    );
    nqp_exits_2(
        &["check", xls.to_str().unwrap(), "--layout", "indicator=B"],
        "the hint must name the region column",
    );
}
