//! Errors (the computation cannot proceed) and notices (it proceeded, but the user should know)
//! of the method stage.
//!
//! Owns: `MethodError` with stable `code()`s and `MethodNotice`. Must not: render messages for a
//! language other than English (that is `web::i18n`, keyed by `code`).

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MethodError {
    #[error("the data has no rows")]
    NoData,
    #[error("the data has no column '{column}'")]
    MissingColumn { column: String },
    #[error("no indicators to score: {reason}")]
    NoIndicators { reason: String },
    #[error("indicator '{indicator}' is listed twice")]
    DuplicateIndicator { indicator: String },
    #[error("region '{region}' has more than one row for year {year}")]
    DuplicateRow { region: String, year: i32 },
    #[error("indicator column '{column}' is not numeric ({dtype})")]
    NotNumeric { column: String, dtype: String },
    #[error("column '{column}' has an empty value (row {row})")]
    NullKey { column: String, row: usize },
    #[error("indicator '{indicator}' has a non-finite value for region '{region}', year {year}")]
    NonFinite {
        indicator: String,
        region: String,
        year: i32,
    },
    #[error("manual weights: {message}")]
    ManualWeights {
        message: String,
        indicator: Option<String>,
    },
    #[error("invalid method setting: {message}")]
    InvalidSpec { message: String },
    #[error("{scheme} weights are undefined{}: every indicator carries zero weight", year.map(|y| format!(" in {y}")).unwrap_or_default())]
    DegenerateWeights { scheme: String, year: Option<i32> },
    #[error("internal data error: {0}")]
    Polars(String),
}

impl MethodError {
    /// Stable machine-readable code (JSON API, tests, translations).
    pub fn code(&self) -> &'static str {
        match self {
            MethodError::NoData => "method.no_data",
            MethodError::MissingColumn { .. } => "method.missing_column",
            MethodError::NoIndicators { .. } => "method.no_indicators",
            MethodError::DuplicateIndicator { .. } => "method.duplicate_indicator",
            MethodError::DuplicateRow { .. } => "method.duplicate_row",
            MethodError::NotNumeric { .. } => "method.not_numeric",
            MethodError::NullKey { .. } => "method.null_key",
            MethodError::NonFinite { .. } => "method.non_finite",
            MethodError::ManualWeights { .. } => "method.manual_weights",
            MethodError::InvalidSpec { .. } => "method.invalid_spec",
            MethodError::DegenerateWeights { .. } => "method.degenerate_weights",
            MethodError::Polars(_) => "method.internal",
        }
    }
}

impl From<polars::error::PolarsError> for MethodError {
    fn from(e: polars::error::PolarsError) -> Self {
        MethodError::Polars(e.to_string())
    }
}

/// Something the user should know about a result that was still computed.
///
/// Codes: `method.interior_years` (region-years absent between a region's observed years, added
/// as gaps), `method.empty_rows` (region-years without any value even after interpolation, left
/// out), `method.low_coverage` (indicator excluded), `method.constant_indicator` (z = 0,
/// weight 0), `method.constant_in_year` (z = 0 in those years), `method.imputed` (interior gaps
/// interpolated), `method.partial_region_years` (region-years scored on fewer indicators),
/// `method.topsis_degenerate` (D⁺ + D⁻ = 0, score set to 50).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MethodNotice {
    pub code: &'static str,
    pub message: String,
    pub indicator: Option<String>,
}

impl MethodNotice {
    pub(crate) fn new(code: &'static str, message: String, indicator: Option<&str>) -> Self {
        MethodNotice {
            code,
            message,
            indicator: indicator.map(str::to_owned),
        }
    }
}
