//! Variance-based sensitivity indices from a Saltelli design.
//!
//! Owns: the estimators. A design has two independent sample matrices A and B (N rows each) and,
//! for each of the k inputs, the matrix A_B^i — A with input i taken from B — so a model is run
//! N(k + 2) times. Must not: sample or run the model (the caller does).

use serde::Serialize;

/// First- and total-order index of one input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SobolIndex {
    pub first_order: f64,
    pub total_order: f64,
}

/// Estimate the indices from the model outputs `f_a`, `f_b` (N each) and `f_ab[i]` (N each, the
/// runs of A_B^i):
/// - first order, Saltelli et al. (2010) eq. (b): `S_i = (1/N) Σ_j f(B)_j (f(A_B^i)_j − f(A)_j) / V`;
/// - total order, Jansen (1999): `S_Ti = (1/2N) Σ_j (f(A)_j − f(A_B^i)_j)² / V`;
///
/// with `V` the variance (ddof = 0) of the 2N outputs of A and B together — the same
/// conventions as SALib `sobol.analyze`. With `V = 0` (the output never changes) every index
/// is NaN.
pub fn sobol_indices(f_a: &[f64], f_b: &[f64], f_ab: &[Vec<f64>]) -> Vec<SobolIndex> {
    let n = f_a.len() as f64;
    let all = || f_a.iter().chain(f_b);
    let mean = all().sum::<f64>() / (2.0 * n);
    let var = all().map(|y| (y - mean) * (y - mean)).sum::<f64>() / (2.0 * n);
    f_ab.iter()
        .map(|f_i| {
            let (mut first, mut total) = (0.0, 0.0);
            for ((a, b), ab) in f_a.iter().zip(f_b).zip(f_i) {
                first += b * (ab - a);
                total += (a - ab) * (a - ab);
            }
            if var > 0.0 {
                SobolIndex {
                    first_order: first / n / var,
                    total_order: total / (2.0 * n) / var,
                }
            } else {
                SobolIndex {
                    first_order: f64::NAN,
                    total_order: f64::NAN,
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::stats::SplitMix64;

    /// Ishigami & Homma (1990): `f = sin x₁ + a sin² x₂ + b x₃⁴ sin x₁` on [−π, π]³; with
    /// a = 7, b = 0.1 the exact indices are S = (0.3139, 0.4424, 0), S_T = (0.5576, 0.4424,
    /// 0.2437) (Sobol' & Levitan 1999).
    fn ishigami(x: [f64; 3]) -> f64 {
        x[0].sin() + 7.0 * x[1].sin().powi(2) + 0.1 * x[2].powi(4) * x[0].sin()
    }

    #[test]
    fn ishigami_indices_converge_to_the_analytic_values() {
        let pi = std::f64::consts::PI;
        let mut rng = SplitMix64::new(42);
        let n = 200_000;
        let mut draw = || -> [f64; 3] { [0; 3].map(|_| -pi + 2.0 * pi * rng.uniform()) };
        let a: Vec<[f64; 3]> = (0..n).map(|_| draw()).collect();
        let b: Vec<[f64; 3]> = (0..n).map(|_| draw()).collect();
        let f_a: Vec<f64> = a.iter().map(|&x| ishigami(x)).collect();
        let f_b: Vec<f64> = b.iter().map(|&x| ishigami(x)).collect();
        let f_ab: Vec<Vec<f64>> = (0..3)
            .map(|i| {
                a.iter()
                    .zip(&b)
                    .map(|(&ra, rb)| {
                        let mut x = ra;
                        x[i] = rb[i];
                        ishigami(x)
                    })
                    .collect()
            })
            .collect();
        let got = sobol_indices(&f_a, &f_b, &f_ab);
        // Analytic values: V = a²/8 + b π⁴/5 + b² π⁸/18 + 1/2, V1 = (1 + b π⁴/5)²/2, V2 = a²/8,
        // V13 = b² π⁸ (1/18 − 1/50).
        let (aa, bb) = (7.0f64, 0.1f64);
        let p4 = pi.powi(4);
        let p8 = pi.powi(8);
        let v = aa * aa / 8.0 + bb * p4 / 5.0 + bb * bb * p8 / 18.0 + 0.5;
        let v1 = (1.0 + bb * p4 / 5.0).powi(2) / 2.0;
        let v2 = aa * aa / 8.0;
        let v13 = bb * bb * p8 * (1.0 / 18.0 - 1.0 / 50.0);
        let exact = [(v1 / v, (v1 + v13) / v), (v2 / v, v2 / v), (0.0, v13 / v)];
        for (g, (s, st)) in got.iter().zip(exact) {
            // Monte Carlo error of the estimators at N = 200,000 is below 0.01.
            assert!((g.first_order - s).abs() < 0.01, "{g:?} vs S = {s}");
            assert!((g.total_order - st).abs() < 0.01, "{g:?} vs S_T = {st}");
        }
    }

    #[test]
    fn a_constant_output_has_undefined_indices() {
        let got = sobol_indices(&[1.0, 1.0], &[1.0, 1.0], &[vec![1.0, 1.0]]);
        assert!(got[0].first_order.is_nan() && got[0].total_order.is_nan());
    }
}
