//! Method: the pure index math of docs/method.md — impute → normalise → weight → aggregate → rank.
//!
//! Owns: [`compute`] (a wide region-year frame + the framework's [`IndicatorSpec`]s + a
//! [`MethodSpec`] → [`IndexResult`]) and its building blocks as small pure functions on tight
//! `f64` columns, usable by tests and the analysis stage: [`treat`], [`normalise`], [`weights`],
//! [`aggregate`], [`rank`], [`impute`]; and [`Prepared`], the panel read once for analyses that
//! run many methods on it. In every building block **NaN marks a missing cell**.
//! Must not: do I/O, read the environment or configuration, know HTTP, SQL or the framework
//! file format.
//!
//! The formulas are documented on each function; the reference values are in
//! `tests/fixtures/reference/` (numpy/pymcdm/pyrepo-mcda `case_*.json`, COINr
//! `r_crosscheck_output.json`). Conventions where the reference libraries disagree:
//!
//! | Question | nqp's choice |
//! |---|---|
//! | Missing cell | interior gaps of a region's series interpolated linearly in the year (absent interior years are added first); leading/trailing stay missing; a region-year with no value at all is left out |
//! | Coverage | share of region-years observed before imputation; below the threshold → excluded (`method.low_coverage`) |
//! | Statistics with missing cells | over the observed cells (COINr `na.rm`): min/max, mean/sd, entropy with `n_j` = observed count, pairwise-complete Pearson |
//! | Constant indicator | z = 0 and weight 0 under every scheme (entropy `e := 1` exactly; CRITIC drops it from every Σ(1 − r)) |
//! | Z-score | whole panel, sample sd (ddof = 1), sign flipped for cost |
//! | Percentile rank | whole panel, `(r − 1)/(n − 1)`, ties share the lowest rank (COINr `n_prank`) |
//! | Entropy | min-max z + shift s (default 0.0001), `0 ln 0 := 0`; on z-scores it runs on min-max rescaled z |
//! | CRITIC, SD | on direction-adjusted z (not raw data), ddof cancels |
//! | Region-year missing an indicator | scored on the available ones, weights re-normalised (also per dimension); counted in `indicators_missing` |
//! | Geometric | `Π (1 + 99 z)^w` on [1, 100] (COINr `a_gmean` on [1, 100] data) |
//! | TOPSIS | ideal points over the normalisation's set (panel, or year for `minmax-year`); D⁺ + D⁻ = 0 → 50 with a notice |
//! | Outlier treatment | optional (`treat = winsorise`), per scored indicator over the pooled panel after interpolation, before normalisation (JRC/COINr rule: \|G1\| > 2 and G2 > 3.5) |
//! | Ranks | per year, competition ("min"), scores within [`rank::TIE_TOLERANCE`] = 1e-9 points of a tie group's best share its rank |
//!
//! ```
//! use nqp::method::{compute, IndicatorSpec, MethodSpec};
//! use nqp::types::{Dimension, Direction, IndicatorId};
//! use polars::prelude::*;
//!
//! let wide = df!(
//!     "region" => ["a", "b", "c"],
//!     "year" => [2024i32, 2024, 2024],
//!     "rd" => [1.0, 2.0, 3.0],
//! ).unwrap();
//! let rd = IndicatorSpec {
//!     id: IndicatorId::new("rd").unwrap(), dimension: Dimension::Tools, subdimension: None,
//!     level: None, direction: Direction::Benefit, manual_weight: None, ai_digital: false,
//! };
//! let result = compute(&wide, &[rd], &MethodSpec::default()).unwrap();
//! let top = result.scores.column("score").unwrap().f64().unwrap().get(0);
//! assert_eq!(top, Some(100.0));
//! ```

pub mod aggregate;
mod error;
pub mod impute;
pub mod normalise;
mod pipeline;
pub mod rank;
mod spec;
pub mod treat;
pub mod weights;

pub use error::{MethodError, MethodNotice};

/// Cells below which a pass over many columns stays on the calling thread: the thread pool costs
/// more than it saves there (robustness analyses run hundreds of methods on small panels).
const PARALLEL_CELLS: usize = 1 << 16;

/// `f` of each item, in order; on the thread pool when the items hold `cells` cells together and
/// at least [`PARALLEL_CELLS`]. Each item is one column's work, so no sum is split between threads
/// and the results are the serial ones bit for bit.
pub(crate) fn map_columns<T: Send, R: Send>(
    items: Vec<T>,
    cells: usize,
    f: impl Fn(T) -> R + Sync + Send,
) -> Vec<R> {
    if cells >= PARALLEL_CELLS && items.len() > 1 {
        use rayon::prelude::*;
        items.into_par_iter().map(f).collect()
    } else {
        items.into_iter().map(f).collect()
    }
}

/// Whether `test` holds for some cell. Blocks of cells are tested without a branch per cell (so
/// the test runs on vector registers), stopping after the first block with a hit.
pub(crate) fn any_cell(values: &[f64], test: impl Fn(f64) -> bool) -> bool {
    values
        .chunks(256)
        .any(|block| block.iter().fold(false, |hit, &v| hit | test(v)))
}

pub use pipeline::{IndexResult, Prepared, TreatmentRow, compute};
pub use spec::{
    Aggregate, CombineMean, DEFAULT_COVERAGE_THRESHOLD, DEFAULT_SHIFT, DEFAULT_TREAT_MAX_POINTS,
    IndicatorSpec, MethodRecord, MethodSpec, Normalise, ParseSpecError, Treat, WeightScheme,
    subindices,
};
