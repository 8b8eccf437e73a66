//! Size limits of a workbook, checked on the file's own structure before `calamine` allocates.
//!
//! Owns: [`Limits`], the zip inflation check ([`check_zip`]), the cell count of a streamed sheet
//! ([`CellCount`]) and the ODS repeat count ([`check_ods`]). Must not: read cell values.
//!
//! What calamine allocates, and so what is counted:
//! - xlsx/xlsb: every non-empty cell of the first sheet, then one dense block spanning the
//!   bounding box of those cells;
//! - ods: every table of `content.xml` at open, each row expanded to its stored width (repeated
//!   non-empty cells written out, repeated empty cells only before a non-empty one), then one
//!   dense block per table from its first to its last non-empty row (row repeats expanded).

use std::io::{Cursor, Read};

use calamine::{Cell, DataRef};
use quick_xml::events::{BytesStart, Event};

use crate::ingest::error::{IngestError, Position};

/// The limits a workbook is read under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Cells calamine may hold: stored cells and the dense block, each.
    pub cells: u64,
    /// Bytes inflated from all zip entries together.
    pub inflated: u64,
    /// Bytes inflated from the shared-strings part, which calamine keeps in memory whole.
    pub shared_strings: u64,
    /// Inflated ÷ compressed size of one zip entry, for entries above [`RATIO_FLOOR`].
    pub ratio: u64,
    /// Entries in a zip container.
    pub entries: usize,
}

/// The limits of every spreadsheet parse (CLI and web): 5 M cells is ~20× the largest NBS
/// export we know (31 regions × 20 years × a few hundred indicators) and ~160 MB as calamine
/// cells; 512 MiB of XML is what 5 M dense cells take; sheet XML compresses ~10:1, so 100:1 is
/// far outside real files.
pub(crate) const LIMITS: Limits = Limits {
    cells: 5_000_000,
    inflated: 512 << 20,
    shared_strings: 128 << 20,
    ratio: 100,
    entries: 10_000,
};

/// Small entries (styles, empty sheets) legitimately compress beyond any ratio; only entries
/// inflating to more than this are ratio-checked.
const RATIO_FLOOR: u64 = 1 << 20;

/// The most rows and columns a sheet has (calamine caps ODS repeats at these too).
const MAX_ROWS: u64 = 1_048_576;
const MAX_COLUMNS: u64 = 16_384;

fn too_large(file: &str, detail: String) -> IngestError {
    IngestError::TooLarge {
        pos: Position::file(file),
        detail,
    }
}

/// Which workbook a zip container holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    Xlsx,
    Xlsb,
    Ods,
}

/// Inflate every entry of a zip container through a counting reader and check the totals;
/// `Ok(None)` when the bytes are not a zip holding a workbook.
pub(crate) fn check_zip(
    bytes: &[u8],
    file: &str,
    limits: &Limits,
) -> Result<Option<Container>, IngestError> {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Ok(None);
    };
    if zip.len() > limits.entries {
        return Err(too_large(
            file,
            format!(
                "the workbook holds {} parts; the limit is {}",
                zip.len(),
                limits.entries
            ),
        ));
    }
    let names: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .collect();
    let has = |wanted: &str| names.iter().any(|n| n.eq_ignore_ascii_case(wanted));
    let container = if has("xl/workbook.xml") {
        Container::Xlsx
    } else if has("xl/workbook.bin") {
        Container::Xlsb
    } else if has("content.xml") {
        Container::Ods
    } else {
        return Ok(None);
    };
    let mut total = 0u64;
    let mut buf = vec![0u8; 64 << 10];
    for i in 0..zip.len() {
        // An entry zip cannot open (encrypted, unsupported method) is not inflated by calamine
        // either; calamine reports it if it needs it.
        let Ok(mut entry) = zip.by_index(i) else {
            continue;
        };
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        let compressed = entry.compressed_size().max(1);
        let lower = name.to_ascii_lowercase();
        let part_limit = if lower.starts_with("xl/sharedstrings.") {
            limits.shared_strings
        } else {
            u64::MAX
        };
        let mut inflated = 0u64;
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n as u64,
                // A corrupt stream: calamine fails on it the same way.
                Err(_) => break,
            };
            inflated += n;
            total += n;
            if total > limits.inflated {
                return Err(too_large(
                    file,
                    format!(
                        "the workbook inflates to more than {} MiB; the limit is {} MiB",
                        limits.inflated >> 20,
                        limits.inflated >> 20
                    ),
                ));
            }
            if inflated > part_limit {
                return Err(too_large(
                    file,
                    format!(
                        "the shared strings of the workbook ('{name}') inflate to more than {} MiB; the limit is {} MiB",
                        part_limit >> 20,
                        part_limit >> 20
                    ),
                ));
            }
            if inflated > RATIO_FLOOR && inflated > compressed.saturating_mul(limits.ratio) {
                return Err(too_large(
                    file,
                    format!(
                        "part '{name}' of the workbook inflates more than {}-fold ({compressed} compressed bytes); the limit is {}:1",
                        limits.ratio, limits.ratio
                    ),
                ));
            }
        }
    }
    Ok(Some(container))
}

/// Counts the non-empty cells of a streamed sheet and their bounding box.
pub(crate) struct CellCount<'a> {
    sheet: &'a str,
    file: &'a str,
    limits: &'a Limits,
    cells: Bounds,
}

impl<'a> CellCount<'a> {
    pub fn new(sheet: &'a str, file: &'a str, limits: &'a Limits) -> Self {
        Self {
            sheet,
            file,
            limits,
            cells: Bounds::default(),
        }
    }

    pub fn add(&mut self, cell: &Cell<DataRef<'_>>) -> Result<(), IngestError> {
        if matches!(cell.get_value(), DataRef::Empty) {
            return Ok(());
        }
        let (r, c) = cell.get_position();
        self.cells.add(r, c, 1);
        if self.cells.count > self.limits.cells {
            return Err(too_large(
                self.file,
                format!(
                    "sheet '{}' holds more than {} cells; the limit is {} cells",
                    self.sheet, self.limits.cells, self.limits.cells
                ),
            ));
        }
        Ok(())
    }

    /// The dense block calamine allocates for the bounding box must be within the limit too.
    pub fn finish(self) -> Result<(), IngestError> {
        let (rows, columns) = self.cells.span();
        check_block(self.file, self.sheet, rows, columns, self.limits)
    }
}

fn check_block(
    file: &str,
    sheet: &str,
    rows: u64,
    columns: u64,
    limits: &Limits,
) -> Result<(), IngestError> {
    let cells = rows.saturating_mul(columns);
    if cells > limits.cells {
        return Err(too_large(
            file,
            format!(
                "sheet '{sheet}' spans {rows} rows × {columns} columns = {cells} cells; the limit is {} cells (delete the far-away cells or export the table as CSV)",
                limits.cells
            ),
        ));
    }
    Ok(())
}

/// Walk the BIFF records of an `.xls` workbook stream and add up what calamine builds at open
/// for every sheet: the cells it reserves from the DIMENSIONS record, the cells it reads, and
/// the dense blocks their bounding boxes span (values and formulas).
pub(crate) fn check_xls(bytes: &[u8], file: &str, limits: &Limits) -> Result<(), IngestError> {
    let Some(stream) = super::cfb::stream(bytes, &["Workbook", "Book"]) else {
        return Ok(());
    };
    let mut total = 0u64;
    let mut sheet = 0usize;
    let mut at = 0usize;
    let mut values = Bounds::default();
    let mut formulas = Bounds::default();
    let mut reserved = 0u64;
    while let Some(header) = stream.get(at..at + 4) {
        let typ = u16::from_le_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_le_bytes([header[2], header[3]]));
        let Some(data) = stream.get(at + 4..at + 4 + len) else {
            break;
        };
        at += 4 + len;
        let row_col = || -> Option<(u32, u32)> {
            let row = u16::from_le_bytes(data.get(0..2)?.try_into().ok()?);
            let col = u16::from_le_bytes(data.get(2..4)?.try_into().ok()?);
            Some((u32::from(row), u32::from(col)))
        };
        match typ {
            // BOF: a sheet (or the globals) begins.
            0x0809 => {
                sheet += 1;
                values = Bounds::default();
                formulas = Bounds::default();
                reserved = 0;
            }
            // DIMENSIONS: calamine reserves rows × columns cells. The record holds the first
            // row and the last row + 1, then the first column and the last column + 1.
            0x0200 => {
                let (first_row, end_row, first_col, end_col) = match len {
                    10 => (
                        u64::from(u16::from_le_bytes([data[0], data[1]])),
                        u64::from(u16::from_le_bytes([data[2], data[3]])),
                        u64::from(u16::from_le_bytes([data[4], data[5]])),
                        u64::from(u16::from_le_bytes([data[6], data[7]])),
                    ),
                    14 | 16 => (
                        u64::from(u32::from_le_bytes([data[0], data[1], data[2], data[3]])),
                        u64::from(u32::from_le_bytes([data[4], data[5], data[6], data[7]])),
                        u64::from(u16::from_le_bytes([data[8], data[9]])),
                        u64::from(u16::from_le_bytes([data[10], data[11]])),
                    ),
                    _ => (0, 0, 0, 0),
                };
                let rows = end_row.saturating_sub(first_row).max(1);
                let columns = end_col.saturating_sub(first_col).max(1);
                reserved = rows.saturating_mul(columns);
                let name = format!("#{}", sheet.saturating_sub(1));
                check_block(file, &name, rows, columns, limits)?;
            }
            // Number, Label, RString, BoolErr, Rk, LabelSst: one cell.
            0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD => {
                if let Some((r, c)) = row_col() {
                    values.add(r, c, 1);
                }
            }
            // MulRk: a run of cells in one row, the last column at the end of the record.
            0x00BD if len >= 6 => {
                if let Some((r, c)) = row_col() {
                    let last = u32::from(u16::from_le_bytes([data[len - 2], data[len - 1]]));
                    values.add(r, c, ((len - 6) / 6) as u64);
                    values.add(r, last, 0);
                }
            }
            // Formula: a value cell and a formula cell.
            0x0006 => {
                if let Some((r, c)) = row_col() {
                    values.add(r, c, 1);
                    formulas.add(r, c, 1);
                }
            }
            // EOF of a sheet: everything calamine holds for it.
            0x000A => {
                let sheet_cells = reserved
                    .saturating_add(values.count)
                    .saturating_add(formulas.count)
                    .saturating_add(values.block())
                    .saturating_add(formulas.block());
                total = total.saturating_add(sheet_cells);
                if total > limits.cells {
                    return Err(too_large(
                        file,
                        format!(
                            "the sheets up to sheet #{} hold more than {} cells (with the blocks they span); the limit is {} cells",
                            sheet.saturating_sub(1),
                            limits.cells,
                            limits.cells
                        ),
                    ));
                }
                values = Bounds::default();
                formulas = Bounds::default();
                reserved = 0;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Count and bounding box of cells.
#[derive(Default)]
struct Bounds {
    count: u64,
    /// (first row, last row, first column, last column)
    bounds: Option<(u32, u32, u32, u32)>,
}

impl Bounds {
    fn add(&mut self, r: u32, c: u32, cells: u64) {
        self.count += cells;
        self.bounds = Some(match self.bounds {
            None => (r, r, c, c),
            Some((r0, r1, c0, c1)) => (r0.min(r), r1.max(r), c0.min(c), c1.max(c)),
        });
    }

    /// Rows × columns of the bounding box (0 × 0 when empty).
    fn span(&self) -> (u64, u64) {
        self.bounds.map_or((0, 0), |(r0, r1, c0, c1)| {
            (u64::from(r1 - r0) + 1, u64::from(c1 - c0) + 1)
        })
    }

    fn block(&self) -> u64 {
        let (rows, columns) = self.span();
        rows.saturating_mul(columns)
    }
}

/// Add up what calamine will build from every table of an ODS `content.xml` (checked by
/// [`check_zip`] first, so the XML itself is bounded).
pub(crate) fn check_ods(bytes: &[u8], file: &str, limits: &Limits) -> Result<(), IngestError> {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Ok(());
    };
    let Ok(content) = zip.by_name("content.xml") else {
        return Ok(());
    };
    let mut reader = quick_xml::Reader::from_reader(std::io::BufReader::new(content));
    let mut buf = Vec::new();
    let mut stored_total = 0u64;
    let mut blocks_total = 0u64;
    let mut table: Option<OdsTable> = None;
    loop {
        // Malformed XML: calamine refuses it the same way.
        let Ok(event) = reader.read_event_into(&mut buf) else {
            return Ok(());
        };
        match event {
            Event::Eof => return Ok(()),
            Event::Start(e) if e.name().as_ref() == "table:table" => {
                table = Some(OdsTable::new(attr(&e, "table:name").unwrap_or_default()));
            }
            Event::End(e) if e.name().as_ref() == "table:table" => {
                if let Some(t) = table.take() {
                    let columns = t.block_columns();
                    check_block(file, &t.name, t.block_rows, columns, limits)?;
                    blocks_total += t.block_rows * columns;
                    if blocks_total > limits.cells {
                        return Err(too_large(
                            file,
                            format!(
                                "the sheets up to '{}' span more than {} cells together; the limit is {} cells",
                                t.name, limits.cells, limits.cells
                            ),
                        ));
                    }
                }
            }
            Event::Start(e) if e.name().as_ref() == "table:table-row" => {
                if let Some(t) = table.as_mut() {
                    t.row_start(repeats(&e));
                }
            }
            Event::Empty(ref e) if e.name().as_ref() == "table:table-row" => {
                if let Some(t) = table.as_mut() {
                    t.row_start(repeats(e));
                    stored_total = stored_total.saturating_add(t.row_end());
                    check_stored(file, &t.name, stored_total, limits)?;
                }
            }
            Event::End(e) if e.name().as_ref() == "table:table-row" => {
                if let Some(t) = table.as_mut() {
                    stored_total = stored_total.saturating_add(t.row_end());
                    check_stored(file, &t.name, stored_total, limits)?;
                }
            }
            Event::Start(ref e) | Event::Empty(ref e)
                if matches!(
                    e.name().as_ref(),
                    "table:table-cell" | "table:covered-table-cell"
                ) =>
            {
                // A cell with content (an element with children) or a value attribute counts as
                // non-empty: an overestimate never lets a bomb through.
                let has_value = e.attributes().filter_map(Result::ok).any(|a| {
                    matches!(
                        a.key.as_ref(),
                        "office:value"
                            | "office:string-value"
                            | "office:date-value"
                            | "office:time-value"
                            | "office:boolean-value"
                            | "table:formula"
                    )
                });
                let non_empty = has_value || matches!(event, Event::Start(_));
                let count = attr(e, "table:number-columns-repeated")
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1);
                if let Some(t) = table.as_mut() {
                    t.cell(count, non_empty);
                }
            }
            _ => {}
        }
        buf.clear();
    }
}

fn check_stored(file: &str, sheet: &str, stored: u64, limits: &Limits) -> Result<(), IngestError> {
    if stored > limits.cells {
        return Err(too_large(
            file,
            format!(
                "sheet '{sheet}' holds more than {} cells once repeated cells are expanded; the limit is {} cells",
                limits.cells, limits.cells
            ),
        ));
    }
    Ok(())
}

fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes()
        .filter_map(Result::ok)
        .find(|a| a.key.as_ref() == key)
        .map(|a| a.value.into_owned())
}

fn repeats(e: &BytesStart<'_>) -> u64 {
    attr(e, "table:number-rows-repeated")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1)
}

/// The running count of one ODS table, mirroring calamine's expansion.
struct OdsTable {
    name: String,
    rows: u64,
    /// The current row: its repeat count, stored width, pending empty repeats, and the first and
    /// last non-empty column.
    row_repeats: u64,
    width: u64,
    pending_empty: u64,
    row_first: Option<u64>,
    row_last: u64,
    /// Rows from the first non-empty row up to the last non-empty one (repeats expanded), rows
    /// seen since the first non-empty one, and the column span of non-empty cells.
    block_rows: u64,
    rows_since_first: Option<u64>,
    first_column: u64,
    last_column: u64,
}

impl OdsTable {
    fn new(name: String) -> Self {
        Self {
            name,
            rows: 0,
            row_repeats: 1,
            width: 0,
            pending_empty: 0,
            row_first: None,
            row_last: 0,
            block_rows: 0,
            rows_since_first: None,
            first_column: u64::MAX,
            last_column: 0,
        }
    }

    fn row_start(&mut self, repeats: u64) {
        let repeats = repeats.min(MAX_ROWS.saturating_sub(self.rows));
        self.rows += repeats;
        self.row_repeats = repeats;
        self.width = 0;
        self.pending_empty = 0;
        self.row_first = None;
        self.row_last = 0;
    }

    fn cell(&mut self, count: u64, non_empty: bool) {
        let room = |width: u64| MAX_COLUMNS.saturating_sub(width);
        self.width += self.pending_empty.min(room(self.width));
        self.pending_empty = 0;
        let count = count.min(room(self.width));
        if non_empty {
            if count > 0 {
                self.row_first.get_or_insert(self.width);
                self.row_last = self.width + count - 1;
            }
            self.width += count;
        } else {
            self.pending_empty = count;
        }
    }

    /// Close the row; returns the cells calamine stores for it.
    fn row_end(&mut self) -> u64 {
        if let Some(since) = self.rows_since_first.as_mut() {
            *since += self.row_repeats;
        }
        if let Some(first) = self.row_first {
            let since = self.rows_since_first.get_or_insert(self.row_repeats);
            self.block_rows = *since;
            self.first_column = self.first_column.min(first);
            self.last_column = self.last_column.max(self.row_last);
        }
        self.width
    }

    fn block_columns(&self) -> u64 {
        if self.block_rows == 0 {
            0
        } else {
            self.last_column - self.first_column + 1
        }
    }
}
