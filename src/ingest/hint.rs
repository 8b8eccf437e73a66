//! A layout hint: the user names the columns of a table with years across when its content does
//! not say them unambiguously (`region=B,indicator=A,years=C:V,unit=D`).
//!
//! Owns: [`LayoutHint`], its text form and spreadsheet column letters. Must not: read a table —
//! `blocks` checks the hint against the file (a hint naming a column the file does not have is
//! an error there, with the file's position).

use std::fmt;
use std::str::FromStr;

use super::table::MAX_COLUMNS;

/// Which columns (0-based) of a table with years across hold what. Columns not named are
/// detected from the content (indicator, unit) or the header (years).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutHint {
    pub region: usize,
    pub indicator: Option<usize>,
    pub unit: Option<usize>,
    /// First and last year column, inclusive.
    pub years: Option<(usize, usize)>,
}

/// How the hint is written, for messages and `--help`.
pub const HINT_SYNTAX: &str = "region=B[,indicator=A][,unit=D][,years=C:V] (columns as spreadsheet letters or numbers from 1)";

/// The spreadsheet letter of a 0-based column: 0 → `A`, 25 → `Z`, 26 → `AA`.
pub fn column_letter(column: usize) -> String {
    let mut n = column + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// `B` or `2` → 1 (0-based); `None` for anything else or a column past [`MAX_COLUMNS`].
fn parse_column(raw: &str) -> Option<usize> {
    let s = raw.trim();
    let column = if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse::<usize>().ok()?.checked_sub(1)?
    } else if !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_alphabetic()) {
        s.bytes().fold(0usize, |n, b| {
            n * 26 + usize::from(b.to_ascii_uppercase() - b'A') + 1
        }) - 1
    } else {
        return None;
    };
    (column < MAX_COLUMNS).then_some(column)
}

impl FromStr for LayoutHint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut region = None;
        let mut indicator = None;
        let mut unit = None;
        let mut years = None;
        let column = |key: &str, value: &str| {
            parse_column(value).ok_or_else(|| {
                format!("'{key}={value}': '{value}' is not a column (e.g. B or 2, at most column {MAX_COLUMNS})")
            })
        };
        for part in text
            .split([',', '，', ';'])
            .filter(|p| !p.trim().is_empty())
        {
            let Some((key, value)) = part.split_once(['=', ':']) else {
                return Err(format!(
                    "'{}' is not key=column; write {HINT_SYNTAX}",
                    part.trim()
                ));
            };
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
            let slot = match key.as_str() {
                "region" => &mut region,
                "indicator" => &mut indicator,
                "unit" => &mut unit,
                "years" => {
                    let (from, to) = value.split_once([':', '-']).unwrap_or((value, value));
                    let (from, to) = (column(&key, from)?, column(&key, to)?);
                    if from > to {
                        return Err(format!(
                            "'years={value}': the first column comes after the last"
                        ));
                    }
                    if years.replace((from, to)).is_some() {
                        return Err("years is named twice".to_owned());
                    }
                    continue;
                }
                other => {
                    return Err(format!(
                        "unknown key '{other}' (known: region, indicator, unit, years); write {HINT_SYNTAX}"
                    ));
                }
            };
            if slot.replace(column(&key, value)?).is_some() {
                return Err(format!("{key} is named twice"));
            }
        }
        let Some(region) = region else {
            return Err(format!(
                "the hint must name the region column; write {HINT_SYNTAX}"
            ));
        };
        let hint = LayoutHint {
            region,
            indicator,
            unit,
            years,
        };
        let named = [
            ("region", Some(region)),
            ("indicator", indicator),
            ("unit", unit),
        ];
        for (i, (a, col)) in named.iter().enumerate() {
            let Some(col) = col else { continue };
            if let Some((b, _)) = named[..i].iter().find(|(_, c)| *c == Some(*col)) {
                return Err(format!(
                    "column {} is named for both {b} and {a}",
                    column_letter(*col)
                ));
            }
            if years.is_some_and(|(from, to)| (from..=to).contains(col)) {
                return Err(format!(
                    "column {} is named for {a} and lies in the years range",
                    column_letter(*col)
                ));
            }
        }
        Ok(hint)
    }
}

impl fmt::Display for LayoutHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "region={}", column_letter(self.region))?;
        if let Some(c) = self.indicator {
            write!(f, ",indicator={}", column_letter(c))?;
        }
        if let Some(c) = self.unit {
            write!(f, ",unit={}", column_letter(c))?;
        }
        if let Some((from, to)) = self.years {
            write!(f, ",years={}:{}", column_letter(from), column_letter(to))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_numbers_name_columns() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
        for (text, col) in [("A", 0), ("b", 1), ("AA", 26), ("ZZ", 701), ("3", 2)] {
            assert_eq!(parse_column(text), Some(col), "{text}");
            if text.bytes().all(|b| b.is_ascii_alphabetic()) {
                assert_eq!(column_letter(col), text.to_ascii_uppercase());
            }
        }
        for bad in ["", "0", "A1", "ZZZZ", "-1", "2001", "北"] {
            assert_eq!(parse_column(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_hint_parses_and_prints_back() {
        let hint: LayoutHint = "region=B, indicator=A, years=C:V".parse().unwrap();
        assert_eq!(
            hint,
            LayoutHint {
                region: 1,
                indicator: Some(0),
                unit: None,
                years: Some((2, 21))
            }
        );
        assert_eq!(hint.to_string(), "region=B,indicator=A,years=C:V");
        let hint: LayoutHint = "region=3,unit=4".parse().unwrap();
        assert_eq!(hint.to_string(), "region=C,unit=D");
        assert_eq!(
            "years=C".parse::<LayoutHint>().unwrap_err(),
            format!("the hint must name the region column; write {HINT_SYNTAX}")
        );
        for (bad, says) in [
            (
                "region=B,indicator=B",
                "named for both region and indicator",
            ),
            ("region=B,years=A:C", "lies in the years range"),
            ("region=B,years=D:C", "comes after the last"),
            ("region=B,colour=C", "unknown key 'colour'"),
            ("region", "is not key=column"),
            ("region=B,region=C", "region is named twice"),
            ("region=北京", "is not a column"),
        ] {
            let err = bad.parse::<LayoutHint>().unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
