//! The analysis report: runs every score-table analysis ([`analyse`], pure, typed rows for the
//! JSON API) and writes them as CSV files ([`write_all`], the only file I/O of `analysis`).
//!
//! Grouping and contiguity fallbacks (also stated in `nqp analyse --help`):
//! - groups given → used (every region must have a group);
//! - no groups, and every region is a China province code (all 31, or a subset such as the 30
//!   without Tibet) → the bundled NBS four regions (East / Central / West / Northeast);
//! - otherwise one group `all`: Dagum and Theil report totals with within = total, and β
//!   convergence is estimated for `all` only.
//! - adjacency given → used (regions it does not list have no neighbours: PySAL islands);
//! - no adjacency, China province codes → the bundled contiguity (`data/geo/`), restricted to
//!   the provinces present;
//! - otherwise Moran's I and LISA are skipped (no `moran.csv` / `lisa.csv`) with a notice.
//!
//! A statistic that is undefined for one year and measure (constant values, negative values
//! for a Gini, too few regions) is left out with a notice; the rest of the report is written.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;

use super::diagnosis::{
    CouplingForm, CouplingRow, Obstacle, check_coupling_normalisation, coupling,
};
use super::dynamics::{KERNEL_POINTS, beta_convergence, kernel_density, markov};
use super::inequality::{cv, dagum, theil};
use super::spatial::{SpatialWeights, local_moran, moran};
use super::{Adjacency, AnalysisError, GroupMap, MEASURES, ScoreTable, china};
use crate::method::Normalise;
use crate::types::Lang;

/// Choices of the report that are not in the data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportOptions {
    /// Permutations for Moran / LISA pseudo p-values (0 = none).
    pub permutations: usize,
    /// Seed of the permutation generator (same seed and data → same p-values).
    pub seed: u64,
    pub coupling: CouplingForm,
    /// The normalisation behind the scores, when known (`None` for a score file): coupling
    /// coordination is skipped with a notice under one outside [0, 1].
    pub normalise: Option<Normalise>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            permutations: 999,
            seed: 20_240_101,
            coupling: CouplingForm::Standard,
            normalise: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DagumRow {
    pub year: i32,
    pub measure: String,
    pub total: f64,
    pub within: f64,
    pub between: f64,
    pub transvariation: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DagumGroupRow {
    pub year: i32,
    pub measure: String,
    pub group_a: String,
    pub group_b: String,
    pub gini: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TheilRow {
    pub year: i32,
    pub measure: String,
    pub total: f64,
    pub within: f64,
    pub between: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SigmaRow {
    pub year: i32,
    pub measure: String,
    pub cv: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BetaRow {
    pub measure: String,
    pub group: String,
    pub alpha: Option<f64>,
    pub beta: Option<f64>,
    pub se_beta: Option<f64>,
    pub t_beta: Option<f64>,
    pub r2: Option<f64>,
    pub n: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KernelRow {
    pub year: i32,
    pub measure: String,
    pub x: f64,
    pub density: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarkovRow {
    pub measure: String,
    /// Quartile class 1 (lowest) – 4.
    pub from_class: u8,
    pub to_class: u8,
    pub count: u64,
    pub probability: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MoranRow {
    pub year: i32,
    pub measure: String,
    pub i: f64,
    pub expected_i: f64,
    pub z_norm: f64,
    pub p_norm: f64,
    pub p_perm: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LisaRow {
    pub year: i32,
    pub measure: String,
    pub region: String,
    pub local_i: f64,
    pub quadrant: &'static str,
    pub p_perm: Option<f64>,
}

/// Every score-table analysis, as typed rows (one `Vec` per CSV file).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalysisResults {
    /// Where the groups came from: `given`, `cn-nbs-4` or `single`.
    pub grouping: &'static str,
    /// Where the contiguity came from: `given`, `cn-provinces`, or `none` (spatial skipped).
    pub contiguity: &'static str,
    pub dagum: Vec<DagumRow>,
    pub dagum_groups: Vec<DagumGroupRow>,
    pub theil: Vec<TheilRow>,
    pub sigma: Vec<SigmaRow>,
    pub beta: Vec<BetaRow>,
    pub kernel: Vec<KernelRow>,
    pub markov: Vec<MarkovRow>,
    /// `None` when no contiguity is available.
    pub moran: Option<Vec<MoranRow>>,
    pub lisa: Option<Vec<LisaRow>>,
    /// `None` when skipped (dimension scores outside 0–100, see `diagnosis::unit_interval`).
    pub coupling: Option<Vec<CouplingRow>>,
    /// Human-readable notes on fallbacks and skipped statistics (English).
    pub notices: Vec<String>,
}

/// The written files and the notices of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub files: Vec<PathBuf>,
    pub notices: Vec<String>,
}

/// Run every analysis on a score frame (`region, year, score, laborers, tools, objects`, extra
/// columns ignored). See the module doc for the grouping and contiguity fallbacks.
pub fn analyse(
    scores: &DataFrame,
    groups: Option<&GroupMap>,
    adjacency: Option<&Adjacency>,
    options: &ReportOptions,
) -> Result<AnalysisResults, AnalysisError> {
    let table = ScoreTable::from_frame(scores, &MEASURES, "scores")?;
    let regions = table.regions();
    let mut notices = Vec::new();
    let china_set = china::is_province_set(regions);

    let (grouping, labels) = match groups {
        Some(g) => ("given", g.assign(regions)?),
        None if china_set => {
            notices.push("groups: using the bundled NBS four-region grouping".to_owned());
            ("cn-nbs-4", china::nbs_groups()?.assign(regions)?)
        }
        None => {
            notices.push(
                "groups: no grouping given, decompositions use a single group 'all'".to_owned(),
            );
            ("single", vec!["all".to_owned(); regions.len()])
        }
    };
    let bundled;
    let (contiguity, adjacency) = match adjacency {
        Some(a) => ("given", Some(a)),
        None if china_set => {
            notices.push("adjacency: using the bundled 31-province contiguity".to_owned());
            bundled = china::province_adjacency()?;
            ("cn-provinces", Some(&bundled))
        }
        None => {
            notices.push(
                "adjacency: none given and the regions are not China province codes; Moran's I and LISA skipped"
                    .to_owned(),
            );
            ("none", None)
        }
    };
    if let Some(a) = adjacency {
        let islands: Vec<&str> = regions
            .iter()
            .filter(|r| a.neighbors(r).all(|nb| !regions.iter().any(|x| x == nb)))
            .map(String::as_str)
            .collect();
        if !islands.is_empty() {
            notices.push(format!(
                "adjacency: region(s) without neighbours (zero weight rows): {}",
                islands.join(", ")
            ));
        }
    }

    let mut out = AnalysisResults {
        grouping,
        contiguity,
        dagum: Vec::new(),
        dagum_groups: Vec::new(),
        theil: Vec::new(),
        sigma: Vec::new(),
        beta: Vec::new(),
        kernel: Vec::new(),
        markov: Vec::new(),
        moran: adjacency.map(|_| Vec::new()),
        lisa: adjacency.map(|_| Vec::new()),
        coupling: None,
        notices: Vec::new(),
    };
    let mut skip = |what: &str, year: Option<i32>, measure: &str, err: AnalysisError| {
        let when = year.map(|y| format!(" {y}")).unwrap_or_default();
        notices.push(format!("{what}{when} {measure}: skipped ({err})"));
    };

    for measure in MEASURES {
        for (yi, &year) in table.years().iter().enumerate() {
            let (idx, values) = table.cross_section(measure, yi);
            if values.is_empty() {
                continue;
            }
            let group_of: Vec<String> = idx.iter().map(|i| labels[*i].clone()).collect();
            match dagum(&values, &group_of) {
                Ok(d) => {
                    out.dagum.push(DagumRow {
                        year,
                        measure: measure.to_owned(),
                        total: d.total,
                        within: d.within,
                        between: d.between,
                        transvariation: d.transvariation,
                    });
                    out.dagum_groups
                        .extend(d.pairs.into_iter().map(|p| DagumGroupRow {
                            year,
                            measure: measure.to_owned(),
                            group_a: p.group_a,
                            group_b: p.group_b,
                            gini: p.gini,
                        }));
                }
                Err(e) => skip("dagum", Some(year), measure, e),
            }
            match theil(&values, &group_of) {
                Ok(t) => out.theil.push(TheilRow {
                    year,
                    measure: measure.to_owned(),
                    total: t.total,
                    within: t.within,
                    between: t.between,
                }),
                Err(e) => skip("theil", Some(year), measure, e),
            }
            match cv(&values) {
                Some(c) => out.sigma.push(SigmaRow {
                    year,
                    measure: measure.to_owned(),
                    cv: c,
                }),
                None => skip(
                    "sigma",
                    Some(year),
                    measure,
                    AnalysisError::Constant {
                        what: "coefficient of variation (mean 0)",
                    },
                ),
            }
            match kernel_density(&values, KERNEL_POINTS) {
                Ok(k) => out
                    .kernel
                    .extend(k.x.iter().zip(&k.density).map(|(x, d)| KernelRow {
                        year,
                        measure: measure.to_owned(),
                        x: *x,
                        density: *d,
                    })),
                Err(e) => skip("kernel", Some(year), measure, e),
            }
            if let Some(a) = adjacency {
                let names: Vec<&str> = idx.iter().map(|i| regions[*i].as_str()).collect();
                let w = SpatialWeights::from_adjacency(&names, a);
                match moran(&values, &w, options.permutations, options.seed) {
                    Ok(m) => push_some(
                        &mut out.moran,
                        MoranRow {
                            year,
                            measure: measure.to_owned(),
                            i: m.i,
                            expected_i: m.expected_i,
                            z_norm: m.z_norm,
                            p_norm: m.p_norm,
                            p_perm: m.p_perm,
                        },
                    ),
                    Err(e) => skip("moran", Some(year), measure, e),
                }
                match local_moran(&values, &w, options.permutations, options.seed) {
                    Ok(l) => {
                        for (name, r) in names.iter().zip(l) {
                            push_some(
                                &mut out.lisa,
                                LisaRow {
                                    year,
                                    measure: measure.to_owned(),
                                    region: (*name).to_owned(),
                                    local_i: r.local_i,
                                    quadrant: r.quadrant.as_str(),
                                    p_perm: r.p_perm,
                                },
                            );
                        }
                    }
                    Err(e) => skip("lisa", Some(year), measure, e),
                }
            }
        }

        let years = table.years();
        if years.len() >= 2 {
            let (first, last) = (0, years.len() - 1);
            let span = f64::from(years[last] - years[first]);
            let pairs: Vec<(Option<f64>, Option<f64>)> = (0..regions.len())
                .map(|ri| {
                    (
                        table.value(measure, first, ri),
                        table.value(measure, last, ri),
                    )
                })
                .collect();
            let mut group_names: Vec<&str> = labels.iter().map(String::as_str).collect();
            group_names.sort_unstable();
            group_names.dedup();
            let mut runs = vec![("all", pairs.clone())];
            if grouping != "single" {
                for g in group_names {
                    let sub = pairs
                        .iter()
                        .zip(&labels)
                        .filter(|(_, l)| l.as_str() == g)
                        .map(|(p, _)| *p)
                        .collect();
                    runs.push((g, sub));
                }
            }
            for (group, sub) in runs {
                let b = beta_convergence(&sub, span);
                out.beta.push(BetaRow {
                    measure: measure.to_owned(),
                    group: group.to_owned(),
                    alpha: b.alpha,
                    beta: b.beta,
                    se_beta: b.se_beta,
                    t_beta: b.t_beta,
                    r2: b.r2,
                    n: b.n,
                });
            }
            let matrix: Vec<Vec<Option<f64>>> = (0..years.len())
                .map(|yi| {
                    (0..regions.len())
                        .map(|ri| table.value(measure, yi, ri))
                        .collect()
                })
                .collect();
            match markov(&matrix) {
                Ok(m) => {
                    for (from, row) in m.counts.iter().enumerate() {
                        for (to, count) in row.iter().enumerate() {
                            out.markov.push(MarkovRow {
                                measure: measure.to_owned(),
                                from_class: from as u8 + 1,
                                to_class: to as u8 + 1,
                                count: *count,
                                probability: m.probabilities[from][to],
                            });
                        }
                    }
                }
                Err(e) => skip("markov", None, measure, e),
            }
        } else {
            skip(
                "beta and markov",
                None,
                measure,
                AnalysisError::TooFew {
                    what: "convergence and transitions (years)",
                    needed: 2,
                    found: years.len(),
                },
            );
        }
    }
    let coupled = options
        .normalise
        .map_or(Ok(()), check_coupling_normalisation)
        .and_then(|()| coupling(scores, options.coupling));
    match coupled {
        Ok(rows) => out.coupling = Some(rows),
        Err(e @ AnalysisError::OutsideUnitInterval { .. }) => {
            notices.push(format!("coupling coordination: skipped ({e})"));
        }
        Err(e) => return Err(e),
    }
    out.notices = notices;
    Ok(out)
}

/// Parse a score CSV (`nqp compute --out` output) from memory: `region` read as text (codes
/// like `110000` stay text), numbers as f64, `""`/`NA` as missing, the whole file scanned for
/// types. `source` names the file in errors.
pub fn scores_from_csv(bytes: &[u8], source: &str) -> Result<DataFrame, AnalysisError> {
    let text = std::str::from_utf8(bytes).map_err(|e| AnalysisError::BadInput {
        file: source.to_owned(),
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count(),
        message: "not UTF-8 text".to_owned(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let frame = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(None)
        .with_schema_overwrite(Some(Arc::new(Schema::from_iter([Field::new(
            "region".into(),
            DataType::String,
        )]))))
        .map_parse_options(|p| {
            p.with_null_values(Some(NullValues::AllColumns(vec!["".into(), "NA".into()])))
        })
        .into_reader_with_file_handle(std::io::Cursor::new(text.as_bytes().to_vec()))
        .finish()
        .map_err(|e| AnalysisError::BadInput {
            file: source.to_owned(),
            line: 1,
            message: e.to_string(),
        })?;
    Ok(frame)
}

/// Run [`analyse`] and write its CSV files into `out_dir` (created if missing): dagum.csv,
/// dagum_groups.csv, theil.csv, sigma.csv, beta.csv, kernel.csv, markov.csv, moran.csv and
/// lisa.csv (when a contiguity is available) and coupling.csv (unless skipped). Floats are written in shortest
/// round-trip form; an undefined value is an empty field. dagum_groups.csv lists every G_jj
/// (`group_a = group_b`) in ascending order of the group means, then every G_jh with `group_a`
/// the lower-mean group. coupling.csv adds `class_zh` and `class_level` (1–10) after `class`
/// (the English label).
pub fn write_all(
    scores: &DataFrame,
    groups: Option<&GroupMap>,
    adjacency: Option<&Adjacency>,
    out_dir: &Path,
    options: &ReportOptions,
) -> Result<Report, AnalysisError> {
    let r = analyse(scores, groups, adjacency, options)?;
    let mut w = Writer::new(out_dir)?;
    // The same frames the dashboard downloads, so each table's columns are defined once.
    for name in TABLES {
        if let Some(frame) = table(&r, name, None)? {
            w.frame(&format!("{name}.csv"), &frame)?;
        }
    }
    if let Some(coupling) = &r.coupling {
        w.file(
            "coupling.csv",
            "region,year,c,t,d,class,class_zh,class_level",
            coupling.iter().map(|c| {
                format!(
                    "{},{},{},{},{},{},{},{}",
                    csv_text(&c.region),
                    c.year,
                    num(c.c),
                    num(c.t),
                    num(c.d),
                    c.class.label(Lang::En),
                    c.class.label(Lang::Zh),
                    c.class.level()
                )
            }),
        )?;
    }
    Ok(Report {
        files: w.files,
        notices: r.notices,
    })
}

/// The score-table analyses, in the order `nqp analyse` writes them (each as `<name>.csv`).
pub const TABLES: [&str; 9] = [
    "dagum",
    "dagum_groups",
    "theil",
    "sigma",
    "beta",
    "kernel",
    "markov",
    "moran",
    "lisa",
];

/// One analysis table as a frame (rows of `measure` only, when given); `None` for an unknown
/// table name or a spatial table when no contiguity was available.
pub fn table(
    r: &AnalysisResults,
    table: &str,
    measure: Option<&str>,
) -> Result<Option<DataFrame>, AnalysisError> {
    let keep = |m: &str| measure.is_none_or(|want| want == m);
    let frame = match table {
        "dagum" => {
            let rows: Vec<_> = r.dagum.iter().filter(|d| keep(&d.measure)).collect();
            df!(
                "year" => rows.iter().map(|d| d.year).collect::<Vec<_>>(),
                "measure" => rows.iter().map(|d| d.measure.as_str()).collect::<Vec<_>>(),
                "total" => rows.iter().map(|d| d.total).collect::<Vec<_>>(),
                "within" => rows.iter().map(|d| d.within).collect::<Vec<_>>(),
                "between" => rows.iter().map(|d| d.between).collect::<Vec<_>>(),
                "transvariation" => rows.iter().map(|d| d.transvariation).collect::<Vec<_>>(),
            )?
        }
        "dagum_groups" => {
            let rows: Vec<_> = r.dagum_groups.iter().filter(|d| keep(&d.measure)).collect();
            df!(
                "year" => rows.iter().map(|d| d.year).collect::<Vec<_>>(),
                "measure" => rows.iter().map(|d| d.measure.as_str()).collect::<Vec<_>>(),
                "group_a" => rows.iter().map(|d| d.group_a.as_str()).collect::<Vec<_>>(),
                "group_b" => rows.iter().map(|d| d.group_b.as_str()).collect::<Vec<_>>(),
                "gini" => rows.iter().map(|d| d.gini).collect::<Vec<_>>(),
            )?
        }
        "theil" => {
            let rows: Vec<_> = r.theil.iter().filter(|d| keep(&d.measure)).collect();
            df!(
                "year" => rows.iter().map(|d| d.year).collect::<Vec<_>>(),
                "measure" => rows.iter().map(|d| d.measure.as_str()).collect::<Vec<_>>(),
                "total" => rows.iter().map(|d| d.total).collect::<Vec<_>>(),
                "within" => rows.iter().map(|d| d.within).collect::<Vec<_>>(),
                "between" => rows.iter().map(|d| d.between).collect::<Vec<_>>(),
            )?
        }
        "sigma" => {
            let rows: Vec<_> = r.sigma.iter().filter(|d| keep(&d.measure)).collect();
            df!(
                "year" => rows.iter().map(|d| d.year).collect::<Vec<_>>(),
                "measure" => rows.iter().map(|d| d.measure.as_str()).collect::<Vec<_>>(),
                "cv" => rows.iter().map(|d| d.cv).collect::<Vec<_>>(),
            )?
        }
        "kernel" => {
            let rows: Vec<_> = r.kernel.iter().filter(|d| keep(&d.measure)).collect();
            df!(
                "year" => rows.iter().map(|d| d.year).collect::<Vec<_>>(),
                "measure" => rows.iter().map(|d| d.measure.as_str()).collect::<Vec<_>>(),
                "x" => rows.iter().map(|d| d.x).collect::<Vec<_>>(),
                "density" => rows.iter().map(|d| d.density).collect::<Vec<_>>(),
            )?
        }
        "beta" => {
            let rows: Vec<_> = r.beta.iter().filter(|d| keep(&d.measure)).collect();
            df!(
                "measure" => rows.iter().map(|d| d.measure.as_str()).collect::<Vec<_>>(),
                "group" => rows.iter().map(|d| d.group.as_str()).collect::<Vec<_>>(),
                "alpha" => rows.iter().map(|d| d.alpha).collect::<Vec<_>>(),
                "beta" => rows.iter().map(|d| d.beta).collect::<Vec<_>>(),
                "se_beta" => rows.iter().map(|d| d.se_beta).collect::<Vec<_>>(),
                "t_beta" => rows.iter().map(|d| d.t_beta).collect::<Vec<_>>(),
                "r2" => rows.iter().map(|d| d.r2).collect::<Vec<_>>(),
                "n" => rows.iter().map(|d| d.n as u64).collect::<Vec<_>>(),
            )?
        }
        "markov" => {
            let rows: Vec<_> = r.markov.iter().filter(|d| keep(&d.measure)).collect();
            df!(
                "measure" => rows.iter().map(|d| d.measure.as_str()).collect::<Vec<_>>(),
                "from_class" => rows.iter().map(|d| u32::from(d.from_class)).collect::<Vec<_>>(),
                "to_class" => rows.iter().map(|d| u32::from(d.to_class)).collect::<Vec<_>>(),
                "count" => rows.iter().map(|d| d.count).collect::<Vec<_>>(),
                "probability" => rows.iter().map(|d| d.probability).collect::<Vec<_>>(),
            )?
        }
        "moran" => {
            let Some(all) = &r.moran else { return Ok(None) };
            let rows: Vec<_> = all.iter().filter(|d| keep(&d.measure)).collect();
            df!(
                "year" => rows.iter().map(|d| d.year).collect::<Vec<_>>(),
                "measure" => rows.iter().map(|d| d.measure.as_str()).collect::<Vec<_>>(),
                "i" => rows.iter().map(|d| d.i).collect::<Vec<_>>(),
                "expected_i" => rows.iter().map(|d| d.expected_i).collect::<Vec<_>>(),
                "z_norm" => rows.iter().map(|d| d.z_norm).collect::<Vec<_>>(),
                "p_norm" => rows.iter().map(|d| d.p_norm).collect::<Vec<_>>(),
                "p_perm" => rows.iter().map(|d| d.p_perm).collect::<Vec<_>>(),
            )?
        }
        "lisa" => {
            let Some(all) = &r.lisa else { return Ok(None) };
            let rows: Vec<_> = all.iter().filter(|d| keep(&d.measure)).collect();
            df!(
                "year" => rows.iter().map(|d| d.year).collect::<Vec<_>>(),
                "measure" => rows.iter().map(|d| d.measure.as_str()).collect::<Vec<_>>(),
                "region" => rows.iter().map(|d| d.region.as_str()).collect::<Vec<_>>(),
                "local_i" => rows.iter().map(|d| d.local_i).collect::<Vec<_>>(),
                "quadrant" => rows.iter().map(|d| d.quadrant).collect::<Vec<_>>(),
                "p_perm" => rows.iter().map(|d| d.p_perm).collect::<Vec<_>>(),
            )?
        }
        _ => return Ok(None),
    };
    Ok(Some(frame))
}

/// Write the obstacle-degree tables into `out_dir`: obstacle.csv
/// (`region,year,indicator,dimension,obstacle_pct`), obstacle_top.csv (the largest
/// five per region-year, `region,year,rank,indicator,dimension,obstacle_pct`) and
/// obstacle_dimensions.csv (`region,year,dimension,obstacle_pct`).
pub fn write_obstacle(obstacle: &Obstacle, out_dir: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    let mut w = Writer::new(out_dir)?;
    w.file(
        "obstacle.csv",
        "region,year,indicator,dimension,obstacle_pct",
        obstacle.rows.iter().map(|o| {
            format!(
                "{},{},{},{},{}",
                csv_text(&o.region),
                o.year,
                csv_text(&o.indicator),
                csv_text(&o.dimension),
                num(o.obstacle_pct)
            )
        }),
    )?;
    w.file(
        "obstacle_top.csv",
        "region,year,rank,indicator,dimension,obstacle_pct",
        obstacle.top.iter().map(|(rank, o)| {
            format!(
                "{},{},{},{},{},{}",
                csv_text(&o.region),
                o.year,
                rank,
                csv_text(&o.indicator),
                csv_text(&o.dimension),
                num(o.obstacle_pct)
            )
        }),
    )?;
    w.file(
        "obstacle_dimensions.csv",
        "region,year,dimension,obstacle_pct",
        obstacle.dimensions.iter().map(|o| {
            format!(
                "{},{},{},{}",
                csv_text(&o.region),
                o.year,
                csv_text(&o.dimension),
                num(o.obstacle_pct)
            )
        }),
    )?;
    Ok(w.files)
}

fn push_some<T>(v: &mut Option<Vec<T>>, item: T) {
    if let Some(v) = v {
        v.push(item);
    }
}

struct Writer<'a> {
    dir: &'a Path,
    files: Vec<PathBuf>,
}

impl<'a> Writer<'a> {
    fn new(dir: &'a Path) -> Result<Self, AnalysisError> {
        std::fs::create_dir_all(dir).map_err(|source| AnalysisError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        Ok(Self {
            dir,
            files: Vec::new(),
        })
    }

    /// Write `header` and `rows` to `dir/name` through a temporary file and a rename, so a
    /// reader never sees half a file.
    fn file(
        &mut self,
        name: &str,
        header: &str,
        rows: impl Iterator<Item = String>,
    ) -> Result<(), AnalysisError> {
        let mut text = String::with_capacity(4096);
        text.push_str(header);
        text.push('\n');
        for row in rows {
            text.push_str(&row);
            text.push('\n');
        }
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let io = |source| AnalysisError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        self.files.push(path);
        Ok(())
    }

    /// Write a frame as CSV, cells formatted as every other file of the report: floats in
    /// shortest round-trip form, empty for missing, text quoted when it must be.
    fn frame(&mut self, name: &str, frame: &DataFrame) -> Result<(), AnalysisError> {
        let columns = frame.columns();
        let header: Vec<&str> = columns.iter().map(|c| c.name().as_str()).collect();
        let mut rows = Vec::with_capacity(frame.height());
        for i in 0..frame.height() {
            let cells = columns
                .iter()
                .map(|c| {
                    Ok(match c.get(i)? {
                        AnyValue::Null => String::new(),
                        AnyValue::Float64(v) => num(v),
                        AnyValue::String(s) => csv_text(s),
                        other => other.to_string(),
                    })
                })
                .collect::<Result<Vec<_>, PolarsError>>()?;
            rows.push(cells.join(","));
        }
        self.file(name, &header.join(","), rows.into_iter())
    }
}

/// A finite float in shortest round-trip form; NaN/∞ (never produced on purpose) as empty.
fn num(v: f64) -> String {
    if v.is_finite() {
        let mut s = String::new();
        let _ = write!(s, "{v}");
        s
    } else {
        String::new()
    }
}

/// Quote a text field when it holds a separator, quote or line break (RFC 4180).
fn csv_text(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
