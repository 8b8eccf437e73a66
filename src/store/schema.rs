//! The catalog schema and its migrations, versioned with SQLite's `user_version`.
//!
//! Migrations are append-only: never edit a released step, add a new one.

use rusqlite::Connection;

use super::StoreError;

/// Step `i` moves the catalog from `user_version = i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE datasets (
    id         TEXT PRIMARY KEY,
    title_zh   TEXT NOT NULL,
    title_en   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    deleted_at TEXT
);
-- Framework texts, shared by every version that used the same text.
CREATE TABLE frameworks (
    id     INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    toml   TEXT NOT NULL
);
CREATE TABLE versions (
    dataset       TEXT NOT NULL REFERENCES datasets(id),
    number        INTEGER NOT NULL CHECK (number >= 1),
    hash          TEXT NOT NULL,
    file          TEXT NOT NULL,
    file_sha256   TEXT NOT NULL,
    file_size     INTEGER NOT NULL,
    rows          INTEGER NOT NULL,
    framework_id  INTEGER NOT NULL REFERENCES frameworks(id),
    region_set_id TEXT,
    note          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    PRIMARY KEY (dataset, number)
);
-- The user's files a version was built from (names and hashes only; the bytes are not kept).
CREATE TABLE uploads (
    id      INTEGER PRIMARY KEY,
    dataset TEXT NOT NULL,
    number  INTEGER NOT NULL,
    name    TEXT NOT NULL,
    sha256  TEXT NOT NULL,
    FOREIGN KEY (dataset, number) REFERENCES versions(dataset, number)
);
-- Only SHA-256 hashes of tokens and session ids are stored.
CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    token_id   INTEGER NOT NULL REFERENCES tokens(id),
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE audit (
    id     INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
"#,
    r#"
-- Cells a version revised: the value of its parent (`old`) and its own (`new`); who and when
-- are the version's `created_by` and `created_at`, `file` the upload's file names.
CREATE TABLE revisions (
    id        INTEGER PRIMARY KEY,
    dataset   TEXT NOT NULL,
    number    INTEGER NOT NULL,
    region    TEXT NOT NULL,
    year      INTEGER NOT NULL,
    indicator TEXT NOT NULL,
    old       REAL NOT NULL,
    new       REAL NOT NULL,
    file      TEXT NOT NULL,
    FOREIGN KEY (dataset, number) REFERENCES versions(dataset, number)
);
"#,
];

/// Bring the catalog up to the newest schema, all steps in one transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let supported = MIGRATIONS.len() as i64;
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    let done = usize::try_from(found).map_err(|_| StoreError::Corrupt {
        what: "catalog".into(),
        detail: format!("negative schema version {found}"),
    })?;
    for step in &MIGRATIONS[done..] {
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "user_version", supported)?;
    tx.commit()?;
    Ok(())
}
