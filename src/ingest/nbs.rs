//! data.stats.gov.cn 分省年度数据 exports as downloaded, and the same region × year table
//! without its title lines.
//!
//! Owns: the title lines (`数据库：`, `指标：name(unit)`, `时间：`), the `地区,2024年,2023年,…`
//! table (wide by year → long) and the footnotes (`注：…`, lines indented with full-width
//! spaces, `数据来源：国家统计局`), which become notices. Must not: match region names itself
//! (the collector does).

use std::path::Path;

use super::collect::{Collector, Locate, parse_year};
use super::error::{IngestError, Position};
use super::layout::{Role, role_of};
use super::table::{self, Line};

/// `人口数(人口抽样调查)(人)` → (`人口数(人口抽样调查)`, `人`): the unit is the text in the last
/// parentheses (ASCII or full-width), matched with nesting.
pub(crate) fn split_name_unit(raw: &str) -> (String, Option<String>) {
    let t = raw.trim();
    let Some(last) = t.chars().last().filter(|c| matches!(c, ')' | '）')) else {
        return (t.to_owned(), None);
    };
    let mut depth = 0usize;
    for (i, ch) in t.char_indices().rev() {
        match ch {
            ')' | '）' => depth += 1,
            '(' | '（' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    let name = t[..i].trim();
                    let unit = t[i + ch.len_utf8()..t.len() - last.len_utf8()].trim();
                    if name.is_empty() || unit.is_empty() {
                        return (t.to_owned(), None);
                    }
                    return (name.to_owned(), Some(unit.to_owned()));
                }
            }
            _ => {}
        }
    }
    (t.to_owned(), None)
}

/// `key：value` (full-width or ASCII colon) → value.
fn title_value<'t>(line: &'t str, key: &str) -> Option<&'t str> {
    let rest = line.trim().strip_prefix(key)?;
    rest.strip_prefix('：')
        .or_else(|| rest.strip_prefix(':'))
        .map(str::trim)
}

/// A footnote line ends the table: `注：`, `数据来源：`, or text indented with full-width spaces.
pub(crate) fn is_footnote(line: &str) -> bool {
    let t = line.trim();
    line.starts_with('\u{3000}')
        || ["注", "数据来源", "资料来源", "说明", "备注"]
            .iter()
            .any(|k| t.starts_with(k))
}

pub(crate) fn file_stem(file: &str) -> String {
    Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
        .unwrap_or(file)
        .to_owned()
}

/// The three dimensions of an NBS query: one is fixed by a title line, one runs down the rows,
/// one across the columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dim {
    Region,
    Year,
    Indicator,
}

impl Dim {
    fn of(role: Option<Role>) -> Option<Dim> {
        match role? {
            Role::Region => Some(Dim::Region),
            Role::Year => Some(Dim::Year),
            Role::Indicator => Some(Dim::Indicator),
            _ => None,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Dim::Region => "地区",
            Dim::Year => "时间",
            Dim::Indicator => "指标",
        }
    }
}

/// One coordinate of a cell.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    Region(String),
    Year(i32),
    Indicator(String),
}

/// Parse one header or row label of dimension `dim`; errors and notices go to the collector.
fn key_of(dim: Dim, raw: &str, pos: impl Locate + Clone, c: &mut Collector<'_>) -> Option<Key> {
    match dim {
        Dim::Region => c.region(raw, pos).map(|r| Key::Region(r.to_string())),
        Dim::Year => c.year(raw, pos).map(Key::Year),
        Dim::Indicator => {
            let (name, unit) = split_name_unit(raw);
            let name = c.indicator(&name, pos.clone())?;
            if let Some(unit) = unit {
                c.unit(&name, &unit, pos);
            }
            Some(Key::Indicator(name))
        }
    }
}

/// (region, year, indicator) from three keys of distinct dimensions.
fn cell_key(keys: [&Key; 3]) -> Option<(&str, i32, &str)> {
    let mut region = None;
    let mut year = None;
    let mut indicator = None;
    for key in keys {
        match key {
            Key::Region(r) => region = Some(r.as_str()),
            Key::Year(y) => year = Some(*y),
            Key::Indicator(i) => indicator = Some(i.as_str()),
        }
    }
    Some((region?, year?, indicator?))
}

fn key_text(key: &Key) -> String {
    match key {
        Key::Region(r) => format!("region '{r}'"),
        Key::Year(y) => format!("year {y}"),
        Key::Indicator(i) => format!("indicator '{i}'"),
    }
}

/// Parse an NBS export. `titled` = the file has title lines before the header.
///
/// The usual download has regions down the rows, years across and the indicator fixed by
/// `指标：name(unit)`. The site can also put 指标 or 时间 in the rows (then the fixed dimension
/// comes from `地区：…` or `时间：2024年`); the header's first cell says which, and the columns
/// are years when their names are years, otherwise the remaining dimension.
pub(crate) fn parse(
    text: &str,
    lines: &[Line<'_>],
    titled: bool,
    c: &mut Collector<'_>,
) -> Result<(), IngestError> {
    let file = c.file;
    // dimension → (title text, line)
    let mut titles: Vec<(Dim, String, u64)> = Vec::new();
    let mut header_at = None;
    for (i, line) in lines.iter().enumerate() {
        let t = line.text.trim();
        if t.is_empty() {
            continue;
        }
        let first_cell = t.split([',', '\t', ';']).next().unwrap_or("");
        let role = role_of(first_cell.trim_matches('"'));
        if Dim::of(role).is_some() && t.len() > first_cell.len() {
            header_at = Some(i);
            break;
        }
        let title = [Dim::Indicator, Dim::Region, Dim::Year]
            .into_iter()
            .find_map(|d| title_value(t, d.title()).map(|v| (d, v)));
        match title {
            Some((dim, value)) => titles.push((dim, value.to_owned(), line.number)),
            None if title_value(t, "数据库").is_some() => {}
            None => c.notice(
                "ingest.preamble_skipped",
                format!("line before the table skipped: {t}"),
                Some(Position::line(file, line.number)),
            ),
        }
        if !titled {
            break;
        }
    }
    let Some(header_at) = header_at else {
        return Err(IngestError::Layout {
            pos: Position::file(file),
            detail: "NBS export without a header line starting with 地区, 指标 or 时间".to_owned(),
        });
    };
    let header_line = lines[header_at];

    // The table runs from the header to the first footnote; everything after is footnotes.
    let footer_at = lines[header_at + 1..]
        .iter()
        .position(|l| is_footnote(l.text))
        .map(|k| header_at + 1 + k);
    let table_end = footer_at.map_or(text.len(), |k| lines[k].start);
    for line in footer_at.map_or(&[][..], |k| &lines[k..]) {
        let t = line.text.trim();
        if !t.is_empty() {
            c.notice(
                "ingest.footnote",
                t.to_owned(),
                Some(Position::line(file, line.number)),
            );
        }
    }

    let delim = table::sniff_delimiter(header_line.text);
    let table_text = &text[header_line.start..table_end];
    table::check(table_text, header_line.number, delim, file)?;
    let mut records = table::stream(table_text, header_line.number, delim, file)
        .map_while(Result::ok)
        .filter(|r| !r.is_blank());
    let Some(header) = records.next() else {
        return Err(IngestError::Layout {
            pos: Position::file(file),
            detail: "no header".to_owned(),
        });
    };
    let width = header.trimmed_len();
    let row_dim = Dim::of(role_of(header.get(0))).unwrap_or(Dim::Region);
    let any_year_column = (1..width).any(|col| parse_year(header.get(col)).is_some());
    let col_dim = if row_dim != Dim::Year && any_year_column {
        Dim::Year
    } else {
        match row_dim {
            Dim::Region => Dim::Indicator,
            Dim::Indicator => Dim::Region,
            // Years down the rows: the columns are whatever no title line fixes.
            Dim::Year if titles.iter().any(|t| t.0 == Dim::Indicator) => Dim::Region,
            Dim::Year if titles.iter().any(|t| t.0 == Dim::Region) => Dim::Indicator,
            Dim::Year => Dim::Region,
        }
    };
    let fixed_dim = [Dim::Region, Dim::Year, Dim::Indicator]
        .into_iter()
        .find(|d| *d != row_dim && *d != col_dim)
        .unwrap_or(Dim::Indicator);

    let Some(fixed) = fixed_key(fixed_dim, &titles, header.line, c)? else {
        // The fixed region is an aggregate (noticed) or unknown (an error): no rows to read.
        return Ok(());
    };

    let mut columns: Vec<(usize, Key)> = Vec::new();
    for col in 1..width {
        let name = header.get(col).trim();
        let pos = Position::cell(file, header.line, col + 1, Some(name));
        let Some(key) = key_of(col_dim, name, pos.clone(), c) else {
            continue;
        };
        match columns.iter().find(|(_, seen)| *seen == key) {
            Some(&(first, _)) => c.error(IngestError::DuplicateColumn {
                pos,
                name: name.to_owned(),
                first_column: first + 1,
            }),
            None => columns.push((col, key)),
        }
    }

    let row_name = header.get(0).trim().to_owned();
    let mut rows = 0usize;
    for record in records {
        if c.full() {
            break;
        }
        rows += 1;
        if let Some(err) = super::check_width(&record, width, file) {
            c.error(err);
            continue;
        }
        let row_pos = c.cell(record.line, 1, &row_name);
        let Some(row_key) = key_of(row_dim, record.get(0), row_pos, c) else {
            continue;
        };
        if !c.claim(key_text(&row_key), row_pos) {
            continue;
        }
        for (col, col_key) in &columns {
            let Some(field) = record.fields.get(*col) else {
                continue;
            };
            let pos = c.cell(record.line, col + 1, header.get(*col).trim());
            let value = c.value(field, pos);
            if let (Some(v), Some((region, year, indicator))) =
                (value, cell_key([&fixed, &row_key, col_key]))
            {
                c.push(region, year, indicator, v);
            }
        }
    }
    if rows == 0 {
        return Err(IngestError::HeaderOnly {
            pos: Position::line(file, header.line),
        });
    }
    Ok(())
}

/// The dimension fixed by a title line (`指标：`, `地区：`, `时间：`). A missing indicator is named
/// after the file (with a notice); a missing or multi-year 时间 is an error.
fn fixed_key(
    dim: Dim,
    titles: &[(Dim, String, u64)],
    header_line: u64,
    c: &mut Collector<'_>,
) -> Result<Option<Key>, IngestError> {
    let file = c.file;
    let title = titles.iter().rev().find(|t| t.0 == dim);
    match (dim, title) {
        (Dim::Indicator, Some((_, text, line))) if !split_name_unit(text).0.is_empty() => {
            Ok(key_of(dim, text, Position::line(file, *line), c))
        }
        (Dim::Indicator, _) => {
            let name = file_stem(file);
            c.notice(
                "ingest.indicator_from_file_name",
                format!("no '指标：' line: the indicator is named after the file, '{name}'"),
                Some(Position::line(file, header_line)),
            );
            Ok(Some(Key::Indicator(name)))
        }
        (Dim::Region, Some((_, text, line))) => {
            Ok(key_of(dim, text, Position::line(file, *line), c))
        }
        (Dim::Year, Some((_, text, line))) if parse_year(text).is_some() => {
            Ok(key_of(dim, text, Position::line(file, *line), c))
        }
        (Dim::Region | Dim::Year, title) => Err(IngestError::Layout {
            pos: Position::line(file, title.map_or(header_line, |t| t.2)),
            detail: format!(
                "the table needs one {} from a '{}：' title line",
                if dim == Dim::Year { "year" } else { "region" },
                dim.title()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_is_the_last_parenthesised_group() {
        let split = |s| split_name_unit(s);
        assert_eq!(
            split("地区生产总值(亿元)"),
            ("地区生产总值".into(), Some("亿元".into()))
        );
        assert_eq!(
            split("人口数(人口抽样调查)(人)"),
            ("人口数(人口抽样调查)".into(), Some("人".into()))
        );
        assert_eq!(
            split("固定资产投资(不含农户)实际到位资金_比上年增长(%)"),
            (
                "固定资产投资(不含农户)实际到位资金_比上年增长".into(),
                Some("%".into())
            )
        );
        assert_eq!(
            split("城镇化率（%）"),
            ("城镇化率".into(), Some("%".into()))
        );
        assert_eq!(split("GDP"), ("GDP".into(), None));
        assert_eq!(split("(亿元)"), ("(亿元)".into(), None));
        assert_eq!(split("a)"), ("a)".into(), None));
    }

    fn observations(text: &str) -> Result<Vec<(String, i32, String, f64)>, IngestError> {
        let set = crate::ingest::RegionSet::cn_provinces();
        let ing = crate::ingest::ingest(text.as_bytes(), "t.csv", Some(&set))?;
        assert_eq!(ing.layout, crate::ingest::Layout::NbsExport);
        let f = ing.panel.frame();
        let col = |n: &str| f.column(n).unwrap().clone();
        let (r, y, i, v) = (col("region"), col("year"), col("indicator"), col("value"));
        let mut out: Vec<_> = (0..f.height())
            .map(|k| {
                (
                    r.str().unwrap().get(k).unwrap().to_owned(),
                    y.i32().unwrap().get(k).unwrap(),
                    i.str().unwrap().get(k).unwrap().to_owned(),
                    v.f64().unwrap().get(k).unwrap(),
                )
            })
            .collect();
        out.sort_by(|a, b| a.partial_cmp(b).unwrap());
        Ok(out)
    }

    /// An NBS export read with the region set: its observations, sorted.
    fn assert_observations(text: &str, expected: &[(&str, i32, &str, f64)]) {
        let expected: Vec<(String, i32, String, f64)> = expected
            .iter()
            .map(|&(r, y, i, v)| (r.to_owned(), y, i.to_owned(), v))
            .collect();
        assert_eq!(observations(text).unwrap(), expected, "{text}");
    }

    /// Indicators down the rows with the region in a title; years down the rows with regions
    /// across (the aggregate column left out); one year in a title with indicators across.
    #[test]
    fn every_arrangement_of_the_three_keys_reads() {
        let gdp = "地区生产总值";
        assert_observations(
            "数据库：分省年度数据\n地区：北京市\n时间：最近2年\n指标,2024年,2023年\n\
             地区生产总值(亿元),49670.2,47353.7\n年末常住人口(万人),2183,\n数据来源：国家统计局\n",
            &[
                ("CN-BJ", 2023, gdp, 47353.7),
                ("CN-BJ", 2024, gdp, 49670.2),
                ("CN-BJ", 2024, "年末常住人口", 2183.0),
            ],
        );
        assert_observations(
            "数据库：分省年度数据\n指标：地区生产总值(亿元)\n时间,北京市,天津市,全国\n\
             2024年,49670.2,17931.3,1\n2023年,47353.7,,2\n",
            &[
                ("CN-BJ", 2023, gdp, 47353.7),
                ("CN-BJ", 2024, gdp, 49670.2),
                ("CN-TJ", 2024, gdp, 17931.3),
            ],
        );
        assert_observations(
            "数据库：分省年度数据\n时间：2024年\n地区,地区生产总值(亿元),年末常住人口(万人)\n\
             北京市,49670.2,2183\n",
            &[
                ("CN-BJ", 2024, gdp, 49670.2),
                ("CN-BJ", 2024, "年末常住人口", 2183.0),
            ],
        );
    }

    #[test]
    fn footnotes_and_titles_are_recognised() {
        assert!(is_footnote("注：按照…"));
        assert!(is_footnote("\u{3000}\u{3000}2.城镇单位数据不含私营单位。"));
        assert!(is_footnote("数据来源：国家统计局"));
        assert!(!is_footnote("北京市,1,2"));
        assert_eq!(title_value("指标：GDP(亿元)", "指标"), Some("GDP(亿元)"));
        assert_eq!(title_value("指标:GDP", "指标"), Some("GDP"));
        assert_eq!(file_stem("dir/gdp_2024.csv"), "gdp_2024");
    }
}
