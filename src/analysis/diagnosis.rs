//! Diagnosis: which indicators hold a region back (obstacle degree) and how well the three
//! dimensions develop together (coupling coordination).

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;
use serde::Serialize;

use super::AnalysisError;
use crate::method::Normalise;
use crate::types::Lang;

/// Whether `normalise` yields values in [0, 1]. Obstacle degree reads 1 − z as the distance
/// from the best value and coupling coordination reads the dimension levels as shares of the
/// maximum; both presuppose z ∈ [0, 1] and give negative percentages or undefined roots
/// otherwise. The match is exhaustive so that a new normalisation has to take a side.
pub fn unit_interval(normalise: Normalise) -> bool {
    match normalise {
        Normalise::MinmaxPanel | Normalise::MinmaxYear | Normalise::Rank => true,
        Normalise::Zscore => false,
    }
}

/// The error that skips a diagnosis under a normalisation outside [0, 1].
fn outside_unit_interval(what: &'static str, normalise: Normalise) -> AnalysisError {
    AnalysisError::OutsideUnitInterval {
        what,
        detail: format!(
            "normalisation '{}' gives values outside it",
            normalise.as_str()
        ),
    }
}

/// Coupling coordination is undefined under `normalise` (see [`unit_interval`]).
pub fn check_coupling_normalisation(normalise: Normalise) -> Result<(), AnalysisError> {
    if unit_interval(normalise) {
        Ok(())
    } else {
        Err(outside_unit_interval("coupling coordination", normalise))
    }
}

/// How many indicators [`Obstacle::top`] keeps per region-year.
pub const TOP_OBSTACLES: usize = 5;

/// Obstacle degree of one indicator in one region-year, in percent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObstacleRow {
    pub region: String,
    pub year: i32,
    pub indicator: String,
    pub dimension: String,
    pub obstacle_pct: f64,
}

/// Obstacle degree summed over a dimension's indicators.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimensionObstacle {
    pub region: String,
    pub year: i32,
    pub dimension: String,
    pub obstacle_pct: f64,
}

/// One scored indicator of one region-year.
struct Cell {
    indicator: String,
    dimension: String,
    weight: f64,
    z: f64,
}

/// Obstacle degrees of every indicator, the largest [`TOP_OBSTACLES`] per region-year
/// (`rank` 1 = largest) and the per-dimension sums.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Obstacle {
    pub rows: Vec<ObstacleRow>,
    pub top: Vec<(usize, ObstacleRow)>,
    pub dimensions: Vec<DimensionObstacle>,
}

/// Obstacle degrees O_j = w_j (1 − z_j) / Σ_k w_k (1 − z_k) × 100 of one region-year
/// (deviation 1 − z times factor contribution w). When every indicator is at its best
/// (z = 1) or every weight is 0 nothing is an obstacle: all 0 (instead of 0/0).
pub fn obstacle_degrees(z: &[f64], w: &[f64]) -> Vec<f64> {
    let parts: Vec<f64> = z.iter().zip(w).map(|(z, w)| w * (1.0 - z)).collect();
    let total: f64 = parts.iter().sum();
    parts
        .iter()
        .map(|p| if total > 0.0 { p / total * 100.0 } else { 0.0 })
        .collect()
}

/// Obstacle degrees from the index result: `normalised` has `region, year, indicator, z`
/// (the unshifted normalised values), `weights` has `indicator, dimension, weight` and
/// optionally `year` (per-year weights). A missing z leaves the indicator out of that
/// region-year (as the index re-normalises weights over available indicators); an indicator
/// without a weight is not scored and is left out too. Under a normalisation outside [0, 1]
/// (see [`unit_interval`]), or with any z outside [0, 1], the error
/// [`AnalysisError::OutsideUnitInterval`] says why nothing is computed.
pub fn obstacle(
    normalised: &DataFrame,
    weights: &DataFrame,
    normalise: Normalise,
) -> Result<Obstacle, AnalysisError> {
    if !unit_interval(normalise) {
        return Err(outside_unit_interval("obstacle degree", normalise));
    }
    let w_regions = str_column(weights, "weights", "indicator")?;
    let w_dims = str_column(weights, "weights", "dimension")?;
    let w_vals = f64_column(weights, "weights", "weight")?;
    let w_years = if weights.column("year").is_ok() {
        Some(i32_column(weights, "weights", "year")?)
    } else {
        None
    };
    // (indicator, year or None) → (dimension, weight)
    let mut lookup: HashMap<(String, Option<i32>), (String, f64)> = HashMap::new();
    for i in 0..weights.height() {
        if let (Some(ind), Some(dim), Some(w)) = (&w_regions[i], &w_dims[i], w_vals[i]) {
            let year = w_years.as_ref().and_then(|y| y[i]);
            lookup.insert((ind.clone(), year), (dim.clone(), w));
        }
    }
    let per_year = w_years.is_some();

    let regions = str_column(normalised, "normalised", "region")?;
    let years = i32_column(normalised, "normalised", "year")?;
    let indicators = str_column(normalised, "normalised", "indicator")?;
    let z = f64_column(normalised, "normalised", "z")?;
    let mut cells: BTreeMap<(String, i32), Vec<Cell>> = BTreeMap::new();
    for i in 0..normalised.height() {
        let (Some(r), Some(y), Some(ind), Some(zv)) = (&regions[i], years[i], &indicators[i], z[i])
        else {
            continue;
        };
        let key = (ind.clone(), per_year.then_some(y));
        if let Some((dim, w)) = lookup.get(&key) {
            cells.entry((r.clone(), y)).or_default().push(Cell {
                indicator: ind.clone(),
                dimension: dim.clone(),
                weight: *w,
                z: zv,
            });
        }
    }

    let outside = cells
        .values()
        .flatten()
        .filter(|c| !(0.0..=1.0).contains(&c.z))
        .count();
    if outside > 0 {
        return Err(AnalysisError::OutsideUnitInterval {
            what: "obstacle degree",
            detail: format!("found {outside} value(s) outside it"),
        });
    }
    let mut out = Obstacle {
        rows: Vec::new(),
        top: Vec::new(),
        dimensions: Vec::new(),
    };
    for ((region, year), mut items) in cells {
        items.sort_by(|a, b| a.indicator.cmp(&b.indicator));
        let zs: Vec<f64> = items.iter().map(|i| i.z).collect();
        let ws: Vec<f64> = items.iter().map(|i| i.weight).collect();
        let degrees = obstacle_degrees(&zs, &ws);
        let rows: Vec<ObstacleRow> = items
            .iter()
            .zip(&degrees)
            .map(|(cell, o)| ObstacleRow {
                region: region.clone(),
                year,
                indicator: cell.indicator.clone(),
                dimension: cell.dimension.clone(),
                obstacle_pct: *o,
            })
            .collect();
        let mut ranked = rows.clone();
        // Largest first; equal degrees keep indicator order (stable sort).
        ranked.sort_by(|a, b| b.obstacle_pct.total_cmp(&a.obstacle_pct));
        out.top.extend(
            ranked
                .into_iter()
                .take(TOP_OBSTACLES)
                .enumerate()
                .map(|(k, r)| (k + 1, r)),
        );
        let mut by_dim: BTreeMap<&str, f64> = BTreeMap::new();
        for r in &rows {
            *by_dim.entry(r.dimension.as_str()).or_default() += r.obstacle_pct;
        }
        out.dimensions
            .extend(by_dim.into_iter().map(|(d, o)| DimensionObstacle {
                region: region.clone(),
                year,
                dimension: d.to_owned(),
                obstacle_pct: o,
            }));
        out.rows.extend(rows);
    }
    Ok(out)
}

/// [`obstacle`], skipped with a notice (pushed to `notices`) instead of failing when the values
/// are outside [0, 1]; other errors stay errors.
pub fn obstacle_or_skip(
    normalised: &DataFrame,
    weights: &DataFrame,
    normalise: Normalise,
    notices: &mut Vec<String>,
) -> Result<Option<Obstacle>, AnalysisError> {
    match obstacle(normalised, weights, normalise) {
        Ok(o) => Ok(Some(o)),
        Err(e @ AnalysisError::OutsideUnitInterval { .. }) => {
            notices.push(format!("obstacle degree: skipped ({e})"));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Which coupling degree formula to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CouplingForm {
    /// C = n·[Π U_i / (Σ U_i)^n]^(1/n); for n = 3: 3·[U₁U₂U₃/(U₁+U₂+U₃)³]^(1/3).
    #[default]
    Standard,
    /// 王淑佳, 孔伟, 任亮, 治丹丹, 戴彬婷 (2021) 国内耦合协调度模型的误区及修正, 自然资源学报
    /// 36(3): 793–810, doi:10.31497/zrzyxb.20210319:
    /// C = √{[1 − Σ_{i>j}|U_i − U_j| / Σ_{m=1}^{n−1} m] · [Π U_i / (max U_i)^n]^(1/(n−1))}.
    /// For n = 2 this is √{(1 − |U₁ − U₂|)·min/max}; the variant reproduces the paper's
    /// Table 8 (e.g. Tianjin 2008: original C 0.9935 → corrected 0.8660 needs the min/max
    /// ratio, not min U).
    Wang2021,
}

impl CouplingForm {
    pub fn as_str(self) -> &'static str {
        match self {
            CouplingForm::Standard => "standard",
            CouplingForm::Wang2021 => "wang2021",
        }
    }
}

impl std::str::FromStr for CouplingForm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "standard" => Ok(CouplingForm::Standard),
            "wang2021" | "corrected" => Ok(CouplingForm::Wang2021),
            other => Err(format!(
                "unknown coupling form '{other}' (expected standard or wang2021)"
            )),
        }
    }
}

/// The ten coordination levels of D, 1 = 极度失调 (0 ≤ D < 0.1) … 10 = 优质协调 (0.9 ≤ D ≤ 1).
/// Each class includes its lower bound and excludes its upper bound (D = 0.5 is 勉强协调), the
/// bounds being the f64 nearest k/10; D = 1 (and anything above) is level 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CoordinationClass(u8);

/// Serialised with both labels, e.g. `{"level": 6, "zh": "勉强协调", "en": "barely coordinated"}`.
impl Serialize for CoordinationClass {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("CoordinationClass", 3)?;
        s.serialize_field("level", &self.level())?;
        s.serialize_field("zh", self.label(Lang::Zh))?;
        s.serialize_field("en", self.label(Lang::En))?;
        s.end()
    }
}

const CLASS_LABELS: [(&str, &str); 10] = [
    ("极度失调", "extreme imbalance"),
    ("严重失调", "severe imbalance"),
    ("中度失调", "moderate imbalance"),
    ("轻度失调", "mild imbalance"),
    ("濒临失调", "verge of imbalance"),
    ("勉强协调", "barely coordinated"),
    ("初级协调", "primary coordination"),
    ("中级协调", "intermediate coordination"),
    ("良好协调", "good coordination"),
    ("优质协调", "high-quality coordination"),
];

impl CoordinationClass {
    pub fn from_d(d: f64) -> Self {
        let passed = (1..10u8).filter(|k| d >= f64::from(*k) / 10.0).count() as u8;
        Self(passed + 1)
    }

    /// 1–10.
    pub fn level(self) -> u8 {
        self.0
    }

    pub fn label(self, lang: Lang) -> &'static str {
        let (zh, en) = CLASS_LABELS[usize::from(self.0 - 1)];
        lang.pick(zh, en)
    }
}

/// Coupling degree C, comprehensive development index T and coupling coordination D = √(C·T).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CouplingValues {
    pub c: f64,
    /// T = mean of the U_i (equal weights for the subsystems).
    pub t: f64,
    pub d: f64,
}

/// Coupling coordination of subsystem levels `u` (each in [0, 1], at least two). All-zero
/// levels give C = T = D = 0. Negative levels are an error.
pub fn coupling_degree(u: &[f64], form: CouplingForm) -> Result<CouplingValues, AnalysisError> {
    let n = u.len();
    if n < 2 {
        return Err(AnalysisError::TooFew {
            what: "coupling degree",
            needed: 2,
            found: n,
        });
    }
    super::check_finite("coupling degree", u)?;
    let negative = u.iter().filter(|v| **v < 0.0).count();
    if negative > 0 {
        return Err(AnalysisError::NegativeValues {
            what: "coupling degree",
            count: negative,
        });
    }
    let nf = n as f64;
    let sum: f64 = u.iter().sum();
    let product: f64 = u.iter().product();
    let c = match form {
        CouplingForm::Standard => {
            if sum > 0.0 {
                nf * product.powf(1.0 / nf) / sum
            } else {
                0.0
            }
        }
        CouplingForm::Wang2021 => {
            let max = u.iter().copied().fold(0.0, f64::max);
            if max > 0.0 {
                let mut spread = 0.0;
                for i in 0..n {
                    for j in 0..i {
                        spread += (u[i] - u[j]).abs();
                    }
                }
                let pairs_norm = (1..n).sum::<usize>() as f64;
                let balance = (product / max.powi(n as i32)).powf(1.0 / (nf - 1.0));
                ((1.0 - spread / pairs_norm) * balance).max(0.0).sqrt()
            } else {
                0.0
            }
        }
    };
    let t = sum / nf;
    Ok(CouplingValues {
        c,
        t,
        d: (c * t).sqrt(),
    })
}

/// Coupling coordination of one region-year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CouplingRow {
    pub region: String,
    pub year: i32,
    pub c: f64,
    pub t: f64,
    pub d: f64,
    pub class: CoordinationClass,
}

/// How far a dimension level may round past [0, 1] (a geometric mean of 100 computed as
/// 100.00000000000001) before it counts as outside; within it the level is clamped.
const UNIT_TOLERANCE: f64 = 1e-9;

/// Coupling coordination of the three dimensions per region-year from a score frame with
/// `region, year, laborers, tools, objects` (dimension scores 0–100; U_d = D_d/100). Rows with
/// a missing dimension score are left out. Output sorted by region, then year. A dimension
/// score outside 0–100 (a score table of z-scores) is [`AnalysisError::OutsideUnitInterval`].
pub fn coupling(scores: &DataFrame, form: CouplingForm) -> Result<Vec<CouplingRow>, AnalysisError> {
    let regions = str_column(scores, "scores", "region")?;
    let years = i32_column(scores, "scores", "year")?;
    let dims: Vec<Vec<Option<f64>>> = ["laborers", "tools", "objects"]
        .iter()
        .map(|d| f64_column(scores, "scores", d))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for i in 0..scores.height() {
        let (Some(region), Some(year)) = (&regions[i], years[i]) else {
            continue;
        };
        let u: Option<Vec<f64>> = dims.iter().map(|d| d[i].map(|v| v / 100.0)).collect();
        let Some(mut u) = u else { continue };
        let outside = u
            .iter()
            .filter(|v| !(-UNIT_TOLERANCE..=1.0 + UNIT_TOLERANCE).contains(*v))
            .count();
        if outside > 0 {
            return Err(AnalysisError::OutsideUnitInterval {
                what: "coupling coordination",
                detail: format!("{region} {year} has {outside} dimension score(s) outside 0–100"),
            });
        }
        u.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
        let v = coupling_degree(&u, form)?;
        out.push(CouplingRow {
            region: region.clone(),
            year,
            c: v.c,
            t: v.t,
            d: v.d,
            class: CoordinationClass::from_d(v.d),
        });
    }
    out.sort_by(|a, b| a.region.cmp(&b.region).then(a.year.cmp(&b.year)));
    Ok(out)
}

fn get_column<'a>(df: &'a DataFrame, file: &str, name: &str) -> Result<&'a Column, AnalysisError> {
    df.column(name).map_err(|_| AnalysisError::MissingColumn {
        file: file.to_owned(),
        column: name.to_owned(),
    })
}

fn str_column(
    df: &DataFrame,
    file: &str,
    name: &str,
) -> Result<Vec<Option<String>>, AnalysisError> {
    let c = get_column(df, file, name)?.cast(&DataType::String)?;
    Ok(c.str()?.iter().map(|s| s.map(str::to_owned)).collect())
}

fn i32_column(df: &DataFrame, file: &str, name: &str) -> Result<Vec<Option<i32>>, AnalysisError> {
    let c = get_column(df, file, name)?
        .strict_cast(&DataType::Int32)
        .map_err(|_| AnalysisError::BadColumn {
            file: file.to_owned(),
            column: name.to_owned(),
            detail: "must hold whole years".to_owned(),
        })?;
    Ok(c.i32()?.iter().collect())
}

fn f64_column(df: &DataFrame, file: &str, name: &str) -> Result<Vec<Option<f64>>, AnalysisError> {
    let c = get_column(df, file, name)?
        .strict_cast(&DataType::Float64)
        .map_err(|_| AnalysisError::BadColumn {
            file: file.to_owned(),
            column: name.to_owned(),
            detail: "must be numeric".to_owned(),
        })?;
    Ok(c.f64()?
        .iter()
        .map(|v| v.filter(|x| x.is_finite()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obstacle_by_hand() {
        // w = 0.5, 0.3, 0.2; z = 0.2, 1.0, 0.5 → parts 0.4, 0, 0.1 → 80 %, 0 %, 20 %.
        let o = obstacle_degrees(&[0.2, 1.0, 0.5], &[0.5, 0.3, 0.2]);
        assert!((o[0] - 80.0).abs() < 1e-12 && o[1] == 0.0 && (o[2] - 20.0).abs() < 1e-12);
        assert_eq!(obstacle_degrees(&[1.0, 1.0], &[0.5, 0.5]), vec![0.0, 0.0]);
    }

    #[test]
    fn obstacle_frames_with_per_year_weights_and_missing_z() {
        let z = df!(
            "region" => ["A", "A", "A", "A", "A"],
            "year" => [2020i32, 2020, 2020, 2021, 2021],
            "indicator" => ["x", "y", "q", "x", "y"],
            "z" => [Some(0.0), Some(0.5), Some(0.1), None, Some(0.0)],
        )
        .unwrap();
        let w = df!(
            "indicator" => ["x", "y", "x", "y"],
            "dimension" => ["tools", "objects", "tools", "objects"],
            "weight" => [0.6, 0.4, 0.9, 0.1],
            "year" => [2020i32, 2020, 2021, 2021],
        )
        .unwrap();
        let o = obstacle(&z, &w, Normalise::MinmaxPanel).unwrap();
        // 2020: parts 0.6, 0.2 → 75 %, 25 %; q has no weight; 2021: only y → 100 %.
        let pct: Vec<f64> = o.rows.iter().map(|r| r.obstacle_pct).collect();
        assert_eq!(o.rows.len(), 3);
        assert!((pct[0] - 75.0).abs() < 1e-12 && (pct[1] - 25.0).abs() < 1e-12);
        assert_eq!((o.rows[2].year, pct[2]), (2021, 100.0));
        assert_eq!(o.top[0].1.indicator, "x");
        assert_eq!(o.top[0].0, 1);
        assert_eq!(o.dimensions.len(), 3);
        assert_eq!(o.dimensions[0].dimension, "objects");
    }

    #[test]
    fn diagnosis_outside_the_unit_interval_is_a_typed_skip() {
        let z = df!("region" => ["A"], "year" => [2020i32], "indicator" => ["x"], "z" => [-0.5])
            .unwrap();
        let w = df!("indicator" => ["x"], "dimension" => ["tools"], "weight" => [1.0]).unwrap();
        let err = obstacle(&z, &w, Normalise::Zscore).unwrap_err();
        assert_eq!(err.code(), "analysis.outside_unit_interval");
        let err = obstacle(&z, &w, Normalise::MinmaxPanel).unwrap_err();
        assert!(
            err.to_string().ends_with("found 1 value(s) outside it"),
            "{err}"
        );
        let mut notices = Vec::new();
        assert!(
            obstacle_or_skip(&z, &w, Normalise::Zscore, &mut notices)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            notices,
            [
                "obstacle degree: skipped (obstacle degree needs normalised values in [0, 1]; normalisation 'zscore' gives values outside it)"
            ]
        );
        let s = df!(
            "region" => ["A", "B"],
            "year" => [2020i32, 2020],
            "laborers" => [100.000_000_000_000_01, -3.0],
            "tools" => [50.0, 50.0],
            "objects" => [50.0, 50.0],
        )
        .unwrap();
        let err = coupling(&s, CouplingForm::Standard).unwrap_err();
        assert_eq!(
            err.to_string(),
            "coupling coordination needs normalised values in [0, 1]; B 2020 has 1 dimension score(s) outside 0–100"
        );
        assert!(check_coupling_normalisation(Normalise::Rank).is_ok());
        assert!(check_coupling_normalisation(Normalise::Zscore).is_err());
    }

    #[test]
    fn coupling_standard_by_hand() {
        // Equal levels: C = 1, T = U, D = √U.
        let v = coupling_degree(&[0.64, 0.64, 0.64], CouplingForm::Standard).unwrap();
        assert!((v.c - 1.0).abs() < 1e-15 && (v.t - 0.64).abs() < 1e-15);
        assert!((v.d - 0.8).abs() < 1e-15);
        // U = 0.1, 0.2, 0.4: product 0.008, cube root 0.2, sum 0.7 → C = 3·0.2/0.7 = 6/7.
        let v = coupling_degree(&[0.1, 0.2, 0.4], CouplingForm::Standard).unwrap();
        assert!((v.c - 6.0 / 7.0).abs() < 1e-12);
        assert!((v.d - (6.0 / 7.0 * 0.7 / 3.0f64).sqrt()).abs() < 1e-12);
        let zero = coupling_degree(&[0.0, 0.0, 0.0], CouplingForm::Standard).unwrap();
        assert_eq!((zero.c, zero.t, zero.d), (0.0, 0.0, 0.0));
    }

    #[test]
    fn coupling_wang2021_by_hand() {
        // U = 0.1, 0.2, 0.4: spread = 0.1 + 0.3 + 0.2 = 0.6 over 1 + 2 = 3 → 0.8;
        // balance = (0.008 / 0.064)^(1/2) = √0.125 → C = √(0.8·√0.125).
        let v = coupling_degree(&[0.1, 0.2, 0.4], CouplingForm::Wang2021).unwrap();
        assert!((v.c - (0.8 * 0.125f64.sqrt()).sqrt()).abs() < 1e-12);
        // n = 2 reproduces Wang et al. Table 8 logic: √((1 − |Δ|)·min/max).
        let v = coupling_degree(&[0.25, 0.2], CouplingForm::Wang2021).unwrap();
        assert!((v.c - (0.95f64 * 0.8).sqrt()).abs() < 1e-12);
        let eq = coupling_degree(&[0.5, 0.5, 0.5], CouplingForm::Wang2021).unwrap();
        assert!((eq.c - 1.0).abs() < 1e-15);
    }

    #[test]
    fn classes_include_lower_bounds() {
        let level = |d: f64| CoordinationClass::from_d(d).level();
        assert_eq!(
            [
                level(0.0),
                level(0.0999),
                level(0.1),
                level(0.3),
                level(0.5)
            ],
            [1, 1, 2, 4, 6]
        );
        assert_eq!(
            [level(0.7), level(0.8999), level(0.9), level(1.0)],
            [8, 9, 10, 10]
        );
        let c = CoordinationClass::from_d(0.55);
        assert_eq!(c.label(Lang::Zh), "勉强协调");
        assert_eq!(c.label(Lang::En), "barely coordinated");
        assert_eq!(CoordinationClass::from_d(0.05).label(Lang::Zh), "极度失调");
        assert_eq!(CoordinationClass::from_d(0.95).label(Lang::Zh), "优质协调");
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"level":6,"zh":"勉强协调","en":"barely coordinated"}"#
        );
    }

    #[test]
    fn coupling_from_a_score_frame() {
        let s = df!(
            "region" => ["B", "A", "A"],
            "year" => [2020i64, 2021, 2020],
            "score" => [1.0, 2.0, 3.0],
            "rank" => [1u32, 2, 1],
            "laborers" => [Some(64.0), Some(10.0), None],
            "tools" => [64.0, 20.0, 1.0],
            "objects" => [64.0, 40.0, 1.0],
        )
        .unwrap();
        let rows = coupling(&s, CouplingForm::Standard).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].region.as_str(), rows[0].year), ("A", 2021));
        assert!((rows[1].d - 0.8).abs() < 1e-12);
        assert_eq!(rows[1].class.level(), 9);
    }
}
