//! Normalisation of one indicator column to direction-adjusted scores `z` (bigger = better).
//!
//! Owns: min-max, z-score and percentile rank on a tight `&[f64]` column in which **NaN marks a
//! missing cell** (NaN in → NaN out; statistics use the observed cells only, as COINr does with
//! `na.rm = TRUE`). Must not: know about years or regions — the caller passes the set the
//! statistic runs over (the whole panel, or one year's slice).

use crate::types::Direction;

/// `(min, max)` over the observed cells, `None` when nothing is observed.
pub fn observed_range(values: &[f64]) -> Option<(f64, f64)> {
    // Four running extremes side by side (vector registers); a missing cell compares false and
    // leaves them as they are. As numbers the extremes do not depend on the order of the cells,
    // but which zero (−0 or +0) a zero extreme is does: then the cells are taken one by one, in
    // order, so the result is always that of `f64::min`/`max` over the cells in order.
    const LANES: usize = 4;
    let mut lo = [f64::INFINITY; LANES];
    let mut hi = [f64::NEG_INFINITY; LANES];
    let blocks = values.chunks_exact(LANES);
    let rest = blocks.remainder();
    let mut take = |k: usize, v: f64| {
        lo[k] = if v < lo[k] { v } else { lo[k] };
        hi[k] = if v > hi[k] { v } else { hi[k] };
    };
    for block in blocks {
        for (k, &v) in block.iter().enumerate() {
            take(k, v);
        }
    }
    for (k, &v) in rest.iter().enumerate() {
        take(k, v);
    }
    let lo = lo
        .into_iter()
        .fold(f64::INFINITY, |a, b| if b < a { b } else { a });
    let hi = hi
        .into_iter()
        .fold(f64::NEG_INFINITY, |a, b| if b > a { b } else { a });
    // The extremes are never NaN; nothing observed leaves lo = ∞ > hi = −∞.
    if lo > hi {
        return None;
    }
    if lo == 0.0 || hi == 0.0 {
        return observed_range_in_order(values);
    }
    Some((lo, hi))
}

/// [`observed_range`] one cell after the other.
fn observed_range_in_order(values: &[f64]) -> Option<(f64, f64)> {
    values
        .iter()
        .filter(|v| !v.is_nan())
        .fold(None, |acc, &v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Whether the observed cells are all equal (or none is observed): such a column carries no
/// information and gets z = 0 and weight 0.
pub fn is_constant(values: &[f64]) -> bool {
    is_constant_range(observed_range(values))
}

/// [`is_constant`] from the column's [`observed_range`].
pub fn is_constant_range(range: Option<(f64, f64)>) -> bool {
    range.is_none_or(|(lo, hi)| lo == hi)
}

/// Min-max normalisation (docs/method.md §4; pymcdm `minmax_normalization`, COINr `n_minmax`):
///
/// benefit `z = (x − min)/(max − min)`, cost `z = (max − x)/(max − min)`, min/max over the
/// observed cells. A constant column (max = min) gives z = 0 (the libraries disagree here —
/// 1.0, NaN — see docs/method.md §4; 0 keeps a no-information column from adding points).
pub fn minmax(values: &[f64], direction: Direction) -> Vec<f64> {
    minmax_over(values, observed_range(values), direction)
}

/// [`minmax`] with the column's [`observed_range`] already known (the pipeline also uses it
/// to tell constant columns).
pub fn minmax_over(values: &[f64], range: Option<(f64, f64)>, direction: Direction) -> Vec<f64> {
    let Some((lo, hi)) = range else {
        return vec![f64::NAN; values.len()];
    };
    let range = hi - lo;
    let missing_or = |x: f64, z: f64| if x.is_nan() { f64::NAN } else { z };
    // One loop per case, so that each is a plain element-wise pass.
    if range == 0.0 {
        values.iter().map(|&x| missing_or(x, 0.0)).collect()
    } else {
        match direction {
            Direction::Benefit => values
                .iter()
                .map(|&x| missing_or(x, (x - lo) / range))
                .collect(),
            Direction::Cost => values
                .iter()
                .map(|&x| missing_or(x, (hi - x) / range))
                .collect(),
        }
    }
}

/// Mean and sample standard deviation (ddof = 1, as R `sd()` and COINr `n_zscore`) over the
/// observed cells; `None` with fewer than two observations.
pub fn mean_sd(values: &[f64]) -> Option<(f64, f64)> {
    let obs: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if obs.len() < 2 {
        return None;
    }
    let n = obs.len() as f64;
    let mean = obs.iter().sum::<f64>() / n;
    let ss: f64 = obs.iter().map(|x| (x - mean) * (x - mean)).sum();
    Some((mean, (ss / (n - 1.0)).sqrt()))
}

/// Z-score: benefit `z = (x − mean)/sd`, cost `z = (mean − x)/sd`, with the sample sd
/// (ddof = 1). A constant column (sd = 0) or a single observation gives z = 0.
pub fn zscore(values: &[f64], direction: Direction) -> Vec<f64> {
    let stats = mean_sd(values);
    values
        .iter()
        .map(|&x| match stats {
            _ if x.is_nan() => f64::NAN,
            Some((mean, sd)) if sd > 0.0 => match direction {
                Direction::Benefit => (x - mean) / sd,
                Direction::Cost => (mean - x) / sd,
            },
            _ => 0.0,
        })
        .collect()
}

/// Percentile rank in [0, 1], COINr `n_prank`: `z = (r − 1)/(n − 1)` where `r` is the
/// ascending rank of the direction-adjusted value (`x` for benefit, `−x` for cost) among the `n`
/// observed cells and **ties share the lowest rank** (R `rank(ties.method = "min")`), so the worst
/// cell gets 0 and the best 1. A constant column or a single observation gives z = 0.
pub fn percentile_rank(values: &[f64], direction: Direction) -> Vec<f64> {
    let sign = match direction {
        Direction::Benefit => 1.0,
        Direction::Cost => -1.0,
    };
    let mut order: Vec<usize> = (0..values.len()).filter(|&i| !values[i].is_nan()).collect();
    order.sort_by(|&a, &b| (sign * values[a]).total_cmp(&(sign * values[b])));
    let n = order.len();
    let mut z = vec![f64::NAN; values.len()];
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // 0-based rank of the whole tie group = `start` (the lowest).
        let r = if n > 1 {
            start as f64 / (n - 1) as f64
        } else {
            0.0
        };
        for &i in &order[start..end] {
            z[i] = r;
        }
        start = end;
    }
    z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minmax_handles_cost_missing_and_constant() {
        let z = minmax(&[2.0, f64::NAN, 6.0, 4.0], Direction::Cost);
        assert_eq!(z[0], 1.0);
        assert!(z[1].is_nan());
        assert_eq!(z[2], 0.0);
        assert_eq!(z[3], 0.5);
        assert_eq!(minmax(&[3.0, 3.0], Direction::Benefit), vec![0.0, 0.0]);
        assert!(minmax(&[f64::NAN], Direction::Benefit)[0].is_nan());
    }

    #[test]
    fn observed_range_skips_missing_cells_wherever_they_are() {
        let nan = f64::NAN;
        assert_eq!(
            observed_range(&[nan, 2.0, -1.0, nan, 5.0]),
            Some((-1.0, 5.0))
        );
        assert_eq!(observed_range(&[4.0, nan]), Some((4.0, 4.0)));
        assert_eq!(observed_range(&[nan, nan]), None);
        assert_eq!(observed_range(&[]), None);
        assert!(is_constant(&[nan, 3.0, 3.0]) && is_constant(&[nan]));
        assert!(!is_constant(&[3.0, nan, 3.5]));
        // every length around the four lanes, extremes in every position, missing cells
        let cells = [3.5, nan, -2.0, 7.25, nan, 1.0, 0.5, -2.0, 9.0, 4.0, nan];
        for len in 0..=cells.len() {
            for rot in 0..len {
                let mut v = cells[..len].to_vec();
                v.rotate_left(rot);
                let (got, want) = (observed_range(&v), observed_range_in_order(&v));
                assert_eq!(
                    got.map(|(a, b)| (a.to_bits(), b.to_bits())),
                    want.map(|(a, b)| (a.to_bits(), b.to_bits())),
                    "{v:?}"
                );
            }
        }
        // a zero extreme is the one (−0 or +0) that the cells give in order
        for v in [
            [0.0, -0.0, 1.0, 2.0, 3.0],
            [-0.0, 0.0, 1.0, 2.0, 3.0],
            [-1.0, -0.0, 0.0, nan, -3.0],
        ] {
            let (got, want) = (observed_range(&v), observed_range_in_order(&v));
            assert_eq!(
                got.map(|(a, b)| (a.to_bits(), b.to_bits())),
                want.map(|(a, b)| (a.to_bits(), b.to_bits()))
            );
        }
    }

    #[test]
    fn zscore_uses_sample_sd_and_flips_cost() {
        // mean 2, sample sd 1
        let z = zscore(&[1.0, 2.0, 3.0], Direction::Cost);
        assert_eq!(z, vec![1.0, 0.0, -1.0]);
        assert_eq!(zscore(&[5.0, 5.0], Direction::Benefit), vec![0.0, 0.0]);
    }

    #[test]
    fn percentile_rank_gives_ties_the_lowest_rank() {
        let z = percentile_rank(&[10.0, 30.0, 20.0, 20.0, f64::NAN], Direction::Benefit);
        assert_eq!(&z[..4], &[0.0, 1.0, 1.0 / 3.0, 1.0 / 3.0]);
        assert!(z[4].is_nan());
        let c = percentile_rank(&[10.0, 30.0, 20.0], Direction::Cost);
        assert_eq!(c, vec![1.0, 0.0, 0.5]);
        assert_eq!(
            percentile_rank(&[1.0, 1.0], Direction::Cost),
            vec![0.0, 0.0]
        );
    }
}
