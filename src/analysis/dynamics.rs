//! Dynamics of the score distribution over time: Gaussian kernel density per year,
//! σ-convergence (see [`super::inequality::cv`]), absolute β-convergence (panel β with fixed
//! effects is [`super::panel`]), a quartile Markov chain with its steady state, on absolute or
//! relative (÷ the year's mean) values, and the spatial Markov chain of Rey (2001).

use serde::Serialize;

use super::AnalysisError;
use super::spatial::SpatialWeights;
use super::stats::{invert, mean, quantile_linear, sd, sorted};

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
    Ok(Markov {
        bounds,
        probabilities: row_probabilities(&counts),
        counts,
    })
}

/// Counts divided by their row totals; `None` for a row without observations.
fn row_probabilities(counts: &[[u64; 4]; 4]) -> [[Option<f64>; 4]; 4] {
    counts.map(|row| {
        let total: u64 = row.iter().sum();
        row.map(|c| (total > 0).then(|| c as f64 / total as f64))
    })
}

/// Each year's values divided by that year's mean over the regions present (relative classes:
/// a region's standing against the national average, not its absolute level). A year whose
/// mean is 0 has no relative values.
pub fn relative_to_year_mean(values: &[Vec<Option<f64>>]) -> Vec<Vec<Option<f64>>> {
    values
        .iter()
        .map(|year| {
            let present: Vec<f64> = year.iter().flatten().copied().collect();
            let m = if present.is_empty() {
                0.0
            } else {
                mean(&present)
            };
            year.iter()
                .map(|v| v.filter(|_| m != 0.0).map(|v| v / m))
                .collect()
        })
        .collect()
}

/// Why a chain has no unique steady state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum NoSteadyState {
    /// A class that no region ever left from (1-based): its row of P is empty.
    EmptyRow(usize),
    /// More than one closed class (1-based class numbers of each).
    ClosedClasses(Vec<Vec<usize>>),
}

impl std::fmt::Display for NoSteadyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoSteadyState::EmptyRow(c) => {
                write!(
                    f,
                    "class {c} has no observed transitions, so P is not stochastic"
                )
            }
            NoSteadyState::ClosedClasses(cs) => {
                let list: Vec<String> = cs
                    .iter()
                    .map(|c| {
                        let v: Vec<String> = c.iter().map(ToString::to_string).collect();
                        format!("{{{}}}", v.join(", "))
                    })
                    .collect();
                write!(
                    f,
                    "{} closed classes ({}), so the steady state is not unique",
                    cs.len(),
                    list.join(", ")
                )
            }
        }
    }
}

/// The steady-state distribution π = πP, Σπ = 1 of a row-stochastic matrix, when unique: the
/// chain must have exactly one closed communicating class (states outside it are transient and
/// get π = 0). On the closed class C, π_C solves (P_CC' − I)π_C = 0 with one equation replaced
/// by Σπ_C = 1 (the rows of P' − I sum to zero, so any one of them is redundant).
pub fn steady_state(p: &[[Option<f64>; 4]; 4]) -> Result<[f64; 4], NoSteadyState> {
    let mut m = [[0.0; 4]; 4];
    for (i, row) in p.iter().enumerate() {
        if row.iter().all(Option::is_none) {
            return Err(NoSteadyState::EmptyRow(i + 1));
        }
        for (j, v) in row.iter().enumerate() {
            m[i][j] = v.unwrap_or(0.0);
        }
    }
    // reach[i][j]: j reachable from i (transitive closure, Warshall).
    let mut reach = [[false; 4]; 4];
    for (i, row) in reach.iter_mut().enumerate() {
        row[i] = true;
        for (r, p) in row.iter_mut().zip(&m[i]) {
            *r |= *p > 0.0;
        }
    }
    for k in 0..4 {
        for i in 0..4 {
            for j in 0..4 {
                reach[i][j] |= reach[i][k] && reach[k][j];
            }
        }
    }
    let mut closed: Vec<Vec<usize>> = Vec::new();
    for (i, from) in reach.iter().enumerate() {
        let class: Vec<usize> = (0..4).filter(|j| from[*j] && reach[*j][i]).collect();
        let is_closed = (0..4).all(|j| !from[j] || class.contains(&j));
        if is_closed && class[0] == i {
            closed.push(class);
        }
    }
    if closed.len() != 1 {
        return Err(NoSteadyState::ClosedClasses(
            closed
                .into_iter()
                .map(|c| c.into_iter().map(|i| i + 1).collect())
                .collect(),
        ));
    }
    let c = &closed[0];
    let k = c.len();
    // A = P_CC' − I with its last row replaced by ones; A π = e_k.
    let mut a: Vec<Vec<f64>> = (0..k)
        .map(|r| {
            (0..k)
                .map(|s| m[c[s]][c[r]] - f64::from(u8::from(r == s)))
                .collect()
        })
        .collect();
    a[k - 1] = vec![1.0; k];
    let inv = invert(&a).ok_or_else(|| NoSteadyState::ClosedClasses(vec![c.clone()]))?;
    let mut pi = [0.0; 4];
    for (r, state) in c.iter().enumerate() {
        pi[*state] = inv[r][k - 1];
    }
    Ok(pi)
}

/// Rey's (2001) spatial Markov chain: transitions between the quartile classes of the values,
/// conditioned on the quartile class of the region's spatial lag at the start year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpatialMarkov {
    /// Upper bounds of value classes 1–3 (pooled quartiles of all region-years).
    pub bounds: [f64; 3],
    /// Upper bounds of lag classes 1–3 (pooled quartiles of all lags).
    pub lag_bounds: [f64; 3],
    /// `counts[lag][from][to]`, 0-based.
    pub counts: [[[u64; 4]; 4]; 4],
    /// Row-normalised counts; `None` for a row without observations (stays zero in PySAL).
    pub probabilities: [[[Option<f64>; 4]; 4]; 4],
}

/// The spatial Markov chain as PySAL `giddy.markov.Spatial_Markov(y, w, k=4, m=4, fixed=True)`
/// computes it: `values[year][region]` for one fixed set of regions (no missing values), `w`
/// the row-standardised weights over those regions; lag L_t = W y_t; value and lag classes are
/// the quartiles of all pooled values and of all pooled lags (upper bounds inclusive).
pub fn spatial_markov(
    values: &[Vec<f64>],
    w: &SpatialWeights,
) -> Result<SpatialMarkov, AnalysisError> {
    let pooled: Vec<f64> = values.iter().flatten().copied().collect();
    if values.len() < 2 || pooled.len() < 4 {
        return Err(AnalysisError::TooFew {
            what: "spatial Markov chain (region-years over at least two years)",
            needed: 4,
            found: pooled.len(),
        });
    }
    super::check_finite("spatial Markov chain", &pooled)?;
    let lags: Vec<Vec<f64>> = values.iter().map(|y| w.lag(y)).collect();
    let quartiles = |v: &[f64]| {
        let s = sorted(v);
        [
            quantile_linear(&s, 0.25),
            quantile_linear(&s, 0.5),
            quantile_linear(&s, 0.75),
        ]
    };
    let bounds = quartiles(&pooled);
    let lag_bounds = quartiles(&lags.concat());
    let mut counts = [[[0u64; 4]; 4]; 4];
    for (t, pair) in values.windows(2).enumerate() {
        for (i, (a, b)) in pair[0].iter().zip(&pair[1]).enumerate() {
            let l = quartile_class(lags[t][i], &lag_bounds);
            counts[l][quartile_class(*a, &bounds)][quartile_class(*b, &bounds)] += 1;
        }
    }
    Ok(SpatialMarkov {
        bounds,
        lag_bounds,
        probabilities: counts.map(|c| row_probabilities(&c)),
        counts,
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
    fn steady_state_by_hand_and_its_failures() {
        // Two-state block {1, 2} with P = [[0.5, 0.5], [0.25, 0.75]] → π = (1/3, 2/3); classes 3
        // and 4 are transient (they lead into {1, 2}).
        let s = |v: f64| Some(v);
        let p = [
            [s(0.5), s(0.5), s(0.0), s(0.0)],
            [s(0.25), s(0.75), s(0.0), s(0.0)],
            [s(0.5), s(0.0), s(0.5), s(0.0)],
            [s(0.0), s(0.0), s(0.5), s(0.5)],
        ];
        let pi = steady_state(&p).unwrap();
        assert!((pi[0] - 1.0 / 3.0).abs() < 1e-15 && (pi[1] - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!((pi[2], pi[3]), (0.0, 0.0));
        let mut two = p;
        two[2] = [s(0.0), s(0.0), s(1.0), s(0.0)];
        let err = steady_state(&two).unwrap_err();
        assert_eq!(err, NoSteadyState::ClosedClasses(vec![vec![1, 2], vec![3]]));
        assert_eq!(
            err.to_string(),
            "2 closed classes ({1, 2}, {3}), so the steady state is not unique"
        );
        let mut empty = p;
        empty[3] = [None; 4];
        assert_eq!(
            steady_state(&empty).unwrap_err(),
            NoSteadyState::EmptyRow(4)
        );
    }

    #[test]
    fn relative_values_divide_by_the_year_mean() {
        let r = relative_to_year_mean(&[
            vec![Some(1.0), Some(3.0), None],
            vec![Some(0.0), Some(0.0), Some(0.0)],
        ]);
        assert_eq!(r[0], vec![Some(0.5), Some(1.5), None]);
        assert_eq!(r[1], vec![None, None, None]);
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
        // R: bw.nrd0(1:10) = 1.719286 (here the sd is the smaller spread).
        let x: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((silverman_bandwidth(&x).unwrap() - 1.719_286_404_692_283).abs() < 1e-12);
    }
}
