//! Service: the follow-up analyses of a computed index, laid out for the dashboard's analysis
//! pages, the region profile and their CSV / JSON downloads.
//!
//! Owns: choosing the grouping (the dataset's region set) and contiguity (the bundled one for
//! the 31 China provinces, as `analysis::report::analyse` does), running every analysis once
//! per (dataset version, method) — the web state caches the [`AnalysisView`] — and the tables
//! the downloads serve. Must not: compute any statistic itself (that is `crate::analysis`),
//! format numbers for display, or know HTTP.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::dashboard::{Dataset, ResultTables};
use crate::analysis::diagnosis::{
    CouplingRow, DimensionObstacle, Obstacle, ObstacleRow, obstacle_or_skip,
};
use crate::analysis::report::{
    AnalysisResults, Inputs, ReportOptions, TABLES, WeightsSpec, analyse,
};
use crate::analysis::series::{SeriesTable, resolve_controls};
use crate::analysis::{AnalysisError, GroupMap, MEASURES, china};
use crate::error::{Error, Result};

/// Everything the analysis pages and the region profile show, computed once.
#[derive(Debug, Clone)]
pub struct AnalysisView {
    pub results: AnalysisResults,
    /// Obstacle degrees of every region-year (from the normalised values and weights); `None`
    /// when skipped because the normalisation is outside [0, 1] (a notice says so).
    pub obstacles: Option<Obstacle>,
}

/// The analysis stage reports structural failures only (a statistic undefined for one year is
/// skipped with a notice), so on a dashboard dataset that passed ingest they are internal.
fn internal(e: AnalysisError) -> Error {
    Error::Internal(format!("{}: {e}", e.code()))
}

/// The groups of the dataset's region set, when every scored region has one (else `None`, and
/// `analyse` falls back to the bundled NBS grouping for the 31 provinces or one group `all`).
pub fn dataset_groups(ds: &Dataset, tables: &ResultTables) -> Option<GroupMap> {
    let mut pairs = BTreeMap::new();
    for row in &tables.scores {
        let group = ds.region_group(&row.region)?;
        pairs.insert(row.region.clone(), group);
    }
    GroupMap::from_pairs(pairs).ok()
}

/// The spatial weight matrices the pages offer (`matrix=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatrixChoice {
    #[default]
    Contiguity,
    InverseDistance,
    InverseDistance2,
    /// GDP per capita (the dataset's `gdp` / `population`).
    Economic,
}

impl MatrixChoice {
    pub const ALL: [MatrixChoice; 4] = [
        MatrixChoice::Contiguity,
        MatrixChoice::InverseDistance,
        MatrixChoice::InverseDistance2,
        MatrixChoice::Economic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MatrixChoice::Contiguity => "contiguity",
            MatrixChoice::InverseDistance => "inverse-distance",
            MatrixChoice::InverseDistance2 => "inverse-distance2",
            MatrixChoice::Economic => "economic",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    fn spec(self) -> WeightsSpec {
        match self {
            MatrixChoice::Contiguity => WeightsSpec::Contiguity,
            MatrixChoice::InverseDistance => WeightsSpec::InverseDistance { power: 1 },
            MatrixChoice::InverseDistance2 => WeightsSpec::InverseDistance { power: 2 },
            MatrixChoice::Economic => WeightsSpec::Economic(None),
        }
    }
}

/// What a page may choose beyond the method: the weight matrix and the controls of
/// conditional β-convergence (series or indicator ids, `ln:` for logs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AnalysisChoice {
    pub matrix: MatrixChoice,
    pub controls: Vec<String>,
}

impl AnalysisChoice {
    /// The part of the cache key beyond (dataset version, method).
    pub fn key(&self) -> String {
        format!("{}|{}", self.matrix.as_str(), self.controls.join(","))
    }
}

/// The matrices `ds` supports: distance needs the bundled province centroids (China province
/// codes), economic distance the series `gdp` and `population`.
pub fn matrix_choices(ds: &Dataset, tables: &ResultTables) -> Vec<MatrixChoice> {
    let regions = tables.regions();
    let series = dataset_series(ds, tables).ok();
    MatrixChoice::ALL
        .into_iter()
        .filter(|m| match m {
            MatrixChoice::Contiguity => true,
            MatrixChoice::InverseDistance | MatrixChoice::InverseDistance2 => {
                china::is_province_set(&regions)
            }
            MatrixChoice::Economic => series
                .as_ref()
                .is_some_and(|s| s.economic_series(None).is_ok_and(|(_, v)| !v.is_empty())),
        })
        .collect()
}

/// The ids a page may name as controls: the dataset's series and indicators.
pub fn control_ids(ds: &Dataset, tables: &ResultTables) -> Vec<String> {
    dataset_series(ds, tables)
        .map(|s| s.ids().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The dataset's raw series (panel) and the framework's indicators (after formulas).
fn dataset_series(ds: &Dataset, tables: &ResultTables) -> Result<SeriesTable> {
    let mut series = SeriesTable::default();
    series
        .add_long(ds.panel.frame(), "value")
        .map_err(internal)?;
    series
        .add_long(tables.result.normalised()?, "raw")
        .map_err(internal)?;
    Ok(series)
}

/// Run every analysis on the dataset's computed index with the default choices.
pub fn analysis_view(ds: &Dataset, tables: &ResultTables) -> Result<AnalysisView> {
    analysis_view_with(ds, tables, &AnalysisChoice::default())
}

/// Run every analysis on the dataset's computed index (report options: 999 permutations,
/// fixed seed, standard coupling form) with the page's `choice`. An unknown control, or a
/// matrix the dataset cannot support, is an invalid field.
pub fn analysis_view_with(
    ds: &Dataset,
    tables: &ResultTables,
    choice: &AnalysisChoice,
) -> Result<AnalysisView> {
    let groups = dataset_groups(ds, tables);
    let normalise = tables.result.method.spec.normalise;
    let options = ReportOptions {
        normalise: Some(normalise),
        ..ReportOptions::default()
    };
    let invalid = |field: &'static str| {
        move |e: AnalysisError| Error::InvalidField {
            field: field.to_owned(),
            detail: e.to_string(),
        }
    };
    let series = dataset_series(ds, tables)?;
    let controls = resolve_controls(&choice.controls, &series).map_err(invalid("controls"))?;
    let inputs = Inputs {
        groups: groups.as_ref(),
        weights: choice.matrix.spec(),
        series: Some(&series),
        controls: &controls,
        ..Inputs::default()
    };
    let mut results = analyse(&tables.result.scores, &inputs, &options).map_err(|e| match e {
        AnalysisError::UnknownSeries { .. } | AnalysisError::MissingRegion { .. } => {
            invalid("matrix")(e)
        }
        other => internal(other),
    })?;
    let obstacles = obstacle_or_skip(
        tables.result.normalised()?,
        &tables.result.weights,
        normalise,
        &mut results.notices,
    )
    .map_err(internal)?;
    Ok(AnalysisView { results, obstacles })
}

/// True for the measures the analyses run on (`score` and the three dimensions).
pub fn is_measure(measure: &str) -> bool {
    MEASURES.contains(&measure)
}

/// `(region, value)` of `measure` in `year` for every region with a value, in table order.
pub fn year_values(tables: &ResultTables, measure: &str, year: i32) -> Vec<(String, f64)> {
    tables
        .scores
        .iter()
        .filter(|r| r.year == year)
        .filter_map(|r| {
            let v = match measure {
                "score" => r.scores.score,
                other => other.parse().ok().and_then(|d| r.scores.dimension(d)),
            }?;
            v.is_finite().then(|| (r.region.clone(), v))
        })
        .collect()
}

/// One point of the Moran scatter plot.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MoranPointData {
    pub region: String,
    /// Standardised value (population sd, as the LISA statistic uses).
    pub z: f64,
    /// Its spatial lag Σ_j w_ij z_j under the row-standardised weight matrix used.
    pub lag: f64,
}

/// The Moran scatter of `measure` in `year`: empty without weights or with constant values.
pub fn moran_points(
    view: &AnalysisView,
    tables: &ResultTables,
    measure: &str,
    year: i32,
) -> Vec<MoranPointData> {
    let Some(matrix) = &view.results.matrix else {
        return Vec::new();
    };
    let values = year_values(tables, measure, year);
    let n = values.len() as f64;
    if values.len() < 2 {
        return Vec::new();
    }
    let mean = values.iter().map(|(_, v)| v).sum::<f64>() / n;
    let sd = (values.iter().map(|(_, v)| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    if !sd.is_finite() || sd <= 0.0 {
        return Vec::new();
    }
    let z: Vec<f64> = values.iter().map(|(_, v)| (v - mean) / sd).collect();
    let names: Vec<&str> = values.iter().map(|(r, _)| r.as_str()).collect();
    let lag = matrix.standardised(&names).lag(&z);
    values
        .into_iter()
        .zip(z.into_iter().zip(lag))
        .map(|((region, _), (z, lag))| MoranPointData { region, z, lag })
        .collect()
}

/// What the region profile shows of the diagnosis for one year.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionDiagnosis {
    /// The largest obstacles, largest first (at most `diagnosis::TOP_OBSTACLES`).
    pub top: Vec<ObstacleRow>,
    /// Obstacle degree summed per dimension.
    pub dimensions: Vec<DimensionObstacle>,
    pub coupling: Option<CouplingRow>,
    /// True when obstacle degree or coupling coordination was skipped because the method's
    /// normalisation gives values outside [0, 1] (see `analysis::diagnosis::unit_interval`).
    pub skipped: bool,
}

pub fn region_diagnosis(view: &AnalysisView, region: &str, year: i32) -> RegionDiagnosis {
    let here = |r: &str, y: i32| r == region && y == year;
    let obstacles = view.obstacles.as_ref();
    RegionDiagnosis {
        top: obstacles
            .iter()
            .flat_map(|o| &o.top)
            .filter(|(_, o)| here(&o.region, o.year))
            .map(|(_, o)| o.clone())
            .collect(),
        dimensions: obstacles
            .iter()
            .flat_map(|o| &o.dimensions)
            .filter(|d| here(&d.region, d.year))
            .cloned()
            .collect(),
        coupling: view
            .results
            .coupling
            .iter()
            .flatten()
            .find(|c| here(&c.region, c.year))
            .cloned(),
        skipped: obstacles.is_none() || view.results.coupling.is_none(),
    }
}

/// The downloadable tables of each analysis page: the runs of [`TABLES`].
pub const PAGE_TABLES: [(&str, &[&str]); 3] = {
    let (disparities, rest) = TABLES.split_at(6);
    let (dynamics, spatial) = rest.split_at(6);
    [
        ("disparities", disparities),
        ("dynamics", dynamics),
        ("spatial", spatial),
    ]
};

/// One analysis table as a frame (rows of `measure` only, when given); `None` for an unknown
/// table name or a spatial table when no contiguity was available.
pub fn table_frame(
    view: &AnalysisView,
    table: &str,
    measure: Option<&str>,
) -> Result<Option<DataFrame>> {
    crate::analysis::report::table(&view.results, table, measure).map_err(internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> AnalysisView {
        let results = AnalysisResults {
            grouping: "single",
            contiguity: "none",
            weights: None,
            dagum_shares: Vec::new(),
            dagum_djh: Vec::new(),
            beta_panel: Vec::new(),
            markov_steady: Vec::new(),
            spatial_markov: None,
            weights_matrix: None,
            matrix: None,
            dagum: Vec::new(),
            dagum_groups: vec![crate::analysis::report::DagumGroupRow {
                year: 2020,
                measure: "score".into(),
                group_a: "=cmd".into(),
                group_b: "=cmd".into(),
                gini: 0.25,
            }],
            theil: Vec::new(),
            sigma: Vec::new(),
            beta: Vec::new(),
            kernel: Vec::new(),
            markov: Vec::new(),
            moran: None,
            lisa: None,
            coupling: None,
            notices: Vec::new(),
        };
        AnalysisView {
            results,
            obstacles: None,
        }
    }

    #[test]
    fn tables_filter_by_measure_and_neutralise_text() {
        let view = view();
        let frame = table_frame(&view, "dagum_groups", Some("score"))
            .unwrap()
            .unwrap();
        assert_eq!(frame.height(), 1);
        let csv =
            String::from_utf8(crate::service::download::csv_bytes(&frame, false).unwrap()).unwrap();
        assert_eq!(
            csv.lines().nth(1),
            Some("2020,score,'=cmd,'=cmd,0.25"),
            "{csv}"
        );
        let tools = table_frame(&view, "dagum_groups", Some("tools"))
            .unwrap()
            .unwrap();
        assert_eq!(tools.height(), 0);
        assert!(table_frame(&view, "moran", None).unwrap().is_none());
        assert!(table_frame(&view, "nonsense", None).unwrap().is_none());
    }

    #[test]
    fn is_measure_accepts_score_and_dimensions_only() {
        assert!(is_measure("score") && is_measure("objects"));
        assert!(!is_measure("rank") && !is_measure(""));
    }
}
