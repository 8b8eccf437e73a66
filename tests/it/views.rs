//! "Download this view": every page links its table as CSV, Excel CSV, XLSX and JSON, the
//! files hold what the page shows, and no CSV route lets a cell run as a spreadsheet formula.

use axum::http::StatusCode;
use nqp::service::{self, InputFile, RegionChoice};
use nqp::types::DatasetId;

use crate::helpers::{TestApp, fixture};

/// CSV body → header and rows (no quoted commas in these fixtures' cells).
fn csv_rows(body: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = body.lines().map(|l| {
        l.split(',')
            .map(|c| c.trim_matches('"').to_owned())
            .collect::<Vec<_>>()
    });
    let header = lines.next().expect("a header");
    (header, lines.collect())
}

fn column(header: &[String], rows: &[Vec<String>], key: &str) -> Vec<String> {
    let i = header
        .iter()
        .position(|h| h == key)
        .unwrap_or_else(|| panic!("a {key} column in {header:?}"));
    rows.iter().map(|r| r[i].clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rankings_download_holds_the_table_on_the_page() {
    let app = TestApp::new();
    let page = app.get("/?lang=en&year=2021&weights=critic").await;
    assert_eq!(page.status, StatusCode::OK);
    let shown = page.select_attrs("table#rankings tbody tr", "data-region");
    assert_eq!(shown.len(), 31);
    let links = page.select_attrs("#view-downloads a", "href");
    let formats = page.select_attrs("#view-downloads a", "data-format");
    assert_eq!(formats, ["csv", "csv", "xlsx", "json", "metadata"]);

    let csv = app.get(&links[0]).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", links[0]);
    let disposition = csv.headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.contains("-minmax-panel_critic_sum-rankings-2021-score.csv"),
        "method and version in the file name: {disposition}"
    );
    assert!(
        csv.headers["link"]
            .to_str()
            .unwrap()
            .contains("metadata.json?weights=critic"),
        "the metadata of this method"
    );
    let (header, rows) = csv_rows(&csv.body);
    assert_eq!(
        column(&header, &rows, "code"),
        shown,
        "same rows, same order"
    );

    let excel = app.get(&links[1]).await;
    assert!(
        excel.body.starts_with('\u{feff}'),
        "the Excel CSV has a BOM"
    );
    let xlsx = app.get(&links[2]).await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(
        xlsx.headers["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let json: serde_json::Value = serde_json::from_str(&app.get(&links[3]).await.body).unwrap();
    let api: serde_json::Value = serde_json::from_str(
        &app.get("/api/v1/rankings?lang=en&year=2021&weights=critic")
            .await
            .body,
    )
    .unwrap();
    assert_eq!(json["view"], api, "the JSON form is the API's view");
    assert_eq!(json["metadata"]["method"]["weights"], "critic");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_links_its_view_as_files() {
    let app = TestApp::new();
    // (page, the table's row count in its CSV)
    let cases = [
        ("/regions/CN-GD?lang=en", 6), // the fixture framework's indicators
        ("/regions/CN-GD?lang=en&table=history", 3),
        ("/compare?r=CN-BJ,CN-SH&lang=en", 2),
        ("/indicators/talent?lang=en&year=2020", 31),
    ];
    for (url, rows) in cases {
        let page = app.get(url).await;
        assert_eq!(page.status, StatusCode::OK, "{url}");
        assert!(
            page.count("#view-downloads a[data-format=csv]") >= 2,
            "{url} links its CSV forms"
        );
        assert_eq!(
            page.count("#view-downloads a[data-format=json]"),
            1,
            "{url}"
        );
        let sep = if url.contains('?') { '&' } else { '?' };
        let csv = app.get(&format!("{url}{sep}format=csv")).await;
        assert_eq!(csv.status, StatusCode::OK, "{url}: {}", csv.body);
        assert_eq!(csv_rows(&csv.body).1.len(), rows, "{url}: {}", csv.body);
    }
    let bad = app.get("/?format=pdf&lang=en").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

/// A dataset whose first region is named like a spreadsheet formula.
fn hostile_dataset() -> nqp::service::dashboard::Dataset {
    let panel = std::fs::read_to_string(fixture("web/panel.csv"))
        .unwrap()
        .replace("CN-BJ,", "=SUM(1+1),");
    let framework = std::fs::read_to_string(fixture("web/framework.toml")).unwrap();
    service::build_dataset(
        DatasetId::new("hostile").unwrap(),
        ("恶意", "Hostile"),
        &[InputFile {
            name: "panel.csv".into(),
            bytes: panel.into_bytes(),
        }],
        (&framework, "framework.toml"),
        &RegionChoice::None,
    )
    .expect("the dataset builds")
}

#[tokio::test(flavor = "multi_thread")]
async fn no_csv_route_lets_a_cell_run_as_a_formula() {
    let dataset = hostile_dataset();
    let version = dataset.version.clone();
    let app = TestApp::with_dataset(dataset);
    let region = "%3DSUM(1%2B1)";
    let mut routes = vec![
        ("/?format=csv".to_owned(), true),
        ("/?format=csv&bom=1".to_owned(), true),
        (format!("/regions/{region}?format=csv&table=history"), false),
        (format!("/compare?r={region},CN-SH&format=csv"), true),
        ("/indicators/talent?format=csv".to_owned(), true),
        (format!("/download/hostile/{version}/scores.csv"), true),
        (format!("/download/hostile/{version}/normalised.csv"), true),
    ];
    for (page, tables) in nqp::service::analysis::PAGE_TABLES {
        for table in tables {
            routes.push((format!("/analysis/{page}.csv?table={table}"), false));
        }
    }
    for (url, names_region) in routes {
        let got = app.get(&url).await;
        if got.status == StatusCode::NOT_FOUND && url.starts_with("/analysis/") {
            continue; // spatial tables need contiguity, which needs a region set
        }
        assert_eq!(got.status, StatusCode::OK, "{url}: {}", got.body);
        let body = got.body.trim_start_matches('\u{feff}');
        for line in body.lines() {
            for cell in line.split(',') {
                let cell = cell.trim_start_matches('"');
                assert!(
                    !cell.starts_with(['=', '@']) && !cell.starts_with("+S"),
                    "{url}: a formula cell {cell:?}"
                );
            }
        }
        if names_region {
            assert!(
                body.contains("'=SUM(1+1)"),
                "{url} names the region: {body}"
            );
        }
    }
}
