//! `/sandbox` — the weight sandbox: the reader sets dimension weights (`d.<dimension>=`) and
//! indicator weights (`w.<indicator>=`) in a plain GET form (the URL is the permalink), nqp
//! recomputes the year on the server and shows scores, ranks and the shift against the nominal
//! ranking; `static/app.js` adds sliders that refresh the table from `/api/v1/sandbox`.
//!
//! Owns: laying out the sandbox view. Must not: compute (`service::sandbox` on the cached
//! baseline).

use std::sync::Arc;

use askama::Template;
use axum::extract::State;

use super::{PageResult, fmt_num, render};
use crate::chart::map::MapValue;
use crate::service::sandbox::{self, SandboxInput, SandboxView};
use crate::web::chrome::Chrome;
use crate::web::ctx::{PageCtx, YearParam};
use crate::web::download::{ViewDownloads, view_file};
use crate::web::error::WebError;
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "pages/sandbox.html")]
pub struct SandboxPage {
    pub chrome: Chrome,
    pub zh: bool,
    pub hidden: Vec<(String, String)>,
    pub view: SandboxView,
    pub reset_url: String,
    pub robustness_url: String,
    pub api_url: String,
    pub downloads: ViewDownloads,
    pub map_svg: String,
    /// For the region links of the table.
    pub ctx: PageCtx,
}

impl SandboxPage {
    /// A weight as the form shows it (enough digits to round-trip the nominal weights' look).
    pub fn weight(&self, w: &f64) -> String {
        let s = format!("{w:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s.is_empty() {
            "0".into()
        } else {
            s.to_owned()
        }
    }

    pub fn pct(&self, w: &f64) -> String {
        fmt_num(Some(100.0 * w), 1)
    }

    pub fn num(&self, x: &Option<f64>) -> String {
        fmt_num(*x, 2)
    }

    pub fn region_url(&self, code: &str) -> String {
        self.reset_url
            .replacen("/sandbox", &format!("/regions/{code}"), 1)
    }
}

/// The choropleth of the sandbox scores (colour classes: the year's sandbox scores).
fn map(ctx: &PageCtx, view: &SandboxView) -> String {
    let values: Vec<MapValue> = view
        .rows
        .iter()
        .map(|r| MapValue {
            code: r.region.clone(),
            name: r.name.clone(),
            value: r.score,
            rank: r.rank,
            display: fmt_num(r.score, 2),
        })
        .collect();
    let scores: Vec<f64> = view.rows.iter().filter_map(|r| r.score).collect();
    let title = format!(
        "{} · {}",
        ctx.lang.pick("沙盒得分", "Sandbox score"),
        view.year
    );
    super::rankings::render_map(ctx, &values, &scores, &title)
}

/// The sandbox view of a request: parse the weights against the cached baseline, recompute.
pub async fn view(state: &AppState, ctx: &PageCtx) -> Result<SandboxView, WebError> {
    let ds = state.resolve(ctx.dataset.as_deref(), ctx.version).await?;
    let base = state.baseline_for(Arc::clone(&ds), &ctx.spec).await?;
    let input = SandboxInput::parse(&base, &ctx.query, ctx.year()?, ctx.lang)?
        .map_err(|b| WebError::invalid_parameter(&b.name, b.detail))?;
    Ok(sandbox::sandbox(&ds, &base, &input, ctx.lang)?)
}

/// `/api/v1/sandbox`: the view the page shows, as JSON (what the sliders fetch).
#[utoipa::path(get, path = "/api/v1/sandbox", tag = "api",
    params(YearParam,
           ("d.laborers" = Option<f64>, Query, description = "Dimension weight (≥ 0); also d.tools, d.objects. Default: the dimension's share of the nominal weights."),
           ("w.{indicator}" = Option<f64>, Query, description = "Weight of a scored indicator within its dimension (≥ 0), one parameter per indicator. Default: its nominal weight.")),
    responses((status = 200, body = SandboxView),
              (status = 400, description = "A weight that is not a finite number ≥ 0, an unknown dimension or indicator, or every effective weight zero.", body = crate::web::error::Problem),
              (status = 404, body = crate::web::error::Problem)))]
pub async fn api(
    State(state): State<AppState>,
    ctx: PageCtx,
) -> Result<axum::Json<SandboxView>, WebError> {
    Ok(axum::Json(view(&state, &ctx).await?))
}

/// `/sandbox`.
pub async fn page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let (ds, tables) = super::load(&state, &ctx).await?;
    let view = view(&state, &ctx).await?;
    let name = format!("sandbox-{}", view.year);
    let manual = Some(view.manual_weights());
    let file = if ctx.table(&["scores", "weights"])? == "weights" {
        let name = format!("{name}-weights");
        view_file(&ctx, &ds, &tables, &name, &view, &view.indicators, manual).await?
    } else {
        view_file(&ctx, &ds, &tables, &name, &view, &view.rows, manual).await?
    };
    if let Some(file) = file {
        return Ok(file);
    }
    let map_svg = map(&ctx, &view);
    render(&SandboxPage {
        chrome: Chrome::new(&ctx, &ds, "analysis"),
        zh: ctx.lang == crate::types::Lang::Zh,
        hidden: ctx.hidden_fields(),
        reset_url: ctx.url("/sandbox", &[]),
        robustness_url: ctx.url("/analysis/robustness", &[]),
        api_url: ctx.url("/api/v1/sandbox", &[]),
        downloads: ViewDownloads::new(&ctx, &ds, &["scores", "weights"]),
        map_svg,
        view,
        ctx,
    })
}
