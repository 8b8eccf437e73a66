//! The reproducible importer of the bundled default dataset (`nqp import`).
//!
//! Owns: reading the public raw files under `../shared/data` (techme S&T-yearbook long files, NBS
//! 分省年度数据 exports through [`crate::ingest::ingest`], CEADs CO₂), selecting the series the
//! bundled framework needs, converting each to one unit, and writing the project's own tidy panel
//! `panel.csv` (`region,year,indicator,value,unit`, sorted, UTF-8, LF) plus `manifest.json`
//! (source files with SHA-256, row counts, year span, nqp version) — byte-identical on every run.
//! Also reads that panel back ([`read_bundled`]). Must not: compute indicators (the framework
//! does), guess region names (the region set's explicit aliases do), or write anywhere but the
//! output directory it is given.
//!
//! Year span: [`BUNDLED_YEARS`] = 2016–2022, the years every scored series except CO₂ covers
//! (population starts 2015, high-tech R&D 2016, SCI papers end 2022); data/README.md says why.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io;
use std::ops::RangeInclusive;
use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ingest::{IngestError, RegionMatch, RegionSet, ingest};
use crate::types::Panel;

/// The years of the bundled dataset.
pub const BUNDLED_YEARS: RangeInclusive<i32> = 2016..=2022;

/// Ids of the series the importer writes: the S&T-yearbook series, then the NBS and CEADs
/// series.
pub const SERIES_IDS: [&str; 18] = [
    "rd_fte",
    "rd_researchers_fte",
    "rd_expenditure",
    "rd_basic",
    "rd_enterprise_funds",
    "rd_intensity",
    "budget_total",
    "budget_education",
    "budget_st",
    "tech_market_seller",
    "hitech_revenue",
    "hitech_new_product_sales",
    "invention_grants",
    "sci_papers",
    "gdp",
    "population",
    "urban_employment",
    "co2",
];

/// One series taken from a techme long file: rows whose `variables` column is `code`.
struct TechmeSeries {
    file: &'static str,
    code: &'static str,
    id: &'static str,
    /// The unit the file states for every selected row (checked).
    unit_in: &'static str,
    /// Values are divided by this (10 000 for 万元 → 亿元).
    divisor: f64,
    unit: &'static str,
}

const fn techme(
    file: &'static str,
    code: &'static str,
    id: &'static str,
    unit_in: &'static str,
    divisor: f64,
    unit: &'static str,
) -> TechmeSeries {
    TechmeSeries {
        file,
        code,
        id,
        unit_in,
        divisor,
        unit,
    }
}

const YEARBOOK: &str = "cn-st-yearbook";

const SERIES: [TechmeSeries; 14] = [
    techme(
        "techme_RDLaborHour.csv",
        "v4_zh_qsdl_hj",
        "rd_fte",
        "人年",
        1.0,
        "人年",
    ),
    techme(
        "techme_RDLaborHour.csv",
        "v4_zh_qsdl_yjry",
        "rd_researchers_fte",
        "人年",
        1.0,
        "人年",
    ),
    techme(
        "techme_RDActivity.csv",
        "v4_zh_nbzc_hj",
        "rd_expenditure",
        "万元",
        1e4,
        "亿元",
    ),
    techme(
        "techme_RDActivity.csv",
        "v4_zh_nbzc_jcyj",
        "rd_basic",
        "万元",
        1e4,
        "亿元",
    ),
    techme(
        "techme_RDSource.csv",
        "v4_zh_nbzc_qyzj",
        "rd_enterprise_funds",
        "万元",
        1e4,
        "亿元",
    ),
    techme(
        "techme_RDIntense.csv",
        "v4_ztr_qd_RD",
        "rd_intensity",
        "%",
        1.0,
        "%",
    ),
    techme(
        "techme_PublicBudget.csv",
        "v6_cz_yszc_hj",
        "budget_total",
        "亿元",
        1.0,
        "亿元",
    ),
    techme(
        "techme_PublicBudget.csv",
        "v6_cz_yszc_jy",
        "budget_education",
        "亿元",
        1.0,
        "亿元",
    ),
    techme(
        "techme_PublicBudget.csv",
        "v6_cz_yszc_kxjs",
        "budget_st",
        "亿元",
        1.0,
        "亿元",
    ),
    techme(
        "techme_MarketPush.csv",
        "v4_cg_jssc_je",
        "tech_market_seller",
        "万元",
        1e4,
        "亿元",
    ),
    techme(
        "techme_IndustryOperation.csv",
        "v4_cy_scjy_zyyw",
        "hitech_revenue",
        "亿元",
        1.0,
        "亿元",
    ),
    techme(
        "techme_IndustryRD.csv",
        "v4_cy_xcp_xssr",
        "hitech_new_product_sales",
        "万元",
        1e4,
        "亿元",
    ),
    techme(
        "techme_RDPatentAuthority.csv",
        "v4_cg_zlsq2_fm",
        "invention_grants",
        "件",
        1.0,
        "件",
    ),
    techme(
        "techme_RDPaperInternational.csv",
        "v4_cg_gwlw_pssci",
        "sci_papers",
        "篇",
        1.0,
        "篇",
    ),
];

/// One NBS 分省年度数据 export: the indicator named on its `指标：` line, in the stated unit.
struct NbsSeries {
    path: &'static str,
    name: &'static str,
    unit: &'static str,
    id: &'static str,
}

const NBS: [NbsSeries; 3] = [
    NbsSeries {
        path: "cn-nbs-exports/nbs_fsnd_gdp.csv",
        name: "地区生产总值",
        unit: "亿元",
        id: "gdp",
    },
    NbsSeries {
        path: "cn-nbs-population/nbs_fsnd_resident_population_2015_2024.gbk.csv",
        name: "年末常住人口",
        unit: "万人",
        id: "population",
    },
    NbsSeries {
        path: "cn-nbs-exports/nbs_fsnd_urban_unit_employment.csv",
        name: "城镇单位就业人员",
        unit: "万人",
        id: "urban_employment",
    },
];

const CO2_PATH: &str = "cn-co2-ceads/openclimate_ceads_provinces_EmissionsAgg.csv";

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    /// Boxed: the ingest error is large and this one is returned by every step.
    #[error(transparent)]
    Ingest(#[from] Box<IngestError>),
    #[error("{path}:{line}: {message}")]
    Format {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{path}:{line}: unknown region '{name}'{}", suggestion.as_ref().map(|s| format!(" (did you mean {s}?)")).unwrap_or_default())]
    UnknownRegion {
        path: String,
        line: usize,
        name: String,
        suggestion: Option<String>,
    },
    #[error("{path}:{line}: series '{id}' has unit '{found}', expected '{expected}'")]
    UnexpectedUnit {
        path: String,
        line: usize,
        id: String,
        found: String,
        expected: String,
    },
    #[error("{path}:{line}: a second value of '{id}' for {region} in {year}")]
    Duplicate {
        path: String,
        line: usize,
        id: String,
        region: String,
        year: i32,
    },
    #[error("internal data error: {0}")]
    Polars(#[from] PolarsError),
}

impl ImportError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::Io { .. } => "import.io",
            ImportError::Ingest(e) => e.code(),
            ImportError::Format { .. } => "import.format",
            ImportError::UnknownRegion { .. } => "import.unknown_region",
            ImportError::UnexpectedUnit { .. } => "import.unexpected_unit",
            ImportError::Duplicate { .. } => "import.duplicate",
            ImportError::Polars(_) => "import.internal",
        }
    }
}

/// One raw file read by the importer, as recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// Path relative to the shared data folder.
    pub path: String,
    pub sha256: String,
    pub bytes: usize,
    /// Physical lines of the file.
    pub lines: usize,
    /// Panel rows (observations) this file contributed within the year span.
    pub rows_used: usize,
    pub series: Vec<String>,
}

/// One series of the panel, as recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesInfo {
    pub id: String,
    pub unit: String,
    pub source: String,
    pub rows: usize,
    pub regions: usize,
    pub first_year: i32,
    pub last_year: i32,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub dataset: String,
    pub generated_by: String,
    pub first_year: i32,
    pub last_year: i32,
    pub regions: usize,
    pub rows: usize,
    pub series: Vec<SeriesInfo>,
    pub sources: Vec<SourceFile>,
    /// What the importer skipped and why (aggregate rows, empty cells), one line each.
    pub notes: Vec<String>,
}

/// The imported panel: region codes, framework series ids, one unit per series.
#[derive(Debug, Clone)]
pub struct ImportedPanel {
    pub panel: Panel,
    /// series id → unit
    pub units: BTreeMap<String, String>,
    pub manifest: Manifest,
}

/// Observations keyed (region, year, series) — a BTreeMap so the output order is fixed.
type Rows = BTreeMap<(String, i32, &'static str), f64>;

struct Importer<'a> {
    shared: &'a Path,
    years: RangeInclusive<i32>,
    regions: RegionSet,
    rows: Rows,
    sources: Vec<SourceFile>,
    notes: Vec<String>,
    series_source: BTreeMap<&'static str, String>,
}

/// Import the bundled dataset (years [`BUNDLED_YEARS`]) from the shared data folder.
pub fn import_bundled(shared_data: &Path) -> Result<ImportedPanel, ImportError> {
    import_years(shared_data, BUNDLED_YEARS)
}

/// Import the same series for any span of years (rows outside it are skipped).
pub fn import_years(
    shared_data: &Path,
    years: RangeInclusive<i32>,
) -> Result<ImportedPanel, ImportError> {
    let mut imp = Importer {
        shared: shared_data,
        years,
        regions: RegionSet::cn_provinces(),
        rows: Rows::new(),
        sources: Vec::new(),
        notes: Vec::new(),
        series_source: BTreeMap::new(),
    };
    let mut files: Vec<&'static str> = SERIES.iter().map(|s| s.file).collect();
    files.dedup();
    for file in files {
        imp.techme_file(file)?;
    }
    for nbs in &NBS {
        imp.nbs_file(nbs)?;
    }
    imp.co2_file()?;
    imp.finish()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

impl Importer<'_> {
    fn read(&self, path: &str) -> Result<Vec<u8>, ImportError> {
        std::fs::read(self.shared.join(path)).map_err(|source| ImportError::Io {
            path: path.to_string(),
            source,
        })
    }

    fn text(path: &str, bytes: &[u8]) -> Result<String, ImportError> {
        String::from_utf8(bytes.to_vec()).map_err(|e| ImportError::Format {
            path: path.to_string(),
            line: 1,
            message: format!("not UTF-8: {e}"),
        })
    }

    fn record_source(&mut self, path: &str, bytes: &[u8], rows_used: usize, series: Vec<String>) {
        let lines = bytes.iter().filter(|&&b| b == b'\n').count()
            + usize::from(bytes.last().is_some_and(|&b| b != b'\n'));
        self.sources.push(SourceFile {
            path: path.to_string(),
            sha256: sha256_hex(bytes),
            bytes: bytes.len(),
            lines,
            rows_used,
            series,
        });
    }

    fn insert(
        &mut self,
        path: &str,
        line: usize,
        key: (String, i32, &'static str),
        value: f64,
    ) -> Result<(), ImportError> {
        if self.rows.contains_key(&key) {
            return Err(ImportError::Duplicate {
                path: path.to_string(),
                line,
                id: key.2.to_string(),
                region: key.0,
                year: key.1,
            });
        }
        self.rows.insert(key, value);
        Ok(())
    }

    /// A techme long file: `province,year,chn_block4,value,units,variables`.
    fn techme_file(&mut self, file: &'static str) -> Result<(), ImportError> {
        let path = format!("{YEARBOOK}/{file}");
        let bytes = self.read(&path)?;
        let text = Self::text(&path, &bytes)?;
        let wanted: Vec<&TechmeSeries> = SERIES.iter().filter(|s| s.file == file).collect();
        let mut lines = text.lines().enumerate();
        let header = lines.next().map(|(_, l)| l.trim_start_matches('\u{feff}'));
        if header != Some("province,year,chn_block4,value,units,variables") {
            return Err(ImportError::Format {
                path,
                line: 1,
                message: "expected the header province,year,chn_block4,value,units,variables"
                    .into(),
            });
        }
        let mut used = 0;
        let mut aggregates = BTreeSet::new();
        let mut empty: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, line) in lines {
            let line_no = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split(',').collect();
            let format = |message: String| ImportError::Format {
                path: path.clone(),
                line: line_no,
                message,
            };
            let [province, year, _item, value, unit, code] = fields[..] else {
                return Err(format(format!("expected 6 fields, found {}", fields.len())));
            };
            let Some(series) = wanted.iter().find(|s| s.code == code) else {
                continue;
            };
            let year: i32 = year
                .trim()
                .parse()
                .map_err(|_| format(format!("'{year}' is not a year")))?;
            if unit != series.unit_in {
                return Err(ImportError::UnexpectedUnit {
                    path,
                    line: line_no,
                    id: series.id.to_string(),
                    found: unit.to_string(),
                    expected: series.unit_in.to_string(),
                });
            }
            let region = match self.regions.resolve(province) {
                RegionMatch::Matched(code) => code.to_string(),
                RegionMatch::Aggregate => {
                    aggregates.insert(crate::ingest::clean_name(province));
                    continue;
                }
                RegionMatch::Unknown { suggestion } => {
                    return Err(ImportError::UnknownRegion {
                        path,
                        line: line_no,
                        name: province.to_string(),
                        suggestion: suggestion.map(|c| c.to_string()),
                    });
                }
            };
            if !self.years.contains(&year) {
                continue;
            }
            let value = value.trim();
            if value.is_empty() || value == "NA" {
                *empty.entry(series.id).or_default() += 1;
                continue;
            }
            let x: f64 = value
                .parse()
                .map_err(|_| format(format!("'{value}' is not a number")))?;
            self.insert(
                &path,
                line_no,
                (region, year, series.id),
                x / series.divisor,
            )?;
            used += 1;
        }
        if !aggregates.is_empty() {
            let names: Vec<String> = aggregates.into_iter().collect();
            self.notes.push(format!(
                "{path}: aggregate rows excluded ({})",
                names.join(", ")
            ));
        }
        for (id, n) in empty {
            self.notes.push(format!(
                "{path}: {n} empty value(s) of {id} within {}–{} left missing",
                self.years.start(),
                self.years.end()
            ));
        }
        for s in &wanted {
            self.series_source.insert(s.id, path.clone());
        }
        let series = wanted.iter().map(|s| s.id.to_string()).collect();
        self.record_source(&path, &bytes, used, series);
        Ok(())
    }

    /// An NBS 分省年度数据 export, parsed by the ingest stage.
    fn nbs_file(&mut self, nbs: &NbsSeries) -> Result<(), ImportError> {
        let bytes = self.read(nbs.path)?;
        let ingested = ingest(&bytes, nbs.path, Some(&self.regions)).map_err(Box::new)?;
        let unexpected = |message: String| ImportError::Format {
            path: nbs.path.to_string(),
            line: 2,
            message,
        };
        let names = ingested.panel.indicators()?;
        if names != [nbs.name] {
            return Err(unexpected(format!(
                "expected the indicator {}, found {}",
                nbs.name,
                names.join(", ")
            )));
        }
        let unit = ingested.units.get(nbs.name).map(String::as_str);
        if unit != Some(nbs.unit) {
            return Err(ImportError::UnexpectedUnit {
                path: nbs.path.to_string(),
                line: 2,
                id: nbs.id.to_string(),
                found: unit.unwrap_or("(none)").to_string(),
                expected: nbs.unit.to_string(),
            });
        }
        let frame = ingested.panel.frame();
        let regions = frame.column("region")?.str()?;
        let years = frame.column("year")?.i32()?;
        let values = frame.column("value")?.f64()?;
        let mut used = 0;
        for k in 0..frame.height() {
            let (Some(region), Some(year)) = (regions.get(k), years.get(k)) else {
                continue;
            };
            if !self.years.contains(&year) {
                continue;
            }
            let Some(value) = values.get(k) else { continue };
            self.insert(nbs.path, 0, (region.to_string(), year, nbs.id), value)?;
            used += 1;
        }
        self.series_source.insert(nbs.id, nbs.path.to_string());
        self.record_source(nbs.path, &bytes, used, vec![nbs.id.to_string()]);
        Ok(())
    }

    /// CEADs totals: `emissions_id,actor_id,year,total_emissions,datasource_id`, actor = ISO code,
    /// tonnes of CO₂ (converted to 万吨 so that CO₂ / GDP is tonnes per 10 000 yuan).
    fn co2_file(&mut self) -> Result<(), ImportError> {
        let path = CO2_PATH;
        let bytes = self.read(path)?;
        let text = Self::text(path, &bytes)?;
        let mut lines = text.lines().enumerate();
        if lines.next().map(|(_, l)| l)
            != Some("emissions_id,actor_id,year,total_emissions,datasource_id")
        {
            return Err(ImportError::Format {
                path: path.into(),
                line: 1,
                message:
                    "expected the header emissions_id,actor_id,year,total_emissions,datasource_id"
                        .into(),
            });
        }
        let mut used = 0;
        for (i, line) in lines {
            let line_no = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let format = |message: String| ImportError::Format {
                path: path.into(),
                line: line_no,
                message,
            };
            let fields: Vec<&str> = line.split(',').collect();
            let [_, actor, year, total, _] = fields[..] else {
                return Err(format(format!("expected 5 fields, found {}", fields.len())));
            };
            let Some(region) = self.regions.get(actor) else {
                return Err(ImportError::UnknownRegion {
                    path: path.into(),
                    line: line_no,
                    name: actor.to_string(),
                    suggestion: None,
                });
            };
            let region = region.code.to_string();
            let year: i32 = year
                .parse()
                .map_err(|_| format(format!("'{year}' is not a year")))?;
            if !self.years.contains(&year) {
                continue;
            }
            let tonnes: f64 = total
                .parse()
                .map_err(|_| format(format!("'{total}' is not a number")))?;
            self.insert(path, line_no, (region, year, "co2"), tonnes / 1e4)?;
            used += 1;
        }
        self.series_source.insert("co2", path.to_string());
        self.record_source(path, &bytes, used, vec!["co2".to_string()]);
        Ok(())
    }

    fn finish(self) -> Result<ImportedPanel, ImportError> {
        let units = series_units();
        let mut series = Vec::new();
        for id in SERIES_IDS {
            let keys: Vec<&(String, i32, &str)> = self.rows.keys().filter(|k| k.2 == id).collect();
            let regions: BTreeSet<&str> = keys.iter().map(|k| k.0.as_str()).collect();
            series.push(SeriesInfo {
                id: id.to_string(),
                unit: units[id].clone(),
                source: self.series_source.get(id).cloned().unwrap_or_default(),
                rows: keys.len(),
                regions: regions.len(),
                first_year: keys.iter().map(|k| k.1).min().unwrap_or_default(),
                last_year: keys.iter().map(|k| k.1).max().unwrap_or_default(),
            });
        }
        let mut notes = self.notes;
        for info in &series {
            let years: BTreeSet<i32> = self
                .rows
                .keys()
                .filter(|k| k.2 == info.id)
                .map(|k| k.1)
                .collect();
            let absent: Vec<String> = self
                .years
                .clone()
                .filter(|y| !years.contains(y))
                .map(|y| y.to_string())
                .collect();
            if !absent.is_empty() {
                notes.push(format!(
                    "{}: no data at all for {} ({})",
                    info.id,
                    absent.join(", "),
                    info.source
                ));
            }
        }
        let regions: BTreeSet<&str> = self.rows.keys().map(|k| k.0.as_str()).collect();
        let manifest = Manifest {
            dataset: "cn-provinces".into(),
            generated_by: format!("nqp {}", env!("CARGO_PKG_VERSION")),
            first_year: *self.years.start(),
            last_year: *self.years.end(),
            regions: regions.len(),
            rows: self.rows.len(),
            series,
            sources: self.sources,
            notes,
        };
        let panel = panel_from_rows(
            self.rows
                .iter()
                .map(|((r, y, i), v)| (r.as_str(), *y, *i, *v)),
        )?;
        Ok(ImportedPanel {
            panel,
            units,
            manifest,
        })
    }
}

fn series_units() -> BTreeMap<String, String> {
    SERIES
        .iter()
        .map(|s| (s.id, s.unit))
        .chain(NBS.iter().map(|s| (s.id, s.unit)))
        .chain([("co2", "万吨")])
        .map(|(id, unit)| (id.to_string(), unit.to_string()))
        .collect()
}

fn panel_from_rows<'a>(
    rows: impl Iterator<Item = (&'a str, i32, &'a str, f64)>,
) -> Result<Panel, ImportError> {
    let (mut region, mut year, mut indicator, mut value) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (r, y, i, v) in rows {
        region.push(r);
        year.push(y);
        indicator.push(i);
        value.push(v);
    }
    let frame =
        df!("region" => region, "year" => year, "indicator" => indicator, "value" => value)?;
    Ok(Panel::new(frame)?)
}

/// The `panel.csv` text: header `region,year,indicator,value,unit`, rows in panel order, values
/// in Rust's shortest round-trip decimal form (never an exponent), LF line ends.
pub fn panel_csv(imported: &ImportedPanel) -> Result<String, ImportError> {
    let frame = imported.panel.frame();
    let regions = frame.column("region")?.str()?;
    let years = frame.column("year")?.i32()?;
    let indicators = frame.column("indicator")?.str()?;
    let values = frame.column("value")?.f64()?;
    let mut out = String::from("region,year,indicator,value,unit\n");
    for k in 0..frame.height() {
        let (Some(r), Some(y), Some(i), Some(v)) = (
            regions.get(k),
            years.get(k),
            indicators.get(k),
            values.get(k),
        ) else {
            continue;
        };
        let unit = imported.units.get(i).map(String::as_str).unwrap_or("");
        let _ = writeln!(out, "{r},{y},{i},{v},{unit}");
    }
    Ok(out)
}

/// Write `panel.csv` and `manifest.json` into `out_dir` (created if needed).
pub fn write_bundled(panel: &ImportedPanel, out_dir: &Path) -> io::Result<()> {
    let csv = panel_csv(panel).map_err(io::Error::other)?;
    let mut manifest = serde_json::to_string_pretty(&panel.manifest).map_err(io::Error::other)?;
    manifest.push('\n');
    std::fs::create_dir_all(out_dir)?;
    std::fs::write(out_dir.join("panel.csv"), csv)?;
    std::fs::write(out_dir.join("manifest.json"), manifest)
}

/// Read a dataset written by [`write_bundled`] back (e.g. the committed
/// `data/datasets/cn-provinces`).
pub fn read_bundled(dir: &Path) -> Result<ImportedPanel, ImportError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|source| ImportError::Io {
            path: path.display().to_string(),
            source,
        })
    };
    let manifest_text = read("manifest.json")?;
    let manifest: Manifest =
        serde_json::from_str(&manifest_text).map_err(|e| ImportError::Format {
            path: "manifest.json".into(),
            line: e.line(),
            message: e.to_string(),
        })?;
    let (panel, units) = parse_panel_csv(&read("panel.csv")?)?;
    Ok(ImportedPanel {
        panel,
        units,
        manifest,
    })
}

/// Parse `panel.csv` text (the format [`panel_csv`] writes).
pub fn parse_panel_csv(text: &str) -> Result<(Panel, BTreeMap<String, String>), ImportError> {
    let mut lines = text.lines().enumerate();
    let format = |line: usize, message: String| ImportError::Format {
        path: "panel.csv".into(),
        line,
        message,
    };
    if lines.next().map(|(_, l)| l) != Some("region,year,indicator,value,unit") {
        return Err(format(
            1,
            "expected the header region,year,indicator,value,unit".into(),
        ));
    }
    let mut rows = Vec::new();
    let mut units = BTreeMap::new();
    for (i, line) in lines {
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let [region, year, indicator, value, unit] = fields[..] else {
            return Err(format(
                i + 1,
                format!("expected 5 fields, found {}", fields.len()),
            ));
        };
        let year: i32 = year
            .parse()
            .map_err(|_| format(i + 1, format!("'{year}' is not a year")))?;
        let value: f64 = value
            .parse()
            .map_err(|_| format(i + 1, format!("'{value}' is not a number")))?;
        units.insert(indicator.to_string(), unit.to_string());
        rows.push((region, year, indicator, value));
    }
    Ok((panel_from_rows(rows.into_iter())?, units))
}
