//! Uploads that repeat, extend and revise what a dataset holds (docs/method.md, "Merging uploads
//! and revisions"), over HTTP against a real store: equal values at another precision merge,
//! differing ones are refused naming the cells unless committed as a revision, and a revision is
//! a new version with its records while the old version stays byte for byte what it was.
//!
//! The fixtures (tests/fixtures/revisions, written by make_fixtures.py) are NBS-style GBK
//! exports of 地方一般公共预算支出 — the alias of the bundled `budget_total` — for 安徽, 北京 and
//! 上海, 2016–2024; 2016–2022 repeat data/datasets/cn-provinces-recent.

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::{BEARER, Response, Session, TestApp, existing_dataset, fixture};

const DATASET: &str = "cn-provinces-recent";

fn export(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("revisions/{name}"))).unwrap()
}

/// Upload `name` into the recent dataset through the form; its preview page.
async fn preview_of(app: &TestApp, session: &Session, name: &str) -> Response {
    let bytes = export(name);
    let res = app
        .upload(session, &existing_dataset(DATASET, &[(name, &bytes)]))
        .await;
    app.preview(session, &res).await
}

/// The rows of `/datasets/{DATASET}/{v}/panel.csv` for `indicator` as (region, year) → value.
async fn series(app: &TestApp, v: u32, indicator: &str) -> BTreeMap<(String, i32), f64> {
    let csv = app.get(&format!("/datasets/{DATASET}/{v}/panel.csv")).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    let mut out = BTreeMap::new();
    for line in csv.body.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[2] == indicator {
            let key = (f[0].to_owned(), f[1].parse().unwrap());
            assert!(
                out.insert(key, f[3].parse().unwrap()).is_none(),
                "{line} twice"
            );
        }
    }
    out
}

/// Every file of the store except SQLite's shared-memory index (`catalog.sqlite-shm`), which
/// records readers' positions in the write-ahead log — reads after a commit change it — and is
/// rebuilt from the log, so it holds no data. Compared with `==`, not printed: they are binary.
fn data_files(app: &TestApp) -> BTreeMap<PathBuf, Vec<u8>> {
    app.stored_files()
        .into_iter()
        .filter(|(p, _)| !p.to_string_lossy().ends_with("-shm"))
        .collect()
}

/// The store's files other than the catalog (whose pages change on every commit): the version
/// files, which must never change once written.
fn version_files(app: &TestApp) -> BTreeMap<PathBuf, Vec<u8>> {
    app.stored_files()
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "parquet"))
        .collect()
}

/// Commit the extension export as version 2 (no mapping: the series is known by its alias).
async fn commit_extension(app: &TestApp, session: &Session) {
    let preview = preview_of(app, session, "budget_extend_gbk.csv").await;
    let res = app.commit(session, &preview, &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
}

/// The issue as reported: the latest NBS export of a series the dataset holds, recognised by
/// its alias, repeating the stored values (some written with a trailing zero, some with fewer
/// decimals that agree to the precision shown) and adding 2023–2024. It merges: the 21 repeated
/// cells are one observation each, the 6 new ones extend the series.
#[tokio::test(flavor = "multi_thread")]
async fn the_same_values_at_another_precision_merge_and_new_years_extend() {
    let app = TestApp::with_store(1024 * 1024);
    let session = app.sign_in().await;
    let v1 = series(&app, 1, "budget_total").await;
    let preview = preview_of(&app, &session, "budget_extend_gbk.csv").await;
    assert_eq!(preview.count("#revised-table"), 0, "{}", preview.body);
    // 3 regions × 2016–2022 repeat stored cells.
    assert!(
        preview.select_texts("#agreed")[0].starts_with("21 cells equal"),
        "{}",
        preview.body
    );
    assert_eq!(preview.count("#revise"), 0);
    let res = app.commit(&session, &preview, &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    let v2 = series(&app, 2, "budget_total").await;
    // Every stored value kept as it was (5522.95, not a second row for 5522.950) …
    for (key, value) in &v1 {
        assert_eq!(v2.get(key), Some(value), "{key:?}");
    }
    // … plus exactly the six new cells, stored under the framework's id.
    assert_eq!(v2.len(), v1.len() + 6);
    assert_eq!(v2[&("CN-AH".to_owned(), 2016)], 5522.95);
    assert_eq!(v2[&("CN-AH".to_owned(), 2017)], 6203.811);
    assert_eq!(v2[&("CN-AH".to_owned(), 2024)], 9100.5);
    assert_eq!(v2[&("CN-SH".to_owned(), 2023)], 9800.71);
    assert_eq!(v2[&("CN-BJ".to_owned(), 2024)], 8010.0);
    // Nothing was revised, so version 2 has no revision records.
    assert_eq!(
        app.get(&format!("/datasets/{DATASET}/2/revisions.csv"))
            .await
            .body
            .lines()
            .count(),
        1
    );
    // The dashboard computes version 2.
    let page = app.get(&format!("/?lang=en&dataset={DATASET}&v=2")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
}

/// Two published values revised: the preview lists them with the difference in per cent; the
/// commit is refused (409, in the page's language) naming region, year and indicator, with the
/// store unchanged; committed as a revision it is a new version that records both cells (old →
/// new, who, when, which file) while the earlier version's file stays byte for byte the same
/// and downloadable.
#[tokio::test(flavor = "multi_thread")]
async fn a_revision_is_refused_unless_chosen_and_then_recorded_as_a_new_version() {
    let app = TestApp::with_store(1024 * 1024);
    let session = app.sign_in().await;
    commit_extension(&app, &session).await;
    let v2_panel = app
        .get(&format!("/datasets/{DATASET}/2/panel.csv"))
        .await
        .body;
    let v2 = series(&app, 2, "budget_total").await;

    let preview = preview_of(&app, &session, "budget_revised_gbk.csv").await;
    let rows: Vec<Vec<String>> = preview
        .html()
        .select(&scraper::Selector::parse("#revised-table tbody tr").unwrap())
        .map(|tr| {
            tr.children()
                .filter_map(scraper::ElementRef::wrap)
                .map(|c| c.text().collect::<String>())
                .collect()
        })
        .collect();
    // (5600 − 5522.95) / 5522.95 = 77.05 / 5522.95 = 1.3951 %;
    // (7480.43 − 7471.43) / 7471.43 = 9 / 7471.43 = 0.1205 %.
    assert_eq!(
        rows,
        vec![
            vec!["CN-AH", "2016", "budget_total", "5522.95", "5600", "+1.40"],
            vec![
                "CN-BJ",
                "2018",
                "budget_total",
                "7471.43",
                "7480.43",
                "+0.12"
            ],
        ]
    );
    // The 25 other cells (2016–2024 of three regions, less the two) agree with version 2.
    assert!(preview.select_texts("#agreed")[0].starts_with("25 cells"));
    assert_eq!(preview.count("form#commit input#revise[type=checkbox]"), 1);

    // Refused without `revise`, in English and in Chinese; nothing stored.
    let before = data_files(&app);
    let refused = app.commit(&session, &preview, &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    for cell in [
        "CN-AH 2016 budget_total: 5522.95 → 5600",
        "CN-BJ 2018 budget_total: 7471.43 → 7480.43",
    ] {
        assert!(refused.body.contains(cell), "{cell}: {}", refused.body);
    }
    assert!(
        data_files(&app) == before,
        "a refused revision changed the store"
    );
    // The upload is kept for the retry; the Chinese page says what to do.
    let action = preview.select_attrs("form#commit", "action")[0].replace("lang=en", "lang=zh");
    let zh = app
        .post_form(&action, Some(&session), &[("csrf", &session.csrf)])
        .await;
    assert_eq!(zh.status, StatusCode::CONFLICT, "{}", zh.body);
    assert!(zh.body.contains("作为修订提交") && zh.body.contains("CN-AH 2016 budget_total"));
    assert!(
        data_files(&app) == before,
        "a refused commit changed the store"
    );

    // Committed as a revision.
    let files_before = version_files(&app);
    let res = app.commit(&session, &preview, &[("revise", "on")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let v3 = series(&app, 3, "budget_total").await;
    assert_eq!(v3.len(), v2.len());
    for (key, value) in &v2 {
        let expected = match (key.0.as_str(), key.1) {
            ("CN-AH", 2016) => 5600.0,
            ("CN-BJ", 2018) => 7480.43,
            _ => *value,
        };
        assert_eq!(v3[key], expected, "{key:?}");
    }
    // The revision records, downloadable beside the version.
    let records = app
        .get(&format!("/datasets/{DATASET}/3/revisions.csv"))
        .await;
    assert_eq!(records.status, StatusCode::OK);
    let lines: Vec<&str> = records.body.lines().collect();
    assert_eq!(
        lines[0],
        "region,year,indicator,old,new,change_pct,actor,time,file"
    );
    assert_eq!(lines.len(), 3, "{}", records.body);
    assert!(
        lines[1].starts_with("CN-AH,2016,budget_total,5522.95,5600.0,1.395")
            && lines[1].contains(",admin")
            && lines[1].ends_with(",budget_revised_gbk.csv"),
        "{}",
        lines[1]
    );
    assert!(lines[2].starts_with("CN-BJ,2018,budget_total,7471.43,7480.43,0.120"));
    // Every earlier version file is byte for byte what it was, and still served as before.
    let files_after = version_files(&app);
    for (path, bytes) in &files_before {
        assert_eq!(files_after.get(path), Some(bytes), "{}", path.display());
    }
    assert_eq!(files_after.len(), files_before.len() + 1);
    assert_eq!(
        app.get(&format!("/datasets/{DATASET}/2/panel.csv"))
            .await
            .body,
        v2_panel
    );
    // The listing links the records of version 3 only.
    let list = app.get("/datasets?lang=en").await;
    assert_eq!(
        list.select_attrs(&format!("#dataset-{DATASET} a.revisions"), "href"),
        vec![format!("/datasets/{DATASET}/3/revisions.csv")]
    );
}

/// Bad revision requests: `revise` when nothing differs (no cell to revise) and a revision
/// without `revise` through the API — a clear 4xx naming the cells or the field, the store
/// unchanged; `"revise": true` then commits.
#[tokio::test(flavor = "multi_thread")]
async fn bad_revision_requests_change_nothing() {
    let app = TestApp::with_store(1024 * 1024);
    let session = app.sign_in().await;
    commit_extension(&app, &session).await;
    let before = data_files(&app);

    // The extension again: every cell is already stored, so there is nothing to revise.
    let preview = preview_of(&app, &session, "budget_extend_gbk.csv").await;
    let res = app.commit(&session, &preview, &[("revise", "on")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(res.body.contains("revise") && res.body.contains("no cell to revise"));
    assert!(
        data_files(&app) == before,
        "a refused commit changed the store"
    );

    // Through the API: `revise` absent is a 409 naming the cells.
    let bytes = export("budget_revised_gbk.csv");
    let staged = app
        .api_upload(
            Some(BEARER),
            &existing_dataset(DATASET, &[("budget_revised_gbk.csv", &bytes)]),
        )
        .await;
    assert_eq!(staged.status, StatusCode::CREATED, "{}", staged.body);
    let body = staged.json();
    let revised = &body["preview"]["revised"];
    assert_eq!(revised.as_array().unwrap().len(), 2, "{body}");
    assert_eq!(revised[0]["region"], "CN-AH");
    assert_eq!(revised[0]["old"], 5522.95);
    assert_eq!(revised[0]["new"], 5600.0);
    assert_eq!(body["preview"]["agreed"], 25);
    let id = body["upload_id"].as_str().unwrap();
    let refused = app.api_commit(Some(BEARER), id, &json!({})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    let problem = refused.json();
    assert_eq!(problem["errors"][0]["code"], "data.revision_needed");
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("CN-BJ 2018 budget_total"), "{message}");
    assert!(
        data_files(&app) == before,
        "a refused commit changed the store"
    );

    let committed = app
        .api_commit(Some(BEARER), id, &json!({ "revise": true }))
        .await;
    assert_eq!(committed.status, StatusCode::CREATED, "{}", committed.body);
    assert_eq!(committed.json()["number"], 3);
    let list = app.get("/api/v1/datasets").await.json();
    let versions = list
        .as_array()
        .or_else(|| list["datasets"].as_array())
        .unwrap()
        .iter()
        .find(|d| d["id"] == DATASET)
        .unwrap()["versions"]
        .clone();
    assert_eq!(versions[2]["revised"], 2, "{versions}");
    assert_eq!(versions[1]["revised"], 0);
}
