//! Objective indicator weights from a normalised matrix.
//!
//! Owns: entropy, CRITIC and standard-deviation weights and the combination of two weight
//! vectors. The matrix is column-major — one `&[f64]` per indicator, all of equal length (the
//! region-years the statistic runs over) — and **NaN marks a missing cell**: every statistic
//! uses a column's observed cells (pairwise-complete rows for correlations). Every function
//! returns weights that are ≥ 0 and sum to 1, or `None` when every indicator carries zero
//! information (the caller turns that into `method.degenerate_weights`).
//! Must not: know about years, regions or the framework.

use super::normalise::mean_sd;
use super::spec::CombineMean;

/// Divide by the sum; `None` when the sum is not positive.
pub fn normalise_to_one(raw: &[f64]) -> Option<Vec<f64>> {
    let total: f64 = raw.iter().sum();
    (total > 0.0 && total.is_finite()).then(|| raw.iter().map(|w| w / total).collect())
}

/// Entropy `e_j` of each column (docs/method.md §5.1, the Chinese-literature variant and its
/// nan-aware form, reference block `proposed_nan_aware_cn_variant`):
///
/// `z'_ij = z_ij + s`, `p_ij = z'_ij / Σ_i z'_ij`, `e_j = −(1/ln n_j) Σ_i p_ij ln p_ij` with
/// `0 · ln 0 := 0`, where the sums run over the `n_j` observed cells of column j. A constant
/// column (including one with fewer than two observations) has `e_j := 1` exactly: in floating
/// point the formula gives 1.0000000000000002 and a tiny negative weight (trap T5).
/// Precondition: z ≥ 0 and s ≥ 0 (min-max or percentile-rank scores).
pub fn entropy_values(cols: &[&[f64]], shift: f64) -> Vec<f64> {
    let cells = cols.iter().map(|c| c.len()).sum();
    super::map_columns(cols.to_vec(), cells, |col| {
        // One pass for the count, the total and whether the column varies (it is constant when
        // every observed cell equals the first); the total adds the same terms in the same order
        // as a pass of its own would.
        let Some(start) = col.iter().position(|v| !v.is_nan()) else {
            return 1.0;
        };
        let (col, first) = (&col[start..], col[start]);
        let observed = || col.iter().filter(|v| !v.is_nan());
        let (mut n, mut varies) = (0usize, false);
        let total: f64 = observed()
            .inspect(|&&z| {
                n += 1;
                varies |= z != first;
            })
            .map(|z| z + shift)
            .sum();
        if !varies {
            return 1.0;
        }
        let n = n as f64;
        let h: f64 = observed()
            .map(|z| z + shift)
            .map(|z| z / total)
            .filter(|&p| p > 0.0)
            .map(|p| p * p.ln())
            .sum();
        -h / n.ln()
    })
}

/// Entropy weights: `w_j = (1 − e_j) / Σ_k (1 − e_k)` with `e_j` from [`entropy_values`].
pub fn entropy(cols: &[&[f64]], shift: f64) -> Option<Vec<f64>> {
    let divergence: Vec<f64> = entropy_values(cols, shift)
        .into_iter()
        .map(|e| 1.0 - e)
        .collect();
    normalise_to_one(&divergence)
}

/// Pearson correlation of two columns over the rows where both are observed
/// (R `cor(use = "pairwise.complete.obs")`); `None` when fewer than two such rows or either
/// column has no variation on them.
pub fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| !x.is_nan() && !y.is_nan())
        .map(|(&x, &y)| (x, y))
        .collect();
    if pairs.len() < 2 {
        return None;
    }
    let n = pairs.len() as f64;
    let (ma, mb) = pairs
        .iter()
        .fold((0.0, 0.0), |(sa, sb), (x, y)| (sa + x / n, sb + y / n));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

/// CRITIC weights (Diakoulaki et al. 1995; docs/method.md §5.2, block
/// `proposed_drop_constant_columns(direction_aware)`), on direction-adjusted scores:
///
/// `C_j = σ_j · Σ_k (1 − r_jk)`, `w_j = C_j / Σ_k C_k`, σ the sample sd (ddof = 1; it cancels
/// in w), r Pearson (pairwise-complete). Constant columns get w = 0 and are dropped from every
/// `Σ(1 − r)` (setting r := 0 instead would change the other weights); a single informative
/// column gets w = 1. An undefined pairwise correlation (see [`pearson`]) counts as r = 0.
pub fn critic(cols: &[&[f64]]) -> Option<Vec<f64>> {
    let sd: Vec<Option<f64>> = cols
        .iter()
        .map(|c| mean_sd(c).map(|(_, s)| s).filter(|&s| s > 0.0))
        .collect();
    let keep: Vec<usize> = (0..cols.len()).filter(|&j| sd[j].is_some()).collect();
    let mut raw = vec![0.0; cols.len()];
    match keep.as_slice() {
        [] => return None,
        [only] => raw[*only] = 1.0,
        _ => {
            for &j in &keep {
                let conflict: f64 = keep
                    .iter()
                    .filter(|&&k| k != j)
                    .map(|&k| 1.0 - pearson(cols[j], cols[k]).unwrap_or(0.0))
                    .sum();
                raw[j] = sd[j].unwrap_or(0.0) * conflict;
            }
        }
    }
    normalise_to_one(&raw)
}

/// Standard-deviation weights (docs/method.md §5.3 on normalised data):
/// `w_j = σ_j / Σ_k σ_k` (ddof = 1; it cancels). Constant columns get w = 0.
pub fn sd(cols: &[&[f64]]) -> Option<Vec<f64>> {
    let raw: Vec<f64> = cols
        .iter()
        .map(|c| mean_sd(c).map_or(0.0, |(_, s)| s))
        .collect();
    normalise_to_one(&raw)
}

/// Combine two weight vectors (each summing to 1): geometric `w ∝ sqrt(w_a w_b)` re-normalised,
/// arithmetic `w = (w_a + w_b)/2`.
pub fn combine(a: &[f64], b: &[f64], mean: CombineMean) -> Option<Vec<f64>> {
    let raw: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(x, y)| match mean {
            CombineMean::Geometric => (x * y).sqrt(),
            CombineMean::Arithmetic => (x + y) / 2.0,
        })
        .collect();
    normalise_to_one(&raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_a_hand_computed_column() {
        // z = (0, 0, ½, 1), no shift → p = (0, 0, ⅓, ⅔), e = (⅓ ln 3 + ⅔ ln 1.5)/ln 4
        let e = entropy_values(&[&[0.0, 0.0, 0.5, 1.0]], 0.0);
        let want = (3f64.ln() / 3.0 + 2.0 * 1.5f64.ln() / 3.0) / 4f64.ln();
        assert!((e[0] - want).abs() < 1e-15);
        assert_eq!(entropy_values(&[&[0.3, 0.3, f64::NAN]], 1e-4), vec![1.0]);
    }

    #[test]
    fn degenerate_inputs_give_none() {
        assert_eq!(entropy(&[&[1.0, 1.0], &[0.0, 0.0]], 1e-4), None);
        assert_eq!(critic(&[&[2.0, 2.0, 2.0]]), None);
        assert_eq!(sd(&[&[f64::NAN, 1.0]]), None);
        assert_eq!(critic(&[&[0.0, 1.0], &[3.0, 3.0]]), Some(vec![1.0, 0.0]));
    }

    #[test]
    fn combination_means() {
        let g = combine(&[0.5, 0.5, 0.0], &[0.25, 0.25, 0.5], CombineMean::Geometric).unwrap();
        assert_eq!(g, vec![0.5, 0.5, 0.0]);
        let a = combine(
            &[0.5, 0.5, 0.0],
            &[0.25, 0.25, 0.5],
            CombineMean::Arithmetic,
        )
        .unwrap();
        assert_eq!(a, vec![0.375, 0.375, 0.25]);
    }

    #[test]
    fn pearson_uses_pairwise_complete_rows() {
        let r = pearson(&[1.0, 2.0, f64::NAN, 3.0], &[2.0, 4.0, 100.0, 6.0]).unwrap();
        assert!((r - 1.0).abs() < 1e-15);
        assert_eq!(pearson(&[1.0, f64::NAN], &[1.0, 2.0]), None);
    }
}
