//! nqp — a new-quality-productivity (新质生产力) index for regions.
//!
//! The pipeline, one module per stage (the dependency arrow points one way, top to bottom):
//!
//! 1. [`ingest`] — bytes of a statistics file (NBS export, long or wide CSV; UTF-8 or GBK) →
//!    the canonical long [`types::Panel`] with region names matched to codes.
//! 2. [`framework`] — the declared indicator system (TOML) → typed framework; derived ratios.
//! 3. [`method`] — pure index math: impute → normalise → weight → aggregate → rank.
//! 4. [`analysis`] — pure follow-up analyses on a score table (disparities, dynamics, …).
//! 5. [`service`] — the one API that the CLI, the HTML pages and the JSON API call.
//! 6. [`web`] — axum router, thin handlers, server-rendered pages.
//!
//! [`chart`] holds the pure data → SVG renderers (charts and the choropleth map) that the
//! pages, `service::figure` and the CLI's figure export draw with; it knows no service, HTTP
//! or template.
//!
//! [`importer`] builds the bundled default dataset from the raw public files; [`cli`] is the
//! command line.
//!
//! [`types`] holds the value types every stage shares; [`error`] the umbrella error.

pub mod analysis;
pub mod chart;
pub mod cli;
pub mod error;
pub mod framework;
pub mod importer;
pub mod ingest;
pub mod method;
pub mod service;
pub mod store;
pub mod types;
pub mod web;

pub use error::{Error, Result};
