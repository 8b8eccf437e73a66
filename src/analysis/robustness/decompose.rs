//! Decomposition of a region's score change between two years into indicator contributions.
//!
//! Owns: `c_j = 100 · (w_j,b z_j,b − w_j,a z_j,a)` per scored indicator and the residual.
//! For a weighted sum over complete rows `S = 100 Σ_j w_j z_j`, so `Σ_j c_j = S_b − S_a`
//! exactly; with panel weights this is `c_j = 100 w_j (z_j,b − z_j,a)`. For the geometric mean,
//! TOPSIS or a row with missing cells (weights re-normalised) the split is approximate and a
//! `residual` row carries `S_b − S_a − Σ_j c_j`. Must not: choose the method.

use std::collections::HashMap;

use serde::Serialize;

use crate::method::Prepared;
use crate::types::Dimension;

/// The indicator name of the residual row.
pub const RESIDUAL: &str = "residual";

/// Residuals smaller than this (score points) are floating-point noise of an exact split.
const EXACT: f64 = 1e-9;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecompositionRow {
    pub region: String,
    pub year_from: i32,
    pub year_to: i32,
    /// A scored indicator, or [`RESIDUAL`].
    pub indicator: String,
    /// `None` for the residual.
    pub dimension: Option<Dimension>,
    pub contribution: f64,
}

/// Contributions for every region and every pair of consecutive panel years, and for the first
/// → last year; `z`, `w` (per year) and `score` of the method to decompose. Region-years without
/// a score are skipped.
pub fn decompose(
    prepared: &Prepared,
    z: &[Vec<f64>],
    w: &[Vec<f64>],
    score: &[f64],
) -> Vec<DecompositionRow> {
    let years: Vec<i32> = prepared.years().iter().map(|(y, _)| *y).collect();
    let mut pairs: Vec<(usize, usize)> = (1..years.len()).map(|t| (t - 1, t)).collect();
    if years.len() > 2 {
        pairs.push((0, years.len() - 1));
    }
    let mut row_of: HashMap<(&str, usize), usize> = HashMap::new();
    for (t, (_, range)) in prepared.years().iter().enumerate() {
        for i in range.clone() {
            row_of.insert((prepared.regions()[i].as_str(), t), i);
        }
    }
    let mut regions: Vec<&str> = prepared.regions().iter().map(String::as_str).collect();
    regions.sort_unstable();
    regions.dedup();
    let specs = prepared.scored();
    let ids: Vec<(&str, Dimension)> = specs.iter().map(|s| (s.id.as_str(), s.dimension)).collect();
    let mut out = Vec::new();
    for region in regions {
        for &(ta, tb) in &pairs {
            let (Some(&ia), Some(&ib)) = (row_of.get(&(region, ta)), row_of.get(&(region, tb)))
            else {
                continue;
            };
            if let Some(split) = split(z, w, score, (ta, ia), (tb, ib)) {
                out.extend(split.rows(&ids, region, years[ta], years[tb]));
            }
        }
    }
    out
}

/// The split of one region's change between two rows: a contribution per scored indicator (in
/// framework order) and the residual `S_b − S_a − Σ_j c_j`.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub score_from: f64,
    pub score_to: f64,
    pub contributions: Vec<f64>,
    pub residual: f64,
}

impl Split {
    /// Whether the residual is floating-point noise (the split adds up exactly).
    pub fn adds_up(&self) -> bool {
        self.residual.abs() <= EXACT
    }

    /// The rows of `region` for the scored indicators `ids` (id, dimension), with a residual row
    /// when the split does not add up.
    pub fn rows(
        &self,
        ids: &[(&str, Dimension)],
        region: &str,
        from: i32,
        to: i32,
    ) -> Vec<DecompositionRow> {
        let row = |indicator: &str, dimension, contribution| DecompositionRow {
            region: region.to_owned(),
            year_from: from,
            year_to: to,
            indicator: indicator.to_owned(),
            dimension,
            contribution,
        };
        let mut out: Vec<DecompositionRow> = ids
            .iter()
            .zip(&self.contributions)
            .map(|((id, d), c)| row(id, Some(*d), *c))
            .collect();
        if !self.adds_up() {
            out.push(row(RESIDUAL, None, self.residual));
        }
        out
    }
}

/// The split of the change from row `a` (year index `ta`) to row `b`; `None` when either row
/// has no score.
pub fn split(
    z: &[Vec<f64>],
    w: &[Vec<f64>],
    score: &[f64],
    (ta, ia): (usize, usize),
    (tb, ib): (usize, usize),
) -> Option<Split> {
    if score[ia].is_nan() || score[ib].is_nan() {
        return None;
    }
    let term = |t: usize, i: usize, j: usize| {
        let v = z[j][i];
        if v.is_nan() { 0.0 } else { 100.0 * w[t][j] * v }
    };
    let contributions: Vec<f64> = (0..z.len())
        .map(|j| term(tb, ib, j) - term(ta, ia, j))
        .collect();
    let total: f64 = contributions.iter().sum();
    Some(Split {
        score_from: score[ia],
        score_to: score[ib],
        residual: score[ib] - score[ia] - total,
        contributions,
    })
}
