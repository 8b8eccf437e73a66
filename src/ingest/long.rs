//! Long files: one observation per row, `region,year,indicator,value[,unit]` (any header synonym,
//! any column order; other columns are ignored with a notice).
//!
//! Owns: walking long rows. Must not: decide the layout (see `layout`).

use super::collect::Collector;
use super::error::{IngestError, Position};
use super::layout::{Header, Role};
use super::table::Record;

/// The columns a long file uses (0-based).
pub(crate) struct Columns {
    pub region: usize,
    pub year: usize,
    pub indicator: usize,
    pub value: usize,
    pub unit: Option<usize>,
}

/// The long file's columns from its header; a notice names the columns it does not use.
pub(crate) fn columns(header: &Header, c: &mut Collector<'_>) -> Result<Columns, IngestError> {
    let file = c.file;
    let col = |role| header.find(role);
    let (Some(region), Some(year), Some(indicator), Some(value)) = (
        col(Role::Region),
        col(Role::Year),
        col(Role::Indicator),
        col(Role::Value),
    ) else {
        return Err(IngestError::Layout {
            pos: Position::line(file, header.line),
            detail: "a long file needs region, year, indicator and value columns".to_owned(),
        });
    };
    let ignored: Vec<&str> = header
        .names
        .iter()
        .zip(&header.roles)
        .filter(|(n, r)| r.is_none() && !n.is_empty())
        .map(|(n, _)| n.as_str())
        .collect();
    if !ignored.is_empty() {
        c.notice(
            "ingest.ignored_columns",
            format!("columns not used by a long file: {}", ignored.join(", ")),
            Some(Position::line(file, header.line)),
        );
    }
    Ok(Columns {
        region,
        year,
        indicator,
        value,
        unit: col(Role::Unit),
    })
}

pub(crate) fn parse<'r>(
    header: &Header,
    rows: impl Iterator<Item = Record<'r>>,
    c: &mut Collector<'_>,
) -> Result<(), IngestError> {
    let Columns {
        region: c_region,
        year: c_year,
        indicator: c_ind,
        value: c_value,
        unit: c_unit,
    } = columns(header, c)?;
    let name = |i: usize| header.names[i].as_str();
    super::walk_rows(header, rows, (c_region, c_year), c, |record, keys, c| {
        let line = keys.line;
        let indicator = c.indicator(record.get(c_ind), c.cell(line, c_ind + 1, name(c_ind)));
        let value = match record.fields.get(c_value) {
            Some(field) => c.value(field, c.cell(line, c_value + 1, name(c_value))),
            None => None,
        };
        let (Some(region), Some(year), Some(indicator)) = (keys.region, keys.year, indicator)
        else {
            return;
        };
        if let Some(cu) = c_unit {
            c.unit(&indicator, record.get(cu), c.cell(line, cu + 1, name(cu)));
        }
        c.observe(&region, year, &indicator, value, line);
    })
}
