//! Errors of the store: every failure to read or write the catalog or a dataset file.

use std::path::PathBuf;

/// What went wrong in [`crate::store::Store`]. `code()` is a stable contract (JSON API, tests).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or directory under the data dir could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The catalog database failed (locked beyond the busy timeout, disk full, …).
    #[error("catalog: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A panel could not be encoded to, or decoded from, Parquet.
    #[error("parquet: {0}")]
    Parquet(#[from] polars::error::PolarsError),
    /// Stored bytes no longer match what the catalog recorded (bit rot, manual edits).
    #[error("{what} is corrupt: {detail}")]
    Corrupt { what: String, detail: String },
    /// No such dataset, version, token or session.
    #[error("{what} not found: {key}")]
    NotFound { what: &'static str, key: String },
    /// The request contradicts the current state (e.g. uploading into a deleted dataset).
    #[error("{0}")]
    Conflict(String),
    /// An argument the store cannot accept (empty token name, empty admin token).
    #[error("{0}")]
    Invalid(String),
    /// The catalog was written by a newer nqp whose schema this build does not know.
    #[error("catalog schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
}

impl StoreError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Io { .. } => "store.io",
            StoreError::Sqlite(_) => "store.sqlite",
            StoreError::Parquet(_) => "store.parquet",
            StoreError::Corrupt { .. } => "store.corrupt",
            StoreError::NotFound { .. } => "store.not_found",
            StoreError::Conflict(_) => "store.conflict",
            StoreError::Invalid(_) => "store.invalid",
            StoreError::SchemaTooNew { .. } => "store.schema_too_new",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }
}
