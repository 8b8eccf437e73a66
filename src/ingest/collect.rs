//! Cells → observations: parses years and numbers, matches regions, checks duplicate keys and
//! gathers every problem (capped) and notice while a layout parser walks the rows.
//!
//! Owns: [`Collector`] and the cell grammars ([`parse_year`], [`parse_value`]). Must not: know
//! which layout the cells came from — the layout parsers pass positions in.

use std::collections::{BTreeMap, HashMap};

use super::error::{IngestError, MAX_ERRORS, Position};
use super::regions::{RegionMatch, RegionSet, clean_name};
use super::table::Field;
use super::{Encoding, Ingested, Layout, Notice};
use polars::prelude::{Float64Chunked, NewChunkedArray, PolarsError};

use crate::types::{CodedPanel, Panel, WidePanel};

/// Plausible statistical years; anything else in a year cell is a typo or a shifted column.
const YEARS: std::ops::RangeInclusive<i32> = 1800..=2200;

/// Cell texts that mean "no observation" (compared after trimming and lower-casing).
const MISSING: &[&str] = &[
    "", "na", "n/a", "nan", "null", "none", "-", "--", "—", "–", "..", "...", "…", "……",
];

/// Fold full-width digits and signs (`２０２４`, `－`) and the Unicode minus to ASCII. ASCII
/// text (nearly every cell) is returned as it is, without allocating.
fn fold_ascii(raw: &str) -> std::borrow::Cow<'_, str> {
    if raw.is_ascii() {
        return std::borrow::Cow::Borrowed(raw);
    }
    raw.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{2212}' => '-',
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect::<String>()
        .into()
}

/// `2024`, `2024年`, `2024年度` or `2024.0` (as written by tools that store years as floats).
pub(crate) fn parse_year(raw: &str) -> Option<i32> {
    let folded = fold_ascii(raw);
    let s = folded.trim();
    let s = s
        .strip_suffix("年度")
        .or_else(|| s.strip_suffix('年'))
        .unwrap_or(s)
        .trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    if int.len() != 4
        || !int.bytes().all(|b| b.is_ascii_digit())
        || frac.is_empty()
        || !frac.bytes().all(|b| b == b'0')
    {
        return None;
    }
    int.parse().ok().filter(|y| YEARS.contains(y))
}

/// A number read from a cell: its value and the decimal places its text shows
/// (docs/method.md §1.1: two values agree to the precision written in the file).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Number {
    pub value: f64,
    pub decimals: i8,
}

/// `Ok(None)` = missing, `Ok(Some(x))` = a finite number, `Err(())` = not a number. Thousands
/// separators are accepted only in quoted cells and only in proper groups of three (`"1,234.5"`).
pub(crate) fn parse_value(raw: &str, quoted: bool) -> Result<Option<f64>, ()> {
    parse_number(raw, quoted).map(|n| n.map(|n| n.value))
}

/// [`parse_value`] with the decimal places written: `5522.950` → 3, `5523` → 0, `"1,234.5"` →
/// 1, `1.25e1` → 1; an exponent that moves the last digit shown left of the point gives a
/// negative count (`1.23E+11` → −9: the file shows the value to 10⁹). Saturates at ±127.
pub(crate) fn parse_number(raw: &str, quoted: bool) -> Result<Option<Number>, ()> {
    let folded = fold_ascii(raw);
    let s = folded.trim();
    if s.len() <= 8 && MISSING.iter().any(|m| m.eq_ignore_ascii_case(s)) {
        return Ok(None);
    }
    let plain;
    let s = if quoted && s.contains(',') {
        let body = s.trim_start_matches(['-', '+']);
        let int = body.split('.').next().unwrap_or("");
        let groups: Vec<&str> = int.split(',').collect();
        let grouped = groups.len() > 1
            && (1..=3).contains(&groups[0].len())
            && groups[1..].iter().all(|g| g.len() == 3)
            && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
        if !grouped {
            return Err(());
        }
        plain = s.replace(',', "");
        plain.as_str()
    } else {
        s
    };
    // Rust also parses "inf" and "NaN"; only finite decimal numbers are data.
    if !s.bytes().any(|b| b.is_ascii_digit()) {
        return Err(());
    }
    match s.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(Some(Number {
            value,
            decimals: decimals_written(s),
        })),
        _ => Err(()),
    }
}

/// A plain number — `-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]{1,4})?`, nothing else — as [`parse_number`]
/// reads it, found in one scan of its bytes; `None` for every other text (missing tokens,
/// blanks, full-width digits, signs, thousands separators, `inf`: [`parse_number`] decides
/// those). The value is the same `str::parse` of the same text, the decimals the same count, so
/// the two agree wherever this one answers (tested on random texts).
pub(crate) fn parse_plain(raw: &str) -> Option<Number> {
    parse_plain_prefix(raw.as_bytes()).and_then(|(n, len)| (len == raw.len()).then_some(n))
}

/// The plain number at the start of `b` and its length in bytes: [`parse_plain`] of
/// `b[..len]`, where `len` is where the grammar stops (the first byte that cannot continue the
/// number). A caller that knows the cell ends there — at its delimiter or line end — reads the
/// cell in the same scan that finds its end.
pub(crate) fn parse_plain_prefix(b: &[u8]) -> Option<(Number, usize)> {
    // The digits from `at` on, folded into `acc` (wrapping: only short runs are used), eight
    // bytes at a time while eight remain.
    let run = |at: &mut usize, acc: &mut u64| {
        let from = *at;
        while let Some((count, value)) = eight_digits(b, *at) {
            *acc = acc.wrapping_mul(TEN_TO[count]).wrapping_add(value);
            *at += count;
            if count < 8 {
                return *at - from;
            }
        }
        while let Some(&d) = b.get(*at).filter(|d| d.is_ascii_digit()) {
            *acc = acc.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
            *at += 1;
        }
        *at - from
    };
    let negative = b.first() == Some(&b'-');
    let mut at = usize::from(negative);
    let mut mantissa = 0u64;
    let int = run(&mut at, &mut mantissa);
    if int == 0 {
        return None;
    }
    let mut fraction = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        fraction = run(&mut at, &mut mantissa);
        if fraction == 0 {
            return None;
        }
    }
    let mut exponent = 0i64;
    if matches!(b.get(at), Some(b'e' | b'E')) {
        at += 1;
        let sign = b.get(at).copied();
        at += usize::from(matches!(sign, Some(b'+' | b'-')));
        let mut e = 0u64;
        if !(1..=4).contains(&run(&mut at, &mut e)) {
            return None;
        }
        // At most four digits: no wrap.
        exponent = i64::try_from(e).ok()?;
        if sign == Some(b'-') {
            exponent = -exponent;
        }
    }
    let places = i64::try_from(fraction).ok()?.saturating_sub(exponent);
    let value = match exact(mantissa, int + fraction, places) {
        Some(value) if negative => -value,
        Some(value) => value,
        // The bytes read are ASCII digits, signs, points and exponent marks.
        None => std::str::from_utf8(&b[..at])
            .ok()?
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())?,
    };
    let decimals = i8::try_from(places.clamp(i64::from(i8::MIN), i64::from(i8::MAX))).ok()?;
    Some((Number { value, decimals }, at))
}

/// 10^k for the digit counts [`eight_digits`] returns.
const TEN_TO: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// The ASCII digits that open the eight bytes of `b` at `at` — their count and their value —
/// found with word arithmetic on the eight bytes at once (no byte carries into its neighbour:
/// every sum below stays within its byte); `None` when fewer than eight bytes remain.
fn eight_digits(b: &[u8], at: usize) -> Option<(usize, u64)> {
    const BYTES: u64 = 0x0101_0101_0101_0101;
    let word = u64::from_le_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?);
    let low = word & (0x0F * BYTES);
    // A byte is a digit when its high nibble is 3 and its low nibble below 10 (+6 stays < 16).
    let not_digit =
        ((word & (0xF0 * BYTES)) ^ (0x30 * BYTES)) | ((low + 0x06 * BYTES) & (0xF0 * BYTES));
    // The high bit of every byte of `not_digit` that is not zero; the first such byte ends the run.
    let ends = (((not_digit & (0x7F * BYTES)) + 0x7F * BYTES) | not_digit) & (0x80 * BYTES);
    let count = (ends.trailing_zeros() / 8) as usize;
    if count == 0 {
        return Some((0, 0));
    }
    // The run's digits moved to the end of the word behind zeros, then summed pairwise:
    // 2 digits per 16 bits, 4 per 32, 8 per 64 (the first byte is the most significant digit).
    let digits = low << (8 * (8 - count));
    let pairs = (digits * 10 + (digits >> 8)) & (0xFF * 0x0001_0001_0001_0001);
    let quads = (pairs * 100 + (pairs >> 16)) & (0xFFFF * 0x0000_0001_0000_0001);
    Some((count, (quads * 10_000 + (quads >> 32)) & 0xFFFF_FFFF))
}

/// Powers of ten that `f64` holds exactly.
const EXACT_POWERS: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The magnitude of a plain number of `digits` digits (`mantissa`, the point left out) that
/// shows `places` decimals, when the digits are at most 15 (an integer below 2^53) and the
/// places at most 22 either way: that integer and the power of ten are exact `f64`s, so one
/// multiplication or division rounds correctly — the value `str::parse` gives (it takes the
/// same path, Clinger's fast path). `None` leaves the rest to `str::parse`.
fn exact(mantissa: u64, digits: usize, places: i64) -> Option<f64> {
    if digits > 15 {
        return None;
    }
    // Fifteen digits stay below 2^53: the conversion is exact.
    let m = mantissa as f64;
    let power = *EXACT_POWERS.get(usize::try_from(places.unsigned_abs()).ok()?)?;
    Some(if places >= 0 { m / power } else { m * power })
}

/// Decimal places shown by a number's text (one that parses as `f64`): the digits after the
/// point, less the exponent.
fn decimals_written(s: &str) -> i8 {
    let (mantissa, exponent) = s.split_once(['e', 'E']).unwrap_or((s, "0"));
    let fraction = mantissa.split_once('.').map_or(0, |(_, f)| f.len());
    // An exponent too long for i64 leaves a value of 0 or inf, which never gets here with
    // digits that matter; saturating keeps the count meaningful.
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let places = i64::try_from(fraction)
        .unwrap_or(i64::MAX)
        .saturating_sub(exponent);
    i8::try_from(places.clamp(i64::from(i8::MIN), i64::from(i8::MAX))).unwrap_or(0)
}

/// Where a cell is. Turned into a [`Position`] only when something is wrong with the cell, so
/// that walking millions of good cells allocates nothing for positions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cell<'n> {
    file: &'n str,
    pub line: u64,
    column: usize,
    name: &'n str,
}

/// Anything that can say where a problem is: a [`Cell`] (built into a position on demand) or a
/// ready [`Position`] (header and title lines).
pub(crate) trait Locate {
    fn position(&self) -> Position;
    fn line(&self) -> u64;
}

impl Locate for Cell<'_> {
    fn position(&self) -> Position {
        Position::cell(self.file, self.line, self.column, Some(self.name))
    }
    fn line(&self) -> u64 {
        self.line
    }
}

impl Locate for Position {
    fn position(&self) -> Position {
        self.clone()
    }
    fn line(&self) -> u64 {
        self.line.unwrap_or(0)
    }
}

/// A fast, non-cryptographic hash for the per-row maps (keys come from one user file).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// What happened to one raw region name (cached: files repeat names on every row).
#[derive(Debug, Clone)]
enum Resolved {
    /// Shared, so that looking a name up again costs no allocation.
    Id(std::rc::Rc<str>),
    Aggregate,
    Unknown,
}

/// Accumulates observations, problems and notices for one file.
pub(crate) struct Collector<'a> {
    pub file: &'a str,
    regions: Option<&'a RegionSet>,
    errors: Vec<IngestError>,
    notices: Vec<Notice>,
    /// Observations, with region and indicator names interned.
    region: Vec<u32>,
    year: Vec<i32>,
    indicator: Vec<u32>,
    value: Vec<f64>,
    /// Decimal places each value shows in the file ([`Number::decimals`]).
    decimals: Vec<i8>,
    /// A wide table read column-wise, kept wide instead of as observations.
    wide: Option<WideCells>,
    region_names: Names,
    indicator_names: Names,
    /// (region, year, indicator) of every observation claimed so far → its line.
    observations: FastMap<(u32, i32, u32), u64>,
    units: BTreeMap<String, String>,
    resolved: FastMap<String, Resolved>,
    /// aggregate name → (first line, rows)
    aggregates: BTreeMap<String, (u64, usize)>,
    missing_cells: usize,
    keys: HashMap<String, u64>,
    /// Distinct names not in the region set, the first ones as written.
    unknown_names: Vec<String>,
    unknown_count: usize,
    /// Where the region name past [`MAX_UNKNOWN_NAMES`] is: set, the walk stops.
    too_many_unknown: Option<Position>,
}

/// A wide table's cells as read column-wise: its rows' region ids and years, one column of
/// values per indicator id, and the decimals of the values present, row by row (the panel's
/// order, [`crate::types::WidePanel`]).
pub(crate) struct WideCells {
    pub region: Vec<u32>,
    pub year: Vec<i32>,
    pub columns: Vec<WideColumn>,
    pub decimals: Vec<i8>,
}

/// One indicator's value in every row (any number where the cell is missing) and the rows
/// whose cell is missing, ascending.
pub(crate) struct WideColumn {
    pub values: Vec<f64>,
    pub missing: Vec<u32>,
}

impl WideColumn {
    /// The column with nulls where cells are missing (moved, not copied, when none is).
    fn into_chunked(self, name: &str) -> Float64Chunked {
        if self.missing.is_empty() {
            return Float64Chunked::from_vec(name.into(), self.values);
        }
        let mut present = vec![true; self.values.len()];
        for &k in &self.missing {
            present[k as usize] = false;
        }
        Float64Chunked::from_iter_options(
            name.into(),
            self.values
                .iter()
                .zip(present)
                .map(|(&v, p)| p.then_some(v)),
        )
    }
}

/// Distinct names, each with a small id (its index).
#[derive(Default)]
struct Names {
    names: Vec<String>,
    ids: FastMap<String, u32>,
}

impl Names {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 2^32 distinct names");
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }
}

/// Distinct unknown region names that get an error with an edit-distance suggestion; past
/// these, the file is most likely read against the wrong region set and one error says so.
pub const MAX_UNKNOWN_NAMES: usize = 20;

/// Unknown names quoted in the "too many unknown names" error.
const UNKNOWN_NAMES_QUOTED: usize = 5;

/// Longest region or indicator name accepted, in characters (the longest official name of a
/// Chinese region is 8 characters, NBS indicator names stay under 60).
pub const MAX_NAME_CHARS: usize = 200;

/// A name over [`MAX_NAME_CHARS`], as an error at `pos`.
fn name_too_long(raw: &str, what: &'static str, pos: Position) -> Option<IngestError> {
    // Bytes bound characters from above: most names are decided without counting.
    if raw.len() <= MAX_NAME_CHARS {
        return None;
    }
    let chars = raw.chars().count();
    (chars > MAX_NAME_CHARS).then(|| IngestError::TooLarge {
        pos,
        detail: format!("a {what} of {chars} characters; the limit is {MAX_NAME_CHARS}"),
    })
}

impl<'a> Collector<'a> {
    pub fn new(file: &'a str, regions: Option<&'a RegionSet>) -> Self {
        Self {
            file,
            regions,
            errors: Vec::new(),
            notices: Vec::new(),
            region: Vec::new(),
            year: Vec::new(),
            indicator: Vec::new(),
            value: Vec::new(),
            decimals: Vec::new(),
            wide: None,
            region_names: Names::default(),
            indicator_names: Names::default(),
            observations: FastMap::default(),
            units: BTreeMap::new(),
            resolved: FastMap::default(),
            aggregates: BTreeMap::new(),
            missing_cells: 0,
            keys: HashMap::new(),
            unknown_names: Vec::new(),
            unknown_count: 0,
            too_many_unknown: None,
        }
    }

    pub fn cell<'n>(&self, line: u64, column: usize, name: &'n str) -> Cell<'n>
    where
        'a: 'n,
    {
        Cell {
            file: self.file,
            line,
            column,
            name,
        }
    }

    pub fn error(&mut self, err: IngestError) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(err);
        }
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty() || self.too_many_unknown.is_some()
    }

    /// Stop walking rows once the cap is reached: the user fixes these first.
    pub fn full(&self) -> bool {
        self.errors.len() >= MAX_ERRORS || self.too_many_unknown.is_some()
    }

    pub fn notice(&mut self, code: &'static str, message: String, position: Option<Position>) {
        self.notices.push(Notice {
            code,
            message,
            position,
        });
    }

    /// The region id for a raw name, or `None` when the row must be skipped (aggregate: noticed;
    /// unknown or empty: an error, reported once per distinct name at its first occurrence).
    pub fn region(&mut self, raw: &str, cell: impl Locate) -> Option<std::rc::Rc<str>> {
        let outcome = match self.resolved.get(raw) {
            Some(known) => known.clone(),
            None => {
                let outcome = self.resolve_new(raw, &cell.position());
                self.resolved.insert(raw.to_owned(), outcome.clone());
                outcome
            }
        };
        match outcome {
            Resolved::Id(id) => Some(id),
            Resolved::Aggregate => {
                let entry = self
                    .aggregates
                    .entry(clean_name(raw))
                    .or_insert((cell.line(), 0));
                entry.1 += 1;
                None
            }
            Resolved::Unknown => None,
        }
    }

    fn resolve_new(&mut self, raw: &str, pos: &Position) -> Resolved {
        if let Some(err) = name_too_long(raw.trim(), "region name", pos.clone()) {
            self.error(err);
            return Resolved::Unknown;
        }
        let name = clean_name(raw);
        if name.is_empty() {
            self.error(IngestError::EmptyKey {
                pos: pos.clone(),
                what: "region name",
            });
            return Resolved::Unknown;
        }
        let Some(set) = self.regions else {
            return Resolved::Id(name.into());
        };
        match set.classify(raw) {
            Some(RegionMatch::Matched(code)) => Resolved::Id(code.as_str().into()),
            Some(RegionMatch::Aggregate) => Resolved::Aggregate,
            Some(RegionMatch::Unknown { .. }) | None => {
                self.unknown_count += 1;
                if self.unknown_count > MAX_UNKNOWN_NAMES {
                    self.too_many_unknown = Some(pos.clone());
                    return Resolved::Unknown;
                }
                if self.unknown_names.len() < UNKNOWN_NAMES_QUOTED {
                    self.unknown_names.push(name.clone());
                }
                self.error(IngestError::UnknownRegion {
                    pos: pos.clone(),
                    suggestion: set.suggest(raw),
                    name: name.into(),
                });
                Resolved::Unknown
            }
        }
    }

    /// Every distinct region id a region cell produced (with a region set, the codes; without
    /// one, the cleaned names), including those of rows that hold no observation.
    pub fn region_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .resolved
            .values()
            .filter_map(|r| match r {
                Resolved::Id(id) => Some(id.to_string()),
                Resolved::Aggregate | Resolved::Unknown => None,
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    pub fn year(&mut self, raw: &str, cell: impl Locate) -> Option<i32> {
        if raw.trim().is_empty() {
            self.error(IngestError::EmptyKey {
                pos: cell.position(),
                what: "year",
            });
            return None;
        }
        let year = parse_year(raw);
        if year.is_none() {
            self.error(IngestError::BadYear {
                pos: cell.position(),
                value: raw.trim().to_owned(),
            });
        }
        year
    }

    pub fn indicator(&mut self, raw: &str, cell: impl Locate) -> Option<String> {
        let name = raw.trim();
        if name.is_empty() {
            self.error(IngestError::EmptyKey {
                pos: cell.position(),
                what: "indicator name",
            });
            return None;
        }
        if let Some(err) = name_too_long(name, "indicator name", cell.position()) {
            self.error(err);
            return None;
        }
        Some(name.to_owned())
    }

    /// A column name used as an indicator (wide files): an error when it is too long.
    pub fn check_indicator_name(&mut self, name: &str, pos: Position) -> bool {
        match name_too_long(name, "indicator name", pos) {
            Some(err) => {
                self.error(err);
                false
            }
            None => true,
        }
    }

    /// A value cell: `None` when missing (counted) or not a number (an error).
    pub fn value(&mut self, field: &Field, cell: impl Locate) -> Option<Number> {
        match parse_number(&field.text, field.quoted) {
            Ok(Some(v)) => Some(v),
            Ok(None) => {
                self.missing_cells += 1;
                None
            }
            Err(()) => {
                self.error(IngestError::NotNumeric {
                    pos: cell.position(),
                    value: field.text.trim().to_owned(),
                });
                None
            }
        }
    }

    /// Claim a row key; a second claim is a duplicate naming both lines.
    pub fn claim(&mut self, key: String, at: impl Locate) -> bool {
        let line = at.line();
        match self.keys.get(&key) {
            Some(&first_line) => {
                self.error(IngestError::Duplicate {
                    pos: at.position(),
                    key,
                    first_line,
                });
                false
            }
            None => {
                self.keys.insert(key, line);
                true
            }
        }
    }

    /// The id of a region id (code or cleaned name), given once per distinct id.
    pub fn intern_region(&mut self, region: &str) -> u32 {
        self.region_names.intern(region)
    }

    /// The id of an indicator name, given once per distinct name.
    pub fn intern_indicator(&mut self, indicator: &str) -> u32 {
        self.indicator_names.intern(indicator)
    }

    pub fn push(&mut self, region: &str, year: i32, indicator: &str, value: Number) {
        let (r, i) = (self.intern_region(region), self.intern_indicator(indicator));
        self.push_ids(r, year, i, value);
    }

    /// The name of an id from [`Collector::intern_indicator`].
    pub fn indicator_name(&self, id: u32) -> &str {
        &self.indicator_names.names[id as usize]
    }

    /// The most distinct names of one kind (regions or indicators) that have an id.
    pub fn name_count(&self) -> usize {
        self.region_names
            .names
            .len()
            .max(self.indicator_names.names.len())
    }

    /// (region, year, indicator) ids of the observations recorded so far, in order.
    pub fn observed(&self) -> impl Iterator<Item = (u32, i32, u32)> + Clone + '_ {
        self.region
            .iter()
            .zip(&self.year)
            .zip(&self.indicator)
            .map(|((&r, &y), &i)| (r, y, i))
    }

    /// How many distinct region ids and indicator names have an id.
    pub fn name_counts(&self) -> (usize, usize) {
        (
            self.region_names.names.len(),
            self.indicator_names.names.len(),
        )
    }

    /// Count missing cells found outside [`Collector::value`].
    pub fn missing(&mut self, cells: usize) {
        self.missing_cells += cells;
    }

    pub fn push_ids(&mut self, region: u32, year: i32, indicator: u32, value: Number) {
        self.region.push(region);
        self.year.push(year);
        self.indicator.push(indicator);
        self.value.push(value.value);
        self.decimals.push(value.decimals);
    }

    /// Record a wide table read column-wise: its columns must be those of the indicator ids,
    /// in id order, and it must be the collector's only observations.
    pub fn wide_cells(&mut self, cells: WideCells) -> Option<()> {
        (cells.columns.len() == self.indicator_names.names.len() && self.value.is_empty())
            .then(|| self.wide = Some(cells))
    }

    /// Claim and (when it has a value) record one observation of a long file; a second
    /// (region, year, indicator) is a duplicate naming both lines.
    pub fn observe(
        &mut self,
        region: &str,
        year: i32,
        indicator: &str,
        value: Option<Number>,
        line: u64,
    ) {
        let (r, i) = (self.intern_region(region), self.intern_indicator(indicator));
        match self.observations.get(&(r, year, i)) {
            Some(&first_line) => self.error(IngestError::Duplicate {
                pos: Position::line(self.file, line),
                key: format!("region '{region}', year {year}, indicator '{indicator}'"),
                first_line,
            }),
            None => {
                self.observations.insert((r, year, i), line);
                if let Some(v) = value {
                    self.push_ids(r, year, i, v);
                }
            }
        }
    }

    /// Record an indicator's unit; a different unit for the same indicator is a notice (the
    /// first one is kept), since some sources mislabel units.
    pub fn unit(&mut self, indicator: &str, unit: &str, cell: impl Locate) {
        let unit = unit.trim();
        if unit.is_empty() {
            return;
        }
        match self.units.get(indicator) {
            None => {
                self.units.insert(indicator.to_owned(), unit.to_owned());
            }
            Some(first) if first != unit => {
                let message = format!(
                    "indicator '{indicator}' has unit '{unit}' here but '{first}' earlier; keeping '{first}'"
                );
                if !self
                    .notices
                    .iter()
                    .any(|n| n.code == "ingest.unit_conflict" && n.message == message)
                {
                    self.notice("ingest.unit_conflict", message, Some(cell.position()));
                }
            }
            Some(_) => {}
        }
    }

    /// All problems, or the panel with its notices.
    pub fn finish(mut self, encoding: Encoding, layout: Layout) -> Result<Ingested, IngestError> {
        if let Some(pos) = self.too_many_unknown.take() {
            // First in the list: it explains the unknown-region errors that follow it.
            self.errors.truncate(MAX_ERRORS - 1);
            self.errors.insert(
                0,
                IngestError::TooManyUnknownRegions {
                    pos,
                    first: std::mem::take(&mut self.unknown_names),
                },
            );
        }
        if let Some(err) = IngestError::from_list(self.file, std::mem::take(&mut self.errors)) {
            return Err(err);
        }
        for (name, (line, rows)) in std::mem::take(&mut self.aggregates) {
            self.notice(
                "ingest.aggregate_excluded",
                format!("'{name}' is an aggregate, not a region: {rows} row(s) excluded"),
                Some(Position::line(self.file, line)),
            );
        }
        if self.missing_cells > 0 {
            let message = format!(
                "{} empty or 'NA' cell(s) are missing values (no panel row)",
                self.missing_cells
            );
            self.notice("ingest.missing_values", message, None);
        }
        let observations = match &self.wide {
            Some(w) => w
                .columns
                .iter()
                .map(|c| c.values.len() - c.missing.len())
                .sum(),
            None => self.value.len(),
        };
        if observations == 0 {
            self.notice(
                "ingest.no_observations",
                "the file holds no observations".to_owned(),
                None,
            );
        }
        let internal = |e: PolarsError| IngestError::Internal {
            file: self.file.to_owned(),
            detail: e.to_string(),
        };
        let (panel, decimals) = match self.wide {
            Some(w) => {
                let names = self.indicator_names.names;
                let columns = w
                    .columns
                    .into_iter()
                    .zip(&names)
                    .map(|(c, name)| c.into_chunked(name))
                    .collect();
                let wide = WidePanel::new(
                    (self.region_names.names, w.region),
                    w.year,
                    (names, columns),
                )
                .map_err(internal)?;
                (Panel::from_wide(wide), w.decimals)
            }
            None => {
                let coded = CodedPanel::new(
                    (self.region_names.names, self.region),
                    self.year,
                    (self.indicator_names.names, self.indicator),
                    self.value,
                )
                .map_err(internal)?;
                (Panel::from_coded(coded), self.decimals)
            }
        };
        Ok(Ingested {
            panel,
            encoding,
            layout,
            units: self.units,
            notices: self.notices,
            decimals,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_accept_suffix_and_float_form_only() {
        assert_eq!(parse_year("2024"), Some(2024));
        assert_eq!(parse_year(" 2024年 "), Some(2024));
        assert_eq!(parse_year("2024年度"), Some(2024));
        assert_eq!(parse_year("2024.0"), Some(2024));
        assert_eq!(parse_year("２０２３"), Some(2023));
        for bad in [
            "2024.5", "20244", "24", "year", "", "1066", "2024-01", "-2024",
        ] {
            assert_eq!(parse_year(bad), None, "{bad}");
        }
    }

    /// Wherever the one-scan reading of plain numbers answers, it answers as the grammar: the
    /// same value to the bit and the same decimals; and it answers for every plain number.
    #[test]
    fn plain_numbers_read_as_the_grammar_reads_them() {
        let alphabet: Vec<char> = "0123456789.-+eE ,%１－".chars().collect();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut texts: Vec<String> = (0..200_000)
            .map(|_| {
                let len = 1 + next() % 12;
                (0..len)
                    .map(|_| {
                        // Mostly digits, so that many texts are numbers.
                        let k = next() % 40;
                        alphabet[if k < 25 {
                            (k % 10) as usize
                        } else {
                            (k - 15) as usize % alphabet.len()
                        }]
                    })
                    .collect()
            })
            .collect();
        texts.extend(
            [
                "0",
                "-0",
                "5522.950",
                "1.23E+11",
                "2.5e-3",
                "1e-400",
                "1e400",
                "1e0309",
                "1e308",
                "-.5",
                "5.",
                "+5",
                "1e",
                "1e+",
                "1e12345",
                "17976931348623157e292",
                "0.1000000000000000055511151231257827",
                "123456789012345678901234567890",
                "9007199254740993",
                "4.9e-324",
                "2.4703282292062327e-324",
                // At the edges of the exact path: 15 and 16 digits, powers 10^22 and 10^23.
                "123456789012345",
                "-999999999999999e22",
                "9.99999999999999e-22",
                "1234567890123456",
                "1e22",
                "1e23",
                "0.0000000000000000000001",
                "12345678901234.5e-21",
            ]
            .map(str::to_owned),
        );
        let mut plain = 0;
        for text in &texts {
            let grammar = parse_number(text, false);
            if let Some(n) = parse_plain(text) {
                plain += 1;
                let g = grammar.unwrap().unwrap();
                assert_eq!(
                    (n.value.to_bits(), n.decimals),
                    (g.value.to_bits(), g.decimals),
                    "{text}"
                );
            }
        }
        assert!(plain > 10_000, "{plain}");
        // Every plain number is read by the scan.
        let digits = |n: u64, next: &mut dyn FnMut() -> u64| -> String {
            (0..n)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect()
        };
        for _ in 0..50_000 {
            let mut text = String::new();
            if next() % 2 == 0 {
                text.push('-');
            }
            text += &digits(1 + next() % 9, &mut next);
            if next() % 2 == 0 {
                text.push('.');
                text += &digits(1 + next() % 7, &mut next);
            }
            if next() % 3 == 0 {
                text.push(['e', 'E'][(next() % 2) as usize]);
                text += ["", "+", "-"][(next() % 3) as usize];
                text += &digits(1 + next() % 2, &mut next);
            }
            let n = parse_plain(&text).unwrap_or_else(|| panic!("{text}"));
            let g = parse_number(&text, false).unwrap().unwrap();
            assert_eq!(
                (n.value.to_bits(), n.decimals),
                (g.value.to_bits(), g.decimals),
                "{text}"
            );
        }
    }

    /// The word arithmetic agrees with a byte loop on every byte that borders the digits
    /// (`/` and `:` around `0`–`9`, their high-bit twins, space, 0xFF), and reads a
    /// prefix of any length.
    #[test]
    fn eight_digits_is_the_byte_loop() {
        let naive = |w: &[u8]| {
            let count = w.iter().take_while(|d| d.is_ascii_digit()).count();
            let value = w[..count]
                .iter()
                .fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
            (count, value)
        };
        let alphabet = b"0123456789/:.e- \xB0\xB9\xBA\xAF\xFF\x3F\x40";
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Mostly digits, so that every run length occurs.
            let word: Vec<u8> = (0..10)
                .map(|k| {
                    let pick = (state >> (6 * k)) as usize;
                    alphabet[if pick.is_multiple_of(4) {
                        pick / 4 % alphabet.len()
                    } else {
                        pick / 4 % 10
                    }]
                })
                .collect();
            assert_eq!(eight_digits(&word, 1), Some(naive(&word[1..9])), "{word:?}");
            assert_eq!(eight_digits(&word, 3), None);
        }
        assert_eq!(eight_digits(b"12345678", 0), Some((8, 12_345_678)));
        assert_eq!(eight_digits(b"00000009x", 1), Some((7, 9)));
        let long = "123456789012345678.25e-3";
        assert_eq!(
            parse_plain_prefix(long.as_bytes()).map(|(_, len)| len),
            Some(long.len())
        );
        assert_eq!(parse_plain(long).map(|n| n.value), long.parse().ok());
    }

    #[test]
    fn values_parse_numbers_missing_tokens_and_quoted_thousands() {
        assert_eq!(parse_value("49670.2", false), Ok(Some(49670.2)));
        assert_eq!(parse_value(" -4.7 ", false), Ok(Some(-4.7)));
        assert_eq!(parse_value("1e3", false), Ok(Some(1000.0)));
        assert_eq!(parse_value("－３", false), Ok(Some(-3.0)));
        assert_eq!(parse_value("1,234.5", true), Ok(Some(1234.5)));
        assert_eq!(parse_value("-12,345,678", true), Ok(Some(-12345678.0)));
        let decimals =
            |raw: &str, quoted: bool| parse_number(raw, quoted).unwrap().unwrap().decimals;
        assert_eq!(decimals("5522.950", false), 3);
        assert_eq!(decimals("5522.95", false), 2);
        assert_eq!(decimals("5523", false), 0);
        assert_eq!(decimals("１２.５０", false), 2);
        assert_eq!(decimals("1,234.50", true), 2);
        assert_eq!(decimals("1.23E+11", false), -9);
        assert_eq!(decimals("2.5e-3", false), 4);
        assert_eq!(decimals("1e-400", false), 127);
        for missing in ["", " ", "NA", "n/a", "-", "..", "…", "NaN"] {
            assert_eq!(parse_value(missing, false), Ok(None), "{missing}");
        }
        for bad in ["abc", "inf", "1,2", "12,34.5", "1.2.3", "12%", "1,234"] {
            let quoted = bad != "1,234";
            assert_eq!(parse_value(bad, quoted), Err(()), "{bad}");
        }
    }
}
