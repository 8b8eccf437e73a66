//! `/analysis/{page}` — the analysis pages: `disparities` (Dagum Gini decomposition, group Ginis,
//! Theil, σ-convergence), `dynamics` (kernel densities, β-convergence, Markov transitions) and
//! `spatial` (Moran's I, Moran scatter, LISA cluster map), each table also downloadable as
//! `/analysis/{page}.csv?table=…` and `/analysis/{page}.json?table=…`.
//!
//! Owns: laying out `service::analysis` results for the pages and formatting their numbers.
//! Must not: compute statistics (`crate::analysis`) or choose groups and contiguity (service).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Redirect, Response};

use super::{PageResult, TableDownload, fmt_num, group_label, render};
use crate::analysis::report::{DagumRow, MoranRow, TheilRow};
use crate::chart::Bins;
use crate::chart::NamedValues;
use crate::chart::density::{self, DensityCurve, DensitySpec};
use crate::chart::heat::{self, HeatSpec};
use crate::chart::line::{self, LineSpec, Series};
use crate::chart::map::{ChoroplethSpec, MapValue};
use crate::chart::scatter::{self, MoranPoint, MoranSpec, QUADRANT_COLORS};
use crate::chart::stacked::{self, StackedSpec};
use crate::service::analysis::{
    self as service, AnalysisChoice, AnalysisView, MatrixChoice, PAGE_TABLES,
};
use crate::service::dashboard::{Dataset, ResultTables};
use crate::types::{Dimension, Lang};
use crate::web::chrome::Chrome;
use crate::web::ctx::PageCtx;
use crate::web::error::WebError;
use crate::web::i18n::AnalysisTexts;
use crate::web::state::AppState;

/// Decimals of inequality and spatial statistics on the pages.
const DECIMALS: usize = 4;

/// A table cell of an analysis value (templates call it on the result rows, so each table shows
/// the rows the downloads hold): [`DECIMALS`] places.
pub fn cell(value: &f64) -> String {
    fmt_num(Some(*value), DECIMALS)
}

/// A table cell of a test statistic or p-value: three places, an em dash where it was not
/// computed (e.g. no permutation test).
pub fn stat<T: Copy + Into<Option<f64>>>(value: &T) -> String {
    fmt_num((*value).into(), 3)
}
/// At most this many controls of conditional β, each at most [`MAX_CONTROL_LEN`] bytes (the
/// choice is part of a cache key).
const MAX_CONTROLS: usize = 6;
const MAX_CONTROL_LEN: usize = 64;
/// Significance level of the LISA cluster map.
const LISA_ALPHA: f64 = 0.05;
/// LISA map colours: the Moran scatter's quadrant colours (HH, LH, LL, HL), then grey.
const LISA_COLORS: [&str; 5] = [
    QUADRANT_COLORS[0],
    QUADRANT_COLORS[1],
    QUADRANT_COLORS[2],
    QUADRANT_COLORS[3],
    "#e0e0e0",
];

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct Tab {
    pub label: &'static str,
    pub url: String,
    pub current: bool,
}

/// What every analysis page shares: sub-navigation, measure (and year) selectors, downloads.
pub struct Frame {
    pub a: &'static AnalysisTexts,
    pub page: &'static str,
    pub heading: &'static str,
    pub intro: &'static str,
    pub tabs: Vec<Tab>,
    pub hidden: Vec<(String, String)>,
    pub measures: Vec<Choice>,
    pub measure_label: String,
    pub years: Vec<Choice>,
    pub downloads: Vec<TableDownload>,
    pub notices: Vec<String>,
    /// The weight-matrix selector (spatial page only; empty elsewhere).
    pub matrices: Vec<Choice>,
    /// The controls field (dynamics page only): current value and the ids there are.
    pub controls: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "pages/analysis_disparities.html")]
pub struct DisparitiesPage {
    pub f: Frame,
    pub chrome: Chrome,
    pub year: i32,
    pub stacked_svg: String,
    pub sigma_svg: String,
    pub dagum: Vec<DagumRow>,
    pub group_names: Vec<String>,
    /// `group_gini[row][col]`, lower triangle and diagonal filled.
    pub group_gini: Vec<Vec<String>>,
    pub theil: Vec<TheilRow>,
    pub sigma: Vec<(i32, String)>,
    /// (year, within %, between %, transvariation %).
    pub shares: Vec<(i32, String, String, String)>,
    /// D_jh of the chosen year: (higher-mean group, lower-mean group, D_jh).
    pub djh: Vec<(String, String, String)>,
}

pub struct BetaCells {
    pub group: String,
    pub alpha: String,
    pub beta: String,
    pub se: String,
    pub t: String,
    pub r2: String,
    pub n: usize,
}

#[derive(Template)]
#[template(path = "pages/analysis_dynamics.html")]
pub struct DynamicsPage {
    pub f: Frame,
    pub chrome: Chrome,
    pub density_svg: String,
    pub beta: Vec<BetaCells>,
    pub heat_svg: String,
    pub classes: Vec<&'static str>,
    /// `markov[from][to]` as "0.850 (17)".
    pub markov: Vec<Vec<String>>,
    pub panel_beta: Vec<PanelBetaCells>,
    /// (classes label, π per class).
    pub steady: Vec<(&'static str, Vec<String>)>,
    /// Per lag class: `[from][to]` as "0.850 (17)", "— (0)" in a row without observations.
    pub spatial_markov: Vec<Vec<Vec<String>>>,
}

pub struct PanelBetaCells {
    pub group: String,
    pub kind: &'static str,
    pub term: String,
    pub coef: String,
    pub se: String,
    pub t: String,
    pub p: String,
    pub speed: String,
    pub n_obs: usize,
    pub n_regions: usize,
    pub r2_within: String,
}

pub struct LisaCells {
    pub code: String,
    pub name: String,
    pub url: String,
    pub local_i: String,
    pub quadrant: &'static str,
    pub p_perm: String,
    pub cluster: &'static str,
    pub significant: bool,
    /// Map class: quadrant 0–3 (HH, LH, LL, HL) when significant, else 4.
    pub class: usize,
}

#[derive(Template)]
#[template(path = "pages/analysis_spatial.html")]
pub struct SpatialPage {
    pub f: Frame,
    pub chrome: Chrome,
    pub year: i32,
    pub available: bool,
    pub moran: Vec<MoranRow>,
    pub scatter_svg: String,
    pub map_svg: String,
    pub lisa: Vec<LisaCells>,
    /// Which weight matrix was used, in the reader's language.
    pub matrix_used: String,
}

/// `/analysis`: the first analysis page, keeping the reader's language and method.
pub async fn index(ctx: PageCtx) -> Redirect {
    Redirect::to(&ctx.url("/analysis/disparities", &[]))
}

/// `/analysis/{page}`: one of the three pages, or a table download `{page}.csv` / `{page}.json`
/// (also `?format=csv|json`, like every page).
pub async fn page(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ctx: PageCtx,
) -> Result<Response, WebError> {
    // `{page}.csv` and `{page}?format=csv` are the same download.
    let (page, format) = match name.rsplit_once('.') {
        Some((p, f)) => (p, Some(f)),
        None => (name.as_str(), ctx.param("format")),
    };
    let page = PAGE_TABLES.iter().map(|(p, _)| *p).find(|p| *p == page);
    let page = page.ok_or_else(|| crate::Error::NotFound {
        what: "page",
        key: ctx.path.clone(),
    })?;
    let measure = ctx.analysis_measure()?;
    let (ds, tables) = super::load(&state, &ctx).await?;
    let choice = analysis_choice(&ctx, &ds, &tables)?;
    let view = state
        .analysis_for(Arc::clone(&ds), &ctx.spec, &choice)
        .await?;
    let p = PageInput {
        ctx: &ctx,
        ds: &ds,
        tables: &tables,
        view: &view,
        measure: &measure,
        choice: &choice,
    };
    match (format, page) {
        (Some(format), _) => download(&ctx, page, format, &view, &measure),
        (None, "disparities") => disparities(&p),
        (None, "dynamics") => dynamics(&p),
        (None, _) => spatial(&p),
    }
}

/// What every page function reads.
struct PageInput<'a> {
    ctx: &'a PageCtx,
    ds: &'a Dataset,
    tables: &'a ResultTables,
    view: &'a AnalysisView,
    measure: &'a str,
    choice: &'a AnalysisChoice,
}

/// `matrix=` (a weight matrix the dataset supports) and `controls=` (comma-separated ids).
fn analysis_choice(
    ctx: &PageCtx,
    ds: &Dataset,
    tables: &ResultTables,
) -> Result<AnalysisChoice, WebError> {
    let matrix = match ctx.param("matrix") {
        None => MatrixChoice::default(),
        Some(raw) => {
            let offered = service::matrix_choices(ds, tables);
            MatrixChoice::parse(raw)
                .filter(|m| offered.contains(m))
                .ok_or_else(|| {
                    let names: Vec<&str> = offered.iter().map(|m| m.as_str()).collect();
                    WebError::invalid_parameter(
                        "matrix",
                        format!(
                            "'{raw}' is not a weight matrix this dataset supports ({})",
                            names.join(", ")
                        ),
                    )
                })?
        }
    };
    let controls: Vec<String> = ctx
        .param("controls")
        .map(|c| {
            c.split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if controls.len() > MAX_CONTROLS || controls.iter().any(|c| c.len() > MAX_CONTROL_LEN) {
        return Err(WebError::invalid_parameter(
            "controls",
            format!("at most {MAX_CONTROLS} controls of at most {MAX_CONTROL_LEN} characters"),
        ));
    }
    Ok(AnalysisChoice { matrix, controls })
}

/// The query pairs that carry `choice` (none for the defaults).
fn choice_pairs(choice: &AnalysisChoice) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::new();
    if choice.matrix != MatrixChoice::default() {
        pairs.push(("matrix", choice.matrix.as_str().to_owned()));
    }
    if !choice.controls.is_empty() {
        pairs.push(("controls", choice.controls.join(",")));
    }
    pairs
}

/// The CSV or JSON of one table of `page` (rows of the chosen measure).
fn download(
    ctx: &PageCtx,
    page: &str,
    format: &str,
    view: &AnalysisView,
    measure: &str,
) -> Result<Response, WebError> {
    let tables = PAGE_TABLES
        .iter()
        .find(|(p, _)| *p == page)
        .map(|(_, t)| *t)
        .unwrap_or_default();
    let table = ctx.param("table").unwrap_or(tables[0]);
    let missing = || crate::Error::NotFound {
        what: "table",
        key: format!("{table} ({})", tables.join(", ")),
    };
    if !tables.contains(&table) || !matches!(format, "csv" | "json") {
        return Err(missing().into());
    }
    let frame = service::table_frame(view, table, Some(measure))?.ok_or_else(missing)?;
    super::table_response(&frame, &format!("{table}-{measure}.{format}"), format)
}

fn measure_label(ctx: &PageCtx, measure: &str) -> String {
    match measure.parse::<Dimension>() {
        Ok(d) => d.label(ctx.lang).to_owned(),
        Err(_) => ctx.t.overall_score.to_owned(),
    }
}

/// The title and introduction of an analysis page.
fn title(a: &AnalysisTexts, page: &str) -> (&'static str, &'static str) {
    match page {
        "disparities" => (a.disparities_title, a.disparities_intro),
        "dynamics" => (a.dynamics_title, a.dynamics_intro),
        _ => (a.spatial_title, a.spatial_intro),
    }
}

/// The analysis pages, then robustness and the weight sandbox.
fn tabs(ctx: &PageCtx, page: &str, measure: &str) -> Vec<Tab> {
    let a = AnalysisTexts::get(ctx.lang);
    PAGE_TABLES
        .iter()
        .map(|(p, _)| Tab {
            label: title(a, p).0,
            url: ctx.url(&format!("/analysis/{p}"), &[("measure", measure)]),
            current: *p == page,
        })
        .chain(
            [
                (
                    "/analysis/robustness",
                    ctx.lang.pick("稳健性检验", "Robustness"),
                ),
                ("/sandbox", ctx.lang.pick("权重沙盒", "Weight sandbox")),
            ]
            .map(|(path, label)| Tab {
                label,
                url: ctx.url(path, &[]),
                current: false,
            }),
        )
        .collect()
}

fn frame(p: &PageInput, page: &'static str, years: Vec<Choice>) -> Frame {
    let (ctx, measure) = (p.ctx, p.measure);
    let a = AnalysisTexts::get(ctx.lang);
    let (heading, intro) = title(a, page);
    let tabs = tabs(ctx, page, measure);
    let measures = crate::analysis::MEASURES
        .iter()
        .map(|m| Choice {
            value: (*m).to_owned(),
            label: measure_label(ctx, m),
            selected: *m == measure,
        })
        .collect();
    let matrices = if page == "spatial" {
        service::matrix_choices(p.ds, p.tables)
            .into_iter()
            .map(|m| Choice {
                value: m.as_str().to_owned(),
                label: matrix_name(a, m).to_owned(),
                selected: m == p.choice.matrix,
            })
            .collect()
    } else {
        Vec::new()
    };
    let controls = (page == "dynamics").then(|| {
        (
            p.choice.controls.join(","),
            service::control_ids(p.ds, p.tables).join(", "),
        )
    });
    Frame {
        matrices,
        controls,
        a,
        page,
        heading,
        intro,
        tabs,
        hidden: ctx.hidden_fields(),
        measures,
        measure_label: measure_label(ctx, measure),
        years,
        downloads: table_downloads(p, page),
        notices: frame_notices(p),
    }
}

/// The page's tables as CSV and JSON (the spatial ones only when there is a weight matrix).
fn table_downloads(p: &PageInput, page: &'static str) -> Vec<TableDownload> {
    let (ctx, measure) = (p.ctx, p.measure);
    let choice = choice_pairs(p.choice);
    PAGE_TABLES
        .iter()
        .find(|(p, _)| *p == page)
        .map(|(_, t)| *t)
        .unwrap_or_default()
        .iter()
        .filter(|t| {
            p.view.results.weights.is_some()
                || !matches!(**t, "moran" | "lisa" | "spatial_markov" | "weights_matrix")
        })
        .map(|t| {
            TableDownload::new(t, |ext| {
                let mut pairs: Vec<(&str, &str)> = vec![("table", t), ("measure", measure)];
                pairs.extend(choice.iter().map(|(k, v)| (*k, v.as_str())));
                ctx.url(&format!("/analysis/{page}.{ext}"), &pairs)
            })
        })
        .collect()
}

/// The grouping used, then (for English readers: the analysis notices are English) what the
/// analyses skipped for this measure.
fn frame_notices(p: &PageInput) -> Vec<String> {
    let (ctx, results, measure) = (p.ctx, &p.view.results, p.measure);
    // The groups the decompositions used, in the order they first appear.
    let mut group_names: Vec<String> = Vec::new();
    for g in results
        .dagum_groups
        .iter()
        .flat_map(|g| [&g.group_a, &g.group_b])
    {
        let label = group_label(g, ctx.lang);
        if !group_names.contains(&label) {
            group_names.push(label);
        }
    }
    let grouping = match results.grouping {
        "single" => ctx
            .lang
            .pick("单一组（无分组）", "one group (no grouping)")
            .to_owned(),
        _ => group_names.join(" / "),
    };
    let a = AnalysisTexts::get(ctx.lang);
    let mut notices = vec![format!(
        "{}{}{grouping}",
        a.grouping,
        ctx.lang.pick("：", ": ")
    )];
    if ctx.lang == Lang::En {
        notices.extend(
            results
                .notices
                .iter()
                // Leave out what was skipped for another measure only.
                .filter(|n| {
                    !crate::analysis::MEASURES
                        .iter()
                        .any(|m| *m != measure && n.contains(&format!(" {m}: skipped")))
                })
                .cloned(),
        );
    }
    notices
}

/// The selected year (`year=`, else the latest of `years`); a year without results is a 404.
fn pick_year(ctx: &PageCtx, years: &[i32]) -> Result<Option<i32>, WebError> {
    match ctx.year()? {
        None => Ok(years.last().copied()),
        Some(y) if years.contains(&y) => Ok(Some(y)),
        Some(y) => Err(crate::Error::NotFound {
            what: "year",
            key: y.to_string(),
        }
        .into()),
    }
}

fn year_choices(years: &[i32], selected: Option<i32>) -> Vec<Choice> {
    years
        .iter()
        .rev()
        .map(|y| Choice {
            value: y.to_string(),
            label: y.to_string(),
            selected: Some(*y) == selected,
        })
        .collect()
}

fn disparities(p: &PageInput) -> PageResult {
    let (ctx, measure) = (p.ctx, p.measure);
    let r = &p.view.results;
    let dagum: Vec<_> = r.dagum.iter().filter(|d| d.measure == measure).collect();
    let years: Vec<i32> = dagum.iter().map(|d| d.year).collect();
    let year = pick_year(ctx, &years)?;
    let f = frame(p, "disparities", year_choices(&years, year));
    let (group_names, group_gini) = group_gini(p, year);
    let page = DisparitiesPage {
        chrome: Chrome::new(ctx, p.ds, "analysis"),
        year: year.unwrap_or_default(),
        stacked_svg: dagum_chart(p, &f.measure_label, &dagum),
        sigma_svg: sigma_chart(p, &f.measure_label),
        dagum: dagum.into_iter().cloned().collect(),
        group_names,
        group_gini,
        theil: r
            .theil
            .iter()
            .filter(|t| t.measure == measure)
            .cloned()
            .collect(),
        sigma: r
            .sigma
            .iter()
            .filter(|s| s.measure == measure)
            .map(|s| (s.year, fmt_num(Some(s.cv), DECIMALS)))
            .collect(),
        shares: shares(p),
        djh: r
            .dagum_djh
            .iter()
            .filter(|d| d.measure == measure && Some(d.year) == year)
            .map(|d| {
                (
                    group_label(&d.group_a, ctx.lang),
                    group_label(&d.group_b, ctx.lang),
                    fmt_num(Some(d.d_jh), DECIMALS),
                )
            })
            .collect(),
        f,
    };
    render(&page)
}

/// The Dagum contribution rates per year (within, between, transvariation, in %).
fn shares(p: &PageInput) -> Vec<(i32, String, String, String)> {
    p.view
        .results
        .dagum_shares
        .iter()
        .filter(|d| d.measure == p.measure)
        .map(|d| {
            (
                d.year,
                fmt_num(Some(d.within_pct), 2),
                fmt_num(Some(d.between_pct), 2),
                fmt_num(Some(d.transvariation_pct), 2),
            )
        })
        .collect()
}

/// The Dagum decomposition per year as stacked bars.
fn dagum_chart(p: &PageInput, label: &str, dagum: &[&DagumRow]) -> String {
    let a = AnalysisTexts::get(p.ctx.lang);
    let categories: Vec<String> = dagum.iter().map(|d| d.year.to_string()).collect();
    let layer = |name: &str, part: fn(&DagumRow) -> f64| NamedValues {
        name: name.to_owned(),
        values: dagum.iter().map(|d| Some(part(d))).collect(),
    };
    let title = format!("{} · {label}", a.dagum_title);
    stacked::render(&StackedSpec {
        head: p.ctx.chart_head("dagum-chart", &title, a.dagum_desc),
        categories: &categories,
        layers: &[
            layer(a.within, |d| d.within),
            layer(a.between, |d| d.between),
            layer(a.transvariation, |d| d.transvariation),
        ],
        size: (560.0, 300.0),
        y_label: a.gini,
        decimals: DECIMALS,
    })
}

/// σ-convergence: the coefficient of variation per year.
fn sigma_chart(p: &PageInput, label: &str) -> String {
    let a = AnalysisTexts::get(p.ctx.lang);
    let sigma = p
        .view
        .results
        .sigma
        .iter()
        .filter(|s| s.measure == p.measure);
    let title = format!("{} · {label}", a.sigma_title);
    line::render(&LineSpec {
        head: p.ctx.chart_head("sigma-chart", &title, a.sigma_title),
        series: &[Series {
            name: a.cv.to_owned(),
            points: sigma.map(|s| (s.year, Some(s.cv))).collect(),
            emphasis: true,
        }],
        size: (520.0, 260.0),
        y_label: a.cv,
        invert_y: false,
        integer_y: false,
        y_domain: None,
        decimals: DECIMALS,
    })
}

/// The group Gini matrix of `year` (lower triangle and diagonal), groups in the order the
/// decomposition lists them; with the groups' names.
fn group_gini(p: &PageInput, year: Option<i32>) -> (Vec<String>, Vec<Vec<String>>) {
    let pairs: Vec<_> = p
        .view
        .results
        .dagum_groups
        .iter()
        .filter(|g| g.measure == p.measure && Some(g.year) == year)
        .collect();
    let mut groups: Vec<&str> = Vec::new();
    for g in pairs
        .iter()
        .flat_map(|p| [p.group_a.as_str(), p.group_b.as_str()])
    {
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let gini_of = |x: &str, y: &str| {
        pairs
            .iter()
            .find(|p| (p.group_a == x && p.group_b == y) || (p.group_a == y && p.group_b == x))
            .map(|p| p.gini)
    };
    let matrix = groups
        .iter()
        .enumerate()
        .map(|(i, row)| {
            groups[..=i]
                .iter()
                .map(|col| fmt_num(gini_of(row, col), DECIMALS))
                .chain(std::iter::repeat_n(String::new(), groups.len() - i - 1))
                .collect()
        })
        .collect();
    let names = groups.iter().map(|g| group_label(g, p.ctx.lang)).collect();
    (names, matrix)
}

fn dynamics(p: &PageInput) -> PageResult {
    let (ctx, measure) = (p.ctx, p.measure);
    let a = AnalysisTexts::get(ctx.lang);
    let r = &p.view.results;
    let f = frame(p, "dynamics", Vec::new());
    let markov = |from: u8, to: u8| {
        r.markov
            .iter()
            .find(|m| m.measure == measure && m.from_class == from && m.to_class == to)
            .map(|m| (m.probability, m.count))
    };
    let page = DynamicsPage {
        chrome: Chrome::new(ctx, p.ds, "analysis"),
        density_svg: density_chart(p, &f.measure_label),
        beta: r
            .beta
            .iter()
            .filter(|b| b.measure == measure)
            .map(|b| BetaCells {
                group: group_name(&b.group, ctx.lang),
                alpha: fmt_num(b.fit.alpha, DECIMALS),
                beta: fmt_num(b.fit.beta, DECIMALS),
                se: fmt_num(b.fit.se_beta, DECIMALS),
                t: fmt_num(b.fit.t_beta, 2),
                r2: fmt_num(b.fit.r2, 3),
                n: b.fit.n,
            })
            .collect(),
        heat_svg: markov_chart(p, &f.measure_label),
        classes: a.classes.to_vec(),
        markov: transition_cells(markov),
        panel_beta: panel_beta(p),
        steady: steady_states(p),
        spatial_markov: match &r.spatial_markov {
            Some(rows) => (1..=4u8)
                .map(|lag| {
                    transition_cells(|from, to| {
                        rows.iter()
                            .find(|m| {
                                m.measure == measure
                                    && m.lag_class == lag
                                    && m.from_class == from
                                    && m.to_class == to
                            })
                            .map(|m| (m.probability, m.count))
                    })
                })
                .collect(),
            None => Vec::new(),
        },
        f,
    };
    render(&page)
}

/// A group's name; `all` is every region.
fn group_name(group: &str, lang: Lang) -> String {
    if group == "all" {
        AnalysisTexts::get(lang).all_regions.to_owned()
    } else {
        group_label(group, lang)
    }
}

/// The kernel densities: the chart draws the `kernel` table (also the `kernel.csv`
/// download), one curve per year.
fn density_chart(p: &PageInput, label: &str) -> String {
    let a = AnalysisTexts::get(p.ctx.lang);
    let mut curves: Vec<DensityCurve> = Vec::new();
    for k in p
        .view
        .results
        .kernel
        .iter()
        .filter(|k| k.measure == p.measure)
    {
        let name = k.year.to_string();
        if curves.last().is_none_or(|c| c.name != name) {
            curves.push(DensityCurve {
                name,
                x: Vec::new(),
                density: Vec::new(),
            });
        }
        if let Some(c) = curves.last_mut() {
            c.x.push(k.x);
            c.density.push(k.density);
        }
    }
    let title = format!("{} · {label}", a.kernel_title);
    density::render(&DensitySpec {
        head: p.ctx.chart_head("kernel-chart", &title, a.kernel_desc),
        curves: &curves,
        size: (560.0, 300.0),
        x_label: label,
        y_label: a.density,
    })
}

/// The Markov transition probabilities as a heat table.
fn markov_chart(p: &PageInput, label: &str) -> String {
    let a = AnalysisTexts::get(p.ctx.lang);
    let probabilities: Vec<Vec<Option<f64>>> = (1..=4u8)
        .map(|from| {
            (1..=4u8)
                .map(|to| {
                    p.view
                        .results
                        .markov
                        .iter()
                        .find(|m| {
                            m.measure == p.measure && m.from_class == from && m.to_class == to
                        })
                        .and_then(|m| m.probability)
                })
                .collect()
        })
        .collect();
    let class_labels: Vec<String> = a.classes.iter().map(|c| (*c).to_owned()).collect();
    let title = format!("{} · {label}", a.markov_title);
    heat::render(&HeatSpec {
        head: p.ctx.chart_head("markov-chart", &title, a.markov_desc),
        row_labels: &class_labels,
        col_labels: &class_labels,
        values: &probabilities,
        corner_label: a.from_to,
        decimals: 3,
        domain: None,
    })
}

fn panel_beta(p: &PageInput) -> Vec<PanelBetaCells> {
    let a = AnalysisTexts::get(p.ctx.lang);
    p.view
        .results
        .beta_panel
        .iter()
        .filter(|b| b.measure == p.measure)
        .map(|b| PanelBetaCells {
            group: group_name(&b.group, p.ctx.lang),
            kind: if b.kind == "absolute" {
                a.kind_absolute
            } else {
                a.kind_conditional
            },
            term: b.term.clone(),
            coef: fmt_num(Some(b.coef), DECIMALS),
            se: fmt_num(Some(b.se), DECIMALS),
            t: fmt_num(Some(b.t), 2),
            p: fmt_num(Some(b.p), 3),
            speed: fmt_num(b.speed, DECIMALS),
            n_obs: b.n_obs,
            n_regions: b.n_regions,
            r2_within: fmt_num(Some(b.r2_within), 3),
        })
        .collect()
}

/// The steady-state distributions of the absolute and the relative classes.
fn steady_states(p: &PageInput) -> Vec<(&'static str, Vec<String>)> {
    let a = AnalysisTexts::get(p.ctx.lang);
    [
        ("absolute", a.classes_absolute),
        ("relative", a.classes_relative),
    ]
    .into_iter()
    .map(|(classes, label)| {
        let pi = (1..=4u8).map(|c| {
            let found = p
                .view
                .results
                .markov_steady
                .iter()
                .find(|m| m.measure == p.measure && m.classes == classes && m.class == c);
            fmt_num(found.map(|m| m.probability), 3)
        });
        (label, pi.collect())
    })
    .collect()
}

fn spatial(p: &PageInput) -> PageResult {
    let (ctx, measure) = (p.ctx, p.measure);
    let a = AnalysisTexts::get(ctx.lang);
    let moran: Vec<_> = (p.view.results.moran.iter().flatten())
        .filter(|m| m.measure == measure)
        .collect();
    let years: Vec<i32> = moran.iter().map(|m| m.year).collect();
    let year = pick_year(ctx, &years)?;
    let f = frame(p, "spatial", year_choices(&years, year));
    let lisa = year.map(|y| lisa_cells(p, y)).unwrap_or_default();
    let (scatter_svg, map_svg) = match year {
        Some(y) => (
            moran_chart(p, &f.measure_label, y),
            lisa_map(p, &f.measure_label, y, &lisa)?,
        ),
        None => (String::new(), String::new()),
    };
    let page = SpatialPage {
        chrome: Chrome::new(ctx, p.ds, "analysis"),
        year: year.unwrap_or_default(),
        available: year.is_some(),
        moran: moran.into_iter().cloned().collect(),
        scatter_svg,
        map_svg,
        lisa,
        matrix_used: format!("{}{}", a.matrix_used, matrix_name(a, p.choice.matrix)),
        f,
    };
    render(&page)
}

/// The Moran scatter of `year`.
fn moran_chart(p: &PageInput, label: &str, year: i32) -> String {
    let (ctx, lang) = (p.ctx, p.ctx.lang);
    let a = AnalysisTexts::get(lang);
    let points: Vec<MoranPoint> = service::moran_points(p.view, p.tables, p.measure, year)
        .into_iter()
        .map(|m| MoranPoint {
            label: p.ds.region_name(&m.region, lang),
            href: Some(ctx.region_url(&m.region)),
            code: m.region,
            z: m.z,
            lag: m.lag,
        })
        .collect();
    let moran = p.view.results.moran.iter().flatten();
    let title = format!("{} · {label} · {year}", a.scatter_title);
    scatter::render(&MoranSpec {
        head: ctx.chart_head("moran-scatter", &title, a.scatter_desc),
        points: &points,
        moran_i: moran
            .filter(|m| m.measure == p.measure && m.year == year)
            .map(|m| m.i)
            .next(),
        x_label: a.z_label,
        y_label: a.lag_label,
        quadrant_labels: a.quadrants,
        size: 420.0,
    })
}

/// The local Moran's I of every region in `year`, with its cluster at [`LISA_ALPHA`].
fn lisa_cells(p: &PageInput, year: i32) -> Vec<LisaCells> {
    let (ctx, lang) = (p.ctx, p.ctx.lang);
    let a = AnalysisTexts::get(lang);
    (p.view.results.lisa.iter().flatten())
        .filter(|l| l.measure == p.measure && l.year == year)
        .map(|l| {
            let q = quadrant_index(l.quadrant);
            let significant = l.p_perm.is_some_and(|p| p < LISA_ALPHA);
            LisaCells {
                name: p.ds.region_name(&l.region, lang),
                url: ctx.region_url(&l.region),
                code: l.region.clone(),
                local_i: fmt_num(Some(l.local_i), DECIMALS),
                quadrant: a.quadrants[q],
                p_perm: fmt_num(l.p_perm, 3),
                cluster: if significant {
                    a.quadrants[q]
                } else {
                    a.not_significant
                },
                significant,
                class: if significant { q } else { 4 },
            }
        })
        .collect()
}

/// The LISA cluster map of `year`.
fn lisa_map(p: &PageInput, label: &str, year: i32, lisa: &[LisaCells]) -> Result<String, WebError> {
    let (ctx, lang) = (p.ctx, p.ctx.lang);
    let a = AnalysisTexts::get(lang);
    let map_values: Vec<MapValue> = lisa
        .iter()
        .map(|l| MapValue {
            code: l.code.clone(),
            name: l.name.clone(),
            value: Some(l.class as f64),
            rank: None,
            display: format!("{} (I = {}, p = {})", l.cluster, l.local_i, l.p_perm),
        })
        .collect();
    let names: Vec<String> = (a.quadrants.iter().chain([&a.not_significant]))
        .map(|s| (*s).to_owned())
        .collect();
    let bins =
        Bins::categories(names, &LISA_COLORS).map_err(|e| crate::Error::Internal(e.to_string()))?;
    let href = |code: &str| Some(ctx.region_url(code));
    let title = format!("{} · {label} · {year}", a.lisa_title);
    Ok(p.ctx.map.render(&ChoroplethSpec {
        head: ctx.chart_head("lisa-map", &title, a.lisa_desc),
        values: &map_values,
        bins: &bins,
        href: &href,
        lang,
        legend_title: a.cluster,
        highlight: None,
    }))
}

fn matrix_name(a: &AnalysisTexts, m: MatrixChoice) -> &'static str {
    let i = MatrixChoice::ALL.iter().position(|x| *x == m).unwrap_or(0);
    a.matrix_names[i]
}

/// "0.850 (17)" per cell of a transition matrix ("— (0)" in a row without observations), "—"
/// for a cell the analysis did not report.
fn transition_cells(cell: impl Fn(u8, u8) -> Option<(Option<f64>, u64)>) -> Vec<Vec<String>> {
    (1..=4u8)
        .map(|from| {
            (1..=4u8)
                .map(|to| match cell(from, to) {
                    Some((p, count)) => format!("{} ({count})", fmt_num(p, 3)),
                    None => "—".to_owned(),
                })
                .collect()
        })
        .collect()
}

/// Quadrant index in the order of the labels and colours: HH, LH, LL, HL.
fn quadrant_index(q: &str) -> usize {
    match q {
        "HH" => 0,
        "LH" => 1,
        "LL" => 2,
        _ => 3,
    }
}
