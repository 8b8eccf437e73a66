//! The umbrella error returned by the service layer.
//!
//! Owns: `nqp::Error`, one `#[from]` variant per stage. Must not: choose HTTP statuses (that is
//! `web::error`) or print anything.

use crate::framework::FrameworkError;
use crate::ingest::IngestError;
use crate::method::MethodError;
use crate::service::basemap::BaseMapError;
use crate::service::figure::FigureError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // Stage errors are boxed: they carry positions and messages, and an unboxed umbrella would
    // make every `Result` in the service layer large.
    #[error(transparent)]
    Ingest(Box<IngestError>),
    #[error(transparent)]
    Framework(Box<FrameworkError>),
    #[error(transparent)]
    Method(Box<MethodError>),
    #[error(
        "{indicator} for {region} in {year} is in both {first_file} and {second_file}; keep it in one file"
    )]
    DuplicateAcrossFiles {
        indicator: String,
        region: String,
        year: i32,
        first_file: String,
        second_file: String,
    },
    #[error(transparent)]
    Store(Box<StoreError>),
    #[error(transparent)]
    Figure(Box<FigureError>),
    #[error(transparent)]
    BaseMap(Box<BaseMapError>),
    /// The request contradicts what is stored (an id taken, values already present).
    #[error("{0}")]
    Conflict(String),
    /// An upload gives other values for cells already stored, and was not committed as a
    /// revision. `cells` names the first of them (`region year indicator: old → new`).
    #[error(
        "the upload gives other values for {total} cell(s) already stored: {}{}; commit it as a revision (`revise`) to store them as a new version, or correct the file",
        cells.join("; "),
        if *total > cells.len() { "; …" } else { "" }
    )]
    RevisionNeeded { cells: Vec<String>, total: usize },
    /// A field of a request (upload form, commit body) that cannot be accepted.
    #[error("{field}: {detail}")]
    InvalidField { field: String, detail: String },
    #[error("{what} not found: {key}")]
    NotFound { what: &'static str, key: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("internal error: {0}")]
    Internal(String),
    #[error("internal data error: {0}")]
    Polars(#[from] polars::error::PolarsError),
}

impl From<IngestError> for Error {
    fn from(e: IngestError) -> Self {
        Error::Ingest(Box::new(e))
    }
}

impl From<FrameworkError> for Error {
    fn from(e: FrameworkError) -> Self {
        Error::Framework(Box::new(e))
    }
}

impl From<MethodError> for Error {
    fn from(e: MethodError) -> Self {
        Error::Method(Box::new(e))
    }
}

impl From<FigureError> for Error {
    fn from(e: FigureError) -> Self {
        Error::Figure(Box::new(e))
    }
}

impl From<BaseMapError> for Error {
    fn from(e: BaseMapError) -> Self {
        Error::BaseMap(Box::new(e))
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what, key } => Error::NotFound { what, key },
            other => Error::Store(Box::new(other)),
        }
    }
}

impl Error {
    /// A stable, machine-readable code (used by the JSON API, tests and translations).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Ingest(e) => e.code(),
            Error::Framework(e) => e.code(),
            Error::Method(e) => e.code(),
            Error::DuplicateAcrossFiles { .. } => "data.duplicate_across_files",
            Error::Store(e) => e.code(),
            Error::Figure(e) => e.code(),
            Error::BaseMap(e) => e.code(),
            Error::Conflict(_) => "conflict",
            Error::RevisionNeeded { .. } => "data.revision_needed",
            Error::InvalidField { .. } => "invalid_field",
            Error::NotFound { .. } => "not_found",
            Error::Io { .. } => "io",
            Error::Internal(_) | Error::Polars(_) => "internal",
        }
    }
}

impl Error {
    /// The request contradicts what is stored (HTTP 409): an id taken, values already present,
    /// a dataset that changed after the upload was reviewed.
    pub fn is_conflict(&self) -> bool {
        match self {
            Error::Conflict(_) | Error::RevisionNeeded { .. } => true,
            Error::Store(e) => e.is_conflict(),
            _ => false,
        }
    }

    pub fn invalid_field(field: impl Into<String>, detail: impl Into<String>) -> Error {
        Error::InvalidField {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
