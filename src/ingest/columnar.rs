//! The columnar pass over a plain long or wide table: the text is split into its cells on
//! worker threads (without quotes a field holds no delimiter or line end), every value cell read
//! there by the same grammar as the row walk, then each key column is checked as a whole — every
//! distinct region name, year and indicator once, the keys for duplicates by a bitmap or one
//! sort. A wide table stays wide: its values go straight into one column per indicator.
//!
//! Owns: deciding whether a table may take this pass and taking it. Must not: report a problem.
//! Whenever anything is wrong or unusual (a bad cell, an empty or unknown name, an aggregate, a
//! duplicate key, a ragged or blank row, quotes, a lone `\r`, conflicting units) it declines, and
//! the row walk (`long`, `wide`) reads the file and reports every problem with its line and
//! column. So positions are computed only for files that have problems, and a file the pass
//! accepts yields exactly what the row walk would: the same rows in the same order, the same
//! notices (tested on every fixture in `tests/it/ingest.rs`).

use std::collections::HashMap;

use super::collect::{
    Collector, Number, WideCells, WideColumn, parse_number, parse_plain, parse_plain_prefix,
};
use super::error::Position;
use super::layout::{self, Shape};
use super::regions::RegionSet;
use super::{Layout, long, table, wide};

/// Per-column id maps: distinct cell text → small id.
type Ids<'t> = HashMap<&'t str, u32, foldhash::fast::RandomState>;

/// Read `text` (decoded) column-wise, or `None` when the row walk must read it.
pub(crate) fn read<'a>(
    text: &str,
    file: &'a str,
    regions: Option<&'a RegionSet>,
) -> Option<(Collector<'a>, Layout)> {
    let bytes = text.as_bytes();
    // Quoted fields and old Mac line ends are the row walk's (its quoting rules are the
    // reference); `\r\n` is split like `\n`.
    if memchr::memchr(b'"', bytes).is_some()
        || memchr::memchr_iter(b'\r', bytes).any(|i| bytes.get(i + 1) != Some(&b'\n'))
    {
        return None;
    }
    let mut lines = table::line_iter(text);
    if layout::is_nbs_export(table::line_iter(text)) {
        return None;
    }
    let first = lines.find(|l| !l.text.trim().is_empty())?;
    let delim = table::sniff_delimiter(first.text);
    let header = table::records(first.text, first.number, delim, file)
        .ok()?
        .into_iter()
        .next()
        .filter(|r| !r.is_blank() && r.len <= table::MAX_COLUMNS)?;
    let body_start = first.start + first.text.len();
    let body = text[body_start..].trim_start_matches(['\r', '\n']);
    if body.is_empty() {
        return None;
    }
    let mut c = Collector::new(file, regions);
    match layout::detect(&header, file, regions).ok()? {
        Shape::Long(h) => {
            let cols = long::columns(&h, &mut c).ok()?;
            let delim = u8::try_from(delim).ok()?;
            let mut slots = vec![NO_SLOT; h.width];
            let roles = [cols.region, cols.year, cols.indicator, cols.value];
            for (slot, column) in roles.into_iter().chain(cols.unit).enumerate() {
                *slots.get_mut(column)? = u8::try_from(slot).ok()?;
            }
            let chunks: Vec<&str> = chunks(body, CHUNK_BYTES).collect();
            let mut long = Long::default();
            parts(
                &chunks,
                |chunk| Part::split(chunk, delim, &slots, cols.unit.is_some()),
                |part| long.merge(part, &mut c),
            )?;
            long.finish(&mut c)?;
            Some((c, Layout::Long))
        }
        Shape::Wide(h) => {
            let cols = wide::columns(&h, &mut c).ok()?;
            if c.has_errors() {
                return None;
            }
            let ids: Vec<u32> = cols
                .indicators
                .iter()
                .map(|(_, n)| c.intern_indicator(n))
                .collect();
            read_wide(body, delim, h.width, &cols, &ids, &mut c)?;
            Some((c, Layout::Wide))
        }
        Shape::YearColumns => None,
    }
}

/// Bytes of text split at once: a chunk's parts (ids, values, decimals: about 21 bytes a row)
/// take less room than its text, so the columnar pass holds a bounded amount besides the text
/// and the observations.
#[cfg(not(test))]
const CHUNK_BYTES: usize = 8 << 20;
/// Small in unit tests, so that their tables span many chunks.
#[cfg(test)]
const CHUNK_BYTES: usize = 64;

/// `body` cut into pieces of at least `size` bytes (the last may be shorter), each ending at a
/// line end.
fn chunks(body: &str, size: usize) -> impl Iterator<Item = &str> {
    let mut rest = body;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let cut = match rest.as_bytes().get(size..) {
            Some(tail) => memchr::memchr(b'\n', tail).map_or(rest.len(), |k| size + k + 1),
            None => rest.len(),
        };
        let (chunk, tail) = rest.split_at(cut);
        rest = tail;
        Some(chunk)
    })
}

/// The cell's value (`None`: missing) or `Err` to decline the file; counts missing cells.
fn value(raw: &str, missing: &mut usize) -> Result<Option<Number>, ()> {
    // Nearly every cell is a plain number, read in one scan; the grammar decides the rest.
    if let Some(v) = parse_plain(raw) {
        return Ok(Some(v));
    }
    let v = parse_number(raw, false)?;
    *missing += usize::from(v.is_none());
    Ok(v)
}

/// `true` when two of the (region id, year, indicator id) `keys` are equal, with `regions`
/// and `indicators` distinct ids. A bitmap over every possible key when that takes at most a
/// byte per key (a dense panel: a bit per key), else one sort of the keys packed into `u64`s.
fn any_duplicate<K>(keys: K, regions: usize, indicators: usize) -> bool
where
    K: Iterator<Item = (u32, i32, u32)> + Clone,
{
    let (n, first, last) = keys
        .clone()
        .fold((0usize, i32::MAX, i32::MIN), |(n, lo, hi), (_, y, _)| {
            (n + 1, lo.min(y), hi.max(y))
        });
    if n < 2 {
        return false;
    }
    let years = u64::try_from(i64::from(last) - i64::from(first) + 1).unwrap_or(u64::MAX);
    let space = (regions as u64)
        .saturating_mul(indicators as u64)
        .saturating_mul(years);
    if space <= 8 * n as u64 {
        let mut seen = vec![0u64; usize::try_from(space / 64 + 1).unwrap_or(0)];
        let mut any = false;
        for (r, y, i) in keys {
            let year = u64::try_from(i64::from(y) - i64::from(first)).unwrap_or(0);
            let at = (u64::from(r) * indicators as u64 + u64::from(i)) * years + year;
            let (word, bit) = ((at / 64) as usize, 1u64 << (at % 64));
            any |= seen[word] & bit != 0;
            seen[word] |= bit;
        }
        return any;
    }
    let mut packed: Vec<u64> = keys
        .map(|(r, y, i)| {
            (u64::from(r) << (ID_BITS + 16))
                | (u64::from(i) << 16)
                | u64::from(y.cast_unsigned() & 0xFFFF)
        })
        .collect();
    packed.sort_unstable();
    packed.windows(2).any(|w| w[0] == w[1])
}

/// Ids below 2^24 for region and indicator names, so that a key packs into a `u64`.
const ID_BITS: u32 = 24;

/// Marks a column the long pass does not read.
const NO_SLOT: u8 = u8::MAX;

/// Split `chunks` on worker threads (one chunk per worker at a time, each worker a fixed share
/// of them) and hand each chunk's [`Part`] to `each` in file order, while the workers split the
/// next ones; at most one finished part per worker waits, so memory stays bounded. `None` as
/// soon as a chunk cannot be split or `each` declines (the workers then stop).
fn parts<'t, P: Send>(
    chunks: &[&'t str],
    split: impl Fn(&'t str) -> Option<P> + Sync,
    mut each: impl FnMut(P) -> Option<()>,
) -> Option<()> {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, chunks.len().max(1));
    std::thread::scope(|scope| {
        let split = &split;
        let waiting: Vec<_> = (0..workers)
            .map(|w| {
                let (tx, rx) = std::sync::mpsc::sync_channel(1);
                scope.spawn(move || {
                    for &chunk in chunks.iter().skip(w).step_by(workers) {
                        let part = split(chunk);
                        let stop = part.is_none();
                        // A closed channel: the reader declined, stop splitting.
                        if tx.send(part).is_err() || stop {
                            break;
                        }
                    }
                });
                rx
            })
            .collect();
        for k in 0..chunks.len() {
            each(waiting[k % workers].recv().ok()??)?;
        }
        Some(())
    })
}

/// One key column of a [`Part`] or a [`WidePiece`]: its distinct texts in order of first
/// occurrence and each row's index into them.
#[derive(Default)]
struct Keys<'t> {
    texts: Vec<&'t str>,
    ids: Ids<'t>,
    rows: Vec<u32>,
    last: usize,
}

impl<'t> Keys<'t> {
    fn push(&mut self, cell: &'t str) {
        // Long tables repeat a region and a year on many rows in a row and cycle through the
        // indicators in one order: the last text and the one after it before a hash.
        let id = match self.texts.get(self.last..) {
            Some([last, ..]) if same(last, cell) => self.last,
            Some([_, next, ..]) if same(next, cell) => self.last + 1,
            _ => match self.ids.get(cell) {
                Some(&id) => id as usize,
                None => {
                    let id = self.texts.len();
                    self.texts.push(cell);
                    self.ids.insert(cell, id as u32);
                    id
                }
            },
        };
        self.last = id;
        // Fewer distinct texts than rows, and a chunk's rows are fewer than 2^32.
        self.rows.push(id as u32);
    }
}

/// `a == b` for the short texts of key cells, compared in place rather than by a call to
/// `memcmp` (millions of comparisons of a few bytes each).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// One chunk of a long table split into its cells on a worker thread: the key columns as
/// distinct texts and ids ([`Keys`]), the values read, each indicator's unit. What the cells
/// mean (names, years) is decided once per distinct text when the part is merged.
#[derive(Default)]
struct Part<'t> {
    regions: Keys<'t>,
    years: Keys<'t>,
    indicators: Keys<'t>,
    /// The values of the rows that have one, in row order, and the decimals each shows.
    values: Vec<f64>,
    decimals: Vec<i8>,
    /// The rows without a value.
    missing: Vec<u32>,
    /// Per local indicator id, its first non-empty unit.
    units: Vec<Option<&'t str>>,
}

impl<'t> Part<'t> {
    /// The cells of `chunk`, whose columns `slots` maps to region, year, indicator, value and
    /// unit (0–4); `None` (decline) unless every non-empty line has exactly as many fields as
    /// `slots` — without quotes a field holds no delimiter or line end, so this is the row
    /// walk's width check — and every value cell is a number or missing, and no indicator has
    /// two units.
    fn split(chunk: &'t str, delim: u8, slots: &[u8], units: bool) -> Option<Self> {
        let bytes = chunk.as_bytes();
        let mut part = Part::default();
        let mut cells = [""; 5];
        let mut field = 0usize;
        let mut start = 0usize;
        for at in memchr::memchr2_iter(delim, b'\n', bytes).chain(std::iter::once(bytes.len())) {
            let line_end = at == bytes.len() || bytes[at] == b'\n';
            let end = if line_end && at > start && bytes[at - 1] == b'\r' {
                at - 1
            } else {
                at
            };
            if line_end && field == 0 && end == start {
                // An empty line (or the end of the chunk): the row walk skips it too.
                start = at + 1;
                continue;
            }
            let slot = *slots.get(field)?;
            if slot != NO_SLOT {
                cells[usize::from(slot)] = chunk.get(start..end)?;
            }
            field += 1;
            start = at + 1;
            if line_end {
                if field != slots.len() {
                    return None;
                }
                field = 0;
                part.row(cells, units)?;
            }
        }
        Some(part)
    }

    fn row(
        &mut self,
        [region, year, indicator, value, unit]: [&'t str; 5],
        units: bool,
    ) -> Option<()> {
        let row = self.regions.rows.len();
        self.regions.push(region);
        self.years.push(year);
        self.indicators.push(indicator);
        let mut missing = 0;
        match self::value(value, &mut missing).ok()? {
            Some(v) => {
                self.values.push(v.value);
                self.decimals.push(v.decimals);
            }
            None => self.missing.push(u32::try_from(row).ok()?),
        }
        let unit = unit.trim();
        if units && !unit.is_empty() {
            let id = self.indicators.last;
            if self.units.len() <= id {
                self.units.resize(id + 1, None);
            }
            match self.units[id] {
                Some(first) if first != unit => return None,
                Some(_) => {}
                None => self.units[id] = Some(unit),
            }
        }
        Some(())
    }
}

/// The id of a region name interned in the collector; `None` on anything but a region.
fn region_id(c: &mut Collector<'_>, raw: &str) -> Option<u32> {
    let id = c.region(raw, Position::file(c.file))?;
    (!c.has_errors()).then(|| c.intern_region(&id))
}

/// The year of a year cell; `None` on a cell that is not a year.
fn year_of(c: &mut Collector<'_>, raw: &str) -> Option<i32> {
    c.year(raw, Position::file(c.file))
}

/// The id of an indicator name interned in the collector; `None` on an empty or long name.
fn indicator_id(c: &mut Collector<'_>, raw: &str) -> Option<u32> {
    let name = c.indicator(raw, Position::file(c.file))?;
    Some(c.intern_indicator(&name))
}

/// The state of a long table read part by part: what each distinct text of a key column
/// means, the keys of rows without a value (those with one are the collector's
/// observations), and each indicator's first unit.
#[derive(Default)]
struct Long<'t> {
    regions: HashMap<&'t str, u32, foldhash::fast::RandomState>,
    years: HashMap<&'t str, i32, foldhash::fast::RandomState>,
    indicators: HashMap<&'t str, u32, foldhash::fast::RandomState>,
    keys_missing: Vec<(u32, i32, u32)>,
    units: HashMap<u32, &'t str, foldhash::fast::RandomState>,
    missing: usize,
}

/// The collector's meaning of every text in `texts`, each looked up in `known` or else
/// `define`d once for the whole file.
fn meanings<'t, T: Copy>(
    texts: &[&'t str],
    known: &mut HashMap<&'t str, T, foldhash::fast::RandomState>,
    mut define: impl FnMut(&'t str) -> Option<T>,
) -> Option<Vec<T>> {
    texts
        .iter()
        .map(|&raw| match known.get(raw) {
            Some(&t) => Some(t),
            None => {
                let t = define(raw)?;
                known.insert(raw, t);
                Some(t)
            }
        })
        .collect()
}

impl<'t> Long<'t> {
    /// One part's rows into the collector, in order.
    fn merge(&mut self, part: Part<'t>, c: &mut Collector<'_>) -> Option<()> {
        let region = meanings(&part.regions.texts, &mut self.regions, |raw| {
            region_id(c, raw)
        })?;
        let year = meanings(&part.years.texts, &mut self.years, |raw| year_of(c, raw))?;
        let indicator = meanings(&part.indicators.texts, &mut self.indicators, |raw| {
            indicator_id(c, raw)
        })?;
        if c.has_errors() || c.name_count() >= 1 << ID_BITS {
            return None;
        }
        for (local, unit) in part.units.iter().enumerate() {
            let Some(unit) = *unit else { continue };
            let id = indicator[local];
            match self.units.get(&id) {
                Some(first) if *first != unit => return None,
                Some(_) => {}
                None => {
                    self.units.insert(id, unit);
                    let name = c.indicator_name(id).to_owned();
                    c.unit(&name, unit, Position::file(c.file));
                }
            }
        }
        self.missing += part.missing.len();
        let mut missing = part.missing.iter().copied().peekable();
        let mut values = part.values.iter().zip(&part.decimals);
        let rows = part
            .regions
            .rows
            .iter()
            .zip(&part.years.rows)
            .zip(&part.indicators.rows);
        for (k, ((&r, &y), &i)) in rows.enumerate() {
            let key = (region[r as usize], year[y as usize], indicator[i as usize]);
            if missing.next_if_eq(&(k as u32)).is_some() {
                // (region, year, indicator) must be unique, also for rows without a value.
                self.keys_missing.push(key);
            } else {
                let (&value, &decimals) = values.next()?;
                c.push_ids(key.0, key.1, key.2, Number { value, decimals });
            }
        }
        Some(())
    }

    fn finish(self, c: &mut Collector<'_>) -> Option<()> {
        c.missing(self.missing);
        let (regions, indicators) = c.name_counts();
        let keys = c.observed().chain(self.keys_missing.iter().copied());
        (!any_duplicate(keys, regions, indicators)).then_some(())
    }
}

/// A wide table's `body` into the collector, kept wide ([`WideCells`]): the body is cut at line
/// ends into one piece per core, each piece scanned once on its own thread — cells split at
/// the delimiter, every value cell read by the row walk's grammar (value and decimals written
/// at once: the decimals need each cell's text, so a typed read by Polars would still leave a
/// scan of the bytes) straight into its place in the columns, allocated once for the rows (the
/// lines that are not empty) — then the region and year cells resolved once per distinct text. `None`
/// (decline) on a ragged row, an empty key or a cell that is not a number, anything the region
/// or year cells decline, or a repeated (region, year).
fn read_wide(
    body: &str,
    delim: char,
    width: usize,
    cols: &wide::Columns<'_>,
    ids: &[u32],
    c: &mut Collector<'_>,
) -> Option<()> {
    let delim = u8::try_from(delim).ok()?;
    // Column of the file → indicator id; the ids are the columns' places in `WideCells`.
    let mut slot = vec![None; width];
    for (&(k, _), &id) in cols.indicators.iter().zip(ids) {
        *slot.get_mut(k)? = Some(id as usize);
    }
    let layout = WideLayout {
        delim,
        width,
        region: cols.region,
        year: cols.year,
        slot,
    };
    let pieces = pieces(body, WIDE_PIECE_BYTES);
    let bounds: Vec<usize> = pieces.iter().map(|p| rows_of(p.as_bytes())).collect();
    // Zeroed: the pages of missing cells are never written, so they take no memory.
    let mut values: Vec<Vec<f64>> = ids.iter().map(|_| vec![0.0; bounds.iter().sum()]).collect();
    let mut places: Vec<Vec<&mut [f64]>> = pieces.iter().map(|_| Vec::new()).collect();
    for column in &mut values {
        let mut rest = column.as_mut_slice();
        for (place, &bound) in places.iter_mut().zip(&bounds) {
            let (head, tail) = rest.split_at_mut(bound);
            place.push(head);
            rest = tail;
        }
    }
    let scanned: Vec<WidePiece<'_>> = std::thread::scope(|scope| {
        let layout = &layout;
        let mut work = pieces.iter().zip(places);
        let first = work.next();
        let others: Vec<_> = work
            .map(|(piece, mut place)| scope.spawn(move || layout.scan(piece, &mut place)))
            .collect();
        let first = first.and_then(|(piece, mut place)| layout.scan(piece, &mut place));
        std::iter::once(first)
            .chain(others.into_iter().map(|t| t.join().ok().flatten()))
            .collect::<Option<Vec<_>>>()
    })?;
    // Every region first, then every year: the order in which the row walk meets their names.
    let mut known = HashMap::default();
    let mut region = Vec::with_capacity(bounds.iter().sum());
    for piece in &scanned {
        let ids = meanings(&piece.region.texts, &mut known, |raw| region_id(c, raw))?;
        region.extend(piece.region.rows.iter().map(|&k| ids[k as usize]));
    }
    let mut known = HashMap::default();
    let mut year = Vec::with_capacity(region.len());
    for piece in &scanned {
        let years = meanings(&piece.year.texts, &mut known, |raw| year_of(c, raw))?;
        year.extend(piece.year.rows.iter().map(|&k| years[k as usize]));
    }
    if c.name_count() >= 1 << ID_BITS {
        return None;
    }
    // (region, year) must be unique.
    let (regions, _) = c.name_counts();
    let keys = region.iter().zip(&year).map(|(&r, &y)| (r, y, 0));
    if any_duplicate(keys, regions, 1) {
        return None;
    }
    let mut columns: Vec<WideColumn> = values
        .into_iter()
        .map(|values| WideColumn {
            values,
            missing: Vec::new(),
        })
        .collect();
    let (mut at, mut missing) = (0u32, 0usize);
    for (piece, &bound) in scanned.iter().zip(&bounds) {
        if piece.region.rows.len() != bound {
            return None;
        }
        for (column, gaps) in columns.iter_mut().zip(&piece.missing) {
            column.missing.extend(gaps.iter().map(|k| at + k));
        }
        missing += piece.missing_cells;
        at += u32::try_from(bound).ok()?;
    }
    c.missing(missing);
    let mut decimals = Vec::with_capacity(scanned.iter().map(|p| p.decimals.len()).sum());
    for piece in &scanned {
        decimals.extend_from_slice(&piece.decimals);
    }
    c.wide_cells(WideCells {
        region,
        year,
        columns,
        decimals,
    })
}

/// The rows of a piece: its lines that are not empty (the scan skips only those). A piece
/// without empty lines before its last (nearly every file) is counted by one SIMD count of its
/// line ends instead of a walk over its lines.
fn rows_of(piece: &[u8]) -> usize {
    let empty = |line: &[u8]| matches!(line, [] | [b'\r']);
    let inner_empty = piece.starts_with(b"\n")
        || piece.starts_with(b"\r\n")
        || memchr::memmem::find(piece, b"\n\n").is_some()
        || memchr::memmem::find(piece, b"\n\r\n").is_some();
    if inner_empty {
        return piece.split(|&b| b == b'\n').filter(|l| !empty(l)).count();
    }
    let last = piece.rsplit(|&b| b == b'\n').next().unwrap_or_default();
    memchr::memchr_iter(b'\n', piece).count() + usize::from(!empty(last))
}

/// Bytes of a wide table's body scanned by one thread, at least (a small table is one piece,
/// read without starting a thread).
#[cfg(not(test))]
const WIDE_PIECE_BYTES: usize = 1 << 20;
/// Small in unit tests, so that their tables span many pieces.
#[cfg(test)]
const WIDE_PIECE_BYTES: usize = 64;

/// `body` cut at line ends into one piece per core (more for tests), each at least `least`
/// bytes long.
fn pieces(body: &str, least: usize) -> Vec<&str> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    chunks(body, (body.len() / cores).max(least)).collect()
}

/// Where a wide table's cells are: the delimiter, the header's width, the region and year
/// columns, and each column's indicator id (`None`: not read).
struct WideLayout {
    delim: u8,
    width: usize,
    region: usize,
    year: usize,
    slot: Vec<Option<usize>>,
}

/// One piece of a wide table, scanned: each row's region and year cells, per indicator the
/// rows (of the piece) whose cell is missing, the decimals of the values row by row, and how
/// many cells are missing.
struct WidePiece<'t> {
    region: Keys<'t>,
    year: Keys<'t>,
    missing: Vec<Vec<u32>>,
    decimals: Vec<i8>,
    missing_cells: usize,
}

impl WideLayout {
    /// The piece's values written into `columns` (one slice per indicator, a place per row);
    /// `None` on a row of another width than the header's (empty lines skip, as in the row
    /// walk), an empty region or year cell, or a cell that is not a number.
    fn scan<'t>(&self, piece: &'t str, columns: &mut [&mut [f64]]) -> Option<WidePiece<'t>> {
        let mut out = WidePiece {
            region: Keys::default(),
            year: Keys::default(),
            missing: columns.iter().map(|_| Vec::new()).collect(),
            decimals: Vec::new(),
            missing_cells: 0,
        };
        // A plain number ends at the first byte that cannot continue it; when the delimiter
        // cannot (it is no digit, sign, point or exponent mark), a value cell is read in the
        // same scan that finds its end. Cells that are not plain numbers are found by the
        // delimiter and read by the grammar.
        let fused = !b"0123456789.eE+-".contains(&self.delim);
        for line in piece.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let row = out.region.rows.len();
            let bytes = line.as_bytes();
            let cell_end = |from: usize| {
                memchr::memchr(self.delim, &bytes[from..]).map_or(bytes.len(), |i| from + i)
            };
            let (mut start, mut fields) = (0, 0);
            loop {
                let k = fields;
                fields += 1;
                let end;
                if k == self.region || k == self.year {
                    end = cell_end(start);
                    let cell = &line[start..end];
                    // The row walk reports an empty key; a file of empty rows stops here.
                    if cell.trim().is_empty() {
                        return None;
                    }
                    let keys = if k == self.region {
                        &mut out.region
                    } else {
                        &mut out.year
                    };
                    keys.push(cell);
                } else if let Some(&Some(j)) = self.slot.get(k) {
                    let plain = fused
                        .then(|| parse_plain_prefix(&bytes[start..]))
                        .flatten()
                        .filter(|&(_, len)| {
                            bytes.get(start + len).is_none_or(|&b| b == self.delim)
                        });
                    let number = match plain {
                        Some((v, len)) => {
                            end = start + len;
                            Some(v)
                        }
                        None => {
                            end = cell_end(start);
                            value(&line[start..end], &mut out.missing_cells).ok()?
                        }
                    };
                    match number {
                        Some(v) => {
                            *columns.get_mut(j)?.get_mut(row)? = v.value;
                            out.decimals.push(v.decimals);
                        }
                        None => out.missing[j].push(u32::try_from(row).ok()?),
                    }
                } else {
                    end = cell_end(start);
                }
                if end == bytes.len() {
                    break;
                }
                start = end + 1;
            }
            if fields != self.width {
                return None;
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Encoding, Ingested, by_rows};

    fn columnar(text: &str, regions: Option<&RegionSet>) -> Option<Ingested> {
        let (c, layout) = read(text, "t.csv", regions)?;
        c.finish(Encoding::Utf8, layout).ok()
    }

    /// Duplicates are found by the bitmap (dense keys) and by the sort (sparse keys) alike.
    #[test]
    fn duplicate_keys_are_found_dense_or_sparse() {
        let dense: Vec<(u32, i32, u32)> = (0..4)
            .flat_map(|r| (2000..2010).flat_map(move |y| (0..3).map(move |i| (r, y, i))))
            .collect();
        let sparse = vec![(0, 1800, 0), (9, 2200, 7), (3, 2000, 2)];
        for (keys, regions, indicators) in [(dense, 4, 3), (sparse, 10, 8)] {
            assert!(!any_duplicate(keys.iter().copied(), regions, indicators));
            for k in [0, keys.len() / 2, keys.len() - 1] {
                let mut twice = keys.clone();
                twice.insert(k.min(1), keys[k]);
                assert!(
                    any_duplicate(twice.iter().copied(), regions, indicators),
                    "{k}"
                );
            }
        }
        assert!(!any_duplicate(std::iter::once((0, 2020, 0)), 1, 1));
    }

    /// Every arrangement of line ends, `\r` and text up to six bytes: the count of non-empty
    /// lines is the walk's.
    #[test]
    fn rows_of_counts_the_lines_that_are_not_empty() {
        let walk = |p: &[u8]| {
            p.split(|&b| b == b'\n')
                .filter(|l| !matches!(l, [] | [b'\r']))
                .count()
        };
        let mut checked = 0;
        for len in 0..=6u32 {
            for code in 0..3usize.pow(len) {
                let piece: Vec<u8> = (0..len)
                    .map(|k| b"\n\ra"[code / 3usize.pow(k) % 3])
                    .collect();
                assert_eq!(rows_of(&piece), walk(&piece), "{piece:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, 1093);
        assert_eq!(rows_of(b"a,1\nb,2\r\nc,3"), 3);
    }

    #[test]
    fn chunks_end_at_line_ends_and_cover_the_text() {
        let text: String = (0..100).map(|k| format!("R{k},2020,g,{k}\n")).collect();
        let parts: Vec<&str> = chunks(&text, CHUNK_BYTES).collect();
        assert!(parts.len() > 10, "{}", parts.len());
        assert!(parts.iter().all(|p| p.ends_with('\n')));
        assert_eq!(parts.concat(), text);
    }

    #[test]
    fn tables_over_many_chunks_read_as_the_row_walk_reads_them() {
        let set = RegionSet::cn_provinces();
        let mut long = String::from("region,year,indicator,value,unit\n");
        let mut wide = String::from("region,year,a,b\n");
        for (k, r) in ["北京", "上海", "天津", "R9"].iter().enumerate() {
            for y in 2000..2012 {
                long.push_str(&format!("{r},{y},a,{k}.{y},元\n{r},{y},b,,\n"));
                // Years descending, missing cells, a row without values, CRLF.
                let y = 4011 - y;
                let cells = match y % 5 {
                    0 => format!("{y}.50,"),
                    1 => "NA,-".to_owned(),
                    2 => format!(",{k}e-3\r"),
                    _ => format!("{y},{k}"),
                };
                wide.push_str(&format!("{r},{y},{cells}\n"));
            }
        }
        // The other delimiters the header may show: a value's end is found at them too.
        let (tabs, semicolons) = (wide.replace(',', "\t"), wide.replace(',', ";"));
        for (text, read) in [(&long, 2), (&wide, 2), (&tabs, 2), (&semicolons, 2)] {
            let mut taken = 0;
            for regions in [None, Some(&set)] {
                let rows = by_rows(text, Encoding::Utf8, "t.csv", regions).map(|(i, _)| i);
                if let Some(ing) = columnar(text, regions) {
                    let rows = rows.unwrap();
                    assert!(ing.panel.frame().equals_missing(rows.panel.frame()));
                    assert_eq!(ing.decimals, rows.decimals);
                    assert_eq!((ing.notices, ing.units), (rows.notices, rows.units));
                    taken += 1;
                }
            }
            // R9 is no province: with the set, the row walk reports it.
            assert_eq!(taken, read - 1, "{text}");
        }
        // Across chunks: a unit that differs from an earlier chunk's, a ragged row, a row
        // without a value whose key an earlier chunk has, and blank `\r\n` lines.
        let conflict = format!("{long}北京,2000,c,1,元\n北京,2001,c,1,吨\n");
        let later = long.replace(",元\n", ",\n") + "天津,2020,c,1,元\n";
        let far = format!("{long}北京,2020,a,1,吨\n");
        let crlf = long.replace('\n', "\r\n\r\n");
        let cases = [
            (format!("{long}北京,2000,c,1,元\n"), true),
            (conflict, false),
            (later.replace("天津,2020,c,1,元", "天津,2020,a,1,吨"), true),
            (far, false),
            (format!("{long}上海,2000,c,1\n"), false),
            (format!("{long}北京,2000,b,,\n"), false),
            (crlf, true),
        ];
        for (text, taken) in cases {
            let rows = by_rows(&text, Encoding::Utf8, "t.csv", None).map(|(i, _)| i);
            match columnar(&text, None) {
                Some(ing) => {
                    let rows = rows.unwrap();
                    assert!(ing.panel.frame().equals_missing(rows.panel.frame()));
                    assert_eq!((ing.notices, ing.units), (rows.notices, rows.units));
                    assert_eq!(ing.decimals, rows.decimals);
                    assert!(taken, "{text}");
                }
                None => assert!(!taken, "{text}"),
            }
        }
        // A key repeated in a later chunk is a duplicate.
        let dup = format!("{long}北京,2000,a,1,元\n");
        assert!(columnar(&dup, None).is_none());
        assert_eq!(
            by_rows(&dup, Encoding::Utf8, "t.csv", None)
                .unwrap_err()
                .code(),
            "ingest.duplicate"
        );
        let wide_dup = format!("{wide}北京,2000,1,1\n");
        assert!(columnar(&wide_dup, None).is_none());
    }
}
