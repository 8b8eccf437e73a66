//! HTTP tests of every page, in-process through `build_router` (no sockets): status, key
//! content in both languages, helpful 404/400 pages, headers, escaping and the no-JS contract.

use axum::http::StatusCode;
use nqp::method::MethodSpec;
use nqp::service;

use crate::helpers::{TestApp, web_dataset};

const PAGES: [&str; 6] = [
    "/",
    "/regions/CN-BJ",
    "/compare?r=CN-BJ,CN-SH",
    "/indicators/talent",
    "/methodology",
    "/?measure=emission&year=2021",
];

#[tokio::test(flavor = "multi_thread")]
async fn every_page_renders_in_both_languages() {
    let app = TestApp::new();
    for page in PAGES {
        for (lang, html_lang, nav) in [("zh", "zh-CN", "方法说明"), ("en", "en", "Methodology")] {
            let sep = if page.contains('?') { '&' } else { '?' };
            let res = app.get(&format!("{page}{sep}lang={lang}")).await;
            assert_eq!(res.status, StatusCode::OK, "{page} {lang}: {}", res.body);
            assert_eq!(res.select_attrs("html", "lang"), vec![html_lang], "{page}");
            assert!(res.select_texts("nav a").contains(&nav.to_owned()), "{page} {lang}");
            assert!(res.count("main h1") == 1, "{page} has one h1");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_are_safe_without_javascript() {
    let app = TestApp::new();
    for page in PAGES {
        let res = app.get(page).await;
        let csp = res.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
        // Every script is external; no inline handlers or inline styles (the CSP forbids them).
        assert_eq!(res.count("script:not([src])"), 0, "{page}");
        assert!(!res.body.contains(" onclick=") && !res.body.contains(" onload="), "{page}");
        assert!(!res.body.contains(" style=\""), "{page} has an inline style");
        // Every SVG chart has an accessible title.
        let svgs = res.count("svg");
        assert!(svgs > 0 || page.starts_with("/methodology"), "{page} has charts");
        assert_eq!(res.count("svg > title"), svgs, "{page}: every svg has a <title>");
        // No external requests: every src/href is local.
        for attr in ["src", "href"] {
            for url in res.select_attrs(&format!("[{attr}]"), attr) {
                assert!(
                    url.starts_with('/') || url.starts_with('#') || url.starts_with('?'),
                    "{page}: external {attr} {url}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn language_defaults_from_accept_language_and_switch_keeps_parameters() {
    let app = TestApp::new();
    let en = app.get_with("/", &[("accept-language", "en-GB,en;q=0.9")]).await;
    assert_eq!(en.select_attrs("html", "lang"), vec!["en"]);
    let zh = app.get_with("/", &[("accept-language", "zh-CN,zh;q=0.9")]).await;
    assert_eq!(zh.select_attrs("html", "lang"), vec!["zh-CN"]);

    let res = app.get("/?lang=en&year=2021&measure=tools&sort=name&dir=asc").await;
    let switch = &res.select_attrs("a.lang-switch", "href")[0];
    for part in ["lang=zh", "year=2021", "measure=tools", "sort=name", "dir=asc"] {
        assert!(switch.contains(part), "{switch} keeps {part}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rankings_table_matches_the_computed_index() {
    let app = TestApp::new();
    let res = app.get("/?lang=en").await;
    assert_eq!(res.count("table#rankings tbody tr"), 31);
    // The latest year is shown by default, with 30 ranked regions (Tibet has no 2022 data).
    assert!(res.body.contains("2022"));
    let ranks = res.select_texts("table#rankings tbody tr td:first-child");
    assert_eq!(ranks[0], "1");
    assert_eq!(ranks.iter().filter(|r| r.as_str() == "—").count(), 1);

    // Independently: the service's scores for 2022, best first.
    let ds = web_dataset();
    let result = service::compute_index(&ds.panel, &ds.framework, &MethodSpec::default()).unwrap();
    let tables = service::dashboard::ResultTables::from_result(&result).unwrap();
    let mut best: Vec<_> = tables
        .scores
        .iter()
        .filter(|r| r.year == 2022 && r.score.is_some())
        .collect();
    best.sort_by(|a, b| b.score.partial_cmp(&a.score).unwrap());
    let first_region = res.select_attrs("table#rankings tbody tr", "data-region")[0].clone();
    assert_eq!(first_region, best[0].region);
    let score_cells = res.select_texts("table#rankings tbody tr:first-child td");
    assert!(score_cells.contains(&format!("{:.2}", best[0].score.unwrap())));
}

#[tokio::test(flavor = "multi_thread")]
async fn rankings_sort_on_the_server() {
    let app = TestApp::new();
    let res = app.get("/?lang=en&year=2021&sort=laborers&dir=desc").await;
    let cells = res.select_texts("table#rankings tbody tr td:nth-of-type(5)");
    let values: Vec<f64> = cells.iter().map(|c| c.parse().unwrap()).collect();
    assert_eq!(values.len(), 31);
    assert!(values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");
    assert_eq!(
        res.select_attrs("th[aria-sort]", "aria-sort"),
        vec!["descending"]
    );
    let asc = app.get("/?lang=en&year=2021&sort=name&dir=asc").await;
    let names = asc.select_texts("table#rankings tbody th a");
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_map_links_every_province_and_hatches_missing_data() {
    let app = TestApp::new();
    let res = app.get("/?lang=en&year=2022").await;
    let links = res.select_attrs("figure.map svg a", "href");
    assert_eq!(links.len(), 31, "31 province links");
    assert!(links.iter().all(|l| l.starts_with("/regions/CN-")));
    let titles = res.select_texts("figure.map svg a title");
    assert_eq!(titles.len(), 31);
    let tibet = titles.iter().find(|t| t.starts_with("Tibet")).expect("Tibet title");
    assert!(tibet.contains("No data"), "{tibet}");
    // Tibet's path is filled with the hatch pattern.
    let html = res.body;
    let tibet_link = html.find("/regions/CN-XZ").expect("Tibet link");
    let tail = &html[tibet_link..];
    let path_end = tail.find("</a>").unwrap();
    assert!(tail[..path_end].contains("url(#"), "Tibet is hatched");
}

#[tokio::test(flavor = "multi_thread")]
async fn region_profile_shows_dimensions_trends_strengths_and_peers() {
    let app = TestApp::new();
    let res = app.get("/regions/CN-GD?lang=en&year=2021").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.select_texts("h1")[0].starts_with("Guangdong"));
    assert_eq!(res.count("ol#strengths li"), 3);
    assert_eq!(res.count("ol#weaknesses li"), 3);
    assert_eq!(res.count("table#indicators tbody tr"), 6);
    assert!(res.count("ul#peers li") >= 1);
    assert!(res.count("svg") >= 3, "radar and two trend charts");
    let zh = app.get("/regions/CN-GD?lang=zh").await;
    assert!(zh.select_texts("h1")[0].starts_with("广东"));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_things_get_helpful_pages() {
    let app = TestApp::new();
    let cases = [
        ("/regions/CN-XX?lang=en", StatusCode::NOT_FOUND, "CN-XX"),
        ("/regions/CN-XX?lang=zh", StatusCode::NOT_FOUND, "找不到地区"),
        ("/?year=1999&lang=en", StatusCode::NOT_FOUND, "1999"),
        ("/?year=abc&lang=en", StatusCode::BAD_REQUEST, "abc"),
        ("/?measure=nope&lang=en", StatusCode::NOT_FOUND, "nope"),
        ("/indicators/nope?lang=en", StatusCode::NOT_FOUND, "nope"),
        ("/no/such/page?lang=en", StatusCode::NOT_FOUND, "/no/such/page"),
        ("/?weights=magic&lang=en", StatusCode::BAD_REQUEST, "weights"),
    ];
    for (uri, status, needle) in cases {
        let res = app.get(uri).await;
        assert_eq!(res.status, status, "{uri}");
        assert!(res.body.contains(needle), "{uri} mentions {needle}: {}", res.body);
        assert_eq!(res.count("main a[href]"), 1, "{uri} links back home");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn compare_needs_two_to_five_regions() {
    let app = TestApp::new();
    let two = app.get("/compare?r=CN-BJ,CN-SH&lang=en").await;
    assert_eq!(two.count("table#compare tbody tr"), 2);
    let form = app.get("/compare?r=CN-BJ&r=CN-GD&r=CN-SH&lang=en").await;
    assert_eq!(form.count("table#compare tbody tr"), 3);
    assert_eq!(form.count("input[type=checkbox][checked]"), 3);
    let one = app.get("/compare?r=CN-BJ&lang=en").await;
    assert_eq!(one.count("table#compare"), 0);
    assert!(one.body.contains("Please choose 2 to 5 regions."));
    let unknown = app.get("/compare?r=CN-BJ,CN-XX&lang=en").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn indicator_page_escapes_names_and_lists_every_region() {
    let app = TestApp::new();
    let res = app.get("/indicators/talent?lang=en").await;
    assert_eq!(res.status, StatusCode::OK);
    // The framework name contains markup; it must be shown as text, never as a tag.
    assert_eq!(res.count("h1 b"), 0);
    assert!(res.body.contains("Talent &lt;b&gt;density&lt;/b&gt;") || res.body.contains("Talent &#60;b&#62;"));
    assert_eq!(res.count("table#indicator-table tbody tr"), 31);
    let facts = res.select_texts("dl.facts dd");
    assert!(facts.contains(&"Benefit (higher is better)".to_owned()));
    let cost = app.get("/indicators/emission?lang=en").await;
    assert!(cost.select_texts("dl.facts dd").contains(&"Cost (lower is better)".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn methodology_lists_framework_weights_formulas_and_method_choices() {
    let app = TestApp::new();
    let res = app.get("/methodology?lang=en").await;
    assert_eq!(res.count("ul.tree a"), 6);
    let weights: Vec<f64> = res
        .select_texts("ul.tree li li li strong")
        .iter()
        .map(|w| w.parse().unwrap())
        .collect();
    assert_eq!(weights.len(), 6);
    assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-3, "{weights:?}");
    for needle in ["entropy-panel", "minmax-panel", "South China Sea", "pymcdm"] {
        assert!(res.body.contains(needle), "{needle}");
    }
    let equal = app.get("/methodology?lang=en&weights=equal").await;
    let weights: Vec<String> = equal.select_texts("ul.tree li li li strong");
    assert!(weights.iter().all(|w| w == "0.1667"), "{weights:?}");
    // The method choice is kept in every link.
    assert!(equal.select_attrs("header.site nav a", "href").iter().all(|h| h.contains("weights=equal")));
}

#[tokio::test(flavor = "multi_thread")]
async fn repeat_views_get_304_from_the_etag() {
    let app = TestApp::new();
    let first = app.get("/?lang=en").await;
    let tag = first.headers["etag"].to_str().unwrap().to_owned();
    let again = app.get_with("/?lang=en", &[("if-none-match", &tag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    let other = app.get_with("/?lang=zh", &[("if-none-match", &tag)]).await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn static_assets_and_health_are_served() {
    let app = TestApp::new();
    let css = app.get("/static/style.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers["content-type"].to_str().unwrap().starts_with("text/css"));
    let js = app.get("/static/app.js").await;
    assert!(js.body.contains("data-sortable"));
    assert_eq!(app.get("/healthz").await.body, "ok");
}
