//! Linear scales and "nice" ticks (step 1, 2 or 5 × 10^k, the rule of d3-array's `ticks`,
//! <https://github.com/d3/d3-array/blob/main/src/ticks.js>).
//!
//! Owns: mapping data values to px and choosing tick values. Must not: draw anything.

/// A linear map from a data domain to a pixel range (either may be reversed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearScale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl LinearScale {
    /// A degenerate domain (d0 == d1) is widened by ±0.5 (or ±|d0|/10) so values still map.
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> LinearScale {
        let (mut d0, mut d1) = domain;
        if !(d0.is_finite() && d1.is_finite()) {
            (d0, d1) = (0.0, 1.0);
        }
        if d0 == d1 {
            let pad = if d0 == 0.0 { 0.5 } else { d0.abs() / 10.0 };
            (d0, d1) = (d0 - pad, d1 + pad);
        }
        LinearScale {
            d0,
            d1,
            r0: range.0,
            r1: range.1,
        }
    }

    pub fn domain(&self) -> (f64, f64) {
        (self.d0, self.d1)
    }

    pub fn range(&self) -> (f64, f64) {
        (self.r0, self.r1)
    }

    /// The pixel position of `v` (extrapolates outside the domain).
    pub fn map(&self, v: f64) -> f64 {
        self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }

    /// The domain extended outwards to multiples of the tick step for about `count` ticks.
    pub fn nice(self, count: usize) -> LinearScale {
        let (lo, hi, rev) = if self.d0 <= self.d1 {
            (self.d0, self.d1, false)
        } else {
            (self.d1, self.d0, true)
        };
        let (mut a, mut b) = (lo, hi);
        // Twice, as d3 does: widening can change the step.
        for _ in 0..2 {
            let step = tick_step(a, b, count);
            a = snap(a, step, f64::floor);
            b = snap(b, step, f64::ceil);
        }
        let (d0, d1) = if rev { (b, a) } else { (a, b) };
        LinearScale { d0, d1, ..self }
    }

    /// About `count` round tick values inside the domain, ascending.
    pub fn ticks(&self, count: usize) -> Vec<f64> {
        let (lo, hi) = if self.d0 <= self.d1 {
            (self.d0, self.d1)
        } else {
            (self.d1, self.d0)
        };
        ticks(lo, hi, count)
    }

    /// [`Self::ticks`] paired with their labels, printed with the decimals the step needs.
    pub fn labelled_ticks(&self, count: usize) -> Vec<(f64, String)> {
        let (d0, d1) = self.domain();
        let step = tick_step(d0.min(d1), d0.max(d1), count);
        self.ticks(count)
            .into_iter()
            .map(|t| (t, format_tick(t, step)))
            .collect()
    }
}

/// `round(v / step) * step` for a rounding function, dividing by the integer 1/step when the
/// step is below 1 (0.7 is 7 / 10 exactly, 7 * 0.1 is not) — the trick of d3's tickIncrement.
fn snap(v: f64, step: f64, round: fn(f64) -> f64) -> f64 {
    if step < 1.0 {
        let inv = (1.0 / step).round();
        round(v * inv) / inv
    } else {
        round(v / step) * step
    }
}

/// The tick step for about `count` ticks over [lo, hi]: 1, 2 or 5 × 10^k.
pub fn tick_step(lo: f64, hi: f64, count: usize) -> f64 {
    let span = (hi - lo).abs();
    if span == 0.0 || !span.is_finite() {
        return 1.0;
    }
    let raw = span / count.max(1) as f64;
    let power = raw.log10().floor();
    let base = 10f64.powf(power);
    let err = raw / base;
    let factor = if err >= 50f64.sqrt() {
        10.0
    } else if err >= 10f64.sqrt() {
        5.0
    } else if err >= 2f64.sqrt() {
        2.0
    } else {
        1.0
    };
    factor * base
}

/// Round ticks in [lo, hi]; computed as integer multiples of the step so that 0.1 + 0.2 noise
/// never shows up in labels.
pub fn ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || lo > hi {
        return Vec::new();
    }
    if lo == hi {
        return vec![lo];
    }
    let step = tick_step(lo, hi, count);
    let eps = step * 1e-9;
    let i0 = ((lo - eps) / step).ceil() as i64;
    let i1 = ((hi + eps) / step).floor() as i64;
    (i0..=i1)
        .map(|i| {
            if step < 1.0 {
                i as f64 / (1.0 / step).round()
            } else {
                i as f64 * step
            }
        })
        .collect()
}

/// Decimals needed to print multiples of `step` exactly (0 for steps ≥ 1).
pub fn decimals(step: f64) -> usize {
    if !(step.is_finite() && step > 0.0) || step >= 1.0 {
        return 0;
    }
    (-step.log10().floor()).max(0.0) as usize
        + usize::from((step * 10f64.powf(-step.log10().floor())).fract() > 1e-6)
}

/// A tick label for `v` with the decimals its step needs.
pub fn format_tick(v: f64, step: f64) -> String {
    let d = decimals(step);
    let s = format!("{v:.d$}");
    if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s[1..].to_string()
    } else {
        s
    }
}

/// Smallest and largest finite value, or `None` when there is none.
pub fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((a, b)) => Some((a.min(v), b.max(v))),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_steps() {
        assert_eq!(ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(0.13, 0.67, 5), vec![0.2, 0.3, 0.4, 0.5, 0.6]);
        assert_eq!(ticks(-1.0, 1.0, 4), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert_eq!(ticks(3.0, 3.0, 5), vec![3.0]);
        assert!(ticks(f64::NAN, 1.0, 5).is_empty());
    }

    #[test]
    fn nice_extends_the_domain() {
        let s = LinearScale::new((0.13, 0.67), (0.0, 100.0)).nice(5);
        assert_eq!(s.domain(), (0.1, 0.7));
        let r = LinearScale::new((31.0, 1.0), (0.0, 100.0)).nice(5);
        assert_eq!(r.domain(), (35.0, 0.0));
    }

    #[test]
    fn map_is_linear_and_can_be_reversed() {
        let s = LinearScale::new((0.0, 10.0), (100.0, 0.0));
        assert_eq!(s.map(0.0), 100.0);
        assert_eq!(s.map(2.5), 75.0);
        let flat = LinearScale::new((2.0, 2.0), (0.0, 10.0));
        assert!((flat.map(2.0) - 5.0).abs() < 1e-9);
    }

    #[test]
    fn decimals_and_labels() {
        assert_eq!(decimals(0.2), 1);
        assert_eq!(decimals(0.05), 2);
        assert_eq!(decimals(0.25), 2);
        assert_eq!(decimals(5.0), 0);
        assert_eq!(format_tick(0.30000000000000004, 0.1), "0.3");
        assert_eq!(format_tick(-0.0, 0.5), "0.0");
        assert_eq!(extent([3.0, f64::NAN, -1.0]), Some((-1.0, 3.0)));
        assert_eq!(extent(std::iter::empty()), None);
    }
}
