//! The store: crash-safe versioned writes, orphan sweeping, corruption detection, concurrency,
//! soft delete / purge, tokens and sessions that keep only hashes, and the audit log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::thread;

use nqp::service::InputFile;
use nqp::service::datasets::{self, IndicatorMapping, StagedUpload, UploadTarget};
use nqp::store::{Base, NewVersion, Store, StoreError, VersionInfo};
use nqp::types::{DatasetId, Dimension, Direction, IndicatorId, Panel};
use polars::prelude::*;
use sha2::{Digest, Sha256};

const FRAMEWORK: &str = "[framework]\nid = \"tiny\"\n";

fn id(s: &str) -> DatasetId {
    DatasetId::new(s).unwrap()
}

fn panel(rows: &[(&str, i32, &str, Option<f64>)]) -> Panel {
    let df = df!(
        "region" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        "year" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "indicator" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        "value" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
    )
    .unwrap();
    Panel::new(df).unwrap()
}

fn panel_a() -> Panel {
    panel(&[
        ("CN-BJ", 2020, "gdp", Some(1.5)),
        ("CN-SH", 2020, "gdp", None),
        ("CN-BJ", 2021, "gdp", Some(-2.25)),
    ])
}

fn panel_b() -> Panel {
    panel(&[("CN-GD", 2022, "rd", Some(7.0))])
}

/// A new dataset's first version.
fn version<'a>(dataset: &'a DatasetId, panel: &'a Panel) -> NewVersion<'a> {
    NewVersion {
        dataset,
        base: Base::New,
        title_zh: "测试",
        title_en: "Test",
        panel,
        framework_toml: FRAMEWORK,
        region_set_id: None,
        source_files: &[],
        note: "",
        revisions: &[],
    }
}

/// A version on top of whatever the store holds now (a new dataset if it has none).
fn next<'a>(store: &Store, dataset: &'a DatasetId, panel: &'a Panel) -> NewVersion<'a> {
    let base = store
        .dataset(dataset)
        .unwrap()
        .and_then(|d| d.latest_version)
        .map_or(Base::New, |v| Base::Version(v.number));
    NewVersion {
        base,
        ..version(dataset, panel)
    }
}

/// One panel row as comparable values: region, year, indicator, value (f64 by bit pattern, so
/// NaN and -0.0 count too).
type Row = (Option<String>, Option<i32>, Option<String>, Option<u64>);

fn rows_of(panel: &Panel) -> Vec<Row> {
    let f = panel.frame();
    let region = f.column("region").unwrap().str().unwrap().clone();
    let year = f.column("year").unwrap().i32().unwrap().clone();
    let indicator = f.column("indicator").unwrap().str().unwrap().clone();
    let value = f.column("value").unwrap().f64().unwrap().clone();
    (0..f.height())
        .map(|i| {
            (
                region.get(i).map(str::to_owned),
                year.get(i),
                indicator.get(i).map(str::to_owned),
                value.get(i).map(f64::to_bits),
            )
        })
        .collect()
}

/// SHA-256 of every file under `root`, by relative path. The `-shm` file is SQLite's
/// shared-memory index of the WAL: it changes on every read and holds no data.
fn file_hashes(root: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.insert(
                    path.strip_prefix(root).unwrap().to_path_buf(),
                    "<dir>".into(),
                );
                walk(root, &path, out);
            } else if !path.to_string_lossy().ends_with("-shm") {
                let bytes = std::fs::read(&path).unwrap();
                let hash = Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                out.insert(path.strip_prefix(root).unwrap().to_path_buf(), hash);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Every file under `<root>/quarantine/<stamp>/` by its path below the stamp, with its bytes.
fn quarantine(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let Ok(stamps) = std::fs::read_dir(root.join("quarantine")) else {
        return out;
    };
    for stamp in stamps {
        let stamp = stamp.unwrap().path();
        for (path, _) in file_hashes(&stamp) {
            let full = stamp.join(&path);
            if full.is_file() {
                out.insert(
                    path.to_string_lossy().into_owned(),
                    std::fs::read(full).unwrap(),
                );
            }
        }
    }
    out
}

/// Every row of every catalog table, read through a second connection.
fn catalog_dump(root: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(root.join("catalog.sqlite")).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                (0..n)
                    .map(|i| r.get_ref(i).map(|v| format!("{v:?}")))
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        for row in rows {
            out.push(format!("{table}: {}", row.unwrap().join(" | ")));
        }
    }
    out
}

/// All bytes of every file under `root` (catalog, WAL, shm, datasets) concatenated.
fn all_bytes(root: &Path) -> Vec<u8> {
    fn walk(dir: &Path, out: &mut Vec<u8>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.extend(std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, &mut out);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn code<T>(result: Result<T, StoreError>) -> &'static str {
    match result {
        Ok(_) => panic!("expected a store error"),
        Err(e) => e.code(),
    }
}

#[test]
fn store_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
}

#[test]
fn put_then_load_round_trips_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ds = id("tiny");
    let original = panel(&[
        ("CN-BJ", 2020, "gdp", Some(1.5)),
        ("CN-SH", 2020, "gdp", None),
        ("CN-XZ", -1, "研发", Some(f64::NAN)),
        ("CN-GD", i32::MAX, "gdp", Some(-0.0)),
        ("CN-GD", 2021, "gdp", Some(f64::MAX)),
        ("CN-GD", 2022, "gdp", Some(f64::MIN_POSITIVE / 4.0)),
    ]);
    let files = [("gdp.csv".to_string(), "ab".repeat(32))];
    let info = store
        .put_version(
            NewVersion {
                region_set_id: Some("cn-provinces"),
                source_files: &files,
                note: "first upload",
                revisions: &[],
                ..next(&store, &ds, &original)
            },
            "alice",
        )
        .unwrap();
    assert_eq!(info.number, 1);
    assert_eq!(info.rows, 6);
    assert_eq!(info.note, "first upload");
    assert_eq!(info.created_by, "alice");
    assert_eq!(info.region_set_id.as_deref(), Some("cn-provinces"));
    assert_eq!(info.hash.len(), 64);

    let loaded = store.load_panel(&ds, 1).unwrap();
    assert_eq!(rows_of(&loaded), rows_of(&original));
    assert_eq!(store.framework_toml(&ds, 1).unwrap(), FRAMEWORK);
    let sources = store.source_files(&ds, 1).unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(
        (sources[0].name.as_str(), sources[0].sha256.as_str()),
        ("gdp.csv", files[0].1.as_str())
    );
    assert!(dir.path().join("datasets/tiny/1.parquet").is_file());

    let listed = store.datasets(false).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].title_zh.as_str(), listed[0].title_en.as_str()),
        ("测试", "Test")
    );
    assert_eq!(listed[0].latest_version.as_ref(), Some(&info));
    assert_eq!(code(store.load_panel(&ds, 2)), "store.not_found");
    assert_eq!(code(store.versions(&id("nope"))), "store.not_found");
}

#[test]
fn versions_increment_and_identical_content_is_a_noop() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ds = id("d");
    let (a, b) = (panel_a(), panel_b());
    let v1 = store.put_version(next(&store, &ds, &a), "u").unwrap();
    let v1_bytes = std::fs::read(dir.path().join("datasets/d/1.parquet")).unwrap();
    let v2 = store.put_version(next(&store, &ds, &b), "u").unwrap();
    assert_eq!((v1.number, v2.number), (1, 2));
    assert_ne!(v1.hash, v2.hash);

    // Same content as the latest version: the existing version comes back, nothing is added.
    let again = store.put_version(next(&store, &ds, &b), "u").unwrap();
    assert_eq!(again, v2);
    assert_eq!(store.versions(&ds).unwrap().len(), 2);
    assert!(!dir.path().join("datasets/d/3.parquet").exists());
    let last = &store.audit_log(1).unwrap()[0];
    assert_eq!(
        (last.action.as_str(), last.target.as_str()),
        ("noop", "d/2")
    );

    // The same data under another framework is different content.
    let other = "[framework]\nid = \"other\"\n";
    let v3 = store
        .put_version(
            NewVersion {
                framework_toml: other,
                ..next(&store, &ds, &b)
            },
            "u",
        )
        .unwrap();
    assert_eq!(v3.number, 3);
    assert_eq!(store.framework_toml(&ds, 3).unwrap(), other);
    assert_eq!(store.framework_toml(&ds, 2).unwrap(), FRAMEWORK);
    assert_ne!(v3.framework_id, v2.framework_id);

    // Going back to older content is a new version, and older files were never touched.
    let v4 = store.put_version(next(&store, &ds, &a), "u").unwrap();
    assert_eq!(v4.number, 4);
    assert_eq!(v4.hash, v1.hash);
    assert_eq!(v4.framework_id, v1.framework_id);
    assert_eq!(
        std::fs::read(dir.path().join("datasets/d/1.parquet")).unwrap(),
        v1_bytes
    );
    assert_eq!(rows_of(&store.load_panel(&ds, 1).unwrap()), rows_of(&a));
    assert_eq!(rows_of(&store.load_panel(&ds, 2).unwrap()), rows_of(&b));
    let numbers: Vec<u32> = store
        .versions(&ds)
        .unwrap()
        .iter()
        .map(|v| v.number)
        .collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    assert_eq!(
        store.datasets(false).unwrap()[0]
            .latest_version
            .as_ref()
            .unwrap()
            .number,
        4
    );
}

#[test]
fn a_failing_write_leaves_the_store_byte_for_byte_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ds = id("d");
    store
        .put_version(next(&store, &ds, &panel_a()), "u")
        .unwrap();

    // Version 2's path is occupied by a directory: the rename fails for real.
    let obstacle = dir.path().join("datasets/d/2.parquet");
    std::fs::create_dir(&obstacle).unwrap();
    std::fs::write(obstacle.join("keep"), b"not ours").unwrap();
    let (files, rows) = (file_hashes(dir.path()), catalog_dump(dir.path()));
    let err = store
        .put_version(next(&store, &ds, &panel_b()), "u")
        .unwrap_err();
    assert_eq!(err.code(), "store.io");
    assert_eq!(file_hashes(dir.path()), files);
    assert_eq!(catalog_dump(dir.path()), rows);
    assert_eq!(store.versions(&ds).unwrap().len(), 1);

    // A new dataset whose directory name is taken by a file fails before anything is stored.
    std::fs::write(dir.path().join("datasets/e"), b"squatter").unwrap();
    let (files, rows) = (file_hashes(dir.path()), catalog_dump(dir.path()));
    let e = id("e");
    assert_eq!(
        code(store.put_version(next(&store, &e, &panel_b()), "u")),
        "store.io"
    );
    assert_eq!(file_hashes(dir.path()), files);
    assert_eq!(catalog_dump(dir.path()), rows);
    assert!(store.dataset(&e).unwrap().is_none());

    // Once the obstacle is gone the same upload succeeds as version 2.
    std::fs::remove_dir_all(&obstacle).unwrap();
    assert_eq!(
        store
            .put_version(next(&store, &ds, &panel_b()), "u")
            .unwrap()
            .number,
        2
    );
}

#[test]
fn orphans_and_temp_files_are_swept_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let ds = id("d");
    drop({
        let store = Store::open(root).unwrap();
        store
            .put_version(next(&store, &ds, &panel_a()), "u")
            .unwrap();
        store
    });
    // While another Store holds the data dir, nothing is swept: its temp files may be in flight.
    let first = Store::open(root).unwrap();
    let debris = [
        "datasets/0123abcd.tmp",
        "datasets/d/2.parquet",
        "datasets/d/9f9f.tmp",
        "datasets/ghost/1.parquet",
        "datasets/stray",
    ];
    std::fs::create_dir(root.join("datasets/ghost")).unwrap();
    for path in debris {
        std::fs::write(root.join(path), b"debris").unwrap();
    }
    let second = Store::open(root).unwrap();
    assert!(debris.iter().all(|p| root.join(p).exists()));
    drop((first, second));

    let store = Store::open(root).unwrap();
    for path in debris {
        assert!(!root.join(path).exists(), "{path} should have been swept");
    }
    assert!(!root.join("datasets/ghost").exists());
    // Unfinished writes (`datasets/<random>.tmp`, the only place the store writes them) are
    // removed; everything else is moved to quarantine, bytes kept.
    let quarantined = quarantine(root);
    assert_eq!(
        quarantined.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "datasets/d/2.parquet",
            "datasets/d/9f9f.tmp",
            "datasets/ghost/1.parquet",
            "datasets/stray"
        ]
    );
    assert!(quarantined.values().all(|bytes| bytes == b"debris"));
    assert_eq!(
        rows_of(&store.load_panel(&ds, 1).unwrap()),
        rows_of(&panel_a())
    );
    assert_eq!(
        std::fs::read_dir(root.join("datasets/d")).unwrap().count(),
        1,
        "only the committed version remains"
    );
}

#[test]
fn corrupt_or_missing_parquet_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ds = id("d");
    store
        .put_version(next(&store, &ds, &panel_a()), "u")
        .unwrap();
    let path = dir.path().join("datasets/d/1.parquet");
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let err = store.load_panel(&ds, 1).unwrap_err();
    assert_eq!(err.code(), "store.corrupt");
    assert!(err.to_string().contains("SHA-256"), "{err}");

    std::fs::remove_file(&path).unwrap();
    assert_eq!(code(store.load_panel(&ds, 1)), "store.io");
}

/// Run both jobs at the same moment (released together by a barrier) on two threads.
fn at_once<T: Send + 'static>(jobs: [Box<dyn FnOnce() -> T + Send>; 2]) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let barrier = barrier.clone();
            thread::spawn(move || {
                barrier.wait();
                job()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Of two results, the index of the one success and the other's error; panics unless exactly
/// one succeeded.
fn one_winner<T, E: std::fmt::Debug>(results: Vec<Result<T, E>>) -> (T, usize, E) {
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{:?}",
        results.iter().map(|r| r.as_ref().err()).collect::<Vec<_>>()
    );
    let winner = results.iter().position(Result::is_ok).unwrap();
    let mut results = results.into_iter();
    let (first, second) = (results.next().unwrap(), results.next().unwrap());
    match (first, second) {
        (Ok(t), Err(e)) | (Err(e), Ok(t)) => (t, winner, e),
        _ => unreachable!("exactly one succeeded"),
    }
}

/// Two commits prepared from the same `base` run at once: exactly one is stored, the other is
/// refused with `refusal` and stores nothing. Returns the winner's version and the winner's index.
fn race(
    stores: &[Arc<Store>; 2],
    ds: &DatasetId,
    base: Base,
    panels: &[Panel; 2],
    refusal: &str,
) -> (VersionInfo, usize) {
    let jobs = [0, 1].map(|i| {
        let (store, ds, panel) = (stores[i].clone(), ds.clone(), panels[i].clone());
        Box::new(move || {
            store.put_version(
                NewVersion {
                    base,
                    ..version(&ds, &panel)
                },
                "t",
            )
        }) as Box<dyn FnOnce() -> Result<VersionInfo, StoreError> + Send>
    });
    let (info, winner, refused) = one_winner(at_once(jobs));
    assert_eq!(refused.code(), refusal, "{refused}");
    assert_eq!(info.number, base.next_number());
    assert_eq!(
        rows_of(&stores[0].load_panel(ds, info.number).unwrap()),
        rows_of(&panels[winner])
    );
    (info, winner)
}

/// A new dataset created twice at once, then a new version of it committed twice at once: one
/// commit of each pair is stored, the other refused; nothing stored is lost or overwritten, and
/// the refused upload, resubmitted on top of the latest version, is stored too.
fn concurrent_puts(stores: [Arc<Store>; 2]) {
    let ds = id("race");
    let firsts = [panel_a(), panel_b()];
    let (v1, first_winner) = race(&stores, &ds, Base::New, &firsts, "store.id_taken");
    let seconds = [
        panel(&[("CN-ZJ", 2020, "x", Some(3.0))]),
        panel(&[("CN-HB", 2021, "y", Some(4.0))]),
    ];
    let (v2, winner) = race(&stores, &ds, Base::Version(1), &seconds, "store.changed");
    let loser = 1 - winner;
    let store = &stores[1];
    assert_eq!(store.versions(&ds).unwrap(), vec![v1, v2]);
    let retried = store
        .put_version(next(store, &ds, &seconds[loser]), "t")
        .unwrap();
    assert_eq!(retried.number, 3);
    assert_eq!(
        rows_of(&store.load_panel(&ds, 1).unwrap()),
        rows_of(&firsts[first_winner])
    );
    assert_eq!(
        rows_of(&store.load_panel(&ds, 3).unwrap()),
        rows_of(&seconds[loser])
    );
}

#[test]
fn concurrent_commits_on_one_store_store_one_and_refuse_the_other() {
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        concurrent_puts([store.clone(), store]);
    }
}

#[test]
fn concurrent_commits_through_two_connections_store_one_and_refuse_the_other() {
    // Two Stores on one data dir behave like two processes: SQLite's lock orders them.
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let one = Arc::new(Store::open(dir.path()).unwrap());
        let two = Arc::new(Store::open(dir.path()).unwrap());
        concurrent_puts([one, two]);
    }
}

/// Three provinces × `years` of three new indicators (`l`, `t`, `o`), every value distinct and
/// shifted by `shift`, so that two uploads differ and entropy weights are defined.
fn indicators_csv(years: &[i32], shift: f64) -> InputFile {
    let mut csv = String::from("region,year,indicator,value\n");
    for (r, region) in ["CN-BJ", "CN-SH", "CN-GD"].iter().enumerate() {
        for year in years {
            for (i, indicator) in ["l", "t", "o"].iter().enumerate() {
                let value =
                    shift + 10.0 * (i + 1) as f64 + 3.0 * r as f64 + 0.5 * (year % 7) as f64;
                csv.push_str(&format!("{region},{year},{indicator},{value}\n"));
            }
        }
    }
    InputFile {
        name: format!("upload-{shift}.csv"),
        bytes: csv.into_bytes().into(),
        layout: None,
    }
}

fn mappings() -> Vec<IndicatorMapping> {
    [
        ("l", Dimension::Laborers),
        ("t", Dimension::Tools),
        ("o", Dimension::Objects),
    ]
    .map(|(name, dimension)| IndicatorMapping {
        source_name: name.into(),
        id: IndicatorId::new(name).unwrap(),
        name_zh: name.into(),
        name_en: name.into(),
        dimension,
        subdimension: None,
        direction: Direction::Benefit,
        unit: String::new(),
        source: "test".into(),
    })
    .to_vec()
}

fn sorted_rows(panel: &Panel) -> Vec<Row> {
    let mut rows = rows_of(panel);
    rows.sort();
    rows
}

/// Commit both staged uploads at once through the service (mapping the new indicators when
/// `map`); exactly one is stored.
fn commit_race(
    store: &Arc<Store>,
    staged: &[Arc<StagedUpload>; 2],
    map: bool,
) -> (VersionInfo, usize, nqp::Error) {
    let jobs = [0, 1].map(|i| {
        let (store, staged) = (store.clone(), staged[i].clone());
        let mappings = if map { mappings() } else { Vec::new() };
        Box::new(move || datasets::commit_upload(&store, &staged, &mappings, "t", false))
            as Box<dyn FnOnce() -> nqp::Result<VersionInfo> + Send>
    });
    one_winner(at_once(jobs))
}

#[test]
fn concurrent_service_commits_store_one_and_refuse_the_other_with_409() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let twin = id("twin");

    // Two uploads reviewed as the new dataset `twin` while the id was free.
    let new = |shift: f64| {
        let target = UploadTarget::New {
            id: twin.clone(),
            title_zh: "孪生".into(),
            title_en: "Twin".into(),
        };
        let staged = datasets::stage_upload(
            &store,
            target,
            vec![indicators_csv(&[2020, 2021, 2022], shift)],
            None,
        )
        .unwrap();
        assert_eq!(staged.preview.base, Base::New);
        Arc::new(staged)
    };
    let staged = [new(0.0), new(100.0)];
    let (v1, winner, refused) = commit_race(&store, &staged, true);
    assert_eq!(refused.code(), "store.id_taken");
    assert!(refused.is_conflict(), "{refused}");
    assert!(
        refused.to_string().contains("'twin' exists already"),
        "{refused}"
    );
    assert_eq!(v1.number, 1);
    assert_eq!(store.versions(&twin).unwrap(), vec![v1]);
    let stored_v1 = store.load_panel(&twin, 1).unwrap();
    assert_eq!(sorted_rows(&stored_v1), sorted_rows(&staged[winner].panel));

    // Two new versions reviewed against version 1: new years, each a different upload.
    let existing = |years: &[i32], shift: f64| {
        let target = UploadTarget::Existing { id: twin.clone() };
        Arc::new(
            datasets::stage_upload(&store, target, vec![indicators_csv(years, shift)], None)
                .unwrap(),
        )
    };
    let staged = [existing(&[2023], 0.25), existing(&[2024], 0.75)];
    assert_eq!(staged[0].preview.base, Base::Version(1));
    let (v2, winner, refused) = commit_race(&store, &staged, false);
    assert_eq!(refused.code(), "store.changed");
    assert!(refused.is_conflict(), "{refused}");
    assert!(
        refused.to_string().contains("changed meanwhile")
            && refused.to_string().contains("review the upload again"),
        "{refused}"
    );
    assert_eq!(v2.number, 2);
    let mut want = rows_of(&stored_v1);
    want.extend(rows_of(&staged[winner].panel));
    want.sort();
    assert_eq!(sorted_rows(&store.load_panel(&twin, 2).unwrap()), want);

    // Nothing is lost: the refused upload, reviewed again, now builds on version 2 and keeps
    // both earlier commits.
    let loser = 1 - winner;
    let again = datasets::stage_upload(
        &store,
        UploadTarget::Existing { id: twin.clone() },
        staged[loser].files.clone(),
        None,
    )
    .unwrap();
    assert_eq!(again.preview.base, Base::Version(2));
    let v3 = datasets::commit_upload(&store, &again, &[], "t", false).unwrap();
    assert_eq!(v3.number, 3);
    want.extend(rows_of(&staged[loser].panel));
    want.sort();
    assert_eq!(sorted_rows(&store.load_panel(&twin, 3).unwrap()), want);
    assert_eq!(
        sorted_rows(&store.load_panel(&twin, 1).unwrap()),
        sorted_rows(&stored_v1)
    );
}

#[test]
fn everything_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ds = id("d");
    let (token, info, audit) = {
        let store = Store::open(dir.path()).unwrap();
        assert!(store.is_empty().unwrap());
        let info = store
            .put_version(next(&store, &ds, &panel_a()), "u")
            .unwrap();
        let (_, token) = store.create_token("ci", "u").unwrap();
        (token, info, store.audit_log(10).unwrap())
    };
    let store = Store::open(dir.path()).unwrap();
    assert!(!store.is_empty().unwrap());
    assert_eq!(store.versions(&ds).unwrap(), vec![info]);
    assert_eq!(
        rows_of(&store.load_panel(&ds, 1).unwrap()),
        rows_of(&panel_a())
    );
    assert_eq!(store.verify_token(&token).unwrap().unwrap().name, "ci");
    assert_eq!(store.audit_log(10).unwrap(), audit);
    assert_eq!(
        store
            .put_version(next(&store, &ds, &panel_b()), "u")
            .unwrap()
            .number,
        2
    );
}

#[test]
fn delete_hides_undelete_restores_purge_removes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (ds, keep) = (id("d"), id("keep"));
    store
        .put_version(next(&store, &ds, &panel_a()), "u")
        .unwrap();
    store
        .put_version(next(&store, &ds, &panel_b()), "u")
        .unwrap();
    store
        .put_version(next(&store, &keep, &panel_a()), "u")
        .unwrap();
    assert_eq!(code(store.purge_dataset(&ds, "u")), "store.conflict");

    store.delete_dataset(&ds, "u").unwrap();
    let public: Vec<String> = store
        .datasets(false)
        .unwrap()
        .iter()
        .map(|d| d.id.to_string())
        .collect();
    assert_eq!(public, ["keep"]);
    let all = store.datasets(true).unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().find(|d| d.id == ds).unwrap().deleted);
    assert!(!store.is_empty().unwrap());
    // History stays readable; new uploads are refused until it is undeleted.
    assert_eq!(
        rows_of(&store.load_panel(&ds, 1).unwrap()),
        rows_of(&panel_a())
    );
    assert_eq!(
        code(store.put_version(next(&store, &ds, &panel_a()), "u")),
        "store.conflict"
    );
    assert_eq!(code(store.delete_dataset(&ds, "u")), "store.conflict");
    // A deleted dataset keeps its id: a new dataset cannot take it over.
    assert_eq!(
        code(store.put_version(version(&ds, &panel_b()), "u")),
        "store.id_taken"
    );

    store.undelete_dataset(&ds, "u").unwrap();
    assert_eq!(store.datasets(false).unwrap().len(), 2);
    assert_eq!(code(store.undelete_dataset(&ds, "u")), "store.conflict");

    store.delete_dataset(&ds, "u").unwrap();
    store.purge_dataset(&ds, "u").unwrap();
    assert!(!dir.path().join("datasets/d").exists());
    assert!(store.dataset(&ds).unwrap().is_none());
    assert_eq!(code(store.versions(&ds)), "store.not_found");
    assert_eq!(code(store.load_panel(&ds, 1)), "store.not_found");
    assert_eq!(code(store.purge_dataset(&ds, "u")), "store.not_found");
    // Only the purged dataset's files went; the directory holds nothing but live datasets.
    let names: Vec<String> = std::fs::read_dir(dir.path().join("datasets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["keep"]);
    assert_eq!(
        rows_of(&store.load_panel(&keep, 1).unwrap()),
        rows_of(&panel_a())
    );
    // The id can be used again, starting from version 1.
    assert_eq!(
        store
            .put_version(next(&store, &ds, &panel_b()), "u")
            .unwrap()
            .number,
        1
    );
    assert_eq!(
        rows_of(&store.load_panel(&ds, 1).unwrap()),
        rows_of(&panel_b())
    );
}

#[test]
fn tokens_store_only_hashes_and_verify_active_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (info, token) = store.create_token("  ci bot ", "admin").unwrap();
    assert_eq!(info.name, "ci bot");
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let (_, other) = store.create_token("other", "admin").unwrap();
    assert_ne!(token, other);
    assert!(!contains(&all_bytes(dir.path()), token.as_bytes()));
    assert!(!contains(&all_bytes(dir.path()), other.as_bytes()));

    assert_eq!(store.verify_token(&token).unwrap(), Some(info.clone()));
    assert_eq!(store.verify_token(&token.to_uppercase()).unwrap(), None);
    assert_eq!(store.verify_token("").unwrap(), None);
    assert_eq!(store.verify_token(&token[..63]).unwrap(), None);

    let revoked = store.revoke_token(info.id, "admin").unwrap();
    assert!(revoked.revoked_at.is_some());
    assert_eq!(store.verify_token(&token).unwrap(), None);
    assert_eq!(store.verify_token(&other).unwrap().unwrap().name, "other");
    assert_eq!(code(store.revoke_token(info.id, "admin")), "store.conflict");
    assert_eq!(code(store.revoke_token(999, "admin")), "store.not_found");
    assert_eq!(code(store.create_token("   ", "admin")), "store.invalid");

    let listed = store.list_tokens().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0], revoked);
    assert!(listed[1].is_active());
}

#[test]
fn admin_token_is_generated_once_or_taken_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let fresh = store
        .ensure_admin_token(None)
        .unwrap()
        .expect("a fresh token on first start");
    assert_eq!(fresh.len(), 64);
    assert_eq!(store.verify_token(&fresh).unwrap().unwrap().name, "admin");
    assert_eq!(store.ensure_admin_token(None).unwrap(), None);
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.ensure_admin_token(None).unwrap(),
        None,
        "generated once, also across restarts"
    );
    assert_eq!(store.list_tokens().unwrap().len(), 1);
    assert!(!contains(&all_bytes(dir.path()), fresh.as_bytes()));

    // With every token revoked, the next start prints a new one (Jupyter-style recovery).
    let admin = store.verify_token(&fresh).unwrap().unwrap();
    store.revoke_token(admin.id, "admin").unwrap();
    let second = store.ensure_admin_token(None).unwrap().unwrap();
    assert_ne!(second, fresh);

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let env = "correct-horse-battery-staple";
    assert_eq!(
        store.ensure_admin_token(Some(env)).unwrap(),
        None,
        "env tokens are never echoed"
    );
    assert_eq!(store.ensure_admin_token(Some(env)).unwrap(), None);
    assert_eq!(
        store.ensure_admin_token(None).unwrap(),
        None,
        "an active token exists"
    );
    assert_eq!(store.list_tokens().unwrap().len(), 1);
    assert_eq!(
        store.verify_token(env).unwrap().unwrap().name,
        "admin (NQP_ADMIN_TOKEN)"
    );
    assert!(!contains(&all_bytes(dir.path()), env.as_bytes()));
    assert_eq!(code(store.ensure_admin_token(Some("  "))), "store.invalid");

    // A revoked env token stays revoked when the server restarts with the same variable.
    let info = store.verify_token(env).unwrap().unwrap();
    store.revoke_token(info.id, "admin").unwrap();
    assert_eq!(store.ensure_admin_token(Some(env)).unwrap(), None);
    assert_eq!(store.verify_token(env).unwrap(), None);
}

#[test]
fn sessions_follow_their_token_and_carry_a_csrf_secret() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (info, _) = store.create_token("editor", "admin").unwrap();
    let session = store.create_session(info.id).unwrap();
    let other = store.create_session(info.id).unwrap();
    assert_ne!(session, other);
    assert!(!contains(&all_bytes(dir.path()), session.as_bytes()));

    assert_eq!(store.session_token(&session).unwrap(), Some(info.clone()));
    let csrf = store.csrf_token(&session).unwrap().unwrap();
    assert_eq!(csrf.len(), 64);
    assert_eq!(
        store.csrf_token(&session).unwrap().unwrap(),
        csrf,
        "stable within a session"
    );
    assert_ne!(store.csrf_token(&other).unwrap().unwrap(), csrf);
    assert_eq!(store.session_token("not-a-session").unwrap(), None);
    assert_eq!(store.csrf_token("not-a-session").unwrap(), None);

    store.delete_session(&session).unwrap();
    store.delete_session(&session).unwrap();
    assert_eq!(store.session_token(&session).unwrap(), None);
    assert_eq!(store.session_token(&other).unwrap(), Some(info.clone()));

    store.revoke_token(info.id, "admin").unwrap();
    assert_eq!(store.session_token(&other).unwrap(), None);
    assert_eq!(code(store.create_session(info.id)), "store.conflict");
    assert_eq!(code(store.create_session(42)), "store.not_found");
}

#[test]
fn the_audit_log_records_every_change_with_actor_and_action() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ds = id("d");
    store.ensure_admin_token(None).unwrap();
    let (bob, _) = store.create_token("bob", "admin").unwrap();
    store
        .put_version(next(&store, &ds, &panel_a()), "bob")
        .unwrap();
    store
        .put_version(next(&store, &ds, &panel_a()), "bob")
        .unwrap();
    store
        .put_version(next(&store, &ds, &panel_b()), "carol")
        .unwrap();
    store.delete_dataset(&ds, "carol").unwrap();
    store.undelete_dataset(&ds, "dave").unwrap();
    store.delete_dataset(&ds, "dave").unwrap();
    store.purge_dataset(&ds, "erin").unwrap();
    let session = store.create_session(bob.id).unwrap();
    store.delete_session(&session).unwrap();
    store.revoke_token(bob.id, "admin").unwrap();
    // Failed changes leave no trace.
    assert!(store.undelete_dataset(&ds, "mallory").is_err());
    assert!(store.revoke_token(bob.id, "mallory").is_err());

    let mut log = store.audit_log(100).unwrap();
    log.reverse();
    let got: Vec<(&str, &str, &str)> = log
        .iter()
        .map(|e| (e.actor.as_str(), e.action.as_str(), e.target.as_str()))
        .collect();
    let bob_target = format!("token/{}", bob.id);
    assert_eq!(
        got,
        [
            ("system", "token.admin", "token/1"),
            ("admin", "token.create", bob_target.as_str()),
            ("bob", "put", "d/1"),
            ("bob", "noop", "d/1"),
            ("carol", "put", "d/2"),
            ("carol", "delete", "dataset/d"),
            ("dave", "undelete", "dataset/d"),
            ("dave", "delete", "dataset/d"),
            ("erin", "purge", "dataset/d"),
            ("bob", "sign_in", bob_target.as_str()),
            ("bob", "sign_out", bob_target.as_str()),
            ("admin", "token.revoke", bob_target.as_str()),
        ]
    );
    assert!(
        log.windows(2)
            .all(|w| w[0].at <= w[1].at && w[0].id < w[1].id)
    );
    assert_eq!(log[8].detail, "2 versions removed");
    assert_eq!(store.audit_log(2).unwrap().len(), 2);
}

#[test]
fn a_catalog_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join("catalog.sqlite")).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    assert_eq!(code(Store::open(dir.path())), "store.schema_too_new");
}

#[test]
fn debris_at_the_next_version_path_is_moved_aside_not_overwritten() {
    // A crash between rename and commit leaves `<n>.parquet` without a row; if no sweep ran
    // (another process had the store open), the next commit of version n moves it aside.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ds = id("d");
    store
        .put_version(next(&store, &ds, &panel_a()), "u")
        .unwrap();
    std::fs::write(dir.path().join("datasets/d/2.parquet"), b"half-written").unwrap();
    assert_eq!(
        store
            .put_version(next(&store, &ds, &panel_b()), "u")
            .unwrap()
            .number,
        2
    );
    assert_eq!(
        rows_of(&store.load_panel(&ds, 2).unwrap()),
        rows_of(&panel_b())
    );
    assert_eq!(
        quarantine(dir.path()),
        BTreeMap::from([("datasets/d/2.parquet".to_owned(), b"half-written".to_vec())])
    );
}

/// Move the catalog (and its WAL files) out of the data dir, to `<name>.away`.
fn move_catalog_away(root: &Path) {
    for name in ["catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"] {
        if root.join(name).exists() {
            std::fs::rename(root.join(name), root.join(format!("{name}.away"))).unwrap();
        }
    }
}

/// Replace the data dir's catalog by a copy of `catalog` (a file of a closed store).
fn put_catalog(root: &Path, catalog: &Path) {
    for name in ["catalog.sqlite-wal", "catalog.sqlite-shm"] {
        let _ = std::fs::remove_file(root.join(name));
    }
    std::fs::copy(catalog, root.join("catalog.sqlite")).unwrap();
}

#[test]
fn a_missing_or_empty_catalog_stops_the_start_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    {
        let store = Store::open(root).unwrap();
        store
            .put_version(next(&store, &id("d"), &panel_a()), "u")
            .unwrap();
        store
            .put_version(next(&store, &id("d"), &panel_b()), "u")
            .unwrap();
        store
            .put_version(next(&store, &id("e"), &panel_a()), "u")
            .unwrap();
    }
    let files = file_hashes(&root.join("datasets"));
    assert_eq!(
        files.len(),
        5,
        "two dataset dirs, three versions: {files:?}"
    );
    let refused = |root: &Path| {
        let err = match Store::open(root) {
            Ok(_) => panic!("the store opened without its catalog"),
            Err(e) => e,
        };
        assert_eq!(err.code(), "store.catalog_lost");
        let message = err.to_string();
        for part in [
            &format!(
                "{} holds 3 dataset version file(s)",
                root.join("datasets").display()
            ),
            "Restore catalog.sqlite from a backup",
            &format!("nqp dataset recover --data-dir {}", root.display()),
        ] {
            assert!(message.contains(part), "{part}: {message}");
        }
    };

    // Catalog moved away: refused, no new catalog created, no file moved or changed.
    move_catalog_away(root);
    refused(root);
    assert!(!root.join("catalog.sqlite").exists());
    assert_eq!(file_hashes(&root.join("datasets")), files);
    assert!(!root.join("quarantine").exists());
    // The command-line tools refuse too: they open the store the same way.
    let mut out = Vec::new();
    let listed =
        nqp::cli::dataset::run_to(root, &nqp::cli::dataset::DatasetCommand::List, &mut out);
    assert!(
        listed
            .unwrap_err()
            .to_string()
            .contains("nqp dataset recover")
    );

    // An empty catalog in its place (a fresh one): refused the same way.
    let empty = tempfile::tempdir().unwrap();
    drop(Store::open(empty.path()).unwrap());
    put_catalog(root, &empty.path().join("catalog.sqlite"));
    refused(root);
    assert_eq!(file_hashes(&root.join("datasets")), files);
    assert!(!root.join("quarantine").exists());

    // With the catalog restored, everything is there.
    put_catalog(root, &root.join("catalog.sqlite.away"));
    let store = Store::open(root).unwrap();
    assert_eq!(
        rows_of(&store.load_panel(&id("d"), 2).unwrap()),
        rows_of(&panel_b())
    );
    assert_eq!(file_hashes(&root.join("datasets")), files);
}

#[test]
fn an_older_catalog_backup_quarantines_newer_versions_and_recover_brings_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (d, e) = (id("d"), id("e"));
    let c = panel(&[("CN-ZJ", 2020, "x", Some(3.0))]);
    drop({
        let store = Store::open(root).unwrap();
        store
            .put_version(next(&store, &d, &panel_a()), "u")
            .unwrap();
        store
    });
    let backup = tempfile::tempdir().unwrap();
    std::fs::copy(
        root.join("catalog.sqlite"),
        backup.path().join("catalog.sqlite"),
    )
    .unwrap();
    let (versions_d, versions_e) = {
        let store = Store::open(root).unwrap();
        store
            .put_version(next(&store, &d, &panel_b()), "u")
            .unwrap();
        store.put_version(next(&store, &d, &c), "v").unwrap();
        store.put_version(next(&store, &e, &c), "w").unwrap();
        (store.versions(&d).unwrap(), store.versions(&e).unwrap())
    };
    let newer: BTreeMap<String, Vec<u8>> = [
        "datasets/d/2.parquet",
        "datasets/d/3.parquet",
        "datasets/e/1.parquet",
    ]
    .iter()
    .map(|p| (p.to_string(), std::fs::read(root.join(p)).unwrap()))
    .collect();

    // The older catalog is healthy (it lists version d/1), so the start goes on: the versions it
    // does not know are moved to quarantine with their bytes, not deleted.
    put_catalog(root, &backup.path().join("catalog.sqlite"));
    let store = Store::open(root).unwrap();
    assert_eq!(store.versions(&d).unwrap(), versions_d[..1]);
    assert_eq!(
        rows_of(&store.load_panel(&d, 1).unwrap()),
        rows_of(&panel_a())
    );
    assert_eq!(quarantine(root), newer);
    drop(store);

    // The operator moves them back and recovers: the catalog is what it was before the restore.
    for stamp in std::fs::read_dir(root.join("quarantine")).unwrap() {
        let stamp = stamp.unwrap().path();
        for path in newer.keys() {
            let from = stamp.join(path);
            if from.exists() {
                std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
                std::fs::rename(from, root.join(path)).unwrap();
            }
        }
    }
    let report = Store::recover(root).unwrap();
    assert_eq!(report.recovered, ["d/2", "d/3", "e/1"]);
    assert_eq!((report.known, report.skipped.len()), (1, 0));
    let store = Store::open(root).unwrap();
    assert_eq!(store.versions(&d).unwrap(), versions_d);
    assert_eq!(store.versions(&e).unwrap(), versions_e);
    assert_eq!(rows_of(&store.load_panel(&d, 3).unwrap()), rows_of(&c));
    assert_eq!(rows_of(&store.load_panel(&e, 1).unwrap()), rows_of(&c));
}

#[test]
fn recover_rebuilds_a_lost_catalog_from_which_the_same_versions_load() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (d, e) = (id("d"), id("e"));
    let other_framework = "[framework]\nid = \"other\"\n";
    let files = [("gdp.csv".to_owned(), "ab".repeat(32))];
    let store = Store::open(root).unwrap();
    store
        .put_version(
            NewVersion {
                region_set_id: Some("cn-provinces"),
                source_files: &files,
                note: "first upload",
                revisions: &[],
                title_zh: "第一",
                title_en: "First",
                ..next(&store, &d, &panel_a())
            },
            "alice",
        )
        .unwrap();
    let b = panel_b();
    store
        .put_version(
            NewVersion {
                framework_toml: other_framework,
                note: "second",
                revisions: &[],
                ..next(&store, &d, &b)
            },
            "bob",
        )
        .unwrap();
    store
        .put_version(next(&store, &e, &panel_a()), "carol")
        .unwrap();
    // While the store is open, recovery is refused: it needs the data dir to itself.
    assert_eq!(code(Store::recover(root)), "store.conflict");
    let datasets_before = store.datasets(true).unwrap();
    let versions_before = [store.versions(&d).unwrap(), store.versions(&e).unwrap()];
    let sources_before = store.source_files(&d, 1).unwrap();
    drop(store);

    // The catalog is lost. A file from before version records existed, and a copy of d/2 put
    // where it does not belong, are reported and left alone.
    move_catalog_away(root);
    std::fs::create_dir(root.join("datasets/old")).unwrap();
    let mut legacy = Vec::new();
    ParquetWriter::new(&mut legacy)
        .finish(&mut panel_a().frame().clone())
        .unwrap();
    std::fs::write(root.join("datasets/old/1.parquet"), &legacy).unwrap();
    std::fs::create_dir(root.join("datasets/misplaced")).unwrap();
    std::fs::copy(
        root.join("datasets/d/2.parquet"),
        root.join("datasets/misplaced/1.parquet"),
    )
    .unwrap();
    assert_eq!(code(Store::open(root)), "store.catalog_lost");

    let mut out = Vec::new();
    nqp::cli::dataset::run_to(root, &nqp::cli::dataset::DatasetCommand::Recover, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("recovered 3 version(s)"), "{out}");
    for line in [
        "  + d/1",
        "  + d/2",
        "  + e/1",
        "0 version(s) were in the catalog already",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
    assert!(
        out.contains("old/1.parquet — it has no version record"),
        "{out}"
    );
    assert!(
        out.contains("misplaced/1.parquet — its record names version d/2"),
        "{out}"
    );

    let store = Store::open(root).unwrap();
    assert_eq!(store.datasets(true).unwrap(), datasets_before);
    assert_eq!(store.versions(&d).unwrap(), versions_before[0]);
    assert_eq!(store.versions(&e).unwrap(), versions_before[1]);
    assert_eq!(store.source_files(&d, 1).unwrap(), sources_before);
    assert_eq!(
        rows_of(&store.load_panel(&d, 1).unwrap()),
        rows_of(&panel_a())
    );
    assert_eq!(rows_of(&store.load_panel(&d, 2).unwrap()), rows_of(&b));
    assert_eq!(store.framework_toml(&d, 1).unwrap(), FRAMEWORK);
    assert_eq!(store.framework_toml(&d, 2).unwrap(), other_framework);
    let recovered: Vec<String> = store
        .audit_log(10)
        .unwrap()
        .iter()
        .filter(|a| a.action == "recover")
        .map(|a| a.target.clone())
        .collect();
    assert_eq!(recovered, ["e/1", "d/2", "d/1"]);
    // The unrecovered files stay where they were (the start-up sweep moved them to quarantine).
    assert_eq!(quarantine(root)["datasets/old/1.parquet"], legacy);
    // Work goes on from the recovered history.
    let next_version = store
        .put_version(next(&store, &d, &panel_a()), "u")
        .unwrap();
    assert_eq!(next_version.number, 3);
}
