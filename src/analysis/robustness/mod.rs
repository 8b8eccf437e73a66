//! Robustness of an index (稳健性检验): statistical audit, uncertainty and sensitivity analysis
//! over a space of method choices, comparison of methods, and the decomposition of score
//! changes.
//!
//! Owns: [`run`] — one pure call from a [`Prepared`] panel, the nominal method and
//! [`RobustnessOptions`] to a typed [`Robustness`] report — and [`table`], the report's rows as
//! frames (the CLI files, the downloads and the JSON API render those). Every method of the
//! space reuses the one prepared panel; treated and normalised columns and weights are computed
//! once per distinct choice and only the noise and the aggregation run per draw.
//! Must not: do I/O, or read the data files (the service prepares the panel).
//!
//! Conventions (stated on the methodology page and in `docs/method.md`):
//! - invalid combinations: `zscore` with `geometric` (needs [0, 1]) and `zscore` with an entropy
//!   scheme (entropy shares need non-negative values);
//! - a draw picks the normalisation uniformly among those of the space, then the weights
//!   uniformly among those valid with it, then the aggregation likewise, then the treatment —
//!   with every combination valid this is an independent uniform choice of each input;
//! - the Monte Carlo uncertainty uses the N runs of the design's matrix A, so the uncertainty and
//!   the sensitivity analysis of one run describe the same sample;
//! - percentiles (and the median) are nearest-rank: the ⌈p·K⌉-th smallest of K ranks.

mod audit;
mod decompose;
mod rankstats;
mod sandbox;
mod sobol;

use std::collections::HashMap;

use polars::prelude::*;

use super::columns::columns;
use serde::Serialize;

pub use audit::{AlphaRow, CorrelationRow, FlagKind, FlagRow, StatRow, cronbach_alpha};
pub use decompose::{DecompositionRow, RESIDUAL, Split, decompose, split};
pub use rankstats::{average_ranks, kendall_tau_b, nearest_rank, spearman, ws};
pub use sandbox::{Rescored, manual_weights, rescore};
pub use sobol::{SobolIndex, sobol_indices};

use super::stats::SplitMix64;
use crate::method::{
    Aggregate, MethodError, MethodSpec, Normalise, Prepared, Treat, TreatmentRow, WeightScheme,
};
use crate::types::Dimension;

/// Largest number of Monte Carlo draws (bounds the time of one request: 7 runs per draw).
pub const MAX_DRAWS: usize = 100_000;

/// The method choices the uncertainty ranges over.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Space {
    pub normalise: Vec<Normalise>,
    pub weights: Vec<WeightScheme>,
    pub aggregate: Vec<Aggregate>,
    pub treat: Vec<Treat>,
}

impl Default for Space {
    fn default() -> Self {
        Space {
            normalise: vec![
                Normalise::MinmaxPanel,
                Normalise::MinmaxYear,
                Normalise::Zscore,
            ],
            weights: vec![
                WeightScheme::EntropyPanel,
                WeightScheme::EntropyYear,
                WeightScheme::Critic,
                WeightScheme::Sd,
                WeightScheme::Equal,
            ],
            aggregate: Aggregate::ALL.to_vec(),
            treat: Treat::ALL.to_vec(),
        }
    }
}

/// Monte Carlo or exhaustive uncertainty analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every valid combination exactly once, no weight noise, no sensitivity analysis.
    Exhaustive,
    /// N random draws with weight noise, and the Saltelli sensitivity design.
    #[default]
    Montecarlo,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Exhaustive => "exhaustive",
            Mode::Montecarlo => "montecarlo",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "exhaustive" => Ok(Mode::Exhaustive),
            "montecarlo" => Ok(Mode::Montecarlo),
            other => Err(format!(
                "unknown mode '{other}' (expected exhaustive or montecarlo)"
            )),
        }
    }
}

/// Everything of the robustness analysis that is not the nominal method.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RobustnessOptions {
    pub space: Space,
    pub mode: Mode,
    /// Monte Carlo draws N (1 ≤ N ≤ [`MAX_DRAWS`]).
    pub draws: usize,
    /// Weight noise ε: every weight times an independent U(1 − ε, 1 + ε), 0 ≤ ε < 1.
    pub noise: f64,
    pub seed: u64,
}

impl Default for RobustnessOptions {
    fn default() -> Self {
        RobustnessOptions {
            space: Space::default(),
            mode: Mode::default(),
            draws: 1000,
            noise: 0.25,
            seed: 1,
        }
    }
}

impl RobustnessOptions {
    /// Check the bounds; the message names the option.
    pub fn validate(&self) -> Result<(), MethodError> {
        let bad = |message: String| Err(MethodError::InvalidSpec { message });
        if self.mode == Mode::Montecarlo && !(1..=MAX_DRAWS).contains(&self.draws) {
            return bad(format!(
                "draws must be between 1 and {MAX_DRAWS}, got {}",
                self.draws
            ));
        }
        if !(self.noise.is_finite() && (0.0..1.0).contains(&self.noise)) {
            return bad(format!(
                "noise ε must be at least 0 and below 1, got {}",
                self.noise
            ));
        }
        let s = &self.space;
        if s.normalise.is_empty()
            || s.weights.is_empty()
            || s.aggregate.is_empty()
            || s.treat.is_empty()
        {
            return bad("every input of the space needs at least one choice".into());
        }
        Ok(())
    }
}

/// One discrete method of the space.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Combo {
    pub normalise: Normalise,
    pub weights: WeightScheme,
    pub aggregate: Aggregate,
    pub treat: Treat,
}

impl Combo {
    fn of(spec: &MethodSpec) -> Combo {
        Combo {
            normalise: spec.normalise,
            weights: spec.weights.clone(),
            aggregate: spec.aggregate,
            treat: spec.treat,
        }
    }

    /// `<normalise>/<weights>/<aggregate>/<treat>`, e.g. `minmax-panel/critic/sum/none`.
    pub fn label(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.normalise, self.weights, self.aggregate, self.treat
        )
    }

    /// The nominal spec with this combination's choices.
    fn spec(&self, base: &MethodSpec) -> MethodSpec {
        MethodSpec {
            normalise: self.normalise,
            weights: self.weights.clone(),
            aggregate: self.aggregate,
            treat: self.treat,
            ..base.clone()
        }
    }

    /// Why this combination is not a valid method, if it is not.
    pub fn exclusion(&self) -> Option<&'static str> {
        if self.normalise != Normalise::Zscore {
            return None;
        }
        if self.aggregate == Aggregate::Geometric {
            return Some("the geometric mean needs values in [0, 1]");
        }
        uses_entropy(&self.weights).then_some("entropy shares need non-negative values")
    }
}

fn uses_entropy(w: &WeightScheme) -> bool {
    match w {
        WeightScheme::EntropyPanel | WeightScheme::EntropyYear => true,
        WeightScheme::Combined { a, b, .. } => uses_entropy(a) || uses_entropy(b),
        _ => false,
    }
}

/// A combination of the space left out, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Excluded {
    pub method: String,
    pub reason: &'static str,
}

/// The valid combinations of `space` (in its order: normalise, weights, aggregate, treat) and
/// the excluded ones; an error when nothing is valid.
pub fn combinations(space: &Space) -> Result<(Vec<Combo>, Vec<Excluded>), MethodError> {
    let (mut valid, mut excluded) = (Vec::new(), Vec::new());
    for &normalise in &dedup(&space.normalise) {
        for weights in &dedup(&space.weights) {
            for &aggregate in &dedup(&space.aggregate) {
                for &treat in &dedup(&space.treat) {
                    let c = Combo {
                        normalise,
                        weights: weights.clone(),
                        aggregate,
                        treat,
                    };
                    match c.exclusion() {
                        None => valid.push(c),
                        Some(reason) => excluded.push(Excluded {
                            method: c.label(),
                            reason,
                        }),
                    }
                }
            }
        }
    }
    if valid.is_empty() {
        let why: Vec<String> = excluded
            .iter()
            .map(|e| format!("{} ({})", e.method, e.reason))
            .collect();
        return Err(MethodError::InvalidSpec {
            message: format!(
                "the uncertainty space has no valid combination: {}",
                why.join("; ")
            ),
        });
    }
    Ok((valid, excluded))
}

fn dedup<T: Clone + PartialEq>(v: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for x in v {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UncertaintyRow {
    pub region: String,
    pub year: i32,
    pub nominal_rank: u32,
    pub median_rank: u32,
    pub p05_rank: u32,
    pub p95_rank: u32,
    pub mean_abs_shift: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensitivityRow {
    /// `normalise`, `weights`, `aggregate`, `treat` or `noise`.
    pub input: &'static str,
    pub first_order: Option<f64>,
    pub total_order: Option<f64>,
    /// The base sample size N (the design ran N(k + 2) methods).
    pub n: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparisonRow {
    pub year: i32,
    pub method: String,
    pub spearman: Option<f64>,
    pub kendall_tau_b: Option<f64>,
    pub ws: Option<f64>,
    pub max_rank_shift: u32,
    pub mean_abs_rank_shift: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodRankRow {
    pub region: String,
    pub year: i32,
    pub method: String,
    pub rank: u32,
}

/// The whole robustness report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Robustness {
    pub nominal: String,
    pub mode: Mode,
    pub draws: usize,
    pub noise: f64,
    pub seed: u64,
    /// The estimators of the sensitivity indices.
    pub estimator: &'static str,
    pub excluded: Vec<Excluded>,
    pub stats: Vec<StatRow>,
    pub correlations: Vec<CorrelationRow>,
    pub flags: Vec<FlagRow>,
    pub alpha: Vec<AlphaRow>,
    pub treatment: Vec<TreatmentRow>,
    pub uncertainty: Vec<UncertaintyRow>,
    pub sensitivity: Vec<SensitivityRow>,
    pub comparison: Vec<ComparisonRow>,
    pub ranks: Vec<MethodRankRow>,
    pub decomposition: Vec<DecompositionRow>,
}

impl Robustness {
    /// Pearson correlations between the audited indicators, in the order of `stats`, with 1 on
    /// the diagonal and `None` where a pair has too few common observations.
    pub fn correlation_matrix(&self) -> Vec<Vec<Option<f64>>> {
        let ids: Vec<&str> = self.stats.iter().map(|s| s.indicator.as_str()).collect();
        ids.iter()
            .map(|a| {
                ids.iter()
                    .map(|b| {
                        if a == b {
                            return Some(1.0);
                        }
                        self.correlations
                            .iter()
                            .find(|c| (c.a == *a && c.b == *b) || (c.a == *b && c.b == *a))
                            .and_then(|c| c.pearson)
                    })
                    .collect()
            })
            .collect()
    }
}

/// Names of the estimators reported with the sensitivity indices.
pub const ESTIMATOR: &str = "Saltelli (2010) first order, Jansen (1999) total order";

/// Run the whole analysis (see the module documentation).
pub fn run(
    prepared: &Prepared,
    nominal: &MethodSpec,
    options: &RobustnessOptions,
) -> Result<Robustness, MethodError> {
    options.validate()?;
    prepared.validate(nominal)?;
    let (valid, excluded) = combinations(&options.space)?;
    for c in &valid {
        prepared.validate(&c.spec(nominal))?;
    }
    let mut engine = Engine::new(prepared, nominal);
    let nominal_run = engine.nominal()?;
    let nominal_ranks = prepared.ranks(&nominal_run.score);

    // Audit: raw values, nominal z and scores.
    let specs = prepared.scored();
    let raw = prepared.raw();
    let cols: Vec<audit::AuditColumn<'_>> = specs
        .iter()
        .zip(&raw)
        .map(|(s, v)| audit::AuditColumn {
            indicator: s.id.as_str(),
            dimension: s.dimension,
            values: v,
        })
        .collect();
    let stats = cols.iter().map(audit::stats).collect();
    let correlations = audit::correlations(&cols, &nominal_run.dimensions, &nominal_run.score);
    let flags = audit::flags(&cols, &correlations);
    let dims: Vec<Dimension> = specs.iter().map(|s| s.dimension).collect();
    let alpha = audit::alphas(&dims, &nominal_run.z);

    // Every valid discrete method once: comparison and ranks by method (and exhaustive mode).
    let mut combo_ranks = Vec::with_capacity(valid.len());
    for c in &valid {
        let score = engine.scores(c, None)?;
        combo_ranks.push(prepared.ranks(&score));
    }
    let comparison = compare(prepared, &valid, &combo_ranks, &nominal_ranks, nominal);
    let ranks = ranks_by_method(prepared, &valid, &combo_ranks);

    let (runs, sensitivity) = match options.mode {
        Mode::Exhaustive => (combo_ranks, Vec::new()),
        Mode::Montecarlo => engine.design(&valid, &nominal_ranks, options)?,
    };
    let uncertainty = uncertainty(prepared, &runs, &nominal_ranks);
    let decomposition = decompose(prepared, &nominal_run.z, &nominal_run.w, &nominal_run.score);

    Ok(Robustness {
        nominal: Combo::of(nominal).label(),
        mode: options.mode,
        draws: options.draws,
        noise: options.noise,
        seed: options.seed,
        estimator: ESTIMATOR,
        excluded,
        stats,
        correlations,
        flags,
        alpha,
        treatment: nominal_run.treatment,
        uncertainty,
        sensitivity,
        comparison,
        ranks,
        decomposition,
    })
}

/// The nominal method's intermediate results: what the weight sandbox and the change
/// decomposition start from.
pub fn nominal_run(prepared: &Prepared, nominal: &MethodSpec) -> Result<NominalRun, MethodError> {
    prepared.validate(nominal)?;
    Engine::new(prepared, nominal).nominal()
}

/// The nominal method's intermediate results.
#[derive(Debug, Clone)]
pub struct NominalRun {
    pub z: Vec<Vec<f64>>,
    pub w: Vec<Vec<f64>>,
    pub score: Vec<f64>,
    pub dimensions: Vec<(Dimension, Vec<f64>)>,
    pub treatment: Vec<TreatmentRow>,
}

/// Runs methods on one prepared panel, caching treated-and-normalised columns per (treatment,
/// normalisation) and weights per (treatment, normalisation, weights).
struct Engine<'a> {
    prepared: &'a Prepared,
    base: &'a MethodSpec,
    z: HashMap<(Treat, Normalise), Vec<Vec<f64>>>,
    w: HashMap<(Treat, Normalise, WeightScheme), Vec<Vec<f64>>>,
}

impl<'a> Engine<'a> {
    fn new(prepared: &'a Prepared, base: &'a MethodSpec) -> Self {
        Engine {
            prepared,
            base,
            z: HashMap::new(),
            w: HashMap::new(),
        }
    }

    fn nominal(&mut self) -> Result<NominalRun, MethodError> {
        let spec = self.base;
        let (treated, treatment) = self.prepared.treated(spec.treat, spec.treat_max_points);
        let z = self.prepared.normalise(&treated, spec.normalise);
        let w = self.prepared.weights(&z, spec)?;
        let score = self.prepared.overall(&z, &w, spec);
        let dimensions = self.prepared.dimension_scores(&z, &w, spec);
        Ok(NominalRun {
            z,
            w,
            score,
            dimensions,
            treatment,
        })
    }

    /// Fill the caches for `c`.
    fn prepare(&mut self, c: &Combo) -> Result<(), MethodError> {
        let key = (c.treat, c.normalise);
        if !self.z.contains_key(&key) {
            let (treated, _) = self.prepared.treated(c.treat, self.base.treat_max_points);
            self.z
                .insert(key, self.prepared.normalise(&treated, c.normalise));
        }
        let wkey = (c.treat, c.normalise, c.weights.clone());
        if !self.w.contains_key(&wkey) {
            let w = self.prepared.weights(&self.z[&key], &c.spec(self.base))?;
            self.w.insert(wkey, w);
        }
        Ok(())
    }

    /// Overall scores of `c`, with every weight multiplied by `noise[j]` and re-normalised per
    /// year when given.
    fn scores(&mut self, c: &Combo, noise: Option<&[f64]>) -> Result<Vec<f64>, MethodError> {
        self.prepare(c)?;
        let z = &self.z[&(c.treat, c.normalise)];
        let w = &self.w[&(c.treat, c.normalise, c.weights.clone())];
        let spec = c.spec(self.base);
        Ok(match noise {
            None => self.prepared.overall(z, w, &spec),
            Some(f) => {
                let noisy: Vec<Vec<f64>> = w
                    .iter()
                    .map(|wy| {
                        let v: Vec<f64> = wy.iter().zip(f).map(|(a, b)| a * b).collect();
                        let total: f64 = v.iter().sum();
                        if total > 0.0 {
                            v.iter().map(|x| x / total).collect()
                        } else {
                            wy.clone()
                        }
                    })
                    .collect();
                self.prepared.overall(z, &noisy, &spec)
            }
        })
    }

    /// The Saltelli design: N rows of A and B, k = 5 inputs (normalisation, weights,
    /// aggregation, treatment as discrete choices from a uniform coordinate; the weight-noise
    /// vector as one group). Returns the ranks of A's runs (the Monte Carlo sample) and the
    /// indices of the latest year's mean absolute rank shift.
    fn design(
        &mut self,
        valid: &[Combo],
        nominal_ranks: &[Option<u32>],
        options: &RobustnessOptions,
    ) -> Result<(Vec<Ranks>, Vec<SensitivityRow>), MethodError> {
        let n = options.draws;
        let k_ind = self.prepared.scored().len();
        let mut rng = SplitMix64::new(options.seed);
        let eps = options.noise;
        let mut sample = || Point {
            u: [0; 4].map(|_| rng.uniform()),
            noise: (0..k_ind)
                .map(|_| 1.0 - eps + 2.0 * eps * rng.uniform())
                .collect(),
        };
        let a: Vec<Point> = (0..n).map(|_| sample()).collect();
        let b: Vec<Point> = (0..n).map(|_| sample()).collect();
        let latest = self
            .prepared
            .years()
            .last()
            .map(|(_, r)| r.clone())
            .unwrap_or(0..0);
        let shift = |ranks: &[Option<u32>]| {
            mean_abs_shift(&ranks[latest.clone()], &nominal_ranks[latest.clone()])
        };

        let mut runs = Vec::with_capacity(n);
        let mut f_a = Vec::with_capacity(n);
        for p in &a {
            let s = self.scores(&p.combo(valid), Some(&p.noise))?;
            let r = self.prepared.ranks(&s);
            f_a.push(shift(&r));
            runs.push(r);
        }
        let mut f_b = Vec::with_capacity(n);
        for p in &b {
            let s = self.scores(&p.combo(valid), Some(&p.noise))?;
            f_b.push(shift(&self.prepared.ranks(&s)));
        }
        let mut f_ab = vec![Vec::with_capacity(n); INPUTS.len()];
        for (i, f_i) in f_ab.iter_mut().enumerate() {
            for (pa, pb) in a.iter().zip(&b) {
                let mut p = Point {
                    u: pa.u,
                    noise: pa.noise.clone(),
                };
                if i < 4 {
                    p.u[i] = pb.u[i];
                } else {
                    p.noise.clone_from(&pb.noise);
                }
                let s = self.scores(&p.combo(valid), Some(&p.noise))?;
                f_i.push(shift(&self.prepared.ranks(&s)));
            }
        }
        let indices = sobol_indices(&f_a, &f_b, &f_ab);
        let rows = INPUTS
            .iter()
            .zip(indices)
            .map(|(&input, ix)| SensitivityRow {
                input,
                first_order: finite(ix.first_order),
                total_order: finite(ix.total_order),
                n,
            })
            .collect();
        Ok((runs, rows))
    }
}

/// The competition ranks of one method, per row (`None` = unranked).
type Ranks = Vec<Option<u32>>;

/// The uncertain inputs of the sensitivity analysis, in design order.
pub const INPUTS: [&str; 5] = ["normalise", "weights", "aggregate", "treat", "noise"];

/// One point of the design: a uniform coordinate per discrete input, and the noise factors.
struct Point {
    u: [f64; 4],
    noise: Vec<f64>,
}

impl Point {
    /// The valid combination this point maps to: each input in turn picks uniformly among the
    /// choices that still have a valid completion given the earlier ones.
    fn combo(&self, valid: &[Combo]) -> Combo {
        let mut left: Vec<&Combo> = valid.iter().collect();
        let pick = |left: &[&Combo], u: f64, key: &dyn Fn(&Combo) -> String| -> String {
            let options = dedup(&left.iter().map(|c| key(c)).collect::<Vec<_>>());
            let i = ((u * options.len() as f64) as usize).min(options.len() - 1);
            options[i].clone()
        };
        let keys: [&dyn Fn(&Combo) -> String; 4] = [
            &|c| c.normalise.to_string(),
            &|c| c.weights.to_string(),
            &|c| c.aggregate.to_string(),
            &|c| c.treat.to_string(),
        ];
        for (u, key) in self.u.iter().zip(keys) {
            let chosen = pick(&left, *u, key);
            left.retain(|c| key(c) == chosen);
        }
        left[0].clone()
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Mean |rank − nominal rank| over the rows ranked in both.
fn mean_abs_shift(ranks: &[Option<u32>], nominal: &[Option<u32>]) -> f64 {
    let shifts: Vec<f64> = ranks
        .iter()
        .zip(nominal)
        .filter_map(|(r, n)| Some((f64::from((*r)?) - f64::from((*n)?)).abs()))
        .collect();
    if shifts.is_empty() {
        0.0
    } else {
        shifts.iter().sum::<f64>() / shifts.len() as f64
    }
}

fn uncertainty(
    prepared: &Prepared,
    runs: &[Vec<Option<u32>>],
    nominal: &[Option<u32>],
) -> Vec<UncertaintyRow> {
    let mut out = Vec::new();
    for (i, nom) in nominal.iter().enumerate() {
        let Some(nom) = *nom else { continue };
        let mut ranks: Vec<u32> = runs.iter().filter_map(|r| r[i]).collect();
        if ranks.is_empty() {
            continue;
        }
        ranks.sort_unstable();
        let mean_abs_shift = ranks
            .iter()
            .map(|&r| (f64::from(r) - f64::from(nom)).abs())
            .sum::<f64>()
            / ranks.len() as f64;
        out.push(UncertaintyRow {
            region: prepared.regions()[i].clone(),
            year: prepared.row_years()[i],
            nominal_rank: nom,
            median_rank: nearest_rank(&ranks, 50),
            p05_rank: nearest_rank(&ranks, 5),
            p95_rank: nearest_rank(&ranks, 95),
            mean_abs_shift,
        });
    }
    out
}

fn compare(
    prepared: &Prepared,
    valid: &[Combo],
    combo_ranks: &[Vec<Option<u32>>],
    nominal: &[Option<u32>],
    nominal_spec: &MethodSpec,
) -> Vec<ComparisonRow> {
    let nominal_label = Combo::of(nominal_spec).label();
    let mut out = Vec::new();
    for (year, range) in prepared.years() {
        for (c, ranks) in valid.iter().zip(combo_ranks) {
            let label = c.label();
            if label == nominal_label {
                continue;
            }
            let (x, y): (Vec<f64>, Vec<f64>) = range
                .clone()
                .filter_map(|i| Some((f64::from(nominal[i]?), f64::from(ranks[i]?))))
                .unzip();
            let shifts: Vec<f64> = x.iter().zip(&y).map(|(a, b)| (a - b).abs()).collect();
            out.push(ComparisonRow {
                year: *year,
                method: label,
                spearman: spearman(&x, &y),
                kendall_tau_b: kendall_tau_b(&x, &y),
                ws: ws(&x, &y),
                max_rank_shift: shifts.iter().fold(0.0f64, |m, s| m.max(*s)) as u32,
                mean_abs_rank_shift: if shifts.is_empty() {
                    0.0
                } else {
                    shifts.iter().sum::<f64>() / shifts.len() as f64
                },
            });
        }
    }
    out
}

fn ranks_by_method(
    prepared: &Prepared,
    valid: &[Combo],
    combo_ranks: &[Vec<Option<u32>>],
) -> Vec<MethodRankRow> {
    let mut out = Vec::new();
    for (c, ranks) in valid.iter().zip(combo_ranks) {
        let label = c.label();
        for (i, r) in ranks.iter().enumerate() {
            if let Some(rank) = *r {
                out.push(MethodRankRow {
                    region: prepared.regions()[i].clone(),
                    year: prepared.row_years()[i],
                    method: label.clone(),
                    rank,
                });
            }
        }
    }
    out
}

/// The report's tables, by file stem (`audit_stats` → `audit_stats.csv`).
pub const TABLES: [&str; 10] = [
    "audit_stats",
    "audit_correlations",
    "audit_flags",
    "audit_alpha",
    "treatment",
    "uncertainty",
    "sensitivity",
    "comparison",
    "ranks_by_method",
    "decomposition",
];

/// One table of the report as a frame with the CLI's columns; `None` for an unknown name.
pub fn table(r: &Robustness, name: &str) -> PolarsResult<Option<DataFrame>> {
    let frame = match name {
        "audit_stats" => columns!(r.stats => indicator, dimension, n as u32, mean, sd, min, max,
            skewness, kurtosis, outlier)?,
        "audit_correlations" => columns!(r.correlations => a, b, pearson, spearman)?,
        "audit_flags" => columns!(r.flags => kind, a, b, pearson)?,
        "audit_alpha" => columns!(r.alpha => scope, k as u32, alpha)?,
        "treatment" => columns!(r.treatment => indicator, report.method, report.points as u32,
            report.skewness_before, report.kurtosis_before, report.skewness_after,
            report.kurtosis_after)?,
        "uncertainty" => columns!(r.uncertainty => region, year, nominal_rank, median_rank,
            p05_rank, p95_rank, mean_abs_shift)?,
        "sensitivity" => columns!(r.sensitivity => input, first_order, total_order, n as u32)?,
        "comparison" => columns!(r.comparison => year, method, spearman, kendall_tau_b, ws,
            max_rank_shift, mean_abs_rank_shift)?,
        "ranks_by_method" => columns!(r.ranks => region, year, method, rank)?,
        "decomposition" => columns!(r.decomposition => region, year_from, year_to, indicator,
            dimension, contribution)?,
        _ => return Ok(None),
    };
    Ok(Some(frame))
}
