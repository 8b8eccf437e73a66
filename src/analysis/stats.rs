//! Small numeric helpers shared by the analyses: moments, numpy-compatible quantiles, the normal
//! tail probability and a seeded PRNG. Kept private to `analysis`; no dependency is worth adding
//! for these few functions.

/// Arithmetic mean (callers guarantee a non-empty slice).
pub(crate) fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Standard deviation with `ddof` delta degrees of freedom (numpy's `std(ddof=…)`).
pub(crate) fn sd(x: &[f64], ddof: usize) -> f64 {
    let m = mean(x);
    let ss: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
    (ss / (x.len() - ddof) as f64).sqrt()
}

/// The `p`-quantile (0 ≤ p ≤ 1) by linear interpolation between order statistics — numpy's
/// default `method="linear"`: position `(n − 1)·p` in the sorted data.
pub(crate) fn quantile_linear(sorted: &[f64], p: f64) -> f64 {
    let pos = (sorted.len() - 1) as f64 * p;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

/// Sorted copy (total order; callers pass finite values).
pub(crate) fn sorted(x: &[f64]) -> Vec<f64> {
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    s
}

/// Two-sided p-value of a standard-normal statistic: `2·P(Z > |z|) = erfc(|z|/√2)`.
pub(crate) fn two_sided_normal_p(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// Complementary error function for x ≥ 0, accurate to ~1e-15 absolute: the Maclaurin series
/// of erf below 2.5 (terms stay below e^{x²} ≈ 520, so cancellation costs < 3 digits), and the
/// Lentz continued fraction of erfc above (converges fast there).
pub(crate) fn erfc(x: f64) -> f64 {
    if x < 2.5 {
        // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
        let x2 = x * x;
        let mut term = x; // (−1)^n x^(2n+1) / n!
        let mut sum = x;
        let mut n = 0.0;
        loop {
            n += 1.0;
            term *= -x2 / n;
            let add = term / (2.0 * n + 1.0);
            sum += add;
            if add.abs() <= 1e-17 * sum.abs() {
                break;
            }
        }
        1.0 - 2.0 / std::f64::consts::PI.sqrt() * sum
    } else {
        // erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
        let tiny = 1e-300;
        let mut f = x;
        let mut c = x;
        let mut d = 0.0;
        for k in 1..500 {
            let a = k as f64 / 2.0;
            d = x + a * d;
            d = if d.abs() < tiny { tiny } else { d };
            c = x + a / c;
            c = if c.abs() < tiny { tiny } else { c };
            d = 1.0 / d;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-x * x).exp() / std::f64::consts::PI.sqrt() / f
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, seedable, well-mixed 64-bit generator. Good
/// enough for permutation tests and fully reproducible across platforms; it cannot reproduce
/// numpy's stream, so permutation p-values differ from PySAL's by Monte-Carlo noise only.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1): the top 53 bits as the mantissa.
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n` (n > 0) without modulo bias (Lemire 2019, with rejection).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            let low = m as u64;
            if low >= n.wrapping_neg() % n {
                return (m >> 64) as usize;
            }
        }
    }

    /// In-place Fisher–Yates shuffle.
    pub(crate) fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// ln Γ(x) for x > 0: Lanczos approximation (g = 7, n = 9; Godfrey's coefficients), with the
/// reflection formula below 0.5. Relative accuracy ~1e-15, enough for t-distribution p-values.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularised incomplete beta I_x(a, b) by the continued fraction of Numerical Recipes
/// (§6.4, modified Lentz), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where it converges
/// faster.
pub(crate) fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    let tiny = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    d = if d.abs() < tiny { tiny } else { d };
    d = 1.0 / d;
    let mut h = d;
    for m in 1..1000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// Two-sided p-value of a t statistic with `df` degrees of freedom:
/// P(|T| > |t|) = I_{df/(df + t²)}(df/2, 1/2).
pub(crate) fn two_sided_t_p(t: f64, df: f64) -> f64 {
    incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
}

/// The inverse of a small symmetric positive-definite matrix by Gauss–Jordan elimination with
/// partial pivoting; `None` when a pivot falls below `1e-12` of the largest diagonal entry
/// (collinear regressors).
pub(crate) fn invert(m: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = m.len();
    let scale = m
        .iter()
        .enumerate()
        .map(|(i, r)| r[i].abs())
        .fold(0.0, f64::max);
    if scale == 0.0 {
        return None;
    }
    let mut a: Vec<Vec<f64>> = m
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut row = r.clone();
            row.extend((0..n).map(|j| if i == j { 1.0 } else { 0.0 }));
            row
        })
        .collect();
    for col in 0..n {
        let pivot = (col..n).max_by(|x, y| a[*x][col].abs().total_cmp(&a[*y][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 * scale {
            return None;
        }
        a.swap(col, pivot);
        let p = a[col][col];
        a[col].iter_mut().for_each(|v| *v /= p);
        for r in 0..n {
            if r != col {
                let f = a[r][col];
                if f != 0.0 {
                    let pivot_row = a[col].clone();
                    a[r].iter_mut()
                        .zip(&pivot_row)
                        .for_each(|(v, p)| *v -= f * p);
                }
            }
        }
    }
    Some(a.into_iter().map(|r| r[n..].to_vec()).collect())
}

/// Descriptive statistics of one variable over its observed values (NaN = missing): the
/// columns of a paper's descriptive-statistics table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Described {
    pub n: usize,
    pub mean: Option<f64>,
    /// Sample standard deviation (ddof = 1, as Stata's `summarize` and pandas' `std()`).
    pub sd: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// [`Described`] of `values`, skipping NaN.
pub fn describe(values: &[f64]) -> Described {
    let obs: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    let n = obs.len();
    let range = crate::method::normalise::observed_range(&obs);
    Described {
        n,
        mean: (n > 0).then(|| mean(&obs)),
        sd: (n > 1).then(|| sd(&obs, 1)),
        min: range.map(|r| r.0),
        max: range.map(|r| r.1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_skips_missing_and_uses_the_sample_sd() {
        // numpy: np.std([1, 2, 4, 8], ddof=1) = 3.0956959, mean 3.75.
        let d = describe(&[1.0, f64::NAN, 2.0, 4.0, 8.0]);
        assert_eq!(d.n, 4);
        assert!((d.mean.unwrap() - 3.75).abs() < 1e-15);
        assert!((d.sd.unwrap() - 3.095_695_936_834_452).abs() < 1e-12);
        assert_eq!((d.min, d.max), (Some(1.0), Some(8.0)));
        let one = describe(&[5.0]);
        assert_eq!((one.n, one.sd), (1, None));
        assert_eq!(describe(&[]).mean, None);
    }

    #[test]
    fn erfc_matches_known_values() {
        // Values from the standard normal table / scipy.special.erfc.
        assert!((erfc(0.0) - 1.0).abs() < 1e-15);
        assert!((two_sided_normal_p(1.959963984540054) - 0.05).abs() < 1e-13);
        assert!((two_sided_normal_p(-2.5758293035489004) - 0.01).abs() < 1e-13);
        assert!((erfc(3.0) - 2.209049699858544e-05).abs() < 1e-17);
        assert!((erfc(2.4999) - erfc(2.5001)).abs() < 2e-6);
        assert!((erfc(1.0) - 0.15729920705028513).abs() < 1e-15);
    }

    #[test]
    fn t_distribution_matches_scipy() {
        // 2·scipy.stats.t.sf(|t|, df), scipy 1.17 (tests/fixtures/analysis/reference_depth.json).
        for (t, df, p) in [
            (2.0, 3.0, 0.139_325_968_558_843_05),
            (-1.0, 30.0, 0.325_308_615_426_030_2),
            (5.5, 2.0, 0.031_504_003_041_813_8),
            (0.3, 1.0, 0.814_452_841_844_515_4),
            (12.0, 6.0, 2.030_740_619_537_319_2e-5),
        ] {
            let got = two_sided_t_p(t, df);
            assert!(
                (got - p).abs() < 1e-13 * p.max(1e-3) * 1e3,
                "t {t} df {df}: {got} vs {p}"
            );
        }
        assert!((two_sided_t_p(0.0, 10.0) - 1.0).abs() < 1e-15);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-14);
        assert!((ln_gamma(10.0) - 362_880f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn inverse_of_a_small_matrix() {
        let inv = invert(&[vec![4.0, 2.0], vec![2.0, 3.0]]).unwrap();
        // 1/8 · [[3, −2], [−2, 4]]
        assert!((inv[0][0] - 0.375).abs() < 1e-15 && (inv[0][1] + 0.25).abs() < 1e-15);
        assert!((inv[1][1] - 0.5).abs() < 1e-15);
        assert!(invert(&[vec![1.0, 2.0], vec![2.0, 4.0]]).is_none());
    }

    #[test]
    fn quantiles_follow_numpy_linear() {
        let s = sorted(&[4.0, 1.0, 3.0, 2.0]);
        // numpy.percentile([1,2,3,4], [25, 50, 75]) == [1.75, 2.5, 3.25]
        assert_eq!(quantile_linear(&s, 0.25), 1.75);
        assert_eq!(quantile_linear(&s, 0.5), 2.5);
        assert_eq!(quantile_linear(&s, 0.75), 3.25);
        assert_eq!(quantile_linear(&s, 1.0), 4.0);
    }

    #[test]
    fn splitmix_is_seeded_and_uniform_enough() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        // Reference value of SplitMix64 seeded with 0 (first output).
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
        let mut counts = [0usize; 4];
        let mut r = SplitMix64::new(1);
        for _ in 0..40_000 {
            counts[r.below(4)] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_500..10_500).contains(&c)),
            "{counts:?}"
        );
    }
}
