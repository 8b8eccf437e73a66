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

/// An NBS-style export of 地方一般公共预算支出 for 安徽 in 2016, its value written as `text`.
fn anhui_2016(text: &str) -> Vec<u8> {
    format!("数据库：分省年度数据\n指标：地方一般公共预算支出(亿元)\n地区,2016年\n安徽省,{text}\n")
        .into_bytes()
}

/// Stage `bytes` into the recent dataset through the API; the preview's (agreed, revised) and
/// the upload id.
async fn api_preview(app: &TestApp, bytes: &[u8]) -> (u64, Vec<(f64, f64)>, String) {
    let staged = app
        .api_upload(
            Some(BEARER),
            &existing_dataset(DATASET, &[("anhui.csv", bytes)]),
        )
        .await;
    assert_eq!(staged.status, StatusCode::CREATED, "{}", staged.body);
    let body = staged.json();
    let revised = body["preview"]["revised"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["old"].as_f64().unwrap(), c["new"].as_f64().unwrap()))
        .collect();
    let id = body["upload_id"].as_str().unwrap().to_owned();
    (body["preview"]["agreed"].as_u64().unwrap(), revised, id)
}

/// Agreement is to the precision *written* in the file, not that of the parsed number:
/// `5522.950` and `5522.95` parse to the same `f64`, yet against a stored 5522.953 the first
/// (three decimals: ±0.0005) is a revision and the second (two decimals: ±0.005) agrees.
#[tokio::test(flavor = "multi_thread")]
async fn agreement_is_to_the_decimals_written_in_the_file() {
    let app = TestApp::with_store(1024 * 1024);
    // Stored 5522.95: written `5522.950` it is the same figure.
    let (agreed, revised, _) = api_preview(&app, &anhui_2016("5522.950")).await;
    assert_eq!((agreed, revised), (1, vec![]));
    // Revise it to 5522.953 (version 2).
    let (agreed, revised, id) = api_preview(&app, &anhui_2016("5522.953")).await;
    assert_eq!((agreed, revised), (0, vec![(5522.95, 5522.953)]));
    let committed = app
        .api_commit(Some(BEARER), &id, &json!({ "revise": true }))
        .await;
    assert_eq!(committed.status, StatusCode::CREATED, "{}", committed.body);
    // Against 5522.953: `5522.950` revises, `5522.95` agrees, `5522.9530` agrees.
    let (agreed, revised, _) = api_preview(&app, &anhui_2016("5522.950")).await;
    assert_eq!((agreed, revised), (0, vec![(5522.953, 5522.95)]));
    let (agreed, revised, _) = api_preview(&app, &anhui_2016("5522.95")).await;
    assert_eq!((agreed, revised), (1, vec![]));
    let (agreed, revised, _) = api_preview(&app, &anhui_2016("5522.9530")).await;
    assert_eq!((agreed, revised), (1, vec![]));
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

/// Bad revision requests: `revise` when nothing differs (no cell to revise, also when the upload
/// only adds a cell the dataset does not hold) and a revision without `revise` through the API
/// — a clear 4xx naming the cells or the field, the store unchanged; `"revise": true` then
/// commits.
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

    // A revision of a cell the dataset does not hold: a new year only extends, so `revise`
    // has nothing to record.
    let new_year =
        "数据库：分省年度数据\n指标：地方一般公共预算支出(亿元)\n地区,2030年\n安徽省,9999.9\n";
    let (agreed, revised, id) = api_preview(&app, new_year.as_bytes()).await;
    assert_eq!((agreed, revised), (0, vec![]));
    let refused = app
        .api_commit(Some(BEARER), &id, &json!({ "revise": true }))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("no cell to revise"),
        "{}",
        refused.body
    );
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

/// The version diff on a case small enough to check by hand: three regions (A = CN-BJ,
/// B = CN-SH, C = CN-GD) in 2020.
///
/// v1: l = (10, 20, 30), t = (5, 15, 10), o = (30, 10, 20). Min-max: z_l = (0, ½, 1),
/// z_t = (0, 1, ½), z_o = (1, 0, ½). Every indicator holds the values {0, ½, 1}, so their
/// entropies are equal and the entropy weights are ⅓ each (docs/method.md §5.1); the weighted
/// sum gives A = 100·1/3 = 33.333, B = 100·1.5/3 = 50, C = 100·2/3 = 66.667: ranks C 1, B 2, A 3.
///
/// v2 revises A's l 10 → 25 and adds the indicator x = (1, 3, 2).
/// Revisions alone (v1 with l_A = 25): z_l = (½, 0, 1), weights still ⅓: A = 100·1.5/3 = 50,
/// B = 100·1/3 = 33.333, C = 66.667: ranks C 1, A 2, B 3 — A up 1, B down 1.
/// v2: z_x = (0, 1, ½), four indicators with {0, ½, 1}, weights ¼: A = 100·1.5/4 = 37.5,
/// B = 100·2/4 = 50, C = 100·2.5/4 = 62.5: ranks C 1, B 2, A 3 — the new indicator undoes
/// what the revision did, so the total rank change is 0 for every region.
#[tokio::test(flavor = "multi_thread")]
async fn the_diff_lists_cells_and_separates_the_rank_effect_of_revisions() {
    let app = TestApp::with_store(1024 * 1024);
    let session = app.sign_in().await;
    let v1 = "region,year,indicator,value\n\
              CN-BJ,2020,l,10\nCN-SH,2020,l,20\nCN-GD,2020,l,30\n\
              CN-BJ,2020,t,5\nCN-SH,2020,t,15\nCN-GD,2020,t,10\n\
              CN-BJ,2020,o,30\nCN-SH,2020,o,10\nCN-GD,2020,o,20\n";
    let res = app
        .upload(
            &session,
            &crate::helpers::new_dataset("tiny", &[("v1.csv", v1.as_bytes())]),
        )
        .await;
    let preview = app.preview(&session, &res).await;
    // Preview indicators are sorted by name: l, o, t.
    let mut fields = Vec::new();
    for (i, (id, dim)) in [("l", "laborers"), ("o", "objects"), ("t", "tools")]
        .iter()
        .enumerate()
    {
        fields.push((format!("map.{i}.include"), "on".to_owned()));
        fields.push((format!("map.{i}.id"), (*id).to_owned()));
        fields.push((format!("map.{i}.dimension"), (*dim).to_owned()));
        fields.push((format!("map.{i}.direction"), "+".to_owned()));
    }
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let res = app.commit(&session, &preview, &pairs).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    let v2 = "region,year,indicator,value\n\
              CN-BJ,2020,l,25\n\
              CN-BJ,2020,x,1\nCN-SH,2020,x,3\nCN-GD,2020,x,2\n";
    let res = app
        .upload(
            &session,
            &existing_dataset("tiny", &[("v2.csv", v2.as_bytes())]),
        )
        .await;
    let preview = app.preview(&session, &res).await;
    let res = app
        .commit(
            &session,
            &preview,
            &[
                ("revise", "on"),
                ("map.1.include", "on"),
                ("map.1.id", "x"),
                ("map.1.dimension", "tools"),
                ("map.1.direction", "+"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    // The datasets page links version 2 to its diff with version 1.
    let list = app.get("/datasets?lang=en").await;
    let links = list.select_attrs("#dataset-tiny a.diff", "href");
    assert_eq!(links.len(), 1, "{links:?}");
    assert!(links[0].starts_with("/datasets/tiny/diff?") && links[0].contains("from=1"));
    assert!(links[0].contains("to=2"), "{}", links[0]);

    let before = app.cache_stats().computations;
    let diff = app.get("/api/v1/datasets/tiny/diff?from=1&to=2").await;
    assert_eq!(diff.status, StatusCode::OK, "{}", diff.body);
    // Computed once (both versions' results and the diff with its revisions-only index), then
    // served from the cache: a second request, by the API or the page, computes nothing and
    // gives the same answer.
    let computed = app.cache_stats().computations;
    assert!(computed > before, "the first request computes");
    let again = app.get("/api/v1/datasets/tiny/diff?from=1&to=2").await;
    assert_eq!(again.body, diff.body);
    let page = app.get("/datasets/tiny/diff?from=1&to=2&lang=en").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        app.cache_stats().computations,
        computed,
        "served from the cache"
    );
    let d = diff.json();
    assert_eq!(d["year"], 2020);
    assert_eq!(d["indicators_added"], json!(["x"]));
    assert_eq!(d["removed"], json!([]));
    let added: Vec<(String, f64)> = d["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["indicator"], "x");
            (
                c["region"].as_str().unwrap().to_owned(),
                c["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        added,
        vec![
            ("CN-BJ".into(), 1.0),
            ("CN-GD".into(), 2.0),
            ("CN-SH".into(), 3.0)
        ]
    );
    assert_eq!(d["revised"].as_array().unwrap().len(), 1);
    assert_eq!(d["revised"][0]["region"], "CN-BJ");
    assert_eq!(d["revised"][0]["old"], 10.0);
    assert_eq!(d["revised"][0]["new"], 25.0);
    assert_eq!(d["revised"][0]["change_pct"], 150.0);
    // region → (score from, rank from, score to, rank to, rank change, score revised only,
    // rank revised only, rank change from revisions alone), as derived above.
    let expected = [
        ("CN-GD", 200.0 / 3.0, 1, 62.5, 1, 0, 200.0 / 3.0, 1, 0),
        ("CN-SH", 50.0, 2, 50.0, 2, 0, 100.0 / 3.0, 3, -1),
        ("CN-BJ", 100.0 / 3.0, 3, 37.5, 3, 0, 50.0, 2, 1),
    ];
    let effect = d["effect"].as_array().unwrap();
    assert_eq!(effect.len(), 3);
    for (row, e) in effect.iter().zip(expected) {
        let close = |key: &str, want: f64| {
            let got = row[key].as_f64().unwrap();
            assert!((got - want).abs() < 1e-9, "{} {key}: {got} vs {want}", e.0);
        };
        assert_eq!(row["region"], e.0);
        close("score_from", e.1);
        assert_eq!(row["rank_from"], e.2);
        close("score_to", e.3);
        assert_eq!(row["rank_to"], e.4);
        assert_eq!(row["rank_change"], e.5);
        close("score_revised_only", e.6);
        assert_eq!(row["rank_revised_only"], e.7);
        assert_eq!(row["rank_change_revisions"], e.8, "{row}");
    }

    // Backwards, the new cells are removed cells and the revision runs the other way.
    let back = app
        .get("/api/v1/datasets/tiny/diff?from=2&to=1")
        .await
        .json();
    assert_eq!(back["removed"].as_array().unwrap().len(), 3);
    assert_eq!(back["indicators_removed"], json!(["x"]));
    assert_eq!(back["revised"][0]["new"], 10.0);

    // The page shows the same, in both languages, and offers its tables as files.
    let page = app.get(&links[0]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.select_texts("#count-added"), vec!["3"]);
    assert_eq!(page.select_texts("#count-revised"), vec!["1"]);
    assert_eq!(page.select_texts("#indicators-added code"), vec!["x"]);
    let bj: Vec<String> = page.select_texts("#effect-table tr[data-region=CN-BJ] td");
    assert_eq!(bj, vec!["33.333", "3", "37.500", "3", "+0", "+1"]);
    let zh = app.get("/datasets/tiny/diff?from=1&to=2&lang=zh").await;
    assert!(zh.body.contains("仅修订引起的排名变化"), "{}", zh.body);
    let csv = app
        .get("/datasets/tiny/diff?from=1&to=2&lang=en&format=csv&table=effect")
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert!(
        csv.body
            .lines()
            .next()
            .unwrap()
            .contains("rank_change_revisions")
    );
    assert_eq!(csv.body.lines().count(), 4);
    let revised_csv = app
        .get("/datasets/tiny/diff?from=1&to=2&format=csv&table=revised")
        .await;
    assert!(
        revised_csv.body.lines().eq([
            "region,year,indicator,old,new,change_pct",
            "CN-BJ,2020,l,10.0,25.0,150.0"
        ]),
        "{}",
        revised_csv.body
    );

    // Bad requests are clear 4xx.
    for (url, status) in [
        ("/datasets/tiny/diff?from=0&to=2", StatusCode::BAD_REQUEST),
        ("/datasets/tiny/diff?from=abc", StatusCode::BAD_REQUEST),
        ("/datasets/tiny/diff?from=1&to=9", StatusCode::NOT_FOUND),
        ("/datasets/nope/diff", StatusCode::NOT_FOUND),
        (
            "/datasets/tiny/diff?format=csv&table=nope",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        assert_eq!(app.get(url).await.status, status, "{url}");
    }
}
