//! `compute`: the whole method on a wide region-year table — impute → normalise → weight →
//! aggregate → rank — composed from the building blocks of the sibling modules.
//!
//! Owns: reading the wide frame once into tight columns (rows sorted by year, region), the
//! choice of the set each statistic runs over (panel or year), notices, and the output frames.
//! Must not: do I/O, read configuration, or know the framework file format.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use polars::prelude::*;

use super::aggregate;
use super::error::{MethodError, MethodNotice};
use super::impute;
use super::normalise;
use super::rank::{self, TIE_TOLERANCE};
use super::spec::{
    Aggregate, IndicatorSpec, MethodRecord, MethodSpec, Normalise, Treat, WeightScheme, subindices,
};
use super::treat::{self, TreatMethod};
use super::weights;
use super::{any_cell, map_columns};
use crate::types::{Dimension, Direction, gathered_strings};

/// Everything a computed index consists of.
#[derive(Debug, Clone)]
pub struct IndexResult {
    /// `region, year, score, rank, laborers, tools, objects`, then one column per sub-dimension
    /// (`<dimension>/<subdimension>`), then `level/<level>` for the levels the framework uses and
    /// `subindex/ai_digital` when it tags intelligence-and-digital indicators, then
    /// `indicators_missing` (scored indicators missing after imputation). Scores are on
    /// 0–100 (geometric: 1–100); null where undefined. Sorted by year, rank, region.
    pub scores: DataFrame,
    /// `indicator, dimension, weight` (+ `year` for per-year schemes), one row per framework
    /// indicator (excluded ones weigh 0); weights sum to 1 (per year).
    pub weights: DataFrame,
    /// The long normalised table, built on first use ([`IndexResult::normalised`]).
    normalised: Normalised,
    /// `indicator, coverage` (share of region-years observed before imputation)`, excluded`.
    pub coverage: DataFrame,
    /// The indicators the outlier treatment changed (empty without treatment).
    pub treatment: Vec<TreatmentRow>,
    pub notices: Vec<MethodNotice>,
    pub method: MethodRecord,
}

impl IndexResult {
    /// Long: `region, year, indicator, raw` (after imputation, before treatment)`, z, imputed`
    /// for the scored indicators, sorted by year, region, framework order. Built on the first
    /// call and kept: one row per region-year-indicator is more than the rest of the method
    /// costs, and the scores alone (`nqp compute`) never need it.
    pub fn normalised(&self) -> Result<&DataFrame, MethodError> {
        if let Some(frame) = self.normalised.frame.get() {
            return Ok(frame);
        }
        let frame = self.normalised.parts.frame()?;
        Ok(self.normalised.frame.get_or_init(|| frame))
    }

    /// Bytes the normalised table holds: its columns before the frame, and the frame once
    /// built (Polars' estimate).
    pub fn normalised_bytes(&self) -> usize {
        self.normalised.parts.bytes()
            + self
                .normalised
                .frame
                .get()
                .map_or(0, DataFrame::estimated_size)
    }
}

/// The columns of the normalised table, and the frame once [`IndexResult::normalised`] built it.
#[derive(Debug, Clone)]
struct Normalised {
    parts: Arc<NormalisedParts>,
    frame: OnceLock<DataFrame>,
}

/// What the long normalised table is made of: the prepared panel (shared with the [`Prepared`]
/// it came from, not copied: its rows' region and year, each indicator's `raw` and `imputed`
/// columns) and per scored indicator its id and `z` column.
#[derive(Debug)]
struct NormalisedParts {
    panel: Arc<Filled>,
    /// Indices into the panel's columns of the scored indicators, and their ids.
    scored: Vec<usize>,
    ids: Vec<String>,
    z: Vec<Vec<f64>>,
}

impl NormalisedParts {
    /// The scored indicators' `raw` columns.
    fn raw(&self) -> Vec<&[f64]> {
        self.panel.values_of(&self.scored)
    }

    /// Bytes held: the prepared panel's columns (region, year, every indicator's values and
    /// imputed flags — the excluded indicators' too, as the panel is shared whole) and `z`.
    fn bytes(&self) -> usize {
        let panel = &self.panel;
        let rows = panel.table.len();
        let f64s: usize = panel.values.iter().chain(&self.z).map(Vec::len).sum();
        let bools: usize = panel.imputed.iter().map(Vec::len).sum();
        let names = &panel.table.names;
        let strings: usize = (panel.table.ids.iter().map(|&r| &names[r as usize]))
            .chain(&self.ids)
            .map(|s| s.len() + std::mem::size_of::<String>())
            .sum();
        8 * f64s + bools + 4 * rows + strings
    }

    /// The frame, rows by (row of the table, indicator).
    fn frame(&self) -> Result<DataFrame, MethodError> {
        let table = &self.panel.table;
        let (rows, k) = (table.len(), self.ids.len());
        let n = rows * k;
        let region: Vec<u32> = (table.ids.iter())
            .flat_map(|&r| std::iter::repeat_n(r, k))
            .collect();
        let id: Vec<u32> = (0..rows).flat_map(|_| 0..k as u32).collect();
        let year: Vec<i32> = table
            .year
            .iter()
            .flat_map(|&y| std::iter::repeat_n(y, k))
            .collect();
        let interleave = |cols: &[&[f64]]| -> Vec<Option<f64>> {
            (0..rows)
                .flat_map(|i| cols.iter().map(move |c| (!c[i].is_nan()).then_some(c[i])))
                .collect()
        };
        let z: Vec<&[f64]> = self.z.iter().map(Vec::as_slice).collect();
        let imputed: Vec<bool> = (0..rows)
            .flat_map(|i| self.scored.iter().map(move |&j| self.panel.imputed[j][i]))
            .collect();
        Ok(DataFrame::new(
            n,
            vec![
                gathered_strings("region", &table.names, &region)?,
                Column::new("year".into(), year),
                gathered_strings("indicator", &self.ids, &id)?,
                Column::new("raw".into(), interleave(&self.raw())),
                Column::new("z".into(), interleave(&z)),
                Column::new("imputed".into(), imputed),
            ],
        )?)
    }
}

/// Compute the index (docs/method.md) on `wide`: columns `region` (str), `year` (i32) and one f64
/// column per indicator id; other columns are ignored. NaN and null both mean missing.
pub fn compute(
    wide: &DataFrame,
    indicators: &[IndicatorSpec],
    spec: &MethodSpec,
) -> Result<IndexResult, MethodError> {
    validate(indicators, spec)?;
    Prepared::new(wide, indicators, spec.coverage_threshold)?.result(spec)
}

/// The panel read once, interpolated and with its scored indicators chosen: everything of the
/// method that does not depend on treatment, normalisation, weights or aggregation. Robustness
/// analyses run hundreds of methods on one `Prepared` (no frame is read per method).
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Shared with every result's normalised table (see [`NormalisedParts`]).
    panel: Arc<Filled>,
    indicators: Vec<IndicatorSpec>,
    coverage: Vec<f64>,
    coverage_threshold: f64,
    /// Indices (into `indicators`) of the scored indicators.
    scored: Vec<usize>,
    notices: Vec<MethodNotice>,
}

/// The panel after interpolation: its rows, and per framework indicator its values (NaN = still
/// missing) and which cells were interpolated.
#[derive(Debug)]
struct Filled {
    table: Table,
    values: Vec<Vec<f64>>,
    imputed: Vec<Vec<bool>>,
}

impl Filled {
    /// The values of the indicators at `indices` (into the framework's indicators).
    fn values_of(&self, indices: &[usize]) -> Vec<&[f64]> {
        indices.iter().map(|&j| self.values[j].as_slice()).collect()
    }
}

/// One treated indicator: what the treatment did (see [`treat::treat`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TreatmentRow {
    pub indicator: String,
    #[serde(flatten)]
    pub report: treat::TreatReport,
}

impl Prepared {
    /// Read `wide` (see [`compute`]), interpolate interior gaps and exclude indicators observed
    /// in fewer than `coverage_threshold` of region-years.
    pub fn new(
        wide: &DataFrame,
        indicators: &[IndicatorSpec],
        coverage_threshold: f64,
    ) -> Result<Prepared, MethodError> {
        let (mut table, cols, regions) = Table::read(wide, indicators)?;
        let mut notices = Vec::new();
        let columns = impute_and_trim(&mut table, cols, &regions, &mut notices)?;
        let coverage: Vec<f64> = columns.iter().map(|c| c.coverage).collect();
        let (values, imputed): (Vec<Vec<f64>>, Vec<Vec<bool>>) =
            columns.into_iter().map(|c| (c.values, c.imputed)).unzip();
        let scored: Vec<usize> = (0..indicators.len())
            .filter(|&j| coverage[j] >= coverage_threshold)
            .collect();
        notices.extend(coverage_notices(
            indicators,
            &coverage,
            &imputed,
            coverage_threshold,
        ));
        if scored.is_empty() {
            return Err(MethodError::NoIndicators {
                reason: format!(
                    "every indicator is observed in fewer than {:.1} % of region-years",
                    100.0 * coverage_threshold
                ),
            });
        }
        Ok(Prepared {
            panel: Arc::new(Filled {
                table,
                values,
                imputed,
            }),
            indicators: indicators.to_vec(),
            coverage,
            coverage_threshold,
            scored,
            notices,
        })
    }

    /// Check `spec` against this panel's indicators (as [`compute`] does).
    pub fn validate(&self, spec: &MethodSpec) -> Result<(), MethodError> {
        validate(&self.indicators, spec)
    }

    /// The region of each row; rows are sorted by (year, region).
    pub fn regions(&self) -> &[String] {
        self.panel.table.region()
    }

    /// The year of each row.
    pub fn row_years(&self) -> &[i32] {
        &self.panel.table.year
    }

    /// Each year with its contiguous range of rows, ascending.
    pub fn years(&self) -> &[(i32, Range<usize>)] {
        &self.panel.table.years
    }

    /// The scored indicators, in framework order.
    pub fn scored(&self) -> Vec<&IndicatorSpec> {
        self.scored.iter().map(|&j| &self.indicators[j]).collect()
    }

    /// The scored indicators' values after interpolation (before treatment), one column each.
    pub fn raw(&self) -> Vec<&[f64]> {
        self.panel.values_of(&self.scored)
    }

    /// The scored columns after `how` (pooled over the panel), and a row per indicator that
    /// the treatment changed.
    pub fn treated(&self, how: Treat, max_points: u32) -> (Vec<Vec<f64>>, Vec<TreatmentRow>) {
        let raw = self.raw();
        if how == Treat::None {
            return (raw.iter().map(|c| c.to_vec()).collect(), Vec::new());
        }
        let mut rows = Vec::new();
        let cols = raw
            .iter()
            .zip(self.scored())
            .map(|(col, ind)| {
                let t = treat::treat(col, max_points);
                if t.report.method != TreatMethod::None {
                    rows.push(TreatmentRow {
                        indicator: ind.id.to_string(),
                        report: t.report,
                    });
                }
                t.values
            })
            .collect();
        (cols, rows)
    }

    /// Direction-adjusted scores `z` of the (treated) scored columns.
    pub fn normalise<C: AsRef<[f64]> + Sync>(&self, raw: &[C], how: Normalise) -> Vec<Vec<f64>> {
        let table = &self.panel.table;
        let items: Vec<(&C, &IndicatorSpec)> = raw.iter().zip(self.scored()).collect();
        map_columns(items, raw.len() * table.len(), |(col, ind)| {
            table.normalise(col.as_ref(), ind.direction, how)
        })
    }

    /// Weights per year (`w[year index][scored indicator]`) of `spec.weights` on `z`.
    pub fn weights(&self, z: &[Vec<f64>], spec: &MethodSpec) -> Result<Vec<Vec<f64>>, MethodError> {
        scheme_weights(&spec.weights, &self.panel.table, z, &self.scored(), spec)
    }

    /// The overall score of every row under `spec.aggregate` (and `spec.normalise`, which sets
    /// the TOPSIS ideal points and the geometric mean's input).
    pub fn overall(&self, z: &[Vec<f64>], w: &[Vec<f64>], spec: &MethodSpec) -> Vec<f64> {
        let all: Vec<usize> = (0..z.len()).collect();
        Aggregator::new(&self.panel.table, z, w, spec)
            .scores(&all)
            .values
    }

    /// The score of every row on each dimension's indicators.
    pub fn dimension_scores(
        &self,
        z: &[Vec<f64>],
        w: &[Vec<f64>],
        spec: &MethodSpec,
    ) -> Vec<(Dimension, Vec<f64>)> {
        let agg = Aggregator::new(&self.panel.table, z, w, spec);
        let scored = self.scored();
        Dimension::ALL
            .iter()
            .map(|&d| {
                let members: Vec<usize> = (0..scored.len())
                    .filter(|&k| scored[k].dimension == d)
                    .collect();
                (d, agg.scores(&members).values)
            })
            .collect()
    }

    /// Competition ranks within each year (see [`rank::competition_rank`]).
    pub fn ranks(&self, scores: &[f64]) -> Vec<Option<u32>> {
        let table = &self.panel.table;
        // The years' row ranges follow each other from row 0 to the last.
        let years: Vec<&[f64]> = table
            .years
            .iter()
            .map(|(_, r)| &scores[r.clone()])
            .collect();
        map_columns(years, table.len(), |s| {
            rank::competition_rank(s, TIE_TOLERANCE)
        })
        .concat()
    }

    /// The full index under `spec` (whose coverage threshold must be the one this panel was
    /// prepared with; `compute` guarantees it).
    pub fn result(&self, spec: &MethodSpec) -> Result<IndexResult, MethodError> {
        debug_assert_eq!(spec.coverage_threshold, self.coverage_threshold);
        let table = &self.panel.table;
        let indicators = &self.indicators;
        let scored = &self.scored;
        let mut notices = self.notices.clone();
        let specs = self.scored();
        let raw = self.raw();
        // Without treatment the scored columns are used as they are, not copied.
        let (treated, treatment) = match spec.treat {
            Treat::None => (Vec::new(), Vec::new()),
            how => self.treated(how, spec.treat_max_points),
        };
        let treated_refs: Vec<&[f64]> = if spec.treat == Treat::None {
            raw.clone()
        } else {
            treated.iter().map(Vec::as_slice).collect()
        };

        // 2. Normalisation, and a notice per column that does not vary (from the same pass's
        // extremes for min-max over the panel).
        let items: Vec<(&[f64], &&IndicatorSpec)> =
            treated_refs.iter().copied().zip(&specs).collect();
        let (z, constant): (Vec<Vec<f64>>, Vec<Option<MethodNotice>>) =
            map_columns(items, treated_refs.len() * table.len(), |(col, ind)| {
                let (z, constant) = table.normalise_checked(col, ind.direction, spec.normalise);
                (
                    z,
                    constant_notice(table, col, ind, spec.normalise, constant),
                )
            })
            .into_iter()
            .unzip();
        notices.extend(constant.into_iter().flatten());

        // 3. Weights, one vector per year (identical for panel schemes).
        let w = self.weights(&z, spec)?;

        // 4. Aggregation of every group (the overall score first), 5. rank.
        let groups = Groups::new(indicators, scored);
        let agg = Aggregator::new(table, &z, &w, spec);
        let all: Vec<usize> = (0..scored.len()).collect();
        let members: Vec<&[usize]> = std::iter::once(all.as_slice())
            .chain(groups.list.iter().map(|(_, m)| m.as_slice()))
            .collect();
        let cells = table.len() * members.iter().map(|m| m.len()).sum::<usize>();
        let mut group_scores = map_columns(members, cells, |m| agg.scores(m)).into_iter();
        let overall = group_scores
            .next()
            .expect("the overall score is the first group");
        let mut degenerate = overall.degenerate;
        let mut extra: Vec<(String, Vec<f64>)> = Vec::new();
        for ((name, _), s) in groups.list.iter().zip(group_scores) {
            degenerate += s.degenerate;
            extra.push((name.clone(), s.values));
        }
        if degenerate > 0 {
            notices.push(MethodNotice::new(
                "method.topsis_degenerate",
                format!(
                    "{degenerate} TOPSIS scores had D⁺ + D⁻ = 0 (the row equals both ideal points): set to 50"
                ),
                None,
            ));
        }
        let ranks = self.ranks(&overall.values);
        let mut missing = vec![0u32; table.len()];
        // A column observed in every region-year before interpolation (coverage 1) has no
        // missing cell after it, so only the others are counted.
        for (col, &j) in raw.iter().zip(scored) {
            if self.coverage[j] < 1.0 {
                for (m, v) in missing.iter_mut().zip(col.iter()) {
                    *m += u32::from(v.is_nan());
                }
            }
        }
        let partial = missing.iter().filter(|&&m| m > 0).count();
        if partial > 0 {
            notices.push(MethodNotice::new(
                "method.partial_region_years",
                format!(
                    "{partial} region-years miss some indicators after imputation: scored on the \
                     available ones with re-normalised weights (see indicators_missing)"
                ),
                None,
            ));
        }

        Ok(IndexResult {
            scores: scores_frame(table, &overall.values, &ranks, &extra, &missing)?,
            weights: weights_frame(table, indicators, scored, &w, spec.weights.per_year())?,
            normalised: Normalised {
                parts: Arc::new(NormalisedParts {
                    panel: Arc::clone(&self.panel),
                    scored: scored.clone(),
                    ids: specs.iter().map(|s| s.id.to_string()).collect(),
                    z,
                }),
                frame: OnceLock::new(),
            },
            coverage: coverage_frame(indicators, &self.coverage, spec.coverage_threshold)?,
            treatment,
            notices,
            method: MethodRecord::new(spec, TIE_TOLERANCE),
        })
    }
}

/// Interpolate interior gaps, then leave out region-years that still have no value for any
/// indicator: they are not part of the index panel (they would only dilute coverage and appear
/// unscored). Returns per column the filled values, which cells were filled and the coverage
/// before filling, for the kept rows.
fn impute_and_trim(
    table: &mut Table,
    cols: Vec<Vec<f64>>,
    regions: &RegionRuns,
    notices: &mut Vec<MethodNotice>,
) -> Result<Vec<FilledColumn>, MethodError> {
    let rows = table.len();
    let cells = rows * cols.len();
    let mut columns = map_columns(cols, cells, |c| regions.interpolate(c));
    // A column without gaps leaves no row empty.
    let keep: Option<Vec<usize>> = if columns.iter().any(|c| c.raw.is_none()) {
        None
    } else {
        let mut seen = vec![false; rows];
        for c in &columns {
            for (s, v) in seen.iter_mut().zip(&c.values) {
                *s |= !v.is_nan();
            }
        }
        (!seen.iter().all(|&s| s)).then(|| (0..rows).filter(|&i| seen[i]).collect())
    };
    if keep.as_ref().is_some_and(Vec::is_empty) {
        return Err(MethodError::NoData);
    }
    if table.added > 0 {
        notices.push(MethodNotice::new(
            "method.interior_years",
            format!(
                "{} region-years absent from the data lie between a region's observed years: \
                 added as gaps to interpolate",
                table.added
            ),
            None,
        ));
    }
    if let Some(keep) = keep {
        notices.push(MethodNotice::new(
            "method.empty_rows",
            format!(
                "{} region-years have no value for any indicator, even after interpolation: \
                 left out",
                rows - keep.len()
            ),
            None,
        ));
        table.retain(&keep);
        for c in &mut columns {
            c.values = pick(&c.values, &keep);
            c.imputed = pick(&c.imputed, &keep);
            c.raw = c.raw.as_ref().map(|r| pick(r, &keep));
        }
    }
    Ok(columns
        .into_iter()
        .map(|c| FilledColumn {
            // Share of observed cells; a column without gaps has 1 exactly.
            coverage: c.raw.as_deref().map_or(1.0, impute::coverage),
            values: c.values,
            imputed: c.imputed,
        })
        .collect())
}

/// One indicator column after interpolation.
struct FilledColumn {
    values: Vec<f64>,
    imputed: Vec<bool>,
    coverage: f64,
}

/// One indicator column after interpolation, with the values before it when it had gaps.
struct Interpolated {
    values: Vec<f64>,
    imputed: Vec<bool>,
    raw: Option<Vec<f64>>,
}

/// The rows of the table grouped by region (each region's rows in year order), for
/// interpolating every column along each region's series.
struct RegionRuns {
    /// Row indices, region after region.
    rows: Vec<usize>,
    /// The year of each entry of `rows`.
    years: Vec<i32>,
    /// Where each region's run starts in `rows`, and the end.
    starts: Vec<usize>,
}

impl RegionRuns {
    /// `ids[i]`: the region of row `i` as an index below `n`; rows sorted by year.
    fn new(ids: &[u32], n: usize, year: &[i32]) -> RegionRuns {
        let mut starts = vec![0usize; n + 1];
        for &r in ids {
            starts[r as usize + 1] += 1;
        }
        for r in 0..n {
            starts[r + 1] += starts[r];
        }
        let mut next = starts.clone();
        let mut rows = vec![0usize; ids.len()];
        for (i, &r) in ids.iter().enumerate() {
            rows[next[r as usize]] = i;
            next[r as usize] += 1;
        }
        let years = pick(year, &rows);
        RegionRuns {
            rows,
            years,
            starts,
        }
    }

    /// `col` with the interior gaps of each region's series interpolated (docs/method.md §3).
    fn interpolate(&self, col: Vec<f64>) -> Interpolated {
        let n = col.len();
        if !any_cell(&col, f64::is_nan) {
            return Interpolated {
                values: col,
                imputed: vec![false; n],
                raw: None,
            };
        }
        let mut series = pick(&col, &self.rows);
        let mut filled = vec![false; n];
        for run in self.starts.windows(2) {
            let r = run[0]..run[1];
            impute::interpolate_in_place(
                &self.years[r.clone()],
                &mut series[r.clone()],
                &mut filled[r],
            );
        }
        let mut values = col.clone();
        let mut imputed = vec![false; n];
        for (k, &i) in self.rows.iter().enumerate() {
            if filled[k] {
                values[i] = series[k];
                imputed[i] = true;
            }
        }
        Interpolated {
            values,
            imputed,
            raw: Some(col),
        }
    }
}

/// `method.low_coverage` for excluded indicators, `method.imputed` for scored ones with gaps.
fn coverage_notices(
    indicators: &[IndicatorSpec],
    coverage: &[f64],
    was_imputed: &[Vec<bool>],
    threshold: f64,
) -> Vec<MethodNotice> {
    let mut out = Vec::new();
    for (j, ind) in indicators.iter().enumerate() {
        if coverage[j] < threshold {
            out.push(MethodNotice::new(
                "method.low_coverage",
                format!(
                    "'{}' is observed in {:.1} % of region-years, below the {:.1} % threshold: \
                     excluded",
                    ind.id,
                    100.0 * coverage[j],
                    100.0 * threshold
                ),
                Some(ind.id.as_str()),
            ));
            continue;
        }
        let n = was_imputed[j].iter().filter(|&&b| b).count();
        if n > 0 {
            out.push(MethodNotice::new(
                "method.imputed",
                format!("'{}': {n} interior gaps linearly interpolated", ind.id),
                Some(ind.id.as_str()),
            ));
        }
    }
    out
}

fn validate(indicators: &[IndicatorSpec], spec: &MethodSpec) -> Result<(), MethodError> {
    if !(spec.shift.is_finite() && spec.shift >= 0.0) {
        return Err(MethodError::InvalidSpec {
            message: format!("shift must be a finite number ≥ 0, got {}", spec.shift),
        });
    }
    if !(0.0..=1.0).contains(&spec.coverage_threshold) {
        return Err(MethodError::InvalidSpec {
            message: format!(
                "coverage threshold must be between 0 and 1, got {}",
                spec.coverage_threshold
            ),
        });
    }
    if indicators.is_empty() {
        return Err(MethodError::NoIndicators {
            reason: "the framework lists none".into(),
        });
    }
    let mut seen = std::collections::HashSet::new();
    for ind in indicators {
        if !seen.insert(ind.id.as_str()) {
            return Err(MethodError::DuplicateIndicator {
                indicator: ind.id.to_string(),
            });
        }
    }
    if uses_manual(&spec.weights) {
        for ind in indicators {
            match ind.manual_weight {
                Some(w) if w.is_finite() && w >= 0.0 => {}
                Some(w) => {
                    return Err(MethodError::ManualWeights {
                        message: format!("'{}' has weight {w}; weights must be ≥ 0", ind.id),
                        indicator: Some(ind.id.to_string()),
                    });
                }
                None => {
                    return Err(MethodError::ManualWeights {
                        message: format!("'{}' has no weight in the framework", ind.id),
                        indicator: Some(ind.id.to_string()),
                    });
                }
            }
        }
    }
    Ok(())
}

fn uses_manual(scheme: &WeightScheme) -> bool {
    match scheme {
        WeightScheme::Manual => true,
        WeightScheme::Combined { a, b, .. } => uses_manual(a) || uses_manual(b),
        _ => false,
    }
}

/// The wide input's rows sorted by (year, region).
#[derive(Debug)]
struct Table {
    /// The distinct region names, in order of first appearance in the rows.
    names: Vec<String>,
    /// Each row's region, an index into `names`: rows carry a number, not a copy of the name.
    ids: Vec<u32>,
    year: Vec<i32>,
    /// Contiguous row range of each year, ascending.
    years: Vec<(i32, Range<usize>)>,
    /// Rows added for interior years absent from the input.
    added: usize,
    /// Each row's region name, built on first use ([`Prepared::regions`]; `nqp compute` never
    /// asks for it).
    region: OnceLock<Vec<String>>,
}

impl Table {
    /// The table, one column per framework indicator in its row order (NaN = missing), and its
    /// rows grouped by region.
    fn read(
        wide: &DataFrame,
        indicators: &[IndicatorSpec],
    ) -> Result<(Table, Vec<Vec<f64>>, RegionRuns), MethodError> {
        for name in ["region", "year"]
            .into_iter()
            .chain(indicators.iter().map(|i| i.id.as_str()))
        {
            if wide.column(name).is_err() {
                return Err(MethodError::MissingColumn {
                    column: name.to_owned(),
                });
            }
        }
        for ind in indicators {
            let dtype = wide.column(ind.id.as_str())?.dtype();
            if !(dtype.is_primitive_numeric() || dtype.is_null()) {
                return Err(MethodError::NotNumeric {
                    column: ind.id.to_string(),
                    dtype: dtype.to_string(),
                });
            }
        }
        if wide.height() == 0 {
            return Err(MethodError::NoData);
        }
        let region_col = wide.column("region")?.cast(&DataType::String)?;
        let year_col = wide.column("year")?.cast(&DataType::Int32)?;
        for (name, c) in [("region", &region_col), ("year", &year_col)] {
            if c.null_count() > 0 {
                let row = (0..c.len())
                    .find(|&i| c.get(i).is_ok_and(|v| v.is_null()))
                    .unwrap_or(0);
                return Err(MethodError::NullKey {
                    column: name.to_owned(),
                    row: row + 1,
                });
            }
        }
        let input_names: Vec<&str> = region_col
            .str()?
            .iter()
            .map(Option::unwrap_or_default)
            .collect();
        let input_years: Vec<i32> = year_col.i32()?.into_no_null_iter().collect();
        let order = year_region_order(&input_years, &input_names);
        // Input already in (year, region) order (a wide file read as it is) is not gathered.
        let order = (!order.iter().enumerate().all(|(k, &i)| k == i)).then_some(order);
        let (sorted_names, year) = match &order {
            Some(order) => (pick(&input_names, order), pick(&input_years, order)),
            None => (input_names, input_years),
        };
        let (ids, n) = region_ids(&sorted_names);
        let names = first_names(&sorted_names, &ids, n);
        drop(sorted_names);
        for i in 1..year.len() {
            if year[i] == year[i - 1] && ids[i] == ids[i - 1] {
                return Err(MethodError::DuplicateRow {
                    region: names[ids[i] as usize].clone(),
                    year: year[i],
                });
            }
        }
        let series = indicators
            .iter()
            .map(|ind| Ok(wide.column(ind.id.as_str())?.cast(&DataType::Float64)?))
            .collect::<Result<Vec<Column>, MethodError>>()?;
        // Where each input row goes.
        let to: Option<Vec<usize>> = order.as_ref().map(|order| {
            let mut to = vec![0; order.len()];
            for (k, &i) in order.iter().enumerate() {
                to[i] = k;
            }
            to
        });
        let values = map_columns(
            series.iter().collect(),
            year.len() * series.len(),
            |c| -> Result<(Vec<f64>, Option<usize>), MethodError> {
                let values = values_with_nan(c.f64()?, to.as_deref());
                let infinite = if any_cell(&values, f64::is_infinite) {
                    values.iter().position(|v| v.is_infinite())
                } else {
                    None
                };
                Ok((values, infinite))
            },
        );
        let mut cols = Vec::with_capacity(indicators.len());
        for (ind, values) in indicators.iter().zip(values) {
            let (values, infinite) = values?;
            if let Some(i) = infinite {
                return Err(MethodError::NonFinite {
                    indicator: ind.id.to_string(),
                    region: names[ids[i] as usize].clone(),
                    year: year[i],
                });
            }
            cols.push(values);
        }
        let mut table = Table {
            names,
            ids,
            year,
            years: Vec::new(),
            added: 0,
            region: OnceLock::new(),
        };
        table.index_years();
        if table.has_interior_gaps(n) {
            table.add_interior_years(n, &mut cols);
            table.index_years();
        }
        let runs = RegionRuns::new(&table.ids, n, &table.year);
        Ok((table, cols, runs))
    }

    /// Whether some region lacks a panel year strictly between its first and last row
    /// (rows unique per region and year; `n` regions).
    fn has_interior_gaps(&self, n: usize) -> bool {
        let index = |y: i32| {
            self.years
                .binary_search_by_key(&y, |(year, _)| *year)
                .unwrap_or(0)
        };
        let mut span: Vec<Option<(i32, i32, usize)>> = vec![None; n];
        for (&r, &y) in self.ids.iter().zip(&self.year) {
            let s = &mut span[r as usize];
            *s = Some(match *s {
                None => (y, y, 1),
                Some((lo, hi, count)) => (lo.min(y), hi.max(y), count + 1),
            });
        }
        span.into_iter()
            .flatten()
            .any(|(lo, hi, count)| count < index(hi) - index(lo) + 1)
    }

    /// Add an all-missing row for every panel year that lies strictly between a region's first
    /// and last row but is absent from the input, so that interior interpolation also fills
    /// region-years that a long → wide pivot left out (docs/method.md §3: interior gaps of a region's
    /// series are interpolated). Rows stay sorted by (year, region); `n` regions.
    fn add_interior_years(&mut self, n: usize, cols: &mut [Vec<f64>]) {
        let all_years: BTreeSet<i32> = self.year.iter().copied().collect();
        let mut span: Vec<Option<(i32, i32)>> = vec![None; n];
        let mut present: HashSet<(u32, i32)> = HashSet::new();
        for (&r, &y) in self.ids.iter().zip(&self.year) {
            let s = &mut span[r as usize];
            *s = Some(s.map_or((y, y), |(lo, hi)| (lo.min(y), hi.max(y))));
            present.insert((r, y));
        }
        let mut missing: Vec<(i32, u32)> = Vec::new();
        for (r, s) in span.iter().enumerate() {
            let Some((lo, hi)) = *s else { continue };
            for &y in all_years.range(lo..=hi) {
                if !present.contains(&(r as u32, y)) {
                    missing.push((y, r as u32));
                }
            }
        }
        if missing.is_empty() {
            return;
        }
        self.added = missing.len();
        for (y, r) in missing {
            self.year.push(y);
            self.ids.push(r);
            for c in cols.iter_mut() {
                c.push(f64::NAN);
            }
        }
        let name = |i: usize| self.names[self.ids[i] as usize].as_str();
        let mut order: Vec<usize> = (0..self.year.len()).collect();
        order.sort_by(|&a, &b| (self.year[a], name(a)).cmp(&(self.year[b], name(b))));
        self.ids = pick(&self.ids, &order);
        self.year = pick(&self.year, &order);
        for c in cols.iter_mut() {
            *c = pick(c, &order);
        }
    }

    /// Recompute the contiguous row range of each year.
    fn index_years(&mut self) {
        self.years.clear();
        for (i, &y) in self.year.iter().enumerate() {
            match self.years.last_mut() {
                Some((last, range)) if *last == y => range.end = i + 1,
                _ => self.years.push((y, i..i + 1)),
            }
        }
    }

    /// Keep only the rows listed in `rows` (ascending).
    fn retain(&mut self, rows: &[usize]) {
        self.ids = pick(&self.ids, rows);
        self.year = pick(&self.year, rows);
        self.index_years();
    }

    fn len(&self) -> usize {
        self.year.len()
    }

    /// Each row's region name (built on the first call).
    fn region(&self) -> &[String] {
        self.region.get_or_init(|| {
            self.ids
                .iter()
                .map(|&r| self.names[r as usize].clone())
                .collect()
        })
    }

    fn normalise(&self, col: &[f64], direction: Direction, how: Normalise) -> Vec<f64> {
        match how {
            Normalise::MinmaxPanel => normalise::minmax(col, direction),
            Normalise::MinmaxYear => {
                let mut z = Vec::with_capacity(col.len());
                for (_, r) in &self.years {
                    z.extend(normalise::minmax(&col[r.clone()], direction));
                }
                z
            }
            Normalise::Zscore => normalise::zscore(col, direction),
            Normalise::Rank => normalise::percentile_rank(col, direction),
        }
    }

    /// [`Table::normalise`], and whether the column's observed cells are all equal (or none is
    /// observed; see [`normalise::is_constant`]). Min-max over the panel takes it from the
    /// extremes it computes anyway.
    fn normalise_checked(
        &self,
        col: &[f64],
        direction: Direction,
        how: Normalise,
    ) -> (Vec<f64>, bool) {
        match how {
            Normalise::MinmaxPanel => {
                let range = normalise::observed_range(col);
                (
                    normalise::minmax_over(col, range, direction),
                    normalise::is_constant_range(range),
                )
            }
            _ => (
                self.normalise(col, direction, how),
                normalise::is_constant(col),
            ),
        }
    }
}

/// The order of the rows sorted by (year, region), ties kept in input order: what a stable sort
/// on the two keys gives. The wide frame `Framework::derive` returns is sorted by region and
/// year, so a stable counting sort by year gives it without comparing names; other input is
/// sorted (an already sorted one is checked and kept as it is).
fn year_region_order(year: &[i32], region: &[&str]) -> Vec<usize> {
    let n = year.len();
    if (1..n).all(|i| (year[i - 1], region[i - 1]) <= (year[i], region[i])) {
        return (0..n).collect();
    }
    let (lo, hi) = (
        year.iter().copied().min().unwrap_or(0),
        year.iter().copied().max().unwrap_or(0),
    );
    let span = (i64::from(hi) - i64::from(lo) + 1) as usize;
    if span <= n && region.is_sorted() {
        let mut next = vec![0usize; span + 1];
        for &y in year {
            next[(y - lo) as usize + 1] += 1;
        }
        for k in 0..span {
            next[k + 1] += next[k];
        }
        let mut order = vec![0usize; n];
        for (i, &y) in year.iter().enumerate() {
            let slot = &mut next[(y - lo) as usize];
            order[*slot] = i;
            *slot += 1;
        }
        return order;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| (year[a], region[a]).cmp(&(year[b], region[b])));
    order
}

/// Each row's region as an index into the distinct names (in order of first appearance), and
/// their number. A name equal to the row above's is not looked up again.
fn region_ids<S: AsRef<str>>(region: &[S]) -> (Vec<u32>, usize) {
    let mut index: HashMap<&str, u32, foldhash::fast::RandomState> = HashMap::default();
    let mut ids = Vec::with_capacity(region.len());
    let mut last: Option<(&str, u32)> = None;
    for r in region {
        let r = r.as_ref();
        let id = match last {
            Some((name, id)) if name == r => id,
            _ => {
                let next = index.len() as u32;
                *index.entry(r).or_insert(next)
            }
        };
        last = Some((r, id));
        ids.push(id);
    }
    (ids, index.len())
}

/// The `n` distinct names of [`region_ids`], by id.
fn first_names(region: &[&str], ids: &[u32], n: usize) -> Vec<String> {
    let mut names = Vec::with_capacity(n);
    for (r, &id) in region.iter().zip(ids) {
        if id as usize == names.len() {
            names.push((*r).to_owned());
        }
    }
    names
}

/// The column's values with NaN for its nulls (NaN marks a missing cell in the method), input
/// row `i` at row `to[i]` (at row `i` without `to`). Chunk after chunk, each chunk's value buffer
/// is read in order and only the cells its validity bitmap unsets become NaN, instead of an
/// `Option` per cell and a second pass to reorder.
fn values_with_nan(ca: &Float64Chunked, to: Option<&[usize]>) -> Vec<f64> {
    let Some(to) = to else {
        let mut out = Vec::with_capacity(ca.len());
        for arr in ca.downcast_iter() {
            let start = out.len();
            out.extend_from_slice(arr.values());
            if let Some(validity) = arr.validity().filter(|v| v.unset_bits() > 0) {
                for (v, valid) in out[start..].iter_mut().zip(validity.iter()) {
                    if !valid {
                        *v = f64::NAN;
                    }
                }
            }
        }
        return out;
    };
    let mut out = vec![0.0; ca.len()];
    let mut start = 0;
    for arr in ca.downcast_iter() {
        let rows = &to[start..start + arr.len()];
        start += arr.len();
        let values = arr.values().iter();
        match arr.validity().filter(|v| v.unset_bits() > 0) {
            None => {
                for (&r, &v) in rows.iter().zip(values) {
                    out[r] = v;
                }
            }
            Some(validity) => {
                for ((&r, &v), valid) in rows.iter().zip(values).zip(validity.iter()) {
                    out[r] = if valid { v } else { f64::NAN };
                }
            }
        }
    }
    out
}

/// The notice for a column that does not vary over the panel (`constant`, see
/// [`Table::normalise_checked`]) or, under a per-year normalisation, within some years.
fn constant_notice(
    table: &Table,
    col: &[f64],
    ind: &IndicatorSpec,
    how: Normalise,
    constant: bool,
) -> Option<MethodNotice> {
    if constant {
        return Some(MethodNotice::new(
            "method.constant_indicator",
            format!("'{}' does not vary: z = 0 and weight 0", ind.id),
            Some(ind.id.as_str()),
        ));
    }
    if !how.per_year() {
        return None;
    }
    let constant_years: Vec<String> = table
        .years
        .iter()
        .filter(|(_, r)| {
            let slice = &col[r.clone()];
            slice.iter().any(|v| !v.is_nan()) && normalise::is_constant(slice)
        })
        .map(|(y, _)| y.to_string())
        .collect();
    (!constant_years.is_empty()).then(|| {
        MethodNotice::new(
            "method.constant_in_year",
            format!(
                "'{}' does not vary within {}: z = 0 there",
                ind.id,
                constant_years.join(", ")
            ),
            Some(ind.id.as_str()),
        )
    })
}

/// Weights per year (`w[year index][scored indicator]`) for `scheme`.
///
/// Statistics run on z over all region-years for panel schemes and within each year for
/// `entropy-year`. Entropy needs non-negative shares, so on z-scores it runs on z min-max
/// rescaled over the same set (an affine map, so it equals entropy on min-max of x). Every
/// scheme gives an indicator whose z does not vary over its set weight 0.
fn scheme_weights<'a>(
    scheme: &WeightScheme,
    table: &Table,
    z: &'a [Vec<f64>],
    specs: &[&IndicatorSpec],
    spec: &MethodSpec,
) -> Result<Vec<Vec<f64>>, MethodError> {
    let n_years = table.years.len();
    let degenerate = |year: Option<i32>| MethodError::DegenerateWeights {
        scheme: scheme.to_string(),
        year,
    };
    let entropy_input = |cols: Vec<&'a [f64]>| -> Vec<Cow<'a, [f64]>> {
        cols.into_iter()
            .map(|c| match spec.normalise {
                Normalise::Zscore => Cow::Owned(normalise::minmax(c, Direction::Benefit)),
                _ => Cow::Borrowed(c),
            })
            .collect()
    };
    let full: Vec<&[f64]> = z.iter().map(Vec::as_slice).collect();
    let panel = |w: Option<Vec<f64>>| w.map(|w| vec![w; n_years]).ok_or_else(|| degenerate(None));
    let informative = |raw: Vec<f64>| -> Vec<f64> {
        raw.into_iter()
            .zip(z)
            .map(|(w, col)| if normalise::is_constant(col) { 0.0 } else { w })
            .collect()
    };
    match scheme {
        WeightScheme::EntropyPanel => {
            let u = entropy_input(full);
            let cols: Vec<&[f64]> = u.iter().map(AsRef::as_ref).collect();
            panel(weights::entropy(&cols, spec.shift))
        }
        WeightScheme::EntropyYear => table
            .years
            .iter()
            .map(|(y, r)| {
                let u = entropy_input(z.iter().map(|c| &c[r.clone()]).collect());
                let cols: Vec<&[f64]> = u.iter().map(AsRef::as_ref).collect();
                weights::entropy(&cols, spec.shift).ok_or_else(|| degenerate(Some(*y)))
            })
            .collect(),
        WeightScheme::Critic => panel(weights::critic(&full)),
        WeightScheme::Sd => panel(weights::sd(&full)),
        WeightScheme::Equal => panel(weights::normalise_to_one(&informative(vec![1.0; z.len()]))),
        WeightScheme::Manual => panel(weights::normalise_to_one(&informative(
            specs
                .iter()
                .map(|s| s.manual_weight.unwrap_or(0.0))
                .collect(),
        ))),
        WeightScheme::Combined { a, b, mean } => {
            let wa = scheme_weights(a, table, z, specs, spec)?;
            let wb = scheme_weights(b, table, z, specs, spec)?;
            wa.iter()
                .zip(&wb)
                .zip(&table.years)
                .map(|((x, y), (year, _))| {
                    weights::combine(x, y, *mean)
                        .ok_or_else(|| degenerate(scheme.per_year().then_some(*year)))
                })
                .collect()
        }
    }
}

/// Named indicator groups beyond the overall score: the three dimensions, the sub-dimensions,
/// and the sub-indices the framework defines (mechanism levels, intelligence and digital). Each
/// is aggregated like the overall score over its own members, with their weights
/// (docs/method.md §6.1). Members are indices into the scored indicators.
struct Groups {
    list: Vec<(String, Vec<usize>)>,
}

impl Groups {
    fn new(indicators: &[IndicatorSpec], scored: &[usize]) -> Groups {
        let members = |pred: &dyn Fn(&IndicatorSpec) -> bool| -> Vec<usize> {
            scored
                .iter()
                .enumerate()
                .filter(|(_, j)| pred(&indicators[**j]))
                .map(|(k, _)| k)
                .collect()
        };
        let mut list: Vec<(String, Vec<usize>)> = Dimension::ALL
            .iter()
            .map(|&d| (d.as_str().to_owned(), members(&|i| i.dimension == d)))
            .collect();
        for d in Dimension::ALL {
            let mut subs: Vec<&str> = Vec::new();
            for ind in indicators.iter().filter(|i| i.dimension == d) {
                if let Some(s) = ind.subdimension.as_deref()
                    && !subs.contains(&s)
                {
                    subs.push(s);
                }
            }
            for s in subs {
                list.push((
                    format!("{}/{s}", d.as_str()),
                    members(&|i| i.dimension == d && i.subdimension.as_deref() == Some(s)),
                ));
            }
        }
        for sub in subindices(indicators) {
            list.push((sub.column().to_owned(), members(&|i| i.in_subindex(sub))));
        }
        Groups { list }
    }
}

struct GroupScores {
    values: Vec<f64>,
    /// TOPSIS rows with D⁺ + D⁻ = 0 that were set to 50.
    degenerate: usize,
}

/// Runs the chosen aggregation on any group of scored indicators, year by year.
struct Aggregator<'a> {
    table: &'a Table,
    z: &'a [Vec<f64>],
    /// Inputs of the geometric mean: z, or z min-max rescaled over the panel for z-scores.
    z01: Vec<Vec<f64>>,
    /// TOPSIS ideal points per year (identical for panel normalisations).
    ideals: Vec<(Vec<f64>, Vec<f64>)>,
    w: &'a [Vec<f64>],
    how: Aggregate,
}

impl<'a> Aggregator<'a> {
    fn new(table: &'a Table, z: &'a [Vec<f64>], w: &'a [Vec<f64>], spec: &MethodSpec) -> Self {
        let z01 = match (spec.aggregate, spec.normalise) {
            (Aggregate::Geometric, Normalise::Zscore) => z
                .iter()
                .map(|c| normalise::minmax(c, Direction::Benefit))
                .collect(),
            (Aggregate::Geometric, _) => z.to_vec(),
            _ => Vec::new(),
        };
        let ideals = if spec.aggregate == Aggregate::Topsis {
            table
                .years
                .iter()
                .map(|(_, r)| {
                    let cols: Vec<&[f64]> = z
                        .iter()
                        .map(|c| {
                            if spec.normalise.per_year() {
                                &c[r.clone()]
                            } else {
                                c.as_slice()
                            }
                        })
                        .collect();
                    aggregate::ideal_points(&cols)
                })
                .collect()
        } else {
            Vec::new()
        };
        Aggregator {
            table,
            z,
            z01,
            ideals,
            w,
            how: spec.aggregate,
        }
    }

    fn scores(&self, members: &[usize]) -> GroupScores {
        let mut values = Vec::with_capacity(self.table.len());
        let mut degenerate = 0;
        for (t, (_, r)) in self.table.years.iter().enumerate() {
            let w: Vec<f64> = members.iter().map(|&k| self.w[t][k]).collect();
            let slice = |m: &'a [Vec<f64>]| rows_of(m, members, r);
            if members.is_empty() {
                values.extend(std::iter::repeat_n(f64::NAN, r.len()));
                continue;
            }
            match self.how {
                Aggregate::Sum => values.extend(aggregate::weighted_sum(&slice(self.z), &w)),
                Aggregate::Geometric => {
                    values.extend(aggregate::geometric(&rows_of(&self.z01, members, r), &w))
                }
                Aggregate::Topsis => {
                    let cols = slice(self.z);
                    let (hi, lo) = &self.ideals[t];
                    let hi: Vec<f64> = members.iter().map(|&k| hi[k]).collect();
                    let lo: Vec<f64> = members.iter().map(|&k| lo[k]).collect();
                    let res = aggregate::topsis(&cols, &w, &hi, &lo);
                    for (i, c) in res.closeness.iter().enumerate() {
                        let weighted = cols
                            .iter()
                            .zip(&w)
                            .any(|(col, &wj)| wj > 0.0 && !col[i].is_nan());
                        let total = res.d_plus[i] + res.d_minus[i];
                        values.push(if !weighted {
                            f64::NAN
                        } else if total == 0.0 {
                            degenerate += 1;
                            50.0
                        } else {
                            100.0 * c
                        });
                    }
                }
            }
        }
        GroupScores { values, degenerate }
    }
}

/// The rows `r` of the member columns of `m`.
fn rows_of<'m>(m: &'m [Vec<f64>], members: &[usize], r: &Range<usize>) -> Vec<&'m [f64]> {
    members.iter().map(|&k| &m[k][r.clone()]).collect()
}

/// `v[i]` for each `i` of `rows`.
fn pick<T: Copy>(v: &[T], rows: &[usize]) -> Vec<T> {
    rows.iter().map(|&i| v[i]).collect()
}

/// The scores frame, rows sorted by year, rank (unranked last) and region.
fn scores_frame(
    table: &Table,
    score: &[f64],
    ranks: &[Option<u32>],
    groups: &[(String, Vec<f64>)],
    missing: &[u32],
) -> Result<DataFrame, MethodError> {
    // Within a year the table's rows are sorted by region, so a stable sort by rank gives the
    // order; (year, region) is unique, so it is the only one.
    let mut order: Vec<usize> = Vec::with_capacity(table.len());
    for (_, r) in &table.years {
        let start = order.len();
        order.extend(r.clone());
        order[start..].sort_by_key(|&i| (ranks[i].is_none(), ranks[i]));
    }
    // Scores in that order, NaN (undefined) as null; one column per item of the thread pool.
    let named: Vec<(&str, &[f64])> = std::iter::once(("score", score))
        .chain(groups.iter().map(|(name, v)| (name.as_str(), v.as_slice())))
        .collect();
    let mut scored = map_columns(named, table.len() * (groups.len() + 1), |(name, values)| {
        let v = pick(values, &order);
        if v.iter().any(|x| x.is_nan()) {
            let v: Vec<Option<f64>> = v.into_iter().map(|x| (!x.is_nan()).then_some(x)).collect();
            Column::new(name.into(), v)
        } else {
            Column::new(name.into(), v)
        }
    })
    .into_iter();
    let region: Vec<u32> = order.iter().map(|&i| table.ids[i]).collect();
    let mut cols = vec![
        gathered_strings("region", &table.names, &region)?,
        Column::new("year".into(), pick(&table.year, &order)),
        scored.next().expect("the score column is the first"),
        Column::new("rank".into(), pick(ranks, &order)),
    ];
    cols.extend(scored);
    cols.push(Column::new(
        "indicators_missing".into(),
        pick(missing, &order),
    ));
    Ok(DataFrame::new(table.len(), cols)?)
}

fn weights_frame(
    table: &Table,
    indicators: &[IndicatorSpec],
    scored: &[usize],
    w: &[Vec<f64>],
    per_year: bool,
) -> Result<DataFrame, MethodError> {
    let years: Vec<usize> = if per_year {
        (0..table.years.len()).collect()
    } else {
        vec![0]
    };
    let (mut id, mut dim, mut weight, mut year) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &t in &years {
        for (j, ind) in indicators.iter().enumerate() {
            id.push(ind.id.as_str());
            dim.push(ind.dimension.as_str());
            weight.push(scored.iter().position(|&s| s == j).map_or(0.0, |k| w[t][k]));
            year.push(table.years[t].0);
        }
    }
    let mut cols = vec![
        Column::new("indicator".into(), id),
        Column::new("dimension".into(), dim),
        Column::new("weight".into(), weight),
    ];
    if per_year {
        cols.push(Column::new("year".into(), year));
    }
    Ok(DataFrame::new_infer_height(cols)?)
}

fn coverage_frame(
    indicators: &[IndicatorSpec],
    coverage: &[f64],
    threshold: f64,
) -> Result<DataFrame, MethodError> {
    Ok(DataFrame::new_infer_height(vec![
        Column::new(
            "indicator".into(),
            indicators.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        ),
        Column::new("coverage".into(), coverage),
        Column::new(
            "excluded".into(),
            coverage.iter().map(|&c| c < threshold).collect::<Vec<_>>(),
        ),
    ])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_region_order_is_the_stable_sort_on_both_keys() {
        let cases: [(&[i32], &[&str]); 4] = [
            // sorted by region and year, as `Framework::derive` returns it: the counting sort
            (
                &[2019, 2021, 2020, 2021, 2019, 2020],
                &["a", "a", "b", "b", "c", "c"],
            ),
            // a duplicate key keeps its input order
            (&[2020, 2019, 2020, 2019], &["a", "a", "a", "b"]),
            // already sorted by year and region: kept
            (&[2019, 2019, 2020, 2020], &["a", "b", "a", "b"]),
            // neither: the general sort
            (&[2021, 2019, 2021, 2019, 2020], &["b", "c", "a", "a", "c"]),
        ];
        for (year, region) in cases {
            let mut want: Vec<usize> = (0..year.len()).collect();
            want.sort_by_key(|&i| (year[i], region[i]));
            assert_eq!(year_region_order(year, region), want, "{year:?} {region:?}");
        }
    }

    #[test]
    fn values_with_nan_read_every_chunk_as_the_option_iterator_does() {
        let nan = f64::NAN;
        let a = Float64Chunked::new("x".into(), &[Some(1.5), None, Some(-0.0)]);
        let b = Float64Chunked::new("x".into(), &[Some(nan), Some(4.0)]);
        let c = Float64Chunked::new("x".into(), &[None, Some(6.0), None, Some(8.0)]);
        let d = Float64Chunked::new("x".into(), &[9.0, 10.0]);
        let mut nulls = a.clone();
        nulls.append(&b).unwrap();
        nulls.append(&c).unwrap();
        let mut complete = d.clone();
        complete.append(&b).unwrap();
        // slices of the third chunk: their bitmaps start at an offset, the second's has no
        // unset bit
        let mut sliced = c.slice(1, 3);
        sliced.append(&a).unwrap();
        let mut valid = c.slice(1, 1);
        valid.append(&d).unwrap();
        for ca in [&nulls, &complete, &sliced, &valid, &a, &d] {
            assert!(ca.downcast_iter().count() > 1 || ca.len() <= 3);
            let old: Vec<f64> = ca.iter().map(|v| v.unwrap_or(nan)).collect();
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&values_with_nan(ca, None)), bits(&old), "{ca:?}");
            // the reverse order, and a rotation
            let n = old.len();
            for order in [
                (0..n).rev().collect::<Vec<_>>(),
                (0..n).map(|i| (i + 2) % n).collect(),
            ] {
                let mut to = vec![0; n];
                for (k, &i) in order.iter().enumerate() {
                    to[i] = k;
                }
                assert_eq!(
                    bits(&values_with_nan(ca, Some(&to))),
                    bits(&pick(&old, &order)),
                    "{ca:?} {order:?}"
                );
            }
        }
    }

    #[test]
    fn region_runs_interpolate_each_regions_series() {
        let region: Vec<String> = ["a", "b", "a", "b", "a"].map(String::from).to_vec();
        let year = [2019, 2019, 2020, 2020, 2021];
        let (ids, n) = region_ids(&region);
        assert_eq!((ids.as_slice(), n), ([0, 1, 0, 1, 0].as_slice(), 2));
        let runs = RegionRuns::new(&ids, n, &year);
        assert_eq!(runs.rows, vec![0, 2, 4, 1, 3]);
        assert_eq!(runs.starts, vec![0, 3, 5]);
        let nan = f64::NAN;
        // a: 1, gap, 3 → 2 interpolated; b: 7 then a trailing gap, which stays missing
        let out = runs.interpolate(vec![1.0, 7.0, nan, nan, 3.0]);
        assert_eq!(&out.values[..3], &[1.0, 7.0, 2.0]);
        assert!(out.values[3].is_nan());
        assert_eq!(out.values[4], 3.0);
        assert_eq!(out.imputed, vec![false, false, true, false, false]);
        assert!(out.raw.is_some_and(|r| r[2].is_nan()));
        let complete = runs.interpolate(vec![1.0; 5]);
        assert!(complete.raw.is_none() && complete.imputed == vec![false; 5]);
    }
}
