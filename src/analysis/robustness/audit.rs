//! Statistical audit of the scored indicators (JRC/COINr practice): descriptive statistics with
//! the outlier rule, correlations, correlation flags and Cronbach's α.
//!
//! Owns: the audit formulas on tight columns (NaN = missing). Must not: decide which values are
//! audited (the caller passes the raw, untreated values and the nominal method's z and scores).

use serde::Serialize;

use super::rankstats::spearman;
use crate::method::treat::{is_outlying, kurtosis, skewness};
use crate::method::weights::pearson;
use crate::types::Dimension;

/// Same-dimension pairs correlated above this (Pearson) are flagged `collinear`.
pub const COLLINEAR_ABOVE: f64 = 0.9;
/// Same-dimension pairs correlated below this (Pearson) are flagged `negative`.
pub const NEGATIVE_BELOW: f64 = -0.4;

/// One audited column: its name, dimension and values (one per region-year, NaN = missing).
pub struct AuditColumn<'a> {
    pub indicator: &'a str,
    pub dimension: Dimension,
    pub values: &'a [f64],
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatRow {
    pub indicator: String,
    pub dimension: Dimension,
    pub n: usize,
    pub mean: Option<f64>,
    /// Sample standard deviation (ddof = 1).
    pub sd: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Adjusted Fisher–Pearson G1 (pandas `skew()`).
    pub skewness: Option<f64>,
    /// Bias-corrected excess kurtosis G2 (pandas `kurt()`).
    pub kurtosis: Option<f64>,
    /// `|G1| > 2` and `G2 > 3.5`.
    pub outlier: bool,
}

/// Descriptive statistics of one column over its observed cells.
pub fn stats(c: &AuditColumn<'_>) -> StatRow {
    let obs: Vec<f64> = c.values.iter().copied().filter(|v| !v.is_nan()).collect();
    let n = obs.len();
    let mean = (n > 0).then(|| obs.iter().sum::<f64>() / n as f64);
    let sd = mean
        .filter(|_| n > 1)
        .map(|m| (obs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64).sqrt());
    let range = crate::method::normalise::observed_range(&obs);
    let (skew, kurt) = (skewness(&obs), kurtosis(&obs));
    StatRow {
        indicator: c.indicator.to_owned(),
        dimension: c.dimension,
        n,
        mean,
        sd,
        min: range.map(|r| r.0),
        max: range.map(|r| r.1),
        skewness: skew,
        kurtosis: kurt,
        outlier: is_outlying(skew, kurt),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorrelationRow {
    pub a: String,
    /// Another indicator, a dimension name, or `score`.
    pub b: String,
    pub pearson: Option<f64>,
    pub spearman: Option<f64>,
}

/// Pearson and Spearman (average ranks) over the pairs where both are observed.
pub fn correlate(a: &str, x: &[f64], b: &str, y: &[f64]) -> CorrelationRow {
    let (px, py): (Vec<f64>, Vec<f64>) = x
        .iter()
        .zip(y)
        .filter(|(u, v)| !u.is_nan() && !v.is_nan())
        .map(|(u, v)| (*u, *v))
        .unzip();
    CorrelationRow {
        a: a.to_owned(),
        b: b.to_owned(),
        pearson: pearson(&px, &py),
        spearman: spearman(&px, &py),
    }
}

/// Every indicator pair (framework order), then each indicator with its dimension's score and
/// with the overall score.
pub fn correlations(
    cols: &[AuditColumn<'_>],
    dimension_scores: &[(Dimension, Vec<f64>)],
    score: &[f64],
) -> Vec<CorrelationRow> {
    let mut out = Vec::new();
    for (i, a) in cols.iter().enumerate() {
        for b in &cols[i + 1..] {
            out.push(correlate(a.indicator, a.values, b.indicator, b.values));
        }
    }
    for c in cols {
        if let Some((d, values)) = dimension_scores.iter().find(|(d, _)| *d == c.dimension) {
            out.push(correlate(c.indicator, c.values, d.as_str(), values));
        }
        out.push(correlate(c.indicator, c.values, "score", score));
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagKind {
    Collinear,
    Negative,
}

impl crate::analysis::columns::Cell for FlagKind {
    type Out = &'static str;
    fn cell(&self) -> &'static str {
        self.as_str()
    }
}

impl FlagKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::Collinear => "collinear",
            FlagKind::Negative => "negative",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlagRow {
    pub kind: FlagKind,
    pub a: String,
    pub b: String,
    pub pearson: f64,
}

/// Same-dimension indicator pairs with Pearson > 0.9 (`collinear`) or < −0.4 (`negative`).
pub fn flags(cols: &[AuditColumn<'_>], correlations: &[CorrelationRow]) -> Vec<FlagRow> {
    let dimension = |name: &str| {
        cols.iter()
            .find(|c| c.indicator == name)
            .map(|c| c.dimension)
    };
    correlations
        .iter()
        .filter_map(|r| {
            let (da, db) = (dimension(&r.a)?, dimension(&r.b)?);
            let p = r.pearson?;
            let kind = if p > COLLINEAR_ABOVE {
                FlagKind::Collinear
            } else if p < NEGATIVE_BELOW {
                FlagKind::Negative
            } else {
                return None;
            };
            (da == db).then(|| FlagRow {
                kind,
                a: r.a.clone(),
                b: r.b.clone(),
                pearson: p,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlphaRow {
    /// A dimension name or `all`.
    pub scope: String,
    pub k: usize,
    pub alpha: Option<f64>,
}

/// Cronbach's α of columns `z` over the rows where every one is observed:
/// `α = k/(k−1) · (1 − Σ_j var(z_j) / var(Σ_j z_j))`, sample variances. `None` for k < 2, fewer
/// than two complete rows, or a constant sum.
pub fn cronbach_alpha(z: &[&[f64]]) -> Option<f64> {
    let k = z.len();
    if k < 2 {
        return None;
    }
    let rows: Vec<usize> = (0..z[0].len())
        .filter(|&i| z.iter().all(|c| !c[i].is_nan()))
        .collect();
    if rows.len() < 2 {
        return None;
    }
    let var = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64
    };
    let items: f64 = z
        .iter()
        .map(|c| var(&rows.iter().map(|&i| c[i]).collect::<Vec<_>>()))
        .sum();
    let total: Vec<f64> = rows.iter().map(|&i| z.iter().map(|c| c[i]).sum()).collect();
    let vt = var(&total);
    (vt > 0.0).then(|| k as f64 / (k - 1) as f64 * (1.0 - items / vt))
}

/// α per dimension (on its indicators) and over all indicators, on the nominal z.
pub fn alphas(dimensions: &[Dimension], z: &[Vec<f64>]) -> Vec<AlphaRow> {
    let scope = |name: &str, members: Vec<&[f64]>| AlphaRow {
        scope: name.to_owned(),
        k: members.len(),
        alpha: cronbach_alpha(&members),
    };
    let mut out: Vec<AlphaRow> = Dimension::ALL
        .iter()
        .map(|&d| {
            let members = z
                .iter()
                .zip(dimensions)
                .filter(|(_, dim)| **dim == d)
                .map(|(c, _)| c.as_slice())
                .collect();
            scope(d.as_str(), members)
        })
        .collect();
    out.push(scope("all", z.iter().map(Vec::as_slice).collect()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cronbach_alpha_by_hand() {
        // Items (1,2,3), (2,3,4), (1,3,5): variances 1, 1, 4; sums (4, 8, 12) variance 16:
        // α = 3/2 · (1 − 6/16) = 0.9375.
        let a = [1.0, 2.0, 3.0];
        let b = [2.0, 3.0, 4.0];
        let c = [1.0, 3.0, 5.0];
        assert_eq!(cronbach_alpha(&[&a, &b, &c]), Some(0.9375));
        // An incomplete row is left out of every item.
        let a2 = [1.0, 2.0, 3.0, f64::NAN];
        let b2 = [2.0, 3.0, 4.0, 9.0];
        let c2 = [1.0, 3.0, 5.0, 9.0];
        assert_eq!(cronbach_alpha(&[&a2, &b2, &c2]), Some(0.9375));
        assert_eq!(cronbach_alpha(&[&a]), None);
    }
}
