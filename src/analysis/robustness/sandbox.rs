//! Manual weights of the weight sandbox: a weight per dimension times a weight per indicator
//! within its dimension, renormalised (docs/method.md, "Weight sandbox").
//!
//! Owns: [`manual_weights`] — `w_j = D_d(j) · v_j / Σ_{k ∈ d(j)} v_k`, then `w_j / Σ_k w_k` —
//! and [`rescore`], the scores and ranks of a prepared panel under such weights. Must not:
//! parse user input (the page does) or read anything but its arguments.

use crate::method::{MethodError, MethodSpec, Prepared, normalise};
use crate::types::Dimension;

/// Effective indicator weights (summing to 1) from the dimension weights `dimension`
/// (in [`Dimension::ALL`] order) and the within-dimension weights `indicator` (one per scored
/// indicator, dimensions `dims`). A dimension whose indicator weights are all zero contributes
/// nothing; an indicator whose normalised column `z` is constant gets weight 0, as under the
/// `equal` and `manual` schemes. Inputs must be finite and ≥ 0 (the caller checked them).
pub fn manual_weights(
    dims: &[Dimension],
    z: &[Vec<f64>],
    dimension: [f64; 3],
    indicator: &[f64],
) -> Result<Vec<f64>, MethodError> {
    let within: Vec<f64> = Dimension::ALL
        .iter()
        .map(|&d| {
            dims.iter()
                .zip(indicator)
                .filter(|(x, _)| **x == d)
                .map(|(_, v)| v)
                .sum()
        })
        .collect();
    let raw: Vec<f64> = dims
        .iter()
        .zip(indicator)
        .zip(z)
        .map(|((&d, &v), col)| {
            let k = Dimension::ALL.iter().position(|&x| x == d).unwrap_or(0);
            if within[k] > 0.0 && !normalise::is_constant(col) {
                dimension[k] * v / within[k]
            } else {
                0.0
            }
        })
        .collect();
    crate::method::weights::normalise_to_one(&raw).ok_or_else(|| MethodError::ManualWeights {
        message: "every effective weight is zero: give a dimension with a non-zero weight \
                  at least one indicator with a non-zero weight"
            .into(),
        indicator: None,
    })
}

/// The overall score, the dimension scores and the ranks of every row of `prepared` under the
/// panel weights `w` (one per scored indicator) with the normalised columns `z` and the
/// aggregation of `spec`.
pub struct Rescored {
    pub score: Vec<f64>,
    pub dimensions: Vec<(Dimension, Vec<f64>)>,
    pub ranks: Vec<Option<u32>>,
}

pub fn rescore(prepared: &Prepared, z: &[Vec<f64>], w: &[f64], spec: &MethodSpec) -> Rescored {
    let per_year = vec![w.to_vec(); prepared.years().len()];
    let score = prepared.overall(z, &per_year, spec);
    Rescored {
        ranks: prepared.ranks(&score),
        dimensions: prepared.dimension_scores(z, &per_year, spec),
        score,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Dimension::*;

    #[test]
    fn dimension_times_within_share_renormalised() {
        let dims = [Laborers, Laborers, Tools, Objects];
        let z = vec![vec![0.0, 1.0]; 4];
        // Laborers 2 split 1:3, tools 1, objects 1 → 0.5, 1.5, 1, 1 over 4.
        let w = manual_weights(&dims, &z, [2.0, 1.0, 1.0], &[1.0, 3.0, 5.0, 0.5]).unwrap();
        let want = [0.125, 0.375, 0.25, 0.25];
        for (g, w) in w.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{g} vs {w}");
        }
        // A dimension with only zero indicator weights drops out; a constant column gets 0.
        let mut z2 = z.clone();
        z2[3] = vec![0.5, 0.5];
        let w = manual_weights(&dims, &z2, [1.0, 1.0, 1.0], &[0.0, 0.0, 1.0, 1.0]).unwrap();
        assert_eq!(w, vec![0.0, 0.0, 1.0, 0.0]);
        assert!(manual_weights(&dims, &z, [0.0, 0.0, 1.0], &[1.0, 1.0, 1.0, 0.0]).is_err());
    }
}
