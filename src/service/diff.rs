//! What changed between two versions of a dataset, and what it did to the results
//! (docs/method.md §1.2): the cells added, removed and revised, the indicators added and
//! removed, and per region the score and rank under each version for one method — plus the
//! rank the old version gets when only the revised cells are replaced, which separates the
//! effect of the revisions from that of new data.
//!
//! Owns: [`version_diff`] and its view. Must not: read the store (the caller opens both
//! versions) or format numbers.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use polars::prelude::*;
use serde::Serialize;

use super::compute_index;
use super::dashboard::Dataset;
use super::revisions::RevisedCell;
use crate::error::Result;
use crate::method::{IndexResult, MethodRecord, MethodSpec};
use crate::types::{Panel, panel_cols};

/// One cell present in only one of the versions.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CellValue {
    pub region: String,
    pub year: i32,
    /// The framework id of the series (or its name when the framework does not know it).
    pub indicator: String,
    pub value: f64,
}

/// A region's result under both versions in the year compared.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RankEffect {
    pub region: String,
    pub score_from: Option<f64>,
    pub rank_from: Option<u32>,
    pub score_to: Option<f64>,
    pub rank_to: Option<u32>,
    /// `rank_from − rank_to`: positive = moved up.
    pub rank_change: Option<i64>,
    /// The old version recomputed with only the revised cells set to their new values.
    pub score_revised_only: Option<f64>,
    pub rank_revised_only: Option<u32>,
    /// `rank_from − rank_revised_only`: the part of the rank change the revisions alone cause.
    pub rank_change_revisions: Option<i64>,
}

/// The difference between version `from` and version `to` of one dataset.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionDiff {
    pub dataset: String,
    pub from: u32,
    pub to: u32,
    /// The method both versions were computed with.
    #[schema(value_type = Object)]
    pub method: MethodRecord,
    /// The year of [`VersionDiff::effect`]: the latest year both versions score (`null` when
    /// they share none).
    pub year: Option<i32>,
    /// Scored indicators of `to`'s framework that `from`'s lacks, and the reverse.
    pub indicators_added: Vec<String>,
    pub indicators_removed: Vec<String>,
    /// Cells with a value in `to` only, and in `from` only; sorted by indicator, region, year.
    pub added: Vec<CellValue>,
    pub removed: Vec<CellValue>,
    /// Cells whose value differs, `old` from `from`, `new` from `to`.
    pub revised: Vec<RevisedCell>,
    /// One row per region scored in the year compared, by rank under `to`.
    pub effect: Vec<RankEffect>,
}

type Key = (String, i32, String);

/// The panel's cells with a value, by (region, year, framework id).
fn cells(ds: &Dataset) -> Result<(Panel, BTreeMap<Key, f64>)> {
    use panel_cols::*;
    let panel = ds.framework.canonicalize(&ds.panel)?;
    let f = panel.frame();
    let (region, year) = (f.column(REGION)?.str()?, f.column(YEAR)?.i32()?);
    let (indicator, value) = (f.column(INDICATOR)?.str()?, f.column(VALUE)?.f64()?);
    let mut out = BTreeMap::new();
    for (((r, y), i), v) in region
        .iter()
        .zip(year.iter())
        .zip(indicator.iter())
        .zip(value.iter())
    {
        if let (Some(r), Some(y), Some(i), Some(v)) = (r, y, i, v) {
            out.insert((r.to_owned(), y, i.to_owned()), v);
        }
    }
    Ok((panel, out))
}

/// `(score, rank)` per region in `year`.
fn scores_in(result: &IndexResult, year: i32) -> Result<HashMap<String, (f64, u32)>> {
    let f = result
        .scores
        .clone()
        .lazy()
        .filter(col("year").eq(lit(year)))
        .select([
            col("region"),
            col("score").cast(DataType::Float64),
            col("rank").cast(DataType::UInt32),
        ])
        .collect()?;
    let (region, score, rank) = (
        f.column("region")?.str()?,
        f.column("score")?.f64()?,
        f.column("rank")?.u32()?,
    );
    Ok(region
        .iter()
        .zip(score.iter())
        .zip(rank.iter())
        .filter_map(|((r, s), k)| Some((r?.to_owned(), (s?, k?))))
        .collect())
}

fn scored_years(result: &IndexResult) -> Result<BTreeSet<i32>> {
    let years = result
        .scores
        .clone()
        .lazy()
        .filter(col("score").is_not_null())
        .select([col("year")])
        .collect()?;
    Ok(years.column("year")?.i32()?.iter().flatten().collect())
}

/// The old panel (canonical names) with the revised cells set to their new values.
fn with_revisions(panel: &Panel, revised: &[RevisedCell]) -> Result<Panel> {
    use panel_cols::*;
    let new: HashMap<(&str, i32, &str), f64> = revised
        .iter()
        .map(|c| ((c.region.as_str(), c.year, c.indicator.as_str()), c.new))
        .collect();
    let f = panel.frame();
    let (region, year) = (f.column(REGION)?.str()?, f.column(YEAR)?.i32()?);
    let (indicator, value) = (f.column(INDICATOR)?.str()?, f.column(VALUE)?.f64()?);
    let values: Float64Chunked = region
        .iter()
        .zip(year.iter())
        .zip(indicator.iter())
        .zip(value.iter())
        .map(|(((r, y), i), v)| match (r, y, i) {
            (Some(r), Some(y), Some(i)) => new.get(&(r, y, i)).copied().or(v),
            _ => v,
        })
        .collect();
    let mut frame = f.clone();
    frame.with_column(values.with_name(VALUE.into()).into_column())?;
    Ok(Panel::new(frame)?)
}

/// One version as the diff reads it: its data, its number and its index under the diff's
/// method (the caller's result for that version and method — the server's cached one).
pub struct Side<'a> {
    pub dataset: &'a Dataset,
    pub number: u32,
    pub result: &'a IndexResult,
}

/// The difference between two versions of one dataset under `spec`, whose results for both
/// versions the [`Side`]s carry. Computes the index once: `from` with only the revised cells
/// replaced. Pure; blocking (polars).
pub fn version_diff(from: Side<'_>, to: Side<'_>, spec: &MethodSpec) -> Result<VersionDiff> {
    let (from_panel, old) = cells(from.dataset)?;
    let (_, new) = cells(to.dataset)?;
    let cell = |((region, year, indicator), value): (&Key, &f64)| CellValue {
        region: region.clone(),
        year: *year,
        indicator: indicator.clone(),
        value: *value,
    };
    let by_indicator = |a: &CellValue, b: &CellValue| {
        (&a.indicator, &a.region, a.year).cmp(&(&b.indicator, &b.region, b.year))
    };
    let mut added: Vec<CellValue> = new
        .iter()
        .filter(|(k, _)| !old.contains_key(*k))
        .map(cell)
        .collect();
    let mut removed: Vec<CellValue> = old
        .iter()
        .filter(|(k, _)| !new.contains_key(*k))
        .map(cell)
        .collect();
    added.sort_by(by_indicator);
    removed.sort_by(by_indicator);
    let mut revised: Vec<RevisedCell> = old
        .iter()
        .filter_map(|((region, year, indicator), &a)| {
            let b = *new.get(&(region.clone(), *year, indicator.clone()))?;
            (a.to_bits() != b.to_bits()).then(|| RevisedCell {
                region: region.clone(),
                year: *year,
                indicator: indicator.clone(),
                old: a,
                new: b,
                change_pct: (a != 0.0).then(|| (b - a) / a.abs() * 100.0),
                stored_name: indicator.clone(),
            })
        })
        .collect();
    revised
        .sort_by(|a, b| (&a.indicator, &a.region, a.year).cmp(&(&b.indicator, &b.region, b.year)));
    let ids = |ds: &Dataset| -> BTreeSet<String> {
        ds.framework
            .indicators
            .iter()
            .map(|d| d.id.to_string())
            .collect()
    };
    let (ids_from, ids_to) = (ids(from.dataset), ids(to.dataset));

    let result_revised = compute_index(
        &with_revisions(&from_panel, &revised)?,
        &from.dataset.framework,
        spec,
    )?;
    let year = scored_years(from.result)?
        .intersection(&scored_years(to.result)?)
        .max()
        .copied();
    let effect = match year {
        Some(year) => effect_in(year, from.result, to.result, &result_revised)?,
        None => Vec::new(),
    };
    Ok(VersionDiff {
        dataset: to.dataset.id.to_string(),
        from: from.number,
        to: to.number,
        method: to.result.method.clone(),
        year,
        indicators_added: ids_to.difference(&ids_from).cloned().collect(),
        indicators_removed: ids_from.difference(&ids_to).cloned().collect(),
        added,
        removed,
        revised,
        effect,
    })
}

fn effect_in(
    year: i32,
    from: &IndexResult,
    to: &IndexResult,
    revised_only: &IndexResult,
) -> Result<Vec<RankEffect>> {
    let (a, b, r) = (
        scores_in(from, year)?,
        scores_in(to, year)?,
        scores_in(revised_only, year)?,
    );
    let regions: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let change = |x: Option<u32>, y: Option<u32>| Some(i64::from(x?) - i64::from(y?));
    let mut rows: Vec<RankEffect> = regions
        .into_iter()
        .map(|region| {
            let (sf, rf) = a
                .get(region)
                .map_or((None, None), |&(s, k)| (Some(s), Some(k)));
            let (st, rt) = b
                .get(region)
                .map_or((None, None), |&(s, k)| (Some(s), Some(k)));
            let (sr, rr) = r
                .get(region)
                .map_or((None, None), |&(s, k)| (Some(s), Some(k)));
            RankEffect {
                region: region.clone(),
                score_from: sf,
                rank_from: rf,
                score_to: st,
                rank_to: rt,
                rank_change: change(rf, rt),
                score_revised_only: sr,
                rank_revised_only: rr,
                rank_change_revisions: change(rf, rr),
            }
        })
        .collect();
    rows.sort_by_key(|e| (e.rank_to.is_none(), e.rank_to, e.rank_from));
    Ok(rows)
}
