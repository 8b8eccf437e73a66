//! Property tests at scale over everything that parses user bytes: ingest (CSV bytes,
//! NBS-export-shaped text, spreadsheet bytes including mutated valid workbooks) and the formula
//! parser. The property: no input panics; every input ends in `Ok` or a typed error with a
//! declared code and a position in the user's file. Formulas also round-trip through their
//! canonical text.
//!
//! The normal run uses a small fixed budget ([`QUICK`] cases per target); the `#[ignore]`d
//! `*_at_scale` tests run [`AT_SCALE`] cases, or `NQP_FUZZ_CASES` (see `SECURITY.md`, "Fuzzing").
//! Seeds are random per run; a failure prints the minimal input, which becomes a regression
//! test here.

use std::io::{Cursor, Read, Write};
use std::sync::OnceLock;

use nqp::framework::{Formula, MAX_FORMULA_LEN};
use nqp::ingest::{ERROR_CODES, RegionSet, ingest};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::helpers::fixture;

const QUICK: u32 = 64;
const AT_SCALE: u32 = 20_000;

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn scale() -> u32 {
    std::env::var("NQP_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(AT_SCALE)
}

/// Ingest must answer every input with a panel or typed, positioned errors.
fn ingest_is_total(bytes: &[u8], name: &str) -> Result<(), TestCaseError> {
    static REGIONS: OnceLock<RegionSet> = OnceLock::new();
    let regions = REGIONS.get_or_init(RegionSet::cn_provinces);
    for set in [Some(regions), None] {
        match ingest(bytes, name, set) {
            Ok(ing) => {
                let frame = ing.panel.frame();
                let values = frame.column("value").unwrap().f64().unwrap();
                prop_assert!(values.iter().flatten().all(f64::is_finite));
            }
            Err(err) => {
                for e in err.errors() {
                    prop_assert!(ERROR_CODES.contains(&e.code()), "undeclared {}", e.code());
                    if let Some(pos) = e.position() {
                        prop_assert_eq!(&pos.file, name);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Formulas parse or fail with a column inside the text (or just past it), and a parsed formula
/// prints as text that parses back to the same tree.
fn formula_is_total(source: &str) -> Result<(), TestCaseError> {
    match Formula::parse(source) {
        Ok(formula) => {
            let text = formula.expr().to_string();
            if text.len() <= MAX_FORMULA_LEN {
                let again = Formula::parse(&text)
                    .map_err(|e| TestCaseError::fail(format!("'{text}' does not parse: {e}")))?;
                prop_assert_eq!(again.expr(), formula.expr());
            }
        }
        Err(e) => {
            prop_assert!(e.column >= 1 && e.column <= source.chars().count() + 1);
            prop_assert!(!e.message.is_empty());
        }
    }
    Ok(())
}

/// CSV-ish text: the delimiters, quotes, line ends and words that steer the parsers.
fn csv_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just(",".to_owned()),
        Just(";".to_owned()),
        Just("\t".to_owned()),
        Just("\"".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\r".to_owned()),
        Just("region".to_owned()),
        Just("year".to_owned()),
        Just("indicator".to_owned()),
        Just("value".to_owned()),
        Just("地区".to_owned()),
        Just("2020".to_owned()),
        Just("2021年".to_owned()),
        Just("北京".to_owned()),
        Just("全国".to_owned()),
        Just("CN-SH".to_owned()),
        Just("NA".to_owned()),
        Just("\u{FEFF}".to_owned()),
        "[a-z0-9 .\\-]{0,6}",
        "-?[0-9]{1,4}(\\.[0-9]{1,3})?",
    ];
    proptest::collection::vec(token, 0..120).prop_map(|t| t.concat())
}

/// Text shaped like a data.stats.gov.cn export (titles, a region × year table, footnotes),
/// as UTF-8 or GBK.
fn nbs_export() -> impl Strategy<Value = Vec<u8>> {
    let title = prop_oneof![
        Just("数据库：分省年度数据".to_owned()),
        Just("指标：地区生产总值(亿元)".to_owned()),
        Just("时间：最近5年".to_owned()),
        Just("指标：".to_owned()),
        "指标：[a-z地区()]{0,8}",
    ];
    let year = prop_oneof![
        Just("2024年".to_owned()),
        Just("2023".to_owned()),
        "[0-9]{1,5}年?"
    ];
    let region = prop_oneof![
        Just("北京市".to_owned()),
        Just("上海".to_owned()),
        Just("全国".to_owned()),
        Just("东部地区".to_owned()),
        Just("内蒙占".to_owned()),
        "[a-z北京天津]{0,5}",
    ];
    let value = prop_oneof![
        Just(String::new()),
        Just("NA".to_owned()),
        Just("\"1,234.5\"".to_owned()),
        Just("1,2".to_owned()),
        "-?[0-9]{1,6}(\\.[0-9]{1,2})?",
        "[a-z]{1,3}",
    ];
    let row = (region, proptest::collection::vec(value, 0..6))
        .prop_map(|(r, vs)| std::iter::once(r).chain(vs).collect::<Vec<_>>().join(","));
    let footnote = prop_oneof![
        Just("注：样本数据。".to_owned()),
        Just("数据来源：国家统计局".to_owned()),
        Just(String::new()),
    ];
    (
        proptest::collection::vec(title, 0..4),
        proptest::collection::vec(year, 0..6),
        proptest::collection::vec(row, 0..12),
        proptest::collection::vec(footnote, 0..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(titles, years, rows, notes, crlf, gbk)| {
            let header = std::iter::once("地区".to_owned())
                .chain(years)
                .collect::<Vec<_>>();
            let lines: Vec<String> = titles
                .into_iter()
                .chain(std::iter::once(header.join(",")))
                .chain(rows)
                .chain(notes)
                .collect();
            let text = lines.join(if crlf { "\r\n" } else { "\n" });
            if gbk {
                encoding_rs::GB18030.encode(&text).0.into_owned()
            } else {
                text.into_bytes()
            }
        })
}

/// The parts of a valid workbook, so that mutations can be re-zipped with valid checksums.
fn parts(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let name = entry.name().unwrap().into_owned();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            (name, data)
        })
        .collect()
}

fn zip_parts(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in parts {
        out.start_file(name.as_str(), options).unwrap();
        out.write_all(data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// A valid xlsx holding a small long table (numbers, text, a far cell).
fn valid_xlsx() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        crate::helpers::xlsx(&[
            &["region", "year", "indicator", "value"],
            &["北京", "2020", "gdp", "1.5"],
            &["CN-SH", "2021", "gdp", "2"],
        ])
    })
}

/// One edit of a byte string: overwrite, insert, delete or truncate at a position.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (
            any::<usize>(),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 1..8),
                Just(b"99999999".to_vec()),
                Just(b"XFD1048576".to_vec()),
                Just(b" table:number-columns-repeated=\"16384\"".to_vec()),
                Just(b"<c r=\"A1\"><v>1</v></c>".to_vec()),
            ]
        )
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Edit::Delete(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ];
    proptest::collection::vec(edit, 1..6)
}

fn apply(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for edit in edits {
        if bytes.is_empty() {
            return;
        }
        let at = |i: usize| i % bytes.len();
        match edit {
            Edit::Set(i, b) => {
                let i = at(*i);
                bytes[i] = *b;
            }
            Edit::Insert(i, b) => {
                let i = at(*i);
                bytes.splice(i..i, b.iter().copied());
            }
            Edit::Delete(i, n) => {
                let i = at(*i);
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
            Edit::Truncate(i) => {
                let i = at(*i);
                bytes.truncate(i);
            }
        }
    }
}

/// A valid workbook (xlsx, the xls fixture) mutated either as raw bytes or part by part (the
/// XML inside edited, then re-zipped so checksums hold and the parsers see the edits).
fn mutated_workbook() -> impl Strategy<Value = (Vec<u8>, &'static str)> {
    (0usize..3, any::<usize>(), edits()).prop_map(|(kind, part, edits)| match kind {
        0 => {
            let mut bytes = valid_xlsx().to_vec();
            apply(&mut bytes, &edits);
            (bytes, "book.xlsx")
        }
        1 => {
            let mut parts = parts(valid_xlsx());
            let i = part % parts.len();
            apply(&mut parts[i].1, &edits);
            (zip_parts(&parts), "book.xlsx")
        }
        _ => {
            let mut bytes = std::fs::read(fixture("limits/small.xls")).unwrap();
            apply(&mut bytes, &edits);
            (bytes, "book.xls")
        }
    })
}

/// Formula text: the grammar's characters, numbers with exponents, the typographic minus and
/// a few characters it refuses.
fn formula_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        "[a-z][a-z0-9_]{0,4}",
        "[0-9]{1,3}(\\.[0-9]{0,2})?([eE][+-]?[0-9]{0,3})?",
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("+".to_owned()),
        Just("-".to_owned()),
        Just("\u{2212}".to_owned()),
        Just("*".to_owned()),
        Just("/".to_owned()),
        Just(" ".to_owned()),
        Just(".".to_owned()),
        "[A-Z_%地]",
    ];
    proptest::collection::vec(token, 0..60).prop_map(|t| t.concat())
}

fn run_ingest(cases: u32) {
    let mut r = runner(cases);
    r.run(&proptest::collection::vec(any::<u8>(), 0..600), |bytes| {
        ingest_is_total(&bytes, "bytes.csv")
    })
    .unwrap();
    r.run(&csv_text(), |text| {
        ingest_is_total(text.as_bytes(), "text.csv")
    })
    .unwrap();
    r.run(&nbs_export(), |bytes| ingest_is_total(&bytes, "nbs.csv"))
        .unwrap();
    r.run(&mutated_workbook(), |(bytes, name)| {
        ingest_is_total(&bytes, name)
    })
    .unwrap();
}

fn run_formula(cases: u32) {
    let mut r = runner(cases);
    r.run(&formula_text(), |s| formula_is_total(&s)).unwrap();
    r.run(&any::<String>(), |s| formula_is_total(&s)).unwrap();
}

#[test]
fn ingest_answers_every_input() {
    run_ingest(QUICK);
}

#[test]
fn the_formula_parser_answers_every_input() {
    run_formula(QUICK * 4);
}

#[test]
#[ignore = "large budget: cargo test --test it fuzz:: -- --ignored (NQP_FUZZ_CASES=N to change it)"]
fn ingest_answers_every_input_at_scale() {
    run_ingest(scale());
}

#[test]
#[ignore = "large budget: cargo test --test it fuzz:: -- --ignored (NQP_FUZZ_CASES=N to change it)"]
fn the_formula_parser_answers_every_input_at_scale() {
    run_formula(scale());
}

/// Regressions found by the targets above.
#[test]
fn formula_numbers_beyond_f64_are_errors() {
    // `1e999` parsed to infinity, which prints as `inf`, an identifier.
    let err = Formula::parse("a * 1e999").unwrap_err();
    assert_eq!(err.column, 5);
    assert!(err.message.contains("too large"), "{}", err.message);
    formula_is_total("a * 1e999").unwrap();
}
