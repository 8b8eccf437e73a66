//! Start-up housekeeping of the data dir: the store never deletes what it cannot explain.
//!
//! Explained, and removed: `datasets/<random>.tmp`, a version still being written when the
//! process stopped (never published, never acknowledged). Everything else under `datasets/` that
//! no committed version references — a version file of a catalog restored from an older backup,
//! debris of an interrupted commit, a purge interrupted before its files went, a stranger's
//! file — is moved to `quarantine/<time>/datasets/…` with a warning, never deleted, and only
//! when the catalog is healthy. A catalog that lists no version while version files exist is
//! not healthy: [`check_catalog`] stops the start-up and tells the operator what to do.
//!
//! Must not: decide what is referenced (the catalog says) or write the catalog.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::Utc;

use super::fsio::{self, TMP_SUFFIX};
use super::{DATASETS_DIR, StoreError, read_dir};

/// Where files the store cannot explain are moved to, relative to the data dir.
pub(crate) const QUARANTINE_DIR: &str = "quarantine";
const VERSION_SUFFIX: &str = ".parquet";

/// The number of version files (`datasets/<dir>/<file>.parquet`) under `root`.
pub(crate) fn count_version_files(root: &Path) -> Result<usize, StoreError> {
    let datasets = root.join(DATASETS_DIR);
    if !datasets.is_dir() {
        return Ok(0);
    }
    let mut n = 0;
    for entry in read_dir(&datasets)? {
        if entry.path().is_dir() {
            n += read_dir(&entry.path())?
                .iter()
                .filter(|f| f.file_name().to_string_lossy().ends_with(VERSION_SUFFIX))
                .count();
        }
    }
    Ok(n)
}

/// Refuse to go on when the catalog lists `listed` versions — none, or it is missing — while
/// version files exist: treating those files as debris would throw away every dataset.
pub(crate) fn check_catalog(root: &Path, listed: usize) -> Result<(), StoreError> {
    if listed > 0 {
        return Ok(());
    }
    let files = count_version_files(root)?;
    if files == 0 {
        return Ok(());
    }
    Err(StoreError::CatalogLost {
        data_dir: root.to_path_buf(),
        files,
    })
}

/// A fresh, sortable name for one sweep's quarantine folder.
pub(crate) fn stamp() -> String {
    Utc::now().format("%Y%m%dT%H%M%S%.6fZ").to_string()
}

/// Move `path` (under `root`) to `quarantine/<stamp>/<its path under root>`, keeping its bytes.
pub(crate) fn move_aside(root: &Path, path: &Path, stamp: &str) -> Result<PathBuf, StoreError> {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let mut target = root.join(QUARANTINE_DIR).join(stamp).join(relative);
    if target.exists() {
        // Never replace what an earlier move put here.
        let name = target
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        target.set_file_name(format!("{name}.{}", &fsio::random_hex()?[..8]));
    }
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(StoreError::io(parent))?;
    }
    fs::rename(path, &target).map_err(StoreError::io(path))?;
    if let Some(parent) = target.parent() {
        fsio::sync_dir(parent)?;
    }
    if let Some(parent) = path.parent() {
        fsio::sync_dir(parent)?;
    }
    tracing::warn!(
        from = %path.display(),
        to = %target.display(),
        "moved a file the catalog does not list to quarantine (if it is a dataset version, move \
         it back and run `nqp dataset recover`)"
    );
    Ok(target)
}

/// Sweep `datasets/` against the `referenced` `(dataset dir, file name)` pairs of the catalog.
/// Only called with the store's exclusive file lock held (no other process mid-write) and after
/// [`check_catalog`] passed. Returns the paths moved to quarantine.
pub(crate) fn sweep(
    root: &Path,
    referenced: &HashSet<(String, String)>,
) -> Result<Vec<PathBuf>, StoreError> {
    let datasets = root.join(DATASETS_DIR);
    let missing = referenced
        .iter()
        .map(|(dir, file)| datasets.join(dir).join(file))
        .find(|path| !path.is_file());
    if let Some(missing) = &missing {
        // The catalog and the files disagree: moving anything now could hide the very file an
        // operator is looking for.
        tracing::warn!(
            missing = %missing.display(),
            "the catalog lists a version file that is missing; files it does not list are left \
             in place until it is consistent again"
        );
    }
    let stamp = stamp();
    let mut moved = Vec::new();
    let live_dirs: HashSet<&str> = referenced.iter().map(|(d, _)| d.as_str()).collect();
    for entry in read_dir(&datasets)? {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let is_dir = entry.file_type().map_err(StoreError::io(&path))?.is_dir();
        if !is_dir && name.ends_with(TMP_SUFFIX) {
            tracing::info!(path = %path.display(), "removing a version write that never completed");
            fs::remove_file(&path).map_err(StoreError::io(&path))?;
            continue;
        }
        if missing.is_some() {
            continue;
        }
        if !is_dir || !live_dirs.contains(name.as_str()) {
            moved.push(move_aside(root, &path, &stamp)?);
            continue;
        }
        for file in read_dir(&path)? {
            let file_name = file.file_name().to_string_lossy().into_owned();
            if !referenced.contains(&(name.clone(), file_name)) {
                moved.push(move_aside(root, &file.path(), &stamp)?);
            }
        }
    }
    Ok(moved)
}
