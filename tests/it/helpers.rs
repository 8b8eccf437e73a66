//! Test helpers that speak the product: a `TestApp` serving the small fixture dataset,
//! requests by URL, HTML queried by CSS selectors, fixture paths.

use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use nqp::service::{self, InputFile, RegionChoice};
use nqp::types::DatasetId;
use nqp::web::build_router;
use nqp::web::state::AppState;
use scraper::{Html, Selector};
use tower::ServiceExt;

/// A file under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The fixture dataset of the web tests: 31 provinces × 2020–2022, Tibet without 2022 data.
pub fn web_dataset() -> nqp::service::dashboard::Dataset {
    let panel = std::fs::read(fixture("web/panel.csv")).expect("fixture panel");
    let framework =
        std::fs::read_to_string(fixture("web/framework.toml")).expect("fixture framework");
    service::build_dataset(
        DatasetId::new("test").unwrap(),
        ("测试数据", "Test data"),
        &[InputFile {
            name: "panel.csv".into(),
            bytes: panel,
        }],
        (&framework, "framework.toml"),
        &RegionChoice::Set(nqp::ingest::RegionSet::cn_provinces()),
    )
    .expect("fixture dataset builds")
}

pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
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

    pub fn count(&self, selector: &str) -> usize {
        let sel = Selector::parse(selector).expect("valid selector");
        self.html().select(&sel).count()
    }
}

pub struct TestApp {
    router: Router,
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
            router: build_router(state),
        }
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
    }
}
