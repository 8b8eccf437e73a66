//! The version record: what the catalog knows about a version, written into the version's own
//! Parquet file (file-level key/value metadata), so that a lost or outdated catalog can be
//! rebuilt from the files alone (`nqp dataset recover`).
//!
//! Owns the record's fields and their encoding. Must not: touch the catalog or the file system.

use std::io::Cursor;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Revision, StoreError};
use crate::types::Panel;

/// Key of the Parquet key/value entry that holds the record (JSON).
pub(crate) const RECORD_KEY: &str = "nqp.version";
/// Bumped when a field changes meaning; a reader refuses records it does not know.
pub(crate) const RECORD_FORMAT: u32 = 1;

/// Everything the catalog holds about one version, except what the file itself shows (its
/// bytes, size and rows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct VersionRecord {
    pub format: u32,
    pub dataset: String,
    pub number: u32,
    /// The content hash ([`super::content_hash`]): over the panel encoded *without* this record
    /// and the framework text, so equal content keeps equal hashes whenever it was committed.
    pub hash: String,
    /// RFC 3339, as in the catalog.
    pub created_at: String,
    pub created_by: String,
    pub title_zh: String,
    pub title_en: String,
    pub note: String,
    /// The version this one was built on, with its content hash: recovery only re-links a
    /// version onto the very version it was built on.
    pub parent: Option<Parent>,
    pub framework_toml: String,
    pub region_set_id: Option<String>,
    /// `(file name as uploaded, SHA-256 hex)` of the user's files.
    pub source_files: Vec<(String, String)>,
    /// The cells this version revised (absent from records of versions that revised none, so
    /// their bytes are what they were before revisions existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<Revision>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Parent {
    pub number: u32,
    pub hash: String,
}

/// The panel as Parquet (zstd), with the record embedded when given.
pub(crate) fn encode(panel: &Panel, record: Option<&VersionRecord>) -> Result<Vec<u8>, StoreError> {
    let mut frame = panel.frame().clone();
    let mut bytes = Vec::new();
    let mut writer =
        ParquetWriter::new(&mut bytes).with_compression(ParquetCompression::Zstd(None));
    if let Some(record) = record {
        let json = serde_json::to_string(record).map_err(|e| StoreError::Corrupt {
            what: format!("record of {}/{}", record.dataset, record.number),
            detail: e.to_string(),
        })?;
        writer = writer.with_key_value_metadata(Some(KeyValueMetadata::from_static(vec![(
            RECORD_KEY.to_owned(),
            json,
        )])));
    }
    writer.finish(&mut frame)?;
    Ok(bytes)
}

/// The record embedded in a version file: `Ok(None)` for a file written before nqp embedded
/// records, an error for unreadable Parquet or a record this build cannot read.
pub(crate) fn read(bytes: &[u8]) -> Result<Option<VersionRecord>, StoreError> {
    let mut reader = ParquetReader::new(Cursor::new(bytes));
    let metadata = reader.get_metadata()?;
    let Some(json) = metadata
        .key_value_metadata
        .iter()
        .flatten()
        .find(|kv| kv.key == RECORD_KEY)
        .and_then(|kv| kv.value.as_deref())
    else {
        return Ok(None);
    };
    let record: VersionRecord = serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        what: "version record".into(),
        detail: e.to_string(),
    })?;
    if record.format != RECORD_FORMAT {
        return Err(StoreError::Corrupt {
            what: "version record".into(),
            detail: format!(
                "format {} is not the format {RECORD_FORMAT} this build reads",
                record.format
            ),
        });
    }
    Ok(Some(record))
}

/// Decode a version file's panel.
pub(crate) fn decode(bytes: &[u8]) -> Result<Panel, StoreError> {
    let frame = ParquetReader::new(Cursor::new(bytes)).finish()?;
    Ok(Panel::new(frame)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel() -> Panel {
        Panel::new(
            df!("region" => ["A", "B"], "year" => [2020i32, 2021], "indicator" => ["x", "x"],
                "value" => [Some(1.5), None])
            .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn a_record_round_trips_and_leaves_the_panel_as_it_was() {
        let record = VersionRecord {
            format: RECORD_FORMAT,
            dataset: "d".into(),
            number: 2,
            hash: "ab".repeat(32),
            created_at: "2026-01-02T03:04:05.000006Z".into(),
            created_by: "alice".into(),
            title_zh: "数据".into(),
            title_en: "Data".into(),
            note: "upload: a.csv".into(),
            parent: Some(Parent {
                number: 1,
                hash: "cd".repeat(32),
            }),
            framework_toml: "[index]\nid = \"d\"\n".into(),
            region_set_id: Some("cn-provinces".into()),
            source_files: vec![("a.csv".into(), "ef".repeat(32))],
            revisions: vec![Revision {
                region: "CN-AH".into(),
                year: 2016,
                indicator: "gdp".into(),
                old: 1.5,
                new: 1.25,
                file: "a.csv".into(),
            }],
        };
        let with = encode(&panel(), Some(&record)).unwrap();
        assert_eq!(read(&with).unwrap(), Some(record));
        assert_eq!(decode(&with).unwrap().frame(), panel().frame());
        let without = encode(&panel(), None).unwrap();
        assert_eq!(read(&without).unwrap(), None);
        assert!(read(b"not parquet").is_err());
    }
}
