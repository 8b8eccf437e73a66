//! The robustness service: one call from a panel, a framework, the nominal method and the
//! robustness options to the typed report (CLI, pages, JSON and downloads all render it).
//!
//! Owns: deriving and preparing the panel once for the analysis. Must not: compute anything
//! itself (that is `analysis::robustness` on `method::Prepared`).

use polars::prelude::DataFrame;

use crate::analysis::robustness::{self, Robustness, RobustnessOptions};
use crate::error::{Error, Result};
use crate::framework::Framework;
use crate::method::{MethodSpec, Prepared};
use crate::types::Panel;

/// Derive the framework's indicators (without the regions it excludes) and prepare the panel
/// for many methods.
pub fn prepare(panel: &Panel, framework: &Framework, nominal: &MethodSpec) -> Result<Prepared> {
    let included = super::included_panel(panel, framework)?;
    let wide = framework.derive(&included)?;
    let specs = framework.indicator_specs();
    let prepared = Prepared::new(&wide, &specs, nominal.coverage_threshold)?;
    prepared.validate(nominal)?;
    Ok(prepared)
}

/// The whole robustness report of `nominal` on the panel.
pub fn robustness(
    panel: &Panel,
    framework: &Framework,
    nominal: &MethodSpec,
    options: &RobustnessOptions,
) -> Result<Robustness> {
    let prepared = prepare(panel, framework, nominal)?;
    Ok(robustness::run(&prepared, nominal, options)?)
}

/// One table of the report (see [`robustness::TABLES`]) as a frame.
pub fn table(report: &Robustness, name: &str) -> Result<DataFrame> {
    robustness::table(report, name)?.ok_or_else(|| Error::NotFound {
        what: "robustness table",
        key: name.to_owned(),
    })
}

/// The panel prepared once with the nominal method's run on it: what the weight sandbox
/// recomputes from (no frame is read per request) and what the change decomposition splits.
/// Cached per (dataset version, method) by the server.
pub struct Baseline {
    pub prepared: Prepared,
    pub spec: MethodSpec,
    pub run: robustness::NominalRun,
    pub ranks: Vec<Option<u32>>,
}

impl Baseline {
    /// Index of `year` among the panel years; the latest for `None`.
    pub fn year_index(&self, year: Option<i32>) -> Result<usize> {
        let years = self.prepared.years();
        match year {
            None => Ok(years.len().saturating_sub(1)),
            Some(y) => years
                .iter()
                .position(|(x, _)| *x == y)
                .ok_or_else(|| Error::NotFound {
                    what: "year",
                    key: y.to_string(),
                }),
        }
    }

    /// The row of `region` in year index `t`.
    pub fn row(&self, region: &str, t: usize) -> Option<usize> {
        let (_, range) = &self.prepared.years()[t];
        range
            .clone()
            .find(|&i| self.prepared.regions()[i] == region)
    }

    /// Rough bytes held (for the cache's budget): the columns of the panel, its normalised copy
    /// and scores, and the region names.
    pub fn weight(&self) -> u64 {
        let rows = self.prepared.regions().len() as u64;
        let cols = self.prepared.scored().len() as u64;
        rows * (cols * 8 * 6 + 96) + std::mem::size_of::<Baseline>() as u64
    }
}

/// Prepare the panel and run the nominal method `spec` on it.
pub fn baseline(panel: &Panel, framework: &Framework, spec: &MethodSpec) -> Result<Baseline> {
    let prepared = prepare(panel, framework, spec)?;
    let run = robustness::nominal_run(&prepared, spec)?;
    let ranks = prepared.ranks(&run.score);
    Ok(Baseline {
        prepared,
        spec: spec.clone(),
        run,
        ranks,
    })
}

/// What drove a region's score change between two years (the waterfall on the region page).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ChangeView {
    pub region: String,
    pub year_from: i32,
    pub year_to: i32,
    pub score_from: f64,
    pub score_to: f64,
    /// `true` for a weighted sum with panel normalisation and panel weights whose contributions
    /// add up to the change (the residual is floating-point noise); else the split is
    /// approximate and `residual` is what it leaves out.
    pub exact: bool,
    pub residual: f64,
    /// One row per scored indicator (framework order), `c_j = 100 · (w_j,b z_j,b − w_j,a z_j,a)`.
    pub indicators: Vec<ChangeRow>,
    /// The indicator contributions summed per dimension.
    pub dimensions: Vec<ChangeRow>,
    /// The panel years (for choosing another pair).
    pub years: Vec<i32>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ChangeRow {
    /// Indicator id, or dimension name.
    pub id: String,
    pub name: String,
    /// The dimension (for an indicator row).
    pub dimension: String,
    pub contribution: f64,
}

/// The change of `region` from `from` to `to` (defaults: the first and the last panel year)
/// under the baseline's method; names in `lang`.
pub fn change(
    base: &Baseline,
    framework: &Framework,
    region: &str,
    from: Option<i32>,
    to: Option<i32>,
    lang: crate::types::Lang,
) -> Result<ChangeView> {
    let years: Vec<i32> = base.prepared.years().iter().map(|(y, _)| *y).collect();
    let ta = match from {
        None => 0,
        Some(_) => base.year_index(from)?,
    };
    let tb = base.year_index(to)?;
    let missing = |year: i32| Error::NotFound {
        what: "score of the region in year",
        key: format!("{region} {year}"),
    };
    let ia = base.row(region, ta).ok_or_else(|| missing(years[ta]))?;
    let ib = base.row(region, tb).ok_or_else(|| missing(years[tb]))?;
    let run = &base.run;
    let split = robustness::split(&run.z, &run.w, &run.score, (ta, ia), (tb, ib))
        .ok_or_else(|| missing(years[if run.score[ia].is_nan() { ta } else { tb }]))?;
    let specs = base.prepared.scored();
    let indicators: Vec<ChangeRow> = specs
        .iter()
        .zip(&split.contributions)
        .map(|(s, c)| ChangeRow {
            id: s.id.to_string(),
            name: framework
                .get(s.id.as_str())
                .map_or_else(|| s.id.to_string(), |d| d.name(lang).to_owned()),
            dimension: s.dimension.as_str().to_owned(),
            contribution: *c,
        })
        .collect();
    let dimensions = crate::types::Dimension::ALL
        .iter()
        .map(|d| ChangeRow {
            id: d.as_str().to_owned(),
            name: d.label(lang).to_owned(),
            dimension: d.as_str().to_owned(),
            contribution: specs
                .iter()
                .zip(&split.contributions)
                .filter(|(s, _)| s.dimension == *d)
                .map(|(_, c)| c)
                .sum(),
        })
        .collect();
    let spec = &base.spec;
    let canonical = spec.aggregate == crate::method::Aggregate::Sum
        && !spec.normalise.per_year()
        && !spec.weights.per_year();
    Ok(ChangeView {
        region: region.to_owned(),
        year_from: years[ta],
        year_to: years[tb],
        score_from: split.score_from,
        score_to: split.score_to,
        exact: canonical && split.adds_up(),
        residual: split.residual,
        indicators,
        dimensions,
        years,
    })
}

/// The parts of the report the JSON API serves (`/api/v1/robustness/{part}`).
pub const PARTS: [&str; 6] = [
    "audit",
    "treatment",
    "uncertainty",
    "sensitivity",
    "comparison",
    "decomposition",
];

/// One part of the report as JSON: its rows with the settings that produced them.
pub fn part(report: &Robustness, name: &str) -> Result<serde_json::Value> {
    let r = report;
    let settings = serde_json::json!({
        "nominal": r.nominal, "mode": r.mode, "draws": r.draws, "noise": r.noise,
        "seed": r.seed, "excluded": r.excluded,
    });
    let rows = match name {
        "audit" => serde_json::json!({
            "stats": r.stats, "correlations": r.correlations, "flags": r.flags, "alpha": r.alpha,
        }),
        "treatment" => serde_json::json!({ "treatment": r.treatment }),
        "uncertainty" => serde_json::json!({ "uncertainty": r.uncertainty }),
        "sensitivity" => serde_json::json!({
            "estimator": r.estimator, "sensitivity": r.sensitivity,
        }),
        "comparison" => serde_json::json!({ "comparison": r.comparison, "ranks": r.ranks }),
        "decomposition" => serde_json::json!({ "decomposition": r.decomposition }),
        _ => {
            return Err(Error::NotFound {
                what: "robustness part",
                key: format!("{name} ({})", PARTS.join(", ")),
            });
        }
    };
    let (serde_json::Value::Object(mut out), serde_json::Value::Object(rows)) = (settings, rows)
    else {
        return Err(Error::Internal("a JSON object is not an object".into()));
    };
    out.extend(rows);
    Ok(serde_json::Value::Object(out))
}
