//! A region's two-page print brief as one view (`/regions/{code}/brief` and its `?format=`):
//! the score history, the three dimensions against the national mean, the strengths and
//! weaknesses, the year's largest obstacles and coupling coordination, the dataset and the
//! publishers of its data.
//!
//! Owns: choosing and deriving what the brief shows from the region profile
//! (`dashboard::region_profile`) and its diagnosis (`analysis::region_diagnosis`), so the page,
//! its JSON and its CSV show the same numbers. Must not: format numbers for a page or know
//! HTTP.

use serde::Serialize;

use super::analysis::RegionDiagnosis;
use super::dashboard::{Dataset, DimScores, IndicatorStanding, RegionProfile, TrendPoint};
use super::publish::cite::{Publisher, publishers};
use crate::analysis::diagnosis::CouplingRow;
use crate::types::{Dimension, Lang};

/// Strengths, weaknesses and obstacles a brief lists at most (room on paper).
pub const LISTED: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct BriefView {
    pub code: String,
    pub name: String,
    /// The region's group key (`east`, …), when the region set has one.
    pub group: Option<String>,
    pub year: i32,
    /// The first year of the history.
    pub first_year: i32,
    pub rank: Option<u32>,
    pub regions_ranked: usize,
    /// The scores of `year`.
    #[serde(flatten)]
    pub scores: DimScores,
    /// Score and rank over the years: the brief's table (its CSV).
    pub history: Vec<TrendPoint>,
    /// The three dimensions against the national mean, in `Dimension::ALL` order.
    pub dimensions: Vec<DimensionGap>,
    pub strengths: Vec<IndicatorStanding>,
    pub weaknesses: Vec<IndicatorStanding>,
    /// The year's largest obstacle degrees, largest first.
    pub obstacles: Vec<BriefObstacle>,
    pub coupling: Option<CouplingRow>,
    /// Obstacles and coupling were skipped: the method's normalisation leaves [0, 1].
    pub diagnosis_skipped: bool,
    /// The framework's name in the requested language.
    pub framework: String,
    /// The dataset's title in the requested language.
    pub dataset: String,
    pub version: String,
    pub nqp_version: String,
    pub sources: Vec<Publisher>,
}

/// One dimension of the region against the national mean of the year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimensionGap {
    pub dimension: Dimension,
    pub value: Option<f64>,
    pub national_mean: Option<f64>,
    /// `value − national_mean`.
    pub gap: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BriefObstacle {
    pub indicator: String,
    /// The indicator's name in the requested language.
    pub name: String,
    pub obstacle_pct: f64,
}

/// The brief of `profile`'s region and year, with the diagnosis of that year.
pub fn brief(
    ds: &Dataset,
    profile: &RegionProfile,
    diagnosis: &RegionDiagnosis,
    lang: Lang,
) -> BriefView {
    let listed = |list: &[IndicatorStanding]| list.iter().take(LISTED).cloned().collect();
    BriefView {
        code: profile.code.clone(),
        name: profile.name.clone(),
        group: profile.group.clone(),
        year: profile.year,
        first_year: profile.trend.first().map_or(profile.year, |p| p.year),
        rank: profile.current.rank,
        regions_ranked: profile.regions_ranked,
        scores: profile.current.scores.clone(),
        history: profile.trend.clone(),
        dimensions: Dimension::ALL
            .iter()
            .map(|&d| {
                let value = profile.current.scores.dimension(d);
                let national_mean = profile.national_mean.scores.dimension(d);
                DimensionGap {
                    dimension: d,
                    value,
                    national_mean,
                    gap: value.zip(national_mean).map(|(v, m)| v - m),
                }
            })
            .collect(),
        strengths: listed(&profile.strengths),
        weaknesses: listed(&profile.weaknesses),
        obstacles: diagnosis
            .top
            .iter()
            .take(LISTED)
            .map(|o| BriefObstacle {
                indicator: o.indicator.clone(),
                name: ds.indicator_name(&o.indicator, lang),
                obstacle_pct: o.obstacle_pct,
            })
            .collect(),
        coupling: diagnosis.coupling.clone(),
        diagnosis_skipped: diagnosis.skipped,
        framework: lang
            .pick(&ds.framework.index.name_zh, &ds.framework.index.name_en)
            .to_owned(),
        dataset: ds.title(lang).to_owned(),
        version: ds.version.clone(),
        nqp_version: env!("CARGO_PKG_VERSION").to_owned(),
        sources: publishers(ds),
    }
}
