//! "Download this view": every page links its table as CSV, Excel CSV, XLSX and JSON, the
//! files hold what the page shows, and no CSV route lets a cell run as a spreadsheet formula.

use axum::http::StatusCode;
use nqp::service::{self, InputFile, RegionChoice};
use nqp::types::DatasetId;

use crate::helpers::{TestApp, fixture};

/// CSV body → header and rows (quoted fields may hold commas; no cell spans lines here).
fn csv_rows(body: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let split = |line: &str| {
        let (mut cells, mut cell, mut quoted) = (Vec::new(), String::new(), false);
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => cells.push(std::mem::take(&mut cell)),
                c => cell.push(c),
            }
        }
        cells.push(cell);
        cells
    };
    let mut lines = body.lines().map(split);
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

/// The columns of a view's CSV follow the view's fields (its JSON), not the alphabet, and a
/// sorted table downloads in the order the page shows it.
#[tokio::test(flavor = "multi_thread")]
async fn view_downloads_keep_the_field_order_and_the_sort_of_the_page() {
    let app = TestApp::new();
    // The scores of a region-year (`DimScores`), always in this order.
    const SCORES: [&str; 8] = [
        "score",
        "laborers",
        "tools",
        "objects",
        "level/micro",
        "level/meso",
        "level/macro",
        "subindex/ai_digital",
    ];
    let cases: [(&str, Vec<&str>); 3] = [
        (
            "/?lang=en&year=2021&format=csv",
            [
                &["code", "name", "group", "value", "rank", "rank_change"][..],
                &SCORES,
                &["incomplete"],
            ]
            .concat(),
        ),
        (
            "/regions/CN-GD?lang=en&table=history&format=csv",
            [&["year", "rank"][..], &SCORES].concat(),
        ),
        (
            "/regions/CN-GD?lang=en&format=csv",
            vec![
                "id",
                "name",
                "dimension",
                "level",
                "ai_digital",
                "unit",
                "raw",
                "z",
                "rank",
                "weight",
                "imputed",
            ],
        ),
    ];
    for (url, want) in cases {
        assert_eq!(csv_rows(&app.get(url).await.body).0, want, "{url}");
    }

    let sorted = "/?lang=en&year=2021&sort=name&dir=desc";
    let page = app.get(sorted).await;
    let shown = page.select_attrs("table#rankings tbody tr", "data-region");
    let link = &page.select_attrs("#view-downloads a[data-format=csv]", "href")[0];
    let (header, rows) = csv_rows(&app.get(link).await.body);
    assert_eq!(column(&header, &rows, "code"), shown);
    let names = column(&header, &rows, "name");
    let mut descending = names.clone();
    descending.sort();
    descending.reverse();
    assert_eq!(names, descending, "by name, descending");
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

/// The JSON behind a page's "JSON" download link, and the same URL's API twin.
async fn page_and_api_json(
    app: &TestApp,
    page: &str,
    api: &str,
) -> (serde_json::Value, serde_json::Value) {
    let html = app.get(page).await;
    assert_eq!(html.status, StatusCode::OK, "{page}");
    assert_eq!(
        html.select_attrs("#view-downloads a", "data-format"),
        ["csv", "csv", "xlsx", "json", "metadata"],
        "{page} links its view as files"
    );
    let link = &html.select_attrs("#view-downloads a[data-format=json]", "href")[0];
    let file = app.get(link).await;
    assert_eq!(file.status, StatusCode::OK, "{link}: {}", file.body);
    let file: serde_json::Value = serde_json::from_str(&file.body).unwrap();
    let api = app.get(api).await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    (
        file["view"].clone(),
        serde_json::from_str(&api.body).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_methodology_page_and_api_return_one_view() {
    let app = TestApp::new();
    let (page, api) = page_and_api_json(
        &app,
        "/methodology?lang=zh&weights=critic",
        "/api/v1/methodology?lang=zh&weights=critic",
    )
    .await;
    assert_eq!(page, api, "the page's JSON is the API's view");
    assert_eq!(api["method"]["weights"], "critic");

    // The tree's weights are the sums of the indicators' effective weights (from the weights
    // endpoint, which reads the result directly), and the page prints them.
    let weights = app.get("/api/v1/weights?weights=critic").await;
    let weights: serde_json::Value = serde_json::from_str(&weights.body).unwrap();
    let weight_of = |id: &str| -> f64 {
        weights["weights"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["indicator"] == id)
            .map(|w| w["weight"].as_f64().unwrap())
            .sum()
    };
    let indicators = api["framework"]["indicators"].as_array().unwrap();
    let dims = api["dimensions"].as_array().unwrap();
    assert_eq!(dims.len(), 3);
    let mut total = 0.0;
    for dim in dims {
        let want: f64 = indicators
            .iter()
            .filter(|i| i["dimension"] == dim["dimension"])
            .map(|i| weight_of(i["id"].as_str().unwrap()))
            .sum();
        let got = dim["weight"].as_f64().unwrap();
        assert!(
            (got - want).abs() < 1e-12,
            "{}: {got} vs {want}",
            dim["dimension"]
        );
        let in_subs: f64 = dim["subdimensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["weight"].as_f64().unwrap())
            .sum();
        assert!((in_subs - want).abs() < 1e-12, "{}", dim["dimension"]);
        total += got;
    }
    assert!((total - 1.0).abs() < 1e-12, "weights sum to {total}");
    let html = app.get("/methodology?lang=zh&weights=critic").await;
    let first = &dims[0];
    assert!(
        html.body
            .contains(&format!("{:.4}", first["weight"].as_f64().unwrap())),
        "the page shows the dimension weight"
    );

    let csv = app.get("/methodology?lang=en&format=csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    let (header, rows) = csv_rows(&csv.body);
    assert_eq!(
        column(&header, &rows, "id"),
        ["talent", "wage", "rd", "digital", "hitech", "emission"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_datasets_page_and_api_return_one_view() {
    // Without a store: the one dataset served.
    let app = TestApp::new();
    let (page, api) = page_and_api_json(
        &app,
        "/datasets?lang=zh&weights=critic",
        "/api/v1/datasets?lang=zh&weights=critic",
    )
    .await;
    assert_eq!(page, api);
    assert_eq!(api[0]["id"], "test");
    let listed = app.get("/datasets?lang=en").await;
    assert_eq!(listed.select_texts("section.dataset h2 code"), ["test"]);

    // With a store: every stored dataset and its versions.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let state = tokio::task::spawn_blocking(move || {
        crate::helpers::store_state(nqp::store::Store::open(&root).unwrap(), 1 << 20)
    })
    .await
    .unwrap();
    let app = TestApp::with_state(state);
    let (page, api) =
        page_and_api_json(&app, "/datasets?lang=en", "/api/v1/datasets?lang=en").await;
    assert_eq!(page, api);
    let ids: Vec<&str> = api
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    let listed = app.get("/datasets?lang=en").await;
    assert_eq!(listed.select_texts("section.dataset h2 code"), ids);
    assert_eq!(api[0]["latest"]["number"], 1);
    let csv = app.get("/datasets?lang=en&format=csv").await;
    let (header, rows) = csv_rows(&csv.body);
    assert_eq!(column(&header, &rows, "id"), ids);
    assert_eq!(column(&header, &rows, "latest.number")[0], "1");
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
            bytes: panel.into_bytes().into(),
            layout: None,
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

/// The analysis and robustness pages answer `?format=` (with `table=`) with exactly the file of
/// their table URL, like every other page.
#[tokio::test(flavor = "multi_thread")]
async fn analysis_pages_answer_format_like_their_table_urls() {
    let app = TestApp::new();
    for (page, url) in [
        (
            "/analysis/disparities?format=csv&table=theil&measure=score",
            "/analysis/disparities.csv?table=theil&measure=score",
        ),
        (
            "/analysis/dynamics?format=json&table=markov&measure=score",
            "/analysis/dynamics.json?table=markov&measure=score",
        ),
        (
            "/analysis/robustness?format=csv&table=audit_stats&mode=exhaustive",
            "/analysis/robustness/audit_stats.csv?mode=exhaustive",
        ),
    ] {
        let (a, b) = (app.get(page).await, app.get(url).await);
        assert_eq!(a.status, StatusCode::OK, "{page}: {}", a.body);
        assert_eq!(a.body, b.body, "{page}");
        assert!(a.body.len() > 20, "{page} has rows: {}", a.body);
    }
    let unknown = app
        .get("/analysis/robustness?format=csv&table=nope&mode=exhaustive")
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
