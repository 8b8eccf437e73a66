//! The paper's second view (Lu & Huang 2024): the three mechanism levels and the
//! intelligence-and-digital sub-index. Computed as docs/method.md §6.1 says (recomputed here
//! from the result's own normalised values and weights), offered as measures on the rankings
//! page and its map, shown on region profiles, carried by every download of those views — and
//! the regions a framework excludes, shown with their reason on the pages and in the metadata.

use std::collections::HashMap;

use axum::http::StatusCode;
use nqp::method::{Aggregate, MethodSpec};
use nqp::service;
use nqp::service::dashboard::{Dataset, ResultTables};
use nqp::types::{Level, Subindex};

use crate::helpers::{Response, TestApp, fixture, web_dataset_with};

const SUBINDICES: [&str; 4] = [
    "level/micro",
    "level/meso",
    "level/macro",
    "subindex/ai_digital",
];

fn bundled() -> Dataset {
    service::bundled::dataset().expect("the bundled dataset loads")
}

fn tables(ds: &Dataset, spec: &MethodSpec) -> ResultTables {
    let result = service::compute_index(&ds.panel, &ds.framework, spec).unwrap();
    ResultTables::from_result(&result).unwrap()
}

/// The framework's members of `sub` (declared in the framework file, not taken from the result).
fn members(ds: &Dataset, sub: Subindex) -> Vec<String> {
    ds.framework
        .indicators
        .iter()
        .filter(|d| match sub {
            Subindex::Level(l) => d.level == Some(l),
            Subindex::AiDigital => d.ai_digital,
        })
        .map(|d| d.id.to_string())
        .collect()
}

/// The sub-index of one region-year recomputed from the result's normalised values and
/// weights over its observed members: weighted sum `100 Σ w z / Σ w`, or weighted geometric
/// mean `Π (1 + 99 z)^(w / Σ w)`.
fn recompute(
    t: &ResultTables,
    ids: &[String],
    region: &str,
    year: i32,
    how: Aggregate,
) -> Option<f64> {
    let weight: HashMap<&str, f64> = t
        .weights
        .iter()
        .filter(|w| w.year.is_none() || w.year == Some(year))
        .map(|w| (w.indicator.as_str(), w.weight))
        .collect();
    let cells: Vec<(f64, f64)> = ids
        .iter()
        .filter_map(|id| Some((weight[id.as_str()], t.value(region, id, year)?.z?)))
        .collect();
    let total: f64 = cells.iter().map(|(w, _)| w).sum();
    (total > 0.0).then(|| match how {
        Aggregate::Geometric => cells
            .iter()
            .map(|(w, z)| (1.0 + 99.0 * z).powf(w / total))
            .product(),
        _ => 100.0 * cells.iter().map(|(w, z)| w * z).sum::<f64>() / total,
    })
}

#[test]
fn subindices_aggregate_exactly_their_member_indicators_on_the_default_dataset() {
    let ds = bundled();
    assert_eq!(
        ds.framework.subindices(),
        Subindex::ALL,
        "the default defines three levels and the intelligence-and-digital sub-index"
    );
    assert_eq!(members(&ds, Subindex::AiDigital).len(), 6);
    for how in [Aggregate::Sum, Aggregate::Geometric] {
        let spec = MethodSpec {
            aggregate: how,
            ..MethodSpec::default()
        };
        let t = tables(&ds, &spec);
        assert_eq!(t.subindices, Subindex::ALL);
        for sub in Subindex::ALL {
            let ids = members(&ds, sub);
            assert!(!ids.is_empty(), "{sub:?}");
            let mut compared = 0;
            for row in &t.scores {
                let want = recompute(&t, &ids, &row.region, row.year, how);
                let got = row.scores.subscores.get(sub);
                match (want, got) {
                    (Some(w), Some(g)) => {
                        assert!(
                            (w - g).abs() < 1e-9,
                            "{how:?} {sub:?} {} {}: {g} ≠ {w}",
                            row.region,
                            row.year
                        );
                        compared += 1;
                    }
                    (None, None) => {}
                    other => panic!("{how:?} {sub:?} {} {}: {other:?}", row.region, row.year),
                }
            }
            assert_eq!(compared, 31 * t.years.len(), "{how:?} {sub:?}");
        }
        // The sub-index is its own measure, not the overall score again.
        let differs = t
            .scores
            .iter()
            .filter(|r| {
                (r.scores.subscores.get(Subindex::AiDigital).unwrap() - r.scores.score.unwrap())
                    .abs()
                    > 1.0
            })
            .count();
        assert!(differs > 100, "{how:?}: {differs}");
    }
}

/// `<select>` option values of the rankings page's measure selector.
fn measure_options(res: &Response) -> Vec<String> {
    res.select_attrs("#measure-select option", "value")
}

#[tokio::test(flavor = "multi_thread")]
async fn rankings_offer_and_rank_by_levels_and_the_ai_digital_subindex() {
    let ds = bundled();
    let t = tables(&ds, &MethodSpec::default());
    let app = TestApp::with_dataset(ds);
    let home = app.get("/?lang=en").await;
    let options = measure_options(&home);
    for key in SUBINDICES {
        assert!(options.contains(&key.to_owned()), "{key} in {options:?}");
    }
    // Every row shows the four sub-indices beside the overall score and the elements.
    let headers = home.select_attrs("table#rankings thead a", "data-sort-key");
    assert!(
        headers.ends_with(&SUBINDICES.map(str::to_owned)),
        "{headers:?}"
    );

    for (key, sub, label) in [
        (
            "subindex/ai_digital",
            Subindex::AiDigital,
            ("Intelligence & digital sub-index", "智能与数字分指数"),
        ),
        (
            "level/micro",
            Subindex::Level(Level::Micro),
            ("Micro (firms)", "微观（企业）"),
        ),
    ] {
        let res = app.get(&format!("/?lang=en&year=2018&measure={key}")).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert!(res.select_texts("#table-title")[0].starts_with(label.0));
        let selected = res.select_attrs("#measure-select option[selected]", "value");
        assert_eq!(selected, [key]);
        // Rows in the order of the sub-index, its values in the value column, the overall
        // score beside it.
        let mut expected: Vec<_> = t.scores.iter().filter(|r| r.year == 2018).collect();
        expected.sort_by(|a, b| {
            b.scores
                .subscores
                .get(sub)
                .unwrap()
                .total_cmp(&a.scores.subscores.get(sub).unwrap())
        });
        let shown = res.select_attrs("table#rankings tbody tr", "data-region");
        let want: Vec<String> = expected.iter().map(|r| r.region.clone()).collect();
        assert_eq!(shown, want, "{key}");
        let keys = res.select_attrs("table#rankings thead a", "data-sort-key");
        let at = |k: &str| 1 + keys.iter().position(|x| x == k).unwrap();
        let cells = |k: &str| {
            // The region name is the row's only <th>: columns after it are td number n - 1.
            res.select_texts(&format!(
                "table#rankings tbody tr td:nth-of-type({})",
                at(k) - 1
            ))
        };
        let fmt = |v: Option<f64>| format!("{:.2}", v.unwrap());
        assert_eq!(
            cells("value"),
            expected
                .iter()
                .map(|r| fmt(r.scores.subscores.get(sub)))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            cells("score"),
            expected
                .iter()
                .map(|r| fmt(r.scores.score))
                .collect::<Vec<_>>()
        );
        assert_eq!(cells(key), cells("value"), "its own column agrees");
        // The map colours the same measure: the leader's tooltip carries its value.
        let leader = &expected[0];
        let titles = res.select_texts(&format!(
            "figure.map svg a[href^=\"/regions/{}\"] title",
            leader.region
        ));
        assert!(
            titles[0].contains(&fmt(leader.scores.subscores.get(sub))),
            "{titles:?}"
        );
        let zh = app.get(&format!("/?lang=zh&year=2018&measure={key}")).await;
        assert!(zh.select_texts("#table-title")[0].starts_with(label.1));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn frameworks_without_levels_or_ai_digital_do_not_offer_them() {
    let framework = std::fs::read_to_string(fixture("web/framework_exclude.toml")).unwrap();
    let app = TestApp::with_dataset(web_dataset_with(&framework));
    let home = app.get("/?lang=en").await;
    let options = measure_options(&home);
    assert_eq!(
        options,
        [
            "score", "laborers", "tools", "objects", "talent", "rd", "hitech"
        ]
    );
    assert_eq!(
        app.get("/?lang=en&measure=level/micro").await.status,
        StatusCode::BAD_REQUEST
    );
    let region = app.get("/regions/CN-BJ?lang=en").await;
    assert_eq!(region.count("#subindex-view"), 0);
    assert_eq!(region.count("#ai-digital-score"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn region_profile_shows_levels_and_the_ai_digital_subindex_beside_the_score() {
    let ds = bundled();
    let t = tables(&ds, &MethodSpec::default());
    let app = TestApp::with_dataset(ds);
    let res = app.get("/regions/CN-GD?lang=en&year=2019").await;
    assert_eq!(res.status, StatusCode::OK);
    let me = t.score("CN-GD", 2019).unwrap();
    let year: Vec<_> = t.scores.iter().filter(|r| r.year == 2019).collect();
    let mean = |sub: Subindex| {
        year.iter()
            .map(|r| r.scores.subscores.get(sub).unwrap())
            .sum::<f64>()
            / year.len() as f64
    };
    assert_eq!(
        res.select_texts("#ai-digital-score"),
        [format!(
            "{:.2}",
            me.scores.subscores.get(Subindex::AiDigital).unwrap()
        )]
    );
    assert_eq!(
        res.select_texts("table#levels tbody tr td:nth-of-type(1)"),
        Level::ALL
            .iter()
            .map(|&l| format!(
                "{:.2}",
                me.scores.subscores.get(Subindex::Level(l)).unwrap()
            ))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        res.select_texts("table#levels tbody tr td:nth-of-type(2)"),
        Level::ALL
            .iter()
            .map(|&l| format!("{:.2}", mean(Subindex::Level(l))))
            .collect::<Vec<_>>()
    );
    // A second radar: the three levels against the national mean.
    assert_eq!(res.count("#subindex-view figure.radar svg"), 1);
    assert_eq!(res.count("figure.radar svg"), 2);
    let zh = app.get("/regions/CN-GD?lang=zh&year=2019").await;
    assert!(zh.body.contains("智能与数字分指数"));
    assert!(zh.body.contains("三个机制层级与全国平均"));
}

/// CSV body → header and rows (the cells of these views hold no commas).
fn csv(body: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = body.trim_start_matches('\u{feff}').lines().map(|l| {
        l.split(',')
            .map(|c| c.trim_matches('"').to_owned())
            .collect::<Vec<_>>()
    });
    (lines.next().unwrap(), lines.collect())
}

fn col(header: &[String], rows: &[Vec<String>], key: &str) -> Vec<f64> {
    let i = header
        .iter()
        .position(|h| h == key)
        .unwrap_or_else(|| panic!("{key} in {header:?}"));
    rows.iter().map(|r| r[i].parse().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn downloads_of_these_views_carry_the_subindex_columns() {
    let ds = bundled();
    let t = tables(&ds, &MethodSpec::default());
    let app = TestApp::with_dataset(ds);

    let res = app.get("/?year=2017&measure=level/meso&format=csv").await;
    assert_eq!(res.status, StatusCode::OK);
    let (header, rows) = csv(&res.body);
    assert_eq!(rows.len(), 31);
    let codes: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
    for key in SUBINDICES {
        let sub = Subindex::from_column(key).unwrap();
        let want: Vec<f64> = codes
            .iter()
            .map(|c| t.score(c, 2017).unwrap().scores.subscores.get(sub).unwrap())
            .collect();
        let got = col(&header, &rows, key);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-9, "{key}: {g} vs {w}");
        }
    }
    assert_eq!(
        col(&header, &rows, "value"),
        col(&header, &rows, "level/meso")
    );

    // The region's history: one row per year with every sub-index.
    let res = app.get("/regions/CN-ZJ?table=history&format=csv").await;
    let (header, rows) = csv(&res.body);
    assert_eq!(rows.len(), t.years.len());
    let got = col(&header, &rows, "subindex/ai_digital");
    let want: Vec<f64> = t
        .years
        .iter()
        .map(|&y| {
            t.score("CN-ZJ", y)
                .unwrap()
                .scores
                .subscores
                .get(Subindex::AiDigital)
                .unwrap()
        })
        .collect();
    assert_eq!(got.len(), want.len());
    assert!(got.iter().zip(&want).all(|(g, w)| (g - w).abs() < 1e-9));

    // JSON of the view and of the API: the same keys on every row.
    let json: serde_json::Value = serde_json::from_str(
        &app.get("/?measure=subindex/ai_digital&format=json")
            .await
            .body,
    )
    .unwrap();
    assert_eq!(json["view"]["measure"]["kind"], "subindex");
    assert_eq!(json["view"]["measure"]["id"], "subindex/ai_digital");
    let row = &json["view"]["rows"][0];
    for key in SUBINDICES {
        assert!(row[key].is_number(), "{key} in {row}");
    }
    assert_eq!(row["value"], row["subindex/ai_digital"]);
    let indicators = &json["metadata"]["framework"]["indicators"];
    let tagged = indicators
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["ai_digital"] == true)
        .count();
    assert_eq!(
        tagged, 6,
        "the metadata says which indicators form the sub-index"
    );

    // Parquet and XLSX of the same view are served.
    for format in ["parquet", "xlsx"] {
        let res = app
            .get(&format!("/?measure=level/macro&format={format}"))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{format}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn excluded_regions_are_shown_with_their_reason_on_pages_and_in_metadata() {
    let framework = std::fs::read_to_string(fixture("web/framework_exclude.toml")).unwrap();
    let app = TestApp::with_dataset(web_dataset_with(&framework));
    for (lang, tibet, qinghai) in [("en", "Tibet", "Qinghai"), ("zh", "西藏自治区", "青海省")]
    {
        for page in ["/", "/regions/CN-BJ"] {
            let res = app.get(&format!("{page}?lang={lang}")).await;
            assert_eq!(res.status, StatusCode::OK, "{page}");
            assert_eq!(
                res.select_attrs("#excluded-regions li", "data-region"),
                ["CN-XZ", "CN-QH"],
                "{page} {lang}"
            );
            let items = res.select_texts("#excluded-regions li");
            assert_eq!(
                items[0],
                format!("{tibet} (CN-XZ): no 2022 data in the <b>synthetic</b> panel"),
                "the reason is shown as text, escaped"
            );
            assert_eq!(items[1], format!("{qinghai} (CN-QH): 测试：人为排除"));
            assert!(!res.body.contains("<b>synthetic"), "escaped");
        }
    }
    let res = app.get("/?lang=en").await;
    assert_eq!(res.count("table#rankings tbody tr"), 29, "31 − 2 regions");
    // A page of a region without exclusions shows no notice.
    assert_eq!(TestApp::new().get("/").await.count("#excluded-regions"), 0);

    // Every download of the view links metadata that records the exclusions.
    let csv = app.get("/?format=csv").await;
    let link = csv.headers["link"].to_str().unwrap().to_owned();
    let url = link
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_owned();
    let meta: serde_json::Value = serde_json::from_str(&app.get(&url).await.body).unwrap();
    let excluded: Vec<&str> = meta["notices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["code"] == "region.excluded")
        .map(|n| n["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        excluded,
        [
            "region CN-XZ excluded: no 2022 data in the <b>synthetic</b> panel",
            "region CN-QH excluded: 测试：人为排除"
        ]
    );
    let json: serde_json::Value =
        serde_json::from_str(&app.get("/?format=json").await.body).unwrap();
    assert_eq!(json["view"]["excluded"][0]["code"], "CN-XZ");
    assert_eq!(
        json["metadata"]["notices"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["code"] == "region.excluded")
            .count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn methodology_explains_both_views_the_presets_spans_and_breaks_in_both_languages() {
    let app = TestApp::new();
    for (lang, views, breaks) in [
        ("zh", "微观", ["2016/17", "2017/18", "2016 年更换价格基期"]),
        ("en", "micro", ["2016/17", "2017/18", "price base in 2016"]),
    ] {
        let res = app.get(&format!("/methodology?lang={lang}")).await;
        assert_eq!(res.status, StatusCode::OK);
        for anchor in ["#views", "#presets", "#data-notes"] {
            assert_eq!(res.count(anchor), 1, "{lang} {anchor}");
            assert_eq!(
                res.count(&format!("nav a[href=\"{anchor}\"]")),
                1,
                "{lang} links {anchor}"
            );
        }
        let text = res.select_texts("#views ~ p").join(" ");
        assert!(
            text.contains(views) && text.contains("subindex/ai_digital"),
            "{lang}"
        );
        assert!(text.contains("Lu Peng & Huang Yuanyuan 2024"), "{lang}");
        let presets = res.select_attrs("#preset-list li", "data-preset");
        assert_eq!(presets, ["wang-wang-2024", "lu-et-al-2024"]);
        let items = res.select_texts("#preset-list li");
        // The citation strings are those of the preset files.
        for (item, file) in items.iter().zip(["wang-wang-2024", "lu-et-al-2024"]) {
            let toml = std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(format!("data/frameworks/{file}.toml")),
            )
            .unwrap();
            let fw = nqp::framework::Framework::from_toml(&toml, "preset.toml").unwrap();
            let citation = fw.index.citation.unwrap();
            assert!(item.contains(&citation), "{item} cites {citation}");
            // The availability counts on the page are those of the file.
            let proxied = fw
                .indicators
                .iter()
                .filter(|d| d.availability == nqp::framework::Availability::Proxied)
                .count();
            let (available, unavailable) = (fw.indicators.len() - proxied, fw.unavailable.len());
            let counts = match lang {
                "zh" => format!("可得 {available}、替代 {proxied}、不可得 {unavailable}"),
                _ => format!("{available} available, {proxied} proxied, {unavailable} unavailable"),
            };
            assert!(item.contains(&counts), "{item}: {counts}");
        }
        let notes = res.select_texts("#data-notes + ul li").join(" ");
        for b in breaks {
            assert!(notes.contains(b), "{lang}: {b}");
        }
        assert!(
            notes.contains("2013–2019") && notes.contains("2016–2022") && notes.contains("CN-XZ")
        );
    }
}
