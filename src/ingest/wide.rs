//! Wide files: one row per region-year, one column per indicator
//! (`region,year,gdp,population,…`), unpivoted to the long panel.
//!
//! Owns: walking wide rows. Must not: decide the layout (see `layout`).

use super::collect::Collector;
use super::error::{IngestError, Position};
use super::layout::{Header, Role};
use super::table::Record;

/// The columns a wide file uses (0-based); indicators as (column, name).
pub(crate) struct Columns<'h> {
    pub region: usize,
    pub year: usize,
    pub indicators: Vec<(usize, &'h str)>,
}

/// The wide file's region and year columns and its indicator columns (index, name) from its
/// header; a repeated or over-long indicator name is an error, columns of a long file's roles
/// are named in a notice.
pub(crate) fn columns<'h>(
    header: &'h Header,
    c: &mut Collector<'_>,
) -> Result<Columns<'h>, IngestError> {
    let file = c.file;
    let (Some(c_region), Some(c_year)) = (header.find(Role::Region), header.find(Role::Year))
    else {
        return Err(IngestError::Layout {
            pos: Position::line(file, header.line),
            detail: "a wide file needs region and year columns".to_owned(),
        });
    };
    // Every other named column is an indicator; unnamed columns (a spreadsheet's index or
    // trailing empty columns) are skipped.
    let mut indicators: Vec<(usize, &str)> = Vec::new();
    for (i, (name, role)) in header.names.iter().zip(&header.roles).enumerate() {
        if role.is_some() || name.is_empty() {
            continue;
        }
        if let Some(&(first, _)) = indicators.iter().find(|(_, n)| *n == name.as_str()) {
            c.error(IngestError::DuplicateColumn {
                pos: Position::cell(file, header.line, i + 1, Some(name)),
                name: name.clone(),
                first_column: first + 1,
            });
            continue;
        }
        if !c.check_indicator_name(name, Position::cell(file, header.line, i + 1, None)) {
            continue;
        }
        indicators.push((i, name.as_str()));
    }
    let unused: Vec<&str> = header
        .names
        .iter()
        .zip(&header.roles)
        .filter(|(_, r)| {
            matches!(
                r,
                Some(Role::Indicator | Role::Value | Role::Unit | Role::RowNumber)
            )
        })
        .map(|(n, _)| n.as_str())
        .collect();
    if !unused.is_empty() {
        c.notice(
            "ingest.ignored_columns",
            format!("columns not used by a wide file: {}", unused.join(", ")),
            Some(Position::line(file, header.line)),
        );
    }
    Ok(Columns {
        region: c_region,
        year: c_year,
        indicators,
    })
}

pub(crate) fn parse<'r>(
    header: &Header,
    rows: impl Iterator<Item = Record<'r>>,
    c: &mut Collector<'_>,
) -> Result<(), IngestError> {
    let file = c.file;
    let Columns {
        region: c_region,
        year: c_year,
        indicators,
    } = columns(header, c)?;
    super::walk_rows(header, rows, (c_region, c_year), c, |record, keys, c| {
        let line = keys.line;
        let mut values = Vec::with_capacity(indicators.len());
        for &(i, indicator) in &indicators {
            if let Some(field) = record.fields.get(i)
                && let Some(v) = c.value(field, c.cell(line, i + 1, indicator))
            {
                values.push((indicator, v));
            }
        }
        let (Some(region), Some(year)) = (keys.region, keys.year) else {
            return;
        };
        if c.claim(
            format!("region '{region}', year {year}"),
            Position::line(file, line),
        ) {
            for (indicator, v) in values {
                c.push(&region, year, indicator, v);
            }
        }
    })
}
