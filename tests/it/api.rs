//! JSON API v1 and its OpenAPI document, driven in-process on the fixture dataset: every route
//! returns the documented shape (checked against the document's own schemas) and the same view
//! data the pages use; errors are the JSON envelope. Writes (upload, commit) run against a
//! store in a temp dir: bearer token only, 401/413/422/404 envelopes, the store unchanged by
//! every rejected write.

use std::collections::BTreeSet;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use nqp::method::MethodSpec;
use nqp::service::dashboard::{self, Dataset, Measure, ResultTables};
use nqp::types::{Dimension, Lang};
use nqp::web::api::api_routes;
use nqp::web::download::download_routes;
use nqp::web::error::{Problem, WebError};
use nqp::web::state::AppState;
use serde_json::Value;

use crate::helpers::{
    ADMIN_TOKEN, BEARER, Part, Response, TestApp, existing_dataset, fixture, multipart,
    new_dataset, send, web_dataset,
};

/// The API and download routes on the fixture dataset. (`build_router` merges the same two
/// routers; building them alone keeps these tests independent of the page routes.)
pub fn app_for(dataset: Dataset) -> Router {
    Router::new()
        .merge(api_routes())
        .merge(download_routes())
        .with_state(AppState::new(dataset))
}

pub async fn get(app: &Router, uri: &str) -> Response {
    send(
        app,
        Request::builder().uri(uri).body(Body::empty()).unwrap(),
    )
    .await
}

/// The dashboard tables the API should be serialising, computed off the async runtime.
async fn tables(ds: &Dataset, spec: MethodSpec) -> ResultTables {
    let ds = ds.clone();
    tokio::task::spawn_blocking(move || nqp::service::compute_tables(&ds, &spec))
        .await
        .unwrap()
        .expect("fixture computes")
}

/// JSON equality with numbers compared to 1e-9 (the API's cached result and the one computed
/// here may sum in a different order).
fn assert_json_close(got: &Value, want: &Value, at: &str) {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{at}: {a} vs {b}");
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{at}: lengths");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_json_close(x, y, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(a), Value::Object(b)) => {
            assert_eq!(
                a.keys().collect::<Vec<_>>(),
                b.keys().collect::<Vec<_>>(),
                "{at}: keys"
            );
            for (k, x) in a {
                assert_json_close(x, &b[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(got, want, "{at}"),
    }
}

fn openapi() -> Value {
    serde_json::from_str(nqp::web::api::openapi_document()).expect("OpenAPI is JSON")
}

/// Resolve `{"$ref": "#/components/schemas/X"}` against the document.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected $ref {r}"));
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// A small JSON-schema check, enough for what utoipa emits: `type` (one or a list), `required`,
/// `properties`, `items`, `enum`, `oneOf`/`anyOf`/`allOf`. Returns the first mismatch.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(doc, s, value, at)?;
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array)
            && !options.iter().any(|s| check(doc, s, value, at).is_ok())
        {
            return Err(format!("{at}: {value} matches none of {key}"));
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} not in {allowed:?}"));
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let ok = types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        });
        if !ok {
            return Err(format!("{at}: {value} is not {types:?}"));
        }
    }
    if let (Some(object), true) = (
        value.as_object(),
        types.is_empty() || types.contains(&"object"),
    ) {
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = key.as_str().unwrap_or_default();
            if !object.contains_key(key) {
                return Err(format!("{at}: required '{key}' missing"));
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (key, sub) in props {
                if let Some(v) = object.get(key) {
                    check(doc, sub, v, &format!("{at}.{key}"))?;
                }
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            check(doc, items, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// The schema the document gives for `path`'s GET response with `status`.
fn response_schema<'a>(doc: &'a Value, path: &str, status: &str) -> &'a Value {
    let schema =
        &doc["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"];
    assert!(!schema.is_null(), "{path} documents no {status} JSON body");
    schema
}

/// Every API route served, as documented (OpenAPI path templates).
const ROUTES: [&str; 14] = [
    "/api/v1/datasets",
    "/api/v1/regions",
    "/api/v1/regions/{code}",
    "/api/v1/indicators",
    "/api/v1/indicators/{id}",
    "/api/v1/scores",
    "/api/v1/rankings",
    "/api/v1/compare",
    "/api/v1/weights",
    "/api/v1/methodology",
    "/api/v1/sandbox",
    "/api/v1/regions/{code}/change",
    "/api/v1/robustness/{part}",
    "/api/v1/datasets/{id}/diff",
];

/// The write routes (POST, bearer token), as documented.
const WRITES: [&str; 2] = ["/api/v1/uploads", "/api/v1/uploads/{id}/commit"];

/// The base map's status and writes (GET, POST, DELETE; tested in `basemap`).
const BASEMAP: &str = "/api/v1/basemap";

/// The shared parameters documented on every API path, in order.
const SHARED: [&str; 6] = ["lang", "dataset", "v", "normalise", "weights", "aggregate"];

/// A concrete request for each documented route on the fixture dataset.
fn sample_uri(template: &str) -> String {
    let uri = template
        .replace("{code}", "CN-GD")
        .replace("{id}", "talent")
        .replace("{dataset}", "test")
        .replace("{part}", "audit");
    if template == "/api/v1/robustness/{part}" {
        return format!("{uri}?mode=exhaustive&lang=en");
    }
    if template == "/api/v1/compare" {
        return format!("{uri}?r=CN-BJ,CN-SH&lang=en");
    }
    if template == "/api/v1/datasets/{id}/diff" {
        // The fixture dataset has one version: its diff with itself.
        return "/api/v1/datasets/test/diff?lang=en".to_owned();
    }
    format!("{uri}?lang=en")
}

#[test]
fn openapi_document_is_valid_and_every_ref_resolves() {
    let doc = openapi();
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3."), "{version}");
    assert_eq!(doc["info"]["title"], "nqp API");
    let paths: BTreeSet<&str> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    for route in ROUTES {
        assert!(
            paths.contains(route),
            "{route} missing from the OpenAPI document"
        );
    }
    assert!(paths.contains("/download/{dataset}/{version}/{file}"));
    // Nothing documented that is not served.
    let api_paths: BTreeSet<&str> = paths
        .iter()
        .copied()
        .filter(|p| p.starts_with("/api/"))
        .collect();
    assert_eq!(
        api_paths,
        ROUTES.into_iter().chain(WRITES).chain([BASEMAP]).collect()
    );

    let mut refs = Vec::new();
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("$ref", Value::String(r)) => out.push(r),
                        _ => walk(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&doc, &mut refs);
    assert!(
        refs.len() > 20,
        "expected the views to be referenced, got {refs:?}"
    );
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .expect("component ref");
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "$ref {r} does not resolve"
        );
    }
    // The shared method parameters are documented once and attached to every API path.
    for route in ROUTES {
        let names: Vec<&str> = doc["paths"][route]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{route} has no shared parameters"))
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(names, SHARED, "{route}");
    }
    // Writes take only `lang`, need the bearer scheme, and document their errors.
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"],
        serde_json::json!({"type": "http", "scheme": "bearer",
            "description": "An access token (`nqp token create`); browser sessions are not accepted."})
    );
    for route in WRITES {
        let names: Vec<&str> = doc["paths"][route]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{route} has no shared parameters"))
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(names, ["lang"], "{route}");
        let post = &doc["paths"][route]["post"];
        assert_eq!(
            post["security"],
            serde_json::json!([{"bearer": []}]),
            "{route}"
        );
        assert!(post["requestBody"]["content"].is_object(), "{route}");
        for status in ["201", "401", "404", "409", "422"] {
            assert!(post["responses"][status].is_object(), "{route} {status}");
        }
    }
    assert!(
        doc["paths"]["/api/v1/uploads"]["post"]["requestBody"]["content"]["multipart/form-data"]
            ["schema"]
            .is_object()
    );
    let region_params: Vec<&str> = doc["paths"]["/api/v1/regions/{code}"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(region_params, ["code", "year"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_is_served_and_every_route_returns_its_documented_shape() {
    let app = app_for(web_dataset());
    let served = get(&app, "/api/openapi.json").await;
    assert_eq!(served.status, StatusCode::OK);
    assert!(
        served
            .header("content-type")
            .starts_with("application/json")
    );
    let doc = served.json();
    assert_eq!(doc, openapi());
    for route in ROUTES {
        let got = get(&app, &sample_uri(route)).await;
        assert_eq!(got.status, StatusCode::OK, "{route}: {}", got.body);
        let body = got.json();
        check(&doc, response_schema(&doc, route, "200"), &body, route)
            .unwrap_or_else(|e| panic!("{route} does not match its schema: {e}"));
    }
    // And the documented error shape.
    let missing = get(&app, "/api/v1/regions/XX-NONE").await;
    check(
        &doc,
        response_schema(&doc, "/api/v1/regions/{code}", "404"),
        &missing.json(),
        "404",
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_are_the_dashboard_view_data() {
    let ds = web_dataset();
    let app = app_for(ds.clone());
    let t = tables(&ds, MethodSpec::default()).await;

    let want = dashboard::rankings(
        &ds,
        &t,
        Some(2021),
        Measure::Dimension(Dimension::Tools),
        Default::default(),
        Lang::En,
        |g| nqp::web::pages::group_label(g, Lang::En),
    )
    .unwrap();
    let got = get(&app, "/api/v1/rankings?year=2021&measure=tools&lang=en")
        .await
        .json();
    assert_json_close(&got, &serde_json::to_value(&want).unwrap(), "body");
    assert_eq!(
        got["measure"],
        serde_json::json!({"kind": "dimension", "id": "tools"})
    );
    assert_eq!(got["rows"][0]["rank"], 1);

    let want = dashboard::region_profile(&ds, &t, "CN-GD", None, Lang::Zh).unwrap();
    let got = get(&app, "/api/v1/regions/CN-GD?lang=zh").await.json();
    assert_json_close(&got, &serde_json::to_value(&want).unwrap(), "body");
    assert_eq!(got["name"], "广东省");

    let codes = ["CN-BJ".to_owned(), "CN-SH".to_owned(), "CN-XZ".to_owned()];
    let want = dashboard::compare(&ds, &t, &codes, Some(2020), Lang::En).unwrap();
    // Both forms of `r`, as the page accepts them.
    for uri in [
        "/api/v1/compare?r=CN-BJ,CN-SH,CN-XZ&year=2020&lang=en",
        "/api/v1/compare?r=CN-BJ&r=CN-SH&r=CN-XZ&year=2020&lang=en",
    ] {
        assert_json_close(
            &get(&app, uri).await.json(),
            &serde_json::to_value(&want).unwrap(),
            uri,
        );
    }

    let want = dashboard::indicator_page(&ds, &t, "emission", Some(2022), Lang::En).unwrap();
    let got = get(&app, "/api/v1/indicators/emission?year=2022&lang=en")
        .await
        .json();
    assert_json_close(&got, &serde_json::to_value(&want).unwrap(), "body");
    assert_eq!(got["direction"], "-");

    let got = get(&app, "/api/v1/scores?year=2022").await.json();
    let rows = got["rows"].as_array().unwrap();
    let want: Vec<&dashboard::ScoreRow> = t.scores.iter().filter(|r| r.year == 2022).collect();
    assert_eq!(rows.len(), want.len());
    assert_json_close(&got["rows"], &serde_json::to_value(&want).unwrap(), "rows");
    assert_eq!(got["year"], 2022);
    let all = get(&app, "/api/v1/scores").await.json();
    assert_eq!(all["rows"].as_array().unwrap().len(), t.scores.len());
    assert_eq!(all["years"], serde_json::json!([2020, 2021, 2022]));

    let got = get(&app, "/api/v1/weights").await.json();
    assert_json_close(
        &got["weights"],
        &serde_json::to_value(&t.weights).unwrap(),
        "weights",
    );
    let sum: f64 = got["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["weight"].as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() < 1e-12, "weights sum to {sum}");
    assert_eq!(got["method"]["weights"], "entropy-panel");
}

#[tokio::test(flavor = "multi_thread")]
async fn listings_methodology_and_method_parameters() {
    let ds = web_dataset();
    let app = app_for(ds.clone());

    let datasets = get(&app, "/api/v1/datasets?lang=zh").await.json();
    assert_eq!(datasets.as_array().unwrap().len(), 1);
    let first = &datasets[0];
    assert_eq!(first["id"], "test");
    assert_eq!(first["title"], "测试数据");
    assert_eq!(first["latest"]["version"], ds.version.as_str());
    assert_eq!(first["versions"].as_array().unwrap().len(), 1);
    let short = &ds.version[..12];
    let links = first["downloads"].as_array().unwrap();
    assert_eq!(links.len(), 18, "16 table files, metadata and bundle");
    let bundle = links
        .iter()
        .find(|d| d["file"] == "bundle.zip")
        .expect("bundle link");
    assert_eq!(bundle["url"], format!("/download/test/{short}/bundle.zip"));
    // The links are live.
    let zip = get(&app, bundle["url"].as_str().unwrap()).await;
    assert_eq!(zip.status, StatusCode::OK);
    // Method parameters carry into the links.
    let critic = get(&app, "/api/v1/datasets?weights=critic").await.json();
    let scores = critic[0]["downloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["file"] == "scores.csv")
        .unwrap()["url"]
        .clone();
    assert_eq!(
        scores,
        format!("/download/test/{short}/scores.csv?weights=critic")
    );

    let regions = get(&app, "/api/v1/regions?lang=en").await.json();
    let regions = regions.as_array().unwrap();
    assert_eq!(regions.len(), 31);
    let bj = regions.iter().find(|r| r["code"] == "CN-BJ").unwrap();
    assert_eq!(
        (bj["name"].as_str(), bj["name_zh"].as_str()),
        (Some("Beijing"), Some("北京市"))
    );
    assert_eq!(bj["group"], "East");

    let indicators = get(&app, "/api/v1/indicators?lang=en").await.json();
    let ids: Vec<&str> = indicators
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["talent", "wage", "rd", "digital", "hitech", "emission"]
    );
    assert_eq!(indicators[0]["publisher"], "nqp tests");
    assert_eq!(indicators[0]["level"], "micro");
    assert_eq!(indicators[0]["name"], "Talent <b>density</b>");

    let m = get(&app, "/api/v1/methodology?lang=en").await.json();
    assert_eq!(m["framework"]["id"], "test-triad");
    assert_eq!(m["framework"]["indicators"].as_array().unwrap().len(), 6);
    assert_eq!(m["method"]["normalise"], "minmax-panel");
    assert_eq!(m["method"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(m["coverage"].as_array().unwrap().len(), 6);
    assert_eq!(m["version"], ds.version.as_str());

    // The same method parameters as the pages.
    let spec = MethodSpec {
        weights: "equal".parse().unwrap(),
        normalise: "zscore".parse().unwrap(),
        aggregate: "topsis".parse().unwrap(),
        ..MethodSpec::default()
    };
    let t = tables(&ds, spec).await;
    let got = get(
        &app,
        "/api/v1/weights?weights=equal&normalise=zscore&aggregate=topsis",
    )
    .await
    .json();
    assert_eq!(got["method"]["weights"], "equal");
    assert_eq!(got["method"]["aggregate"], "topsis");
    for w in got["weights"].as_array().unwrap() {
        assert!(
            (w["weight"].as_f64().unwrap() - 1.0 / 6.0).abs() < 1e-12,
            "{w}"
        );
    }
    let scores = get(
        &app,
        "/api/v1/scores?year=2021&weights=equal&normalise=zscore&aggregate=topsis",
    )
    .await
    .json();
    let want: Vec<&dashboard::ScoreRow> = t.scores.iter().filter(|r| r.year == 2021).collect();
    assert_json_close(
        &scores["rows"],
        &serde_json::to_value(&want).unwrap(),
        "rows",
    );
}

/// The message of an envelope's first error.
fn first_message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().expect("a message")
}

fn assert_envelope(got: &Response, status: u16, code: &str) -> Value {
    assert_eq!(got.status.as_u16(), status, "{}", got.body);
    assert!(got.header("content-type").starts_with("application/json"));
    let body = got.json();
    assert_eq!(body["ok"], false);
    assert_eq!(body["status"], status);
    let error = &body["errors"][0];
    assert_eq!(error["code"], code, "{body}");
    for key in ["message", "file", "line", "column", "column_name"] {
        assert!(error.get(key).is_some(), "{key} missing from {body}");
    }
    assert!(!error["message"].as_str().unwrap().is_empty());
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_json_envelopes() {
    let app = app_for(web_dataset());
    for uri in [
        "/api/v1/regions/XX-NONE",
        "/api/v1/indicators/nope",
        "/api/v1/rankings?year=1999",
        "/api/v1/scores?year=1999",
        "/api/v1/compare?r=CN-BJ,XX-NONE",
        "/api/v1/no-such-endpoint",
        "/api/v2/rankings",
    ] {
        let body = assert_envelope(&get(&app, uri).await, 404, "not_found");
        assert!(body["errors"][0]["file"].is_null());
    }
    let body = assert_envelope(
        &get(&app, "/api/v1/regions/XX-NONE").await,
        404,
        "not_found",
    );
    assert!(first_message(&body).contains("XX-NONE"));

    for (uri, needle) in [
        ("/api/v1/rankings?year=abc", "year"),
        ("/api/v1/rankings?measure=bogus", "bogus"),
        ("/api/v1/compare?r=CN-BJ", "r:"),
        ("/api/v1/compare", "r:"),
        (
            "/api/v1/compare?r=CN-BJ,CN-SH,CN-GD,CN-ZJ,CN-JS,CN-SD",
            "r:",
        ),
        ("/api/v1/weights?normalise=bogus", "normalise"),
        ("/api/v1/scores?weights=nope", "weights"),
        ("/api/v1/regions?aggregate=max", "aggregate"),
    ] {
        let body = assert_envelope(&get(&app, uri).await, 400, "invalid_parameter");
        let message = first_message(&body);
        assert!(message.contains(needle), "{uri}: {message}");
    }
}

fn envelope(err: nqp::Error) -> (u16, Value) {
    let problem = Problem::new(&WebError::App(err), Lang::En);
    (
        problem.status,
        serde_json::to_value(&problem.errors).unwrap(),
    )
}

#[test]
fn ingest_and_framework_errors_carry_their_positions() {
    let bytes = std::fs::read(fixture("bad/not_numeric.csv")).unwrap();
    let err = nqp::ingest::ingest(&bytes, "not_numeric.csv", None).expect_err("bad input");
    let (status, errors) = envelope(err.into());
    assert_eq!(status, 422);
    let first = &errors[0];
    assert_eq!(first["code"], "ingest.not_numeric");
    assert_eq!(first["file"], "not_numeric.csv");
    assert_eq!(first["line"], 3);
    assert_eq!(first["column"], 4);
    assert_eq!(first["column_name"], "value");

    let err = nqp::framework::Framework::from_toml(
        "[index]\nid = \"x\"\n\n[[indicator]]\nid = 5\n",
        "f.toml",
    )
    .expect_err("bad framework");
    let (status, errors) = envelope(err.into());
    assert_eq!(status, 422);
    assert_eq!(errors[0]["file"], "f.toml");
    assert!(
        errors[0]["code"]
            .as_str()
            .unwrap()
            .starts_with("framework."),
        "{errors}"
    );
    assert!(errors[0]["line"].as_u64().is_some(), "{errors}");

    let (status, errors) = envelope(nqp::Error::Internal("secret path /srv".into()));
    assert_eq!(status, 500);
    assert_eq!(errors[0]["code"], "internal");
    assert!(
        !errors[0]["message"].as_str().unwrap().contains("/srv"),
        "internals leak"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_datasets_are_listed_selected_and_downloadable() {
    let dir = tempfile::tempdir().unwrap();
    let state = tokio::task::spawn_blocking({
        let root = dir.path().to_owned();
        move || {
            let store = nqp::store::Store::open(&root).unwrap();
            AppState::with_store(store, nqp::web::state::Config::default()).unwrap()
        }
    })
    .await
    .unwrap();
    let app = Router::new()
        .merge(api_routes())
        .merge(download_routes())
        .with_state(state);

    let listed = get(&app, "/api/v1/datasets").await.json();
    let bundled = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "cn-provinces")
        .expect("the bundled dataset is imported on first start");
    assert_eq!(bundled["latest"]["number"], 1);
    assert!(bundled["latest"]["created_at"].as_str().is_some());
    let hash = bundled["latest"]["version"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);

    // `dataset` and `v` select it, as on the pages; unknown ones are 404 envelopes.
    let rankings = get(&app, "/api/v1/rankings?dataset=cn-provinces&v=1").await;
    assert_eq!(rankings.status, StatusCode::OK, "{}", rankings.body);
    assert_eq!(rankings.json()["rows"].as_array().unwrap().len(), 31);
    assert_envelope(
        &get(&app, "/api/v1/rankings?dataset=cn-provinces&v=9").await,
        404,
        "not_found",
    );
    assert_envelope(
        &get(&app, "/api/v1/regions?dataset=nope").await,
        404,
        "not_found",
    );
    assert_envelope(
        &get(&app, "/api/v1/regions?v=x").await,
        400,
        "invalid_parameter",
    );

    // Its downloads resolve through the store, by full or short hash.
    for version in [&hash[..12], hash.as_str()] {
        let csv = get(
            &app,
            &format!("/download/cn-provinces/{version}/scores.csv"),
        )
        .await;
        assert_eq!(csv.status, StatusCode::OK, "{version}");
        assert!(
            csv.body
                .starts_with("region,name_zh,name_en,year,score,rank,")
        );
    }
    let meta = get(
        &app,
        &format!("/download/cn-provinces/{}/metadata.json", &hash[..12]),
    )
    .await
    .json();
    assert_eq!(meta["dataset"]["version"], hash.as_str());
    let publishers: Vec<&str> = meta["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["publisher"].as_str())
        .collect();
    assert!(
        !publishers.is_empty(),
        "the bundled framework names its publishers"
    );
    let missing = get(
        &app,
        &format!("/download/cn-provinces/{}/scores.csv", "f".repeat(12)),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_router_serves_the_api_and_downloads() {
    // Through `build_router`: the page fallback must not swallow API 404s, and the app's
    // security headers apply to JSON and downloads too.
    let app = crate::helpers::TestApp::new();
    let rankings = app.get("/api/v1/rankings?year=2020").await;
    assert_eq!(rankings.status, StatusCode::OK);
    let body: Value = serde_json::from_str(&rankings.body).unwrap();
    assert_eq!(body["year"], 2020);
    assert_eq!(rankings.headers["x-content-type-options"], "nosniff");

    let missing = app.get("/api/v1/nothing-here").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let body: Value =
        serde_json::from_str(&missing.body).expect("a JSON envelope, not the HTML page");
    assert_eq!(body["errors"][0]["code"], "not_found");

    let doc: Value = serde_json::from_str(&app.get("/api/openapi.json").await.body).unwrap();
    assert!(doc["paths"]["/api/v1/rankings"].is_object());

    let version = web_dataset().version;
    let csv = app
        .get(&format!("/download/test/{}/weights.csv", &version[..12]))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with(
        "indicator,name_zh,name_en,dimension,subdimension,direction,weight\ntalent,人才密度,"
    ));
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; ")
    );
    // Pages are unaffected.
    assert_eq!(app.get("/").await.status, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Writes: upload and commit, against a store in a temp dir, through the whole app router.

/// A long CSV: 3 regions × 3 years × 3 new indicators, every value distinct so that entropy
/// weights are defined.
fn long_csv() -> Vec<u8> {
    shifted_csv(0.0)
}

/// [`long_csv`] with every value raised by `shift`: the same shape, different content.
fn shifted_csv(shift: f64) -> Vec<u8> {
    let mut csv = String::from("region,year,indicator,value\n");
    for (r, region) in ["CN-BJ", "CN-SH", "CN-GD"].iter().enumerate() {
        for (y, year) in [2020, 2021, 2022].iter().enumerate() {
            for (i, indicator) in ["talent", "robots", "patents"].iter().enumerate() {
                let value = shift
                    + 10.0 * (i + 1) as f64
                    + 3.0 * r as f64
                    + 1.5 * y as f64
                    + 0.1 * r as f64 * y as f64;
                csv.push_str(&format!("{region},{year},{indicator},{value}\n"));
            }
        }
    }
    csv.into_bytes()
}

fn mappings() -> Value {
    serde_json::json!({ "mappings": [
        { "source_name": "talent", "id": "talent", "name_zh": "人才", "name_en": "Talent",
          "dimension": "laborers", "direction": "+", "unit": "人" },
        { "source_name": "robots", "id": "robots", "dimension": "tools", "direction": "+",
          "subdimension": "automation" },
        { "source_name": "patents", "id": "patents", "dimension": "objects", "direction": "-",
          "source": "CNIPA" },
    ]})
}

/// The schema the document gives for `path`'s POST response with `status`.
fn post_response_schema<'a>(doc: &'a Value, path: &str, status: &str) -> &'a Value {
    let schema =
        &doc["paths"][path]["post"]["responses"][status]["content"]["application/json"]["schema"];
    assert!(!schema.is_null(), "{path} documents no {status} JSON body");
    schema
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_is_staged_committed_and_served() {
    let app = TestApp::with_store(nqp::web::state::DEFAULT_UPLOAD_LIMIT);
    let doc = openapi();
    let csv = long_csv();
    let staged = app
        .api_upload(
            Some(BEARER),
            &new_dataset("api-test", &[("long.csv", &csv)]),
        )
        .await;
    assert_eq!(staged.status, StatusCode::CREATED, "{}", staged.body);
    let body = staged.json();
    check(
        &doc,
        post_response_schema(&doc, "/api/v1/uploads", "201"),
        &body,
        "upload",
    )
    .unwrap();
    let preview = &body["preview"];
    assert_eq!(preview["target"]["kind"], "new");
    assert_eq!(preview["target"]["id"], "api-test");
    assert_eq!(preview["regions"], 3);
    assert_eq!(preview["years"], serde_json::json!([2020, 2021, 2022]));
    assert_eq!(preview["files"][0]["name"], "long.csv");
    assert_eq!(preview["files"][0]["rows"], 27);
    let names: Vec<&str> = preview["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["patents", "robots", "talent"]);
    for indicator in preview["indicators"].as_array().unwrap() {
        assert!(indicator["known_as"].is_null(), "{indicator}");
        assert_eq!(indicator["coverage"], 1.0);
    }
    let upload_id = body["upload_id"].as_str().unwrap().to_owned();
    assert_eq!(upload_id.len(), 32);
    assert_eq!(
        body["commit_url"],
        format!("/api/v1/uploads/{upload_id}/commit")
    );

    let committed = app.api_commit(Some(BEARER), &upload_id, &mappings()).await;
    assert_eq!(committed.status, StatusCode::CREATED, "{}", committed.body);
    let version = committed.json();
    check(
        &doc,
        post_response_schema(&doc, "/api/v1/uploads/{id}/commit", "201"),
        &version,
        "commit",
    )
    .unwrap();
    assert_eq!(version["dataset"], "api-test");
    assert_eq!(version["number"], 1);
    assert_eq!(version["rows"], 27);
    assert_eq!(version["created_by"], "admin (NQP_ADMIN_TOKEN)");
    let hash = version["hash"].as_str().unwrap();
    assert_eq!(hash.len(), 64);
    assert_eq!(version["view_url"], "/?dataset=api-test&v=1");
    assert_eq!(
        version["bundle_url"],
        format!("/download/api-test/{}/bundle.zip", &hash[..12])
    );

    // The new dataset is served by the API, the pages and the downloads.
    let rankings = app.get("/api/v1/rankings?dataset=api-test").await;
    assert_eq!(rankings.status, StatusCode::OK, "{}", rankings.body);
    let rows = rankings.json()["rows"].as_array().unwrap().clone();
    let mut regions: Vec<&str> = rows.iter().map(|r| r["code"].as_str().unwrap()).collect();
    regions.sort();
    assert_eq!(regions, ["CN-BJ", "CN-GD", "CN-SH"]);
    let indicators = app
        .get("/api/v1/indicators?dataset=api-test&v=1&lang=en")
        .await
        .json();
    let described: Vec<(String, String, String, String)> = indicators
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let s = |k: &str| i[k].as_str().unwrap_or_default().to_owned();
            (s("id"), s("name_en"), s("dimension"), s("direction"))
        })
        .collect();
    let want = [
        ("talent", "Talent", "laborers", "+"),
        ("robots", "robots", "tools", "+"),
        ("patents", "patents", "objects", "-"),
    ];
    assert_eq!(
        described,
        want.map(|(a, b, c, d)| (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned()))
    );
    assert_eq!(indicators[1]["subdimension"], "automation");
    assert_eq!(indicators[2]["source"], "CNIPA");
    assert_eq!(indicators[0]["unit"], "人");
    assert_eq!(
        app.get("/?dataset=api-test&v=1").await.status,
        StatusCode::OK
    );
    let bundle = app.get(version["bundle_url"].as_str().unwrap()).await;
    assert_eq!(bundle.status, StatusCode::OK);
    assert_eq!(bundle.header("content-type"), "application/zip");

    // The staged upload is gone once committed; the id is taken now.
    assert_envelope(
        &app.api_commit(Some(BEARER), &upload_id, &mappings()).await,
        404,
        "not_found",
    );
    assert_envelope(
        &app.api_upload(
            Some(BEARER),
            &new_dataset("api-test", &[("long.csv", &csv)]),
        )
        .await,
        409,
        "conflict",
    );
    // A second version of it adds a year and maps nothing: the indicators are known now.
    let mut year_2023 = String::from("region,year,indicator,value\n");
    for (r, region) in ["CN-BJ", "CN-SH", "CN-GD"].iter().enumerate() {
        for (i, indicator) in ["talent", "robots", "patents"].iter().enumerate() {
            year_2023.push_str(&format!("{region},2023,{indicator},{}\n", 20 + 7 * i + r));
        }
    }
    let again = app
        .api_upload(
            Some(BEARER),
            &[
                Part::Field("target", "existing"),
                Part::Field("existing_id", "api-test"),
                Part::File("files", "2023.csv", year_2023.as_bytes()),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    let again = again.json();
    assert_eq!(again["preview"]["years"], serde_json::json!([2023]));
    let known: Vec<&str> = again["preview"]["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["known_as"].as_str().unwrap())
        .collect();
    assert_eq!(known, ["patents", "robots", "talent"]);
    let v2 = app
        .api_commit(
            Some(BEARER),
            again["upload_id"].as_str().unwrap(),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(v2.status, StatusCode::CREATED, "{}", v2.body);
    let v2 = v2.json();
    assert_eq!(v2["number"], 2);
    assert_eq!(v2["rows"], 36);
    let latest = app.get("/api/v1/rankings?dataset=api-test").await.json();
    assert_eq!(latest["years"], serde_json::json!([2020, 2021, 2022, 2023]));
    assert_eq!(latest["year"], 2023);
    let listed = app.get("/api/v1/datasets").await.json();
    let ours = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "api-test")
        .unwrap();
    assert_eq!(ours["title_en"], "Test");
    assert_eq!(ours["versions"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_need_a_bearer_token_and_change_nothing_without_one() {
    let app = TestApp::with_store(nqp::web::state::DEFAULT_UPLOAD_LIMIT);
    let csv = long_csv();
    let parts = new_dataset("api-test", &[("long.csv", &csv)]);
    // A browser session (signed in with the same token) is not accepted by the API.
    let login = app
        .post_form("/login", None, &[("token", ADMIN_TOKEN)])
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    let cookie = login
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    // Staged with the token, to try committing it without one.
    let staged = app.api_upload(Some(BEARER), &parts).await;
    assert_eq!(staged.status, StatusCode::CREATED, "{}", staged.body);
    let upload_id = staged.json()["upload_id"].as_str().unwrap().to_owned();

    let before = app.stored_files();
    for auth in [
        None,
        Some("Bearer wrong-token"),
        Some(ADMIN_TOKEN),
        Some("Basic YWRtaW4="),
    ] {
        let got = app.api_upload(auth, &parts).await;
        let body = assert_envelope(&got, 401, "unauthorized");
        assert!(
            first_message(&body).contains("Authorization: Bearer"),
            "{body}"
        );
        assert_eq!(got.header("www-authenticate"), "Bearer realm=\"nqp\"");
        assert_envelope(
            &app.api_commit(auth, &upload_id, &mappings()).await,
            401,
            "unauthorized",
        );
    }
    let (content_type, body) = multipart(&parts);
    let with_cookie = app
        .post(
            "/api/v1/uploads",
            &content_type,
            &[("cookie", &cookie)],
            body,
        )
        .await;
    assert_envelope(&with_cookie, 401, "unauthorized");
    let commit_with_cookie = app
        .post(
            &format!("/api/v1/uploads/{upload_id}/commit"),
            "application/json",
            &[("cookie", &cookie)],
            serde_json::to_vec(&mappings()).unwrap(),
        )
        .await;
    assert_envelope(&commit_with_cookie, 401, "unauthorized");
    assert_eq!(
        app.stored_files(),
        before,
        "an unauthorised write changed the store"
    );
    assert_envelope(
        &app.get("/api/v1/rankings?dataset=api-test").await,
        404,
        "not_found",
    );
    // The staged upload survived the attempts and still commits with the token.
    let committed = app.api_commit(Some(BEARER), &upload_id, &mappings()).await;
    assert_eq!(committed.status, StatusCode::CREATED, "{}", committed.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_writes_are_envelopes_and_change_nothing() {
    let limit = 64 * 1024;
    let app = TestApp::with_store(limit);
    let before = app.stored_files();
    let csv = long_csv();

    // A value that is not a number: 422 naming the file, line, column and column name.
    let bad = b"region,year,indicator,value\nCN-BJ,2020,gdp,1\nCN-SH,2020,gdp,12.3abc\n";
    let got = app
        .api_upload(Some(BEARER), &new_dataset("bad-one", &[("bad.csv", bad)]))
        .await;
    let body = assert_envelope(&got, 422, "ingest.not_numeric");
    let error = &body["errors"][0];
    assert_eq!(error["file"], "bad.csv");
    assert_eq!(error["line"], 3);
    assert_eq!(error["column"], 4);
    assert_eq!(error["column_name"], "value");

    // A framework that is not TOML: 422 with its position.
    let got = app
        .api_upload(
            Some(BEARER),
            &[
                Part::Field("target", "new"),
                Part::Field("new_id", "bad-two"),
                Part::File("files", "long.csv", &csv),
                Part::File("framework", "framework.toml", b"[index]\nid = \n"),
            ],
        )
        .await;
    let body = assert_envelope(&got, 422, "framework.toml");
    assert_eq!(body["errors"][0]["file"], "framework.toml");
    assert_eq!(body["errors"][0]["line"], 2);
    assert_eq!(body["errors"][0]["column"], 6);

    // Form problems.
    let no_target = app
        .api_upload(Some(BEARER), &[Part::File("files", "long.csv", &csv)])
        .await;
    assert_envelope(&no_target, 422, "invalid_field");
    let bad_id = app
        .api_upload(
            Some(BEARER),
            &new_dataset("Not An Id", &[("long.csv", &csv)]),
        )
        .await;
    let body = assert_envelope(&bad_id, 422, "invalid_field");
    assert!(first_message(&body).starts_with("new_id: "));
    let no_files = app
        .api_upload(
            Some(BEARER),
            &[
                Part::Field("target", "new"),
                Part::Field("new_id", "bad-three"),
            ],
        )
        .await;
    assert_envelope(&no_files, 422, "invalid_field");
    let unknown_target = app
        .api_upload(
            Some(BEARER),
            &[
                Part::Field("target", "existing"),
                Part::Field("existing_id", "no-such-dataset"),
                Part::File("files", "long.csv", &csv),
            ],
        )
        .await;
    assert_envelope(&unknown_target, 404, "not_found");
    let not_multipart = app
        .post(
            "/api/v1/uploads",
            "application/json",
            &[("authorization", BEARER)],
            b"{}".to_vec(),
        )
        .await;
    assert_envelope(&not_multipart, 400, "bad_request");

    // Over the limit: 413, whether the body streams past it (test requests carry no
    // Content-Length) or declares a larger length up front.
    let big = vec![b'1'; limit + 1];
    let too_big = app
        .api_upload(Some(BEARER), &new_dataset("bad-four", &[("big.csv", &big)]))
        .await;
    assert_envelope(&too_big, 413, "too_large");
    let (content_type, body) = multipart(&new_dataset("bad-four", &[("a.csv", &csv)]));
    let declared = app
        .post(
            "/api/v1/uploads",
            &content_type,
            &[
                ("authorization", BEARER),
                ("content-length", &(limit * 2).to_string()),
            ],
            body,
        )
        .await;
    assert_envelope(&declared, 413, "too_large");

    // Commits: unknown upload, malformed body, mappings that name nothing in the upload.
    assert_envelope(
        &app.api_commit(Some(BEARER), "0123456789abcdef", &mappings())
            .await,
        404,
        "not_found",
    );
    let staged = app
        .api_upload(
            Some(BEARER),
            &new_dataset("good-one", &[("long.csv", &csv)]),
        )
        .await;
    assert_eq!(staged.status, StatusCode::CREATED, "{}", staged.body);
    let upload_id = staged.json()["upload_id"].as_str().unwrap().to_owned();
    let unknown_name = serde_json::json!({ "mappings": [
        { "source_name": "nothing", "id": "nothing", "dimension": "tools", "direction": "+" }
    ]});
    let body = assert_envelope(
        &app.api_commit(Some(BEARER), &upload_id, &unknown_name)
            .await,
        422,
        "invalid_field",
    );
    assert!(first_message(&body).contains("'nothing'"));
    let bad_direction = serde_json::json!({ "mappings": [
        { "source_name": "talent", "id": "talent", "dimension": "laborers", "direction": "up" }
    ]});
    assert_envelope(
        &app.api_commit(Some(BEARER), &upload_id, &bad_direction)
            .await,
        422,
        "invalid_field",
    );
    let malformed = app
        .post(
            &format!("/api/v1/uploads/{upload_id}/commit"),
            "application/json",
            &[("authorization", BEARER)],
            b"{\"mappings\": [".to_vec(),
        )
        .await;
    assert_envelope(&malformed, 400, "bad_request");
    assert_eq!(
        app.stored_files(),
        before,
        "a rejected write changed the store"
    );
}

/// Stage an upload; its `upload_id`.
async fn staged_id(app: &TestApp, parts: &[Part<'_>]) -> String {
    let staged = app.api_upload(Some(BEARER), parts).await;
    assert_eq!(staged.status, StatusCode::CREATED, "{}", staged.body);
    staged.json()["upload_id"].as_str().unwrap().to_owned()
}

/// Commit two staged uploads at the same time: exactly one 201 and one 409. Returns the 201,
/// the 409 and which of the two won.
async fn commit_race(app: &TestApp, ids: [String; 2], body: &Value) -> (Response, Response, usize) {
    let (a, b) = tokio::join!(
        app.api_commit(Some(BEARER), &ids[0], body),
        app.api_commit(Some(BEARER), &ids[1], body)
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{} / {}", a.body, b.body);
    if a.status == StatusCode::CREATED {
        (a, b, 0)
    } else {
        (b, a, 1)
    }
}

/// Three regions' values of the three indicators of [`long_csv`] for one more year.
fn year_csv(year: i32) -> Vec<u8> {
    let mut csv = String::from("region,year,indicator,value\n");
    for (r, region) in ["CN-BJ", "CN-SH", "CN-GD"].iter().enumerate() {
        for (i, indicator) in ["talent", "robots", "patents"].iter().enumerate() {
            let value = year - 2000 + 7 * i as i32 + r as i32;
            csv.push_str(&format!("{region},{year},{indicator},{value}\n"));
        }
    }
    csv.into_bytes()
}

/// Two commits reviewed against the same state, sent at once: exactly one 201 and one 409 (the
/// status the OpenAPI document promises), for a new dataset and for a new version; the refused
/// upload, sent again, is stored on top, so nothing is lost.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_commits_give_one_201_and_one_documented_409() {
    let app = TestApp::with_store(nqp::web::state::DEFAULT_UPLOAD_LIMIT);
    let doc = openapi();

    // A new dataset, reviewed twice while its id was free.
    let files = [shifted_csv(0.0), shifted_csv(100.0)];
    let ids = [
        staged_id(&app, &new_dataset("api-race", &[("a.csv", &files[0])])).await,
        staged_id(&app, &new_dataset("api-race", &[("b.csv", &files[1])])).await,
    ];
    let (won, refused, winner) = commit_race(&app, ids, &mappings()).await;
    let envelope = assert_envelope(&refused, 409, "store.id_taken");
    check(
        &doc,
        post_response_schema(&doc, "/api/v1/uploads/{id}/commit", "409"),
        &envelope,
        "409",
    )
    .unwrap();
    assert_eq!(won.json()["number"], 1);
    let v1 = app.get("/datasets/api-race/1/panel.csv").await.body;
    let first_row = if winner == 0 {
        "CN-BJ,2020,talent,10.0"
    } else {
        "CN-BJ,2020,talent,110.0"
    };
    assert!(v1.contains(first_row), "{v1}");

    // Two new versions reviewed against version 1.
    let files = [year_csv(2023), year_csv(2024)];
    let ids = [
        staged_id(
            &app,
            &existing_dataset("api-race", &[("year.csv", &files[0])]),
        )
        .await,
        staged_id(
            &app,
            &existing_dataset("api-race", &[("year.csv", &files[1])]),
        )
        .await,
    ];
    let (won, refused, winner) = commit_race(&app, ids.clone(), &serde_json::json!({})).await;
    let envelope = assert_envelope(&refused, 409, "store.changed");
    // Its preview is stale, so the refused upload is not kept for a retry.
    assert_envelope(
        &app.api_commit(Some(BEARER), &ids[1 - winner], &serde_json::json!({}))
            .await,
        404,
        "not_found",
    );
    let message = first_message(&envelope);
    assert!(
        message.contains("changed meanwhile") && message.contains("review the upload again"),
        "{message}"
    );
    assert_eq!(won.json()["number"], 2);
    assert_eq!(won.json()["rows"], 36);

    // Sent again, the refused upload is reviewed against version 2 and stored as version 3.
    let again = app
        .api_upload(
            Some(BEARER),
            &existing_dataset("api-race", &[("year.csv", &files[1 - winner])]),
        )
        .await
        .json();
    assert_eq!(
        again["preview"]["base"],
        serde_json::json!({ "version": 2 })
    );
    let v3 = app
        .api_commit(
            Some(BEARER),
            again["upload_id"].as_str().unwrap(),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(v3.status, StatusCode::CREATED, "{}", v3.body);
    assert_eq!(v3.json()["rows"], 45);
    let latest = app.get("/api/v1/rankings?dataset=api-race").await.json();
    assert_eq!(
        latest["years"],
        serde_json::json!([2020, 2021, 2022, 2023, 2024])
    );
    let v3_panel = app.get("/datasets/api-race/3/panel.csv").await.body;
    assert!(v3_panel.contains(first_row), "{v3_panel}");
}

/// `sort=` and `dir=` are one typed query: the page and the API order rows alike and refuse
/// a bad value with the same 400 problem.
mod sort {
    use axum::http::StatusCode;
    use serde_json::Value;

    use super::first_message;
    use crate::helpers::TestApp;

    #[tokio::test(flavor = "multi_thread")]
    async fn page_and_api_order_rows_alike() {
        let app = TestApp::new();
        for (sort, dir) in [
            ("tools", "desc"),
            ("group", "asc"),
            ("change", "asc"),
            ("name", "desc"),
        ] {
            let query = format!("year=2021&sort={sort}&dir={dir}");
            let page = app.get(&format!("/?lang=en&{query}")).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            let api = app.get(&format!("/api/v1/rankings?lang=en&{query}")).await;
            assert_eq!(api.status, StatusCode::OK, "{}", api.body);
            let view: Value = serde_json::from_str(&api.body).unwrap();
            let rows = view["rows"].as_array().unwrap();
            let api_codes: Vec<&str> = rows.iter().map(|r| r["code"].as_str().unwrap()).collect();
            let page_codes = page.select_attrs("table#rankings tbody tr", "data-region");
            assert_eq!(page_codes, api_codes, "{query}");
            assert_eq!(api_codes.len(), 31);

            // The order itself, from the values the API reports: rows with a value first, in
            // the asked direction, ties by code.
            let key = |r: &Value| match sort {
                "tools" => r["tools"].as_f64(),
                "change" => r["rank_change"].as_f64(),
                _ => None,
            };
            if matches!(sort, "tools" | "change") {
                for w in rows.windows(2) {
                    let (a, b) = (key(&w[0]), key(&w[1]));
                    let ordered = match (a, b, dir) {
                        (None, Some(_), _) => false,
                        (Some(_), None, _) | (None, None, _) => true,
                        (Some(a), Some(b), "desc") => {
                            a > b || (a == b && w[0]["code"].as_str() < w[1]["code"].as_str())
                        }
                        (Some(a), Some(b), _) => {
                            a < b || (a == b && w[0]["code"].as_str() < w[1]["code"].as_str())
                        }
                    };
                    assert!(ordered, "{query}: {} before {}", w[0], w[1]);
                }
            }
            if sort == "name" {
                let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
                assert!(names.windows(2).all(|w| w[0] >= w[1]), "{names:?}");
            }
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_bad_sort_or_dir_is_the_same_400_in_page_and_api() {
        let app = TestApp::new();
        for (query, name, needle) in [
            ("sort=bogus", "sort", "'bogus'"),
            ("sort=Rank", "sort", "rank, name, group"),
            ("sort=rank&dir=up", "dir", "'up'"),
        ] {
            let page = app.get(&format!("/?lang=en&{query}")).await;
            let api = app.get(&format!("/api/v1/rankings?lang=en&{query}")).await;
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(api.status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(
                page.select_attrs("section.error", "data-code"),
                ["invalid_parameter"]
            );
            let problem: Value = serde_json::from_str(&api.body).unwrap();
            assert_eq!(problem["errors"][0]["code"], "invalid_parameter", "{query}");
            let message = first_message(&problem);
            assert!(message.starts_with(&format!("{name}: ")), "{message}");
            assert!(message.contains(needle), "{message}");
            assert!(
                page.select_texts("section.error")
                    .concat()
                    .contains(message),
                "{query}: the page says what the API says"
            );
            // The chosen language reaches the page's message.
            let zh = app.get(&format!("/?lang=zh&{query}")).await;
            assert_eq!(zh.status, StatusCode::BAD_REQUEST);
            assert!(zh.body.contains(&format!("参数 {name} 无效")), "{query}");
        }
        // An empty value is the default, as for every other parameter.
        assert_eq!(app.get("/?sort=&dir=").await.status, StatusCode::OK);
    }
}

/// A table with years across whose region column holds names and whose next column holds
/// GB/T 2260 codes: two candidates, settled by the `layout` field.
#[tokio::test(flavor = "multi_thread")]
async fn the_layout_field_settles_ambiguous_columns_and_a_wrong_hint_stores_nothing() {
    let app = TestApp::with_store(64 * 1024);
    let before = app.stored_files();
    let table = "序号,,,代码,2019,2020\n1,地区生产总值（亿元）i,北京,110000,1.5,2\n2,,天津,120000,3,4\n3,,河北,130000,5,6\n".as_bytes();
    let with_layout = |layout: &'static str| {
        let mut parts = new_dataset("thesis", &[("thesis.csv", table)]);
        parts.push(Part::Field("layout", layout));
        parts
    };

    let got = app
        .api_upload(
            Some(BEARER),
            &new_dataset("thesis", &[("thesis.csv", table)]),
        )
        .await;
    let body = assert_envelope(&got, 422, "ingest.ambiguous_layout");
    let error = &body["errors"][0];
    assert_eq!(
        (
            error["file"].as_str(),
            error["line"].as_u64(),
            error["column"].as_u64()
        ),
        (Some("thesis.csv"), Some(1), Some(3))
    );
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("columns C (3 of 3 values are region names) and D ('代码', 3 of 3 values are region names) are candidates") && message.contains("region=C,years=E:F"), "{body}");

    // A hint naming a column the file lacks, and one that is not a hint: 4xx, nothing stored.
    let got = app.api_upload(Some(BEARER), &with_layout("region=H")).await;
    let body = assert_envelope(&got, 422, "ingest.layout_hint");
    assert_eq!(body["errors"][0]["column"], 8);
    let got = app
        .api_upload(Some(BEARER), &with_layout("region=C,colour=B"))
        .await;
    let body = assert_envelope(&got, 422, "invalid_field");
    assert!(
        first_message(&body).contains("unknown key 'colour'"),
        "{body}"
    );
    assert_eq!(app.stored_files(), before);

    // The hint read the file: the codes column is reported as not read.
    let staged = app
        .api_upload(Some(BEARER), &with_layout("region=C, indicator=B"))
        .await;
    assert_eq!(staged.status, StatusCode::CREATED, "{}", staged.body);
    let preview = &staged.json()["preview"];
    let file = &preview["files"][0];
    assert_eq!(
        (file["layout"].as_str(), file["rows"].as_u64()),
        (Some("blocks"), Some(6))
    );
    assert_eq!(file["units"]["地区生产总值"], "亿元");
    assert_eq!(file["indicators"], serde_json::json!(["地区生产总值"]));
    assert_eq!(preview["regions"], 3);
    assert_eq!(preview["years"], serde_json::json!([2019, 2020]));
    assert!(
        file["notices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["code"] == "ingest.ignored_columns")
    );
}
