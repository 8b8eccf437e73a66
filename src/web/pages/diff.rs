//! `/datasets/{id}/diff?from=&to=`: what changed between two versions of a dataset and what it
//! did to the results (docs/method.md §1.2), as a page (a GET form picks the versions), as its
//! tables in files (`format=`, `table=effect|revised|added|removed`) and as JSON at
//! `/api/v1/datasets/{id}/diff`.
//!
//! Owns: parsing the two version numbers and laying the view out. Must not: compute
//! (`service::diff::version_diff`, cached by `AppState::diff_for`).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};

use super::{PageResult, fmt_num, fmt_rank, render};
use crate::service::dashboard::Dataset;
use crate::service::diff::{CellValue, RankEffect, VersionDiff};
use crate::service::download::rows_frame;
use crate::web::chrome::Chrome;
use crate::web::ctx::PageCtx;
use crate::web::download::{ViewDownloads, frame_file};
use crate::web::error::WebError;
use crate::web::i18n::RevisionTexts;
use crate::web::state::AppState;

/// The tables of the page, the `table=` of its downloads (the first is the default).
const TABLES: [&str; 4] = ["effect", "revised", "added", "removed"];

fn number(ctx: &PageCtx, key: &str) -> Result<Option<u32>, WebError> {
    ctx.param(key)
        .map(|raw| {
            raw.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                WebError::invalid_parameter(
                    key,
                    format!("'{raw}' is not a version number (1, 2, …)"),
                )
            })
        })
        .transpose()
}

/// Both versions (default: the latest and the one before it) and their diff under the page's
/// method (cached: `AppState::diff_for`).
async fn load(
    state: &AppState,
    ctx: &PageCtx,
    id: &str,
) -> Result<(Arc<Dataset>, Arc<VersionDiff>), WebError> {
    let (from, to) = (number(ctx, "from")?, number(ctx, "to")?);
    let to_ds = state.resolve(Some(id), to).await?;
    let to = to_ds.number.unwrap_or(1);
    let from = from.unwrap_or(to.saturating_sub(1).max(1));
    // A dataset served without a store has one version: its diff with itself is empty.
    let from_ds = if from == to {
        Arc::clone(&to_ds)
    } else {
        state.resolve(Some(id), Some(from)).await?
    };
    let view = state
        .diff_for(from_ds, Arc::clone(&to_ds), (from, to), &ctx.spec)
        .await?;
    Ok((to_ds, view))
}

pub struct EffectRow {
    pub region: String,
    pub name: String,
    pub score_from: String,
    pub rank_from: String,
    pub score_to: String,
    pub rank_to: String,
    pub rank_change: String,
    pub rank_change_revisions: String,
}

pub struct CellRow {
    pub region: String,
    pub year: i32,
    pub indicator: String,
    pub value: String,
}

#[derive(Template)]
#[template(path = "pages/diff.html")]
pub struct DiffPage {
    pub chrome: Chrome,
    pub r: &'static RevisionTexts,
    pub id: String,
    pub from: u32,
    pub to: u32,
    pub hidden: Vec<(String, String)>,
    pub year: String,
    pub indicators_added: Vec<String>,
    pub indicators_removed: Vec<String>,
    pub effect: Vec<EffectRow>,
    pub revised: Vec<super::datasets::RevisedRow>,
    pub added: Vec<CellRow>,
    pub removed: Vec<CellRow>,
    pub downloads: ViewDownloads,
}

fn signed(change: Option<i64>) -> String {
    change.map_or_else(|| "—".to_owned(), |c| format!("{c:+}"))
}

fn cell_rows(cells: &[CellValue]) -> Vec<CellRow> {
    cells
        .iter()
        .map(|c| CellRow {
            region: c.region.clone(),
            year: c.year,
            indicator: c.indicator.clone(),
            value: c.value.to_string(),
        })
        .collect()
}

fn effect_rows(ctx: &PageCtx, ds: &Dataset, rows: &[RankEffect]) -> Vec<EffectRow> {
    rows.iter()
        .map(|e| EffectRow {
            name: ds.region_name(&e.region, ctx.lang),
            region: e.region.clone(),
            score_from: fmt_num(e.score_from, 3),
            rank_from: fmt_rank(e.rank_from),
            score_to: fmt_num(e.score_to, 3),
            rank_to: fmt_rank(e.rank_to),
            rank_change: signed(e.rank_change),
            rank_change_revisions: signed(e.rank_change_revisions),
        })
        .collect()
}

/// `/datasets/{id}/diff`: the page, or one of its tables as a file (`format=`, `table=`).
pub async fn page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ctx: PageCtx,
) -> PageResult {
    let (ds, view) = load(&state, &ctx, &id).await?;
    let table = ctx.table(&TABLES)?;
    if ctx.param("format").is_some() {
        let tables = state.tables_for(Arc::clone(&ds), &ctx.spec).await?;
        let name = format!("diff-v{}-v{}-{table}", view.from, view.to);
        let rows = match table {
            "effect" => rows_frame(&view.effect),
            "revised" => rows_frame(&view.revised),
            "added" => rows_frame(&view.added),
            _ => rows_frame(&view.removed),
        }?;
        return frame_file(&ctx, &ds, &tables, &name, view.as_ref(), rows, None).await;
    }
    let mut hidden = ctx.hidden_fields();
    hidden.retain(|(k, _)| k != "from" && k != "to");
    render(&DiffPage {
        chrome: Chrome::new(&ctx, &ds, "datasets"),
        r: RevisionTexts::get(ctx.lang),
        id: view.dataset.clone(),
        from: view.from,
        to: view.to,
        hidden,
        year: view.year.map_or_else(|| "—".to_owned(), |y| y.to_string()),
        indicators_added: view.indicators_added.clone(),
        indicators_removed: view.indicators_removed.clone(),
        effect: effect_rows(&ctx, &ds, &view.effect),
        revised: view.revised.iter().map(Into::into).collect(),
        added: cell_rows(&view.added),
        removed: cell_rows(&view.removed),
        downloads: ViewDownloads::new(&ctx, &ds, &TABLES),
    })
}

/// `/api/v1/datasets/{id}/diff`: the diff the page shows, as JSON.
#[utoipa::path(get, path = "/api/v1/datasets/{id}/diff", tag = "api",
    params(("id" = String, Path, description = "Dataset id."),
           ("from" = Option<u32>, Query, description = "Old version number; default the one before `to`."),
           ("to" = Option<u32>, Query, description = "New version number; default the latest.")),
    responses((status = 200, body = VersionDiff),
              crate::web::error::BadQuery,
              (status = 404, description = "Unknown dataset or version.", body = crate::web::error::Problem)))]
pub async fn api(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ctx: PageCtx,
) -> Result<axum::Json<VersionDiff>, WebError> {
    let view = load(&state, &ctx, &id).await?.1;
    Ok(axum::Json(Arc::unwrap_or_clone(view)))
}
