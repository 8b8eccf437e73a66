//! Service: the one API that the CLI, the HTML pages and the JSON API call.
//!
//! Owns: turning input files + a framework + a method choice into an index result, and writing
//! results in their contract formats. Everything here composes the pure stages
//! (`ingest` → `framework` → `method`); nothing is computed twice in two places.
//! Must not: know about axum, askama or clap.

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::Serialize;

pub mod analysis;
pub mod basemap;
pub mod brief;
pub mod bundled;
pub mod dashboard;
pub mod datasets;
pub mod diff;
pub mod download;
pub mod figure;
pub mod methodology;
pub mod publish;
pub mod revisions;
pub mod robustness;
pub mod sandbox;
pub mod sort;

use crate::error::{Error, Result};
use crate::framework::Framework;
use crate::ingest::{self, Ingested, Notice, RegionSet};
use crate::method::{self, IndexResult, MethodSpec};
use crate::types::{DatasetId, Dimension, Panel, panel_cols};

/// One input file as the user gave it: its display name (never a server path) and its bytes.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub name: String,
    pub bytes: bytes::Bytes,
    /// The user's statement of which columns hold what (`--layout`, the upload form's layout
    /// field), for a table with years across that content detection cannot settle.
    pub layout: Option<ingest::LayoutHint>,
}

impl InputFile {
    /// Read a file from disk; the display name is the file name without its directories.
    pub fn read(path: &std::path::Path) -> Result<InputFile> {
        let bytes = map_or_read(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Ok(InputFile {
            name,
            bytes,
            layout: None,
        })
    }
}

/// A regular file mapped read-only by Polars' map (the one its own readers use), anything else
/// (a pipe, a special file) read. Copying a large file from the page cache into fresh memory
/// costs several times what mapping it does (docs/benchmarks.md).
fn map_or_read(path: &std::path::Path) -> std::io::Result<bytes::Bytes> {
    use polars::polars_utils::mmap::MMapSemaphore;
    let file = std::fs::File::open(path)?;
    if file.metadata()?.is_file()
        && let Ok(map) = MMapSemaphore::new_from_file(&file)
    {
        return Ok(bytes::Bytes::from_owner(map));
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut &file, &mut bytes)?;
    Ok(bytes.into())
}

/// Which region set the input's names are matched against.
#[derive(Debug, Clone, Default)]
pub enum RegionChoice {
    /// Use the bundled China province set when most names in the input match it, else none.
    #[default]
    Auto,
    /// No region set: the cleaned names in the file are the region ids.
    None,
    /// An explicit region set.
    Set(RegionSet),
}

/// What ingest found in one file (shown by `nqp check` and the upload preview).
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub name: String,
    pub encoding: &'static str,
    pub layout: &'static str,
    pub rows: usize,
    pub regions: usize,
    pub years: Vec<i32>,
    pub indicators: Vec<String>,
    pub units: BTreeMap<String, String>,
    pub notices: Vec<NoticeView>,
}

/// A notice in a serialisable shape.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeView {
    pub code: &'static str,
    pub message: String,
    pub line: Option<u64>,
}

impl From<&Notice> for NoticeView {
    fn from(n: &Notice) -> Self {
        NoticeView {
            code: n.code,
            message: n.message.clone(),
            line: n.position.as_ref().and_then(|p| p.line),
        }
    }
}

/// Several input files merged into one panel.
#[derive(Debug, Clone)]
pub struct LoadedData {
    pub panel: Panel,
    pub region_set: Option<RegionSet>,
    pub files: Vec<FileReport>,
    /// Indicator → unit, from the files that state one.
    pub units: BTreeMap<String, String>,
    /// Decimal places each value of `panel` shows in its file, one per row in the panel's order
    /// ([`ingest::Ingested::decimals`]).
    pub decimals: Vec<i8>,
}

/// Share of distinct names that must resolve against the bundled set for `RegionChoice::Auto`.
const AUTO_REGION_MATCH_SHARE: f64 = 0.5;

/// Ingest every file, match regions, and merge into one panel. The same (region, year,
/// indicator) in two files is an error naming both files: nqp never picks one silently.
pub fn load_data(files: &[InputFile], regions: &RegionChoice) -> Result<LoadedData> {
    // `Auto` reads every file once without a region set, decides from the distinct names, then
    // matches those names to codes (`Unmatched::match_regions`) instead of ingesting again.
    let (region_set, unmatched) = match regions {
        RegionChoice::Set(set) => (Some(set.clone()), None),
        RegionChoice::None => (None, None),
        RegionChoice::Auto => {
            let unmatched = files
                .iter()
                .map(|f| ingest::ingest_unmatched_with(&f.bytes, &f.name, f.layout.as_ref()))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            (auto_region_set(&unmatched)?, Some(unmatched))
        }
    };
    let mut unmatched = unmatched.map(Vec::into_iter);
    let mut panels = Vec::with_capacity(files.len());
    let mut reports = Vec::with_capacity(files.len());
    let mut units = BTreeMap::new();
    let mut origin: BTreeMap<String, String> = BTreeMap::new();
    let mut decimals = Vec::new();
    for file in files {
        let ingested = match (unmatched.as_mut().and_then(Iterator::next), &region_set) {
            (Some(first), Some(set)) => first.match_regions(set, &file.bytes, &file.name)?,
            (Some(first), None) => first.into_ingested(),
            (None, set) => {
                ingest::ingest_with(&file.bytes, &file.name, set.as_ref(), file.layout.as_ref())?
            }
        };
        let report = file_report(&file.name, &ingested)?;
        for indicator in &report.indicators {
            if let Some(first) = origin.insert(indicator.clone(), file.name.clone()) {
                check_no_overlap(&panels, &first, &file.name, &ingested.panel, indicator)?;
            }
        }
        units.extend(ingested.units.clone());
        decimals.extend_from_slice(&ingested.decimals);
        reports.push(report);
        panels.push((file.name.clone(), ingested.panel));
    }
    let panel = Panel::concat(panels.into_iter().map(|(_, p)| p))?;
    Ok(LoadedData {
        panel,
        region_set,
        files: reports,
        units,
        decimals,
    })
}

/// The bundled set when at least [`AUTO_REGION_MATCH_SHARE`] of the distinct names observed in
/// the files match it, else none.
fn auto_region_set(files: &[ingest::Unmatched]) -> Result<Option<RegionSet>> {
    let bundled = RegionSet::cn_provinces();
    let mut names = std::collections::BTreeSet::new();
    for file in files {
        names.extend(file.ingested().panel.regions()?);
    }
    if names.is_empty() {
        return Ok(None);
    }
    let matched = names
        .iter()
        .filter(|n| bundled.classify(n).is_some())
        .count();
    let share = matched as f64 / names.len() as f64;
    Ok((share >= AUTO_REGION_MATCH_SHARE).then_some(bundled))
}

/// The same indicator may come from two files only for disjoint (region, year) keys.
fn check_no_overlap(
    earlier: &[(String, Panel)],
    first_file: &str,
    second_file: &str,
    second: &Panel,
    indicator: &str,
) -> Result<()> {
    use panel_cols::*;
    let Some((_, first)) = earlier.iter().find(|(name, _)| name == first_file) else {
        return Ok(());
    };
    let keys = |p: &Panel| {
        p.frame()
            .clone()
            .lazy()
            .filter(col(INDICATOR).eq(lit(indicator.to_owned())))
            .select([col(REGION), col(YEAR)])
    };
    let clash = keys(first)
        .join(
            keys(second),
            [col(REGION), col(YEAR)],
            [col(REGION), col(YEAR)],
            JoinArgs::new(JoinType::Inner),
        )
        .limit(1)
        .collect()?;
    if clash.height() == 0 {
        return Ok(());
    }
    let region = clash
        .column(REGION)?
        .str()?
        .get(0)
        .unwrap_or_default()
        .to_owned();
    let year = clash.column(YEAR)?.i32()?.get(0).unwrap_or_default();
    Err(Error::DuplicateAcrossFiles {
        indicator: indicator.to_owned(),
        region,
        year,
        first_file: first_file.to_owned(),
        second_file: second_file.to_owned(),
    })
}

fn file_report(name: &str, ingested: &Ingested) -> Result<FileReport> {
    Ok(FileReport {
        name: name.to_owned(),
        encoding: ingested.encoding.as_str(),
        layout: ingested.layout.as_str(),
        rows: ingested.panel.height(),
        regions: ingested.panel.regions()?.len(),
        years: ingested.panel.years()?,
        indicators: ingested.panel.indicators()?,
        units: ingested.units.clone(),
        notices: ingested.notices.iter().map(NoticeView::from).collect(),
    })
}

/// Derive the framework's indicators from the panel and run the method. Regions the framework
/// excludes are left out first, and every result records them (notice `region.excluded`, with
/// the reason) together with the indicators the framework marks unavailable
/// (`framework.unavailable`), so a preset computes on what the public data supply and says what
/// it lacks.
pub fn compute_index(
    panel: &Panel,
    framework: &Framework,
    spec: &MethodSpec,
) -> Result<IndexResult> {
    let included = included_panel(panel, framework)?;
    let wide = framework.derive(&included)?;
    let mut result = method::compute(&wide, &framework.indicator_specs(), spec)?;
    result.notices.extend(framework_notices(framework));
    Ok(result)
}

/// The panel without the regions the framework excludes.
pub(crate) fn included_panel<'p>(
    panel: &'p Panel,
    framework: &Framework,
) -> Result<std::borrow::Cow<'p, Panel>> {
    if framework.exclude.is_empty() {
        return Ok(std::borrow::Cow::Borrowed(panel));
    }
    let excluded: Vec<&str> = framework
        .exclude
        .iter()
        .map(|e| e.region.as_str())
        .collect();
    let names = Series::new("excluded".into(), excluded);
    let frame = panel
        .frame()
        .clone()
        .lazy()
        .filter(
            col(panel_cols::REGION)
                .is_in(lit(names).implode(true), false)
                .not(),
        )
        .collect()?;
    Ok(std::borrow::Cow::Owned(Panel::new(frame)?))
}

/// The notices a framework adds to every result: excluded regions and unavailable indicators.
fn framework_notices(framework: &Framework) -> Vec<method::MethodNotice> {
    let excluded = framework.exclude.iter().map(|e| {
        method::MethodNotice::new(
            "region.excluded",
            format!("region {} excluded: {}", e.region, e.reason),
            None,
        )
    });
    let unavailable = framework.unavailable.iter().map(|d| {
        method::MethodNotice::new(
            "framework.unavailable",
            format!(
                "indicator '{}' ({}) is not in the public data: listed by the framework, not scored",
                d.id, d.name_en
            ),
            Some(d.id.as_str()),
        )
    });
    excluded.chain(unavailable).collect()
}

/// The score table in the `nqp compute --out` contract order:
/// `region,year,score,rank,laborers,tools,objects`, then sub-dimension columns, then the
/// sub-indices the framework defines (`level/micro`, `level/meso`, `level/macro`, `subindex/ai_digital`).
pub fn scores_for_output(result: &IndexResult) -> Result<DataFrame> {
    let mut names: Vec<String> = ["region", "year", "score", "rank"]
        .into_iter()
        .map(str::to_owned)
        .chain(Dimension::ALL.iter().map(|d| d.as_str().to_owned()))
        .collect();
    let is_breakdown = |name: &str| {
        Dimension::ALL
            .iter()
            .any(|d| name.starts_with(&format!("{}/", d.as_str())))
    };
    let columns = result.scores.get_column_names();
    names.extend(
        columns
            .iter()
            .filter(|c| is_breakdown(c))
            .map(|c| c.to_string()),
    );
    names.extend(
        crate::types::Subindex::ALL
            .iter()
            .map(|s| s.column())
            .filter(|s| columns.iter().any(|c| c.as_str() == *s))
            .map(str::to_owned),
    );
    Ok(result.scores.select(names)?)
}

/// Output formats of `nqp compute --out`, chosen by the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Csv,
    Json,
    Parquet,
}

impl OutputFormat {
    pub fn from_path(path: &std::path::Path) -> Option<OutputFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(OutputFormat::Csv),
            "json" => Some(OutputFormat::Json),
            "parquet" => Some(OutputFormat::Parquet),
            _ => None,
        }
    }
}

/// Serialise a frame as CSV (UTF-8, header, shortest round-trip floats).
pub fn frame_to_csv(frame: &DataFrame) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut frame = frame.clone();
    CsvWriter::new(&mut buf)
        .include_header(true)
        .finish(&mut frame)?;
    Ok(buf)
}

/// Serialise a frame as Parquet (zstd).
pub fn frame_to_parquet(frame: &DataFrame) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut frame = frame.clone();
    ParquetWriter::new(&mut buf)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(&mut frame)?;
    Ok(buf)
}

/// A frame as a JSON array of row objects (nulls as `null`, NaN as `null`).
pub fn frame_to_json_rows(frame: &DataFrame) -> Result<serde_json::Value> {
    let columns = frame.columns();
    let mut rows = Vec::with_capacity(frame.height());
    for i in 0..frame.height() {
        let mut row = serde_json::Map::with_capacity(columns.len());
        for column in columns {
            row.insert(column.name().to_string(), any_to_json(column.get(i)?));
        }
        rows.push(serde_json::Value::Object(row));
    }
    Ok(serde_json::Value::Array(rows))
}

fn any_to_json(value: AnyValue<'_>) -> serde_json::Value {
    use serde_json::Value;
    match value {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(b),
        AnyValue::String(s) => Value::String(s.to_owned()),
        AnyValue::StringOwned(s) => Value::String(s.to_string()),
        AnyValue::Float64(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        AnyValue::Float32(f) => {
            serde_json::Number::from_f64(f64::from(f)).map_or(Value::Null, Value::Number)
        }
        other => match other.extract::<i64>() {
            Some(i) => Value::from(i),
            None => Value::String(other.to_string()),
        },
    }
}

/// Write the index result to `bytes` in the chosen format (the `nqp compute --out` contract).
pub fn render_scores(result: &IndexResult, format: OutputFormat) -> Result<Vec<u8>> {
    let scores = scores_for_output(result)?;
    match format {
        OutputFormat::Csv => frame_to_csv(&scores),
        OutputFormat::Parquet => frame_to_parquet(&scores),
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "method": &result.method,
                "notices": &result.notices,
                "scores": frame_to_json_rows(&scores)?,
            });
            Ok(serde_json::to_vec_pretty(&doc).expect("JSON values always serialise"))
        }
    }
}

/// Build a servable dataset from input files, a framework and a region choice. The version id
/// is a hash of every input's content, so equal content always gets the same version.
pub fn build_dataset(
    id: DatasetId,
    titles: (&str, &str),
    files: &[InputFile],
    framework_toml: (&str, &str),
    regions: &RegionChoice,
) -> Result<dashboard::Dataset> {
    let (framework_text, framework_name) = framework_toml;
    let framework = Framework::from_toml(framework_text, framework_name)?;
    let data = load_data(files, regions)?;
    let mut parts: Vec<&[u8]> = files.iter().map(|f| &f.bytes[..]).collect();
    parts.push(framework_text.as_bytes());
    let region_ids;
    if let Some(set) = &data.region_set {
        region_ids = set
            .regions()
            .iter()
            .map(|r| format!("{}|{}|{}|{}", r.code, r.name_zh, r.name_en, r.group))
            .collect::<Vec<_>>()
            .join("\n");
        parts.push(region_ids.as_bytes());
    }
    Ok(dashboard::Dataset {
        id,
        version: content_version(&parts),
        number: None,
        title_zh: titles.0.to_owned(),
        title_en: titles.1.to_owned(),
        panel: data.panel,
        framework,
        framework_toml: framework_text.to_owned(),
        regions: data.region_set,
        units: data.units,
    })
}

/// A version id from the content of every input (SHA-256, hex): equal content, equal version.
pub fn content_version(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    crate::store::hex(&hasher.finalize())
}

/// Compute a dataset's index with `spec` and lay it out for the dashboard.
pub fn compute_tables(
    dataset: &dashboard::Dataset,
    spec: &MethodSpec,
) -> Result<dashboard::ResultTables> {
    let result = compute_index(&dataset.panel, &dataset.framework, spec)?;
    dashboard::ResultTables::from_result(&result)
}

/// A canonical key of a method choice (for caches): its JSON form.
pub fn method_key(spec: &MethodSpec) -> String {
    serde_json::to_string(spec).expect("a method spec always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mapped file, an empty one and a pipe read as `fs::read` reads them; a folder is an
    /// error that names it.
    #[test]
    fn input_files_read_as_their_bytes_mapped_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let text = "region,year,a\n北京,2020,1.5\n".repeat(1000);
        for (name, content) in [("panel.csv", text.as_str()), ("empty.csv", "")] {
            let path = dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            let file = InputFile::read(&path).unwrap();
            assert_eq!(
                (file.name.as_str(), &file.bytes[..]),
                (name, content.as_bytes())
            );
        }
        let fifo = dir.path().join("fifo.csv");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let writer = {
                let fifo = fifo.clone();
                std::thread::spawn(move || std::fs::write(fifo, "a,b\n1,2\n").unwrap())
            };
            assert_eq!(&InputFile::read(&fifo).unwrap().bytes[..], b"a,b\n1,2\n");
            writer.join().unwrap();
        }
        let err = InputFile::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
    }
}
