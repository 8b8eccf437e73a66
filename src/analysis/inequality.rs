//! Regional disparities of one cross-section: the Dagum (1997) Gini coefficient and its
//! decomposition by groups, Theil's T with its within/between decomposition, and the coefficient
//! of variation.
//!
//! Conventions (documented for users on the methodology page):
//! - Values must be non-negative (scores are 0–100); a negative value is an error.
//! - All values zero: there is no inequality, every index is 0 (instead of 0/0).
//! - A group whose mean is 0 has within-group Gini 0; a pair of groups with means summing to 0
//!   has between-group Gini 0; identical pairs of distributions get D_jh = 0.
//! - Theil uses 0·ln 0 = 0 (PySAL `inequality` adds the smallest positive float instead, which
//!   gives the same value to ~1e-300).

use std::collections::BTreeMap;

use serde::Serialize;

use super::AnalysisError;
use super::stats::{mean, sd};

/// One group of a decomposition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSummary {
    pub group: String,
    pub n: usize,
    pub mean: f64,
}

/// Gini coefficient of one pair of groups (`group_a == group_b`: the within-group Gini G_jj).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupGini {
    pub group_a: String,
    pub group_b: String,
    pub gini: f64,
    /// Relative economic affluence D_jh ∈ [0, 1] between the higher-mean group `group_b` and
    /// the lower-mean group `group_a` (`None` for within-group rows).
    pub d_jh: Option<f64>,
}

/// The Dagum Gini decomposition `total = within + between + transvariation` (exact).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dagum {
    pub total: f64,
    /// G_w: within-group contribution.
    pub within: f64,
    /// G_nb: net between-group contribution.
    pub between: f64,
    /// G_t: transvariation (overlap) contribution.
    pub transvariation: f64,
    /// Groups in ascending order of their mean (ties by name), as Dagum orders them.
    pub groups: Vec<GroupSummary>,
    /// Every G_jj, then every G_jh (j < h in the group order above).
    pub pairs: Vec<GroupGini>,
}

/// Dagum's Gini decomposition of `values` partitioned by `groups` (same length).
///
/// Definitions (Dagum 1997, *Empirical Economics* 22:515–531), groups ordered so that
/// Ȳ_1 ≤ … ≤ Ȳ_k, n regions, p_j = n_j/n, s_j = n_j Ȳ_j/(n Ȳ):
/// - G = Σ_j Σ_h Σ_i Σ_r |y_ji − y_hr| / (2 n² Ȳ)
/// - G_jj = Σ_i Σ_r |y_ji − y_jr| / (2 n_j² Ȳ_j),  G_w = Σ_j G_jj p_j s_j
/// - G_jh = Σ_i Σ_r |y_ji − y_hr| / (n_j n_h (Ȳ_j + Ȳ_h))
/// - d_jh = mean over pairs of max(y_ji − y_hr, 0) for the higher-mean group j, p_jh the same
///   with the roles swapped, D_jh = (d_jh − p_jh)/(d_jh + p_jh)
/// - G_nb = Σ_{j>h} G_jh (p_j s_h + p_h s_j) D_jh,  G_t = Σ_{j>h} G_jh (p_j s_h + p_h s_j)(1 − D_jh)
pub fn dagum(values: &[f64], groups: &[String]) -> Result<Dagum, AnalysisError> {
    check_values("Dagum Gini", values, 2)?;
    let n = values.len() as f64;
    let ybar = mean(values);
    let mut members: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (v, g) in values.iter().zip(groups) {
        members.entry(g.as_str()).or_default().push(*v);
    }
    let mut order: Vec<(&str, Vec<f64>, f64)> = members
        .into_iter()
        .map(|(g, v)| {
            let m = mean(&v);
            (g, v, m)
        })
        .collect();
    // Stable sort keeps name order for equal means.
    order.sort_by(|a, b| a.2.total_cmp(&b.2));

    let total = ratio(abs_diff_sum(values, values), 2.0 * n * n * ybar);
    let share = |v: &[f64], m: f64| {
        let p = v.len() as f64 / n;
        let s = if ybar > 0.0 {
            v.len() as f64 * m / (n * ybar)
        } else {
            0.0
        };
        (p, s)
    };

    let mut pairs = Vec::new();
    let mut within = 0.0;
    for (g, v, m) in &order {
        let nj = v.len() as f64;
        let gjj = ratio(abs_diff_sum(v, v), 2.0 * nj * nj * m);
        let (p, s) = share(v, *m);
        within += gjj * p * s;
        pairs.push(GroupGini {
            group_a: (*g).to_owned(),
            group_b: (*g).to_owned(),
            gini: gjj,
            d_jh: None,
        });
    }
    let mut between = 0.0;
    let mut transvariation = 0.0;
    for (hi, (gh, vh, mh)) in order.iter().enumerate() {
        for (gj, vj, mj) in &order[hi + 1..] {
            // j = higher (or equal) mean group, h = lower.
            let nn = (vj.len() * vh.len()) as f64;
            let gjh = ratio(abs_diff_sum(vj, vh), nn * (mj + mh));
            let (mut d, mut p) = (0.0, 0.0);
            for a in vj {
                for b in vh {
                    if a > b {
                        d += a - b;
                    } else {
                        p += b - a;
                    }
                }
            }
            let djh = ratio(d - p, d + p);
            let (pj, sj) = share(vj, *mj);
            let (ph, sh) = share(vh, *mh);
            let weight = gjh * (pj * sh + ph * sj);
            between += weight * djh;
            transvariation += weight * (1.0 - djh);
            pairs.push(GroupGini {
                group_a: (*gh).to_owned(),
                group_b: (*gj).to_owned(),
                gini: gjh,
                d_jh: Some(djh),
            });
        }
    }
    Ok(Dagum {
        total,
        within,
        between,
        transvariation,
        groups: order
            .iter()
            .map(|(g, v, m)| GroupSummary {
                group: (*g).to_owned(),
                n: v.len(),
                mean: *m,
            })
            .collect(),
        pairs,
    })
}

/// Theil's T and its exact decomposition `total = within + between`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Theil {
    pub total: f64,
    pub within: f64,
    pub between: f64,
    /// Per group: size, mean and the group's own Theil T.
    pub groups: Vec<TheilGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TheilGroup {
    pub group: String,
    pub n: usize,
    pub mean: f64,
    pub theil: f64,
}

/// Theil T = (1/n) Σ (y_i/Ȳ) ln(y_i/Ȳ), decomposed with value shares s_g = n_g Ȳ_g/(n Ȳ):
/// between = Σ_g s_g ln(Ȳ_g/Ȳ), within = Σ_g s_g T_g (as PySAL `inequality.theil.TheilD`).
pub fn theil(values: &[f64], groups: &[String]) -> Result<Theil, AnalysisError> {
    check_values("Theil index", values, 1)?;
    let total = theil_t(values);
    let ybar = mean(values);
    let n = values.len() as f64;
    let mut members: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (v, g) in values.iter().zip(groups) {
        members.entry(g.as_str()).or_default().push(*v);
    }
    let mut within = 0.0;
    let mut between = 0.0;
    let mut out = Vec::new();
    for (g, v) in members {
        let m = mean(&v);
        let t = theil_t(&v);
        if ybar > 0.0 && m > 0.0 {
            let s = v.len() as f64 * m / (n * ybar);
            between += s * (m / ybar).ln();
            within += s * t;
        }
        out.push(TheilGroup {
            group: g.to_owned(),
            n: v.len(),
            mean: m,
            theil: t,
        });
    }
    Ok(Theil {
        total,
        within,
        between,
        groups: out,
    })
}

/// Coefficient of variation sd/mean with the population standard deviation (ddof = 0: the
/// regions are the whole population, as in σ-convergence papers). `None` when the mean is 0.
pub fn cv(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let m = mean(values);
    (m != 0.0).then(|| sd(values, 0) / m)
}

fn theil_t(values: &[f64]) -> f64 {
    let m = mean(values);
    if m <= 0.0 {
        return 0.0;
    }
    values
        .iter()
        .filter(|v| **v > 0.0)
        .map(|v| v / m * (v / m).ln())
        .sum::<f64>()
        / values.len() as f64
}

fn abs_diff_sum(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .map(|x| b.iter().map(|y| (x - y).abs()).sum::<f64>())
        .sum()
}

/// `num/den`, with 0 when the denominator is 0 (every such case here has a zero numerator too:
/// all values equal, so "no inequality").
fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 { 0.0 } else { num / den }
}

fn check_values(what: &'static str, values: &[f64], needed: usize) -> Result<(), AnalysisError> {
    if values.len() < needed {
        return Err(AnalysisError::TooFew {
            what,
            needed,
            found: values.len(),
        });
    }
    super::check_finite(what, values)?;
    let count = values.iter().filter(|v| **v < 0.0).count();
    if count > 0 {
        return Err(AnalysisError::NegativeValues { what, count });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn dagum_by_hand_two_groups() {
        // A = {1, 3} (mean 2), B = {5} (mean 5); n = 3, Ȳ = 3.
        // Σ|y_i − y_j| over all ordered pairs = 2·(2 + 4 + 2) = 16 → G = 16/(2·9·3) = 8/27.
        let d = dagum(&[1.0, 3.0, 5.0], &labels(&["A", "A", "B"])).unwrap();
        assert!((d.total - 8.0 / 27.0).abs() < 1e-15);
        // G_AA = 4/(2·4·2) = 1/4; p_A = 2/3, s_A = 4/9 → G_w = 1/4·2/3·4/9 = 2/27.
        assert!((d.within - 2.0 / 27.0).abs() < 1e-15);
        // G_AB = (4 + 2)/(2·1·(2 + 5)) = 3/7; D = 1 (no overlap) → G_nb = 3/7·(1/3·4/9 + 2/3·5/9).
        assert!((d.between - 3.0 / 7.0 * (4.0 / 27.0 + 10.0 / 27.0)).abs() < 1e-15);
        assert_eq!(d.transvariation, 0.0);
        assert!((d.within + d.between + d.transvariation - d.total).abs() < 1e-15);
        assert_eq!(d.groups[0].group, "A");
        assert_eq!(d.pairs.len(), 3);
        assert_eq!(d.pairs[2].d_jh, Some(1.0));
    }

    #[test]
    fn dagum_defined_for_zeros_single_groups_and_negatives() {
        let z = dagum(&[0.0, 0.0, 0.0], &labels(&["A", "B", "B"])).unwrap();
        assert_eq!(
            (z.total, z.within, z.between, z.transvariation),
            (0.0, 0.0, 0.0, 0.0)
        );
        let one = dagum(&[2.0, 4.0, 6.0], &labels(&["A", "A", "B"])).unwrap();
        assert_eq!(one.pairs[1].gini, 0.0, "a one-region group has G_jj = 0");
        let err = dagum(&[1.0, -1.0], &labels(&["A", "A"])).unwrap_err();
        assert_eq!(err.code(), "analysis.negative_values");
        let err = theil(&[1.0, f64::NAN], &labels(&["A", "A"])).unwrap_err();
        assert_eq!(err.code(), "analysis.non_finite");
    }

    #[test]
    fn theil_by_hand_and_zero_handling() {
        // y = {1, 3}: Ȳ = 2, T = ½(½ ln ½ + 3/2 ln 3/2).
        let t = theil(&[1.0, 3.0], &labels(&["A", "B"])).unwrap();
        let want = 0.5 * (0.5 * 0.5f64.ln() + 1.5 * 1.5f64.ln());
        assert!((t.total - want).abs() < 1e-15);
        assert!(
            (t.between - want).abs() < 1e-15,
            "singleton groups: all between"
        );
        assert!(t.within.abs() < 1e-15);
        let z = theil(&[0.0, 2.0], &labels(&["A", "A"])).unwrap();
        assert!((z.total - 2f64.ln()).abs() < 1e-15);
        assert_eq!(theil(&[0.0, 0.0], &labels(&["A", "B"])).unwrap().total, 0.0);
    }

    #[test]
    fn cv_uses_population_sd() {
        assert!((cv(&[1.0, 3.0]).unwrap() - 0.5).abs() < 1e-15);
        assert_eq!(cv(&[0.0, 0.0]), None);
        assert_eq!(cv(&[5.0, 5.0]), Some(0.0));
    }
}
