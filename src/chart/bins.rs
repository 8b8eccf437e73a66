//! Colour classes for choropleths: class breaks computed once over *all* years, so one colour
//! means the same value range on every year's map.
//!
//! Owns: `Bins` (breaks + YlGnBu colours + legend labels; or categorical classes with their own
//! colours and labels, e.g. LISA clusters). Must not: look at regions or years.

use super::ChartError;
use super::palette;

/// `k` classes `[e0, e1), [e1, e2), …, [e(k-1), ek]` with one colour each.
#[derive(Debug, Clone, PartialEq)]
pub struct Bins {
    edges: Vec<f64>,
    colors: &'static [&'static str],
    /// Legend labels of categorical classes (`None`: ranges "a – b" from the breaks).
    names: Option<Vec<String>>,
}

impl Bins {
    /// Quantile classes over `values` (non-finite values ignored), breaks by linear
    /// interpolation between order statistics (Hyndman & Fan 1996 type 7, R's default).
    /// Ties that make breaks coincide merge classes, so fewer than `k` may result.
    pub fn quantiles(values: &[f64], k: usize) -> Result<Bins, ChartError> {
        check_k(k)?;
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Err(ChartError::Bins {
                k,
                reason: "no finite values".into(),
            });
        }
        v.sort_by(f64::total_cmp);
        let q = |p: f64| {
            let h = (v.len() - 1) as f64 * p;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(v.len() - 1);
            v[lo] + (h - lo as f64) * (v[hi] - v[lo])
        };
        let edges: Vec<f64> = (0..=k).map(|i| q(i as f64 / k as f64)).collect();
        Bins::from_edges(edges)
    }

    /// `k` classes of equal width between `min` and `max`.
    pub fn equal(min: f64, max: f64, k: usize) -> Result<Bins, ChartError> {
        check_k(k)?;
        if !(min.is_finite() && max.is_finite() && min <= max) {
            return Err(ChartError::Bins {
                k,
                reason: format!("invalid range [{min}, {max}]"),
            });
        }
        let step = (max - min) / k as f64;
        let mut edges: Vec<f64> = (0..k).map(|i| min + step * i as f64).collect();
        edges.push(max);
        Bins::from_edges(edges)
    }

    /// Classes from explicit ascending breaks (e.g. Jenks breaks computed elsewhere);
    /// duplicate breaks are merged.
    pub fn from_edges(mut edges: Vec<f64>) -> Result<Bins, ChartError> {
        if edges.iter().any(|e| !e.is_finite()) || edges.windows(2).any(|w| w[0] > w[1]) {
            return Err(ChartError::Bins {
                k: edges.len().saturating_sub(1),
                reason: "breaks must be finite and ascending".into(),
            });
        }
        edges.dedup();
        if edges.len() == 1 {
            // All values equal: one class that contains exactly that value.
            edges.push(edges[0]);
        }
        let k = edges.len() - 1;
        check_k(k)?;
        let colors = palette::ylgnbu(k).ok_or(ChartError::Bins {
            k,
            reason: "no palette".into(),
        })?;
        Ok(Bins {
            edges,
            colors,
            names: None,
        })
    }

    /// Categorical classes: the value `i` (0, 1, …) is class `i`, drawn in `colors[i]` and
    /// labelled `names[i]` in the legend. The map takes a class index as its value, so
    /// categories need no second colouring path in the renderer.
    pub fn categories(
        names: Vec<String>,
        colors: &'static [&'static str],
    ) -> Result<Bins, ChartError> {
        let k = names.len();
        check_k(k)?;
        if colors.len() != k {
            return Err(ChartError::Bins {
                k,
                reason: format!("{} colours for {k} categories", colors.len()),
            });
        }
        Ok(Bins {
            edges: (0..=k).map(|i| i as f64).collect(),
            colors,
            names: Some(names),
        })
    }

    /// Number of classes.
    pub fn k(&self) -> usize {
        self.edges.len() - 1
    }

    /// The `k + 1` ascending breaks.
    pub fn edges(&self) -> &[f64] {
        &self.edges
    }

    /// The class colours, light (low) to dark (high).
    pub fn colors(&self) -> &'static [&'static str] {
        self.colors
    }

    /// The class of `v`; values outside the range fall into the first or last class.
    /// `None` for NaN/infinite values (drawn as "no data").
    pub fn class_of(&self, v: f64) -> Option<usize> {
        if !v.is_finite() {
            return None;
        }
        let inner = &self.edges[1..self.edges.len() - 1];
        Some(inner.iter().take_while(|e| v >= **e).count())
    }

    /// The fill colour of `v`, or `None` for "no data".
    pub fn color_of(&self, v: f64) -> Option<&'static str> {
        self.class_of(v).map(|c| self.colors[c])
    }

    /// Legend labels "a – b" (categorical bins: their names), with just enough decimals that neighbouring breaks differ.
    pub fn labels(&self) -> Vec<String> {
        if let Some(names) = &self.names {
            return names.clone();
        }
        let span = self.edges[self.edges.len() - 1] - self.edges[0];
        let mut decimals = if span > 0.0 {
            (2.0 - span.log10().floor()).clamp(0.0, 6.0) as usize
        } else {
            2
        };
        let fmt =
            |d: usize| -> Vec<String> { self.edges.iter().map(|e| format!("{e:.d$}")).collect() };
        let mut txt = fmt(decimals);
        while decimals < 8 && txt.windows(2).any(|w| w[0] == w[1]) && self.k() > 1 {
            decimals += 1;
            txt = fmt(decimals);
        }
        txt.windows(2)
            .map(|w| format!("{} – {}", w[0], w[1]))
            .collect()
    }
}

fn check_k(k: usize) -> Result<(), ChartError> {
    if k == 0 || k > palette::MAX_CLASSES {
        return Err(ChartError::Bins {
            k,
            reason: format!("need 1 to {} classes", palette::MAX_CLASSES),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_breaks_follow_type_7() {
        let v: Vec<f64> = (1..=11).map(f64::from).collect(); // 1..11
        let b = Bins::quantiles(&v, 5).unwrap();
        assert_eq!(b.edges(), &[1.0, 3.0, 5.0, 7.0, 9.0, 11.0]);
        assert_eq!(b.k(), 5);
        assert_eq!(b.class_of(1.0), Some(0));
        assert_eq!(b.class_of(2.999), Some(0));
        assert_eq!(b.class_of(3.0), Some(1));
        assert_eq!(b.class_of(11.0), Some(4));
        assert_eq!(b.class_of(99.0), Some(4));
        assert_eq!(b.class_of(-5.0), Some(0));
        assert_eq!(b.class_of(f64::NAN), None);
        assert_eq!(b.color_of(10.0), Some("#253494"));
    }

    #[test]
    fn quantiles_interpolate_and_ignore_nan() {
        let b = Bins::quantiles(&[0.0, 1.0, f64::NAN, 2.0, 10.0], 2).unwrap();
        // sorted 0,1,2,10: median at h = 1.5 → 1.5
        assert_eq!(b.edges(), &[0.0, 1.5, 10.0]);
    }

    #[test]
    fn ties_merge_classes() {
        let b = Bins::quantiles(&[1.0, 1.0, 1.0, 1.0, 2.0], 4).unwrap();
        assert_eq!(b.edges(), &[1.0, 2.0]);
        assert_eq!(b.k(), 1);
        let same = Bins::quantiles(&[3.0, 3.0], 5).unwrap();
        assert_eq!(same.k(), 1);
        assert_eq!(same.class_of(3.0), Some(0));
    }

    #[test]
    fn equal_bins_and_errors() {
        let b = Bins::equal(0.0, 1.0, 4).unwrap();
        assert_eq!(b.edges(), &[0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(b.labels()[1], "0.25 – 0.50");
        assert_eq!(Bins::equal(0.0, 1.0, 0).unwrap_err().code(), "charts.bins");
        assert!(Bins::equal(1.0, 0.0, 3).is_err());
        assert!(Bins::quantiles(&[f64::NAN], 3).is_err());
        assert!(Bins::quantiles(&[1.0], 10).is_err());
        assert!(Bins::from_edges(vec![0.0, 2.0, 1.0]).is_err());
    }

    #[test]
    fn labels_get_enough_decimals_to_differ() {
        let b = Bins::from_edges(vec![0.1, 0.1001, 0.2]).unwrap();
        let l = b.labels();
        assert_eq!(l, vec!["0.1000 – 0.1001", "0.1001 – 0.2000"]);
        let big = Bins::from_edges(vec![0.0, 500.0, 1000.0]).unwrap();
        assert_eq!(big.labels(), vec!["0 – 500", "500 – 1000"]);
    }

    #[test]
    fn categories_map_class_indices_to_their_colours_and_names() {
        const COLORS: [&str; 3] = ["#D55E00", "#0072B2", "#d9d9d9"];
        let names = vec!["HH".to_owned(), "LL".to_owned(), "n.s.".to_owned()];
        let b = Bins::categories(names.clone(), &COLORS).unwrap();
        assert_eq!(b.k(), 3);
        assert_eq!(b.class_of(0.0), Some(0));
        assert_eq!(b.color_of(1.0), Some("#0072B2"));
        assert_eq!(b.color_of(2.0), Some("#d9d9d9"));
        assert_eq!(b.labels(), names);
        assert!(Bins::categories(vec!["a".into()], &COLORS).is_err());
        assert!(Bins::categories(Vec::new(), &[]).is_err());
    }
}
