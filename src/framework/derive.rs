//! Apply a framework to a panel: map series names onto framework ids, pivot to a wide frame and
//! evaluate every indicator's formula as a polars expression.
//!
//! Owns: `Framework::canonicalize` and `Framework::derive`, with the data-dependent errors
//! (missing series, division by zero, two names giving one series two values). Must not:
//! normalise, impute or weight (that is `method`): a missing input gives a null, never a guess.

use std::collections::{BTreeSet, HashMap, HashSet};

use polars::prelude::*;

use super::{BinOp, FormulaExpr, Framework, FrameworkError, IndicatorDef};
use crate::types::{CodedPanel, Panel, WidePanel, gathered_strings, panel_cols, rows_with_values};

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
        let wide = match (panel.coded(), panel.wide()) {
            (Some(coded), _) => wide_from_coded(coded, &leaves)?,
            (None, Some(wide)) => wide_from_wide(wide, &leaves)?,
            (None, None) => wide_from_long(panel.frame(), &leaves)?,
        };
        self.evaluate(wide)
    }

    /// Compute every formula indicator, check the denominators, then select the indicators in
    /// framework order from the wide frame of raw series.
    fn evaluate(&self, wide: DataFrame) -> Result<DataFrame, FrameworkError> {
        use panel_cols::*;
        let order = self.formula_order();
        let staged = self.stage_formulas(wide, &order)?;
        self.check_denominators(&staged, &order)?;

        let mut exprs = vec![col(REGION), col(YEAR)];
        exprs.extend(self.indicators.iter().map(|def| {
            self.name_expr(def.id.as_str())
                .cast(DataType::Float64)
                .alias(def.id.as_str())
        }));
        // One horizontal test, not a chain of `or`s as deep as the framework is long.
        let any_value = any_horizontal(
            self.indicators
                .iter()
                .map(|def| col(def.id.as_str()).is_not_null())
                .collect::<Vec<_>>(),
        )?;
        Ok(staged.lazy().select(exprs).filter(any_value).collect()?)
    }

    /// The wide frame with one staged column per formula indicator, computed in dependency
    /// order (`order`) on the frame's `f64` columns: a formula reads the staged columns of the
    /// indicators it uses instead of inlining their formulas, so a chain of formulas that each
    /// use the previous one twice stays linear in size (inlining doubles the expression at every
    /// link). Arithmetic is polars' element-wise `f64` arithmetic with nulls propagating, as in
    /// the expressions the formulas translate to.
    fn stage_formulas(
        &self,
        wide: DataFrame,
        order: &[&IndicatorDef],
    ) -> Result<DataFrame, FrameworkError> {
        let height = wide.height();
        let mut frame = wide;
        for def in order {
            let Some(formula) = &def.formula else {
                continue;
            };
            let value = evaluate_columns(formula.expr(), &mut |name| {
                float_column(&frame, &self.column_of(name))
            })?;
            let values = match value {
                Staged::Column(ca) => ca,
                Staged::Scalar(x) => Float64Chunked::full("".into(), x, height),
            };
            frame.with_column(
                values
                    .with_name(staged_column(def.id.as_str()).into())
                    .into_column(),
            )?;
        }
        Ok(frame)
    }

    /// The column an identifier reads once the formulas are staged: a formula indicator's staged
    /// column, else the raw series of that name.
    fn column_of(&self, name: &str) -> String {
        match self.get(name) {
            Some(def) if def.formula.is_some() => staged_column(def.id.as_str()),
            Some(def) => def.id.to_string(),
            None => name.to_owned(),
        }
    }

    fn name_expr(&self, name: &str) -> Expr {
        col(self.column_of(name))
    }

    /// Every denominator must be non-zero wherever it has a value. Indicators are checked in
    /// dependency order so that the error names the indicator that actually divides.
    fn check_denominators(
        &self,
        staged: &DataFrame,
        order: &[&IndicatorDef],
    ) -> Result<(), FrameworkError> {
        use panel_cols::*;
        let mut checks = Vec::new();
        for def in order {
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
        let flags = staged
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
        let regions = staged.column(REGION)?.str()?;
        let years = staged.column(YEAR)?.i32()?;
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

    /// The formula indicators in dependency order: by stage (stage k holds those whose formulas
    /// use formula indicators of earlier stages only), framework order within a stage. Computed
    /// with an explicit stack, so a long chain of formulas cannot exhaust the thread's stack; an
    /// indicator met again while its own inputs are being staged (a cycle, which validation
    /// rejects) is not followed.
    pub(super) fn formula_order(&self) -> Vec<&IndicatorDef> {
        let uses = |def: &IndicatorDef| -> Vec<&str> {
            def.formula
                .as_ref()
                .map(|f| {
                    f.identifiers()
                        .into_iter()
                        .filter_map(|name| self.get(name))
                        .filter(|dep| dep.formula.is_some())
                        .map(|dep| dep.id.as_str())
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut stage_of: HashMap<&str, usize> = HashMap::new();
        let mut open: HashSet<&str> = HashSet::new();
        for def in self.indicators.iter().filter(|d| d.formula.is_some()) {
            let mut stack = vec![(def, false)];
            while let Some((def, inputs_done)) = stack.pop() {
                let id = def.id.as_str();
                if stage_of.contains_key(id) {
                    continue;
                }
                let deps = uses(def);
                if inputs_done {
                    let stage = deps
                        .iter()
                        .filter_map(|dep| stage_of.get(dep).map(|s| s + 1))
                        .max()
                        .unwrap_or(0);
                    stage_of.insert(id, stage);
                    open.remove(id);
                    continue;
                }
                open.insert(id);
                stack.push((def, true));
                for dep in deps {
                    if !stage_of.contains_key(dep) && !open.contains(dep) {
                        stack.extend(self.get(dep).map(|d| (d, false)));
                    }
                }
            }
        }
        let mut order: Vec<&IndicatorDef> = self
            .indicators
            .iter()
            .filter(|def| stage_of.contains_key(def.id.as_str()))
            .collect();
        order.sort_by_key(|def| stage_of[def.id.as_str()]);
        order
    }
}

/// The temporary column of a computed formula indicator (a name no series id can take:
/// identifiers are `[a-z][a-z0-9_]*`).
fn staged_column(id: &str) -> String {
    format!("__formula:{id}")
}

/// A formula's value: a column, or a number when the formula uses no series.
enum Staged {
    Scalar(f64),
    Column(Float64Chunked),
}

/// Evaluate a formula over `f64` columns; `column` returns the values an identifier names.
/// Recursion is bounded by the parser's nesting limit.
fn evaluate_columns(
    expr: &FormulaExpr,
    column: &mut dyn FnMut(&str) -> PolarsResult<Float64Chunked>,
) -> PolarsResult<Staged> {
    Ok(match expr {
        FormulaExpr::Number(x) => Staged::Scalar(*x),
        FormulaExpr::Ident(name) => Staged::Column(column(name)?),
        // −x as the expression translation writes it: (−1) · x.
        FormulaExpr::Neg(inner) => apply(
            BinOp::Mul,
            Staged::Scalar(-1.0),
            evaluate_columns(inner, column)?,
        ),
        FormulaExpr::Binary { op, lhs, rhs } => apply(
            *op,
            evaluate_columns(lhs, column)?,
            evaluate_columns(rhs, column)?,
        ),
    })
}

fn apply(op: BinOp, lhs: Staged, rhs: Staged) -> Staged {
    let f = |a: f64, b: f64| match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
    };
    match (lhs, rhs) {
        (Staged::Scalar(a), Staged::Scalar(b)) => Staged::Scalar(f(a, b)),
        (Staged::Column(a), Staged::Scalar(b)) => Staged::Column(a.apply_values(|x| f(x, b))),
        (Staged::Scalar(a), Staged::Column(b)) => Staged::Column(b.apply_values(|x| f(a, x))),
        (Staged::Column(a), Staged::Column(b)) => Staged::Column(match op {
            BinOp::Add => &a + &b,
            BinOp::Sub => &a - &b,
            BinOp::Mul => &a * &b,
            BinOp::Div => &a / &b,
        }),
    }
}

/// A column of the wide frame as `f64`.
fn float_column(frame: &DataFrame, name: &str) -> PolarsResult<Float64Chunked> {
    Ok(frame.column(name)?.cast(&DataType::Float64)?.f64()?.clone())
}

/// A literal list of strings for `is_in` (imploded: polars 0.55 deprecates a same-typed column as
/// the set and warns on stderr).
fn string_list<'a>(values: impl Iterator<Item = &'a str>) -> Expr {
    lit(Series::new("".into(), values.collect::<Vec<_>>())).implode(false)
}

/// The wide frame of the `leaves` series: `region, year`, then one `f64` column per leaf, one row
/// per (region, year) that has any of them, sorted by region and year.
///
/// One pass over the panel in its own order instead of polars' `pivot`, which compares every
/// row's indicator name once per output column (measured: the pivot was the largest single cost
/// of `derive` on a 3.6 M-row panel), and without sorting the panel: only the distinct
/// (region, year) rows are sorted at the end. A panel lists each region-year's rows together,
/// so the row is found by comparing with the previous one; a hash map finds the others. Where a
/// (region, year, series) had two rows, the first with a value wins — what a stable sort by
/// (region, year) followed by the same walk gave.
fn wide_from_long(long: &DataFrame, leaves: &[&str]) -> PolarsResult<DataFrame> {
    use panel_cols::*;
    let regions = long.column(REGION)?.str()?;
    let years = long.column(YEAR)?.i32()?;
    let indicators = long.column(INDICATOR)?.str()?;
    let values = long.column(VALUE)?.f64()?;
    let slot: Map<&str, usize> = leaves.iter().enumerate().map(|(j, l)| (*l, j)).collect();
    let mut wide = WideRows::new(leaves.len());
    for (((region, year), indicator), value) in regions
        .iter()
        .zip(years.iter())
        .zip(indicators.iter())
        .zip(values.iter())
    {
        let (Some(region), Some(year), Some(indicator)) = (region, year, indicator) else {
            continue;
        };
        if let Some(&j) = slot.get(indicator) {
            wide.put((region, year), j, value);
        }
    }
    wide.frame(leaves, |&(region, year)| (region, year))
}

/// [`wide_from_long`] on a panel held coded: the same frame, the rows found by region and
/// indicator ids instead of strings and without building the panel's frame. Ids that share a
/// name (two spellings renamed to one code) count as one region.
///
/// Where the (region, year) keys are dense — the grid of distinct region names × the span of
/// years holds not many more cells than there are observations, the shape of every panel
/// (regions × years × indicators) — each value is scattered straight into its cell of
/// preallocated columns: its row is `rank of the region name × years + year offset`, so rows
/// come out sorted by region name and year with no hash lookup per observation and no sort.
/// Sparse keys take the hash-map walk.
fn wide_from_coded(coded: &CodedPanel, leaves: &[&str]) -> PolarsResult<DataFrame> {
    let (region, year, indicator, value) = (
        coded.region(),
        coded.year(),
        coded.indicator(),
        coded.value(),
    );
    polars_ensure!(
        [year.len(), indicator.len(), value.len()] == [region.len(); 3],
        ComputeError: "coded panel: columns of unequal length"
    );
    let slot_of: Map<&str, usize> = leaves.iter().enumerate().map(|(j, l)| (*l, j)).collect();
    let slot: Vec<Option<usize>> = coded
        .names()
        .indicators()
        .iter()
        .map(|name| slot_of.get(name.as_str()).copied())
        .collect();
    let names = RegionRanks::new(coded.names().regions());
    match DenseGrid::new(&names, year, leaves.len()) {
        Some(mut grid) => {
            for i in 0..region.len() {
                if let Some(j) = slot[indicator[i] as usize] {
                    grid.put(names.rank[region[i] as usize], year[i], j, value[i]);
                }
            }
            grid.frame(&names, leaves)
        }
        None => {
            let mut wide = WideRows::new(leaves.len());
            for i in 0..region.len() {
                if let Some(j) = slot[indicator[i] as usize] {
                    wide.put((names.rank[region[i] as usize], year[i]), j, Some(value[i]));
                }
            }
            wide.frame(leaves, |&(rank, year)| (names.sorted[rank as usize], year))
        }
    }
}

/// [`wide_from_long`] on a panel held wide (read from a wide file): the same frame, taken from
/// the panel's columns as they are — shared, not copied, when the rows are already sorted by
/// region name and year and each has a value of some leaf (a wide file as written by most
/// tools), else gathered in that order. Two region ids sharing a name (two spellings renamed to
/// one code) or a repeated (region, year) go through the long rows.
fn wide_from_wide(wide: &WidePanel, leaves: &[&str]) -> PolarsResult<DataFrame> {
    use panel_cols::*;
    let names = RegionRanks::new(wide.names().regions());
    let column = |leaf: &str| {
        wide.names()
            .indicators()
            .iter()
            .position(|name| name == leaf)
            .map(|i| &wide.columns()[i])
    };
    let columns: Vec<Option<&Float64Chunked>> = leaves.iter().map(|leaf| column(leaf)).collect();
    let n = wide.region().len();
    let key = |k: usize| (names.rank[wide.region()[k] as usize], wide.year()[k]);
    // Rows with a value of some leaf.
    let leaf_columns: Vec<&Float64Chunked> = columns.iter().flatten().copied().collect();
    let has = rows_with_values(&leaf_columns, n);
    let mut kept: Vec<usize> = (0..n).filter(|&k| has[k]).collect();
    let sorted = kept.windows(2).all(|w| key(w[0]) < key(w[1]));
    if !sorted {
        kept.sort_unstable_by_key(|&k| key(k));
        if names.sorted.len() < wide.names().regions().len()
            || kept.windows(2).any(|w| key(w[0]) == key(w[1]))
        {
            return wide_from_coded(&wide.to_long()?, leaves);
        }
    }
    let as_is = sorted && kept.len() == n;
    let rank: Vec<u32> = kept.iter().map(|&k| key(k).0).collect();
    let year: Vec<i32> = kept.iter().map(|&k| wide.year()[k]).collect();
    let take = IdxCa::from_vec("".into(), kept.iter().map(|&k| k as IdxSize).collect());
    let mut out = vec![
        gathered_strings(REGION, &names.sorted, &rank)?,
        Int32Chunked::from_vec(YEAR.into(), year).into_column(),
    ];
    for (leaf, c) in leaves.iter().zip(columns) {
        let c = match c {
            Some(c) if as_is => c.clone(),
            Some(c) => c.take(&take)?,
            None => Float64Chunked::full_null("".into(), kept.len()),
        };
        out.push(c.with_name((*leaf).into()).into_column());
    }
    DataFrame::new_infer_height(out)
}

/// Region names in sorted order, and each region id's rank in it (ids sharing a name share a
/// rank), so that ordering by rank is ordering by name.
struct RegionRanks<'n> {
    sorted: Vec<&'n str>,
    rank: Vec<u32>,
}

impl<'n> RegionRanks<'n> {
    fn new(names: &'n [String]) -> Self {
        let mut ids: Vec<usize> = (0..names.len()).collect();
        ids.sort_unstable_by_key(|&id| names[id].as_str());
        let mut sorted: Vec<&str> = Vec::with_capacity(names.len());
        let mut rank = vec![0u32; names.len()];
        for id in ids {
            if sorted.last() != Some(&names[id].as_str()) {
                sorted.push(&names[id]);
            }
            rank[id] = (sorted.len() - 1) as u32;
        }
        RegionRanks { sorted, rank }
    }
}

/// The wide frame's cells as a dense grid: row `rank × years + (year − first)` for every
/// region rank and year of the span, one column per leaf, each cell taken by its first value.
struct DenseGrid {
    first: i32,
    years: usize,
    values: Vec<Vec<f64>>,
    /// `set[j][row]`: leaf `j` of `row` has a value.
    set: Vec<Vec<bool>>,
}

impl DenseGrid {
    /// `None` when the grid would take more than about twice the cells the observations fill.
    fn new(names: &RegionRanks<'_>, year: &[i32], leaves: usize) -> Option<Self> {
        let (&first, &last) = (year.iter().min()?, year.iter().max()?);
        let years = usize::try_from(i64::from(last) - i64::from(first) + 1).ok()?;
        let rows = names.sorted.len().checked_mul(years)?;
        if rows.checked_mul(leaves)? > 2 * year.len() + (1 << 16) {
            return None;
        }
        Some(DenseGrid {
            first,
            years,
            // One zeroed allocation each (`vec![column; leaves]` would copy the first).
            values: (0..leaves).map(|_| vec![0.0; rows]).collect(),
            set: (0..leaves).map(|_| vec![false; rows]).collect(),
        })
    }

    fn put(&mut self, rank: u32, year: i32, j: usize, value: f64) {
        let row = rank as usize * self.years + (year - self.first) as usize;
        if !self.set[j][row] {
            self.set[j][row] = true;
            self.values[j][row] = value;
        }
    }

    /// The frame of the rows with at least one value (in grid order: by region name, year).
    fn frame(self, names: &RegionRanks<'_>, leaves: &[&str]) -> PolarsResult<DataFrame> {
        use panel_cols::*;
        let rows = names.sorted.len() * self.years;
        let mut any = vec![false; rows];
        for set in &self.set {
            for (a, &s) in any.iter_mut().zip(set) {
                *a |= s;
            }
        }
        let kept: Vec<usize> = (0..rows).filter(|&r| any[r]).collect();
        let rank: Vec<u32> = kept.iter().map(|&r| (r / self.years) as u32).collect();
        let year: Vec<i32> = kept
            .iter()
            .map(|&r| self.first + (r % self.years) as i32)
            .collect();
        let mut columns = vec![
            gathered_strings(REGION, &names.sorted, &rank)?,
            Int32Chunked::from_vec(YEAR.into(), year).into_column(),
        ];
        let all = kept.len() == rows;
        for ((leaf, values), set) in leaves.iter().zip(self.values).zip(self.set) {
            let name = PlSmallStr::from(*leaf);
            let column = if all && set.iter().all(|&s| s) {
                Float64Chunked::from_vec(name, values)
            } else {
                Float64Chunked::from_iter_options(
                    name,
                    kept.iter().map(|&r| set[r].then_some(values[r])),
                )
            };
            columns.push(column.into_column());
        }
        DataFrame::new_infer_height(columns)
    }
}

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The rows of a wide frame as the long rows are walked: one per distinct (region, year) key,
/// in order of first appearance, one cell per leaf.
struct WideRows<K> {
    keys: Vec<K>,
    row_of: Map<K, usize>,
    cols: Vec<Vec<Option<f64>>>,
    last: Option<(K, usize)>,
}

impl<K: Copy + Eq + std::hash::Hash> WideRows<K> {
    fn new(leaves: usize) -> Self {
        WideRows {
            keys: Vec::new(),
            row_of: Map::default(),
            cols: vec![Vec::new(); leaves],
            last: None,
        }
    }

    /// Set leaf `j` of the row of `key` to `value` unless it already has a value.
    fn put(&mut self, key: K, j: usize, value: Option<f64>) {
        let row = match self.last {
            Some((k, row)) if k == key => row,
            _ => *self.row_of.entry(key).or_insert_with(|| {
                self.keys.push(key);
                for c in &mut self.cols {
                    c.push(None);
                }
                self.keys.len() - 1
            }),
        };
        self.last = Some((key, row));
        if self.cols[j][row].is_none() {
            self.cols[j][row] = value;
        }
    }

    /// The frame, rows sorted by the (region name, year) that `name` gives each key.
    fn frame<'n>(
        self,
        leaves: &[&str],
        name: impl Fn(&K) -> (&'n str, i32),
    ) -> PolarsResult<DataFrame> {
        use panel_cols::*;
        let named: Vec<(&str, i32)> = self.keys.iter().map(name).collect();
        let mut order: Vec<usize> = (0..named.len()).collect();
        order.sort_unstable_by_key(|&r| named[r]);
        let mut columns = vec![
            Column::new(
                REGION.into(),
                order.iter().map(|&r| named[r].0).collect::<Vec<_>>(),
            ),
            Column::new(
                YEAR.into(),
                order.iter().map(|&r| named[r].1).collect::<Vec<_>>(),
            ),
        ];
        columns.extend(leaves.iter().zip(self.cols).map(|(leaf, values)| {
            Column::new(
                (*leaf).into(),
                order.iter().map(|&r| values[r]).collect::<Vec<_>>(),
            )
        }));
        DataFrame::new_infer_height(columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long(rows: &[(&str, i32, &str, Option<f64>)]) -> DataFrame {
        use panel_cols::*;
        DataFrame::new_infer_height(vec![
            Column::new(REGION.into(), rows.iter().map(|r| r.0).collect::<Vec<_>>()),
            Column::new(YEAR.into(), rows.iter().map(|r| r.1).collect::<Vec<_>>()),
            Column::new(
                INDICATOR.into(),
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            ),
            Column::new(VALUE.into(), rows.iter().map(|r| r.3).collect::<Vec<_>>()),
        ])
        .unwrap()
    }

    #[test]
    fn long_to_wide_sorts_region_years_whatever_the_row_order() {
        // Rows out of order, a region-year with only a non-leaf series (left out), a null value
        // before a value for one cell (the value wins), and a second value (the first wins).
        let frame = long(&[
            ("b", 2021, "x", Some(1.0)),
            ("a", 2021, "y", Some(2.0)),
            ("c", 2020, "other", Some(9.0)),
            ("a", 2020, "x", None),
            ("b", 2021, "y", Some(3.0)),
            ("a", 2020, "x", Some(4.0)),
            ("a", 2020, "x", Some(5.0)),
            ("a", 2021, "x", Some(6.0)),
        ]);
        let wide = wide_from_long(&frame, &["x", "y"]).unwrap();
        let strs = |c: &str| -> Vec<String> {
            let col = wide.column(c).unwrap().str().unwrap().clone();
            col.iter().map(|s| s.unwrap().to_owned()).collect()
        };
        let f64s = |c: &str| -> Vec<Option<f64>> {
            wide.column(c).unwrap().f64().unwrap().iter().collect()
        };
        assert_eq!(strs("region"), ["a", "a", "b"]);
        let years: Vec<Option<i32>> = wide.column("year").unwrap().i32().unwrap().iter().collect();
        assert_eq!(years, [Some(2020), Some(2021), Some(2021)]);
        assert_eq!(f64s("x"), [Some(4.0), Some(6.0), Some(1.0)]);
        assert_eq!(f64s("y"), [None, Some(2.0), Some(3.0)]);
    }

    #[test]
    fn coded_long_to_wide_equals_the_frame_walk() {
        // The rows of the test above, coded; region "a" under two ids (two spellings renamed
        // to one code) and an indicator name without rows.
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let coded = CodedPanel::new(
            (names(&["b", "a", "c", "a"]), vec![0, 1, 2, 3, 0, 3, 1, 3]),
            vec![2021, 2021, 2020, 2020, 2021, 2020, 2020, 2021],
            (
                names(&["x", "y", "other", "unused"]),
                vec![0, 1, 2, 0, 1, 0, 0, 0],
            ),
            vec![1.0, 2.0, 9.0, 4.0, 3.0, 5.0, 7.0, 6.0],
        )
        .unwrap();
        let from_coded = wide_from_coded(&coded, &["x", "y"]).unwrap();
        let panel = Panel::from_coded(coded);
        let from_frame = wide_from_long(panel.frame(), &["x", "y"]).unwrap();
        assert!(
            from_coded.equals_missing(&from_frame),
            "{from_coded} {from_frame}"
        );
        let x: Vec<Option<f64>> = from_coded
            .column("x")
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(x, [Some(4.0), Some(6.0), Some(1.0)]);
        assert_eq!(from_coded.height(), 3);
    }

    /// A panel held wide gives the frame walk's frame: its columns shared when the rows are
    /// sorted and each has a leaf value, else rows sorted, rows without a leaf value left out,
    /// and two region ids of one name merged (through the long rows).
    #[test]
    fn wide_panel_to_wide_equals_the_frame_walk() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let column = |v: &[Option<f64>]| Float64Chunked::from_slice_options("".into(), v);
        let cases = [
            // sorted, every row with a value of x: taken as it is
            (
                names(&["a", "b"]),
                vec![0, 0, 1],
                vec![2020, 2021, 2020],
                [
                    [Some(1.0), Some(2.0), Some(3.0)],
                    [None, Some(5.0), None],
                    [Some(7.0), None, None],
                ],
            ),
            // rows out of order, one with values of a non-leaf column only
            (
                names(&["b", "a"]),
                vec![0, 1, 1],
                vec![2020, 2021, 2020],
                [
                    [Some(1.0), None, Some(3.0)],
                    [None, None, Some(6.0)],
                    [Some(7.0), Some(8.0), None],
                ],
            ),
            // two ids of one name (two spellings renamed to one code)
            (
                names(&["a", "b", "a"]),
                vec![2, 1, 0],
                vec![2021, 2020, 2020],
                [
                    [Some(1.0), Some(2.0), None],
                    [None, Some(5.0), Some(6.0)],
                    [Some(7.0), None, Some(9.0)],
                ],
            ),
        ];
        for (regions, region, year, values) in cases {
            let wide = WidePanel::new(
                (regions, region),
                year,
                (
                    names(&["x", "other", "y"]),
                    values.iter().map(|v| column(v)).collect(),
                ),
            )
            .unwrap();
            let from_wide = wide_from_wide(&wide, &["y", "x"]).unwrap();
            let from_frame =
                wide_from_long(Panel::from_wide(wide.clone()).frame(), &["y", "x"]).unwrap();
            assert!(
                from_wide.equals_missing(&from_frame),
                "{from_wide} {from_frame}"
            );
        }
    }

    /// The dense grid and the hash-map walk (keys too sparse for a grid: 120 regions over
    /// the years 1800–2200) give the frame walk's frame.
    #[test]
    fn coded_long_to_wide_equals_the_frame_walk_dense_or_sparse() {
        for span in [3, 401] {
            let (mut region, mut year, mut indicator, mut value) = (vec![], vec![], vec![], vec![]);
            for k in 0..360u32 {
                // Regions out of name order, every third cell empty, one key twice.
                region.push((k * 7) % 120);
                year.push(1800 + ((k * 13) % span) as i32);
                indicator.push(k % 3);
                value.push(f64::from(k) / 8.0);
            }
            region.push(region[5]);
            year.push(year[5]);
            indicator.push(indicator[5]);
            value.push(-1.0);
            let names = (0..120).map(|r| format!("r{}", (r * 37) % 120)).collect();
            let leaves = (
                vec!["x".to_owned(), "y".to_owned(), "z".to_owned()],
                indicator,
            );
            let coded = CodedPanel::new((names, region), year, leaves, value).unwrap();
            let from_coded = wide_from_coded(&coded, &["z", "x"]).unwrap();
            let from_frame = wide_from_long(Panel::from_coded(coded).frame(), &["z", "x"]).unwrap();
            assert!(
                from_coded.equals_missing(&from_frame),
                "{from_coded} {from_frame}"
            );
            assert!(from_coded.column("x").unwrap().null_count() > 0);
        }
    }
}
