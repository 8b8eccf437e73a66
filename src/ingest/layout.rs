//! Which of the three supported shapes a file has, and what each header column means.
//!
//! Owns: [`Layout`], header synonyms ([`Role`]) and [`detect`]. Must not: read data rows beyond
//! the header (the layout parsers do that).
//!
//! Detection, in order:
//! 1. an NBS export: the first line is a title (`数据库：…`, `指标：…`, `地区：…`, `时间：…`), or
//!    a `指标：…` line precedes the header;
//! 2. a header with region + year + indicator + value columns → long;
//! 3. a header with region + year and other columns → wide (each other column an indicator);
//! 4. a header with region + year-like columns (`2024年`, `2023`) → the NBS table shape without
//!    its title lines;
//! 5. when the header names no region column (or the header-based rules fail otherwise) and a row
//!    near the top has year cells: years across, the region and indicator columns found by their
//!    content (`blocks`).

use super::collect::parse_year;
use super::error::{IngestError, Position};
use super::regions::{RegionMatch, RegionSet, normalize};
use super::table::{Line, Record};

/// The detected shape of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Layout {
    /// data.stats.gov.cn 分省年度数据 export: title lines, a table such as
    /// `地区,2024年,2023年,…` (or with 指标 / 时间 down the rows), footnotes.
    NbsExport,
    /// `region,year,indicator,value[,unit]`.
    Long,
    /// `region,year,<indicator>,<indicator>,…`.
    Wide,
    /// Years across, the region and indicator columns found by their content or named by a
    /// [`super::LayoutHint`] (yearbook and thesis spreadsheets: `序号,指标,,2019年,2020年`).
    Blocks,
}

impl Layout {
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::NbsExport => "nbs",
            Layout::Blocks => "blocks",
            Layout::Long => "long",
            Layout::Wide => "wide",
        }
    }
}

/// What a header column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Region,
    Year,
    Indicator,
    Value,
    Unit,
    /// A spreadsheet's row number (`index`, `序号`, pandas' unnamed index): ignored.
    RowNumber,
}

/// Header synonyms, compared after [`normalize`] (case and whitespace folded).
pub(crate) fn role_of(header: &str) -> Option<Role> {
    match normalize(header).as_str() {
        "region" | "regions" | "地区" | "地区名称" | "province" | "provinces" | "省份" | "省"
        | "省份名称" | "省区市" | "region_name" | "region_code" => Some(Role::Region),
        "year" | "years" | "年份" | "年" | "年度" | "时间" => Some(Role::Year),
        "indicator" | "indicators" | "指标" | "指标名称" | "variable" | "variables"
        | "indicator_id" | "series" => Some(Role::Indicator),
        "value" | "values" | "值" | "数值" | "obs_value" => Some(Role::Value),
        "unit" | "units" | "单位" | "计量单位" => Some(Role::Unit),
        "index" | "序号" | "rownames" | "unnamed:0" => Some(Role::RowNumber),
        _ => None,
    }
}

/// Does the file start like a data.stats.gov.cn export (title lines before the table)?
pub(crate) fn is_nbs_export<'t>(lines: impl IntoIterator<Item = Line<'t>>) -> bool {
    let mut meaningful = lines
        .into_iter()
        .map(|l| l.text.trim())
        .filter(|t| !t.is_empty())
        .take(6);
    let Some(first) = meaningful.next() else {
        return false;
    };
    let title = |t: &str, key: &str| {
        t.strip_prefix(key)
            .is_some_and(|r| r.starts_with(['：', ':']))
    };
    if ["数据库", "指标", "地区", "时间"]
        .iter()
        .any(|k| title(first, k))
    {
        return true;
    }
    // A `指标：` line before anything that looks like a CSV header.
    std::iter::once(first)
        .chain(meaningful)
        .take_while(|t| !t.contains(','))
        .any(|t| title(t, "指标"))
}

/// The header's column roles; a role given twice is an error.
pub(crate) struct Header {
    pub line: u64,
    /// Number of fields, also past the [`super::table::MAX_COLUMNS`] that `names` hold.
    pub width: usize,
    pub names: Vec<String>,
    pub roles: Vec<Option<Role>>,
}

impl Header {
    pub fn find(&self, role: Role) -> Option<usize> {
        self.roles.iter().position(|r| *r == Some(role))
    }
}

/// What [`detect`] decided for a file without NBS title lines.
pub(crate) enum Shape {
    Long(Header),
    Wide(Header),
    /// Region column first, then year columns: parse as an NBS table.
    YearColumns,
}

/// Decide long / wide / year-columns from the header record.
pub(crate) fn detect(
    header: &Record,
    file: &str,
    regions: Option<&RegionSet>,
) -> Result<Shape, IngestError> {
    let names: Vec<String> = header
        .fields
        .iter()
        .map(|f| f.text.trim().to_owned())
        .collect();
    let roles: Vec<Option<Role>> = names.iter().map(|n| role_of(n)).collect();
    for (i, role) in roles.iter().enumerate() {
        if let Some(first) = role.and_then(|r| roles[..i].iter().position(|p| *p == Some(r))) {
            return Err(IngestError::DuplicateColumn {
                pos: Position::cell(file, header.line, i + 1, Some(&names[i])),
                name: names[i].clone(),
                first_column: first + 1,
            });
        }
    }
    let has = |r: Role| roles.contains(&Some(r));
    let present = (
        has(Role::Region),
        has(Role::Year),
        has(Role::Indicator),
        has(Role::Value),
    );
    let year_columns = names
        .iter()
        .skip(1)
        .filter(|n| parse_year(n).is_some())
        .count();
    let header = Header {
        line: header.line,
        width: header.len,
        names,
        roles,
    };
    match present {
        (true, true, true, true) => Ok(Shape::Long(header)),
        (true, true, false, false) => {
            if header
                .roles
                .iter()
                .zip(&header.names)
                .any(|(r, n)| r.is_none() && !n.is_empty())
            {
                Ok(Shape::Wide(header))
            } else {
                Err(missing_from(file, &header, "indicator"))
            }
        }
        (true, true, false, true) => Err(missing_from(file, &header, "indicator")),
        (true, true, true, false) => Err(missing_from(file, &header, "value")),
        (true, false, _, _) if year_columns > 0 && header.find(Role::Region) == Some(0) => {
            Ok(Shape::YearColumns)
        }
        (true, false, _, _) => Err(missing_from(file, &header, "year")),
        (false, true, _, _) | (false, _, true, _) | (false, _, _, true) => {
            Err(missing_from(file, &header, "region"))
        }
        (false, false, false, false) => {
            Err(no_header_or_layout(file, &header, regions, year_columns))
        }
    }
}

fn missing_from(file: &str, header: &Header, column: &'static str) -> IngestError {
    IngestError::MissingColumn {
        pos: Position::line(file, header.line),
        column,
        found: header.names.clone(),
    }
}

/// Nothing in the first line is a known column name: is it data (no header), a region × year
/// table without its region column name, or an unknown layout?
fn no_header_or_layout(
    file: &str,
    header: &Header,
    regions: Option<&RegionSet>,
    year_columns: usize,
) -> IngestError {
    let region_like = regions.is_some_and(|set| {
        header
            .names
            .first()
            .is_some_and(|n| matches!(set.classify(n), Some(RegionMatch::Matched(_))))
    });
    // A number that is not a year is data, not a column name.
    let numeric = header.names.iter().position(|n| {
        parse_year(n).is_none() && super::collect::parse_value(n, false).is_ok_and(|v| v.is_some())
    });
    if region_like {
        IngestError::NoHeader {
            pos: Position::cell(file, header.line, 1, None),
            detail: format!("'{}' is a region name", header.names[0]),
        }
    } else if let Some(at) = numeric {
        IngestError::NoHeader {
            pos: Position::cell(file, header.line, at + 1, None),
            detail: format!("'{}' is a number", header.names[at]),
        }
    } else if year_columns > 0 {
        missing_from(file, header, "region")
    } else {
        IngestError::Layout {
            pos: Position::line(file, header.line),
            detail: "expected an NBS export (数据库：/指标： lines), a long file \
                     (region,year,indicator,value) or a wide file (region,year,<indicators>)"
                .to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::table::{lines, records};

    fn shape(header: &str) -> Result<&'static str, String> {
        let recs = records(header, 1, ',', "f").unwrap();
        match detect(&recs[0], "f", Some(&RegionSet::cn_provinces())) {
            Ok(Shape::Long(_)) => Ok("long"),
            Ok(Shape::Wide(_)) => Ok("wide"),
            Ok(Shape::YearColumns) => Ok("years"),
            Err(e) => Err(match e {
                IngestError::MissingColumn { column, .. } => format!("missing {column}"),
                other => other.code().to_owned(),
            }),
        }
    }

    #[test]
    fn headers_decide_the_layout() {
        assert_eq!(shape("region,year,indicator,value,unit"), Ok("long"));
        assert_eq!(shape("地区,年份,指标,数值"), Ok("long"));
        assert_eq!(
            shape("province,year,chn_block4,value,units,variables"),
            Ok("long")
        );
        assert_eq!(shape("地区,年份,GDP_亿元,城镇化率_%"), Ok("wide"));
        assert_eq!(shape("Province, Year ,gdp"), Ok("wide"));
        assert_eq!(shape("地区,2024年,2023年"), Ok("years"));
        assert_eq!(shape("region,year,value"), Err("missing indicator".into()));
        assert_eq!(shape("region,year,indicator"), Err("missing value".into()));
        assert_eq!(shape("region,year"), Err("missing indicator".into()));
        assert_eq!(shape("region,gdp"), Err("missing year".into()));
        assert_eq!(shape("name,year,gdp"), Err("missing region".into()));
        assert_eq!(shape("北京,2020,gdp,1.5"), Err("ingest.no_header".into()));
        assert_eq!(shape("北京,天津"), Err("ingest.no_header".into()));
        assert_eq!(shape("foo,bar"), Err("ingest.layout".into()));
        assert_eq!(shape("name,2020,2021"), Err("missing region".into()));
        assert_eq!(shape("a,b,1.5"), Err("ingest.no_header".into()));
        assert_eq!(
            shape("region,地区,year,x"),
            Err("ingest.duplicate_column".into())
        );
    }

    #[test]
    fn nbs_title_lines_are_recognised() {
        assert!(is_nbs_export(lines(
            "数据库：分省年度数据\n指标：GDP(亿元)\n地区,2024年"
        )));
        assert!(is_nbs_export(lines("\n指标:GDP(亿元)\n地区,2024年")));
        assert!(is_nbs_export(lines(
            "时间：最近20年\n指标：GDP(亿元)\n地区,2024年"
        )));
        assert!(!is_nbs_export(lines(
            "region,year,indicator,value\n指标：x"
        )));
        assert!(!is_nbs_export(lines("")));
    }
}
