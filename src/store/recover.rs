//! Rebuilding catalog entries from the version files' own records (`nqp dataset recover`).
//!
//! Each version file carries its [`VersionRecord`] (dataset, number, content hash, creation
//! time, actor, titles, note, framework text, parent). Recovery adds to the catalog every
//! `datasets/<id>/<n>.parquet` it does not list yet, in version order, but only where the
//! history stays true: version 1 of a dataset the catalog does not know, or version n built on
//! the very version n−1 (same content hash) the catalog has. Everything else is reported and
//! left where it is. Tokens, sessions, deletions and the audit log live only in the catalog and
//! are not recovered: a recovered dataset is visible, and `nqp serve` prints a new admin token
//! when the catalog has none.
//!
//! Must not: run beside another process using the store (it takes the exclusive lock).

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, TransactionBehavior};
use serde::Serialize;

use super::audit::{self, AuditAction};
use super::record::{self, VersionRecord};
use super::{
    DATASETS_DIR, StoreError, insert_version, read_dir, version_file_name, version_hash,
    version_target,
};
use crate::types::DatasetId;

/// The actor recorded for recovered versions.
const ACTOR: &str = "nqp dataset recover";

/// What a recovery did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Recovery {
    /// Versions added to the catalog, as `id/n`, in the order they were added.
    pub recovered: Vec<String>,
    /// Version files the catalog already listed.
    pub known: usize,
    /// Version files left as they are, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

/// `datasets/<id>/<n>.parquet` files, sorted by dataset and number.
fn version_files(root: &Path) -> Result<Vec<(DatasetId, u32, PathBuf)>, StoreError> {
    let mut out = Vec::new();
    for dir in read_dir(&root.join(DATASETS_DIR))? {
        let Ok(id) = DatasetId::new(dir.file_name().to_string_lossy().into_owned()) else {
            continue;
        };
        if !dir.path().is_dir() {
            continue;
        }
        for file in read_dir(&dir.path())? {
            let name = file.file_name().to_string_lossy().into_owned();
            let number = name
                .strip_suffix(".parquet")
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|n| *n >= 1 && name == version_file_name(*n));
            if let Some(number) = number {
                out.push((id.clone(), number, file.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Add the versions the catalog lacks (see the module doc), all in one transaction.
pub(crate) fn run(root: &Path, conn: &mut Connection) -> Result<Recovery, StoreError> {
    let files = version_files(root)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut report = Recovery::default();
    for (id, number, path) in files {
        if version_hash(&tx, &id, number)?.is_some() {
            report.known += 1;
            continue;
        }
        let bytes = fs::read(&path).map_err(StoreError::io(&path))?;
        match admissible(&tx, &id, number, &bytes) {
            Ok((record, rows)) => {
                insert(&tx, &id, &record, &bytes, rows, &path)?;
                report.recovered.push(version_target(&id, number));
            }
            Err(reason) => report.skipped.push((path, reason)),
        }
    }
    tx.commit()?;
    Ok(report)
}

/// The file's record and panel rows if the version may join the catalog, else why not.
fn admissible(
    conn: &Connection,
    id: &DatasetId,
    number: u32,
    bytes: &[u8],
) -> Result<(VersionRecord, usize), String> {
    let record = match record::read(bytes) {
        Ok(Some(record)) => record,
        Ok(None) => return Err("it has no version record (written before nqp stored one)".into()),
        Err(e) => return Err(format!("it cannot be read: {e}")),
    };
    if record.dataset != id.as_str() || record.number != number {
        return Err(format!(
            "its record names version {}/{}, not the place it is in",
            record.dataset, record.number
        ));
    }
    let known = |n: u32| version_hash(conn, id, n).map_err(|e| e.to_string());
    match &record.parent {
        None if number == 1 && known(1)?.is_none() => {}
        None => return Err("it claims to be a first version, but is not version 1".into()),
        Some(parent) if parent.number + 1 != number => {
            return Err(format!("it names version {} as its parent", parent.number));
        }
        Some(parent) => match known(parent.number)? {
            Some(hash) if hash == parent.hash => {}
            Some(_) => {
                return Err(format!(
                    "it was built on a version {} with other content than the catalog's",
                    parent.number
                ));
            }
            None => {
                return Err(format!(
                    "it was built on version {}, which neither the catalog nor the files have",
                    parent.number
                ));
            }
        },
    }
    let panel = record::decode(bytes).map_err(|e| format!("its panel cannot be read: {e}"))?;
    Ok((record, panel.height()))
}

fn insert(
    conn: &Connection,
    id: &DatasetId,
    record: &VersionRecord,
    bytes: &[u8],
    rows: usize,
    path: &Path,
) -> Result<(), StoreError> {
    insert_version(conn, id, record, bytes, rows)?;
    audit::record(
        conn,
        ACTOR,
        AuditAction::Recover,
        &version_target(id, record.number),
        &format!("from {}", path.display()),
    )
}
