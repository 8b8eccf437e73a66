//! `/indicators/{id}` — one indicator: definition, unit, source, direction, weight, coverage,
//! its map (normalised values, so darker is always better) and a table of every region.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};

use super::rankings::render_map;
use super::{PageResult, fmt_num, fmt_rank, fmt_raw, render, sort_key};
use crate::chart::map::MapValue;
use crate::service::dashboard::{self, Dataset, IndicatorPage, ResultTables};
use crate::web::chrome::Chrome;
use crate::web::ctx::PageCtx;
use crate::web::download::{ViewDownloads, view_file};
use crate::web::error::WebError;
use crate::web::state::AppState;

pub struct Row {
    pub rank: String,
    pub name: String,
    pub url: String,
    pub raw: String,
    pub raw_sort: String,
    pub z: String,
    pub imputed: bool,
}

#[derive(Template)]
#[template(path = "pages/indicator.html")]
pub struct IndicatorPageView {
    pub downloads: ViewDownloads,
    pub chrome: Chrome,
    pub id: String,
    pub name: String,
    pub facts: Vec<(&'static str, String)>,
    pub formula: String,
    pub description: String,
    pub excluded: bool,
    pub year: i32,
    pub years: Vec<(i32, bool)>,
    pub hidden: Vec<(String, String)>,
    pub map_svg: String,
    pub rows: Vec<Row>,
    pub rankings_url: String,
}

pub async fn page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ctx: PageCtx,
) -> PageResult {
    let (ds, tables, view) = load_view(&state, &ctx, &id).await?;
    let name = format!("indicator-{id}-{}", view.year);
    if let Some(file) = view_file(&ctx, &ds, &tables, &name, &view, &view.rows, None).await? {
        return Ok(file);
    }
    render(&IndicatorPageView::new(&ctx, &ds, &view))
}

/// The request's dataset, its cached results, and the view of indicator `id` in the requested
/// year: what the page and `/api/v1/indicators/{id}` show.
pub(crate) async fn load_view(
    state: &AppState,
    ctx: &PageCtx,
    id: &str,
) -> Result<(Arc<Dataset>, Arc<ResultTables>, IndicatorPage), WebError> {
    let year = ctx.year()?;
    let (ds, tables) = super::load(state, ctx).await?;
    let view = dashboard::indicator_page(&ds, &tables, id, year, ctx.lang)?;
    Ok((ds, tables, view))
}

/// The definition list: dimension, sub-dimension, direction, unit, source, weight, coverage,
/// publisher and level, as far as the framework gives them.
fn facts(ctx: &PageCtx, ds: &Dataset, view: &IndicatorPage) -> Vec<(&'static str, String)> {
    let (t, lang) = (ctx.t, ctx.lang);
    let direction = if view.direction == "-" {
        t.direction_cost
    } else {
        t.direction_benefit
    };
    let coverage = view.coverage.map(|c| format!("{:.0}%", c * 100.0));
    let mut facts = vec![
        (t.dimension, view.dimension.label(lang).to_owned()),
        (t.direction, direction.to_owned()),
        (t.unit, view.unit.clone()),
        (t.source, view.source.clone()),
        (t.weight, fmt_num(view.weight, 4)),
        (t.coverage, coverage.unwrap_or_else(|| "—".into())),
    ];
    if let Some(sub) = &view.subdimension {
        facts.insert(1, (t.subdimension, sub.clone()));
    }
    if let Some(p) = &view.publisher {
        facts.push((t.publisher, p.clone()));
    }
    if let Some(level) = ds.framework.get(&view.id).and_then(|d| d.level) {
        facts.push((t.level, level.label(lang).to_owned()));
    }
    facts
}

impl IndicatorPageView {
    fn new(ctx: &PageCtx, ds: &Dataset, view: &IndicatorPage) -> IndicatorPageView {
        let values: Vec<MapValue> = view
            .rows
            .iter()
            .map(|r| MapValue {
                code: r.code.clone(),
                name: r.name.clone(),
                value: r.z,
                rank: r.rank,
                display: format!("{} {}", fmt_raw(r.raw), view.unit),
            })
            .collect();
        let title = format!("{} · {}", view.name, view.year);
        IndicatorPageView {
            downloads: ViewDownloads::new(ctx, ds, &[]),
            chrome: Chrome::new(ctx, ds, ""),
            id: view.id.clone(),
            name: view.name.clone(),
            facts: facts(ctx, ds, view),
            formula: view.formula.clone().unwrap_or_default(),
            description: view.description.clone().unwrap_or_default(),
            excluded: view.excluded,
            year: view.year,
            years: view
                .years
                .iter()
                .rev()
                .map(|&y| (y, y == view.year))
                .collect(),
            hidden: ctx.hidden_fields(),
            map_svg: render_map(ctx, &values, &view.all_values, &title),
            rows: view
                .rows
                .iter()
                .map(|r| Row {
                    rank: fmt_rank(r.rank),
                    name: r.name.clone(),
                    url: ctx.region_url(&r.code),
                    raw: fmt_raw(r.raw),
                    raw_sort: sort_key(r.raw),
                    z: fmt_num(r.z, 3),
                    imputed: r.imputed,
                })
                .collect(),
            rankings_url: ctx.url(
                "/",
                &[("measure", &view.id), ("year", &view.year.to_string())],
            ),
        }
    }
}
