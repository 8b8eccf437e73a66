//! The store: the only module that writes the data dir (files or SQL); elsewhere only the CLI
//! writes, and only the output files a user names.
//!
//! Owns the data dir (`--data-dir`):
//!
//! ```text
//! <data-dir>/catalog.sqlite          SQLite (WAL): datasets, versions, frameworks, uploads,
//!                                    revisions, tokens, sessions, audit log
//! <data-dir>/store.lock              advisory lock: shared while a Store is open, exclusive
//!                                    while one sweeps at start-up or recovers
//! <data-dir>/datasets/<id>/<n>.parquet   one immutable file per dataset version, carrying its
//!                                        own version record (see `record`)
//! <data-dir>/datasets/<random>.tmp       a version being written (never read)
//! <data-dir>/quarantine/<time>/…         files the catalog did not list, moved aside at start-up
//! ```
//!
//! A version is published in this order: encode (with its record) → write `<random>.tmp` →
//! fsync → (catalog write lock taken) → check the commit's [`Base`] is still true (the id still
//! free, or the version it was built on still the latest, same number and hash) → rename to
//! `<id>/<n>.parquet` → fsync the directory → insert version, framework text, upload records and
//! audit row in ONE transaction → commit. The base check makes two commits prepared from the
//! same state race-free: one is stored, the other is refused (`store.changed`,
//! `store.id_taken`) instead of silently stacking on the first.
//! A crash at any step leaves either nothing visible or the complete version; what it leaves
//! behind is removed (`*.tmp`) or moved to quarantine by the next [`Store::open`], which never
//! deletes a file it cannot explain (see `quarantine`). Published files are never rewritten: a
//! later upload gets a new number, a delete only hides the dataset, and only
//! [`Store::purge_dataset`] removes files. The catalog can be rebuilt from the files' records
//! ([`Store::recover`]).
//!
//! Must not: compute indices, parse user files or know about HTTP. The API is synchronous
//! (rusqlite and polars both block): async callers use `tokio::task::spawn_blocking`.

mod audit;
mod basemap;
mod error;
mod fsio;
mod quarantine;
mod record;
mod recover;
mod schema;
mod tokens;

use std::collections::HashSet;
use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::types::{DatasetId, Panel};
use record::{Parent, VersionRecord};

pub use audit::{AuditAction, AuditEntry};
pub use error::StoreError;
/// Shared with the web layer (CSRF comparison, ids of staged uploads, hex digests).
pub(crate) use fsio::{constant_time_eq, hex, random_hex};
pub use recover::Recovery;
pub use tokens::{SESSION_MAX_AGE, TokenInfo};

const CATALOG_FILE: &str = "catalog.sqlite";
const LOCK_FILE: &str = "store.lock";
pub(crate) const DATASETS_DIR: &str = "datasets";
/// How long a writer waits for another writer (another process, e.g. `nqp token create` while
/// `nqp serve` runs) before giving up with `store.sqlite`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// The catalog plus the dataset files under one data dir. `Send + Sync`: share it in an `Arc`.
pub struct Store {
    root: PathBuf,
    /// One connection, so every catalog access of this process is serialised here; other
    /// processes are serialised by SQLite's own write lock (`BEGIN IMMEDIATE` + busy timeout).
    conn: Mutex<Connection>,
    /// Held with a shared lock for the Store's lifetime, so that another process's `open`
    /// never sweeps a temp file this one is about to rename.
    lock: File,
}

/// One stored dataset and its newest version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetInfo {
    pub id: DatasetId,
    pub title_zh: String,
    pub title_en: String,
    pub created_at: DateTime<Utc>,
    /// Hidden from the public; history kept until [`Store::purge_dataset`].
    pub deleted: bool,
    pub latest_version: Option<VersionInfo>,
}

/// One immutable version of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionInfo {
    pub dataset: DatasetId,
    /// 1, 2, … per dataset, in commit order.
    pub number: u32,
    /// Content hash: SHA-256 (hex) of the Parquet bytes and the framework text (see
    /// [`content_hash`]). Equal hashes mean equal data under the same framework.
    pub hash: String,
    pub created_at: DateTime<Utc>,
    /// The actor that committed it.
    pub created_by: String,
    pub rows: u64,
    pub note: String,
    pub framework_id: i64,
    pub region_set_id: Option<String>,
    /// How many cells this version revised ([`Store::revisions`] lists them).
    pub revised: u64,
}

/// A user's file a version was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceFile {
    pub name: String,
    pub sha256: String,
}

/// One cell a version revised: its value in the parent version (`old`) and in this one (`new`).
/// Who and when are the version's `created_by` and `created_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    pub region: String,
    pub year: i32,
    /// The framework id of the series.
    pub indicator: String,
    pub old: f64,
    pub new: f64,
    /// The uploaded file(s) the new value came from.
    pub file: String,
}

/// What a commit was built on. [`Store::put_version`] checks it inside its write transaction,
/// so that two commits prepared from the same state cannot both succeed: the second is refused
/// instead of silently stacking on (or replacing) the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Base {
    /// A new dataset: the id must still be free (deleted datasets keep theirs until a purge).
    New,
    /// A new version of an existing dataset on top of this version number, which must still
    /// be the dataset's latest.
    Version(u32),
}

impl Base {
    /// The number the version built on this base gets.
    pub fn next_number(self) -> u32 {
        match self {
            Base::New => 1,
            Base::Version(n) => n + 1,
        }
    }
}

/// Everything [`Store::put_version`] needs to publish a version.
#[derive(Debug, Clone, Copy)]
pub struct NewVersion<'a> {
    pub dataset: &'a DatasetId,
    /// The state the version was prepared from (see [`Base`]).
    pub base: Base,
    /// Titles of the dataset; a committed version updates them, a no-op does not.
    pub title_zh: &'a str,
    pub title_en: &'a str,
    pub panel: &'a Panel,
    pub framework_toml: &'a str,
    pub region_set_id: Option<&'a str>,
    /// `(file name as uploaded, SHA-256 hex of its bytes)`.
    pub source_files: &'a [(String, String)],
    pub note: &'a str,
    /// The cells of the base version this one revises (empty for an upload that only adds).
    pub revisions: &'a [Revision],
}

/// The content hash of a version: SHA-256 over the Parquet bytes (length-prefixed, so the
/// boundary between the two parts is unambiguous) followed by the framework text.
pub fn content_hash(parquet: &[u8], framework_toml: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update((parquet.len() as u64).to_le_bytes());
    hasher.update(parquet);
    hasher.update(framework_toml.as_bytes());
    fsio::hex(&hasher.finalize())
}

impl Store {
    /// Open (or create) the store under `data_dir`: directories, catalog (WAL, foreign keys,
    /// busy timeout), schema migrations. Refuses (`store.catalog_lost`) when the catalog is
    /// missing or lists no version while version files exist. Then — unless another process has
    /// the store open — removes unfinished `*.tmp` writes and moves every other file no committed
    /// version references to `quarantine/` (see the `quarantine` module).
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        if !data_dir.join(CATALOG_FILE).exists() {
            // Checked before connecting, which would create an empty catalog.
            quarantine::check_catalog(data_dir, 0)?;
        }
        let store = Store::connect(data_dir)?;
        let referenced = store.referenced_files()?;
        quarantine::check_catalog(data_dir, referenced.len())?;
        let lock_path = store.root.join(LOCK_FILE);
        match store.lock.try_lock() {
            Ok(()) => {
                let swept = quarantine::sweep(&store.root, &referenced);
                store.lock.unlock().map_err(StoreError::io(&lock_path))?;
                swept?;
            }
            Err(TryLockError::WouldBlock) => {
                tracing::info!("store is open in another process; start-up sweep skipped");
            }
            Err(TryLockError::Error(e)) => return Err(StoreError::io(&lock_path)(e)),
        }
        store
            .lock
            .lock_shared()
            .map_err(StoreError::io(&lock_path))?;
        Ok(store)
    }

    /// Rebuild catalog entries from the version files' own records (see the `recover`
    /// module): for a catalog that was lost, emptied or restored from an older backup. Needs the
    /// data dir to itself: refused (`store.conflict`) while another process has the store open.
    pub fn recover(data_dir: &Path) -> Result<Recovery, StoreError> {
        let store = Store::connect(data_dir)?;
        let lock_path = store.root.join(LOCK_FILE);
        match store.lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Conflict(format!(
                    "the store in {} is open in another process (nqp serve?); stop it, then recover",
                    data_dir.display()
                )));
            }
            Err(TryLockError::Error(e)) => return Err(StoreError::io(&lock_path)(e)),
        }
        let recovered = recover::run(&store.root, &mut store.conn());
        store.lock.unlock().map_err(StoreError::io(&lock_path))?;
        recovered
    }

    /// Directories, lock file and catalog connection (migrated), without any check or sweep.
    fn connect(data_dir: &Path) -> Result<Store, StoreError> {
        let root = data_dir.to_path_buf();
        let datasets = root.join(DATASETS_DIR);
        fs::create_dir_all(&datasets).map_err(StoreError::io(&datasets))?;

        let lock_path = root.join(LOCK_FILE);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(StoreError::io(&lock_path))?;

        let mut conn = Connection::open(root.join(CATALOG_FILE))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt {
                what: "catalog".into(),
                detail: format!("cannot switch to WAL mode (journal_mode is {mode})"),
            });
        }
        // FULL: a commit that returned is on disk even after a power cut (WAL's NORMAL may
        // lose the last commits); writes are rare, so the extra fsync costs nothing visible.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        schema::migrate(&mut conn)?;
        Ok(Store {
            root,
            conn: Mutex::new(conn),
            lock,
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done change: an open
        // `Transaction` rolls back when dropped during unwinding. So the connection is sound.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn datasets_dir(&self) -> PathBuf {
        self.root.join(DATASETS_DIR)
    }

    /// `(dataset dir, file name)` of every committed version.
    fn referenced_files(&self) -> Result<HashSet<(String, String)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT dataset, file FROM versions")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// True when the catalog has no dataset at all, deleted ones included (so a deleted
    /// bundled dataset is not re-imported; a purged one is).
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM datasets", [], |r| r.get(0))?;
        Ok(n == 0)
    }

    /// All datasets ordered by id; deleted ones only when asked.
    pub fn datasets(&self, include_deleted: bool) -> Result<Vec<DatasetInfo>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, title_zh, title_en, created_at, deleted_at FROM datasets
             WHERE ?1 OR deleted_at IS NULL ORDER BY id",
        )?;
        let rows = stmt
            .query_map([include_deleted], dataset_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|mut info| {
                info.latest_version = latest_version(&conn, &info.id)?;
                Ok(info)
            })
            .collect()
    }

    /// One dataset (deleted or not), `None` if the catalog never had it or it was purged.
    pub fn dataset(&self, id: &DatasetId) -> Result<Option<DatasetInfo>, StoreError> {
        let conn = self.conn();
        let info = conn
            .query_row(
                "SELECT id, title_zh, title_en, created_at, deleted_at FROM datasets
                 WHERE id = ?1",
                [id.as_str()],
                dataset_row,
            )
            .optional()?;
        info.map(|mut info| {
            info.latest_version = latest_version(&conn, id)?;
            Ok(info)
        })
        .transpose()
    }

    /// Every version of a dataset, oldest first.
    pub fn versions(&self, id: &DatasetId) -> Result<Vec<VersionInfo>, StoreError> {
        let conn = self.conn();
        require_dataset(&conn, id)?;
        let mut stmt = conn.prepare(&format!(
            "{VERSION_SELECT} WHERE dataset = ?1 ORDER BY number"
        ))?;
        let rows = stmt.query_map([id.as_str()], version_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The uploaded files a version was built from, in the order given at commit.
    pub fn source_files(&self, id: &DatasetId, number: u32) -> Result<Vec<SourceFile>, StoreError> {
        let conn = self.conn();
        version_file(&conn, id, number)?;
        let mut stmt = conn.prepare(
            "SELECT name, sha256 FROM uploads WHERE dataset = ?1 AND number = ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![id.as_str(), number], |r| {
            Ok(SourceFile {
                name: r.get(0)?,
                sha256: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The cells version `number` revised, in the order committed (empty when it revised none).
    pub fn revisions(&self, id: &DatasetId, number: u32) -> Result<Vec<Revision>, StoreError> {
        let conn = self.conn();
        version_file(&conn, id, number)?;
        let mut stmt = conn.prepare(
            "SELECT region, year, indicator, old, new, file FROM revisions
             WHERE dataset = ?1 AND number = ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![id.as_str(), number], |r| {
            Ok(Revision {
                region: r.get(0)?,
                year: r.get(1)?,
                indicator: r.get(2)?,
                old: r.get(3)?,
                new: r.get(4)?,
                file: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Publish a new version (see the module doc for the crash-safe order). The [`Base`] is
    /// checked first: a new dataset whose id is taken is `store.id_taken`, a version whose base
    /// is no longer the latest is `store.changed`, uploading into a deleted dataset is a
    /// `store.conflict`. If the content hash equals the latest version's, nothing is written
    /// and that version is returned (audited as `noop`).
    pub fn put_version(&self, new: NewVersion<'_>, actor: &str) -> Result<VersionInfo, StoreError> {
        let id = new.dataset;
        let hash = content_hash(&record::encode(new.panel, None)?, new.framework_toml);
        // The parent's hash goes into the file; it is read now and checked again under the
        // write lock, so the file never names a parent other than the one it is committed on.
        let parent = match new.base {
            Base::New => None,
            Base::Version(number) => {
                let conn = self.conn();
                let hash = version_hash(&conn, id, number)?.ok_or_else(|| {
                    let latest = latest_version(&conn, id).ok().flatten();
                    StoreError::Changed {
                        dataset: id.to_string(),
                        base: number,
                        latest: latest.map(|v| v.number),
                    }
                })?;
                Some(Parent { number, hash })
            }
        };
        let record = VersionRecord {
            format: record::RECORD_FORMAT,
            dataset: id.to_string(),
            number: new.base.next_number(),
            hash,
            created_at: now_text(),
            created_by: actor.to_owned(),
            title_zh: new.title_zh.to_owned(),
            title_en: new.title_en.to_owned(),
            note: new.note.to_owned(),
            parent,
            framework_toml: new.framework_toml.to_owned(),
            region_set_id: new.region_set_id.map(str::to_owned),
            source_files: new.source_files.to_vec(),
            revisions: new.revisions.to_vec(),
        };
        let parquet = record::encode(new.panel, Some(&record))?;
        let temp = fsio::write_temp(&self.datasets_dir(), &parquet)?;
        let result = self.commit_version(id, &record, new.panel.height(), &parquet, &temp);
        // On success the temp file has been renamed, except for a no-op; either way, anything
        // still at the temp path is garbage now.
        if temp.exists() {
            let _ = fs::remove_file(&temp);
        }
        result
    }

    fn commit_version(
        &self,
        id: &DatasetId,
        record: &VersionRecord,
        rows: usize,
        parquet: &[u8],
        temp: &Path,
    ) -> Result<VersionInfo, StoreError> {
        let actor = record.created_by.as_str();
        let mut conn = self.conn();
        // IMMEDIATE takes SQLite's write lock now, so checking the base and inserting the next
        // version cannot interleave with another writer, even in another process.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let deleted: Option<bool> = tx
            .query_row(
                "SELECT deleted_at IS NOT NULL FROM datasets WHERE id = ?1",
                [id.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        let latest = latest_version(&tx, id)?;
        check_base(
            id.as_str(),
            record.parent.as_ref(),
            deleted,
            latest.as_ref(),
        )?;
        if let Some(latest) = latest.as_ref().filter(|v| v.hash == record.hash) {
            audit::record(
                &tx,
                actor,
                AuditAction::Noop,
                &version_target(id, latest.number),
                "identical to the latest version; nothing stored",
            )?;
            tx.commit()?;
            return Ok(latest.clone());
        }
        let number = record.number;
        let hash = &record.hash;

        let datasets_dir = self.datasets_dir();
        let dir = datasets_dir.join(id.as_str());
        let dir_is_new = !dir.exists();
        if dir_is_new {
            fs::create_dir(&dir).map_err(StoreError::io(&dir))?;
            fsio::sync_dir(&datasets_dir)?;
        }
        let path = dir.join(version_file_name(number));
        // `number` is above every committed version, so whatever sits at `path` is not in the
        // catalog: debris of an interrupted write, or a version of a catalog restored from an
        // older backup. It is moved aside, never overwritten (a directory makes the rename fail).
        if path.is_file() {
            quarantine::move_aside(&self.root, &path, &quarantine::stamp())?;
        }
        let published = fs::rename(temp, &path)
            .map_err(StoreError::io(&path))
            .and_then(|()| {
                fsio::sync_dir(&dir)?;
                insert_version(&tx, id, record, parquet, rows)?;
                let files: Vec<&str> = record
                    .source_files
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect();
                audit::record(
                    &tx,
                    actor,
                    AuditAction::Put,
                    &version_target(id, number),
                    &format!("{rows} rows, hash {hash}, files: {}", files.join(", ")),
                )?;
                let info = tx.query_row(
                    &format!("{VERSION_SELECT} WHERE dataset = ?1 AND number = ?2"),
                    params![id.as_str(), number],
                    version_row,
                )?;
                Ok(info)
            });
        let committed = published.and_then(|info| {
            tx.commit()?;
            Ok(info)
        });
        if committed.is_err() {
            // The rows were rolled back; take the file (and a directory made for it) back too.
            let _ = fs::remove_file(&path);
            if dir_is_new {
                let _ = fs::remove_dir(&dir);
            }
        }
        committed
    }

    /// Read a version's panel, verifying the file against the hash the catalog recorded.
    pub fn load_panel(&self, id: &DatasetId, number: u32) -> Result<Panel, StoreError> {
        let (file, sha256) = version_file(&self.conn(), id, number)?;
        let path = self.datasets_dir().join(id.as_str()).join(&file);
        let bytes = fs::read(&path).map_err(StoreError::io(&path))?;
        let found = fsio::sha256_hex(&bytes);
        if found != sha256 {
            return Err(StoreError::Corrupt {
                what: format!("dataset {id} version {number} ({})", path.display()),
                detail: format!("SHA-256 is {found}, the catalog recorded {sha256}"),
            });
        }
        record::decode(&bytes)
    }

    /// The framework text a version was committed with.
    pub fn framework_toml(&self, id: &DatasetId, number: u32) -> Result<String, StoreError> {
        self.conn()
            .query_row(
                "SELECT f.toml FROM versions v JOIN frameworks f ON f.id = v.framework_id
                 WHERE v.dataset = ?1 AND v.number = ?2",
                params![id.as_str(), number],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound {
                what: "dataset version",
                key: version_target(id, number),
            })
    }

    /// Hide a dataset from the public; every version stays on disk and in the catalog.
    pub fn delete_dataset(&self, id: &DatasetId, actor: &str) -> Result<(), StoreError> {
        self.set_deleted(id, actor, true)
    }

    /// Undo [`Store::delete_dataset`].
    pub fn undelete_dataset(&self, id: &DatasetId, actor: &str) -> Result<(), StoreError> {
        self.set_deleted(id, actor, false)
    }

    fn set_deleted(&self, id: &DatasetId, actor: &str, delete: bool) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let is_deleted = require_dataset(&tx, id)?;
        if is_deleted == delete {
            return Err(StoreError::Conflict(format!(
                "dataset {id} is {} deleted",
                if delete { "already" } else { "not" }
            )));
        }
        let deleted_at = delete.then(now_text);
        tx.execute(
            "UPDATE datasets SET deleted_at = ?2 WHERE id = ?1",
            params![id.as_str(), deleted_at],
        )?;
        let action = if delete {
            AuditAction::Delete
        } else {
            AuditAction::Undelete
        };
        audit::record(&tx, actor, action, &format!("dataset/{id}"), "")?;
        tx.commit()?;
        Ok(())
    }

    /// Remove a deleted dataset for good: its rows (the audit log keeps its history) and its
    /// files. Only deleted datasets can be purged, so a purge always takes two deliberate steps.
    pub fn purge_dataset(&self, id: &DatasetId, actor: &str) -> Result<(), StoreError> {
        let datasets_dir = self.datasets_dir();
        let dir = datasets_dir.join(id.as_str());
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if !require_dataset(&tx, id)? {
            return Err(StoreError::Conflict(format!(
                "dataset {id} is not deleted; delete it before purging"
            )));
        }
        let versions: i64 = tx.query_row(
            "SELECT COUNT(*) FROM versions WHERE dataset = ?1",
            [id.as_str()],
            |r| r.get(0),
        )?;
        tx.execute("DELETE FROM uploads WHERE dataset = ?1", [id.as_str()])?;
        tx.execute("DELETE FROM revisions WHERE dataset = ?1", [id.as_str()])?;
        tx.execute("DELETE FROM versions WHERE dataset = ?1", [id.as_str()])?;
        tx.execute("DELETE FROM datasets WHERE id = ?1", [id.as_str()])?;
        tx.execute(
            "DELETE FROM frameworks WHERE id NOT IN (SELECT framework_id FROM versions)",
            [],
        )?;
        audit::record(
            &tx,
            actor,
            AuditAction::Purge,
            &format!("dataset/{id}"),
            &format!("{versions} versions removed"),
        )?;
        // Move the directory out of the way while holding the write lock: a writer creating
        // this dataset anew after our commit then gets a fresh directory, never one we are
        // still deleting. A random name ends up swept at start-up if we crash before removal.
        let graveyard = datasets_dir.join(format!("{}.purged", fsio::random_hex()?));
        let moved = match fs::rename(&dir, &graveyard) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(StoreError::io(&dir)(e)),
        };
        if let Err(e) = tx.commit() {
            if moved {
                let _ = fs::rename(&graveyard, &dir);
            }
            return Err(e.into());
        }
        drop(conn);
        // The purge is committed; a directory that will not go away now is swept at start-up.
        if moved && let Err(e) = fs::remove_dir_all(&graveyard) {
            tracing::warn!(path = %graveyard.display(), error = %e, "purged files not removed yet");
        }
        Ok(())
    }

    /// The newest `limit` audit rows, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        audit::read(&self.conn(), limit)
    }
}

pub(crate) fn read_dir(dir: &Path) -> Result<Vec<fs::DirEntry>, StoreError> {
    fs::read_dir(dir)
        .and_then(|entries| entries.collect::<Result<Vec<_>, _>>())
        .map_err(StoreError::io(dir))
}

/// The catalog rows of one version whose file is in place: its dataset (created, or titles
/// updated — the newest version's titles are the dataset's), framework text, version row and
/// source files. Shared by a commit and a recovery, so both describe a version identically.
fn insert_version(
    conn: &Connection,
    id: &DatasetId,
    record: &VersionRecord,
    parquet: &[u8],
    rows: usize,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO datasets (id, title_zh, title_en, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET title_zh = excluded.title_zh, title_en = excluded.title_en",
        params![
            id.as_str(),
            record.title_zh,
            record.title_en,
            record.created_at
        ],
    )?;
    let framework_sha = fsio::sha256_hex(record.framework_toml.as_bytes());
    conn.execute(
        "INSERT OR IGNORE INTO frameworks (sha256, toml) VALUES (?1, ?2)",
        params![framework_sha, record.framework_toml],
    )?;
    let framework_id: i64 = conn.query_row(
        "SELECT id FROM frameworks WHERE sha256 = ?1",
        [framework_sha],
        |r| r.get(0),
    )?;
    conn.execute(
        "INSERT INTO versions (dataset, number, hash, file, file_sha256, file_size, rows,
             framework_id, region_set_id, note, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            id.as_str(),
            record.number,
            record.hash,
            version_file_name(record.number),
            fsio::sha256_hex(parquet),
            i64::try_from(parquet.len()).unwrap_or(i64::MAX),
            i64::try_from(rows).unwrap_or(i64::MAX),
            framework_id,
            record.region_set_id,
            record.note,
            record.created_at,
            record.created_by,
        ],
    )?;
    for (name, sha256) in &record.source_files {
        conn.execute(
            "INSERT INTO uploads (dataset, number, name, sha256) VALUES (?1, ?2, ?3, ?4)",
            params![id.as_str(), record.number, name, sha256],
        )?;
    }
    for r in &record.revisions {
        conn.execute(
            "INSERT INTO revisions (dataset, number, region, year, indicator, old, new, file)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                id.as_str(),
                record.number,
                r.region,
                r.year,
                r.indicator,
                r.old,
                r.new,
                r.file
            ],
        )?;
    }
    Ok(())
}

/// The file name of version `number` in its dataset's directory.
fn version_file_name(number: u32) -> String {
    format!("{number}.parquet")
}

/// Refuse a commit whose base no longer describes the dataset: `parent` is the version it was
/// built on (`None`: a new dataset); `deleted` is `None` when the catalog has no such dataset,
/// else whether it is deleted.
fn check_base(
    id: &str,
    parent: Option<&Parent>,
    deleted: Option<bool>,
    latest: Option<&VersionInfo>,
) -> Result<(), StoreError> {
    match (parent, deleted) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(StoreError::IdTaken {
            dataset: id.to_owned(),
        }),
        (Some(_), Some(true)) => Err(StoreError::Conflict(format!(
            "dataset {id} is deleted; undelete it (or purge it) before uploading a new version"
        ))),
        (Some(p), _) if latest.is_some_and(|v| v.number == p.number && v.hash == p.hash) => Ok(()),
        (Some(p), _) => Err(StoreError::Changed {
            dataset: id.to_owned(),
            base: p.number,
            latest: latest.map(|v| v.number),
        }),
    }
}

/// The content hash of one version, `None` if the catalog has no such version.
fn version_hash(
    conn: &Connection,
    id: &DatasetId,
    number: u32,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT hash FROM versions WHERE dataset = ?1 AND number = ?2",
            params![id.as_str(), number],
            |r| r.get(0),
        )
        .optional()?)
}

fn version_target(id: impl std::fmt::Display, number: u32) -> String {
    format!("{id}/{number}")
}

/// Timestamps are stored as RFC 3339 UTC text with microseconds (sortable, human-readable).
pub(crate) fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn conversion_error(
    idx: usize,
    err: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(err))
}

pub(crate) fn parse_time(row: &Row<'_>, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    let text: String = row.get(idx)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| conversion_error(idx, e))
}

pub(crate) fn parse_opt_time(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    match row.get::<_, Option<String>>(idx)? {
        None => Ok(None),
        Some(_) => parse_time(row, idx).map(Some),
    }
}

fn parse_dataset_id(row: &Row<'_>, idx: usize) -> rusqlite::Result<DatasetId> {
    DatasetId::new(row.get::<_, String>(idx)?).map_err(|e| conversion_error(idx, e))
}

fn dataset_row(r: &Row<'_>) -> rusqlite::Result<DatasetInfo> {
    Ok(DatasetInfo {
        id: parse_dataset_id(r, 0)?,
        title_zh: r.get(1)?,
        title_en: r.get(2)?,
        created_at: parse_time(r, 3)?,
        deleted: r.get::<_, Option<String>>(4)?.is_some(),
        latest_version: None,
    })
}

const VERSION_SELECT: &str = "SELECT dataset, number, hash, created_at, created_by, rows, note,
    framework_id, region_set_id,
    (SELECT COUNT(*) FROM revisions r WHERE r.dataset = versions.dataset AND r.number = versions.number)
    FROM versions";

fn version_row(r: &Row<'_>) -> rusqlite::Result<VersionInfo> {
    let rows: i64 = r.get(5)?;
    Ok(VersionInfo {
        dataset: parse_dataset_id(r, 0)?,
        number: r.get(1)?,
        hash: r.get(2)?,
        created_at: parse_time(r, 3)?,
        created_by: r.get(4)?,
        rows: u64::try_from(rows).map_err(|e| conversion_error(5, e))?,
        note: r.get(6)?,
        framework_id: r.get(7)?,
        region_set_id: r.get(8)?,
        revised: u64::try_from(r.get::<_, i64>(9)?).map_err(|e| conversion_error(9, e))?,
    })
}

fn latest_version(conn: &Connection, id: &DatasetId) -> Result<Option<VersionInfo>, StoreError> {
    Ok(conn
        .query_row(
            &format!("{VERSION_SELECT} WHERE dataset = ?1 ORDER BY number DESC LIMIT 1"),
            [id.as_str()],
            version_row,
        )
        .optional()?)
}

/// `Ok(deleted?)` for an existing dataset, `store.not_found` otherwise.
fn require_dataset(conn: &Connection, id: &DatasetId) -> Result<bool, StoreError> {
    conn.query_row(
        "SELECT deleted_at IS NOT NULL FROM datasets WHERE id = ?1",
        [id.as_str()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        what: "dataset",
        key: id.to_string(),
    })
}

/// `(file name, SHA-256)` of a committed version.
fn version_file(
    conn: &Connection,
    id: &DatasetId,
    number: u32,
) -> Result<(String, String), StoreError> {
    conn.query_row(
        "SELECT file, file_sha256 FROM versions WHERE dataset = ?1 AND number = ?2",
        params![id.as_str(), number],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        what: "dataset version",
        key: version_target(id, number),
    })
}
