//! Method: the pure index math of DESIGN §4 — impute → normalise → weight → aggregate → rank.
//!
//! Owns: [`compute`] (a wide region-year frame + the framework's [`IndicatorSpec`]s + a
//! [`MethodSpec`] → [`IndexResult`]) and its building blocks as small pure functions on tight
//! `f64` columns, usable by tests and the analysis stage: [`normalise`], [`weights`],
//! [`aggregate`], [`rank`], [`impute`]. In every building block **NaN marks a missing cell**.
//! Must not: do I/O, read the environment or configuration, know HTTP, SQL or the framework
//! file format.
//!
//! The formulas and the conventions where reference libraries disagree (constant columns,
//! missing values, direction in CRITIC, tie rules) are documented on each function, with the
//! reference values in `tests/fixtures/reference/` (see `/work/shared/reference/README.md`).
//!
//! ```
//! use nqp::method::{compute, IndicatorSpec, MethodSpec};
//! use nqp::types::{Dimension, Direction, IndicatorId};
//! use polars::prelude::*;
//!
//! let wide = df!(
//!     "region" => ["a", "b", "c"],
//!     "year" => [2024i32, 2024, 2024],
//!     "rd" => [1.0, 2.0, 3.0],
//! ).unwrap();
//! let rd = IndicatorSpec {
//!     id: IndicatorId::new("rd").unwrap(), dimension: Dimension::Tools, subdimension: None,
//!     level: None, direction: Direction::Benefit, manual_weight: None,
//! };
//! let result = compute(&wide, &[rd], &MethodSpec::default()).unwrap();
//! let top = result.scores.column("score").unwrap().f64().unwrap().get(0);
//! assert_eq!(top, Some(100.0));
//! ```

pub mod aggregate;
mod error;
pub mod impute;
pub mod normalise;
mod pipeline;
pub mod rank;
mod spec;
pub mod weights;

pub use error::{MethodError, MethodNotice};
pub use pipeline::{IndexResult, compute};
pub use spec::{
    Aggregate, CombineMean, DEFAULT_COVERAGE_THRESHOLD, DEFAULT_SHIFT, IndicatorSpec, MethodRecord,
    MethodSpec, Normalise, ParseSpecError, WeightScheme,
};
