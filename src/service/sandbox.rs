//! The weight sandbox (`/sandbox`, `/api/v1/sandbox`): the index of one year recomputed with
//! the reader's dimension and indicator weights, against the nominal ranking.
//!
//! Owns: reading the weights from query pairs ([`SandboxInput::parse`], bounded, messages in
//! the reader's language) and the view ([`sandbox`]): effective weights, scores, ranks and rank
//! shifts. The panel is the cached [`Baseline`] — a request runs only the weights and the
//! aggregation (`analysis::robustness::rescore`), never a frame. Must not: know HTTP.

use serde::Serialize;

use super::dashboard::Dataset;
use super::robustness::Baseline;
use crate::analysis::robustness::{manual_weights, rescore};
use crate::error::Result;
use crate::types::{Dimension, Lang};

/// Longest accepted weight text (a number needs far fewer characters).
const MAX_WEIGHT_CHARS: usize = 32;

/// A weight the reader gave that cannot be used: the parameter and why, in their language.
#[derive(Debug, Clone, PartialEq)]
pub struct BadWeight {
    pub name: String,
    pub detail: String,
}

/// The reader's weights, resolved against the baseline: a value per dimension
/// ([`Dimension::ALL`] order) and per scored indicator (framework order). Weights not given
/// are the nominal method's weights of the year (a dimension's: the sum of its indicators').
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxInput {
    pub year: usize,
    pub dimension: [f64; 3],
    pub indicator: Vec<f64>,
    /// Which were given (the others are the nominal defaults).
    pub given: usize,
}

impl SandboxInput {
    /// Read `d.<dimension>=` and `w.<indicator>=` from `pairs` (other keys are ignored): finite
    /// numbers ≥ 0, each named once, at most one per dimension and scored indicator, and not all
    /// zero in effect.
    pub fn parse(
        base: &Baseline,
        pairs: &[(String, String)],
        year: Option<i32>,
        lang: Lang,
    ) -> Result<std::result::Result<SandboxInput, BadWeight>> {
        let t = base.year_index(year)?;
        let specs = base.prepared.scored();
        let nominal = &base.run.w[t];
        let mut dimension = [0.0; 3];
        for (k, d) in Dimension::ALL.iter().enumerate() {
            dimension[k] = specs
                .iter()
                .zip(nominal)
                .filter(|(s, _)| s.dimension == *d)
                .map(|(_, w)| w)
                .sum();
        }
        let mut indicator = nominal.clone();
        let mut seen: Vec<&str> = Vec::new();
        let bad = |name: &str, zh: String, en: String| BadWeight {
            name: name.to_owned(),
            detail: lang.pick(&zh, &en).to_owned(),
        };
        for (key, raw) in pairs {
            let slot = if let Some(d) = key.strip_prefix("d.") {
                match Dimension::ALL.iter().position(|x| x.as_str() == d) {
                    Some(k) => &mut dimension[k],
                    None => {
                        return Ok(Err(bad(
                            key,
                            format!("没有名为 {d} 的维度（laborers、tools、objects）"),
                            format!("there is no dimension '{d}' (laborers, tools, objects)"),
                        )));
                    }
                }
            } else if let Some(id) = key.strip_prefix("w.") {
                match specs.iter().position(|s| s.id.as_str() == id) {
                    Some(j) => &mut indicator[j],
                    None => {
                        return Ok(Err(bad(
                            key,
                            format!("框架中没有参与计算的指标 {id}"),
                            format!("the framework scores no indicator '{id}'"),
                        )));
                    }
                }
            } else {
                continue;
            };
            if seen.contains(&key.as_str()) {
                return Ok(Err(bad(
                    key,
                    "同一权重只能给一次".into(),
                    "this weight is given more than once".into(),
                )));
            }
            seen.push(key);
            let value = raw
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| raw.len() <= MAX_WEIGHT_CHARS && v.is_finite() && *v >= 0.0);
            match value {
                Some(v) => *slot = v,
                None => {
                    let shown: String = raw.chars().take(MAX_WEIGHT_CHARS).collect();
                    return Ok(Err(bad(
                        key,
                        format!("“{shown}”不是大于或等于 0 的有限数"),
                        format!("'{shown}' is not a finite number ≥ 0"),
                    )));
                }
            }
        }
        let effective = Dimension::ALL.iter().enumerate().any(|(k, d)| {
            dimension[k] > 0.0
                && specs
                    .iter()
                    .zip(&indicator)
                    .any(|(s, v)| s.dimension == *d && *v > 0.0)
        });
        if !effective {
            return Ok(Err(bad(
                "weights",
                "所有有效权重均为 0：请至少给一个权重不为 0 的维度中的一个指标非零权重".into(),
                "every effective weight is zero: give at least one indicator of a dimension \
                 with a non-zero weight a non-zero weight"
                    .into(),
            )));
        }
        Ok(Ok(SandboxInput {
            year: t,
            dimension,
            indicator,
            given: seen.len(),
        }))
    }
}

/// The sandbox view of one year.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SandboxView {
    pub year: i32,
    pub years: Vec<i32>,
    /// The nominal method, `normalise/weights/aggregate/treat`.
    pub nominal: String,
    pub dimensions: Vec<DimensionWeight>,
    pub indicators: Vec<IndicatorWeight>,
    /// Regions by sandbox rank (unranked last).
    pub rows: Vec<SandboxRow>,
}

/// The weights a sandbox view was computed with, as its downloads record them: the nominal
/// method's normalisation and aggregation stay, its weights are replaced by these.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ManualWeights {
    /// The year the weights apply to.
    pub year: i32,
    /// The nominal method whose weights these replace, `normalise/weights/aggregate/treat`.
    pub replaces: String,
    pub dimensions: Vec<DimensionWeight>,
    pub indicators: Vec<IndicatorWeight>,
}

impl SandboxView {
    /// What a download of this view must say about its weights.
    pub fn manual_weights(&self) -> ManualWeights {
        ManualWeights {
            year: self.year,
            replaces: self.nominal.clone(),
            dimensions: self.dimensions.clone(),
            indicators: self.indicators.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DimensionWeight {
    pub dimension: String,
    pub label: String,
    /// The nominal method's share of the dimension in the year.
    pub nominal: f64,
    /// The weight the sandbox used (given or the nominal default).
    pub input: f64,
    /// The dimension's share of the effective weights.
    pub effective: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IndicatorWeight {
    pub indicator: String,
    pub name: String,
    pub dimension: String,
    pub nominal: f64,
    pub input: f64,
    /// `D_d · v_j / Σ_{k ∈ d} v_k`, renormalised to sum 1.
    pub effective: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SandboxRow {
    pub region: String,
    pub name: String,
    pub score: Option<f64>,
    pub rank: Option<u32>,
    pub nominal_score: Option<f64>,
    pub nominal_rank: Option<u32>,
    /// `nominal_rank − rank`: positive when the region climbs under the sandbox weights.
    pub shift: Option<i64>,
    pub laborers: Option<f64>,
    pub tools: Option<f64>,
    pub objects: Option<f64>,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Recompute the year of `input` with its weights.
pub fn sandbox(
    ds: &Dataset,
    base: &Baseline,
    input: &SandboxInput,
    lang: Lang,
) -> Result<SandboxView> {
    let p = &base.prepared;
    let specs = p.scored();
    let dims: Vec<Dimension> = specs.iter().map(|s| s.dimension).collect();
    let w = manual_weights(&dims, &base.run.z, input.dimension, &input.indicator)?;
    let r = rescore(p, &base.run.z, &w, &base.spec);
    let t = input.year;
    let (year, range) = p.years()[t].clone();
    let nominal = &base.run.w[t];
    let share = |ws: &[f64], d: Dimension| -> f64 {
        dims.iter()
            .zip(ws)
            .filter(|(x, _)| **x == d)
            .map(|(_, v)| v)
            .sum()
    };
    let dimensions = Dimension::ALL
        .iter()
        .enumerate()
        .map(|(k, &d)| DimensionWeight {
            dimension: d.as_str().to_owned(),
            label: d.label(lang).to_owned(),
            nominal: share(nominal, d),
            input: input.dimension[k],
            effective: share(&w, d),
        })
        .collect();
    let indicators = specs
        .iter()
        .enumerate()
        .map(|(j, s)| IndicatorWeight {
            indicator: s.id.to_string(),
            name: ds
                .framework
                .get(s.id.as_str())
                .map_or_else(|| s.id.to_string(), |d| d.name(lang).to_owned()),
            dimension: s.dimension.as_str().to_owned(),
            nominal: nominal[j],
            input: input.indicator[j],
            effective: w[j],
        })
        .collect();
    let dim_score = |k: usize, i: usize| finite(r.dimensions[k].1[i]);
    let mut rows: Vec<SandboxRow> = range
        .map(|i| {
            let code = &p.regions()[i];
            SandboxRow {
                region: code.clone(),
                name: ds.region_name(code, lang),
                score: finite(r.score[i]),
                rank: r.ranks[i],
                nominal_score: finite(base.run.score[i]),
                nominal_rank: base.ranks[i],
                shift: match (base.ranks[i], r.ranks[i]) {
                    (Some(a), Some(b)) => Some(i64::from(a) - i64::from(b)),
                    _ => None,
                },
                laborers: dim_score(0, i),
                tools: dim_score(1, i),
                objects: dim_score(2, i),
            }
        })
        .collect();
    rows.sort_by_key(|row| (row.rank.is_none(), row.rank, row.region.clone()));
    Ok(SandboxView {
        year,
        years: p.years().iter().map(|(y, _)| *y).collect(),
        nominal: format!(
            "{}/{}/{}/{}",
            base.spec.normalise, base.spec.weights, base.spec.aggregate, base.spec.treat
        ),
        dimensions,
        indicators,
        rows,
    })
}
