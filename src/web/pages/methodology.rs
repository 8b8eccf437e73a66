//! `/methodology`: framework tree with effective weights, the method in use (changeable by a
//! GET form), exact formulas, sources with publishers, pitfalls and what the map shows.

use askama::Template;
use axum::extract::State;

use super::{MethodOptions, PageResult, fmt_num, render};
use crate::service::dashboard::Dataset;
use crate::service::methodology::{MethodologyView, SubdimensionNode, methodology};
use crate::types::Lang;
use crate::web::chrome::Chrome;
use crate::web::ctx::PageCtx;
use crate::web::download::{ViewDownloads, view_file};
use crate::web::state::AppState;

pub struct IndicatorNode {
    pub id: String,
    pub name: String,
    pub url: String,
    pub direction: String,
    pub unit: String,
    pub level: String,
    pub weight: String,
    pub formula: String,
    pub excluded: bool,
    pub coverage: String,
}

pub struct SubNode {
    pub label: String,
    pub weight: String,
    pub indicators: Vec<IndicatorNode>,
}

pub struct DimensionNode {
    pub label: String,
    pub weight: String,
    pub subs: Vec<SubNode>,
}

pub struct SourceRow {
    pub name: String,
    pub url: String,
    pub source: String,
    pub publisher: String,
}

#[derive(Template)]
#[template(path = "pages/methodology.html")]
pub struct MethodologyPage {
    pub chrome: Chrome,
    pub zh: bool,
    pub lang: &'static str,
    pub framework_name: String,
    pub dimensions: Vec<DimensionNode>,
    pub method_rows: Vec<(&'static str, String)>,
    pub notices: Vec<String>,
    pub method_options: MethodOptions,
    pub sources: Vec<SourceRow>,
    pub downloads: ViewDownloads,
}

pub async fn page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let (ds, tables) = super::load(&state, &ctx).await?;
    let view = methodology(&ds, &tables, ctx.lang);
    let rows = &view.framework.indicators;
    if let Some(file) = view_file(&ctx, &ds, &tables, "methodology", &view, rows, None).await? {
        return Ok(file);
    }
    render(&MethodologyPage::new(&ctx, &ds, &view))
}

impl MethodologyPage {
    fn new(ctx: &PageCtx, ds: &Dataset, view: &MethodologyView) -> MethodologyPage {
        let (lang, m) = (ctx.lang, &view.method);
        MethodologyPage {
            chrome: Chrome::new(ctx, ds, "methodology"),
            zh: lang == Lang::Zh,
            lang: lang.as_str(),
            framework_name: view.framework.name.clone(),
            dimensions: tree(ctx, view),
            method_rows: method_rows(ctx, view),
            notices: view
                .notices
                .iter()
                .map(|n| crate::web::i18n::error_message(n.code, &n.message, lang))
                .collect(),
            method_options: MethodOptions::new(m.spec.normalise, &m.spec.weights, m.spec.aggregate),
            sources: view
                .framework
                .indicators
                .iter()
                .map(|d| SourceRow {
                    name: d.name.clone(),
                    url: ctx.indicator_url(&d.id),
                    source: d.source.clone(),
                    publisher: d.publisher.clone().unwrap_or_default(),
                })
                .collect(),
            downloads: ViewDownloads::new(ctx, ds, &[]),
        }
    }
}

/// The framework tree with formatted weights.
fn tree(ctx: &PageCtx, view: &MethodologyView) -> Vec<DimensionNode> {
    let indicator = |id: &String| {
        let d = view.framework.indicators.iter().find(|i| &i.id == id)?;
        Some(IndicatorNode {
            id: d.id.clone(),
            name: d.name.clone(),
            url: ctx.indicator_url(&d.id),
            direction: d.direction.clone(),
            unit: d.unit_label.clone(),
            level: d.level_label.clone().unwrap_or_default(),
            weight: fmt_num(d.weight, 4),
            formula: d.formula.clone().unwrap_or_default(),
            excluded: d.excluded,
            coverage: d
                .coverage
                .map(|c| format!("{:.0}%", c * 100.0))
                .unwrap_or_default(),
        })
    };
    let sub = |sub: &SubdimensionNode| SubNode {
        label: sub.label.clone().unwrap_or_default(),
        weight: fmt_num(sub.weight, 4),
        indicators: sub.indicators.iter().filter_map(indicator).collect(),
    };
    view.dimensions
        .iter()
        .map(|dim| DimensionNode {
            label: dim.label.clone(),
            weight: fmt_num(dim.weight, 4),
            subs: dim.subdimensions.iter().map(sub).collect(),
        })
        .collect()
}

/// The method in use, with the versions of nqp and of the dataset.
fn method_rows(ctx: &PageCtx, view: &MethodologyView) -> Vec<(&'static str, String)> {
    let (lang, m) = (ctx.lang, &view.method);
    vec![
        (ctx.t.normalise_label, m.spec.normalise.as_str().to_owned()),
        (ctx.t.weights_label, m.spec.weights.to_string()),
        (
            lang.pick("熵权平移量", "Entropy shift"),
            m.spec.shift.to_string(),
        ),
        (ctx.t.aggregate_label, m.spec.aggregate.as_str().to_owned()),
        (
            lang.pick("覆盖率阈值", "Coverage threshold"),
            m.spec.coverage_threshold.to_string(),
        ),
        (lang.pick("nqp 版本", "nqp version"), m.version.clone()),
        (ctx.t.version, view.version.clone()),
    ]
}
