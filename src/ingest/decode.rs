//! Bytes → text: detect the encoding (UTF-8 with or without BOM, else GB18030 ⊇ GBK), read
//! spreadsheets (xlsx/xls/ods) through `spreadsheet`, and refuse other binary files with a
//! helpful message.
//!
//! Owns: [`Encoding`] and [`decode`]. Must not: look at the CSV structure (that is `layout`).
//! The encoding is always detected, never configured: NBS exports are GBK, everything else we
//! see is UTF-8, and a valid UTF-8 file is practically never valid-but-wrong GBK.

use std::borrow::Cow;

use super::error::{IngestError, Position};

/// The detected text encoding of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Encoding {
    Utf8,
    /// UTF-8 with a byte-order mark (Excel's "CSV UTF-8").
    Utf8Bom,
    /// GB18030, a superset of GBK and GB2312 (what data.stats.gov.cn exports).
    Gb18030,
    /// A spreadsheet (xlsx, xls, xlsb, ods): its first worksheet, read cell by cell.
    Spreadsheet,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8-bom",
            Encoding::Gb18030 => "gb18030",
            Encoding::Spreadsheet => "spreadsheet",
        }
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// 1-based line number of byte offset `at` (counts `\n`; a lone `\r` also ends a line).
fn line_of(bytes: &[u8], at: usize) -> u64 {
    let head = &bytes[..at.min(bytes.len())];
    let mut line = 1u64;
    let mut prev_cr = false;
    for &b in head {
        match b {
            b'\n' if prev_cr => {}
            b'\n' | b'\r' => line += 1,
            _ => {}
        }
        prev_cr = b == b'\r';
    }
    line
}

/// Well-known binary formats that users upload by mistake, recognised by their leading magic
/// bytes (checked before the UTF-16 guess, which would otherwise misname an image full of NULs).
/// Zip and OLE containers are missing here: they may be workbooks (see [`container_kind`]).
const MAGIC: &[(&[u8], &str)] = &[
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xFF\xD8\xFF", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"%PDF-", "a PDF document"),
    (b"PAR1", "a Parquet file"),
    (b"ARROW1", "an Arrow/Feather file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x1F\x8B", "a gzip archive"),
    (b"\xFD7zXZ\x00", "an xz archive"),
    (b"\x28\xB5\x2F\xFD", "a zstd archive"),
    (b"BZh", "a bzip2 archive"),
    (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"),
    (b"Rar!\x1A\x07", "a RAR archive"),
    (b"\x7FELF", "an executable program"),
    (b"{\\rtf", "an RTF document"),
];

/// What a binary file is, by its magic bytes; `None` for anything that may be text or a
/// workbook.
fn magic_kind(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        return Some("a WebP image");
    }
    MAGIC
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
        .map(|&(_, kind)| kind)
}

/// What a zip or OLE container that is not a readable workbook is.
fn container_kind(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        Some("a .zip archive but not a readable spreadsheet (export the sheet as CSV or XLSX)")
    } else if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        Some("an Office file nqp cannot read as a spreadsheet (export the sheet as CSV or XLSX)")
    } else {
        None
    }
}

/// UTF-16 without a BOM shows up as every other byte being NUL in ASCII-heavy text.
fn looks_like_utf16(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(512)];
    if sample.len() < 4 {
        return false;
    }
    let even_nul = sample.iter().step_by(2).filter(|&&b| b == 0).count();
    let odd_nul = sample
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|&&b| b == 0)
        .count();
    let half = sample.len() / 2;
    even_nul * 10 >= half * 8 || odd_nul * 10 >= half * 8
}

/// Decode `bytes` to text, stripping a UTF-8 BOM.
pub fn decode<'b>(
    bytes: &'b [u8],
    file_name: &str,
) -> Result<(Cow<'b, str>, Encoding), IngestError> {
    if let Some(kind) = magic_kind(bytes) {
        return Err(IngestError::Binary {
            pos: Position::file(file_name),
            kind: Some(kind),
        });
    }
    if super::spreadsheet::looks_like_workbook(bytes)
        && let Some(text) = super::spreadsheet::first_sheet_as_csv(bytes, file_name)?
    {
        return Ok((Cow::Owned(text), Encoding::Spreadsheet));
    }
    if let Some(kind) = container_kind(bytes) {
        return Err(IngestError::Binary {
            pos: Position::file(file_name),
            kind: Some(kind),
        });
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(IngestError::Encoding {
            pos: Position::line(file_name, 1),
            detail: "the file is UTF-16 (\"Unicode text\"); save it as CSV UTF-8".to_owned(),
        });
    }
    if looks_like_utf16(bytes) {
        return Err(IngestError::Encoding {
            pos: Position::line(file_name, 1),
            detail: "the file looks like UTF-16 without a byte-order mark; save it as CSV UTF-8"
                .to_owned(),
        });
    }
    if let Some(nul) = memchr::memchr(0, bytes) {
        return Err(IngestError::Binary {
            pos: Position::line(file_name, line_of(bytes, nul)),
            kind: None,
        });
    }
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        return match std::str::from_utf8(rest) {
            Ok(text) => Ok((Cow::Borrowed(text), Encoding::Utf8Bom)),
            Err(e) => Err(IngestError::Encoding {
                pos: Position::line(file_name, line_of(rest, e.valid_up_to())),
                detail: "the file starts with a UTF-8 byte-order mark but is not valid UTF-8"
                    .to_owned(),
            }),
        };
    }
    // The fast check answers for valid text (nearly every file); an invalid one is looked at
    // again below.
    if let Ok(text) = simdutf8::basic::from_utf8(bytes) {
        return Ok((Cow::Borrowed(text), Encoding::Utf8));
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        // Report the first undecodable line: the replacement character marks it.
        let line = text
            .find('\u{FFFD}')
            .map(|at| line_of(text.as_bytes(), at))
            .unwrap_or(1);
        return Err(IngestError::Encoding {
            pos: Position::line(file_name, line),
            detail: "the text is neither UTF-8 nor GBK/GB18030".to_owned(),
        });
    }
    Ok((Cow::Owned(text.into_owned()), Encoding::Gb18030))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(text: &str) -> Vec<u8> {
        encoding_rs::GB18030.encode(text).0.into_owned()
    }

    #[test]
    fn detects_utf8_bom_and_gbk() {
        assert_eq!(
            decode("地区,a".as_bytes(), "f").unwrap(),
            ("地区,a".into(), Encoding::Utf8)
        );
        let mut bom = UTF8_BOM.to_vec();
        bom.extend_from_slice("地区".as_bytes());
        assert_eq!(
            decode(&bom, "f").unwrap(),
            ("地区".into(), Encoding::Utf8Bom)
        );
        let bytes = gbk("数据库：分省年度数据\r\n北京市,1");
        assert_ne!(
            std::str::from_utf8(&bytes).ok(),
            Some("数据库：分省年度数据\r\n北京市,1")
        );
        assert_eq!(
            decode(&bytes, "f").unwrap(),
            ("数据库：分省年度数据\r\n北京市,1".into(), Encoding::Gb18030)
        );
    }

    #[test]
    fn refuses_binary_and_utf16_with_codes() {
        assert_eq!(
            decode(b"abc\n\0def", "f").unwrap_err().code(),
            "ingest.binary"
        );
        assert_eq!(
            decode(b"abc\n\0def", "f")
                .unwrap_err()
                .position()
                .unwrap()
                .line,
            Some(2)
        );
        assert_eq!(
            decode(b"PK\x03\x04rest", "f").unwrap_err().code(),
            "ingest.binary"
        );
        let utf16: Vec<u8> = "region,year"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(decode(&utf16, "f").unwrap_err().code(), "ingest.encoding");
        let mut with_bom = vec![0xFF, 0xFE];
        with_bom.extend_from_slice(&utf16);
        assert_eq!(
            decode(&with_bom, "f").unwrap_err().code(),
            "ingest.encoding"
        );
    }

    #[test]
    fn binary_formats_are_named_before_the_utf16_guess() {
        // A PNG header then NUL-heavy chunk data: the UTF-16 guess alone called it "UTF-16".
        let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        png.extend(std::iter::repeat_n([0u8, 7], 300).flatten());
        assert!(looks_like_utf16(&png));
        let zip_not_xlsx = crate::ingest::spreadsheet::tests::zip_of(&[("notes.txt", b"hello")]);
        let cases: [(&[u8], &str); 5] = [
            (
                &png,
                "this is a PNG image, not a table: upload CSV, XLSX or ODS",
            ),
            (
                b"PAR1\x15\x04\x15\x00",
                "this is a Parquet file, not a table",
            ),
            (
                b"%PDF-1.7\n%\xE2\xE3",
                "this is a PDF document, not a table",
            ),
            (
                b"\x1F\x8B\x08\x00\x00\x00",
                "this is a gzip archive, not a table",
            ),
            (
                &zip_not_xlsx,
                "this is a .zip archive but not a readable spreadsheet",
            ),
        ];
        for (bytes, message) in cases {
            let err = decode(bytes, "upload.csv").unwrap_err();
            assert_eq!(err.code(), "ingest.binary");
            assert_eq!(err.position(), Some(&Position::file("upload.csv")));
            assert!(err.to_string().contains(message), "{err}");
        }
        // Text that merely starts with a magic-like word is still text.
        assert_eq!(decode(b"PARIS,1\n", "f").unwrap().0, "PARIS,1\n");
    }

    #[test]
    fn reports_the_line_of_undecodable_bytes() {
        // 0xFF is invalid in both UTF-8 and GB18030.
        let err = decode(b"a,b\n1,2\n3,\xFF\n", "f").unwrap_err();
        assert_eq!(err.code(), "ingest.encoding");
        assert_eq!(err.position().unwrap().line, Some(3));
        let mut bom = UTF8_BOM.to_vec();
        bom.extend_from_slice(b"a\n\xC3");
        assert_eq!(
            decode(&bom, "f").unwrap_err().position().unwrap().line,
            Some(2)
        );
    }

    #[test]
    fn counts_crlf_and_lone_cr_as_one_line_break() {
        assert_eq!(line_of(b"a\r\nb\rc\nd", 8), 4);
    }
}
