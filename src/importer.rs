//! The reproducible importer of the bundled datasets (`nqp import`).
//!
//! Owns: reading the public raw files under `../shared/data` (techme S&T-yearbook long files, NBS
//! 分省年度数据 exports through [`crate::ingest::ingest`], the NBS 2000–2019 table dump, the NBS
//! digital-economy tables 2015–2024, provincial power generation and CEADs CO₂), selecting the
//! series the bundled frameworks need, converting each to one unit, and writing the project's own
//! tidy panel `panel.csv` (`region,year,indicator,value,unit`, sorted, UTF-8, LF) plus
//! `manifest.json` (source files with SHA-256, row counts, year span, nqp version) —
//! byte-identical on every run. Two datasets are built ([`PLANS`]): the default
//! `cn-provinces` (2013–2019, every NBS table complete) and `cn-provinces-recent` (2016–2022).
//! Also reads a written panel back ([`read_bundled`]) and compares the sources that overlap
//! ([`overlap_report`]). Must not: compute indicators (the framework does), guess region names
//! (the region set's explicit aliases do), or write anywhere but the output directory given.
//!
//! Two prepared series are more than a unit conversion, and `data/README.md` states both:
//! `gdp_real` (GDP at constant [`BASE_YEAR`] prices, chained from the NBS GDP index, previous
//! year = 100) and, in the 2013–2019 dataset, `population` (average resident population implied
//! by the NBS table's GDP ÷ GDP per capita, the same vintage as the GDP index).

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

/// Which vintage of GDP, population, employment and the digital-economy series a dataset uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vintage {
    /// The NBS 分省年度数据 dump of 2000–2019 (database vintage ≈ 2020–21): GDP, the GDP index
    /// and every table in one consistent vintage.
    Dump2019,
    /// The latest NBS exports (2026): GDP, resident population, urban-unit employment, and the
    /// digital-economy tables 2015–2024.
    Latest,
}

/// One bundled dataset: where it goes, its years and which vintage it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetPlan {
    pub id: &'static str,
    pub years: RangeInclusive<i32>,
    pub vintage: Vintage,
}

impl DatasetPlan {
    /// The Chinese and English titles, named by the years so the two cannot disagree.
    pub fn titles(&self) -> (String, String) {
        let (first, last) = (self.years.start(), self.years.end());
        (
            format!("中国31个省份，{first}–{last}年（内置数据）"),
            format!("China, 31 provinces, {first}–{last} (bundled)"),
        )
    }
}

/// The default dataset: 2013–2019, where every NBS table the default framework uses is complete
/// (e-commerce statistics start in 2013, the NBS table dump ends in 2019).
pub const FULL: DatasetPlan = DatasetPlan {
    id: "cn-provinces",
    years: 2013..=2019,
    vintage: Vintage::Dump2019,
};

/// The recent dataset: 2016–2022, the latest years the S&T yearbook, the digital-economy tables
/// and power generation cover; the series that end in 2019 fall under the coverage rule there.
pub const RECENT: DatasetPlan = DatasetPlan {
    id: "cn-provinces-recent",
    years: 2016..=2022,
    vintage: Vintage::Latest,
};

/// Every bundled dataset, the default first.
pub const PLANS: [&DatasetPlan; 2] = [&FULL, &RECENT];

/// The price base of `gdp_real`.
pub const BASE_YEAR: i32 = 2015;

/// One series taken from a techme long file: column `value` of the rows whose `variables`
/// column is `code`.
struct TechmeSeries {
    code: &'static str,
    /// The unit the file states for every selected row (checked).
    unit_in: &'static str,
    /// The file (in [`YEARBOOK`]), the `value` column, the id and the conversion.
    of: ColumnSeries,
}

const fn techme(
    file: &'static str,
    code: &'static str,
    id: &'static str,
    unit_in: &'static str,
    divisor: f64,
    unit: &'static str,
) -> TechmeSeries {
    let of = column(file, "value", id, divisor, unit);
    TechmeSeries { code, unit_in, of }
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

/// One column of a table with one row per region-year: the NBS 2000–2019 dump
/// (`省份编码,省份,年份,<indicator (unit)>…`), the power-generation panel and the CEADs totals.
struct ColumnSeries {
    path: &'static str,
    column: &'static str,
    id: &'static str,
    /// Values are divided by this (10 000 for 万元 → 亿元).
    divisor: f64,
    unit: &'static str,
}

const fn column(
    path: &'static str,
    column: &'static str,
    id: &'static str,
    divisor: f64,
    unit: &'static str,
) -> ColumnSeries {
    ColumnSeries {
        path,
        column,
        id,
        divisor,
        unit,
    }
}

const EDUCATION: &str =
    "cn-human-capital/nbs_fsnd_2000_2019_population_by_education_sample_survey.csv";
const EMPLOYMENT: &str =
    "cn-human-capital/nbs_fsnd_2000_2019_urban_unit_employment_by_industry.csv";
const GDP_DUMP: &str = "cn-macro-deflator/nbs_fsnd_2000_2019_gdp_current_prices.csv";
const GDP_INDEX: &str = "cn-macro-deflator/nbs_fsnd_2000_2019_gdp_index_prev_year_100.csv";
const INTERNET: &str = "cn-digital/nbs_fsnd_2000_2019_internet_main_indicators.csv";
const ECOMMERCE: &str = "cn-digital/nbs_fsnd_2000_2019_enterprise_ict_ecommerce.csv";
const POWER_DUMP: &str = "cn-energy/nbs_fsnd_2000_2019_energy_production_products.csv";

/// Dump series every dataset carries (they end in 2019).
const DUMP_SERIES: [ColumnSeries; 13] = [
    column(
        EDUCATION,
        "6岁及6岁以上人口数(人口抽样调查)(人)",
        "edu_pop6",
        1.0,
        "人（抽样）",
    ),
    column(
        EDUCATION,
        "6岁及6岁以上小学人口数(人口抽样调查)(人)",
        "edu_primary",
        1.0,
        "人（抽样）",
    ),
    column(
        EDUCATION,
        "6岁及6岁以上初中人口数(人口抽样调查)(人)",
        "edu_junior",
        1.0,
        "人（抽样）",
    ),
    column(
        EDUCATION,
        "6岁及6岁以上高中人口数(人口抽样调查)(人)",
        "edu_senior",
        1.0,
        "人（抽样）",
    ),
    column(
        EDUCATION,
        "6岁及6岁以上大专及以上人口数(人口抽样调查)(人)",
        "edu_tertiary",
        1.0,
        "人（抽样）",
    ),
    column(
        "cn-human-capital/nbs_fsnd_2000_2019_students_per_100k_by_level.csv",
        "每十万人口高等学校平均在校生数(人)",
        "higher_ed_per_100k",
        1.0,
        "人/10万人",
    ),
    column(
        EMPLOYMENT,
        "信息传输、软件和信息技术服务业城镇单位就业人员(万人)",
        "emp_it",
        1.0,
        "万人",
    ),
    column(
        EMPLOYMENT,
        "科学研究和技术服务业城镇单位就业人员(万人)",
        "emp_science",
        1.0,
        "万人",
    ),
    column(
        "cn-digital/nbs_fsnd_2000_2019_telecom_service_level.csv",
        "移动电话普及率(部/百人)",
        "mobile_penetration",
        1.0,
        "部/百人",
    ),
    column(
        "cn-digital/nbs_fsnd_2000_2019_software_it_services.csv",
        "软件业务收入(万元)",
        "software_revenue",
        1e4,
        "亿元",
    ),
    column(
        "cn-energy/nbs_fsnd_2000_2019_energy_consumption_products.csv",
        "电力消费量(亿千瓦小时)",
        "power_consumption",
        1.0,
        "亿千瓦时",
    ),
    column(
        "cn-energy/nbs_fsnd_2000_2019_urban_green_space.csv",
        "建成区绿化覆盖率(%)",
        "green_coverage",
        1.0,
        "%",
    ),
    column(
        "cn-energy/nbs_fsnd_2000_2019_urban_household_waste.csv",
        "生活垃圾无害化处理率(%)",
        "waste_treatment_rate",
        1.0,
        "%",
    ),
];

/// Dump series only the [`Vintage::Dump2019`] dataset takes (the recent one takes GDP,
/// employment and the digital-economy series from the latest NBS files).
const DUMP_ONLY_SERIES: [ColumnSeries; 5] = [
    column(GDP_DUMP, "地区生产总值(亿元)", "gdp", 1.0, "亿元"),
    column(
        EMPLOYMENT,
        "城镇单位就业人员(万人)",
        "urban_employment",
        1.0,
        "万人",
    ),
    column(
        INTERNET,
        "互联网宽带接入用户(万户)",
        "broadband_users",
        1.0,
        "万户",
    ),
    column(
        ECOMMERCE,
        "电子商务销售额(亿元)",
        "ecommerce_sales",
        1.0,
        "亿元",
    ),
    column(
        ECOMMERCE,
        "有电子商务交易活动的企业数比重(%)",
        "ecommerce_firm_share",
        1.0,
        "%",
    ),
];

/// The NBS digital-economy tables 2015–2024 (PROVENANCE §11.2: reconstructed from a public text
/// copy, values checked against the dump), long: `省份,地区代码,年份,数据集,指标,数值,单位`.
const DIGITAL_RECENT: &str =
    "cn-digital/yingyingchen866_nbs_digital_economy_2015_2024.reconstructed.csv";

/// (indicator name in that file, series id, unit): the same series as the dump's.
const DIGITAL_RECENT_SERIES: [(&str, &str, &str); 3] = [
    ("互联网宽带接入用户 (万户)", "broadband_users", "万户"),
    ("电子商务销售额 (亿元)", "ecommerce_sales", "亿元"),
    (
        "有电子商务交易活动的企业数比重 (%)",
        "ecommerce_firm_share",
        "%",
    ),
];

/// Power generation 2012–2023, 30 provinces (PROVENANCE §11.4: NBS values, reconstructed).
const POWER: &str = "cn-energy/wack520_power_generation_30prov_2012_2023.derived.csv";

/// The CO₂ total of [`CO2_PATH`] (keyed by `actor_id,year`), tonnes → 万吨.
const CO2: ColumnSeries = column(CO2_PATH, "total_emissions", "co2", 1e4, "万吨");

/// The columns taken from [`POWER`] (keyed by `province,year`).
const POWER_SERIES: [ColumnSeries; 2] = [
    column(
        POWER,
        "total_generation_100m_kwh",
        "power_generation",
        1.0,
        "亿千瓦时",
    ),
    column(
        POWER,
        "thermal_generation_100m_kwh",
        "power_thermal",
        1.0,
        "亿千瓦时",
    ),
];

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
    units: BTreeMap<&'static str, &'static str>,
}

/// Import one bundled dataset from the shared data folder.
pub fn import(shared_data: &Path, plan: &DatasetPlan) -> Result<ImportedPanel, ImportError> {
    let mut imp = Importer::new(shared_data, plan.years.clone());
    let mut files: Vec<&'static str> = SERIES.iter().map(|s| s.of.path).collect();
    files.dedup();
    for file in files {
        imp.techme_file(file)?;
    }
    let mut dump_series: Vec<&ColumnSeries> = DUMP_SERIES.iter().collect();
    match plan.vintage {
        Vintage::Latest => {
            for nbs in &NBS {
                imp.nbs_file(nbs)?;
            }
            imp.digital_recent_file()?;
        }
        Vintage::Dump2019 => {
            dump_series.extend(&DUMP_ONLY_SERIES);
            imp.implied_population()?;
        }
    }
    let mut paths: Vec<&'static str> = dump_series.iter().map(|s| s.path).collect();
    paths.sort_unstable();
    paths.dedup();
    for path in paths {
        let wanted: Vec<&ColumnSeries> = dump_series
            .iter()
            .copied()
            .filter(|s| s.path == path)
            .collect();
        imp.dump_file(path, &wanted)?;
    }
    imp.real_gdp()?;
    imp.power_file()?;
    imp.co2_file()?;
    imp.finish(plan.id)
}

/// Import every bundled dataset and write each to `out_dir/<id>/`.
pub fn import_all(shared_data: &Path, out_dir: &Path) -> Result<Vec<String>, ImportError> {
    let mut written = Vec::new();
    for plan in PLANS {
        let imported = import(shared_data, plan)?;
        let dir = out_dir.join(plan.id);
        write_bundled(&imported, &dir).map_err(|source| ImportError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        written.push(dir.display().to_string());
    }
    Ok(written)
}

/// A comma-separated raw table, read by the ingest stage's CSV reader
/// ([`crate::ingest::table::stream`]: RFC 4180 quoting, physical line numbers): its header and
/// its non-blank rows.
#[derive(Debug)]
struct Table {
    path: String,
    header: Vec<String>,
    /// (1-based line, fields)
    rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    fn parse(path: &str, text: &str) -> Result<Table, ImportError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut records = crate::ingest::table::stream(text, 1, ',', path);
        let owned = |r: &crate::ingest::table::Record| -> Vec<String> {
            r.fields.iter().map(|f| f.text.to_string()).collect()
        };
        let header = match records.next() {
            Some(r) => owned(&r.map_err(Box::new)?),
            None => vec![String::new()],
        };
        let mut rows = Vec::new();
        for record in records {
            let record = record.map_err(Box::new)?;
            if record.is_blank() {
                continue;
            }
            let line = record.line as usize;
            if record.len != header.len() {
                return Err(ImportError::Format {
                    path: path.to_owned(),
                    line,
                    message: format!("expected {} fields, found {}", header.len(), record.len),
                });
            }
            rows.push((line, owned(&record)));
        }
        Ok(Table {
            path: path.to_owned(),
            header,
            rows,
        })
    }

    /// The table with only the rows whose column `column` holds `value`.
    fn subset(&self, column: usize, value: &str) -> Table {
        Table {
            path: self.path.clone(),
            header: self.header.clone(),
            rows: self
                .rows
                .iter()
                .filter(|(_, f)| f[column] == value)
                .cloned()
                .collect(),
        }
    }

    /// The positions of the columns `names`.
    fn columns<const N: usize>(&self, names: [&str; N]) -> Result<[usize; N], ImportError> {
        let mut out = [0; N];
        for (position, name) in out.iter_mut().zip(names) {
            *position = self.column(name)?;
        }
        Ok(out)
    }

    fn column(&self, name: &str) -> Result<usize, ImportError> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| ImportError::Format {
                path: self.path.clone(),
                line: 1,
                message: format!("no column '{name}'"),
            })
    }
}

/// One observation of a [`Table`]: region code, year, the cell text.
struct Cell<'t> {
    line: usize,
    region: String,
    year: i32,
    text: &'t str,
}

/// One comparison of two sources of the same series over their common region-years.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overlap {
    pub series: String,
    pub first: String,
    pub second: String,
    /// Region-years present in both.
    pub pairs: usize,
    pub max_abs_diff: f64,
    /// The largest |a − b| / max(|a|, |b|).
    pub max_rel_diff: f64,
    /// Where the largest absolute difference is (`CN-BJ 2019`).
    pub worst: String,
}

/// Compare every pair of sources that overlap: the NBS 2000–2019 dump against the digital-economy
/// tables 2015–2024 (broadband users, e-commerce sales, share of firms trading online, 2015–2019)
/// and against the power-generation panel 2012–2023 (total and thermal generation, 2012–2019).
pub fn overlap_report(shared_data: &Path) -> Result<Vec<Overlap>, ImportError> {
    let span = 2012..=2019;
    let importer = || Importer::new(shared_data, span.clone());
    let mut dump_side = importer();
    let internet = [&DUMP_ONLY_SERIES[2]];
    let ecommerce = [&DUMP_ONLY_SERIES[3], &DUMP_ONLY_SERIES[4]];
    let power = [
        &column(
            POWER_DUMP,
            "发电量(亿千瓦小时)",
            "power_generation",
            1.0,
            "亿千瓦时",
        ),
        &column(
            POWER_DUMP,
            "火力发电量(亿千瓦小时)",
            "power_thermal",
            1.0,
            "亿千瓦时",
        ),
    ];
    dump_side.dump_file(INTERNET, &internet)?;
    dump_side.dump_file(ECOMMERCE, &ecommerce)?;
    dump_side.dump_file(POWER_DUMP, &power)?;
    let mut other = importer();
    other.digital_recent_file()?;
    other.power_file()?;
    let mut out = Vec::new();
    for id in [
        "broadband_users",
        "ecommerce_sales",
        "ecommerce_firm_share",
        "power_generation",
        "power_thermal",
    ] {
        let mut o = Overlap {
            series: id.to_owned(),
            first: dump_side.series_source[id].clone(),
            second: other.series_source[id].clone(),
            pairs: 0,
            max_abs_diff: 0.0,
            max_rel_diff: 0.0,
            worst: String::new(),
        };
        for ((region, year, _), a) in dump_side.rows.iter().filter(|(k, _)| k.2 == id) {
            let Some(b) = other.rows.get(&(region.clone(), *year, id)) else {
                continue;
            };
            o.pairs += 1;
            let diff = (a - b).abs();
            if diff > o.max_abs_diff || o.worst.is_empty() {
                o.max_abs_diff = diff;
                o.worst = format!("{region} {year}");
            }
            let scale = a.abs().max(b.abs());
            if scale > 0.0 {
                o.max_rel_diff = o.max_rel_diff.max(diff / scale);
            }
        }
        out.push(o);
    }
    Ok(out)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

impl<'a> Importer<'a> {
    fn new(shared: &'a Path, years: RangeInclusive<i32>) -> Self {
        Importer {
            shared,
            years,
            regions: RegionSet::cn_provinces(),
            rows: Rows::new(),
            sources: Vec::new(),
            notes: Vec::new(),
            series_source: BTreeMap::new(),
            units: BTreeMap::new(),
        }
    }

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

    /// Resolve a region name of a raw table (full, short or ISO names; aggregates are an error
    /// here because these tables have none).
    fn region(&self, path: &str, line: usize, name: &str) -> Result<String, ImportError> {
        match self.regions.resolve(name) {
            RegionMatch::Matched(code) => Ok(code.to_string()),
            RegionMatch::Aggregate | RegionMatch::Unknown { .. } => {
                Err(ImportError::UnknownRegion {
                    path: path.to_owned(),
                    line,
                    name: name.to_owned(),
                    suggestion: None,
                })
            }
        }
    }

    /// Every cell of column `value` with its region (column `region`) and year (column `year`),
    /// for all years in the file.
    fn cells<'t>(
        &self,
        table: &'t Table,
        region: &str,
        year: &str,
        value: &str,
    ) -> Result<Vec<Cell<'t>>, ImportError> {
        let [r, y, v] = table.columns([region, year, value])?;
        let mut out = Vec::with_capacity(table.rows.len());
        for (line, fields) in &table.rows {
            let year: i32 = fields[y].trim().parse().map_err(|_| ImportError::Format {
                path: table.path.clone(),
                line: *line,
                message: format!("'{}' is not a year", fields[y]),
            })?;
            out.push(Cell {
                line: *line,
                region: self.region(&table.path, *line, &fields[r])?,
                year,
                text: fields[v].trim(),
            });
        }
        Ok(out)
    }

    fn number(path: &str, cell: &Cell<'_>) -> Result<Option<f64>, ImportError> {
        if cell.text.is_empty() {
            return Ok(None);
        }
        cell.text
            .parse()
            .map(Some)
            .map_err(|_| ImportError::Format {
                path: path.to_owned(),
                line: cell.line,
                message: format!("'{}' is not a number", cell.text),
            })
    }

    fn read_table(&self, path: &str) -> Result<(Vec<u8>, Table), ImportError> {
        let bytes = self.read(path)?;
        let table = Table::parse(path, &Self::text(path, &bytes)?)?;
        Ok((bytes, table))
    }

    /// Insert the cells within the span (value ÷ `divisor`); empty cells are counted in a note.
    fn take(
        &mut self,
        path: &str,
        cells: &[Cell<'_>],
        id: &'static str,
        divisor: f64,
        unit: &'static str,
    ) -> Result<usize, ImportError> {
        let (mut used, mut empty) = (0, 0);
        let years = self.years.clone();
        for cell in cells.iter().filter(|c| years.contains(&c.year)) {
            match Self::number(path, cell)? {
                Some(x) => {
                    self.insert(
                        path,
                        cell.line,
                        (cell.region.clone(), cell.year, id),
                        x / divisor,
                    )?;
                    used += 1;
                }
                None => empty += 1,
            }
        }
        if empty > 0 {
            self.notes.push(format!(
                "{path}: {empty} empty value(s) of {id} within {}–{} left missing",
                self.years.start(),
                self.years.end()
            ));
        }
        self.series_source.insert(id, path.to_owned());
        self.units.insert(id, unit);
        Ok(used)
    }

    /// Columns of one table of the NBS 2000–2019 dump.
    fn dump_file(&mut self, path: &str, wanted: &[&ColumnSeries]) -> Result<(), ImportError> {
        self.columns_file(path, ("省份", "年份"), wanted)
    }

    /// Columns of a table with one row per region-year (`keys`: the region and year columns).
    fn columns_file(
        &mut self,
        path: &str,
        keys: (&str, &str),
        wanted: &[&ColumnSeries],
    ) -> Result<(), ImportError> {
        let (bytes, table) = self.read_table(path)?;
        let mut used = 0;
        for s in wanted {
            let cells = self.cells(&table, keys.0, keys.1, s.column)?;
            used += self.take(path, &cells, s.id, s.divisor, s.unit)?;
        }
        let series = wanted.iter().map(|s| s.id.to_owned()).collect();
        self.record_source(path, &bytes, used, series);
        Ok(())
    }

    /// Average resident population (万人) = GDP (亿元) × 10 000 ÷ GDP per capita (元), both from
    /// the dump's GDP table: NBS divides GDP by the year's average population, so this recovers
    /// that population in the same vintage as the GDP and its index.
    fn implied_population(&mut self) -> Result<(), ImportError> {
        let (bytes, table) = self.read_table(GDP_DUMP)?;
        let gdp = self.cells(&table, "省份", "年份", "地区生产总值(亿元)")?;
        let per_head = self.cells(&table, "省份", "年份", "人均地区生产总值(元/人)")?;
        let mut used = 0;
        for (g, p) in gdp.iter().zip(&per_head) {
            if !self.years.contains(&g.year) {
                continue;
            }
            if let (Some(g_v), Some(p_v)) = (Self::number(GDP_DUMP, g)?, Self::number(GDP_DUMP, p)?)
                && p_v > 0.0
            {
                self.insert(
                    GDP_DUMP,
                    g.line,
                    (g.region.clone(), g.year, "population"),
                    g_v * 1e4 / p_v,
                )?;
                used += 1;
            }
        }
        self.derived_series(GDP_DUMP, &bytes, used, "population", "万人");
        Ok(())
    }

    /// `gdp_real`: GDP at constant [`BASE_YEAR`] prices, 亿元 — the dump's current-price GDP of the
    /// base year, carried forward and back by the chained NBS GDP index (previous year = 100).
    fn real_gdp(&mut self) -> Result<(), ImportError> {
        let (_, gdp_table) = self.read_table(GDP_DUMP)?;
        let gdp = self.cells(&gdp_table, "省份", "年份", "地区生产总值(亿元)")?;
        let (bytes, table) = self.read_table(GDP_INDEX)?;
        let index = self.cells(&table, "省份", "年份", "地区生产总值指数(上年=100)")?;
        let mut by_region: BTreeMap<String, BTreeMap<i32, f64>> = BTreeMap::new();
        for cell in &index {
            if let Some(x) = Self::number(GDP_INDEX, cell)? {
                by_region
                    .entry(cell.region.clone())
                    .or_default()
                    .insert(cell.year, x / 100.0);
            }
        }
        let mut used = 0;
        for cell in gdp.iter().filter(|c| c.year == BASE_YEAR) {
            let Some(base) = Self::number(GDP_DUMP, cell)? else {
                continue;
            };
            let Some(growth) = by_region.get(&cell.region) else {
                continue;
            };
            for year in self.years.clone() {
                let Some(real) = chain(base, growth, year) else {
                    continue;
                };
                self.insert(
                    GDP_INDEX,
                    cell.line,
                    (cell.region.clone(), year, "gdp_real"),
                    real,
                )?;
                used += 1;
            }
        }
        self.derived_series(GDP_INDEX, &bytes, used, "gdp_real", "亿元（2015年价格）");
        Ok(())
    }

    /// Record a series the importer prepared from `path` (its source, unit and the file).
    fn derived_series(
        &mut self,
        path: &str,
        bytes: &[u8],
        used: usize,
        id: &'static str,
        unit: &'static str,
    ) {
        self.series_source.insert(id, path.to_owned());
        self.units.insert(id, unit);
        self.record_source(path, bytes, used, vec![id.into()]);
    }

    /// The digital-economy tables 2015–2024 (the recent dataset's broadband and e-commerce).
    fn digital_recent_file(&mut self) -> Result<(), ImportError> {
        let (bytes, table) = self.read_table(DIGITAL_RECENT)?;
        let name_col = table.column("指标")?;
        let mut used = 0;
        for (name, id, unit) in DIGITAL_RECENT_SERIES {
            let rows = table.subset(name_col, name);
            let cells = self.cells(&rows, "省份", "年份", "数值")?;
            used += self.take(DIGITAL_RECENT, &cells, id, 1.0, unit)?;
        }
        let series = DIGITAL_RECENT_SERIES
            .iter()
            .map(|s| s.1.to_owned())
            .collect();
        self.record_source(DIGITAL_RECENT, &bytes, used, series);
        Ok(())
    }

    /// Total and thermal power generation, 30 provinces (no Tibet), 2012–2023.
    fn power_file(&mut self) -> Result<(), ImportError> {
        self.columns_file(POWER, ("province", "year"), &POWER_SERIES.each_ref())
    }

    /// A techme long file: `province,year,chn_block4,value,units,variables`.
    fn techme_file(&mut self, file: &'static str) -> Result<(), ImportError> {
        let path = format!("{YEARBOOK}/{file}");
        let (bytes, table) = self.read_table(&path)?;
        let [province, year, value, unit, code] =
            table.columns(["province", "year", "value", "units", "variables"])?;
        let wanted: Vec<&TechmeSeries> = SERIES.iter().filter(|s| s.of.path == file).collect();
        let mut used = 0;
        let mut aggregates = BTreeSet::new();
        let mut empty: BTreeMap<&str, usize> = BTreeMap::new();
        for (line_no, fields) in &table.rows {
            let line_no = *line_no;
            let format = |message: String| ImportError::Format {
                path: path.clone(),
                line: line_no,
                message,
            };
            let [province, year, value, unit, code] =
                [province, year, value, unit, code].map(|c| fields[c].as_str());
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
                    id: series.of.id.to_string(),
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
                *empty.entry(series.of.id).or_default() += 1;
                continue;
            }
            let x: f64 = value
                .parse()
                .map_err(|_| format(format!("'{value}' is not a number")))?;
            self.insert(
                &path,
                line_no,
                (region, year, series.of.id),
                x / series.of.divisor,
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
            self.series_source.insert(s.of.id, path.clone());
            self.units.insert(s.of.id, s.of.unit);
        }
        let series = wanted.iter().map(|s| s.of.id.to_string()).collect();
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
        self.units.insert(nbs.id, nbs.unit);
        self.record_source(nbs.path, &bytes, used, vec![nbs.id.to_string()]);
        Ok(())
    }

    /// CEADs totals: `emissions_id,actor_id,year,total_emissions,datasource_id`, actor = ISO code,
    /// tonnes of CO₂ (converted to 万吨 so that CO₂ / GDP is tonnes per 10 000 yuan).
    fn co2_file(&mut self) -> Result<(), ImportError> {
        self.columns_file(CO2_PATH, ("actor_id", "year"), &[&CO2])
    }

    fn finish(self, dataset: &str) -> Result<ImportedPanel, ImportError> {
        let mut series = Vec::new();
        for (&id, &unit) in &self.units {
            let keys: Vec<&(String, i32, &str)> = self.rows.keys().filter(|k| k.2 == id).collect();
            let regions: BTreeSet<&str> = keys.iter().map(|k| k.0.as_str()).collect();
            series.push(SeriesInfo {
                id: id.to_string(),
                unit: unit.to_string(),
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
            dataset: dataset.into(),
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
        let units = self
            .units
            .iter()
            .map(|(id, unit)| (id.to_string(), unit.to_string()))
            .collect();
        Ok(ImportedPanel {
            panel,
            units,
            manifest,
        })
    }
}

/// `base` (the value in [`BASE_YEAR`]) carried to `year` by the growth factors (index ÷ 100) of
/// each year in between; `None` when a factor is missing.
fn chain(base: f64, growth: &BTreeMap<i32, f64>, year: i32) -> Option<f64> {
    let mut value = base;
    for y in (BASE_YEAR + 1)..=year {
        value *= growth.get(&y)?;
    }
    for y in ((year + 1)..=BASE_YEAR).rev() {
        value /= growth.get(&y)?;
    }
    Some(value)
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
/// `data/datasets/cn-provinces`): `panel.csv` through [`ingest`], the reader the dashboard loads
/// the bundled copy with, so the two cannot read it differently.
pub fn read_bundled(dir: &Path) -> Result<ImportedPanel, ImportError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| ImportError::Io {
            path: path.display().to_string(),
            source,
        })
    };
    let manifest: Manifest =
        serde_json::from_slice(&read("manifest.json")?).map_err(|e| ImportError::Format {
            path: "manifest.json".into(),
            line: e.line(),
            message: e.to_string(),
        })?;
    let panel = ingest(&read("panel.csv")?, "panel.csv", None).map_err(Box::new)?;
    Ok(ImportedPanel {
        panel: panel.panel,
        units: panel.units,
        manifest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_titles_name_their_years() {
        assert_eq!(
            FULL.titles(),
            (
                "中国31个省份，2013–2019年（内置数据）".to_owned(),
                "China, 31 provinces, 2013–2019 (bundled)".to_owned()
            )
        );
        assert_eq!(
            RECENT.titles(),
            (
                "中国31个省份，2016–2022年（内置数据）".to_owned(),
                "China, 31 provinces, 2016–2022 (bundled)".to_owned()
            )
        );
    }

    #[test]
    fn raw_tables_are_read_by_the_ingest_reader() {
        let text = "\u{feff}省份,年份,值\n北京市,2019,\"1,5\"\n\n天津市,2019,2\r\n";
        let table = Table::parse("t.csv", text).unwrap();
        assert_eq!(table.header, ["省份", "年份", "值"]);
        let rows: Vec<(usize, Vec<&str>)> = table
            .rows
            .iter()
            .map(|(line, f)| (*line, f.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            rows,
            [
                (2, vec!["北京市", "2019", "1,5"]),
                (4, vec!["天津市", "2019", "2"])
            ]
        );
        assert_eq!(table.columns(["值", "省份"]).unwrap(), [2, 0]);
        let missing = table.columns(["省份", "单位"]).unwrap_err().to_string();
        assert_eq!(missing, "t.csv:1: no column '单位'");
        let ragged = Table::parse("t.csv", "a,b\n1,2\n3\n")
            .unwrap_err()
            .to_string();
        assert_eq!(ragged, "t.csv:3: expected 2 fields, found 1");
        let open = Table::parse("t.csv", "a,b\n1,\"2\n").unwrap_err();
        assert_eq!(open.code(), "ingest.unterminated_quote");
    }

    #[test]
    fn chain_carries_the_base_year_forward_and_back() {
        // Index (previous year = 100): 2014 → 110, 2015 → 105, 2016 → 108.
        let growth: BTreeMap<i32, f64> = [(2014, 1.10), (2015, 1.05), (2016, 1.08)].into();
        assert_eq!(chain(100.0, &growth, BASE_YEAR), Some(100.0));
        assert_eq!(chain(100.0, &growth, 2016), Some(100.0 * 1.08));
        assert_eq!(chain(100.0, &growth, 2014), Some(100.0 / 1.05));
        assert_eq!(chain(100.0, &growth, 2013), Some(100.0 / 1.05 / 1.10));
        assert_eq!(chain(100.0, &growth, 2017), None, "no index for 2017");
        assert_eq!(chain(100.0, &growth, 2012), None, "no index for 2013");
    }
}
