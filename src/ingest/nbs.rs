//! data.stats.gov.cn 分省年度数据 exports as downloaded, and the same region × year table
//! without its title lines.
//!
//! Owns: the title lines (`数据库：`, `指标：name(unit)`, `时间：`), the `地区,2024年,2023年,…`
//! table (wide by year → long) and the footnotes (`注：…`, lines indented with full-width
//! spaces, `数据来源：国家统计局`), which become notices. Must not: match region names itself
//! (the collector does).

use std::path::Path;

use super::collect::{Collector, parse_year};
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
fn is_footnote(line: &str) -> bool {
    let t = line.trim();
    line.starts_with('\u{3000}')
        || ["注", "数据来源", "资料来源", "说明", "备注"]
            .iter()
            .any(|k| t.starts_with(k))
}

fn file_stem(file: &str) -> String {
    Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
        .unwrap_or(file)
        .to_owned()
}

/// Parse an NBS export. `titled` = the file has title lines before the header.
pub(crate) fn parse(
    text: &str,
    lines: &[Line<'_>],
    titled: bool,
    c: &mut Collector<'_>,
) -> Result<(), IngestError> {
    let file = c.file;
    let mut indicator: Option<(String, Option<String>, u64)> = None;
    let mut header_at = None;
    for (i, line) in lines.iter().enumerate() {
        let t = line.text.trim();
        if t.is_empty() {
            continue;
        }
        let first_cell = t.split([',', '\t', ';']).next().unwrap_or("");
        if role_of(first_cell.trim_matches('"')) == Some(Role::Region) && t.len() > first_cell.len()
        {
            header_at = Some(i);
            break;
        }
        if let Some(name) = title_value(t, "指标") {
            let (name, unit) = split_name_unit(name);
            indicator = Some((name, unit, line.number));
        } else if title_value(t, "数据库").is_none() && title_value(t, "时间").is_none() {
            c.notice(
                "ingest.preamble_skipped",
                format!("line before the table skipped: {t}"),
                Some(Position::line(file, line.number)),
            );
        }
        if !titled {
            break;
        }
    }
    let Some(header_at) = header_at else {
        return Err(IngestError::Layout {
            pos: Position::file(file),
            detail: "NBS export without a header line starting with 地区".to_owned(),
        });
    };
    let header_line = lines[header_at];
    let (indicator, unit) = match indicator {
        Some((name, unit, _)) if !name.is_empty() => (name, unit),
        _ => {
            let name = file_stem(file);
            c.notice(
                "ingest.indicator_from_file_name",
                format!("no '指标：' line: the indicator is named after the file, '{name}'"),
                Some(Position::line(file, header_line.number)),
            );
            (name, None)
        }
    };
    if let Some(unit) = &unit {
        c.unit(&indicator, unit, Position::line(file, header_line.number));
    }

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
    let records = table::records(
        &text[header_line.start..table_end],
        header_line.number,
        delim,
        file,
    )?;
    let mut records = records.into_iter().filter(|r| !r.is_blank());
    let Some(header) = records.next() else {
        return Err(IngestError::Layout {
            pos: Position::file(file),
            detail: "no header".to_owned(),
        });
    };
    let width = header.trimmed_len();
    let region_name = header.get(0).trim().to_owned();

    let mut years: Vec<(usize, i32)> = Vec::new();
    for col in 1..width {
        let name = header.get(col).trim();
        let pos = Position::cell(file, header.line, col + 1, Some(name));
        match parse_year(name) {
            Some(y) => match years.iter().find(|(_, seen)| *seen == y) {
                Some(&(first, _)) => c.error(IngestError::DuplicateColumn {
                    pos,
                    name: name.to_owned(),
                    first_column: first + 1,
                }),
                None => years.push((col, y)),
            },
            None => c.error(IngestError::BadYear {
                pos,
                value: name.to_owned(),
            }),
        }
    }

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
        let region_pos = c.cell(record.line, 1, &region_name);
        let Some(region) = c.region(record.get(0), region_pos.clone()) else {
            continue;
        };
        if !c.claim(format!("region '{region}'"), region_pos) {
            continue;
        }
        for &(col, year) in &years {
            let Some(field) = record.fields.get(col) else {
                continue;
            };
            let pos = c.cell(record.line, col + 1, header.get(col).trim());
            if let Some(v) = c.value(field, pos) {
                c.push(&region, year, &indicator, v);
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
