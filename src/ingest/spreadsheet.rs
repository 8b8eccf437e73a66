//! Spreadsheets (xlsx, xls, xlsb, ods) → CSV text, so that the same layout parsers, checks and
//! error positions apply: line N of the text is row N of the first worksheet, column M is
//! spreadsheet column M (A = 1).
//!
//! Owns: recognising a workbook, the size limits every workbook is read under ([`LIMITS`]) and
//! reading its first worksheet with `calamine`. Must not: interpret cells (numbers, years,
//! regions) — they are written as the spreadsheet shows them.
//!
//! A workbook is a compressed container whose cells `calamine` turns into one dense block of
//! rows × columns: a 1.6 KB file with cells at A1 and XFD1048576 would ask for 17 billion
//! cells. So before calamine allocates anything, the container is checked on its own structure:
//! every zip entry is inflated through a counting reader (bytes and compression ratio capped),
//! the cells of the sheet calamine will build are counted by streaming them (xlsx, xlsb), and
//! the repeated rows and columns of an ODS table are added up from its XML (`guard`).

mod cfb;
mod guard;

use std::io::Cursor;

use calamine::{Data, Ods, Range, Reader, Xls, Xlsb, Xlsx};

use super::error::IngestError;
pub(crate) use guard::{LIMITS, Limits};

/// Whether the bytes start like a workbook container (zip for xlsx/xlsb/ods, OLE for xls).
pub(crate) fn looks_like_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"\xD0\xCF\x11\xE0")
}

/// The first worksheet as CSV text; `Ok(None)` when the bytes are not a readable workbook, an
/// error when the workbook is over one of the [`LIMITS`].
pub(crate) fn first_sheet_as_csv(bytes: &[u8], file: &str) -> Result<Option<String>, IngestError> {
    first_sheet_within(bytes, file, &LIMITS)
}

/// The first sheet of a workbook type whose cells calamine can stream (xlsx, xlsb; their
/// cell readers are inherent methods, not a trait): the cells are counted as they stream past,
/// and only within the limits does calamine build the sheet. Returns from the enclosing
/// function when the bytes are not such a workbook.
macro_rules! streamed_first_sheet {
    ($kind:ident, $bytes:expr, $file:expr, $limits:expr) => {{
        let Ok(mut book) = $kind::new(Cursor::new($bytes)) else {
            return Ok(None);
        };
        let Some(name) = book.sheet_names().first().cloned() else {
            return Ok(None);
        };
        if let Ok(mut cells) = book.worksheet_cells_reader(&name) {
            let mut count = guard::CellCount::new(&name, $file, $limits);
            // A read error ends the count; calamine meets the same error and builds nothing.
            while let Ok(Some(cell)) = cells.next_cell() {
                count.add(&cell)?;
            }
            count.finish()?;
        }
        book.worksheet_range(&name).ok()
    }};
}

/// [`first_sheet_as_csv`] under explicit limits (tests use small ones).
pub(crate) fn first_sheet_within(
    bytes: &[u8],
    file: &str,
    limits: &Limits,
) -> Result<Option<String>, IngestError> {
    let range = if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        guard::check_xls(bytes, file, limits)?;
        let Ok(mut book) = Xls::new(Cursor::new(bytes)) else {
            return Ok(None);
        };
        book.worksheet_range_at(0).and_then(Result::ok)
    } else {
        match guard::check_zip(bytes, file, limits)? {
            None => return Ok(None),
            Some(guard::Container::Xlsx) => streamed_first_sheet!(Xlsx, bytes, file, limits),
            Some(guard::Container::Xlsb) => streamed_first_sheet!(Xlsb, bytes, file, limits),
            Some(guard::Container::Ods) => {
                guard::check_ods(bytes, file, limits)?;
                let Ok(mut book) = Ods::new(Cursor::new(bytes)) else {
                    return Ok(None);
                };
                book.worksheet_range_at(0).and_then(Result::ok)
            }
        }
    };
    Ok(range.map(|range| range_as_csv(&range)))
}

/// A worksheet's cells as CSV text, keeping row numbers.
fn range_as_csv(range: &Range<Data>) -> String {
    let mut text = String::new();
    // Keep row numbers: blank rows above the used range become blank lines.
    let first_row = range.start().map_or(0, |(row, _)| row);
    for _ in 0..first_row {
        text.push('\n');
    }
    for row in range.rows() {
        let mut cells: Vec<String> = row.iter().map(cell_text).collect();
        // NBS title and note lines (`指标：…`, `注：…`) are one cell in the CSV export; in a
        // sheet they are padded to the table's width. Data rows keep their empty cells.
        if cells.first().is_some_and(|c| c.contains('：'))
            && cells[1..].iter().all(String::is_empty)
        {
            cells.truncate(1);
        }
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    text
}

/// One cell as CSV: numbers in shortest round-trip form, text quoted when it must be.
fn cell_text(cell: &Data) -> String {
    let raw = match cell {
        Data::Empty => return String::new(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string(),
    };
    if raw.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", raw.replace('"', "\"\""))
    } else {
        raw
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn cells_are_written_as_csv() {
        assert_eq!(cell_text(&Data::Float(2024.0)), "2024");
        assert_eq!(cell_text(&Data::Float(49670.2)), "49670.2");
        assert_eq!(cell_text(&Data::String("a,b".into())), "\"a,b\"");
        assert_eq!(
            cell_text(&Data::String("say \"hi\"".into())),
            "\"say \"\"hi\"\"\""
        );
        assert_eq!(cell_text(&Data::Empty), "");
    }

    /// An .xlsx written with rust_xlsxwriter; `rows` of text cells (numbers written as numbers).
    fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                match cell.parse::<f64>() {
                    Ok(v) => sheet.write_number(r, c, v).map(|_| ()),
                    Err(_) => sheet.write_string(r, c, *cell).map(|_| ()),
                }
                .unwrap();
            }
        }
        book.save_to_buffer().unwrap()
    }

    #[test]
    fn an_nbs_export_saved_as_xlsx_ingests_like_the_csv() {
        let bytes = xlsx(&[
            &["数据库：分省年度数据"],
            &["指标：地区生产总值(亿元)"],
            &["时间：最近2年"],
            &["地区", "2023年", "2022年"],
            &["北京市", "47353.7", "45222.4"],
            &["上海市", "47218.7", "44652.8"],
            &["数据来源：国家统计局"],
        ]);
        let regions = crate::ingest::RegionSet::cn_provinces();
        let got = crate::ingest::ingest(&bytes, "gdp.xlsx", Some(&regions)).unwrap();
        assert_eq!(got.encoding, crate::ingest::Encoding::Spreadsheet);
        assert_eq!(got.layout, crate::ingest::Layout::NbsExport);
        assert_eq!(
            got.units.get("地区生产总值").map(String::as_str),
            Some("亿元")
        );
        let frame = got.panel.frame();
        assert_eq!(frame.height(), 4);
        let values: f64 = frame
            .column("value")
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .flatten()
            .sum();
        assert!((values - (47353.7 + 45222.4 + 47218.7 + 44652.8)).abs() < 1e-9);
    }

    #[test]
    fn errors_in_a_workbook_name_its_row_and_column() {
        let bytes = xlsx(&[
            &["region", "year", "indicator", "value"],
            &["CN-BJ", "2020", "x", "1.5"],
            &["CN-SH", "2020", "x", "n/a?"],
        ]);
        let err = crate::ingest::ingest(&bytes, "long.xlsx", None).unwrap_err();
        assert_eq!(err.code(), "ingest.not_numeric");
        let pos = err.position().unwrap();
        assert_eq!((pos.line, pos.column), (Some(3), Some(4)));
    }

    #[test]
    fn garbage_with_a_zip_header_is_not_a_workbook() {
        let fake = b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml\x00\x01\x02";
        assert!(looks_like_workbook(fake));
        assert_eq!(first_sheet_as_csv(fake, "f.xlsx"), Ok(None));
    }

    /// A zip container with the given (name, bytes) entries, deflated.
    pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        use std::io::Write;
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            out.start_file(*name, options).unwrap();
            out.write_all(bytes).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    /// An .ods whose first table is `rows` (the XML of its `table:table-row` elements).
    pub(crate) fn ods(rows: &str) -> Vec<u8> {
        let content = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Data">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
        );
        zip_of(&[
            ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
            ("content.xml", content.as_bytes()),
            (
                "META-INF/manifest.xml",
                br#"<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#,
            ),
        ])
    }

    fn small(cells: u64) -> Limits {
        Limits { cells, ..LIMITS }
    }

    fn too_large(result: Result<Option<String>, IngestError>) -> String {
        match result {
            Err(e @ IngestError::TooLarge { .. }) => {
                assert_eq!(e.code(), "ingest.too_large");
                assert_eq!(e.position().unwrap().file, "book");
                e.to_string()
            }
            other => panic!("expected a size error, got {other:?}"),
        }
    }

    #[test]
    fn far_apart_cells_are_refused_by_the_block_they_span() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet().set_name("Corner").unwrap();
        sheet.write_number(0, 0, 1.0).unwrap();
        sheet.write_number(99, 49, 2.0).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let message = too_large(first_sheet_within(&bytes, "book", &small(4_999)));
        assert!(
            message.contains("sheet 'Corner' spans 100 rows × 50 columns = 5000 cells")
                && message.contains("the limit is 4999 cells"),
            "{message}"
        );
        // Exactly at the limit it is read, blank cells and all.
        let text = first_sheet_within(&bytes, "book", &small(5_000))
            .unwrap()
            .unwrap();
        assert_eq!(text.lines().count(), 100);
        assert_eq!(text.lines().next().unwrap(), format!("1{}", ",".repeat(49)));
        assert_eq!(text.lines().last().unwrap(), format!("{}2", ",".repeat(49)));
    }

    #[test]
    fn dense_sheets_are_refused_by_their_cell_count() {
        let rows: Vec<Vec<String>> = (0..40)
            .map(|r| (0..30).map(|c| (r * 30 + c).to_string()).collect())
            .collect();
        let rows: Vec<Vec<&str>> = rows
            .iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect();
        let rows: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
        let bytes = xlsx(&rows);
        let message = too_large(first_sheet_within(&bytes, "book", &small(1_199)));
        assert!(
            message.contains("sheet 'Sheet1' holds more than 1199 cells"),
            "{message}"
        );
        assert!(first_sheet_within(&bytes, "book", &small(1_200)).is_ok());
    }

    #[test]
    fn ods_repeats_are_counted_before_calamine_expands_them() {
        // One number repeated across 2,000 columns, in a row repeated 3 times: calamine
        // stores 2,000 cells and spans a block of 3 × 2,000.
        let wide = r#"<table:table-row table:number-rows-repeated="3"><table:table-cell table:number-columns-repeated="2000" office:value-type="float" office:value="7"/></table:table-row>"#;
        let bytes = ods(wide);
        let message = too_large(first_sheet_within(&bytes, "book", &small(1_999)));
        assert!(
            message.contains("sheet 'Data' holds more than 1999 cells once repeated"),
            "{message}"
        );
        let message = too_large(first_sheet_within(&bytes, "book", &small(5_999)));
        assert!(
            message.contains("sheet 'Data' spans 3 rows × 2000 columns = 6000 cells"),
            "{message}"
        );
        let text = first_sheet_within(&bytes, "book", &small(6_000))
            .unwrap()
            .unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(
            text.lines()
                .all(|l| l.split(',').count() == 2000 && l.starts_with("7,7,"))
        );
    }

    #[test]
    fn trailing_empty_ods_repeats_cost_nothing() {
        // What LibreOffice writes: a few cells, then empty cells and rows repeated to the end of
        // the sheet. calamine never expands those, so they count for nothing.
        let rows = concat!(
            r#"<table:table-row><table:table-cell office:value-type="string"><text:p>region</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>year</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>gdp</text:p></table:table-cell><table:table-cell table:number-columns-repeated="16381"/></table:table-row>"#,
            r#"<table:table-row><table:table-cell office:value-type="string"><text:p>CN-BJ</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="2020"><text:p>2020</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="1.5"><text:p>1.5</text:p></table:table-cell><table:table-cell table:number-columns-repeated="16381"/></table:table-row>"#,
            r#"<table:table-row table:number-rows-repeated="1048574"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#,
        );
        let text = first_sheet_within(&ods(rows), "book", &small(6))
            .unwrap()
            .unwrap();
        assert_eq!(text, "region,year,gdp\nCN-BJ,2020,1.5\n");
    }

    #[test]
    fn highly_compressed_parts_are_refused() {
        let zeros = vec![b' '; 4 << 20];
        let bytes = zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("xl/workbook.xml", b"<workbook/>"),
            ("xl/padding.xml", &zeros),
        ]);
        let message = too_large(first_sheet_within(&bytes, "book", &LIMITS));
        assert!(
            message.contains("part 'xl/padding.xml' of the workbook inflates more than 100-fold"),
            "{message}"
        );
        let limits = Limits {
            inflated: 2 << 20,
            ratio: u64::MAX,
            ..LIMITS
        };
        let message = too_large(first_sheet_within(&bytes, "book", &limits));
        assert!(
            message.contains("inflates to more than 2 MiB; the limit is 2 MiB"),
            "{message}"
        );
    }
}
