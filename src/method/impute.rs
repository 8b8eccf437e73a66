//! Missing values before normalisation: coverage and interpolation of interior gaps.
//!
//! Owns: `coverage` (share of observed cells) and `interpolate_interior` for one region's series.
//! NaN marks a missing cell. Must not: decide which indicators are excluded (the pipeline compares
//! coverage with the method's threshold).

/// Share of observed (non-NaN) cells; 0 for an empty column.
pub fn coverage(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().filter(|v| !v.is_nan()).count() as f64 / values.len() as f64
}

/// Linear interpolation of the interior gaps of one region's series, ordered by year
/// (docs/method.md §3): a missing cell between two observed years `a < y < b` gets
/// `x_y = x_a + (x_b − x_a)·(y − a)/(b − a)`; leading and trailing gaps stay missing.
/// Interpolating in the year (not the row position) makes a year absent from the data count as a
/// gap of the right length; with consecutive years it equals polars `interpolate` (linear).
/// Returns the filled series and which cells were filled.
pub fn interpolate_interior(years: &[i32], values: &[f64]) -> (Vec<f64>, Vec<bool>) {
    let mut out = values.to_vec();
    let mut filled = vec![false; values.len()];
    interpolate_in_place(years, &mut out, &mut filled);
    (out, filled)
}

/// [`interpolate_interior`] on `values` itself: fills its interior gaps and sets `filled` for
/// them (other flags are left as they are). The pipeline runs it on a reused buffer per region.
pub fn interpolate_in_place(years: &[i32], values: &mut [f64], filled: &mut [bool]) {
    let mut last: Option<usize> = None;
    for b in 0..values.len() {
        if values[b].is_nan() {
            continue;
        }
        if let Some(a) = last {
            let (ya, yb) = (f64::from(years[a]), f64::from(years[b]));
            for i in a + 1..b {
                let t = (f64::from(years[i]) - ya) / (yb - ya);
                values[i] = values[a] + (values[b] - values[a]) * t;
                filled[i] = true;
            }
        }
        last = Some(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_interior_gaps_are_filled() {
        let nan = f64::NAN;
        let (v, f) = interpolate_interior(
            &[2018, 2019, 2020, 2021, 2023, 2024],
            &[nan, 1.0, nan, 3.0, nan, 4.0],
        );
        assert!(v[0].is_nan());
        // 2023 lies two thirds of the way from 2021 to 2024
        assert_eq!(&v[1..], &[1.0, 2.0, 3.0, 3.0 + 2.0 / 3.0, 4.0]);
        assert_eq!(f, vec![false, false, true, false, true, false]);
    }

    #[test]
    fn uneven_years_interpolate_by_year() {
        let (v, _) = interpolate_interior(&[2010, 2011, 2014], &[0.0, f64::NAN, 8.0]);
        assert_eq!(v[1], 2.0);
        assert_eq!(coverage(&[1.0, f64::NAN, 2.0, f64::NAN]), 0.5);
    }
}
