//! Colour-blind-safe palettes.
//!
//! * Categorical series: Okabe & Ito (2008), "Color Universal Design"
//!   (<https://jfly.uni-koeln.de/color/>), ordered for lines on white (yellow last: it has too
//!   little contrast for thin lines). Lines also differ by dash pattern, so colour is never the
//!   only cue.
//! * Sequential classes: ColorBrewer YlGnBu (Cynthia Brewer, Mark Harrower and The Pennsylvania
//!   State University, <https://colorbrewer2.org>, Apache-2.0; marked colour-blind safe there).
//!   "This product includes color specifications and designs developed by Cynthia Brewer
//!   (http://colorbrewer.org/)."
//!
//! Owns: colour constants and colour arithmetic. Must not: decide class breaks (see `bins`).

/// Okabe–Ito colours in the order series receive them.
pub const OKABE_ITO: [&str; 8] = [
    "#0072B2", // blue
    "#D55E00", // vermillion
    "#009E73", // bluish green
    "#CC79A7", // reddish purple
    "#E69F00", // orange
    "#56B4E9", // sky blue
    "#000000", // black
    "#F0E442", // yellow
];

/// Dash patterns paired with the colours (cycled independently, so 8 × 4 combinations).
pub const DASHES: [&str; 4] = ["", "6 3", "2 2", "8 3 2 3"];

/// The colour of series `i`.
pub fn categorical(i: usize) -> &'static str {
    OKABE_ITO[i % OKABE_ITO.len()]
}

/// The dash pattern of series `i` ("" = solid).
pub fn dash(i: usize) -> &'static str {
    DASHES[(i / OKABE_ITO.len() + i) % DASHES.len()]
}

/// Fill of regions and cells without data, under the hatch.
pub const NO_DATA_FILL: &str = "#f0f0f0";
/// Hatch stroke for "no data".
pub const NO_DATA_HATCH: &str = "#8c8c8c";

const YLGNBU: [&[&str]; 10] = [
    &[],
    &["#41b6c4"],
    &["#a1dab4", "#2c7fb8"],
    &["#edf8b1", "#7fcdbb", "#2c7fb8"],
    &["#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"],
    &["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"],
    &[
        "#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494",
    ],
    &[
        "#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84",
    ],
    &[
        "#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84",
    ],
    &[
        "#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#253494",
        "#081d58",
    ],
];

/// Largest number of sequential classes available.
pub const MAX_CLASSES: usize = 9;

/// ColorBrewer YlGnBu with `k` classes, light to dark (1 and 2 classes are taken from the
/// 5-class scheme); `None` for `k` = 0 or `k` > 9.
pub fn ylgnbu(k: usize) -> Option<&'static [&'static str]> {
    YLGNBU.get(k).copied().filter(|s| !s.is_empty())
}

fn rgb(hex: &str) -> (f64, f64, f64) {
    let h = hex.trim_start_matches('#');
    let c = |i: usize| {
        h.get(i..i + 2)
            .and_then(|s| u8::from_str_radix(s, 16).ok())
            .map_or(0.0, f64::from)
    };
    (c(0), c(2), c(4))
}

/// A continuous YlGnBu colour for `t` in [0, 1] (clamped), interpolated in sRGB between the
/// nine ColorBrewer classes; used by the heat table.
pub fn sequential(t: f64) -> String {
    let stops = YLGNBU[9];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (stops.len() - 1) as f64;
    let i = (pos.floor() as usize).min(stops.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (rgb(stops[i]), rgb(stops[i + 1]));
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(a.0, b.0),
        mix(a.1, b.1),
        mix(a.2, b.2)
    )
}

/// WCAG relative luminance of a `#rrggbb` colour.
pub fn luminance(hex: &str) -> f64 {
    let lin = |c: f64| {
        let c = c / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = rgb(hex);
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

/// Black or white, whichever contrasts more with `fill` (for numbers printed on cells).
pub fn text_on(fill: &str) -> &'static str {
    // Contrast with black is (L + 0.05) / 0.05, with white 1.05 / (L + 0.05); equal at L ≈ 0.179.
    if luminance(fill) > 0.179 {
        "#000000"
    } else {
        "#ffffff"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ylgnbu_has_k_colours_light_to_dark() {
        for k in 1..=MAX_CLASSES {
            let s = ylgnbu(k).unwrap();
            assert_eq!(s.len(), k);
            for w in s.windows(2) {
                assert!(luminance(w[0]) > luminance(w[1]), "{k}: {w:?}");
            }
        }
        assert!(ylgnbu(0).is_none());
        assert!(ylgnbu(10).is_none());
        assert_eq!(ylgnbu(5).unwrap()[4], "#253494");
    }

    #[test]
    fn sequential_hits_the_end_stops_and_interpolates() {
        // t = 0.5 is exactly stop 4 (#41b6c4) of the nine; beyond 1 is the last stop.
        for (t, want) in [
            (0.0, "#ffffd9"),
            (1.0, "#081d58"),
            (2.0, "#081d58"),
            (0.5, "#41b6c4"),
        ] {
            assert_eq!(sequential(t), want, "{t}");
        }
    }

    #[test]
    fn text_on_picks_the_contrasting_ink() {
        assert_eq!(text_on("#ffffd9"), "#000000");
        assert_eq!(text_on("#081d58"), "#ffffff");
        assert!((luminance("#ffffff") - 1.0).abs() < 1e-12);
    }

    #[test]
    fn series_styles_cycle() {
        assert_eq!(categorical(0), "#0072B2");
        assert_eq!(categorical(8), "#0072B2");
        assert_eq!(dash(0), "");
        assert_ne!(dash(8), dash(0));
    }
}
