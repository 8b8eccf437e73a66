//! Where an ingest problem is ([`Position`]) and what it is ([`IngestError`]).
//!
//! Owns: the error enum of the ingest stage and its stable `code()` strings (a contract: the JSON
//! API, translations and tests match on them). Must not: render messages in any language but the
//! English `Display` used by logs and the CLI (zh/en texts are built from `code()` + fields).

use std::fmt;

use crate::types::RegionCode;

/// Most problems reported for one file before the rest are dropped (the user fixes these first).
pub const MAX_ERRORS: usize = 50;

/// A place in an input file: the user's file name (never a server path), the 1-based physical line
/// of the decoded text, the 1-based column (CSV field) and that column's header name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<usize>,
    pub column_name: Option<String>,
}

impl Position {
    /// The whole file.
    pub fn file(file: &str) -> Self {
        Self {
            file: file.to_owned(),
            line: None,
            column: None,
            column_name: None,
        }
    }

    /// A whole line.
    pub fn line(file: &str, line: u64) -> Self {
        Self {
            line: Some(line),
            ..Self::file(file)
        }
    }

    /// One cell; `column` is 1-based.
    pub fn cell(file: &str, line: u64, column: usize, column_name: Option<&str>) -> Self {
        Self {
            file: file.to_owned(),
            line: Some(line),
            column: Some(column),
            column_name: column_name.filter(|n| !n.is_empty()).map(str::to_owned),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let column = self.column.map(|c| c as u64);
        crate::types::write_place(f, &self.file, self.line, column)?;
        if let Some(name) = &self.column_name {
            write!(f, " (column '{name}')")?;
        }
        Ok(())
    }
}

fn suggestion_text(suggestion: &Option<RegionCode>) -> String {
    match suggestion {
        Some(code) => format!(" (did you mean {code}?)"),
        None => String::new(),
    }
}

/// Everything that can be wrong with an input file. Every variant but `Many` and `Internal`
/// carries the [`Position`] of the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IngestError {
    #[error("{pos}: the file is empty")]
    Empty { pos: Position },
    #[error("{pos}: cannot decode the text: {detail}")]
    Encoding { pos: Position, detail: String },
    #[error("{pos}: {}", match kind {
        Some(kind) => format!("this is {kind}, not a table: upload CSV, XLSX or ODS"),
        None => "this is a binary file, not a CSV text file".to_owned(),
    })]
    Binary {
        pos: Position,
        /// What the file is, when its magic bytes tell (`a PNG image`).
        kind: Option<&'static str>,
    },
    /// Over one of the size limits every input is read under (spreadsheet cells, inflated
    /// bytes, columns, name length).
    #[error("{pos}: too large: {detail}")]
    TooLarge { pos: Position, detail: String },
    #[error("{pos}: the first line holds data, not column names ({detail})")]
    NoHeader { pos: Position, detail: String },
    #[error("{pos}: the file has column names but no data rows")]
    HeaderOnly { pos: Position },
    #[error("{pos}: expected {expected} fields, found {found}")]
    RaggedRow {
        pos: Position,
        expected: usize,
        found: usize,
    },
    #[error("{pos}: a quoted field is never closed")]
    UnterminatedQuote { pos: Position },
    #[error("{pos}: '{value}' is not a number")]
    NotNumeric { pos: Position, value: String },
    #[error("{pos}: '{value}' is not a year (expected e.g. 2024 or 2024年)")]
    BadYear { pos: Position, value: String },
    #[error("{pos}: the {what} is empty")]
    EmptyKey { pos: Position, what: &'static str },
    #[error("{pos}: duplicate {key}, first seen on line {first_line}")]
    Duplicate {
        pos: Position,
        key: String,
        first_line: u64,
    },
    #[error("{pos}: the column name '{name}' appears twice (first in column {first_column})")]
    DuplicateColumn {
        pos: Position,
        name: String,
        first_column: usize,
    },
    #[error("{pos}: unknown region '{name}'{}", suggestion_text(suggestion))]
    UnknownRegion {
        pos: Position,
        /// The name as written (cleaned); boxed to keep the error within clippy's size budget.
        name: Box<str>,
        suggestion: Option<RegionCode>,
    },
    #[error(
        "{pos}: more than {} distinct region names are not in the region set (the first: {}); is it the right region set? (read the file without one: --regions none)",
        crate::ingest::collect::MAX_UNKNOWN_NAMES,
        first.join(", ")
    )]
    TooManyUnknownRegions {
        /// Where the first name past the limit is.
        pos: Position,
        first: Vec<String>,
    },
    #[error("{pos}: missing the {column} column (found: {})", found.join(", "))]
    MissingColumn {
        pos: Position,
        column: &'static str,
        found: Vec<String>,
    },
    #[error("{pos}: cannot detect the layout: {detail}")]
    Layout { pos: Position, detail: String },
    /// Content detection of a table with years across found no column, or several, for one
    /// role; `detail` names the candidates and the layout hint that settles it.
    #[error("{pos}: cannot tell which column holds the {what}: {detail}")]
    AmbiguousLayout {
        pos: Position,
        what: &'static str,
        detail: String,
    },
    /// A layout hint that does not fit the file (a column it lacks, a year column that is not a
    /// year).
    #[error("{pos}: the layout hint does not fit the file: {detail}")]
    LayoutHint { pos: Position, detail: String },
    #[error("{pos}: invalid region set: {detail}")]
    RegionSet { pos: Position, detail: String },
    #[error("{} problems in {file}{}", errors.len(), if errors.len() >= MAX_ERRORS { " (only the first ones are listed)" } else { "" })]
    Many {
        file: String,
        errors: Vec<IngestError>,
    },
    #[error("{file}: internal error while building the panel: {detail}")]
    Internal { file: String, detail: String },
}

/// Every code [`IngestError::code`] can return (for translation tables and docs checks).
pub const ERROR_CODES: &[&str] = &[
    "ingest.empty",
    "ingest.encoding",
    "ingest.binary",
    "ingest.too_large",
    "ingest.no_header",
    "ingest.header_only",
    "ingest.ragged_row",
    "ingest.unterminated_quote",
    "ingest.not_numeric",
    "ingest.bad_year",
    "ingest.empty_key",
    "ingest.duplicate",
    "ingest.duplicate_column",
    "ingest.unknown_region",
    "ingest.too_many_unknown_regions",
    "ingest.missing_column",
    "ingest.layout",
    "ingest.ambiguous_layout",
    "ingest.layout_hint",
    "ingest.region_set",
    "ingest.many",
    "ingest.internal",
];

impl IngestError {
    /// The stable machine-readable code (one of [`ERROR_CODES`]).
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Empty { .. } => "ingest.empty",
            IngestError::Encoding { .. } => "ingest.encoding",
            IngestError::Binary { .. } => "ingest.binary",
            IngestError::TooLarge { .. } => "ingest.too_large",
            IngestError::NoHeader { .. } => "ingest.no_header",
            IngestError::HeaderOnly { .. } => "ingest.header_only",
            IngestError::RaggedRow { .. } => "ingest.ragged_row",
            IngestError::UnterminatedQuote { .. } => "ingest.unterminated_quote",
            IngestError::NotNumeric { .. } => "ingest.not_numeric",
            IngestError::BadYear { .. } => "ingest.bad_year",
            IngestError::EmptyKey { .. } => "ingest.empty_key",
            IngestError::Duplicate { .. } => "ingest.duplicate",
            IngestError::DuplicateColumn { .. } => "ingest.duplicate_column",
            IngestError::UnknownRegion { .. } => "ingest.unknown_region",
            IngestError::TooManyUnknownRegions { .. } => "ingest.too_many_unknown_regions",
            IngestError::MissingColumn { .. } => "ingest.missing_column",
            IngestError::Layout { .. } => "ingest.layout",
            IngestError::AmbiguousLayout { .. } => "ingest.ambiguous_layout",
            IngestError::LayoutHint { .. } => "ingest.layout_hint",
            IngestError::RegionSet { .. } => "ingest.region_set",
            IngestError::Many { .. } => "ingest.many",
            IngestError::Internal { .. } => "ingest.internal",
        }
    }

    /// Where the problem is; `None` for `Many` (see [`IngestError::errors`]) and `Internal`.
    pub fn position(&self) -> Option<&Position> {
        match self {
            IngestError::Empty { pos }
            | IngestError::Encoding { pos, .. }
            | IngestError::Binary { pos, .. }
            | IngestError::TooLarge { pos, .. }
            | IngestError::NoHeader { pos, .. }
            | IngestError::HeaderOnly { pos }
            | IngestError::RaggedRow { pos, .. }
            | IngestError::UnterminatedQuote { pos }
            | IngestError::NotNumeric { pos, .. }
            | IngestError::BadYear { pos, .. }
            | IngestError::EmptyKey { pos, .. }
            | IngestError::Duplicate { pos, .. }
            | IngestError::DuplicateColumn { pos, .. }
            | IngestError::UnknownRegion { pos, .. }
            | IngestError::TooManyUnknownRegions { pos, .. }
            | IngestError::MissingColumn { pos, .. }
            | IngestError::Layout { pos, .. }
            | IngestError::AmbiguousLayout { pos, .. }
            | IngestError::LayoutHint { pos, .. }
            | IngestError::RegionSet { pos, .. } => Some(pos),
            IngestError::Many { .. } | IngestError::Internal { .. } => None,
        }
    }

    /// The individual problems: the list inside `Many`, otherwise just this error.
    pub fn errors(&self) -> &[IngestError] {
        match self {
            IngestError::Many { errors, .. } => errors,
            other => std::slice::from_ref(other),
        }
    }

    /// One error stays itself; several become `Many` (capped at [`MAX_ERRORS`]).
    pub(crate) fn from_list(file: &str, mut errors: Vec<IngestError>) -> Option<IngestError> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => {
                errors.truncate(MAX_ERRORS);
                Some(IngestError::Many {
                    file: file.to_owned(),
                    errors,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_display_names_file_line_column_and_header() {
        let pos = Position::cell("gdp.csv", 14, 3, Some("2023年"));
        assert_eq!(pos.to_string(), "gdp.csv:14:3 (column '2023年')");
        assert_eq!(Position::line("a.csv", 2).to_string(), "a.csv:2");
        assert_eq!(Position::file("a.csv").to_string(), "a.csv");
    }

    #[test]
    fn one_error_stays_itself_and_many_are_capped() {
        let one = |line| IngestError::HeaderOnly {
            pos: Position::line("a.csv", line),
        };
        let single = IngestError::from_list("a.csv", vec![one(1)]).unwrap();
        assert_eq!(single.code(), "ingest.header_only");
        assert_eq!(single.position().unwrap().line, Some(1));
        let many = IngestError::from_list("a.csv", (1..=80).map(one).collect()).unwrap();
        // Small enough for clippy's result_large_err (128 bytes) so `nqp::Error` stays small.
        assert!(std::mem::size_of::<IngestError>() <= 128);
        assert_eq!(many.code(), "ingest.many");
        assert_eq!(many.errors().len(), MAX_ERRORS);
        assert!(many.position().is_none());
        assert!(IngestError::from_list("a.csv", Vec::new()).is_none());
    }
}
