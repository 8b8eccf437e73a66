//! Aggregation of direction-adjusted indicator scores `z` to one score per row.
//!
//! Owns: weighted sum, weighted geometric mean and TOPSIS on a column-major matrix (one `&[f64]`
//! per indicator, one row per region-year) in which **NaN marks a missing cell**. A row missing
//! some indicators is scored on the observed ones with the weights re-normalised over them
//! (COINr `a_amean` with `na.rm`); a row with no observed indicator (or only zero-weight ones)
//! gets NaN. Must not: choose the rows (years, panel) — the caller passes them.

/// Weighted sum on 0–100 (docs/method.md §6): `S_i = 100 · Σ_j w_j z_ij / Σ_j w_j`, sums over the
/// observed cells of row i. With complete rows and `Σ w = 1` this is `100 · Σ w z`; applied to
/// a dimension's columns it is `D_d = 100 · Σ_{j∈d} w_j z_j / W_d`, hence `S = Σ_d W_d D_d`.
pub fn weighted_sum(cols: &[&[f64]], w: &[f64]) -> Vec<f64> {
    let (mut num, den) = accumulate(cols, w, |wj, z| wj * z);
    for (s, d) in num.iter_mut().zip(den) {
        *s = if d > 0.0 { 100.0 * *s / d } else { f64::NAN };
    }
    num
}

/// Per row, `Σ_j term(w_j, z_ij)` and `Σ_j w_j` over the observed cells. Four columns per pass
/// over the rows (contiguous, and each row's sums loaded and stored once per four terms), each
/// row's sums still adding its terms in column order from 0.
fn accumulate(cols: &[&[f64]], w: &[f64], term: impl Fn(f64, f64) -> f64) -> (Vec<f64>, Vec<f64>) {
    let n = rows(cols).len();
    let (mut num, mut den) = (vec![0.0; n], vec![0.0; n]);
    // Adding +0 for a missing cell leaves a sum as it is (a sum that starts at +0 is never −0),
    // and without a branch the passes run on vector registers.
    let add = |s: &mut f64, d: &mut f64, wj: f64, z: f64| {
        let missing = z.is_nan();
        *s += if missing { 0.0 } else { term(wj, z) };
        *d += if missing { 0.0 } else { wj };
    };
    let blocks = cols.len().min(w.len()) / 4 * 4;
    for (c, wb) in cols[..blocks].chunks_exact(4).zip(w.chunks_exact(4)) {
        let (c0, c1, c2, c3) = (&c[0][..n], &c[1][..n], &c[2][..n], &c[3][..n]);
        for (i, (s, d)) in num.iter_mut().zip(den.iter_mut()).enumerate() {
            add(s, d, wb[0], c0[i]);
            add(s, d, wb[1], c1[i]);
            add(s, d, wb[2], c2[i]);
            add(s, d, wb[3], c3[i]);
        }
    }
    for (col, &wj) in cols[blocks..].iter().zip(&w[blocks..]) {
        for ((s, d), &z) in num.iter_mut().zip(den.iter_mut()).zip(&col[..n]) {
            add(s, d, wj, z);
        }
    }
    (num, den)
}

/// Weighted geometric mean on [1, 100] (COINr `a_gmean` on min-max data rescaled to [1, 100],
/// which keeps a zero from collapsing the product, trap T12):
/// `S_i = Π_j (1 + 99 z_ij)^(w_j / Σ_j w_j)`, over the observed cells of row i.
/// Precondition: z ∈ [0, 1]. Note `S ≠ Σ_d W_d D_d` here; instead `S = Π_d D_d^(W_d)`.
pub fn geometric(cols: &[&[f64]], w: &[f64]) -> Vec<f64> {
    let (mut log_sum, den) = accumulate(cols, w, |wj, z| wj * (1.0 + 99.0 * z).ln());
    for (s, d) in log_sum.iter_mut().zip(den) {
        *s = if d > 0.0 { (*s / d).exp() } else { f64::NAN };
    }
    log_sum
}

/// The positive and negative ideal points in z-space: `(max_i z_ij, min_i z_ij)` per column over
/// the observed cells (NaN for an unobserved column). With w ≥ 0 these give TOPSIS's
/// `A⁺ = max_i v_ij`, `A⁻ = min_i v_ij` for `v = w z`.
pub fn ideal_points(cols: &[&[f64]]) -> (Vec<f64>, Vec<f64>) {
    cols.iter()
        .map(|col| match super::normalise::observed_range(col) {
            Some((lo, hi)) => (hi, lo),
            None => (f64::NAN, f64::NAN),
        })
        .unzip()
}

/// TOPSIS distances and closeness, per row.
#[derive(Debug, Clone, PartialEq)]
pub struct Topsis {
    pub d_plus: Vec<f64>,
    pub d_minus: Vec<f64>,
    /// `D⁻/(D⁺ + D⁻)` in [0, 1]; NaN when `D⁺ + D⁻ = 0` or the row has no observed cell.
    pub closeness: Vec<f64>,
}

/// TOPSIS (Hwang & Yoon; docs/method.md §6, min-max variant of pymcdm/pyrepo) on `v = w z`:
/// `D⁺_i = sqrt(Σ_j (w_j (z_ij − z⁺_j))²)`, `D⁻_i = sqrt(Σ_j (w_j (z_ij − z⁻_j))²)` over the
/// observed cells of row i, `C_i = D⁻_i / (D⁺_i + D⁻_i)`. `ideal`/`anti` are `z⁺`/`z⁻` from
/// [`ideal_points`] over the set the normalisation ran on (the whole panel, or the year), so they
/// may come from rows other than `cols`. Re-normalising a row's weights would not change `C_i`
/// (it is scale-free), so missing cells are simply left out.
pub fn topsis(cols: &[&[f64]], w: &[f64], ideal: &[f64], anti: &[f64]) -> Topsis {
    let mut out = Topsis {
        d_plus: Vec::new(),
        d_minus: Vec::new(),
        closeness: Vec::new(),
    };
    for i in rows(cols) {
        let (mut sp, mut sm, mut seen) = (0.0, 0.0, false);
        for (j, col) in cols.iter().enumerate() {
            let z = col[i];
            if !z.is_nan() {
                let dp = w[j] * (z - ideal[j]);
                let dm = w[j] * (z - anti[j]);
                sp += dp * dp;
                sm += dm * dm;
                seen = true;
            }
        }
        let (dp, dm) = if seen {
            (sp.sqrt(), sm.sqrt())
        } else {
            (f64::NAN, f64::NAN)
        };
        let total = dp + dm;
        out.d_plus.push(dp);
        out.d_minus.push(dm);
        out.closeness
            .push(if total > 0.0 { dm / total } else { f64::NAN });
    }
    out
}

fn rows(cols: &[&[f64]]) -> std::ops::Range<usize> {
    0..cols.first().map_or(0, |c| c.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_cells_renormalise_the_weights() {
        let a = [1.0, 0.5];
        let b = [0.0, f64::NAN];
        let s = weighted_sum(&[&a, &b], &[0.25, 0.75]);
        assert_eq!(s, vec![25.0, 50.0]);
        let g = geometric(&[&a, &b], &[0.5, 0.5]);
        assert!((g[0] - 10.0).abs() < 1e-12);
        assert!((g[1] - 50.5).abs() < 1e-12);
        let nothing = weighted_sum(&[&[f64::NAN]], &[1.0]);
        assert!(nothing[0].is_nan());
    }

    #[test]
    fn sums_add_each_rows_terms_in_column_order() {
        // 1..=9 columns (whole blocks of four and the rest), cells whose sum depends on the
        // order of the additions, missing cells: equal bit for bit to one column after another
        let nan = f64::NAN;
        let cell = |j: usize, i: usize| match (j * 7 + i * 3) % 5 {
            0 => nan,
            1 => 1e16,
            2 => 1.0 + j as f64 * 0.1,
            3 => -1e16,
            _ => 0.3 * i as f64,
        };
        for k in 1..=9 {
            let cols: Vec<Vec<f64>> = (0..k)
                .map(|j| (0..11).map(|i| cell(j, i)).collect())
                .collect();
            let refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
            let w: Vec<f64> = (0..k).map(|j| 0.05 + j as f64 / 7.0).collect();
            let (num, den) = accumulate(&refs, &w, |wj, z| wj * z);
            for i in 0..11 {
                let (mut s, mut d) = (0.0, 0.0);
                for j in 0..k {
                    if !cols[j][i].is_nan() {
                        s += w[j] * cols[j][i];
                        d += w[j];
                    }
                }
                assert_eq!(
                    (num[i].to_bits(), den[i].to_bits()),
                    (s.to_bits(), d.to_bits())
                );
            }
        }
    }

    #[test]
    fn topsis_of_identical_rows_is_undefined() {
        let c = [0.5, 0.5];
        let t = topsis(&[&c], &[1.0], &[0.5], &[0.5]);
        assert_eq!(t.d_plus, vec![0.0, 0.0]);
        assert!(t.closeness[0].is_nan());
        let (hi, lo) = ideal_points(&[&[0.2, f64::NAN, 0.9]]);
        assert_eq!((hi[0], lo[0]), (0.9, 0.2));
    }
}
