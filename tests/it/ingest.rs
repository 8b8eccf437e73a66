//! Integration tests: ingest — format samples (tests/fixtures/csv), the bad-input corpus
//! (tests/fixtures/bad, one table-driven test), a no-panic property test, and `#[ignore]`d
//! tests over every real file in ../shared/data.

use std::path::{Path, PathBuf};

use nqp::ingest::{
    ERROR_CODES, Encoding, IngestError, Ingested, Layout, NOTICE_CODES, RegionMatch, RegionSet,
    ingest, ingest_by_rows, ingest_columnar, ingest_unmatched,
};
use polars::prelude::*;
use proptest::prelude::*;

fn fixture(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The panel as sorted (region, year, indicator, value) tuples.
fn rows(ing: &Ingested) -> Vec<(String, i32, String, f64)> {
    let f = ing.panel.frame();
    let r = f.column("region").unwrap().str().unwrap().clone();
    let y = f.column("year").unwrap().i32().unwrap().clone();
    let i = f.column("indicator").unwrap().str().unwrap().clone();
    let v = f.column("value").unwrap().f64().unwrap().clone();
    let mut out: Vec<_> = (0..f.height())
        .map(|k| {
            (
                r.get(k).unwrap().to_owned(),
                y.get(k).unwrap(),
                i.get(k).unwrap().to_owned(),
                v.get(k).unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| (&a.0, a.1, &a.2).cmp(&(&b.0, b.1, &b.2)));
    out
}

fn value(ing: &Ingested, region: &str, year: i32, indicator: &str) -> Option<f64> {
    rows(ing)
        .into_iter()
        .find(|r| r.0 == region && r.1 == year && r.2 == indicator)
        .map(|r| r.3)
}

fn codes(ing: &Ingested) -> Vec<&'static str> {
    ing.notices.iter().map(|n| n.code).collect()
}

#[test]
fn nbs_export_sample_in_gbk_with_crlf() {
    let set = RegionSet::cn_provinces();
    let ing = ingest(
        &fixture("csv/nbs_export_gbk_crlf.csv"),
        "nbs.csv",
        Some(&set),
    )
    .unwrap();
    assert_eq!(
        (ing.encoding, ing.layout),
        (Encoding::Gb18030, Layout::NbsExport)
    );
    let ind = "研究与试验发展(R&D)人员(人口抽样调查)";
    assert_eq!(ing.units.get(ind).map(String::as_str), Some("万人"));
    // 4 regions × 3 years − 2 empty cells.
    assert_eq!(ing.panel.height(), 10);
    assert_eq!(
        ing.panel.regions().unwrap(),
        vec!["CN-BJ", "CN-GX", "CN-NM", "CN-XJ"]
    );
    assert_eq!(ing.panel.years().unwrap(), vec![2022, 2023, 2024]);
    assert_eq!(value(&ing, "CN-BJ", 2023, ind), Some(118.25));
    assert_eq!(value(&ing, "CN-NM", 2022, ind), Some(14.25));
    assert_eq!(value(&ing, "CN-GX", 2024, ind), None);
    assert_eq!(value(&ing, "CN-BJ", 2022, ind), None);
    let footnote_lines: Vec<u64> = ing
        .notices
        .iter()
        .filter(|n| n.code == "ingest.footnote")
        .map(|n| n.position.as_ref().unwrap().line.unwrap())
        .collect();
    assert_eq!(footnote_lines, vec![9, 10, 11]);
    assert!(codes(&ing).contains(&"ingest.missing_values"));
}

#[test]
fn long_csv_with_bom_units_and_quoted_thousands() {
    let set = RegionSet::cn_provinces();
    let ing = ingest(&fixture("csv/long_utf8_bom.csv"), "long.csv", Some(&set)).unwrap();
    assert_eq!(
        (ing.encoding, ing.layout),
        (Encoding::Utf8Bom, Layout::Long)
    );
    assert_eq!(ing.panel.height(), 5);
    assert_eq!(
        ing.panel.indicators().unwrap(),
        vec!["patents", "rd_intensity"]
    );
    assert_eq!(value(&ing, "CN-SH", 2022, "rd_intensity"), Some(4.44));
    assert_eq!(value(&ing, "CN-GD", 2022, "patents"), Some(1_234_567.0));
    assert_eq!(value(&ing, "CN-GD", 2021, "patents"), None);
    assert_eq!(ing.units.get("patents").map(String::as_str), Some("件"));
    assert_eq!(ing.units.get("rd_intensity").map(String::as_str), Some("%"));
}

#[test]
fn wide_csv_in_gbk_with_header_synonyms() {
    let set = RegionSet::cn_provinces();
    let ing = ingest(&fixture("csv/wide_gbk.csv"), "wide.csv", Some(&set)).unwrap();
    assert_eq!(
        (ing.encoding, ing.layout),
        (Encoding::Gb18030, Layout::Wide)
    );
    // 5 rows × 3 indicators − 1 empty cell.
    assert_eq!(ing.panel.height(), 14);
    assert_eq!(
        ing.panel.regions().unwrap(),
        vec!["CN-JS", "CN-SH", "CN-XZ"]
    );
    assert_eq!(
        ing.panel.indicators().unwrap(),
        vec!["GDP_亿元", "城镇化率_%", "税收收入_亿元"]
    );
    assert_eq!(value(&ing, "CN-JS", 2023, "GDP_亿元"), Some(128222.2));
    assert_eq!(value(&ing, "CN-XZ", 2023, "城镇化率_%"), Some(38.88));
    assert_eq!(value(&ing, "CN-SH", 2023, "税收收入_亿元"), None);
    assert!(ing.units.is_empty());
}

#[test]
fn messy_region_names_resolve_and_aggregates_are_excluded() {
    let set = RegionSet::cn_provinces();
    let ing = ingest(&fixture("csv/messy_names.csv"), "messy.csv", Some(&set)).unwrap();
    assert_eq!(ing.layout, Layout::Long);
    let got: Vec<(String, i32, f64)> = rows(&ing).into_iter().map(|r| (r.0, r.1, r.3)).collect();
    let want = [
        ("CN-BJ", 2022, 1.0),
        ("CN-HA", 2022, 5.0),
        ("CN-HB", 2022, 6.0),
        ("CN-HE", 2022, 3.0),
        ("CN-HN", 2022, 7.0),
        ("CN-JX", 2022, 8.0),
        ("CN-NM", 2021, 4.5),
        ("CN-NM", 2022, 4.0),
        ("CN-SX", 2022, 10.0),
        ("CN-TJ", 2022, 2.0),
        ("CN-XZ", 2021, 9.5),
        ("CN-XZ", 2022, 9.0),
        ("CN-ZJ", 2022, 11.0),
    ];
    let want: Vec<(String, i32, f64)> = want
        .iter()
        .map(|(r, y, v)| (r.to_string(), *y, *v))
        .collect();
    assert_eq!(got, want);
    let mut aggregates: Vec<(String, u64)> = ing
        .notices
        .iter()
        .filter(|n| n.code == "ingest.aggregate_excluded")
        .map(|n| {
            (
                n.message.clone(),
                n.position.as_ref().unwrap().line.unwrap(),
            )
        })
        .collect();
    aggregates.sort();
    assert_eq!(
        aggregates,
        vec![
            (
                "'东部地区' is an aggregate, not a region: 1 row(s) excluded".to_owned(),
                16
            ),
            (
                "'全国' is an aggregate, not a region: 2 row(s) excluded".to_owned(),
                15
            ),
            (
                "'尔部地区' is an aggregate, not a region: 1 row(s) excluded".to_owned(),
                17
            ),
        ]
    );
}

#[test]
fn without_a_region_set_names_are_kept_as_ids() {
    let ing = ingest(&fixture("csv/messy_names.csv"), "messy.csv", None).unwrap();
    let regions = ing.panel.regions().unwrap();
    assert!(regions.contains(&"北京".to_owned()), "{regions:?}");
    assert!(regions.contains(&"全国".to_owned()));
    assert!(regions.contains(&"inner mongolia".to_owned()));
    // Without a set, `北   京` and `全   国` are only cleaned, and nothing is excluded.
    assert_eq!(ing.panel.height(), 17);
}

/// (file, code, line, column) — for `ingest.many`, line and column of the first problem.
const BAD: &[(&str, &str, Option<u64>, Option<usize>)] = &[
    ("bad_year.csv", "ingest.bad_year", Some(2), Some(2)),
    (
        "bad_year_header_nbs.csv",
        "ingest.bad_year",
        Some(4),
        Some(3),
    ),
    ("binary_nul.csv", "ingest.binary", Some(2), None),
    ("blank_lines.csv", "ingest.empty", None, None),
    (
        "duplicate_column.csv",
        "ingest.duplicate_column",
        Some(1),
        Some(5),
    ),
    ("duplicate_key.csv", "ingest.duplicate", Some(4), None),
    (
        "duplicate_region_nbs.csv",
        "ingest.duplicate",
        Some(7),
        Some(1),
    ),
    (
        "duplicate_role.csv",
        "ingest.duplicate_column",
        Some(1),
        Some(2),
    ),
    ("empty.csv", "ingest.empty", None, None),
    ("empty_indicator.csv", "ingest.empty_key", Some(2), Some(3)),
    ("empty_region.csv", "ingest.empty_key", Some(2), Some(1)),
    ("header_only.csv", "ingest.header_only", Some(1), None),
    ("header_only_nbs.csv", "ingest.header_only", Some(4), None),
    ("invalid_bytes.csv", "ingest.encoding", Some(3), None),
    ("many_problems.csv", "ingest.many", Some(2), Some(4)),
    ("missing_region.csv", "ingest.missing_column", Some(1), None),
    ("missing_value.csv", "ingest.missing_column", Some(1), None),
    ("missing_year.csv", "ingest.missing_column", Some(1), None),
    ("nbs_without_table.csv", "ingest.layout", None, None),
    ("no_header.csv", "ingest.no_header", Some(1), Some(1)),
    ("not_numeric.csv", "ingest.not_numeric", Some(3), Some(4)),
    (
        "not_numeric_nbs.csv",
        "ingest.not_numeric",
        Some(6),
        Some(3),
    ),
    ("ragged_long.csv", "ingest.ragged_row", Some(2), Some(5)),
    ("ragged_short.csv", "ingest.ragged_row", Some(3), Some(4)),
    (
        "thousands_bad_grouping.csv",
        "ingest.not_numeric",
        Some(2),
        Some(4),
    ),
    (
        "thousands_unquoted.csv",
        "ingest.ragged_row",
        Some(2),
        Some(5),
    ),
    ("unknown_layout.csv", "ingest.layout", Some(1), None),
    (
        "unknown_region.csv",
        "ingest.unknown_region",
        Some(3),
        Some(1),
    ),
    (
        "unknown_region_wide.csv",
        "ingest.unknown_region",
        Some(4),
        Some(1),
    ),
    (
        "unterminated_quote.csv",
        "ingest.unterminated_quote",
        Some(3),
        Some(4),
    ),
    ("utf16be_no_bom.csv", "ingest.encoding", Some(1), None),
    ("utf16le_bom.csv", "ingest.encoding", Some(1), None),
    ("xlsx_renamed.csv", "ingest.binary", None, None),
];

#[test]
fn every_bad_input_fails_with_its_code_line_and_column() {
    let set = RegionSet::cn_provinces();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".csv"))
        .collect();
    on_disk.sort();
    let listed: Vec<&str> = BAD.iter().map(|b| b.0).collect();
    assert_eq!(
        on_disk, listed,
        "every file in tests/fixtures/bad is listed once, in order"
    );
    for &(file, code, line, column) in BAD {
        let err = match ingest(&fixture(&format!("bad/{file}")), file, Some(&set)) {
            Ok(ing) => panic!("{file}: accepted ({} rows)", ing.panel.height()),
            Err(err) => err,
        };
        assert_eq!(err.code(), code, "{file}: {err}");
        for e in err.errors() {
            assert!(
                ERROR_CODES.contains(&e.code()),
                "{file}: undeclared {}",
                e.code()
            );
        }
        let first = &err.errors()[0];
        let pos = first
            .position()
            .unwrap_or_else(|| panic!("{file}: no position: {err}"));
        assert_eq!(pos.file, file, "{file}");
        assert_eq!((pos.line, pos.column), (line, column), "{file}: {err}");
    }
}

#[test]
fn bad_inputs_carry_useful_details() {
    let set = RegionSet::cn_provinces();
    let err = |file: &str| ingest(&fixture(&format!("bad/{file}")), file, Some(&set)).unwrap_err();
    match err("unknown_region.csv") {
        IngestError::UnknownRegion {
            name,
            suggestion,
            pos,
        } => {
            assert_eq!(&*name, "Bejing");
            assert_eq!(suggestion.unwrap().as_str(), "CN-BJ");
            assert_eq!(pos.column_name.as_deref(), Some("region"));
        }
        other => panic!("{other:?}"),
    }
    match err("duplicate_key.csv") {
        IngestError::Duplicate {
            first_line, key, ..
        } => {
            assert_eq!(first_line, 2);
            assert!(key.contains("CN-BJ") && key.contains("2020"), "{key}");
        }
        other => panic!("{other:?}"),
    }
    match err("not_numeric_nbs.csv") {
        IngestError::NotNumeric { value, pos } => {
            assert_eq!(value, "x");
            assert_eq!(pos.to_string(), "not_numeric_nbs.csv:6:3 (column '2023年')");
        }
        other => panic!("{other:?}"),
    }
    match err("missing_region.csv") {
        IngestError::MissingColumn { column, found, .. } => {
            assert_eq!(
                (column, found),
                (
                    "region",
                    vec!["name".to_owned(), "year".into(), "gdp".into()]
                )
            );
        }
        other => panic!("{other:?}"),
    }
    let many = err("many_problems.csv");
    let list: Vec<&str> = many.errors().iter().map(IngestError::code).collect();
    assert_eq!(
        list,
        vec![
            "ingest.not_numeric",
            "ingest.bad_year",
            "ingest.unknown_region"
        ]
    );
}

#[test]
fn every_notice_code_is_declared() {
    let set = RegionSet::cn_provinces();
    let mut seen = std::collections::BTreeSet::new();
    for file in [
        "nbs_export_gbk_crlf.csv",
        "long_utf8_bom.csv",
        "wide_gbk.csv",
        "messy_names.csv",
    ] {
        let ing = ingest(&fixture(&format!("csv/{file}")), file, Some(&set)).unwrap();
        seen.extend(codes(&ing));
    }
    let extra = "数据库：分省年度数据\n说明\n地区,2024年\n全国,1\n北京,\n";
    let ing = ingest(extra.as_bytes(), "no_indicator.csv", Some(&set)).unwrap();
    seen.extend(codes(&ing));
    let all: std::collections::BTreeSet<&str> = NOTICE_CODES.iter().copied().collect();
    assert!(seen.is_subset(&all), "{seen:?}");
    assert!(seen.len() >= 6, "{seen:?}");
}

#[test]
fn error_list_is_capped() {
    let mut text = String::from("region,year,indicator,value\n");
    for k in 0..200 {
        text.push_str(&format!("北京,{},gdp,oops\n", 1900 + k));
    }
    let err = ingest(text.as_bytes(), "big.csv", None).unwrap_err();
    assert_eq!(err.code(), "ingest.many");
    assert_eq!(err.errors().len(), nqp::ingest::MAX_ERRORS);
    assert_eq!(err.errors()[49].position().unwrap().line, Some(51));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let set = RegionSet::cn_provinces();
        let _ = ingest(&bytes, "fuzz.csv", Some(&set));
        let _ = ingest(&bytes, "fuzz.csv", None);
    }

    #[test]
    fn resolve_never_panics_and_only_returns_codes_of_the_set(name in "\\PC{0,20}") {
        let set = RegionSet::cn_provinces();
        if let RegionMatch::Matched(code) | RegionMatch::Unknown { suggestion: Some(code) } = set.resolve(&name) {
            prop_assert!(set.get(code.as_str()).is_some());
        }
    }

    /// Any set of observations written as a long file, with region names spelled any of the
    /// accepted ways, comes back exactly.
    #[test]
    fn long_files_round_trip(
        cells in proptest::collection::btree_map((0usize..31, 1990i32..2030), (-1e9f64..1e9, 0usize..4), 1..60),
        bom in any::<bool>(),
    ) {
        let set = RegionSet::cn_provinces();
        let mut text = if bom { "\u{FEFF}".to_owned() } else { String::new() };
        text.push_str("地区,年份,指标,数值\n");
        let mut want = Vec::new();
        for (&(r, year), &(value, spelling)) in &cells {
            let region = &set.regions()[r];
            let name = match spelling {
                0 => region.name_zh.clone(),
                1 => region.name_en.to_uppercase(),
                2 => region.code.to_string(),
                _ => region.aliases[0].clone(),
            };
            text.push_str(&format!("{name},{year},x,{value}\n"));
            want.push((region.code.to_string(), year, "x".to_owned(), value));
        }
        let ing = ingest(text.as_bytes(), "prop.csv", Some(&set)).unwrap();
        want.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        prop_assert_eq!(rows(&ing), want);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = ingest(text.as_bytes(), "fuzz.csv", Some(&RegionSet::cn_provinces()));
    }

    #[test]
    fn csv_like_text_never_panics(
        lines in proptest::collection::vec("[北京市上海全国地区年份region,year,indicator,value0-9 .\"\\-年：注\u{3000}\r\n]{0,40}", 0..12),
        nbs in any::<bool>(),
    ) {
        let mut text = if nbs { "数据库：分省年度数据\n指标：x(y)\n".to_owned() } else { String::new() };
        text.push_str(&lines.join("\n"));
        let _ = ingest(text.as_bytes(), "fuzz.csv", Some(&RegionSet::cn_provinces()));
        let _ = ingest(text.as_bytes(), "fuzz.csv", None);
    }
}

// ---- `--regions auto` in one pass: identical to the two ingests it replaced ----

/// Everything an ingest outcome shows: the panel's rows in order, layout, encoding, units and
/// notices — or the error, with every position.
/// Panel, layout, encoding, units, notices and the decimals each value shows.
type Outcome = Result<
    (
        DataFrame,
        Layout,
        Encoding,
        Vec<(String, String)>,
        String,
        Vec<i8>,
    ),
    Box<IngestError>,
>;

fn outcome(result: Result<Ingested, IngestError>) -> Outcome {
    result.map_err(Box::new).map(|ing| {
        let units = ing.units.into_iter().collect();
        let notices = format!("{:?}", ing.notices);
        (
            ing.panel.into_frame(),
            ing.layout,
            ing.encoding,
            units,
            notices,
            ing.decimals,
        )
    })
}

/// The bundled set when at least half of the distinct names with observations match it.
fn auto_choice(raw: &Ingested) -> Option<RegionSet> {
    let set = RegionSet::cn_provinces();
    let names = raw.panel.regions().unwrap();
    let matched = names.iter().filter(|n| set.classify(n).is_some()).count();
    (!names.is_empty() && 2 * matched >= names.len()).then_some(set)
}

/// Reference: `--regions auto` as it was — ingest without a set to decide, then ingest again
/// with the chosen set.
fn auto_by_two_ingests(bytes: &[u8], name: &str) -> Outcome {
    let raw = ingest(bytes, name, None).map_err(Box::new)?;
    outcome(match auto_choice(&raw) {
        Some(set) => ingest(bytes, name, Some(&set)),
        None => ingest(bytes, name, None),
    })
}

fn auto_in_one_pass(bytes: &[u8], name: &str) -> Outcome {
    let unmatched = ingest_unmatched(bytes, name).map_err(Box::new)?;
    outcome(match auto_choice(unmatched.ingested()) {
        Some(set) => unmatched.match_regions(&set, bytes, name),
        None => Ok(unmatched.into_ingested()),
    })
}

fn assert_same_outcome(bytes: &[u8], name: &str) {
    let (old, new) = (
        auto_by_two_ingests(bytes, name),
        auto_in_one_pass(bytes, name),
    );
    assert_equal_outcomes(&old, &new, name);
}

fn assert_equal_outcomes(old: &Outcome, new: &Outcome, name: &str) {
    match (old, new) {
        (Ok(a), Ok(b)) => {
            assert!(
                a.0.equals_missing(&b.0),
                "{name}: panels differ\n{}\n{}",
                a.0,
                b.0
            );
            assert_eq!(
                (a.1, a.2, &a.3, &a.4, &a.5),
                (b.1, b.2, &b.3, &b.4, &b.5),
                "{name}"
            );
        }
        _ => assert_eq!(old, new, "{name}"),
    }
}

/// `ingest` (the columnar pass where it applies) and the row walk agree, with and without a
/// region set; returns how many of the two reads took the columnar pass.
fn assert_columnar_matches_rows(bytes: &[u8], name: &str) -> usize {
    let set = RegionSet::cn_provinces();
    let mut columnar = 0;
    for regions in [None, Some(&set)] {
        let rows = outcome(ingest_by_rows(bytes, name, regions));
        assert_equal_outcomes(&rows, &outcome(ingest(bytes, name, regions)), name);
        if let Some(ing) = ingest_columnar(bytes, name, regions) {
            assert_equal_outcomes(&rows, &outcome(Ok(ing)), name);
            columnar += 1;
        }
    }
    columnar
}

/// Every table file under `dir`: CSV and spreadsheets (read as the CSV text of their first
/// sheet, so they take the same two passes).
fn table_files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            table_files_under(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| ["csv", "xls", "xlsx", "ods"].iter().any(|x| e == *x))
        {
            out.push(path);
        }
    }
}

#[test]
fn auto_regions_in_one_pass_match_two_ingests_on_every_fixture() {
    let mut files = Vec::new();
    table_files_under(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
        &mut files,
    );
    assert!(files.len() >= 30, "{files:?}");
    let mut with_codes = 0;
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy();
        assert_same_outcome(&bytes, &name);
        if let Ok(ing) = auto_in_one_pass(&bytes, &name) {
            with_codes += usize::from(
                ing.0
                    .column("region")
                    .unwrap()
                    .str()
                    .unwrap()
                    .iter()
                    .any(|r| r.is_some_and(|r| r.starts_with("CN-"))),
            );
        }
    }
    // The fixtures exercise both choices of the set.
    assert!(with_codes >= 3, "{with_codes}");
}

#[test]
fn auto_regions_in_one_pass_match_two_ingests_on_every_kind_of_name() {
    let long = |rows: &[&str]| format!("region,year,indicator,value\n{}\n", rows.join("\n"));
    let unknowns: Vec<String> = (0..25)
        .map(|k| format!("北京,20{k:02},gdp,1\nPlace{k},2000,gdp,1"))
        .collect();
    let unknowns: Vec<&str> = unknowns.iter().map(String::as_str).collect();
    let cases = [
        // every name a province: the codes are joined back
        long(&["北京,2020,gdp,1", "上海市,2020,gdp,2", "Guangdong,2020,gdp,", "北  京,2021,gdp,3"]),
        // two spellings of one province: a duplicate key only with the set
        long(&["北京,2020,gdp,1", "北京市,2020,gdp,2", "上海,2020,gdp,2"]),
        // two spellings, different keys: no duplicate
        long(&["北京,2020,gdp,1", "北京市,2021,gdp,2", "上海,2020,gdp,2"]),
        // aggregates are excluded with a notice, their units dropped
        "region,year,indicator,value,unit\n全国,2020,gdp,9,元\n北京,2020,gdp,1,亿元\n东部地区,2020,gdp,,元\n".to_owned(),
        // one unknown name among provinces: an error with a suggestion
        long(&["北京,2020,gdp,1", "上海,2020,gdp,2", "Bejing,2021,gdp,3"]),
        // more unknown names than the cap, mixed with provinces
        long(&unknowns),
        // mostly unknown: no set
        long(&["北京,2020,gdp,1", "Atlantis,2020,gdp,2", "Lemuria,2020,gdp,3"]),
        // a bad cell: the error of the pass without a set
        long(&["北京,2020,gdp,x", "Bejing,2020,gdp,1", "上海,2020,gdp,1"]),
        // a province whose rows are all missing, next to matched ones
        long(&["北京,2020,gdp,1", "上海,2020,gdp,2", "Bejing,2020,gdp,"]),
        // wide, with an aggregate row
        "地区,年份,gdp,pop\n北京,2020,1,2\n全国,2020,3,4\n天津,2020,,5\n".to_owned(),
        "数据库：分省年度数据\n指标：GDP(亿元)\n地区,2024年,2023年\n全国,5,6\n北京市,1,2\n天津市,3,\n".to_owned(),
    ];
    for (k, text) in cases.iter().enumerate() {
        assert_same_outcome(text.as_bytes(), &format!("case{k}.csv"));
    }
}

#[test]
fn columnar_pass_matches_the_row_walk_on_every_fixture() {
    let mut files = Vec::new();
    table_files_under(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
        &mut files,
    );
    let mut columnar = 0;
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        columnar +=
            assert_columnar_matches_rows(&bytes, &path.file_name().unwrap().to_string_lossy());
    }
    assert!(columnar >= 6, "{columnar}");
}

#[test]
fn columnar_pass_matches_the_row_walk_on_every_kind_of_table() {
    let long = "region,year,indicator,value\n";
    let mut big = String::from("地区,年份,指标,数值,单位,备注\r\n");
    for r in ["北京", "上海市", "Guangdong", "R1", " 天 津 "] {
        for y in 2000..2030 {
            for i in ["gdp", " pop ", "指标三"] {
                let v = match (y % 7, i) {
                    (0, _) => String::new(),
                    (1, "gdp") => "NA".to_owned(),
                    (2, _) => format!(" {y}.5e-3 "),
                    _ => format!("{}", y * 3),
                };
                big.push_str(&format!("{r},{y}年,{i},{v},元,x\r\n"));
            }
        }
    }
    let cases = [
        big,
        format!("{long}北京,2020,gdp,1\n\n上海,2021,gdp,2\n"),
        format!("{long}北京,2020,gdp,1\n,,,\n上海,2021,gdp,2\n"),
        format!("{long}北京,2020,gdp,1\n  \n"),
        format!("{long}北京,2020,gdp,1\n上海,2021,gdp\n"),
        format!("{long}北京,2020,gdp,1,,\n上海,2021,gdp,2\n"),
        format!("{long}北京,2020,gdp,1,x\n"),
        format!("{long}北京,2020,gdp,1\r上海,2021,gdp,2\r"),
        format!("{long}北京,2020,gdp,１２\n上海,2021,gdp,−3\n天津,2021,gdp,nan\n"),
        format!("{long}北京,2020,gdp,inf\n"),
        format!("{long}北京,2020,gdp,5522.950\n上海,2020,gdp,1.5E+03\n天津,2020,gdp,-.10\n"),
        format!("{long}北京,2020,gdp,1\n北京市,2020,gdp,2\n"),
        format!("{long}北京,2020,gdp,1\n北京,2020,gdp,\n"),
        format!("{long}全国,2020,gdp,1\n北京,2020,gdp,2\n"),
        format!("{long}北京,2020.0,gdp,1\n北京,2021,gdp,2"),
        format!("{long}北京,20,gdp,1\n"),
        format!("{long}北京,2020,,1\n"),
        format!("{long}北京,2020,{},1\n", "x".repeat(300)),
        "region,year,indicator,value,unit\nA,2020,g,1,元\nB,2020,g,2,万元\n".to_owned(),
        "region\tyear\tgdp\tpop\nCN-SH\t2020\t3\t\nCN-BJ\t2020\t-\t4\n".to_owned(),
        "region;year;gdp\nCN-SH;2020;3\n".to_owned(),
        "地区,年份,gdp,pop,indicator\n北京,2020,1,2,x\n天津,2020,,5,y\n".to_owned(),
        "地区,年份,gdp,gdp\n北京,2020,1,2\n".to_owned(),
        "地区,年份,gdp\n北京,2020,1\n北京,2020,2\n".to_owned(),
        "地区,年份,gdp\n北京,2020,\"1,234\"\n".to_owned(),
        "地区,2024年,2023年\n北京,1.5,2\n".to_owned(),
        "region,year,indicator,value\n".to_owned(),
        // Cells the one-scan number reading leaves to the grammar: signs, bare points, blanks
        // around a number, long exponents, full-width digits, missing tokens, overflow.
        format!("{long}北京,2020,gdp,+5\n上海,2020,gdp,5.\n天津,2020,gdp,.5\n重庆,2020,gdp, 7 \n"),
        format!("{long}北京,2020,gdp,1E+0005\n上海,2020,gdp,1e-400\n天津,2020,gdp,１２.５０\n"),
        format!("{long}北京,2020,gdp,—\n上海,2020,gdp,…\n天津,2020,gdp,N/A\n重庆,2020,gdp,-0\n"),
        format!("{long}北京,2020,gdp,1e400\n"),
        format!("{long}北京,2020,gdp,12%\n"),
        format!("{long}北京,2020,gdp,1e\n"),
        "地区\t年份\tgdp\n北京\t2020\t1,234\n".to_owned(),
        "地区,年份,gdp,pop\n北京,2020,+1.50,-2e3\n上海,2020,１,.25\n".to_owned(),
        // A duplicate between two rows without a value; between keys far apart (sorted, not
        // a bitmap); none among dense keys over many years.
        format!("{long}北京,2020,gdp,\n上海,2020,gdp,1\n北京,2020,gdp,NA\n"),
        format!("{long}A,1800,g,1\nB,2200,h,2\nA,1800,g,3\n"),
        format!("{long}A,1800,g,1\nB,2200,h,2\nA,2200,g,3\n"),
        // Line ends the long pass splits itself: blank `\r\n` lines, an empty last cell before
        // `\r\n`, a last line without a line end, a cell of blanks before `\r\n`.
        format!("{long}北京,2020,gdp,1\r\n\r\n上海,2020,gdp,\r\n\r\n天津,2020,gdp,3"),
        format!("{long}北京,2020,gdp, \r\n上海,2020,gdp,2\r\n"),
        format!("{long}北京,2020,gdp,1\r\n上海,2020,gdp,2,\r\n"),
        format!("{long}北京,2020,gdp,1\r\n上海,2020,gdp\r\n"),
        // Indicators that do not come in one order; names that differ only by blanks.
        format!("{long}A,2020,g,1\nA,2020,h,2\nA,2021,h,3\nA,2021,g,4\nB,2020,g,5\nB,2020,i,6\n"),
        format!("{long}A,2020,g,1\nA ,2020,h,2\nA,2020, h,3\n"),
        format!("{long}A,2020,g,1\nA,2020 ,h,2\nA, 2021,h,3\nA,2021年,g,4\n"),
        // Units: blank ones skipped, one unit per indicator kept, the first of two refused.
        "region,year,indicator,value,unit\nA,2020,g,1,\nA,2021,g,2, 元 \nB,2020,g,3,元\n"
            .to_owned(),
        "region,year,indicator,value,unit\nA,2020,g,1,元\nA,2020,h,,吨\nB,2020,h,2,万吨\n"
            .to_owned(),
        // Wide tables: rows out of order, missing cells and a row without values, a repeated
        // (region, year), bad cells, ragged rows, blank lines, CRLF, unnamed and ignored
        // columns, aggregates and unknown names, the same region in two spellings.
        "地区,年份,gdp,pop\n天津,2021,3,\n北京,2021,,-\n北京,2020,1.50,2e3\n天津,2020,NA,4\n"
            .to_owned(),
        "region,year,gdp,pop\nR2,2021,3,4\nR1,2020,1,2\nR2,2021,5,6\n".to_owned(),
        "region,year,gdp,pop\nR2,2021,3,4\nR1,2020,1,x\n".to_owned(),
        "region,year,gdp,pop\nR2,2021,3,4\nR1,2020,1\n".to_owned(),
        "region,year,gdp,pop\nR2,2021,3,4\nR1,2020,1,2,\n".to_owned(),
        "region,year,gdp,pop\r\nR2,2021,3,4\r\n\r\n\nR1,2020,1,2\r\n".to_owned(),
        "region,year,gdp,,pop,unit\nR2,2021,3,x,4,元\nR1,2020,1,,2,元\n".to_owned(),
        "地区,年份,gdp\n北京,2020,1\n全国,2020,2\n".to_owned(),
        "地区,年份,gdp\n北京,2020,1\nBejing,2020,2\n".to_owned(),
        "地区,年份,gdp\n北京,2020,1\n北京市,2020,2\n".to_owned(),
        "地区,年份,gdp\n北京,2020,1\n北京市,2021,2\n".to_owned(),
        "地区,年份,gdp\n北京,20x0,1\n".to_owned(),
        "地区,年份,gdp\n,2020,1\n".to_owned(),
        "地区,年份,gdp,pop\n北京,2020,,\n".to_owned(),
        "地区;年份;gdp;pop\n北京;2020;1.5E+03;-0\n上海;2019;１２;.5\n".to_owned(),
    ];
    let mut columnar = 0;
    for (k, text) in cases.iter().enumerate() {
        columnar += assert_columnar_matches_rows(text.as_bytes(), &format!("case{k}.csv"));
    }
    assert!(columnar >= 16, "{columnar}");
}

/// Each observation carries the decimal places its cell shows (docs/method.md §1.1), the same
/// in the columnar pass and the row walk: trailing zeros count (`5522.950` → 3), an exponent
/// moves the count (`1.23E+11` → −9), a quoted thousands separator does not count; a
/// spreadsheet's number cell has no written text here, so it counts in its shortest form.
#[test]
fn both_passes_carry_the_decimals_written_in_the_file() {
    let set = RegionSet::cn_provinces();
    let long = "region,year,indicator,value\n北京,2020,gdp,5522.950\n上海,2020,gdp,5522.95\n\
                天津,2020,gdp,1.23E+11\n重庆,2020,gdp,12\n河北,2020,gdp,\n山西,2020,gdp,-0.5e-2\n";
    let wide = "地区,年份,gdp,pop\n北京,2020,5522.950,7\n上海,2020,,2.50\n";
    for (text, expected) in [(long, vec![3, 2, -9, 0, 3]), (wide, vec![3, 0, 2])] {
        let rows = ingest_by_rows(text.as_bytes(), "t.csv", Some(&set)).unwrap();
        assert_eq!(rows.decimals, expected, "{text}");
        let columnar = ingest_columnar(text.as_bytes(), "t.csv", Some(&set)).unwrap();
        assert_eq!(columnar.decimals, expected, "{text}");
    }
    // Only the row walk reads quoted cells and NBS exports.
    let quoted = "地区,年份,gdp\n北京,2020,\"1,234.50\"\n";
    assert!(ingest_columnar(quoted.as_bytes(), "q.csv", Some(&set)).is_none());
    assert_eq!(
        ingest(quoted.as_bytes(), "q.csv", Some(&set))
            .unwrap()
            .decimals,
        vec![2]
    );
    let nbs =
        "数据库：分省年度数据\n指标：GDP(亿元)\n地区,2024年,2023年\n北京市,1.10,2\n天津市,,3.125\n";
    let ing = ingest(nbs.as_bytes(), "n.csv", Some(&set)).unwrap();
    assert_eq!(ing.decimals, vec![2, 0, 3]);
    // A spreadsheet: number cells in their shortest form, text cells as written.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, name) in ["地区", "年份", "gdp", "pop"].into_iter().enumerate() {
        sheet.write_string(0, c as u16, name).unwrap();
    }
    for (r, region) in [(1, "北京"), (2, "上海")] {
        sheet.write_string(r, 0, region).unwrap();
        sheet.write_number(r, 1, 2020).unwrap();
    }
    sheet.write_number(1, 2, 5522.950).unwrap();
    sheet.write_number(1, 3, 7).unwrap();
    sheet.write_string(2, 2, "5522.950").unwrap();
    sheet.write_number(2, 3, 2.5).unwrap();
    let book = book.save_to_buffer().unwrap();
    let ing = ingest(&book, "t.xlsx", Some(&set)).unwrap();
    assert_eq!(ing.encoding, Encoding::Spreadsheet);
    assert_eq!(ing.decimals, vec![2, 0, 3, 1]);
}

#[test]
#[ignore = "needs ../shared/data"]
fn one_pass_auto_regions_and_columnar_pass_match_on_every_real_file() {
    let mut files = Vec::new();
    table_files_under(&shared(""), &mut files);
    assert!(files.len() >= 50, "{}", files.len());
    let mut columnar = 0;
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy();
        assert_same_outcome(&bytes, &name);
        columnar += assert_columnar_matches_rows(&bytes, &name);
    }
    assert!(columnar >= 10, "{columnar}");
}

// ---- real files in ../shared/data (run with `cargo test --test it ingest -- --ignored`) ----

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(rel)
}

fn shared_files(dir: &str, prefix: &str) -> Vec<PathBuf> {
    let path = shared(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(".csv")
        })
        .collect();
    files.sort();
    files
}

fn ingest_shared(path: &Path) -> Ingested {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    ingest(&bytes, &name, Some(&RegionSet::cn_provinces())).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
#[ignore = "needs ../shared/data"]
fn every_real_nbs_export_ingests_with_31_regions() {
    let mut files = shared_files("cn-nbs-exports", "nbs_fsnd_");
    files.extend(shared_files("cn-nbs-population", ""));
    assert_eq!(files.len(), 9, "{files:?}");
    for path in &files {
        let ing = ingest_shared(path);
        let name = path.display();
        assert_eq!(ing.layout, Layout::NbsExport, "{name}");
        assert_eq!(ing.panel.regions().unwrap().len(), 31, "{name}");
        assert_eq!(ing.panel.indicators().unwrap().len(), 1, "{name}");
        assert_eq!(ing.units.len(), 1, "{name}");
        assert!(codes(&ing).contains(&"ingest.footnote"), "{name}");
        assert!(
            !codes(&ing).contains(&"ingest.aggregate_excluded"),
            "{name}"
        );
        let utf8 = path.to_string_lossy().ends_with(".utf8.csv");
        assert_eq!(
            ing.encoding,
            if utf8 {
                Encoding::Utf8
            } else {
                Encoding::Gb18030
            },
            "{name}"
        );
    }
}

#[test]
#[ignore = "needs ../shared/data"]
fn real_nbs_exports_spot_values() {
    let gdp = ingest_shared(&shared("cn-nbs-exports/nbs_fsnd_gdp.csv"));
    let ind = "地区生产总值";
    assert_eq!(gdp.units.get(ind).map(String::as_str), Some("亿元"));
    assert_eq!(gdp.panel.height(), 31 * 19);
    assert_eq!(
        gdp.panel.years().unwrap(),
        (2006..=2024).collect::<Vec<_>>()
    );
    assert_eq!(value(&gdp, "CN-BJ", 2024, ind), Some(49670.2));
    assert_eq!(value(&gdp, "CN-XJ", 2006, ind), Some(2984.5));
    assert_eq!(value(&gdp, "CN-NX", 2024, ind), Some(5520.2));

    let sample = ingest_shared(&shared(
        "cn-nbs-exports/nbs_fsnd_population_sample_survey.csv",
    ));
    let ind = "人口数(人口抽样调查)";
    assert_eq!(sample.units.get(ind).map(String::as_str), Some("人"));
    assert_eq!(sample.panel.height(), 620 - 93);
    assert_eq!(value(&sample, "CN-BJ", 2024, ind), Some(22470.0));
    assert_eq!(value(&sample, "CN-BJ", 2015, ind), Some(335775.0));
    assert_eq!(value(&sample, "CN-BJ", 2020, ind), None);
    let footnotes = sample
        .notices
        .iter()
        .filter(|n| n.code == "ingest.footnote")
        .count();
    assert_eq!(footnotes, 3);

    let growth = ingest_shared(&shared("cn-nbs-exports/nbs_fsnd_fai_funds_growth.csv"));
    let ind = "固定资产投资(不含农户)实际到位资金_比上年增长";
    assert_eq!(growth.units.get(ind).map(String::as_str), Some("%"));
    assert_eq!(growth.panel.height(), 620 - 403);
    assert_eq!(value(&growth, "CN-BJ", 2024, ind), Some(-4.7));

    for file in [
        "nbs_fsnd_resident_population_2015_2024.gbk.csv",
        "nbs_fsnd_resident_population_2015_2024.utf8.csv",
    ] {
        let pop = ingest_shared(&shared(&format!("cn-nbs-population/{file}")));
        assert_eq!(pop.panel.height(), 310, "{file}");
        assert_eq!(
            pop.panel.years().unwrap(),
            (2015..=2024).collect::<Vec<_>>()
        );
        assert_eq!(value(&pop, "CN-BJ", 2024, "年末常住人口"), Some(2183.0));
        assert_eq!(value(&pop, "CN-XJ", 2015, "年末常住人口"), Some(2385.0));
    }
}

#[test]
#[ignore = "needs ../shared/data"]
fn real_merged_panel_is_wide_with_chinese_key_columns() {
    let ing = ingest_shared(&shared("cn-nbs-exports/renjiyi_panel_merged_2005_2024.csv"));
    assert_eq!(
        (ing.layout, ing.encoding),
        (Layout::Wide, Encoding::Utf8Bom)
    );
    assert_eq!(ing.panel.regions().unwrap().len(), 31);
    assert_eq!(
        ing.panel.years().unwrap(),
        (2005..=2024).collect::<Vec<_>>()
    );
    assert_eq!(ing.panel.indicators().unwrap().len(), 21);
    assert_eq!(value(&ing, "CN-SH", 2005, "GDP_当年价_亿元"), Some(9247.66));
    assert_eq!(value(&ing, "CN-SH", 2006, "总人口数_人"), Some(16525.0));
    assert_eq!(value(&ing, "CN-SH", 2005, "GDP_亿元"), None);
    // The complete columns have all 620 region-years.
    let frame = ing.panel.frame().clone().lazy();
    let complete = frame
        .filter(col("indicator").eq(lit("城镇化率_%")))
        .collect()
        .unwrap()
        .height();
    assert_eq!(complete, 620);
}

#[test]
#[ignore = "needs ../shared/data"]
fn every_province_spelling_in_the_st_yearbook_resolves() {
    let set = RegionSet::cn_provinces();
    let files = shared_files("cn-st-yearbook", "techme_");
    assert_eq!(files.len(), 16, "{files:?}");
    let mut spellings = std::collections::BTreeSet::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let Some(at) = header.iter().position(|h| *h == "province") else {
            continue;
        };
        for line in lines {
            if let Some(name) = line.split(',').nth(at) {
                spellings.insert(name.to_owned());
            }
        }
    }
    // 31 provinces + 全国, clean and with inner spaces, plus 7 OCR misspellings and 尔部地区.
    assert_eq!(spellings.len(), 72, "{spellings:?}");
    let mut matched = std::collections::BTreeSet::new();
    for name in &spellings {
        match set.resolve(name) {
            RegionMatch::Matched(code) => {
                matched.insert(code.to_string());
            }
            RegionMatch::Aggregate => {
                assert!(
                    ["全国", "全   国", "尔部地区"].contains(&name.as_str()),
                    "{name}"
                );
            }
            RegionMatch::Unknown { suggestion } => {
                panic!("'{name}' unknown (suggestion {suggestion:?})")
            }
        }
    }
    assert_eq!(matched.len(), 31);
    for (ocr, code) in [
        ("内蒙占", "CN-NM"),
        ("江两", "CN-JX"),
        ("两藏", "CN-XZ"),
        ("山两", "CN-SX"),
        ("四藏", "CN-XZ"),
        ("江四", "CN-JX"),
        ("浙汀", "CN-ZJ"),
    ] {
        assert!(spellings.contains(ocr), "{ocr} is in the data");
        assert_eq!(
            set.resolve(ocr),
            RegionMatch::Matched(nqp::types::RegionCode::new(code).unwrap())
        );
    }
}

#[test]
#[ignore = "needs ../shared/data"]
fn every_real_st_yearbook_table_ingests() {
    let mut tables = 0;
    for path in shared_files("cn-st-yearbook", "techme_") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // The region list and the data dictionary are not panels.
        if name.contains("BasicProvince") || name.contains("varsList") {
            continue;
        }
        tables += 1;
        let ing = ingest_shared(&path);
        assert_eq!(ing.panel.regions().unwrap().len(), 31, "{name}");
        let want = if name.contains("HitechFirmsPub") {
            Layout::Wide
        } else {
            Layout::Long
        };
        assert_eq!((ing.layout, ing.encoding), (want, Encoding::Utf8), "{name}");
    }
    assert_eq!(tables, 14);

    let valid = ingest_shared(&shared("cn-st-yearbook/techme_RDPatentValid.csv"));
    let excluded: Vec<&str> = valid
        .notices
        .iter()
        .filter(|n| n.code == "ingest.aggregate_excluded")
        .map(|n| n.message.as_str())
        .collect();
    assert_eq!(
        excluded,
        vec![
            "'全国' is an aggregate, not a region: 56 row(s) excluded",
            "'尔部地区' is an aggregate, not a region: 4 row(s) excluded",
        ]
    );
    // 31 provinces × 14 years × 4 items.
    assert_eq!(valid.panel.height(), 1736);

    let firms = ingest_shared(&shared("cn-st-yearbook/techme_HitechFirmsPub.csv"));
    assert_eq!(firms.panel.indicators().unwrap(), vec!["num"]);
    assert_eq!(value(&firms, "CN-BJ", 2024, "num"), Some(10226.0));

    let rd = ingest_shared(&shared("cn-st-yearbook/techme_IndustryRD.csv"));
    assert!(codes(&rd).contains(&"ingest.unit_conflict"));
}

/// The panel and units that `tests/fixtures/thesis/make_thesis.py` wrote beside the fixtures.
type Observation = (String, i32, String, f64);

fn thesis_expected() -> (Vec<Observation>, std::collections::BTreeMap<String, String>) {
    let text = String::from_utf8(fixture("thesis/expected.csv")).unwrap();
    let mut rows = Vec::new();
    let mut units = std::collections::BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        rows.push((
            f[0].to_owned(),
            f[1].parse().unwrap(),
            f[2].to_owned(),
            f[3].parse().unwrap(),
        ));
        units.insert(f[2].to_owned(), f[4].to_owned());
    }
    rows.sort_by(|a, b| (&a.0, a.1, &a.2).cmp(&(&b.0, b.1, &b.2)));
    (rows, units)
}

#[test]
fn thesis_shape_reads_the_same_from_xls_xlsx_and_csv() {
    // A title line, `序号,,,2019,2020年,2021`: no header on the indicator and region columns,
    // indicator names only on the first row of each block with footnote marks and units.
    let (expected, units) = thesis_expected();
    assert_eq!(expected.len(), 29);
    let set = RegionSet::cn_provinces();
    for (file, encoding) in [
        ("thesis.xls", Encoding::Spreadsheet),
        ("thesis.xlsx", Encoding::Spreadsheet),
        ("thesis_utf8.csv", Encoding::Utf8),
        ("thesis_gbk.csv", Encoding::Gb18030),
    ] {
        let bytes = fixture(&format!("thesis/{file}"));
        for regions in [Some(&set), None] {
            let ing = match regions {
                Some(set) => ingest(&bytes, file, Some(set)),
                None => ingest_unmatched(&bytes, file)
                    .unwrap_or_else(|e| panic!("{file}: {e}"))
                    .match_regions(&set, &bytes, file),
            }
            .unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(
                (ing.layout, ing.encoding),
                (Layout::Blocks, encoding),
                "{file}"
            );
            assert_eq!(rows(&ing), expected, "{file}");
            assert_eq!(ing.units, units, "{file}");
            let notice = |code: &str| {
                ing.notices
                    .iter()
                    .find(|n| n.code == code)
                    .unwrap_or_else(|| panic!("{file}: no {code} in {:?}", ing.notices))
            };
            assert_eq!(
                notice("ingest.preamble_skipped")
                    .position
                    .as_ref()
                    .unwrap()
                    .line,
                Some(1)
            );
            assert_eq!(
                notice("ingest.footnote").position.as_ref().unwrap().line,
                Some(13)
            );
            assert!(
                notice("ingest.missing_values").message.starts_with("1 "),
                "{file}"
            );
            assert!(
                notice("ingest.ignored_columns")
                    .message
                    .contains("A ('序号', 10 values)"),
                "{file}: {:?}",
                ing.notices
            );
        }
    }
}

#[test]
fn a_header_with_indicator_but_no_region_column_is_read_by_content() {
    // The header names 指标 but not the region column, which is not the first column.
    let text = "指标,,2019年,2020年\n地区生产总值(亿元),北京,1.5,2\n,天津,3,4\n人口(万人),北京,10,11\n,天津,12,\n";
    let ing = ingest(text.as_bytes(), "t.csv", Some(&RegionSet::cn_provinces())).unwrap();
    assert_eq!(ing.layout, Layout::Blocks);
    assert_eq!(value(&ing, "CN-TJ", 2020, "地区生产总值"), Some(4.0));
    assert_eq!(value(&ing, "CN-BJ", 2019, "人口"), Some(10.0));
    assert_eq!(value(&ing, "CN-TJ", 2020, "人口"), None);
    assert_eq!(rows(&ing).len(), 7);
    assert_eq!(ing.units.get("人口").map(String::as_str), Some("万人"));
}

/// Region names and GB/T 2260 codes side by side: two candidate region columns.
const TWO_REGION_COLUMNS: &str = "序号,,,代码,2019,2020\n1,地区生产总值（亿元）i,北京,110000,1.5,2\n2,,天津,120000,3,4\n3,,河北,130000,5,6\n";

#[test]
fn ambiguous_columns_are_named_with_the_hint_that_settles_them() {
    let set = RegionSet::cn_provinces();
    let err = ingest(TWO_REGION_COLUMNS.as_bytes(), "two.csv", Some(&set)).unwrap_err();
    assert_eq!(err.code(), "ingest.ambiguous_layout");
    let pos = err.position().unwrap();
    assert_eq!(
        (pos.file.as_str(), pos.line, pos.column),
        ("two.csv", Some(1), Some(3))
    );
    assert_eq!(
        err.to_string(),
        "two.csv:1:3: cannot tell which column holds the region names: columns C (3 of 3 values \
         are region names) and D ('代码', 3 of 3 values are region names) are candidates; name \
         the columns with a layout hint, e.g. `--layout region=C,years=E:F` (on the upload \
         page: the layout field)"
    );
    // The hint settles it; the codes column is then reported as not read.
    let hint: nqp::ingest::LayoutHint = "region=C,years=E:F".parse().unwrap();
    let ing = nqp::ingest::ingest_with(
        TWO_REGION_COLUMNS.as_bytes(),
        "two.csv",
        Some(&set),
        Some(&hint),
    )
    .unwrap();
    assert_eq!(ing.layout, Layout::Blocks);
    assert_eq!(rows(&ing).len(), 6);
    assert_eq!(value(&ing, "CN-HE", 2020, "地区生产总值"), Some(6.0));
    assert_eq!(
        ing.units.get("地区生产总值").map(String::as_str),
        Some("亿元")
    );
    assert!(
        ing.notices
            .iter()
            .any(|n| n.code == "ingest.ignored_columns"
                && n.message.contains("D ('代码', 3 values)"))
    );
    // Naming the codes column reads the same panel.
    let by_codes: nqp::ingest::LayoutHint = "region=D,indicator=B".parse().unwrap();
    let same = nqp::ingest::ingest_with(
        TWO_REGION_COLUMNS.as_bytes(),
        "two.csv",
        Some(&set),
        Some(&by_codes),
    )
    .unwrap();
    assert_eq!(rows(&same), rows(&ing));

    // Two text columns that both repeat: the indicator column is ambiguous.
    let two_text = "序号,,,,2019\n1,GDP,亿元,北京,1\n2,GDP,亿元,天津,2\n";
    let err = ingest(two_text.as_bytes(), "t.csv", Some(&set)).unwrap_err();
    assert_eq!(err.code(), "ingest.ambiguous_layout");
    assert!(
        err.to_string().contains("the indicator names: columns B (1 distinct names) and C (1 distinct names) are candidates")
            && err.to_string().contains("--layout region=D,indicator=B,years=E:E"),
        "{err}"
    );
    let hint: nqp::ingest::LayoutHint = "region=D,indicator=B,unit=C".parse().unwrap();
    let ing =
        nqp::ingest::ingest_with(two_text.as_bytes(), "t.csv", Some(&set), Some(&hint)).unwrap();
    assert_eq!(value(&ing, "CN-TJ", 2019, "GDP"), Some(2.0));
    assert_eq!(ing.units.get("GDP").map(String::as_str), Some("亿元"));
}

#[test]
fn a_hint_naming_a_missing_column_is_an_error_at_that_column() {
    let set = RegionSet::cn_provinces();
    let read = |hint: &str| {
        let hint: nqp::ingest::LayoutHint = hint.parse().unwrap();
        nqp::ingest::ingest_with(
            TWO_REGION_COLUMNS.as_bytes(),
            "two.csv",
            Some(&set),
            Some(&hint),
        )
        .unwrap_err()
    };
    let err = read("region=H");
    assert_eq!(err.code(), "ingest.layout_hint");
    assert_eq!(err.position().unwrap().column, Some(8));
    assert_eq!(
        err.to_string(),
        "two.csv:1:8: the layout hint does not fit the file: region=H: the file has no values in column H (its columns run A–F)"
    );
    let err = read("region=C,years=D:F");
    assert_eq!(err.code(), "ingest.layout_hint");
    assert!(
        err.to_string()
            .contains("column D of the header row is '代码', not a year"),
        "{err}"
    );
    let err = read("region=C,years=G:H");
    assert_eq!(err.code(), "ingest.layout_hint");
    assert!(
        err.to_string()
            .contains("no row of the first 20 has a year (2019, 2019年) in columns G:H"),
        "{err}"
    );
    let err = read("region=C,indicator=G");
    assert!(
        err.to_string()
            .contains("indicator=G: the file has no values in column G"),
        "{err}"
    );
}
