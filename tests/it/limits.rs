//! Input limits: spreadsheet bombs, formula nesting, name lengths, unknown names and columns.
//!
//! The bombs run the built `nqp check FILE` in a subprocess whose address space is capped
//! (`ulimit -v`), so that a regression fails the test with an allocation error instead of
//! exhausting the machine; the other limits run in-process (they cost time, not memory).

use std::io::{Cursor, Write};
use std::path::Path;
use std::process::Output;

use nqp::ingest::{MAX_COLUMNS, MAX_NAME_CHARS, MAX_UNKNOWN_NAMES, RegionSet, ingest};

use crate::helpers::fixture;

/// Address space of a capped `nqp check`: the debug binary checking a small file reserves
/// ~100 MB; every bomb below asks for gigabytes.
const MEMORY_CAP_KB: u64 = 1024 * 1024;

/// `nqp check <file>` (plus `args`) with the address space capped at [`MEMORY_CAP_KB`].
fn check_capped(file: &Path, args: &[&str]) -> Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {MEMORY_CAP_KB} && exec \"$0\" check \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_nqp"))
        .arg(file)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("sh runs")
}

/// The run ended by itself with a failure whose message contains every part of `expected`.
fn assert_refused(run: &Output, expected: &[&str]) {
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        matches!(run.status.code(), Some(code) if code != 0),
        "refused with an error, not killed by a signal ({:?}): {stderr}",
        run.status
    );
    for part in expected {
        assert!(stderr.contains(part), "'{part}' in: {stderr}");
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A zip container with the given (name, bytes) entries.
fn zip_of(entries: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in entries {
        out.start_file(*name, options).unwrap();
        out.write_all(bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// An .ods whose first table holds `rows` (`table:table-row` elements).
fn ods(rows: &str) -> Vec<u8> {
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Bomb">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    zip_of(
        &[
            ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
            ("content.xml", content.as_bytes()),
            (
                "META-INF/manifest.xml",
                br#"<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#,
            ),
        ],
        zip::CompressionMethod::Deflated,
    )
}

#[test]
fn a_small_valid_spreadsheet_passes_under_the_memory_cap() {
    // The control: the cap leaves room for real work, so the refusals below are the limits'.
    let run = check_capped(&fixture("limits/small.xls"), &["--regions", "none"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("spreadsheet") && out.contains("long"), "{out}");
}

#[test]
fn xlsx_with_cells_at_a1_and_xfd1048576_is_refused() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_number(0, 0, 1.0).unwrap();
    sheet.write_number(1_048_575, 16_383, 2.0).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    assert!(bytes.len() < 8_000, "a tiny file: {} bytes", bytes.len());
    let dir = tempfile::tempdir().unwrap();
    let run = check_capped(&write(dir.path(), "corner.xlsx", &bytes), &[]);
    assert_refused(
        &run,
        &[
            "corner.xlsx",
            "sheet 'Sheet1' spans 1048576 rows × 16384 columns = 17179869184 cells",
            "the limit is 5000000 cells",
        ],
    );
}

#[test]
fn ods_with_huge_repeated_columns_is_refused() {
    // 400 rows, each one number repeated across all 16,384 columns: ~40 KB of XML that calamine
    // would expand to 6.5 M stored cells.
    let row = r#"<table:table-row><table:table-cell table:number-columns-repeated="16384" office:value-type="float" office:value="1"/></table:table-row>"#;
    let bytes = ods(&row.repeat(400));
    let dir = tempfile::tempdir().unwrap();
    let run = check_capped(&write(dir.path(), "columns.ods", &bytes), &[]);
    assert_refused(
        &run,
        &[
            "columns.ods",
            "sheet 'Bomb' holds more than 5000000 cells once repeated cells are expanded",
        ],
    );
}

#[test]
fn ods_with_huge_repeated_rows_is_refused() {
    // One row of 16,384 numbers repeated to the end of the sheet: 16 K stored cells, but a
    // block of 17 billion.
    let rows = concat!(
        r#"<table:table-row table:number-rows-repeated="1048575"><table:table-cell table:number-columns-repeated="16384" office:value-type="float" office:value="1"/></table:table-row>"#,
        r#"<table:table-row><table:table-cell office:value-type="float" office:value="2"/></table:table-row>"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let run = check_capped(&write(dir.path(), "rows.ods", &ods(rows)), &[]);
    assert_refused(
        &run,
        &[
            "rows.ods",
            "sheet 'Bomb' spans 1048576 rows × 16384 columns",
        ],
    );
}

#[test]
fn dense_xlsx_over_the_cell_limit_is_refused() {
    // 5,000,100 numbers without compression (so that the inflation ratio is 1:1 and the cell
    // count is what refuses it): the sheet of a small xlsx replaced by a dense one.
    let mut book = rust_xlsxwriter::Workbook::new();
    book.add_worksheet().write_number(0, 0, 1.0).unwrap();
    let small = book.save_to_buffer().unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(small)).unwrap();
    let (columns, rows) = (100, 50_001);
    let mut sheet = String::with_capacity(columns * rows * 16 + 256);
    sheet.push_str(r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#);
    for _ in 0..rows {
        sheet.push_str("<row>");
        for _ in 0..columns {
            sheet.push_str("<c><v>1</v></c>");
        }
        sheet.push_str("</row>");
    }
    sheet.push_str("</sheetData></worksheet>");
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        if name == "xl/worksheets/sheet1.xml" {
            bytes = sheet.clone().into_bytes();
        }
        entries.push((name, bytes));
    }
    let entries: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let bytes = zip_of(&entries, zip::CompressionMethod::Stored);
    let dir = tempfile::tempdir().unwrap();
    let run = check_capped(&write(dir.path(), "dense.xlsx", &bytes), &[]);
    assert_refused(
        &run,
        &[
            "dense.xlsx",
            "sheet 'Sheet1' holds more than 5000000 cells; the limit is 5000000 cells",
        ],
    );
}

#[test]
fn xls_bombs_are_refused() {
    // tests/fixtures/limits/make_xls.py: a number at IV65536, and a DIMENSIONS record claiming
    // 4 billion rows (calamine reserves what it claims).
    let run = check_capped(&fixture("limits/corner.xls"), &[]);
    assert_refused(
        &run,
        &[
            "corner.xls",
            "sheet '#1' spans 65536 rows × 256 columns = 16777216 cells",
            "the limit is 5000000 cells",
        ],
    );
    let run = check_capped(&fixture("limits/dimensions.xls"), &[]);
    assert_refused(
        &run,
        &[
            "dimensions.xls",
            "sheet '#1' spans 4000000000 rows × 4 columns",
        ],
    );
}

/// The web fixture framework with `formula` on its first indicator (`talent`).
fn framework_with(formula: &str) -> String {
    let text = std::fs::read_to_string(fixture("web/framework.toml")).unwrap();
    let anchor = "direction = \"+\"\n";
    assert!(text.contains(anchor));
    text.replacen(anchor, &format!("{anchor}formula = \"{formula}\"\n"), 1)
}

#[test]
fn a_formula_nested_5000_deep_is_an_error_not_a_crash() {
    let nested = |depth: usize| format!("{}a{}", "(".repeat(depth), ")".repeat(depth));
    let dir = tempfile::tempdir().unwrap();
    // The ~10 KB formula that overflowed the stack is over the length limit; 2,000 levels fit
    // in 4 KB and are refused by depth.
    for (depth, expected) in [
        (
            5_000,
            "formula of 'talent', column 4097: the formula is 10001 bytes long; the limit is 4096",
        ),
        (
            2_000,
            "formula of 'talent', column 65: parentheses and minus signs are nested more than 64 deep",
        ),
    ] {
        let path = write(
            dir.path(),
            &format!("bomb{depth}.toml"),
            framework_with(&nested(depth)).as_bytes(),
        );
        let run = check_capped(
            &fixture("limits/small.xls"),
            &["--regions", "none", "--framework", path.to_str().unwrap()],
        );
        assert_refused(&run, &[&format!("bomb{depth}.toml:"), expected]);
    }
}

fn long_file(rows: impl IntoIterator<Item = String>) -> Vec<u8> {
    let mut text = String::from("region,year,indicator,value\n");
    for row in rows {
        text.push_str(&row);
        text.push('\n');
    }
    text.into_bytes()
}

#[test]
fn a_10_mb_region_name_is_refused_by_its_length() {
    // 10 MiB of UTF-8: a 3-byte character repeated.
    let chars = (10 << 20) / 3;
    let name = "北".repeat(chars);
    let bytes = long_file([format!("{name},2020,gdp,1"), "北京,2020,gdp,2".into()]);
    for regions in [None, Some(&RegionSet::cn_provinces())] {
        let err = ingest(&bytes, "big.csv", regions).unwrap_err();
        assert_eq!(err.code(), "ingest.too_large", "{err}");
        let pos = err.position().unwrap();
        assert_eq!((pos.line, pos.column), (Some(2), Some(1)));
        assert!(
            err.to_string().contains(&format!(
                "a region name of {} characters; the limit is {MAX_NAME_CHARS}",
                chars
            )),
            "{err}"
        );
    }
    // At the limit a name is an ordinary (unknown) name.
    let name = "x".repeat(MAX_NAME_CHARS);
    let err = ingest(
        &long_file([format!("{name},2020,gdp,1")]),
        "f.csv",
        Some(&RegionSet::cn_provinces()),
    )
    .unwrap_err();
    assert_eq!(err.code(), "ingest.unknown_region");
}

#[test]
fn three_hundred_thousand_unknown_names_stop_at_the_cap() {
    let bytes = long_file((0..300_000).map(|i| format!("place{i},2020,gdp,1")));
    let err = ingest(&bytes, "names.csv", Some(&RegionSet::cn_provinces())).unwrap_err();
    assert_eq!(err.code(), "ingest.many");
    let errors = err.errors();
    // The cap's error first, then one error (with its suggestion) per name under the cap.
    assert_eq!(errors.len(), MAX_UNKNOWN_NAMES + 1);
    assert_eq!(errors[0].code(), "ingest.too_many_unknown_regions");
    assert_eq!(
        errors[0].position().unwrap().line,
        Some(MAX_UNKNOWN_NAMES as u64 + 2)
    );
    let message = errors[0].to_string();
    assert!(
        message.contains(&format!(
            "more than {MAX_UNKNOWN_NAMES} distinct region names are not in the region set (the first: place0, place1, place2, place3, place4)"
        )),
        "{message}"
    );
    assert!(
        errors[1..]
            .iter()
            .all(|e| e.code() == "ingest.unknown_region")
    );
    // Without a region set the names are ids and the file is fine.
    let ing = ingest(&bytes, "names.csv", None).unwrap();
    assert_eq!(ing.panel.height(), 300_000);
}

#[test]
fn fifty_thousand_columns_are_refused() {
    let columns = 50_000;
    let mut text = String::from("region,year");
    for i in 0..columns {
        text.push_str(&format!(",x{i}"));
    }
    text.push_str("\nCN-BJ,2020");
    text.push_str(&",1".repeat(columns));
    text.push('\n');
    let err = ingest(text.as_bytes(), "wide.csv", None).unwrap_err();
    assert_eq!(err.code(), "ingest.too_large");
    let pos = err.position().unwrap();
    assert_eq!(
        (pos.file.as_str(), pos.line, pos.column),
        ("wide.csv", Some(1), Some(MAX_COLUMNS + 1))
    );
    assert!(
        err.to_string().contains(&format!(
            "the row has {} columns; the limit is {MAX_COLUMNS}",
            columns + 2
        )),
        "{err}"
    );
    // Empty cells past the limit (a spreadsheet's padding) do not count.
    let padded = format!(
        "region,year,gdp{}\nCN-BJ,2020,1{}\n",
        ",".repeat(3000),
        ",".repeat(3000)
    );
    assert_eq!(
        ingest(padded.as_bytes(), "p.csv", None)
            .unwrap()
            .panel
            .height(),
        1
    );
}

#[test]
fn size_errors_have_a_chinese_summary() {
    // The zh page shows the summary of the code, then the English detail with the position.
    for code in ["ingest.too_large", "ingest.too_many_unknown_regions"] {
        assert!(nqp::ingest::ERROR_CODES.contains(&code));
        let zh = nqp::web::i18n::error_message(code, "f.csv:2:1", nqp::types::Lang::Zh);
        assert!(!zh.starts_with("输入有误"), "{code}: {zh}");
        assert!(zh.ends_with("f.csv:2:1"));
    }
}

#[test]
fn a_comma_bomb_is_read_in_bounded_memory() {
    // 48 MB of almost only commas around two observations. Reading it keeps one record at a
    // time (a table of every field would take ~30 × the file, past the cap); the text itself
    // is not copied.
    let dir = tempfile::tempdir().unwrap();
    let padding = format!("{}\n", ",".repeat(3_999));
    let mut wide_rows = String::from("region,year,indicator,value\n北京,2020,gdp,1\n");
    let mut short_rows = wide_rows.clone();
    for _ in 0..12_000 {
        wide_rows.push_str(&padding);
    }
    for _ in 0..12_000_000 {
        short_rows.push_str(",,,\n");
    }
    for (name, mut text) in [
        ("wide_commas.csv", wide_rows),
        ("short_commas.csv", short_rows),
    ] {
        text.push_str("上海,2020,gdp,2\n");
        assert!(text.len() > 47_000_000);
        let path = write(dir.path(), name, text.as_bytes());
        let run = check_capped(&path, &[]);
        assert!(
            run.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let out = String::from_utf8_lossy(&run.stdout);
        assert!(out.contains("long"), "{out}");
    }
}
