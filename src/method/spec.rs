//! The method choices (`MethodSpec`) and the framework facts the method needs per indicator
//! (`IndicatorSpec`), with their stable string forms.
//!
//! Owns: parsing/printing of `minmax-panel`, `entropy-panel`, `combined:a+b:mean`, `sum`, … and the
//! `MethodRecord` stored with every result. Must not: compute anything.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::types::{Dimension, Direction, IndicatorId, Level, Subindex};

/// What the method needs to know about one framework indicator.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorSpec {
    pub id: IndicatorId,
    pub dimension: Dimension,
    pub subdimension: Option<String>,
    pub level: Option<Level>,
    pub direction: Direction,
    /// Used only by [`WeightScheme::Manual`]; re-normalised to sum 1 over the scored indicators.
    pub manual_weight: Option<f64>,
    /// Part of the intelligence-and-digital sub-index.
    pub ai_digital: bool,
}

impl IndicatorSpec {
    /// Whether the indicator counts towards `sub`.
    pub fn in_subindex(&self, sub: Subindex) -> bool {
        match sub {
            Subindex::Level(level) => self.level == Some(level),
            Subindex::AiDigital => self.ai_digital,
        }
    }
}

/// The sub-indices that `indicators` define (at least one member each), in column order: the
/// score table has exactly these columns, and the dashboard offers exactly these measures.
pub fn subindices(indicators: &[IndicatorSpec]) -> Vec<Subindex> {
    Subindex::ALL
        .into_iter()
        .filter(|&s| indicators.iter().any(|i| i.in_subindex(s)))
        .collect()
}

/// A string form that did not parse; the message lists the accepted values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseSpecError(pub String);

/// Normalisation of raw values to direction-adjusted scores `z` (bigger = better).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Normalise {
    /// Min-max over all regions and all years of the panel (docs/method.md §4, the default).
    #[default]
    MinmaxPanel,
    /// Min-max within each year.
    MinmaxYear,
    /// `(x − mean)/sd` over the whole panel (sample sd, ddof = 1), sign flipped for cost indicators.
    Zscore,
    /// Percentile rank in [0, 1] over the whole panel (COINr `n_prank`: ties share the lowest rank).
    Rank,
}

impl Normalise {
    pub const ALL: [Normalise; 4] = [
        Normalise::MinmaxPanel,
        Normalise::MinmaxYear,
        Normalise::Zscore,
        Normalise::Rank,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Normalise::MinmaxPanel => "minmax-panel",
            Normalise::MinmaxYear => "minmax-year",
            Normalise::Zscore => "zscore",
            Normalise::Rank => "rank",
        }
    }

    /// Whether the statistic runs within each year (otherwise over all region-years).
    pub fn per_year(self) -> bool {
        matches!(self, Normalise::MinmaxYear)
    }
}

/// How the two weight vectors of [`WeightScheme::Combined`] are averaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CombineMean {
    /// `w ∝ sqrt(w_a · w_b)`, re-normalised to sum 1.
    #[default]
    Geometric,
    /// `w = (w_a + w_b) / 2` (already sums to 1).
    Arithmetic,
}

impl CombineMean {
    pub fn as_str(self) -> &'static str {
        match self {
            CombineMean::Geometric => "geometric",
            CombineMean::Arithmetic => "arithmetic",
        }
    }
}

/// Indicator weights.
///
/// String forms: `entropy-panel`, `entropy-year`, `critic`, `sd`, `equal`, `manual`, and
/// `combined:<a>+<b>[:geometric|:arithmetic]` where `<a>`, `<b>` are two of the basic forms
/// (no nesting; the mean defaults to geometric), e.g. `combined:entropy-panel+critic:geometric`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum WeightScheme {
    #[default]
    EntropyPanel,
    EntropyYear,
    Critic,
    Sd,
    Equal,
    Manual,
    Combined {
        a: Box<WeightScheme>,
        b: Box<WeightScheme>,
        mean: CombineMean,
    },
}

impl WeightScheme {
    /// The basic (non-combined) schemes.
    pub const BASIC: [WeightScheme; 6] = [
        WeightScheme::EntropyPanel,
        WeightScheme::EntropyYear,
        WeightScheme::Critic,
        WeightScheme::Sd,
        WeightScheme::Equal,
        WeightScheme::Manual,
    ];

    /// Whether the weights differ by year (then the weights table has a `year` column).
    pub fn per_year(&self) -> bool {
        match self {
            WeightScheme::EntropyYear => true,
            WeightScheme::Combined { a, b, .. } => a.per_year() || b.per_year(),
            _ => false,
        }
    }

    fn basic_str(&self) -> Option<&'static str> {
        Some(match self {
            WeightScheme::EntropyPanel => "entropy-panel",
            WeightScheme::EntropyYear => "entropy-year",
            WeightScheme::Critic => "critic",
            WeightScheme::Sd => "sd",
            WeightScheme::Equal => "equal",
            WeightScheme::Manual => "manual",
            WeightScheme::Combined { .. } => return None,
        })
    }

    fn parse_basic(s: &str) -> Result<WeightScheme, ParseSpecError> {
        WeightScheme::BASIC
            .into_iter()
            .find(|w| w.basic_str() == Some(s))
            .ok_or_else(|| {
                ParseSpecError(format!(
                    "unknown weights '{s}' (expected entropy-panel, entropy-year, critic, sd, equal, \
                     manual or combined:<a>+<b>[:geometric|:arithmetic])"
                ))
            })
    }
}

impl fmt::Display for WeightScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightScheme::Combined { a, b, mean } => {
                write!(f, "combined:{a}+{b}:{}", mean.as_str())
            }
            basic => f.write_str(basic.basic_str().unwrap_or_default()),
        }
    }
}

impl FromStr for WeightScheme {
    type Err = ParseSpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let Some(rest) = s.strip_prefix("combined:") else {
            return WeightScheme::parse_basic(s);
        };
        let (pair, mean) = match rest.rsplit_once(':') {
            Some((pair, "geometric")) => (pair, CombineMean::Geometric),
            Some((pair, "arithmetic")) => (pair, CombineMean::Arithmetic),
            Some((_, other)) => {
                return Err(ParseSpecError(format!(
                    "unknown mean '{other}' in '{s}' (expected geometric or arithmetic)"
                )));
            }
            None => (rest, CombineMean::Geometric),
        };
        let Some((a, b)) = pair.split_once('+') else {
            return Err(ParseSpecError(format!(
                "'{s}': expected combined:<a>+<b>[:geometric|:arithmetic]"
            )));
        };
        Ok(WeightScheme::Combined {
            a: Box::new(WeightScheme::parse_basic(a.trim())?),
            b: Box::new(WeightScheme::parse_basic(b.trim())?),
            mean,
        })
    }
}

/// Aggregation of weighted indicator scores to an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Aggregate {
    /// `S = 100 · Σ w z` (docs/method.md §6, the default).
    #[default]
    Sum,
    /// `S = Π (1 + 99 z)^w`, on [1, 100].
    Geometric,
    /// `S = 100 · D⁻/(D⁺ + D⁻)` on `v = w z`.
    Topsis,
}

impl Aggregate {
    pub const ALL: [Aggregate; 3] = [Aggregate::Sum, Aggregate::Geometric, Aggregate::Topsis];

    pub fn as_str(self) -> &'static str {
        match self {
            Aggregate::Sum => "sum",
            Aggregate::Geometric => "geometric",
            Aggregate::Topsis => "topsis",
        }
    }
}

/// Outlier treatment of the scored indicators before normalisation (see [`super::treat`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Treat {
    /// The values as derived (the default).
    #[default]
    None,
    /// Winsorise skewed, heavy-tailed indicators; a log transform when that is not enough.
    Winsorise,
}

impl Treat {
    pub const ALL: [Treat; 2] = [Treat::None, Treat::Winsorise];

    pub fn as_str(self) -> &'static str {
        match self {
            Treat::None => "none",
            Treat::Winsorise => "winsorise",
        }
    }
}

macro_rules! string_enum {
    ($ty:ident, $what:literal, $expected:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = ParseSpecError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let s = s.trim();
                $ty::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| {
                        ParseSpecError(format!(
                            concat!("unknown ", $what, " '{}' (expected ", $expected, ")"),
                            s
                        ))
                    })
            }
        }

        impl TryFrom<String> for $ty {
            type Error = ParseSpecError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.as_str().to_owned()
            }
        }
    };
}

string_enum!(
    Normalise,
    "normalisation",
    "minmax-panel, minmax-year, zscore or rank"
);
string_enum!(Aggregate, "aggregation", "sum, geometric or topsis");
string_enum!(Treat, "treatment", "none or winsorise");

impl TryFrom<String> for WeightScheme {
    type Error = ParseSpecError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<WeightScheme> for String {
    fn from(v: WeightScheme) -> String {
        v.to_string()
    }
}

/// Every choice of the method (docs/method.md). `Default` is the documented default method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MethodSpec {
    pub normalise: Normalise,
    pub weights: WeightScheme,
    /// Entropy shift `s` in `z' = z + s` (the "+0.0001" of the Chinese entropy literature).
    pub shift: f64,
    pub aggregate: Aggregate,
    /// Indicators observed in a smaller share of region-years than this are excluded.
    pub coverage_threshold: f64,
    /// Outlier treatment applied to the scored indicators before normalisation.
    pub treat: Treat,
    /// Largest number of observations winsorisation may change per indicator.
    pub treat_max_points: u32,
}

/// Default limit of winsorised observations per indicator (COINr `winmax = 5`).
pub const DEFAULT_TREAT_MAX_POINTS: u32 = 5;

/// Default entropy shift.
pub const DEFAULT_SHIFT: f64 = 0.0001;
/// Default coverage threshold (65 %).
pub const DEFAULT_COVERAGE_THRESHOLD: f64 = 0.65;

impl Default for MethodSpec {
    fn default() -> Self {
        MethodSpec {
            normalise: Normalise::default(),
            weights: WeightScheme::default(),
            shift: DEFAULT_SHIFT,
            aggregate: Aggregate::default(),
            coverage_threshold: DEFAULT_COVERAGE_THRESHOLD,
            treat: Treat::default(),
            treat_max_points: DEFAULT_TREAT_MAX_POINTS,
        }
    }
}

/// The full method as recorded in every result and download: the spec's fields, then the tie
/// tolerance and the version (flattened, so the JSON of `metadata.json` and the API stays flat).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodRecord {
    #[serde(flatten)]
    pub spec: MethodSpec,
    /// Absolute tolerance (score points) under which two scores share a rank.
    pub tie_tolerance: f64,
    /// The nqp version that computed the result.
    pub version: String,
}

impl MethodRecord {
    pub fn new(spec: &MethodSpec, tie_tolerance: f64) -> Self {
        MethodRecord {
            spec: spec.clone(),
            tie_tolerance,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_forms_round_trip() {
        for n in Normalise::ALL {
            assert_eq!(n.as_str().parse::<Normalise>().unwrap(), n);
        }
        for a in Aggregate::ALL {
            assert_eq!(a.to_string().parse::<Aggregate>().unwrap(), a);
        }
        for w in WeightScheme::BASIC {
            assert_eq!(w.to_string().parse::<WeightScheme>().unwrap(), w);
        }
        let c: WeightScheme = "combined:entropy-panel+critic:arithmetic".parse().unwrap();
        assert_eq!(
            c,
            WeightScheme::Combined {
                a: Box::new(WeightScheme::EntropyPanel),
                b: Box::new(WeightScheme::Critic),
                mean: CombineMean::Arithmetic
            }
        );
        assert_eq!(c.to_string(), "combined:entropy-panel+critic:arithmetic");
        let g: WeightScheme = "combined:sd+entropy-year".parse().unwrap();
        assert_eq!(g.to_string(), "combined:sd+entropy-year:geometric");
        assert!(g.per_year());
    }

    #[test]
    fn bad_string_forms_are_rejected() {
        assert!("minmax".parse::<Normalise>().is_err());
        assert!("mean".parse::<Aggregate>().is_err());
        assert!("combined:critic".parse::<WeightScheme>().is_err());
        assert!(
            "combined:critic+sd:harmonic"
                .parse::<WeightScheme>()
                .is_err()
        );
        assert!(
            "combined:combined:sd+critic+equal"
                .parse::<WeightScheme>()
                .is_err()
        );
    }

    #[test]
    fn record_is_the_spec_then_tolerance_and_version() {
        let spec = MethodSpec {
            treat: Treat::Winsorise,
            ..MethodSpec::default()
        };
        let record = MethodRecord::new(&spec, 0.5);
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(
            json,
            format!(
                "{{\"normalise\":\"minmax-panel\",\"weights\":\"entropy-panel\",\"shift\":0.0001,\
                 \"aggregate\":\"sum\",\"coverage_threshold\":0.65,\"treat\":\"winsorise\",\
                 \"treat_max_points\":5,\"tie_tolerance\":0.5,\"version\":\"{}\"}}",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert_eq!(serde_json::from_str::<MethodRecord>(&json).unwrap(), record);
    }

    #[test]
    fn spec_serialises_as_strings_with_defaults() {
        let json = serde_json::to_value(MethodSpec::default()).unwrap();
        assert_eq!(json["normalise"], "minmax-panel");
        assert_eq!(json["weights"], "entropy-panel");
        assert_eq!(json["aggregate"], "sum");
        assert_eq!(json["shift"], 0.0001);
        let back: MethodSpec =
            serde_json::from_str(r#"{"weights":"combined:critic+sd:arithmetic"}"#).unwrap();
        assert_eq!(back.normalise, Normalise::MinmaxPanel);
        assert!(matches!(back.weights, WeightScheme::Combined { .. }));
        assert!(serde_json::from_str::<MethodSpec>(r#"{"aggregate":"median"}"#).is_err());
    }
}
