//! Spatial autocorrelation: global Moran's I and local Moran (LISA) with row-standardised
//! weights (contiguity, distance, economic or a user matrix: see [`super::weights`]),
//! following PySAL `esda` (`Moran`, `Moran_Local`) exactly for the analytic parts.
//!
//! Conventions:
//! - Contiguity weights: w_ij = 1/k_i for the k_i neighbours of region i (row-standardised).
//!   A region without neighbours (an "island" in PySAL) gets an all-zero row: its spatial lag
//!   is 0, it still counts in n, and S0 = Σ w_ij = n − #islands.
//! - Regions missing a value in a year are dropped for that year before the weights are built,
//!   so neighbours are re-normalised over the regions present.
//! - Permutation p-values use a seeded SplitMix64 generator: reproducible, but not PySAL's
//!   numpy stream, so they agree with `esda` only up to Monte-Carlo noise. The pseudo p-value is
//!   esda's folded one: with `larger = #{sim ≥ observed}`, if `permutations − larger < larger`
//!   then `larger = permutations − larger`; `p = (larger + 1)/(permutations + 1)`.
//! - LISA of an island: I_i = 0 (lag 0) and p = `None` (esda would report 1/(permutations+1),
//!   an artefact of every simulated value being 0).

use serde::Serialize;

use super::stats::{SplitMix64, mean, sd, two_sided_normal_p};
use super::{Adjacency, AnalysisError};

/// Row-standardised spatial weights over an ordered list of regions: per region, its
/// neighbours (indices, ascending) with their weights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpatialWeights {
    neighbors: Vec<Vec<(usize, f64)>>,
}

impl SpatialWeights {
    /// Weights for `regions` (in this order) from `adjacency`; neighbours outside `regions`
    /// are ignored.
    pub fn from_adjacency(regions: &[impl AsRef<str>], adjacency: &Adjacency) -> Self {
        let index: std::collections::HashMap<&str, usize> = regions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.as_ref(), i))
            .collect();
        let neighbors = regions
            .iter()
            .map(|r| {
                adjacency
                    .neighbors(r.as_ref())
                    .filter_map(|nb| index.get(nb).copied())
                    .collect()
            })
            .collect();
        Self::from_neighbor_lists(neighbors)
    }

    /// Binary contiguity from neighbour index lists (must be symmetric), row-standardised:
    /// w_ij = 1/k_i.
    pub fn from_neighbor_lists(neighbors: Vec<Vec<usize>>) -> Self {
        Self {
            neighbors: neighbors
                .into_iter()
                .map(|mut list| {
                    list.sort_unstable();
                    let k = list.len() as f64;
                    list.into_iter().map(|j| (j, 1.0 / k)).collect()
                })
                .collect(),
        }
    }

    /// From rows of `(neighbour index, weight)` that are already row-standardised (each row
    /// sums to 1, or is empty for an island).
    pub(crate) fn from_standardised_rows(mut rows: Vec<Vec<(usize, f64)>>) -> Self {
        rows.iter_mut().for_each(|r| r.sort_by_key(|(j, _)| *j));
        Self { neighbors: rows }
    }

    pub fn len(&self) -> usize {
        self.neighbors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.neighbors.is_empty()
    }

    /// Indices of regions without neighbours.
    pub fn islands(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|i| self.neighbors[*i].is_empty())
            .collect()
    }

    /// The neighbours of region `i` with their weights.
    pub fn row(&self, i: usize) -> &[(usize, f64)] {
        &self.neighbors[i]
    }

    /// Spatial lag Σ_j w_ij z_j (0 for islands: +0, where an empty f64 sum would give −0).
    pub fn lag(&self, z: &[f64]) -> Vec<f64> {
        self.neighbors
            .iter()
            .map(|nb| nb.iter().fold(0.0, |acc, (j, w)| acc + w * z[*j]))
            .collect()
    }

    fn dense(&self) -> Vec<Vec<f64>> {
        let n = self.len();
        let mut w = vec![vec![0.0; n]; n];
        for (i, nb) in self.neighbors.iter().enumerate() {
            for (j, wij) in nb {
                w[i][*j] = *wij;
            }
        }
        w
    }

    /// (S0, S1, S2) as in libpysal: S0 = Σ w_ij, S1 = ½ Σ (w_ij + w_ji)², S2 = Σ_i (w_i· + w_·i)².
    fn moments(&self) -> (f64, f64, f64) {
        let w = self.dense();
        let s0: f64 = w.iter().flatten().sum();
        let mut s1 = 0.0;
        let mut s2 = 0.0;
        for (i, row) in w.iter().enumerate() {
            let column: f64 = w.iter().map(|r| r[i]).sum();
            s2 += (row.iter().sum::<f64>() + column).powi(2);
            for (j, wij) in row.iter().enumerate() {
                s1 += (wij + w[j][i]).powi(2);
            }
        }
        (s0, s1 / 2.0, s2)
    }
}

/// Global Moran's I with inference under the normality assumption and by permutation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Moran {
    pub i: f64,
    /// E[I] = −1/(n − 1).
    pub expected_i: f64,
    /// Var[I] under normality: (n² S1 − n S2 + 3 S0²)/((n² − 1) S0²) − E[I]².
    pub variance_norm: f64,
    pub z_norm: f64,
    /// Two-sided p of `z_norm`.
    pub p_norm: f64,
    /// Folded pseudo p-value (see the module doc); `None` with 0 permutations.
    pub p_perm: Option<f64>,
    pub n: usize,
}

/// I = (n/S0) · Σ_ij w_ij z_i z_j / Σ z_i², z = y − ȳ.
pub fn moran(
    values: &[f64],
    w: &SpatialWeights,
    permutations: usize,
    seed: u64,
) -> Result<Moran, AnalysisError> {
    let n = check("Moran's I", values, w)?;
    let nf = n as f64;
    let m = mean(values);
    let z: Vec<f64> = values.iter().map(|v| v - m).collect();
    let z2ss: f64 = z.iter().map(|v| v * v).sum();
    let (s0, s1, s2) = w.moments();
    let calc = |z: &[f64]| {
        let lag = w.lag(z);
        nf / s0 * z.iter().zip(&lag).map(|(a, b)| a * b).sum::<f64>() / z2ss
    };
    let i = calc(&z);
    let expected_i = -1.0 / (nf - 1.0);
    let variance_norm = (nf * nf * s1 - nf * s2 + 3.0 * s0 * s0)
        / ((nf - 1.0) * (nf + 1.0) * s0 * s0)
        - expected_i * expected_i;
    let z_norm = (i - expected_i) / variance_norm.sqrt();
    let p_perm = (permutations > 0).then(|| {
        let mut rng = SplitMix64::new(seed);
        let mut perm = z.clone();
        let larger = (0..permutations)
            .filter(|_| {
                rng.shuffle(&mut perm);
                calc(&perm) >= i
            })
            .count();
        folded_p(larger, permutations)
    });
    Ok(Moran {
        i,
        expected_i,
        variance_norm,
        z_norm,
        p_norm: two_sided_normal_p(z_norm),
        p_perm,
        n,
    })
}

/// Moran scatterplot quadrant of a region: its own standardised value (High > 0, else Low)
/// and its spatial lag (High > 0, else Low), in esda's order HH = 1, LH = 2, LL = 3, HL = 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Quadrant {
    HH,
    LH,
    LL,
    HL,
}

impl Quadrant {
    pub fn as_str(self) -> &'static str {
        match self {
            Quadrant::HH => "HH",
            Quadrant::LH => "LH",
            Quadrant::LL => "LL",
            Quadrant::HL => "HL",
        }
    }
}

/// One region's local Moran statistic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalMoran {
    pub local_i: f64,
    pub quadrant: Quadrant,
    /// Conditional-permutation folded pseudo p-value; `None` for islands or 0 permutations.
    pub p_perm: Option<f64>,
}

/// Local Moran I_i = (n − 1) z_i Σ_j w_ij z_j / Σ_k z_k², z standardised with the population
/// sd (esda `Moran_Local`). The conditional permutation keeps z_i fixed and draws its k_i
/// neighbours' values at random, without replacement, from the other n − 1 regions, weighting
/// them with i's own weights in order (esda's `crand`).
pub fn local_moran(
    values: &[f64],
    w: &SpatialWeights,
    permutations: usize,
    seed: u64,
) -> Result<Vec<LocalMoran>, AnalysisError> {
    let n = check("local Moran", values, w)?;
    let m = mean(values);
    let s = sd(values, 0);
    let z: Vec<f64> = values.iter().map(|v| (v - m) / s).collect();
    let den: f64 = z.iter().map(|v| v * v).sum();
    let scale = (n - 1) as f64 / den;
    let lag = w.lag(&z);
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let local_i = scale * z[i] * lag[i];
        let quadrant = match (z[i] > 0.0, lag[i] > 0.0) {
            (true, true) => Quadrant::HH,
            (false, true) => Quadrant::LH,
            (false, false) => Quadrant::LL,
            (true, false) => Quadrant::HL,
        };
        let k = w.neighbors[i].len();
        let p_perm = (permutations > 0 && k > 0).then(|| {
            let mut pool: Vec<usize> = (0..n).filter(|j| *j != i).collect();
            let larger = (0..permutations)
                .filter(|_| {
                    // Partial Fisher–Yates: the first k entries become a uniform k-subset.
                    for t in 0..k {
                        let j = t + rng.below(pool.len() - t);
                        pool.swap(t, j);
                    }
                    let sim_lag: f64 = pool[..k]
                        .iter()
                        .zip(&w.neighbors[i])
                        .map(|(j, (_, wij))| wij * z[*j])
                        .sum();
                    scale * z[i] * sim_lag >= local_i
                })
                .count();
            folded_p(larger, permutations)
        });
        out.push(LocalMoran {
            local_i,
            quadrant,
            p_perm,
        });
    }
    Ok(out)
}

fn folded_p(larger: usize, permutations: usize) -> f64 {
    let larger = larger.min(permutations - larger);
    (larger as f64 + 1.0) / (permutations as f64 + 1.0)
}

fn check(what: &'static str, values: &[f64], w: &SpatialWeights) -> Result<usize, AnalysisError> {
    let n = values.len();
    if n < 3 || w.len() != n {
        return Err(AnalysisError::TooFew {
            what,
            needed: 3,
            found: n.min(w.len()),
        });
    }
    let neighbours = w.neighbors.iter().map(Vec::len).sum::<usize>();
    if neighbours == 0 {
        return Err(AnalysisError::TooFew {
            what: "spatial weights (neighbour links)",
            needed: 1,
            found: 0,
        });
    }
    super::check_finite(what, values)?;
    if values.iter().all(|v| *v == values[0]) {
        return Err(AnalysisError::Constant { what });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A path 0 – 1 – 2 – 3.
    fn path4() -> SpatialWeights {
        SpatialWeights::from_neighbor_lists(vec![vec![1], vec![0, 2], vec![1, 3], vec![2]])
    }

    #[test]
    fn moran_on_a_path_by_hand() {
        // y = 1, 2, 3, 4 → z = −1.5, −0.5, 0.5, 1.5, Σz² = 5; lag = −0.5, −0.5, 0.5, 0.5.
        // Σ z·lag = 0.75 + 0.25 + 0.25 + 0.75 = 2; S0 = 4 → I = 4/4 · 2/5 = 0.4.
        let m = moran(&[1.0, 2.0, 3.0, 4.0], &path4(), 0, 1).unwrap();
        assert!((m.i - 0.4).abs() < 1e-15);
        assert!((m.expected_i + 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(m.p_perm, None);
        // Row-standardised path: S1 = ½ Σ (w_ij + w_ji)² = ½·2·(1.5² + 1² + 1.5²) = 5.5,
        // S2 = Σ_i (1 + w_·i)² with column sums 0.5, 1.5, 1.5, 0.5 → 2.25 + 6.25 + 6.25 + 2.25.
        let v = (16.0 * 5.5 - 4.0 * 17.0 + 3.0 * 16.0) / (15.0 * 16.0) - 1.0 / 9.0;
        assert!((m.variance_norm - v).abs() < 1e-14);
    }

    #[test]
    fn local_moran_on_a_path_by_hand() {
        let l = local_moran(&[1.0, 2.0, 3.0, 4.0], &path4(), 99, 7).unwrap();
        // z / sd: sd = √1.25; I_0 = 3 · z_0 · lag_0 / Σz² with standardised z (Σz² = 4).
        let s = 1.25f64.sqrt();
        let want0 = 3.0 * (-1.5 / s) * (-0.5 / s) / 4.0;
        assert!((l[0].local_i - want0).abs() < 1e-15);
        assert_eq!(l[0].quadrant, Quadrant::LL);
        assert_eq!(l[3].quadrant, Quadrant::HH);
        assert_eq!(l[1].quadrant, Quadrant::LL);
        assert_eq!(l[2].quadrant, Quadrant::HH);
        for r in &l {
            let p = r.p_perm.unwrap();
            assert!(p > 0.0 && p <= 0.5 + 1e-12, "{p}");
        }
    }

    #[test]
    fn permutations_are_seeded_and_islands_have_no_p() {
        let w = SpatialWeights::from_neighbor_lists(vec![vec![1], vec![0, 2], vec![1], vec![]]);
        let y = [3.0, 5.0, 4.0, 10.0];
        let a = moran(&y, &w, 999, 42).unwrap();
        let b = moran(&y, &w, 999, 42).unwrap();
        assert_eq!(a, b);
        let p = a.p_perm.unwrap();
        assert!((0.001..=0.5).contains(&p), "{p}");
        let l = local_moran(&y, &w, 999, 42).unwrap();
        assert_eq!(l[3].p_perm, None);
        assert_eq!(l[3].local_i, 0.0);
        assert_eq!(l[3].quadrant, Quadrant::HL);
        assert_eq!(w.islands(), vec![3]);
    }

    #[test]
    fn constant_and_tiny_inputs_are_errors() {
        let err = moran(&[2.0, 2.0, 2.0, 2.0], &path4(), 9, 1).unwrap_err();
        assert_eq!(err.code(), "analysis.constant");
        let w = SpatialWeights::from_neighbor_lists(vec![vec![], vec![], vec![]]);
        let err = moran(&[1.0, 2.0, 3.0], &w, 9, 1).unwrap_err();
        assert_eq!(err.code(), "analysis.too_few");
    }
}
