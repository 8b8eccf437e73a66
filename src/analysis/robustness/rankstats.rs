//! Rank statistics of the robustness analysis: average ranks, Spearman ρ, Kendall τ-b, the WS
//! rank-similarity coefficient, and nearest-rank percentiles.
//!
//! Owns: these formulas on plain slices (no NaN: callers pass complete pairs). Must not: know
//! about regions, years or methods.

use crate::method::weights::pearson;

/// Ascending ranks 1…n, ties get the average of the ranks they span (scipy `rankdata`
/// `method="average"`, pandas `rank()`).
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; x.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && x[order[end]] == x[order[start]] {
            end += 1;
        }
        // positions start..end hold ranks start+1 ..= end; their mean:
        let r = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = r;
        }
        start = end;
    }
    ranks
}

/// Spearman's ρ: Pearson's r of the average ranks (scipy `spearmanr`); `None` when either side
/// is constant or fewer than two pairs.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    pearson(&average_ranks(x), &average_ranks(y))
}

/// Kendall's τ-b (scipy `kendalltau`, the default variant):
/// `τ_b = (C − D) / sqrt((n₀ − n₁)(n₀ − n₂))` with C, D the concordant and discordant pairs,
/// `n₀ = n(n−1)/2` and n₁, n₂ the pairs tied in x and in y. `None` when a side is constant.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len();
    let (mut s, mut tied_x, mut tied_y, mut pairs) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            let dx = x[i] - x[j];
            let dy = y[i] - y[j];
            pairs += 1;
            if dx == 0.0 {
                tied_x += 1;
            }
            if dy == 0.0 {
                tied_y += 1;
            }
            if dx != 0.0 && dy != 0.0 {
                s += if (dx > 0.0) == (dy > 0.0) { 1 } else { -1 };
            }
        }
    }
    let den = ((pairs - tied_x) as f64 * (pairs - tied_y) as f64).sqrt();
    (den > 0.0).then(|| s as f64 / den)
}

/// The WS rank-similarity coefficient of Sałabun & Urbaniak (2020), with `x` the reference
/// ranking (WS is not symmetric):
/// `WS = 1 − Σ_i 2^(−x_i) · |x_i − y_i| / max(|x_i − 1|, |x_i − n|)` (pymcdm
/// `rank_similarity_coef`). Top positions weigh most: swapping ranks 1 and 2 costs far more
/// than swapping the last two. `None` for fewer than two alternatives.
pub fn ws(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    if x.len() < 2 {
        return None;
    }
    let sum: f64 = x
        .iter()
        .zip(y)
        .map(|(&xi, &yi)| 2f64.powf(-xi) * (xi - yi).abs() / (xi - 1.0).abs().max((xi - n).abs()))
        .sum();
    Some(1.0 - sum)
}

/// The nearest-rank `percent`-th percentile of `sorted` (ascending, non-empty): the
/// ⌈p·K⌉-th smallest of the K values (at least the first), in integer arithmetic so that
/// 5 % of 1,000 is exactly the 50th value.
pub fn nearest_rank(sorted: &[u32], percent: usize) -> u32 {
    let k = sorted.len();
    let position = (percent * k).div_ceil(100).max(1);
    sorted[position - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_ranks_share_ties() {
        assert_eq!(
            average_ranks(&[3.0, 1.0, 3.0, 2.0]),
            vec![3.5, 1.0, 3.5, 2.0]
        );
    }

    #[test]
    fn nearest_rank_by_hand() {
        // K = 20: 5 % → 1st, 50 % → 10th, 95 % → 19th value.
        let v: Vec<u32> = (1..=20).collect();
        assert_eq!(nearest_rank(&v, 5), 1);
        assert_eq!(nearest_rank(&v, 50), 10);
        assert_eq!(nearest_rank(&v, 95), 19);
        // K = 3: ⌈0.05·3⌉ = 1, ⌈1.5⌉ = 2, ⌈2.85⌉ = 3.
        assert_eq!(nearest_rank(&[4, 7, 9], 5), 4);
        assert_eq!(nearest_rank(&[4, 7, 9], 50), 7);
        assert_eq!(nearest_rank(&[4, 7, 9], 95), 9);
    }

    #[test]
    fn identical_rankings_are_perfectly_similar() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(ws(&x, &x), Some(1.0));
        assert_eq!(kendall_tau_b(&x, &x), Some(1.0));
        assert_eq!(kendall_tau_b(&x, &[1.0; 4]), None);
    }
}
