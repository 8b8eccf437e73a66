//! Downloads of computed indices: stable URLs, round trips of every format back to the
//! method's own output, formula-injection-safe CSV, metadata, workbook and bundle contents.

use std::io::{Cursor, Read};

use axum::http::StatusCode;
use nqp::method::MethodSpec;
use nqp::service::dashboard::Dataset;
use nqp::service::download::{Export, Table, compute_result};
use nqp::service::{self, InputFile, RegionChoice};
use nqp::types::DatasetId;
use polars::prelude::*;

use crate::api::{app_for, get};
use crate::helpers::{fixture, web_dataset};

/// Parse CSV bytes with polars (off the async runtime).
async fn read_csv(bytes: Vec<u8>) -> DataFrame {
    tokio::task::spawn_blocking(move || {
        CsvReader::new(Cursor::new(bytes))
            .finish()
            .expect("downloaded CSV parses")
    })
    .await
    .unwrap()
}

async fn expected(ds: &Dataset, spec: MethodSpec, table: Table) -> DataFrame {
    let ds = ds.clone();
    tokio::task::spawn_blocking(move || {
        let result = compute_result(&ds, &spec).unwrap();
        Export::new(&ds, &result, chrono::Utc::now())
            .frame(table)
            .unwrap()
    })
    .await
    .unwrap()
}

/// Equal shape and names; numbers to 1e-12, everything else exactly.
fn assert_frames_close(got: &DataFrame, want: &DataFrame) {
    assert_eq!(got.get_column_names(), want.get_column_names());
    assert_eq!(got.height(), want.height());
    for want_col in want.columns() {
        let got_col = got.column(want_col.name()).unwrap();
        if want_col.dtype().is_primitive_numeric() {
            let g = got_col.cast(&DataType::Float64).unwrap();
            let w = want_col.cast(&DataType::Float64).unwrap();
            for (i, (a, b)) in g
                .f64()
                .unwrap()
                .iter()
                .zip(w.f64().unwrap().iter())
                .enumerate()
            {
                match (a, b) {
                    (Some(a), Some(b)) => assert!(
                        (a - b).abs() <= 1e-12,
                        "{}[{i}]: {a} vs {b}",
                        want_col.name()
                    ),
                    (a, b) => assert_eq!(a, b, "{}[{i}]", want_col.name()),
                }
            }
        } else {
            let g = got_col.cast(&DataType::String).unwrap();
            let w = want_col.cast(&DataType::String).unwrap();
            assert_eq!(
                g.str().unwrap().iter().collect::<Vec<_>>(),
                w.str().unwrap().iter().collect::<Vec<_>>(),
                "{}",
                want_col.name()
            );
        }
    }
}

fn short(ds: &Dataset) -> String {
    ds.version[..12].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn scores_csv_round_trips_to_the_method_output() {
    let ds = web_dataset();
    let app = app_for(ds.clone());
    let v = short(&ds);
    let got = get(&app, &format!("/download/test/{v}/scores.csv")).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(got.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        got.header("content-disposition"),
        format!("attachment; filename=\"test-{v}-minmax-panel_entropy-panel_sum-scores.csv\"")
    );
    assert_eq!(
        got.header("link"),
        format!("</download/test/{v}/metadata.json>; rel=\"describedby\"")
    );
    assert!(!got.bytes.starts_with(b"\xEF\xBB\xBF"));
    let frame = read_csv(got.bytes).await;
    let header: Vec<&str> = frame
        .get_column_names()
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(
        header[..9],
        [
            "region", "name_zh", "name_en", "year", "score", "rank", "laborers", "tools", "objects"
        ]
    );
    assert_eq!(header.last(), Some(&"indicators_missing"));

    // The numbers are the method's own: compute_index → scores_for_output, to 1e-12.
    let ds2 = ds.clone();
    let want = tokio::task::spawn_blocking(move || {
        let result =
            service::compute_index(&ds2.panel, &ds2.framework, &MethodSpec::default()).unwrap();
        service::scores_for_output(&result).unwrap()
    })
    .await
    .unwrap();
    let names: Vec<String> = want
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_frames_close(&frame.select(names).unwrap(), &want);
    assert_eq!(frame.height(), 31 * 3 - 1, "Tibet has no 2022 row");

    // A non-default method, by the pages' parameter names, and the full version in the URL.
    let spec = MethodSpec {
        normalise: "minmax-year".parse().unwrap(),
        weights: "critic".parse().unwrap(),
        aggregate: "geometric".parse().unwrap(),
        ..MethodSpec::default()
    };
    let got = get(
        &app,
        &format!(
            "/download/test/{}/scores.csv?normalise=minmax-year&weights=critic&aggregate=geometric",
            ds.version
        ),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(
        got.header("content-disposition")
            .contains("-minmax-year_critic_geometric-scores.csv")
    );
    assert_frames_close(
        &read_csv(got.bytes).await,
        &expected(&ds, spec, Table::Scores).await,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_table_round_trips_through_csv_json_and_parquet() {
    let ds = web_dataset();
    let app = app_for(ds.clone());
    let v = short(&ds);
    for table in Table::ALL {
        let want = expected(&ds, MethodSpec::default(), table).await;
        let name = table.as_str();

        let csv = get(&app, &format!("/download/test/{v}/{name}.csv")).await;
        assert_eq!(csv.status, StatusCode::OK, "{name}");
        assert_frames_close(&read_csv(csv.bytes).await, &want);

        let parquet = get(&app, &format!("/download/test/{v}/{name}.parquet")).await;
        assert_eq!(
            parquet.header("content-type"),
            "application/vnd.apache.parquet"
        );
        assert!(
            parquet.bytes.starts_with(b"PAR1") && parquet.bytes.ends_with(b"PAR1"),
            "{name}"
        );
        let bytes = parquet.bytes.clone();
        let back = tokio::task::spawn_blocking(move || {
            ParquetReader::new(Cursor::new(bytes))
                .finish()
                .expect("Parquet reads back")
        })
        .await
        .unwrap();
        // Same columns and dtypes; values to 1e-12 (the expected frame is a second computation).
        assert_eq!(back.schema(), want.schema(), "{name}");
        assert_frames_close(&back, &want);
        // The metadata travels inside the Parquet file too.
        let needle = b"nqp.metadata";
        assert!(
            parquet.bytes.windows(needle.len()).any(|w| w == needle),
            "{name}"
        );

        let json = get(&app, &format!("/download/test/{v}/{name}.json"))
            .await
            .json();
        assert_eq!(json["table"], name);
        assert_eq!(json["metadata"]["dataset"]["version"], ds.version.as_str());
        let rows = json["rows"].as_array().unwrap();
        assert_eq!(rows.len(), want.height(), "{name}");
        let columns: Vec<&str> = json["columns"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c.as_str())
            .collect();
        let want_columns: Vec<&str> = want.get_column_names().iter().map(|c| c.as_str()).collect();
        assert_eq!(columns, want_columns);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn imputation_log_lists_interpolated_and_missing_cells() {
    let ds = injection_dataset();
    let want = {
        let ds = ds.clone();
        tokio::task::spawn_blocking(move || compute_result(&ds, &MethodSpec::default()).unwrap())
            .await
            .unwrap()
    };
    let app = app_for(ds.clone());
    let got = get(
        &app,
        &format!("/download/injection/{}/imputation.csv", short(&ds)),
    )
    .await;
    let csv = got.body;
    // The interior gap (Plain, 2021, a) is interpolated: the mean of its neighbours.
    let plain = |y: i32| -> f64 {
        let n = want.normalised().unwrap();
        let mask = n.column("region").unwrap().str().unwrap().equal("Plain")
            & n.column("indicator").unwrap().str().unwrap().equal("a")
            & n.column("year").unwrap().i32().unwrap().equal(y);
        n.filter(&mask)
            .unwrap()
            .column("raw")
            .unwrap()
            .f64()
            .unwrap()
            .get(0)
            .unwrap()
    };
    let filled = plain(2021);
    assert!((filled - (plain(2020) + plain(2022)) / 2.0).abs() < 1e-12);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "region,year,indicator,status,value,z");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("Plain,2021,a,interpolated,{filled}"))),
        "{csv}"
    );
    // The trailing gap (-minus, 2022, a) stays missing, and its name is neutralised.
    assert!(lines.contains(&"'-minus,2022,a,missing,,"), "{csv}");
    assert_eq!(lines.len(), 3, "{csv}");
}

fn injection_dataset() -> Dataset {
    let panel = std::fs::read(fixture("download/injection.csv")).unwrap();
    let framework = std::fs::read_to_string(fixture("download/injection.toml")).unwrap();
    service::build_dataset(
        DatasetId::new("injection").unwrap(),
        ("注入", "Injection"),
        &[InputFile {
            name: "injection.csv".into(),
            bytes: panel.into(),
            layout: None,
        }],
        (&framework, "injection.toml"),
        &RegionChoice::None,
    )
    .expect("injection fixture builds")
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_neutralises_formula_text_but_keeps_negative_numbers() {
    let ds = injection_dataset();
    let app = app_for(ds.clone());
    let v = short(&ds);
    let normalised = get(&app, &format!("/download/injection/{v}/normalised.csv"))
        .await
        .body;
    assert!(
        normalised.contains("\"'=HYPERLINK(\"\"x\"\")\",2020,b,-2.5,"),
        "{normalised}"
    );
    assert!(normalised.contains("\n'+SUM(1),"), "{normalised}");
    assert!(normalised.contains("\n'@cmd,"), "{normalised}");
    assert!(normalised.contains("\n'-minus,"), "{normalised}");
    assert!(
        !normalised.contains("\n=") && !normalised.contains("\n+") && !normalised.contains("\n@")
    );
    // Raw negative values stay plain numbers.
    let frame = read_csv(normalised.into_bytes()).await;
    assert_eq!(frame.column("raw").unwrap().dtype(), &DataType::Float64);
    let min = frame.column("raw").unwrap().f64().unwrap().min().unwrap();
    assert!(min < 0.0, "{min}");

    let weights = get(&app, &format!("/download/injection/{v}/weights.csv"))
        .await
        .body;
    assert!(
        weights.contains(",'@指标,\"'=HYPERLINK(\"\"x\"\")\",laborers,,+,"),
        "{weights}"
    );
    assert!(weights.contains(",乙,Plain b,tools,,-,"), "{weights}");

    // JSON and Parquet carry the names unchanged (they are data, not spreadsheets).
    let json = get(&app, &format!("/download/injection/{v}/normalised.json"))
        .await
        .json();
    let regions: Vec<&str> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["region"].as_str())
        .collect();
    assert!(regions.contains(&"=HYPERLINK(\"x\")"), "{regions:?}");

    let bom = get(&app, &format!("/download/injection/{v}/scores.csv?bom=1")).await;
    assert!(
        bom.bytes.starts_with(b"\xEF\xBB\xBFregion,year,score,"),
        "{}",
        bom.body
    );
    let plain = get(&app, &format!("/download/injection/{v}/scores.csv")).await;
    assert_eq!(&bom.bytes[3..], &plain.bytes[..]);
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_json_records_dataset_method_and_sources() {
    let ds = web_dataset();
    let app = app_for(ds.clone());
    let got = get(
        &app,
        &format!("/download/test/{}/metadata.json?weights=critic", short(&ds)),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.header("content-type"), "application/json");
    assert!(
        got.header("content-disposition")
            .ends_with("_critic_sum-metadata.json\"")
    );
    let m = got.json();
    assert_eq!(m["dataset"]["id"], "test");
    assert_eq!(m["dataset"]["version"], ds.version.as_str());
    assert_eq!(m["dataset"]["hash"], format!("sha256:{}", ds.version));
    assert_eq!(m["framework"]["id"], "test-triad");
    assert_eq!(m["framework"]["indicators"].as_array().unwrap().len(), 6);
    assert_eq!(m["method"]["weights"], "critic");
    assert_eq!(m["method"]["normalise"], "minmax-panel");
    assert_eq!(m["method"]["aggregate"], "sum");
    assert_eq!(m["method"]["shift"], 0.0001);
    assert_eq!(m["method"]["coverage_threshold"], 0.65);
    assert_eq!(m["nqp_version"], env!("CARGO_PKG_VERSION"));
    let generated = m["generated_at"].as_str().unwrap();
    let at = chrono::DateTime::parse_from_rfc3339(generated).expect("RFC 3339");
    assert!((chrono::Utc::now() - at.to_utc()).num_seconds().abs() < 60);
    let sources = m["sources"].as_array().unwrap();
    let tests = sources
        .iter()
        .find(|s| s["publisher"] == "nqp tests")
        .expect("publisher listed");
    assert_eq!(tests["source"], "Synthetic");
    assert_eq!(tests["indicators"], serde_json::json!(["talent"]));
    let unnamed = sources.iter().find(|s| s["publisher"].is_null()).unwrap();
    assert_eq!(unnamed["indicators"].as_array().unwrap().len(), 5);
    assert_eq!(m["coverage"].as_array().unwrap().len(), 6);
    let tables: Vec<&str> = m["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(tables, ["scores", "weights", "normalised", "imputation"]);
}

fn unzip(bytes: &[u8]) -> ::zip::ZipArchive<Cursor<Vec<u8>>> {
    ::zip::ZipArchive::new(Cursor::new(bytes.to_vec())).expect("a zip archive")
}

fn entry(archive: &mut ::zip::ZipArchive<Cursor<Vec<u8>>>, name: &str) -> Vec<u8> {
    let mut file = archive
        .by_name(name)
        .unwrap_or_else(|_| panic!("{name} in archive"));
    let mut out = Vec::new();
    file.read_to_end(&mut out).unwrap();
    out
}

/// Every `<v>…</v>` number in a worksheet.
fn sheet_numbers(xml: &str) -> Vec<f64> {
    xml.split("<v>")
        .skip(1)
        .filter_map(|s| s.split("</v>").next()?.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn xlsx_has_data_weights_and_metadata_sheets() {
    let ds = web_dataset();
    let app = app_for(ds.clone());
    let got = get(&app, &format!("/download/test/{}/scores.xlsx", short(&ds))).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(
        got.header("content-type"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let mut book = unzip(&got.bytes);
    let workbook = String::from_utf8(entry(&mut book, "xl/workbook.xml")).unwrap();
    for (i, sheet) in ["data", "weights", "metadata"].iter().enumerate() {
        assert!(
            workbook.contains(&format!("<sheet name=\"{sheet}\" sheetId=\"{}\"", i + 1)),
            "{workbook}"
        );
    }
    let strings = String::from_utf8(entry(&mut book, "xl/sharedStrings.xml")).unwrap();
    for needle in [
        "region",
        "CN-BJ",
        "北京",
        "dataset.version",
        ds.version.as_str(),
        "method.weights",
        "entropy-panel",
        "nqp tests",
    ] {
        assert!(
            strings.contains(needle),
            "{needle} missing from shared strings"
        );
    }
    // Every score of the method's output is a number cell of the data sheet.
    let data = String::from_utf8(entry(&mut book, "xl/worksheets/sheet1.xml")).unwrap();
    let numbers = sheet_numbers(&data);
    let want = expected(&ds, MethodSpec::default(), Table::Scores).await;
    let scores: Vec<f64> = want
        .column("score")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(scores.len(), 92);
    for s in scores {
        assert!(
            numbers.iter().any(|n| (n - s).abs() < 1e-9),
            "score {s} missing"
        );
    }
    // The weights sheet holds the six weights.
    let weights = String::from_utf8(entry(&mut book, "xl/worksheets/sheet2.xml")).unwrap();
    let w = expected(&ds, MethodSpec::default(), Table::Weights).await;
    for x in w
        .column("weight")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
    {
        assert!(
            sheet_numbers(&weights)
                .iter()
                .any(|n| (n - x).abs() < 1e-12),
            "weight {x}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bundle_zip_lists_every_file() {
    let ds = web_dataset();
    let app = app_for(ds.clone());
    let v = short(&ds);
    let got = get(&app, &format!("/download/test/{v}/bundle.zip")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.header("content-type"), "application/zip");
    let stem = format!("test-{v}-minmax-panel_entropy-panel_sum");
    assert_eq!(
        got.header("content-disposition"),
        format!("attachment; filename=\"{stem}.zip\"")
    );
    let mut archive = unzip(&got.bytes);
    let mut names: Vec<String> = archive
        .file_names()
        .map(|n| n.expect("UTF-8 entry name").into_owned())
        .collect();
    names.sort();
    let mut want = vec![format!("{stem}/metadata.json")];
    for table in ["scores", "weights", "normalised", "imputation"] {
        for ext in ["csv", "xlsx", "json", "parquet"] {
            want.push(format!("{stem}/{table}.{ext}"));
        }
    }
    want.sort();
    assert_eq!(names, want);
    // The CSV inside is byte-identical to the standalone download.
    let standalone = get(&app, &format!("/download/test/{v}/normalised.csv")).await;
    assert_eq!(
        entry(&mut archive, &format!("{stem}/normalised.csv")),
        standalone.bytes
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&entry(&mut archive, &format!("{stem}/metadata.json"))).unwrap();
    assert_eq!(meta["dataset"]["version"], ds.version.as_str());
    for name in &want {
        assert!(!entry(&mut archive, name).is_empty(), "{name} is empty");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_dataset_version_or_file_is_404() {
    let ds = web_dataset();
    let app = app_for(ds.clone());
    let v = short(&ds);
    for uri in [
        format!("/download/other/{v}/scores.csv"),
        format!("/download/test/{}/scores.csv", &v[..11]),
        format!("/download/test/{}/scores.csv", "0".repeat(12)),
        format!("/download/test/{v}x/scores.csv"),
        format!("/download/test/{v}/ranks.csv"),
        format!("/download/test/{v}/scores.txt"),
        format!("/download/test/{v}/metadata.csv"),
        format!("/download/test/{v}/scores"),
    ] {
        let got = get(&app, &uri).await;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(got.header("content-disposition").is_empty());
    }
    let bad = get(
        &app,
        &format!("/download/test/{v}/scores.csv?weights=bogus"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
