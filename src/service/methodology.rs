//! The methodology view: the framework as a tree (dimension → sub-dimension → indicator) with
//! the effective weights of the method in use, the method record, coverage and the method's
//! notices.
//!
//! Owns: the one [`MethodologyView`] that `/methodology` renders (as HTML or `?format=`) and
//! `/api/v1/methodology` returns, and the indicator listing of `/api/v1/indicators`.
//! Must not: compute weights (they come from the result) or know HTTP.

use serde::Serialize;
use utoipa::ToSchema;

use super::dashboard::{Dataset, ResultTables};
use super::download::{CoverageMeta, NoticeMeta};
use crate::method::MethodRecord;
use crate::types::{Dimension, Lang};

/// One framework indicator with its effective weight and coverage under the requested method.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndicatorInfo {
    pub id: String,
    /// Name in the requested language.
    pub name: String,
    pub name_zh: String,
    pub name_en: String,
    pub dimension: Dimension,
    pub subdimension: Option<String>,
    /// Mechanism level: micro | meso | macro.
    pub level: Option<String>,
    /// The level in the requested language.
    pub level_label: Option<String>,
    /// `+` (higher is better) or `-`.
    pub direction: String,
    pub unit: String,
    /// The unit in the requested language.
    pub unit_label: String,
    pub source: String,
    pub publisher: Option<String>,
    pub formula: Option<String>,
    /// Effective weight under the requested method (mean over years for per-year schemes).
    pub weight: Option<f64>,
    /// Share of region-years observed before imputation.
    pub coverage: Option<f64>,
    pub excluded: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FrameworkInfo {
    pub id: String,
    pub name: String,
    pub name_zh: String,
    pub name_en: String,
    pub description: Option<String>,
    pub indicators: Vec<IndicatorInfo>,
}

/// A sub-dimension of the framework tree: its indicators and their summed weight.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubdimensionNode {
    /// The sub-dimension's name in the requested language (`null` for indicators without one).
    pub label: Option<String>,
    pub weight: Option<f64>,
    /// Indicator ids, in framework order.
    pub indicators: Vec<String>,
}

/// A dimension of the framework tree and its summed weight.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DimensionNode {
    pub dimension: Dimension,
    /// The dimension in the requested language.
    pub label: String,
    pub weight: Option<f64>,
    pub subdimensions: Vec<SubdimensionNode>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MethodologyView {
    pub dataset: String,
    pub version: String,
    pub framework: FrameworkInfo,
    /// The framework as a tree with summed weights (every dimension, even an empty one).
    pub dimensions: Vec<DimensionNode>,
    pub method: MethodRecord,
    pub coverage: Vec<CoverageMeta>,
    /// What the method did on its own (exclusions, constant indicators, …).
    pub notices: Vec<NoticeMeta>,
}

/// Every framework indicator with its weight and coverage under `tables`' method.
pub fn indicator_infos(ds: &Dataset, tables: &ResultTables, lang: Lang) -> Vec<IndicatorInfo> {
    ds.framework
        .indicators
        .iter()
        .map(|d| {
            let id = d.id.as_str();
            let coverage = tables.coverage.iter().find(|c| c.0 == id);
            IndicatorInfo {
                id: id.to_owned(),
                name: lang.pick(&d.name_zh, &d.name_en).to_owned(),
                name_zh: d.name_zh.clone(),
                name_en: d.name_en.clone(),
                dimension: d.dimension,
                subdimension: d.subdimension.clone(),
                level: d.level.map(|l| l.as_str().to_owned()),
                level_label: d.level.map(|l| l.label(lang).to_owned()),
                direction: d.direction.as_str().to_owned(),
                unit: d.unit.clone(),
                unit_label: d.unit_label(lang).to_owned(),
                source: d.source.clone(),
                publisher: d.publisher.clone(),
                formula: d.formula.as_ref().map(|f| f.to_string()),
                weight: tables.weight(id),
                coverage: coverage.map(|c| c.1),
                excluded: coverage.is_some_and(|c| c.2),
            }
        })
        .collect()
}

/// The sum of the indicators' weights (`None` when none of them has one).
fn weight_sum<'a>(indicators: impl IntoIterator<Item = &'a IndicatorInfo>) -> Option<f64> {
    let ws: Vec<f64> = indicators.into_iter().filter_map(|i| i.weight).collect();
    (!ws.is_empty()).then(|| ws.iter().sum())
}

/// The framework tree: dimensions in their fixed order, sub-dimensions in order of first use.
fn tree(ds: &Dataset, indicators: &[IndicatorInfo], lang: Lang) -> Vec<DimensionNode> {
    Dimension::ALL
        .into_iter()
        .map(|dim| {
            let members: Vec<(&IndicatorInfo, Option<&str>)> = indicators
                .iter()
                .zip(&ds.framework.indicators)
                .filter(|(i, _)| i.dimension == dim)
                .map(|(i, d)| (i, d.subdimension_label(lang)))
                .collect();
            let mut subs: Vec<&Option<String>> = Vec::new();
            for (i, _) in &members {
                if !subs.contains(&&i.subdimension) {
                    subs.push(&i.subdimension);
                }
            }
            let subdimensions = subs
                .into_iter()
                .map(|sub| {
                    let inside: Vec<_> = members
                        .iter()
                        .filter(|(i, _)| &i.subdimension == sub)
                        .collect();
                    SubdimensionNode {
                        label: inside.first().and_then(|m| m.1).map(str::to_owned),
                        weight: weight_sum(inside.iter().map(|m| m.0)),
                        indicators: inside.iter().map(|m| m.0.id.clone()).collect(),
                    }
                })
                .collect();
            DimensionNode {
                dimension: dim,
                label: dim.label(lang).to_owned(),
                weight: weight_sum(members.iter().map(|m| m.0)),
                subdimensions,
            }
        })
        .collect()
}

/// The methodology of dataset `ds` under the method of `tables`, in `lang`.
pub fn methodology(ds: &Dataset, tables: &ResultTables, lang: Lang) -> MethodologyView {
    let index = &ds.framework.index;
    let indicators = indicator_infos(ds, tables, lang);
    let (first, second) = match lang {
        Lang::Zh => (&index.description_zh, &index.description_en),
        Lang::En => (&index.description_en, &index.description_zh),
    };
    MethodologyView {
        dataset: ds.id.to_string(),
        version: ds.version.clone(),
        dimensions: tree(ds, &indicators, lang),
        framework: FrameworkInfo {
            id: index.id.clone(),
            name: lang.pick(&index.name_zh, &index.name_en).to_owned(),
            name_zh: index.name_zh.clone(),
            name_en: index.name_en.clone(),
            description: first.clone().or_else(|| second.clone()),
            indicators,
        },
        method: tables.method.clone(),
        coverage: tables
            .coverage
            .iter()
            .map(|(indicator, coverage, excluded)| CoverageMeta {
                indicator: indicator.clone(),
                coverage: *coverage,
                excluded: *excluded,
            })
            .collect(),
        notices: tables.result.notices.iter().map(NoticeMeta::from).collect(),
    }
}
