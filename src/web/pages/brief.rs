//! `/regions/{code}/brief` — a region's two-page print brief (A4; the `@media print` rules of
//! `static/style.css` hide the site chrome and break before page 2). Page 1: score and rank over
//! the years (chart and table) and the three dimensions against the national mean (radar and
//! table). Page 2: strengths and weaknesses, the largest obstacles, coupling coordination, the
//! change decomposition by dimension when there is one, the method and the data sources.
//!
//! Every number comes from the views the region page uses (`dashboard::region_profile`,
//! `analysis::region_diagnosis`, the change section), the download metadata and the data
//! publishers of the Cite box (`service::publish::cite::publishers`); the
//! brief only lays them out for paper.

use askama::Template;
use axum::extract::{Path, State};

use super::{PageResult, fmt_num, fmt_rank, render};
use crate::service::analysis::RegionDiagnosis;
use crate::service::dashboard::{Dataset, IndicatorStanding, RegionProfile, TrendPoint};
use crate::service::download::SHORT_VERSION;
use crate::service::publish::cite::{Publisher, publishers};
use crate::types::{Dimension, Lang};
use crate::web::chrome::Chrome;
use crate::web::ctx::PageCtx;
use crate::web::download::{ViewDownloads, view_file};
use crate::web::i18n::AnalysisTexts;
use crate::web::state::AppState;

/// Strengths, weaknesses and obstacles listed on paper (the page lists up to 5 of each).
const LISTED: usize = 5;

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
    let name = format!("brief-{}-{}", profile.code, profile.year);
    let file = view_file(&ctx, &ds, &tables, &name, &profile, &profile.trend, None).await?;
    if let Some(file) = file {
        return Ok(file);
    }
    let (diagnosis, change) =
        super::region::diagnosis_and_change(&state, &ctx, &ds, &profile).await?;
    render(&BriefPage::new(&ctx, &ds, &profile, &diagnosis, change))
}

impl BriefPage {
    fn new(
        ctx: &PageCtx,
        ds: &Dataset,
        profile: &RegionProfile,
        diagnosis: &RegionDiagnosis,
        change: Option<super::change::ChangeSection>,
    ) -> BriefPage {
        let lang = ctx.lang;
        let a = AnalysisTexts::get(lang);
        let rank_of = |r: Option<u32>| {
            r.map(|r| format!("{}{r}/{}", ctx.t.rank, profile.regions_ranked))
                .unwrap_or_else(|| "—".into())
        };
        let standings = |list: &[IndicatorStanding]| -> Vec<Listed> {
            list.iter()
                .take(LISTED)
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
            code: profile.code.clone(),
            name: profile.name.clone(),
            group: super::region::group_of(profile, lang),
            year: profile.year,
            first_year: profile.trend.first().map_or(profile.year, |p| p.year),
            region_url: ctx.region_url(&profile.code),
            score: fmt_num(profile.current.scores.score, 2),
            rank: fmt_rank(profile.current.rank),
            regions_ranked: profile.regions_ranked,
            dim_labels: Dimension::ALL.iter().map(|d| d.label(lang)).collect(),
            history: profile.trend.iter().map(HistoryRow::new).collect(),
            trend_svg: super::region::trend_charts(ctx, profile, false),
            radar_svg: super::region::dimensions_radar(ctx, profile),
            dims: Dimension::ALL
                .iter()
                .map(|&d| DimRow::new(profile, d, lang))
                .collect(),
            strengths: standings(&profile.strengths),
            weaknesses: standings(&profile.weaknesses),
            obstacles: diagnosis
                .top
                .iter()
                .take(LISTED)
                .map(|o| Listed {
                    name: ds.indicator_name(&o.indicator, lang),
                    detail: format!("{} %", fmt_num(Some(o.obstacle_pct), 2)),
                })
                .collect(),
            coupling: diagnosis.coupling.as_ref().map(|c| {
                (
                    fmt_num(Some(c.d), 4),
                    format!("{} · {}", c.class.level(), c.class.label(lang)),
                )
            }),
            no_diagnosis: super::region::no_diagnosis(a, diagnosis),
            change,
            framework: lang
                .pick(&ds.framework.index.name_zh, &ds.framework.index.name_en)
                .to_owned(),
            method: ctx.method_summary(),
            dataset: ds.title(lang).to_owned(),
            version: ds.version.chars().take(SHORT_VERSION).collect(),
            nqp_version: env!("CARGO_PKG_VERSION").to_owned(),
            sources: publishers(ds),
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
    fn new(profile: &RegionProfile, d: Dimension, lang: Lang) -> DimRow {
        let (v, m) = (
            profile.current.scores.dimension(d),
            profile.national_mean.scores.dimension(d),
        );
        DimRow {
            label: d.label(lang),
            value: fmt_num(v, 2),
            mean: fmt_num(m, 2),
            gap: match (v, m) {
                (Some(v), Some(m)) => format!("{:+.2}", v - m),
                _ => "—".into(),
            },
        }
    }
}
