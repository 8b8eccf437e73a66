//! Dashboard view data: rankings, region profiles, comparisons, indicator pages, methodology.
//!
//! Owns: turning one computed [`IndexResult`] of one [`Dataset`] into typed, serialisable view
//! data that the HTML pages and the JSON API both render. Built once per (dataset version,
//! method) as [`ResultTables`] and shared; per-request work is filtering ~31 × years rows.
//! Must not: format numbers for display, know HTTP or templates, or run index math (that is
//! `method`).

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::framework::{Framework, IndicatorDef, RegionExclusion};
use crate::ingest::RegionSet;
use crate::method::{IndexResult, MethodRecord, rank};
use crate::service::sort::{Sort, sort_rankings};
use crate::types::{DatasetId, Dimension, Lang, Level, Panel, Subindex};

/// A dataset the dashboard serves: its panel, framework and region set.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub id: DatasetId,
    /// Content hash (hex) of the panel, framework and region set: names the version.
    pub version: String,
    /// The version number in the store (1, 2, …); `None` for a dataset not from the store.
    pub number: Option<u32>,
    pub title_zh: String,
    pub title_en: String,
    pub panel: Panel,
    pub framework: Framework,
    /// The framework file's text (the replication pack ships it as it was read).
    pub framework_toml: String,
    pub regions: Option<RegionSet>,
    pub units: BTreeMap<String, String>,
}

impl Dataset {
    /// Region display name in `lang`; the code itself when there is no region set.
    pub fn region_name(&self, code: &str, lang: Lang) -> String {
        self.regions
            .as_ref()
            .and_then(|set| set.get(code))
            .map(|r| lang.pick(&r.name_zh, &r.name_en).to_owned())
            .unwrap_or_else(|| code.to_owned())
    }

    pub fn region_group(&self, code: &str) -> Option<String> {
        self.regions
            .as_ref()
            .and_then(|set| set.get(code))
            .map(|r| r.group.clone())
            .filter(|g| !g.is_empty())
    }

    pub fn title(&self, lang: Lang) -> &str {
        lang.pick(&self.title_zh, &self.title_en)
    }

    /// A framework indicator's name in `lang`; the id itself when the framework has no such
    /// indicator.
    pub fn indicator_name(&self, id: &str, lang: Lang) -> String {
        self.framework
            .get(id)
            .map_or_else(|| id.to_owned(), |d| d.name(lang).to_owned())
    }
}

/// What a ranking, map or chart shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase", tag = "kind", content = "id")]
pub enum Measure {
    Score,
    Dimension(Dimension),
    /// A mechanism level or the intelligence-and-digital sub-index (only those the framework
    /// defines).
    Subindex(Subindex),
    Indicator(String),
}

impl Measure {
    /// Parse `score`, a dimension name, a sub-index the framework defines (`level/micro`, …,
    /// `ai_digital`) or an indicator id of the framework.
    pub fn parse(raw: &str, framework: &Framework) -> Option<Measure> {
        if let Some(sub) = Subindex::from_column(raw) {
            return framework
                .subindices()
                .contains(&sub)
                .then_some(Measure::Subindex(sub));
        }
        match raw {
            "" | "score" => Some(Measure::Score),
            other => match other.parse::<Dimension>() {
                Ok(d) => Some(Measure::Dimension(d)),
                Err(_) => framework
                    .get(other)
                    .map(|_| Measure::Indicator(other.to_owned())),
            },
        }
    }

    pub fn key(&self) -> &str {
        match self {
            Measure::Score => "score",
            Measure::Dimension(d) => d.as_str(),
            Measure::Subindex(sub) => sub.column(),
            Measure::Indicator(id) => id,
        }
    }

    /// Every measure a dataset offers, in the order a selector lists them: the overall score,
    /// the three elements, the framework's sub-indices, then its indicators.
    pub fn offered(framework: &Framework) -> Vec<Measure> {
        std::iter::once(Measure::Score)
            .chain(Dimension::ALL.into_iter().map(Measure::Dimension))
            .chain(framework.subindices().into_iter().map(Measure::Subindex))
            .chain(
                framework
                    .indicators
                    .iter()
                    .map(|d| Measure::Indicator(d.id.to_string())),
            )
            .collect()
    }
}

/// The sub-index scores of one row, for exactly the sub-indices the framework defines, in
/// column order. Serialised flat beside the row's other fields under the score table's column
/// names (`level/micro`, …, `subindex/ai_digital`), so downloads and `nqp compute` name them alike.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Subscores(pub Vec<(Subindex, Option<f64>)>);

impl Subscores {
    pub fn get(&self, sub: Subindex) -> Option<f64> {
        self.0.iter().find(|(s, _)| *s == sub).and_then(|(_, v)| *v)
    }

    /// The mean of each sub-index over `rows` (regions without a value left out).
    fn mean<'a>(subs: &[Subindex], rows: impl Iterator<Item = &'a Subscores> + Clone) -> Subscores {
        Subscores(
            subs.iter()
                .map(|&sub| (sub, mean(rows.clone().map(|r| r.get(sub)))))
                .collect(),
        )
    }
}

impl Serialize for Subscores {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (sub, value) in &self.0 {
            map.serialize_entry(sub.column(), value)?;
        }
        map.end()
    }
}

impl utoipa::PartialSchema for Subscores {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type};
        let mut object = ObjectBuilder::new().description(Some(
            "Sub-index scores (0–100), present when the framework defines them: the mechanism \
             levels and the intelligence-and-digital sub-index (docs/method.md §6.1).",
        ));
        for sub in Subindex::ALL {
            object = object.property(
                sub.column(),
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::Number, Type::Null]))
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double))),
            );
        }
        object.into()
    }
}

impl utoipa::ToSchema for Subscores {}

impl utoipa::PartialSchema for Subindex {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Subindex::ALL.iter().map(|s| s.column())))
            .description(Some(
                "A mechanism level (Lu & Huang 2024) or the intelligence-and-digital sub-index.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Subindex {}

impl utoipa::PartialSchema for Level {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Level::ALL.iter().map(|l| l.as_str())))
            .description(Some(
                "Mechanism level (Lu & Huang 2024): micro (firms), meso (industries), macro \
                 (governance).",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Level {}

/// The scores of one region-year, or their mean over regions: the overall score, the three
/// elements and the framework's sub-indices. Serialised flat beside the fields of the row that
/// holds it (`score`, `laborers`, `tools`, `objects`, then the sub-index columns).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DimScores {
    pub score: Option<f64>,
    pub laborers: Option<f64>,
    pub tools: Option<f64>,
    pub objects: Option<f64>,
    #[serde(flatten)]
    pub subscores: Subscores,
}

impl DimScores {
    pub fn dimension(&self, d: Dimension) -> Option<f64> {
        match d {
            Dimension::Laborers => self.laborers,
            Dimension::Tools => self.tools,
            Dimension::Objects => self.objects,
        }
    }

    /// The overall score, the three elements, then the sub-indices: the columns of a table.
    pub fn columns(&self) -> impl Iterator<Item = Option<f64>> + '_ {
        [self.score, self.laborers, self.tools, self.objects]
            .into_iter()
            .chain(self.subscores.0.iter().map(|(_, v)| *v))
    }

    /// The scores of a region-year in `tables`; all missing for a region-year without a row.
    fn of(tables: &ResultTables, region: &str, year: i32) -> DimScores {
        match tables.score(region, year) {
            Some(row) => row.scores.clone(),
            None => DimScores {
                subscores: Subscores(tables.subindices.iter().map(|&sub| (sub, None)).collect()),
                ..DimScores::default()
            },
        }
    }

    /// The mean of each score over `rows` (regions without a value left out).
    fn mean<'a>(subs: &[Subindex], rows: impl Iterator<Item = &'a DimScores> + Clone) -> DimScores {
        DimScores {
            score: mean(rows.clone().map(|r| r.score)),
            laborers: mean(rows.clone().map(|r| r.laborers)),
            tools: mean(rows.clone().map(|r| r.tools)),
            objects: mean(rows.clone().map(|r| r.objects)),
            subscores: Subscores::mean(subs, rows.map(|r| &r.subscores)),
        }
    }
}

/// One region-year of the computed index.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScoreRow {
    pub region: String,
    pub year: i32,
    pub rank: Option<u32>,
    #[serde(flatten)]
    pub scores: DimScores,
    pub indicators_missing: u32,
}

/// One region-year-indicator: value after imputation and its normalised score.
#[derive(Debug, Clone, Serialize)]
pub struct IndicatorValue {
    pub region: String,
    pub year: i32,
    pub indicator: String,
    pub raw: Option<f64>,
    pub z: Option<f64>,
    pub imputed: bool,
}

/// An indicator's effective weight (per year for `*-year` schemes).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WeightRow {
    pub indicator: String,
    pub dimension: String,
    pub year: Option<i32>,
    pub weight: f64,
}

/// The computed result in row form, built once per (dataset version, method).
#[derive(Debug, Clone)]
pub struct ResultTables {
    pub years: Vec<i32>,
    /// The sub-indices the result has columns for (those its framework defines).
    pub subindices: Vec<Subindex>,
    pub scores: Vec<ScoreRow>,
    pub values: Vec<IndicatorValue>,
    pub weights: Vec<WeightRow>,
    pub coverage: Vec<(String, f64, bool)>,
    pub notices: Vec<String>,
    /// The stable code of each notice (same order as `notices`), for translations.
    pub notice_codes: Vec<&'static str>,
    pub method: MethodRecord,
    /// The full result the rows were built from (frames for analyses and downloads).
    pub result: IndexResult,
    score_index: HashMap<(String, i32), usize>,
    value_index: HashMap<(String, String, i32), usize>,
}

fn f64_col(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    Ok(df
        .column(name)?
        .cast(&DataType::Float64)?
        .f64()?
        .iter()
        .map(|v| v.filter(|x| x.is_finite()))
        .collect())
}

fn str_col(df: &DataFrame, name: &str) -> Result<Vec<String>> {
    Ok(df
        .column(name)?
        .str()?
        .iter()
        .map(|v| v.unwrap_or_default().to_owned())
        .collect())
}

fn i64_col(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>> {
    Ok(df
        .column(name)?
        .cast(&DataType::Int64)?
        .i64()?
        .iter()
        .collect())
}

impl ResultTables {
    pub fn from_result(result: &IndexResult) -> Result<ResultTables> {
        let s = &result.scores;
        let regions = str_col(s, "region")?;
        let years = i64_col(s, "year")?;
        let score = f64_col(s, "score")?;
        let rank = i64_col(s, "rank")?;
        let lab = f64_col(s, "laborers")?;
        let tools = f64_col(s, "tools")?;
        let obj = f64_col(s, "objects")?;
        let subindices: Vec<Subindex> = Subindex::ALL
            .into_iter()
            .filter(|sub| s.column(sub.column()).is_ok())
            .collect();
        let sub_values = subindices
            .iter()
            .map(|sub| f64_col(s, sub.column()))
            .collect::<Result<Vec<_>>>()?;
        let missing = if s.column("indicators_missing").is_ok() {
            i64_col(s, "indicators_missing")?
        } else {
            vec![Some(0); s.height()]
        };
        let scores: Vec<ScoreRow> = (0..s.height())
            .map(|i| ScoreRow {
                region: regions[i].clone(),
                year: years[i].unwrap_or_default() as i32,
                rank: rank[i].map(|r| r as u32),
                scores: DimScores {
                    score: score[i],
                    laborers: lab[i],
                    tools: tools[i],
                    objects: obj[i],
                    subscores: Subscores(
                        subindices
                            .iter()
                            .zip(&sub_values)
                            .map(|(&sub, v)| (sub, v[i]))
                            .collect(),
                    ),
                },
                indicators_missing: missing[i].unwrap_or_default() as u32,
            })
            .collect();

        let n = result.normalised()?;
        let (nr, ny, ni) = (
            str_col(n, "region")?,
            i64_col(n, "year")?,
            str_col(n, "indicator")?,
        );
        let (raw, z) = (f64_col(n, "raw")?, f64_col(n, "z")?);
        let imputed: Vec<bool> = n
            .column("imputed")?
            .bool()?
            .iter()
            .map(|b| b.unwrap_or(false))
            .collect();
        let values: Vec<IndicatorValue> = (0..n.height())
            .map(|i| IndicatorValue {
                region: nr[i].clone(),
                year: ny[i].unwrap_or_default() as i32,
                indicator: ni[i].clone(),
                raw: raw[i],
                z: z[i],
                imputed: imputed[i],
            })
            .collect();

        let w = &result.weights;
        let (wi, wd, ww) = (
            str_col(w, "indicator")?,
            str_col(w, "dimension")?,
            f64_col(w, "weight")?,
        );
        let wy = if w.column("year").is_ok() {
            i64_col(w, "year")?
        } else {
            vec![None; w.height()]
        };
        let weights = (0..w.height())
            .map(|i| WeightRow {
                indicator: wi[i].clone(),
                dimension: wd[i].clone(),
                year: wy[i].map(|y| y as i32),
                weight: ww[i].unwrap_or(0.0),
            })
            .collect();

        let c = &result.coverage;
        let (ci, cc) = (str_col(c, "indicator")?, f64_col(c, "coverage")?);
        let ce: Vec<bool> = c
            .column("excluded")?
            .bool()?
            .iter()
            .map(|b| b.unwrap_or(false))
            .collect();
        let coverage = (0..c.height())
            .map(|i| (ci[i].clone(), cc[i].unwrap_or(0.0), ce[i]))
            .collect();

        let mut all_years: Vec<i32> = scores.iter().map(|r| r.year).collect();
        all_years.sort_unstable();
        all_years.dedup();
        let score_index = scores
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.region.clone(), r.year), i))
            .collect();
        let value_index = values
            .iter()
            .enumerate()
            .map(|(i, v)| ((v.region.clone(), v.indicator.clone(), v.year), i))
            .collect();
        Ok(ResultTables {
            years: all_years,
            subindices,
            scores,
            values,
            weights,
            coverage,
            notices: result.notices.iter().map(|n| n.message.clone()).collect(),
            notice_codes: result.notices.iter().map(|n| n.code).collect(),
            method: result.method.clone(),
            result: result.clone(),
            score_index,
            value_index,
        })
    }

    pub fn latest_year(&self) -> Option<i32> {
        self.years.last().copied()
    }

    pub fn score(&self, region: &str, year: i32) -> Option<&ScoreRow> {
        self.score_index
            .get(&(region.to_owned(), year))
            .map(|&i| &self.scores[i])
    }

    pub fn value(&self, region: &str, indicator: &str, year: i32) -> Option<&IndicatorValue> {
        self.value_index
            .get(&(region.to_owned(), indicator.to_owned(), year))
            .map(|&i| &self.values[i])
    }

    pub fn regions(&self) -> Vec<String> {
        let mut regions: Vec<String> = self.scores.iter().map(|r| r.region.clone()).collect();
        regions.sort_unstable();
        regions.dedup();
        regions
    }

    /// The value a measure takes for a region-year: the score, a dimension or sub-index score,
    /// or an indicator's normalised value (so that higher is always better).
    pub fn measure_value(&self, measure: &Measure, region: &str, year: i32) -> Option<f64> {
        match measure {
            Measure::Score => self.score(region, year)?.scores.score,
            Measure::Dimension(d) => self.score(region, year)?.scores.dimension(*d),
            Measure::Subindex(sub) => self.score(region, year)?.scores.subscores.get(*sub),
            Measure::Indicator(id) => self.value(region, id, year)?.z,
        }
    }

    /// The value of `measure` for each of `regions` in `year`, and its competition rank.
    fn ranked(
        &self,
        measure: &Measure,
        regions: &[String],
        year: i32,
    ) -> (Vec<Option<f64>>, Vec<Option<u32>>) {
        let values: Vec<Option<f64>> = regions
            .iter()
            .map(|r| self.measure_value(measure, r, year))
            .collect();
        let ranks = competition_ranks(&values);
        (values, ranks)
    }

    /// Effective weight of an indicator (mean over years for per-year schemes).
    pub fn weight(&self, indicator: &str) -> Option<f64> {
        let ws: Vec<f64> = self
            .weights
            .iter()
            .filter(|w| w.indicator == indicator)
            .map(|w| w.weight)
            .collect();
        (!ws.is_empty()).then(|| ws.iter().sum::<f64>() / ws.len() as f64)
    }
}

/// Competition ranks ("min": 1, 1, 3), 1 = highest; `None` values get no rank. The same rule
/// and tie tolerance as the index's own ranks (`method::rank`).
pub fn competition_ranks(values: &[Option<f64>]) -> Vec<Option<u32>> {
    let scores: Vec<f64> = values.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
    rank::competition_rank(&scores, rank::TIE_TOLERANCE)
}

/// Best rank first, regions without a rank last, ties by code: the order of ranked tables.
pub fn rank_order(rank: Option<u32>, code: &str) -> (bool, Option<u32>, &str) {
    (rank.is_none(), rank, code)
}

/// One row of the rankings table.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RankingRow {
    pub code: String,
    pub name: String,
    pub group: Option<String>,
    pub value: Option<f64>,
    pub rank: Option<u32>,
    /// Positive = moved up since the previous year.
    pub rank_change: Option<i32>,
    #[serde(flatten)]
    pub scores: DimScores,
    pub incomplete: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupMean {
    pub group: String,
    pub regions: usize,
    pub value: Option<f64>,
    #[serde(flatten)]
    pub scores: DimScores,
}

/// A region the framework leaves out of every computation, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExcludedRegion {
    pub code: String,
    pub name: String,
    pub reason: String,
}

/// The framework's excluded regions, named in `lang`.
fn excluded_regions(ds: &Dataset, lang: Lang) -> Vec<ExcludedRegion> {
    ds.framework
        .exclude
        .iter()
        .map(|RegionExclusion { region, reason }| ExcludedRegion {
            code: region.clone(),
            name: ds.region_name(region, lang),
            reason: reason.clone(),
        })
        .collect()
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rankings {
    pub year: i32,
    /// The order of `rows` (the request's `sort` and `dir`).
    #[serde(skip)]
    pub sort: Sort,
    pub years: Vec<i32>,
    pub measure: Measure,
    /// The sub-indices every row carries (those the framework defines).
    pub subindices: Vec<Subindex>,
    pub rows: Vec<RankingRow>,
    pub groups: Vec<GroupMean>,
    /// Every value of the measure over all years: fixed colour bins across years.
    pub all_values: Vec<f64>,
    /// Regions left out of the index, with the framework's reason.
    pub excluded: Vec<ExcludedRegion>,
}

fn mean(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = values.flatten().collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn year_or_latest(tables: &ResultTables, year: Option<i32>) -> Result<i32> {
    match year {
        Some(y) if tables.years.contains(&y) => Ok(y),
        Some(y) => Err(Error::NotFound {
            what: "year",
            key: y.to_string(),
        }),
        None => tables.latest_year().ok_or(Error::NotFound {
            what: "year",
            key: "any".into(),
        }),
    }
}

/// Regions ranked by a measure in one year, with change since the previous year and group means;
/// the rows in the order of `sort` (groups by `group_label`, the name the reader sees).
pub fn rankings(
    ds: &Dataset,
    tables: &ResultTables,
    year: Option<i32>,
    measure: Measure,
    sort: Sort,
    lang: Lang,
    group_label: impl Fn(&str) -> String,
) -> Result<Rankings> {
    let year = year_or_latest(tables, year)?;
    let regions = tables.regions();
    let (values, ranks) = tables.ranked(&measure, &regions, year);
    let previous = tables.years.iter().copied().filter(|&y| y < year).max();
    let prev_ranks = previous.map(|y| tables.ranked(&measure, &regions, y).1);
    let mut rows: Vec<RankingRow> = regions
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let s = tables.score(code, year);
            RankingRow {
                code: code.clone(),
                name: ds.region_name(code, lang),
                group: ds.region_group(code),
                value: values[i],
                rank: ranks[i],
                rank_change: match (&prev_ranks, ranks[i]) {
                    (Some(prev), Some(now)) => prev[i].map(|p| p as i32 - now as i32),
                    _ => None,
                },
                scores: DimScores::of(tables, code, year),
                incomplete: s.is_some_and(|s| s.indicators_missing > 0),
            }
        })
        .collect();
    rows.sort_by(|a, b| rank_order(a.rank, &a.code).cmp(&rank_order(b.rank, &b.code)));
    let mut group_names: Vec<String> = rows.iter().filter_map(|r| r.group.clone()).collect();
    if let Some(set) = &ds.regions {
        group_names = set.groups();
    } else {
        group_names.sort_unstable();
        group_names.dedup();
    }
    let groups = group_names
        .into_iter()
        .map(|g| {
            let members: Vec<&RankingRow> = rows
                .iter()
                .filter(|r| r.group.as_deref() == Some(g.as_str()))
                .collect();
            GroupMean {
                regions: members.len(),
                value: mean(members.iter().map(|r| r.value)),
                scores: DimScores::mean(&tables.subindices, members.iter().map(|r| &r.scores)),
                group: g,
            }
        })
        .filter(|g| g.regions > 0)
        .collect();
    let all_values = tables
        .years
        .iter()
        .flat_map(|&y| tables.ranked(&measure, &regions, y).0)
        .flatten()
        .collect();
    sort_rankings(&mut rows, sort, group_label);
    Ok(Rankings {
        year,
        sort,
        years: tables.years.clone(),
        measure,
        subindices: tables.subindices.clone(),
        rows,
        groups,
        all_values,
        excluded: excluded_regions(ds, lang),
    })
}

/// One indicator as seen from a region: its raw value, normalised value and rank among regions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IndicatorStanding {
    pub id: String,
    pub name: String,
    pub dimension: Dimension,
    pub level: Option<Level>,
    /// Part of the intelligence-and-digital sub-index.
    pub ai_digital: bool,
    pub unit: String,
    pub raw: Option<f64>,
    pub z: Option<f64>,
    pub rank: Option<u32>,
    pub weight: Option<f64>,
    pub imputed: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TrendPoint {
    pub year: i32,
    pub rank: Option<u32>,
    #[serde(flatten)]
    pub scores: DimScores,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Peer {
    pub code: String,
    pub name: String,
    pub score: Option<f64>,
    pub rank: Option<u32>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegionProfile {
    pub code: String,
    pub name: String,
    pub group: Option<String>,
    pub year: i32,
    pub years: Vec<i32>,
    pub current: TrendPoint,
    /// Mean over all regions of each dimension in `year`.
    pub national_mean: TrendPoint,
    pub trend: Vec<TrendPoint>,
    pub indicators: Vec<IndicatorStanding>,
    pub strengths: Vec<IndicatorStanding>,
    pub weaknesses: Vec<IndicatorStanding>,
    pub peers: Vec<Peer>,
    pub regions_ranked: usize,
    /// The sub-indices `current`, `national_mean` and `trend` carry.
    pub subindices: Vec<Subindex>,
    /// Regions left out of the index, with the framework's reason.
    pub excluded: Vec<ExcludedRegion>,
}

fn trend_point(tables: &ResultTables, region: &str, year: i32) -> TrendPoint {
    TrendPoint {
        year,
        rank: tables.score(region, year).and_then(|s| s.rank),
        scores: DimScores::of(tables, region, year),
    }
}

fn indicator_name(def: &IndicatorDef, lang: Lang) -> String {
    lang.pick(&def.name_zh, &def.name_en).to_owned()
}

/// How many strengths and weaknesses a profile lists.
const PROFILE_TOP: usize = 3;
/// How many peers (nearest overall scores) a profile lists.
const PROFILE_PEERS: usize = 4;

pub fn region_profile(
    ds: &Dataset,
    tables: &ResultTables,
    code: &str,
    year: Option<i32>,
    lang: Lang,
) -> Result<RegionProfile> {
    let regions = tables.regions();
    if !regions.iter().any(|r| r == code) {
        return Err(Error::NotFound {
            what: "region",
            key: code.to_owned(),
        });
    }
    let year = year_or_latest(tables, year)?;
    let trend = tables
        .years
        .iter()
        .map(|&y| trend_point(tables, code, y))
        .collect();
    let year_rows: Vec<&ScoreRow> = regions
        .iter()
        .filter_map(|r| tables.score(r, year))
        .collect();
    let national_mean = TrendPoint {
        year,
        rank: None,
        scores: DimScores::mean(&tables.subindices, year_rows.iter().map(|r| &r.scores)),
    };
    let scored: Vec<&IndicatorDef> = ds
        .framework
        .indicators
        .iter()
        .filter(|d| tables.weight(d.id.as_str()).is_some())
        .collect();
    let indicators: Vec<IndicatorStanding> = scored
        .iter()
        .map(|def| {
            let id = def.id.as_str();
            let ranks = tables
                .ranked(&Measure::Indicator(id.to_owned()), &regions, year)
                .1;
            let me = regions.iter().position(|r| r == code).unwrap_or_default();
            let v = tables.value(code, id, year);
            IndicatorStanding {
                id: id.to_owned(),
                name: indicator_name(def, lang),
                dimension: def.dimension,
                level: def.level,
                ai_digital: def.ai_digital,
                unit: def.unit_label(lang).to_owned(),
                raw: v.and_then(|v| v.raw),
                z: v.and_then(|v| v.z),
                rank: ranks[me],
                weight: tables.weight(id),
                imputed: v.is_some_and(|v| v.imputed),
            }
        })
        .collect();
    let mut by_rank: Vec<&IndicatorStanding> =
        indicators.iter().filter(|s| s.rank.is_some()).collect();
    by_rank.sort_by_key(|s| (s.rank, s.id.clone()));
    let strengths = by_rank
        .iter()
        .take(PROFILE_TOP)
        .map(|s| (*s).clone())
        .collect();
    let weaknesses = by_rank
        .iter()
        .rev()
        .take(PROFILE_TOP)
        .map(|s| (*s).clone())
        .collect();
    let current = trend_point(tables, code, year);
    let mut peers: Vec<Peer> = regions
        .iter()
        .filter(|r| r.as_str() != code)
        .filter_map(|r| {
            let s = tables.score(r, year)?;
            Some(Peer {
                code: r.clone(),
                name: ds.region_name(r, lang),
                score: s.scores.score,
                rank: s.rank,
            })
        })
        .collect();
    let target = current.scores.score.unwrap_or(f64::NAN);
    peers.sort_by(|a, b| {
        let da = (a.score.unwrap_or(f64::INFINITY) - target).abs();
        let db = (b.score.unwrap_or(f64::INFINITY) - target).abs();
        da.total_cmp(&db)
    });
    peers.truncate(PROFILE_PEERS);
    peers.sort_by_key(|p| p.rank);
    Ok(RegionProfile {
        code: code.to_owned(),
        name: ds.region_name(code, lang),
        group: ds.region_group(code),
        year,
        years: tables.years.clone(),
        current,
        national_mean,
        trend,
        indicators,
        strengths,
        weaknesses,
        peers,
        regions_ranked: year_rows.iter().filter(|r| r.rank.is_some()).count(),
        subindices: tables.subindices.clone(),
        excluded: excluded_regions(ds, lang),
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CompareRegion {
    pub code: String,
    pub name: String,
    pub current: TrendPoint,
    pub trend: Vec<TrendPoint>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Comparison {
    pub year: i32,
    pub years: Vec<i32>,
    pub regions: Vec<CompareRegion>,
}

/// Bounds on how many regions a comparison holds.
pub const COMPARE_MIN: usize = 2;
pub const COMPARE_MAX: usize = 5;

pub fn compare(
    ds: &Dataset,
    tables: &ResultTables,
    codes: &[String],
    year: Option<i32>,
    lang: Lang,
) -> Result<Comparison> {
    let year = year_or_latest(tables, year)?;
    let known = tables.regions();
    let mut regions = Vec::new();
    for code in codes {
        if !known.contains(code) {
            return Err(Error::NotFound {
                what: "region",
                key: code.clone(),
            });
        }
        regions.push(CompareRegion {
            code: code.clone(),
            name: ds.region_name(code, lang),
            current: trend_point(tables, code, year),
            trend: tables
                .years
                .iter()
                .map(|&y| trend_point(tables, code, y))
                .collect(),
        });
    }
    Ok(Comparison {
        year,
        years: tables.years.clone(),
        regions,
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IndicatorRow {
    pub code: String,
    pub name: String,
    pub raw: Option<f64>,
    pub z: Option<f64>,
    pub rank: Option<u32>,
    pub imputed: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IndicatorPage {
    pub id: String,
    pub name: String,
    pub dimension: Dimension,
    pub subdimension: Option<String>,
    pub direction: String,
    pub unit: String,
    pub source: String,
    pub publisher: Option<String>,
    pub formula: Option<String>,
    /// The framework's description of the indicator in the reader's language, if any.
    pub description: Option<String>,
    pub weight: Option<f64>,
    pub coverage: Option<f64>,
    pub excluded: bool,
    pub year: i32,
    pub years: Vec<i32>,
    pub rows: Vec<IndicatorRow>,
    pub all_values: Vec<f64>,
}

pub fn indicator_page(
    ds: &Dataset,
    tables: &ResultTables,
    id: &str,
    year: Option<i32>,
    lang: Lang,
) -> Result<IndicatorPage> {
    let def = ds.framework.get(id).ok_or_else(|| Error::NotFound {
        what: "indicator",
        key: id.to_owned(),
    })?;
    let year = year_or_latest(tables, year)?;
    let regions = tables.regions();
    let (zs, ranks) = tables.ranked(&Measure::Indicator(id.to_owned()), &regions, year);
    let mut rows: Vec<IndicatorRow> = regions
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let v = tables.value(r, id, year);
            IndicatorRow {
                code: r.clone(),
                name: ds.region_name(r, lang),
                raw: v.and_then(|v| v.raw),
                z: zs[i],
                rank: ranks[i],
                imputed: v.is_some_and(|v| v.imputed),
            }
        })
        .collect();
    rows.sort_by(|a, b| rank_order(a.rank, &a.code).cmp(&rank_order(b.rank, &b.code)));
    let coverage = tables.coverage.iter().find(|c| c.0 == id);
    Ok(IndicatorPage {
        id: id.to_owned(),
        name: indicator_name(def, lang),
        dimension: def.dimension,
        subdimension: def.subdimension_label(lang).map(str::to_owned),
        direction: def.direction.as_str().to_owned(),
        unit: def.unit_label(lang).to_owned(),
        source: def.source.clone(),
        publisher: def.publisher.clone(),
        formula: def.formula.as_ref().map(|f| f.to_string()),
        description: match lang {
            Lang::Zh => def
                .description_zh
                .clone()
                .or_else(|| def.description_en.clone()),
            Lang::En => def
                .description_en
                .clone()
                .or_else(|| def.description_zh.clone()),
        },
        weight: tables.weight(id),
        coverage: coverage.map(|c| c.1),
        excluded: coverage.is_some_and(|c| c.2),
        year,
        years: tables.years.clone(),
        rows,
        all_values: tables
            .values
            .iter()
            .filter(|v| v.indicator == id)
            .filter_map(|v| v.z)
            .collect(),
    })
}
