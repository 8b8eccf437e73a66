//! Analysis: the follow-up analyses that papers run on a new-quality-productivity score table.
//!
//! Owns: regional disparities ([`inequality`]: Dagum Gini with its decomposition, Theil T,
//! coefficient of variation), dynamics ([`dynamics`]: kernel density, σ- and β-convergence,
//! Markov chains), spatial autocorrelation ([`spatial`]: global Moran's I and LISA), diagnosis
//! ([`diagnosis`]: obstacle degree, coupling coordination), the bundled China grouping and
//! contiguity ([`china`]), the robustness of the index itself ([`robustness`]: audit,
//! uncertainty, sensitivity, method comparison, change decomposition) and the CSV report that `nqp analyse` writes ([`report`]).
//!
//! Must not: compute the index itself (that is `method`), read configuration, or do I/O — except
//! [`report`], the one place that writes the analysis CSV files. Every function here is pure:
//! plain numbers (or a score frame) in, typed `serde::Serialize` results out. The inputs are
//! small (31 regions × ~20 years), so the math is written as plain loops over `Vec<f64>`, which
//! keeps each formula readable next to the paper it follows.

pub mod china;
mod columns;
pub mod diagnosis;
pub mod dynamics;
pub mod inequality;
pub mod panel;
pub mod report;
pub mod robustness;
pub mod series;
pub mod spatial;
mod stats;
mod table;
pub mod weights;

use std::collections::{BTreeMap, BTreeSet};

pub use stats::{Described, describe};
pub use table::ScoreTable;

/// The measures every score-table analysis runs on: the overall score and the three dimensions.
pub const MEASURES: [&str; 4] = ["score", "laborers", "tools", "objects"];

/// Errors of the analysis stage. `code()` is stable (tests and the JSON API rely on it).
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("{file}: missing column '{column}'")]
    MissingColumn { file: String, column: String },
    #[error("{file}: column '{column}' {detail}")]
    BadColumn {
        file: String,
        column: String,
        detail: String,
    },
    #[error("{file}: region '{region}' appears more than once in year {year}")]
    DuplicateRow {
        file: String,
        region: String,
        year: i32,
    },
    #[error("{file}, line {line}: {message}")]
    BadInput {
        file: String,
        line: usize,
        message: String,
    },
    #[error(
        "{file}: adjacency is not symmetric: '{region}' lists '{neighbor}' as a neighbour but not the other way round"
    )]
    AsymmetricAdjacency {
        file: String,
        region: String,
        neighbor: String,
    },
    #[error("{file}: no row for region '{region}'")]
    MissingRegion { file: String, region: String },
    #[error("unknown series '{name}' (the dataset has: {})", abbreviate(available))]
    UnknownSeries {
        name: String,
        available: Vec<String>,
    },
    #[error("{file}: no group for {} region(s): {}", regions.len(), abbreviate(regions))]
    UngroupedRegions { file: String, regions: Vec<String> },
    #[error("{what} needs non-negative values, found {count} negative value(s)")]
    NegativeValues { what: &'static str, count: usize },
    #[error("{what} needs normalised values in [0, 1]; {detail}")]
    OutsideUnitInterval { what: &'static str, detail: String },
    #[error("{what} needs finite values, found {count} NaN or infinite value(s)")]
    NonFinite { what: &'static str, count: usize },
    #[error("{what} needs at least {needed} observations, found {found}")]
    TooFew {
        what: &'static str,
        needed: usize,
        found: usize,
    },
    #[error("{what} is undefined for constant values")]
    Constant { what: &'static str },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("internal data error: {0}")]
    Polars(#[from] polars::error::PolarsError),
}

/// The first ten names, then "… and N more".
fn abbreviate(names: &[String]) -> String {
    let shown = names
        .iter()
        .take(10)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match names.len().saturating_sub(10) {
        0 => shown,
        more => format!("{shown} … and {more} more"),
    }
}

impl AnalysisError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AnalysisError::MissingColumn { .. } => "analysis.missing_column",
            AnalysisError::BadColumn { .. } => "analysis.bad_column",
            AnalysisError::DuplicateRow { .. } => "analysis.duplicate_row",
            AnalysisError::BadInput { .. } => "analysis.bad_input",
            AnalysisError::AsymmetricAdjacency { .. } => "analysis.adjacency_asymmetric",
            AnalysisError::UngroupedRegions { .. } => "analysis.ungrouped_region",
            AnalysisError::MissingRegion { .. } => "analysis.missing_region",
            AnalysisError::UnknownSeries { .. } => "analysis.unknown_series",
            AnalysisError::NegativeValues { .. } => "analysis.negative_values",
            AnalysisError::OutsideUnitInterval { .. } => "analysis.outside_unit_interval",
            AnalysisError::NonFinite { .. } => "analysis.non_finite",
            AnalysisError::TooFew { .. } => "analysis.too_few",
            AnalysisError::Constant { .. } => "analysis.constant",
            AnalysisError::Io { .. } => "analysis.io",
            AnalysisError::Polars(_) => "analysis.internal",
        }
    }
}

/// Region → group (e.g. the NBS four regions East / Central / West / Northeast).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GroupMap {
    /// The file the map came from, for error messages.
    source: String,
    groups: BTreeMap<String, String>,
}

impl GroupMap {
    /// Build from `(region, group)` pairs; a region listed twice with different groups is an error.
    pub fn from_pairs<I, R, G>(pairs: I) -> Result<Self, AnalysisError>
    where
        I: IntoIterator<Item = (R, G)>,
        R: Into<String>,
        G: Into<String>,
    {
        Self::from_rows("groups", numbered(pairs))
    }

    /// Parse a `region,group` CSV (header required; UTF-8, a BOM is ignored). `file` names the
    /// file in error messages.
    pub fn from_csv(text: &str, file: &str) -> Result<Self, AnalysisError> {
        let rows = parse_two_columns(text, file, ("region", "group"))?;
        Self::from_rows(file, rows.into_iter())
    }

    fn from_rows(
        file: &str,
        rows: impl Iterator<Item = (usize, String, String)>,
    ) -> Result<Self, AnalysisError> {
        let mut groups = BTreeMap::new();
        for (line, region, group) in rows {
            if let Some(previous) = groups.insert(region.clone(), group.clone())
                && previous != group
            {
                return Err(AnalysisError::BadInput {
                    file: file.to_owned(),
                    line,
                    message: format!(
                        "region '{region}' is in group '{previous}' and in group '{group}'"
                    ),
                });
            }
        }
        Ok(Self {
            source: file.to_owned(),
            groups,
        })
    }

    /// The group of `region`, if mapped.
    pub fn group_of(&self, region: &str) -> Option<&str> {
        self.groups.get(region).map(String::as_str)
    }

    /// The groups of `regions` in order, or the list of regions that have no group.
    pub fn assign(&self, regions: &[String]) -> Result<Vec<String>, AnalysisError> {
        let missing: Vec<String> = regions
            .iter()
            .filter(|r| !self.groups.contains_key(r.as_str()))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(AnalysisError::UngroupedRegions {
                file: self.source.clone(),
                regions: missing,
            });
        }
        Ok(regions
            .iter()
            .filter_map(|r| self.groups.get(r.as_str()).cloned())
            .collect())
    }

    /// Distinct group names, sorted.
    pub fn groups(&self) -> BTreeSet<&str> {
        self.groups.values().map(String::as_str).collect()
    }
}

/// `(region, other)` pairs as the rows of a two-column CSV: numbered by line, the first pair on
/// line 2 (after the header), so errors name pairs as they name a file's rows.
fn numbered<R: Into<String>, O: Into<String>>(
    pairs: impl IntoIterator<Item = (R, O)>,
) -> impl Iterator<Item = (usize, String, String)> {
    pairs
        .into_iter()
        .enumerate()
        .map(|(i, (r, o))| (i + 2, r.into(), o.into()))
}

/// Reject NaN and infinities (the score table already drops them; direct callers may not).
pub(crate) fn check_finite(what: &'static str, values: &[f64]) -> Result<(), AnalysisError> {
    let count = values.iter().filter(|v| !v.is_finite()).count();
    if count > 0 {
        return Err(AnalysisError::NonFinite { what, count });
    }
    Ok(())
}

/// A symmetric neighbour relation between regions (binary contiguity).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Adjacency {
    neighbors: BTreeMap<String, BTreeSet<String>>,
}

impl Adjacency {
    /// Build from `(region, neighbor)` pairs. The relation must be symmetric (both directions
    /// listed) and irreflexive; the error names the first offending pair.
    pub fn from_pairs<I, R, N>(pairs: I) -> Result<Self, AnalysisError>
    where
        I: IntoIterator<Item = (R, N)>,
        R: Into<String>,
        N: Into<String>,
    {
        Self::from_rows("adjacency", numbered(pairs))
    }

    /// Parse a `region,neighbor` CSV (header required; UTF-8, a BOM is ignored).
    pub fn from_csv(text: &str, file: &str) -> Result<Self, AnalysisError> {
        let rows = parse_two_columns(text, file, ("region", "neighbor"))?;
        Self::from_rows(file, rows.into_iter())
    }

    fn from_rows(
        file: &str,
        rows: impl Iterator<Item = (usize, String, String)>,
    ) -> Result<Self, AnalysisError> {
        let mut neighbors: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (line, region, neighbor) in rows {
            if region == neighbor {
                return Err(AnalysisError::BadInput {
                    file: file.to_owned(),
                    line,
                    message: format!("region '{region}' is listed as its own neighbour"),
                });
            }
            neighbors.entry(region).or_default().insert(neighbor);
        }
        for (region, list) in &neighbors {
            for neighbor in list {
                let back = neighbors.get(neighbor).is_some_and(|l| l.contains(region));
                if !back {
                    return Err(AnalysisError::AsymmetricAdjacency {
                        file: file.to_owned(),
                        region: region.clone(),
                        neighbor: neighbor.clone(),
                    });
                }
            }
        }
        Ok(Self { neighbors })
    }

    /// The neighbours of `region` (empty for a region without neighbours or not listed).
    pub fn neighbors(&self, region: &str) -> impl Iterator<Item = &str> {
        self.neighbors
            .get(region)
            .into_iter()
            .flat_map(|s| s.iter().map(String::as_str))
    }

    /// Number of unordered neighbour pairs.
    pub fn pair_count(&self) -> usize {
        self.neighbors.values().map(BTreeSet::len).sum::<usize>() / 2
    }
}

/// Read a two-column CSV with the given header. Returns `(line, first, second)` per data row.
/// Blank lines are skipped; fields may be double-quoted; extra columns are an error (a
/// three-column file is more likely a mistake than something to silently truncate).
fn parse_two_columns(
    text: &str,
    file: &str,
    header: (&str, &str),
) -> Result<Vec<(usize, String, String)>, AnalysisError> {
    let mut lines = csv_lines(text);
    let bad = |line: usize, message: String| AnalysisError::BadInput {
        file: file.to_owned(),
        line,
        message,
    };
    let (hline, head) = lines.next().ok_or_else(|| {
        bad(
            1,
            format!("empty file, expected header '{},{}'", header.0, header.1),
        )
    })?;
    let fields = split_fields(head);
    if fields.len() != 2 || fields[0] != header.0 || fields[1] != header.1 {
        return Err(bad(
            hline,
            format!(
                "expected header '{},{}', found '{head}'",
                header.0, header.1
            ),
        ));
    }
    let mut rows = Vec::new();
    for (line, l) in lines {
        let fields = split_fields(l);
        match fields.as_slice() {
            [a, b] if !a.is_empty() && !b.is_empty() => {
                rows.push((line, a.clone(), b.clone()));
            }
            _ => {
                return Err(bad(
                    line,
                    format!("expected two non-empty fields, found '{l}'"),
                ));
            }
        }
    }
    Ok(rows)
}

/// The non-blank lines of a CSV text (a BOM removed), trimmed, with 1-based line numbers.
fn csv_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.strip_prefix('\u{feff}')
        .unwrap_or(text)
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
}

fn split_fields(line: &str) -> Vec<String> {
    line.split(',')
        .map(|f| f.trim().trim_matches('"').trim().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjacency_must_be_symmetric() {
        let err = Adjacency::from_csv("region,neighbor\nA,B\nB,A\nB,C\n", "adj.csv").unwrap_err();
        assert_eq!(err.code(), "analysis.adjacency_asymmetric");
        assert!(err.to_string().contains("'B' lists 'C'"), "{err}");
        let ok = Adjacency::from_csv("\u{feff}region,neighbor\nA,B\n\nB,A\n", "adj.csv").unwrap();
        assert_eq!(ok.neighbors("A").collect::<Vec<_>>(), vec!["B"]);
        assert_eq!(ok.pair_count(), 1);
        assert_eq!(ok.neighbors("Z").count(), 0);
    }

    #[test]
    fn adjacency_rejects_self_loops_and_bad_headers() {
        let err = Adjacency::from_csv("region,neighbor\nA,A\n", "adj.csv").unwrap_err();
        assert_eq!(err.code(), "analysis.bad_input");
        assert!(err.to_string().starts_with("adj.csv, line 2"), "{err}");
        let err = Adjacency::from_csv("from,to\nA,B\n", "adj.csv").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected header 'region,neighbor'")
        );
    }

    #[test]
    fn group_map_reports_conflicts_and_missing_regions() {
        let err = GroupMap::from_csv("region,group\nA,x\nA,y\n", "g.csv").unwrap_err();
        assert_eq!(err.code(), "analysis.bad_input");
        assert!(err.to_string().contains("line 3"), "{err}");
        let map = GroupMap::from_csv("region,group\nA,x\nB,y\n", "g.csv").unwrap();
        assert_eq!(map.group_of("B"), Some("y"));
        let err = map.assign(&["A".to_owned(), "C".to_owned()]).unwrap_err();
        assert_eq!(err.code(), "analysis.ungrouped_region");
        assert_eq!(err.to_string(), "g.csv: no group for 1 region(s): C");
        let many: Vec<String> = (0..12).map(|i| format!("r{i}")).collect();
        let err = map.assign(&many).unwrap_err().to_string();
        assert!(err.ends_with("r9 … and 2 more"), "{err}");
    }
}
