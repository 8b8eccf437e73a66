//! Tables with years across whose region and indicator columns are found by their content: the
//! shape of yearbook CDs, EPS downloads and thesis appendices — an optional index-number
//! column, an indicator column whose name may stand only on the first row of its block
//! (`一般公共预算支出（亿元）i`), a region column without a header, one column per year
//! (`2019`, `2019年`).
//!
//! Owns: finding the header row (the first with year cells), the year columns (by header), the
//! region column (the column whose values are mostly names of the region set), the indicator
//! column (text that repeats or is filled down over a block), footnote marks and units in
//! indicator names, a [`LayoutHint`] that names the columns instead, and walking the rows.
//! Must not: decide whether a file has this shape before the header-based layouts had their say
//! (`super::walk` does).

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};

use super::collect::{Collector, Locate, parse_value, parse_year};
use super::error::{IngestError, Position};
use super::hint::{LayoutHint, column_letter};
use super::layout::{Role, role_of};
use super::nbs::{file_stem, is_footnote, split_name_unit};
use super::regions::{RegionMatch, RegionSet};
use super::table::{self, Record};

/// Non-blank rows searched for the header row (title lines may stand above it).
const HEADER_SEARCH: usize = 20;

/// Rows after the header that content detection looks at: enough for dozens of blocks of 31
/// provinces, and a bound on the work for any file.
const SAMPLE_ROWS: usize = 2_000;

/// Whether the header-based detection's error `err` on the first row `first` leaves room for
/// this shape: that row names no region column (or none of the known columns) and no year
/// column (a file with a year column is long or wide, with its own errors).
pub(crate) fn may_read(err: &IngestError, first: &Record<'_>) -> bool {
    matches!(
        err,
        IngestError::MissingColumn { .. }
            | IngestError::Layout { .. }
            | IngestError::NoHeader { .. }
    ) && !first
        .fields
        .iter()
        .any(|f| role_of(&f.text) == Some(Role::Year))
}

/// A header row of years across: some cells are years and no cell is another number (a data
/// row such as `北京,2020,1.5` has one).
fn is_year_header(r: &Record<'_>) -> bool {
    let mut years = false;
    for f in &r.fields {
        if parse_year(&f.text).is_some() {
            years = true;
        } else if parse_value(&f.text, f.quoted).is_ok_and(|v| v.is_some()) {
            return false;
        }
    }
    years
}

/// Whether one of the first rows has a year cell (`2019`, `2019年`): the header of a table with
/// years across.
pub(crate) fn has_year_row(text: &str, delim: char, file: &str) -> bool {
    table::stream(text, 1, delim, file)
        .map_while(Result::ok)
        .filter(|r| !r.is_blank())
        .take(HEADER_SEARCH)
        .any(|r| is_year_header(&r))
}

/// What the sample says about one column.
#[derive(Default)]
struct Stats {
    non_empty: usize,
    /// Cells naming a region (or an aggregate) of the detection set.
    regions: usize,
    numbers: usize,
    /// Hashes of the distinct text cells.
    distinct: HashSet<u64>,
}

/// The columns (0-based) of the table and its header row.
struct Columns {
    header_line: u64,
    header: Vec<String>,
    years: Vec<(usize, i32)>,
    region: usize,
    indicator: Option<usize>,
    unit: Option<usize>,
}

/// Read `text` as a table with years across; `hint` names columns instead of detecting them.
pub(crate) fn parse(
    text: &str,
    regions: Option<&RegionSet>,
    hint: Option<&LayoutHint>,
    c: &mut Collector<'_>,
) -> Result<(), IngestError> {
    let file = c.file;
    let first = table::line_iter(text)
        .find(|l| !l.text.trim().is_empty())
        .ok_or_else(|| IngestError::Empty {
            pos: Position::file(file),
        })?;
    let delim = table::sniff_delimiter(first.text);
    table::check(text, 1, delim, file)?;
    let cols = columns(text, delim, regions, hint, c)?;
    let start = table::line_iter(text)
        .find(|l| l.number == cols.header_line)
        .map_or(0, |l| l.start);
    let rows = table::stream(&text[start..], cols.header_line, delim, file)
        .map_while(Result::ok)
        .skip(1)
        .filter(|r| !r.is_blank());
    walk(&cols, rows, c)
}

/// Find the header row and decide every column's role.
fn columns(
    text: &str,
    delim: char,
    regions: Option<&RegionSet>,
    hint: Option<&LayoutHint>,
    c: &mut Collector<'_>,
) -> Result<Columns, IngestError> {
    let file = c.file;
    let is_header = |r: &Record<'_>| match hint.and_then(|h| h.years) {
        Some((from, to)) => (from..=to).any(|k| parse_year(r.get(k)).is_some()),
        None => is_year_header(r),
    };
    let mut records = table::stream(text, 1, delim, file)
        .map_while(Result::ok)
        .filter(|r| !r.is_blank());
    let mut skipped = Vec::new();
    let header = loop {
        match records.next() {
            Some(r) if is_header(&r) => break r,
            Some(r) if skipped.len() < HEADER_SEARCH => skipped.push(r),
            _ => {
                let detail = match hint.and_then(|h| h.years) {
                    Some((from, to)) => format!(
                        "no row of the first {HEADER_SEARCH} has a year (2019, 2019年) in columns {}:{}",
                        column_letter(from),
                        column_letter(to)
                    ),
                    None => {
                        return Err(IngestError::Layout {
                            pos: Position::file(file),
                            detail: format!(
                                "no row of the first {HEADER_SEARCH} has year columns (2019, 2019年), and no header names a region column"
                            ),
                        });
                    }
                };
                return Err(IngestError::LayoutHint {
                    pos: Position::file(file),
                    detail,
                });
            }
        }
    };
    for r in &skipped {
        c.notice(
            "ingest.preamble_skipped",
            format!("line before the table skipped: {}", cells_text(r)),
            Some(Position::line(file, r.line)),
        );
    }
    let names: Vec<String> = header
        .fields
        .iter()
        .map(|f| f.text.trim().to_owned())
        .collect();
    let years = year_columns(&header, &names, hint, file)?;

    // The sample: per column, what its cells look like.
    let bundled;
    let set = match regions {
        Some(set) => set,
        None => {
            bundled = RegionSet::cn_provinces();
            &bundled
        }
    };
    let is_year = |k: usize| years.iter().any(|(y, _)| *y == k);
    let hasher = RandomState::new();
    let mut stats: Vec<Stats> = Vec::new();
    let mut data_rows = 0usize;
    let mut width = header.trimmed_len();
    for r in records.take(SAMPLE_ROWS) {
        let has_values = years.iter().any(|(k, _)| value_in(&r, *k));
        if !has_values && r.fields.iter().any(|f| is_footnote(&f.text)) {
            continue;
        }
        width = width.max(r.trimmed_len());
        data_rows += usize::from(has_values);
        stats.resize_with(stats.len().max(r.fields.len()), Stats::default);
        for (k, field) in r.fields.iter().enumerate() {
            let t = field.text.trim();
            if t.is_empty() || is_year(k) {
                continue;
            }
            let s = &mut stats[k];
            s.non_empty += 1;
            if matches!(
                set.classify(t),
                Some(RegionMatch::Matched(_) | RegionMatch::Aggregate)
            ) {
                s.regions += 1;
            }
            if parse_value(t, field.quoted).is_ok_and(|v| v.is_some()) {
                s.numbers += 1;
            } else {
                s.distinct.insert(hasher.hash_one(t));
            }
        }
    }
    stats.resize_with(width.max(names.len()), Stats::default);
    let role = |k: usize| names.get(k).and_then(|n| role_of(n));
    let described = |k: usize, what: &str| -> String {
        let name = names.get(k).filter(|n| !n.is_empty());
        match name {
            Some(n) => format!("{} ('{n}', {what})", column_letter(k)),
            None => format!("{} ({what})", column_letter(k)),
        }
    };
    let header_pos =
        |k: usize| Position::cell(file, header.line, k + 1, names.get(k).map(String::as_str));
    let hinted = |k: usize, key: &str| -> Result<usize, IngestError> {
        if k >= width || stats[k].non_empty == 0 {
            return Err(IngestError::LayoutHint {
                pos: header_pos(k),
                detail: format!(
                    "{key}={}: the file has no values in column {} (its columns run A–{})",
                    column_letter(k),
                    column_letter(k),
                    column_letter(width.saturating_sub(1))
                ),
            });
        }
        Ok(k)
    };
    let example = |region: Option<usize>, indicator: Option<usize>| {
        let hint = LayoutHint {
            region: region.unwrap_or(0),
            indicator,
            unit: None,
            years: Some((years[0].0, years[years.len() - 1].0)),
        };
        format!(
            "name the columns with a layout hint, e.g. `--layout {hint}` (on the upload page: the layout field)"
        )
    };

    let region = match hint {
        Some(h) => hinted(h.region, "region")?,
        None => {
            let mut candidates: Vec<usize> = (0..stats.len())
                .filter(|&k| {
                    !is_year(k) && stats[k].regions > 0 && stats[k].regions * 2 > data_rows
                })
                .collect();
            candidates.sort_by_key(|&k| std::cmp::Reverse(stats[k].regions));
            match candidates.as_slice() {
                [one] => *one,
                [] => {
                    return Err(IngestError::AmbiguousLayout {
                        pos: Position::line(file, header.line),
                        what: "region names",
                        detail: format!(
                            "no column has names of the region set '{}' in most of its {data_rows} rows with values; {}",
                            set.id(),
                            example(None, None)
                        ),
                    });
                }
                many => {
                    let listed: Vec<String> = many
                        .iter()
                        .map(|&k| {
                            described(
                                k,
                                &format!(
                                    "{} of {} values are region names",
                                    stats[k].regions, stats[k].non_empty
                                ),
                            )
                        })
                        .collect();
                    return Err(IngestError::AmbiguousLayout {
                        pos: header_pos(many[0]),
                        what: "region names",
                        detail: format!(
                            "columns {} are candidates; {}",
                            listed.join(" and "),
                            example(Some(many[0]), None)
                        ),
                    });
                }
            }
        }
    };
    let unit = match hint.and_then(|h| h.unit) {
        Some(k) => Some(hinted(k, "unit")?),
        None => (0..names.len()).find(|&k| k != region && role(k) == Some(Role::Unit)),
    };
    let free = |k: usize| !is_year(k) && k != region && Some(k) != unit;
    let indicator = match hint.and_then(|h| h.indicator) {
        Some(k) => Some(hinted(k, "indicator")?),
        None => match (0..names.len()).find(|&k| free(k) && role(k) == Some(Role::Indicator)) {
            Some(k) => Some(k),
            None => {
                // Text that repeats, or stands on the first row of each block only.
                let candidates: Vec<usize> = (0..stats.len())
                    .filter(|&k| {
                        let s = &stats[k];
                        free(k)
                            && role(k) != Some(Role::RowNumber)
                            && s.non_empty > 0
                            && s.numbers == 0
                            && s.distinct.len() < data_rows
                    })
                    .collect();
                match candidates.as_slice() {
                    [] => None,
                    [one] => Some(*one),
                    many => {
                        let listed: Vec<String> = many
                            .iter()
                            .map(|&k| {
                                described(k, &format!("{} distinct names", stats[k].distinct.len()))
                            })
                            .collect();
                        return Err(IngestError::AmbiguousLayout {
                            pos: header_pos(many[0]),
                            what: "indicator names",
                            detail: format!(
                                "columns {} are candidates; {}",
                                listed.join(" and "),
                                example(Some(region), Some(many[0]))
                            ),
                        });
                    }
                }
            }
        },
    };
    let unused: Vec<String> = (0..stats.len())
        .filter(|&k| free(k) && Some(k) != indicator && stats[k].non_empty > 0)
        .map(|k| described(k, &format!("{} values", stats[k].non_empty)))
        .collect();
    if !unused.is_empty() {
        c.notice(
            "ingest.ignored_columns",
            format!(
                "columns not read (neither region, indicator, unit nor year): {}",
                unused.join(", ")
            ),
            Some(Position::line(file, header.line)),
        );
    }
    Ok(Columns {
        header_line: header.line,
        header: names,
        years,
        region,
        indicator,
        unit,
    })
}

/// The non-empty cells of a row, space-separated (a title or footnote line).
fn cells_text(r: &Record<'_>) -> String {
    let cells: Vec<&str> = r
        .fields
        .iter()
        .map(|f| f.text.trim())
        .filter(|t| !t.is_empty())
        .collect();
    cells.join(" ")
}

/// Whether column `k` of `r` holds a number.
fn value_in(r: &Record<'_>, k: usize) -> bool {
    r.fields
        .get(k)
        .is_some_and(|f| parse_value(&f.text, f.quoted).is_ok_and(|v| v.is_some()))
}

/// The year columns: those the hint names (each must be a year), else every header cell that
/// is a year. A year given twice is an error.
fn year_columns(
    header: &Record<'_>,
    names: &[String],
    hint: Option<&LayoutHint>,
    file: &str,
) -> Result<Vec<(usize, i32)>, IngestError> {
    let pos = |k: usize| Position::cell(file, header.line, k + 1, names.get(k).map(String::as_str));
    let years: Vec<(usize, i32)> = match hint.and_then(|h| h.years) {
        Some((from, to)) => (from..=to)
            .map(|k| {
                parse_year(header.get(k))
                    .map(|y| (k, y))
                    .ok_or_else(|| IngestError::LayoutHint {
                        pos: pos(k),
                        detail: format!(
                            "years={}:{}: column {} of the header row is '{}', not a year",
                            column_letter(from),
                            column_letter(to),
                            column_letter(k),
                            header.get(k).trim()
                        ),
                    })
            })
            .collect::<Result<_, _>>()?,
        None => (0..header.fields.len())
            .filter_map(|k| parse_year(header.get(k)).map(|y| (k, y)))
            .collect(),
    };
    for (i, (k, y)) in years.iter().enumerate() {
        if let Some((first, _)) = years[..i].iter().find(|(_, z)| z == y) {
            return Err(IngestError::DuplicateColumn {
                pos: pos(*k),
                name: names[*k].clone(),
                first_column: first + 1,
            });
        }
    }
    Ok(years)
}

/// `一般公共预算支出（亿元）i` → (`一般公共预算支出`, `亿元`): footnote marks dropped, the unit
/// taken from the last parentheses.
pub(crate) fn indicator_name(raw: &str) -> (String, Option<String>) {
    let (name, unit) = split_name_unit(strip_footnote_marks(raw));
    (strip_footnote_marks(&name).to_owned(), unit)
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}')
}

/// Footnote marks at the end of a name: `*`, `†`, `#`, circled and superscript digits always;
/// lowercase letters or digits right after a closing parenthesis (`（亿元）i`, `(%)2`); a
/// lowercase roman numeral or single letter right after a Chinese character (`支出ii`).
/// Latin words (`人均gdp`) and digits after Chinese text (`5G`, `人口2`) stay.
fn strip_footnote_marks(raw: &str) -> &str {
    let mut t = raw.trim();
    loop {
        let before = t.len();
        t = t
            .trim_end_matches(|c: char| {
                matches!(c, '*' | '＊' | '†' | '‡' | '#' | '※' | '¹' | '²' | '³' | '⁰'..='⁹' | '①'..='⑳')
            })
            .trim_end();
        let run = t
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_lowercase() || c.is_ascii_digit())
            .last()
            .map(|(i, _)| i);
        if let Some(i) = run {
            let (head, mark) = t.split_at(i);
            let prev = head.chars().last();
            let roman = mark.len() <= 4 && mark.chars().all(|c| matches!(c, 'i' | 'v' | 'x'));
            let letter = mark.len() == 1 && mark.chars().all(|c| c.is_ascii_lowercase());
            if matches!(prev, Some(')' | '）')) || (prev.is_some_and(is_cjk) && (roman || letter))
            {
                t = head.trim_end();
            }
        }
        if t.len() == before {
            return t;
        }
    }
}

/// Walk the rows below the header.
fn walk<'r>(
    cols: &Columns,
    rows: impl Iterator<Item = Record<'r>>,
    c: &mut Collector<'_>,
) -> Result<(), IngestError> {
    let file = c.file;
    let name = |k: usize| cols.header.get(k).map_or("", String::as_str);
    // Without an indicator column the table holds one indicator, named after the file.
    let mut current: Option<String> = match cols.indicator {
        Some(_) => None,
        None => {
            let stem = file_stem(file);
            c.notice(
                "ingest.indicator_from_file_name",
                format!("no indicator column: the indicator is named after the file, '{stem}'"),
                Some(Position::line(file, cols.header_line)),
            );
            Some(stem)
        }
    };
    let mut count = 0usize;
    for record in rows {
        if c.full() {
            break;
        }
        let line = record.line;
        if let Some(k) = cols.indicator {
            let raw = record.get(k).trim();
            if !raw.is_empty() {
                let pos = c.cell(line, k + 1, name(k));
                let (indicator, unit) = indicator_name(raw);
                current = c.indicator(&indicator, pos);
                if let (Some(indicator), Some(unit)) = (&current, unit) {
                    c.unit(indicator, &unit, pos);
                }
            }
        }
        let has_values = cols.years.iter().any(|(k, _)| value_in(&record, *k));
        let region_raw = record.get(cols.region);
        if region_raw.trim().is_empty() {
            if has_values {
                c.error(IngestError::EmptyKey {
                    pos: c.cell(line, cols.region + 1, name(cols.region)).position(),
                    what: "region name",
                });
            } else if record.fields.iter().any(|f| is_footnote(&f.text)) {
                c.notice(
                    "ingest.footnote",
                    cells_text(&record),
                    Some(Position::line(file, line)),
                );
            }
            continue;
        }
        count += 1;
        let Some(indicator) = current.clone() else {
            let k = cols.indicator.unwrap_or(0);
            c.error(IngestError::EmptyKey {
                pos: c.cell(line, k + 1, name(k)).position(),
                what: "indicator name (no name above this row in its column)",
            });
            continue;
        };
        if let Some(k) = cols.unit {
            c.unit(&indicator, record.get(k), c.cell(line, k + 1, name(k)));
        }
        let Some(region) = c.region(region_raw, c.cell(line, cols.region + 1, name(cols.region)))
        else {
            continue;
        };
        if !c.claim(
            format!("indicator '{indicator}', region '{region}'"),
            Position::line(file, line),
        ) {
            continue;
        }
        for &(k, year) in &cols.years {
            let Some(field) = record.fields.get(k) else {
                c.missing(1);
                continue;
            };
            if let Some(v) = c.value(field, c.cell(line, k + 1, name(k))) {
                c.push(&region, year, &indicator, v);
            }
        }
    }
    if count == 0 {
        return Err(IngestError::HeaderOnly {
            pos: Position::line(file, cols.header_line),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footnote_marks_and_units_leave_the_name() {
        let split = |s: &str| indicator_name(s);
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            split("一般公共预算支出（亿元）i"),
            ("一般公共预算支出".into(), some("亿元"))
        );
        assert_eq!(
            split("地区生产总值(亿元)ii"),
            ("地区生产总值".into(), some("亿元"))
        );
        assert_eq!(split("城镇化率（%）2"), ("城镇化率".into(), some("%")));
        assert_eq!(
            split("专利授权数*（件）"),
            ("专利授权数".into(), some("件"))
        );
        assert_eq!(
            split("R&D经费支出a（万元）①"),
            ("R&D经费支出".into(), some("万元"))
        );
        assert_eq!(split("研发强度iii"), ("研发强度".into(), None));
        assert_eq!(split("人均gdp"), ("人均gdp".into(), None));
        assert_eq!(split("5G基站数"), ("5G基站数".into(), None));
        assert_eq!(split("人口2"), ("人口2".into(), None));
        assert_eq!(split("GDP"), ("GDP".into(), None));
    }
}
