//! The data dir's base map: one file, `basemap/basemap.json`, replaced in one rename.
//!
//! Owns: reading, replacing and removing that file atomically (temp file, fsync, rename, fsync
//! of the directory — a crash leaves the old map or the new one, never a mix) with an audit row
//! in the catalog. Must not: read or check what the file says (`service::basemap` does, before
//! it is written).

use std::fs;
use std::path::PathBuf;

use rusqlite::TransactionBehavior;

use super::audit::{self, AuditAction};
use super::fsio::{self, TMP_SUFFIX};
use super::{Store, StoreError};

/// The base map's folder under the data dir (the start-up sweep of `datasets/` never sees it).
pub(crate) const BASEMAP_DIR: &str = "basemap";
const BASEMAP_FILE: &str = "basemap.json";

impl Store {
    fn basemap_path(&self) -> PathBuf {
        self.root.join(BASEMAP_DIR).join(BASEMAP_FILE)
    }

    /// The stored base map's bytes, if one is stored.
    pub fn basemap(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.basemap_path();
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(&path)(e)),
        }
    }

    /// Stores `bytes` as the base map, replacing the previous one only once the new file is
    /// complete on disk; `detail` goes to the audit row (the approval number, the file name).
    pub fn put_basemap(&self, bytes: &[u8], actor: &str, detail: &str) -> Result<(), StoreError> {
        let dir = self.root.join(BASEMAP_DIR);
        fs::create_dir_all(&dir).map_err(StoreError::io(&dir))?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Under the catalog's write lock no other writer is between its write and its rename,
        // so a temp file here is debris of a crash.
        for entry in super::read_dir(&dir)? {
            if entry.file_name().to_string_lossy().ends_with(TMP_SUFFIX) {
                let _ = fs::remove_file(entry.path());
            }
        }
        let tmp = fsio::write_temp(&dir, bytes)?;
        audit::record(&tx, actor, AuditAction::BaseMapPut, "basemap", detail)?;
        let path = self.basemap_path();
        if let Err(e) = fs::rename(&tmp, &path) {
            let _ = fs::remove_file(&tmp);
            return Err(StoreError::io(&path)(e));
        }
        fsio::sync_dir(&dir)?;
        tx.commit()?;
        Ok(())
    }

    /// Removes the stored base map (maps are schematic again); `false` if none was stored.
    pub fn remove_basemap(&self, actor: &str) -> Result<bool, StoreError> {
        let path = self.basemap_path();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(StoreError::io(&path)(e)),
        }
        audit::record(&tx, actor, AuditAction::BaseMapRemove, "basemap", "")?;
        tx.commit()?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_replaces_whole_files_and_remove_forgets_with_audit_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.basemap().unwrap(), None);
        store.put_basemap(b"first", "alice", "GS(1)").unwrap();
        assert_eq!(store.basemap().unwrap().as_deref(), Some(&b"first"[..]));
        // Debris of a crashed write is cleared by the next write, never read.
        let debris = dir.path().join(BASEMAP_DIR).join(format!("x{TMP_SUFFIX}"));
        fs::write(&debris, b"half").unwrap();
        store.put_basemap(b"second", "bob", "GS(2)").unwrap();
        assert_eq!(store.basemap().unwrap().as_deref(), Some(&b"second"[..]));
        let files: Vec<String> = fs::read_dir(dir.path().join(BASEMAP_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files, [BASEMAP_FILE]);
        assert!(store.remove_basemap("bob").unwrap());
        assert!(!store.remove_basemap("bob").unwrap());
        assert_eq!(store.basemap().unwrap(), None);
        let log = store.audit_log(10).unwrap();
        let rows: Vec<(&str, &str, &str)> = log
            .iter()
            .map(|e| (e.actor.as_str(), e.action.as_str(), e.detail.as_str()))
            .collect();
        assert_eq!(
            rows[..3],
            [
                ("bob", "basemap.remove", ""),
                ("bob", "basemap.put", "GS(2)"),
                ("alice", "basemap.put", "GS(1)")
            ]
        );
        // A store reopened finds the map where it was left.
        store.put_basemap(b"third", "bob", "GS(3)").unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.basemap().unwrap().as_deref(), Some(&b"third"[..]));
    }
}
