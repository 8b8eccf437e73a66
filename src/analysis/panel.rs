//! Panel β-convergence: ln(S_i,t+1 / S_i,t) = α + β·ln S_i,t + γ'c_i,t + μ_i + η_t + ε_i,t,
//! estimated with region fixed effects (the within estimator) and year dummies, with standard
//! errors clustered by region exactly as Stata's `xtreg y x i.year, fe vce(cluster region)`.
//!
//! Conventions (stated on the methodology page and in `docs/method.md`):
//! - the within transformation subtracts each region's mean from y and from every regressor
//!   (the year dummies included); the constant Stata reports is not needed for β;
//! - year dummies for every start year but the first (the base);
//! - CR1 cluster-robust covariance V = c·(X̃'X̃)⁻¹ [Σ_g X̃_g' e_g e_g' X̃_g] (X̃'X̃)⁻¹ with
//!   c = G/(G − 1)·(N − 1)/(N − K), K = the estimated coefficients including the year dummies
//!   and the constant but not the absorbed region effects (Stata's count for `xtreg, fe`);
//! - t = b/se with a two-sided p from the t distribution with G − 1 degrees of freedom;
//! - within R² = 1 − RSS/Σ ỹ² (Stata's "R-sq within", year dummies in the model);
//! - convergence speed λ = −ln(1 + β) per year, undefined for β ≤ −1.

use serde::Serialize;

use super::AnalysisError;
use super::stats::{invert, two_sided_t_p};

/// One transition of one region: growth y = ln(S_t+1/S_t), regressor x = ln S_t, the controls
/// at t, and the start year t.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub region: usize,
    pub year: i32,
    pub growth: f64,
    pub log_level: f64,
    pub controls: Vec<f64>,
}

/// One estimated coefficient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coefficient {
    pub coef: f64,
    pub se: f64,
    pub t: f64,
    pub p: f64,
}

/// The fixed-effects estimate: β, then one coefficient per control (in the given order).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PanelBeta {
    pub beta: Coefficient,
    pub controls: Vec<Coefficient>,
    /// λ = −ln(1 + β) per year; `None` for β ≤ −1.
    pub speed: Option<f64>,
    pub n_obs: usize,
    pub n_regions: usize,
    pub r2_within: f64,
}

/// Estimate the two-way fixed-effects β-convergence regression on `obs` (see the module doc).
/// Errors: fewer than two regions, no residual degrees of freedom, or collinear regressors.
pub fn panel_beta(obs: &[Transition]) -> Result<PanelBeta, AnalysisError> {
    const WHAT: &str = "panel β-convergence";
    let mut regions: Vec<usize> = obs.iter().map(|o| o.region).collect();
    regions.sort_unstable();
    regions.dedup();
    let mut years: Vec<i32> = obs.iter().map(|o| o.year).collect();
    years.sort_unstable();
    years.dedup();
    let n_controls = obs.first().map_or(0, |o| o.controls.len());
    // Regressors: ln S_t, the controls, one dummy per start year after the first.
    let p = 1 + n_controls + years.len().saturating_sub(1);
    let n = obs.len();
    let k = p + 1;
    if regions.len() < 2 {
        return Err(AnalysisError::TooFew {
            what: "panel β-convergence (regions)",
            needed: 2,
            found: regions.len(),
        });
    }
    if n <= k {
        return Err(AnalysisError::TooFew {
            what: "panel β-convergence (observations beyond the coefficients)",
            needed: k + 1,
            found: n,
        });
    }
    let row = |o: &Transition| -> Vec<f64> {
        let mut r = Vec::with_capacity(p);
        r.push(o.log_level);
        r.extend(&o.controls);
        r.extend(years[1..].iter().map(|y| f64::from(u8::from(*y == o.year))));
        r
    };
    let mut x: Vec<Vec<f64>> = obs.iter().map(row).collect();
    let mut y: Vec<f64> = obs.iter().map(|o| o.growth).collect();
    super::check_finite(WHAT, &y)?;
    super::check_finite(WHAT, &x.concat())?;
    // Within transformation: subtract each region's means.
    let cluster: Vec<usize> = obs
        .iter()
        .map(|o| regions.binary_search(&o.region).unwrap_or_default())
        .collect();
    let g = regions.len();
    let mut sums = vec![(0usize, 0.0, vec![0.0; p]); g];
    for ((c, yi), xi) in cluster.iter().zip(&y).zip(&x) {
        let s = &mut sums[*c];
        s.0 += 1;
        s.1 += yi;
        s.2.iter_mut().zip(xi).for_each(|(a, b)| *a += b);
    }
    for ((c, yi), xi) in cluster.iter().zip(y.iter_mut()).zip(x.iter_mut()) {
        let (count, sy, sx) = &sums[*c];
        let m = *count as f64;
        *yi -= sy / m;
        xi.iter_mut().zip(sx).for_each(|(a, b)| *a -= b / m);
    }
    let mut xtx = vec![vec![0.0; p]; p];
    let mut xty = vec![0.0; p];
    for (xi, yi) in x.iter().zip(&y) {
        for a in 0..p {
            xty[a] += xi[a] * yi;
            for b in 0..p {
                xtx[a][b] += xi[a] * xi[b];
            }
        }
    }
    let inv = invert(&xtx).ok_or(AnalysisError::Constant {
        what: "panel β-convergence (collinear regressors after the within transformation)",
    })?;
    let b: Vec<f64> = (0..p)
        .map(|a| (0..p).map(|c| inv[a][c] * xty[c]).sum())
        .collect();
    let e: Vec<f64> = x
        .iter()
        .zip(&y)
        .map(|(xi, yi)| yi - xi.iter().zip(&b).map(|(a, c)| a * c).sum::<f64>())
        .collect();
    let rss: f64 = e.iter().map(|v| v * v).sum();
    let tss: f64 = y.iter().map(|v| v * v).sum();
    // Meat: Σ_g u_g u_g' with u_g = Σ_{i ∈ g} x̃_i e_i.
    let mut u = vec![vec![0.0; p]; g];
    for ((c, xi), ei) in cluster.iter().zip(&x).zip(&e) {
        u[*c].iter_mut().zip(xi).for_each(|(a, b)| *a += b * ei);
    }
    let mut meat = vec![vec![0.0; p]; p];
    for ug in &u {
        for a in 0..p {
            for c in 0..p {
                meat[a][c] += ug[a] * ug[c];
            }
        }
    }
    let (gf, nf, kf) = (g as f64, n as f64, k as f64);
    let factor = gf / (gf - 1.0) * (nf - 1.0) / (nf - kf);
    let sandwich_diag = |a: usize| -> f64 {
        let mut v = 0.0;
        for r in 0..p {
            for c in 0..p {
                v += inv[a][r] * meat[r][c] * inv[c][a];
            }
        }
        factor * v
    };
    let coefficient = |a: usize| {
        let se = sandwich_diag(a).max(0.0).sqrt();
        let t = b[a] / se;
        Coefficient {
            coef: b[a],
            se,
            t,
            p: two_sided_t_p(t, gf - 1.0),
        }
    };
    let beta = coefficient(0);
    Ok(PanelBeta {
        speed: (beta.coef > -1.0).then(|| -(1.0 + beta.coef).ln()),
        beta,
        controls: (1..=n_controls).map(coefficient).collect(),
        n_obs: n,
        n_regions: g,
        r2_within: if tss > 0.0 { 1.0 - rss / tss } else { 0.0 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(region: usize, year: i32, growth: f64, log_level: f64) -> Transition {
        Transition {
            region,
            year,
            growth,
            log_level,
            controls: Vec::new(),
        }
    }

    #[test]
    fn one_period_per_region_pair_by_hand() {
        // Two regions, two start years: after region and year effects one residual degree of
        // freedom is gone per region and per year; with y = −0.5 x exactly, β = −0.5 and the
        // residuals vanish.
        let obs = [
            t(0, 2020, -0.5, 1.0),
            t(0, 2021, -1.0, 2.0),
            t(0, 2022, -2.0, 4.0),
            t(1, 2020, -1.5, 3.0),
            t(1, 2021, -0.25, 0.5),
            t(1, 2022, -0.5, 1.0),
        ];
        let r = panel_beta(&obs).unwrap();
        assert!((r.beta.coef + 0.5).abs() < 1e-12, "{r:?}");
        assert!(r.beta.se.abs() < 1e-9);
        assert!((r.r2_within - 1.0).abs() < 1e-12);
        assert!((r.speed.unwrap() - 2f64.ln()).abs() < 1e-12);
        assert_eq!((r.n_obs, r.n_regions), (6, 2));
    }

    #[test]
    fn too_few_regions_or_observations_are_errors() {
        let err = panel_beta(&[t(0, 2020, 0.1, 1.0), t(0, 2021, 0.2, 2.0)]).unwrap_err();
        assert_eq!(err.code(), "analysis.too_few");
        let err = panel_beta(&[t(0, 2020, 0.1, 1.0), t(1, 2020, 0.2, 2.0)]).unwrap_err();
        assert_eq!(err.code(), "analysis.too_few");
    }
}
