//! Ingest: the bytes of a statistics file → the canonical long [`Panel`] with region names
//! matched to codes, plus notices; or every problem found, each with file, line and column.
//!
//! Owns: decoding ([`decode`]), layout detection ([`Layout`]: NBS export, long, wide, years
//! across with the region and indicator columns found by content or named by a [`LayoutHint`]), parsing
//! with physical line/column positions, region matching ([`RegionSet`]) and [`IngestError`].
//! A plain long or wide table without quotes is read column-wise, split on worker threads
//! (`columnar`; a wide table kept wide, [`crate::types::WidePanel`]); any file that pass
//! declines — NBS exports, quoted fields, and every file with a problem — is read by walking its
//! rows, which locates each problem.
//! Must not: read the framework, know indicators' dimensions, write files or touch the store.
//!
//! Conventions:
//! - With a region set, the panel's `region` is the region **code** (`CN-BJ`); without one it is
//!   the cleaned name as written (a dataset without a region set is still valid).
//! - An empty (or `NA`, `-`, `..`, `…`) cell is a missing value and produces **no panel row**:
//!   the panel holds observations only; a notice counts the missing cells.
//! - Aggregate rows (`全国`, `东部地区`, group names) are excluded with a notice; unknown names
//!   are errors with a suggestion, never silently dropped or auto-corrected.
//! - Row problems are collected (at most [`MAX_ERRORS`]) and returned together as
//!   [`IngestError::Many`]; a single problem is returned as itself.
//! - Panel rows keep file order (row by row; within an NBS row, header order).
//! - An unknown region name is reported once, at its first occurrence.

mod blocks;
mod collect;
mod columnar;
mod decode;
mod error;
mod hint;
mod layout;
mod long;
mod nbs;
mod regions;
mod spreadsheet;
pub(crate) mod table;
mod wide;

use std::collections::BTreeMap;

pub use collect::{MAX_NAME_CHARS, MAX_UNKNOWN_NAMES};
pub use decode::{Encoding, decode};
pub use error::{ERROR_CODES, IngestError, MAX_ERRORS, Position};
pub use hint::{HINT_SYNTAX, LayoutHint, column_letter};
pub use layout::Layout;
pub use regions::{MAX_SUGGESTED_CHARS, Region, RegionMatch, RegionSet, clean_name, normalize};
pub use table::MAX_COLUMNS;

use polars::prelude::{IntoColumn, PolarsResult, StringChunked};

use crate::types::Panel;
use collect::Collector;
use table::Record;

/// Every [`Notice::code`] ingest emits (for translation tables and docs checks):
/// aggregate rows excluded, NBS footnote lines, empty cells, a file without observations,
/// columns a layout does not use, conflicting units for one indicator, an indicator named after
/// the file (no `指标：` line), unrecognised lines above an NBS table.
pub const NOTICE_CODES: &[&str] = &[
    "ingest.aggregate_excluded",
    "ingest.footnote",
    "ingest.missing_values",
    "ingest.no_observations",
    "ingest.ignored_columns",
    "ingest.unit_conflict",
    "ingest.indicator_from_file_name",
    "ingest.preamble_skipped",
];

/// Something the user should know that did not stop the import (aggregate rows excluded,
/// footnotes skipped, missing cells, ignored columns, conflicting units).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Notice {
    pub code: &'static str,
    pub message: String,
    pub position: Option<Position>,
}

/// A successfully ingested file.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub panel: Panel,
    pub encoding: Encoding,
    pub layout: Layout,
    /// indicator → unit, where the file states it (NBS `指标：name(unit)`, a long file's unit
    /// column).
    pub units: BTreeMap<String, String>,
    pub notices: Vec<Notice>,
    /// Decimal places each observation's value shows in the file, one per panel row in the
    /// panel's order (`5522.950` → 3; a spreadsheet's number cell in its shortest form): the
    /// precision two values of one cell must agree to (docs/method.md §1.1).
    pub decimals: Vec<i8>,
}

/// A row with more or fewer fields than the header. Empty fields beyond the header are
/// tolerated (spreadsheets append them); the column is the first missing or extra one.
pub(crate) fn check_width(record: &Record, width: usize, file: &str) -> Option<IngestError> {
    let found = record.len;
    if found == width || (found > width && record.trimmed_len() <= width) {
        return None;
    }
    let found = if found > width {
        record.trimmed_len()
    } else {
        found
    };
    Some(IngestError::RaggedRow {
        pos: Position::cell(file, record.line, found.min(width) + 1, None),
        expected: width,
        found,
    })
}

/// A row's region and year as read from its cells (`None`: the cell's problem is recorded).
pub(crate) struct RowKeys {
    pub line: u64,
    pub region: Option<std::rc::Rc<str>>,
    pub year: Option<i32>,
}

/// Walk the rows of a long or wide table: stop at the error cap, report a ragged row, read each
/// row's region and year cells (columns `region`, `year`) and hand the row to `row`, which
/// reads the rest; a table without rows is [`IngestError::HeaderOnly`].
pub(crate) fn walk_rows<'r, 'a>(
    header: &layout::Header,
    rows: impl Iterator<Item = Record<'r>>,
    (region, year): (usize, usize),
    c: &mut Collector<'a>,
    mut row: impl FnMut(&Record<'r>, RowKeys, &mut Collector<'a>),
) -> Result<(), IngestError> {
    let file = c.file;
    let name = |i: usize| header.names[i].as_str();
    let mut count = 0usize;
    for record in rows {
        if c.full() {
            break;
        }
        count += 1;
        if let Some(err) = check_width(&record, header.width, file) {
            c.error(err);
            continue;
        }
        let line = record.line;
        let keys = RowKeys {
            line,
            region: c.region(record.get(region), c.cell(line, region + 1, name(region))),
            year: c.year(record.get(year), c.cell(line, year + 1, name(year))),
        };
        row(&record, keys, c);
    }
    if count == 0 {
        return Err(IngestError::HeaderOnly {
            pos: Position::line(file, header.line),
        });
    }
    Ok(())
}

/// Ingest one file. `file_name` is the user's name for it (used in every error position);
/// `regions` is the region set to match names against, if any.
pub fn ingest(
    bytes: &[u8],
    file_name: &str,
    regions: Option<&RegionSet>,
) -> Result<Ingested, IngestError> {
    ingest_with(bytes, file_name, regions, None)
}

/// [`ingest`] with the user's [`LayoutHint`], if any: the file is then read as a table with
/// years across whose columns the hint names.
pub fn ingest_with(
    bytes: &[u8],
    file_name: &str,
    regions: Option<&RegionSet>,
    hint: Option<&LayoutHint>,
) -> Result<Ingested, IngestError> {
    run(bytes, file_name, regions, hint).map(|(ingested, _)| ingested)
}

/// A file ingested without a region set (its region ids are the cleaned names), kept so that it
/// can be matched against a region set chosen afterwards — `--regions auto` decides from the
/// distinct names of this one pass instead of reading the file again.
#[derive(Debug, Clone)]
pub struct Unmatched {
    ingested: Ingested,
    /// Every distinct cleaned name of a region cell, also of rows without observations.
    names: Vec<String>,
    hint: Option<LayoutHint>,
}

/// [`ingest`] without a region set, keeping what [`Unmatched::match_regions`] needs.
pub fn ingest_unmatched(bytes: &[u8], file_name: &str) -> Result<Unmatched, IngestError> {
    ingest_unmatched_with(bytes, file_name, None)
}

/// [`ingest_unmatched`] with the user's [`LayoutHint`], if any.
pub fn ingest_unmatched_with(
    bytes: &[u8],
    file_name: &str,
    hint: Option<&LayoutHint>,
) -> Result<Unmatched, IngestError> {
    run(bytes, file_name, None, hint).map(|(ingested, names)| Unmatched {
        ingested,
        names,
        hint: hint.cloned(),
    })
}

impl Unmatched {
    /// The file as ingested without a region set.
    pub fn ingested(&self) -> &Ingested {
        &self.ingested
    }

    pub fn into_ingested(self) -> Ingested {
        self.ingested
    }

    /// The same result as `ingest(bytes, file_name, Some(set))`. Each distinct name is matched
    /// once (a hash lookup); when every name is a region of the set and no two names are one
    /// region, the rows, keys, notices and errors of that ingest are exactly these with the
    /// names replaced by codes, so the codes are joined back onto the panel. Otherwise
    /// (aggregates, unknown names, two spellings of one region: rows are skipped, errors
    /// appear or keys collide, each at a position only a walk over the rows knows) the file is
    /// ingested again with the set — the rare case, and then mostly a small NBS export.
    pub fn match_regions(
        self,
        set: &RegionSet,
        bytes: &[u8],
        file_name: &str,
    ) -> Result<Ingested, IngestError> {
        let mut codes: std::collections::HashMap<&str, String> =
            std::collections::HashMap::with_capacity(self.names.len());
        let mut taken = std::collections::HashSet::with_capacity(self.names.len());
        for name in &self.names {
            match set.classify(name) {
                Some(RegionMatch::Matched(code)) if taken.insert(code.clone()) => {
                    codes.insert(name.as_str(), code.as_str().to_owned());
                }
                _ => return ingest_with(bytes, file_name, Some(set), self.hint.as_ref()),
            }
        }
        let mut ingested = self.ingested;
        ingested.panel =
            rename_regions(ingested.panel, &codes).map_err(|e| IngestError::Internal {
                file: file_name.to_owned(),
                detail: e.to_string(),
            })?;
        Ok(ingested)
    }
}

/// The panel with every region id replaced by its code: in the names of a coded panel (one
/// rename per distinct name), else in one pass over the column.
fn rename_regions(
    panel: Panel,
    codes: &std::collections::HashMap<&str, String>,
) -> PolarsResult<Panel> {
    use crate::types::panel_cols::REGION;
    let code = |r: &str| codes.get(r).map_or(r, String::as_str).to_owned();
    if let Some(coded) = panel.coded() {
        return Ok(Panel::from_coded(coded.rename_regions(code)));
    }
    if let Some(wide) = panel.wide() {
        return Ok(Panel::from_wide(wide.rename_regions(code)));
    }
    let mut frame = panel.into_frame();
    let renamed: StringChunked = frame
        .column(REGION)?
        .str()?
        .iter()
        .map(|r| r.map(|r| codes.get(r).map_or(r, String::as_str)))
        .collect();
    frame.with_column(renamed.with_name(REGION.into()).into_column())?;
    Panel::new(frame)
}

/// Decode, then read the table column-wise ([`columnar`]) or, when that pass declines, walk
/// its rows; the ingested file and the distinct region ids its region cells produced.
fn run(
    bytes: &[u8],
    file_name: &str,
    regions: Option<&RegionSet>,
    hint: Option<&LayoutHint>,
) -> Result<(Ingested, Vec<String>), IngestError> {
    let (text, encoding) = decode_text(bytes, file_name)?;
    if let Some(hint) = hint {
        let mut c = Collector::new(file_name, regions);
        blocks::parse(&text, regions, Some(hint), &mut c)?;
        return finish(c, encoding, Layout::Blocks);
    }
    match columnar::read(&text, file_name, regions) {
        Some((c, layout)) => finish(c, encoding, layout),
        None => by_rows(&text, encoding, file_name, regions),
    }
}

/// The table read by the columnar pass (its own scan on worker threads), or `None` when that
/// pass declines (an NBS export, quoted fields, or any problem in the file: only the row walk
/// locates problems).
/// [`ingest`] takes this pass when it can; exposed so that tests compare it with
/// [`ingest_by_rows`].
pub fn ingest_columnar(
    bytes: &[u8],
    file_name: &str,
    regions: Option<&RegionSet>,
) -> Option<Ingested> {
    let (text, encoding) = decode_text(bytes, file_name).ok()?;
    let (c, layout) = columnar::read(&text, file_name, regions)?;
    c.finish(encoding, layout).ok()
}

/// The file read by walking its rows, the way [`ingest`] reads every file the columnar pass
/// declines: each problem with its line and column.
pub fn ingest_by_rows(
    bytes: &[u8],
    file_name: &str,
    regions: Option<&RegionSet>,
) -> Result<Ingested, IngestError> {
    let (text, encoding) = decode_text(bytes, file_name)?;
    by_rows(&text, encoding, file_name, regions).map(|(ingested, _)| ingested)
}

fn decode_text<'b>(
    bytes: &'b [u8],
    file_name: &str,
) -> Result<(std::borrow::Cow<'b, str>, Encoding), IngestError> {
    let (text, encoding) = decode(bytes, file_name)?;
    if text.trim().is_empty() {
        return Err(IngestError::Empty {
            pos: Position::file(file_name),
        });
    }
    Ok((text, encoding))
}

fn finish(
    c: Collector<'_>,
    encoding: Encoding,
    layout: Layout,
) -> Result<(Ingested, Vec<String>), IngestError> {
    let names = c.region_ids();
    Ok((c.finish(encoding, layout)?, names))
}

fn by_rows(
    text: &str,
    encoding: Encoding,
    file_name: &str,
    regions: Option<&RegionSet>,
) -> Result<(Ingested, Vec<String>), IngestError> {
    let mut c = Collector::new(file_name, regions);
    let layout = walk(text, file_name, regions, &mut c)?;
    finish(c, encoding, layout)
}

fn walk(
    text: &str,
    file_name: &str,
    regions: Option<&RegionSet>,
    c: &mut Collector<'_>,
) -> Result<Layout, IngestError> {
    // The lines are collected only for NBS layouts; a long or wide table is streamed.
    if layout::is_nbs_export(table::line_iter(text)) {
        nbs::parse(text, &table::lines(text), true, c)?;
        return Ok(Layout::NbsExport);
    }

    let first = table::line_iter(text)
        .find(|l| !l.text.trim().is_empty())
        .ok_or_else(|| IngestError::Empty {
            pos: Position::file(file_name),
        })?;
    let delim = table::sniff_delimiter(first.text);
    table::check(text, 1, delim, file_name)?;
    let mut rows = table::stream(text, 1, delim, file_name)
        .map_while(Result::ok)
        .filter(|r| !r.is_blank());
    let header = rows.next().ok_or_else(|| IngestError::Empty {
        pos: Position::file(file_name),
    })?;
    let shape = match layout::detect(&header, file_name, regions) {
        Ok(shape) => shape,
        // No region column named: the region column may still be plain to see in the rows.
        Err(e) if blocks::may_read(&e, &header) && blocks::has_year_row(text, delim, file_name) => {
            blocks::parse(text, regions, None, c)?;
            return Ok(Layout::Blocks);
        }
        Err(e) => return Err(e),
    };
    match shape {
        layout::Shape::Long(h) => {
            long::parse(&h, rows, c)?;
            Ok(Layout::Long)
        }
        layout::Shape::Wide(h) => {
            wide::parse(&h, rows, c)?;
            Ok(Layout::Wide)
        }
        layout::Shape::YearColumns => {
            nbs::parse(text, &table::lines(text), false, c)?;
            Ok(Layout::NbsExport)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(ing: &Ingested) -> Vec<(String, i32, String, f64)> {
        let f = ing.panel.frame();
        let r = f.column("region").unwrap().str().unwrap().clone();
        let y = f.column("year").unwrap().i32().unwrap().clone();
        let i = f.column("indicator").unwrap().str().unwrap().clone();
        let v = f.column("value").unwrap().f64().unwrap().clone();
        (0..f.height())
            .map(|k| {
                (
                    r.get(k).unwrap().to_owned(),
                    y.get(k).unwrap(),
                    i.get(k).unwrap().to_owned(),
                    v.get(k).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn nbs_export_becomes_long_with_codes_units_and_notices() {
        let text = "数据库：分省年度数据\r\n指标：人口数(人口抽样调查)(人)\r\n时间：最近2年\r\n\
                    地区,2024年,2023年\r\n北京市,22470,\r\n天津市,14037,14362\r\n\
                    注：样本数据。\r\n\u{3000}\u{3000}2.第二条。\r\n数据来源：国家统计局\r\n";
        let ing = ingest(text.as_bytes(), "pop.csv", Some(&RegionSet::cn_provinces())).unwrap();
        assert_eq!(ing.layout, Layout::NbsExport);
        assert_eq!(ing.encoding, Encoding::Utf8);
        let ind = "人口数(人口抽样调查)";
        assert_eq!(
            rows(&ing),
            vec![
                ("CN-BJ".into(), 2024, ind.into(), 22470.0),
                ("CN-TJ".into(), 2024, ind.into(), 14037.0),
                ("CN-TJ".into(), 2023, ind.into(), 14362.0),
            ]
        );
        assert_eq!(ing.units.get(ind).map(String::as_str), Some("人"));
        let footnotes: Vec<u64> = ing
            .notices
            .iter()
            .filter(|n| n.code == "ingest.footnote")
            .map(|n| n.position.as_ref().unwrap().line.unwrap())
            .collect();
        assert_eq!(footnotes, vec![7, 8, 9]);
        assert!(
            ing.notices
                .iter()
                .any(|n| n.code == "ingest.missing_values" && n.message.starts_with("1 "))
        );
    }

    #[test]
    fn without_region_set_the_cleaned_name_is_the_id() {
        let text = "region,year,indicator,value\n北   京,2020,gdp,1.5\nAtlantis,2020,gdp,2\n";
        let ing = ingest(text.as_bytes(), "l.csv", None).unwrap();
        assert_eq!(ing.layout, Layout::Long);
        assert_eq!(ing.panel.regions().unwrap(), vec!["Atlantis", "北京"]);
    }

    #[test]
    fn row_problems_are_collected_with_positions() {
        let text = "region,year,indicator,value\n北京,2020,gdp,x\n上海,20x,gdp,1\nAtlantis,2020,gdp,1\n北京,2020,gdp,2\n";
        let err = ingest(text.as_bytes(), "l.csv", Some(&RegionSet::cn_provinces())).unwrap_err();
        assert_eq!(err.code(), "ingest.many");
        let got: Vec<(&str, Option<u64>, Option<usize>)> = err
            .errors()
            .iter()
            .map(|e| {
                (
                    e.code(),
                    e.position().unwrap().line,
                    e.position().unwrap().column,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("ingest.not_numeric", Some(2), Some(4)),
                ("ingest.bad_year", Some(3), Some(2)),
                ("ingest.unknown_region", Some(4), Some(1)),
                ("ingest.duplicate", Some(5), None),
            ]
        );
    }

    #[test]
    fn wide_file_unpivots_and_skips_aggregates() {
        let text = "\u{FEFF}地区,年份,GDP_亿元,人口\n全国,2020,100,\n上海,2020,\"1,234.5\",NA\n东部地区,2020,5,5\n";
        let ing = ingest(text.as_bytes(), "w.csv", Some(&RegionSet::cn_provinces())).unwrap();
        assert_eq!(
            (ing.layout, ing.encoding),
            (Layout::Wide, Encoding::Utf8Bom)
        );
        assert_eq!(
            rows(&ing),
            vec![("CN-SH".into(), 2020, "GDP_亿元".into(), 1234.5)]
        );
        let aggregates = ing
            .notices
            .iter()
            .filter(|n| n.code == "ingest.aggregate_excluded")
            .count();
        assert_eq!(aggregates, 2);
    }

    #[test]
    fn region_by_year_table_without_titles_is_named_after_the_file() {
        let text = "地区,2024年,2023年\n北京,1.5,2\n";
        let ing = ingest(
            text.as_bytes(),
            "dir/gdp_cn.csv",
            Some(&RegionSet::cn_provinces()),
        )
        .unwrap();
        assert_eq!(ing.layout, Layout::NbsExport);
        assert_eq!(
            rows(&ing),
            vec![
                ("CN-BJ".into(), 2024, "gdp_cn".into(), 1.5),
                ("CN-BJ".into(), 2023, "gdp_cn".into(), 2.0)
            ]
        );
        assert_eq!(ing.notices[0].code, "ingest.indicator_from_file_name");
    }

    #[test]
    fn tab_and_semicolon_delimiters_are_detected() {
        for text in [
            "region\tyear\tgdp\nCN-SH\t2020\t3\n",
            "region;year;gdp\nCN-SH;2020;3\n",
        ] {
            let ing = ingest(text.as_bytes(), "d.csv", Some(&RegionSet::cn_provinces())).unwrap();
            assert_eq!(
                rows(&ing),
                vec![("CN-SH".into(), 2020, "gdp".into(), 3.0)],
                "{text}"
            );
        }
    }

    #[test]
    fn structural_errors_have_codes() {
        let set = RegionSet::cn_provinces();
        let code = |t: &str| {
            ingest(t.as_bytes(), "f.csv", Some(&set))
                .unwrap_err()
                .code()
        };
        assert_eq!(code(""), "ingest.empty");
        assert_eq!(code(" \r\n\n"), "ingest.empty");
        assert_eq!(code("region,year,indicator,value\n"), "ingest.header_only");
        assert_eq!(
            code("region,year,indicator,value\n北京,2020,gdp\n"),
            "ingest.ragged_row"
        );
        assert_eq!(
            code("数据库：分省年度数据\n指标：GDP(亿元)\n"),
            "ingest.layout"
        );
        assert_eq!(
            code("数据库：分省年度数据\n指标：GDP(亿元)\n地区,2024年\n注：无\n"),
            "ingest.header_only"
        );
    }
}
