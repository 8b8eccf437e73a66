//! `/regions/{code}/brief` — a region's two-page print brief (A4; the `@media print` rules of
//! `static/style.css` hide the site chrome and break before page 2). Page 1: score and rank over
//! the years (chart and table) and the three dimensions against the national mean (radar and
//! table). Page 2: strengths and weaknesses, the largest obstacles, coupling coordination, the
//! change decomposition by dimension when there is one, the method and the data sources.
//!
//! Every number comes from one `service::brief::BriefView` (built from the region page's
//! profile and diagnosis; its `?format=` download is that view, with the score history as the
//! table) and the region page's change section; the page only lays them out for paper.

use askama::Template;
use axum::extract::{Path, State};

use super::{PageResult, fmt_num, fmt_rank, render};
use crate::service::analysis::region_diagnosis;
use crate::service::brief::{self, BriefView, DimensionGap};
use crate::service::dashboard::{Dataset, IndicatorStanding, TrendPoint};
use crate::service::download::SHORT_VERSION;
use crate::service::publish::cite::Publisher;
use crate::types::Dimension;
use crate::web::chrome::Chrome;
use crate::web::ctx::PageCtx;
use crate::web::download::{ViewDownloads, view_file};
use crate::web::i18n::AnalysisTexts;
use crate::web::state::AppState;

pub struct HistoryRow {
    pub year: i32,
    pub score: String,
    pub rank: String,
    pub dims: Vec<String>,
}

pub struct DimRow {
    pub label: &'static str,
    pub value: String,
    pub mean: String,
    /// Value minus the national mean, signed.
    pub gap: String,
}

pub struct Listed {
    pub name: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "pages/brief.html")]
pub struct BriefPage {
    pub downloads: ViewDownloads,
    pub chrome: Chrome,
    pub zh: bool,
    pub a: &'static AnalysisTexts,
    pub code: String,
    pub name: String,
    pub group: String,
    pub year: i32,
    pub first_year: i32,
    pub region_url: String,
    pub score: String,
    pub rank: String,
    pub regions_ranked: usize,
    pub dim_labels: Vec<&'static str>,
    pub history: Vec<HistoryRow>,
    pub trend_svg: String,
    pub radar_svg: String,
    pub dims: Vec<DimRow>,
    pub strengths: Vec<Listed>,
    pub weaknesses: Vec<Listed>,
    pub obstacles: Vec<Listed>,
    pub coupling: Option<(String, String)>,
    pub no_diagnosis: &'static str,
    pub change: Option<super::change::ChangeSection>,
    pub framework: String,
    pub method: String,
    pub dataset: String,
    pub version: String,
    pub nqp_version: String,
    pub sources: Vec<Publisher>,
}

pub async fn page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ctx: PageCtx,
) -> PageResult {
    let (ds, tables, profile) = super::region::load_profile(&state, &ctx, &code).await?;
    let analyses = super::region::analyses(&state, &ctx, &ds).await?;
    let diagnosis = region_diagnosis(&analyses, &profile.code, profile.year);
    let view = brief::brief(&ds, &profile, &diagnosis, ctx.lang);
    let name = format!("brief-{}-{}", view.code, view.year);
    if let Some(file) = view_file(&ctx, &ds, &tables, &name, &view, &view.history, None).await? {
        return Ok(file);
    }
    let change = super::change::section(&state, &ctx, &ds, &view.code).await?;
    let charts = (
        super::region::trend_charts(&ctx, &profile, false),
        super::region::dimensions_radar(&ctx, &profile),
    );
    render(&BriefPage::new(&ctx, &ds, &view, charts, change))
}

impl BriefPage {
    fn new(
        ctx: &PageCtx,
        ds: &Dataset,
        view: &BriefView,
        (trend_svg, radar_svg): (String, String),
        change: Option<super::change::ChangeSection>,
    ) -> BriefPage {
        let lang = ctx.lang;
        let a = AnalysisTexts::get(lang);
        let rank_of = |r: Option<u32>| {
            r.map(|r| format!("{}{r}/{}", ctx.t.rank, view.regions_ranked))
                .unwrap_or_else(|| "—".into())
        };
        let standings = |list: &[IndicatorStanding]| -> Vec<Listed> {
            list.iter()
                .map(|s| Listed {
                    name: s.name.clone(),
                    detail: rank_of(s.rank),
                })
                .collect()
        };
        BriefPage {
            downloads: ViewDownloads::new(ctx, ds, &[]),
            chrome: Chrome::new(ctx, ds, ""),
            zh: lang == crate::types::Lang::Zh,
            a,
            code: view.code.clone(),
            name: view.name.clone(),
            group: super::region::group_of(view.group.as_deref(), lang),
            year: view.year,
            first_year: view.first_year,
            region_url: ctx.region_url(&view.code),
            score: fmt_num(view.scores.score, 2),
            rank: fmt_rank(view.rank),
            regions_ranked: view.regions_ranked,
            dim_labels: Dimension::ALL.iter().map(|d| d.label(lang)).collect(),
            history: view.history.iter().map(HistoryRow::new).collect(),
            trend_svg,
            radar_svg,
            dims: view
                .dimensions
                .iter()
                .map(|g| DimRow::new(g, lang))
                .collect(),
            strengths: standings(&view.strengths),
            weaknesses: standings(&view.weaknesses),
            obstacles: view
                .obstacles
                .iter()
                .map(|o| Listed {
                    name: o.name.clone(),
                    detail: format!("{} %", fmt_num(Some(o.obstacle_pct), 2)),
                })
                .collect(),
            coupling: view.coupling.as_ref().map(|c| {
                (
                    fmt_num(Some(c.d), 4),
                    format!("{} · {}", c.class.level(), c.class.label(lang)),
                )
            }),
            no_diagnosis: super::region::no_diagnosis(a, view.diagnosis_skipped),
            change,
            framework: view.framework.clone(),
            method: ctx.method_summary(),
            dataset: view.dataset.clone(),
            version: view.version.chars().take(SHORT_VERSION).collect(),
            nqp_version: view.nqp_version.clone(),
            sources: view.sources.clone(),
        }
    }
}

impl HistoryRow {
    fn new(p: &TrendPoint) -> HistoryRow {
        HistoryRow {
            year: p.year,
            score: fmt_num(p.scores.score, 2),
            rank: fmt_rank(p.rank),
            dims: Dimension::ALL
                .iter()
                .map(|&d| fmt_num(p.scores.dimension(d), 2))
                .collect(),
        }
    }
}

impl DimRow {
    fn new(g: &DimensionGap, lang: crate::types::Lang) -> DimRow {
        DimRow {
            label: g.dimension.label(lang),
            value: fmt_num(g.value, 2),
            mean: fmt_num(g.national_mean, 2),
            gap: g.gap.map_or_else(|| "—".into(), |gap| format!("{gap:+.2}")),
        }
    }
}
