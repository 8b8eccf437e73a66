//! Downloads of a computed index: data tables in CSV, XLSX, JSON and Parquet, their
//! `metadata.json`, and a zip bundle of everything.
//!
//! Owns: the download tables (their columns and order), the metadata record that travels with
//! every download, formula-injection-safe CSV, the XLSX workbook layout and the bundle layout.
//! Must not: know HTTP (status codes, headers and URLs are `web::download`) or compute index
//! values itself — every number comes from one [`IndexResult`] of `method::compute`.
//!
//! Tables (one row per …):
//! - `scores`: region-year — `region` (+ `name_zh`, `name_en` when the dataset has a region
//!   set), `year, score, rank, laborers, tools, objects`, sub-dimension and level columns,
//!   `indicators_missing`.
//! - `weights`: indicator (per year for `*-year` schemes) — `indicator, name_zh, name_en,
//!   dimension, subdimension, direction, [year], weight`.
//! - `normalised`: region-year-indicator — `region, year, indicator, raw, z, imputed`.
//! - `imputation`: the imputation log, one row per scored cell that was *not* observed:
//!   `status = interpolated` (interior gap filled by linear interpolation; `value` is the filled
//!   value) or `status = missing` (leading/trailing gap left empty; the region-year is scored on
//!   its other indicators with re-normalised weights). The per-indicator coverage and the
//!   exclusion notices belong to the same log; they are in `metadata.json` (`coverage`,
//!   `notices`) and on every workbook's `metadata` sheet.

use std::borrow::Cow;
use std::io::{Cursor, Write};

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use polars::prelude::*;
use serde::Serialize;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};

use super::dashboard::Dataset;
use super::sandbox::ManualWeights;
use crate::error::{Error, Result};
use crate::method::{Aggregate, IndexResult, MethodRecord, MethodSpec, Normalise, WeightScheme};
use crate::types::Dimension;

/// Compute the full [`IndexResult`] of `dataset` under `spec` (all frames, not just the rows
/// the dashboard keeps). Not cached: a download recomputes in ~20 ms.
pub fn compute_result(dataset: &Dataset, spec: &MethodSpec) -> Result<IndexResult> {
    super::compute_index(&dataset.panel, &dataset.framework, spec)
}

/// A downloadable data table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Scores,
    Weights,
    Normalised,
    Imputation,
}

impl Table {
    pub const ALL: [Table; 4] = [
        Table::Scores,
        Table::Weights,
        Table::Normalised,
        Table::Imputation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Table::Scores => "scores",
            Table::Weights => "weights",
            Table::Normalised => "normalised",
            Table::Imputation => "imputation",
        }
    }

    pub fn parse(raw: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    fn description(self) -> &'static str {
        match self {
            Table::Scores => {
                "One row per region-year: overall score (0-100), rank (1 = highest, ties share \
                 the lowest rank), dimension, sub-dimension and level scores, the \
                 intelligence-and-digital sub-index (subindex/ai_digital), and the number of \
                 scored indicators still missing."
            }
            Table::Weights => {
                "One row per indicator (and year for per-year schemes): the effective weight; weights sum to 1."
            }
            Table::Normalised => {
                "One row per region-year-indicator: the value after imputation (raw), its \
                 normalised value z and whether it was imputed."
            }
            Table::Imputation => {
                "The imputation log: every scored cell not observed in the input, with status \
                 interpolated (interior gap, linear interpolation) or missing (left empty; the \
                 region-year is scored on its other indicators)."
            }
        }
    }
}

/// A file format of a data table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Json,
    Parquet,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Csv, Format::Xlsx, Format::Json, Format::Parquet];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Json => "json",
            Format::Parquet => "parquet",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Json => "application/json",
            Format::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// What a download URL's last segment asks for: `scores.csv`, `metadata.json`, `bundle.zip`, …
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRequest {
    Table(Table, Format),
    Metadata,
    Bundle,
}

impl FileRequest {
    pub fn parse(file: &str) -> Option<FileRequest> {
        match file {
            "metadata.json" => return Some(FileRequest::Metadata),
            "bundle.zip" => return Some(FileRequest::Bundle),
            _ => {}
        }
        let (table, ext) = file.rsplit_once('.')?;
        let format = Format::ALL.into_iter().find(|f| f.extension() == ext)?;
        Some(FileRequest::Table(Table::parse(table)?, format))
    }

    /// The URL segment of this file (inverse of [`FileRequest::parse`]).
    pub fn segment(self) -> String {
        match self {
            FileRequest::Table(t, f) => format!("{}.{}", t.as_str(), f.extension()),
            FileRequest::Metadata => "metadata.json".to_owned(),
            FileRequest::Bundle => "bundle.zip".to_owned(),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            FileRequest::Table(_, f) => f.content_type(),
            FileRequest::Metadata => "application/json",
            FileRequest::Bundle => "application/zip",
        }
    }
}

/// Everything a download says about where its numbers come from (`metadata.json`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Metadata {
    pub dataset: DatasetMeta,
    pub framework: FrameworkMeta,
    /// The full method: normalisation, weights, shift, aggregation, coverage threshold, tie
    /// tolerance and the nqp version that computed it.
    pub method: MethodRecord,
    /// Every distinct (source, publisher), with the indicators and inputs taken from it.
    pub sources: Vec<SourceMeta>,
    pub coverage: Vec<CoverageMeta>,
    pub notices: Vec<NoticeMeta>,
    pub tables: Vec<TableMeta>,
    /// RFC 3339, UTC.
    pub generated_at: String,
    pub nqp_version: String,
    /// Set when the file's scores were computed with weights the reader chose (the weight
    /// sandbox) instead of `method.weights`: they are these, and the `weights` sheet lists them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manual_weights: Option<ManualWeights>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DatasetMeta {
    pub id: String,
    /// The dataset version: the SHA-256 of its input files, framework and region set.
    pub version: String,
    /// The same content hash, with its algorithm: `sha256:<hex>`.
    pub hash: String,
    pub title_zh: String,
    pub title_en: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FrameworkMeta {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub indicators: Vec<IndicatorMeta>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IndicatorMeta {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub dimension: Dimension,
    pub subdimension: Option<String>,
    #[schema(value_type = Option<String>)]
    pub level: Option<&'static str>,
    /// Part of the intelligence-and-digital sub-index (`subindex/ai_digital`).
    pub ai_digital: bool,
    /// `+` (benefit: higher is better) or `-` (cost).
    #[schema(value_type = String)]
    pub direction: &'static str,
    pub unit: String,
    pub formula: Option<String>,
    pub source: String,
    pub publisher: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SourceMeta {
    pub source: String,
    pub publisher: Option<String>,
    pub indicators: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CoverageMeta {
    pub indicator: String,
    /// Share of region-years observed before imputation.
    pub coverage: f64,
    pub excluded: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoticeMeta {
    #[schema(value_type = String)]
    pub code: &'static str,
    pub message: String,
    pub indicator: Option<String>,
}

impl From<&crate::method::MethodNotice> for NoticeMeta {
    fn from(n: &crate::method::MethodNotice) -> NoticeMeta {
        NoticeMeta {
            code: n.code,
            message: n.message.clone(),
            indicator: n.indicator.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TableMeta {
    #[schema(value_type = String)]
    pub name: &'static str,
    #[schema(value_type = String)]
    pub description: &'static str,
    pub columns: Vec<String>,
}

/// One computed result of one dataset, ready to be written in every download format.
pub struct Export<'a> {
    dataset: &'a Dataset,
    result: &'a IndexResult,
    generated_at: DateTime<Utc>,
}

/// Hex digits of the version in short URLs and file names.
pub const SHORT_VERSION: usize = 12;

impl<'a> Export<'a> {
    pub fn new(
        dataset: &'a Dataset,
        result: &'a IndexResult,
        generated_at: DateTime<Utc>,
    ) -> Export<'a> {
        Export {
            dataset,
            result,
            generated_at,
        }
    }

    /// `dataset-version12-normalise_weights_aggregate`, safe in any file system.
    pub fn file_stem(&self) -> String {
        let m = &self.result.method.spec;
        let version: String = self.dataset.version.chars().take(SHORT_VERSION).collect();
        let method = format!(
            "{}_{}_{}",
            m.normalise.as_str(),
            m.weights,
            m.aggregate.as_str()
        );
        let raw = format!("{}-{version}-{method}", self.dataset.id);
        raw.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    }

    /// The attachment name of a download.
    pub fn file_name(&self, request: FileRequest) -> String {
        match request {
            FileRequest::Table(t, f) => {
                format!("{}-{}.{}", self.file_stem(), t.as_str(), f.extension())
            }
            FileRequest::Metadata => format!("{}-metadata.json", self.file_stem()),
            FileRequest::Bundle => format!("{}.zip", self.file_stem()),
        }
    }

    /// A data table as a frame (see the module doc for the columns).
    pub fn frame(&self, table: Table) -> Result<DataFrame> {
        match table {
            Table::Scores => self.scores_frame(),
            Table::Weights => self.weights_frame(),
            Table::Normalised => Ok(self.result.normalised()?.clone()),
            Table::Imputation => imputation_frame(self.result.normalised()?),
        }
    }

    fn scores_frame(&self) -> Result<DataFrame> {
        let mut frame = super::scores_for_output(self.result)?;
        if let Ok(missing) = self.result.scores.column("indicators_missing") {
            frame.with_column(missing.clone())?;
        }
        if self.dataset.regions.is_some() {
            let codes = str_values(&frame, "region")?;
            let names = |lang: crate::types::Lang| -> Vec<String> {
                codes
                    .iter()
                    .map(|c| self.dataset.region_name(c, lang))
                    .collect()
            };
            frame.insert_column(
                1,
                Column::new("name_zh".into(), names(crate::types::Lang::Zh)),
            )?;
            frame.insert_column(
                2,
                Column::new("name_en".into(), names(crate::types::Lang::En)),
            )?;
        }
        Ok(frame)
    }

    fn weights_frame(&self) -> Result<DataFrame> {
        let w = &self.result.weights;
        let ids = str_values(w, "indicator")?;
        let def = |id: &str| self.dataset.framework.get(id);
        let text =
            |f: &dyn Fn(&crate::framework::IndicatorDef) -> Option<String>| -> Vec<Option<String>> {
                ids.iter().map(|id| def(id).and_then(f)).collect()
            };
        let mut columns = vec![
            w.column("indicator")?.clone(),
            Column::new("name_zh".into(), text(&|d| Some(d.name_zh.clone()))),
            Column::new("name_en".into(), text(&|d| Some(d.name_en.clone()))),
            w.column("dimension")?.clone(),
            Column::new("subdimension".into(), text(&|d| d.subdimension.clone())),
            Column::new(
                "direction".into(),
                text(&|d| Some(d.direction.as_str().to_owned())),
            ),
        ];
        if let Ok(year) = w.column("year") {
            columns.push(year.clone());
        }
        columns.push(w.column("weight")?.clone());
        Ok(DataFrame::new(w.height(), columns)?)
    }

    /// The metadata of this result (the content of `metadata.json`).
    pub fn metadata(&self) -> Result<Metadata> {
        let ds = self.dataset;
        let fw = &ds.framework;
        let indicators = fw
            .indicators
            .iter()
            .map(|d| IndicatorMeta {
                id: d.id.to_string(),
                name_zh: d.name_zh.clone(),
                name_en: d.name_en.clone(),
                dimension: d.dimension,
                subdimension: d.subdimension.clone(),
                level: d.level.map(|l| l.as_str()),
                ai_digital: d.ai_digital,
                direction: d.direction.as_str(),
                unit: d.unit.clone(),
                formula: d.formula.as_ref().map(|f| f.to_string()),
                source: d.source.clone(),
                publisher: d.publisher.clone(),
            })
            .collect();
        let mut sources: Vec<SourceMeta> = Vec::new();
        let origins = fw
            .indicators
            .iter()
            .map(|d| (d.id.as_str(), &d.source, &d.publisher))
            .chain(
                fw.inputs
                    .iter()
                    .map(|i| (i.id.as_str(), &i.source, &i.publisher)),
            );
        for (id, source, publisher) in origins {
            match sources
                .iter_mut()
                .find(|s| &s.source == source && &s.publisher == publisher)
            {
                Some(s) => s.indicators.push(id.to_owned()),
                None => sources.push(SourceMeta {
                    source: source.clone(),
                    publisher: publisher.clone(),
                    indicators: vec![id.to_owned()],
                }),
            }
        }
        let c = &self.result.coverage;
        let (ids, shares) = (str_values(c, "indicator")?, c.column("coverage")?.f64()?);
        let excluded = c.column("excluded")?.bool()?;
        let coverage = ids
            .into_iter()
            .enumerate()
            .map(|(i, indicator)| CoverageMeta {
                indicator,
                coverage: shares.get(i).unwrap_or(0.0),
                excluded: excluded.get(i).unwrap_or(false),
            })
            .collect();
        let tables = Table::ALL
            .into_iter()
            .map(|t| {
                Ok(TableMeta {
                    name: t.as_str(),
                    description: t.description(),
                    columns: self
                        .frame(t)?
                        .get_column_names()
                        .iter()
                        .map(|n| n.to_string())
                        .collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Metadata {
            dataset: DatasetMeta {
                id: ds.id.to_string(),
                version: ds.version.clone(),
                hash: format!("sha256:{}", ds.version),
                title_zh: ds.title_zh.clone(),
                title_en: ds.title_en.clone(),
            },
            framework: FrameworkMeta {
                id: fw.index.id.clone(),
                name_zh: fw.index.name_zh.clone(),
                name_en: fw.index.name_en.clone(),
                indicators,
            },
            method: self.result.method.clone(),
            sources,
            coverage,
            notices: self.result.notices.iter().map(NoticeMeta::from).collect(),
            tables,
            generated_at: self.generated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            nqp_version: env!("CARGO_PKG_VERSION").to_owned(),
            manual_weights: None,
        })
    }

    /// The bytes of one download. `bom` prefixes CSV with a UTF-8 byte-order mark (what Excel
    /// needs to read UTF-8); it does nothing for other formats.
    pub fn render(&self, request: FileRequest, bom: bool) -> Result<Vec<u8>> {
        let meta = self.metadata()?;
        match request {
            FileRequest::Metadata => Ok(to_json(&meta)),
            FileRequest::Bundle => self.bundle(&meta),
            FileRequest::Table(table, format) => self.render_table(table, format, bom, &meta),
        }
    }

    fn render_table(
        &self,
        table: Table,
        format: Format,
        bom: bool,
        meta: &Metadata,
    ) -> Result<Vec<u8>> {
        let frame = self.frame(table)?;
        match format {
            Format::Csv => csv_bytes(&frame, bom),
            Format::Parquet => parquet_bytes(&frame, meta),
            Format::Json => Ok(to_json(&serde_json::json!({
                "metadata": meta,
                "table": table.as_str(),
                "columns": frame.get_column_names().iter().map(|n| n.as_str()).collect::<Vec<_>>(),
                "rows": super::frame_to_json_rows(&frame)?,
            }))),
            Format::Xlsx => xlsx_bytes(&frame, &self.weights_frame()?, meta),
        }
    }

    /// Every table in every format plus `metadata.json`, in one folder named after the stem.
    fn bundle(&self, meta: &Metadata) -> Result<Vec<u8>> {
        let stem = self.file_stem();
        let t = self.generated_at;
        let modified = ::zip::DateTime::from_date_and_time(
            u16::try_from(t.year()).unwrap_or(1980),
            t.month() as u8,
            t.day() as u8,
            t.hour() as u8,
            t.minute() as u8,
            t.second().min(59) as u8,
        )
        .unwrap_or_default();
        let options = ::zip::write::SimpleFileOptions::default()
            .compression_method(::zip::CompressionMethod::Deflated)
            .last_modified_time(modified);
        let mut zip = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
        let mut add = |name: String, bytes: &[u8]| -> Result<()> {
            zip.start_file(format!("{stem}/{name}"), options)
                .map_err(zip_error)?;
            zip.write_all(bytes)
                .map_err(|e| Error::Internal(format!("zip: {e}")))
        };
        add("metadata.json".to_owned(), &to_json(meta))?;
        for table in Table::ALL {
            for format in Format::ALL {
                let bytes = self.render_table(table, format, false, meta)?;
                add(FileRequest::Table(table, format).segment(), &bytes)?;
            }
        }
        Ok(zip.finish().map_err(zip_error)?.into_inner())
    }
}

impl Export<'_> {
    /// A page's view as a file named `<stem>-<name>.<ext>` (method and version in the stem):
    /// JSON is the whole view with the metadata (what the API returns, plus its provenance);
    /// CSV, XLSX and Parquet are its table `rows`, with the metadata beside or inside them.
    /// `manual` is set when the view's scores use the reader's weights: the metadata records
    /// them and the XLSX `weights` sheet lists them instead of the method's.
    pub fn render_view(
        &self,
        name: &str,
        view: &impl Serialize,
        rows: &DataFrame,
        format: Format,
        bom: bool,
        manual: Option<&ManualWeights>,
    ) -> Result<(String, Vec<u8>)> {
        let meta = Metadata {
            manual_weights: manual.cloned(),
            ..self.metadata()?
        };
        let weights = || match manual {
            Some(m) => rows_frame(&m.indicators),
            None => self.weights_frame(),
        };
        let bytes = match format {
            Format::Csv => csv_bytes(rows, bom)?,
            Format::Parquet => parquet_bytes(rows, &meta)?,
            Format::Json => to_json(&serde_json::json!({ "metadata": meta, "view": view })),
            Format::Xlsx => xlsx_bytes(rows, &weights()?, &meta)?,
        };
        let file = format!("{}-{name}.{}", self.file_stem(), format.extension());
        Ok((file, bytes))
    }
}

/// Rows of a view as a frame: one column per scalar field, in field order, the fields of a
/// nested object as `object.field` (lists are left to the JSON form). Whole numbers stay
/// integers, so a rank reads `3`, not `3.0`. The rows go through JSON text read back as
/// [`Fields`]: `serde_json::Value` would sort the keys (its `preserve_order` feature would
/// rebuild Polars, which depends on serde_json).
pub fn rows_frame<T: Serialize>(rows: &[T]) -> Result<DataFrame> {
    let values: Vec<Vec<(String, serde_json::Value)>> = rows
        .iter()
        .map(|r| {
            let text = serde_json::to_string(r).map_err(|e| Error::Internal(e.to_string()))?;
            match serde_json::from_str(&text) {
                Ok(Cell::Object(Fields(fields))) => Ok(Fields::flat(fields)),
                _ => Err(Error::Internal("a view row is not an object".into())),
            }
        })
        .collect::<Result<_>>()?;
    let Some(first) = values.first() else {
        return Ok(DataFrame::empty());
    };
    let null = serde_json::Value::Null;
    let mut columns = Vec::new();
    for (key, _) in first {
        let cells: Vec<&serde_json::Value> = values
            .iter()
            .map(|row| row.iter().find(|(k, _)| k == key).map_or(&null, |(_, v)| v))
            .collect();
        let present = || cells.iter().filter(|v| !v.is_null());
        let name = PlSmallStr::from(key.as_str());
        let column = if present().all(|v| v.is_i64()) {
            Column::new(name, cells.iter().map(|v| v.as_i64()).collect::<Vec<_>>())
        } else if present().all(|v| v.is_number()) {
            Column::new(name, cells.iter().map(|v| v.as_f64()).collect::<Vec<_>>())
        } else if present().all(|v| v.is_boolean()) {
            Column::new(name, cells.iter().map(|v| v.as_bool()).collect::<Vec<_>>())
        } else if present().all(|v| v.is_string()) {
            Column::new(name, cells.iter().map(|v| v.as_str()).collect::<Vec<_>>())
        } else {
            continue;
        };
        columns.push(column);
    }
    Ok(DataFrame::new(values.len(), columns)?)
}

/// A JSON object's fields in the order they were written.
struct Fields(Vec<(String, Cell)>);

/// A JSON value, objects kept as [`Fields`].
enum Cell {
    Value(serde_json::Value),
    Object(Fields),
}

impl Fields {
    /// Scalars as they are, the scalars of a nested object as `object.field`.
    fn flat(fields: Vec<(String, Cell)>) -> Vec<(String, serde_json::Value)> {
        let mut out = Vec::with_capacity(fields.len());
        for (key, cell) in fields {
            match cell {
                Cell::Value(v) => out.push((key, v)),
                Cell::Object(Fields(inner)) => out.extend(inner.into_iter().map(|(k, c)| {
                    let v = match c {
                        Cell::Value(v) => v,
                        Cell::Object(_) => serde_json::Value::Null,
                    };
                    (format!("{key}.{k}"), v)
                })),
            }
        }
        out
    }
}

impl<'de> serde::Deserialize<'de> for Cell {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Cell, D::Error> {
        use serde::de::{MapAccess, SeqAccess, Visitor, value::SeqAccessDeserializer};
        use serde_json::Value;
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Cell;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Cell, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, Cell>()? {
                    fields.push(entry);
                }
                Ok(Cell::Object(Fields(fields)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<Cell, A::Error> {
                serde::Deserialize::deserialize(SeqAccessDeserializer::new(seq)).map(Cell::Value)
            }
            fn visit_bool<E>(self, v: bool) -> std::result::Result<Cell, E> {
                Ok(Cell::Value(Value::from(v)))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Cell, E> {
                Ok(Cell::Value(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<Cell, E> {
                Ok(Cell::Value(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<Cell, E> {
                Ok(Cell::Value(Value::from(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Cell, E> {
                Ok(Cell::Value(Value::from(v)))
            }
            fn visit_unit<E>(self) -> std::result::Result<Cell, E> {
                Ok(Cell::Value(Value::Null))
            }
        }
        d.deserialize_any(V)
    }
}

fn zip_error(e: ::zip::result::ZipError) -> Error {
    Error::Internal(format!("zip: {e}"))
}

fn to_json(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("download metadata and rows always serialise")
}

fn str_values(frame: &DataFrame, name: &str) -> Result<Vec<String>> {
    Ok(frame
        .column(name)?
        .str()?
        .iter()
        .map(|v| v.unwrap_or_default().to_owned())
        .collect())
}

/// Every scored cell that was not observed: interpolated, or still missing.
fn imputation_frame(normalised: &DataFrame) -> Result<DataFrame> {
    Ok(normalised
        .clone()
        .lazy()
        .filter(col("imputed").or(col("raw").is_null()))
        .select([
            col("region"),
            col("year"),
            col("indicator"),
            when(col("imputed"))
                .then(lit("interpolated"))
                .otherwise(lit("missing"))
                .alias("status"),
            col("raw").alias("value"),
            col("z"),
        ])
        .collect()?)
}

/// A text cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a leading tab
/// or carriage return, per OWASP "CSV injection") gets a leading apostrophe, which spreadsheets
/// show as plain text. Only text cells: a negative *number* stays a number. A lone `+` or `-`
/// (an indicator's direction) is no formula and stays as it is.
pub fn neutralise_cell(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        _ if cell == "+" || cell == "-" => Cow::Borrowed(cell),
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// The frame with [`neutralise_cell`] applied to every string column.
pub fn neutralise_frame(frame: &DataFrame) -> Result<DataFrame> {
    let mut out = frame.clone();
    for column in frame.columns() {
        if column.dtype() != &DataType::String {
            continue;
        }
        let safe: StringChunked = column
            .str()?
            .iter()
            .map(|v| v.map(|s| neutralise_cell(s).into_owned()))
            .collect();
        out.with_column(safe.with_name(column.name().clone()).into_column())?;
    }
    Ok(out)
}

/// UTF-8 CSV with a header, formula-injection-safe; `bom` prefixes EF BB BF for Excel.
pub fn csv_bytes(frame: &DataFrame, bom: bool) -> Result<Vec<u8>> {
    let body = super::frame_to_csv(&neutralise_frame(frame)?)?;
    if !bom {
        return Ok(body);
    }
    let mut out = Vec::with_capacity(body.len() + 3);
    out.extend_from_slice(b"\xEF\xBB\xBF");
    out.extend_from_slice(&body);
    Ok(out)
}

/// Key of the Parquet file-metadata entry that carries `metadata.json`.
pub const PARQUET_METADATA_KEY: &str = "nqp.metadata";

/// Parquet (zstd) with the metadata embedded as a file-level key/value entry, so a Parquet
/// file that travels alone still says where it came from.
pub fn parquet_bytes(frame: &DataFrame, meta: &Metadata) -> Result<Vec<u8>> {
    let json = String::from_utf8(to_json(meta)).expect("serde_json writes UTF-8");
    let kv = KeyValueMetadata::from_static(vec![(PARQUET_METADATA_KEY.to_owned(), json)]);
    let mut buf = Vec::new();
    let mut frame = frame.clone();
    ParquetWriter::new(&mut buf)
        .with_compression(ParquetCompression::Zstd(None))
        .with_key_value_metadata(Some(kv))
        .finish(&mut frame)?;
    Ok(buf)
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> Error {
    Error::Internal(format!("xlsx: {e}"))
}

/// A workbook with sheets `data` (the table), `weights` and `metadata` (key/value rows).
/// Text is written as text cells, never as formulas, so no neutralising is needed here.
pub fn xlsx_bytes(data: &DataFrame, weights: &DataFrame, meta: &Metadata) -> Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    write_sheet(
        book.add_worksheet().set_name("data").map_err(xlsx_error)?,
        data,
    )?;
    write_sheet(
        book.add_worksheet()
            .set_name("weights")
            .map_err(xlsx_error)?,
        weights,
    )?;
    let sheet = book
        .add_worksheet()
        .set_name("metadata")
        .map_err(xlsx_error)?;
    sheet.write_string(0, 0, "key").map_err(xlsx_error)?;
    sheet.write_string(0, 1, "value").map_err(xlsx_error)?;
    let value = serde_json::to_value(meta).expect("metadata always serialises");
    let mut rows = Vec::new();
    flatten_json("", &value, &mut rows);
    for (i, (key, value)) in rows.iter().enumerate() {
        let row = u32::try_from(i + 1)
            .map_err(|_| Error::Internal("metadata too long for a sheet".into()))?;
        sheet.write_string(row, 0, key).map_err(xlsx_error)?;
        match value {
            serde_json::Value::Number(n) => {
                sheet.write_number(row, 1, n.as_f64().unwrap_or(f64::NAN))
            }
            serde_json::Value::Bool(b) => sheet.write_boolean(row, 1, *b),
            serde_json::Value::String(s) => sheet.write_string(row, 1, s),
            other => sheet.write_string(row, 1, other.to_string()),
        }
        .map_err(xlsx_error)?;
    }
    sheet.set_column_width(0, 32).map_err(xlsx_error)?;
    book.save_to_buffer().map_err(xlsx_error)
}

/// `{"a": {"b": [1, 2]}}` → `a.b[0] = 1`, `a.b[1] = 2`; nulls become empty rows' absence.
fn flatten_json(
    prefix: &str,
    value: &serde_json::Value,
    out: &mut Vec<(String, serde_json::Value)>,
) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_json(&key, v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten_json(&format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::Null => {}
        scalar => out.push((prefix.to_owned(), scalar.clone())),
    }
}

fn write_sheet(sheet: &mut rust_xlsxwriter::Worksheet, frame: &DataFrame) -> Result<()> {
    let too_big = || Error::Internal(format!("{} rows do not fit a worksheet", frame.height()));
    for (c, column) in frame.columns().iter().enumerate() {
        let col = u16::try_from(c).map_err(|_| too_big())?;
        sheet
            .write_string(0, col, column.name().as_str())
            .map_err(xlsx_error)?;
        let row = |i: usize| u32::try_from(i + 1).map_err(|_| too_big());
        match column.dtype() {
            DataType::String => {
                for (i, v) in column.str()?.iter().enumerate() {
                    if let Some(s) = v {
                        sheet.write_string(row(i)?, col, s).map_err(xlsx_error)?;
                    }
                }
            }
            DataType::Boolean => {
                for (i, v) in column.bool()?.iter().enumerate() {
                    if let Some(b) = v {
                        sheet.write_boolean(row(i)?, col, b).map_err(xlsx_error)?;
                    }
                }
            }
            dtype if dtype.is_primitive_numeric() => {
                let values = column.cast(&DataType::Float64)?;
                for (i, v) in values.f64()?.iter().enumerate() {
                    if let Some(x) = v.filter(|x| x.is_finite()) {
                        sheet.write_number(row(i)?, col, x).map_err(xlsx_error)?;
                    }
                }
            }
            _ => {
                let values = column.cast(&DataType::String)?;
                for (i, v) in values.str()?.iter().enumerate() {
                    if let Some(s) = v {
                        sheet.write_string(row(i)?, col, s).map_err(xlsx_error)?;
                    }
                }
            }
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    Ok(())
}

/// The URL of a download of dataset `id` at `version` (content hash) under `spec` (method
/// parameters only when they differ from the default).
pub fn download_url(id: &str, version: &str, request: FileRequest, spec: &MethodSpec) -> String {
    let short: String = version.chars().take(SHORT_VERSION).collect();
    let path = format!("/download/{id}/{short}/{}", request.segment());
    let default = MethodSpec::default();
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if spec.normalise != default.normalise {
        pairs.push(("normalise", spec.normalise.as_str().to_owned()));
    }
    if spec.weights != default.weights {
        pairs.push(("weights", spec.weights.to_string()));
    }
    if spec.aggregate != default.aggregate {
        pairs.push(("aggregate", spec.aggregate.as_str().to_owned()));
    }
    if pairs.is_empty() {
        return path;
    }
    format!(
        "{path}?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

/// A download of a dataset version under a method.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DownloadLink {
    /// `scores.csv`, `metadata.json`, `bundle.zip`, …
    pub file: String,
    pub url: String,
}

/// Every download of dataset `id` at `version` under `spec`, in URL order.
pub fn download_links(id: &str, version: &str, spec: &MethodSpec) -> Vec<DownloadLink> {
    all_requests()
        .into_iter()
        .map(|r| DownloadLink {
            file: r.segment(),
            url: download_url(id, version, r, spec),
        })
        .collect()
}

/// All download files of a (table, format) grid plus metadata and bundle, in URL order.
pub fn all_requests() -> Vec<FileRequest> {
    let mut all: Vec<FileRequest> = Table::ALL
        .into_iter()
        .flat_map(|t| {
            Format::ALL
                .into_iter()
                .map(move |f| FileRequest::Table(t, f))
        })
        .collect();
    all.push(FileRequest::Metadata);
    all.push(FileRequest::Bundle);
    all
}

// OpenAPI schemas of the domain types that appear in `metadata.json` and in the dashboard view
// data (`crate::types` and `crate::method` stay free of documentation concerns): both are
// serialised as strings / plain objects, described here exactly as serde writes them.

fn string_enum<'s>(values: impl IntoIterator<Item = &'s str>, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.into_iter().map(str::to_owned)))
        .description(Some(description))
}

fn number(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double)))
        .description(Some(description))
}

impl utoipa::PartialSchema for Dimension {
    fn schema() -> RefOr<Schema> {
        string_enum(
            Dimension::ALL.iter().map(|d| d.as_str()),
            "Element of productive forces: laborers (劳动者), tools (劳动资料), objects (劳动对象).",
        )
        .into()
    }
}

impl utoipa::ToSchema for Dimension {}

impl utoipa::PartialSchema for MethodRecord {
    fn schema() -> RefOr<Schema> {
        let weights: Vec<String> = WeightScheme::BASIC.iter().map(|w| w.to_string()).collect();
        ObjectBuilder::new()
            .description(Some(
                "The full method a result was computed with (docs/method.md).",
            ))
            .property(
                "normalise",
                string_enum(Normalise::ALL.iter().map(|n| n.as_str()), "Normalisation."),
            )
            .property(
                "weights",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(format!(
                        "Weighting scheme: {}, or combined:<a>+<b>:<geometric|arithmetic>.",
                        weights.join(", ")
                    ))),
            )
            .property("shift", number("Entropy shift s in z' = z + s."))
            .property(
                "aggregate",
                string_enum(Aggregate::ALL.iter().map(|a| a.as_str()), "Aggregation."),
            )
            .property(
                "coverage_threshold",
                number("Indicators observed in a smaller share of region-years are excluded."),
            )
            .property(
                "tie_tolerance",
                number("Scores closer than this (points) share a rank."),
            )
            .property(
                "version",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("The nqp version that computed the result.")),
            )
            .required("normalise")
            .required("weights")
            .required("shift")
            .required("aggregate")
            .required("coverage_threshold")
            .required("tie_tolerance")
            .required("version")
            .into()
    }
}

impl utoipa::ToSchema for MethodRecord {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_rows_keep_their_field_order() {
        #[derive(Serialize)]
        struct Latest {
            number: u32,
            at: &'static str,
        }
        #[derive(Serialize)]
        struct Row {
            zeta: &'static str,
            rank: Option<u32>,
            alpha: f64,
            latest: Latest,
            tags: Vec<u32>,
            #[serde(flatten)]
            subscores: crate::service::dashboard::Subscores,
            done: bool,
        }
        let sub = crate::types::Subindex::AiDigital;
        let rows = [
            Row {
                zeta: "=x",
                rank: Some(3),
                alpha: 0.5,
                latest: Latest { number: 2, at: "t" },
                tags: vec![1],
                subscores: crate::service::dashboard::Subscores(vec![(sub, Some(7.25))]),
                done: true,
            },
            Row {
                zeta: "b",
                rank: None,
                alpha: 2.0,
                latest: Latest { number: 1, at: "u" },
                tags: vec![],
                subscores: crate::service::dashboard::Subscores(vec![(sub, None)]),
                done: false,
            },
        ];
        let frame = rows_frame(&rows).unwrap();
        let names: Vec<&str> = frame
            .get_column_names()
            .iter()
            .map(|n| n.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "zeta",
                "rank",
                "alpha",
                "latest.number",
                "latest.at",
                "subindex/ai_digital",
                "done"
            ]
        );
        assert_eq!(frame.column("rank").unwrap().dtype(), &DataType::Int64);
        assert_eq!(
            frame
                .column("subindex/ai_digital")
                .unwrap()
                .f64()
                .unwrap()
                .get(0),
            Some(7.25)
        );
        let csv = String::from_utf8(csv_bytes(&frame, false).unwrap()).unwrap();
        assert_eq!(
            csv.lines().collect::<Vec<_>>(),
            [
                "zeta,rank,alpha,latest.number,latest.at,subindex/ai_digital,done",
                "'=x,3,0.5,2,t,7.25,true",
                "b,,2.0,1,u,,false"
            ]
        );
    }

    #[test]
    fn formula_text_is_neutralised_and_everything_else_kept() {
        for (cell, want) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+SUM(1)", "'+SUM(1)"),
            ("-2+3", "'-2+3"),
            ("@cmd", "'@cmd"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("=", "'="),
            ("+", "+"),
            ("-", "-"),
            ("北京", "北京"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(neutralise_cell(cell), want, "{cell:?}");
        }
        let frame = df!(
            "name" => ["=1+1", "ok"],
            "value" => [-1.5, 2.0],
        )
        .unwrap();
        let safe = neutralise_frame(&frame).unwrap();
        let names: Vec<Option<&str>> = safe.column("name").unwrap().str().unwrap().iter().collect();
        assert_eq!(names, [Some("'=1+1"), Some("ok")]);
        assert_eq!(
            safe.column("value").unwrap(),
            frame.column("value").unwrap()
        );
        let csv = String::from_utf8(csv_bytes(&frame, false).unwrap()).unwrap();
        assert_eq!(csv, "name,value\n'=1+1,-1.5\nok,2.0\n");
        assert!(
            csv_bytes(&frame, true)
                .unwrap()
                .starts_with(b"\xEF\xBB\xBFname,")
        );
    }

    #[test]
    fn every_file_request_round_trips_through_its_url_segment() {
        let all = all_requests();
        assert_eq!(all.len(), 4 * 4 + 2);
        for request in all {
            assert_eq!(FileRequest::parse(&request.segment()), Some(request));
        }
        for bad in [
            "metadata.csv",
            "scores",
            "scores.CSV",
            "ranks.csv",
            "bundle.tar",
            ".csv",
            "",
        ] {
            assert_eq!(FileRequest::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn metadata_flattens_to_key_value_rows() {
        let value = serde_json::json!({
            "a": {"b": [1, "x"], "c": null},
            "d": true,
        });
        let mut rows = Vec::new();
        flatten_json("", &value, &mut rows);
        assert_eq!(
            rows,
            [
                ("a.b[0]".to_owned(), serde_json::json!(1)),
                ("a.b[1]".to_owned(), serde_json::json!("x")),
                ("d".to_owned(), serde_json::json!(true)),
            ]
        );
    }
}
