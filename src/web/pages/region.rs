//! `/regions/{code}` — a region's profile: dimension radar against the national mean, score and
//! rank trends, every indicator's raw value, normalised value and rank, top strengths and
//! weaknesses, and peers with similar scores.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};

use super::change::ChangeSection;
use super::{PageResult, fmt_num, fmt_rank, fmt_raw, group_label, render};
use crate::chart::NamedValues;
use crate::chart::line::{self, LineSpec, Series};
use crate::chart::radar::{self, RadarSpec};
use crate::service::analysis::{AnalysisChoice, AnalysisView, RegionDiagnosis, region_diagnosis};
use crate::service::dashboard::{
    self, Dataset, ExcludedRegion, IndicatorStanding, RegionProfile, ResultTables, TrendPoint,
};
use crate::types::{Dimension, Lang, Subindex};
use crate::web::chrome::Chrome;
use crate::web::ctx::PageCtx;
use crate::web::download::{ViewDownloads, view_file};
use crate::web::error::WebError;
use crate::web::i18n::AnalysisTexts;
use crate::web::state::AppState;

pub struct StandingRow {
    pub name: String,
    pub url: String,
    pub dimension: &'static str,
    pub raw: String,
    pub unit: String,
    pub z: String,
    pub rank: String,
    pub weight: String,
    pub imputed: bool,
}

pub struct PeerRow {
    pub name: String,
    pub url: String,
    pub score: String,
    pub rank: String,
}

pub struct ObstacleCells {
    pub name: String,
    pub url: String,
    pub dimension: String,
    pub pct: String,
}

pub struct CouplingCells {
    pub c: String,
    pub t: String,
    pub d: String,
    pub level: u8,
    pub class: &'static str,
}

/// The paper's second view of a region (Lu & Huang 2024): the intelligence-and-digital
/// sub-index beside the overall score, and the three mechanism levels against the national
/// mean. Empty for frameworks that define neither.
pub struct SubindexView {
    /// `(value, national mean)` of the intelligence-and-digital sub-index.
    pub ai_digital: Option<(String, String)>,
    pub ai_digital_label: &'static str,
    /// `(column, label, value, national mean)` per mechanism level the framework defines.
    pub levels: Vec<(&'static str, &'static str, String, String)>,
    /// The levels radar (only with all three levels: a radar needs three axes).
    pub radar_svg: Option<String>,
}

impl SubindexView {
    fn new(ctx: &PageCtx, profile: &RegionProfile) -> SubindexView {
        let lang = ctx.lang;
        let (current, mean) = (
            &profile.current.scores.subscores,
            &profile.national_mean.scores.subscores,
        );
        let levels: Vec<Subindex> = profile
            .subindices
            .iter()
            .copied()
            .filter(|s| matches!(s, Subindex::Level(_)))
            .collect();
        let radar_svg = (levels.len() >= 3).then(|| {
            radar_vs_mean(
                ctx,
                profile,
                ("levels-radar", ctx.t.levels_vs_mean),
                levels.iter().map(|s| s.label(lang).to_owned()).collect(),
                |p: &TrendPoint, i| p.scores.subscores.get(levels[i]),
            )
        });
        SubindexView {
            ai_digital: profile.subindices.contains(&Subindex::AiDigital).then(|| {
                (
                    fmt_num(current.get(Subindex::AiDigital), 2),
                    fmt_num(mean.get(Subindex::AiDigital), 2),
                )
            }),
            ai_digital_label: Subindex::AiDigital.label(lang),
            levels: levels
                .iter()
                .map(|&s| {
                    (
                        s.column(),
                        s.label(lang),
                        fmt_num(current.get(s), 2),
                        fmt_num(mean.get(s), 2),
                    )
                })
                .collect(),
            radar_svg,
        }
    }
}

pub struct YearChoice {
    pub value: i32,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "pages/region.html")]
pub struct RegionPage {
    pub downloads: ViewDownloads,
    pub chrome: Chrome,
    pub code: String,
    pub name: String,
    pub group: String,
    pub year: i32,
    pub years: Vec<YearChoice>,
    pub hidden: Vec<(String, String)>,
    pub score: String,
    pub rank: String,
    pub regions_ranked: usize,
    pub dims: Vec<(&'static str, String, String)>,
    pub radar_svg: String,
    pub score_svg: String,
    pub rank_svg: String,
    pub strengths: Vec<StandingRow>,
    pub weaknesses: Vec<StandingRow>,
    pub indicators: Vec<StandingRow>,
    pub peers: Vec<PeerRow>,
    pub compare_url: String,
    pub brief_url: String,
    pub a: &'static AnalysisTexts,
    /// The largest obstacle degrees of the year, largest first.
    pub obstacles: Vec<ObstacleCells>,
    /// Obstacle degree per dimension: (dimension label, percent).
    pub dim_obstacles: Vec<(String, String)>,
    pub coupling: Option<CouplingCells>,
    /// Why obstacles or coupling are absent: the normalisation, or no data for the year.
    pub no_diagnosis: &'static str,
    /// What drove the change between two years (`templates/pages/region_change.html`).
    pub change: Option<ChangeSection>,
    pub sub: SubindexView,
    /// Regions the framework leaves out, with its reason.
    pub excluded: Vec<ExcludedRegion>,
}

pub async fn page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ctx: PageCtx,
) -> PageResult {
    let (ds, tables, profile) = load_profile(&state, &ctx, &code).await?;
    let history = ctx.table(&["indicators", "history"])? == "history";
    let table = if history { "history" } else { "indicators" };
    let name = format!("region-{}-{}-{table}", profile.code, profile.year);
    let file = if history {
        view_file(&ctx, &ds, &tables, &name, &profile, &profile.trend, None).await?
    } else {
        view_file(
            &ctx,
            &ds,
            &tables,
            &name,
            &profile,
            &profile.indicators,
            None,
        )
        .await?
    };
    if let Some(file) = file {
        return Ok(file);
    }
    let analyses = analyses(&state, &ctx, &ds).await?;
    let diagnosis = region_diagnosis(&analyses, &profile.code, profile.year);
    let change = super::change::section(&state, &ctx, &ds, &profile.code).await?;
    render(&RegionPage::new(&ctx, &ds, &profile, &diagnosis, change))
}

/// The dataset, its result and `code`'s profile in the request's year: what the region page,
/// its brief and `/api/v1/regions/{code}` start from.
pub(crate) async fn load_profile(
    state: &AppState,
    ctx: &PageCtx,
    code: &str,
) -> Result<(Arc<Dataset>, Arc<ResultTables>, RegionProfile), WebError> {
    let year = ctx.year()?;
    let (ds, tables) = super::load(state, ctx).await?;
    let profile = dashboard::region_profile(&ds, &tables, code, year, ctx.lang)?;
    Ok((ds, tables, profile))
}

/// The cached default analyses of the request's method: the diagnosis (obstacles, coupling)
/// the region page and its brief show comes from them.
pub(super) async fn analyses(
    state: &AppState,
    ctx: &PageCtx,
    ds: &Arc<Dataset>,
) -> Result<Arc<AnalysisView>, WebError> {
    Ok(state
        .analysis_for(Arc::clone(ds), &ctx.spec, &AnalysisChoice::default())
        .await?)
}

/// The region's group (`east`, …) as a label, empty without one.
pub(super) fn group_of(group: Option<&str>, lang: Lang) -> String {
    group.map(|g| group_label(g, lang)).unwrap_or_default()
}

/// Why obstacles or coupling are absent: the normalisation, or no data for the year.
pub(super) fn no_diagnosis(a: &'static AnalysisTexts, skipped: bool) -> &'static str {
    if skipped {
        a.diagnosis_needs_unit
    } else {
        a.no_diagnosis
    }
}

/// The three dimensions against the national mean (also the brief's).
pub(super) fn dimensions_radar(ctx: &PageCtx, profile: &RegionProfile) -> String {
    radar_vs_mean(
        ctx,
        profile,
        ("radar", ctx.t.dimensions_vs_mean),
        Dimension::ALL
            .iter()
            .map(|d| d.label(ctx.lang).to_owned())
            .collect(),
        |p: &TrendPoint, i| p.scores.dimension(Dimension::ALL[i]),
    )
}

impl RegionPage {
    fn new(
        ctx: &PageCtx,
        ds: &Dataset,
        profile: &RegionProfile,
        diagnosis: &RegionDiagnosis,
        change: Option<ChangeSection>,
    ) -> Self {
        let lang = ctx.lang;
        let standing = |s: &IndicatorStanding| StandingRow {
            name: s.name.clone(),
            url: ctx.indicator_url(&s.id),
            dimension: s.dimension.label(lang),
            raw: fmt_raw(s.raw),
            unit: s.unit.clone(),
            z: fmt_num(s.z, 3),
            rank: s
                .rank
                .map(|r| format!("{r}/{}", profile.regions_ranked))
                .unwrap_or_else(|| "—".into()),
            weight: fmt_num(s.weight, 4),
            imputed: s.imputed,
        };
        let (current, mean) = (&profile.current.scores, &profile.national_mean.scores);
        let compare_codes = std::iter::once(profile.code.clone())
            .chain(profile.peers.iter().take(2).map(|p| p.code.clone()))
            .collect::<Vec<_>>()
            .join(",");
        let a = AnalysisTexts::get(lang);
        RegionPage {
            change,
            sub: SubindexView::new(ctx, profile),
            excluded: profile.excluded.clone(),
            downloads: ViewDownloads::new(ctx, ds, &["indicators", "history"]),
            chrome: Chrome::new(ctx, ds, ""),
            code: profile.code.clone(),
            name: profile.name.clone(),
            group: group_of(profile.group.as_deref(), lang),
            year: profile.year,
            years: profile
                .years
                .iter()
                .rev()
                .map(|&y| YearChoice {
                    value: y,
                    selected: y == profile.year,
                })
                .collect(),
            hidden: ctx.hidden_fields(),
            score: fmt_num(current.score, 2),
            rank: fmt_rank(profile.current.rank),
            regions_ranked: profile.regions_ranked,
            dims: Dimension::ALL
                .iter()
                .map(|&d| {
                    let (v, m) = (current.dimension(d), mean.dimension(d));
                    (d.label(lang), fmt_num(v, 2), fmt_num(m, 2))
                })
                .collect(),
            radar_svg: dimensions_radar(ctx, profile),
            score_svg: trend_charts(ctx, profile, false),
            rank_svg: trend_charts(ctx, profile, true),
            strengths: profile.strengths.iter().map(standing).collect(),
            weaknesses: profile.weaknesses.iter().map(standing).collect(),
            indicators: profile.indicators.iter().map(standing).collect(),
            peers: profile
                .peers
                .iter()
                .map(|p| PeerRow {
                    name: p.name.clone(),
                    url: ctx.region_url(&p.code),
                    score: fmt_num(p.score, 2),
                    rank: fmt_rank(p.rank),
                })
                .collect(),
            compare_url: ctx.url("/compare", &[("r", &compare_codes)]),
            brief_url: ctx.url(
                &format!("/regions/{}/brief", profile.code),
                &[("year", &profile.year.to_string())],
            ),
            a,
            no_diagnosis: no_diagnosis(a, diagnosis.skipped),
            obstacles: diagnosis
                .top
                .iter()
                .map(|o| ObstacleCells {
                    name: ds.indicator_name(&o.indicator, lang),
                    url: ctx.indicator_url(&o.indicator),
                    dimension: o
                        .dimension
                        .parse::<Dimension>()
                        .map_or_else(|_| o.dimension.clone(), |d| d.label(lang).to_owned()),
                    pct: fmt_num(Some(o.obstacle_pct), 2),
                })
                .collect(),
            // In the framework's dimension order (the diagnosis lists them alphabetically).
            dim_obstacles: Dimension::ALL
                .iter()
                .filter_map(|dim| {
                    let d = diagnosis
                        .dimensions
                        .iter()
                        .find(|d| d.dimension == dim.as_str())?;
                    Some((dim.label(lang).to_owned(), fmt_num(Some(d.obstacle_pct), 2)))
                })
                .collect(),
            coupling: diagnosis.coupling.as_ref().map(|c| CouplingCells {
                c: fmt_num(Some(c.c), 4),
                t: fmt_num(Some(c.t), 4),
                d: fmt_num(Some(c.d), 4),
                level: c.class.level(),
                class: c.class.label(lang),
            }),
        }
    }
}

/// A profile chart's accessible name: the region, then what the chart shows.
fn profile_chart_title(profile: &RegionProfile, caption: &str) -> String {
    format!("{} · {caption}", profile.name)
}

/// The score trends (the overall score and the three elements) or the rank trend (also the
/// region brief's).
pub(super) fn trend_charts(ctx: &PageCtx, profile: &RegionProfile, rank: bool) -> String {
    let series = |name: &str, value: &dyn Fn(&TrendPoint) -> Option<f64>, emphasis| Series {
        name: name.to_owned(),
        points: profile.trend.iter().map(|p| (p.year, value(p))).collect(),
        emphasis,
    };
    let (id, caption) = if rank {
        ("trend-rank", ctx.t.trend_rank)
    } else {
        ("trend-score", ctx.t.trend_score)
    };
    let series = if rank {
        vec![series(ctx.t.rank, &|p| p.rank.map(f64::from), true)]
    } else {
        std::iter::once(series(ctx.t.overall_score, &|p| p.scores.score, true))
            .chain(Dimension::ALL.iter().map(|&d| {
                series(
                    d.label(ctx.lang),
                    &move |p: &TrendPoint| p.scores.dimension(d),
                    false,
                )
            }))
            .collect()
    };
    let title = profile_chart_title(profile, caption);
    line::render(&LineSpec {
        head: ctx.chart_head(id, &title, caption),
        series: &series,
        size: (520.0, 280.0),
        y_label: if rank { ctx.t.rank } else { ctx.t.score },
        invert_y: rank,
        integer_y: rank,
        y_domain: rank.then(|| (1.0, profile.regions_ranked.max(1) as f64)),
        decimals: if rank { 0 } else { 2 },
    })
}

/// A radar of the region against the national mean on `axes`; `value(point, axis)` reads a
/// profile point. `(id, caption)` name the chart.
pub(super) fn radar_vs_mean(
    ctx: &PageCtx,
    profile: &RegionProfile,
    (id, caption): (&str, &str),
    axes: Vec<String>,
    value: impl Fn(&TrendPoint, usize) -> Option<f64>,
) -> String {
    let values = |p: &TrendPoint| (0..axes.len()).map(|i| value(p, i)).collect();
    let title = profile_chart_title(profile, caption);
    radar::render(&RadarSpec {
        head: ctx.chart_head(id, &title, caption),
        axes: &axes,
        max: Some(100.0),
        size: 380.0,
        decimals: 2,
        series: &[
            NamedValues {
                name: profile.name.clone(),
                values: values(&profile.current),
            },
            NamedValues {
                name: ctx.t.national_mean.to_owned(),
                values: values(&profile.national_mean),
            },
        ],
    })
}
