//! Three-line tables as a Word document (`docx-rs`): per table a numbered caption, the table
//! with exactly three horizontal rules — a thick one above the header, a thin one under it and
//! a thick one under the last row — and no vertical rules, then the source note.

use docx_rs::{
    AlignmentType, BorderType, Docx, Paragraph, Run, RunFonts, Table, TableCell, TableCellBorder,
    TableCellBorderPosition, TableCellBorders, TableRow,
};

use super::PubTable;
use crate::error::{Error, Result};

/// Rule widths in eighths of a point: 1.5 pt for the top and bottom rules, 0.75 pt under the
/// header (the booktabs proportions).
const HEAVY: usize = 12;
const LIGHT: usize = 6;

/// Body text size in half-points (10.5 pt, 五号).
const TEXT_SIZE: usize = 21;
/// Note size in half-points (9 pt, 小五).
const NOTE_SIZE: usize = 18;

fn rule(position: TableCellBorderPosition, size: usize) -> TableCellBorder {
    TableCellBorder::new(position)
        .border_type(BorderType::Single)
        .size(size)
        .color("000000")
}

fn run(text: &str, size: usize) -> Run {
    Run::new()
        .add_text(text)
        .size(size)
        .fonts(RunFonts::new().ascii("Times New Roman").east_asia("SimSun"))
}

fn cell(text: &str, numeric: bool, borders: TableCellBorders) -> TableCell {
    let align = if numeric {
        AlignmentType::Right
    } else {
        AlignmentType::Left
    };
    TableCell::new()
        .add_paragraph(Paragraph::new().add_run(run(text, TEXT_SIZE)).align(align))
        .set_borders(borders)
}

fn table(t: &PubTable) -> Table {
    let columns = t.header.len();
    let numeric: Vec<bool> = (0..columns).map(|c| t.numeric_column(c)).collect();
    let none = TableCellBorders::with_empty;
    let header_borders = none()
        .set(rule(TableCellBorderPosition::Top, HEAVY))
        .set(rule(TableCellBorderPosition::Bottom, LIGHT));
    let mut rows = vec![TableRow::new(
        t.header
            .iter()
            .zip(&numeric)
            .map(|(h, &n)| cell(h, n, header_borders.clone()))
            .collect(),
    )];
    let last = t.body.len().saturating_sub(1);
    for (i, row) in t.body.iter().enumerate() {
        let borders = if i == last {
            none().set(rule(TableCellBorderPosition::Bottom, HEAVY))
        } else {
            none()
        };
        rows.push(TableRow::new(
            row.iter()
                .zip(&numeric)
                .map(|(c, &n)| cell(&c.text(), n, borders.clone()))
                .collect(),
        ));
    }
    // No table-level borders at all: the three rules are the cells' own.
    Table::new(rows).clear_all_border()
}

/// A document with every table, each preceded by its numbered caption and followed by its
/// source note.
pub fn document(tables: &[PubTable]) -> Result<Vec<u8>> {
    let mut doc = Docx::new();
    for t in tables {
        doc = doc
            .add_paragraph(
                Paragraph::new()
                    .add_run(run(&t.numbered_caption(), TEXT_SIZE).bold())
                    .align(AlignmentType::Center),
            )
            .add_table(table(t))
            .add_paragraph(Paragraph::new().add_run(run(&t.note, NOTE_SIZE)))
            .add_paragraph(Paragraph::new());
    }
    let mut bytes = std::io::Cursor::new(Vec::new());
    doc.build()
        .pack(&mut bytes)
        .map_err(|e| Error::Internal(format!("docx: {e}")))?;
    Ok(bytes.into_inner())
}
