//! Outlier treatment of one indicator column before normalisation, and the moments it is
//! decided on.
//!
//! Owns: the adjusted skewness G1 and excess kurtosis G2 (pandas `Series.skew()`/`kurt()`,
//! Excel `SKEW`/`KURT`), the JRC/COINr outlier rule, and winsorisation with a log-transform
//! fallback. **NaN marks a missing cell** and is left as it is; every statistic runs over the
//! observed cells of the whole column (the pooled panel). Must not: know about years, regions or
//! which indicators are scored.

use serde::Serialize;

/// Skewness above this (in absolute value) together with kurtosis above [`KURTOSIS_LIMIT`] marks
/// an indicator as having outliers (JRC/COINr rule).
pub const SKEWNESS_LIMIT: f64 = 2.0;
/// See [`SKEWNESS_LIMIT`].
pub const KURTOSIS_LIMIT: f64 = 3.5;

/// The adjusted Fisher–Pearson skewness `G1 = sqrt(n(n−1))/(n−2) · m3/m2^1.5` over the observed
/// cells (`m_k = Σ(x − x̄)^k / n`); `None` for n < 3; 0 for a constant column (as pandas).
pub fn skewness(values: &[f64]) -> Option<f64> {
    let m = Moments::of(values);
    if m.n < 3.0 {
        return None;
    }
    if m.m2 == 0.0 {
        return Some(0.0);
    }
    let n = m.n;
    Some((n * (n - 1.0)).sqrt() / (n - 2.0) * m.m3 / m.m2.powf(1.5))
}

/// The bias-corrected excess kurtosis
/// `G2 = (n−1)/((n−2)(n−3)) · ((n+1)·m4/m2² − 3(n−1))` over the observed cells; `None` for
/// n < 4; 0 for a constant column (as pandas).
pub fn kurtosis(values: &[f64]) -> Option<f64> {
    let m = Moments::of(values);
    if m.n < 4.0 {
        return None;
    }
    if m.m2 == 0.0 {
        return Some(0.0);
    }
    let n = m.n;
    Some((n - 1.0) / ((n - 2.0) * (n - 3.0)) * ((n + 1.0) * m.m4 / (m.m2 * m.m2) - 3.0 * (n - 1.0)))
}

/// Whether `|G1| > 2` and `G2 > 3.5` (undefined moments never flag).
pub fn is_outlying(skew: Option<f64>, kurt: Option<f64>) -> bool {
    matches!((skew, kurt), (Some(s), Some(k)) if s.abs() > SKEWNESS_LIMIT && k > KURTOSIS_LIMIT)
}

/// Central moments over the observed cells, computed around the mean in two passes.
struct Moments {
    n: f64,
    m2: f64,
    m3: f64,
    m4: f64,
}

impl Moments {
    fn of(values: &[f64]) -> Moments {
        let obs = || values.iter().copied().filter(|v| !v.is_nan());
        let n = obs().count() as f64;
        let mean = obs().sum::<f64>() / n;
        let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
        for x in obs() {
            let d = x - mean;
            let d2 = d * d;
            m2 += d2;
            m3 += d2 * d;
            m4 += d2 * d2;
        }
        Moments {
            n,
            m2: m2 / n,
            m3: m3 / n,
            m4: m4 / n,
        }
    }
}

/// What the treatment did to one indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TreatMethod {
    /// Not outlying: unchanged.
    None,
    /// Extreme values pulled in to their neighbours.
    Winsorise,
    /// `ln(x − min + 1)` (right skew) or `−ln(max − x + 1)` (left skew).
    Log,
}

impl TreatMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            TreatMethod::None => "none",
            TreatMethod::Winsorise => "winsorise",
            TreatMethod::Log => "log",
        }
    }
}

/// The treated column and its report.
#[derive(Debug, Clone, PartialEq)]
pub struct Treated {
    pub values: Vec<f64>,
    pub report: TreatReport,
}

/// What the treatment did to one column, and its moments before and after.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TreatReport {
    pub method: TreatMethod,
    /// Observations changed: winsorised cells, or every observed cell for the log transform.
    pub points: usize,
    pub skewness_before: Option<f64>,
    pub kurtosis_before: Option<f64>,
    pub skewness_after: Option<f64>,
    pub kurtosis_after: Option<f64>,
}

/// Treat one column (JRC/COINr `Treat()` with `winmax`): while `|G1| > 2` and `G2 > 3.5` and
/// fewer than `max_points` observations have been changed, set every observation equal to the
/// current maximum to the largest value below it (G1 > 0), or every observation equal to the
/// current minimum to the smallest value above it (G1 < 0) — each changed observation counts one
/// point — and recompute G1, G2. If the column still fails, winsorisation is undone and the raw
/// values are log-transformed instead: `ln(x − min + 1)` for a raw G1 > 0, `−ln(max − x + 1)`
/// for G1 < 0 (both keep the order of the values, so the direction is unchanged).
pub fn treat(values: &[f64], max_points: u32) -> Treated {
    let (skew0, kurt0) = (skewness(values), kurtosis(values));
    let mut out = values.to_vec();
    let mut points = 0usize;
    let (mut skew, mut kurt) = (skew0, kurt0);
    while is_outlying(skew, kurt) && points < max_points as usize {
        let right = skew.is_some_and(|s| s > 0.0);
        let Some(moved) = pull_in_extreme(&mut out, right) else {
            break;
        };
        points += moved;
        skew = skewness(&out);
        kurt = kurtosis(&out);
    }
    let method = if points == 0 {
        TreatMethod::None
    } else {
        TreatMethod::Winsorise
    };
    if !is_outlying(skew, kurt) {
        return Treated {
            values: out,
            report: TreatReport {
                method,
                points,
                skewness_before: skew0,
                kurtosis_before: kurt0,
                skewness_after: skew,
                kurtosis_after: kurt,
            },
        };
    }
    let log = log_transform(values, skew0.is_some_and(|s| s > 0.0));
    Treated {
        report: TreatReport {
            method: TreatMethod::Log,
            points: log.iter().filter(|v| !v.is_nan()).count(),
            skewness_before: skew0,
            kurtosis_before: kurt0,
            skewness_after: skewness(&log),
            kurtosis_after: kurtosis(&log),
        },
        values: log,
    }
}

/// Set every cell equal to the current maximum (`right`) or minimum to its nearest observed
/// neighbour value; the number of cells changed, `None` when the column has a single value.
fn pull_in_extreme(values: &mut [f64], right: bool) -> Option<usize> {
    let (lo, hi) = super::normalise::observed_range(values)?;
    let extreme = if right { hi } else { lo };
    let neighbour = values
        .iter()
        .copied()
        .filter(|v| !v.is_nan() && *v != extreme)
        .reduce(|a, b| if right { a.max(b) } else { a.min(b) })?;
    let mut moved = 0;
    for v in values.iter_mut().filter(|v| **v == extreme) {
        *v = neighbour;
        moved += 1;
    }
    Some(moved)
}

fn log_transform(values: &[f64], right: bool) -> Vec<f64> {
    let Some((lo, hi)) = super::normalise::observed_range(values) else {
        return values.to_vec();
    };
    values
        .iter()
        .map(|&x| {
            if x.is_nan() {
                f64::NAN
            } else if right {
                (x - lo + 1.0).ln()
            } else {
                -(hi - x + 1.0).ln()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_need_enough_observations() {
        assert_eq!(skewness(&[1.0, 2.0, f64::NAN]), None);
        assert_eq!(kurtosis(&[1.0, 2.0, 3.0]), None);
        assert_eq!(skewness(&[2.0, 2.0, 2.0]), Some(0.0));
        assert!(!is_outlying(Some(5.0), None));
    }

    #[test]
    fn a_single_outlier_is_winsorised_to_its_neighbour() {
        // Hand-checked: 1..=19 and 100. G1 = 4.16, G2 = 18.1 → 100 becomes 19 (1 point); then
        // 1..=19, 19 has G1 = −0.19: done.
        let mut x: Vec<f64> = (1..=19).map(f64::from).collect();
        x.push(100.0);
        let t = treat(&x, 5);
        assert_eq!(t.report.method, TreatMethod::Winsorise);
        assert_eq!(t.report.points, 1);
        assert_eq!(t.values[19], 19.0);
        assert_eq!(&t.values[..19], &x[..19]);
        assert!(!is_outlying(
            t.report.skewness_after,
            t.report.kurtosis_after
        ));
    }

    #[test]
    fn a_heavy_tail_beyond_the_limit_is_log_transformed() {
        // With max_points = 0 no observation may be winsorised: an outlying column goes straight
        // to the log transform of its raw values.
        let mut x: Vec<f64> = (1..=30).map(f64::from).collect();
        x.push(1000.0);
        let t = treat(&x, 0);
        assert_eq!(t.report.method, TreatMethod::Log);
        assert_eq!(t.report.points, 31);
        assert_eq!(t.values[0], 0.0);
        assert!((t.values[30] - 1000f64.ln()).abs() < 1e-15);
        let left: Vec<f64> = x.iter().map(|v| -v).collect();
        let t = treat(&left, 0);
        assert!((t.values[30] + 1000f64.ln()).abs() < 1e-15);
        assert_eq!(t.values[0], 0.0);
    }
}
