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
    /// A commit was built on a version that is no longer the dataset's latest: another commit
    /// (or a purge) came first. Its preview no longer describes what would be stored.
    #[error(
        "dataset {dataset} changed meanwhile: the upload was reviewed against version {base}, {}; review the upload again",
        match latest { Some(n) => format!("the latest is now version {n}"), None => "and the dataset is gone".to_owned() }
    )]
    Changed {
        dataset: String,
        base: u32,
        latest: Option<u32>,
    },
    /// A commit meant to create a new dataset found the id taken (by a dataset created since
    /// the upload was reviewed, or a deleted one that still keeps its history).
    #[error(
        "a dataset with the id '{dataset}' exists already (created meanwhile); choose another id, or upload again as a new version of it"
    )]
    IdTaken { dataset: String },
    /// The catalog is missing or lists no version while version files exist (moved away,
    /// replaced by an empty one): the store refuses to start rather than treat the files as debris.
    #[error(
        "{} holds {files} dataset version file(s), but the catalog {} is missing or lists no version. \
         nqp stops here rather than treat them as debris. Restore catalog.sqlite from a backup, or rebuild \
         the catalog from the files' own metadata with `nqp dataset recover --data-dir {}`.",
        data_dir.join("datasets").display(), data_dir.join("catalog.sqlite").display(), data_dir.display()
    )]
    CatalogLost { data_dir: PathBuf, files: usize },
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
            StoreError::Changed { .. } => "store.changed",
            StoreError::IdTaken { .. } => "store.id_taken",
            StoreError::CatalogLost { .. } => "store.catalog_lost",
            StoreError::Invalid(_) => "store.invalid",
            StoreError::SchemaTooNew { .. } => "store.schema_too_new",
        }
    }

    /// The request contradicts the current state (HTTP 409), as opposed to a failure of the store.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            StoreError::Conflict(_) | StoreError::Changed { .. } | StoreError::IdTaken { .. }
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }
}
