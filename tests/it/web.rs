//! HTTP tests of every page, in-process through `build_router` (no sockets): status, key
//! content in both languages, helpful 404/400 pages, headers, escaping and the no-JS contract.

use axum::http::StatusCode;
use nqp::method::MethodSpec;
use nqp::service;

use crate::helpers::{TestApp, web_dataset};

const PAGES: [&str; 10] = [
    "/",
    "/analysis/disparities",
    "/analysis/dynamics?measure=laborers",
    "/analysis/spatial?year=2021",
    "/regions/CN-BJ",
    "/compare?r=CN-BJ,CN-SH",
    "/indicators/talent",
    "/methodology",
    "/?measure=emission&year=2021",
    "/publish?year=2021",
];

#[tokio::test(flavor = "multi_thread")]
async fn every_page_renders_in_both_languages() {
    let app = TestApp::new();
    for page in PAGES {
        for (lang, html_lang, nav) in [("zh", "zh-CN", "方法说明"), ("en", "en", "Methodology")]
        {
            let sep = if page.contains('?') { '&' } else { '?' };
            let res = app.get(&format!("{page}{sep}lang={lang}")).await;
            assert_eq!(res.status, StatusCode::OK, "{page} {lang}: {}", res.body);
            assert_eq!(res.select_attrs("html", "lang"), vec![html_lang], "{page}");
            assert!(
                res.select_texts("nav a").contains(&nav.to_owned()),
                "{page} {lang}"
            );
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
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        // Every script is external; no inline handlers or inline styles (the CSP forbids them).
        assert_eq!(res.count("script:not([src])"), 0, "{page}");
        assert!(
            !res.body.contains(" onclick=") && !res.body.contains(" onload="),
            "{page}"
        );
        assert!(
            !res.body.contains(" style=\""),
            "{page} has an inline style"
        );
        // Every SVG chart has an accessible title.
        let svgs = res.count("svg");
        assert!(
            svgs > 0 || page.starts_with("/methodology") || page.starts_with("/publish"),
            "{page} has charts"
        );
        assert_eq!(
            res.count("svg > title"),
            svgs,
            "{page}: every svg has a <title>"
        );
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
    let en = app
        .get_with("/", &[("accept-language", "en-GB,en;q=0.9")])
        .await;
    assert_eq!(en.select_attrs("html", "lang"), vec!["en"]);
    let zh = app
        .get_with("/", &[("accept-language", "zh-CN,zh;q=0.9")])
        .await;
    assert_eq!(zh.select_attrs("html", "lang"), vec!["zh-CN"]);

    let res = app
        .get("/?lang=en&year=2021&measure=tools&sort=name&dir=asc")
        .await;
    let switch = &res.select_attrs("a.lang-switch", "href")[0];
    for part in [
        "lang=zh",
        "year=2021",
        "measure=tools",
        "sort=name",
        "dir=asc",
    ] {
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
        .filter(|r| r.year == 2022 && r.scores.score.is_some())
        .collect();
    best.sort_by(|a, b| b.scores.score.partial_cmp(&a.scores.score).unwrap());
    let first_region = res.select_attrs("table#rankings tbody tr", "data-region")[0].clone();
    assert_eq!(first_region, best[0].region);
    let score_cells = res.select_texts("table#rankings tbody tr:first-child td");
    assert!(score_cells.contains(&format!("{:.2}", best[0].scores.score.unwrap())));
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
    let tibet = titles
        .iter()
        .find(|t| t.starts_with("Tibet"))
        .expect("Tibet title");
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
        (
            "/regions/CN-XX?lang=zh",
            StatusCode::NOT_FOUND,
            "找不到地区",
        ),
        ("/?year=1999&lang=en", StatusCode::NOT_FOUND, "1999"),
        ("/?year=abc&lang=en", StatusCode::BAD_REQUEST, "abc"),
        ("/?measure=nope&lang=en", StatusCode::BAD_REQUEST, "nope"),
        ("/indicators/nope?lang=en", StatusCode::NOT_FOUND, "nope"),
        (
            "/no/such/page?lang=en",
            StatusCode::NOT_FOUND,
            "/no/such/page",
        ),
        (
            "/?weights=magic&lang=en",
            StatusCode::BAD_REQUEST,
            "weights",
        ),
    ];
    for (uri, status, needle) in cases {
        let res = app.get(uri).await;
        assert_eq!(res.status, status, "{uri}");
        assert!(
            res.body.contains(needle),
            "{uri} mentions {needle}: {}",
            res.body
        );
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
    assert!(
        res.body.contains("Talent &lt;b&gt;density&lt;/b&gt;")
            || res.body.contains("Talent &#60;b&#62;")
    );
    assert_eq!(res.count("table#indicator-table tbody tr"), 31);
    // The framework's description is the definition, escaped, in the reader's language.
    assert_eq!(
        res.select_texts("#definition"),
        vec!["Definition: Synthetic talent per 10 000 <i>people</i>"]
    );
    let zh = app.get("/indicators/talent?lang=zh").await;
    assert_eq!(
        zh.select_texts("#definition"),
        vec!["定义: 每万人人才数（合成数据）"]
    );
    let facts = res.select_texts("dl.facts dd");
    assert!(facts.contains(&"Benefit (higher is better)".to_owned()));
    let cost = app.get("/indicators/emission?lang=en").await;
    assert!(
        cost.select_texts("dl.facts dd")
            .contains(&"Cost (lower is better)".to_owned())
    );
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
    assert!(
        (weights.iter().sum::<f64>() - 1.0).abs() < 1e-3,
        "{weights:?}"
    );
    for needle in ["entropy-panel", "minmax-panel", "South China Sea", "pymcdm"] {
        assert!(res.body.contains(needle), "{needle}");
    }
    let equal = app.get("/methodology?lang=en&weights=equal").await;
    let weights: Vec<String> = equal.select_texts("ul.tree li li li strong");
    assert!(weights.iter().all(|w| w == "0.1667"), "{weights:?}");
    // The method choice is kept in every link.
    assert!(
        equal
            .select_attrs("header.site nav a", "href")
            .iter()
            .all(|h| h.contains("weights=equal"))
    );
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
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let js = app.get("/static/app.js").await;
    assert!(js.body.contains("data-sortable"));
    assert_eq!(app.get("/healthz").await.body, "ok");
}

/// The dependency arrow of `docs/architecture.md`: the pipeline and the pure chart renderers
/// never reach up into the web layer, and `chart` never into the service.
#[test]
fn layers_point_one_way() {
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rules: [(&str, &[&str]); 6] = [
        (
            "chart",
            &[
                "crate::web",
                "crate::service",
                "crate::cli",
                "axum",
                "askama",
            ],
        ),
        ("service", &["crate::web", "crate::cli", "axum::"]),
        (
            "analysis",
            &["crate::web", "crate::service", "crate::chart"],
        ),
        ("method", &["crate::web", "crate::service", "crate::chart"]),
        (
            "framework",
            &["crate::web", "crate::service", "crate::chart"],
        ),
        ("ingest", &["crate::web", "crate::service", "crate::chart"]),
    ];
    let mut offences = Vec::new();
    for (module, forbidden) in rules {
        let mut files = Vec::new();
        sources(&src.join(module), &mut files);
        assert!(!files.is_empty(), "src/{module} has no sources");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read source");
            for (line_no, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                for f in forbidden {
                    if code.contains(f) {
                        offences.push(format!("{}:{}: {f}", file.display(), line_no + 1));
                    }
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "layer violations:\n{}",
        offences.join("\n")
    );
}

mod charts {
    //! The SVG renderers through the public API (`nqp::chart`), parsed as a browser would
    //! (html5ever via `scraper`); `every_chart_renders_a_visual_sample` also writes
    //! `target/screenshots/*.svg` for a look in a browser.

    use std::collections::BTreeSet;
    use std::path::Path;

    use nqp::analysis::dynamics::{KERNEL_POINTS, kernel_density};
    use nqp::chart::bar::{self, BarDatum, BarSpec};
    use nqp::chart::density::{self, DensityCurve, DensitySpec};
    use nqp::chart::heat::{self, HeatSpec};
    use nqp::chart::line::{self, LineSpec, Series};
    use nqp::chart::map::RegionKind;
    use nqp::chart::radar::{self, RadarSpec};
    use nqp::chart::scatter::{self, MoranPoint, MoranSpec};
    use nqp::chart::stacked::{self, StackedSpec};
    use nqp::chart::{
        Bins, ChartHead, ChinaMap, ChoroplethSpec, MapValue, NamedValues, escape_xml,
    };
    use nqp::types::Lang;
    use scraper::{Html, Selector};

    /// The 31 provincial-level codes (ISO 3166-2:CN), the region codes used everywhere.
    const PROVINCES: [&str; 31] = [
        "CN-AH", "CN-BJ", "CN-CQ", "CN-FJ", "CN-GD", "CN-GS", "CN-GX", "CN-GZ", "CN-HA", "CN-HB",
        "CN-HE", "CN-HI", "CN-HL", "CN-HN", "CN-JL", "CN-JS", "CN-JX", "CN-LN", "CN-NM", "CN-NX",
        "CN-QH", "CN-SC", "CN-SD", "CN-SH", "CN-SN", "CN-SX", "CN-TJ", "CN-XJ", "CN-XZ", "CN-YN",
        "CN-ZJ",
    ];

    fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
        doc.select(&Selector::parse(css).unwrap()).collect()
    }

    /// The SVG parsed as HTML; every start tag of the text must have become an element (a
    /// broken tag or attribute would merge or drop elements) and nothing may be a script.
    fn parse(svg: &str) -> Html {
        let doc = Html::parse_fragment(svg);
        let tags = svg.matches('<').count() - svg.matches("</").count();
        assert_eq!(
            select(&doc, "svg, svg *").len(),
            tags,
            "element count differs: malformed SVG"
        );
        assert!(select(&doc, "script, style, [style], [onload], [onclick]").is_empty());
        let root = select(&doc, "svg")[0];
        assert!(["img", "group"].contains(&root.attr("role").unwrap()));
        let title_id = root.attr("aria-labelledby").unwrap();
        assert_eq!(select(&doc, &format!("svg > title#{title_id}")).len(), 1);
        assert_eq!(select(&doc, "svg > desc").len(), 1);
        doc
    }

    fn sample_map_values() -> Vec<MapValue> {
        PROVINCES
            .iter()
            .enumerate()
            .map(|(i, code)| MapValue {
                code: (*code).to_owned(),
                name: if *code == "CN-SH" {
                    "<script>alert(1)</script> & 上海".into()
                } else {
                    (*code).to_owned()
                },
                value: (*code != "CN-XZ").then(|| i as f64 / 30.0),
                rank: (*code != "CN-XZ").then_some(i as u32 + 1),
                display: format!("{:.3}", i as f64 / 30.0),
            })
            .collect()
    }

    fn render_map(values: &[MapValue], bins: &Bins, lang: Lang) -> String {
        let href = |code: &str| Some(format!("/regions/{code}?lang=en&year=2022"));
        ChinaMap::bundled().render(&ChoroplethSpec {
            head: ChartHead {
                id: "map",
                title: "NQP index 2022",
                desc: "Choropleth of the 31 provinces",
                no_data_label: "No data",
            },
            values,
            bins,
            href: &href,
            lang,
            legend_title: "Score",
            highlight: Some("CN-GD"),
        })
    }

    #[test]
    fn bundled_map_codes_are_the_iso_province_codes() {
        let map = ChinaMap::bundled();
        let provinces: BTreeSet<&str> = map
            .regions()
            .iter()
            .filter(|r| r.kind == RegionKind::Province)
            .map(|r| r.code.as_str())
            .collect();
        assert_eq!(provinces, PROVINCES.into_iter().collect());
        assert_eq!(map.region("CN-HE").unwrap().name_zh, "河北");
        assert_eq!(map.region("CN-HB").unwrap().name_zh, "湖北");
        assert_eq!(map.region("CN-HI").unwrap().name_zh, "海南");
        assert_eq!(map.region("CN-HK").unwrap().name_en, "Hong Kong");
        assert_eq!(map.region("CN-TW").unwrap().kind, RegionKind::NoData);
    }

    #[test]
    fn bundled_map_renders_31_linked_provinces_and_3_no_data_regions() {
        let values = sample_map_values();
        let all: Vec<f64> = values.iter().filter_map(|v| v.value).collect();
        let bins = Bins::quantiles(&all, 5).unwrap();
        let svg = render_map(&values, &bins, Lang::En);
        let doc = parse(&svg);
        let links = select(&doc, "a[href]");
        assert_eq!(links.len(), 31);
        for a in &links {
            assert_eq!(
                a.children()
                    .filter_map(scraper::ElementRef::wrap)
                    .next()
                    .unwrap()
                    .value()
                    .name(),
                "title"
            );
            assert!(a.attr("href").unwrap().ends_with("?lang=en&year=2022"));
        }
        let no_data: BTreeSet<&str> = select(&doc, "g.region.no-data")
            .iter()
            .filter_map(|g| g.attr("data-code"))
            .collect();
        assert_eq!(no_data, ["CN-HK", "CN-MO", "CN-TW"].into_iter().collect());
        let tibet: String = select(&doc, "a[data-code=CN-XZ] > title")[0]
            .text()
            .collect();
        assert_eq!(tibet, "CN-XZ: No data");
        assert_eq!(
            select(&doc, "a[data-code=CN-XZ] > path")[0].attr("fill"),
            Some("url(#map-nodata)")
        );
        assert_eq!(select(&doc, "pattern#map-nodata").len(), 1);
        // Escaped name shows as text, never as markup.
        let sh: String = select(&doc, "a[data-code=CN-SH] > title")[0]
            .text()
            .collect();
        assert_eq!(sh, "<script>alert(1)</script> & 上海: 0.767 (rank 24)");
        // Legend: 5 classes + no data; the selected region is drawn last with a heavy outline.
        assert_eq!(select(&doc, "g.legend rect").len(), 6);
        assert_eq!(
            select(&doc, "a.selected").last().unwrap().attr("data-code"),
            Some("CN-GD")
        );
        // Chinese tooltips use full-width punctuation.
        let zh = render_map(&values, &bins, Lang::Zh);
        assert!(zh.contains("<title>CN-GD：0.133（第 5 名）</title>"));
    }

    #[test]
    fn escape_xml_is_public_and_total() {
        assert_eq!(
            escape_xml("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn every_chart_renders_a_visual_sample() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let mut written = Vec::new();
        let mut save = |name: &str, svg: String| -> Html {
            std::fs::write(dir.join(format!("{name}.svg")), &svg).unwrap();
            written.push(name.to_owned());
            parse(&svg)
        };

        let values = sample_map_values();
        let all: Vec<f64> = values.iter().filter_map(|v| v.value).collect();
        let bins = Bins::quantiles(&all, 5).unwrap();
        let doc = save("map", render_map(&values, &bins, Lang::Zh));
        assert_eq!(select(&doc, "a[href] > path").len(), 31);

        let names = ["广东", "北京", "<b>上海</b>", "江苏", "西藏"];
        let bars: Vec<BarDatum> = names
            .iter()
            .enumerate()
            .map(|(i, n)| BarDatum {
                label: (*n).to_owned(),
                value: (i != 4).then_some(0.9 - 0.15 * i as f64),
                display: format!("{:.2}", 0.9 - 0.15 * i as f64),
                href: Some(format!("/regions/{i}")),
                highlight: i == 0,
            })
            .collect();
        let doc = save(
            "bar",
            bar::render(&BarSpec {
                head: ChartHead {
                    id: "bar",
                    title: "排名",
                    desc: "各省得分",
                    no_data_label: "无数据",
                },
                data: &bars,
                width: 480.0,
                value_label: "得分",
            }),
        );
        assert_eq!(select(&doc, "rect.bar").len(), 4);

        let series: Vec<Series> = (0..3)
            .map(|k| Series {
                name: format!("Region {k}"),
                points: (2012..=2023)
                    .map(|y| {
                        (
                            y,
                            (k != 1 || y != 2016)
                                .then(|| 0.2 + 0.01 * f64::from((y - 2012) * (k + 1))),
                        )
                    })
                    .collect(),
                emphasis: k == 0,
            })
            .collect();
        let doc = save(
            "line",
            line::render(&LineSpec {
                head: ChartHead {
                    id: "line",
                    title: "Score trend",
                    desc: "Scores 2012–2023",
                    no_data_label: "No data",
                },
                series: &series,
                size: (600.0, 300.0),
                y_label: "Score",
                invert_y: false,
                integer_y: false,
                y_domain: None,
                decimals: 3,
            }),
        );
        assert_eq!(select(&doc, "circle.point").len(), 35);

        let ranks: Vec<Series> = (0..2)
            .map(|k| Series {
                name: format!("Region {k}"),
                points: (2012..=2023)
                    .map(|y| (y, Some(f64::from((y * 7 + k * 5) % 31 + 1))))
                    .collect(),
                emphasis: false,
            })
            .collect();
        let doc = save(
            "rank",
            line::render(&LineSpec {
                head: ChartHead {
                    id: "rank",
                    title: "Rank trend",
                    desc: "Ranks 2012–2023",
                    no_data_label: "No data",
                },
                series: &ranks,
                size: (600.0, 300.0),
                y_label: "Rank",
                invert_y: true,
                integer_y: true,
                y_domain: Some((1.0, 31.0)),
                decimals: 0,
            }),
        );
        assert_eq!(select(&doc, "circle.point").len(), 24);

        let axes = vec![
            "劳动者".to_owned(),
            "劳动资料".to_owned(),
            "劳动对象".to_owned(),
        ];
        let radar_series = vec![
            NamedValues {
                name: "广东".into(),
                values: vec![Some(0.7), Some(0.55), Some(0.8)],
            },
            NamedValues {
                name: "全国平均".into(),
                values: vec![Some(0.4), Some(0.42), Some(0.38)],
            },
        ];
        let doc = save(
            "radar",
            radar::render(&RadarSpec {
                head: ChartHead {
                    id: "radar",
                    title: "三个维度",
                    desc: "广东与全国平均",
                    no_data_label: "无数据",
                },
                axes: &axes,
                series: &radar_series,
                max: Some(1.0),
                size: 360.0,
                decimals: 3,
            }),
        );
        assert_eq!(select(&doc, "polygon.area").len(), 2);

        let dens: Vec<DensityCurve> = [2012, 2017, 2023]
            .iter()
            .enumerate()
            .map(|(k, y)| {
                let values: Vec<f64> = (0..31)
                    .map(|i| {
                        0.1 + 0.015 * f64::from(i) * (1.0 + 0.4 * k as f64)
                            + 0.05 * f64::from(i % 3)
                    })
                    .collect();
                let kd = kernel_density(&values, KERNEL_POINTS).unwrap();
                DensityCurve {
                    name: y.to_string(),
                    x: kd.x,
                    density: kd.density,
                }
            })
            .collect();
        let doc = save(
            "density",
            density::render(&DensitySpec {
                head: ChartHead {
                    id: "density",
                    title: "Distribution",
                    desc: "Kernel density by year",
                    no_data_label: "No data",
                },
                curves: &dens,
                size: (600.0, 280.0),
                x_label: "Score",
                y_label: "Density",
            }),
        );
        assert_eq!(select(&doc, "path.curve").len(), 3);

        let points: Vec<MoranPoint> = (0..31)
            .map(|i| {
                let z = (f64::from(i) - 15.0) / 7.0;
                MoranPoint {
                    code: PROVINCES[i as usize].to_owned(),
                    label: PROVINCES[i as usize].to_owned(),
                    z,
                    lag: 0.4 * z + f64::from((i * 37) % 11) / 11.0 - 0.5,
                    href: Some(format!("/regions/{}", PROVINCES[i as usize])),
                }
            })
            .collect();
        let doc = save(
            "scatter",
            scatter::render(&MoranSpec {
                head: ChartHead {
                    id: "moran",
                    title: "Moran scatter",
                    desc: "z against spatial lag",
                    no_data_label: "No data",
                },
                points: &points,
                moran_i: Some(0.42),
                x_label: "z",
                y_label: "Wz",
                quadrant_labels: ["HH", "LH", "LL", "HL"],
                size: 420.0,
            }),
        );
        assert_eq!(select(&doc, "a[href] circle.point").len(), 31);

        let years: Vec<String> = (2012..=2023).map(|y| y.to_string()).collect();
        let layers = vec![
            NamedValues {
                name: "Within".into(),
                values: (0..12).map(|i| Some(0.05 + 0.002 * f64::from(i))).collect(),
            },
            NamedValues {
                name: "Between".into(),
                values: (0..12).map(|i| Some(0.12 - 0.003 * f64::from(i))).collect(),
            },
            NamedValues {
                name: "Transvariation".into(),
                values: (0..12).map(|i| (i != 3).then_some(0.03)).collect(),
            },
        ];
        let doc = save(
            "stacked",
            stacked::render(&StackedSpec {
                head: ChartHead {
                    id: "dagum",
                    title: "Dagum Gini decomposition",
                    desc: "Contributions by year",
                    no_data_label: "No data",
                },
                categories: &years,
                layers: &layers,
                size: (600.0, 280.0),
                y_label: "Contribution",
                decimals: 3,
            }),
        );
        assert_eq!(select(&doc, "rect.segment").len(), 35);

        let classes: Vec<String> = ["I", "II", "III", "IV"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let matrix: Vec<Vec<Option<f64>>> = (0..4)
            .map(|r: i32| {
                (0..4)
                    .map(|c: i32| {
                        Some(if r == c {
                            0.85
                        } else if (r - c).abs() == 1 {
                            0.1
                        } else {
                            0.025
                        })
                    })
                    .collect()
            })
            .collect();
        let doc = save(
            "heat",
            heat::render(&HeatSpec {
                head: ChartHead {
                    id: "markov",
                    title: "Markov transitions",
                    desc: "Probability of moving between classes",
                    no_data_label: "–",
                },
                row_labels: &classes,
                col_labels: &classes,
                values: &matrix,
                corner_label: "t \\ t+1",
                decimals: 3,
                domain: None,
            }),
        );
        assert_eq!(select(&doc, "rect.cell").len(), 16);
        assert_eq!(written.len(), 9);
    }
}

/// The analysis pages (`/analysis/{disparities,dynamics,spatial}`), their downloads and the
/// diagnosis on the region profile, checked against the service's own results. The fixture is
/// the 31 provinces × 2020–2022, so the NBS groups and the bundled contiguity apply.
mod analysis_pages {
    use axum::http::StatusCode;
    use nqp::analysis::report::AnalysisResults;
    use nqp::method::MethodSpec;
    use nqp::service;
    use nqp::service::analysis::AnalysisView;
    use nqp::types::Lang;

    use crate::helpers::{TestApp, web_dataset};

    const YEARS: [i32; 3] = [2020, 2021, 2022];

    fn view() -> AnalysisView {
        let ds = web_dataset();
        let tables = service::compute_tables(&ds, &MethodSpec::default()).unwrap();
        service::analysis::analysis_view(&ds, &tables).unwrap()
    }

    fn num(cell: &str) -> f64 {
        cell.parse()
            .unwrap_or_else(|_| panic!("'{cell}' is not a number"))
    }

    fn results() -> AnalysisResults {
        view().results
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn every_analysis_page_renders_in_both_languages() {
        let app = TestApp::new();
        for page in ["disparities", "dynamics", "spatial"] {
            for (lang, nav) in [("zh", "分析"), ("en", "Analysis")] {
                let res = app.get(&format!("/analysis/{page}?lang={lang}")).await;
                assert_eq!(res.status, StatusCode::OK, "{page} {lang}: {}", res.body);
                assert_eq!(
                    res.select_texts("nav a[aria-current=page]")[0],
                    nav,
                    "{page} {lang}: the Analysis entry is current"
                );
                assert_eq!(res.count("main h1"), 1);
                // Every download link of the page is listed as CSV and JSON.
                assert!(res.count("#downloads a[data-format=csv]") >= 2, "{page}");
            }
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn disparities_tables_match_the_service() {
        let app = TestApp::new();
        let r = results();
        let res = app.get("/analysis/disparities?lang=en&measure=tools").await;
        assert_eq!(res.status, StatusCode::OK);
        let rows = res.select_texts("table#dagum tbody tr th");
        assert_eq!(rows, vec!["2020", "2021", "2022"]);
        for (i, year) in YEARS.iter().enumerate() {
            let want = r
                .dagum
                .iter()
                .find(|d| d.measure == "tools" && d.year == *year)
                .unwrap();
            let cells = res.select_texts(&format!("table#dagum tbody tr:nth-child({}) td", i + 1));
            let expect: Vec<String> = [want.total, want.within, want.between, want.transvariation]
                .iter()
                .map(|v| format!("{v:.4}"))
                .collect();
            assert_eq!(cells, expect, "{year}");
            // The three parts add up to the total (to display precision).
            let parts: f64 = cells[1..].iter().map(|c| num(c)).sum();
            assert!(
                (parts - num(&cells[0])).abs() <= 1.5e-4,
                "{year}: {cells:?}"
            );
            assert!(want.total > 0.0 && want.between > 0.0);
        }
        // Theil and σ: one row per year with the service's values.
        assert_eq!(res.count("table#theil tbody tr"), 3);
        assert_eq!(res.count("table#sigma tbody tr"), 3);
        let cv = r
            .sigma
            .iter()
            .find(|s| s.measure == "tools" && s.year == 2021)
            .unwrap()
            .cv;
        assert_eq!(
            res.select_texts("table#sigma tbody tr:nth-child(2) td"),
            vec![format!("{cv:.4}")]
        );
        let theil = r
            .theil
            .iter()
            .find(|t| t.measure == "tools" && t.year == 2020)
            .unwrap();
        assert_eq!(
            res.select_texts("table#theil tbody tr:first-child td")[0],
            format!("{:.4}", theil.total)
        );
        // The group Gini matrix of the latest year: 4 NBS groups, the diagonal is the groups' own
        // Gini.
        assert_eq!(res.count("table#group-gini tbody tr"), 4);
        let names = res.select_texts("table#group-gini thead th");
        let east = names.iter().position(|n| n == "East").unwrap();
        let own = r
            .dagum_groups
            .iter()
            .find(|g| {
                g.measure == "tools" && g.year == 2022 && g.group_a == "East" && g.group_b == "East"
            })
            .unwrap()
            .gini;
        let diagonal = res.select_texts(&format!(
            "table#group-gini tbody tr:nth-child({east}) td:nth-of-type({east})"
        ));
        assert_eq!(diagonal, vec![format!("{own:.4}")]);
        // The notes name the four groups the decomposition used.
        let groups_note = &res.select_texts("#notices li")[0];
        for g in ["East", "Central", "West", "Northeast"] {
            assert!(groups_note.contains(g), "{groups_note}");
        }
        // The stacked chart has one bar segment per year and part.
        assert_eq!(res.count("svg rect.segment"), 9);
        // A chosen year changes the group table's heading; a year without results is a 404.
        let y2020 = app
            .get("/analysis/disparities?lang=en&measure=tools&year=2020")
            .await;
        assert!(y2020.select_texts("h2#groups-title")[0].contains("2020"));
        let missing = app.get("/analysis/disparities?lang=en&year=1999").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn dynamics_tables_match_the_service() {
        let app = TestApp::new();
        let r = results();
        let res = app.get("/analysis/dynamics?lang=zh").await;
        assert_eq!(res.status, StatusCode::OK);
        // Markov: 4 × 4 cells "p (count)" as the service computed them.
        assert_eq!(res.count("table#markov tbody tr"), 4);
        let cells = res.select_texts("table#markov tbody td");
        assert_eq!(cells.len(), 16);
        for m in r.markov.iter().filter(|m| m.measure == "score") {
            let i = usize::from(m.from_class - 1) * 4 + usize::from(m.to_class - 1);
            let p = m.probability.map_or("—".to_owned(), |p| format!("{p:.3}"));
            assert_eq!(cells[i], format!("{p} ({})", m.count));
        }
        let transitions: u64 = r
            .markov
            .iter()
            .filter(|m| m.measure == "score")
            .map(|m| m.count)
            .sum();
        // 31 regions × 2 year pairs, minus Tibet's missing 2022.
        assert_eq!(transitions, 61);
        // β-convergence: all regions + 4 groups, values as in the service.
        let beta: Vec<_> = r.beta.iter().filter(|b| b.measure == "score").collect();
        assert_eq!(beta.len(), 5);
        assert_eq!(res.count("table#beta tbody tr"), 5);
        let first = res.select_texts("table#beta tbody tr:first-child td");
        assert_eq!(first[1], format!("{:.4}", beta[0].fit.beta.unwrap()));
        assert_eq!(first[5], beta[0].fit.n.to_string());
        assert_eq!(
            res.select_texts("table#beta tbody tr:first-child th"),
            vec!["全部地区"]
        );
        // The heat table and one density curve per year.
        assert_eq!(res.count("svg rect.cell"), 16);
        assert_eq!(res.count("svg path.curve"), 3);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn spatial_tables_map_and_scatter_match_the_service() {
        let app = TestApp::new();
        let r = results();
        let res = app.get("/analysis/spatial?lang=en&measure=score").await;
        assert_eq!(res.status, StatusCode::OK);
        let moran: Vec<_> = r
            .moran
            .as_ref()
            .unwrap()
            .iter()
            .filter(|m| m.measure == "score")
            .collect();
        assert_eq!(moran.len(), 3);
        assert_eq!(res.count("table#moran tbody tr"), 3);
        for (i, m) in moran.iter().enumerate() {
            let cells = res.select_texts(&format!("table#moran tbody tr:nth-child({}) td", i + 1));
            assert_eq!(cells[0], format!("{:.4}", m.i));
            // E[I] = −1/(n − 1); Tibet has no 2022 score, so n is 30 then.
            let n = if m.year == 2022 { 30.0 } else { 31.0 };
            assert_eq!(cells[1], format!("{:.4}", -1.0 / (n - 1.0)));
            assert_eq!(cells[4], format!("{:.3}", m.p_perm.unwrap()));
        }
        // LISA of the latest year: one row per region with a value (Tibet has none in 2022).
        let lisa: Vec<_> = r
            .lisa
            .as_ref()
            .unwrap()
            .iter()
            .filter(|l| l.measure == "score" && l.year == 2022)
            .collect();
        assert_eq!(lisa.len(), 30);
        assert_eq!(res.count("table#lisa tbody tr"), 30);
        let significant = lisa
            .iter()
            .filter(|l| l.p_perm.is_some_and(|p| p < 0.05))
            .count();
        assert_eq!(res.count("table#lisa tbody td strong"), significant);
        // The map colours exactly the significant regions by quadrant; the rest are grey.
        let map_fills =
            res.select_attrs("svg[aria-labelledby='lisa-map-title'] .region path", "fill");
        let grey = map_fills.iter().filter(|f| *f == "#e0e0e0").count();
        assert_eq!(grey, 30 - significant);
        // The scatter links every point to its region's profile.
        let points = res.select_attrs("svg[aria-labelledby='moran-scatter-title'] a", "href");
        assert_eq!(points.len(), 30);
        assert!(
            points.iter().all(|h| h.starts_with("/regions/CN-")),
            "{points:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn moran_points_lag_is_the_neighbour_mean_of_z() {
        let ds = web_dataset();
        let tables = service::compute_tables(&ds, &MethodSpec::default()).unwrap();
        let v = service::analysis::analysis_view(&ds, &tables).unwrap();
        let points = service::analysis::moran_points(&v, &tables, "score", 2021);
        assert_eq!(points.len(), 31);
        let z_mean: f64 = points.iter().map(|p| p.z).sum::<f64>() / 31.0;
        assert!(z_mean.abs() < 1e-12);
        // Hainan's only neighbour is Guangdong (data/geo/README.md).
        let z_of = |code: &str| points.iter().find(|p| p.region == code).unwrap().z;
        let hainan = points.iter().find(|p| p.region == "CN-HI").unwrap();
        assert!((hainan.lag - z_of("CN-GD")).abs() < 1e-12);
        // The slope through the origin of lag on z, Σ z·lag / Σ z², is Moran's I.
        let slope = points.iter().map(|p| p.z * p.lag).sum::<f64>()
            / points.iter().map(|p| p.z * p.z).sum::<f64>();
        let i = v
            .results
            .moran
            .as_ref()
            .unwrap()
            .iter()
            .find(|m| m.measure == "score" && m.year == 2021)
            .unwrap()
            .i;
        assert!((slope - i).abs() < 1e-9, "{slope} vs {i}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn region_profile_shows_obstacles_and_coupling() {
        let app = TestApp::new();
        let v = view();
        for (lang, l) in [("zh", Lang::Zh), ("en", Lang::En)] {
            let res = app
                .get(&format!("/regions/CN-GD?lang={lang}&year=2021"))
                .await;
            assert_eq!(res.status, StatusCode::OK);
            let pcts: Vec<f64> = res
                .select_texts("table#obstacles tbody td.num")
                .iter()
                .map(|c| num(c))
                .collect();
            assert_eq!(pcts.len(), 5);
            assert!(pcts.windows(2).all(|w| w[0] >= w[1]), "{pcts:?}");
            assert!(pcts.iter().sum::<f64>() <= 100.0 + 0.03, "{pcts:?}");
            let top = v
                .obstacles
                .as_ref()
                .unwrap()
                .top
                .iter()
                .find(|(rank, o)| *rank == 1 && o.region == "CN-GD" && o.year == 2021)
                .unwrap();
            assert_eq!(pcts[0], num(&format!("{:.2}", top.1.obstacle_pct)));
            // Obstacle shares of the three dimensions add up to 100 %.
            let dims: Vec<f64> = res
                .select_texts("table#dim-obstacles td")
                .iter()
                .map(|c| num(c))
                .collect();
            assert_eq!(dims.len(), 3);
            assert!((dims.iter().sum::<f64>() - 100.0).abs() < 0.02, "{dims:?}");
            let c = v
                .results
                .coupling
                .iter()
                .flatten()
                .find(|c| c.region == "CN-GD" && c.year == 2021)
                .unwrap();
            assert_eq!(res.select_texts("#coupling-d"), vec![format!("{:.4}", c.d)]);
            assert_eq!(
                res.select_texts("#coupling-class"),
                vec![format!("{} · {}", c.class.level(), c.class.label(l))]
            );
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn downloads_parse_and_match_the_service() {
        let app = TestApp::new();
        let r = results();
        let csv = app
            .get("/analysis/disparities.csv?table=dagum&measure=objects")
            .await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(
            csv.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        assert!(
            csv.headers["content-disposition"]
                .to_str()
                .unwrap()
                .contains("dagum-objects.csv")
        );
        let lines: Vec<&str> = csv.body.lines().collect();
        assert_eq!(lines[0], "year,measure,total,within,between,transvariation");
        assert_eq!(lines.len(), 4);
        for (line, want) in lines[1..]
            .iter()
            .zip(r.dagum.iter().filter(|d| d.measure == "objects"))
        {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f[0], want.year.to_string());
            assert_eq!(f[1], "objects");
            assert!((num(f[2]) - want.total).abs() < 1e-12, "{line}");
            assert!((num(f[5]) - want.transvariation).abs() < 1e-12, "{line}");
        }

        let json = app
            .get("/analysis/dynamics.json?table=markov&measure=score")
            .await;
        assert_eq!(json.status, StatusCode::OK);
        let rows: Vec<serde_json::Value> = serde_json::from_str(&json.body).unwrap();
        assert_eq!(rows.len(), 16);
        for (row, want) in rows
            .iter()
            .zip(r.markov.iter().filter(|m| m.measure == "score"))
        {
            assert_eq!(row["from_class"], u64::from(want.from_class));
            assert_eq!(row["count"], want.count);
            assert_eq!(row["probability"].as_f64(), want.probability);
        }

        let lisa = app
            .get("/analysis/spatial.json?table=lisa&measure=tools")
            .await;
        let rows: Vec<serde_json::Value> = serde_json::from_str(&lisa.body).unwrap();
        // 31 regions in 2020 and 2021, 30 in 2022.
        assert_eq!(rows.len(), 92);
        assert!(rows.iter().all(|r| r["measure"] == "tools"));

        // Every download link on the pages answers 200.
        for page in ["disparities", "dynamics", "spatial"] {
            let res = app.get(&format!("/analysis/{page}?lang=en")).await;
            for href in res.select_attrs("#downloads a", "href") {
                let got = app.get(&href).await;
                assert_eq!(got.status, StatusCode::OK, "{href}");
                assert!(!got.body.is_empty(), "{href}");
            }
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn unknown_measure_table_or_page_is_a_404_page() {
        let app = TestApp::new();
        // A measure that is not one is a bad parameter (400), as in the API.
        for url in [
            "/analysis/disparities?measure=gdp&lang=en",
            "/analysis/spatial?measure=rank&lang=en",
        ] {
            let res = app.get(url).await;
            assert_eq!(res.status, StatusCode::BAD_REQUEST, "{url}");
            assert!(res.body.contains("<h1"), "{url}: the error page");
        }
        for url in [
            "/analysis/dynamics.csv?table=dagum",
            "/analysis/spatial.xlsx?table=moran",
            "/analysis/nowhere?lang=en",
        ] {
            let res = app.get(url).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{url}");
            assert!(res.body.contains("<h1"), "{url}: the 404 page");
        }
        let res = app.get("/analysis/disparities?measure=gdp&lang=en").await;
        assert!(res.body.contains("gdp"), "the message names the measure");
        // The section's own URL leads to its first page, keeping the language.
        let res = app.get("/analysis?lang=en").await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert_eq!(
            res.headers["location"].to_str().unwrap(),
            "/analysis/disparities?lang=en"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn methodology_lists_every_analysis_formula_in_both_languages() {
        let app = TestApp::new();
        for (lang, heading, hainan) in [
            ("zh", "分析方法", "海南"),
            ("en", "Analysis methods", "Hainan"),
        ] {
            let res = app.get(&format!("/methodology?lang={lang}")).await;
            assert_eq!(res.status, StatusCode::OK);
            assert_eq!(res.select_texts("h2#analysis-methods"), vec![heading]);
            let items = res.select_texts("h2#analysis-methods + p + ol > li");
            assert_eq!(items.len(), 17, "{items:?}");
            let all = items.join("\n");
            for needle in [
                "G = G",
                "λ = −ln(1 + β)",
                "G/(G − 1)·(N − 1)/(N − K)",
                "E[I] = −1/(n − 1)",
                "999",
                "D = √(CT)",
                "1.34",
                hainan,
            ] {
                assert!(all.contains(needle), "{lang}: {needle} missing");
            }
        }
    }

    /// The fixture under other region codes and without a region set: neither groups nor the
    /// bundled contiguity apply.
    fn app_without_groups_or_contiguity() -> axum::Router {
        let panel = std::fs::read_to_string(crate::helpers::fixture("web/panel.csv")).unwrap();
        let panel = panel.replace("CN-", "R-");
        let framework =
            std::fs::read_to_string(crate::helpers::fixture("web/framework.toml")).unwrap();
        let ds = service::build_dataset(
            nqp::types::DatasetId::new("plain").unwrap(),
            ("无分组", "Ungrouped"),
            &[service::InputFile {
                name: "panel.csv".into(),
                bytes: panel.into_bytes().into(),
                layout: None,
            }],
            (&framework, "framework.toml"),
            &service::RegionChoice::None,
        )
        .unwrap();
        nqp::web::build_router(nqp::web::state::AppState::new(ds))
    }

    async fn get(router: &axum::Router, uri: &str) -> crate::helpers::Response {
        let request = axum::http::Request::builder()
            .uri(uri)
            .body(axum::body::Body::empty());
        crate::helpers::send(router, request.unwrap()).await
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn without_groups_or_contiguity_the_pages_say_what_was_skipped() {
        let app = app_without_groups_or_contiguity();
        let res = get(&app, "/analysis/spatial?lang=en").await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(res.count("#no-contiguity"), 1);
        assert_eq!(res.count("table#moran"), 0);
        // Only the non-spatial tables are offered for download; the spatial ones are a 404.
        assert_eq!(res.count("#downloads a"), 0);
        let lisa = get(&app, "/analysis/spatial.csv?table=lisa").await;
        assert_eq!(lisa.status, StatusCode::NOT_FOUND);

        let res = get(&app, "/analysis/disparities?lang=en").await;
        assert_eq!(res.status, StatusCode::OK);
        // One group: the within part is the whole Gini, nothing between groups.
        let cells = res.select_texts("table#dagum tbody tr:first-child td");
        assert_eq!(cells[0], cells[1], "{cells:?}");
        assert_eq!(cells[2], "0.0000");
        assert_eq!(res.count("table#group-gini tbody tr"), 1);
        assert!(res.select_texts("#notices li")[0].contains("one group"));

        let res = get(&app, "/analysis/dynamics?lang=en").await;
        assert_eq!(res.count("table#beta tbody tr"), 1, "only 'all regions'");
    }
}
