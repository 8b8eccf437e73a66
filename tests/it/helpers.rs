//! Test helpers that speak the product: a `TestApp` serving the small fixture dataset or a
//! store in a temp dir, requests by URL, the user's actions (`sign_in`, `upload`, `preview`,
//! `commit`, `api_upload`, `stored_files`) with one multipart builder, HTML queried by CSS
//! selectors, fixture paths.

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use nqp::service::{self, InputFile, RegionChoice};
use nqp::types::DatasetId;
use nqp::web::build_router;
use nqp::web::state::AppState;
use scraper::{Html, Selector};
use serde_json::Value;
use tower::ServiceExt;

/// A file under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The fixture dataset of the web tests: 31 provinces × 2020–2022, Tibet without 2022 data.
pub fn web_dataset() -> nqp::service::dashboard::Dataset {
    let framework =
        std::fs::read_to_string(fixture("web/framework.toml")).expect("fixture framework");
    web_dataset_with(&framework)
}

/// The fixture panel of the web tests under another framework.
pub fn web_dataset_with(framework: &str) -> nqp::service::dashboard::Dataset {
    let panel = std::fs::read(fixture("web/panel.csv")).expect("fixture panel");
    service::build_dataset(
        DatasetId::new("test").unwrap(),
        ("测试数据", "Test data"),
        &[InputFile {
            name: "panel.csv".into(),
            bytes: panel.into(),
            layout: None,
        }],
        (framework, "framework.toml"),
        &RegionChoice::Set(nqp::ingest::RegionSet::cn_provinces()),
    )
    .expect("fixture dataset builds")
}

pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as text (invalid UTF-8 replaced); `bytes` as sent.
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Response {
    pub fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }

    /// Texts of every element matching `selector`.
    pub fn select_texts(&self, selector: &str) -> Vec<String> {
        let sel = Selector::parse(selector).expect("valid selector");
        self.html()
            .select(&sel)
            .map(|e| e.text().collect::<String>().trim().to_owned())
            .collect()
    }

    /// Values of `attr` on every element matching `selector`.
    pub fn select_attrs(&self, selector: &str, attr: &str) -> Vec<String> {
        let sel = Selector::parse(selector).expect("valid selector");
        self.html()
            .select(&sel)
            .filter_map(|e| e.value().attr(attr).map(str::to_owned))
            .collect()
    }

    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// A header's value, empty when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn count(&self, selector: &str) -> usize {
        let sel = Selector::parse(selector).expect("valid selector");
        self.html().select(&sel).count()
    }
}

pub struct TestApp {
    router: Router,
    /// The state behind `router`, for its cache's counters.
    state: AppState,
    /// The store's directory, for apps over a store.
    store: Option<tempfile::TempDir>,
}

impl TestApp {
    pub fn new() -> TestApp {
        TestApp::with_dataset(web_dataset())
    }

    /// The app serving `dataset` (no store).
    pub fn with_dataset(dataset: nqp::service::dashboard::Dataset) -> TestApp {
        TestApp::with_state(AppState::new(dataset))
    }

    /// The app over `state` (a store, a configuration).
    pub fn with_state(state: AppState) -> TestApp {
        TestApp {
            router: build_router(state.clone()),
            state,
            store: None,
        }
    }

    /// The server's cache counters (computations started, entries, weight).
    pub fn cache_stats(&self) -> nqp::web::cache::CacheStats {
        self.state.cache_stats()
    }

    pub async fn get(&self, uri: &str) -> Response {
        self.get_with(uri, &[]).await
    }

    pub async fn get_with(&self, uri: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = Request::builder().uri(uri);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        send(&self.router, request.body(Body::empty()).unwrap()).await
    }
}

// ---------------------------------------------------------------------------------------------
// Writing: a store in a temp dir, the admin's session, uploads through the form and the API.

/// The admin token of every store a test opens.
pub const ADMIN_TOKEN: &str = "test-admin-token";
/// The `Authorization` header value of the API writes.
pub const BEARER: &str = "Bearer test-admin-token";
const BOUNDARY: &str = "nqp-test-boundary-7MA4YWxkTrZu0gW";

/// One part of a multipart body: a form field, or a file (field name, file name, bytes).
pub enum Part<'a> {
    Field(&'a str, &'a str),
    File(&'a str, &'a str, &'a [u8]),
}

/// The one multipart builder: (content type, body).
pub fn multipart<'p, 'a: 'p>(parts: impl IntoIterator<Item = &'p Part<'a>>) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::Field(name, value) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            ),
            Part::File(name, file_name, bytes) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
                body.extend_from_slice(b"\r\n");
            }
        }
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// The fields of the upload form that create the dataset `id` from `files`.
pub fn new_dataset<'a>(id: &'a str, files: &[(&'a str, &'a [u8])]) -> Vec<Part<'a>> {
    let mut parts = vec![
        Part::Field("target", "new"),
        Part::Field("new_id", id),
        Part::Field("title_zh", "测试"),
        Part::Field("title_en", "Test"),
    ];
    parts.extend(
        files
            .iter()
            .map(|(name, bytes)| Part::File("files", name, bytes)),
    );
    parts
}

/// The fields of the upload form that add `files` to the stored dataset `id`.
pub fn existing_dataset<'a>(id: &'a str, files: &[(&'a str, &'a [u8])]) -> Vec<Part<'a>> {
    let mut parts = vec![
        Part::Field("target", "existing"),
        Part::Field("existing_id", id),
    ];
    parts.extend(
        files
            .iter()
            .map(|(name, bytes)| Part::File("files", name, bytes)),
    );
    parts
}

/// A signed-in admin: the session cookie and the CSRF token its forms carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

impl TestApp {
    /// The app over a fresh store (admin token [`ADMIN_TOKEN`]) accepting uploads up to
    /// `upload_limit` bytes.
    pub fn with_store(upload_limit: usize) -> TestApp {
        TestApp::reopen(tempfile::tempdir().expect("temp dir"), upload_limit)
    }

    /// The app over the store in `dir` (as after a restart).
    pub fn reopen(dir: tempfile::TempDir, upload_limit: usize) -> TestApp {
        let store = nqp::store::Store::open(dir.path()).expect("the store opens");
        store
            .ensure_admin_token(Some(ADMIN_TOKEN))
            .expect("admin token");
        let mut app = TestApp::with_state(store_state(store, upload_limit));
        app.store = Some(dir);
        app
    }

    /// The store's directory (panics for an app without a store).
    pub fn store_dir(&self) -> &std::path::Path {
        self.store.as_ref().expect("an app with a store").path()
    }

    /// Stop serving and hand back the store's directory (for [`TestApp::reopen`]).
    pub fn into_store_dir(self) -> tempfile::TempDir {
        self.store.expect("an app with a store")
    }

    /// Every file of the store with its bytes (lock files aside): "nothing changed" is
    /// `stored_files()` equal before and after.
    pub fn stored_files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &std::path::Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for entry in std::fs::read_dir(dir).expect("readable store") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_none_or(|e| e != "lock") {
                    out.insert(path.clone(), std::fs::read(&path).expect("readable file"));
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(self.store_dir(), &mut out);
        out
    }

    /// Run any request through the app.
    pub async fn send(&self, request: Request<Body>) -> Response {
        send(&self.router, request).await
    }

    /// GET `uri` as `session` (or anonymously).
    pub async fn get_as(&self, uri: &str, session: Option<&Session>) -> Response {
        let cookie = session.map(|s| s.cookie.as_str());
        self.get_with(uri, cookie.map(|c| ("cookie", c)).as_slice())
            .await
    }

    /// POST `body` with `content_type` and the extra `headers`.
    pub async fn post(
        &self,
        uri: &str,
        content_type: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Response {
        let mut request = Request::builder()
            .method("POST")
            .uri(uri)
            .header("content-type", content_type);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// POST a URL-encoded form with the cookie of `session` (the form carries its own `csrf`).
    pub async fn post_form(
        &self,
        uri: &str,
        session: Option<&Session>,
        pairs: &[(&str, &str)],
    ) -> Response {
        let body = serde_urlencoded::to_string(pairs).unwrap();
        let cookie = session.map(|s| ("cookie", s.cookie.as_str()));
        self.post(
            uri,
            "application/x-www-form-urlencoded",
            cookie.as_slice(),
            body.into_bytes(),
        )
        .await
    }

    /// POST a multipart form with the cookie of `session` (the form carries its own `csrf`).
    pub async fn post_multipart(
        &self,
        uri: &str,
        session: Option<&Session>,
        parts: &[Part<'_>],
    ) -> Response {
        let (content_type, body) = multipart(parts);
        let cookie = session.map(|s| ("cookie", s.cookie.as_str()));
        self.post(uri, &content_type, cookie.as_slice(), body).await
    }

    /// Sign in with [`ADMIN_TOKEN`] through the login form.
    pub async fn sign_in(&self) -> Session {
        let res = self
            .post_form("/login?lang=en", None, &[("token", ADMIN_TOKEN)])
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let set_cookie = res.header("set-cookie").to_owned();
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let form = self
            .get_with("/datasets/new?lang=en", &[("cookie", &cookie)])
            .await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let csrf = form.select_attrs("input[name=csrf]", "value")[0].clone();
        Session { cookie, csrf }
    }

    /// Submit the upload form (`new_dataset` / `existing_dataset` parts): a 303 to the preview
    /// on success.
    pub async fn upload(&self, session: &Session, parts: &[Part<'_>]) -> Response {
        let csrf = [Part::Field("csrf", &session.csrf)];
        let (content_type, body) = multipart(csrf.iter().chain(parts));
        let cookie = [("cookie", session.cookie.as_str())];
        self.post("/datasets/new?lang=en", &content_type, &cookie, body)
            .await
    }

    /// The preview page a successful [`TestApp::upload`] redirected to.
    pub async fn preview(&self, session: &Session, uploaded: &Response) -> Response {
        assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
        let preview = self
            .get_as(uploaded.header("location"), Some(session))
            .await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        preview
    }

    /// Submit the preview's commit form with `fields` (the indicator mappings).
    pub async fn commit(
        &self,
        session: &Session,
        preview: &Response,
        fields: &[(&str, &str)],
    ) -> Response {
        let action = preview.select_attrs("form#commit", "action");
        assert_eq!(action.len(), 1, "one commit form: {}", preview.body);
        let mut form = vec![("csrf", session.csrf.as_str())];
        form.extend_from_slice(fields);
        self.post_form(&action[0], Some(session), &form).await
    }

    /// `POST /api/v1/uploads` (multipart) with the `Authorization` header `auth`.
    pub async fn api_upload(&self, auth: Option<&str>, parts: &[Part<'_>]) -> Response {
        let (content_type, body) = multipart(parts);
        let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        self.post("/api/v1/uploads?lang=en", &content_type, &headers, body)
            .await
    }

    /// `POST /api/v1/uploads/{id}/commit` (JSON) with the `Authorization` header `auth`.
    pub async fn api_commit(&self, auth: Option<&str>, upload_id: &str, body: &Value) -> Response {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        self.post(
            &format!("/api/v1/uploads/{upload_id}/commit"),
            "application/json",
            &headers,
            serde_json::to_vec(body).unwrap(),
        )
        .await
    }
}

/// An .xlsx workbook of `rows` (cells that parse as numbers are written as numbers).
pub fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match cell.parse::<f64>() {
                Ok(v) => sheet.write_number(r, c, v).map(|_| ()),
                Err(_) => sheet.write_string(r, c, *cell).map(|_| ()),
            }
            .expect("a cell within the sheet");
        }
    }
    book.save_to_buffer().expect("the workbook saves")
}

/// The state of a server over `store` with an upload limit of `upload_limit` bytes.
pub fn store_state(store: nqp::store::Store, upload_limit: usize) -> AppState {
    let config = nqp::web::state::Config {
        upload_limit,
        ..Default::default()
    };
    AppState::with_store(store, config).expect("the store opens")
}

/// Run one request through `router` and read the whole answer.
pub async fn send(router: &Router, request: Request<Body>) -> Response {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("router never fails");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    Response {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes: bytes.to_vec(),
    }
}
