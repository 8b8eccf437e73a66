//! `compute`: the whole method on a wide region-year table — impute → normalise → weight →
//! aggregate → rank — composed from the building blocks of the sibling modules.
//!
//! Owns: reading the wide frame once into tight columns (rows sorted by year, region), the
//! choice of the set each statistic runs over (panel or year), notices, and the output frames.
//! Must not: do I/O, read configuration, or know the framework file format.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Range;

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
    parts: std::sync::Arc<NormalisedParts>,
    frame: std::sync::OnceLock<DataFrame>,
}

/// What the long normalised table is made of: per row of the method's table its region and
/// year, per scored indicator its id and its `raw`, `z` and `imputed` columns.
#[derive(Debug)]
struct NormalisedParts {
    region: Vec<String>,
    year: Vec<i32>,
    ids: Vec<String>,
    raw: Vec<Vec<f64>>,
    z: Vec<Vec<f64>>,
    imputed: Vec<Vec<bool>>,
}

impl NormalisedParts {
    fn bytes(&self) -> usize {
        let f64s: usize = self.raw.iter().chain(&self.z).map(Vec::len).sum();
        let bools: usize = self.imputed.iter().map(Vec::len).sum();
        let strings: usize = self
            .region
            .iter()
            .chain(&self.ids)
            .map(|s| s.len() + std::mem::size_of::<String>())
            .sum();
        8 * f64s + bools + 4 * self.year.len() + strings
    }

    /// The frame, rows by (row of the table, indicator).
    fn frame(&self) -> Result<DataFrame, MethodError> {
        let (rows, k) = (self.year.len(), self.ids.len());
        let n = rows * k;
        let row: Vec<u32> = (0..rows as u32)
            .flat_map(|i| std::iter::repeat_n(i, k))
            .collect();
        let id: Vec<u32> = (0..rows).flat_map(|_| 0..k as u32).collect();
        let year: Vec<i32> = self
            .year
            .iter()
            .flat_map(|&y| std::iter::repeat_n(y, k))
            .collect();
        let interleave = |cols: &[Vec<f64>]| -> Vec<Option<f64>> {
            (0..rows)
                .flat_map(|i| cols.iter().map(move |c| (!c[i].is_nan()).then_some(c[i])))
                .collect()
        };
        let imputed: Vec<bool> = (0..rows)
            .flat_map(|i| self.imputed.iter().map(move |c| c[i]))
            .collect();
        Ok(DataFrame::new(
            n,
            vec![
                gathered_strings("region", &self.region, &row)?,
                Column::new("year".into(), year),
                gathered_strings("indicator", &self.ids, &id)?,
                Column::new("raw".into(), interleave(&self.raw)),
                Column::new("z".into(), interleave(&self.z)),
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
    table: Table,
    indicators: Vec<IndicatorSpec>,
    /// Framework indicators after interpolation, and which cells were interpolated.
    filled: Vec<Vec<f64>>,
    was_imputed: Vec<Vec<bool>>,
    coverage: Vec<f64>,
    coverage_threshold: f64,
    /// Indices (into `indicators`) of the scored indicators.
    scored: Vec<usize>,
    notices: Vec<MethodNotice>,
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
        let mut table = Table::read(wide, indicators)?;
        let mut notices = Vec::new();
        let Imputed {
            values: filled,
            filled: was_imputed,
        } = impute_and_trim(&mut table, &mut notices)?;
        let coverage: Vec<f64> = table.cols.iter().map(|c| impute::coverage(c)).collect();
        let scored: Vec<usize> = (0..indicators.len())
            .filter(|&j| coverage[j] >= coverage_threshold)
            .collect();
        notices.extend(coverage_notices(
            indicators,
            &coverage,
            &was_imputed,
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
            table,
            indicators: indicators.to_vec(),
            filled,
            was_imputed,
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
        &self.table.region
    }

    /// The year of each row.
    pub fn row_years(&self) -> &[i32] {
        &self.table.year
    }

    /// Each year with its contiguous range of rows, ascending.
    pub fn years(&self) -> &[(i32, Range<usize>)] {
        &self.table.years
    }

    /// The scored indicators, in framework order.
    pub fn scored(&self) -> Vec<&IndicatorSpec> {
        self.scored.iter().map(|&j| &self.indicators[j]).collect()
    }

    /// The scored indicators' values after interpolation (before treatment), one column each.
    pub fn raw(&self) -> Vec<&[f64]> {
        self.scored
            .iter()
            .map(|&j| self.filled[j].as_slice())
            .collect()
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
    pub fn normalise(&self, raw: &[Vec<f64>], how: Normalise) -> Vec<Vec<f64>> {
        raw.iter()
            .zip(self.scored())
            .map(|(col, ind)| self.table.normalise(col, ind.direction, how))
            .collect()
    }

    /// Weights per year (`w[year index][scored indicator]`) of `spec.weights` on `z`.
    pub fn weights(&self, z: &[Vec<f64>], spec: &MethodSpec) -> Result<Vec<Vec<f64>>, MethodError> {
        scheme_weights(&spec.weights, &self.table, z, &self.scored(), spec)
    }

    /// The overall score of every row under `spec.aggregate` (and `spec.normalise`, which sets
    /// the TOPSIS ideal points and the geometric mean's input).
    pub fn overall(&self, z: &[Vec<f64>], w: &[Vec<f64>], spec: &MethodSpec) -> Vec<f64> {
        let all: Vec<usize> = (0..z.len()).collect();
        Aggregator::new(&self.table, z, w, spec).scores(&all).values
    }

    /// The score of every row on each dimension's indicators.
    pub fn dimension_scores(
        &self,
        z: &[Vec<f64>],
        w: &[Vec<f64>],
        spec: &MethodSpec,
    ) -> Vec<(Dimension, Vec<f64>)> {
        let agg = Aggregator::new(&self.table, z, w, spec);
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
        let mut ranks = vec![None; self.table.len()];
        for (_, range) in &self.table.years {
            let r = rank::competition_rank(&scores[range.clone()], TIE_TOLERANCE);
            ranks[range.clone()].copy_from_slice(&r);
        }
        ranks
    }

    /// The full index under `spec` (whose coverage threshold must be the one this panel was
    /// prepared with; `compute` guarantees it).
    pub fn result(&self, spec: &MethodSpec) -> Result<IndexResult, MethodError> {
        debug_assert_eq!(spec.coverage_threshold, self.coverage_threshold);
        let table = &self.table;
        let indicators = &self.indicators;
        let scored = &self.scored;
        let mut notices = self.notices.clone();
        let specs = self.scored();
        let raw = self.raw();
        let (treated, treatment) = self.treated(spec.treat, spec.treat_max_points);
        let treated_refs: Vec<&[f64]> = treated.iter().map(Vec::as_slice).collect();

        // 2. Normalisation.
        let z = self.normalise(&treated, spec.normalise);
        notices.extend(constant_notices(
            table,
            &treated_refs,
            &specs,
            spec.normalise,
        ));

        // 3. Weights, one vector per year (identical for panel schemes).
        let w = self.weights(&z, spec)?;

        // 4. Aggregation of every group, 5. rank.
        let groups = Groups::new(indicators, scored);
        let agg = Aggregator::new(table, &z, &w, spec);
        let overall = agg.scores(&(0..scored.len()).collect::<Vec<_>>());
        let mut degenerate = overall.degenerate;
        let mut extra: Vec<(String, Vec<f64>)> = Vec::new();
        for (name, members) in &groups.list {
            let s = agg.scores(members);
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
        let missing: Vec<u32> = (0..table.len())
            .map(|i| raw.iter().filter(|c| c[i].is_nan()).count() as u32)
            .collect();
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
                parts: std::sync::Arc::new(NormalisedParts {
                    region: table.region.clone(),
                    year: table.year.clone(),
                    ids: specs.iter().map(|s| s.id.to_string()).collect(),
                    raw: raw.iter().map(|c| c.to_vec()).collect(),
                    z,
                    imputed: scored
                        .iter()
                        .map(|&j| self.was_imputed[j].clone())
                        .collect(),
                }),
                frame: std::sync::OnceLock::new(),
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
/// unscored). Returns the filled columns and which cells were filled, for the kept rows.
fn impute_and_trim(
    table: &mut Table,
    notices: &mut Vec<MethodNotice>,
) -> Result<Imputed, MethodError> {
    let (filled, was_imputed) = table.interpolate();
    let rows: Vec<usize> = (0..table.len())
        .filter(|&i| filled.iter().any(|c| !c[i].is_nan()))
        .collect();
    if rows.is_empty() {
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
    let dropped = table.len() - rows.len();
    if dropped == 0 {
        return Ok(Imputed {
            values: filled,
            filled: was_imputed,
        });
    }
    notices.push(MethodNotice::new(
        "method.empty_rows",
        format!(
            "{dropped} region-years have no value for any indicator, even after interpolation: \
             left out"
        ),
        None,
    ));
    table.retain(&rows);
    Ok(Imputed {
        values: filled.iter().map(|c| pick(c, &rows)).collect(),
        filled: was_imputed.iter().map(|c| pick(c, &rows)).collect(),
    })
}

/// Indicator columns after interpolation, and which cells were interpolated.
struct Imputed {
    values: Vec<Vec<f64>>,
    filled: Vec<Vec<bool>>,
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

/// The wide input as tight columns, rows sorted by (year, region).
#[derive(Debug, Clone)]
struct Table {
    region: Vec<String>,
    year: Vec<i32>,
    /// Contiguous row range of each year, ascending.
    years: Vec<(i32, Range<usize>)>,
    /// One column per framework indicator; NaN = missing.
    cols: Vec<Vec<f64>>,
    /// Rows added for interior years absent from the input.
    added: usize,
}

impl Table {
    fn read(wide: &DataFrame, indicators: &[IndicatorSpec]) -> Result<Table, MethodError> {
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
        let mut exprs = vec![
            col("region").cast(DataType::String),
            col("year").cast(DataType::Int32),
        ];
        exprs.extend(
            indicators
                .iter()
                .map(|i| col(i.id.as_str()).cast(DataType::Float64)),
        );
        let df = wide.clone().lazy().select(exprs).collect()?;
        for name in ["region", "year"] {
            let c = df.column(name)?;
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
        let df = df.sort(
            ["year", "region"],
            SortMultipleOptions::default().with_maintain_order(true),
        )?;
        let region: Vec<String> = df
            .column("region")?
            .str()?
            .iter()
            .map(|s| s.unwrap_or_default().to_owned())
            .collect();
        let year: Vec<i32> = df
            .column("year")?
            .i32()?
            .iter()
            .map(|y| y.unwrap_or_default())
            .collect();
        for i in 1..year.len() {
            if year[i] == year[i - 1] && region[i] == region[i - 1] {
                return Err(MethodError::DuplicateRow {
                    region: region[i].clone(),
                    year: year[i],
                });
            }
        }
        let mut cols = Vec::with_capacity(indicators.len());
        for ind in indicators {
            let values: Vec<f64> = df
                .column(ind.id.as_str())?
                .f64()?
                .iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect();
            if let Some(i) = values.iter().position(|v| v.is_infinite()) {
                return Err(MethodError::NonFinite {
                    indicator: ind.id.to_string(),
                    region: region[i].clone(),
                    year: year[i],
                });
            }
            cols.push(values);
        }
        let mut table = Table {
            region,
            year,
            years: Vec::new(),
            cols,
            added: 0,
        };
        table.add_interior_years();
        table.index_years();
        Ok(table)
    }

    /// Add an all-missing row for every panel year that lies strictly between a region's first
    /// and last row but is absent from the input, so that interior interpolation also fills
    /// region-years that a long → wide pivot left out (docs/method.md §3: interior gaps of a region's
    /// series are interpolated). Rows stay sorted by (year, region).
    fn add_interior_years(&mut self) {
        let all_years: BTreeSet<i32> = self.year.iter().copied().collect();
        let mut span: HashMap<&str, (i32, i32)> = HashMap::new();
        let mut present: HashSet<(&str, i32)> = HashSet::new();
        for (r, &y) in self.region.iter().zip(&self.year) {
            let e = span.entry(r.as_str()).or_insert((y, y));
            *e = (e.0.min(y), e.1.max(y));
            present.insert((r.as_str(), y));
        }
        let mut missing: Vec<(i32, String)> = Vec::new();
        for (r, &(lo, hi)) in &span {
            for &y in all_years.range(lo..=hi) {
                if !present.contains(&(*r, y)) {
                    missing.push((y, (*r).to_owned()));
                }
            }
        }
        if missing.is_empty() {
            return;
        }
        self.added = missing.len();
        for (y, r) in missing {
            self.year.push(y);
            self.region.push(r);
            for c in &mut self.cols {
                c.push(f64::NAN);
            }
        }
        let mut order: Vec<usize> = (0..self.year.len()).collect();
        order.sort_by(|&a, &b| {
            (self.year[a], &self.region[a]).cmp(&(self.year[b], &self.region[b]))
        });
        self.region = order.iter().map(|&i| self.region[i].clone()).collect();
        self.year = pick(&self.year, &order);
        self.cols = self.cols.iter().map(|c| pick(c, &order)).collect();
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
        self.region = rows.iter().map(|&i| self.region[i].clone()).collect();
        self.year = pick(&self.year, rows);
        self.cols = self.cols.iter().map(|c| pick(c, rows)).collect();
        self.index_years();
    }

    fn len(&self) -> usize {
        self.year.len()
    }

    /// Row indices of each region, in year order.
    fn region_runs(&self) -> Vec<Vec<usize>> {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut runs: Vec<Vec<usize>> = Vec::new();
        for (i, r) in self.region.iter().enumerate() {
            let k = *index.entry(r.as_str()).or_insert_with(|| {
                runs.push(Vec::new());
                runs.len() - 1
            });
            runs[k].push(i);
        }
        runs
    }

    /// Every column with interior gaps interpolated per region, and the filled cells.
    fn interpolate(&self) -> (Vec<Vec<f64>>, Vec<Vec<bool>>) {
        let runs = self.region_runs();
        self.cols
            .iter()
            .map(|col| {
                let mut out = col.clone();
                let mut filled = vec![false; col.len()];
                for run in &runs {
                    let years: Vec<i32> = run.iter().map(|&i| self.year[i]).collect();
                    let values: Vec<f64> = run.iter().map(|&i| col[i]).collect();
                    let (v, f) = impute::interpolate_interior(&years, &values);
                    for (k, &i) in run.iter().enumerate() {
                        out[i] = v[k];
                        filled[i] = f[k];
                    }
                }
                (out, filled)
            })
            .unzip()
    }

    /// Apply `f` to the whole column (panel set) or to each year's slice.
    fn per_set(&self, col: &[f64], per_year: bool, f: impl Fn(&[f64]) -> Vec<f64>) -> Vec<f64> {
        if per_year {
            self.years
                .iter()
                .flat_map(|(_, r)| f(&col[r.clone()]))
                .collect()
        } else {
            f(col)
        }
    }

    fn normalise(&self, col: &[f64], direction: Direction, how: Normalise) -> Vec<f64> {
        match how {
            Normalise::MinmaxPanel => normalise::minmax(col, direction),
            Normalise::MinmaxYear => self.per_set(col, true, |c| normalise::minmax(c, direction)),
            Normalise::Zscore => normalise::zscore(col, direction),
            Normalise::Rank => normalise::percentile_rank(col, direction),
        }
    }
}

fn constant_notices(
    table: &Table,
    raw: &[&[f64]],
    specs: &[&IndicatorSpec],
    how: Normalise,
) -> Vec<MethodNotice> {
    let mut out = Vec::new();
    for (col, ind) in raw.iter().zip(specs) {
        let constant_years: Vec<i32> = if how.per_year() {
            table
                .years
                .iter()
                .filter(|(_, r)| {
                    let slice = &col[r.clone()];
                    slice.iter().any(|v| !v.is_nan()) && normalise::is_constant(slice)
                })
                .map(|(y, _)| *y)
                .collect()
        } else {
            Vec::new()
        };
        if normalise::is_constant(col) {
            out.push(MethodNotice::new(
                "method.constant_indicator",
                format!("'{}' does not vary: z = 0 and weight 0", ind.id),
                Some(ind.id.as_str()),
            ));
        } else if !constant_years.is_empty() {
            let list: Vec<String> = constant_years.iter().map(i32::to_string).collect();
            out.push(MethodNotice::new(
                "method.constant_in_year",
                format!(
                    "'{}' does not vary within {}: z = 0 there",
                    ind.id,
                    list.join(", ")
                ),
                Some(ind.id.as_str()),
            ));
        }
    }
    out
}

/// Weights per year (`w[year index][scored indicator]`) for `scheme`.
///
/// Statistics run on z over all region-years for panel schemes and within each year for
/// `entropy-year`. Entropy needs non-negative shares, so on z-scores it runs on z min-max
/// rescaled over the same set (an affine map, so it equals entropy on min-max of x). Every
/// scheme gives an indicator whose z does not vary over its set weight 0.
fn scheme_weights(
    scheme: &WeightScheme,
    table: &Table,
    z: &[Vec<f64>],
    specs: &[&IndicatorSpec],
    spec: &MethodSpec,
) -> Result<Vec<Vec<f64>>, MethodError> {
    let n_years = table.years.len();
    let degenerate = |year: Option<i32>| MethodError::DegenerateWeights {
        scheme: scheme.to_string(),
        year,
    };
    let entropy_input = |cols: Vec<&[f64]>| -> Vec<Vec<f64>> {
        cols.into_iter()
            .map(|c| match spec.normalise {
                Normalise::Zscore => normalise::minmax(c, Direction::Benefit),
                _ => c.to_vec(),
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
            let cols: Vec<&[f64]> = u.iter().map(Vec::as_slice).collect();
            panel(weights::entropy(&cols, spec.shift))
        }
        WeightScheme::EntropyYear => table
            .years
            .iter()
            .map(|(y, r)| {
                let u = entropy_input(z.iter().map(|c| &c[r.clone()]).collect());
                let cols: Vec<&[f64]> = u.iter().map(Vec::as_slice).collect();
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

fn opt(values: &[f64]) -> Vec<Option<f64>> {
    values.iter().map(|v| (!v.is_nan()).then_some(*v)).collect()
}

fn scores_frame(
    table: &Table,
    score: &[f64],
    ranks: &[Option<u32>],
    groups: &[(String, Vec<f64>)],
    missing: &[u32],
) -> Result<DataFrame, MethodError> {
    let mut cols = vec![
        Column::new("region".into(), &table.region),
        Column::new("year".into(), &table.year),
        Column::new("score".into(), opt(score)),
        Column::new("rank".into(), ranks),
    ];
    for (name, values) in groups {
        cols.push(Column::new(name.as_str().into(), opt(values)));
    }
    cols.push(Column::new("indicators_missing".into(), missing));
    let df = DataFrame::new(table.len(), cols)?;
    Ok(df.sort(
        ["year", "rank", "region"],
        SortMultipleOptions::default()
            .with_nulls_last(true)
            .with_maintain_order(true),
    )?)
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
