//! `/` — rankings: year and measure selectors, the choropleth map, a sortable ranking table
//! (server-side sort by header links; JS only re-sorts in place), a bar chart and group means.

use askama::Template;
use axum::extract::State;

use super::{PageResult, fmt_num, fmt_rank, group_label, render, sort_key};
use crate::chart::Bins;
use crate::chart::bar::{self, BarDatum, BarSpec};
use crate::chart::map::{ChoroplethSpec, MapValue};
use crate::framework::Framework;
use crate::service::dashboard::{
    self, Dataset, ExcludedRegion, Measure, RankingRow, Rankings, ResultTables,
};
use crate::service::sort::SortKey;
use crate::types::{Dimension, Lang};
use crate::web::chrome::Chrome;
use crate::web::ctx::PageCtx;
use crate::web::download::{ViewDownloads, view_file};
use crate::web::error::WebError;
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
    /// Labels of the columns after the overall score: the elements, then the sub-indices.
    pub dim_labels: Vec<&'static str>,
    pub show_value: bool,
    /// Regions the framework leaves out, with its reason.
    pub excluded: Vec<ExcludedRegion>,
}

pub async fn page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let (ds, tables) = super::load(&state, &ctx).await?;
    let ranking = view(&ctx, &ds, &tables)?;
    let name = format!("rankings-{}-{}", ranking.year, ranking.measure.key());
    if let Some(file) = view_file(&ctx, &ds, &tables, &name, &ranking, &ranking.rows, None).await? {
        return Ok(file);
    }
    let datasets = dataset_choices(&state, &ds, ctx.lang).await?;
    render(&RankingsPage::new(&ctx, &ds, &ranking, datasets))
}

/// The rankings view of a request (`year`, `measure`, `sort`, `dir`): the page's and the API's.
pub fn view(ctx: &PageCtx, ds: &Dataset, tables: &ResultTables) -> Result<Rankings, WebError> {
    let (year, measure, sort) = (ctx.year()?, ctx.measure(&ds.framework)?, ctx.sort()?);
    let group = |g: &str| group_label(g, ctx.lang);
    Ok(dashboard::rankings(
        ds, tables, year, measure, sort, ctx.lang, group,
    )?)
}

/// The stored datasets to choose from (none without a store).
async fn dataset_choices(
    state: &AppState,
    ds: &Dataset,
    lang: Lang,
) -> Result<Vec<Choice>, WebError> {
    let Some(store) = state.store() else {
        return Ok(Vec::new());
    };
    let stored = crate::web::blocking(move || Ok(store.datasets(false)?)).await?;
    Ok(stored
        .into_iter()
        .map(|d| Choice {
            selected: d.id == ds.id,
            label: format!("{} ({})", lang.pick(&d.title_zh, &d.title_en), d.id),
            value: d.id.to_string(),
        })
        .collect())
}

impl RankingsPage {
    fn new(ctx: &PageCtx, ds: &Dataset, ranking: &Rankings, datasets: Vec<Choice>) -> Self {
        let (lang, measure) = (ctx.lang, &ranking.measure);
        let measure_label = label_of(ctx, &ds.framework, measure);
        // The measure gets its own column unless it is one of the fixed score columns.
        let show_value = matches!(measure, Measure::Indicator(_) | Measure::Subindex(_));
        let decimals = if matches!(measure, Measure::Indicator(_)) {
            3
        } else {
            2
        };
        let rows = ranking
            .rows
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
                    dims: r
                        .scores
                        .columns()
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
                dims: g.scores.columns().map(|v| fmt_num(v, 2)).collect(),
            })
            .collect();
        let title = format!("{measure_label} · {}", ranking.year);
        // With a dataset selector, choosing a dataset shows its latest version.
        let hidden = ctx
            .hidden_fields()
            .into_iter()
            .filter(|(k, _)| datasets.is_empty() || (k != "dataset" && k != "v"))
            .collect();
        RankingsPage {
            downloads: ViewDownloads::new(ctx, ds, &[]),
            chrome: Chrome::new(ctx, ds, "rankings"),
            year: ranking.year,
            hidden,
            datasets,
            years: ranking
                .years
                .iter()
                .rev()
                .map(|y| Choice {
                    value: y.to_string(),
                    label: y.to_string(),
                    selected: *y == ranking.year,
                })
                .collect(),
            measures: measure_choices(ctx, &ds.framework, measure),
            map_svg: render_map(
                ctx,
                &map_values(ranking, decimals),
                &ranking.all_values,
                &title,
            ),
            bar_svg: bar_chart(ctx, ranking, decimals, &title, &measure_label),
            headers: headers(ctx, ranking, show_value, &measure_label),
            rows,
            groups,
            dim_labels: Dimension::ALL
                .iter()
                .map(|d| d.label(lang))
                .chain(ranking.subindices.iter().map(|s| s.label(lang)))
                .collect(),
            show_value,
            excluded: ranking.excluded.clone(),
            measure_label,
        }
    }
}

/// The sortable column headers: each links the page sorted by its column.
fn headers(
    ctx: &PageCtx,
    ranking: &Rankings,
    show_value: bool,
    measure_label: &str,
) -> Vec<Header> {
    let sort = ranking.sort;
    SortKey::ALL
        .into_iter()
        .chain(ranking.subindices.iter().map(|&s| SortKey::Subindex(s)))
        .filter(|key| *key != SortKey::Value || show_value)
        .map(|key| {
            let active = key == sort.key;
            let next_desc = if active {
                !sort.descending
            } else {
                key.descending_first()
            };
            Header {
                label: header_label(key, ctx, measure_label),
                url: sort_url(ctx, key, next_desc),
                key: key.as_str(),
                aria_sort: match (active, sort.descending) {
                    (false, _) => "",
                    (true, true) => "descending",
                    (true, false) => "ascending",
                },
                numeric: key.is_numeric(),
                desc_first: key.descending_first(),
            }
        })
        .collect()
}

fn map_values(ranking: &Rankings, decimals: usize) -> Vec<MapValue> {
    ranking
        .rows
        .iter()
        .map(|r| MapValue {
            code: r.code.clone(),
            name: r.name.clone(),
            value: r.value,
            rank: r.rank,
            display: fmt_num(r.value, decimals),
        })
        .collect()
}

/// The measure as bars, best first whatever the table's order.
fn bar_chart(
    ctx: &PageCtx,
    ranking: &Rankings,
    decimals: usize,
    title: &str,
    label: &str,
) -> String {
    let mut rows: Vec<&RankingRow> = ranking.rows.iter().collect();
    rows.sort_by_key(|r| dashboard::rank_order(r.rank, &r.code));
    let bars: Vec<BarDatum> = rows
        .into_iter()
        .map(|r| BarDatum {
            label: r.name.clone(),
            value: r.value,
            display: fmt_num(r.value, decimals),
            href: Some(ctx.region_url(&r.code)),
            highlight: false,
        })
        .collect();
    bar::render(&BarSpec {
        head: ctx.chart_head("bars", title, ctx.t.rankings_intro),
        data: &bars,
        width: 460.0,
        value_label: label,
    })
}

/// Every measure the dataset offers, `selected` marked.
fn measure_choices(ctx: &PageCtx, framework: &Framework, selected: &Measure) -> Vec<Choice> {
    Measure::offered(framework)
        .iter()
        .map(|m| Choice {
            selected: m == selected,
            value: m.key().to_owned(),
            label: match m {
                Measure::Indicator(_) => {
                    format!("{} — {}", ctx.t.indicator, label_of(ctx, framework, m))
                }
                _ => label_of(ctx, framework, m),
            },
        })
        .collect()
}

/// The choropleth of one measure; colour classes come from every year's values.
pub fn render_map(ctx: &PageCtx, values: &[MapValue], all_values: &[f64], title: &str) -> String {
    let bins = Bins::quantiles(all_values, MAP_CLASSES)
        .or_else(|_| Bins::equal(0.0, 1.0, MAP_CLASSES))
        .expect("equal bins over [0, 1] are valid");
    let href = |code: &str| Some(ctx.region_url(code));
    ctx.map.render(&ChoroplethSpec {
        head: ctx.chart_head("map", title, ctx.t.map_title),
        values,
        bins: &bins,
        href: &href,
        lang: ctx.lang,
        legend_title: title,
        highlight: None,
    })
}

/// What a measure is called in `ctx`'s language.
pub fn label_of(ctx: &PageCtx, framework: &Framework, measure: &Measure) -> String {
    match measure {
        Measure::Score => ctx.t.overall_score.to_owned(),
        Measure::Dimension(d) => d.label(ctx.lang).to_owned(),
        Measure::Subindex(sub) => sub.label(ctx.lang).to_owned(),
        Measure::Indicator(id) => framework
            .get(id)
            .map(|d| d.name(ctx.lang).to_owned())
            .unwrap_or_else(|| id.clone()),
    }
}

fn header_label(key: SortKey, ctx: &PageCtx, measure_label: &str) -> String {
    let t = ctx.t;
    match key {
        SortKey::Rank => t.rank.to_owned(),
        SortKey::Name => t.region.to_owned(),
        SortKey::Group => t.group.to_owned(),
        SortKey::Value => measure_label.to_owned(),
        SortKey::Change => t.rank_change.to_owned(),
        SortKey::Score => t.overall_score.to_owned(),
        SortKey::Laborers => Dimension::Laborers.label(ctx.lang).to_owned(),
        SortKey::Tools => Dimension::Tools.label(ctx.lang).to_owned(),
        SortKey::Objects => Dimension::Objects.label(ctx.lang).to_owned(),
        SortKey::Subindex(sub) => sub.label(ctx.lang).to_owned(),
    }
}

fn sort_url(ctx: &PageCtx, key: SortKey, descending: bool) -> String {
    ctx.with_params(&[
        ("sort", key.as_str()),
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
