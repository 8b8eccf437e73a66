//! An upload against the version it is merged into: which of its cells agree with what is
//! stored, which extend the dataset, and which revise a stored value (docs/method.md, "Merging
//! uploads and revisions").
//!
//! Owns: the agreement rule ([`agree`]), the magnitude conversion of units (`万元` → `亿元`),
//! [`reconcile`] (upload + stored panel → cells to add, cells agreeing, cells revised) and
//! [`merged_panel`] (the panel of the new version). Pure: no I/O, no store.
//! Must not: decide whether a revision may be committed (that is the commit's `revise` choice).

use std::collections::{BTreeMap, HashMap, HashSet};

use polars::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::framework::Framework;
use crate::types::{Panel, panel_cols};

/// Agreement within floating-point noise, whatever the precision shown.
const RELATIVE_TOLERANCE: f64 = 1e-9;

/// Whether an uploaded value (`raw`, in the file's unit, written with `decimals` decimal places)
/// is the stored value `stored` (in the framework's unit) once multiplied by `factor`: equal to
/// within ½ unit of the last decimal place written in the file, or to a relative 1e-9.
pub fn agree(stored: f64, raw: f64, decimals: i8, factor: f64) -> bool {
    let new = raw * factor;
    let diff = (stored - new).abs();
    let half_unit = 0.5 * 10f64.powi(-i32::from(decimals)) * factor.abs();
    // The half unit itself is a decimal fraction, inexact in binary: a hair of slack keeps
    // `5522.9` vs `5522.95` (exactly half a unit apart) on the agreeing side.
    diff <= half_unit * (1.0 + 1e-9) || diff <= RELATIVE_TOLERANCE * stored.abs().max(new.abs())
}

/// Chinese magnitude prefixes of NBS units, longest first.
const MAGNITUDES: &[(&str, f64)] = &[
    ("万亿", 1e12),
    ("十万", 1e5),
    ("百万", 1e6),
    ("千万", 1e7),
    ("亿", 1e8),
    ("万", 1e4),
];

/// A unit as (magnitude, base): `亿元` → (1e8, `元`); `100 million yuan (亿元)` reads the part in
/// brackets. `None` for an empty unit.
fn magnitude(unit: &str) -> Option<(f64, &str)> {
    let unit = unit.trim();
    let inner = unit
        .rsplit_once(['(', '（'])
        .map(|(_, rest)| rest.trim_end_matches([')', '）']).trim())
        .unwrap_or(unit);
    if inner.is_empty() {
        return None;
    }
    Some(
        MAGNITUDES
            .iter()
            .find_map(|(prefix, m)| inner.strip_prefix(prefix).map(|base| (*m, base)))
            .unwrap_or((1.0, inner)),
    )
}

/// The factor turning values in `from` into values in `to` when the two differ only by a
/// magnitude prefix (`万元` → `亿元`: 1e-4); 1 when they are equal, unknown or not comparable.
pub fn unit_factor(from: &str, to: &str) -> f64 {
    match (magnitude(from), magnitude(to)) {
        (Some((mf, bf)), Some((mt, bt))) if bf == bt => mf / mt,
        _ => 1.0,
    }
}

/// One stored cell an upload gives another value.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RevisedCell {
    pub region: String,
    pub year: i32,
    /// The framework id of the series.
    pub indicator: String,
    /// The stored value.
    pub old: f64,
    /// The uploaded value, in the framework's unit.
    pub new: f64,
    /// `(new − old) / |old| × 100`; `null` when the old value is 0.
    pub change_pct: Option<f64>,
    /// The series' name in the stored panel (the row the revision replaces).
    #[serde(skip)]
    pub stored_name: String,
}

/// An upload compared with the version it is merged into.
#[derive(Debug, Clone)]
pub struct Reconciled {
    /// Cells the stored version does not hold (new years, regions or indicators), in the
    /// framework's units.
    pub added: Panel,
    /// Cells equal to the stored ones under [`agree`]: one observation, dropped from the upload.
    pub agreed: usize,
    /// Cells whose value differs from the stored one, sorted by indicator, region and year.
    pub revised: Vec<RevisedCell>,
    /// Stored rows without a value that the upload fills: replaced, like revised ones.
    filled: Vec<(String, i32, String)>,
}

/// One panel row borrowed from its columns: region, year, indicator, value.
type Row<'a> = (&'a str, i32, &'a str, Option<f64>);

/// Panel rows borrowed from its columns, in the panel's order (`None`: a key is missing).
fn all_rows(panel: &Panel) -> Result<Vec<Option<Row<'_>>>> {
    use panel_cols::*;
    let f = panel.frame();
    let (region, year) = (f.column(REGION)?.str()?, f.column(YEAR)?.i32()?);
    let (indicator, value) = (f.column(INDICATOR)?.str()?, f.column(VALUE)?.f64()?);
    Ok(region
        .iter()
        .zip(year.iter())
        .zip(indicator.iter())
        .zip(value.iter())
        .map(|(((r, y), i), v)| Some((r?, y?, i?, v)))
        .collect())
}

/// Panel rows with all keys, borrowed from its columns.
fn rows(panel: &Panel) -> Result<Vec<Row<'_>>> {
    Ok(all_rows(panel)?.into_iter().flatten().collect())
}

/// Compare an upload with the `stored` panel under `framework`: names are matched through the
/// framework's ids and aliases, the upload's values converted from the units its files state
/// (`units`: name → unit) to the framework's. `decimals` are the decimal places each upload
/// row's value shows in its file (one per row of `upload`, in its order).
pub fn reconcile(
    stored: &Panel,
    upload: &Panel,
    decimals: &[i8],
    framework: &Framework,
    units: &BTreeMap<String, String>,
) -> Result<Reconciled> {
    let mut canon: HashMap<String, String> = HashMap::new();
    let mut canonical = |name: &str| -> String {
        canon
            .entry(name.to_owned())
            .or_insert_with(|| {
                framework
                    .canonical_id(name)
                    .map_or_else(|| name.to_owned(), ToString::to_string)
            })
            .clone()
    };
    let framework_unit = |id: &str| -> Option<&str> {
        framework
            .indicators
            .iter()
            .find(|d| d.id.as_str() == id)
            .map(|d| d.unit_zh.as_deref().unwrap_or(&d.unit))
            .or_else(|| {
                framework
                    .inputs
                    .iter()
                    .find(|d| d.id.as_str() == id)
                    .map(|d| d.unit.as_str())
            })
    };

    if decimals.len() != upload.height() {
        return Err(Error::Internal(format!(
            "{} decimal counts for {} upload rows",
            decimals.len(),
            upload.height()
        )));
    }
    let upload_rows: Vec<(Row<'_>, i8)> = all_rows(upload)?
        .into_iter()
        .zip(decimals.iter().copied())
        .filter_map(|(row, d)| Some((row?, d)))
        .collect();
    let wanted: HashSet<String> = upload_rows.iter().map(|(r, _)| canonical(r.2)).collect();
    // Stored cells of the series the upload touches: (region, year, id) → (value, stored name).
    let mut stored_cells: HashMap<(String, i32, String), (Option<f64>, String)> = HashMap::new();
    for (region, year, name, value) in rows(stored)? {
        let id = canonical(name);
        if wanted.contains(&id) {
            stored_cells.insert((region.to_owned(), year, id), (value, name.to_owned()));
        }
    }

    let mut added = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut agreed, mut revised, mut filled) = (0, Vec::new(), Vec::new());
    for ((region, year, name, value), decimals) in upload_rows {
        let id = canonical(name);
        let factor = match (units.get(name), framework_unit(&id)) {
            (Some(from), Some(to)) => unit_factor(from, to),
            _ => 1.0,
        };
        let converted = value.map(|v| v * factor);
        match (
            stored_cells.get(&(region.to_owned(), year, id.clone())),
            value,
        ) {
            // A missing upload cell neither adds nor revises anything.
            (Some(_), None) => {}
            (Some((Some(old), _)), Some(raw)) if agree(*old, raw, decimals, factor) => {
                agreed += 1;
            }
            (Some((Some(old), stored_name)), Some(raw)) => {
                let new = raw * factor;
                revised.push(RevisedCell {
                    region: region.to_owned(),
                    year,
                    indicator: id,
                    old: *old,
                    new,
                    change_pct: (*old != 0.0).then(|| (new - old) / old.abs() * 100.0),
                    stored_name: stored_name.clone(),
                });
            }
            (stored, _) => {
                if let Some((None, stored_name)) = stored {
                    filled.push((region.to_owned(), year, stored_name.clone()));
                }
                added.0.push(region.to_owned());
                added.1.push(year);
                added.2.push(id);
                added.3.push(converted);
            }
        }
    }
    revised
        .sort_by(|a, b| (&a.indicator, &a.region, a.year).cmp(&(&b.indicator, &b.region, b.year)));
    use panel_cols::*;
    let added = Panel::new(df!(
        REGION => added.0, YEAR => added.1, INDICATOR => added.2, VALUE => added.3
    )?)?;
    Ok(Reconciled {
        added,
        agreed,
        revised,
        filled,
    })
}

/// The panel of the new version: the stored panel, with the revised cells' new values when
/// `revise` (else they keep their stored values), plus the added cells.
pub fn merged_panel(stored: &Panel, reconciled: &Reconciled, revise: bool) -> Result<Panel> {
    use panel_cols::*;
    let mut replaced: HashSet<(&str, i32, &str)> = reconciled
        .filled
        .iter()
        .map(|(r, y, i)| (r.as_str(), *y, i.as_str()))
        .collect();
    let revised = if revise { &reconciled.revised[..] } else { &[] };
    replaced.extend(
        revised
            .iter()
            .map(|c| (c.region.as_str(), c.year, c.stored_name.as_str())),
    );
    let keep: BooleanChunked = rows(stored)?
        .iter()
        .map(|(r, y, i, _)| !replaced.contains(&(*r, *y, *i)))
        .collect();
    let kept = Panel::new(stored.frame().filter(&keep)?)?;
    let new_values = Panel::new(df!(
        REGION => revised.iter().map(|c| c.region.as_str()).collect::<Vec<_>>(),
        YEAR => revised.iter().map(|c| c.year).collect::<Vec<_>>(),
        INDICATOR => revised.iter().map(|c| c.stored_name.as_str()).collect::<Vec<_>>(),
        VALUE => revised.iter().map(|c| c.new).collect::<Vec<_>>(),
    )?)?;
    Ok(Panel::concat([kept, new_values, reconciled.added.clone()])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_is_half_a_unit_of_the_last_decimal_written() {
        // `5522.95` and `5522.950` are the same figure, whichever is stored.
        assert!(agree(5522.95, 5522.950, 3, 1.0));
        assert!(agree(5522.95, 5522.95, 2, 1.0));
        // Against a stored 5522.953, the upload's written precision decides: `5522.950`
        // ([5522.9495, 5522.9505]) is a revision, `5522.95` ([5522.945, 5522.955]) agrees —
        // though both parse to the same number.
        assert!(!agree(5522.953, 5522.950, 3, 1.0));
        assert!(agree(5522.953, 5522.95, 2, 1.0));
        // Written with one decimal, 5522.9 covers [5522.85, 5522.95].
        assert!(agree(5522.95, 5522.9, 1, 1.0));
        assert!(!agree(5522.96, 5522.9, 1, 1.0));
        // Written as an integer, 5523 covers [5522.5, 5523.5].
        assert!(agree(5522.95, 5523.0, 0, 1.0));
        assert!(!agree(5522.4, 5523.0, 0, 1.0));
        // Two decimals written: 5522.96 is a different figure from 5522.95.
        assert!(!agree(5522.95, 5522.96, 2, 1.0));
        // `1.23457E+11` shows the value to 10⁶ (decimals −6).
        assert!(agree(123_456_789_012.0, 1.23457e11, -6, 1.0));
        assert!(!agree(123_456_789_012.0, 1.23457e11, 0, 1.0));
        // Relative 1e-9 covers binary noise of values with many digits.
        assert!(agree(0.1 + 0.2, 0.3, 1, 1.0));
    }

    #[test]
    fn units_convert_by_their_magnitude_prefix() {
        assert_eq!(unit_factor("万元", "100 million yuan (亿元)"), 1e-4);
        assert_eq!(unit_factor("亿元", "亿元"), 1.0);
        assert_eq!(unit_factor("万千瓦时", "亿千瓦时"), 1e-4);
        // Not comparable: no conversion.
        assert_eq!(unit_factor("万人", "亿元"), 1.0);
        assert_eq!(unit_factor("", "亿元"), 1.0);
        // 万元 written as an integer covers ½ 万元 = 0.000 05 亿元 either side.
        assert!(agree(552.295, 5522950.0, 0, 1e-4));
        assert!(agree(552.29504, 5522950.0, 0, 1e-4));
        assert!(!agree(552.295, 5522951.0, 0, 1e-4));
    }
}
