//! Domain types shared by every stage of the pipeline.
//!
//! Owns: the small value types (`Dimension`, `Direction`, `RegionCode`, `IndicatorId`, `Lang`, …)
//! and the canonical long `Panel`. Must not: do I/O or know about HTTP, SQL or the CLI.

use std::fmt;
use std::str::FromStr;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

/// The three elements of productive forces in the new-quality-productivity literature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    /// 劳动者
    Laborers,
    /// 劳动资料
    Tools,
    /// 劳动对象
    Objects,
}

impl Dimension {
    pub const ALL: [Dimension; 3] = [Dimension::Laborers, Dimension::Tools, Dimension::Objects];

    /// The stable machine name, also the column name in score tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Laborers => "laborers",
            Dimension::Tools => "tools",
            Dimension::Objects => "objects",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Dimension::Laborers, Lang::Zh) => "劳动者",
            (Dimension::Tools, Lang::Zh) => "劳动资料",
            (Dimension::Objects, Lang::Zh) => "劳动对象",
            (Dimension::Laborers, Lang::En) => "Laborers",
            (Dimension::Tools, Lang::En) => "Means of labor",
            (Dimension::Objects, Lang::En) => "Objects of labor",
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dimension {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "laborers" | "劳动者" => Ok(Dimension::Laborers),
            "tools" | "劳动资料" => Ok(Dimension::Tools),
            "objects" | "劳动对象" => Ok(Dimension::Objects),
            other => Err(format!(
                "unknown dimension '{other}' (expected laborers, tools or objects)"
            )),
        }
    }
}

/// Whether more of an indicator is better (benefit, `+`) or worse (cost, `-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    #[serde(rename = "+")]
    Benefit,
    #[serde(rename = "-")]
    Cost,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Benefit => "+",
            Direction::Cost => "-",
        }
    }
}

impl FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "+" | "benefit" => Ok(Direction::Benefit),
            "-" | "−" | "cost" => Ok(Direction::Cost),
            other => Err(format!(
                "unknown direction '{other}' (expected \"+\" or \"-\")"
            )),
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Mechanism level of an indicator (Lu & Huang 2024): firms, industries, state governance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Micro,
    Meso,
    Macro,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Micro, Level::Meso, Level::Macro];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Micro => "micro",
            Level::Meso => "meso",
            Level::Macro => "macro",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Level::Micro, Lang::Zh) => "微观（企业）",
            (Level::Meso, Lang::Zh) => "中观（产业）",
            (Level::Macro, Lang::Zh) => "宏观（治理）",
            (Level::Micro, Lang::En) => "Micro (firms)",
            (Level::Meso, Lang::En) => "Meso (industries)",
            (Level::Macro, Lang::En) => "Macro (governance)",
        }
    }
}

/// A score over indicators that cut across the three elements: one of the three mechanism
/// levels, or the intelligence-and-digital (智能与数字) sub-index of the indicators a framework
/// tags `ai_digital` — the paper's second view of new-quality productivity (Lu & Huang 2024;
/// docs/method.md §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subindex {
    Level(Level),
    AiDigital,
}

impl Subindex {
    /// Every sub-index, in the order of the score table's columns.
    pub const ALL: [Subindex; 4] = [
        Subindex::Level(Level::Micro),
        Subindex::Level(Level::Meso),
        Subindex::Level(Level::Macro),
        Subindex::AiDigital,
    ];

    /// The score-table column (and measure key): `level/micro`, …, `subindex/ai_digital`.
    pub fn column(self) -> &'static str {
        match self {
            Subindex::Level(Level::Micro) => "level/micro",
            Subindex::Level(Level::Meso) => "level/meso",
            Subindex::Level(Level::Macro) => "level/macro",
            Subindex::AiDigital => "subindex/ai_digital",
        }
    }

    /// The sub-index whose column is `name`.
    pub fn from_column(name: &str) -> Option<Subindex> {
        Subindex::ALL.into_iter().find(|s| s.column() == name)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Subindex::Level(level) => level.label(lang),
            Subindex::AiDigital => {
                lang.pick("智能与数字分指数", "Intelligence & digital sub-index")
            }
        }
    }
}

impl Serialize for Subindex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.column())
    }
}

/// User interface language. Passed explicitly everywhere: there is no process-global locale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// Pick `zh` or `en` text.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

impl FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "zh-hans" | "cn" => Ok(Lang::Zh),
            "en" | "en-us" | "en-gb" => Ok(Lang::En),
            other => Err(format!("unknown language '{other}' (expected zh or en)")),
        }
    }
}

/// Writes a place in an input file as `file`, `file:line` or `file:line:column` — the one
/// form every stage's `Position` shows, so a file, framework or panel error reads alike.
pub fn write_place(
    f: &mut fmt::Formatter<'_>,
    file: &str,
    line: Option<u64>,
    column: Option<u64>,
) -> fmt::Result {
    f.write_str(file)?;
    if let Some(line) = line {
        write!(f, ":{line}")?;
        if let Some(column) = column {
            write!(f, ":{column}")?;
        }
    }
    Ok(())
}

/// Error for identifiers that do not follow their grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} '{value}': {rule}")]
pub struct InvalidId {
    pub kind: &'static str,
    pub value: String,
    pub rule: &'static str,
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $rule:literal, $valid:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                let valid: fn(&str) -> bool = $valid;
                if valid(&value) {
                    Ok(Self(value))
                } else {
                    Err(InvalidId { kind: $kind, value, rule: $rule })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// A region's code in its region set, e.g. `CN-GD` (ISO 3166-2) or `UKC1` (NUTS-2).
    RegionCode,
    "region code",
    "1–32 characters of letters, digits, '-', '_' or '.'",
    |s| !s.is_empty()
        && s.len() <= 32
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
);

string_id!(
    /// A framework indicator id: `[a-z0-9_]+`, starting with a letter.
    IndicatorId,
    "indicator id",
    "lower-case letters, digits and '_', starting with a letter",
    |s| s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
);

string_id!(
    /// A stored dataset's id: `[a-z0-9-]+`, used in URLs and file names.
    DatasetId,
    "dataset id",
    "lower-case letters, digits and '-', 1–64 characters",
    |s| !s.is_empty()
        && s.len() <= 64
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
);

/// Column names of the canonical long panel (docs/method.md §1).
pub mod panel_cols {
    pub const REGION: &str = "region";
    pub const YEAR: &str = "year";
    pub const INDICATOR: &str = "indicator";
    pub const VALUE: &str = "value";
}

/// The canonical long panel: `region: str, year: i32, indicator: str, value: f64` (nulls allowed),
/// at most one row per (region, year, indicator).
///
/// A panel read from a file is held **coded** ([`CodedPanel`]: region and indicator as ids into
/// their distinct names) and its frame is built only when something asks for it: its distinct
/// regions, indicators, years and height come from the ids, so summarising a large file (`nqp
/// check`) never builds a string column (docs/benchmarks.md, "Memory of `check` on a 1 GB file").
#[derive(Debug, Clone)]
pub struct Panel {
    frame: std::sync::OnceLock<DataFrame>,
    rows: Rows,
}

/// What a [`Panel`]'s rows are held as besides its frame.
#[derive(Debug, Clone)]
enum Rows {
    /// Only the frame (a panel built from a frame, or stacked from several).
    Frame,
    Coded(std::sync::Arc<CodedPanel>),
    Wide(std::sync::Arc<WidePanel>),
}

/// The region and indicator names the ids of a [`WidePanel`] or a [`CodedPanel`] index.
#[derive(Debug, Clone)]
pub struct PanelNames {
    regions: Vec<String>,
    indicators: Vec<String>,
}

impl PanelNames {
    /// Region names, by region id.
    pub fn regions(&self) -> &[String] {
        &self.regions
    }

    /// Indicator names, by indicator id.
    pub fn indicators(&self) -> &[String] {
        &self.indicators
    }

    /// The same names with every region name replaced by `rename(name)`.
    fn rename_regions(&self, rename: impl Fn(&str) -> String) -> Self {
        Self {
            regions: self.regions.iter().map(|r| rename(r)).collect(),
            indicators: self.indicators.clone(),
        }
    }
}

/// Panel rows held as a wide file lists them: row `k` is the region-year
/// (`regions[region[k]]`, `year[k]`) with one value per indicator column (`columns[i]` holds
/// `indicators[i]`; null: a missing cell). Its panel rows are the values, row by row, each row's
/// in column order — the order in which a walk over the file's rows reads them. Kept wide so that
/// the framework's wide frame takes the columns as they are (`Framework::derive`) instead of
/// going through 3.6 M long rows and back.
#[derive(Debug, Clone)]
pub struct WidePanel {
    names: PanelNames,
    region: Vec<u32>,
    year: Vec<i32>,
    columns: Vec<Float64Chunked>,
}

impl WidePanel {
    /// Rows from their columns (moved, not copied); `Err` when the columns differ in length,
    /// there is not one column per indicator name, or a region id has no name.
    pub fn new(
        (regions, region): (Vec<String>, Vec<u32>),
        year: Vec<i32>,
        (indicators, columns): (Vec<String>, Vec<Float64Chunked>),
    ) -> PolarsResult<Self> {
        let n = region.len();
        polars_ensure!(
            year.len() == n
                && columns.len() == indicators.len()
                && columns.iter().all(|c| c.len() == n)
                && region.iter().all(|&r| (r as usize) < regions.len()),
            ComputeError: "wide panel: columns of unequal length or an id without a name"
        );
        Ok(Self {
            names: PanelNames {
                regions,
                indicators,
            },
            region,
            year,
            columns,
        })
    }

    /// Region names, indexed by [`WidePanel::region`]; indicator names, one per column of
    /// [`WidePanel::columns`].
    pub fn names(&self) -> &PanelNames {
        &self.names
    }

    /// Each row's region id.
    pub fn region(&self) -> &[u32] {
        &self.region
    }

    /// Each row's year.
    pub fn year(&self) -> &[i32] {
        &self.year
    }

    /// One column of values per indicator, a value per row (null: missing).
    pub fn columns(&self) -> &[Float64Chunked] {
        &self.columns
    }

    /// Panel rows: the values present.
    pub fn len(&self) -> usize {
        self.columns.iter().map(|c| c.len() - c.null_count()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether each row holds a value (a row of missing cells has no panel row).
    fn rows_with_values(&self) -> Vec<bool> {
        let columns: Vec<&Float64Chunked> = self.columns.iter().collect();
        rows_with_values(&columns, self.region.len())
    }

    /// The same rows with every region name replaced by `rename(name)`.
    pub fn rename_regions(&self, rename: impl Fn(&str) -> String) -> Self {
        Self {
            names: self.names.rename_regions(rename),
            ..self.clone()
        }
    }

    /// The panel rows coded long: the values row by row, each row's in column order.
    pub fn to_long(&self) -> PolarsResult<CodedPanel> {
        let n = self.len();
        let (mut region, mut year) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut indicator, mut value) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let mut cells: Vec<_> = self.columns.iter().map(|c| c.iter()).collect();
        for (&r, &y) in self.region.iter().zip(&self.year) {
            for (i, column) in (0u32..).zip(cells.iter_mut()) {
                if let Some(Some(v)) = column.next() {
                    region.push(r);
                    year.push(y);
                    indicator.push(i);
                    value.push(v);
                }
            }
        }
        CodedPanel::new(
            (self.names.regions.clone(), region),
            year,
            (self.names.indicators.clone(), indicator),
            value,
        )
    }
}

/// Whether each of the `n` rows of `columns` holds a value in some of them (all do when one
/// column has no missing cell).
pub(crate) fn rows_with_values(columns: &[&Float64Chunked], n: usize) -> Vec<bool> {
    if columns.iter().any(|c| c.null_count() == 0) {
        return vec![true; n];
    }
    let mut any = vec![false; n];
    for column in columns {
        for (a, v) in any.iter_mut().zip(column.iter()) {
            *a |= v.is_some();
        }
    }
    any
}

/// Panel rows with region and indicator as ids: row `k` is (`regions[region[k]]`, `year[k]`,
/// `indicators[indicator[k]]`, `value[k]`). A name may have no row (ingest names every region
/// and indicator it reads, also those of missing cells). Years and values are held as Polars
/// arrays, so that the frame shares them instead of copying.
#[derive(Debug, Clone)]
pub struct CodedPanel {
    names: PanelNames,
    region: Vec<u32>,
    indicator: Vec<u32>,
    year: Int32Chunked,
    value: Float64Chunked,
}

impl CodedPanel {
    /// Rows from their columns (moved, not copied); `Err` when the columns differ in length or
    /// an id has no name.
    pub fn new(
        (regions, region): (Vec<String>, Vec<u32>),
        year: Vec<i32>,
        (indicators, indicator): (Vec<String>, Vec<u32>),
        value: Vec<f64>,
    ) -> PolarsResult<Self> {
        let n = region.len();
        let in_range =
            |ids: &[u32], names: &[String]| ids.iter().all(|&i| (i as usize) < names.len());
        polars_ensure!(
            [year.len(), indicator.len(), value.len()] == [n; 3]
                && in_range(&region, &regions)
                && in_range(&indicator, &indicators),
            ComputeError: "coded panel: columns of unequal length or an id without a name"
        );
        Ok(Self {
            names: PanelNames {
                regions,
                indicators,
            },
            region,
            indicator,
            year: Int32Chunked::from_vec(panel_cols::YEAR.into(), year),
            value: Float64Chunked::from_vec(panel_cols::VALUE.into(), value),
        })
    }

    /// Region names, indexed by [`CodedPanel::region`]; indicator names, indexed by
    /// [`CodedPanel::indicator`].
    pub fn names(&self) -> &PanelNames {
        &self.names
    }

    /// Each row's region id.
    pub fn region(&self) -> &[u32] {
        &self.region
    }

    /// Each row's indicator id.
    pub fn indicator(&self) -> &[u32] {
        &self.indicator
    }

    /// Each row's year.
    pub fn year(&self) -> &[i32] {
        self.year.cont_slice().unwrap_or_default()
    }

    /// Each row's value.
    pub fn value(&self) -> &[f64] {
        self.value.cont_slice().unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.region.len()
    }

    pub fn is_empty(&self) -> bool {
        self.region.is_empty()
    }

    /// The same rows with every region name replaced by `rename(name)`.
    pub fn rename_regions(&self, rename: impl Fn(&str) -> String) -> Self {
        Self {
            names: self.names.rename_regions(rename),
            ..self.clone()
        }
    }

    /// The panel frame of these rows: region and indicator gathered from the names, year and
    /// value shared.
    fn frame(&self) -> PolarsResult<DataFrame> {
        use panel_cols::*;
        DataFrame::new_infer_height(vec![
            gathered_strings(REGION, &self.names.regions, &self.region)?,
            self.year.clone().into_column(),
            gathered_strings(INDICATOR, &self.names.indicators, &self.indicator)?,
            self.value.clone().into_column(),
        ])
    }

    /// The names with at least one row, sorted and distinct.
    fn used(names: &[String], ids: &[u32]) -> Vec<String> {
        let mut seen = vec![false; names.len()];
        for &id in ids {
            seen[id as usize] = true;
        }
        let mut used: Vec<String> = names
            .iter()
            .zip(seen)
            .filter(|&(_, seen)| seen)
            .map(|(n, _)| n.clone())
            .collect();
        used.sort_unstable();
        used.dedup();
        used
    }
}

/// The distinct years, ascending (one pass; ingest's years lie in a few centuries).
fn distinct_years(year: impl Iterator<Item = i32> + Clone) -> Vec<i32> {
    let (Some(min), Some(max)) = (year.clone().min(), year.clone().max()) else {
        return Vec::new();
    };
    let span = usize::try_from(i64::from(max) - i64::from(min)).unwrap_or(usize::MAX);
    if span >= 1 << 16 {
        let mut years: Vec<i32> = year.collect();
        years.sort_unstable();
        years.dedup();
        return years;
    }
    let mut seen = vec![false; span + 1];
    for y in year {
        seen[(y - min) as usize] = true;
    }
    (min..=max)
        .zip(seen)
        .filter_map(|(y, s)| s.then_some(y))
        .collect()
}

impl Panel {
    /// Wrap a frame that has exactly the four panel columns (extra columns are dropped, dtypes cast).
    pub fn new(frame: DataFrame) -> PolarsResult<Self> {
        use panel_cols::*;
        let frame = frame
            .lazy()
            .select([
                col(REGION).cast(DataType::String),
                col(YEAR).cast(DataType::Int32),
                col(INDICATOR).cast(DataType::String),
                col(VALUE).cast(DataType::Float64),
            ])
            .collect()?;
        Ok(Self {
            frame: frame.into(),
            rows: Rows::Frame,
        })
    }

    /// A panel of coded rows; its frame is built on first use.
    pub fn from_coded(coded: CodedPanel) -> Self {
        Self {
            frame: std::sync::OnceLock::new(),
            rows: Rows::Coded(coded.into()),
        }
    }

    /// A panel of wide rows; its frame is built on first use.
    pub fn from_wide(wide: WidePanel) -> Self {
        Self {
            frame: std::sync::OnceLock::new(),
            rows: Rows::Wide(wide.into()),
        }
    }

    /// The coded rows, when the panel was read from a long file or an export (else `None`:
    /// use [`Panel::wide`] or [`Panel::frame`]).
    pub fn coded(&self) -> Option<&CodedPanel> {
        match &self.rows {
            Rows::Coded(coded) => Some(coded),
            _ => None,
        }
    }

    /// The wide rows, when the panel was read column-wise from a wide file.
    pub fn wide(&self) -> Option<&WidePanel> {
        match &self.rows {
            Rows::Wide(wide) => Some(wide),
            _ => None,
        }
    }

    /// The frame, built from the coded or wide rows on first use.
    pub fn frame(&self) -> &DataFrame {
        // The ids were checked against the names when the rows were built, so the gather
        // cannot fail.
        self.frame.get_or_init(|| match &self.rows {
            Rows::Coded(coded) => coded.frame().expect("coded rows index their names"),
            Rows::Wide(wide) => wide
                .to_long()
                .and_then(|coded| coded.frame())
                .expect("wide rows index their names"),
            Rows::Frame => empty_panel_frame(),
        })
    }

    pub fn into_frame(self) -> DataFrame {
        self.frame();
        self.frame.into_inner().unwrap_or_else(empty_panel_frame)
    }

    pub fn height(&self) -> usize {
        match (self.frame.get(), &self.rows) {
            (None, Rows::Coded(coded)) => coded.len(),
            (None, Rows::Wide(wide)) => wide.len(),
            _ => self.frame().height(),
        }
    }

    /// Stack several panels (e.g. one per uploaded file). Duplicates are not checked here.
    pub fn concat(panels: impl IntoIterator<Item = Panel>) -> PolarsResult<Panel> {
        let mut panels = panels.into_iter().peekable();
        let first = panels.next();
        if let (Some(only), None) = (&first, panels.peek()) {
            return Ok(only.clone());
        }
        let frames: Vec<LazyFrame> = first
            .into_iter()
            .chain(panels)
            .map(|p| p.into_frame().lazy())
            .collect();
        if frames.is_empty() {
            return Panel::new(empty_panel_frame());
        }
        Panel::new(concat(frames, UnionArgs::default())?.collect()?)
    }

    /// Distinct indicator names, sorted.
    pub fn indicators(&self) -> PolarsResult<Vec<String>> {
        match &self.rows {
            Rows::Coded(c) => Ok(CodedPanel::used(&c.names.indicators, &c.indicator)),
            Rows::Wide(w) => {
                let used: Vec<u32> = (0u32..)
                    .zip(&w.columns)
                    .filter(|(_, c)| c.null_count() < c.len())
                    .map(|(i, _)| i)
                    .collect();
                Ok(CodedPanel::used(&w.names.indicators, &used))
            }
            Rows::Frame => distinct_strings(self.frame(), panel_cols::INDICATOR),
        }
    }

    /// Distinct region codes, sorted.
    pub fn regions(&self) -> PolarsResult<Vec<String>> {
        match &self.rows {
            Rows::Coded(c) => Ok(CodedPanel::used(&c.names.regions, &c.region)),
            Rows::Wide(w) => {
                let used: Vec<u32> = w
                    .region
                    .iter()
                    .zip(w.rows_with_values())
                    .filter_map(|(&r, has)| has.then_some(r))
                    .collect();
                Ok(CodedPanel::used(&w.names.regions, &used))
            }
            Rows::Frame => distinct_strings(self.frame(), panel_cols::REGION),
        }
    }

    /// Distinct years, ascending.
    pub fn years(&self) -> PolarsResult<Vec<i32>> {
        match &self.rows {
            Rows::Coded(c) => Ok(distinct_years(c.year().iter().copied())),
            Rows::Wide(w) => {
                let has = w.rows_with_values();
                let year = w
                    .year
                    .iter()
                    .zip(&has)
                    .filter(|(_, h)| **h)
                    .map(|(y, _)| *y);
                Ok(distinct_years(year))
            }
            Rows::Frame => {
                let years = self
                    .frame()
                    .column(panel_cols::YEAR)?
                    .unique()?
                    .sort(Default::default())?;
                Ok(years.i32()?.iter().flatten().collect())
            }
        }
    }
}

/// The column `name` whose row `k` is `dict[ids[k]]`. A gather of string views: the texts are
/// stored once in `dict`'s buffer instead of once per row, and no row's text is copied or
/// measured again (a 3.6 M-row panel has a few thousand distinct names).
pub fn gathered_strings<S: AsRef<str>>(
    name: &str,
    dict: &[S],
    ids: &[u32],
) -> PolarsResult<Column> {
    let dict = StringChunked::from_iter_values(name.into(), dict.iter().map(AsRef::as_ref));
    let ids = IdxCa::from_vec(name.into(), ids.iter().map(|&i| i as IdxSize).collect());
    Ok(dict.take(&ids)?.into_column())
}

fn distinct_strings(frame: &DataFrame, name: &str) -> PolarsResult<Vec<String>> {
    let col = frame.column(name)?.unique()?.sort(Default::default())?;
    Ok(col.str()?.iter().flatten().map(str::to_owned).collect())
}

/// An empty frame with the panel schema.
pub fn empty_panel_frame() -> DataFrame {
    use panel_cols::*;
    DataFrame::new_infer_height(vec![
        Column::new_empty(REGION.into(), &DataType::String),
        Column::new_empty(YEAR.into(), &DataType::Int32),
        Column::new_empty(INDICATOR.into(), &DataType::String),
        Column::new_empty(VALUE.into(), &DataType::Float64),
    ])
    .expect("four empty columns of equal height")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gathered_strings_repeat_the_dictionary_texts() {
        let dict = ["北京", "a name longer than twelve bytes", ""];
        let col = gathered_strings("c", &dict, &[1, 0, 0, 2, 1]).unwrap();
        let got: Vec<Option<&str>> = col.str().unwrap().iter().collect();
        assert_eq!(
            got,
            [
                Some(dict[1]),
                Some("北京"),
                Some("北京"),
                Some(""),
                Some(dict[1])
            ]
        );
        assert_eq!(col.name().as_str(), "c");
    }

    /// A coded panel answers as the frame it stands for: the same rows, and the same distinct
    /// regions, indicators and years (names without rows left out), also renamed and stacked.
    #[test]
    fn coded_panel_answers_as_its_frame() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let coded = CodedPanel::new(
            (names(&["乙", "甲", "unused"]), vec![1, 0, 1, 0]),
            vec![2021, 2020, 2020, 2021],
            (names(&["gdp", "none", "pop"]), vec![2, 2, 0, 0]),
            vec![1.5, -2.0, 3.0, 4.25],
        )
        .unwrap();
        let expected = df!(
            "region" => ["甲", "乙", "甲", "乙"],
            "year" => [2021i32, 2020, 2020, 2021],
            "indicator" => ["pop", "pop", "gdp", "gdp"],
            "value" => [1.5, -2.0, 3.0, 4.25],
        )
        .unwrap();
        let panel = Panel::from_coded(coded.clone());
        assert_eq!(panel.height(), 4);
        assert_eq!(panel.regions().unwrap(), ["乙", "甲"]);
        assert_eq!(panel.indicators().unwrap(), ["gdp", "pop"]);
        assert_eq!(panel.years().unwrap(), [2020, 2021]);
        assert!(panel.frame().equals_missing(&expected));
        let plain = Panel::new(expected.clone()).unwrap();
        assert_eq!(plain.regions().unwrap(), panel.regions().unwrap());
        assert_eq!(plain.indicators().unwrap(), panel.indicators().unwrap());
        assert_eq!(plain.years().unwrap(), panel.years().unwrap());
        // One panel is stacked as it is; two are stacked in order.
        let one = Panel::concat([Panel::from_coded(coded.clone())]).unwrap();
        assert!(one.coded().is_some() && one.frame().equals_missing(&expected));
        let two = Panel::concat([plain, Panel::from_coded(coded.clone())]).unwrap();
        assert_eq!(two.height(), 8);
        assert!(two.frame().slice(4, 4).equals_missing(&expected));
        let renamed = Panel::from_coded(coded.rename_regions(|r| format!("CN-{r}")));
        assert_eq!(renamed.regions().unwrap(), ["CN-乙", "CN-甲"]);
        // Ids without names are refused.
        assert!(
            CodedPanel::new(
                (names(&["a"]), vec![1]),
                vec![2020],
                (names(&["g"]), vec![0]),
                vec![1.0]
            )
            .is_err()
        );
        assert!(
            CodedPanel::new(
                (names(&["a"]), vec![0]),
                vec![],
                (names(&["g"]), vec![0]),
                vec![1.0]
            )
            .is_err()
        );
    }

    /// A wide panel answers as the frame of its long rows (its values row by row, in column
    /// order): rows and columns without values are left out of the distinct names and years.
    #[test]
    fn wide_panel_answers_as_its_frame() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let column = |v: &[Option<f64>]| Float64Chunked::from_slice_options("".into(), v);
        let wide = WidePanel::new(
            (names(&["乙", "甲", "丙"]), vec![1, 0, 2, 1]),
            vec![2021, 2020, 2019, 2020],
            (
                names(&["gdp", "none", "pop"]),
                vec![
                    column(&[Some(1.5), None, None, Some(3.0)]),
                    column(&[None; 4]),
                    column(&[Some(4.25), Some(-2.0), None, None]),
                ],
            ),
        )
        .unwrap();
        let expected = df!(
            "region" => ["甲", "甲", "乙", "甲"],
            "year" => [2021i32, 2021, 2020, 2020],
            "indicator" => ["gdp", "pop", "pop", "gdp"],
            "value" => [1.5, 4.25, -2.0, 3.0],
        )
        .unwrap();
        let panel = Panel::from_wide(wide.clone());
        assert_eq!(panel.height(), 4);
        assert_eq!(panel.regions().unwrap(), ["乙", "甲"]);
        assert_eq!(panel.indicators().unwrap(), ["gdp", "pop"]);
        assert_eq!(panel.years().unwrap(), [2020, 2021]);
        assert!(panel.frame().equals_missing(&expected), "{}", panel.frame());
        let renamed = Panel::from_wide(wide.rename_regions(|r| format!("CN-{r}")));
        assert_eq!(renamed.regions().unwrap(), ["CN-乙", "CN-甲"]);
        // Columns of another length than the rows are refused.
        assert!(
            WidePanel::new(
                (names(&["a"]), vec![0]),
                vec![2020],
                (names(&["g"]), vec![column(&[Some(1.0), None])]),
            )
            .is_err()
        );
    }

    #[test]
    fn ids_follow_their_grammar() {
        assert!(IndicatorId::new("rd_intensity").is_ok());
        assert!(IndicatorId::new("RD").is_err());
        assert!(IndicatorId::new("1abc").is_err());
        assert!(IndicatorId::new("").is_err());
        assert!(RegionCode::new("CN-GD").is_ok());
        assert!(RegionCode::new("../etc").is_err());
        assert!(DatasetId::new("cn-provinces").is_ok());
        assert!(DatasetId::new("a/b").is_err());
    }

    #[test]
    fn dimension_and_direction_parse_both_languages() {
        assert_eq!("劳动资料".parse::<Dimension>().unwrap(), Dimension::Tools);
        assert_eq!("objects".parse::<Dimension>().unwrap(), Dimension::Objects);
        assert!("capital".parse::<Dimension>().is_err());
        assert_eq!("-".parse::<Direction>().unwrap(), Direction::Cost);
        assert!("up".parse::<Direction>().is_err());
    }

    #[test]
    fn panel_reports_distinct_keys() {
        let df = df!(
            "region" => ["CN-BJ", "CN-SH", "CN-BJ"],
            "year" => [2020i32, 2020, 2021],
            "indicator" => ["gdp", "gdp", "gdp"],
            "value" => [1.0, 2.0, 3.0],
        )
        .unwrap();
        let panel = Panel::new(df).unwrap();
        assert_eq!(panel.regions().unwrap(), vec!["CN-BJ", "CN-SH"]);
        assert_eq!(panel.years().unwrap(), vec![2020, 2021]);
        assert_eq!(panel.indicators().unwrap(), vec!["gdp"]);
    }
}
