//! `/analysis/robustness` — the robustness of the index under the page's method: the audit
//! (statistics with the outlier flag, correlation flags, a correlation heat table ordered by
//! dimension, Cronbach's α), the rank intervals of the latest year, the sensitivity indices and
//! the comparison with every alternative method; every table downloads as
//! `/analysis/robustness/{table}.csv` or `.json` with the same parameters.
//!
//! Owns: the page's typed query (`mode`, `draws`, `noise`, `seed`, `treat`) and laying out the
//! report. Must not: compute anything (`analysis::robustness` via the cached state).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::{PageResult, TableDownload, fmt_num, render};
use crate::analysis::robustness::{Mode, Robustness, RobustnessOptions, TABLES, UncertaintyRow};
use crate::chart::bar::{self, BarDatum, BarSpec};
use crate::chart::heat::{self, HeatSpec};
use crate::chart::interval::{self, IntervalSpec};
use crate::method::Treat;
use crate::service::dashboard::Dataset;
use crate::types::{Dimension, Lang};
use crate::web::chrome::Chrome;
use crate::web::ctx::PageCtx;
use crate::web::error::WebError;
use crate::web::state::AppState;

/// The most draws one page view may ask for (7 methods per draw; bounds the first view).
const WEB_MAX_DRAWS: usize = 2000;

/// The page's query: the robustness options and the nominal treatment.
struct Query {
    options: RobustnessOptions,
    treat: Treat,
}

impl Query {
    fn parse(ctx: &PageCtx) -> Result<Query, WebError> {
        let mut options = RobustnessOptions::default();
        let bad = |name: &str, detail: String| WebError::invalid_parameter(name, detail);
        if let Some(raw) = ctx.param("mode") {
            options.mode = raw.parse().map_err(|e: String| bad("mode", e))?;
        }
        if let Some(raw) = ctx.param("draws") {
            options.draws = raw
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=WEB_MAX_DRAWS).contains(n))
                .ok_or_else(|| {
                    bad(
                        "draws",
                        format!("'{raw}' is not a whole number from 1 to {WEB_MAX_DRAWS}"),
                    )
                })?;
        }
        if let Some(raw) = ctx.param("noise") {
            options.noise = raw
                .parse::<f64>()
                .ok()
                .filter(|e| (0.0..1.0).contains(e))
                .ok_or_else(|| bad("noise", format!("'{raw}' is not a number in [0, 1)")))?;
        }
        if let Some(raw) = ctx.param("seed") {
            options.seed = raw
                .parse()
                .map_err(|_| bad("seed", format!("'{raw}' is not a whole number ≥ 0")))?;
        }
        let space = &mut options.space;
        space_list(ctx, "space_normalise", &mut space.normalise)?;
        space_list(ctx, "space_weights", &mut space.weights)?;
        space_list(ctx, "space_aggregate", &mut space.aggregate)?;
        space_list(ctx, "space_treat", &mut space.treat)?;
        let treat = match ctx.param("treat") {
            Some(raw) => raw
                .parse()
                .map_err(|e: crate::method::ParseSpecError| bad("treat", e.to_string()))?,
            None => Treat::None,
        };
        Ok(Query { options, treat })
    }

    /// The page's own parameters, for links and the form.
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let list = |v: Vec<String>| v.join(",");
        let s = &self.options.space;
        let mut pairs = Vec::new();
        if *s != crate::analysis::robustness::Space::default() {
            pairs = vec![
                (
                    "space_normalise",
                    list(s.normalise.iter().map(|x| x.to_string()).collect()),
                ),
                (
                    "space_weights",
                    list(s.weights.iter().map(|x| x.to_string()).collect()),
                ),
                (
                    "space_aggregate",
                    list(s.aggregate.iter().map(|x| x.to_string()).collect()),
                ),
                (
                    "space_treat",
                    list(s.treat.iter().map(|x| x.to_string()).collect()),
                ),
            ];
        }
        pairs.extend([
            ("mode", self.options.mode.as_str().to_owned()),
            ("draws", self.options.draws.to_string()),
            ("noise", self.options.noise.to_string()),
            ("seed", self.options.seed.to_string()),
            ("treat", self.treat.as_str().to_owned()),
        ]);
        pairs
    }
}

/// Most choices one input of the space may list (a space is a few names per input).
const SPACE_MAX: usize = 16;

/// `key=a,b,…`: the choices of one input of the uncertainty space (else the default ones).
fn space_list<T: std::str::FromStr>(
    ctx: &PageCtx,
    key: &str,
    out: &mut Vec<T>,
) -> Result<(), WebError>
where
    T::Err: std::fmt::Display,
{
    let Some(raw) = ctx.param(key) else {
        return Ok(());
    };
    let items: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect();
    if items.is_empty() || items.len() > SPACE_MAX {
        return Err(WebError::invalid_parameter(
            key,
            format!("give 1 to {SPACE_MAX} comma-separated choices"),
        ));
    }
    *out = items
        .iter()
        .map(|x| {
            x.parse::<T>()
                .map_err(|e| WebError::invalid_parameter(key, e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    Ok(())
}

async fn report(
    state: &AppState,
    ctx: &PageCtx,
    q: &Query,
) -> Result<(Arc<Dataset>, Arc<Robustness>), WebError> {
    let ds = state.resolve(ctx.dataset.as_deref(), ctx.version).await?;
    let spec = crate::method::MethodSpec {
        treat: q.treat,
        ..ctx.spec.clone()
    };
    let r = state
        .robustness_for(Arc::clone(&ds), &spec, &q.options)
        .await?;
    Ok((ds, r))
}

pub struct StatCells {
    pub indicator: String,
    pub dimension: &'static str,
    pub n: usize,
    pub mean: String,
    pub sd: String,
    pub skewness: String,
    pub kurtosis: String,
    pub outlier: bool,
}

pub struct CompareCells {
    pub method: String,
    pub spearman: String,
    pub kendall: String,
    pub ws: String,
    pub max_shift: u32,
    pub mean_shift: String,
}

#[derive(Template)]
#[template(path = "pages/robustness.html")]
pub struct RobustnessPage {
    pub chrome: Chrome,
    pub zh: bool,
    pub hidden: Vec<(String, String)>,
    pub exhaustive: bool,
    pub draws: usize,
    pub noise: String,
    pub seed: u64,
    pub treated: bool,
    pub nominal: String,
    pub year: i32,
    pub stats: Vec<StatCells>,
    pub flags: Vec<(String, String, String, String)>,
    pub alpha: Vec<(String, usize, String)>,
    pub heat_svg: String,
    pub interval_svg: String,
    pub first_svg: String,
    pub total_svg: String,
    pub estimator: &'static str,
    pub excluded: Vec<String>,
    pub comparison: Vec<CompareCells>,
    pub downloads: Vec<TableDownload>,
    pub sandbox_url: String,
}

/// `/analysis/robustness` (`?format=csv|json&table=…` downloads one table, like
/// `/analysis/robustness/{table}.{format}`).
pub async fn page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let q = Query::parse(&ctx)?;
    let (ds, r) = report(&state, &ctx, &q).await?;
    if let Some(format) = ctx.param("format") {
        return table_file(&r, ctx.param("table").unwrap_or(TABLES[0]), format);
    }
    render(&RobustnessPage::new(&ctx, &ds, &r, &q))
}

impl RobustnessPage {
    fn new(ctx: &PageCtx, ds: &Dataset, r: &Robustness, q: &Query) -> RobustnessPage {
        let lang = ctx.lang;
        let year = r
            .uncertainty
            .iter()
            .map(|u| u.year)
            .max()
            .unwrap_or_default();
        let pairs = q.pairs();
        let extra: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        RobustnessPage {
            chrome: Chrome::new(ctx, ds, "analysis"),
            zh: lang == Lang::Zh,
            hidden: ctx.hidden_fields(),
            exhaustive: q.options.mode == Mode::Exhaustive,
            draws: q.options.draws,
            noise: q.options.noise.to_string(),
            seed: q.options.seed,
            treated: q.treat == Treat::Winsorise,
            nominal: r.nominal.clone(),
            year,
            stats: stat_cells(ds, r, lang),
            flags: flag_cells(ds, r, lang),
            alpha: alpha_cells(r, lang),
            heat_svg: heat_chart(ctx, ds, r),
            interval_svg: interval_chart(ctx, ds, r, year),
            first_svg: sensitivity_chart(ctx, r, Order::First),
            total_svg: sensitivity_chart(ctx, r, Order::Total),
            estimator: r.estimator,
            excluded: r
                .excluded
                .iter()
                .map(|e| format!("{} — {}", e.method, e.reason))
                .collect(),
            comparison: r
                .comparison
                .iter()
                .filter(|c| c.year == year)
                .map(|c| CompareCells {
                    method: c.method.clone(),
                    spearman: fmt_num(c.spearman, 3),
                    kendall: fmt_num(c.kendall_tau_b, 3),
                    ws: fmt_num(c.ws, 3),
                    max_shift: c.max_rank_shift,
                    mean_shift: fmt_num(Some(c.mean_abs_rank_shift), 2),
                })
                .collect(),
            downloads: TABLES
                .iter()
                .map(|t| {
                    TableDownload::new(t, |ext| {
                        ctx.url(&format!("/analysis/robustness/{t}.{ext}"), &extra)
                    })
                })
                .collect(),
            sandbox_url: ctx.url("/sandbox", &[]),
        }
    }
}

fn flag_cells(ds: &Dataset, r: &Robustness, lang: Lang) -> Vec<(String, String, String, String)> {
    r.flags
        .iter()
        .map(|f| {
            (
                f.kind.as_str().to_owned(),
                indicator_name(ds, &f.a, lang),
                indicator_name(ds, &f.b, lang),
                fmt_num(Some(f.pearson), 3),
            )
        })
        .collect()
}

/// Cronbach's α per dimension and over all indicators.
fn alpha_cells(r: &Robustness, lang: Lang) -> Vec<(String, usize, String)> {
    r.alpha
        .iter()
        .map(|a| {
            let scope = match a.scope.parse::<Dimension>() {
                Ok(d) => d.label(lang),
                Err(_) => lang.pick("全部指标", "all indicators"),
            };
            (scope.to_owned(), a.k, fmt_num(a.alpha, 3))
        })
        .collect()
}

fn stat_cells(ds: &Dataset, r: &Robustness, lang: Lang) -> Vec<StatCells> {
    r.stats
        .iter()
        .map(|s| StatCells {
            indicator: indicator_name(ds, &s.indicator, lang),
            dimension: s.dimension.label(lang),
            n: s.n,
            mean: fmt_num(s.mean, 3),
            sd: fmt_num(s.sd, 3),
            skewness: fmt_num(s.skewness, 3),
            kurtosis: fmt_num(s.kurtosis, 3),
            outlier: s.outlier,
        })
        .collect()
}

/// The correlation heat table: indicators in framework order (grouped by dimension).
fn heat_chart(ctx: &PageCtx, ds: &Dataset, r: &Robustness) -> String {
    let lang = ctx.lang;
    let row_labels: Vec<String> = r
        .stats
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let name = indicator_name(ds, &s.indicator, lang);
            format!("{} {} · {name}", i + 1, s.dimension.label(lang))
        })
        .collect();
    let col_labels: Vec<String> = (1..=r.stats.len()).map(|i| i.to_string()).collect();
    heat::render(&HeatSpec {
        head: ctx.chart_head(
            "rob-heat",
            lang.pick(
                "指标间 Pearson 相关系数",
                "Pearson correlation between indicators",
            ),
            lang.pick(
                "按维度排列的原始指标值相关矩阵",
                "Correlation matrix of the raw indicator values, ordered by dimension",
            ),
        ),
        row_labels: &row_labels,
        col_labels: &col_labels,
        values: &r.correlation_matrix(),
        corner_label: "r",
        decimals: 2,
        domain: Some((-1.0, 1.0)),
    })
}

/// The rank intervals of `year`, in nominal rank order.
fn interval_chart(ctx: &PageCtx, ds: &Dataset, r: &Robustness, year: i32) -> String {
    let lang = ctx.lang;
    let mut rows: Vec<(String, &UncertaintyRow)> = r
        .uncertainty
        .iter()
        .filter(|u| u.year == year)
        .map(|u| (ds.region_name(&u.region, lang), u))
        .collect();
    rows.sort_by_key(|(_, u)| u.nominal_rank);
    interval::render(&IntervalSpec {
        head: ctx.chart_head(
            "rob-interval",
            lang.pick("排名区间（5%–95%）", "Rank intervals (5–95 %)"),
            lang.pick(
                "每个地区：名义排名（点）、中位数（竖线）与 5%–95% 区间（条）",
                "Each region: nominal rank (dot), median (tick) and 5–95 % interval (bar)",
            ),
        ),
        rows: &rows,
    })
}

/// Which sensitivity index a bar chart shows.
#[derive(Clone, Copy)]
enum Order {
    First,
    Total,
}

fn sensitivity_chart(ctx: &PageCtx, r: &Robustness, order: Order) -> String {
    let lang = ctx.lang;
    let (id, title) = match order {
        Order::First => (
            "rob-first",
            lang.pick("一阶敏感性指数", "First-order indices"),
        ),
        Order::Total => ("rob-total", lang.pick("总效应指数", "Total-order indices")),
    };
    let data: Vec<BarDatum> = r
        .sensitivity
        .iter()
        .map(|s| {
            let value = match order {
                Order::First => s.first_order,
                Order::Total => s.total_order,
            };
            BarDatum {
                label: input_label(s.input, lang).to_owned(),
                value,
                display: fmt_num(value, 3),
                href: None,
                highlight: false,
            }
        })
        .collect();
    bar::render(&BarSpec {
        head: ctx.chart_head(id, title, title),
        data: &data,
        width: 420.0,
        value_label: "",
    })
}

/// One table of the report as CSV or JSON.
fn table_file(r: &Robustness, table: &str, format: &str) -> Result<Response, WebError> {
    if !TABLES.contains(&table) || !matches!(format, "csv" | "json") {
        return Err(crate::Error::NotFound {
            what: "table",
            key: format!("{table}.{format} ({})", TABLES.join(", ")),
        }
        .into());
    }
    let frame = crate::service::robustness::table(r, table)?;
    super::table_response(&frame, &format!("{table}.{format}"), format)
}

/// `/analysis/robustness/{table}.csv|json`: one table of the report.
pub async fn download(
    State(state): State<AppState>,
    Path(file): Path<String>,
    ctx: PageCtx,
) -> Result<Response, WebError> {
    let (table, format) = file.rsplit_once('.').unwrap_or((&file, ""));
    let q = Query::parse(&ctx)?;
    let (_, r) = report(&state, &ctx, &q).await?;
    table_file(&r, table, format)
}

/// `/api/v1/robustness/{part}`: one part of the report the page shows, as JSON.
#[utoipa::path(get, path = "/api/v1/robustness/{part}", tag = "api",
    params(("part" = String, Path,
            description = "audit | treatment | uncertainty | sensitivity | comparison | decomposition."),
           ("mode" = Option<String>, Query, description = "montecarlo (default) | exhaustive."),
           ("draws" = Option<u32>, Query, description = "Monte Carlo draws N, 1 to 2000 (default 1000)."),
           ("noise" = Option<f64>, Query, description = "Weight noise ε in [0, 1) (default 0.25)."),
           ("seed" = Option<u64>, Query, description = "Random seed (default 1)."),
           ("treat" = Option<String>, Query, description = "Nominal outlier treatment: none (default) | winsorise."),
           ("space_normalise" = Option<String>, Query, description = "Normalisations of the space, comma-separated."),
           ("space_weights" = Option<String>, Query, description = "Weight schemes of the space, comma-separated."),
           ("space_aggregate" = Option<String>, Query, description = "Aggregations of the space, comma-separated."),
           ("space_treat" = Option<String>, Query, description = "Treatments of the space, comma-separated.")),
    responses((status = 200, description = "The part's rows with the settings (nominal method, mode, draws, noise, seed, excluded combinations); the rows have the columns of the CLI's CSV files.", body = serde_json::Value),
              (status = 400, body = crate::web::error::Problem),
              (status = 404, body = crate::web::error::Problem),
              (status = 422, description = "No valid combination in the space.", body = crate::web::error::Problem)))]
pub async fn api(
    State(state): State<AppState>,
    Path(part): Path<String>,
    ctx: PageCtx,
) -> Result<axum::Json<serde_json::Value>, WebError> {
    let q = Query::parse(&ctx)?;
    let (_, r) = report(&state, &ctx, &q).await?;
    Ok(axum::Json(crate::service::robustness::part(&r, &part)?))
}

fn indicator_name(ds: &Dataset, id: &str, lang: Lang) -> String {
    ds.framework
        .get(id)
        .map_or_else(|| id.to_owned(), |d| d.name(lang).to_owned())
}

fn input_label(input: &str, lang: Lang) -> &'static str {
    match input {
        "normalise" => lang.pick("标准化", "normalisation"),
        "weights" => lang.pick("权重", "weights"),
        "aggregate" => lang.pick("集结", "aggregation"),
        "treat" => lang.pick("异常值处理", "outlier treatment"),
        _ => lang.pick("权重扰动", "weight noise"),
    }
}
