//! The user's standard base map over HTTP against a real store: the signed-in form on
//! `/publish` and the JSON API, each validation error named in zh and en with nothing stored,
//! every map then drawn with the South China Sea inset and the approval-number caption (pages and
//! figures), persistence across a restart, and back to the schematic map with its note.

use axum::http::StatusCode;
use nqp::service::figure::{DASHBOARD_FIGURES, SCHEMATIC_NOTE};
use serde_json::{Value, json};

use crate::cli::{bundled_args, nqp_exits_2, nqp_ok};
use crate::figures::{has_cjk_font, phys, png_size};
use crate::helpers::{BEARER, Part, TestApp, fixture, multipart};

const APPROVAL: &str = "GS(2024)0650号";

fn squares() -> Vec<u8> {
    std::fs::read(fixture("basemap/squares.geojson")).unwrap()
}

/// The fixture with feature `i` replaced by `f`.
fn with_feature(i: usize, f: Value) -> Vec<u8> {
    let mut d: Value = serde_json::from_slice(&squares()).unwrap();
    d["features"][i] = f;
    d.to_string().into_bytes()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_standard_base_map_uploaded_on_publish_draws_every_map_with_inset_and_caption() {
    let app = TestApp::with_store(32 << 20);
    let publish = app.get("/publish?lang=en").await;
    assert_eq!(
        publish.select_attrs("#basemap-status", "data-standard"),
        ["false"]
    );
    assert!(publish.body.contains(SCHEMATIC_NOTE));
    // Anonymous readers see no form and cannot post one.
    assert_eq!(publish.count("form#basemap-form"), 0);
    let geojson = squares();
    let anonymous = app
        .post_multipart(
            "/publish/basemap",
            None,
            &[
                Part::File("files", "map.geojson", &geojson),
                Part::Field("approval", APPROVAL),
            ],
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let session = app.sign_in().await;
    let form = app.get_as("/publish?lang=en", Some(&session)).await;
    assert_eq!(form.count("form#basemap-form input[name=csrf]"), 1);
    let before = app.stored_files();
    // Each kind of invalid map: 422, the feature named in the page's language, nothing stored.
    let cases: [(Vec<u8>, &str, &str, &str); 4] = [
        (
            with_feature(
                3,
                json!({"type":"Feature","properties":{"name":"火星省"},"geometry":{"type":"Polygon","coordinates":[[[110,30],[111,30],[111,31],[110,30]]]}}),
            ),
            APPROVAL,
            "feature 3 (name = \"火星省\") matches no province",
            "底图要素无法对应到任何省级地区",
        ),
        (
            with_feature(
                0,
                json!({"type":"Feature","properties":{"name":"北京市"},"geometry":{"type":"Polygon","coordinates":[[[12958000, 4852000], [12959000, 4852000], [12959000, 4853000], [12958000, 4852000]]]}}),
            ),
            APPROVAL,
            "feature 0 (name = \"北京市\") has the coordinate [12958000, 4852000]",
            "请以 EPSG:4326（WGS 84 经纬度）导出",
        ),
        (
            with_feature(
                2,
                json!({"type":"Feature","properties":{"name":"河北省"},"geometry":{"type":"Polygon","coordinates":[[[114, 38], [116, 38], [116, 40], [114, 40]]]}}),
            ),
            APPROVAL,
            "feature 2 (name = \"河北省\"): ring 0 is not closed",
            "底图要素的几何无效",
        ),
        (squares(), "", "approval number: missing", "审图号无效"),
    ];
    for (bytes, approval, en, zh) in &cases {
        for (lang, want) in [("en", en), ("zh", zh)] {
            let csrf = Part::Field("csrf", &session.csrf);
            let res = app
                .post_multipart(
                    &format!("/publish/basemap?lang={lang}"),
                    Some(&session),
                    &[
                        csrf,
                        Part::File("files", "map.geojson", bytes),
                        Part::Field("approval", approval),
                    ],
                )
                .await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{want}");
            let text: String = res.html().root_element().text().collect();
            assert!(text.contains(*want), "{lang}: {want} in {text}");
            // The Chinese page keeps the English detail that names the feature.
            assert!(text.contains(*en), "{text}");
        }
    }
    assert_eq!(app.stored_files(), before, "nothing stored");
    // A valid map with a missing or forged CSRF field: 403, nothing stored.
    for csrf in [None, Some("forged")] {
        let mut parts = vec![
            Part::File("files", "standard.geojson", &geojson),
            Part::Field("approval", APPROVAL),
        ];
        parts.extend(csrf.map(|c| Part::Field("csrf", c)));
        let res = app
            .post_multipart("/publish/basemap?lang=en", Some(&session), &parts)
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{csrf:?}: {}", res.body);
    }
    assert_eq!(app.stored_files(), before, "nothing stored");

    let res = app
        .post_multipart(
            "/publish/basemap?lang=en",
            Some(&session),
            &[
                Part::Field("csrf", &session.csrf),
                Part::File("files", "standard.geojson", &geojson),
                Part::Field("approval", APPROVAL),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let publish = app.get("/publish?lang=en").await;
    assert_eq!(
        publish.select_attrs("#basemap-status", "data-standard"),
        ["true"]
    );
    assert_eq!(
        publish.select_texts(".basemap-caption"),
        ["审图号：GS(2024)0650号"]
    );
    // The rankings map and the LISA map are drawn on it, with the inset and the caption.
    for page in ["/?lang=en", "/analysis/spatial?lang=en"] {
        let res = app.get(page).await;
        assert_eq!(res.status, StatusCode::OK);
        assert!(res.count("svg.nqp-map-standard") >= 1, "{page}");
        assert_eq!(
            res.count("svg.nqp-map-standard g.inset rect.inset-frame"),
            res.count("svg.nqp-map-standard"),
            "{page}"
        );
        assert!(
            res.count("svg.nqp-map:not(.nqp-map-standard)") == 0,
            "{page}"
        );
        assert!(
            res.select_texts("svg.nqp-map-standard text.map-caption")
                .iter()
                .all(|t| t == "审图号：GS(2024)0650号")
        );
    }
    // The downloaded figure carries the caption (and the inset), never the schematic note.
    let fig = app.get("/?lang=en&figure=map&format=svg").await;
    assert_eq!(fig.status, StatusCode::OK, "{}", fig.body);
    assert!(fig.body.contains(">审图号：GS(2024)0650号</text>"));
    assert!(fig.body.contains("class=\"inset-frame\""));
    assert!(!fig.body.contains(SCHEMATIC_NOTE));

    // The map survives a restart.
    let dir = app.into_store_dir();
    let app = TestApp::reopen(dir, 32 << 20);
    let api = app.get("/api/v1/basemap").await.json();
    assert_eq!(api["standard"], true);
    assert_eq!(api["basemap"]["approval"], APPROVAL);
    assert_eq!(api["basemap"]["file_name"], "standard.geojson");
    assert_eq!(api["basemap"]["regions"], 34);
    assert_eq!(api["basemap"]["inset_features"], 2);

    // Removed through the API: schematic again, and map figures say so.
    let req = axum::http::Request::builder()
        .method("DELETE")
        .uri("/api/v1/basemap")
        .header("authorization", BEARER)
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["standard"], false);
    let fig = app.get("/?lang=en&figure=map&format=svg").await;
    assert!(fig.body.contains(&format!(">{SCHEMATIC_NOTE}</text>")));
    assert!(!fig.body.contains("inset-frame"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_stores_a_base_map_with_a_bearer_token_and_names_bad_features() {
    let app = TestApp::with_store(32 << 20);
    let geojson = squares();
    let parts = [
        Part::File("files", "map.geojson", &geojson),
        Part::Field("approval", APPROVAL),
    ];
    let (content_type, body) = multipart(&parts);
    let res = app
        .post("/api/v1/basemap", &content_type, &[], body.clone())
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let bad = with_feature(
        7,
        json!({"type":"Feature","properties":{"name":"不存在"},"geometry":{"type":"Polygon","coordinates":[[[110,30],[111,30],[111,31],[110,30]]]}}),
    );
    let bad_parts = [
        Part::File("files", "map.geojson", &bad),
        Part::Field("approval", APPROVAL),
    ];
    let (ct, bad_body) = multipart(&bad_parts);
    let res = app
        .post(
            "/api/v1/basemap?lang=en",
            &ct,
            &[("authorization", BEARER)],
            bad_body,
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = res.json();
    assert_eq!(problem["code"], "basemap.unmatched");
    assert!(
        problem["message"]
            .as_str()
            .unwrap()
            .starts_with("feature 7 (name = \"不存在\")")
    );
    let res = app
        .post(
            "/api/v1/basemap",
            &content_type,
            &[("authorization", BEARER)],
            body,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["basemap"]["caption"], "审图号：GS(2024)0650号");
    assert_eq!(app.get("/api/v1/basemap").await.json()["standard"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_figures_are_exactly_the_charts_of_their_pages() {
    let app = TestApp::new();
    let mut pages: Vec<&str> = DASHBOARD_FIGURES.iter().map(|f| f.page).collect();
    pages.dedup();
    for page in pages {
        let res = app.get(&format!("{page}?lang=en")).await;
        assert_eq!(res.status, StatusCode::OK, "{page}");
        let mut on_page: Vec<String> = res
            .select_attrs("svg.nqp-chart[aria-labelledby]", "aria-labelledby")
            .into_iter()
            .map(|a| a.trim_end_matches("-title").to_owned())
            .collect();
        on_page.sort();
        let mut listed: Vec<&str> = DASHBOARD_FIGURES
            .iter()
            .filter(|f| f.page == page)
            .map(|f| f.id)
            .collect();
        listed.sort_unstable();
        assert_eq!(on_page, listed, "{page}");
        // And /publish links each of them.
    }
    let publish = app.get("/publish?lang=en").await;
    let svg_links = publish.select_attrs("#publish-figure-links a[data-format=svg]", "href");
    assert_eq!(svg_links.len(), DASHBOARD_FIGURES.len());
    for (link, f) in svg_links.iter().zip(DASHBOARD_FIGURES) {
        let res = app.get(link).await;
        assert_eq!(res.status, StatusCode::OK, "{link}");
        assert!(res.body.starts_with("<?xml"), "{link}: a standalone SVG");
        assert!(
            res.body
                .contains(&format!("aria-labelledby=\"{}-title\"", f.id))
        );
    }
}

/// The files `nqp export` printed, by name.
fn exported(args: &[&str]) -> Vec<std::path::PathBuf> {
    let run = nqp_ok(args);
    String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(std::path::PathBuf::from)
        .collect()
}

fn named<'a>(files: &'a [std::path::PathBuf], suffix: &str) -> Vec<&'a std::path::PathBuf> {
    files
        .iter()
        .filter(|f| f.file_name().unwrap().to_string_lossy().ends_with(suffix))
        .collect()
}

/// `nqp export --figures`: every dashboard figure as a standalone SVG and a 300-dpi PNG of the
/// requested width, named by page, chart, method and version; the map with the schematic note,
/// or with --basemap on the standard map with its inset and caption.
#[test]
fn export_writes_every_dashboard_figure_with_the_note_or_the_caption() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let png = has_cjk_font();
    let formats = if png { "svg,png" } else { "svg" };
    let files = exported(&bundled_args(
        "export",
        &[
            "--tables",
            "latex",
            "--figures",
            formats,
            "--width-cm",
            "4",
            "--lang",
            "en",
            "--out-dir",
            out,
        ],
    ));
    let svgs = named(&files, ".svg");
    assert_eq!(svgs.len(), DASHBOARD_FIGURES.len(), "{files:?}");
    let tex = named(&files, "-tables.tex");
    let version = tex[0].file_name().unwrap().to_string_lossy()["panel-".len()..][..12].to_owned();
    for f in DASHBOARD_FIGURES {
        let page = match f.page.trim_matches('/').replace('/', "-") {
            p if p.is_empty() => "rankings".to_owned(),
            p => p,
        };
        // `<dataset>-<version>-<method>-<page>-<chart>.svg`, like the tables' files.
        let prefix = format!(
            "panel-{version}-minmax-panel_entropy-panel_sum-{page}-{}",
            f.id
        );
        let svg = named(&files, &format!("{prefix}.svg"));
        assert_eq!(svg.len(), 1, "{prefix}: {files:?}");
        let text = std::fs::read_to_string(svg[0]).unwrap();
        assert!(text.starts_with("<?xml"), "{prefix}: standalone");
        assert!(text.contains("width=\"40mm\""), "{prefix}: 4 cm wide");
        assert!(
            !text.contains("href=\"/"),
            "{prefix}: no links into the dashboard"
        );
        let schematic = text.contains(&format!(">{SCHEMATIC_NOTE}</text>"));
        assert_eq!(
            schematic,
            f.id.ends_with("map"),
            "{prefix}: the note on maps only"
        );
        if png {
            let p = named(&files, &format!("{prefix}.png"));
            let bytes = std::fs::read(p[0]).unwrap();
            // 4 cm at 300 dpi = 472 px; 300 dpi = 11811 px per metre.
            assert_eq!(png_size(&bytes).0, 472, "{prefix}");
            assert_eq!(phys(&bytes), Some((11811, 11811, 1)), "{prefix}");
        }
    }

    let files = exported(&bundled_args(
        "export",
        &[
            "--tables",
            "latex",
            "--figures",
            "svg",
            "--gray",
            "--basemap",
            "tests/fixtures/basemap/squares.geojson",
            "--approval",
            APPROVAL,
            "--out-dir",
            out,
        ],
    ));
    assert_eq!(named(&files, ".svg").len(), 2 * DASHBOARD_FIGURES.len());
    for suffix in [
        "-rankings-map.svg",
        "-rankings-map-gray.svg",
        "-analysis-spatial-lisa-map.svg",
    ] {
        let maps = named(&files, suffix);
        assert_eq!(maps.len(), 1, "{suffix}");
        for map in maps {
            let text = std::fs::read_to_string(map).unwrap();
            assert!(text.contains(">审图号：GS(2024)0650号</text>"), "{map:?}");
            assert!(text.contains("class=\"inset-frame\""), "{map:?}");
            assert!(!text.contains(SCHEMATIC_NOTE), "{map:?}");
        }
    }
    // A bad base map is refused naming the feature, before anything is written.
    let bad = dir.path().join("bad.geojson");
    std::fs::write(
        &bad,
        with_feature(
            4,
            json!({"type":"Feature","properties":{"name":"火星省"},"geometry":{"type":"Polygon","coordinates":[[[110,30],[111,30],[111,31],[110,30]]]}}),
        ),
    )
    .unwrap();
    let empty = tempfile::tempdir().unwrap();
    nqp_exits_2(
        &bundled_args(
            "export",
            &[
                "--figures",
                "svg",
                "--basemap",
                bad.to_str().unwrap(),
                "--approval",
                APPROVAL,
                "--out-dir",
                empty.path().to_str().unwrap(),
            ],
        ),
        "feature 4 (name = \"火星省\") matches no province",
    );
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);

    // A method the pages cannot show is refused before the tables are written either.
    nqp_exits_2(
        &bundled_args(
            "export",
            &[
                "--tables",
                "latex",
                "--figures",
                "svg",
                "--shift",
                "0.01",
                "--out-dir",
                empty.path().to_str().unwrap(),
            ],
        ),
        "the dashboard's charts take --normalise, --weights and --aggregate only",
    );
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
}
