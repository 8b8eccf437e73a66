//! Spreadsheets (xlsx, xls, xlsb, ods) → CSV text, so that the same layout parsers, checks and
//! error positions apply: line N of the text is row N of the first worksheet, column M is
//! spreadsheet column M (A = 1).
//!
//! Owns: recognising a workbook and reading its first worksheet with `calamine`. Must not:
//! interpret cells (numbers, years, regions) — they are written as the spreadsheet shows them.

use std::io::Cursor;

use calamine::{Data, Reader, open_workbook_auto_from_rs};

/// Whether the bytes start like a workbook container (zip for xlsx/xlsb/ods, OLE for xls).
pub(crate) fn looks_like_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"\xD0\xCF\x11\xE0")
}

/// The first worksheet as CSV text, or `None` when the bytes are not a readable workbook.
pub(crate) fn first_sheet_as_csv(bytes: &[u8]) -> Option<String> {
    let mut workbook = open_workbook_auto_from_rs(Cursor::new(bytes.to_vec())).ok()?;
    let range = workbook.worksheet_range_at(0)?.ok()?;
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
    Some(text)
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
mod tests {
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
        assert!(first_sheet_as_csv(fake).is_none());
    }
}
