//! The analysis report: runs every score-table analysis ([`analyse`], pure, typed rows for the
//! JSON API) and writes them as CSV files ([`write_all`], the only file I/O of `analysis`).
//!
//! Grouping and contiguity fallbacks (also stated in `nqp analyse --help`):
//! - groups given → used (every region must have a group);
//! - no groups, and every region is a China province code (all 31, or a subset such as the 30
//!   without Tibet) → the bundled NBS four regions (East / Central / West / Northeast);
//! - otherwise one group `all`: Dagum and Theil report totals with within = total, and β
//!   convergence is estimated for `all` only.
//! - spatial weights ([`WeightsSpec`]; Moran's I, LISA, the spatial Markov chain): contiguity
//!   from the given adjacency (regions it does not list have no neighbours: PySAL islands), else
//!   for China province codes the bundled contiguity (`data/geo/`), restricted to the provinces
//!   present, else the spatial analyses are skipped (no `moran.csv`, `lisa.csv`,
//!   `spatial_markov.csv`, `weights_matrix.csv`) with a notice; inverse distance between the
//!   given coordinates, else the bundled province centroids; economic distance on a series of
//!   [`Inputs::series`]; or a user matrix. A matrix must cover exactly the scored regions
//!   (an edge list may leave islands out).
//!
//! A statistic that is undefined for one year and measure (constant values, negative values
//! for a Gini, too few regions) is left out with a notice; the rest of the report is written.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;

use super::columns::columns;
use super::diagnosis::{
    CouplingForm, CouplingRow, Obstacle, check_coupling_normalisation, coupling,
};
use super::dynamics::{
    BetaConvergence, KERNEL_POINTS, beta_convergence, kernel_density, markov,
    relative_to_year_mean, spatial_markov, steady_state,
};
use super::inequality::{cv, dagum, theil};
use super::panel::{Transition, panel_beta};
use super::series::{Control, SeriesTable};
use super::spatial::{local_moran, moran};
use super::weights::{Point, WeightsKind, WeightsMatrix, points_for};
use super::{Adjacency, AnalysisError, GroupMap, MEASURES, ScoreTable, china};
use crate::method::Normalise;
use crate::types::Lang;

/// Choices of the report that are not in the data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportOptions {
    /// Permutations for Moran / LISA pseudo p-values (0 = none).
    pub permutations: usize,
    /// Seed of the permutation generator (same seed and data → same p-values).
    pub seed: u64,
    pub coupling: CouplingForm,
    /// The normalisation behind the scores, when known (`None` for a score file): coupling
    /// coordination is skipped with a notice under one outside [0, 1].
    pub normalise: Option<Normalise>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            permutations: 999,
            seed: 20_240_101,
            coupling: CouplingForm::Standard,
            normalise: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DagumRow {
    pub year: i32,
    pub measure: String,
    pub total: f64,
    pub within: f64,
    pub between: f64,
    pub transvariation: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DagumGroupRow {
    pub year: i32,
    pub measure: String,
    pub group_a: String,
    pub group_b: String,
    pub gini: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TheilRow {
    pub year: i32,
    pub measure: String,
    pub total: f64,
    pub within: f64,
    pub between: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SigmaRow {
    pub year: i32,
    pub measure: String,
    pub cv: f64,
}

/// The β-convergence of one measure and group: the fit's fields follow `measure, group`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BetaRow {
    pub measure: String,
    pub group: String,
    #[serde(flatten)]
    pub fit: BetaConvergence,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KernelRow {
    pub year: i32,
    pub measure: String,
    pub x: f64,
    pub density: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarkovRow {
    pub measure: String,
    /// Quartile class 1 (lowest) – 4.
    pub from_class: u8,
    pub to_class: u8,
    pub count: u64,
    pub probability: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MoranRow {
    pub year: i32,
    pub measure: String,
    pub i: f64,
    pub expected_i: f64,
    pub z_norm: f64,
    pub p_norm: f64,
    pub p_perm: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LisaRow {
    pub year: i32,
    pub measure: String,
    pub region: String,
    pub local_i: f64,
    pub quadrant: &'static str,
    pub p_perm: Option<f64>,
}

/// One coefficient of the fixed-effects β-convergence regression (`beta_panel.csv`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BetaPanelRow {
    pub measure: String,
    pub group: String,
    /// `absolute` or `conditional` (with the controls).
    pub kind: &'static str,
    /// `beta` or the control's term (`id` or `ln(id)`).
    pub term: String,
    pub coef: f64,
    pub se: f64,
    pub t: f64,
    pub p: f64,
    /// λ = −ln(1 + β), on the `beta` row only; `None` for β ≤ −1.
    pub speed: Option<f64>,
    pub n_obs: usize,
    pub n_regions: usize,
    pub r2_within: f64,
}

/// One class of a Markov chain's steady state (`markov_steady.csv`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarkovSteadyRow {
    pub measure: String,
    /// `absolute` (quartiles of the scores) or `relative` (quartiles of score ÷ year mean).
    pub classes: &'static str,
    pub class: u8,
    pub probability: f64,
}

/// One cell of a spatial Markov matrix (`spatial_markov.csv`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpatialMarkovRow {
    pub measure: String,
    /// Quartile class of the spatial lag at the start year, 1 (lowest) – 4.
    pub lag_class: u8,
    pub from_class: u8,
    pub to_class: u8,
    pub count: u64,
    /// `None` for a row without observations (it stays zero).
    pub probability: Option<f64>,
}

/// Dagum contribution rates in percent of G (`dagum_shares.csv`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DagumShareRow {
    pub year: i32,
    pub measure: String,
    pub within_pct: f64,
    pub between_pct: f64,
    pub transvariation_pct: f64,
}

/// Relative economic affluence between two groups (`dagum_djh.csv`), `group_a` the higher-mean
/// group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DagumDjhRow {
    pub year: i32,
    pub measure: String,
    pub group_a: String,
    pub group_b: String,
    pub d_jh: f64,
}

/// One positive weight of the row-standardised matrix used (`weights_matrix.csv`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightRow {
    pub region: String,
    pub neighbor: String,
    pub weight: f64,
}

/// Which spatial weight matrix the spatial analyses use (`--weights-matrix`).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum WeightsSpec {
    /// Binary contiguity: the given adjacency, else the bundled one for China provinces.
    #[default]
    Contiguity,
    /// 1/d (power 1) or 1/d² (power 2) between the given coordinates, else the bundled
    /// province centroids.
    InverseDistance { power: i32 },
    /// 1/|ȳ_i − ȳ_j| on the panel means of a series (`None`: GDP per capita).
    Economic(Option<String>),
    /// A user matrix read from a file.
    Matrix(WeightsMatrix),
}

impl WeightsSpec {
    /// The keyword forms `contiguity`, `inverse-distance`, `inverse-distance2`, `economic`,
    /// `economic:<id>`; `None` for anything else (a file path).
    pub fn keyword(s: &str) -> Option<Self> {
        match s.trim() {
            "contiguity" => Some(WeightsSpec::Contiguity),
            "inverse-distance" => Some(WeightsSpec::InverseDistance { power: 1 }),
            "inverse-distance2" => Some(WeightsSpec::InverseDistance { power: 2 }),
            "economic" => Some(WeightsSpec::Economic(None)),
            other => other
                .strip_prefix("economic:")
                .map(|id| WeightsSpec::Economic(Some(id.trim().to_owned()))),
        }
    }
}

/// The data the analyses take besides the scores.
#[derive(Debug, Clone, Default)]
pub struct Inputs<'a> {
    /// Region groups (see the module doc for the fallback).
    pub groups: Option<&'a GroupMap>,
    /// Contiguity for [`WeightsSpec::Contiguity`] (see the module doc for the fallback).
    pub adjacency: Option<&'a Adjacency>,
    pub weights: WeightsSpec,
    /// Region points and the file they came from, for inverse-distance weights.
    pub coordinates: Option<(&'a [Point], &'a str)>,
    /// The dataset's series (economic weights); `None` for a bare score file.
    pub series: Option<&'a SeriesTable>,
    /// Controls of conditional β-convergence (none: absolute only).
    pub controls: &'a [Control],
}

/// Every score-table analysis, as typed rows (one `Vec` per CSV file).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalysisResults {
    /// Where the groups came from: `given`, `cn-nbs-4` or `single`.
    pub grouping: &'static str,
    /// Where the spatial weights came from: `given`, `cn-provinces` (bundled contiguity or
    /// centroids), the economic series, or `none` (spatial analyses skipped).
    pub contiguity: &'static str,
    /// The kind of weight matrix used (`None`: spatial analyses skipped).
    pub weights: Option<WeightsKind>,
    pub dagum: Vec<DagumRow>,
    pub dagum_groups: Vec<DagumGroupRow>,
    pub theil: Vec<TheilRow>,
    pub sigma: Vec<SigmaRow>,
    pub dagum_shares: Vec<DagumShareRow>,
    pub dagum_djh: Vec<DagumDjhRow>,
    pub beta: Vec<BetaRow>,
    pub beta_panel: Vec<BetaPanelRow>,
    pub kernel: Vec<KernelRow>,
    pub markov: Vec<MarkovRow>,
    pub markov_steady: Vec<MarkovSteadyRow>,
    /// `None` when no weight matrix is available (as for the next three).
    pub spatial_markov: Option<Vec<SpatialMarkovRow>>,
    pub moran: Option<Vec<MoranRow>>,
    pub lisa: Option<Vec<LisaRow>>,
    pub weights_matrix: Option<Vec<WeightRow>>,
    /// The matrix itself (for the Moran scatter of the pages); its rows are `weights_matrix`.
    #[serde(skip)]
    pub matrix: Option<WeightsMatrix>,
    /// `None` when skipped (dimension scores outside 0–100, see `diagnosis::unit_interval`).
    pub coupling: Option<Vec<CouplingRow>>,
    /// Human-readable notes on fallbacks and skipped statistics (English).
    pub notices: Vec<String>,
}

/// The written files and the notices of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub files: Vec<PathBuf>,
    pub notices: Vec<String>,
}

/// Run every analysis on a score frame (`region, year, score, laborers, tools, objects`, extra
/// columns ignored). See the module doc for the grouping and weights fallbacks.
pub fn analyse(
    scores: &DataFrame,
    inputs: &Inputs,
    options: &ReportOptions,
) -> Result<AnalysisResults, AnalysisError> {
    let table = ScoreTable::from_frame(scores, &MEASURES, "scores")?;
    let regions = table.regions();
    let mut notices = Vec::new();
    let china_set = china::is_province_set(regions);

    let (grouping, labels) = match inputs.groups {
        Some(g) => ("given", g.assign(regions)?),
        None if china_set => {
            notices.push("groups: using the bundled NBS four-region grouping".to_owned());
            ("cn-nbs-4", china::nbs_groups()?.assign(regions)?)
        }
        None => {
            notices.push(
                "groups: no grouping given, decompositions use a single group 'all'".to_owned(),
            );
            ("single", vec!["all".to_owned(); regions.len()])
        }
    };
    let (contiguity, matrix) = weight_matrix(inputs, regions, china_set, &mut notices)?;
    if let Some(m) = &matrix {
        m.check_regions(regions)?;
        notices.extend(m.notes.iter().cloned());
        let w = m.standardised(regions);
        let islands: Vec<&str> = w.islands().iter().map(|i| regions[*i].as_str()).collect();
        if !islands.is_empty() {
            notices.push(format!(
                "weights: region(s) without neighbours (zero weight rows, zero spatial lag): {}",
                islands.join(", ")
            ));
        }
    }
    let adjacency = matrix.as_ref();
    let mut out = AnalysisResults {
        grouping,
        contiguity,
        dagum: Vec::new(),
        dagum_groups: Vec::new(),
        theil: Vec::new(),
        sigma: Vec::new(),
        weights: matrix.as_ref().map(|m| m.kind),
        dagum_shares: Vec::new(),
        dagum_djh: Vec::new(),
        beta: Vec::new(),
        beta_panel: Vec::new(),
        kernel: Vec::new(),
        markov: Vec::new(),
        markov_steady: Vec::new(),
        spatial_markov: adjacency.map(|_| Vec::new()),
        moran: adjacency.map(|_| Vec::new()),
        lisa: adjacency.map(|_| Vec::new()),
        weights_matrix: matrix.as_ref().map(|m| weight_rows(m, regions)),
        matrix: matrix.clone(),
        coupling: None,
        notices: Vec::new(),
    };

    for measure in MEASURES {
        for (yi, &year) in table.years().iter().enumerate() {
            let (idx, values) = table.cross_section(measure, yi);
            if values.is_empty() {
                continue;
            }
            let group_of: Vec<String> = idx.iter().map(|i| labels[*i].clone()).collect();
            match dagum(&values, &group_of) {
                Ok(d) => {
                    if d.total > 0.0 {
                        out.dagum_shares.push(DagumShareRow {
                            year,
                            measure: measure.to_owned(),
                            within_pct: d.within / d.total * 100.0,
                            between_pct: d.between / d.total * 100.0,
                            transvariation_pct: d.transvariation / d.total * 100.0,
                        });
                    }
                    out.dagum_djh.extend(d.pairs.iter().filter_map(|p| {
                        p.d_jh.map(|d_jh| DagumDjhRow {
                            year,
                            measure: measure.to_owned(),
                            group_a: p.group_b.clone(),
                            group_b: p.group_a.clone(),
                            d_jh,
                        })
                    }));
                    out.dagum.push(DagumRow {
                        year,
                        measure: measure.to_owned(),
                        total: d.total,
                        within: d.within,
                        between: d.between,
                        transvariation: d.transvariation,
                    });
                    out.dagum_groups
                        .extend(d.pairs.into_iter().map(|p| DagumGroupRow {
                            year,
                            measure: measure.to_owned(),
                            group_a: p.group_a,
                            group_b: p.group_b,
                            gini: p.gini,
                        }));
                }
                Err(e) => skip(&mut notices, "dagum", Some(year), measure, e),
            }
            match theil(&values, &group_of) {
                Ok(t) => out.theil.push(TheilRow {
                    year,
                    measure: measure.to_owned(),
                    total: t.total,
                    within: t.within,
                    between: t.between,
                }),
                Err(e) => skip(&mut notices, "theil", Some(year), measure, e),
            }
            match cv(&values) {
                Some(c) => out.sigma.push(SigmaRow {
                    year,
                    measure: measure.to_owned(),
                    cv: c,
                }),
                None => skip(
                    &mut notices,
                    "sigma",
                    Some(year),
                    measure,
                    AnalysisError::Constant {
                        what: "coefficient of variation (mean 0)",
                    },
                ),
            }
            match kernel_density(&values, KERNEL_POINTS) {
                Ok(k) => out
                    .kernel
                    .extend(k.x.iter().zip(&k.density).map(|(x, d)| KernelRow {
                        year,
                        measure: measure.to_owned(),
                        x: *x,
                        density: *d,
                    })),
                Err(e) => skip(&mut notices, "kernel", Some(year), measure, e),
            }
            if let Some(a) = adjacency {
                let names: Vec<&str> = idx.iter().map(|i| regions[*i].as_str()).collect();
                let w = a.standardised(&names);
                match moran(&values, &w, options.permutations, options.seed) {
                    Ok(m) => push_some(
                        &mut out.moran,
                        MoranRow {
                            year,
                            measure: measure.to_owned(),
                            i: m.i,
                            expected_i: m.expected_i,
                            z_norm: m.z_norm,
                            p_norm: m.p_norm,
                            p_perm: m.p_perm,
                        },
                    ),
                    Err(e) => skip(&mut notices, "moran", Some(year), measure, e),
                }
                match local_moran(&values, &w, options.permutations, options.seed) {
                    Ok(l) => {
                        for (name, r) in names.iter().zip(l) {
                            push_some(
                                &mut out.lisa,
                                LisaRow {
                                    year,
                                    measure: measure.to_owned(),
                                    region: (*name).to_owned(),
                                    local_i: r.local_i,
                                    quadrant: r.quadrant.as_str(),
                                    p_perm: r.p_perm,
                                },
                            );
                        }
                    }
                    Err(e) => skip(&mut notices, "lisa", Some(year), measure, e),
                }
            }
        }

        let years = table.years();
        if years.len() >= 2 {
            let (first, last) = (0, years.len() - 1);
            let span = f64::from(years[last] - years[first]);
            let pairs: Vec<(Option<f64>, Option<f64>)> = (0..regions.len())
                .map(|ri| {
                    (
                        table.value(measure, first, ri),
                        table.value(measure, last, ri),
                    )
                })
                .collect();
            let mut group_names: Vec<&str> = labels.iter().map(String::as_str).collect();
            group_names.sort_unstable();
            group_names.dedup();
            let mut runs = vec![("all", pairs.clone())];
            if grouping != "single" {
                for g in group_names {
                    let sub = pairs
                        .iter()
                        .zip(&labels)
                        .filter(|(_, l)| l.as_str() == g)
                        .map(|(p, _)| *p)
                        .collect();
                    runs.push((g, sub));
                }
            }
            for (group, sub) in &runs {
                out.beta.push(BetaRow {
                    measure: measure.to_owned(),
                    group: (*group).to_owned(),
                    fit: beta_convergence(sub, span),
                });
            }
            let matrix: Vec<Vec<Option<f64>>> = (0..years.len())
                .map(|yi| {
                    (0..regions.len())
                        .map(|ri| table.value(measure, yi, ri))
                        .collect()
                })
                .collect();
            let members = |group: &str| -> Vec<bool> {
                labels
                    .iter()
                    .map(|l| group == "all" || l == group)
                    .collect()
            };
            for (group, _) in &runs {
                let kinds: &[(&str, &[Control])] = if inputs.controls.is_empty() {
                    &[("absolute", &[])]
                } else {
                    &[("absolute", &[]), ("conditional", inputs.controls)]
                };
                for (kind, controls) in kinds {
                    let obs = transitions(&table, measure, &members(group), controls);
                    match panel_beta(&obs) {
                        Ok(b) => {
                            let row =
                                |term: String, c: &super::panel::Coefficient, speed| BetaPanelRow {
                                    measure: measure.to_owned(),
                                    group: (*group).to_owned(),
                                    kind,
                                    term,
                                    coef: c.coef,
                                    se: c.se,
                                    t: c.t,
                                    p: c.p,
                                    speed,
                                    n_obs: b.n_obs,
                                    n_regions: b.n_regions,
                                    r2_within: b.r2_within,
                                };
                            out.beta_panel
                                .push(row("beta".to_owned(), &b.beta, b.speed));
                            for (control, c) in controls.iter().zip(&b.controls) {
                                out.beta_panel.push(row(control.term.clone(), c, None));
                            }
                        }
                        Err(e) => skip(
                            &mut notices,
                            &format!("panel beta ({kind}, {group})"),
                            None,
                            measure,
                            e,
                        ),
                    }
                }
            }
            for (classes, values) in [
                ("absolute", matrix.clone()),
                ("relative", relative_to_year_mean(&matrix)),
            ] {
                match markov(&values).map(|m| steady_state(&m.probabilities)) {
                    Ok(Ok(pi)) => {
                        out.markov_steady
                            .extend(pi.iter().enumerate().map(|(c, p)| MarkovSteadyRow {
                                measure: measure.to_owned(),
                                classes,
                                class: c as u8 + 1,
                                probability: *p,
                            }));
                    }
                    Ok(Err(why)) => notices.push(format!(
                        "markov steady state ({classes}) {measure}: none written ({why})"
                    )),
                    Err(e) => skip(
                        &mut notices,
                        &format!("markov ({classes})"),
                        None,
                        measure,
                        e,
                    ),
                }
            }
            if let Some(a) = adjacency {
                // Rey's chain needs every region in every year: keep the complete ones.
                let complete: Vec<usize> = (0..regions.len())
                    .filter(|ri| (0..years.len()).all(|yi| table.value(measure, yi, *ri).is_some()))
                    .collect();
                if complete.len() < regions.len() {
                    notices.push(format!(
                        "spatial markov {measure}: {} region(s) without a value in every year left out",
                        regions.len() - complete.len()
                    ));
                }
                let names: Vec<&str> = complete.iter().map(|i| regions[*i].as_str()).collect();
                let values: Vec<Vec<f64>> = (0..years.len())
                    .map(|yi| {
                        complete
                            .iter()
                            .filter_map(|ri| table.value(measure, yi, *ri))
                            .collect()
                    })
                    .collect();
                match spatial_markov(&values, &a.standardised(&names)) {
                    Ok(sm) => {
                        for (l, lag) in sm.counts.iter().enumerate() {
                            for (from, row) in lag.iter().enumerate() {
                                for (to, count) in row.iter().enumerate() {
                                    push_some(
                                        &mut out.spatial_markov,
                                        SpatialMarkovRow {
                                            measure: measure.to_owned(),
                                            lag_class: l as u8 + 1,
                                            from_class: from as u8 + 1,
                                            to_class: to as u8 + 1,
                                            count: *count,
                                            probability: sm.probabilities[l][from][to],
                                        },
                                    );
                                }
                            }
                        }
                    }
                    Err(e) => skip(&mut notices, "spatial markov", None, measure, e),
                }
            }
            match markov(&matrix) {
                Ok(m) => {
                    for (from, row) in m.counts.iter().enumerate() {
                        for (to, count) in row.iter().enumerate() {
                            out.markov.push(MarkovRow {
                                measure: measure.to_owned(),
                                from_class: from as u8 + 1,
                                to_class: to as u8 + 1,
                                count: *count,
                                probability: m.probabilities[from][to],
                            });
                        }
                    }
                }
                Err(e) => skip(&mut notices, "markov", None, measure, e),
            }
        } else {
            skip(
                &mut notices,
                "beta and markov",
                None,
                measure,
                AnalysisError::TooFew {
                    what: "convergence and transitions (years)",
                    needed: 2,
                    found: years.len(),
                },
            );
        }
    }
    let coupled = options
        .normalise
        .map_or(Ok(()), check_coupling_normalisation)
        .and_then(|()| coupling(scores, options.coupling));
    match coupled {
        Ok(rows) => out.coupling = Some(rows),
        Err(e @ AnalysisError::OutsideUnitInterval { .. }) => {
            notices.push(format!("coupling coordination: skipped ({e})"));
        }
        Err(e) => return Err(e),
    }
    out.notices = notices;
    Ok(out)
}

/// Record that `what` was skipped for `measure` (and `year`) because of `err`.
fn skip(
    notices: &mut Vec<String>,
    what: &str,
    year: Option<i32>,
    measure: &str,
    err: AnalysisError,
) {
    let when = year.map(|y| format!(" {y}")).unwrap_or_default();
    notices.push(format!("{what}{when} {measure}: skipped ({err})"));
}

/// The weight matrix of `inputs.weights` over `regions`, with where it came from; `None` (and
/// a notice) when contiguity is asked for but none is given or bundled for these regions.
fn weight_matrix(
    inputs: &Inputs,
    regions: &[String],
    china_set: bool,
    notices: &mut Vec<String>,
) -> Result<(&'static str, Option<WeightsMatrix>), AnalysisError> {
    Ok(match &inputs.weights {
        WeightsSpec::Contiguity => match inputs.adjacency {
            Some(a) => ("given", Some(WeightsMatrix::contiguity(a, regions))),
            None if china_set => {
                notices.push("weights: using the bundled 31-province contiguity".to_owned());
                let a = china::province_adjacency()?;
                ("cn-provinces", Some(WeightsMatrix::contiguity(&a, regions)))
            }
            None => {
                notices.push(
                    "weights: no contiguity given and the regions are not China province codes; Moran's I and LISA skipped (and the spatial Markov chain)"
                        .to_owned(),
                );
                ("none", None)
            }
        },
        WeightsSpec::InverseDistance { power } => {
            let bundled;
            let (points, file, source) = match inputs.coordinates {
                Some((p, f)) => (p, f, "given"),
                None => {
                    bundled = china::province_centroids()?;
                    notices.push(
                        "weights: inverse distance between the centroids of the bundled province boundaries"
                            .to_owned(),
                    );
                    (bundled.as_slice(), china::CENTROIDS_FILE, "cn-provinces")
                }
            };
            let points = points_for(points, regions, file)?;
            (
                source,
                Some(WeightsMatrix::inverse_distance(&points, *power, file)?),
            )
        }
        WeightsSpec::Economic(id) => {
            let series = inputs.series.ok_or_else(|| AnalysisError::UnknownSeries {
                name: id.clone().unwrap_or_else(|| "GDP per capita".to_owned()),
                available: Vec::new(),
            })?;
            let (label, values) = series.economic_series(id.as_deref())?;
            let means = SeriesTable::panel_means(&values, regions);
            if let Some(r) = regions.iter().find(|r| !means.iter().any(|(m, _)| m == *r)) {
                return Err(AnalysisError::MissingRegion {
                    file: format!("series {label}"),
                    region: r.clone(),
                });
            }
            notices.push(format!(
                "weights: economic distance on the panel means of {label}"
            ));
            ("economic", Some(WeightsMatrix::economic(&means, &label)))
        }
        WeightsSpec::Matrix(m) => ("given", Some(m.clone())),
    })
}

/// The row-standardised weights over all `regions`, positive ones only.
fn weight_rows(m: &WeightsMatrix, regions: &[String]) -> Vec<WeightRow> {
    let w = m.standardised(regions);
    regions
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            w.row(i).iter().map(move |(j, wij)| WeightRow {
                region: r.clone(),
                neighbor: regions[*j].clone(),
                weight: *wij,
            })
        })
        .collect()
}

/// The transitions t → t + 1 (consecutive years of the panel) of the regions in `member`, with
/// both scores positive and every control observed at t.
fn transitions(
    table: &ScoreTable,
    measure: &str,
    member: &[bool],
    controls: &[Control],
) -> Vec<Transition> {
    let years = table.years();
    let mut out = Vec::new();
    for (yi, year) in years.iter().enumerate().take(years.len().saturating_sub(1)) {
        for (ri, region) in table.regions().iter().enumerate() {
            if !member[ri] {
                continue;
            }
            let (Some(a), Some(b)) = (
                table.value(measure, yi, ri),
                table.value(measure, yi + 1, ri),
            ) else {
                continue;
            };
            if a <= 0.0 || b <= 0.0 {
                continue;
            }
            let key = (region.clone(), *year);
            let Some(c) = controls
                .iter()
                .map(|c| c.values.get(&key).copied())
                .collect::<Option<Vec<f64>>>()
            else {
                continue;
            };
            out.push(Transition {
                region: ri,
                year: *year,
                growth: (b / a).ln(),
                log_level: a.ln(),
                controls: c,
            });
        }
    }
    out
}

/// Parse a score CSV (`nqp compute --out` output) from memory: `region` read as text (codes
/// like `110000` stay text), numbers as f64, `""`/`NA` as missing, the whole file scanned for
/// types. `source` names the file in errors.
pub fn scores_from_csv(bytes: &[u8], source: &str) -> Result<DataFrame, AnalysisError> {
    let text = std::str::from_utf8(bytes).map_err(|e| AnalysisError::BadInput {
        file: source.to_owned(),
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count(),
        message: "not UTF-8 text".to_owned(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let frame = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(None)
        .with_schema_overwrite(Some(Arc::new(Schema::from_iter([Field::new(
            "region".into(),
            DataType::String,
        )]))))
        .map_parse_options(|p| {
            p.with_null_values(Some(NullValues::AllColumns(vec!["".into(), "NA".into()])))
        })
        .into_reader_with_file_handle(std::io::Cursor::new(text.as_bytes().to_vec()))
        .finish()
        .map_err(|e| AnalysisError::BadInput {
            file: source.to_owned(),
            line: 1,
            message: e.to_string(),
        })?;
    Ok(frame)
}

/// Run [`analyse`] and write its CSV files into `out_dir` (created if missing): dagum.csv,
/// dagum_groups.csv, theil.csv, sigma.csv, beta.csv, kernel.csv, markov.csv, moran.csv and
/// lisa.csv (when a contiguity is available) and coupling.csv (unless skipped). Floats are written in shortest
/// round-trip form; an undefined value is an empty field. dagum_groups.csv lists every G_jj
/// (`group_a = group_b`) in ascending order of the group means, then every G_jh with `group_a`
/// the lower-mean group. coupling.csv adds `class_zh` and `class_level` (1–10) after `class`
/// (the English label).
pub fn write_all(
    scores: &DataFrame,
    inputs: &Inputs,
    out_dir: &Path,
    options: &ReportOptions,
) -> Result<Report, AnalysisError> {
    let r = analyse(scores, inputs, options)?;
    let mut w = Writer::new(out_dir)?;
    report_files(&r, &mut w)?;
    Ok(Report {
        files: w.files,
        notices: r.notices,
    })
}

/// The files of a report kept in memory: `(file name, CSV text)` in writing order.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub files: Vec<(String, String)>,
    pub notices: Vec<String>,
}

/// The files [`write_all`] writes, without touching the disk: what a replication pack records
/// as the expected output of `nqp analyse`.
pub fn render_all(
    scores: &DataFrame,
    inputs: &Inputs,
    options: &ReportOptions,
) -> Result<Rendered, AnalysisError> {
    let r = analyse(scores, inputs, options)?;
    let mut w = Writer::in_memory();
    report_files(&r, &mut w)?;
    Ok(Rendered {
        files: w.texts,
        notices: r.notices,
    })
}

/// Every file of a report, in the order `nqp analyse` writes them.
fn report_files(r: &AnalysisResults, w: &mut Writer) -> Result<(), AnalysisError> {
    // The same frames the dashboard downloads, so each table's columns are defined once.
    for name in TABLES {
        if let Some(frame) = table(r, name, None)? {
            w.frame(&format!("{name}.csv"), &frame)?;
        }
    }
    if let Some(coupling) = &r.coupling {
        w.file(
            "coupling.csv",
            "region,year,c,t,d,class,class_zh,class_level",
            coupling.iter().map(|c| {
                format!(
                    "{},{},{},{},{},{},{},{}",
                    csv_text(&c.region),
                    c.year,
                    num(c.c),
                    num(c.t),
                    num(c.d),
                    c.class.label(Lang::En),
                    c.class.label(Lang::Zh),
                    c.class.level()
                )
            }),
        )?;
    }
    Ok(())
}

/// The score-table analyses, in the order `nqp analyse` writes them (each as `<name>.csv`):
/// six of disparities, six of dynamics, three spatial (the pages list them in these runs).
pub const TABLES: [&str; 15] = [
    "dagum",
    "dagum_groups",
    "dagum_shares",
    "dagum_djh",
    "theil",
    "sigma",
    "kernel",
    "beta",
    "beta_panel",
    "markov",
    "markov_steady",
    "spatial_markov",
    "moran",
    "lisa",
    "weights_matrix",
];

/// One analysis table as a frame (rows of `measure` only, when given); `None` for an unknown
/// table name or a spatial table when no contiguity was available.
pub fn table(
    r: &AnalysisResults,
    table: &str,
    measure: Option<&str>,
) -> Result<Option<DataFrame>, AnalysisError> {
    let keep = |m: &str| measure.is_none_or(|want| want == m);
    // `=>`: the rows of `measure` only.
    macro_rules! frame {
        (@all $rows:expr => $($col:tt)+) => { columns!($rows => $($col)+)? };
        ($rows:expr => $($col:tt)+) => {{
            let rows: Vec<_> = $rows.iter().filter(|d| keep(&d.measure)).collect();
            columns!(rows => $($col)+)?
        }};
    }
    let frame = match table {
        "dagum" => frame!(r.dagum => year, measure, total, within, between, transvariation),
        "dagum_groups" => frame!(r.dagum_groups => year, measure, group_a, group_b, gini),
        "theil" => frame!(r.theil => year, measure, total, within, between),
        "sigma" => frame!(r.sigma => year, measure, cv),
        "kernel" => frame!(r.kernel => year, measure, x, density),
        "beta" => frame!(r.beta => measure, group, fit.alpha, fit.beta, fit.se_beta, fit.t_beta,
            fit.r2, fit.n),
        "dagum_shares" => {
            frame!(r.dagum_shares => year, measure, within_pct, between_pct, transvariation_pct)
        }
        "dagum_djh" => frame!(r.dagum_djh => year, measure, group_a, group_b, d_jh),
        "beta_panel" => frame!(r.beta_panel => measure, group, kind, term, coef, se, t, p, speed,
            n_obs, n_regions, r2_within),
        "markov_steady" => frame!(r.markov_steady => measure, classes, class, probability),
        "spatial_markov" => match &r.spatial_markov {
            Some(all) => {
                frame!(all => measure, lag_class, from_class, to_class, count, probability)
            }
            None => return Ok(None),
        },
        "weights_matrix" => match &r.weights_matrix {
            Some(all) => frame!(@all all => region, neighbor, weight),
            None => return Ok(None),
        },
        "markov" => frame!(r.markov => measure, from_class, to_class, count, probability),
        "moran" => match &r.moran {
            Some(all) => frame!(all => year, measure, i, expected_i, z_norm, p_norm, p_perm),
            None => return Ok(None),
        },
        "lisa" => match &r.lisa {
            Some(all) => frame!(all => year, measure, region, local_i, quadrant, p_perm),
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    Ok(Some(frame))
}

/// Write the obstacle-degree tables into `out_dir`: obstacle.csv
/// (`region,year,indicator,dimension,obstacle_pct`), obstacle_top.csv (the largest
/// five per region-year, `region,year,rank,indicator,dimension,obstacle_pct`) and
/// obstacle_dimensions.csv (`region,year,dimension,obstacle_pct`).
pub fn write_obstacle(obstacle: &Obstacle, out_dir: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    let mut w = Writer::new(out_dir)?;
    w.file(
        "obstacle.csv",
        "region,year,indicator,dimension,obstacle_pct",
        obstacle.rows.iter().map(|o| {
            format!(
                "{},{},{},{},{}",
                csv_text(&o.region),
                o.year,
                csv_text(&o.indicator),
                csv_text(&o.dimension),
                num(o.obstacle_pct)
            )
        }),
    )?;
    w.file(
        "obstacle_top.csv",
        "region,year,rank,indicator,dimension,obstacle_pct",
        obstacle.top.iter().map(|(rank, o)| {
            format!(
                "{},{},{},{},{},{}",
                csv_text(&o.region),
                o.year,
                rank,
                csv_text(&o.indicator),
                csv_text(&o.dimension),
                num(o.obstacle_pct)
            )
        }),
    )?;
    w.file(
        "obstacle_dimensions.csv",
        "region,year,dimension,obstacle_pct",
        obstacle.dimensions.iter().map(|o| {
            format!(
                "{},{},{},{}",
                csv_text(&o.region),
                o.year,
                csv_text(&o.dimension),
                num(o.obstacle_pct)
            )
        }),
    )?;
    Ok(w.files)
}

fn push_some<T>(v: &mut Option<Vec<T>>, item: T) {
    if let Some(v) = v {
        v.push(item);
    }
}

struct Writer<'a> {
    /// `None`: keep the files in `texts` instead of writing them.
    dir: Option<&'a Path>,
    files: Vec<PathBuf>,
    texts: Vec<(String, String)>,
}

impl<'a> Writer<'a> {
    fn new(dir: &'a Path) -> Result<Self, AnalysisError> {
        std::fs::create_dir_all(dir).map_err(|source| AnalysisError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        Ok(Self {
            dir: Some(dir),
            files: Vec::new(),
            texts: Vec::new(),
        })
    }

    fn in_memory() -> Self {
        Self {
            dir: None,
            files: Vec::new(),
            texts: Vec::new(),
        }
    }

    /// Write `header` and `rows` to `dir/name` through a temporary file and a rename, so a
    /// reader never sees half a file.
    fn file(
        &mut self,
        name: &str,
        header: &str,
        rows: impl Iterator<Item = String>,
    ) -> Result<(), AnalysisError> {
        let mut text = String::with_capacity(4096);
        text.push_str(header);
        text.push('\n');
        for row in rows {
            text.push_str(&row);
            text.push('\n');
        }
        let Some(dir) = self.dir else {
            self.texts.push((name.to_owned(), text));
            return Ok(());
        };
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let io = |source| AnalysisError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        self.files.push(path);
        Ok(())
    }

    /// Write a frame as CSV, cells formatted as every other file of the report: floats in
    /// shortest round-trip form, empty for missing, text quoted when it must be.
    fn frame(&mut self, name: &str, frame: &DataFrame) -> Result<(), AnalysisError> {
        let columns = frame.columns();
        let header: Vec<&str> = columns.iter().map(|c| c.name().as_str()).collect();
        let mut rows = Vec::with_capacity(frame.height());
        for i in 0..frame.height() {
            let cells = columns
                .iter()
                .map(|c| {
                    Ok(match c.get(i)? {
                        AnyValue::Null => String::new(),
                        AnyValue::Float64(v) => num(v),
                        AnyValue::String(s) => csv_text(s),
                        other => other.to_string(),
                    })
                })
                .collect::<Result<Vec<_>, PolarsError>>()?;
            rows.push(cells.join(","));
        }
        self.file(name, &header.join(","), rows.into_iter())
    }
}

/// A finite float in shortest round-trip form; NaN/∞ (never produced on purpose) as empty.
fn num(v: f64) -> String {
    if v.is_finite() {
        let mut s = String::new();
        let _ = write!(s, "{v}");
        s
    } else {
        String::new()
    }
}

/// Quote a text field when it holds a separator, quote or line break (RFC 4180).
fn csv_text(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_beta_row_serialises_flat_with_the_fit_after_measure_and_group() {
        let pairs = [
            (Some(1.0), Some(2.0)),
            (Some(2.0), Some(3.0)),
            (Some(4.0), Some(4.5)),
        ];
        let row = BetaRow {
            measure: "score".into(),
            group: "all".into(),
            fit: beta_convergence(&pairs, 2.0),
        };
        let json = serde_json::to_string(&row).unwrap();
        let fit = &row.fit;
        let num = |v: Option<f64>| serde_json::to_string(&v).unwrap();
        assert_eq!(
            json,
            format!(
                "{{\"measure\":\"score\",\"group\":\"all\",\"alpha\":{},\"beta\":{},\
                 \"se_beta\":{},\"t_beta\":{},\"r2\":{},\"n\":3}}",
                num(fit.alpha),
                num(fit.beta),
                num(fit.se_beta),
                num(fit.t_beta),
                num(fit.r2)
            )
        );
        assert!(fit.beta.is_some_and(|b| b < 0.0), "{fit:?}");
    }
}
