//! "What drove the change": the decomposition of a region's score change between two years
//! (`from=`, `to=`; default first → last year) into indicator and dimension contributions, as
//! a section of `/regions/{code}` (`templates/pages/region_change.html`) and as its own page
//! `/regions/{code}/change`, which also answers `?format=csv|xlsx|json|parquet`
//! (`table=indicators|dimensions`).
//!
//! Owns: the section's layout (waterfalls, data tables, exactness statement, year form).
//! Must not: compute (`service::robustness::change` on the cached baseline).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};

use super::{PageResult, fmt_num, render};
use crate::chart::waterfall::{self, Step, WaterfallSpec};
use crate::service::dashboard::Dataset;
use crate::service::robustness::{ChangeRow, ChangeView, change};
use crate::types::Lang;
use crate::web::chrome::Chrome;
use crate::web::ctx::PageCtx;
use crate::web::download::view_file;
use crate::web::error::WebError;
use crate::web::state::AppState;

pub struct ChangeCells {
    pub name: String,
    pub dimension: String,
    pub contribution: String,
}

/// Everything `region_change.html` shows.
pub struct ChangeSection {
    pub zh: bool,
    pub code: String,
    pub from: i32,
    pub to: i32,
    pub years: Vec<i32>,
    /// Hidden fields of the year form (shared parameters and the region page's year).
    pub hidden: Vec<(String, String)>,
    pub score_from: String,
    pub score_to: String,
    pub delta: String,
    pub exact: bool,
    pub residual: String,
    pub dimension_svg: String,
    pub indicator_svg: String,
    pub indicators: Vec<ChangeCells>,
    pub dimensions: Vec<ChangeCells>,
    /// `(label, url)` of the downloads of the decomposition.
    pub downloads: Vec<(String, String)>,
}

/// The decomposition of `code` for the request's `from`/`to` (`None` when the defaults have
/// no score for the region; a year the reader chose that has none is an error).
pub async fn section(
    state: &AppState,
    ctx: &PageCtx,
    ds: &Arc<Dataset>,
    code: &str,
) -> Result<Option<ChangeSection>, WebError> {
    match view(state, ctx, ds, code).await {
        Ok(view) => Ok(Some(layout(ctx, &view))),
        Err(WebError::App(crate::Error::NotFound { .. }))
            if ctx.param("from").is_none() && ctx.param("to").is_none() =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The one service call behind the section, the page and the API.
async fn view(
    state: &AppState,
    ctx: &PageCtx,
    ds: &Arc<Dataset>,
    code: &str,
) -> Result<ChangeView, WebError> {
    let (from, to) = (ctx.year_param("from")?, ctx.year_param("to")?);
    let base = state.baseline_for(Arc::clone(ds), &ctx.spec).await?;
    Ok(change(&base, &ds.framework, code, from, to, ctx.lang)?)
}

fn signed(x: f64) -> String {
    if x.is_finite() {
        format!("{x:+.3}")
    } else {
        "—".into()
    }
}

fn steps(view: &ChangeView, rows: &[ChangeRow], sort: bool, lang: Lang) -> Vec<Step> {
    let mut middle: Vec<Step> = rows
        .iter()
        .map(|r| Step {
            label: r.name.clone(),
            value: r.contribution,
            display: signed(r.contribution),
            total: false,
        })
        .collect();
    if sort {
        middle.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
    }
    if !view.exact {
        middle.push(Step {
            label: lang.pick("残差", "residual").into(),
            value: view.residual,
            display: signed(view.residual),
            total: false,
        });
    }
    let total = |year: i32, v: f64| Step {
        label: year.to_string(),
        value: v,
        display: fmt_num(Some(v), 2),
        total: true,
    };
    let mut out = vec![total(view.year_from, view.score_from)];
    out.extend(middle);
    out.push(total(view.year_to, view.score_to));
    out
}

fn layout(ctx: &PageCtx, view: &ChangeView) -> ChangeSection {
    let lang = ctx.lang;
    let cells = |rows: &[ChangeRow]| -> Vec<ChangeCells> {
        rows.iter()
            .map(|r| ChangeCells {
                name: r.name.clone(),
                dimension: r
                    .dimension
                    .parse::<crate::types::Dimension>()
                    .map_or_else(|_| r.dimension.clone(), |d| d.label(lang).to_owned()),
                contribution: signed(r.contribution),
            })
            .collect()
    };
    let mut hidden = ctx.hidden_fields();
    if let Some(y) = ctx.param("year") {
        hidden.push(("year".into(), y.to_owned()));
    }
    ChangeSection {
        zh: lang == Lang::Zh,
        code: view.region.clone(),
        from: view.year_from,
        to: view.year_to,
        years: view.years.clone(),
        hidden,
        score_from: fmt_num(Some(view.score_from), 3),
        score_to: fmt_num(Some(view.score_to), 3),
        delta: signed(view.score_to - view.score_from),
        exact: view.exact,
        residual: signed(view.residual),
        dimension_svg: chart(ctx, view, false),
        indicator_svg: chart(ctx, view, true),
        indicators: cells(&view.indicators),
        dimensions: cells(&view.dimensions),
        downloads: downloads(ctx, view),
    }
}

/// The waterfall by indicator (largest contributions first) or by dimension.
fn chart(ctx: &PageCtx, view: &ChangeView, by_indicator: bool) -> String {
    let lang = ctx.lang;
    let (id, rows, by, width) = if by_indicator {
        (
            "change-indicators",
            &view.indicators,
            lang.pick("按指标", "by indicator"),
            760.0,
        )
    } else {
        (
            "change-dimensions",
            &view.dimensions,
            lang.pick("按维度", "by dimension"),
            480.0,
        )
    };
    let what = lang.pick("变化的来源", "What drove the change");
    waterfall::render(&WaterfallSpec {
        head: ctx.chart_head(id, &format!("{what} {} → {} · {by}", view.year_from, view.year_to), lang.pick(
                "起始年份得分、各项贡献（按得分点）与结束年份得分；数据见下表",
                "Score in the first year, each contribution (score points) and the score in the last year; the data are in the table below",
            )),
        steps: &steps(view, rows, by_indicator, lang),
        width,
    })
}

/// The decomposition's tables as CSV and JSON, for the section's years.
fn downloads(ctx: &PageCtx, view: &ChangeView) -> Vec<(String, String)> {
    let (from, to) = (view.year_from.to_string(), view.year_to.to_string());
    let path = format!("/regions/{}/change", view.region);
    let tables = [
        ("indicators", ctx.lang.pick("指标", "indicators")),
        ("dimensions", ctx.lang.pick("维度", "dimensions")),
    ];
    tables
        .into_iter()
        .flat_map(|(table, label)| {
            ["csv", "json"].map(|format| {
                let pairs = [
                    ("from", from.as_str()),
                    ("to", &to),
                    ("table", table),
                    ("format", format),
                ];
                (
                    format!("{label}: {}", format.to_uppercase()),
                    ctx.url(&path, &pairs),
                )
            })
        })
        .collect()
}

#[derive(Template)]
#[template(path = "pages/change.html")]
pub struct ChangePage {
    pub chrome: Chrome,
    pub name: String,
    pub region_url: String,
    pub change: Option<ChangeSection>,
}

/// `/regions/{code}/change`: the section alone, or its tables as files (`format=`).
pub async fn page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ctx: PageCtx,
) -> PageResult {
    let (ds, tables) = super::load(&state, &ctx).await?;
    let view = view(&state, &ctx, &ds, &code).await?;
    let name = format!("change-{code}-{}-{}", view.year_from, view.year_to);
    let rows = match ctx.table(&["indicators", "dimensions"])? {
        "dimensions" => &view.dimensions,
        _ => &view.indicators,
    };
    if let Some(file) = view_file(&ctx, &ds, &tables, &name, &view, rows, None).await? {
        return Ok(file);
    }
    render(&ChangePage {
        chrome: Chrome::new(&ctx, &ds, ""),
        name: ds.region_name(&code, ctx.lang),
        region_url: ctx.region_url(&code),
        change: Some(layout(&ctx, &view)),
    })
}

/// `/api/v1/regions/{code}/change`: the decomposition the waterfall draws, as JSON.
#[utoipa::path(get, path = "/api/v1/regions/{code}/change", tag = "api",
    params(("code" = String, Path, description = "Region code, e.g. CN-GD."),
           ("from" = Option<i32>, Query, description = "First year; default the first panel year."),
           ("to" = Option<i32>, Query, description = "Last year; default the last panel year.")),
    responses((status = 200, body = ChangeView),
              crate::web::error::BadQuery,
              (status = 404, description = "Unknown region or year, or no score in a year.", body = crate::web::error::Problem)))]
pub async fn api(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ctx: PageCtx,
) -> Result<axum::Json<ChangeView>, WebError> {
    let ds = state.resolve(ctx.dataset.as_deref(), ctx.version).await?;
    Ok(axum::Json(view(&state, &ctx, &ds, &code).await?))
}
