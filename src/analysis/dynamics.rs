//! Dynamics of the score distribution over time: Gaussian kernel density per year,
//! σ-convergence (see [`super::inequality::cv`]), absolute β-convergence and a quartile Markov
//! chain.

use serde::Serialize;

use super::AnalysisError;
use super::stats::{mean, quantile_linear, sd, sorted};

/// Number of grid points of a kernel density curve.
pub const KERNEL_POINTS: usize = 128;

/// A kernel density curve on an even grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KernelDensity {
    pub bandwidth: f64,
    pub x: Vec<f64>,
    pub density: Vec<f64>,
}

/// Silverman's rule of thumb h = 0.9·A·n^(−1/5), A = min(sd, IQR/1.34), with the sample
/// standard deviation (ddof = 1) and the IQR from linear-interpolation quantiles (numpy's
/// default). When the IQR is 0 but the sd is not, A = sd (as R's `bw.nrd0`). Constant data
/// (sd = 0) have no density: an error.
pub fn silverman_bandwidth(values: &[f64]) -> Result<f64, AnalysisError> {
    if values.len() < 2 {
        return Err(AnalysisError::TooFew {
            what: "kernel density",
            needed: 2,
            found: values.len(),
        });
    }
    super::check_finite("kernel density", values)?;
    let s = sd(values, 1);
    if s == 0.0 {
        return Err(AnalysisError::Constant {
            what: "kernel density",
        });
    }
    let q = sorted(values);
    let iqr = quantile_linear(&q, 0.75) - quantile_linear(&q, 0.25);
    let a = if iqr > 0.0 { s.min(iqr / 1.34) } else { s };
    Ok(0.9 * a * (values.len() as f64).powf(-0.2))
}

/// Gaussian kernel density f(x) = 1/(n h) Σ φ((x − y_i)/h) at `points` evenly spaced x from
/// min − 3h to max + 3h (both included), h from [`silverman_bandwidth`].
pub fn kernel_density(values: &[f64], points: usize) -> Result<KernelDensity, AnalysisError> {
    let h = silverman_bandwidth(values)?;
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min) - 3.0 * h;
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max) + 3.0 * h;
    let step = (hi - lo) / (points.max(2) - 1) as f64;
    let norm = 1.0 / (values.len() as f64 * h * (2.0 * std::f64::consts::PI).sqrt());
    let x: Vec<f64> = (0..points).map(|k| lo + step * k as f64).collect();
    let density = x
        .iter()
        .map(|xk| {
            norm * values
                .iter()
                .map(|y| {
                    let u = (xk - y) / h;
                    (-0.5 * u * u).exp()
                })
                .sum::<f64>()
        })
        .collect();
    Ok(KernelDensity {
        bandwidth: h,
        x,
        density,
    })
}

/// Absolute β-convergence: OLS of g_i = (ln S_iT − ln S_i0)/T on ln S_i0,
/// g = α + β ln S_0 + ε; β < 0 (significant) means convergence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BetaConvergence {
    pub alpha: Option<f64>,
    pub beta: Option<f64>,
    /// Classical OLS standard error of β, σ̂² = SSR/(n − 2).
    pub se_beta: Option<f64>,
    pub t_beta: Option<f64>,
    pub r2: Option<f64>,
    /// Regions used (both years present and positive).
    pub n: usize,
}

/// Estimate absolute β-convergence from each region's first and last value over `span` years.
/// Pairs with a missing or non-positive value are left out (the log is undefined). Undefined
/// statistics are `None`: α, β need n ≥ 2 distinct initial values; se and t need n ≥ 3 and a
/// non-perfect fit; R² needs varying growth rates.
pub fn beta_convergence(pairs: &[(Option<f64>, Option<f64>)], span: f64) -> BetaConvergence {
    let (x, y): (Vec<f64>, Vec<f64>) = pairs
        .iter()
        .filter_map(|p| match *p {
            (Some(a), Some(b)) if a > 0.0 && b > 0.0 && span > 0.0 => {
                Some((a.ln(), (b.ln() - a.ln()) / span))
            }
            _ => None,
        })
        .unzip();
    let n = x.len();
    let none = BetaConvergence {
        alpha: None,
        beta: None,
        se_beta: None,
        t_beta: None,
        r2: None,
        n,
    };
    if n < 2 {
        return none;
    }
    let (mx, my) = (mean(&x), mean(&y));
    let sxx: f64 = x.iter().map(|v| (v - mx) * (v - mx)).sum();
    if sxx == 0.0 {
        return none;
    }
    let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let beta = sxy / sxx;
    let alpha = my - beta * mx;
    let ssr: f64 = x
        .iter()
        .zip(&y)
        .map(|(a, b)| {
            let e = b - alpha - beta * a;
            e * e
        })
        .sum();
    let sst: f64 = y.iter().map(|b| (b - my) * (b - my)).sum();
    let se = (n > 2).then(|| (ssr / (n - 2) as f64 / sxx).sqrt());
    BetaConvergence {
        alpha: Some(alpha),
        beta: Some(beta),
        se_beta: se,
        t_beta: se.filter(|s| *s > 0.0).map(|s| beta / s),
        r2: (sst > 0.0).then(|| 1.0 - ssr / sst),
        n,
    }
}

/// A four-state Markov chain between quartile classes of the pooled distribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Markov {
    /// Upper bounds of classes 1–3 (the 25/50/75 % quantiles of all region-years, linear
    /// interpolation). Class k holds values ≤ bound k (1 = lowest); class 4 the rest.
    pub bounds: [f64; 3],
    /// `counts[from][to]`, classes 0-based here (1-based in the CSV).
    pub counts: [[u64; 4]; 4],
    /// Row-normalised counts; `None` for a class no region ever left from.
    pub probabilities: [[Option<f64>; 4]; 4],
}

/// The quartile class (0..=3) of `x` given the three class bounds (upper bounds inclusive, as
/// `mapclassify.Quantiles`).
pub fn quartile_class(x: f64, bounds: &[f64; 3]) -> usize {
    bounds.iter().take_while(|b| x > **b).count()
}

/// Transitions year t → t + 1 between quartile classes. `values[year][region]` with years in
/// ascending order; "t + 1" is the next year of the panel (consecutive rows of `values`). A
/// transition needs both values present.
pub fn markov(values: &[Vec<Option<f64>>]) -> Result<Markov, AnalysisError> {
    let pooled: Vec<f64> = values.iter().flatten().flatten().copied().collect();
    if pooled.len() < 2 {
        return Err(AnalysisError::TooFew {
            what: "Markov chain",
            needed: 2,
            found: pooled.len(),
        });
    }
    let s = sorted(&pooled);
    let bounds = [
        quantile_linear(&s, 0.25),
        quantile_linear(&s, 0.5),
        quantile_linear(&s, 0.75),
    ];
    let mut counts = [[0u64; 4]; 4];
    for pair in values.windows(2) {
        for (a, b) in pair[0].iter().zip(&pair[1]) {
            if let (Some(a), Some(b)) = (a, b) {
                counts[quartile_class(*a, &bounds)][quartile_class(*b, &bounds)] += 1;
            }
        }
    }
    let mut probabilities = [[None; 4]; 4];
    for (row, p) in counts.iter().zip(probabilities.iter_mut()) {
        let total: u64 = row.iter().sum();
        if total > 0 {
            for (c, q) in row.iter().zip(p.iter_mut()) {
                *q = Some(*c as f64 / total as f64);
            }
        }
    }
    Ok(Markov {
        bounds,
        counts,
        probabilities,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta_by_hand() {
        // ln S_0 = 0, 1, 2 and yearly growth g = ln 2, 0.1, 0 over T = 4 years.
        let x: [f64; 3] = [0.0, 1.0, 2.0];
        let g = [2f64.ln(), 0.1, 0.0];
        let pairs: Vec<_> = x
            .iter()
            .zip(&g)
            .map(|(x, g)| (Some(x.exp()), Some((x + 4.0 * g).exp())))
            .collect();
        let b = beta_convergence(&pairs, 4.0);
        // OLS by hand: x̄ = 1, Sxx = 2, β = Σ(x − x̄)(g − ḡ)/Sxx = (g_3 − g_1)/2.
        let gbar = (g[0] + g[1] + g[2]) / 3.0;
        let beta = (g[2] - g[0]) / 2.0;
        let alpha = gbar - beta;
        assert!((b.beta.unwrap() - beta).abs() < 1e-12);
        assert!((b.alpha.unwrap() - alpha).abs() < 1e-12);
        let ssr: f64 = (0..3).map(|i| (g[i] - alpha - beta * x[i]).powi(2)).sum();
        let sst: f64 = g.iter().map(|v| (v - gbar).powi(2)).sum();
        let se = (ssr / 1.0 / 2.0).sqrt();
        assert!((b.se_beta.unwrap() - se).abs() < 1e-12);
        assert!((b.t_beta.unwrap() - beta / se).abs() < 1e-9);
        assert!((b.r2.unwrap() - (1.0 - ssr / sst)).abs() < 1e-12);
        assert_eq!(b.n, 3);
    }

    #[test]
    fn beta_degenerate_cases_are_none_not_nan() {
        let b = beta_convergence(&[(Some(1.0), Some(2.0)), (Some(0.0), Some(1.0))], 5.0);
        assert_eq!(b.n, 1);
        assert_eq!(b.beta, None);
        let b = beta_convergence(&[(Some(1.0), Some(2.0)), (Some(2.0), Some(3.0))], 5.0);
        assert_eq!(b.n, 2);
        assert!(b.beta.is_some());
        assert_eq!(b.se_beta, None);
        let b = beta_convergence(&[(Some(3.0), Some(4.0)), (Some(3.0), None)], 5.0);
        assert_eq!((b.n, b.alpha), (1, None));
    }

    #[test]
    fn markov_counts_by_hand() {
        // Pooled {1, 2, 3, 4, 5, 7, 8}: bounds at positions 1.5, 3, 4.5 → 2.5, 4, 6.
        let v = vec![
            vec![Some(1.0), Some(5.0), Some(7.0), None],
            vec![Some(3.0), Some(4.0), Some(8.0), Some(2.0)],
        ];
        let m = markov(&v).unwrap();
        assert_eq!(m.bounds, [2.5, 4.0, 6.0]);
        assert_eq!(m.counts[0][1], 1); // 1 → 3
        assert_eq!(m.counts[2][1], 1); // 5 → 4
        assert_eq!(m.counts[3][3], 1); // 7 → 8
        assert_eq!(m.counts.iter().flatten().sum::<u64>(), 3);
        assert_eq!(m.probabilities[1], [None; 4]);
        assert_eq!(m.probabilities[0][1], Some(1.0));
        assert_eq!(quartile_class(2.5, &m.bounds), 0, "bounds are inclusive");
    }

    #[test]
    fn kernel_integrates_to_about_one_and_rejects_constants() {
        let k = kernel_density(&[1.0, 2.0, 4.0, 8.0, 9.0], KERNEL_POINTS).unwrap();
        assert_eq!(k.x.len(), KERNEL_POINTS);
        let step = k.x[1] - k.x[0];
        let area: f64 = k.density.iter().sum::<f64>() * step;
        assert!((area - 1.0).abs() < 0.01, "{area}");
        let err = kernel_density(&[3.0, 3.0, 3.0], KERNEL_POINTS).unwrap_err();
        assert_eq!(err.code(), "analysis.constant");
        // IQR = 0 but sd > 0: falls back to the sd.
        let h = silverman_bandwidth(&[1.0, 1.0, 1.0, 1.0, 5.0]).unwrap();
        assert!((h - 0.9 * sd(&[1.0, 1.0, 1.0, 1.0, 5.0], 1) * 5f64.powf(-0.2)).abs() < 1e-15);
    }
}
