//! `/methodology`: framework tree with effective weights, the method in use (changeable by a
//! GET form), exact formulas, sources with publishers, pitfalls and what the map shows.

use askama::Template;
use axum::extract::State;

use super::{PageResult, fmt_num, render};
use crate::method::{Aggregate, Normalise};
use crate::types::{Dimension, Lang};
use crate::web::chrome::Chrome;
use crate::web::ctx::PageCtx;
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
    pub label: &'static str,
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
    pub normalise_options: Vec<(&'static str, bool)>,
    pub weight_options: Vec<(String, bool)>,
    pub aggregate_options: Vec<(&'static str, bool)>,
    pub sources: Vec<SourceRow>,
}

/// The weighting schemes offered in the form (combined schemes are reachable by URL).
const WEIGHT_CHOICES: [&str; 6] = [
    "entropy-panel",
    "entropy-year",
    "critic",
    "sd",
    "equal",
    "manual",
];

pub async fn page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let (ds, tables) = super::load(&state, &ctx).await?;
    let lang = ctx.lang;
    let weight_sum = |ids: &[&str]| -> Option<f64> {
        let ws: Vec<f64> = ids.iter().filter_map(|id| tables.weight(id)).collect();
        (!ws.is_empty()).then(|| ws.iter().sum())
    };
    let mut dimensions = Vec::new();
    for dim in Dimension::ALL {
        let defs: Vec<_> = ds
            .framework
            .indicators
            .iter()
            .filter(|d| d.dimension == dim)
            .collect();
        let mut sub_names: Vec<Option<String>> = Vec::new();
        for d in &defs {
            if !sub_names.contains(&d.subdimension) {
                sub_names.push(d.subdimension.clone());
            }
        }
        let subs = sub_names
            .into_iter()
            .map(|sub| {
                let members: Vec<_> = defs.iter().filter(|d| d.subdimension == sub).collect();
                let ids: Vec<&str> = members.iter().map(|d| d.id.as_str()).collect();
                SubNode {
                    label: members
                        .first()
                        .and_then(|d| d.subdimension_label(lang))
                        .unwrap_or_default()
                        .to_owned(),
                    weight: fmt_num(weight_sum(&ids), 4),
                    indicators: members
                        .iter()
                        .map(|d| {
                            let cov = tables.coverage.iter().find(|c| c.0 == d.id.as_str());
                            IndicatorNode {
                                id: d.id.to_string(),
                                name: lang.pick(&d.name_zh, &d.name_en).to_owned(),
                                url: ctx.indicator_url(d.id.as_str()),
                                direction: d.direction.as_str().to_owned(),
                                unit: d.unit_label(lang).to_owned(),
                                level: d
                                    .level
                                    .map(|l| l.label(lang).to_owned())
                                    .unwrap_or_default(),
                                weight: fmt_num(tables.weight(d.id.as_str()), 4),
                                formula: d
                                    .formula
                                    .as_ref()
                                    .map(|f| f.to_string())
                                    .unwrap_or_default(),
                                excluded: cov.is_some_and(|c| c.2),
                                coverage: cov
                                    .map(|c| format!("{:.0}%", c.1 * 100.0))
                                    .unwrap_or_default(),
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        let ids: Vec<&str> = defs.iter().map(|d| d.id.as_str()).collect();
        dimensions.push(DimensionNode {
            label: dim.label(lang),
            weight: fmt_num(weight_sum(&ids), 4),
            subs,
        });
    }
    let spec = &ctx.spec;
    let method_rows = vec![
        (ctx.t.normalise_label, spec.normalise.as_str().to_owned()),
        (ctx.t.weights_label, spec.weights.to_string()),
        (
            lang.pick("熵权平移量", "Entropy shift"),
            spec.shift.to_string(),
        ),
        (ctx.t.aggregate_label, spec.aggregate.as_str().to_owned()),
        (
            lang.pick("覆盖率阈值", "Coverage threshold"),
            spec.coverage_threshold.to_string(),
        ),
        (
            lang.pick("nqp 版本", "nqp version"),
            env!("CARGO_PKG_VERSION").to_owned(),
        ),
        (ctx.t.version, ds.version.clone()),
    ];
    let sources = ds
        .framework
        .indicators
        .iter()
        .map(|d| SourceRow {
            name: lang.pick(&d.name_zh, &d.name_en).to_owned(),
            url: ctx.indicator_url(d.id.as_str()),
            source: d.source.clone(),
            publisher: d.publisher.clone().unwrap_or_default(),
        })
        .collect();
    let current_weights = spec.weights.to_string();
    let page = MethodologyPage {
        chrome: Chrome::new(&ctx, &ds, "methodology"),
        zh: lang == Lang::Zh,
        lang: lang.as_str(),
        framework_name: lang
            .pick(&ds.framework.index.name_zh, &ds.framework.index.name_en)
            .to_owned(),
        dimensions,
        method_rows,
        notices: tables
            .notices
            .iter()
            .zip(&tables.notice_codes)
            .map(|(message, code)| crate::web::i18n::error_message(code, message, lang))
            .collect(),
        normalise_options: [
            Normalise::MinmaxPanel,
            Normalise::MinmaxYear,
            Normalise::Zscore,
            Normalise::Rank,
        ]
        .into_iter()
        .map(|n| (n.as_str(), n == spec.normalise))
        .collect(),
        weight_options: WEIGHT_CHOICES
            .iter()
            .map(|w| ((*w).to_owned(), *w == current_weights))
            .chain(
                (!WEIGHT_CHOICES.contains(&current_weights.as_str()))
                    .then(|| (current_weights.clone(), true)),
            )
            .collect(),
        aggregate_options: [Aggregate::Sum, Aggregate::Geometric, Aggregate::Topsis]
            .into_iter()
            .map(|a| (a.as_str(), a == spec.aggregate))
            .collect(),
        sources,
    };
    render(&page)
}
