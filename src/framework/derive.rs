//! Apply a framework to a panel: map series names onto framework ids, pivot to a wide frame and
//! evaluate every indicator's formula as a polars expression.
//!
//! Owns: `Framework::canonicalize` and `Framework::derive`, with the data-dependent errors
//! (missing series, division by zero, two names giving one series two values). Must not:
//! normalise, impute or weight (that is `method`): a missing input gives a null, never a guess.

use std::collections::BTreeSet;

use polars::prelude::*;

use super::{Framework, FrameworkError, IndicatorDef};
use crate::types::{Panel, panel_cols};

/// Column of the original series name while aliases are resolved.
const SOURCE_NAME: &str = "__source_name";

impl Framework {
    /// The panel with every series name that is an alias replaced by its framework id. Series the
    /// framework does not know are kept unchanged. Null values of renamed series are dropped so
    /// that two files covering different years of one series merge cleanly; a region-year with a
    /// value under two names is a [`FrameworkError::AliasConflict`].
    pub fn canonicalize(&self, panel: &Panel) -> Result<Panel, FrameworkError> {
        use panel_cols::*;
        let names = panel.indicators()?;
        let mut from = Vec::new();
        let mut to = Vec::new();
        for name in &names {
            if let Some(id) = self.canonical_id(name)
                && id.as_str() != name
            {
                from.push(name.clone());
                to.push(id.to_string());
            }
        }
        if from.is_empty() {
            return Ok(panel.clone());
        }
        let renamed: BTreeSet<&str> = to.iter().map(String::as_str).collect();
        let mapping = df!("__from" => &from, "__to" => &to)?;
        let frame = panel
            .frame()
            .clone()
            .lazy()
            .join(
                mapping.lazy(),
                [col(INDICATOR)],
                [col("__from")],
                JoinArgs::new(JoinType::Left),
            )
            .with_columns([
                col(INDICATOR).alias(SOURCE_NAME),
                when(col("__to").is_not_null())
                    .then(col("__to"))
                    .otherwise(col(INDICATOR))
                    .alias(INDICATOR),
            ])
            .filter(
                col(INDICATOR)
                    .is_in(string_list(renamed.iter().copied()), false)
                    .not()
                    .or(col(VALUE).is_not_null()),
            )
            .select([
                col(REGION),
                col(YEAR),
                col(INDICATOR),
                col(VALUE),
                col(SOURCE_NAME),
            ])
            .collect()?;

        let dup = frame
            .clone()
            .lazy()
            .group_by([col(REGION), col(YEAR), col(INDICATOR)])
            .agg([
                col(SOURCE_NAME).sort(Default::default()).alias("__names"),
                len().alias("__n"),
            ])
            .filter(col("__n").gt(lit(1)))
            .sort([REGION, YEAR, INDICATOR], Default::default())
            .limit(1)
            .collect()?;
        if dup.height() > 0 {
            let region = dup
                .column(REGION)?
                .str()?
                .get(0)
                .unwrap_or_default()
                .to_string();
            let year = dup.column(YEAR)?.i32()?.get(0).unwrap_or_default();
            let id = dup
                .column(INDICATOR)?
                .str()?
                .get(0)
                .unwrap_or_default()
                .to_string();
            let names_series = dup.column("__names")?.list()?.get_as_series(0);
            let mut names: Vec<String> = match names_series {
                Some(s) => s.str()?.iter().flatten().map(str::to_owned).collect(),
                None => Vec::new(),
            };
            names.dedup();
            return Err(FrameworkError::AliasConflict {
                id,
                names,
                region,
                year,
            });
        }
        Ok(Panel::new(frame)?)
    }

    /// The wide frame of framework indicators: `region: str, year: i32`, then one `f64` column per
    /// indicator in framework order, sorted by region and year. Region-years where every indicator
    /// is null are left out. Errors: a needed series absent from the panel
    /// (`framework.missing_indicator`), a zero denominator (`framework.division_by_zero`, naming
    /// the first region and year), or an alias conflict.
    pub fn derive(&self, panel: &Panel) -> Result<DataFrame, FrameworkError> {
        use panel_cols::*;
        let panel = self.canonicalize(panel)?;
        let present: BTreeSet<String> = panel.indicators()?.into_iter().collect();
        let required = self.required_series();
        for (id, needed_by) in &required {
            if !present.contains(id.as_str()) {
                return Err(FrameworkError::MissingIndicator {
                    id: id.to_string(),
                    needed_by: needed_by.iter().map(ToString::to_string).collect(),
                });
            }
        }
        let leaves: Vec<&str> = required.iter().map(|(id, _)| id.as_str()).collect();

        // Formulas made of numbers only need no series: the rows are then the panel's region-years.
        if leaves.is_empty() {
            let keys = panel
                .frame()
                .clone()
                .lazy()
                .select([col(REGION), col(YEAR)])
                .unique(None, UniqueKeepStrategy::First)
                .sort([REGION, YEAR], Default::default());
            return self.evaluate(keys.collect()?);
        }
        let wide = wide_from_long(panel.frame(), &leaves)?;
        self.evaluate(wide)
    }

    /// Check the denominators, then compute every indicator on the wide frame of raw series.
    fn evaluate(&self, wide: DataFrame) -> Result<DataFrame, FrameworkError> {
        use panel_cols::*;
        self.check_denominators(&wide)?;

        let mut exprs = vec![col(REGION), col(YEAR)];
        exprs.extend(self.indicators.iter().map(|def| {
            self.indicator_expr(def)
                .cast(DataType::Float64)
                .alias(def.id.as_str())
        }));
        let any_value = self
            .indicators
            .iter()
            .map(|def| col(def.id.as_str()).is_not_null())
            .reduce(|a, b| a.or(b))
            .unwrap_or(lit(false));
        Ok(wide.lazy().select(exprs).filter(any_value).collect()?)
    }

    /// The expression computing one indicator from the wide frame's raw columns, with the
    /// formulas of indicators it refers to inlined.
    fn indicator_expr(&self, def: &IndicatorDef) -> Expr {
        match &def.formula {
            Some(formula) => formula.expr().to_expr(&mut |name| self.name_expr(name)),
            None => col(def.id.as_str()),
        }
    }

    fn name_expr(&self, name: &str) -> Expr {
        match self.get(name) {
            Some(def) => self.indicator_expr(def),
            None => col(name),
        }
    }

    /// Every denominator must be non-zero wherever it has a value. Indicators are checked in
    /// dependency order so that the error names the indicator that actually divides.
    fn check_denominators(&self, wide: &DataFrame) -> Result<(), FrameworkError> {
        use panel_cols::*;
        let mut checks = Vec::new();
        for def in self.dependency_order() {
            let Some(formula) = &def.formula else {
                continue;
            };
            for den in formula.expr().denominators() {
                let expr = den.to_expr(&mut |name| self.name_expr(name));
                checks.push((def, den.to_string(), expr));
            }
        }
        if checks.is_empty() {
            return Ok(());
        }
        let flags = wide
            .clone()
            .lazy()
            .select(
                checks
                    .iter()
                    .enumerate()
                    .map(|(k, (_, _, expr))| {
                        expr.clone()
                            .cast(DataType::Float64)
                            .eq(lit(0.0))
                            .fill_null(lit(false))
                            .alias(format!("__zero{k}"))
                    })
                    .collect::<Vec<_>>(),
            )
            .collect()?;
        let regions = wide.column(REGION)?.str()?;
        let years = wide.column(YEAR)?.i32()?;
        for (k, (def, denominator, _)) in checks.iter().enumerate() {
            let zero = flags.column(&format!("__zero{k}"))?.bool()?;
            if let Some(row) = zero.iter().position(|z| z == Some(true)) {
                return Err(FrameworkError::DivisionByZero {
                    id: def.id.to_string(),
                    denominator: denominator.clone(),
                    region: regions.get(row).unwrap_or_default().to_string(),
                    year: years.get(row).unwrap_or_default(),
                });
            }
        }
        Ok(())
    }

    /// Indicators ordered so that each comes after the indicators its formula uses.
    fn dependency_order(&self) -> Vec<&IndicatorDef> {
        fn visit<'f>(fw: &'f Framework, def: &'f IndicatorDef, out: &mut Vec<&'f IndicatorDef>) {
            if out.iter().any(|d| d.id == def.id) {
                return;
            }
            if let Some(formula) = &def.formula {
                for name in formula.identifiers() {
                    // Validation rejected cycles, so this recursion terminates.
                    if let Some(dep) = fw.get(name) {
                        visit(fw, dep, out);
                    }
                }
            }
            out.push(def);
        }
        let mut out = Vec::new();
        for def in &self.indicators {
            visit(self, def, &mut out);
        }
        out
    }
}

/// A literal list of strings for `is_in` (imploded: polars 0.55 deprecates a same-typed column as
/// the set and warns on stderr).
fn string_list<'a>(values: impl Iterator<Item = &'a str>) -> Expr {
    lit(Series::new("".into(), values.collect::<Vec<_>>())).implode(false)
}

/// Long → wide for the series `leaves`: `region, year`, then one `f64` column per leaf, one row
/// per (region, year) that has any of them, sorted by region and year.
///
/// A tight columnar pass over the panel sorted by (region, year) instead of polars' `pivot`,
/// which compares every row's indicator name once per output column (measured: the pivot was
/// the largest single cost of `derive` on a 3.6 M-row panel). The panel holds at most one
/// value per (region, year, series) — ingest and `canonicalize` reject duplicates.
fn wide_from_long(long: &DataFrame, leaves: &[&str]) -> PolarsResult<DataFrame> {
    use panel_cols::*;
    let wanted = string_list(leaves.iter().copied());
    let sorted = long
        .clone()
        .lazy()
        .filter(col(INDICATOR).is_in(wanted, false))
        .sort(
            [REGION, YEAR],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .collect()?;
    let regions = sorted.column(REGION)?.str()?.clone();
    let years = sorted.column(YEAR)?.i32()?.clone();
    let indicators = sorted.column(INDICATOR)?.str()?.clone();
    let values = sorted.column(VALUE)?.f64()?.clone();
    let slot: std::collections::HashMap<&str, usize> =
        leaves.iter().enumerate().map(|(j, l)| (*l, j)).collect();

    let mut out_region: Vec<&str> = Vec::new();
    let mut out_year: Vec<i32> = Vec::new();
    let mut cols: Vec<Vec<Option<f64>>> = vec![Vec::new(); leaves.len()];
    let mut current: Option<(&str, i32)> = None;
    for (((region, year), indicator), value) in regions
        .iter()
        .zip(years.iter())
        .zip(indicators.iter())
        .zip(values.iter())
    {
        let (Some(region), Some(year), Some(indicator)) = (region, year, indicator) else {
            continue;
        };
        if current != Some((region, year)) {
            current = Some((region, year));
            out_region.push(region);
            out_year.push(year);
            for c in &mut cols {
                c.push(None);
            }
        }
        if let Some(&j) = slot.get(indicator)
            && let Some(cell) = cols[j].last_mut()
            && cell.is_none()
        {
            *cell = value;
        }
    }
    let mut columns = vec![
        Column::new(REGION.into(), out_region),
        Column::new(YEAR.into(), out_year),
    ];
    columns.extend(
        leaves
            .iter()
            .zip(cols)
            .map(|(name, values)| Column::new((*name).into(), values)),
    );
    DataFrame::new_infer_height(columns)
}
