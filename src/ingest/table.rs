//! A small CSV reader over decoded text that remembers where every record starts.
//!
//! Owns: splitting text into physical lines and CSV records (RFC 4180 quoting, `\n`, `\r\n` or a
//! lone `\r` as line end) with 1-based physical line numbers. Must not: interpret cells (years,
//! numbers, regions) — the layout parsers do that. The row walk parses with this reader rather
//! than with Polars because Polars reports byte offsets, while users need "line 14, column 3";
//! a clean plain table is read by Polars instead (`columnar`), which declines every file with a
//! problem to locate.

use std::borrow::Cow;

use super::error::{IngestError, Position};

/// One CSV field; `quoted` tells whether it was written in double quotes (only then may a number
/// carry thousands separators, since an unquoted comma splits the field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    /// Borrowed from the input for plain fields; owned only when quotes had to be undone.
    pub text: Cow<'a, str>,
    pub quoted: bool,
}

/// One CSV record and the physical line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record<'a> {
    pub line: u64,
    /// The first [`MAX_COLUMNS`] fields; a longer row is accepted only when the rest are empty.
    pub fields: Vec<Field<'a>>,
    /// Number of fields, counting those past [`MAX_COLUMNS`].
    pub len: usize,
}

impl Record<'_> {
    /// The text of field `i` (0-based), or `""` when the record is shorter.
    pub fn get(&self, i: usize) -> &str {
        self.fields.get(i).map_or("", |f| f.text.as_ref())
    }

    pub fn is_blank(&self) -> bool {
        self.fields.iter().all(|f| f.text.trim().is_empty())
    }

    /// Number of fields, not counting empty fields at the end (spreadsheets often add them).
    pub fn trimmed_len(&self) -> usize {
        self.fields
            .iter()
            .rposition(|f| !f.text.trim().is_empty())
            .map_or(0, |i| i + 1)
    }
}

/// A physical line: its 1-based number, its text without the line end, and the byte offset of
/// its first character in the whole text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    pub number: u64,
    pub text: &'a str,
    pub start: usize,
}

/// Split into physical lines; `\r\n`, `\n` and a lone `\r` each end a line.
pub(crate) fn lines(text: &str) -> Vec<Line<'_>> {
    line_iter(text).collect()
}

/// The physical lines of `text`, one at a time (deciding the layout needs only the first few).
pub(crate) fn line_iter(text: &str) -> impl Iterator<Item = Line<'_>> {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut number = 0u64;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let from = start;
        let end = bytes[from..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .map_or(bytes.len(), |k| from + k);
        start = match bytes.get(end) {
            None => bytes.len(),
            Some(b'\r') if bytes.get(end + 1) == Some(&b'\n') => end + 2,
            Some(_) => end + 1,
        };
        number += 1;
        Some(Line {
            number,
            text: &text[from..end],
            start: from,
        })
    })
}

/// Pick the delimiter from a header line: comma unless the line has none and has tabs or
/// semicolons instead (European Excel writes `;`).
pub(crate) fn sniff_delimiter(header: &str) -> char {
    if header.contains(',') {
        ','
    } else if header.contains('\t') {
        '\t'
    } else if header.contains(';') {
        ';'
    } else {
        ','
    }
}

/// Parse `text` (which starts on physical line `first_line`) into records. Blank lines come
/// back as records whose fields are all empty; callers skip them. Plain fields borrow from
/// `text` (no allocation per cell); quoted fields are unescaped into owned strings.
pub(crate) fn records<'a>(
    text: &'a str,
    first_line: u64,
    delim: char,
    file: &str,
) -> Result<Vec<Record<'a>>, IngestError> {
    stream(text, first_line, delim, file).collect()
}

/// The first problem [`records`] would report (an unterminated quote, too many columns), found
/// without keeping any record: a table is checked whole before its rows are walked, so such a
/// problem is reported alone, wherever it is.
pub(crate) fn check(
    text: &str,
    first_line: u64,
    delim: char,
    file: &str,
) -> Result<(), IngestError> {
    stream(text, first_line, delim, file).try_for_each(|r| r.map(drop))
}

/// [`records`] one at a time, so that walking a table keeps one record in memory, not one entry
/// per field of the file. Stops after the first error.
pub(crate) fn stream<'a>(text: &'a str, first_line: u64, delim: char, file: &str) -> Records<'a> {
    Records {
        text,
        chars: text.char_indices().peekable(),
        line: first_line,
        delim,
        file: file.to_owned(),
        done: false,
    }
}

/// The iterator of [`stream`].
pub(crate) struct Records<'a> {
    text: &'a str,
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    line: u64,
    delim: char,
    file: String,
    done: bool,
}

/// Fields of one record being read: the first [`MAX_COLUMNS`] are kept; past them only whether
/// one is non-empty (then the row is too wide; empty padding is allowed).
struct Fields<'a> {
    kept: Vec<Field<'a>>,
    count: usize,
    /// 1-based column of the last non-empty field past [`MAX_COLUMNS`].
    used_past_limit: Option<usize>,
}

impl<'a> Fields<'a> {
    fn push(&mut self, field: Field<'a>) {
        self.count += 1;
        if self.kept.len() < MAX_COLUMNS {
            self.kept.push(field);
        } else if !field.text.trim().is_empty() {
            self.used_past_limit = Some(self.count);
        }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let result = self.read();
        if !matches!(result, Some(Ok(_))) {
            self.done = true;
        }
        result
    }
}

impl<'a> Records<'a> {
    fn read(&mut self) -> Option<Result<Record<'a>, IngestError>> {
        let text = self.text;
        let record_line = self.line;
        let mut fields = Fields {
            kept: Vec::new(),
            count: 0,
            used_past_limit: None,
        };
        // Start of the current plain field in `text`; `owned` holds a quoted field's text.
        let mut field_start = self.chars.peek()?.0;
        let mut owned: Option<String> = None;
        let mut quoted = false;
        let mut at_field_start = true;
        let take_field = |owned: &mut Option<String>, start: usize, end: usize| -> Cow<'a, str> {
            match owned.take() {
                Some(s) => Cow::Owned(s),
                None => Cow::Borrowed(&text[start..end]),
            }
        };
        while let Some((i, c)) = self.chars.next() {
            if at_field_start && c == '"' {
                quoted = true;
                at_field_start = false;
                let quote_line = self.line;
                let mut closed = false;
                let mut field = String::new();
                while let Some((_, q)) = self.chars.next() {
                    match q {
                        '"' if self.chars.peek().map(|&(_, n)| n) == Some('"') => {
                            self.chars.next();
                            field.push('"');
                        }
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\r' => {
                            if self.chars.peek().map(|&(_, n)| n) == Some('\n') {
                                self.chars.next();
                            }
                            self.line += 1;
                            field.push('\n');
                        }
                        '\n' => {
                            self.line += 1;
                            field.push('\n');
                        }
                        other => field.push(other),
                    }
                }
                if !closed {
                    return Some(Err(IngestError::UnterminatedQuote {
                        pos: Position::cell(&self.file, quote_line, fields.count + 1, None),
                    }));
                }
                owned = Some(field);
                continue;
            }
            match c {
                c if c == self.delim => {
                    fields.push(Field {
                        text: take_field(&mut owned, field_start, i),
                        quoted,
                    });
                    field_start = i + c.len_utf8();
                    quoted = false;
                    at_field_start = true;
                }
                '\r' | '\n' => {
                    if c == '\r' && self.chars.peek().map(|&(_, n)| n) == Some('\n') {
                        self.chars.next();
                    }
                    fields.push(Field {
                        text: take_field(&mut owned, field_start, i),
                        quoted,
                    });
                    self.line += 1;
                    return Some(self.record(record_line, fields));
                }
                other => {
                    // Text after a closing quote (`"a"b`) is kept, as spreadsheet programs do.
                    if let Some(field) = owned.as_mut() {
                        field.push(other);
                    }
                    at_field_start = false;
                }
            }
        }
        fields.push(Field {
            text: take_field(&mut owned, field_start, text.len()),
            quoted,
        });
        Some(self.record(record_line, fields))
    }

    /// A finished record, or the error of a row using more than [`MAX_COLUMNS`] columns (empty
    /// ones at the end do not count).
    fn record(&self, line: u64, fields: Fields<'a>) -> Result<Record<'a>, IngestError> {
        if let Some(used) = fields.used_past_limit {
            return Err(IngestError::TooLarge {
                pos: Position::cell(&self.file, line, MAX_COLUMNS + 1, None),
                detail: format!("the row has {used} columns; the limit is {MAX_COLUMNS}"),
            });
        }
        Ok(Record {
            line,
            fields: fields.kept,
            len: fields.count,
        })
    }
}

/// Most columns a table may have: a wide file with one column per indicator, an NBS export
/// with one column per year, both far below this.
pub const MAX_COLUMNS: usize = 2_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'r>(r: &'r Record<'_>) -> Vec<&'r str> {
        r.fields.iter().map(|f| f.text.as_ref()).collect()
    }

    #[test]
    fn splits_lines_on_all_three_line_ends() {
        let ls = lines("a\r\nb\nc\rd");
        let got: Vec<(u64, &str)> = ls.iter().map(|l| (l.number, l.text)).collect();
        assert_eq!(got, vec![(1, "a"), (2, "b"), (3, "c"), (4, "d")]);
        assert_eq!(ls[3].start, 7);
        assert_eq!(lines("a\n").len(), 1);
        assert!(lines("").is_empty());
    }

    #[test]
    fn parses_quotes_and_keeps_physical_line_numbers() {
        let recs = records(
            "a,\"b,c\"\r\n\"x\ny\",\"say \"\"hi\"\"\"\n\nlast",
            4,
            ',',
            "f",
        )
        .unwrap();
        assert_eq!(recs.len(), 4);
        assert_eq!((recs[0].line, texts(&recs[0])), (4, vec!["a", "b,c"]));
        assert!(recs[0].fields[1].quoted && !recs[0].fields[0].quoted);
        assert_eq!(
            (recs[1].line, texts(&recs[1])),
            (5, vec!["x\ny", "say \"hi\""])
        );
        assert!(recs[2].is_blank());
        assert_eq!((recs[2].line, recs[3].line), (7, 8));
    }

    #[test]
    fn unterminated_quote_names_where_it_opened() {
        let err = records("a,b\n1,\"2\n3,4\n", 1, ',', "f.csv").unwrap_err();
        assert_eq!(err.code(), "ingest.unterminated_quote");
        let pos = err.position().unwrap();
        assert_eq!((pos.line, pos.column), (Some(2), Some(2)));
    }

    #[test]
    fn trimmed_len_ignores_trailing_empty_fields() {
        let recs = records("a,b,,\n", 1, ',', "f").unwrap();
        assert_eq!(recs[0].fields.len(), 4);
        assert_eq!(recs[0].trimmed_len(), 2);
        assert_eq!(sniff_delimiter("a\tb"), '\t');
        assert_eq!(sniff_delimiter("a;b"), ';');
    }
}
