//! `/` — rankings: year and measure selectors, the choropleth map, a sortable ranking table
//! (server-side sort by header links; JS only re-sorts in place), a bar chart and group means.

use askama::Template;
use axum::extract::State;

use super::{PageResult, fmt_num, fmt_rank, group_label, render, sort_key};
use crate::service::dashboard::{self, Measure, RankingRow};
use crate::types::{Dimension, Lang};
use crate::web::charts::Bins;
use crate::web::charts::bar::{self, BarDatum, BarSpec};
use crate::web::charts::map::{ChinaMap, ChoroplethSpec, MapValue};
use crate::web::chrome::Chrome;
use crate::web::ctx::PageCtx;
use crate::web::download::{ViewDownloads, view_file};
use crate::web::state::AppState;

/// Number of colour classes on the map.
const MAP_CLASSES: usize = 5;

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct Header {
    pub label: String,
    pub url: String,
    pub key: &'static str,
    pub aria_sort: &'static str,
    pub numeric: bool,
    pub desc_first: bool,
}

pub struct Row {
    pub code: String,
    pub name: String,
    pub url: String,
    pub group: String,
    pub rank: String,
    pub rank_sort: String,
    pub change: String,
    pub change_sort: String,
    pub change_class: &'static str,
    pub change_label: String,
    pub value: String,
    pub value_sort: String,
    pub dims: Vec<(String, String)>,
    pub incomplete: bool,
}

pub struct GroupRow {
    pub group: String,
    pub regions: usize,
    pub value: String,
    pub dims: Vec<String>,
}

#[derive(Template)]
#[template(path = "pages/rankings.html")]
pub struct RankingsPage {
    pub downloads: ViewDownloads,
    pub chrome: Chrome,
    pub year: i32,
    pub measure_label: String,
    pub hidden: Vec<(String, String)>,
    /// Stored datasets to choose from (empty without a store).
    pub datasets: Vec<Choice>,
    pub years: Vec<Choice>,
    pub measures: Vec<Choice>,
    pub map_svg: String,
    pub bar_svg: String,
    pub headers: Vec<Header>,
    pub rows: Vec<Row>,
    pub groups: Vec<GroupRow>,
    pub dim_labels: Vec<&'static str>,
    pub show_value: bool,
}

/// Sortable columns: the query value, and whether a first click sorts descending.
const SORT_KEYS: [(&str, bool); 9] = [
    ("rank", false),
    ("name", false),
    ("group", false),
    ("value", true),
    ("change", true),
    ("score", true),
    ("laborers", true),
    ("tools", true),
    ("objects", true),
];

pub async fn page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let lang = ctx.lang;
    let (ds, tables) = super::load(&state, &ctx).await?;
    let year = ctx.year()?;
    let measure = ctx.measure(&ds.framework)?;
    let ranking = dashboard::rankings(&ds, &tables, year, measure.clone(), lang)?;
    let name = format!("rankings-{}-{}", ranking.year, measure.key());
    if let Some(file) = view_file(&ctx, &ds, &tables, &name, &ranking, &ranking.rows).await? {
        return Ok(file);
    }

    let measure_label = match &measure {
        Measure::Score => ctx.t.overall_score.to_owned(),
        Measure::Dimension(d) => d.label(lang).to_owned(),
        Measure::Indicator(id) => ds
            .framework
            .get(id)
            .map(|d| lang.pick(&d.name_zh, &d.name_en).to_owned())
            .unwrap_or_else(|| id.clone()),
    };
    let is_indicator = matches!(measure, Measure::Indicator(_));
    let decimals = if is_indicator { 3 } else { 2 };

    // Sorting (server side, so it works without JavaScript).
    let (sort, descending) = match ctx.param("sort") {
        Some(key) if SORT_KEYS.iter().any(|(k, _)| *k == key) => {
            (key, ctx.param("dir") == Some("desc"))
        }
        _ => ("rank", false),
    };
    let mut rows_data: Vec<&RankingRow> = ranking.rows.iter().collect();
    sort_rows(&mut rows_data, sort, descending, lang);

    let headers = SORT_KEYS
        .iter()
        .filter(|(key, _)| *key != "value" || is_indicator)
        .map(|&(key, desc_first)| {
            let active = key == sort;
            let next_desc = if active { !descending } else { desc_first };
            Header {
                label: header_label(key, &ctx, &measure_label),
                url: sort_url(&ctx, key, next_desc),
                key,
                aria_sort: match (active, descending) {
                    (false, _) => "",
                    (true, true) => "descending",
                    (true, false) => "ascending",
                },
                numeric: !matches!(key, "name" | "group"),
                desc_first,
            }
        })
        .collect();

    let rows = rows_data
        .iter()
        .map(|r| {
            let (change, change_class, change_label) = change_cell(r.rank_change, lang);
            Row {
                code: r.code.clone(),
                name: r.name.clone(),
                url: ctx.region_url(&r.code),
                group: r
                    .group
                    .as_deref()
                    .map(|g| group_label(g, lang))
                    .unwrap_or_default(),
                rank: fmt_rank(r.rank),
                rank_sort: r.rank.map(|x| x.to_string()).unwrap_or_default(),
                change,
                change_sort: r.rank_change.map(|c| c.to_string()).unwrap_or_default(),
                change_class,
                change_label,
                value: fmt_num(r.value, decimals),
                value_sort: sort_key(r.value),
                dims: [r.score, r.laborers, r.tools, r.objects]
                    .into_iter()
                    .map(|v| (fmt_num(v, 2), sort_key(v)))
                    .collect(),
                incomplete: r.incomplete,
            }
        })
        .collect();

    let groups = ranking
        .groups
        .iter()
        .map(|g| GroupRow {
            group: group_label(&g.group, lang),
            regions: g.regions,
            value: fmt_num(g.value, decimals),
            dims: [g.score, g.laborers, g.tools, g.objects]
                .into_iter()
                .map(|v| fmt_num(v, 2))
                .collect(),
        })
        .collect();

    let map_values: Vec<MapValue> = ranking
        .rows
        .iter()
        .map(|r| MapValue {
            code: r.code.clone(),
            name: r.name.clone(),
            value: r.value,
            rank: r.rank,
            display: fmt_num(r.value, decimals),
        })
        .collect();
    let title = format!("{measure_label} · {}", ranking.year);
    let map_svg = render_map(&ctx, &map_values, &ranking.all_values, &title);

    let bars: Vec<BarDatum> = ranking
        .rows
        .iter()
        .map(|r| BarDatum {
            label: r.name.clone(),
            value: r.value,
            display: fmt_num(r.value, decimals),
            href: Some(ctx.region_url(&r.code)),
            highlight: false,
        })
        .collect();
    let bar_svg = bar::render(&BarSpec {
        id: "bars",
        title: &title,
        desc: ctx.t.rankings_intro,
        data: &bars,
        width: 460.0,
        value_label: &measure_label,
        no_data_label: ctx.t.no_data,
    });

    let measures = std::iter::once(("score".to_owned(), ctx.t.overall_score.to_owned()))
        .chain(
            Dimension::ALL
                .iter()
                .map(|d| (d.as_str().to_owned(), d.label(lang).to_owned())),
        )
        .chain(ds.framework.indicators.iter().map(|d| {
            (
                d.id.to_string(),
                format!(
                    "{} — {}",
                    ctx.t.indicator,
                    lang.pick(&d.name_zh, &d.name_en)
                ),
            )
        }))
        .map(|(value, label)| Choice {
            selected: value == measure.key(),
            value,
            label,
        })
        .collect();
    let years = ranking
        .years
        .iter()
        .rev()
        .map(|y| Choice {
            value: y.to_string(),
            label: y.to_string(),
            selected: *y == ranking.year,
        })
        .collect();

    let datasets: Vec<Choice> = match state.store() {
        None => Vec::new(),
        Some(store) => crate::web::blocking(move || Ok(store.datasets(false)?))
            .await?
            .into_iter()
            .map(|d| Choice {
                selected: d.id == ds.id,
                label: format!("{} ({})", lang.pick(&d.title_zh, &d.title_en), d.id),
                value: d.id.to_string(),
            })
            .collect(),
    };
    // With a dataset selector, choosing a dataset shows its latest version.
    let hidden = ctx
        .hidden_fields()
        .into_iter()
        .filter(|(k, _)| datasets.is_empty() || (k != "dataset" && k != "v"))
        .collect();
    let page = RankingsPage {
        downloads: ViewDownloads::new(&ctx, &ds, &[]),
        chrome: Chrome::new(&ctx, &ds, "rankings"),
        year: ranking.year,
        measure_label,
        hidden,
        datasets,
        years,
        measures,
        map_svg,
        bar_svg,
        headers,
        rows,
        groups,
        dim_labels: Dimension::ALL.iter().map(|d| d.label(lang)).collect(),
        show_value: is_indicator,
    };
    render(&page)
}

/// The choropleth of one measure; colour classes come from every year's values.
pub fn render_map(ctx: &PageCtx, values: &[MapValue], all_values: &[f64], title: &str) -> String {
    let bins = Bins::quantiles(all_values, MAP_CLASSES)
        .or_else(|_| Bins::equal(0.0, 1.0, MAP_CLASSES))
        .expect("equal bins over [0, 1] are valid");
    let href = |code: &str| Some(ctx.region_url(code));
    ChinaMap::bundled().render(&ChoroplethSpec {
        id: "map",
        title,
        desc: ctx.t.map_title,
        values,
        bins: &bins,
        href: &href,
        lang: ctx.lang,
        no_data_label: ctx.t.no_data,
        legend_title: title,
        highlight: None,
    })
}

fn header_label(key: &str, ctx: &PageCtx, measure_label: &str) -> String {
    let t = ctx.t;
    match key {
        "rank" => t.rank.to_owned(),
        "name" => t.region.to_owned(),
        "group" => t.group.to_owned(),
        "value" => measure_label.to_owned(),
        "change" => t.rank_change.to_owned(),
        "score" => t.overall_score.to_owned(),
        dim => dim
            .parse::<Dimension>()
            .map(|d| d.label(ctx.lang).to_owned())
            .unwrap_or_default(),
    }
}

fn sort_url(ctx: &PageCtx, key: &str, descending: bool) -> String {
    ctx.with_params(&[
        ("sort", key),
        ("dir", if descending { "desc" } else { "asc" }),
    ])
}

fn change_cell(change: Option<i32>, lang: Lang) -> (String, &'static str, String) {
    match change {
        Some(c) if c > 0 => (
            format!("▲{c}"),
            "up",
            match lang {
                Lang::Zh => format!("上升{c}位"),
                Lang::En => format!("up {c}"),
            },
        ),
        Some(c) if c < 0 => (
            format!("▼{}", -c),
            "down",
            match lang {
                Lang::Zh => format!("下降{}位", -c),
                Lang::En => format!("down {}", -c),
            },
        ),
        Some(_) => (
            "=".into(),
            "flat",
            lang.pick("不变", "unchanged").to_owned(),
        ),
        None => (
            "—".into(),
            "flat",
            lang.pick("无上年数据", "no previous year").to_owned(),
        ),
    }
}

fn sort_rows(rows: &mut [&RankingRow], key: &str, descending: bool, lang: Lang) {
    // Rows without a value go last in both directions (as `static/app.js` does); groups sort
    // by the label the reader sees.
    let num = |r: &RankingRow| match key {
        "value" => r.value,
        "change" => r.rank_change.map(f64::from),
        "score" => r.score,
        "laborers" => r.laborers,
        "tools" => r.tools,
        "objects" => r.objects,
        _ => r.rank.map(f64::from),
    };
    let group = |r: &RankingRow| r.group.as_deref().map(|g| group_label(g, lang));
    rows.sort_by(|a, b| {
        let (missing, ord) = match key {
            "name" => (false.cmp(&false), a.name.cmp(&b.name)),
            "group" => (
                group(a).is_none().cmp(&group(b).is_none()),
                group(a).cmp(&group(b)).then(a.rank.cmp(&b.rank)),
            ),
            _ => {
                let (x, y) = (num(a), num(b));
                (
                    x.is_none().cmp(&y.is_none()),
                    x.unwrap_or_default().total_cmp(&y.unwrap_or_default()),
                )
            }
        };
        missing
            .then(if descending { ord.reverse() } else { ord })
            .then_with(|| a.code.cmp(&b.code))
    });
}
